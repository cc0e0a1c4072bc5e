// SPDX-License-Identifier: GPL-2.0
/* The test policy and its matcher (oracle.h), from DESIGN.md's words:
 * `example.com` matches the name and every name under it; `=example.com`
 * that name only; `*.example.com` names under it, not the name itself; the
 * most specific pattern wins; a rule past its `expires` does not match, so
 * a less specific pattern applies. Nets: the longest prefix per direction;
 * an allow on the name or an address wins, otherwise the host rule beats
 * net rules, and between directions the longer prefix wins (destination
 * on a tie). Names compare in ASCII lowercase. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"

#define MAX_HOSTS 16
#define MAX_NETS  4

struct orule {
	const char *name;
	const char *action;
	const char *direction; /* NULL: dst */
	bool expired;	       /* expires in the past */
	bool redirect;
	const char *hosts[MAX_HOSTS];
	const char *nets[MAX_NETS];
};

/* Every action and stage; names the builder and the corpus carry (the
 * corpus's top-level domains under reject, so that real queries are
 * answered and real hellos reset); nets in both directions and families,
 * one shorter than /32 for IPv6; a redirect; expired rules. */
static const struct orule RULES_A[] = {
	{"allow-api", "allow", NULL, false, false, {"=api.block.example"}, {NULL}},
	{"drop-host",
	 "drop",
	 NULL,
	 false,
	 false,
	 {"block.example", "*.wild.example", "=exact.example", "xn--bcher-kva.example"},
	 {NULL}},
	{"reject-host",
	 "reject",
	 NULL,
	 false,
	 false,
	 {"reject.example", "com", "org", "net", "io", "de", "ru", "cn", "jp", "uk", "info", "tv",
	  "me", "co", "arpa"},
	 {NULL}},
	{"sink-host", "sinkhole", NULL, false, false, {"sink.example", "=localhost"}, {NULL}},
	{"watch-host",
	 "monitor",
	 NULL,
	 false,
	 false,
	 {"watch.example", "fr", "it", "test"},
	 {NULL}},
	{"old-host", "drop", NULL, true, false, {"old.example"}, {NULL}},
	{"net-drop", "drop", NULL, false, false, {NULL}, {"198.18.9.0/24", "2001:db8:9::/48"}},
	{"net-allow", "allow", NULL, false, false, {NULL}, {"198.18.9.128/25"}},
	{"net-src-reject",
	 "reject",
	 "src",
	 false,
	 false,
	 {NULL},
	 {"198.18.66.0/24", "2001:db8:66::/48"}},
	{"net-redirect",
	 "redirect",
	 NULL,
	 false,
	 true,
	 {NULL},
	 {"198.18.77.0/24", "2001:db8:77::/48"}},
	{"net-both", "monitor", "both", false, false, {NULL}, {"198.19.0.0/16", "2001:db0::/28"}},
	{"net-old", "drop", NULL, true, false, {NULL}, {"198.18.2.0/24"}},
};

/* The other policy: names only (no net tables), different ports, QUIC
 * passed, events off, a sinkhole without an IPv6 address, a redirect by
 * name, an expired exact pattern under a live parent. */
static const struct orule RULES_B[] = {
	{"b-allow", "allow", NULL, false, false, {"=www.block.example"}, {NULL}},
	{"b-sink", "sinkhole", NULL, false, false, {"block.example", "*.sink.example"}, {NULL}},
	{"b-reject", "reject", NULL, false, false, {"example", "=exact.example"}, {NULL}},
	{"b-watch", "monitor", NULL, false, false, {"org", "com", "net"}, {NULL}},
	{"b-old", "drop", NULL, true, false, {"=reject.example", "watch.example"}, {NULL}},
	{"b-redirect", "redirect", NULL, false, true, {"redir.example", "=localhost"}, {NULL}},
};

struct opolicy {
	uint16_t ports[3][4]; /* dns, tls, http; 0 ends a list */
	const char *settings; /* the rest of settings: */
	const struct orule *rules;
	size_t n;
};

