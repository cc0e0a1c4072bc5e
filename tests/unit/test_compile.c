// SPDX-License-Identifier: GPL-2.0
/*
 * test_compile.c - the compile stage on its own: a parsed policy in, the
 * tables' content out (rule ids, address entries, host keys, settings),
 * and the refusals `check` shares with `load`, with FILE:LINE. No kernel
 * object is involved: policy_compile makes no kernel call. The last test
 * looks redirect interfaces up (compiled_resolve), which asks the system.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../user/lib/tapis.h"

#include "../../user/lib/compile.h"
#include "../../user/lib/hostname.h"

struct run {
	int rc;
	char *diag;
	struct policy p;
	struct compiled c;
};

/* Parse (which must succeed) and compile yaml, with running rules when
 * given; the diagnostics of both in r->diag. */
static void compile_slots(struct run *r, const char *yaml, const struct tapis_rule_meta *running,
			  uint32_t slots)
{
	struct compile_opts o = {.running = running, .rule_slots = slots};
	size_t len = 0;
	FILE *f;

	memset(r, 0, sizeof(*r));
	f = open_memstream(&r->diag, &len);
	assert_non_null(f);
	policy_set_diag(f);
	r->rc = policy_parse_buffer("t.yaml", ".", yaml, strlen(yaml), &r->p);
	if (r->rc == 0)
		r->rc = policy_compile(&r->p, &o, &r->c);
	else
		r->rc = -EBADMSG; /* the parser refused: not what these tests are about */
	policy_set_diag(NULL);
	fclose(f);
}

static void compile_with(struct run *r, const char *yaml, const struct tapis_rule_meta *running)
{
	compile_slots(r, yaml, running, 0);
}

static void compile(struct run *r, const char *yaml)
{
	compile_with(r, yaml, NULL);
	if (r->rc)
		fail_msg("compile failed (%d):\n%s", r->rc, r->diag);
}

static void done(struct run *r)
{
	compiled_free(&r->c);
	policy_free(&r->p);
	free(r->diag);
}

static bool has(const char *diag, const char *part)
{
	return diag && strstr(diag, part);
}

#define assert_diag(r, part)                                                                       \
	do {                                                                                       \
		if (!has((r)->diag, (part)))                                                       \
			fail_msg("no '%s' in:\n%s", (part), (r)->diag);                            \
	} while (0)

static const struct compiled_rule *rule(const struct run *r, const char *name)
{
	for (size_t i = 0; i < r->c.n_rules; i++)
		if (strcmp(r->c.rules[i].r->name, name) == 0)
			return &r->c.rules[i];
	fail_msg("no rule '%s'", name);
	return NULL;
}

static const char *net_str(const struct compiled_net *n)
{
	static char buf[4][80];
	static int next;
	char a[INET6_ADDRSTRLEN], *b = buf[next++ % 4];

	inet_ntop(n->e->family == 6 ? AF_INET6 : AF_INET, n->e->addr, a, sizeof(a));
	snprintf(b, sizeof(buf[0]), "%s/%u %s", a, n->e->plen,
		 n->dir == TAPIS_DIR_DST ? "dst" : "src");
	return b;
}

/* The entry for "PREFIX DIR", or NULL. */
static const struct compiled_net *entry(const struct run *r, const char *what)
{
	for (size_t i = 0; i < r->c.n_nets; i++)
		if (strcmp(net_str(&r->c.nets[i]), what) == 0)
			return &r->c.nets[i];
	return NULL;
}

static const struct tapis_host_val *host(const struct run *r, const char *name)
{
	uint64_t key = hostname_hash(name);

	for (size_t i = 0; i < r->c.n_hosts; i++)
		if (r->c.host_keys[i] == key)
			return &r->c.host_vals[i];
	return NULL;
}

/* ---- rule ids ---- */

