// SPDX-License-Identifier: GPL-2.0
/*
 * rpz.c - read a Response Policy Zone with ldns (zone-file syntax, $ORIGIN,
 * $TTL, parentheses and escapes are its job) and turn its QNAME triggers
 * into host entries with a verdict each.
 *
 * A trigger is an owner name below the zone apex: "ads.example.com.rpz.
 * example." blocks ads.example.com exactly, "*.example.com.rpz.example."
 * the names under example.com. The RDATA says what a resolver would do;
 * tapis maps it to the verdict it has (rpz.h). Other trigger kinds
 * (rpz-ip, rpz-nsdname, rpz-nsip, rpz-client-ip) name answers, servers or
 * clients, which an XDP filter does not see as a name: they are refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "fileio.h"
#include "output.h"
#include "rpz.h"

enum tapis_action rpz_action(enum rpz_verdict v)
{
	switch (v) {
	case RPZ_NXDOMAIN:
	case RPZ_NODATA:
		return TAPIS_ACT_REJECT;
	case RPZ_DROP:
		return TAPIS_ACT_DROP;
	case RPZ_PASSTHRU:
		return TAPIS_ACT_ALLOW;
	default:
		return TAPIS_ACT_SINKHOLE;
	}
}

const char *rpz_verdict_name(enum rpz_verdict v)
{
	static const char *const names[RPZ_VERDICTS] = {
		[RPZ_NXDOMAIN] = "nxdomain", [RPZ_NODATA] = "nodata",	      [RPZ_DROP] = "drop",
		[RPZ_PASSTHRU] = "passthru", [RPZ_LOCAL_DATA] = "local-data",
	};

	return v < RPZ_VERDICTS ? names[v] : "?";
}

/* Names live in blocks of NAME_BLOCK bytes, not one allocation each: a
 * small allocation made between two records would be carved out of the
 * buffers ldns frees after each one, and each next record would then grow
 * and trim the heap again (a 1,000,000-trigger zone took four times as
 * long). */
#define NAME_BLOCK (256u << 10)

struct rpz_names {
	struct rpz_names *next;
	size_t used;
	char data[NAME_BLOCK];
};

static char *name_store(struct rpz_zone *z, const char *name)
{
	size_t n = strlen(name) + 1;
	struct rpz_names *b = z->names;
	char *s;

	if (!b || NAME_BLOCK - b->used < n) {
		b = malloc(sizeof(*b));
		if (!b)
			return NULL;
		b->next = z->names;
		b->used = 0;
		z->names = b;
	}
	s = b->data + b->used;
	memcpy(s, name, n);
	b->used += n;
	return s;
}

void rpz_free(struct rpz_zone *z)
{
	while (z->names) {
		struct rpz_names *next = z->names->next;

		free(z->names);
		z->names = next;
	}
	free(z->v);
	memset(z, 0, sizeof(*z));
}

struct rd {
	const char *file;
	FILE *diag;
	bool skip;
	int errors;
	unsigned shown, hidden; /* messages printed, and left out past RPZ_MAX_MSGS */
};

/* A refused record: an error, or under skip a warning and the record is
 * left out. Printed up to RPZ_MAX_MSGS a zone: a feed of resolver
 * triggers (thousands of rpz-ip records) would otherwise bury the
 * messages that matter, and the count says enough after those. */
