// SPDX-License-Identifier: GPL-2.0
/*
 * edit.c - live edits of the running policy (`tapis host|net add|del`):
 * one pattern or prefix of one rule, written into the active generation in
 * place, in an order that never lets a packet see a half-made entry. A
 * reload starts from the policy file again.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "compile.h"
#include "edits.h"
#include "gen.h"
#include "host_filter.h"
#include "hostname.h"
#include "log.h"
#include "tapis.h"

/* The id of a rule of the running policy by name, quietly; -ENOENT. */
static int rule_id(struct tapis *t, const char *name, uint32_t gen, uint32_t *id,
		   struct tapis_rule_meta *m)
{
	struct tapis_rule r;
	uint32_t k;

	for (uint32_t i = 1; i < TAPIS_MAX_RULES; i++) {
		if (bpf_map_lookup_elem(t->map_fd[M_RULE_META], &i, m))
			return -errno;
		if (!m->in_use || strcmp(m->name, name))
			continue;
		k = gen * TAPIS_MAX_RULES + i;
		if (bpf_map_lookup_elem(t->map_fd[M_RULES], &k, &r) || !(r.flags & TAPIS_RF_ACTIVE))
			return -ENOENT;
		*id = i;
		return 0;
	}
	return -ENOENT;
}

static int live_rule(struct tapis *t, const char *name, uint32_t gen, uint32_t *id,
		     struct tapis_rule_meta *m)
{
	int err = rule_id(t, name, gen, id, m);

	if (err == -ENOENT)
		pr_err("no rule named '%s' in the running policy", name);
	return err;
}

int tapis_rule_reference(struct tapis *t, const char *name, char *out, size_t n)
{
	struct tapis_rule_meta m;

	/* Ids are handed out from 1 up: the scan ends early in practice. */
	for (uint32_t i = 1; i < TAPIS_MAX_RULES; i++) {
		if (bpf_map_lookup_elem(t->map_fd[M_RULE_META], &i, &m))
			return -errno;
		if (m.in_use && !strcmp(m.name, name)) {
			snprintf(out, n, "%s", m.reference);
			return 0;
		}
	}
	return -ENOENT;
}

int tapis_timed_rule(struct tapis *t, const char *base, int64_t expires, char *name, size_t n)
{
	struct tapis_rule_meta bm, m;
	struct tapis_rule r;
	uint32_t gen, bid, id, k;
	uint64_t tai;
	int err;

	err = gen_active(t, &gen) ?: live_rule(t, base, gen, &bid, &bm);
	if (err)
		return err;
	if (!edits_timed_name(base, expires, name, n)) {
		pr_err("rule name '%s' is too long for an entry with an expiry", base);
		return -ENAMETOOLONG;
	}
	if (rule_id(t, name, gen, &id, &m) == 0)
		return 0; /* entries with this expiry have their rule already */
	/* A free id: not in use by any name (a name a reload dropped keeps
	 * its id until no generation has it). */
	for (id = 1; id < TAPIS_MAX_RULES; id++) {
		if (bpf_map_lookup_elem(t->map_fd[M_RULE_META], &id, &m))
			return -errno;
		if (!m.in_use)
			break;
	}
	if (id == TAPIS_MAX_RULES) {
		pr_err("no rule id left for '%s' (at most %d rules)", name, TAPIS_MAX_RULES - 1);
		return -ENOSPC;
	}
	k = gen * TAPIS_MAX_RULES + bid;
	if (bpf_map_lookup_elem(t->map_fd[M_RULES], &k, &r))
		return -errno;
	tai = (uint64_t)(expires * 1000000000LL + tai_offset_ns());
	if (!(r.flags & TAPIS_RF_EXPIRES) || tai < r.expires_tai)
		r.expires_tai = tai;
	r.flags |= TAPIS_RF_EXPIRES;
	m = bm;
	snprintf(m.name, sizeof(m.name), "%s", name);
	if (!m.expires_unix || (uint64_t)expires < m.expires_unix)
		m.expires_unix = (uint64_t)expires;
	m.since_unix = (uint64_t)time(NULL);
	m.n_v4 = m.n_v6 = m.n_hosts = 0;
	m.in_use = 1;
	/* Counters, name, then the rule the entries will point at. */
	err = zero_counters(t, id);
	if (err)
		return err;
	if (bpf_map_update_elem(t->map_fd[M_RULE_META], &id, &m, BPF_ANY))
		return -errno;
	k = gen * TAPIS_MAX_RULES + id;
	if (bpf_map_update_elem(t->map_fd[M_RULES], &k, &r, BPF_ANY))
		return -errno;
	return 0;
}

