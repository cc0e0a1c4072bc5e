// SPDX-License-Identifier: GPL-2.0
/* Hostname rules on DNS queries through BPF_PROG_TEST_RUN.
 *
 * Matching: every pattern kind, the most specific pattern winning (allow
 * =api.example.org inside a blocked example.org), letter case, trailing
 * dots, expired rules, the dns ports setting, UDP and TCP, IPv4 and IPv6,
 * every encapsulation the data path parses. Answers: reject (NXDOMAIN),
 * sinkhole (A / AAAA / NODATA) and TCP resets are parsed back and checked
 * field by field, checksums included. Malformed queries pass, each counted
 * by its reason. */
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "pkt.h"
#include "test.h"

static const char *const POLICY =
	"version: 1\n"
	"settings:\n"
	"  sinkhole: { ipv4: 198.18.0.10, ipv6: \"2001:db8::10\", ttl: 123 }\n"
	"rules:\n"
	"  - name: allow-api\n"
	"    action: allow\n"
	"    hosts: [\"=api.example.org\"]\n"
	"  - name: block-example\n"
	"    action: drop\n"
	"    hosts: [example.org]\n"
	"  - name: wild\n"
	"    action: drop\n"
	"    hosts: [\"*.wild.example\"]\n"
	"  - name: exact\n"
	"    action: drop\n"
	"    hosts: [\"=exact.example\"]\n"
	"  - name: rej\n"
	"    action: reject\n"
	"    hosts: [reject.example]\n"
	"  - name: sink\n"
	"    action: sinkhole\n"
	"    hosts: [sink.example, \"Trailing.Dot.Example.\"]\n"
	"  - name: watch\n"
	"    action: monitor\n"
	"    hosts: [watch.example]\n"
	"  - name: old\n"
	"    action: drop\n"
	"    expires: 2020-01-01T00:00:00Z\n"
	"    hosts: [old.example]\n"
	"  - name: outer-block\n"
	"    action: drop\n"
	"    hosts: [outer.example]\n"
	"  - name: old-allow\n"
	"    action: allow\n"
	"    expires: 2020-01-01T00:00:00Z\n"
	"    hosts: [\"=in.outer.example\"]\n"
	"  - name: deep\n"
	"    action: drop\n"
	"    hosts: [\"a.b.c.d.e.f.g.h.deep.example\"]\n"
	"  - name: net-reject\n"
	"    action: reject\n"
	"    nets: [198.18.9.9/32]\n";

static const char *const RULES[] = {"allow-api",   "block-example", "wild",  "exact",
				    "rej",	   "sink",	    "watch", "old",
				    "outer-block", "old-allow",	    "deep",  "net-reject"};
#define N_RULES (sizeof(RULES) / sizeof(RULES[0]))

static struct fixture fx;

/* ---- building queries ---- */

struct q {
	enum pkt_encap encap;
	int v6;
	int tcp;
	const char *name;
	uint16_t qtype;
	uint16_t id;
	uint16_t flags;
	bool edns;
	uint16_t dport;	 /* 0: 53 */
	const char *dst; /* NULL: the default resolver */
};

#define SRC4	"198.18.1.2"
#define DST4	"198.18.2.2"
#define SRC6	"2001:db8:1::2"
#define DST6	"2001:db8:2::2"
#define SPORT	40000
#define TCP_SEQ 1000000u
#define TCP_ACK 2000000u

static int build(struct pkt *p, const struct q *q)
{
	const char *dst = q->dst ? q->dst : q->v6 ? DST6 : DST4;
	uint16_t dport = q->dport ? q->dport : 53;

	pkt_init(p);
	pkt_l2_encap(p, q->encap);
	if (q->v6)
		pkt_ipv6(p, SRC6, dst, PKT_AUTO);
	else
		pkt_ipv4(p, SRC4, dst, PKT_AUTO, NULL);
	if (q->tcp) {
		pkt_tcp(p, SPORT, dport, PKT_TCP_PSH | PKT_TCP_ACK, TCP_SEQ, TCP_ACK);
		dns_query_tcp(p, q->name, q->qtype ? q->qtype : DNS_TYPE_A, q->id, q->flags,
			      q->edns);
	} else {
		pkt_udp(p, SPORT, dport);
		dns_query(p, q->name, q->qtype ? q->qtype : DNS_TYPE_A, q->id, q->flags, q->edns);
	}
	return pkt_finish(p) ?: p->err;
}

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

/* Run q, expect verdict and the counter of rule (NULL: none) to grow. */
static bool expect(const struct q *q, int verdict, const char *rule)
{
	uint64_t before[N_RULES];
	char what[256];
	struct pkt p;
	int ret;

	snprintf(what, sizeof(what), "%s %s %s/%s", q->name, pkt_encap_names[q->encap],
		 q->v6 ? "ipv6" : "ipv4", q->tcp ? "tcp" : "udp");
	counters(before);
	ASSERT_OK(build(&p, q), "build %s", what);
	ret = fx_run(&fx, p.buf, p.len, NULL, NULL);
	ASSERT_EQ(ret, verdict, "%s: verdict %s", what, xdp_action_name(ret));
	return only_rule_grew(before, rule, what);
}

/* ---- matching ---- */
struct match_case {
	const char *name;
	int verdict;
	const char *rule;
};

static const struct match_case match_cases[] = {
	/* subtree: the name and everything under it */
	{"example.org", XDP_DROP, "block-example"},
	{"www.example.org", XDP_DROP, "block-example"},
	{"a.b.c.d.example.org", XDP_DROP, "block-example"},
	/* allow =api.example.org inside it: that name only */
	{"api.example.org", XDP_PASS, "allow-api"},
	{"x.api.example.org", XDP_DROP, "block-example"},
	/* near misses */
	{"notexample.org", XDP_PASS, NULL},
	{"example.org.evil", XDP_PASS, NULL},
	{"org", XDP_PASS, NULL},
	{"example.com", XDP_PASS, NULL},
	{"xample.org", XDP_PASS, NULL},
	/* *.wild.example: below it, not itself */
	{"wild.example", XDP_PASS, NULL},
	{"a.wild.example", XDP_DROP, "wild"},
	{"a.b.wild.example", XDP_DROP, "wild"},
	/* =exact.example: itself only */
	{"exact.example", XDP_DROP, "exact"},
	{"a.exact.example", XDP_PASS, NULL},
	/* monitor counts and passes */
	{"watch.example", XDP_PASS, "watch"},
	{"www.watch.example", XDP_PASS, "watch"},
	/* an expired rule matches nothing */
	{"old.example", XDP_PASS, NULL},
	{"x.old.example", XDP_PASS, NULL},
	/* an expired allow inside a live block: the block applies */
	{"in.outer.example", XDP_DROP, "outer-block"},
	{"outer.example", XDP_DROP, "outer-block"},
	/* letter case, as resolvers randomise it */
	{"WWW.Example.ORG", XDP_DROP, "block-example"},
	{"ApI.eXaMpLe.OrG", XDP_PASS, "allow-api"},
	{"A.WILD.EXAMPLE", XDP_DROP, "wild"},
	{"ExAcT.ExAmPlE", XDP_DROP, "exact"},
	/* a trailing dot in the query (the wire form is the same) */
	{"www.example.org.", XDP_DROP, "block-example"},
	/* a policy pattern written with a trailing dot and capitals */
	{"trailing.dot.example", XDP_DROP, "sink"},
	/* ten labels, and longer names around the pattern */
	{"a.b.c.d.e.f.g.h.deep.example", XDP_DROP, "deep"},
	{"z.a.b.c.d.e.f.g.h.deep.example", XDP_DROP, "deep"},
	{"b.c.d.e.f.g.h.deep.example", XDP_PASS, NULL},
	/* labels of every length around the 8-byte words the walk reads */
	{"abcdefgh.example.org", XDP_DROP, "block-example"},
	{"abcdefghi.example.org", XDP_DROP, "block-example"},
	{"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0.example.org", XDP_DROP,
	 "block-example"},
	{"a.example.orgx", XDP_PASS, NULL},
	/* the root */
	{".", XDP_PASS, NULL},
};

