/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tapis.h - the library behind the tapis command: the running filter as a
 * handle on its pinned maps, policy installation into a generation, live
 * edits, and stats snapshots. The CLI (user/cli), the packet tests
 * and the bench all use this and nothing below it.
 *
 * Conventions: functions return 0 or -errno; they print nothing except
 * through log.h at the boundary where the reason is known best.
 */
#ifndef TAPIS_H
#define TAPIS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../bpf/tapis_abi.h"
#include "policy.h"

#define TAPIS_DEFAULT_PIN "/sys/fs/bpf/tapis"
/* Members may read the filter's state: status, stats, explain, audit. */
#define TAPIS_GROUP "tapis"

/* Give a new pin to group tapis, 0640 (handle.c). */
void tapis_pin_perms(const char *path);

/* Exit codes of the tapis command (README "Exit codes"). */
enum tapis_exit {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1, /* anything else that failed */
	EXIT_POLICY = 2,  /* bad policy, list or command-line argument */
	EXIT_KERNEL = 3,  /* BPF load, map or attach failure */
	EXIT_NOSTATE = 4, /* nothing loaded at the pin path */
	EXIT_BUSY = 5,	  /* another tapis holds the pin-path lock */
};

/* The pinned maps (TAPIS_MAPS in the ABI header), M_CTL .. M_L7_STATES. */
/* clang-format off */
enum tapis_map_id {
#define TAPIS_MAP_ID(id, name) M_##id,
	TAPIS_MAPS(TAPIS_MAP_ID)
#undef TAPIS_MAP_ID
	M__COUNT,
};
/* clang-format on */

/* Their names, as declared in bpf/maps.bpf.h and pinned: tapis_open opens
 * them all and tapis_unpin removes them all. */
extern const char *const tapis_map_names[M__COUNT];

struct tapis_bpf; /* the skeleton */

struct tapis {
	char pin_path[512]; /* "" when not pinned (tests, bench); longer is refused */
	int lock_fd;
	int prog_fd;
	int map_fd[M__COUNT];
	int ncpus;
	int v4_exact_fd[2];	/* unpinned runs: user-space-only v4 prefix maps */
	struct tapis_bpf *skel; /* set when this process loaded the object */
	void *xdp_prog;		/* struct xdp_program *, for attach */
	bool readonly;		/* opened shared: pins opened BPF_F_RDONLY */
	uint32_t host_idx_log2; /* host index size as loaded; 0: not read yet */
	uint32_t alt_prog_id;	/* a reader during a program swap: the old program's id */
	int64_t host_entries;	/* host entries of the running rules; < 0: not counted yet */
	uint32_t rule_slots;	/* rule slots as loaded (tapis_rule_slots); 0: not read yet */
	uint32_t v4_leaves, v4_chunks_small; /* as loaded (tapis_v4_sizes); 0: not read yet */
};

/* Load the BPF object. pin_path NULL: nothing pinned (packet tests, bench);
 * otherwise the maps and the program are pinned under it and it must not
 * already hold a tapis (-EEXIST). Takes the pin-path lock. */
int tapis_create(struct tapis *t, const char *pin_path);

/* Sizes fixed when the object is loaded: a reload cannot change them. */
struct tapis_load_opts {
	uint32_t flows; /* entries of tapis_flows (settings.flows); 0: TAPIS_FLOWS_DEFAULT */
	/* log2 of the host index's slots (tapis_host_idx_log2_for());
	 * 0: TAPIS_HOST_IDX_LOG2_DEFAULT. */
	uint32_t host_idx_log2;
	/* Rule slots, a power of two (tapis_rule_slots_for()); 0:
	 * TAPIS_MAX_RULES. */
	uint32_t rule_slots;
	uint32_t events_ring; /* bytes of tapis_events; 0: TAPIS_EVENTS_RING */
	uint32_t edits;	      /* entries of tapis_edits; 0: TAPIS_EDITS_DEFAULT */
	/* IPv4 leaf map entries (tapis_v4_leaves_for()) and small chunk map
	 * chunks; 0: TAPIS_V4_MAX_LEAVES, TAPIS_V4_CHUNKS_SMALL. */
	uint32_t v4_leaves;
	uint32_t v4_chunks_small;
};
struct compiled;
/* Every size above for the compiled policy c and its settings: what
 * `tapis load` creates the maps with. 0, or -E2BIG when the host names
 * are more than the largest host tables take (the caller says so). */
int tapis_load_opts_for(const struct compiled *c, struct tapis_load_opts *o);
/* tapis_create with o applied before the object is loaded (o may be NULL). */
int tapis_create_opts(struct tapis *t, const char *pin_path, const struct tapis_load_opts *o);

