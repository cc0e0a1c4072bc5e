// SPDX-License-Identifier: GPL-2.0
/* The TLS and HTTP half of the shared corpus (../shared/corpus): real
 * captures and the ClientHello SNI / HTTP Host names tshark extracts from
 * them (expected.tsv and derived/expected.tsv, protocols tls and http),
 * plus no-hostname.tsv (ClientHellos without SNI, HTTP over UDP).
 *
 * Every expected name gets its own monitor rule, "=name", and so does a
 * variant of it with its first label changed (a name no capture holds).
 * Each capture's frames run through the program in capture order
 * (BPF_PROG_TEST_RUN; the flow table tapis_flows persists between runs, so
 * hellos and requests split over segments are followed), with the flow
 * tables emptied between captures (the derived captures reuse the 5-tuples
 * of their base capture). The per-kind rule counters
 * (tapis_counter.kind_packets) are read before and after each capture:
 *   - a row whose encapsulation the data path parses (none, vlan, qinq,
 *     pppoe, mpls and their combinations) needs its name's rule to have
 *     counted a packet of its kind (TLS or HTTP) during its capture;
 *   - rows that cannot match by design are listed with the reason and
 *     counted as skipped; where the design says "no match", that is
 *     asserted (IP literals, derived_tls_2seg_reversed, tunnelled rows);
 *   - no rule counts a TLS/HTTP packet in a capture that does not list its
 *     name, the absent variants never count, and the frames of
 *     no-hostname.tsv add no TLS/HTTP hit to any rule.
 *
 * Ports: the data path reads TLS and HTTP only on the policy's tls and
 * http ports (default 443; 80, 8080). settings.ports is built from the
 * server ports (dport) of expected-frames.tsv (a derived capture takes those
 * of its base capture, derived/recipes.tsv), so rows on non-standard ports
 * (8013, 3001, 1234, 25, 31337, 8888, 21477, 1080, ...) are covered too. A
 * port belongs to one class (the tls class wins in flow_lookup), and two
 * ports carry both in the corpus (8080: HTTP CONNECT then TLS; 1080):
 * those captures run twice, once with the port in the http class (the
 * http rows are checked) and once, after a reload, in the tls class (the
 * tls rows are checked). The corpus location can be given with
 * TAPIS_CORPUS (default ../shared/corpus from the repository root, or
 * /work/shared/corpus). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "corpus.h"
#include "fixture.h"
#include "hostname.h"
#include "pcap.h"
#include "test.h"

#define MAX_ROWS    512
#define MAX_NAMES   512
#define MAX_FRAMES  2048
#define MAX_NOHOST  128
#define MAX_PCAPS   256
#define MAX_CONFL   16
#define REVERSED    "derived_tls_2seg_reversed.pcap"
#define ABSENT_TAIL "-tapis-absent"

struct row {
	char pcap[128];
	char dir[16]; /* "" or "derived/" */
	char proto[8];
	char name[512];
	char encap[64];
	char reassembly[8];
	unsigned port;	  /* server port, 0: unknown */
	int kind;	  /* TAPIS_KIND_TLS or TAPIS_KIND_HTTP */
	int parsed;	  /* encapsulation the data path reads */
	int name_idx;	  /* into names[], -1: not a valid pattern */
	int pass;	  /* 0, or 1 for a tls row on a port both classes use */
	const char *skip; /* why it cannot match by design, or NULL */
	bool must_not;	  /* by design: assert it does not match */
};

struct name {
	char name[TAPIS_HOST_MAX + 1];
	char absent[TAPIS_HOST_MAX + 1 + 16];
	uint32_t rule, absent_rule;
	uint64_t before[TAPIS_KIND_MAX], delta[TAPIS_KIND_MAX];
};

struct frame_port {
	char pcap[128], proto[8], name[512];
	unsigned dport;
};

struct nohost {
	char pcap[128];
	unsigned long frame;
	char kind[80];
	uint64_t hits;
	bool seen;
};

struct recipe {
	char pcap[128], base[128];
};

static struct row rows[MAX_ROWS];
static size_t n_rows;
static struct name names[MAX_NAMES];
static size_t n_names;
static struct frame_port fports[MAX_FRAMES];
static size_t n_fports;
static struct nohost nohost[MAX_NOHOST];
static size_t n_nohost;
static struct recipe recipes[64];
static size_t n_recipes;
static unsigned tls_ports[256], http_ports[256], confl[MAX_CONFL];
static size_t n_tls_ports, n_http_ports, n_confl;
static struct fixture fx;
static char corpus[512];
static unsigned n_frames, n_frames_skipped, n_run_errors;
static uint64_t reason_delta[TAPIS_R_MAX]; /* over the last capture run */

