// SPDX-License-Identifier: GPL-2.0
/*
 * compile.c - struct policy -> struct compiled (compile.h), with no kernel
 * call: rule ids, address-table entries, host-table keys, settings, and
 * the refusals a load would otherwise meet only in the kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "diag.h"
#include "hostname.h"

/* Per kind: a feed merged into an order can share thousands of entries
 * with it, and the count says enough after these. */
#define MAX_CONFLICT_WARNINGS 20

static void warn(struct compiled *c, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void warn(struct compiled *c, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	c->warnings++;
	va_start(ap, fmt);
	vdiag(file, line, "warning", fmt, ap);
	va_end(ap);
}

void host_kind_slots(enum host_kind k, bool *self, bool *sub)
{
	*self = k != HOST_WILDCARD;
	*sub = k != HOST_EXACT;
}

static unsigned label_count(const char *name)
{
	unsigned n = 1;

	for (const char *s = name; *s; s++)
		n += *s == '.';
	return n;
}

uint64_t host_labels_bit(const char *name)
{
	unsigned n = label_count(name);

	return n < 64 ? 1ULL << n : 0;
}

/* ---- rule ids ---- */

static int running_id(const struct tapis_rule_meta *run, const char *name)
{
	for (int id = 1; id < TAPIS_MAX_RULES; id++)
		if (run[id].in_use && strcmp(run[id].name, name) == 0)
			return id;
	return 0;
}

/* Ids follow names across reloads so counters stay monotonic for
 * Prometheus; a new name takes an id nothing running uses, below the
 * running filter's rule slots (sized at load). */
static int assign_ids(struct compiled *c, const struct tapis_rule_meta *run, uint32_t slots)
{
	bool taken[TAPIS_MAX_RULES] = {true}, kept[TAPIS_MAX_RULES] = {false};
	const struct policy *p = c->p;
	uint32_t next = 1;

	/* id 0 is "no rule"; an id the running filter uses is taken, by the
	 * same name in this policy or held for a name it drops. */
	for (uint32_t id = 1; run && id < slots; id++)
		taken[id] = run[id].in_use;
	for (size_t i = 0; i < p->n_rules; i++) {
		c->rules[i].r = &p->rules[i];
		c->rules[i].id = run ? (uint32_t)running_id(run, p->rules[i].name) : 0;
		kept[c->rules[i].id] = true;
	}
	for (uint32_t id = 1; run && id < slots; id++)
		c->ids_held += run[id].in_use && !kept[id];
	/* A policy no filter can hold is told so at the rule the ceiling
	 * falls on, whatever the running filter was loaded with. */
	if (p->n_rules + c->ids_held >= TAPIS_MAX_RULES)
		slots = TAPIS_MAX_RULES;
	c->rule_slots = slots;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];

		if (c->rules[i].id)
			continue;
		while (next < slots && taken[next])
			next++;
		if (next < slots) {
			c->rules[i].id = next;
			taken[next] = true;
			continue;
		}
		if (slots < TAPIS_MAX_RULES) {
			char held[96] = "";

			if (c->ids_held)
				snprintf(held, sizeof(held),
					 ", and %zu ids stay held by running rules this policy "
					 "drops",
					 c->ids_held);
			diag(r->loc.file, r->loc.line, "error",
			     "rule '%s' is rule %zu%s: the filter was loaded for at most %u rule "
			     "ids "
			     "(%u rule slots, sized at load to that policy or "
			     "settings.capacity.rules): set settings.capacity.rules to %zu or "
			     "more, "
			     "then unload and load",
			     r->name, i + 1, held, slots - 1, slots, p->n_rules);
		} else if (c->ids_held)
			diag(r->loc.file, r->loc.line, "error",
			     "rule '%s': more than %d rules, counting the %zu rules of the running "
			     "policy that this one drops (their ids stay in use until the switch; "
			     "reload in two steps)",
			     r->name, TAPIS_MAX_RULES - 1, c->ids_held);
		else
			diag(r->loc.file, r->loc.line, "error",
			     "rule '%s' is rule %zu: a filter holds at most %d rules "
			     "(TAPIS_MAX_RULES)",
			     r->name, i + 1, TAPIS_MAX_RULES - 1);
		return -EINVAL;
	}
	return 0;
}

