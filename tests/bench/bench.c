// SPDX-License-Identifier: GPL-2.0
/*
 * bench.c - `make bench`: what each packet costs in tapis, beside a trivial
 * XDP_PASS program measured in the same round (issue 3).
 *
 *   tapis-bench [--smoke] [--policy-dir DIR] [--rounds N] [--repeat N]
 *               [--cold N] [--cold-inside PCT] [--cpu N] [--json FILE]
 *               [--seed N] [--only SUBSTR] [--goals bench|small] [--refs-only]
 *   tapis-bench live-...   helpers for tests/bench/live.sh (livegen.c)
 *
 * --cold-inside sets the share of cold destinations inside the policy
 * (default 50), and of listed names in dns-5label-nomatch; --only runs the
 * scenarios whose name contains SUBSTR, --refs-only those that have
 * references (the address and DNS rows: what the small policy's goals
 * are about). The environment variable
 * TAPIS_BENCH_ONLY=tapis|pass runs one side only, so that a profiler sees
 * one program (ratios are then meaningless).
 *
 * The real tapis object is loaded unpinned (tapis_create(&t, NULL)) and the
 * generated policy goes in through the real parser and compiler
 * (policy_parse_file + tapis_install), timed. The baseline is
 * build/xdp_pass.bpf.o through its skeleton.
 *
 * Per scenario (one packet shape built with tests/lib/pkt.h), three regimes:
 *  hot   one packet, BPF_PROG_TEST_RUN with repeat R (>= 1,000,000): the
 *        kernel reports the mean duration per run (integer ns, so figures
 *        near 20 ns carry +-1 ns of truncation).
 *  warm  the hot packet, but one call per packet (repeat=1) like cold:
 *        the per-call floor without random addresses, so cold - warm is
 *        what the random addresses cost.
 *  cold  N (>= 65,536) different packets, addresses drawn at random, run one
 *        after another. The cold packets cannot share one test-run call: in
 *        plain mode the kernel repeats the single input frame, and with
 *        BPF_F_TEST_XDP_LIVE_FRAMES the frames of one call are copies of the
 *        same data as well. So every packet is its own call with repeat=1,
 *        for tapis and for XDP_PASS alike, and the figure is the sum of the
 *        kernel-reported durations over N. The per-call overhead is thereby
 *        kept out of the measurement except for what the kernel's timer
 *        wraps around one run (ktime_get_ns, local_bh_disable/enable, the
 *        run context), which is the same constant for both programs: it
 *        lifts XDP_PASS's cold figure above its hot one and compresses cold
 *        ratios, so the absolute difference (tapis - XDP_PASS, "+ns") is
 *        printed beside the ratio. The syscall between packets also evicts
 *        part of L1/L2, which is what a NIC driver's own work does too.
 *        Cold mix: destinations half inside the policy (a random prefix of
 *        any rule, random host bits) and half outside every prefix; sources
 *        outside the policy. For the "blocked" scenario every destination
 *        is inside a prefix of a drop rule.
 *        DNS scenarios (issue 4): a query (RD, EDNS OPT, type A) for a
 *        5-label name, over UDP or, behind its length prefix, over TCP,
 *        to port 53. Hot names: "img.static.cdn." in front of a 2-label
 *        drop pattern of the policy ("match"), or in front of the same
 *        domain altered until no pattern holds it ("nomatch"). Cold: the
 *        addresses as above, and 65,536 different names in random letter
 *        case: for "match" every name is under a random drop pattern (as
 *        every "blocked" destination is inside a drop prefix), for
 *        "nomatch" half of them are (every other pair of packets, so
 *        independent of the address draw) and half under no pattern.
 *        Matches use a drop rule, not reject or sinkhole: those rewrite the
 *        frame into the answer, and a repeated run would then time the
 *        answer, a response, which passes.
 *        TCP scenarios with per-flow state (tapis_flows persists between
 *        test runs; each such scenario has a client port of its own, so
 *        no verdict leaks into another's hot packet). Names: the DNS
 *        scenarios' hot names as SNI or Host; cold names all listed
 *        ("match") or all unlisted ("nomatch"), never mixed.
 *        - a packet that leaves a verdict (tls-ch-match, http-get-match:
 *          the name is blocked, the flow is remembered) cannot repeat: the
 *          second run would meet the verdict, not the parser. Hot is then
 *          one call per packet (repeat=1) over N calls, the flow's slot
 *          cleared before each call, untimed, by a store into tapis_flows
 *          mapped into the bench (mmap), not a system call, so the timed
 *          call follows nothing else: it is the warm regime. XDP_PASS runs
 *          the same loop. What that regime adds is measured on a twin
 *          that can repeat: the same stage, the same match and rule, under
 *          a monitor pattern (tls-ch-monitor, http-get-monitor): its warm
 *          less its hot. What a call adds grows with the cache lines and
 *          branches a packet touches, and the monitor twin touches all the
 *          listed packet's but the flow slot's write (and the event
 *          gate's, which it does not reach: no `tapis events` reads in the
 *          bench's rows, tapis_ctl[TAPIS_CTL_EVENTS]) (the unlisted twin used until 2026-12-06
 * reads no index slot, rule or counter, so it charged those misses to the budget). The budget is
 * judged on the hot-equivalent, the per-call +ns less that.
 *        - tls-ch-split2: a ClientHello with a 1216-byte key_share and the
 *          SNI last, cut at min(1460, the server_name extension), so the
 *          whole extension is in the second segment. The first segment
 *          runs once (repeat=1); what it left (its flow's slot and L7
 *          state entries) is saved and put back in place through mmap
 *          before each timed second segment (repeat=1): the warm regime
 *          again, judged on the hot-equivalent the same way.
 *          Cold: N flows, each first segment right before its second.
 *        - blocked-flow: the blocking hello runs once (untimed), then a
 *          200-byte client segment of that flow repeats (hot, warm): every
 *          run meets the verdict. Cold: N flows, each hello right before
 *          its timed segment (so that flow's entry has just been
 *          written: cold means random flows and addresses, not an entry
 *          out of cache).
 *        The budgets of these rows are added ns over XDP_PASS, hot.
 *        redirect: the generated policy has no redirect rule, so one is
 *        added in memory after parsing (bench-redirect, REDIR_NET, to lo
 *        with a fixed next-hop MAC); test runs return XDP_REDIRECT without
 *        sending. tcp22-nomatch: a SYN to a port of no L7 stage.
 * Rounds (>= 7) interleave tapis and XDP_PASS, alternating which goes
 * first; each round's ratio is tapis / XDP_PASS of that round, and the
 * printed ratio is the median of those ratios.
 *
 * References (issue 11, refs.c): the address rows (ipv4/ipv6, nomatch and
 * blocked) and the DNS query rows also run, in every round and regime,
 * XDP_DROP and the memory floors (bpf/bench_floor.bpf.c: one read per
 * direction in an array the size of tapis's address tables as loaded, of
 * its name tables, 64 MiB, 1 MiB, 256 KiB), and the address rows the
 * kernel LPM trie of the policy's prefixes (bpf/bench_lpm.bpf.c); the order
 * of the programs rotates by round. Each is printed as ns, extra over
 * XDP_PASS and tapis's extra over its extra, median and min-max over the
 * rounds (hot and cold; warm in the JSON). The goals of issue 11 that a run
 * can judge follow as met / NOT MET rows (--goals bench: the bench policy;
 * small: the small policy of gen_bench_policy.py --small).
 *
 * Also measured: load time (parse, create, install), a live `net add` on
 * the loaded handle, kernel memory of tapis's maps (memlock from
 * /proc/self/fdinfo, which is what `bpftool map show -j` reports as
 * bytes_memlock), found without knowing the tables' layout (maps_mem.c),
 * in all and per table (IPv4 and IPv6 per prefix, names per name), and the
 * RSS high-water mark. Everything goes to the JSON file; nothing here asserts
 * a timing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "bench.h"
#include "compile.h"
#include "hostname.h"
#include "log.h"
#include "pkt.h"
#include "policy.h"
#include "tapis.h"
#include "xdp_pass.skel.h"

/* ---- scenarios ---------------------------------------------------------- */
enum encap { E_PLAIN, E_VLAN, E_QINQ, E_PPPOE, E_MPLS };
/* L7_TLS .. L7_FLOW: TCP with per-flow state (tapis_flows), see enum setup */
enum l7 {
	L7_NONE,
	L7_DNS_UDP,
	L7_DNS_TCP,
	L7_TLS,	       /* a ClientHello in one segment, SNI = the name */
	L7_TLS_SPLIT2, /* second segment of a PQ-size ClientHello, SNI in it */
	L7_HTTP,       /* GET with Host = the name, one segment */
	L7_FLOW,       /* 200 B client data on a flow its ClientHello got blocked */
};

/* What tapis_flows must hold for the timed packet, and how the bench gets
 * it there without timing it. The same steps run around XDP_PASS. */
enum setup {
	S_NONE,	 /* stateless: the same packet can repeat */
	S_RESET, /* the packet leaves a verdict (a blocked name): the flow's entry
		  * is deleted (bpf_map_delete_elem) before every timed call, so
		  * each call parses the hello again; hot = one call a packet */
	S_FIRST, /* the first segment (repeat=1) before every timed call */
	S_ONCE,	 /* the blocking hello once (hot, warm) or per cold packet
		  * before it; then every run of the packet hits the verdict */
};

struct scenario {
	const char *name;
	const char *what;
	int family; /* 4 or 6 */
	enum encap encap;
	bool blocked; /* destination inside a drop prefix */
	uint16_t dport;
	uint8_t tcp_flags;
	size_t payload;	     /* TCP payload bytes (TLS application data) */
	const char *pending; /* a later capability: listed, not run */
	/* issue 3 budgets, ratio to XDP_PASS (0: none) */
	double budget_hot, budget_cold;
	double budget_add; /* encapsulations: hot ratio - plain IPv4's */
	enum l7 l7;	   /* DNS query over UDP or TCP (payload: the query) */
	bool listed;	   /* the query's name is under a pattern of a drop rule */
	enum setup setup;  /* flow state the timed packet needs */
	double budget_ns;  /* hot budget in added ns over XDP_PASS (0: none) */
	bool redirect;	   /* destination inside the bench-redirect prefix */
	bool monitored;	   /* the name is under bench-monitor's pattern */
	/* per call (S_RESET, S_FIRST): the repeatable scenario whose warm -
	 * hot difference is what one call a packet adds (hot_equiv) */
	const char *twin;
};

/* A 5-label name: the DNS scenarios' query names (hosts below). */
#define DNS_LABELS 5

/* The table grows with each capability; a row with pending set is listed,
 * not run. */
