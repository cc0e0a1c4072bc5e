/* SPDX-License-Identifier: GPL-2.0 */
/* Internal to the library: generations, inner maps and the address tables. */
#ifndef TAPIS_GEN_H
#define TAPIS_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tapis.h"

/* The IPv4 prefixes as written, the user-space-only source of truth from
 * which live deletes find the covering prefixes and `explain` names
 * prefixes: a sorted array (nets.c), named, and pinned per generation as,
 * V4_EXACT_MAP "_g<gen>": it is no map of the BPF object, so not in
 * TAPIS_MAPS. */
#define V4_EXACT_MAP "tapis_v4_exact"

/* An address table of one generation, opened for editing. */
struct net_tables {
	struct tapis *t;
	uint32_t gen;
	/* IPv4 trie (tapis_abi.h): mmapped maps of a running generation, or
	 * for a bulk build buffers copied into maps sized to the result. */
	int fd_dir, fd_chunk, fd_leaf, exact_fd;
	uint16_t *dir, *chunk;			   /* slots */
	struct tapis_v4_leaf *leaf;		   /* leaves, [0] empty */
	size_t dir_bytes, chunk_bytes, leaf_bytes; /* sizes of the maps */
	bool windowed; /* running generation: slots mapped a few pages at a time */
	struct nt_win {
		bool chunk;
		size_t p0, p1; /* pages [p0, p1) of the map */
		void *m;
	} * win;
	size_t n_win, cap_win;
	uint32_t v4_bits, n_chunks, chunks_used, n_leaves, leaves_used;
	uint32_t leaf_limit;   /* slot values: leaf ids below, chunk ids from */
	uint16_t *lhash;       /* leaf content -> id, open addressing, LHASH_SLOTS */
	uint16_t *free_leaves; /* ids no slot names (v4_gc), taken first */
	uint32_t n_free;
	/* Per rule id: 0 not known yet, 1 never expires, 2 may expire (the
	 * leaf lists end at the first entry whose rule never expires). */
	uint8_t rule_exp[TAPIS_MAX_RULES];
	/* IPv6 (tapis_abi.h): buckets and blocks, mmapped (NULL for a
	 * reader, which looks up), the hash of hashed groups' and short
	 * prefixes, the short-prefix trie. */
	int fd_v6dir, fd_v6blk, fd_pfx, fd_short;
	struct tapis_v6_bucket *v6dir;
	struct tapis_v6_blk *v6blk;
	uint32_t v6_dir_class, v6_blk_class; /* size classes (tapis_abi.h) */
	uint32_t v6_bits, n_v6blk;	     /* 2^v6_bits buckets, n_v6blk blocks */
	uint32_t *v6_free;		     /* blocks no slot named at open, taken from the end */
	uint32_t n_v6free;
	uint8_t *v6_isfree; /* per block: 1 while in v6_free and not taken (homes) */
	struct v6_item *b6; /* a bulk build's IPv6 prefixes, laid out at flush */
	size_t b6_n, b6_cap;
	uint32_t flags; /* settings flags this table set or needs */
	/* Bulk build (a whole generation from a compiled policy, which has
	 * no duplicates or conflicts left): no owner check per prefix, and
	 * the hash-map writes gathered for net_tables_flush's batches. */
	bool bulk;
	uint64_t *ex;	   /* mmap of the prefixes as written: [0] count */
	size_t ex_cap;	   /* entries it has room for */
	uint64_t *ex_bulk; /* a bulk build's, sorted at flush */
	size_t ex_n, ex_bcap;
	void *bk6;     /* struct tapis_v6_key[]: hash writes of a bulk build */
	uint32_t *bv6; /* their values */
	size_t bn6, bcap6;
};

/* The IPv4 first-level stride and chunk count a set of prefixes needs. */
struct v4_plan {
	uint32_t bits;
	uint32_t chunks;
};
struct compiled;
/* The plan for a compiled policy's IPv4 prefixes. 0 or -errno. */
int net_v4_plan(const struct compiled *c, struct v4_plan *plan);

void gen_userspace_pin_path(const struct tapis *t, int gen, char *buf, size_t sz);
int gen_active(struct tapis *t, uint32_t *gen);
/* fd of the inner map in slot gen of an outer map, or -ENOENT. */
int gen_inner_fd(struct tapis *t, int map_id, uint32_t gen);
/* Put an inner map in its outer map for gen, and pin it (pinned handles)
 * so that readers without root can open it. 0 or -errno. */
