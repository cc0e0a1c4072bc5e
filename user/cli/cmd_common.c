// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_common.c - what every tapis command shares: prefix lookup in a
 * dispatch table, usage and option errors, opening the pinned state, the
 * errno -> exit code rule, and parsing a policy with its diagnostics kept
 * for JSON output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit.h"
#include "cli.h"
#include "edits.h"
#include "when.h"
#include "compile.h"
#include "log.h"
#include "output.h"

const struct cmd *cli_find(const struct cmd *tab, size_t n, const char *name, const char *what)
{
	const struct cmd *hit = NULL;
	size_t i, len = strlen(name), matches = 0;
	char cands[256] = "", all[256] = "";

	for (i = 0; i < n; i++) {
		if (strcmp(tab[i].name, name) == 0)
			return &tab[i];
		if (strlen(all) + strlen(tab[i].name) + 3 < sizeof(all)) {
			if (all[0])
				strcat(all, ", ");
			strcat(all, tab[i].name);
		}
		if (len && strncmp(tab[i].name, name, len) == 0) {
			hit = &tab[i];
			matches++;
			if (strlen(cands) + strlen(tab[i].name) + 3 < sizeof(cands)) {
				if (cands[0])
					strcat(cands, ", ");
				strcat(cands, tab[i].name);
			}
		}
	}
	if (matches == 1)
		return hit;
	if (matches > 1)
		pr_err("%s '%s' is ambiguous: %s", what, name, cands);
	else
		pr_err("unknown %s '%s' (one of: %s)", what, name, all);
	return NULL;
}

void cli_usage(const struct cli *c, const struct cmd *cmd)
{
	if (c->json) {
		struct json_object *o = json_object_new_object();
		char buf[512];

		snprintf(buf, sizeof(buf), "tapis %s %s", cmd->name, cmd->usage);
		json_object_object_add(o, "usage", json_object_new_string(buf));
		json_object_object_add(o, "help", json_object_new_string(cmd->help));
		out_json(stdout, o);
		return;
	}
	printf("Usage: tapis %s %s\n\n%s\n\nOptions for every command:\n"
	       "  --pin-path DIR   where the filter's state is pinned (default %s)\n"
	       "  -j, --json       JSON output, errors included\n"
	       "  -v, --verbose    more messages (twice: library messages too)\n",
	       cmd->name, cmd->usage, cmd->help, TAPIS_DEFAULT_PIN);
}

int cli_bad_args(const struct cli *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->cmd) {
		pr_err("%s: %s", c->cmd->name, msg);
		if (!c->json)
			fprintf(stderr, "Usage: tapis %s %s\n", c->cmd->name, c->cmd->usage);
	} else {
		pr_err("%s", msg);
	}
	return EXIT_POLICY;
}

int cli_getopt(const struct cli *c, int argc, char **argv, const char *optstring,
	       const struct option *longopts, int *rc)
{
	/* Options seen in this command line: one given twice is an error,
	 * not a silent last-wins (--iface is the one that repeats). */
	static unsigned char seen[256];
	int opt;

	if (optind == 0)
		memset(seen, 0, sizeof(seen));
	opterr = 0; /* complaints go through pr_err, so --json stays JSON */
	opt = getopt_long(argc, argv, optstring, longopts, NULL);
	if (opt > 0 && opt < 256 && opt != 'i' && opt != 'h' && opt != ':' && opt != '?') {
		if (seen[opt]) {
			const char *name = NULL;

			for (const struct option *o = longopts; o && o->name; o++)
				if (o->val == opt)
					name = o->name;
			if (name)
				*rc = cli_bad_args(c, "option '--%s' given twice", name);
			else
				*rc = cli_bad_args(c, "option '-%c' given twice", opt);
			return CLI_OPT_EXIT;
		}
		seen[opt] = 1;
	}
	switch (opt) {
	case 'h':
		cli_usage(c, c->cmd);
		*rc = EXIT_OK;
		return CLI_OPT_EXIT;
	case ':':
		*rc = cli_bad_args(c, "option '%s' needs an argument", argv[optind - 1]);
		return CLI_OPT_EXIT;
	case '?':
		/* glibc leaves optopt 0 for an unknown long option; the one
		 * just passed is argv[optind - 1]. */
		if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
			*rc = cli_bad_args(c, "unknown option '-%c'", optopt);
		else
			*rc = cli_bad_args(c, "unknown or ambiguous option '%s'", argv[optind - 1]);
		return CLI_OPT_EXIT;
	default:
		return opt;
	}
}

