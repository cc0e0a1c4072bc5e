/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: address lookups in the active generation's tables. Each returns
 * a table entry (rule id + prefix length, see tapis_abi.h) or 0. */
#ifndef TAPIS_MATCH_BPF_H
#define TAPIS_MATCH_BPF_H

#include <bpf/bpf_endian.h>
#include "maps.bpf.h"
#include "cursor.bpf.h"

static __always_inline __u32 v4_lookup(void *tbl24, void *tbl8, __u32 addr_h, __u32 dir)
{
	struct tapis_v4_ent *e;
	__u32 idx = addr_h >> 8;
	__u32 v;

	e = bpf_map_lookup_elem(tbl24, &idx);
	if (!e)
		return 0;
	v = e->ent[dir & 1];
	if (!(v & TAPIS_ENT_EXT))
		return v;
	if (!tbl8)
		return 0;
	idx = ((v & TAPIS_ENT_GROUP_MASK) << 8) | (addr_h & 0xff);
	e = bpf_map_lookup_elem(tbl8, &idx);
	return e ? e->ent[dir & 1] : 0;
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

static __always_inline __u32 v6_lookup(void *filter, __u32 gen, __u32 flags, const __u8 *addr,
				       __u32 dir)
{
	__u32 top =
		((__u32)addr[0] << 24) | ((__u32)addr[1] << 16) | ((__u32)addr[2] << 8) | addr[3];
	__u32 bit = tapis_v6_filter_bit(top), word = bit >> 6;
	void *l32;
	__u64 *w;

	if (filter) {
		w = bpf_map_lookup_elem(filter, &word);
		if (w && (*w & (1ULL << (bit & 63)))) {
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
static __always_inline void net_match(struct pkt *p, __u32 flags, __u32 *dst_ent, __u32 *src_ent)
{
	__u32 gen = p->gen;

	if (p->family == 4) {
		void *tbl24, *tbl8;

		if (!(flags & (TAPIS_SF_V4_DST | TAPIS_SF_V4_SRC)))
			return;
		tbl24 = bpf_map_lookup_elem(&tapis_v4_tbl24, &gen);
		if (!tbl24)
			return;
		tbl8 = bpf_map_lookup_elem(&tapis_v4_tbl8, &gen);
		if (flags & TAPIS_SF_V4_DST)
			*dst_ent = v4_lookup(tbl24, tbl8, bpf_ntohl(p->daddr4_be), TAPIS_DIR_DST);
		if (flags & TAPIS_SF_V4_SRC)
			*src_ent = v4_lookup(tbl24, tbl8, bpf_ntohl(p->saddr4_be), TAPIS_DIR_SRC);
	} else if (p->family == 6) {
		void *filter = bpf_map_lookup_elem(&tapis_v6_filter, &gen);

		if (flags & TAPIS_SF_V6_DST)
			*dst_ent = v6_lookup(filter, gen, flags, p->daddr6, TAPIS_DIR_DST);
		if (flags & TAPIS_SF_V6_SRC)
			*src_ent = v6_lookup(filter, gen, flags, p->saddr6, TAPIS_DIR_SRC);
	}
}

#endif
