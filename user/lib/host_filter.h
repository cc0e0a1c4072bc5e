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
		      const struct tapis_host_val *vals, size_t n);

/* Key `key` of generation gen now holds *v in the host table (hosts_fd):
 * after a live add or delete, bring filter and index in step. Builds both
 * from the host table when the generation has none yet. 0 or -errno. */
int host_filter_set(struct tapis *t, uint32_t gen, int hosts_fd, uint64_t key,
		    const struct tapis_host_val *v);

#endif /* TAPIS_HOST_FILTER_H */
