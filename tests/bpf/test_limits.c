// SPDX-License-Identifier: GPL-2.0
/* What the README says the data path does at its limits, and no other test
 * showed: headers beyond the walk caps (2 VLAN tags, 8 MPLS labels, 8 IPv6
 * extension headers) pass and are counted by reason; an MPLS payload that
 * is not IP and a bad IPv4 header likewise; non-first fragments are matched
 * on their addresses and counted as fragments; a match of an expired rule
 * passes and counts in that rule's expired_hits and in expired_matches.
 *
 * Every "passed and counted" case is set beside the same packet one step
 * inside the limit, which the blocking rule drops: so a pass means the cap
 * was hit, not that the packet never matched. */
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "pkt.h"
#include "test.h"

static const char *const POLICY = "version: 1\n"
				  "rules:\n"
				  "  - name: block-dst\n"
				  "    action: drop\n"
				  "    nets: [198.18.3.0/24, \"2001:db8:3::/48\"]\n"
				  "  - name: old-order\n"
				  "    action: drop\n"
				  "    expires: 2020-01-01T00:00:00Z\n"
				  "    nets: [198.18.7.0/24, \"2001:db8:7::/48\"]\n";

#define SRC4 "198.18.1.2"
#define DST4 "198.18.3.10" /* in block-dst */
#define SRC6 "2001:db8:1::2"
#define DST6 "2001:db8:3::10" /* in block-dst */

static struct fixture fx;

/* Run a built frame; the verdict. */
static int run(struct pkt *p)
{
	if (pkt_finish(p)) {
		fprintf(stderr, "build: %s\n", p->errmsg ? p->errmsg : "?");
		return -1;
	}
	return fx_run(&fx, p->buf, p->len, NULL, NULL);
}

/* A frame at the cap is dropped by block-dst; one header more passes,
 * block-dst does not count it, and reason counts it once. */
static bool at_and_over(struct pkt *at, struct pkt *over, unsigned reason, const char *what)
{
	uint64_t r0 = fx_reason(&fx, reason), b0 = fx_rule_packets(&fx, "block-dst");
	int ret;

	ret = run(at);
	ASSERT_EQ(ret, XDP_DROP, "%s at the cap: %s", what, xdp_action_name(ret));
	ASSERT_EQ(fx_rule_packets(&fx, "block-dst"), b0 + 1, "%s at the cap: counted", what);
	ASSERT_EQ(fx_reason(&fx, reason), r0, "%s at the cap: no reason counted", what);
	ret = run(over);
	ASSERT_EQ(ret, XDP_PASS, "%s over the cap: %s", what, xdp_action_name(ret));
	ASSERT_EQ(fx_rule_packets(&fx, "block-dst"), b0 + 1, "%s over the cap: not matched", what);
	ASSERT_EQ(fx_reason(&fx, reason), r0 + 1, "%s over the cap: reason counted", what);
	return true;
}

static void vlans(struct pkt *p, int n)
{
	pkt_init(p);
	pkt_eth(p, NULL, NULL);
	for (int i = 0; i < n; i++)
		pkt_vlan(p, i == 0 && n > 1 ? PKT_TPID_8021AD : PKT_TPID_8021Q, 100 + i);
	pkt_ipv4(p, SRC4, DST4, IPPROTO_TCP, NULL);
	pkt_tcp(p, 40000, 80, PKT_TCP_SYN, 1, 0);
}

static bool test_vlan_depth(void)
{
	struct pkt at, over;

	vlans(&at, TAPIS_MAX_VLAN);
	vlans(&over, TAPIS_MAX_VLAN + 1);
	return at_and_over(&at, &over, TAPIS_R_VLAN_DEPTH, "802.1Q/802.1ad tags");
}

