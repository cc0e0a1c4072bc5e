// SPDX-License-Identifier: GPL-2.0
/*
 * policy_yaml.c - read a policy file and its list files into struct policy.
 *
 * Parsing only: types, keys, values and where they came from. Turning the
 * result into map entries (rule ids, conflicts, dedup) is policy_compile.c's
 * job. An operator fixes a policy from our messages alone, so every problem
 * is reported as "FILE:LINE: error: ..." and we keep going to report all of
 * them in one run; any error refuses the whole policy.
 *
 * libyaml's document API gives us the tree with a mark on every node, which
 * is all we need: policy files are small, the big data lives in list files,
 * and those are read line by line with getline. RPZ zones (`rpz:`) are read
 * by rpz.c with ldns; a rule fed by zones becomes one rule per action they
 * give, named "<rule>/<action>", since a zone gives a verdict per trigger
 * and a tapis rule has one action.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "fileio.h"
#include "diag.h"
#include "policy.h"
#include "rpz.h"
#include "when.h"

#define MAX_ERRORS 50
/* Per-line warnings (skipped list lines, host bits) printed per parse: a
 * sloppy feed can have millions of them, and the count says enough. */
#define MAX_LINE_WARNINGS 100
#define LIST_IOBUF	  (1u << 20)
/* Limits: a list line (an entry and a comment) and a policy file. */
#define LIST_LINE_MAX	 4096u
#define POLICY_FILE_MAX	 (64u << 20)
#define POLICY_DEPTH_MAX 32u
/* Distinct local-data answers of RPZ zones that check_policy compares with
 * settings.sinkhole: a feed points at one block page or a few. */
#define MAX_LOCAL_DATA 16

/* The answer an RPZ zone gives for a set of its local-data triggers, kept
 * until the settings are known (they may come after the rules). */
struct local_data {
	const char *file; /* the zone, interned */
	unsigned line;	  /* of the first trigger giving this answer */
	char name[TAPIS_HOST_MAX + 3];
	char rule[TAPIS_NAME_MAX];
	bool has_v4, has_v6;
	uint8_t v4[4], v6[16];
	size_t more; /* further triggers of the zone with the same answer */
};

/* A rule with `rpz:` is no rule itself but the name of those it becomes:
 * no other rule may take it. */
struct rpz_base {
	char name[TAPIS_NAME_MAX];
	unsigned line;
};

struct ctx {
	struct policy *p;
	const char *file; /* the policy file's name, interned */
	const char *base_dir;
	yaml_document_t *doc;
	unsigned errors;
	unsigned line_warnings; /* printed */
	unsigned hidden_warnings;
	int fatal; /* -errno that is not a policy problem (ENOMEM) */
	bool stop;
	/* rule name -> index + 1 into p->rules, open addressing */
	size_t *names;
	size_t names_cap;
	/* Lists of the rule being read that yielded no entry: an error once
	 * the whole rule is read, unless it says it may be empty. */
	struct list_ref *empty;
	size_t n_empty, cap_empty;
	struct rpz_base *rpz_bases;
	size_t n_rpz_bases, cap_rpz_bases;
	struct local_data local[MAX_LOCAL_DATA];
	size_t n_local, local_other; /* answers kept; triggers with answers beyond them */
};

struct list_ref {
	const char *display; /* interned path as shown in messages */
	bool skip;	     /* on_error: skip */
	unsigned line;	     /* policy line naming it */
	bool hosts;	     /* a host list (else a net list) */
	bool zone;	     /* an RPZ zone */
	size_t refused;	     /* lines skipped (on_error: skip) */
};

/* ---- diagnostics ---- */

