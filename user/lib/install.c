// SPDX-License-Identifier: GPL-2.0
/* Policy -> maps. A policy is compiled straight into the idle generation:
 * stable rule ids, rule and settings slots, address and host tables. Only
 * when all of it is in place does one write to tapis_ctl flip packets over;
 * on any error before that the idle slot is emptied and the running policy
 * never noticed. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "gen.h"
#include "host_filter.h"
#include "hostname.h"
#include "log.h"
#include "tapis.h"

#define MAX_CONFLICT_WARNINGS 20

static int64_t tai_offset_ns(void)
{
	struct timespec tai, rt;

	clock_gettime(CLOCK_TAI, &tai);
	clock_gettime(CLOCK_REALTIME, &rt);
	return (int64_t)(tai.tv_sec - rt.tv_sec) * 1000000000LL + (tai.tv_nsec - rt.tv_nsec);
}

static int read_meta(struct tapis *t, struct tapis_rule_meta *meta)
{
	for (uint32_t id = 0; id < TAPIS_MAX_RULES; id++)
		if (bpf_map_lookup_elem(t->map_fd[M_RULE_META], &id, &meta[id]))
			return -errno;
	return 0;
}

static int find_rule_id(const struct tapis_rule_meta *meta, const char *name)
{
	for (int id = 1; id < TAPIS_MAX_RULES; id++)
		if (meta[id].in_use && strcmp(meta[id].name, name) == 0)
			return id;
	return -ENOENT;
}

/* Rule ids follow rule names across reloads so counters stay monotonic for
 * Prometheus; a new name takes a free id (never one the running generation
 * still uses). */
static int assign_ids(const struct policy *p, const struct tapis_rule_meta *meta, uint32_t *ids)
{
	bool taken[TAPIS_MAX_RULES] = {true};
	int next = 1;

	for (int id = 1; id < TAPIS_MAX_RULES; id++)
		taken[id] = meta[id].in_use;
	for (size_t i = 0; i < p->n_rules; i++) {
		int id = find_rule_id(meta, p->rules[i].name);

		ids[i] = id > 0 ? (uint32_t)id : 0;
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		if (ids[i])
			continue;
		while (next < TAPIS_MAX_RULES && taken[next])
			next++;
		if (next >= TAPIS_MAX_RULES) {
			pr_err("%s:%u: more than %d rules (counting rules removed by this reload)",
			       p->rules[i].loc.file, p->rules[i].loc.line, TAPIS_MAX_RULES - 1);
			return -ENOSPC;
		}
		ids[i] = next;
		taken[next] = true;
	}
	return 0;
}

