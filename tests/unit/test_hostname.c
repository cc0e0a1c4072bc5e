// SPDX-License-Identifier: GPL-2.0
/*
 * test_hostname.c - normalisation and the shared hostname hash.
 *
 * The hash checks use an FNV-1a written out here, not the ABI header, so a
 * change to tapis_hash_step() that breaks the published definition fails.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../user/hostname.h"
#include "../../bpf/tapis_abi.h"

static uint64_t ref_hash_reversed(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i = strlen(s);

	while (i > 0) {
		unsigned char c = (unsigned char)s[--i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h ^= c;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void expect_norm(const char *in, const char *want)
{
	char out[TAPIS_HOST_MAX + 1];
	const char *why = NULL;
	int rc = hostname_normalize(in, out, sizeof(out), &why);

	if (rc)
		fail_msg("'%s' rejected: %s", in, why ? why : "(no reason)");
	assert_string_equal(out, want);
	assert_null(why);
}

static void expect_bad(const char *in, const char *why_part)
{
	char out[TAPIS_HOST_MAX + 1];
	const char *why = NULL;
	int rc = hostname_normalize(in, out, sizeof(out), &why);

	if (rc != -EINVAL)
		fail_msg("'%s' accepted as '%s'", in, out);
	assert_non_null(why);
	if (why_part && !strstr(why, why_part))
		fail_msg("'%s': reason '%s' lacks '%s'", in, why, why_part);
}

static void repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

static void test_normalize_case_and_dot(void **state)
{
	(void)state;
	expect_norm("example.com", "example.com");
	expect_norm("WWW.Example.COM", "www.example.com");
	expect_norm("example.com.", "example.com");
	expect_norm("_dmarc.Example.com", "_dmarc.example.com");
	expect_norm("a-b--c.example", "a-b--c.example");
	expect_norm("123.example", "123.example");
	expect_norm("localhost", "localhost");
	expect_bad("example.com..", "empty label");
}

static void test_normalize_unicode(void **state)
{
	(void)state;
	expect_norm("bücher.example", "xn--bcher-kva.example");
	expect_norm("BÜCHER.Example.", "xn--bcher-kva.example");
	expect_norm("пример.рф", "xn--e1afmkfd.xn--p1ai");
	/* IDNA2008 keeps the sharp s; transitional would make it "fass". */
	expect_norm("faß.de", "xn--fa-hia.de");
	/* Disallowed by IDNA2008, still resolvable: the transitional fallback. */
	expect_norm("\xf0\x9f\x98\x80.de", "xn--e28h.de");
	/* An ideographic full stop is a separator, at the end too. */
	expect_norm("bücher\xe3\x80\x82"
		    "example\xe3\x80\x82",
		    "xn--bcher-kva.example");
	expect_norm("xn--bcher-kva.example", "xn--bcher-kva.example");
	expect_bad("\xff\xfe.example", NULL);
	expect_bad("-bücher.example", NULL);
}

static void test_normalize_invalid(void **state)
{
	char label[80], name[300];

	(void)state;
	expect_bad("", "empty");
	expect_bad(".", "empty");
	expect_bad("..", "empty");
	expect_bad(".example.com", "empty label");
	expect_bad("a..b", "empty label");
	expect_bad("exa mple.com", "' '");
	expect_bad("*.example.com", "'*'");
	expect_bad("=example.com", "'='");
	expect_bad("example.com/", "'/'");
	expect_bad("ex\tample.com", "0x09");
	expect_bad("[::1]", "'['");

	repeat(label, 'a', 63);
	snprintf(name, sizeof(name), "%s.example", label);
	expect_norm(name, name);
	repeat(label, 'a', 64);
	snprintf(name, sizeof(name), "%s.example", label);
	expect_bad(name, "63");
}

