/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: TCP flows on tls and http ports: the verdict a name gave the
 * flow, and the TLS / HTTP stages fed segment by segment (tapis_abi.h,
 * "per-flow state").
 *
 * flow_lookup() keys the packet's flow as its client sees it, so both
 * directions find one slot, and reads that slot inline: most packets on
 * these ports belong to flows no name blocked, and pay a hash and one
 * array read. l7_stage() feeds the payload of a client's segment to the
 * TLS or HTTP parser: a segment that starts a hello or a request, or the
 * next in-order segment of one being followed. What it cannot follow
 * passes: a segment out of order drops the flow's state (counted), more
 * than TAPIS_L7_MAX_SEGS segments or TAPIS_L7_MAX_BYTES bytes is counted
 * as the stage's bound. */
#ifndef TAPIS_FLOW_BPF_H
#define TAPIS_FLOW_BPF_H

#include <linux/tcp.h>
#include "cursor.bpf.h"
#include "l7_tls.bpf.h"
#include "l7_http.bpf.h"
#include "l7_dns.bpf.h"

/* Slots of tapis_flows less one (a power of two), set at load. */
TAPIS_LOAD_CONST __u32 flow_mask = TAPIS_FLOWS_DEFAULT - 1;

/* Where the packet's flow stands: in the scratch buffer (nb->fpos), off
 * the entry's stack, which it shares with the global functions it calls. */
#define flow_ctx tapis_flow_pos

static __always_inline __u64 flow_word(const struct tapis_flow_key *k, int i)
{
	return ((const __u64 *)k)[i];
}

/* The TCP payload's place and sequence number in f: 0, or -1 when the
 * header is not in the frame. */
static __always_inline int flow_payload(struct xdp_md *ctx, const struct pkt *p, struct flow_ctx *f)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct tcphdr *th;
	__u32 l3_end, l4;

	/* Opaque offsets: each way the headers in front can be stacked
	 * reaches the rest in one verifier state, not one per layout. */
	l4 = opaque(p->l4_off, p->len);
	th = data + (l4 & OFF_MASK);
	if ((void *)(th + 1) > end)
		return -1;
	f->seq = bpf_ntohl(th->seq);
	l3_end = ip_datagram_end(data, end, p->family, opaque(p->l3_off, p->len));
	f->pay_off = l4 + th->doff * 4;
	f->pay_end = l3_end > f->pay_off ? l3_end : f->pay_off;
	return 0;
}

/* A SYN without ACK and without payload: it opens a connection, so it has
 * no name and meets no flow verdict (flow_lookup would return at once; a
 * SYN with data, TCP Fast Open, may carry a hello). The entry asks before
 * the name stages, so that a SYN flood to random addresses touches no
 * cache line of the scratch buffer. The header is found again through
 * opaque offsets, as flow_payload does: one verifier state. */
static __always_inline bool tcp_bare_syn(struct xdp_md *ctx, const struct pkt *p)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct tcphdr *th;
	__u32 l4;

	if ((p->tcp_flags & (TAPIS_TCP_SYN | TAPIS_TCP_ACK)) != TAPIS_TCP_SYN)
		return false;
	l4 = opaque(p->l4_off, p->len);
	th = data + (l4 & OFF_MASK);
	if ((void *)(th + 1) > end)
		return false;
	return l4 + th->doff * 4 >=
	       ip_datagram_end(data, end, p->family, opaque(p->l3_off, p->len));
}

/* Fill the key in nb, hash it to its slot and read the slot, for a TCP
 * packet to or from a tls or http port (the entry checks; dcls: the
 * destination port's port_classes()) of a policy with names. */
static __always_inline void flow_lookup(struct xdp_md *ctx, const struct pkt *p, __u32 dcls,
					struct tapis_name_buf *nb, struct flow_ctx *f)
{
	struct tapis_flow_key *k = &nb->fk;
	struct tapis_flow_slot *s;
	__u64 h, *w = (__u64 *)k;
	bool cli;

	if (dcls & PC_TLS) {
		f->to_server = 1;
		f->cls = TAPIS_PORT_TLS;
	} else if (dcls & PC_HTTP) {
		f->to_server = 1;
		f->cls = TAPIS_PORT_HTTP;
	}
	/* A bare SYN opens a connection: no verdict yet, no name. (A SYN
	 * with data, TCP Fast Open, may carry a hello.) */
	if ((p->tcp_flags & (TAPIS_TCP_SYN | TAPIS_TCP_ACK)) == TAPIS_TCP_SYN &&
	    (flow_payload(ctx, p, f) || f->pay_off >= f->pay_end))
		return;

