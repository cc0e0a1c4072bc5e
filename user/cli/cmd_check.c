// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_check.c - `tapis check --policy FILE [--no-iface-check]`: parse a
 * policy and every list it names, and compile it as load would, so that
 * check refuses whatever load and reload would refuse (FILE:LINE, exit 2):
 * prefixes and patterns two rules hold are reported as load reports them,
 * a policy with more rules than a filter holds is refused, and so is a
 * redirect to an interface that does not exist. Nothing in the kernel is
 * touched.
 *
 * A rule fed by RPZ zones (`rpz:`) becomes one rule per action its zones
 * give: check lists them under the rule's name, with the host patterns
 * each will hold.
 *
 * Interfaces are looked up in the network namespace check runs in. When
 * load will run in another one (a router namespace, a container), that
 * answer is not load's: --no-iface-check skips the lookup, and load still
 * makes it before it loads anything.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "compile.h"
#include "log.h"
#include "output.h"

/* The rules made from RPZ zones, grouped by the rule that named the zones
 * (they follow one another in the policy). The end of the group starting
 * at rule i. */
static size_t rpz_group_end(const struct compiled *cp, size_t i)
{
	const char *of = cp->rules[i].r->rpz_of;
	size_t j = i;

	while (j < cp->n_rules && !strcmp(cp->rules[j].r->rpz_of, of))
		j++;
	return j;
}

static struct json_object *rpz_json(const struct compiled *cp)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0, end; i < cp->n_rules; i = end) {
		struct json_object *g, *rules;

		end = i + 1;
		if (!cp->rules[i].r->rpz_of[0])
			continue;
		end = rpz_group_end(cp, i);
		g = json_object_new_object();
		rules = json_object_new_array();
		json_object_object_add(g, "rule", json_object_new_string(cp->rules[i].r->rpz_of));
		for (size_t j = i; j < end; j++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "name",
					       json_object_new_string(cp->rules[j].r->name));
			json_object_object_add(
				o, "action",
				json_object_new_string(action_name(cp->rules[j].r->action)));
			json_object_object_add(o, "hosts",
					       json_object_new_uint64(cp->rules[j].n_hosts));
			json_object_array_add(rules, o);
		}
		json_object_object_add(g, "rules", rules);
		json_object_array_add(a, g);
	}
	return a;
}

static void rpz_print(const struct compiled *cp)
{
	for (size_t i = 0, end; i < cp->n_rules; i = end) {
		end = i + 1;
		if (!cp->rules[i].r->rpz_of[0])
			continue;
		end = rpz_group_end(cp, i);
		printf("  rule %s (rpz) ->", cp->rules[i].r->rpz_of);
		for (size_t j = i; j < end; j++)
			printf("%s %s (%" PRIu64 " host%s)", j > i ? "," : "", cp->rules[j].r->name,
			       cp->rules[j].n_hosts, cp->rules[j].n_hosts == 1 ? "" : "s");
		printf("\n");
	}
}

static struct json_object *summary_json(const char *path, const struct policy *p,
					const struct compiled *cp, bool iface_check,
					const char *diag)
{
	struct json_object *o = json_object_new_object(), *cf = json_object_new_object();
	size_t rules, nets, hosts;
	uint64_t v4, v6, h;

	policy_counts(p, &rules, &nets, &hosts);
	compiled_totals(cp, &v4, &v6, &h);
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "policy", json_object_new_string(path));
	json_object_object_add(o, "rules", json_object_new_uint64(rules));
	/* As written, duplicates included. */
	json_object_object_add(o, "nets", json_object_new_uint64(nets));
	json_object_object_add(o, "hosts", json_object_new_uint64(hosts));
	/* As load will hold them, per kind: what `status` will show. */
	json_object_object_add(o, "entries", json_entries(v4, v6, h));
	json_object_object_add(cf, "nets", json_object_new_uint64(cp->net_conflicts));
	json_object_object_add(cf, "hosts", json_object_new_uint64(cp->host_conflicts));
	json_object_object_add(o, "conflicts", cf);
	json_object_object_add(o, "rpz", rpz_json(cp));
	json_object_object_add(o, "iface_check", json_object_new_boolean(iface_check));
	json_object_object_add(o, "warnings", json_object_new_uint64(p->warnings + cp->warnings));
	json_object_object_add(o, "diagnostics", cli_diag_json(diag));
	return o;
}

int cmd_check(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"no-iface-check", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool iface_check = true;
	struct compiled cp;
	struct policy p;
	char *diag = NULL;
	int opt, rc = EXIT_POLICY;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hp:n", opts, &rc)) != -1) {
		switch (opt) {
		case 'p':
			path = optarg;
			break;
		case 'n':
			iface_check = false;
			break;
		default:
			return rc;
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);
	if (!path)
		return cli_bad_args(c, "--policy FILE is required");

	rc = cli_compile_policy(c, path, NULL, iface_check, &p, &cp, &diag);
	if (rc)
		return rc;
	if (c->json) {
		cli_json_print(summary_json(path, &p, &cp, iface_check, diag));
	} else {
		size_t rules, nets, hosts;
		unsigned warnings = p.warnings + cp.warnings;
		uint64_t v4, v6, h;

		policy_counts(&p, &rules, &nets, &hosts);
		compiled_totals(&cp, &v4, &v6, &h);
		printf("%s: OK: %zu rule%s, %zu net%s, %zu host%s (entries: v4 %" PRIu64
		       ", v6 %" PRIu64 ", hosts %" PRIu64 ")%s",
		       path, rules, rules == 1 ? "" : "s", nets, nets == 1 ? "" : "s", hosts,
		       hosts == 1 ? "" : "s", v4, v6, h,
		       iface_check ? "" : "; interfaces not checked");
		if (warnings)
			printf("; %u warning%s", warnings, warnings == 1 ? "" : "s");
		printf("\n");
		rpz_print(&cp);
	}
	free(diag);
	compiled_free(&cp);
	policy_free(&p);
	return EXIT_OK;
}