static const struct scenario SCEN[] = {
	{"ipv4-nomatch", "IPv4 TCP SYN 64 B, no prefix matches", 4, E_PLAIN, false, 80, PKT_TCP_SYN,
	 0, NULL, 1.5, 5.0, 0, L7_NONE, false, S_NONE, 0, false, false, NULL},
	{"ipv6-nomatch", "IPv6 TCP SYN, no prefix matches", 6, E_PLAIN, false, 80, PKT_TCP_SYN, 0,
	 NULL, 1.5, 8.0, 0, L7_NONE, false, S_NONE, 0, false, false, NULL},
	{"ipv4-blocked", "IPv4 TCP SYN inside a drop prefix", 4, E_PLAIN, true, 80, PKT_TCP_SYN, 0,
	 NULL, 1.7, 0, 0, L7_NONE, false, S_NONE, 0, false, false, NULL},
	/* issue 11: the cold goal covers both families inside a blocked range */
	{"ipv6-blocked", "IPv6 TCP SYN inside a drop prefix", 6, E_PLAIN, true, 80, PKT_TCP_SYN, 0,
	 NULL, 0, 0, 0, L7_NONE, false, S_NONE, 0, false, false, NULL},
	{"ipv4-vlan", "ipv4-nomatch behind 802.1Q", 4, E_VLAN, false, 80, PKT_TCP_SYN, 0, NULL, 0,
	 0, 0.2, L7_NONE, false, S_NONE, 0, false, false, NULL},
	{"ipv4-qinq", "ipv4-nomatch behind 802.1ad + 802.1Q", 4, E_QINQ, false, 80, PKT_TCP_SYN, 0,
	 NULL, 0, 0, 0.2, L7_NONE, false, S_NONE, 0, false, false, NULL},
	{"ipv4-pppoe", "ipv4-nomatch in a PPPoE session", 4, E_PPPOE, false, 80, PKT_TCP_SYN, 0,
	 NULL, 0, 0, 0.2, L7_NONE, false, S_NONE, 0, false, false, NULL},
	{"ipv4-mpls", "ipv4-nomatch under 2 MPLS labels", 4, E_MPLS, false, 80, PKT_TCP_SYN, 0,
	 NULL, 0, 0, 0.2, L7_NONE, false, S_NONE, 0, false, false, NULL},
	{"tcp443-data", "IPv4 TCP data (200 B TLS record) to port 443, no flow", 4, E_PLAIN, false,
	 443, PKT_TCP_ACK | PKT_TCP_PSH, 200, NULL, 0, 0, 0, L7_NONE, false, S_NONE, 0, false,
	 false, NULL},
	/* issue 4: <= 4x XDP_PASS hot. drop, not reject/sinkhole: those
	 * rewrite the frame into the answer (XDP_TX), and with repeat > 1 the
	 * later runs would see the answer, a response, which passes. */
	{"dns-5label-match", "DNS query (UDP), 5-label name under a listed drop pattern", 4,
	 E_PLAIN, false, 53, 0, 0, NULL, 4.0, 0, 0, L7_DNS_UDP, true, S_NONE, 0, false, false,
	 NULL},
	{"dns-5label-nomatch", "DNS query (UDP), 5-label name under no pattern", 4, E_PLAIN, false,
	 53, 0, 0, NULL, 4.0, 0, 0, L7_DNS_UDP, false, S_NONE, 0, false, false, NULL},
	{"dns-tcp-match", "DNS query over TCP (length prefix), 5-label listed name", 4, E_PLAIN,
	 false, 53, PKT_TCP_ACK | PKT_TCP_PSH, 0, NULL, 4.0, 0, 0, L7_DNS_TCP, true, S_NONE, 0,
	 false, false, NULL},
	/* hostnames in TCP (TLS SNI, HTTP Host), flows and redirect. Names:
	 * the DNS scenarios' hot names; cold names are all listed ("match")
	 * or all unlisted, so that a cold "nomatch" leaves no verdict. Budgets
	 * are added ns over XDP_PASS, hot. */
	{.name = "tls-ch-match",
	 .what = "ClientHello in one segment, SNI under a drop pattern",
	 .family = 4,
	 .dport = 443,
	 .tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH,
	 .l7 = L7_TLS,
	 .listed = true,
	 .setup = S_RESET,
	 .budget_ns = 150,
	 .twin = "tls-ch-monitor"},
	{.name = "tls-ch-nomatch",
	 .what = "ClientHello in one segment, SNI under no pattern",
	 .family = 4,
	 .dport = 443,
	 .tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH,
	 .l7 = L7_TLS,
	 .budget_ns = 150},
	{.name = "tls-ch-split2",
	 .what = "2nd segment of a ClientHello (key_share 1216 B) holding the SNI, unlisted",
	 .family = 4,
	 .dport = 443,
	 .tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH,
	 .l7 = L7_TLS_SPLIT2,
	 .setup = S_FIRST,
	 .budget_ns = 150,
	 .twin = "tls-ch-nomatch"},
	{.name = "http-get-match",
	 .what = "HTTP/1.1 GET, Host under a drop pattern",
	 .family = 4,
	 .dport = 80,
	 .tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH,
	 .l7 = L7_HTTP,
	 .listed = true,
	 .setup = S_RESET,
	 .budget_ns = 120,
	 .twin = "http-get-monitor"},
	{.name = "http-get-nomatch",
	 .what = "HTTP/1.1 GET, Host under no pattern",
	 .family = 4,
	 .dport = 80,
	 .tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH,
	 .l7 = L7_HTTP,
	 .budget_ns = 120},
	/* The same match, hot: a name under a monitor rule leaves no flow
	 * verdict, so the packet can be run again and again like the
	 * unlisted ones (the drop rows above run once per call). */
	{.name = "tls-ch-monitor",
	 .what = "ClientHello in one segment, SNI under a monitor pattern",
	 .family = 4,
	 .dport = 443,
	 .tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH,
	 .l7 = L7_TLS,
	 .monitored = true,
	 .budget_ns = 150},
	{.name = "http-get-monitor",
	 .what = "HTTP/1.1 GET, Host under a monitor pattern",
	 .family = 4,
	 .dport = 80,
	 .tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH,
	 .l7 = L7_HTTP,
	 .monitored = true,
	 .budget_ns = 120},
	{.name = "blocked-flow",
	 .what = "200 B client segment of a flow whose ClientHello was dropped",
	 .family = 4,
	 .dport = 443,
	 .tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH,
	 .payload = 200,
	 .l7 = L7_FLOW,
	 .listed = true,
	 .setup = S_ONCE,
	 .budget_ns = 20},
	{.name = "redirect",
	 .what = "IPv4 TCP SYN inside the bench-redirect prefix (to lo)",
	 .family = 4,
	 .dport = 80,
	 .tcp_flags = PKT_TCP_SYN,
	 .redirect = true},
	{.name = "tcp22-nomatch",
	 .what = "IPv4 TCP SYN 64 B to port 22 (no L7 stage), no prefix matches",
	 .family = 4,
	 .dport = 22,
	 .tcp_flags = PKT_TCP_SYN,
	 .budget_hot = 1.5,
	 .budget_cold = 5.0},
};
#define NSCEN (sizeof(SCEN) / sizeof(SCEN[0]))

/* The generated policy has no redirect rule: the bench adds one in memory
 * after parsing (add_redirect_rule), with this prefix, to lo. */
#define REDIR_NET "198.18.77.0/24"
/* ... and a monitor rule, bench-monitor, for the names under this one. */
#define MON_NAME    "img.static.cdn.bench-monitor.example"
#define REDIR_IFACE "lo"
static struct net_entry redir_net;

static bool per_call(const struct scenario *sc)
{
	return sc->setup == S_RESET || sc->setup == S_FIRST;
}

static uint32_t expect_of(const struct scenario *sc)
{
	return sc->redirect ? XDP_REDIRECT : sc->blocked || sc->listed ? XDP_DROP : XDP_PASS;
}

/* ---- options ------------------------------------------------------------ */
struct opts {
	bool smoke;
	const char *policy_dir;
	const char *json_path;
	unsigned rounds;
	uint32_t repeat;
	unsigned cold_n;
	int cpu;
	uint64_t seed;
	const char *only;     /* run only scenarios whose name contains this */
	unsigned cold_inside; /* percent of cold destinations inside the policy */
	const char *goals;    /* which of issue 11's goals to judge: bench, small */
	bool refs_only;	      /* only the rows with references (refs_of) */
	const char *command;
};

/* ---- small helpers ------------------------------------------------------ */
uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double med, min, max;
};

static struct stat3 stats_of(const double *v, unsigned n)
{
	double s[64];
	struct stat3 r = {NAN, NAN, NAN};
	unsigned m = 0;

	if (n > 64)
		return r;
	/* a round without a figure (a ratio to nothing) is left out */
	for (unsigned i = 0; i < n; i++)
		if (isfinite(v[i]))
			s[m++] = v[i];
	n = m;
	if (!n)
		return r;
	qsort(s, n, sizeof(*s), dbl_cmp);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

/* "key:\t123 kB" style line of a /proc file, in the file's unit. */
static long long proc_field(const char *path, const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = atoll(line + kl + 1);
			break;
		}
	fclose(f);
	return v;
}

/* ---- intervals ---------------------------------------------------------- */
int ivals_add(struct ivals *v, uint32_t lo, uint32_t hi)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 1024;
		uint32_t *l = realloc(v->lo, cap * sizeof(*l)), *h;

		if (!l)
			return -ENOMEM;
		v->lo = l;
		h = realloc(v->hi, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		v->hi = h;
		v->cap = cap;
	}
	v->lo[v->n] = lo;
	v->hi[v->n++] = hi;
	return 0;
}

static struct ivals *sort_ctx;
static int ival_idx_cmp(const void *a, const void *b)
{
	uint32_t x = sort_ctx->lo[*(const size_t *)a], y = sort_ctx->lo[*(const size_t *)b];

	return x < y ? -1 : x > y;
}

void ivals_finish(struct ivals *v)
{
	size_t *idx, m = 0;
	uint32_t *lo, *hi;

	if (!v->n)
		return;
	idx = malloc(v->n * sizeof(*idx));
	lo = malloc(v->n * sizeof(*lo));
	hi = malloc(v->n * sizeof(*hi));
	if (!idx || !lo || !hi)
		abort();
	for (size_t i = 0; i < v->n; i++)
		idx[i] = i;
	sort_ctx = v;
	qsort(idx, v->n, sizeof(*idx), ival_idx_cmp);
	for (size_t i = 0; i < v->n; i++) {
		uint32_t l = v->lo[idx[i]], h = v->hi[idx[i]];

		if (m && (uint64_t)l <= (uint64_t)hi[m - 1] + 1) {
			if (h > hi[m - 1])
				hi[m - 1] = h;
		} else {
			lo[m] = l;
			hi[m++] = h;
		}
	}
	free(idx);
	free(v->lo);
	free(v->hi);
	v->lo = lo;
	v->hi = hi;
	v->n = v->cap = m;
}

int ivals_has(const struct ivals *v, uint32_t x)
{
	size_t a = 0, b = v->n;

	while (a < b) {
		size_t m = (a + b) / 2;

		if (v->hi[m] < x)
			a = m + 1;
		else
			b = m;
	}
	return a < v->n && v->lo[a] <= x;
}

void ivals_free(struct ivals *v)
{
	free(v->lo);
	free(v->hi);
	memset(v, 0, sizeof(*v));
}

/* ---- the policy's address space (struct space: bench.h) ---------------- */
uint32_t be32_of(const uint8_t *a)
{
	return ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) | ((uint32_t)a[2] << 8) | a[3];
}

int space_build(struct space *s, const struct policy *p)
{
	size_t c4 = 0, c6 = 0;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; j < p->rules[i].n_nets; j++)
			*(p->rules[i].nets[j].family == 4 ? &c4 : &c6) += 1;
	s->v4_all = calloc(c4 + 1, sizeof(*s->v4_all));
	s->v4_drop = calloc(c4 + 1, sizeof(*s->v4_drop));
	s->v6_all = calloc(c6 + 1, sizeof(*s->v6_all));
	s->v6_drop = calloc(c6 + 1, sizeof(*s->v6_drop));
	if (!s->v4_all || !s->v4_drop || !s->v6_all || !s->v6_drop)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		bool drop = r->action == TAPIS_ACT_DROP && (r->dirs & TAPIS_DIRS_DST);

		if (drop && !s->drop_rule)
			s->drop_rule = r->name;
		for (size_t j = 0; j < r->n_nets; j++) {
			const struct net_entry *e = &r->nets[j];

			if (e->family == 4) {
				uint32_t a = be32_of(e->addr);
				uint32_t span = e->plen ? (uint32_t)((1ULL << (32 - e->plen)) - 1)
							: 0xffffffffu;

				s->v4_all[s->n_v4_all++] = e;
				if (drop)
					s->v4_drop[s->n_v4_drop++] = e;
				if (ivals_add(&s->v4, a, a + span))
					return -ENOMEM;
			} else {
				uint32_t top = be32_of(e->addr);
				uint32_t span = e->plen >= 32 ? 0
						: e->plen ? (uint32_t)((1ULL << (32 - e->plen)) - 1)
							  : 0xffffffffu;

				s->v6_all[s->n_v6_all++] = e;
				if (drop)
					s->v6_drop[s->n_v6_drop++] = e;
				if (ivals_add(&s->v6top, top, top + span))
					return -ENOMEM;
			}
		}
	}
	ivals_finish(&s->v4);
	ivals_finish(&s->v6top);
	return 0;
}

void space_free(struct space *s)
{
	free(s->v4_all);
	free(s->v4_drop);
	free(s->v6_all);
	free(s->v6_drop);
	ivals_free(&s->v4);
	ivals_free(&s->v6top);
}

/* A random address inside prefix e (network order into out). */
void addr_in(const struct net_entry *e, uint64_t *rng, uint8_t *out)
{
	int bytes = e->family == 4 ? 4 : 16;

	for (int i = 0; i < bytes; i++) {
		int keep = (int)e->plen - i * 8;
		uint8_t r = (uint8_t)rng_next(rng);

		if (keep >= 8)
			out[i] = e->addr[i];
		else if (keep <= 0)
			out[i] = r;
		else
			out[i] = (e->addr[i] & (uint8_t)(0xff << (8 - keep))) |
				 (r & (uint8_t)(0xff >> keep));
	}
}

void v4_outside(const struct space *s, uint64_t *rng, uint8_t *out)
{
	uint32_t a;

	do
		a = (uint32_t)rng_next(rng);
	while (ivals_has(&s->v4, a));
	a = htonl(a);
	memcpy(out, &a, 4);
}

void v6_outside(const struct space *s, uint64_t *rng, uint8_t *out)
{
	uint64_t hi, lo;

	do {
		hi = (rng_next(rng) & 0x1fffffffffffffffULL) | 0x2000000000000000ULL;
	} while (ivals_has(&s->v6top, (uint32_t)(hi >> 32)));
	lo = rng_next(rng);
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(hi >> (56 - 8 * i));
		out[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	}
}

/* ---- the policy's host names -------------------------------------------- */
/* The DNS scenarios draw their query names from the policy's host patterns:
 * a listed name is a random pattern of a drop rule (subtree or wildcard,
 * at most 4 labels) with random labels in front up to 5 labels; an
 * unlisted name is 5 random labels of the same shape under a common TLD.
 * Every drawn name is checked against a table of the patterns' keys (the
 * same hash the compiler stores), most specific first as the XDP program
 * reads them: a listed name must meet a drop pattern (not, say, a more
 * specific monitor one), an unlisted name no pattern at all. */
struct hkey {
	uint64_t key;
	int8_t self_act, sub_act; /* enum tapis_action, -1: none */
};

struct hostspace {
	struct hkey *tab;
	size_t mask;
	const struct host_entry **cand; /* drop-rule patterns a 5-label name fits under */
	size_t n_cand, n_hosts;
	char hot_match[256], hot_nomatch[256];
};

static struct hkey *hkey_slot(const struct hostspace *h, uint64_t key)
{
	size_t i = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 20) & h->mask;

	while (h->tab[i].key && h->tab[i].key != key)
		i = (i + 1) & h->mask;
	return &h->tab[i];
}

static int name_labels(const char *name)
{
	int n = 1;

	for (; *name; name++)
		n += *name == '.';
	return n;
}

/* The action of the pattern a query for name meets, or -1: the whole name
 * by its self patterns (example.com, =example.com), each parent by its sub
 * patterns (example.com, *.example.com), most specific first. */
static int host_expect(const struct hostspace *h, const char *name)
{
	uint64_t keys[TAPIS_MAX_LABELS + 1];
	int n = hostname_suffix_hashes(name, keys, TAPIS_MAX_LABELS + 1);

	for (int i = 0; i < n; i++) {
		const struct hkey *k = hkey_slot(h, keys[i]);
		int act = !k->key ? -1 : i ? k->sub_act : k->self_act;

		if (act >= 0)
			return act;
	}
	return -1;
}

