// SPDX-License-Identifier: GPL-2.0
/* Differential packet test: the XDP program in the kernel
 * (BPF_PROG_TEST_RUN) against the same stages compiled for user space
 * (ref.c), frame by frame, on sessions seeded from the packet builder and
 * the shared corpus and then mutated (gen.c).
 *
 * For every frame both sides must agree on the verdict, the frame the
 * program leaves (the answer of an XDP_TX, the rewritten MACs of a
 * redirect), every counter the program keeps for it (fail-open reasons,
 * stats, actions, per-rule packets, bytes, expiries and kinds) and the
 * block events it writes, which carry the name that matched. Independently
 * of both: the kernel never returns XDP_ABORTED, and answers (XDP_TX) only
 * frames "never a reflector" allows (gen.c, answer_allowed), as a rule
 * matched by name (reject or sinkhole), sent back to the sender with good
 * checksums. Unmutated builder sessions must hand the match the name they
 * were built with (the reference against the builder); a frame with a name
 * is counted on the rule the policy's words give it (oracle.c).
 *
 * A mismatch prints the frame in hex and both sides' results and is saved
 * as a reproducer in tests/fuzz/diff-regressions/ (the session's frames up
 * to it), which every run replays first.
 *
 *	test_diff [--frames N] [--seed S] [--save-dir DIR] [--replay FILE]...
 *
 * Default: 20,000 frames, seed 1 (the packet tier of make test); make
 * fuzz-diff runs 1,000,000 with a new seed. The seed is printed; the same
 * seed gives the same frames. Output: TAP lines, a figures block, and
 * "N passed, N failed" last. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "corpus.h"
#include "fixture.h"
#include "gen.h"
#include "oracle.h"
#include "pkt.h"
#include "ref.h"

static struct fixture fx;
static unsigned policy_now; /* oracle.c's policy in force */
static int use_policy(unsigned p);
static struct ring_buffer *rb;
static int ncpus;

/* ---- the kernel's side of a frame ---- */
struct kresult {
	int verdict;
	uint32_t out_len;
	uint8_t out[REF_MAX_OUT];
	struct ref_counts c; /* what this frame counted */
	unsigned n_events;
	struct tapis_event ev[REF_EVENTS];
};

static struct ref_counts k_prev; /* counters after the last frame */
static struct kresult *k_cur;

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len == sizeof(struct tapis_event) && k_cur->n_events < REF_EVENTS)
		memcpy(&k_cur->ev[k_cur->n_events], data, sizeof(struct tapis_event));
	k_cur->n_events++; /* more than REF_EVENTS shows as a count mismatch */
	return 0;
}

/* A per-CPU array's first n values, summed over CPUs, as u64 words. */
static int read_percpu(int fd, uint32_t n, size_t vsize, uint64_t *out)
{
	static uint8_t vals[REF_RULES * sizeof(struct tapis_counter) * 512];
	static uint32_t keys[REF_RULES + TAPIS_R_MAX + TAPIS_S_MAX];
	size_t words = vsize / 8, stride = (vsize + 7) & ~(size_t)7;
	uint32_t count = n, out_batch = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, o);

	if ((size_t)n * stride * ncpus > sizeof(vals) || n > sizeof(keys) / sizeof(keys[0]))
		return -E2BIG;
	if (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, vals, &count, &o) && errno != ENOENT)
		return -errno;
	if (count != n)
		return -EIO;
	memset(out, 0, n * words * 8);
	for (uint32_t k = 0; k < n; k++)
		for (int c = 0; c < ncpus; c++) {
			const uint64_t *v =
				(const uint64_t *)(vals + ((size_t)k * ncpus + c) * stride);

			for (size_t w = 0; w < words; w++)
				out[k * words + w] += v[w];
		}
	return 0;
}

