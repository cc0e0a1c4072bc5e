/* SPDX-License-Identifier: GPL-2.0 */
/* One logger for tapis and the libraries under it (libbpf, libxdp), so an
 * operator sees one voice: "tapis: error: ..." on stderr, or a JSON object
 * when the command runs with --json. */
#ifndef TAPIS_LOG_H
#define TAPIS_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_ERR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

/* json: errors are printed as {"error": "..."} on stdout. */
void log_setup(int verbosity, bool json);
bool log_json(void);
/* While muted (calls nest), messages show only as debug: for library calls
 * whose failures the caller expects and handles, such as completing an
 * edit that may already be made. */
void log_mute(bool on);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