static bool ip_literal(const char *n)
{
	uint8_t a[16];

	return inet_pton(AF_INET, n, a) == 1 || inet_pton(AF_INET6, n, a) == 1;
}

static int name_index(const char *n)
{
	for (size_t i = 0; i < n_names; i++)
		if (!strcmp(names[i].name, n))
			return (int)i;
	if (n_names == MAX_NAMES)
		return -1;
	struct name *m = &names[n_names];
	const char *dot = strchr(n, '.');
	size_t l0 = dot ? (size_t)(dot - n) : strlen(n);

	snprintf(m->name, sizeof(m->name), "%.253s", n);
	/* first label changed: "www.ntop.org" -> "www-tapis-absent.ntop.org",
	 * cut so that the label stays within 63 bytes */
	if (l0 > 63 - strlen(ABSENT_TAIL))
		l0 = 63 - strlen(ABSENT_TAIL);
	snprintf(m->absent, sizeof(m->absent), "%.*s%s%.200s", (int)l0, n, ABSENT_TAIL,
		 dot ? dot : "");
	return (int)n_names++;
}

static int load_frames(void)
{
	char path[700], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/expected-frames.tsv", corpus);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *col[24];
		int n = corpus_split(line, col, 24);

		if (n < 9 || (strcmp(col[1], "tls") && strcmp(col[1], "http")) ||
		    strcmp(col[4], "TCP") || n_fports == MAX_FRAMES)
			continue;
		struct frame_port *fp = &fports[n_fports++];

		snprintf(fp->pcap, sizeof(fp->pcap), "%s", col[0]);
		snprintf(fp->proto, sizeof(fp->proto), "%s", col[1]);
		snprintf(fp->name, sizeof(fp->name), "%s", col[2]);
		fp->dport = (unsigned)strtoul(col[8], NULL, 10);
	}
	fclose(f);
	return 0;
}

static int load_recipes(void)
{
	char path[700], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/derived/recipes.tsv", corpus);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *col[8];

		if (corpus_split(line, col, 8) < 2 || !strcmp(col[0], "pcap") || n_recipes == 64)
			continue;
		snprintf(recipes[n_recipes].pcap, sizeof(recipes[0].pcap), "%s", col[0]);
		snprintf(recipes[n_recipes].base, sizeof(recipes[0].base), "%s", col[1]);
		n_recipes++;
	}
	fclose(f);
	return 0;
}

static unsigned row_port(const struct row *r)
{
	const char *pcap = r->pcap;

	if (r->dir[0])
		for (size_t i = 0; i < n_recipes; i++)
			if (!strcmp(recipes[i].pcap, r->pcap))
				pcap = recipes[i].base;
	for (size_t i = 0; i < n_fports; i++)
		if (!strcmp(fports[i].pcap, pcap) && !strcmp(fports[i].proto, r->proto) &&
		    !strcmp(fports[i].name, r->name))
			return fports[i].dport;
	return 0;
}

static void add_port(unsigned *set, size_t *n, unsigned p)
{
	for (size_t i = 0; i < *n; i++)
		if (set[i] == p)
			return;
	if (*n < 256)
		set[(*n)++] = p;
}

static bool in_set(const unsigned *set, size_t n, unsigned p)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == p)
			return true;
	return false;
}

