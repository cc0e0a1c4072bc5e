// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_host.c - `tapis host add|del PATTERN... --rule NAME`: edit the running
 * policy's host table live, without a reload. PATTERN as in the policy
 * file: example.com (subtree), =example.com (exact), *.example.com
 * (wildcard: below the name only), read by the policy's own parser.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

/* What tapis_host_edit reports itself: unknown rule, pattern not in the
 * rule, pattern held by another rule. */
static const int printed[] = {-ENOENT, -EEXIST, -EALREADY, -ENOSPC, -ENAMETOOLONG, 0};

static int edit_one(struct tapis *t, const char *rule, int i, bool add, void *ctx)
{
	const struct host_entry *h = ctx;

	return tapis_host_edit(t, rule, &h[i], add);
}

int cmd_host(struct cli *c, int argc, char **argv)
{
	char(*shown)[TAPIS_HOST_MAX + 4] = NULL, **shown_p = NULL, why[256];
	struct host_pattern *hp = NULL;
	struct host_entry *h = NULL;
	struct edit_args a;
	int rc;

	if (!cli_edit_args(c, argc, argv, &a, &rc))
		return rc;
	if (a.list)
		return cli_list_entries(c, &a, true);
	shown = calloc(a.n_args, sizeof(*shown));
	shown_p = calloc(a.n_args, sizeof(*shown_p));
	hp = calloc(a.n_args, sizeof(*hp));
	h = calloc(a.n_args, sizeof(*h));
	if (!shown || !shown_p || !hp || !h) {
		pr_err("%s", strerror(ENOMEM));
		rc = EXIT_RUNTIME;
		goto out;
	}
	/* Every entry is read before any is edited: a typo refuses the
	 * batch whole. */
	for (int i = 0; i < a.n_args; i++) {
		if (host_pattern_parse(a.args[i], &hp[i], why, sizeof(why))) {
			rc = cli_bad_args(c, "%s", why);
			goto out;
		}
		snprintf(shown[i], sizeof(shown[i]), "%s%s", host_pattern_prefix(hp[i].kind),
			 hp[i].name);
		shown_p[i] = shown[i];
		h[i].kind = hp[i].kind;
		h[i].name = hp[i].name;
		h[i].loc.file = "command line";
		h[i].loc.line = 0;
	}
	rc = cli_edit_batch(c, &a, shown_p, edit_one, h, printed);
out:
	free(shown);
	free(shown_p);
	free(hp);
	free(h);
	return rc;
}