static int read_counts(struct ref_counts *c)
{
	static struct tapis_counter rc[REF_RULES];
	static struct tapis_action_counter ac[TAPIS_ACT_MAX];
	int err;

	err = read_percpu(fx.t.map_fd[M_REASONS], TAPIS_R_MAX, 8, c->reasons);
	err = err ?: read_percpu(fx.t.map_fd[M_STATS], TAPIS_S_MAX, 8, c->stats);
	err = err
		      ?: read_percpu(fx.t.map_fd[M_ACTIONS], TAPIS_ACT_MAX, sizeof(ac[0]),
				     (uint64_t *)ac);
	err = err ?: read_percpu(fx.t.map_fd[M_COUNTERS], REF_RULES, sizeof(rc[0]), (uint64_t *)rc);
	if (err)
		return err;
	for (int a = 0; a < TAPIS_ACT_MAX; a++) {
		c->act_packets[a] = ac[a].packets;
		c->act_bytes[a] = ac[a].bytes;
	}
	for (int r = 0; r < REF_RULES; r++) {
		c->rule[r].packets = rc[r].packets;
		c->rule[r].bytes = rc[r].bytes;
		c->rule[r].expired = rc[r].expired;
		memcpy(c->rule[r].kind_packets, rc[r].kind_packets, sizeof(rc[r].kind_packets));
		memcpy(c->rule[r].kind_bytes, rc[r].kind_bytes, sizeof(rc[r].kind_bytes));
	}
	return 0;
}

static int k_run(const struct frame *f, struct kresult *k)
{
	struct ref_counts now;
	size_t out_len = sizeof(k->out);
	uint64_t *a = (uint64_t *)&now, *b = (uint64_t *)&k_prev, *d = (uint64_t *)&k->c;
	int err;

	k->n_events = 0;
	k_cur = k;
	k->verdict = fx_run(&fx, f->b, f->len, k->out, &out_len);
	if (k->verdict < 0)
		return k->verdict;
	k->out_len = (uint32_t)out_len;
	if (ring_buffer__consume(rb) < 0)
		return -EIO;
	err = read_counts(&now);
	if (err)
		return err;
	/* struct ref_counts is u64 words only: the delta word by word. */
	for (size_t w = 0; w < sizeof(now) / 8; w++)
		d[w] = a[w] - b[w];
	k_prev = now;
	return 0;
}

/* ---- flow tables: emptied between sessions on both sides ---- */
static const int flow_maps[3] = {M_FLOWS, M_L7_STATES, M_L7_NAMES};
static uint8_t *flow_mem[3];
static size_t flow_stride[3], flow_bytes[3];

