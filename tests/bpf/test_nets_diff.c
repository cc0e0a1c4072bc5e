// SPDX-License-Identifier: GPL-2.0
/* The address tables against a plain longest-prefix reference: a random
 * policy of the bench's shape (nested lengths, three actions, a rule that
 * has expired and one that will), random addresses half inside it, looked
 * up through a reader of the real maps (the walk the XDP program makes)
 * and, for a sample, through the program itself with BPF_PROG_TEST_RUN
 * (verdict and the counter of the rule that matched); then the same after
 * random live adds and deletes, some into the expiring rules. Any
 * disagreement fails, with the address and both answers.
 *
 * Sizes: 20,000 IPv4 + 4,000 IPv6 prefixes, 200,000 addresses, 2,000
 * edits, a few seconds (make test). TAPIS_DIFF_SCALE=full: the bench's
 * 500,000 + 100,000 prefixes, 1,000,000 addresses, 10,000 edits (make
 * bench). TAPIS_DIFF_SEED changes the draw. The policy's chunks take the
 * inline chunk map sized at load (tapis_v4_chunk_s); test_nets_diff_small.c
 * builds this file with sizes of a few hundred prefixes (a /16 first
 * level), test_nets_diff_helper.c with the program loaded too small for
 * the chunks, which then take the map sized per generation
 * (tapis_v4_chunk): each run asserts which one it met. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "fixture.h"
#include "gen.h"
#include "pkt.h"
#include "test.h"

enum { R_DROP, R_MONITOR, R_ALLOW, R_EXPIRED, R_LATER, R_TIMED, R__N };
static const char *const rule_names[R__N] = {"drop", "monitor", "allow", "expired", "later", NULL};
/* The timed rule takes its base's (later's) direction. */
static const int rule_dirs[R__N] = {TAPIS_DIRS_DST, TAPIS_DIRS_BOTH, TAPIS_DIRS_DST,
				    TAPIS_DIRS_DST, TAPIS_DIRS_BOTH, TAPIS_DIRS_BOTH};
static char timed_name[TAPIS_NAME_MAX];
static uint32_t rule_id[R__N];
static bool rule_expired[R__N];

struct sizes {
	size_t n4, n6, addrs, pkts, edits;
};
#ifndef DIFF_SIZES
#define DIFF_SIZES                                                                                 \
	{                                                                                          \
		20000, 4000, 200000, 20000, 2000                                                   \
	}
#define DIFF_SCALABLE true
#endif
#ifndef DIFF_CHUNK_SMALL
#define DIFF_CHUNK_SMALL true
#endif
#ifndef DIFF_SCALABLE
#define DIFF_SCALABLE false
#endif
static struct sizes sz = DIFF_SIZES;

static struct fixture fx;
static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- the reference: every prefix with its rule, in a hash set ---- */
struct pfx {
	uint8_t family, plen, used, rule; /* rule: R_* */
	uint8_t addr[16];
};
static struct pfx *set;
static size_t set_cap, set_n;
static struct pfx *list; /* the prefixes, for draws and deletes */
static size_t list_n, list_cap;
static uint64_t lens[2][3]; /* [family 4/6][word]: lengths present */

static void mask(uint8_t *a, unsigned plen)
{
	for (unsigned b = 0; b < 16; b++) {
		int keep = (int)plen - (int)b * 8;

		a[b] = keep >= 8 ? a[b] : keep <= 0 ? 0 : a[b] & (uint8_t)(0xff << (8 - keep));
	}
}

static size_t slot_of(uint8_t family, uint8_t plen, const uint8_t *addr)
{
	uint64_t h = family * 1000003ULL + plen;

	uint64_t w[2];

	memcpy(w, addr, 16);
	h ^= w[0] * 0x9E3779B97F4A7C15ULL;
	h ^= (h >> 29) ^ w[1] * 0xBF58476D1CE4E5B9ULL;
	h = (h ^ (h >> 31)) * 0x94D049BB133111EBULL;
	return (h ^ (h >> 32)) & (set_cap - 1);
}

static struct pfx *find(uint8_t family, uint8_t plen, const uint8_t *addr)
{
	for (size_t s = slot_of(family, plen, addr);; s = (s + 1) & (set_cap - 1)) {
		struct pfx *p = &set[s];

		if (!p->used)
			return p;
		if (p->family == family && p->plen == plen && !memcmp(p->addr, addr, 16))
			return p;
	}
}

