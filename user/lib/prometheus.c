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
#include <string.h>

#include "audit.h"
#include "output.h"
#include "policy.h"

/* Label value escaping: backslash, double quote and line feed, as the
 * format asks; a byte that is not UTF-8 (a reference written in another
 * encoding) becomes U+FFFD, since Prometheus refuses invalid UTF-8. */
static void label_value(FILE *f, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t k;

	while (*p) {
		switch (*p) {
		case '\\':
			fputs("\\\\", f);
			p++;
			continue;
		case '"':
			fputs("\\\"", f);
			p++;
			continue;
		case '\n':
			fputs("\\n", f);
			p++;
			continue;
		}
		k = utf8_len(p);
		if (!k) {
			fputs("\xef\xbf\xbd", f);
			p++;
			continue;
		}
		fwrite(p, 1, k, f);
		p += k;
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k[0]="v[0]",...} for the first n labels. */
static void series_n(FILE *f, const char *name, int n, const char *const *k, const char *const *v)
{
	fputs(name, f);
	for (int i = 0; i < n; i++) {
		fprintf(f, "%c%s=\"", i ? ',' : '{', k[i]);
		label_value(f, v[i]);
		fputc('"', f);
	}
	if (n)
		fputc('}', f);
	fputc(' ', f);
}

/* name{k1="v1",k2="v2",k3="v3"} with k3, or k2 and k3, or all optional. */
static void series3(FILE *f, const char *name, const char *k1, const char *v1, const char *k2,
		    const char *v2, const char *k3, const char *v3)
{
	const char *k[3] = {k1, k2, k3}, *v[3] = {v1, v2, v3};
	int n = 0;

	while (n < 3 && k[n])
		n++;
	series_n(f, name, n, k, v);
}

static void series(FILE *f, const char *name, const char *k1, const char *v1, const char *k2,
		   const char *v2)
{
	series3(f, name, k1, v1, k2, v2, NULL, NULL);
}

static void u64_line(FILE *f, uint64_t v)
{
	fprintf(f, "%" PRIu64 "\n", v);
}

/* Seconds with millisecond precision, from integers: a double would round
 * a nanosecond timestamp. */
static void ns_seconds_line(FILE *f, int64_t ns)
{
	fprintf(f, "%" PRId64 ".%03" PRId64 "\n", ns / 1000000000, (ns % 1000000000) / 1000000);
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

static void rule_family(FILE *f, const struct snapshot *s, const char *name, const char *help,
			rule_value_fn val)
{
	size_t i;

	family(f, name, "counter", help);
	for (i = 0; i < s->n_rules; i++) {
		const struct rule_stat *r = &s->rules[i];

		series(f, name, "rule", r->name, "action", action_name(r->action));
		u64_line(f, val(r));
	}
}

/* One series per rule and enum tapis_kind, every kind even at 0 so that
 * rate() sees a series from its start. */
static void rule_kind_family(FILE *f, const struct snapshot *s, const char *name, const char *help,
			     bool bytes)
{
	size_t i;

	family(f, name, "counter", help);
	for (i = 0; i < s->n_rules; i++) {
		const struct rule_stat *r = &s->rules[i];

		for (unsigned k = 0; k < TAPIS_KIND_MAX; k++) {
			series3(f, name, "rule", r->name, "action", action_name(r->action), "kind",
				kind_name(k));
			u64_line(f, bytes ? r->kinds[k].bytes : r->kinds[k].packets);
		}
	}
}

/* tapis_rule_info: who ordered a rule and until when, as labels of a
 * constant 1, so a dashboard joins them onto the counters by rule. */
static void rule_info(FILE *f, const struct snapshot *s)
{
	static const char *const k[] = {"rule", "action", "reference", "expires"};
	const char *n = "tapis_rule_info";
	char t[RFC3339_LEN];

	family(f, n, "gauge",
	       "Always 1: a rule's reference (on whose order it acts) and its expiry (RFC 3339, "
	       "empty when none) as labels.");
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct rule_stat *r = &s->rules[i];
		const char *v[] = {r->name, action_name(r->action), r->reference,
				   r->expires_unix ? fmt_rfc3339(r->expires_unix, t, sizeof(t))
						   : ""};

		series_n(f, n, 4, k, v);
		fputs("1\n", f);
	}
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "gauge", help);
	series(f, name, NULL, NULL, NULL, NULL);
	u64_line(f, v);
}