static void error_at(struct ctx *c, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warn_line(struct ctx *c, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warn_always(struct ctx *c, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void error_at(struct ctx *c, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (c->stop)
		return;
	if (c->errors == MAX_ERRORS) {
		fprintf(diag_stream(), "%s: error: too many errors, giving up\n", c->file);
		c->errors++;
		c->stop = true;
		return;
	}
	c->errors++;
	va_start(ap, fmt);
	vdiag(file, line, "error", fmt, ap);
	va_end(ap);
}

/* A warning about one entry: counted always, printed up to a cap. */
static void warn_line(struct ctx *c, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	c->p->warnings++;
	if (c->line_warnings >= MAX_LINE_WARNINGS) {
		c->hidden_warnings++;
		return;
	}
	c->line_warnings++;
	va_start(ap, fmt);
	vdiag(file, line, "warning", fmt, ap);
	va_end(ap);
}

/* A summary warning: always printed. */
static void warn_always(struct ctx *c, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	c->p->warnings++;
	va_start(ap, fmt);
	vdiag(file, line, "warning", fmt, ap);
	va_end(ap);
}

static void out_of_memory(struct ctx *c)
{
	if (!c->fatal)
		fprintf(diag_stream(), "%s: error: out of memory\n", c->file);
	c->fatal = -ENOMEM;
	c->stop = true;
}

/* ---- small helpers ---- */

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = reallocarray(*arr, ncap, elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* File names live once in p->strings; src_loc points at them. */
static const char *intern(struct policy *p, const char *s)
{
	char **strings, *dup;
	size_t i;

	for (i = 0; i < p->n_strings; i++)
		if (strcmp(p->strings[i], s) == 0)
			return p->strings[i];
	dup = strdup(s);
	if (!dup)
		return NULL;
	strings = reallocarray(p->strings, p->n_strings + 1, sizeof(*strings));
	if (!strings) {
		free(dup);
		return NULL;
	}
	p->strings = strings;
	p->strings[p->n_strings++] = dup;
	return dup;
}

static char *join_path(const char *base, const char *rel)
{
	size_t bl;
	char *s;

	if (rel[0] == '/' || !base || !base[0] || strcmp(base, ".") == 0)
		return strdup(rel);
	bl = strlen(base);
	if (base[bl - 1] == '/')
		bl--;
	if (asprintf(&s, "%.*s/%s", (int)bl, base, rel) < 0)
		return NULL;
	return s;
}

static bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i, n = strlen(s);

	/* No signs, spaces or leading zeros (YAML 1.1 would read 010 as 8). */
	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool is_address(const char *s)
{
	uint8_t buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* The address column of a hosts file, where IPv6 may carry a zone
 * ("fe80::1%lo0 localhost" is in many published lists). */
static bool is_hosts_address(const char *s)
{
	char buf[INET6_ADDRSTRLEN];
	const char *pct = strchr(s, '%');
	size_t n = pct ? (size_t)(pct - s) : 0;

	if (!pct)
		return is_address(s);
	if (n == 0 || n >= sizeof(buf) || !pct[1])
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return strchr(buf, ':') && is_address(buf);
}

static void format_net(const struct net_entry *e, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(e->family == 6 ? AF_INET6 : AF_INET, e->addr, a, sizeof(a));
	snprintf(buf, n, "%s/%u", a, e->plen);
}

static bool iface_ok(const char *s)
{
	size_t i, n = strlen(s);

	/* The kernel's dev_valid_name(), so a typo fails here, not at load. */
	if (n == 0 || n >= TAPIS_IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || (unsigned char)s[i] <= ' ' ||
		    (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

static bool rule_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= TAPIS_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* ---- rule name index ---- */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ULL;
	return h;
}

static size_t *name_slot(struct ctx *c, const char *name)
{
	size_t mask = c->names_cap - 1, i = (size_t)str_hash(name) & mask;

	while (c->names[i] && strcmp(c->p->rules[c->names[i] - 1].name, name) != 0)
		i = (i + 1) & mask;
	return &c->names[i];
}

static const struct rule *name_find(struct ctx *c, const char *name)
{
	size_t *slot;

	if (!c->names_cap)
		return NULL;
	slot = name_slot(c, name);
	return *slot ? &c->p->rules[*slot - 1] : NULL;
}

static int name_add(struct ctx *c, size_t idx)
{
	if ((idx + 1) * 2 > c->names_cap) {
		size_t i, old_cap = c->names_cap, *old = c->names;

		c->names_cap = old_cap ? old_cap * 2 : 64;
		c->names = calloc(c->names_cap, sizeof(*c->names));
		if (!c->names) {
			c->names = old;
			c->names_cap = old_cap;
			return -ENOMEM;
		}
		for (i = 0; i < old_cap; i++)
			if (old[i])
				*name_slot(c, c->p->rules[old[i] - 1].name) = old[i];
		free(old);
	}
	*name_slot(c, c->p->rules[idx].name) = idx + 1;
	return 0;
}

/* ---- YAML nodes ---- */

static yaml_node_t *node_at(struct ctx *c, int idx)
{
	return yaml_document_get_node(c->doc, idx);
}

static unsigned node_line(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = scalar(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return is_null(n) ? "empty" : "a string";
	}
}

/* The scalar's text, or NULL after reporting why it is not one. */
static const char *want_string(struct ctx *c, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		error_at(c, c->file, node_line(n), "%s must be a string, not %s", what,
			 node_kind(n));
		return NULL;
	}
	if (strlen(scalar(n)) != n->data.scalar.length) {
		error_at(c, c->file, node_line(n), "%s contains a NUL character", what);
		return NULL;
	}
	/* "reference: ~" means no reference, not the text "~". */
	return is_null(n) ? "" : scalar(n);
}

/* Items of a list value; an empty value is an empty list. False after
 * reporting a non-list. */
static bool want_list(struct ctx *c, const yaml_node_t *n, const char *what,
		      yaml_node_item_t **start, yaml_node_item_t **top)
{
	*start = *top = NULL;
	if (is_null(n))
		return true;
	if (n->type != YAML_SEQUENCE_NODE) {
		error_at(c, c->file, node_line(n), "'%s' must be a list, not %s", what,
			 node_kind(n));
		return false;
	}
	*start = n->data.sequence.items.start;
	*top = n->data.sequence.items.top;
	return true;
}

static bool want_map(struct ctx *c, const yaml_node_t *n, const char *what)
{
	if (n->type == YAML_MAPPING_NODE)
		return true;
	error_at(c, c->file, node_line(n), "%s must be a mapping, not %s", what, node_kind(n));
	return false;
}

/* Index of a mapping key in `keys`, or -1 after reporting an unknown or
 * repeated key. seen[] holds the line each known key was first met on. */
static int map_key(struct ctx *c, const yaml_node_t *k, const char *const *keys, unsigned *seen,
		   const char *where)
{
	const char *s;
	int i;

	if (k->type != YAML_SCALAR_NODE) {
		error_at(c, c->file, node_line(k), "keys in %s must be strings, not %s", where,
			 node_kind(k));
		return -1;
	}
	s = scalar(k);
	for (i = 0; keys[i]; i++)
		if (strcmp(keys[i], s) == 0)
			break;
	if (!keys[i]) {
		error_at(c, c->file, node_line(k), "unknown key '%.64s' in %s", s, where);
		return -1;
	}
	if (seen[i]) {
		error_at(c, c->file, node_line(k), "duplicate key '%s' in %s (first at line %u)", s,
			 where, seen[i]);
		return -1;
	}
	seen[i] = node_line(k);
	return i;
}

/* The key and value nodes of a mapping pair; false ends the walk. */
static bool pair_nodes(struct ctx *c, const yaml_node_pair_t *pair, yaml_node_t **k,
		       yaml_node_t **v)
{
	if (c->stop)
		return false;
	*k = node_at(c, pair->key);
	*v = node_at(c, pair->value);
	return *k && *v;
}

/* ---- entries ---- */

static int push_host(struct rule *r, enum host_kind kind, const char *name, const char *file,
		     unsigned line)
{
	struct host_entry *h;
	char *dup;

	if (grow((void **)&r->hosts, &r->cap_hosts, r->n_hosts, sizeof(*r->hosts)))
		return -ENOMEM;
	dup = strdup(name);
	if (!dup)
		return -ENOMEM;
	h = &r->hosts[r->n_hosts++];
	h->kind = kind;
	h->name = dup;
	h->loc.file = file;
	h->loc.line = line;
	return 0;
}

/* Names hosts files map to loopback or local nets: not blocklist entries.
 * Compared after normalisation, so "LocalHost." is caught too. */
static bool hosts_file_reserved(const char *name)
{
	/* clang-format off */
	static const char *const reserved[] = {
		"localhost", "localhost.localdomain", "local", "localdomain",
		"broadcasthost", "ip6-localhost", "ip6-loopback", "ip6-localnet",
		"ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters", "ip6-allhosts",
		NULL,
	};
	/* clang-format on */
	int i;

	for (i = 0; reserved[i]; i++)
		if (strcmp(name, reserved[i]) == 0)
			return true;
	return false;
}

/* Add one host pattern. Returns 0, 1 when a hosts-file line names
 * something that is not a blocklist entry, -ENOMEM, or -EINVAL with the
 * reason written to why[]. */
static int add_host(struct rule *r, const char *pat, const char *file, unsigned line,
		    bool hosts_form, char *why, size_t whysz)
{
	struct host_pattern hp;
	int err = host_pattern_parse(pat, &hp, why, whysz);

	/* "0.0.0.0 0.0.0.0" lines appear in popular hosts files. */
	if (err == -EAFNOSUPPORT && hosts_form)
		return 1;
	if (err)
		return -EINVAL;
	if (hosts_form && hp.kind == HOST_SUBTREE && hosts_file_reserved(hp.name))
		return 1;
	return push_host(r, hp.kind, hp.name, file, line);
}

/* Add one CIDR. Returns 0, -ENOMEM, or -EINVAL with why[] filled. A CIDR
 * with host bits set is kept (masked) with a warning: feeds often list
 * "198.18.1.1/24" meaning the /24. */
static int add_net(struct ctx *c, struct rule *r, const char *s, const char *file, unsigned line,
		   char *why, size_t whysz)
{
	struct net_entry e;
	bool host_bits;

	if (parse_cidr(s, &e, &host_bits)) {
		snprintf(why, whysz,
			 "invalid CIDR '%.100s' (expected an IPv4 or IPv6 "
			 "address with an optional /prefix)",
			 s);
		return -EINVAL;
	}
	if (host_bits) {
		char fixed[INET6_ADDRSTRLEN + 8];

		format_net(&e, fixed, sizeof(fixed));
		warn_line(c, file, line, "%s has host bits set; using %s", s, fixed);
	}
	if (grow((void **)&r->nets, &r->cap_nets, r->n_nets, sizeof(*r->nets)))
		return -ENOMEM;
	e.loc.file = file;
	e.loc.line = line;
	r->nets[r->n_nets++] = e;
	return 0;
}

/* ---- list files ---- */

static char *next_token(char **p)
{
	char *s = *p, *start;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\v' || *s == '\f')
		s++;
	if (!*s) {
		*p = s;
		return NULL;
	}
	start = s;
	while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n' && *s != '\v' &&
	       *s != '\f')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return start;
}

/* One host list line, comment already cut. 0, 1 when blank, -EINVAL with
 * why[], -ENOMEM. */
static int host_line(struct rule *r, char *line, const char *file, unsigned lineno, char *why,
		     size_t whysz)
{
	char *p = line, *first, *tok, scratch[256];
	int ret = 0, err;

	first = next_token(&p);
	if (!first)
		return 1;
	if (!is_hosts_address(first)) {
		tok = next_token(&p);
		if (tok) {
			snprintf(why, whysz,
				 "unexpected '%.100s' after host name "
				 "(one name per line)",
				 tok);
			return -EINVAL;
		}
		return add_host(r, first, file, lineno, false, why, whysz);
	}

	/* hosts-file form: an address, then names. Keep the good names of a
	 * line and report its first bad one. */
	tok = next_token(&p);
	if (!tok) {
		snprintf(why, whysz, "address '%.100s' without host names", first);
		return -EINVAL;
	}
	for (; tok; tok = next_token(&p)) {
		err = add_host(r, tok, file, lineno, true, ret ? scratch : why,
			       ret ? sizeof(scratch) : whysz);
		if (err == -ENOMEM)
			return err;
		if (err < 0 && !ret)
			ret = err;
	}
	return ret;
}

static int net_line(struct ctx *c, struct rule *r, char *line, const char *file, unsigned lineno,
		    char *why, size_t whysz)
{
	char *p = line, *first, *tok;

	first = next_token(&p);
	if (!first)
		return 1;
	tok = next_token(&p);
	if (tok) {
		snprintf(why, whysz, "unexpected '%.100s' after CIDR (one per line)", tok);
		return -EINVAL;
	}
	return add_net(c, r, first, file, lineno, why, whysz);
}

/* getline with a bound: a line longer than LIST_LINE_MAX is read past (to
 * its newline) without keeping it, and its length returned as
 * LIST_LINE_MAX + 1. -1 at end of file; -ENOMEM; -errno for a read error
 * (errno of getline is not enough: it fails on ENOMEM like on EOF). */
static ssize_t bounded_line(FILE *f, char **line, size_t *cap)
{
	size_t n = 0;
	int ch;

	if (!*line) {
		*cap = LIST_LINE_MAX + 2;
		*line = malloc(*cap);
		if (!*line)
			return -ENOMEM;
	}
	errno = 0;
	while ((ch = getc_unlocked(f)) != EOF) {
		if (n < LIST_LINE_MAX + 1)
			(*line)[n] = (char)ch;
		n++;
		if (ch == '\n')
			break;
	}
	if (ch == EOF && ferror(f))
		return errno ? -errno : -EIO;
	if (ch == EOF && n == 0)
		return -1;
	if (n > LIST_LINE_MAX + 1)
		return LIST_LINE_MAX + 1;
	(*line)[n < LIST_LINE_MAX + 1 ? n : LIST_LINE_MAX + 1] = '\0';
	return (ssize_t)n;
}

/* One raw line of a list file (as getline gave it): 0 or 1 when fine,
 * -EINVAL with why[], -ENOMEM. */
static int list_line(struct ctx *c, struct rule *r, char *line, size_t len, const char *file,
		     unsigned lineno, bool hosts, char *why, size_t whysz)
{
	char *hash;

	if (memchr(line, '\0', len)) {
		snprintf(why, whysz, "line contains a NUL byte");
		return -EINVAL;
	}
	if (lineno == 1 && (unsigned char)line[0] == 0xef && (unsigned char)line[1] == 0xbb &&
	    (unsigned char)line[2] == 0xbf)
		line += 3;
	/* A comment starts a line or follows blank space: a '#' inside an
	 * entry is part of it, and the entry is refused for it, rather than
	 * "198.18.7.0/2#4" quietly becoming 192.0.0.0/2. */
	for (hash = line; (hash = strchr(hash, '#')); hash++) {
		if (hash == line || hash[-1] == ' ' || hash[-1] == '\t') {
			*hash = '\0';
			break;
		}
	}
	if (hosts)
		return host_line(r, line, file, lineno, why, whysz);
	return net_line(c, r, line, file, lineno, why, whysz);
}

/* A list that yields no entry is an empty feed or one whose every line was
 * refused: either way the rule silently blocks less than the operator
 * thinks. Remembered here, judged when the whole rule is read. */
static void note_empty(struct ctx *c, const struct list_ref *ref)
{
	if (grow((void **)&c->empty, &c->cap_empty, c->n_empty, sizeof(*c->empty))) {
		out_of_memory(c);
		return;
	}
	c->empty[c->n_empty++] = *ref;
}

static void read_list(struct ctx *c, struct rule *r, struct list_ref *ref, const char *full,
		      bool hosts)
{
	char *line = NULL, *iobuf, why[512];
	size_t cap = 0, skipped = 0, before = hosts ? r->n_hosts : r->n_nets;
	unsigned lineno = 0, errors = c->errors;
	struct stat st;
	ssize_t n = -1;
	FILE *f;
	int err, fd;

	/* Regular files only: a FIFO blocks, /dev/zero never ends. */
	fd = open_regular(full, &st);
	if (fd == -EBADFD) {
		error_at(c, c->file, ref->line, "%s list '%s' is not a regular file",
			 hosts ? "host" : "net", ref->display);
		return;
	}
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		error_at(c, c->file, ref->line, "cannot open %s list '%s': %s",
			 hosts ? "host" : "net", ref->display, strerror(fd < 0 ? -fd : errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	/* Big reads for big feeds; stdio's default 4 KiB costs syscalls. */
	iobuf = malloc(LIST_IOBUF);
	if (iobuf)
		setvbuf(f, iobuf, _IOFBF, LIST_IOBUF);

	while (!c->stop && (n = bounded_line(f, &line, &cap)) >= 0) {
		lineno++;
		if (n > LIST_LINE_MAX) {
			/* Refused, not read: a line that long is no entry. */
			err = -EINVAL;
			snprintf(why, sizeof(why), "line longer than %u bytes", LIST_LINE_MAX);
		} else {
			err = list_line(c, r, line, (size_t)n, ref->display, lineno, hosts, why,
					sizeof(why));
		}
		if (err >= 0)
			continue;
		if (err == -ENOMEM) {
			out_of_memory(c);
			break;
		}
		if (ref->skip) {
			skipped++;
			warn_line(c, ref->display, lineno, "skipped: %s", why);
		} else {
			error_at(c, ref->display, lineno, "%s", why);
		}
	}
	if (n == -ENOMEM)
		out_of_memory(c);
	else if (ferror(f) || n < -1)
		error_at(c, ref->display, lineno + 1, "read error: %s",
			 strerror(n < -1 ? (int)-n : errno));
	if (skipped)
		warn_always(c, ref->display, 0, "skipped %zu invalid line%s", skipped,
			    skipped == 1 ? "" : "s");
	ref->hosts = hosts;
	ref->refused = skipped;
	/* A list with errors refuses the policy already. */
	if (!c->stop && c->errors == errors && (hosts ? r->n_hosts : r->n_nets) == before)
		note_empty(c, ref);
	free(line);
	fclose(f);
	free(iobuf);
}

/* A list item: "path" or {path: x, on_error: fail|skip}. */
static bool list_ref(struct ctx *c, const yaml_node_t *n, const char *key, struct list_ref *ref,
		     char **full)
{
	static const char *const keys[] = {"path", "on_error", NULL};
	unsigned seen[2] = {0};
	const char *path = NULL;
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v;
	char where[64];

	memset(ref, 0, sizeof(*ref));
	ref->line = node_line(n);
	snprintf(where, sizeof(where), "'%s' entry", key);
	if (n->type == YAML_SCALAR_NODE) {
		path = want_string(c, n, where);
	} else if (n->type == YAML_MAPPING_NODE) {
		for (pair = n->data.mapping.pairs.start;
		     pair < n->data.mapping.pairs.top && pair_nodes(c, pair, &k, &v); pair++) {
			switch (map_key(c, k, keys, seen, where)) {
			case 0:
				path = want_string(c, v, "'path'");
				ref->line = node_line(v);
				break;
			case 1: {
				const char *s = want_string(c, v, "'on_error'");

				if (s && strcmp(s, "skip") == 0)
					ref->skip = true;
				else if (s && strcmp(s, "fail") != 0)
					error_at(c, c->file, node_line(v),
						 "'on_error' must be fail or skip, not '%.64s'", s);
				break;
			}
			}
		}
		if (!seen[0]) {
			error_at(c, c->file, node_line(n), "%s has no 'path'", where);
			return false;
		}
	} else {
		error_at(c, c->file, node_line(n), "%s must be a path or a mapping, not %s", where,
			 node_kind(n));
		return false;
	}
	if (!path)
		return false;
	if (!*path) {
		error_at(c, c->file, ref->line, "%s: empty path", where);
		return false;
	}
	*full = join_path(c->base_dir, path);
	ref->display = *full ? intern(c->p, *full) : NULL;
	if (!ref->display) {
		free(*full);
		*full = NULL;
		out_of_memory(c);
		return false;
	}
	return true;
}

/* ---- RPZ zones ---- */

/* The rules a rule with `rpz:` becomes, in this order, one per action its
 * zones give (rpz_action: nxdomain and nodata reject, drop drops,
 * passthru allows, local data sinkholes). */
static const enum tapis_action rpz_rule_actions[] = {
	TAPIS_ACT_REJECT,
	TAPIS_ACT_DROP,
	TAPIS_ACT_ALLOW,
	TAPIS_ACT_SINKHOLE,
};
#define RPZ_RULES (sizeof(rpz_rule_actions) / sizeof(rpz_rule_actions[0]))
/* "/sinkhole", the longest suffix a made rule's name takes. */
#define RPZ_SUFFIX_MAX 9

static size_t rpz_rule_index(enum tapis_action a)
{
	size_t i;

	for (i = 0; i < RPZ_RULES - 1 && rpz_rule_actions[i] != a; i++)
		;
	return i;
}

static bool same_answer(const struct local_data *l, const struct rpz_entry *e)
{
	return l->has_v4 == e->has_v4 && l->has_v6 == e->has_v6 &&
	       (!e->has_v4 || !memcmp(l->v4, e->v4, 4)) &&
	       (!e->has_v6 || !memcmp(l->v6, e->v6, 16));
}

/* Remember a local-data trigger's answer, once per distinct answer of a
 * zone, for check_policy to compare with settings.sinkhole. */
static void note_local_data(struct ctx *c, const char *file, const char *rule,
			    const struct rpz_entry *e)
{
	struct local_data *l;
	size_t i;

	for (i = 0; i < c->n_local; i++) {
		l = &c->local[i];
		if (l->file == file && !strcmp(l->rule, rule) && same_answer(l, e)) {
			l->more++;
			return;
		}
	}
	if (c->n_local == MAX_LOCAL_DATA) {
		c->local_other++;
		return;
	}
	l = &c->local[c->n_local++];
	memset(l, 0, sizeof(*l));
	l->file = file;
	l->line = e->line;
	snprintf(l->name, sizeof(l->name), "%s%s", host_pattern_prefix(e->kind), e->name);
	snprintf(l->rule, sizeof(l->rule), "%s", rule);
	l->has_v4 = e->has_v4;
	l->has_v6 = e->has_v6;
	memcpy(l->v4, e->v4, 4);
	memcpy(l->v6, e->v6, 16);
}

/* Read one zone of the rule `r` into rz[], the rules it becomes (by
 * rpz_rule_index). rpz_read prints the zone's own FILE:LINE messages on
 * the same stream; a refused zone is also reported at the policy line
 * naming it, so the operator sees which rule it feeds. */
static void read_zone(struct ctx *c, const struct rule *r, struct rule *rz, struct list_ref *ref,
		      const char *full, const char *label)
{
	struct rpz_zone z;
	size_t i;
	int err;

	err = rpz_read(full, ref->display, diag_stream(), ref->skip, &z);
	c->p->warnings += z.skipped;
	if (err == -ENOMEM) {
		out_of_memory(c);
	} else if (err) {
		error_at(c, c->file, ref->line, "%s: RPZ zone '%s' refused (messages above)", label,
			 ref->display);
	} else {
		for (i = 0; i < z.n && !c->stop; i++) {
			const struct rpz_entry *e = &z.v[i];

			if (push_host(&rz[rpz_rule_index(rpz_action(e->verdict))], e->kind, e->name,
				      ref->display, e->line)) {
				out_of_memory(c);
				break;
			}
			if (e->verdict == RPZ_LOCAL_DATA)
				note_local_data(c, ref->display, r->name, e);
		}
		if (z.skipped)
			warn_always(c, ref->display, 0, "skipped %u refused record%s", z.skipped,
				    z.skipped == 1 ? "" : "s");
		ref->zone = true;
		ref->refused = z.skipped;
		if (!z.n)
			note_empty(c, ref);
	}
	rpz_free(&z);
}

/* Host entries of the rules a rule's zones became, across those rules. */
struct zone_item {
	const struct host_entry *h;
	uint32_t rule; /* index into rz[] */
	uint32_t idx;  /* into its hosts */
	uint32_t zone; /* the zone's place in the rule's `rpz` list */
};

static int zone_item_cmp(const void *a, const void *b)
{
	const struct zone_item *x = a, *y = b;
	int d = strcmp(x->h->name, y->h->name);

	if (d)
		return d;
	if (x->h->kind != y->h->kind)
		return x->h->kind < y->h->kind ? -1 : 1;
	if (x->zone != y->zone)
		return x->zone < y->zone ? -1 : 1;
	return x->h->loc.line < y->h->loc.line ? -1 : x->h->loc.line > y->h->loc.line;
}

/* A trigger in several zones of one rule is kept once: the zone listed
 * first keeps it, as a resolver's first policy zone does, with a warning
 * when a later one gives another verdict. (One zone holds each trigger
 * once already: rpz_read merges them.) */
static void merge_zones(struct ctx *c, struct rule *rz, const char *const *zones, size_t n_zones,
			const char *label)
{
	struct zone_item *items;
	size_t n = 0, total = 0, i, j, k, o;
	bool *gone;

	if (n_zones < 2)
		return;
	for (i = 0; i < RPZ_RULES; i++)
		total += rz[i].n_hosts;
	items = calloc(total ? total : 1, sizeof(*items));
	gone = calloc(total ? total : 1, sizeof(*gone));
	if (!items || !gone) {
		free(items);
		free(gone);
		out_of_memory(c);
		return;
	}
	for (i = 0; i < RPZ_RULES; i++)
		for (j = 0; j < rz[i].n_hosts; j++) {
			const struct host_entry *h = &rz[i].hosts[j];

			for (k = 0; k < n_zones && zones[k] != h->loc.file; k++)
				;
			items[n++] = (struct zone_item){h, (uint32_t)i, (uint32_t)j, (uint32_t)k};
		}
	qsort(items, n, sizeof(*items), zone_item_cmp);
	/* Runs of one trigger, the first zone's entry first. */
	for (i = 0; i < n; i = j) {
		const struct zone_item *keep = &items[i];

		for (j = i + 1; j < n && !strcmp(items[j].h->name, keep->h->name) &&
				items[j].h->kind == keep->h->kind;
		     j++) {
			const struct zone_item *it = &items[j];

			gone[j] = true;
			if (it->rule != keep->rule)
				warn_line(c, it->h->loc.file, it->h->loc.line,
					  "%s: %s%s is %s here but %s in %s:%u, the zone listed "
					  "first, which keeps it",
					  label, host_pattern_prefix(it->h->kind), it->h->name,
					  action_name(rpz_rule_actions[it->rule]),
					  action_name(rpz_rule_actions[keep->rule]),
					  keep->h->loc.file, keep->h->loc.line);
		}
	}
	/* Drop the losers from their rules, keeping each rule's order. */
	for (i = 0; i < n; i++)
		if (gone[i]) {
			struct host_entry *h = &rz[items[i].rule].hosts[items[i].idx];

			free(h->name);
			h->name = NULL;
		}
	for (i = 0; i < RPZ_RULES; i++) {
		for (j = o = 0; j < rz[i].n_hosts; j++)
			if (rz[i].hosts[j].name)
				rz[i].hosts[o++] = rz[i].hosts[j];
		rz[i].n_hosts = o;
	}
	free(items);
	free(gone);
}

/* ---- settings ---- */

static void parse_ports(struct ctx *c, yaml_node_t *n)
{
	static const char *const keys[] = {"dns", "tls", "http", NULL};
	unsigned seen[TAPIS_PORT_CLASSES] = {0};
	yaml_node_item_t *it, *top;
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v;
	int cls;

	if (!want_map(c, n, "'ports'"))
		return;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top && pair_nodes(c, pair, &k, &v); pair++) {
		uint64_t *bits;

		cls = map_key(c, k, keys, seen, "'ports'");
		if (cls < 0 || !want_list(c, v, keys[cls], &it, &top))
			continue;
		bits = c->p->settings.ports[cls];
		memset(bits, 0, sizeof(c->p->settings.ports[cls]));
		for (; it < top; it++) {
			yaml_node_t *item = node_at(c, *it);
			const char *s = want_string(c, item, "a port");
			uint64_t port;

			if (!s)
				continue;
			if (!parse_uint(s, 1, 65535, &port)) {
				error_at(c, c->file, node_line(item),
					 "invalid port '%.64s' in '%s' (expected 1-65535)", s,
					 keys[cls]);
				continue;
			}
			bits[port / 64] |= 1ULL << (port % 64);
		}
	}
}

static void parse_sinkhole(struct ctx *c, yaml_node_t *n)
{
	static const char *const keys[] = {"ipv4", "ipv6", "ttl", NULL};
	struct policy_settings *st = &c->p->settings;
	unsigned seen[3] = {0};
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v;
	const char *s;
	uint64_t ttl;

	if (!want_map(c, n, "'sinkhole'"))
		return;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top && pair_nodes(c, pair, &k, &v); pair++) {
		switch (map_key(c, k, keys, seen, "'sinkhole'")) {
		case 0:
			s = want_string(c, v, "'ipv4'");
			if (s && inet_pton(AF_INET, s, st->sinkhole_v4) == 1)
				st->has_sinkhole_v4 = true;
			else if (s)
				error_at(c, c->file, node_line(v),
					 "invalid IPv4 address '%.64s' in 'sinkhole'", s);
			break;
		case 1:
			s = want_string(c, v, "'ipv6'");
			if (s && inet_pton(AF_INET6, s, st->sinkhole_v6) == 1)
				st->has_sinkhole_v6 = true;
			else if (s)
				error_at(c, c->file, node_line(v),
					 "invalid IPv6 address '%.64s' in 'sinkhole'", s);
			break;
		case 2:
			/* RFC 2181: TTLs are 31-bit. */
			s = want_string(c, v, "'ttl'");
			if (s && parse_uint(s, 0, 0x7fffffff, &ttl))
				st->sinkhole_ttl = (uint32_t)ttl;
			else if (s)
				error_at(c, c->file, node_line(v),
					 "invalid ttl '%.64s' (expected 0-2147483647 seconds)", s);
			break;
		}
	}
}

/* settings.events.ring: bytes, a power of two. */
static void parse_events_ring(struct ctx *c, yaml_node_t *v)
{
	const char *s = want_string(c, v, "'ring'");
	uint64_t x;

	if (!s)
		return;
	if (parse_uint(s, POLICY_EVENTS_RING_MIN, POLICY_EVENTS_RING_MAX, &x) && !(x & (x - 1)))
		c->p->settings.events_ring = (uint32_t)x;
	else
		error_at(c, c->file, node_line(v),
			 "invalid ring '%.64s' (expected a power of two from %u to %u bytes)", s,
			 POLICY_EVENTS_RING_MIN, POLICY_EVENTS_RING_MAX);
}

/* settings.events: {rate: N, burst: M, ring: BYTES}. */
static void parse_events(struct ctx *c, yaml_node_t *n)
{
	static const char *const keys[] = {"rate", "burst", "ring", NULL};
	unsigned seen[3] = {0};
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v;
	const char *s;
	uint64_t x;

	if (is_null(n) || !want_map(c, n, "'events'"))
		return;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top && pair_nodes(c, pair, &k, &v); pair++) {
		int key = map_key(c, k, keys, seen, "'events'");

		if (key < 0)
			continue;
		if (key == 2) {
			parse_events_ring(c, v);
			continue;
		}
		s = want_string(c, v, key ? "'burst'" : "'rate'");
		if (s && parse_uint(s, key ? 1 : 0, 1000000, &x)) {
			if (key)
				c->p->settings.events_burst = (uint32_t)x;
			else
				c->p->settings.events_rate = (uint32_t)x;
		} else if (s) {
			error_at(c, c->file, node_line(v),
				 "invalid %s '%.64s' (expected %s-1000000 events)",
				 key ? "burst" : "rate", s, key ? "1" : "0");
		}
	}
}

/* settings.capacity: what the tables sized at load must hold later. */
static void parse_capacity(struct ctx *c, yaml_node_t *n)
{
	static const char *const keys[] = {"names", "rules", "edits", "ipv4", NULL};
	static const struct {
		const char *quoted, *what;
		uint32_t max;
	} lim[] = {
		{"'names'", "host names", POLICY_CAPACITY_NAMES_MAX},
		{"'rules'", "rules", POLICY_CAPACITY_RULES_MAX},
		{"'edits'", "live edits", POLICY_CAPACITY_EDITS_MAX},
		{"'ipv4'", "IPv4 prefixes", POLICY_CAPACITY_IPV4_MAX},
	};
	uint32_t *field[] = {&c->p->settings.capacity_names, &c->p->settings.capacity_rules,
			     &c->p->settings.capacity_edits, &c->p->settings.capacity_ipv4};
	unsigned seen[4] = {0};
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v;
	const char *s;
	uint64_t x;
	int key;

	if (is_null(n) || !want_map(c, n, "'capacity'"))
		return;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top && pair_nodes(c, pair, &k, &v); pair++) {
		key = map_key(c, k, keys, seen, "'capacity'");
		if (key < 0)
			continue;
		s = want_string(c, v, lim[key].quoted);
		if (s && parse_uint(s, 1, lim[key].max, &x))
			*field[key] = (uint32_t)x;
		else if (s)
			error_at(c, c->file, node_line(v),
				 "invalid capacity %s '%.64s' (expected 1-%u %s)", keys[key], s,
				 lim[key].max, lim[key].what);
	}
}

static void parse_settings(struct ctx *c, yaml_node_t *n)
{
	static const char *const keys[] = {"ports",  "sinkhole", "quic", "flows",
					   "events", "capacity", NULL};
	unsigned seen[6] = {0};
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v;
	const char *s;
	uint64_t flows;

	if (is_null(n) || !want_map(c, n, "'settings'"))
		return;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top && pair_nodes(c, pair, &k, &v); pair++) {
		switch (map_key(c, k, keys, seen, "'settings'")) {
		case 0:
			parse_ports(c, v);
			break;
		case 1:
			parse_sinkhole(c, v);
			break;
		case 2:
			s = want_string(c, v, "'quic'");
			if (s && strcmp(s, "drop") == 0)
				c->p->settings.quic_drop = true;
			else if (s && strcmp(s, "pass") == 0)
				c->p->settings.quic_drop = false;
			else if (s)
				error_at(c, c->file, node_line(v),
					 "'quic' must be pass or drop, not '%.64s'", s);
			break;
		case 3:
			s = want_string(c, v, "'flows'");
			if (s && parse_uint(s, POLICY_FLOWS_MIN, POLICY_FLOWS_MAX, &flows))
				c->p->settings.flows = (uint32_t)flows;
			else if (s)
				error_at(c, c->file, node_line(v),
					 "invalid flows '%.64s' (expected %u-%u entries)", s,
					 POLICY_FLOWS_MIN, POLICY_FLOWS_MAX);
			break;
		case 4:
			parse_events(c, v);
			break;
		case 5:
			parse_capacity(c, v);
			break;
		}
	}
}

/* ---- rules ---- */

enum rule_key {
	RK_NAME,
	RK_ACTION,
	RK_REFERENCE,
	RK_EXPIRES,
	RK_HOSTS,
	RK_HOST_LISTS,
	RK_NETS,
	RK_NET_LISTS,
	RK_DIRECTION,
	RK_REDIRECT,
	RK_MAY_BE_EMPTY,
	RK_RPZ,
	RK_COUNT,
};

static const char *const rule_keys[RK_COUNT + 1] = {
	[RK_NAME] = "name",
	[RK_ACTION] = "action",
	[RK_REFERENCE] = "reference",
	[RK_EXPIRES] = "expires",
	[RK_HOSTS] = "hosts",
	[RK_HOST_LISTS] = "host_lists",
	[RK_NETS] = "nets",
	[RK_NET_LISTS] = "net_lists",
	[RK_DIRECTION] = "direction",
	[RK_REDIRECT] = "redirect",
	[RK_MAY_BE_EMPTY] = "may_be_empty",
	[RK_RPZ] = "rpz",
	[RK_COUNT] = NULL,
};

static void parse_redirect(struct ctx *c, yaml_node_t *n, struct rule *r)
{
	static const char *const keys[] = {"iface", "mac", NULL};
	unsigned seen[2] = {0};
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v;
	const char *s;

	if (!want_map(c, n, "'redirect'"))
		return;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top && pair_nodes(c, pair, &k, &v); pair++) {
		switch (map_key(c, k, keys, seen, "'redirect'")) {
		case 0:
			s = want_string(c, v, "'iface'");
			r->redirect_loc.file = c->file;
			r->redirect_loc.line = node_line(v);
			if (s && iface_ok(s))
				strcpy(r->redirect_iface, s);
			else if (s)
				error_at(c, c->file, node_line(v), "invalid interface name '%.64s'",
					 s);
			break;
		case 1:
			s = want_string(c, v, "'mac'");
			if (s && !parse_mac(s, r->redirect_mac))
				error_at(c, c->file, node_line(v),
					 "invalid MAC address '%.64s' (expected "
					 "aa:bb:cc:dd:ee:ff)",
					 s);
			break;
		}
	}
	if (!c->stop && !seen[0])
		error_at(c, c->file, node_line(n), "'redirect' needs 'iface'");
	if (!c->stop && !seen[1])
		error_at(c, c->file, node_line(n), "'redirect' needs 'mac'");
	r->has_redirect = true;
}

static void free_rule(struct rule *r)
{
	size_t i;

	for (i = 0; i < r->n_hosts; i++)
		free(r->hosts[i].name);
	free(r->hosts);
	free(r->nets);
	memset(r, 0, sizeof(*r));
}

/* Read the entries of hosts/nets/host_lists/net_lists into r. Returns how
 * many sources were named, so an empty list file still counts. An explicit
 * empty list (`nets: []`, not a bare `nets:`) declares a rule that is
 * filled at run time: *declared_empty. */
static size_t parse_entries(struct ctx *c, enum rule_key key, yaml_node_t *v, struct rule *r,
			    bool *declared_empty)
{
	yaml_node_item_t *it, *top;
	size_t named = 0;
	char why[512];

	if (!want_list(c, v, rule_keys[key], &it, &top))
		return 1; /* reported; "matches nothing" would only add noise */
	if (v->type == YAML_SEQUENCE_NODE && it == top)
		*declared_empty = true;
	for (; it < top && !c->stop; it++) {
		yaml_node_t *item = node_at(c, *it);
		struct list_ref ref;
		char *full = NULL;
		const char *s;
		int err;

		named++;
		if (key == RK_HOST_LISTS || key == RK_NET_LISTS) {
			if (list_ref(c, item, rule_keys[key], &ref, &full))
				read_list(c, r, &ref, full, key == RK_HOST_LISTS);
			free(full);
			continue;
		}
		s = want_string(c, item, key == RK_HOSTS ? "a host" : "a CIDR");
		if (!s)
			continue;
		if (key == RK_HOSTS)
			err = add_host(r, s, c->file, node_line(item), false, why, sizeof(why));
		else
			err = add_net(c, r, s, c->file, node_line(item), why, sizeof(why));
		if (err == -ENOMEM)
			out_of_memory(c);
		else if (err)
			error_at(c, c->file, node_line(item), "%s", why);
	}
	return named;
}

static void rule_label(const struct rule *r, char *buf, size_t n)
{
	if (r->name[0])
		snprintf(buf, n, "rule '%s'", r->name);
	else
		snprintf(buf, n, "rule at line %u", r->loc.line);
}

/* The zones of a rule's `rpz` list into rz[] (rpz_rule_actions order).
 * Returns how many zones were named, as parse_entries does. */
static size_t read_zones(struct ctx *c, yaml_node_t *v, const struct rule *r, struct rule *rz,
			 const char *label)
{
	yaml_node_item_t *it, *top;
	const char **zones;
	size_t n = 0, named;

	if (!want_list(c, v, "rpz", &it, &top))
		return 1; /* reported */
	if (it == top) {
		error_at(c, c->file, node_line(v), "%s: 'rpz' names no zone", label);
		return 1;
	}
	named = (size_t)(top - it);
	zones = calloc(named, sizeof(*zones));
	if (!zones) {
		out_of_memory(c);
		return 1;
	}
	for (; it < top && !c->stop; it++) {
		struct list_ref ref;
		char *full = NULL;

		if (list_ref(c, node_at(c, *it), "rpz", &ref, &full)) {
			read_zone(c, r, rz, &ref, full, label);
			zones[n++] = ref.display;
		}
		free(full);
	}
	if (!c->stop)
		merge_zones(c, rz, zones, n, label);
	free(zones);
	return named;
}

/* What a rule with `rpz` may not say: its zones give the actions, and
 * its rules match names only. */
static void check_rpz_rule(struct ctx *c, const struct rule *r, const unsigned *seen,
			   const char *label)
{
	static const enum rule_key others[] = {RK_HOSTS,     RK_HOST_LISTS, RK_NETS,
					       RK_NET_LISTS, RK_DIRECTION,  RK_REDIRECT};

	if (seen[RK_ACTION])
		error_at(c, c->file, seen[RK_ACTION],
			 "%s: 'action' does not go with 'rpz': each zone record gives its own "
			 "(the rule becomes %s/reject, %s/drop, %s/allow and %s/sinkhole, as "
			 "its zones need)",
			 label, r->name, r->name, r->name, r->name);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (seen[others[i]])
			error_at(c, c->file, seen[others[i]],
				 "%s: '%s' does not go with 'rpz' (give them a rule of their own)",
				 label, rule_keys[others[i]]);
	if (strlen(r->name) > TAPIS_NAME_MAX - 1 - RPZ_SUFFIX_MAX)
		error_at(c, c->file, r->loc.line,
			 "%s: a rule with 'rpz' has at most %d characters in its name (its rules "
			 "are named %s/sinkhole and so on)",
			 label, TAPIS_NAME_MAX - 1 - RPZ_SUFFIX_MAX, r->name);
}

static const struct rpz_base *rpz_base_find(const struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->n_rpz_bases; i++)
		if (!strcmp(c->rpz_bases[i].name, name))
			return &c->rpz_bases[i];
	return NULL;
}