static void test_normalize_lengths(void **state)
{
	char name[400], out[TAPIS_HOST_MAX + 1];
	const char *why;
	int i;

	(void)state;
	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
	name[0] = '\0';
	for (i = 0; i < 3; i++) {
		memset(name + strlen(name), 'a' + i, 63);
		name[64 * i + 63] = '.';
		name[64 * i + 64] = '\0';
	}
	memset(name + 192, 'z', 61);
	name[253] = '\0';
	expect_norm(name, name);

	/* The trailing dot does not count. */
	name[253] = '.';
	name[254] = '\0';
	assert_int_equal(hostname_normalize(name, out, sizeof(out), &why), 0);
	assert_int_equal(strlen(out), 253);

	name[253] = 'z';
	expect_bad(name, "253");

	/* Too small an output buffer is the caller's bug, not a bad name. */
	assert_int_equal(hostname_normalize("example.com", out, 5, &why), -ENOSPC);
	/* why is optional. */
	assert_int_equal(hostname_normalize("a..b", out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(hostname_normalize("a.b", out, sizeof(out), NULL), 0);
}

static void test_hash_definition(void **state)
{
	(void)state;
	assert_true(hostname_hash("") == TAPIS_HASH_INIT);
	/* Published FNV-1a 64 of "a". */
	assert_true(hostname_hash("a") == 0xaf63dc4c8601ec8cULL);
	assert_true(hostname_hash("example.com") == ref_hash_reversed("example.com"));
	assert_true(hostname_hash("www.example.com") == ref_hash_reversed("www.example.com"));
	/* The data path lowercases as it hashes. */
	assert_true(hostname_hash("WWW.Example.COM") == hostname_hash("www.example.com"));
	assert_true(hostname_hash("example.com") != hostname_hash("example.org"));
	assert_true(hostname_hash("ab") != hostname_hash("ba"));
}

static void test_suffix_hashes(void **state)
{
	uint64_t h[TAPIS_MAX_LABELS];
	int n;

	(void)state;
	n = hostname_suffix_hashes("www.example.com", h, TAPIS_MAX_LABELS);
	assert_int_equal(n, 3);
	assert_true(h[0] == hostname_hash("www.example.com"));
	assert_true(h[1] == hostname_hash("example.com"));
	assert_true(h[2] == hostname_hash("com"));
	assert_true(h[1] == ref_hash_reversed("example.com"));

	n = hostname_suffix_hashes("com", h, TAPIS_MAX_LABELS);
	assert_int_equal(n, 1);
	assert_true(h[0] == hostname_hash("com"));

	assert_int_equal(hostname_suffix_hashes("a.b.c", h, 3), 3);
	assert_int_equal(hostname_suffix_hashes("a.b.c", h, 2), -E2BIG);
	assert_int_equal(hostname_suffix_hashes("", h, 3), -EINVAL);
}

static void test_suffix_hashes_max_labels(void **state)
{
	uint64_t h[TAPIS_MAX_LABELS + 1];
	char name[2 * (TAPIS_MAX_LABELS + 1) + 1];
	int i, n;

	(void)state;
	for (i = 0; i < TAPIS_MAX_LABELS; i++) {
		name[2 * i] = (char)('a' + i % 26);
		name[2 * i + 1] = '.';
	}
	name[2 * TAPIS_MAX_LABELS - 1] = '\0';
	n = hostname_suffix_hashes(name, h, TAPIS_MAX_LABELS);
	assert_int_equal(n, TAPIS_MAX_LABELS);
	for (i = 0; i < n; i++)
		assert_true(h[i] == hostname_hash(name + 2 * i));

	name[2 * TAPIS_MAX_LABELS - 1] = '.';
	name[2 * TAPIS_MAX_LABELS] = 'z';
	name[2 * TAPIS_MAX_LABELS + 1] = '\0';
	assert_int_equal(hostname_suffix_hashes(name, h, TAPIS_MAX_LABELS), -E2BIG);
}

/* The policy side stores normalised names; the data path hashes what it
 * reads off the wire in any case. Both must land on one key. */
static void test_normalized_hash_matches_wire(void **state)
{
	char out[TAPIS_HOST_MAX + 1];
	uint64_t h[TAPIS_MAX_LABELS];

	(void)state;
	assert_int_equal(hostname_normalize("Bücher.Example.", out, sizeof(out), NULL), 0);
	assert_int_equal(hostname_suffix_hashes("WWW.XN--BCHER-KVA.EXAMPLE", h, TAPIS_MAX_LABELS),
			 3);
	assert_true(h[1] == hostname_hash(out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_case_and_dot),
		cmocka_unit_test(test_normalize_unicode),
		cmocka_unit_test(test_normalize_invalid),
		cmocka_unit_test(test_normalize_lengths),
		cmocka_unit_test(test_hash_definition),
		cmocka_unit_test(test_suffix_hashes),
		cmocka_unit_test(test_suffix_hashes_max_labels),
		cmocka_unit_test(test_normalized_hash_matches_wire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
