// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - the tapis command: global options, then the command table.
 *
 * Global options (--pin-path, --json, -v, --version) may appear anywhere on
 * the line, so scripts can append them to any command; they are taken out
 * before the command's own getopt_long sees its argv. Commands are found by
 * exact name or by an unambiguous prefix, as in bpftool.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "cli.h"
#include "log.h"
#include "output.h"

static int cmd_help(struct cli *c, int argc, char **argv);

const struct cmd tapis_cmds[] = {
	{"check", cmd_check, USAGE_CHECK,
	 "Parse and compile a policy file and its lists as load would; change nothing.\n"
	 "--no-iface-check: do not look redirect interfaces up (load will run in another\n"
	 "network namespace)."},
	{"load", cmd_load, USAGE_LOAD,
	 "Load the filter with a policy and attach it to the interfaces (all or none).\n"
	 "Where tapis is loaded already: reload the policy unless its content (the file and\n"
	 "its lists) is the one running (\"unchanged\"), attach the named interfaces it does\n"
	 "not run on; those not named stay attached (tapis detach removes them)."},
	{"reload", cmd_reload, USAGE_RELOAD,
	 "Replace the running policy atomically: packets see the old or the new one, never a "
	 "mix.\nWithout --policy, the file loaded last is read again. Live edits (host|net\n"
	 "add|del) are applied again on top of the file, and those that no longer apply are\n"
	 "named and forgotten; --drop-edits forgets them all."},
	{"unload", cmd_unload, USAGE_UNLOAD,
	 "Detach from one interface, or from every interface; when none is left attached,\n"
	 "remove the pinned state (tapis detach keeps it loaded instead)."},
	{"attach", cmd_attach, USAGE_ATTACH,
	 "Attach the loaded filter to more interfaces (all or none); its policy and counters\n"
	 "stay as they are. Where tapis runs already, nothing changes. An interface running\n"
	 "another XDP program is refused, naming it."},
	{"detach", cmd_detach, USAGE_DETACH,
	 "Detach the filter from interfaces. Unlike unload, the filter stays loaded and pinned\n"
	 "when no interface is left, ready for attach. Where tapis does not run, nothing\n"
	 "changes."},
	{"status", cmd_status, USAGE_STATUS,
	 "What is loaded: policy, times, interfaces, rules, table use."},
	{"stats", cmd_stats, USAGE_STATS,
	 "Per-rule, per-action and unparsed-packet counters, as a table, JSON or Prometheus "
	 "exposition.\nThe table lists rules by hits (packets), most first; --top N shows the "
	 "first N\n(with --json: the same N rules, in that order)."},
	{"explain", cmd_explain, USAGE_EXPLAIN,
	 "Which rule the running policy applies to an address, and why."},
	{"host", cmd_host, USAGE_HOST,
	 "Add or remove a host pattern of a rule, live, without a reload.\n"
	 "PATTERN: example.com (the name and every name under it), =example.com (that name "
	 "only),\n*.example.com (names under it, not itself)."},
	{"net", cmd_net, USAGE_NET,
	 "Add or remove an IPv4/IPv6 prefix of a rule, live, without a reload."},
	{"watch", cmd_watch, USAGE_WATCH,
	 "The service: apply the policy (load it when nothing runs, which needs --iface;\n"
	 "with --iface a load also on a running filter: it attaches the interfaces named),\n"
	 "then reload when the policy or a list it names changes, and on SIGHUP. A broken\n"
	 "edit is reported with FILE:LINE and the running policy stays. SIGTERM ends the\n"
	 "watch and leaves the filter loaded. One line per event."},
	{"events", cmd_events, USAGE_EVENTS,
	 "Block events as they happen (time, rule, action, kind, hostname, addresses, ports,\n"
	 "interface), one line each or JSON lines, until interrupted, --count events or\n"
	 "--timeout seconds. The data path writes events only while a reader runs, at most\n"
	 "settings.events' rate per CPU, and counts the rest (events_lost in stats). Needs\n"
	 "root."},
	{"audit", cmd_audit, USAGE_AUDIT,
	 "The changes made to the filter, oldest first, from the audit log: who, what, when,\n"
	 "on whose order. --since takes an RFC 3339 time or a duration back from now (2h, 7d)."},
	{"serve", cmd_serve, USAGE_SERVE,
	 "Serve the Prometheus exposition (what stats --prometheus prints) on\n"
	 "http://ADDR:PORT/metrics, default 127.0.0.1:9477, until SIGTERM. Read-only: each\n"
	 "scrape reads the pins afresh, so it follows load, reload and unload (tapis_up 0\n"
	 "while nothing is loaded). GET and HEAD /metrics only; at most 128 connections,\n"
	 "16 per client address, 10 s idle timeout."},
	{"help", cmd_help, "[COMMAND]", "Show the usage of tapis or of one command."},
};
const size_t tapis_n_cmds = sizeof(tapis_cmds) / sizeof(tapis_cmds[0]);

