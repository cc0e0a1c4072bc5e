// SPDX-License-Identifier: GPL-2.0
/*
 * swap.c - larger host tables without an unload: a second instance of the
 * program, verified against host tables of the new size, replaces the
 * running one on every interface.
 *
 * The host filter and index are read inline, so their size is part of the
 * verified program; an outer map refuses an inner map of another size. The
 * new program therefore has its own tapis_host_filter and tapis_host_index
 * (outer maps whose inner template has the new size) and its own tapis_ctl,
 * which names the generation it was filled for from the start: the running
 * program keeps reading its own tapis_ctl and the generation it names until
 * it is replaced, so no packet meets a generation whose host tables it
 * cannot read. Every other map (counters, flows, rules, settings, address
 * tables, edits, events...) is shared, so counters and flows carry over.
 *
 * Where the truth lives across a crash: the new program's pin,
 * "tapis_xdp_next", is made last, once its generation is complete and its
 * other maps are pinned as "<name>_next". From that instant the swap is
 * decided and is completed by whoever comes next (swap_recover, under the
 * pin-path lock): interfaces still running the old program are moved to
 * the new one, then each "<name>_next" is renamed over "<name>", the
 * program last. Without that pin, a swap never happened: the "_next" maps
 * are removed and the generation they were filled for is freed as any
 * killed reload's (tapis_repair_generations).
 *
 * Interfaces are moved with XDP_FLAGS_REPLACE naming the old program, one
 * atomic exchange each (packets meet the old program or the new one);
 * behind a libxdp dispatcher the new program joins it before the old one
 * leaves, so for that moment both filter.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>

#include "gen.h"
#include "log.h"
#include "tapis.h"

/* bpffs refuses names with a dot. */
#define NEXT "_next"

/* Fault injection for tests/lab/test_crash_grow.sh: TAPIS_FAULT=<point>
 * kills the process there, so that each window of a swap is tested, not
 * only those a random instant lands in; swap-fail-<n> makes the move of
 * the n-th interface fail, so that the undo is. */
static bool failed(const char *point, int n)
{
	const char *f = getenv("TAPIS_FAULT");
	char want[64];

	snprintf(want, sizeof(want), "%s-%d", point, n);
	return f && strcmp(f, want) == 0;
}

static void fault(const char *point, int n)
{
	if (failed(point, n))
		raise(SIGKILL);
}

static void pin_of(const struct tapis *t, const char *name, bool next, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s%s", t->pin_path, name, next ? NEXT : "");
}

static const char *swap_name(int i)
{
	return i == SWAP_N ? TAPIS_PROG_PIN : tapis_map_names[swap_maps[i]];
}

bool swap_pending(const struct tapis *t)
{
	char path[PATH_MAX];

	pin_of(t, TAPIS_PROG_PIN, true, path, sizeof(path));
	return t->pin_path[0] && access(path, F_OK) == 0;
}

/* The "_next" pins, the program's first: without it the others are a
 * swap that never happened. */
static void unpin_next(const struct tapis *t)
{
	char path[PATH_MAX];

	for (int i = SWAP_N; i >= 0; i--) {
		pin_of(t, swap_name(i), true, path, sizeof(path));
		unlink(path);
	}
}

void swap_unpin(const struct tapis *t)
{
	unpin_next(t);
}

static uint32_t mode_flags(uint8_t mode)
{
	switch (mode) {
	case XDP_MODE_SKB:
		return XDP_FLAGS_SKB_MODE;
	case XDP_MODE_HW:
		return XDP_FLAGS_HW_MODE;
	default:
		return XDP_FLAGS_DRV_MODE;
	}
}

static int prog_id(int fd, uint32_t *id)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

/* Move one interface from program `from` to `to`. 0 when it runs `to`
 * afterwards (or ran it already), 1 when it runs neither (someone else's
 * program, the interface gone: nothing of ours to move), -errno. */
