// SPDX-License-Identifier: GPL-2.0
/*
 * test_policy.c - the policy file parser, its list files and its messages.
 *
 * Operators fix policies from our messages alone, so most tests here pin
 * the exact "FILE:LINE:" an error is reported at and the words that say
 * what is wrong. Inline policies are named "t.yaml"; list files come from
 * $TAPIS_TEST_DATA (default tests/unit/data, relative to the repo root).
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../user/lib/policy.h"

static const char *data_dir(void)
{
	const char *d = getenv("TAPIS_TEST_DATA");

	return d && *d ? d : "tests/unit/data";
}

/* Path of a data file, as the parser prints it. */
static const char *data_path(const char *rel)
{
	static char buf[4][1024];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", data_dir(), rel);
	return b;
}

struct parsed {
	int rc;
	char *diag;
	struct policy p;
};

static void parse(struct parsed *r, const char *yaml)
{
	size_t len = 0;
	FILE *f;

	r->diag = NULL;
	f = open_memstream(&r->diag, &len);
	assert_non_null(f);
	policy_set_diag(f);
	r->rc = policy_parse_buffer("t.yaml", data_dir(), yaml, strlen(yaml), &r->p);
	policy_set_diag(NULL);
	fclose(f);
}

static void done(struct parsed *r)
{
	policy_free(&r->p);
	free(r->diag);
}

static bool policy_is_empty(const struct policy *p)
{
	static const struct policy zero;

	return memcmp(p, &zero, sizeof(zero)) == 0;
}

static unsigned count_lines(const char *diag, const char *part)
{
	unsigned n = 0;
	const char *s = diag;

	while ((s = strstr(s, part))) {
		n++;
		s += strlen(part);
	}
	return n;
}

/* A diagnostic line that starts with `prefix` and contains every word of
 * the NULL-terminated list. */
static bool vhas_line(const char *diag, const char *prefix, va_list ap)
{
	const char *line = diag;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		char buf[2048];

		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, line, n);
		buf[n] = '\0';
		if (strncmp(buf, prefix, strlen(prefix)) == 0) {
			va_list cp;
			const char *w;
			bool all = true;

			va_copy(cp, ap);
			while ((w = va_arg(cp, const char *)))
				if (!strstr(buf, w))
					all = false;
			va_end(cp);
			if (all)
				return true;
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

static void check_line(const char *diag, const char *prefix, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, prefix);
	ok = vhas_line(diag, prefix, ap);
	va_end(ap);
	if (!ok)
		fail_msg("no diagnostic '%s ...' in:\n%s", prefix, diag);
}

/* Parse, expect refusal with a line starting `prefix` holding the words. */
#define expect_error(yaml, prefix, ...)                                                            \
	do {                                                                                       \
		struct parsed r_;                                                                  \
		parse(&r_, (yaml));                                                                \
		if (r_.rc != -EINVAL)                                                              \
			fail_msg("rc %d, diag:\n%s", r_.rc, r_.diag);                              \
		assert_true(policy_is_empty(&r_.p));                                               \
		check_line(r_.diag, (prefix), __VA_ARGS__, NULL);                                  \
		done(&r_);                                                                         \
	} while (0)

static bool port_set(const struct policy *p, int cls, unsigned port)
{
	return p->settings.ports[cls][port / 64] & (1ULL << (port % 64));
}

static unsigned port_count(const struct policy *p, int cls)
{
	unsigned i, n = 0;

	for (i = 0; i < TAPIS_PORT_WORDS; i++)
		n += (unsigned)__builtin_popcountll(p->settings.ports[cls][i]);
	return n;
}

static const char *net_str(const struct net_entry *e)
{
	static char buf[2][64];
	static int next;
	char a[INET6_ADDRSTRLEN], *b = buf[next++ % 2];

	inet_ntop(e->family == 6 ? AF_INET6 : AF_INET, e->addr, a, sizeof(a));
	snprintf(b, sizeof(buf[0]), "%s/%u", a, e->plen);
	return b;
}

static const struct rule *find_rule(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_rules; i++)
		if (strcmp(p->rules[i].name, name) == 0)
			return &p->rules[i];
	fail_msg("no rule '%s'", name);
	return NULL;
}

static void check_host(const struct host_entry *h, enum host_kind kind, const char *name,
		       const char *file, unsigned line)
{
	assert_int_equal(h->kind, kind);
	assert_string_equal(h->name, name);
	assert_string_equal(h->loc.file, file);
	assert_int_equal(h->loc.line, line);
}

/* ---- the full example ---- */

static void test_full_example(void **state)
{
	const char *pol = data_path("policy-full.yaml");
	const char *order = data_path("lists/order-0714.txt");
	const char *nets = data_path("lists/order-0714-nets.txt");
	const char *feed = data_path("lists/hosts-file.txt");
	const struct rule *r;
	struct policy p;
	char *diag = NULL;
	size_t len;
	FILE *f;
	int rc;

	(void)state;
	f = open_memstream(&diag, &len);
	policy_set_diag(f);
	rc = policy_parse_file(pol, &p);
	policy_set_diag(NULL);
	fclose(f);
	if (rc)
		fail_msg("rc %d:\n%s", rc, diag);
	assert_string_equal(diag, "");
	free(diag);

	assert_string_equal(p.path, pol);
	assert_int_equal(p.version, 1);
	assert_int_equal(p.warnings, 0);
	assert_true(port_set(&p, TAPIS_PORT_DNS, 53));
	assert_true(port_set(&p, TAPIS_PORT_DNS, 5353));
	assert_int_equal(port_count(&p, TAPIS_PORT_DNS), 2);
	assert_true(port_set(&p, TAPIS_PORT_TLS, 8443));
	assert_int_equal(port_count(&p, TAPIS_PORT_TLS), 2);
	assert_true(port_set(&p, TAPIS_PORT_HTTP, 80));
	assert_false(port_set(&p, TAPIS_PORT_HTTP, 8080));
	assert_true(p.settings.has_sinkhole_v4);
	assert_memory_equal(p.settings.sinkhole_v4, ((uint8_t[]){198, 18, 0, 10}), 4);
	assert_true(p.settings.has_sinkhole_v6);
	assert_int_equal(p.settings.sinkhole_v6[0], 0x20);
	assert_int_equal(p.settings.sinkhole_v6[15], 0x10);
	assert_int_equal(p.settings.sinkhole_ttl, 60);
	assert_true(p.settings.quic_drop);
	assert_int_equal(p.settings.flows, TAPIS_FLOWS_DEFAULT);
	assert_int_equal(p.n_rules, 4);

	r = &p.rules[0];
	assert_string_equal(r->name, "court-order-0714");
	assert_int_equal(r->action, TAPIS_ACT_SINKHOLE);
	assert_string_equal(r->reference, "ORDER/2017/07/14");
	assert_int_equal(r->expires_unix, 4102358400LL);
	assert_int_equal(r->dirs, TAPIS_DIRS_DST);
	assert_false(r->has_redirect);
	assert_string_equal(r->loc.file, pol);
	assert_int_equal(r->loc.line, 8);
	assert_int_equal(r->n_hosts, 12);
	check_host(&r->hosts[0], HOST_SUBTREE, "t.me", pol, 12);
	check_host(&r->hosts[1], HOST_EXACT, "web.example.org", pol, 12);
	check_host(&r->hosts[2], HOST_WILDCARD, "example.net", pol, 12);
	check_host(&r->hosts[3], HOST_SUBTREE, "xn--bcher-kva.example", pol, 12);
	check_host(&r->hosts[4], HOST_SUBTREE, "blocked.example", order, 2);
	check_host(&r->hosts[5], HOST_EXACT, "exact.example.org", order, 3);
	check_host(&r->hosts[6], HOST_WILDCARD, "wild.example.net", order, 4);
	check_host(&r->hosts[7], HOST_SUBTREE, "hostsform.example", order, 6);
	check_host(&r->hosts[8], HOST_SUBTREE, "another.example", order, 6);
	check_host(&r->hosts[9], HOST_SUBTREE, "xn--e1afmkfd.xn--p1ai", order, 8);
	check_host(&r->hosts[10], HOST_SUBTREE, "_dmarc.example", order, 9);
	check_host(&r->hosts[11], HOST_SUBTREE, "crlf.example", order, 10);
	assert_int_equal(r->n_nets, 5);
	assert_string_equal(net_str(&r->nets[0]), "198.18.5.0/24");
	assert_int_equal(r->nets[0].family, 4);
	assert_int_equal(r->nets[0].loc.line, 14);
	assert_string_equal(net_str(&r->nets[1]), "2001:db8:1::/48");
	assert_int_equal(r->nets[1].family, 6);
	assert_string_equal(net_str(&r->nets[2]), "198.18.7.0/24");
	assert_string_equal(r->nets[2].loc.file, nets);
	assert_int_equal(r->nets[2].loc.line, 2);
	assert_string_equal(net_str(&r->nets[3]), "198.18.8.1/32");
	assert_string_equal(net_str(&r->nets[4]), "2001:db8:2::/64");
	assert_int_equal(r->nets[4].loc.line, 4);

	r = &p.rules[1];
	assert_string_equal(r->name, "mirror-to-blockpage");
	assert_int_equal(r->action, TAPIS_ACT_REDIRECT);
	assert_true(r->has_redirect);
	assert_string_equal(r->redirect_iface, "eth2");
	assert_memory_equal(r->redirect_mac, ((uint8_t[]){2, 0, 0, 0, 0, 0x10}), 6);
	assert_int_equal(r->dirs, TAPIS_DIRS_BOTH);
	assert_int_equal(r->expires_unix, 0);
	assert_int_equal(r->n_hosts, 0);
	assert_int_equal(r->n_nets, 1);

	/* Every loopback/local name of a hosts file is skipped silently. */
	r = &p.rules[2];
	assert_string_equal(r->name, "abuse-feed");
	assert_int_equal(r->action, TAPIS_ACT_DROP);
	assert_int_equal(r->expires_unix, 4086496800LL); /* 12:00+02:00 */
	assert_int_equal(r->n_hosts, 5);
	check_host(&r->hosts[0], HOST_SUBTREE, "ads.example.com", feed, 17);
	check_host(&r->hosts[1], HOST_SUBTREE, "tracker.example.net", feed, 18);
	check_host(&r->hosts[4], HOST_SUBTREE, "c.example", feed, 19);

	r = &p.rules[3];
	assert_string_equal(r->name, "partners");
	assert_int_equal(r->action, TAPIS_ACT_ALLOW);
	assert_int_equal(r->dirs, TAPIS_DIRS_SRC);
	assert_string_equal(r->reference, "");
	assert_int_equal(r->n_hosts, 1);
	assert_int_equal(r->hosts[0].loc.line, 32);
	assert_string_equal(net_str(&r->nets[0]), "2001:db8:ffff::1/128");

	policy_free(&p);
	assert_true(policy_is_empty(&p));
	policy_free(&p); /* twice is harmless */
}

