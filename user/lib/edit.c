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
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "compile.h"
#include "gen.h"
#include "host_filter.h"
#include "hostname.h"
#include "log.h"
#include "tapis.h"

static int live_rule(struct tapis *t, const char *name, uint32_t gen, uint32_t *id,
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
			break;
		*id = i;
		return 0;
	}
	pr_err("no rule named '%s' in the running policy", name);
	return -ENOENT;
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
		/* Flags and tbl8 use live in the settings slot: written after
		 * the tables, so packets never see a flag before its data. */
		if (bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &gen, &set)) {
			err = -errno;
		} else {
			set.flags |= nt.flags;
			set.tbl8_used = nt.tbl8_used;
			if (bpf_map_update_elem(t->map_fd[M_SETTINGS], &gen, &set, BPF_ANY))
				err = -errno;
		}
		*(e->family == 4 ? &m.n_v4 : &m.n_v6) += add ? 1 : -1;
		meta_update(t, id, &m);
	}
	net_tables_close(&nt);
	return err;
}

int tapis_host_edit(struct tapis *t, const char *rule, const struct host_entry *h, bool add)
{
	struct tapis_rule_meta m;
	struct tapis_host_val v = {};
	struct tapis_settings set;
	uint32_t gen, id;
	uint64_t key = hostname_hash(h->name);
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
		if (bpf_map_update_elem(t->map_fd[M_HOSTS], &gen, &fd, BPF_ANY)) {
			err = -errno;
			close(fd);
			return err;
		}
	}
	if (fd < 0) {
		pr_err("'%s' is not in rule '%s'", h->name, rule);
		return -ENOENT;
	}
	host_kind_slots(h->kind, &self, &sub);
	bpf_map_lookup_elem(fd, &key, &v);
	if (add) {
		if ((self && v.self_rule && v.self_rule != id) ||
		    (sub && v.sub_rule && v.sub_rule != id)) {
			pr_err("'%s' belongs to another rule", h->name);
			err = -EEXIST;
			goto out;
		}
		if (!((self && v.self_rule != id) || (sub && v.sub_rule != id))) {
			pr_err("'%s' is already in rule '%s'", h->name, rule);
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
		if (bpf_map_update_elem(fd, &key, &v, BPF_ANY)) {
			err = errno == E2BIG ? -ENOSPC : -errno;
			goto out;
		}
		err = host_filter_set(t, gen, fd, key, &v);
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
		if ((self && v.self_rule != id) || (sub && v.sub_rule != id)) {
			pr_err("'%s' is not in rule '%s'", h->name, rule);
			err = -ENOENT;
			goto out;
		}
		if (self)
			v.self_rule = 0;
		if (sub)
			v.sub_rule = 0;
		if (!v.self_rule && !v.sub_rule)
			err = bpf_map_delete_elem(fd, &key) ? -errno : 0;
		else
			err = bpf_map_update_elem(fd, &key, &v, BPF_ANY) ? -errno : 0;
		if (!err)
			err = host_filter_set(t, gen, fd, key, &v);
	}
	if (!err) {
		m.n_hosts += add ? 1 : -1;
		meta_update(t, id, &m);
	}
out:
	close(fd);
	return err;
}