/* Open what an earlier tapis pinned. -ENOENT when nothing is there. Takes
 * the lock unless `shared` (read-only commands: status, stats, explain,
 * which take none). */
int tapis_open(struct tapis *t, const char *pin_path, bool shared);
/* tapis_open(t, pin_path, true) without its wait: a load or unload under
 * way (a pin missing) is -ENOENT at once. For tapis serve, whose one thread
 * answers every scrape: it answers tapis_up 0 for that moment rather than
 * hold every client for up to TAPIS_READER_WAIT_MS. */
int tapis_open_reader(struct tapis *t, const char *pin_path);

void tapis_close(struct tapis *t);

/* How long tapis_open and tapis_create wait for the pin-path lock another
 * tapis holds: 0 (the default) not at all, < 0 for ever. A read-only open
 * takes no lock; it waits up to TAPIS_READER_WAIT_MS (or as told) for a
 * load or unload under way to finish. */
#define TAPIS_READER_WAIT_MS 10000
void tapis_set_lock_wait(int ms);

/* Remove the pins a load killed before it pinned its program left (no
 * process can use them). 0 when removed, -ENOENT when the pin path holds
 * no such leftovers, -errno. */
int tapis_remove_stale(const char *pin_path);

/* Remove every pin (after detaching). */
int tapis_unpin(struct tapis *t);

/* ---- attach (attach.c) ---- */
enum tapis_mode {
	MODE_AUTO = 0,
	MODE_NATIVE,
	MODE_GENERIC,
};
int parse_mode(const char *s, enum tapis_mode *m);
const char *mode_name(uint8_t xdp_attach_mode);
/* The `ip link set dev IF ... off` keyword that removes a program attached
 * in xdp_attach_mode: "xdpdrv", "xdpgeneric", "xdpoffload". */
const char *mode_ip_keyword(uint8_t xdp_attach_mode);
/* Does an attachment in xdp_attach_mode satisfy m (auto: any)? */
bool mode_matches(enum tapis_mode m, uint8_t xdp_attach_mode);

/* What runs on an interface now, as the kernel says (not as tapis_state
 * records it). */
enum tapis_xdp_owner {
	TAPIS_XDP_NONE = 0, /* no XDP program */
	TAPIS_XDP_OURS,	    /* this filter's program */
	TAPIS_XDP_OTHER,    /* someone else's */
};
struct tapis_xdp_info {
	enum tapis_xdp_owner owner;
	uint32_t ifindex;
	uint32_t prog_id;   /* the program found (OTHER: the first one not ours) */
	char prog_name[24]; /* its name, as bpftool shows it */
	uint8_t mode;	    /* libxdp enum xdp_attach_mode (mode_name) */
	bool multiprog;	    /* a libxdp dispatcher, which tapis can join */
};
/* -ENODEV when no interface has that name. Prints nothing. */
int tapis_xdp_query(struct tapis *t, const char *ifname, struct tapis_xdp_info *x);

/* Attach to every interface or to none: on failure the interfaces attached
 * by this call are detached again. Records them in tapis_state. An
 * interface tapis already runs on, as recorded, is -EEXIST; one whose record
 * is stale (the program gone, the interface made anew) is attached again;
 * one where another XDP program runs outside a libxdp dispatcher is
 * refused with -EBUSY, naming that program. */
int tapis_attach(struct tapis *t, char *const *ifnames, int n, enum tapis_mode mode);
/* Detach from one interface (NULL: all recorded). */
int tapis_detach(struct tapis *t, const char *ifname);

/* ---- the policy's digest (digest.c) ---- */
#define TAPIS_DIGEST_STR (7 + 2 * TAPIS_DIGEST_LEN + 1) /* "sha256:" hex NUL */
/* SHA-256 over the bytes of every file p was parsed from (the policy, then
 * its lists), read now: call it right after the parse. 0 or -EINVAL (p
 * names no file). */
int content_digest(const struct policy *p, uint8_t out[TAPIS_DIGEST_LEN]);
/* All zero means unknown (a filter applied by something that did not say
 * what it read). */
bool content_digest_known(const uint8_t d[TAPIS_DIGEST_LEN]);
const char *content_digest_str(const uint8_t d[TAPIS_DIGEST_LEN], char out[TAPIS_DIGEST_STR]);
/* Record in tapis_state what the running policy was applied from. Every
 * tapis_apply clears it first, so a caller that does not set it leaves
 * "unknown", never a stale digest. */
int tapis_set_content_digest(struct tapis *t, const uint8_t d[TAPIS_DIGEST_LEN]);

