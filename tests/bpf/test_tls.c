// SPDX-License-Identifier: GPL-2.0
/* TLS ClientHello server_name through BPF_PROG_TEST_RUN: hellos cut into
 * TCP segments and TLS records at every point, every length field broken
 * in turn, every encapsulation, the reset a reject sends and the flow it
 * blocks. That a name read as dotted text (SNI, Host) keys the same rule
 * as in a DNS query is test_hash's, on its ~17,000 names. */
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "fixture.h"
#include "pkt.h"
#include "test.h"

#define POLICY_RULES                                                                               \
	"  - name: tls-drop\n"                                                                     \
	"    action: drop\n"                                                                       \
	"    hosts: [blocked.example]\n"                                                           \
	"  - name: tls-reject\n"                                                                   \
	"    action: reject\n"                                                                     \
	"    hosts: [reject.example]\n"                                                            \
	"  - name: tls-sink\n"                                                                     \
	"    action: sinkhole\n"                                                                   \
	"    hosts: [\"*.sink.example\"]\n"

#define POLICY_HEAD                                                                                \
	"version: 1\nsettings:\n  sinkhole: { ipv4: 192.0.2.10, ipv6: \"2001:db8::10\" "           \
	"}\nrules:\n"

static const char *const POLICY = POLICY_HEAD POLICY_RULES;

#define SRC4 "198.18.1.2"
#define DST4 "198.18.2.2"
#define SRC6 "2001:db8::1:2"
#define DST6 "2001:db8::2:2"
#define ACK0 0x1000a000u

static struct fixture fx;
static uint16_t port_next = 20000;

static uint16_t new_port(void)
{
	if (port_next >= 65000)
		port_next = 20000;
	return port_next++;
}

struct conn {
	bool v6;
	enum pkt_encap encap;
	uint16_t cport, sport; /* client's port, server's (443) */
};

/* One TCP segment of conn, client to server (or back when reverse). */
static int seg(struct pkt *p, const struct conn *c, bool reverse, uint32_t seq, uint32_t ack,
	       const void *data, size_t len)
{
	const char *s = c->v6 ? SRC6 : SRC4, *d = c->v6 ? DST6 : DST4;

	pkt_init(p);
	pkt_l2_encap(p, c->encap);
	if (reverse)
		pkt_ip(p, d, s, PKT_AUTO);
	else
		pkt_ip(p, s, d, PKT_AUTO);
	if (reverse)
		pkt_tcp(p, c->sport, c->cport, PKT_TCP_PSH | PKT_TCP_ACK, seq, ack);
	else
		pkt_tcp(p, c->cport, c->sport, PKT_TCP_PSH | PKT_TCP_ACK, seq, ack);
	if (len)
		pkt_payload(p, data, len);
	return pkt_finish(p) ?: p->err;
}

static int run_seg(const struct conn *c, uint32_t seq, const void *data, size_t len)
{
	struct pkt p;

	if (seg(&p, c, false, seq, ACK0, data, len))
		return -1000;
	return fx_run(&fx, p.buf, p.len, NULL, NULL);
}

/* Send msg cut at the given offsets (ascending) as in-order segments from
 * seq 1000; every segment but the last must pass; the last's verdict is
 * returned. */
static int run_cuts(const struct conn *c, const uint8_t *msg, size_t len, const size_t *cuts,
		    size_t ncuts, int *early)
{
	size_t at = 0;
	uint32_t seq = 1000;
	int r = XDP_PASS;

	*early = XDP_PASS;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		r = run_seg(c, seq, msg + at, end - at);
		if (i < ncuts && r != XDP_PASS)
			*early = r;
		seq += end - at;
		at = end;
	}
	return r;
}

static int hello_bytes(uint8_t *out, const struct tls_ch_opts *o)
{
	return tls_client_hello_bytes(out, PKT_MAX, o);
}

static size_t name_end(const uint8_t *msg, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(msg + i, name, n))
			return i + n;
	return 0;
}

/* ------------------------------------------------------------ segments */

