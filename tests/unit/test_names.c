// SPDX-License-Identifier: GPL-2.0
/*
 * test_names.c - the names stats, JSON and Prometheus print for the ABI's
 * enums. A name missing at the end of a table fails the build (stats.c
 * asserts the table sizes); one missing in the middle, a duplicate or a
 * name that is no snake_case label value fails here. So does a pinned map
 * without its name in tapis_map_names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../user/lib/tapis.h"

typedef const char *(*name_fn)(unsigned);

static void check_table(const char *what, name_fn name, unsigned first, unsigned max)
{
	for (unsigned i = first; i < max; i++) {
		const char *n = name(i);

		if (strcmp(n, "unknown") == 0)
			fail_msg("%s %u has no name", what, i);
		if (!n[0] || n[0] < 'a' || n[0] > 'z')
			fail_msg("%s %u: '%s' must start with a lowercase letter", what, i, n);
		for (const char *c = n; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
				fail_msg("%s %u: '%s' is not snake_case", what, i, n);
		for (unsigned j = first; j < i; j++)
			if (strcmp(n, name(j)) == 0)
				fail_msg("%s %u and %u are both '%s'", what, j, i, n);
	}
	assert_string_equal(name(max), "unknown");
}

static void test_reason_names(void **state)
{
	(void)state;
	check_table("reason", reason_name, TAPIS_R_OK, TAPIS_R_MAX);
	/* Existing names are an interface: they never change. */
	assert_string_equal(reason_name(TAPIS_R_L2_TRUNC), "l2_truncated");
	assert_string_equal(reason_name(TAPIS_R_DNS_LABELS), "dns_too_many_labels");
	assert_string_equal(reason_name(TAPIS_R_NAME_SYNTAX), "name_syntax");
	assert_string_equal(reason_name(TAPIS_R_TLS_MALFORMED), "tls_malformed");
	assert_string_equal(reason_name(TAPIS_R_TLS_BOUND), "tls_bound");
	assert_string_equal(reason_name(TAPIS_R_HTTP_MALFORMED), "http_malformed");
	assert_string_equal(reason_name(TAPIS_R_HTTP_BOUND), "http_bound");
	assert_string_equal(reason_name(TAPIS_R_L7_OUT_OF_ORDER), "l7_out_of_order");
}

static void test_stat_names(void **state)
{
	(void)state;
	check_table("stat", stat_name, TAPIS_S_PACKETS, TAPIS_S_MAX);
	assert_string_equal(stat_name(TAPIS_S_PACKETS), "packets");
	assert_string_equal(stat_name(TAPIS_S_REDIRECT_ERR), "redirect_errors");
	assert_string_equal(stat_name(TAPIS_S_QUIC_DROP), "quic_drop");
	assert_string_equal(stat_name(TAPIS_S_QUIC_PASS), "quic_pass");
	assert_string_equal(stat_name(TAPIS_S_FLOW_NEW), "flow_new");
	assert_string_equal(stat_name(TAPIS_S_L7_FOLLOWED), "l7_followed");
	assert_string_equal(stat_name(TAPIS_S_TLS_NO_SNI), "tls_no_sni");
	assert_string_equal(stat_name(TAPIS_S_TLS_ECH), "tls_ech");
	assert_string_equal(stat_name(TAPIS_S_HTTP_NO_HOST), "http_no_host");
	assert_string_equal(stat_name(TAPIS_S_HTTP_IP_HOST), "http_ip_host");
	assert_string_equal(stat_name(TAPIS_S_ANSWER_HEAD), "answer_head");
	assert_string_equal(stat_name(TAPIS_S_ANSWER_ERR), "answer_err");
}

static void test_kind_names(void **state)
{
	(void)state;
	check_table("kind", kind_name, TAPIS_KIND_NET, TAPIS_KIND_MAX);
	assert_string_equal(kind_name(TAPIS_KIND_NET), "net");
	assert_string_equal(kind_name(TAPIS_KIND_DNS), "dns");
	assert_string_equal(kind_name(TAPIS_KIND_TLS), "tls");
	assert_string_equal(kind_name(TAPIS_KIND_HTTP), "http");
	assert_string_equal(kind_name(TAPIS_KIND_FLOW), "flow");
}

/* Every pinned map has its name, so open and unpin miss none. */
static void test_map_names(void **state)
{
	(void)state;
	for (int i = 0; i < M__COUNT; i++) {
		if (!tapis_map_names[i])
			fail_msg("map %d has no name", i);
		assert_int_equal(strncmp(tapis_map_names[i], "tapis_", 6), 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(tapis_map_names[i], tapis_map_names[j]);
	}
	assert_string_equal(tapis_map_names[M_FLOWS], "tapis_flows");
	assert_string_equal(tapis_map_names[M_L7_NAMES], "tapis_l7_names");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_stat_names),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_map_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
