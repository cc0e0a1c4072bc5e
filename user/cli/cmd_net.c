// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_net.c - `tapis net add|del CIDR... --rule NAME`: edit the running
 * policy's prefix tables live, without a reload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

/* What tapis_net_edit reports itself: unknown rule, prefix not in the rule
 * or held by another, an IPv4 table full. */
static const int printed[] = {-ENOENT, -EEXIST, -EPERM, -EALREADY, -ENOSPC, -ENAMETOOLONG, 0};

static int edit_one(struct tapis *t, const char *rule, int i, bool add, void *ctx)
{
	const struct net_entry *e = ctx;

	return tapis_net_edit(t, rule, &e[i], add);
}

int cmd_net(struct cli *c, int argc, char **argv)
{
	char addr[INET6_ADDRSTRLEN], (*shown)[INET6_ADDRSTRLEN + 8] = NULL, **shown_p = NULL;
	struct net_entry *e = NULL;
	struct edit_args a;
	bool host_bits = false;
	int rc;

	if (!cli_edit_args(c, argc, argv, &a, &rc))
		return rc;
	if (a.list)
		return cli_list_entries(c, &a, false);
	shown = calloc(a.n_args, sizeof(*shown));
	shown_p = calloc(a.n_args, sizeof(*shown_p));
	e = calloc(a.n_args, sizeof(*e));
	if (!shown || !shown_p || !e) {
		pr_err("%s", strerror(ENOMEM));
		rc = EXIT_RUNTIME;
		goto out;
	}
	/* Every entry is read before any is edited: a typo refuses the
	 * batch whole. */
	for (int i = 0; i < a.n_args; i++) {
		if (parse_cidr(a.args[i], &e[i], &host_bits)) {
			rc = cli_bad_args(c, "'%s' is not an IPv4 or IPv6 prefix", a.args[i]);
			goto out;
		}
		inet_ntop(e[i].family == 4 ? AF_INET : AF_INET6, e[i].addr, addr, sizeof(addr));
		snprintf(shown[i], sizeof(shown[i]), "%s/%u", addr, e[i].plen);
		shown_p[i] = shown[i];
		/* Strict as the policy file: a typo must not become another
		 * network. */
		if (host_bits) {
			rc = cli_bad_args(c, "'%s' has host bits set (the network is %s)",
					  a.args[i], shown[i]);
			goto out;
		}
		e[i].loc.file = "command line";
		e[i].loc.line = 0;
	}
	rc = cli_edit_batch(c, &a, shown_p, edit_one, e, printed);
out:
	free(shown);
	free(shown_p);
	free(e);
	return rc;
}
