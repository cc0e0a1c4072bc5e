// SPDX-License-Identifier: GPL-2.0
/*
 * test_rpz.c - Response Policy Zones read as host entries: each verdict,
 * wildcards, records of one trigger merged, and the FILE:LINE of every
 * refusal an operator would have to fix.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"
#include "../../user/lib/rpz.h"

static char *diag_buf;
static size_t diag_len;

static const char *write_zone(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Read text as a zone; diagnostics land in diag_buf. */
static int read_text(const char *text, bool skip, struct rpz_zone *z)
{
	const char *p = write_zone("t.rpz", text);
	FILE *d = open_memstream(&diag_buf, &diag_len);
	int ret;

	assert_non_null(d);
	ret = rpz_read(p, "t.rpz", d, skip, z);
	fclose(d);
	return ret;
}

static const struct rpz_entry *find(const struct rpz_zone *z, const char *name, enum host_kind k)
{
	for (size_t i = 0; i < z->n; i++)
		if (!strcmp(z->v[i].name, name) && z->v[i].kind == k)
			return &z->v[i];
	return NULL;
}

static const char head[] = "$TTL 300\n"
			   "$ORIGIN rpz.example.\n"
			   "@ IN SOA ns.rpz.example. admin.rpz.example. 1 3600 600 86400 300\n"
			   "  IN NS ns.rpz.example.\n";

static void test_verdicts(void **state)
{
	struct rpz_zone z;
	const struct rpz_entry *e;
	char text[2048];

	(void)state;
	snprintf(text, sizeof(text),
		 "%s"
		 "nx.example.com CNAME .\n"
		 "*.nx.example.com CNAME .\n"
		 "nodata.example.com CNAME *.\n"
		 "dropped.example.com CNAME rpz-drop.\n"
		 "ok.example.com CNAME rpz-passthru.\n"
		 "Sink.Example.Com A 198.18.9.9\n"
		 "sink.example.com AAAA 2001:db8::9\n"
		 "sink.example.com TXT \"blocked\"\n"
		 "abs.example.org.rpz.example. CNAME .\n",
		 head);
	assert_int_equal(read_text(text, false, &z), 0);
	assert_string_equal(z.apex, "rpz.example.");
	assert_int_equal(z.n, 7);
	e = find(&z, "nx.example.com", HOST_EXACT);
	assert_non_null(e);
	assert_int_equal(e->verdict, RPZ_NXDOMAIN);
	assert_int_equal(rpz_action(e->verdict), TAPIS_ACT_REJECT);
	assert_int_equal(e->line, 5);
	e = find(&z, "nx.example.com", HOST_WILDCARD);
	assert_non_null(e);
	assert_int_equal(e->verdict, RPZ_NXDOMAIN);
	e = find(&z, "nodata.example.com", HOST_EXACT);
	assert_non_null(e);
	assert_int_equal(rpz_action(e->verdict), TAPIS_ACT_REJECT);
	e = find(&z, "dropped.example.com", HOST_EXACT);
	assert_non_null(e);
	assert_int_equal(rpz_action(e->verdict), TAPIS_ACT_DROP);
	e = find(&z, "ok.example.com", HOST_EXACT);
	assert_non_null(e);
	assert_int_equal(rpz_action(e->verdict), TAPIS_ACT_ALLOW);
	/* Three records, one trigger: merged, both addresses kept, case folded. */
	e = find(&z, "sink.example.com", HOST_EXACT);
	assert_non_null(e);
	assert_int_equal(rpz_action(e->verdict), TAPIS_ACT_SINKHOLE);
	assert_true(e->has_v4 && e->has_v6);
	assert_memory_equal(e->v4, ((uint8_t[]){198, 18, 9, 9}), 4);
	assert_int_equal(e->v6[0], 0x20);
	assert_int_equal(e->v6[15], 0x09);
	assert_non_null(find(&z, "abs.example.org", HOST_EXACT));
	assert_int_equal(z.per_verdict[RPZ_NXDOMAIN], 3);
	assert_int_equal(z.per_verdict[RPZ_LOCAL_DATA], 1);
	assert_int_equal(diag_len, 0);
	rpz_free(&z);
	free(diag_buf);
}

/* The SOA owner is the apex even without $ORIGIN; an IDN trigger is stored
 * as its A-label. */
static void test_no_origin(void **state)
{
	struct rpz_zone z;
	int ret;

	(void)state;
	ret = read_text("feed.test. 300 IN SOA ns. h. 1 1 1 1 1\n"
			"bad.example.feed.test. 300 CNAME .\n"
			"bücher.example.feed.test. 300 CNAME rpz-drop.\n",
			false, &z);

	if (ret)
		fail_msg("read failed: %s", diag_buf);
	assert_string_equal(z.apex, "feed.test.");
	assert_non_null(find(&z, "bad.example", HOST_EXACT));
	assert_non_null(find(&z, "xn--bcher-kva.example", HOST_EXACT));
	rpz_free(&z);
	free(diag_buf);
}

/* A zone file that leaves its origin to the resolver's configuration
 * ("@" with no $ORIGIN): its relative names are the triggers. */
static void test_origin_from_config(void **state)
{
	struct rpz_zone z;
	int ret;

	(void)state;
	ret = read_text("$TTL 300\n"
			"@ SOA localhost. admin.localhost. 1 3600 600 86400 300\n"
			"  NS localhost.\n"
			"bad.example CNAME .\n"
			"*.bad.example CNAME rpz-drop.\n",
			false, &z);
	if (ret)
		fail_msg("read failed: %s", diag_buf);
	assert_string_equal(z.apex, ".");
	assert_int_equal(z.n, 2);
	assert_non_null(find(&z, "bad.example", HOST_EXACT));
	assert_non_null(find(&z, "bad.example", HOST_WILDCARD));
	rpz_free(&z);
	free(diag_buf);
}

