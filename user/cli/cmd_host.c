// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_host.c - `tapis host add|del PATTERN --rule NAME`: edit the running
 * policy's host table live, without a reload. PATTERN as in the policy
 * file: example.com (subtree), =example.com (exact), *.example.com
 * (wildcard: below the name only); normalised as the policy compiler does.
 */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "hostname.h"
#include "log.h"

/* What tapis_host_edit reports itself: unknown rule, pattern not in the
 * rule, pattern held by another rule. */
static const int printed[] = {-ENOENT, -EEXIST, 0};

int cmd_host(struct cli *c, int argc, char **argv)
{
	char norm[TAPIS_HOST_MAX + 2], shown[TAPIS_HOST_MAX + 4];
	struct host_entry h;
	struct edit_args a;
	const char *name, *why = NULL, *prefix = "";
	struct tapis t;
	int rc, err;

	if (!cli_edit_args(c, argc, argv, &a, &rc))
		return rc;
	memset(&h, 0, sizeof(h));
	name = a.arg;
	if (name[0] == '=') {
		h.kind = HOST_EXACT;
		name++;
		prefix = "=";
	} else if (name[0] == '*' && name[1] == '.') {
		h.kind = HOST_WILDCARD;
		name += 2;
		prefix = "*.";
	} else {
		h.kind = HOST_SUBTREE;
	}
	if (hostname_normalize(name, norm, sizeof(norm), &why))
		return cli_bad_args(c, "'%s' is not a host pattern: %s", a.arg,
				    why ? why : "invalid name");
	snprintf(shown, sizeof(shown), "%s%s", prefix, norm);
	h.name = norm;
	h.loc.file = "command line";
	h.loc.line = 0;

	memset(&t, 0, sizeof(t));
	rc = cli_open(c, &t, false);
	if (rc)
		return rc;
	err = tapis_host_edit(&t, a.rule, &h, a.add);
	rc = cli_edit_done(c, &a, shown, err, printed);
	tapis_close(&t);
	return rc;
}
