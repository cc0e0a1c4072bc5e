/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: the host of an HTTP/1.x request (RFC 9112), over in-order TCP
 * segments (l7_stream.bpf.h).
 *
 * A request starts a segment with a method and a space. Its target in
 * absolute form ("http://host:port/...", a proxy's request) or authority
 * form (CONNECT host:port) names the host itself, and the Host header is
 * then not read (RFC 9112 3.2.2). Otherwise header lines are walked until
 * one whose name is Host in any case; its value, after optional spaces or
 * tabs, up to a port, whitespace or the end of the line, is the name, any
 * trailing dot cut. A literal IPv6 address ("[2001:db8::1]:80") is no name:
 * counted, passed. Headers that end without Host are counted, passed. */
#ifndef TAPIS_L7_HTTP_BPF_H
#define TAPIS_L7_HTTP_BPF_H

#include "l7_stream.bpf.h"

enum http_phase {
	HTTP_P_SKIPLINE = 0, /* to the end of the current line */
	HTTP_P_LINE,	     /* the head of a header line: "host:"? */
	HTTP_P_WS,	     /* spaces before the value */
	HTTP_P_NAME,	     /* the host's bytes */
	HTTP_P_ANAME,	     /* the host of an absolute or authority-form target */
	HTTP_P_SCHEME,	     /* the target's first eight bytes: "http://"? */
};

/* Bytes of the method and its space when w (the first eight bytes,
 * big-endian) starts a request, else 0. */
static __always_inline __u32 http_method_len(__u64 w)
{
	__u32 w4 = w >> 32;
	__u64 w5 = w >> 24, w6 = w >> 16, w7 = w >> 8;

	if (w4 == 0x47455420 /* "GET " */ || w4 == 0x50555420 /* "PUT " */)
		return 4;
	if (w5 == 0x504f535420ULL /* "POST " */ || w5 == 0x4845414420ULL /* "HEAD " */)
		return 5;
	if (w6 == 0x504154434820ULL /* "PATCH " */ || w6 == 0x545241434520ULL /* "TRACE " */)
		return 6;
	if (w7 == 0x44454c45544520ULL /* "DELETE " */)
		return 7;
	if (w == 0x4f5054494f4e5320ULL /* "OPTIONS " */)
		return 8;
	if (w == 0x434f4e4e45435420ULL /* "CONNECT " */)
		return 9; /* authority form follows */
	return 0;
}

/* Does the segment at off start a request? Sets up st and moves *off past
 * the method. The target's first bytes are read by the SCHEME step, which
 * can wait for the next segment. */
static __always_inline bool http_start(struct xdp_md *ctx, struct tapis_flow_val *st, __u32 *off,
				       __u32 end)
{
	__u32 n = end - *off, m;
	__u64 w;

	if (*off >= end)
		return false;
	if (n >= 8) {
		void *data = (void *)(long)ctx->data, *dend = (void *)(long)ctx->data_end;
		__u64 *wp = data + (*off & OFF_MASK);

		/* One load, as l7_gather() would assemble it. */
		if ((void *)(wp + 1) > dend)
			return false;
		w = __builtin_bswap64(*wp);
		n = 8;
	} else {
		/* Left-aligned: a short first segment compares as far as it
		 * goes. */
		w = l7_gather(ctx, 0, *off, n) << ((8 - n) * 8 & 63);
	}
	m = http_method_len(w);
	if (!m || (m > n && !(m == 9 && n == 8)))
		return false;
	__builtin_memset(st, 0, sizeof(*st));
	st->state = TAPIS_FLOW_HTTP;
	if (m == 9) {
		*off += 8;
		st->pos = 8;
		st->phase = HTTP_P_ANAME;
		return true;
	}
	*off += m;
	st->pos = m;
	st->phase = HTTP_P_SCHEME;
	st->need = 8;
	return true;
}

static __always_inline bool http_name_end(__u8 b, bool authority)
{
	return b == ':' || b == ' ' || b == '\t' || b == '\r' || b == '\n' ||
	       (authority && (b == '/' || b == '?' || b == '#'));
}

#define HTTP_SCAN 64 /* bytes one step scans */

static __always_inline long http_step_in(struct xdp_md *ctx, struct tapis_name_buf *nb)
{
	struct tapis_name_buf *c = nb;
	struct tapis_flow_val *st;
	__u32 off = c->off, avail, n, k;
	void *data, *dend;
	__u64 w;
	__u8 *b;

	st = &nb->st;
	if (off >= c->end)
		return l7_stop(c, L7_MORE, 0);
	if (st->pos > TAPIS_L7_MAX_BYTES)
		return l7_stop(c, L7_ERR, TAPIS_R_HTTP_BOUND);
	avail = c->end - off;
	data = (void *)(long)ctx->data;
	dend = (void *)(long)ctx->data_end;

	switch (st->phase) {
	case HTTP_P_SCHEME:
		n = st->need - st->have;
		if (n > avail)
			n = avail;
		st->acc = l7_gather(ctx, st->acc, off, n);
		st->have += n;
		st->pos += n;
		c->off = off + n;
		if (st->have < st->need)
			return 0;
		w = lower8(st->acc);
		st->have = 0;
		st->acc = 0;
		st->name_have = 0;
		if (w == 0x68747470733a2f2fULL /* "https://" */) {
			st->phase = HTTP_P_ANAME;
		} else if ((w >> 8) == 0x687474703a2f2fULL /* "http://" */) {
			/* The eighth byte is the host's first. */
			st->phase = HTTP_P_ANAME;
			if ((w & 0xff) == '[') {
				count_stat(TAPIS_S_HTTP_IP_HOST);
				return l7_stop(c, L7_NONE, 0);
			}
			if (http_name_end(w & 0xff, true)) {
				st->name_len = 0;
				return l7_stop(c, L7_NAME, 0);
			}
			nb->bytes[TAPIS_NAME_OFF + 1] = w & 0xff;
			st->name_have = 1;
		} else {
			st->phase = HTTP_P_SKIPLINE;
		}
		return 0;

	case HTTP_P_SKIPLINE:
		/* Eight bytes at a time while they are in the segment. */
		for (k = 0; k < HTTP_SCAN / 8; k++) {
			__u64 *wp = data + ((off + 8 * k) & OFF_MASK), t;

			if (8 * k + 8 > avail || (void *)(wp + 1) > dend)
				break;
			t = eq_bytes(*wp, '\n');
			if (t) {
				n = 8 * k + first_flag(t) + 1;
				goto line_end;
			}
		}
		n = 8 * k;
		for (k = 0; k < 8; k++) {
			b = data + ((off + n) & OFF_MASK);
			if (n >= avail || (void *)(b + 1) > dend)
				break;
			n++;
			if (*b == '\n')
				goto line_end;
		}
		st->pos += n;
		c->off = off + n;
		return 0;
	line_end:
		st->pos += n;
		c->off = off + n;
		st->phase = HTTP_P_LINE;
		st->have = 0;
		st->acc = 0;
		return 0;

	case HTTP_P_LINE:
		/* Up to five bytes of the line's head, a byte at a time: a
		 * short line may end among them. */
		for (k = 0; k < 5; k++) {
			__u8 ch;

			b = data + ((off + k) & OFF_MASK);
			if (k >= avail || (void *)(b + 1) > dend)
				break;
			ch = *b;
			if (ch == '\n') {
				st->pos += k + 1;
				c->off = off + k + 1;
				/* "\n" or "\r\n" alone: the headers ended. */
				if (!st->have || (st->have == 1 && st->acc == '\r')) {
					count_stat(TAPIS_S_HTTP_NO_HOST);
					return l7_stop(c, L7_NONE, 0);
				}
				st->have = 0;
				st->acc = 0;
				return 0;
			}
			st->acc = (st->acc << 8) | tapis_lower(ch);
			st->have++;
			if (st->have == 5) {
				k++;
				break;
			}
		}
		st->pos += k;
		c->off = off + k;
		if (st->have < 5)
			return 0;
		st->phase = st->acc == 0x686f73743aULL /* "host:" */ ? HTTP_P_WS : HTTP_P_SKIPLINE;
		st->have = 0;
		st->acc = 0;
		return 0;

	case HTTP_P_WS:
		for (k = 0; k < 16; k++) {
			b = data + ((off + k) & OFF_MASK);
			if (k >= avail || (void *)(b + 1) > dend)
				break;
			if (*b != ' ' && *b != '\t')
				break;
		}
		st->pos += k;
		c->off = off + k;
		if (k < avail && k < 16) {
			st->phase = HTTP_P_NAME;
			st->name_have = 0;
		}
		return 0;

	case HTTP_P_NAME:
	case HTTP_P_ANAME:
		for (k = 0; k < HTTP_SCAN; k++) {
			b = data + ((off + k) & OFF_MASK);
			if (k >= avail || (void *)(b + 1) > dend)
				break;
			if (!st->name_have && !k && *b == '[') {
				count_stat(TAPIS_S_HTTP_IP_HOST);
				return l7_stop(c, L7_NONE, 0);
			}
			if (http_name_end(*b, st->phase == HTTP_P_ANAME))
				break;
		}
		if (l7_name_copy(ctx, nb, off, st->name_have, k))
			return l7_stop(c, L7_ERR, TAPIS_R_NAME_SYNTAX);
		st->name_have += k;
		st->pos += k;
		c->off = off + k;
		if (k < avail && k < HTTP_SCAN) {
			st->name_len = st->name_have;
			return l7_stop(c, L7_NAME, 0);
		}
		return 0;
	}
	return l7_stop(c, L7_ERR, TAPIS_R_HTTP_MALFORMED);
}

#define HTTP_FAST_LINES 32 /* header lines the fast walk reads */
#define HTTP_FAST_WORDS 32 /* words of one line it scans for its end */

/* Past the '\n' that ends the line at x in this segment (the frame
 * offset after it), or 0 when it is not within HTTP_FAST_WORDS whole
 * words before the segment's end. */
static __always_inline __u32 http_line_end_in(struct xdp_md *ctx, __u32 x, __u32 end)
{
	void *data = (void *)(long)ctx->data, *dend = (void *)(long)ctx->data_end;
	__u32 k;
	__u64 t;

	for (k = 0; k < HTTP_FAST_WORDS; k++) {
		__u64 *wp = data + ((x + 8 * k) & OFF_MASK);

		if (x + 8 * k + 8 > end || (void *)(wp + 1) > dend)
			return 0;
		t = eq_bytes(*wp, '\n');
		if (t)
			return x + 8 * k + first_flag(t) + 1;
	}
	return 0;
}

/* The same for a header line: a global function, as a loop in the loop
 * over lines would be checked once per pair of counts. */
__noinline int http_line_end(struct xdp_md *ctx, __u32 x, __u32 end)
{
	if (!ctx)
		return 0;
	return http_line_end_in(ctx, x, end);
}

/* A request read in place, the way the steps would, while its lines lie
 * in this segment in whole words: the request line, then header lines to
 * Host. 3: the name, st->name_len bytes, is in the scratch buffer; 2: no
 * name (the headers ended, or Host is an address, counted); 0: the steps
 * go on from where this stopped (st and the cursor as they would have
 * them). Inline (a call costs about 6 ns), as is the scan of the request
 * line; header lines before Host are scanned by http_line_end(). */
static __always_inline int http_fast(struct xdp_md *ctx)
{
	struct tapis_name_buf *nb = name_buf();
	struct tapis_flow_val *st;
	__u32 x, y, i, k, end;
	void *data, *dend;
	__u64 w, t;
	__u8 *b;

	if (!ctx || !nb)
		return 0;
	st = &nb->st;
	x = nb->off;
	end = nb->end;
	if (st->phase != HTTP_P_SCHEME || st->have || x + 8 > end)
		return 0;
	data = (void *)(long)ctx->data;
	dend = (void *)(long)ctx->data_end;
	{
		__u32 *h4 = data + (x & OFF_MASK);

		if ((void *)(h4 + 1) > dend)
			return 0;
		/* "http" in any case: maybe absolute form, for the steps. */
		if ((*h4 | 0x20202020) == 0x70747468)
			return 0;
	}
	/* The request line's end, inline: most requests name Host on the
	 * next line, so this is the only scan they need. */
	y = http_line_end_in(ctx, opaque(x, end), end);
	if (!y)
		return 0;
	for (i = 0; i < HTTP_FAST_LINES; i++) {
		__u64 *wp = data + (y & OFF_MASK);

		if (y + 8 > end || (void *)(wp + 1) > dend)
			break;
		w = *wp;
		if ((w & 0xff) == '\n' || (w & 0xffff) == 0x0a0d /* "\r\n" */) {
			count_stat(TAPIS_S_HTTP_NO_HOST);
			return 2;
		}
		if ((lower8(w) & 0xffffffffffULL) != 0x3a74736f68ULL /* "host:" */) {
			x = http_line_end(ctx, y, end);
			if (!x)
				break;
			y = x;
			continue;
		}
		/* Host: spaces and tabs, then the name up to its end. */
		x = y + 5;
		for (k = 0; k < 16; k++) {
			b = data + ((x + k) & OFF_MASK);
			if (x + k >= end || (void *)(b + 1) > dend)
				break;
			if (*b != ' ' && *b != '\t')
				break;
		}
		x += k;
		b = data + (x & OFF_MASK);
		if (k == 16 || x >= end || (void *)(b + 1) > dend)
			break;
		if (*b == '[') {
			count_stat(TAPIS_S_HTTP_IP_HOST);
			return 2;
		}
		for (k = 0; k < (TAPIS_HOST_MAX + 8) / 8; k++) {
			wp = data + ((x + 8 * k) & OFF_MASK);
			if (x + 8 * k + 8 > end || (void *)(wp + 1) > dend)
				break;
			w = *wp;
			/* Into the buffer as it is scanned: the name's words
			 * are in a register already (bytes past its end land
			 * in the buffer's slack, unread). */
			store64(&nb->bytes[TAPIS_NAME_OFF + 1 + 8 * (k & 31)], lower8(w));
			/* A space, a tab, CR, LF (all below '!') or ':': the
			 * lowest flagged byte is exact. */
			t = ((w - ONES64 * '!') & ~w & HIGH64) | eq_bytes(w, ':');
			if (!t)
				continue;
			k = 8 * k + first_flag(t);
			st->skip = x;
			st->name_len = k;
			nb->off = x + k;
			return 3;
		}
		break;
	}
	/* At the start of line y: what the steps hold there. */
	st->pos += y - nb->off;
	st->phase = HTTP_P_LINE;
	st->have = 0;
	st->acc = 0;
	nb->off = y;
	return 0;
}

/* One step; 0 while there is more to do. A global function: verified once
 * (several steps a call overrun the verifier's budget: the scans in the
 * steps multiply). */
__noinline int http_step(struct xdp_md *ctx)
{
	struct tapis_name_buf *nb = name_buf();

	if (!ctx || !nb)
		return 1;
	return http_step_in(ctx, nb);
}

#endif
