// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_cidr.c - parse_cidr, as `net add|del`, `explain` and the net lists
 * take a prefix. A prefix that parses has no host bits left, and written
 * out it parses to itself.
 */
#include <arpa/inet.h>

#include "policy.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), text[INET6_ADDRSTRLEN + 8];
	struct net_entry e, again;
	bool host_bits, again_bits;
	unsigned max, i;

	if (parse_cidr(s, &e, &host_bits) == 0) {
		FUZZ_CHECK(e.family == 4 || e.family == 6);
		max = e.family == 4 ? 32 : 128;
		FUZZ_CHECK(e.plen <= max);
		for (i = e.plen; i < 128; i++)
			FUZZ_CHECK(!(e.addr[i / 8] & (0x80u >> (i % 8))));
		FUZZ_CHECK(
			inet_ntop(e.family == 4 ? AF_INET : AF_INET6, e.addr, text, sizeof(text)));
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "/%u", e.plen);
		FUZZ_CHECK(parse_cidr(text, &again, &again_bits) == 0);
		FUZZ_CHECK(!again_bits);
		FUZZ_CHECK(again.family == e.family && again.plen == e.plen &&
			   memcmp(again.addr, e.addr, sizeof(e.addr)) == 0);
		/* The bits beyond the prefix were cleared, so say so. */
		FUZZ_CHECK(parse_cidr(s, &again, NULL) == 0);
	}
	free(s);
	return 0;
}
