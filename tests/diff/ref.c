// SPDX-License-Identifier: GPL-2.0
/* The reference side of the differential test (ref.h): bpf/tapis.bpf.c,
 * unchanged, compiled for user space.
 *
 * struct xdp_md holds 32-bit offsets in the kernel's UAPI; here its data
 * and data_end must hold user-space pointers, so the UAPI one is renamed
 * away before the program's headers see it and a wider one takes its
 * place, with the same field names. The helpers are calls into this file
 * (shim/bpf/bpf_helpers.h); each follows the kernel's own checks where
 * they decide an outcome (bounds of load/store bytes, the room an adjust
 * may take as BPF_PROG_TEST_RUN sets the frame up). */
#define xdp_md xdp_md_uapi
#include <linux/bpf.h>
#undef xdp_md

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct xdp_md {
	unsigned long data;
	unsigned long data_end;
	unsigned long data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

#define tapis_xdp ref_tapis_xdp
#include "tapis.bpf.c"
#undef tapis_xdp
#undef bpf_map_lookup_elem

#include <bpf/bpf.h>

#include "ref.h"

/* ---- the frame, laid out as BPF_PROG_TEST_RUN lays it out ----
 * A page: XDP_PACKET_HEADROOM in front, the frame, and the tail room
 * up to the skb_shared_info the kernel keeps at the page's end (320 bytes
 * on x86-64). The head can move back to just after the xdp_frame the
 * kernel keeps at the page's start. Those two sizes vary with the kernel
 * (the selftests measure them); they decide nothing here, as frames stay
 * under 1,600 bytes and answers grow them by at most 40, at the tail. */
#define PAGE	     4096
#define HEADROOM     256
#define SHINFO	     320
#define XDP_FRAME_SZ 40
#define ETH_HLEN_MIN 14
static __u8 page[PAGE];
static __u8 *const hard_end = page + PAGE - SHINFO;

long ref_xdp_load_bytes(struct xdp_md *ctx, __u32 off, void *buf, __u32 len)
{
	__u32 flen = ctx->data_end - ctx->data;

	if (off > 0xffff || len > 0xffff)
		return -EFAULT;
	if (off + len > flen)
		return -EINVAL;
	memcpy(buf, (void *)ctx->data + off, len);
	return 0;
}

long ref_xdp_store_bytes(struct xdp_md *ctx, __u32 off, const void *buf, __u32 len)
{
	__u32 flen = ctx->data_end - ctx->data;

	if (off > 0xffff || len > 0xffff)
		return -EFAULT;
	if (off + len > flen)
		return -EINVAL;
	memmove((void *)ctx->data + off, buf, len);
	return 0;
}

long ref_xdp_adjust_head(struct xdp_md *ctx, int delta)
{
	__u8 *data = (__u8 *)ctx->data + delta;

	if (data < page + XDP_FRAME_SZ || data > (__u8 *)ctx->data_end - ETH_HLEN_MIN)
		return -EINVAL;
	ctx->data = (unsigned long)data;
	ctx->data_meta = ctx->data;
	return 0;
}

long ref_xdp_adjust_tail(struct xdp_md *ctx, int delta)
{
	__u8 *end = (__u8 *)ctx->data_end + delta;

	if (end > hard_end || end < (__u8 *)ctx->data + ETH_HLEN_MIN)
		return -EINVAL;
	if (delta > 0) /* the kernel clears what it hands over */
		memset((void *)ctx->data_end, 0, delta);
	ctx->data_end = (unsigned long)end;
	return 0;
}

long ref_redirect(__u32 ifindex, __u64 flags)
{
	(void)ifindex;
	return flags ? XDP_ABORTED : XDP_REDIRECT;
}

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

__u64 ref_ktime_tai_ns(void)
{
	return clock_ns(CLOCK_TAI);
}

__u64 ref_ktime_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

__u64 ref_jiffies64(void)
{
	return ref_ktime_ns() / 4000000; /* only compared with itself */
}

long ref_loop(__u32 n, long (*fn)(__u32 idx, void *ctx), void *ctx, __u64 flags)
{
	__u32 i;

	if (flags || n > (1u << 23))
		return -E2BIG;
	for (i = 0; i < n; i++)
		if (fn(i, ctx))
			return i + 1;
	return i;
}

/* ---- events ---- */
static struct ref_result *cur; /* the frame being run */

void *ref_ringbuf_reserve(const void *map, __u64 size, __u64 flags)
{
	if (map != &tapis_events || flags || size != sizeof(struct tapis_event) ||
	    cur->n_events >= REF_EVENTS)
		return NULL;
	memset(&cur->ev[cur->n_events], 0, sizeof(cur->ev[0]));
	return &cur->ev[cur->n_events];
}

void ref_ringbuf_submit(void *data, __u64 flags)
{
	(void)flags;
	if (data == &cur->ev[cur->n_events])
		cur->n_events++;
}

/* ---- maps ----
 * Read-only policy tables come from the kernel: plain arrays copied at
 * init, inner maps of both generations mmapped (arrays) or looked up
 * through the syscall (hash maps, the LPM trie: the kernel's own lookup
 * semantics). The rest is the reference's own. */
struct inner {
	int fd;
	__u32 type, max, vsize, stride;
	void *mem; /* mmapped arrays */
	size_t mem_len;
};

enum outer_id {
	O_V4_DIR16,
	O_V4_DIR24,
	O_V4_CHUNK,
	O_V4_CHUNK_S,
	O_V4_LEAF,
	O_V6_DIR0,
	O_V6_DIR1,
	O_V6_DIR2,
	O_V6_DIR3,
	O_V6_BLK0,
	O_V6_BLK1,
	O_V6_BLK2,
	O_V6_BLK3,
	O_V6_PFX,
	O_V6_SHORT,
	O_HOSTS,
	O_HFILTER,
	O_HINDEX,
	O_N
};
/* The maps' indices in map_fd, in the order TAPIS_MAPS names them. */
#define REF_MAP_ID(id, name) R_##id,
enum { TAPIS_MAPS(REF_MAP_ID) R__N };
#undef REF_MAP_ID
static const int outer_map[O_N] = {
	[O_V4_DIR16] = R_V4_DIR16,     [O_V4_DIR24] = R_V4_DIR24,   [O_V4_CHUNK] = R_V4_CHUNK,
	[O_V4_CHUNK_S] = R_V4_CHUNK_S, [O_V4_LEAF] = R_V4_LEAF,	    [O_V6_DIR0] = R_V6_DIR0,
	[O_V6_DIR1] = R_V6_DIR1,       [O_V6_DIR2] = R_V6_DIR2,	    [O_V6_DIR3] = R_V6_DIR3,
	[O_V6_BLK0] = R_V6_BLK0,       [O_V6_BLK1] = R_V6_BLK1,	    [O_V6_BLK2] = R_V6_BLK2,
	[O_V6_BLK3] = R_V6_BLK3,       [O_V6_PFX] = R_V6_PFX,	    [O_V6_SHORT] = R_V6_SHORT,
	[O_HOSTS] = R_HOSTS,	       [O_HFILTER] = R_HOST_FILTER, [O_HINDEX] = R_HOST_INDEX,
};
static struct inner inners[O_N][2];
static const void *outer_sym[O_N];

static struct tapis_ctl k_ctl[TAPIS_CTL_N];
static struct tapis_settings k_settings[2];
static struct tapis_rule k_rules[2 * TAPIS_MAX_RULES];

static struct tapis_counter r_counters[TAPIS_MAX_RULES];
static struct tapis_action_counter r_actions[TAPIS_ACT_MAX];
static __u64 r_reasons[TAPIS_R_MAX], r_stats[TAPIS_S_MAX];
static struct tapis_ev_bucket r_bucket;
static struct tapis_flow_slot r_flows[TAPIS_FLOWS_DEFAULT];
static struct tapis_l7_state r_states[TAPIS_L7_STATES];
static struct tapis_l7_name r_names[TAPIS_L7_NAMES];
static struct tapis_name_buf r_scratch;

/* Touched slots of the flow tables, for resets on both sides. */
#define DIRTY_MAX 4096
static struct {
	__u32 idx[DIRTY_MAX];
	unsigned n;
	bool overflow;
} dirty[3];
static __u32 touched_rules[64];
static unsigned n_touched;

static void mark(unsigned t, __u32 i)
{
	if (dirty[t].n && dirty[t].idx[dirty[t].n - 1] == i)
		return;
	if (dirty[t].n < DIRTY_MAX)
		dirty[t].idx[dirty[t].n++] = i;
	else
		dirty[t].overflow = true;
}

/* Values of syscall lookups: a few live at once (a probe keeps one while
 * it asks for the next), none for long. */
static __u8 pool[8][512];
static unsigned pool_next;

static void *inner_lookup(struct inner *in, const void *key)
{
	__u32 i;
	void *v;

	if (in->fd < 0)
		return NULL;
	if (in->mem) {
		i = *(const __u32 *)key;
		return i < in->max ? (__u8 *)in->mem + (size_t)i * in->stride : NULL;
	}
	if (in->vsize > sizeof(pool[0]))
		return NULL;
	v = pool[pool_next++ & 7];
	return bpf_map_lookup_elem(in->fd, key, v) ? NULL : v;
}

#define ARRAY_AT(arr, key)                                                                         \
	((*(const __u32 *)(key) < sizeof(arr) / sizeof((arr)[0])) ? &(arr)[*(const __u32 *)(key)]  \
								  : NULL)

void *ref_map_lookup(const void *map, const void *key)
{
	const struct inner *first = &inners[0][0], *last = &inners[O_N - 1][1];
	__u32 k = *(const __u32 *)key;
	int o;

	if ((const struct inner *)map >= first && (const struct inner *)map <= last)
		return inner_lookup((struct inner *)map, key);
	for (o = 0; o < O_N; o++)
		if (map == outer_sym[o])
			return k < 2 && inners[o][k].fd >= 0 ? &inners[o][k] : NULL;
	if (map == &tapis_ctl)
		return ARRAY_AT(k_ctl, key);
	if (map == &tapis_settings)
		return ARRAY_AT(k_settings, key);
	if (map == &tapis_rules)
		return ARRAY_AT(k_rules, key);
	if (map == &tapis_counters) {
		if (k < TAPIS_MAX_RULES && n_touched < 64)
			touched_rules[n_touched++] = k;
		return ARRAY_AT(r_counters, key);
	}
	if (map == &tapis_actions)
		return ARRAY_AT(r_actions, key);
	if (map == &tapis_reasons)
		return ARRAY_AT(r_reasons, key);
	if (map == &tapis_stats)
		return ARRAY_AT(r_stats, key);
	if (map == &tapis_ev_bucket)
		return k == 0 ? &r_bucket : NULL;
	if (map == &tapis_scratch)
		return k == 0 ? &r_scratch : NULL;
	if (map == &tapis_flows) {
		if (k > flow_mask) /* the kernel map has flow_mask + 1 slots */
			return NULL;
		mark(0, k);
		return ARRAY_AT(r_flows, key);
	}
	if (map == &tapis_l7_states) {
		mark(1, k);
		return ARRAY_AT(r_states, key);
	}
	if (map == &tapis_l7_names) {
		mark(2, k);
		return ARRAY_AT(r_names, key);
	}
	/* A map the program reads that the reference does not know: a new
	 * one in bpf/maps.bpf.h. Loud, not a silent NULL. */
	abort();
}

static void inner_close(struct inner *in)
{
	if (in->mem)
		munmap(in->mem, in->mem_len);
	if (in->fd >= 0)
		close(in->fd);
	memset(in, 0, sizeof(*in));
	in->fd = -1;
}

static int inner_open(int outer_fd, __u32 gen, struct inner *in)
{
	struct bpf_map_info info;
	__u32 id = 0, len = sizeof(info);

	inner_close(in);
	if (bpf_map_lookup_elem(outer_fd, &gen, &id) || !id)
		return 0; /* no table in this generation: NULL, as in the kernel */
	in->fd = bpf_map_get_fd_by_id(id);
	if (in->fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(in->fd, &info, &len))
		return -errno;
	in->type = info.type;
	in->max = info.max_entries;
	in->vsize = info.value_size;
	in->stride = (info.value_size + 7) & ~7u;
	if (info.type == BPF_MAP_TYPE_ARRAY) {
		long pg = sysconf(_SC_PAGESIZE);

		if (!(info.map_flags & BPF_F_MMAPABLE))
			return -ENOTSUP;
		in->mem_len = ((size_t)in->stride * in->max + pg - 1) & ~(size_t)(pg - 1);
		in->mem = mmap(NULL, in->mem_len, PROT_READ, MAP_SHARED, in->fd, 0);
		if (in->mem == MAP_FAILED) {
			in->mem = NULL;
			return -errno;
		}
	}
	return 0;
}

/* The load-time constants the kernel's program was loaded with: the
 * fixture sizes the flow table to the policy, as `tapis load` does (the
 * host tables' size comes with the settings). */
static int sync_load_consts(const int *map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(map_fd[R_FLOWS], &info, &len))
		return -errno;
	/* The reference's arrays are of the default sizes. */
	if (info.max_entries != TAPIS_FLOWS_DEFAULT)
		return -E2BIG;
	flow_mask = info.max_entries - 1;
	l7_state_mask = (info.max_entries >> TAPIS_L7_STATES_SHIFT) - 1;
	l7_name_mask = (info.max_entries >> TAPIS_L7_NAMES_SHIFT) - 1;
	/* The rule tables are sized to the policy: at most the default. */
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(map_fd[R_COUNTERS], &info, &len))
		return -errno;
	if (info.max_entries > TAPIS_MAX_RULES || (info.max_entries & (info.max_entries - 1)))
		return -E2BIG;
	rule_mask = info.max_entries - 1;
	return 0;
}

