/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: address lookups in the active generation's tables. Each returns
 * a table entry (rule id + prefix length, see tapis_abi.h) or 0: for IPv4
 * the most specific prefix whose rule acts now. */
#ifndef TAPIS_MATCH_BPF_H
#define TAPIS_MATCH_BPF_H

#include <bpf/bpf_endian.h>
#include "maps.bpf.h"
#include "cursor.bpf.h"
#include "rules.bpf.h"

/* The slot for index i of a packed slot array, or 0 (the empty leaf). */
static __always_inline __u32 v4_slot(void *map, __u32 i)
{
	__u32 k = i / TAPIS_V4_SLOTS_PER_VAL;
	struct tapis_v4_slots *v = bpf_map_lookup_elem(map, &k);

	return v ? v->s[i & (TAPIS_V4_SLOTS_PER_VAL - 1)] : 0;
}

/* The leaf under a slot: a chunk per 8 bits while the slot points to one
 * (end16: the slot is of the /16 level). */
static __always_inline __u32 v4_chunk_walk(void *chunks, __u32 v, __u32 a, int end16, __u32 lim)
{
	if (v < lim)
		return v;
	if (!chunks)
		return 0;
	if (end16) {
		v = v4_slot(chunks, ((v - lim) << TAPIS_V4_CHUNK_BITS) | ((a >> 8) & 0xff));
		if (v < lim)
			return v;
	}
	v = v4_slot(chunks, ((v - lim) << TAPIS_V4_CHUNK_BITS) | (a & 0xff));
	return v < lim ? v : 0;
}

/* The first entry of a leaf's list whose rule acts now; expired ones on
 * the way are counted on their rule, as decide() would have. */
static __always_inline __u32 chain_live(__u32 gen, const __u32 *ent)
{
	int i;

	/* One entry (its rule never expires, or nothing lies under it):
	 * decide() asks about its rule anyway. */
	if (!ent[1])
		return ent[0];
#pragma unroll
	for (i = 0; i < TAPIS_NET_CHAIN; i++) {
		__u32 e = ent[i], id = tapis_ent_rule(e);
		enum rule_state st;

		if (!e)
			return 0;
		st = rule_state(gen, id);
		if (st == RULE_LIVE)
			return e;
		if (st == RULE_EXPIRED)
			count_expired(id);
	}
	return 0;
}

/* The leaves of a packet's addresses (host order), first-level reads
 * first so that their cache misses overlap; the map of each stride has
 * its own reads, which the verifier inlines (a fixed-size array), and so
 * has the small chunk map (cmap). */
#define V4_LEAVES(map, bits, end16, cmap)                                                          \
	do {                                                                                       \
		void *dir = bpf_map_lookup_elem(&map, &gen);                                       \
                                                                                                   \
		if (!dir)                                                                          \
			return;                                                                    \
		if (flags & TAPIS_SF_V4_DST)                                                       \
			ld = v4_slot(dir, da >> (32 - (bits)));                                    \
		if (flags & TAPIS_SF_V4_SRC)                                                       \
			ls = v4_slot(dir, sa >> (32 - (bits)));                                    \
		if (ld >= lim || ls >= lim) {                                                      \
			void *chunks = bpf_map_lookup_elem(&cmap, &gen);                           \
                                                                                                   \
			ld = v4_chunk_walk(chunks, ld, da, end16, lim);                            \
			ls = v4_chunk_walk(chunks, ls, sa, end16, lim);                            \
		}                                                                                  \
	} while (0)