static const char *const SUB_LABELS[] = {
	"www",	  "m",	    "api",    "cdn",   "img",	"static", "mail",    "login",
	"secure", "app",    "shop",   "track", "ads",	"pixel",  "go",	     "click",
	"t",	  "s",	    "media",  "files", "dl",	"update", "edge",    "ns1",
	"auth",	  "my",	    "portal", "news",  "blog",	"eu",	  "us",	     "assets",
	"js",	  "beacon", "sync",   "gw",    "video", "img2",	  "content", "service",
};
/* Weighted roughly as in the generated lists (com about 40 %). */
static const char *const TLD_LIST[] = {
	"com", "com",	 "com",	 "com",	 "com", "com", "com", "com",   "net",
	"net", "org",	 "ru",	 "info", "xyz", "top", "de",  "co.uk", "com.br",
	"io",  "online", "site", "club", "pl",	"fr",  "nl",
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void rand_alnum(uint64_t *rng, char *out, unsigned len)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	for (unsigned i = 0; i < len; i++)
		out[i] = al[rng_next(rng) % (sizeof(al) - 1)];
	out[len] = 0;
}

/* A subdomain label: www, cdn-77, a few random characters. */
static void sub_label(uint64_t *rng, char *out, size_t sz)
{
	unsigned r = rng_next(rng) % 100;
	const char *w = SUB_LABELS[rng_next(rng) % NELEM(SUB_LABELS)];

	if (r < 60)
		snprintf(out, sz, "%s", w);
	else if (r < 85)
		snprintf(out, sz, "%s-%u", w, (unsigned)(rng_next(rng) % 1000));
	else
		rand_alnum(rng, out, 3 + rng_next(rng) % 8);
}

/* A registered-domain label: letters and digits, sometimes a hyphen. */
static void dom_label(uint64_t *rng, char *out, size_t sz)
{
	unsigned len = 6 + rng_next(rng) % 11;

	if (len >= sz)
		len = sz - 1;
	rand_alnum(rng, out, len);
	out[0] = 'a' + rng_next(rng) % 26;
	if (len > 8 && rng_next(rng) % 3 == 0)
		out[len / 2] = '-';
}

/* prefix labels in front of tail, up to DNS_LABELS labels in all */
static void prefix_to5(uint64_t *rng, const char *tail, char *out, size_t sz)
{
	char lab[64];
	size_t n = 0;

	out[0] = 0;
	for (int i = name_labels(tail); i < DNS_LABELS; i++) {
		sub_label(rng, lab, sizeof(lab));
		n += snprintf(out + n, sz - n, "%s.", lab);
	}
	snprintf(out + n, sz - n, "%s", tail);
}

/* A 5-label name that meets a pattern of a drop rule; -ENOENT if none fits. */
static int listed5(const struct hostspace *h, uint64_t *rng, char *out, size_t sz)
{
	for (int tries = 0; tries < 1000 && h->n_cand; tries++) {
		prefix_to5(rng, h->cand[rng_next(rng) % h->n_cand]->name, out, sz);
		if (host_expect(h, out) == TAPIS_ACT_DROP)
			return 0;
	}
	return -ENOENT;
}

/* A 5-label name that meets no pattern. */
static int unlisted5(const struct hostspace *h, uint64_t *rng, char *out, size_t sz)
{
	char dom[128], lab[64];

	for (int tries = 0; tries < 1000; tries++) {
		const char *tld = TLD_LIST[rng_next(rng) % NELEM(TLD_LIST)];

		dom_label(rng, lab, sizeof(lab));
		snprintf(dom, sizeof(dom), "%s.%s", lab, tld);
		prefix_to5(rng, dom, out, sz);
		if (host_expect(h, out) < 0)
			return 0;
	}
	return -ENOENT;
}

/* Resolvers randomise letter case (DNS 0x20); the program lowercases. */
static void rand_case(uint64_t *rng, char *name)
{
	uint64_t bits = rng_next(rng);

	for (unsigned i = 0; name[i]; i++)
		if (name[i] >= 'a' && name[i] <= 'z' && (bits >> (i & 63) & 1))
			name[i] -= 'a' - 'A';
}

static int hosts_build(struct hostspace *h, const struct policy *p)
{
	size_t cap = 1024;

	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < p->n_rules; i++)
		h->n_hosts += p->rules[i].n_hosts;
	while (cap < h->n_hosts * 2)
		cap *= 2;
	h->mask = cap - 1;
	h->tab = calloc(cap, sizeof(*h->tab));
	h->cand = calloc(h->n_hosts + 1, sizeof(*h->cand));
	if (!h->tab || !h->cand)
		return -ENOMEM;
	for (size_t i = 0; i < cap; i++)
		h->tab[i].self_act = h->tab[i].sub_act = -1;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];

		for (size_t j = 0; j < r->n_hosts; j++) {
			const struct host_entry *e = &r->hosts[j];
			struct hkey *k = hkey_slot(h, hostname_hash(e->name));

			k->key = hostname_hash(e->name);
			if (e->kind != HOST_WILDCARD && k->self_act < 0)
				k->self_act = (int8_t)r->action;
			if (e->kind != HOST_EXACT && k->sub_act < 0)
				k->sub_act = (int8_t)r->action;
			if (r->action == TAPIS_ACT_DROP && e->kind != HOST_EXACT &&
			    name_labels(e->name) < DNS_LABELS)
				h->cand[h->n_cand++] = e;
		}
	}
	if (!h->n_cand)
		return 0; /* no drop patterns: the DNS scenarios are skipped */

	/* The hot names: a 2-label domain of common length under a drop
	 * subtree pattern, with three labels in front; and the same name with
	 * its domain label altered until no pattern holds it, so the two
	 * differ only in being listed. */
	for (size_t i = 0; i < h->n_cand; i++) {
		const struct host_entry *e = h->cand[i];
		size_t len = strlen(e->name);

		if (e->kind != HOST_SUBTREE || name_labels(e->name) != 2 || len < 12 || len > 20)
			continue;
		snprintf(h->hot_match, sizeof(h->hot_match), "img.static.cdn.%s", e->name);
		if (host_expect(h, h->hot_match) != TAPIS_ACT_DROP)
			continue;
		for (int k = 0; k < 26 * 26 && !h->hot_nomatch[0]; k++) {
			char *d = h->hot_nomatch + strlen("img.static.cdn.");

			memcpy(h->hot_nomatch, h->hot_match, sizeof(h->hot_match));
			d[0] = 'a' + k % 26;
			d[1] = d[1] == '.' ? '.' : 'a' + k / 26;
			if (host_expect(h, h->hot_nomatch) >= 0)
				h->hot_nomatch[0] = 0;
		}
		if (h->hot_nomatch[0])
			break;
	}
	if (!h->hot_nomatch[0]) { /* no such pattern: random draws */
		uint64_t rng = 0x5eed;

		if (listed5(h, &rng, h->hot_match, sizeof(h->hot_match)) ||
		    unlisted5(h, &rng, h->hot_nomatch, sizeof(h->hot_nomatch)))
			h->n_cand = 0;
	}
	return 0;
}

static void hosts_free(struct hostspace *h)
{
	free(h->tab);
	free(h->cand);
	memset(h, 0, sizeof(*h));
}

/* ---- packets ------------------------------------------------------------ */
/* Where tls-ch-split2 cuts its ClientHello: at most a 1460-byte first
 * segment, and before the server_name extension (sni_last puts it after
 * the 1216-byte key_share), so the whole SNI is in the second segment.
 * Returns the hello's length, the cut in *cut. */
#define SPLIT_MSS 1460
static int split_hello(const char *name, uint8_t *buf, size_t cap, size_t *cut)
{
	struct tls_ch_opts co = {.sni = name, .sni_last = true, .key_share_len = 1216};
	int n = tls_client_hello_bytes(buf, cap, &co);
	size_t nl = strlen(name), c = SPLIT_MSS;

	if (n < 0)
		return n;
	for (size_t i = 0; i + nl <= (size_t)n; i++)
		if (!memcmp(buf + i, name, nl)) {
			/* 9 bytes before the name: type, length, list length,
			 * name type, name length */
			if (i - 9 < c)
				c = i - 9;
			break;
		}
	*cut = c;
	return (size_t)n > c ? n : -EINVAL;
}

/* name, id: the DNS scenarios' query, the SNI or Host (NULL for the
 * others). setup: the frame that must go before it (enum setup): the first
 * segment (split), the blocked hello (flow). */
static int build_pkt_ex(struct pkt *p, const struct scenario *sc, const uint8_t *src,
			const uint8_t *dst, const char *name, uint16_t id, bool setup)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int af = sc->family == 4 ? AF_INET : AF_INET6;
	uint8_t payload[4096];
	uint32_t seq = 1;
	size_t cut = 0;
	int n = 0;

	inet_ntop(af, src, s, sizeof(s));
	inet_ntop(af, dst, d, sizeof(d));
	pkt_init(p);
	pkt_eth(p, NULL, NULL);
	switch (sc->encap) {
	case E_VLAN:
		pkt_vlan(p, PKT_TPID_8021Q, 100);
		break;
	case E_QINQ:
		pkt_vlan(p, PKT_TPID_8021AD, 200);
		pkt_vlan(p, PKT_TPID_8021Q, 100);
		break;
	case E_PPPOE:
		pkt_pppoe(p, 0x1234);
		break;
	case E_MPLS:
		pkt_mpls(p, 16001, 0);
		pkt_mpls(p, 24005, PKT_AUTO);
		break;
	default:
		break;
	}
	if (sc->family == 4)
		pkt_ipv4(p, s, d, sc->l7 == L7_DNS_UDP ? IPPROTO_UDP : IPPROTO_TCP, NULL);
	else
		pkt_ipv6(p, s, d, PKT_AUTO);
	if (sc->l7 == L7_DNS_UDP) {
		/* as a resolver sends it: RD, EDNS OPT (1232) */
		pkt_udp(p, 40000, sc->dport);
		dns_query(p, name, DNS_TYPE_A, id, DNS_RD, true);
		pkt_pad(p, 60);
		return pkt_finish(p) ?: p->err;
	}
	if (sc->l7 == L7_TLS_SPLIT2) {
		n = split_hello(name, payload, sizeof(payload), &cut);
		if (n < 0)
			return n;
		seq = setup ? 1 : 1 + (uint32_t)cut;
	} else if (sc->l7 == L7_FLOW && !setup) {
		struct tls_ch_opts co = {.sni = name};

		n = tls_client_hello_bytes(payload, sizeof(payload), &co);
		if (n < 0)
			return n;
		seq = 1 + (uint32_t)n; /* the segment after the hello */
	}
	/* a client port of its own per flow scenario: a verdict one of them
	 * leaves must not meet another's hot packet (same addresses) */
	pkt_tcp(p, sc->l7 >= L7_TLS ? 41000 + sc->l7 * 16 + sc->listed : 40000, sc->dport,
		sc->tcp_flags, seq, sc->tcp_flags & PKT_TCP_ACK ? 1 : 0);
	if (sc->l7 == L7_TLS_SPLIT2) {
		if (setup)
			pkt_payload(p, payload, cut);
		else
			pkt_payload(p, payload + cut, (size_t)n - cut);
		return pkt_finish(p) ?: p->err;
	}
	if (sc->l7 == L7_TLS || (sc->l7 == L7_FLOW && setup)) {
		tls_client_hello(p, name);
		return pkt_finish(p) ?: p->err;
	}
	if (sc->l7 == L7_HTTP) {
		http_get(p, name, "/");
		return pkt_finish(p) ?: p->err;
	}
	if (sc->l7 == L7_DNS_TCP) {
		dns_query_tcp(p, name, DNS_TYPE_A, id, DNS_RD, true);
		pkt_pad(p, 60);
		return pkt_finish(p) ?: p->err;
	}
	if (sc->payload) {
		/* a TLS 1.3 application-data record: not a ClientHello */
		size_t n = sc->payload < sizeof(payload) ? sc->payload : sizeof(payload);

		memset(payload, 0xa5, n);
		payload[0] = 0x17;
		payload[1] = 0x03;
		payload[2] = 0x03;
		payload[3] = (uint8_t)((n - 5) >> 8);
		payload[4] = (uint8_t)(n - 5);
		pkt_payload(p, payload, n);
	}
	pkt_pad(p, 60); /* 64 B on the wire with the FCS */
	return pkt_finish(p) ?: p->err;
}

static int build_pkt(struct pkt *p, const struct scenario *sc, const uint8_t *src,
		     const uint8_t *dst, const char *name, uint16_t id)
{
	return build_pkt_ex(p, sc, src, dst, name, id, false);
}

#define COLD_STRIDE 256

#define L7_STRIDE 1536 /* TCP hellos, requests, a first segment */

struct scen_pkts {
	struct pkt hot;
	struct pkt setup; /* enum setup: the frame before hot (S_FIRST, S_ONCE) */
	size_t stride;	  /* COLD_STRIDE or L7_STRIDE */
	uint8_t *cold;	  /* cold_n frames, stride apart */
	uint16_t *cold_len;
	uint8_t *cold_setup; /* each cold frame's setup frame, L7_STRIDE apart */
	uint16_t *cold_setup_len;
	unsigned cold_inside; /* destinations drawn inside a prefix */
	unsigned cold_listed; /* DNS: names under a drop pattern */
};

/* Cold DNS names: for a "match" scenario every name is listed (as every
 * destination of ipv4-blocked is inside a drop prefix); otherwise names
 * are listed in the --cold-inside share (half by default: every other
 * pair of packets, so that listed names and inside addresses are drawn
 * independently). */
static int make_packets(const struct scenario *sc, const struct space *sp,
			const struct hostspace *hs, unsigned n, unsigned inside_pct, uint64_t seed,
			struct scen_pkts *out)
{
	uint8_t src[16] = {}, dst[16] = {};
	char name[256] = "";
	uint16_t id = 0x1234;
	uint64_t rng = seed ^ 0x9e3779b97f4a7c15ULL;
	struct pkt *p;
	int err;

