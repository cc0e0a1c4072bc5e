// SPDX-License-Identifier: GPL-2.0
/* tapis XDP entry: l2 -> l3 -> l4 -> match addresses -> flow -> l7 (a name
 * from DNS, TLS or HTTP) -> match the name -> verdict -> record. Anything
 * that cannot be parsed passes and is counted by reason; no path returns
 * XDP_ABORTED. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tapis_abi.h"
#include "maps.bpf.h"
#include "cursor.bpf.h"
#include "l2_eth.bpf.h"
#include "l3_ip.bpf.h"
#include "l4.bpf.h"
#include "l7_name.bpf.h"
#include "l7_dns.bpf.h"
#include "l7_quic.bpf.h"
#include "flow.bpf.h"
#include "match.bpf.h"
#include "action.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int tapis_xdp(struct xdp_md *ctx)
{
	struct pkt p = {};
	struct dns_q dq;
	struct flow_ctx *f = NULL;
	struct tapis_name_buf *nb = NULL;
	struct tapis_settings *set;
	struct tapis_rule *flow_r = NULL;
	struct tapis_ctl *ctl;
	struct verdict v;
	__u32 reason = TAPIS_R_OK, zero = 0, host_rule = 0, flow_rule = 0, dst_ent = 0, src_ent = 0,
	      kind = TAPIS_KIND_NET, quic = 0, dcls = 0;
	int family;

	p.data = (void *)(long)ctx->data;
	p.c.pos = p.data;
	p.c.end = (void *)(long)ctx->data_end;
	p.len = p.c.end - p.data;

	family = parse_l2(&p.c, &reason);
	if (!family)
		goto unparsed;
	p.l3_off = p.c.pos - p.data;
	if ((family == 4 ? parse_ipv4(&p, &reason) : parse_ipv6(&p, &reason)) < 0)
		goto unparsed;

	ctl = bpf_map_lookup_elem(&tapis_ctl, &zero);
	if (!ctl)
		return XDP_PASS;
	p.gen = ctl->gen & 1;
	set = bpf_map_lookup_elem(&tapis_settings, &p.gen);
	if (!set)
		return XDP_PASS;

	if (p.nonfirst_frag) {
		count_stat(TAPIS_S_FRAGMENT);
	} else {
		p.l4_off = p.c.pos - p.data;
		if (parse_l4(&p, &reason) < 0) {
			/* Addresses are known: net rules still apply. */
			count_reason(reason);
		}
	}

	/* Only a policy with names pays for the L7 stages, and only on the
	 * ports of a stage (one read of the port's classes each way);
	 * everything else goes straight to the verdict. */
	dq.msg_off = 0;
	if (p.l4proto) {
		dcls = port_classes(set, p.dport_be);
		/* A bare SYN has no name for any stage: it goes the way of a
		 * port without one (the verifier meets a state it knows).
		 * Asked only on a stage's port: a SYN to any other port is
		 * on that way already, and pays nothing for the test. */
		if (dcls && tcp_bare_syn(ctx, &p))
			dcls = 0;
	}
	/* A flow a name blocked: its verdict is all its packets need (the
	 * addresses never overrule it), so it is looked up first and its
	 * packets skip the address tables. */
	if ((set->flags & TAPIS_SF_HOSTS) && !(dcls & PC_DNS) && p.l4proto == IPPROTO_TCP &&
	    ((dcls & (PC_TLS | PC_HTTP)) || (port_classes(set, p.sport_be) & (PC_TLS | PC_HTTP)))) {
		nb = name_buf();
		if (nb) {
			f = &nb->fpos;
			__builtin_memset(f, 0, sizeof(*f));
			flow_lookup(ctx, &p, dcls, nb, f);
			flow_rule = flow_verdict_rule(p.gen, nb, f, &flow_r);
		}
	}
	/* Addresses, then the name: once net_match has read what the
	 * parsers found, the L7 stages start from the same state whatever
	 * the headers were, and the verifier checks them once. */
	if (!flow_rule)
		net_match(&p, set, &dst_ent, &src_ent);
	if ((set->flags & TAPIS_SF_HOSTS) && (dcls & PC_DNS)) {
		nb = name_buf();
		if (nb) {
			__builtin_memset(&dq, 0, sizeof(dq));
			dns_q_init(&dq, &p);
			host_rule = dns_stage(ctx, &dq, p.gen);
			kind = TAPIS_KIND_DNS;
		}
	} else if (f && !flow_rule && f->to_server && f->pay_off < f->pay_end &&
		   l7_may_start(ctx, f)) {
		/* Only a client's segment with payload can carry a name. */
		host_rule = l7_tcp(ctx, p.gen);
		kind = nb->kind;
	}
	if (p.l4proto == IPPROTO_UDP && (dcls & PC_TLS))
		quic = quic_initial(ctx, p.l4_off + 8, p.len);

	if (flow_rule) {
		v.rule = flow_rule;
		v.r = flow_r;
		v.by_host = 1;
		kind = TAPIS_KIND_FLOW;
	} else {
		v = decide(p.gen, host_rule, dst_ent, src_ent);
		v.by_host = host_rule && v.rule == host_rule;
		if (!v.by_host)
			kind = TAPIS_KIND_NET;
		else if (v.r && v.r->action >= TAPIS_ACT_DROP &&
			 (kind == TAPIS_KIND_TLS || kind == TAPIS_KIND_HTTP))
			flow_remember(nb, &nb->fpos, v.rule, kind);
	}
	v.kind = kind;
	if (quic && !v.r) {
		if (set->flags & TAPIS_SF_QUIC_DROP) {
			count_stat(TAPIS_S_QUIC_DROP);
			count_action(TAPIS_ACT_DROP, p.len);
			return XDP_DROP;
		}
		count_stat(TAPIS_S_QUIC_PASS);
	}
	return apply_action(ctx, &p, &dq, nb, set, &v);

unparsed:
	/* Every packet lands in exactly one action counter (NONE: passed
	 * without a rule), so their sum is the packet total. */
	count_reason(reason);
	count_action(TAPIS_ACT_NONE, p.len);
	return XDP_PASS;
}