/* ---- address-table entries ---- */

static int net_cmp(const void *a, const void *b)
{
	const struct compiled_net *x = a, *y = b;
	int d;

	if (x->e->family != y->e->family)
		return x->e->family - y->e->family;
	if (x->e->plen != y->e->plen) /* shorter first: longer ones overwrite */
		return x->e->plen - y->e->plen;
	if (x->dir != y->dir)
		return x->dir - y->dir;
	d = memcmp(x->e->addr, y->e->addr, 16);
	if (d)
		return d;
	return (int)x->order - (int)y->order;
}

static bool same_prefix(const struct compiled_net *a, const struct compiled_net *b)
{
	return a->dir == b->dir && a->e->family == b->e->family && a->e->plen == b->e->plen &&
	       !memcmp(a->e->addr, b->e->addr, 16);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int count_groups(struct compiled *c)
{
	size_t k = 0;
	uint32_t *slots = calloc(c->n_nets ? c->n_nets : 1, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_nets; i++) {
		const struct net_entry *e = c->nets[i].e;

		if (e->family == 4 && e->plen > 24)
			slots[k++] = ((uint32_t)e->addr[0] << 16) | (e->addr[1] << 8) | e->addr[2];
	}
	qsort(slots, k, sizeof(*slots), u32_cmp);
	for (size_t i = 0; i < k; i++)
		c->v4_groups += !i || slots[i] != slots[i - 1];
	free(slots);
	return 0;
}

static void net_conflict(struct compiled *c, const struct compiled_net *lost,
			 const struct compiled_net *kept)
{
	char a[INET6_ADDRSTRLEN];

	if (c->net_conflicts++ >= MAX_CONFLICT_WARNINGS)
		return;
	inet_ntop(lost->e->family == 4 ? AF_INET : AF_INET6, lost->e->addr, a, sizeof(a));
	warn(c, lost->e->loc.file, lost->e->loc.line,
	     "%s/%u (%s) is also in rule '%s' (%s:%u), which keeps it", a, lost->e->plen,
	     lost->dir == TAPIS_DIR_DST ? "dst" : "src", c->p->rules[kept->order].name,
	     kept->e->loc.file, kept->e->loc.line);
}

static uint32_t net_flag(const struct compiled_net *n)
{
	if (n->e->family == 4)
		return n->dir == TAPIS_DIR_DST ? TAPIS_SF_V4_DST : TAPIS_SF_V4_SRC;
	return (n->dir == TAPIS_DIR_DST ? TAPIS_SF_V6_DST : TAPIS_SF_V6_SRC) |
	       (n->e->plen < TAPIS_V6_MIN_HASHED_PLEN ? TAPIS_SF_V6_SHORT : 0);
}

/* Every prefix in every direction of its rule, sorted; of a prefix that
 * several rules hold, an allow rule's entry is kept, else the first in
 * the policy's order. */
static int compile_nets(struct compiled *c)
{
	const struct policy *p = c->p;
	struct compiled_net *all;
	size_t n = 0, cap = 0, kept = 0;

	for (size_t i = 0; i < p->n_rules; i++)
		cap += p->rules[i].n_nets * (p->rules[i].dirs == TAPIS_DIRS_BOTH ? 2 : 1);
	all = calloc(cap ? cap : 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];

		for (size_t j = 0; j < r->n_nets; j++)
			for (uint8_t d = 0; d < TAPIS_DIR_MAX; d++)
				if (r->dirs & TAPIS_DIR_BIT(d))
					all[n++] = (struct compiled_net){
						&r->nets[j], c->rules[i].id, (uint32_t)i, d};
	}
	qsort(all, n, sizeof(*all), net_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i, win = i;

		/* The run of one prefix: allow first, then policy order. */
		for (; j < n && same_prefix(&all[i], &all[j]); j++)
			if (p->rules[all[j].order].action == TAPIS_ACT_ALLOW &&
			    p->rules[all[win].order].action != TAPIS_ACT_ALLOW)
				win = j;
		for (size_t k = i; k < j; k++)
			if (all[k].rule != all[win].rule)
				net_conflict(c, &all[k], &all[win]);
		all[kept++] = all[win];
		i = j;
	}
	if (c->net_conflicts > MAX_CONFLICT_WARNINGS)
		warn(c, p->path ? p->path : "policy", 0, "%zu more prefixes held by two rules",
		     c->net_conflicts - MAX_CONFLICT_WARNINGS);
	c->nets = all;
	c->n_nets = kept;
	for (size_t i = 0; i < kept; i++) {
		const struct compiled_net *e = &all[i];
		struct compiled_rule *cr = &c->rules[e->order];
		uint8_t first = cr->r->dirs & TAPIS_DIRS_DST ? TAPIS_DIR_DST : TAPIS_DIR_SRC;

		*(e->e->family == 4 ? &c->n_v4 : &c->n_v6) += 1;
		/* A prefix of a `both` rule counts once, by its first direction. */
		if (e->dir == first)
			*(e->e->family == 4 ? &cr->n_v4 : &cr->n_v6) += 1;
		c->settings.flags |= net_flag(e);
	}
	return count_groups(c);
}