static const struct opolicy POLICIES[] = {
	{{{53}, {443, 8443}, {80, 8080}},
	 "  sinkhole: { ipv4: 198.18.0.10, ipv6: \"2001:db8::10\", ttl: 300 }\n"
	 "  quic: drop\n"
	 /* A rate no run reaches: an event for every blocked frame. */
	 "  events: { rate: 1000000, burst: 1000000 }\n",
	 RULES_A,
	 sizeof(RULES_A) / sizeof(RULES_A[0])},
	{{{53, 5353}, {443}, {80}},
	 "  sinkhole: { ipv4: 198.18.0.10, ttl: 60 }\n"
	 "  quic: pass\n"
	 "  events: { rate: 0 }\n",
	 RULES_B,
	 sizeof(RULES_B) / sizeof(RULES_B[0])},
};
static unsigned cur;
#define RULES	(POLICIES[cur].rules)
#define N_RULES (POLICIES[cur].n)

unsigned oracle_policies(void)
{
	return sizeof(POLICIES) / sizeof(POLICIES[0]);
}

void oracle_select(unsigned policy)
{
	cur = policy % oracle_policies();
}

bool oracle_port(int cls, unsigned port)
{
	for (int i = 0; cls >= 0 && cls < 3 && i < 4 && POLICIES[cur].ports[cls][i]; i++)
		if (POLICIES[cur].ports[cls][i] == port)
			return true;
	return false;
}

const char *oracle_rule_name(unsigned i)
{
	return i < N_RULES ? RULES[i].name : NULL;
}

const char *oracle_policy_yaml(void)
{
	static char y[8192];
	size_t n = 0;

#define ADD(...) n += (size_t)snprintf(y + n, n < sizeof(y) ? sizeof(y) - n : 0, __VA_ARGS__)
	ADD("version: 1\nsettings:\n  ports: {");
	for (int c = 0; c < 3; c++) {
		ADD("%s %s: [", c ? "," : "", (const char *[]){"dns", "tls", "http"}[c]);
		for (int i = 0; i < 4 && POLICIES[cur].ports[c][i]; i++)
			ADD("%s%u", i ? ", " : "", POLICIES[cur].ports[c][i]);
		ADD("]");
	}
	ADD(" }\n%srules:\n", POLICIES[cur].settings);
	for (size_t r = 0; r < N_RULES; r++) {
		const struct orule *o = &RULES[r];

		ADD("  - name: %s\n    action: %s\n", o->name, o->action);
		if (o->direction)
			ADD("    direction: %s\n", o->direction);
		if (o->expired)
			ADD("    expires: 2020-01-01T00:00:00Z\n");
		if (o->redirect)
			ADD("    redirect: { iface: lo, mac: \"02:00:00:00:00:10\" }\n");
		if (o->hosts[0]) {
			ADD("    hosts: [");
			for (int h = 0; h < MAX_HOSTS && o->hosts[h]; h++)
				ADD("%s\"%s\"", h ? ", " : "", o->hosts[h]);
			ADD("]\n");
		}
		if (o->nets[0]) {
			ADD("    nets: [");
			for (int h = 0; h < MAX_NETS && o->nets[h]; h++)
				ADD("%s\"%s\"", h ? ", " : "", o->nets[h]);
			ADD("]\n");
		}
	}
#undef ADD
	return n < sizeof(y) ? y : NULL;
}

/* ---- names ---- */
static bool valid_name(const char *s, size_t len)
{
	size_t label = 0, labels = 1;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (!label)
				return false;
			label = 0;
			labels++;
		} else if (++label > 63) {
			return false;
		}
	}
	return label && labels <= 32;
}

static bool ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return true;
}

/* How specific a pattern is when it matches: the labels of the name it
 * is written on (`*.b.c` and `b.c` both 2, and `=a.b.c` 3); 0 when it
 * does not match. Two patterns that match one name at one depth would be
 * the same text in two rules, which these policies do not hold. */
