// SPDX-License-Identifier: GPL-2.0
/* The hostname hash, user side against XDP side.
 *
 * Thousands of generated names go through hostname_hash() and
 * hostname_suffix_hashes() (user/lib/hostname.c, what the policy compiler keys
 * the host table with) and through the XDP program (what a DNS query is
 * matched with). Every pattern is its own monitor rule, so the rule whose
 * counter moves says which pattern the program found. A reference matcher
 * in this file, built only from the user-side hashes, predicts that rule
 * for every query: names under patterns, exact and wildcard patterns,
 * patterns nested in patterns, random letter case, and near misses (one
 * letter changed, a label boundary moved, a suffix that is not a whole
 * label). The two sides must agree on every query. Each name is sent
 * three times: as a DNS query (wire form), and as the text of a TLS
 * server_name and an HTTP Host, which must key the same rule. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "fixture.h"
#include "hostname.h"
#include "pkt.h"
#include "test.h"

#define N_BASE	    1500 /* generated registrable names */
#define N_RULES_MAX 3000

enum kind { SUBTREE, EXACT, WILDCARD };

struct pattern {
	char name[TAPIS_HOST_MAX + 1];
	enum kind kind;
	uint32_t rule_id; /* filled after install */
};

static struct pattern pats[N_RULES_MAX];
static size_t n_pats;
static struct fixture fx;
static unsigned seed = 20261129;

static unsigned rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 8;
}

static void rnd_label(char *out, int len)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789-_";

	for (int i = 0; i < len; i++) {
		/* no '-' first: keep names the normaliser accepts either way */
		out[i] = alpha[rnd() % (i ? sizeof(alpha) - 1 : 36)];
	}
	out[len] = '\0';
}

/* A label length: mostly short, sometimes up to 63. */
static int rnd_len(void)
{
	unsigned r = rnd() % 100;

	if (r < 70)
		return 1 + rnd() % 10;
	if (r < 95)
		return 1 + rnd() % 24;
	return 1 + rnd() % 63;
}

static void add_pattern(const char *name, enum kind k)
{
	if (n_pats >= N_RULES_MAX || strlen(name) > TAPIS_HOST_MAX)
		return;
	for (size_t i = 0; i < n_pats; i++)
		if (!strcmp(pats[i].name, name))
			return; /* one pattern per name: keeps attribution exact */
	snprintf(pats[n_pats].name, sizeof(pats[n_pats].name), "%s", name);
	pats[n_pats].kind = k;
	n_pats++;
}

static void generate(void)
{
	static const char *const tlds[] = {"com", "org", "net", "ru", "co.uk", "xn--p1ai", "io"};
	char name[600], lab[64];

	for (int i = 0; i < N_BASE; i++) {
		rnd_label(lab, rnd_len() % 59 + 1); /* room for the number */
		snprintf(name, sizeof(name), "%.58s%d.%s", lab, i, tlds[rnd() % 7]);
		add_pattern(name, (enum kind)(rnd() % 3));
		/* a nested pattern under some: another kind, another rule */
		if (rnd() % 3 == 0) {
			char sub[700];

			rnd_label(lab, rnd_len());
			snprintf(sub, sizeof(sub), "%.63s.%.300s", lab, name);
			add_pattern(sub, (enum kind)(rnd() % 3));
		}
		/* a deep one: many labels */
		if (rnd() % 10 == 0) {
			char deep[600] = "";
			int depth = 3 + rnd() % 12;

			for (int d = 0; d < depth; d++) {
				rnd_label(lab, 1 + rnd() % 8);
				strcat(deep, lab);
				strcat(deep, ".");
			}
			strcat(deep, name);
			add_pattern(deep, (enum kind)(rnd() % 3));
		}
	}
	/* every label length, 1 to 63, in front and in the middle of a name:
	 * the wire chunks of a label end where it ends, so 7, 8 and 9 bytes
	 * (a label of one chunk, exactly one, one and a byte) and each
	 * multiple of 8 around are where a reader of chunks goes wrong */
	for (int len = 1; len <= TAPIS_LABEL_MAX; len++) {
		rnd_label(lab, len);
		snprintf(name, sizeof(name), "%s.len%d.example", lab, len);
		add_pattern(name, (enum kind)(len % 3));
		rnd_label(lab, len);
		snprintf(name, sizeof(name), "m%d.%s.example", len, lab);
		add_pattern(name, (enum kind)((len + 1) % 3));
	}
	/* a long one, close to 253 bytes */
	{
		char lng[300] = "";

		for (int d = 0; d < 3; d++) {
			rnd_label(lab, 63);
			strcat(lng, lab);
			strcat(lng, ".");
		}
		rnd_label(lab, 40);
		strcat(lng, lab);
		strcat(lng, ".long-name.com");
		lng[253] = '\0';
		if (lng[252] == '.')
			lng[252] = 'x';
		add_pattern(lng, SUBTREE);
	}
}

