// SPDX-License-Identifier: GPL-2.0
/*
 * prometheus.c - a struct snapshot as the Prometheus text exposition format
 * 0.0.4: `tapis stats --prometheus` prints it and `tapis serve` serves the
 * same bytes. Every family has HELP and TYPE lines, counters end in _total,
 * times are in seconds, label values are escaped (and valid UTF-8), and
 * no label takes unbounded values: rules (at most TAPIS_MAX_RULES - 1),
 * actions, kinds, reasons and interfaces are all bounded sets. The output
 * passes `promtool check metrics`.
 *
 * Families are printed once each, in a fixed order, so scrapes diff cleanly.
 * The names are an interface (README "Statistics"): dashboards and alerts
 * key on them, so they are only ever added to.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "output.h"
#include "policy.h"

/* The exposition is built in memory and written once: through stdio, a
 * call per field cost 40 ms for 4,000 rules (issue 9's budget for a whole
 * scrape is 50), most of it in fwrite's locking. */
struct out {
	char *p;
	size_t len, cap;
	bool oom; /* a grow failed: the rest is dropped, the result -ENOMEM */
};

static bool out_room(struct out *o, size_t n)
{
	size_t cap;
	char *p;

	if (o->oom)
		return false;
	if (o->len + n <= o->cap)
		return true;
	cap = o->cap ? o->cap : 1 << 16;
	while (cap < o->len + n)
		cap *= 2;
	p = realloc(o->p, cap);
	if (!p) {
		o->oom = true;
		return false;
	}
	o->p = p;
	o->cap = cap;
	return true;
}

static void out_put(struct out *o, const char *s, size_t n)
{
	if (out_room(o, n)) {
		memcpy(o->p + o->len, s, n);
		o->len += n;
	}
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void out_chr(struct out *o, char c)
{
	out_put(o, &c, 1);
}

static void out_u64(struct out *o, uint64_t v)
{
	char b[20], *e = b + sizeof(b), *q = e;

	do {
		*--q = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_put(o, q, (size_t)(e - q));
}

static void out_i64(struct out *o, int64_t v)
{
	if (v < 0) {
		out_chr(o, '-');
		out_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		out_u64(o, (uint64_t)v);
	}
}

/* Label value escaping: backslash, double quote and line feed, as the
 * format asks; a byte that is not UTF-8 (a reference written in another
 * encoding) becomes U+FFFD, since Prometheus refuses invalid UTF-8. Runs
 * of plain bytes are copied whole. */
static void label_value(struct out *o, const char *v)
{
	const unsigned char *p = (const unsigned char *)v, *run = p;
	size_t k;

	while (*p) {
		if (*p >= 0x20 && *p < 0x80 && *p != '\\' && *p != '"') {
			p++;
			continue;
		}
		out_put(o, (const char *)run, (size_t)(p - run));
		switch (*p) {
		case '\\':
			out_str(o, "\\\\");
			k = 1;
			break;
		case '"':
			out_str(o, "\\\"");
			k = 1;
			break;
		case '\n':
			out_str(o, "\\n");
			k = 1;
			break;
		default:
			k = utf8_len(p);
			if (k)
				out_put(o, (const char *)p, k);
			else
				out_str(o, "\xef\xbf\xbd");
			k = k ? k : 1;
		}
		p += k;
		run = p;
	}
	out_put(o, (const char *)run, (size_t)(p - run));
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	out_str(o, "# HELP ");
	out_str(o, name);
	out_chr(o, ' ');
	out_str(o, help);
	out_str(o, "\n# TYPE ");
	out_str(o, name);
	out_chr(o, ' ');
	out_str(o, type);
	out_chr(o, '\n');
}

/* name{k[0]="v[0]",...} for the first n labels. */
static void series_n(struct out *o, const char *name, int n, const char *const *k,
		     const char *const *v)
{
	out_str(o, name);
	for (int i = 0; i < n; i++) {
		out_chr(o, i ? ',' : '{');
		out_str(o, k[i]);
		out_str(o, "=\"");
		label_value(o, v[i]);
		out_chr(o, '"');
	}
	if (n)
		out_chr(o, '}');
	out_chr(o, ' ');
}

/* name{k1="v1",k2="v2"} with k2, or both, optional. */
static void series(struct out *o, const char *name, const char *k1, const char *v1, const char *k2,
		   const char *v2)
{
	const char *k[2] = {k1, k2}, *v[2] = {v1, v2};

	series_n(o, name, k1 ? (k2 ? 2 : 1) : 0, k, v);
}

static void u64_line(struct out *o, uint64_t v)
{
	out_u64(o, v);
	out_chr(o, '\n');
}

/* Seconds with millisecond precision, from integers: a double would round
 * a nanosecond timestamp. */
static void ns_seconds_line(struct out *o, int64_t ns)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRId64 ".%03" PRId64 "\n", ns / 1000000000,
		 (ns % 1000000000) / 1000000);
	out_str(o, b);
}