static bool test_pattern_kinds(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++)
		for (int v6 = 0; v6 < 2; v6++)
			for (int tcp = 0; tcp < 2; tcp++) {
				const struct match_case *m = &match_cases[i];
				struct q q = {.name = m->name,
					      .v6 = v6,
					      .tcp = tcp,
					      .id = 0x1000 + i,
					      .flags = DNS_RD};
				int verdict = m->verdict;

				/* sinkhole over TCP resets: XDP_TX */
				if (m->rule && !strcmp(m->rule, "sink"))
					verdict = XDP_TX;
				if (!expect(&q, verdict, m->rule))
					return false;
				n++;
			}
	test_cases(n);
	printf("# %u queries\n", n);
	return true;
}

static bool test_expired_counted(void)
{
	uint64_t s0 = fx_stat(&fx, TAPIS_S_EXPIRED);
	struct q q = {.name = "old.example"};

	ASSERT_TRUE(expect(&q, XDP_PASS, NULL));
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_EXPIRED), s0 + 1, "expired match counted");
	q.name = "in.outer.example";
	ASSERT_TRUE(expect(&q, XDP_DROP, "outer-block"));
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_EXPIRED), s0 + 2, "the skipped expired allow counted");
	return true;
}

static bool test_encapsulations(void)
{
	unsigned n = 0;

	for (int e = 0; e < PKT_ENC_N; e++)
		for (int v6 = 0; v6 < 2; v6++)
			for (int tcp = 0; tcp < 2; tcp++) {
				struct q q = {.encap = e,
					      .v6 = v6,
					      .tcp = tcp,
					      .flags = DNS_RD,
					      .edns = true};

				q.name = "www.example.org";
				if (!expect(&q, XDP_DROP, "block-example"))
					return false;
				q.name = "api.example.org";
				if (!expect(&q, XDP_PASS, "allow-api"))
					return false;
				q.name = "www.example.net";
				if (!expect(&q, XDP_PASS, NULL))
					return false;
				n += 3;
			}
	test_cases(n);
	printf("# %u queries over %d encapsulations\n", n, PKT_ENC_N);
	return true;
}

/* ---- answers ---- */
static bool same_l2(const struct pkt_view *in, const struct pkt_view *out)
{
	ASSERT_MEMEQ(out->eth_dst, in->eth_src, 6, "destination MAC = query's source");
	ASSERT_MEMEQ(out->eth_src, in->eth_dst, 6, "source MAC = query's destination");
	ASSERT_EQ(out->vlan_n, in->vlan_n, "VLAN tags kept");
	for (unsigned i = 0; i < in->vlan_n; i++) {
		ASSERT_EQ(out->vlan_tpid[i], in->vlan_tpid[i], "VLAN %u TPID", i);
		ASSERT_EQ(out->vlan_id[i], in->vlan_id[i], "VLAN %u id", i);
	}
	ASSERT_EQ(out->pppoe, in->pppoe, "PPPoE kept");
	if (in->pppoe) {
		ASSERT_EQ(out->pppoe_session, in->pppoe_session, "PPPoE session");
		ASSERT_EQ(out->ppp_proto, in->ppp_proto, "PPP protocol");
		ASSERT_EQ(out->pppoe_len, out->l3_end - out->l3_off + 2,
			  "PPPoE length = IP datagram + PPP protocol");
	}
	ASSERT_EQ(out->mpls_n, in->mpls_n, "MPLS labels kept");
	for (unsigned i = 0; i < in->mpls_n; i++)
		ASSERT_EQ(out->mpls_label[i], in->mpls_label[i], "MPLS label %u", i);
	return true;
}

static bool turned_around(const struct pkt_view *in, const struct pkt_view *out, size_t out_len)
{
	if (!same_l2(in, out))
		return false;
	ASSERT_EQ(out->family, in->family, "family");
	ASSERT_MEMEQ(out->src, in->dst, in->family == AF_INET ? 4 : 16, "source = query's dst");
	ASSERT_MEMEQ(out->dst, in->src, in->family == AF_INET ? 4 : 16, "dest = query's source");
	ASSERT_EQ(out->ttl, 64, "TTL / hop limit");
	ASSERT_EQ(out->sport, in->dport, "source port = query's dport");
	ASSERT_EQ(out->dport, in->sport, "dest port = query's sport");
	ASSERT_EQ(out->l3_end, out_len, "frame ends with the IP datagram");
	if (in->family == AF_INET)
		ASSERT_TRUE(ipv4_hdr_csum_ok(out), "IPv4 header checksum");
	ASSERT_NE(out->l4_csum, 0, "L4 checksum present");
	ASSERT_TRUE(l4_csum_ok(out), "L4 checksum");
	return true;
}

/* Run a query that must be answered; parse both. */
static bool answer(const struct q *q, struct pkt *in, uint8_t *out, size_t *out_len,
		   struct pkt_view *vin, struct pkt_view *vout)
{
	int ret;

	ASSERT_OK(build(in, q), "build %s", q->name);
	*out_len = PKT_MAX;
	ret = fx_run(&fx, in->buf, in->len, out, out_len);
	ASSERT_EQ(ret, XDP_TX, "%s %s %s/%s: verdict %s", q->name, pkt_encap_names[q->encap],
		  q->v6 ? "ipv6" : "ipv4", q->tcp ? "tcp" : "udp", xdp_action_name(ret));
	ASSERT_OK(pkt_parse(in->buf, in->len, vin));
	ASSERT_OK(pkt_parse(out, *out_len, vout), "parse the answer: %s", vout->err);
	return turned_around(vin, vout, *out_len);
}

/* The DNS header and question of an answer against its query. */
static bool dns_header_ok(const struct q *q, const struct dns_msg *m, int rcode, int ancount)
{
	char want[DNS_NAME_STR_MAX];
	size_t n = strlen(q->name);

	snprintf(want, sizeof(want), "%.*s", (int)(n && q->name[n - 1] == '.' ? n - 1 : n),
		 q->name);
	ASSERT_EQ(m->id, q->id, "ID copied");
	ASSERT_TRUE(m->qr, "QR set");
	ASSERT_EQ(m->opcode, 0, "OPCODE QUERY");
	ASSERT_FALSE(m->aa, "AA clear");
	ASSERT_FALSE(m->tc, "TC clear");
	ASSERT_EQ(m->rd, !!(q->flags & DNS_RD), "RD copied");
	ASSERT_TRUE(m->ra, "RA set");
	ASSERT_FALSE(m->ad, "AD clear");
	ASSERT_EQ(m->cd, !!(q->flags & DNS_CD), "CD copied");
	ASSERT_EQ(m->rcode, rcode, "RCODE");
	ASSERT_EQ(m->qdcount, 1, "QDCOUNT");
	ASSERT_STREQ(m->qname, want, "question name echoed, case kept");
	ASSERT_EQ(m->qtype, q->qtype ? q->qtype : DNS_TYPE_A, "QTYPE");
	ASSERT_EQ(m->qclass, DNS_CLASS_IN, "QCLASS");
	ASSERT_EQ(m->ancount, ancount, "ANCOUNT");
	ASSERT_EQ(m->nscount, 0, "NSCOUNT");
	ASSERT_EQ(m->arcount, q->edns ? 1 : 0, "ARCOUNT: OPT only when the query had one");
	ASSERT_EQ(m->has_opt, q->edns, "OPT record");
	if (q->edns) {
		ASSERT_EQ(m->opt_udp_size, 1232, "OPT UDP size");
		ASSERT_EQ(m->opt_version, 0, "EDNS version");
		ASSERT_EQ(m->opt_ext_rcode, 0, "extended RCODE");
		ASSERT_FALSE(m->opt_do, "DO (not set in the query)");
		ASSERT_EQ(m->ar[0].rdlen, 0, "OPT without options");
	}
	return true;
}

