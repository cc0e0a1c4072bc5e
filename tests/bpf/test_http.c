// SPDX-License-Identifier: GPL-2.0
/* HTTP/1.x Host through BPF_PROG_TEST_RUN: header spellings, ports, IP
 * literals, absolute and authority-form targets, requests cut into TCP
 * segments at every point, and the flow a block leaves behind. */
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "fixture.h"
#include "pkt.h"
#include "test.h"

static const char *const POLICY = "version: 1\n"
				  "rules:\n"
				  "  - name: http-drop\n"
				  "    action: drop\n"
				  "    hosts: [blocked.example]\n"
				  "  - name: http-reject\n"
				  "    action: reject\n"
				  "    hosts: [\"=reject.example\"]\n";

#define SRC4 "198.18.3.2"
#define DST4 "198.18.4.2"
#define SRC6 "2001:db8::3:2"
#define DST6 "2001:db8::4:2"
#define ACK0 0x2000b000u

static struct fixture fx;
static uint16_t port_next = 30000;

static uint16_t new_port(void)
{
	if (port_next >= 65000)
		port_next = 30000;
	return port_next++;
}

static int seg(struct pkt *p, bool v6, uint16_t sport, uint16_t dport, uint32_t seq,
	       const void *data, size_t len)
{
	pkt_init(p);
	pkt_eth(p, NULL, NULL);
	pkt_ip(p, v6 ? SRC6 : SRC4, v6 ? DST6 : DST4, PKT_AUTO);
	pkt_tcp(p, sport, dport, PKT_TCP_PSH | PKT_TCP_ACK, seq, ACK0);
	if (len)
		pkt_payload(p, data, len);
	return pkt_finish(p) ?: p->err;
}

static int run_seg(bool v6, uint16_t sport, uint16_t dport, uint32_t seq, const void *data,
		   size_t len)
{
	struct pkt p;

	if (seg(&p, v6, sport, dport, seq, data, len))
		return -1000;
	return fx_run(&fx, p.buf, p.len, NULL, NULL);
}

/* One request in one segment on a new flow. */
static int req(uint16_t dport, const char *text)
{
	return run_seg(false, new_port(), dport, 1000, text, strlen(text));
}

/* Cut at `cut`: the first segment's verdict in *first, the second's
 * returned. */
static int req2(bool v6, uint16_t dport, const char *text, size_t cut, int *first)
{
	uint16_t sport = new_port();
	size_t n = strlen(text);

	*first = run_seg(v6, sport, dport, 1000, text, cut);
	return run_seg(v6, sport, dport, 1000 + (uint32_t)cut, text + cut, n - cut);
}

static bool test_host_spellings(void)
{
	static const char *const blocked[] = {
		"GET / HTTP/1.1\r\nHost: blocked.example\r\n\r\n",
		"GET / HTTP/1.1\r\nhost: blocked.example\r\n\r\n",
		"GET / HTTP/1.1\r\nHOST: blocked.example\r\n\r\n",
		"GET / HTTP/1.1\r\nhOsT: BLOCKED.Example\r\n\r\n",
		"GET / HTTP/1.1\r\nHost:blocked.example\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: \t  blocked.example\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: blocked.example \r\n\r\n",
		"GET / HTTP/1.1\r\nHost: blocked.example:8080\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: blocked.example.\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: blocked.example.:80\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: www.blocked.example\r\n\r\n",
		"GET / HTTP/1.1\nHost: blocked.example\n\n",
		"GET /index.html HTTP/1.1\r\nUser-Agent: x\r\nAccept: */*\r\n"
		"Host: blocked.example\r\nConnection: close\r\n\r\n",
		"POST /form HTTP/1.1\r\nContent-Length: 0\r\nHost: blocked.example\r\n\r\n",
		"HEAD / HTTP/1.1\r\nHost: blocked.example\r\n\r\n",
		"PUT /x HTTP/1.1\r\nHost: blocked.example\r\n\r\n",
		"DELETE /x HTTP/1.1\r\nHost: blocked.example\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: blocked.example\r\n\r\n",
		"PATCH /x HTTP/1.1\r\nHost: blocked.example\r\n\r\n",
	};
	static const char *const passed[] = {
		"GET / HTTP/1.1\r\nHost: blocked.example.net\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: notblocked.example\r\n\r\n",
		"GET / HTTP/1.1\r\nX-Host: blocked.example\r\n\r\n",
		"GET / HTTP/1.1\r\nHostname: blocked.example\r\n\r\n",
		"GET /blocked.example HTTP/1.1\r\nHost: fine.example\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++) {
		uint64_t k0 = fx_rule_kind_packets(&fx, "http-drop", TAPIS_KIND_HTTP);

		ASSERT_EQ(req(80, blocked[i]), XDP_DROP, "blocked %zu: %s", i, blocked[i]);
		ASSERT_EQ(fx_rule_kind_packets(&fx, "http-drop", TAPIS_KIND_HTTP), k0 + 1,
			  "kind HTTP %zu", i);
	}
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++)
		ASSERT_EQ(req(80, passed[i]), XDP_PASS, "passed %zu: %s", i, passed[i]);
	return true;
}

