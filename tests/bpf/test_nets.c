// SPDX-License-Identifier: GPL-2.0
/* Net rules through BPF_PROG_TEST_RUN: every encapsulation the data path
 * parses x every L3 shape x every kind of rule outcome, checking the verdict
 * and the counter of the rule that matched; then truncated frames at every
 * header boundary, which must pass and be counted by reason. */
#include <linux/bpf.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "pkt.h"
#include "test.h"

static const char *const POLICY = "version: 1\n"
				  "rules:\n"
				  "  - name: allow-hole\n"
				  "    action: allow\n"
				  "    nets: [198.18.3.99/32, \"2001:db8:3::99/128\"]\n"
				  "  - name: block-dst\n"
				  "    action: drop\n"
				  "    nets: [198.18.3.0/24, \"2001:db8:3::/48\"]\n"
				  "  - name: block-src\n"
				  "    action: drop\n"
				  "    direction: src\n"
				  "    nets: [198.18.5.0/24, \"2001:db8:5::/48\"]\n"
				  "  - name: old-order\n"
				  "    action: drop\n"
				  "    expires: 2020-01-01T00:00:00Z\n"
				  "    nets: [198.18.7.0/24, \"2001:db8:7::/48\"]\n"
				  "  - name: watch\n"
				  "    action: monitor\n"
				  "    nets: [198.18.9.0/25, \"2001:db8:9::/64\"]\n"
				  "  - name: host-32\n"
				  "    action: drop\n"
				  "    nets: [198.18.9.200/32, \"2001:db8:9:1::1/128\"]\n";

static struct fixture fx;

enum encap { E_PLAIN, E_VLAN, E_QINQ, E_PPPOE, E_MPLS, E_VLAN_PPPOE, E_VLAN_MPLS, E__N };
static const char *const encap_names[] = {"plain", "vlan",	 "qinq",     "pppoe",
					  "mpls",  "vlan+pppoe", "vlan+mpls"};

enum shape { S_V4, S_V6_EXT, S_V4_FIRST_FRAG, S_V4_LATER_FRAG, S_V6_LATER_FRAG, S__N };
static const char *const shape_names[] = {"ipv4", "ipv6+ext", "ipv4-first-frag", "ipv4-later-frag",
					  "ipv6-later-frag"};

static int build(struct pkt *p, enum encap e, enum shape s, const char *src, const char *dst)
{
	pkt_init(p);
	pkt_eth(p, "02:00:00:00:00:02", "02:00:00:00:00:01");
	if (e == E_VLAN || e == E_VLAN_PPPOE || e == E_VLAN_MPLS)
		pkt_vlan(p, PKT_TPID_8021Q, 100);
	if (e == E_QINQ) {
		pkt_vlan(p, PKT_TPID_8021AD, 200);
		pkt_vlan(p, PKT_TPID_8021Q, 100);
	}
	if (e == E_PPPOE || e == E_VLAN_PPPOE)
		pkt_pppoe(p, 0x1234);
	if (e == E_MPLS || e == E_VLAN_MPLS) {
		pkt_mpls(p, 1000, 0);
		pkt_mpls(p, 2000, 1);
	}
	switch (s) {
	case S_V4:
		pkt_ipv4(p, src, dst, IPPROTO_TCP, NULL);
		pkt_tcp(p, 40000, 80, PKT_TCP_SYN, 1, 0);
		break;
	case S_V4_FIRST_FRAG: {
		struct pkt_ipv4_opts o = {.mf = true};

		pkt_ipv4(p, src, dst, IPPROTO_TCP, &o);
		pkt_tcp(p, 40000, 80, PKT_TCP_ACK, 1, 1);
		pkt_payload(p, "0123456789abcdef", 16);
		break;
	}
	case S_V4_LATER_FRAG: {
		struct pkt_ipv4_opts o = {.frag_offset = 64};

		pkt_ipv4(p, src, dst, IPPROTO_TCP, &o);
		pkt_payload(p, "0123456789abcdef", 16);
		break;
	}
	case S_V6_EXT:
		pkt_ipv6(p, src, dst, PKT_AUTO);
		pkt_ipv6_ext(p, 0, NULL);
		pkt_ipv6_ext(p, 60, NULL);
		pkt_ipv6_ext(p, 43, NULL);
		pkt_tcp(p, 40000, 443, PKT_TCP_SYN, 1, 0);
		break;
	case S_V6_LATER_FRAG:
		pkt_ipv6(p, src, dst, PKT_AUTO);
		pkt_ipv6_frag(p, 64, false, 7);
		pkt_payload(p, "0123456789abcdef", 16);
		break;
	default:
		break;
	}
	return pkt_finish(p) ?: p->err;
}

