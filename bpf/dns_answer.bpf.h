/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: answers to blocked DNS queries, built in place and sent back
 * out of the receiving interface with XDP_TX.
 *
 * UDP (dns_answer_udp): the query becomes its own response. MACs, IP
 * addresses and ports are swapped; VLAN tags, the PPPoE session header (its
 * length fixed) and MPLS labels stay as they are; IPv4 gets TTL 64, no
 * fragment bits and a new header checksum; IPv6 hop limit 64. The DNS
 * message keeps ID, question, RD and CD; QR and RA are set; AA, TC, AD and
 * the Z bit are clear. What followed the question (EDNS OPT, cookies,
 * padding, anything) is cut off and the frame resized to:
 *   reject        NXDOMAIN, no records
 *   sinkhole      A / AAAA class IN with a configured address for that
 *                 family: NOERROR and one record (owner 0xc00c, the
 *                 configured TTL); any other query: NODATA (NOERROR, none)
 * plus, when the query had an EDNS OPT record, an OPT record of our own
 * (UDP size 1232, version 0, DO copied, no options). The UDP checksum is
 * always computed, over IPv4 too.
 *
 * TCP (tcp_reset): the query segment becomes a RST|ACK to the client, with
 * seq = the segment's ACK and ack = its seq + its length, so the client's
 * stack accepts it; the query never reaches the server.
 *
 * Over IPv6 with extension headers (a fragment header among them would have
 * to be rewritten) no answer is built: the caller drops instead. */
#ifndef TAPIS_DNS_ANSWER_BPF_H
#define TAPIS_DNS_ANSWER_BPF_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "cursor.bpf.h"
#include "csum.bpf.h"
#include "l2_eth.bpf.h"
#include "l7_dns.bpf.h"
#include "l7_name.bpf.h"

#define ANSWER_TTL	 64   /* IPv4 TTL / IPv6 hop limit of what we send */
#define ANSWER_EDNS_SIZE 1232 /* UDP payload size in our OPT record */
#define ANSWER_RR_FIXED	 12   /* owner pointer, type, class, TTL, RDLENGTH */

/* The PPP protocol field's size: 1 when compressed (RFC 1661 PFC: the odd
 * first byte is all of it), else 2. */
static __always_inline __u32 ppp_proto_len(const struct pppoe_hdr *ph)
{
	return (((const __u8 *)&ph->ppp_proto_be)[0] & 1) ? 1 : 2;
}

static __always_inline void swap_mac(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/* The PPPoE session header of a frame parse_l2 accepted, found again past
 * the VLAN tags; NULL when there is none. */
static __always_inline struct pppoe_hdr *pppoe_of(void *data, void *end)
{
	struct cursor c = {.pos = data, .end = end};
	struct ethhdr *eth = cursor_pull(&c, struct ethhdr);
	__u16 proto;
	int i;

	if (!eth)
		return NULL;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < TAPIS_MAX_VLAN; i++) {
		struct vlan_hdr *vh;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD) &&
		    proto != bpf_htons(ETH_P_QINQ1))
			break;
		vh = cursor_pull(&c, struct vlan_hdr);
		if (!vh)
			return NULL;
		proto = vh->proto_be;
	}
	if (proto != bpf_htons(ETH_P_PPP_SES))
		return NULL;
	return cursor_pull(&c, struct pppoe_hdr);
}

/* The PPPoE session header's length covers the PPP protocol field and the
 * IP datagram. */
static __always_inline void pppoe_set_len(void *data, void *end, __u32 ip_len)
{
	struct pppoe_hdr *ph = pppoe_of(data, end);

	if (ph)
		ph->length = bpf_htons(ip_len + ppp_proto_len(ph));
}

static __always_inline void swap_ports(__be16 *a, __be16 *b)
{
	__be16 t = *a;

	*a = *b;
	*b = t;
}

/* Turn the IP header around for a datagram of ip_len bytes. l4_len is
 * what the pseudo-header counts; *sum receives the pseudo-header sum. */
