/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tests/fuzz/fuzz.h - what the fuzz targets share.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput and is linked either with
 * libFuzzer (`make fuzz`) or with replay.c, which feeds it the files named
 * on its command line (the seeds and tests/fuzz/regressions/ in `make
 * test`). A target checks what a user relies on beside "no crash": a value
 * that parses comes back the same when written out and parsed again.
 * FUZZ_CHECK aborts, so that both drivers report the input.
 */
#ifndef TAPIS_FUZZ_H
#define TAPIS_FUZZ_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__,      \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The input as a command-line argument would carry it: up to its first NUL.
 * The harness cannot go on without memory: abort, not a finding. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size);

	FUZZ_CHECK(s);
	return s;
}

/* Diagnostics are formatted (that code runs) and thrown away. */
static inline FILE *fuzz_null(void)
{
	static FILE *null;

	if (!null)
		null = fopen("/dev/null", "w");
	FUZZ_CHECK(null);
	return null;
}

static char fuzz_dir_path[64];

static inline void fuzz_dir_remove(void)
{
	struct dirent *de;
	DIR *d = opendir(fuzz_dir_path);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(fuzz_dir_path);
}

/* A scratch directory of this process for the files a policy names, made
 * once and removed at exit; in memory where /dev/shm is, since every input
 * rewrites its files. */
static inline const char *fuzz_dir(void)
{
	if (!fuzz_dir_path[0]) {
		strcpy(fuzz_dir_path, "/dev/shm/tapis-fuzz.XXXXXX");
		if (!mkdtemp(fuzz_dir_path)) {
			strcpy(fuzz_dir_path, "/tmp/tapis-fuzz.XXXXXX");
			FUZZ_CHECK(mkdtemp(fuzz_dir_path));
		}
		atexit(fuzz_dir_remove);
	}
	return fuzz_dir_path;
}

/* Write (or, with data NULL, remove) fuzz_dir()/name. */
static inline void fuzz_file(const char *name, const void *data, size_t size)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	if (!data) {
		FUZZ_CHECK(unlink(path) == 0 || errno == ENOENT);
		return;
	}
	f = fopen(path, "w");
	FUZZ_CHECK(f);
	FUZZ_CHECK(fwrite(data, 1, size, f) == size || size == 0);
	FUZZ_CHECK(fclose(f) == 0);
}

#endif /* TAPIS_FUZZ_H */