static int redirect_target(const struct rule *r, struct tapis_rule *out)
{
	struct ifreq ifr = {};
	int fd, err = 0;

	out->redirect_ifindex = if_nametoindex(r->redirect_iface);
	if (!out->redirect_ifindex) {
		pr_err("%s:%u: rule '%s': redirect interface %s: %s", r->loc.file, r->loc.line,
		       r->name, r->redirect_iface, strerror(errno));
		return -ENODEV;
	}
	memcpy(out->redirect_dmac, r->redirect_mac, 6);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", r->redirect_iface);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(out->redirect_smac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/* ---- net entries: sort, resolve duplicates, insert ---- */
struct net_item {
	const struct net_entry *e;
	uint32_t rule;
	uint32_t order; /* policy order of the rule */
	uint8_t dir;
	uint8_t allow;
};

static int net_item_cmp(const void *a, const void *b)
{
	const struct net_item *x = a, *y = b;
	int c;

	if (x->e->family != y->e->family)
		return x->e->family - y->e->family;
	if (x->e->plen != y->e->plen) /* shorter first: longer ones overwrite */
		return x->e->plen - y->e->plen;
	if (x->dir != y->dir)
		return x->dir - y->dir;
	c = memcmp(x->e->addr, y->e->addr, 16);
	if (c)
		return c;
	if (x->allow != y->allow) /* allow wins a tie */
		return y->allow - x->allow;
	return (int)x->order - (int)y->order;
}

/* Entries each rule ended up holding, by policy order. */
struct rule_counts {
	uint64_t v4, v6, hosts;
};

static int build_nets(struct net_tables *nt, const struct policy *p, const uint32_t *ids,
		      size_t *n_v4, size_t *n_v6, struct rule_counts *cnt)
{
	struct net_item *items;
	size_t n = 0, cap = 0, warned = 0;
	int err = 0;

	for (size_t i = 0; i < p->n_rules; i++)
		cap += p->rules[i].n_nets * (p->rules[i].dirs == TAPIS_DIRS_BOTH ? 2 : 1);
	items = calloc(cap ? cap : 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];

		for (size_t j = 0; j < r->n_nets; j++)
			for (int d = 0; d < TAPIS_DIR_MAX; d++)
				if (r->dirs & TAPIS_DIR_BIT(d))
					items[n++] =
						(struct net_item){&r->nets[j], ids[i], i, d,
								  r->action == TAPIS_ACT_ALLOW};
	}
	qsort(items, n, sizeof(*items), net_item_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct net_item *it = &items[i];
		uint32_t owner;

		if (i && it->dir == items[i - 1].dir && it->e->family == items[i - 1].e->family &&
		    it->e->plen == items[i - 1].e->plen &&
		    !memcmp(it->e->addr, items[i - 1].e->addr, 16)) {
			const struct net_item *w = &items[i - 1];

			while (w > items && w[-1].e->plen == it->e->plen && w[-1].dir == it->dir &&
			       !memcmp(w[-1].e->addr, it->e->addr, 16))
				w--;
			if (w->rule != it->rule && warned++ < MAX_CONFLICT_WARNINGS) {
				char a[INET6_ADDRSTRLEN];

				inet_ntop(it->e->family == 4 ? AF_INET : AF_INET6, it->e->addr, a,
					  sizeof(a));
				pr_warn("%s:%u: %s/%u (%s) is also in rule '%s' (%s:%u), which "
					"keeps it",
					it->e->loc.file, it->e->loc.line, a, it->e->plen,
					it->dir == TAPIS_DIR_DST ? "dst" : "src",
					p->rules[w->order].name, w->e->loc.file, w->e->loc.line);
			}
			continue;
		}
		err = net_insert(nt, it->dir, it->e, it->rule, &owner);
		if (err) {
			pr_err("%s:%u: cannot add prefix: %s", it->e->loc.file, it->e->loc.line,
			       strerror(-err));
			break;
		}
		if (it->e->family == 4)
			(*n_v4)++;
		else
			(*n_v6)++;
		/* A prefix of a `both` rule counts once, by its dst entry. */
		if (it->dir ==
		    (p->rules[it->order].dirs & TAPIS_DIRS_DST ? TAPIS_DIR_DST : TAPIS_DIR_SRC))
			*(it->e->family == 4 ? &cnt[it->order].v4 : &cnt[it->order].v6) += 1;
	}
	if (warned > MAX_CONFLICT_WARNINGS)
		pr_warn("%zu more prefixes held by two rules", warned - MAX_CONFLICT_WARNINGS);
	free(items);
	return err;
}

/* ---- hosts ---- */
struct host_item {
	uint64_t hash;
	uint32_t rule;
	uint32_t order;
	const struct host_entry *h;
	uint8_t allow;
};

static int host_item_cmp(const void *a, const void *b)
{
	const struct host_item *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->allow != y->allow)
		return y->allow - x->allow;
	return (int)x->order - (int)y->order;
}

/* Which slots of a host value a pattern of this kind fills. */
static void host_slots(enum host_kind k, bool *self, bool *sub)
{
	*self = k != HOST_WILDCARD;
	*sub = k != HOST_EXACT;
}

