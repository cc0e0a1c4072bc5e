// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_policy.c - a policy and the files it names, through the parser and
 * the compiler, as `tapis check` runs them.
 *
 * The input is the policy, then up to three files, each after a line
 * "%%%%": they are written as l1, l2 and l3 in a scratch directory that is
 * the policy's base, so `host_lists: [l1]`, `net_lists: [l2]` and
 * `rpz: [l3]` reach them.
 */
#include "compile.h"
#include "policy.h"

#include "fuzz.h"

#define SEP "\n%%%%\n"

/* Files outside the scratch directory are the machine's: a policy naming
 * /proc/kmsg would wait for the kernel, not test tapis. Backslash escapes
 * and UTF-16 could spell such a path without these bytes in the input. */
static bool harmless(const char *s, size_t n)
{
	static const char *const bad[] = {"/proc", "/sys", "/dev", "\\"};
	size_t i;

	if (n >= 2 && (((uint8_t)s[0] == 0xff && (uint8_t)s[1] == 0xfe) ||
		       ((uint8_t)s[0] == 0xfe && (uint8_t)s[1] == 0xff)))
		return false;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (memmem(s, n, bad[i], strlen(bad[i])))
			return false;
	return true;
}

/* The same policy compiled again as a reload onto the filter the first
 * compile made: every rule keeps its id, so its counters follow it. */
static void reload(const struct policy *p, const struct compiled *first)
{
	struct tapis_rule_meta *run = calloc(TAPIS_MAX_RULES, sizeof(*run));
	struct compile_opts o = {.running = run};
	struct compiled again;
	size_t i;

	FUZZ_CHECK(run);
	for (i = 0; i < first->n_rules; i++) {
		struct tapis_rule_meta *m = &run[first->rules[i].id];

		snprintf(m->name, sizeof(m->name), "%s", first->rules[i].r->name);
		m->in_use = 1;
	}
	FUZZ_CHECK(policy_compile(p, &o, &again) == 0);
	for (i = 0; i < first->n_rules; i++)
		FUZZ_CHECK(again.rules[i].id == first->rules[i].id);
	compiled_free(&again);
	free(run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size, *sep;
	static const char *const files[] = {"l1", "l2", "l3"};
	size_t i, plen;
	struct compiled c;
	struct policy p;

	sep = memmem(s, size, SEP, strlen(SEP));
	plen = sep ? (size_t)(sep - s) : size;
	if (!harmless(s, plen))
		return 0;
	for (i = 0; i < 3; i++) {
		const char *part = sep ? sep + strlen(SEP) : NULL, *next;

		if (!part) {
			fuzz_file(files[i], NULL, 0);
			continue;
		}
		next = memmem(part, (size_t)(end - part), SEP, strlen(SEP));
		fuzz_file(files[i], part, (size_t)((next ? next : end) - part));
		sep = next;
	}

	policy_set_diag(fuzz_null());
	if (policy_parse_buffer("policy.yaml", fuzz_dir(), s, plen, &p)) {
		/* Refused whole: nothing is left to free or to apply. */
		FUZZ_CHECK(p.n_rules == 0 && p.rules == NULL && p.strings == NULL);
		return 0;
	}
	if (policy_compile(&p, NULL, &c) == 0) {
		uint64_t v4, v6, hosts;

		FUZZ_CHECK(c.n_rules == p.n_rules);
		FUZZ_CHECK(c.n_v4 + c.n_v6 == c.n_nets);
		for (i = 0; i < c.n_rules; i++)
			FUZZ_CHECK(c.rules[i].id >= 1 && c.rules[i].id < TAPIS_MAX_RULES);
		compiled_totals(&c, &v4, &v6, &hosts);
		FUZZ_CHECK(hosts == c.n_hosts);
		reload(&p, &c);
		compiled_free(&c);
	}
	policy_free(&p);
	return 0;
}
