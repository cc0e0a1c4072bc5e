/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the pieces of build/tapis-bench: the packet-rate harness
 * (bench.c) and the live-path helpers (livegen.c) that tests/bench/live.sh
 * drives as subcommands. */
#ifndef TAPIS_BENCH_H
#define TAPIS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct json_object;

/* `tapis-bench live-* ...`: returns the process exit code. */
int live_main(int argc, char **argv);

/* Sum of the ethtool statistics of ifname whose name matches the
 * fnmatch(3) pattern (e.g. "rx_queue_*_xdp_packets"); -1 on error. With
 * list set, every counter is printed to stderr. */
int64_t ethtool_stat_sum(const char *ifname, const char *pattern, int list);

/* Monotonic wall clock in nanoseconds. */
uint64_t now_ns(void);

/* xorshift64*: reproducible draws, seeded per scenario. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Sorted, merged [lo, hi] intervals of 32-bit values: "is this IPv4
 * address (or the top 32 bits of this IPv6 address) inside any prefix". */
struct ivals {
	uint32_t *lo, *hi;
	size_t n, cap;
};
int ivals_add(struct ivals *v, uint32_t lo, uint32_t hi);
void ivals_finish(struct ivals *v); /* sort and merge */
int ivals_has(const struct ivals *v, uint32_t x);
void ivals_free(struct ivals *v);

/* The policy's address space: its prefixes by kind, and interval sets to
 * draw addresses inside or outside it (bench.c). */
struct space {
	const struct net_entry **v4_all, **v4_drop, **v6_all, **v6_drop;
	size_t n_v4_all, n_v4_drop, n_v6_all, n_v6_drop;
	struct ivals v4;       /* every IPv4 prefix */
	struct ivals v6top;    /* top 32 bits covered by an IPv6 prefix */
	const char *drop_rule; /* first drop rule matching destinations */
};
int space_build(struct space *s, const struct policy *p);
void space_free(struct space *s);
/* A random address inside prefix e, network order. */
void addr_in(const struct net_entry *e, uint64_t *rng, uint8_t *out);
/* A random address outside every prefix (IPv6: in 2000::/3). */
void v4_outside(const struct space *s, uint64_t *rng, uint8_t *out);
void v6_outside(const struct space *s, uint64_t *rng, uint8_t *out);
uint32_t be32_of(const uint8_t *a);

/* A program returning action (XDP_DROP, XDP_PASS), loaded from two
 * instructions (livegen.c); its fd, or -errno. */
int bench_const_prog(int action);

/* ---- kernel memory of tapis's maps (maps_mem.c) ---- */
enum map_group { MG_V4, MG_V6, MG_HOSTS, MG_OTHER, MG__COUNT };
struct map_mem {
	long long all[MG__COUNT];      /* every map, both generations */
	long long loaded[MG__COUNT];   /* but the standby generation */
	long long datapath[MG__COUNT]; /* loaded, and read by the program */
	long long total;
	unsigned n;
	struct json_object *list; /* one object a map */
};
/* Walk every map of the program prog_fd, their inner maps, and the maps
 * this process holds; gen is the active generation (tapis_ctl.gen). */
int map_mem_walk(int prog_fd, uint32_t gen, struct map_mem *m);
/* A map's memlock as its fdinfo gives it, in bytes; -1 when unknown. */
long long fd_memlock(int fd);
const char *map_group_name(enum map_group g);

/* ---- reference programs (refs.c) ---- */
enum ref_id {
	REF_DROP,
	REF_FLOOR_OWN,	 /* array of tapis's address tables' size */
	REF_FLOOR_NAMES, /* array of tapis's name tables' size */
	REF_FLOOR_64M,
	REF_FLOOR_1M,
	REF_FLOOR_256K,
	REF_LPM, /* kernel LPM tries of the policy's prefixes */
	REF__COUNT,
};
#define REF_BIT(r) (1u << (r))
struct bench_floor_bpf;
struct bench_lpm_bpf;
struct refs {
	int fd[REF__COUNT]; /* program fds */
	uint64_t bytes[REF__COUNT];
	char label[REF__COUNT][32];
	char what[REF__COUNT][96];
	struct bench_floor_bpf *floor[REF__COUNT];
	struct bench_lpm_bpf *lpm;
};
int refs_load(struct refs *r, uint64_t own_bytes, uint64_t names_bytes, const struct space *sp);
void refs_close(struct refs *r);
/* One floor program over an array of bytes (rounded down to 8-byte
 * entries) returning verdict for every frame, or with by_entry XDP_DROP
 * where the destination's entry is 1 and XDP_PASS elsewhere; live.sh
 * attaches one of each through `tapis-bench live-attach --prog floor` and
 * `--prog floor-verdict` (XDP_DROP). */
int floor_load(uint64_t bytes, uint32_t verdict, bool by_entry, struct bench_floor_bpf **out);
int floor_fd(struct bench_floor_bpf *s);
void floor_close(struct bench_floor_bpf *s);

#endif
