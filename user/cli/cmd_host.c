// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_host.c - `tapis host add|del PATTERN --rule NAME`: edit the running
 * policy's host table live, without a reload. PATTERN as in the policy
 * file: example.com (subtree), =example.com (exact), *.example.com
 * (wildcard: below the name only), read by the policy's own parser.
 */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "log.h"

/* What tapis_host_edit reports itself: unknown rule, pattern not in the
 * rule, pattern held by another rule. */
static const int printed[] = {-ENOENT, -EEXIST, -EALREADY, -ENOSPC, -ENAMETOOLONG, 0};

int cmd_host(struct cli *c, int argc, char **argv)
{
	char shown[TAPIS_HOST_MAX + 4], why[256];
	struct host_pattern hp;
	struct host_entry h;
	struct edit_args a;
	struct tapis t;
	int rc, err;

	if (!cli_edit_args(c, argc, argv, &a, &rc))
		return rc;
	if (a.list)
		return cli_list_entries(c, &a, true);
	if (host_pattern_parse(a.arg, &hp, why, sizeof(why)))
		return cli_bad_args(c, "%s", why);
	snprintf(shown, sizeof(shown), "%s%s", host_pattern_prefix(hp.kind), hp.name);
	memset(&h, 0, sizeof(h));
	h.kind = hp.kind;
	h.name = hp.name;
	h.loc.file = "command line";
	h.loc.line = 0;

	memset(&t, 0, sizeof(t));
	rc = cli_open(c, &t, false);
	if (rc)
		return rc;
	err = cli_edit_target(c, &t, &a);
	if (!err)
		err = tapis_host_edit(&t, a.edit_rule, &h, a.add);
	rc = cli_edit_done(c, &t, &a, shown, err, printed);
	tapis_close(&t);
	return rc;
}