static void test_ids_fresh(void **state)
{
	struct run r;

	(void)state;
	compile(&r, "version: 1\nrules:\n"
		    "  - { name: a, action: drop, nets: [198.18.0.0/24] }\n"
		    "  - { name: b, action: allow, hosts: [b.example] }\n"
		    "  - { name: c, action: monitor, nets: [] }\n");
	assert_int_equal(r.c.n_rules, 3);
	assert_int_equal(rule(&r, "a")->id, 1);
	assert_int_equal(rule(&r, "b")->id, 2);
	assert_int_equal(rule(&r, "c")->id, 3);
	assert_int_equal(r.c.ids_held, 0);
	assert_int_equal(r.c.warnings, 0);
	done(&r);
}

/* Names keep the ids they run under (their counters follow them); a new
 * name takes an id no running rule holds. */
static void test_ids_follow_names(void **state)
{
	static struct tapis_rule_meta run[TAPIS_MAX_RULES];
	struct run r;

	(void)state;
	memset(run, 0, sizeof(run));
	snprintf(run[1].name, sizeof(run[1].name), "old");
	snprintf(run[2].name, sizeof(run[2].name), "b");
	snprintf(run[5].name, sizeof(run[5].name), "a");
	run[1].in_use = run[2].in_use = run[5].in_use = 1;
	compile_with(&r,
		     "version: 1\nrules:\n"
		     "  - { name: a, action: drop, nets: [198.18.0.0/24] }\n"
		     "  - { name: new, action: drop, nets: [198.18.1.0/24] }\n"
		     "  - { name: b, action: drop, nets: [198.18.2.0/24] }\n",
		     run);
	if (r.rc)
		fail_msg("%s", r.diag);
	assert_int_equal(rule(&r, "a")->id, 5);
	assert_int_equal(rule(&r, "b")->id, 2);
	assert_int_equal(rule(&r, "new")->id, 3); /* 1 is old's until the switch */
	assert_int_equal(r.c.ids_held, 1);
	/* Entries carry the ids. */
	assert_int_equal(entry(&r, "198.18.0.0/24 dst")->rule, 5);
	assert_int_equal(entry(&r, "198.18.1.0/24 dst")->rule, 3);
	done(&r);
}

static char *many_rules(int n)
{
	size_t cap = (size_t)n * 80 + 64, len = 0;
	char *y = malloc(cap);

	assert_non_null(y);
	len += (size_t)snprintf(y, cap, "version: 1\nrules:\n");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(y + len, cap - len,
					"  - { name: r%d, action: drop, nets: [198.18.%d.%d] }\n",
					i, (i / 256) % 256, i % 256);
	return y;
}

/* At most TAPIS_MAX_RULES - 1 rules: the one too many is named. */
static void test_too_many_rules(void **state)
{
	static struct tapis_rule_meta run[TAPIS_MAX_RULES];
	char *y = many_rules(TAPIS_MAX_RULES - 1);
	struct run r;

	(void)state;
	compile(&r, y);
	assert_int_equal(r.c.n_rules, TAPIS_MAX_RULES - 1);
	assert_int_equal(rule(&r, "r4094")->id, 4095);
	done(&r);
	free(y);

	y = many_rules(TAPIS_MAX_RULES);
	compile_with(&r, y, NULL);
	assert_int_equal(r.rc, -EINVAL);
	/* rule r4095 is the 4096th: its "- {" line is 3 + 4095. */
	assert_diag(&r, "t.yaml:4098: error: rule 'r4095' is rule 4096: a filter holds at most "
			"4095 rules");
	assert_int_equal(r.c.n_rules, 0); /* left empty */
	done(&r);
	free(y);

	/* A reload: ids of rules this policy drops are still held, so 10
	 * fewer new names fit (r4085 is the 4086th rule, at line 3 + 4085). */
	memset(run, 0, sizeof(run));
	for (int id = 1; id <= 10; id++) {
		snprintf(run[id].name, sizeof(run[id].name), "gone%d", id);
		run[id].in_use = 1;
	}
	y = many_rules(TAPIS_MAX_RULES - 5);
	compile_with(&r, y, run);
	assert_int_equal(r.rc, -EINVAL);
	assert_diag(&r, "t.yaml:4088: error: rule 'r4085': more than 4095 rules, counting the 10 "
			"rules of the running policy that this one drops");
	done(&r);
	free(y);
}