static void refuse(struct rd *r, struct rpz_zone *z, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void refuse(struct rd *r, struct rpz_zone *z, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (r->skip)
		z->skipped++;
	else
		r->errors++;
	if (r->shown >= RPZ_MAX_MSGS) {
		r->hidden++;
		return;
	}
	r->shown++;
	{
		/* Escaped: a zone's bytes must not drive the terminal. */
		char msg[512], safe[4 * sizeof(msg)], fs[4 * 256];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		fprintf(r->diag, "%s:%u: %s: %s", safe_text(r->file, fs, sizeof(fs)), line,
			r->skip ? "warning" : "error", safe_text(msg, safe, sizeof(safe)));
	}
	if (r->skip)
		fputs(" (skipped: on_error: skip)", r->diag);
	fputc('\n', r->diag);
}

/* ldns prints names absolute, with a trailing dot, and escapes in
 * presentation form; *out is malloc'ed and lowercased. */
static char *dname_str(const ldns_rdf *d)
{
	char *s = ldns_rdf2str(d), *p;

	if (s)
		for (p = s; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 'a' - 'A';
	return s;
}

static const char *const unsupported_triggers[] = {"rpz-ip", "rpz-nsdname", "rpz-nsip",
						   "rpz-client-ip"};

/* Presentation form back to bytes: "\\DDD" and "\\X". ldns escapes every
 * byte outside printable ASCII, so a UTF-8 trigger arrives as "b\\195\\188cher".
 * A dot or NUL inside a label has no hostname equivalent: -EINVAL. out has
 * room for n + 1 bytes. */
static int unescape(const char *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned char c = (unsigned char)in[i++];

		if (c == '\\' && i < n) {
			if (i + 2 < n && in[i] >= '0' && in[i] <= '9' && in[i + 1] >= '0' &&
			    in[i + 1] <= '9' && in[i + 2] >= '0' && in[i + 2] <= '9') {
				c = (unsigned char)((in[i] - '0') * 100 + (in[i + 1] - '0') * 10 +
						    (in[i + 2] - '0'));
				i += 3;
			} else {
				c = (unsigned char)in[i++];
			}
			if (c == '.' || c == '\0')
				return -EINVAL;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* The trigger of an owner "TRIGGER.APEX." into e->name (stored in z) and
 * e->kind. 0, 1 for the apex itself (SOA, NS: not a trigger), -EINVAL
 * after a message, -ENOMEM. */
static int trigger_of(struct rd *r, struct rpz_zone *z, const char *owner, unsigned line,
		      struct rpz_entry *e)
{
	size_t lo = strlen(owner), la = strlen(z->apex), i;
	char trig[4 * (TAPIS_HOST_MAX + 1)], pat[sizeof(trig) + 1], why[512];
	struct host_pattern hp;
	const char *last;

	if (!strcmp(owner, z->apex))
		return 1;
	/* A zone file that names no origin ($ORIGIN, or an absolute SOA
	 * owner) leaves it to the resolver's configuration; ldns reads its
	 * "@" as the root. Its relative names are then the triggers as
	 * written. */
	if (!strcmp(z->apex, "."))
		la = 0;
	if (la && (lo <= la || strcmp(owner + lo - la, z->apex) || owner[lo - la - 1] != '.')) {
		refuse(r, z, line, "'%.100s' is not inside the zone %.100s", owner, z->apex);
		return -EINVAL;
	}
	/* Without the apex and the dot before it (or the root's dot). */
	lo -= la ? la + 1 : 1;
	if (lo >= sizeof(trig)) {
		refuse(r, z, line, "trigger name too long");
		return -EINVAL;
	}
	if (unescape(owner, lo, trig)) {
		refuse(r, z, line, "'%.100s': a label holds an escaped dot or NUL", owner);
		return -EINVAL;
	}
	last = strrchr(trig, '.');
	last = last ? last + 1 : trig;
	for (i = 0; i < sizeof(unsupported_triggers) / sizeof(unsupported_triggers[0]); i++) {
		if (!strcmp(last, unsupported_triggers[i])) {
			refuse(r, z, line,
			       "%s triggers are not supported: tapis matches the names clients "
			       "ask for (QNAME triggers) only",
			       unsupported_triggers[i]);
			return -EINVAL;
		}
	}
	if (!strcmp(trig, "*")) {
		refuse(r, z, line, "'*' at the zone apex would match every name");
		return -EINVAL;
	}
	/* "name" is that name only, "*.name" the names under it: tapis's
	 * =name and *.name, read by the parser the policy's lists and `host
	 * add` use, so a trigger is refused for what they refuse (an address,
	 * an all-digit last label). */
	snprintf(pat, sizeof(pat), "%s%s", strncmp(trig, "*.", 2) ? "=" : "", trig);
	if (host_pattern_parse(pat, &hp, why, sizeof(why))) {
		refuse(r, z, line, "invalid trigger: %s", why);
		return -EINVAL;
	}
	e->kind = hp.kind;
	/* Stored to its length: a feed has millions of triggers, most far
	 * shorter than the longest name an entry would have room for. */
	e->name = name_store(z, hp.name);
	return e->name ? 0 : -ENOMEM;
}

/* The verdict of one record's RDATA into e. 0, or -EINVAL after a message. */
static int verdict_of(struct rd *r, struct rpz_zone *z, const ldns_rr *rr, unsigned line,
		      struct rpz_entry *e)
{
	ldns_rr_type t = ldns_rr_get_type(rr);
	const ldns_rdf *d = ldns_rr_rdf(rr, 0);
	char *target;
	int ret = 0;

	memset(&e->has_v4, 0, sizeof(*e) - offsetof(struct rpz_entry, has_v4));
	if (t == LDNS_RR_TYPE_CNAME) {
		target = d ? dname_str(d) : NULL;
		if (!target)
			return -ENOMEM;
		if (!strcmp(target, "."))
			e->verdict = RPZ_NXDOMAIN;
		else if (!strcmp(target, "*."))
			e->verdict = RPZ_NODATA;
		else if (!strcmp(target, "rpz-drop."))
			e->verdict = RPZ_DROP;
		else if (!strcmp(target, "rpz-passthru."))
			e->verdict = RPZ_PASSTHRU;
		else {
			if (!strcmp(target, "rpz-tcp-only."))
				refuse(r, z, line,
				       "rpz-tcp-only has no tapis verdict (use rpz-drop or CNAME "
				       ".)");
			else
				refuse(r, z, line,
				       "CNAME %.100s (an answer rewritten to another name) has no "
				       "tapis verdict: use CNAME . , rpz-drop., rpz-passthru. or "
				       "A/AAAA "
				       "local data (sinkhole)",
				       target);
			ret = -EINVAL;
		}
		free(target);
		return ret;
	}
	if (t == LDNS_RR_TYPE_SOA || t == LDNS_RR_TYPE_NS) {
		refuse(r, z, line, "%s below the zone apex is not a policy record",
		       t == LDNS_RR_TYPE_SOA ? "SOA" : "NS");
		return -EINVAL;
	}
	/* Any other type is local data; tapis answers A/AAAA with the policy's
	 * sinkhole address and NODATA for the rest. */
	e->verdict = RPZ_LOCAL_DATA;
	if (t == LDNS_RR_TYPE_A && d && ldns_rdf_size(d) == 4) {
		e->has_v4 = true;
		memcpy(e->v4, ldns_rdf_data(d), 4);
	} else if (t == LDNS_RR_TYPE_AAAA && d && ldns_rdf_size(d) == 16) {
		e->has_v6 = true;
		memcpy(e->v6, ldns_rdf_data(d), 16);
	}
	return 0;
}

static int push(struct rpz_zone *z, const struct rpz_entry *e)
{
	if (z->n == z->cap) {
		size_t cap = z->cap ? 2 * z->cap : 256;
		void *v = realloc(z->v, cap * sizeof(*z->v));

		if (!v)
			return -ENOMEM;
		z->v = v;
		z->cap = cap;
	}
	z->v[z->n++] = *e;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct rpz_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* One entry per trigger: local data records add up (A and AAAA), any other
 * repeat must say the same. */
static void merge(struct rd *r, struct rpz_zone *z)
{
	size_t i, o = 0;

	if (z->n)
		qsort(z->v, z->n, sizeof(*z->v), entry_cmp);
	for (i = 0; i < z->n; i++) {
		struct rpz_entry *e = &z->v[i], *k = o ? &z->v[o - 1] : NULL;

		if (k && k->kind == e->kind && !strcmp(k->name, e->name)) {
			if (k->verdict != e->verdict) {
				refuse(r, z, e->line, "%s%s has two verdicts: %s (line %u) and %s",
				       e->kind == HOST_WILDCARD ? "*." : "", e->name,
				       rpz_verdict_name(k->verdict), k->line,
				       rpz_verdict_name(e->verdict));
				continue;
			}
			if (e->has_v4 && !k->has_v4) {
				k->has_v4 = true;
				memcpy(k->v4, e->v4, 4);
			}
			if (e->has_v6 && !k->has_v6) {
				k->has_v6 = true;
				memcpy(k->v6, e->v6, 16);
			}
			continue;
		}
		z->v[o++] = *e;
	}
	z->n = o;
	memset(z->per_verdict, 0, sizeof(z->per_verdict));
	for (i = 0; i < z->n; i++)
		z->per_verdict[z->v[i].verdict]++;
}

int rpz_read(const char *path, const char *display, FILE *diag, bool skip, struct rpz_zone *z)
{
	struct rd r = {
		.file = display ? display : path, .diag = diag ? diag : stderr, .skip = skip};
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	int line = 0, ret = 0, fd;
	bool have_soa = false;
	struct stat st;
	FILE *fp;

	memset(z, 0, sizeof(*z));
	/* A FIFO would block the open itself, a device never end: open
	 * without blocking and refuse anything but a regular file. */
	fd = open_regular(path, &st);
	if (fd < 0) {
		fprintf(r.diag, "%s: error: %s\n", r.file,
			fd == -EBADFD ? "not a regular file" : strerror(-fd));
		return -EINVAL;
	}
	fp = fdopen(fd, "r");
	if (!fp) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		int before = line, c;
		ldns_status s;
		ldns_rr *rr = NULL;
		struct rpz_entry e;
		char *owner;

		/* ldns reads a record even from a file's trailing blank lines;
		 * stop on end of file first. */
		c = fgetc(fp);
		if (c == EOF)
			break;
		ungetc(c, fp);
		s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		/* The record's last line: ldns counts the newlines it consumed. */
		unsigned at = (unsigned)(line > before ? line : before + 1);

		if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
		    s == LDNS_STATUS_SYNTAX_ORIGIN) {
			continue;
		}
		if (s == LDNS_STATUS_SYNTAX_INCLUDE) {
			fprintf(r.diag,
				"%s:%u: error: $INCLUDE is not supported (list each file)\n",
				r.file, at);
			r.errors++;
			continue;
		}
		if (s != LDNS_STATUS_OK) {
			refuse(&r, z, at, "%s", ldns_get_errorstr_by_id(s));
			continue;
		}
		if (!have_soa) {
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA) {
				fprintf(r.diag,
					"%s:%u: error: a zone starts with its SOA record (is this "
					"an "
					"RPZ zone?)\n",
					r.file, at);
				ldns_rr_free(rr);
				ret = -EINVAL;
				break;
			}
			owner = dname_str(ldns_rr_owner(rr));
			if (!owner || strlen(owner) >= sizeof(z->apex)) {
				free(owner);
				ldns_rr_free(rr);
				ret = owner ? -EINVAL : -ENOMEM;
				break;
			}
			strcpy(z->apex, owner);
			free(owner);
			have_soa = true;
			/* Relative owners below are relative to the apex. */
			if (!origin)
				origin = ldns_rdf_clone(ldns_rr_owner(rr));
			ldns_rr_free(rr);
			continue;
		}
		owner = dname_str(ldns_rr_owner(rr));
		if (!owner) {
			ldns_rr_free(rr);
			ret = -ENOMEM;
			break;
		}
		memset(&e, 0, sizeof(e));
		e.line = at;
		ret = trigger_of(&r, z, owner, at, &e);
		free(owner);
		if (!ret)
			ret = verdict_of(&r, z, rr, at, &e);
		if (!ret)
			ret = push(z, &e);
		ldns_rr_free(rr);
		if (ret == -ENOMEM)
			break;
		ret = 0;
	}
	if (!ret && ferror(fp)) {
		fprintf(r.diag, "%s: error: read error\n", r.file);
		ret = -EINVAL;
	}
	if (!ret && !have_soa) {
		fprintf(r.diag, "%s: error: no SOA record: not a zone\n", r.file);
		ret = -EINVAL;
	}
	if (!ret)
		merge(&r, z);
	if (r.hidden)
		fprintf(r.diag, "%s: %s: %u more refused records not shown\n", r.file,
			r.skip ? "warning" : "error", r.hidden);
	if (!ret && r.errors)
		ret = -EINVAL;
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	fclose(fp);
	return ret;
}
