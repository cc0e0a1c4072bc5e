// SPDX-License-Identifier: GPL-2.0
/*
 * test_hostname.c - normalisation and the shared hostname hash.
 *
 * The hash checks use the label hash written out here, not the ABI header,
 * so a change to tapis_abi.h that breaks the published definition fails.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../user/lib/hostname.h"
#include "../../bpf/tapis_abi.h"

static uint64_t ref_mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The published definition, written out independently: each label's wire
 * form (length byte, lowercased bytes) right-aligned into 8-byte
 * little-endian chunks, folded last chunk first, then added in mixed and
 * weighted by its position from the right. */
static uint64_t ref_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t end = strlen(s);
	unsigned pos = 0;

	while (end > 0) {
		size_t start = end, n, k;
		uint8_t wire[72] = {0}; /* 8 bytes of padding, then the label */
		uint64_t acc = 0;

		while (start > 0 && s[start - 1] != '.')
			start--;
		n = end - start + 1;
		wire[8] = (uint8_t)(end - start);
		for (size_t i = start; i < end; i++) {
			unsigned char c = (unsigned char)s[i];

			wire[9 + i - start] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
		}
		for (k = 0; 8 * k < n; k++) {
			uint64_t w = 0;

			for (int b = 0; b < 8; b++) {
				long at = (long)n - 8 * ((long)k + 1) + b;

				w |= (uint64_t)(at < 0 ? 0 : wire[8 + at]) << (8 * b);
			}
			acc = ref_mix(acc) ^ w;
		}
		h += ref_mix(acc) * (2 * (uint64_t)++pos + 1);
		end = start ? start - 1 : 0;
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
	static const char *const names[] = {
		"a",
		"com",
		"example.com",
		"www.example.com",
		"abcdefg.h",
		"abcdefgh.i",
		"abcdefghijklmno.p",
		"abcdefghijklmnop.q",
		"a23456789012345678901234567890123456789012345678901234567890123.x.y",
		"img.static.cdn.best-2509.com",
		"_dmarc.x-y.z_"};

	(void)state;
	assert_true(hostname_hash("") == TAPIS_HASH_INIT);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_true(hostname_hash(names[i]) == ref_hash(names[i]));
	/* "com" is one chunk: length byte 3, then c, o, m at the top. */
	assert_true(hostname_hash("com") == TAPIS_HASH_INIT + ref_mix(0x6d6f630300000000ULL) * 3);
	/* The data path lowercases as it hashes. */
	assert_true(hostname_hash("WWW.Example.COM") == hostname_hash("www.example.com"));
	assert_true(hostname_hash("example.com") != hostname_hash("example.org"));
	assert_true(hostname_hash("ab") != hostname_hash("ba"));
	/* Label boundaries, lengths and positions all count. */
	assert_true(hostname_hash("ab.c") != hostname_hash("a.bc"));
	assert_true(hostname_hash("a.b") != hostname_hash("b.a"));
	assert_true(hostname_hash("a.a") != hostname_hash("a"));
	assert_true(hostname_hash("abcdefgh.x") != hostname_hash("abcdefg.hx"));
	assert_true(hostname_hash("x.abcdefgh") != hostname_hash("xabcdefgh"));
	assert_true(hostname_hash("com.com") != hostname_hash("com"));
}

/* Known answers: digests computed once (by hostname_hash and, separately,
 * by a Python transcription of the definition in tapis_abi.h) and written
 * here as literals. The XDP side is held to hostname_hash by
 * tests/bpf/test_hash.c; these hold both to a fixed definition, so a change
 * of the hash on both sides at once fails here. */
static void test_hash_known_answers(void **state)
{
	static const struct {
		const char *name;
		uint64_t digest;
	} kat[] = {
		{"", 0xcbf29ce484222325ULL},
		{"com", 0xdc85ffc3bdaea214ULL},
		{"example.com", 0x2caf087552d05723ULL},
		{"www.example.com", 0x0fe816304ed5ddd7ULL},
		{"WWW.Example.COM", 0x0fe816304ed5ddd7ULL},
		{"t.me", 0x14ab3770e64527c0ULL},
		{"abcdefghijklmno.p", 0xaa951de253f8a761ULL},
		{"xn--e1afmkfd.xn--p1ai", 0x3afa19b6f7a1c446ULL},
		{"a23456789012345678901234567890123456789012345678901234567890123.x.y",
		 0xf8b15e94d8fc452fULL},
		{"img.static.cdn.best-2509.com", 0xe8cc750280566749ULL},
	};
	uint64_t h[TAPIS_MAX_LABELS];

	(void)state;
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		uint64_t got = hostname_hash(kat[i].name);

		if (got != kat[i].digest)
			fail_msg("hostname_hash(\"%s\") = 0x%016llx, want 0x%016llx", kat[i].name,
				 (unsigned long long)got, (unsigned long long)kat[i].digest);
	}
	/* The suffix keys the XDP side looks up, longest first. */
	assert_int_equal(hostname_suffix_hashes("www.example.com", h, TAPIS_MAX_LABELS), 3);
	assert_true(h[0] == 0x0fe816304ed5ddd7ULL);
	assert_true(h[1] == 0x2caf087552d05723ULL);
	assert_true(h[2] == 0xdc85ffc3bdaea214ULL);
}

/* Keys of many near-identical names: all distinct, and their bits look
 * random (each bit set in about half of them). */
static void test_hash_spread(void **state)
{
	enum { N = 20000 };
	static uint64_t keys[N];
	unsigned ones[64] = {0};
	char name[64];

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "%c%d.w%d.example.com", 'a' + i % 26, i / 26, i % 7);
		keys[i] = hostname_hash(name);
		for (int b = 0; b < 64; b++)
			ones[b] += (keys[i] >> b) & 1;
	}
	for (int b = 0; b < 64; b++)
		assert_true(ones[b] > N / 2 - N / 20 && ones[b] < N / 2 + N / 20);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			assert_true(keys[i] != keys[j]);
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
	assert_true(h[1] == ref_hash("example.com"));

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
		cmocka_unit_test(test_hash_known_answers),
		cmocka_unit_test(test_hash_spread),
		cmocka_unit_test(test_suffix_hashes),
		cmocka_unit_test(test_suffix_hashes_max_labels),
		cmocka_unit_test(test_normalized_hash_matches_wire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
