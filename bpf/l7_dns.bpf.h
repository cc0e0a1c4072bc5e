/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: the hostname of a DNS query, and its host rule.
 *
 * parse_dns() reads a query sent to a dns port (settings bitmap) over UDP,
 * or over TCP behind its 2-byte length prefix with at least its header and
 * question in this segment, after whatever L2/L3 the earlier stages
 * parsed. It checks the header (QR=0, OPCODE QUERY, QDCOUNT 1) and walks
 * the question name once, forward, reading only the label lengths: where
 * the labels start, and that the name has no compression pointer, at most
 * TAPIS_MAX_LABELS labels and at most TAPIS_HOST_MAX bytes. Anything else
 * returns -reason and the packet goes on as if it carried no name
 * (fail-open).
 *
 * host_match() then hashes the name once, label by label from its last
 * label to its first (tapis_abi.h): after each label, the running hash is
 * the host-table key of the suffix that label starts. Each key is looked up
 * as soon as it is known, shortest suffix first, and the rules found are
 * kept; then the most specific one whose rule still acts wins. The whole
 * name is looked up for its self rule (`example.com`, `=example.com`),
 * every proper suffix for its sub rule (`example.com`, `*.example.com`). A
 * pattern whose rule has expired is skipped, so the next less specific one
 * applies; the skipped one is counted as expired.
 *
 * Speed: calls are what cost (every return pays for the CPU's return-stack
 * mitigations), so everything here is inlined and a lookup is a filter bit
 * and, for the few keys the filter lets through, the host index, both
 * plain array reads; only keys that overflowed the index cost a hash-map
 * call. Name bytes are read, lowercased and hashed eight at a time; labels
 * are mixed independently, and only an add per label is a dependent chain.
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

/* Offsets from the frame start are kept below this, so the verifier can
 * bound every packet pointer built from them (jumbo frames included). */
#define DNS_OFF_MASK 0x3fff

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
	__u8 tcp;      /* over TCP: msg_off is after the length prefix */
	__u8 opt;      /* an EDNS OPT record directly follows the question */
	__u8 opt_do;   /* its DO bit */
	__u8 name_end; /* offset of the name's final zero byte, from its start */
	__u8 nlab;     /* labels in the name */
	__u8 pad[3];
	/* Where each label starts: the offset of its length byte, from the
	 * name's start, first label first. */
	__u8 lab[TAPIS_MAX_LABELS];
};

/* x, as a number the verifier cannot know (exact at run time for
 * x < 2^24): shifted left and back by 0..7 bits, an amount taken from salt,
 * which the verifier does not know either, and hidden from clang, which
 * would otherwise fold the pair away.
 *
 * Why: where the verifier knows a value exactly (the label count at the
 * exit of a counted loop, the IP version, TCP or UDP), every branch on it
 * forks its state, and the code after is checked once per value. The DNS
 * stages are checked once this way, instead of once per label count times
 * each L3/L4 combination, which overruns the verifier's budget. */
static __always_inline __u32 opaque(__u32 x, __u32 salt)
{
	__u32 s = salt & 7;

	barrier_var(s);
	barrier_var(x);
	x <<= s;
	barrier_var(x); /* or clang makes it x & (~0u >> s), exact to the verifier */
	return x >> s;
}

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

static __always_inline bool dns_port(const struct tapis_settings *set, __be16 port_be)
{
	__u16 port = bpf_ntohs(port_be);

	return (set->ports[TAPIS_PORT_DNS][(port >> 6) & (TAPIS_PORT_WORDS - 1)] >> (port & 63)) &
	       1;
}

/* Where the IP datagram at l3 ends: by its length field, or with the frame
 * when the field is 0 (offloaded captures) or claims more than the frame
 * holds. 0 when the header is not there. */
