/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the pieces of build/tapis-bench: the packet-rate harness
 * (bench.c) and the live-path helpers (livegen.c) that tests/bench/live.sh
 * drives as subcommands. */
#ifndef TAPIS_BENCH_H
#define TAPIS_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

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
	const struct net_entry **v4_all, **v4_drop, **v6_all;
	size_t n_v4_all, n_v4_drop, n_v6_all;
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

#endif
