/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: one name matcher for every source of names.
 *
 * An L7 stage (l7_dns, l7_tls, l7_http) that finds a hostname leaves it in
 * the per-CPU scratch buffer (struct tapis_name_buf, tapis_abi.h), with
 * which stage found it and in which form: TLS and HTTP copy the name as it
 * is on the wire, dotted text; DNS copies its wire form, where its labels
 * start, and each label's term (tapis_abi.h: the mix of its chunks), which
 * its walk of the question made from the packet. host_match() consumes
 * that and nothing else, so a new source of names is a new stage that
 * fills the buffer.
 *
 * The host-table key of a suffix is the running hash after the label that
 * starts it, the labels taken from the last one (tapis_abi.h). A DNS name
 * (host_match_wire()) has its terms added from the last label, weighed by
 * position, and each key's filter bit read as the key is made, with
 * nothing waiting on a word read, so a name's filter reads overlap; then
 * the index is asked for the keys the filter let through, shortest suffix
 * first. A TLS or HTTP name is hashed from its text, eight bytes at a
 * time, finding each label's dot as it goes, and each key is looked up
 * whole as it comes (filter, then index). The rules found are kept; then
 * the most specific one whose rule still acts wins. The whole name is
 * looked up for its self rule (`example.com`, `=example.com`), every
 * proper suffix for its sub rule (`example.com`, `*.example.com`), and
 * only suffixes as long as some pattern of that kind (settings'
 * self_labels, sub_labels). A pattern whose rule has expired is skipped,
 * so the next less specific one applies; the skipped one is counted as
 * expired. A name with an empty label, a label over 63 bytes or over
 * TAPIS_MAX_LABELS labels matches nothing and is counted
 * (TAPIS_R_NAME_SYNTAX; for DNS, the stage's own reasons).
 *
 * Speed: calls are what cost (every return pays for the CPU's return-stack
 * mitigations), so the match is inlined and a lookup is a filter bit and,
 * for the few keys the filter lets through, the host index, both plain
 * array reads; only keys that overflowed the index cost a hash-map call.
 * Name bytes are read, lowercased and hashed eight at a time; labels are
 * mixed independently, and only an add per label is a dependent chain.
 * In the hot regime (one frame over and over) what counts is instructions
 * and the chain from one label to the next: a branch that is predicted
 * costs less there than arithmetic that puts the word just read on that
 * chain (measured: a branch-free dot search was 3-8 ns slower on an HTTP
 * GET). */
#ifndef TAPIS_L7_NAME_BPF_H
#define TAPIS_L7_NAME_BPF_H

#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"
#include "rules.bpf.h"

/* x, as a number the verifier cannot know (exact at run time for
 * x < 2^24): shifted left and back by 0..7 bits, an amount taken from salt,
 * which the verifier does not know either, and hidden from clang, which
 * would otherwise fold the pair away.
 *
 * Why: where the verifier knows a value exactly (the label count at the
 * exit of a counted loop, the IP version, TCP or UDP), every branch on it
 * forks its state, and the code after is checked once per value. The L7
 * stages are checked once this way, instead of once per label count times
 * each L3/L4 combination, which overruns the verifier's budget. */
static __always_inline __u32 opaque(__u32 x, __u32 salt)
{
	__u32 s = salt & 7;

	barrier_var(s);
	barrier_var(x);
	x <<= s;
	barrier_var(x); /* or clang makes it x & (~0u >> s), exact to the verifier */
	return x >> s;
}

/* The stages (1 << TAPIS_PORT_DNS, _TLS, _HTTP) whose ports include port
 * (network order): one read. */
static __always_inline __u32 port_classes(const struct tapis_settings *set, __be16 port_be)
{
	__u16 port = bpf_ntohs(port_be);
	const __u64 *g = set->ports[(port >> 6) & (TAPIS_PORT_WORDS - 1)];
	__u32 b = port & 63;

	_Static_assert(TAPIS_PORT_CLASSES == 3, "three classes");
	return ((g[TAPIS_PORT_DNS] >> b) & 1) << TAPIS_PORT_DNS |
	       ((g[TAPIS_PORT_TLS] >> b) & 1) << TAPIS_PORT_TLS |
	       ((g[TAPIS_PORT_HTTP] >> b) & 1) << TAPIS_PORT_HTTP;
}

#define PC_DNS	(1u << TAPIS_PORT_DNS)
#define PC_TLS	(1u << TAPIS_PORT_TLS)
#define PC_HTTP (1u << TAPIS_PORT_HTTP)

static __always_inline struct tapis_name_buf *name_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tapis_scratch, &zero);
}