static int flows_map(void)
{
	for (int t = 0; t < 3; t++) {
		struct bpf_map_info info = {0};
		uint32_t len = sizeof(info);
		int fd = fx.t.map_fd[flow_maps[t]];

		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			return -errno;
		flow_stride[t] = (info.value_size + 7) & ~7u;
		flow_bytes[t] = flow_stride[t] * info.max_entries;
		flow_mem[t] = mmap(NULL, flow_bytes[t], PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (flow_mem[t] == MAP_FAILED)
			return -errno;
	}
	return 0;
}

/* The slots the reference touched are the ones the kernel touched, while
 * the two agree; after a mismatch everything goes. */
static void flows_reset(bool all)
{
	for (int t = 0; t < 3; t++) {
		const uint32_t *idx;
		unsigned n;

		if (all || !ref_dirty(t, &idx, &n)) {
			memset(flow_mem[t], 0, flow_bytes[t]);
			continue;
		}
		for (unsigned i = 0; i < n; i++)
			if ((size_t)(idx[i] + 1) * flow_stride[t] <= flow_bytes[t])
				memset(flow_mem[t] + (size_t)idx[i] * flow_stride[t], 0,
				       flow_stride[t]);
	}
	ref_flows_reset(all);
}

/* ---- figures ---- */
static struct {
	uint64_t frames, sessions, mismatches, verdict[5], reason[TAPIS_R_MAX], stat[TAPIS_S_MAX];
	uint64_t names[TAPIS_KIND_MAX], kind[TAPIS_KIND_MAX], events, seeds_named, seeds_name_ok;
	uint64_t kernel_err, tx_unread, oracle_checked, oracle_skipped, reloads;
} fig;

/* ---- comparing ---- */
struct diffs {
	char text[4096];
	size_t n;
};

__attribute__((format(printf, 2, 3))) static void dif(struct diffs *d, const char *fmt, ...)
{
	va_list ap;

	if (d->n >= sizeof(d->text) - 2)
		return;
	va_start(ap, fmt);
	d->n += vsnprintf(d->text + d->n, sizeof(d->text) - d->n, fmt, ap);
	va_end(ap);
	if (d->n < sizeof(d->text) - 2)
		d->text[d->n++] = '\n', d->text[d->n] = '\0';
}

static void describe_counts(const struct ref_counts *c, char *b, size_t cap)
{
	size_t n = 0;

#define ADD(...) n += (size_t)snprintf(b + n, n < cap ? cap - n : 0, __VA_ARGS__)
	for (int i = 0; i < TAPIS_R_MAX; i++)
		if (c->reasons[i])
			ADD(" reason:%s=%llu", reason_name(i), (unsigned long long)c->reasons[i]);
	for (int i = 0; i < TAPIS_S_MAX; i++)
		if (c->stats[i])
			ADD(" stat:%s=%llu", stat_name(i), (unsigned long long)c->stats[i]);
	for (int i = 0; i < TAPIS_ACT_MAX; i++)
		if (c->act_packets[i])
			ADD(" action%d=%llu/%lluB", i, (unsigned long long)c->act_packets[i],
			    (unsigned long long)c->act_bytes[i]);
	for (int r = 0; r < REF_RULES; r++)
		for (int k = 0; k < TAPIS_KIND_MAX; k++)
			if (c->rule[r].kind_packets[k])
				ADD(" rule%d/%s=%llu", r, kind_name(k),
				    (unsigned long long)c->rule[r].kind_packets[k]);
#undef ADD
	if (n >= cap && cap)
		b[cap - 1] = '\0';
}

static void describe_events(unsigned n, const struct tapis_event *ev, char *b, size_t cap)
{
	size_t used = 0;

	b[0] = '\0';
	for (unsigned i = 0; i < n && i < REF_EVENTS && used < cap; i++)
		used += (size_t)snprintf(
			b + used, cap - used, " event(rule %u action %u kind %s name \"%.*s\")",
			ev[i].rule, ev[i].action, kind_name(ev[i].kind),
			(int)(ev[i].name_len < 256 ? ev[i].name_len : 0), ev[i].name);
}

static bool event_eq(const struct tapis_event *a, const struct tapis_event *b)
{
	/* tai_ns and ifindex are the moment and the device: not the frame's. */
	return a->rule == b->rule && a->action == b->action && a->kind == b->kind &&
	       a->family == b->family && a->l4proto == b->l4proto && a->sport == b->sport &&
	       a->dport == b->dport && !memcmp(a->saddr, b->saddr, 16) &&
	       !memcmp(a->daddr, b->daddr, 16) && a->name_len == b->name_len &&
	       a->name_len <= TAPIS_EVENT_NAME && !memcmp(a->name, b->name, a->name_len);
}

static void compare(const struct kresult *k, const struct ref_result *r, struct diffs *d)
{
	if (k->verdict != r->verdict)
		dif(d, "verdict: kernel %s, reference %s", xdp_action_name(k->verdict),
		    xdp_action_name(r->verdict));
	if (k->out_len != r->out_len || memcmp(k->out, r->out, k->out_len))
		dif(d, "frame out: kernel %u bytes, reference %u bytes, differ", k->out_len,
		    r->out_len);
	for (int i = 0; i < TAPIS_R_MAX; i++)
		if (k->c.reasons[i] != r->c.reasons[i])
			dif(d, "reason %s: kernel %llu, reference %llu", reason_name(i),
			    (unsigned long long)k->c.reasons[i],
			    (unsigned long long)r->c.reasons[i]);
	for (int i = 0; i < TAPIS_S_MAX; i++)
		if (k->c.stats[i] != r->c.stats[i])
			dif(d, "stat %s: kernel %llu, reference %llu", stat_name(i),
			    (unsigned long long)k->c.stats[i], (unsigned long long)r->c.stats[i]);
	for (int i = 0; i < TAPIS_ACT_MAX; i++)
		if (k->c.act_packets[i] != r->c.act_packets[i] ||
		    k->c.act_bytes[i] != r->c.act_bytes[i])
			dif(d, "action %d: kernel %llu/%lluB, reference %llu/%lluB", i,
			    (unsigned long long)k->c.act_packets[i],
			    (unsigned long long)k->c.act_bytes[i],
			    (unsigned long long)r->c.act_packets[i],
			    (unsigned long long)r->c.act_bytes[i]);
	for (int i = 0; i < REF_RULES; i++)
		if (memcmp(&k->c.rule[i], &r->c.rule[i], sizeof(r->c.rule[i])))
			dif(d, "rule %d counters: kernel %llu packets, reference %llu", i,
			    (unsigned long long)k->c.rule[i].packets,
			    (unsigned long long)r->c.rule[i].packets);
	if (k->n_events != r->n_events)
		dif(d, "events: kernel %u, reference %u", k->n_events, r->n_events);
	for (unsigned i = 0; i < k->n_events && i < r->n_events && i < REF_EVENTS; i++)
		if (!event_eq(&k->ev[i], &r->ev[i]))
			dif(d, "event %u differs (rule, action, kind, addresses, ports or name)",
			    i);
}

/* Rule ids of the oracle's table rows. */
static uint32_t row_id[64];

/* A frame whose stage found a name: counted on the rule the policy's
 * words give it (oracle.c), as a name match or an address match. Frames
 * the test library cannot read the addresses of (PPP protocol-field
 * compression, tunnels) are counted, not checked. */
static void check_oracle(const struct frame *f, const struct kresult *k, const struct ref_result *r,
			 struct diffs *d)
{
	struct pkt_view v;
	struct oracle_hit h;
	int counted = -1, kind = -1, n = 0;

	if (!r->name_len)
		return;
	if (pkt_parse(f->b, f->len, &v) || v.ip_n != 1 || !v.has_l4) {
		fig.oracle_skipped++;
		return;
	}
	fig.oracle_checked++;
	h = oracle_match(r->name, r->name_len, v.family == AF_INET ? 4 : 6, v.src, v.dst);
	for (int i = 0; i < REF_RULES; i++)
		for (int j = 0; j < TAPIS_KIND_MAX; j++)
			if (k->c.rule[i].kind_packets[j]) {
				counted = i;
				kind = j;
				n++;
			}
	if (h.rule < 0) {
		if (n)
			dif(d,
			    "name \"%.*s\": the policy matches no rule, kernel counted rule %d "
			    "(%s)",
			    (int)r->name_len, r->name, counted, kind_name(kind));
		return;
	}
	if (n != 1 || counted != (int)row_id[h.rule] ||
	    kind != (h.by_host ? (int)r->name_kind : TAPIS_KIND_NET))
		dif(d,
		    "name \"%.*s\": the policy gives rule %s (id %u) by %s, kernel counted %d "
		    "rule(s), "
		    "last %d (%s)",
		    (int)r->name_len, r->name, oracle_rule_name(h.rule), row_id[h.rule],
		    h.by_host ? "name" : "address", n, counted, kind >= 0 ? kind_name(kind) : "-");
}

/* The checks that need neither side to be right. */
static void check_alone(const struct frame *f, const struct kresult *k, struct diffs *d)
{
	const char *why;
	struct pkt_view in, out;

	if (k->verdict < XDP_DROP || k->verdict > XDP_REDIRECT)
		dif(d, "kernel returned %s (%d)", xdp_action_name(k->verdict), k->verdict);
	if (k->verdict == XDP_REDIRECT && k->c.act_packets[TAPIS_ACT_REDIRECT] != 1)
		dif(d, "XDP_REDIRECT without a redirect rule");
	if (k->verdict != XDP_TX)
		return;
	if (!answer_allowed(f->b, f->len, &why))
		dif(d, "XDP_TX to a frame never a reflector refuses: %s", why);
	/* What the counters say, events being off in one policy. */
	{
		uint64_t by_name = 0;

		for (int i = 0; i < REF_RULES; i++)
			by_name += k->c.rule[i].kind_packets[TAPIS_KIND_DNS] +
				   k->c.rule[i].kind_packets[TAPIS_KIND_TLS] +
				   k->c.rule[i].kind_packets[TAPIS_KIND_HTTP];
		if (by_name != 1 ||
		    k->c.act_packets[TAPIS_ACT_REJECT] + k->c.act_packets[TAPIS_ACT_SINKHOLE] != 1)
			dif(d, "XDP_TX without a reject or sinkhole rule matched by name");
	}
	/* The parse-back reads what the test library reads: no PPP
	 * protocol-field compression. Such answers are counted, not read. */
	if (pkt_parse(f->b, f->len, &in) || !in.has_l4) {
		fig.tx_unread++;
		return;
	}
	if (pkt_parse(k->out, k->out_len, &out) || !out.has_l4)
		dif(d, "XDP_TX frame does not parse back: %s", out.err ? out.err : "no L4");
	else if (memcmp(out.eth_dst, in.eth_src, 6) || memcmp(out.dst, in.src, 16) ||
		 out.dport != in.sport || out.sport != in.dport)
		dif(d, "XDP_TX frame not addressed back to the sender");
	else if ((out.family == AF_INET && !ipv4_hdr_csum_ok(&out)) || !l4_csum_ok(&out))
		dif(d, "XDP_TX frame with a bad checksum");
}

static void tally(const struct kresult *k, const struct ref_result *r)
{
	fig.frames++;
	if (k->verdict >= 0 && k->verdict <= 4)
		fig.verdict[k->verdict]++;
	for (int i = 0; i < TAPIS_R_MAX; i++)
		fig.reason[i] += k->c.reasons[i] ? 1 : 0;
	for (int i = 0; i < TAPIS_S_MAX; i++)
		fig.stat[i] += k->c.stats[i];
	if (r->name_len && r->name_kind < TAPIS_KIND_MAX)
		fig.names[r->name_kind]++;
	for (int i = 0; i < REF_RULES; i++)
		for (int j = 0; j < TAPIS_KIND_MAX; j++)
			fig.kind[j] += k->c.rule[i].kind_packets[j];
	fig.events += k->n_events;
}

static void hex(FILE *o, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(o, "%02x", b[i]);
}

/* ---- reproducers ---- */
static const char *save_dir = "tests/fuzz/diff-regressions";
static unsigned saved;

static void save(uint64_t seed, uint64_t sess, const struct session *s, unsigned upto,
		 const char *what)
{
	char path[1024];
	FILE *o;

	if (saved >= 20)
		return;
	snprintf(path, sizeof(path), "%s/diff-%llu-%llu.txt", save_dir, (unsigned long long)seed,
		 (unsigned long long)sess);
	o = fopen(path, "w");
	if (!o) {
		fprintf(stderr, "diff: cannot save %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(o, "# tapis differential reproducer: seed %llu, session %llu (%s), frame %u\n",
		(unsigned long long)seed, (unsigned long long)sess, s->origin, upto);
	fprintf(o, "# policy %u\n", policy_now);
	for (const char *p = what; *p;) {
		size_t l = strcspn(p, "\n");

		fprintf(o, "# %.*s\n", (int)l, p);
		p += l + (p[l] ? 1 : 0);
	}
	for (unsigned i = 0; i <= upto; i++) {
		hex(o, s->f[i].b, s->f[i].len);
		fputc('\n', o);
	}
	if (fclose(o) == 0) {
		saved++;
		fprintf(stderr, "diff: reproducer saved: %s\n", path);
	}
}

static void report(const char *tag, unsigned fi, const struct frame *f, const struct kresult *k,
		   const struct ref_result *r, const struct diffs *d)
{
	char kc[1024], rc[1024], ke[1200], re[1200];

	describe_counts(&k->c, kc, sizeof(kc));
	describe_counts(&r->c, rc, sizeof(rc));
	describe_events(k->n_events, k->ev, ke, sizeof(ke));
	describe_events(r->n_events, r->ev, re, sizeof(re));
	fprintf(stderr, "MISMATCH %s frame %u, %u bytes:\n%s", tag, fi, f->len, d->text);
	fprintf(stderr, "  frame: ");
	hex(stderr, f->b, f->len);
	fprintf(stderr, "\n  kernel:    %s%s%s\n", xdp_action_name(k->verdict), kc, ke);
	fprintf(stderr, "  reference: %s%s%s name \"%s\" (%s)\n", xdp_action_name(r->verdict), rc,
		re, r->name, r->name_len ? kind_name(r->name_kind % TAPIS_KIND_MAX) : "none");
}

/* One frame through both sides: true when they agree and the checks hold. */
static bool one(const char *tag, unsigned fi, const struct frame *f, struct ref_result *r,
		struct diffs *d)
{
	static struct kresult k;
	int err;

	d->n = 0;
	d->text[0] = '\0';
	err = k_run(f, &k);
	if (err) {
		fig.kernel_err++;
		dif(d, "kernel test run failed: %s", strerror(-err));
		fprintf(stderr, "MISMATCH %s frame %u: %s", tag, fi, d->text);
		return false;
	}
	if (ref_run(f->b, f->len, r)) {
		dif(d, "reference refused a %u-byte frame", f->len);
		return false;
	}
	compare(&k, r, d);
	check_alone(f, &k, d);
	check_oracle(f, &k, r, d);
	tally(&k, r);
	if (d->n) {
		if (fig.mismatches < 10)
			report(tag, fi, f, &k, r, d);
		return false;
	}
	return true;
}

static bool name_eq(const char *got, const char *want)
{
	size_t n = strlen(want);

	if (n && want[n - 1] == '.')
		n--;
	return strlen(got) == n && !strncasecmp(got, want, n);
}

/* ---- the run ---- */
static unsigned tests_passed, tests_failed;

static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %u - ", ok ? "ok" : "not ok", tests_passed + tests_failed + 1);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		tests_passed++;
	else
		tests_failed++;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

static bool replay(const char *path)
{
	static struct session s;
	static struct ref_result r;
	struct diffs d;
	char line[2 * FRAME_MAX + 8];
	FILE *in = fopen(path, "r");
	unsigned policy = 0; /* reproducers from before there were two */
	bool ok = true;

	if (!in) {
		fprintf(stderr, "diff: %s: %s\n", path, strerror(errno));
		return false;
	}
	s.n = 0;
	while (fgets(line, sizeof(line), in)) {
		size_t l = strcspn(line, "\r\n");
		struct frame *f;

		if (!strncmp(line, "# policy ", 9))
			policy = (unsigned)atoi(line + 9);
		if (line[0] == '#' || !l)
			continue;
		if (s.n == SESS_MAX || l % 2 || l / 2 < FRAME_MIN || l / 2 > FRAME_MAX) {
			fprintf(stderr, "diff: %s: a frame line that is not a frame\n", path);
			ok = false;
			break;
		}
		f = &s.f[s.n++];
		f->len = (uint32_t)(l / 2);
		for (size_t i = 0; i < f->len; i++) {
			if (!isxdigit((unsigned char)line[2 * i]) ||
			    !isxdigit((unsigned char)line[2 * i + 1]))
				ok = false;
			f->b[i] = (uint8_t)(hexval(line[2 * i]) << 4 | hexval(line[2 * i + 1]));
		}
	}
	fclose(in);
	if (!ok || !s.n)
		return false;
	if (policy != policy_now && use_policy(policy))
		return false;
	flows_reset(true);
	for (unsigned i = 0; i < s.n; i++)
		ok &= one(path, i, &s.f[i], &r, &d);
	return ok;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_dir(void)
{
	struct dirent *e;
	char *names[1024];
	unsigned n = 0;
	DIR *dir = opendir(save_dir);

	if (!dir)
		return;
	while ((e = readdir(dir)) && n < 1024) {
		size_t l = strlen(e->d_name);

		if (l > 4 && !strcmp(e->d_name + l - 4, ".txt"))
			names[n++] = strdup(e->d_name);
	}
	closedir(dir);
	qsort(names, n, sizeof(names[0]), by_name);
	for (unsigned i = 0; i < n; i++) {
		char path[1024];

		snprintf(path, sizeof(path), "%s/%s", save_dir, names[i]);
		tap(replay(path), "regression %s", path);
		free(names[i]);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void figures(double secs)
{
	static const char *const vname[5] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					     "XDP_REDIRECT"};

	printf("# %llu frames in %llu sessions, %.1f s, %.0f frames/s, %llu policy reloads\n",
	       (unsigned long long)fig.frames, (unsigned long long)fig.sessions, secs,
	       secs > 0 ? fig.frames / secs : 0.0, (unsigned long long)fig.reloads);
	printf("# verdicts:");
	for (int i = 0; i < 5; i++)
		printf(" %s %llu", vname[i], (unsigned long long)fig.verdict[i]);
	printf("\n# frames by fail-open reason:");
	for (int i = 1; i < TAPIS_R_MAX; i++)
		if (fig.reason[i])
			printf(" %s %llu", reason_name(i), (unsigned long long)fig.reason[i]);
	printf("\n# stats:");
	for (int i = 1; i < TAPIS_S_MAX; i++)
		if (fig.stat[i])
			printf(" %s %llu", stat_name(i), (unsigned long long)fig.stat[i]);
	printf("\n# names found (reference): dns %llu, tls %llu, http %llu; events %llu\n",
	       (unsigned long long)fig.names[TAPIS_KIND_DNS],
	       (unsigned long long)fig.names[TAPIS_KIND_TLS],
	       (unsigned long long)fig.names[TAPIS_KIND_HTTP], (unsigned long long)fig.events);
	printf("# frames counted on a rule, by kind (kernel):");
	for (int i = 0; i < TAPIS_KIND_MAX; i++)
		printf(" %s %llu", kind_name(i), (unsigned long long)fig.kind[i]);
	printf("\n");
	printf("# unmutated named seeds: %llu, name found as built: %llu\n",
	       (unsigned long long)fig.seeds_named, (unsigned long long)fig.seeds_name_ok);
	printf("# frames with a name checked against the policy's words: %llu (%llu not read: "
	       "PPP PFC, tunnels)\n",
	       (unsigned long long)fig.oracle_checked, (unsigned long long)fig.oracle_skipped);
	printf("# XDP_TX answers the test library cannot parse back (PPP PFC): %llu\n",
	       (unsigned long long)fig.tx_unread);
}

static int events_reader_on(void)
{
	struct tapis_ctl ctl = {.events_reader = 1};
	uint32_t k = TAPIS_CTL_EVENTS;

	if (bpf_map_update_elem(fx.t.map_fd[M_CTL], &k, &ctl, BPF_ANY))
		return -errno;
	return 0;
}

/* Put the oracle's policy p in force on both sides: the kernel through a
 * reload (a generation flip, as `tapis reload` makes it), the reference by
 * reading the new generation's tables. Flows start empty. */
static int use_policy(unsigned p)
{
	static unsigned loads;
	static FILE *quiet;
	int err = 0;

	oracle_select(p);
	policy_now = p;
	/* Each policy's warnings (its expired rules) are shown once. */
	if (++loads > oracle_policies() && !quiet) {
		quiet = fopen("/dev/null", "w");
		if (quiet)
			policy_set_diag(quiet);
	}
	if (loads > 1) /* the first is fx_setup()'s */
		err = fx_policy(&fx, oracle_policy_yaml());
	/* This harness reads the events, as `tapis events` would: the data
	 * path writes them only while a reader says so. */
	err = err ?: events_reader_on();
	err = err ?: ref_init(fx.t.map_fd);
	if (err)
		return err;
	memset(row_id, 0, sizeof(row_id));
	for (unsigned i = 0; oracle_rule_name(i); i++) {
		if (i >= sizeof(row_id) / sizeof(row_id[0]))
			return -E2BIG;
		row_id[i] = fx_rule_id(&fx, oracle_rule_name(i));
		if (!row_id[i] || row_id[i] >= REF_RULES) {
			fprintf(stderr,
				"diff: rule %s not loaded, or its id past the compared ones\n",
				oracle_rule_name(i));
			return -ENOENT;
		}
	}
	flows_reset(true);
	return read_counts(&k_prev);
}

static int setup(void)
{
	cpu_set_t one_cpu;
	int err, cpu = sched_getcpu();

	/* One CPU: the per-CPU scratch and counters the kernel keeps are
	 * then those of one CPU, as the reference keeps one set. */
	CPU_ZERO(&one_cpu);
	CPU_SET(cpu < 0 ? 0 : cpu, &one_cpu);
	if (sched_setaffinity(0, sizeof(one_cpu), &one_cpu))
		return -errno;
	oracle_select(0);
	err = fx_setup(&fx, oracle_policy_yaml());
	if (err)
		return err;
	ncpus = fx.t.ncpus;
	err = flows_map();
	if (err)
		return err;
	rb = ring_buffer__new(fx.t.map_fd[M_EVENTS], on_event, NULL, NULL);
	if (!rb)
		return -errno;
	return use_policy(0);
}

int main(int argc, char **argv)
{
	static struct session s;
	static struct ref_result r;
	uint64_t frames = 20000, seed = 1, every, next_switch;
	struct rng rng;
	struct diffs d;
	char corpus[512];
	const char *replays[64];
	unsigned n_replays = 0;
	double t0;
	int err, n_corpus;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--frames") && i + 1 < argc)
			frames = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--save-dir") && i + 1 < argc)
			save_dir = argv[++i];
		else if (!strcmp(argv[i], "--replay") && i + 1 < argc && n_replays < 64)
			replays[n_replays++] = argv[++i];
		else {
			fprintf(stderr,
				"usage: %s [--frames N] [--seed S] [--save-dir DIR] [--replay "
				"FILE]...\n",
				argv[0]);
			return 2;
		}
	}
	err = setup();
	if (err) {
		fprintf(stderr, "diff: setup: %s\n", strerror(-err));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	if (n_replays) {
		for (unsigned i = 0; i < n_replays; i++)
			tap(replay(replays[i]), "replay %s", replays[i]);
		goto out;
	}
	replay_dir();

	n_corpus = gen_load_corpus(corpus_find(corpus, sizeof(corpus)) ? corpus : NULL);
	printf("# seed %llu (--seed %llu repeats this run), %llu frames, corpus: %d frames%s\n",
	       (unsigned long long)seed, (unsigned long long)seed, (unsigned long long)frames,
	       n_corpus, n_corpus ? "" : " (none found: builder seeds only)");
	fflush(stdout);
	rng.s = seed;
	memset(&fig, 0, sizeof(fig));
	/* The first policy is in force; the next takes over after `every`
	 * frames, and so on: twice each at the default 20,000 frames, twenty
	 * reloads in a million. */
	every = frames / 4 < 50000 ? frames / 4 : 50000;
	if (!every)
		every = frames + 1;
	next_switch = every;
	t0 = now_s();
	while (fig.frames < frames) {
		bool named = false, agree = true, whole;

		uint64_t first = fig.frames;

		/* Every policy in turn, each for a share of the frames. */
		if (fig.frames >= next_switch) {
			next_switch += every;
			err = use_policy((policy_now + 1) % oracle_policies());
			if (err) {
				fprintf(stderr, "diff: reload: %s\n", strerror(-err));
				tap(false, "reload to policy %u",
				    (policy_now + 1) % oracle_policies());
				break;
			}
			fig.reloads++;
		}
		gen_session(&rng, &s);
		fig.sessions++;
		flows_reset(fig.sessions % 4096 == 0);
		for (unsigned i = 0; i < s.n && fig.frames < frames; i++) {
			char tag[160];

			snprintf(tag, sizeof(tag), "seed %llu session %llu (%s%s)",
				 (unsigned long long)seed, (unsigned long long)fig.sessions,
				 s.origin, s.mutated ? ", mutated" : "");
			if (!one(tag, i, &s.f[i], &r, &d)) {
				fig.mismatches++;
				save(seed, fig.sessions, &s, i, d.text);
				flows_reset(true);
				agree = false;
				break;
			}
			if (s.expect_name[0] && r.name_kind == (uint32_t)s.expect_kind &&
			    name_eq(r.name, s.expect_name))
				named = true;
		}
		/* The last session may stop at the frame budget, before the
		 * frame with the name. */
		whole = fig.frames - first == s.n;
		if (s.expect_name[0] && agree && whole &&
		    oracle_port(s.expect_kind - TAPIS_KIND_DNS, s.expect_port)) {
			fig.seeds_named++;
			if (named) {
				fig.seeds_name_ok++;
			} else {
				fig.mismatches++;
				if (fig.mismatches <= 10)
					fprintf(stderr,
						"MISMATCH seed %llu session %llu (%s): built with "
						"name \"%s\", "
						"the reference found none\n",
						(unsigned long long)seed,
						(unsigned long long)fig.sessions, s.origin,
						s.expect_name);
				d.n = (size_t)snprintf(
					d.text, sizeof(d.text),
					"built with name \"%s\", the reference found none",
					s.expect_name);
				save(seed, fig.sessions, &s, s.n - 1, d.text);
			}
		}
	}
	tap(fig.mismatches == 0, "differential: %llu frames, %llu sessions, %llu mismatches",
	    (unsigned long long)fig.frames, (unsigned long long)fig.sessions,
	    (unsigned long long)fig.mismatches);
	figures(now_s() - t0);
out:
	ring_buffer__free(rb);
	ref_fini();
	fx_teardown(&fx);
	printf("%u passed, %u failed\n", tests_passed, tests_failed);
	return tests_failed ? 1 : 0;
}
