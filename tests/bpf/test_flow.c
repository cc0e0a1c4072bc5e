// SPDX-License-Identifier: GPL-2.0
/* Flow verdicts through BPF_PROG_TEST_RUN: a flow a name blocked stays
 * blocked both ways, counted as FLOW on its rule, until a reload lifts the
 * rule; QUIC Initials to a tls port dropped or passed by settings.quic. */
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "fixture.h"
#include "pkt.h"
#include "test.h"

#define RULES_BLOCK                                                                                \
	"  - name: flow-drop\n"                                                                    \
	"    action: drop\n"                                                                       \
	"    hosts: [flow.example]\n"                                                              \
	"  - name: flow-reject\n"                                                                  \
	"    action: reject\n"                                                                     \
	"    hosts: [rj.example]\n"
#define RULE_KEEP                                                                                  \
	"  - name: keep\n"                                                                         \
	"    action: drop\n"                                                                       \
	"    hosts: [keep.example]\n"

/* settings.flows below the default: the flow table and the state of
 * followed flows (a quarter, a sixteenth of it) sized at load. */
static const char *const POLICY =
	"version: 1\nsettings: { flows: 4096 }\nrules:\n" RULES_BLOCK RULE_KEEP;
static const char *const POLICY_LIFTED = "version: 1\nrules:\n" RULE_KEEP;
static const char *const POLICY_MONITOR = "version: 1\nrules:\n"
					  "  - name: flow-drop\n"
					  "    action: monitor\n"
					  "    hosts: [flow.example]\n" RULE_KEEP;
static const char *const POLICY_QUIC_DROP =
	"version: 1\nsettings:\n  quic: drop\nrules:\n" RULE_KEEP;
static const char *const POLICY_QUIC_PASS =
	"version: 1\nsettings:\n  quic: pass\nrules:\n" RULE_KEEP;

#define CLI4 "198.18.5.2"
#define SRV4 "198.18.6.2"
#define CLI6 "2001:db8::5:2"
#define SRV6 "2001:db8::6:2"
#define ACK0 0x3000c000u

static struct fixture fx;
static uint16_t port_next = 41000;

/* A TCP segment of flow (v6, cport <-> sport); back: server to client. */
static int run_tcp(bool v6, bool back, uint16_t cport, uint16_t sport, uint32_t seq,
		   const void *data, size_t len)
{
	const char *c = v6 ? CLI6 : CLI4, *s = v6 ? SRV6 : SRV4;
	struct pkt p;

	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	pkt_ip(&p, back ? s : c, back ? c : s, PKT_AUTO);
	if (back)
		pkt_tcp(&p, sport, cport, PKT_TCP_PSH | PKT_TCP_ACK, ACK0, seq);
	else
		pkt_tcp(&p, cport, sport, PKT_TCP_PSH | PKT_TCP_ACK, seq, ACK0);
	if (len)
		pkt_payload(&p, data, len);
	if (pkt_finish(&p) || p.err)
		return -1000;
	return fx_run(&fx, p.buf, p.len, NULL, NULL);
}

/* A hello for name from cport, in one segment at seq 1; returns verdict;
 * *len gets its length. */
static int hello(bool v6, uint16_t cport, const char *name, size_t *len)
{
	uint8_t m[PKT_MAX];
	struct tls_ch_opts o = {.sni = name};
	int n = tls_client_hello_bytes(m, sizeof(m), &o);

	if (n < 0)
		return -1000;
	*len = (size_t)n;
	return run_tcp(v6, false, cport, 443, 1, m, n);
}

static bool test_flow_both_directions(void)
{
	for (int v6 = 0; v6 < 2; v6++) {
		uint16_t cport = port_next++;
		uint64_t f0 = fx_rule_kind_packets(&fx, "flow-drop", TAPIS_KIND_FLOW);
		uint64_t t0 = fx_rule_kind_packets(&fx, "flow-drop", TAPIS_KIND_TLS);
		uint64_t n0 = fx_stat(&fx, TAPIS_S_FLOW_NEW);
		size_t n;

		ASSERT_EQ(hello(v6, cport, "flow.example", &n), XDP_DROP, "v6=%d", v6);
		ASSERT_EQ(fx_rule_kind_packets(&fx, "flow-drop", TAPIS_KIND_TLS), t0 + 1);
		ASSERT_EQ(fx_stat(&fx, TAPIS_S_FLOW_NEW), n0 + 1, "FLOW_NEW");
		for (int i = 0; i < 3; i++) {
			ASSERT_EQ(run_tcp(v6, false, cport, 443, 1 + n + i, "a", 1), XDP_DROP);
			ASSERT_EQ(run_tcp(v6, true, cport, 443, 1 + n, "b", 1), XDP_DROP);
		}
		ASSERT_EQ(fx_rule_kind_packets(&fx, "flow-drop", TAPIS_KIND_FLOW), f0 + 6,
			  "kind FLOW v6=%d", v6);
		/* the retransmitted hello: the flow's verdict, not a new match */
		ASSERT_EQ(hello(v6, cport, "flow.example", &n), XDP_DROP);
		ASSERT_EQ(fx_rule_kind_packets(&fx, "flow-drop", TAPIS_KIND_FLOW), f0 + 7);
		ASSERT_EQ(fx_rule_kind_packets(&fx, "flow-drop", TAPIS_KIND_TLS), t0 + 1);
		/* another client port: its own flow, unblocked */
		ASSERT_EQ(run_tcp(v6, false, port_next++, 443, 1, "a", 1), XDP_PASS);
	}
	return true;
}