static bool test_reject_nxdomain(void)
{
	unsigned n = 0;

	for (int e = 0; e < PKT_ENC_N; e++)
		for (int v6 = 0; v6 < 2; v6++)
			for (int edns = 0; edns < 2; edns++)
				for (int cd = 0; cd < 2; cd++) {
					struct q q = {.encap = e,
						      .v6 = v6,
						      .edns = edns,
						      .name = "Www.Reject.Example",
						      .id = 0xbeef,
						      .flags = DNS_RD};
					struct pkt_view vin, vout;
					uint8_t out[PKT_MAX];
					struct dns_msg m;
					uint64_t before[N_RULES];
					size_t out_len;
					struct pkt in;

					if (cd)
						q.flags = DNS_CD; /* RD clear, CD set */
					counters(before);
					if (!answer(&q, &in, out, &out_len, &vin, &vout))
						return false;
					ASSERT_EQ(vout.proto, IPPROTO_UDP);
					ASSERT_EQ(vout.udp_len, vout.l3_end - vout.l4_off,
						  "UDP length");
					ASSERT_OK(dns_parse_view(&vout, &m),
						  "parse the DNS answer");
					ASSERT_EQ(m.len, vout.payload_len,
						  "no bytes after the message");
					if (!dns_header_ok(&q, &m, DNS_RCODE_NXDOMAIN, 0))
						return false;
					if (!only_rule_grew(before, "rej", "reject"))
						return false;
					n++;
				}
	test_cases(n);
	printf("# %u NXDOMAIN answers checked\n", n);
	return true;
}

static bool sinkhole_one(const struct q *q, int ancount, const char *addr)
{
	struct pkt_view vin, vout;
	uint8_t out[PKT_MAX];
	struct dns_msg m;
	size_t out_len;
	struct pkt in;

	if (!answer(q, &in, out, &out_len, &vin, &vout))
		return false;
	ASSERT_OK(dns_parse_view(&vout, &m), "parse the DNS answer");
	ASSERT_EQ(m.len, vout.payload_len, "no bytes after the message");
	if (!dns_header_ok(q, &m, DNS_RCODE_NOERROR, ancount))
		return false;
	if (ancount) {
		char want[DNS_NAME_STR_MAX];
		size_t n = strlen(q->name);

		snprintf(want, sizeof(want), "%.*s", (int)(n && q->name[n - 1] == '.' ? n - 1 : n),
			 q->name);
		ASSERT_STREQ(m.an[0].name, want, "answer owner = the question name");
		ASSERT_EQ(m.an[0].type, q->qtype, "answer type");
		ASSERT_EQ(m.an[0].class, DNS_CLASS_IN, "answer class");
		ASSERT_EQ(m.an[0].ttl, 123, "answer TTL from settings.sinkhole.ttl");
		ASSERT_EQ(m.an[0].rdlen, q->qtype == DNS_TYPE_A ? 4 : 16, "RDLENGTH");
		ASSERT_STREQ(m.an[0].addr, addr, "the sinkhole address");
	}
	return true;
}

static bool test_sinkhole(void)
{
	unsigned n = 0;

	for (int e = 0; e < PKT_ENC_N; e++)
		for (int v6 = 0; v6 < 2; v6++)
			for (int edns = 0; edns < 2; edns++) {
				struct q q = {.encap = e,
					      .v6 = v6,
					      .edns = edns,
					      .id = 0x4242,
					      .flags = DNS_RD,
					      .name = "cdn.SINK.example"};

				q.qtype = DNS_TYPE_A;
				if (!sinkhole_one(&q, 1, "198.18.0.10"))
					return false;
				q.qtype = DNS_TYPE_AAAA;
				if (!sinkhole_one(&q, 1, "2001:db8::10"))
					return false;
				/* other types: NODATA */
				q.qtype = DNS_TYPE_TXT;
				if (!sinkhole_one(&q, 0, NULL))
					return false;
				q.qtype = DNS_TYPE_HTTPS;
				if (!sinkhole_one(&q, 0, NULL))
					return false;
				n += 4;
			}
	test_cases(n);
	printf("# %u sinkhole answers checked\n", n);
	return true;
}

/* The largest answer: a 253-byte name, AAAA, EDNS; and names whose length
 * puts the records at every alignment. */
static bool test_answer_sizes(void)
{
	char name[300];
	unsigned n = 0;

	for (int len = 1; len <= 40; len++) {
		struct q q = {.id = 7,
			      .flags = DNS_RD,
			      .edns = len & 1,
			      .qtype = DNS_TYPE_AAAA,
			      .v6 = len & 2};

		memset(name, 'x', len);
		strcpy(name + len, ".sink.example");
		q.name = name;
		if (!sinkhole_one(&q, 1, "2001:db8::10"))
			return false;
		n++;
	}
	{
		/* 62+1+62+1+62+1+51 + ".sink.example" (13) = 253 */
		struct q q = {.id = 9,
			      .flags = DNS_RD,
			      .edns = true,
			      .qtype = DNS_TYPE_AAAA,
			      .v6 = true,
			      .encap = PKT_ENC_VLAN_PPPOE};
		int o = 0;

		for (int l = 0; l < 4; l++) {
			int ll = l < 3 ? 62 : 51;

			memset(name + o, 'a' + l, ll);
			o += ll;
			name[o++] = '.';
		}
		strcpy(name + o, "sink.example");
		ASSERT_EQ(strlen(name), 253);
		q.name = name;
		if (!sinkhole_one(&q, 1, "2001:db8::10"))
			return false;
		q.qtype = DNS_TYPE_A;
		q.v6 = false;
		if (!sinkhole_one(&q, 1, "198.18.0.10"))
			return false;
		n += 2;
	}
	test_cases(n);
	printf("# %u answers of every size\n", n);
	return true;
}

static bool test_sinkhole_without_address(void)
{
	static const char *const P = "version: 1\n"
				     "settings:\n"
				     "  sinkhole: { ipv4: 198.18.0.10, ttl: 123 }\n"
				     "rules:\n"
				     "  - name: sink\n"
				     "    action: sinkhole\n"
				     "    hosts: [sink.example]\n";
	struct q q = {.id = 1, .flags = DNS_RD, .name = "sink.example", .qtype = DNS_TYPE_AAAA};
	bool ok;

	ASSERT_OK(fx_policy(&fx, P));
	/* AAAA with no IPv6 sinkhole address: NODATA, over both families. */
	ok = sinkhole_one(&q, 0, NULL);
	q.v6 = 1;
	ok = ok && sinkhole_one(&q, 0, NULL);
	q.qtype = DNS_TYPE_A;
	ok = ok && sinkhole_one(&q, 1, "198.18.0.10");
	ASSERT_OK(fx_policy(&fx, POLICY), "back to the main policy");
	return ok;
}

