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
 * host_match() then hashes the name once, from its last byte to its first
 * (tapis_abi.h): just before each label boundary, the running hash is the
 * host-table key of the suffix right of it. Each key is looked up as soon
 * as it is known, shortest suffix first, and the rules found are kept; then
 * the most specific one whose rule still acts wins. The whole name is
 * looked up for its self rule (`example.com`, `=example.com`), every proper
 * suffix for its sub rule (`example.com`, `*.example.com`). A pattern whose
 * rule has expired is skipped, so the next less specific one applies; the
 * skipped one is counted as expired.
 *
 * Speed: calls are what cost (every return pays for the CPU's return-stack
 * mitigations), so everything here is inlined and a lookup is a filter bit
 * and, for the few keys the filter lets through, the host index, both
 * plain array reads; only keys that overflowed the index cost a hash-map
 * call. Name bytes are read eight at a time and lowercased eight at a time;
 * only the FNV multiply goes byte by byte.
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
	__u8 pad[4];
	/* Label boundaries: bit 64 + i is set when byte i of the name is the
	 * length byte of a label other than the first (a '.' when dotted).
	 * The 64 bits of slack on each side let host_match() read any 8
	 * positions from -7 to 254 without a bounds test. */
	__u64 bnd[6];
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
/* The bnd[] word holding bit `bit` (at most 254 + 64 + 64 in use). */
static __always_inline __u32 bnd_word(__u32 bit)
{
	__u32 w = bit >> 6;

	return w < 5 ? w : 5;
}

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
		if (off) {
			__u32 bit = off + 64;

			q->bnd[bnd_word(bit)] |= 1ULL << (bit & 63);
		}
		off += len + 1;
		/* The zero byte still follows: wire length off + 1 <= 255. */
		if (off > TAPIS_HOST_MAX + 1)
			return -TAPIS_R_DNS_NAME_LONG;
	}
	q->name_end = off;

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

/* Non-zero when one of the top `have` bytes of w (all eight for have >= 8)
 * is a dot. Exact per byte, and without a branch per byte, which would give
 * the verifier 2^8 ways through each word. */
static __always_inline __u64 has_dot(__u64 w, __u32 have)
{
	__u64 x = w ^ ('.' * ONES64), low7 = ~HIGH64;
	__u64 zero = ~(((x & low7) + low7) | x | low7); /* 0x80 where x has 0 */

	if (have < 8)
		zero &= ~0ULL << (64 - 8 * have);
	return zero;
}

/* The host rule for the query parse_dns() left in q, or 0.
 *
 * The dotted name is bytes 1 .. name_end - 1 of the wire name, with every
 * length byte but the first read as '.'. It is hashed from its last byte to
 * its first, eight bytes per word: word m is the little-endian word ending
 * 8*m bytes before the name's end, so its higher bytes come first. Just
 * before a boundary is fed as '.', h is the key of the suffix right of it;
 * after byte 1, h is the key of the whole name. The lowest word may start
 * up to 7 bytes before the name, in the DNS header: always in the packet.
 *
 * Keys are looked up as they appear and the rules found kept in order,
 * least specific first; then the most specific one whose rule still acts
 * wins, and any more specific one skipped because it expired is counted. */
static __always_inline __u32 host_match(struct xdp_md *ctx, const struct dns_q *q)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 gen, qn, last, nc, id, m, t;
	__u16 cand[HOST_CANDS] = {};
	__u64 h = TAPIS_HASH_INIT;
	struct host_tables ht;

	if (!q || !q->msg_off || q->name_end < 2)
		return 0; /* no query, or the root */
	gen = q->gen & 1;
	qn = q->msg_off + sizeof(struct dnshdr);
	last = q->name_end;
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
	last -= 1; /* the name's last byte; its first is byte 1 */

	for (m = 0; m < (TAPIS_HOST_MAX + 7) / 8; m++) {
		__u32 lo = last + 1 + 64 - 8 * (m + 1), have, shift, bits, bits32;
		const __u64 *wp;
		__u64 w, bmask, x, dots;

		barrier_var(lo);
		if (8 * m >= last)
			break;
		have = last - 8 * m; /* bytes of the name left, from the top */
		wp = data + ((qn + lo - 64) & DNS_OFF_MASK);
		if ((const void *)(wp + 1) > end)
			goto resolve;
		w = lower8(*wp);

		/* The boundary bits of the word's 8 positions, lowest first. */
		shift = lo & 63;
		bits = q->bnd[bnd_word(lo)] >> shift;
		if (shift)
			bits |= q->bnd[bnd_word(lo + 64)] << (64 - shift);
		bits &= 0xff;

		/* Literal dots: bytes that read '.' but are no boundary (bmask
		 * has 0x80 in each byte that is one). */
		x = (bits * ONES64) & 0x8040201008040201ULL;
		bmask = (x + 0x7f * ONES64) & HIGH64;
		dots = has_dot(w, have) & ~bmask;
		/* A dot inside a label: this label, and every name left of it,
		 * is no hostname a pattern could name. Hash only the bytes
		 * above the highest such dot, then stop. Smearing the dot bits
		 * down and counting them gives the dot's position without a
		 * branch per byte. */
		if (dots) {
			x = dots | (dots >> 8);
			x |= x >> 16;
			x |= x >> 32;
			x = (((x >> 7) & ONES64) * ONES64) >> 56; /* bytes from the dot down */
			if (have > 8 - x)
				have = 8 - x;
		}

		/* The boundary bit of the byte at hand is bit 31 of bits32. */
		bits32 = bits << 24;
		for (t = 0; t < 8; t++) {
			__u8 c = w >> (56 - 8 * t);

			if (t >= have)
				break;
			if ((__s32)(bits32 << t) < 0) {
				id = host_key_rule(&ht, h, false);
				if (id)
					cand[nc++ & (HOST_CANDS - 1)] = id;
				c = '.';
			}
			h = tapis_hash_mix(h, c);
		}
		if (dots)
			goto resolve;
	}
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