static void test_minimal_defaults(void **state)
{
	struct parsed r;

	(void)state;
	parse(&r, "version: 1\nrules: []\n");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.diag, "");
	assert_int_equal(r.p.n_rules, 0);
	assert_string_equal(r.p.path, "t.yaml");
	assert_true(port_set(&r.p, TAPIS_PORT_DNS, 53));
	assert_int_equal(port_count(&r.p, TAPIS_PORT_DNS), 1);
	assert_true(port_set(&r.p, TAPIS_PORT_TLS, 443));
	assert_int_equal(port_count(&r.p, TAPIS_PORT_TLS), 1);
	assert_true(port_set(&r.p, TAPIS_PORT_HTTP, 80));
	assert_true(port_set(&r.p, TAPIS_PORT_HTTP, 8080));
	assert_int_equal(port_count(&r.p, TAPIS_PORT_HTTP), 2);
	assert_int_equal(r.p.settings.sinkhole_ttl, 300);
	assert_false(r.p.settings.quic_drop);
	assert_int_equal(r.p.settings.flows, TAPIS_FLOWS_DEFAULT);
	assert_int_equal(r.p.settings.flows, 8192);
	assert_int_equal(r.p.settings.events_ring, 262144);
	assert_int_equal(r.p.settings.capacity_edits, 8192);
	assert_int_equal(r.p.settings.capacity_rules, 0);
	assert_false(r.p.settings.has_sinkhole_v4);
	done(&r);

	/* An empty value is an empty list; one port list leaves the others. */
	parse(&r, "version: 1\nsettings:\n  ports:\n    tls: [8443]\n    dns:\nrules:\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(port_count(&r.p, TAPIS_PORT_DNS), 0);
	assert_int_equal(port_count(&r.p, TAPIS_PORT_TLS), 1);
	assert_true(port_set(&r.p, TAPIS_PORT_TLS, 8443));
	assert_int_equal(port_count(&r.p, TAPIS_PORT_HTTP), 2);
	done(&r);
}

/* ---- top level ---- */

static void test_empty(void **state)
{
	(void)state;
	expect_error("", "t.yaml:1: error: ", "empty");
	expect_error("# nothing here\n\n", "t.yaml:1: error: ", "empty");
	expect_error("---\n", "t.yaml:", "empty");
}

static void test_version(void **state)
{
	(void)state;
	expect_error("rules: []\n", "t.yaml:1: error: ", "missing 'version'");
	expect_error("version: 2\nrules: []\n", "t.yaml:1: error: ", "version", "'2'",
		     "expected 1");
	expect_error("version: one\nrules: []\n", "t.yaml:1: error: ", "version");
	expect_error("version: [1]\nrules: []\n", "t.yaml:1: error: ", "'version'",
		     "must be a string", "list");
}

static void test_top_level(void **state)
{
	(void)state;
	expect_error("version: 1\n", "t.yaml:1: error: ", "missing 'rules'");
	expect_error("- version: 1\n", "t.yaml:1: error: ", "must be a mapping");
	expect_error("version: 1\nrule: []\nrules: []\n", "t.yaml:2: error: ", "unknown key 'rule'",
		     "the policy");
	expect_error("version: 1\nrules: []\nversion: 1\n",
		     "t.yaml:3: error: ", "duplicate key 'version'", "first at line 1");
	expect_error("version: 1\nrules: {}\n", "t.yaml:2: error: ", "'rules' must be a list",
		     "mapping");
	expect_error("version: 1\nrules: drop\n", "t.yaml:2: error: ", "'rules' must be a list",
		     "string");
	expect_error("version: 1\nrules: []\n---\nversion: 1\n",
		     "t.yaml:4: error: ", "one YAML document");
}

static void test_yaml_syntax(void **state)
{
	(void)state;
	expect_error("version: 1\nrules:\n  - name: a\n    action: [drop\n",
		     "t.yaml:", "error: invalid YAML");
	expect_error("version: 1\nrules:\n  - name: a\n   action: drop\n",
		     "t.yaml:4: error: ", "invalid YAML");
	expect_error("version: 1\nrules:\n  - name: a\n    action: drop\n"
		     "    hosts: [ *.example.com ]\n",
		     "t.yaml:5: error: ", "invalid YAML", "quote");
	expect_error("version: 1\nrules: \"unterminated\n\n", "t.yaml:", "invalid YAML");
	expect_error("version: 1\nrules: []\nx: \xff\n", "t.yaml:3: error: ", "invalid YAML");
}

/* Errors are all reported, not only the first. */
static void test_reports_all_errors(void **state)
{
	struct parsed r;

	(void)state;
	parse(&r, "version: 1\n"
		  "bogus: 1\n"
		  "rules:\n"
		  "  - name: a\n"
		  "    action: explode\n"
		  "    nets: [ 198.18.0.0/33 ]\n"
		  "  - name: b\n"
		  "    action: drop\n"
		  "    direction: sideways\n"
		  "    hosts: [ \"bad..name\" ]\n");
	assert_int_equal(r.rc, -EINVAL);
	assert_true(policy_is_empty(&r.p));
	check_line(r.diag, "t.yaml:2: error: ", "unknown key 'bogus'", NULL);
	check_line(r.diag, "t.yaml:5: error: ", "unknown action 'explode'", NULL);
	check_line(r.diag, "t.yaml:6: error: ", "invalid CIDR '198.18.0.0/33'", NULL);
	check_line(r.diag, "t.yaml:9: error: ", "invalid direction 'sideways'", NULL);
	check_line(r.diag, "t.yaml:10: error: ", "invalid host 'bad..name'", "empty label", NULL);
	assert_int_equal(count_lines(r.diag, ": error: "), 5);
	done(&r);
}

