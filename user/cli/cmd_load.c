// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_load.c - `tapis load --policy FILE --iface IF ...`: compile the
 * policy (everything `check` refuses is refused here before anything
 * exists in the kernel), load and pin the BPF object (its flow table sized
 * by settings.flows), apply the policy, attach. All or nothing:
 * when a step after the object was created fails, what was attached is
 * detached and the pins are removed, so a failed load leaves no state that
 * a later `load` would trip over.
 *
 * Where tapis is loaded already, a load brings the running filter to what
 * the command line says, so that a service may start twice: the policy is
 * reloaded unless its content (content_digest: the policy file and its
 * lists) and path are those running, and the interfaces named that it
 * does not run on are attached. Interfaces it runs on that are not named
 * stay attached: taking one away is `tapis detach`, never a side effect.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "audit.h"
#include "cli.h"
#include "compile.h"
#include "edits.h"
#include "log.h"
#include "output.h"

static void print_loaded(const struct cli *c, const char *path, struct tapis *t, char **ifaces,
			 int n_ifaces)
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
		struct json_object *o = status_json(&s, c->pin);

		json_object_object_add(o, "policy_change", json_object_new_string("loaded"));
		json_object_object_add(o, "already_loaded", json_object_new_boolean(0));
		json_object_object_add(o, "changed", json_object_new_boolean(1));
		json_object_object_add(o, "attached", cli_names_json(ifaces, n_ifaces));
		cli_json_print(o);
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

static void audit_load(const struct cli *c, const char *path, struct tapis *t, char **ifaces,
		       int n_ifaces, const uint8_t *digest)
{
	struct audit_event ev = {.command = "load", .policy = path};
	char digest_s[TAPIS_DIGEST_STR];
	struct snapshot s;

	memset(&s, 0, sizeof(s));
	if (tapis_snapshot(t, &s) == 0)
		ev.extra = audit_diff(NULL, &s, &ev.added, &ev.removed);
	if (!ev.extra)
		ev.extra = json_object_new_object();
	json_object_object_add(ev.extra, "policy_change", json_object_new_string("loaded"));
	json_object_object_add(ev.extra, "attached", cli_names_json(ifaces, n_ifaces));
	/* ev.digest is the policy file's alone (sha256sum checks it); this
	 * one covers its lists too, as status shows it. */
	if (digest)
		json_object_object_add(
			ev.extra, "content_digest",
			json_object_new_string(content_digest_str(digest, digest_s)));
	cli_audit(c, &ev);
	snapshot_free(&s);
}

/* Is the policy at path, whose content has digest d, the one running? */
static bool policy_unchanged(const struct snapshot *s, const char *path,
			     const uint8_t d[TAPIS_DIGEST_LEN])
{
	char running[TAPIS_PATH_MAX + 1], *abs;
	bool same;

	if (!content_digest_known(s->state.content_digest) ||
	    memcmp(s->state.content_digest, d, TAPIS_DIGEST_LEN) != 0)
		return false;
	/* The same bytes under another name are another policy for
	 * `reload` (which re-reads the recorded path): load it. */
	memcpy(running, s->state.policy_path, sizeof(s->state.policy_path));
	running[sizeof(s->state.policy_path)] = '\0';
	abs = realpath(path, NULL);
	same = abs && strcmp(abs, running) == 0;
	free(abs);
	return same;
}

static struct json_object *summary_json(const struct snapshot *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "generation", json_object_new_uint64(s->gen));
	json_object_object_add(o, "rules", json_object_new_uint64(s->n_rules));
	json_object_object_add(o, "entries",
			       json_entries(s->entries_v4, s->entries_v6, s->entries_hosts));
	return o;
}

/* Interfaces recorded in s that names[] lacks. */
static int not_named(const struct snapshot *s, char **names, int n, char **out,
		     char buf[][TAPIS_IFNAME_MAX + 1])
{
	int k = 0;

	for (unsigned i = 0; i < TAPIS_MAX_IFACES; i++) {
		const struct tapis_iface *ifc = &s->state.ifaces[i];
		bool named = false;

		if (!ifc->in_use)
			continue;
		memcpy(buf[k], ifc->name, sizeof(ifc->name));
		buf[k][sizeof(ifc->name)] = '\0';
		for (int j = 0; j < n && !named; j++)
			named = strcmp(names[j], buf[k]) == 0;
		if (!named) {
			out[k] = buf[k];
			k++;
		}
	}
	return k;
}

/* The load of a filter that runs already: reload the policy unless it is
 * unchanged, attach what is missing. The interfaces are sorted out and
 * the policy compiled before anything changes, so a refusal of either
 * leaves the filter as it was. t is open (locked) and is closed here. */
