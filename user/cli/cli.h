/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cli.h - the tapis command line: one dispatch table per level (object, then
 * verb for `host` and `net`), one usage string per command, and the helpers
 * every cmd_*.c uses to turn a library -errno into one message and one exit
 * code (enum tapis_exit in tapis.h).
 *
 * Contract of a command function: it gets argv with argv[0] = its own name
 * and the global options (--pin-path, --json, -v, --version) already taken
 * out, so it parses only its own options with getopt_long. It prints its
 * result on stdout (JSON under --json), reports an error once through
 * pr_err (or cli_json_error), and returns an enum tapis_exit value.
 */
#ifndef TAPIS_CLI_H
#define TAPIS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "policy.h"
#include "tapis.h"

#ifndef TAPIS_VERSION
#define TAPIS_VERSION "0.1.0"
#endif

struct cmd;

/* Global options: they may appear anywhere on the line. */
struct cli {
	const char *pin;       /* --pin-path, default TAPIS_DEFAULT_PIN */
	bool json;	       /* --json / -j */
	int verbose;	       /* -v, repeatable */
	const struct cmd *cmd; /* the command being run (for its usage) */
	const char *audit;     /* --audit-log, $TAPIS_AUDIT_LOG, or the default */
};

typedef int (*cmd_fn)(struct cli *c, int argc, char **argv);

struct cmd {
	const char *name;
	cmd_fn fn;
	const char *usage; /* the arguments: "--policy FILE" (a USAGE_* string) */
	const char *help;  /* one line: what it does */
};