/* ---- the reference matcher: user-side hashes only ---- */
struct ref_ent {
	uint64_t key;
	uint32_t self, sub;
};
static struct ref_ent *ref;
static size_t n_ref;

static int ref_cmp(const void *a, const void *b)
{
	const struct ref_ent *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static struct ref_ent *ref_find(uint64_t key)
{
	struct ref_ent k = {.key = key};

	return bsearch(&k, ref, n_ref, sizeof(*ref), ref_cmp);
}

static void ref_build(void)
{
	ref = calloc(n_pats, sizeof(*ref));
	for (size_t i = 0; i < n_pats; i++) {
		uint64_t key = hostname_hash(pats[i].name);
		struct ref_ent *e = NULL;

		for (size_t j = 0; j < n_ref; j++)
			if (ref[j].key == key)
				e = &ref[j];
		if (!e) {
			e = &ref[n_ref++];
			e->key = key;
		}
		if (pats[i].kind != WILDCARD)
			e->self = pats[i].rule_id;
		if (pats[i].kind != EXACT)
			e->sub = pats[i].rule_id;
	}
	qsort(ref, n_ref, sizeof(*ref), ref_cmp);
}

/* The rule the policy says the (normalised) name gets: most specific
 * first, the whole name by its self rule, parents by their sub rule. */
static uint32_t ref_match(const char *norm)
{
	uint64_t h[TAPIS_MAX_LABELS];
	int n = hostname_suffix_hashes(norm, h, TAPIS_MAX_LABELS);

	for (int i = 0; i < n; i++) {
		struct ref_ent *e = ref_find(h[i]);
		uint32_t id = e ? (i == 0 ? e->self : e->sub) : 0;

		if (id)
			return id;
	}
	return 0;
}

/* ---- the XDP side ---- */
/* Rule id 0 is "no rule": its count is never compared (run_name). */
static uint64_t counter(uint32_t id)
{
	return id ? fx_id_packets(&fx, id) : 0;
}

static uint64_t monitored(void)
{
	struct tapis_action_counter pc[512];
	uint32_t a = TAPIS_ACT_MONITOR;
	uint64_t s = 0;

	/* A read that failed is no count: 0 == 0 would pass "matched nothing". */
	if (fx.t.ncpus > 512 || bpf_map_lookup_elem(fx.t.map_fd[M_ACTIONS], &a, pc)) {
		fprintf(stderr, "monitor action counter: cannot read\n");
		abort();
	}
	for (int c = 0; c < fx.t.ncpus; c++)
		s += pc[c].packets;
	return s;
}

static unsigned n_checked, n_hits, n_misses;

/* One query: the rule the program picked must be the reference's. */
enum source { SRC_DNS, SRC_TLS, SRC_HTTP, SRC_N };

/* One name in one packet of its source: a DNS query (UDP or TCP), a
 * ClientHello's server_name, or an HTTP Host; exactly rule want (0: none)
 * counts it. */
static bool run_name(const char *qname, uint32_t want, enum source src)
{
	static const char *const what[SRC_N] = {"query", "SNI", "Host"};
	static uint16_t port = 20000;
	uint64_t c0 = counter(want), m0 = monitored();
	bool v6 = rnd() & 1;
	struct pkt p;
	int ret;

	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	if (v6)
		pkt_ipv6(&p, "2001:db8:1::2", "2001:db8:2::2", PKT_AUTO);
	else
		pkt_ipv4(&p, "198.18.1.2", "198.18.2.2", PKT_AUTO, NULL);
	port = port >= 60000 ? 20000 : port + 1;
	if (src == SRC_TLS) {
		pkt_tcp(&p, port, 443, PKT_TCP_PSH | PKT_TCP_ACK, 1, 1);
		tls_client_hello(&p, qname);
	} else if (src == SRC_HTTP) {
		pkt_tcp(&p, port, 80, PKT_TCP_PSH | PKT_TCP_ACK, 1, 1);
		http_get(&p, qname, "/");
	} else if (rnd() % 4 == 0) {
		pkt_tcp(&p, 40000, 53, PKT_TCP_PSH | PKT_TCP_ACK, 1, 1);
		dns_query_tcp(&p, qname, DNS_TYPE_A, rnd() & 0xffff, DNS_RD, rnd() & 1);
	} else {
		pkt_udp(&p, 40000, 53);
		dns_query(&p, qname, DNS_TYPE_A, rnd() & 0xffff, DNS_RD, rnd() & 1);
	}
	ASSERT_OK(pkt_finish(&p), "build '%s': %s", qname, p.errmsg ? p.errmsg : "");
	ret = fx_run(&fx, p.buf, p.len, NULL, NULL);
	ASSERT_EQ(ret, XDP_PASS, "%s '%s'", what[src], qname);
	ASSERT_EQ(monitored(), m0 + (want != 0), "%s '%s': %s", what[src], qname,
		  want ? "the program matched nothing" : "the program matched a rule");
	if (want)
		ASSERT_EQ(counter(want), c0 + 1, "%s '%s': the program matched another rule",
			  what[src], qname);
	return true;
}

/* The name as a DNS query, and the same text as an SNI and a Host: the
 * dotted text must give the keys the wire form gives. */
static bool run_query(const char *qname, uint32_t want)
{
	for (int src = 0; src < SRC_N; src++)
		if (!run_name(qname, want, (enum source)src))
			return false;
	n_checked++;
	if (want)
		n_hits++;
	else
		n_misses++;
	return true;
}

/* Random letter case, as resolvers send it. */
static void randomise_case(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z' && (rnd() & 1))
			*s -= 32;
}

static bool query(const char *name)
{
	char norm[TAPIS_HOST_MAX + 2], q[TAPIS_HOST_MAX + 2];

	if (strlen(name) > TAPIS_HOST_MAX)
		return true;
	if (hostname_normalize(name, norm, sizeof(norm), NULL))
		return true; /* a near miss that is no hostname at all */
	snprintf(q, sizeof(q), "%s", name);
	randomise_case(q);
	if (rnd() % 5 == 0 && strlen(q) < TAPIS_HOST_MAX)
		strcat(q, "."); /* a trailing dot changes nothing */
	return run_query(q, ref_match(norm));
}

static bool test_user_suffix_hashes(void)
{
	unsigned n = 0;

	/* hostname_suffix_hashes() = hostname_hash() of each suffix */
	for (size_t i = 0; i < n_pats; i++) {
		uint64_t h[TAPIS_MAX_LABELS];
		int k = hostname_suffix_hashes(pats[i].name, h, TAPIS_MAX_LABELS);
		const char *s = pats[i].name;

		ASSERT_GT(k, 0, "%s", pats[i].name);
		for (int j = 0; j < k; j++) {
			ASSERT_EQ(h[j], hostname_hash(s), "%s: suffix %d '%s'", pats[i].name, j, s);
			s = strchr(s, '.');
			if (s)
				s++;
			n++;
		}
		ASSERT_TRUE(s == NULL, "%s: one hash per label", pats[i].name);
	}
	test_cases(n);
	printf("# %u suffix hashes of %zu names\n", n, n_pats);
	return true;
}

static bool test_patterns_match(void)
{
	char name[600], lab[64];

	for (size_t i = 0; i < n_pats; i++) {
		const char *p = pats[i].name;

		/* the name itself */
		if (!query(p))
			return false;
		/* one and two labels below it */
		rnd_label(lab, rnd_len());
		snprintf(name, sizeof(name), "%.63s.%.260s", lab, p);
		if (!query(name))
			return false;
		rnd_label(lab, 1 + rnd() % 5);
		snprintf(name, sizeof(name), "%.8s.%.8s.%.260s", lab, lab, p);
		if (!query(name))
			return false;
	}
	test_cases(n_checked);
	printf("# %u names, each as a DNS query, a TLS SNI and an HTTP Host: %u matched a rule, "
	       "%u none\n",
	       n_checked, n_hits, n_misses);
	return true;
}

static bool test_near_misses(void)
{
	char name[600];
	unsigned before = n_checked;

	for (size_t i = 0; i < n_pats; i++) {
		const char *p = pats[i].name;
		size_t len = strlen(p);
		size_t at = rnd() % len;

		/* one character changed (not into or out of a dot) */
		snprintf(name, sizeof(name), "%.260s", p);
		if (name[at] != '.') {
			name[at] = name[at] == 'q' ? 'r' : 'q';
			if (!query(name))
				return false;
		}
		/* a character glued in front: not a label boundary */
		snprintf(name, sizeof(name), "x%.260s", p);
		if (!query(name))
			return false;
		/* the first label boundary moved by one */
		snprintf(name, sizeof(name), "%.260s", p);
		for (size_t k = 1; k + 1 < len; k++)
			if (name[k] == '.' && name[k + 1] != '.' && name[k - 1] != '.') {
				name[k] = name[k + 1];
				name[k + 1] = '.';
				if (name[k + 2] != '.' && name[k + 2] != '\0' && !query(name))
					return false;
				break;
			}
		/* the last character dropped, and one added */
		snprintf(name, sizeof(name), "%.*s", (int)len - 1, p);
		if (name[len - 2] != '.' && !query(name))
			return false;
		snprintf(name, sizeof(name), "%.260sz", p);
		if (!query(name))
			return false;
	}
	test_cases(n_checked - before);
	printf("# %u near misses checked\n", n_checked - before);
	return true;
}

/* Exact patterns do not cover names below them; wildcards do not cover
 * themselves; nested patterns are more specific than their parents. Those
 * outcomes come from the reference above; this counts that each kind was
 * exercised both ways. */
static bool test_kinds_exercised(void)
{
	unsigned k[3] = {0}, nested = 0;

	for (size_t i = 0; i < n_pats; i++) {
		k[pats[i].kind]++;
		for (size_t j = 0; j < n_pats; j++) {
			size_t a = strlen(pats[i].name), b = strlen(pats[j].name);

			if (i != j && a > b && pats[i].name[a - b - 1] == '.' &&
			    !strcmp(pats[i].name + a - b, pats[j].name)) {
				nested++;
				break;
			}
		}
	}
	printf("# %u subtree, %u exact, %u wildcard patterns; %u nested in another\n", k[0], k[1],
	       k[2], nested);
	ASSERT_GT(k[0], 100);
	ASSERT_GT(k[1], 100);
	ASSERT_GT(k[2], 100);
	ASSERT_GT(nested, 100);
	return true;
}

/* Names crowding one stretch of the host index: more keys share a home
 * slot's probe window than it has slots, so some overflow into the hash map
 * only. Every one must still match, added live and loaded with a policy. */
#define CROWD 9

static bool crowd_names(char names[CROWD][32])
{
	uint32_t shift = tapis_host_idx_shift(tapis_host_log2(&fx.t));
	uint32_t target = tapis_host_idx_home(hostname_hash("crowd-anchor.example"), shift);
	unsigned found = 0;

	for (uint64_t i = 0; found < CROWD && i < 200000000ULL; i++) {
		char n[32];
		uint32_t home;

		snprintf(n, sizeof(n), "c%lu.crowd.example", (unsigned long)i);
		home = tapis_host_idx_home(hostname_hash(n), shift);
		if (home - target < 2) /* unsigned: home is target or the next */
			snprintf(names[found++], 32, "%s", n);
	}
	return found == CROWD;
}

static uint32_t rule_id_of(const char *name)
{
	return fx_rule_id(&fx, name);
}

static bool test_index_overflow(void)
{
	static char names[CROWD][32];
	size_t cap = n_pats * 400 + 4096, o;
	uint32_t id;
	char *y;

	ASSERT_TRUE(crowd_names(names), "found %d names around one index slot", CROWD);
	/* live: host add into a running rule */
	id = pats[0].rule_id;
	for (int i = 0; i < CROWD; i++) {
		struct host_entry h = {.kind = HOST_EXACT, .name = names[i]};

		ASSERT_OK(tapis_host_edit(&fx.t, "p0", &h, true), "add %s", names[i]);
	}
	for (int i = 0; i < CROWD; i++)
		if (!run_query(names[i], id))
			return false;
	if (!run_query("c.crowd.example", 0))
		return false;
	/* live delete: the names stop matching, the others stay */
	for (int i = 0; i < CROWD; i += 2) {
		struct host_entry h = {.kind = HOST_EXACT, .name = names[i]};

		ASSERT_OK(tapis_host_edit(&fx.t, "p0", &h, false), "del %s", names[i]);
	}
	for (int i = 0; i < CROWD; i++)
		if (!run_query(names[i], i % 2 ? id : 0))
			return false;
	/* loaded: a policy with the crowd in a rule of its own */
	y = malloc(cap);
	o = snprintf(y, cap,
		     "version: 1\nrules:\n  - name: crowd\n    action: monitor\n    hosts: [");
	for (int i = 0; i < CROWD; i++)
		o += snprintf(y + o, cap - o, "%s\"=%s\"", i ? ", " : "", names[i]);
	snprintf(y + o, cap - o, "]\n");
	ASSERT_OK(fx_policy(&fx, y), "load the crowd policy");
	free(y);
	id = rule_id_of("crowd");
	ASSERT_NE(id, 0);
	for (int i = 0; i < CROWD; i++)
		if (!run_query(names[i], id))
			return false;
	printf("# %d names in a 2-slot window of the %u-slot index: all matched\n", CROWD,
	       1u << tapis_host_log2(&fx.t));
	return true;
}

static const struct test_case tests[] = {
	TEST(test_user_suffix_hashes), TEST(test_kinds_exercised), TEST(test_patterns_match),
	TEST(test_near_misses),	       TEST(test_index_overflow),
};

static char *policy_text(void)
{
	size_t cap = n_pats * 400 + 64, o = 0;
	char *y = malloc(cap);

	o += snprintf(y + o, cap - o, "version: 1\nrules:\n");
	for (size_t i = 0; i < n_pats; i++)
		o += snprintf(y + o, cap - o,
			      "  - name: p%zu\n    action: monitor\n    hosts: [\"%s%s\"]\n", i,
			      pats[i].kind == EXACT	 ? "="
			      : pats[i].kind == WILDCARD ? "*."
							 : "",
			      pats[i].name);
	return y;
}

static void note_rule(const char *name, uint32_t id, void *ctx)
{
	unsigned long i;

	(void)ctx;
	if (sscanf(name, "p%lu", &i) == 1 && i < n_pats)
		pats[i].rule_id = id;
}

static int rule_ids(void)
{
	int err = fx_each_rule(&fx, note_rule, NULL);

	if (err)
		return err;
	for (size_t i = 0; i < n_pats; i++)
		if (!pats[i].rule_id)
			return -ENOENT;
	return 0;
}

int main(int argc, char **argv)
{
	char *yaml;
	int err, rc;

	generate();
	yaml = policy_text();
	err = fx_setup(&fx, yaml);
	free(yaml);
	if (!err)
		err = rule_ids();
	if (err) {
		fprintf(stderr, "setup: %s\n", strerror(-err));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	printf("# %zu patterns, one monitor rule each\n", n_pats);
	ref_build();
	rc = test_run(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	fx_teardown(&fx);
	free(ref);
	return rc;
}