static void usage_all(const struct cli *c, FILE *f)
{
	size_t i;

	if (c->json) {
		struct json_object *o = json_object_new_object(), *a = json_object_new_array();
		char buf[512];

		for (i = 0; i < tapis_n_cmds; i++) {
			snprintf(buf, sizeof(buf), "tapis %s %s", tapis_cmds[i].name,
				 tapis_cmds[i].usage);
			json_object_array_add(a, json_object_new_string(buf));
		}
		json_object_object_add(o, "usage", a);
		json_object_object_add(o, "version", json_object_new_string(TAPIS_VERSION));
		out_json(stdout, o);
		return;
	}
	fputs("Usage: tapis COMMAND [ARGS] [OPTIONS]\n\n", f);
	for (i = 0; i < tapis_n_cmds; i++)
		fprintf(f, "  tapis %-7s %s\n", tapis_cmds[i].name, tapis_cmds[i].usage);
	fprintf(f,
		"\n"
		"Options, anywhere on the line:\n"
		"  --pin-path DIR   where the filter's state is pinned (default %s)\n"
		"  --wait [SECONDS] wait for another tapis's lock on the pin path (for ever\n"
		"                   without SECONDS) instead of failing with exit 5\n"
		"  --audit-log FILE where changes are recorded (default $TAPIS_AUDIT_LOG or\n"
		"                   %s)\n"
		"  -j, --json       JSON output, errors included\n"
		"  -v, --verbose    more messages (twice: library messages too)\n"
		"  --version        print the version\n"
		"  -h, --help       this text; 'tapis COMMAND --help' for one command\n"
		"\n"
		"Commands may be shortened to an unambiguous prefix (tapis rel, tapis ex).\n"
		"Exit codes: 0 ok, 1 other failure, 2 bad policy or argument, 3 BPF load, map\n"
		"or attach failure, 4 nothing loaded at the pin path, 5 another tapis holds\n"
		"the lock.\n",
		TAPIS_DEFAULT_PIN, TAPIS_AUDIT_DEFAULT);
}

static int cmd_help(struct cli *c, int argc, char **argv)
{
	const struct cmd *cmd;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage_all(c, stdout);
		return EXIT_OK;
	}
	if (argc > 2)
		return cli_bad_args(c, "one command at a time");
	cmd = cli_find(tapis_cmds, tapis_n_cmds, argv[1], "command");
	if (!cmd)
		return EXIT_POLICY;
	cli_usage(c, cmd);
	return EXIT_OK;
}

/* Options of any command that take a separate value: their value is not
 * scanned for global options ("--rule -v" names a rule "-v"). */
static bool takes_value(const char *a)
{
	static const char *const opts[] = {"--policy", "-p",	   "--iface", "-i",
					   "--mode",   "-m",	   "--rule",  "-r",
					   "--since",  "--settle", "--count", "--timeout",
					   "--top",    "--listen", NULL};
	size_t i;

	for (i = 0; opts[i]; i++)
		if (strcmp(a, opts[i]) == 0)
			return true;
	return false;
}

