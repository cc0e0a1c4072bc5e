// SPDX-License-Identifier: GPL-2.0
/*
 * pkt.c - packet builder, parse-back and checksum checks for tests.
 *
 * Everything is written byte by byte in network order into the caller's
 * struct, so nothing here depends on host alignment or endianness. See
 * pkt.h for the contracts.
 */
#include "pkt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define ETHERTYPE_NONE	  0x88b5 /* IEEE local experimental: "nothing yet" */
#define ETHERTYPE_IPV4	  0x0800
#define ETHERTYPE_IPV6	  0x86dd
#define ETHERTYPE_PPPOE	  0x8864
#define ETHERTYPE_MPLS	  0x8847
#define ETHERTYPE_MPLS_MC 0x8848
#define TPID_9100	  0x9100 /* pre-standard QinQ, still seen */
#define IPPROTO_NONE_	  59	 /* IPv6 "no next header", valid in both */

enum slot_kind {
	SLOT_NONE,
	SLOT_ETHERTYPE,
	SLOT_PPP,
	SLOT_IPPROTO,
};

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = (v >> 16) & 0xff;
	b[2] = (v >> 8) & 0xff;
	b[3] = v & 0xff;
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* ---------------------------------------------------------------- sums */

static uint32_t csum_add(uint32_t sum, const uint8_t *d, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(d + i);
	if (len & 1)
		sum += (uint32_t)d[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t pkt_inet_csum(const void *data, size_t len)
{
	return csum_fold(csum_add(0, data, len));
}

/*
 * Sum of pseudo-header and L4 bytes (checksum field included as it is), so
 * the same function both fills a zeroed field and checks a filled one: a
 * right checksum folds to 0.
 */
static uint16_t l4_sum(const uint8_t *ip, int family, uint8_t proto, const uint8_t *l4,
		       size_t l4len)
{
	uint8_t ph[8];
	uint32_t sum = 0;

	if (family == AF_INET) {
		sum = csum_add(sum, ip + 12, 8);
		ph[0] = 0;
		ph[1] = proto;
		put16(ph + 2, (uint16_t)l4len);
		sum = csum_add(sum, ph, 4);
	} else {
		sum = csum_add(sum, ip + 8, 32);
		put32(ph, (uint32_t)l4len);
		ph[4] = ph[5] = ph[6] = 0;
		ph[7] = proto;
		sum = csum_add(sum, ph, 8);
	}
	return csum_fold(csum_add(sum, l4, l4len));
}

/* ------------------------------------------------------------- builder */

static int fail(struct pkt *p, int err, const char *msg)
{
	if (!p->err) {
		p->err = err;
		p->errmsg = msg;
	}
	return p->err;
}

void pkt_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
}

static int last_type(const struct pkt *p)
{
	return p->nlayers ? p->layer[p->nlayers - 1].type : 0;
}

/* What may directly precede each header; 0 stands for "nothing". */
static bool may_follow(int prev, int type)
{
	switch (type) {
	case PKT_L_ETH:
		return prev == 0;
	case PKT_L_VLAN:
	case PKT_L_PPPOE:
		return prev == PKT_L_ETH || prev == PKT_L_VLAN;
	case PKT_L_MPLS:
		return prev == PKT_L_ETH || prev == PKT_L_VLAN || prev == PKT_L_MPLS;
	case PKT_L_IPV4:
	case PKT_L_IPV6:
		return prev == 0 || prev == PKT_L_ETH || prev == PKT_L_VLAN ||
		       prev == PKT_L_PPPOE || prev == PKT_L_MPLS || prev == PKT_L_IPV4 ||
		       prev == PKT_L_IPV6 || prev == PKT_L_IPV6_EXT;
	case PKT_L_IPV6_EXT:
		return prev == PKT_L_IPV6 || prev == PKT_L_IPV6_EXT;
	case PKT_L_TCP:
	case PKT_L_UDP:
		return prev == PKT_L_IPV4 || prev == PKT_L_IPV6 || prev == PKT_L_IPV6_EXT;
	case PKT_L_PAYLOAD:
		return true;
	}
	return false;
}

/*
 * Append a header of n zeroed bytes after checking order and room; fills
 * the previous header's next-protocol field with the value that names this
 * one. Returns the header's offset, or (size_t)-1 after recording an error.
 */
static size_t push(struct pkt *p, int type, size_t n, uint16_t ethertype, uint16_t ppp, int ipproto,
		   const char *who)
{
	size_t off = p->len;

	if (p->err)
		return (size_t)-1;
	if (p->trailer) {
		fail(p, -EINVAL, who);
		return (size_t)-1;
	}
	if (!may_follow(last_type(p), type)) {
		fail(p, -EINVAL, who);
		return (size_t)-1;
	}
	if (p->nlayers == PKT_MAX_LAYERS || PKT_MAX - p->len < n) {
		fail(p, -ENOSPC, who);
		return (size_t)-1;
	}
	if (p->slot_auto) {
		switch (p->slot_kind) {
		case SLOT_ETHERTYPE:
			if (ethertype)
				put16(p->buf + p->slot_off, ethertype);
			break;
		case SLOT_PPP:
			if (ppp)
				put16(p->buf + p->slot_off, ppp);
			break;
		case SLOT_IPPROTO:
			if (ipproto >= 0)
				p->buf[p->slot_off] = (uint8_t)ipproto;
			break;
		}
	}
	memset(p->buf + off, 0, n);
	p->len += n;
	p->layer[p->nlayers].type = (uint8_t)type;
	p->layer[p->nlayers].auto_bos = false;
	p->layer[p->nlayers].off = (uint16_t)off;
	p->nlayers++;
	return off;
}

static void set_slot(struct pkt *p, int kind, size_t off, bool is_auto)
{
	p->slot_kind = kind;
	p->slot_off = off;
	p->slot_auto = is_auto;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (v[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

int pkt_eth(struct pkt *p, const char *dst_mac, const char *src_mac)
{
	static const uint8_t def_dst[6] = {2, 0, 0, 0, 0, 2};
	static const uint8_t def_src[6] = {2, 0, 0, 0, 0, 1};
	uint8_t dst[6], src[6];
	size_t off;

	memcpy(dst, def_dst, 6);
	memcpy(src, def_src, 6);
	if ((dst_mac && parse_mac(dst_mac, dst)) || (src_mac && parse_mac(src_mac, src)))
		return fail(p, -EINVAL, "pkt_eth: bad MAC address");
	off = push(p, PKT_L_ETH, 14, 0, 0, -1, "pkt_eth: must come first, once");
	if (off == (size_t)-1)
		return p->err;
	memcpy(p->buf + off, dst, 6);
	memcpy(p->buf + off + 6, src, 6);
	put16(p->buf + off + 12, ETHERTYPE_NONE);
	set_slot(p, SLOT_ETHERTYPE, off + 12, true);
	p->l2_off = off;
	return 0;
}

int pkt_vlan(struct pkt *p, uint16_t tpid, uint16_t vid)
{
	size_t off;

	if (vid > 4095)
		return fail(p, -EINVAL, "pkt_vlan: vid over 4095");
	off = push(p, PKT_L_VLAN, 4, tpid, 0, -1, "pkt_vlan: must follow Ethernet or VLAN");
	if (off == (size_t)-1)
		return p->err;
	put16(p->buf + off, vid);
	put16(p->buf + off + 2, ETHERTYPE_NONE);
	set_slot(p, SLOT_ETHERTYPE, off + 2, true);
	return 0;
}

static int pppoe(struct pkt *p, uint16_t session_id, int ppp_proto)
{
	size_t off;

	off = push(p, PKT_L_PPPOE, 8, ETHERTYPE_PPPOE, 0, -1,
		   "pkt_pppoe: must follow Ethernet or VLAN");
	if (off == (size_t)-1)
		return p->err;
	p->buf[off] = 0x11;	/* version 1, type 1 */
	p->buf[off + 1] = 0x00; /* code: session data */
	put16(p->buf + off + 2, session_id);
	/* length filled by pkt_finish */
	if (ppp_proto >= 0) {
		put16(p->buf + off + 6, (uint16_t)ppp_proto);
		set_slot(p, SLOT_PPP, off + 6, false);
	} else {
		put16(p->buf + off + 6, PKT_PPP_IPV4);
		set_slot(p, SLOT_PPP, off + 6, true);
	}
	return 0;
}

int pkt_pppoe(struct pkt *p, uint16_t session_id)
{
	return pppoe(p, session_id, PKT_AUTO);
}

int pkt_pppoe_proto(struct pkt *p, uint16_t session_id, uint16_t ppp_proto)
{
	return pppoe(p, session_id, ppp_proto);
}

int pkt_mpls(struct pkt *p, uint32_t label, int bos)
{
	size_t off;

	if (label > 0xfffff)
		return fail(p, -EINVAL, "pkt_mpls: label over 20 bits");
	off = push(p, PKT_L_MPLS, 4, ETHERTYPE_MPLS, 0, -1,
		   "pkt_mpls: must follow Ethernet, VLAN or MPLS");
	if (off == (size_t)-1)
		return p->err;
	put32(p->buf + off, label << 12 | (bos > 0 ? 1u << 8 : 0) | 64);
	p->layer[p->nlayers - 1].auto_bos = bos == PKT_AUTO;
	/* MPLS names no payload type: the IP version nibble does. */
	set_slot(p, SLOT_NONE, 0, false);
	return 0;
}

static void ip_pushed(struct pkt *p, int family, size_t off, size_t proto_off, int proto)
{
	p->family = family;
	p->l3_off = off;
	p->l4_proto = 0;
	p->l4_off = p->l7_off = 0;
	if (proto >= 0) {
		p->buf[proto_off] = (uint8_t)proto;
		set_slot(p, SLOT_IPPROTO, proto_off, false);
	} else {
		p->buf[proto_off] = IPPROTO_NONE_;
		set_slot(p, SLOT_IPPROTO, proto_off, true);
	}
}

int pkt_ipv4(struct pkt *p, const char *src, const char *dst, int proto,
	     const struct pkt_ipv4_opts *o)
{
	static const struct pkt_ipv4_opts defaults;
	struct in_addr s, d;
	size_t optlen, off;
	uint16_t frag;

	if (!o)
		o = &defaults;
	if (inet_pton(AF_INET, src, &s) != 1 || inet_pton(AF_INET, dst, &d) != 1)
		return fail(p, -EINVAL, "pkt_ipv4: bad address");
	if (o->options_len > 40 || (o->options_len && !o->options))
		return fail(p, -EINVAL, "pkt_ipv4: options over 40 bytes");
	if (o->frag_offset % 8)
		return fail(p, -EINVAL, "pkt_ipv4: frag_offset not a multiple of 8");
	if (proto > 255)
		return fail(p, -EINVAL, "pkt_ipv4: proto over 255");
	optlen = (o->options_len + 3) & ~(size_t)3;
	off = push(p, PKT_L_IPV4, 20 + optlen, ETHERTYPE_IPV4, PKT_PPP_IPV4, IPPROTO_IPIP,
		   "pkt_ipv4: misplaced");
	if (off == (size_t)-1)
		return p->err;
	p->buf[off] = (uint8_t)(0x40 | (20 + optlen) / 4);
	p->buf[off + 1] = o->tos;
	put16(p->buf + off + 4, o->id);
	frag = (uint16_t)(o->frag_offset / 8);
	if (o->df)
		frag |= 0x4000;
	if (o->mf)
		frag |= 0x2000;
	put16(p->buf + off + 6, frag);
	p->buf[off + 8] = o->ttl ? o->ttl : 64;
	memcpy(p->buf + off + 12, &s, 4);
	memcpy(p->buf + off + 16, &d, 4);
	if (o->options_len)
		memcpy(p->buf + off + 20, o->options, o->options_len);
	ip_pushed(p, AF_INET, off, off + 9, proto);
	return 0;
}

int pkt_ipv6(struct pkt *p, const char *src, const char *dst, int next)
{
	struct in6_addr s, d;
	size_t off;

	if (inet_pton(AF_INET6, src, &s) != 1 || inet_pton(AF_INET6, dst, &d) != 1)
		return fail(p, -EINVAL, "pkt_ipv6: bad address");
	if (next > 255)
		return fail(p, -EINVAL, "pkt_ipv6: next over 255");
	off = push(p, PKT_L_IPV6, 40, ETHERTYPE_IPV6, PKT_PPP_IPV6, IPPROTO_IPV6,
		   "pkt_ipv6: misplaced");
	if (off == (size_t)-1)
		return p->err;
	p->buf[off] = 0x60;
	p->buf[off + 7] = 64;
	memcpy(p->buf + off + 8, &s, 16);
	memcpy(p->buf + off + 24, &d, 16);
	ip_pushed(p, AF_INET6, off, off + 6, next);
	return 0;
}

int pkt_ip(struct pkt *p, const char *src, const char *dst, int proto)
{
	if (src && strchr(src, ':'))
		return pkt_ipv6(p, src, dst, proto);
	return pkt_ipv4(p, src ? src : "", dst, proto, NULL);
}

int pkt_ipv6_ext(struct pkt *p, uint8_t type, const struct pkt_ipv6_ext_opts *o)
{
	static const struct pkt_ipv6_ext_opts defaults;
	size_t len, off;
	uint8_t *h;

	if (!o)
		o = &defaults;
	if (type == IPPROTO_FRAGMENT)
		len = 8;
	else if (o->len)
		len = o->len;
	else
		len = type == IPPROTO_ROUTING ? 24 : 8;
	if (len % 8 || len > 2048)
		return fail(p, -EINVAL, "pkt_ipv6_ext: len not a multiple of 8");
	if (o->frag_offset % 8)
		return fail(p, -EINVAL, "pkt_ipv6_ext: frag_offset not a multiple of 8");
	off = push(p, PKT_L_IPV6_EXT, len, 0, 0, type,
		   "pkt_ipv6_ext: must follow IPv6 or an extension header");
	if (off == (size_t)-1)
		return p->err;
	h = p->buf + off;
	switch (type) {
	case IPPROTO_FRAGMENT:
		put16(h + 2, (uint16_t)(o->frag_offset | (o->more ? 1 : 0)));
		put32(h + 4, o->frag_id);
		break;
	case IPPROTO_ROUTING:
		h[1] = (uint8_t)(len / 8 - 1);
		h[2] = o->routing_type ? o->routing_type : 4;
		h[3] = o->segments_left;
		/* Segment routing: every segment is the IPv6 destination,
		 * so with segments_left 0 the header is consistent and the
		 * final destination (the pseudo-header's) is the same
		 * whichever one a checker reads. */
		if (h[2] == 4 && len >= 24) {
			size_t s, n = (len - 8) / 16;

			h[4] = (uint8_t)(n - 1);
			for (s = 0; s < n; s++)
				memcpy(h + 8 + 16 * s, p->buf + p->l3_off + 24, 16);
		}
		break;
	default:
		/* hop-by-hop, destination options and the like: fill the
		 * body with one PadN option so every parser accepts it */
		h[1] = (uint8_t)(len / 8 - 1);
		h[2] = 1;
		h[3] = (uint8_t)(len - 4);
		break;
	}
	/* the next-header field is always the first byte */
	p->buf[off] = IPPROTO_NONE_;
	set_slot(p, SLOT_IPPROTO, off, true);
	return 0;
}

int pkt_ipv6_frag(struct pkt *p, uint16_t frag_offset, bool more, uint32_t id)
{
	struct pkt_ipv6_ext_opts o = {
		.frag_offset = frag_offset,
		.more = more,
		.frag_id = id,
	};

	return pkt_ipv6_ext(p, IPPROTO_FRAGMENT, &o);
}

static void l4_pushed(struct pkt *p, size_t off, uint8_t proto, size_t hlen)
{
	p->l4_off = off;
	p->l4_proto = proto;
	p->l7_off = off + hlen;
	/* nothing after L4 names a protocol */
	set_slot(p, SLOT_NONE, 0, false);
}

int pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
	    uint32_t ack)
{
	size_t off;

	off = push(p, PKT_L_TCP, 20, 0, 0, IPPROTO_TCP, "pkt_tcp: must follow an IP header");
	if (off == (size_t)-1)
		return p->err;
	put16(p->buf + off, sport);
	put16(p->buf + off + 2, dport);
	put32(p->buf + off + 4, seq);
	put32(p->buf + off + 8, ack);
	p->buf[off + 12] = 5 << 4;
	p->buf[off + 13] = flags;
	put16(p->buf + off + 14, 64240);
	l4_pushed(p, off, IPPROTO_TCP, 20);
	return 0;
}

int pkt_tcp_options(struct pkt *p, const uint8_t *opts, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;
	size_t hlen;

	if (p->err)
		return p->err;
	if (last_type(p) != PKT_L_TCP)
		return fail(p, -EINVAL, "pkt_tcp_options: must follow pkt_tcp");
	hlen = p->len - p->l4_off;
	if (hlen + padded > 60)
		return fail(p, -EINVAL, "pkt_tcp_options: header over 60 bytes");
	if (PKT_MAX - p->len < padded)
		return fail(p, -ENOSPC, "pkt_tcp_options: no room");
	memcpy(p->buf + p->len, opts, len);
	/* pad with EOL (0), which also ends option parsing */
	memset(p->buf + p->len + len, 0, padded - len);
	p->len += padded;
	hlen += padded;
	p->buf[p->l4_off + 12] = (uint8_t)(hlen / 4) << 4;
	p->l7_off = p->len;
	return 0;
}

int pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	size_t off;

	off = push(p, PKT_L_UDP, 8, 0, 0, IPPROTO_UDP, "pkt_udp: must follow an IP header");
	if (off == (size_t)-1)
		return p->err;
	put16(p->buf + off, sport);
	put16(p->buf + off + 2, dport);
	l4_pushed(p, off, IPPROTO_UDP, 8);
	return 0;
}

int pkt_payload(struct pkt *p, const void *data, size_t len)
{
	size_t off;

	if (p->err)
		return p->err;
	if (last_type(p) == PKT_L_PAYLOAD) {
		/* consecutive payload calls extend one layer */
		if (p->trailer)
			return fail(p, -EINVAL, "pkt_payload: after pkt_pad");
		if (PKT_MAX - p->len < len)
			return fail(p, -ENOSPC, "pkt_payload: no room");
		off = p->len;
		p->len += len;
	} else {
		off = push(p, PKT_L_PAYLOAD, len, 0, 0, -1, "pkt_payload: no room");
		if (off == (size_t)-1)
			return p->err;
		if (!p->l7_off)
			p->l7_off = off;
	}
	if (len)
		memcpy(p->buf + off, data, len);
	return 0;
}

int pkt_set_next(struct pkt *p, uint16_t value)
{
	if (p->err)
		return p->err;
	switch (p->slot_kind) {
	case SLOT_ETHERTYPE:
	case SLOT_PPP:
		put16(p->buf + p->slot_off, value);
		break;
	case SLOT_IPPROTO:
		if (value > 255)
			return fail(p, -EINVAL, "pkt_set_next: over 255");
		p->buf[p->slot_off] = (uint8_t)value;
		break;
	default:
		return fail(p, -EINVAL, "pkt_set_next: no next-protocol field");
	}
	p->slot_auto = false;
	return 0;
}

int pkt_pad(struct pkt *p, size_t min_len)
{
	size_t n;

	if (p->err)
		return p->err;
	if (min_len > PKT_MAX)
		return fail(p, -ENOSPC, "pkt_pad: over PKT_MAX");
	if (p->len >= min_len)
		return 0;
	n = min_len - p->len;
	memset(p->buf + p->len, 0, n);
	p->len += n;
	p->trailer += n;
	return 0;
}

/* The IP header a transport header at layer i belongs to. */
static int owner_ip(const struct pkt *p, unsigned i)
{
	while (i-- > 0) {
		if (p->layer[i].type == PKT_L_IPV4 || p->layer[i].type == PKT_L_IPV6)
			return (int)i;
	}
	return -1;
}

int pkt_finish(struct pkt *p)
{
	size_t end, off, n;
	unsigned i;
	int ip;

	if (p->err)
		return p->err;
	end = p->len - p->trailer;
	for (i = 0; i < p->nlayers; i++) {
		if (p->layer[i].type != PKT_L_MPLS || !p->layer[i].auto_bos)
			continue;
		off = p->layer[i].off;
		if (i + 1 < p->nlayers && p->layer[i + 1].type == PKT_L_MPLS)
			p->buf[off + 2] &= (uint8_t)~1;
		else
			p->buf[off + 2] |= 1;
	}
	/* innermost first: an outer length or sum covers the inner ones */
	for (i = p->nlayers; i-- > 0;) {
		off = p->layer[i].off;
		n = end - off;
		switch (p->layer[i].type) {
		case PKT_L_TCP:
		case PKT_L_UDP: {
			uint8_t proto = p->layer[i].type == PKT_L_TCP ? IPPROTO_TCP : IPPROTO_UDP;
			size_t csum_at = proto == IPPROTO_TCP ? 16 : 6;
			uint16_t sum;

			if (n > 0xffff)
				return fail(p, -EMSGSIZE, "pkt_finish: L4 over 64k");
			ip = owner_ip(p, i);
			if (proto == IPPROTO_UDP)
				put16(p->buf + off + 4, (uint16_t)n);
			put16(p->buf + off + csum_at, 0);
			sum = l4_sum(p->buf + p->layer[ip].off,
				     p->layer[ip].type == PKT_L_IPV4 ? AF_INET : AF_INET6, proto,
				     p->buf + off, n);
			/* 0 means "no checksum" in UDP; all-ones is the same
			 * value in ones' complement */
			if (proto == IPPROTO_UDP && sum == 0)
				sum = 0xffff;
			put16(p->buf + off + csum_at, sum);
			break;
		}
		case PKT_L_IPV4: {
			size_t ihl = (size_t)(p->buf[off] & 0x0f) * 4;

			if (n > 0xffff)
				return fail(p, -EMSGSIZE, "pkt_finish: IPv4 over 64k");
			put16(p->buf + off + 2, (uint16_t)n);
			put16(p->buf + off + 10, 0);
			put16(p->buf + off + 10, pkt_inet_csum(p->buf + off, ihl));
			break;
		}
		case PKT_L_IPV6:
			if (n - 40 > 0xffff)
				return fail(p, -EMSGSIZE, "pkt_finish: IPv6 over 64k");
			put16(p->buf + off + 4, (uint16_t)(n - 40));
			break;
		case PKT_L_PPPOE:
			put16(p->buf + off + 4, (uint16_t)(n - 6));
			break;
		}
	}
	return 0;
}

const char *const pkt_encap_names[PKT_ENC_N] = {"plain", "vlan",       "qinq",	   "pppoe",
						"mpls",	 "vlan+pppoe", "vlan+mpls"};

int pkt_l2_encap(struct pkt *p, enum pkt_encap e)
{
	pkt_eth(p, "02:00:00:00:00:02", "02:00:00:00:00:01");
	if (e == PKT_ENC_VLAN || e == PKT_ENC_VLAN_PPPOE || e == PKT_ENC_VLAN_MPLS)
		pkt_vlan(p, PKT_TPID_8021Q, 100);
	if (e == PKT_ENC_QINQ) {
		pkt_vlan(p, PKT_TPID_8021AD, 200);
		pkt_vlan(p, PKT_TPID_8021Q, 300);
	}
	if (e == PKT_ENC_PPPOE || e == PKT_ENC_VLAN_PPPOE)
		pkt_pppoe(p, 0x1234);
	if (e == PKT_ENC_MPLS || e == PKT_ENC_VLAN_MPLS) {
		pkt_mpls(p, 1000, 0);
		pkt_mpls(p, 2000, 1);
	}
	return p->err;
}

int pkt_simple_tcp(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	pkt_init(p);
	pkt_eth(p, NULL, NULL);
	pkt_ip(p, src, dst, PKT_AUTO);
	return pkt_tcp(p, sport, dport, PKT_TCP_PSH | PKT_TCP_ACK, 1, 1);
}

int pkt_simple_udp(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	pkt_init(p);
	pkt_eth(p, NULL, NULL);
	pkt_ip(p, src, dst, PKT_AUTO);
	return pkt_udp(p, sport, dport);
}

/* The family-specific helpers exist so that a typo in an address is an
 * error, not a silent switch to the other family. */
int pkt_simple_v4_tcp(struct pkt *p, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport)
{
	pkt_init(p);
	pkt_eth(p, NULL, NULL);
	pkt_ipv4(p, src, dst, PKT_AUTO, NULL);
	return pkt_tcp(p, sport, dport, PKT_TCP_PSH | PKT_TCP_ACK, 1, 1);
}

int pkt_simple_v6_tcp(struct pkt *p, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport)
{
	pkt_init(p);
	pkt_eth(p, NULL, NULL);
	pkt_ipv6(p, src, dst, PKT_AUTO);
	return pkt_tcp(p, sport, dport, PKT_TCP_PSH | PKT_TCP_ACK, 1, 1);
}

int pkt_simple_v4_udp(struct pkt *p, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport)
{
	pkt_init(p);
	pkt_eth(p, NULL, NULL);
	pkt_ipv4(p, src, dst, PKT_AUTO, NULL);
	return pkt_udp(p, sport, dport);
}

int pkt_simple_v6_udp(struct pkt *p, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport)
{
	pkt_init(p);
	pkt_eth(p, NULL, NULL);
	pkt_ipv6(p, src, dst, PKT_AUTO);
	return pkt_udp(p, sport, dport);
}

int pkt_fragment(const struct pkt *whole, size_t offset, size_t len, uint32_t id, struct pkt *out)
{
	struct pkt w;
	size_t hdr_end, total, slot = 0;
	unsigned i, ip_i = 0;
	bool have_ip = false, more;
	uint8_t upper;

	w = *whole;
	if (pkt_finish(&w))
		return w.err;
	for (i = 0; i < w.nlayers; i++) {
		if (w.layer[i].type == PKT_L_IPV4 || w.layer[i].type == PKT_L_IPV6) {
			ip_i = i;
			have_ip = true;
		}
	}
	pkt_init(out);
	if (!have_ip || w.trailer)
		return fail(out, -EINVAL, "pkt_fragment: no IP header, or padded");
	/* The unfragmentable part: L2 + the IP header + (IPv6) every
	 * extension header; the rest is the fragmentable payload. */
	if (w.layer[ip_i].type == PKT_L_IPV4) {
		hdr_end = w.layer[ip_i].off + (size_t)(w.buf[w.layer[ip_i].off] & 0x0f) * 4;
	} else {
		slot = w.layer[ip_i].off + 6;
		for (i = ip_i + 1; i < w.nlayers && w.layer[i].type == PKT_L_IPV6_EXT; i++)
			slot = w.layer[i].off;
		hdr_end = i < w.nlayers ? w.layer[i].off : w.len;
	}
	total = w.len - hdr_end;
	if (offset % 8 || offset > total || len > total - offset)
		return fail(out, -EINVAL, "pkt_fragment: bad offset or length");
	more = offset + len < total;
	if (more && len % 8)
		return fail(out, -EINVAL, "pkt_fragment: non-last length not a multiple of 8");
	if (hdr_end + 8 + len > PKT_MAX)
		return fail(out, -ENOSPC, "pkt_fragment: no room");

	memcpy(out->buf, w.buf, hdr_end);
	for (i = 0; i < w.nlayers && w.layer[i].off < hdr_end; i++)
		out->layer[i] = w.layer[i];
	out->nlayers = i;
	out->len = hdr_end;
	out->l2_off = w.l2_off;
	out->l3_off = w.layer[ip_i].off;
	out->family = w.layer[ip_i].type == PKT_L_IPV4 ? AF_INET : AF_INET6;
	if (out->family == AF_INET) {
		uint8_t *h = out->buf + out->l3_off;
		uint16_t frag = get16(h + 6) & 0x8000; /* keep reserved bit */

		put16(h + 6, (uint16_t)(frag | (more ? 0x2000 : 0) | offset / 8));
	} else {
		uint8_t *f = out->buf + hdr_end;

		upper = out->buf[slot];
		out->buf[slot] = IPPROTO_FRAGMENT;
		memset(f, 0, 8);
		f[0] = upper;
		put16(f + 2, (uint16_t)(offset | (more ? 1 : 0)));
		put32(f + 4, id);
		out->layer[out->nlayers].type = PKT_L_IPV6_EXT;
		out->layer[out->nlayers].off = (uint16_t)hdr_end;
		out->nlayers++;
		out->len += 8;
	}
	out->layer[out->nlayers].type = PKT_L_PAYLOAD;
	out->layer[out->nlayers].off = (uint16_t)out->len;
	out->nlayers++;
	memcpy(out->buf + out->len, w.buf + hdr_end + offset, len);
	out->l7_off = out->len;
	out->len += len;
	return pkt_finish(out);
}

/* ------------------------------------------------------- DNS, TLS, HTTP */

int dns_name_encode(const char *name, uint8_t *out, size_t cap)
{
	uint8_t wire[256];
	size_t n = 0, lab = 0; /* lab: where the current length byte is */
	const char *s = name;

	if (!strcmp(name, ".") || !*name)
		goto root;
	wire[n++] = 0;
	while (*s) {
		int c = (unsigned char)*s++;

		if (c == '.') {
			if (n - lab - 1 == 0)
				return -EINVAL; /* empty label */
			if (!*s)
				break; /* trailing dot */
			lab = n;
			wire[n++] = 0;
			continue;
		}
		if (c == '\\') {
			if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
			    isdigit((unsigned char)s[2])) {
				c = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
				if (c > 255)
					return -EINVAL;
				s += 3;
			} else if (*s) {
				c = (unsigned char)*s++;
			} else {
				return -EINVAL;
			}
		}
		if (n >= 254 || n - lab > 63)
			return -EINVAL;
		wire[n++] = (uint8_t)c;
		wire[lab] = (uint8_t)(n - lab - 1);
	}
	if (n - lab - 1 == 0)
		return -EINVAL;
root:
	wire[n++] = 0;
	if (n > 255)
		return -EINVAL;
	if (n > cap)
		return -ENOSPC;
	memcpy(out, wire, n);
	return (int)n;
}

int dns_query_bytes(uint8_t *out, size_t cap, const char *name, uint16_t qtype, uint16_t id,
		    uint16_t flags, bool with_edns)
{
	size_t need;
	int nl;

	if (cap < 12)
		return -ENOSPC;
	nl = dns_name_encode(name, out + 12, cap - 12);
	if (nl < 0)
		return nl;
	need = 12 + (size_t)nl + 4 + (with_edns ? 11 : 0);
	if (need > cap)
		return -ENOSPC;
	put16(out, id);
	put16(out + 2, flags);
	put16(out + 4, 1);
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, with_edns ? 1 : 0);
	put16(out + 12 + nl, qtype);
	put16(out + 14 + nl, DNS_CLASS_IN);
	if (with_edns) {
		uint8_t *o = out + 16 + nl;

		o[0] = 0; /* root owner */
		put16(o + 1, DNS_TYPE_OPT);
		put16(o + 3, DNS_EDNS_UDP_SIZE); /* class: UDP size */
		put32(o + 5, 0);		 /* ext rcode, version, DO */
		put16(o + 9, 0);		 /* no options */
	}
	return (int)need;
}

