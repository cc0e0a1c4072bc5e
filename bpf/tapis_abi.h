/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tapis_abi.h - everything the XDP program and the tapis command both read.
 *
 * This is the only file user/ includes from bpf/. Fixed-width types only, no
 * bitfields, no kernel-only includes: the same bytes are written by one side
 * and read by the other. Change a struct here and both sides change with it.
 *
 * Map layout in one paragraph: the policy lives in a *generation*. Small
 * per-generation tables (rules, settings) are arrays with two slots indexed by
 * generation; the large ones (IPv4 DIR-24-8 tables, IPv6 tables, host table)
 * are inner maps of two-slot array-of-maps, so only the active generation
 * holds memory. A reload fills the idle generation, flips tapis_ctl.gen with a
 * single write, and then empties the old slot (the kernel waits for an RCU
 * grace period on map-in-map updates, so no packet still reads it). Rule ids
 * are stable per rule name across reloads, so counters stay monotonic.
 */
#ifndef TAPIS_ABI_H
#define TAPIS_ABI_H

#include <linux/types.h>

/* ---- limits: every loop and table size, shared with docs and the CLI ---- */
#define TAPIS_MAX_RULES	   4096 /* rule ids 1..4095 at most; 0 means "no rule" */
#define TAPIS_MAX_VLAN	   2	/* 802.1Q / 802.1ad tags walked */
#define TAPIS_MAX_MPLS	   8	/* MPLS labels walked to bottom-of-stack */
#define TAPIS_MAX_IPV6_EXT 8	/* IPv6 extension headers walked */
#define TAPIS_MAX_IFACES   64	/* interfaces one pin path can attach */
#define TAPIS_NAME_MAX	   64	/* rule name incl. NUL */
#define TAPIS_REF_MAX	   128	/* rule reference incl. NUL */
#define TAPIS_IFNAME_MAX   16	/* = IFNAMSIZ */
#define TAPIS_PATH_MAX	   1024 /* stored policy path incl. NUL */
#define TAPIS_DIGEST_LEN   32	/* SHA-256 of the policy and its lists */
#define TAPIS_HOST_MAX	   253	/* longest hostname, without trailing dot */
#define TAPIS_LABEL_MAX	   63	/* longest label */
#define TAPIS_MAX_LABELS   32	/* labels hashed per name */

/* ---- maps: every pinned map, named once ----
 * X(ID, name): name is the symbol bpf/maps.bpf.h declares the map as, so
 * also its pin under the pin path and what bpftool shows; ID is how user
 * space indexes its descriptors (M_ID). maps.bpf.h asserts that each is
 * declared; user space opens, pins and unpins them all by these names and
 * gives an inner map its outer map's name (cut to the kernel's 15
 * characters). tapis_scratch is per-CPU scratch, never pinned: not here. */
#define TAPIS_MAPS(X)                                                                              \
	X(CTL, tapis_ctl)                                                                          \
	X(SETTINGS, tapis_settings)                                                                \
	X(RULES, tapis_rules)                                                                      \
	X(V4_DIR16, tapis_v4_dir16)                                                                \
	X(V4_DIR24, tapis_v4_dir24)                                                                \
	X(V4_CHUNK, tapis_v4_chunk)                                                                \
	X(V4_CHUNK_S, tapis_v4_chunk_s)                                                            \
	X(V4_LEAF, tapis_v4_leaf)                                                                  \
	X(V6_DIR0, tapis_v6_dir6)                                                                  \
	X(V6_DIR1, tapis_v6_dir10)                                                                 \
	X(V6_DIR2, tapis_v6_dir14)                                                                 \
	X(V6_DIR3, tapis_v6_dir18)                                                                 \
	X(V6_BLK0, tapis_v6_blk8)                                                                  \
	X(V6_BLK1, tapis_v6_blk12)                                                                 \
	X(V6_BLK2, tapis_v6_blk15)                                                                 \
	X(V6_BLK3, tapis_v6_blk18)                                                                 \
	X(V6_PFX, tapis_v6_pfx)                                                                    \
	X(V6_SHORT, tapis_v6_short)                                                                \
	X(HOSTS, tapis_hosts)                                                                      \
	X(COUNTERS, tapis_counters)                                                                \
	X(ACTIONS, tapis_actions)                                                                  \
	X(REASONS, tapis_reasons)                                                                  \
	X(STATS, tapis_stats)                                                                      \
	X(RULE_META, tapis_rule_meta)                                                              \
	X(STATE, tapis_state)                                                                      \
	X(HOST_FILTER, tapis_host_filter)                                                          \
	X(HOST_INDEX, tapis_host_index)                                                            \
	X(FLOWS, tapis_flows)                                                                      \
	X(L7_NAMES, tapis_l7_names)                                                                \
	X(L7_STATES, tapis_l7_states)                                                              \
	X(EDITS, tapis_edits)                                                                      \
	X(EVENTS, tapis_events)                                                                    \
	X(EV_BUCKET, tapis_ev_bucket)

/* IPv4: a multibit trie of 16-bit slots, sized to the policy. The first
 * level (tapis_v4_dir16 or _dir24: fixed sizes, so that the XDP program's
 * reads of it are inlined) has a slot per /v4_bits (16 or 24, chosen per policy
 * from the memory each would take: a policy of a few thousand prefixes fits
 * in a few hundred KiB at 16, one with hundreds of thousands of /24s needs
 * 24); a slot either names a leaf or points to a chunk of 256 slots for the
 * next 8 bits (tapis_v4_chunk), down to /32. A leaf (tapis_v4_leaf) holds
 * the entries of both directions for the addresses of its slots, so a
 * packet reads one 2-byte slot per address, and leaves are few and shared
 * (they are what the prefixes covering a slot say, not where it is): the
 * leaf table stays in cache. A slot value below the generation's
 * v4_leaf_limit is a leaf id (0: the empty leaf), from it up chunk
 * v - v4_leaf_limit: the chunk count, fixed at load, decides the split.
 * Slots are packed four to a map value, since an array rounds each value
 * up to 8 bytes.
 * Leaves are never changed while a slot may point to them, and a chunk is
 * filled before its pointer is written, so every edit is a series of
 * single 2-byte stores each of which leaves a consistent table. */
