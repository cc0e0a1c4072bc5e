/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fileio.h - opening the files tapis reads (policies, lists, zones, the
 * audit log) so that a FIFO cannot block the open and a device cannot feed
 * a read for ever.
 */
#ifndef TAPIS_FILEIO_H
#define TAPIS_FILEIO_H

#include <sys/stat.h>

/* Open path read-only without blocking; a descriptor only for a regular
 * file (its stat into *st when st is not NULL). -errno when the open
 * fails, -EBADFD when it is no regular file (nothing left open). */
int open_regular(const char *path, struct stat *st);

#endif /* TAPIS_FILEIO_H */
