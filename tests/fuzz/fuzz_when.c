// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_when.c - times and durations (when.c): `expires:`, `--expires`,
 * `--for`, `--since`. A time that parses is after 1970 and, written out in
 * UTC, parses to the same instant; a duration is positive and at most ten
 * years a term.
 */
#include <time.h>

#include "when.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const int64_t now = 1798761600; /* 2027-01-01T00:00:00Z */
	char *s = fuzz_cstr(data, size), text[64];
	int64_t t, again, d, since;
	struct tm tm;
	time_t tt;

	if (time_parse_rfc3339(s, &t)) {
		FUZZ_CHECK(t > 0);
		tt = (time_t)t;
		FUZZ_CHECK(gmtime_r(&tt, &tm));
		if (tm.tm_year + 1900 <= 9999) {
			strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
			FUZZ_CHECK(time_parse_rfc3339(text, &again) && again == t);
		}
		FUZZ_CHECK(when_parse_since(s, now, &since) && since == t);
	}
	if (duration_parse(s, &d)) {
		FUZZ_CHECK(d > 0);
		FUZZ_CHECK(when_parse_since(s, now, &since));
		/* A time is tried first; a duration never looks like one. */
		FUZZ_CHECK(since == now - d);
	}
	free(s);
	return 0;
}