static int move_iface(const struct tapis_iface *rec, int from, int to)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, ao, .old_prog_fd = from);
	uint32_t from_id = 0, to_id = 0;
	uint8_t mode;
	int err;

	err = prog_id(from, &from_id) ?: prog_id(to, &to_id);
	if (err)
		return err;
	if (rec->multiprog) {
		/* Behind a dispatcher: join it, then let the old one go. */
		DECLARE_LIBXDP_OPTS(xdp_program_opts, po_to, .fd = to);
		DECLARE_LIBXDP_OPTS(xdp_program_opts, po_from, .fd = from);
		struct xdp_program *pt = xdp_program__create(&po_to);
		struct xdp_program *pf = xdp_program__create(&po_from);

		err = libxdp_get_error(pt) ?: libxdp_get_error(pf);
		if (!err && xdp_program__is_attached(pt, (int)rec->ifindex) == XDP_MODE_UNSPEC)
			err = xdp_program__attach(pt, (int)rec->ifindex, rec->mode, 0);
		if (!err && xdp_program__is_attached(pf, (int)rec->ifindex) != XDP_MODE_UNSPEC)
			err = xdp_program__detach(pf, (int)rec->ifindex, rec->mode, 0);
		if (!libxdp_get_error(pt))
			xdp_program__close(pt);
		if (!libxdp_get_error(pf))
			xdp_program__close(pf);
		return err;
	}
	if (bpf_xdp_query((int)rec->ifindex, 0, &q))
		return errno == ENODEV || errno == ENOENT ? 1 : -errno;
	/* In whichever mode it runs: a program left where the record's mode
	 * does not say would keep reading tables the swap frees. */
	mode = q.drv_prog_id == from_id	  ? XDP_MODE_NATIVE
	       : q.skb_prog_id == from_id ? XDP_MODE_SKB
	       : q.hw_prog_id == from_id  ? XDP_MODE_HW
					  : XDP_MODE_UNSPEC;
	if (mode == XDP_MODE_UNSPEC)
		return q.drv_prog_id == to_id || q.skb_prog_id == to_id || q.hw_prog_id == to_id
			       ? 0
			       : 1;
	/* One exchange in the kernel, refused if `from` no longer runs. */
	if (bpf_xdp_attach((int)rec->ifindex, to, mode_flags(mode) | XDP_FLAGS_REPLACE, &ao))
		return -errno;
	return 0;
}

/* Every recorded interface that runs `from` moved to `to`. On a failure
 * the ones moved go back (when `undo`), and the error is returned. */
static int move_ifaces(struct tapis *t, int from, int to, bool undo)
{
	struct tapis_state st;
	uint32_t zero = 0;
	int moved[TAPIS_MAX_IFACES], n = 0, err = 0;

	if (bpf_map_lookup_elem(t->map_fd[M_STATE], &zero, &st))
		return -errno;
	for (int i = 0; i < TAPIS_MAX_IFACES && !err; i++) {
		if (!st.ifaces[i].in_use)
			continue;
		err = failed("swap-fail", n + 1) ? -EIO : move_iface(&st.ifaces[i], from, to);
		if (err < 0) {
			pr_err("replace the program on %s: %s", st.ifaces[i].name, strerror(-err));
		} else if (err == 0) {
			moved[n++] = i;
			fault("swap-moved", n);
		} else {
			err = 0; /* not running ours: status tells */
		}
	}
	if (err && undo)
		for (int k = 0; k < n; k++)
			if (move_iface(&st.ifaces[moved[k]], to, from) < 0)
				pr_warn("%s keeps the new program", st.ifaces[moved[k]].name);
	return err;
}

int swap_prepare(struct tapis *t, uint32_t log2, uint32_t gen, struct swap *s)
{
	struct tapis_ctl ctl = {.gen = gen}, ev = {0};
	uint32_t zero = TAPIS_CTL_GEN, kev = TAPIS_CTL_EVENTS;
	int err;

	/* Whether a `tapis events` reads carries over. */
	if (bpf_map_lookup_elem(t->map_fd[M_CTL], &kev, &ev))
		memset(&ev, 0, sizeof(ev));
	memset(s, 0, sizeof(*s));
	s->old_prog_fd = -1;
	if (!t->pin_path[0] || t->prog_fd < 0)
		return -EOPNOTSUPP;
	/* Leftovers of a swap killed before it was decided. */
	unpin_next(t);
	err = tapis_load_sibling(t, log2, &s->prog_fd, s->fd);
	if (err)
		return err;
	if (bpf_map_update_elem(s->fd[0], &kev, &ev, BPF_ANY) ||
	    bpf_map_update_elem(s->fd[0], &zero, &ctl, BPF_ANY)) {
		err = -errno;
		for (int i = 0; i < SWAP_N; i++)
			close(s->fd[i]);
		close(s->prog_fd);
		return err;
	}
	/* From here the handle fills the new program's host tables, and its
	 * tapis_ctl names the generation being filled. */
	for (int i = 0; i < SWAP_N; i++) {
		s->old_fd[i] = t->map_fd[swap_maps[i]];
		t->map_fd[swap_maps[i]] = s->fd[i];
	}
	s->old_log2 = tapis_host_log2(t);
	t->host_idx_log2 = log2;
	s->log2 = log2;
	s->active = true;
	return 0;
}

void swap_abort(struct tapis *t, struct swap *s)
{
	if (!s->active)
		return;
	unpin_next(t);
	for (int i = 0; i < SWAP_N; i++) {
		t->map_fd[swap_maps[i]] = s->old_fd[i];
		close(s->fd[i]);
	}
	close(s->prog_fd);
	t->host_idx_log2 = s->old_log2;
	s->active = false;
}