/* A running filter loaded with fewer rule slots: ids below them only;
 * the one rule too many names the setting and the sizes. A policy no
 * filter can hold is still told so at the rule the ceiling falls on. */
static void test_rule_slots_loaded(void **state)
{
	static struct tapis_rule_meta run[TAPIS_MAX_RULES];
	char *y = many_rules(63);
	struct run r;

	(void)state;
	memset(run, 0, sizeof(run));
	compile_slots(&r, y, run, 64);
	if (r.rc)
		fail_msg("%s", r.diag);
	assert_int_equal(rule(&r, "r62")->id, 63);
	assert_int_equal(r.c.rule_slots, 64);
	done(&r);
	free(y);

	/* Two running rules this policy drops hold ids 1 and 2: r61 is the
	 * 62nd new name for 61 free ids (its line: 3 + 61). */
	snprintf(run[1].name, sizeof(run[1].name), "gone1");
	snprintf(run[2].name, sizeof(run[2].name), "gone2");
	run[1].in_use = run[2].in_use = 1;
	y = many_rules(70);
	compile_slots(&r, y, run, 64);
	assert_int_equal(r.rc, -EINVAL);
	assert_diag(&r,
		    "t.yaml:64: error: rule 'r61' is rule 62, and 2 ids stay held by running "
		    "rules this policy drops: the filter was loaded for at most 63 rule ids (64 "
		    "rule slots, sized at load to that policy or settings.capacity.rules): set "
		    "settings.capacity.rules to 70 or more, then unload and load");
	done(&r);
	free(y);

	y = many_rules(TAPIS_MAX_RULES);
	compile_slots(&r, y, run, 64);
	assert_int_equal(r.rc, -EINVAL);
	assert_diag(&r, "rule 'r4093': more than 4095 rules, counting the 2 rules of the running "
			"policy that this one drops");
	done(&r);
	free(y);
}

/* ---- address entries ---- */

static void test_nets_dedup_and_conflicts(void **state)
{
	struct run r;

	(void)state;
	compile(&r, "version: 1\nrules:\n"
		    "  - name: first\n    action: drop\n"
		    "    nets: [198.18.1.0/24, 198.18.1.0/24, 198.18.2.0/24]\n" /* line 5 */
		    "  - name: second\n    action: reject\n"
		    "    nets: [198.18.1.0/24, \"2001:db8::/32\"]\n" /* line 8 */
		    "  - name: hole\n    action: allow\n"
		    "    nets: [198.18.2.0/24]\n"); /* line 11 */
	/* Same rule twice: one entry, no word. Two rules: the first keeps
	 * it; an allow rule keeps it wherever it is. */
	assert_int_equal(r.c.n_nets, 3);
	assert_int_equal(entry(&r, "198.18.1.0/24 dst")->rule, rule(&r, "first")->id);
	assert_int_equal(entry(&r, "198.18.2.0/24 dst")->rule, rule(&r, "hole")->id);
	assert_int_equal(entry(&r, "2001:db8::/32 dst")->rule, rule(&r, "second")->id);
	assert_int_equal(r.c.net_conflicts, 2);
	assert_int_equal(r.c.warnings, 2);
	assert_diag(&r, "t.yaml:8: warning: 198.18.1.0/24 (dst) is also in rule 'first' "
			"(t.yaml:5), which keeps it");
	assert_diag(&r, "t.yaml:5: warning: 198.18.2.0/24 (dst) is also in rule 'hole' "
			"(t.yaml:11), which keeps it");
	/* What each rule holds, as status will count it. */
	assert_int_equal(rule(&r, "first")->n_v4, 1);
	assert_int_equal(rule(&r, "second")->n_v4, 0);
	assert_int_equal(rule(&r, "second")->n_v6, 1);
	assert_int_equal(rule(&r, "hole")->n_v4, 1);
	assert_int_equal(r.c.n_v4, 2);
	assert_int_equal(r.c.n_v6, 1);
	done(&r);
}

