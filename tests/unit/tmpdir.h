/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tmpdir.h - a temporary directory for the unit tests that write files:
 * made before the group (tmpdir_setup), removed with all the tests left in
 * it after (tmpdir_teardown), as cmocka group fixtures. The path is in dir.
 */
#ifndef TAPIS_TEST_TMPDIR_H
#define TAPIS_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char dir[64];

static int tmpdir_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tapis-unit.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int tmpdir_teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif /* TAPIS_TEST_TMPDIR_H */