static bool test_one_segment_v4_v6(void)
{
	struct tls_ch_opts o = {.sni = "www.blocked.example"};
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, &o), early;

	ASSERT_GT(n, 0);
	for (int v6 = 0; v6 < 2; v6++) {
		struct conn c = {v6, PKT_ENC_NONE, new_port(), 443};
		uint64_t t0 = fx_rule_kind_packets(&fx, "tls-drop", TAPIS_KIND_TLS);

		ASSERT_EQ(run_cuts(&c, m, n, NULL, 0, &early), XDP_DROP, "v6=%d", v6);
		ASSERT_EQ(fx_rule_kind_packets(&fx, "tls-drop", TAPIS_KIND_TLS), t0 + 1,
			  "kind TLS v6=%d", v6);
	}
	return true;
}

/* An SNI in any letter case matches, in one segment (the fast copy
 * lowercases it) and cut inside the name (the steps assemble it). */
static bool test_sni_case(void)
{
	struct tls_ch_opts o = {.sni = "WWW.Blocked.EXAMPLE"};
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, &o), early;
	size_t end = name_end(m, (size_t)(n > 0 ? n : 0), "WWW.Blocked.EXAMPLE");

	ASSERT_GT(n, 0);
	ASSERT_GT(end, 5u);
	for (int split = 0; split < 2; split++) {
		struct conn c = {false, PKT_ENC_NONE, new_port(), 443};
		size_t cuts[1] = {end - 5};

		ASSERT_EQ(run_cuts(&c, m, n, split ? cuts : NULL, split ? 1 : 0, &early), XDP_DROP,
			  "split=%d", split);
		ASSERT_EQ(early, XDP_PASS, "split=%d: the first part passes", split);
	}
	return true;
}

static bool test_two_segments_every_cut(void)
{
	struct tls_ch_opts o = {.sni = "www.blocked.example"};
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, &o), early;
	unsigned bad = 0, checked = 0;
	uint64_t f0 = fx_stat(&fx, TAPIS_S_L7_FOLLOWED);
	size_t ne = name_end(m, n, "www.blocked.example");

	ASSERT_GT(n, 0);
	ASSERT_GT(ne, 0);
	for (size_t cut = 1; cut < (size_t)n; cut++) {
		struct conn c = {cut & 1, PKT_ENC_NONE, new_port(), 443};
		/* a cut after the name: the first segment holds it all and is
		 * dropped; the second then belongs to a blocked flow */
		int want_last = XDP_DROP;
		int want_early = cut >= ne ? XDP_DROP : XDP_PASS;
		int r = run_cuts(&c, m, n, &cut, 1, &early);

		checked++;
		if (r != want_last || early != want_early) {
			if (bad++ < 8)
				fprintf(stderr, "# cut %zu/%d: first %s, last %s\n", cut, n,
					xdp_action_name(early), xdp_action_name(r));
		}
	}
	test_cases(checked);
	printf("# %u two-segment cuts checked (name ends at %zu)\n", checked, ne);
	ASSERT_EQ(bad, 0, "two-segment cuts with the wrong verdict");
	ASSERT_GT(fx_stat(&fx, TAPIS_S_L7_FOLLOWED), f0, "followed counted");
	return true;
}

/* Cuts inside the record header only (1..4 bytes in the first segment). */
static bool test_cut_inside_record_header(void)
{
	struct tls_ch_opts o = {.sni = "www.blocked.example"};
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, &o), early;

	ASSERT_GT(n, 0);
	for (size_t cut = 1; cut <= 5; cut++) {
		struct conn c = {false, PKT_ENC_NONE, new_port(), 443};

		ASSERT_EQ(run_cuts(&c, m, n, &cut, 1, &early), XDP_DROP, "cut %zu", cut);
		ASSERT_EQ(early, XDP_PASS, "cut %zu", cut);
	}
	return true;
}

static bool test_three_segments(void)
{
	struct tls_ch_opts o = {.sni = "a-rather-long-label.www.blocked.example"};
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, &o), early;
	size_t ne = name_end(m, n, o.sni), nb = ne - strlen(o.sni);
	unsigned bad = 0, checked = 0;

	ASSERT_GT(n, 0);
	/* every pair of cuts around and inside the name, and a grid elsewhere */
	for (size_t a = 3; a < ne; a += (a + 12 >= nb && a < ne) ? 1 : 11) {
		for (size_t b = a + 1; b < ne; b += (b + 12 >= nb) ? 1 : 17) {
			size_t cuts[2] = {a, b};
			struct conn c = {(a + b) & 1, PKT_ENC_NONE, new_port(), 443};
			int r = run_cuts(&c, m, n, cuts, 2, &early);

			checked++;
			if (r != XDP_DROP || early != XDP_PASS) {
				if (bad++ < 8)
					fprintf(stderr, "# cuts %zu,%zu: early %s, last %s\n", a, b,
						xdp_action_name(early), xdp_action_name(r));
			}
		}
	}
	printf("# %u three-segment cut pairs checked\n", checked);
	ASSERT_EQ(bad, 0, "three-segment cuts with the wrong verdict");
	return true;
}