/* Deletes leave a tombstone (used 2) so that probes continue past it. */
static bool ref_has(const struct pfx *p)
{
	return p->used == 1;
}

static bool ref_add(uint8_t family, uint8_t plen, const uint8_t *addr, int rule)
{
	struct pfx *p = find(family, plen, addr);

	if (ref_has(p) || p->used == 2)
		return false; /* drawn before (a tombstone stays unused: simpler) */
	*p = (struct pfx){.family = family, .plen = plen, .used = 1, .rule = (uint8_t)rule};
	memcpy(p->addr, addr, 16);
	set_n++;
	lens[family == 6][plen / 64] |= 1ULL << (plen % 64);
	if (list_n == list_cap) {
		list_cap = list_cap ? 2 * list_cap : 4096;
		list = realloc(list, list_cap * sizeof(*list));
	}
	list[list_n++] = *p;
	return true;
}

/* The entry the data path must give addr in direction dir: the most
 * specific prefix of a rule matching in dir whose rule has not expired
 * (an expired one falls through to the next less specific). */
static void ref_lookup2(uint8_t family, const uint8_t *addr, uint32_t *want)
{
	int max = family == 4 ? 32 : 128, found = 0;

	want[0] = want[1] = 0;
	for (int l = max; l >= 0 && found != 3; l--) {
		uint8_t m[16];
		struct pfx *p;

		if (!(lens[family == 6][l / 64] & (1ULL << (l % 64))))
			continue;
		memcpy(m, addr, 16);
		mask(m, l);
		p = find(family, l, m);
		if (!ref_has(p) || rule_expired[p->rule])
			continue;
		for (int d = 0; d < TAPIS_DIR_MAX; d++)
			if (!(found & (1 << d)) && (rule_dirs[p->rule] & TAPIS_DIR_BIT(d))) {
				want[d] = tapis_ent_make(rule_id[p->rule], l);
				found |= 1 << d;
			}
	}
}

/* The entry the data path must give addr in direction dir: the most
 * specific prefix of a rule matching in dir whose rule has not expired
 * (an expired one falls through to the next less specific). */
static uint32_t ref_lookup(uint8_t family, const uint8_t *addr, int dir)
{
	uint32_t want[2];

	ref_lookup2(family, addr, want);
	return want[dir];
}

/* ---- the policy ---- */
static int draw_rule(void)
{
	unsigned r = rnd() % 1000;

	return r < 900	 ? R_DROP
	       : r < 950 ? R_MONITOR
	       : r < 960 ? R_ALLOW
	       : r < 980 ? R_EXPIRED
			 : R_LATER;
}

static void draw_v4(uint8_t *a, uint8_t *plen, const uint32_t *pool, size_t n_pool)
{
	unsigned r = rnd() % 1000;
	uint32_t x = (uint32_t)rnd(), pl;

	if (r < 600)
		pl = 24;
	else if (r < 800)
		pl = 16 + rnd() % 8;
	else if (r < 900)
		pl = 32;
	else if (r < 999)
		pl = 25 + rnd() % 7;
	else
		pl = 8 + rnd() % 8;
	if (pl > 24 && n_pool)
		x = pool[rnd() % n_pool] | (x & 0xff);
	/* 198.18.0.0/15 carries the packets' outside source: never listed. */
	if ((x >> 17) == (0xC612u >> 1) || (pl < 15 && ((0xC6120000u ^ x) >> (32 - pl)) == 0))
		x ^= 0x40000000u;
	x = htonl(x);
	memset(a, 0, 16);
	memcpy(a, &x, 4);
	mask(a, pl);
	*plen = (uint8_t)pl;
}

static void draw_v6(uint8_t *a, uint8_t *plen, const uint32_t *tops, size_t n_tops)
{
	static const uint8_t L[] = {32, 36, 40, 44, 48, 48, 48, 52,
				    56, 56, 60, 64, 64, 64, 96, 128};
	uint32_t top = htonl(tops[rnd() % n_tops]);
	uint64_t lo = rnd(), lo2 = rnd();

	memcpy(a, &top, 4);
	memcpy(a + 4, &lo, 8);
	memcpy(a + 12, &lo2, 4);
	*plen = L[rnd() % sizeof(L)];
	mask(a, *plen);
}

static char tmpdir[64];

