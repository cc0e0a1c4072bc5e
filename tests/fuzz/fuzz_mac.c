// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_mac.c - parse_mac, a redirect rule's next hop. An address that
 * parses is exactly what it says: written out it is the input, lowercased.
 */
#include <ctype.h>

#include "policy.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), text[18];
	uint8_t mac[6];
	size_t i;

	if (parse_mac(s, mac)) {
		snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
			 mac[2], mac[3], mac[4], mac[5]);
		FUZZ_CHECK(strlen(s) == 17);
		for (i = 0; i < 17; i++)
			FUZZ_CHECK(tolower((unsigned char)s[i]) == text[i]);
	}
	free(s);
	return 0;
}