static void test_nets_directions_and_order(void **state)
{
	struct run r;
	uint64_t v4, v6, h;

	(void)state;
	compile(&r, "version: 1\nrules:\n"
		    "  - name: both\n    action: drop\n    direction: both\n"
		    "    nets: [198.18.7.7/32, 198.18.0.0/16, \"2001:db8::/16\"]\n"
		    "  - name: src\n    action: drop\n    direction: src\n"
		    "    nets: [198.18.8.0/25, 198.18.8.128/25]\n");
	/* A `both` rule: an entry per direction, counted once. */
	assert_int_equal(r.c.n_nets, 8);
	assert_non_null(entry(&r, "198.18.7.7/32 dst"));
	assert_non_null(entry(&r, "198.18.7.7/32 src"));
	assert_null(entry(&r, "198.18.8.0/25 dst"));
	assert_int_equal(rule(&r, "both")->n_v4, 2);
	assert_int_equal(rule(&r, "both")->n_v6, 1);
	assert_int_equal(rule(&r, "src")->n_v4, 2);
	compiled_totals(&r.c, &v4, &v6, &h);
	assert_int_equal(v4, 4);
	assert_int_equal(v6, 1);
	assert_int_equal(h, 0);
	assert_int_equal(r.c.n_v4, 6);
	assert_int_equal(r.c.n_v6, 2);
	/* Per family, shorter prefixes first: a longer one is inserted
	 * after the shorter one it overrides. */
	for (size_t i = 1; i < r.c.n_nets; i++)
		if (r.c.nets[i].e->family == r.c.nets[i - 1].e->family)
			assert_true(r.c.nets[i].e->plen >= r.c.nets[i - 1].e->plen);
	/* tbl8 groups: /24s with a longer prefix (198.18.7, 198.18.8). */
	assert_int_equal(r.c.v4_groups, 2);
	assert_int_equal(r.c.settings.flags & (TAPIS_SF_V4_DST | TAPIS_SF_V4_SRC | TAPIS_SF_V6_DST |
					       TAPIS_SF_V6_SRC | TAPIS_SF_V6_SHORT),
			 TAPIS_SF_V4_DST | TAPIS_SF_V4_SRC | TAPIS_SF_V6_DST | TAPIS_SF_V6_SRC |
				 TAPIS_SF_V6_SHORT);
	assert_false(r.c.settings.flags & TAPIS_SF_HOSTS);
	done(&r);
}

/* ---- host keys ---- */

static void test_hosts(void **state)
{
	const struct tapis_host_val *v;
	struct run r;
	uint32_t a, b, ok;

	(void)state;
	compile(&r, "version: 1\nrules:\n"
		    "  - name: a\n    action: drop\n"
		    "    hosts: [example.com, \"=Example.COM.\", \"=only.example\"]\n" /* 5 */
		    "  - name: b\n    action: drop\n"
		    "    hosts: [only.example, \"*.wild.example\", example.com]\n" /* 8 */
		    "  - name: ok\n    action: allow\n"
		    "    hosts: [\"=wild.example\", \"*.example.com\"]\n"); /* 11 */
	a = rule(&r, "a")->id;
	b = rule(&r, "b")->id;
	ok = rule(&r, "ok")->id;
	assert_int_equal(r.c.n_hosts, 3);
	/* example.com: a's subtree fills both slots; the allow's wildcard
	 * takes the sub slot, b's subtree loses both. */
	v = host(&r, "example.com");
	assert_non_null(v);
	assert_int_equal(v->self_rule, a);
	assert_int_equal(v->sub_rule, ok);
	/* only.example: a's exact pattern and b's subtree share the key. */
	v = host(&r, "only.example");
	assert_int_equal(v->self_rule, a);
	assert_int_equal(v->sub_rule, b);
	v = host(&r, "wild.example");
	assert_int_equal(v->self_rule, ok);
	assert_int_equal(v->sub_rule, b);
	assert_int_equal(r.c.host_conflicts, 3);
	assert_diag(&r, "t.yaml:8: warning: example.com is also in rule 'a' (t.yaml:5), which "
			"keeps it");
	assert_diag(&r, "t.yaml:5: warning: example.com is also in rule 'ok' (t.yaml:11), which "
			"keeps it");
	assert_diag(&r, "t.yaml:8: warning: only.example is also in rule 'a' (t.yaml:5), which "
			"keeps it");
	assert_int_equal(rule(&r, "a")->n_hosts, 2);
	assert_int_equal(rule(&r, "b")->n_hosts, 2);
	assert_int_equal(rule(&r, "ok")->n_hosts, 2);
	/* The label counts the match looks up: 2 for every pattern here. */
	assert_int_equal(r.c.settings.self_labels, 1ULL << 2);
	assert_int_equal(r.c.settings.sub_labels, 1ULL << 2);
	assert_true(r.c.settings.flags & TAPIS_SF_HOSTS);
	done(&r);
}

