// SPDX-License-Identifier: GPL-2.0
/*
 * resolve.c - what a compiled policy names outside itself: the interfaces
 * its redirect rules send frames out of, looked up by name in the network
 * namespace this process runs in. A name that resolves here may not exist
 * where `load` will run (and the reverse), which is why `tapis check` can
 * skip this step (--no-iface-check); load and reload always take it,
 * before anything is written to the kernel.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "compile.h"
#include "diag.h"

static const char *where(const struct rule *r, unsigned *line)
{
	const struct src_loc *l = r->redirect_loc.file ? &r->redirect_loc : &r->loc;

	*line = l->line;
	return l->file ? l->file : "policy";
}

static int resolve_one(const struct rule *r, struct compiled_rule *cr, int sock)
{
	struct ifreq ifr = {};
	unsigned line;
	const char *file = where(r, &line);

	cr->redirect_ifindex = if_nametoindex(r->redirect_iface);
	if (!cr->redirect_ifindex) {
		if (errno == ENODEV || errno == ENXIO)
			diag(file, line, "error",
			     "rule '%s': redirect interface '%s' does not exist (in this network "
			     "namespace)",
			     r->name, r->redirect_iface);
		else
			diag(file, line, "error", "rule '%s': redirect interface '%s': %s", r->name,
			     r->redirect_iface, strerror(errno));
		return -ENODEV;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", r->redirect_iface);
	if (ioctl(sock, SIOCGIFHWADDR, &ifr)) {
		diag(file, line, "error",
		     "rule '%s': redirect interface '%s': cannot read its MAC address: %s", r->name,
		     r->redirect_iface, strerror(errno));
		return -ENODEV;
	}
	memcpy(cr->redirect_smac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

int compiled_resolve(struct compiled *c)
{
	int sock = -1, err = 0;

	for (size_t i = 0; i < c->n_rules; i++) {
		const struct rule *r = c->rules[i].r;

		if (r->action != TAPIS_ACT_REDIRECT)
			continue;
		if (sock < 0) {
			sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (sock < 0) {
				err = -errno;
				diag(r->loc.file, r->loc.line, "error",
				     "look up redirect interfaces: %s", strerror(-err));
				return err;
			}
		}
		/* Every missing interface in one run, as the parser reports
		 * every error. */
		if (resolve_one(r, &c->rules[i], sock))
			err = -ENODEV;
	}
	if (sock >= 0)
		close(sock);
	c->resolved = !err;
	return err;
}