/* ---- commands (cmd_*.c) ---- */
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_load(struct cli *c, int argc, char **argv);
int cmd_reload(struct cli *c, int argc, char **argv);
int cmd_unload(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_stats(struct cli *c, int argc, char **argv);
int cmd_explain(struct cli *c, int argc, char **argv);
int cmd_host(struct cli *c, int argc, char **argv);
int cmd_net(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_watch(struct cli *c, int argc, char **argv);
int cmd_events(struct cli *c, int argc, char **argv);
int cmd_attach(struct cli *c, int argc, char **argv);
int cmd_detach(struct cli *c, int argc, char **argv);
int cmd_serve(struct cli *c, int argc, char **argv);

/* The top-level table (main.c) and its size: `tapis --help` walks it. */
extern const struct cmd tapis_cmds[];
extern const size_t tapis_n_cmds;

/* Usage strings: the arguments after the command name, shared by the
 * table (tapis --help) and each command's --help. */
#define USAGE_CHECK   "--policy FILE [--no-iface-check]"
#define USAGE_LOAD    "--policy FILE --iface IF [--iface IF ...] [--mode auto|native|generic]"
#define USAGE_RELOAD  "[--policy FILE] [--drop-edits]"
#define USAGE_UNLOAD  "[--iface IF]"
#define USAGE_STATUS  "[--json]"
#define USAGE_STATS   "[--json | --prometheus] [--top N]"
#define USAGE_EXPLAIN "ADDRESS | NAME [--json]"
#define USAGE_HOST                                                                                 \
	"add|del PATTERN... --rule NAME [--expires TIME|--for DURATION] | list [--rule NAME]"
#define USAGE_NET    "add|del CIDR... --rule NAME [--expires TIME|--for DURATION] | list [--rule NAME]"
#define USAGE_WATCH  "--policy FILE [--iface IF ...] [--mode auto|native|generic] [--settle MS]"
#define USAGE_EVENTS "[--count N] [--timeout SECONDS] [--json]"
#define USAGE_AUDIT  "[--rule NAME] [--since TIME|DURATION] [--json]"
#define USAGE_ATTACH "--iface IF [--iface IF ...] [--mode auto|native|generic]"
#define USAGE_DETACH "--iface IF [--iface IF ...]"
#define USAGE_SERVE  "[--listen ADDR:PORT]"

/* ---- helpers (cmd_common.c) ---- */

struct audit_event;
/* Record a change in the audit log (c->audit) and syslog. A failure to
 * write is a warning: the change is made and must not be reported as
 * failed. ev->pin_path is set here; ev->digest too when ev->policy is set
 * and ev->digest is not. */
void cli_audit(const struct cli *c, struct audit_event *ev);

/* Find `name` in `tab`: an exact name, or a prefix of exactly one name.
 * NULL (after pr_err naming the candidates) when unknown or ambiguous;
 * `what` is "command" or "host command" for the message. */
const struct cmd *cli_find(const struct cmd *tab, size_t n, const char *name, const char *what);

/* Print "Usage: tapis NAME USAGE" and what the command does on stdout
 * (--help); under --json as {"usage": ..., "help": ...}. */
void cli_usage(const struct cli *c, const struct cmd *cmd);

/* A bad command line: one error naming c->cmd, and in text mode a usage
 * line on stderr. Returns EXIT_POLICY. */
int cli_bad_args(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long for c->cmd (set optind = 0 before the first call, so glibc
 * starts afresh). Handles -h/--help (prints the usage) and turns getopt's
 * complaints into cli_bad_args. Returns the option like getopt_long, -1 at
 * the end, or CLI_OPT_EXIT with *rc set (EXIT_OK after --help, EXIT_POLICY
 * after a bad option). longopts must hold { "help", no_argument, NULL, 'h' }
 * and optstring must start with ":" and hold "h". */
#define CLI_OPT_EXIT (-2)
int cli_getopt(const struct cli *c, int argc, char **argv, const char *optstring,
	       const struct option *longopts, int *rc);

/* Report a library failure once. The library prints some failures itself,
 * where it knows the reason best (tapis.h); `printed` lists those -errno
 * values for the call that failed (0-terminated, may be NULL), and for
 * them nothing more is printed. Otherwise pr_err("<fmt>: <strerror>"). */
void cli_report(int err, const int *printed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Open the running filter at c->pin, reporting failure once:
 * -ENOENT "nothing loaded at PIN (tapis load first)" -> EXIT_NOSTATE,
 * -EAGAIN/-EWOULDBLOCK (lock held; tapis_open says so) -> EXIT_BUSY, else
 * EXIT_KERNEL (tapis_open names the pin it could not open). Returns
 * EXIT_OK with *t open. */
int cli_open(const struct cli *c, struct tapis *t, bool shared);
/* tapis_snapshot with the error reported once; *s is zeroed on failure. */
int cli_snapshot(const struct cli *c, struct tapis *t, struct snapshot *s);
/* cli_open then cli_snapshot; on failure nothing is left open. */
int cli_open_snapshot(const struct cli *c, struct tapis *t, bool shared, struct snapshot *s);
/* The reporting half of cli_open, for a tapis_open() error in hand. */
int cli_open_failed(const struct cli *c, int err);

/* The exit code for a library failure, per enum tapis_exit: -EINVAL is
 * the policy's or the argument's fault (2), a held lock is EXIT_BUSY,
 * -ENOMEM is EXIT_RUNTIME, everything else is the kernel's (3). */
int cli_exit_for(int err);
/* The same for tapis_apply and tapis_install: a policy larger than the
 * tables (-ENOSPC) and a redirect interface that does not exist (-ENODEV,
 * tapis_install only: the CLI resolves before it applies) are the
 * policy's fault too. */
int cli_exit_apply(int err);
/* The same for failures that are never the operator's fault (reading the
 * state, detach, unpin): -EINVAL counts as EXIT_KERNEL too. */
int cli_exit_kernel(int err);

/* Parse and compile a policy file, as check, load and reload all do, so
 * that they refuse the same policies. t: the running filter whose rule
 * ids the names keep (NULL: none runs). resolve: look the redirect
 * interfaces up (compiled_resolve). In text mode the diagnostics go to
 * stderr as they are found. Under --json they are captured: on failure
 * printed as {"error": ..., "policy": ..., "diagnostics": [lines]} on
 * stdout; on success handed to *diag_out (caller frees) or, with diag_out
 * NULL, copied to stderr. Returns EXIT_OK with *p and *cp to release, or
 * the exit code (EXIT_POLICY; EXIT_RUNTIME for ENOMEM; EXIT_KERNEL when
 * the running rules could not be read) with nothing to release. */
struct compiled;
int cli_compile_policy(const struct cli *c, const char *path, struct tapis *t, bool resolve,
		       struct policy *p, struct compiled *cp, char **diag_out);
/* The same with the live edits of t applied to the policy before the
 * compile (edits_merge), reported in *edits (freed by the caller). */
struct edits_report;
int cli_compile_with_edits(const struct cli *c, const char *path, struct tapis *t, bool resolve,
			   struct policy *p, struct compiled *cp, char **diag_out,
			   struct edits_report *edits);

/* `host` and `net`: "add|del ARG --rule NAME", in any order. Returns true
 * with the fields set; false with *rc the exit code after --help (EXIT_OK)
 * or an error. */
struct edit_args {
	bool add;
	bool list;	 /* `list`: arg NULL, rule optional */
	const char *arg; /* PATTERN or CIDR: the first of args */
	char **args;	 /* add and del take several: a batch */
	int n_args;
	const char *rule;     /* --rule NAME */
	int64_t expires_unix; /* add --expires TIME | --for DURATION; 0 = never */
	/* The rule edited: rule, or for a timed add its "<rule>@<time>". */
	char edit_rule[TAPIS_NAME_MAX];
};
bool cli_edit_args(const struct cli *c, int argc, char **argv, struct edit_args *a, int *rc);
/* For a timed add, make (or find) the rule "<rule>@<time>" the entry goes
 * into, in a->edit_rule. 0 or -errno (reported). */
int cli_edit_target(const struct cli *c, struct tapis *t, struct edit_args *a);
/* `host list` / `net list` (cmd_list.c). */
int cli_list_entries(const struct cli *c, const struct edit_args *a, bool hosts);

/* Edit entry i of a batch in rule (the library's edit). 0 or -errno. */
typedef int (*cli_edit_fn)(struct tapis *t, const char *rule, int i, bool add, void *ctx);
/* Open the filter and edit a->args in order, each entry recorded in
 * tapis_edits before it changes the tables (a killed batch leaves each
 * entry made or not, and at most one pending, which the next command
 * completes), each finished by cli_edit_done. shown[i]: entry i as
 * normalised. The first failure's exit code, after every entry was tried. */
int cli_edit_batch(const struct cli *c, struct edit_args *a, char **shown, cli_edit_fn fn,
		   void *ctx, const int *printed);

/* Finish a host or net edit: report err once (cli_report with `printed`,
 * "net add X to rule R: reason") and return the exit code; on success
 * print the result (text or JSON; `shown` is the entry as normalised). */
int cli_edit_done(const struct cli *c, struct tapis *t, const struct edit_args *a,
		  const char *shown, int err, const int *printed);

/* ---- interfaces (cmd_attach.c), for attach, detach and load ---- */

/* Add --iface NAME to ifaces[*n] (TAPIS_MAX_IFACES of them): a bad or
 * repeated name is a bad argument. Returns EXIT_OK or the exit code. */
int cli_add_iface(const struct cli *c, char **ifaces, int *n, char *name);

/* The record of interface `name` in s, or NULL. */
const struct tapis_iface *cli_iface_record(const struct snapshot *s, const char *name);

/* Interfaces asked for, sorted out against what the kernel runs on them
 * and what s records, before anything changes. */
struct iface_plan {
	char *attach[TAPIS_MAX_IFACES]; /* to attach now */
	int n_attach;
	char *already[TAPIS_MAX_IFACES]; /* tapis runs there, as recorded */
	int n_already;
};
/* Refuses, reporting once: an interface that does not exist (EXIT_KERNEL,
 * as an attach to it would), one where another XDP program runs outside a
 * libxdp dispatcher (EXIT_KERNEL, naming the program; under --json with
 * "iface" and "program": {"id", "name", "mode"}), one tapis runs on in
 * another mode than an explicit `mode` asks (EXIT_RUNTIME: changing it
 * takes a detach). Returns EXIT_OK with *pl filled. */
int cli_iface_plan(const struct cli *c, struct tapis *t, const struct snapshot *s,
		   char *const *ifnames, int n, enum tapis_mode mode, struct iface_plan *pl);

/* "attached to IF (MODE mode)" for each interface of the plan attached,
 * then "already attached to IF (MODE mode)<already_tail>" for each one
 * tapis ran on already, their modes as `after` records them. */
void cli_print_plan_done(const struct iface_plan *pl, const struct snapshot *after,
			 const char *already_tail);

/* names[0..n) as a JSON array of strings. */
struct json_object *cli_names_json(char *const *names, int n);

/* Totals over a parsed policy, for "N rules, N nets, N hosts". */
void policy_counts(const struct policy *p, size_t *rules, size_t *nets, size_t *hosts);

/* Print {"error": msg, ...the members of extra} on stdout, for errors
 * that carry more than pr_err can (policy diagnostics, status). Takes
 * ownership of extra (may be NULL). */
struct json_object;
void cli_json_error(const char *msg, struct json_object *extra);

/* Captured policy diagnostics (cli_compile_policy's diag_out) as a JSON
 * array of lines. */
struct json_object *cli_diag_json(const char *diag);

/* Print a JSON value on stdout as one line, and release it. */
void cli_json_print(struct json_object *o);

#endif /* TAPIS_CLI_H */