/* Segments of at most mss bytes: PASS until the one ending the name, which
 * is dropped; later ones are dropped as the flow's. */
static bool run_mss(const struct tls_ch_opts *o, size_t mss, const char *rule, bool v6)
{
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, o);
	size_t ne = name_end(m, n, o->sni);
	struct conn c = {v6, PKT_ENC_NONE, new_port(), 443};
	uint32_t seq = 1000;
	uint64_t t0 = fx_rule_kind_packets(&fx, rule, TAPIS_KIND_TLS);

	ASSERT_GT(n, 0);
	ASSERT_GT(ne, 0);
	for (size_t at = 0; at < (size_t)n; at += mss) {
		size_t len = (size_t)n - at < mss ? (size_t)n - at : mss;
		int want = at + len < ne ? XDP_PASS : XDP_DROP;

		ASSERT_EQ(run_seg(&c, seq, m + at, len), want, "mss %zu segment at %zu of %d", mss,
			  at, n);
		seq += len;
	}
	ASSERT_EQ(fx_rule_kind_packets(&fx, rule, TAPIS_KIND_TLS), t0 + 1, "one TLS match, mss %zu",
		  mss);
	return true;
}

static bool test_pq_key_share_mss(void)
{
	struct tls_ch_opts o = {
		.sni = "pq.blocked.example", .key_share_len = 1216, .sni_last = true};

	ASSERT_TRUE(run_mss(&o, 1460, "tls-drop", false));
	ASSERT_TRUE(run_mss(&o, 536, "tls-drop", false));
	ASSERT_TRUE(run_mss(&o, 1440, "tls-drop", true));
	ASSERT_TRUE(run_mss(&o, 536, "tls-drop", true));
	/* SNI first, PQ share after: the first segment decides */
	o.sni_last = false;
	ASSERT_TRUE(run_mss(&o, 536, "tls-drop", false));
	return true;
}

/* -------------------------------------------------------------- records */

static bool test_records_one_segment(void)
{
	static const size_t recs[] = {300, 128, 64, 40};

	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		struct tls_ch_opts o = {.sni = "rec.blocked.example", .max_record = recs[i]};
		uint8_t m[PKT_MAX];
		int n = hello_bytes(m, &o), early;
		struct conn c = {i & 1, PKT_ENC_NONE, new_port(), 443};

		ASSERT_GT(n, 0);
		ASSERT_EQ(run_cuts(&c, m, n, NULL, 0, &early), XDP_DROP, "records of %zu", recs[i]);
	}
	return true;
}

static bool test_records_several_segments(void)
{
	static const size_t recs[] = {128, 64, 100};
	unsigned bad = 0, checked = 0;

	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		struct tls_ch_opts o = {.sni = "rec.blocked.example", .max_record = recs[i]};
		uint8_t m[PKT_MAX];
		int n = hello_bytes(m, &o), early;
		size_t ne = name_end(m, n, o.sni);

		ASSERT_GT(n, 0);
		/* cut at every point up to the name's end: record headers
		 * and the name cut by both kinds of boundary */
		for (size_t cut = 6; cut < ne; cut++) {
			struct conn c = {cut & 1, PKT_ENC_NONE, new_port(), 443};
			int r = run_cuts(&c, m, n, &cut, 1, &early);

			checked++;
			if (r != XDP_DROP || early != XDP_PASS) {
				if (bad++ < 8)
					fprintf(stderr, "# records %zu cut %zu: %s, %s\n", recs[i],
						cut, xdp_action_name(early), xdp_action_name(r));
			}
		}
	}
	printf("# %u record+segment cuts checked\n", checked);
	ASSERT_EQ(bad, 0);
	return true;
}

/* ------------------------------------------------------ hello variants */

