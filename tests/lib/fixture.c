// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "compile.h"
#include "fixture.h"
#include "log.h"
#include "pkt.h"
#include "test.h"

int fx_policy(struct fixture *f, const char *yaml)
{
	struct policy p;
	int err;

	err = policy_parse_buffer("test-policy.yaml", ".", yaml, strlen(yaml), &p);
	if (err)
		return err;
	err = tapis_install(&f->t, &p);
	policy_free(&p);
	return err;
}

/* Load options as `tapis load` takes them from the policy: the host
 * tables sized to it, so every packet test runs on tables of the size an
 * operator's load of that policy gets. */
static int load_opts_for(const char *yaml, struct tapis_load_opts *lo)
{
	struct compiled c;
	struct policy p;
	int err;

	err = policy_parse_buffer("test-policy.yaml", ".", yaml, strlen(yaml), &p);
	if (err)
		return err;
	err = policy_compile(&p, NULL, &c);
	if (!err) {
		err = tapis_load_opts_for(&c, lo);
		compiled_free(&c);
	}
	policy_free(&p);
	return err;
}

uint32_t fx_v4_chunks_small;

int fx_setup(struct fixture *f, const char *yaml)
{
	struct tapis_load_opts lo = {0};
	int err;

	memset(f, 0, sizeof(*f));
	log_setup(getenv("FX_VV") ? 2 : 0, false);
	err = load_opts_for(yaml, &lo);
	if (!err && fx_v4_chunks_small)
		lo.v4_chunks_small = fx_v4_chunks_small;
	err = err ?: tapis_create_opts(&f->t, NULL, &lo);
	if (err)
		return err;
	f->up = true;
	err = fx_policy(f, yaml);
	if (err)
		fx_teardown(f);
	return err;
}

void fx_teardown(struct fixture *f)
{
	if (f->up)
		tapis_close(&f->t);
	f->up = false;
}

int fx_run(struct fixture *f, const void *frame, size_t len, void *out, size_t *out_len)
{
	static unsigned char scratch[8192];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .data_out = out ? out : scratch,
		    .data_size_out = out_len && *out_len ? *out_len : sizeof(scratch), .repeat = 1);

	if (bpf_prog_test_run_opts(f->t.prog_fd, &o))
		return -errno;
	if (out_len)
		*out_len = o.data_size_out;
	return o.retval;
}

