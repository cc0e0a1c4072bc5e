// SPDX-License-Identifier: GPL-2.0
/* Sessions of frames for the differential test (gen.h). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bpf/tapis_abi.h"
#include "gen.h"
#include "pcap.h"
#include "pkt.h"

uint64_t rng_next(struct rng *r)
{
	/* splitmix64: any seed, 0 included, gives a full-period stream. */
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(rng_next(r) % n);
}

#define PICK(r, arr) ((arr)[rng_below((r), sizeof(arr) / sizeof((arr)[0]))])

/* ---- the shared corpus ---- */
struct cframe {
	uint16_t file;
	uint16_t len;
	uint8_t *b;
};
static struct cframe *cframes;
static size_t n_cframes, cap_cframes;
static char cfiles[512][128];
static unsigned n_cfiles;

static int load_pcap(const char *path, const char *label)
{
	struct pcap_reader pr;
	const uint8_t *d;
	uint32_t len;
	int err;

	if (n_cfiles >= sizeof(cfiles) / sizeof(cfiles[0]))
		return 0;
	err = pcap_open(path, &pr);
	if (err)
		return 0; /* not Ethernet, or pcapng: nothing a test run takes */
	snprintf(cfiles[n_cfiles], sizeof(cfiles[0]), "%s", label);
	while ((err = pcap_next(&pr, &d, &len, NULL)) == 1) {
		if (len < FRAME_MIN || len > FRAME_MAX)
			continue;
		if (n_cframes == cap_cframes) {
			size_t cap = cap_cframes ? 2 * cap_cframes : 4096;
			struct cframe *n = realloc(cframes, cap * sizeof(*n));

			if (!n)
				break;
			cframes = n;
			cap_cframes = cap;
		}
		cframes[n_cframes].b = malloc(len);
		if (!cframes[n_cframes].b)
			break;
		memcpy(cframes[n_cframes].b, d, len);
		cframes[n_cframes].len = len;
		cframes[n_cframes].file = n_cfiles;
		n_cframes++;
	}
	pcap_close(&pr);
	n_cfiles++;
	return 0;
}

int gen_load_corpus(const char *dir)
{
	static const char *const sub[] = {"pcap", "derived/pcap"};
	char path[1024], label[128];

	if (!dir)
		return 0;
	for (size_t s = 0; s < sizeof(sub) / sizeof(sub[0]); s++) {
		struct dirent **ents;
		int n;

		snprintf(path, sizeof(path), "%s/%s", dir, sub[s]);
		n = scandir(path, &ents, NULL, alphasort); /* sorted: the same seed, the same run */
		for (int i = 0; i < n; i++) {
			size_t l = strlen(ents[i]->d_name);

			if (l > 5 && !strcmp(ents[i]->d_name + l - 5, ".pcap")) {
				snprintf(path, sizeof(path), "%s/%s/%s", dir, sub[s],
					 ents[i]->d_name);
				snprintf(label, sizeof(label), "%s%.90s", s ? "derived/" : "",
					 ents[i]->d_name);
				load_pcap(path, label);
			}
			free(ents[i]);
		}
		if (n > 0)
			free(ents);
	}
	return (int)n_cframes;
}

/* ---- builder seeds ---- */
static const char *const SRC4[] = {"198.18.1.2", "198.18.1.3", "198.18.66.5", "198.19.3.4"};
static const char *const DST4[] = {"198.18.2.2", "198.18.9.9", "198.18.9.200", "198.18.77.7",
				   "198.19.1.1"};
static const char *const SRC6[] = {"2001:db8::1:2", "2001:db8:66::5", "2001:db8::1:3"};
static const char *const DST6[] = {"2001:db8::2:2", "2001:db8:9::9", "2001:db8:77::7"};

/* Names around the test policy's patterns (diff.c), and some beside them. */
static const char *const NAMES[] = {
	"block.example",
	"www.block.example",
	"api.block.example",
	"x.api.block.example",
	"a.wild.example",
	"wild.example",
	"exact.example",
	"sub.exact.example",
	"reject.example",
	"WWW.Reject.Example",
	"sink.example",
	"cdn.sink.example",
	"watch.example",
	"old.example",
	"www.old.example",
	"www.ntop.org",
	"example.com",
	"mail.example.net",
	"trailing.sink.example.",
	"a.b.c.d.e.f.g.h.i.j.k.l.m.reject.example",
	"xn--bcher-kva.example",
	"free.example",
	"unlisted.test",
	"a-very-long-label-of-sixty-three-bytes-aaaaaaaaaaaaaaaaaaaaaaaaa.block.example",
	"localhost",
	"a",
	"com",
	/* Beside the patterns: one byte more, less, or in the wrong place. */
	"xblock.example",
	"block.example.zz",
	"Block.EXAMPLE",
	"lock.example",
	"wild.example.",
	"api.block.example.",
	"=api.block.example",
	"*.wild.example",
	"block..example",
	".block.example",
	"exact.example.x",
	"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.com",
	"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.com",
	"localhost.",
	"sub.localhost",
	"old.example.com",
	"com.example",
	"redir.example",
	"www.redir.example",
	"x.sink.example",
	"www.block.example",
};

