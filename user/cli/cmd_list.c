// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_list.c - `tapis host list` and `tapis net list [--rule NAME]`: the
 * entries in force and where each came from. The kernel keeps host entries
 * as hashes, so their text comes from the policy file the filter was loaded
 * from (checked against the digest recorded then) and from the record of
 * live edits (edits.h): a file entry deleted live is not listed, an entry
 * added live is, with who added it, when, and until when.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "cli.h"
#include "edits.h"
#include "log.h"
#include "output.h"

struct lister {
	const struct cli *c;
	bool hosts;
	const char *rule; /* filter, or NULL */
	struct json_object *arr;
	const struct edit_rec *edits;
	size_t n_edits;
	size_t shown;
};

/* "base" of a timed rule "base@time", else the name itself. */
static bool rule_matches(const char *rule, const char *filter)
{
	size_t n;

	if (!filter || !strcmp(rule, filter))
		return true;
	n = strlen(filter);
	return !strncmp(rule, filter, n) && rule[n] == '@';
}

static bool deleted_live(const struct lister *l, const char *rule, const char *entry)
{
	for (size_t i = 0; i < l->n_edits; i++) {
		const struct edit_rec *e = &l->edits[i];

		if (e->v.op == TAPIS_EDIT_DEL &&
		    e->k.type == (l->hosts ? TAPIS_EDIT_HOST : TAPIS_EDIT_NET) &&
		    !strcmp(e->k.rule, rule) && !strcmp(e->k.entry, entry))
			return true;
	}
	return false;
}

static void emit(struct lister *l, const char *rule, const char *entry, const char *file,
		 unsigned line, const struct tapis_edit_val *live)
{
	char src[PATH_MAX + 64], t1[32], t2[32], b1[TAPIS_EDIT_TEXT * 2], b2[PATH_MAX + 64];
	struct json_object *o;

	l->shown++;
	if (l->arr) {
		o = json_object_new_object();
		json_object_object_add(o, "rule", json_object_new_string(rule));
		json_object_object_add(o, "entry", json_object_new_string(entry));
		if (live) {
			json_object_object_add(o, "source", json_object_new_string("runtime"));
			json_object_object_add(o, "who", json_object_new_string(live->who));
			json_object_object_add(o, "when", json_time_or_null(live->when_unix));
			json_object_object_add(o, "expires", json_time_or_null(live->expires_unix));
			/* Left half made by a killed tapis: the next change
			 * completes it (edits.h). */
			json_object_object_add(
				o, "pending",
				json_object_new_boolean(live->pending != TAPIS_EDIT_SETTLED));
		} else {
			json_object_object_add(o, "source", json_object_new_string("file"));
			json_object_object_add(o, "file", json_object_new_string(file));
			json_object_object_add(o, "line", json_object_new_int(line));
		}
		json_object_array_add(l->arr, o);
		return;
	}
	if (live) {
		snprintf(src, sizeof(src), "runtime, %s, %s%s%s%s", live->who,
			 fmt_rfc3339(live->when_unix, t1, sizeof(t1)),
			 live->expires_unix ? ", until " : "",
			 live->expires_unix ? fmt_rfc3339(live->expires_unix, t2, sizeof(t2)) : "",
			 live->pending != TAPIS_EDIT_SETTLED
				 ? ", pending (the next change completes it)"
				 : "");
	} else {
		snprintf(src, sizeof(src), "%s:%u", file, line);
	}
	printf("%-24s %-40s %s\n", safe_text(rule, b1, sizeof(b1)),
	       safe_text(entry, b1 + TAPIS_EDIT_TEXT, sizeof(b1) - TAPIS_EDIT_TEXT),
	       safe_text(src, b2, sizeof(b2)));
}

