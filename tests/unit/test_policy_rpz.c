// SPDX-License-Identifier: GPL-2.0
/*
 * test_policy_rpz.c - RPZ zones as a list format of the policy (`rpz:`),
 * parsed and compiled: a rule fed by zones becomes one rule per action its
 * zones give (NAME/reject, NAME/drop, NAME/allow, NAME/sinkhole), each
 * with the rule's reference and expiry; passthru inside a blocked parent
 * wins by the host table's most-specific-first order; refusals name the
 * zone's FILE:LINE and the policy line; on_error: skip, empty zones,
 * several zones, and local data against settings.sinkhole.
 *
 * Zones are written to a temporary directory, which is also the policy's
 * base directory, so messages name "DIR/zone.rpz:LINE".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"
#include "../../user/lib/compile.h"
#include "../../user/lib/hostname.h"

struct run {
	int rc;
	char *diag;
	struct policy p;
	struct compiled c;
	bool compiled;
};

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* "DIR/name", as messages name a zone. */
static const char *at(const char *name)
{
	static char buf[4][160];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
	return b;
}

/* Parse yaml (named t.yaml, lists relative to dir) and, when that
 * succeeds, compile it; diagnostics of both in r->diag. */
static void run(struct run *r, const char *yaml)
{
	size_t len = 0;
	FILE *f;

	memset(r, 0, sizeof(*r));
	f = open_memstream(&r->diag, &len);
	assert_non_null(f);
	policy_set_diag(f);
	r->rc = policy_parse_buffer("t.yaml", dir, yaml, strlen(yaml), &r->p);
	if (!r->rc) {
		r->rc = policy_compile(&r->p, NULL, &r->c);
		r->compiled = !r->rc;
	}
	policy_set_diag(NULL);
	fclose(f);
}

static void run_ok(struct run *r, const char *yaml)
{
	run(r, yaml);
	if (r->rc)
		fail_msg("refused (%d):\n%s", r->rc, r->diag);
}

static void done(struct run *r)
{
	if (r->compiled)
		compiled_free(&r->c);
	policy_free(&r->p);
	free(r->diag);
}

#define assert_diag(r, part)                                                                       \
	do {                                                                                       \
		if (!strstr((r)->diag, (part)))                                                    \
			fail_msg("no '%s' in:\n%s", (part), (r)->diag);                            \
	} while (0)
#define assert_no_diag(r, part)                                                                    \
	do {                                                                                       \
		if (strstr((r)->diag, (part)))                                                     \
			fail_msg("unexpected '%s' in:\n%s", (part), (r)->diag);                    \
	} while (0)

static const struct rule *prule(const struct run *r, const char *name)
{
	for (size_t i = 0; i < r->p.n_rules; i++)
		if (!strcmp(r->p.rules[i].name, name))
			return &r->p.rules[i];
	return NULL;
}

static uint32_t rule_id(const struct run *r, const char *name)
{
	for (size_t i = 0; i < r->c.n_rules; i++)
		if (!strcmp(r->c.rules[i].r->name, name))
			return r->c.rules[i].id;
	fail_msg("no rule '%s'", name);
	return 0;
}

static const struct host_entry *phost(const struct rule *r, const char *name, enum host_kind k)
{
	for (size_t i = 0; i < r->n_hosts; i++)
		if (!strcmp(r->hosts[i].name, name) && r->hosts[i].kind == k)
			return &r->hosts[i];
	return NULL;
}

static const struct tapis_host_val *host_val(const struct run *r, const char *name)
{
	uint64_t key = hostname_hash(name);

	for (size_t i = 0; i < r->c.n_hosts; i++)
		if (r->c.host_keys[i] == key)
			return &r->c.host_vals[i];
	return NULL;
}

/* The rule a query for name meets, the way the data path and `explain`
 * walk the host table (docs/dns.md): the whole name by its self slot,
 * then each parent by its sub slot, most specific first. */
static const char *match(const struct run *r, const char *name)
{
	const struct tapis_host_val *v;
	const char *s = name;
	uint32_t id = 0;

	v = host_val(r, s);
	if (v)
		id = v->self_rule;
	while (!id && (s = strchr(s, '.'))) {
		v = host_val(r, ++s);
		if (v)
			id = v->sub_rule;
	}
	for (size_t i = 0; id && i < r->c.n_rules; i++)
		if (r->c.rules[i].id == id)
			return r->c.rules[i].r->name;
	return "-";
}