/* ---- policy installation (compile.h, apply.c) ---- */
struct compiled;
/* The running filter's rules, indexed by id (meta has TAPIS_MAX_RULES). */
int tapis_running_rules(struct tapis *t, struct tapis_rule_meta *meta);
/* policy_compile against the rules t runs, so that names keep their ids. */
int tapis_compile(struct tapis *t, const struct policy *p, struct compiled *c);
/* Install c, compiled for t and resolved (compiled_resolve), in the idle
 * generation, then flip. Either the whole new policy runs afterwards, or
 * (on error) the old one still does. */
int tapis_apply(struct tapis *t, const struct compiled *c);
/* Undo what a killed tapis_apply left: the idle generation's tables and
 * pins, and rule names the running generation does not have. A writer's
 * open calls it. 0 or -errno. */
int tapis_repair_generations(struct tapis *t);
/* The running policy as it is, live edits included, with host tables of
 * 2^log2 index slots: a program swap (swap.c). -ENOSPC past the largest
 * size or when not larger; 0 or -errno (reported). */
int tapis_grow_hosts(struct tapis *t, uint32_t log2);
/* tapis_compile, compiled_resolve and tapis_apply in one call. */
int tapis_install(struct tapis *t, const struct policy *p);

/* ---- live edits (edit.c) ---- */
/* One entry of one rule, in the active generation. */
int tapis_net_edit(struct tapis *t, const char *rule, const struct net_entry *e, bool add);
int tapis_host_edit(struct tapis *t, const char *rule, const struct host_entry *h, bool add);
/* The rule that holds `base`'s entries expiring at `expires` (unix s),
 * made live in the running generation when missing: same action,
 * reference and target, its own counters, expiring then (or with base, if
 * sooner). Its name, "<base>@<time>", into name. 0 or -errno (reported). */
int tapis_timed_rule(struct tapis *t, const char *base, int64_t expires, char *name, size_t n);
/* Complete the live edits a killed process left pending (edits.h): each is
 * made, or, when it cannot be (its rule is gone), its record is put back.
 * A writer's open calls it. 0 or the first -errno of a record left pending. */
int tapis_complete_edits(struct tapis *t);
/* The reference of the rule called name ("" when it has none). 0 or
 * -ENOENT. */
int tapis_rule_reference(struct tapis *t, const char *name, char *out, size_t n);
/* "the name and every name under it", ... for messages. */
const char *host_kind_words(enum host_kind k);

/* ---- reading (stats.c) ---- */
struct rule_stat {
	uint32_t id;
	char name[TAPIS_NAME_MAX];
	char reference[TAPIS_REF_MAX];
	enum tapis_action action;
	int64_t expires_unix; /* 0 = never */
	int64_t since_unix;
	bool expired;
	uint64_t packets, bytes, expired_hits;
	int64_t last_hit_unix_ns;	  /* 0 = never */
	uint64_t nets_v4, nets_v6, hosts; /* entries in the active generation */
	/* packets and bytes split by where the rule matched (enum tapis_kind):
	 * their sums are packets and bytes */
	struct kind_count {
		uint64_t packets, bytes;
	} kinds[TAPIS_KIND_MAX];
};

/* The flow table (tapis_flows). present is walked, so it races the data
 * path by a few entries; evicted is derived: verdicts recorded that are no
 * longer there, because the LRU reused their entry or the data path forgot
 * them (their rule lifted, expired or no longer blocking). */
struct flow_stat {
	uint32_t size;	   /* max_entries (settings.flows at load) */
	uint64_t present;  /* entries now: verdicts and hellos/requests being followed */
	uint64_t verdicts; /* of them, flow verdicts */
	uint64_t created;  /* verdicts recorded: TAPIS_S_FLOW_NEW */
	uint64_t evicted;  /* created - verdicts, or 0 */
};

struct snapshot {
	struct tapis_state state;
	uint32_t gen;
	struct tapis_settings settings;
	struct rule_stat *rules;
	size_t n_rules;
	uint64_t actions_packets[TAPIS_ACT_MAX];
	uint64_t actions_bytes[TAPIS_ACT_MAX];
	uint64_t reasons[TAPIS_R_MAX];
	uint64_t stats[TAPIS_S_MAX];
	uint64_t entries_v4, entries_v6, entries_hosts;
	uint32_t tbl8_groups, tbl8_used;
	/* Sizes fixed at load (README "Memory"). */
	struct {
		uint32_t rule_slots;	  /* rule ids 1..rule_slots - 1 */
		uint32_t events_ring;	  /* bytes */
		uint32_t edits;		  /* live edits at most */
		uint32_t v4_leaves;	  /* IPv4 leaf map entries */
		uint32_t v4_chunks_small; /* chunks of the small chunk map */
	} sizes;
	struct flow_stat flows;
	int64_t taken_unix_ns;
	/* tapis_check_ifaces: for each interface record, whether tapis runs
	 * there now (1), not (0: a killed tapis or someone else detached
	 * it), or cannot be told (-1). */
	bool ifaces_checked;
	int8_t iface_runs[TAPIS_MAX_IFACES];
};

