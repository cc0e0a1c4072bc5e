/* SPDX-License-Identifier: GPL-2.0 */
/*
 * when.h - times and durations as operators write them: RFC 3339 for a
 * rule's expiry and `--expires`, "90s", "15m", "2h", "7d", "1w" (and sums
 * like "1h30m") for `--for` and `--since`.
 */
#ifndef TAPIS_WHEN_H
#define TAPIS_WHEN_H

#include <stdbool.h>
#include <stdint.h>

/* 2026-12-31T00:00:00Z or 2026-12-31T01:00:00+01:00 (a fraction is
 * ignored: expiry has second resolution) to unix seconds; false when s is
 * not such a time or before 1970. */
bool time_parse_rfc3339(const char *s, int64_t *out);

/* A positive duration in seconds; false when s is not one or overflows. */
bool duration_parse(const char *s, int64_t *secs);

/* --since: an RFC 3339 time, or a duration meaning that long before now. */
bool when_parse_since(const char *s, int64_t now, int64_t *out);

#endif /* TAPIS_WHEN_H */
