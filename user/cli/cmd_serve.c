// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_serve.c - `tapis serve [--listen ADDR:PORT]`: Prometheus /metrics
 * over HTTP until SIGTERM or SIGINT (serve.h). What a service runs:
 *
 *	ExecStart=/usr/sbin/tapis serve $TAPIS_SERVE_OPTS
 *
 * It needs nothing loaded to start, and keeps answering across load,
 * reload and unload. One line when it starts, one when it stops, and one
 * when the filter comes or goes; libmicrohttpd's messages with -v.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "log.h"
#include "serve.h"

int cmd_serve(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct serve_opts o = {.listen = SERVE_DEFAULT_LISTEN,
			       .pin_path = c->pin,
			       .audit_log = c->audit,
			       .version = TAPIS_VERSION};
	struct tapis_server *srv = NULL;
	struct sockaddr_storage ss;
	int opt, rc = EXIT_POLICY, sig, err;
	uint64_t n;
	socklen_t len;
	sigset_t set;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hl:", opts, &rc)) != -1) {
		switch (opt) {
		case 'l':
			o.listen = optarg;
			break;
		default:
			return rc;
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);
	if (serve_parse_listen(o.listen, &ss, &len))
		return cli_bad_args(c,
				    "--listen %s: not ADDR:PORT with a numeric address and a port "
				    "1..65535 (IPv6 in brackets: [::1]:9477)",
				    o.listen);

	/* The server's thread inherits this mask: the signals come to
	 * sigwait below and nowhere else. A client that goes away must not
	 * kill the server either. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = serve_start(&o, &srv);
	if (err)
		return err == -EINVAL ? EXIT_POLICY : EXIT_RUNTIME;
	if (c->json) {
		struct json_object *j = json_object_new_object();
		char url[128];

		snprintf(url, sizeof(url), "http://%s/metrics", o.listen);
		json_object_object_add(j, "serving", json_object_new_string(url));
		json_object_object_add(j, "pin_path", json_object_new_string(c->pin));
		cli_json_print(j);
	} else {
		printf("serving http://%s/metrics for the filter at %s\n", o.listen, c->pin);
	}
	fflush(stdout);

	/* SIGHUP changes nothing (every scrape reads the pins afresh) and
	 * must not end the service. */
	do {
		if (sigwait(&set, &sig))
			sig = SIGTERM;
	} while (sig == SIGHUP);

	n = serve_stop(srv);
	if (!c->json)
		printf("stopped by %s after %llu scrape%s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
		       (unsigned long long)n, n == 1 ? "" : "s");
	return EXIT_OK;
}