#define TAPIS_V4_SLOTS_PER_VAL 4
struct tapis_v4_slots {
	__u16 s[TAPIS_V4_SLOTS_PER_VAL];
};
#define TAPIS_V4_CHUNK_BITS  8
#define TAPIS_V4_CHUNK_SLOTS (1u << TAPIS_V4_CHUNK_BITS)
#define TAPIS_V4_SLOT_IDS    65536u /* leaf ids and chunk ids share them */
#define TAPIS_V4_MIN_LEAVES  1024u  /* ids left to leaves however many chunks */
#define TAPIS_V4_MAX_LEAVES  32768u /* leaf map entries at most */
#define TAPIS_V4_BITS_SMALL  16
#define TAPIS_V4_BITS_LARGE  24
/* A generation's chunks live in tapis_v4_chunk_s, a map of the size
 * loaded, read inline (flag TAPIS_SF_V4_CHUNK_SMALL), when they fit it;
 * else in tapis_v4_chunk, sized to the generation, which costs a helper
 * call a read (BPF_F_INNER_MAP: the verifier cannot inline a map whose
 * size it does not know). A load sizes the inline map to the policy's
 * chunks and a quarter more (TAPIS_V4_CHUNKS_SMALL_MIN at least), up to
 * every id the slots leave to chunks; a load that does not say gets
 * TAPIS_V4_CHUNKS_SMALL (512 KiB). */
#define TAPIS_V4_CHUNKS_SMALL	   1024u
#define TAPIS_V4_CHUNKS_INLINE_MAX (TAPIS_V4_SLOT_IDS - TAPIS_V4_MIN_LEAVES)
/* The leaf map and the inline chunk map are read inline, so their sizes
 * are fixed for the program's life: chosen at load, at most
 * TAPIS_V4_MAX_LEAVES and TAPIS_V4_CHUNKS_INLINE_MAX, from the policy's
 * IPv4 prefixes (or settings.capacity.ipv4) and chunks, and recorded in
 * tapis_state (tapis_v4_leaves_for() in user space). Leaves: a slot lies in one of the at most 2 x
 * prefixes + 1 ranges that the prefixes' ends cut the address space into, and its leaf is what the
 * prefixes say there, so that many leaves hold any policy of those prefixes; a quarter more for
 * live edits (which make new leaves and free old ones later). */
#define TAPIS_V4_LEAVES_LOAD_MIN  1024u
#define TAPIS_V4_CHUNKS_SMALL_MIN 64u

/* IPv6: prefixes are grouped by their first 32 bits and direction (a
 * provider's /32 with a handful of /40s../64s: the shape of blocklists).
 * tapis_v6_dir* finds a group's block: an array of cache-line buckets of
 * TAPIS_V6_DIR_SLOTS slots; a group sits in the bucket its hash names, so
 * an address whose /32 holds nothing costs one read. Its block
 * (tapis_v6_blk*, 128 bytes, two cache lines) holds the group's prefixes /32../64 inline with,
 * for each, the next less specific one of the group (its parent), so that
 * an expired rule's prefix falls through without another read. A group
 * with more prefixes than a block holds, or one longer than /64, is
 * "hashed": its prefixes live in the exact-prefix hash (tapis_v6_pfx) and
 * the block says which lengths to probe. Prefixes shorter than /32 live
 * in a small LPM trie (tapis_v6_short).
 * Both arrays come in four sizes (classes, tapis_settings.v6_dir_class
 * and v6_blk_class), each an outer map of its own: a map of one size is
 * read inline, one sized per policy (BPF_F_INNER_MAP) costs a helper call
 * per read, about 10 ns. A generation fills one class of each, the
 * smallest that holds its groups with room for live adds. */
#define TAPIS_V6_DIR_SLOTS	 8
#define TAPIS_V6_CLASSES	 4
#define TAPIS_V6_DIR_BITS(c)	 (6 + 4 * (c)) /* 64 .. 262,144 buckets: 4 KiB .. 16 MiB */
#define TAPIS_V6_BLK_BITS(c)	 ((c) == 0 ? 8 : (c) == 1 ? 12 : (c) == 2 ? 15 : 18)
#define TAPIS_V6_BLK_INLINE	 15
#define TAPIS_V6_MIN_HASHED_PLEN 32 /* shorter prefixes live in a small trie */
#define TAPIS_V6_INLINE_MAX_PLEN 64

/* A dir slot: top 32 bits << 32 | dir << 31 | block index, written with
 * one 8-byte store. 0 is empty, and ends a bucket: slots are taken in
 * order and never emptied (block 0 is never handed out). A group whose
 * last prefix is deleted keeps its slot, pointing to block
 * TAPIS_V6_BLK_EMPTY, which holds nothing and is never written. */
#define TAPIS_V6_BLK_EMPTY     1
#define TAPIS_V6_SLOT_BLK_MASK 0x7fffffffu
#define TAPIS_V6_SLOT_DIR_BIT  31
struct tapis_v6_bucket {
	__u64 slot[TAPIS_V6_DIR_SLOTS];
};

/* An inline prefix: address bits 32..63 (host order, masked to its
 * length) and its table entry, whose top byte holds the index + 1 of its
 * parent in the block (0: none); tapis_ent_rule/plen ignore that byte. */
#define TAPIS_V6_PARENT_SHIFT 24
struct tapis_v6_inl {
	__u32 bits;
	__u32 ent;
};
struct tapis_v6_blk {
	__u8 n;	     /* inline prefixes, inl[0..n), longest first */
	__u8 hashed; /* 1: the group's prefixes are in tapis_v6_pfx */
	__u8 pad[2];
	__u32 count; /* hashed: prefixes of the group, for deletes */
	union {
		struct tapis_v6_inl inl[TAPIS_V6_BLK_INLINE];
		__u64 lenmask[2]; /* hashed: bit i = length 32 + i (word i / 64) */
	};
};

/* The bucket of a group: a multiplicative hash of its top 32 bits and
 * direction, cut to the table's 2^bits buckets. */
static inline __u32 tapis_v6_bucket_of(__u32 top, __u32 dir, __u32 bits)
{
	__u64 h = (__u32)((top ^ (dir * 0x85EBCA77u)) * 0x9E3779B1u);

	return (__u32)(h >> (32 - (bits & 31)));
}

/* The home block of slot si < TAPIS_V6_HOMES of bucket b in a table of
 * 2^blk_bits blocks: where a group's block goes when that block is free,
 * so that the data path asks for it beside the bucket and a packet inside
 * the group waits for one cache miss, not two in a row. Any block serves
 * (the slot names it); bucket 0's homes are blocks 0 and 1, which hold no
 * group. */