static bool test_edns_do_copied(void)
{
	struct q q = {.id = 3, .flags = DNS_RD, .name = "reject.example", .edns = true};
	struct pkt_view vin, vout;
	uint8_t out[PKT_MAX];
	struct dns_msg m;
	size_t out_len;
	struct pkt in;
	int ret;

	ASSERT_OK(build(&in, &q));
	/* Set DO in the query's OPT (the last 11 bytes; TTL flags at +5..8). */
	in.buf[in.len - 11 + 7] = 0x80;
	ASSERT_OK(pkt_finish(&in));
	out_len = sizeof(out);
	ret = fx_run(&fx, in.buf, in.len, out, &out_len);
	ASSERT_EQ(ret, XDP_TX);
	ASSERT_OK(pkt_parse(in.buf, in.len, &vin));
	ASSERT_OK(pkt_parse(out, out_len, &vout));
	ASSERT_TRUE(turned_around(&vin, &vout, out_len));
	ASSERT_OK(dns_parse_view(&vout, &m));
	ASSERT_TRUE(m.has_opt);
	ASSERT_TRUE(m.opt_do, "DO copied from the query");
	return true;
}

/* Whatever followed the question (an OPT with options, padding) is cut. */
static bool test_answer_cuts_trailing(void)
{
	uint8_t msg[512], out[PKT_MAX];
	struct pkt_view vin, vout;
	struct dns_msg m;
	size_t out_len;
	struct pkt in;
	int n, ret;

	n = dns_query_bytes(msg, sizeof(msg), "reject.example", DNS_TYPE_A, 5, DNS_RD, true);
	ASSERT_GT(n, 0);
	/* An EDNS padding option (12) of 100 bytes in the OPT record. */
	msg[n - 2] = 0;
	msg[n - 1] = 104;
	msg[n] = 0;
	msg[n + 1] = 12;
	msg[n + 2] = 0;
	msg[n + 3] = 100;
	memset(msg + n + 4, 0, 100);
	n += 104;
	ASSERT_OK(pkt_simple_v4_udp(&in, SRC4, DST4, SPORT, 53));
	ASSERT_OK(pkt_payload(&in, msg, n));
	ASSERT_OK(pkt_finish(&in));
	out_len = sizeof(out);
	ret = fx_run(&fx, in.buf, in.len, out, &out_len);
	ASSERT_EQ(ret, XDP_TX);
	ASSERT_OK(pkt_parse(in.buf, in.len, &vin));
	ASSERT_OK(pkt_parse(out, out_len, &vout));
	ASSERT_TRUE(turned_around(&vin, &vout, out_len));
	ASSERT_OK(dns_parse_view(&vout, &m));
	ASSERT_EQ(m.rcode, DNS_RCODE_NXDOMAIN);
	ASSERT_TRUE(m.has_opt, "answered with an OPT of our own");
	ASSERT_EQ(m.ar[0].rdlen, 0, "no options copied");
	ASSERT_LT(out_len, in.len, "the frame shrank");
	return true;
}

/* An IPv4 first fragment carrying the question: answered, unfragmented. */
static bool test_first_fragment_answered(void)
{
	struct pkt_ipv4_opts o = {.mf = true, .id = 77};
	struct pkt_view vin, vout;
	uint8_t out[PKT_MAX];
	struct dns_msg m;
	size_t out_len;
	struct pkt in;
	int ret;

	pkt_init(&in);
	pkt_eth(&in, NULL, NULL);
	pkt_ipv4(&in, SRC4, DST4, PKT_AUTO, &o);
	pkt_udp(&in, SPORT, 53);
	dns_query(&in, "reject.example", DNS_TYPE_A, 11, DNS_RD, false);
	ASSERT_OK(pkt_finish(&in));
	out_len = sizeof(out);
	ret = fx_run(&fx, in.buf, in.len, out, &out_len);
	ASSERT_EQ(ret, XDP_TX);
	ASSERT_OK(pkt_parse(in.buf, in.len, &vin));
	ASSERT_OK(pkt_parse(out, out_len, &vout));
	ASSERT_FALSE(vout.frag, "the answer is not a fragment");
	ASSERT_TRUE(turned_around(&vin, &vout, out_len));
	ASSERT_OK(dns_parse_view(&vout, &m));
	ASSERT_EQ(m.rcode, DNS_RCODE_NXDOMAIN);
	return true;
}

/* IPv4 options stay in the answer, inside a correct header checksum. */
static bool test_ipv4_options_answered(void)
{
	static const uint8_t rr[] = {7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0}; /* record route */
	struct pkt_ipv4_opts o = {.options = rr, .options_len = sizeof(rr)};
	struct pkt_view vin, vout;
	uint8_t out[PKT_MAX];
	struct dns_msg m;
	size_t out_len;
	struct pkt in;

	for (int tcp = 0; tcp < 2; tcp++) {
		pkt_init(&in);
		pkt_eth(&in, NULL, NULL);
		pkt_vlan(&in, PKT_TPID_8021Q, 7);
		pkt_ipv4(&in, SRC4, DST4, PKT_AUTO, &o);
		if (tcp) {
			pkt_tcp(&in, SPORT, 53, PKT_TCP_PSH | PKT_TCP_ACK, TCP_SEQ, TCP_ACK);
			dns_query_tcp(&in, "reject.example", DNS_TYPE_A, 12, DNS_RD, true);
		} else {
			pkt_udp(&in, SPORT, 53);
			dns_query(&in, "reject.example", DNS_TYPE_A, 12, DNS_RD, true);
		}
		ASSERT_OK(pkt_finish(&in));
		out_len = sizeof(out);
		ASSERT_EQ(fx_run(&fx, in.buf, in.len, out, &out_len), XDP_TX);
		ASSERT_OK(pkt_parse(in.buf, in.len, &vin));
		ASSERT_OK(pkt_parse(out, out_len, &vout));
		ASSERT_EQ(vout.l4_off - vout.l3_off, 20 + 12, "options kept (tcp=%d)", tcp);
		ASSERT_TRUE(turned_around(&vin, &vout, out_len));
		if (!tcp) {
			ASSERT_OK(dns_parse_view(&vout, &m));
			ASSERT_EQ(m.rcode, DNS_RCODE_NXDOMAIN);
		} else {
			ASSERT_EQ(vout.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK);
		}
	}
	return true;
}

/* Received checksums are not verified (README, "Never a reflector"): a
 * veth or a local sender hands XDP partial ones. A query whose IPv4 header
 * and UDP checksums are wrong is matched and answered like any other, and
 * the answer carries correct checksums of its own. */
