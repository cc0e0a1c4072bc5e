/* SPDX-License-Identifier: GPL-2.0 */
/*
 * host_filter.h - what sits in front of the host table for the XDP program:
 * the filter bitmap (tapis_host_filter) and the open-addressed host index
 * (tapis_host_index), both per generation; see tapis_abi.h. Internal to the
 * library: apply.c builds them with every host table, edit.c keeps them
 * in step with live `host add` / `host del`.
 */
#ifndef TAPIS_HOST_FILTER_H
#define TAPIS_HOST_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "tapis.h"

/* Build generation gen's filter and index from the host table's content,
 * keys[i] -> vals[i], and publish them. The XDP side matches no hostname in
 * a generation without them, so call this before the generation's settings
 * announce hosts. 0 or -errno. */
int host_filter_build(struct tapis *t, uint32_t gen, const uint64_t *keys,
		      const struct tapis_host_val *vals, size_t n, size_t *over, size_t *n_over);
/* (over[0..*n_over): the indexes into keys of those that found no index
 * slot and go into the hash map; over has room for n.) */

/* A key's rules in generation gen: from the index, else from the hash map
 * (hosts_fd). 0, or -ENOENT (*v zeroed). */
int host_table_lookup(struct tapis *t, uint32_t gen, int hosts_fd, uint64_t key,
		      struct tapis_host_val *v);

/* Store a key's rules (both zero: delete it) where the data path looks:
 * its index slot, or the hash map when the index has no room for it; then
 * its filter bit. Makes the generation's filter and index if it has none.
 * 0, -ENOSPC (hash map full), -errno. */
int host_table_store(struct tapis *t, uint32_t gen, int hosts_fd, uint64_t key,
		     const struct tapis_host_val *v);

/* Every key of generation gen with rules, and its rules: from its index
 * (as sized now, tapis_host_log2) and its hash map. Arrays for the
 * caller to free. 0 or -errno. */
int host_table_read(struct tapis *t, uint32_t gen, uint64_t **keys, struct tapis_host_val **vals,
		    size_t *n);

/* Entries of a generation's hash map (tapis_hosts): the keys that find no
 * index slot, a few percent below the index's capacity, and live edits
 * that find none; a quarter of the index's slots, at least 1024. */
static inline uint32_t host_hash_entries(struct tapis *t)
{
	uint32_t n = (1u << tapis_host_log2(t)) / 4;

	return n < 1024 ? 1024 : n;
}

#endif /* TAPIS_HOST_FILTER_H */