/* Each rule's labels, rule="..",action="..", escaped once per scrape and
 * copied into each of its series (13 of them). */
struct rule_labels {
	struct out text;
	size_t *off; /* rule i: text.p + off[i] .. off[i + 1] */
};

static int rule_labels_make(struct rule_labels *rl, const struct snapshot *s)
{
	memset(rl, 0, sizeof(*rl));
	rl->off = calloc(s->n_rules + 1, sizeof(*rl->off));
	if (!rl->off)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_rules; i++) {
		rl->off[i] = rl->text.len;
		out_str(&rl->text, "rule=\"");
		label_value(&rl->text, s->rules[i].name);
		out_str(&rl->text, "\",action=\"");
		out_str(&rl->text, action_name(s->rules[i].action));
		out_chr(&rl->text, '"');
	}
	rl->off[s->n_rules] = rl->text.len;
	return rl->text.oom ? -ENOMEM : 0;
}

static void rule_labels_free(struct rule_labels *rl)
{
	free(rl->text.p);
	free(rl->off);
}

/* name{rule="..",action=".." and, unless NULL, ,extra} and a space. */
static void rule_series(struct out *o, const char *name, const struct rule_labels *rl, size_t i,
			const char *extra)
{
	out_str(o, name);
	out_chr(o, '{');
	out_put(o, rl->text.p + rl->off[i], rl->off[i + 1] - rl->off[i]);
	if (extra) {
		out_chr(o, ',');
		out_str(o, extra);
	}
	out_str(o, "} ");
}

const char *prom_action(enum tapis_action a)
{
	return a == TAPIS_ACT_NONE ? "pass_no_rule" : action_name(a);
}

/* HELP of the tapis_<stat>_total counters, by enum tapis_stat. */
static const char *const stat_help[] = {
	[TAPIS_S_PACKETS] = "Packets seen by the XDP program.",
	[TAPIS_S_FRAGMENT] = "Non-first fragments, matched on addresses only.",
	[TAPIS_S_EXPIRED] = "Matches ignored because their rule had expired.",
	[TAPIS_S_REDIRECT_ERR] = "Packets dropped because a redirect target was missing.",
	[TAPIS_S_QUIC_DROP] = "QUIC Initial packets to a tls port dropped (settings.quic: drop).",
	[TAPIS_S_QUIC_PASS] = "QUIC Initial packets to a tls port passed (settings.quic: pass).",
	[TAPIS_S_FLOW_NEW] = "Flow verdicts recorded in the flow table.",
	[TAPIS_S_L7_FOLLOWED] = "TLS ClientHellos and HTTP requests followed into a later segment.",
	[TAPIS_S_TLS_NO_SNI] = "TLS ClientHellos without a server_name.",
	[TAPIS_S_TLS_ECH] = "TLS ClientHellos with encrypted_client_hello (the outer SNI matched).",
	[TAPIS_S_HTTP_NO_HOST] = "HTTP requests whose headers ended without Host.",
	[TAPIS_S_HTTP_IP_HOST] = "HTTP requests whose Host is an IP literal.",
	[TAPIS_S_ANSWER_HEAD] = "Answers grown at the packet head for lack of tail room.",
	[TAPIS_S_ANSWER_ERR] = "Answers or resets that could not be built: packet dropped.",
	[TAPIS_S_FLOW_EVICT] = "Flows whose slot in the flow table another flow took.",
	[TAPIS_S_NOANS_SOURCE] =
		"Answers and resets not sent: the sender is no unicast host (MAC or IP).",
	[TAPIS_S_NOANS_LENGTH] = "Answers not sent: the IP or UDP length disagrees with the frame.",
	[TAPIS_S_NOANS_PPPOE] =
		"Answers not sent: PPPoE code not session data, or its length wrong.",
	[TAPIS_S_NOANS_TCP] = "Resets not sent: the segment is a RST or has no ACK.",
	[TAPIS_S_EVENTS] = "Block events written for tapis events.",
	[TAPIS_S_EVENTS_LOST] =
		"Block events not written: over settings.events' rate, or the ring buffer full.",
};
_Static_assert(sizeof(stat_help) / sizeof(stat_help[0]) == TAPIS_S_MAX,
	       "stat_help: one HELP per enum tapis_stat");