int swap_commit(struct tapis *t, struct swap *s)
{
	char path[PATH_MAX];
	int err = 0;

	for (int i = 0; i <= SWAP_N && !err; i++) {
		pin_of(t, swap_name(i), true, path, sizeof(path));
		/* The program's pin last: it decides the swap. */
		if (bpf_obj_pin(i == SWAP_N ? s->prog_fd : s->fd[i], path)) {
			err = -errno;
			pr_err("pin %s: %s", path, strerror(-err));
		} else {
			tapis_pin_perms(path);
		}
	}
	if (err)
		unpin_next(t);
	else
		fault("swap-committed", 0);
	return err;
}

/* The "_next" pins over the plain ones, the program last (the truth that
 * the swap is under way goes with it), after tapis_state has the size. */
static int rename_next(struct tapis *t, uint32_t log2)
{
	struct tapis_state st;
	char from[PATH_MAX], to[PATH_MAX];
	uint32_t zero = 0;
	int err = 0;

	if (bpf_map_lookup_elem(t->map_fd[M_STATE], &zero, &st))
		return -errno;
	st.host_idx_log2 = log2;
	if (bpf_map_update_elem(t->map_fd[M_STATE], &zero, &st, BPF_ANY))
		return -errno;
	for (int i = 0; i <= SWAP_N; i++) {
		pin_of(t, swap_name(i), true, from, sizeof(from));
		pin_of(t, swap_name(i), false, to, sizeof(to));
		if (rename(from, to) && errno != ENOENT && !err) {
			err = -errno;
			pr_err("rename %s to %s: %s", from, to, strerror(-err));
		}
		fault("swap-renamed", i + 1);
	}
	return err;
}

int swap_finish(struct tapis *t, struct swap *s)
{
	int err;

	err = move_ifaces(t, t->prog_fd, s->prog_fd, true);
	if (err) {
		/* Every interface runs the old program again: the swap is
		 * undone before its pin says otherwise. */
		swap_abort(t, s);
		return err;
	}
	err = rename_next(t, s->log2);
	if (err)
		pr_warn("the new program runs; the next tapis command completes its pins");
	for (int i = 0; i < SWAP_N; i++)
		close(s->old_fd[i]);
	close(t->prog_fd);
	t->prog_fd = s->prog_fd;
	s->active = false;
	return 0;
}

int swap_recover(struct tapis *t)
{
	LIBBPF_OPTS(bpf_obj_get_opts, go);
	struct tapis_settings set;
	char path[PATH_MAX];
	int new_prog, old_prog, ctl, err = 0;
	uint32_t zero = 0, gen;

	if (!swap_pending(t)) {
		unpin_next(t);
		return 0;
	}
	pr_info("completing the program swap a killed tapis left");
	pin_of(t, TAPIS_PROG_PIN, true, path, sizeof(path));
	new_prog = bpf_obj_get_opts(path, &go);
	pin_of(t, TAPIS_PROG_PIN, false, path, sizeof(path));
	old_prog = bpf_obj_get_opts(path, &go);
	pin_of(t, tapis_map_names[M_STATE], false, path, sizeof(path));
	t->map_fd[M_STATE] = bpf_obj_get_opts(path, &go);
	pin_of(t, tapis_map_names[M_SETTINGS], false, path, sizeof(path));
	t->map_fd[M_SETTINGS] = bpf_obj_get_opts(path, &go);
	/* Its tapis_ctl, whether renamed already or not. */
	pin_of(t, tapis_map_names[M_CTL], true, path, sizeof(path));
	ctl = bpf_obj_get_opts(path, &go);
	if (ctl < 0) {
		pin_of(t, tapis_map_names[M_CTL], false, path, sizeof(path));
		ctl = bpf_obj_get_opts(path, &go);
	}
	if (new_prog < 0 || t->map_fd[M_STATE] < 0 || t->map_fd[M_SETTINGS] < 0 || ctl < 0) {
		err = -ENOENT;
		goto out;
	}
	{
		struct tapis_ctl c;

		if (bpf_map_lookup_elem(ctl, &zero, &c)) {
			err = -errno;
			goto out;
		}
		gen = c.gen & 1;
		if (bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &gen, &set)) {
			err = -errno;
			goto out;
		}
	}
	/* The old program's pin is gone once every pin is renamed; the
	 * interfaces were all moved before the first rename. */
	if (old_prog >= 0)
		err = move_ifaces(t, old_prog, new_prog, false);
	err = err ?: rename_next(t, set.host_idx_log2);
out:
	if (err)
		pr_warn("the program swap a killed tapis left is not complete: %s (the next "
			"change retries)",
			strerror(-err));
	for (int i = 0; i < 5; i++) {
		int *fd = (int *[]){&new_prog, &old_prog, &ctl, &t->map_fd[M_STATE],
				    &t->map_fd[M_SETTINGS]}[i];

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	return err;
}
