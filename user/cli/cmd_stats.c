// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_stats.c - `tapis stats [--json | --prometheus]`: one snapshot of the
 * counters, rendered by output.c or prometheus.c.
 */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "output.h"

int cmd_stats(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"prometheus", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum out_format fmt = c->json ? OUT_JSON : OUT_TEXT;
	int opt, rc = EXIT_POLICY;
	struct snapshot s;
	struct tapis t;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hP", opts, &rc)) != -1) {
		switch (opt) {
		case 'P':
			fmt = OUT_PROMETHEUS;
			break;
		default:
			return rc;
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);
	if (fmt == OUT_PROMETHEUS && c->json)
		return cli_bad_args(c, "--json and --prometheus are exclusive");

	rc = cli_open_snapshot(c, &t, true, &s);
	if (rc)
		return rc;
	rc = stats_render(&s, fmt, stdout) ? EXIT_RUNTIME : EXIT_OK;
	snapshot_free(&s);
	tapis_close(&t);
	return rc;
}
