/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: the server_name of a TLS ClientHello (RFC 8446 4.1.2, RFC 6066
 * 3), TLS 1.0 to 1.3 records, over any number of records and in-order TCP
 * segments (l7_stream.bpf.h).
 *
 * The handshake stream is the record bodies one after the other; a record
 * header may sit anywhere, a field or the name may be cut by a record or a
 * segment boundary. Fields, in order: handshake type and length, version
 * and random (skipped), session id, cipher suites, compression methods
 * (each skipped by its length), the extensions' total length, then each
 * extension's type and length until server_name (type 0): its list length,
 * name type (0, host_name), name length, and the name. Every length is
 * checked against the one that contains it; a mismatch is
 * TAPIS_R_TLS_MALFORMED. encrypted_client_hello (0xfe0d) before the name
 * is noted: the name matched is then the outer one (docs/l7.md). */
#ifndef TAPIS_L7_TLS_BPF_H
#define TAPIS_L7_TLS_BPF_H

#include "l7_stream.bpf.h"

#define TLS_REC_HANDSHAKE   22
#define TLS_HS_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0
#define TLS_EXT_ECH	    0xfe0d
#define TLS_STEPS_A_CALL    8
#define TLS_REC_MAX	    (16384 + 2048) /* TLSCiphertext's bound: generous for a hello */

enum tls_phase {
	TLS_P_HS = 0, /* handshake type (1) and length (3) */
	TLS_P_SID,    /* session id length (1) */
	TLS_P_CS,     /* cipher suites length (2) */
	TLS_P_COMP,   /* compression methods length (1) */
	TLS_P_EXTS,   /* extensions length (2) */
	TLS_P_EXT,    /* extension type (2) and length (2) */
	TLS_P_SNI,    /* server_name list length (2), name type (1), length (2) */
	TLS_P_NAME,   /* the name's bytes */
};

/* Does the payload at off start a ClientHello? Record type handshake,
 * major version 3, and, when the byte is in this segment, handshake type
 * ClientHello. Anything else on a tls port (the rest of a connection) is
 * not looked at further. */
static __always_inline bool tls_hello_start(struct xdp_md *ctx, __u32 off, __u32 end)
{
	void *data = (void *)(long)ctx->data, *dend = (void *)(long)ctx->data_end;
	__u8 *b = data + (off & OFF_MASK);

	/* A first segment may hold as little as a byte of the header. */
	if (off >= end || (void *)(b + 1) > dend || b[0] != TLS_REC_HANDSHAKE)
		return false;
	if (off + 1 >= end || (void *)(b + 2) > dend)
		return true;
	if (b[1] != 3)
		return false;
	if (off + 5 >= end || (void *)(b + 6) > dend)
		return true;
	return b[5] == TLS_HS_CLIENT_HELLO;
}

static __always_inline void tls_start(struct tapis_flow_val *st)
{
	__builtin_memset(st, 0, sizeof(*st));
	st->state = TAPIS_FLOW_TLS;
	st->phase = TLS_P_HS;
	st->need = 4;
}

/* Big-endian reads at a frame offset the caller has checked against the
 * segment; 0 when (against the verifier) not in the packet. */
static __always_inline __u32 tls_rd(struct xdp_md *ctx, __u32 off, __u32 n)
{
	return (__u32)l7_gather(ctx, 0, off, n);
}

#define TLS_FAST_EXTS 32 /* extensions the fast walk reads a segment */

/* The extensions at the speed of the packet: from where st stands (before
 * an extension's header, or in an extension's body to be skipped), read in
 * place in a tight loop while headers and bodies lie in this segment and
 * record. At server_name whose name lies there too: 1, the name's frame
 * offset in st->skip and its length in st->name_len. Otherwise st and the cursor are left before
 * the extension the walk stopped at, as the steps would have left them, and the steps go on from
 * there (they also say what is wrong, if anything is). */