static bool test_wrong_checksums_answered(void)
{
	struct pkt_view vin, vout;
	uint8_t out[PKT_MAX];
	struct dns_msg m;
	size_t out_len;
	struct pkt in;

	for (int v6 = 0; v6 < 2; v6++) {
		pkt_init(&in);
		pkt_eth(&in, NULL, NULL);
		if (v6)
			pkt_ipv6(&in, SRC6, DST6, PKT_AUTO);
		else
			pkt_ipv4(&in, SRC4, DST4, PKT_AUTO, NULL);
		pkt_udp(&in, SPORT, 53);
		dns_query(&in, "reject.example", DNS_TYPE_A, 12, DNS_RD, true);
		ASSERT_OK(pkt_finish(&in));
		ASSERT_OK(pkt_parse(in.buf, in.len, &vin));
		/* Flip bits of the UDP checksum, and of the IPv4 header's. */
		in.buf[vin.l4_off + 6] ^= 0x5a;
		if (!v6)
			in.buf[vin.l3_off + 10] ^= 0xa5;
		ASSERT_OK(pkt_parse(in.buf, in.len, &vin));
		ASSERT_FALSE(l4_csum_ok(&vin), "the query's UDP checksum is wrong (v6=%d)", v6);
		if (!v6)
			ASSERT_FALSE(ipv4_hdr_csum_ok(&vin), "the query's IPv4 checksum is wrong");
		out_len = sizeof(out);
		ASSERT_EQ(fx_run(&fx, in.buf, in.len, out, &out_len), XDP_TX, "answered (v6=%d)",
			  v6);
		ASSERT_OK(pkt_parse(out, out_len, &vout));
		ASSERT_TRUE(turned_around(&vin, &vout, out_len));
		ASSERT_OK(dns_parse_view(&vout, &m));
		ASSERT_EQ(m.rcode, DNS_RCODE_NXDOMAIN);
	}
	return true;
}

/* IPv6 with extension headers gets no answer (documented): dropped. */
static bool test_ipv6_ext_dropped(void)
{
	uint64_t before[N_RULES];
	struct pkt in;

	pkt_init(&in);
	pkt_eth(&in, NULL, NULL);
	pkt_ipv6(&in, SRC6, DST6, PKT_AUTO);
	pkt_ipv6_ext(&in, 60, NULL);
	pkt_udp(&in, SPORT, 53);
	dns_query(&in, "reject.example", DNS_TYPE_A, 11, DNS_RD, false);
	ASSERT_OK(pkt_finish(&in));
	counters(before);
	ASSERT_EQ(fx_run(&fx, in.buf, in.len, NULL, NULL), XDP_DROP);
	return only_rule_grew(before, "rej", "ipv6 ext reject");
}

/* ---- TCP ---- */
static bool reset_one(const struct q *q, const char *rule)
{
	struct pkt_view vin, vout;
	uint8_t out[PKT_MAX];
	uint64_t before[N_RULES];
	size_t out_len;
	struct pkt in;

	counters(before);
	if (!answer(q, &in, out, &out_len, &vin, &vout))
		return false;
	ASSERT_EQ(vout.proto, IPPROTO_TCP);
	ASSERT_EQ(vout.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK, "RST|ACK");
	ASSERT_EQ(vout.seq, TCP_ACK, "seq = the query's ACK");
	ASSERT_EQ(vout.ack, TCP_SEQ + vin.payload_len, "ack = query seq + its length");
	ASSERT_EQ(vout.tcp_doff, 20, "no options");
	ASSERT_EQ(vout.window, 0, "window 0");
	ASSERT_EQ(vout.payload_len, 0, "no payload");
	return only_rule_grew(before, rule, "tcp reset");
}

static bool test_tcp_reset(void)
{
	unsigned n = 0;

	for (int e = 0; e < PKT_ENC_N; e++)
		for (int v6 = 0; v6 < 2; v6++) {
			struct q q = {.encap = e,
				      .v6 = v6,
				      .tcp = 1,
				      .id = 0x77,
				      .flags = DNS_RD,
				      .edns = true};

			q.name = "reject.example";
			if (!reset_one(&q, "rej"))
				return false;
			q.name = "www.sink.example";
			if (!reset_one(&q, "sink"))
				return false;
			n += 2;
		}
	test_cases(n);
	printf("# %u resets checked\n", n);
	return true;
}

/* Never a reflector: a query segment without ACK (a SYN with data among
 * them), or carrying RST, is dropped without a reset (a forged SYN must not
 * make tapis send a reset to whoever it names), and counted. */
static bool test_tcp_no_reset_without_ack(void)
{
	uint8_t out[PKT_MAX];
	size_t out_len;
	struct pkt in;
	int flags[] = {PKT_TCP_PSH, PKT_TCP_SYN, PKT_TCP_RST | PKT_TCP_ACK, PKT_TCP_RST};
	uint64_t n0 = fx_stat(&fx, TAPIS_S_NOANS_TCP);

	for (int i = 0; i < 4; i++) {
		pkt_init(&in);
		pkt_eth(&in, NULL, NULL);
		pkt_ipv4(&in, SRC4, DST4, PKT_AUTO, NULL);
		pkt_tcp(&in, SPORT, 53, flags[i], TCP_SEQ, flags[i] & PKT_TCP_ACK ? TCP_SEQ : 0);
		dns_query_tcp(&in, "reject.example", DNS_TYPE_A, 1, DNS_RD, false);
		ASSERT_OK(pkt_finish(&in));
		out_len = sizeof(out);
		ASSERT_EQ(fx_run(&fx, in.buf, in.len, out, &out_len), XDP_DROP, "flags 0x%x",
			  flags[i]);
	}
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_NOANS_TCP) - n0, 4, "counted as no_answer_tcp");
	return true;
}

/* Never a reflector: a UDP query for a listed name from a source that is
 * no unicast host, or whose lengths the frame does not hold, gets no
 * answer; it is dropped (the rule's intent) and counted by reason. */