static __always_inline void v4_match(struct pkt *p, const struct tapis_settings *set,
				     __u32 *dst_ent, __u32 *src_ent)
{
	__u32 gen = p->gen, ld = 0, ls = 0, flags = set->flags, lim = set->v4_leaf_limit;
	__u32 da = bpf_ntohl(p->daddr4_be), sa = bpf_ntohl(p->saddr4_be);
	struct tapis_v4_leaf *l;
	void *leaves;

	/* The small chunk map goes with a /16 first level only (nets.c). */
	if (set->v4_bits != TAPIS_V4_BITS_SMALL)
		V4_LEAVES(tapis_v4_dir24, TAPIS_V4_BITS_LARGE, 0, tapis_v4_chunk);
	else if (flags & TAPIS_SF_V4_CHUNK_SMALL)
		V4_LEAVES(tapis_v4_dir16, TAPIS_V4_BITS_SMALL, 1, tapis_v4_chunk_s);
	else
		V4_LEAVES(tapis_v4_dir16, TAPIS_V4_BITS_SMALL, 1, tapis_v4_chunk);
	if (!ld && !ls)
		return;
	leaves = bpf_map_lookup_elem(&tapis_v4_leaf, &gen);
	if (!leaves)
		return;
	if (ld) {
		l = bpf_map_lookup_elem(leaves, &ld);
		if (l)
			*dst_ent = chain_live(gen, l->ent[TAPIS_DIR_DST]);
	}
	if (ls) {
		l = bpf_map_lookup_elem(leaves, &ls);
		if (l)
			*src_ent = chain_live(gen, l->ent[TAPIS_DIR_SRC]);
	}
}

static __always_inline int fls64_idx(__u64 x)
{
	int n = 0;

	if (x & 0xffffffff00000000ULL) {
		n += 32;
		x >>= 32;
	}
	if (x & 0xffff0000ULL) {
		n += 16;
		x >>= 16;
	}
	if (x & 0xff00ULL) {
		n += 8;
		x >>= 8;
	}
	if (x & 0xf0ULL) {
		n += 4;
		x >>= 4;
	}
	if (x & 0xcULL) {
		n += 2;
		x >>= 2;
	}
	if (x & 0x2ULL)
		n += 1;
	return n;
}

/* Probe the exact-prefix hash for every length present under this /32,
 * longest first: the first hit is the most specific prefix. bpf_loop keeps
 * the verifier from walking up to 97 probes one state at a time. */
struct v6_probe_ctx {
	struct tapis_v6_key k;
	__u8 addr[16];
	__u64 mask[2];
	__u32 gen;
	__u32 result;
};

static long v6_probe_one(__u32 idx, void *data)
{
	struct v6_probe_ctx *c = data;
	__u32 w, b, plen, full, rem, j;
	void *pfx;
	__u32 *v;

	(void)idx;
	if (c->mask[1])
		w = 1;
	else if (c->mask[0])
		w = 0;
	else
		return 1;
	b = fls64_idx(c->mask[w]);
	c->mask[w] &= ~(1ULL << (b & 63));
	plen = 32 + w * 64 + b;
	if (plen > 128)
		return 1;
	full = plen >> 3;
	rem = plen & 7;
	c->k.plen = plen;
#pragma unroll
	for (j = 0; j < 16; j++) {
		if (j < full)
			c->k.addr[j] = c->addr[j];
		else if (j == full && rem)
			c->k.addr[j] = c->addr[j] & (__u8)(0xff << (8 - rem));
		else
			c->k.addr[j] = 0;
	}
	pfx = bpf_map_lookup_elem(&tapis_v6_pfx, &c->gen);
	if (!pfx)
		return 1;
	v = bpf_map_lookup_elem(pfx, &c->k);
	if (v) {
		c->result = *v;
		return 1;
	}
	return 0;
}

static __always_inline __u32 v6_top(const __u8 *addr)
{
	return ((__u32)addr[0] << 24) | ((__u32)addr[1] << 16) | ((__u32)addr[2] << 8) | addr[3];
}

/* Whether the filter's bit for addr's top 32 bits is set. */
static __always_inline int v6_filter_hit(void *filter, const __u8 *addr, int small)
{
	__u32 bit = tapis_v6_filter_bit(v6_top(addr), small), word = bit >> 6;
	__u64 *w = filter ? bpf_map_lookup_elem(filter, &word) : NULL;

	return w && (*w & (1ULL << (bit & 63)));
}

