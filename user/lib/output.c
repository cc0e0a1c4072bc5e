// SPDX-License-Identifier: GPL-2.0
/*
 * output.c - text and JSON renderings of a struct snapshot (Prometheus is
 * in prometheus.c). The JSON field names are an interface: scripts and the
 * lab tests read them, so they change only with the README.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <json-c/json.h>

#include "output.h"
#include "policy.h"

size_t utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong forms and surrogates are not text either. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

const char *safe_text(const char *s, char *buf, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, k;

	while (*p) {
		k = utf8_len(p);
		if (k == 1 && (*p < 0x20 || *p == 0x7f))
			k = 0;
		if (k) {
			if (o + k + 1 > n)
				break;
			memcpy(buf + o, p, k);
			o += k;
			p += k;
			continue;
		}
		if (o + 5 > n)
			break;
		snprintf(buf + o, 5, "\\x%02x", *p++);
		o += 4;
	}
	buf[o] = '\0';
	return buf;
}

const char *fmt_rfc3339(int64_t unix_sec, char *buf, size_t n)
{
	time_t t = (time_t)unix_sec;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "%" PRId64, unix_sec);
	return buf;
}

struct json_object *json_time_or_null(int64_t unix_sec)
{
	char buf[RFC3339_LEN];

	if (unix_sec <= 0)
		return NULL; /* json-c: a NULL member is JSON null */
	return json_object_new_string(fmt_rfc3339(unix_sec, buf, sizeof(buf)));
}

struct json_object *json_entries(uint64_t v4, uint64_t v6, uint64_t hosts)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "v4", json_object_new_uint64(v4));
	json_object_object_add(o, "v6", json_object_new_uint64(v6));
	json_object_object_add(o, "hosts", json_object_new_uint64(hosts));
	return o;
}

int out_json(FILE *f, struct json_object *o)
{
	int flags = JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE;
	int ret;

	fputs(json_object_to_json_string_ext(o, flags), f);
	fputc('\n', f);
	json_object_put(o);
	ret = fflush(f);
	return (ret || ferror(f)) ? -EIO : 0;
}

static int stream_status(FILE *f)
{
	return (fflush(f) || ferror(f)) ? -EIO : 0;
}

unsigned snapshot_ifaces(const struct snapshot *s)
{
	unsigned i, n = 0;

	for (i = 0; i < TAPIS_MAX_IFACES; i++)
		n += s->state.ifaces[i].in_use ? 1 : 0;
	return n;
}

