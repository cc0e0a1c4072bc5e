// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_net.c - `tapis net add|del CIDR --rule NAME`: edit the running
 * policy's prefix tables live, without a reload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "log.h"

/* What tapis_net_edit reports itself: unknown rule, prefix not in the rule
 * or held by another, an IPv4 table full. */
static const int printed[] = {-ENOENT, -EEXIST, -EPERM, -EALREADY, -ENOSPC, -ENAMETOOLONG, 0};

int cmd_net(struct cli *c, int argc, char **argv)
{
	char addr[INET6_ADDRSTRLEN], shown[INET6_ADDRSTRLEN + 8];
	struct edit_args a;
	struct net_entry e;
	struct tapis t;
	bool host_bits = false;
	int rc, err;

	if (!cli_edit_args(c, argc, argv, &a, &rc))
		return rc;
	if (a.list)
		return cli_list_entries(c, &a, false);
	memset(&e, 0, sizeof(e));
	if (parse_cidr(a.arg, &e, &host_bits))
		return cli_bad_args(c, "'%s' is not an IPv4 or IPv6 prefix", a.arg);
	inet_ntop(e.family == 4 ? AF_INET : AF_INET6, e.addr, addr, sizeof(addr));
	snprintf(shown, sizeof(shown), "%s/%u", addr, e.plen);
	/* Strict as the policy file: a typo must not become another network. */
	if (host_bits)
		return cli_bad_args(c, "'%s' has host bits set (the network is %s)", a.arg, shown);
	e.loc.file = "command line";
	e.loc.line = 0;

	memset(&t, 0, sizeof(t));
	rc = cli_open(c, &t, false);
	if (rc)
		return rc;
	err = cli_edit_target(c, &t, &a);
	if (!err)
		err = tapis_net_edit(&t, a.edit_rule, &e, a.add);
	rc = cli_edit_done(c, &t, &a, shown, err, printed);
	tapis_close(&t);
	return rc;
}
