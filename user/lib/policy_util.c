// SPDX-License-Identifier: GPL-2.0
/*
 * policy_util.c - small parsers shared by the policy file and the CLI.
 *
 * Strict on purpose: a typo in a blocklist entry ("10.0.0/8", "1.2.3.4/33")
 * must be an error, never a silently different network.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "policy.h"

/* clang-format off */
static const char *const action_names[TAPIS_ACT_MAX] = {
	[TAPIS_ACT_NONE]	= "none",
	[TAPIS_ACT_ALLOW]	= "allow",
	[TAPIS_ACT_MONITOR]	= "monitor",
	[TAPIS_ACT_DROP]	= "drop",
	[TAPIS_ACT_REJECT]	= "reject",
	[TAPIS_ACT_SINKHOLE]	= "sinkhole",
	[TAPIS_ACT_REDIRECT]	= "redirect",
};
/* clang-format on */

/* Decimal prefix length without sign, spaces or leading zeros. */
static int parse_plen(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_cidr(const char *s, struct net_entry *e, bool *host_bits)
{
	char addr[INET6_ADDRSTRLEN + 1];
	uint8_t buf[16] = {0};
	const char *slash;
	unsigned plen, max, i;
	size_t alen;
	bool v6, dirty = false;

	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';

	v6 = memchr(addr, ':', alen) != NULL;
	max = v6 ? 128 : 32;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, buf) != 1)
		return -EINVAL;
	if (slash) {
		if (parse_plen(slash + 1, max, &plen))
			return -EINVAL;
	} else {
		plen = max;
	}

	for (i = plen; i < max; i++) {
		uint8_t bit = (uint8_t)(0x80u >> (i % 8));

		if (buf[i / 8] & bit) {
			dirty = true;
			buf[i / 8] &= (uint8_t)~bit;
		}
	}

	e->family = v6 ? 6 : 4;
	e->plen = (uint8_t)plen;
	memset(e->addr, 0, sizeof(e->addr));
	memcpy(e->addr, buf, v6 ? 16 : 4);
	if (host_bits)
		*host_bits = dirty;
	return 0;
}

static unsigned hexval(char ch)
{
	return ch <= '9' ? (unsigned)(ch - '0') : (unsigned)((ch | 0x20) - 'a' + 10);
}

bool parse_mac(const char *s, uint8_t mac[6])
{
	int i;

	if (strlen(s) != 17)
		return false;
	for (i = 0; i < 6; i++) {
		const char *p = s + 3 * i;

		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
		    (i < 5 && p[2] != ':'))
			return false;
		mac[i] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
	}
	return true;
}

static bool is_address(const char *s)
{
	uint8_t buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int host_pattern_parse(const char *s, struct host_pattern *out, char *why, size_t whysz)
{
	const char *name = s, *reason = NULL;

	out->kind = HOST_SUBTREE;
	if (name[0] == '=') {
		out->kind = HOST_EXACT;
		name++;
	} else if (name[0] == '*' && name[1] == '.') {
		out->kind = HOST_WILDCARD;
		name += 2;
	}
	if (is_address(name)) {
		snprintf(why, whysz,
			 "'%.100s' is an address, not a host name (addresses go in nets)", s);
		return -EAFNOSUPPORT;
	}
	if (hostname_normalize(name, out->name, sizeof(out->name), &reason)) {
		snprintf(why, whysz, "invalid host '%.100s': %s", s,
			 reason ? reason : "invalid name");
		return -EINVAL;
	}
	if (hostname_numeric_tld(out->name)) {
		snprintf(why, whysz,
			 "invalid host '%.100s': its last label is all digits (a mistyped "
			 "address?)",
			 s);
		return -EINVAL;
	}
	return 0;
}

const char *host_pattern_prefix(enum host_kind kind)
{
	switch (kind) {
	case HOST_EXACT:
		return "=";
	case HOST_WILDCARD:
		return "*.";
	default:
		return "";
	}
}

int parse_action(const char *s, enum tapis_action *a)
{
	int i;

	/* "none" is what the data path reports, not something to ask for. */
	for (i = TAPIS_ACT_NONE + 1; i < TAPIS_ACT_MAX; i++) {
		if (strcmp(s, action_names[i]) == 0) {
			*a = (enum tapis_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *action_name(enum tapis_action a)
{
	if ((unsigned)a >= TAPIS_ACT_MAX)
		return "unknown";
	return action_names[a];
}

/* Growth for the entry arrays of a rule built outside the parser (live
 * edits applied again at reload). */
static int grow_array(void **v, size_t *cap, size_t n, size_t size)
{
	void *nv;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? 2 * *cap : 16;
	nv = realloc(*v, c * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

int policy_rule_add_host(struct rule *r, enum host_kind kind, const char *name, const char *file,
			 unsigned line)
{
	char *dup;

	if (grow_array((void **)&r->hosts, &r->cap_hosts, r->n_hosts, sizeof(*r->hosts)))
		return -ENOMEM;
	dup = strdup(name);
	if (!dup)
		return -ENOMEM;
	r->hosts[r->n_hosts].kind = kind;
	r->hosts[r->n_hosts].name = dup;
	r->hosts[r->n_hosts].loc.file = file;
	r->hosts[r->n_hosts].loc.line = line;
	r->n_hosts++;
	return 0;
}

int policy_rule_add_net(struct rule *r, const struct net_entry *e, const char *file, unsigned line)
{
	if (grow_array((void **)&r->nets, &r->cap_nets, r->n_nets, sizeof(*r->nets)))
		return -ENOMEM;
	r->nets[r->n_nets] = *e;
	r->nets[r->n_nets].loc.file = file;
	r->nets[r->n_nets].loc.line = line;
	r->n_nets++;
	return 0;
}