static int load_running(const struct cli *c, struct tapis *t, const char *path, char **ifaces,
			int n_ifaces, enum tapis_mode mode)
{
	char nn_buf[TAPIS_MAX_IFACES][TAPIS_IFNAME_MAX + 1], *nn[TAPIS_MAX_IFACES];
	char digest_s[TAPIS_DIGEST_STR];
	uint8_t digest[TAPIS_DIGEST_LEN];
	bool unchanged, have_digest;
	struct snapshot before, after;
	uint32_t flows, flows_now;
	struct edits_report er = {0};
	struct iface_plan pl;
	struct compiled cp;
	struct policy p;
	int rc, err, n_nn;

	memset(&after, 0, sizeof(after));
	rc = cli_snapshot(c, t, &before);
	if (rc)
		goto out_close;
	rc = cli_iface_plan(c, t, &before, ifaces, n_ifaces, mode, &pl);
	if (rc)
		goto out;
	/* As reload does: the live edits go on top of the file, so that a
	 * restart does not bring back what an operator deleted live. */
	rc = cli_compile_with_edits(c, path, t, true, &p, &cp, NULL, &er);
	if (rc) {
		if (!c->json)
			pr_warn("tapis at %s is unchanged", c->pin);
		goto out;
	}
	/* Read right after the parse: the bytes it read, but for an edit
	 * in between, which watch or the next load then applies. */
	have_digest = content_digest(&p, digest) == 0;
	unchanged = have_digest && policy_unchanged(&before, path, digest);
	flows = cp.flows;
	err = unchanged ? 0 : tapis_apply(t, &cp);
	compiled_free(&cp);
	policy_free(&p);
	if (err) {
		/* tapis_apply reports its failures itself. */
		if (err == -ENOMEM)
			pr_err("reload %s: %s", path, strerror(-err));
		if (!c->json)
			pr_warn("tapis at %s is unchanged", c->pin);
		rc = cli_exit_apply(err);
		goto out;
	}
	if (!unchanged) {
		edits_forget_stale(t, &er);
		for (size_t i = 0; i < er.dropped; i++)
			pr_warn("live edit no longer applies, forgotten: %s", er.why[i]);
		if (have_digest && (err = tapis_set_content_digest(t, digest)))
			pr_warn("record the policy's digest: %s (the next load reloads it)",
				strerror(-err));
		if (tapis_flows_size(t, &flows_now) == 0 && flows != flows_now)
			pr_warn("settings.flows is %" PRIu32
				" but the running flow table has %" PRIu32
				" entries: the new size takes effect at the next load (unload, "
				"then load)",
				flows, flows_now);
	}
	if (pl.n_attach) {
		/* tapis_attach names the interface that failed. */
		err = tapis_attach(t, pl.attach, pl.n_attach, mode);
		if (err) {
			if (!unchanged)
				pr_warn("%s was reloaded; the interfaces are as they were", path);
			rc = cli_exit_kernel(err);
			pl.n_attach = 0;
		}
	}
	if (tapis_snapshot(t, &after)) {
		memset(&after, 0, sizeof(after));
		after.state = before.state; /* for the names below, at least */
	}
	n_nn = not_named(&after, ifaces, n_ifaces, nn, nn_buf);

	{
		struct audit_event ev = {.command = "load", .policy = path};

		if (!unchanged)
			ev.extra = audit_diff(&before, &after, &ev.added, &ev.removed);
		if (!ev.extra)
			ev.extra = json_object_new_object();
		json_object_object_add(
			ev.extra, "policy_change",
			json_object_new_string(unchanged ? "unchanged" : "reloaded"));
		json_object_object_add(ev.extra, "attached",
				       cli_names_json(pl.attach, pl.n_attach));
		json_object_object_add(ev.extra, "already_attached",
				       cli_names_json(pl.already, pl.n_already));
		if (have_digest)
			json_object_object_add(
				ev.extra, "content_digest",
				json_object_new_string(content_digest_str(digest, digest_s)));
		if (rc)
			ev.result = "attach failed";
		else if (unchanged && !pl.n_attach)
			ev.result = "unchanged";
		cli_audit(c, &ev);
	}
	if (rc)
		goto out;

	if (c->json) {
		struct json_object *o = status_json(&after, c->pin);

		json_object_object_add(
			o, "policy_change",
			json_object_new_string(unchanged ? "unchanged" : "reloaded"));
		json_object_object_add(o, "already_loaded", json_object_new_boolean(1));
		json_object_object_add(o, "changed",
				       json_object_new_boolean(!unchanged || pl.n_attach));
		json_object_object_add(o, "attached", cli_names_json(pl.attach, pl.n_attach));
		json_object_object_add(o, "already_attached",
				       cli_names_json(pl.already, pl.n_already));
		json_object_object_add(o, "not_named", cli_names_json(nn, n_nn));
		if (!unchanged)
			json_object_object_add(o, "old", summary_json(&before));
		cli_json_print(o);
	} else {
		if (unchanged)
			printf("tapis is loaded at %s already: policy %s unchanged (%s)\n", c->pin,
			       path, content_digest_str(digest, digest_s));
		else
			printf("tapis is loaded at %s already: reloaded %s: generation %" PRIu32
			       " -> %" PRIu32 ", rules %zu -> %zu, v4 %" PRIu64 " -> %" PRIu64
			       ", v6 %" PRIu64 " -> %" PRIu64 ", hosts %" PRIu64 " -> %" PRIu64
			       "\n",
			       c->pin, path, before.gen, after.gen, before.n_rules, after.n_rules,
			       before.entries_v4, after.entries_v4, before.entries_v6,
			       after.entries_v6, before.entries_hosts, after.entries_hosts);
		cli_print_plan_done(&pl, &after, "");
		for (int i = 0; i < n_nn; i++)
			printf("still attached to %s, which this load does not name (tapis detach "
			       "--iface %s removes it)\n",
			       nn[i], nn[i]);
	}
	rc = EXIT_OK;
out:
	edits_report_free(&er);
	snapshot_free(&before);
	snapshot_free(&after);
out_close:
	tapis_close(t);
	return rc;
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
	int opt, rc = EXIT_POLICY, err, n = 0;
	uint8_t digest[TAPIS_DIGEST_LEN];
	struct tapis_load_opts lo = {0};
	struct snapshot none;
	struct iface_plan pl;
	struct compiled cp;
	bool have_digest;
	struct policy p;
	struct tapis t;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hp:i:m:", opts, &rc)) != -1) {
		switch (opt) {
		case 'p':
			path = optarg;
			break;
		case 'i':
			rc = cli_add_iface(c, ifaces, &n, optarg);
			if (rc)
				return rc;
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

	/* A load killed before it pinned its program left pins nothing can
	 * use: they go, and this load takes their place. */
	err = tapis_remove_stale(c->pin);
	if (!err)
		pr_warn("removed the pins a load that did not finish left at %s", c->pin);
	else if (err != -ENOENT)
		return cli_open_failed(c, err);
	/* Loaded already: bring it to what this command says. */
	memset(&t, 0, sizeof(t));
	err = tapis_open(&t, c->pin, false);
	if (!err)
		return load_running(c, &t, path, ifaces, n, mode);
	if (err != -ENOENT)
		return cli_open_failed(c, err);

	/* A bad policy, or one naming a missing redirect interface, is
	 * refused before anything exists in the kernel. */
	rc = cli_compile_policy(c, path, NULL, true, &p, &cp, NULL);
	if (rc)
		return rc;
	have_digest = content_digest(&p, digest) == 0;

	memset(&t, 0, sizeof(t));
	err = tapis_load_opts_for(&cp, &lo);
	if (err < 0) {
		pr_err("%s: %zu host names, more than the host tables can hold (%zu)", path,
		       cp.n_hosts, tapis_host_capacity(TAPIS_HOST_IDX_LOG2_MAX));
		compiled_free(&cp);
		policy_free(&p);
		return EXIT_POLICY;
	}
	err = tapis_create_opts(&t, c->pin, &lo);
	if (err == -EEXIST) {
		/* Another tapis loaded it since we looked: join it. */
		compiled_free(&cp);
		policy_free(&p);
		err = tapis_open(&t, c->pin, false);
		if (!err)
			return load_running(c, &t, path, ifaces, n, mode);
		return cli_open_failed(c, err);
	}
	if (err) {
		/* tapis_create reports a held lock, a pin path off bpffs and BPF
		 * load failures itself. */
		if (err == -EAGAIN || err == -EWOULDBLOCK) {
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

	/* The interfaces are sorted out as attach and a load onto a
	 * running filter do, so that all three say the same about another
	 * program on one of them. */
	memset(&none, 0, sizeof(none));
	rc = cli_iface_plan(c, &t, &none, ifaces, n, mode, &pl);
	if (rc)
		goto undo;

	/* tapis_apply and tapis_attach report their failures themselves
	 * (the table or map, the interface for attach). */
	err = tapis_apply(&t, &cp);
	if (err) {
		if (err == -ENOMEM)
			pr_err("install %s: %s", path, strerror(-err));
		rc = cli_exit_apply(err);
		goto undo;
	}
	if (have_digest && (err = tapis_set_content_digest(&t, digest)))
		pr_warn("record the policy's digest: %s (the next load reloads it)",
			strerror(-err));
	err = tapis_attach(&t, ifaces, n, mode);
	if (err) {
		rc = cli_exit_kernel(err); /* no policy involved: never EXIT_POLICY */
		goto undo;
	}
	print_loaded(c, path, &t, ifaces, n);
	audit_load(c, path, &t, ifaces, n, have_digest ? digest : NULL);
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
