/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: QUIC Initial packets (RFC 9000 17.2.2, RFC 9369 3.2) to the
 * tls ports over UDP. Their ClientHello is encrypted with keys derived
 * from the connection id, so the SNI is not read here; settings.quic: drop
 * drops them, and browsers fall back to TLS over TCP, where it is. */
#ifndef TAPIS_L7_QUIC_BPF_H
#define TAPIS_L7_QUIC_BPF_H

#include "l7_stream.bpf.h"

#define QUIC_V1 0x00000001
#define QUIC_V2 0x6b3343cf

/* Long header, fixed bit, and the packet type that is Initial in its
 * version: 0b00 in version 1, 0b01 in version 2. */
static __always_inline bool quic_initial(struct xdp_md *ctx, __u32 off, __u32 end)
{
	__u64 w;
	__u32 ver, type;

	if (off + 5 > end)
		return false;
	w = l7_gather(ctx, 0, off, 5);
	if (((w >> 32) & 0xc0) != 0xc0)
		return false;
	type = (w >> 36) & 3;
	ver = w & 0xffffffff;
	return (ver == QUIC_V1 && type == 0) || (ver == QUIC_V2 && type == 1);
}

#endif