struct outcome {
	const char *what;
	const char *src4, *dst4, *src6, *dst6;
	int verdict;
	const char *rule; /* counter that must grow by one, or NULL */
};

static const struct outcome outcomes[] = {
	{"blocked dst", "198.18.1.2", "198.18.3.10", "2001:db8:1::2", "2001:db8:3::10", XDP_DROP,
	 "block-dst"},
	{"blocked src (direction src)", "198.18.5.7", "198.18.2.10", "2001:db8:5::7",
	 "2001:db8:2::10", XDP_DROP, "block-src"},
	{"not blocked", "198.18.1.2", "198.18.2.10", "2001:db8:1::2", "2001:db8:2::10", XDP_PASS,
	 NULL},
	{"allow inside blocked range", "198.18.1.2", "198.18.3.99", "2001:db8:1::2",
	 "2001:db8:3::99", XDP_PASS, "allow-hole"},
	{"expired rule", "198.18.1.2", "198.18.7.10", "2001:db8:1::2", "2001:db8:7::10", XDP_PASS,
	 NULL},
	{"monitor", "198.18.1.2", "198.18.9.1", "2001:db8:1::2", "2001:db8:9::1", XDP_PASS,
	 "watch"},
	{"host route beside monitor", "198.18.1.2", "198.18.9.200", "2001:db8:1::2",
	 "2001:db8:9:1::1", XDP_DROP, "host-32"},
	{"src rule ignores dst use", "198.18.1.2", "198.18.5.9", "2001:db8:1::2", "2001:db8:5::9",
	 XDP_PASS, NULL},
};

static const char *const rule_names[] = {"allow-hole", "block-dst", "block-src",
					 "old-order",  "watch",	    "host-32"};

static bool one_case(enum encap e, enum shape s, const struct outcome *o)
{
	bool v6 = s == S_V6_EXT || s == S_V6_LATER_FRAG;
	uint64_t before[6], expired_before = fx_stat(&fx, 2 /* TAPIS_S_EXPIRED */);
	struct pkt p;
	int ret;

	for (int i = 0; i < 6; i++)
		before[i] = fx_rule_packets(&fx, rule_names[i]);
	ASSERT_OK(build(&p, e, s, v6 ? o->src6 : o->src4, v6 ? o->dst6 : o->dst4), "build %s %s",
		  encap_names[e], shape_names[s]);
	ret = fx_run(&fx, p.buf, p.len, NULL, NULL);
	ASSERT_EQ(ret, o->verdict, "%s / %s / %s: verdict %s", encap_names[e], shape_names[s],
		  o->what, xdp_action_name(ret));
	for (int i = 0; i < 6; i++) {
		uint64_t want = before[i] + (o->rule && !strcmp(o->rule, rule_names[i]));

		ASSERT_EQ(fx_rule_packets(&fx, rule_names[i]), want, "%s / %s / %s: counter of %s",
			  encap_names[e], shape_names[s], o->what, rule_names[i]);
	}
	if (!strcmp(o->what, "expired rule"))
		ASSERT_EQ(fx_stat(&fx, TAPIS_S_EXPIRED), expired_before + 1,
			  "expired match counted");
	return true;
}

static bool test_matrix(void)
{
	unsigned n = 0;

	for (int e = 0; e < E__N; e++)
		for (int s = 0; s < S__N; s++)
			for (size_t o = 0; o < sizeof(outcomes) / sizeof(outcomes[0]); o++) {
				if (!one_case(e, s, &outcomes[o]))
					return false;
				n++;
			}
	test_cases(n);
	printf("# %u cases: %d encapsulations x %d shapes x %zu outcomes\n", n, E__N, S__N,
	       sizeof(outcomes) / sizeof(outcomes[0]));
	return true;
}