static void rand_name(struct rng *r, char *out, size_t cap)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789-ABCXYZ_";
	unsigned labels = 1 + rng_below(r, 5), n = 0;

	for (unsigned l = 0; l < labels && n + 70 < cap; l++) {
		unsigned len = 1 + rng_below(r, rng_below(r, 8) ? 12 : 63);

		if (l)
			out[n++] = '.';
		for (unsigned i = 0; i < len; i++)
			out[n++] = alpha[rng_below(r, sizeof(alpha) - 1)];
	}
	if (rng_below(r, 3) == 0 && n + 9 < cap) {
		const char *tld =
			PICK(r, ((const char *const[]){".com", ".org", ".example", ".net"}));

		memcpy(out + n, tld, strlen(tld));
		n += strlen(tld);
	}
	out[n] = '\0';
}

/* A name the stages hand the match: no empty label, none over 63 bytes,
 * at most 32 labels (TAPIS_MAX_LABELS), a trailing dot allowed; under
 * 200 bytes, for the expectation's buffer. */
static bool name_matchable(const char *name)
{
	size_t len = strlen(name), label = 0, labels = 1;

	if (len && name[len - 1] == '.')
		len--;
	if (!len || len >= 200)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (name[i] != '.') {
			if (++label > TAPIS_LABEL_MAX)
				return false;
			continue;
		}
		if (!label)
			return false;
		label = 0;
		labels++;
	}
	return label && labels <= TAPIS_MAX_LABELS;
}

static void pick_name(struct rng *r, char *out, size_t cap)
{
	if (rng_below(r, 10) < 7)
		snprintf(out, cap, "%s", PICK(r, NAMES));
	else
		rand_name(r, out, cap);
}

/* Ethernet and encapsulation, IP (maybe with IPv6 extension headers or
 * IPv4 options), ready for L4. */
struct ends {
	enum pkt_encap encap;
	const char *src, *dst;
};

static void l2_l3_ends(struct rng *r, struct pkt *p, bool v6, bool *plain, struct ends *e)
{
	e->encap = rng_below(r, 3) ? PKT_ENC_NONE : (enum pkt_encap)rng_below(r, PKT_ENC_N);
	e->src = v6 ? PICK(r, SRC6) : PICK(r, SRC4);
	e->dst = v6 ? PICK(r, DST6) : PICK(r, DST4);
	pkt_init(p);
	pkt_l2_encap(p, e->encap);
	*plain = true;
	if (v6) {
		pkt_ipv6(p, e->src, e->dst, PKT_AUTO);
		if (rng_below(r, 8) == 0) {
			pkt_ipv6_ext(p, PICK(r, ((const uint8_t[]){0, 43, 60})), NULL);
			*plain = false; /* answers are not built behind them */
		}
	} else {
		struct pkt_ipv4_opts o = {0};
		static const uint8_t rr[] = {7, 7, 4, 0, 0, 0, 0};

		if (rng_below(r, 10) == 0) {
			o.options = rr;
			o.options_len = sizeof(rr);
		}
		pkt_ipv4(p, e->src, e->dst, PKT_AUTO, &o);
	}
}

static void l2_l3(struct rng *r, struct pkt *p, bool v6, bool *plain)
{
	struct ends e;

	l2_l3_ends(r, p, v6, plain, &e);
}

static void put(struct session *s, const struct pkt *p)
{
	struct frame *f;

	if (s->n >= SESS_MAX || p->err || p->len < FRAME_MIN || p->len > FRAME_MAX) {
		s->expect_name[0] = '\0'; /* a frame of the session is missing */
		return;
	}
	f = &s->f[s->n++];
	f->len = p->len;
	memcpy(f->b, p->buf, p->len);
}

static uint16_t eport(struct rng *r)
{
	return 1024 + rng_below(r, 60000);
}