int tapis_snapshot(struct tapis *t, struct snapshot *s);
/* Fill s->iface_runs from the kernel (one query per recorded interface). */
void tapis_check_ifaces(struct tapis *t, struct snapshot *s);
void snapshot_free(struct snapshot *s);

/* Entries tapis_flows was created with (its max_entries). */
int tapis_flows_size(struct tapis *t, uint32_t *entries);
/* Slots the flow table gets for settings.flows: rounded up to a power of
 * two. */
static inline uint32_t tapis_flow_slots(uint32_t flows)
{
	uint32_t n = 1;

	while (n < flows && n < (1u << 31))
		n <<= 1;
	return n;
}

/* The host tables' size for a policy of n_hosts patterns, or for
 * `capacity` (settings.capacity.names; 0: not set) when that is more: log2
 * of the index's slots, at least twice the patterns (a probe window is
 * then mostly free), rounded up to a power of two, between
 * TAPIS_HOST_IDX_LOG2_MIN and _MAX. -E2BIG when even _MAX is too small. */
int tapis_host_idx_log2_for(size_t n_hosts, uint32_t capacity);
/* The patterns tables of 2^log2 index slots take: three quarters of the
 * slots (beyond that, ever more keys overflow into the hash map). */
static inline size_t tapis_host_capacity(uint32_t log2)
{
	return ((size_t)1 << log2) / 4 * 3;
}
/* The host index's log2 as t's program was loaded with (tapis_state). */
uint32_t tapis_host_log2(struct tapis *t);

/* Rule slots for a policy of n_rules rules, or for `capacity`
 * (settings.capacity.rules; 0: not set) when that is more: the least
 * power of two above twice that (a reload that renames every rule needs
 * ids for both while the old ones run), from TAPIS_RULES_MIN to
 * TAPIS_MAX_RULES. */
uint32_t tapis_rule_slots_for(size_t n_rules, uint32_t capacity);
/* Rule slots as t's program was loaded with (tapis_counters' size). */
uint32_t tapis_rule_slots(struct tapis *t);
/* The key of rule id of generation gen in tapis_rules. */
static inline uint32_t tapis_rule_key(uint32_t slots, uint32_t gen, uint32_t id)
{
	return gen * slots + (id & (slots - 1));
}
/* IPv4 leaf map entries for a policy of n_v4 prefixes, or `capacity`
 * (settings.capacity.ipv4; 0: not set) when that is more (tapis_abi.h). */
uint32_t tapis_v4_leaves_for(size_t n_v4, uint32_t capacity);
/* The IPv4 leaf map's entries and the small chunk map's chunks t's
 * program was loaded with (tapis_state). */
void tapis_v4_sizes(struct tapis *t, uint32_t *leaves, uint32_t *chunks_small);
/* A map's max_entries as created; 0 when it cannot be read. */
uint32_t tapis_map_entries(struct tapis *t, int map);

const char *reason_name(unsigned r);
const char *stat_name(unsigned s);
/* "net", "dns", "tls", "http", "flow" (enum tapis_kind). */
const char *kind_name(unsigned k);

/* What `explain` reports for an address. */
struct explain_hit {
	bool found;
	uint32_t rule;
	char rule_name[TAPIS_NAME_MAX];
	enum tapis_action action;
	char prefix[64]; /* "198.18.3.0/24" */
	bool expired;
};
struct explain_result {
	struct explain_hit dir[TAPIS_DIR_MAX];
	struct explain_hit host;
	int winner; /* -1 none, TAPIS_DIR_DST, TAPIS_DIR_SRC, 2 host */
	const char *why;
};
int tapis_explain_addr(struct tapis *t, const struct net_entry *addr, struct explain_result *r);

/* What `explain NAME` reports (explain_host.c): the host pattern a DNS
 * query for name meets, as the XDP program finds it. Fills r->host (prefix
 * holds the pattern as written in a policy: "example.org", "=a.example.org"
 * or "*.example.org") and sets r->winner to 2 when a live rule matches.
 * -EINVAL when name is no valid hostname (one whose last label is all
 * digits included: a mistyped address). */
int tapis_explain_name(struct tapis *t, const char *name, struct explain_result *r);

#endif /* TAPIS_H */