static int write_policy(char **yaml)
{
	FILE *f[R__N] = {0};
	char path[128];
	uint32_t *pool = calloc(sz.n4 / 8 + 1, sizeof(*pool)), *tops;
	size_t n_pool = sz.n4 / 8 + 1, n_tops = sz.n6 / 8 + 1;
	size_t len = 0;

	tops = calloc(n_tops, sizeof(*tops));
	if (!pool || !tops || !mkdtemp(strcpy(tmpdir, "/tmp/tapis-diff-XXXXXX")))
		return -errno;
	for (size_t i = 0; i < n_pool; i++)
		pool[i] = (uint32_t)rnd() & 0xffffff00u;
	for (size_t i = 0; i < n_tops; i++)
		tops[i] = 0x20000000u | ((uint32_t)rnd() & 0x1fffffffu);
	for (int r = 0; r < R_TIMED; r++) {
		snprintf(path, sizeof(path), "%s/%s.txt", tmpdir, rule_names[r]);
		f[r] = fopen(path, "w");
		if (!f[r])
			return -errno;
	}
	for (size_t i = 0; i < sz.n4 + sz.n6; i++) {
		uint8_t a[16], pl;
		char txt[INET6_ADDRSTRLEN];
		int fam = i < sz.n4 ? 4 : 6, r = draw_rule();

		do {
			if (fam == 4)
				draw_v4(a, &pl, pool, n_pool);
			else
				draw_v6(a, &pl, tops, n_tops);
		} while (!ref_add(fam, pl, a, r));
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, txt, sizeof(txt));
		fprintf(f[r], "%s/%u\n", txt, pl);
	}
	for (int r = 0; r < R_TIMED; r++)
		fclose(f[r]);
	free(pool);
	free(tops);
	*yaml = malloc(4096);
	if (!*yaml)
		return -ENOMEM;
	len += snprintf(*yaml + len, 4096 - len, "version: 1\nrules:\n");
	static const char *const act[R_TIMED] = {"drop", "monitor", "allow", "drop", "drop"};
	static const char *const extra[R_TIMED] = {
		"", "    direction: both\n", "", "    expires: 2020-01-01T00:00:00Z\n",
		"    direction: both\n    expires: 2099-01-01T00:00:00Z\n"};
	for (int r = 0; r < R_TIMED; r++)
		len += snprintf(*yaml + len, 4096 - len,
				"  - name: %s\n    action: %s\n%s    net_lists: [%s/%s.txt]\n",
				rule_names[r], act[r], extra[r], tmpdir, rule_names[r]);
	return 0;
}

/* ---- the comparison ---- */
static void draw_addr(uint8_t family, uint8_t *a)
{
	uint64_t x = rnd(), y = rnd();

	memcpy(a, &x, 8);
	memcpy(a + 8, &y, 8);
	if (rnd() & 1) { /* inside a random prefix of the policy */
		const struct pfx *p = &list[rnd() % list_n];

		for (size_t k = 0; p->family != family && k < 64; k++)
			p = &list[rnd() % list_n];
		if (p->family == family) {
			for (unsigned b = 0; b < 16; b++) {
				int keep = (int)p->plen - (int)b * 8;
				uint8_t m = keep >= 8	? 0xff
					    : keep <= 0 ? 0
							: (uint8_t)(0xff << (8 - keep));

				a[b] = (p->addr[b] & m) | (a[b] & ~m);
			}
		}
	}
	if (family == 4)
		memset(a + 4, 0, 12);
}

static uint32_t table_lookup(struct net_tables *nt, uint8_t family, const uint8_t *addr, int dir)
{
	struct net_entry e = {.family = family, .plen = family == 4 ? 32 : 128};
	uint32_t ents[TAPIS_NET_CHAIN];

	memcpy(e.addr, addr, 16);
	net_lookup_list(nt, dir, &e, ents);
	for (int i = 0; i < TAPIS_NET_CHAIN && ents[i]; i++) {
		bool expired = false;

		for (int r = 0; r < R__N; r++)
			if (rule_id[r] == tapis_ent_rule(ents[i]) && rule_expired[r])
				expired = true;
		if (!expired)
			return ents[i];
	}
	return 0;
}

static const char *ent_str(uint32_t e, char *buf, size_t n)
{
	const char *name = "-";

	for (int r = 0; r < R__N; r++)
		if (e && rule_id[r] == tapis_ent_rule(e))
			name = r == R_TIMED ? timed_name : rule_names[r];
	snprintf(buf, n, "%s/%u", name, e ? tapis_ent_plen(e) : 0);
	return buf;
}