static bool test_reject_flow_then_drop(void)
{
	uint16_t cport = port_next++;
	uint64_t f0 = fx_rule_kind_packets(&fx, "flow-reject", TAPIS_KIND_FLOW);
	size_t n;

	ASSERT_EQ(hello(false, cport, "rj.example", &n), XDP_TX, "reset");
	ASSERT_EQ(run_tcp(false, false, cport, 443, 1 + n, "a", 1), XDP_DROP);
	ASSERT_EQ(run_tcp(false, true, cport, 443, 1 + n, "b", 1), XDP_DROP);
	ASSERT_EQ(fx_rule_kind_packets(&fx, "flow-reject", TAPIS_KIND_FLOW), f0 + 2);
	return true;
}

static bool test_lifted_by_reload(void)
{
	uint16_t c1 = port_next++, c2 = port_next++, c3 = port_next++;
	size_t n1, n2, n3;

	ASSERT_OK(fx_policy(&fx, POLICY));
	ASSERT_EQ(hello(false, c1, "flow.example", &n1), XDP_DROP);
	ASSERT_EQ(hello(true, c2, "flow.example", &n2), XDP_DROP);
	ASSERT_EQ(hello(false, c3, "keep.example", &n3), XDP_DROP);
	ASSERT_OK(fx_policy(&fx, POLICY_LIFTED), "reload without flow-drop");
	ASSERT_EQ(run_tcp(false, false, c1, 443, 1 + n1, "a", 1), XDP_PASS, "lifted, to server");
	ASSERT_EQ(run_tcp(false, true, c1, 443, 1 + n1, "b", 1), XDP_PASS, "lifted, to client");
	ASSERT_EQ(run_tcp(true, true, c2, 443, 1 + n2, "b", 1), XDP_PASS, "lifted, v6 back");
	ASSERT_EQ(run_tcp(true, false, c2, 443, 1 + n2, "a", 1), XDP_PASS, "lifted, v6");
	ASSERT_EQ(run_tcp(false, false, c3, 443, 1 + n3, "a", 1), XDP_DROP, "kept rule's flow");
	ASSERT_EQ(run_tcp(false, true, c3, 443, 1 + n3, "b", 1), XDP_DROP, "kept rule's flow");

	/* the same rule name turned into monitor: no longer blocks */
	ASSERT_OK(fx_policy(&fx, POLICY));
	c1 = port_next++;
	ASSERT_EQ(hello(false, c1, "flow.example", &n1), XDP_DROP);
	ASSERT_OK(fx_policy(&fx, POLICY_MONITOR), "reload with flow-drop as monitor");
	ASSERT_EQ(run_tcp(false, false, c1, 443, 1 + n1, "a", 1), XDP_PASS, "monitor now");
	ASSERT_EQ(run_tcp(false, true, c1, 443, 1 + n1, "b", 1), XDP_PASS, "monitor now");

	/* put back; a flow lifted stays free when the rule returns */
	ASSERT_OK(fx_policy(&fx, POLICY));
	ASSERT_EQ(run_tcp(false, false, c1, 443, 2 + n1, "a", 1), XDP_PASS, "state forgotten");
	return true;
}

/* ---------------------------------------------------------------- QUIC */

static int quic(bool v6, uint16_t dport, uint8_t first, uint32_t version)
{
	uint8_t m[1200];
	struct pkt p;

	memset(m, 0, sizeof(m));
	m[0] = first;
	m[1] = version >> 24;
	m[2] = version >> 16;
	m[3] = version >> 8;
	m[4] = version;
	m[5] = 8; /* dcid length */
	memset(m + 6, 0xab, 8);
	m[14] = 0; /* scid length */
	pkt_init(&p);
	pkt_simple_udp(&p, v6 ? CLI6 : CLI4, v6 ? SRV6 : SRV4, port_next++, dport);
	pkt_payload(&p, m, sizeof(m));
	if (pkt_finish(&p) || p.err)
		return -1000;
	return fx_run(&fx, p.buf, p.len, NULL, NULL);
}

