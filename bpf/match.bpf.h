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

	if (set->v4_bits != TAPIS_V4_BITS_SMALL) {
		if (flags & TAPIS_SF_V4_CHUNK_SMALL)
			V4_LEAVES(tapis_v4_dir24, TAPIS_V4_BITS_LARGE, 0, tapis_v4_chunk_s);
		else
			V4_LEAVES(tapis_v4_dir24, TAPIS_V4_BITS_LARGE, 0, tapis_v4_chunk);
	} else if (flags & TAPIS_SF_V4_CHUNK_SMALL)
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

/* Probe the exact-prefix hash for the lengths of a hashed group, longest
 * first: the first prefix whose rule acts is the match, expired ones on
 * the way counted and fallen through. bpf_loop keeps the verifier from
 * walking up to 97 probes one state at a time. */
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
	__u32 w, b, plen, full, rem, j, id;
	enum rule_state st;
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
	if (!v)
		return 0;
	id = tapis_ent_rule(*v);
	st = rule_state(c->gen, id);
	if (st == RULE_LIVE) {
		c->result = *v;
		return 1;
	}
	if (st == RULE_EXPIRED)
		count_expired(id);
	return 0;
}

/* The most specific prefix of the inline ones that holds bits (address
 * bits 32..63), and the parents it lies in: the list chain_live walks.
 * Blocks keep their prefixes longest first (nets.c), so the first that
 * holds bits is the most specific, and the scan stops there. A length
 * 32..64 keeps the top (plen - 32) bits of the 32: it holds bits when
 * they differ from its own only below those, which one 64-bit shift by
 * 64 - plen tells (by 32 for a /32: nothing kept). */
static __always_inline void v6_inline_list(const struct tapis_v6_blk *bl, __u32 bits, __u32 *list)
{
	__u32 n = bl->n, cur = 0;
	int i;

	/* The block's second cache line, asked for before any branch on the
	 * first line's content: a branch mispredicted there would otherwise
	 * issue this miss only after the first one returned. */
	asm volatile("" : : "r"(bl->inl[TAPIS_V6_BLK_INLINE - 1].bits));
#pragma unroll
	for (i = 0; i < TAPIS_V6_BLK_INLINE; i++) {
		__u64 diff = bits ^ bl->inl[i].bits;

		if ((__u32)i >= n)
			break;
		if (!(diff >> ((64 - tapis_ent_plen(bl->inl[i].ent)) & 63))) {
			cur = i + 1;
			break;
		}
	}
#pragma unroll
	for (i = 0; i < TAPIS_NET_CHAIN; i++) {
		__u32 e;

		if (!cur || cur > TAPIS_V6_BLK_INLINE)
			break;
		e = bl->inl[cur - 1].ent;
		list[i] = e & (TAPIS_ENT_RULE_MASK | TAPIS_ENT_PLEN_MASK);
		cur = e >> TAPIS_V6_PARENT_SHIFT;
	}
}

/* The entry for one IPv6 address (hi, lo: its two halves, host order),
 * its group's block blk (0: none) found: a global function, so that the
 * verifier checks it once for both directions. At most five arguments:
 * how holds the generation, the direction and whether short prefixes
 * exist (V6_HOW). */
/* Keeps the compiler from merging the lookups of the size classes into
 * one call (which the verifier could not inline, as it would read several
 * maps): an empty statement that names the class. */
#define V6_KEEP(ptr, bits) asm volatile("" : "+r"(ptr) : "i"(bits))

#define V6_HOW(gen, dir, flags, cls)                                                               \
	(((gen)&1) | ((dir) << 1) | ((flags)&TAPIS_SF_V6_SHORT ? 4 : 0) | (((cls)&3) << 3))

/* A block read from the map of its size class: each class its own reads,
 * which the verifier inlines. */
#define V6_BLK_READ(map, bits)                                                                     \
	do {                                                                                       \
		void *m_ = bpf_map_lookup_elem(&map, &gen);                                        \
		__u32 k_ = blk & ((1u << (bits)) - 1);                                             \
                                                                                                   \
		bl = m_ ? bpf_map_lookup_elem(m_, &k_) : NULL;                                     \
		V6_KEEP(bl, bits);                                                                 \
	} while (0)

__noinline __u32 tapis_v6_match(__u32 how, __u32 blk, __u64 hi, __u64 lo)
{
	__u32 gen = how & 1, dir = (how >> 1) & 1;
	struct tapis_v6_blk *bl = NULL;
	void *m;

	if (blk) {
		switch ((how >> 3) & 3) {
		case 0:
			V6_BLK_READ(tapis_v6_blk8, 8);
			break;
		case 1:
			V6_BLK_READ(tapis_v6_blk12, 12);
			break;
		case 2:
			V6_BLK_READ(tapis_v6_blk15, 15);
			break;
		default:
			V6_BLK_READ(tapis_v6_blk18, 18);
			break;
		}
		if (bl && !bl->hashed) {
			__u32 list[TAPIS_NET_CHAIN] = {}, e;

			v6_inline_list(bl, (__u32)hi, list);
			e = chain_live(gen, list);
			if (e)
				return e;
		} else if (bl) {
			struct v6_probe_ctx pc = {};
			int j;

			pc.k.dir = dir;
			pc.k.top = hi >> 32;
			pc.gen = gen;
			pc.mask[0] = bl->lenmask[0];
			pc.mask[1] = bl->lenmask[1];
#pragma unroll
			for (j = 0; j < 8; j++) {
				pc.addr[j] = hi >> (56 - 8 * j);
				pc.addr[8 + j] = lo >> (56 - 8 * j);
			}
			bpf_loop(97, v6_probe_one, &pc, 0);
			if (pc.result)
				return pc.result;
		}
	}
	if (how & 4) {
		struct tapis_lpm_v6_key k = {.prefixlen = 8 + 128};
		__u32 *v;
		int j;

		m = bpf_map_lookup_elem(&tapis_v6_short, &gen);
		if (!m)
			return 0;
		k.data[0] = dir;
#pragma unroll
		for (j = 0; j < 8; j++) {
			k.data[1 + j] = hi >> (56 - 8 * j);
			k.data[9 + j] = lo >> (56 - 8 * j);
		}
		v = bpf_map_lookup_elem(m, &k);
		if (v)
			return *v;
	}
	return 0;
}

