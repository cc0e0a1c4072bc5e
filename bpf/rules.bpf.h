/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: rule slots of the active generation and the fail-open counters.
 * Shared by the match stages (a hostname walk asks whether each pattern it
 * meets still acts) and the verdict stage. */
#ifndef TAPIS_RULES_BPF_H
#define TAPIS_RULES_BPF_H
#ifndef __BPF__
#error "BPF-only header"
#endif

#include "maps.bpf.h"

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
	__u32 k = (gen & 1) * (rule_mask + 1) + (id & rule_mask);

	return bpf_map_lookup_elem(&tapis_rules, &k);
}

/* Whether rule id acts in this generation. Counts nothing: a hostname walk
 * asks this of every pattern it meets on the way to the most specific. */
enum rule_state {
	RULE_ABSENT = 0, /* no such rule in this generation */
	RULE_LIVE,
	RULE_EXPIRED,
};

static __always_inline enum rule_state rule_state(__u32 gen, __u32 id)
{
	struct tapis_rule *r;

	if (!id)
		return RULE_ABSENT;
	r = rule_get(gen, id);
	if (!r || !(r->flags & TAPIS_RF_ACTIVE))
		return RULE_ABSENT;
	if ((r->flags & TAPIS_RF_EXPIRES) && bpf_ktime_get_tai_ns() >= r->expires_tai)
		return RULE_EXPIRED;
	return RULE_LIVE;
}

/* A match ignored because its rule expired: counted on the rule, so
 * auditors see it stopped acting, and in the global stats. */
static __always_inline void count_expired(__u32 id)
{
	struct tapis_counter *c = bpf_map_lookup_elem(&tapis_counters, &id);

	if (c)
		c->expired += 1;
	count_stat(TAPIS_S_EXPIRED);
}

/* A candidate counts only while its rule is active and not expired; an
 * expired match is counted on its rule. */
static __always_inline struct tapis_rule *rule_usable(__u32 gen, __u32 id)
{
	struct tapis_rule *r;

	if (!id)
		return NULL;
	r = rule_get(gen, id);
	if (!r || !(r->flags & TAPIS_RF_ACTIVE))
		return NULL;
	if ((r->flags & TAPIS_RF_EXPIRES) && bpf_ktime_get_tai_ns() >= r->expires_tai) {
		count_expired(id);
		return NULL;
	}
	return r;
}

#endif
