// SPDX-License-Identifier: GPL-2.0
/* TLS SNI and HTTP Host through BPF_PROG_TEST_RUN: the shortest path from a
 * ClientHello or a GET to a verdict, a reset, and the flow it blocks. */
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "pkt.h"
#include "test.h"

static const char *const POLICY = "version: 1\n"
				  "rules:\n"
				  "  - name: tls-drop\n"
				  "    action: drop\n"
				  "    hosts: [blocked.example]\n"
				  "  - name: tls-reject\n"
				  "    action: reject\n"
				  "    hosts: [reject.example]\n";

static struct fixture fx;

static int hello(struct pkt *p, const char *sni, uint16_t sport, uint16_t dport)
{
	pkt_init(p);
	pkt_simple_tcp(p, "198.18.1.2", "198.18.2.2", sport, dport);
	tls_client_hello(p, sni);
	return pkt_finish(p) ?: p->err;
}

static int get(struct pkt *p, const char *host, uint16_t sport)
{
	pkt_init(p);
	pkt_simple_tcp(p, "198.18.1.2", "198.18.2.2", sport, 80);
	http_get(p, host, "/");
	return pkt_finish(p) ?: p->err;
}

static bool test_tls_one_segment(void)
{
	uint64_t d0 = fx_rule_packets(&fx, "tls-drop");
	struct pkt p;

	ASSERT_OK(hello(&p, "www.blocked.example", 40001, 443), "build");
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "blocked SNI dropped");
	ASSERT_EQ(fx_rule_packets(&fx, "tls-drop"), d0 + 1, "counted");
	ASSERT_OK(hello(&p, "www.allowed.example", 40002, 443), "build");
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "other SNI passes");
	ASSERT_OK(hello(&p, "www.blocked.example", 40003, 8443), "build");
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "not a tls port");
	return true;
}

static bool test_tls_reject_rst(void)
{
	uint8_t out[4096];
	size_t out_len = sizeof(out);
	struct pkt_view v;
	struct pkt p;

	ASSERT_OK(hello(&p, "reject.example", 40010, 443), "build");
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, out, &out_len), XDP_TX, "reset sent");
	ASSERT_OK(pkt_parse(out, out_len, &v), "parse back");
	ASSERT_EQ(v.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK, "RST|ACK");
	ASSERT_TRUE(l4_csum_ok(&v), "checksum");
	return true;
}

static bool test_http_get(void)
{
	uint64_t d0 = fx_rule_packets(&fx, "tls-drop");
	struct pkt p;

	ASSERT_OK(get(&p, "Blocked.Example:8080", 40020), "build");
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "blocked Host dropped");
	ASSERT_EQ(fx_rule_packets(&fx, "tls-drop"), d0 + 1, "counted");
	ASSERT_OK(get(&p, "fine.example", 40021), "build");
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "other Host passes");
	return true;
}

static const struct test_case tests[] = {
	TEST(test_tls_one_segment),
	TEST(test_tls_reject_rst),
	TEST(test_http_get),
};

int main(int argc, char **argv)
{
	return fx_main(&fx, POLICY, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