	memset(out, 0, sizeof(*out));
	/* hot: fixed lab addresses when they are outside the policy (they are
	 * for the generated one), else the first free ones drawn */
	if (sc->family == 4) {
		inet_pton(AF_INET, "198.18.0.1", src);
		inet_pton(AF_INET, "198.19.0.1", dst);
		if (ivals_has(&sp->v4, be32_of(src)))
			v4_outside(sp, &rng, src);
		if (sc->blocked) {
			if (!sp->n_v4_drop)
				return -ENOENT;
			addr_in(sp->v4_drop[0], &rng, dst);
		} else if (ivals_has(&sp->v4, be32_of(dst))) {
			v4_outside(sp, &rng, dst);
		}
	} else {
		inet_pton(AF_INET6, "2001:db8::1", src);
		inet_pton(AF_INET6, "2001:db8:1::1", dst);
		if (ivals_has(&sp->v6top, be32_of(src)))
			v6_outside(sp, &rng, src);
		if (sc->blocked) {
			if (!sp->n_v6_drop)
				return -ENOENT;
			addr_in(sp->v6_drop[0], &rng, dst);
		} else if (ivals_has(&sp->v6top, be32_of(dst))) {
			v6_outside(sp, &rng, dst);
		}
	}
	if (sc->redirect)
		addr_in(&redir_net, &rng, dst);
	if (sc->l7 != L7_NONE) {
		if (!hs->n_cand)
			return -ENOENT;
		snprintf(name, sizeof(name), "%s",
			 sc->monitored ? MON_NAME
			 : sc->listed  ? hs->hot_match
				       : hs->hot_nomatch);
	}
	err = build_pkt(&out->hot, sc, src, dst, name, id);
	if (err)
		return err;
	if (sc->setup == S_FIRST || sc->setup == S_ONCE) {
		err = build_pkt_ex(&out->setup, sc, src, dst, name, id, true);
		if (err)
			return err;
		out->cold_setup = malloc((size_t)n * L7_STRIDE);
		out->cold_setup_len = malloc((size_t)n * sizeof(*out->cold_setup_len));
		if (!out->cold_setup || !out->cold_setup_len)
			return -ENOMEM;
	}

	out->stride = sc->l7 >= L7_TLS ? L7_STRIDE : COLD_STRIDE;
	out->cold = malloc((size_t)n * out->stride);
	out->cold_len = malloc((size_t)n * sizeof(*out->cold_len));
	p = malloc(sizeof(*p));
	if (!out->cold || !out->cold_len || !p) {
		free(p);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		/* every other packet, or the share --cold-inside asks for */
		bool inside = sc->blocked ||
			      (inside_pct == 50 ? (i & 1) : rng_next(&rng) % 100 < inside_pct);

		if (sc->family == 4) {
			v4_outside(sp, &rng, src);
			if (sc->redirect)
				addr_in(&redir_net, &rng, dst);
			else if (sc->blocked)
				addr_in(sp->v4_drop[rng_next(&rng) % sp->n_v4_drop], &rng, dst);
			else if (inside && sp->n_v4_all)
				addr_in(sp->v4_all[rng_next(&rng) % sp->n_v4_all], &rng, dst);
			else
				v4_outside(sp, &rng, dst);
		} else {
			v6_outside(sp, &rng, src);
			if (sc->blocked)
				addr_in(sp->v6_drop[rng_next(&rng) % sp->n_v6_drop], &rng, dst);
			else if (inside && sp->n_v6_all)
				addr_in(sp->v6_all[rng_next(&rng) % sp->n_v6_all], &rng, dst);
			else
				v6_outside(sp, &rng, dst);
		}
		out->cold_inside += inside;
		if (sc->l7 != L7_NONE) {
			/* TCP names: no mix, so that a nomatch flow leaves no
			 * verdict for the next round */
			bool listed = sc->listed ||
				      (sc->l7 < L7_TLS &&
				       (inside_pct == 50 ? (i >> 1) & 1
							 : rng_next(&rng) % 100 < inside_pct));

			if (sc->monitored)
				err = snprintf(name, sizeof(name), "n%08x.%s",
					       (uint32_t)rng_next(&rng), MON_NAME) < 0;
			else
				err = listed ? listed5(hs, &rng, name, sizeof(name))
					     : unlisted5(hs, &rng, name, sizeof(name));
			if (err) {
				free(p);
				return err;
			}
			rand_case(&rng, name);
			id = (uint16_t)rng_next(&rng);
			out->cold_listed += listed;
		}
		err = build_pkt(p, sc, src, dst, name, id);
		if (err || p->len > out->stride) {
			free(p);
			return err ?: -E2BIG;
		}
		memcpy(out->cold + (size_t)i * out->stride, p->buf, p->len);
		out->cold_len[i] = (uint16_t)p->len;
		if (out->cold_setup) {
			err = build_pkt_ex(p, sc, src, dst, name, id, true);
			if (err || p->len > L7_STRIDE) {
				free(p);
				return err ?: -E2BIG;
			}
			memcpy(out->cold_setup + (size_t)i * L7_STRIDE, p->buf, p->len);
			out->cold_setup_len[i] = (uint16_t)p->len;
		}
	}
	free(p);
	return 0;
}

/* ---- runs --------------------------------------------------------------- */
static int run_hot(int fd, const struct pkt *p, uint32_t repeat, double *ns, uint32_t *ret)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf, .data_size_in = (uint32_t)p->len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	*ns = o.duration;
	*ret = o.retval;
	return 0;
}

/* tapis_flows and the L7 state arrays, mapped: the setups write them in
 * place, so a timed call follows no other system call than its own (see
 * enum setup). */
struct flow_maps {
	struct tapis_flow_slot *slots;
	struct tapis_l7_state *states;
	struct tapis_l7_name *names;
	uint32_t n_slots;
	size_t len[3];
};
static struct flow_maps fm;

static void *map_mmap(int fd, size_t value, uint32_t n, size_t *len)
{
	void *m;

	*len = ((value + 7) & ~(size_t)7) * n;
	m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

static int flow_maps_open(struct tapis *t)
{
	if (tapis_flows_size(t, &fm.n_slots))
		return -errno;
	fm.slots = map_mmap(t->map_fd[M_FLOWS], sizeof(*fm.slots), fm.n_slots, &fm.len[0]);
	fm.states =
		map_mmap(t->map_fd[M_L7_STATES], sizeof(*fm.states), TAPIS_L7_STATES, &fm.len[1]);
	fm.names = map_mmap(t->map_fd[M_L7_NAMES], sizeof(*fm.names), TAPIS_L7_NAMES, &fm.len[2]);
	return fm.slots && fm.states && fm.names ? 0 : -errno;
}

/* What the first segment of a split hello left for its flow, saved once
 * and put back before each timed call of the second (S_FIRST, hot). */
struct flow_snap {
	uint32_t slot;
	struct tapis_flow_slot s;
	struct tapis_l7_state st;
	struct tapis_l7_name nm;
};

static void snap_take(struct flow_snap *sn, uint32_t slot)
{
	sn->slot = slot;
	sn->s = fm.slots[slot];
	sn->st = fm.states[slot & (TAPIS_L7_STATES - 1)];
	sn->nm = fm.names[slot & (TAPIS_L7_NAMES - 1)];
}

static void snap_put(const struct flow_snap *sn)
{
	fm.slots[sn->slot] = sn->s;
	fm.states[sn->slot & (TAPIS_L7_STATES - 1)] = sn->st;
	fm.names[sn->slot & (TAPIS_L7_NAMES - 1)] = sn->nm;
}

/* The key tapis_flows files a plain IPv4 TCP frame under, its sender
 * being the client (bpf/flow.bpf.h flow_lookup). */
static void flow_key_of(const uint8_t *f, struct tapis_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = 4;
	memcpy(k->caddr, f + 26, 4);
	memcpy(k->saddr, f + 30, 4);
	memcpy(&k->cport_be, f + 34, 2);
	memcpy(&k->sport_be, f + 36, 2);
}

/* The untimed step before a timed call (enum setup), the same for both
 * programs: XDP_PASS's turn deletes a key that is not there, or passes
 * the first segment. */
static int run_setup(int fd, enum setup s, const uint8_t *frame, const uint8_t *sf, uint32_t slen)
{
	struct tapis_flow_key k;

	if (s == S_NONE)
		return 0;
	if (s == S_RESET) {
		flow_key_of(frame, &k);
		memset(&fm.slots[(uint32_t)tapis_flow_hash(&k) & (fm.n_slots - 1)], 0,
		       sizeof(*fm.slots));
		return 0;
	}
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = sf, .data_size_in = slen, .repeat = 1);

		return bpf_prog_test_run_opts(fd, &o) ? -errno : 0;
	}
}

/* Hot, for a packet that needs its setup before every run: n calls of
 * repeat=1, each after its (untimed) setup; the mean kernel duration. */
static int run_percall(int fd, const struct scen_pkts *sp, enum setup s, unsigned n, double *ns,
		       uint32_t *ret)
{
	struct flow_snap sn = {0};
	struct tapis_flow_key k;
	uint64_t sum = 0;
	int err;

	if (s == S_FIRST) {
		/* The first segment once; its flow's state, as it left it,
		 * back in place before every call. */
		err = run_setup(fd, s, sp->hot.buf, sp->setup.buf, (uint32_t)sp->setup.len);
		if (err)
			return err;
		flow_key_of(sp->hot.buf, &k);
		snap_take(&sn, (uint32_t)tapis_flow_hash(&k) & (fm.n_slots - 1));
	}
	for (unsigned i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = sp->hot.buf,
			    .data_size_in = (uint32_t)sp->hot.len, .repeat = 1);

		if (s == S_FIRST)
			snap_put(&sn);
		else
			err = run_setup(fd, s, sp->hot.buf, sp->setup.buf, (uint32_t)sp->setup.len);
		if (err)
			return err;
		if (bpf_prog_test_run_opts(fd, &o))
			return -errno;
		sum += o.duration;
		*ret = o.retval;
	}
	*ns = (double)sum / n;
	return 0;
}

#define NVERDICT 5
static int run_cold(int fd, const struct scen_pkts *sp, enum setup s, unsigned n, double *ns,
		    uint64_t verdicts[NVERDICT])
{
	uint64_t sum = 0;
	int err;

	for (unsigned i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = sp->cold + (size_t)i * sp->stride,
			    .data_size_in = sp->cold_len[i], .repeat = 1);

		err = run_setup(fd, s, sp->cold + (size_t)i * sp->stride,
				sp->cold_setup ? sp->cold_setup + (size_t)i * L7_STRIDE : NULL,
				sp->cold_setup ? sp->cold_setup_len[i] : 0);
		if (err)
			return err;
		if (bpf_prog_test_run_opts(fd, &o))
			return -errno;
		sum += o.duration;
		if (verdicts)
			verdicts[o.retval < NVERDICT ? o.retval : 0]++;
	}
	*ns = (double)sum / n;
	return 0;
}

/* The same hot packet, but one call per packet like the cold regime: what
 * the per-call path (timer, bh disable, syscall's cache footprint) adds
 * without random addresses. cold - warm is the cost of the addresses. */
static int run_warm(int fd, const struct pkt *p, unsigned n, double *ns)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf,
			    .data_size_in = (uint32_t)p->len, .repeat = 1);

		if (bpf_prog_test_run_opts(fd, &o))
			return -errno;
		sum += o.duration;
	}
	*ns = (double)sum / n;
	return 0;
}

/* ---- results ------------------------------------------------------------ */
#define MAX_ROUNDS 64
struct regime {
	double tapis[MAX_ROUNDS], pass[MAX_ROUNDS], ratio[MAX_ROUNDS];
	double ref[REF__COUNT][MAX_ROUNDS]; /* the scenario's references */
	unsigned n;
};

struct scen_result {
	struct regime hot, warm, cold;
	uint32_t hot_verdict;
	uint64_t cold_verdicts[NVERDICT];
	bool ran, verdict_ok;
	unsigned cold_inside, cold_listed;
	const char *skipped; /* why it did not run, with the policy at hand */
};

enum regime_kind { R_HOT, R_WARM, R_COLD };

struct job {
	const struct scen_pkts *pk;
	const struct scenario *sc;
	const struct opts *o;
	enum regime_kind k;
	uint64_t *verdicts; /* cold: count tapis's verdicts here */
	uint32_t ret;	    /* hot: tapis's verdict */
};

static int run_job(int fd, struct job *j, double *ns, bool is_tapis)
{
	const struct scen_pkts *pk = j->pk;
	enum setup s = j->sc->setup;
	uint32_t ret = 0;
	int err;

	switch (j->k) {
	case R_HOT:
		if (per_call(j->sc))
			err = run_percall(fd, pk, s, j->o->cold_n, ns, &ret);
		else
			err = run_setup(fd, s, pk->hot.buf, pk->setup.buf, (uint32_t)pk->setup.len)
				      ?: run_hot(fd, &pk->hot, j->o->repeat, ns, &ret);
		if (is_tapis)
			j->ret = ret;
		return err;
	case R_WARM:
		return run_setup(fd, s, pk->hot.buf, pk->setup.buf, (uint32_t)pk->setup.len)
			       ?: run_warm(fd, &pk->hot, j->o->cold_n, ns);
	default:
		return run_cold(fd, pk, s, j->o->cold_n, ns, is_tapis ? j->verdicts : NULL);
	}
}

/* The programs of one round: tapis, XDP_PASS and the references whose
 * bits are set in refs (refs_of), with the program fds in rf. */
struct progs {
	int tapis_fd, pass_fd;
	const struct refs *rf;
	unsigned refs;
};

/* One round of one regime: every program of the scenario, the order
 * rotating by round (with tapis and XDP_PASS alone: alternating), so that
 * none always runs right after another's cache footprint. */