	cli = f->to_server;
	if (p->family == 4) {
		w[0] = cli ? p->saddr4_be : p->daddr4_be;
		w[1] = 0;
		w[2] = cli ? p->daddr4_be : p->saddr4_be;
		w[3] = 0;
	} else {
		__builtin_memcpy(k->caddr, cli ? p->saddr6 : p->daddr6, 16);
		__builtin_memcpy(k->saddr, cli ? p->daddr6 : p->saddr6, 16);
	}
	/* cport_be, sport_be, family, pad: the fifth word, as it lies. */
	w[4] = (__u64)(cli ? p->sport_be : p->dport_be) |
	       (__u64)(cli ? p->dport_be : p->sport_be) << 16 | (__u64)p->family << 32;

	h = tapis_flow_hash(k);
	nb->slot = (__u32)h & flow_mask;
	nb->check = (__u32)(h >> 32);
	s = bpf_map_lookup_elem(&tapis_flows, &nb->slot);
	if (s && s->state && s->check == (nb->check ^ s->rule ^ ((__u32)s->state << 16)) &&
	    flow_word(&s->key, 0) == w[0] && flow_word(&s->key, 1) == w[1] &&
	    flow_word(&s->key, 2) == w[2] && flow_word(&s->key, 3) == w[3] &&
	    flow_word(&s->key, 4) == w[4]) {
		f->state = s->state;
		f->rule = s->rule;
		/* A verdict is all its packets need. */
		if (f->state == TAPIS_FLOW_VERDICT)
			return;
	}
	flow_payload(ctx, p, f);
}

/* Give the flow's slot to this flow with state (and rule, kind); a
 * different flow there is evicted. */
static __always_inline void flow_slot_set(struct tapis_name_buf *nb, struct flow_ctx *f,
					  __u32 state, __u32 rule, __u32 kind)
{
	struct tapis_flow_slot *s = bpf_map_lookup_elem(&tapis_flows, &nb->slot);

	if (!s)
		return;
	if (s->state && !f->state)
		count_stat(TAPIS_S_FLOW_EVICT);
	s->state = 0; /* readers see a half-written slot as empty */
	__builtin_memcpy(&s->key, &nb->fk, sizeof(s->key));
	s->rule = rule;
	s->kind = kind;
	s->check = nb->check ^ rule ^ (state << 16);
	s->state = state;
	f->state = state;
}

static __always_inline void flow_slot_clear(struct tapis_name_buf *nb, struct flow_ctx *f)
{
	struct tapis_flow_slot *s;

	if (f->state) {
		s = bpf_map_lookup_elem(&tapis_flows, &nb->slot);
		if (s)
			s->state = 0;
	}
	f->state = 0;
}

/* Is the entry tagged for this packet's flow? */
static __always_inline bool l7_tag_ours(const struct tapis_l7_tag *t,
					const struct tapis_name_buf *nb)
{
	return *(volatile const __u32 *)&t->slot == nb->slot &&
	       *(volatile const __u32 *)&t->check == nb->check;
}

/* Retag an entry in two steps around writing it: a reader on another CPU
 * sees either the old owner's tag around the old bytes or neither. */
static __always_inline void l7_tag_take(struct tapis_l7_tag *t, const struct tapis_name_buf *nb)
{
	*(volatile __u32 *)&t->check = ~nb->check;
	*(volatile __u32 *)&t->slot = nb->slot;
}

static __always_inline void l7_tag_set(struct tapis_l7_tag *t, const struct tapis_name_buf *nb)
{
	*(volatile __u32 *)&t->check = nb->check;
}

/* Feed this segment to the L7 stage of its port: the outcome, with a
 * reason for L7_ERR; on L7_NAME the name is in nb, ready for the match. */
static __always_inline __u32 l7_stage(struct xdp_md *ctx, struct tapis_name_buf *nb,
				      struct flow_ctx *f, __u32 *reason)
{
	struct tapis_flow_val *st = &nb->st;
	struct tapis_l7_state *prev = NULL;
	struct tapis_name_buf *c = nb;
	struct tapis_l7_name *part;
	__u32 len, kind, i, off, idx;