/* hit: the filter says the top 32 bits may have prefixes. */
static __always_inline __u32 v6_lookup(int hit, __u32 gen, __u32 flags, const __u8 *addr, __u32 dir)
{
	__u32 top = v6_top(addr);
	void *l32;

	{
		if (hit) {
			struct tapis_v6_l32_key lk = {.top = top, .dir = dir};
			struct tapis_v6_l32_val *lv;

			l32 = bpf_map_lookup_elem(&tapis_v6_l32, &gen);
			lv = l32 ? bpf_map_lookup_elem(l32, &lk) : NULL;
			if (lv && !lv->overflow) {
				__u32 bits = ((__u32)addr[4] << 24) | ((__u32)addr[5] << 16) |
					     ((__u32)addr[6] << 8) | addr[7];
				__u32 best = 0, best_len = 0;
				int i;

#pragma unroll
				for (i = 0; i < TAPIS_V6_INLINE; i++) {
					const struct tapis_v6_inline *in = &lv->inl[i];
					__u32 pl = in->plen, m;

					if (i >= lv->n_inline || pl < 32 || pl > 64)
						break;
					m = pl == 32 ? 0 : 0xffffffffu << (64 - pl);
					if ((bits & m) == in->bits && pl >= best_len) {
						best = in->ent;
						best_len = pl;
					}
				}
				if (best)
					return best;
			} else if (lv) {
				struct v6_probe_ctx pc = {};

				pc.k.dir = dir;
				pc.k.top = top;
				pc.gen = gen;
				pc.mask[0] = lv->lenmask[0];
				pc.mask[1] = lv->lenmask[1];
				__builtin_memcpy(pc.addr, addr, 16);
				bpf_loop(97, v6_probe_one, &pc, 0);
				if (pc.result)
					return pc.result;
			}
		}
	}
	if (flags & TAPIS_SF_V6_SHORT) {
		struct tapis_lpm_v6_key k = {.prefixlen = 8 + 128};
		void *trie = bpf_map_lookup_elem(&tapis_v6_short, &gen);
		__u32 *v;

		if (!trie)
			return 0;
		k.data[0] = dir;
		__builtin_memcpy(&k.data[1], addr, 16);
		v = bpf_map_lookup_elem(trie, &k);
		if (v)
			return *v;
	}
	return 0;
}

/* Destination and source entries for this packet, each only when the
 * generation has prefixes for that family and direction. */
static __always_inline void net_match(struct pkt *p, const struct tapis_settings *set,
				      __u32 *dst_ent, __u32 *src_ent)
{
	__u32 flags = set->flags;
	__u32 gen = p->gen;

	if (p->family == 4) {
		if (flags & (TAPIS_SF_V4_DST | TAPIS_SF_V4_SRC))
			v4_match(p, set, dst_ent, src_ent);
	} else if (p->family == 6) {
		int hd = 0, hs = 0;
		void *filter;

		/* Each filter size its own reads, which the verifier inlines. */
		if (flags & TAPIS_SF_V6_FILTER_SMALL) {
			filter = bpf_map_lookup_elem(&tapis_v6_filter_s, &gen);
			if (flags & TAPIS_SF_V6_DST)
				hd = v6_filter_hit(filter, p->daddr6, 1);
			if (flags & TAPIS_SF_V6_SRC)
				hs = v6_filter_hit(filter, p->saddr6, 1);
		} else {
			filter = bpf_map_lookup_elem(&tapis_v6_filter, &gen);
			if (flags & TAPIS_SF_V6_DST)
				hd = v6_filter_hit(filter, p->daddr6, 0);
			if (flags & TAPIS_SF_V6_SRC)
				hs = v6_filter_hit(filter, p->saddr6, 0);
		}
		if (flags & TAPIS_SF_V6_DST)
			*dst_ent = v6_lookup(hd, gen, flags, p->daddr6, TAPIS_DIR_DST);
		if (flags & TAPIS_SF_V6_SRC)
			*src_ent = v6_lookup(hs, gen, flags, p->saddr6, TAPIS_DIR_SRC);
	}
}

#endif
