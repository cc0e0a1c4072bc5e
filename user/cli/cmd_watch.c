// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_watch.c - `tapis watch --policy FILE [--iface IF ...] [--mode M]`:
 * the service. Applies the policy (a load when nothing runs at the pin
 * path, which needs --iface, or when --iface is given, so that a restart
 * with another interface attaches it; a reload otherwise), then reloads
 * whenever the policy or a list it names changes, and on SIGHUP. A broken
 * edit is reported with FILE:LINE and the running policy stays.
 * SIGTERM/SIGINT end the watch and leave the filter running: a restart of
 * the service (an upgrade) must not open a gap; `tapis unload` lifts the
 * filter.
 *
 * Each event is one line on stdout/stderr (the journal under systemd). The
 * load and reload are the commands themselves, run in this process, so a
 * watch applies a policy exactly as `tapis reload` would.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cli.h"
#include "log.h"
#include "output.h"
#include "watch.h"

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Run `tapis reload --policy FILE` in this process; its one line is the
 * event's log line. */
static int do_reload(struct cli *c, const char *path)
{
	char *argv[] = {"reload", "--policy", (char *)path, NULL};
	const struct cmd *saved = c->cmd;
	int rc;

	c->cmd = cli_find(tapis_cmds, tapis_n_cmds, "reload", "command");
	rc = c->cmd ? c->cmd->fn(c, 3, argv) : EXIT_RUNTIME;
	c->cmd = saved;
	return rc;
}

static int do_load(struct cli *c, const char *path, char **ifaces, int n_ifaces, const char *mode)
{
	char *argv[3 + 2 * TAPIS_MAX_IFACES + 3];
	const struct cmd *saved = c->cmd;
	int argc = 0, i, rc;

	argv[argc++] = "load";
	argv[argc++] = "--policy";
	argv[argc++] = (char *)path;
	for (i = 0; i < n_ifaces; i++) {
		argv[argc++] = "--iface";
		argv[argc++] = ifaces[i];
	}
	if (mode) {
		argv[argc++] = "--mode";
		argv[argc++] = (char *)mode;
	}
	argv[argc] = NULL;
	c->cmd = cli_find(tapis_cmds, tapis_n_cmds, "load", "command");
	rc = c->cmd ? c->cmd->fn(c, argc, argv) : EXIT_RUNTIME;
	c->cmd = saved;
	return rc;
}

/* The files to watch: the policy and every list it names (as parsed now;
 * a policy that does not parse keeps the previous set plus itself). Also
 * the next time a rule expires, for the audit line. */
struct watch_set {
	char **files;
	size_t n;
	int64_t next_expiry; /* 0: none */
	char next_rule[TAPIS_NAME_MAX];
};

static void set_free(struct watch_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->files[i]);
	free(s->files);
	s->files = NULL;
	s->n = 0;
}

static int set_from_policy(const char *path, struct watch_set *s)
{
	int64_t now = (int64_t)time(NULL);
	size_t i, n = 0;
	struct policy p;
	char **files;
	FILE *null;
	int err;

	/* Diagnostics were printed by the reload already. */
	null = fopen("/dev/null", "w");
	if (null)
		policy_set_diag(null);
	memset(&p, 0, sizeof(p));
	err = policy_parse_file(path, &p);
	policy_set_diag(stderr);
	if (null)
		fclose(null);
	if (err) {
		policy_free(&p);
		return err;
	}
	files = calloc(p.n_strings + 1, sizeof(*files));
	if (!files) {
		policy_free(&p);
		return -ENOMEM;
	}
	files[n++] = strdup(path);
	for (i = 0; i < p.n_strings; i++)
		if (strcmp(p.strings[i], path))
			files[n++] = strdup(p.strings[i]);
	for (i = 0; i < n; i++) {
		if (!files[i]) {
			while (n)
				free(files[--n]);
			free(files);
			policy_free(&p);
			return -ENOMEM;
		}
	}
	set_free(s);
	s->files = files;
	s->n = n;
	s->next_expiry = 0;
	for (i = 0; i < p.n_rules; i++) {
		int64_t e = p.rules[i].expires_unix;

		if (e > now && (!s->next_expiry || e < s->next_expiry)) {
			s->next_expiry = e;
			snprintf(s->next_rule, sizeof(s->next_rule), "%s", p.rules[i].name);
		}
	}
	policy_free(&p);
	return 0;
}

