/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: what the TLS and HTTP stages share. They read a byte stream
 * that may continue in later TCP segments: each segment's payload is fed
 * to a parser whose whole state is struct tapis_flow_val (tapis_abi.h),
 * held in the per-CPU scratch buffer while the packet is parsed and in
 * tapis_flows between segments. The parsers step through the stream one
 * field per call of a global function, their state in map memory, so the
 * verifier checks a step once instead of once per field order and
 * segment layout, and a segment costs steps, not bytes.
 *
 * Outcomes: L7_NAME (a name is complete in the scratch buffer), L7_MORE
 * (the segment ended inside the message: keep the state), L7_NONE (the
 * message ended without a name), or a reason (fail-open, counted). */
#ifndef TAPIS_L7_STREAM_BPF_H
#define TAPIS_L7_STREAM_BPF_H

#include "maps.bpf.h"
#include "l7_name.bpf.h"

enum l7_outcome {
	L7_RUN = 0, /* still stepping */
	L7_NAME,
	L7_MORE,
	L7_NONE,
	L7_ERR, /* reason in l7_loop.reason */
};

/* The stage's cursor is the scratch buffer's off, end, res and reason. */
static __always_inline long l7_stop(struct tapis_name_buf *c, __u32 res, __u32 reason)
{
	c->res = res;
	c->reason = reason;
	return 1;
}

/* acc with n (0..8) more packet bytes at off appended, big-endian. The
 * caller has checked off + n against the segment's end. */
static __always_inline __u64 l7_gather(struct xdp_md *ctx, __u64 acc, __u32 off, __u32 n)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 k;

#pragma unroll
	for (k = 0; k < 8; k++) {
		__u8 *b = data + ((off + k) & OFF_MASK);

		if (k >= n || (void *)(b + 1) > end)
			break;
		acc = (acc << 8) | *b;
	}
	return acc;
}

/* Copy n name bytes from the packet at off to the name being assembled,
 * after the have bytes already there: 0, or -1 when the name would be too
 * long or the bytes are not in the packet. */
static __always_inline int l7_name_copy(struct xdp_md *ctx, struct tapis_name_buf *nb, __u32 off,
					__u32 have, __u32 n)
{
	if (have + n > TAPIS_HOST_MAX + 1)
		return -1;
	n &= 0xff;
	if (!n)
		return 0;
	return bpf_xdp_load_bytes(ctx, off, &nb->bytes[TAPIS_NAME_OFF + 1 + (have & 0xff)], n) ? -1
											       : 0;
}

/* The same for a whole name (have 0) that lies in the packet, lowercased
 * for the match: eight bytes at a time straight off it (bytes past the
 * name land in the buffer's slack, unread), the helper only for a last
 * word that would run past the frame, for exactly the bytes left. Inline, at its one call site: a
 * call costs more than a short name's copy. */
static __always_inline int l7_name_words(struct xdp_md *ctx, __u32 off, __u32 n)
{
	struct tapis_name_buf *nb = name_buf();
	void *data, *end;
	__u8 *dst;
	__u32 k;

	if (!ctx || !nb || !n || n > TAPIS_HOST_MAX + 1)
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	for (k = 0; k < (TAPIS_HOST_MAX + 1 + 7) / 8; k++) {
		__u64 *src = data + ((off + 8 * k) & OFF_MASK);

		if (8 * k >= n)
			return 0;
		dst = &nb->bytes[TAPIS_NAME_OFF + 1 + 8 * (k & 31)];
		if ((void *)(src + 1) > end) {
			if (bpf_xdp_load_bytes(ctx, off + 8 * k, dst, ((n - 8 * k - 1) & 7) + 1))
				return -1;
			store64(dst, lower8(load64(dst)));
			return 0;
		}
		store64(dst, lower8(*src));
	}
	return 0;
}

#endif