static bool test_quic_drop(void)
{
	uint64_t d0, p0;

	ASSERT_OK(fx_policy(&fx, POLICY_QUIC_DROP));
	d0 = fx_stat(&fx, TAPIS_S_QUIC_DROP);
	p0 = fx_stat(&fx, TAPIS_S_QUIC_PASS);
	ASSERT_EQ(quic(false, 443, 0xc3, 1), XDP_DROP, "v1 Initial");
	ASSERT_EQ(quic(true, 443, 0xc0, 1), XDP_DROP, "v1 Initial, IPv6");
	ASSERT_EQ(quic(false, 443, 0xd1, 0x6b3343cf), XDP_DROP, "v2 Initial (type 1)");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_QUIC_DROP), d0 + 3, "QUIC_DROP");
	/* not Initials */
	ASSERT_EQ(quic(false, 443, 0xe0, 1), XDP_PASS, "v1 Handshake");
	ASSERT_EQ(quic(false, 443, 0xc0, 0x6b3343cf), XDP_PASS, "v2 type 0 is 0-RTT");
	ASSERT_EQ(quic(false, 443, 0x40, 1), XDP_PASS, "short header");
	ASSERT_EQ(quic(false, 443, 0xc0, 0), XDP_PASS, "version negotiation");
	ASSERT_EQ(quic(false, 8443, 0xc0, 1), XDP_PASS, "not a tls port");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_QUIC_DROP), d0 + 3, "QUIC_DROP unchanged");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_QUIC_PASS), p0, "QUIC_PASS unchanged");
	return true;
}

static bool test_quic_pass(void)
{
	uint64_t d0, p0;

	ASSERT_OK(fx_policy(&fx, POLICY_QUIC_PASS));
	d0 = fx_stat(&fx, TAPIS_S_QUIC_DROP);
	p0 = fx_stat(&fx, TAPIS_S_QUIC_PASS);
	ASSERT_EQ(quic(false, 443, 0xc0, 1), XDP_PASS);
	ASSERT_EQ(quic(true, 443, 0xd0, 0x6b3343cf), XDP_PASS);
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_QUIC_PASS), p0 + 2, "QUIC_PASS");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_QUIC_DROP), d0);
	/* default (no settings.quic) is pass */
	ASSERT_OK(fx_policy(&fx, POLICY));
	ASSERT_EQ(quic(false, 443, 0xc0, 1), XDP_PASS);
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_QUIC_PASS), p0 + 3, "QUIC_PASS by default");
	return true;
}

/* The slot tapis_flows files the IPv4 flow from cport to 443 under (the
 * hash both sides share, bpf/tapis_abi.h). */
static int slot_of(uint16_t cport, uint32_t *slot)
{
	struct tapis_flow_key k = {.family = 4};
	uint32_t slots;

	if (inet_pton(AF_INET, CLI4, k.caddr) != 1 || inet_pton(AF_INET, SRV4, k.saddr) != 1 ||
	    tapis_flows_size(&fx.t, &slots) || !slots || (slots & (slots - 1)))
		return -1;
	k.cport_be = htons(cport);
	k.sport_be = htons(443);
	*slot = (uint32_t)tapis_flow_hash(&k) & (slots - 1);
	return 0;
}

/* Two flows in one slot: the later takes it, the earlier's verdict is
 * gone (its packets pass) and the eviction is counted. The other flow is
 * written into the slot from here, as a flow with another key would. */
static bool test_evicted(void)
{
	uint16_t cport = port_next++;
	struct tapis_flow_slot other = {.rule = 1, .state = TAPIS_FLOW_VERDICT};
	uint64_t e0 = fx_stat(&fx, TAPIS_S_FLOW_EVICT);
	uint32_t slot;
	size_t n;

	ASSERT_OK(slot_of(cport, &slot), "the flow's slot");
	ASSERT_EQ(hello(false, cport, "flow.example", &n), XDP_DROP, "blocked");
	ASSERT_EQ(run_tcp(false, false, cport, 443, 1 + n, "a", 1), XDP_DROP, "its verdict holds");
	other.key.family = 4;
	other.key.cport_be = htons(1);
	ASSERT_OK(bpf_map_update_elem(fx.t.map_fd[M_FLOWS], &slot, &other, BPF_ANY), "other flow");
	ASSERT_EQ(run_tcp(false, false, cport, 443, 1 + n, "a", 1), XDP_PASS,
		  "its slot taken: the verdict is gone");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_FLOW_EVICT), e0, "nothing evicted by a reader");
	/* A new hello blocks it again, taking the slot back: counted. */
	ASSERT_EQ(hello(false, cport, "flow.example", &n), XDP_DROP, "blocked again");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_FLOW_EVICT), e0 + 1, "the other flow evicted");
	ASSERT_EQ(run_tcp(false, true, cport, 443, 1 + n, "b", 1), XDP_DROP, "verdict back");
	return true;
}