static __always_inline int ip_turn_around(void *data, void *end, __u32 family, __u32 l3_off,
					  __u32 ip_len, __u8 proto, __u32 l4_len, __u64 *sum)
{
	void *l3 = data + (l3_off & OFF_MASK);

	if (family == 4) {
		struct iphdr *ip = l3;
		__be32 a;
		__u64 s = 0;

		if ((void *)(ip + 1) > end)
			return -1;
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->tot_len = bpf_htons(ip_len);
		ip->ttl = ANSWER_TTL;
		ip->frag_off = 0;
		ip->check = 0;
		if (!csum_pkt(ip, ip->ihl * 4, end, &s))
			return -1;
		ip->check = csum_fold(s);
		*sum = csum_pseudo4(ip->saddr, ip->daddr, proto, l4_len);
	} else {
		struct ipv6hdr *ip6 = l3;
		struct in6_addr a;

		if ((void *)(ip6 + 1) > end)
			return -1;
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->payload_len = bpf_htons(ip_len - sizeof(*ip6));
		ip6->hop_limit = ANSWER_TTL;
		*sum = csum_pseudo6(ip6->saddr.in6_u.u6_addr32, ip6->daddr.in6_u.u6_addr32, proto,
				    l4_len);
	}
	return 0;
}

/* An answer record's fixed part: owner = the question name (a pointer to
 * message offset 12), class IN. */
static __always_inline void put_rr_head(__u8 *a, __u16 type, __u32 ttl, __u16 rdlen)
{
	a[0] = 0xc0;
	a[1] = sizeof(struct dnshdr);
	a[2] = type >> 8;
	a[3] = type;
	a[4] = 0;
	a[5] = DNS_C_IN;
	a[6] = ttl >> 24;
	a[7] = ttl >> 16;
	a[8] = ttl >> 8;
	a[9] = ttl;
	a[10] = rdlen >> 8;
	a[11] = rdlen;
}

/* Resize the frame to new_len. Packet pointers are invalid afterwards. */
static __always_inline int frame_resize(struct xdp_md *ctx, __u32 new_len)
{
	int delta = (int)new_len - (int)(ctx->data_end - ctx->data);

	return delta ? bpf_xdp_adjust_tail(ctx, delta) : 0;
}

/* Grow the frame by delta bytes at its head and move its first keep bytes
 * back to the front, so it reads as if it had grown at its tail. Drivers
 * guarantee XDP_PACKET_HEADROOM in front; tail room they need not have (a
 * veth hands XDP a frame made from the sender's skb, whose tail may be
 * full). */
static __always_inline int frame_grow_head(struct xdp_md *ctx, __u32 delta, __u32 keep)
{
	struct tapis_name_buf *nb = name_buf();

	if (!nb || !delta || delta > 256 || keep > 511 || !keep)
		return -1;
	/* For the verifier, which follows another copy of keep than the one
	 * tested: within nb->bytes, and not zero. */
	barrier_var(keep);
	keep = (keep & 0x1ff) | 1;
	if (bpf_xdp_adjust_head(ctx, -(int)delta))
		return -1;
	if (bpf_xdp_load_bytes(ctx, delta, nb->bytes, keep) ||
	    bpf_xdp_store_bytes(ctx, 0, nb->bytes, keep))
		return -1;
	count_stat(TAPIS_S_ANSWER_HEAD);
	return 0;
}

/* Resize the frame to new_len bytes and turn its link layer around: MACs
 * swapped, a PPPoE length set for the IP datagram from l3 on. The first
 * keep bytes stay where they are. Returns 0, or -1 when the frame cannot
 * be resized (the caller drops). */
static __always_inline int answer_frame(struct xdp_md *ctx, __u32 new_len, __u32 l3, __u32 keep)
{
	__u32 old_len = ctx->data_end - ctx->data;
	void *data, *end;
	struct ethhdr *eth;

	if (frame_resize(ctx, new_len) &&
	    (new_len <= old_len || frame_grow_head(ctx, new_len - old_len, keep)))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return -1;
	swap_mac(eth);
	pppoe_set_len(data, end, new_len - l3);
	return 0;
}