static bool test_bytes_counted(void)
{
	uint64_t b0 = fx_rule_bytes(&fx, "block-dst");
	struct pkt p;

	ASSERT_OK(build(&p, E_PLAIN, S_V4, "198.18.1.2", "198.18.3.10"));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP);
	ASSERT_EQ(fx_rule_bytes(&fx, "block-dst"), b0 + p.len, "bytes = frame length");
	return true;
}

/* Expected reason for a frame cut inside header layer l. */
static unsigned cut_reason(uint8_t type)
{
	switch (type) {
	case PKT_L_ETH:
	case PKT_L_VLAN:
	case PKT_L_PPPOE:
		return TAPIS_R_L2_TRUNC;
	case PKT_L_MPLS:
		return TAPIS_R_MPLS_TRUNC;
	case PKT_L_IPV4:
		return TAPIS_R_IPV4_TRUNC;
	case PKT_L_IPV6:
		return TAPIS_R_IPV6_TRUNC;
	case PKT_L_IPV6_EXT:
		return TAPIS_R_IPV6_EXT_TRUNC;
	default:
		return TAPIS_R_L4_TRUNC;
	}
}

static bool test_truncated(void)
{
	unsigned n = 0;

	for (int e = 0; e < E__N; e++)
		for (int s = 0; s < S__N; s++) {
			struct pkt p;

			if (s == S_V4_LATER_FRAG || s == S_V6_LATER_FRAG)
				continue;
			/* A blocked destination: a truncated frame must pass. */
			ASSERT_OK(build(&p, e, s, s == S_V6_EXT ? "2001:db8:1::2" : "198.18.1.2",
					s == S_V6_EXT ? "2001:db8:2::10" : "198.18.2.10"));
			for (unsigned l = 0; l < p.nlayers; l++) {
				size_t start = p.layer[l].off;
				size_t end = l + 1 < p.nlayers ? p.layer[l + 1].off : p.len;
				uint8_t type = p.layer[l].type;

				if (type == PKT_L_PAYLOAD)
					continue;
				/* The frame ends at the header's first byte and
				 * one byte short of its end. */
				size_t cuts[2] = {start, end - 1};

				for (int c = 0; c < 2; c++) {
					unsigned reason = cut_reason(type);

					/* MPLS names no payload type: the parser
					 * reads the IP version nibble, so a frame
					 * ending at the label stack is an MPLS cut. */
					if (c == 0 && l && p.layer[l - 1].type == PKT_L_MPLS)
						reason = TAPIS_R_MPLS_TRUNC;
					uint64_t r0 = fx_reason(&fx, reason);
					int ret;

					/* BPF_PROG_TEST_RUN refuses frames
					 * shorter than an Ethernet header. */
					if (cuts[c] < 14)
						continue;
					ret = fx_run(&fx, p.buf, cuts[c], NULL, NULL);
					ASSERT_EQ(ret, XDP_PASS, "%s/%s cut at %zu (layer %u): %s",
						  encap_names[e], shape_names[s], cuts[c], type,
						  xdp_action_name(ret));
					/* A cut at the first byte of a header is a
					 * cut in that header. */
					ASSERT_EQ(fx_reason(&fx, reason), r0 + 1,
						  "%s/%s cut at %zu (layer type %u): reason %s",
						  encap_names[e], shape_names[s], cuts[c], type,
						  reason_name(reason));
					n++;
				}
			}
		}
	test_cases(n);
	printf("# %u truncated frames\n", n);
	return true;
}

static bool test_non_ip_passes(void)
{
	uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
	uint64_t r0 = fx_reason(&fx, TAPIS_R_NOT_IP);

	ASSERT_EQ(fx_run(&fx, arp, sizeof(arp), NULL, NULL), XDP_PASS);
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_NOT_IP), r0 + 1, "ARP counted as not_ip");
	return true;
}

