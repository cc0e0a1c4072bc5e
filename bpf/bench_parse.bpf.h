/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only, bench-only: the reference programs of `make bench` (issue 11)
 * find a frame's addresses the way tapis's L2/L3 stages do for the frames the
 * bench sends (Ethernet, up to two 802.1Q/802.1ad tags, IPv4 or IPv6), and no
 * more: what they cost beside tapis is then the table lookups, not parsing
 * tapis does not do. Not part of the filter. */
#ifndef TAPIS_BENCH_PARSE_BPF_H
#define TAPIS_BENCH_PARSE_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define BENCH_MAX_VLAN 2

struct bench_addrs {
	int family; /* 4 or 6; 0: not IP, the frame passes */
	const __u8 *src, *dst;
};

static __always_inline int bench_parse(struct xdp_md *ctx, struct bench_addrs *a)
{
	void *pos = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = pos;
	__be16 proto;
	int i;

	a->family = 0;
	if ((void *)(eth + 1) > end)
		return 0;
	proto = eth->h_proto;
	pos = eth + 1;
#pragma unroll
	for (i = 0; i < BENCH_MAX_VLAN; i++) {
		__be16 *tag = pos; /* TCI, then the inner EtherType */

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 2) > end)
			return 0;
		proto = tag[1];
		pos = tag + 2;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = pos;

		if ((void *)(ip + 1) > end)
			return 0;
		a->src = (const __u8 *)&ip->saddr;
		a->dst = (const __u8 *)&ip->daddr;
		a->family = 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = pos;

		if ((void *)(ip6 + 1) > end)
			return 0;
		a->src = ip6->saddr.in6_u.u6_addr8;
		a->dst = ip6->daddr.in6_u.u6_addr8;
		a->family = 6;
	}
	return a->family;
}

#endif
