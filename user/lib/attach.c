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

const char *mode_ip_keyword(uint8_t m)
{
	/* Plain "xdp off" would aim at native mode where the driver has it,
	 * and leave a generic program in place. */
	switch (m) {
	case XDP_MODE_SKB:
		return "xdpgeneric";
	case XDP_MODE_HW:
		return "xdpoffload";
	default:
		return "xdpdrv";
	}
}

bool mode_matches(enum tapis_mode m, uint8_t xdp_attach_mode)
{
	switch (m) {
	case MODE_NATIVE:
		return xdp_attach_mode == XDP_MODE_NATIVE;
	case MODE_GENERIC:
		return xdp_attach_mode == XDP_MODE_SKB;
	default:
		return true;
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

static int our_prog_id(struct tapis *t, uint32_t *id)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(t->prog_fd, &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

static void set_prog(struct tapis_xdp_info *x, const struct xdp_program *p)
{
	x->prog_id = xdp_program__id(p);
	snprintf(x->prog_name, sizeof(x->prog_name), "%s", xdp_program__name(p) ?: "");
}

int tapis_xdp_query(struct tapis *t, const char *ifname, struct tapis_xdp_info *x)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	uint32_t ours = 0;
	int err;

	memset(x, 0, sizeof(*x));
	x->ifindex = if_nametoindex(ifname);
	if (!x->ifindex)
		return errno == ENXIO ? -ENODEV : -errno;
	err = our_prog_id(t, &ours);
	if (err)
		return err;
	mp = xdp_multiprog__get_from_ifindex((int)x->ifindex);
	err = libxdp_get_error(mp);
	if (err == -ENOENT || (!err && !mp))
		return 0; /* nothing attached */
	if (err)
		return err;
	x->mode = (uint8_t)xdp_multiprog__attach_mode(mp);
	x->multiprog = !xdp_multiprog__is_legacy(mp);
	if (!x->multiprog) {
		p = xdp_multiprog__main_prog(mp);
		if (p) {
			set_prog(x, p);
			x->owner = x->prog_id == ours ||
						   (t->alt_prog_id && x->prog_id == t->alt_prog_id)
					   ? TAPIS_XDP_OURS
					   : TAPIS_XDP_OTHER;
		}
	} else {
		/* Behind a dispatcher: ours if one of its programs is. */
		for (p = xdp_multiprog__next_prog(NULL, mp); p;
		     p = xdp_multiprog__next_prog(p, mp)) {
			if (xdp_program__id(p) == ours) {
				x->owner = TAPIS_XDP_OURS;
				set_prog(x, p);
			} else if (x->owner == TAPIS_XDP_NONE) {
				x->owner = TAPIS_XDP_OTHER;
				set_prog(x, p);
			}
		}
	}
	xdp_multiprog__close(mp);
	return 0;
}

/* Is the record still true: our program on that very interface? A name
 * whose interface was deleted and made again has another ifindex. */
static bool record_holds(struct tapis *t, const struct tapis_iface *rec)
{
	struct tapis_xdp_info x;

	return tapis_xdp_query(t, rec->name, &x) == 0 && x.owner == TAPIS_XDP_OURS &&
	       x.ifindex == rec->ifindex;
}

void tapis_check_ifaces(struct tapis *t, struct snapshot *s)
{
	char name[TAPIS_IFNAME_MAX + 1];
	struct tapis_xdp_info x;

	for (int i = 0; i < TAPIS_MAX_IFACES; i++) {
		const struct tapis_iface *rec = &s->state.ifaces[i];
		int err;

		if (!rec->in_use)
			continue;
		memcpy(name, rec->name, sizeof(rec->name));
		name[sizeof(rec->name)] = '\0';
		err = tapis_xdp_query(t, name, &x);
		if (err == -ENODEV)
			s->iface_runs[i] = 0; /* the interface is gone */
		else if (err)
			s->iface_runs[i] = -1;
		else
			s->iface_runs[i] = x.owner == TAPIS_XDP_OURS && x.ifindex == rec->ifindex;
	}
	s->ifaces_checked = true;
}

/* May tapis attach to ifname? Not over another program: libxdp would
 * replace or refuse it depending on its version and the kernel, and an
 * operator's program must not vanish because a filter started. Beside one
 * in a libxdp dispatcher it may, which is what the dispatcher is for. */
static int attach_allowed(struct tapis *t, const char *ifname, struct tapis_xdp_info *x)
{
	int err = tapis_xdp_query(t, ifname, x);

	if (err == -ENODEV)
		return 0; /* attach_one names the missing interface */
	if (err) {
		pr_err("attach to %s: cannot tell what runs there: %s", ifname, strerror(-err));
		return err;
	}
	if (x->owner == TAPIS_XDP_OTHER && !x->multiprog) {
		pr_err("attach to %s: another XDP program runs there: %s (id %u, %s mode); tapis "
		       "does not replace it (remove it first: ip link set dev %s %s off)",
		       ifname, x->prog_name[0] ? x->prog_name : "(unnamed)", x->prog_id,
		       mode_name(x->mode), ifname, mode_ip_keyword(x->mode));
		return -EBUSY;
	}
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
		struct tapis_xdp_info x;
		int free_slot = -1;

		for (int s = 0; s < TAPIS_MAX_IFACES; s++) {
			if (st.ifaces[s].in_use && !strcmp(st.ifaces[s].name, ifnames[i])) {
				if (record_holds(t, &st.ifaces[s])) {
					pr_err("tapis is already attached to %s", ifnames[i]);
					err = -EEXIST;
					goto rollback;
				}
				/* Stale: detached behind our back, or the
				 * interface made anew. Attach afresh. */
				pr_info("%s: recorded as attached, but tapis does not run there; "
					"attaching again",
					ifnames[i]);
				memset(&st.ifaces[s], 0, sizeof(st.ifaces[s]));
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
		err = attach_allowed(t, ifnames[i], &x);
		if (err)
			goto rollback;
		if (x.owner == TAPIS_XDP_OURS) {
			/* Running there without a record (state from a
			 * crashed tapis): take it on as it is. Not ours to
			 * detach on a rollback, so not in slots[]. */
			struct tapis_iface *rec = &st.ifaces[free_slot];

			memset(rec, 0, sizeof(*rec));
			rec->ifindex = x.ifindex;
			rec->in_use = 1;
			rec->mode = x.mode;
			rec->multiprog = x.multiprog;
			snprintf(rec->name, sizeof(rec->name), "%s", ifnames[i]);
			continue;
		}
		/* Intent first: a process killed between the attach and the
		 * state write would leave tapis running where no record shows
		 * it, out of reach of unload. A record of an attach that never
		 * happened is harmless: detach checks what runs there. */
		{
			struct tapis_iface *rec = &st.ifaces[free_slot];

			memset(rec, 0, sizeof(*rec));
			rec->ifindex = if_nametoindex(ifnames[i]);
			rec->in_use = 1;
			rec->mode = mode == MODE_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE;
			snprintf(rec->name, sizeof(rec->name), "%s", ifnames[i]);
			err = state_rw(t, &st, true);
			if (err)
				goto rollback;
		}
		err = attach_one(prog, ifnames[i], mode, &st.ifaces[free_slot]);
		if (err) {
			memset(&st.ifaces[free_slot], 0, sizeof(st.ifaces[free_slot]));
			goto rollback;
		}
		slots[done++] = free_slot;
		/* The mode it got, at once. */
		err = state_rw(t, &st, true);
		if (err)
			goto rollback;
	}
	err = state_rw(t, &st, true);
	if (!err)
		goto out;
rollback:
	/* All or nothing: interfaces this call attached are detached again,
	 * and their records go. */
	for (int d = 0; d < done; d++) {
		detach_one(prog, &st.ifaces[slots[d]]);
		memset(&st.ifaces[slots[d]], 0, sizeof(st.ifaces[slots[d]]));
	}
	if (state_rw(t, &st, true))
		pr_warn("the interface records could not be written back: tapis status may "
			"list an interface tapis does not run on");
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
		int e;

		if (!st.ifaces[s].in_use || (ifname && strcmp(st.ifaces[s].name, ifname)))
			continue;
		found++;
		e = detach_one(prog, &st.ifaces[s]);
		/* The record goes with each detach, so that a process killed
		 * half way leaves records of exactly the interfaces it did
		 * not reach (and at most one more). */
		err = e ?: state_rw(t, &st, true) ?: err;
	}
	xdp_program__close(prog);
	if (ifname && !found) {
		pr_err("tapis is not attached to %s", ifname);
		return -ENOENT;
	}
	return state_rw(t, &st, true) ?: err;
}
