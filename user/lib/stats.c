// SPDX-License-Identifier: GPL-2.0
/* Reading the running filter: one snapshot struct that text, JSON and
 * Prometheus all render, and `explain` for an address. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>

#include <bpf/bpf.h>

#include "gen.h"
#include "log.h"
#include "tapis.h"

/* Names are snake_case and never change: scripts and dashboards key on
 * them. Every enum value has one; a missing last name fails the build (the
 * assertions below), a hole in the middle fails tests/unit/test_names. */
static const char *const reason_names[] = {
	[TAPIS_R_OK] = "ok",
	[TAPIS_R_L2_TRUNC] = "l2_truncated",
	[TAPIS_R_VLAN_DEPTH] = "vlan_too_deep",
	[TAPIS_R_NOT_IP] = "not_ip",
	[TAPIS_R_MPLS_TRUNC] = "mpls_truncated",
	[TAPIS_R_MPLS_DEPTH] = "mpls_too_deep",
	[TAPIS_R_MPLS_PAYLOAD] = "mpls_not_ip",
	[TAPIS_R_IPV4_TRUNC] = "ipv4_truncated",
	[TAPIS_R_IPV4_HDR] = "ipv4_bad_header",
	[TAPIS_R_IPV6_TRUNC] = "ipv6_truncated",
	[TAPIS_R_IPV6_EXT_TRUNC] = "ipv6_ext_truncated",
	[TAPIS_R_IPV6_EXT_DEPTH] = "ipv6_ext_too_deep",
	[TAPIS_R_L4_TRUNC] = "l4_truncated",
	[TAPIS_R_NO_GEN] = "no_policy",
	[TAPIS_R_DNS_TRUNC] = "dns_truncated",
	[TAPIS_R_DNS_RESPONSE] = "dns_response",
	[TAPIS_R_DNS_OPCODE] = "dns_not_query",
	[TAPIS_R_DNS_QDCOUNT] = "dns_qdcount",
	[TAPIS_R_DNS_POINTER] = "dns_qname_pointer",
	[TAPIS_R_DNS_NAME_LONG] = "dns_name_too_long",
	[TAPIS_R_DNS_LABELS] = "dns_too_many_labels",
	[TAPIS_R_NAME_SYNTAX] = "name_syntax",
	[TAPIS_R_TLS_MALFORMED] = "tls_malformed",
	[TAPIS_R_TLS_BOUND] = "tls_bound",
	[TAPIS_R_HTTP_MALFORMED] = "http_malformed",
	[TAPIS_R_HTTP_BOUND] = "http_bound",
	[TAPIS_R_L7_OUT_OF_ORDER] = "l7_out_of_order",
};
_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) == TAPIS_R_MAX,
	       "reason_names: one name per enum tapis_reason");

static const char *const stat_names[] = {
	[TAPIS_S_PACKETS] = "packets",
	[TAPIS_S_FRAGMENT] = "fragments",
	[TAPIS_S_EXPIRED] = "expired_matches",
	[TAPIS_S_REDIRECT_ERR] = "redirect_errors",
	[TAPIS_S_QUIC_DROP] = "quic_drop",
	[TAPIS_S_QUIC_PASS] = "quic_pass",
	[TAPIS_S_FLOW_NEW] = "flow_new",
	[TAPIS_S_L7_FOLLOWED] = "l7_followed",
	[TAPIS_S_TLS_NO_SNI] = "tls_no_sni",
	[TAPIS_S_TLS_ECH] = "tls_ech",
	[TAPIS_S_HTTP_NO_HOST] = "http_no_host",
	[TAPIS_S_HTTP_IP_HOST] = "http_ip_host",
	[TAPIS_S_ANSWER_HEAD] = "answer_head",
	[TAPIS_S_ANSWER_ERR] = "answer_err",
	[TAPIS_S_FLOW_EVICT] = "flow_evict",
	[TAPIS_S_NOANS_SOURCE] = "no_answer_source",
	[TAPIS_S_NOANS_LENGTH] = "no_answer_length",
	[TAPIS_S_NOANS_PPPOE] = "no_answer_pppoe",
	[TAPIS_S_NOANS_TCP] = "no_answer_tcp",
	[TAPIS_S_EVENTS] = "events",
	[TAPIS_S_EVENTS_LOST] = "events_lost",
};
_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) == TAPIS_S_MAX,
	       "stat_names: one name per enum tapis_stat");

