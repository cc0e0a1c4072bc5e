/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: the verdict stage. Picks the winning rule from the candidates,
 * counts it, and turns its action into an XDP return code; a DNS query
 * blocked by its name is answered (dns_answer.bpf.h). */
#ifndef TAPIS_ACTION_BPF_H
#define TAPIS_ACTION_BPF_H

#include <linux/if_ether.h>
#include "maps.bpf.h"
#include "cursor.bpf.h"
#include "rules.bpf.h"
#include "l7_dns.bpf.h"
#include "flow.bpf.h"
#include "dns_answer.bpf.h"
#include "events.bpf.h"

struct verdict {
	__u32 rule;
	struct tapis_rule *r;
	__u8 by_host; /* the rule won through the hostname (set by the entry) */
	__u8 kind;    /* enum tapis_kind: how it matched (set by the entry) */
};

/* Precedence (DESIGN.md "Matching semantics"): an allow anywhere wins;
 * otherwise the host rule beats net rules; between the two net directions
 * the longer prefix wins, destination on a tie. The candidates are ranked
 * as scalars and only the winner's slot is fetched again: with the three
 * slot pointers alive at once, clang folds their NULL tests into an OR of
 * pointers, which the verifier refuses. */
static __always_inline struct verdict decide(__u32 gen, __u32 host_rule, __u32 dst_ent,
					     __u32 src_ent)
{
	struct verdict v = {};
	__u32 ids[3], rank[3], best = 0;
	int i;

	ids[0] = host_rule;
	if (tapis_ent_plen(src_ent) > tapis_ent_plen(dst_ent) || !dst_ent) {
		ids[1] = tapis_ent_rule(src_ent);
		ids[2] = tapis_ent_rule(dst_ent);
	} else {
		ids[1] = tapis_ent_rule(dst_ent);
		ids[2] = tapis_ent_rule(src_ent);
	}
	/* rank: 0 not usable, then the later candidate below an earlier one,
	 * and allow above everything. */
#pragma unroll
	for (i = 0; i < 3; i++) {
		struct tapis_rule *r = rule_usable(gen, ids[i]);

		rank[i] = !r ? 0 : r->action == TAPIS_ACT_ALLOW ? 6 - i : 3 - i;
	}
#pragma unroll
	for (i = 0; i < 3; i++) {
		if (rank[i] > best) {
			best = rank[i];
			v.rule = ids[i];
		}
	}
	if (v.rule)
		v.r = rule_get(gen, v.rule);
	return v;
}

static __always_inline void count_rule(__u32 rule, __u32 len, __u32 kind)
{
	struct tapis_counter *c = bpf_map_lookup_elem(&tapis_counters, &rule);

	if (c) {
		if (kind < TAPIS_KIND_MAX) {
			c->kind_packets[kind] += 1;
			c->kind_bytes[kind] += len;
		}
		/* bpf_jiffies64 is inlined by the verifier; the clock helper
		 * costs ~18 ns, so call it only when the tick changed. */
		__u64 j = bpf_jiffies64();

		c->packets += 1;
		c->bytes += len;
		if (c->last_jiffies != j) {
			c->last_jiffies = j;
			c->last_ns = bpf_ktime_get_coarse_ns();
		}
	}
}

static __always_inline void count_action(__u32 action, __u32 len)
{
	struct tapis_action_counter *c = bpf_map_lookup_elem(&tapis_actions, &action);

	if (c) {
		c->packets += 1;
		c->bytes += len;
	}
}

/* The frame is reached through ctx, not the parse cursor: no stage after
 * L4 keeps a packet pointer, which keeps the verifier's states few. */
static __always_inline int do_redirect(struct xdp_md *ctx, struct tapis_rule *r)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if (!r->redirect_ifindex || (void *)(eth + 1) > end) {
		count_stat(TAPIS_S_REDIRECT_ERR);
		return XDP_DROP;
	}
	__builtin_memcpy(eth->h_dest, r->redirect_dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, r->redirect_smac, ETH_ALEN);
	return bpf_redirect(r->redirect_ifindex, 0);
}

/* reject and sinkhole answer what their rule matched by name: a DNS query
 * (NXDOMAIN / sinkhole answer over UDP, a reset over TCP), or the client's
 * segment that carried a TLS or HTTP name, which becomes a reset to the
 * client. Anything else, a packet matched only by address or a later
 * packet of a blocked flow included, has nothing to answer with, so it
 * drops (DESIGN.md "Actions", other packets). */
static __always_inline int apply_action(struct xdp_md *ctx, struct pkt *p, const struct dns_q *dq,
					const struct tapis_name_buf *nb,
					const struct tapis_settings *set, struct verdict *v)
{
	__u32 action = v->r ? v->r->action : TAPIS_ACT_NONE;

	count_action(action, p->len);
	if (!v->r)
		return XDP_PASS;
	count_rule(v->rule, p->len, v->kind);
	/* Scalars only (tapis_event says why), and few branches: every path
	 * reaching here is a verifier state. A flow's later packets give no
	 * event: its first block did, with the name. */
	if (action >= TAPIS_ACT_DROP && v->kind != TAPIS_KIND_FLOW && ev_reader() &&
	    set->ev_interval_ns && !ev_skipped())
		tapis_event(ctx, nb, set,
			    v->rule | action << 16 | (__u64)v->kind << 24 |
				    (__u64)v->by_host << 32 | (__u64)p->family << 40 |
				    (__u64)p->l4proto << 48,
			    p->l3_off | (__u32)p->l4_off << 16);
	switch (action) {
	case TAPIS_ACT_REJECT:
	case TAPIS_ACT_SINKHOLE:
		if (!v->by_host)
			return XDP_DROP;
		if (v->kind == TAPIS_KIND_DNS && dq->msg_off)
			return dns_answer(ctx, dq, set, action);
		if ((v->kind == TAPIS_KIND_TLS || v->kind == TAPIS_KIND_HTTP) && nb &&
		    nb->fpos.to_server)
			return tcp_reset_answer(ctx, p->l3_off, p->l4_off, nb->fpos.pay_end,
						p->family);
		return XDP_DROP;
	case TAPIS_ACT_DROP:
		return XDP_DROP;
	case TAPIS_ACT_REDIRECT:
		return do_redirect(ctx, v->r);
	default:
		return XDP_PASS;
	}
}

#endif
