// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_events.c - `tapis events [--count N] [--timeout SECONDS]`: the block
 * events of the data path as they happen, from the tapis_events ring
 * buffer, one line each (JSON lines under --json).
 *
 * The ring has one consumer position: two `tapis events` at once share the
 * events between them. The data path writes events only while a reader
 * says it runs (tapis_ctl[TAPIS_CTL_EVENTS], set here and cleared at the end),
 * at most settings.events' rate per CPU, and counts the rest (events_lost
 * in stats), so a flood costs the reader nothing, and without a reader a
 * blocked packet pays nothing for events.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cli.h"
#include "gen.h"
#include "log.h"
#include "output.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct reader {
	const struct cli *c;
	struct tapis *t;
	int64_t tai_offset_ns;
	uint64_t start_tai_ns; /* events stamped before this reader are stale */
	uint64_t seen, want;
	/* Rule names by id, read once per id (a reload may rename: a miss
	 * after it reads again). */
	char names[TAPIS_MAX_RULES][TAPIS_NAME_MAX];
};

static const char *rule_name(struct reader *r, uint32_t id)
{
	struct tapis_rule_meta m;

	if (id >= TAPIS_MAX_RULES)
		return "?";
	if (!r->names[id][0] && bpf_map_lookup_elem(r->t->map_fd[M_RULE_META], &id, &m) == 0 &&
	    m.in_use)
		snprintf(r->names[id], sizeof(r->names[id]), "%s", m.name);
	return r->names[id][0] ? r->names[id] : "?";
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP	     ? "tcp"
	       : p == IPPROTO_UDP    ? "udp"
	       : p == IPPROTO_ICMP   ? "icmp"
	       : p == IPPROTO_ICMPV6 ? "icmpv6"
	       : p		     ? "other"
				     : "none";
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct reader *r = ctx;
	const struct tapis_event *e = data;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], when[48], ifn[IF_NAMESIZE],
		name[TAPIS_EVENT_NAME * 4 + 1], raw[TAPIS_EVENT_NAME + 1];
	int64_t ns = (int64_t)e->tai_ns - r->tai_offset_ns;
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	const char *iface;

	if (size < sizeof(*e))
		return 0;
	/* Left in the ring by an earlier reader's time, not this one's. */
	if (e->tai_ns < r->start_tai_ns)
		return 0;
	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03" PRId64 "Z",
		 (ns % 1000000000) / 1000000);
	inet_ntop(e->family == 6 ? AF_INET6 : AF_INET, e->saddr, src, sizeof(src));
	inet_ntop(e->family == 6 ? AF_INET6 : AF_INET, e->daddr, dst, sizeof(dst));
	iface = if_indextoname(e->ifindex, ifn);
	/* A name off the wire may hold anything: printed escaped. */
	name[0] = '\0';
	if (e->name_len && e->name_len <= TAPIS_EVENT_NAME) {
		memcpy(raw, e->name, e->name_len);
		raw[e->name_len] = '\0';
		safe_text(raw, name, sizeof(name));
	}
	if (r->c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "time", json_object_new_string(when));
		json_object_object_add(o, "rule", json_object_new_string(rule_name(r, e->rule)));
		json_object_object_add(o, "action", json_object_new_string(action_name(e->action)));
		json_object_object_add(o, "kind", json_object_new_string(kind_name(e->kind)));
		json_object_object_add(o, "hostname",
				       name[0] ? json_object_new_string(name) : NULL);
		json_object_object_add(o, "src", json_object_new_string(src));
		json_object_object_add(o, "dst", json_object_new_string(dst));
		json_object_object_add(o, "proto", json_object_new_string(proto_name(e->l4proto)));
		json_object_object_add(o, "sport", json_object_new_int(e->sport));
		json_object_object_add(o, "dport", json_object_new_int(e->dport));
		json_object_object_add(o, "ifindex", json_object_new_int((int)e->ifindex));
		json_object_object_add(o, "iface", iface ? json_object_new_string(iface) : NULL);
		out_json(stdout, o);
	} else {
		printf("%s %s %s rule=%s%s%s %s %s:%u -> %s:%u%s%s\n", when, action_name(e->action),
		       kind_name(e->kind), rule_name(r, e->rule), name[0] ? " name=" : "", name,
		       proto_name(e->l4proto), src, e->sport, dst, e->dport, iface ? " if=" : "",
		       iface ? iface : "");
	}
	fflush(stdout);
	r->seen++;
	if (r->want && r->seen >= r->want)
		stop = 1;
	return 0;
}