int cli_exit_for(int err)
{
	switch (err) {
	case 0:
		return EXIT_OK;
	case -EINVAL:
		return EXIT_POLICY;
	case -EAGAIN:
#if EAGAIN != EWOULDBLOCK
	case -EWOULDBLOCK:
#endif
		return EXIT_BUSY;
	case -ENOMEM:
		return EXIT_RUNTIME;
	default:
		return EXIT_KERNEL;
	}
}

int cli_exit_apply(int err)
{
	if (err == -ENODEV || err == -ENOSPC)
		return EXIT_POLICY;
	return cli_exit_for(err);
}

int cli_exit_kernel(int err)
{
	int rc = cli_exit_for(err);

	return rc == EXIT_POLICY ? EXIT_KERNEL : rc;
}

void cli_report(int err, const int *printed, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	for (; printed && *printed; printed++)
		if (*printed == err)
			return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("%s: %s", msg, strerror(-err));
}

int cli_open_failed(const struct cli *c, int err)
{
	/* tapis_open reports a held lock and unreadable pins itself. */
	switch (err) {
	case 0:
		return EXIT_OK;
	case -ENOENT:
		pr_err("nothing loaded at %s (tapis load first)", c->pin);
		return EXIT_NOSTATE;
	case -EAGAIN:
#if EAGAIN != EWOULDBLOCK
	case -EWOULDBLOCK:
#endif
		return EXIT_BUSY;
	case -ENAMETOOLONG:
		pr_err("pin path %s: %s", c->pin, strerror(-err));
		return EXIT_POLICY;
	case -ESTALE:
		return EXIT_NOSTATE; /* said by tapis_open, with what to do */
	case -EACCES:
	case -EPERM:
		/* Not "nothing loaded": something may well be. tapis_open has
		 * named an untrusted directory itself (-EPERM). */
		if (err == -EACCES || getuid() != 0)
			pr_err("permission denied: %s (reading the filter's state needs root or "
			       "the group '%s'; changing it needs root)",
			       c->pin, TAPIS_GROUP);
		return EXIT_RUNTIME;
	default:
		return err == -ENOMEM ? EXIT_RUNTIME : EXIT_KERNEL;
	}
}

int cli_open(const struct cli *c, struct tapis *t, bool shared)
{
	return cli_open_failed(c, tapis_open(t, c->pin, shared));
}

int cli_snapshot(const struct cli *c, struct tapis *t, struct snapshot *s)
{
	int err = tapis_snapshot(t, s);

	if (!err)
		return EXIT_OK;
	memset(s, 0, sizeof(*s));
	pr_err("read the state at %s: %s", c->pin, strerror(-err));
	return cli_exit_kernel(err);
}

int cli_open_snapshot(const struct cli *c, struct tapis *t, bool shared, struct snapshot *s)
{
	int rc;

	memset(t, 0, sizeof(*t));
	memset(s, 0, sizeof(*s));
	rc = cli_open(c, t, shared);
	if (rc)
		return rc;
	rc = cli_snapshot(c, t, s);
	if (rc)
		tapis_close(t);
	return rc;
}

/* Lines of a captured diagnostics buffer as a JSON array. */
static struct json_object *lines_json(const char *buf)
{
	struct json_object *a = json_object_new_array();
	const char *p = buf, *nl;

