// SPDX-License-Identifier: GPL-2.0
/*
 * test_watch.c - what `tapis watch` reacts to: a policy written in place or
 * replaced by rename (as editors and deploy tools do), a list file in
 * another directory, SIGHUP and SIGTERM; and what it ignores: other files
 * beside the policy. A burst of writes is one change.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
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
#include "../../user/lib/watch.h"

static const char *path(const char *rel)
{
	static char buf[4][160];
	static int k;
	char *b = buf[k++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", dir, rel);
	return b;
}

static void put(const char *rel, const char *text)
{
	FILE *f = fopen(path(rel), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_events(void **state)
{
	const char *files[2];
	struct watcher w;
	char pol[160], lst[160];

	(void)state;
	put("policy.yaml", "version: 1\n");
	assert_int_equal(mkdir(path("lists"), 0755), 0);
	put("lists/a.txt", "a.example\n");
	snprintf(pol, sizeof(pol), "%s", path("policy.yaml"));
	snprintf(lst, sizeof(lst), "%s", path("lists/a.txt"));
	files[0] = pol;
	files[1] = lst;
	assert_int_equal(watcher_open(&w, 50), 0);
	assert_int_equal(watcher_set(&w, files, 2), 0);

	assert_int_equal(watcher_wait(&w, 100), 0); /* nothing yet */

	put("policy.yaml", "version: 1\nrules: []\n"); /* in place */
	assert_int_equal(watcher_wait(&w, 2000), WATCH_CHANGED);

	put("policy.yaml.tmp", "version: 1\n"); /* an editor's save: write, rename */
	assert_int_equal(rename(path("policy.yaml.tmp"), pol), 0);
	assert_int_equal(watcher_wait(&w, 2000), WATCH_CHANGED);
	assert_int_equal(watcher_wait(&w, 150), 0); /* one event for the whole save */

	put("lists/a.txt", "b.example\n");
	assert_int_equal(watcher_wait(&w, 2000), WATCH_CHANGED);

	put("unrelated.txt", "x\n");
	put("lists/other.txt", "x\n");
	assert_int_equal(watcher_wait(&w, 200), 0);

	for (int i = 0; i < 5; i++)
		put("lists/a.txt", "c.example\n");
	assert_int_equal(watcher_wait(&w, 2000), WATCH_CHANGED);
	assert_int_equal(watcher_wait(&w, 150), 0);

	assert_int_equal(unlink(lst), 0); /* a list removed is a change too */
	assert_int_equal(watcher_wait(&w, 2000), WATCH_CHANGED);

	raise(SIGHUP);
	assert_int_equal(watcher_wait(&w, 2000), WATCH_HUP);
	raise(SIGTERM);
	assert_int_equal(watcher_wait(&w, 2000), WATCH_STOP);
	watcher_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
