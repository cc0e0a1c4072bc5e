// SPDX-License-Identifier: GPL-2.0
/*
 * edit.c - live edits of the running policy (`tapis host|net add|del`):
 * one pattern or prefix of one rule, written into the active generation in
 * place, in an order that never lets a packet see a half-made entry. A
 * reload starts from the policy file again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

	for (uint32_t i = 1; i < tapis_rule_slots(t); i++) {
		if (bpf_map_lookup_elem(t->map_fd[M_RULE_META], &i, m))
			return -errno;
		if (!m->in_use || strcmp(m->name, name))
			continue;
		k = tapis_rule_key(tapis_rule_slots(t), gen, i);
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
	for (uint32_t i = 1; i < tapis_rule_slots(t); i++) {
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
	for (id = 1; id < tapis_rule_slots(t); id++) {
		if (bpf_map_lookup_elem(t->map_fd[M_RULE_META], &id, &m))
			return -errno;
		if (!m.in_use)
			break;
	}
	if (id == tapis_rule_slots(t)) {
		pr_err("no rule id left for '%s' (the filter was loaded for at most %u rule ids: "
		       "settings.capacity.rules, then unload and load)",
		       name, tapis_rule_slots(t) - 1);
		return -ENOSPC;
	}
	k = tapis_rule_key(tapis_rule_slots(t), gen, bid);
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
	k = tapis_rule_key(tapis_rule_slots(t), gen, id);
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

/* Set the flags that make packets look e up in the directions dirs, before
 * the entry goes in: a flag without an entry costs a lookup, while an entry
 * without its flag (a process killed in between) would be in the tables,
 * found by the next add, and not in force. 0 or -errno. */
static int flags_first(struct tapis *t, uint32_t gen, const struct net_entry *e, uint8_t dirs)
{
	struct tapis_settings set;
	uint32_t want = 0;

	for (int d = 0; d < TAPIS_DIR_MAX; d++) {
		if (!(dirs & TAPIS_DIR_BIT(d)))
			continue;
		if (e->family == 4)
			want |= d == TAPIS_DIR_DST ? TAPIS_SF_V4_DST : TAPIS_SF_V4_SRC;
		else
			want |= d == TAPIS_DIR_DST ? TAPIS_SF_V6_DST : TAPIS_SF_V6_SRC;
	}
	if (e->family == 6 && e->plen < TAPIS_V6_MIN_HASHED_PLEN)
		want |= TAPIS_SF_V6_SHORT;
	if (bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &gen, &set))
		return -errno;
	if ((set.flags & want) == want)
		return 0;
	set.flags |= want;
	return bpf_map_update_elem(t->map_fd[M_SETTINGS], &gen, &set, BPF_ANY) ? -errno : 0;
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
	if (add) {
		err = flags_first(t, gen, e, m.dirs);
		if (err) {
			pr_err("add to rule '%s': write the settings: %s", rule, strerror(-err));
			net_tables_close(&nt);
			return err;
		}
	}
	int done[TAPIS_DIR_MAX], n_done = 0;
	char what[INET6_ADDRSTRLEN + 8];

	inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, what, INET6_ADDRSTRLEN);
	snprintf(what + strlen(what), sizeof(what) - strlen(what), "/%u", e->plen);
	int n_dirs = 0, n_there = 0;

	for (int d = 0; d < TAPIS_DIR_MAX && !err; d++) {
		if (!(m.dirs & TAPIS_DIR_BIT(d)))
			continue;
		n_dirs++;
		err = add ? net_insert(&nt, d, e, id, &owner) : net_delete(&nt, d, e, id);
		if (!err)
			done[n_done++] = d;
		/* A direction made already (an edit killed between the two
		 * of a `both` rule): the other is still to make. */
		if (err == (add ? -EALREADY : -ENOENT)) {
			n_there++;
			err = 0;
		}
	}
	/* Nothing to do in any direction: the edit was made before. */
	if (!err && n_there == n_dirs)
		err = add ? -EALREADY : -ENOENT;
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

static int host_edit_once(struct tapis *t, const char *rule, const struct host_entry *h, bool add)
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
				    sizeof(struct tapis_host_val), host_hash_entries(t), &o);
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
		/* The match looks up only label counts the settings name, and
		 * host tables only when they say there are hosts: both before
		 * the entry exists, so that storing it is the one step that
		 * puts it in force (a process killed before has made nothing
		 * the next one would take for a made edit). */
		if (bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &gen, &set)) {
			err = -errno;
			goto out;
		}
		if (self)
			set.self_labels |= host_labels_bit(h->name);
		if (sub)
			set.sub_labels |= host_labels_bit(h->name);
		set.flags |= TAPIS_SF_HOSTS;
		if (bpf_map_update_elem(t->map_fd[M_SETTINGS], &gen, &set, BPF_ANY)) {
			err = -errno;
			goto out;
		}
		err = host_table_store(t, gen, fd, key, &v);
		if (err)
			goto out;
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

/* The running rules' host entries, counted once per handle and then kept
 * up to date by the edits it makes. */
static int64_t host_entries(struct tapis *t)
{
	struct tapis_rule_meta *m;

	if (t->host_entries >= 0)
		return t->host_entries;
	m = calloc(TAPIS_MAX_RULES, sizeof(*m));
	if (!m)
		return 0;
	if (tapis_array_read(t->map_fd[M_RULE_META], 0, tapis_rule_slots(t), m, sizeof(*m)) == 0) {
		t->host_entries = 0;
		for (uint32_t id = 1; id < tapis_rule_slots(t); id++)
			t->host_entries += m[id].in_use ? m[id].n_hosts : 0;
	}
	free(m);
	return t->host_entries < 0 ? 0 : t->host_entries;
}