static __always_inline int tls_fast_exts(struct xdp_md *ctx, struct tapis_name_buf *nb)
{
	struct tapis_flow_val *st = &nb->st;
	__u32 x = nb->off, lim, ext_end, base, i, type, len;

	if (st->phase != TLS_P_EXT || st->have || !st->rec_left || x >= nb->end ||
	    st->skip > st->rec_left || st->pos > st->ext_end)
		return 0;
	/* Frame offset of handshake byte 0, were it all in this frame. */
	base = x - st->pos;
	lim = x + st->rec_left < nb->end ? x + st->rec_left : nb->end;
	ext_end = base + st->ext_end;
	if (x + st->skip > lim)
		return 0;
	x += st->skip;
	for (i = 0; i < TLS_FAST_EXTS; i++) {
		/* Opaque: one verifier state per turn, not one per range
		 * of x the turns before left. */
		x = opaque(x, lim);
		if (x + 4 > lim || x + 4 > ext_end)
			break;
		type = tls_rd(ctx, x, 2);
		len = tls_rd(ctx, x + 2, 2);
		/* Past its block, or on into the next record or segment: the
		 * steps take it from its header. */
		if (x + 4 + len > ext_end || x + 4 + len > lim)
			break;
		if (type == TLS_EXT_SERVER_NAME) {
			__u32 list = tls_rd(ctx, x + 4, 2), nlen = tls_rd(ctx, x + 7, 2);

			if (len < 5 || x + 9 + nlen > lim || tls_rd(ctx, x + 6, 1) != 0 ||
			    list < nlen + 3 || list + 2 > len || !nlen || nlen > TAPIS_HOST_MAX + 1)
				break;
			/* The caller copies it from there. */
			st->skip = x + 9;
			st->name_len = nlen;
			nb->off = x + 9 + nlen;
			return 1;
		}
		if (type == TLS_EXT_ECH)
			st->flags |= TAPIS_L7F_ECH;
		x += 4 + len;
	}
	st->rec_left -= x - nb->off;
	st->pos += x - nb->off;
	st->skip = 0;
	nb->off = x;
	return 0;
}

/* The fields before the extensions in place, when the first record holds
 * them in this segment: 1 with st and the cursor before the first
 * extension, for tls_fast_exts(). Else 0, and the steps start from the
 * start. */
static __always_inline int tls_fast(struct xdp_md *ctx, struct tapis_name_buf *nb, __u32 off,
				    __u32 end)
{
	struct tapis_flow_val *st = &nb->st;
	__u32 rec_len, lim, hs, hs_len, x, ext_end;

	if (off + 5 + 4 + 2 + 32 + 1 > end)
		return 0;
	if (tls_rd(ctx, off, 1) != TLS_REC_HANDSHAKE || tls_rd(ctx, off + 1, 1) != 3)
		return 0;
	rec_len = tls_rd(ctx, off + 3, 2);
	if (!rec_len || rec_len > TLS_REC_MAX)
		return 0;
	hs = off + 5; /* handshake byte 0 */
	lim = hs + rec_len < end ? hs + rec_len : end;
	if (tls_rd(ctx, hs, 1) != TLS_HS_CLIENT_HELLO)
		return 0;
	hs_len = tls_rd(ctx, hs + 1, 3);
	x = hs + 4 + 2 + 32; /* session id length */
	if (x + 1 > lim)
		return 0;
	x += 1 + tls_rd(ctx, x, 1);
	if (x + 2 > lim)
		return 0;
	x += 2 + tls_rd(ctx, x, 2);
	if (x + 1 > lim)
		return 0;
	x += 1 + tls_rd(ctx, x, 1);
	if (x + 2 > lim || x + 2 > hs + 4 + hs_len)
		return 0;
	ext_end = x + 2 + tls_rd(ctx, x, 2);
	if (ext_end > hs + 4 + hs_len)
		return 0;
	x += 2;
	/* The state the steps have before the first extension. */
	st->phase = TLS_P_EXT;
	st->need = 4;
	st->pos = x - hs;
	st->hs_end = 4 + hs_len;
	st->ext_end = ext_end - hs;
	st->rec_left = rec_len - (x - hs);
	nb->off = x;
	return 1;
}

/* One field of the hello whose bytes are all in acc: check it, and say
 * what comes next. */
static __always_inline long tls_field(struct tapis_name_buf *c, struct tapis_flow_val *st, __u64 v)
{
	__u32 len;

	switch (st->phase) {
	case TLS_P_HS:
		if ((v >> 24) != TLS_HS_CLIENT_HELLO)
			return l7_stop(c, L7_NONE, 0);
		st->hs_end = 4 + (v & 0xffffff);
		st->skip = 2 + 32; /* legacy_version, random */
		st->phase = TLS_P_SID;
		st->need = 1;
		return 0;
	case TLS_P_SID:
	case TLS_P_CS:
	case TLS_P_COMP:
		/* A length, then that many bytes skipped; the next field
		 * is the next phase, whose length takes one byte
		 * (compression methods) or two. */
		if (st->pos + v > st->hs_end)
			return l7_stop(c, L7_ERR, TAPIS_R_TLS_MALFORMED);
		st->skip = v;
		st->phase++;
		st->need = st->phase == TLS_P_COMP ? 1 : 2;
		return 0;
	case TLS_P_EXTS:
		st->ext_end = st->pos + v;
		if (st->ext_end > st->hs_end)
			return l7_stop(c, L7_ERR, TAPIS_R_TLS_MALFORMED);
		st->phase = TLS_P_EXT;
		st->need = 4;
		return 0;
	case TLS_P_EXT:
		len = v & 0xffff;
		if (st->pos + len > st->ext_end)
			return l7_stop(c, L7_ERR, TAPIS_R_TLS_MALFORMED);
		if ((v >> 16) == TLS_EXT_SERVER_NAME) {
			if (len < 5)
				return l7_stop(c, L7_ERR, TAPIS_R_TLS_MALFORMED);
			st->phase = TLS_P_SNI;
			st->need = 5;
			/* The list must hold the entry read next. */
			st->hs_end = st->pos + len;
			return 0;
		}
		if ((v >> 16) == TLS_EXT_ECH)
			st->flags |= TAPIS_L7F_ECH;
		st->skip = len;
		return 0;
	case TLS_P_SNI:
		/* list length (2) | name type (1) | name length (2) */
		len = v & 0xffff;
		/* The list started 3 bytes back and must end within the
		 * extension, as must the name. */
		if (((v >> 16) & 0xff) != 0 || ((v >> 24) & 0xffff) < len + 3 ||
		    st->pos - 3 + ((v >> 24) & 0xffff) > st->hs_end || st->pos + len > st->hs_end)
			return l7_stop(c, L7_ERR, TAPIS_R_TLS_MALFORMED);
		if (!len || len > TAPIS_HOST_MAX + 1)
			return l7_stop(c, L7_ERR, TAPIS_R_NAME_SYNTAX);
		st->name_len = len;
		st->name_have = 0;
		st->phase = TLS_P_NAME;
		return 0;
	}
	return l7_stop(c, L7_ERR, TAPIS_R_TLS_MALFORMED);
}