/* Append a rule to the policy; false when out of memory (r is freed). */
static bool add_rule(struct ctx *c, struct rule *r)
{
	if (grow((void **)&c->p->rules, &c->p->cap_rules, c->p->n_rules, sizeof(*c->p->rules))) {
		out_of_memory(c);
		free_rule(r);
		return false;
	}
	c->p->rules[c->p->n_rules++] = *r;
	if (r->name[0] && name_add(c, c->p->n_rules - 1)) {
		out_of_memory(c);
		return false;
	}
	return true;
}

/* The rules of a rule with `rpz`, one per action its zones gave, each
 * with the rule's reference, expiry and line. rz[] is consumed. */
static void add_rpz_rules(struct ctx *c, const struct rule *r, struct rule *rz, unsigned line)
{
	struct rpz_base *b;
	size_t i;

	if (!grow((void **)&c->rpz_bases, &c->cap_rpz_bases, c->n_rpz_bases,
		  sizeof(*c->rpz_bases))) {
		b = &c->rpz_bases[c->n_rpz_bases++];
		snprintf(b->name, sizeof(b->name), "%s", r->name);
		b->line = line;
	} else {
		out_of_memory(c);
	}
	for (i = 0; i < RPZ_RULES; i++) {
		struct rule *g = &rz[i];

		if (!g->n_hosts || c->stop) {
			free_rule(g);
			continue;
		}
		g->action = rpz_rule_actions[i];
		snprintf(g->name, sizeof(g->name), "%.*s/%s", TAPIS_NAME_MAX - 1 - RPZ_SUFFIX_MAX,
			 r->name, action_name(g->action));
		snprintf(g->rpz_of, sizeof(g->rpz_of), "%s", r->name);
		memcpy(g->reference, r->reference, sizeof(g->reference));
		g->expires_unix = r->expires_unix;
		g->dirs = TAPIS_DIRS_DST;
		g->may_be_empty = r->may_be_empty;
		g->loc = r->loc;
		if (!add_rule(c, g))
			break;
	}
	for (i++; i < RPZ_RULES; i++)
		free_rule(&rz[i]);
}