static void labels(struct pkt *p, int n)
{
	pkt_init(p);
	pkt_eth(p, NULL, NULL);
	for (int i = 0; i < n; i++)
		pkt_mpls(p, 1000 + i, i == n - 1);
	pkt_ipv4(p, SRC4, DST4, IPPROTO_TCP, NULL);
	pkt_tcp(p, 40000, 80, PKT_TCP_SYN, 1, 0);
}

static bool test_mpls_depth(void)
{
	struct pkt at, over;

	labels(&at, TAPIS_MAX_MPLS);
	labels(&over, TAPIS_MAX_MPLS + 1);
	return at_and_over(&at, &over, TAPIS_R_MPLS_DEPTH, "MPLS labels");
}

static void ext_chain(struct pkt *p, int n)
{
	static const uint8_t types[] = {0, 60, 43, 60};

	pkt_init(p);
	pkt_eth(p, NULL, NULL);
	pkt_ipv6(p, SRC6, DST6, PKT_AUTO);
	/* Hop-by-hop first (RFC 8200 allows it only there), then
	 * destination options and routing headers. */
	for (int i = 0; i < n; i++)
		pkt_ipv6_ext(p, i == 0 ? 0 : types[1 + i % 3], NULL);
	pkt_tcp(p, 40000, 443, PKT_TCP_SYN, 1, 0);
}

static bool test_ipv6_ext_depth(void)
{
	struct pkt at, over;

	ext_chain(&at, TAPIS_MAX_IPV6_EXT);
	ext_chain(&over, TAPIS_MAX_IPV6_EXT + 1);
	return at_and_over(&at, &over, TAPIS_R_IPV6_EXT_DEPTH, "IPv6 extension headers");
}

/* The bottom-of-stack payload's first nibble is neither 4 nor 6. */
static bool test_mpls_not_ip(void)
{
	static const uint8_t not_ip[40] = {0x20};
	uint64_t r0 = fx_reason(&fx, TAPIS_R_MPLS_PAYLOAD);
	struct pkt p;
	int ret;

	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	pkt_mpls(&p, 1000, 1);
	pkt_payload(&p, not_ip, sizeof(not_ip));
	ret = run(&p);
	ASSERT_EQ(ret, XDP_PASS, "%s", xdp_action_name(ret));
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_MPLS_PAYLOAD), r0 + 1, "mpls_not_ip counted");
	return true;
}

/* IHL 4 (16 bytes): no IPv4 header; passed, ipv4_bad_header, even to a
 * blocked address. */
static bool test_ipv4_bad_header(void)
{
	uint64_t r0 = fx_reason(&fx, TAPIS_R_IPV4_HDR), b0 = fx_rule_packets(&fx, "block-dst");
	struct pkt p;
	int ret;

	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	pkt_ipv4(&p, SRC4, DST4, IPPROTO_TCP, NULL);
	pkt_tcp(&p, 40000, 80, PKT_TCP_SYN, 1, 0);
	ASSERT_OK(pkt_finish(&p));
	ASSERT_EQ(p.buf[14] >> 4, 4, "the builder wrote IPv4 at offset 14");
	p.buf[14] = 0x44;
	ret = fx_run(&fx, p.buf, p.len, NULL, NULL);
	ASSERT_EQ(ret, XDP_PASS, "%s", xdp_action_name(ret));
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_IPV4_HDR), r0 + 1, "ipv4_bad_header counted");
	ASSERT_EQ(fx_rule_packets(&fx, "block-dst"), b0, "not matched");
	return true;
}

/* Non-first fragments carry no L4 header: matched on addresses (a blocked
 * destination is dropped) and counted in fragments; a first fragment is
 * not a "fragment" in that counter. */
