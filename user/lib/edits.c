// SPDX-License-Identifier: GPL-2.0
/*
 * edits.c - the record of live edits (edits.h) and its merge into a policy
 * at reload.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "edits.h"
#include "when.h"

const char *edit_type_name(enum tapis_edit_type t)
{
	return t == TAPIS_EDIT_NET ? "net" : "host";
}

static void fill_key(struct tapis_edit_key *k, enum tapis_edit_type type, const char *rule,
		     const char *entry)
{
	memset(k, 0, sizeof(*k));
	k->type = (uint8_t)type;
	snprintf(k->rule, sizeof(k->rule), "%s", rule);
	snprintf(k->entry, sizeof(k->entry), "%s", entry);
}

int edits_intend(struct tapis *t, enum tapis_edit_type type, const char *rule, const char *entry,
		 bool add, int64_t expires_unix, struct edit_intent *in)
{
	struct passwd *pw = getpwuid(getuid());
	const char *sudo = getenv("SUDO_USER");
	struct tapis_edit_val *v = &in->v;

	memset(in, 0, sizeof(*in));
	fill_key(&in->k, type, rule, entry);
	in->had_old = bpf_map_lookup_elem(t->map_fd[M_EDITS], &in->k, &in->old) == 0;
	if (in->had_old && in->old.op == (add ? TAPIS_EDIT_DEL : TAPIS_EDIT_ADD)) {
		/* Undoing a live edit puts the file's state back: the record
		 * goes once the tables are changed. */
		*v = in->old;
		v->pending = TAPIS_EDIT_UNDOING;
	} else {
		v->op = add ? TAPIS_EDIT_ADD : TAPIS_EDIT_DEL;
		v->pending = TAPIS_EDIT_PENDING;
		v->when_unix = time(NULL);
		v->expires_unix = add ? expires_unix : 0;
		v->uid = getuid();
		snprintf(v->who, sizeof(v->who), "%s%s%s", pw ? pw->pw_name : "?",
			 sudo ? " via " : "", sudo ? sudo : "");
	}
	if (bpf_map_update_elem(t->map_fd[M_EDITS], &in->k, v, BPF_ANY))
		return errno == E2BIG ? -ENOSPC : -errno;
	return 0;
}

int edits_settle(struct tapis *t, const struct edit_intent *in, bool done)
{
	int fd = t->map_fd[M_EDITS];
	struct tapis_edit_val v;

	if (done && in->v.pending == TAPIS_EDIT_UNDOING)
		return bpf_map_delete_elem(fd, &in->k) && errno != ENOENT ? -errno : 0;
	if (done) {
		v = in->v;
		v.pending = TAPIS_EDIT_SETTLED;
	} else if (in->had_old) {
		v = in->old;
	} else {
		return bpf_map_delete_elem(fd, &in->k) && errno != ENOENT ? -errno : 0;
	}
	return bpf_map_update_elem(fd, &in->k, &v, BPF_ANY) ? -errno : 0;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct edit_rec *x = a, *y = b;
	int c = strcmp(x->k.rule, y->k.rule);

	if (c)
		return c;
	if (x->k.type != y->k.type)
		return x->k.type - y->k.type;
	return strcmp(x->k.entry, y->k.entry);
}

int edits_list(struct tapis *t, struct edit_rec **out, size_t *n)
{
	struct tapis_edit_key k, next, *prev = NULL;
	struct edit_rec *v = NULL, *nv;
	size_t cap = 0;
	int fd = t->map_fd[M_EDITS];

	*out = NULL;
	*n = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		if (bpf_map_lookup_elem(fd, &k, &v[*n].v))
			continue; /* removed meanwhile */
		v[*n].k = k;
		(*n)++;
	}
	if (errno != ENOENT) {
		free(v);
		*n = 0;
		return -errno;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), rec_cmp);
	*out = v;
	return 0;
}

void edits_report_free(struct edits_report *r)
{
	for (size_t i = 0; i < r->dropped; i++)
		free(r->why[i]);
	free(r->why);
	free(r->stale);
	memset(r, 0, sizeof(*r));
}