/* ---- host-table keys ---- */

struct host_item {
	uint64_t key;
	uint32_t order; /* the rule's index in the policy */
	const struct host_entry *h;
	bool allow;
};

static int host_cmp(const void *a, const void *b)
{
	const struct host_item *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->allow != y->allow) /* allow first: it keeps what it names */
		return y->allow - x->allow;
	return (int)x->order - (int)y->order;
}

static void host_conflict(struct compiled *c, const struct host_item *lost,
			  const struct host_item *kept)
{
	if (c->host_conflicts++ >= MAX_CONFLICT_WARNINGS)
		return;
	warn(c, lost->h->loc.file, lost->h->loc.line,
	     "%s%s is also in rule '%s' (%s:%u), which keeps it",
	     host_pattern_prefix(lost->h->kind), lost->h->name, c->p->rules[kept->order].name,
	     kept->h->loc.file, kept->h->loc.line);
}

static int compile_hosts(struct compiled *c)
{
	const struct policy *p = c->p;
	struct host_item *items;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < p->n_rules; i++)
		cap += p->rules[i].n_hosts;
	items = calloc(cap ? cap : 1, sizeof(*items));
	c->host_keys = calloc(cap ? cap : 1, sizeof(*c->host_keys));
	c->host_vals = calloc(cap ? cap : 1, sizeof(*c->host_vals));
	if (!items || !c->host_keys || !c->host_vals) {
		free(items);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; j < p->rules[i].n_hosts; j++) {
			const struct host_entry *h = &p->rules[i].hosts[j];
			unsigned labels = label_count(h->name);
			bool self, sub;

			if (labels > TAPIS_MAX_LABELS)
				warn(c, h->loc.file, h->loc.line,
				     "%s%s has %u labels: names of more than %d labels pass "
				     "unmatched, so it never matches",
				     host_pattern_prefix(h->kind), h->name, labels,
				     TAPIS_MAX_LABELS);
			host_kind_slots(h->kind, &self, &sub);
			if (self)
				c->settings.self_labels |= host_labels_bit(h->name);
			if (sub)
				c->settings.sub_labels |= host_labels_bit(h->name);
			items[n++] = (struct host_item){hostname_hash(h->name), (uint32_t)i, h,
							p->rules[i].action == TAPIS_ACT_ALLOW};
		}
	qsort(items, n, sizeof(*items), host_cmp);
	for (size_t i = 0; i < n;) {
		struct tapis_host_val v = {};
		const struct host_item *self_by = NULL, *sub_by = NULL;
		size_t j = i;

		for (; j < n && items[j].key == items[i].key; j++) {
			const struct host_item *it = &items[j];
			uint32_t id = c->rules[it->order].id;
			bool self, sub, gained = false;

			host_kind_slots(it->h->kind, &self, &sub);
			if (self && v.self_rule && v.self_rule != id)
				host_conflict(c, it, self_by);
			else if (sub && v.sub_rule && v.sub_rule != id)
				host_conflict(c, it, sub_by);
			if (self && !v.self_rule) {
				v.self_rule = (uint16_t)id;
				self_by = it;
				gained = true;
			}
			if (sub && !v.sub_rule) {
				v.sub_rule = (uint16_t)id;
				sub_by = it;
				gained = true;
			}
			c->rules[it->order].n_hosts += gained;
		}
		c->host_keys[c->n_hosts] = items[i].key;
		c->host_vals[c->n_hosts++] = v;
		i = j;
	}
	if (c->host_conflicts > MAX_CONFLICT_WARNINGS)
		warn(c, p->path ? p->path : "policy", 0, "%zu more host patterns held by two rules",
		     c->host_conflicts - MAX_CONFLICT_WARNINGS);
	if (c->n_hosts)
		c->settings.flags |= TAPIS_SF_HOSTS;
	free(items);
	return 0;
}