static void parse_rule(struct ctx *c, yaml_node_t *n)
{
	unsigned seen[RK_COUNT] = {0}, name_line = 0, expires_line = 0;
	const char *s, *expires_str = NULL;
	char label[TAPIS_NAME_MAX + 32];
	const struct rule *first;
	const struct rpz_base *base;
	yaml_node_t *k, *v, *redirect = NULL, *rpz = NULL;
	yaml_node_pair_t *pair;
	struct rule r, rz[RPZ_RULES];
	size_t sources = 0;
	bool declared_empty = false, may_be_empty = false;
	int key;

	memset(&r, 0, sizeof(r));
	memset(rz, 0, sizeof(rz));
	c->n_empty = 0;
	r.dirs = TAPIS_DIRS_DST;
	r.loc.file = c->file;
	r.loc.line = node_line(n);
	if (!want_map(c, n, "each rule"))
		return;

	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top && pair_nodes(c, pair, &k, &v); pair++) {
		key = map_key(c, k, rule_keys, seen, "a rule");
		switch (key) {
		case RK_NAME:
			s = want_string(c, v, "'name'");
			if (s && rule_name_ok(s)) {
				strcpy(r.name, s);
				name_line = node_line(v);
			} else if (s) {
				error_at(c, c->file, node_line(v),
					 "invalid rule name '%.64s' (1-63 characters of "
					 "A-Z a-z 0-9 . _ -)",
					 s);
			}
			break;
		case RK_ACTION:
			s = want_string(c, v, "'action'");
			if (s && parse_action(s, &r.action))
				error_at(c, c->file, node_line(v),
					 "unknown action '%.64s' (expected drop, reject, "
					 "sinkhole, redirect, monitor or allow)",
					 s);
			break;
		case RK_REFERENCE:
			s = want_string(c, v, "'reference'");
			if (s && strlen(s) >= TAPIS_REF_MAX)
				error_at(c, c->file, node_line(v),
					 "reference longer than %d characters", TAPIS_REF_MAX - 1);
			else if (s)
				strcpy(r.reference, s);
			break;
		case RK_EXPIRES:
			s = want_string(c, v, "'expires'");
			if (s && !time_parse_rfc3339(s, &r.expires_unix))
				error_at(c, c->file, node_line(v),
					 "invalid expires '%.64s' (expected an RFC 3339 time "
					 "like 2026-12-31T00:00:00Z)",
					 s);
			expires_str = s;
			expires_line = node_line(v);
			break;
		case RK_HOSTS:
		case RK_HOST_LISTS:
		case RK_NETS:
		case RK_NET_LISTS:
			sources += parse_entries(c, (enum rule_key)key, v, &r, &declared_empty);
			break;
		case RK_MAY_BE_EMPTY:
			s = want_string(c, v, "'may_be_empty'");
			if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0))
				may_be_empty = strcmp(s, "true") == 0;
			else if (s)
				error_at(c, c->file, node_line(v),
					 "'may_be_empty' must be true or false, not '%.64s'", s);
			break;
		case RK_DIRECTION:
			s = want_string(c, v, "'direction'");
			if (s && strcmp(s, "dst") == 0)
				r.dirs = TAPIS_DIRS_DST;
			else if (s && strcmp(s, "src") == 0)
				r.dirs = TAPIS_DIRS_SRC;
			else if (s && strcmp(s, "both") == 0)
				r.dirs = TAPIS_DIRS_BOTH;
			else if (s)
				error_at(c, c->file, node_line(v),
					 "invalid direction '%.64s' (expected dst, src or both)",
					 s);
			break;
		case RK_REDIRECT:
			redirect = v;
			parse_redirect(c, v, &r);
			break;
		case RK_RPZ:
			/* Read once the name is known, wherever it stands. */
			rpz = v;
			break;
		}
	}
	if (c->stop)
		goto drop;

	rule_label(&r, label, sizeof(label));
	if (!seen[RK_NAME])
		error_at(c, c->file, r.loc.line, "%s has no 'name'", label);
	if (rpz) {
		check_rpz_rule(c, &r, seen, label);
		sources += read_zones(c, rpz, &r, rz, label);
		if (c->stop)
			goto drop;
	} else if (!seen[RK_ACTION]) {
		error_at(c, c->file, r.loc.line, "%s has no 'action'", label);
	}
	if (seen[RK_ACTION] && r.action == TAPIS_ACT_REDIRECT && !seen[RK_REDIRECT])
		error_at(c, c->file, r.loc.line, "%s has action redirect but no 'redirect' block",
			 label);
	if (redirect && r.action != TAPIS_ACT_REDIRECT && r.action != TAPIS_ACT_NONE)
		error_at(c, c->file, seen[RK_REDIRECT],
			 "%s: 'redirect' is only allowed with action redirect", label);
	/* An explicit empty list says the rule is filled at run time, unless
	 * may_be_empty says otherwise. */
	r.may_be_empty = seen[RK_MAY_BE_EMPTY] ? may_be_empty : declared_empty;
	if (!sources && !r.may_be_empty)
		error_at(c, c->file, r.loc.line,
			 "%s matches nothing (give hosts, host_lists, nets, net_lists or rpz; for "
			 "a rule filled at run time, an empty list: nets: [])",
			 label);
	for (size_t i = 0; i < c->n_empty && !r.may_be_empty; i++) {
		const struct list_ref *e = &c->empty[i];
		const char *what = e->zone ? "RPZ zone" : e->hosts ? "host list" : "net list";

		if (e->refused)
			error_at(c, c->file, e->line,
				 "%s: %s '%s' yields no entries (%zu %s refused, on_error: "
				 "skip); say may_be_empty: true if the rule may be empty",
				 label, what, e->display, e->refused,
				 e->zone ? "records" : "lines");
		else
			error_at(c, c->file, e->line,
				 "%s: %s '%s' yields no entries; say may_be_empty: true if "
				 "the rule may be empty",
				 label, what, e->display);
	}
	if (r.expires_unix && r.expires_unix <= (int64_t)time(NULL))
		warn_always(c, c->file, expires_line, "%s expired at %s; it will not match", label,
			    expires_str);

	if (name_line) {
		first = name_find(c, r.name);
		base = rpz_base_find(c, r.name);
		if (first) {
			error_at(c, c->file, name_line, "duplicate rule name '%s' (first at %s:%u)",
				 r.name, first->loc.file, first->loc.line);
			r.name[0] = '\0'; /* keep the index pointing at the first */
		} else if (base) {
			error_at(c, c->file, name_line,
				 "duplicate rule name '%s' (first at %s:%u, a rule with rpz)",
				 r.name, c->file, base->line);
			r.name[0] = '\0';
		}
	}
	if (rpz) {
		/* The rule is its zones' rules; it holds nothing itself. */
		if (r.name[0])
			add_rpz_rules(c, &r, rz, r.loc.line);
		else
			for (size_t i = 0; i < RPZ_RULES; i++)
				free_rule(&rz[i]);
		free_rule(&r);
		return;
	}
	add_rule(c, &r);
	return;
