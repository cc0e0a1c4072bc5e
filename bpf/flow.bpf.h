/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: TCP flows on tls and http ports: the verdict a name gave the
 * flow, and the TLS / HTTP stages fed segment by segment (tapis_abi.h,
 * "per-flow state").
 *
 * flow_lookup() keys the packet's flow as its client sees it, so both
 * directions find one entry, and looks it up once. l7_stage() feeds the
 * payload of a client's segment to the TLS or HTTP parser: a segment that
 * starts a hello or a request, or the next in-order segment of one being
 * followed. What it cannot follow passes: a segment out of order drops the
 * flow's state (counted), more than TAPIS_L7_MAX_SEGS segments or
 * TAPIS_L7_MAX_BYTES bytes is counted as the stage's bound. */
#ifndef TAPIS_FLOW_BPF_H
#define TAPIS_FLOW_BPF_H

#include <linux/tcp.h>
#include "cursor.bpf.h"
#include "l7_tls.bpf.h"
#include "l7_http.bpf.h"
#include "l7_dns.bpf.h"

/* Where the packet's flow stands. */
struct flow_ctx {
	struct tapis_flow_val *fv; /* its entry, or NULL */
	__u32 seq;		   /* TCP sequence number, host order */
	__u32 pay_off;		   /* payload, from the frame start */
	__u32 pay_end;
	__u8 to_server; /* sent to the tls/http port */
	__u8 cls;	/* TAPIS_PORT_TLS or TAPIS_PORT_HTTP of that port */
	__u8 on;	/* a TCP packet on a tls/http port */
};

/* Fill the key in nb and look the flow up. Only TCP on a tls or http port
 * of a policy with names pays for it. */
static __always_inline void flow_lookup(struct xdp_md *ctx, const struct pkt *p,
					const struct tapis_settings *set, struct tapis_name_buf *nb,
					struct flow_ctx *f)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct tapis_flow_key *k = &nb->fk;
	struct tcphdr *th;
	__u32 l3_end;
	bool cli;

	if (p->l4proto != IPPROTO_TCP || !(set->flags & TAPIS_SF_HOSTS))
		return;
	if (port_in(set, TAPIS_PORT_TLS, p->dport_be)) {
		f->to_server = 1;
		f->cls = TAPIS_PORT_TLS;
	} else if (port_in(set, TAPIS_PORT_HTTP, p->dport_be)) {
		f->to_server = 1;
		f->cls = TAPIS_PORT_HTTP;
	} else if (!port_in(set, TAPIS_PORT_TLS, p->sport_be) &&
		   !port_in(set, TAPIS_PORT_HTTP, p->sport_be)) {
		return;
	}
	f->on = 1;
	cli = f->to_server;
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	if (p->family == 4) {
		__builtin_memcpy(k->caddr, cli ? &p->saddr4_be : &p->daddr4_be, 4);
		__builtin_memcpy(k->saddr, cli ? &p->daddr4_be : &p->saddr4_be, 4);
	} else {
		__builtin_memcpy(k->caddr, cli ? p->saddr6 : p->daddr6, 16);
		__builtin_memcpy(k->saddr, cli ? p->daddr6 : p->saddr6, 16);
	}
	k->cport_be = cli ? p->sport_be : p->dport_be;
	k->sport_be = cli ? p->dport_be : p->sport_be;
	f->fv = bpf_map_lookup_elem(&tapis_flows, k);

	th = data + (p->l4_off & OFF_MASK);
	if ((void *)(th + 1) > end)
		return;
	f->seq = bpf_ntohl(th->seq);
	l3_end = ip_datagram_end(data, end, p->family, p->l3_off);
	f->pay_off = p->l4_off + th->doff * 4;
	f->pay_end = l3_end > f->pay_off ? l3_end : f->pay_off;
}

/* Feed this segment to the L7 stage of its port: the outcome, with a
 * reason for L7_ERR; on L7_NAME the name is in nb, ready for the match. */
static __always_inline __u32 l7_stage(struct xdp_md *ctx, struct tapis_name_buf *nb,
				      struct flow_ctx *f, __u32 *reason)
{
	struct tapis_flow_val *st = &nb->st;
	struct tapis_name_buf *c = nb;
	struct tapis_l7_name *part;
	__u32 len, kind, i, off;

