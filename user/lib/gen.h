/* SPDX-License-Identifier: GPL-2.0 */
/* Internal to the library: generations, inner maps and the address tables. */
#ifndef TAPIS_GEN_H
#define TAPIS_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tapis.h"

/* v4 exact-prefix key of the user-space-only source of truth, from which
 * live deletes find the covering prefix and `explain` names prefixes. The
 * map is named, and pinned per generation as, V4_EXACT_MAP "_g<gen>": it
 * is no map of the BPF object, so not in TAPIS_MAPS. */
#define V4_EXACT_MAP "tapis_v4_exact"
struct v4_exact_key {
	uint8_t dir;
	uint8_t plen;
	uint16_t pad;
	uint32_t addr_h; /* host order, masked */
};

/* An address table of one generation, opened for editing. */
struct net_tables {
	struct tapis *t;
	uint32_t gen;
	int fd24, fd8, exact_fd;
	struct tapis_v4_ent *tbl24; /* mmap */
	struct tapis_v4_ent *tbl8;  /* mmap */
	uint32_t tbl8_groups, tbl8_used;
	int fd_filter, fd_l32, fd_pfx, fd_short;
	uint64_t *filter; /* mmap */
	uint32_t flags;	  /* settings flags this table set or needs */
	/* Bulk build (a whole generation from a compiled policy, which has
	 * no duplicates or conflicts left): no owner check per prefix, and
	 * the hash-map writes gathered for net_tables_flush's batches. */
	bool bulk;
	void *bk4, *bk6;     /* struct v4_exact_key[], struct tapis_v6_key[] */
	uint32_t *bv4, *bv6; /* their values */
	size_t bn4, bn6, bcap4, bcap6;
};

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
		      size_t n_v4_groups, size_t n_v6);
/* Write what a bulk build gathered (nt->bulk). 0 or -errno. */
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

/* Drop the inner maps of a generation from every outer map (waits for an
 * RCU grace period in the kernel, so no packet still reads them). */
int gen_clear(struct tapis *t, uint32_t gen);
/* Does anything of generation gen exist: a table in an outer map, a pin? */
bool gen_in_use(struct tapis *t, uint32_t gen);

/* Entries first .. first + count - 1 of an array map into vals, in as
 * few system calls as the kernel allows (a lookup each costs about 2 us:
 * 8,000 of them for a scan of the rule slots). Not for per-CPU maps. */
int tapis_array_read(int fd, uint32_t first, uint32_t count, void *vals, size_t value_size);

#endif