/* Eight bytes at p, which may be unaligned, in one load: through a pointer
 * clang cannot trace to a byte array, else it splits the load into eight
 * byte loads for the bpf target (the verifier allows unaligned map value
 * and packet access wherever the CPU does it fast). */
static __always_inline __u64 load64(const void *p)
{
	barrier_var(p);
	return *(const __u64 *)p;
}

static __always_inline void store64(void *p, __u64 v)
{
	barrier_var(p);
	*(__u64 *)p = v;
}

#define ONES64 0x0101010101010101ULL
#define HIGH64 0x8080808080808080ULL

/* ASCII lowercase of eight bytes at once, exactly tapis_lower() per byte:
 * a byte is upper case when its low seven bits are 'A'..'Z' and its top
 * bit is clear; such a byte gets 0x20 added. */
static __always_inline __u64 lower8(__u64 w)
{
	__u64 low7 = w & ~HIGH64;
	__u64 ge_a = low7 + (0x80 - 'A') * ONES64;
	__u64 gt_z = low7 + (0x80 - 'Z' - 1) * ONES64;

	return w | (((ge_a & ~gt_z & ~w) & HIGH64) >> 2);
}

/* The high bit of each byte of w equal to c, exactly (no borrow between
 * bytes, unlike the classic has-zero test). */
static __always_inline __u64 eq_bytes(__u64 w, __u8 c)
{
	__u64 x = w ^ (ONES64 * c);

	return ~(((x & ~HIGH64) + ~HIGH64) | x) & HIGH64;
}

/* Index (0..7) of the lowest byte flagged in t, which is not 0. */
static __always_inline __u32 first_flag(__u64 t)
{
	__u64 b = t & -t;
	__u32 i = 0;

	if (b & 0xffffffff00000000ULL)
		i += 4;
	if (b & 0xffff0000ffff0000ULL)
		i += 2;
	if (b & 0xff00ff00ff00ff00ULL)
		i += 1;
	return i;
}

/* The dotted name of len bytes the stage left at bytes[TAPIS_NAME_OFF + 1],
 * ready for the match: a trailing dot cut, the dot in front, its end. 0,
 * or TAPIS_R_NAME_SYNTAX for no name or one over TAPIS_HOST_MAX bytes (its
 * labels are checked as the match finds them). */
static __always_inline int name_text(struct tapis_name_buf *nb, __u32 len, __u32 kind)
{
	if (len && len <= TAPIS_HOST_MAX + 1 && nb->bytes[(TAPIS_NAME_OFF + len) & 0x1ff] == '.')
		len--;
	if (!len || len > TAPIS_HOST_MAX)
		return TAPIS_R_NAME_SYNTAX;
	/* The match reads the name lowercased: a stage that did not copy it
	 * so has it lowered here, eight bytes at a time (bytes past its end
	 * are slack). */
	if (!nb->lowered) {
		__u32 k;

		for (k = 0; k < (TAPIS_HOST_MAX + 7) / 8; k++) {
			__u8 *p = &nb->bytes[TAPIS_NAME_OFF + 1 + 8 * (k & 31)];

			if (8 * k >= len)
				break;
			store64(p, lower8(load64(p)));
		}
	}
	nb->kind = kind;
	nb->bytes[TAPIS_NAME_OFF] = '.';
	nb->name_end = len + 1;
	return 0;
}

/* Index (0..7) of the highest byte flagged in t, which is not 0. */
static __always_inline __u32 last_flag(__u64 t)
{
	__u32 i = 0;

	if (t >> 32) {
		t >>= 32;
		i += 4;
	}
	if (t >> 16) {
		t >>= 16;
		i += 2;
	}
	if (t >> 8)
		i += 1;
	return i;
}

/* Rules found along one name, kept for the most-specific-first pass: the
 * HOST_CANDS most specific (a name would need more patterns than that along
 * it, the most specific all of expired rules, for the next one to matter). */