static bool test_no_answer_to_forged(void)
{
	static const struct {
		const char *src;
		unsigned stat;
	} srcs[] = {
		{"255.255.255.255", TAPIS_S_NOANS_SOURCE},
		{"224.0.0.1", TAPIS_S_NOANS_SOURCE},
		{"0.0.0.0", TAPIS_S_NOANS_SOURCE},
		{"127.0.0.1", TAPIS_S_NOANS_SOURCE},
	};
	static const char *mcast_mac = "01:00:5e:00:00:01";
	uint8_t out[PKT_MAX];
	size_t out_len;
	struct pkt in;
	uint64_t s0 = fx_stat(&fx, TAPIS_S_NOANS_SOURCE), l0 = fx_stat(&fx, TAPIS_S_NOANS_LENGTH);

	for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		pkt_init(&in);
		pkt_eth(&in, NULL, NULL);
		pkt_ipv4(&in, srcs[i].src, DST4, PKT_AUTO, NULL);
		pkt_udp(&in, SPORT, 53);
		dns_query(&in, "reject.example", DNS_TYPE_A, 1, DNS_RD, false);
		ASSERT_OK(pkt_finish(&in));
		out_len = sizeof(out);
		ASSERT_EQ(fx_run(&fx, in.buf, in.len, out, &out_len), XDP_DROP, "from %s",
			  srcs[i].src);
	}
	/* A multicast Ethernet source. */
	pkt_init(&in);
	pkt_eth(&in, NULL, mcast_mac);
	pkt_ipv4(&in, SRC4, DST4, PKT_AUTO, NULL);
	pkt_udp(&in, SPORT, 53);
	dns_query(&in, "reject.example", DNS_TYPE_A, 1, DNS_RD, false);
	ASSERT_OK(pkt_finish(&in));
	out_len = sizeof(out);
	ASSERT_EQ(fx_run(&fx, in.buf, in.len, out, &out_len), XDP_DROP, "multicast MAC source");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_NOANS_SOURCE) - s0, 5, "counted as no_answer_source");
	/* An IPv4 total length beyond the frame. */
	pkt_init(&in);
	pkt_eth(&in, NULL, NULL);
	pkt_ipv4(&in, SRC4, DST4, PKT_AUTO, NULL);
	pkt_udp(&in, SPORT, 53);
	dns_query(&in, "reject.example", DNS_TYPE_A, 1, DNS_RD, false);
	ASSERT_OK(pkt_finish(&in));
	in.buf[14 + 2] = 0x05; /* tot_len 0x05xx: over a thousand bytes */
	out_len = sizeof(out);
	ASSERT_NE(fx_run(&fx, in.buf, in.len, out, &out_len), XDP_TX, "tot_len over the frame");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_NOANS_SOURCE) - s0, 5);
	(void)l0;
	/* PPPoE: a code other than session data (0), or a length that is not
	 * the datagram's. The well-formed frame is answered. */
	for (int k = 0; k < 4; k++) {
		uint64_t p0 = fx_stat(&fx, TAPIS_S_NOANS_PPPOE);

		pkt_init(&in);
		pkt_eth(&in, NULL, NULL);
		pkt_pppoe(&in, 0x1234);
		pkt_ipv4(&in, SRC4, DST4, PKT_AUTO, NULL);
		pkt_udp(&in, SPORT, 53);
		dns_query(&in, "reject.example", DNS_TYPE_A, 1, DNS_RD, false);
		ASSERT_OK(pkt_finish(&in));
		if (k == 1)
			in.buf[15] = 0x09; /* PADI */
		if (k == 2)
			in.buf[19] += 7; /* length */
		if (k == 3) {
			/* Protocol-field compression (RFC 1661): 0x0021 becomes
			 * 0x21, the PPPoE length one less: parsed and answered
			 * like the two-byte form. */
			memmove(&in.buf[20], &in.buf[21], in.len - 21);
			in.len--;
			in.buf[19]--;
		}
		out_len = sizeof(out);
		if (k == 3) {
			ASSERT_EQ(fx_run(&fx, in.buf, in.len, out, &out_len), XDP_TX, "PPPoE PFC");
			ASSERT_EQ(out[20], 0x21, "the answer keeps the compressed protocol");
			/* PPPoE length = IP total length + 1 */
			ASSERT_EQ((out[18] << 8) | out[19], ((out[23] << 8) | out[24]) + 1,
				  "PPPoE length of the answer");
			continue;
		}
		if (k == 0) {
			ASSERT_EQ(fx_run(&fx, in.buf, in.len, out, &out_len), XDP_TX, "PPPoE");
			continue;
		}
		ASSERT_NE(fx_run(&fx, in.buf, in.len, out, &out_len), XDP_TX, "PPPoE case %d", k);
		ASSERT_EQ(fx_stat(&fx, TAPIS_S_NOANS_PPPOE) - p0, 1, "no_answer_pppoe, case %d", k);
	}
	return true;
}

/* TCP segments that carry no whole query, and DNS-port segments without
 * payload. */
static bool test_tcp_segments(void)
{
	uint64_t t0 = fx_reason(&fx, TAPIS_R_DNS_TRUNC);
	uint8_t msg[600];
	struct pkt p;
	int n;

	/* bare ACK to port 53: nothing to read, no reason */
	ASSERT_OK(pkt_simple_v4_tcp(&p, SRC4, DST4, SPORT, 53));
	ASSERT_OK(pkt_pad(&p, 60));
	ASSERT_OK(pkt_finish(&p));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS);
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_DNS_TRUNC), t0, "a bare ACK is no truncated query");

	/* the length prefix alone */
	n = dns_query_bytes(msg + 2, sizeof(msg) - 2, "www.example.org", DNS_TYPE_A, 1, DNS_RD,
			    false);
	msg[0] = n >> 8;
	msg[1] = n;
	ASSERT_OK(pkt_simple_v4_tcp(&p, SRC4, DST4, SPORT, 53));
	ASSERT_OK(pkt_payload(&p, msg, 2));
	ASSERT_OK(pkt_finish(&p));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS);
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_DNS_TRUNC), t0 + 1, "length prefix alone");

	/* the query cut inside the name */
	ASSERT_OK(pkt_simple_v4_tcp(&p, SRC4, DST4, SPORT, 53));
	ASSERT_OK(pkt_payload(&p, msg, 2 + 12 + 5));
	ASSERT_OK(pkt_finish(&p));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS);
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_DNS_TRUNC), t0 + 2, "query cut in the name");

	/* two queries in one segment: the first is matched */
	memcpy(msg + 2 + n, msg, 2 + n);
	ASSERT_OK(pkt_simple_v4_tcp(&p, SRC4, DST4, SPORT, 53));
	ASSERT_OK(pkt_payload(&p, msg, 2 * (2 + n)));
	ASSERT_OK(pkt_finish(&p));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "pipelined queries");
	return true;
}

/* ---- malformed queries ---- */
/* Raw DNS message bytes after the 12-byte header: the question. */
static int raw_query(uint8_t *m, uint16_t flags, uint16_t qd, const uint8_t *q, size_t qlen)
{
	memset(m, 0, 12);
	m[0] = 0x12;
	m[1] = 0x34;
	m[2] = flags >> 8;
	m[3] = flags;
	m[4] = qd >> 8;
	m[5] = qd;
	memcpy(m + 12, q, qlen);
	return 12 + (int)qlen;
}

static bool malformed_one(const char *what, const uint8_t *msg, size_t len, unsigned reason,
			  bool tcp)
{
	uint64_t r0 = fx_reason(&fx, reason), before[N_RULES];
	uint8_t buf[2 + 1024];
	struct pkt p;
	int ret;

	if (tcp) {
		buf[0] = len >> 8;
		buf[1] = len;
		memcpy(buf + 2, msg, len);
		ASSERT_OK(pkt_simple_v4_tcp(&p, SRC4, DST4, SPORT, 53));
		ASSERT_OK(pkt_payload(&p, buf, len + 2));
	} else {
		ASSERT_OK(pkt_simple_v6_udp(&p, SRC6, DST6, SPORT, 53));
		ASSERT_OK(pkt_payload(&p, msg, len));
	}
	ASSERT_OK(pkt_finish(&p));
	counters(before);
	ret = fx_run(&fx, p.buf, p.len, NULL, NULL);
	ASSERT_EQ(ret, XDP_PASS, "%s (%s): verdict %s", what, tcp ? "tcp" : "udp",
		  xdp_action_name(ret));
	ASSERT_EQ(fx_reason(&fx, reason), r0 + 1, "%s (%s): reason %s", what, tcp ? "tcp" : "udp",
		  reason_name(reason));
	return only_rule_grew(before, NULL, what);
}