static void seed_dns(struct rng *r, struct session *s, bool tcp)
{
	static const uint16_t qt[] = {DNS_TYPE_A,     DNS_TYPE_AAAA, DNS_TYPE_TXT,
				      DNS_TYPE_HTTPS, DNS_TYPE_ANY,  DNS_TYPE_MX};
	bool v6 = rng_below(r, 2), plain;
	uint16_t port = rng_below(r, 8) ? 53 : PICK(r, ((const uint16_t[]){5353, 443, 80}));
	char name[300];
	struct pkt p;

	pick_name(r, name, sizeof(name));
	l2_l3(r, &p, v6, &plain);
	if (tcp) {
		pkt_tcp(&p, eport(r), port, PKT_TCP_PSH | PKT_TCP_ACK, (uint32_t)rng_next(r),
			(uint32_t)rng_next(r));
		dns_query_tcp(&p, name, PICK(r, qt), (uint16_t)rng_next(r), DNS_RD,
			      rng_below(r, 2));
	} else {
		pkt_udp(&p, eport(r), port);
		dns_query(&p, name, PICK(r, qt), (uint16_t)rng_next(r),
			  rng_below(r, 4) ? DNS_RD : DNS_RD | DNS_CD, rng_below(r, 2));
	}
	if (rng_below(r, 6) == 0)
		pkt_pad(&p, 60 + rng_below(r, 40));
	if (pkt_finish(&p))
		return;
	s->origin = tcp ? "dns-tcp" : "dns";
	if (name_matchable(name)) {
		snprintf(s->expect_name, sizeof(s->expect_name), "%.199s", name);
		s->expect_kind = TAPIS_KIND_DNS;
		s->expect_port = port;
	}
	/* A fragmented query: the first fragment carries the name. */
	if (!tcp && rng_below(r, 12) == 0) {
		struct pkt a, b;
		size_t cut = 8 + 8 * rng_below(r, 3);

		if (!pkt_fragment(&p, 0, cut, 77, &a) && !pkt_fragment(&p, cut, 4096, 77, &b)) {
			put(s, &a);
			put(s, &b);
			s->expect_name[0] = '\0';
			s->origin = "dns-frag";
			return;
		}
	}
	put(s, &p);
}

/* One TCP connection's client segments carrying app bytes, cut in up to
 * three pieces. */
static void tcp_stream(struct rng *r, struct session *s, uint16_t dport, const uint8_t *app,
		       size_t len, size_t min_first)
{
	bool v6 = rng_below(r, 2), plain;
	unsigned pieces = 1 + (rng_below(r, 3) ? 0 : 1 + rng_below(r, 2));
	uint32_t seq = (uint32_t)rng_next(r), ack = (uint32_t)rng_next(r);
	uint16_t sport = eport(r);
	size_t at = 0, cuts[4] = {0};
	struct pkt p, first;
	struct ends e;

	l2_l3_ends(r, &first, v6, &plain, &e);
	if (rng_below(r, 4) == 0) { /* the handshake's SYN first */
		p = first;
		pkt_tcp(&p, sport, dport, PKT_TCP_SYN, seq - 1, 0);
		if (!pkt_finish(&p))
			put(s, &p);
	}
	if (min_first >= len)
		pieces = 1;
	for (unsigned i = 1; i < pieces; i++)
		cuts[i] = min_first + rng_below(r, (uint32_t)(len - min_first));
	for (unsigned i = 1; i < pieces; i++) /* sorted: a few pieces, insertion */
		for (unsigned j = i; j > 1 && cuts[j - 1] > cuts[j]; j--) {
			size_t t = cuts[j];

			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}
	cuts[pieces] = len;
	for (unsigned i = 0; i < pieces; i++) {
		/* A post-quantum hello is more than one frame holds: a piece
		 * goes out in segments of at most 1,300 bytes. */
		while (at < cuts[i + 1]) {
			size_t n = cuts[i + 1] - at < 1300 ? cuts[i + 1] - at : 1300;

			p = first;
			pkt_tcp(&p, sport, dport, PKT_TCP_PSH | PKT_TCP_ACK, seq + (uint32_t)at,
				ack);
			pkt_payload(&p, app + at, n);
			if (pkt_finish(&p))
				return;
			put(s, &p);
			at += n;
		}
	}
	/* Later packets of the flow, which a verdict on it decides: the
	 * server's answer, more from the client, a retransmission of the
	 * first piece, a reset. */
	for (unsigned k = rng_below(r, 3); k; k--) {
		static const char more[] = "more bytes of the same flow";
		unsigned what = rng_below(r, 4);

		pkt_init(&p);
		pkt_l2_encap(&p, e.encap);
		if (what == 0) {
			pkt_ip(&p, e.dst, e.src, PKT_AUTO);
			pkt_tcp(&p, dport, sport, PKT_TCP_ACK | PKT_TCP_PSH, ack,
				seq + (uint32_t)len);
			pkt_payload(&p, more, sizeof(more) - 1);
		} else {
			pkt_ip(&p, e.src, e.dst, PKT_AUTO);
			pkt_tcp(&p, sport, dport,
				what == 3 ? PKT_TCP_RST | PKT_TCP_ACK : PKT_TCP_ACK | PKT_TCP_PSH,
				what == 2 ? seq : seq + (uint32_t)len, ack);
			if (what == 2)
				pkt_payload(&p, app, len < 200 ? len : 200);
			else if (what == 1)
				pkt_payload(&p, more, sizeof(more) - 1);
		}
		if (pkt_finish(&p))
			return;
		if (s->n < SESS_MAX) { /* extra: a full session keeps its name */
			s->f[s->n].len = p.len;
			memcpy(s->f[s->n].b, p.buf, p.len);
			s->n++;
		}
	}
}