static void list_file(struct lister *l, const struct policy *p)
{
	char entry[TAPIS_EDIT_TEXT], addr[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];

		if (!rule_matches(r->name, l->rule))
			continue;
		if (l->hosts) {
			for (size_t k = 0; k < r->n_hosts; k++) {
				const struct host_entry *h = &r->hosts[k];

				snprintf(entry, sizeof(entry), "%s%s", host_pattern_prefix(h->kind),
					 h->name);
				if (!deleted_live(l, r->name, entry))
					emit(l, r->name, entry, h->loc.file, h->loc.line, NULL);
			}
			continue;
		}
		for (size_t k = 0; k < r->n_nets; k++) {
			const struct net_entry *e = &r->nets[k];

			inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, addr, sizeof(addr));
			snprintf(entry, sizeof(entry), "%s/%u", addr, e->plen);
			if (!deleted_live(l, r->name, entry))
				emit(l, r->name, entry, e->loc.file, e->loc.line, NULL);
		}
	}
}

static void list_live(struct lister *l)
{
	char rule[TAPIS_NAME_MAX];

	for (size_t i = 0; i < l->n_edits; i++) {
		const struct edit_rec *e = &l->edits[i];

		if (e->v.op != TAPIS_EDIT_ADD ||
		    e->k.type != (l->hosts ? TAPIS_EDIT_HOST : TAPIS_EDIT_NET))
			continue;
		/* A timed entry sits in its own rule "<rule>@<time>". */
		if (!e->v.expires_unix ||
		    !edits_timed_name(e->k.rule, e->v.expires_unix, rule, sizeof(rule)))
			snprintf(rule, sizeof(rule), "%s", e->k.rule);
		if (rule_matches(rule, l->rule))
			emit(l, rule, e->k.entry, NULL, 0, &e->v);
	}
}

int cli_list_entries(const struct cli *c, const struct edit_args *a, bool hosts)
{
	struct lister l = {.c = c, .hosts = hosts, .rule = a->rule};
	char path[TAPIS_PATH_MAX + 1], now[72];
	struct edit_rec *edits = NULL;
	bool changed = false, known = false;
	struct snapshot s;
	struct policy p;
	struct tapis t;
	FILE *null;
	int rc, err;

	memset(&p, 0, sizeof(p));
	rc = cli_open_snapshot(c, &t, true, &s);
	if (rc)
		return rc;
	for (size_t i = 0; a->rule && i < s.n_rules; i++)
		known |= rule_matches(s.rules[i].name, a->rule);
	if (a->rule && !known) {
		pr_err("no rule named '%s' in the running policy", a->rule);
		rc = EXIT_POLICY;
		goto out;
	}
	err = edits_list(&t, &edits, &l.n_edits);
	if (err) {
		pr_err("read the live edits: %s", strerror(-err));
		rc = cli_exit_kernel(err);
		goto out;
	}
	l.edits = edits;
	memcpy(path, s.state.policy_path, sizeof(s.state.policy_path));
	path[sizeof(s.state.policy_path)] = '\0';
	/* The file as it is now lists what is in force only if it is the file
	 * that was applied. */
	if (!path[0] || audit_digest(path, now) || strcmp(now, s.state.policy_digest))
		changed = true;
	null = fopen("/dev/null", "w");
	if (null)
		policy_set_diag(null);
	err = path[0] ? policy_parse_file(path, &p) : -ENOENT;
	policy_set_diag(stderr);
	if (null)
		fclose(null);
	if (changed)
		pr_warn("%s changed since it was applied%s: its entries are listed as the file is "
			"now "
			"(tapis reload applies it)",
			path[0] ? path : "the policy file", err ? " and does not parse" : "");
	if (c->json)
		l.arr = json_object_new_array();
	else
		printf("%-24s %-40s %s\n", "RULE", "ENTRY", "SOURCE");
	if (!err)
		list_file(&l, &p);
	list_live(&l);
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "policy", json_object_new_string(path));
		json_object_object_add(o, "policy_changed", json_object_new_boolean(changed));
		json_object_object_add(o, "entries", l.arr);
		cli_json_print(o);
	}
	rc = EXIT_OK;
out:
	policy_free(&p);
	free(edits);
	snapshot_free(&s);
	tapis_close(&t);
	return rc;
}
