/* SPDX-License-Identifier: GPL-2.0 */
/*
 * watch.h - wait for a policy (or a list it names) to change, or for a
 * signal, for `tapis watch`.
 *
 * Editors and deploy tools rarely write a file in place: they write a new
 * file and rename it over the old one (vim, sed -i, ansible, git checkout).
 * A watch on the file itself would then follow the old inode, so the
 * directories are watched and events filtered by name.
 */
#ifndef TAPIS_WATCH_H
#define TAPIS_WATCH_H

#include <stddef.h>

enum watch_event {
	WATCH_CHANGED = 1, /* a watched file was written, replaced or removed */
	WATCH_HUP,	   /* SIGHUP: reload now */
	WATCH_STOP,	   /* SIGTERM or SIGINT */
};

struct watcher {
	int ifd;  /* inotify */
	int sfd;  /* signalfd for SIGHUP, SIGTERM, SIGINT */
	int *wds; /* one watch per directory */
	char **dirs;
	size_t n_dirs;
	char **files; /* absolute paths watched */
	size_t n_files;
	unsigned settle_ms; /* quiet time after a change before it counts */
};

/* Blocks SIGHUP, SIGTERM and SIGINT for the process (they arrive through
 * the watcher). 0 or -errno. */
int watcher_open(struct watcher *w, unsigned settle_ms);
/* Watch exactly these files from now on (relative paths are taken from
 * the current directory). 0 or -errno. */
int watcher_set(struct watcher *w, const char *const *paths, size_t n);
/* Wait for the next event; a burst of changes (an editor's write, rename
 * and chmod) is one WATCH_CHANGED once quiet for settle_ms. A timeout_ms
 * < 0 waits for ever; 0 on timeout. Returns the event or -errno. */
int watcher_wait(struct watcher *w, int timeout_ms);
void watcher_close(struct watcher *w);

#endif /* TAPIS_WATCH_H */