	while (p && *p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		if (nl > p) {
			/* Valid UTF-8 whatever the line holds (a list's bytes). */
			size_t n = (size_t)(nl - p);
			char *raw = strndup(p, n), *safe = malloc(4 * n + 1);

			if (raw && safe)
				json_object_array_add(
					a, json_object_new_string(safe_text(raw, safe, 4 * n + 1)));
			free(raw);
			free(safe);
		}
		p = *nl ? nl + 1 : nl;
	}
	return a;
}

int cli_compile_policy(const struct cli *c, const char *path, struct tapis *t, bool resolve,
		       struct policy *p, struct compiled *cp, char **diag_out)
{
	return cli_compile_with_edits(c, path, t, resolve, p, cp, diag_out, NULL);
}

int cli_compile_with_edits(const struct cli *c, const char *path, struct tapis *t, bool resolve,
			   struct policy *p, struct compiled *cp, char **diag_out,
			   struct edits_report *edits)
{
	char *diag = NULL;
	size_t len = 0;
	FILE *ms = NULL;
	bool kernel = false;
	int err;

	if (diag_out)
		*diag_out = NULL;
	if (c->json) {
		ms = open_memstream(&diag, &len);
		if (ms)
			policy_set_diag(ms);
	}
	memset(p, 0, sizeof(*p));
	memset(cp, 0, sizeof(*cp));
	err = policy_parse_file(path, p);
	/* Live edits go on top of the file before the compile checks it. */
	if (!err && edits && t) {
		err = edits_merge(t, p, edits);
		if (err) {
			pr_err("apply the live edits to %s: %s", path, strerror(-err));
			policy_free(p);
			kernel = err != -ENOMEM;
		}
	}
	if (!err) {
		err = t ? tapis_compile(t, p, cp) : policy_compile(p, NULL, cp);
		/* The compile refuses with -EINVAL; anything else came from
		 * reading the running rules. */
		kernel = err && err != -EINVAL && err != -ENOMEM;
		if (!err && resolve)
			err = compiled_resolve(cp);
		if (err) {
			compiled_free(cp);
			policy_free(p);
		}
	}
	if (ms) {
		policy_set_diag(stderr);
		fclose(ms);
	}

	if (kernel) {
		/* Reported through pr_err, and no fault of the policy. */
		free(diag);
		return cli_exit_kernel(err);
	}
	if (err) {
		/* In text mode every error is on stderr already. */
		if (c->json) {
			struct json_object *x = json_object_new_object();
			char msg[PATH_MAX + 64];

			/* -ENOENT and such: the file could not be read. */
			snprintf(msg, sizeof(msg), "%s: %s", path,
				 err == -EINVAL || err == -ENODEV ? "invalid policy"
								  : strerror(-err));
			json_object_object_add(x, "policy", json_object_new_string(path));
			json_object_object_add(x, "diagnostics", lines_json(diag));
			cli_json_error(msg, x);
		}
		free(diag);
		return err == -ENOMEM ? EXIT_RUNTIME : EXIT_POLICY;
	}
	if (diag_out && diag && *diag) {
		*diag_out = diag;
		return EXIT_OK;
	}
	/* Warnings nobody asked for still reach the operator, off stdout. */
	if (diag)
		fputs(diag, stderr);
	free(diag);
	return EXIT_OK;
}

void policy_counts(const struct policy *p, size_t *rules, size_t *nets, size_t *hosts)
{
	size_t i;

	*rules = p->n_rules;
	*nets = *hosts = 0;
	for (i = 0; i < p->n_rules; i++) {
		*nets += p->rules[i].n_nets;
		*hosts += p->rules[i].n_hosts;
	}
}

void cli_json_error(const char *msg, struct json_object *extra)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	if (extra) {
		json_object_object_foreach(extra, k, v)
		{
			json_object_object_add(o, k, json_object_get(v));
		}
		json_object_put(extra);
	}
	out_json(stdout, o);
}

void cli_json_print(struct json_object *o)
{
	out_json(stdout, o);
}

struct json_object *cli_diag_json(const char *diag)
{
	return lines_json(diag);
}

