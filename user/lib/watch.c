// SPDX-License-Identifier: GPL-2.0
/*
 * watch.c - inotify on the directories of the watched files, signals
 * through a signalfd, one poll loop.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "watch.h"

#define DIR_EVENTS                                                                                 \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |        \
	 IN_DELETE_SELF | IN_MOVE_SELF)

static void free_set(struct watcher *w)
{
	size_t i;

	for (i = 0; i < w->n_dirs; i++) {
		if (w->wds[i] >= 0)
			inotify_rm_watch(w->ifd, w->wds[i]);
		free(w->dirs[i]);
	}
	for (i = 0; i < w->n_files; i++)
		free(w->files[i]);
	free(w->wds);
	free(w->dirs);
	free(w->files);
	w->wds = NULL;
	w->dirs = w->files = NULL;
	w->n_dirs = w->n_files = 0;
}

int watcher_open(struct watcher *w, unsigned settle_ms)
{
	sigset_t set;

	memset(w, 0, sizeof(*w));
	w->settle_ms = settle_ms;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	w->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (w->sfd < 0)
		return -errno;
	w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->ifd < 0) {
		int err = -errno;

		close(w->sfd);
		return err;
	}
	return 0;
}

/* An absolute form of path (the directory need not resolve further). */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *s;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	s = malloc(strlen(cwd) + strlen(path) + 2);
	if (s)
		sprintf(s, "%s/%s", cwd, path);
	return s;
}

int watcher_set(struct watcher *w, const char *const *paths, size_t n)
{
	size_t i, k;
	int err = 0;

	free_set(w);
	w->files = calloc(n ? n : 1, sizeof(*w->files));
	w->dirs = calloc(n ? n : 1, sizeof(*w->dirs));
	w->wds = calloc(n ? n : 1, sizeof(*w->wds));
	if (!w->files || !w->dirs || !w->wds)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		char *abs = absolute(paths[i]), *dir, *slash;

		if (!abs)
			return -ENOMEM;
		w->files[w->n_files++] = abs;
		dir = strdup(abs);
		if (!dir)
			return -ENOMEM;
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		for (k = 0; k < w->n_dirs; k++)
			if (!strcmp(w->dirs[k], dir))
				break;
		if (k < w->n_dirs) {
			free(dir);
			continue;
		}
		w->wds[w->n_dirs] = inotify_add_watch(w->ifd, dir, DIR_EVENTS);
		if (w->wds[w->n_dirs] < 0 && !err)
			err = -errno;
		w->dirs[w->n_dirs++] = dir;
	}
	return err;
}

/* Does an inotify event concern a watched file? */
static bool concerns(const struct watcher *w, const struct inotify_event *ev)
{
	size_t d, f, ld;

	for (d = 0; d < w->n_dirs; d++) {
		if (w->wds[d] != ev->wd)
			continue;
		/* The directory itself went away or moved: every file in it. */
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
			return true;
		if (!ev->len)
			return false;
		ld = strlen(w->dirs[d]);
		for (f = 0; f < w->n_files; f++) {
			const char *p = w->files[f];

			if (strncmp(p, w->dirs[d], ld))
				continue;
			p += ld;
			if (*p == '/')
				p++;
			if (!strcmp(p, ev->name))
				return true;
		}
	}
	return false;
}

/* Drain the inotify queue; true when something watched changed. */
static bool drain(struct watcher *w)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(w->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			if ((ev->mask & IN_Q_OVERFLOW) || concerns(w, ev))
				hit = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return hit;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int watcher_wait(struct watcher *w, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms, settle = -1, t;
	struct pollfd pf[2] = {{.fd = w->sfd, .events = POLLIN}, {.fd = w->ifd, .events = POLLIN}};
	struct signalfd_siginfo si;
	int wait_ms, r;

	for (;;) {
		t = now_ms();
		if (settle >= 0 && t >= settle)
			return WATCH_CHANGED;
		if (settle < 0 && deadline >= 0 && t >= deadline)
			return 0;
		wait_ms = settle >= 0	  ? (int)(settle - t)
			  : deadline >= 0 ? (int)(deadline - t)
					  : -1;
		r = poll(pf, 2, wait_ms);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf[0].revents & POLLIN) {
			if (read(w->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				return si.ssi_signo == SIGHUP ? WATCH_HUP : WATCH_STOP;
		}
		if ((pf[1].revents & POLLIN) && drain(w))
			settle = now_ms() + w->settle_ms;
	}
}

void watcher_close(struct watcher *w)
{
	free_set(w);
	if (w->ifd > 0)
		close(w->ifd);
	if (w->sfd > 0)
		close(w->sfd);
	w->ifd = w->sfd = -1;
}
