/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: IPv4 (options skipped) and IPv6 (extension-header chain walked up
 * to TAPIS_MAX_IPV6_EXT). Records addresses and the L4 protocol; a non-first
 * fragment has no L4 header, so l4proto stays 0 and only addresses match. */
#ifndef TAPIS_L3_IP_BPF_H
#define TAPIS_L3_IP_BPF_H

#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include "cursor.bpf.h"

#define IP_MF_BIT      0x2000
#define IP_OFFSET_MASK 0x1fff

static __always_inline int parse_ipv4(struct pkt *p, __u32 *reason)
{
	struct iphdr *ip = p->c.pos;
	__u32 ihl, saddr, daddr;
	__u16 frag;
	__u8 proto;

	if ((void *)(ip + 1) > p->c.end) {
		*reason = TAPIS_R_IPV4_TRUNC;
		return -1;
	}
	ihl = ip->ihl;
	if (ip->version != 4 || ihl < 5) {
		*reason = TAPIS_R_IPV4_HDR;
		return -1;
	}
	if (p->c.pos + ihl * 4 > p->c.end) {
		*reason = TAPIS_R_IPV4_TRUNC;
		return -1;
	}
	/* Every field read before any is stored: a load issued after a
	 * store whose address matches it in the low 12 bits (the packet's
	 * page offset against the stack's) waits for that store, and which
	 * fields collide moves with the stack's layout from build to build. */
	saddr = ip->saddr;
	daddr = ip->daddr;
	frag = ip->frag_off;
	proto = ip->protocol;
	p->c.pos += ihl * 4;
	p->family = 4;
	p->saddr4_be = saddr;
	p->daddr4_be = daddr;
	if (frag & bpf_htons(IP_OFFSET_MASK))
		p->nonfirst_frag = 1;
	else
		p->l4proto = proto;
	return 0;
}

struct ipv6_ext {
	__u8 next;
	__u8 len; /* in 8-octet units, not counting the first 8 */
};

struct ipv6_frag {
	__u8 next;
	__u8 reserved;
	__be16 off_flags;
	__be32 id;
};

static __always_inline int parse_ipv6(struct pkt *p, __u32 *reason)
{
	struct ipv6hdr *ip6 = cursor_pull(&p->c, struct ipv6hdr);
	__u8 next;
	int i;

	if (!ip6) {
		*reason = TAPIS_R_IPV6_TRUNC;
		return -1;
	}
	if (ip6->version != 6) {
		*reason = TAPIS_R_IPV6_TRUNC;
		return -1;
	}
	p->family = 6;
	__builtin_memcpy(p->saddr6, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr6, &ip6->daddr, 16);
	next = ip6->nexthdr;

#pragma unroll
	for (i = 0; i < TAPIS_MAX_IPV6_EXT; i++) {
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS: {
			struct ipv6_ext *e = p->c.pos;

			if ((void *)(e + 1) > p->c.end) {
				*reason = TAPIS_R_IPV6_EXT_TRUNC;
				return -1;
			}
			next = e->next;
			if (p->c.pos + (e->len + 1) * 8 > p->c.end) {
				*reason = TAPIS_R_IPV6_EXT_TRUNC;
				return -1;
			}
			p->c.pos += (e->len + 1) * 8;
			break;
		}
		case IPPROTO_FRAGMENT: {
			struct ipv6_frag *f = cursor_pull(&p->c, struct ipv6_frag);

			if (!f) {
				*reason = TAPIS_R_IPV6_EXT_TRUNC;
				return -1;
			}
			if (f->off_flags & bpf_htons(0xfff8)) {
				p->nonfirst_frag = 1;
				return 0;
			}
			next = f->next;
			break;
		}
		default:
			p->l4proto = next;
			return 0;
		}
	}
	/* TAPIS_MAX_IPV6_EXT headers walked: what the last one names is the
	 * L4 protocol unless it is one more extension header. */
	switch (next) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_FRAGMENT:
		*reason = TAPIS_R_IPV6_EXT_DEPTH;
		return -1;
	default:
		p->l4proto = next;
		return 0;
	}
}

#endif
