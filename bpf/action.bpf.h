/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: the verdict stage. Picks the winning rule from the candidates,
 * counts it, and turns its action into an XDP return code. */
#ifndef TAPIS_ACTION_BPF_H
#define TAPIS_ACTION_BPF_H

#include <linux/if_ether.h>
#include "maps.bpf.h"
#include "cursor.bpf.h"

static __always_inline void count_reason(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&tapis_reasons, &reason);

	if (v)
		*v += 1;
}

static __always_inline void count_stat(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&tapis_stats, &stat);

	if (v)
		*v += 1;
}

static __always_inline struct tapis_rule *rule_get(__u32 gen, __u32 id)
{
	__u32 k = (gen & 1) * TAPIS_MAX_RULES + (id & (TAPIS_MAX_RULES - 1));

	return bpf_map_lookup_elem(&tapis_rules, &k);
}

/* A candidate counts only while its rule is active and not expired; an
 * expired match is counted on its rule so auditors see it stopped acting. */
static __always_inline struct tapis_rule *rule_usable(__u32 gen, __u32 id)
{
	struct tapis_rule *r;

	if (!id)
		return NULL;
	r = rule_get(gen, id);
	if (!r || !(r->flags & TAPIS_RF_ACTIVE))
		return NULL;
	if ((r->flags & TAPIS_RF_EXPIRES) && bpf_ktime_get_tai_ns() >= r->expires_tai) {
		struct tapis_counter *c = bpf_map_lookup_elem(&tapis_counters, &id);

		if (c)
			c->expired += 1;
		count_stat(TAPIS_S_EXPIRED);
		return NULL;
	}
	return r;
}

struct verdict {
	__u32 rule;
	struct tapis_rule *r;
};

/* Precedence (DESIGN.md "Matching semantics"): an allow anywhere wins;
 * otherwise the host rule beats net rules; between the two net directions
 * the longer prefix wins, destination on a tie. */
static __always_inline struct verdict decide(__u32 gen, __u32 host_rule, __u32 dst_ent,
					     __u32 src_ent)
{
	struct verdict v = {};
	__u32 ids[3];
	struct tapis_rule *rs[3];
	int i;

	ids[0] = host_rule;
	if (tapis_ent_plen(src_ent) > tapis_ent_plen(dst_ent) || !dst_ent) {
		ids[1] = tapis_ent_rule(src_ent);
		ids[2] = tapis_ent_rule(dst_ent);
	} else {
		ids[1] = tapis_ent_rule(dst_ent);
		ids[2] = tapis_ent_rule(src_ent);
	}
#pragma unroll
	for (i = 0; i < 3; i++)
		rs[i] = rule_usable(gen, ids[i]);
#pragma unroll
	for (i = 0; i < 3; i++) {
		if (rs[i] && rs[i]->action == TAPIS_ACT_ALLOW) {
			v.rule = ids[i];
			v.r = rs[i];
			return v;
		}
	}
#pragma unroll
	for (i = 0; i < 3; i++) {
		if (rs[i]) {
			v.rule = ids[i];
			v.r = rs[i];
			return v;
		}
	}
	return v;
}

static __always_inline void count_rule(__u32 rule, __u32 len)
{
	struct tapis_counter *c = bpf_map_lookup_elem(&tapis_counters, &rule);

	if (c) {
		c->packets += 1;
		c->bytes += len;
		c->last_ns = bpf_ktime_get_coarse_ns();
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

static __always_inline int do_redirect(struct pkt *p, struct tapis_rule *r)
{
	struct ethhdr *eth = p->data;

	if (!r->redirect_ifindex || (void *)(eth + 1) > p->c.end) {
		count_stat(TAPIS_S_REDIRECT_ERR);
		return XDP_DROP;
	}
	__builtin_memcpy(eth->h_dest, r->redirect_dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, r->redirect_smac, ETH_ALEN);
	return bpf_redirect(r->redirect_ifindex, 0);
}

/* Non-DNS, non-TCP-stream packets: reject and sinkhole have nothing to
 * answer with, so they drop (DESIGN.md "Actions", other packets). */
static __always_inline int apply_action(struct pkt *p, struct verdict *v)
{
	__u32 action = v->r ? v->r->action : TAPIS_ACT_NONE;

	count_action(action, p->len);
	if (!v->r)
		return XDP_PASS;
	count_rule(v->rule, p->len);
	switch (action) {
	case TAPIS_ACT_DROP:
	case TAPIS_ACT_REJECT:
	case TAPIS_ACT_SINKHOLE:
		return XDP_DROP;
	case TAPIS_ACT_REDIRECT:
		return do_redirect(p, v->r);
	default:
		return XDP_PASS;
	}
}

#endif