	if (!f->to_server || f->pay_off >= f->pay_end || f->pay_end > OFF_MASK)
		return L7_NONE;
	off = f->pay_off;
	c->end = f->pay_end;
	c->res = L7_RUN;
	c->reason = 0;
	nb->lowered = 0;
	if (f->state == TAPIS_FLOW_TLS || f->state == TAPIS_FLOW_HTTP) {
		idx = nb->slot & l7_state_mask;
		prev = bpf_map_lookup_elem(&tapis_l7_states, &idx);
		if (!prev || !l7_tag_ours(&prev->tag, nb))
			goto lost;
		__builtin_memcpy(st, &prev->st, sizeof(*st));
		/* Read again after the copy: a flow that took the entry
		 * meanwhile on another CPU retagged it first. */
		if (!l7_tag_ours(&prev->tag, nb) || st->next_seq != f->seq)
			goto lost;
		if (st->name_have) {
			idx = nb->slot & l7_name_mask;
			part = bpf_map_lookup_elem(&tapis_l7_names, &idx);
			if (!part || !l7_tag_ours(&part->tag, nb))
				goto lost;
			__builtin_memcpy(&nb->bytes[TAPIS_NAME_OFF + 1], part->bytes,
					 sizeof(part->bytes));
			if (!l7_tag_ours(&part->tag, nb))
				goto lost;
		}
	} else if (f->state) {
		return L7_NONE; /* a verdict: the caller has seen it */
	} else if (f->cls == TAPIS_PORT_TLS) {
		if (!tls_hello_start(ctx, off, f->pay_end))
			return L7_NONE;
		tls_start(st);
	} else {
		if (!http_start(ctx, st, &off, f->pay_end))
			return L7_NONE;
	}
	c->off = off;
	/* A hello's extensions, in the first segment or a later one, are
	 * walked in place where they can be (l7_tls.bpf.h). */
	i = 0;
	if (st->state == TAPIS_FLOW_TLS && (prev || tls_fast(ctx, nb, off, f->pay_end)))
		i = tls_fast_exts(ctx, nb);
	if (st->state == TAPIS_FLOW_HTTP && !prev)
		i = http_fast(ctx);
	if (i == 1 || i == 3) {
		/* A whole name in this packet, lowercased as it is copied:
		 * TLS's at st->skip, here; HTTP's as it was scanned. */
		len = st->name_len;
		if (!len || (i == 1 && l7_name_words(ctx, st->skip, len))) {
			*reason = TAPIS_R_NAME_SYNTAX;
			return L7_ERR;
		}
		st->name_have = len;
		c->res = L7_NAME;
		nb->lowered = 1;
	} else if (i) {
		c->res = L7_NONE;
	}