static int measure(unsigned round, const struct progs *pg, struct job *j, struct regime *reg)
{
	/* TAPIS_BENCH_ONLY=tapis|pass runs one side only, for `perf stat`
	 * over a regime (investigation, not a figure: ratios become 0). */
	const char *only = getenv("TAPIS_BENCH_ONLY");
	int fds[2 + REF__COUNT], who[2 + REF__COUNT]; /* who: -2 tapis, -1 pass, else ref */
	double ns[2 + REF__COUNT] = {0};
	unsigned np = 0;
	int err = 0;

	fds[np] = pg->tapis_fd;
	who[np++] = -2;
	fds[np] = pg->pass_fd;
	who[np++] = -1;
	for (int r = 0; r < REF__COUNT && !only; r++)
		if (pg->refs & REF_BIT(r)) {
			fds[np] = pg->rf->fd[r];
			who[np++] = r;
		}
	if (only && (!strcmp(only, "tapis") || !strcmp(only, "pass"))) {
		unsigned k = !strcmp(only, "tapis") ? 0 : 1;

		err = run_job(fds[k], j, &ns[k], k == 0);
	} else {
		for (unsigned i = 0; i < np && !err; i++) {
			unsigned k = (round + i) % np;

			err = run_job(fds[k], j, &ns[k], who[k] == -2);
		}
	}
	if (err)
		return err;
	reg->tapis[reg->n] = ns[0];
	reg->pass[reg->n] = ns[1];
	reg->ratio[reg->n] = ns[1] > 0 ? ns[0] / ns[1] : NAN;
	for (unsigned k = 2; k < np; k++)
		reg->ref[who[k]][reg->n] = ns[k];
	reg->n++;
	return 0;
}

static const char *verdict_name(unsigned v)
{
	static const char *const n[] = {"aborted", "drop", "pass", "tx", "redirect"};

	return v < NVERDICT ? n[v] : "?";
}

static struct json_object *jnum(double v)
{
	/* null, not a number that could be a figure (an extra of -1 ns is one) */
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

static struct json_object *stat_json(const double *v, unsigned n)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	struct stat3 s = stats_of(v, n);

	json_object_object_add(o, "median", jnum(s.med));
	json_object_object_add(o, "min", jnum(s.min));
	json_object_object_add(o, "max", jnum(s.max));
	for (unsigned i = 0; i < n; i++)
		json_object_array_add(a, jnum(v[i]));
	json_object_object_add(o, "rounds", a);
	return o;
}

static struct json_object *regime_json(const struct regime *r)
{
	struct json_object *o = json_object_new_object();
	double d[MAX_ROUNDS];

	for (unsigned i = 0; i < r->n; i++)
		d[i] = r->tapis[i] - r->pass[i];
	json_object_object_add(o, "tapis_ns", stat_json(r->tapis, r->n));
	json_object_object_add(o, "xdp_pass_ns", stat_json(r->pass, r->n));
	json_object_object_add(o, "ratio", stat_json(r->ratio, r->n));
	json_object_object_add(o, "added_ns", stat_json(d, r->n));
	return o;
}

/* ---- references (refs.c) ----------------------------------------------- */
#define REFS_ADDR                                                                                  \
	(REF_BIT(REF_DROP) | REF_BIT(REF_FLOOR_OWN) | REF_BIT(REF_FLOOR_64M) |                     \
	 REF_BIT(REF_FLOOR_1M) | REF_BIT(REF_FLOOR_256K) | REF_BIT(REF_LPM))
#define REFS_DNS (REF_BIT(REF_DROP) | REF_BIT(REF_FLOOR_NAMES) | REF_BIT(REF_FLOOR_64M))

/* Which references run beside a scenario: the address rows (plain
 * Ethernet, a SYN to port 80, in or out of the policy) meet every floor
 * and the LPM trie; the DNS query rows the floor of the name tables. The
 * other rows have their own budgets in ns over XDP_PASS (issue 7), and
 * running seven programs beside each would triple the run. */
static unsigned refs_of(const struct scenario *sc)
{
	if (sc->l7 == L7_NONE && sc->encap == E_PLAIN && !sc->redirect && !sc->payload &&
	    sc->dport == 80)
		return REFS_ADDR;
	if (sc->l7 == L7_DNS_UDP)
		return REFS_DNS;
	return 0;
}

/* Per round: tapis's extra over XDP_PASS over the reference's extra.
 * XDP_DROP does no more than XDP_PASS (its extra is 0 give or take the
 * timer's nanosecond), so it has no such ratio; nor has a round where a
 * reference's extra is under 1 ns. */
static void extra_ratios(const struct regime *r, int ref, double *out)
{
	for (unsigned i = 0; i < r->n; i++) {
		double re = r->ref[ref][i] - r->pass[i];

		out[i] = ref != REF_DROP && re >= 1.0 ? (r->tapis[i] - r->pass[i]) / re : NAN;
	}
}

static struct json_object *ref_regime_json(const struct regime *r, int ref)
{
	struct json_object *o = json_object_new_object();
	double d[MAX_ROUNDS];

	json_object_object_add(o, "ns", stat_json(r->ref[ref], r->n));
	for (unsigned i = 0; i < r->n; i++)
		d[i] = r->ref[ref][i] - r->pass[i];
	json_object_object_add(o, "added_ns", stat_json(d, r->n));
	extra_ratios(r, ref, d);
	/* tapis's added ns / the reference's added ns; -1 where undefined */
	json_object_object_add(o, "tapis_extra_ratio", stat_json(d, r->n));
	for (unsigned i = 0; i < r->n; i++)
		d[i] = r->ref[ref][i] > 0 ? r->tapis[i] / r->ref[ref][i] : NAN;
	json_object_object_add(o, "tapis_ns_ratio", stat_json(d, r->n));
	return o;
}

/* Median (and min-max) over rounds of tapis's extra over ref's extra. */
static struct stat3 extra_ratio(const struct regime *r, int ref)
{
	double d[MAX_ROUNDS];

	extra_ratios(r, ref, d);
	return stats_of(d, r->n);
}

/* ---- machine ------------------------------------------------------------ */
static void cpu_model(char *buf, size_t sz)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, sz, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');

			if (c) {
				c += 2;
				c[strcspn(c, "\n")] = 0;
				snprintf(buf, sz, "%s", c);
			}
			break;
		}
	fclose(f);
}

/* ---- main --------------------------------------------------------------- */
/* The redirect scenario's rule: the generated policy has none. */
static int add_redirect_rule(struct policy *p)
{
	static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x10};
	struct rule *r, *rules = realloc(p->rules, (p->n_rules + 1) * sizeof(*rules));
	bool hb;

	if (!rules)
		return -ENOMEM;
	p->rules = rules;
	p->cap_rules = p->n_rules + 1;
	r = &rules[p->n_rules];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "bench-redirect");
	r->action = TAPIS_ACT_REDIRECT;
	r->dirs = TAPIS_DIRS_DST;
	r->nets = calloc(1, sizeof(*r->nets));
	if (!r->nets)
		return -ENOMEM;
	if (parse_cidr(REDIR_NET, &r->nets[0], &hb))
		return -EINVAL;
	r->nets[0].loc.file = "bench";
	r->n_nets = r->cap_nets = 1;
	snprintf(r->redirect_iface, sizeof(r->redirect_iface), "%s", REDIR_IFACE);
	memcpy(r->redirect_mac, mac, 6);
	r->has_redirect = true;
	r->loc.file = "bench";
	redir_net = r->nets[0];
	p->n_rules++;
	return 0;
}

static int add_monitor_rule(struct policy *p)
{
	struct rule *r, *rules = realloc(p->rules, (p->n_rules + 1) * sizeof(*rules));

	if (!rules)
		return -ENOMEM;
	p->rules = rules;
	p->cap_rules = p->n_rules + 1;
	r = &rules[p->n_rules];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "bench-monitor");
	r->action = TAPIS_ACT_MONITOR;
	r->dirs = TAPIS_DIRS_DST;
	r->hosts = calloc(1, sizeof(*r->hosts));
	if (!r->hosts)
		return -ENOMEM;
	r->hosts[0].kind = HOST_SUBTREE;
	r->hosts[0].name = strdup(MON_NAME + strlen("img.static.cdn."));
	if (!r->hosts[0].name)
		return -ENOMEM;
	r->hosts[0].loc.file = "bench";
	r->n_hosts = r->cap_hosts = 1;
	r->loc.file = "bench";
	p->n_rules++;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tapis-bench [--smoke] [--policy-dir DIR] [--rounds N] [--repeat N]\n"
		   "                   [--cold N] [--cold-inside PCT] [--cpu N] [--seed N]\n"
		   "                   [--json FILE] [--only SUBSTR] [--goals bench|small]\n"
		   "                   [--refs-only]\n"
		   "       tapis-bench live-... (see tests/bench/live.sh)\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"smoke", no_argument, NULL, 's'},
		{"policy-dir", required_argument, NULL, 'p'},
		{"rounds", required_argument, NULL, 'r'},
		{"repeat", required_argument, NULL, 'R'},
		{"cold", required_argument, NULL, 'c'},
		{"cpu", required_argument, NULL, 'C'},
		{"json", required_argument, NULL, 'j'},
		{"seed", required_argument, NULL, 'S'},
		{"only", required_argument, NULL, 'o'},
		{"cold-inside", required_argument, NULL, 'I'},
		{"goals", required_argument, NULL, 'G'},
		{"refs-only", no_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool set_rounds = false, set_repeat = false, set_cold = false;
	int c;

	*o = (struct opts){.policy_dir = "build/bench-policy",
			   .json_path = "build/bench.json",
			   .rounds = 7,
			   .repeat = 1000000,
			   .cold_n = 65536,
			   .cpu = -1,
			   .cold_inside = 50,
			   .goals = "bench",
			   .seed = 3};
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o->smoke = true;
			break;
		case 'p':
			o->policy_dir = optarg;
			break;
		case 'r':
			o->rounds = (unsigned)atoi(optarg);
			set_rounds = true;
			break;
		case 'R':
			o->repeat = (uint32_t)strtoul(optarg, NULL, 0);
			set_repeat = true;
			break;
		case 'c':
			o->cold_n = (unsigned)strtoul(optarg, NULL, 0);
			set_cold = true;
			break;
		case 'C':
			o->cpu = atoi(optarg);
			break;
		case 'j':
			o->json_path = optarg;
			break;
		case 'S':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			o->only = optarg;
			break;
		case 'I':
			o->cold_inside = (unsigned)atoi(optarg);
			break;
		case 'G':
			o->goals = optarg;
			break;
		case 'F':
			o->refs_only = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return -EINVAL;
	}
	if (o->smoke) {
		if (!set_rounds)
			o->rounds = 3;
		if (!set_repeat)
			o->repeat = 1000;
		if (!set_cold)
			o->cold_n = 2048;
	}
	if (strcmp(o->goals, "bench") && strcmp(o->goals, "small")) {
		fprintf(stderr, "tapis-bench: --goals bench|small\n");
		return -EINVAL;
	}
	if (o->rounds < 1 || o->rounds > MAX_ROUNDS || !o->repeat || !o->cold_n ||
	    o->cold_inside > 100) {
		fprintf(stderr, "tapis-bench: rounds 1..%d, repeat and cold > 0\n", MAX_ROUNDS);
		return -EINVAL;
	}
	return 0;
}

static bool picked(const struct opts *o, size_t i)
{
	return !SCEN[i].pending && (!o->only || strstr(SCEN[i].name, o->only)) &&
	       (!o->refs_only || refs_of(&SCEN[i]));
}

/* A per-call row's twin runs with it: its hot figure needs the twin's. */
static bool wanted(const struct opts *o, size_t i)
{
	if (picked(o, i))
		return true;
	for (size_t k = 0; k < NSCEN; k++)
		if (SCEN[k].twin && !strcmp(SCEN[k].twin, SCEN[i].name) && picked(o, k))
			return true;
	return false;
}

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "tapis-bench: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
}

/* live `net add` / `net del` on the loaded handle: wall time of each call,
 * and a packet to prove the added prefix drops. */
static struct json_object *net_edit_bench(struct tapis *t, int prog_fd, const char *rule,
					  const struct space *sp, bool *ok)
{
	struct json_object *o = json_object_new_object();
	double add24[8], add32[8], del32[8], del24[8];
	unsigned n = 0;
	int err = 0;

	*ok = true;
	for (unsigned i = 0; i < 8 && !err; i++) {
		char c24[32], c32[32];
		struct net_entry e24, e32;
		bool hb;
		uint64_t t0, t1, t2, t3, t4;
		uint8_t src[4], dst[4];
		struct pkt p;
		uint32_t ret = 0;
		double ns;

		snprintf(c24, sizeof(c24), "198.18.%u.0/24", 200 + i);
		snprintf(c32, sizeof(c32), "198.18.%u.77/32", 200 + i);
		if (ivals_has(&sp->v4, (198u << 24) | (18u << 16) | ((200u + i) << 8)))
			continue; /* a custom policy holds it already */
		memset(&e24, 0, sizeof(e24));
		memset(&e32, 0, sizeof(e32));
		parse_cidr(c24, &e24, &hb);
		parse_cidr(c32, &e32, &hb);
		e24.loc.file = e32.loc.file = "bench";
		t0 = now_ns();
		err = tapis_net_edit(t, rule, &e24, true);
		t1 = now_ns();
		err = err ?: tapis_net_edit(t, rule, &e32, true);
		t2 = now_ns();
		if (!err) {
			static const struct scenario probe = {
				"probe", "",   4,     E_PLAIN, false, 80,      PKT_TCP_SYN,
				0,	 NULL, 0,     0,       0,     L7_NONE, false,
				S_NONE,	 0,    false, false,   NULL};

			inet_pton(AF_INET, "198.18.0.1", src);
			memcpy(dst, e24.addr, 4);
			dst[3] = 9;
			if (build_pkt(&p, &probe, src, dst, NULL, 0) == 0 &&
			    run_hot(prog_fd, &p, 1, &ns, &ret) == 0 && ret != XDP_DROP) {
				fprintf(stderr, "tapis-bench: after net add %s the probe got %s\n",
					c24, verdict_name(ret));
				*ok = false;
			}
		}
		err = err ?: tapis_net_edit(t, rule, &e32, false);
		t3 = now_ns();
		err = err ?: tapis_net_edit(t, rule, &e24, false);
		t4 = now_ns();
		if (err)
			break;
		add24[n] = (t1 - t0) / 1e3;
		add32[n] = (t2 - t1) / 1e3;
		del32[n] = (t3 - t2) / 1e3;
		del24[n++] = (t4 - t3) / 1e3;
	}
	if (err) {
		fprintf(stderr, "tapis-bench: net edit on rule %s: %s\n", rule, strerror(-err));
		*ok = false;
	}
	json_object_object_add(o, "rule", json_object_new_string(rule));
	json_object_object_add(o, "add_24_us", stat_json(add24, n));
	json_object_object_add(o, "add_32_us", stat_json(add32, n));
	json_object_object_add(o, "del_32_us", stat_json(del32, n));
	json_object_object_add(o, "del_24_us", stat_json(del24, n));
	return o;
}