int tapis_host_edit(struct tapis *t, const char *rule, const struct host_entry *h, bool add)
{
	uint32_t log2 = tapis_host_log2(t);
	int err;

	/* Past three quarters of the index's slots names start to miss it
	 * and cost the data path a hash-map call: grow before that, as a
	 * reload would (below, a full table forces it). */
	if (add && t->pin_path[0] && log2 < TAPIS_HOST_IDX_LOG2_MAX &&
	    (size_t)host_entries(t) + 1 > tapis_host_capacity(log2)) {
		err = tapis_grow_hosts(t, log2 + 1);
		if (err)
			return err;
		pr_warn("the host tables hold %zu host names at most: grown to %u index slots "
			"(%zu names), the program replaced on every interface",
			tapis_host_capacity(log2), 2u << log2, tapis_host_capacity(log2 + 1));
		log2++;
	}
	err = host_edit_once(t, rule, h, add);
	if (!err && t->host_entries >= 0)
		t->host_entries += add ? 1 : -1;
	if (err != -ENOSPC || !add)
		return err;
	/* The tables are full: a program with tables twice the size takes
	 * the running policy and edits as they are, then this name. */
	if (t->pin_path[0] && log2 < TAPIS_HOST_IDX_LOG2_MAX) {
		err = tapis_grow_hosts(t, log2 + 1);
		if (!err)
			/* Memory an operator did not ask for by name: say so. */
			pr_warn("the host tables hold %zu host names at most: grown to %u index "
				"slots (%zu names), the program replaced on every interface",
				tapis_host_capacity(log2), 2u << log2,
				tapis_host_capacity(log2 + 1));
		if (!err)
			err = host_edit_once(t, rule, h, add);
		if (err != -ENOSPC)
			return err;
	}
	pr_err("'%s%s': the host tables are full (%zu host names, at their largest or not "
	       "pinned)",
	       host_pattern_prefix(h->kind), h->name, tapis_host_capacity(tapis_host_log2(t)));
	return -ENOSPC;
}

/* Make the edit a pending record stands for: its op, or for a record being
 * undone the opposite. Already made counts as made. */
static int complete_one(struct tapis *t, const struct edit_rec *r, bool *done)
{
	bool add = (r->v.op == TAPIS_EDIT_ADD) == (r->v.pending == TAPIS_EDIT_PENDING);
	char rule[TAPIS_NAME_MAX], why[128];
	struct host_pattern hp;
	struct host_entry h;
	struct net_entry e;
	bool host_bits;
	int err = 0;

	snprintf(rule, sizeof(rule), "%s", r->k.rule);
	/* A timed entry lives in its own rule "<rule>@<time>", which an add
	 * killed before it made that rule must make. */
	if (r->v.op == TAPIS_EDIT_ADD && r->v.expires_unix)
		err = add ? tapis_timed_rule(t, r->k.rule, r->v.expires_unix, rule, sizeof(rule))
			  : (edits_timed_name(r->k.rule, r->v.expires_unix, rule, sizeof(rule))
				     ? 0
				     : -ENAMETOOLONG);
	if (!err && r->k.type == TAPIS_EDIT_NET) {
		memset(&e, 0, sizeof(e));
		err = parse_cidr(r->k.entry, &e, &host_bits) ? -EINVAL : 0;
		e.loc.file = "pending edit";
		err = err ?: tapis_net_edit(t, rule, &e, add);
	} else if (!err) {
		err = host_pattern_parse(r->k.entry, &hp, why, sizeof(why)) ? -EINVAL : 0;
		memset(&h, 0, sizeof(h));
		h.kind = hp.kind;
		h.name = hp.name;
		h.loc.file = "pending edit";
		err = err ?: tapis_host_edit(t, rule, &h, add);
	}
	*done = !err || (add && err == -EALREADY) || (!add && err == -ENOENT);
	return *done ? 0 : err;
}

int tapis_complete_edits(struct tapis *t)
{
	struct edit_intent in;
	struct edit_rec *v;
	size_t n, made = 0;
	int err, ret = 0;
	bool done;

	err = edits_list(t, &v, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (v[i].v.pending == TAPIS_EDIT_SETTLED)
			continue;
		/* The edit functions say why an edit cannot be made; here
		 * "already made" is the expected answer. */
		log_mute(true);
		err = complete_one(t, &v[i], &done);
		log_mute(false);
		memset(&in, 0, sizeof(in));
		in.k = v[i].k;
		in.v = v[i].v;
		/* Not made (its rule left the policy): the record goes, or
		 * an undo leaves the record as it was. */
		in.had_old = v[i].v.pending == TAPIS_EDIT_UNDOING;
		in.old = v[i].v;
		in.old.pending = TAPIS_EDIT_SETTLED;
		if (!done)
			pr_warn("a %s %s of '%s' in rule '%s' that a killed tapis left half made "
				"cannot be made (%s): rolled back",
				edit_type_name(v[i].k.type),
				(v[i].v.op == TAPIS_EDIT_ADD) ==
						(v[i].v.pending == TAPIS_EDIT_PENDING)
					? "add"
					: "del",
				v[i].k.entry, v[i].k.rule, strerror(-err));
		err = edits_settle(t, &in, done);
		if (err)
			ret = ret ?: err;
		else if (done)
			made++;
	}
	free(v);
	if (made)
		pr_info("completed %zu live edit%s a killed tapis left half made", made,
			made == 1 ? "" : "s");
	return ret;
}