static void seed_tls(struct rng *r, struct session *s)
{
	struct tls_ch_opts o = {0};
	char name[300];
	uint8_t b[4096];
	int n;
	uint16_t port = rng_below(r, 6) ? 443 : PICK(r, ((const uint16_t[]){8443, 80, 993}));

	pick_name(r, name, sizeof(name));
	o.sni = rng_below(r, 10) ? name : NULL;
	o.sni_last = rng_below(r, 2);
	o.key_share_len = rng_below(r, 3) ? 32 : 1216;
	o.pad_to = rng_below(r, 3) ? 0 : 512;
	o.max_record = rng_below(r, 4) ? 0 : 40 + rng_below(r, 600);
	o.ech = rng_below(r, 8) == 0;
	o.tls12 = rng_below(r, 4) == 0;
	n = tls_client_hello_bytes(b, sizeof(b), &o);
	if (n <= 0)
		return;
	s->origin = "tls";
	if (o.sni && name_matchable(name)) {
		snprintf(s->expect_name, sizeof(s->expect_name), "%.199s", name);
		s->expect_kind = TAPIS_KIND_TLS;
		s->expect_port = port;
	}
	tcp_stream(r, s, port, b, (size_t)n, 1);
}

static void seed_http(struct rng *r, struct session *s)
{
	char name[300], req[1024];
	uint16_t port = rng_below(r, 6) ? PICK(r, ((const uint16_t[]){80, 8080})) : 443;
	bool named = true;
	int n = 0;

	pick_name(r, name, sizeof(name));
	switch (rng_below(r, 7)) {
	case 0:
	case 1:
		n = http_get_bytes((uint8_t *)req, sizeof(req), name, NULL);
		break;
	case 2:
		n = snprintf(req, sizeof(req),
			     "GET http://%s/x HTTP/1.1\r\nHost: other.test\r\n\r\n", name);
		break;
	case 3:
		n = snprintf(req, sizeof(req), "CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n",
			     name, name);
		break;
	case 4:
		n = snprintf(req, sizeof(req),
			     "POST /form HTTP/1.1\r\nUser-Agent: t\r\nContent-Length: "
			     "0\r\nHOST:\t%s:8080\r\n\r\n",
			     name);
		break;
	case 5:
		n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n");
		named = false;
		break;
	default:
		n = snprintf(req, sizeof(req), "HEAD / HTTP/1.0\r\nAccept: */*\r\n\r\n");
		named = false;
		break;
	}
	if (n <= 0 || (size_t)n >= sizeof(req))
		return;
	s->origin = "http";
	if (named && name_matchable(name)) {
		snprintf(s->expect_name, sizeof(s->expect_name), "%.199s", name);
		s->expect_kind = TAPIS_KIND_HTTP;
		s->expect_port = port;
	}
	/* A request is followed from a segment that holds its method and
	 * the space after it (l7_http.bpf.h). */
	tcp_stream(r, s, port, (const uint8_t *)req, (size_t)n, 10);
}

