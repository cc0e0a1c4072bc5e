// SPDX-License-Identifier: GPL-2.0
/* Attach and detach through libxdp, so production kernels with freplace get
 * the multi-program dispatcher; where libxdp falls back to a single program
 * (no freplace, as on the test machines) we record and report that. The
 * policy is installed before the first attach, so the first packet already
 * meets it. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <xdp/libxdp.h>

#include "log.h"
#include "tapis.h"

int parse_mode(const char *s, enum tapis_mode *m)
{
	if (!strcmp(s, "auto"))
		*m = MODE_AUTO;
	else if (!strcmp(s, "native"))
		*m = MODE_NATIVE;
	else if (!strcmp(s, "generic"))
		*m = MODE_GENERIC;
	else
		return -EINVAL;
	return 0;
}

const char *mode_name(uint8_t m)
{
	switch (m) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "generic";
	case XDP_MODE_HW:
		return "offload";
	default:
		return "unknown";
	}
}

static int state_rw(struct tapis *t, struct tapis_state *st, bool write)
{
	uint32_t zero = 0;
	int err = write ? bpf_map_update_elem(t->map_fd[M_STATE], &zero, st, BPF_ANY)
			: bpf_map_lookup_elem(t->map_fd[M_STATE], &zero, st);

	return err ? -errno : 0;
}

static struct xdp_program *our_prog(struct tapis *t)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, o, .fd = t->prog_fd);
	struct xdp_program *p = xdp_program__create(&o);

	return libxdp_get_error(p) ? NULL : p;
}

static int attach_one(struct xdp_program *prog, const char *ifname, enum tapis_mode mode,
		      struct tapis_iface *rec)
{
	static const enum xdp_attach_mode modes[] = {XDP_MODE_UNSPEC, XDP_MODE_NATIVE,
						     XDP_MODE_SKB};
	struct xdp_multiprog *mp;
	int ifindex = if_nametoindex(ifname), err;
	char buf[256];

	if (!ifindex) {
		err = -errno;
		pr_err("attach to %s: %s", ifname, strerror(-err));
		return err;
	}
	err = xdp_program__attach(prog, ifindex, modes[mode], 0);
	if (err) {
		libxdp_strerror(err, buf, sizeof(buf));
		pr_err("attach to %s (%s mode): %s", ifname,
		       mode == MODE_AUTO     ? "auto"
		       : mode == MODE_NATIVE ? "native"
					     : "generic",
		       buf);
		return err;
	}
	memset(rec, 0, sizeof(*rec));
	rec->ifindex = ifindex;
	rec->in_use = 1;
	snprintf(rec->name, sizeof(rec->name), "%s", ifname);
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!libxdp_get_error(mp) && mp) {
		rec->mode = xdp_multiprog__attach_mode(mp);
		rec->multiprog = !xdp_multiprog__is_legacy(mp);
		xdp_multiprog__close(mp);
	} else {
		rec->mode = mode == MODE_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	}
	pr_info("attached to %s: %s mode, %s", ifname, mode_name(rec->mode),
		rec->multiprog ? "libxdp dispatcher" : "single program (no dispatcher)");
	return 0;
}

static int detach_one(struct xdp_program *prog, struct tapis_iface *rec)
{
	int err = xdp_program__detach(prog, rec->ifindex, rec->mode, 0);
	char buf[256];

	if (err && err != -ENOENT && err != -ENODEV && if_indextoname(rec->ifindex, buf)) {
		libxdp_strerror(err, buf, sizeof(buf));
		pr_err("detach from %s: %s", rec->name, buf);
		return err;
	}
	memset(rec, 0, sizeof(*rec));
	return 0;
}

int tapis_attach(struct tapis *t, char *const *ifnames, int n, enum tapis_mode mode)
{
	struct tapis_state st;
	struct xdp_program *prog;
	int slots[TAPIS_MAX_IFACES], done = 0, err;

	err = state_rw(t, &st, false);
	if (err)
		return err;
	prog = our_prog(t);
	if (!prog) {
		pr_err("libxdp cannot use the loaded program");
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		int free_slot = -1;

		for (int s = 0; s < TAPIS_MAX_IFACES; s++) {
			if (st.ifaces[s].in_use && !strcmp(st.ifaces[s].name, ifnames[i])) {
				pr_err("tapis is already attached to %s", ifnames[i]);
				err = -EEXIST;
				goto rollback;
			}
			if (!st.ifaces[s].in_use && free_slot < 0) {
				bool mine = false;

				for (int d = 0; d < done; d++)
					mine |= slots[d] == s;
				if (!mine)
					free_slot = s;
			}
		}
		if (free_slot < 0) {
			pr_err("more than %d interfaces", TAPIS_MAX_IFACES);
			err = -ENOSPC;
			goto rollback;
		}
		err = attach_one(prog, ifnames[i], mode, &st.ifaces[free_slot]);
		if (err)
			goto rollback;
		slots[done++] = free_slot;
	}
	err = state_rw(t, &st, true);
	if (!err)
		goto out;
rollback:
	/* All or nothing: interfaces this call attached are detached again. */
	for (int d = 0; d < done; d++)
		detach_one(prog, &st.ifaces[slots[d]]);
out:
	xdp_program__close(prog);
	return err;
}

int tapis_detach(struct tapis *t, const char *ifname)
{
	struct tapis_state st;
	struct xdp_program *prog;
	int err, found = 0;

	err = state_rw(t, &st, false);
	if (err)
		return err;
	prog = our_prog(t);
	if (!prog)
		return -EINVAL;
	for (int s = 0; s < TAPIS_MAX_IFACES; s++) {
		if (!st.ifaces[s].in_use || (ifname && strcmp(st.ifaces[s].name, ifname)))
			continue;
		found++;
		err = detach_one(prog, &st.ifaces[s]) ?: err;
	}
	xdp_program__close(prog);
	if (ifname && !found) {
		pr_err("tapis is not attached to %s", ifname);
		return -ENOENT;
	}
	return state_rw(t, &st, true) ?: err;
}
