// SPDX-License-Identifier: GPL-2.0
/* Prototype of a compressed IPv4 table's cold cost (issue 11), not part of
 * tapis: a /16 first level (65,536 u32, 256 KiB) whose entry names a
 * 64-byte record in a pool, read as a Poptrie-style node would be: the
 * bitmap word of the address's next 8 bits, its rank counted with shifts
 * and masks (BPF has no popcount), then the value at that rank in the
 * same record. Two dependent reads per direction, as any compressed
 * structure of a few MiB needs for a /24. drive.c runs it beside XDP_PASS
 * and flat one-read floors (bpf/bench_floor.bpf.c). */
#include "bench_parse.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 n_rec = 1; /* records in the pool (64 B each) */
const volatile __u32 depth = 2; /* 1: the first level only; 2: and the record */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} l1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set before load: 8 words a record */
	__type(key, __u32);
	__type(value, __u64);
} pool SEC(".maps");

static __always_inline __u64 pop64(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

/* Words 0-3 of a record: the bitmap of the 256 next-8-bit values (a set
 * bit starts a run); words 4-7: up to 16 u16 values, one per run. */
static __always_inline __u64 look(__u32 a)
{
	__u32 k = a >> 16, w, b, vi;
	__u32 *e = bpf_map_lookup_elem(&l1, &k);
	__u64 *bm, *val, rank;

	if (!e)
		return 1;
	if (depth < 2)
		return *e & 0x80000000u;
	b = (a >> 8) & 0xff;
	w = (*e % n_rec) * 8 + (b >> 6);
	bm = bpf_map_lookup_elem(&pool, &w);
	if (!bm)
		return 1;
	rank = pop64(*bm & ((2ULL << (b & 63)) - 1));
	vi = (*e % n_rec) * 8 + 4 + ((rank >> 2) & 3);
	val = bpf_map_lookup_elem(&pool, &vi);
	if (!val)
		return 1;
	return (*val >> ((rank & 3) * 16)) & 0x8000;
}

SEC("xdp")
int proto(struct xdp_md *ctx)
{
	struct bench_addrs a;
	__u32 s, d;

	if (bench_parse(ctx, &a) != 4)
		return XDP_PASS;
	__builtin_memcpy(&s, a.src, 4);
	__builtin_memcpy(&d, a.dst, 4);
	/* Both lookups are issued before either result is used, so the two
	 * directions' misses overlap, as in tapis and the floors. */
	if (look(bpf_ntohl(d)) | look(bpf_ntohl(s)))
		return XDP_ABORTED;
	return XDP_PASS;
}
