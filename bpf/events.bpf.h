/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: block events into the tapis_events ring buffer, for `tapis
 * events`. Reached only by packets a rule blocks while a reader runs, in a
 * function of its own, so a packet that matches nothing pays nothing for it
 * and the verifier checks it once. A per-CPU generic cell rate algorithm keeps a flood from
 * filling the ring or the consumer: what it keeps out is counted, never
 * waited for. */
#ifndef TAPIS_EVENTS_BPF_H
#define TAPIS_EVENTS_BPF_H

#include "maps.bpf.h"
#include "cursor.bpf.h"
#include "rules.bpf.h"

/* Is a `tapis events` reading (tapis_ctl[TAPIS_CTL_EVENTS])? The entry
 * read that line for the generation: asking costs no miss. */
static __always_inline bool ev_reader(void)
{
	__u32 k = TAPIS_CTL_EVENTS;
	struct tapis_ctl *ctl = bpf_map_lookup_elem(&tapis_ctl, &k);

	return ctl && ctl->events_reader;
}

/* A flood's packet over the rate, inline: counted lost without the call
 * (tapis_abi.h, struct tapis_ev_bucket). */
static __always_inline bool ev_skipped(void)
{
	__u32 zero = 0;
	struct tapis_ev_bucket *b = bpf_map_lookup_elem(&tapis_ev_bucket, &zero);

	if (!b || !b->skip)
		return false;
	b->skip--;
	b->lost++;
	return true;
}

/* Everything comes as scalars or map values: a pointer to the caller's
 * stack (its struct pkt) would make every byte of it live at each call
 * site, and the verifier could no longer prune the states that differ only
 * there (that cost 370k instructions). The addresses and ports are read
 * again from the frame.
 *
 * what: rule (bits 0..15), action (16..23), kind (24..31), the rule won by
 * the name (32), family (40..47), L4 protocol (48..55). where: l3_off
 * (0..15), l4_off (16..31, 0 without an L4 header). nb's name is this
 * packet's only when the rule won by a name a stage found in it. */
__noinline int tapis_event(struct xdp_md *ctx, const struct tapis_name_buf *nb,
			   const struct tapis_settings *set, __u64 what, __u32 where)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 zero = 0, n, l3 = where & 0xffff, l4 = where >> 16;
	struct tapis_ev_bucket *b;
	struct tapis_event *ev;
	__u64 now, tat;
	__u8 *ip;

	if (!set || !set->ev_interval_ns)
		return 0;
	b = bpf_map_lookup_elem(&tapis_ev_bucket, &zero);
	if (!b)
		return 0;
	if (b->skip) {
		b->skip--;
		b->lost++;
		return 0;
	}
	now = bpf_ktime_get_ns();
	tat = b->tat > now ? b->tat : now;
	if (tat - now > set->ev_burst_ns) {
		b->lost++;
		b->skip = b->backoff;
		b->backoff = b->backoff ? (b->backoff < 128 ? 2 * b->backoff + 1 : 255) : 1;
		return 0;
	}
	/* The slot is spent whether the event is written or not: a full
	 * ring (nobody reading, the usual case) must not turn every blocked
	 * packet into a reservation attempt. */
	b->tat = tat + set->ev_interval_ns;
	ev = bpf_ringbuf_reserve(&tapis_events, sizeof(*ev), 0);
	if (!ev) {
		b->lost++;
		b->skip = b->backoff;
		b->backoff = b->backoff ? (b->backoff < 128 ? 2 * b->backoff + 1 : 255) : 1;
		return 0;
	}
	b->backoff = 0;
	ev->tai_ns = bpf_ktime_get_tai_ns();
	ev->rule = what & 0xffff;
	ev->action = (what >> 16) & 0xff;
	ev->kind = (what >> 24) & 0xff;
	ev->family = (what >> 40) & 0xff;
	ev->l4proto = (what >> 48) & 0xff;
	ev->ifindex = ctx->ingress_ifindex;
	ev->sport = ev->dport = 0;
	ev->name_len = 0;
	__builtin_memset(ev->saddr, 0, sizeof(ev->saddr) + sizeof(ev->daddr));
	__builtin_memset(ev->pad, 0, sizeof(ev->pad));
	ip = data + (l3 & 0xfff);
	if (ev->family == 4 && (void *)(ip + 20) <= end) {
		__builtin_memcpy(ev->saddr, ip + 12, 4);
		__builtin_memcpy(ev->daddr, ip + 16, 4);
	} else if (ev->family == 6 && (void *)(ip + 40) <= end) {
		__builtin_memcpy(ev->saddr, ip + 8, 16);
		__builtin_memcpy(ev->daddr, ip + 24, 16);
	}
	ip = data + (l4 & 0xfff);
	if (l4 && (ev->l4proto == IPPROTO_TCP || ev->l4proto == IPPROTO_UDP) &&
	    (void *)(ip + 4) <= end) {
		ev->sport = (__u16)ip[0] << 8 | ip[1];
		ev->dport = (__u16)ip[2] << 8 | ip[3];
	}
	if (nb && ((what >> 32) & 1) && ev->kind != TAPIS_KIND_FLOW && ev->kind != TAPIS_KIND_NET) {
		n = nb->name_end;
		if (n >= 2 && n <= TAPIS_HOST_MAX + 1) {
			/* bytes[TAPIS_NAME_OFF] is the dot in front. */
			__builtin_memcpy(ev->name, &nb->bytes[TAPIS_NAME_OFF + 1],
					 TAPIS_EVENT_NAME);
			ev->name_len = n - 1;
			/* A DNS name is in its wire form: dots for the
			 * length bytes after the first. */
			if (ev->kind == TAPIS_KIND_DNS) {
				__u32 j, at;

				for (j = 1; j < TAPIS_MAX_LABELS; j++) {
					if (j >= nb->nlab)
						break;
					at = nb->lab[j] - 1;
					if (at < TAPIS_EVENT_NAME)
						ev->name[at] = '.';
				}
			}
		}
	}
	bpf_ringbuf_submit(ev, 0);
	count_stat(TAPIS_S_EVENTS);
	return 0;
}

#endif