static void test_host_too_many_labels(void **state)
{
	char yaml[1024], name[300] = "";
	struct run r;

	(void)state;
	for (int i = 0; i < TAPIS_MAX_LABELS; i++)
		strcat(name, "a.");
	strcat(name, "example");
	snprintf(yaml, sizeof(yaml),
		 "version: 1\nrules:\n  - name: a\n    action: drop\n    hosts: [%s]\n", name);
	compile(&r, yaml);
	assert_int_equal(r.c.n_hosts, 1);
	assert_diag(&r, "t.yaml:5: warning: ");
	assert_diag(&r, "has 33 labels: names of more than 32 labels pass unmatched, so it never "
			"matches");
	assert_int_equal(r.c.warnings, 1);
	done(&r);
}

/* ---- settings and empty rules ---- */

static void test_settings(void **state)
{
	struct run r;

	(void)state;
	compile(&r, "version: 1\nsettings:\n"
		    "  ports: { dns: [53, 5353], tls: [443] }\n"
		    "  sinkhole: { ipv4: 192.0.2.10, ttl: 60 }\n"
		    "  quic: drop\n  flows: 2048\n"
		    "rules:\n  - { name: s, action: sinkhole, hosts: [s.example] }\n");
	assert_true(r.c.settings.ports[5353 / 64][TAPIS_PORT_DNS] & (1ULL << (5353 % 64)));
	assert_true(r.c.settings.ports[443 / 64][TAPIS_PORT_TLS] & (1ULL << (443 % 64)));
	assert_true(r.c.settings.ports[80 / 64][TAPIS_PORT_HTTP] & (1ULL << (80 % 64)));
	assert_false(r.c.settings.ports[443 / 64][TAPIS_PORT_DNS] & (1ULL << (443 % 64)));
	assert_true(r.c.settings.has_sinkhole_v4);
	assert_false(r.c.settings.has_sinkhole_v6);
	assert_int_equal(r.c.settings.sinkhole_v4[3], 10);
	assert_int_equal(r.c.settings.sinkhole_ttl, 60);
	assert_true(r.c.settings.flags & TAPIS_SF_QUIC_DROP);
	assert_int_equal(r.c.flows, 2048);
	done(&r);
}

/* The host tables' size at load: twice the names (or the capacity
 * setting, when more), a power of two, 4096 slots at least, 2^24 at most;
 * they take three quarters of their slots. */