/* Build the response to the query described by q in place. XDP_TX, or
 * XDP_DROP when it cannot be built. */
static __always_inline int dns_answer_udp(struct xdp_md *ctx, const struct dns_q *q,
					  const struct tapis_settings *set, __u32 action)
{
	__u32 l3 = q->l3_off & OFF_MASK, l4 = q->l4_off & OFF_MASK, rr_len = 0, addr_len = 0;
	__u32 new_len;
	__u32 rcode = 0, udp_len, ancount = 0;
	__u16 rr_type = 0;
	void *data, *end;
	struct udphdr *uh;
	struct dnshdr *dh;
	__u8 *a;
	__u64 sum;

	if (q->family == 6 && l4 != l3 + sizeof(struct ipv6hdr))
		return XDP_DROP;
	if (action == TAPIS_ACT_REJECT) {
		rcode = DNS_RCODE_NXDOMAIN;
	} else if (q->qclass == DNS_C_IN && q->qtype == DNS_T_A && set->has_sinkhole_v4) {
		rr_type = DNS_T_A;
		addr_len = 4;
	} else if (q->qclass == DNS_C_IN && q->qtype == DNS_T_AAAA && set->has_sinkhole_v6) {
		rr_type = DNS_T_AAAA;
		addr_len = 16;
	}
	if (rr_type) {
		rr_len = ANSWER_RR_FIXED + addr_len;
		ancount = 1;
	}
	new_len = q->q_end + rr_len + (q->opt ? DNS_OPT_RR_LEN : 0);
	udp_len = new_len - l4;
	if (answer_frame(ctx, new_len, l3, q->q_end))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;

	uh = data + l4;
	if ((void *)(uh + 1) > end)
		return XDP_DROP;
	swap_ports(&uh->source, &uh->dest);
	uh->len = bpf_htons(udp_len);
	uh->check = 0;

	dh = (void *)(uh + 1);
	if ((void *)(dh + 1) > end)
		return XDP_DROP;
	dh->flags = bpf_htons(DNS_F_QR | DNS_F_RA | (q->flags & (DNS_F_RD | DNS_F_CD)) | rcode);
	dh->ancount = bpf_htons(ancount);
	dh->nscount = 0;
	dh->arcount = bpf_htons(q->opt ? 1 : 0);

	/* Records after the question, written byte by byte: their offset
	 * has any alignment. */
	a = data + (q->q_end & OFF_MASK);
	if (rr_type == DNS_T_A) {
		if ((void *)(a + ANSWER_RR_FIXED + 4) > end)
			return XDP_DROP;
		put_rr_head(a, DNS_T_A, set->sinkhole_ttl, 4);
		__builtin_memcpy(a + ANSWER_RR_FIXED, set->sinkhole_v4, 4);
		a += ANSWER_RR_FIXED + 4;
	} else if (rr_type == DNS_T_AAAA) {
		if ((void *)(a + ANSWER_RR_FIXED + 16) > end)
			return XDP_DROP;
		put_rr_head(a, DNS_T_AAAA, set->sinkhole_ttl, 16);
		__builtin_memcpy(a + ANSWER_RR_FIXED, set->sinkhole_v6, 16);
		a += ANSWER_RR_FIXED + 16;
	}
	if (q->opt) {
		if ((void *)(a + DNS_OPT_RR_LEN) > end)
			return XDP_DROP;
		a[0] = 0; /* owner: the root */
		a[1] = 0;
		a[2] = DNS_T_OPT;
		a[3] = ANSWER_EDNS_SIZE >> 8;
		a[4] = ANSWER_EDNS_SIZE & 0xff;
		a[5] = 0; /* extended RCODE */
		a[6] = 0; /* version */
		a[7] = q->opt_do ? 0x80 : 0;
		a[8] = 0;
		a[9] = 0; /* RDLENGTH */
		a[10] = 0;
	}

	if (ip_turn_around(data, end, q->family, l3, new_len - l3, IPPROTO_UDP, udp_len, &sum))
		return XDP_DROP;
	uh = data + l4;
	if ((void *)(uh + 1) > end)
		return XDP_DROP;
	if (!csum_pkt(uh, udp_len, end, &sum))
		return XDP_DROP;
	uh->check = csum_fold(sum) ?: 0xffff; /* 0 would mean "no checksum" */
	return XDP_TX;
}