static const char *const kind_names[] = {
	[TAPIS_KIND_NET] = "net",   [TAPIS_KIND_DNS] = "dns",	[TAPIS_KIND_TLS] = "tls",
	[TAPIS_KIND_HTTP] = "http", [TAPIS_KIND_FLOW] = "flow",
};
_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == TAPIS_KIND_MAX,
	       "kind_names: one name per enum tapis_kind");

const char *reason_name(unsigned r)
{
	return r < TAPIS_R_MAX && reason_names[r] ? reason_names[r] : "unknown";
}

const char *stat_name(unsigned s)
{
	return s < TAPIS_S_MAX && stat_names[s] ? stat_names[s] : "unknown";
}

const char *kind_name(unsigned k)
{
	return k < TAPIS_KIND_MAX && kind_names[k] ? kind_names[k] : "unknown";
}

static int sum_u64(struct tapis *t, int map, uint32_t key, uint64_t *out)
{
	uint64_t *v = calloc(t->ncpus, sizeof(*v));

	*out = 0;
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(t->map_fd[map], &key, v)) {
		free(v);
		return -errno;
	}
	for (int c = 0; c < t->ncpus; c++)
		*out += v[c];
	free(v);
	return 0;
}

int tapis_flows_size(struct tapis *t, uint32_t *entries)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(t->map_fd[M_FLOWS], &info, &len))
		return -errno;
	*entries = info.max_entries;
	return 0;
}

/* Count the taken slots of tapis_flows and the verdicts among them. The
 * array is mmappable: read in place, it costs a walk of its memory and no
 * copy (a scrape with the default 65,536 slots: under a millisecond, where
 * batched lookups took eight). Batches of FLOW_BATCH slots where the
 * mapping is refused. */
#define FLOW_BATCH 4096

static bool count_flows_mmap(struct tapis *t, struct flow_stat *fs)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t bytes = ((size_t)fs->size * sizeof(struct tapis_flow_slot) + page - 1) & ~(page - 1);
	const struct tapis_flow_slot *v;

	char path[PATH_MAX];
	int fd = t->map_fd[M_FLOWS];

	/* A shared mapping needs a descriptor opened for writing, even to
	 * read (the kernel drops VM_SHARED for a read-only file). A reader's
	 * descriptor is read-only: take a second one where the pin allows
	 * it, mapped read-only all the same. */
	if (t->readonly && t->pin_path[0]) {
		snprintf(path, sizeof(path), "%s/%s", t->pin_path, tapis_map_names[M_FLOWS]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			return false;
	}
	v = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, 0);
	if (fd != t->map_fd[M_FLOWS])
		close(fd);
	if (v == MAP_FAILED)
		return false;
	for (uint32_t i = 0; i < fs->size; i++) {
		/* One byte of each slot, read once: the data path may be
		 * writing it. */
		uint8_t st = __atomic_load_n(&v[i].state, __ATOMIC_RELAXED);

		fs->present += st ? 1 : 0;
		fs->verdicts += st == TAPIS_FLOW_VERDICT ? 1 : 0;
	}
	munmap((void *)v, bytes);
	return true;
}

static int count_flows(struct tapis *t, struct flow_stat *fs)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	int fd = t->map_fd[M_FLOWS], err;
	struct tapis_flow_slot *vals;
	uint32_t *keys, n, at = 0, next;

	err = tapis_flows_size(t, &fs->size);
	if (err)
		return err;
	if (count_flows_mmap(t, fs))
		return 0;
	keys = calloc(FLOW_BATCH, sizeof(*keys));
	vals = calloc(FLOW_BATCH, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (at < fs->size) {
		n = FLOW_BATCH;
		err = bpf_map_lookup_batch(fd, at ? &at : NULL, &next, keys, vals, &n, &bo);
		if (err && errno != ENOENT) {
			err = -errno;
			goto out;
		}
		for (uint32_t i = 0; i < n; i++) {
			if (vals[i].state)
				fs->present++;
			if (vals[i].state == TAPIS_FLOW_VERDICT)
				fs->verdicts++;
		}
		if (err || !n)
			break;
		at = next;
	}
	err = 0;
out:
	free(keys);
	free(vals);
	return err;
}