static const char head[] = "$TTL 300\n"
			   "$ORIGIN rpz.example.\n"
			   "@ IN SOA ns.rpz.example. admin.rpz.example. 1 3600 600 86400 300\n"
			   "  IN NS ns.rpz.example.\n";

static void write_zone(const char *name, const char *body)
{
	char text[4096];

	snprintf(text, sizeof(text), "%s%s", head, body);
	write_file(name, text);
}

/* A zone with every verdict: lines 5-14. */
static const char every[] = "blocked.example CNAME .\n"			      /* 5 */
			    "*.blocked.example CNAME rpz-drop.\n"	      /* 6 */
			    "exception.blocked.example CNAME rpz-passthru.\n" /* 7 */
			    "*.ok.blocked.example CNAME rpz-passthru.\n"      /* 8 */
			    "nodata.example CNAME *.\n"			      /* 9 */
			    "sink.example A 198.18.0.10\n"		      /* 10 */
			    "sink.example AAAA 2001:db8::10\n"		      /* 11 */
			    "*.sink.example A 198.18.0.10\n"		      /* 12 */
			    "*.sink.example AAAA 2001:db8::10\n"	      /* 13 */
			    "*.nx.example CNAME .\n";			      /* 14 */

static const char settings[] = "version: 1\n"
			       "settings:\n"
			       "  sinkhole: { ipv4: 198.18.0.10, ipv6: \"2001:db8::10\" }\n"
			       "rules:\n";

/* ---- parse ---- */

static void test_every_verdict(void **state)
{
	const struct rule *rej, *drop, *allow, *sink;
	const struct host_entry *h;
	char yaml[1024];
	struct run r;

	(void)state;
	write_zone("every.rpz", every);
	snprintf(yaml, sizeof(yaml),
		 "%s"
		 "  - name: feed\n" /* 5 */
		 "    reference: \"RPZ/FEED/1\"\n"
		 "    expires: 2099-01-01T00:00:00Z\n"
		 "    rpz: [every.rpz]\n",
		 settings);
	run_ok(&r, yaml);
	assert_string_equal(r.diag, "");
	/* One rule per action, in this order, named after the rule. */
	assert_int_equal(r.p.n_rules, 4);
	assert_string_equal(r.p.rules[0].name, "feed/reject");
	assert_string_equal(r.p.rules[1].name, "feed/drop");
	assert_string_equal(r.p.rules[2].name, "feed/allow");
	assert_string_equal(r.p.rules[3].name, "feed/sinkhole");
	rej = &r.p.rules[0];
	drop = &r.p.rules[1];
	allow = &r.p.rules[2];
	sink = &r.p.rules[3];
	assert_int_equal(rej->action, TAPIS_ACT_REJECT);
	assert_int_equal(drop->action, TAPIS_ACT_DROP);
	assert_int_equal(allow->action, TAPIS_ACT_ALLOW);
	assert_int_equal(sink->action, TAPIS_ACT_SINKHOLE);
	for (size_t i = 0; i < 4; i++) {
		const struct rule *g = &r.p.rules[i];

		assert_string_equal(g->rpz_of, "feed");
		assert_string_equal(g->reference, "RPZ/FEED/1");
		assert_int_equal(g->expires_unix, 4070908800);
		assert_int_equal(g->dirs, TAPIS_DIRS_DST);
		assert_int_equal(g->loc.line, 5);
		assert_int_equal(g->n_nets, 0);
	}
	/* CNAME . and CNAME *. both reject (NXDOMAIN); exact and wildcard
	 * triggers keep their kind; every entry names its zone line. */
	assert_int_equal(rej->n_hosts, 3);
	h = phost(rej, "blocked.example", HOST_EXACT);
	assert_non_null(h);
	assert_string_equal(h->loc.file, at("every.rpz"));
	assert_int_equal(h->loc.line, 5);
	h = phost(rej, "nodata.example", HOST_EXACT);
	assert_non_null(h);
	assert_int_equal(h->loc.line, 9);
	assert_non_null(phost(rej, "nx.example", HOST_WILDCARD));
	assert_int_equal(drop->n_hosts, 1);
	assert_non_null(phost(drop, "blocked.example", HOST_WILDCARD));
	assert_int_equal(allow->n_hosts, 2);
	assert_non_null(phost(allow, "exception.blocked.example", HOST_EXACT));
	assert_non_null(phost(allow, "ok.blocked.example", HOST_WILDCARD));
	/* A and AAAA of one trigger: one entry. */
	assert_int_equal(sink->n_hosts, 2);
	h = phost(sink, "sink.example", HOST_EXACT);
	assert_non_null(h);
	assert_int_equal(h->loc.line, 10);
	assert_non_null(phost(sink, "sink.example", HOST_WILDCARD));
	/* The rule's name is no rule, and nothing else was made. */
	assert_null(prule(&r, "feed"));
	done(&r);
}