/* A fixed-size char array from the ABI, which may lack its NUL. */
static const char *abi_str(const char *s, size_t n, char *buf)
{
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

/* ---- status ---- */

/* The host tables' size as loaded (0: by a tapis that did not record it,
 * which had one size). */
static uint32_t host_log2(const struct tapis_state *st)
{
	return st->host_idx_log2 ? st->host_idx_log2 : TAPIS_HOST_IDX_LOG2_DEFAULT;
}

struct json_object *status_json(const struct snapshot *s, const char *pin_path)
{
	struct json_object *o = json_object_new_object(), *ifs, *tbl8, *ht;
	char path[TAPIS_PATH_MAX + 1], name[TAPIS_IFNAME_MAX + 1], digest[TAPIS_DIGEST_STR];
	const struct tapis_state *st = &s->state;
	unsigned i;

	json_object_object_add(o, "loaded", json_object_new_boolean(1));
	json_object_object_add(o, "pin_path", json_object_new_string(pin_path));
	abi_str(st->policy_path, sizeof(st->policy_path), path);
	json_object_object_add(o, "policy", path[0] ? json_object_new_string(path) : NULL);
	json_object_object_add(
		o, "content_digest",
		content_digest_known(st->content_digest)
			? json_object_new_string(content_digest_str(st->content_digest, digest))
			: NULL);
	json_object_object_add(o, "loaded_at", json_time_or_null((int64_t)st->loaded_unix));
	json_object_object_add(o, "reloaded_at", json_time_or_null((int64_t)st->reloaded_unix));
	json_object_object_add(o, "reloads", json_object_new_uint64(st->reloads));
	json_object_object_add(o, "generation", json_object_new_uint64(s->gen));

	ifs = json_object_new_array();
	for (i = 0; i < TAPIS_MAX_IFACES; i++) {
		const struct tapis_iface *ifc = &st->ifaces[i];
		struct json_object *j;

		if (!ifc->in_use)
			continue;
		j = json_object_new_object();
		json_object_object_add(
			j, "name",
			json_object_new_string(abi_str(ifc->name, sizeof(ifc->name), name)));
		json_object_object_add(j, "ifindex", json_object_new_uint64(ifc->ifindex));
		json_object_object_add(j, "mode", json_object_new_string(mode_name(ifc->mode)));
		json_object_object_add(j, "multiprog", json_object_new_boolean(ifc->multiprog));
		if (s->ifaces_checked)
			json_object_object_add(j, "running",
					       s->iface_runs[i] < 0
						       ? NULL
						       : json_object_new_boolean(s->iface_runs[i]));
		json_object_array_add(ifs, j);
	}
	json_object_object_add(o, "ifaces", ifs);
	json_object_object_add(o, "rules", json_object_new_uint64(s->n_rules));
	json_object_object_add(o, "entries",
			       json_entries(s->entries_v4, s->entries_v6, s->entries_hosts));
	tbl8 = json_object_new_object();
	json_object_object_add(tbl8, "used", json_object_new_uint64(s->tbl8_used));
	json_object_object_add(tbl8, "capacity", json_object_new_uint64(s->tbl8_groups));
	json_object_object_add(o, "tbl8", tbl8);
	ht = json_object_new_object();
	json_object_object_add(ht, "slots", json_object_new_uint64(1ull << host_log2(st)));
	json_object_object_add(ht, "capacity",
			       json_object_new_uint64(tapis_host_capacity(host_log2(st))));
	json_object_object_add(o, "host_tables", ht);
	ht = json_object_new_object();
	json_object_object_add(ht, "rule_slots", json_object_new_uint64(s->sizes.rule_slots));
	json_object_object_add(ht, "rule_ids", json_object_new_uint64(s->sizes.rule_slots - 1));
	json_object_object_add(ht, "flows", json_object_new_uint64(s->flows.size));
	json_object_object_add(ht, "events_ring_bytes",
			       json_object_new_uint64(s->sizes.events_ring));
	json_object_object_add(ht, "edits", json_object_new_uint64(s->sizes.edits));
	json_object_object_add(ht, "v4_leaves", json_object_new_uint64(s->sizes.v4_leaves));
	json_object_object_add(ht, "v4_chunks_small",
			       json_object_new_uint64(s->sizes.v4_chunks_small));
	json_object_object_add(o, "sizes", ht);
	return o;
}

static void status_text(const struct snapshot *s, const char *pin_path, FILE *f)
{
	char path[TAPIS_PATH_MAX + 1], name[TAPIS_IFNAME_MAX + 1], t[RFC3339_LEN];
	char digest[TAPIS_DIGEST_STR];
	const struct tapis_state *st = &s->state;
	const char *lead = "interfaces:";
	unsigned i;

	fprintf(f, "tapis is loaded at %s\n", pin_path);
	abi_str(st->policy_path, sizeof(st->policy_path), path);
	fprintf(f, "%-12s%s\n", "policy:", path[0] ? path : "(unknown)");
	if (content_digest_known(st->content_digest))
		fprintf(f, "%-12s%s (policy and lists)\n",
			"content:", content_digest_str(st->content_digest, digest));
	fprintf(f, "%-12s%s\n", "loaded:",
		st->loaded_unix ? fmt_rfc3339((int64_t)st->loaded_unix, t, sizeof(t)) : "unknown");
	if (st->reloaded_unix)
		fprintf(f, "%-12s%s (%" PRIu32 " reload%s)\n",
			"reloaded:", fmt_rfc3339((int64_t)st->reloaded_unix, t, sizeof(t)),
			st->reloads, st->reloads == 1 ? "" : "s");
	else
		fprintf(f, "%-12s%s\n", "reloaded:", "never");
	fprintf(f, "%-12s%" PRIu32 "\n", "generation:", s->gen);
	for (i = 0; i < TAPIS_MAX_IFACES; i++) {
		const struct tapis_iface *ifc = &st->ifaces[i];

		if (!ifc->in_use)
			continue;
		fprintf(f, "%-12s%s (ifindex %" PRIu32 ", %s, multiprog %s)%s\n", lead,
			abi_str(ifc->name, sizeof(ifc->name), name), ifc->ifindex,
			mode_name(ifc->mode), ifc->multiprog ? "yes" : "no",
			s->ifaces_checked && s->iface_runs[i] == 0
				? ": recorded, but tapis does not run there (tapis attach or "
				  "unload puts that right)"
				: "");
		lead = "";
	}
	if (*lead)
		fprintf(f, "%-12s%s\n", lead, "none");
	fprintf(f, "%-12s%zu\n", "rules:", s->n_rules);
	fprintf(f, "%-12sv4 %" PRIu64 ", v6 %" PRIu64 ", hosts %" PRIu64 "\n",
		"entries:", s->entries_v4, s->entries_v6, s->entries_hosts);
	fprintf(f, "%-12s%" PRIu32 " of %" PRIu32 " IPv4 chunks used\n", "tbl8:", s->tbl8_used,
		s->tbl8_groups);
	fprintf(f, "%-12shost names up to %zu (%llu index slots; they grow as needed)\n",
		"hosts:", tapis_host_capacity(host_log2(st)), 1ull << host_log2(st));
	fprintf(f,
		"%-12srule ids up to %" PRIu32 ", flows %" PRIu32 ", events ring %" PRIu32
		" KiB, live edits up to %" PRIu32 ", IPv4 leaves %" PRIu32
		" and inline chunks %" PRIu32 " (sized at load)\n",
		"sizes:", s->sizes.rule_slots - 1, s->flows.size, s->sizes.events_ring / 1024,
		s->sizes.edits, s->sizes.v4_leaves, s->sizes.v4_chunks_small);
}

int status_render(const struct snapshot *s, const char *pin_path, enum out_format fmt, FILE *f)
{
	switch (fmt) {
	case OUT_JSON:
		return out_json(f, status_json(s, pin_path));
	case OUT_PROMETHEUS:
		return prom_render(s, NULL, f);
	case OUT_TEXT:
		break;
	}
	status_text(s, pin_path, f);
	return stream_status(f);
}

/* ---- stats ---- */

/* {"net": N, "dns": N, "tls": N, "http": N, "flow": N}: packets or bytes. */
static struct json_object *json_kinds(const struct rule_stat *r, bool bytes)
{
	struct json_object *o = json_object_new_object();

	for (unsigned k = 0; k < TAPIS_KIND_MAX; k++)
		json_object_object_add(
			o, kind_name(k),
			json_object_new_uint64(bytes ? r->kinds[k].bytes : r->kinds[k].packets));
	return o;
}

/* Rules by hits: packets, then bytes, most first; then by name, so the
 * order is the same from one run to the next. */
static int by_hits(const void *a, const void *b)
{
	const struct rule_stat *x = *(const struct rule_stat *const *)a;
	const struct rule_stat *y = *(const struct rule_stat *const *)b;

	if (x->packets != y->packets)
		return x->packets < y->packets ? 1 : -1;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The rules of s to show, in order, in *out (caller frees): all in rule id
 * order (sorted false), or sorted by hits and cut to top (0: all). Returns
 * how many, or -1 without memory. */
static ssize_t rule_view(const struct snapshot *s, bool sorted, size_t top,
			 const struct rule_stat ***out)
{
	const struct rule_stat **v = calloc(s->n_rules ? s->n_rules : 1, sizeof(*v));
	size_t i, n = s->n_rules;

	if (!v)
		return -1;
	for (i = 0; i < n; i++)
		v[i] = &s->rules[i];
	if (sorted)
		qsort(v, n, sizeof(*v), by_hits);
	if (top && top < n)
		n = top;
	*out = v;
	return (ssize_t)n;
}

static struct json_object *stats_json_view(const struct snapshot *s, size_t top)
{
	struct json_object *o = json_object_new_object(), *rules, *acts, *unp, *ctr, *fl;
	const struct rule_stat **view = NULL;
	char buf[RFC3339_LEN];
	ssize_t n_view;
	size_t i;

	/* --top: the rules with the most hits, most first; otherwise all in
	 * rule id order, as always. */
	n_view = rule_view(s, top > 0, top, &view);
	rules = json_object_new_array();
	for (i = 0; n_view > 0 && i < (size_t)n_view; i++) {
		const struct rule_stat *r = view[i];
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "name", json_object_new_string(r->name));
		json_object_object_add(j, "action", json_object_new_string(action_name(r->action)));
		json_object_object_add(j, "reference", json_object_new_string(r->reference));
		json_object_object_add(j, "packets", json_object_new_uint64(r->packets));
		json_object_object_add(j, "bytes", json_object_new_uint64(r->bytes));
		json_object_object_add(j, "last_hit",
				       json_time_or_null(r->last_hit_unix_ns / 1000000000));
		json_object_object_add(j, "expires", json_time_or_null(r->expires_unix));
		json_object_object_add(
			j, "since",
			json_object_new_string(fmt_rfc3339(r->since_unix, buf, sizeof(buf))));
		json_object_object_add(j, "expired_hits", json_object_new_uint64(r->expired_hits));
		json_object_object_add(j, "entries",
				       json_entries(r->nets_v4, r->nets_v6, r->hosts));
		json_object_object_add(j, "kinds", json_kinds(r, false));
		json_object_object_add(j, "kind_bytes", json_kinds(r, true));
		json_object_array_add(rules, j);
	}
	json_object_object_add(o, "rules", rules);

	acts = json_object_new_object();
	for (i = 0; i < TAPIS_ACT_MAX; i++) {
		struct json_object *a = json_object_new_object();

		json_object_object_add(a, "packets", json_object_new_uint64(s->actions_packets[i]));
		json_object_object_add(a, "bytes", json_object_new_uint64(s->actions_bytes[i]));
		json_object_object_add(acts, action_name((enum tapis_action)i), a);
	}
	json_object_object_add(o, "actions", acts);

	/* TAPIS_R_OK is "parsed": not a reason a packet went unparsed. */
	unp = json_object_new_object();
	for (i = TAPIS_R_OK + 1; i < TAPIS_R_MAX; i++)
		json_object_object_add(unp, reason_name((unsigned)i),
				       json_object_new_uint64(s->reasons[i]));
	json_object_object_add(o, "unparsed", unp);

	ctr = json_object_new_object();
	for (i = 0; i < TAPIS_S_MAX; i++)
		json_object_object_add(ctr, stat_name((unsigned)i),
				       json_object_new_uint64(s->stats[i]));
	json_object_object_add(o, "counters", ctr);

	fl = json_object_new_object();
	json_object_object_add(fl, "size", json_object_new_uint64(s->flows.size));
	json_object_object_add(fl, "present", json_object_new_uint64(s->flows.present));
	json_object_object_add(fl, "verdicts", json_object_new_uint64(s->flows.verdicts));
	json_object_object_add(fl, "new", json_object_new_uint64(s->flows.created));
	json_object_object_add(fl, "evicted", json_object_new_uint64(s->flows.evicted));
	json_object_object_add(o, "flows", fl);
	free(view);
	return o;
}

struct json_object *stats_json(const struct snapshot *s)
{
	return stats_json_view(s, 0);
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

/* A table cell: free text (a reference) must not break the table. */
static const char *cell(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

#define TIME_WIDTH 20 /* "2026-11-29T04:00:00Z" */
#define TEXT_WIDTH 80 /* summary lines wrap before this */

/* The KINDS cell: the kinds a rule matched by, with packets, "dns:9 tls:3";
 * "-" before its first match. */
static const char *kinds_cell(const struct rule_stat *r, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned k = 0; k < TAPIS_KIND_MAX && len < n; k++) {
		if (!r->kinds[k].packets)
			continue;
		len += (size_t)snprintf(buf + len, n - len, "%s%s:%" PRIu64, len ? " " : "",
					kind_name(k), r->kinds[k].packets);
	}
	return buf[0] ? buf : "-";
}

static int stats_text(const struct snapshot *s, size_t top, FILE *f)
{
	int w_name = 4, w_act = 6, w_pkt = 7, w_byt = 5, w_hit = 8, w_kind = 5, col;
	char num[64], hit[RFC3339_LEN], ref[TAPIS_REF_MAX], kinds[TAPIS_KIND_MAX * 28];
	const struct rule_stat **view;
	ssize_t n_view;
	bool any = false;
	size_t i, n;

	/* The table: rules by hits, most first, cut to --top. */
	n_view = rule_view(s, true, top, &view);
	if (n_view < 0)
		return -ENOMEM;
	n = (size_t)n_view;
	for (i = 0; i < n; i++) {
		const struct rule_stat *r = view[i];

		w_name = max_int(w_name, (int)strlen(r->name));
		w_act = max_int(w_act, (int)strlen(action_name(r->action)));
		w_pkt = max_int(w_pkt, snprintf(num, sizeof(num), "%" PRIu64, r->packets));
		w_byt = max_int(w_byt, snprintf(num, sizeof(num), "%" PRIu64, r->bytes));
		if (r->last_hit_unix_ns)
			w_hit = TIME_WIDTH;
		w_kind = max_int(w_kind, (int)strlen(kinds_cell(r, kinds, sizeof(kinds))));
	}

	fprintf(f, "%-*s  %-*s  %*s  %*s  %-*s  %-*s  %s\n", w_name, "RULE", w_act, "ACTION", w_pkt,
		"PACKETS", w_byt, "BYTES", w_hit, "LAST HIT", w_kind, "KINDS", "REFERENCE");
	for (i = 0; i < n; i++) {
		const struct rule_stat *r = view[i];

		if (r->last_hit_unix_ns)
			fmt_rfc3339(r->last_hit_unix_ns / 1000000000, hit, sizeof(hit));
		else
			snprintf(hit, sizeof(hit), "never");
		fprintf(f, "%-*s  %-*s  %*" PRIu64 "  %*" PRIu64 "  %-*s  %-*s  %s\n", w_name,
			r->name, w_act, action_name(r->action), w_pkt, r->packets, w_byt, r->bytes,
			w_hit, hit, w_kind, kinds_cell(r, kinds, sizeof(kinds)),
			r->reference[0] ? cell(r->reference, ref, sizeof(ref)) : "-");
	}
	if (s->n_rules == 0)
		fputs("(no rules)\n", f);
	if (n < s->n_rules) {
		uint64_t rest = 0;

		/* view holds every rule, sorted: those past n are not shown. */
		for (i = n; i < s->n_rules; i++)
			rest += view[i]->packets;
		fprintf(f, "(%zu more rule%s with %" PRIu64 " packets not shown: --top %zu)\n",
			s->n_rules - n, s->n_rules - n == 1 ? "" : "s", rest, top);
	}
	free(view);

	for (i = 0; i < s->n_rules; i++) {
		const struct rule_stat *r = &s->rules[i];

		if (!r->expired)
			continue;
		if (!any)
			fputc('\n', f);
		fprintf(f, "rule %s expired at %s (%" PRIu64 " match%s ignored)\n", r->name,
			fmt_rfc3339(r->expires_unix, hit, sizeof(hit)), r->expired_hits,
			r->expired_hits == 1 ? "" : "es");
		any = true;
	}

	/* "counters: a N, b N, ...", wrapped before TEXT_WIDTH columns. */
	fputs("\ncounters:", f);
	for (i = 0, col = 9; i < TAPIS_S_MAX; i++) {
		int n = snprintf(num, sizeof(num), "%s %" PRIu64, stat_name((unsigned)i),
				 s->stats[i]);

		if (i && col + 2 + n > TEXT_WIDTH) {
			fputs(",\n ", f);
			col = 1;
		} else if (i) {
			fputc(',', f);
			col++;
		}
		fprintf(f, " %s", num);
		col += 1 + n;
	}
	fprintf(f,
		"\nflows: %" PRIu64 " of %" PRIu32 " entries (%" PRIu64 " verdicts), %" PRIu64
		" new, %" PRIu64 " evicted",
		s->flows.present, s->flows.size, s->flows.verdicts, s->flows.created,
		s->flows.evicted);
	fputs("\nactions:", f);
	any = false;
	for (i = 0; i < TAPIS_ACT_MAX; i++) {
		if (!s->actions_packets[i])
			continue;
		fprintf(f, "%s %s %" PRIu64 " packets (%" PRIu64 " bytes)", any ? "," : "",
			prom_action((enum tapis_action)i), s->actions_packets[i],
			s->actions_bytes[i]);
		any = true;
	}
	fputs(any ? "\n" : " none yet\n", f);

	any = false;
	for (i = TAPIS_R_OK + 1; i < TAPIS_R_MAX; i++) {
		if (!s->reasons[i])
			continue;
		if (!any)
			fputs("unparsed, passed:\n", f);
		fprintf(f, "  %-20s %" PRIu64 "\n", reason_name((unsigned)i), s->reasons[i]);
		any = true;
	}
	return 0;
}

int stats_render_top(const struct snapshot *s, enum out_format fmt, size_t top, FILE *f)
{
	int err;

	switch (fmt) {
	case OUT_JSON:
		return out_json(f, stats_json_view(s, top));
	case OUT_PROMETHEUS:
		return prom_render(s, NULL, f);
	case OUT_TEXT:
		break;
	}
	err = stats_text(s, top, f);
	return err ?: stream_status(f);
}

int stats_render(const struct snapshot *s, enum out_format fmt, FILE *f)
{
	return stats_render_top(s, fmt, 0, f);
}