/* bpf_ktime_get_coarse_ns is CLOCK_MONOTONIC: convert with today's offset. */
static int64_t mono_to_unix_ns(uint64_t mono)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return (int64_t)mono + ((int64_t)r.tv_sec - m.tv_sec) * 1000000000LL +
	       (r.tv_nsec - m.tv_nsec);
}

/* Entries first .. first + *n - 1 of an array map (per-CPU ones included)
 * in one system call: a lookup per rule cost 2 us each, 8,000 of them for
 * 4,000 rules at every scrape. *n is set to the entries read (fewer at the
 * end of the array). */
static int read_batch(int fd, uint32_t first, uint32_t *n, uint32_t *keys, void *vals)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	/* in_batch is the key before the first one wanted. */
	uint32_t prev = first - 1, out;

	if (bpf_map_lookup_batch(fd, first ? &prev : NULL, &out, keys, vals, n, &bo) &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

int tapis_array_read(int fd, uint32_t first, uint32_t count, void *vals, size_t value_size)
{
	uint32_t *keys = calloc(count ? count : 1, sizeof(*keys)), got = 0, n;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	while (got < count) {
		n = count - got;
		err = read_batch(fd, first + got, &n, keys,
				 (char *)vals + (size_t)got * value_size);
		if (err)
			break;
		if (!n) {
			err = -ENOENT; /* the array ends before first + count */
			break;
		}
		got += n;
	}
	free(keys);
	return err;
}

/* Rule ids read at once: at 64 CPUs the chunk's counters take 2 MiB. */
#define RULE_CHUNK 256

int tapis_snapshot(struct tapis *t, struct snapshot *s)
{
	struct tapis_rule_meta *metas = NULL;
	struct tapis_counter *pcs = NULL;
	uint32_t *keys = NULL;
	struct tapis_action_counter *ac = NULL;
	struct timespec now;
	uint32_t zero = 0;
	int err = 0;

	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_REALTIME, &now);
	s->taken_unix_ns = now.tv_sec * 1000000000LL + now.tv_nsec;
	if (bpf_map_lookup_elem(t->map_fd[M_STATE], &zero, &s->state))
		return -errno;
	err = gen_active(t, &s->gen);
	if (err)
		return err;
	if (s->state.policy_gen && s->state.policy_gen != s->gen + 1) {
		/* A reload was killed between recording its policy and the
		 * flip (or is under way): which file runs is not known. */
		s->state.policy_path[0] = '\0';
		s->state.policy_digest[0] = '\0';
		memset(s->state.content_digest, 0, sizeof(s->state.content_digest));
	}
	if (bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &s->gen, &s->settings))
		return -errno;
	s->tbl8_groups = s->settings.v4_chunks;
	s->tbl8_used = s->settings.v4_chunks_used;
	s->sizes.rule_slots = tapis_rule_slots(t);
	s->sizes.events_ring = tapis_map_entries(t, M_EVENTS);
	s->sizes.edits = tapis_map_entries(t, M_EDITS);
	tapis_v4_sizes(t, &s->sizes.v4_leaves, &s->sizes.v4_chunks_small);

	s->rules = calloc(TAPIS_MAX_RULES, sizeof(*s->rules));
	metas = calloc(RULE_CHUNK, sizeof(*metas));
	pcs = calloc((size_t)RULE_CHUNK * t->ncpus, sizeof(*pcs));
	keys = calloc(RULE_CHUNK, sizeof(*keys));
	ac = calloc(t->ncpus, sizeof(*ac));
	if (!s->rules || !metas || !pcs || !keys || !ac) {
		err = -ENOMEM;
		goto out;
	}
	/* RULE_CHUNK ids at a time: their metadata in one read, then the
	 * counters of the chunk in another where any is in use. */
	for (uint32_t base = 0; base < tapis_rule_slots(t); base += RULE_CHUNK) {
		uint32_t n = RULE_CHUNK, nc = RULE_CHUNK;
		bool any = false;

		err = read_batch(t->map_fd[M_RULE_META], base, &n, keys, metas);
		if (err)
			goto out;
		for (uint32_t i = 0; i < n; i++)
			any |= base + i > 0 && metas[i].in_use;
		if (!any)
			continue;
		err = read_batch(t->map_fd[M_COUNTERS], base, &nc, keys, pcs);
		if (err)
			goto out;
		for (uint32_t i = 0; i < n && i < nc; i++) {
			const struct tapis_rule_meta *m = &metas[i];
			const struct tapis_counter *pc = &pcs[(size_t)i * t->ncpus];
			struct rule_stat *r;
			uint64_t last = 0;

			if (base + i == 0 || !m->in_use)
				continue;
			r = &s->rules[s->n_rules++];
			r->id = base + i;
			snprintf(r->name, sizeof(r->name), "%.*s", (int)sizeof(m->name), m->name);
			snprintf(r->reference, sizeof(r->reference), "%.*s",
				 (int)sizeof(m->reference), m->reference);
			r->action = m->action;
			r->expires_unix = m->expires_unix;
			r->since_unix = m->since_unix;
			r->nets_v4 = m->n_v4;
			r->nets_v6 = m->n_v6;
			r->hosts = m->n_hosts;
			s->entries_v4 += m->n_v4;
			s->entries_v6 += m->n_v6;
			s->entries_hosts += m->n_hosts;
			r->expired = m->expires_unix && (int64_t)m->expires_unix <= now.tv_sec;
			for (int c = 0; c < t->ncpus; c++) {
				r->packets += pc[c].packets;
				r->bytes += pc[c].bytes;
				r->expired_hits += pc[c].expired;
				if (pc[c].last_ns > last)
					last = pc[c].last_ns;
				for (int k = 0; k < TAPIS_KIND_MAX; k++) {
					r->kinds[k].packets += pc[c].kind_packets[k];
					r->kinds[k].bytes += pc[c].kind_bytes[k];
				}
			}
			r->last_hit_unix_ns = last ? mono_to_unix_ns(last) : 0;
		}
	}
	for (uint32_t a = 0; a < TAPIS_ACT_MAX; a++) {
		if (bpf_map_lookup_elem(t->map_fd[M_ACTIONS], &a, ac)) {
			err = -errno;
			goto out;
		}
		for (int c = 0; c < t->ncpus; c++) {
			s->actions_packets[a] += ac[c].packets;
			s->actions_bytes[a] += ac[c].bytes;
		}
	}
	/* Each packet is counted under exactly one action. */
	for (uint32_t a = 0; a < TAPIS_ACT_MAX; a++)
		s->stats[TAPIS_S_PACKETS] += s->actions_packets[a];
	/* The flow table before the counters: a verdict counted present was
	 * then already counted new, so evicted does not dip below the truth. */
	err = count_flows(t, &s->flows);
	for (uint32_t r = 0; r < TAPIS_R_MAX && !err; r++)
		err = sum_u64(t, M_REASONS, r, &s->reasons[r]);
	for (uint32_t i = TAPIS_S_PACKETS + 1; i < TAPIS_S_MAX && !err; i++) {
		err = sum_u64(t, M_STATS, i, &s->stats[i]);
		/* A filter loaded by an older tapis has fewer: they read 0. */
		if (err == -ENOENT)
			err = 0;
	}
	if (!err) {
		/* Events the rate kept out are counted in its per-CPU state,
		 * beside the clock it reads: no second map on that path. */
		struct tapis_ev_bucket *eb = calloc(t->ncpus, sizeof(*eb));
		uint32_t zero = 0;

		if (!eb)
			err = -ENOMEM;
		else if (bpf_map_lookup_elem(t->map_fd[M_EV_BUCKET], &zero, eb) == 0)
			for (int c = 0; c < t->ncpus; c++)
				s->stats[TAPIS_S_EVENTS_LOST] += eb[c].lost;
		free(eb);
	}
	s->flows.created = s->stats[TAPIS_S_FLOW_NEW];
	s->flows.evicted = s->stats[TAPIS_S_FLOW_EVICT];