#define TAPIS_V6_HOMES 2
static inline __u32 tapis_v6_home(__u32 b, __u32 si, __u32 blk_bits)
{
	return ((b << 1) | (si & 1)) & ((1u << (blk_bits & 31)) - 1);
}

/* ---- table entry encoding (u32, per direction) ----
 * 0                      no prefix covers the address
 * otherwise               rule id (bits 0-15), prefix length (bits 16-23)
 */
#define TAPIS_ENT_RULE_MASK  0x0000ffffu
#define TAPIS_ENT_PLEN_SHIFT 16
#define TAPIS_ENT_PLEN_MASK  0x00ff0000u

static inline __u32 tapis_ent_make(__u32 rule, __u32 plen)
{
	return (rule & TAPIS_ENT_RULE_MASK) | (plen << TAPIS_ENT_PLEN_SHIFT);
}
static inline __u32 tapis_ent_rule(__u32 e)
{
	return e & TAPIS_ENT_RULE_MASK;
}
static inline __u32 tapis_ent_plen(__u32 e)
{
	return (e & TAPIS_ENT_PLEN_MASK) >> TAPIS_ENT_PLEN_SHIFT;
}

/* Which address of a packet: its destination or its source. Tables hold
 * an entry per direction (tapis_v4_leaf.ent[dir], the IPv6 keys' dir); a
 * rule matches in a set of directions, bit TAPIS_DIR_BIT(dir) for each
 * (tapis_rule_meta.dirs, the policy's `direction`). */
enum tapis_dir {
	TAPIS_DIR_DST = 0,
	TAPIS_DIR_SRC = 1,
	TAPIS_DIR_MAX = 2,
};
#define TAPIS_DIR_BIT(dir) (1u << (dir))
#define TAPIS_DIRS_DST	   TAPIS_DIR_BIT(TAPIS_DIR_DST) /* direction: dst */
#define TAPIS_DIRS_SRC	   TAPIS_DIR_BIT(TAPIS_DIR_SRC) /* direction: src */
#define TAPIS_DIRS_BOTH	   (TAPIS_DIRS_DST | TAPIS_DIRS_SRC)

/* The entries a leaf holds per direction, most specific first: the prefix
 * that matches and, while the ones before it may expire, the prefixes it
 * lies in, so that a packet falls through an expired rule's prefix to the
 * next less specific live one. The list ends after the first entry whose
 * rule never expires, or at TAPIS_NET_CHAIN entries (more nested expiring
 * prefixes than that: the least specific ones are not seen). */
#define TAPIS_NET_CHAIN 4
struct tapis_v4_leaf {
	__u32 ent[TAPIS_DIR_MAX][TAPIS_NET_CHAIN];
};

/* IPv6 exact prefix key (the address masked to plen). */
struct tapis_v6_key {
	__u8 dir;
	__u8 plen;
	__u8 pad[2];
	__u32 top; /* first 32 bits, host order: the group */
	__u8 addr[16];
};

/* Stock LPM trie key for short IPv6 prefixes and the IPv4 source of truth.
 * data[0] is the direction, so one trie serves both (prefixlen counts it). */
struct tapis_lpm_v4_key {
	__u32 prefixlen;
	__u8 data[1 + 4];
};
struct tapis_lpm_v6_key {
	__u32 prefixlen;
	__u8 data[1 + 16];
};

/* ---- actions and reasons ---- */
enum tapis_action {
	TAPIS_ACT_NONE = 0, /* no rule matched */
	TAPIS_ACT_ALLOW,
	TAPIS_ACT_MONITOR,
	TAPIS_ACT_DROP,
	TAPIS_ACT_REJECT,
	TAPIS_ACT_SINKHOLE,
	TAPIS_ACT_REDIRECT,
	TAPIS_ACT_MAX,
};

/* Why a packet was passed without being fully parsed (fail-open). The name
 * table is reason_names in user/lib/stats.c; append only, the numbers are in the counters. */
enum tapis_reason {
	TAPIS_R_OK = 0,
	TAPIS_R_L2_TRUNC,	/* shorter than its Ethernet/VLAN/PPPoE header */
	TAPIS_R_VLAN_DEPTH,	/* more tags than TAPIS_MAX_VLAN */
	TAPIS_R_NOT_IP,		/* ARP, LLDP, PPP control, ... */
	TAPIS_R_MPLS_TRUNC,	/* label stack cut short */
	TAPIS_R_MPLS_DEPTH,	/* more labels than TAPIS_MAX_MPLS */
	TAPIS_R_MPLS_PAYLOAD,	/* bottom-of-stack payload neither IPv4 nor IPv6 */
	TAPIS_R_IPV4_TRUNC,	/* shorter than the IPv4 header (options incl.) */
	TAPIS_R_IPV4_HDR,	/* bad version or IHL */
	TAPIS_R_IPV6_TRUNC,	/* shorter than the IPv6 header */
	TAPIS_R_IPV6_EXT_TRUNC, /* extension header cut short */
	TAPIS_R_IPV6_EXT_DEPTH, /* more extension headers than the cap */
	TAPIS_R_L4_TRUNC,	/* TCP/UDP header cut short */
	TAPIS_R_NO_GEN,		/* no policy loaded in the active generation */
	/* DNS queries on a dns port whose name is not looked up: */
	TAPIS_R_DNS_TRUNC,     /* header or question cut short (TCP: not in
				* this segment) */
	TAPIS_R_DNS_RESPONSE,  /* QR=1: a response, not a query */
	TAPIS_R_DNS_OPCODE,    /* OPCODE other than QUERY (NOTIFY, UPDATE, ...) */
	TAPIS_R_DNS_QDCOUNT,   /* QDCOUNT != 1 */
	TAPIS_R_DNS_POINTER,   /* compression pointer (or reserved label
				* type 0x40/0x80) in the question name */
	TAPIS_R_DNS_NAME_LONG, /* name over TAPIS_HOST_MAX bytes */
	TAPIS_R_DNS_LABELS,    /* more labels than TAPIS_MAX_LABELS */
	/* Hostnames read as text (TLS SNI, HTTP Host) that are not matched: */
	TAPIS_R_NAME_SYNTAX,	 /* empty label, label over 63 bytes, over 253 bytes */
	TAPIS_R_TLS_MALFORMED,	 /* a ClientHello length field that does not fit */
	TAPIS_R_TLS_BOUND,	 /* server_name not reached within TAPIS_L7_MAX_* */
	TAPIS_R_HTTP_MALFORMED,	 /* a request line or header that is not HTTP/1.x */
	TAPIS_R_HTTP_BOUND,	 /* Host not reached within TAPIS_L7_MAX_* */
	TAPIS_R_L7_OUT_OF_ORDER, /* a followed flow's segment not the next in order */
	TAPIS_R_MAX,
};