drop:
	for (size_t i = 0; i < RPZ_RULES; i++)
		free_rule(&rz[i]);
	free_rule(&r);
}

/* What the zone answers for a local-data trigger, or what tapis answers
 * (the sinkhole settings), in words. */
static void answer_words(bool has_v4, const uint8_t *v4, bool has_v6, const uint8_t *v6, bool tapis,
			 char *buf, size_t n)
{
	char a4[INET_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";

	if (has_v4)
		inet_ntop(AF_INET, v4, a4, sizeof(a4));
	if (has_v6)
		inet_ntop(AF_INET6, v6, a6, sizeof(a6));
	snprintf(buf, n, "%s%s%s, %s%s%s", has_v4 ? "A " : "", a4,
		 has_v4 ? "" : (tapis ? "NODATA to A" : "no A"), has_v6 ? "AAAA " : "", a6,
		 has_v6 ? "" : (tapis ? "NODATA to AAAA" : "no AAAA"));
}

/* tapis answers a sinkhole rule's queries with settings.sinkhole, not
 * with the addresses of a zone's local data (those are per trigger; the
 * data path has one block page): say where the two differ. */
static void check_local_data(struct ctx *c)
{
	const struct policy_settings *st = &c->p->settings;
	char zone[96], ours[96];

	if (!st->has_sinkhole_v4 && !st->has_sinkhole_v6)
		return; /* the sinkhole rules are refused */
	answer_words(st->has_sinkhole_v4, st->sinkhole_v4, st->has_sinkhole_v6, st->sinkhole_v6,
		     true, ours, sizeof(ours));
	for (size_t i = 0; i < c->n_local; i++) {
		const struct local_data *l = &c->local[i];

		if (l->has_v4 == st->has_sinkhole_v4 && l->has_v6 == st->has_sinkhole_v6 &&
		    (!l->has_v4 || !memcmp(l->v4, st->sinkhole_v4, 4)) &&
		    (!l->has_v6 || !memcmp(l->v6, st->sinkhole_v6, 16)))
			continue;
		answer_words(l->has_v4, l->v4, l->has_v6, l->v6, false, zone, sizeof(zone));
		if (l->more)
			warn_always(c, l->file, l->line,
				    "rule '%s/sinkhole': local data of %s (%s) is answered with "
				    "settings.sinkhole (%s), as are %zu more triggers of the zone "
				    "with the same data",
				    l->rule, l->name, zone, ours, l->more);
		else
			warn_always(c, l->file, l->line,
				    "rule '%s/sinkhole': local data of %s (%s) is answered with "
				    "settings.sinkhole (%s)",
				    l->rule, l->name, zone, ours);
	}
	if (c->local_other)
		warn_always(c, c->file, 0,
			    "%zu more local-data triggers of RPZ zones give other answers; all "
			    "are answered with settings.sinkhole (%s)",
			    c->local_other, ours);
}

/* Checks that need the whole file, whatever order its keys came in. */
static void check_policy(struct ctx *c)
{
	const struct policy_settings *st = &c->p->settings;
	size_t i;

	char label[TAPIS_NAME_MAX + 32];

	for (i = 0; i < c->p->n_rules && !c->stop; i++) {
		const struct rule *r = &c->p->rules[i];

		if (r->action != TAPIS_ACT_SINKHOLE || st->has_sinkhole_v4 || st->has_sinkhole_v6)
			continue;
		rule_label(r, label, sizeof(label));
		if (r->rpz_of[0] && r->n_hosts)
			error_at(c, r->loc.file, r->loc.line,
				 "%s (local data, as in %s:%u) has action sinkhole but "
				 "settings.sinkhole gives no ipv4 or ipv6 address",
				 label, r->hosts[0].loc.file, r->hosts[0].loc.line);
		else
			error_at(c, r->loc.file, r->loc.line,
				 "%s has action sinkhole but "
				 "settings.sinkhole gives no ipv4 or ipv6 address",
				 label);
	}
	if (!c->stop)
		check_local_data(c);
}

static void parse_root(struct ctx *c, yaml_node_t *root)
{
	static const char *const keys[] = {"version", "settings", "rules", NULL};
	unsigned seen[3] = {0};
	yaml_node_item_t *it, *top;
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v;
	uint64_t version;
	const char *s;

	if (root->type != YAML_MAPPING_NODE) {
		error_at(c, c->file, node_line(root),
			 "a policy must be a mapping with 'version' and 'rules', not %s",
			 node_kind(root));
		return;
	}
	for (pair = root->data.mapping.pairs.start;
	     pair < root->data.mapping.pairs.top && pair_nodes(c, pair, &k, &v); pair++) {
		switch (map_key(c, k, keys, seen, "the policy")) {
		case 0:
			s = want_string(c, v, "'version'");
			if (s && parse_uint(s, 0, UINT32_MAX, &version) && version == 1)
				c->p->version = 1;
			else if (s)
				error_at(c, c->file, node_line(v),
					 "unsupported version '%.64s' (expected 1)", s);
			break;
		case 1:
			parse_settings(c, v);
			break;
		case 2:
			if (!want_list(c, v, "rules", &it, &top))
				break;
			for (; it < top && !c->stop; it++)
				parse_rule(c, node_at(c, *it));
			break;
		}
	}
	if (!seen[0])
		error_at(c, c->file, node_line(root), "missing 'version' (use version: 1)");
	if (!seen[2])
		error_at(c, c->file, node_line(root), "missing 'rules'");
	check_policy(c);
}

static unsigned offset_line(const char *buf, size_t len, size_t off)
{
	unsigned line = 1;
	size_t i;

	for (i = 0; i < off && i < len; i++)
		line += buf[i] == '\n';
	return line;
}

static void yaml_error(struct ctx *c, const yaml_parser_t *y, const char *buf, size_t len)
{
	unsigned line = (unsigned)y->problem_mark.line + 1;
	const char *hint = "";

	if (y->error == YAML_MEMORY_ERROR) {
		out_of_memory(c);
		return;
	}
	if (y->error == YAML_READER_ERROR)
		line = offset_line(buf, len, y->problem_offset);
	if ((y->problem && strstr(y->problem, "alias")) ||
	    (y->context && strstr(y->context, "alias")))
		hint = " (quote patterns that start with '*')";
	if (y->context)
		error_at(c, c->file, line, "invalid YAML: %s %s at line %u%s", y->problem,
			 y->context, (unsigned)y->context_mark.line + 1, hint);
	else
		error_at(c, c->file, line, "invalid YAML: %s%s",
			 y->problem ? y->problem : "syntax error", hint);
}

static void set_defaults(struct policy_settings *st)
{
	static const struct {
		int cls;
		unsigned port;
	} defaults[] = {
		{TAPIS_PORT_DNS, 53},
		{TAPIS_PORT_TLS, 443},
		{TAPIS_PORT_HTTP, 80},
		{TAPIS_PORT_HTTP, 8080},
	};
	size_t i;

	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		st->ports[defaults[i].cls][defaults[i].port / 64] |= 1ULL
								     << (defaults[i].port % 64);
	st->sinkhole_ttl = 300;
	st->flows = TAPIS_FLOWS_DEFAULT;
	st->events_rate = 1000;
	st->events_burst = 100;
	st->events_ring = TAPIS_EVENTS_RING;
	st->capacity_edits = TAPIS_EDITS_DEFAULT;
}

void policy_free(struct policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_rules; i++)
		free_rule(&p->rules[i]);
	free(p->rules);
	for (i = 0; i < p->n_strings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p->path);
	memset(p, 0, sizeof(*p));
}

