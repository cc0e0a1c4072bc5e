// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_reload.c - `tapis reload [--policy FILE]`: compile a policy against
 * the running filter (names keep their rule ids, and counters), apply it
 * to the idle generation and flip to it. Packets see the
 * old policy or the new one, never a mix; on any error the old one keeps
 * running. Without --policy the file recorded at load time is read again.
 * The flow table's size is fixed at load (settings.flows: a warning); host
 * tables too small for the policy (or settings.capacity.names) grow, the
 * program replaced on every interface (user/lib/swap.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "cli.h"
#include "edits.h"
#include "compile.h"
#include "log.h"
#include "output.h"

/* The host index's slots as loaded: a reload grows them when the policy
 * needs more (a program swap). */
static uint64_t host_slots(const struct snapshot *s)
{
	uint32_t log2 = s->state.host_idx_log2;

	return 1ull << (log2 ? log2 : TAPIS_HOST_IDX_LOG2_DEFAULT);
}

static struct json_object *summary_json(const struct snapshot *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "generation", json_object_new_uint64(s->gen));
	json_object_object_add(o, "rules", json_object_new_uint64(s->n_rules));
	json_object_object_add(o, "entries",
			       json_entries(s->entries_v4, s->entries_v6, s->entries_hosts));
	json_object_object_add(o, "host_table_slots", json_object_new_uint64(host_slots(s)));
	return o;
}

static void print_change(const char *what, uint64_t a, uint64_t b, const char *sep)
{
	printf("%s %s %" PRIu64 " -> %" PRIu64, sep, what, a, b);
}

static struct json_object *edits_json(const struct edits_report *er, bool dropped_all, size_t n)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "kept_add", json_object_new_uint64(er->kept_add));
	json_object_object_add(o, "kept_del", json_object_new_uint64(er->kept_del));
	for (size_t i = 0; i < er->dropped; i++)
		json_object_array_add(a, json_object_new_string(er->why[i]));
	json_object_object_add(o, "forgotten", a);
	json_object_object_add(o, "dropped_all", json_object_new_uint64(dropped_all ? n : 0));
	return o;
}

/* A reload that changed nothing is recorded too, with why: monitoring
 * reads the last reload's result from the log (tapis serve), and a policy
 * that `watch` keeps failing to apply must show. */
static void audit_failed(const struct cli *c, const char *path, const char *why)
{
	struct audit_event ev = {.command = "reload", .policy = path, .result = why};

	cli_audit(c, &ev);
}