/* Counted facts that are not failures: one per-CPU array, index by these. */
enum tapis_stat {
	TAPIS_S_PACKETS = 0,  /* every packet: the sum of the action counters, by user space */
	TAPIS_S_FRAGMENT,     /* non-first fragment: matched on addresses only */
	TAPIS_S_EXPIRED,      /* a match ignored because its rule expired */
	TAPIS_S_REDIRECT_ERR, /* redirect target missing: packet dropped */
	TAPIS_S_QUIC_DROP,    /* QUIC Initial to a tls port dropped (settings.quic: drop) */
	TAPIS_S_QUIC_PASS,    /* QUIC Initial to a tls port passed (settings.quic: pass) */
	TAPIS_S_FLOW_NEW,     /* flow verdicts recorded (evicted = new - present) */
	TAPIS_S_L7_FOLLOWED,  /* hellos / requests followed into a later segment */
	TAPIS_S_TLS_NO_SNI,   /* ClientHello without server_name */
	TAPIS_S_TLS_ECH,      /* ClientHello with encrypted_client_hello (outer SNI matched) */
	TAPIS_S_HTTP_NO_HOST, /* request whose headers ended without Host */
	TAPIS_S_HTTP_IP_HOST, /* Host is an IP literal: no name to match */
	TAPIS_S_ANSWER_HEAD,  /* answer grown at the head: no tail room */
	TAPIS_S_ANSWER_ERR,   /* answer or reset could not be built: dropped */
	TAPIS_S_FLOW_EVICT,   /* a flow's slot taken by another flow */
	TAPIS_S_NOANS_SOURCE, /* no answer: the sender is no unicast host (MAC or IP) */
	TAPIS_S_NOANS_LENGTH, /* no answer: IP or UDP length disagrees with the frame */
	TAPIS_S_NOANS_PPPOE,  /* no answer: PPPoE code not session data, or its length wrong */
	TAPIS_S_NOANS_TCP,    /* no reset: a RST, or a segment without ACK */
	TAPIS_S_EVENTS,	      /* block events written to tapis_events */
	TAPIS_S_EVENTS_LOST,  /* block events not written: over the rate, or the ring full */
	TAPIS_S_MAX,
};

/* ---- per-generation tables ---- */
enum tapis_rule_flags {
	TAPIS_RF_EXPIRES = 1 << 0, /* expires_tai is set */
	TAPIS_RF_ACTIVE = 1 << 1,  /* slot holds a rule in this generation */
};

/* Rule slots: tapis_counters and tapis_rule_meta have that many entries,
 * tapis_rules two generations of them, indexed gen * slots + rule id. A
 * power of two from TAPIS_RULES_MIN to TAPIS_MAX_RULES, chosen at load:
 * room for twice the policy's rules or settings.capacity.rules, so that a
 * reload that renames every rule still finds ids while the old ones run
 * (tapis_rule_slots_for() in user space). The data path masks ids with
 * rule_mask (rodata); user space reads the size from the maps. */
#define TAPIS_RULES_MIN 64
struct tapis_rule {
	__u8 action;	       /* enum tapis_action */
	__u8 flags;	       /* enum tapis_rule_flags */
	__u8 redirect_dmac[6]; /* next hop */
	__u8 redirect_smac[6]; /* the egress interface's own address */
	__u8 pad[2];
	__u32 redirect_ifindex;
	__u64 expires_tai; /* CLOCK_TAI ns; compared with bpf_ktime_get_tai_ns */
};

enum tapis_settings_flags {
	TAPIS_SF_V4_DST = 1 << 0, /* any IPv4 dst prefix in this generation */
	TAPIS_SF_V4_SRC = 1 << 1,
	TAPIS_SF_V6_DST = 1 << 2,
	TAPIS_SF_V6_SRC = 1 << 3,
	TAPIS_SF_V6_SHORT = 1 << 4, /* IPv6 prefixes shorter than /32 exist */
	TAPIS_SF_QUIC_DROP = 1 << 5,
	TAPIS_SF_HOSTS = 1 << 6,	  /* host table non-empty */
	TAPIS_SF_V4_CHUNK_SMALL = 1 << 8, /* IPv4 chunks: tapis_v4_chunk_s */
};

#define TAPIS_PORT_WORDS (65536 / 64)
enum tapis_port_class {
	TAPIS_PORT_DNS = 0,
	TAPIS_PORT_TLS,
	TAPIS_PORT_HTTP,
	TAPIS_PORT_CLASSES,
	TAPIS_PORT_GROUP = 4, /* words a 64-port group takes in tapis_settings */
};

/* Indexed by generation in tapis_settings. */
struct tapis_settings {
	__u32 flags;	      /* enum tapis_settings_flags */
	__u8 v4_bits;	      /* first level of the IPv4 trie: 16 or 24 bits */
	__u8 v6_dir_class;    /* IPv6 buckets: tapis_v6_dir<TAPIS_V6_DIR_BITS(class)> */
	__u16 v4_leaf_limit;  /* IPv4 slots: leaf ids below, chunk ids from */
	__u16 v4_chunks;      /* capacity of this generation's tapis_v4_chunk */
	__u16 v4_chunks_used; /* chunks handed out (grows with live adds) */
	__u16 v4_leaves;      /* capacity of tapis_v4_leaf */
	__u16 v4_leaves_used; /* leaves handed out, leaf 0 included */
	__u32 sinkhole_ttl;
	__u8 sinkhole_v4[4];
	__u8 sinkhole_v6[16];
	__u8 has_sinkhole_v4;
	__u8 has_sinkhole_v6;
	__u8 v6_blk_class; /* IPv6 blocks: tapis_v6_blk<TAPIS_V6_BLK_BITS(class)> */
	/* log2 of the host index's slots (its size as loaded, for every
	 * generation the same): here, on the line the host match reads
	 * anyway, rather than in rodata, a line more for a cold packet. */
	__u8 host_idx_log2;
	/* Bit k: some host pattern of k labels matches the name it names
	 * (self_labels), or names below it (sub_labels). The match looks up
	 * only suffixes of those label counts; a live `host add` sets its
	 * bit before its entry, a delete leaves it. */
	__u64 self_labels;
	__u64 sub_labels;
	/* Bitmaps of the ports of each class, host order, the words of one
	 * 64-port group side by side: a port's classes are one cache line. */
	__u64 ports[TAPIS_PORT_WORDS][TAPIS_PORT_GROUP];
	/* Block events (settings.events), per CPU: one every ev_interval_ns
	 * on average, bursts up to ev_burst_ns of them ahead; 0: none. */
	__u64 ev_interval_ns;
	__u64 ev_burst_ns;
};