uint32_t fx_map_entries(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

uint32_t fx_inner_entries(struct fixture *f, int m)
{
	uint32_t gen = TAPIS_CTL_GEN, id, n;
	int fd;

	if (bpf_map_lookup_elem(f->t.map_fd[M_CTL], &gen, &gen) ||
	    bpf_map_lookup_elem(f->t.map_fd[m], &gen, &id))
		return 0;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return 0;
	n = fx_map_entries(fd);
	close(fd);
	return n;
}

int fx_dns_verdict(struct fixture *f, const char *name)
{
	struct pkt p;
	int err;

	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	pkt_ipv4(&p, "198.18.1.2", "198.18.2.2", PKT_AUTO, NULL);
	pkt_udp(&p, 40000, 53);
	dns_query(&p, name, DNS_TYPE_A, 7, DNS_RD, false);
	err = pkt_finish(&p);
	if (err)
		return err < 0 ? err : -EINVAL;
	return fx_run(f, p.buf, p.len, NULL, NULL);
}

int fx_each_rule(struct fixture *f, void (*fn)(const char *name, uint32_t id, void *ctx), void *ctx)
{
	struct tapis_rule_meta m;

	for (uint32_t id = 1; id < tapis_rule_slots(&f->t); id++) {
		if (bpf_map_lookup_elem(f->t.map_fd[M_RULE_META], &id, &m))
			return -errno;
		if (m.in_use)
			fn(m.name, id, ctx);
	}
	return 0;
}

struct find_ctx {
	const char *name;
	uint32_t id;
};

static void find_one(const char *name, uint32_t id, void *ctx)
{
	struct find_ctx *c = ctx;

	if (!c->id && !strcmp(name, c->name))
		c->id = id;
}

uint32_t fx_rule_id(struct fixture *f, const char *rule)
{
	struct find_ctx c = {rule, 0};

	return fx_each_rule(f, find_one, &c) ? 0 : c.id;
}

/* A counter a test asks for and cannot have (no rule of that name, rule
 * id 0, a reason or stat index past the map, a failed read) is the test's
 * mistake or a broken fixture. Returned as a value (0 or -1), a "did not
 * change" check would compare it with itself and pass: the test file
 * stops instead, which the runner counts as failed. */
__attribute__((format(printf, 1, 2), noreturn)) static void fx_fatal(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("fixture: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(NULL);
	abort();
}

/* The per-CPU counters of a rule id, or the test stops. */
static void id_percpu(struct fixture *f, uint32_t id, struct tapis_counter *pc)
{
	if (!id)
		fx_fatal("counter of rule id 0 (no rule)");
	if (f->t.ncpus > 512)
		fx_fatal("%d CPUs: more than the fixture reads", f->t.ncpus);
	if (bpf_map_lookup_elem(f->t.map_fd[M_COUNTERS], &id, pc))
		fx_fatal("counter of rule id %u: %s", id, strerror(errno));
}

static void id_counter(struct fixture *f, uint32_t id, struct tapis_counter *sum)
{
	struct tapis_counter pc[512];

	memset(sum, 0, sizeof(*sum));
	id_percpu(f, id, pc);
	for (int c = 0; c < f->t.ncpus; c++) {
		sum->packets += pc[c].packets;
		sum->bytes += pc[c].bytes;
	}
}

uint64_t fx_id_packets(struct fixture *f, uint32_t id)
{
	struct tapis_counter c;

	id_counter(f, id, &c);
	return c.packets;
}

uint64_t fx_id_kind_packets(struct fixture *f, uint32_t id, unsigned kind)
{
	struct tapis_counter pc[512];
	uint64_t sum = 0;

	if (kind >= TAPIS_KIND_MAX)
		fx_fatal("counter kind %u: past TAPIS_KIND_MAX", kind);
	id_percpu(f, id, pc);
	for (int c = 0; c < f->t.ncpus; c++)
		sum += pc[c].kind_packets[kind];
	return sum;
}

static uint32_t known_rule(struct fixture *f, const char *rule)
{
	uint32_t id = fx_rule_id(f, rule);

	if (!id)
		fx_fatal("no rule named '%s' in the loaded policy", rule);
	return id;
}

uint64_t fx_rule_kind_packets(struct fixture *f, const char *rule, unsigned kind)
{
	return fx_id_kind_packets(f, known_rule(f, rule), kind);
}

int fx_flows_clear(struct fixture *f)
{
	static const int maps[] = {M_FLOWS, M_L7_STATES, M_L7_NAMES};
	struct bpf_map_info info;

	/* All three are mmapable arrays: zeroed in place, as a flow never
	 * seen leaves them. */
	for (size_t m = 0; m < sizeof(maps) / sizeof(maps[0]); m++) {
		int fd = f->t.map_fd[maps[m]];
		uint32_t len = sizeof(info);
		size_t bytes;
		void *mem;

		memset(&info, 0, sizeof(info));
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			return -errno;
		bytes = (size_t)((info.value_size + 7) & ~7u) * info.max_entries;
		mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (mem == MAP_FAILED)
			return -errno;
		memset(mem, 0, bytes);
		munmap(mem, bytes);
	}
	return 0;
}

uint64_t fx_rule_packets(struct fixture *f, const char *rule)
{
	return fx_id_packets(f, known_rule(f, rule));
}

uint64_t fx_rule_bytes(struct fixture *f, const char *rule)
{
	struct tapis_counter c;

	id_counter(f, known_rule(f, rule), &c);
	return c.bytes;
}

uint64_t fx_rule_expired(struct fixture *f, const char *rule)
{
	struct tapis_counter pc[512];
	uint64_t sum = 0;

	id_percpu(f, known_rule(f, rule), pc);
	for (int c = 0; c < f->t.ncpus; c++)
		sum += pc[c].expired;
	return sum;
}

static uint64_t sum(struct fixture *f, int map, unsigned key)
{
	uint64_t v[512] = {}, s = 0;

	if (f->t.ncpus > 512)
		fx_fatal("%d CPUs: more than the fixture reads", f->t.ncpus);
	if (bpf_map_lookup_elem(f->t.map_fd[map], &key, v))
		fx_fatal("%s %u: %s", map == M_REASONS ? "reason" : "stat", key, strerror(errno));
	for (int c = 0; c < f->t.ncpus; c++)
		s += v[c];
	return s;
}

uint64_t fx_reason(struct fixture *f, unsigned reason)
{
	return sum(f, M_REASONS, reason);
}

uint64_t fx_stat(struct fixture *f, unsigned stat)
{
	return sum(f, M_STATS, stat);
}

const char *xdp_action_name(int a)
{
	switch (a) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	default:
		return "?";
	}
}

int fx_main(struct fixture *f, const char *yaml, const struct test_case *tests, size_t n, int argc,
	    char **argv)
{
	int err = fx_setup(f, yaml), rc;

	if (err) {
		fprintf(stderr, "setup: %s\n", strerror(-err));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	rc = test_run(tests, n, argc, argv);
	fx_teardown(f);
	return rc;
}