/* Only the actions a zone gives make rules; keys may come in any order. */
static void test_only_needed(void **state)
{
	struct run r;

	(void)state;
	write_zone("nx.rpz", "a.example CNAME .\n*.b.example CNAME .\n");
	run_ok(&r, "version: 1\nrules:\n"
		   "  - rpz: [nx.rpz]\n"
		   "    name: court\n"
		   "  - name: other\n"
		   "    action: drop\n"
		   "    hosts: [c.example]\n");
	assert_int_equal(r.p.n_rules, 2);
	assert_string_equal(r.p.rules[0].name, "court/reject");
	assert_int_equal(r.p.rules[0].n_hosts, 2);
	assert_string_equal(r.p.rules[1].name, "other");
	assert_string_equal(r.p.rules[1].rpz_of, "");
	done(&r);
}

/* ---- compile: precedence ---- */

static void test_precedence(void **state)
{
	const struct tapis_host_val *v;
	char yaml[1024];
	struct run r;

	(void)state;
	write_zone("every.rpz", every);
	snprintf(yaml, sizeof(yaml),
		 "%s"
		 "  - name: parent-order\n"
		 "    action: drop\n"
		 "    hosts: [parent.example]\n"
		 "  - name: feed\n"
		 "    rpz: [every.rpz, passthru.rpz]\n",
		 settings);
	/* A passthru below a name another rule blocks as a subtree. */
	write_zone("passthru.rpz", "ok.parent.example CNAME rpz-passthru.\n");
	run_ok(&r, yaml);
	assert_int_equal(r.c.host_conflicts, 0);
	/* blocked.example: its exact trigger in the self slot, the wildcard
	 * drop in the sub slot; the passthru under it has its own key. */
	v = host_val(&r, "blocked.example");
	assert_non_null(v);
	assert_int_equal(v->self_rule, rule_id(&r, "feed/reject"));
	assert_int_equal(v->sub_rule, rule_id(&r, "feed/drop"));
	v = host_val(&r, "exception.blocked.example");
	assert_non_null(v);
	assert_int_equal(v->self_rule, rule_id(&r, "feed/allow"));
	assert_int_equal(v->sub_rule, 0);
	/* Walked most specific first, as RPZ has it: passthru wins over the
	 * drop of its parent, and only for the names it names. */
	assert_string_equal(match(&r, "blocked.example"), "feed/reject");
	assert_string_equal(match(&r, "www.blocked.example"), "feed/drop");
	assert_string_equal(match(&r, "exception.blocked.example"), "feed/allow");
	assert_string_equal(match(&r, "x.exception.blocked.example"), "feed/drop");
	assert_string_equal(match(&r, "ok.blocked.example"), "feed/drop");
	assert_string_equal(match(&r, "a.ok.blocked.example"), "feed/allow");
	assert_string_equal(match(&r, "nodata.example"), "feed/reject");
	assert_string_equal(match(&r, "x.nodata.example"), "-");
	assert_string_equal(match(&r, "nx.example"), "-");
	assert_string_equal(match(&r, "a.b.nx.example"), "feed/reject");
	assert_string_equal(match(&r, "sink.example"), "feed/sinkhole");
	assert_string_equal(match(&r, "parent.example"), "parent-order");
	assert_string_equal(match(&r, "ok.parent.example"), "feed/allow");
	assert_string_equal(match(&r, "www.parent.example"), "parent-order");
	/* Counted per rule as load will hold them. */
	assert_int_equal(r.c.rules[1].n_hosts + r.c.rules[2].n_hosts + r.c.rules[3].n_hosts +
				 r.c.rules[4].n_hosts,
			 9);
	done(&r);
}