#define HOST_CANDS 16

/* The rule a host-table key gives: the self rule for the whole name, the
 * sub rule for a parent of it; 0 when the key is absent. The filter rules
 * most keys out with one array read; the index answers for the rest
 * without a call; only a key that overflowed the index costs a hash-map
 * lookup (tapis_abi.h). */
struct host_tables {
	void *filter; /* one bit per key */
	void *index;  /* every key again, open-addressed */
	__u32 gen;    /* for the hash map, the source of truth */
	__u32 shift;  /* tapis_host_idx_shift(tapis_settings.host_idx_log2) */
};

/* The rule the host index (or, for a key that overflowed it, the hash map)
 * gives key: the self rule for the whole name, the sub rule for a parent
 * of it; 0 when the key is absent. Asked only for keys whose filter bit is
 * set. */
static __always_inline __u32 host_key_rule(const struct host_tables *ht, __u64 key, bool self)
{
	struct tapis_host_slot *s, *first = NULL;
	__u32 home = tapis_host_idx_home(key, ht->shift), i, p;
	struct tapis_host_val *v;
	void *hosts;

#pragma unroll
	for (p = 0; p < TAPIS_HOST_IDX_PROBES; p++) {
		i = home + p; /* the index has room past its last home */
		s = bpf_map_lookup_elem(ht->index, &i);
		if (!s)
			break;
		if (!p)
			first = s;
		if (s->key == key)
			return self ? s->self_rule : s->sub_rule;
		if (!s->key)
			return 0; /* an empty slot ends the search */
	}
	if (first && !(first->flags & TAPIS_HIS_OVERFLOW))
		return 0;
	/* Rare: looked up only here. */
	hosts = bpf_map_lookup_elem(&tapis_hosts, &ht->gen);
	if (!hosts)
		return 0;
	v = bpf_map_lookup_elem(hosts, &key);
	if (!v)
		return 0;
	return self ? v->self_rule : v->sub_rule;
}

/* Key's rule, the filter asked first (host_key_rule()). */
static __always_inline __u32 host_key_lookup(const struct host_tables *ht, __u64 key, bool self)
{
	__u32 bit = tapis_host_filter_bit(key, ht->shift), word = bit >> 6;
	__u64 *w = bpf_map_lookup_elem(ht->filter, &word);

	if (w && !(*w & (1ULL << (bit & 63))))
		return 0;
	return host_key_rule(ht, key, self);
}

/* Chunks a name can take (tapis_abi.h): a label of n wire bytes is
 * (n + 7) / 8 of them, and the wire bytes of all labels add up to at most
 * TAPIS_HOST_MAX + 1. */
#define NAME_CHUNKS ((TAPIS_HOST_MAX + 1 + 7 * TAPIS_MAX_LABELS + 7) / 8)

/* The host rule for the name in the scratch buffer, or 0.
 *
 * The name is hashed as tapis_abi.h defines it, label by label from the
 * last, each label eight bytes at a time from its end: the word ending
 * where the label ends is read off the buffer, and its highest dot, if it
 * has one, is the dot in front of the label: replaced by the label's
 * length, the bytes before it masked off. A word with no dot is all label;
 * the next word back goes on with it. After each label h is the key of the
 * suffix that label starts; after the first label (its dot the one in front
 * of the name), of the whole name.
 *
 * Wire form: all keys are hashed first, then their filter bits read in
 * one pass, then the index asked for the keys let through; dotted form:
 * each key is looked up as it appears. The rules found are kept in order,
 * least specific first; then the most specific one whose rule
 * still acts wins, and any more specific one skipped because it expired is
 * counted. */
enum name_form {
	NAME_DOTTED, /* TLS, HTTP */
	NAME_WIRE,   /* DNS: label terms in nb->keys, from the stage */
};

/* The host tables of generation gen, and which suffix lengths some
 * pattern holds (settings): false when a map is missing. User space
 * publishes a generation's filter and index with its host table. */