/* ---- settings ---- */

static void compile_settings(struct compiled *c)
{
	const struct policy_settings *ps = &c->p->settings;
	struct tapis_settings *s = &c->settings;

	for (unsigned w = 0; w < TAPIS_PORT_WORDS; w++)
		for (unsigned k = 0; k < TAPIS_PORT_CLASSES; k++)
			s->ports[w][k] = ps->ports[k][w];
	s->sinkhole_ttl = ps->sinkhole_ttl;
	memcpy(s->sinkhole_v4, ps->sinkhole_v4, 4);
	memcpy(s->sinkhole_v6, ps->sinkhole_v6, 16);
	s->has_sinkhole_v4 = ps->has_sinkhole_v4;
	s->has_sinkhole_v6 = ps->has_sinkhole_v6;
	if (ps->quic_drop)
		s->flags |= TAPIS_SF_QUIC_DROP;
	if (ps->events_rate) {
		s->ev_interval_ns = 1000000000ULL / ps->events_rate;
		s->ev_burst_ns = s->ev_interval_ns * (ps->events_burst ? ps->events_burst : 1);
	}
	c->flows = ps->flows ? ps->flows : TAPIS_FLOWS_DEFAULT;
	c->capacity_names = ps->capacity_names;
	c->capacity_rules = ps->capacity_rules;
	c->capacity_ipv4 = ps->capacity_ipv4;
	c->capacity_edits = ps->capacity_edits ? ps->capacity_edits : TAPIS_EDITS_DEFAULT;
	c->events_ring = ps->events_ring ? ps->events_ring : TAPIS_EVENTS_RING;
}

int policy_compile(const struct policy *p, const struct compile_opts *o, struct compiled *c)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->p = p;
	c->n_rules = p->n_rules;
	c->rules = calloc(p->n_rules ? p->n_rules : 1, sizeof(*c->rules));
	if (!c->rules)
		return -ENOMEM;
	err = assign_ids(c, o ? o->running : NULL,
			 o && o->rule_slots ? o->rule_slots : TAPIS_MAX_RULES);
	if (!err)
		err = compile_nets(c);
	if (!err)
		err = compile_hosts(c);
	if (err) {
		if (err == -ENOMEM)
			diag(p->path ? p->path : "policy", 0, "error", "out of memory");
		compiled_free(c);
		return err;
	}
	compile_settings(c);
	return 0;
}

void compiled_free(struct compiled *c)
{
	free(c->rules);
	free(c->nets);
	free(c->host_keys);
	free(c->host_vals);
	memset(c, 0, sizeof(*c));
}

void compiled_totals(const struct compiled *c, uint64_t *v4, uint64_t *v6, uint64_t *hosts)
{
	*v4 = *v6 = *hosts = 0;
	for (size_t i = 0; i < c->n_rules; i++) {
		*v4 += c->rules[i].n_v4;
		*v6 += c->rules[i].n_v6;
		*hosts += c->rules[i].n_hosts;
	}
}
