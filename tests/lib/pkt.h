/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pkt.h - build test packets, and take packets apart again to assert on them.
 *
 * Builder contract. A struct pkt is filled front to back by calls that each
 * append one header:
 *
 *	pkt_init(&p);
 *	pkt_eth(&p, NULL, NULL);
 *	pkt_vlan(&p, 0x88a8, 100);
 *	pkt_vlan(&p, 0x8100, 200);
 *	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", PKT_AUTO, NULL);
 *	pkt_udp(&p, 40000, 53);
 *	dns_query(&p, "example.com", DNS_TYPE_A, 0x1234, DNS_RD, true);
 *	if (pkt_finish(&p)) ... p.errmsg says which call went wrong
 *
 * Allowed order: Ethernet -> VLAN* -> (PPPoE | MPLS*) -> IPv4|IPv6 ->
 * IPv6 extension headers* -> TCP|UDP -> payload. An IP header may follow an
 * IP header (4in4, 6in4, 4in6, 6in6). The "next protocol" field of every
 * header (ethertype, PPP protocol, IP protocol, IPv6 next header) is filled
 * in when the following header is appended, unless the caller gave an
 * explicit value, which is kept as given so that tests can build lies.
 *
 * Errors are sticky: a call that fails records the first error in p->err and
 * p->errmsg, later calls do nothing, and pkt_finish() returns it. A test can
 * therefore write the whole chain and check once.
 *
 * pkt_finish() fixes every length and checksum, innermost first: L4 lengths
 * and checksums, IPv6 payload lengths, IPv4 total lengths and header
 * checksums, PPPoE lengths, MPLS bottom-of-stack bits left on PKT_AUTO. It
 * may be called again after patching bytes. Lengths cover the packet up to
 * p->len minus p->trailer (see pkt_pad()).
 *
 * Parse-back contract: pkt_parse() walks the same encapsulations in any
 * packet (ours, the program's output, or a captured frame) and never reads
 * outside [data, data + len).
 */
#ifndef TAPIS_TEST_PKT_H
#define TAPIS_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX	       4096
#define PKT_MAX_LAYERS 24
#define PKT_AUTO       (-1) /* "fill this field from what follows" */

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20
#define PKT_TCP_ECE 0x40
#define PKT_TCP_CWR 0x80

#define PKT_TPID_8021Q	0x8100
#define PKT_TPID_8021AD 0x88a8

#define PKT_PPP_IPV4 0x0021
#define PKT_PPP_IPV6 0x0057

enum pkt_layer_type {
	PKT_L_ETH = 1,
	PKT_L_VLAN,
	PKT_L_PPPOE,
	PKT_L_MPLS,
	PKT_L_IPV4,
	PKT_L_IPV6,
	PKT_L_IPV6_EXT,
	PKT_L_TCP,
	PKT_L_UDP,
	PKT_L_PAYLOAD,
};

struct pkt_layer {
	uint8_t type;  /* enum pkt_layer_type */
	bool auto_bos; /* MPLS: bottom-of-stack decided by pkt_finish */
	uint16_t off;
};

struct pkt {
	uint8_t buf[PKT_MAX];
	size_t len;	/* bytes written, trailer included */
	size_t trailer; /* bytes after the outermost datagram (pkt_pad) */
	/* Innermost headers, for patching. Valid when family / l4_proto say
	 * the header exists; l7_off is where the application bytes start. */
	size_t l2_off, l3_off, l4_off, l7_off;
	int family;	  /* AF_INET, AF_INET6, or 0 before any IP */
	uint8_t l4_proto; /* IPPROTO_TCP, IPPROTO_UDP, or 0 */
	struct pkt_layer layer[PKT_MAX_LAYERS];
	unsigned nlayers;
	int err;	    /* first error, -errno; 0 while all is well */
	const char *errmsg; /* which call failed and why */
	/* private: the next-protocol field the next header must fill */
	size_t slot_off;
	int slot_kind;
	bool slot_auto;
};

struct pkt_ipv4_opts {
	uint8_t ttl; /* 0 means 64 */
	uint8_t tos;
	uint16_t id;
	bool df, mf;
	uint16_t frag_offset;	/* in bytes; a multiple of 8 */
	const uint8_t *options; /* raw option bytes, padded with EOL to 4 */
	size_t options_len;	/* at most 40 */
};

struct pkt_ipv6_ext_opts {
	size_t len;	       /* whole header in bytes, multiple of 8;
				* 0: 8, or 24 for a routing header */
	uint8_t routing_type;  /* 43 only; 0 means 4 (segment routing) */
	uint8_t segments_left; /* 43 only */
	uint16_t frag_offset;  /* 44 only: bytes, a multiple of 8 */
	bool more;	       /* 44 only: M flag */
	uint32_t frag_id;      /* 44 only */
};

/* ---- builder ---- */
void pkt_init(struct pkt *p);
/* MACs as "02:00:00:00:00:01"; NULL picks 02:..:02 (dst) and 02:..:01 (src). */
int pkt_eth(struct pkt *p, const char *dst_mac, const char *src_mac);
int pkt_vlan(struct pkt *p, uint16_t tpid, uint16_t vid);
/* PPPoE session stage; the PPP protocol follows the next IP header. */
int pkt_pppoe(struct pkt *p, uint16_t session_id);
/* ...or is given: ppp_proto is written as is and never changed. */
int pkt_pppoe_proto(struct pkt *p, uint16_t session_id, uint16_t ppp_proto);
/* bos: 1, 0, or PKT_AUTO (set on the last label of a run). TTL 64. */
int pkt_mpls(struct pkt *p, uint32_t label, int bos);
/* proto / next: an IP protocol number, or PKT_AUTO. opts may be NULL. */
int pkt_ipv4(struct pkt *p, const char *src, const char *dst, int proto,
	     const struct pkt_ipv4_opts *opts);
int pkt_ipv6(struct pkt *p, const char *src, const char *dst, int next);
/* IPv4 or IPv6 by the look of src. */
int pkt_ip(struct pkt *p, const char *src, const char *dst, int proto);
/* type: 0 hop-by-hop, 43 routing, 60 destination options, 44 fragment, or
 * any other number (written like a hop-by-hop header). opts may be NULL. */
int pkt_ipv6_ext(struct pkt *p, uint8_t type, const struct pkt_ipv6_ext_opts *opts);
int pkt_ipv6_frag(struct pkt *p, uint16_t frag_offset, bool more, uint32_t id);
/* Window 64240, no options; pkt_tcp_options() right after adds some. */
int pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
	    uint32_t ack);