/* -j, -v, -vv, -jv: a cluster of global short flags only. */
static bool global_cluster(const char *a, struct cli *c)
{
	const char *p;

	if (a[0] != '-' || a[1] == '-' || a[1] == '\0')
		return false;
	for (p = a + 1; *p; p++)
		if (*p != 'j' && *p != 'v')
			return false;
	for (p = a + 1; *p; p++) {
		if (*p == 'j')
			c->json = true;
		else
			c->verbose++;
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *env_audit = getenv("TAPIS_AUDIT_LOG");
	struct cli c = {.pin = TAPIS_DEFAULT_PIN,
			.audit = env_audit && *env_audit ? env_audit : TAPIS_AUDIT_DEFAULT};
	const char *bad = NULL;
	bool version = false;
	char **nargv;
	int i, nargc = 0, rc;

	/* argv minus the global options; argv[0] becomes the command. */
	nargv = calloc((size_t)argc + 1, sizeof(*nargv));
	if (!nargv) {
		perror("tapis");
		return EXIT_RUNTIME;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			while (i < argc)
				nargv[nargc++] = argv[i++];
			break;
		}
		if (strcmp(a, "--pin-path") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0' || argv[i + 1][0] == '-')
				bad = "--pin-path needs a directory";
			else
				c.pin = argv[++i];
		} else if (strncmp(a, "--pin-path=", 11) == 0) {
			if (a[11] == '\0')
				bad = "--pin-path needs a directory";
			else
				c.pin = a + 11;
		} else if (strcmp(a, "--wait") == 0 || strncmp(a, "--wait=", 7) == 0) {
			/* --wait alone waits for ever; --wait N or --wait=N
			 * for N seconds. */
			const char *v = a[6] == '=' ? a + 7 : NULL;
			char *end;
			long sec;

			if (!v && i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9')
				v = argv[++i];
			if (!v) {
				tapis_set_lock_wait(-1);
			} else {
				errno = 0;
				sec = strtol(v, &end, 10);
				if (errno || *end || sec < 0 || sec > 86400)
					bad = "--wait takes seconds, 0..86400";
				else
					tapis_set_lock_wait((int)sec * 1000);
			}
		} else if (strcmp(a, "--audit-log") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0' || argv[i + 1][0] == '-')
				bad = "--audit-log needs a file";
			else
				c.audit = argv[++i];
		} else if (strncmp(a, "--audit-log=", 12) == 0) {
			if (a[12] == '\0')
				bad = "--audit-log needs a file";
			else
				c.audit = a + 12;
		} else if (strcmp(a, "--json") == 0) {
			c.json = true;
		} else if (strcmp(a, "--verbose") == 0) {
			c.verbose++;
		} else if (strcmp(a, "--version") == 0) {
			version = true;
		} else if (!global_cluster(a, &c)) {
			nargv[nargc++] = argv[i];
			if (takes_value(a) && i + 1 < argc)
				nargv[nargc++] = argv[++i];
		}
	}
	log_setup(c.verbose, c.json);

	if (bad) {
		rc = cli_bad_args(&c, "%s", bad);
	} else if (version) {
		if (c.json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "version", json_object_new_string(TAPIS_VERSION));
			out_json(stdout, o);
		} else {
			printf("tapis %s\n", TAPIS_VERSION);
		}
		rc = EXIT_OK;
	} else if (nargc == 0) {
		if (c.json)
			pr_err("no command given (tapis --help lists them)");
		else
			usage_all(&c, stderr);
		rc = EXIT_POLICY;
	} else if (strcmp(nargv[0], "--help") == 0 || strcmp(nargv[0], "-h") == 0) {
		usage_all(&c, stdout);
		rc = EXIT_OK;
	} else if (nargv[0][0] == '-') {
		rc = cli_bad_args(&c, "unknown option '%s' (tapis --help lists them)", nargv[0]);
	} else {
		c.cmd = cli_find(tapis_cmds, tapis_n_cmds, nargv[0], "command");
		rc = c.cmd ? c.cmd->fn(&c, nargc, nargv) : EXIT_POLICY;
	}
	free(nargv);
	if (fflush(stdout) && rc == EXIT_OK)
		rc = EXIT_RUNTIME;
	return rc;
}