static bool test_reload_keeps_counters(void)
{
	uint64_t before = fx_rule_packets(&fx, "block-dst");
	struct pkt p;

	ASSERT_TRUE(before > 0);
	ASSERT_OK(fx_policy(&fx, POLICY), "reload the same policy");
	ASSERT_EQ(fx_rule_packets(&fx, "block-dst"), before, "counter survives a reload");
	ASSERT_OK(build(&p, E_PLAIN, S_V4, "198.18.1.2", "198.18.3.10"));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "still blocked after reload");
	return true;
}

static uint64_t rule_entries(const char *rule, bool v6)
{
	struct snapshot s;
	uint64_t n = (uint64_t)-1;

	if (tapis_snapshot(&fx.t, &s))
		return n;
	for (size_t i = 0; i < s.n_rules; i++)
		if (!strcmp(s.rules[i].name, rule))
			n = v6 ? s.rules[i].nets_v6 : s.rules[i].nets_v4;
	snapshot_free(&s);
	return n;
}

static bool test_live_add_del(void)
{
	uint64_t v4_before = rule_entries("block-dst", false);
	struct net_entry e;
	bool hb;
	struct pkt p;

	ASSERT_EQ(v4_before, 1, "the policy gives block-dst one IPv4 prefix");
	ASSERT_EQ(rule_entries("block-src", true), 1, "and block-src one IPv6 prefix");
	ASSERT_OK(build(&p, E_PLAIN, S_V4, "198.18.1.2", "198.18.11.1"));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS);
	ASSERT_OK(parse_cidr("198.18.11.0/24", &e, &hb));
	ASSERT_OK(tapis_net_edit(&fx.t, "block-dst", &e, true));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "blocked after net add");
	ASSERT_EQ(rule_entries("block-dst", false), v4_before + 1, "entries count the add");
	/* A longer prefix inside, then removed: the /24 takes over again. */
	ASSERT_OK(parse_cidr("198.18.11.0/30", &e, &hb));
	ASSERT_OK(tapis_net_edit(&fx.t, "allow-hole", &e, true));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "allowed /30 inside");
	ASSERT_OK(tapis_net_edit(&fx.t, "allow-hole", &e, false));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "/24 again after del");
	ASSERT_OK(parse_cidr("198.18.11.0/24", &e, &hb));
	ASSERT_TRUE(tapis_net_edit(&fx.t, "watch", &e, false) < 0, "del from the wrong rule");
	ASSERT_OK(tapis_net_edit(&fx.t, "block-dst", &e, false));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "passes after net del");
	ASSERT_EQ(rule_entries("block-dst", false), v4_before, "entries count the del");
	/* IPv6 the same way. */
	ASSERT_OK(build(&p, E_PLAIN, S_V6_EXT, "2001:db8:1::2", "2001:db8:11::1"));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS);
	ASSERT_OK(parse_cidr("2001:db8:11::/56", &e, &hb));
	ASSERT_OK(tapis_net_edit(&fx.t, "block-dst", &e, true));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "v6 blocked after add");
	ASSERT_OK(tapis_net_edit(&fx.t, "block-dst", &e, false));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "v6 passes after del");
	return true;
}

static int v6_verdict(const char *dst)
{
	struct pkt p;

	if (build(&p, E_PLAIN, S_V6_EXT, "2001:db8:1::2", dst))
		return -1;
	return fx_run(&fx, p.buf, p.len, NULL, NULL);
}

static bool v6_edit(const char *cidr, const char *rule, bool add)
{
	struct net_entry e;
	bool hb;

	ASSERT_OK(parse_cidr(cidr, &e, &hb), "%s", cidr);
	ASSERT_OK(tapis_net_edit(&fx.t, rule, &e, add), "%s %s %s", add ? "add" : "del", cidr,
		  rule);
	return true;
}

/* IPv6 prefixes of /64 or shorter sit inline in their /32's block until
 * the /32 holds more than TAPIS_V6_BLK_INLINE or a longer prefix, when it
 * becomes hashed; both forms must give the most specific match. 3fff::/20 is documentation space
 * (RFC 9637), and these frames never leave BPF_PROG_TEST_RUN. */