static void gauge_i64(FILE *f, const char *name, const char *help, int64_t v)
{
	family(f, name, "gauge", help);
	series(f, name, NULL, NULL, NULL, NULL);
	fprintf(f, "%" PRId64 "\n", v);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "counter", help);
	series(f, name, NULL, NULL, NULL, NULL);
	u64_line(f, v);
}

/* A fixed-size char array from the ABI, which may lack its NUL. */
static const char *abi_str(const char *s, size_t n, char *buf)
{
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

static void rules(FILE *f, const struct snapshot *s)
{
	const char *n;
	size_t i;

	rule_family(f, s, "tapis_rule_packets_total", "Packets that matched the rule.", r_packets);
	rule_family(f, s, "tapis_rule_bytes_total", "Bytes of the packets that matched the rule.",
		    r_bytes);
	rule_family(f, s, "tapis_rule_expired_matches_total",
		    "Matches ignored because the rule had expired.", r_expired);
	rule_kind_family(f, s, "tapis_rule_kind_packets_total",
			 "Packets that matched the rule, by where it matched (net: an address; "
			 "dns, tls, http: a name; flow: a flow a name matched earlier).",
			 false);
	rule_kind_family(f, s, "tapis_rule_kind_bytes_total",
			 "Bytes of the packets that matched the rule, by where it matched.", true);

	n = "tapis_rule_last_hit_timestamp_seconds";
	family(f, n, "gauge", "Unix time of the rule's last match (rules with a match only).");
	for (i = 0; i < s->n_rules; i++) {
		const struct rule_stat *r = &s->rules[i];

		if (!r->last_hit_unix_ns)
			continue;
		series(f, n, "rule", r->name, "action", action_name(r->action));
		ns_seconds_line(f, r->last_hit_unix_ns);
	}

	n = "tapis_rule_expires_timestamp_seconds";
	family(f, n, "gauge",
	       "Unix time at which the rule stops matching (rules with expiry only).");
	for (i = 0; i < s->n_rules; i++) {
		const struct rule_stat *r = &s->rules[i];

		if (!r->expires_unix)
			continue;
		series(f, n, "rule", r->name, NULL, NULL);
		fprintf(f, "%" PRId64 "\n", r->expires_unix);
	}
	rule_info(f, s);
}

static void actions_reasons_stats(FILE *f, const struct snapshot *s)
{
	const char *n;
	size_t i;

	n = "tapis_action_packets_total";
	family(f, n, "counter",
	       "Packets by the action taken (pass_no_rule: no rule matched, passed).");
	for (i = 0; i < TAPIS_ACT_MAX; i++) {
		series(f, n, "action", prom_action((enum tapis_action)i), NULL, NULL);
		u64_line(f, s->actions_packets[i]);
	}
	n = "tapis_action_bytes_total";
	family(f, n, "counter",
	       "Bytes by the action taken (pass_no_rule: no rule matched, passed).");
	for (i = 0; i < TAPIS_ACT_MAX; i++) {
		series(f, n, "action", prom_action((enum tapis_action)i), NULL, NULL);
		u64_line(f, s->actions_bytes[i]);
	}

	n = "tapis_unparsed_packets_total";
	family(f, n, "counter", "Packets passed unparsed (fail-open), by reason.");
	for (i = TAPIS_R_OK + 1; i < TAPIS_R_MAX; i++) {
		series(f, n, "reason", reason_name((unsigned)i), NULL, NULL);
		u64_line(f, s->reasons[i]);
	}

	/* Each counted fact as tapis_<its stats name>_total. */
	for (i = 0; i < TAPIS_S_MAX; i++) {
		char name[96];

		snprintf(name, sizeof(name), "tapis_%s_total", stat_name((unsigned)i));
		counter(f, name, stat_help[i], s->stats[i]);
	}

	/* tapis_flow_new_total is in the loop above (stat flow_new). */
	gauge(f, "tapis_flow_entries", "Entries in the flow table now (verdicts and L7 state).",
	      s->flows.present);
	gauge(f, "tapis_flow_verdicts", "Flow verdicts in the flow table now.", s->flows.verdicts);
	gauge(f, "tapis_flow_entries_max", "Size of the flow table (settings.flows at load).",
	      s->flows.size);
	counter(f, "tapis_flow_evicted_total",
		"Flow verdicts recorded but no longer in the flow table (derived: new - "
		"verdicts present).",
		s->flows.evicted);
}

static void policy(FILE *f, const struct snapshot *s)
{
	const struct tapis_state *st = &s->state;
	const char *n = "tapis_policy_entries";
	uint64_t applied = st->reloaded_unix ? st->reloaded_unix : st->loaded_unix;

	family(f, n, "gauge", "Entries in the active policy, by kind.");
	series(f, n, "kind", "v4", NULL, NULL);
	u64_line(f, s->entries_v4);
	series(f, n, "kind", "v6", NULL, NULL);
	u64_line(f, s->entries_v6);
	series(f, n, "kind", "hosts", NULL, NULL);
	u64_line(f, s->entries_hosts);

	gauge(f, "tapis_policy_rules", "Rules in the active policy.", s->n_rules);
	gauge(f, "tapis_policy_generation", "Generation slot the data path reads (0 or 1).",
	      s->gen);
	counter(f, "tapis_policy_reloads_total", "Policy reloads since the first load.",
		st->reloads);
	if (st->loaded_unix)
		gauge(f, "tapis_policy_loaded_timestamp_seconds",
		      "Unix time at which the filter was loaded.", st->loaded_unix);
	if (applied)
		gauge(f, "tapis_policy_applied_timestamp_seconds",
		      "Unix time at which the running policy was applied (its load or last "
		      "successful reload).",
		      applied);
}

static void interfaces(FILE *f, const struct snapshot *s)
{
	static const char *const k[] = {"interface", "mode", "multiprog"};
	const char *n = "tapis_interface_info";
	char name[TAPIS_IFNAME_MAX + 1];

	gauge(f, "tapis_interfaces_attached", "Interfaces the filter is attached to.",
	      snapshot_ifaces(s));
	family(f, n, "gauge",
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
		series_n(f, n, 3, k, v);
		fputs("1\n", f);
	}
}

int prom_render(const struct snapshot *s, const struct prom_meta *m, FILE *f)
{
	const char *ver = m && m->version ? m->version : "unknown";

	gauge(f, "tapis_up",
	      "1 when a filter is loaded at the pin path and its state was read, else 0.",
	      s ? 1 : 0);
	family(f, "tapis_build_info", "gauge", "Always 1: the version of tapis that answers.");
	series(f, "tapis_build_info", "version", ver, NULL, NULL);
	fputs("1\n", f);

	if (s) {
		rules(f, s);
		actions_reasons_stats(f, s);
		policy(f, s);
		interfaces(f, s);
	}
	/* From the audit log: known with nothing loaded too (a reload that
	 * failed, an unload). */
	if (m && m->have_apply) {
		gauge_i64(f, "tapis_policy_last_reload_timestamp_seconds",
			  "Unix time of the last load or reload, failed ones included (audit log).",
			  m->apply_unix);
		gauge(f, "tapis_policy_last_reload_success",
		      "1 when the last load or reload was applied, 0 when it failed and the "
		      "policy before it still runs (audit log).",
		      m->apply_ok ? 1 : 0);
	}

	return (fflush(f) || ferror(f)) ? -EIO : 0;
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
