// SPDX-License-Identifier: GPL-2.0
/* tapis XDP entry: l2 -> l3 -> l4 -> match addresses -> l7 (DNS name) ->
 * match the name -> verdict -> record. Anything that cannot be parsed
 * passes and is counted by reason; no path returns XDP_ABORTED. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tapis_abi.h"
#include "maps.bpf.h"
#include "cursor.bpf.h"
#include "l2_eth.bpf.h"
#include "l3_ip.bpf.h"
#include "l4.bpf.h"
#include "l7_dns.bpf.h"
#include "match.bpf.h"
#include "action.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int tapis_xdp(struct xdp_md *ctx)
{
	struct pkt p = {};
	struct dns_q dq;
	struct tapis_settings *set;
	struct tapis_ctl *ctl;
	struct verdict v;
	__u32 reason = TAPIS_R_OK, zero = 0, host_rule = 0, dst_ent = 0, src_ent = 0;
	int family, ret;

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

	/* Addresses first, then the name: once net_match has read what
	 * the parsers found, the DNS stages start from the same state
	 * whatever the headers were, and the verifier checks them once. */
	net_match(&p, set->flags, &dst_ent, &src_ent);
	/* Only a policy with names and a packet to a DNS port pay for the
	 * DNS stages; everything else goes straight to the verdict. */
	dq.msg_off = 0;
	if ((set->flags & TAPIS_SF_HOSTS) && p.l4proto && dns_port(set, p.dport_be)) {
		__builtin_memset(&dq, 0, sizeof(dq));
		dns_q_init(&dq, &p);
		ret = parse_dns(ctx, set, &dq);
		if (ret < 0) /* a DNS query whose name cannot be read */
			count_reason(-ret);
		else if (ret > 0)
			host_rule = host_match(ctx, &dq);
	}
	v = decide(p.gen, host_rule, dst_ent, src_ent);
	v.by_host = host_rule && v.rule == host_rule;
	return apply_action(ctx, &p, &dq, set, &v);

unparsed:
	/* Every packet lands in exactly one action counter (NONE: passed
	 * without a rule), so their sum is the packet total. */
	count_reason(reason);
	count_action(TAPIS_ACT_NONE, p.len);
	return XDP_PASS;
}