int ref_init(const int *map_fd)
{
	__u32 i;
	int o, g, err;

	err = sync_load_consts(map_fd);
	if (err)
		return err;

	outer_sym[O_V4_DIR16] = &tapis_v4_dir16;
	outer_sym[O_V4_DIR24] = &tapis_v4_dir24;
	outer_sym[O_V4_CHUNK] = &tapis_v4_chunk;
	outer_sym[O_V4_CHUNK_S] = &tapis_v4_chunk_s;
	outer_sym[O_V4_LEAF] = &tapis_v4_leaf;
	outer_sym[O_V6_DIR0] = &tapis_v6_dir6;
	outer_sym[O_V6_DIR1] = &tapis_v6_dir10;
	outer_sym[O_V6_DIR2] = &tapis_v6_dir14;
	outer_sym[O_V6_DIR3] = &tapis_v6_dir18;
	outer_sym[O_V6_BLK0] = &tapis_v6_blk8;
	outer_sym[O_V6_BLK1] = &tapis_v6_blk12;
	outer_sym[O_V6_BLK2] = &tapis_v6_blk15;
	outer_sym[O_V6_BLK3] = &tapis_v6_blk18;
	outer_sym[O_V6_PFX] = &tapis_v6_pfx;
	outer_sym[O_V6_SHORT] = &tapis_v6_short;
	outer_sym[O_HOSTS] = &tapis_hosts;
	outer_sym[O_HFILTER] = &tapis_host_filter;
	outer_sym[O_HINDEX] = &tapis_host_index;
	for (i = 0; i < TAPIS_CTL_N; i++)
		if (bpf_map_lookup_elem(map_fd[0], &i, &k_ctl[i]))
			return -errno;
	for (i = 0; i < 2; i++)
		if (bpf_map_lookup_elem(map_fd[1], &i, &k_settings[i]))
			return -errno;
	for (i = 0; i < 2 * (rule_mask + 1); i++)
		if (bpf_map_lookup_elem(map_fd[R_RULES], &i, &k_rules[i]))
			return -errno;
	for (o = 0; o < O_N; o++)
		for (g = 0; g < 2; g++) {
			if (!inners[o][g].mem && !inners[o][g].fd)
				inners[o][g].fd = -1;
			err = inner_open(map_fd[outer_map[o]], g, &inners[o][g]);
			if (err)
				return err;
		}
	return 0;
}

