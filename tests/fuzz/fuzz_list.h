/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tests/fuzz/fuzz_list.h - one list file, the input, named by a fixed
 * policy twice: by a rule that refuses a bad line and by one that skips it
 * (`on_error: skip`), then compiled. Both rules hold the same entries, so
 * the compiler's conflict path runs on every entry.
 */
#ifndef TAPIS_FUZZ_LIST_H
#define TAPIS_FUZZ_LIST_H

#include "compile.h"
#include "policy.h"

#include "fuzz.h"

static inline void fuzz_list(const char *policy, const uint8_t *data, size_t size)
{
	struct compiled c;
	struct policy p;

	fuzz_file("l1", data, size);
	policy_set_diag(fuzz_null());
	if (policy_parse_buffer("policy.yaml", fuzz_dir(), policy, strlen(policy), &p)) {
		FUZZ_CHECK(p.n_rules == 0 && p.rules == NULL);
		return;
	}
	FUZZ_CHECK(p.n_rules == 2);
	if (policy_compile(&p, NULL, &c) == 0)
		compiled_free(&c);
	policy_free(&p);
}

#endif /* TAPIS_FUZZ_LIST_H */