static bool test_sni_position_and_versions(void)
{
	struct tls_ch_opts v[] = {
		{.sni = "pos.blocked.example"},
		{.sni = "pos.blocked.example", .sni_last = true},
		{.sni = "pos.blocked.example", .sni_last = true, .pad_to = 512},
		{.sni = "pos.blocked.example", .pad_to = 700},
		{.sni = "pos.blocked.example", .tls12 = true},
		{.sni = "pos.blocked.example", .tls12 = true, .sni_last = true, .alpn = ""},
		{.sni = "pos.blocked.example", .alpn = "http/1.1"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t m[PKT_MAX];
		int n = hello_bytes(m, &v[i]), early;
		struct conn c = {i & 1, PKT_ENC_NONE, new_port(), 443};
		size_t cut = name_end(m, n, v[i].sni) - 3;

		ASSERT_GT(n, 0);
		ASSERT_EQ(run_cuts(&c, m, n, NULL, 0, &early), XDP_DROP, "variant %zu", i);
		c.cport = new_port();
		ASSERT_EQ(run_cuts(&c, m, n, &cut, 1, &early), XDP_DROP, "variant %zu cut", i);
		ASSERT_EQ(early, XDP_PASS, "variant %zu cut", i);
	}
	return true;
}

static bool test_no_sni(void)
{
	struct tls_ch_opts o = {.sni = NULL};
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, &o), early;
	uint64_t s0 = fx_stat(&fx, TAPIS_S_TLS_NO_SNI);
	uint64_t f0 = fx_stat(&fx, TAPIS_S_L7_FOLLOWED);
	struct conn c = {false, PKT_ENC_NONE, new_port(), 443};

	ASSERT_GT(n, 0);
	ASSERT_EQ(run_cuts(&c, m, n, NULL, 0, &early), XDP_PASS);
	/* a whole hello in one segment is not followed into the next */
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_L7_FOLLOWED), f0, "whole hello followed");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_TLS_NO_SNI), s0 + 1, "TLS_NO_SNI");
	/* and in two segments */
	{
		size_t cut = 200;

		c.cport = new_port();
		ASSERT_EQ(run_cuts(&c, m, n, &cut, 1, &early), XDP_PASS);
		ASSERT_EQ(fx_stat(&fx, TAPIS_S_TLS_NO_SNI), s0 + 2, "TLS_NO_SNI, 2 segments");
	}
	return true;
}

static bool test_ech_outer_sni(void)
{
	struct tls_ch_opts o = {.sni = "outer.blocked.example", .ech = true};
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, &o), early;
	uint64_t e0 = fx_stat(&fx, TAPIS_S_TLS_ECH);
	struct conn c = {false, PKT_ENC_NONE, new_port(), 443};

	ASSERT_GT(n, 0);
	ASSERT_EQ(run_cuts(&c, m, n, NULL, 0, &early), XDP_DROP, "outer SNI matched");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_TLS_ECH), e0 + 1, "TLS_ECH");
	o.sni = "outer.allowed.example";
	n = hello_bytes(m, &o);
	c.cport = new_port();
	ASSERT_EQ(run_cuts(&c, m, n, NULL, 0, &early), XDP_PASS, "other outer SNI");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_TLS_ECH), e0 + 2, "TLS_ECH");
	return true;
}

static bool test_encapsulations(void)
{
	struct tls_ch_opts o = {.sni = "encap.blocked.example"};
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, &o), early;
	size_t cut = name_end(m, n, o.sni) - 5;

	ASSERT_GT(n, 0);
	for (int e = 0; e < PKT_ENC_N; e++) {
		for (int v6 = 0; v6 < 2; v6++) {
			struct conn c = {v6, e, new_port(), 443};

			ASSERT_EQ(run_cuts(&c, m, n, NULL, 0, &early), XDP_DROP, "%s v6=%d",
				  pkt_encap_names[e], v6);
			c.cport = new_port();
			ASSERT_EQ(run_cuts(&c, m, n, &cut, 1, &early), XDP_DROP,
				  "%s v6=%d, 2 segments", pkt_encap_names[e], v6);
			ASSERT_EQ(early, XDP_PASS);
		}
	}
	return true;
}

