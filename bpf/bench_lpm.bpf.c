// SPDX-License-Identifier: GPL-2.0
/* The kernel-LPM-trie reference of `make bench` (issue 11): what most XDP
 * filters do, a BPF_MAP_TYPE_LPM_TRIE per family holding the policy's
 * prefixes, looked up by source and by destination. The bench sizes the
 * tries before load and fills them with the same prefixes tapis holds. A
 * match drops, as a filter would; the value (a rule index) is not read. A
 * bench-only object, not part of tapis. */
#include "bench_parse.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1); /* set before load: the policy's IPv4 prefixes */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
} lpm_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1); /* set before load: the policy's IPv6 prefixes */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v6_key);
	__type(value, __u32);
} lpm_v6 SEC(".maps");

SEC("xdp")
int bench_lpm(struct xdp_md *ctx)
{
	struct bench_addrs a;
	void *s, *d;

	if (!bench_parse(ctx, &a))
		return XDP_PASS;
	if (a.family == 4) {
		struct lpm_v4_key ks = {.prefixlen = 32}, kd = {.prefixlen = 32};

		__builtin_memcpy(ks.addr, a.src, 4);
		__builtin_memcpy(kd.addr, a.dst, 4);
		s = bpf_map_lookup_elem(&lpm_v4, &ks);
		d = bpf_map_lookup_elem(&lpm_v4, &kd);
	} else {
		struct lpm_v6_key ks = {.prefixlen = 128}, kd = {.prefixlen = 128};

		__builtin_memcpy(ks.addr, a.src, 16);
		__builtin_memcpy(kd.addr, a.dst, 16);
		s = bpf_map_lookup_elem(&lpm_v6, &ks);
		d = bpf_map_lookup_elem(&lpm_v6, &kd);
	}
	/* two tests, not s || d: clang would OR the pointers, which the
	 * verifier refuses */
	if (s)
		return XDP_DROP;
	if (d)
		return XDP_DROP;
	return XDP_PASS;
}