/* One table line; verdict is "" or the budget with met / NOT MET. */
static void print_row(const struct scenario *sc, const char *reg, const struct regime *r,
		      const char *verdict)
{
	struct stat3 t = stats_of(r->tapis, r->n), p = stats_of(r->pass, r->n),
		     q = stats_of(r->ratio, r->n);
	double d[MAX_ROUNDS];

	for (unsigned i = 0; i < r->n; i++)
		d[i] = r->tapis[i] - r->pass[i];
	printf("%-18s %-4s %7.1f (%6.1f-%6.1f) %7.1f (%6.1f-%6.1f) %6.2fx (%5.2f-%5.2f) %+7.1f  "
	       "%s\n",
	       sc->name, reg, t.med, t.min, t.max, p.med, p.min, p.max, q.med, q.min, q.max,
	       stats_of(d, r->n).med, verdict);
}

static void budget_str(char *buf, size_t sz, double value, double max, bool added)
{
	if (max <= 0)
		snprintf(buf, sz, "%s", "");
	else if (added)
		snprintf(buf, sz, "+%.2fx vs ipv4-nomatch, budget <=+%.1fx: %s", value, max,
			 value <= max ? "met" : "NOT MET");
	else
		snprintf(buf, sz, "budget <=%.1fx: %s", max, value <= max ? "met" : "NOT MET");
}

/* Median over the rounds of tapis - XDP_PASS, ns. */
static double added_ns(const struct regime *r)
{
	double d[MAX_ROUNDS];

	for (unsigned i = 0; i < r->n; i++)
		d[i] = r->tapis[i] - r->pass[i];
	return stats_of(d, r->n).med;
}

/* Block events on (a `tapis events` reading: tapis_ctl[TAPIS_CTL_EVENTS], and
 * the policy's settings.events) or off (no reader, as after a load; the
 * settings off too) (the budget of issue 9: events may cost a packet that
 * matches nothing at most +3 ns). The other rows run with no reader. */
static int set_events(struct tapis *t, const struct tapis_settings *saved, bool on)
{
	struct tapis_ctl ctl = {.events_reader = on};
	uint32_t kev = TAPIS_CTL_EVENTS;

	for (uint32_t g = 0; g < 2; g++) {
		struct tapis_settings s = saved[g];

		if (!on)
			s.ev_interval_ns = s.ev_burst_ns = 0;
		if (bpf_map_update_elem(t->map_fd[M_SETTINGS], &g, &s, BPF_ANY))
			return -errno;
	}
	if (bpf_map_update_elem(t->map_fd[M_CTL], &kev, &ctl, BPF_ANY))
		return -errno;
	return 0;
}

static const char *const EV_SCEN[] = {"ipv4-nomatch",	"ipv6-nomatch",	    "dns-5label-nomatch",
				      "tls-ch-nomatch", "http-get-nomatch", "tcp22-nomatch",
				      "ipv4-blocked"};
#define N_EV_SCEN (sizeof(EV_SCEN) / sizeof(EV_SCEN[0]))

/* A per-call row's hot figure. Its packet changes the flow's state, so it
 * cannot repeat inside one call: it runs one call a packet, the state put
 * back in place (mmap) between calls, which is the warm regime. What that
 * regime adds is measured in the same rounds on the twin, a packet of the
 * same stage that can repeat: its warm less its hot. false when the twin
 * did not run. */
static bool hot_equiv(size_t i, const struct scen_result *res, double *heq, double *cost)
{
	const char *twin = SCEN[i].twin;

	for (size_t k = 0; twin && k < NSCEN; k++) {
		if (strcmp(SCEN[k].name, twin) || !res[k].ran)
			continue;
		*cost = added_ns(&res[k].warm) - added_ns(&res[k].hot);
		*heq = added_ns(&res[i].hot) - *cost;
		return true;
	}
	return false;
}

static double added_ratio(const struct scen_result *sr, const struct scen_result *plain)
{
	double d[MAX_ROUNDS];

	for (unsigned r = 0; r < sr->hot.n; r++)
		d[r] = sr->hot.ratio[r] - plain->hot.ratio[r];
	return stats_of(d, sr->hot.n).med;
}

static long long sum_groups(const long long *g)
{
	long long t = 0;

	for (int i = 0; i < MG__COUNT; i++)
		t += g[i];
	return t;
}

/* The references beside each scenario that has them, hot and cold (warm:
 * the JSON). */
static void print_refs(const struct scen_result *res, const struct refs *rf)
{
	static const char *const rn[] = {"hot", "warm", "cold"};

	printf("\nreferences (issue 11), same rounds: ns, +ns over XDP_PASS of the round, and "
	       "tapis's +ns / the reference's +ns (median, min-max over rounds)\n");
	printf("%-18s %-4s %-14s %-26s %-26s %s\n", "scenario", "", "reference", "ns (min-max)",
	       "+ns (min-max)", "tapis +ns / ref +ns");
	for (size_t i = 0; i < NSCEN; i++) {
		unsigned refs = refs_of(&SCEN[i]);

		if (!res[i].ran || !refs)
			continue;
		for (int k = 0; k < 3; k++) {
			const struct regime *r = k == 0	  ? &res[i].hot
						 : k == 1 ? &res[i].warm
							  : &res[i].cold;
			struct stat3 ta = {0}, x;
			double d[MAX_ROUNDS];

			if (k == 1)
				continue;
			for (unsigned n = 0; n < r->n; n++)
				d[n] = r->tapis[n] - r->pass[n];
			ta = stats_of(d, r->n);
			printf("%-18s %-4s %-14s %-26s %+7.1f (%+6.1f %+6.1f)\n", SCEN[i].name,
			       rn[k], "tapis", "", ta.med, ta.min, ta.max);
			for (int f = 0; f < REF__COUNT; f++) {
				struct stat3 ns, ad;

				if (!(refs & REF_BIT(f)))
					continue;
				ns = stats_of(r->ref[f], r->n);
				for (unsigned n = 0; n < r->n; n++)
					d[n] = r->ref[f][n] - r->pass[n];
				ad = stats_of(d, r->n);
				x = extra_ratio(r, f);
				printf("%-18s %-4s %-14s %7.1f (%6.1f-%6.1f)    %+7.1f (%+6.1f "
				       "%+6.1f) ",
				       "", "", rf->label[f], ns.med, ns.min, ns.max, ad.med, ad.min,
				       ad.max);
				if (isfinite(x.med))
					printf("%6.2fx (%5.2f-%5.2f)\n", x.med, x.min, x.max);
				else
					printf("     - (tapis ns / its ns %.2fx)\n",
					       ns.med > 0 ? (ta.med + stats_of(r->pass, r->n).med) /
								    ns.med
							  : NAN);
			}
		}
	}
}

/* ---- goals of issue 11 -------------------------------------------------- */
struct goal {
	char what[160];
	double value, min, max, budget;
	const char *unit; /* "x", "ns", "B", "MiB" */
	bool met;
};
#define MAX_GOALS 32

static const struct scenario *scen_named(const char *name, const struct scen_result *res,
					 const struct scen_result **r)
{
	for (size_t i = 0; i < NSCEN; i++)
		if (!strcmp(SCEN[i].name, name) && res[i].ran) {
			*r = &res[i];
			return &SCEN[i];
		}
	return NULL;
}

static void goal_add(struct goal *g, unsigned *n, double v, double lo, double hi, double budget,
		     const char *unit, const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static void goal_add(struct goal *g, unsigned *n, double v, double lo, double hi, double budget,
		     const char *unit, const char *fmt, ...)
{
	va_list ap;

	if (*n == MAX_GOALS)
		return;
	va_start(ap, fmt);
	vsnprintf(g[*n].what, sizeof(g[*n].what), fmt, ap);
	va_end(ap);
	g[*n].value = v;
	g[*n].min = lo;
	g[*n].max = hi;
	g[*n].budget = budget;
	g[*n].unit = unit;
	g[*n].met = isfinite(v) && v <= budget;
	(*n)++;
}

/* The budgets of issue 11's Goals that this run can judge. "bench": the
 * bench policy (cold against the floor of tapis's own tables, DNS, bytes
 * per entry); "small": the small policy (all maps, cold against the 1 MiB
 * floor and its own). */
static unsigned goals_eval(const char *kind, const struct scen_result *res, const struct refs *rf,
			   const struct map_mem *mem, size_t n4, size_t n6, size_t nh,
			   struct goal *g)
{
	static const char *const addr[] = {"ipv4-nomatch", "ipv6-nomatch", "ipv4-blocked",
					   "ipv6-blocked"};
	static const char *const dns[] = {"dns-5label-match", "dns-5label-nomatch"};
	bool small = !strcmp(kind, "small");
	const struct scen_result *r;
	unsigned n = 0;

	for (size_t i = 0; i < NELEM(addr); i++) {
		struct stat3 x;

		if (!scen_named(addr[i], res, &r))
			continue;
		x = extra_ratio(&r->cold, REF_FLOOR_OWN);
		goal_add(g, &n, x.med, x.min, x.max, 1.15, "x",
			 "%s cold: +ns / floor-own's (%.1f MiB)", addr[i],
			 rf->bytes[REF_FLOOR_OWN] / 1048576.0);
		if (small) {
			x = extra_ratio(&r->cold, REF_FLOOR_1M);
			goal_add(g, &n, x.med, x.min, x.max, 1.15, "x",
				 "%s cold: +ns / floor-1MiB's", addr[i]);
		}
	}
	if (small) {
		goal_add(g, &n, mem->total / 1048576.0, NAN, NAN, 2.0, "MiB",
			 "tapis's maps in all (both generations)");
		return n;
	}
	for (size_t i = 0; i < NELEM(dns); i++) {
		double d[MAX_ROUNDS];
		struct stat3 x;

		if (!scen_named(dns[i], res, &r))
			continue;
		x = extra_ratio(&r->cold, REF_FLOOR_NAMES);
		goal_add(g, &n, x.med, x.min, x.max, 2.5, "x",
			 "%s cold: +ns / floor-names's (%.1f MiB)", dns[i],
			 rf->bytes[REF_FLOOR_NAMES] / 1048576.0);
		for (unsigned k = 0; k < r->hot.n; k++)
			d[k] = r->hot.tapis[k] - r->hot.pass[k];
		x = stats_of(d, r->hot.n);
		goal_add(g, &n, x.med, x.min, x.max, 50, "ns", "%s hot: +ns over XDP_PASS", dns[i]);
	}
	if (n4)
		goal_add(g, &n, (double)mem->loaded[MG_V4] / n4, NAN, NAN, 64, "B",
			 "IPv4 tables per prefix (%zu prefixes, one generation)", n4);
	if (n6)
		goal_add(g, &n, (double)mem->loaded[MG_V6] / n6, NAN, NAN, 64, "B",
			 "IPv6 tables per prefix (%zu prefixes, one generation)", n6);
	if (nh)
		goal_add(g, &n, (double)mem->loaded[MG_HOSTS] / nh, NAN, NAN, 100, "B",
			 "name tables per name (%zu names, one generation)", nh);
	return n;
}

static void goals_print(const char *kind, const struct goal *g, unsigned n)
{
	printf("\ngoals of issue 11 (%s policy):\n", kind);
	for (unsigned i = 0; i < n; i++) {
		char range[48] = "";

		if (isfinite(g[i].min))
			snprintf(range, sizeof(range), " (%.2f-%.2f)", g[i].min, g[i].max);
		printf("  %-58s %9.3f %-3s%-16s budget <= %g %s: %s\n", g[i].what, g[i].value,
		       g[i].unit, range, g[i].budget, g[i].unit, g[i].met ? "met" : "NOT MET");
	}
}

static struct json_object *goals_json(const struct goal *g, unsigned n)
{
	struct json_object *a = json_object_new_array();

	for (unsigned i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "goal", json_object_new_string(g[i].what));
		json_object_object_add(o, "value", jnum(g[i].value));
		if (isfinite(g[i].min)) {
			json_object_object_add(o, "min", jnum(g[i].min));
			json_object_object_add(o, "max", jnum(g[i].max));
		}
		json_object_object_add(o, "budget_max", jnum(g[i].budget));
		json_object_object_add(o, "unit", json_object_new_string(g[i].unit));
		json_object_object_add(o, "met", json_object_new_boolean(g[i].met));
		json_object_array_add(a, o);
	}
	return a;
}

