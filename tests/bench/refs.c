// SPDX-License-Identifier: GPL-2.0
/*
 * refs.c - the reference programs `make bench` runs beside tapis in every
 * round (issue 11), so that tapis's figures are read against what this
 * machine can do at best, measured in the same run:
 *
 *   xdp-drop        returns XDP_DROP and nothing else (a floor per call)
 *   floor-own       bpf/bench_floor.bpf.c with an array of the size of
 *                   tapis's own address tables as loaded (the maps its
 *                   program reads, measured after the load: maps_mem.c)
 *   floor-names     the same with the size of the name tables
 *   floor-64MiB, floor-1MiB, floor-256KiB   fixed sizes
 *   lpm             bpf/bench_lpm.bpf.c: two kernel LPM tries holding the
 *                   policy's prefixes, looked up by source and destination
 *
 * A floor parses the frame and reads one 8-byte entry per direction at a
 * hash of the address; the two reads are independent, so their misses
 * overlap. Each floor instance is its own load of the one object, sized
 * through its map's max_entries and the floor_entries knob.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "bench_floor.skel.h"
#include "bench_lpm.skel.h"

/* one 8-byte entry per slot (bench_floor.bpf.c) */
#define FLOOR_VALUE 8

int floor_load(uint64_t bytes, uint32_t verdict, bool by_entry, struct bench_floor_bpf **out)
{
	uint64_t n = bytes / FLOOR_VALUE;
	struct bench_floor_bpf *s;
	int err;

	if (n < 1 || n > UINT32_MAX)
		return -ERANGE;
	s = bench_floor_bpf__open();
	if (!s)
		return -errno;
	s->rodata->floor_entries = (uint32_t)n;
	s->rodata->floor_verdict = verdict;
	s->rodata->floor_by_entry = by_entry;
	err = bpf_map__set_max_entries(s->maps.floor_tbl, (uint32_t)n);
	err = err ?: bench_floor_bpf__load(s);
	if (err) {
		bench_floor_bpf__destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

int floor_fd(struct bench_floor_bpf *s)
{
	return bpf_program__fd(s->progs.bench_floor);
}

void floor_close(struct bench_floor_bpf *s)
{
	bench_floor_bpf__destroy(s);
}

static int lpm_fill(struct bench_lpm_bpf *s, const struct net_entry *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct net_entry *e = v[i];
		struct {
			uint32_t plen;
			uint8_t addr[16];
		} key = {.plen = e->plen};
		uint32_t val = (uint32_t)i;
		int fd = bpf_map__fd(e->family == 4 ? s->maps.lpm_v4 : s->maps.lpm_v6);

		memcpy(key.addr, e->addr, e->family == 4 ? 4 : 16);
		if (bpf_map_update_elem(fd, &key, &val, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int lpm_load(const struct space *sp, struct bench_lpm_bpf **out)
{
	struct bench_lpm_bpf *s = bench_lpm_bpf__open();
	int err;

	if (!s)
		return -errno;
	/* an empty trie still needs one slot */
	err = bpf_map__set_max_entries(s->maps.lpm_v4, sp->n_v4_all ? (uint32_t)sp->n_v4_all : 1);
	err = err
		      ?: bpf_map__set_max_entries(s->maps.lpm_v6,
						  sp->n_v6_all ? (uint32_t)sp->n_v6_all : 1);
	err = err ?: bench_lpm_bpf__load(s);
	err = err ?: lpm_fill(s, sp->v4_all, sp->n_v4_all);
	err = err ?: lpm_fill(s, sp->v6_all, sp->n_v6_all);
	if (err) {
		bench_lpm_bpf__destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

static void mib_label(char *buf, size_t sz, const char *stem, uint64_t bytes)
{
	if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
		snprintf(buf, sz, "%s-%lluMiB", stem, (unsigned long long)(bytes >> 20));
	else if (bytes < (1u << 20) && bytes % 1024 == 0)
		snprintf(buf, sz, "%s-%lluKiB", stem, (unsigned long long)(bytes >> 10));
	else
		snprintf(buf, sz, "%s", stem);
}

int refs_load(struct refs *r, uint64_t own_bytes, uint64_t names_bytes, const struct space *sp)
{
	static const uint64_t fixed[] = {[REF_FLOOR_64M] = 64ull << 20,
					 [REF_FLOOR_1M] = 1ull << 20,
					 [REF_FLOOR_256K] = 256ull << 10};
	int err = 0;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < REF__COUNT; i++)
		r->fd[i] = -1;
	r->fd[REF_DROP] = bench_const_prog(XDP_DROP);
	if (r->fd[REF_DROP] < 0)
		return r->fd[REF_DROP];
	snprintf(r->label[REF_DROP], sizeof(r->label[0]), "xdp-drop");
	snprintf(r->what[REF_DROP], sizeof(r->what[0]), "returns XDP_DROP");
	for (int i = REF_FLOOR_OWN; i <= REF_FLOOR_256K && !err; i++) {
		uint64_t b = i == REF_FLOOR_OWN	    ? own_bytes
			     : i == REF_FLOOR_NAMES ? names_bytes
						    : fixed[i];

		/* round to whole entries; a policy without names still gets
		 * a (tiny) floor so that every row has its reference */
		b = b < FLOOR_VALUE ? FLOOR_VALUE : b / FLOOR_VALUE * FLOOR_VALUE;
		err = floor_load(b, XDP_PASS, false, &r->floor[i]);
		if (err)
			break;
		r->fd[i] = floor_fd(r->floor[i]);
		r->bytes[i] = b;
		if (i == REF_FLOOR_OWN || i == REF_FLOOR_NAMES)
			snprintf(r->label[i], sizeof(r->label[0]), "%s",
				 i == REF_FLOOR_OWN ? "floor-own" : "floor-names");
		else
			mib_label(r->label[i], sizeof(r->label[0]), "floor", b);
		snprintf(r->what[i], sizeof(r->what[0]),
			 "1 read per direction, array of %.2f MiB%s", b / 1048576.0,
			 i == REF_FLOOR_OWN	? " (tapis's address tables as loaded)"
			 : i == REF_FLOOR_NAMES ? " (tapis's name tables as loaded)"
						: "");
	}
	if (err)
		return err;
	err = lpm_load(sp, &r->lpm);
	if (err)
		return err;
	r->fd[REF_LPM] = bpf_program__fd(r->lpm->progs.bench_lpm);
	r->bytes[REF_LPM] = (uint64_t)(fd_memlock(bpf_map__fd(r->lpm->maps.lpm_v4)) +
				       fd_memlock(bpf_map__fd(r->lpm->maps.lpm_v6)));
	snprintf(r->label[REF_LPM], sizeof(r->label[0]), "lpm");
	snprintf(r->what[REF_LPM], sizeof(r->what[0]),
		 "kernel LPM tries of the %zu + %zu prefixes, by source and destination",
		 sp->n_v4_all, sp->n_v6_all);
	return 0;
}

void refs_close(struct refs *r)
{
	if (r->fd[REF_DROP] >= 0)
		close(r->fd[REF_DROP]);
	for (int i = 0; i < REF__COUNT; i++)
		if (r->floor[i])
			floor_close(r->floor[i]);
	if (r->lpm)
		bench_lpm_bpf__destroy(r->lpm);
	memset(r, 0, sizeof(*r));
}