int gen_publish_inner(struct tapis *t, int map_id, uint32_t gen, int fd);
/* CLOCK_TAI - CLOCK_REALTIME in ns: rule expiry is compared in TAI. */
int64_t tai_offset_ns(void);
/* A rule id's per-CPU counters set to zero. 0 or -errno. */
int zero_counters(struct tapis *t, uint32_t id);
/* Remove the inner maps' pins of gen (tapis_unpin). */
void gen_unpin_inner(struct tapis *t, uint32_t gen);

/* Create empty tables for generation gen sized for the given counts; they
 * are not visible to packets until net_tables_publish. */
int net_tables_create(struct net_tables *nt, struct tapis *t, uint32_t gen, size_t n_v4,
		      const struct v4_plan *plan, size_t n_v6);
/* Write what a bulk build gathered (nt->bulk), the IPv4 trie into maps
 * sized to it. 0 or -errno. */
int net_tables_flush(struct net_tables *nt);
/* Open the tables of a live generation for editing (creates missing ones). */
int net_tables_open(struct net_tables *nt, struct tapis *t, uint32_t gen);
int net_tables_publish(struct net_tables *nt);
void net_tables_close(struct net_tables *nt);

/* Insert or delete one prefix of one direction. Insert refuses a prefix that
 * another rule holds (-EEXIST, *owner set). */
int net_insert(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t rule,
	       uint32_t *owner);
int net_delete(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t rule);
/* The entry that matches addr (most specific), 0 if none. */
uint32_t net_lookup(struct net_tables *nt, int dir, const struct net_entry *addr);
/* The list the data path walks for addr (TAPIS_NET_CHAIN entries, most
 * specific first, 0-terminated; the first whose rule acts matches), read
 * from the maps. */
void net_lookup_list(struct net_tables *nt, int dir, const struct net_entry *addr, uint32_t *ents);

/* Drop the inner maps of a generation from every outer map (waits for an
 * RCU grace period in the kernel, so no packet still reads them). */
int gen_clear(struct tapis *t, uint32_t gen);
/* Does anything of generation gen exist: a table in an outer map, a pin? */
bool gen_in_use(struct tapis *t, uint32_t gen);

/* Entries first .. first + count - 1 of an array map into vals, in as
 * few system calls as the kernel allows (a lookup each costs about 2 us:
 * 8,000 of them for a scan of the rule slots). Not for per-CPU maps. */
int tapis_array_read(int fd, uint32_t first, uint32_t count, void *vals, size_t value_size);

/* ---- host tables of another size: a program swap (swap.c) ---- */
#define TAPIS_PROG_PIN "tapis_xdp"
/* The maps a program with other host tables has of its own; it shares
 * every other map with the running one. */
#define SWAP_N 3
extern const int swap_maps[SWAP_N]; /* M_CTL, M_HOST_FILTER, M_HOST_INDEX */
/* Load the program again with host index tables of 2^log2 slots, every map
 * but swap_maps shared with t's (bpf_map__reuse_fd), t's load-time
 * constants copied; nothing pinned. The program and its own maps, in
 * swap_maps' order. 0 or -errno (reported). */
int tapis_load_sibling(struct tapis *t, uint32_t log2, int *prog_fd, int fds[SWAP_N]);

struct swap {
	bool active;		 /* the handle holds the new maps */
	int prog_fd, fd[SWAP_N]; /* the new program and its maps */
	int old_prog_fd, old_fd[SWAP_N];
	uint32_t log2, old_log2;
};
/* Load the new program, its tapis_ctl naming gen, and point t's maps of
 * swap_maps at its maps, so that gen's host tables are made for it. */
int swap_prepare(struct tapis *t, uint32_t log2, uint32_t gen, struct swap *s);
/* Pin the new maps, then the program: from then on the swap is decided
 * and a killed process's successor completes it. */
int swap_commit(struct tapis *t, struct swap *s);
/* Replace the program on every interface, then rename the pins. On a
 * failure the interfaces are put back and the swap undone (swap_abort). */
int swap_finish(struct tapis *t, struct swap *s);
/* Before the commit: t as it was, the new program and pins gone. */
void swap_abort(struct tapis *t, struct swap *s);
/* Does the pin path hold a decided swap (the new program's pin)? */
bool swap_pending(const struct tapis *t);
/* Under the writers' lock, before the pins are opened: complete a decided
 * swap a killed process left, or remove the pins of one never decided. */
int swap_recover(struct tapis *t);
/* Remove every "_next" pin (unload). */
void swap_unpin(const struct tapis *t);

#endif