static int load_tsv(const char *dir)
{
	char path[700], line[2048];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%sexpected.tsv", corpus, dir);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *col[8];
		int n = corpus_split(line, col, 8);

		if (n < 7 || !strcmp(col[0], "pcap"))
			continue;
		if (strcmp(col[1], "tls") && strcmp(col[1], "http"))
			continue;
		if (n_rows == MAX_ROWS)
			break;
		struct row *r = &rows[n_rows++];
		char norm[TAPIS_HOST_MAX + 2];

		snprintf(r->pcap, sizeof(r->pcap), "%s", col[0]);
		snprintf(r->dir, sizeof(r->dir), "%s", dir);
		snprintf(r->proto, sizeof(r->proto), "%s", col[1]);
		snprintf(r->name, sizeof(r->name), "%s", col[2]);
		snprintf(r->reassembly, sizeof(r->reassembly), "%s", col[4]);
		snprintf(r->encap, sizeof(r->encap), "%s", col[6]);
		r->kind = strcmp(r->proto, "tls") ? TAPIS_KIND_HTTP : TAPIS_KIND_TLS;
		r->parsed = corpus_encap_parsed(r->encap);
		r->port = row_port(r);
		if (!ip_literal(r->name) &&
		    hostname_normalize(r->name, norm, sizeof(norm), NULL) == 0 &&
		    !strcmp(norm, r->name))
			r->name_idx = name_index(r->name);
		else
			r->name_idx = -1;

		/* by design, decided from the row itself */
		if (ip_literal(r->name)) {
			/* the compiler refuses an address as a host pattern */
			r->skip = "IP literal: no name to match (HTTP: http_ip_host), and "
				  "no host pattern can hold it (a nets entry would)";
		} else if (r->name_idx < 0) {
			r->skip = "not a hostname (bytes tshark writes \\xHH, or not LDH): "
				  "no pattern can name it";
		} else if (!r->parsed) {
			r->skip = "tunnelled (gre/other): the data path reads no inner "
				  "header; asserted not counted";
			r->must_not = true;
		} else if (!strcmp(r->pcap, "zeek_vlan-qinqinq.pcap")) {
			r->skip = "three 802.1Q tags, over TAPIS_MAX_VLAN (2): passed and "
				  "counted as vlan_depth; asserted not counted";
			r->must_not = true;
		} else if (!strcmp(r->pcap, "haproxy.pcap")) {
			r->skip = "a PROXY protocol v1 line precedes the ClientHello: the "
				  "segment does not start a hello (docs/l7.md); asserted "
				  "not counted";
			r->must_not = true;
		} else if (!strcmp(r->pcap, REVERSED)) {
			r->skip = "segments out of order: not followed by design "
				  "(l7_out_of_order or a pass); asserted not counted";
			r->must_not = true;
		} else if (!r->port) {
			r->skip = "no server port in expected-frames.tsv";
		}
	}
	fclose(f);
	return 0;
}

static int load_nohost(void)
{
	char path[700], line[2048];
	FILE *f;

	snprintf(path, sizeof(path), "%s/no-hostname.tsv", corpus);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *col[12];
		int n = corpus_split(line, col, 12);

		if (n < 3 || !strcmp(col[0], "pcap") || n_nohost == MAX_NOHOST)
			continue;
		struct nohost *h = &nohost[n_nohost++];

		snprintf(h->pcap, sizeof(h->pcap), "%s", col[0]);
		h->frame = strtoul(col[1], NULL, 10);
		snprintf(h->kind, sizeof(h->kind), "%s", col[2]);
	}
	fclose(f);
	return 0;
}

/* The ports of every row, both classes; ports both use run twice. */
static void build_ports(void)
{
	add_port(tls_ports, &n_tls_ports, 443);
	add_port(http_ports, &n_http_ports, 80);
	add_port(http_ports, &n_http_ports, 8080);
	for (size_t i = 0; i < n_rows; i++)
		if (rows[i].port)
			add_port(rows[i].kind == TAPIS_KIND_TLS ? tls_ports : http_ports,
				 rows[i].kind == TAPIS_KIND_TLS ? &n_tls_ports : &n_http_ports,
				 rows[i].port);
	for (size_t i = 0; i < n_tls_ports; i++)
		if (in_set(http_ports, n_http_ports, tls_ports[i]) && n_confl < MAX_CONFL)
			confl[n_confl++] = tls_ports[i];
	for (size_t i = 0; i < n_rows; i++)
		rows[i].pass =
			rows[i].kind == TAPIS_KIND_TLS && in_set(confl, n_confl, rows[i].port);
}

/* pass 0: a port both classes use is an http port; pass 1: a tls port. */
static char *policy_text(int pass)
{
	size_t cap = n_names * 700 + 8192, o = 0;
	char *y = malloc(cap);

	o += snprintf(y + o, cap - o, "version: 1\nsettings:\n  ports:\n    tls: [");
	for (size_t i = 0, k = 0; i < n_tls_ports; i++)
		if (pass || !in_set(confl, n_confl, tls_ports[i]))
			o += snprintf(y + o, cap - o, "%s%u", k++ ? ", " : "", tls_ports[i]);
	o += snprintf(y + o, cap - o, "]\n    http: [");
	for (size_t i = 0, k = 0; i < n_http_ports; i++)
		if (!pass || !in_set(confl, n_confl, http_ports[i]))
			o += snprintf(y + o, cap - o, "%s%u", k++ ? ", " : "", http_ports[i]);
	o += snprintf(y + o, cap - o, "]\nrules:\n");
	for (size_t i = 0; i < n_names; i++)
		o += snprintf(y + o, cap - o,
			      "  - name: n%zu\n    action: monitor\n    hosts: [\"=%s\"]\n"
			      "  - name: a%zu\n    action: monitor\n    hosts: [\"=%s\"]\n",
			      i, names[i].name, i, names[i].absent);
	return y;
}

