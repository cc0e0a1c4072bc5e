// SPDX-License-Identifier: GPL-2.0
/* The DNS half of the shared corpus (../shared/corpus): real captures and
 * the query names tshark extracts from them (expected.tsv and
 * derived/expected.tsv, protocols dns and dns-tcp).
 *
 * Every expected name that is a valid pattern gets its own monitor rule,
 * "=name", plus one rule for a name no capture holds. Each capture's
 * frames then run through the program one by one (BPF_PROG_TEST_RUN), and
 * the rule counters are read before and after each capture:
 *   - a row whose encapsulation the data path parses (none, vlan, qinq,
 *     pppoe, mpls and their combinations) needs its name's rule to have
 *     counted during its capture;
 *   - a tunnelled row (gre, other) must not have counted, unless the same
 *     name also sits in a parsed row of that capture;
 *   - no rule may count during a capture that does not list its name
 *     (a false hit), and the absent name's rule stays at zero.
 * Names that are not valid patterns (bytes outside LDH and '_', a dot
 * inside a label: tshark writes those \xHH) are listed, not matched. The
 * corpus location can be given with TAPIS_CORPUS (default
 * ../shared/corpus from the repository root, or /work/shared/corpus). */
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
#include "pkt.h"
#include "test.h"

#define MAX_ROWS    1024
#define MAX_NAMES   1024
#define ABSENT_NAME "absent-from-every-capture.tapis.example"

struct row {
	char pcap[128];
	char dir[16]; /* "" or "derived/" */
	char proto[16];
	char name[512];
	char encap[64];
	char reassembly[8];
	int parsed;   /* encapsulation the data path reads */
	int name_idx; /* into names[], -1: not a valid pattern */
};

struct name {
	char name[TAPIS_HOST_MAX + 1];
	uint32_t rule;
	uint64_t before, delta; /* around the current capture */
};

static struct row rows[MAX_ROWS];
static size_t n_rows;
static struct name names[MAX_NAMES];
static size_t n_names;
static struct fixture fx;
static char corpus[512];
static unsigned n_invalid;

static int name_index(const char *n)
{
	for (size_t i = 0; i < n_names; i++)
		if (!strcmp(names[i].name, n))
			return (int)i;
	if (n_names == MAX_NAMES)
		return -1;
	snprintf(names[n_names].name, sizeof(names[n_names].name), "%s", n);
	return (int)n_names++;
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
		char *col[8], *save = NULL;
		int n = 0;

		line[strcspn(line, "\r\n")] = '\0';
		for (char *t = strtok_r(line, "\t", &save); t && n < 8;
		     t = strtok_r(NULL, "\t", &save))
			col[n++] = t;
		if (n < 7 || !strcmp(col[0], "pcap"))
			continue;
		if (strcmp(col[1], "dns") && strcmp(col[1], "dns-tcp"))
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
		r->parsed = corpus_encap_parsed(r->encap);
		/* A valid pattern, already in normal form (tshark lowercased
		 * it): anything else would be a different name. */
		if (hostname_normalize(r->name, norm, sizeof(norm), NULL) == 0 &&
		    !strcmp(norm, r->name)) {
			r->name_idx = name_index(r->name);
		} else {
			r->name_idx = -1;
		}
	}
	fclose(f);
	return 0;
}

static char *policy_text(void)
{
	size_t cap = (n_names + 1) * 400 + 64, o = 0;
	char *y = malloc(cap);

	o += snprintf(y + o, cap - o, "version: 1\nrules:\n");
	for (size_t i = 0; i < n_names; i++)
		o += snprintf(y + o, cap - o,
			      "  - name: n%zu\n    action: monitor\n    hosts: [\"=%s\"]\n", i,
			      names[i].name);
	o += snprintf(y + o, cap - o,
		      "  - name: absent\n    action: monitor\n    hosts: [\"%s\"]\n", ABSENT_NAME);
	return y;
}

static uint64_t counter(uint32_t id)
{
	return fx_id_packets(&fx, id);
}

static uint32_t absent_rule;

static void note_rule(const char *name, uint32_t id, void *ctx)
{
	unsigned long i;

	(void)ctx;
	if (!strcmp(name, "absent"))
		absent_rule = id;
	else if (sscanf(name, "n%lu", &i) == 1 && i < n_names)
		names[i].rule = id;
}

static int rule_ids(void)
{
	int err = fx_each_rule(&fx, note_rule, NULL);

	if (err)
		return err;
	for (size_t i = 0; i < n_names; i++)
		if (!names[i].rule)
			return -ENOENT;
	return absent_rule ? 0 : -ENOENT;
}

static unsigned n_frames, n_skipped;

/* ---- queries the data path passes by design (issue 4: QDCOUNT != 1, an
 * OPCODE other than QUERY, a pointer in the question), which tshark still
 * reads a name from. Found by looking at the row's frames. ---- */