/* Anchors a policy may define, and how many nodes its aliases may stand
 * for in all: `hosts: *common` in a few rules is sharing; a list of 2,000
 * names named by 2,000 rules is 4,000,000 entries from 114 KB of YAML
 * (7 s and 512 MB to check; more aliases, any memory), the YAML form of
 * the "billion laughs" entity expansion. */
#define POLICY_ANCHORS_MAX     1024u
#define POLICY_ALIAS_NODES_MAX 1000000u

/* What the pre-pass knows of an anchor: the nodes it stands for, its own
 * and those its aliases stand for. Open addressing on the name. */
struct anchor {
	char *name;
	uint64_t nodes;
};

struct yaml_bounds {
	struct anchor slots[2 * POLICY_ANCHORS_MAX];
	unsigned n_anchors;
	/* Nodes so far, an alias counting as the nodes it stands for; at the
	 * start of each open collection, and its anchor (NULL for none). */
	uint64_t nodes;
	uint64_t open_at[POLICY_DEPTH_MAX + 1];
	struct anchor *open_anchor[POLICY_DEPTH_MAX + 1];
	uint64_t alias_nodes;
};

static struct anchor *anchor_slot(struct yaml_bounds *b, const char *name)
{
	size_t i = str_hash(name) % (2 * POLICY_ANCHORS_MAX);

