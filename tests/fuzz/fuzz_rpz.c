// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_rpz.c - an RPZ zone: read by rpz.c as `rpz:` reads it, refusing and
 * then skipping bad records, then as a policy's zone (merged into one rule
 * per action) and compiled.
 */
#include "compile.h"
#include "policy.h"
#include "rpz.h"

#include "fuzz.h"

static void read_zone(bool skip)
{
	char path[128];
	struct rpz_zone z = {0};
	size_t i, sum = 0;

	snprintf(path, sizeof(path), "%s/l1", fuzz_dir());
	if (rpz_read(path, "zone.rpz", fuzz_null(), skip, &z) == 0) {
		for (i = 0; i < RPZ_VERDICTS; i++)
			sum += z.per_verdict[i];
		FUZZ_CHECK(sum == z.n);
		for (i = 0; i < z.n; i++) {
			FUZZ_CHECK(z.v[i].kind == HOST_EXACT || z.v[i].kind == HOST_WILDCARD);
			FUZZ_CHECK(z.v[i].verdict < RPZ_VERDICTS);
			FUZZ_CHECK(z.v[i].name && strlen(z.v[i].name) <= TAPIS_HOST_MAX);
		}
	}
	rpz_free(&z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char policy[] = "version: 1\n"
				     "settings:\n"
				     "  sinkhole: { ipv4: 198.18.0.10, ipv6: \"2001:db8::10\" }\n"
				     "rules:\n"
				     "  - name: feed\n"
				     "    rpz: [l1]\n";
	struct compiled c;
	struct policy p;

	fuzz_file("l1", data, size);
	read_zone(false);
	read_zone(true);
	policy_set_diag(fuzz_null());
	if (policy_parse_buffer("policy.yaml", fuzz_dir(), policy, strlen(policy), &p))
		return 0;
	if (policy_compile(&p, NULL, &c) == 0)
		compiled_free(&c);
	policy_free(&p);
	return 0;
}
