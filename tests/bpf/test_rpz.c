// SPDX-License-Identifier: GPL-2.0
/* RPZ precedence in the data path, through BPF_PROG_TEST_RUN.
 *
 * A policy whose rule `feed` names an RPZ zone becomes feed/reject,
 * feed/drop, feed/allow and feed/sinkhole; the zone has a passthru below a
 * wildcard drop and below a CNAME . of its parent, and a passthru below a
 * name another rule of the policy blocks as a subtree. Each query is run
 * through the real XDP program: the verdict, the rule counted, and for
 * answers their RCODE and address are checked, so RPZ's "passthru wins over
 * a block of its parent" is shown to hold through the host table's
 * most-specific-first walk (and for TLS SNI as well as DNS). */
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "pkt.h"
#include "test.h"

static const char ZONE[] =
	"$TTL 300\n"
	"$ORIGIN feed.rpz.example.\n"
	"@ SOA ns.feed.rpz.example. admin.feed.rpz.example. 1 3600 600 86400 300\n"
	"  NS ns.feed.rpz.example.\n"
	"blocked.example CNAME .\n"
	"*.blocked.example CNAME rpz-drop.\n"
	"ok.blocked.example CNAME rpz-passthru.\n"
	"*.wide.blocked.example CNAME rpz-passthru.\n"
	"nodata.example CNAME *.\n"
	"ok.parent.example CNAME rpz-passthru.\n"
	"sink.example A 198.18.0.10\n"
	"sink.example AAAA 2001:db8::10\n";

static const char *const RULES[] = {"parent", "feed/reject", "feed/drop", "feed/allow",
				    "feed/sinkhole"};
#define N_RULES (sizeof(RULES) / sizeof(RULES[0]))

static struct fixture fx;

static void counters(uint64_t *c)
{
	for (size_t i = 0; i < N_RULES; i++)
		c[i] = fx_rule_packets(&fx, RULES[i]);
}

/* Exactly rule `want` (or none) grew by one. */
static bool only_rule_grew(const uint64_t *before, const char *want, const char *what)
{
	uint64_t after[N_RULES];

	counters(after);
	for (size_t i = 0; i < N_RULES; i++) {
		uint64_t exp = before[i] + (want && !strcmp(want, RULES[i]));

		ASSERT_EQ(after[i], exp, "%s: counter of %s", what, RULES[i]);
	}
	return true;
}

struct rpz_case {
	const char *name;
	int verdict;
	const char *rule;
	uint8_t rcode; /* of an XDP_TX answer */
};

static const struct rpz_case cases[] = {
	/* CNAME . on the name itself: NXDOMAIN */
	{"blocked.example", XDP_TX, "feed/reject", DNS_RCODE_NXDOMAIN},
	/* rpz-drop below it */
	{"www.blocked.example", XDP_DROP, "feed/drop", 0},
	{"a.b.blocked.example", XDP_DROP, "feed/drop", 0},
	/* passthru below both: it wins, for that name only */
	{"ok.blocked.example", XDP_PASS, "feed/allow", 0},
	{"x.ok.blocked.example", XDP_DROP, "feed/drop", 0},
	/* a wildcard passthru below a wildcard drop: the longer one wins */
	{"wide.blocked.example", XDP_DROP, "feed/drop", 0},
	{"a.wide.blocked.example", XDP_PASS, "feed/allow", 0},
	/* CNAME *. (NODATA): NXDOMAIN; exact, so not below it */
	{"nodata.example", XDP_TX, "feed/reject", DNS_RCODE_NXDOMAIN},
	{"x.nodata.example", XDP_PASS, NULL, 0},
	/* passthru below another rule's subtree block */
	{"parent.example", XDP_DROP, "parent", 0},
	{"www.parent.example", XDP_DROP, "parent", 0},
	{"ok.parent.example", XDP_PASS, "feed/allow", 0},
	{"x.ok.parent.example", XDP_DROP, "parent", 0},
	/* local data: the sinkhole address */
	{"sink.example", XDP_TX, "feed/sinkhole", DNS_RCODE_NOERROR},
	{"x.sink.example", XDP_PASS, NULL, 0},
};