	while (b->slots[i].name && strcmp(b->slots[i].name, name))
		i = (i + 1) % (2 * POLICY_ANCHORS_MAX);
	return &b->slots[i];
}

/* An anchor defined (again: YAML lets a later one replace it), standing
 * for `nodes`; *out its slot. 0; -E2BIG past POLICY_ANCHORS_MAX; -ENOMEM. */
static int anchor_set(struct yaml_bounds *b, const char *name, uint64_t nodes, struct anchor **out)
{
	struct anchor *a = anchor_slot(b, name);

	if (!a->name) {
		if (b->n_anchors == POLICY_ANCHORS_MAX)
			return -E2BIG;
		a->name = strdup(name);
		if (!a->name)
			return -ENOMEM;
		b->n_anchors++;
	}
	a->nodes = nodes;
	if (out)
		*out = a;
	return 0;
}

static void bounds_free(struct yaml_bounds *b)
{
	size_t i;

	for (i = 0; i < 2 * POLICY_ANCHORS_MAX; i++)
		free(b->slots[i].name);
	free(b);
}

/* A policy is a few levels deep; libyaml builds a document of any depth,
 * in time that grows faster than the nesting (100,000 levels took 26 s).
 * Its aliases, expanded by the parser's walk, must stand for a bounded
 * number of nodes (POLICY_ALIAS_NODES_MAX). One pass over the events,
 * stopped at the first level or alias too many, refuses it with its
 * line. True when refused (or the pass failed: the load that follows
 * reports a syntax error itself). */