/* The rule's entry counts, after an edit that is in force: a failure
 * leaves stats off by one until the next reload, and is said so. */
static void meta_update(struct tapis *t, uint32_t id, const struct tapis_rule_meta *m)
{
	if (bpf_map_update_elem(t->map_fd[M_RULE_META], &id, m, BPF_ANY))
		pr_warn("rule '%s': the edit is in force, but its entry count was not updated: %s",
			m->name, strerror(errno));
}

int tapis_net_edit(struct tapis *t, const char *rule, const struct net_entry *e, bool add)
{
	struct tapis_rule_meta m;
	struct tapis_settings set;
	struct net_tables nt;
	uint32_t gen, id, owner = 0;
	int err;

	err = gen_active(t, &gen) ?: live_rule(t, rule, gen, &id, &m);
	if (err)
		return err;
	err = net_tables_open(&nt, t, gen);
	if (err)
		return err;
	int done[TAPIS_DIR_MAX], n_done = 0;
	char what[INET6_ADDRSTRLEN + 8];

	inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, what, INET6_ADDRSTRLEN);
	snprintf(what + strlen(what), sizeof(what) - strlen(what), "/%u", e->plen);
	for (int d = 0; d < TAPIS_DIR_MAX && !err; d++) {
		if (!(m.dirs & TAPIS_DIR_BIT(d)))
			continue;
		err = add ? net_insert(&nt, d, e, id, &owner) : net_delete(&nt, d, e, id);
		if (!err)
			done[n_done++] = d;
	}
	/* A `both` rule edits two directions: never leave one of them done. */
	for (int i = 0; err && i < n_done; i++) {
		uint32_t o;

		if (add)
			net_delete(&nt, done[i], e, id);
		else
			net_insert(&nt, done[i], e, id, &o);
	}
	if (err == -EEXIST || err == -EPERM) {
		struct tapis_rule_meta om;

		if (err == -EPERM)
			owner = 0;
		if (owner && bpf_map_lookup_elem(t->map_fd[M_RULE_META], &owner, &om) == 0)
			pr_err("%s belongs to rule '%s'", what, om.name);
		else
			pr_err("%s is not in rule '%s'", what, rule);
	} else if (err == -ENOENT) {
		pr_err("%s is not in rule '%s'", what, rule);
	} else if (err == -EALREADY) {
		pr_err("%s is already in rule '%s'", what, rule);
	} else if (err) {
		pr_err("%s %s rule '%s': %s", add ? "add" : "delete", what, rule, strerror(-err));
	} else {
		/* Flags and trie use live in the settings slot: written after
		 * the tables, so packets never see a flag before its data. */
		if (bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &gen, &set)) {
			err = -errno;
		} else {
			set.flags |= nt.flags;
			set.v4_chunks_used = (uint16_t)nt.chunks_used;
			set.v4_leaves_used = (uint16_t)nt.leaves_used;
			if (bpf_map_update_elem(t->map_fd[M_SETTINGS], &gen, &set, BPF_ANY))
				err = -errno;
		}
		*(e->family == 4 ? &m.n_v4 : &m.n_v6) += add ? 1 : -1;
		meta_update(t, id, &m);
	}
	net_tables_close(&nt);
	return err;
}

const char *host_kind_words(enum host_kind k)
{
	switch (k) {
	case HOST_EXACT:
		return "that name only";
	case HOST_WILDCARD:
		return "the names under it, not itself";
	default:
		return "the name and every name under it";
	}
}

/* Which rules hold a name's entries, for an operator who named the wrong
 * rule or kind: "'a.example' (the name and every name under it) is in rule
 * 'x'", or that none does. */
static const char *held_by(struct tapis *t, const char *name, const struct tapis_host_val *v,
			   char *buf, size_t n)
{
	/* Rule ids are u16 in a host value, u32 as a map key. */
	uint32_t self_id = v->self_rule, sub_id = v->sub_rule;
	struct tapis_rule_meta ms, mw;
	bool s = self_id && !bpf_map_lookup_elem(t->map_fd[M_RULE_META], &self_id, &ms);
	bool w = sub_id && !bpf_map_lookup_elem(t->map_fd[M_RULE_META], &sub_id, &mw);

	if (s && w && v->self_rule == v->sub_rule)
		snprintf(buf, n, "'%s' (%s) is in rule '%s'", name, host_kind_words(HOST_SUBTREE),
			 ms.name);
	else if (s && w)
		snprintf(buf, n, "'=%s' is in rule '%s', '*.%s' in rule '%s'", name, ms.name, name,
			 mw.name);
	else if (s)
		snprintf(buf, n, "'=%s' is in rule '%s'", name, ms.name);
	else if (w)
		snprintf(buf, n, "'*.%s' is in rule '%s'", name, mw.name);
	else
		snprintf(buf, n, "no rule has an entry for '%s'", name);
	return buf;
}