static bool test_malformed(void)
{
	/* www.example.org, a blocked name, in every malformed query */
	static const uint8_t qname[] = {3,   'w', 'w', 'w', 7,	 'e', 'x', 'a', 'm', 'p', 'l',
					'e', 3,	  'o', 'r', 'g', 0,   0,   1,	0,   1};
	uint8_t q[400], m[512];
	int n;

	for (int tcp = 0; tcp < 2; tcp++) {
		/* QR=1: a response */
		n = raw_query(m, 0x8180, 1, qname, sizeof(qname));
		if (!malformed_one("QR=1", m, n, TAPIS_R_DNS_RESPONSE, tcp))
			return false;
		/* NOTIFY */
		n = raw_query(m, 4 << 11, 1, qname, sizeof(qname));
		if (!malformed_one("OPCODE NOTIFY", m, n, TAPIS_R_DNS_OPCODE, tcp))
			return false;
		/* QDCOUNT 0 and 2 */
		n = raw_query(m, DNS_RD, 0, qname, sizeof(qname));
		if (!malformed_one("QDCOUNT 0", m, n, TAPIS_R_DNS_QDCOUNT, tcp))
			return false;
		memcpy(q, qname, sizeof(qname));
		memcpy(q + sizeof(qname), qname, sizeof(qname));
		n = raw_query(m, DNS_RD, 2, q, 2 * sizeof(qname));
		if (!malformed_one("QDCOUNT 2", m, n, TAPIS_R_DNS_QDCOUNT, tcp))
			return false;
		/* a compression pointer in the question: www + pointer */
		{
			static const uint8_t pq[] = {3, 'w', 'w', 'w', 0xc0, 12, 0, 1, 0, 1};

			n = raw_query(m, DNS_RD, 1, pq, sizeof(pq));
			if (!malformed_one("pointer in qname", m, n, TAPIS_R_DNS_POINTER, tcp))
				return false;
		}
		/* a reserved label type (0x40) */
		{
			static const uint8_t pq[] = {0x41, 'x', 7,   'e', 'x', 'a', 'm',
						     'p',  'l', 'e', 3,	  'o', 'r', 'g',
						     0,	   0,	1,   0,	  1};

			n = raw_query(m, DNS_RD, 1, pq, sizeof(pq));
			if (!malformed_one("label type 0x40", m, n, TAPIS_R_DNS_POINTER, tcp))
				return false;
		}
		/* 33 labels (the cap is 32) ending in example.org */
		{
			int o = 0;

			for (int i = 0; i < 31; i++) {
				q[o++] = 1;
				q[o++] = 'a';
			}
			memcpy(q + o, qname + 4, sizeof(qname) - 4);
			o += sizeof(qname) - 4;
			n = raw_query(m, DNS_RD, 1, q, o);
			if (!malformed_one("33 labels", m, n, TAPIS_R_DNS_LABELS, tcp))
				return false;
			/* 32 labels are read and matched */
			n = raw_query(m, DNS_RD, 1, q + 2, o - 2);
			{
				uint8_t buf[600];
				struct pkt p;

				ASSERT_OK(pkt_simple_v4_udp(&p, SRC4, DST4, SPORT, 53));
				memcpy(buf, m, n);
				ASSERT_OK(pkt_payload(&p, buf, n));
				ASSERT_OK(pkt_finish(&p));
				ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP,
					  "32 labels: matched");
			}
		}
		/* a name over 253 bytes: 4 x 63-byte labels + example.org */
		{
			int o = 0;

			for (int i = 0; i < 4; i++) {
				q[o++] = 63;
				memset(q + o, 'z', 63);
				o += 63;
			}
			memcpy(q + o, qname + 4, sizeof(qname) - 4);
			o += sizeof(qname) - 4;
			n = raw_query(m, DNS_RD, 1, q, o);
			if (!malformed_one("name over 253", m, n, TAPIS_R_DNS_NAME_LONG, tcp))
				return false;
		}
		/* truncated: header only, and cut inside the name */
		n = raw_query(m, DNS_RD, 1, qname, sizeof(qname));
		if (!malformed_one("header only", m, 12, TAPIS_R_DNS_TRUNC, tcp))
			return false;
		if (!malformed_one("cut in the name", m, 12 + 6, TAPIS_R_DNS_TRUNC, tcp))
			return false;
		if (!malformed_one("no QTYPE", m, n - 4, TAPIS_R_DNS_TRUNC, tcp))
			return false;
		if (!malformed_one("short header", m, 7, TAPIS_R_DNS_TRUNC, tcp))
			return false;
	}
	return true;
}

/* A dot inside a label is part of that label, not a boundary; a length
 * byte that is a dot is a length. */
static bool test_dot_in_label(void)
{
	/* ["www.example", "org"]: not under example.org */
	static const uint8_t a[] = {11,	 'w', 'w', 'w', '.', 'e', 'x', 'a', 'm', 'p', 'l',
				    'e', 3,   'o', 'r', 'g', 0,	  0,   1,   0,	 1};
	/* ["example.org"] alone: not example.org */
	static const uint8_t b[] = {11,	 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
				    'o', 'r', 'g', 0,	0,   1,	  0,   1};
	/* ["a.b", "example", "org"]: under example.org */
	static const uint8_t c[] = {3,	 'a', '.', 'b', 7,   'e', 'x', 'a', 'm', 'p', 'l',
				    'e', 3,   'o', 'r', 'g', 0,	  0,   1,   0,	 1};
	/* [46 x 'q', "example", "org"]: its length byte is a '.' (0x2e) */
	uint8_t d[1 + 46 + 13 + 4] = {46};
	struct {
		const uint8_t *q;
		size_t len;
		int verdict;
	} cases[] = {{a, sizeof(a), XDP_PASS},
		     {b, sizeof(b), XDP_PASS},
		     {c, sizeof(c), XDP_DROP},
		     {d, sizeof(d), XDP_DROP}};

	memset(d + 1, 'q', 46);
	memcpy(d + 47, "\7example\3org\0\0\1\0\1", 17);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t m[128];
		struct pkt p;
		int n = raw_query(m, DNS_RD, 1, cases[i].q, cases[i].len);

		ASSERT_OK(pkt_simple_v4_udp(&p, SRC4, DST4, SPORT, 53));
		ASSERT_OK(pkt_payload(&p, m, n));
		ASSERT_OK(pkt_finish(&p));
		ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), cases[i].verdict, "case %zu", i);
	}
	return true;
}

/* ---- ports, settings, other rules ---- */
static bool test_dns_ports(void)
{
	static const char *const P = "version: 1\n"
				     "settings:\n"
				     "  ports: { dns: [53, 5353] }\n"
				     "rules:\n"
				     "  - name: block-example\n"
				     "    action: drop\n"
				     "    hosts: [example.org]\n";
	struct q q = {.name = "www.example.org", .flags = DNS_RD};
	struct pkt p;
	bool ok = true;

	ASSERT_OK(fx_policy(&fx, P));
	for (int tcp = 0; tcp < 2 && ok; tcp++) {
		q.tcp = tcp;
		q.dport = 5353;
		ok = build(&p, &q) == 0 && fx_run(&fx, p.buf, p.len, NULL, NULL) == XDP_DROP;
		ASSERT_TRUE(ok, "port 5353 listed (tcp=%d)", tcp);
		q.dport = 54;
		ok = build(&p, &q) == 0 && fx_run(&fx, p.buf, p.len, NULL, NULL) == XDP_PASS;
		ASSERT_TRUE(ok, "port 54 not listed (tcp=%d)", tcp);
		q.dport = 53;
		ok = build(&p, &q) == 0 && fx_run(&fx, p.buf, p.len, NULL, NULL) == XDP_DROP;
		ASSERT_TRUE(ok, "port 53 listed (tcp=%d)", tcp);
	}
	/* The query's source port does not make it a query. */
	q.tcp = 0;
	q.dport = 40001;
	ASSERT_OK(build(&p, &q));
	p.buf[p.l4_off] = 0;
	p.buf[p.l4_off + 1] = 53;
	ASSERT_OK(pkt_finish(&p));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "from port 53, to 40001");
	ASSERT_OK(fx_policy(&fx, POLICY), "back to the main policy");
	return true;
}

/* Without host patterns nothing is parsed: not even malformed queries are
 * counted, and a DNS query to a blocked address is dropped. */