/* A feed of resolver-only triggers: RPZ_MAX_MSGS messages, then a count. */
static void test_message_cap(void **state)
{
	size_t n = sizeof(head) + 150 * 40;
	char *text = malloc(n), *p = text;
	struct rpz_zone z;

	(void)state;
	assert_non_null(text);
	p += sprintf(p, "%sok.example CNAME .\n", head);
	for (int i = 0; i < 150; i++)
		p += sprintf(p, "32.%d.2.18.198.rpz-ip CNAME .\n", i);
	assert_int_equal(read_text(text, true, &z), 0);
	assert_int_equal(z.n, 1);
	assert_int_equal(z.skipped, 150);
	assert_non_null(strstr(diag_buf, "t.rpz:105: warning: rpz-ip"));
	assert_null(strstr(diag_buf, "t.rpz:106:"));
	assert_non_null(strstr(diag_buf, "t.rpz: warning: 50 more refused records not shown"));
	rpz_free(&z);
	free(diag_buf);
	free(text);
}

static void expect_error(const char *body, const char *where, const char *words)
{
	struct rpz_zone z;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", head, body);
	assert_int_equal(read_text(text, false, &z), -EINVAL);
	if (!strstr(diag_buf, where) || !strstr(diag_buf, words))
		fail_msg("expected '%s' and '%s' in: %s", where, words, diag_buf);
	rpz_free(&z);
	free(diag_buf);
}

static void test_refusals(void **state)
{
	(void)state;
	expect_error("ok.example.com CNAME .\n32.1.2.18.198.rpz-ip CNAME .\n",
		     "t.rpz:6: error:", "rpz-ip triggers are not supported");
	expect_error("ns.evil.rpz-nsdname CNAME .\n", "t.rpz:5: error:", "rpz-nsdname");
	expect_error("a.example CNAME walled.garden.example.\n",
		     "t.rpz:5: error:", "has no tapis verdict");
	expect_error("a.example CNAME rpz-tcp-only.\n", "t.rpz:5: error:", "rpz-tcp-only");
	expect_error("a.example CNAME .\nb.example A 198.18.0.1\na.example CNAME rpz-drop.\n",
		     "t.rpz:7: error:", "two verdicts: nxdomain (line 5) and drop");
	expect_error("* CNAME .\n", "t.rpz:5: error:", "every name");
	expect_error("a.example CNAME .\nb.example FOO bar\n", "t.rpz:6: error:", "");
	expect_error("other.zone. CNAME .\n",
		     "t.rpz:5: error:", "not inside the zone rpz.example.");
	expect_error("$INCLUDE other.rpz\n", "t.rpz:5: error:", "$INCLUDE is not supported");
	expect_error("bad_name!.example CNAME .\n", "t.rpz:5: error:", "invalid trigger");
	/* What the policy's one host-pattern parser refuses, a trigger is
	 * refused for too. */
	expect_error("198.18.0.1 CNAME .\n", "t.rpz:5: error:", "is an address");
	expect_error("*.198.18.0.300 CNAME rpz-drop.\n", "t.rpz:5: error:", "all digits");
	expect_error("a\\.b.example CNAME .\n", "t.rpz:5: error:", "escaped dot");
}

/* A hosts file or a plain list given as a zone: one clear message. */
static void test_not_a_zone(void **state)
{
	struct rpz_zone z;

	(void)state;
	assert_int_equal(read_text("# my list\n0.0.0.0 ads.example.com\n", false, &z), -EINVAL);
	assert_non_null(strstr(diag_buf, "t.rpz:"));
	assert_non_null(strstr(diag_buf, "error:"));
	rpz_free(&z);
	free(diag_buf);
	assert_int_equal(read_text("\n", false, &z), -EINVAL);
	assert_non_null(strstr(diag_buf, "no SOA record"));
	rpz_free(&z);
	free(diag_buf);
}

/* on_error: skip keeps the good triggers and warns for each bad one. */
static void test_skip(void **state)
{
	struct rpz_zone z;
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "%s%s", head,
		 "a.example CNAME .\n"
		 "1.0.18.198.rpz-client-ip CNAME .\n"
		 "b.example CNAME rpz-drop.\n");
	assert_int_equal(read_text(text, true, &z), 0);
	assert_int_equal(z.n, 2);
	assert_int_equal(z.skipped, 1);
	assert_non_null(strstr(diag_buf, "t.rpz:6: warning:"));
	assert_non_null(strstr(diag_buf, "skipped"));
	rpz_free(&z);
	free(diag_buf);
}

static void test_not_regular(void **state)
{
	struct rpz_zone z;
	char path[128];
	FILE *d;

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* Without a writer, a blocking open would never return. */
	d = open_memstream(&diag_buf, &diag_len);
	assert_int_equal(rpz_read(path, "fifo", d, false, &z), -EINVAL);
	fclose(d);
	assert_non_null(strstr(diag_buf, "fifo: error: not a regular file"));
	rpz_free(&z);
	free(diag_buf);
	unlink(path);
	d = open_memstream(&diag_buf, &diag_len);
	assert_int_equal(rpz_read(dir, "somedir", d, false, &z), -EINVAL);
	fclose(d);
	assert_non_null(strstr(diag_buf, "somedir: error: not a regular file"));
	rpz_free(&z);
	free(diag_buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_no_origin),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_not_a_zone),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_origin_from_config),
		cmocka_unit_test(test_message_cap),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