int main(int argc, char **argv)
{
	struct scen_result res[NSCEN];
	struct scen_pkts pk[NSCEN];
	struct json_object *root, *js, *jl, *jm, *jmach, *jcfg;
	struct xdp_pass_bpf *base = NULL;
	struct policy pol;
	struct space sp;
	struct hostspace hs;
	struct tapis_load_opts lo = {0};
	struct compiled cpol;
	struct tapis t;
	struct opts o;
	struct map_mem mem;
	struct refs rf;
	struct tapis_ctl ctl = {};
	uint32_t zero = 0;
	char path[4096], cpu[256], cmd[1024] = "";
	struct utsname un;
	uint64_t t0, t1, t2, t3, tr;
	long long avail0, avail1, slab0, slab1;
	int err, pass_fd, rc = 0;
	bool edit_ok = true;
	double ref_load_s;
	struct goal goals[MAX_GOALS];
	unsigned n_goals = 0;
	time_t now = time(NULL);
	char date[64];

	if (argc > 1 && !strncmp(argv[1], "live-", 5))
		return live_main(argc - 1, argv + 1);
	for (int i = 0; i < argc; i++) {
		strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 2);
		strcat(cmd, " ");
	}
	if (parse_opts(argc, argv, &o))
		return 2;
	o.command = cmd;
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_setup(0, false);
	libbpf_set_print(NULL);
	pin_cpu(o.cpu);
	memset(res, 0, sizeof(res));
	memset(pk, 0, sizeof(pk));

	/* ---- load, timed ---- */
	snprintf(path, sizeof(path), "%s/policy.yaml", o.policy_dir);
	avail0 = proc_field("/proc/meminfo", "MemAvailable");
	slab0 = proc_field("/proc/meminfo", "Slab");
	t0 = now_ns();
	err = policy_parse_file(path, &pol);
	if (err) {
		fprintf(stderr,
			"tapis-bench: policy %s: %s (generate it with "
			"scripts/gen_bench_policy.py)\n",
			path, strerror(-err));
		return 1;
	}
	t1 = now_ns();
	err = add_redirect_rule(&pol) ?: add_monitor_rule(&pol);
	if (err) {
		fprintf(stderr, "tapis-bench: add the redirect and monitor rules: %s\n",
			strerror(-err));
		return 1;
	}
	/* Compiled first, as `tapis load` does: the program's host tables are
	 * sized to the policy when it is loaded. */
	err = policy_compile(&pol, NULL, &cpol);
	if (!err) {
		err = tapis_load_opts_for(&cpol, &lo) ?: tapis_create_opts(&t, NULL, &lo);
	}
	if (err) {
		fprintf(stderr, "tapis-bench: load tapis: %s\n", strerror(-err));
		return 1;
	}
	t2 = now_ns();
	err = compiled_resolve(&cpol) ?: tapis_apply(&t, &cpol);
	compiled_free(&cpol);
	t3 = now_ns();
	if (err) {
		fprintf(stderr, "tapis-bench: install %s: %s\n", path, strerror(-err));
		return 1;
	}
	err = flow_maps_open(&t);
	if (err) {
		fprintf(stderr, "tapis-bench: map the flow table: %s\n", strerror(-err));
		return 1;
	}
	avail1 = proc_field("/proc/meminfo", "MemAvailable");
	slab1 = proc_field("/proc/meminfo", "Slab");
	/* before the bench creates a map of its own: every map this process
	 * holds now is tapis's (maps_mem.c) */
	if (bpf_map_lookup_elem(t.map_fd[M_CTL], &zero, &ctl)) {
		fprintf(stderr, "tapis-bench: read the generation: %s\n", strerror(errno));
		return 1;
	}
	err = map_mem_walk(t.prog_fd, ctl.gen & 1, &mem);
	if (err) {
		fprintf(stderr, "tapis-bench: walk tapis's maps: %s\n", strerror(-err));
		return 1;
	}
	err = space_build(&sp, &pol) ?: hosts_build(&hs, &pol);
	if (err)
		return 1;
	base = xdp_pass_bpf__open_and_load();
	if (!base) {
		fprintf(stderr, "tapis-bench: load xdp_pass baseline: %s\n", strerror(errno));
		return 1;
	}
	pass_fd = bpf_program__fd(base->progs.xdp_pass);
	tr = now_ns();
	err = refs_load(&rf, (uint64_t)(mem.datapath[MG_V4] + mem.datapath[MG_V6]),
			(uint64_t)mem.datapath[MG_HOSTS], &sp);
	if (err) {
		fprintf(stderr, "tapis-bench: load the reference programs: %s\n", strerror(-err));
		return 1;
	}
	ref_load_s = (now_ns() - tr) / 1e9;

	cpu_model(cpu, sizeof(cpu));
	uname(&un);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	printf("tapis bench  %s  %ld CPUs  %s  kernel %s\n", date, sysconf(_SC_NPROCESSORS_ONLN),
	       cpu, un.release);
	printf("policy %s: %zu IPv4 + %zu IPv6 prefixes + %zu host patterns in %zu rules; "
	       "rounds %u, hot repeat %u, cold %u packets%s\n",
	       path, sp.n_v4_all, sp.n_v6_all, hs.n_hosts, pol.n_rules, o.rounds, o.repeat,
	       o.cold_n, o.smoke ? " (smoke)" : "");
	printf("load: parse %.3f s, create %.3f s, install %.3f s, total %.3f s\n", (t1 - t0) / 1e9,
	       (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t3 - t0) / 1e9);
	{
		struct bpf_prog_info a = {}, b = {};
		uint32_t la = sizeof(a), lb = sizeof(b);

		bpf_obj_get_info_by_fd(t.prog_fd, &a, &la);
		bpf_obj_get_info_by_fd(pass_fd, &b, &lb);
		printf("programs: tapis_xdp id %u (%u B jited, %u insns verified), xdp_pass id %u "
		       "(for bpftool prog profile)\n",
		       a.id, a.jited_prog_len, a.verified_insns, b.id);
	}
	printf("references (loaded in %.1f s), beside tapis and XDP_PASS in every round:\n",
	       ref_load_s);
	for (int r = 0; r < REF__COUNT; r++)
		printf("  %-14s %s\n", rf.label[r], rf.what[r]);

	/* ---- packets ---- */
	for (size_t i = 0; i < NSCEN; i++) {
		if (!wanted(&o, i))
			continue;
		err = make_packets(&SCEN[i], &sp, &hs, o.cold_n, o.cold_inside, o.seed * 1000 + i,
				   &pk[i]);
		if (err == -ENOENT && SCEN[i].l7 != L7_NONE) {
			res[i].skipped = "the policy has no host pattern in a drop rule";
			fprintf(stderr, "tapis-bench: %s skipped: %s\n", SCEN[i].name,
				res[i].skipped);
			continue;
		}
		if (err) {
			fprintf(stderr, "tapis-bench: build packets for %s: %s\n", SCEN[i].name,
				strerror(-err));
			return 1;
		}
		res[i].cold_inside = pk[i].cold_inside;
		res[i].cold_listed = pk[i].cold_listed;
	}
	if (hs.n_cand)
		printf("DNS query names (hot): listed %s, not listed %s\n", hs.hot_match,
		       hs.hot_nomatch);

	/* ---- rounds ---- */
	for (unsigned r = 0; r < o.rounds; r++) {
		for (size_t i = 0; i < NSCEN; i++) {
			struct scen_result *sr = &res[i];
			struct job j = {.pk = &pk[i], .sc = &SCEN[i], .o = &o};
			struct progs pg = {t.prog_fd, pass_fd, &rf, refs_of(&SCEN[i])};

			if (!wanted(&o, i) || sr->skipped)
				continue;
			j.k = R_HOT;
			err = measure(r, &pg, &j, &sr->hot);
			sr->hot_verdict = j.ret;
			j.k = R_WARM; /* per-call hot is warm already */
			if (!per_call(&SCEN[i]))
				err = err ?: measure(r, &pg, &j, &sr->warm);
			j.k = R_COLD;
			j.verdicts = r ? NULL : sr->cold_verdicts;
			err = err ?: measure(r, &pg, &j, &sr->cold);
			if (err) {
				fprintf(stderr, "tapis-bench: BPF_PROG_TEST_RUN (%s): %s\n",
					SCEN[i].name, strerror(-err));
				return 1;
			}
			sr->ran = true;
		}
	}

	/* ---- events on / off, hot, alternating in each round ---- */
	struct tapis_settings saved_set[2];
	struct regime ev_on[N_EV_SCEN] = {0}, ev_off[N_EV_SCEN] = {0};
	size_t ev_idx[N_EV_SCEN];
	bool ev_ran[N_EV_SCEN] = {0};

	for (uint32_t g = 0; g < 2; g++)
		if (bpf_map_lookup_elem(t.map_fd[M_SETTINGS], &g, &saved_set[g]))
			memset(&saved_set[g], 0, sizeof(saved_set[g]));
	for (size_t k = 0; k < N_EV_SCEN; k++) {
		ev_idx[k] = NSCEN;
		for (size_t i = 0; i < NSCEN; i++)
			if (!strcmp(SCEN[i].name, EV_SCEN[k]) && res[i].ran && !per_call(&SCEN[i]))
				ev_idx[k] = i;
	}
	for (unsigned r = 0;
	     r < o.rounds && (saved_set[0].ev_interval_ns || saved_set[1].ev_interval_ns); r++) {
		for (size_t k = 0; k < N_EV_SCEN; k++) {
			struct job j = {.pk = &pk[ev_idx[k]], .sc = &SCEN[ev_idx[k]], .o = &o};
			struct progs pg = {t.prog_fd, pass_fd, &rf, 0};
			bool first_on = !(r & 1);

			if (ev_idx[k] == NSCEN)
				continue;
			j.k = R_HOT;
			err = set_events(&t, saved_set, first_on)
				      ?: measure(r, &pg, &j, first_on ? &ev_on[k] : &ev_off[k]);
			err = err ?: set_events(&t, saved_set, !first_on) ?:
				     measure(r, &pg, &j,
					     first_on ? &ev_off[k] : &ev_on[k]);
			if (err) {
				fprintf(stderr, "tapis-bench: events on/off (%s): %s\n", EV_SCEN[k],
					strerror(-err));
				return 1;
			}
			ev_ran[k] = true;
		}
	}
	if (set_events(&t, saved_set, false) ||
	    bpf_map_update_elem(t.map_fd[M_SETTINGS], &(uint32_t){0}, &saved_set[0], BPF_ANY) ||
	    bpf_map_update_elem(t.map_fd[M_SETTINGS], &(uint32_t){1}, &saved_set[1], BPF_ANY))
		fprintf(stderr, "tapis-bench: settings not restored\n");

	/* ---- control plane after the runs (edits must not disturb timings) ---- */
	js = net_edit_bench(&t, t.prog_fd, sp.drop_rule ? sp.drop_rule : pol.rules[0].name, &sp,
			    &edit_ok);

	/* ---- table ---- */
	printf("\n%-18s %-4s %-24s %-24s %-21s %-8s %s\n", "scenario", "", "tapis ns (min-max)",
	       "XDP_PASS ns (min-max)", "ratio (min-max)", "+ns", "budget");
	for (size_t i = 0; i < NSCEN; i++) {
		const struct scenario *sc = &SCEN[i];
		struct scen_result *sr = &res[i];
		double heq, pcost;
		char bt[160];

		if (!sr->ran)
			continue;
		sr->verdict_ok = sr->hot_verdict == expect_of(sc);
		if (sc->budget_ns > 0 && per_call(sc) && hot_equiv(i, res, &heq, &pcost))
			snprintf(bt, sizeof(bt),
				 "budget <=+%.0f ns: %s (hot-equivalent +%.0f: 1 call a packet, "
				 "less +%.0f that adds to %s)",
				 sc->budget_ns, heq <= sc->budget_ns ? "met" : "NOT MET", heq,
				 pcost, sc->twin);
		else if (sc->budget_ns > 0)
			snprintf(bt, sizeof(bt), "budget <=+%.0f ns: %s%s", sc->budget_ns,
				 added_ns(&sr->hot) <= sc->budget_ns ? "met" : "NOT MET",
				 per_call(sc) ? " (hot: 1 call a packet)" : "");
		else if (sc->budget_add > 0 && res[0].ran)
			budget_str(bt, sizeof(bt), added_ratio(sr, &res[0]), sc->budget_add, true);
		else
			budget_str(bt, sizeof(bt), stats_of(sr->hot.ratio, sr->hot.n).med,
				   sc->budget_hot, false);
		print_row(sc, "hot", &sr->hot, bt);
		budget_str(bt, sizeof(bt), stats_of(sr->cold.ratio, sr->cold.n).med,
			   sc->budget_cold, false);
		if (!per_call(sc))
			print_row(sc, "warm", &sr->warm, "");
		print_row(sc, "cold", &sr->cold, bt);
		if (!sr->verdict_ok)
			printf("%*s! hot verdict %s, expected %s\n", 18, "",
			       verdict_name(sr->hot_verdict), verdict_name(expect_of(sc)));
	}
	for (size_t i = 0; i < NSCEN; i++)
		if (SCEN[i].pending)
			printf("%-18s pending: needs %s\n", SCEN[i].name, SCEN[i].pending);
	printf("\nblock events (settings.events) on vs off, hot, +ns over XDP_PASS, medians:\n");
	for (size_t k = 0; k < N_EV_SCEN; k++) {
		double on, off;

		if (!ev_ran[k])
			continue;
		on = added_ns(&ev_on[k]);
		off = added_ns(&ev_off[k]);
		printf("  %-18s on %+6.1f  off %+6.1f  events cost %+5.1f ns%s\n", EV_SCEN[k], on,
		       off, on - off,
		       strstr(EV_SCEN[k], "nomatch")
			       ? (on - off <= 3.0 ? "  budget <=+3 ns: met"
						  : "  budget <=+3 ns: NOT MET")
			       : "  (blocked: every run over the rate, counted lost)");
	}

	print_refs(res, &rf);
	{
		const size_t per[MG__COUNT] = {sp.n_v4_all, sp.n_v6_all, hs.n_hosts, 0};
		static const char *const unit[MG__COUNT] = {"prefix", "prefix", "name", ""};

		printf("\nmemory: tapis's maps %.2f MiB memlock in all (%u maps, both "
		       "generations), %.2f MiB loaded (standby generation left out)\n",
		       mem.total / 1048576.0, mem.n, sum_groups(mem.loaded) / 1048576.0);
		printf("  %-6s %12s %12s %16s %s\n", "table", "all MiB", "loaded MiB",
		       "read by program", "loaded per entry");
		for (int g = 0; g < MG__COUNT; g++) {
			printf("  %-6s %12.2f %12.2f %16.2f", map_group_name(g),
			       mem.all[g] / 1048576.0, mem.loaded[g] / 1048576.0,
			       mem.datapath[g] / 1048576.0);
			if (per[g])
				printf("  %.1f B/%s (%zu)", (double)mem.loaded[g] / per[g], unit[g],
				       per[g]);
			printf("\n");
		}
		printf("memory: MemAvailable dropped %.1f MiB, Slab grew %.1f MiB across the "
		       "load\n",
		       (avail0 - avail1) / 1024.0, (slab1 - slab0) / 1024.0);
		printf("process: VmHWM %.1f MiB, VmRSS %.1f MiB\n",
		       proc_field("/proc/self/status", "VmHWM") / 1024.0,
		       proc_field("/proc/self/status", "VmRSS") / 1024.0);
	}
	n_goals = goals_eval(o.goals, res, &rf, &mem, sp.n_v4_all, sp.n_v6_all, hs.n_hosts, goals);
	goals_print(o.goals, goals, n_goals);
	{
		struct json_object *a = json_object_object_get(js, "add_24_us"),
				   *b = json_object_object_get(js, "add_32_us");

		printf("net add (library call on the loaded handle): /24 %.0f us, /32 (tbl8 split) "
		       "%.0f us (medians)%s\n",
		       json_object_get_double(json_object_object_get(a, "median")),
		       json_object_get_double(json_object_object_get(b, "median")),
		       edit_ok ? "" : "  ! FAILED");
	}

	/* ---- JSON ---- */
	root = json_object_new_object();
	jmach = json_object_new_object();
	json_object_object_add(jmach, "nproc", json_object_new_int(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(jmach, "cpu", json_object_new_string(cpu));
	json_object_object_add(jmach, "kernel", json_object_new_string(un.release));
	json_object_object_add(root, "date", json_object_new_string(date));
	json_object_object_add(root, "machine", jmach);
	json_object_object_add(root, "command", json_object_new_string(o.command));
	jcfg = json_object_new_object();
	json_object_object_add(jcfg, "smoke", json_object_new_boolean(o.smoke));
	json_object_object_add(jcfg, "policy", json_object_new_string(path));
	json_object_object_add(jcfg, "v4_prefixes", json_object_new_int64(sp.n_v4_all));
	json_object_object_add(jcfg, "v6_prefixes", json_object_new_int64(sp.n_v6_all));
	json_object_object_add(jcfg, "host_patterns", json_object_new_int64(hs.n_hosts));
	json_object_object_add(jcfg, "rules", json_object_new_int64(pol.n_rules));
	json_object_object_add(jcfg, "rounds", json_object_new_int(o.rounds));
	json_object_object_add(jcfg, "hot_repeat", json_object_new_int64(o.repeat));
	json_object_object_add(jcfg, "cold_packets", json_object_new_int64(o.cold_n));
	json_object_object_add(jcfg, "cold_inside_pct", json_object_new_int64(o.cold_inside));
	json_object_object_add(jcfg, "seed", json_object_new_int64(o.seed));
	json_object_object_add(root, "config", jcfg);

	jl = json_object_new_object();
	json_object_object_add(jl, "parse_s", jnum((t1 - t0) / 1e9));
	json_object_object_add(jl, "create_s", jnum((t2 - t1) / 1e9));
	json_object_object_add(jl, "install_s", jnum((t3 - t2) / 1e9));
	json_object_object_add(jl, "total_s", jnum((t3 - t0) / 1e9));
	json_object_object_add(root, "load", jl);
	json_object_object_add(js, "ok", json_object_new_boolean(edit_ok));
	json_object_object_add(root, "net_edit", js);
	{
		struct json_object *ea = json_object_new_array();

		for (size_t k = 0; k < N_EV_SCEN; k++) {
			struct json_object *eo;

			if (!ev_ran[k])
				continue;
			eo = json_object_new_object();
			json_object_object_add(eo, "name", json_object_new_string(EV_SCEN[k]));
			json_object_object_add(eo, "on", regime_json(&ev_on[k]));
			json_object_object_add(eo, "off", regime_json(&ev_off[k]));
			json_object_object_add(eo, "cost_ns",
					       jnum(added_ns(&ev_on[k]) - added_ns(&ev_off[k])));
			json_object_array_add(ea, eo);
		}
		json_object_object_add(root, "events_on_off", ea);
	}

	jm = json_object_new_object();
	json_object_object_add(jm, "maps_bytes_memlock", json_object_new_int64(mem.total));
	json_object_object_add(jm, "maps", json_object_new_int64(mem.n));
	json_object_object_add(jm, "loaded_bytes", json_object_new_int64(sum_groups(mem.loaded)));
	{
		static const char *const key[MG__COUNT] = {"v4", "v6", "host", "other"};

		for (int g = 0; g < MG__COUNT; g++) {
			char k[64];

			/* loaded: one generation, what the budgets are about */
			snprintf(k, sizeof(k), "%s_tables_bytes", key[g]);
			json_object_object_add(jm, k, json_object_new_int64(mem.loaded[g]));
			snprintf(k, sizeof(k), "%s_all_generations_bytes", key[g]);
			json_object_object_add(jm, k, json_object_new_int64(mem.all[g]));
			snprintf(k, sizeof(k), "%s_read_by_program_bytes", key[g]);
			json_object_object_add(jm, k, json_object_new_int64(mem.datapath[g]));
		}
	}
	json_object_object_add(jm, "bytes_per_v4_prefix",
			       jnum(sp.n_v4_all ? (double)mem.loaded[MG_V4] / sp.n_v4_all : 0));
	json_object_object_add(jm, "bytes_per_host_pattern",
			       jnum(hs.n_hosts ? (double)mem.loaded[MG_HOSTS] / hs.n_hosts : 0));
	json_object_object_add(jm, "bytes_per_v6_prefix",
			       jnum(sp.n_v6_all ? (double)mem.loaded[MG_V6] / sp.n_v6_all : 0));
	json_object_object_add(jm, "bytes_per_prefix",
			       jnum(sp.n_v4_all + sp.n_v6_all
					    ? (double)(mem.loaded[MG_V4] + mem.loaded[MG_V6]) /
						      (sp.n_v4_all + sp.n_v6_all)
					    : 0));
	json_object_object_add(jm, "memavailable_drop_kib", json_object_new_int64(avail0 - avail1));
	json_object_object_add(jm, "slab_growth_kib", json_object_new_int64(slab1 - slab0));
	json_object_object_add(jm, "vm_hwm_kib",
			       json_object_new_int64(proc_field("/proc/self/status", "VmHWM")));
	json_object_object_add(jm, "vm_rss_kib",
			       json_object_new_int64(proc_field("/proc/self/status", "VmRSS")));
	json_object_object_add(jm, "map_list", mem.list);
	json_object_object_add(root, "memory", jm);
	{
		struct json_object *ra = json_object_new_array();

		for (int r = 0; r < REF__COUNT; r++) {
			struct json_object *ro = json_object_new_object();

			json_object_object_add(ro, "name", json_object_new_string(rf.label[r]));
			json_object_object_add(ro, "what", json_object_new_string(rf.what[r]));
			json_object_object_add(ro, "bytes", json_object_new_int64(rf.bytes[r]));
			json_object_array_add(ra, ro);
		}
		json_object_object_add(root, "references", ra);
		json_object_object_add(root, "goals_policy", json_object_new_string(o.goals));
		json_object_object_add(root, "goals", goals_json(goals, n_goals));
	}
	{
		struct bpf_prog_info pi = {};
		uint32_t len = sizeof(pi);
		struct json_object *jp = json_object_new_object();

		if (bpf_obj_get_info_by_fd(t.prog_fd, &pi, &len) == 0) {
			json_object_object_add(jp, "id", json_object_new_int64(pi.id));
			json_object_object_add(jp, "xlated_bytes",
					       json_object_new_int64(pi.xlated_prog_len));
			json_object_object_add(jp, "jited_bytes",
					       json_object_new_int64(pi.jited_prog_len));
			json_object_object_add(jp, "verified_insns",
					       json_object_new_int64(pi.verified_insns));
		}
		json_object_object_add(root, "program", jp);
	}

	{
		struct json_object *arr = json_object_new_array();

		for (size_t i = 0; i < NSCEN; i++) {
			const struct scenario *sc = &SCEN[i];
			double heq, pcost;
			struct json_object *s = json_object_new_object(), *b, *v;

			json_object_object_add(s, "name", json_object_new_string(sc->name));
			json_object_object_add(s, "what", json_object_new_string(sc->what));
			if (sc->pending) {
				json_object_object_add(s, "pending",
						       json_object_new_string(sc->pending));
				json_object_array_add(arr, s);
				continue;
			}
			json_object_object_add(s, "ran", json_object_new_boolean(res[i].ran));
			if (res[i].skipped)
				json_object_object_add(s, "skipped",
						       json_object_new_string(res[i].skipped));
			if (!res[i].ran) {
				json_object_array_add(arr, s);
				continue;
			}
			json_object_object_add(s, "frame_bytes",
					       json_object_new_int64(pk[i].hot.len));
			json_object_object_add(
				s, "hot_verdict",
				json_object_new_string(verdict_name(res[i].hot_verdict)));
			json_object_object_add(s, "verdict_ok",
					       json_object_new_boolean(res[i].verdict_ok));
			json_object_object_add(s, "expected_verdict",
					       json_object_new_string(verdict_name(expect_of(sc))));
			json_object_object_add(s, "hot", regime_json(&res[i].hot));
			if (per_call(sc))
				json_object_object_add(
					s, "hot_method",
					json_object_new_string(
						sc->setup == S_RESET
							? "per call: repeat=1, the flow's slot "
							  "cleared in place (mmap, untimed) "
							  "before each call"
							: "per call: repeat=1, the first "
							  "segment run once, the state it left "
							  "put back in place (mmap, untimed) "
							  "before each call"));
			else
				json_object_object_add(s, "warm", regime_json(&res[i].warm));
			if (per_call(sc) && hot_equiv(i, res, &heq, &pcost)) {
				json_object_object_add(s, "hot_equivalent_added_ns", jnum(heq));
				json_object_object_add(s, "per_call_cost_ns", jnum(pcost));
				json_object_object_add(s, "per_call_twin",
						       json_object_new_string(sc->twin));
			}
			if (sc->setup == S_ONCE)
				json_object_object_add(
					s, "setup",
					json_object_new_string("the blocking ClientHello run once "
							       "(hot, warm) or before each cold "
							       "packet, untimed"));
			json_object_object_add(s, "cold", regime_json(&res[i].cold));
			if (refs_of(sc)) {
				struct json_object *ro = json_object_new_object();

				for (int f = 0; f < REF__COUNT; f++) {
					struct json_object *rr;

					if (!(refs_of(sc) & REF_BIT(f)))
						continue;
					rr = json_object_new_object();
					json_object_object_add(rr, "hot",
							       ref_regime_json(&res[i].hot, f));
					json_object_object_add(rr, "warm",
							       ref_regime_json(&res[i].warm, f));
					json_object_object_add(rr, "cold",
							       ref_regime_json(&res[i].cold, f));
					json_object_object_add(ro, rf.label[f], rr);
				}
				json_object_object_add(s, "references", ro);
			}
			v = json_object_new_object();
			for (unsigned k = 0; k < NVERDICT; k++)
				if (res[i].cold_verdicts[k])
					json_object_object_add(
						v, verdict_name(k),
						json_object_new_int64(res[i].cold_verdicts[k]));
			json_object_object_add(s, "cold_verdicts_round1", v);
			/* every cold packet is inside a drop prefix or under a drop
			 * pattern: all but the few in allow holes are dropped */
			json_object_object_add(s, "cold_expect_drop",
					       json_object_new_boolean(sc->blocked || sc->listed));
			json_object_object_add(s, "cold_dst_inside",
					       json_object_new_int64(res[i].cold_inside));
			if (sc->l7 != L7_NONE) {
				json_object_object_add(
					s, "query_name",
					json_object_new_string(sc->listed ? hs.hot_match
									  : hs.hot_nomatch));
				json_object_object_add(s, "cold_names_listed",
						       json_object_new_int64(res[i].cold_listed));
			}
			b = json_object_new_object();
			if (sc->budget_ns > 0) {
				double m = added_ns(&res[i].hot);

				json_object_object_add(b, "hot_max_added_ns", jnum(sc->budget_ns));
				json_object_object_add(b, "hot_added_ns", jnum(m));
				json_object_object_add(b, "hot_added_ns_met",
						       json_object_new_boolean(m <= sc->budget_ns));
			}
			if (sc->budget_hot > 0) {
				double m = stats_of(res[i].hot.ratio, res[i].hot.n).med;

				json_object_object_add(b, "hot_max_ratio", jnum(sc->budget_hot));
				json_object_object_add(
					b, "hot_met", json_object_new_boolean(m <= sc->budget_hot));
			}
			if (sc->budget_cold > 0) {
				double m = stats_of(res[i].cold.ratio, res[i].cold.n).med;

				json_object_object_add(b, "cold_max_ratio", jnum(sc->budget_cold));
				json_object_object_add(
					b, "cold_met",
					json_object_new_boolean(m <= sc->budget_cold));
			}
			if (sc->budget_add > 0 && res[0].ran) {
				double m = added_ratio(&res[i], &res[0]);

				json_object_object_add(b, "hot_added_ratio", jnum(m));
				json_object_object_add(b, "hot_added_max", jnum(sc->budget_add));
				json_object_object_add(
					b, "hot_added_met",
					json_object_new_boolean(m <= sc->budget_add));
			}
			json_object_object_add(s, "budget", b);
			json_object_array_add(arr, s);
		}
		json_object_object_add(root, "scenarios", arr);
	}
	if (json_object_to_file_ext(o.json_path, root, JSON_C_TO_STRING_PRETTY)) {
		fprintf(stderr, "tapis-bench: write %s: %s\n", o.json_path,
			json_util_get_last_err());
		rc = 1;
	} else {
		printf("results: %s\n", o.json_path);
	}
	json_object_put(root);
	for (size_t i = 0; i < NSCEN; i++) {
		free(pk[i].cold);
		free(pk[i].cold_len);
		free(pk[i].cold_setup);
		free(pk[i].cold_setup_len);
	}
	space_free(&sp);
	hosts_free(&hs);
	refs_close(&rf);
	xdp_pass_bpf__destroy(base);
	tapis_close(&t);
	policy_free(&pol);
	return rc;
}