int dns_query(struct pkt *p, const char *name, uint16_t qtype, uint16_t id, uint16_t flags,
	      bool with_edns)
{
	uint8_t m[512];
	int n;

	if (p->err)
		return p->err;
	n = dns_query_bytes(m, sizeof(m), name, qtype, id, flags, with_edns);
	if (n < 0)
		return fail(p, n, "dns_query: bad name");
	return pkt_payload(p, m, (size_t)n);
}

int dns_query_tcp(struct pkt *p, const char *name, uint16_t qtype, uint16_t id, uint16_t flags,
		  bool with_edns)
{
	uint8_t m[2 + 512];
	int n;

	if (p->err)
		return p->err;
	n = dns_query_bytes(m + 2, sizeof(m) - 2, name, qtype, id, flags, with_edns);
	if (n < 0)
		return fail(p, n, "dns_query_tcp: bad name");
	put16(m, (uint16_t)n);
	return pkt_payload(p, m, (size_t)n + 2);
}

/* A growing byte string with sticky overflow, for the ClientHello. */
struct wbuf {
	uint8_t *b;
	size_t n, cap;
	bool over;
};

static void w_bytes(struct wbuf *w, const void *d, size_t len)
{
	if (w->over || w->cap - w->n < len) {
		w->over = true;
		return;
	}
	if (d)
		memcpy(w->b + w->n, d, len);
	else
		memset(w->b + w->n, 0, len);
	w->n += len;
}

