// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_load.c - `tapis load --policy FILE --iface IF ...`: compile the
 * policy (everything `check` refuses is refused here before anything
 * exists in the kernel), load and pin the BPF object (its flow table sized
 * by settings.flows), apply the policy, attach. All or nothing:
 * when a step after the object was created fails, what was attached is
 * detached and the pins are removed, so a failed load leaves no state that
 * a later `load` would trip over.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "audit.h"
#include "cli.h"
#include "compile.h"
#include "log.h"
#include "output.h"

static void print_loaded(const struct cli *c, const char *path, struct tapis *t)
{
	struct snapshot s;
	char name[TAPIS_IFNAME_MAX + 1];
	unsigned i, n = 0;
	int err;

	memset(&s, 0, sizeof(s));
	err = tapis_snapshot(t, &s);
	if (err) {
		/* Loaded and attached all the same: say so, not "failed". */
		pr_warn("loaded, but reading the state back failed: %s", strerror(-err));
		if (c->json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "loaded", json_object_new_boolean(1));
			json_object_object_add(o, "pin_path", json_object_new_string(c->pin));
			json_object_object_add(o, "policy", json_object_new_string(path));
			cli_json_print(o);
		} else {
			printf("loaded %s at %s\n", path, c->pin);
		}
		return;
	}
	if (c->json) {
		cli_json_print(status_json(&s, c->pin));
	} else {
		printf("loaded %s at %s: %zu rule%s (v4 %" PRIu64 ", v6 %" PRIu64 ", hosts %" PRIu64
		       ") on",
		       path, c->pin, s.n_rules, s.n_rules == 1 ? "" : "s", s.entries_v4,
		       s.entries_v6, s.entries_hosts);
		for (i = 0; i < TAPIS_MAX_IFACES; i++) {
			const struct tapis_iface *ifc = &s.state.ifaces[i];

			if (!ifc->in_use)
				continue;
			memcpy(name, ifc->name, sizeof(ifc->name));
			name[sizeof(ifc->name)] = '\0';
			printf("%s %s (%s)", n++ ? "," : "", name, mode_name(ifc->mode));
		}
		printf("\n");
	}
	snapshot_free(&s);
}

static void audit_load(const struct cli *c, const char *path, struct tapis *t)
{
	struct audit_event ev = {.command = "load", .policy = path};
	struct snapshot s;

	memset(&s, 0, sizeof(s));
	if (tapis_snapshot(t, &s) == 0)
		ev.extra = audit_diff(NULL, &s, &ev.added, &ev.removed);
	cli_audit(c, &ev);
	snapshot_free(&s);
}

/* Catch what tapis_create would fail on without a word: a relative pin
 * path, or one whose parent directory does not exist. */
static int check_pin_path(const struct cli *c)
{
	char parent[PATH_MAX];
	struct stat st;
	char *slash;

	if (c->pin[0] != '/')
		return cli_bad_args(c, "--pin-path must be an absolute path, not '%s'", c->pin);
	if (strlen(c->pin) >= sizeof(parent))
		return cli_bad_args(c, "--pin-path is too long");
	strcpy(parent, c->pin);
	while ((slash = strrchr(parent, '/')) && slash[1] == '\0' && slash != parent)
		*slash = '\0'; /* trailing slashes */
	slash = strrchr(parent, '/');
	if (slash == parent)
		return cli_bad_args(
			c, "--pin-path must be a directory below a bpffs mount, not '%s'", c->pin);
	*slash = '\0';
	if (stat(parent, &st) || !S_ISDIR(st.st_mode)) {
		pr_err("pin path %s: %s is not a directory (mount a bpffs: mount -t bpf bpf DIR)",
		       c->pin, parent);
		return EXIT_POLICY;
	}
	return EXIT_OK;
}

int cmd_load(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"iface", required_argument, NULL, 'i'},
		{"mode", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *ifaces[TAPIS_MAX_IFACES];
	enum tapis_mode mode = MODE_AUTO;
	const char *path = NULL;
	int opt, rc = EXIT_POLICY, err, n = 0, i;
	struct tapis_load_opts lo = {0};
	struct compiled cp;
	struct policy p;
	struct tapis t;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hp:i:m:", opts, &rc)) != -1) {
		switch (opt) {
		case 'p':
			path = optarg;
			break;
		case 'i':
			if (strlen(optarg) == 0 || strlen(optarg) >= TAPIS_IFNAME_MAX)
				return cli_bad_args(c, "'%s' is not an interface name", optarg);
			for (i = 0; i < n; i++)
				if (strcmp(ifaces[i], optarg) == 0)
					return cli_bad_args(c, "--iface %s given twice", optarg);
			if (n == TAPIS_MAX_IFACES)
				return cli_bad_args(c, "at most %d interfaces", TAPIS_MAX_IFACES);
			ifaces[n++] = optarg;
			break;
		case 'm':
			if (parse_mode(optarg, &mode))
				return cli_bad_args(
					c, "--mode must be auto, native or generic, not '%s'",
					optarg);
			break;
		default:
			return rc;
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);
	if (!path)
		return cli_bad_args(c, "--policy FILE is required");
	if (n == 0)
		return cli_bad_args(c, "at least one --iface IF is required");

	rc = check_pin_path(c);
	if (rc)
		return rc;
	/* A bad policy, or one naming a missing redirect interface, is
	 * refused before anything exists in the kernel. */
	rc = cli_compile_policy(c, path, NULL, true, &p, &cp, NULL);
	if (rc)
		return rc;

	memset(&t, 0, sizeof(t));
	lo.flows = cp.flows;
	err = tapis_create_opts(&t, c->pin, &lo);
	if (err) {
		/* tapis_create reports a held lock, a pin path off bpffs and BPF
		 * load failures itself. */
		if (err == -EEXIST) {
			pr_err("tapis is already loaded at %s; use reload, or unload first",
			       c->pin);
			rc = EXIT_RUNTIME;
		} else if (err == -EAGAIN || err == -EWOULDBLOCK) {
			rc = EXIT_BUSY;
		} else if (err == -EPERM || err == -EACCES) {
			/* An untrusted pin directory (named by tapis_create), or
			 * not root. */
			if (err == -EACCES)
				pr_err("permission denied: %s (loading needs root)", c->pin);
			rc = EXIT_RUNTIME;
		} else if (err == -ENAMETOOLONG) {
			pr_err("pin path %s: %s", c->pin, strerror(-err));
			rc = EXIT_POLICY;
		} else {
			rc = err == -ENOMEM ? EXIT_RUNTIME : EXIT_KERNEL;
		}
		goto out_policy;
	}

	/* tapis_apply and tapis_attach report their failures themselves
	 * (the table or map, the interface for attach). */
	err = tapis_apply(&t, &cp);
	if (err) {
		if (err == -ENOMEM)
			pr_err("install %s: %s", path, strerror(-err));
		rc = cli_exit_apply(err);
		goto undo;
	}
	err = tapis_attach(&t, ifaces, n, mode);
	if (err) {
		rc = cli_exit_kernel(err); /* no policy involved: never EXIT_POLICY */
		goto undo;
	}
	print_loaded(c, path, &t);
	audit_load(c, path, &t);
	tapis_close(&t);
	compiled_free(&cp);
	policy_free(&p);
	return EXIT_OK;

undo:
	tapis_detach(&t, NULL);
	err = tapis_unpin(&t);
	if (err)
		cli_report(err, NULL, "remove the pins under %s after the failed load", c->pin);
	tapis_close(&t);
out_policy:
	compiled_free(&cp);
	policy_free(&p);
	return rc;
}