static __always_inline bool host_tables_get(struct host_tables *ht, __u32 gen, __u64 *self_labels,
					    __u64 *sub_labels)
{
	struct tapis_settings *set;

	ht->gen = gen;
	ht->filter = bpf_map_lookup_elem(&tapis_host_filter, &gen);
	ht->index = bpf_map_lookup_elem(&tapis_host_index, &gen);
	set = bpf_map_lookup_elem(&tapis_settings, &gen);
	if (!ht->filter || !ht->index || !set)
		return false;
	*self_labels = set->self_labels;
	ht->shift = tapis_host_idx_shift(set->host_idx_log2);
	*sub_labels = set->sub_labels;
	return true;
}

/* Of the nc rules found along a name, least specific first, the most
 * specific one that acts; expired ones met on the way are counted. */
static __always_inline __u32 host_decide(__u32 gen, const __u16 *cand, __u32 nc)
{
	__u32 t, id;

	for (t = 0; t < HOST_CANDS; t++) {
		if (t >= nc)
			break;
		id = cand[(nc - 1 - t) & (HOST_CANDS - 1)];
		switch (rule_state(gen, id)) {
		case RULE_LIVE:
			return id;
		case RULE_EXPIRED:
			count_expired(id);
			break;
		default:
			break;
		}
	}
	return 0;
}

/* The host rule for a DNS name, or 0. The stage left each label's term in
 * nb->keys[i] (label i from the left, tapis_dns_label_term()) and the label
 * count in nb->nlab. From the last label, each term joins the running hash
 * and gives the key of the suffix that label starts, left in its place;
 * a key as long as some pattern (sub_labels for a parent, self_labels for
 * the whole name) has its filter bit read at once.
 *
 * Nothing branches on a word read before the last key is made, so the CPU
 * has every word's cache miss in flight at once (looked up one key at a
 * time, a name paid one miss after the other); then the index is asked
 * for the keys the filter let through, least specific first, as the rules
 * found are kept. The bits go to memory, not into one register: the
 * verifier would tell apart each mix of bits known and unknown, and check
 * the loop once per mix. */
static __always_inline __u32 host_match_wire(__u32 gen_in, struct tapis_name_buf *nb)
{
	__u64 h = TAPIS_HASH_INIT, self_labels, sub_labels, want, *w, *keys = nb->keys;
	__u32 gen = gen_in & 1, n = nb->nlab, salt = nb->name_end, nc, i, p, bit, word, id, any = 0;
	__u8 *hits = nb->key_hit;
	struct host_tables ht;

	if (!n || n > TAPIS_MAX_LABELS)
		return 0;
	if (!host_tables_get(&ht, gen, &self_labels, &sub_labels))
		return 0;
	/* Opaque: where the verifier would know h or nc exactly, it keeps a
	 * state per value. */
	h ^= opaque(0, salt);
	nc = opaque(0, salt);
	want = (sub_labels & ((1ULL << n) - 1)) | (self_labels & (1ULL << n));
	i = n;
	for (p = 1; p <= TAPIS_MAX_LABELS; p++) {
		i = (i - 1) & (TAPIS_MAX_LABELS - 1);
		h += keys[i] * (2 * (__u64)p + 1);
		keys[i] = h;
		if ((want >> p) & 1) {
			bit = tapis_host_filter_bit(h, ht.shift);
			word = bit >> 6;
			w = bpf_map_lookup_elem(ht.filter, &word);
			/* No word (not reached: it is in range): the index
			 * decides. */
			bit = w ? (*w >> (bit & 63)) & 1 : 1;
			hits[i] = bit;
			any |= bit;
		}
		if (!i)
			break;
	}
	if (!any)
		return 0;
	for (p = 1; p <= TAPIS_MAX_LABELS; p++) {
		if (!(want >> p))
			break;
		i = (n - p) & (TAPIS_MAX_LABELS - 1);
		if (!((want >> p) & 1) || !hits[i])
			continue;
		id = host_key_rule(&ht, keys[i], p == n);
		if (id)
			nb->cand[nc++ & (HOST_CANDS - 1)] = id;
	}
	return host_decide(gen, nb->cand, nc);
}

/* The host rule for the name in the scratch buffer, or 0.
 *
 * Dotted form: the name is hashed as tapis_abi.h defines it, label by
 * label from the last, each label eight bytes at a time from its end: the
 * word ending where the label ends is read off the buffer, and its highest
 * dot, if it has one, is the dot in front of the label: replaced by the
 * label's length, the bytes before it masked off. A word with no dot is
 * all label; the next word back goes on with it. After each label h is
 * the key of the suffix that label starts; after the first label (its dot
 * the one in front of the name), of the whole name. Each key is looked up
 * as it appears. The rules found are kept in order, least specific first;
 * then the most specific one whose rule still acts wins, and any more
 * specific one skipped because it expired is counted.
 *
 * Wire form: host_match_wire(). */