static const uint8_t *frame_at(const char *dir, const char *file, unsigned long no,
			       struct pcap_reader *r, uint32_t *len)
{
	char path[800];
	const uint8_t *data;

	snprintf(path, sizeof(path), "%.500s/%.15spcap/%.127s", corpus, dir, file);
	if (pcap_open(path, r))
		return NULL;
	while (pcap_next(r, &data, len, NULL) == 1)
		if (r->frames == no)
			return data;
	pcap_close(r);
	return NULL;
}

/* Why frame `no` is a query the data path does not read, or NULL. */
static const char *by_design(const char *dir, const char *file, unsigned long no, char *why,
			     size_t whysz)
{
	struct pcap_reader r;
	struct pkt_view v;
	const uint8_t *d, *m;
	uint32_t len;
	size_t ml;
	unsigned qd, op;

	d = frame_at(dir, file, no, &r, &len);
	if (!d)
		return NULL;
	why[0] = '\0';
	if (pkt_parse(d, len, &v) == 0 && v.has_l4) {
		m = v.payload;
		ml = v.payload_len;
		if (v.proto == IPPROTO_TCP && ml >= 2) {
			m += 2;
			ml -= 2;
		}
		if (ml >= 12) {
			qd = m[4] << 8 | m[5];
			op = (m[2] >> 3) & 0xf;
			if (qd != 1)
				snprintf(why, whysz, "QDCOUNT %u (dns_qdcount)", qd);
			else if (op)
				snprintf(why, whysz, "OPCODE %u (dns_not_query)", op);
			else
				for (size_t o = 12; o < ml && m[o]; o += m[o] + 1)
					if (m[o] & 0xc0) {
						snprintf(why, whysz,
							 "pointer in the question "
							 "(dns_qname_pointer)");
						break;
					}
		}
	}
	pcap_close(&r);
	return why[0] ? why : NULL;
}

struct frame_row {
	char pcap[128], proto[16], name[512];
	unsigned long frame;
};
static struct frame_row *frows;
static size_t n_frows;

static int load_frames(const char *dir)
{
	char path[700], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%sexpected-frames.tsv", corpus, dir);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *col[4], *save = NULL;
		int n = 0;

		for (char *t = strtok_r(line, "\t", &save); t && n < 4;
		     t = strtok_r(NULL, "\t", &save))
			col[n++] = t;
		if (n < 4 || (strcmp(col[1], "dns") && strcmp(col[1], "dns-tcp")))
			continue;
		frows = realloc(frows, (n_frows + 1) * sizeof(*frows));
		snprintf(frows[n_frows].pcap, sizeof(frows[n_frows].pcap), "%s%s", dir, col[0]);
		snprintf(frows[n_frows].proto, sizeof(frows[n_frows].proto), "%s", col[1]);
		snprintf(frows[n_frows].name, sizeof(frows[n_frows].name), "%s", col[2]);
		frows[n_frows].frame = strtoul(col[3], NULL, 10);
		n_frows++;
	}
	fclose(f);
	return 0;
}

/* All frames of the row are queries passed by design: say why. */
static bool row_by_design(const struct row *r, char *why, size_t whysz)
{
	char key[300];
	unsigned n = 0;

	snprintf(key, sizeof(key), "%s%s", r->dir, r->pcap);
	for (size_t i = 0; i < n_frows; i++) {
		if (strcmp(frows[i].pcap, key) || strcmp(frows[i].proto, r->proto) ||
		    strcmp(frows[i].name, r->name))
			continue;
		if (!by_design(r->dir, r->pcap, frows[i].frame, why, whysz))
			return false;
		n++;
	}
	return n > 0;
}

static unsigned n_by_design;

/* Run every frame of one capture; names[].delta = what each rule counted. */
static bool run_pcap(const char *dir, const char *file)
{
	struct pcap_reader r;
	char path[800];
	const uint8_t *data;
	uint32_t caplen;
	int rc;

	for (size_t i = 0; i < n_names; i++)
		names[i].before = counter(names[i].rule);
	snprintf(path, sizeof(path), "%.500s/%.15spcap/%.127s", corpus, dir, file);
	rc = pcap_open(path, &r);
	ASSERT_OK(rc, "open %s: %s", path, r.err);
	while ((rc = pcap_next(&r, &data, &caplen, NULL)) == 1) {
		int ret;

		/* BPF_PROG_TEST_RUN takes a frame of one page at most, and
		 * none shorter than Ethernet; no DNS query is either. */
		if (caplen < 14 || caplen > 3500) {
			n_skipped++;
			continue;
		}
		ret = fx_run(&fx, data, caplen, NULL, NULL);
		ASSERT_TRUE(ret == XDP_PASS, "%s frame %lu: %s (monitor rules only)", file,
			    (unsigned long)r.frames, xdp_action_name(ret));
		n_frames++;
	}
	pcap_close(&r);
	ASSERT_EQ(rc, 0, "read %s", path);
	for (size_t i = 0; i < n_names; i++)
		names[i].delta = counter(names[i].rule) - names[i].before;
	return true;
}