static __always_inline __u32 ip_datagram_end(void *data, void *end, __u32 family, __u32 l3)
{
	__u32 frame = end - data, len;
	void *ip = data + (l3 & DNS_OFF_MASK);

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

/* 1: a query was parsed into q; 0: not a DNS query (another port, a TCP
 * segment without payload); -reason: a query that cannot be matched. */
static __always_inline int parse_dns(struct xdp_md *ctx, const struct tapis_settings *set,
				     struct dns_q *q)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 l4, pay, l3_end, msg, msg_end, off = 0, i, flags;
	struct dnshdr *dh;
	__u8 *qn, *tail;

	if (!(set->flags & TAPIS_SF_HOSTS))
		return 0;
	if (q->l4proto != IPPROTO_UDP && q->l4proto != IPPROTO_TCP)
		return 0;
	if (!dns_port(set, q->dport_be))
		return 0;
	l4 = q->l4_off & DNS_OFF_MASK;
	l3_end = ip_datagram_end(data, end, q->family, q->l3_off);
	if (l3_end > DNS_OFF_MASK)
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

	/* The question name, forward: label lengths only. */
	qn = (__u8 *)(dh + 1);
	msg += sizeof(*dh);
	for (i = 0; i <= TAPIS_MAX_LABELS; i++) {
		__u8 *lp = qn + off;
		__u32 len;

		if ((void *)(lp + 1) > end || msg + off >= msg_end)
			goto trunc;
		len = *lp;
		if (!len)
			break;
		if (len & DNS_LABEL_PTR)
			return -TAPIS_R_DNS_POINTER;
		if (i == TAPIS_MAX_LABELS)
			return -TAPIS_R_DNS_LABELS;
		q->lab[i & (TAPIS_MAX_LABELS - 1)] = off;
		off += len + 1;
		/* The zero byte still follows: wire length off + 1 <= 255. */
		if (off > TAPIS_HOST_MAX + 1)
			return -TAPIS_R_DNS_NAME_LONG;
	}
	q->name_end = off;
	q->nlab = i;

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

/* Rules found along one name, kept for the most-specific-first pass: the
 * HOST_CANDS most specific (a name would need more patterns than that along
 * it, the most specific all of expired rules, for the next one to matter). */
#define HOST_CANDS 16

/* The rule a host-table key gives: the self rule for the whole name, the
 * sub rule for a parent of it; 0 when the key is absent. The filter rules
 * most keys out with one array read; the index answers for the rest
 * without a call; only a key that overflowed the index costs a hash-map
 * lookup (tapis_abi.h). */
struct host_tables {
	void *hosts;  /* the hash map: the source of truth */
	void *filter; /* one bit per key */
	void *index;  /* every key again, open-addressed */
};

static __always_inline __u32 host_key_rule(const struct host_tables *ht, __u64 key, bool self)
{
	__u32 bit = tapis_host_filter_bit(key), word = bit >> 6, home, i, p;
	__u64 *w = bpf_map_lookup_elem(ht->filter, &word);
	struct tapis_host_slot *s, *first = NULL;
	struct tapis_host_val *v;

	if (w && !(*w & (1ULL << (bit & 63))))
		return 0;
	home = tapis_host_idx_home(key);
#pragma unroll
	for (p = 0; p < TAPIS_HOST_IDX_PROBES; p++) {
		i = (home + p) & (TAPIS_HOST_IDX_SLOTS - 1);
		s = bpf_map_lookup_elem(ht->index, &i);
		if (!s)
			break;
		if (!p)
			first = s;
		if (s->key == key)
			return self ? s->self_rule : s->sub_rule;
		if (!s->key)
			return 0; /* an empty slot ends the search */
	}
	if (first && !(first->flags & TAPIS_HIS_OVERFLOW))
		return 0;
	v = bpf_map_lookup_elem(ht->hosts, &key);
	if (!v)
		return 0;
	return self ? v->self_rule : v->sub_rule;
}

#define ONES64 0x0101010101010101ULL
#define HIGH64 0x8080808080808080ULL

/* ASCII lowercase of eight bytes at once, exactly tapis_lower() per byte:
 * a byte is upper case when its low seven bits are 'A'..'Z' and its top
 * bit is clear; such a byte gets 0x20 added. */
static __always_inline __u64 lower8(__u64 w)
{
	__u64 low7 = w & ~HIGH64;
	__u64 ge_a = low7 + (0x80 - 'A') * ONES64;
	__u64 gt_z = low7 + (0x80 - 'Z' - 1) * ONES64;

	return w | (((ge_a & ~gt_z & ~w) & HIGH64) >> 2);
}

/* Chunks a name can take (tapis_abi.h): a label of n wire bytes is
 * (n + 7) / 8 of them, and the wire bytes of all labels add up to at most
 * TAPIS_HOST_MAX + 1. */
#define DNS_NAME_CHUNKS ((TAPIS_HOST_MAX + 1 + 7 * TAPIS_MAX_LABELS + 7) / 8)

/* The host rule for the query parse_dns() left in q, or 0.
 *
 * The name is hashed as tapis_abi.h defines it, label by label from the
 * last, each label eight wire bytes at a time from its end: chunk words are
 * read straight off the packet, the length byte in front of the label's
 * bytes included, and the bytes before it masked off (the first label's
 * lowest chunk may start up to 7 bytes before the name, in the DNS header:
 * always in the packet). After each label h is the key of the suffix that
 * label starts; after the first label, of the whole name. A label holding
 * a literal dot needs no test: its wire form is no label of any pattern,
 * so neither its key nor any key left of it is stored (but by the chance
 * every key has, docs/dns.md).
 *
 * Keys are looked up as they appear and the rules found kept in order,
 * least specific first; then the most specific one whose rule still acts
 * wins, and any more specific one skipped because it expired is counted. */
static __always_inline __u32 host_match(struct xdp_md *ctx, const struct dns_q *q)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 gen, qn, nc, id, m, t, n, j, s, e;
	__u16 cand[HOST_CANDS] = {};
	__u64 h = TAPIS_HASH_INIT, acc = 0;
	struct host_tables ht;

	if (!q || !q->msg_off || q->name_end < 2 || !q->nlab)
		return 0; /* no query, or the root */
	gen = q->gen & 1;
	qn = q->msg_off + sizeof(struct dnshdr);
	/* Opaque zeros: where the verifier would know h (only boundaries fed
	 * so far) or nc (hits so far) exactly, it keeps a state per value. */
	h ^= opaque(0, qn);
	nc = opaque(0, qn);
	/* User space publishes a generation's filter and index with its
	 * host table. */
	ht.hosts = bpf_map_lookup_elem(&tapis_hosts, &gen);
	ht.filter = bpf_map_lookup_elem(&tapis_host_filter, &gen);
	ht.index = bpf_map_lookup_elem(&tapis_host_index, &gen);
	if (!ht.hosts || !ht.filter || !ht.index)
		return 0;

	/* Label j spans wire bytes s .. e - 1 of the name; the chunk at hand
	 * ends at e. */
	n = opaque(q->nlab, qn);
	j = n - 1;
	e = q->name_end;
	s = q->lab[j & (TAPIS_MAX_LABELS - 1)];
	for (m = 0; m < DNS_NAME_CHUNKS; m++) {
		__u32 rem, have;
		const __u64 *wp;
		__u64 w;

		/* Known ranges of e that move 8 down per chunk would keep the
		 * verifier from seeing one chunk's state as another's: it is
		 * 0..255 at every chunk this way (e is never above 254, and
		 * never below 8 when lowered). */
		e &= 0xff;
		barrier_var(e);
		rem = e - s;
		have = rem < 8 ? rem : 8;
		wp = data + ((qn + e - 8) & DNS_OFF_MASK);

		if ((const void *)(wp + 1) > end)
			goto resolve;
		w = lower8(*wp) & (~0ULL << (64 - 8 * have));
		/* tapis_hash_chunk(acc, w), without mixing the 0 a label
		 * starts from (mix(0) is 0): most labels are one chunk. */
		if (acc)
			acc = tapis_hash_mix(acc);
		acc ^= w;
		if (rem > 8) {
			e -= 8;
			continue;
		}
		h = tapis_hash_label(h, acc, n - j);
		acc = 0;
		if (!j)
			break;
		id = host_key_rule(&ht, h, false);
		if (id)
			cand[nc++ & (HOST_CANDS - 1)] = id;
		j--;
		e = s;
		s = q->lab[j & (TAPIS_MAX_LABELS - 1)];
	}
	if (m == DNS_NAME_CHUNKS)
		goto resolve; /* not reached: no name has that many chunks */
	id = host_key_rule(&ht, h, true);
	if (id)
		cand[nc++ & (HOST_CANDS - 1)] = id;

resolve:
	/* Most specific first: the first rule that acts wins; expired ones
	 * met on the way are counted. */
	for (t = 0; t < HOST_CANDS; t++) {
		if (t >= nc)
			break;
		id = cand[(nc - 1 - t) & (HOST_CANDS - 1)];
		switch (rule_state(gen, id)) {
		case RULE_LIVE:
			return id;
		case RULE_EXPIRED:
			count_expired(id);
			break;
		default:
			break;
		}
	}
	return 0;
}

#endif