/* Every address of a family through the maps' reader, both directions. */
static bool compare_reader(const char *when, uint8_t family)
{
	struct net_tables nt;
	uint32_t gen;
	size_t bad = 0;

	ASSERT_OK(gen_active(&fx.t, &gen));
	ASSERT_OK(net_tables_open(&nt, &fx.t, gen));
	ASSERT_EQ(!!(nt.flags & TAPIS_SF_V4_CHUNK_SMALL), DIFF_CHUNK_SMALL,
		  "%s: the chunk map this policy's size gets (small: %d)", when, DIFF_CHUNK_SMALL);
	for (size_t i = 0; i < sz.addrs; i++) {
		uint8_t a[16];

		uint32_t wants[2];

		draw_addr(family, a);
		ref_lookup2(family, a, wants);
		for (int d = 0; d < TAPIS_DIR_MAX; d++) {
			uint32_t want = wants[d], got = table_lookup(&nt, family, a, d);
			char w[80], g[80], txt[INET6_ADDRSTRLEN];

			if (want == got)
				continue;
			if (bad++ < 10)
				fprintf(stderr, "# %s: %s %s: tables %s, reference %s\n", when,
					inet_ntop(family == 4 ? AF_INET : AF_INET6, a, txt,
						  sizeof(txt)),
					d ? "src" : "dst", ent_str(got, g, sizeof(g)),
					ent_str(want, w, sizeof(w)));
		}
	}
	net_tables_close(&nt);
	printf("# %s: %zu IPv%u addresses x 2 directions through the maps: %zu disagreements\n",
	       when, sz.addrs, family, bad);
	ASSERT_EQ(bad, 0, "%s: reader disagreements", when);
	return true;
}

static uint64_t counters[R__N];

static void read_counters(uint64_t *c)
{
	for (int r = 0; r < R__N; r++)
		c[r] = rule_id[r] ? fx_id_packets(&fx, rule_id[r]) : 0;
}

/* A sample through the program: the address as destination (source
 * outside every prefix), then as source; verdict and counters. */
static uint32_t ref_v6(const uint8_t *a, int dir)
{
	return ref_lookup(6, a, dir);
}

static bool compare_packets(const char *when, uint8_t family)
{
	const char *out = family == 4 ? "198.18.0.1" : "2001:db8::1";
	size_t bad = 0;

	for (size_t i = 0; i < sz.pkts; i++) {
		uint8_t a[16];
		char txt[INET6_ADDRSTRLEN];
		int d = i & 1;

		draw_addr(family, a);
		inet_ntop(family == 4 ? AF_INET : AF_INET6, a, txt, sizeof(txt));
		uint32_t want = family == 4 ? ref_lookup(4, a, d) : ref_v6(a, d);
		int want_rule = -1, verdict;
		uint64_t after[R__N];
		struct pkt p;

		for (int r = 0; r < R__N; r++)
			if (want && rule_id[r] == tapis_ent_rule(want))
				want_rule = r;
		pkt_init(&p);
		pkt_eth(&p, "02:00:00:00:00:02", "02:00:00:00:00:01");
		if (family == 4)
			pkt_ipv4(&p, d ? txt : out, d ? out : txt, IPPROTO_UDP, NULL);
		else
			pkt_ipv6(&p, d ? txt : out, d ? out : txt, IPPROTO_UDP);
		pkt_udp(&p, 40000, 9);
		pkt_payload(&p, "x", 1);
		pkt_finish(&p);
		read_counters(counters);
		verdict = fx_run(&fx, p.buf, p.len, NULL, NULL);
		read_counters(after);
		bool drop = want_rule == R_DROP || want_rule == R_LATER || want_rule == R_TIMED ||
			    want_rule == R_EXPIRED;
		bool ok = verdict == (drop ? XDP_DROP : XDP_PASS);

		for (int r = 0; r < R__N; r++)
			ok = ok && after[r] - counters[r] == (r == want_rule);
		if (!ok && bad++ < 10)
			fprintf(stderr, "# %s: packet %s %s: verdict %s, want rule %s\n", when,
				d ? "from" : "to", txt, xdp_action_name(verdict),
				want_rule < 0 ? "none" : rule_names[want_rule] ?: timed_name);
	}
	printf("# %s: %zu IPv%u packets through the program: %zu disagreements\n", when, sz.pkts,
	       family, bad);
	ASSERT_EQ(bad, 0, "%s: IPv%u packet disagreements", when, family);
	return true;
}