/* The block of the group of top in direction dir, found in its bucket
 * (bk: NULL when the generation has none), or 0. */
static __always_inline __u32 v6_group(const struct tapis_v6_bucket *bk, __u32 top, __u32 dir)
{
	__u64 want = ((__u64)top << 32) | ((__u64)dir << TAPIS_V6_SLOT_DIR_BIT);
	int i;

	if (!bk)
		return 0;
#pragma unroll
	for (i = 0; i < TAPIS_V6_DIR_SLOTS; i++) {
		__u64 s = bk->slot[i];

		if (!s)
			break;
		if ((s & ~(__u64)TAPIS_V6_SLOT_BLK_MASK) == want)
			return s & TAPIS_V6_SLOT_BLK_MASK;
	}
	return 0;
}

static __always_inline __u64 v6_half(const __u8 *a)
{
	__u64 v;

	__builtin_memcpy(&v, a, 8);
	return bpf_be64_to_cpu(v);
}

/* The buckets of a packet's addresses in the map of the generation's
 * class, both first, so that their cache misses overlap. */
#define V6_BUCKETS(map, bits)                                                                      \
	do {                                                                                       \
		void *d_ = bpf_map_lookup_elem(&map, &gen);                                        \
                                                                                                   \
		if (d_ && (flags & TAPIS_SF_V6_DST)) {                                             \
			kd = tapis_v6_bucket_of(dh >> 32, TAPIS_DIR_DST, bits);                    \
			bd = bpf_map_lookup_elem(d_, &kd);                                         \
			V6_KEEP(bd, bits);                                                         \
		}                                                                                  \
		if (d_ && (flags & TAPIS_SF_V6_SRC)) {                                             \
			ks = tapis_v6_bucket_of(sh >> 32, TAPIS_DIR_SRC, bits);                    \
			bs = bpf_map_lookup_elem(d_, &ks);                                         \
			V6_KEEP(bs, bits);                                                         \
		}                                                                                  \
	} while (0)

/* Both cache lines of a block asked for, the value unused. */
static __always_inline void v6_touch_blk(void *m, __u32 id)
{
	struct tapis_v6_blk *x = bpf_map_lookup_elem(m, &id);

	if (x)
		asm volatile("" : : "r"(x->n), "r"(x->inl[TAPIS_V6_BLK_INLINE - 1].bits));
}

/* The home blocks of the buckets read (tapis_abi.h), asked for beside
 * them: a group in one of them is read without a second miss in a row. */
#define V6_HOMES(map, bits)                                                                        \
	do {                                                                                       \
		void *m_ = bpf_map_lookup_elem(&map, &gen);                                        \
                                                                                                   \
		if (m_ && bd) {                                                                    \
			v6_touch_blk(m_, tapis_v6_home(kd, 0, bits));                              \
			v6_touch_blk(m_, tapis_v6_home(kd, 1, bits));                              \
		}                                                                                  \
		if (m_ && bs) {                                                                    \
			v6_touch_blk(m_, tapis_v6_home(ks, 0, bits));                              \
			v6_touch_blk(m_, tapis_v6_home(ks, 1, bits));                              \
		}                                                                                  \
	} while (0)

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
		__u64 dh = v6_half(p->daddr6), sh = v6_half(p->saddr6);
		struct tapis_v6_bucket *bd = NULL, *bs = NULL;
		__u32 kd = 0, ks = 0, gd = 0, gs = 0, bc = set->v6_blk_class;

		switch (set->v6_dir_class) {
		case 0:
			V6_BUCKETS(tapis_v6_dir6, 6);
			break;
		case 1:
			V6_BUCKETS(tapis_v6_dir10, 10);
			break;
		case 2:
			V6_BUCKETS(tapis_v6_dir14, 14);
			break;
		default:
			V6_BUCKETS(tapis_v6_dir18, 18);
			break;
		}
		switch (bc) {
		case 0:
			V6_HOMES(tapis_v6_blk8, 8);
			break;
		case 1:
			V6_HOMES(tapis_v6_blk12, 12);
			break;
		case 2:
			V6_HOMES(tapis_v6_blk15, 15);
			break;
		default:
			V6_HOMES(tapis_v6_blk18, 18);
			break;
		}
		/* The buckets' content read only now (no load moved above). */
		asm volatile("" : : : "memory");
		gd = v6_group(bd, dh >> 32, TAPIS_DIR_DST);
		gs = v6_group(bs, sh >> 32, TAPIS_DIR_SRC);
		if ((flags & TAPIS_SF_V6_DST) && (gd || (flags & TAPIS_SF_V6_SHORT)))
			*dst_ent = tapis_v6_match(V6_HOW(gen, TAPIS_DIR_DST, flags, bc), gd, dh,
						  v6_half(p->daddr6 + 8));
		if ((flags & TAPIS_SF_V6_SRC) && (gs || (flags & TAPIS_SF_V6_SHORT)))
			*src_ent = tapis_v6_match(V6_HOW(gen, TAPIS_DIR_SRC, flags, bc), gs, sh,
						  v6_half(p->saddr6 + 8));
	}
}

#endif