static void note_rule(const char *name, uint32_t id, void *ctx)
{
	unsigned long i;

	(void)ctx;
	if (sscanf(name, "n%lu", &i) == 1 && i < n_names)
		names[i].rule = id;
	else if (sscanf(name, "a%lu", &i) == 1 && i < n_names)
		names[i].absent_rule = id;
}

static int rule_ids(void)
{
	int err = fx_each_rule(&fx, note_rule, NULL);

	if (err)
		return err;
	for (size_t i = 0; i < n_names; i++)
		if (!names[i].rule || !names[i].absent_rule)
			return -ENOENT;
	return 0;
}

/* TLS + HTTP packets counted on every rule, absent variants included. */
static uint64_t l7_total(void)
{
	uint64_t t = 0;

	for (size_t i = 0; i < n_names; i++)
		for (int k = TAPIS_KIND_TLS; k <= TAPIS_KIND_HTTP; k++)
			t += fx_id_kind_packets(&fx, names[i].rule, k) +
			     fx_id_kind_packets(&fx, names[i].absent_rule, k);
	return t;
}

/* Run every frame of one capture, in capture order; names[].delta = what
 * each rule counted, by kind. */
static bool run_pcap(const char *dir, const char *file)
{
	struct pcap_reader r;
	char path[800];
	const uint8_t *data;
	uint32_t caplen;
	int rc;

	if (fx_flows_clear(&fx)) {
		fprintf(stderr, "%s%s: could not empty the flow table\n", dir, file);
		return false;
	}
	for (size_t i = 0; i < n_names; i++)
		for (int k = 0; k < TAPIS_KIND_MAX; k++)
			names[i].before[k] = fx_id_kind_packets(&fx, names[i].rule, k);
	for (unsigned k = 0; k < TAPIS_R_MAX; k++)
		reason_delta[k] = fx_reason(&fx, k);
	snprintf(path, sizeof(path), "%.500s/%.15spcap/%.127s", corpus, dir, file);
	rc = pcap_open(path, &r);
	if (rc) {
		fprintf(stderr, "open %s: %s\n", path, r.err);
		return false;
	}
	while ((rc = pcap_next(&r, &data, &caplen, NULL)) == 1) {
		struct nohost *nh = NULL;
		uint64_t t0 = 0;
		int ret;

		if (!dir[0])
			for (size_t i = 0; i < n_nohost; i++)
				if (nohost[i].frame == r.frames && !strcmp(nohost[i].pcap, file))
					nh = &nohost[i];
		/* BPF_PROG_TEST_RUN takes a frame of one page at most, and
		 * none shorter than Ethernet. */
		if (caplen < 14 || caplen > 3500) {
			n_frames_skipped++;
			continue;
		}
		if (nh)
			t0 = l7_total();
		ret = fx_run(&fx, data, caplen, NULL, NULL);
		if (ret != XDP_PASS) {
			fprintf(stderr, "%s%s frame %lu: %s (monitor rules only)\n", dir, file,
				(unsigned long)r.frames, xdp_action_name(ret));
			n_run_errors++;
		}
		if (nh) {
			nh->hits += l7_total() - t0;
			nh->seen = true;
		}
		n_frames++;
	}
	pcap_close(&r);
	if (rc) {
		fprintf(stderr, "read %s: %d\n", path, rc);
		return false;
	}
	for (unsigned k = 0; k < TAPIS_R_MAX; k++)
		reason_delta[k] = fx_reason(&fx, k) - reason_delta[k];
	for (size_t i = 0; i < n_names; i++)
		for (int k = 0; k < TAPIS_KIND_MAX; k++)
			names[i].delta[k] =
				fx_id_kind_packets(&fx, names[i].rule, k) - names[i].before[k];
	return true;
}

static unsigned n_checked, n_matched, n_skipped, n_must_not, n_failed;

