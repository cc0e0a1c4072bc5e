// SPDX-License-Identifier: GPL-2.0
/*
 * serve.c - `tapis serve`: GET and HEAD /metrics with libmicrohttpd, the
 * exposition of prometheus.c (serve.h has the contract).
 *
 * Every callback runs in libmicrohttpd's one internal thread (epoll), so
 * the state below needs no lock: scrapes are made one at a time, which is
 * also what keeps the cost of many clients to one snapshot at a time.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

#include "audit.h"
#include "log.h"
#include "output.h"
#include "serve.h"
#include "tapis.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* One rendered exposition, shared by the connections sending it. refs:
 * one for the server's cache while it is the newest, one per connection
 * that was handed it (dropped when libmicrohttpd says the request is
 * complete). The bytes go when the last one does. */
struct expo {
	struct MHD_Response *resp;
	char *buf;
	size_t len;
	unsigned refs;
	int64_t born_ms;
};

/* The audit log's answer, kept while the file is unchanged: a scrape then
 * costs one stat(), not a read of its tail. */
struct audit_cache {
	bool valid;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct prom_meta meta;
};

struct tapis_server {
	struct serve_opts o;
	struct MHD_Daemon *d;
	struct MHD_Response *not_found, *not_allowed, *failed;
	struct expo *cur; /* the newest exposition, or NULL */
	struct audit_cache audit;
	int up;		  /* what the last scrape found: -1 before the first */
	uint64_t scrapes; /* 200 answers */
};

/* *con_cls of a request: &pending_marker between the handler's first
 * call (headers read) and its second, &static_marker once answered with a
 * static response (nothing to release), or the expo handed to it. */
static int pending_marker, static_marker;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int serve_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				 .ai_socktype = SOCK_STREAM},
			*res = NULL;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port;
	size_t hl;
	char *end;
	long p;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - s - 1);
		colon = rb + 1;
		s++;
		hints.ai_family = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL; /* a bare IPv6 address: brackets needed */
		hl = (size_t)(colon - s);
		hints.ai_family = AF_INET;
	}
	port = colon + 1;
	errno = 0;
	p = strtol(port, &end, 10);
	if (!hl || hl >= sizeof(host) || errno || *end || end == port || p < 1 || p > 65535)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (getaddrinfo(host, port, &hints, &res) || !res)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void expo_put(struct expo *e)
{
	if (!e || --e->refs)
		return;
	MHD_destroy_response(e->resp);
	free(e->buf);
	free(e);
}

/* The last load or reload from the audit log, read again only when the
 * file changed (or appeared, or went). */
static void audit_meta(struct tapis_server *srv, struct prom_meta *m)
{
	struct audit_cache *c = &srv->audit;
	struct stat st;

	if (!srv->o.audit_log || !*srv->o.audit_log || stat(srv->o.audit_log, &st)) {
		c->valid = false;
		prom_meta_fill(m, srv->o.version, NULL, srv->o.pin_path);
		return;
	}
	if (!c->valid || c->dev != st.st_dev || c->ino != st.st_ino || c->size != st.st_size ||
	    c->mtime.tv_sec != st.st_mtim.tv_sec || c->mtime.tv_nsec != st.st_mtim.tv_nsec) {
		prom_meta_fill(&c->meta, srv->o.version, srv->o.audit_log, srv->o.pin_path);
		c->valid = true;
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		c->size = st.st_size;
		c->mtime = st.st_mtim;
	}
	*m = c->meta;
}

/* Say once when the filter comes or goes, not at every scrape. */
static void note_up(struct tapis_server *srv, int err)
{
	int up = err ? 0 : 1;

	if (up == srv->up)
		return;
	if (up)
		pr_info("serve: reading the filter at %s", srv->o.pin_path);
	else if (err == -ENOENT)
		pr_info("serve: nothing loaded at %s: answering tapis_up 0", srv->o.pin_path);
	else
		pr_warn("serve: cannot read the filter at %s (%s): answering tapis_up 0",
			srv->o.pin_path, strerror(-err));
	srv->up = up;
}

/* A new exposition of what the pins hold now. NULL without memory. */
static struct expo *render(struct tapis_server *srv)
{
	struct snapshot s, *sp = NULL;
	struct expo *e = calloc(1, sizeof(*e));
	struct prom_meta m;
	struct tapis t;
	int err;

