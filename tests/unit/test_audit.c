// SPDX-License-Identifier: GPL-2.0
/*
 * test_audit.c - the audit log as an auditor reads it: one valid JSON line
 * per change with who, what and when; the file and its directory not
 * world-readable; records found again by rule and by time; the policy
 * digest a known SHA-256.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tmpdir.h"
#include "../../user/lib/audit.h"

static char logp[128];

static const char *str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static int collect(struct json_object *rec, void *arg)
{
	struct json_object *arr = arg;

	json_object_array_add(arr, json_object_get(rec));
	return 0;
}

static void test_write_read(void **state)
{
	struct audit_event ev = {.command = "load",
				 .policy = "/etc/tapis/policy.yaml",
				 .digest = "sha256:00",
				 .added = 12};
	struct json_object *arr = json_object_new_array(), *last, *fin;
	struct stat st;
	char line[4096];
	FILE *f;
	int n = 0;

	(void)state;
	assert_int_equal(audit_write(logp, &ev), 0);
	ev = (struct audit_event){.command = "host add",
				  .rule = "court-order-7",
				  .reference = "Court X, 2026-12-01",
				  .entry = "bad.example",
				  .added = 1};
	assert_int_equal(audit_write(logp, &ev), 0);
	fin = json_object_new_object();
	json_object_object_add(fin, "rules_removed", json_object_new_array());
	json_object_array_add(json_object_object_get(fin, "rules_removed"),
			      json_tokener_parse("{\"name\":\"old-order\",\"packets\":42}"));
	ev = (struct audit_event){.command = "reload", .removed = 3, .extra = fin, .result = NULL};
	assert_int_equal(audit_write(logp, &ev), 0);

	/* Modes: the log and the directory it made are not for everyone. */
	assert_int_equal(stat(logp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	snprintf(line, sizeof(line), "%s/sub", dir);
	assert_int_equal(stat(line, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);

	/* Each line is a JSON object of its own. */
	f = fopen(logp, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		struct json_object *o = json_tokener_parse(line);

		assert_non_null(o);
		assert_non_null(str(o, "time"));
		assert_string_equal(str(o, "user"), "root");
		assert_string_equal(str(o, "result"), "ok");
		json_object_put(o);
		n++;
	}
	fclose(f);
	assert_int_equal(n, 3);

	/* By rule: the edit names it; a lifted rule is found in rules_removed. */
	assert_int_equal(audit_read(logp, "court-order-7", 0, collect, arr), 0);
	assert_int_equal(json_object_array_length(arr), 1);
	assert_string_equal(str(json_object_array_get_idx(arr, 0), "entry"), "bad.example");
	assert_string_equal(str(json_object_array_get_idx(arr, 0), "reference"),
			    "Court X, 2026-12-01");
	json_object_put(arr);
	arr = json_object_new_array();
	assert_int_equal(audit_read(logp, "old-order", 0, collect, arr), 0);
	assert_int_equal(json_object_array_length(arr), 1);
	assert_string_equal(str(json_object_array_get_idx(arr, 0), "command"), "reload");
	json_object_put(arr);

	/* By time: nothing is from the future, everything from the last hour. */
	arr = json_object_new_array();
	assert_int_equal(audit_read(logp, NULL, time(NULL) + 3600, collect, arr), 0);
	assert_int_equal(json_object_array_length(arr), 0);
	assert_int_equal(audit_read(logp, NULL, time(NULL) - 3600, collect, arr), 0);
	assert_int_equal(json_object_array_length(arr), 3);
	json_object_put(arr);

	last = audit_last(logp);
	assert_non_null(last);
	assert_string_equal(str(last, "command"), "reload");
	json_object_put(last);
}

/* A torn or foreign line is skipped, not fatal; a missing log is ENOENT. */
static void test_bad_lines(void **state)
{
	struct json_object *arr = json_object_new_array(), *last;
	char p[160];
	FILE *f;

	(void)state;
	snprintf(p, sizeof(p), "%s/mixed.log", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("{\"command\":\"load\",\"unix\":1}\nnot json\n{\"command\":\"unl", f);
	fclose(f);
	assert_int_equal(audit_read(p, NULL, 0, collect, arr), 0);
	assert_int_equal(json_object_array_length(arr), 1);
	json_object_put(arr);
	last = audit_last(p);
	assert_non_null(last);
	assert_string_equal(str(last, "command"), "load");
	json_object_put(last);
	snprintf(p, sizeof(p), "%s/none.log", dir);
	assert_int_equal(audit_read(p, NULL, 0, collect, NULL), -ENOENT);
	assert_null(audit_last(p));
}

static void test_digest(void **state)
{
	char p[160], d[72];
	FILE *f;

	(void)state;
	snprintf(p, sizeof(p), "%s/abc", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("abc", f);
	fclose(f);
	assert_int_equal(audit_digest(p, d), 0);
	assert_string_equal(
		d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(audit_digest(dir, d), -EINVAL);
}

/* The last load or reload of one pin path, failed ones included, found
 * from the end of the log past later edits and other filters' records. */
static void test_last_apply(void **state)
{
	struct audit_event ev = {.command = "load", .pin_path = "/sys/fs/bpf/tapis"};
	struct audit_apply a;
	char p[160];
	FILE *f;

	(void)state;
	snprintf(p, sizeof(p), "%s/apply.log", dir);
	assert_int_equal(audit_last_apply(p, "/sys/fs/bpf/tapis", &a), -ENOENT);
	assert_int_equal(audit_write(p, &ev), 0);
	assert_int_equal(audit_last_apply(p, "/sys/fs/bpf/tapis", &a), 0);
	assert_true(a.ok);
	assert_false(a.reload);
	assert_true(a.unix > 1700000000);

	ev = (struct audit_event){.command = "reload",
				  .pin_path = "/sys/fs/bpf/tapis",
				  .result = "failed: policy refused"};
	assert_int_equal(audit_write(p, &ev), 0);
	ev = (struct audit_event){.command = "host add", .pin_path = "/sys/fs/bpf/tapis"};
	assert_int_equal(audit_write(p, &ev), 0);
	ev = (struct audit_event){.command = "reload", .pin_path = "/run/other/tapis"};
	assert_int_equal(audit_write(p, &ev), 0);
	assert_int_equal(audit_last_apply(p, "/sys/fs/bpf/tapis", &a), 0);
	assert_false(a.ok);
	assert_true(a.reload);
	assert_int_equal(audit_last_apply(p, "/run/other/tapis", &a), 0);
	assert_true(a.ok);
	assert_int_equal(audit_last_apply(p, "/nowhere", &a), -ENOENT);

	/* A window that starts inside a line does not take that part for a
	 * record: a log of a load followed by more than TAPIS_AUDIT_SCAN bytes
	 * of edits has nothing within reach. */
	snprintf(p, sizeof(p), "%s/long.log", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("{\"command\":\"load\",\"pin_path\":\"/x\",\"unix\":5}\n", f);
	for (unsigned i = 0; i < TAPIS_AUDIT_SCAN / 32; i++)
		fprintf(f, "{\"command\":\"host add\",\"pin_path\":\"/x\",\"unix\":%12u}\n", i);
	fclose(f);
	assert_int_equal(audit_last_apply(p, "/x", &a), -ENOENT);
}

static int setup(void **state)
{
	if (tmpdir_setup(state))
		return -1;
	snprintf(logp, sizeof(logp), "%s/sub/audit.log", dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_last_apply),
	};

	umask(022);
	return cmocka_run_group_tests(tests, setup, tmpdir_teardown);
}