static bool test_out_of_order(void)
{
	struct tls_ch_opts o = {.sni = "ooo.blocked.example"};
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, &o);
	size_t cut = 100;
	struct conn c = {false, PKT_ENC_NONE, new_port(), 443};
	uint64_t r0 = fx_reason(&fx, TAPIS_R_L7_OUT_OF_ORDER);

	ASSERT_GT(n, 0);
	ASSERT_EQ(run_seg(&c, 1000, m, cut), XDP_PASS);
	/* a gap of one byte */
	ASSERT_EQ(run_seg(&c, 1000 + cut + 1, m + cut, n - cut), XDP_PASS, "gap passes");
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_L7_OUT_OF_ORDER), r0 + 1, "out of order counted");
	/* a retransmission of the first segment */
	c.cport = new_port();
	ASSERT_EQ(run_seg(&c, 1000, m, cut), XDP_PASS);
	ASSERT_EQ(run_seg(&c, 1000, m, cut), XDP_PASS, "retransmission passes");
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_L7_OUT_OF_ORDER), r0 + 2, "out of order counted");
	return true;
}

/* ------------------------------------------------------------ malformed */

/* The small hello (TLS 1.2, no ALPN): SNI first at 112, handshake ~190. */
#define OFF_REC_LEN  3
#define OFF_HS_LEN   6
#define OFF_SID_LEN  43
#define OFF_CS_LEN   76
#define OFF_COMP_LEN 108
#define OFF_EXTS_LEN 110
#define OFF_SNI_TYPE 112
#define OFF_EXT_LEN  114
#define OFF_LIST_LEN 116
#define OFF_NAME_T   118
#define OFF_NAME_LEN 119