static void seed_other(struct rng *r, struct session *s)
{
	uint8_t pay[1300];
	bool plain;
	struct pkt p;
	size_t n = rng_below(r, 200);

	for (size_t i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)rng_next(r);
	switch (rng_below(r, 7)) {
	case 0: /* QUIC Initial, or something like it, to a tls port */
		n = 1200;
		pay[0] = 0xc0 | (rng_below(r, 4) << 4) | (pay[0] & 0x0f);
		memcpy(pay + 1, rng_below(r, 2) ? "\x00\x00\x00\x01" : "\x6b\x33\x43\xcf", 4);
		l2_l3(r, &p, rng_below(r, 2), &plain);
		pkt_udp(&p, eport(r), rng_below(r, 4) ? 443 : 8443);
		pkt_payload(&p, pay, n);
		s->origin = "quic";
		break;
	case 1: /* TCP control segments to the stages' ports */
		l2_l3(r, &p, rng_below(r, 2), &plain);
		pkt_tcp(&p, eport(r), PICK(r, ((const uint16_t[]){443, 80, 53, 22})),
			(uint8_t)PICK(r, ((const uint8_t[]){PKT_TCP_SYN, PKT_TCP_RST,
							    PKT_TCP_FIN | PKT_TCP_ACK, PKT_TCP_ACK,
							    PKT_TCP_RST | PKT_TCP_ACK})),
			(uint32_t)rng_next(r), (uint32_t)rng_next(r));
		if (rng_below(r, 2))
			pkt_payload(&p, pay, n);
		s->origin = "tcp";
		break;
	case 2: /* UDP and ICMP anywhere */
		l2_l3(r, &p, rng_below(r, 2), &plain);
		if (rng_below(r, 3))
			pkt_udp(&p, eport(r), eport(r));
		else
			pkt_set_next(&p, 1); /* ICMP */
		pkt_payload(&p, pay, n);
		s->origin = "udp";
		break;
	case 3: /* ARP, PPPoE discovery, LCP, LLDP */
		pkt_init(&p);
		pkt_eth(&p, rng_below(r, 2) ? "ff:ff:ff:ff:ff:ff" : NULL, NULL);
		if (rng_below(r, 2)) {
			pkt_pppoe_proto(&p, 0x1234,
					PICK(r, ((const uint16_t[]){0xc021, 0x8021, 0x0021})));
		} else {
			pkt_set_next(&p,
				     PICK(r, ((const uint16_t[]){0x0806, 0x88cc, 0x8863, 0x86dd})));
		}
		pkt_payload(&p, pay, 28 + n % 40);
		s->origin = "l2";
		break;
	case 4: /* IPv6 extension chains, fragments among them */
		pkt_init(&p);
		pkt_l2_encap(&p, (enum pkt_encap)rng_below(r, PKT_ENC_N));
		pkt_ipv6(&p, PICK(r, SRC6), PICK(r, DST6), PKT_AUTO);
		for (unsigned i = rng_below(r, 10); i; i--) {
			if (rng_below(r, 5) == 0)
				pkt_ipv6_frag(&p, rng_below(r, 2) ? 0 : 8 * rng_below(r, 10),
					      rng_below(r, 2), 7);
			else
				pkt_ipv6_ext(&p, PICK(r, ((const uint8_t[]){0, 43, 60})), NULL);
		}
		pkt_udp(&p, eport(r), 53);
		dns_query(&p, PICK(r, NAMES), DNS_TYPE_A, 1, DNS_RD, false);
		s->origin = "ipv6-ext";
		break;
	default: { /* stacked tags and labels, beyond the walk's bounds */
		unsigned tags = rng_below(r, 4), labels = rng_below(r, 10);

		pkt_init(&p);
		pkt_eth(&p, NULL, NULL);
		for (unsigned i = 0; i < tags; i++)
			pkt_vlan(&p, PICK(r, ((const uint16_t[]){0x8100, 0x88a8, 0x9100})), 10 + i);
		for (unsigned i = 0; i < labels; i++)
			pkt_mpls(&p, 100 + i, PKT_AUTO);
		pkt_ip(&p, rng_below(r, 2) ? SRC4[0] : SRC6[0], rng_below(r, 2) ? DST4[1] : DST6[1],
		       PKT_AUTO);
		pkt_udp(&p, eport(r), 53);
		dns_query(&p, PICK(r, NAMES), DNS_TYPE_AAAA, 2, DNS_RD, true);
		s->origin = "stacked";
		break;
	}
	}
	if (!pkt_finish(&p))
		put(s, &p);
}

static void seed_random(struct rng *r, struct session *s)
{
	static const uint16_t et[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x8864, 0x8847, 0x0806};
	struct frame *f = &s->f[s->n++];

	f->len = FRAME_MIN + rng_below(r, 300);
	for (uint32_t i = 0; i < f->len; i++)
		f->b[i] = (uint8_t)rng_next(r);
	if (rng_below(r, 4)) {
		uint16_t e = PICK(r, et);

		f->b[12] = e >> 8;
		f->b[13] = e & 0xff;
	}
	if (rng_below(r, 2))
		f->b[6] &= 0xfe; /* unicast source: further into the answer path */
	s->origin = "random";
}

static void seed_corpus(struct rng *r, struct session *s)
{
	size_t i = rng_below(r, (uint32_t)n_cframes);
	unsigned want = 1 + rng_below(r, SESS_MAX), file = cframes[i].file;

	s->origin = cfiles[file];
	for (; i < n_cframes && s->n < want && cframes[i].file == file; i++) {
		s->f[s->n].len = cframes[i].len;
		memcpy(s->f[s->n].b, cframes[i].b, cframes[i].len);
		s->n++;
	}
}

/* ---- mutations ---- */
static uint16_t be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void set16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

static void insert(struct frame *f, size_t at, const uint8_t *b, size_t n)
{
	if (at > f->len || f->len + n > FRAME_MAX)
		return;
	memmove(f->b + at + n, f->b + at, f->len - at);
	memcpy(f->b + at, b, n);
	f->len += n;
}

static void cut(struct frame *f, size_t at, size_t n)
{
	if (at + n > f->len || f->len - n < FRAME_MIN)
		return;
	memmove(f->b + at, f->b + at + n, f->len - at - n);
	f->len -= n;
}