/* One step: a record header, a stretch skipped, a field, or name bytes. */
static __always_inline long tls_step_in(struct xdp_md *ctx, struct tapis_name_buf *nb)
{
	struct tapis_name_buf *c = nb;
	struct tapis_flow_val *st;
	__u32 off = c->off, avail, n;
	__u64 v;

	st = &nb->st;
	/* The hello may end with its segment: look before asking for more. */
	if (!st->have && !st->skip &&
	    ((st->phase == TLS_P_EXT && st->pos >= st->ext_end) ||
	     (st->phase == TLS_P_EXTS && st->hs_end && st->pos >= st->hs_end)))
		return l7_stop(c, L7_NONE, 0); /* no server_name, or no extensions */
	if (off >= c->end)
		return l7_stop(c, L7_MORE, 0);
	avail = c->end - off;
	if (st->pos > TAPIS_L7_MAX_BYTES)
		return l7_stop(c, L7_ERR, TAPIS_R_TLS_BOUND);

	if (!st->rec_left) {
		n = 5 - st->rhave;
		if (n > avail)
			n = avail;
		st->racc = l7_gather(ctx, st->racc, off, n);
		st->rhave += n;
		c->off = off + n;
		if (st->rhave < 5)
			return l7_stop(c, L7_MORE, 0);
		v = st->racc;
		n = v & 0xffff;
		if (((v >> 32) & 0xff) != TLS_REC_HANDSHAKE || ((v >> 24) & 0xff) != 3 || !n ||
		    n > TLS_REC_MAX)
			return l7_stop(c, L7_ERR, TAPIS_R_TLS_MALFORMED);
		st->rec_left = n;
		st->rhave = 0;
		st->racc = 0;
		return 0;
	}
	if (avail > st->rec_left)
		avail = st->rec_left;

	if (st->skip) {
		n = st->skip < avail ? st->skip : avail;
		st->skip -= n;
		st->rec_left -= n;
		st->pos += n;
		c->off = off + n;
		return 0;
	}

	if (st->phase == TLS_P_NAME) {
		n = st->name_len - st->name_have;
		if (n > avail)
			n = avail;
		if (l7_name_copy(ctx, nb, off, st->name_have, n))
			return l7_stop(c, L7_ERR, TAPIS_R_NAME_SYNTAX);
		st->name_have += n;
		st->rec_left -= n;
		st->pos += n;
		c->off = off + n;
		if (st->name_have < st->name_len)
			return 0;
		return l7_stop(c, L7_NAME, 0);
	}

	if (st->phase != TLS_P_HS && st->pos + st->need - st->have > st->hs_end)
		return l7_stop(c, L7_ERR, TAPIS_R_TLS_MALFORMED);
	n = st->need - st->have;
	if (n > avail)
		n = avail;
	st->acc = l7_gather(ctx, st->acc, off, n);
	st->have += n;
	st->rec_left -= n;
	st->pos += n;
	c->off = off + n;
	if (st->have < st->need)
		return 0;
	v = st->acc;
	st->acc = 0;
	st->have = 0;
	return tls_field(c, st, v);
}

/* Up to TLS_STEPS_A_CALL steps, until the segment or the hello ends: 1
 * then, else 0. A global function, verified once; several steps a call,
 * because every return costs (Safe RET on this kind of CPU). */
__noinline int tls_step(struct xdp_md *ctx)
{
	struct tapis_name_buf *nb = name_buf();

	int i;

	if (!ctx || !nb)
		return 1;
	for (i = 0; i < TLS_STEPS_A_CALL; i++)
		if (tls_step_in(ctx, nb))
			return 1;
	return 0;
}

#endif
