/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test.h - the smallest test framework the packet tests need.
 *
 * A test is `static bool test_x(void)` returning true on success. The
 * ASSERT_* macros print "file:line: message (got X, want Y)" to stderr and
 * return false from the function they are in, so a helper returning bool can
 * use them too. The message is optional printf text; without it the
 * asserted expression is printed. SKIP("why") ends a test as skipped.
 * SKIP_MISSING("why") is the skip for want of something CI provides (the
 * shared corpus, root, a tool `make deps` installs): with TAPIS_STRICT=1 in
 * the environment (.ci/run) it fails the test instead. A test that runs many cases calls
 * test_cases(n), and its ok line says "(n cases)".
 *
 *	static bool test_parse(void) { ASSERT_EQ(v.dport, 53, "port"); return true; }
 *	static const struct test_case tests[] = { TEST(test_parse), };
 *	TEST_MAIN(tests)
 *
 * The runner prints TAP ("1..N", "ok 1 - test_parse", "not ok 2 - ...",
 * "ok 3 - x # SKIP why") and last, alone on its line, "N passed, N failed"
 * (", N skipped" when any), counting test functions. It exits 1 if a test
 * failed. Arguments, if any,
 * are substrings: only tests whose name contains one of them run.
 */
#ifndef TAPIS_TEST_H
#define TAPIS_TEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
	const char *name;
	bool (*fn)(void);
};

#define TEST(fn)                                                                                   \
	{                                                                                          \
#fn, fn                                                                            \
	}

struct test_state_ {
	unsigned failures; /* assertion failures in the running test */
	bool quiet;	   /* count failures without printing them */
	bool skipped;
	unsigned cases; /* set by test_cases() */
	char skip_reason[200];
};

/* One state for the whole program. The runner (test_run) may be compiled
 * in another file than the tests (fx_main calls it from fixture.c): with a
 * copy per file, as a static inline function would give, a skip or a
 * failure a helper recorded while its test went on never reached the
 * runner, and the test was reported passed. A weak definition in every
 * file that includes this one is merged by the linker into one. */
__attribute__((weak)) struct test_state_ *test_state_(void);
__attribute__((weak)) struct test_state_ *test_state_(void)
{
	static struct test_state_ s;

	return &s;
}

__attribute__((format(printf, 5, 6))) static inline void
test_fail_(const char *file, int line, const char *expr, const char *gotwant, const char *fmt, ...)
{
	va_list ap;

	test_state_()->failures++;
	if (test_state_()->quiet)
		return;
	fflush(stdout); /* keep "file:line" after the ok lines before */
	fprintf(stderr, "%s:%d: ", file, line);
	fmt++; /* the \x01 the macros put first */
	if (fmt[0]) {
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	} else {
		fputs(expr, stderr);
	}
	if (gotwant)
		fprintf(stderr, " (%s)", gotwant);
	fputc('\n', stderr);
	fflush(stderr);
}

static inline const char *test_gotwant_ll_(char *b, size_t n, long long got, long long want)
{
	if ((got < 0 || got > 9) || (want < 0 || want > 9))
		snprintf(b, n, "got %lld [0x%llx], want %lld [0x%llx]", got,
			 (unsigned long long)got, want, (unsigned long long)want);
	else
		snprintf(b, n, "got %lld, want %lld", got, want);
	return b;
}

/* `"\x01" __VA_ARGS__` makes the message optional and forces it to be a
 * string literal, which keeps printf format checking. */
#define ASSERT_TRUE(cond, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			test_fail_(__FILE__, __LINE__, #cond, NULL, "\x01" __VA_ARGS__);           \
			return false;                                                              \
		}                                                                                  \
	} while (0)

#define ASSERT_FALSE(cond, ...) ASSERT_TRUE(!(cond), __VA_ARGS__)

/* Integers of any type, compared and printed as long long. */
#define ASSERT_CMP_(a, op, b, ...)                                                                 \
	do {                                                                                       \
		long long test_a_ = (long long)(a);                                                \
		long long test_b_ = (long long)(b);                                                \
		char test_gw_[96];                                                                 \
		if (!(test_a_ op test_b_)) {                                                       \
			test_fail_(__FILE__, __LINE__, #a " " #op " " #b,                          \
				   test_gotwant_ll_(test_gw_, sizeof(test_gw_), test_a_, test_b_), \
				   "\x01" __VA_ARGS__);                                            \
			return false;                                                              \
		}                                                                                  \
	} while (0)