/* A value for a length field: near what it was, or at an edge. */
static uint16_t edit_len(struct rng *r, uint16_t v)
{
	switch (rng_below(r, 6)) {
	case 0:
		return 0;
	case 1:
		return 0xffff;
	case 2:
		return (uint16_t)rng_next(r);
	case 3:
		return v + 1 + rng_below(r, 8);
	default:
		return v - 1 - rng_below(r, 8);
	}
}

/* Where the length fields are, as the parse-back sees the frame. */
static void mutate_length(struct rng *r, struct frame *f)
{
	struct pkt_view v;
	size_t at[16];
	unsigned n = 0;

	pkt_parse(f->b, f->len, &v);
	if (v.family == AF_INET) {
		at[n++] = v.l3_off + 2; /* total length */
		at[n++] = v.l3_off;	/* version and IHL (the low byte of a 16-bit edit) */
	} else if (v.family == AF_INET6) {
		at[n++] = v.l3_off + 4; /* payload length */
	}
	if (v.pppoe)
		at[n++] = 14 + 4 * v.vlan_n + 4;
	if (v.has_l4 && v.proto == IPPROTO_UDP)
		at[n++] = v.l4_off + 4;
	if (v.has_l4 && v.proto == IPPROTO_TCP)
		at[n++] = v.l4_off + 11; /* data offset, in the high byte's nibble */
	if (v.has_l4 && v.l7_off + 12 <= f->len) {
		at[n++] = v.l7_off + 3;	 /* TLS record length; DNS QDCOUNT is at + 4 */
		at[n++] = v.l7_off + 4;	 /* DNS QDCOUNT; TCP DNS: the flags */
		at[n++] = v.l7_off + 10; /* DNS ARCOUNT */
		at[n++] = v.l7_off + 7;	 /* TLS handshake length's low bytes */
		at[n++] = v.l7_off;	 /* DNS over TCP: the length prefix */
	}
	if (v.has_l4 && v.l7_off + 60 <= f->len)
		at[n++] = v.l7_off + 43 + rng_below(r, 17); /* TLS: session id, suites, ... */
	if (!n)
		return;
	{
		size_t a = at[rng_below(r, n)];

		if (a + 2 <= f->len)
			set16(f->b + a, edit_len(r, be16(f->b + a)));
	}
}

/* Toward the rules of "never a reflector": sources no host would answer,
 * TCP flags, PPPoE codes. */
static void mutate_reflector(struct rng *r, struct frame *f)
{
	static const uint8_t bad4[][4] = {{0, 0, 0, 0},	  {255, 255, 255, 255}, {224, 0, 0, 1},
					  {127, 0, 0, 1}, {239, 1, 2, 3},	{240, 0, 0, 1}};
	struct pkt_view v;

	pkt_parse(f->b, f->len, &v);
	switch (rng_below(r, 5)) {
	case 0:
		f->b[6] |= 1; /* multicast or broadcast source MAC */
		break;
	case 1:
		if (v.family == AF_INET && v.l3_off + 16 <= f->len)
			memcpy(f->b + v.l3_off + 12, bad4[rng_below(r, 6)], 4);
		else if (v.family == AF_INET6 && v.l3_off + 24 <= f->len) {
			memset(f->b + v.l3_off + 8, 0, 16);
			if (rng_below(r, 3) == 0)
				f->b[v.l3_off + 23] = 1; /* ::1 */
			else if (rng_below(r, 2))
				f->b[v.l3_off + 8] = 0xff, f->b[v.l3_off + 9] = 0x02,
						f->b[v.l3_off + 23] = 1; /* ff02::1 */
		}
		break;
	case 2:
		if (v.has_l4 && v.proto == IPPROTO_TCP && v.l4_off + 14 <= f->len)
			f->b[v.l4_off + 13] = (uint8_t)PICK(
				r, ((const uint8_t[]){PKT_TCP_RST, PKT_TCP_SYN, PKT_TCP_PSH,
						      PKT_TCP_RST | PKT_TCP_ACK,
						      PKT_TCP_SYN | PKT_TCP_ACK, 0, 0xff}));
		break;
	case 3:
		if (v.pppoe && 14 + 4 * v.vlan_n + 2 <= f->len)
			f->b[14 + 4 * v.vlan_n + 1] =
				PICK(r, ((const uint8_t[]){0x09, 0x07, 0xa7, 0x65}));
		break;
	default:
		if (v.has_l4 && v.proto == IPPROTO_UDP && v.l4_off + 6 <= f->len)
			set16(f->b + v.l4_off + 4, PICK(r, ((const uint16_t[]){0, 7, 8, 9})));
		break;
	}
}

