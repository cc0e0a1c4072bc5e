/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: a parse cursor that knows where the packet ends, and the
 * per-packet context every stage reads and writes. */
#ifndef TAPIS_CURSOR_BPF_H
#define TAPIS_CURSOR_BPF_H
#ifndef __BPF__
#error "BPF-only header"
#endif

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tapis_abi.h"

/* Offsets from the frame start that stages after L4 keep as numbers are
 * kept below this, so the verifier can bound every packet pointer built
 * from them (jumbo frames included). */
#define OFF_MASK 0x3fff

struct cursor {
	void *pos;
	void *end;
};

/* Pull a header of type T: returns a pointer and advances, or NULL when the
 * packet is shorter than the header (the verifier sees the bounds check). */
#define cursor_pull(c, T)                                                                          \
	({                                                                                         \
		T *__h = (c)->pos;                                                                 \
		if ((void *)(__h + 1) > (c)->end)                                                  \
			__h = NULL;                                                                \
		else                                                                               \
			(c)->pos = (void *)(__h + 1);                                              \
		__h;                                                                               \
	})

/* What the stages learn about a packet; the entry point owns it. */
/* TCP flags, as byte 13 of the header holds them. */
#define TAPIS_TCP_RST 0x04
#define TAPIS_TCP_SYN 0x02
#define TAPIS_TCP_ACK 0x10

struct pkt {
	struct cursor c;
	void *data;   /* start of frame, for writes by actions */
	__u32 len;    /* frame length, for byte counters */
	__u32 gen;    /* active generation, read once */
	__u16 l3_off; /* from data */
	__u16 l4_off;
	__u8 family;  /* 4 or 6; 0 until L3 parsed */
	__u8 l4proto; /* IPPROTO_*, 0 when no L4 header (later fragment) */
	__u8 nonfirst_frag;
	__u8 tcp_flags; /* byte 13 of the TCP header: TAPIS_TCP_* */
	__be16 sport_be;
	__be16 dport_be;
	__u32 saddr4_be; /* IPv4 only */
	__u32 daddr4_be;
	__u8 saddr6[16]; /* IPv6 only */
	__u8 daddr6[16];
};

#endif