int pkt_tcp_options(struct pkt *p, const uint8_t *opts, size_t len);
int pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport);
int pkt_payload(struct pkt *p, const void *data, size_t len);
/* Give the last header's next-protocol field (ethertype, PPP protocol, IP
 * protocol) an explicit value, e.g. UDP in a later fragment's header. */
int pkt_set_next(struct pkt *p, uint16_t value);
/* Append zeros after the datagram (Ethernet padding) until p->len reaches
 * min_len; they are excluded from every length pkt_finish computes. */
int pkt_pad(struct pkt *p, size_t min_len);
int pkt_finish(struct pkt *p);

/* The encapsulations the data path parses, for tests that run a case in
 * each: Ethernet (02:..:02 <- 02:..:01), then VLAN 100, QinQ 200/300,
 * PPPoE session 0x1234, MPLS labels 1000/2000, or two of them. */
enum pkt_encap {
	PKT_ENC_NONE,
	PKT_ENC_VLAN,
	PKT_ENC_QINQ,
	PKT_ENC_PPPOE,
	PKT_ENC_MPLS,
	PKT_ENC_VLAN_PPPOE,
	PKT_ENC_VLAN_MPLS,
	PKT_ENC_N,
};
extern const char *const pkt_encap_names[PKT_ENC_N];
int pkt_l2_encap(struct pkt *p, enum pkt_encap e);

/* Ethernet + IP + TCP (PSH|ACK, seq 1, ack 1) or UDP, ready for a payload.
 * IPv4 or IPv6 by the look of src. */
int pkt_simple_tcp(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport);
int pkt_simple_udp(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport);
int pkt_simple_v4_tcp(struct pkt *p, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport);
int pkt_simple_v6_tcp(struct pkt *p, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport);
int pkt_simple_v4_udp(struct pkt *p, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport);
int pkt_simple_v6_udp(struct pkt *p, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport);

/*
 * Cut fragment [offset, offset + len) of the innermost IP datagram of
 * `whole` (finished here on a copy) into `out`, with correct L4 checksum in
 * the first fragment, since it is the whole datagram's. IPv4 keeps whole's
 * id and clears DF; IPv6 inserts a fragment header with `id` after all of
 * whole's extension headers. offset must be a multiple of 8; MF/M is set
 * unless the fragment reaches the end. `out` is finished.
 */