static bool test_fragment_counter(void)
{
	uint64_t f0 = fx_stat(&fx, TAPIS_S_FRAGMENT), b0 = fx_rule_packets(&fx, "block-dst");
	struct pkt_ipv4_opts later = {.frag_offset = 64}, first = {.mf = true};
	struct pkt p;
	int ret;

	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	pkt_ipv4(&p, SRC4, DST4, IPPROTO_TCP, &later);
	pkt_payload(&p, "0123456789abcdef", 16);
	ret = run(&p);
	ASSERT_EQ(ret, XDP_DROP, "IPv4 later fragment to a blocked address: %s",
		  xdp_action_name(ret));
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_FRAGMENT), f0 + 1, "IPv4 later fragment counted");

	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	pkt_ipv6(&p, SRC6, DST6, PKT_AUTO);
	pkt_ipv6_frag(&p, 64, false, 7);
	pkt_payload(&p, "0123456789abcdef", 16);
	ret = run(&p);
	ASSERT_EQ(ret, XDP_DROP, "IPv6 later fragment to a blocked address: %s",
		  xdp_action_name(ret));
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_FRAGMENT), f0 + 2, "IPv6 later fragment counted");

	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	pkt_ipv4(&p, SRC4, "198.18.2.10", IPPROTO_TCP, &later);
	pkt_payload(&p, "0123456789abcdef", 16);
	ret = run(&p);
	ASSERT_EQ(ret, XDP_PASS, "later fragment to an open address: %s", xdp_action_name(ret));
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_FRAGMENT), f0 + 3, "counted whatever its verdict");

	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	pkt_ipv4(&p, SRC4, DST4, IPPROTO_TCP, &first);
	pkt_tcp(&p, 40000, 80, PKT_TCP_ACK, 1, 1);
	pkt_payload(&p, "0123456789abcdef", 16);
	ret = run(&p);
	ASSERT_EQ(ret, XDP_DROP, "first fragment: %s", xdp_action_name(ret));
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_FRAGMENT), f0 + 3, "a first fragment is not counted");
	ASSERT_EQ(fx_rule_packets(&fx, "block-dst"), b0 + 3, "block-dst counted the three drops");
	return true;
}

/* A match of an expired rule passes, as if the rule were not there, and
 * counts in the rule's expired_hits and in expired_matches, not in its
 * packets. */
static bool test_expired_hits(void)
{
	uint64_t e0 = fx_rule_expired(&fx, "old-order"), s0 = fx_stat(&fx, TAPIS_S_EXPIRED);
	uint64_t p0 = fx_rule_packets(&fx, "old-order");
	const char *dst[2] = {"198.18.7.10", "2001:db8:7::10"};
	const char *src[2] = {SRC4, SRC6};

	for (int v6 = 0; v6 < 2; v6++) {
		struct pkt p;
		int ret;

		pkt_init(&p);
		pkt_eth(&p, NULL, NULL);
		pkt_ip(&p, src[v6], dst[v6], IPPROTO_TCP);
		pkt_tcp(&p, 40000, 80, PKT_TCP_SYN, 1, 0);
		ret = run(&p);
		ASSERT_EQ(ret, XDP_PASS, "%s (expired rule): %s", dst[v6], xdp_action_name(ret));
		ASSERT_EQ(fx_rule_expired(&fx, "old-order"), e0 + 1 + v6, "%s: expired_hits",
			  dst[v6]);
		ASSERT_EQ(fx_stat(&fx, TAPIS_S_EXPIRED), s0 + 1 + v6, "%s: expired_matches",
			  dst[v6]);
	}
	ASSERT_EQ(fx_rule_packets(&fx, "old-order"), p0, "an expired rule counts no packets");
	ASSERT_EQ(fx_rule_expired(&fx, "block-dst"), 0, "a live rule has no expired hits");
	return true;
}

static const struct test_case tests[] = {
	TEST(test_vlan_depth),	 TEST(test_mpls_depth),	     TEST(test_ipv6_ext_depth),
	TEST(test_mpls_not_ip),	 TEST(test_ipv4_bad_header), TEST(test_fragment_counter),
	TEST(test_expired_hits),
};

int main(int argc, char **argv)
{
	return fx_main(&fx, POLICY, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