/* ---- refusals ---- */

static void test_zone_errors(void **state)
{
	char want[256];
	struct run r;

	(void)state;
	write_zone("bad.rpz", "a.example CNAME .\n"			 /* 5 */
			      "32.1.2.18.198.rpz-ip CNAME .\n"		 /* 6 */
			      "b.example CNAME walled.garden.example.\n" /* 7 */
			      "ns.evil.rpz-nsdname CNAME .\n");		 /* 8 */
	run(&r, "version: 1\nrules:\n"
		"  - name: feed\n"
		"    rpz:\n"
		"      - bad.rpz\n"); /* 5 */
	assert_int_equal(r.rc, -EINVAL);
	snprintf(want, sizeof(want), "%s:6: error: rpz-ip triggers are not supported",
		 at("bad.rpz"));
	assert_diag(&r, want);
	snprintf(want, sizeof(want), "%s:7: error: CNAME walled.garden.example.", at("bad.rpz"));
	assert_diag(&r, want);
	snprintf(want, sizeof(want), "%s:8: error: rpz-nsdname", at("bad.rpz"));
	assert_diag(&r, want);
	snprintf(want, sizeof(want), "t.yaml:5: error: rule 'feed': RPZ zone '%s' refused",
		 at("bad.rpz"));
	assert_diag(&r, want);
	done(&r);

	/* Not a zone at all (a hosts file given as one), and no file. */
	write_file("hosts.txt", "0.0.0.0 ads.example\n");
	run(&r, "version: 1\nrules:\n  - name: feed\n    rpz: [hosts.txt, nosuch.rpz]\n");
	assert_int_equal(r.rc, -EINVAL);
	snprintf(want, sizeof(want), "%s:1: error: a zone starts with its SOA record",
		 at("hosts.txt"));
	assert_diag(&r, want);
	snprintf(want, sizeof(want), "%s: error: No such file", at("nosuch.rpz"));
	assert_diag(&r, want);
	snprintf(want, sizeof(want), "t.yaml:4: error: rule 'feed': RPZ zone '%s' refused",
		 at("nosuch.rpz"));
	assert_diag(&r, want);
	done(&r);
}

/* on_error: skip: each refused record is a warning, the rest is kept. */
static void test_skip(void **state)
{
	char want[256];
	struct run r;

	(void)state;
	write_zone("mixed.rpz", "a.example CNAME .\n"		     /* 5 */
				"1.0.18.198.rpz-client-ip CNAME .\n" /* 6 */
				"b.example CNAME rpz-drop.\n"	     /* 7 */
				"c.example CNAME rpz-tcp-only.\n");  /* 8 */
	run_ok(&r, "version: 1\nrules:\n"
		   "  - name: feed\n"
		   "    rpz: [{ path: mixed.rpz, on_error: skip }]\n");
	assert_int_equal(r.p.n_rules, 2);
	assert_string_equal(r.p.rules[0].name, "feed/reject");
	assert_string_equal(r.p.rules[1].name, "feed/drop");
	snprintf(want, sizeof(want), "%s:6: warning: rpz-client-ip", at("mixed.rpz"));
	assert_diag(&r, want);
	snprintf(want, sizeof(want), "%s:8: warning: rpz-tcp-only", at("mixed.rpz"));
	assert_diag(&r, want);
	snprintf(want, sizeof(want), "%s: warning: skipped 2 refused records", at("mixed.rpz"));
	assert_diag(&r, want);
	assert_no_diag(&r, ": error:");
	/* Two records and the summary. */
	assert_int_equal(r.p.warnings, 3);
	done(&r);
}