/* Say whether a reader runs (tapis_ctl[TAPIS_CTL_EVENTS]): the data path
 * writes events only while one does. An entry of its own, written whole:
 * a reload's flip writes the other one, so neither undoes the other. */
static int set_reader(int ctl_fd, bool on)
{
	struct tapis_ctl ctl = {.events_reader = on};
	uint32_t k = TAPIS_CTL_EVENTS;

	if (bpf_map_update_elem(ctl_fd, &k, &ctl, BPF_EXIST))
		return -errno;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The tapis_ctl pinned now: a reload that grows the host tables replaces
 * the program and its tapis_ctl (user/lib/swap.c), whose flag the new
 * program reads. The one held is kept when the pin cannot be opened. */
static int follow_ctl(const char *path, int ctl_fd)
{
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return ctl_fd;
	close(ctl_fd);
	return fd;
}

int cmd_events(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct reader *r = NULL;
	struct ring_buffer *rb = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	char path[PATH_MAX + 32], *end;
	long long deadline = -1, timeout = -1;
	int opt, rc = EXIT_POLICY, fd = -1, ctl_fd = -1, err;
	unsigned long long want = 0;
	long long renewed;
	struct tapis t;
	struct timespec ts;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hn:t:", opts, &rc)) != -1) {
		switch (opt) {
		case 'n':
			errno = 0;
			want = strtoull(optarg, &end, 10);
			if (errno || *end || !want)
				return cli_bad_args(c,
						    "--count takes a number of events, 1 or more");
			break;
		case 't':
			errno = 0;
			timeout = strtoll(optarg, &end, 10);
			if (errno || *end || timeout < 1 || timeout > 86400 * 365)
				return cli_bad_args(c, "--timeout takes seconds, 1 or more");
			break;
		default:
			return rc;
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);

	rc = cli_open(c, &t, true);
	if (rc)
		return rc;
	/* The consumer position is written: the ring needs a writable handle,
	 * which the read-only open of status and stats does not give. */
	snprintf(path, sizeof(path), "%s/%s", c->pin, tapis_map_names[M_EVENTS]);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		if (err == -EACCES || err == -EPERM)
			pr_err("permission denied: %s (reading events needs root)", path);
		else
			pr_err("open %s: %s", path, strerror(-err));
		rc = err == -EACCES || err == -EPERM ? EXIT_RUNTIME : EXIT_KERNEL;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", c->pin, tapis_map_names[M_CTL]);
	ctl_fd = bpf_obj_get(path);
	if (ctl_fd < 0) {
		pr_err("open %s: %s", path, strerror(errno));
		rc = EXIT_KERNEL;
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	r->c = c;
	r->t = &t;
	r->want = want;
	r->tai_offset_ns = tai_offset_ns();
	rb = ring_buffer__new(fd, on_event, r, NULL);
	if (!rb) {
		pr_err("read the event ring %s: %s", path, strerror(errno));
		rc = EXIT_KERNEL;
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (timeout > 0)
		deadline = now_ms() + timeout * 1000;
	clock_gettime(CLOCK_TAI, &ts);
	r->start_tai_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	err = set_reader(ctl_fd, true);
	if (err) {
		pr_err("tell the data path a reader runs: %s", strerror(-err));
		rc = EXIT_KERNEL;
		goto out;
	}
	renewed = now_ms();
	rc = EXIT_OK;
	while (!stop) {
		err = ring_buffer__poll(rb, 200);
		if (err < 0 && err != -EINTR) {
			pr_err("read events: %s", strerror(-err));
			rc = EXIT_KERNEL;
			break;
		}
		if (deadline >= 0 && now_ms() >= deadline)
			break;
		/* A second reader that ended cleared the flag: set again
		 * within a second. */
		if (now_ms() - renewed >= 1000) {
			ctl_fd = follow_ctl(path, ctl_fd);
			err = set_reader(ctl_fd, true);
			if (err)
				pr_warn("tell the data path a reader runs: %s", strerror(-err));
			renewed = now_ms();
		}
	}
	/* No reader left that we know of: blocked packets stop paying for
	 * events. A reader still running sets it again within a second. */
	ctl_fd = follow_ctl(path, ctl_fd);
	err = set_reader(ctl_fd, false);
	if (err)
		pr_warn("tell the data path no reader runs: %s", strerror(-err));
out:
	if (ctl_fd >= 0)
		close(ctl_fd);
	ring_buffer__free(rb);
	if (fd >= 0)
		close(fd);
	free(r);
	tapis_close(&t);
	return rc;
}