static bool test_v6_inline_and_overflow(void)
{
	char cidr[64];

	ASSERT_TRUE(v6_edit("3fff:100::/32", "block-dst", true));
	ASSERT_TRUE(v6_edit("3fff:100:ab00::/40", "allow-hole", true));
	ASSERT_TRUE(v6_edit("3fff:100:abcd::/48", "block-dst", true));
	for (int round = 0; round < 2; round++) {
		ASSERT_EQ(v6_verdict("3fff:100:1::1"), XDP_DROP, "/32 (round %d)", round);
		ASSERT_EQ(v6_verdict("3fff:100:ab01::1"), XDP_PASS, "/40 allow (round %d)", round);
		ASSERT_EQ(v6_verdict("3fff:100:abcd::1"), XDP_DROP, "/48 (round %d)", round);
		ASSERT_EQ(v6_verdict("3fff:101::1"), XDP_PASS, "other /32 (round %d)", round);
		/* Round two: the same /32 overflowed into per-length probes. */
		for (int i = 0; round == 0 && i < TAPIS_V6_BLK_INLINE + 1; i++) {
			snprintf(cidr, sizeof(cidr), "3fff:100:%x::/56", 0x1000 + i);
			ASSERT_TRUE(v6_edit(cidr, "watch", true));
		}
	}
	ASSERT_TRUE(v6_edit("3fff:100:abcd::/48", "block-dst", false));
	ASSERT_EQ(v6_verdict("3fff:100:abcd::1"), XDP_PASS, "the /40 allow after the /48 left");
	return true;
}

/* An expired rule's prefix lets its addresses fall through to the next
 * less specific live prefix, counted as an expired match on its rule, and
 * a delete of that cover leaves them unmatched again. */
static bool test_expired_falls_through(void)
{
	struct net_entry e;
	bool hb;
	struct pkt p;

	ASSERT_OK(build(&p, E_PLAIN, S_V4, "198.18.1.2", "198.18.7.5"));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "expired /24 alone");
	ASSERT_OK(parse_cidr("198.18.6.0/23", &e, &hb));
	ASSERT_OK(tapis_net_edit(&fx.t, "block-dst", &e, true));
	uint64_t blocked = fx_rule_packets(&fx, "block-dst");
	uint64_t expired = fx_stat(&fx, TAPIS_S_EXPIRED);

	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "the /23 under the expired /24");
	ASSERT_EQ(fx_rule_packets(&fx, "block-dst"), blocked + 1, "counted on the /23's rule");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_EXPIRED), expired + 1, "and as an expired match");
	ASSERT_OK(tapis_net_edit(&fx.t, "block-dst", &e, false));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "nothing live after the del");
	return true;
}

/* The same for IPv6, in a /32 whose prefixes sit inline (3fff:200::/32)
 * and in one that is hashed (2001:db8::/32 holds a /128): the expired
 * /48 lets its addresses fall through to the /32 added under it. */