int cmd_watch(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'}, {"iface", required_argument, NULL, 'i'},
		{"mode", required_argument, NULL, 'm'},	  {"settle", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	char *ifaces[TAPIS_MAX_IFACES], *end;
	const char *path = NULL, *mode = NULL;
	struct watch_set ws = {0};
	int opt, rc = EXIT_POLICY, n_ifaces = 0, ev, err;
	unsigned long settle = 300;
	bool loaded;
	struct watcher w;
	struct tapis t;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hp:i:m:s:", opts, &rc)) != -1) {
		switch (opt) {
		case 'p':
			path = optarg;
			break;
		case 'i':
			rc = cli_add_iface(c, ifaces, &n_ifaces, optarg);
			if (rc)
				return rc;
			break;
		case 'm':
			mode = optarg;
			break;
		case 's':
			errno = 0;
			settle = strtoul(optarg, &end, 10);
			if (errno || *end || settle > 60000)
				return cli_bad_args(c, "--settle takes milliseconds, 0..60000");
			break;
		default:
			return rc;
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);
	if (!path)
		return cli_bad_args(c, "--policy FILE is required");

	/* Signals are blocked from here on and arrive through the watcher. */
	err = watcher_open(&w, (unsigned)settle);
	if (err) {
		pr_err("watch: %s", strerror(-err));
		return EXIT_RUNTIME;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	memset(&t, 0, sizeof(t));
	err = tapis_open(&t, c->pin, true);
	loaded = !err;
	if (loaded)
		tapis_close(&t);
	if (!loaded && err != -ENOENT) {
		rc = cli_open_failed(c, err);
		goto out;
	}
	if (!loaded && !n_ifaces) {
		rc = cli_bad_args(c, "nothing loaded at %s: give --iface IF to load %s", c->pin,
				  path);
		goto out;
	}
	/* A load onto the running filter reloads a changed policy and
	 * attaches the named interfaces it does not run on yet. */
	rc = loaded && !n_ifaces ? do_reload(c, path) : do_load(c, path, ifaces, n_ifaces, mode);
	if (rc != EXIT_OK && !loaded)
		goto out; /* nothing runs: let the service manager retry */
	if (rc != EXIT_OK)
		pr_warn("watch: %s not applied (see above); the running filter stays as it was",
			path);

	for (;;) {
		long long t0;
		int timeout = -1;

		if (set_from_policy(path, &ws) || !ws.n) {
			/* Keep watching at least the policy itself. */
			if (!ws.n) {
				ws.files = calloc(1, sizeof(*ws.files));
				if (ws.files && (ws.files[0] = strdup(path)))
					ws.n = 1;
			}
		}
		err = watcher_set(&w, (const char *const *)ws.files, ws.n);
		if (err)
			pr_warn("watch: cannot watch every file (%s); SIGHUP still reloads",
				strerror(-err));
		if (ws.next_expiry) {
			int64_t left = ws.next_expiry - (int64_t)time(NULL);

			timeout = left <= 0	 ? 0
				  : left > 86400 ? 86400000
						 : (int)(left * 1000 + 500);
		}
		ev = watcher_wait(&w, timeout);
		if (ev < 0) {
			pr_err("watch: %s", strerror(-ev));
			rc = EXIT_RUNTIME;
			break;
		}
		if (ev == WATCH_STOP) {
			printf("watch: stopping; the filter stays loaded at %s\n", c->pin);
			rc = EXIT_OK;
			break;
		}
		if (ev == 0) {
			if (ws.next_expiry && ws.next_expiry <= (int64_t)time(NULL)) {
				struct audit_event ae = {.command = "expire",
							 .pin_path = c->pin,
							 .policy = path,
							 .rule = ws.next_rule};

				printf("watch: rule %s expired\n", ws.next_rule);
				if (audit_write(c->audit, &ae))
					pr_warn("watch: audit log %s not written", c->audit);
			}
			continue;
		}
		t0 = mono_ms();
		rc = do_reload(c, path);
		if (rc == EXIT_NOSTATE) {
			/* Unloaded under us: the operator lifted the filter. */
			pr_err("watch: nothing loaded at %s any more; stopping", c->pin);
			break;
		}
		if (rc != EXIT_OK)
			pr_warn("watch: %s refused; the running policy stays", path);
		else
			pr_info("watch: %s: reload took %lld ms",
				ev == WATCH_HUP ? "SIGHUP" : "change", mono_ms() - t0);
	}
out:
	set_free(&ws);
	watcher_close(&w);
	return rc;
}