typedef uint64_t (*rule_value_fn)(const struct rule_stat *r);

static uint64_t r_packets(const struct rule_stat *r)
{
	return r->packets;
}
static uint64_t r_bytes(const struct rule_stat *r)
{
	return r->bytes;
}
static uint64_t r_expired(const struct rule_stat *r)
{
	return r->expired_hits;
}

static void rule_family(struct out *o, const struct snapshot *s, const struct rule_labels *rl,
			const char *name, const char *help, rule_value_fn val)
{
	family(o, name, "counter", help);
	for (size_t i = 0; i < s->n_rules; i++) {
		rule_series(o, name, rl, i, NULL);
		u64_line(o, val(&s->rules[i]));
	}
}

/* One series per rule and enum tapis_kind, every kind even at 0 so that
 * rate() sees a series from its start. */
static void rule_kind_family(struct out *o, const struct snapshot *s, const struct rule_labels *rl,
			     const char *name, const char *help, bool bytes)
{
	char kl[TAPIS_KIND_MAX][24];

	for (unsigned k = 0; k < TAPIS_KIND_MAX; k++)
		snprintf(kl[k], sizeof(kl[k]), "kind=\"%s\"", kind_name(k));
	family(o, name, "counter", help);
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct rule_stat *r = &s->rules[i];

		for (unsigned k = 0; k < TAPIS_KIND_MAX; k++) {
			rule_series(o, name, rl, i, kl[k]);
			u64_line(o, bytes ? r->kinds[k].bytes : r->kinds[k].packets);
		}
	}
}

/* tapis_rule_info: who ordered a rule and until when, as labels of a
 * constant 1, so a dashboard joins them onto the counters by rule. */
static void rule_info(struct out *o, const struct snapshot *s, const struct rule_labels *rl)
{
	const char *n = "tapis_rule_info";
	char t[RFC3339_LEN];

	family(o, n, "gauge",
	       "Always 1: a rule's reference (on whose order it acts) and its expiry (RFC 3339, "
	       "empty when none) as labels.");
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct rule_stat *r = &s->rules[i];

		out_str(o, n);
		out_chr(o, '{');
		out_put(o, rl->text.p + rl->off[i], rl->off[i + 1] - rl->off[i]);
		out_str(o, ",reference=\"");
		label_value(o, r->reference);
		out_str(o, "\",expires=\"");
		if (r->expires_unix)
			out_str(o, fmt_rfc3339(r->expires_unix, t, sizeof(t)));
		out_str(o, "\"} 1\n");
	}
}

static void gauge(struct out *o, const char *name, const char *help, uint64_t v)
{
	family(o, name, "gauge", help);
	series(o, name, NULL, NULL, NULL, NULL);
	u64_line(o, v);
}

static void gauge_i64(struct out *o, const char *name, const char *help, int64_t v)
{
	family(o, name, "gauge", help);
	series(o, name, NULL, NULL, NULL, NULL);
	out_i64(o, v);
	out_chr(o, '\n');
}

static void counter(struct out *o, const char *name, const char *help, uint64_t v)
{
	family(o, name, "counter", help);
	series(o, name, NULL, NULL, NULL, NULL);
	u64_line(o, v);
}

