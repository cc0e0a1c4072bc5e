// SPDX-License-Identifier: GPL-2.0
/*
 * apply.c - a compiled policy (compile.h) into the kernel. Everything goes
 * into the idle generation first: address and host tables, rule and
 * settings slots, rule meta. Only when all of it is in place does one
 * write to tapis_ctl flip packets over; on any error before that the idle
 * slot is emptied and the running policy never noticed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "compile.h"
#include "audit.h"
#include "gen.h"
#include "host_filter.h"
#include "log.h"
#include "tapis.h"

int64_t tai_offset_ns(void)
{
	struct timespec tai, rt;

	clock_gettime(CLOCK_TAI, &tai);
	clock_gettime(CLOCK_REALTIME, &rt);
	return (int64_t)(tai.tv_sec - rt.tv_sec) * 1000000000LL + (tai.tv_nsec - rt.tv_nsec);
}

int tapis_running_rules(struct tapis *t, struct tapis_rule_meta *meta)
{
	for (uint32_t id = 0; id < TAPIS_MAX_RULES; id++)
		if (bpf_map_lookup_elem(t->map_fd[M_RULE_META], &id, &meta[id]))
			return -errno;
	return 0;
}

/* c was compiled against these running rules (or none): each id is free
 * or its own name's, and no name runs under another id. Anything else
 * would give two rules one counter, or one name two. */
static int check_ids(const struct compiled *c, const struct tapis_rule_meta *meta)
{
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct tapis_rule_meta *m = &meta[c->rules[i].id];
		const char *name = c->rules[i].r->name;

		if (m->in_use && strcmp(m->name, name))
			return -ESTALE;
		for (uint32_t id = 1; !m->in_use && id < TAPIS_MAX_RULES; id++)
			if (meta[id].in_use && strcmp(meta[id].name, name) == 0)
				return -ESTALE;
	}
	return 0;
}

static int build_nets(struct net_tables *nt, const struct compiled *c)
{
	for (size_t i = 0; i < c->n_nets; i++) {
		const struct compiled_net *n = &c->nets[i];
		uint32_t owner;
		int err = net_insert(nt, n->dir, n->e, n->rule, &owner);

		if (err) {
			pr_err("%s:%u: cannot add prefix: %s", n->e->loc.file, n->e->loc.line,
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

static int build_hosts(struct tapis *t, uint32_t gen, const struct compiled *c)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	uint32_t max = host_hash_entries(t);
	size_t *over = NULL, n_over = 0;
	uint64_t *ok = NULL;
	struct tapis_host_val *ov = NULL;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_HASH, tapis_map_names[M_HOSTS], 8,
			    sizeof(struct tapis_host_val), max, &o);
	if (fd < 0)
		return -errno;
	/* The filter and index cost 80 MiB: only for a policy with hosts
	 * (a live `host add` makes them when the first pattern comes). The
	 * index takes most keys; the hash map only those it has no room
	 * for. */
	if (c->n_hosts) {
		over = malloc(c->n_hosts * sizeof(*over));
		if (!over) {
			err = -ENOMEM;
			goto out;
		}
		err = host_filter_build(t, gen, c->host_keys, c->host_vals, c->n_hosts, over,
					&n_over);
		if (err)
			goto out;
		ok = malloc((n_over ? n_over : 1) * sizeof(*ok));
		ov = malloc((n_over ? n_over : 1) * sizeof(*ov));
		if (!ok || !ov) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n_over; i++) {
			ok[i] = c->host_keys[over[i]];
			ov[i] = c->host_vals[over[i]];
		}
	}
	for (size_t off = 0; off < n_over;) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		uint32_t n = n_over - off > 65536 ? 65536 : (uint32_t)(n_over - off);

		if (bpf_map_update_batch(fd, ok + off, ov + off, &n, &bo)) {
			err = -errno;
			if (err == -E2BIG) {
				pr_err("%zu host names found no slot in the host index and the "
				       "overflow table holds %" PRIu32
				       ": raise settings.capacity.names, then unload and load",
				       n_over, max);
				err = -ENOSPC;
			}
			goto out;
		}
		off += n;
	}
	err = gen_publish_inner(t, M_HOSTS, gen, fd);
out:
	free(over);
	free(ok);
	free(ov);
	close(fd);
	return err;
}

