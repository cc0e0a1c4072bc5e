/* SPDX-License-Identifier: GPL-2.0 */
/*
 * serve.h - `tapis serve`: the Prometheus exposition over HTTP
 * (libmicrohttpd), GET or HEAD /metrics, nothing else.
 *
 * It only reads: every scrape opens the pins read-only and without the
 * pin-path lock (tapis_open_reader), takes a snapshot and closes them
 * again, so it follows load, reload and unload with no signal and never
 * delays an operator's command. With nothing loaded a scrape still
 * answers, with tapis_up 0.
 *
 * Bounded: one thread answers every connection; at most SERVE_MAX_CONNS
 * connections, SERVE_PER_IP from one address, each closed after
 * SERVE_TIMEOUT_S idle seconds, with SERVE_REQ_MEM bytes for its request.
 * Scrapes that arrive while an earlier exposition is still being sent
 * (within SERVE_SHARE_MS of its making) get the same bytes, so slow or
 * many clients hold copies of one exposition, not one each.
 */
#ifndef TAPIS_SERVE_H
#define TAPIS_SERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define SERVE_DEFAULT_LISTEN "127.0.0.1:9477"
#define SERVE_MAX_CONNS	     128
#define SERVE_PER_IP	     16
#define SERVE_TIMEOUT_S	     10
#define SERVE_REQ_MEM	     16384
#define SERVE_SHARE_MS	     1000

struct serve_opts {
	const char *listen;    /* "ADDR:PORT", "[V6ADDR]:PORT" */
	const char *pin_path;  /* the filter to read */
	const char *audit_log; /* for the last reload's time and result; may be NULL */
	const char *version;   /* tapis_build_info */
};

/* "198.51.100.1:9477", "[2001:db8::1]:9477": numeric addresses only, port
 * 1..65535. 0 or -EINVAL. */
int serve_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);

struct tapis_server;

/* Bind and start answering in a thread of the server's own. The caller
 * blocks the signals it waits for before the call, so that thread
 * inherits the mask. 0, or -errno (reported: the address in use, ...). */
int serve_start(const struct serve_opts *o, struct tapis_server **out);

/* Close the listening socket and every connection, and free all.
 * Returns the scrapes answered (200), for the line serve prints on exit. */
uint64_t serve_stop(struct tapis_server *srv);

#endif /* TAPIS_SERVE_H */
