// SPDX-License-Identifier: GPL-2.0
/* `explain NAME`: which host pattern of the running policy a query for NAME
 * meets, found the way the XDP program finds it (bpf/l7_dns.bpf.h): the
 * name's suffix hashes looked up in the active generation's host table,
 * most specific first, the whole name by its self rule and its parents by
 * their sub rule, skipping patterns whose rule has expired. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "gen.h"
#include "host_filter.h"
#include "hostname.h"
#include "tapis.h"

static _Thread_local char why_buf[TAPIS_NAME_MAX + 160];

/* The i-th suffix of a normalised name (0: the name itself). */
static const char *suffix(const char *name, int i)
{
	while (i-- > 0 && name) {
		name = strchr(name, '.');
		if (name)
			name++;
	}
	return name ? name : "";
}

/* Rule id in the active generation: its meta, and whether it expired. */
static int rule_info(struct tapis *t, uint32_t gen, uint32_t id, struct tapis_rule_meta *m,
		     bool *active, bool *expired)
{
	uint32_t k = tapis_rule_key(tapis_rule_slots(t), gen, id);
	struct tapis_rule r;

	if (bpf_map_lookup_elem(t->map_fd[M_RULE_META], &id, m) ||
	    bpf_map_lookup_elem(t->map_fd[M_RULES], &k, &r))
		return -errno;
	*active = r.flags & TAPIS_RF_ACTIVE;
	*expired = (r.flags & TAPIS_RF_EXPIRES) && m->expires_unix &&
		   m->expires_unix <= (uint64_t)time(NULL);
	return 0;
}

static void fill(struct explain_hit *h, uint32_t id, const struct tapis_rule_meta *m,
		 const char *sfx, bool self, const struct tapis_host_val *v, bool expired)
{
	enum host_kind kind;

	/* Which pattern kind put the rule in this slot: a subtree pattern
	 * fills both slots with its rule. */
	if (self)
		kind = v->sub_rule == id ? HOST_SUBTREE : HOST_EXACT;
	else
		kind = v->self_rule == id ? HOST_SUBTREE : HOST_WILDCARD;
	memset(h, 0, sizeof(*h));
	h->found = true;
	h->rule = id;
	snprintf(h->rule_name, sizeof(h->rule_name), "%s", m->name);
	h->action = m->action;
	h->expired = expired;
	snprintf(h->prefix, sizeof(h->prefix), "%s%s", host_pattern_prefix(kind), sfx);
}

int tapis_explain_name(struct tapis *t, const char *name, struct explain_result *r)
{
	char norm[TAPIS_HOST_MAX + 2], skipped[TAPIS_NAME_MAX] = "";
	uint64_t keys[TAPIS_MAX_LABELS];
	uint32_t gen;
	int fd, n, err;

	memset(r, 0, sizeof(*r));
	r->winner = -1;
	if (hostname_normalize(name, norm, sizeof(norm), NULL) || hostname_numeric_tld(norm))
		return -EINVAL;
	n = hostname_suffix_hashes(norm, keys, TAPIS_MAX_LABELS);
	if (n == -E2BIG) {
		snprintf(why_buf, sizeof(why_buf),
			 "more than %d labels: the data path passes such queries unmatched",
			 TAPIS_MAX_LABELS);
		r->why = why_buf;
		return 0;
	}
	if (n < 0)
		return n;
	err = gen_active(t, &gen);
	if (err)
		return err;
	fd = gen_inner_fd(t, M_HOSTS, gen);
	if (fd == -ENOENT) {
		r->why = "the running policy has no host patterns";
		return 0;
	}
	if (fd < 0)
		return fd;

	for (int i = 0; i < n; i++) {
		struct tapis_host_val v;
		struct tapis_rule_meta m;
		bool active = false, expired = false;
		uint32_t id;

		if (host_table_lookup(t, gen, fd, keys[i], &v))
			continue;
		id = i == 0 ? v.self_rule : v.sub_rule;
		if (!id)
			continue;
		err = rule_info(t, gen, id, &m, &active, &expired);
		if (err)
			break;
		if (!active)
			continue;
		if (expired) {
			/* Skipped like the data path does; remembered for the
			 * explanation when nothing acts. */
			if (!r->host.found)
				fill(&r->host, id, &m, suffix(norm, i), i == 0, &v, true);
			if (!skipped[0])
				snprintf(skipped, sizeof(skipped), "%s", m.name);
			continue;
		}
		fill(&r->host, id, &m, suffix(norm, i), i == 0, &v, false);
		r->winner = 2;
		if (skipped[0]) {
			snprintf(why_buf, sizeof(why_buf),
				 "most specific pattern whose rule acts; a more specific one of "
				 "rule %s has expired",
				 skipped);
			r->why = why_buf;
		} else {
			r->why = i == 0 ? "most specific matching pattern: the name itself"
					: "most specific matching pattern: a parent of the name";
		}
		break;
	}
	close(fd);
	if (err)
		return err;
	if (r->winner < 0)
		r->why = r->host.found ? "the matching pattern's rule has expired"
				       : "no host pattern matches this name";
	return 0;
}