	if (!f->to_server || f->pay_off >= f->pay_end || f->pay_end > OFF_MASK)
		return L7_NONE;
	off = f->pay_off;
	c->end = f->pay_end;
	c->res = L7_RUN;
	c->reason = 0;
	if (f->fv && f->fv->state != TAPIS_FLOW_VERDICT) {
		if (f->fv->next_seq != f->seq) {
			/* A retransmission of what was fed, or a gap: the
			 * stream cannot be followed. */
			bpf_map_delete_elem(&tapis_flows, &nb->fk);
			*reason = TAPIS_R_L7_OUT_OF_ORDER;
			return L7_ERR;
		}
		__builtin_memcpy(st, f->fv, sizeof(*st));
		if (st->name_have) {
			part = bpf_map_lookup_elem(&tapis_l7_names, &nb->fk);
			if (!part) {
				bpf_map_delete_elem(&tapis_flows, &nb->fk);
				*reason = TAPIS_R_L7_OUT_OF_ORDER;
				return L7_ERR;
			}
			__builtin_memcpy(&nb->bytes[TAPIS_NAME_OFF + 1], part->bytes,
					 sizeof(part->bytes));
		}
	} else if (f->fv) {
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

	/* The steps are global functions, each verified once; this loop is
	 * all the verifier walks here. */
	if (st->state == TAPIS_FLOW_TLS) {
		kind = TAPIS_KIND_TLS;
		for (i = 0; i < TAPIS_L7_MAX_STEPS; i++)
			if (tls_step(ctx))
				break;
	} else {
		kind = TAPIS_KIND_HTTP;
		for (i = 0; i < TAPIS_L7_MAX_STEPS; i++)
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
			if (st->name_have)
				bpf_map_update_elem(&tapis_l7_names, &nb->fk,
						    &nb->bytes[TAPIS_NAME_OFF + 1], BPF_ANY);
			bpf_map_update_elem(&tapis_flows, &nb->fk, st, BPF_ANY);
			return L7_MORE;
		}
	}
	if (f->fv)
		bpf_map_delete_elem(&tapis_flows, &nb->fk);
	if (c->res == L7_NONE && kind == TAPIS_KIND_TLS && st->phase != TLS_P_HS)
		count_stat(TAPIS_S_TLS_NO_SNI);
	if (c->res == L7_ERR)
		*reason = c->reason;
	if (c->res != L7_NAME)
		return c->res;
	if (st->flags & TAPIS_L7F_ECH)
		count_stat(TAPIS_S_TLS_ECH);
	len = st->name_have;
	if (len && len <= TAPIS_HOST_MAX + 1 && nb->bytes[(TAPIS_NAME_OFF + len) & 0x1ff] == '.')
		len--; /* a trailing dot */
	*reason = name_dotted(len, kind);
	return *reason ? L7_ERR : L7_NAME;
}

/* A flow a name blocked earlier: the rule, while it still blocks. */
static __always_inline __u32 flow_verdict_rule(__u32 gen, struct flow_ctx *f,
					       struct tapis_name_buf *nb)
{
	struct tapis_rule *r;
	__u32 id;

	if (!f->fv || f->fv->state != TAPIS_FLOW_VERDICT)
		return 0;
	id = f->fv->rule;
	r = rule_usable(gen, id);
	if (r && r->action >= TAPIS_ACT_DROP)
		return id;
	/* Lifted, expired or no longer blocking: the flow is free. */
	bpf_map_delete_elem(&tapis_flows, &nb->fk);
	f->fv = NULL;
	return 0;
}

/* Remember that a name blocked this flow. */
static __always_inline void flow_remember(struct tapis_name_buf *nb, __u32 rule, __u32 kind)
{
	struct tapis_flow_val *v = &nb->st;

	__builtin_memset(v, 0, sizeof(*v));
	v->rule = rule;
	v->state = TAPIS_FLOW_VERDICT;
	v->kind = kind;
	if (!bpf_map_update_elem(&tapis_flows, &nb->fk, v, BPF_ANY))
		count_stat(TAPIS_S_FLOW_NEW);
}

#endif
