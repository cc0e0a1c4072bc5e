/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compile.h - a parsed policy (policy.h) turned into what the kernel tables
 * will hold, by a pure step that load, reload and check share.
 *
 * policy_compile() makes no kernel call, reads no file and no clock: it
 * gives every rule its id (the running filter's id for a name it already
 * has, so counters follow names), turns nets into one table entry per
 * prefix and direction (deduplicated; a prefix two rules hold goes to one
 * of them, with a warning naming both lines), host patterns into host-table
 * keys, and the settings into the settings slot. It refuses what no filter
 * could hold, with FILE:LINE, so that `tapis check` refuses it too. Its
 * diagnostics go where the parser's go (policy_set_diag).
 *
 * compiled_resolve() is the one step that asks the system: it looks the
 * redirect interfaces up by name in this network namespace. tapis_apply()
 * (tapis.h) then writes a compiled, resolved policy into the kernel.
 */
#ifndef TAPIS_COMPILE_H
#define TAPIS_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../bpf/tapis_abi.h"
#include "policy.h"

/* One rule, in policy order. */
struct compiled_rule {
	const struct rule *r; /* in the compiled policy: name, action, lines */
	uint32_t id;	      /* 1..TAPIS_MAX_RULES - 1 */
	/* Entries the rule holds after deduplication (a prefix of a `both`
	 * rule once): what `status` and `stats` report as its entries. */
	uint64_t n_v4, n_v6, n_hosts;
	/* Set by compiled_resolve for a redirect rule. */
	uint32_t redirect_ifindex;
	uint8_t redirect_smac[6];
};

/* One address-table entry: a prefix in one direction, for one rule. */
struct compiled_net {
	const struct net_entry *e; /* family, prefix, where it was written */
	uint32_t rule;		   /* its rule's id */
	uint32_t order;		   /* its rule's index in the policy */
	uint8_t dir;		   /* enum tapis_dir */
};

struct compiled {
	const struct policy *p;
	struct compiled_rule *rules; /* p->n_rules of them */
	size_t n_rules;
	/* Shorter prefixes first: inserted in this order, a longer prefix
	 * overwrites the slots it shares with a shorter one. */
	struct compiled_net *nets;
	size_t n_nets;
	size_t n_v4, n_v6; /* entries of nets per family */
	size_t v4_groups;  /* distinct /24s holding a prefix longer than /24 */
	/* The host table, host_keys[i] -> host_vals[i] (the keys are the
	 * hostname_hash of the patterns' names): side by side, as a batch
	 * update and the host filter take them. */
	uint64_t *host_keys;
	struct tapis_host_val *host_vals;
	size_t n_hosts;
	/* The settings slot, but for what the address tables add when they
	 * are built (their flags again, tbl8 sizes). */
	struct tapis_settings settings;
	uint32_t flows;		 /* settings.flows: tapis_flows' size, fixed at load */
	uint32_t capacity_names; /* settings.capacity.names (0: unset), used at load */
	uint32_t capacity_rules; /* settings.capacity.rules (0: unset), used at load */
	uint32_t capacity_edits; /* settings.capacity.edits, used at load */
	uint32_t capacity_ipv4;	 /* settings.capacity.ipv4 (0: unset), used at load */
	uint32_t events_ring;	 /* settings.events.ring, bytes, used at load */
	uint32_t rule_slots;	 /* rule ids were assigned below this */
	unsigned warnings;	 /* printed by the compile */
	size_t net_conflicts;	 /* prefix entries another rule keeps */
	size_t host_conflicts;	 /* host patterns another rule keeps */
	size_t ids_held;	 /* ids held by running rules this policy drops */
	bool resolved;		 /* compiled_resolve succeeded */
};

struct compile_opts {
	/* The running filter's rules, indexed by id (TAPIS_MAX_RULES of
	 * them), or NULL when none runs. A name it has keeps its id; an id it
	 * uses for a name this policy drops is not handed out (the running
	 * generation still counts on it until the switch). */
	const struct tapis_rule_meta *running;
	/* Rule slots of the running filter (ids below it); 0: none runs,
	 * TAPIS_MAX_RULES. */
	uint32_t rule_slots;
};

/* Compile p (which must outlive c). 0; -EINVAL after printing why
 * (FILE:LINE) when no filter can hold the policy; -ENOMEM. On error *c is
 * left empty. o may be NULL. */
int policy_compile(const struct policy *p, const struct compile_opts *o, struct compiled *c);
void compiled_free(struct compiled *c);

/* Look up every redirect rule's interface by name, in this network
 * namespace: its ifindex and its own MAC address (the frames' source).
 * 0; -ENODEV after printing FILE:LINE for an interface that does not
 * exist or has no MAC address. (resolve.c) */
int compiled_resolve(struct compiled *c);

/* Entries of the whole policy, per kind, as `status` will count them. */
void compiled_totals(const struct compiled *c, uint64_t *v4, uint64_t *v6, uint64_t *hosts);

/* Which slots of a host value a pattern of kind k fills: example.com
 * both, =example.com self, *.example.com sub. */
void host_kind_slots(enum host_kind k, bool *self, bool *sub);
/* A pattern's bit in tapis_settings' self_labels and sub_labels: 1 <<
 * its label count (0 past 63 labels, which no name can match). */
uint64_t host_labels_bit(const char *name);

#endif /* TAPIS_COMPILE_H */