static void mutate_l2(struct rng *r, struct frame *f)
{
	uint8_t tag[8];
	uint16_t et = be16(f->b + 12);

	switch (rng_below(r, 5)) {
	case 0: /* a VLAN tag more */
		set16(tag, PICK(r, ((const uint16_t[]){0x8100, 0x88a8, 0x9100})));
		set16(tag + 2, (uint16_t)rng_next(r) & 0x0fff);
		insert(f, 12, tag, 4);
		break;
	case 1: /* one less */
		if (et == 0x8100 || et == 0x88a8 || et == 0x9100)
			cut(f, 12, 4);
		break;
	case 2: /* an MPLS label in front of the IP header */
		if (et == 0x0800 || et == 0x86dd || et == 0x8847) {
			set16(f->b + 12, 0x8847);
			tag[0] = (uint8_t)rng_next(r);
			tag[1] = (uint8_t)rng_next(r);
			tag[2] = (uint8_t)(rng_next(r) & 0xf0) | (et == 0x8847 ? 0 : 1);
			tag[3] = 64;
			insert(f, 14, tag, 4);
		}
		break;
	case 3: /* PPPoE session around the IP header */
		if (et == 0x0800 || et == 0x86dd) {
			uint16_t iplen = (uint16_t)(f->len - 14);
			bool pfc = rng_below(r, 4) == 0;

			set16(f->b + 12, 0x8864);
			tag[0] = 0x11;
			tag[1] = 0;
			set16(tag + 2, 0x1234);
			set16(tag + 4, iplen + (pfc ? 1 : 2));
			if (pfc)
				tag[6] = et == 0x0800 ? 0x21 : 0x57;
			else
				set16(tag + 6, et == 0x0800 ? 0x0021 : 0x0057);
			insert(f, 14, tag, pfc ? 7 : 8);
		}
		break;
	default: /* the ethertype itself */
		set16(f->b + 12, PICK(r, ((const uint16_t[]){0x0800, 0x86dd, 0x8864, 0x8847, 0x8100,
							     0x88a8, 0x9100, 0x8863})));
		break;
	}
}

static void mutate(struct rng *r, struct frame *f)
{
	unsigned ops = 1 + rng_below(r, 3);

	for (unsigned k = 0; k < ops; k++) {
		switch (rng_below(r, 10)) {
		case 0:
		case 1: { /* bit flips, most in the headers */
			uint32_t span = rng_below(r, 2) ? (f->len < 120 ? f->len : 120) : f->len;

			for (unsigned i = 1 + rng_below(r, 3); i; i--)
				f->b[rng_below(r, span)] ^= 1u << rng_below(r, 8);
			break;
		}
		case 2: /* random bytes over a stretch */
		{
			uint32_t at = rng_below(r, f->len), n = 1 + rng_below(r, 8);

			for (uint32_t i = at; i < at + n && i < f->len; i++)
				f->b[i] = (uint8_t)rng_next(r);
			break;
		}
		case 3: /* truncation */
			f->len = FRAME_MIN + rng_below(r, f->len - FRAME_MIN + 1);
			break;
		case 4: /* bytes added at the end */
		{
			uint32_t n = 1 + rng_below(r, 64);

			for (uint32_t i = 0; i < n && f->len < FRAME_MAX; i++)
				f->b[f->len++] = (uint8_t)rng_next(r);
			break;
		}
		case 5:
		case 6:
			mutate_length(r, f);
			break;
		case 7:
			mutate_l2(r, f);
			break;
		default:
			mutate_reflector(r, f);
			break;
		}
	}
}

void gen_session(struct rng *r, struct session *s)
{
	unsigned kind = rng_below(r, 100);

	s->n = 0;
	s->mutated = false;
	s->expect_name[0] = '\0';
	s->expect_kind = 0;
	s->origin = "?";
	if (kind < 30 && n_cframes)
		seed_corpus(r, s);
	else if (kind < 45)
		seed_dns(r, s, false);
	else if (kind < 50)
		seed_dns(r, s, true);
	else if (kind < 63)
		seed_tls(r, s);
	else if (kind < 73)
		seed_http(r, s);
	else if (kind < 90)
		seed_other(r, s);
	else
		seed_random(r, s);
	if (!s->n) {
		s->expect_name[0] = '\0';
		seed_random(r, s);
	}
	/* A third of sessions stay as built: seeds the stages must read. */
	if (rng_below(r, 3)) {
		for (unsigned i = 0; i < s->n; i++)
			if (rng_below(r, 3) || s->n == 1)
				mutate(r, &s->f[i]);
		s->mutated = true;
		s->expect_name[0] = '\0';
	}
}

/* ---- never a reflector, from the rules ---- */
#define REFUSE(w)                                                                                  \
	do {                                                                                       \
		*why = (w);                                                                        \
		return false;                                                                      \
	} while (0)

