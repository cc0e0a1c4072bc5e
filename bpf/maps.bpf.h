/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: every map of the XDP program, one comment each. User space
 * reaches them by the same names through the skeleton or their pins.
 * Inner maps give sizes, not BTF types: their structs are in tapis_abi.h and
 * user space creates the inner maps itself. */
#ifndef TAPIS_MAPS_BPF_H
#define TAPIS_MAPS_BPF_H
#ifndef __BPF__
#error "maps.bpf.h is for the BPF object only; user space includes tapis_abi.h"
#endif

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tapis_abi.h"

/* Load-time constants (rodata), set through the skeleton before the load
 * (user/lib/handle.c). The differential test's reference sets them from
 * the kernel's maps instead, so its shim makes them plain variables. */
#ifndef TAPIS_LOAD_CONST
#define TAPIS_LOAD_CONST const volatile
#endif

/* [TAPIS_CTL_GEN] -> the active generation: one write flips the whole
 * policy; [TAPIS_CTL_EVENTS] -> whether a `tapis events` reads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TAPIS_CTL_N);
	__type(key, __u32);
	__type(value, struct tapis_ctl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_ctl SEC(".maps");

/* generation -> ports, sinkhole addresses, which tables are populated. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct tapis_settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_settings SEC(".maps");

/* Rule slots less one (tapis_abi.h): set at load with the sizes of
 * tapis_rules, tapis_counters and tapis_rule_meta. */
TAPIS_LOAD_CONST __u32 rule_mask = TAPIS_MAX_RULES - 1;

/* gen * rule slots + rule id -> action, expiry, redirect target. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * TAPIS_MAX_RULES); /* resized at load */
	__type(key, __u32);
	__type(value, struct tapis_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_rules SEC(".maps");

/* generation -> IPv4 first level: a 16-bit slot per /16 or per /24
 * (tapis_abi.h), four to a value; a generation fills one of the two. */
struct tapis_v4_dir16_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, (1u << TAPIS_V4_BITS_SMALL) / TAPIS_V4_SLOTS_PER_VAL);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct tapis_v4_slots));
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct tapis_v4_dir16_inner);
} tapis_v4_dir16 SEC(".maps");

struct tapis_v4_dir24_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, (1u << TAPIS_V4_BITS_LARGE) / TAPIS_V4_SLOTS_PER_VAL);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct tapis_v4_slots));
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct tapis_v4_dir24_inner);
} tapis_v4_dir24 SEC(".maps");

/* generation -> IPv4 chunks: 256 slots each for the next 8 bits of the
 * addresses under a slot that longer prefixes split. */
struct tapis_v4_chunk_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	__uint(max_entries, TAPIS_V4_CHUNK_SLOTS / TAPIS_V4_SLOTS_PER_VAL);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct tapis_v4_slots));
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct tapis_v4_chunk_inner);
} tapis_v4_chunk SEC(".maps");

/* generation -> the same in a map of the size loaded (tapis_abi.h), read
 * inline; a generation whose chunks do not fit it uses tapis_v4_chunk. */
struct tapis_v4_chunk_s_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TAPIS_V4_CHUNKS_SMALL *TAPIS_V4_CHUNK_SLOTS / TAPIS_V4_SLOTS_PER_VAL);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct tapis_v4_slots));
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct tapis_v4_chunk_s_inner);
} tapis_v4_chunk_s SEC(".maps");

/* generation -> IPv4 leaf id -> the entries of both directions. */
struct tapis_v4_leaf_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	/* Fixed at its largest (1 MiB): a map of one size is read inline,
	 * one sized per policy (BPF_F_INNER_MAP) costs a helper call on
	 * every packet that meets a prefix. */
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TAPIS_V4_MAX_LEAVES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct tapis_v4_leaf));
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct tapis_v4_leaf_inner);
} tapis_v4_leaf SEC(".maps");

/* One outer map per size class of an IPv6 table: a map of one size is
 * read inline (tapis_abi.h); name##bits holds 2^bits values of vtype. */
#define TAPIS_V6_CLASS_MAP(name, bits, vtype)                                                      \
	struct name##bits##_inner {                                                                \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                  \
		__uint(map_flags, BPF_F_MMAPABLE);                                                 \
		__uint(max_entries, 1u << (bits));                                                 \
		__uint(key_size, sizeof(__u32));                                                   \
		__uint(value_size, sizeof(vtype));                                                 \
	};                                                                                         \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                                          \
		__uint(max_entries, 2);                                                            \
		__type(key, __u32);                                                                \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                                               \
		__array(values, struct name##bits##_inner);                                        \
	} name##bits SEC(".maps")

/* generation -> IPv6 groups (top 32 bits, direction) -> their block:
 * 2^bits buckets of slots. */
TAPIS_V6_CLASS_MAP(tapis_v6_dir, 6, struct tapis_v6_bucket);
TAPIS_V6_CLASS_MAP(tapis_v6_dir, 10, struct tapis_v6_bucket);
TAPIS_V6_CLASS_MAP(tapis_v6_dir, 14, struct tapis_v6_bucket);
TAPIS_V6_CLASS_MAP(tapis_v6_dir, 18, struct tapis_v6_bucket);

/* generation -> IPv6 block id -> a group's prefixes /32../64 inline, or
 * the lengths its hashed prefixes have; 2^bits blocks. */