/* ---- block events (tapis_events, a ring buffer) ----
 * One per blocked packet (drop, reject, sinkhole, redirect) while a reader
 * runs (tapis_ctl[TAPIS_CTL_EVENTS]), within the per-CPU rate of
 * settings.events; what the rate or a full ring keeps out is counted
 * (TAPIS_S_EVENTS_LOST), never waited for. */
/* The ring's bytes: settings.events.ring, a power of two, this by default
 * (about 800 events of 328 bytes: what `tapis events` reads in a moment,
 * far above the default rate), set at load. */
#define TAPIS_EVENTS_RING (1u << 18)
/* tapis_ev_bucket, per CPU: the rate's state, and the events it kept out
 * (user space adds them to TAPIS_S_EVENTS_LOST). Over the rate, the next
 * `skip` blocked packets are counted lost without reading the clock, skip
 * doubling up to 255 while the flood lasts: under a flood the clock is
 * read once in 256 packets, and the rate stays a ceiling. */
struct tapis_ev_bucket {
	__u64 tat; /* when the next event is due, bpf_ktime_get_ns */
	__u64 lost;
	__u32 skip;
	__u32 backoff;
};
#define TAPIS_EVENT_NAME 256
struct tapis_event {
	__u64 tai_ns; /* CLOCK_TAI */
	__u32 rule;
	__u32 ifindex;
	__u8 action;  /* enum tapis_action */
	__u8 kind;    /* enum tapis_kind */
	__u8 family;  /* 4 or 6 */
	__u8 l4proto; /* IPPROTO_*, 0 without an L4 header */
	__u16 sport;  /* host order */
	__u16 dport;
	__u8 saddr[16]; /* IPv4: the first 4 bytes */
	__u8 daddr[16];
	__u16 name_len; /* 0: no hostname (an address or flow verdict) */
	__u8 pad[6];
	char name[TAPIS_EVENT_NAME]; /* as on the wire, name_len bytes */
};

/* tapis_ctl: which generation packets read, and whether anyone reads block
 * events. Two entries, each written whole by one kind of writer, so that
 * neither can put back an older value of the other's: a reload's flip
 * writes [TAPIS_CTL_GEN], `tapis events` [TAPIS_CTL_EVENTS]. Both lie on
 * the line the entry reads for the generation. */
enum {
	TAPIS_CTL_GEN = 0,
	TAPIS_CTL_EVENTS = 1,
	TAPIS_CTL_N,
};
struct tapis_ctl {
	__u32 gen; /* [TAPIS_CTL_GEN]: 0 or 1 */
	/* [TAPIS_CTL_EVENTS]: nonzero while a `tapis events` runs: it sets
	 * this when it starts, again every second, and clears it when it
	 * ends. Only then does a
	 * blocked packet pass the events' rate gate, whose per-CPU state is
	 * a line (and a page) no other part of the packet's path touches:
	 * 20-30 ns for a packet that finds it cold (a name's first blocked
	 * packet, a flood to random blocked addresses). Without a reader the
	 * ring would only fill with events nobody sees. */
	__u32 events_reader;
};

/* ---- global tables (outside generations) ---- */
/* Where a rule matched a packet: its address, a name found by one of the
 * L7 stages, or the remembered verdict of a flow a name matched earlier.
 * The per-rule counters split by it. */
enum tapis_kind {
	TAPIS_KIND_NET = 0,
	TAPIS_KIND_DNS,
	TAPIS_KIND_TLS,
	TAPIS_KIND_HTTP,
	TAPIS_KIND_FLOW,
	TAPIS_KIND_MAX,
};

/* Per-CPU, indexed by rule id. Summed by user space. */
struct tapis_counter {
	__u64 packets;
	__u64 bytes;
	__u64 last_ns;	    /* bpf_ktime_get_coarse_ns of the last hit (monotonic) */
	__u64 expired;	    /* matches ignored because the rule had expired */
	__u64 last_jiffies; /* last_ns is refreshed once per tick, not per hit */
	__u64 kind_packets[TAPIS_KIND_MAX]; /* packets, bytes by enum tapis_kind */
	__u64 kind_bytes[TAPIS_KIND_MAX];
};

/* Per-CPU, indexed by enum tapis_action: what happened to packets. */
struct tapis_action_counter {
	__u64 packets;
	__u64 bytes;
};

/* Read only by user space: who a rule id is, for stats without the policy. */
struct tapis_rule_meta {
	char name[TAPIS_NAME_MAX];
	char reference[TAPIS_REF_MAX];
	__u8 action;
	__u8 in_use;
	__u8 dirs; /* TAPIS_DIRS_*: where a live `net add` inserts */
	__u8 pad[5];
	__u64 expires_unix; /* seconds; 0 = never */
	__u64 since_unix;   /* when this name was first loaded */
	/* Entries this rule holds in the running generation, kept by apply
	 * and live edits so that stats never walks millions of keys. */
	__u64 n_v4;
	__u64 n_v6;
	__u64 n_hosts;
};

struct tapis_iface {
	__u32 ifindex;
	__u8 mode;	/* libxdp enum xdp_attach_mode */
	__u8 multiprog; /* 1: attached through the libxdp dispatcher */
	__u8 in_use;
	__u8 pad;
	char name[TAPIS_IFNAME_MAX];
};

/* tapis_edits: the live edits (`host|net add|del`) that differ from the
 * policy file, read only by user space. They outlive a reload (it applies
 * them again on top of the file, and says which no longer apply) and die
 * with the filter at unload. The entry as the operator would type it:
 * "=a.example", "*.example.org", "198.18.0.0/15". */
/* Entries at most: settings.capacity.edits, this by default, set at load.
 * A hash map without preallocation: what it costs is its buckets, 16
 * bytes an entry of capacity, and the edits there. */