/* Two hellos followed at once whose slots share an entry of
 * tapis_l7_states (the same low bits): the later takes the entry, so the
 * earlier's next segment cannot be followed: it passes, counted as out of
 * order, and its flow is free; the later is matched as ever. */
static bool test_state_taken(void)
{
	uint8_t m[PKT_MAX];
	struct tls_ch_opts o = {.sni = "flow.example"};
	int n = tls_client_hello_bytes(m, sizeof(m), &o);
	uint16_t a = port_next++, b = 0;
	uint32_t sa, sb, slots = 0, states;
	uint64_t r0 = fx_reason(&fx, TAPIS_R_L7_OUT_OF_ORDER);
	const size_t cut = 60; /* before the extensions: both are followed */

	ASSERT_GT(n, (int)cut, "a hello");
	ASSERT_OK(tapis_flows_size(&fx.t, &slots));
	ASSERT_EQ(slots, 4096u, "settings.flows sized the flow table");
	states = slots >> TAPIS_L7_STATES_SHIFT;
	ASSERT_OK(slot_of(a, &sa), "slot of a");
	for (uint32_t p = 1024; p < 65535 && !b; p++) {
		if (p == a || slot_of((uint16_t)p, &sb))
			continue;
		if (sb != sa && (sb & (states - 1)) == (sa & (states - 1)))
			b = (uint16_t)p;
	}
	ASSERT_TRUE(b, "a port whose slot shares a's state entry");
	ASSERT_EQ(run_tcp(false, false, a, 443, 1, m, cut), XDP_PASS, "a: first segment");
	ASSERT_EQ(run_tcp(false, false, b, 443, 1, m, cut), XDP_PASS, "b: first segment");
	ASSERT_EQ(run_tcp(false, false, a, 443, 1 + cut, m + cut, (size_t)n - cut), XDP_PASS,
		  "a: its state taken, the name not seen");
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_L7_OUT_OF_ORDER), r0 + 1, "counted as out of order");
	ASSERT_EQ(run_tcp(false, false, b, 443, 1 + cut, m + cut, (size_t)n - cut), XDP_DROP,
		  "b: followed, the name matched");
	ASSERT_EQ(run_tcp(false, false, a, 443, 1 + n, "x", 1), XDP_PASS, "a's flow is free");
	return true;
}

/* A SYN is not looked up in the flow table, unless it carries data: a
 * ClientHello in a SYN (TCP Fast Open) is matched like any. */
static bool test_fast_open_hello(void)
{
	uint8_t m[PKT_MAX];
	struct tls_ch_opts o = {.sni = "flow.example"};
	int n = tls_client_hello_bytes(m, sizeof(m), &o);
	uint16_t cport = port_next++;
	struct pkt p;

	ASSERT_GT(n, 0, "a hello");
	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	pkt_ip(&p, CLI4, SRV4, PKT_AUTO);
	pkt_tcp(&p, cport, 443, PKT_TCP_SYN, 1, 0);
	pkt_payload(&p, m, (size_t)n);
	ASSERT_OK(pkt_finish(&p));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "SYN with a blocked hello");
	pkt_init(&p);
	pkt_eth(&p, NULL, NULL);
	pkt_ip(&p, CLI4, SRV4, PKT_AUTO);
	pkt_tcp(&p, (uint16_t)(cport + 1000), 443, PKT_TCP_SYN, 1, 0);
	ASSERT_OK(pkt_finish(&p));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "a bare SYN");
	return true;
}

static const struct test_case tests[] = {
	TEST(test_flow_both_directions),
	TEST(test_reject_flow_then_drop),
	TEST(test_evicted),
	TEST(test_state_taken),
	TEST(test_fast_open_hello),
	TEST(test_lifted_by_reload),
	TEST(test_quic_drop),
	TEST(test_quic_pass),
};

int main(int argc, char **argv)
{
	return fx_main(&fx, POLICY, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