int tapis_host_edit(struct tapis *t, const char *rule, const struct host_entry *h, bool add)
{
	struct tapis_rule_meta m;
	struct tapis_host_val v = {};
	struct tapis_settings set;
	uint32_t gen, id;
	uint64_t key = hostname_hash(h->name);
	char hint[TAPIS_HOST_MAX * 2 + 3 * TAPIS_NAME_MAX];
	bool self, sub;
	int fd, err;

	err = gen_active(t, &gen) ?: live_rule(t, rule, gen, &id, &m);
	if (err)
		return err;
	fd = gen_inner_fd(t, M_HOSTS, gen);
	if (fd == -ENOENT && add) {
		LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);

		fd = bpf_map_create(BPF_MAP_TYPE_HASH, tapis_map_names[M_HOSTS], 8,
				    sizeof(struct tapis_host_val), 65536, &o);
		if (fd < 0)
			return -errno;
		err = gen_publish_inner(t, M_HOSTS, gen, fd);
		if (err) {
			close(fd);
			return err;
		}
	}
	if (fd < 0) {
		pr_err("'%s' is not in rule '%s'", h->name, rule);
		return -ENOENT;
	}
	host_kind_slots(h->kind, &self, &sub);
	host_table_lookup(t, gen, fd, key, &v);
	if (add) {
		if ((self && v.self_rule && v.self_rule != id) ||
		    (sub && v.sub_rule && v.sub_rule != id)) {
			pr_err("'%s%s' belongs to another rule: %s", host_pattern_prefix(h->kind),
			       h->name, held_by(t, h->name, &v, hint, sizeof(hint)));
			err = -EEXIST;
			goto out;
		}
		if (!((self && v.self_rule != id) || (sub && v.sub_rule != id))) {
			pr_err("'%s%s' is already in rule '%s'", host_pattern_prefix(h->kind),
			       h->name, rule);
			err = -EALREADY;
			goto out;
		}
		if (self)
			v.self_rule = id;
		if (sub)
			v.sub_rule = id;
		/* The match looks up only label counts the settings name:
		 * this pattern's, before its entry exists. */
		if (bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &gen, &set)) {
			err = -errno;
			goto out;
		}
		if (self)
			set.self_labels |= host_labels_bit(h->name);
		if (sub)
			set.sub_labels |= host_labels_bit(h->name);
		if (bpf_map_update_elem(t->map_fd[M_SETTINGS], &gen, &set, BPF_ANY)) {
			err = -errno;
			goto out;
		}
		err = host_table_store(t, gen, fd, key, &v);
		if (err)
			goto out;
		if (!(set.flags & TAPIS_SF_HOSTS)) {
			set.flags |= TAPIS_SF_HOSTS;
			if (bpf_map_update_elem(t->map_fd[M_SETTINGS], &gen, &set, BPF_ANY)) {
				err = -errno;
				goto out;
			}
		}
	} else {
		/* A delete names the entry as it is: "=a.example" of a rule
		 * that holds "a.example" (the name and every name under it)
		 * would lift the name and leave everything under it blocked. */
		bool has_self = v.self_rule == id, has_sub = v.sub_rule == id;

		if (has_self != self || has_sub != sub) {
			if (has_self || has_sub) {
				enum host_kind held = has_self && has_sub ? HOST_SUBTREE
						      : has_self	  ? HOST_EXACT
									  : HOST_WILDCARD;

				pr_err("'%s%s' is not an entry of rule '%s': it holds '%s%s' (%s); "
				       "delete that: tapis host del %s%s --rule %s",
				       host_pattern_prefix(h->kind), h->name, rule,
				       host_pattern_prefix(held), h->name, host_kind_words(held),
				       host_pattern_prefix(held), h->name, rule);
			} else {
				pr_err("'%s%s' is not in rule '%s' (%s)",
				       host_pattern_prefix(h->kind), h->name, rule,
				       held_by(t, h->name, &v, hint, sizeof(hint)));
			}
			err = -ENOENT;
			goto out;
		}
		if (self)
			v.self_rule = 0;
		if (sub)
			v.sub_rule = 0;
		err = host_table_store(t, gen, fd, key, &v);
	}
	if (!err) {
		m.n_hosts += add ? 1 : -1;
		meta_update(t, id, &m);
	}
out:
	close(fd);
	return err;
}