/* Judge the rows of one capture run in one pass. */
static bool judge(const char *dir, const char *pcap, int pass)
{
	bool ok = true;

	for (size_t j = 0; j < n_rows; j++) {
		struct row *r = &rows[j];
		uint64_t got;

		if (strcmp(r->pcap, pcap) || strcmp(r->dir, dir) || r->pass != pass)
			continue;
		got = r->name_idx >= 0 ? names[r->name_idx].delta[r->kind] : 0;
		if (r->skip) {
			printf("# skipped: %s%s %s '%s' (%s, port %u): %s\n", r->dir, r->pcap,
			       r->proto, r->name, r->encap, r->port, r->skip);
			n_skipped++;
			if (r->must_not) {
				bool also = false;

				/* the same name may sit in a row of this capture
				 * that is read (a tunnel's outer flow, ...) */
				for (size_t k = 0; k < n_rows; k++)
					if (k != j && rows[k].name_idx == r->name_idx &&
					    !rows[k].skip && rows[k].kind == r->kind &&
					    !strcmp(rows[k].pcap, pcap) &&
					    !strcmp(rows[k].dir, dir))
						also = true;
				n_must_not++;
				if (got && !also) {
					fprintf(stderr,
						"FAIL %s%s: %s '%s' counted %lu %s packets, "
						"expected none (%s)\n",
						r->dir, r->pcap, r->proto, r->name,
						(unsigned long)got, r->proto, r->skip);
					ok = false;
					n_failed++;
				}
			}
			continue;
		}
		n_checked++;
		if (got) {
			n_matched++;
		} else {
			fprintf(stderr,
				"FAIL %s%s: %s '%s' (%s, port %u, reassembly %s): no %s packet "
				"counted on its rule\n",
				r->dir, r->pcap, r->proto, r->name, r->encap, r->port,
				r->reassembly, r->proto);
			fprintf(stderr, "  fail-open reasons counted during the capture:");
			for (unsigned k = 1; k < TAPIS_R_MAX; k++)
				if (reason_delta[k])
					fprintf(stderr, " [%u]=%lu", k,
						(unsigned long)reason_delta[k]);
			fprintf(stderr, "\n");
			ok = false;
			n_failed++;
		}
	}
	/* false hits: a TLS/HTTP count on a name this capture does not list */
	for (size_t k = 0; k < n_names; k++)
		for (int kind = TAPIS_KIND_TLS; kind <= TAPIS_KIND_HTTP; kind++) {
			bool listed = false;

			if (!names[k].delta[kind])
				continue;
			for (size_t j = 0; j < n_rows; j++)
				if (rows[j].name_idx == (int)k && rows[j].kind == kind &&
				    !strcmp(rows[j].pcap, pcap) && !strcmp(rows[j].dir, dir))
					listed = true;
			if (!listed) {
				fprintf(stderr, "FAIL %s%s (pass %d): false %s hit on '%s' (%lu)\n",
					dir, pcap, pass, kind == TAPIS_KIND_TLS ? "tls" : "http",
					names[k].name, (unsigned long)names[k].delta[kind]);
				ok = false;
			}
		}
	return ok;
}

struct cap {
	char dir[16], pcap[128];
	bool pass1;
};
static struct cap caps[MAX_PCAPS];
static size_t n_caps;

static void add_cap(const char *dir, const char *pcap, bool pass1)
{
	for (size_t i = 0; i < n_caps; i++)
		if (!strcmp(caps[i].dir, dir) && !strcmp(caps[i].pcap, pcap)) {
			caps[i].pass1 |= pass1;
			return;
		}
	if (n_caps == MAX_PCAPS)
		return;
	snprintf(caps[n_caps].dir, sizeof(caps[0].dir), "%s", dir);
	snprintf(caps[n_caps].pcap, sizeof(caps[0].pcap), "%s", pcap);
	caps[n_caps++].pass1 = pass1;
}