static void put(uint8_t *m, size_t off, unsigned width, uint32_t v)
{
	for (unsigned i = 0; i < width; i++)
		m[off + i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

struct bad_field {
	const char *what;
	size_t off;
	unsigned width;
	uint32_t value;
	unsigned reason; /* 0: TLS_MALFORMED or NAME_SYNTAX */
};

static bool test_malformed_lengths(void)
{
	struct tls_ch_opts o = {.sni = "bad.blocked.example", .tls12 = true, .alpn = ""};
	static const struct bad_field bad[] = {
		{"record length 0", OFF_REC_LEN, 2, 0, TAPIS_R_TLS_MALFORMED},
		{"record length 0xffff", OFF_REC_LEN, 2, 0xffff, TAPIS_R_TLS_MALFORMED},
		{"handshake length short", OFF_HS_LEN, 3, 20, TAPIS_R_TLS_MALFORMED},
		{"session id length 255", OFF_SID_LEN, 1, 255, TAPIS_R_TLS_MALFORMED},
		{"cipher suites length 0xfff0", OFF_CS_LEN, 2, 0xfff0, TAPIS_R_TLS_MALFORMED},
		{"compression length 255", OFF_COMP_LEN, 1, 255, TAPIS_R_TLS_MALFORMED},
		{"extensions length 0xffff", OFF_EXTS_LEN, 2, 0xffff, TAPIS_R_TLS_MALFORMED},
		{"server_name extension length 0xffff", OFF_EXT_LEN, 2, 0xffff,
		 TAPIS_R_TLS_MALFORMED},
		{"server_name extension length 2", OFF_EXT_LEN, 2, 2, TAPIS_R_TLS_MALFORMED},
		{"SNI list length 0xffff", OFF_LIST_LEN, 2, 0xffff, TAPIS_R_TLS_MALFORMED},
		{"SNI list length 1", OFF_LIST_LEN, 2, 1, TAPIS_R_TLS_MALFORMED},
		{"name type 1", OFF_NAME_T, 1, 1, TAPIS_R_TLS_MALFORMED},
		{"name length 0", OFF_NAME_LEN, 2, 0, TAPIS_R_NAME_SYNTAX},
		{"name length past the list", OFF_NAME_LEN, 2, 0x100, 0},
	};
	uint8_t good[PKT_MAX], m[PKT_MAX];
	int n = hello_bytes(good, &o), early;
	unsigned fails = 0;

	ASSERT_GT(n, 0);
	/* the offsets above describe this hello */
	ASSERT_EQ(good[OFF_SID_LEN], 32, "session id length at %d", OFF_SID_LEN);
	ASSERT_EQ(good[OFF_CS_LEN] << 8 | good[OFF_CS_LEN + 1], 30, "cipher suites");
	ASSERT_EQ(good[OFF_COMP_LEN], 1, "compression");
	ASSERT_EQ(good[OFF_SNI_TYPE] << 8 | good[OFF_SNI_TYPE + 1], 0, "server_name first");
	ASSERT_EQ(good[OFF_NAME_LEN] << 8 | good[OFF_NAME_LEN + 1], strlen(o.sni), "name len");
	ASSERT_LT(good[OFF_HS_LEN + 1] << 8 | good[OFF_HS_LEN + 2], 255 + 40, "small hello");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* one segment, and two cut after the field */
		for (int split = 0; split < 2; split++) {
			struct conn c = {i & 1, PKT_ENC_NONE, new_port(), 443};
			uint64_t mal0 = fx_reason(&fx, TAPIS_R_TLS_MALFORMED);
			uint64_t syn0 = fx_reason(&fx, TAPIS_R_NAME_SYNTAX);
			size_t cut = bad[i].off + bad[i].width + 1;
			uint64_t dm, ds;
			int r;

			memcpy(m, good, n);
			put(m, bad[i].off, bad[i].width, bad[i].value);
			r = run_cuts(&c, m, n, &cut, split, &early);
			dm = fx_reason(&fx, TAPIS_R_TLS_MALFORMED) - mal0;
			ds = fx_reason(&fx, TAPIS_R_NAME_SYNTAX) - syn0;
			if (r != XDP_PASS || early != XDP_PASS ||
			    (bad[i].reason == TAPIS_R_TLS_MALFORMED && (dm != 1 || ds)) ||
			    (bad[i].reason == TAPIS_R_NAME_SYNTAX && (ds != 1 || dm)) ||
			    (!bad[i].reason && dm + ds != 1)) {
				fails++;
				fprintf(stderr,
					"# %s (%s): verdict %s/%s, TLS_MALFORMED +%llu, "
					"NAME_SYNTAX +%llu\n",
					bad[i].what, split ? "2 segments" : "1 segment",
					xdp_action_name(early), xdp_action_name(r),
					(unsigned long long)dm, (unsigned long long)ds);
			}
		}
	}
	ASSERT_EQ(fails, 0, "malformed hellos not passed with their reason");
	return true;
}

static bool test_name_too_long(void)
{
	char name[300];
	struct tls_ch_opts o = {.sni = name};
	uint8_t m[PKT_MAX];
	int n, early;
	struct conn c = {false, PKT_ENC_NONE, new_port(), 443};
	uint64_t s0 = fx_reason(&fx, TAPIS_R_NAME_SYNTAX);

	/* 4 labels of 63 and ".blocked.example": 271 bytes */
	memset(name, 'a', sizeof(name));
	for (int i = 0; i < 4; i++)
		name[i * 64 + 63] = '.';
	strcpy(name + 256, "blocked.example");
	n = hello_bytes(m, &o);
	ASSERT_GT(n, 0);
	ASSERT_EQ(run_cuts(&c, m, n, NULL, 0, &early), XDP_PASS);
	ASSERT_EQ(fx_reason(&fx, TAPIS_R_NAME_SYNTAX), s0 + 1, "NAME_SYNTAX");
	return true;
}

/* The match finds a dotted name's labels itself: each label 1..63 bytes,
 * at most 32 labels, or the name matches nothing and is counted. */
static bool test_label_syntax(void)
{
	static const struct {
		const char *what;
		int labels63, pad; /* in front: a label of this many bytes, "a." x pad */
		const char *tail;
		int verdict;
	} v[] = {
		{"a 63-byte label", 63, 0, ".blocked.example", XDP_DROP},
		{"a 64-byte label", 64, 0, ".blocked.example", XDP_PASS},
		{"32 labels", 0, 30, "blocked.example", XDP_DROP},
		{"33 labels", 0, 31, "blocked.example", XDP_PASS},
		{"an empty label", 0, 0, "www..blocked.example", XDP_PASS},
		{"a leading dot", 0, 0, ".blocked.example", XDP_PASS},
		{"two trailing dots", 0, 0, "blocked.example..", XDP_PASS},
		{"one trailing dot", 0, 0, "www.blocked.example.", XDP_DROP},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char name[320];
		struct tls_ch_opts o = {.sni = name};
		struct conn c = {false, PKT_ENC_NONE, new_port(), 443};
		uint8_t m[PKT_MAX];
		uint64_t s0 = fx_reason(&fx, TAPIS_R_NAME_SYNTAX);
		size_t at = 0;
		int n, early;

		memset(name, 'x', (size_t)v[i].labels63);
		at = (size_t)v[i].labels63;
		for (int k = 0; k < v[i].pad; k++, at += 2)
			memcpy(name + at, "a.", 2);
		strcpy(name + at, v[i].tail);
		n = hello_bytes(m, &o);
		ASSERT_GT(n, 0, "%s", v[i].what);
		ASSERT_EQ(run_cuts(&c, m, n, NULL, 0, &early), v[i].verdict, "%s", v[i].what);
		ASSERT_EQ(fx_reason(&fx, TAPIS_R_NAME_SYNTAX), s0 + (v[i].verdict == XDP_PASS),
			  "%s: NAME_SYNTAX", v[i].what);
	}
	return true;
}

/* ------------------------------------------------------- reset and flow */

static bool check_rst(const struct conn *c, const struct pkt *in, const uint8_t *out,
		      size_t out_len, uint32_t seq, size_t paylen)
{
	struct pkt_view v, iv;

	ASSERT_OK(pkt_parse(out, out_len, &v), "parse back: %s", v.err ? v.err : "");
	ASSERT_OK(pkt_parse(in->buf, in->len, &iv));
	ASSERT_EQ(v.family, c->v6 ? AF_INET6 : AF_INET);
	ASSERT_EQ(v.proto, IPPROTO_TCP);
	ASSERT_EQ(v.tcp_flags, PKT_TCP_RST | PKT_TCP_ACK, "RST|ACK");
	ASSERT_EQ(v.seq, ACK0, "seq = the segment's ack");
	ASSERT_EQ(v.ack, seq + (uint32_t)paylen, "ack = seq + payload length");
	ASSERT_EQ(v.sport, c->sport, "source port is the server's");
	ASSERT_EQ(v.dport, c->cport, "destination port is the client's");
	ASSERT_STREQ(v.src_str, iv.dst_str, "source address");
	ASSERT_STREQ(v.dst_str, iv.src_str, "destination address");
	ASSERT_MEMEQ(v.eth_dst, iv.eth_src, 6, "destination MAC");
	ASSERT_MEMEQ(v.eth_src, iv.eth_dst, 6, "source MAC");
	ASSERT_EQ(v.payload_len, 0, "no payload");
	if (!c->v6)
		ASSERT_TRUE(ipv4_hdr_csum_ok(&v), "IPv4 header checksum");
	ASSERT_TRUE(l4_csum_ok(&v), "TCP checksum");
	return true;
}

/* rule blocked the flow c (seq at next): later packets both ways drop and
 * count as FLOW on rule. */
static bool later_dropped(const struct conn *c, const char *rule, uint32_t next)
{
	uint64_t f0 = fx_rule_kind_packets(&fx, rule, TAPIS_KIND_FLOW);
	uint64_t p0 = fx_rule_packets(&fx, rule);
	struct pkt p;

	ASSERT_OK(seg(&p, c, false, next, ACK0, "more", 4));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "client -> server later");
	ASSERT_OK(seg(&p, c, true, ACK0, next, "back", 4));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "server -> client later");
	ASSERT_OK(seg(&p, c, false, next + 4, ACK0, NULL, 0));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_DROP, "bare ACK later");
	ASSERT_EQ(fx_rule_kind_packets(&fx, rule, TAPIS_KIND_FLOW), f0 + 3, "kind FLOW on %s",
		  rule);
	ASSERT_EQ(fx_rule_packets(&fx, rule), p0 + 3, "packets on %s", rule);
	return true;
}