static int write_rules(struct tapis *t, uint32_t gen, const struct compiled *c)
{
	int64_t tai = tai_offset_ns();

	for (uint32_t id = 0; id < TAPIS_MAX_RULES; id++) {
		uint32_t k = gen * TAPIS_MAX_RULES + id;
		struct tapis_rule r = {};

		if (bpf_map_update_elem(t->map_fd[M_RULES], &k, &r, BPF_ANY))
			return -errno;
	}
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct compiled_rule *cr = &c->rules[i];
		const struct rule *pr = cr->r;
		uint32_t k = gen * TAPIS_MAX_RULES + cr->id;
		struct tapis_rule r = {.action = pr->action, .flags = TAPIS_RF_ACTIVE};

		if (pr->expires_unix) {
			r.flags |= TAPIS_RF_EXPIRES;
			r.expires_tai = (uint64_t)(pr->expires_unix * 1000000000LL + tai);
		}
		if (pr->action == TAPIS_ACT_REDIRECT) {
			memcpy(r.redirect_dmac, pr->redirect_mac, 6);
			memcpy(r.redirect_smac, cr->redirect_smac, 6);
			r.redirect_ifindex = cr->redirect_ifindex;
		}
		if (bpf_map_update_elem(t->map_fd[M_RULES], &k, &r, BPF_ANY))
			return -errno;
	}
	return 0;
}

int zero_counters(struct tapis *t, uint32_t id)
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