/* A name in any letter case matches: lowercased as the fast walk copies
 * it (Host on the line after the request line), and by the match for one
 * the steps assembled (Host after a long header line, and cut in two
 * segments). */
static bool test_host_case(void)
{
	static const char *const reqs[] = {
		"GET / HTTP/1.1\r\nHost: BLOCKED.Example\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: www.BlOcKeD.eXaMpLe.\r\n\r\n",
		"GET / HTTP/1.1\r\nX-Long: 0123456789012345678901234567890123456789012345678901"
		"234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n"
		"Host: Blocked.EXAMPLE\r\n\r\n",
	};
	const char *cut = "GET / HTTP/1.1\r\nHost: BLOCKED.exa";
	char text[256];
	int first;

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		ASSERT_EQ(req(80, reqs[i]), XDP_DROP, "%zu: %s", i, reqs[i]);
	snprintf(text, sizeof(text), "%sMPLE\r\n\r\n", cut);
	ASSERT_EQ(req2(false, 80, text, strlen(cut), &first), XDP_DROP, "cut in the name");
	ASSERT_EQ(first, XDP_PASS, "the first part passes");
	ASSERT_EQ(req(80, "GET / HTTP/1.1\r\nHost: NotBlocked.Example\r\n\r\n"), XDP_PASS);
	return true;
}

static bool test_ports(void)
{
	const char *r = "GET / HTTP/1.1\r\nHost: blocked.example\r\n\r\n";

	ASSERT_EQ(req(80, r), XDP_DROP, "port 80");
	ASSERT_EQ(req(8080, r), XDP_DROP, "port 8080");
	ASSERT_EQ(req(8081, r), XDP_PASS, "port 8081 is not an http port");
	ASSERT_EQ(req(443, r), XDP_PASS, "a request on the tls port is no hello");
	ASSERT_EQ(run_seg(true, new_port(), 80, 1, r, strlen(r)), XDP_DROP, "IPv6");
	return true;
}

static bool test_ip_literal_host(void)
{
	uint64_t s0 = fx_stat(&fx, TAPIS_S_HTTP_IP_HOST);

	ASSERT_EQ(req(80, "GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n"), XDP_PASS);
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_HTTP_IP_HOST), s0 + 1, "HTTP_IP_HOST");
	ASSERT_EQ(req(80, "GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n"), XDP_PASS);
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_HTTP_IP_HOST), s0 + 2, "HTTP_IP_HOST");
	return true;
}

static bool test_no_host(void)
{
	uint64_t s0 = fx_stat(&fx, TAPIS_S_HTTP_NO_HOST);

	ASSERT_EQ(req(80, "GET / HTTP/1.0\r\n\r\n"), XDP_PASS);
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_HTTP_NO_HOST), s0 + 1, "HTTP_NO_HOST");
	ASSERT_EQ(req(80, "GET / HTTP/1.0\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n"), XDP_PASS);
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_HTTP_NO_HOST), s0 + 2, "HTTP_NO_HOST");
	return true;
}