bool answer_allowed(const uint8_t *f, size_t len, const char **why)
{
	size_t off = 14, ip, l4, ip_len, ppp_len = 0, pppoe_at = 0;
	uint16_t et;
	uint8_t proto;
	int version = 0; /* what the link layer says comes next; 0: the nibble (MPLS) */

	*why = "";
	if (len < 14)
		REFUSE("no Ethernet header");
	if (f[6] & 1)
		REFUSE("multicast or broadcast source MAC");
	et = be16(f + 12);
	for (int i = 0; i < 2 && (et == 0x8100 || et == 0x88a8 || et == 0x9100); i++) {
		if (off + 4 > len)
			REFUSE("VLAN tag cut");
		et = be16(f + off + 2);
		off += 4;
	}
	if (et == 0x8864) {
		if (off + 7 > len)
			REFUSE("PPPoE header cut");
		if (f[off + 1] != 0)
			REFUSE("PPPoE code not session data");
		pppoe_at = off;
		ppp_len = (f[off + 6] & 1) ? 1 : 2;
		{
			uint16_t pp = ppp_len == 1 ? f[off + 6] : be16(f + off + 6);

			if (pp == 0x21)
				version = 4;
			else if (pp == 0x57)
				version = 6;
			else
				REFUSE("PPP protocol not IP");
		}
		off += 6 + ppp_len;
	} else if (et == 0x0800 || et == 0x86dd) {
		version = et == 0x0800 ? 4 : 6;
	} else if (et == 0x8847) {
		for (int i = 0;; i++) {
			if (i == 8 || off + 4 > len)
				REFUSE("MPLS stack");
			off += 4;
			if (f[off - 2] & 1)
				break;
		}
	} else {
		REFUSE("not IP");
	}
	ip = off;
	if (ip + 1 > len)
		REFUSE("no IP header");
	if (version && (f[ip] >> 4) != version)
		REFUSE("IP version not the one the link layer names");
	if ((f[ip] >> 4) == 4) {
		if (ip + 20 > len)
			REFUSE("IPv4 header cut");
		const uint8_t *s = f + ip + 12;

		if ((s[0] | s[1] | s[2] | s[3]) == 0)
			REFUSE("IPv4 source 0.0.0.0");
		if ((s[0] & s[1] & s[2] & s[3]) == 0xff)
			REFUSE("IPv4 source 255.255.255.255");
		if ((s[0] & 0xf0) == 0xe0)
			REFUSE("IPv4 multicast source");
		if (s[0] == 127)
			REFUSE("IPv4 loopback source");
		ip_len = be16(f + ip + 2);
		proto = f[ip + 9];
		l4 = ip + 4 * (f[ip] & 15);
		/* A host drops what its IP length says is shorter than the
		 * headers (RFC 1122 3.2.1.2): Linux's ip_rcv_core. */
		if (ip_len < l4 - ip)
			REFUSE("IPv4 total length shorter than the header");
	} else if ((f[ip] >> 4) == 6) {
		static const uint8_t zero[16], one[16] = {[15] = 1};

		if (ip + 40 > len)
			REFUSE("IPv6 header cut");
		if (!memcmp(f + ip + 8, zero, 16))
			REFUSE("IPv6 source ::");
		if (!memcmp(f + ip + 8, one, 16))
			REFUSE("IPv6 source ::1");
		if (f[ip + 8] == 0xff)
			REFUSE("IPv6 multicast source");
		ip_len = 40 + be16(f + ip + 4);
		proto = f[ip + 6];
		l4 = ip + 40;
	} else {
		REFUSE("not IP");
	}
	if (ip_len > len - ip)
		REFUSE("IP length beyond the frame");
	if (proto == IPPROTO_UDP) {
		uint16_t ulen;

		if (l4 + 8 > len)
			REFUSE("UDP header cut");
		ulen = be16(f + l4 + 4);
		if (ulen <= 8)
			REFUSE("UDP without payload");
		if (ulen > len - l4)
			REFUSE("UDP length beyond the frame");
		if (ulen > ip_len - (l4 - ip))
			REFUSE("UDP length beyond the IP datagram");
	} else if (proto == IPPROTO_TCP) {
		if (l4 + 20 > len)
			REFUSE("TCP header cut");
		if (ip_len < l4 - ip + 20)
			REFUSE("IP datagram shorter than the TCP header");
		if (f[l4 + 13] & PKT_TCP_RST)
			REFUSE("TCP RST");
		if (!(f[l4 + 13] & PKT_TCP_ACK))
			REFUSE("TCP without ACK");
	} else {
		/* Answers are DNS over UDP or TCP, resets over TCP, and never
		 * behind IPv6 extension headers. */
		REFUSE("neither TCP nor UDP after the IP header");
	}
	if (pppoe_at && be16(f + pppoe_at + 4) != ip_len + ppp_len)
		REFUSE("PPPoE length not the datagram's");
	return true;
}