static void test_error_cap(void **state)
{
	char yaml[8192];
	struct parsed r;
	int i, n;

	(void)state;
	n = snprintf(yaml, sizeof(yaml),
		     "version: 1\nrules:\n  - name: a\n    action: drop\n"
		     "    nets:\n");
	for (i = 0; i < 80; i++)
		n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "      - 10.0.%d.0/99\n", i);
	parse(&r, yaml);
	assert_int_equal(r.rc, -EINVAL);
	assert_int_equal(count_lines(r.diag, "invalid CIDR"), 50);
	check_line(r.diag, "t.yaml: error: ", "too many errors", NULL);
	check_line(r.diag, "t.yaml:6: error: ", "10.0.0.0/99", NULL);
	done(&r);
}

/* ---- settings ---- */

static void test_settings_errors(void **state)
{
	(void)state;
	expect_error("version: 1\nsettings:\n  color: red\nrules: []\n",
		     "t.yaml:3: error: ", "unknown key 'color'", "'settings'");
	expect_error("version: 1\nsettings: [1]\nrules: []\n",
		     "t.yaml:2: error: ", "'settings' must be a mapping");
	expect_error("version: 1\nsettings:\n  ports: { dns: [53], smtp: [25] }\nrules: []\n",
		     "t.yaml:3: error: ", "unknown key 'smtp'", "'ports'");
	expect_error("version: 1\nsettings:\n  ports: { dns: 53 }\nrules: []\n",
		     "t.yaml:3: error: ", "'dns' must be a list", "string");
	expect_error("version: 1\nsettings:\n  ports: { tls: [0] }\nrules: []\n",
		     "t.yaml:3: error: ", "invalid port '0'", "1-65535");
	expect_error("version: 1\nsettings:\n  ports:\n    http: [80, 65536]\nrules: []\n",
		     "t.yaml:4: error: ", "invalid port '65536'");
	expect_error("version: 1\nsettings:\n  ports: { dns: [53], dns: [54] }\nrules: []\n",
		     "t.yaml:3: error: ", "duplicate key 'dns'");
	expect_error("version: 1\nsettings:\n  sinkhole: { ipv4: 198.18.0.300 }\nrules: []\n",
		     "t.yaml:3: error: ", "invalid IPv4 address '198.18.0.300'");
	expect_error("version: 1\nsettings:\n  sinkhole:\n    ipv6: 198.18.0.1\nrules: []\n",
		     "t.yaml:4: error: ", "invalid IPv6 address");
	expect_error("version: 1\nsettings:\n  sinkhole: { ttl: -1 }\nrules: []\n",
		     "t.yaml:3: error: ", "invalid ttl '-1'");
	expect_error("version: 1\nsettings:\n  sinkhole: { port: 53 }\nrules: []\n",
		     "t.yaml:3: error: ", "unknown key 'port'", "'sinkhole'");
	expect_error("version: 1\nsettings:\n  quic: block\nrules: []\n",
		     "t.yaml:3: error: ", "'quic' must be pass or drop");
}

/* settings.events: block events a second per CPU and the burst. */
static void test_settings_events(void **state)
{
	struct parsed r;

	(void)state;
	parse(&r, "version: 1\nrules: []\n");
	assert_int_equal(r.p.settings.events_rate, 1000);
	assert_int_equal(r.p.settings.events_burst, 100);
	done(&r);
	parse(&r, "version: 1\nsettings:\n  events: {rate: 0}\nrules: []\n");
	if (r.rc)
		fail_msg("rc %d:\n%s", r.rc, r.diag);
	assert_int_equal(r.p.settings.events_rate, 0);
	done(&r);
	parse(&r, "version: 1\nsettings:\n  events:\n    rate: 50\n    burst: 5\nrules: []\n");
	if (r.rc)
		fail_msg("rc %d:\n%s", r.rc, r.diag);
	assert_int_equal(r.p.settings.events_rate, 50);
	assert_int_equal(r.p.settings.events_burst, 5);
	done(&r);
	expect_error("version: 1\nsettings:\n  events: {rate: -1}\nrules: []\n",
		     "t.yaml:3: error: ", "invalid rate '-1'", "0-1000000");
	expect_error("version: 1\nsettings:\n  events:\n    burst: 0\nrules: []\n",
		     "t.yaml:4: error: ", "invalid burst '0'", "1-1000000");
	expect_error("version: 1\nsettings:\n  events: {rates: 5}\nrules: []\n",
		     "t.yaml:3: error: ", "unknown key 'rates'", "'events'");
	/* The ring: bytes, a power of two the kernel takes. */
	parse(&r, "version: 1\nsettings:\n  events: {ring: 65536}\nrules: []\n");
	if (r.rc)
		fail_msg("rc %d:\n%s", r.rc, r.diag);
	assert_int_equal(r.p.settings.events_ring, 65536);
	done(&r);
	expect_error("version: 1\nsettings:\n  events: {ring: 100000}\nrules: []\n",
		     "t.yaml:3: error: ", "invalid ring '100000'", "power of two from 16384");
	expect_error("version: 1\nsettings:\n  events: {ring: 8192}\nrules: []\n",
		     "t.yaml:3: error: ", "invalid ring '8192'");
	expect_error("version: 1\nsettings:\n  events: {ring: 134217728}\nrules: []\n",
		     "t.yaml:3: error: ", "invalid ring '134217728'", "67108864 bytes");
}

/* settings.capacity.names: what the host tables loaded must take later,
 * 1..POLICY_CAPACITY_NAMES_MAX; absent: 0, sized to the policy. */