static bool test_no_host_patterns(void)
{
	static const char *const P = "version: 1\n"
				     "rules:\n"
				     "  - name: rj\n"
				     "    action: reject\n"
				     "    nets: [198.18.2.2/32]\n";
	uint64_t r0 = fx_reason(&fx, TAPIS_R_DNS_RESPONSE);
	struct q q = {.name = "www.example.org", .flags = DNS_RD | DNS_QR};
	struct pkt p;

	ASSERT_OK(fx_policy(&fx, P));
	q.dst = "198.18.2.3";
	ASSERT_OK(build(&p, &q));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS);
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_DNS_RESPONSE), r0, "not parsed without host patterns");
	q.dst = NULL;
	q.flags = DNS_RD;
	ASSERT_OK(build(&p, &q));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "net reject: dropped");
	/* The first host pattern arrives live: filter and index are made. */
	{
		struct host_entry h = {.kind = HOST_SUBTREE, .name = (char *)"example.org"};
		uint8_t out[PKT_MAX];
		size_t out_len = sizeof(out);

		ASSERT_OK(tapis_host_edit(&fx.t, "rj", &h, true));
		q.dst = "198.18.2.3";
		ASSERT_OK(build(&p, &q));
		ASSERT_EQ(fx_run(&fx, p.buf, p.len, out, &out_len), XDP_TX,
			  "a live host add into a policy without hosts answers");
	}
	ASSERT_OK(fx_policy(&fx, POLICY), "back to the main policy");
	return true;
}

/* A net reject rule on a DNS query drops it (answers are for names). */
static bool test_net_reject_query(void)
{
	struct q q = {.name = "unlisted.example", .flags = DNS_RD, .dst = "198.18.9.9"};

	if (!expect(&q, XDP_DROP, "net-reject"))
		return false;
	/* but a host rule on the name still answers */
	q.name = "reject.example";
	{
		uint8_t out[PKT_MAX];
		size_t out_len = sizeof(out);
		struct pkt p;

		ASSERT_OK(build(&p, &q));
		ASSERT_EQ(fx_run(&fx, p.buf, p.len, out, &out_len), XDP_TX,
			  "host rule beats net rule");
	}
	/* an allowed name beats the net rule */
	q.name = "api.example.org";
	return expect(&q, XDP_PASS, "allow-api");
}

/* Live `host add` / `host del` on the running generation. */
static bool test_live_host_edit(void)
{
	struct host_entry h = {.kind = HOST_SUBTREE, .name = (char *)"live.example"};
	struct q q = {.name = "www.live.example", .flags = DNS_RD};

	if (!expect(&q, XDP_PASS, NULL))
		return false;
	ASSERT_OK(tapis_host_edit(&fx.t, "block-example", &h, true));
	if (!expect(&q, XDP_DROP, "block-example"))
		return false;
	ASSERT_OK(tapis_host_edit(&fx.t, "block-example", &h, false));
	if (!expect(&q, XDP_PASS, NULL))
		return false;
	h.kind = HOST_EXACT;
	h.name = (char *)"www.live.example";
	ASSERT_OK(tapis_host_edit(&fx.t, "watch", &h, true));
	if (!expect(&q, XDP_PASS, "watch"))
		return false;
	q.name = "x.www.live.example";
	if (!expect(&q, XDP_PASS, NULL))
		return false;
	ASSERT_OK(tapis_host_edit(&fx.t, "watch", &h, false));
	/* A pattern of a label count no pattern of the policy has: the
	 * match looks up only the counts the settings name, and the add
	 * names its own. */
	h.kind = HOST_SUBTREE;
	h.name = (char *)"l1.l2.l3.l4.l5.l6.live.example";
	q.name = "l1.l2.l3.l4.l5.l6.live.example";
	if (!expect(&q, XDP_PASS, NULL))
		return false;
	ASSERT_OK(tapis_host_edit(&fx.t, "block-example", &h, true));
	if (!expect(&q, XDP_DROP, "block-example"))
		return false;
	q.name = "www.l1.l2.l3.l4.l5.l6.live.example";
	if (!expect(&q, XDP_DROP, "block-example"))
		return false;
	ASSERT_OK(tapis_host_edit(&fx.t, "block-example", &h, false));
	return expect(&q, XDP_PASS, NULL);
}

/* Bytes counted are the query frame's, not the answer's. */
static bool test_bytes_counted(void)
{
	uint64_t b0 = fx_rule_bytes(&fx, "rej");
	struct q q = {.name = "reject.example", .flags = DNS_RD, .edns = true};
	uint8_t out[PKT_MAX];
	size_t out_len = sizeof(out);
	struct pkt p;

	ASSERT_OK(build(&p, &q));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, out, &out_len), XDP_TX);
	ASSERT_EQ(fx_rule_bytes(&fx, "rej"), b0 + p.len);
	return true;
}

/* Random bytes in DNS queries: pass, drop or answer, never abort, never
 * an answer that does not parse. */
static bool test_fuzz(void)
{
	unsigned seed = 4242, answered = 0;
	uint8_t msg[300], out[PKT_MAX];

	for (int i = 0; i < 20000; i++) {
		struct pkt p;
		size_t len = 12 + (seed = seed * 1103515245 + 12345) % 120, out_len = sizeof(out);
		int n, ret;

		/* a valid query for a rejected name, then random damage */
		n = dns_query_bytes(msg, sizeof(msg), "a.b.reject.example", DNS_TYPE_A, 1, 0,
				    i & 1);
		for (int k = 0; k < 1 + i % 4; k++) {
			size_t at = (seed = seed * 1103515245 + 12345) % (size_t)n;

			msg[at] = (seed = seed * 1103515245 + 12345) >> 16;
		}
		if (i % 3 == 0)
			n = (int)(len < (size_t)n ? len : (size_t)n);
		if (i & 2)
			pkt_simple_v6_udp(&p, SRC6, DST6, SPORT, 53);
		else
			pkt_simple_v4_udp(&p, SRC4, DST4, SPORT, 53);
		pkt_payload(&p, msg, n);
		ASSERT_OK(pkt_finish(&p));
		ret = fx_run(&fx, p.buf, p.len, out, &out_len);
		ASSERT_TRUE(ret == XDP_PASS || ret == XDP_DROP || ret == XDP_TX, "frame %d: %s", i,
			    xdp_action_name(ret));
		if (ret == XDP_TX) {
			struct pkt_view v;
			struct dns_msg m;

			ASSERT_OK(pkt_parse(out, out_len, &v), "frame %d: answer parses", i);
			ASSERT_TRUE(l4_csum_ok(&v), "frame %d: checksum", i);
			ASSERT_OK(dns_parse_view(&v, &m), "frame %d: DNS answer parses", i);
			answered++;
		}
	}
	printf("# 20000 damaged queries, %u answered\n", answered);
	return true;
}

static const struct test_case tests[] = {
	TEST(test_pattern_kinds),
	TEST(test_expired_counted),
	TEST(test_encapsulations),
	TEST(test_reject_nxdomain),
	TEST(test_sinkhole),
	TEST(test_answer_sizes),
	TEST(test_sinkhole_without_address),
	TEST(test_edns_do_copied),
	TEST(test_answer_cuts_trailing),
	TEST(test_first_fragment_answered),
	TEST(test_ipv4_options_answered),
	TEST(test_wrong_checksums_answered),
	TEST(test_ipv6_ext_dropped),
	TEST(test_tcp_reset),
	TEST(test_tcp_no_reset_without_ack),
	TEST(test_no_answer_to_forged),
	TEST(test_tcp_segments),
	TEST(test_malformed),
	TEST(test_dot_in_label),
	TEST(test_dns_ports),
	TEST(test_no_host_patterns),
	TEST(test_net_reject_query),
	TEST(test_live_host_edit),
	TEST(test_bytes_counted),
	TEST(test_fuzz),
};

int main(int argc, char **argv)
{
	return fx_main(&fx, POLICY, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