static bool rst_case(bool v6, const char *sni, const char *rule, bool split)
{
	struct tls_ch_opts o = {.sni = sni};
	uint8_t m[PKT_MAX], out[PKT_MAX];
	size_t out_len = sizeof(out), cut = 0;
	int n = hello_bytes(m, &o);
	struct conn c = {v6, v6 ? PKT_ENC_VLAN : PKT_ENC_NONE, new_port(), 443};
	uint64_t t0 = fx_rule_kind_packets(&fx, rule, TAPIS_KIND_TLS);
	uint64_t new0 = fx_stat(&fx, TAPIS_S_FLOW_NEW);
	uint32_t seq = 5000;
	struct pkt p;

	ASSERT_GT(n, 0);
	if (split) {
		cut = name_end(m, n, sni) - 2;
		ASSERT_EQ(run_seg(&c, seq, m, cut), XDP_PASS, "first segment");
	}
	ASSERT_OK(seg(&p, &c, false, seq + cut, ACK0, m + cut, n - cut));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, out, &out_len), XDP_TX, "%s: reset", sni);
	ASSERT_TRUE(check_rst(&c, &p, out, out_len, seq + cut, n - cut));
	ASSERT_EQ(fx_rule_kind_packets(&fx, rule, TAPIS_KIND_TLS), t0 + 1, "kind TLS");
	ASSERT_EQ(fx_stat(&fx, TAPIS_S_FLOW_NEW), new0 + 1, "FLOW_NEW");
	ASSERT_TRUE(later_dropped(&c, rule, seq + n));
	return true;
}