static void test_settings_capacity(void **state)
{
	struct parsed r;

	(void)state;
	parse(&r, "version: 1\nsettings:\n  capacity: { names: 250000 }\nrules: []\n");
	if (r.rc)
		fail_msg("capacity: rc %d:\n%s", r.rc, r.diag);
	assert_int_equal(r.p.settings.capacity_names, 250000);
	done(&r);
	parse(&r, "version: 1\nsettings:\n  capacity: { names: 12582912 }\nrules: []\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.settings.capacity_names, POLICY_CAPACITY_NAMES_MAX);
	done(&r);
	parse(&r, "version: 1\nsettings:\n  capacity: {}\nrules: []\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.settings.capacity_names, 0);
	done(&r);
	parse(&r, "version: 1\nrules: []\n");
	assert_int_equal(r.p.settings.capacity_names, 0);
	done(&r);

	expect_error("version: 1\nsettings:\n  capacity: { names: 0 }\nrules: []\n",
		     "t.yaml:3: error: ", "invalid capacity names '0'", "1-12582912");
	expect_error("version: 1\nsettings:\n  capacity:\n    names: 12582913\nrules: []\n",
		     "t.yaml:4: error: ", "invalid capacity names '12582913'");
	expect_error("version: 1\nsettings:\n  capacity: { names: lots }\nrules: []\n",
		     "t.yaml:3: error: ", "invalid capacity names 'lots'");
	parse(&r, "version: 1\nsettings:\n  capacity: { rules: 500, edits: 100000 }\nrules: []\n");
	if (r.rc)
		fail_msg("capacity: rc %d:\n%s", r.rc, r.diag);
	assert_int_equal(r.p.settings.capacity_rules, 500);
	assert_int_equal(r.p.settings.capacity_edits, 100000);
	done(&r);
	expect_error("version: 1\nsettings:\n  capacity: { rules: 4096 }\nrules: []\n",
		     "t.yaml:3: error: ", "invalid capacity rules '4096'", "1-4095 rules");
	expect_error("version: 1\nsettings:\n  capacity: { edits: 0 }\nrules: []\n",
		     "t.yaml:3: error: ", "invalid capacity edits '0'", "1-1048576 live edits");
	expect_error("version: 1\nsettings:\n  capacity: { flows: 5 }\nrules: []\n",
		     "t.yaml:3: error: ", "unknown key 'flows'", "'capacity'");
	expect_error("version: 1\nsettings:\n  capacity: 5000\nrules: []\n",
		     "t.yaml:3: error: ", "'capacity'");
}

/* settings.flows: the flow table's entries, 1024..16777216. */
static void test_settings_flows(void **state)
{
	static const struct {
		const char *v;
		uint32_t want;
	} ok[] = {
		{"1024", 1024},		{"65536", 65536},	{"131072", 131072},
		{"\"262144\"", 262144}, {"16777216", 16777216},
	};
	char yaml[256];
	struct parsed r;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(yaml, sizeof(yaml), "version: 1\nsettings:\n  flows: %s\nrules: []\n",
			 ok[i].v);
		parse(&r, yaml);
		if (r.rc)
			fail_msg("flows: %s: rc %d:\n%s", ok[i].v, r.rc, r.diag);
		assert_string_equal(r.diag, "");
		assert_int_equal(r.p.settings.flows, ok[i].want);
		done(&r);
	}

	/* Too small, too big: the line, the value and the range. */
	expect_error("version: 1\nsettings:\n  flows: 1023\nrules: []\n",
		     "t.yaml:3: error: ", "invalid flows '1023'", "1024-16777216");
	expect_error("version: 1\nsettings:\n  flows: 0\nrules: []\n",
		     "t.yaml:3: error: ", "invalid flows '0'", "1024-16777216");
	expect_error("version: 1\nsettings:\n  quic: pass\n  flows: 16777217\nrules: []\n",
		     "t.yaml:4: error: ", "invalid flows '16777217'", "1024-16777216");
	expect_error("version: 1\nsettings:\n  flows: 99999999999999999999\nrules: []\n",
		     "t.yaml:3: error: ", "invalid flows '99999999999999999999'");
	/* Not a number. */
	expect_error("version: 1\nsettings:\n  flows: many\nrules: []\n",
		     "t.yaml:3: error: ", "invalid flows 'many'", "1024-16777216");
	expect_error("version: 1\nsettings:\n  flows: 64k\nrules: []\n",
		     "t.yaml:3: error: ", "invalid flows '64k'");
	expect_error("version: 1\nsettings:\n  flows: -65536\nrules: []\n",
		     "t.yaml:3: error: ", "invalid flows '-65536'");
	expect_error("version: 1\nsettings:\n  flows: 65536.0\nrules: []\n",
		     "t.yaml:3: error: ", "invalid flows '65536.0'");
	expect_error("version: 1\nsettings:\n  flows: 065536\nrules: []\n",
		     "t.yaml:3: error: ", "invalid flows '065536'");
	expect_error("version: 1\nsettings:\n  flows:\nrules: []\n",
		     "t.yaml:3: error: ", "invalid flows ''");
	expect_error("version: 1\nsettings:\n  flows: [65536]\nrules: []\n",
		     "t.yaml:3: error: ", "'flows' must be a string", "list");
	expect_error("version: 1\nsettings:\n  flows: 2048\n  flows: 4096\nrules: []\n",
		     "t.yaml:4: error: ", "duplicate key 'flows'");
}

/* ---- rules ---- */

#define RULE_HEAD "version: 1\nrules:\n  - name: r1\n    action: drop\n"

static void test_rule_keys(void **state)
{
	(void)state;
	expect_error(RULE_HEAD "    hosts: [ a.example ]\n    color: red\n",
		     "t.yaml:6: error: ", "unknown key 'color'", "rule");
	expect_error(RULE_HEAD "    hosts: [ a.example ]\n    action: reject\n",
		     "t.yaml:6: error: ", "duplicate key 'action'", "first at line 4");
	expect_error("version: 1\nrules:\n  - drop\n",
		     "t.yaml:3: error: ", "each rule must be a mapping");
	expect_error("version: 1\nrules:\n  - action: drop\n    hosts: [a.example]\n",
		     "t.yaml:3: error: ", "no 'name'");
	expect_error("version: 1\nrules:\n  - name: x\n    hosts: [a.example]\n",
		     "t.yaml:3: error: ", "rule 'x' has no 'action'");
	expect_error("version: 1\nrules:\n  - name: \"a b\"\n    action: drop\n"
		     "    hosts: [a.example]\n",
		     "t.yaml:3: error: ", "invalid rule name 'a b'");
	expect_error("version: 1\nrules:\n  - name: "
		     "a234567890123456789012345678901234567890123456789012345678901234\n"
		     "    action: drop\n    hosts: [a.example]\n",
		     "t.yaml:3: error: ", "invalid rule name", "1-63");
	expect_error("version: 1\nrules:\n  - name: [a]\n    action: drop\n"
		     "    hosts: [a.example]\n",
		     "t.yaml:3: error: ", "'name' must be a string", "list");
}

static void test_rule_name_ok(void **state)
{
	struct parsed r;

	(void)state;
	parse(&r, "version: 1\nrules:\n  - name: "
		  "A_23.5-78901234567890123456789012345678901234567890123456789012\n"
		  "    action: monitor\n    hosts: [a.example]\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(strlen(r.p.rules[0].name), 63);
	done(&r);
}

static void test_duplicate_rule(void **state)
{
	(void)state;
	expect_error("version: 1\nrules:\n"
		     "  - name: same\n    action: drop\n    hosts: [a.example]\n"
		     "  - name: other\n    action: drop\n    hosts: [b.example]\n"
		     "  - action: drop\n    name: same\n    hosts: [c.example]\n",
		     "t.yaml:10: error: ", "duplicate rule name 'same'", "(first at t.yaml:3)");
}

static void test_many_rules(void **state)
{
	size_t cap = 200 * 64, n = 0;
	char *yaml = malloc(cap);
	struct parsed r;
	int i;

	(void)state;
	n += (size_t)snprintf(yaml, cap, "version: 1\nrules:\n");
	for (i = 0; i < 200; i++)
		n += (size_t)snprintf(yaml + n, cap - n,
				      "  - { name: r%d, action: drop, nets: [198.18.0.%d] }\n", i,
				      i % 250);
	parse(&r, yaml);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.n_rules, 200);
	assert_string_equal(find_rule(&r.p, "r199")->name, "r199");
	assert_int_equal(find_rule(&r.p, "r7")->loc.line, 10);
	done(&r);
	free(yaml);
}

static void test_action(void **state)
{
	(void)state;
	expect_error("version: 1\nrules:\n  - name: a\n    action: block\n    hosts: [x.example]\n",
		     "t.yaml:4: error: ", "unknown action 'block'", "drop", "allow");
	expect_error("version: 1\nrules:\n  - name: a\n    action: none\n    hosts: [x.example]\n",
		     "t.yaml:4: error: ", "unknown action 'none'");
	expect_error("version: 1\nrules:\n  - name: a\n    action: DROP\n    hosts: [x.example]\n",
		     "t.yaml:4: error: ", "unknown action");
}

static void test_direction(void **state)
{
	(void)state;
	expect_error(RULE_HEAD "    nets: [198.18.0.0/15]\n    direction: in\n",
		     "t.yaml:6: error: ", "invalid direction 'in'", "dst, src or both");
}

static void test_reference(void **state)
{
	char yaml[512], ref[200];

	(void)state;
	memset(ref, 'x', 128);
	ref[128] = '\0';
	snprintf(yaml, sizeof(yaml), RULE_HEAD "    hosts: [a.example]\n    reference: %s\n", ref);
	expect_error(yaml, "t.yaml:6: error: ", "reference longer than 127");
}

static void test_expires(void **state)
{
	static const struct {
		const char *s;
		int64_t t;
	} good[] = {
		{"2026-12-31T00:00:00Z", 1798675200},
		{"2026-12-31t00:00:00z", 1798675200},
		{"2026-12-31T01:00:00+01:00", 1798675200},
		{"2026-12-30T19:00:00-05:00", 1798675200},
		{"2026-12-31T00:00:00.750Z", 1798675200},
		{"2028-02-29T12:34:56Z", 1835440496},
	};
	static const char *const bad[] = {
		"2026-12-31",
		"2026-12-31T00:00:00",
		"2026-13-01T00:00:00Z",
		"2027-02-29T00:00:00Z",
		"2026-12-31T24:00:00Z",
		"2026-12-31T00:00:00+1:00",
		"2026-12-31 00:00:00Z",
		"tomorrow",
		"1969-12-31T00:00:00Z",
		"2026-12-31T00:00:00Zjunk",
		"2026-12-31T00:00:00.Z",
	};
	char yaml[512];
	struct parsed r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 RULE_HEAD "    hosts: [a.example]\n"
				   "    expires: \"%s\"\n",
			 good[i].s);
		parse(&r, yaml);
		if (r.rc)
			fail_msg("%s: %s", good[i].s, r.diag);
		assert_int_equal(r.p.rules[0].expires_unix, good[i].t);
		done(&r);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 RULE_HEAD "    hosts: [a.example]\n"
				   "    expires: \"%s\"\n",
			 bad[i]);
		expect_error(yaml, "t.yaml:6: error: ", "invalid expires", bad[i], "RFC 3339");
	}
}

