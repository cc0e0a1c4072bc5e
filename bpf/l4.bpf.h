/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: TCP and UDP headers: ports, TCP flags, start of payload. */
#ifndef TAPIS_L4_BPF_H
#define TAPIS_L4_BPF_H

#include <linux/tcp.h>
#include <linux/udp.h>
#include "cursor.bpf.h"

static __always_inline int parse_l4(struct pkt *p, __u32 *reason)
{
	if (p->l4proto == IPPROTO_TCP) {
		struct tcphdr *th = p->c.pos;
		__u32 doff;

		if ((void *)(th + 1) > p->c.end) {
			*reason = TAPIS_R_L4_TRUNC;
			return -1;
		}
		doff = th->doff;
		if (doff < 5 || p->c.pos + doff * 4 > p->c.end) {
			*reason = TAPIS_R_L4_TRUNC;
			return -1;
		}
		p->sport_be = th->source;
		p->dport_be = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		p->c.pos += doff * 4;
	} else if (p->l4proto == IPPROTO_UDP) {
		struct udphdr *uh = cursor_pull(&p->c, struct udphdr);

		if (!uh) {
			*reason = TAPIS_R_L4_TRUNC;
			return -1;
		}
		p->sport_be = uh->source;
		p->dport_be = uh->dest;
	}
	return 0;
}

#endif