void ref_fini(void)
{
	for (int o = 0; o < O_N; o++)
		for (int g = 0; g < 2; g++)
			inner_close(&inners[o][g]);
}

bool ref_dirty(unsigned table, const uint32_t **idx, unsigned *n)
{
	*idx = dirty[table].idx;
	*n = dirty[table].n;
	return !dirty[table].overflow;
}

void ref_flows_reset(bool all)
{
	unsigned i;

	if (all || dirty[0].overflow || dirty[1].overflow || dirty[2].overflow) {
		memset(r_flows, 0, sizeof(r_flows));
		memset(r_states, 0, sizeof(r_states));
		memset(r_names, 0, sizeof(r_names));
	} else {
		for (i = 0; i < dirty[0].n; i++)
			memset(&r_flows[dirty[0].idx[i]], 0, sizeof(r_flows[0]));
		for (i = 0; i < dirty[1].n; i++)
			memset(&r_states[dirty[1].idx[i]], 0, sizeof(r_states[0]));
		for (i = 0; i < dirty[2].n; i++)
			memset(&r_names[dirty[2].idx[i]], 0, sizeof(r_names[0]));
	}
	memset(dirty, 0, sizeof(dirty));
}

/* DNS leaves its name in wire form, with where each label's length byte
 * is (tapis_abi.h): as text, a dot for each length byte after the first,
 * and a dot inside a label made 0x01, which no pattern holds, so that
 * the text says where the labels are. */
