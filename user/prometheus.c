// SPDX-License-Identifier: GPL-2.0
/*
 * prometheus.c - a struct snapshot as the Prometheus text exposition format
 * 0.0.4: `tapis stats --prometheus` prints it, and an HTTP exporter can
 * serve the same bytes. Every family has HELP and TYPE lines, counters end
 * in _total, label values are escaped, and the output passes
 * `promtool check metrics`.
 *
 * Families are printed once each, in a fixed order, so scrapes diff cleanly.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "policy.h"

/* Label value escaping: backslash, double quote and line feed. */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		switch (*v) {
		case '\\':
			fputs("\\\\", f);
			break;
		case '"':
			fputs("\\\"", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		default:
			fputc(*v, f);
		}
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} with k2 optional. */
static void series(FILE *f, const char *name, const char *k1, const char *v1, const char *k2,
		   const char *v2)
{
	fputs(name, f);
	if (k1) {
		fprintf(f, "{%s=\"", k1);
		label_value(f, v1);
		fputc('"', f);
		if (k2) {
			fprintf(f, ",%s=\"", k2);
			label_value(f, v2);
			fputc('"', f);
		}
		fputc('}', f);
	}
	fputc(' ', f);
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

static void gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "gauge", help);
	series(f, name, NULL, NULL, NULL, NULL);
	u64_line(f, v);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "counter", help);
	series(f, name, NULL, NULL, NULL, NULL);
	u64_line(f, v);
}

int prom_render(const struct snapshot *s, FILE *f)
{
	const char *n;
	size_t i;

	rule_family(f, s, "tapis_rule_packets_total", "Packets that matched the rule.", r_packets);
	rule_family(f, s, "tapis_rule_bytes_total", "Bytes of the packets that matched the rule.",
		    r_bytes);
	rule_family(f, s, "tapis_rule_expired_matches_total",
		    "Matches ignored because the rule had expired.", r_expired);

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

	n = "tapis_action_packets_total";
	family(f, n, "counter", "Packets by the action taken (none: no rule matched).");
	for (i = 0; i < TAPIS_ACT_MAX; i++) {
		series(f, n, "action", action_name((enum tapis_action)i), NULL, NULL);
		u64_line(f, s->actions_packets[i]);
	}
	n = "tapis_action_bytes_total";
	family(f, n, "counter", "Bytes by the action taken (none: no rule matched).");
	for (i = 0; i < TAPIS_ACT_MAX; i++) {
		series(f, n, "action", action_name((enum tapis_action)i), NULL, NULL);
		u64_line(f, s->actions_bytes[i]);
	}

	n = "tapis_unparsed_packets_total";
	family(f, n, "counter", "Packets passed unparsed (fail-open), by reason.");
	for (i = TAPIS_R_OK + 1; i < TAPIS_R_MAX; i++) {
		series(f, n, "reason", reason_name((unsigned)i), NULL, NULL);
		u64_line(f, s->reasons[i]);
	}

	counter(f, "tapis_packets_total", "Packets seen by the XDP program.",
		s->stats[TAPIS_S_PACKETS]);
	counter(f, "tapis_fragments_total", "Non-first fragments, matched on addresses only.",
		s->stats[TAPIS_S_FRAGMENT]);
	counter(f, "tapis_expired_matches_total", "Matches ignored because their rule had expired.",
		s->stats[TAPIS_S_EXPIRED]);
	counter(f, "tapis_redirect_errors_total",
		"Packets dropped because a redirect target was missing.",
		s->stats[TAPIS_S_REDIRECT_ERR]);

	n = "tapis_policy_entries";
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
		s->state.reloads);
	gauge(f, "tapis_interfaces_attached", "Interfaces the filter is attached to.",
	      snapshot_ifaces(s));

	return (fflush(f) || ferror(f)) ? -EIO : 0;
}