static void test_host_sizing(void **state)
{
	struct run r;

	(void)state;
	assert_int_equal(tapis_host_idx_log2_for(0, 0), TAPIS_HOST_IDX_LOG2_MIN);
	assert_int_equal(tapis_host_idx_log2_for(1000, 0), 12);
	assert_int_equal(tapis_host_idx_log2_for(2048, 0), 12);
	assert_int_equal(tapis_host_idx_log2_for(2049, 0), 13);
	assert_int_equal(tapis_host_idx_log2_for(2000001, 0), 22); /* the bench policy */
	assert_int_equal(tapis_host_idx_log2_for(1000, 100000), 18);
	assert_int_equal(tapis_host_idx_log2_for(100000, 1000), 18);
	assert_int_equal(tapis_host_idx_log2_for(POLICY_CAPACITY_NAMES_MAX, 0),
			 TAPIS_HOST_IDX_LOG2_MAX);
	assert_int_equal(tapis_host_idx_log2_for(POLICY_CAPACITY_NAMES_MAX + 1, 0), -E2BIG);
	assert_int_equal(tapis_host_capacity(12), 3072);
	assert_int_equal(tapis_host_capacity(TAPIS_HOST_IDX_LOG2_MAX), POLICY_CAPACITY_NAMES_MAX);
	/* whatever the size, a policy fits the tables made for it */
	for (size_t n = 1; n < 20000000; n = n * 3 + 1) {
		int l = tapis_host_idx_log2_for(n, 0);

		if (l > 0)
			assert_true(tapis_host_capacity((uint32_t)l) >= n);
	}
	/* the compile carries the setting to the load */
	compile(&r, "version: 1\nsettings:\n  capacity: { names: 70000 }\n"
		    "rules:\n  - { name: s, action: drop, hosts: [s.example] }\n");
	assert_int_equal(r.c.capacity_names, 70000);
	assert_int_equal(r.c.n_hosts, 1);
	assert_int_equal(tapis_host_idx_log2_for(r.c.n_hosts, r.c.capacity_names), 18);
	done(&r);
}

static void test_empty_rule(void **state)
{
	struct run r;

	(void)state;
	compile(&r, "version: 1\nrules:\n"
		    "  - { name: live, action: drop, nets: [], direction: both }\n"
		    "  - { name: names, action: drop, hosts: [] }\n");
	assert_int_equal(r.c.n_rules, 2);
	assert_int_equal(rule(&r, "live")->id, 1);
	assert_int_equal(rule(&r, "names")->id, 2);
	assert_int_equal(r.c.n_nets, 0);
	assert_int_equal(r.c.n_hosts, 0);
	assert_int_equal(r.c.settings.flags, 0);
	done(&r);
}

/* ---- the one step that asks the system ---- */

static void test_resolve(void **state)
{
	struct run r;

	(void)state;
	compile(&r, "version: 1\nrules:\n"
		    "  - name: r\n    action: redirect\n    nets: [198.18.0.0/24]\n"
		    "    redirect:\n      iface: lo\n      mac: \"02:00:00:00:00:10\"\n");
	assert_false(r.c.resolved);
	assert_int_equal(compiled_resolve(&r.c), 0);
	assert_true(r.c.resolved);
	assert_int_equal(rule(&r, "r")->redirect_ifindex, 1);
	done(&r);

	compile(&r, "version: 1\nrules:\n"
		    "  - name: r\n    action: redirect\n    nets: [198.18.0.0/24]\n"
		    "    redirect:\n      iface: tapisnosuch0\n      mac: \"02:00:00:00:00:10\"\n"
		    "  - name: q\n    action: redirect\n    nets: [198.18.1.0/24]\n"
		    "    redirect: { iface: tapisnosuch1, mac: \"02:00:00:00:00:10\" }\n");
	{
		size_t len = 0;
		char *d = NULL;
		FILE *f = open_memstream(&d, &len);

		policy_set_diag(f);
		assert_int_equal(compiled_resolve(&r.c), -ENODEV);
		policy_set_diag(NULL);
		fclose(f);
		assert_false(r.c.resolved);
		/* Every missing interface, at its iface: line. */
		if (!has(d, "t.yaml:7: error: rule 'r': redirect interface 'tapisnosuch0' does not "
			    "exist") ||
		    !has(d, "t.yaml:12: error: rule 'q': redirect interface 'tapisnosuch1'"))
			fail_msg("%s", d);
		free(d);
	}
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_fresh),
		cmocka_unit_test(test_ids_follow_names),
		cmocka_unit_test(test_too_many_rules),
		cmocka_unit_test(test_rule_slots_loaded),
		cmocka_unit_test(test_nets_dedup_and_conflicts),
		cmocka_unit_test(test_nets_directions_and_order),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_host_too_many_labels),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_host_sizing),
		cmocka_unit_test(test_empty_rule),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
