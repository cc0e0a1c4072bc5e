// SPDX-License-Identifier: GPL-2.0
/* The memory floor of `make bench` (issue 11): what one table read per
 * direction costs on this machine, for a table of a given size. It parses
 * the frame (bench_parse.bpf.h), hashes the source and the destination
 * address, and reads one entry of a flat array at each hash. The two reads
 * do not depend on each other, so the CPU overlaps their cache misses: the
 * best any address table of that size can do with one read per direction.
 * The bench loads one instance per size (the array's max_entries and
 * floor_entries set before load); a bench-only object, not part of tapis. */
#include "bench_parse.bpf.h"
#include "bench_floor.h"

char LICENSE[] SEC("license") = "GPL";

/* Entries of floor_tbl, set by the bench before load (it sizes the map to
 * the same count): the hash is scaled into [0, floor_entries). */
const volatile __u32 floor_entries = 1;
/* What every frame gets: XDP_PASS beside tapis in test runs (as XDP_PASS,
 * the baseline), XDP_DROP on the live path (as the other far ends). */
const volatile __u32 floor_verdict = XDP_PASS;
/* Set: the verdict is read from the table instead, XDP_DROP where the
 * destination's entry is 1 (the live bench marks the destinations inside
 * the policy), else XDP_PASS: a filter at the floor whose verdict, like
 * any real filter's, waits for its read (the CPU cannot run ahead on a
 * guessed constant verdict, as it does for floor_verdict). */
const volatile __u32 floor_by_entry;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set before load */
	__type(key, __u32);
	__type(value, __u64);
} floor_tbl SEC(".maps");

SEC("xdp")
int bench_floor(struct xdp_md *ctx)
{
	struct bench_addrs a;
	__u32 ks, kd;
	__u64 *vs, *vd;

	if (!bench_parse(ctx, &a))
		return XDP_PASS;
	ks = bench_floor_index(a.src, a.family, floor_entries);
	kd = bench_floor_index(a.dst, a.family, floor_entries);
	vs = bpf_map_lookup_elem(&floor_tbl, &ks);
	vd = bpf_map_lookup_elem(&floor_tbl, &kd);
	/* A source entry is never above 1: the test keeps its read. */
	if (floor_by_entry && vs && vd)
		return *vs >> 1 ? XDP_ABORTED : *vd ? XDP_DROP : XDP_PASS;
	/* The entries are zero: the verdict depends on both reads, so neither
	 * can be left out, and every frame gets floor_verdict. */
	if (vs && vd && (*vs | *vd))
		return XDP_ABORTED;
	return floor_verdict;
}