static int pattern_match(const char *pat, const char *name, size_t len)
{
	int kind = 0; /* 0 subtree, 1 exact, 2 wildcard */
	size_t pl, labels = 1;

	if (pat[0] == '=')
		kind = 1, pat++;
	else if (pat[0] == '*' && pat[1] == '.')
		kind = 2, pat += 2;
	pl = strlen(pat);
	for (size_t i = 0; i < pl; i++)
		labels += pat[i] == '.';
	if (len == pl && ieq(name, pat, pl))
		return kind == 2 ? 0 : (int)labels;
	if (len > pl && name[len - pl - 1] == '.' && ieq(name + len - pl, pat, pl))
		return kind == 1 ? 0 : (int)labels;
	return 0;
}

static int host_rule(const char *name, size_t len)
{
	int best = -1, best_spec = 0;

	if (!valid_name(name, len))
		return -1;
	for (size_t r = 0; r < N_RULES; r++) {
		if (RULES[r].expired)
			continue;
		for (int h = 0; h < MAX_HOSTS && RULES[r].hosts[h]; h++) {
			int spec = pattern_match(RULES[r].hosts[h], name, len);

			if (spec > best_spec)
				best_spec = spec, best = (int)r;
		}
	}
	return best;
}

/* ---- addresses ---- */
struct net_hit {
	int rule;
	int plen; /* -1: none */
};

static bool in_prefix(const char *cidr, int family, const uint8_t *addr, int *plen)
{
	char buf[64], *slash;
	uint8_t net[16];
	int bits;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	if (!slash)
		return false;
	*slash = '\0';
	bits = atoi(slash + 1);
	if ((family == 4) != (strchr(buf, ':') == NULL))
		return false;
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, buf, net) != 1)
		return false;
	for (int b = 0; b < bits; b++)
		if (((net[b / 8] ^ addr[b / 8]) >> (7 - b % 8)) & 1)
			return false;
	*plen = bits;
	return true;
}

/* The longest prefix holding addr in one direction, expired rules
 * included: the tables hold their prefixes, and an expired one is
 * unusable rather than skipped (no shorter live prefix in this policy
 * covers an expired one, so either reading agrees here). */
static struct net_hit net_rule(int family, const uint8_t *addr, bool src)
{
	struct net_hit best = {-1, -1};

	for (size_t r = 0; r < N_RULES; r++) {
		const char *d = RULES[r].direction;
		bool dirs_ok = src ? d && (!strcmp(d, "src") || !strcmp(d, "both"))
				   : !d || !strcmp(d, "dst") || !strcmp(d, "both");

		if (!dirs_ok)
			continue;
		for (int n = 0; n < MAX_NETS && RULES[r].nets[n]; n++) {
			int plen;

			if (in_prefix(RULES[r].nets[n], family, addr, &plen) && plen > best.plen)
				best.rule = (int)r, best.plen = plen;
		}
	}
	if (best.rule >= 0 && RULES[best.rule].expired)
		best.rule = -1;
	return best;
}

struct oracle_hit oracle_match(const char *name, size_t len, int family, const uint8_t *src,
			       const uint8_t *dst)
{
	struct oracle_hit h = {-1, false};
	struct net_hit d = net_rule(family, dst, false), s = net_rule(family, src, true);
	struct net_hit first = s.plen > d.plen ? s : d, second = s.plen > d.plen ? d : s;
	int host = name ? host_rule(name, len) : -1;
	int cand[3] = {host, first.rule, second.rule};

	for (int i = 0; i < 3; i++)
		if (cand[i] >= 0 && !strcmp(RULES[cand[i]].action, "allow")) {
			h.rule = cand[i];
			h.by_host = i == 0;
			return h;
		}
	for (int i = 0; i < 3; i++)
		if (cand[i] >= 0) {
			h.rule = cand[i];
			h.by_host = i == 0;
			return h;
		}
	return h;
}
