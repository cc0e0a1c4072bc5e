/* SPDX-License-Identifier: GPL-2.0 */
/*
 * output.h - one output path: text, JSON and Prometheus are three renderings
 * of the same struct snapshot (tapis.h). Commands never format a counter
 * themselves; `tapis serve` can reuse prom_render() as is.
 *
 * Renderers write to the FILE given and return 0, or -EIO when the stream
 * failed (a closed pipe, a full disk) so the caller can exit non-zero.
 */
#ifndef TAPIS_OUTPUT_H
#define TAPIS_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tapis.h"

struct json_object;

enum out_format {
	OUT_TEXT = 0,
	OUT_JSON,
	OUT_PROMETHEUS,
};

/* RFC 3339 in UTC with a Z: "2026-11-29T04:00:00Z". */
#define RFC3339_LEN 32
const char *fmt_rfc3339(int64_t unix_sec, char *buf, size_t n);

/* JSON values: an RFC 3339 string, or null for 0 ("never"). */
struct json_object *json_time_or_null(int64_t unix_sec);
/* {"v4": N, "v6": N, "hosts": N} */
struct json_object *json_entries(uint64_t v4, uint64_t v6, uint64_t hosts);
/* The status object (see status_render). */
struct json_object *status_json(const struct snapshot *s, const char *pin_path);
/* The stats object (see stats_render). */
struct json_object *stats_json(const struct snapshot *s);

/* s for a terminal: control bytes (below 0x20, 0x7f) and bytes that are
 * not valid UTF-8 as \xNN, so a name from a list or a packet cannot move
 * the cursor or rewrite what an operator sees. Truncated to fit n (at
 * least 5); returns buf. */
const char *safe_text(const char *s, char *buf, size_t n);

/* Length of the valid UTF-8 sequence at s (1..4; 1 for ASCII, NUL
 * included), or 0 where s holds no valid sequence. */
size_t utf8_len(const unsigned char *s);

/* Print a JSON value as one line on f, and release it. */
int out_json(FILE *f, struct json_object *o);

/* Interfaces recorded as attached in the snapshot. */
unsigned snapshot_ifaces(const struct snapshot *s);

/* `tapis status`: text, or {"loaded": true, "pin_path", "policy",
 * "content_digest" (of the policy and its lists, or null), "loaded_at",
 * "reloaded_at" (or null), "reloads", "generation", "ifaces": [{"name",
 * "ifindex", "mode", "multiprog"}], "rules", "entries": {"v4", "v6",
 * "hosts"}, "tbl8": {"used", "capacity"}, "host_tables": {"slots",
 * "capacity"}: the host names a reload may bring, fixed at load}. */
int status_render(const struct snapshot *s, const char *pin_path, enum out_format fmt, FILE *f);

/* `tapis stats`: an aligned table (rules by hits, most first), the JSON object
 * {"rules": [{"name", "action", "reference", "packets", "bytes", "last_hit",
 * "expires", "since", "expired_hits", "entries": {...}, "kinds": {kind: N},
 * "kind_bytes": {kind: N}}], "actions": {name: {"packets", "bytes"}},
 * "unparsed": {reason: N}, "counters": {stat: N}, "flows": {"size",
 * "present", "verdicts", "new", "evicted"}}, or the Prometheus exposition.
 * kind is net, dns, tls, http or flow (enum tapis_kind). */
int stats_render(const struct snapshot *s, enum out_format fmt, FILE *f);
/* The same with the rules sorted by hits (packets, then bytes, most
 * first) and cut to the first top (0: all). The table is always sorted so;
 * JSON only with top, and keeps its shape; Prometheus ignores top. */
int stats_render_top(const struct snapshot *s, enum out_format fmt, size_t top, FILE *f);

/* What the exposition carries beside a snapshot: the build, and the last
 * load or reload as the audit log has it (the snapshot knows only the
 * successful ones). */
struct prom_meta {
	const char *version; /* tapis_build_info{version}; NULL: "unknown" */
	bool have_apply;     /* the audit log named the last load or reload */
	int64_t apply_unix;  /* its time */
	bool apply_ok;	     /* and whether it was applied */
};

/* Prometheus text exposition format 0.0.4 (prometheus.c): `stats
 * --prometheus` and `tapis serve` print the same bytes. s NULL: nothing
 * is loaded (tapis_up 0), with what m still tells. m may be NULL. The
 * metric names are an interface, listed in the README. */
int prom_render(const struct snapshot *s, const struct prom_meta *m, FILE *f);
/* The same bytes into a buffer of their own (*buf, *len; free *buf):
 * what serve sends. 0 or -ENOMEM. */
int prom_render_buf(const struct snapshot *s, const struct prom_meta *m, char **buf, size_t *len);

/* m for version, with the last load or reload of pin_path from the audit
 * log (audit_log NULL or unreadable: not known). */
void prom_meta_fill(struct prom_meta *m, const char *version, const char *audit_log,
		    const char *pin_path);

/* The action label of the exposition: the action's name, but
 * "pass_no_rule" for TAPIS_ACT_NONE (no rule matched: passed). */
const char *prom_action(enum tapis_action a);

#endif /* TAPIS_OUTPUT_H */