static int build_hosts(struct tapis *t, uint32_t gen, const struct policy *p, const uint32_t *ids,
		       size_t *n_hosts, int *fd_out, struct rule_counts *cnt)
{
	struct host_item *items;
	size_t n = 0, cap = 0, warned = 0, batch_n = 0;
	uint64_t *keys = NULL;
	struct tapis_host_val *vals = NULL;
	int fd = -1, err = 0;

	for (size_t i = 0; i < p->n_rules; i++)
		cap += p->rules[i].n_hosts;
	*fd_out = -1;
	items = calloc(cap ? cap : 1, sizeof(*items));
	keys = calloc(cap ? cap : 1, sizeof(*keys));
	vals = calloc(cap ? cap : 1, sizeof(*vals));
	if (!items || !keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; j < p->rules[i].n_hosts; j++) {
			const struct host_entry *h = &p->rules[i].hosts[j];

			items[n++] = (struct host_item){hostname_hash(h->name), ids[i], i, h,
							p->rules[i].action == TAPIS_ACT_ALLOW};
		}
	qsort(items, n, sizeof(*items), host_item_cmp);
	for (size_t i = 0; i < n;) {
		struct tapis_host_val v = {};
		size_t j = i;

		for (; j < n && items[j].hash == items[i].hash; j++) {
			bool self, sub;

			host_slots(items[j].h->kind, &self, &sub);
			if ((self && v.self_rule && v.self_rule != items[j].rule) ||
			    (sub && v.sub_rule && v.sub_rule != items[j].rule)) {
				if (warned++ < MAX_CONFLICT_WARNINGS)
					pr_warn("%s:%u: %s is also in rule '%s', which keeps it",
						items[j].h->loc.file, items[j].h->loc.line,
						items[j].h->name, p->rules[items[i].order].name);
			}
			if ((self && !v.self_rule) || (sub && !v.sub_rule))
				cnt[items[j].order].hosts++;
			if (self && !v.self_rule)
				v.self_rule = items[j].rule;
			if (sub && !v.sub_rule)
				v.sub_rule = items[j].rule;
		}
		keys[batch_n] = items[i].hash;
		vals[batch_n++] = v;
		i = j;
	}
	if (warned > MAX_CONFLICT_WARNINGS)
		pr_warn("%zu more host patterns held by two rules", warned - MAX_CONFLICT_WARNINGS);
	{
		LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
		uint32_t max = batch_n * 2 < 65536 ? 65536 : batch_n * 2;

		fd = bpf_map_create(BPF_MAP_TYPE_HASH, tapis_map_names[M_HOSTS], 8,
				    sizeof(struct tapis_host_val), max, &o);
		if (fd < 0) {
			err = -errno;
			goto out;
		}
	}
	for (size_t off = 0; off < batch_n;) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		uint32_t cnt = batch_n - off > 65536 ? 65536 : batch_n - off;

		if (bpf_map_update_batch(fd, keys + off, vals + off, &cnt, &bo)) {
			err = -errno;
			goto out;
		}
		off += cnt;
	}
	*n_hosts = batch_n;
	/* The filter and index cost 80 MiB: only for a policy with hosts
	 * (a live `host add` makes them when the first pattern comes). */
	err = batch_n ? host_filter_build(t, gen, keys, vals, batch_n) : 0;
	if (err)
		goto out;
	err = gen_publish_inner(t, M_HOSTS, gen, fd);
	if (err)
		goto out;
	*fd_out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	free(items);
	free(keys);
	free(vals);
	return err;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Table sizes: prefixes per family (both directions counted) and the tbl8
 * groups needed, one per distinct /24 holding a longer prefix. */
static int count_nets(const struct policy *p, size_t *n4, size_t *groups, size_t *n6)
{
	size_t n_long = 0, k = 0;
	uint32_t *slots;

	*n4 = *n6 = *groups = 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		size_t dirs = p->rules[i].dirs == TAPIS_DIRS_BOTH ? 2 : 1;

		for (size_t j = 0; j < p->rules[i].n_nets; j++) {
			const struct net_entry *e = &p->rules[i].nets[j];

			if (e->family == 6) {
				*n6 += dirs;
				continue;
			}
			*n4 += dirs;
			n_long += e->plen > 24;
		}
	}
	slots = calloc(n_long ? n_long : 1, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; j < p->rules[i].n_nets; j++) {
			const struct net_entry *e = &p->rules[i].nets[j];

			if (e->family == 4 && e->plen > 24)
				slots[k++] = ((uint32_t)e->addr[0] << 16) | (e->addr[1] << 8) |
					     e->addr[2];
		}
	qsort(slots, k, sizeof(*slots), u32_cmp);
	for (size_t i = 0; i < k; i++)
		*groups += !i || slots[i] != slots[i - 1];
	free(slots);
	return 0;
}