bool cli_edit_args(const struct cli *c, int argc, char **argv, struct edit_args *a, int *rc)
{
	static const struct option opts[] = {
		{"rule", required_argument, NULL, 'r'},
		{"expires", required_argument, NULL, 'e'},
		{"for", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const struct cmd verbs[] = {
		{"add", NULL, NULL, NULL},
		{"del", NULL, NULL, NULL},
		{"list", NULL, NULL, NULL},
	};
	const char *expires = NULL, *dur = NULL;
	const struct cmd *verb;
	int64_t now = (int64_t)time(NULL), d;
	char what[32];
	int opt;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hr:e:f:", opts, rc)) != -1) {
		if (opt == 'r')
			a->rule = optarg;
		else if (opt == 'e')
			expires = optarg;
		else if (opt == 'f')
			dur = optarg;
		else
			return false; /* --help or a bad option: *rc is set */
	}
	*rc = EXIT_POLICY;
	if (optind >= argc) {
		cli_bad_args(c, "add, del or list is required");
		return false;
	}
	snprintf(what, sizeof(what), "%s command", c->cmd->name);
	verb = cli_find(verbs, sizeof(verbs) / sizeof(verbs[0]), argv[optind], what);
	if (!verb)
		return false;
	a->add = strcmp(verb->name, "add") == 0;
	a->list = strcmp(verb->name, "list") == 0;
	if (a->list) {
		if (optind + 1 < argc) {
			cli_bad_args(c, "unexpected argument '%s'", argv[optind + 1]);
			return false;
		}
	} else {
		if (optind + 1 >= argc) {
			cli_bad_args(c, "%s: what to %s is missing", verb->name, verb->name);
			return false;
		}
		/* Several entries make one batch, edited in order. */
		a->args = argv + optind + 1;
		a->n_args = argc - optind - 1;
		a->arg = a->args[0];
		if (!a->rule) {
			cli_bad_args(c, "--rule NAME is required");
			return false;
		}
	}
	if (a->rule && (a->rule[0] == '\0' || strlen(a->rule) >= TAPIS_NAME_MAX)) {
		cli_bad_args(c, "'%s' is not a rule name", a->rule);
		return false;
	}
	if ((expires || dur) && !a->add) {
		cli_bad_args(c, "--expires and --for go with add");
		return false;
	}
	if (expires && dur) {
		cli_bad_args(c, "--expires or --for, not both");
		return false;
	}
	if (expires && (!time_parse_rfc3339(expires, &a->expires_unix) || a->expires_unix <= now)) {
		cli_bad_args(c,
			     "--expires '%.64s' is not an RFC 3339 time in the future "
			     "(2026-12-31T00:00:00Z)",
			     expires);
		return false;
	}
	if (dur) {
		if (!duration_parse(dur, &d)) {
			cli_bad_args(c, "--for '%.64s' is not a duration (90s, 15m, 2h, 7d)", dur);
			return false;
		}
		a->expires_unix = now + d;
	}
	if (a->rule)
		snprintf(a->edit_rule, sizeof(a->edit_rule), "%s", a->rule);
	*rc = EXIT_OK;
	return true;
}

int cli_edit_target(const struct cli *c, struct tapis *t, struct edit_args *a)
{
	(void)c;
	if (!a->expires_unix)
		return 0;
	return tapis_timed_rule(t, a->rule, a->expires_unix, a->edit_rule, sizeof(a->edit_rule));
}

/* The rule an edit's record goes under: the one the operator named (a
 * timed entry's rule "<rule>@<time>" is recorded under rule, with the
 * time; a delete may name the timed rule). */
static void record_rule(const struct edit_args *a, char *base, size_t n)
{
	const char *at = strrchr(a->rule, '@');

	snprintf(base, n, "%s", a->rule);
	if (at && !a->add && (size_t)(at - a->rule) < n)
		base[at - a->rule] = '\0';
}

int cli_edit_batch(const struct cli *c, struct edit_args *a, char **shown, cli_edit_fn fn,
		   void *ctx, const int *printed)
{
	enum tapis_edit_type type = strcmp(c->cmd->name, "net") ? TAPIS_EDIT_HOST : TAPIS_EDIT_NET;
	char base[TAPIS_NAME_MAX];
	struct edit_intent in;
	int rc, worst = EXIT_OK, err, serr;
	struct tapis t;

	memset(&t, 0, sizeof(t));
	rc = cli_open(c, &t, false);
	if (rc)
		return rc;
	err = cli_edit_target(c, &t, a);
	if (err) {
		rc = cli_edit_done(c, &t, a, shown[0], err, printed);
		tapis_close(&t);
		return rc;
	}
	record_rule(a, base, sizeof(base));
	for (int i = 0; i < a->n_args; i++) {
		/* Intent first: a kill between the tables and the record
		 * must leave a record the next command completes, never an
		 * entry in force that no record (and so no reload) knows. */
		err = edits_intend(&t, type, base, shown[i], a->add, a->expires_unix, &in);
		if (err == -ENOSPC)
			pr_err("%s %s %s: too many live edits (at most %" PRIu32 ", "
			       "settings.capacity.edits at load): fold them into the policy file",
			       c->cmd->name, a->add ? "add" : "del", shown[i],
			       tapis_map_entries(&t, M_EDITS));
		if (!err) {
			err = fn(&t, a->edit_rule, i, a->add, ctx);
			serr = edits_settle(&t, &in, err == 0);
			if (serr)
				pr_warn("%s %s: its record stays pending: %s (the next change "
					"completes it)",
					c->cmd->name, shown[i], strerror(-serr));
		}
		rc = cli_edit_done(c, &t, a, shown[i], err, printed);
		worst = worst ?: rc;
	}
	tapis_close(&t);
	return worst;
}

int cli_edit_done(const struct cli *c, struct tapis *t, const struct edit_args *a,
		  const char *shown, int err, const int *printed)
{
	const char *obj = c->cmd->name;
	char command[16];

	if (err) {
		cli_report(err, printed, "%s %s %s %s rule %s", obj, a->add ? "add" : "del", shown,
			   a->add ? "to" : "from", a->edit_rule);
		/* The operator named something that is not there, or that
		 * another rule holds: the command line's fault. No room (live
		 * edits, host tables sized at load) is the policy's to make,
		 * as a reload that needs more is refused. */
		if (err == -ENOENT || err == -EEXIST || err == -EPERM || err == -EALREADY ||
		    err == -ENOSPC)
			return EXIT_POLICY;
		return cli_exit_for(err);
	}
	{
		struct audit_event ev = {.command = command, .rule = a->edit_rule, .entry = shown};
		char ref[TAPIS_REF_MAX];

		snprintf(command, sizeof(command), "%s %s", obj, a->add ? "add" : "del");
		if (a->add)
			ev.added = 1;
		else
			ev.removed = 1;
		/* The order the rule enforces goes with the edit. */
		if (tapis_rule_reference(t, a->edit_rule, ref, sizeof(ref)) == 0 && ref[0])
			ev.reference = ref;
		cli_audit(c, &ev);
	}
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "op", json_object_new_string(a->add ? "add" : "del"));
		json_object_object_add(o, obj, json_object_new_string(shown));
		json_object_object_add(o, "rule", json_object_new_string(a->edit_rule));
		cli_json_print(o);
	} else {
		printf("%s %s %s rule %s\n", a->add ? "added" : "removed", shown,
		       a->add ? "to" : "from", a->edit_rule);
	}
	return EXIT_OK;
}

void cli_audit(const struct cli *c, struct audit_event *ev)
{
	char digest[72];
	int err;

	ev->pin_path = c->pin;
	if (ev->policy && !ev->digest && audit_digest(ev->policy, digest) == 0)
		ev->digest = digest;
	err = audit_write(c->audit, ev);
	if (err)
		pr_warn("audit log %s: %s%s", c->audit, strerror(-err),
			ev->result ? "" : " (the change itself is made)");
}