static void w_u8(struct wbuf *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void w_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	w_bytes(w, b, 2);
}

/* Start a length-prefixed block; w_end() writes its length. */
static size_t w_begin(struct wbuf *w, size_t lenbytes)
{
	size_t at = w->n;

	w_bytes(w, NULL, lenbytes);
	return at;
}

static void w_end(struct wbuf *w, size_t at, size_t lenbytes)
{
	size_t len;

	if (w->over)
		return;
	len = w->n - at - lenbytes;
	if (lenbytes == 1)
		w->b[at] = (uint8_t)len;
	else if (lenbytes == 2)
		put16(w->b + at, (uint16_t)len);
	else {
		w->b[at] = (uint8_t)(len >> 16);
		put16(w->b + at + 1, (uint16_t)len);
	}
}

static void w_pattern(struct wbuf *w, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		w_u8(w, (uint8_t)(seed + i * 37));
}

static void ext_sni(struct wbuf *w, const char *sni)
{
	size_t e, l, n;

	w_u16(w, 0); /* server_name */
	e = w_begin(w, 2);
	l = w_begin(w, 2); /* server_name_list */
	w_u8(w, 0);	   /* host_name */
	n = w_begin(w, 2);
	w_bytes(w, sni, strlen(sni));
	w_end(w, n, 2);
	w_end(w, l, 2);
	w_end(w, e, 2);
}

