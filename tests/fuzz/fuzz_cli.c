// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_cli.c - the tapis command line as main() sees it: global options
 * anywhere, commands by unambiguous prefix, each command's options and the
 * values they take (--top, --wait, --settle, --count, --timeout, --mode,
 * --since, --expires, --for, --iface, patterns, prefixes, addresses).
 *
 * The input is argv, one argument a line. Whatever it says, no filter is
 * loaded and nothing outside a scratch directory changes: the process runs
 * in a network namespace of its own with bpf() and AF_UNIX sockets (syslog)
 * refused, and every call gets --pin-path and --audit-log in the scratch
 * directory. Left out: commands that run until interrupted (serve,
 * watch), and paths into /proc, /sys and /dev.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "fuzz.h"

#define MAX_ARGS 32

int tapis_cli_main(int argc, char **argv);

/* No arch check: this keeps a test harness in its box, it is no
 * security boundary. */
static void sandbox(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (unshare(CLONE_NEWNET)) {
		perror("fuzz_cli: a network namespace of its own (needs root)");
		abort();
	}
	FUZZ_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	FUZZ_CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0);
}

/* A word the box cannot hold: a path into the machine's live files, our
 * own pin path and audit log overridden, or (a prefix of) a command that
 * never returns. */
static bool refused(const char *w)
{
	static const char *const bad[] = {"/proc", "/sys", "/dev"};
	static const char *const forever[] = {"serve", "watch"};
	size_t i, n = strlen(w);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(w, bad[i]))
			return true;
	if (!strncmp(w, "--pin-path", 10) || !strncmp(w, "--audit-log", 11))
		return true;
	for (i = 0; i < sizeof(forever) / sizeof(forever[0]); i++)
		if (n && !strncmp(forever[i], w, n))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool boxed;
	char *buf = fuzz_cstr(data, size), *argv[MAX_ARGS + 6], *p, *nl, pins[128], audit[128];
	int argc = 0;

	if (!boxed) {
		sandbox();
		boxed = true;
	}
	argv[argc++] = "tapis";
	for (p = buf; argc <= MAX_ARGS; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (refused(p))
			goto out;
		argv[argc++] = p;
		if (!nl)
			break;
	}
	snprintf(pins, sizeof(pins), "%s/pins", fuzz_dir());
	snprintf(audit, sizeof(audit), "%s/audit.log", fuzz_dir());
	argv[argc++] = "--pin-path";
	argv[argc++] = pins;
	argv[argc++] = "--audit-log";
	argv[argc++] = audit;
	argv[argc] = NULL;
	tapis_cli_main(argc, argv);
out:
	free(buf);
	return 0;
}
