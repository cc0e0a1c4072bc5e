/* SPDX-License-Identifier: GPL-2.0 */
/*
 * audit.h - the audit log: one JSON line per change to the running filter
 * (load, reload, host/net add and del, unload, expiry), appended to a file
 * and sent to syslog, so an auditor can ask afterwards who changed what,
 * when, on whose order, and what a lifted rule had done.
 */
#ifndef TAPIS_AUDIT_H
#define TAPIS_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

struct json_object;

#define TAPIS_AUDIT_DEFAULT "/var/log/tapis/audit.log"
/* A line longer than this is not one we wrote: audit_read reports it. */
#define TAPIS_AUDIT_LINE_MAX (1u << 20)

struct audit_event {
	const char *command;	/* "load", "reload", "host add", ... */
	const char *pin_path;	/* which filter */
	const char *policy;	/* the policy file, or NULL */
	const char *digest;	/* its audit_digest(), or NULL */
	const char *rule;	/* the rule an edit touched, or NULL */
	const char *reference;	/* that rule's reference, or NULL */
	const char *entry;	/* the entry an edit added or removed, or NULL */
	int64_t added, removed; /* entries */
	const char *result;	/* NULL: "ok"; else what failed */
	/* More members for the record (taken, freed by audit_write): for
	 * example "rules_removed" with each lifted rule's final counters. */
	struct json_object *extra;
};

/* Append ev as one line to path (created 0640, its directory 0750) and to
 * syslog. The record carries the time, the user (and SUDO_USER) and the
 * fields above. Returns 0 or -errno; path NULL or "" writes syslog only. */
int audit_write(const char *path, const struct audit_event *ev);

/* "sha256:" and the hex SHA-256 of a file's bytes into out (72 bytes).
 * 0 or -errno. */
int audit_digest(const char *file, char out[72]);

/* Call fn for each record of path, oldest first, that names `rule` (NULL:
 * any) and is at or after `since` (unix seconds; 0: any). A line that is
 * not a JSON object is reported on stderr with FILE:LINE and skipped.
 * Returns 0, -ENOENT when the log does not exist, -errno, or fn's
 * non-zero return. */
int audit_read(const char *path, const char *rule, int64_t since,
	       int (*fn)(struct json_object *rec, void *arg), void *arg);

struct snapshot;

/* Extra members for a change of the running policy from `old` to `new`
 * (either NULL: a load, an unload): "rules_added" (names), "rules_removed"
 * (each lifted rule's name, action, reference and final packets, bytes,
 * last_hit: what it did stays on record) and "rules_changed" ({name,
 * entries_before, entries_after}). *added and *removed count entries: a
 * new rule's all, a lifted rule's all, a kept rule's growth or shrinkage. */
struct json_object *audit_diff(const struct snapshot *old, const struct snapshot *new,
			       int64_t *added, int64_t *removed);

/* The last record of path (caller puts it), or NULL. */
struct json_object *audit_last(const char *path);

/* The last load or reload of the filter at pin_path that path records,
 * failed reloads included: when, and whether it was applied. Only the
 * last TAPIS_AUDIT_SCAN bytes are read, so a scrape costs the same on a
 * log of years. */
#define TAPIS_AUDIT_SCAN (4u << 20)
struct audit_apply {
	int64_t unix; /* seconds */
	bool ok;      /* result "ok": the policy runs */
	bool reload;  /* a reload (false: a load) */
};
/* 0 with *a filled, -ENOENT when no such record is within reach (or no
 * log), -errno. */
int audit_last_apply(const char *path, const char *pin_path, struct audit_apply *a);

#endif /* TAPIS_AUDIT_H */