static void ext_key_share(struct wbuf *w, size_t klen)
{
	size_t e, l, k;

	w_u16(w, 51); /* key_share */
	e = w_begin(w, 2);
	l = w_begin(w, 2);
	/* X25519 for the usual size, else the X25519Kyber768 draft group */
	w_u16(w, klen == 32 ? 0x001d : 0x6399);
	k = w_begin(w, 2);
	w_pattern(w, klen, 0x55);
	w_end(w, k, 2);
	w_end(w, l, 2);
	w_end(w, e, 2);
}

int tls_client_hello_bytes(uint8_t *out, size_t cap, const struct tls_ch_opts *o)
{
	static const uint16_t suites[] = {
		0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8,
		0xccaa, 0xc02b, 0xc02f, 0x009e, 0xc024, 0xc028, 0x00ff,
	};
	static const uint16_t groups[] = {
		0x001d, 0x0017, 0x001e, 0x0019, 0x0018,
	};
	static const uint16_t sigalgs[] = {
		0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0809, 0x080a,
		0x080b, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601,
	};
	static const struct tls_ch_opts defaults;
	uint8_t hs[PKT_MAX];
	struct wbuf w = {hs, 0, sizeof(hs), false};
	struct wbuf r = {out, 0, cap, false};
	size_t klen, hlen, sl, el, e, l, i, body, at;
	const char *alpn;

	if (!o)
		o = &defaults;
	klen = o->key_share_len ? o->key_share_len : 32;
	alpn = o->alpn ? o->alpn : "h2,http/1.1";

	w_u8(&w, 1); /* client_hello */
	hlen = w_begin(&w, 3);
	w_u16(&w, 0x0303);	 /* legacy_version TLS 1.2 */
	w_pattern(&w, 32, 0x11); /* random */
	w_u8(&w, 32);		 /* legacy_session_id */
	w_pattern(&w, 32, 0x22);
	sl = w_begin(&w, 2);
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		w_u16(&w, suites[i]);
	w_end(&w, sl, 2);
	w_u8(&w, 1); /* compression: null only */
	w_u8(&w, 0);

	el = w_begin(&w, 2);
	if (o->ech) {
		w_u16(&w, 0xfe0d); /* encrypted_client_hello, outer */
		e = w_begin(&w, 2);
		w_u8(&w, 0);	   /* ClientHelloType outer */
		w_u16(&w, 0x0001); /* HKDF-SHA256 */
		w_u16(&w, 0x0001); /* AES-128-GCM */
		w_u8(&w, 0x42);	   /* config_id */
		w_u16(&w, 32);	   /* enc */
		w_pattern(&w, 32, 0x66);
		w_u16(&w, 144); /* payload */
		w_pattern(&w, 144, 0x77);
		w_end(&w, e, 2);
	}
	if (o->sni && !o->sni_last)
		ext_sni(&w, o->sni);
	w_u16(&w, 11); /* ec_point_formats */
	w_u16(&w, 4);
	w_u8(&w, 3);
	w_u8(&w, 0);
	w_u8(&w, 1);
	w_u8(&w, 2);
	w_u16(&w, 10); /* supported_groups */
	e = w_begin(&w, 2);
	l = w_begin(&w, 2);
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		w_u16(&w, groups[i]);
	w_end(&w, l, 2);
	w_end(&w, e, 2);
	w_u16(&w, 35); /* session_ticket, empty */
	w_u16(&w, 0);
	if (*alpn) {
		const char *s = alpn;

		w_u16(&w, 16); /* ALPN */
		e = w_begin(&w, 2);
		l = w_begin(&w, 2);
		while (*s) {
			size_t n = strcspn(s, ",");

			w_u8(&w, (uint8_t)n);
			w_bytes(&w, s, n);
			s += n;
			if (*s)
				s++;
		}
		w_end(&w, l, 2);
		w_end(&w, e, 2);
	}
	w_u16(&w, 22); /* encrypt_then_mac */
	w_u16(&w, 0);
	w_u16(&w, 23); /* extended_master_secret */
	w_u16(&w, 0);
	w_u16(&w, 13); /* signature_algorithms */
	e = w_begin(&w, 2);
	l = w_begin(&w, 2);
	for (i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
		w_u16(&w, sigalgs[i]);
	w_end(&w, l, 2);
	w_end(&w, e, 2);
	if (!o->tls12) {
		w_u16(&w, 43); /* supported_versions */
		w_u16(&w, 5);
		w_u8(&w, 4);
		w_u16(&w, 0x0304);
		w_u16(&w, 0x0303);
		w_u16(&w, 45); /* psk_key_exchange_modes */
		w_u16(&w, 2);
		w_u8(&w, 1);
		w_u8(&w, 1); /* psk_dhe_ke */
		ext_key_share(&w, klen);
	}
	if (o->sni && o->sni_last)
		ext_sni(&w, o->sni);
	/* padding (RFC 7685) last, sized so the message reaches pad_to */
	if (!w.over && o->pad_to > w.n + 4) {
		size_t pad = o->pad_to - w.n - 4;

		w_u16(&w, 21);
		w_u16(&w, (uint16_t)pad);
		w_bytes(&w, NULL, pad);
	}
	w_end(&w, el, 2);
	w_end(&w, hlen, 3);
	if (w.over)
		return -ENOSPC;

	/* TLS records of at most max_record bytes of handshake each */
	body = o->max_record ? o->max_record : 16384;
	for (at = 0; at < w.n; at += body) {
		size_t n = w.n - at < body ? w.n - at : body;

		w_u8(&r, 22);	   /* handshake */
		w_u16(&r, 0x0301); /* record version, as clients send */
		w_u16(&r, (uint16_t)n);
		w_bytes(&r, hs + at, n);
	}
	return r.over ? -ENOSPC : (int)r.n;
}

int tls_client_hello_ex(struct pkt *p, const struct tls_ch_opts *o)
{
	uint8_t m[PKT_MAX];
	int n;

	if (p->err)
		return p->err;
	n = tls_client_hello_bytes(m, sizeof(m), o);
	if (n < 0)
		return fail(p, n, "tls_client_hello: does not fit");
	return pkt_payload(p, m, (size_t)n);
}

int tls_client_hello(struct pkt *p, const char *sni)
{
	struct tls_ch_opts o = {.sni = sni};

	return tls_client_hello_ex(p, &o);
}

int http_get_bytes(uint8_t *out, size_t cap, const char *host, const char *path)
{
	int n;

	if (host)
		n = snprintf((char *)out, cap,
			     "GET %s HTTP/1.1\r\nHost: %s\r\n"
			     "User-Agent: tapis-test/1\r\nAccept: */*\r\n\r\n",
			     path ? path : "/", host);
	else
		n = snprintf((char *)out, cap,
			     "GET %s HTTP/1.1\r\n"
			     "User-Agent: tapis-test/1\r\nAccept: */*\r\n\r\n",
			     path ? path : "/");
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

int http_get(struct pkt *p, const char *host, const char *path)
{
	char m[PKT_MAX];
	int n;

	if (p->err)
		return p->err;
	n = http_get_bytes((uint8_t *)m, sizeof(m), host, path);
	if (n < 0)
		return fail(p, n, "http_get: does not fit");
	return pkt_payload(p, m, (size_t)n);
}

/* ----------------------------------------------------------- parse back */

static int bad(struct pkt_view *v, const char *why)
{
	v->err = why;
	return -EBADMSG;
}

/*
 * A length field claims more than was captured (snaplen, fuzzing, a lying
 * program): note it, go on within what is there, fail at the end. Tests of
 * our own output still see the failure; corpus frames still get a tuple.
 */
static void soft(struct pkt_view *v, const char *why)
{
	if (!v->err)
		v->err = why;
}

static bool is_ext_hdr(uint8_t t)
{
	return t == IPPROTO_HOPOPTS || t == IPPROTO_ROUTING || t == IPPROTO_DSTOPTS ||
	       t == IPPROTO_FRAGMENT || t == IPPROTO_AH || t == 135 /* mobility */ ||
	       t == 139 /* HIP */ || t == 140 /* shim6 */;
}

/*
 * Walk one IP header at `off` (bounded by `end`) and whatever it carries.
 * Recurses once per IP-in-IP level, capped by PKT_VIEW_MAX_IP.
 */
static int parse_ip(struct pkt_view *v, size_t off, size_t end)
{
	const uint8_t *d = v->data;
	size_t l4, l3_end;
	uint8_t proto;

	if (v->ip_n == PKT_VIEW_MAX_IP)
		return bad(v, "too many nested IP headers");
	if (end - off < 1)
		return bad(v, "truncated IP header");
	v->ip_off[v->ip_n++] = off;
	v->l3_off = off;
	v->ext_n = 0;
	v->frag = v->frag_more = false;
	v->frag_offset = v->frag_id = 0;

	if (d[off] >> 4 == 4) {
		size_t ihl, tot;
		uint16_t frag;

		if (end - off < 20)
			return bad(v, "truncated IPv4 header");
		ihl = (size_t)(d[off] & 0x0f) * 4;
		tot = get16(d + off + 2);
		if (ihl < 20 || tot < ihl || ihl > end - off)
			return bad(v, "IPv4 header length does not fit");
		if (tot > end - off) {
			soft(v, "IPv4 total length exceeds the frame");
			tot = end - off;
		}
		v->family = AF_INET;
		l3_end = off + tot;
		memset(v->src, 0, 16);
		memset(v->dst, 0, 16);
		memcpy(v->src, d + off + 12, 4);
		memcpy(v->dst, d + off + 16, 4);
		v->ttl = d[off + 8];
		v->ip_id = get16(d + off + 4);
		frag = get16(d + off + 6);
		v->frag_more = frag & 0x2000;
		v->frag_offset = (uint32_t)(frag & 0x1fff) * 8;
		v->frag = v->frag_more || v->frag_offset;
		v->frag_id = v->ip_id;
		proto = d[off + 9];
		l4 = off + ihl;
	} else if (d[off] >> 4 == 6) {
		if (end - off < 40)
			return bad(v, "truncated IPv6 header");
		v->family = AF_INET6;
		l3_end = off + 40 + get16(d + off + 4);
		if (l3_end > end) {
			soft(v, "IPv6 payload length exceeds the frame");
			l3_end = end;
		}
		memcpy(v->src, d + off + 8, 16);
		memcpy(v->dst, d + off + 24, 16);
		v->ttl = d[off + 7];
		v->ip_id = 0;
		proto = d[off + 6];
		l4 = off + 40;
		while (is_ext_hdr(proto)) {
			size_t hl;

			if (v->ext_n == PKT_VIEW_MAX_EXT)
				return bad(v, "too many IPv6 extension headers");
			if (l3_end - l4 < 8)
				return bad(v, "truncated IPv6 extension header");
			v->ext_type[v->ext_n++] = proto;
			if (proto == IPPROTO_FRAGMENT) {
				uint16_t fo = get16(d + l4 + 2);

				hl = 8;
				v->frag = true;
				v->frag_offset = fo & 0xfff8;
				v->frag_more = fo & 1;
				v->frag_id = get32(d + l4 + 4);
			} else if (proto == IPPROTO_AH) {
				hl = ((size_t)d[l4 + 1] + 2) * 4;
			} else {
				hl = ((size_t)d[l4 + 1] + 1) * 8;
			}
			if (hl > l3_end - l4)
				return bad(v, "IPv6 extension header does not fit");
			proto = d[l4];
			l4 += hl;
			/* a later fragment has no upper-layer header */
			if (v->frag && v->frag_offset)
				break;
		}
	} else {
		return bad(v, "IP version neither 4 nor 6");
	}
	inet_ntop(v->family, v->src, v->src_str, sizeof(v->src_str));
	inet_ntop(v->family, v->dst, v->dst_str, sizeof(v->dst_str));
	v->l3_end = l3_end;
	v->proto = proto;
	v->l4_off = l4;
	v->l7_off = l4;
	v->payload = d + l4;
	v->payload_len = l3_end - l4;
	if (v->frag && v->frag_offset)
		return v->err ? -EBADMSG : 0;

	if ((proto == IPPROTO_IPIP || proto == IPPROTO_IPV6) && !v->frag)
		return parse_ip(v, l4, l3_end);
	if (proto == IPPROTO_TCP) {
		size_t doff;

		if (l3_end - l4 < 20)
			return v->frag && !v->err ? 0 : bad(v, "truncated TCP header");
		doff = (size_t)(d[l4 + 12] >> 4) * 4;
		if (doff < 20 || doff > l3_end - l4)
			return bad(v, "TCP data offset does not fit");
		v->has_l4 = true;
		v->sport = get16(d + l4);
		v->dport = get16(d + l4 + 2);
		v->seq = get32(d + l4 + 4);
		v->ack = get32(d + l4 + 8);
		v->tcp_doff = (uint8_t)doff;
		v->tcp_flags = d[l4 + 13];
		v->window = get16(d + l4 + 14);
		v->l4_csum = get16(d + l4 + 16);
		v->l7_off = l4 + doff;
	} else if (proto == IPPROTO_UDP) {
		if (l3_end - l4 < 8)
			return v->frag && !v->err ? 0 : bad(v, "truncated UDP header");
		v->has_l4 = true;
		v->sport = get16(d + l4);
		v->dport = get16(d + l4 + 2);
		v->udp_len = get16(d + l4 + 4);
		v->l4_csum = get16(d + l4 + 6);
		v->l7_off = l4 + 8;
		if (!v->frag && v->udp_len < 8)
			return bad(v, "UDP length under 8");
		if (!v->frag && v->udp_len > l3_end - l4)
			soft(v, "UDP length exceeds the datagram");
		else if (!v->frag)
			l3_end = l4 + v->udp_len;
	}
	v->payload = d + v->l7_off;
	v->payload_len = l3_end - v->l7_off;
	return v->err ? -EBADMSG : 0;
}

int pkt_parse(const uint8_t *d, size_t len, struct pkt_view *v)
{
	size_t off = 14;
	uint16_t et;

	memset(v, 0, sizeof(*v));
	v->data = d;
	v->len = len;
	if (len < 14)
		return bad(v, "truncated Ethernet header");
	memcpy(v->eth_dst, d, 6);
	memcpy(v->eth_src, d + 6, 6);
	et = get16(d + 12);
	while (et == PKT_TPID_8021Q || et == PKT_TPID_8021AD || et == TPID_9100) {
		if (v->vlan_n == PKT_VIEW_MAX_VLAN)
			return bad(v, "too many VLAN tags");
		if (len - off < 4)
			return bad(v, "truncated VLAN tag");
		v->vlan_tpid[v->vlan_n] = et;
		v->vlan_id[v->vlan_n++] = get16(d + off) & 0x0fff;
		et = get16(d + off + 2);
		off += 4;
	}
	v->ethertype = et;
	if (et == ETHERTYPE_PPPOE) {
		if (len - off < 8)
			return bad(v, "truncated PPPoE header");
		v->pppoe = true;
		v->pppoe_session = get16(d + off + 2);
		v->pppoe_len = get16(d + off + 4);
		v->ppp_proto = get16(d + off + 6);
		if (v->pppoe_len < 2)
			return bad(v, "PPPoE length under 2");
		if (v->pppoe_len > len - off - 6)
			soft(v, "PPPoE length exceeds the frame");
		else
			len = off + 6 + v->pppoe_len; /* bounds what follows */
		off += 8;
		if (v->ppp_proto != PKT_PPP_IPV4 && v->ppp_proto != PKT_PPP_IPV6)
			return v->err ? -EBADMSG : 0;
	} else if (et == ETHERTYPE_MPLS || et == ETHERTYPE_MPLS_MC) {
		uint32_t e;

		do {
			if (v->mpls_n == PKT_VIEW_MAX_MPLS)
				return bad(v, "too many MPLS labels");
			if (len - off < 4)
				return bad(v, "truncated MPLS label");
			e = get32(d + off);
			v->mpls_label[v->mpls_n++] = e >> 12;
			off += 4;
		} while (!(e & 0x100));
		if (len - off < 1 || (d[off] >> 4 != 4 && d[off] >> 4 != 6))
			return 0; /* not IP under the labels */
	} else if (et != ETHERTYPE_IPV4 && et != ETHERTYPE_IPV6) {
		return 0;
	}
	return parse_ip(v, off, len);
}

void pkt_describe(const struct pkt_view *v, char *buf, size_t cap)
{
	size_t n = 0;
	unsigned i;

#define ADD(...)                                                                                   \
	do {                                                                                       \
		int r_ = n < cap ? snprintf(buf + n, cap - n, __VA_ARGS__) : 0;                    \
		if (r_ > 0)                                                                        \
			n += (size_t)r_;                                                           \
	} while (0)

	if (cap)
		buf[0] = 0;
	for (i = 0; i < v->vlan_n; i++)
		ADD("vlan(%s%u) ",
		    v->vlan_tpid[i] == PKT_TPID_8021Q	 ? ""
		    : v->vlan_tpid[i] == PKT_TPID_8021AD ? "ad:"
							 : "9100:",
		    v->vlan_id[i]);
	if (v->pppoe)
		ADD("pppoe(%u) ", v->pppoe_session);
	for (i = 0; i < v->mpls_n; i++)
		ADD("mpls(%u) ", v->mpls_label[i]);
	for (i = 0; i + 1 < v->ip_n; i++)
		ADD("%s-in-", v->data[v->ip_off[i]] >> 4 == 4 ? "ipv4" : "ipv6");
	if (!v->family) {
		ADD("ethertype 0x%04x", v->ethertype);
		return;
	}
	ADD("%s ", v->family == AF_INET ? "ipv4" : "ipv6");
	if (v->has_l4)
		ADD(v->family == AF_INET ? "%s:%u > %s:%u" : "[%s]:%u > [%s]:%u", v->src_str,
		    v->sport, v->dst_str, v->dport);
	else
		ADD("%s > %s", v->src_str, v->dst_str);
	if (v->proto == IPPROTO_TCP)
		ADD(" tcp %s%s%s%s%s", v->tcp_flags & PKT_TCP_SYN ? "S" : "",
		    v->tcp_flags & PKT_TCP_FIN ? "F" : "", v->tcp_flags & PKT_TCP_RST ? "R" : "",
		    v->tcp_flags & PKT_TCP_PSH ? "P" : "", v->tcp_flags & PKT_TCP_ACK ? "." : "");
	else if (v->proto == IPPROTO_UDP)
		ADD(" udp");
	else
		ADD(" proto %u", v->proto);
	if (v->frag)
		ADD(" frag@%u%s", v->frag_offset, v->frag_more ? "+" : "");
	ADD(" %zuB", v->payload_len);
#undef ADD
}

void pkt_hexdump(const void *data, size_t len)
{
	const uint8_t *d = data;
	size_t i, j;

	for (i = 0; i < len; i += 16) {
		fprintf(stderr, "  %04zx ", i);
		for (j = i; j < i + 16; j++) {
			if (j < len)
				fprintf(stderr, " %02x", d[j]);
			else
				fprintf(stderr, "   ");
		}
		fprintf(stderr, "  ");
		for (j = i; j < i + 16 && j < len; j++)
			fputc(isprint(d[j]) ? d[j] : '.', stderr);
		fputc('\n', stderr);
	}
}

bool ipv4_hdr_csum_ok(const struct pkt_view *v)
{
	unsigned i, n4 = 0;

	for (i = 0; i < v->ip_n; i++) {
		const uint8_t *h = v->data + v->ip_off[i];

		if (h[0] >> 4 != 4)
			continue;
		n4++;
		if (pkt_inet_csum(h, (size_t)(h[0] & 0x0f) * 4))
			return false;
	}
	return n4 > 0;
}

bool l4_csum_ok(const struct pkt_view *v)
{
	const uint8_t *l4 = v->data + v->l4_off;
	size_t l4len;

	if (!v->has_l4 || v->frag || v->err)
		return false;
	if (v->proto == IPPROTO_UDP) {
		if (v->l4_csum == 0)
			return v->family == AF_INET;
		l4len = v->udp_len;
	} else {
		l4len = v->l3_end - v->l4_off;
	}
	if (l4len > v->l3_end - v->l4_off)
		return false;
	return l4_sum(v->data + v->l3_off, v->family, v->proto, l4, l4len) == 0;
}

/* ------------------------------------------------------------------ DNS */

#define DNS_MAX_POINTERS 32 /* more than any sane name; stops loops */

/* Read a possibly compressed name at *pos into presentation form. */
static int dns_name(const uint8_t *m, size_t len, size_t *pos, char *out)
{
	size_t p = *pos, wire = 0, n = 0;
	bool jumped = false;
	unsigned jumps = 0;

	for (;;) {
		uint8_t l;

		if (p >= len)
			return -EBADMSG;
		l = m[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len || ++jumps > DNS_MAX_POINTERS)
				return -EBADMSG;
			if (!jumped)
				*pos = p + 2;
			jumped = true;
			p = (size_t)(l & 0x3f) << 8 | m[p + 1];
			continue;
		}
		if (l & 0xc0)
			return -EBADMSG; /* 0x40/0x80: obsolete types */
		wire += 1u + l;
		if (wire > 255 || p + 1 + l > len)
			return -EBADMSG;
		if (!l)
			break;
		if (n)
			out[n++] = '.';
		for (size_t i = 0; i < l; i++) {
			uint8_t c = m[p + 1 + i];

			if (c == '.' || c == '\\')
				n += (size_t)sprintf(out + n, "\\%c", c);
			else if (c <= 0x20 || c >= 0x7f)
				n += (size_t)sprintf(out + n, "\\%03u", c);
			else
				out[n++] = (char)c;
		}
		p += 1u + l;
	}
	if (!n)
		out[n++] = '.';
	out[n] = 0;
	if (!jumped)
		*pos = p + 1;
	return 0;
}

static int dns_rr(const uint8_t *m, size_t len, size_t *pos, struct dns_rr *rr)
{
	size_t p;

	if (dns_name(m, len, pos, rr->name))
		return -EBADMSG;
	p = *pos;
	if (len - p < 10)
		return -EBADMSG;
	rr->type = get16(m + p);
	rr->class = get16(m + p + 2);
	rr->ttl = get32(m + p + 4);
	rr->rdlen = get16(m + p + 8);
	p += 10;
	if (len - p < rr->rdlen)
		return -EBADMSG;
	rr->rdata = m + p;
	rr->addr[0] = 0;
	if (rr->type == DNS_TYPE_A && rr->rdlen == 4)
		inet_ntop(AF_INET, rr->rdata, rr->addr, sizeof(rr->addr));
	else if (rr->type == DNS_TYPE_AAAA && rr->rdlen == 16)
		inet_ntop(AF_INET6, rr->rdata, rr->addr, sizeof(rr->addr));
	*pos = p + rr->rdlen;
	return 0;
}

int dns_parse(const uint8_t *m, size_t len, struct dns_msg *d)
{
	struct dns_rr scratch; /* records past DNS_MAX_RR */
	size_t pos = 12;
	unsigned i, sec;

	memset(d, 0, sizeof(*d));
	if (len < 12)
		return -EBADMSG;
	d->id = get16(m);
	d->flags = get16(m + 2);
	d->qr = d->flags & DNS_QR;
	d->opcode = (d->flags >> 11) & 0xf;
	d->aa = d->flags & DNS_AA;
	d->tc = d->flags & DNS_TC;
	d->rd = d->flags & DNS_RD;
	d->ra = d->flags & DNS_RA;
	d->ad = d->flags & DNS_AD;
	d->cd = d->flags & DNS_CD;
	d->rcode = d->flags & 0xf;
	d->qdcount = get16(m + 4);
	d->ancount = get16(m + 6);
	d->nscount = get16(m + 8);
	d->arcount = get16(m + 10);
	for (i = 0; i < d->qdcount; i++) {
		char name[DNS_NAME_STR_MAX];

		if (dns_name(m, len, &pos, i ? name : d->qname) || len - pos < 4)
			return -EBADMSG;
		if (!i) {
			d->qtype = get16(m + pos);
			d->qclass = get16(m + pos + 2);
		}
		pos += 4;
	}
	for (sec = 0; sec < 3; sec++) {
		uint16_t count = sec == 0 ? d->ancount : sec == 1 ? d->nscount : d->arcount;
		struct dns_rr *arr = sec == 0 ? d->an : sec == 1 ? d->ns : d->ar;
		unsigned *kept = sec == 0 ? &d->an_n : sec == 1 ? &d->ns_n : &d->ar_n;

		for (i = 0; i < count; i++) {
			struct dns_rr *rr = *kept < DNS_MAX_RR ? &arr[(*kept)++] : &scratch;

			if (dns_rr(m, len, &pos, rr))
				return -EBADMSG;
			if (sec == 2 && rr->type == DNS_TYPE_OPT) {
				d->has_opt = true;
				d->opt_udp_size = rr->class;
				d->opt_ext_rcode = (uint8_t)(rr->ttl >> 24);
				d->opt_version = (uint8_t)(rr->ttl >> 16);
				d->opt_do = rr->ttl & 0x8000;
			}
		}
	}
	d->len = pos;
	return 0;
}

int dns_parse_view(const struct pkt_view *v, struct dns_msg *m)
{
	const uint8_t *d = v->payload;
	size_t len = v->payload_len;

	if (v->proto == IPPROTO_TCP) {
		size_t n;

		if (len < 2)
			return -EBADMSG;
		n = get16(d);
		if (n > len - 2)
			return -EBADMSG;
		d += 2;
		len = n;
	}
	return dns_parse(d, len, m);
}