out:
	free(metas);
	free(pcs);
	free(keys);
	free(ac);
	if (err)
		snapshot_free(s);
	return err;
}

void snapshot_free(struct snapshot *s)
{
	free(s->rules);
	s->rules = NULL;
	s->n_rules = 0;
}

static void fill_hit(struct tapis *t, uint32_t gen, const struct net_entry *addr, uint32_t ent,
		     struct explain_hit *h)
{
	struct tapis_rule_meta m;
	struct tapis_rule r;
	uint32_t id = tapis_ent_rule(ent), k = tapis_rule_key(tapis_rule_slots(t), gen, id);
	unsigned plen = tapis_ent_plen(ent);
	struct net_entry p = *addr;
	char a[INET6_ADDRSTRLEN];

	memset(h, 0, sizeof(*h));
	if (!ent || bpf_map_lookup_elem(t->map_fd[M_RULE_META], &id, &m))
		return;
	h->found = true;
	h->rule = id;
	snprintf(h->rule_name, sizeof(h->rule_name), "%s", m.name);
	h->action = m.action;
	if (bpf_map_lookup_elem(t->map_fd[M_RULES], &k, &r) == 0 && (r.flags & TAPIS_RF_EXPIRES) &&
	    m.expires_unix <= (uint64_t)time(NULL))
		h->expired = true;
	for (int b = 0; b < 16; b++) {
		int keep = (int)plen - b * 8;

		p.addr[b] = keep >= 8	? p.addr[b]
			    : keep <= 0 ? 0
					: p.addr[b] & (0xff << (8 - keep));
	}
	inet_ntop(addr->family == 4 ? AF_INET : AF_INET6, p.addr, a, sizeof(a));
	snprintf(h->prefix, sizeof(h->prefix), "%s/%u", a, plen);
}