/* ---- edits ---- */
static bool random_edits(void)
{
	size_t adds = 0, dels = 0;
	int64_t later = time(NULL) + 86400;

	ASSERT_OK(tapis_timed_rule(&fx.t, "later", later, timed_name, sizeof(timed_name)));
	rule_id[R_TIMED] = fx_rule_id(&fx, timed_name);
	ASSERT_NE(rule_id[R_TIMED], 0, "timed rule %s", timed_name);
	for (size_t i = 0; i < sz.edits; i++) {
		struct net_entry e = {0};
		bool add = rnd() % 2 || !list_n;

		if (add) {
			int r = rnd() % 4 ? draw_rule() : R_TIMED;
			uint8_t fam = rnd() % 5 ? 4 : 6;
			const struct pfx *near = &list[rnd() % list_n];
			uint32_t top;

			/* Under the /24 or /32 of an existing prefix, so that
			 * edits nest in what is there. */
			memcpy(&top, near->addr, 4);
			top = ntohl(top);
			if (fam == 4) {
				top &= 0xffffff00u;
				draw_v4(e.addr, &e.plen, &top, 1);
			} else {
				draw_v6(e.addr, &e.plen, &top, 1);
			}
			if (!ref_add(fam, e.plen, e.addr, r))
				continue;
			e.family = fam;
			ASSERT_OK(tapis_net_edit(&fx.t, r == R_TIMED ? timed_name : rule_names[r],
						 &e, true),
				  "add #%zu", i);
			adds++;
		} else {
			size_t k = rnd() % list_n;
			struct pfx *p = find(list[k].family, list[k].plen, list[k].addr);

			list[k] = list[--list_n];
			if (!ref_has(p))
				continue;
			e.family = p->family;
			e.plen = p->plen;
			memcpy(e.addr, p->addr, 16);
			ASSERT_OK(tapis_net_edit(&fx.t,
						 p->rule == R_TIMED ? timed_name
								    : rule_names[p->rule],
						 &e, false),
				  "del #%zu", i);
			p->used = 2;
			set_n--;
			dels++;
		}
	}
	printf("# %zu adds, %zu deletes\n", adds, dels);
	return true;
}

static bool test_differential(void)
{
	for (int r = 0; r < R_TIMED; r++) {
		rule_id[r] = fx_rule_id(&fx, rule_names[r]);
		ASSERT_NE(rule_id[r], 0, "rule %s", rule_names[r]);
	}
	ASSERT_TRUE(compare_reader("after load", 4));
	ASSERT_TRUE(compare_reader("after load", 6));
	ASSERT_TRUE(compare_packets("after load", 4));
	ASSERT_TRUE(compare_packets("after load", 6));
	ASSERT_TRUE(random_edits());
	ASSERT_TRUE(compare_reader("after edits", 4));
	ASSERT_TRUE(compare_reader("after edits", 6));
	ASSERT_TRUE(compare_packets("after edits", 4));
	ASSERT_TRUE(compare_packets("after edits", 6));
	return true;
}

static const struct test_case tests[] = {
	TEST(test_differential),
};

int main(int argc, char **argv)
{
	const char *scale = getenv("TAPIS_DIFF_SCALE"), *seed = getenv("TAPIS_DIFF_SEED");
	char *yaml = NULL;
	int rc;

	if (scale && !strcmp(scale, "full") && DIFF_SCALABLE)
		sz = (struct sizes){500000, 100000, 1000000, 100000, 10000};
#ifdef DIFF_CHUNKS_LOADED
	fx_v4_chunks_small = DIFF_CHUNKS_LOADED;
#endif
	if (seed)
		rng ^= strtoull(seed, NULL, 0) * 0x9E3779B97F4A7C15ULL;
	set_cap = 1;
	while (set_cap < 4 * (sz.n4 + sz.n6 + sz.edits))
		set_cap <<= 1;
	set = calloc(set_cap, sizeof(*set));
	if (!set || write_policy(&yaml)) {
		fprintf(stderr, "cannot write the policy: %s\n", strerror(errno));
		return 1;
	}
	rule_expired[R_EXPIRED] = true;
	rc = fx_main(&fx, yaml, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	for (int r = 0; r < R_TIMED; r++) {
		char path[128];

		snprintf(path, sizeof(path), "%s/%s.txt", tmpdir, rule_names[r]);
		unlink(path);
	}
	rmdir(tmpdir);
	free(yaml);
	return rc;
}