static bool test_corpus_l7(void)
{
	uint64_t ooo0 = fx_reason(&fx, TAPIS_R_L7_OUT_OF_ORDER);
	bool ok = true;
	char *yaml;

	for (size_t i = 0; i < n_rows; i++)
		add_cap(rows[i].dir, rows[i].pcap, rows[i].pass == 1);
	for (size_t i = 0; i < n_nohost; i++)
		add_cap("", nohost[i].pcap, false);

	for (size_t c = 0; c < n_caps; c++) {
		uint64_t o0 = fx_reason(&fx, TAPIS_R_L7_OUT_OF_ORDER);

		if (!run_pcap(caps[c].dir, caps[c].pcap))
			return false;
		ok &= judge(caps[c].dir, caps[c].pcap, 0);
		if (!strcmp(caps[c].pcap, REVERSED))
			printf("# %s%s: l7_out_of_order +%lu\n", caps[c].dir, caps[c].pcap,
			       (unsigned long)(fx_reason(&fx, TAPIS_R_L7_OUT_OF_ORDER) - o0));
	}

	/* pass 1: the ports both classes use as tls ports (a reload) */
	yaml = policy_text(1);
	ASSERT_OK(fx_policy(&fx, yaml), "reload with the shared ports as tls ports");
	free(yaml);
	ASSERT_OK(rule_ids(), "rule ids after the reload");
	for (size_t c = 0; c < n_caps; c++) {
		if (!caps[c].pass1)
			continue;
		if (!run_pcap(caps[c].dir, caps[c].pcap))
			return false;
		ok &= judge(caps[c].dir, caps[c].pcap, 1);
	}

	for (size_t i = 0; i < n_names; i++) {
		uint64_t a = fx_id_packets(&fx, names[i].absent_rule);

		if (a) {
			fprintf(stderr, "FAIL absent name '%s' counted %lu packets\n",
				names[i].absent, (unsigned long)a);
			ok = false;
		}
	}
	for (size_t i = 0; i < n_nohost; i++) {
		if (!nohost[i].seen) {
			fprintf(stderr, "FAIL no-hostname %s frame %lu (%s): not run\n",
				nohost[i].pcap, nohost[i].frame, nohost[i].kind);
			ok = false;
		} else if (nohost[i].hits) {
			fprintf(stderr, "FAIL no-hostname %s frame %lu (%s): %lu TLS/HTTP hits\n",
				nohost[i].pcap, nohost[i].frame, nohost[i].kind,
				(unsigned long)nohost[i].hits);
			ok = false;
		}
	}
	if (n_run_errors)
		ok = false;

	printf("# ports: tls [");
	for (size_t i = 0; i < n_tls_ports; i++)
		printf("%s%u", i ? " " : "", tls_ports[i]);
	printf("] http [");
	for (size_t i = 0; i < n_http_ports; i++)
		printf("%s%u", i ? " " : "", http_ports[i]);
	printf("], both (run twice) [");
	for (size_t i = 0; i < n_confl; i++)
		printf("%s%u", i ? " " : "", confl[i]);
	printf("]\n");
	test_cases(n_checked);
	printf("# %zu tls/http rows in %zu captures: %u checked, %u matched, %u failed; "
	       "%u skipped with a reason (%u of them asserted not counted)\n",
	       n_rows, n_caps, n_checked, n_matched, n_failed, n_skipped, n_must_not);
	printf("# %zu absent names, %zu no-hostname frames checked for no hit; "
	       "l7_out_of_order %lu in all\n",
	       n_names, n_nohost, (unsigned long)(fx_reason(&fx, TAPIS_R_L7_OUT_OF_ORDER) - ooo0));
	printf("# %u frames run, %u skipped (shorter than Ethernet or longer than a page)\n",
	       n_frames, n_frames_skipped);
	return ok;
}

static const struct test_case tests[] = {
	TEST(test_corpus_l7),
};

int main(int argc, char **argv)
{
	char *yaml;
	int err, rc;

	if (!corpus_find(corpus, sizeof(corpus))) {
		/* CI has the corpus: there, its absence is a failure. */
		if (test_strict()) {
			printf("not ok 1 - corpus not found (TAPIS_STRICT=1: may not skip; set "
			       "TAPIS_CORPUS)\n0 passed, 1 failed\n");
			return 1;
		}
		printf("1..0 # SKIP corpus not found (set TAPIS_CORPUS)\n0 passed, 0 failed, 1 "
		       "skipped\n");
		return 0;
	}
	err = load_frames();
	err = err ?: load_recipes();
	err = err ?: load_tsv("");
	err = err ?: load_tsv("derived/");
	err = err ?: load_nohost();
	if (err) {
		fprintf(stderr, "read %s: %s\n", corpus, strerror(-err));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	build_ports();
	yaml = policy_text(0);
	err = fx_setup(&fx, yaml);
	free(yaml);
	if (!err)
		err = rule_ids();
	if (err) {
		fprintf(stderr, "setup: %s\n", strerror(-err));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	printf("# corpus %s: %zu names, one monitor rule each, and one for each with its "
	       "first label changed\n",
	       corpus, n_names);
	rc = test_run(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	fx_teardown(&fx);
	return rc;
}