/* A zone that yields nothing is an error unless the rule may be empty. */
static void test_empty_zone(void **state)
{
	char want[256];
	struct run r;

	(void)state;
	write_zone("empty.rpz", "");
	write_zone("refused.rpz", "1.0.18.198.rpz-ip CNAME .\n2.0.18.198.rpz-ip CNAME .\n");
	write_zone("one.rpz", "a.example CNAME rpz-drop.\n");
	run(&r, "version: 1\nrules:\n"
		"  - name: feed\n"
		"    rpz: [one.rpz, empty.rpz]\n"); /* 4 */
	assert_int_equal(r.rc, -EINVAL);
	snprintf(want, sizeof(want),
		 "t.yaml:4: error: rule 'feed': RPZ zone '%s' yields no entries; say "
		 "may_be_empty: true",
		 at("empty.rpz"));
	assert_diag(&r, want);
	done(&r);

	run(&r, "version: 1\nrules:\n"
		"  - name: feed\n"
		"    rpz: [{ path: refused.rpz, on_error: skip }]\n"); /* 4 */
	assert_int_equal(r.rc, -EINVAL);
	snprintf(want, sizeof(want),
		 "t.yaml:4: error: rule 'feed': RPZ zone '%s' yields no entries (2 records "
		 "refused, on_error: skip)",
		 at("refused.rpz"));
	assert_diag(&r, want);
	done(&r);

	/* may_be_empty: the empty zone makes no rule, the other one its own. */
	run_ok(&r, "version: 1\nrules:\n"
		   "  - name: feed\n"
		   "    may_be_empty: true\n"
		   "    rpz: [empty.rpz, { path: refused.rpz, on_error: skip }]\n"
		   "  - name: feed2\n"
		   "    may_be_empty: true\n"
		   "    rpz: [empty.rpz, one.rpz]\n");
	assert_int_equal(r.p.n_rules, 1);
	assert_string_equal(r.p.rules[0].name, "feed2/drop");
	done(&r);

	run(&r, "version: 1\nrules:\n  - name: feed\n    rpz: []\n");
	assert_int_equal(r.rc, -EINVAL);
	assert_diag(&r, "t.yaml:4: error: rule 'feed': 'rpz' names no zone");
	done(&r);
}

/* What a rule with rpz may not say, and names it holds. */
static void test_rule_keys(void **state)
{
	struct run r;

	(void)state;
	write_zone("one.rpz", "a.example CNAME rpz-drop.\n");
	run(&r, "version: 1\nrules:\n"
		"  - name: feed\n"
		"    action: drop\n" /* 4 */
		"    hosts: [b.example]\n"
		"    direction: src\n"
		"    rpz: [one.rpz]\n");
	assert_int_equal(r.rc, -EINVAL);
	assert_diag(&r, "t.yaml:4: error: rule 'feed': 'action' does not go with 'rpz'");
	assert_diag(&r, "feed/reject, feed/drop, feed/allow and feed/sinkhole");
	assert_diag(&r, "t.yaml:5: error: rule 'feed': 'hosts' does not go with 'rpz'");
	assert_diag(&r, "t.yaml:6: error: rule 'feed': 'direction' does not go with 'rpz'");
	done(&r);

	/* 55 characters: feed.../sinkhole would not fit a rule name. */
	run(&r, "version: 1\nrules:\n"
		"  - name: a234567890123456789012345678901234567890123456789012345\n"
		"    rpz: [one.rpz]\n");
	assert_int_equal(r.rc, -EINVAL);
	assert_diag(&r,
		    "t.yaml:3: error: rule 'a234567890123456789012345678901234567890123456789012345"
		    "': a rule with 'rpz' has at most 54 characters");
	done(&r);

	/* The rule's name stays taken, though no rule bears it. */
	run(&r, "version: 1\nrules:\n"
		"  - name: feed\n"
		"    rpz: [one.rpz]\n"
		"  - name: feed\n" /* 5 */
		"    action: drop\n"
		"    hosts: [b.example]\n"
		"  - name: other\n"
		"    action: drop\n"
		"    hosts: [c.example]\n"
		"  - name: other\n" /* 11 */
		"    rpz: [one.rpz]\n");
	assert_int_equal(r.rc, -EINVAL);
	assert_diag(&r, "t.yaml:5: error: duplicate rule name 'feed' (first at t.yaml:3, a rule "
			"with rpz)");
	assert_diag(&r, "t.yaml:11: error: duplicate rule name 'other' (first at t.yaml:8)");
	done(&r);
}

/* tapis answers local data with settings.sinkhole: a zone whose
 * addresses differ is warned about at its line, once per answer. */
