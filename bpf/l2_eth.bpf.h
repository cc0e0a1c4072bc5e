/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: link layer. Ethernet, up to TAPIS_MAX_VLAN 802.1Q/802.1ad tags,
 * PPPoE session frames and MPLS label stacks, in the orders edge routers see
 * them (VLAN then PPPoE, VLAN then MPLS). Leaves the cursor at the IP header
 * and returns its family (4/6), or 0 with *reason set. */
#ifndef TAPIS_L2_ETH_BPF_H
#define TAPIS_L2_ETH_BPF_H

#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include "cursor.bpf.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define ETH_P_QINQ1 0x9100 /* pre-standard QinQ, still seen on old gear */
#define PPP_IPV4    0x0021
#define PPP_IPV6    0x0057

struct vlan_hdr {
	__be16 tci;
	__be16 proto_be;
};

struct pppoe_hdr {
	__u8 ver_type;
	__u8 code;
	__be16 session;
	__be16 length;
	__be16 ppp_proto_be;
};

#define MPLS_BOS 0x00000100u

static __always_inline int parse_mpls(struct cursor *c, __u32 *reason)
{
	int i;

#pragma unroll
	for (i = 0; i < TAPIS_MAX_MPLS; i++) {
		__be32 *lse = cursor_pull(c, __be32);

		if (!lse) {
			*reason = TAPIS_R_MPLS_TRUNC;
			return 0;
		}
		if (bpf_ntohl(*lse) & MPLS_BOS) {
			__u8 *v = c->pos;

			if ((void *)(v + 1) > c->end) {
				*reason = TAPIS_R_MPLS_TRUNC;
				return 0;
			}
			/* MPLS says nothing about its payload: the first
			 * nibble does (RFC 4385 control words start with 0). */
			if ((*v >> 4) == 4)
				return 4;
			if ((*v >> 4) == 6)
				return 6;
			*reason = TAPIS_R_MPLS_PAYLOAD;
			return 0;
		}
	}
	*reason = TAPIS_R_MPLS_DEPTH;
	return 0;
}

static __always_inline int parse_l2(struct cursor *c, __u32 *reason)
{
	struct ethhdr *eth = cursor_pull(c, struct ethhdr);
	__u16 proto;
	int i;

	if (!eth) {
		*reason = TAPIS_R_L2_TRUNC;
		return 0;
	}
	proto = bpf_ntohs(eth->h_proto);

#pragma unroll
	for (i = 0; i < TAPIS_MAX_VLAN; i++) {
		struct vlan_hdr *vh;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD && proto != ETH_P_QINQ1)
			break;
		vh = cursor_pull(c, struct vlan_hdr);
		if (!vh) {
			*reason = TAPIS_R_L2_TRUNC;
			return 0;
		}
		proto = bpf_ntohs(vh->proto_be);
	}
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD || proto == ETH_P_QINQ1) {
		*reason = TAPIS_R_VLAN_DEPTH;
		return 0;
	}

	switch (proto) {
	case ETH_P_IP:
		return 4;
	case ETH_P_IPV6:
		return 6;
	case ETH_P_PPP_SES: {
		struct pppoe_hdr *ph = cursor_pull(c, struct pppoe_hdr);

		if (!ph) {
			*reason = TAPIS_R_L2_TRUNC;
			return 0;
		}
		if (ph->ppp_proto_be == bpf_htons(PPP_IPV4))
			return 4;
		if (ph->ppp_proto_be == bpf_htons(PPP_IPV6))
			return 6;
		/* Protocol-field compression (RFC 1661 6.5): an odd first
		 * byte is the whole field, and the datagram starts after it. */
		{
			__u8 *pp = (__u8 *)&ph->ppp_proto_be;

			if (pp[0] == (PPP_IPV4 & 0xff) || pp[0] == (PPP_IPV6 & 0xff)) {
				c->pos = pp + 1;
				return pp[0] == (PPP_IPV4 & 0xff) ? 4 : 6;
			}
		}
		*reason = TAPIS_R_NOT_IP; /* LCP, IPCP, ...: control plane */
		return 0;
	}
	case ETH_P_MPLS_UC:
		return parse_mpls(c, reason);
	default:
		*reason = TAPIS_R_NOT_IP;
		return 0;
	}
}

#endif