	/* The steps are global functions, each verified once; this loop is
	 * all the verifier walks here. */
	if (st->state == TAPIS_FLOW_TLS) {
		kind = TAPIS_KIND_TLS;
		for (i = 0; i < TAPIS_L7_MAX_STEPS && c->res == L7_RUN; i++)
			if (tls_step(ctx))
				break;
	} else {
		kind = TAPIS_KIND_HTTP;
		for (i = 0; i < TAPIS_L7_MAX_STEPS && c->res == L7_RUN; i++)
			if (http_step(ctx))
				break;
	}
	if (c->res == L7_RUN) {
		c->res = L7_ERR;
		c->reason = kind == TAPIS_KIND_TLS ? TAPIS_R_TLS_BOUND : TAPIS_R_HTTP_BOUND;
	}
	if (c->res == L7_MORE) {
		st->segs++;
		if (st->segs >= TAPIS_L7_MAX_SEGS) {
			c->res = L7_ERR;
			c->reason = kind == TAPIS_KIND_TLS ? TAPIS_R_TLS_BOUND : TAPIS_R_HTTP_BOUND;
		} else {
			st->next_seq = f->seq + (f->pay_end - f->pay_off);
			if (st->segs == 1)
				count_stat(TAPIS_S_L7_FOLLOWED);
			if (st->name_have) {
				idx = nb->slot & l7_name_mask;
				part = bpf_map_lookup_elem(&tapis_l7_names, &idx);
				if (!part)
					goto lost;
				l7_tag_take(&part->tag, nb);
				__builtin_memcpy(part->bytes, &nb->bytes[TAPIS_NAME_OFF + 1],
						 sizeof(part->bytes));
				l7_tag_set(&part->tag, nb);
			}
			if (prev) {
				__builtin_memcpy(&prev->st, st, sizeof(*st));
				return L7_MORE;
			}
			idx = nb->slot & l7_state_mask;
			prev = bpf_map_lookup_elem(&tapis_l7_states, &idx);
			if (!prev)
				return L7_NONE;
			l7_tag_take(&prev->tag, nb);
			__builtin_memcpy(&prev->st, st, sizeof(*st));
			l7_tag_set(&prev->tag, nb);
			flow_slot_set(nb, f, st->state, 0, 0);
			return L7_MORE;
		}
	}
	if (prev)
		flow_slot_clear(nb, f);
	if (c->res == L7_NONE && kind == TAPIS_KIND_TLS && st->phase != TLS_P_HS)
		count_stat(TAPIS_S_TLS_NO_SNI);
	if (c->res == L7_ERR)
		*reason = c->reason;
	if (c->res != L7_NAME)
		return c->res;
	if (st->flags & TAPIS_L7F_ECH)
		count_stat(TAPIS_S_TLS_ECH);
	*reason = name_text(nb, st->name_have, kind);
	return *reason ? L7_ERR : L7_NAME;

lost:
	/* A retransmission of what was fed, a gap, or an entry another flow
	 * took: the stream cannot be followed. */
	flow_slot_clear(nb, f);
	*reason = TAPIS_R_L7_OUT_OF_ORDER;
	return L7_ERR;
}

/* The host rule a name in this segment gives (0: none, or no name), the
 * stage in nb->kind; fail-open reasons counted here. A global function:
 * the parsers and the match are verified once, not once per way the
 * headers in front can be stacked. */
__noinline int l7_tcp(struct xdp_md *ctx, __u32 gen)
{
	struct tapis_name_buf *nb = name_buf();
	struct flow_ctx *f;
	__u32 reason = 0, ret;

	if (!ctx || !nb)
		return 0;
	f = &nb->fpos;
	nb->kind = TAPIS_KIND_NET;
	ret = l7_stage(ctx, nb, f, &reason);
	if (ret == L7_ERR)
		count_reason(reason);
	else if (ret == L7_NAME)
		return host_match(gen, nb, NAME_DOTTED);
	return 0;
}

/* Whether the L7 stages have anything to do with this client segment: a
 * hello or request being followed, or a payload whose first byte can
 * start one (a TLS handshake record; a request method's capital letter).
 * Asked inline before the l7_tcp call: most segments on these ports are
 * neither (application data, a request body), and a call with its return
 * costs more than reading the byte. */
static __always_inline bool l7_may_start(struct xdp_md *ctx, const struct flow_ctx *f)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u8 *b;

	if (f->state)
		return true;
	b = data + (f->pay_off & OFF_MASK);
	if ((void *)(b + 1) > end)
		return true; /* not reached: the payload is in the frame */
	return f->cls == TAPIS_PORT_TLS ? *b == TLS_REC_HANDSHAKE : *b >= 'A' && *b <= 'Z';
}

/* A flow a name blocked earlier: the rule (its slot in *rp), while it
 * still blocks. */
static __always_inline __u32 flow_verdict_rule(__u32 gen, struct tapis_name_buf *nb,
					       struct flow_ctx *f, struct tapis_rule **rp)
{
	struct tapis_rule *r;
	__u32 id;

	if (f->state != TAPIS_FLOW_VERDICT)
		return 0;
	id = f->rule;
	r = rule_usable(gen, id);
	if (r && r->action >= TAPIS_ACT_DROP) {
		*rp = r;
		return id;
	}
	/* Lifted, expired or no longer blocking: the flow is free. */
	flow_slot_clear(nb, f);
	return 0;
}

/* Remember that a name blocked this flow. */
static __always_inline void flow_remember(struct tapis_name_buf *nb, struct flow_ctx *f, __u32 rule,
					  __u32 kind)
{
	flow_slot_set(nb, f, TAPIS_FLOW_VERDICT, rule, kind);
	count_stat(TAPIS_S_FLOW_NEW);
}

#endif