int pkt_fragment(const struct pkt *whole, size_t offset, size_t len, uint32_t id, struct pkt *out);

/* ---- application messages ---- */
#define DNS_QR 0x8000
#define DNS_AA 0x0400
#define DNS_TC 0x0200
#define DNS_RD 0x0100
#define DNS_RA 0x0080
#define DNS_AD 0x0020
#define DNS_CD 0x0010

#define DNS_TYPE_A     1
#define DNS_TYPE_NS    2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA   6
#define DNS_TYPE_PTR   12
#define DNS_TYPE_MX    15
#define DNS_TYPE_TXT   16
#define DNS_TYPE_AAAA  28
#define DNS_TYPE_SRV   33
#define DNS_TYPE_OPT   41
#define DNS_TYPE_HTTPS 65
#define DNS_TYPE_ANY   255
#define DNS_CLASS_IN   1

#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP   4
#define DNS_RCODE_REFUSED  5

#define DNS_EDNS_UDP_SIZE 1232

/*
 * Names are in presentation form: "www.example.com", trailing dot optional,
 * "" or "." is the root. "\." is a dot inside a label and "\DDD" any byte,
 * so captured oddities can be rebuilt. Letter case is kept as given.
 * Returns the wire length, or -EINVAL for a label over 63 bytes or a name
 * over 255, -ENOSPC when cap is too small.
 */
int dns_name_encode(const char *name, uint8_t *out, size_t cap);
/* flags: DNS_RD etc. (OPCODE and RCODE bits too); with_edns adds an OPT RR
 * (UDP size DNS_EDNS_UDP_SIZE). Returns the message length or -errno. */
int dns_query_bytes(uint8_t *out, size_t cap, const char *name, uint16_t qtype, uint16_t id,
		    uint16_t flags, bool with_edns);
int dns_query(struct pkt *p, const char *name, uint16_t qtype, uint16_t id, uint16_t flags,
	      bool with_edns);
/* The same message behind the 2-byte length prefix of DNS over TCP. */
int dns_query_tcp(struct pkt *p, const char *name, uint16_t qtype, uint16_t id, uint16_t flags,
		  bool with_edns);

struct tls_ch_opts {
	const char *sni;      /* NULL: no server_name extension */
	const char *alpn;     /* comma-separated; NULL "h2,http/1.1", "" none */
	bool sni_last;	      /* server_name after key_share, as Chrome does */
	size_t key_share_len; /* 0: 32 (X25519); 1216 looks like PQ hybrid */
	size_t pad_to;	      /* padding extension until the handshake
			       * message is at least this long */
	size_t max_record;    /* >0: cut the handshake into TLS records
			       * of at most this many bytes of body */
	bool ech;	      /* an encrypted_client_hello (0xfe0d) extension
			       * first, before server_name */
	bool tls12;	      /* a TLS 1.2 client: no supported_versions,
			       * psk_key_exchange_modes or key_share */
};

/*
 * A TLS ClientHello record as curl/OpenSSL 3 sends it: legacy version TLS 1.2
 * with supported_versions offering 1.3 and 1.2, 32-byte session id, 15
 * cipher suites, and server_name, ec_point_formats, supported_groups,
 * session_ticket, ALPN, encrypt_then_mac, extended_master_secret,
 * signature_algorithms, supported_versions, psk_key_exchange_modes and
 * key_share extensions. Random bytes are a fixed pattern (reproducible).
 * Returns the length or -errno.
 */
int tls_client_hello_bytes(uint8_t *out, size_t cap, const struct tls_ch_opts *o);
int tls_client_hello(struct pkt *p, const char *sni);
int tls_client_hello_ex(struct pkt *p, const struct tls_ch_opts *o);

/* "GET path HTTP/1.1" with Host (omitted when host is NULL), User-Agent
 * and Accept headers. path NULL means "/". */
int http_get_bytes(uint8_t *out, size_t cap, const char *host, const char *path);
int http_get(struct pkt *p, const char *host, const char *path);

/* ---- parse back ---- */
#define PKT_VIEW_MAX_VLAN 4
#define PKT_VIEW_MAX_MPLS 8
#define PKT_VIEW_MAX_IP	  4
#define PKT_VIEW_MAX_EXT  8

struct pkt_view {
	const uint8_t *data;
	size_t len;
	const char *err; /* why pkt_parse stopped, when it failed */

