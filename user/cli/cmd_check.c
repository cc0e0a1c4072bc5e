// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_check.c - `tapis check --policy FILE`: parse a policy and every list
 * it names, report what it holds, touch nothing in the kernel.
 */
#include <stdlib.h>

#include <json-c/json.h>

#include "cli.h"
#include "log.h"
#include "output.h"

int cmd_check(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	size_t rules, nets, hosts;
	const char *path = NULL;
	struct policy p;
	char *diag = NULL;
	int opt, rc = EXIT_POLICY;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hp:", opts, &rc)) != -1) {
		switch (opt) {
		case 'p':
			path = optarg;
			break;
		default:
			return rc;
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);
	if (!path)
		return cli_bad_args(c, "--policy FILE is required");

	rc = cli_parse_policy(c, path, &p, &diag);
	if (rc)
		return rc;
	policy_counts(&p, &rules, &nets, &hosts);
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "policy", json_object_new_string(path));
		json_object_object_add(o, "rules", json_object_new_uint64(rules));
		json_object_object_add(o, "nets", json_object_new_uint64(nets));
		json_object_object_add(o, "hosts", json_object_new_uint64(hosts));
		json_object_object_add(o, "warnings", json_object_new_uint64(p.warnings));
		json_object_object_add(o, "diagnostics", cli_diag_json(diag));
		cli_json_print(o);
	} else {
		printf("%s: OK: %zu rule%s, %zu net%s, %zu host%s\n", path, rules,
		       rules == 1 ? "" : "s", nets, nets == 1 ? "" : "s", hosts,
		       hosts == 1 ? "" : "s");
	}
	free(diag);
	policy_free(&p);
	return EXIT_OK;
}