static bool test_reject_rst_v4(void)
{
	ASSERT_TRUE(rst_case(false, "reject.example", "tls-reject", false));
	ASSERT_TRUE(rst_case(false, "www.reject.example", "tls-reject", true));
	return true;
}

static bool test_reject_rst_v6(void)
{
	ASSERT_TRUE(rst_case(true, "reject.example", "tls-reject", false));
	ASSERT_TRUE(rst_case(true, "www.reject.example", "tls-reject", true));
	return true;
}

static bool test_sinkhole_rst(void)
{
	ASSERT_TRUE(rst_case(false, "a.sink.example", "tls-sink", false));
	ASSERT_TRUE(rst_case(true, "b.sink.example", "tls-sink", true));
	return true;
}

static bool test_drop_flow(void)
{
	struct tls_ch_opts o = {.sni = "flow.blocked.example"};
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, &o), early;
	size_t cut = 150;

	ASSERT_GT(n, 0);
	for (int v6 = 0; v6 < 2; v6++) {
		struct conn c = {v6, PKT_ENC_NONE, new_port(), 443};

		ASSERT_EQ(run_cuts(&c, m, n, &cut, 1, &early), XDP_DROP);
		ASSERT_TRUE(later_dropped(&c, "tls-drop", 1000 + n));
	}
	return true;
}

static bool test_allowed_flow_passes(void)
{
	struct tls_ch_opts o = {.sni = "www.allowed.example"};
	uint8_t m[PKT_MAX];
	int n = hello_bytes(m, &o), early;
	size_t cut = 150;
	struct conn c = {false, PKT_ENC_NONE, new_port(), 443};
	struct pkt p;

	ASSERT_GT(n, 0);
	ASSERT_EQ(run_cuts(&c, m, n, &cut, 1, &early), XDP_PASS);
	ASSERT_EQ(early, XDP_PASS);
	ASSERT_OK(seg(&p, &c, false, 1000 + n, ACK0, "more", 4));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "client -> server later");
	ASSERT_OK(seg(&p, &c, true, ACK0, 1000 + n, "back", 4));
	ASSERT_EQ(fx_run(&fx, p.buf, p.len, NULL, NULL), XDP_PASS, "server -> client later");
	/* a second hello (renegotiation-like) on the same flow would be
	 * parsed again: not asserted */
	return true;
}

static const struct test_case tests[] = {
	TEST(test_one_segment_v4_v6),
	TEST(test_sni_case),
	TEST(test_two_segments_every_cut),
	TEST(test_cut_inside_record_header),
	TEST(test_three_segments),
	TEST(test_pq_key_share_mss),
	TEST(test_records_one_segment),
	TEST(test_records_several_segments),
	TEST(test_sni_position_and_versions),
	TEST(test_no_sni),
	TEST(test_ech_outer_sni),
	TEST(test_encapsulations),
	TEST(test_out_of_order),
	TEST(test_malformed_lengths),
	TEST(test_name_too_long),
	TEST(test_label_syntax),
	TEST(test_reject_rst_v4),
	TEST(test_reject_rst_v6),
	TEST(test_sinkhole_rst),
	TEST(test_drop_flow),
	TEST(test_allowed_flow_passes),
};

int main(int argc, char **argv)
{
	return fx_main(&fx, POLICY, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