static int write_rules(struct tapis *t, uint32_t gen, const struct policy *p, const uint32_t *ids)
{
	int64_t tai = tai_offset_ns();
	int err;

	for (uint32_t id = 0; id < TAPIS_MAX_RULES; id++) {
		uint32_t k = gen * TAPIS_MAX_RULES + id;
		struct tapis_rule r = {};

		if (bpf_map_update_elem(t->map_fd[M_RULES], &k, &r, BPF_ANY))
			return -errno;
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *pr = &p->rules[i];
		uint32_t k = gen * TAPIS_MAX_RULES + ids[i];
		struct tapis_rule r = {.action = pr->action, .flags = TAPIS_RF_ACTIVE};

		if (pr->expires_unix) {
			r.flags |= TAPIS_RF_EXPIRES;
			r.expires_tai = (uint64_t)(pr->expires_unix * 1000000000LL + tai);
		}
		if (pr->action == TAPIS_ACT_REDIRECT) {
			err = redirect_target(pr, &r);
			if (err)
				return err;
		}
		if (bpf_map_update_elem(t->map_fd[M_RULES], &k, &r, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int zero_counters(struct tapis *t, uint32_t id)
{
	struct tapis_counter *z = calloc(t->ncpus, sizeof(*z));
	int err = 0;

	if (!z)
		return -ENOMEM;
	if (bpf_map_update_elem(t->map_fd[M_COUNTERS], &id, z, BPF_ANY))
		err = -errno;
	free(z);
	return err;
}

static int write_meta(struct tapis *t, const struct policy *p, const uint32_t *ids,
		      struct tapis_rule_meta *meta, const struct rule_counts *cnt)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		struct tapis_rule_meta *m = &meta[ids[i]];
		int err;

		if (!m->in_use) {
			/* A fresh name on a recycled id starts from zero. */
			err = zero_counters(t, ids[i]);
			if (err)
				return err;
			memset(m, 0, sizeof(*m));
			m->since_unix = now;
		}
		snprintf(m->name, sizeof(m->name), "%s", r->name);
		snprintf(m->reference, sizeof(m->reference), "%s", r->reference);
		m->action = r->action;
		m->dirs = r->dirs;
		m->expires_unix = r->expires_unix;
		m->n_v4 = cnt[i].v4;
		m->n_v6 = cnt[i].v6;
		m->n_hosts = cnt[i].hosts;
		m->in_use = 1;
		if (bpf_map_update_elem(t->map_fd[M_RULE_META], &ids[i], m, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* The bit of a pattern's label count in tapis_settings' self_labels and
 * sub_labels. */
static uint64_t host_labels_bit(const char *name)
{
	unsigned n = 1;

	for (const char *c = name; *c; c++)
		n += *c == '.';
	return 1ULL << (n & 63);
}

static void settings_from_policy(struct tapis_settings *s, const struct policy *p)
{
	const struct policy_settings *ps = &p->settings;

	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; j < p->rules[i].n_hosts; j++) {
			const struct host_entry *h = &p->rules[i].hosts[j];
			bool self, sub;

			host_slots(h->kind, &self, &sub);
			if (self)
				s->self_labels |= host_labels_bit(h->name);
			if (sub)
				s->sub_labels |= host_labels_bit(h->name);
		}

	for (unsigned w = 0; w < TAPIS_PORT_WORDS; w++)
		for (unsigned c = 0; c < TAPIS_PORT_CLASSES; c++)
			s->ports[w][c] = ps->ports[c][w];
	s->sinkhole_ttl = ps->sinkhole_ttl;
	memcpy(s->sinkhole_v4, ps->sinkhole_v4, 4);
	memcpy(s->sinkhole_v6, ps->sinkhole_v6, 16);
	s->has_sinkhole_v4 = ps->has_sinkhole_v4;
	s->has_sinkhole_v6 = ps->has_sinkhole_v6;
	if (ps->quic_drop)
		s->flags |= TAPIS_SF_QUIC_DROP;
}

static int update_state(struct tapis *t, const struct policy *p)
{
	struct tapis_state st;
	uint32_t zero = 0;
	char *abs;

	if (bpf_map_lookup_elem(t->map_fd[M_STATE], &zero, &st))
		return -errno;
	abs = p->path ? realpath(p->path, NULL) : NULL;
	snprintf(st.policy_path, sizeof(st.policy_path), "%s", abs ? abs : (p->path ?: ""));
	free(abs);
	if (!st.loaded_unix) {
		st.loaded_unix = time(NULL);
	} else {
		st.reloaded_unix = time(NULL);
		st.reloads++;
	}
	return bpf_map_update_elem(t->map_fd[M_STATE], &zero, &st, BPF_ANY) ? -errno : 0;
}

int tapis_install(struct tapis *t, const struct policy *p)
{
	struct tapis_rule_meta *meta;
	struct tapis_settings set = {};
	struct net_tables nt = {.fd24 = -1};
	uint32_t *ids = NULL, active = 0, idle = 0, zero = 0;
	size_t n_v4 = 0, n_v6 = 0, n_hosts = 0, n_nets4 = 0, n_groups = 0, n_nets6 = 0;
	int err, hosts_fd = -1;
	bool flipped = false, touched = false;
	struct rule_counts *cnt = NULL;

	meta = calloc(TAPIS_MAX_RULES, sizeof(*meta));
	ids = calloc(p->n_rules ? p->n_rules : 1, sizeof(*ids));
	cnt = calloc(p->n_rules ? p->n_rules : 1, sizeof(*cnt));
	if (!meta || !ids || !cnt) {
		err = -ENOMEM;
		goto out;
	}
	err = gen_active(t, &active);
	if (err) {
		pr_err("read the active generation: %s", strerror(-err));
		goto out;
	}
	idle = active ^ 1;
	touched = true;
	/* Leftovers of an interrupted reload must not leak into this one. */
	gen_clear(t, idle);

	err = read_meta(t, meta);
	if (err) {
		pr_err("read rule names: %s", strerror(-err));
		goto out;
	}
	err = assign_ids(p, meta, ids);
	if (err)
		goto out;
	err = count_nets(p, &n_nets4, &n_groups, &n_nets6);
	if (err)
		goto out;
	err = net_tables_create(&nt, t, idle, n_nets4, n_groups, n_nets6);
	if (err)
		goto out;
	err = build_nets(&nt, p, ids, &n_v4, &n_v6, cnt);
	if (err)
		goto out;
	err = build_hosts(t, idle, p, ids, &n_hosts, &hosts_fd, cnt);
	if (err) {
		pr_err("build host table: %s", strerror(-err));
		goto out;
	}
	err = net_tables_publish(&nt);
	if (err) {
		pr_err("publish address tables: %s", strerror(-err));
		goto out;
	}
	settings_from_policy(&set, p);
	set.flags |= nt.flags | (n_hosts ? TAPIS_SF_HOSTS : 0);
	set.tbl8_groups = nt.tbl8_groups;
	set.tbl8_used = nt.tbl8_used;
	err = write_rules(t, idle, p, ids);
	if (!err && bpf_map_update_elem(t->map_fd[M_SETTINGS], &idle, &set, BPF_ANY))
		err = -errno;
	if (!err)
		err = write_meta(t, p, ids, meta, cnt);
	if (err) {
		if (err != -ENODEV)
			pr_err("write rules: %s", strerror(-err));
		goto out;
	}

	/* The flip: from here on packets read the new generation. */
	struct tapis_ctl ctl = {.gen = idle};

	if (bpf_map_update_elem(t->map_fd[M_CTL], &zero, &ctl, BPF_ANY)) {
		err = -errno;
		pr_err("switch generation: %s", strerror(-err));
		goto out;
	}
	flipped = true;

	/* Retire the old generation and the names the new policy dropped. */
	gen_clear(t, active);
	for (uint32_t id = 1; id < TAPIS_MAX_RULES; id++) {
		bool kept = false;

		for (size_t i = 0; i < p->n_rules && !kept; i++)
			kept = ids[i] == id;
		if (meta[id].in_use && !kept) {
			struct tapis_rule_meta m = {};

			bpf_map_update_elem(t->map_fd[M_RULE_META], &id, &m, BPF_ANY);
		}
	}
	/* The new policy runs; a failed bookkeeping write must not say otherwise. */
	if (update_state(t, p))
		pr_warn("policy installed, but recording its path and time failed: %s",
			strerror(errno));
	pr_info("policy %s: %zu rules, %zu IPv4 and %zu IPv6 prefixes, %zu host keys (generation "
		"%u)",
		p->path ? p->path : "", p->n_rules, n_v4, n_v6, n_hosts, idle);
out:
	if (err && touched && !flipped)
		gen_clear(t, idle);
	if (hosts_fd >= 0)
		close(hosts_fd);
	if (nt.t)
		net_tables_close(&nt);
	free(meta);
	free(ids);
	free(cnt);
	return err;
}

/* ---- live edits ---- */
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
		if (bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &gen, &set) == 0) {
			set.flags |= nt.flags;
			set.tbl8_used = nt.tbl8_used;
			if (bpf_map_update_elem(t->map_fd[M_SETTINGS], &gen, &set, BPF_ANY))
				err = -errno;
		}
		*(e->family == 4 ? &m.n_v4 : &m.n_v6) += add ? 1 : -1;
		bpf_map_update_elem(t->map_fd[M_RULE_META], &id, &m, BPF_ANY);
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
	host_slots(h->kind, &self, &sub);
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
		bpf_map_update_elem(t->map_fd[M_RULE_META], &id, &m, BPF_ANY);
	}
out:
	close(fd);
	return err;
}