static void test_local_data(void **state)
{
	char want[512];
	struct run r;

	(void)state;
	write_zone("same.rpz", "a.example A 198.18.0.10\na.example AAAA 2001:db8::10\n");
	write_zone("other.rpz", "a.example A 198.18.0.10\n"		   /* 5 */
				"b.example A 10.1.2.3\n"		   /* 6 */
				"c.example A 10.1.2.3\n"		   /* 7 */
				"d.example A 10.1.2.3\n"		   /* 8 */
				"e.example TXT \"blocked by order 7\"\n"); /* 9 */
	run_ok(&r, "version: 1\n"
		   "rules:\n"
		   "  - name: feed\n"
		   "    rpz: [same.rpz]\n"
		   "settings:\n"
		   "  sinkhole: { ipv4: 198.18.0.10, ipv6: \"2001:db8::10\" }\n");
	assert_string_equal(r.diag, "");
	done(&r);

	run_ok(&r, "version: 1\n"
		   "rules:\n"
		   "  - name: feed\n"
		   "    rpz: [other.rpz]\n"
		   "settings:\n"
		   "  sinkhole: { ipv4: 198.18.0.10 }\n");
	assert_no_diag(&r, ":5:");
	snprintf(want, sizeof(want),
		 "%s:6: warning: rule 'feed/sinkhole': local data of =b.example (A 10.1.2.3, no "
		 "AAAA) is answered with settings.sinkhole (A 198.18.0.10, NODATA to AAAA), as "
		 "are 2 more triggers of the zone with the same data",
		 at("other.rpz"));
	assert_diag(&r, want);
	snprintf(want, sizeof(want),
		 "%s:9: warning: rule 'feed/sinkhole': local data of =e.example (no A, no AAAA)",
		 at("other.rpz"));
	assert_diag(&r, want);
	assert_int_equal(r.p.warnings, 2);
	done(&r);

	/* Local data needs a sinkhole address to answer with. */
	run(&r, "version: 1\nrules:\n  - name: feed\n    rpz: [other.rpz]\n");
	assert_int_equal(r.rc, -EINVAL);
	snprintf(want, sizeof(want),
		 "t.yaml:3: error: rule 'feed/sinkhole' (local data, as in %s:5) has action "
		 "sinkhole but settings.sinkhole gives no ipv4 or ipv6 address",
		 at("other.rpz"));
	assert_diag(&r, want);
	done(&r);
}

/* Several zones of one rule: a trigger is kept once, the zone listed
 * first keeping it, as a resolver's first policy zone does. */
static void test_two_zones(void **state)
{
	const struct host_entry *h;
	char want[512];
	struct run r;

	(void)state;
	write_zone("first.rpz", "a.example CNAME .\n"		/* 5 */
				"b.example CNAME rpz-drop.\n"); /* 6 */
	write_zone("second.rpz", "a.example CNAME rpz-drop.\n"	/* 5 */
				 "b.example CNAME rpz-drop.\n"	/* 6 */
				 "c.example CNAME rpz-passthru.\n");
	run_ok(&r, "version: 1\nrules:\n  - name: feed\n    rpz: [first.rpz, second.rpz]\n");
	snprintf(want, sizeof(want),
		 "%s:5: warning: rule 'feed': =a.example is drop here but reject in %s:5, the "
		 "zone listed first, which keeps it",
		 at("second.rpz"), at("first.rpz"));
	assert_diag(&r, want);
	/* The same verdict twice is no news. */
	assert_no_diag(&r, "=b.example");
	assert_int_equal(prule(&r, "feed/reject")->n_hosts, 1);
	assert_int_equal(prule(&r, "feed/drop")->n_hosts, 1);
	h = phost(prule(&r, "feed/drop"), "b.example", HOST_EXACT);
	assert_non_null(h);
	assert_string_equal(h->loc.file, at("first.rpz"));
	assert_int_equal(prule(&r, "feed/allow")->n_hosts, 1);
	assert_int_equal(r.c.host_conflicts, 0);
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_verdict), cmocka_unit_test(test_only_needed),
		cmocka_unit_test(test_precedence),    cmocka_unit_test(test_zone_errors),
		cmocka_unit_test(test_skip),	      cmocka_unit_test(test_empty_zone),
		cmocka_unit_test(test_rule_keys),     cmocka_unit_test(test_local_data),
		cmocka_unit_test(test_two_zones),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