/* Reset the TCP connection this segment came on, toward its sender: the
 * segment becomes a RST|ACK whose sequence number is the segment's ACK
 * and whose ACK covers the segment, so the sender's stack accepts it, and
 * the segment never reaches its receiver. l3_end: end of the datagram. */
static __always_inline int tcp_reset(struct xdp_md *ctx, __u32 l3_off, __u32 l4_off, __u32 l3_end,
				     __u32 family)
{
	__u32 l3 = l3_off & OFF_MASK, l4 = l4_off & OFF_MASK, new_len, seg_len, seq, ack;
	void *data, *end;
	struct tcphdr *th;
	__u64 sum;

	if (family == 6 && l4 != l3 + sizeof(struct ipv6hdr))
		return XDP_DROP;
	new_len = l4 + sizeof(*th);

	/* Sequence numbers before the header is cut to 20 bytes. */
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	th = data + l4;
	if ((void *)(th + 1) > end)
		return XDP_DROP;
	seg_len = l3_end > l4 + th->doff * 4 ? l3_end - (l4 + th->doff * 4) : 0;
	seg_len += th->syn + th->fin;
	/* RFC 9293 3.10.7.1: without an ACK in the segment, seq is zero. */
	seq = th->ack ? th->ack_seq : 0;
	ack = bpf_htonl(bpf_ntohl(th->seq) + seg_len);

	if (answer_frame(ctx, new_len, l3, new_len))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;

	th = data + l4;
	if ((void *)(th + 1) > end)
		return XDP_DROP;
	swap_ports(&th->source, &th->dest);
	th->seq = seq;
	th->ack_seq = ack;
	/* doff 5, RST|ACK, nothing else. */
	((__u8 *)th)[12] = 5 << 4;
	((__u8 *)th)[13] = TAPIS_TCP_RST | TAPIS_TCP_ACK;
	th->window = 0;
	th->urg_ptr = 0;
	th->check = 0;

	if (ip_turn_around(data, end, family, l3, new_len - l3, IPPROTO_TCP, sizeof(*th), &sum))
		return XDP_DROP;
	th = data + l4;
	if ((void *)(th + 1) > end)
		return XDP_DROP;
	if (!csum_pkt(th, sizeof(*th), end, &sum))
		return XDP_DROP;
	th->check = csum_fold(sum);
	return XDP_TX;
}

/* Never a reflector: answer only a sender the host's own stack would answer.
 * 0, or the reason (enum tapis_stat) not to: a multicast or broadcast
 * source, MAC or IP (0.0.0.0, 255.255.255.255, 224/4, 127/8; ::, ::1,
 * ff00::/8: a forged one would turn the answer on a bystander or a whole
 * segment); an IP or UDP length the frame does not hold, an IP length that
 * does not hold the TCP or UDP header and the UDP length (0 included: a
 * host drops such a datagram, RFC 1122 3.2.1.2), or UDP without payload; a
 * PPPoE frame that is not session data or whose length is not
 * the datagram's; a TCP segment that is a RST or has no ACK (a reset must
 * not answer a reset, nor a SYN: RFC 9293 3.10.7). Checksums are not
 * verified (a veth or a local sender hands over partial ones); the answer
 * gets its own. */