/* A fixed-size char array from the ABI, which may lack its NUL. */
static const char *abi_str(const char *s, size_t n, char *buf)
{
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

static void rules(struct out *o, const struct snapshot *s, const struct rule_labels *rl)
{
	const char *n;
	size_t i;

	rule_family(o, s, rl, "tapis_rule_packets_total", "Packets that matched the rule.",
		    r_packets);
	rule_family(o, s, rl, "tapis_rule_bytes_total",
		    "Bytes of the packets that matched the rule.", r_bytes);
	rule_family(o, s, rl, "tapis_rule_expired_matches_total",
		    "Matches ignored because the rule had expired.", r_expired);
	rule_kind_family(o, s, rl, "tapis_rule_kind_packets_total",
			 "Packets that matched the rule, by where it matched (net: an address; "
			 "dns, tls, http: a name; flow: a flow a name matched earlier).",
			 false);
	rule_kind_family(o, s, rl, "tapis_rule_kind_bytes_total",
			 "Bytes of the packets that matched the rule, by where it matched.", true);

	n = "tapis_rule_last_hit_timestamp_seconds";
	family(o, n, "gauge", "Unix time of the rule's last match (rules with a match only).");
	for (i = 0; i < s->n_rules; i++) {
		if (!s->rules[i].last_hit_unix_ns)
			continue;
		rule_series(o, n, rl, i, NULL);
		ns_seconds_line(o, s->rules[i].last_hit_unix_ns);
	}

	n = "tapis_rule_expires_timestamp_seconds";
	family(o, n, "gauge",
	       "Unix time at which the rule stops matching (rules with expiry only).");
	for (i = 0; i < s->n_rules; i++) {
		const struct rule_stat *r = &s->rules[i];

		if (!r->expires_unix)
			continue;
		series(o, n, "rule", r->name, NULL, NULL);
		out_i64(o, r->expires_unix);
		out_chr(o, '\n');
	}
	rule_info(o, s, rl);
}

static void actions_reasons_stats(struct out *o, const struct snapshot *s)
{
	const char *n;
	size_t i;

	n = "tapis_action_packets_total";
	family(o, n, "counter",
	       "Packets by the action taken (pass_no_rule: no rule matched, passed).");
	for (i = 0; i < TAPIS_ACT_MAX; i++) {
		series(o, n, "action", prom_action((enum tapis_action)i), NULL, NULL);
		u64_line(o, s->actions_packets[i]);
	}
	n = "tapis_action_bytes_total";
	family(o, n, "counter",
	       "Bytes by the action taken (pass_no_rule: no rule matched, passed).");
	for (i = 0; i < TAPIS_ACT_MAX; i++) {
		series(o, n, "action", prom_action((enum tapis_action)i), NULL, NULL);
		u64_line(o, s->actions_bytes[i]);
	}

	n = "tapis_unparsed_packets_total";
	family(o, n, "counter", "Packets passed unparsed (fail-open), by reason.");
	for (i = TAPIS_R_OK + 1; i < TAPIS_R_MAX; i++) {
		series(o, n, "reason", reason_name((unsigned)i), NULL, NULL);
		u64_line(o, s->reasons[i]);
	}

	/* Each counted fact as tapis_<its stats name>_total. */
	for (i = 0; i < TAPIS_S_MAX; i++) {
		char name[96];

		snprintf(name, sizeof(name), "tapis_%s_total", stat_name((unsigned)i));
		counter(o, name, stat_help[i], s->stats[i]);
	}

	/* tapis_flow_new_total is in the loop above (stat flow_new). */
	gauge(o, "tapis_flow_entries", "Entries in the flow table now (verdicts and L7 state).",
	      s->flows.present);
	gauge(o, "tapis_flow_verdicts", "Flow verdicts in the flow table now.", s->flows.verdicts);
	gauge(o, "tapis_flow_entries_max", "Size of the flow table (settings.flows at load).",
	      s->flows.size);
	counter(o, "tapis_flow_evicted_total",
		"Flow verdicts recorded but no longer in the flow table (derived: new - "
		"verdicts present).",
		s->flows.evicted);
}

static void policy(struct out *o, const struct snapshot *s)
{
	const struct tapis_state *st = &s->state;
	const char *n = "tapis_policy_entries";
	uint64_t applied = st->reloaded_unix ? st->reloaded_unix : st->loaded_unix;

	family(o, n, "gauge", "Entries in the active policy, by kind.");
	series(o, n, "kind", "v4", NULL, NULL);
	u64_line(o, s->entries_v4);
	series(o, n, "kind", "v6", NULL, NULL);
	u64_line(o, s->entries_v6);
	series(o, n, "kind", "hosts", NULL, NULL);
	u64_line(o, s->entries_hosts);

	gauge(o, "tapis_policy_rules", "Rules in the active policy.", s->n_rules);
	gauge(o, "tapis_policy_generation", "Generation slot the data path reads (0 or 1).",
	      s->gen);
	counter(o, "tapis_policy_reloads_total", "Policy reloads since the first load.",
		st->reloads);
	if (st->loaded_unix)
		gauge(o, "tapis_policy_loaded_timestamp_seconds",
		      "Unix time at which the filter was loaded.", st->loaded_unix);
	if (applied)
		gauge(o, "tapis_policy_applied_timestamp_seconds",
		      "Unix time at which the running policy was applied (its load or last "
		      "successful reload).",
		      applied);
}

static void interfaces(struct out *o, const struct snapshot *s)
{
	static const char *const k[] = {"interface", "mode", "multiprog"};
	const char *n = "tapis_interface_info";
	char name[TAPIS_IFNAME_MAX + 1];

	gauge(o, "tapis_interfaces_attached", "Interfaces the filter is attached to.",
	      snapshot_ifaces(s));
	family(o, n, "gauge",
	       "Always 1: an interface the filter is attached to, with its XDP mode and "
	       "whether libxdp's dispatcher holds it.");
	for (unsigned i = 0; i < TAPIS_MAX_IFACES; i++) {
		const struct tapis_iface *ifc = &s->state.ifaces[i];
		const char *v[3];

		if (!ifc->in_use)
			continue;
		v[0] = abi_str(ifc->name, sizeof(ifc->name), name);
		v[1] = mode_name(ifc->mode);
		v[2] = ifc->multiprog ? "yes" : "no";
		series_n(o, n, 3, k, v);
		out_str(o, "1\n");
	}
}

/* The whole exposition into o. */
static int render(const struct snapshot *s, const struct prom_meta *m, struct out *o)
{
	const char *ver = m && m->version ? m->version : "unknown";
	struct rule_labels rl;
	int err;

	gauge(o, "tapis_up",
	      "1 when a filter is loaded at the pin path and its state was read, else 0.",
	      s ? 1 : 0);
	family(o, "tapis_build_info", "gauge", "Always 1: the version of tapis that answers.");
	series(o, "tapis_build_info", "version", ver, NULL, NULL);
	out_str(o, "1\n");

	if (s) {
		err = rule_labels_make(&rl, s);
		if (err) {
			rule_labels_free(&rl);
			return err;
		}
		rules(o, s, &rl);
		rule_labels_free(&rl);
		actions_reasons_stats(o, s);
		policy(o, s);
		interfaces(o, s);
	}
	/* From the audit log: known with nothing loaded too (a reload that
	 * failed, an unload). */
	if (m && m->have_apply) {
		gauge_i64(o, "tapis_policy_last_reload_timestamp_seconds",
			  "Unix time of the last load or reload, failed ones included (audit log).",
			  m->apply_unix);
		gauge(o, "tapis_policy_last_reload_success",
		      "1 when the last load or reload was applied, 0 when it failed and the "
		      "policy before it still runs (audit log).",
		      m->apply_ok ? 1 : 0);
	}
	return o->oom ? -ENOMEM : 0;
}

int prom_render_buf(const struct snapshot *s, const struct prom_meta *m, char **buf, size_t *len)
{
	struct out o = {0};
	int err = render(s, m, &o);

	if (err) {
		free(o.p);
		return err;
	}
	*buf = o.p;
	*len = o.len;
	return 0;
}

int prom_render(const struct snapshot *s, const struct prom_meta *m, FILE *f)
{
	char *buf;
	size_t len;
	int err = prom_render_buf(s, m, &buf, &len);

	if (err)
		return err;
	if (fwrite(buf, 1, len, f) != len)
		err = -EIO;
	free(buf);
	return (fflush(f) || ferror(f) || err) ? -EIO : 0;
}

void prom_meta_fill(struct prom_meta *m, const char *version, const char *audit_log,
		    const char *pin_path)
{
	struct audit_apply a;

	memset(m, 0, sizeof(*m));
	m->version = version;
	if (audit_log && *audit_log && audit_last_apply(audit_log, pin_path, &a) == 0) {
		m->have_apply = true;
		m->apply_unix = a.unix;
		m->apply_ok = a.ok;
	}
}