static int write_meta(struct tapis *t, const struct compiled *c, struct tapis_rule_meta *meta)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < c->n_rules; i++) {
		const struct compiled_rule *cr = &c->rules[i];
		const struct rule *r = cr->r;
		struct tapis_rule_meta *m = &meta[cr->id];
		int err;

		if (!m->in_use) {
			/* A fresh name on a recycled id starts from zero. */
			err = zero_counters(t, cr->id);
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
		m->n_v4 = cr->n_v4;
		m->n_v6 = cr->n_v6;
		m->n_hosts = cr->n_hosts;
		m->in_use = 1;
		if (bpf_map_update_elem(t->map_fd[M_RULE_META], &cr->id, m, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Record p as the policy of generation gen; *old gets the state before. */
static int update_state(struct tapis *t, const struct policy *p, uint32_t gen,
			struct tapis_state *old)
{
	struct tapis_state st;
	uint32_t zero = 0;
	char *abs;

	if (bpf_map_lookup_elem(t->map_fd[M_STATE], &zero, &st))
		return -errno;
	*old = st;
	st.policy_gen = gen + 1;
	abs = p->path ? realpath(p->path, NULL) : NULL;
	snprintf(st.policy_path, sizeof(st.policy_path), "%s", abs ? abs : (p->path ?: ""));
	free(abs);
	/* What `host list` compares the file with: it shows the file's
	 * entries, which are in force only if the file is unchanged. */
	if (!p->path || audit_digest(p->path, st.policy_digest))
		st.policy_digest[0] = '\0';
	/* Whoever applies says what content this was (tapis_set_content_digest);
	 * until then it is unknown, so a later load never takes a new policy
	 * for the old one. */
	memset(st.content_digest, 0, sizeof(st.content_digest));
	if (!st.loaded_unix) {
		st.loaded_unix = time(NULL);
	} else {
		st.reloaded_unix = time(NULL);
		st.reloads++;
	}
	return bpf_map_update_elem(t->map_fd[M_STATE], &zero, &st, BPF_ANY) ? -errno : 0;
}

/* The new generation runs: drop the old one's tables and the names the
 * new policy no longer has. Past the flip nothing can be undone, so a
 * failure here is told, not returned: the next reload retries both. */
static void retire(struct tapis *t, uint32_t old, const struct compiled *c,
		   const struct tapis_rule_meta *meta)
{
	bool *kept = calloc(TAPIS_MAX_RULES, sizeof(*kept));
	int err = gen_clear(t, old);

	if (err)
		pr_warn("policy installed, but the previous one's tables were not all freed: %s",
			strerror(-err));
	for (size_t i = 0; kept && i < c->n_rules; i++)
		kept[c->rules[i].id] = true;
	for (uint32_t id = 1; kept && id < TAPIS_MAX_RULES; id++) {
		struct tapis_rule_meta m = {};

		if (!meta[id].in_use || kept[id])
			continue;
		if (bpf_map_update_elem(t->map_fd[M_RULE_META], &id, &m, BPF_ANY))
			pr_warn("policy installed, but rule '%s' stays in the stats: %s",
				meta[id].name, strerror(errno));
	}
	if (!kept)
		pr_warn("policy installed, but the rules it dropped stay in the stats: %s",
			strerror(ENOMEM));
	free(kept);
}

/* The host tables' size is fixed when the program is loaded (their reads
 * are inlined against it): a policy that needs more is refused before
 * anything changes, naming what would make room. */
static int check_host_capacity(struct tapis *t, const struct compiled *c)
{
	uint32_t log2 = tapis_host_log2(t);
	size_t cap = tapis_host_capacity(log2);

	if (c->n_hosts <= cap)
		return 0;
	pr_err("the policy has %zu host names, the host tables were loaded for at most %zu "
	       "(%u index slots, sized at load to that policy or settings.capacity.names): "
	       "set settings.capacity.names to %zu or more, then unload and load",
	       c->n_hosts, cap, 1u << log2, c->n_hosts);
	return -ENOSPC;
}

/* Everything of the new policy into generation idle; nothing packets see. */
static int fill_idle(struct tapis *t, uint32_t idle, const struct compiled *c,
		     struct tapis_rule_meta *meta)
{
	struct tapis_settings set = c->settings;
	struct net_tables nt;
	struct v4_plan plan;
	int err;

	err = net_v4_plan(c, &plan) ?: net_tables_create(&nt, t, idle, c->n_v4, &plan, c->n_v6);
	if (err)
		return err;
	/* The rules are written after the tables: the lists learn which
	 * rules may expire from the policy itself. */
	for (size_t i = 0; i < c->n_rules; i++)
		nt.rule_exp[c->rules[i].id & (TAPIS_MAX_RULES - 1)] =
			c->rules[i].r->expires_unix ? 2 : 1;
	/* The compile left no duplicate or conflict: no owner checks, and
	 * the hash-map writes go in batches. */
	nt.bulk = true;
	err = build_nets(&nt, c);
	if (!err) {
		err = net_tables_flush(&nt);
		if (err)
			pr_err("write address tables: %s", strerror(-err));
	}
	nt.bulk = false;
	if (!err) {
		err = build_hosts(t, idle, c);
		if (err)
			pr_err("build host table: %s", strerror(-err));
	}
	if (!err) {
		err = net_tables_publish(&nt);
		if (err)
			pr_err("publish address tables: %s", strerror(-err));
	}
	set.flags |= nt.flags;
	set.host_idx_log2 = (uint8_t)tapis_host_log2(t);
	set.v4_bits = (uint8_t)nt.v4_bits;
	set.v6_dir_class = (uint8_t)nt.v6_dir_class;
	set.v6_blk_class = (uint8_t)nt.v6_blk_class;
	set.v4_leaf_limit = (uint16_t)nt.leaf_limit;
	set.v4_chunks = (uint16_t)nt.n_chunks;
	set.v4_chunks_used = (uint16_t)nt.chunks_used;
	set.v4_leaves = (uint16_t)nt.n_leaves;
	set.v4_leaves_used = (uint16_t)nt.leaves_used;
	net_tables_close(&nt);
	if (err)
		return err;
	err = write_rules(t, idle, c);
	if (!err && bpf_map_update_elem(t->map_fd[M_SETTINGS], &idle, &set, BPF_ANY))
		err = -errno;
	if (!err)
		err = write_meta(t, c, meta);
	if (err)
		pr_err("write rules: %s", strerror(-err));
	return err;
}

int tapis_repair_generations(struct tapis *t)
{
	struct tapis_rule_meta *metas, none = {};
	uint32_t active, idle, k;
	struct tapis_rule r;
	int err, ret = 0;

	err = gen_active(t, &active);
	if (err)
		return err;
	idle = active ^ 1;
	/* Under the writers' lock no reload is under way: whatever the idle
	 * generation holds is a killed reload's (tables filled, never
	 * flipped to) or the previous policy's (flipped from, not yet
	 * freed). */
	if (gen_in_use(t, idle)) {
		pr_info("freeing the tables of generation %u that a killed tapis left", idle);
		ret = gen_clear(t, idle);
	}
	/* A name is in use exactly when the running generation has its rule:
	 * names a killed reload wrote for a policy it never flipped to, or
	 * that the flipped-from policy had, go (as retire() does). */
	/* Read at once: this runs before every change, and a lookup a slot
	 * made a one-name `host add` take 4,000 system calls. */
	metas = calloc(TAPIS_MAX_RULES, sizeof(*metas));
	if (!metas)
		return -ENOMEM;
	err = tapis_array_read(t->map_fd[M_RULE_META], 0, TAPIS_MAX_RULES, metas, sizeof(*metas));
	for (uint32_t id = 1; !err && id < TAPIS_MAX_RULES; id++) {
		if (!metas[id].in_use)
			continue;
		k = active * TAPIS_MAX_RULES + id;
		if (bpf_map_lookup_elem(t->map_fd[M_RULES], &k, &r)) {
			err = -errno;
			break;
		}
		if ((r.flags & TAPIS_RF_ACTIVE) == 0 &&
		    bpf_map_update_elem(t->map_fd[M_RULE_META], &id, &none, BPF_ANY))
			ret = ret ?: -errno;
	}
	free(metas);
	return err ?: ret;
}

int tapis_apply(struct tapis *t, const struct compiled *c)
{
	struct tapis_rule_meta *meta = NULL;
	uint32_t active, idle, zero = 0;
	struct tapis_state old_st;
	struct tapis_ctl ctl;
	int err;

	if (!c->resolved) {
		pr_err("internal: a compiled policy must be resolved before it is applied");
		return -EINVAL;
	}
	err = check_host_capacity(t, c);
	if (err)
		return err;
	meta = calloc(TAPIS_MAX_RULES, sizeof(*meta));
	if (!meta)
		return -ENOMEM;
	err = gen_active(t, &active);
	if (err) {
		pr_err("read the active generation: %s", strerror(-err));
		goto out;
	}
	err = tapis_running_rules(t, meta);
	if (err) {
		pr_err("read rule names: %s", strerror(-err));
		goto out;
	}
	err = check_ids(c, meta);
	if (err) {
		pr_err("the running policy changed since this one was compiled; compile it again");
		goto out;
	}
	idle = active ^ 1;
	/* Leftovers of an interrupted reload must not leak into this one. */
	gen_clear(t, idle);
	err = fill_idle(t, idle, c, meta);
	if (err) {
		gen_clear(t, idle);
		goto out;
	}

	/* Which policy the idle generation holds, before the flip: a process
	 * killed after the flip must not leave status naming the old one,
	 * and one killed before leaves a record readers can tell is not of
	 * the running generation (tapis_snapshot). */
	err = update_state(t, c->p, idle, &old_st);
	if (err) {
		pr_err("record the policy: %s", strerror(-err));
		gen_clear(t, idle);
		goto out;
	}
	/* The flip: from here on packets read the new generation. The rest
	 * of ctl (a `tapis events` reading) is kept. */
	if (bpf_map_lookup_elem(t->map_fd[M_CTL], &zero, &ctl))
		memset(&ctl, 0, sizeof(ctl));
	ctl.gen = idle;
	if (bpf_map_update_elem(t->map_fd[M_CTL], &zero, &ctl, BPF_ANY)) {
		err = -errno;
		pr_err("switch generation: %s", strerror(-err));
		if (bpf_map_update_elem(t->map_fd[M_STATE], &zero, &old_st, BPF_ANY))
			pr_warn("the running policy is unchanged, but status may not name it "
				"until the next reload");
		gen_clear(t, idle);
		goto out;
	}
	retire(t, active, c, meta);
	pr_info("policy %s: %zu rules, %zu IPv4 and %zu IPv6 prefixes, %zu host keys (generation "
		"%u)",
		c->p->path ? c->p->path : "", c->n_rules, c->n_v4, c->n_v6, c->n_hosts, idle);
out:
	free(meta);
	return err;
}

int tapis_compile(struct tapis *t, const struct policy *p, struct compiled *c)
{
	struct compile_opts o = {0};
	struct tapis_rule_meta *meta = calloc(TAPIS_MAX_RULES, sizeof(*meta));
	int err;

	memset(c, 0, sizeof(*c));
	if (!meta)
		return -ENOMEM;
	err = tapis_running_rules(t, meta);
	if (err) {
		pr_err("read rule names: %s", strerror(-err));
	} else {
		o.running = meta;
		err = policy_compile(p, &o, c);
	}
	free(meta);
	return err;
}

int tapis_install(struct tapis *t, const struct policy *p)
{
	struct compiled c;
	int err;

	err = tapis_compile(t, p, &c);
	if (err)
		return err;
	err = compiled_resolve(&c) ?: tapis_apply(t, &c);
	compiled_free(&c);
	return err;
}
