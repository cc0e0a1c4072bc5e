// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_stats.c - `tapis stats [--json | --prometheus] [--top N]`: one
 * snapshot of the counters, rendered by output.c or prometheus.c. The
 * table lists rules by hits, most first; --top N keeps the first N (JSON
 * too, same shape).
 *
 * --prometheus prints what `tapis serve` serves, for a textfile collector;
 * with nothing loaded it still prints what it knows (tapis_up 0) and exits
 * 4, so that a script that keeps the output only on success keeps none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "output.h"

/* --top N: 1 .. TAPIS_MAX_RULES. */
static bool parse_top(const char *a, size_t *top)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(a, &end, 10);
	if (errno || *end || end == a || v < 1 || v > TAPIS_MAX_RULES)
		return false;
	*top = (size_t)v;
	return true;
}

int cmd_stats(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"prometheus", no_argument, NULL, 'P'},
		{"top", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum out_format fmt = c->json ? OUT_JSON : OUT_TEXT;
	int opt, rc = EXIT_POLICY, open_rc;
	struct prom_meta m;
	struct snapshot s;
	struct tapis t;
	size_t top = 0;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hPt:", opts, &rc)) != -1) {
		switch (opt) {
		case 'P':
			fmt = OUT_PROMETHEUS;
			break;
		case 't':
			if (!parse_top(optarg, &top))
				return cli_bad_args(c, "--top takes a number of rules, 1..%d",
						    TAPIS_MAX_RULES);
			break;
		default:
			return rc;
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);
	if (fmt == OUT_PROMETHEUS && c->json)
		return cli_bad_args(c, "--json and --prometheus are exclusive");
	if (fmt == OUT_PROMETHEUS && top)
		return cli_bad_args(c, "--top is for the table and --json: the exposition "
				       "carries every rule");

	open_rc = cli_open_snapshot(c, &t, true, &s);
	if (fmt == OUT_PROMETHEUS) {
		prom_meta_fill(&m, TAPIS_VERSION, c->audit, c->pin);
		/* Nothing loaded (or unreadable): tapis_up 0, and the exit
		 * code cli_open_snapshot reported. */
		rc = prom_render(open_rc ? NULL : &s, &m, stdout) ? EXIT_RUNTIME : open_rc;
	} else {
		rc = open_rc ?: (stats_render_top(&s, fmt, top, stdout) ? EXIT_RUNTIME : EXIT_OK);
	}
	/* cli_open_snapshot left nothing open when it failed. */
	if (!open_rc) {
		snapshot_free(&s);
		tapis_close(&t);
	}
	return rc;
}