TAPIS_V6_CLASS_MAP(tapis_v6_blk, 8, struct tapis_v6_blk);
TAPIS_V6_CLASS_MAP(tapis_v6_blk, 12, struct tapis_v6_blk);
TAPIS_V6_CLASS_MAP(tapis_v6_blk, 15, struct tapis_v6_blk);
TAPIS_V6_CLASS_MAP(tapis_v6_blk, 18, struct tapis_v6_blk);

/* generation -> exact IPv6 prefix of a hashed group, or shorter than
 * /32 -> table entry. */
struct tapis_v6_pfx_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct tapis_v6_key));
	__uint(value_size, sizeof(__u32));
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct tapis_v6_pfx_inner);
} tapis_v6_pfx SEC(".maps");

/* generation -> IPv6 prefixes shorter than /32 (rare: a stock LPM trie). */
struct tapis_v6_short_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct tapis_lpm_v6_key));
	__uint(value_size, sizeof(__u32));
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct tapis_v6_short_inner);
} tapis_v6_short SEC(".maps");

/* generation -> hostname suffix hash -> rules for the name and below. */
struct tapis_hosts_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u64));
	__uint(value_size, sizeof(struct tapis_host_val));
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct tapis_hosts_inner);
} tapis_hosts SEC(".maps");

/* The host index's size is chosen at load (tapis_abi.h) and given to the
 * data path in tapis_settings.host_idx_log2; the filter has
 * TAPIS_HOST_FILTER_LOG2_PER_SLOT more bits. */
/* generation -> host filter: bit tapis_host_filter_bit(key) set for every
 * key of that generation's tapis_hosts (a clear bit: key absent). */
struct tapis_host_filter_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	/* Words: resized at load. */
	__uint(max_entries,
	       1u << (TAPIS_HOST_IDX_LOG2_DEFAULT + TAPIS_HOST_FILTER_LOG2_PER_SLOT - 6));
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct tapis_host_filter_inner);
} tapis_host_filter SEC(".maps");

/* generation -> host index: the host table as an open-addressed array,
 * read without a call (see tapis_abi.h). */
struct tapis_host_index_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	/* resized at load */
	__uint(max_entries, (1u << TAPIS_HOST_IDX_LOG2_DEFAULT) + TAPIS_HOST_IDX_PROBES - 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct tapis_host_slot));
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct tapis_host_index_inner);
} tapis_host_index SEC(".maps");

/* rule id -> packets, bytes, last hit (per CPU; ids stable across reloads). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TAPIS_MAX_RULES); /* resized at load */
	__type(key, __u32);
	__type(value, struct tapis_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_counters SEC(".maps");

/* enum tapis_action -> packets and bytes that got that verdict. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TAPIS_ACT_MAX);
	__type(key, __u32);
	__type(value, struct tapis_action_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_actions SEC(".maps");

/* enum tapis_reason -> packets passed unparsed (fail-open). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TAPIS_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_reasons SEC(".maps");

/* enum tapis_stat -> counted facts (fragments, expired matches, ...). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TAPIS_S_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_stats SEC(".maps");

/* rule id -> name, reference, since: read only by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TAPIS_MAX_RULES); /* resized at load */
	__type(key, __u32);
	__type(value, struct tapis_rule_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_rule_meta SEC(".maps");

/* [0] -> policy path, interfaces, load times: read only by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tapis_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_state SEC(".maps");

/* Live edits that differ from the policy file (tapis_abi.h): read and
 * written only by user space, memory only for what is there. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TAPIS_EDITS_DEFAULT); /* resized at load */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tapis_edit_key);
	__type(value, struct tapis_edit_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_edits SEC(".maps");

/* Block events for `tapis events` (tapis_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TAPIS_EVENTS_RING); /* resized at load */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_events SEC(".maps");

/* Per CPU: the events' rate (struct tapis_ev_bucket). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tapis_ev_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_ev_bucket SEC(".maps");

/* hash of the flow as the client sees it -> slot: a name's verdict for
 * the flow, or "being followed" (tapis_abi.h). Slots: settings.flows,
 * rounded up to a power of two, set at load with flow_mask. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TAPIS_FLOWS_DEFAULT);
	__type(key, __u32);
	__type(value, struct tapis_flow_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_flows SEC(".maps");

/* Entries of tapis_l7_states and tapis_l7_names less one: they follow
 * settings.flows (tapis_abi.h), set at load with the maps' sizes. */
TAPIS_LOAD_CONST __u32 l7_state_mask = TAPIS_L7_STATES - 1;
TAPIS_LOAD_CONST __u32 l7_name_mask = TAPIS_L7_NAMES - 1;

/* flow slot's low bits -> the state of a ClientHello / HTTP request
 * followed across segments, tagged with its flow (tapis_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TAPIS_L7_STATES); /* resized at load */
	__type(key, __u32);
	__type(value, struct tapis_l7_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_l7_states SEC(".maps");

/* flow slot's low bits -> first part of a hostname cut by a segment or
 * record boundary, tagged the same way. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TAPIS_L7_NAMES); /* resized at load */
	__type(key, __u32);
	__type(value, struct tapis_l7_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tapis_l7_names SEC(".maps");

/* [0] -> per-CPU scratch: the name an L7 stage found, for the host match. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tapis_name_buf);
} tapis_scratch SEC(".maps");

/* Every map TAPIS_MAPS names for user space is declared above. */
#define TAPIS_MAP_DECLARED(id, name) _Static_assert(sizeof(name) > 0, #name " is declared");
TAPIS_MAPS(TAPIS_MAP_DECLARED)
#undef TAPIS_MAP_DECLARED

#endif /* TAPIS_MAPS_BPF_H */
