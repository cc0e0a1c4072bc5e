// SPDX-License-Identifier: GPL-2.0
/*
 * tests/fuzz/replay.c - runs a fuzz target once per file named on the
 * command line (a directory: each file in it), without libFuzzer, so the
 * sanitizer build of `make test` replays the seeds and the regressions.
 * Prints "ok - FILE" per input and "N passed, 0 failed"; an input that
 * breaks the target aborts the process, which the runner counts as failed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static unsigned passed;

static int replay_file(const char *path)
{
	uint8_t *buf = NULL;
	size_t n;
	long len;
	FILE *f = fopen(path, "rb");

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "%s: cannot read\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	/* One byte more than the file, so an empty file is a valid buffer. */
	buf = malloc((size_t)len + 1);
	n = buf ? fread(buf, 1, (size_t)len, f) : 0;
	fclose(f);
	if (!buf || n != (size_t)len) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	printf("ok - %s\n", path);
	passed++;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_dir(const char *dir)
{
	struct dirent **names;
	char path[4096];
	int i, n, err = 0;

	n = scandir(dir, &names, NULL, by_name);
	if (n < 0) {
		fprintf(stderr, "%s: cannot list\n", dir);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			if (replay_file(path))
				err = -1;
		}
		free(names[i]);
	}
	free(names);
	return err;
}

int main(int argc, char **argv)
{
	struct stat st;
	int i, failed = 0;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st)) {
			/* A target without regressions yet has no directory. */
			continue;
		}
		if (S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]))
			failed++;
	}
	printf("%u passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