static bool test_absolute_and_authority_form(void)
{
	ASSERT_EQ(req(80, "GET http://blocked.example/x HTTP/1.1\r\nHost: other.example\r\n\r\n"),
		  XDP_DROP, "absolute form names the host");
	ASSERT_EQ(req(80, "GET http://blocked.example:8080/x HTTP/1.1\r\nHost: o.example\r\n\r\n"),
		  XDP_DROP, "absolute form with a port");
	ASSERT_EQ(req(80, "GET HTTP://Blocked.Example HTTP/1.1\r\nHost: o.example\r\n\r\n"),
		  XDP_DROP, "scheme in upper case, no path");
	ASSERT_EQ(req(8080, "GET https://blocked.example/ HTTP/1.1\r\nHost: o.example\r\n\r\n"),
		  XDP_DROP, "https scheme to a proxy");
	ASSERT_EQ(req(80, "GET http://blocked.example?q=1 HTTP/1.1\r\nHost: o.example\r\n\r\n"),
		  XDP_DROP, "query right after the host");
	ASSERT_EQ(req(80, "GET http://other.example/x HTTP/1.1\r\nHost: blocked.example\r\n\r\n"),
		  XDP_PASS, "the target wins over Host (RFC 9112 3.2.2)");
	ASSERT_EQ(req(8080, "CONNECT blocked.example:443 HTTP/1.1\r\n"
			    "Host: blocked.example:443\r\n\r\n"),
		  XDP_DROP, "CONNECT");
	ASSERT_EQ(req(8080, "CONNECT fine.example:443 HTTP/1.1\r\nHost: fine.example:443\r\n\r\n"),
		  XDP_PASS, "CONNECT elsewhere");
	return true;
}

/* Every cut of a request, and the named ones: inside the target, inside
 * "Host:", right after the colon, inside the value. */
static bool test_two_segments(void)
{
	static const char *const reqs[] = {
		"GET /some/path?x=1 HTTP/1.1\r\nUser-Agent: curl/8\r\nHost: www.blocked.example"
		"\r\nAccept: */*\r\n\r\n",
		"GET http://www.blocked.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
		"CONNECT www.blocked.example:443 HTTP/1.1\r\n\r\n",
	};
	unsigned bad = 0, checked = 0;

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		const char *r = reqs[i], *name = strstr(r, "www.blocked.example");
		size_t n = strlen(r), ne = (size_t)(name - r) + strlen("www.blocked.example");

		/* not inside the method and its space: a request is known by
		 * them */
		for (size_t cut = (size_t)(strchr(r, ' ') - r) + 1; cut < n; cut++) {
			int first, last = req2(cut & 1, 80, r, cut, &first);
			/* the name complete in the first segment: it may be
			 * decided there only when its end is seen too */
			bool ok = (first == XDP_PASS && last == XDP_DROP) ||
				  (cut > ne && first == XDP_DROP && last == XDP_DROP);

			checked++;
			if (!ok && bad++ < 40)
				fprintf(stderr, "# request %zu cut %zu (%.*s|%.8s): %s, %s\n", i,
					cut, (int)(cut < 8 ? cut : 8),
					r + cut - (cut < 8 ? cut : 8), r + cut,
					xdp_action_name(first), xdp_action_name(last));
		}
	}
	test_cases(checked);
	printf("# %u two-segment cuts checked\n", checked);
	ASSERT_EQ(bad, 0, "cuts with the wrong verdicts");
	return true;
}

static bool test_named_cuts(void)
{
	const char *r = "GET /target/path HTTP/1.1\r\nHost: blocked.example\r\n\r\n";
	const char *at[] = {"get/path",
			    "Ho",
			    "Hos",
			    "Host:",
			    "Host: ",
			    "Host: bl",
			    "Host: blocked.",
			    "Host: blocked.exampl"};
	uint64_t f0 = fx_stat(&fx, TAPIS_S_L7_FOLLOWED);

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		const char *p = i == 0 ? strstr(r, "get/path") : strstr(r, "Host: ");
		size_t cut = i == 0 ? 8 : (size_t)(p - r) + strlen(at[i]);
		int first, last = req2(false, 80, r, cut, &first);

		ASSERT_EQ(first, XDP_PASS, "cut after \"%s\"", at[i]);
		ASSERT_EQ(last, XDP_DROP, "cut after \"%s\"", at[i]);
	}
	ASSERT_GE(fx_stat(&fx, TAPIS_S_L7_FOLLOWED), f0 + 8, "L7_FOLLOWED");
	return true;
}