	uint8_t eth_dst[6], eth_src[6];
	unsigned vlan_n;
	uint16_t vlan_tpid[PKT_VIEW_MAX_VLAN];
	uint16_t vlan_id[PKT_VIEW_MAX_VLAN];
	bool pppoe;
	uint16_t pppoe_session, pppoe_len, ppp_proto;
	unsigned mpls_n;
	uint32_t mpls_label[PKT_VIEW_MAX_MPLS];
	uint16_t ethertype; /* the last one, naming what follows L2 */

	/* Every IP header, outermost first; the fields below describe the
	 * innermost one, which carries the transport. */
	unsigned ip_n;
	size_t ip_off[PKT_VIEW_MAX_IP];
	int family; /* AF_INET, AF_INET6, or 0: no IP found */
	size_t l3_off;
	size_t l3_end;		  /* end of the datagram by its length field */
	uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes */
	char src_str[46], dst_str[46];
	uint8_t ttl; /* or hop limit */
	uint16_t ip_id;
	unsigned ext_n;
	uint8_t ext_type[PKT_VIEW_MAX_EXT];
	bool frag; /* a fragment (not a whole datagram) */
	bool frag_more;
	uint32_t frag_offset; /* bytes */
	uint32_t frag_id;

	uint8_t proto; /* innermost upper-layer protocol */
	bool has_l4;   /* TCP or UDP header present and parsed */
	size_t l4_off;
	uint16_t sport, dport;
	uint16_t l4_csum; /* as found in the packet */
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint16_t window;
	uint8_t tcp_doff; /* header length in bytes */
	uint16_t udp_len;

	size_t l7_off;
	const uint8_t *payload; /* transport payload (or IP payload when
				 * there is no TCP/UDP), bounded by l3_end */
	size_t payload_len;
};

/*
 * 0 when every header present parses and every length fits; else -EBADMSG
 * and v->err says what. A header cut short stops the walk; a length field
 * claiming more than the frame holds does not: the walk goes on within the
 * frame, so captured (snaplen-cut, fuzzed) frames still yield addresses and
 * ports. A non-IP frame returns 0 with family 0.
 */
int pkt_parse(const uint8_t *data, size_t len, struct pkt_view *v);
/* One line such as "vlan(100) ipv4 10.0.0.1:40000 > 10.0.0.2:53 udp 29B". */
void pkt_describe(const struct pkt_view *v, char *buf, size_t cap);
void pkt_hexdump(const void *data, size_t len); /* to stderr */

/* RFC 1071 sum over len bytes, folded and inverted. */
uint16_t pkt_inet_csum(const void *data, size_t len);
/* Every IPv4 header in the view has a good checksum (false if none). */
bool ipv4_hdr_csum_ok(const struct pkt_view *v);
/* The innermost TCP/UDP checksum is right. False for fragments, whose sum
 * needs the whole datagram, and without TCP/UDP. UDP over IPv4 with
 * checksum 0 (none) counts as right; over IPv6 it does not. */
bool l4_csum_ok(const struct pkt_view *v);

/* ---- DNS messages ---- */
#define DNS_MAX_RR	 16
#define DNS_NAME_STR_MAX 1024 /* 255 wire bytes, each up to "\DDD" */

struct dns_rr {
	char name[DNS_NAME_STR_MAX];
	uint16_t type, class;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
	char addr[46]; /* A and AAAA rdata in text, else "" */
};

struct dns_msg {
	uint16_t id, flags;
	bool qr, aa, tc, rd, ra, ad, cd;
	uint8_t opcode, rcode;
	uint16_t qdcount, ancount, nscount, arcount;
	/* the first question; names in the same form dns_name_encode takes,
	 * without trailing dot, "." for the root */
	char qname[DNS_NAME_STR_MAX];
	uint16_t qtype, qclass;
	/* records kept per section, at most DNS_MAX_RR each */
	unsigned an_n, ns_n, ar_n;
	struct dns_rr an[DNS_MAX_RR], ns[DNS_MAX_RR], ar[DNS_MAX_RR];
	bool has_opt; /* an OPT RR in the additional section */
	uint16_t opt_udp_size;
	uint8_t opt_ext_rcode, opt_version;
	bool opt_do;
	size_t len; /* bytes the message used */
};

/* 0, or -EBADMSG for a truncated or malformed message (bad pointers,
 * pointer loops, names over 255 bytes). */
int dns_parse(const uint8_t *msg, size_t len, struct dns_msg *m);
/* The DNS message in v's payload; for TCP after its length prefix. */
int dns_parse_view(const struct pkt_view *v, struct dns_msg *m);

#endif /* TAPIS_TEST_PKT_H */
