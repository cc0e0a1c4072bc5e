// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_attach.c - `tapis attach --iface IF [--mode M]` and `tapis detach
 * --iface IF`: add or remove interfaces of a running filter, whose policy,
 * maps and counters stay as they are. Both are idempotent, so a service
 * or an ifup/ifdown hook may run them again: attaching where tapis already
 * runs, or detaching where it does not, changes nothing and says so.
 * Detaching the last interface leaves the filter loaded and pinned, ready
 * for the next attach; `tapis unload` is what removes it.
 *
 * Also the interface plan that `load` shares: what each named interface
 * runs now, sorted out before anything changes.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "cli.h"
#include "log.h"
#include "output.h"

int cli_add_iface(const struct cli *c, char **ifaces, int *n, char *name)
{
	if (strlen(name) == 0 || strlen(name) >= TAPIS_IFNAME_MAX)
		return cli_bad_args(c, "'%s' is not an interface name", name);
	for (int i = 0; i < *n; i++)
		if (strcmp(ifaces[i], name) == 0)
			return cli_bad_args(c, "--iface %s given twice", name);
	if (*n == TAPIS_MAX_IFACES)
		return cli_bad_args(c, "at most %d interfaces", TAPIS_MAX_IFACES);
	ifaces[(*n)++] = name;
	return EXIT_OK;
}

const struct tapis_iface *cli_iface_record(const struct snapshot *s, const char *name)
{
	for (unsigned i = 0; i < TAPIS_MAX_IFACES; i++) {
		const struct tapis_iface *ifc = &s->state.ifaces[i];

		if (ifc->in_use && strncmp(ifc->name, name, sizeof(ifc->name)) == 0)
			return ifc;
	}
	return NULL;
}

void cli_print_plan_done(const struct iface_plan *pl, const struct snapshot *after,
			 const char *already_tail)
{
	const struct tapis_iface *r;

	for (int i = 0; i < pl->n_attach; i++) {
		r = cli_iface_record(after, pl->attach[i]);
		printf("attached to %s (%s mode)\n", pl->attach[i],
		       r ? mode_name(r->mode) : "unknown");
	}
	for (int i = 0; i < pl->n_already; i++) {
		r = cli_iface_record(after, pl->already[i]);
		printf("already attached to %s (%s mode)%s\n", pl->already[i],
		       r ? mode_name(r->mode) : "unknown", already_tail);
	}
}

struct json_object *cli_names_json(char *const *names, int n)
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(names[i]));
	return a;
}

/* The interfaces recorded in s, as status shows them. */
static struct json_object *ifaces_json(const struct snapshot *s, const char *pin)
{
	struct json_object *st = status_json(s, pin), *a = NULL;

	if (json_object_object_get_ex(st, "ifaces", &a))
		json_object_get(a);
	json_object_put(st);
	return a ? a : json_object_new_array();
}

/* "r0 (native), r1 (generic)", or "no interface". */
static void print_recorded(const struct snapshot *s)
{
	char name[TAPIS_IFNAME_MAX + 1];
	unsigned i, n = 0;

	for (i = 0; i < TAPIS_MAX_IFACES; i++) {
		const struct tapis_iface *ifc = &s->state.ifaces[i];

		if (!ifc->in_use)
			continue;
		memcpy(name, ifc->name, sizeof(ifc->name));
		name[sizeof(ifc->name)] = '\0';
		printf("%s%s (%s)", n++ ? ", " : "", name, mode_name(ifc->mode));
	}
	if (!n)
		printf("no interface");
}

static const char *mode_word(enum tapis_mode m)
{
	return m == MODE_NATIVE ? "native" : m == MODE_GENERIC ? "generic" : "auto";
}

/* Another program holds the interface: one error, naming it, with its
 * particulars as members under --json. */
static int report_foreign(const struct cli *c, const char *ifname, const struct tapis_xdp_info *x)
{
	const char *name = x->prog_name[0] ? x->prog_name : "(unnamed)";
	char msg[512];

	snprintf(msg, sizeof(msg),
		 "%s runs another XDP program: %s (id %u, %s mode); tapis does not replace it "
		 "(remove it first: ip link set dev %s %s off)",
		 ifname, name, x->prog_id, mode_name(x->mode), ifname, mode_ip_keyword(x->mode));
	if (c->json) {
		struct json_object *extra = json_object_new_object(), *p = json_object_new_object();

		json_object_object_add(p, "id", json_object_new_uint64(x->prog_id));
		json_object_object_add(p, "name", json_object_new_string(name));
		json_object_object_add(p, "mode", json_object_new_string(mode_name(x->mode)));
		json_object_object_add(extra, "iface", json_object_new_string(ifname));
		json_object_object_add(extra, "program", p);
		cli_json_error(msg, extra);
	} else {
		pr_err("%s", msg);
	}
	return EXIT_KERNEL;
}

int cli_iface_plan(const struct cli *c, struct tapis *t, const struct snapshot *s,
		   char *const *ifnames, int n, enum tapis_mode mode, struct iface_plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	for (int i = 0; i < n; i++) {
		const struct tapis_iface *rec = cli_iface_record(s, ifnames[i]);
		struct tapis_xdp_info x;
		int err = tapis_xdp_query(t, ifnames[i], &x);

		if (err == -ENODEV) {
			pr_err("attach to %s: no such interface", ifnames[i]);
			return EXIT_KERNEL;
		}
		if (err) {
			pr_err("attach to %s: cannot tell what runs there: %s", ifnames[i],
			       strerror(-err));
			return cli_exit_kernel(err);
		}
		if (x.owner == TAPIS_XDP_OURS && rec && rec->ifindex == x.ifindex) {
			/* Changing the mode means a detach, and a gap in
			 * the filtering: only when the operator says so. */
			if (!mode_matches(mode, x.mode)) {
				pr_err("tapis runs on %s in %s mode, not %s: to change it, tapis "
				       "detach --iface %s, then attach --iface %s --mode %s",
				       ifnames[i], mode_name(x.mode), mode_word(mode), ifnames[i],
				       ifnames[i], mode_word(mode));
				return EXIT_RUNTIME;
			}
			pl->already[pl->n_already++] = ifnames[i];
			continue;
		}
		if (x.owner == TAPIS_XDP_OTHER && !x.multiprog)
			return report_foreign(c, ifnames[i], &x);
		/* Nothing there, a stale record, or ours without a record:
		 * tapis_attach sorts the last two out. */
		pl->attach[pl->n_attach++] = ifnames[i];
	}
	return EXIT_OK;
}

/* "r0,r1" for the audit record's entry. */
static void join_names(char *const *names, int n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "", names[i]);
}

static int parse_ifaces(struct cli *c, int argc, char **argv, bool with_mode, char **ifaces, int *n,
			enum tapis_mode *mode)
{
	static const struct option opts[] = {
		{"iface", required_argument, NULL, 'i'},
		{"mode", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt, rc = EXIT_POLICY;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, with_mode ? ":hi:m:" : ":hi:", opts, &rc)) != -1) {
		switch (opt) {
		case 'i':
			rc = cli_add_iface(c, ifaces, n, optarg);
			if (rc)
				return rc;
			break;
		case 'm':
			if (!with_mode)
				return cli_bad_args(c, "unknown option '--mode'");
			if (parse_mode(optarg, mode))
				return cli_bad_args(
					c, "--mode must be auto, native or generic, not '%s'",
					optarg);
			break;
		default:
			return rc == EXIT_OK ? -1 : rc; /* -1: --help was printed */
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);
	if (*n == 0)
		return cli_bad_args(c, "at least one --iface IF is required");
	return EXIT_OK;
}

int cmd_attach(struct cli *c, int argc, char **argv)
{
	char *ifaces[TAPIS_MAX_IFACES], entry[TAPIS_MAX_IFACES * TAPIS_IFNAME_MAX];
	enum tapis_mode mode = MODE_AUTO;
	struct snapshot before, after;
	struct iface_plan pl;
	int n = 0, rc, err;
	struct tapis t;

	rc = parse_ifaces(c, argc, argv, true, ifaces, &n, &mode);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;

	memset(&after, 0, sizeof(after));
	rc = cli_open_snapshot(c, &t, false, &before);
	if (rc)
		return rc;
	rc = cli_iface_plan(c, &t, &before, ifaces, n, mode, &pl);
	if (rc)
		goto out;
	if (pl.n_attach) {
		/* tapis_attach names the interface that failed; those it
		 * attached before are detached again. */
		err = tapis_attach(&t, pl.attach, pl.n_attach, mode);
		if (err) {
			rc = cli_exit_kernel(err);
			goto out;
		}
	}
	rc = cli_snapshot(c, &t, &after);
	if (rc)
		goto out;

	{
		struct audit_event ev = {.command = "attach", .entry = entry};
		struct json_object *x = json_object_new_object();

		join_names(ifaces, n, entry, sizeof(entry));
		json_object_object_add(x, "attached", cli_names_json(pl.attach, pl.n_attach));
		json_object_object_add(x, "already_attached",
				       cli_names_json(pl.already, pl.n_already));
		json_object_object_add(x, "mode", json_object_new_string(mode_word(mode)));
		ev.extra = x;
		if (!pl.n_attach)
			ev.result = "unchanged";
		cli_audit(c, &ev);
	}

	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "pin_path", json_object_new_string(c->pin));
		json_object_object_add(o, "changed", json_object_new_boolean(pl.n_attach > 0));
		json_object_object_add(o, "attached", cli_names_json(pl.attach, pl.n_attach));
		json_object_object_add(o, "already_attached",
				       cli_names_json(pl.already, pl.n_already));
		json_object_object_add(o, "ifaces", ifaces_json(&after, c->pin));
		cli_json_print(o);
	} else {
		cli_print_plan_done(&pl, &after, ": nothing to do");
		printf("tapis at %s runs on ", c->pin);
		print_recorded(&after);
		printf("\n");
	}
	rc = EXIT_OK;
out:
	snapshot_free(&before);
	snapshot_free(&after);
	tapis_close(&t);
	return rc;
}

int cmd_detach(struct cli *c, int argc, char **argv)
{
	char *ifaces[TAPIS_MAX_IFACES], *gone[TAPIS_MAX_IFACES], *absent[TAPIS_MAX_IFACES];
	char entry[TAPIS_MAX_IFACES * TAPIS_IFNAME_MAX];
	int n = 0, n_gone = 0, n_absent = 0, rc, err = 0;
	struct snapshot before, after;
	const char *failed = NULL;
	struct tapis t;

	rc = parse_ifaces(c, argc, argv, false, ifaces, &n, NULL);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;

	memset(&after, 0, sizeof(after));
	rc = cli_open_snapshot(c, &t, false, &before);
	if (rc)
		return rc;
	/* Sorted out first, so that a mistyped name changes nothing. */
	for (int i = 0; i < n; i++) {
		if (cli_iface_record(&before, ifaces[i])) {
			gone[n_gone++] = ifaces[i];
		} else if (if_nametoindex(ifaces[i]) == 0) {
			rc = cli_bad_args(c, "no interface %s, and tapis is not attached to it",
					  ifaces[i]);
			goto out;
		} else {
			absent[n_absent++] = ifaces[i];
		}
	}
	for (int i = 0; i < n_gone; i++) {
		/* tapis_detach names the interface it failed on. */
		err = tapis_detach(&t, gone[i]);
		if (err) {
			if (err == -EINVAL)
				pr_err("detach: libxdp cannot use the pinned program");
			failed = gone[i];
			n_gone = i;
			break;
		}
	}
	if (cli_snapshot(c, &t, &after) && !err) {
		rc = EXIT_KERNEL;
		goto out;
	}

	if (n_gone || !err) {
		struct audit_event ev = {.command = "detach", .entry = entry};
		struct json_object *x = json_object_new_object();
		char why[64];

		join_names(gone, n_gone, entry, sizeof(entry));
		json_object_object_add(x, "detached", cli_names_json(gone, n_gone));
		json_object_object_add(x, "not_attached", cli_names_json(absent, n_absent));
		ev.extra = x;
		if (failed) {
			snprintf(why, sizeof(why), "detach from %s failed", failed);
			ev.result = why;
		} else if (!n_gone) {
			ev.result = "unchanged";
		}
		cli_audit(c, &ev);
	}
	if (err) {
		rc = cli_exit_kernel(err);
		goto out;
	}

	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "pin_path", json_object_new_string(c->pin));
		json_object_object_add(o, "changed", json_object_new_boolean(n_gone > 0));
		json_object_object_add(o, "detached", cli_names_json(gone, n_gone));
		json_object_object_add(o, "not_attached", cli_names_json(absent, n_absent));
		json_object_object_add(o, "ifaces", ifaces_json(&after, c->pin));
		json_object_object_add(o, "loaded", json_object_new_boolean(1));
		cli_json_print(o);
	} else {
		for (int i = 0; i < n_gone; i++)
			printf("detached from %s\n", gone[i]);
		for (int i = 0; i < n_absent; i++)
			printf("tapis is not attached to %s: nothing to do\n", absent[i]);
		if (snapshot_ifaces(&after)) {
			printf("tapis at %s runs on ", c->pin);
			print_recorded(&after);
			printf("\n");
		} else {
			printf("tapis stays loaded at %s on no interface (tapis attach to resume, "
			       "tapis unload to remove it)\n",
			       c->pin);
		}
	}
	rc = EXIT_OK;
out:
	snapshot_free(&before);
	snapshot_free(&after);
	tapis_close(&t);
	return rc;
}