static bool test_v6_expired_falls_through(void)
{
	static const char *const cases[][3] = {
		{"3fff:200::/32", "3fff:200:7::/48", "3fff:200:7::1"},
		{"2001:db8::/32", NULL, "2001:db8:7::1"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *cover = cases[i][0], *expired = cases[i][1], *addr = cases[i][2];
		uint64_t blocked, n_expired;

		if (expired)
			ASSERT_TRUE(v6_edit(expired, "old-order", true));
		ASSERT_EQ(v6_verdict(addr), XDP_PASS, "%s: expired /48 alone", addr);
		ASSERT_TRUE(v6_edit(cover, "block-dst", true));
		blocked = fx_rule_packets(&fx, "block-dst");
		n_expired = fx_stat(&fx, TAPIS_S_EXPIRED);
		ASSERT_EQ(v6_verdict(addr), XDP_DROP, "%s: the /32 under the expired /48", addr);
		ASSERT_EQ(fx_rule_packets(&fx, "block-dst"), blocked + 1, "%s: counted on the /32",
			  addr);
		ASSERT_EQ(fx_stat(&fx, TAPIS_S_EXPIRED), n_expired + 1, "%s: and as expired", addr);
		ASSERT_TRUE(v6_edit(cover, "block-dst", false));
		ASSERT_EQ(v6_verdict(addr), XDP_PASS, "%s: nothing live after the del", addr);
		if (expired)
			ASSERT_TRUE(v6_edit(expired, "old-order", false));
	}
	return true;
}

static bool test_never_aborted(void)
{
	uint8_t junk[256];
	unsigned seed = 12345;

	/* Random bytes behind valid Ethernet types: whatever they say, the
	 * program passes or drops, never aborts. */
	for (int i = 0; i < 20000; i++) {
		size_t len = 14 + (seed = seed * 1103515245 + 12345) % 200;

		for (size_t b = 0; b < len; b++)
			junk[b] = (seed = seed * 1103515245 + 12345) >> 16;
		static const uint16_t types[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x8864, 0x8847};
		uint16_t t = types[i % 6];

		junk[12] = t >> 8;
		junk[13] = t & 0xff;
		int ret = fx_run(&fx, junk, len, NULL, NULL);

		ASSERT_TRUE(ret == XDP_PASS || ret == XDP_DROP, "frame %d: %s", i,
			    xdp_action_name(ret));
	}
	return true;
}

/* fn run in a child stops it with SIGABRT and a message containing want
 * on stderr: the fixture's guard ends the process, so it is watched from
 * outside. */
static bool stops_with(void (*fn)(void), const char *want)
{
	char msg[512] = "";
	size_t have = 0;
	ssize_t n;
	int fds[2], st;
	pid_t pid;

	ASSERT_OK(pipe(fds));
	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		signal(SIGABRT, SIG_DFL);
		fn();
		_exit(0); /* the guard let it through */
	}
	close(fds[1]);
	while (have < sizeof(msg) - 1 && (n = read(fds[0], msg + have, sizeof(msg) - 1 - have)) > 0)
		have += (size_t)n;
	close(fds[0]);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
		    "child ended with status 0x%x, want SIGABRT (message: %s)", st, msg);
	ASSERT_TRUE(strstr(msg, want) != NULL, "message '%s' lacks '%s'", msg, want);
	return true;
}

static void ask_unknown_packets(void)
{
	fx_rule_packets(&fx, "no-such-rule");
}

static void ask_unknown_bytes(void)
{
	fx_rule_bytes(&fx, "no-such-rule");
}

static void ask_unknown_kind(void)
{
	fx_rule_kind_packets(&fx, "no-such-rule", 0);
}

static void ask_rule_id_0(void)
{
	fx_id_packets(&fx, 0);
}

static void ask_reason_past_map(void)
{
	fx_reason(&fx, 1u << 20);
}

/* A counter the policy cannot have is not a number a "did not change"
 * check could compare with itself: the test file stops, naming it. */
static bool test_fixture_refuses_unknown_counters(void)
{
	ASSERT_GT(fx_rule_id(&fx, "block-dst"), 0, "a known rule still has an id");
	ASSERT_EQ(fx_rule_id(&fx, "no-such-rule"), 0);
	ASSERT_TRUE(stops_with(ask_unknown_packets, "no rule named 'no-such-rule'"));
	ASSERT_TRUE(stops_with(ask_unknown_bytes, "no rule named 'no-such-rule'"));
	ASSERT_TRUE(stops_with(ask_unknown_kind, "no rule named 'no-such-rule'"));
	ASSERT_TRUE(stops_with(ask_rule_id_0, "rule id 0"));
	ASSERT_TRUE(stops_with(ask_reason_past_map, "reason 1048576"));
	return true;
}

static const struct test_case tests[] = {
	TEST(test_matrix),
	TEST(test_bytes_counted),
	TEST(test_truncated),
	TEST(test_non_ip_passes),
	TEST(test_reload_keeps_counters),
	TEST(test_live_add_del),
	TEST(test_v6_inline_and_overflow),
	TEST(test_expired_falls_through),
	TEST(test_v6_expired_falls_through),
	TEST(test_never_aborted),
	TEST(test_fixture_refuses_unknown_counters),
};

int main(int argc, char **argv)
{
	return fx_main(&fx, POLICY, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