static __always_inline __u32 answer_refused(struct xdp_md *ctx, __u32 l3_off, __u32 l4_off,
					    __u32 family, __u32 tcp)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct cursor c = {.pos = data, .end = end};
	__u32 l3 = l3_off & OFF_MASK, l4 = l4_off & OFF_MASK, ip_len;
	struct ethhdr *eth = cursor_pull(&c, struct ethhdr);
	__u8 *ip = data + l3, *src;

	if (!eth)
		return TAPIS_S_NOANS_LENGTH;
	if (eth->h_source[0] & 1)
		return TAPIS_S_NOANS_SOURCE;
	if (family == 4) {
		struct iphdr *h = (void *)ip;

		if ((void *)(h + 1) > end)
			return TAPIS_S_NOANS_LENGTH;
		ip_len = bpf_ntohs(h->tot_len);
		src = (__u8 *)&h->saddr;
		if (h->saddr == 0 || h->saddr == 0xffffffff || (src[0] & 0xf0) == 0xe0 ||
		    src[0] == 127)
			return TAPIS_S_NOANS_SOURCE;
	} else {
		struct ipv6hdr *h = (void *)ip;
		__u64 hi, lo;

		if ((void *)(h + 1) > end)
			return TAPIS_S_NOANS_LENGTH;
		ip_len = sizeof(*h) + bpf_ntohs(h->payload_len);
		src = (__u8 *)&h->saddr;
		__builtin_memcpy(&hi, src, 8);
		__builtin_memcpy(&lo, src + 8, 8);
		if (src[0] == 0xff || (!hi && (!lo || lo == bpf_cpu_to_be64(1))))
			return TAPIS_S_NOANS_SOURCE;
	}
	if (ip_len > (__u32)(end - (void *)ip) ||
	    ip_len < l4 - l3 + (tcp ? sizeof(struct tcphdr) : sizeof(struct udphdr)))
		return TAPIS_S_NOANS_LENGTH;
	if (tcp) {
		struct tcphdr *th = data + l4;

		if ((void *)(th + 1) > end)
			return TAPIS_S_NOANS_LENGTH;
		if (th->rst || !th->ack)
			return TAPIS_S_NOANS_TCP;
	} else {
		struct udphdr *uh = data + l4;
		__u32 ulen;

		if ((void *)(uh + 1) > end)
			return TAPIS_S_NOANS_LENGTH;
		ulen = bpf_ntohs(uh->len);
		if (ulen <= sizeof(*uh) || ulen > (__u32)(end - (void *)uh) ||
		    ulen > ip_len - (l4 - l3))
			return TAPIS_S_NOANS_LENGTH;
	}
	/* PPPoE: session data only, its length the datagram's. */
	{
		struct pppoe_hdr *ph = pppoe_of(data, end);

		if (ph && (ph->code != 0 || bpf_ntohs(ph->length) != ip_len + ppp_proto_len(ph)))
			return TAPIS_S_NOANS_PPPOE;
	}
	return 0;
}

/* A reset for the TCP segment at l4_off: XDP_TX, or XDP_DROP when none can
 * be built. A global function, verified once. */
__noinline int tcp_reset_answer(struct xdp_md *ctx, __u32 l3_off, __u32 l4_off, __u32 l3_end,
				__u32 family)
{
	int ret;

	__u32 why;

	if (!ctx || (family != 4 && family != 6))
		return XDP_DROP;
	why = answer_refused(ctx, l3_off, l4_off, family, 1);
	if (why) {
		count_stat(why);
		return XDP_DROP;
	}
	ret = tcp_reset(ctx, l3_off, l4_off, l3_end, family);
	if (ret == XDP_DROP)
		count_stat(TAPIS_S_ANSWER_ERR);
	return ret;
}

/* The answer to the blocked query in q: XDP_TX, or XDP_DROP when none can
 * be built. A global function, verified once (see l7_dns.bpf.h). */
__noinline int dns_answer(struct xdp_md *ctx, const struct dns_q *q,
			  const struct tapis_settings *set, __u32 action)
{
	__u32 why;
	int ret;

	if (!q || !set || !q->msg_off || (q->family != 4 && q->family != 6))
		return XDP_DROP;
	why = answer_refused(ctx, q->l3_off, q->l4_off, q->family, q->tcp);
	if (why) {
		count_stat(why);
		return XDP_DROP;
	}
	if (q->tcp)
		ret = tcp_reset(ctx, q->l3_off, q->l4_off, q->l3_end, q->family);
	else
		ret = dns_answer_udp(ctx, q, set, action);
	if (ret == XDP_DROP)
		count_stat(TAPIS_S_ANSWER_ERR);
	return ret;
}

#endif
