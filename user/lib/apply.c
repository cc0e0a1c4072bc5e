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
	uint32_t slots = tapis_rule_slots(t);

	/* Ids past the slots loaded: none. */
	memset(meta, 0, TAPIS_MAX_RULES * sizeof(*meta));
	return tapis_array_read(t->map_fd[M_RULE_META], 0, slots, meta, sizeof(*meta));
}

/* c was compiled against these running rules (or none): each id is free
 * or its own name's, and no name runs under another id. Anything else
 * would give two rules one counter, or one name two. */
static int check_ids(struct tapis *t, const struct compiled *c, const struct tapis_rule_meta *meta)
{
	for (size_t i = 0; i < c->n_rules; i++) {
		if (c->rules[i].id >= tapis_rule_slots(t))
			return -ESTALE;
	}
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

static int build_hosts(struct tapis *t, uint32_t gen, const uint64_t *keys,
		       const struct tapis_host_val *vals, size_t n_hosts)
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
	if (n_hosts) {
		over = malloc(n_hosts * sizeof(*over));
		if (!over) {
			err = -ENOMEM;
			goto out;
		}
		err = host_filter_build(t, gen, keys, vals, n_hosts, over, &n_over);
		if (err)
			goto out;
		ok = malloc((n_over ? n_over : 1) * sizeof(*ok));
		ov = malloc((n_over ? n_over : 1) * sizeof(*ov));
		if (!ok || !ov) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n_over; i++) {
			ok[i] = keys[over[i]];
			ov[i] = vals[over[i]];
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
				       ": raise settings.capacity.names",
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

	uint32_t slots = tapis_rule_slots(t);

	for (uint32_t id = 0; id < slots; id++) {
		uint32_t k = tapis_rule_key(slots, gen, id);
		struct tapis_rule r = {};

		if (bpf_map_update_elem(t->map_fd[M_RULES], &k, &r, BPF_ANY))
			return -errno;
	}
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct compiled_rule *cr = &c->rules[i];
		const struct rule *pr = cr->r;
		uint32_t k = tapis_rule_key(slots, gen, cr->id);
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

/* The host tables' size is part of the verified program (their reads are
 * inlined against it): a policy that needs more gets a program of the
 * size it needs (swap.c), 0 and *log2 > the running size; where that
 * cannot be (a handle with no pins: tests, the bench) or the policy is past
 * the largest size, it is refused before anything changes. */
static int host_size_for(struct tapis *t, const struct compiled *c, uint32_t *log2)
{
	int need = tapis_host_idx_log2_for(c->n_hosts, c->capacity_names);
	uint32_t have = tapis_host_log2(t);
	size_t cap = tapis_host_capacity(have);

	*log2 = have;
	if (need < 0) {
		pr_err("the policy has %zu host names, more than the host tables take at their "
		       "largest (%zu)",
		       c->n_hosts, tapis_host_capacity(TAPIS_HOST_IDX_LOG2_MAX));
		return -ENOSPC;
	}
	if ((uint32_t)need <= have)
		return 0;
	if (t->pin_path[0]) {
		*log2 = (uint32_t)need;
		return 0;
	}
	if (c->n_hosts <= cap)
		return 0;
	pr_err("the policy has %zu host names, the host tables were loaded for at most %zu "
	       "(%u index slots): an unpinned filter cannot grow them",
	       c->n_hosts, cap, 1u << have);
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
		nt.rule_exp[c->rules[i].id & (tapis_rule_slots(t) - 1)] =
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
		err = build_hosts(t, idle, c->host_keys, c->host_vals, c->n_hosts);
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
	err = tapis_array_read(t->map_fd[M_RULE_META], 0, tapis_rule_slots(t), metas,
			       sizeof(*metas));
	for (uint32_t id = 1; !err && id < tapis_rule_slots(t); id++) {
		if (!metas[id].in_use)
			continue;
		k = tapis_rule_key(tapis_rule_slots(t), active, id);
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
	uint32_t active, idle, zero = 0, log2;
	struct tapis_state old_st;
	struct tapis_ctl ctl;
	struct swap sw = {0};
	bool grow;
	int err;

	if (!c->resolved) {
		pr_err("internal: a compiled policy must be resolved before it is applied");
		return -EINVAL;
	}
	err = host_size_for(t, c, &log2);
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
	err = check_ids(t, c, meta);
	if (err) {
		pr_err("the running policy changed since this one was compiled; compile it again");
		goto out;
	}
	idle = active ^ 1;
	/* Leftovers of an interrupted reload must not leak into this one. */
	gen_clear(t, idle);
	grow = log2 > tapis_host_log2(t);
	if (grow) {
		/* Larger host tables come with a program of their own: the
		 * idle generation is filled for it, and it replaces the
		 * running one instead of the flip. */
		err = swap_prepare(t, log2, idle, &sw);
		if (err) {
			pr_err("host tables of %u slots for %zu host names: %s", 1u << log2,
			       c->n_hosts, strerror(-err));
			goto out;
		}
	}
	err = fill_idle(t, idle, c, meta);
	if (err) {
		gen_clear(t, idle);
		swap_abort(t, &sw);
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
		swap_abort(t, &sw);
		goto out;
	}
	if (grow) {
		/* The swap is the flip: each interface goes from the old
		 * program and generation to the new ones in one exchange. */
		err = swap_commit(t, &sw) ?: swap_finish(t, &sw);
		if (err) {
			swap_abort(t, &sw);
			if (bpf_map_update_elem(t->map_fd[M_STATE], &zero, &old_st, BPF_ANY))
				pr_warn("the running policy is unchanged, but status may not name "
					"it until the next reload");
			gen_clear(t, idle);
			goto out;
		}
		pr_info("host tables grown to %u index slots (%zu host names): the program was "
			"replaced on every interface",
			1u << log2, tapis_host_capacity(log2));
		retire(t, active, c, meta);
		goto done;
	}
	/* The flip: from here on packets read the new generation. */
	ctl = (struct tapis_ctl){.gen = idle};
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
done:
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
		o.rule_slots = tapis_rule_slots(t);
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

/* The running generation's tables (all but the host tables, which the new
 * program has of another size) put in generation idle as they are: an
 * inner map may sit in both slots of its outer map, and the user-space
 * prefix list gets a second pin. */
static int share_tables(struct tapis *t, uint32_t active, uint32_t idle)
{
	static const int inner[] = {M_V4_DIR16, M_V4_DIR24, M_V4_CHUNK, M_V4_CHUNK_S, M_V4_LEAF,
				    M_V6_DIR0,	M_V6_DIR1,  M_V6_DIR2,	M_V6_DIR3,    M_V6_BLK0,
				    M_V6_BLK1,	M_V6_BLK2,  M_V6_BLK3,	M_V6_PFX,     M_V6_SHORT};
	char from[PATH_MAX], to[PATH_MAX];
	int err = 0, fd;

	for (size_t i = 0; !err && i < sizeof(inner) / sizeof(inner[0]); i++) {
		fd = gen_inner_fd(t, inner[i], active);
		if (fd == -ENOENT)
			continue;
		err = fd < 0 ? fd : gen_publish_inner(t, inner[i], idle, fd);
		if (fd >= 0)
			close(fd);
	}
	if (err)
		return err;
	if (!t->pin_path[0]) {
		if (t->v4_exact_fd[active] >= 0) {
			t->v4_exact_fd[idle] = dup(t->v4_exact_fd[active]);
			err = t->v4_exact_fd[idle] < 0 ? -errno : 0;
		}
		return err;
	}
	gen_userspace_pin_path(t, (int)active, from, sizeof(from));
	gen_userspace_pin_path(t, (int)idle, to, sizeof(to));
	fd = bpf_obj_get(from);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	unlink(to);
	if (bpf_obj_pin(fd, to))
		err = -errno;
	else
		tapis_pin_perms(to);
	close(fd);
	return err;
}

/* Generation idle made the running one's twin, with host tables of the new
 * size: tables shared, rules and settings copied, the host keys rebuilt. */
static int twin_generation(struct tapis *t, uint32_t active, uint32_t idle, const uint64_t *keys,
			   const struct tapis_host_val *vals, size_t n)
{
	uint32_t slots = tapis_rule_slots(t);
	struct tapis_rule *rules = calloc(slots, sizeof(*rules));
	struct tapis_settings set;
	int err;

	if (!rules)
		return -ENOMEM;
	err = share_tables(t, active, idle);
	err = err
		      ?: tapis_array_read(t->map_fd[M_RULES], tapis_rule_key(slots, active, 0),
					  slots, rules, sizeof(*rules));
	for (uint32_t id = 0; !err && id < slots; id++) {
		uint32_t k = tapis_rule_key(slots, idle, id);

		if (bpf_map_update_elem(t->map_fd[M_RULES], &k, &rules[id], BPF_ANY))
			err = -errno;
	}
	free(rules);
	err = err ?: build_hosts(t, idle, keys, vals, n);
	if (!err && bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &active, &set))
		err = -errno;
	if (!err) {
		set.host_idx_log2 = (uint8_t)tapis_host_log2(t);
		if (bpf_map_update_elem(t->map_fd[M_SETTINGS], &idle, &set, BPF_ANY))
			err = -errno;
	}
	return err;
}

int tapis_grow_hosts(struct tapis *t, uint32_t log2)
{
	struct tapis_host_val *vals = NULL;
	struct tapis_state st, old_st;
	uint32_t active, idle, zero = 0;
	uint64_t *keys = NULL;
	struct swap sw = {0};
	size_t n = 0;
	int err;

	if (log2 > TAPIS_HOST_IDX_LOG2_MAX || log2 <= tapis_host_log2(t))
		return -ENOSPC;
	err = gen_active(t, &active);
	if (err)
		return err;
	idle = active ^ 1;
	err = host_table_read(t, active, &keys, &vals, &n);
	if (err) {
		pr_err("read the host tables: %s", strerror(-err));
		return err;
	}
	gen_clear(t, idle);
	err = swap_prepare(t, log2, idle, &sw);
	err = err ?: twin_generation(t, active, idle, keys, vals, n);
	if (!err && bpf_map_lookup_elem(t->map_fd[M_STATE], &zero, &st))
		err = -errno;
	if (!err) {
		/* The same policy, now in generation idle (apply.c records
		 * a policy before its flip the same way). */
		old_st = st;
		if (st.policy_gen == active + 1)
			st.policy_gen = idle + 1;
		if (bpf_map_update_elem(t->map_fd[M_STATE], &zero, &st, BPF_ANY))
			err = -errno;
		err = err ?: swap_commit(t, &sw);
		err = err ?: swap_finish(t, &sw);
		if (err && bpf_map_update_elem(t->map_fd[M_STATE], &zero, &old_st, BPF_ANY))
			pr_warn("status may not name the running policy until the next reload");
	}
	free(keys);
	free(vals);
	if (err) {
		pr_err("grow the host tables to %u index slots: %s", 1u << log2, strerror(-err));
		swap_abort(t, &sw);
		gen_clear(t, idle);
		return err;
	}
	/* The old generation's slots go; its tables live on in idle's. */
	err = gen_clear(t, active);
	if (err)
		pr_warn("host tables grown, but the previous generation's slots were not all "
			"freed: %s",
			strerror(-err));
	pr_info("host tables grown to %u index slots (%zu host names): the program was replaced "
		"on every interface",
		1u << log2, tapis_host_capacity(log2));
	return 0;
}
