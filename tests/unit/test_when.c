// SPDX-License-Identifier: GPL-2.0
/*
 * test_when.c - the times and durations operators type: --expires,
 * --for and --since, and a rule's expires.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../user/lib/when.h"

static void test_rfc3339(void **state)
{
	int64_t t;

	(void)state;
	assert_true(time_parse_rfc3339("2026-12-31T00:00:00Z", &t));
	assert_int_equal(t, 1798675200);
	assert_true(time_parse_rfc3339("2026-12-31T01:00:00+01:00", &t));
	assert_int_equal(t, 1798675200);
	assert_true(time_parse_rfc3339("2026-12-31T00:00:00.5Z", &t));
	assert_int_equal(t, 1798675200);
	assert_false(time_parse_rfc3339("2026-12-31", &t));
	assert_false(time_parse_rfc3339("2026-02-29T00:00:00Z", &t)); /* not a leap year */
	assert_true(time_parse_rfc3339("2028-02-29T00:00:00Z", &t));
	assert_false(time_parse_rfc3339("2026-12-31T00:00:00", &t)); /* no zone */
}

static void test_duration(void **state)
{
	int64_t d;

	(void)state;
	assert_true(duration_parse("90s", &d));
	assert_int_equal(d, 90);
	assert_true(duration_parse("15m", &d));
	assert_int_equal(d, 900);
	assert_true(duration_parse("1h30m", &d));
	assert_int_equal(d, 5400);
	assert_true(duration_parse("7d", &d));
	assert_int_equal(d, 604800);
	assert_true(duration_parse("2w", &d));
	assert_int_equal(d, 1209600);
	assert_false(duration_parse("", &d));
	assert_false(duration_parse("10", &d)); /* a unit is required */
	assert_false(duration_parse("0s", &d));
	assert_false(duration_parse("-5m", &d));
	assert_false(duration_parse("5x", &d));
	assert_false(duration_parse("99999999999999999999s", &d));
	assert_false(duration_parse("4000d", &d));
}

static void test_since(void **state)
{
	int64_t t;

	(void)state;
	assert_true(when_parse_since("2h", 1000000, &t));
	assert_int_equal(t, 1000000 - 7200);
	assert_true(when_parse_since("2026-12-31T00:00:00Z", 5, &t));
	assert_int_equal(t, 1798675200);
	assert_false(when_parse_since("yesterday", 5, &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_since),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