static bool test_three_segments(void)
{
	const char *r = "GET / HTTP/1.1\r\nAccept: */*\r\nHost: blocked.example\r\n\r\n";
	size_t n = strlen(r), h = (size_t)(strstr(r, "Host") - r);
	unsigned bad = 0;

	for (size_t a = 8; a < h + 12; a++) { /* short first segments: test_two_segments */
		for (size_t b = a + 1; b < h + 20; b++) {
			uint16_t sport = new_port();
			int r1 = run_seg(false, sport, 80, 1, r, a);
			int r2 = run_seg(false, sport, 80, 1 + a, r + a, b - a);
			int r3 = run_seg(false, sport, 80, 1 + b, r + b, n - b);

			if ((r1 != XDP_PASS || r2 != XDP_PASS || r3 != XDP_DROP) && bad++ < 8)
				fprintf(stderr, "# cuts %zu,%zu: %s %s %s\n", a, b,
					xdp_action_name(r1), xdp_action_name(r2),
					xdp_action_name(r3));
		}
	}
	ASSERT_EQ(bad, 0);
	return true;
}

static bool test_out_of_order(void)
{
	const char *r = "GET / HTTP/1.1\r\nHost: blocked.example\r\n\r\n";
	size_t n = strlen(r), cut = 20;
	uint16_t sport = new_port();
	uint64_t r0 = fx_reason(&fx, TAPIS_R_L7_OUT_OF_ORDER);

	ASSERT_EQ(run_seg(false, sport, 80, 1, r, cut), XDP_PASS);
	ASSERT_EQ(run_seg(false, sport, 80, 1 + cut + 100, r + cut, n - cut), XDP_PASS);
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_L7_OUT_OF_ORDER), r0 + 1, "out of order counted");
	return true;
}

static bool test_block_flow_and_reset(void)
{
	const char *r = "GET / HTTP/1.1\r\nHost: reject.example\r\n\r\n";
	size_t n = strlen(r);
	uint8_t out[PKT_MAX];
	size_t out_len = sizeof(out);
	uint16_t sport = new_port();
	uint64_t fl0 = fx_rule_kind_packets(&fx, "http-reject", TAPIS_KIND_FLOW);
	uint64_t h0 = fx_rule_kind_packets(&fx, "http-reject", TAPIS_KIND_HTTP);
	struct pkt_view v;
	struct pkt p;

	ASSERT_OK(seg(&p, false, sport, 80, 7000, r, n));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, out, &out_len), XDP_TX, "reset");
	ASSERT_OK(pkt_parse(out, out_len, &v));
	ASSERT_EQ(v.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK);
	ASSERT_EQ(v.seq, ACK0);
	ASSERT_EQ(v.ack, 7000 + n);
	ASSERT_EQ(v.sport, 80);
	ASSERT_EQ(v.dport, sport);
	ASSERT_STREQ(v.src_str, DST4);
	ASSERT_STREQ(v.dst_str, SRC4);
	ASSERT_TRUE(ipv4_hdr_csum_ok(&v));
	ASSERT_TRUE(l4_csum_ok(&v));
	ASSERT_EQ(fx_rule_kind_packets(&fx, "http-reject", TAPIS_KIND_HTTP), h0 + 1, "kind HTTP");
	/* later: both directions dropped as the flow's */
	ASSERT_EQ(run_seg(false, sport, 80, 7000 + n, "x", 1), XDP_DROP);
	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	pkt_ip(&p, DST4, SRC4, PKT_AUTO);
	pkt_tcp(&p, 80, sport, PKT_TCP_ACK, ACK0, 7000 + n);
	pkt_payload(&p, "HTTP/1.1 200 OK\r\n", 17);
	ASSERT_OK(pkt_finish(&p) ?: p.err);
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "server -> client");
	ASSERT_EQ(fx_rule_kind_packets(&fx, "http-reject", TAPIS_KIND_FLOW), fl0 + 2, "kind FLOW");
	/* "=reject.example" is exact: a subdomain passes */
	ASSERT_EQ(req(80, "GET / HTTP/1.1\r\nHost: www.reject.example\r\n\r\n"), XDP_PASS);
	return true;
}

static const struct test_case tests[] = {
	TEST(test_host_spellings),
	TEST(test_host_case),
	TEST(test_ports),
	TEST(test_ip_literal_host),
	TEST(test_no_host),
	TEST(test_absolute_and_authority_form),
	TEST(test_two_segments),
	TEST(test_named_cuts),
	TEST(test_three_segments),
	TEST(test_out_of_order),
	TEST(test_block_flow_and_reset),
};

int main(int argc, char **argv)
{
	return fx_main(&fx, POLICY, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