static __always_inline __u32 host_match(__u32 gen_in, struct tapis_name_buf *nb,
					const enum name_form form)
{
	__u32 gen, nc, id, m, e, le, s, b, len, pos, salt;
	/* In the scratch buffer, not on the stack: a stage that calls this
	 * from a global function shares the 512-byte stack with the entry. */
	__u16 *cand = nb->cand;
	__u64 h = TAPIS_HASH_INIT, acc = 0, w, d, self_labels, sub_labels;
	struct host_tables ht;

	if (!nb)
		return 0;
	if (form == NAME_WIRE)
		return host_match_wire(gen_in, nb);
	if (nb->name_end < 2)
		return 0; /* no name, or the root */
	_Static_assert(sizeof(nb->cand) / sizeof(nb->cand[0]) == HOST_CANDS, "cand");
	salt = nb->name_end;
	gen = gen_in & 1;
	/* Opaque: where the verifier would know h (only boundaries fed so
	 * far), nc (hits so far) or pos (labels so far) exactly, it keeps a
	 * state per value. */
	h ^= opaque(0, salt);
	nc = opaque(0, salt);
	pos = opaque(1, salt);
	if (!host_tables_get(&ht, gen, &self_labels, &sub_labels))
		return 0;

	e = nb->name_end;
	/* The label at hand ends at le; the word at hand ends at e. */
	le = e;
	for (m = 0; m < NAME_CHUNKS; m++) {
		/* Known ranges of e that move down per chunk would keep the
		 * verifier from seeing one chunk's state as another's: it is
		 * 0..255 at every chunk this way. */
		e &= 0xff;
		barrier_var(e);
		/* bytes[e .. e + 7] is name bytes e - 8 .. e - 1, lowercased
		 * by name_text() or the stage's copy. */
		w = load64(&nb->bytes[e]);
		d = eq_bytes(w, '.');
		if (acc)
			acc = tapis_hash_mix(acc);
		if (!d) {
			/* tapis_hash_chunk(acc, w), without mixing the 0 a
			 * label starts from (mix(0) is 0). */
			acc ^= w;
			e -= 8;
			if (le - e > TAPIS_LABEL_MAX)
				goto syntax;
			continue;
		}
		/* Opaque: last_flag() takes one verifier path per byte, and
		 * the probe below would be checked once per path. */
		b = opaque(last_flag(d), salt) & 7;
		s = e - 8 + b;
		len = le - s - 1;
		if (len < 1 || len > TAPIS_LABEL_MAX)
			goto syntax;
		/* From the dot on, the dot replaced by the length: wire form. */
		w &= ~0ULL << (8 * b);
		w = (w & ~(0xffULL << (8 * b))) | ((__u64)len << (8 * b));
		h = tapis_hash_label(h, acc ^ w, pos);
		acc = 0;
		if (!s)
			break;
		/* Only suffixes as long as some pattern that holds names
		 * below it. */
		if ((sub_labels >> (pos & 63)) & 1) {
			id = host_key_lookup(&ht, h, false);
			if (id)
				cand[nc++ & (HOST_CANDS - 1)] = id;
		}
		if (pos++ >= TAPIS_MAX_LABELS)
			goto syntax;
		e = s;
		le = s;
	}
	if (m == NAME_CHUNKS)
		return 0; /* not reached: no name has that many chunks */
	/* TLS, HTTP: each suffix was looked up whole as its key came; now
	 * the whole name. The passes below cost these stages 16-25 ns where
	 * a packet is one test run (hot match, split hello) for 50-100 ns
	 * cold: measured, not taken here. */
	if ((self_labels >> (pos & 63)) & 1) {
		id = host_key_lookup(&ht, h, true);
		if (id)
			cand[nc++ & (HOST_CANDS - 1)] = id;
	}
	return host_decide(gen, cand, nc);

syntax:
	count_reason(TAPIS_R_NAME_SYNTAX);
	return 0;
}

#endif