static void dns_text(struct ref_result *r)
{
	const __u8 *w = &r_scratch.bytes[TAPIS_NAME_OFF];

	for (__u32 i = 0; i < r->name_len; i++)
		if (r->name[i] == '.')
			r->name[i] = 0x01;
	for (__u32 j = 1; j < r_scratch.nlab && j < TAPIS_MAX_LABELS; j++) {
		__u32 at = r_scratch.lab[j];

		if (at >= 1 && at - 1 < r->name_len && w[at])
			r->name[at - 1] = '.';
	}
}

int ref_run(const void *frame, uint32_t len, struct ref_result *r)
{
	struct xdp_md ctx = {};
	unsigned i, n;

	if (len < ETH_HLEN_MIN || len > PAGE - HEADROOM - SHINFO)
		return -EINVAL;
	memset(r, 0, offsetof(struct ref_result, name));
	cur = r;
	/* The stages write name_end and kind before anything reads them;
	 * cleared, they say whether this frame's stage found a name. */
	r_scratch.name_end = 0;
	r_scratch.kind = 0;
	memcpy(page + HEADROOM, frame, len);
	ctx.data = (unsigned long)(page + HEADROOM);
	ctx.data_end = ctx.data + len;
	ctx.data_meta = ctx.data;
	ctx.ingress_ifindex = 1;
	r->verdict = ref_tapis_xdp(&ctx);
	r->out_len = ctx.data_end - ctx.data;
	memcpy(r->out, (void *)ctx.data, r->out_len);

	memcpy(r->c.reasons, r_reasons, sizeof(r_reasons));
	memcpy(r->c.stats, r_stats, sizeof(r_stats));
	memset(r_reasons, 0, sizeof(r_reasons));
	memset(r_stats, 0, sizeof(r_stats));
	for (i = 0; i < TAPIS_ACT_MAX; i++) {
		r->c.act_packets[i] = r_actions[i].packets;
		r->c.act_bytes[i] = r_actions[i].bytes;
	}
	memset(r_actions, 0, sizeof(r_actions));
	for (i = 0; i < n_touched; i++) {
		__u32 id = touched_rules[i];
		struct tapis_counter *c = &r_counters[id];
		struct ref_rule_count *o = &r->c.rule[id < REF_RULES ? id : 0];

		if (id >= REF_RULES) /* a rule the comparison cannot see: on 0, which is none */
			o->packets += 1000000;
		o->packets += c->packets;
		o->bytes += c->bytes;
		o->expired += c->expired;
		for (n = 0; n < TAPIS_KIND_MAX; n++) {
			o->kind_packets[n] += c->kind_packets[n];
			o->kind_bytes[n] += c->kind_bytes[n];
		}
		memset(c, 0, sizeof(*c));
	}
	n_touched = 0;

	/* parse_dns() copies the name before it reads QTYPE and QCLASS: a
	 * question cut there leaves a name the match never saw. */
	n = r_scratch.name_end;
	for (i = TAPIS_R_DNS_TRUNC; i <= TAPIS_R_DNS_LABELS; i++)
		if (r_scratch.kind == TAPIS_KIND_DNS && r->c.reasons[i])
			n = 0;
	if (n >= 2 && n <= TAPIS_HOST_MAX + 1) {
		r->name_len = n - 1;
		r->name_kind = r_scratch.kind;
		memcpy(r->name, &r_scratch.bytes[TAPIS_NAME_OFF + 1], n - 1);
		r->name[n - 1] = '\0';
		if (r_scratch.kind == TAPIS_KIND_DNS)
			dns_text(r);
	} else {
		r->name_len = 0;
		r->name_kind = 0;
		r->name[0] = '\0';
	}
	cur = NULL;
	return 0;
}