int tapis_explain_addr(struct tapis *t, const struct net_entry *addr, struct explain_result *r)
{
	struct net_tables nt;
	uint32_t gen;
	int err;

	memset(r, 0, sizeof(*r));
	r->winner = -1;
	err = gen_active(t, &gen) ?: net_tables_open(&nt, t, gen);
	if (err)
		return err;
	for (int d = 0; d < TAPIS_DIR_MAX; d++) {
		uint32_t ents[TAPIS_NET_CHAIN];

		/* An expired prefix falls through to the next live one it
		 * lies in, as the data path does; none: the expired one. */
		net_lookup_list(&nt, d, addr, ents);
		fill_hit(t, gen, addr, ents[0], &r->dir[d]);
		for (int i = 1; r->dir[d].expired && i < TAPIS_NET_CHAIN && ents[i]; i++) {
			struct explain_hit h;

			fill_hit(t, gen, addr, ents[i], &h);
			if (h.found && !h.expired)
				r->dir[d] = h;
		}
	}
	net_tables_close(&nt);

	/* The same precedence as decide() in bpf/action.bpf.h, for an address
	 * seen as destination (dst column) or as source (src column). */
	struct explain_hit *dst = &r->dir[TAPIS_DIR_DST], *src = &r->dir[TAPIS_DIR_SRC];

	if (dst->found && !dst->expired) {
		r->winner = TAPIS_DIR_DST;
		r->why = "longest matching destination prefix";
	} else if (src->found && !src->expired) {
		r->winner = TAPIS_DIR_SRC;
		r->why = "longest matching source prefix";
	} else if (dst->found || src->found) {
		r->why = "the matching rule has expired";
	} else {
		r->why = "no rule covers this address";
	}
	return 0;
}
