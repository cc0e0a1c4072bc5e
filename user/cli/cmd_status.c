// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_status.c - `tapis status`: what is loaded at the pin path. Under
 * --json a missing filter is an answer, not only an error:
 * {"loaded": false, "pin_path": ..., "error": ...}, exit code 4.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "cli.h"
#include "edits.h"
#include "log.h"
#include "output.h"

/* The audit log's last record, one line: what changed last, by whom. */
static void print_last(struct json_object *rec)
{
	static const char *const keys[] = {"time", "user", "command", "rule", "entry", "policy"};
	struct json_object *v;
	char buf[512];
	size_t i;

	printf("%-12s", "last change:");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(rec, keys[i], &v))
			printf(" %s", safe_text(json_object_get_string(v), buf, sizeof(buf)));
	printf(" (tapis audit for more)\n");
}

/* The live edits that differ from the policy file: kept by a reload. */
static struct json_object *edits_json(const struct edit_rec *e, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "type",
				       json_object_new_string(edit_type_name(e[i].k.type)));
		json_object_object_add(
			o, "op",
			json_object_new_string(e[i].v.op == TAPIS_EDIT_ADD ? "add" : "del"));
		json_object_object_add(o, "rule", json_object_new_string(e[i].k.rule));
		json_object_object_add(o, "entry", json_object_new_string(e[i].k.entry));
		json_object_object_add(o, "who", json_object_new_string(e[i].v.who));
		json_object_object_add(o, "when", json_time_or_null(e[i].v.when_unix));
		json_object_object_add(o, "expires", json_time_or_null(e[i].v.expires_unix));
		/* Left half made by a killed tapis: in force or not until the
		 * next change completes it. */
		json_object_object_add(
			o, "pending",
			json_object_new_boolean(e[i].v.pending != TAPIS_EDIT_SETTLED));
		json_object_array_add(a, o);
	}
	return a;
}

static void print_edits(const struct edit_rec *e, size_t n)
{
	char t[32], b1[TAPIS_EDIT_TEXT * 2], b2[64];

	printf("%-12s%zu (kept by reload; tapis reload --drop-edits forgets them)\n",
	       "live edits:", n);
	for (size_t i = 0; i < n; i++)
		printf("  %s %s %s %s %s by %s at %s%s\n", edit_type_name(e[i].k.type),
		       e[i].v.op == TAPIS_EDIT_ADD ? "add" : "del",
		       safe_text(e[i].k.entry, b1, sizeof(b1)),
		       e[i].v.op == TAPIS_EDIT_ADD ? "to" : "from",
		       safe_text(e[i].k.rule, b1 + TAPIS_EDIT_TEXT, sizeof(b1) - TAPIS_EDIT_TEXT),
		       safe_text(e[i].v.who, b2, sizeof(b2)),
		       fmt_rfc3339(e[i].v.when_unix, t, sizeof(t)),
		       e[i].v.pending != TAPIS_EDIT_SETTLED
			       ? " (left half made by a killed tapis: the next change completes it)"
			       : "");
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt, rc = EXIT_POLICY, err;
	struct snapshot s;
	struct tapis t;

	optind = 0;
	/* --help is the only option: anything getopt returns ends the command. */
	if ((opt = cli_getopt(c, argc, argv, ":h", opts, &rc)) != -1)
		return rc;
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);

	memset(&t, 0, sizeof(t));
	err = tapis_open(&t, c->pin, true);
	if (err == -ENOENT && c->json) {
		struct json_object *x = json_object_new_object();
		char msg[PATH_MAX + 64];

		snprintf(msg, sizeof(msg), "nothing loaded at %s (tapis load first)", c->pin);
		json_object_object_add(x, "loaded", json_object_new_boolean(0));
		json_object_object_add(x, "pin_path", json_object_new_string(c->pin));
		cli_json_error(msg, x);
		return EXIT_NOSTATE;
	}
	if (err)
		return cli_open_failed(c, err);

	memset(&s, 0, sizeof(s));
	err = tapis_snapshot(&t, &s);
	if (!err)
		tapis_check_ifaces(&t, &s); /* a record is not proof: ask the kernel */
	if (err) {
		pr_err("read the state at %s: %s", c->pin, strerror(-err));
		rc = cli_exit_kernel(err);
	} else {
		struct json_object *last = audit_last(c->audit);
		struct edit_rec *ed = NULL;
		size_t n_ed = 0;

		if (edits_list(&t, &ed, &n_ed))
			pr_warn("the live edits could not be read");
		if (c->json) {
			struct json_object *o = status_json(&s, c->pin);

			json_object_object_add(o, "last_change", last);
			json_object_object_add(o, "edits", edits_json(ed, n_ed));
			last = NULL;
			rc = out_json(stdout, o) ? EXIT_RUNTIME : EXIT_OK;
		} else {
			rc = status_render(&s, c->pin, OUT_TEXT, stdout) ? EXIT_RUNTIME : EXIT_OK;
			if (last)
				print_last(last);
			print_edits(ed, n_ed);
		}
		free(ed);
		json_object_put(last);
		snapshot_free(&s);
	}
	tapis_close(&t);
	return rc;
}