#define ASSERT_EQ(a, b, ...) ASSERT_CMP_(a, ==, b, __VA_ARGS__)
#define ASSERT_NE(a, b, ...) ASSERT_CMP_(a, !=, b, __VA_ARGS__)
#define ASSERT_LT(a, b, ...) ASSERT_CMP_(a, <, b, __VA_ARGS__)
#define ASSERT_LE(a, b, ...) ASSERT_CMP_(a, <=, b, __VA_ARGS__)
#define ASSERT_GT(a, b, ...) ASSERT_CMP_(a, >, b, __VA_ARGS__)
#define ASSERT_GE(a, b, ...) ASSERT_CMP_(a, >=, b, __VA_ARGS__)
/* 0 expected; a negative return is shown with its errno name text. */
#define ASSERT_OK(expr, ...)                                                                       \
	do {                                                                                       \
		long long test_r_ = (long long)(expr);                                             \
		char test_gw_[160];                                                                \
		if (test_r_ != 0) {                                                                \
			snprintf(test_gw_, sizeof(test_gw_), "got %lld%s%s, want 0", test_r_,      \
				 test_r_ < 0 ? " " : "",                                           \
				 test_r_ < 0 && test_r_ > -4096 ? strerror((int)-test_r_) : "");   \
			test_fail_(__FILE__, __LINE__, #expr, test_gw_, "\x01" __VA_ARGS__);       \
			return false;                                                              \
		}                                                                                  \
	} while (0)

#define ASSERT_STREQ(a, b, ...)                                                                    \
	do {                                                                                       \
		const char *test_a_ = (a), *test_b_ = (b);                                         \
		char test_gw_[600];                                                                \
		if (!test_a_ || !test_b_ || strcmp(test_a_, test_b_)) {                            \
			snprintf(test_gw_, sizeof(test_gw_), "got \"%.250s\", want \"%.250s\"",    \
				 test_a_ ? test_a_ : "(null)", test_b_ ? test_b_ : "(null)");      \
			test_fail_(__FILE__, __LINE__, #a " == " #b, test_gw_,                     \
				   "\x01" __VA_ARGS__);                                            \
			return false;                                                              \
		}                                                                                  \
	} while (0)

/* Byte strings; the first differing offset is reported. */
#define ASSERT_MEMEQ(a, b, len, ...)                                                               \
	do {                                                                                       \
		const unsigned char *test_a_ = (const void *)(a);                                  \
		const unsigned char *test_b_ = (const void *)(b);                                  \
		size_t test_n_ = (len), test_i_;                                                   \
		char test_gw_[96];                                                                 \
		for (test_i_ = 0; test_i_ < test_n_; test_i_++)                                    \
			if (test_a_[test_i_] != test_b_[test_i_])                                  \
				break;                                                             \
		if (test_i_ < test_n_) {                                                           \
			snprintf(test_gw_, sizeof(test_gw_), "byte %zu: got 0x%02x, want 0x%02x",  \
				 test_i_, test_a_[test_i_], test_b_[test_i_]);                     \
			test_fail_(__FILE__, __LINE__, #a " == " #b, test_gw_,                     \
				   "\x01" __VA_ARGS__);                                            \
			return false;                                                              \
		}                                                                                  \
	} while (0)

/* Is this a strict run (TAPIS_STRICT=1), where nothing CI can run may skip? */
static inline bool test_strict(void)
{
	const char *v = getenv("TAPIS_STRICT");

	return v && !strcmp(v, "1");
}

/* How many cases the running test checked, for its ok line. */
static inline void test_cases(unsigned n)
{
	test_state_()->cases = n;
}

#define SKIP_MISSING(...)                                                                          \
	do {                                                                                       \
		if (test_strict()) {                                                               \
			test_fail_(__FILE__, __LINE__, "skip", "TAPIS_STRICT=1: may not skip",     \
				   "\x01" __VA_ARGS__);                                            \
			return false;                                                              \
		}                                                                                  \
		SKIP(__VA_ARGS__);                                                                 \
	} while (0)

#define SKIP(...)                                                                                  \
	do {                                                                                       \
		snprintf(test_state_()->skip_reason, sizeof(test_state_()->skip_reason),           \
			 "\x01" __VA_ARGS__);                                                      \
		test_state_()->skipped = true;                                                     \
		return true;                                                                       \
	} while (0)

static inline bool test_selected_(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return true;
	for (i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

static inline int test_run(const struct test_case *t, size_t n, int argc, char **argv)
{
	unsigned pass = 0, fail = 0, skip = 0, num = 0;
	size_t i;

	for (i = 0; i < n; i++)
		num += test_selected_(t[i].name, argc, argv);
	printf("1..%u\n", num);
	num = 0;
	for (i = 0; i < n; i++) {
		struct test_state_ *s = test_state_();
		bool ok;

		if (!test_selected_(t[i].name, argc, argv))
			continue;
		memset(s, 0, sizeof(*s));
		fflush(stdout);
		/* a helper may have failed and the test gone on */
		ok = t[i].fn() && !s->failures;
		num++;
		if (ok && s->skipped) {
			skip++;
			printf("ok %u - %s # SKIP%s%s\n", num, t[i].name,
			       s->skip_reason[1] ? " " : "", s->skip_reason + 1);
		} else if (ok && s->cases) {
			pass++;
			printf("ok %u - %s (%u cases)\n", num, t[i].name, s->cases);
		} else if (ok) {
			pass++;
			printf("ok %u - %s\n", num, t[i].name);
		} else {
			fail++;
			printf("not ok %u - %s\n", num, t[i].name);
		}
		fflush(stdout);
	}
	if (skip)
		printf("%u passed, %u failed, %u skipped\n", pass, fail, skip);
	else
		printf("%u passed, %u failed\n", pass, fail);
	return fail ? 1 : 0;
}

#define TEST_MAIN(table)                                                                           \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		return test_run(table, sizeof(table) / sizeof(table[0]), argc, argv);              \
	}

#endif /* TAPIS_TEST_H */