static bool test_corpus(void)
{
	unsigned checked = 0, tunnelled = 0, reassembly = 0, pcaps = 0;
	bool ok = true;

	for (size_t i = 0; i < n_rows; i++) {
		bool first = true;

		/* each capture once, with all of its rows */
		for (size_t j = 0; j < i; j++)
			if (!strcmp(rows[j].pcap, rows[i].pcap) &&
			    !strcmp(rows[j].dir, rows[i].dir))
				first = false;
		if (!first)
			continue;
		if (!run_pcap(rows[i].dir, rows[i].pcap))
			return false;
		pcaps++;

		/* expected: names of parsed rows of this capture */
		bool *expected = calloc(n_names, sizeof(bool));

		for (size_t j = i; j < n_rows; j++) {
			struct row *r = &rows[j];

			if (strcmp(r->pcap, rows[i].pcap) || strcmp(r->dir, rows[i].dir))
				continue;
			if (r->parsed && r->name_idx >= 0)
				expected[r->name_idx] = true;
		}
		for (size_t j = i; j < n_rows; j++) {
			struct row *r = &rows[j];

			if (strcmp(r->pcap, rows[i].pcap) || strcmp(r->dir, rows[i].dir) ||
			    r->name_idx < 0)
				continue;
			if (r->parsed) {
				char why[128];

				if (names[r->name_idx].delta < 1 &&
				    row_by_design(r, why, sizeof(why))) {
					printf("# not matched by design: %s%s %s '%s': %s\n",
					       r->dir, r->pcap, r->proto, r->name, why);
					n_by_design++;
				} else if (names[r->name_idx].delta < 1) {
					fprintf(stderr,
						"%s%s: %s %s (%s, reassembly %s): not counted\n",
						r->dir, r->pcap, r->proto, r->name, r->encap,
						r->reassembly);
					ok = false;
				}
				checked++;
				reassembly += !strcmp(r->reassembly, "yes");
			} else {
				if (!expected[r->name_idx] && names[r->name_idx].delta) {
					fprintf(stderr, "%s%s: %s inside %s counted %lu times\n",
						r->dir, r->pcap, r->name, r->encap,
						(unsigned long)names[r->name_idx].delta);
					ok = false;
				}
				tunnelled++;
			}
		}
		for (size_t k = 0; k < n_names; k++)
			if (names[k].delta && !expected[k]) {
				bool tunnel_only = false;

				for (size_t j = i; j < n_rows; j++)
					if (rows[j].name_idx == (int)k && !rows[j].parsed &&
					    !strcmp(rows[j].pcap, rows[i].pcap))
						tunnel_only = true;
				if (!tunnel_only) {
					fprintf(stderr, "%s%s: false hit on %s (%lu)\n",
						rows[i].dir, rows[i].pcap, names[k].name,
						(unsigned long)names[k].delta);
					ok = false;
				}
			}
		free(expected);
	}
	ASSERT_EQ(counter(absent_rule), 0, "the rule for a name in no capture counted");
	test_cases(checked);
	printf("# %zu dns/dns-tcp rows in %u captures: %u rows checked (%u of them also marked "
	       "needs_reassembly, counted by another query of the capture; %u passed by design), "
	       "%u tunnelled rows without false hits, %u rows with names that are no valid "
	       "pattern\n",
	       n_rows, pcaps, checked, reassembly, n_by_design, tunnelled, n_invalid);
	printf("# %u frames run, %u skipped (shorter than Ethernet or longer than a page)\n",
	       n_frames, n_skipped);
	return ok;
}

static const struct test_case tests[] = {
	TEST(test_corpus),
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
	err = load_tsv("");
	err = err ?: load_tsv("derived/");
	err = err ?: load_frames("");
	err = err ?: load_frames("derived/");
	if (err) {
		fprintf(stderr, "read %s: %s\n", corpus, strerror(-err));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	for (size_t i = 0; i < n_rows; i++)
		if (rows[i].name_idx < 0) {
			printf("# not a valid pattern, listed not matched: %s%s %s '%s'\n",
			       rows[i].dir, rows[i].pcap, rows[i].proto, rows[i].name);
			n_invalid++;
		}
	yaml = policy_text();
	err = fx_setup(&fx, yaml);
	free(yaml);
	if (!err)
		err = rule_ids();
	if (err) {
		fprintf(stderr, "setup: %s\n", strerror(-err));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	printf("# corpus %s: %zu names, one monitor rule each\n", corpus, n_names);
	rc = test_run(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	fx_teardown(&fx);
	return rc;
}
