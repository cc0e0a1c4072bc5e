/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: the hostname of a DNS query, and its host rule.
 *
 * parse_dns() reads a query sent to a dns port (settings bitmap) over UDP,
 * or over TCP behind its 2-byte length prefix with at least its header and
 * question in this segment, after whatever L2/L3 the earlier stages
 * parsed. It checks the header (QR=0, OPCODE QUERY, QDCOUNT 1) and walks
 * the question name, forward: that the name has no compression pointer,
 * at most TAPIS_MAX_LABELS labels and at most TAPIS_HOST_MAX bytes.
 * Anything else returns -reason and the packet goes on as if it carried no
 * name (fail-open). As the walk finds each label's end it makes the
 * label's term (tapis_abi.h: the mix of its chunks) straight from the
 * packet, one load for a label of up to seven bytes, and leaves it in the
 * scratch buffer: that is all the host match (l7_name.bpf.h) reads. The
 * chunks it reads are stored there as they came, so the name is there too,
 * in its wire form with where its labels start, for a block event.
 *
 * host_match() (l7_name.bpf.h) then gives the name's rule. Everything on
 * the way is inlined, but for dns_stage(): calls are what cost (every
 * return pays for the CPU's return-stack mitigations).
 *
 * Verifier: both stages read the packet through ctx->data and offsets the
 * earlier stages left as plain numbers, never through their cursor, and
 * the values it would know exactly are made opaque (opaque() below), so
 * every way the headers in front can be stacked reaches this code in the
 * same few verifier states and it is checked a few times, not once per
 * header layout and label count.
 *
 * Nothing here writes to the packet. */
#ifndef TAPIS_L7_DNS_BPF_H
#define TAPIS_L7_DNS_BPF_H

#include <stdbool.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "cursor.bpf.h"
#include "maps.bpf.h"
#include "rules.bpf.h"
#include "l7_name.bpf.h"

struct dnshdr {
	__be16 id;
	__be16 flags;
	__be16 qdcount;
	__be16 ancount;
	__be16 nscount;
	__be16 arcount;
};

#define DNS_F_QR	   0x8000
#define DNS_F_OPCODE	   0x7800
#define DNS_F_AA	   0x0400
#define DNS_F_TC	   0x0200
#define DNS_F_RD	   0x0100
#define DNS_F_RA	   0x0080
#define DNS_F_CD	   0x0010
#define DNS_RCODE_NXDOMAIN 3
#define DNS_T_A		   1
#define DNS_T_AAAA	   28
#define DNS_T_OPT	   41
#define DNS_C_IN	   1
#define DNS_LABEL_PTR	   0xc0 /* top bits of a length byte: 11 pointer, 01/10 reserved */
#define DNS_OPT_RR_LEN	   11	/* root owner, type, class, TTL, RDLENGTH 0 */

/* The DNS stage's record of a packet: where its transport header is (from
 * struct pkt, as numbers) and what the stage learned. Offsets are from the
 * frame start. */
struct dns_q {
	/* in */
	__u16 l3_off;
	__u16 l4_off;
	__u8 family; /* 4 or 6 */
	__u8 l4proto;
	__be16 dport_be;
	__u32 gen;
	/* out: all zero unless a query was parsed */
	__u16 msg_off; /* the DNS header; 0: no query was parsed */
	__u16 q_end;   /* first byte after QTYPE and QCLASS */
	__u16 l3_end;  /* end of the IP datagram (Ethernet padding excluded) */
	__u16 flags;   /* header flags of the query, host order */
	__u16 qtype;
	__u16 qclass;
	__u8 tcp;    /* over TCP: msg_off is after the length prefix */
	__u8 opt;    /* an EDNS OPT record directly follows the question */
	__u8 opt_do; /* its DO bit */
	__u8 pad[5];
};

/* What the DNS stage needs of struct pkt, as opaque numbers. */
static __always_inline void dns_q_init(struct dns_q *q, const struct pkt *p)
{
	__u32 salt = p->len;

	q->l3_off = p->l3_off;
	q->l4_off = p->l4_off;
	q->family = opaque(p->family, salt);
	q->l4proto = opaque(p->l4proto, salt);
	q->dport_be = p->dport_be;
	q->gen = opaque(p->gen, salt);
}

/* Where the IP datagram at l3 ends: by its length field, or with the frame
 * when the field is 0 (offloaded captures) or claims more than the frame
 * holds. 0 when the header is not there. */
static __always_inline __u32 ip_datagram_end(void *data, void *end, __u32 family, __u32 l3)
{
	__u32 frame = end - data, len;
	void *ip = data + (l3 & OFF_MASK);

	if (family == 4) {
		struct iphdr *ip4 = ip;

		if ((void *)(ip4 + 1) > end)
			return 0;
		len = bpf_ntohs(ip4->tot_len);
	} else {
		struct ipv6hdr *ip6 = ip;

		if ((void *)(ip6 + 1) > end)
			return 0;
		len = bpf_ntohs(ip6->payload_len);
		if (len)
			len += sizeof(*ip6);
	}
	if (!len || l3 + len > frame)
		return frame;
	return l3 + len;
}

/* The term of a wire label of n bytes (its length byte first, 2 .. 64)
 * that ends at le, off bytes into the question name qn: mix(acc) of
 * tapis_abi.h, which the host match weighs by the label's position. Its
 * last chunk is the eight bytes before le (the DNS header is in front of
 * the name, so they are in the packet); a label of more than eight bytes
 * reads its other chunks at offsets from the header. Each chunk read is
 * also stored, as it came, at its place in nb->bytes: once the walk is
 * done the whole name is there (a chunk that starts before the name
 * lands in the slack in front). */
static __always_inline __u64 dns_label_term(struct tapis_name_buf *nb, __u8 *qn, void *end,
					    __u8 *le, __u64 off, __u64 n)
{
	__u64 raw = load64(le - 8), acc = lower8(raw), w, c, at;
	__u8 *p;

	store64(&nb->bytes[(TAPIS_NAME_OFF + off - 8) & 0x1ff], raw);
	if (n < 8)
		return tapis_hash_mix(acc & (~0ULL << ((64 - 8 * n) & 63)));
	/* Chunk c (from the end) starts 8c bytes before the last one. */
	for (c = 1; c < (TAPIS_LABEL_MAX + 1 + 7) / 8 && 8 * c < n; c++) {
		at = (sizeof(struct dnshdr) + off - 8 * (c + 1)) & 0x1ff;
		p = qn - sizeof(struct dnshdr) + at;
		if ((void *)(p + 8) > end)
			break; /* not reached: the label is in the packet */
		raw = load64(p);
		store64(&nb->bytes[(TAPIS_NAME_OFF + off - 8 * (c + 1)) & 0x1ff], raw);
		w = lower8(raw);
		if (n - 8 * c < 8)
			w &= ~0ULL << ((64 - 8 * (n - 8 * c)) & 63);
		acc = tapis_hash_chunk(acc, w);
	}
	return tapis_hash_mix(acc);
}

/* 1: a query was parsed into q; 0: not a DNS query (another port, a TCP
 * segment without payload); -reason: a query that cannot be matched. */
static __always_inline int parse_dns(struct xdp_md *ctx, const struct tapis_settings *set,
				     struct dns_q *q, struct tapis_name_buf *nb)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 l4, pay, l3_end, msg, msg_end, off, flags;
	__u64 walk = 0, lim, i;
	struct dnshdr *dh;
	__u8 *qn, *lp, *tail;

	if (!(set->flags & TAPIS_SF_HOSTS))
		return 0;
	/* The entry sends only packets to a dns port here. */
	if (q->l4proto != IPPROTO_UDP && q->l4proto != IPPROTO_TCP)
		return 0;
	l4 = q->l4_off & OFF_MASK;
	l3_end = ip_datagram_end(data, end, q->family, q->l3_off);
	if (l3_end > OFF_MASK)
		return 0;
	if (q->l4proto == IPPROTO_TCP) {
		struct tcphdr *th = data + l4;
		__be16 *lp;

		if ((void *)(th + 1) > end)
			return 0;
		pay = l4 + th->doff * 4;
		if (pay >= l3_end)
			return 0; /* handshake, bare ACK, FIN: no DNS here */
		lp = data + pay;
		if ((void *)(lp + 1) > end || pay + 2 > l3_end)
			goto trunc;
		q->tcp = 1;
		msg = pay + 2;
		/* The rest of a long query (a TKEY, say) may follow in later
		 * segments: only its header and question must be here. */
		msg_end = msg + bpf_ntohs(*lp);
		if (msg_end > l3_end)
			msg_end = l3_end;
	} else {
		msg = l4 + sizeof(struct udphdr);
		msg_end = l3_end;
	}
	dh = data + msg;
	if ((void *)(dh + 1) > end || msg + sizeof(*dh) > msg_end)
		goto trunc;
	flags = bpf_ntohs(dh->flags);
	if (flags & DNS_F_QR)
		return -TAPIS_R_DNS_RESPONSE;
	if (flags & DNS_F_OPCODE)
		return -TAPIS_R_DNS_OPCODE;
	if (dh->qdcount != bpf_htons(1))
		return -TAPIS_R_DNS_QDCOUNT;

	qn = (__u8 *)(dh + 1);
	msg += sizeof(*dh);
	/* The question name, forward, each label's term made as its end is
	 * found: no byte of it read twice. 64-bit counters: 32-bit ones
	 * cost a zero extension at each use. */
	lim = msg_end - msg;
	lp = qn;
	if ((void *)(lp + 1) > end || !lim)
		goto trunc;
	for (i = 0; i <= TAPIS_MAX_LABELS; i++) {
		__u64 len = *lp;

		if (!len)
			break;
		if (len & DNS_LABEL_PTR)
			return -TAPIS_R_DNS_POINTER;
		if (i == TAPIS_MAX_LABELS)
			return -TAPIS_R_DNS_LABELS;
		nb->lab[i & (TAPIS_MAX_LABELS - 1)] = walk;
		walk += len + 1;
		/* The zero byte still follows: wire length off + 1 <= 255. */
		if (walk > TAPIS_HOST_MAX + 1)
			return -TAPIS_R_DNS_NAME_LONG;
		lp = qn + walk;
		if ((void *)(lp + 1) > end || walk >= lim)
			goto trunc;
		nb->keys[i & (TAPIS_MAX_LABELS - 1)] =
			dns_label_term(nb, qn, end, lp, walk, len + 1);
	}
	off = walk;
	nb->nlab = i;
	/* Opaque: the walk leaves off exact per label count, and the code
	 * below would be checked once per value. */
	off = opaque(off, msg);
	/* The walk stored every label's bytes; the final zero ends the wire
	 * form. */
	nb->bytes[(TAPIS_NAME_OFF + off) & 0x1ff] = 0;
	nb->name_end = off;
	nb->kind = TAPIS_KIND_DNS;

	/* QTYPE, QCLASS, and an OPT record right after them. */
	tail = qn + (off & 0xff) + 1;
	if ((void *)(tail + 4) > end || msg + off + 1 + 4 > msg_end)
		goto trunc;
	q->qtype = ((__u16)tail[0] << 8) | tail[1];
	q->qclass = ((__u16)tail[2] << 8) | tail[3];
	q->q_end = msg + off + 1 + 4;
	q->msg_off = msg - sizeof(*dh);
	q->l3_end = l3_end;
	q->flags = flags;
	tail += 4;
	if (dh->arcount && !dh->ancount && !dh->nscount && (void *)(tail + DNS_OPT_RR_LEN) <= end &&
	    q->q_end + DNS_OPT_RR_LEN <= msg_end && tail[0] == 0 && tail[1] == 0 &&
	    tail[2] == DNS_T_OPT) {
		q->opt = 1;
		q->opt_do = (tail[7] & 0x80) ? 1 : 0;
	}
	return 1;

trunc:
	return -TAPIS_R_DNS_TRUNC;
}

/* The host rule of the DNS query in this packet, or 0; the query in q for
 * an answer. Malformed queries are counted by reason. A global function:
 * the parse and the match are verified once, not once per way the headers
 * in front can be stacked. */
__noinline int dns_stage(struct xdp_md *ctx, struct dns_q *q, __u32 gen)
{
	struct tapis_name_buf *nb = name_buf();
	struct tapis_settings *set;
	int ret;

	gen &= 1;
	set = bpf_map_lookup_elem(&tapis_settings, &gen);
	if (!ctx || !q || !nb || !set)
		return 0;
	ret = parse_dns(ctx, set, q, nb);
	if (ret < 0) { /* a DNS query whose name cannot be read */
		count_reason(-ret);
		return 0;
	}
	return ret > 0 ? host_match(gen, nb, NAME_WIRE) : 0;
}

#endif