#define TAPIS_EDITS_DEFAULT 8192
#define TAPIS_EDIT_TEXT	    264
enum tapis_edit_type {
	TAPIS_EDIT_HOST = 1,
	TAPIS_EDIT_NET = 2,
};
enum tapis_edit_op {
	TAPIS_EDIT_ADD = 1, /* not in the file, added live */
	TAPIS_EDIT_DEL = 2, /* in the file, deleted live */
};
/* A record is written before the tables change (the intent) and settled
 * after, so a command killed in between leaves a record the next command
 * finds and completes: the edit is then in force and recorded, or neither. */
enum tapis_edit_pending {
	TAPIS_EDIT_SETTLED = 0,
	TAPIS_EDIT_PENDING = 1, /* the record's op is being made */
	TAPIS_EDIT_UNDOING = 2, /* its opposite is being made: then the record goes */
};
struct tapis_edit_key {
	__u8 type; /* enum tapis_edit_type */
	__u8 pad[7];
	char rule[TAPIS_NAME_MAX];
	char entry[TAPIS_EDIT_TEXT];
};
struct tapis_edit_val {
	__u8 op;      /* enum tapis_edit_op */
	__u8 pending; /* enum tapis_edit_pending */
	__u8 pad[6];
	__s64 when_unix;
	__s64 expires_unix; /* an add with --expires/--for; 0 = never */
	__u32 uid;
	__u32 pad2;
	char who[32]; /* user name, and SUDO_USER when set */
};

/* tapis_state[0]: what `status` and `reload` need to know. */
struct tapis_state {
	char policy_path[TAPIS_PATH_MAX];
	char policy_digest[72]; /* "sha256:<hex>" of the file as applied */
	__u64 loaded_unix;
	__u64 reloaded_unix;
	__u32 reloads;
	/* The generation that policy_path and the digests describe, plus
	 * one (0: not recorded, by an older tapis). Written before the flip
	 * to it, so that a reload killed between the two leaves a record
	 * readers can tell is not of the running generation. */
	__u32 policy_gen;
	struct tapis_iface ifaces[TAPIS_MAX_IFACES];
	/* SHA-256 of the bytes of the policy and its list files when they
	 * were last applied (content_digest() in user/lib/digest.c; all zero
	 * when unknown). A `load` of the same content finds nothing to do.
	 * policy_digest above covers the policy file alone. */
	__u8 content_digest[TAPIS_DIGEST_LEN];
	/* log2 of the host index's slots the program was loaded with (its
	 * load-time constant, which user space must hash with too); 0: not
	 * recorded, TAPIS_HOST_IDX_LOG2_DEFAULT. Written once, at load. */
	__u32 host_idx_log2;
	/* Entries of the IPv4 leaf map and chunks of the small chunk map
	 * the program was loaded with; 0: not recorded, TAPIS_V4_MAX_LEAVES
	 * and TAPIS_V4_CHUNKS_SMALL. Written once, at load. */
	__u32 v4_leaves;
	__u32 v4_chunks_small;
	__u32 pad;
};

/* ---- the hostname hash: one definition, compiled into both worlds ----
 * A name is hashed label by label from its LAST label to its first, so the
 * running value after each label is the key of the suffix that label
 * starts: one pass yields the "com", "example.com", "www.example.com" keys.
 *
 * A label is taken in its wire form: its length byte, then its bytes
 * lowercased (ASCII only). That string is cut into 8-byte chunks from its
 * end, each read as a little-endian word; the first (leftmost) chunk is
 * zero-padded at its start, that is in its low bytes. "com" is one chunk,
 * 0x6d6f6303_00000000; a 15-byte label is exactly two. The length byte
 * makes a label's chunks say where it begins, so "ab.c" and "a.bc" differ.
 * With the label's position p, counted from the right (the last label is
 * 1):
 *
 *	acc = 0;  for each chunk c, last first:  acc = mix(acc) ^ c
 *	h += mix(acc) * (2p + 1)	(h starts at TAPIS_HASH_INIT)
 *
 * mix is the splitmix64 finalizer, a bijection with full avalanche, and
 * times an odd number is one too: each label adds a pseudo-random 64-bit
 * term that depends on its bytes, length and position, so two different
 * names sum to one key only by chance, 2^-64 (docs/dns.md). Only the add is
 * on the dependent chain: the labels are mixed independently of each other
 * and of h. Most labels are one chunk, for which acc is the chunk itself. */
#define TAPIS_HASH_INIT 0xcbf29ce484222325ULL

static inline __u8 tapis_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? (__u8)(c + ('a' - 'A')) : c;
}

