// SPDX-License-Identifier: GPL-2.0
/* Opening the files tapis reads (fileio.h). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fileio.h"

int open_regular(const char *path, struct stat *st)
{
	struct stat own;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (!st)
		st = &own;
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EBADFD;
	}
	return fd;
}
