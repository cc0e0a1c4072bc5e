// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_audit.c - `tapis audit [--rule NAME] [--since TIME|DURATION]`: the
 * audit log read back, oldest first; text one line a change, or JSON
 * {"records": [...]} with each record as written.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "audit.h"
#include "cli.h"
#include "log.h"
#include "output.h"
#include "when.h"

static const char *get(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static int64_t get_int(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

/* A field as text, without terminal control characters. */
static void field(const char *label, const char *v)
{
	char buf[512];

	if (!v || !*v)
		return;
	printf(" %s%s", label, safe_text(v, buf, sizeof(buf)));
}

static int print_text(struct json_object *rec, void *arg)
{
	struct json_object *rm;
	const char *sudo = get(rec, "sudo_user");
	char buf[512];

	(void)arg;
	printf("%s %s", get(rec, "time") ? get(rec, "time") : "?",
	       safe_text(get(rec, "user") ? get(rec, "user") : "?", buf, sizeof(buf)));
	if (sudo)
		printf(" (sudo %s)", safe_text(sudo, buf, sizeof(buf)));
	field("", get(rec, "command"));
	field("rule=", get(rec, "rule"));
	field("entry=", get(rec, "entry"));
	field("ref=", get(rec, "reference"));
	field("policy=", get(rec, "policy"));
	printf(" +%" PRId64 " -%" PRId64, get_int(rec, "added"), get_int(rec, "removed"));
	if (json_object_object_get_ex(rec, "rules_removed", &rm) &&
	    json_object_array_length(rm) > 0) {
		printf(" lifted:");
		for (size_t i = 0; i < json_object_array_length(rm); i++) {
			struct json_object *r = json_object_array_get_idx(rm, i);

			printf("%s%s(%" PRId64 " packets)", i ? "," : "",
			       safe_text(get(r, "name") ? get(r, "name") : "?", buf, sizeof(buf)),
			       get_int(r, "packets"));
		}
	}
	field("result=", get(rec, "result"));
	putchar('\n');
	return 0;
}

static int collect(struct json_object *rec, void *arg)
{
	json_object_array_add(arg, json_object_get(rec));
	return 0;
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"rule", required_argument, NULL, 'r'},
		{"since", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct json_object *arr = NULL, *o;
	const char *rule = NULL;
	int opt, rc = EXIT_POLICY, err;
	int64_t since = 0;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hr:s:", opts, &rc)) != -1) {
		switch (opt) {
		case 'r':
			rule = optarg;
			break;
		case 's':
			if (!when_parse_since(optarg, (int64_t)time(NULL), &since))
				return cli_bad_args(
					c,
					"--since '%.64s' is neither an RFC 3339 time "
					"(2026-12-01T00:00:00Z) nor a duration (2h, 7d)",
					optarg);
			break;
		default:
			return rc;
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);

	if (c->json)
		arr = json_object_new_array();
	err = audit_read(c->audit, rule, since, c->json ? collect : print_text, arr);
	if (err == -ENOENT) {
		/* No log yet: nothing was changed through it, which is an answer. */
		if (!c->json)
			pr_warn("no audit log at %s yet", c->audit);
		err = 0;
	}
	if (err) {
		pr_err("read %s: %s", c->audit, strerror(-err));
		json_object_put(arr);
		return EXIT_RUNTIME;
	}
	if (c->json) {
		o = json_object_new_object();
		json_object_object_add(o, "audit_log", json_object_new_string(c->audit));
		json_object_object_add(o, "records", arr);
		cli_json_print(o);
	}
	return EXIT_OK;
}