static int drop(struct edits_report *r, const struct edit_rec *e, const char *fmt, const char *arg)
{
	char buf[TAPIS_EDIT_TEXT + TAPIS_NAME_MAX + 256], reason[160];
	char **w = realloc(r->why, (r->dropped + 1) * sizeof(*w));
	struct edit_rec *s;

	if (!w)
		return -ENOMEM;
	r->why = w;
	s = realloc(r->stale, (r->dropped + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	r->stale = s;
	snprintf(reason, sizeof(reason), fmt, arg);
	snprintf(buf, sizeof(buf), "%s %s %s %s rule %s: %s", edit_type_name(e->k.type),
		 e->v.op == TAPIS_EDIT_ADD ? "add" : "del", e->k.entry,
		 e->v.op == TAPIS_EDIT_ADD ? "to" : "from", e->k.rule, reason);
	r->why[r->dropped] = strdup(buf);
	if (!r->why[r->dropped])
		return -ENOMEM;
	r->stale[r->dropped++] = *e;
	return 0;
}

static struct rule *rule_in(struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (!strcmp(p->rules[i].name, name))
			return &p->rules[i];
	return NULL;
}

/* The index of e's entry in rule r, or -1; -EINVAL if e does not parse. */
static long find_entry(const struct rule *r, const struct edit_rec *e, struct host_pattern *hp,
		       struct net_entry *ne)
{
	char why[128];
	bool hb;

	if (e->k.type == TAPIS_EDIT_HOST) {
		if (host_pattern_parse(e->k.entry, hp, why, sizeof(why)))
			return -EINVAL;
		for (size_t i = 0; i < r->n_hosts; i++)
			if (r->hosts[i].kind == hp->kind && !strcmp(r->hosts[i].name, hp->name))
				return (long)i;
		return -1;
	}
	if (parse_cidr(e->k.entry, ne, &hb))
		return -EINVAL;
	for (size_t i = 0; i < r->n_nets; i++)
		if (r->nets[i].family == ne->family && r->nets[i].plen == ne->plen &&
		    !memcmp(r->nets[i].addr, ne->addr, 16))
			return (long)i;
	return -1;
}

static int grow_rules(struct policy *p)
{
	if (p->n_rules == p->cap_rules) {
		size_t cap = p->cap_rules ? 2 * p->cap_rules : 8;
		struct rule *v = realloc(p->rules, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		memset(v + p->cap_rules, 0, (cap - p->cap_rules) * sizeof(*v));
		p->rules = v;
		p->cap_rules = cap;
	}
	return 0;
}

/* The rule that holds a timed entry of `base`: "<base>@<expiry>", same
 * action, reference and target, expiring at the entry's time (or the
 * base's, if sooner). Made in p when missing. */
static struct rule *timed_rule(struct policy *p, const char *base, int64_t expires)
{
	char name[TAPIS_NAME_MAX];
	struct rule *b, *r;
	size_t bi;

	if (!edits_timed_name(base, expires, name, sizeof(name)))
		return NULL;
	r = rule_in(p, name);
	if (r)
		return r;
	b = rule_in(p, base);
	if (!b || grow_rules(p))
		return NULL;
	bi = (size_t)(b - p->rules); /* grow_rules may move the array */
	b = &p->rules[bi];
	r = &p->rules[p->n_rules++];
	*r = *b;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->nets = NULL;
	r->hosts = NULL;
	r->n_nets = r->cap_nets = r->n_hosts = r->cap_hosts = 0;
	r->may_be_empty = true;
	if (!r->expires_unix || expires < r->expires_unix)
		r->expires_unix = expires;
	return r;
}

bool edits_timed_name(const char *base, int64_t expires, char *out, size_t n)
{
	char when[32];
	time_t t = (time_t)expires;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return (size_t)snprintf(out, n, "%s@%s", base, when) < n;
}

int edits_merge(struct tapis *t, struct policy *p, struct edits_report *r)
{
	struct edit_rec *v;
	struct host_pattern hp;
	struct net_entry ne;
	int64_t now = time(NULL);
	size_t n, i;
	int err;

	memset(r, 0, sizeof(*r));
	err = edits_list(t, &v, &n);
	if (err)
		return err;
	for (i = 0; i < n && !err; i++) {
		struct edit_rec *e = &v[i];
		struct rule *rl = rule_in(p, e->k.rule);
		long at;

		if (!rl) {
			err = drop(r, e, "rule %s is not in the policy any more", e->k.rule);
			continue;
		}
		at = find_entry(rl, e, &hp, &ne);
		if (at == -EINVAL) {
			err = drop(r, e, "%s", "the entry does not parse");
			continue;
		}
		if (e->v.op == TAPIS_EDIT_DEL) {
			if (at < 0) {
				err = drop(r, e, "%s", "the policy file no longer has the entry");
				continue;
			}
			/* Removed from the rule: order does not matter to the
			 * compile, so the last entry takes its place. */
			if (e->k.type == TAPIS_EDIT_HOST) {
				free(rl->hosts[at].name);
				rl->hosts[at] = rl->hosts[--rl->n_hosts];
			} else {
				rl->nets[at] = rl->nets[--rl->n_nets];
			}
			if (!rl->n_hosts && !rl->n_nets)
				rl->may_be_empty = true;
			r->kept_del++;
			continue;
		}
		if (at >= 0) {
			err = drop(r, e, "%s", "the policy file has it now");
			continue;
		}
		if (e->v.expires_unix && e->v.expires_unix <= now) {
			err = drop(r, e, "%s", "it expired");
			continue;
		}
		if (e->v.expires_unix) {
			rl = timed_rule(p, e->k.rule, e->v.expires_unix);
			if (!rl) {
				err = drop(r, e, "%s", "its timed rule name is too long");
				continue;
			}
		}
		err = e->k.type == TAPIS_EDIT_HOST
			      ? policy_rule_add_host(rl, hp.kind, hp.name, "runtime", 0)
			      : policy_rule_add_net(rl, &ne, "runtime", 0);
		if (!err)
			r->kept_add++;
	}
	free(v);
	if (err)
		edits_report_free(r);
	return err;
}

void edits_forget_stale(struct tapis *t, const struct edits_report *r)
{
	for (size_t i = 0; i < r->dropped; i++)
		bpf_map_delete_elem(t->map_fd[M_EDITS], &r->stale[i].k);
}

int edits_clear(struct tapis *t, size_t *n)
{
	struct edit_rec *v;
	int err = edits_list(t, &v, n);

	if (err)
		return err;
	for (size_t i = 0; i < *n; i++)
		if (bpf_map_delete_elem(t->map_fd[M_EDITS], &v[i].k) && errno != ENOENT)
			err = -errno;
	free(v);
	return err;
}