int cmd_reload(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"drop-edits", no_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char path[TAPIS_PATH_MAX + 1];
	struct snapshot old, cur;
	const char *arg = NULL;
	int opt, rc = EXIT_POLICY, err;
	uint32_t flows, flows_now, capacity, capacity_rules, ring;
	struct edits_report er = {0};
	bool drop_edits = false;
	size_t n_dropped_edits = 0;
	uint8_t digest[TAPIS_DIGEST_LEN];
	bool have_digest;
	struct compiled cp;
	struct policy p;
	struct tapis t;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hp:D", opts, &rc)) != -1) {
		switch (opt) {
		case 'p':
			arg = optarg;
			break;
		case 'D':
			drop_edits = true;
			break;
		default:
			return rc;
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);

	memset(&cur, 0, sizeof(cur));
	rc = cli_open_snapshot(c, &t, false, &old);
	if (rc)
		return rc;
	if (arg) {
		snprintf(path, sizeof(path), "%s", arg);
	} else {
		memcpy(path, old.state.policy_path, sizeof(old.state.policy_path));
		path[sizeof(old.state.policy_path)] = '\0';
		if (!path[0]) {
			rc = cli_bad_args(c, "no policy file is recorded at %s; give --policy FILE",
					  c->pin);
			goto out;
		}
	}

	/* Live edits are kept over a reload unless the operator drops them:
	 * a name deleted live must not come back with the next reload. */
	rc = cli_compile_with_edits(c, path, &t, true, &p, &cp, NULL, drop_edits ? NULL : &er);
	if (rc) {
		if (!c->json)
			pr_warn("the running policy is unchanged");
		audit_failed(c, path,
			     rc == EXIT_POLICY ? "failed: policy refused" : "failed: not compiled");
		goto out;
	}
	/* What was read, for a later `load` of the same content. */
	have_digest = content_digest(&p, digest) == 0;
	/* tapis_apply reports its failures itself. */
	flows = cp.flows;
	capacity = cp.capacity_names;
	capacity_rules = cp.capacity_rules;
	ring = cp.events_ring;
	err = tapis_apply(&t, &cp);
	compiled_free(&cp);
	policy_free(&p);
	if (!err && have_digest && tapis_set_content_digest(&t, digest))
		pr_warn("record the policy's digest failed (the next load reloads it)");
	if (err) {
		if (err == -ENOMEM)
			pr_err("reload %s: %s", path, strerror(-err));
		if (!c->json)
			pr_warn("the running policy is unchanged");
		rc = cli_exit_apply(err);
		{
			char why[128];

			snprintf(why, sizeof(why), "failed: %s", strerror(-err));
			audit_failed(c, path, why);
		}
		goto out;
	}

	/* In force now: records that no longer apply go, or all of them. */
	if (drop_edits) {
		err = edits_clear(&t, &n_dropped_edits);
		if (err)
			pr_warn("forget the live edits: %s", strerror(-err));
	} else {
		edits_forget_stale(&t, &er);
		for (size_t i = 0; i < er.dropped; i++)
			pr_warn("live edit no longer applies, forgotten: %s", er.why[i]);
	}

	/* The flow table is sized when the object is loaded. */
	if (tapis_flows_size(&t, &flows_now) == 0 && flows != flows_now)
		pr_warn("settings.flows is %" PRIu32 " but the running flow table has %" PRIu32
			" entries: the new size takes effect at the next load (unload, then load)",
			flows, flows_now);
	/* So are the host tables. */
	if (capacity > tapis_host_capacity(tapis_host_log2(&t)))
		pr_warn("settings.capacity.names is %" PRIu32 " but the running host tables take "
			"%zu names: the new size takes effect at the next load (unload, then load)",
			capacity, tapis_host_capacity(tapis_host_log2(&t)));
	/* And the rule tables and the events ring. */
	if (tapis_rule_slots_for(0, capacity_rules) > tapis_rule_slots(&t))
		pr_warn("settings.capacity.rules is %" PRIu32 " but the running rule tables have "
			"%" PRIu32 " slots: the new size takes effect at the next load (unload, "
			"then load)",
			capacity_rules, tapis_rule_slots(&t));
	if (tapis_map_entries(&t, M_EVENTS) && ring != tapis_map_entries(&t, M_EVENTS))
		pr_warn("settings.events.ring is %" PRIu32
			" but the running events ring has %" PRIu32
			" bytes: the new size takes effect at the next load (unload, then load)",
			ring, tapis_map_entries(&t, M_EVENTS));

	err = tapis_snapshot(&t, &cur);
	if (err) {
		pr_warn("reloaded, but reading the state back failed: %s", strerror(-err));
		memset(&cur, 0, sizeof(cur));
	}
	{
		struct audit_event ev = {.command = "reload", .policy = path};

		if (!err)
			ev.extra = audit_diff(&old, &cur, &ev.added, &ev.removed);
		if (have_digest) {
			char digest_s[TAPIS_DIGEST_STR];

			if (!ev.extra)
				ev.extra = json_object_new_object();
			json_object_object_add(
				ev.extra, "content_digest",
				json_object_new_string(content_digest_str(digest, digest_s)));
		}
		cli_audit(c, &ev);
	}
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "policy", json_object_new_string(path));
		json_object_object_add(o, "old", summary_json(&old));
		json_object_object_add(o, "new", err ? NULL : summary_json(&cur));
		json_object_object_add(o, "edits", edits_json(&er, drop_edits, n_dropped_edits));
		cli_json_print(o);
	} else if (err) {
		printf("reloaded %s\n", path);
	} else {
		printf("reloaded %s:", path);
		print_change("generation", old.gen, cur.gen, "");
		print_change("rules", old.n_rules, cur.n_rules, ",");
		print_change("v4", old.entries_v4, cur.entries_v4, ",");
		print_change("v6", old.entries_v6, cur.entries_v6, ",");
		print_change("hosts", old.entries_hosts, cur.entries_hosts, ",");
		if (host_slots(&cur) != host_slots(&old))
			print_change("host table slots", host_slots(&old), host_slots(&cur), ",");
		if (drop_edits)
			printf("; dropped %zu live edit%s", n_dropped_edits,
			       n_dropped_edits == 1 ? "" : "s");
		else if (er.kept_add + er.kept_del)
			printf("; kept %zu live edit%s (%zu added, %zu deleted entries)",
			       er.kept_add + er.kept_del, er.kept_add + er.kept_del == 1 ? "" : "s",
			       er.kept_add, er.kept_del);
		printf("\n");
	}
	rc = EXIT_OK;
out:
	edits_report_free(&er);
	snapshot_free(&old);
	snapshot_free(&cur);
	tapis_close(&t);
	return rc;
}