static bool run_query(const struct rpz_case *c, int v6)
{
	uint8_t out[2048];
	uint64_t before[N_RULES];
	struct pkt_view v;
	struct dns_msg m;
	size_t out_len = sizeof(out);
	char what[160];
	struct pkt p;
	int ret;

	snprintf(what, sizeof(what), "%s over %s", c->name, v6 ? "IPv6" : "IPv4");
	counters(before);
	pkt_init(&p);
	pkt_l2_encap(&p, PKT_ENC_NONE);
	if (v6)
		pkt_ipv6(&p, "2001:db8:1::2", "2001:db8:2::2", PKT_AUTO);
	else
		pkt_ipv4(&p, "198.18.1.2", "198.18.2.2", PKT_AUTO, NULL);
	pkt_udp(&p, 40000, 53);
	dns_query(&p, c->name, v6 ? DNS_TYPE_AAAA : DNS_TYPE_A, 0x4242, DNS_RD, false);
	ASSERT_OK(pkt_finish(&p) ?: p.err, "build %s", what);
	ret = fx_run(&fx, p.buf, p.len, out, &out_len);
	ASSERT_EQ(ret, c->verdict, "%s: verdict %s", what, xdp_action_name(ret));
	if (ret == XDP_TX) {
		ASSERT_OK(pkt_parse(out, out_len, &v), "%s: parse the answer", what);
		ASSERT_OK(dns_parse_view(&v, &m), "%s: parse the DNS answer", what);
		ASSERT_EQ(m.rcode, c->rcode, "%s: RCODE", what);
		if (c->rcode == DNS_RCODE_NOERROR) {
			ASSERT_EQ(m.ancount, 1, "%s: one answer", what);
			ASSERT_STREQ(m.an[0].addr, v6 ? "2001:db8::10" : "198.18.0.10",
				     "%s: settings.sinkhole's address", what);
		}
	}
	return only_rule_grew(before, c->rule, what);
}

static bool test_dns_precedence(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (int v6 = 0; v6 < 2; v6++)
			ASSERT_TRUE(run_query(&cases[i], v6));
	return true;
}

/* The rules a zone became act on every name source: a ClientHello's SNI
 * meets the same precedence. */
static bool run_hello(const char *sni, int verdict, const char *rule)
{
	uint64_t before[N_RULES];
	struct pkt p;
	int ret;

	ASSERT_OK(fx_flows_clear(&fx));
	counters(before);
	pkt_init(&p);
	pkt_l2_encap(&p, PKT_ENC_NONE);
	pkt_ipv4(&p, "198.18.1.2", "198.18.2.10", PKT_AUTO, NULL);
	pkt_tcp(&p, 40001, 443, PKT_TCP_PSH | PKT_TCP_ACK, 1000, 2000);
	tls_client_hello(&p, sni);
	ASSERT_OK(pkt_finish(&p) ?: p.err, "build a hello for %s", sni);
	ret = fx_run(&fx, p.buf, p.len, NULL, NULL);
	ASSERT_EQ(ret, verdict, "hello for %s: verdict %s", sni, xdp_action_name(ret));
	return only_rule_grew(before, rule, sni);
}

static bool test_tls_precedence(void)
{
	ASSERT_TRUE(run_hello("www.blocked.example", XDP_DROP, "feed/drop"));
	ASSERT_TRUE(run_hello("ok.blocked.example", XDP_PASS, "feed/allow"));
	ASSERT_TRUE(run_hello("ok.parent.example", XDP_PASS, "feed/allow"));
	ASSERT_TRUE(run_hello("www.parent.example", XDP_DROP, "parent"));
	return true;
}

static const struct test_case tests[] = {
	TEST(test_dns_precedence),
	TEST(test_tls_precedence),
};

int main(int argc, char **argv)
{
	char dir[] = "/tmp/tapis-rpzpkt.XXXXXX", zone[64], yaml[1024];
	FILE *f;
	int rc;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	snprintf(zone, sizeof(zone), "%s/feed.rpz", dir);
	f = fopen(zone, "w");
	if (!f || fputs(ZONE, f) < 0 || fclose(f)) {
		perror(zone);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "settings:\n"
		 "  sinkhole: { ipv4: 198.18.0.10, ipv6: \"2001:db8::10\" }\n"
		 "rules:\n"
		 "  - name: parent\n"
		 "    action: drop\n"
		 "    hosts: [parent.example]\n"
		 "  - name: feed\n"
		 "    rpz: [%s]\n",
		 zone);
	rc = fx_main(&fx, yaml, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	unlink(zone);
	rmdir(dir);
	return rc;
}
