// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_hostpat.c - host_pattern_parse, the one parser of host patterns
 * (policy, lists, `host add|del`, `explain NAME`). A pattern that parses is
 * normalised: lowercase A-label, no trailing dot, within the name limit,
 * and written out with its prefix it parses to itself, with the same hash.
 */
#include "hostname.h"
#include "policy.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), why[256], text[TAPIS_HOST_MAX + 8];
	struct host_pattern hp, again;
	size_t n;
	int err;

	why[0] = '\0';
	err = host_pattern_parse(s, &hp, why, sizeof(why));
	if (err) {
		FUZZ_CHECK(err == -EINVAL || err == -EAFNOSUPPORT);
		FUZZ_CHECK(why[0] != '\0');
		free(s);
		return 0;
	}
	n = strlen(hp.name);
	FUZZ_CHECK(n >= 1 && n <= TAPIS_HOST_MAX);
	FUZZ_CHECK(hp.name[n - 1] != '.');
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(!(hp.name[i] >= 'A' && hp.name[i] <= 'Z') &&
			   (unsigned char)hp.name[i] < 0x80);
	snprintf(text, sizeof(text), "%s%s", host_pattern_prefix(hp.kind), hp.name);
	FUZZ_CHECK(host_pattern_parse(text, &again, why, sizeof(why)) == 0);
	FUZZ_CHECK(again.kind == hp.kind && strcmp(again.name, hp.name) == 0);
	FUZZ_CHECK(hostname_hash(again.name) == hostname_hash(hp.name));
	free(s);
	return 0;
}