static inline __u64 tapis_hash_mix(__u64 x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* One chunk of a label into its accumulator (0 before the first). */
static inline __u64 tapis_hash_chunk(__u64 acc, __u64 chunk)
{
	return tapis_hash_mix(acc) ^ chunk;
}

/* A label's accumulated chunks into the running hash; pos is 1 for the
 * last label. */
static inline __u64 tapis_hash_label(__u64 h, __u64 acc, __u32 pos)
{
	return h + tapis_hash_mix(acc) * (2 * (__u64)pos + 1);
}

/* The definition, byte-wise: label (len bytes, any case, 1..63) at
 * position pos into h. */
static inline __u64 tapis_hash_label_bytes(__u64 h, const char *label, __u32 len, __u32 pos)
{
	__u64 acc = 0, w = 0;
	__u32 n = len + 1, k; /* wire bytes: the length byte, then the label */
	int i;

	/* Chunk k covers wire bytes n - 8(k+1) .. n - 8k - 1. */
	for (k = 0; 8 * k < n; k++) {
		w = 0;
		for (i = 7; i >= 0; i--) {
			int at = (int)n - 8 * ((int)k + 1) + i; /* wire index of byte i */
			__u8 c;

			if (at < 0)
				break;
			c = at == 0 ? (__u8)len : tapis_lower((__u8)label[at - 1]);
			w |= (__u64)c << (8 * i);
		}
		acc = tapis_hash_chunk(acc, w);
	}
	return tapis_hash_label(h, acc, pos);
}

/* Host table value: which rule applies to the name itself and which to
 * names below it. "example.com" sets both, "=example.com" only self,
 * "*.example.com" only sub. */
struct tapis_host_val {
	__u16 self_rule;
	__u16 sub_rule;
	__u32 pad;
};

/* Host filter: one bit per possible key, per generation, set for every
 * key in the host table. The XDP side tests the bit before it looks a
 * suffix up: most suffixes of most queried names are in no list, and an
 * array read costs a fraction of a hash-map lookup. A set bit proves
 * nothing (the hash lookup decides); a clear bit proves absence. Bits are
 * only ever set while a generation lives; a reload starts afresh.
 *
 * Filter and index are sized when the program is loaded, to the policy
 * (tapis_host_idx_log2_for() in user space, settings.capacity.names): the
 * index has 2^log2 slots (and TAPIS_HOST_IDX_PROBES - 1 more, so that a
 * probe never wraps) and the filter 2^TAPIS_HOST_FILTER_LOG2_PER_SLOT bits
 * a slot, 32, which keeps the share of absent suffixes that reach the
 * index (about 1.5% at half load) the same at every size. Both arrays are
 * read inline, so their sizes are fixed for the program's life; every
 * generation's tapis_settings.host_idx_log2 repeats the size for the data
 * path. At log2 22 (64 + 16 MiB) they hold about 3 million keys before the
 * overflow grows.
 *
 * Both hashes take the top bits of a product (Fibonacci hashing), as many
 * as the size needs: shift is tapis_host_idx_shift(log2), worked out once
 * per name by the data path, as a shift by a register costs what a shift
 * by a constant does. */
#define TAPIS_HOST_FILTER_LOG2_PER_SLOT 5
#define TAPIS_HOST_IDX_LOG2_MIN		12 /* 4096 slots, 64 KiB: the floor */
#define TAPIS_HOST_IDX_LOG2_MAX		24 /* 16M slots, 256 MiB */
#define TAPIS_HOST_IDX_LOG2_DEFAULT	22 /* a handle loaded unsized (tests) */

static inline __u32 tapis_host_idx_shift(__u32 idx_log2)
{
	return 64 - idx_log2;
}

/* The filter's bit for key. */
static inline __u32 tapis_host_filter_bit(__u64 key, __u32 shift)
{
	return (__u32)((key * 0x9E3779B97F4A7C15ULL) >> (shift - TAPIS_HOST_FILTER_LOG2_PER_SLOT));
}

/* Host index: the host table once more, as an open-addressed array the
 * XDP program reads inline (a hash-map lookup is a call, and calls are what
 * cost). A key lives in the first empty slot of the TAPIS_HOST_IDX_PROBES
 * from its home slot; slots are never emptied while a generation lives (a
 * deleted pattern leaves its key with zero rules), so an empty slot ends a
 * search. A key that found no slot is only in the hash map, and its home
 * slot says so (TAPIS_HIS_OVERFLOW): the XDP side then asks the hash map. */
#define TAPIS_HOST_IDX_PROBES 4
#define TAPIS_HIS_OVERFLOW    1

struct tapis_host_slot {
	__u64 key; /* 0: empty (a key that is 0 lives in the hash map) */
	__u16 self_rule;
	__u16 sub_rule;
	__u16 flags; /* TAPIS_HIS_* */
	__u16 pad;
};

/* Home slot of key; its probes are the TAPIS_HOST_IDX_PROBES from there. */
static inline __u32 tapis_host_idx_home(__u64 key, __u32 shift)
{
	return (__u32)((key * 0xD6E8FEB86659FD93ULL) >> shift);
}

/* Entries of the index (array) map of 2^idx_log2 slots. */
static inline __u32 tapis_host_idx_entries(__u32 idx_log2)
{
	return (1u << idx_log2) + TAPIS_HOST_IDX_PROBES - 1;
}

/* ---- per-flow state (hostname rules on TCP) ----
 * tapis_flows is the flow table: an array of slots, one per hash of the
 * flow as the client sees it (client address and port first: the side
 * whose port is not a tls/http port), so both directions find one slot,
 * read inline with no call. A slot is empty, holds a verdict (a name
 * matched: later packets of the flow get the same rule), or says that a
 * ClientHello or HTTP request of the flow is being followed across in-order
 * segments. That state is in tapis_l7_states, an array read at the slot's
 * low bits, tagged with the slot and its check: no hash, no lock, on the
 * first segment or the next. Slots are only written on tls/http ports, and
 * only read there. A flow that hashes to a taken slot takes it: the one
 * there is evicted, and counted (TAPIS_S_FLOW_EVICT); a followed flow
 * whose state entry another took is counted as out of order. A name cut
 * by a segment boundary keeps its first part in tapis_l7_names, the same
 * way. */
#define TAPIS_FLOWS_DEFAULT 8192 /* settings.flows: slots of tapis_flows (a power of 2) */
/* Entries of tapis_l7_states and tapis_l7_names: powers of two, as a flow's
 * slot picks its entry by its low bits; a quarter and a sixteenth of the
 * flow table's slots (settings.flows), these at the default. */
#define TAPIS_L7_STATES_SHIFT 2
#define TAPIS_L7_NAMES_SHIFT  4
#define TAPIS_L7_STATES	      (TAPIS_FLOWS_DEFAULT >> TAPIS_L7_STATES_SHIFT) /* followed at once */
#define TAPIS_L7_NAMES	      (TAPIS_FLOWS_DEFAULT >> TAPIS_L7_NAMES_SHIFT) /* partial names carried */
#define TAPIS_L7_MAX_SEGS     8	    /* segments one hello or request is followed */
#define TAPIS_L7_MAX_BYTES    16384 /* bytes of one hello or request followed */
#define TAPIS_L7_MAX_STEPS    64    /* fields parsed per segment */

/* Five words, compared as such: caddr, saddr (IPv4 in their first 4
 * bytes), then both ports and the family. */
struct tapis_flow_key {
	__u8 caddr[16]; /* client */
	__u8 saddr[16]; /* server */
	__be16 cport_be;
	__be16 sport_be;
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
};

_Static_assert(sizeof(struct tapis_flow_key) == 5 * sizeof(__u64), "five words");

/* The flow's hash: its slot is the low bits (slots - 1), its check the
 * high 32. One definition for the data path and the tools that find a
 * flow's slot. */
static inline __u64 tapis_flow_hash(const struct tapis_flow_key *k)
{
	__u64 w[5], h;

	/* Copied, not cast: C's aliasing rules let a compiler read a
	 * struct of bytes through a __u64 pointer before its fields are
	 * written. */
	__builtin_memcpy(w, k, sizeof(w));
	h = (w[0] + w[2] * 0x9E3779B97F4A7C15ULL) ^ (w[1] + w[3] * 0xC2B2AE3D27D4EB4FULL);
	return tapis_hash_mix(h ^ w[4]);
}

/* A slot of tapis_flows. check ties the key's hash to the rest, so a slot
 * torn by two CPUs writing it at once reads as empty. */
struct tapis_flow_slot {
	struct tapis_flow_key key;
	__u16 rule; /* VERDICT: the rule a name matched */
	__u8 state; /* enum tapis_flow_state; 0: empty */
	__u8 kind;  /* VERDICT: enum tapis_kind of the match */
	__u32 check;
};

enum tapis_flow_state {
	TAPIS_FLOW_VERDICT = 1, /* rule, kind: every later packet */
	TAPIS_FLOW_TLS,		/* a ClientHello in progress (tapis_l7_states) */
	TAPIS_FLOW_HTTP,	/* request headers in progress (tapis_l7_states) */
};

/* Whose an entry of tapis_l7_states or tapis_l7_names is: its flow's slot
 * and check. A flow reads its entry only while its slot says it is
 * followed, which it set when it wrote the entry. */
struct tapis_l7_tag {
	__u32 slot;
	__u32 check;
};

struct tapis_flow_val {
	__u16 rule;	/* VERDICT: the rule a name matched */
	__u8 state;	/* enum tapis_flow_state */
	__u8 kind;	/* VERDICT: enum tapis_kind of the match */
	__u32 next_seq; /* L7: sequence number the next client segment starts at */
	/* L7 parse state. Positions count the stream the stage reads: TLS
	 * handshake bytes (record headers excluded), or request bytes. */
	__u32 pos;	 /* bytes consumed */
	__u32 skip;	 /* bytes to pass over before the next field */
	__u32 hs_end;	 /* TLS: end of the ClientHello */
	__u32 ext_end;	 /* TLS: end of the extensions block */
	__u16 rec_left;	 /* TLS: bytes left in the current record; 0: header next */
	__u16 name_len;	 /* name bytes expected */
	__u16 name_have; /* name bytes gathered (in tapis_l7_names between segments) */
	__u8 phase;	 /* which field comes next */
	__u8 need;	 /* bytes of that field */
	__u8 have;	 /* bytes of it already in acc */
	__u8 rhave;	 /* TLS: bytes of a record header already in racc */
	__u8 segs;	 /* segments followed */
	__u8 flags;	 /* TAPIS_L7F_* */
	__u64 acc;	 /* the field's bytes so far, big-endian */
	__u64 racc;	 /* TLS: the record header's bytes so far */
};
#define TAPIS_L7F_ECH 1 /* encrypted_client_hello seen */

/* A name started in one segment and continued in the next: its first
 * part (the length is in the flow's state). */
struct tapis_l7_name {
	struct tapis_l7_tag tag; /* index: slot & (TAPIS_L7_NAMES - 1) */
	__u8 bytes[256];
};

/* A hello or request followed across segments: its parser's state. */
struct tapis_l7_state {
	struct tapis_l7_tag tag; /* index: slot & (TAPIS_L7_STATES - 1) */
	struct tapis_flow_val st;
};

/* Where a TCP packet on a tls/http port stands (BPF scratch, see below). */
struct tapis_flow_pos {
	__u32 state;   /* its flow's slot state; 0: none */
	__u32 seq;     /* TCP sequence number, host order */
	__u32 pay_off; /* payload, from the frame start */
	__u32 pay_end;
	__u8 to_server; /* sent to the tls/http port */
	__u8 cls;	/* TAPIS_PORT_TLS or TAPIS_PORT_HTTP of that port */
	__u16 rule;	/* state VERDICT: the slot's rule */
};

/* The name an L7 stage found, as the host match reads it (BPF scratch,
 * in the ABI because it is a map value), in one of two forms.
 * bytes[TAPIS_NAME_OFF + i] for i in 0..name_end - 1 holds the name, the
 * byte after its last label at name_end:
 * - dotted text (TLS, HTTP): a dot, then the labels with a dot between
 *   each two. The match finds the labels from the end, eight bytes at a
 *   time, and puts each label's length in place of the dot before it as
 *   it hashes, so the name gives the key of its DNS wire form;
 * - wire form (DNS): the query name as it came, each label behind its
 *   length byte, with where those are (lab, nlab), which the stage learned
 *   walking the name; the match reads only the labels' terms (keys).
 * The stage knows its form, so each call site of the match is compiled
 * for one. TAPIS_NAME_OFF bytes of slack in front let it read eight bytes
 * ending anywhere in the name. */
#define TAPIS_NAME_OFF 8
struct tapis_name_buf {
	/* Twice the longest name: a name is assembled from parts, and the
	 * verifier must see every part's copy fit whatever came before. */
	__u8 bytes[TAPIS_NAME_OFF + 2 * 256 + 8];
	__u16 name_end;
	__u8 kind;    /* enum tapis_kind: the stage that found it */
	__u8 nlab;    /* wire form (DNS): its labels */
	__u8 lowered; /* dotted form: the stage copied it lowercased */
	__u8 pad[3];
	/* Wire form: where each label's length byte is, first label first. */
	__u8 lab[TAPIS_MAX_LABELS];
	struct tapis_flow_key fk;   /* the packet's flow, as tapis_flows keys it */
	struct tapis_flow_pos fpos; /* where it stands */
	__u32 slot;		    /* its slot's index */
	__u32 check;		    /* and the slot's check for it */
	/* Where the L7 stage is in this segment, and how it ended. */
	__u32 off; /* next unread payload byte, from the frame start */
	__u32 end; /* end of this segment's payload */
	__u32 res; /* the stage's outcome (bpf/l7_stream.bpf.h) */
	__u32 reason;
	__u16 cand[16]; /* the host match's rules along the name (HOST_CANDS) */
	/* The L7 stage's working state for this packet (TLS, HTTP), kept
	 * in tapis_flows between segments. */
	struct tapis_flow_val st;
	/* Wire form: keys[i] is label i's term (tapis_hash_mix() of its
	 * chunks), from the DNS stage; the host match turns it into the key
	 * of the suffix label i starts, and key_hit[i] into its filter bit
	 * (bpf/l7_name.bpf.h). Last: the fields above keep the lines they
	 * had, which the TLS stage's figures depend on. */
	__u8 key_hit[TAPIS_MAX_LABELS];
	__u64 keys[TAPIS_MAX_LABELS];
};

#endif /* TAPIS_ABI_H */