static bool too_big(struct ctx *c, const char *buf, size_t len)
{
	struct yaml_bounds *b = calloc(1, sizeof(*b));
	const char *anchor;
	yaml_parser_t y;
	yaml_event_t ev;
	unsigned depth = 0, line;
	bool refused = false, done = false;
	struct anchor *a;
	int err = 0;

	if (!b) {
		out_of_memory(c);
		return true;
	}
	if (!yaml_parser_initialize(&y)) {
		bounds_free(b);
		return false;
	}
	yaml_parser_set_input_string(&y, (const unsigned char *)buf, len);
	while (!done && !err && yaml_parser_parse(&y, &ev)) {
		line = (unsigned)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (++depth > POLICY_DEPTH_MAX) {
				error_at(c, c->file, line,
					 "nested more than %u levels deep: not a policy",
					 POLICY_DEPTH_MAX);
				refused = done = true;
				break;
			}
			anchor = (const char *)(ev.type == YAML_MAPPING_START_EVENT
							? ev.data.mapping_start.anchor
							: ev.data.sequence_start.anchor);
			/* Its size is known when its node ends; an alias
			 * before that (inside it) counts it as one node. */
			b->open_at[depth] = b->nodes++;
			b->open_anchor[depth] = NULL;
			if (anchor)
				err = anchor_set(b, anchor, 1, &b->open_anchor[depth]);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			if (depth > 0 && b->open_anchor[depth])
				b->open_anchor[depth]->nodes = b->nodes - b->open_at[depth];
			if (depth > 0)
				depth--;
			break;
		case YAML_SCALAR_EVENT:
			b->nodes++;
			if (ev.data.scalar.anchor)
				err = anchor_set(b, (const char *)ev.data.scalar.anchor, 1, NULL);
			break;
		case YAML_ALIAS_EVENT:
			a = anchor_slot(b, (const char *)ev.data.alias.anchor);
			if (!a->name)
				break; /* undefined: the load says so */
			b->nodes += a->nodes;
			b->alias_nodes += a->nodes;
			if (b->alias_nodes > POLICY_ALIAS_NODES_MAX) {
				error_at(c, c->file, line,
					 "YAML aliases stand for more than %u nodes: not a policy "
					 "(list files hold big lists)",
					 POLICY_ALIAS_NODES_MAX);
				refused = done = true;
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		if (err == -E2BIG) {
			error_at(c, c->file, line, "more than %u YAML anchors: not a policy",
				 POLICY_ANCHORS_MAX);
			refused = true;
		} else if (err) {
			out_of_memory(c);
			refused = true;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&y);
	bounds_free(b);
	return refused;
}

int policy_parse_buffer(const char *name, const char *base_dir, const char *buf, size_t len,
			struct policy *out)
{
	yaml_document_t doc, extra;
	struct ctx c = {0};
	yaml_parser_t y;
	yaml_node_t *root;

	memset(out, 0, sizeof(*out));
	set_defaults(&out->settings);
	c.p = out;
	c.base_dir = base_dir;
	c.file = name;
	out->path = strdup(name);
	c.file = out->path ? intern(out, name) : NULL;
	if (!c.file) {
		c.file = name;
		out_of_memory(&c);
		goto done;
	}

	if (too_big(&c, buf, len))
		goto done;
	if (!yaml_parser_initialize(&y)) {
		out_of_memory(&c);
		goto done;
	}
	yaml_parser_set_input_string(&y, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&y, &doc)) {
		yaml_error(&c, &y, buf, len);
		yaml_parser_delete(&y);
		goto done;
	}
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root || is_null(root))
		error_at(&c, c.file, root ? node_line(root) : 1, "policy is empty");
	else
		parse_root(&c, root);
	yaml_document_delete(&doc);

	if (!c.stop) {
		if (!yaml_parser_load(&y, &extra)) {
			yaml_error(&c, &y, buf, len);
		} else {
			root = yaml_document_get_root_node(&extra);
			if (root)
				error_at(&c, c.file, node_line(root),
					 "a policy file holds one YAML document");
			yaml_document_delete(&extra);
		}
	}
	yaml_parser_delete(&y);

done:
	if (c.hidden_warnings)
		fprintf(diag_stream(), "%s: warning: %u more warnings not shown\n", c.file,
			c.hidden_warnings);
	free(c.names);
	free(c.empty);
	free(c.rpz_bases);
	if (c.errors || c.fatal) {
		policy_free(out);
		return c.fatal ? c.fatal : -EINVAL;
	}
	return 0;
}

static int read_all(const char *path, char **buf, size_t *len)
{
	size_t cap = 0, n = 0;
	char *b = NULL, *nb;
	ssize_t r;
	int fd, err = 0;

	struct stat st;

	/* A FIFO would block the open itself and hold the reload lock for
	 * ever, a device never end: regular files only, of a bounded size. */
	fd = open_regular(path, &st);
	if (fd < 0)
		return fd; /* -EBADFD: "not a regular file", said by the caller */
	if (st.st_size > POLICY_FILE_MAX) {
		close(fd);
		return -EFBIG;
	}
	for (;;) {
		if (n > POLICY_FILE_MAX) {
			err = -EFBIG; /* it grew while read */
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			nb = realloc(b, cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	*buf = b;
	*len = n;
	return 0;
}

int policy_parse_file(const char *path, struct policy *out)
{
	char *buf = NULL, *dir_copy, *dir;
	size_t len = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = read_all(path, &buf, &len);
	if (err) {
		if (err == -EBADFD)
			fprintf(diag_stream(), "%s: error: not a regular file\n", path);
		else if (err == -EFBIG)
			fprintf(diag_stream(), "%s: error: larger than %u MiB: not a policy\n",
				path, POLICY_FILE_MAX >> 20);
		else
			fprintf(diag_stream(), "%s: error: cannot read policy: %s\n", path,
				strerror(-err));
		return err == -EBADFD || err == -EFBIG ? -EINVAL : err;
	}
	dir_copy = strdup(path);
	if (!dir_copy) {
		free(buf);
		fprintf(diag_stream(), "%s: error: out of memory\n", path);
		return -ENOMEM;
	}
	dir = dirname(dir_copy);
	err = policy_parse_buffer(path, dir, buf, len, out);
	free(dir_copy);
	free(buf);
	return err;
}