static void test_expired_warns(void **state)
{
	struct parsed r;

	(void)state;
	parse(&r, RULE_HEAD "    hosts: [a.example]\n    expires: 2001-01-01T00:00:00Z\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.warnings, 1);
	check_line(r.diag, "t.yaml:6: warning: ", "rule 'r1'", "expired", NULL);
	done(&r);
}

static void test_hosts(void **state)
{
	struct parsed r;

	(void)state;
	parse(&r, RULE_HEAD "    hosts:\n      - Example.COM.\n      - \"=Exact.Example\"\n"
			    "      - \"*.wild.example\"\n      - \"*.bücher.example\"\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.rules[0].n_hosts, 4);
	check_host(&r.p.rules[0].hosts[0], HOST_SUBTREE, "example.com", "t.yaml", 6);
	check_host(&r.p.rules[0].hosts[1], HOST_EXACT, "exact.example", "t.yaml", 7);
	check_host(&r.p.rules[0].hosts[2], HOST_WILDCARD, "wild.example", "t.yaml", 8);
	check_host(&r.p.rules[0].hosts[3], HOST_WILDCARD, "xn--bcher-kva.example", "t.yaml", 9);
	done(&r);

	/* A YAML null is an empty string, not the text "~". */
	parse(&r, RULE_HEAD "    hosts: [a.example]\n    reference: ~\n");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.p.rules[0].reference, "");
	done(&r);

	/* Duplicates are kept: the compiler dedups and can say where. */
	parse(&r, RULE_HEAD "    hosts: [a.example, A.example.]\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.rules[0].n_hosts, 2);
	done(&r);
}

static void test_hosts_errors(void **state)
{
	(void)state;
	expect_error(RULE_HEAD "    hosts: a.example\n",
		     "t.yaml:5: error: ", "'hosts' must be a list", "string");
	expect_error(RULE_HEAD "    hosts:\n      - ok.example\n      - \"bad..example\"\n",
		     "t.yaml:7: error: ", "invalid host 'bad..example'", "empty label");
	expect_error(RULE_HEAD "    hosts: [ \"*\" ]\n", "t.yaml:5: error: ", "invalid host '*'");
	expect_error(RULE_HEAD "    hosts: [ \"*example.com\" ]\n",
		     "t.yaml:5: error: ", "invalid host '*example.com'", "'*'");
	expect_error(RULE_HEAD "    hosts: [ \"=\" ]\n", "t.yaml:5: error: ", "invalid host '='",
		     "empty");
	expect_error(RULE_HEAD "    hosts: [ \"exa mple.com\" ]\n",
		     "t.yaml:5: error: ", "invalid host");
	expect_error(RULE_HEAD "    hosts: [ 198.18.0.1 ]\n",
		     "t.yaml:5: error: ", "'198.18.0.1' is an address", "nets");
	expect_error(RULE_HEAD "    hosts: [ \"2001:db8::1\" ]\n",
		     "t.yaml:5: error: ", "is an address");
	expect_error(RULE_HEAD "    hosts: [ [a.example] ]\n",
		     "t.yaml:5: error: ", "a host must be a string", "list");
	expect_error(RULE_HEAD "    hosts: [ 198.18.0.300 ]\n",
		     "t.yaml:5: error: ", "invalid host '198.18.0.300'", "all digits");
}

/* The one pattern parser the policy, its lists and `tapis host` share. */
static void test_host_pattern(void **state)
{
	struct host_pattern hp;
	char why[256];

	(void)state;
	assert_int_equal(host_pattern_parse("Example.COM.", &hp, why, sizeof(why)), 0);
	assert_int_equal(hp.kind, HOST_SUBTREE);
	assert_string_equal(hp.name, "example.com");
	assert_int_equal(host_pattern_parse("=Exact.Example", &hp, why, sizeof(why)), 0);
	assert_int_equal(hp.kind, HOST_EXACT);
	assert_string_equal(hp.name, "exact.example");
	assert_int_equal(host_pattern_parse("*.bücher.example", &hp, why, sizeof(why)), 0);
	assert_int_equal(hp.kind, HOST_WILDCARD);
	assert_string_equal(hp.name, "xn--bcher-kva.example");
	assert_string_equal(host_pattern_prefix(HOST_SUBTREE), "");
	assert_string_equal(host_pattern_prefix(HOST_EXACT), "=");
	assert_string_equal(host_pattern_prefix(HOST_WILDCARD), "*.");

	assert_int_equal(host_pattern_parse("198.18.0.1", &hp, why, sizeof(why)), -EAFNOSUPPORT);
	assert_non_null(strstr(why, "'198.18.0.1' is an address"));
	assert_int_equal(host_pattern_parse("=2001:db8::1", &hp, why, sizeof(why)), -EAFNOSUPPORT);
	assert_int_equal(host_pattern_parse("1.2.3.400", &hp, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "all digits"));
	assert_int_equal(host_pattern_parse("bad..example", &hp, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "invalid host 'bad..example': empty label"));
	assert_int_equal(host_pattern_parse("*", &hp, why, sizeof(why)), -EINVAL);
	assert_int_equal(host_pattern_parse("", &hp, why, sizeof(why)), -EINVAL);
	/* A digit label elsewhere is a name: 1.2.3.4.in-addr.arpa, 7-eleven.com. */
	assert_int_equal(host_pattern_parse("4.3.2.1.in-addr.arpa", &hp, why, sizeof(why)), 0);
	assert_int_equal(host_pattern_parse("123.example", &hp, why, sizeof(why)), 0);
}

static void test_nets(void **state)
{
	struct parsed r;

	(void)state;
	parse(&r, RULE_HEAD "    nets:\n      - 198.18.1.1/24\n      - \"2001:db8::1/32\"\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.warnings, 2);
	check_line(r.diag,
		   "t.yaml:6: warning: ", "198.18.1.1/24 has host bits set; using 198.18.1.0/24",
		   NULL);
	check_line(r.diag, "t.yaml:7: warning: ", "using 2001:db8::/32", NULL);
	assert_string_equal(net_str(&r.p.rules[0].nets[0]), "198.18.1.0/24");
	assert_string_equal(net_str(&r.p.rules[0].nets[1]), "2001:db8::/32");
	assert_int_equal(r.p.rules[0].dirs, TAPIS_DIRS_DST);
	done(&r);

	expect_error(RULE_HEAD "    nets: [ 1.2.3.4/33 ]\n",
		     "t.yaml:5: error: ", "invalid CIDR '1.2.3.4/33'");
	expect_error(RULE_HEAD "    nets:\n      - 1.2.3\n",
		     "t.yaml:6: error: ", "invalid CIDR '1.2.3'");
	expect_error(RULE_HEAD "    nets: [ example.com ]\n", "t.yaml:5: error: ", "invalid CIDR");
	expect_error(RULE_HEAD "    nets: 198.18.0.0/15\n",
		     "t.yaml:5: error: ", "'nets' must be a list");
	expect_error(RULE_HEAD "    nets: [ { a: 1 } ]\n",
		     "t.yaml:5: error: ", "a CIDR must be a string", "mapping");
}

static void test_matches_nothing(void **state)
{
	(void)state;
	expect_error(RULE_HEAD, "t.yaml:3: error: ", "rule 'r1' matches nothing", "nets: []");
	/* A bare key is no declaration: only an explicit empty list is. */
	expect_error(RULE_HEAD "    hosts:\n    nets:\n", "t.yaml:3: error: ", "matches nothing");
	expect_error(RULE_HEAD "    nets: []\n    may_be_empty: false\n",
		     "t.yaml:3: error: ", "matches nothing");
	expect_error(RULE_HEAD "    nets: []\n    may_be_empty: yes\n",
		     "t.yaml:6: error: ", "'may_be_empty' must be true or false");
}

/* A rule filled at run time (`tapis host|net add`) says so. */
static void test_empty_rule(void **state)
{
	struct parsed r;

	(void)state;
	parse(&r, RULE_HEAD "    nets: []\n");
	if (r.rc)
		fail_msg("%s", r.diag);
	assert_int_equal(r.p.rules[0].n_nets, 0);
	assert_true(r.p.rules[0].may_be_empty);
	done(&r);
	parse(&r, RULE_HEAD "    hosts: []\n    direction: both\n");
	assert_int_equal(r.rc, 0);
	assert_true(r.p.rules[0].may_be_empty);
	assert_int_equal(r.p.rules[0].dirs, TAPIS_DIRS_BOTH);
	done(&r);
	parse(&r, RULE_HEAD "    may_be_empty: true\n");
	assert_int_equal(r.rc, 0);
	assert_true(r.p.rules[0].may_be_empty);
	done(&r);
	/* Entries and the declaration together: the entries are loaded. */
	parse(&r, RULE_HEAD "    hosts: []\n    nets: [198.18.0.0/24]\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.rules[0].n_nets, 1);
	done(&r);
	parse(&r, RULE_HEAD "    hosts: [a.example]\n");
	assert_int_equal(r.rc, 0);
	assert_false(r.p.rules[0].may_be_empty);
	done(&r);
}

/* A list that yields nothing blocks less than the operator thinks: an
 * error naming the policy line, unless the rule may be empty. */
static void test_empty_list(void **state)
{
	char prefix[1100];
	struct parsed r;

	(void)state;
	expect_error(RULE_HEAD "    host_lists: [ empty.txt ]\n", "t.yaml:5: error: ", "rule 'r1'",
		     "host list", "empty.txt", "yields no entries", "may_be_empty");
	/* Comments, blank lines and a hosts-file localhost: no entry either. */
	expect_error(RULE_HEAD "    hosts: [a.example]\n    host_lists:\n"
			       "      - lists/hosts-none.txt\n",
		     "t.yaml:7: error: ", "hosts-none.txt", "yields no entries");
	/* on_error: skip, every line refused: the same, saying so. */
	parse(&r, RULE_HEAD "    nets: [198.18.0.0/24]\n    net_lists:\n"
			    "      - { path: nets-allbad.txt, on_error: skip }\n");
	assert_int_equal(r.rc, -EINVAL);
	check_line(r.diag, "t.yaml:7: error: ", "net list", "nets-allbad.txt", "yields no entries",
		   "2 lines refused", "on_error: skip", NULL);
	snprintf(prefix, sizeof(prefix), "%s:1: warning: ", data_path("nets-allbad.txt"));
	check_line(r.diag, prefix, "skipped", NULL);
	done(&r);

	/* Said: accepted, whichever order the keys come in. */
	parse(&r, RULE_HEAD "    may_be_empty: true\n    host_lists: [ empty.txt ]\n");
	if (r.rc)
		fail_msg("%s", r.diag);
	assert_int_equal(r.p.rules[0].n_hosts, 0);
	done(&r);
	parse(&r, RULE_HEAD "    host_lists: [ empty.txt ]\n    hosts: []\n");
	assert_int_equal(r.rc, 0);
	done(&r);
	parse(&r, RULE_HEAD "    net_lists:\n      - { path: nets-allbad.txt, on_error: skip }\n"
			    "    may_be_empty: true\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.warnings, 3);
	done(&r);
	/* A list with errors is refused for them, not also for being empty. */
	parse(&r, RULE_HEAD "    net_lists: [ nets-allbad.txt ]\n");
	assert_int_equal(r.rc, -EINVAL);
	assert_int_equal(count_lines(r.diag, "yields no entries"), 0);
	done(&r);
}

#define REDIRECT_HEAD                                                                              \
	"version: 1\nrules:\n  - name: r\n    action: redirect\n    nets: [198.18.0.0/15]\n"

static void test_redirect(void **state)
{
	(void)state;
	expect_error(REDIRECT_HEAD, "t.yaml:3: error: ", "rule 'r'", "action redirect",
		     "no 'redirect'");
	expect_error(RULE_HEAD "    nets: [198.18.0.0/15]\n"
			       "    redirect: { iface: eth1, mac: \"02:00:00:00:00:01\" }\n",
		     "t.yaml:6: error: ", "'redirect' is only allowed with action redirect");
	expect_error(REDIRECT_HEAD "    redirect: { iface: eth1, mac: 02:00:00:00:01 }\n",
		     "t.yaml:6: error: ", "invalid MAC address '02:00:00:00:01'");
	expect_error(REDIRECT_HEAD "    redirect: { iface: eth1, mac: \"0g:00:00:00:00:01\" }\n",
		     "t.yaml:6: error: ", "invalid MAC address");
	expect_error(REDIRECT_HEAD "    redirect:\n      iface: eth1\n",
		     "t.yaml:7: error: ", "'redirect' needs 'mac'");
	expect_error(REDIRECT_HEAD "    redirect:\n      mac: \"02:00:00:00:00:01\"\n",
		     "t.yaml:7: error: ", "'redirect' needs 'iface'");
	expect_error(REDIRECT_HEAD "    redirect:\n      iface: averyveryverylongname\n"
				   "      mac: \"02:00:00:00:00:01\"\n",
		     "t.yaml:7: error: ", "invalid interface name");
	expect_error(REDIRECT_HEAD "    redirect:\n      iface: eth1\n"
				   "      mac: \"02:00:00:00:00:01\"\n      vlan: 7\n",
		     "t.yaml:9: error: ", "unknown key 'vlan'", "'redirect'");
	expect_error(REDIRECT_HEAD "    redirect: eth1\n",
		     "t.yaml:6: error: ", "'redirect' must be a mapping");
}

static void test_sinkhole_needs_address(void **state)
{
	(void)state;
	expect_error("version: 1\nrules:\n  - name: s\n    action: sinkhole\n"
		     "    hosts: [a.example]\n",
		     "t.yaml:3: error: ", "rule 's'", "sinkhole", "settings.sinkhole");
}

/* ---- list files ---- */

static void test_list_missing(void **state)
{
	(void)state;
	expect_error(RULE_HEAD "    host_lists:\n      - nope/missing.txt\n",
		     "t.yaml:6: error: ", "cannot open host list", "missing.txt", "No such file");
	expect_error(RULE_HEAD "    net_lists: [ missing-nets.txt ]\n",
		     "t.yaml:5: error: ", "cannot open net list", "missing-nets.txt");
	expect_error(RULE_HEAD "    host_lists:\n      - on_error: skip\n        path: nope.txt\n",
		     "t.yaml:7: error: ", "cannot open host list");
	expect_error(RULE_HEAD "    net_lists: [ lists ]\n",
		     "t.yaml:5: error: ", "net list 'tests/unit/data/lists' is not a regular file");
}

/* Inputs that are not lists at all, and entries that hide a '#': refused
 * with FILE:LINE, never read for ever or half taken. */
static void test_bounded_inputs(void **state)
{
	char dir[] = "/tmp/tapis-policy-XXXXXX", path[128], yaml[512], *big;
	struct parsed r;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* A FIFO without a writer: a blocking open would never return. */
	snprintf(path, sizeof(path), "%s/fifo.txt", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(yaml, sizeof(yaml), RULE_HEAD "    net_lists: [ %s ]\n", path);
	expect_error(yaml, "t.yaml:5: error: ", "fifo.txt' is not a regular file");
	unlink(path);
	/* A device that never ends. */
	expect_error(RULE_HEAD "    net_lists: [ /dev/zero ]\n",
		     "t.yaml:5: error: ", "'/dev/zero' is not a regular file");
	/* A line over the limit: refused at its line, the next line still read. */
	snprintf(path, sizeof(path), "%s/long.txt", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	big = malloc(10000);
	assert_non_null(big);
	memset(big, 'a', 9999);
	big[9999] = '\0';
	fprintf(f, "198.18.1.0/24\n%s.example\n198.18.2.0/24\n", big);
	fclose(f);
	free(big);
	snprintf(yaml, sizeof(yaml), RULE_HEAD "    host_lists: [ %s ]\n", path);
	parse(&r, yaml);
	assert_int_not_equal(r.rc, 0);
	if (!strstr(r.diag, "long.txt:2: error: line longer than 4096 bytes"))
		fail_msg("no long-line error in: %s", r.diag);
	done(&r);
	unlink(path);
	/* '#' inside an entry is part of it (and refuses it); after blank
	 * space, or at the start of a line, a comment. */
	snprintf(path, sizeof(path), "%s/hash.txt", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# a comment\n198.18.7.0/24 # a comment\n198.18.7.0/2#4\n", f);
	fclose(f);
	snprintf(yaml, sizeof(yaml), RULE_HEAD "    net_lists: [ %s ]\n", path);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ":3: error: ");
	expect_error(yaml, path, "198.18.7.0/2#4");
	snprintf(path, sizeof(path), "%s/hash.txt", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/hosts.txt", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("blocked.ex#ample\n", f);
	fclose(f);
	snprintf(yaml, sizeof(yaml), RULE_HEAD "    host_lists: [ %s ]\n", path);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ":1: error: ");
	expect_error(yaml, path, "blocked.ex#ample");
	snprintf(path, sizeof(path), "%s/hosts.txt", dir);
	unlink(path);
	/* Bytes that would drive a terminal, or are no UTF-8, come out
	 * escaped in the message. */
	snprintf(path, sizeof(path), "%s/esc.txt", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("bad\x1b[31mname\xff.example\n", f);
	fclose(f);
	snprintf(yaml, sizeof(yaml), RULE_HEAD "    host_lists: [ %s ]\n", path);
	parse(&r, yaml);
	assert_int_not_equal(r.rc, 0);
	if (!strstr(r.diag, "\\x1b[31mname\\xff.example") || strchr(r.diag, 0x1b) ||
	    strchr(r.diag, (char)0xff))
		fail_msg("not escaped: %s", r.diag);
	done(&r);
	unlink(path);
	rmdir(dir);
}

/* YAML nested deeper than any policy: refused at once, with its line. */
static void test_depth(void **state)
{
	char *y = malloc(200000);
	size_t o = 0;
	struct parsed r;

	(void)state;
	assert_non_null(y);
	o += snprintf(y + o, 200000 - o, "version: 1\nrules: ");
	for (int i = 0; i < 50000; i++)
		y[o++] = '[';
	y[o] = '\0';
	parse(&r, y);
	assert_int_not_equal(r.rc, 0);
	if (!strstr(r.diag, "t.yaml:2: error: nested more than 32 levels deep"))
		fail_msg("no depth error in: %s", r.diag);
	done(&r);
	free(y);
}

/* YAML aliases are sharing, not a way to multiply entries: a list of
 * 1,000 names named by 1,001 rules (about 1,000,000 nodes through aliases)
 * is refused at the alias that crosses the bound, before any entry is
 * made; a list shared by three rules is three rules holding it. */
static void test_alias_expansion(void **state)
{
	size_t cap = 1 << 20, o = 0;
	char *y = malloc(cap);
	struct parsed r;
	int i;

	(void)state;
	assert_non_null(y);
	o += snprintf(y + o, cap - o,
		      "version: 1\nrules:\n  - {name: a, action: drop, hosts: &h [");
	for (i = 0; i < 1000; i++)
		o += snprintf(y + o, cap - o, "%sh%d.example", i ? ", " : "", i);
	o += snprintf(y + o, cap - o, "]}\n");
	for (i = 0; i < 1001; i++)
		o += snprintf(y + o, cap - o, "  - {name: r%d, action: drop, hosts: *h}\n", i);
	parse(&r, y);
	assert_int_equal(r.rc, -EINVAL);
	assert_true(policy_is_empty(&r.p));
	/* Line 3 holds the list (1,001 nodes with its sequence); rule r999
	 * (line 1003) is the 1,000th alias, whose 1,001,000 nodes cross
	 * 1,000,000. */
	if (!strstr(r.diag, "t.yaml:1003: error: YAML aliases stand for more than 1000000 nodes"))
		fail_msg("no alias error in: %.300s", r.diag);
	done(&r);

	parse(&r, "version: 1\n"
		  "rules:\n"
		  "  - {name: a, action: drop, hosts: &h [a.example, b.example]}\n"
		  "  - {name: b, action: monitor, hosts: *h}\n"
		  "  - {name: c, action: allow, hosts: *h}\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.n_rules, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(r.p.rules[i].n_hosts, 2);
	assert_string_equal(r.p.rules[2].hosts[1].name, "b.example");
	done(&r);

	o = snprintf(y, cap, "version: 1\nrules:\n");
	for (i = 0; i < 1025; i++)
		o += snprintf(y + o, cap - o, "  - {name: &n%d r%d, action: drop, nets: []}\n", i,
			      i);
	parse(&r, y);
	assert_int_equal(r.rc, -EINVAL);
	if (!strstr(r.diag, "t.yaml:1027: error: more than 1024 YAML anchors"))
		fail_msg("no anchor error in: %.300s", r.diag);
	done(&r);
	free(y);
}

static void test_list_entry_errors(void **state)
{
	(void)state;
	expect_error(RULE_HEAD "    host_lists: lists/order-0714.txt\n",
		     "t.yaml:5: error: ", "'host_lists' must be a list");
	expect_error(RULE_HEAD "    host_lists:\n      - { on_error: skip }\n",
		     "t.yaml:6: error: ", "no 'path'");
	expect_error(RULE_HEAD "    host_lists:\n      - { path: empty.txt, on_error: ignore }\n",
		     "t.yaml:6: error: ", "'on_error' must be fail or skip");
	expect_error(RULE_HEAD "    host_lists:\n      - { path: empty.txt, retry: 3 }\n",
		     "t.yaml:6: error: ", "unknown key 'retry'");
	expect_error(RULE_HEAD "    host_lists:\n      - [ empty.txt ]\n",
		     "t.yaml:6: error: ", "must be a path or a mapping");
}

static void test_host_list_fail(void **state)
{
	char prefix[1100];
	const char *f = data_path("hosts-bad.txt");
	struct parsed r;

	(void)state;
	parse(&r, RULE_HEAD "    host_lists: [ hosts-bad.txt ]\n");
	assert_int_equal(r.rc, -EINVAL);
	assert_true(policy_is_empty(&r.p));
	snprintf(prefix, sizeof(prefix), "%s:2: error: ", f);
	check_line(r.diag, prefix, "invalid host 'bad..example'", "empty label", NULL);
	snprintf(prefix, sizeof(prefix), "%s:3: error: ", f);
	check_line(r.diag, prefix, "address '0.0.0.0' without host names", NULL);
	snprintf(prefix, sizeof(prefix), "%s:4: error: ", f);
	check_line(r.diag, prefix, "unexpected 'names.example'", NULL);
	assert_int_equal(count_lines(r.diag, "error:"), 3);
	done(&r);
}

static void test_host_list_skip(void **state)
{
	char prefix[1100];
	const char *f = data_path("hosts-bad.txt");
	struct parsed r;

	(void)state;
	parse(&r, RULE_HEAD "    host_lists:\n"
			    "      - path: hosts-bad.txt\n        on_error: skip\n");
	if (r.rc)
		fail_msg("%s", r.diag);
	snprintf(prefix, sizeof(prefix), "%s:2: warning: ", f);
	check_line(r.diag, prefix, "skipped: ", "invalid host 'bad..example'", NULL);
	snprintf(prefix, sizeof(prefix), "%s:3: warning: ", f);
	check_line(r.diag, prefix, "skipped: ", "without host names", NULL);
	snprintf(prefix, sizeof(prefix), "%s: warning: ", f);
	check_line(r.diag, prefix, "skipped 3 invalid lines", NULL);
	assert_int_equal(r.p.warnings, 4);
	assert_int_equal(r.p.rules[0].n_hosts, 2);
	check_host(&r.p.rules[0].hosts[0], HOST_SUBTREE, "good.example", f, 1);
	check_host(&r.p.rules[0].hosts[1], HOST_SUBTREE, "under_score.example", f, 5);
	done(&r);
}

static void test_net_list(void **state)
{
	char prefix[1100];
	const char *f = data_path("nets-bad.txt");
	struct parsed r;

	(void)state;
	parse(&r, RULE_HEAD "    net_lists: [ nets-bad.txt ]\n");
	assert_int_equal(r.rc, -EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:2: warning: ", f);
	check_line(r.diag, prefix, "198.18.1.1/24 has host bits set; using 198.18.1.0/24", NULL);
	snprintf(prefix, sizeof(prefix), "%s:3: error: ", f);
	check_line(r.diag, prefix, "invalid CIDR '1.2.3.4/33'", NULL);
	snprintf(prefix, sizeof(prefix), "%s:4: error: ", f);
	check_line(r.diag, prefix, "unexpected 'extra'", NULL);
	done(&r);

	parse(&r, RULE_HEAD "    net_lists: [ { path: nets-bad.txt, on_error: skip } ]\n");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.rules[0].n_nets, 2);
	assert_string_equal(net_str(&r.p.rules[0].nets[1]), "198.18.1.0/24");
	assert_string_equal(r.p.rules[0].nets[1].loc.file, f);
	assert_int_equal(r.p.rules[0].nets[1].loc.line, 2);
	snprintf(prefix, sizeof(prefix), "%s: warning: ", f);
	check_line(r.diag, prefix, "skipped 2 invalid lines", NULL);
	done(&r);
}

/* Millions of lines must not be quadratic; 300k keeps the test quick. */
static void test_big_lists(void **state)
{
	char dir[] = "/tmp/tapis-test-XXXXXX", path[64], yaml[256];
	const int n = 300000;
	struct parsed r;
	FILE *f;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/hosts.txt", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; i < n; i++)
		fprintf(f, i % 3 ? "host-%d.example.com\n" : "0.0.0.0 host-%d.example.net\n", i);
	fclose(f);
	snprintf(path, sizeof(path), "%s/nets.txt", dir);
	f = fopen(path, "w");
	for (i = 0; i < n; i++)
		fprintf(f, "10.%d.%d.0/24 # %d\n", i >> 16, (i >> 8) & 255, i);
	fclose(f);

	snprintf(yaml, sizeof(yaml),
		 RULE_HEAD "    host_lists: [ %s/hosts.txt ]\n"
			   "    net_lists: [ %s/nets.txt ]\n",
		 dir, dir);
	parse(&r, yaml);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.rules[0].n_hosts, n);
	assert_int_equal(r.p.rules[0].n_nets, n);
	assert_string_equal(r.p.rules[0].hosts[n - 1].name, "host-299999.example.com");
	assert_int_equal(r.p.rules[0].hosts[n - 1].loc.line, n);
	done(&r);

	snprintf(path, sizeof(path), "%s/hosts.txt", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/nets.txt", dir);
	unlink(path);
	rmdir(dir);
}

/* A feed full of junk, skipped: warnings are counted, not all printed. */
static void test_skip_warning_cap(void **state)
{
	char dir[] = "/tmp/tapis-test-XXXXXX", path[64], yaml[256];
	struct parsed r;
	FILE *f;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/junk.txt", dir);
	f = fopen(path, "w");
	for (i = 0; i < 5000; i++)
		fprintf(f, "bad name %d\n", i);
	fprintf(f, "good.example\n");
	fclose(f);
	snprintf(yaml, sizeof(yaml), RULE_HEAD "    host_lists: [ { path: %s, on_error: skip } ]\n",
		 path);
	parse(&r, yaml);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.p.rules[0].n_hosts, 1);
	assert_int_equal(r.p.warnings, 5001);
	assert_true(count_lines(r.diag, "warning: skipped: ") <= 100);
	check_line(r.diag, path, "skipped 5000 invalid lines", NULL);
	check_line(r.diag, "t.yaml: warning: ", "more warnings not shown", NULL);
	done(&r);
	unlink(path);
	rmdir(dir);
}

static void test_parse_file_errors(void **state)
{
	struct policy p;
	char *diag = NULL;
	size_t len;
	FILE *f;

	(void)state;
	f = open_memstream(&diag, &len);
	policy_set_diag(f);
	assert_int_equal(policy_parse_file("/nonexistent/policy.yaml", &p), -ENOENT);
	policy_set_diag(NULL);
	fclose(f);
	assert_true(policy_is_empty(&p));
	check_line(diag, "/nonexistent/policy.yaml: error: ", "cannot read", NULL);
	free(diag);
}

/* ---- shared parsers ---- */

static void expect_cidr(const char *s, const char *want, bool want_host_bits)
{
	struct net_entry e;
	bool hb = !want_host_bits;

	memset(&e, 0xaa, sizeof(e));
	if (parse_cidr(s, &e, &hb))
		fail_msg("'%s' rejected", s);
	assert_string_equal(net_str(&e), want);
	assert_int_equal(hb, want_host_bits);
}

static void test_parse_cidr(void **state)
{
	static const char *const bad[] = {
		"",
		"/",
		"/24",
		"1.2.3",
		"1.2.3.4/33",
		"1.2.3.4/",
		" 1.2.3.4",
		"1.2.3.4 ",
		"1.2.3.4/ 24",
		"1.2.3.4/24 ",
		"1.2.3.4/-1",
		"1.2.3.4/+8",
		"1.2.3.4/024",
		"1.2.3.4/8/8",
		"256.1.1.1",
		"1.2.3.4.5",
		"::1/129",
		"2001:db8::/",
		"2001:db8:::/32",
		"fe80::1%eth0",
		"example.com",
		"1.2.3.4/1000",
		"0x1.2.3.4",
		"01.2.3.4",
		"1.2.3.4/2a",
	};
	struct net_entry e;
	size_t i;

	(void)state;
	expect_cidr("198.18.0.0/15", "198.18.0.0/15", false);
	expect_cidr("198.18.1.1", "198.18.1.1/32", false);
	expect_cidr("198.18.1.1/24", "198.18.1.0/24", true);
	expect_cidr("198.19.255.255/15", "198.18.0.0/15", true);
	expect_cidr("0.0.0.0/0", "0.0.0.0/0", false);
	expect_cidr("255.255.255.255/0", "0.0.0.0/0", true);
	expect_cidr("2001:db8::/32", "2001:db8::/32", false);
	expect_cidr("2001:DB8::1", "2001:db8::1/128", false);
	expect_cidr("2001:db8::1/64", "2001:db8::/64", true);
	expect_cidr("2001:db8:ffff:ffff::/33", "2001:db8:8000::/33", true);
	expect_cidr("::/0", "::/0", false);
	expect_cidr("::ffff:198.18.0.1", "::ffff:198.18.0.1/128", false);

	assert_int_equal(parse_cidr("198.18.0.1/31", &e, NULL), 0); /* host_bits optional */
	assert_int_equal(e.family, 4);
	assert_int_equal(e.plen, 31);
	assert_memory_equal(e.addr, ((uint8_t[16]){198, 18, 0, 0}), 16);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_cidr(bad[i], &e, NULL) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

static void test_actions(void **state)
{
	static const char *const names[] = {"allow",  "monitor",  "drop",
					    "reject", "sinkhole", "redirect"};
	enum tapis_action a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(parse_action(names[i], &a), 0);
		assert_string_equal(action_name(a), names[i]);
	}
	assert_int_equal(parse_action("drop", &a), 0);
	assert_int_equal(a, TAPIS_ACT_DROP);
	assert_int_equal(parse_action("redirect", &a), 0);
	assert_int_equal(a, TAPIS_ACT_REDIRECT);
	assert_int_equal(parse_action("none", &a), -EINVAL);
	assert_int_equal(parse_action("Drop", &a), -EINVAL);
	assert_int_equal(parse_action("", &a), -EINVAL);
	assert_int_equal(parse_action("drop ", &a), -EINVAL);
	assert_string_equal(action_name(TAPIS_ACT_NONE), "none");
	assert_string_equal(action_name(TAPIS_ACT_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_top_level),
		cmocka_unit_test(test_yaml_syntax),
		cmocka_unit_test(test_reports_all_errors),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_settings_errors),
		cmocka_unit_test(test_settings_flows),
		cmocka_unit_test(test_settings_capacity),
		cmocka_unit_test(test_settings_events),
		cmocka_unit_test(test_rule_keys),
		cmocka_unit_test(test_rule_name_ok),
		cmocka_unit_test(test_duplicate_rule),
		cmocka_unit_test(test_many_rules),
		cmocka_unit_test(test_action),
		cmocka_unit_test(test_direction),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_expires),
		cmocka_unit_test(test_expired_warns),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_hosts_errors),
		cmocka_unit_test(test_host_pattern),
		cmocka_unit_test(test_nets),
		cmocka_unit_test(test_matches_nothing),
		cmocka_unit_test(test_empty_rule),
		cmocka_unit_test(test_empty_list),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_sinkhole_needs_address),
		cmocka_unit_test(test_list_missing),
		cmocka_unit_test(test_bounded_inputs),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_list_entry_errors),
		cmocka_unit_test(test_host_list_fail),
		cmocka_unit_test(test_host_list_skip),
		cmocka_unit_test(test_net_list),
		cmocka_unit_test(test_big_lists),
		cmocka_unit_test(test_skip_warning_cap),
		cmocka_unit_test(test_parse_file_errors),
		cmocka_unit_test(test_alias_expansion),
		cmocka_unit_test(test_parse_cidr),
		cmocka_unit_test(test_actions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