	if (!e)
		return NULL;
	err = tapis_open_reader(&t, srv->o.pin_path);
	if (!err) {
		err = tapis_snapshot(&t, &s);
		tapis_close(&t);
		if (!err)
			sp = &s;
	}
	note_up(srv, err);
	audit_meta(srv, &m);
	err = prom_render_buf(sp, &m, &e->buf, &e->len);
	if (sp)
		snapshot_free(sp);
	if (!err)
		e->resp = MHD_create_response_from_buffer(e->len, e->buf, MHD_RESPMEM_PERSISTENT);
	if (err || !e->resp ||
	    MHD_add_response_header(e->resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE) !=
		    MHD_YES ||
	    MHD_add_response_header(e->resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") !=
		    MHD_YES) {
		if (e->resp)
			MHD_destroy_response(e->resp);
		free(e->buf);
		free(e);
		return NULL;
	}
	e->refs = 1; /* the cache's */
	e->born_ms = now_ms();
	return e;
}

/* The exposition for a scrape now: the newest one while a connection is
 * still sending it and it is young, else a fresh one. */
static struct expo *current(struct tapis_server *srv)
{
	struct expo *e;

	if (srv->cur && srv->cur->refs > 1 && now_ms() - srv->cur->born_ms < SERVE_SHARE_MS)
		return srv->cur;
	e = render(srv);
	if (!e)
		return NULL;
	expo_put(srv->cur);
	srv->cur = e;
	return e;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct tapis_server *srv = cls;
	struct expo *e;
	enum MHD_Result r;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	if (*con_cls && *con_cls != &pending_marker)
		return MHD_YES; /* answered already; the rest of a body is dropped */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		*con_cls = &static_marker;
		return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, srv->not_allowed);
	}
	if (strcmp(url, "/metrics")) {
		*con_cls = &static_marker;
		return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, srv->not_found);
	}
	/* A response queued at the first call (the headers just read) makes
	 * libmicrohttpd close the connection after it; from the second on it
	 * keeps it open for the next scrape, as Prometheus expects. */
	if (!*con_cls) {
		*con_cls = &pending_marker;
		return MHD_YES;
	}
	e = current(srv);
	if (!e) {
		*con_cls = &static_marker;
		return MHD_queue_response(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, srv->failed);
	}
	r = MHD_queue_response(conn, MHD_HTTP_OK, e->resp);
	if (r == MHD_YES) {
		e->refs++;
		*con_cls = e;
		srv->scrapes++;
	}
	return r;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	if (*con_cls && *con_cls != &static_marker && *con_cls != &pending_marker)
		expo_put(*con_cls);
	*con_cls = NULL;
}

/* libmicrohttpd's own messages (a refused connection, a bad request) come
 * at the rate clients make them: only with -v. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	pr_debug("serve: libmicrohttpd: %s", msg);
}

static struct MHD_Response *static_response(const char *body, const char *allow)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);

	if (!r)
		return NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	return r;
}

int serve_start(const struct serve_opts *o, struct tapis_server **out)
{
	struct sockaddr_storage ss;
	struct tapis_server *srv;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	socklen_t len;

	if (serve_parse_listen(o->listen, &ss, &len)) {
		pr_err("--listen %s: not ADDR:PORT (an IPv6 address in brackets: [::1]:9477)",
		       o->listen);
		return -EINVAL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->o = *o;
	srv->up = -1;
	srv->not_found = static_response("not found: tapis serves /metrics only\n", NULL);
	srv->not_allowed = static_response("method not allowed: GET or HEAD\n", "GET, HEAD");
	srv->failed = static_response("the exposition could not be made (out of memory)\n", NULL);
	if (!srv->not_found || !srv->not_allowed || !srv->failed) {
		serve_stop(srv);
		return -ENOMEM;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The port is in the address; MHD's own port argument is ignored. */
	srv->d = MHD_start_daemon(flags, 0, NULL, NULL, answer, srv, MHD_OPTION_SOCK_ADDR,
				  (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned)SERVE_MAX_CONNS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				  (unsigned)SERVE_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned)SERVE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				  (size_t)SERVE_REQ_MEM, MHD_OPTION_LISTEN_BACKLOG_SIZE,
				  (unsigned)SERVE_MAX_CONNS, MHD_OPTION_NOTIFY_COMPLETED, completed,
				  srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, MHD_OPTION_END);
	if (!srv->d) {
		int err = errno ? -errno : -EADDRNOTAVAIL;

		pr_err("serve: cannot listen on %s: %s", o->listen, strerror(-err));
		serve_stop(srv);
		return err;
	}
	*out = srv;
	return 0;
}

uint64_t serve_stop(struct tapis_server *srv)
{
	uint64_t n;

	if (!srv)
		return 0;
	/* Closing the connections runs completed() for each: every expo
	 * handed out is released before the cache's own reference. */
	if (srv->d)
		MHD_stop_daemon(srv->d);
	expo_put(srv->cur);
	if (srv->not_found)
		MHD_destroy_response(srv->not_found);
	if (srv->not_allowed)
		MHD_destroy_response(srv->not_allowed);
	if (srv->failed)
		MHD_destroy_response(srv->failed);
	n = srv->scrapes;
	free(srv);
	return n;
}
