/* SPDX-License-Identifier: GPL-2.0 */
/*
 * policy.h - the parsed policy: what the YAML says, before it becomes maps.
 *
 * policy_yaml.c fills it (syntax, types, file:line errors, list files);
 * compile.c turns it into map entries (rule ids, conflicts, tables).
 * Every entry keeps the file and line it came from, so every later error or
 * warning can name them.
 */
#ifndef TAPIS_POLICY_H
#define TAPIS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../bpf/tapis_abi.h"

/* Where an entry came from: the policy file or a list file. Strings are
 * owned by struct policy (interned), so entries copy only the pointer. */
struct src_loc {
	const char *file;
	unsigned line;
};

struct net_entry {
	uint8_t family;	  /* 4 or 6 */
	uint8_t plen;	  /* 0..32 or 0..128 */
	uint8_t addr[16]; /* network byte order, host bits cleared */
	struct src_loc loc;
};

enum host_kind {
	HOST_SUBTREE = 0, /* example.com: the name and every name under it */
	HOST_EXACT,	  /* =example.com: that name only */
	HOST_WILDCARD,	  /* *.example.com: names under it, not itself */
};

/* A host pattern as the policy file and `tapis host add|del` write it:
 * "example.com", "=example.com" or "*.example.com" (enum host_kind). */
struct host_pattern {
	enum host_kind kind;
	char name[TAPIS_HOST_MAX + 1]; /* normalised: lowercase A-label, no trailing dot */
};

/* Parse and normalise one pattern: the one parser for the policy, its
 * list files and the command line. 0; -EINVAL with why[] saying what is
 * wrong; -EAFNOSUPPORT (why[] filled too) when s is an IP address, which
 * a hosts-file line may carry where a name belongs. */
int host_pattern_parse(const char *s, struct host_pattern *out, char *why, size_t whysz);
/* What goes before the name when a pattern is shown: "", "=" or "*.". */
const char *host_pattern_prefix(enum host_kind kind);

struct host_entry {
	enum host_kind kind;
	char *name; /* normalised: lowercase A-label, no trailing dot */
	struct src_loc loc;
};

struct rule {
	char name[TAPIS_NAME_MAX];
	enum tapis_action action;
	char reference[TAPIS_REF_MAX];
	int64_t expires_unix; /* seconds since the epoch; 0 = never */
	uint8_t dirs;	      /* TAPIS_DIRS_DST, _SRC or _BOTH (`direction`) */
	struct net_entry *nets;
	size_t n_nets, cap_nets;
	struct host_entry *hosts;
	size_t n_hosts, cap_hosts;
	/* redirect target */
	char redirect_iface[TAPIS_IFNAME_MAX];
	uint8_t redirect_mac[6];
	bool has_redirect;
	/* The rule may hold no entries: filled at run time (`host|net add`),
	 * or its lists may be empty (`may_be_empty: true`, or an explicit
	 * empty list such as `nets: []`). */
	bool may_be_empty;
	/* A rule made from RPZ zones (`rpz:`) is one of those its policy rule
	 * becomes, one per action the zones give, named "<rpz_of>/<action>";
	 * empty for every other rule. */
	char rpz_of[TAPIS_NAME_MAX];
	struct src_loc redirect_loc; /* the "iface:" line */
	struct src_loc loc;	     /* the "- name:" line */
};

struct policy_settings {
	/* bit set per port, per enum tapis_port_class */
	uint64_t ports[TAPIS_PORT_CLASSES][TAPIS_PORT_WORDS];
	uint8_t sinkhole_v4[4];
	uint8_t sinkhole_v6[16];
	bool has_sinkhole_v4, has_sinkhole_v6;
	uint32_t sinkhole_ttl;
	bool quic_drop;
	uint32_t flows; /* entries of tapis_flows, POLICY_FLOWS_MIN..MAX; fixed at load */
	/* settings.events: block events a second per CPU (0: none), and how
	 * many may come at once. */
	uint32_t events_rate, events_burst;
	/* settings.events.ring: bytes of the events ring (a power of two),
	 * fixed at load. */
	uint32_t events_ring;
	/* settings.capacity.names: host names the tables loaded with this
	 * policy must take later (0: sized to the policy); fixed at load. */
	uint32_t capacity_names;
	/* settings.capacity.rules: rules the filter loaded with this policy
	 * must take later (0: sized to the policy); fixed at load. */
	uint32_t capacity_rules;
	/* settings.capacity.edits: live edits at once; fixed at load. */
	uint32_t capacity_edits;
	/* settings.capacity.ipv4: IPv4 prefixes the filter loaded with this
	 * policy must take later (0: sized to the policy); fixed at load. */
	uint32_t capacity_ipv4;
};

/* settings.capacity.rules: the most rule ids a filter has. */
#define POLICY_CAPACITY_RULES_MAX (TAPIS_MAX_RULES - 1)
/* settings.capacity.ipv4: what the largest IPv4 leaf map holds for sure. */
#define POLICY_CAPACITY_IPV4_MAX 10000000u
/* settings.capacity.edits: beyond this, edits belong in the policy file. */
#define POLICY_CAPACITY_EDITS_MAX 1048576u
/* settings.events.ring: bytes, a power of two (the kernel's ring buffer
 * takes whole pages). */
#define POLICY_EVENTS_RING_MIN 16384u
#define POLICY_EVENTS_RING_MAX 67108864u

/* settings.capacity.names: at most what the largest host tables hold
 * (TAPIS_HOST_IDX_LOG2_MAX: three quarters of 2^24 slots). */
#define POLICY_CAPACITY_NAMES_MAX 12582912u

/* settings.flows: default TAPIS_FLOWS_DEFAULT. Below the minimum a busy
 * link would evict verdicts within moments; the maximum keeps the LRU map
 * (about 160 bytes an entry with the kernel's overhead) near 2.5 GiB. */
#define POLICY_FLOWS_MIN 1024u
#define POLICY_FLOWS_MAX 16777216u

struct policy {
	char *path; /* as given on the command line */
	int version;
	struct policy_settings settings;
	struct rule *rules;
	size_t n_rules, cap_rules;
	char **strings; /* interned file names for src_loc */
	size_t n_strings;
	unsigned warnings; /* warnings printed while parsing */
};

/* Diagnostics go to this stream (stderr by default; tests capture them).
 * Errors and warnings are printed as "FILE:LINE: error: ..." and
 * "FILE:LINE: warning: ...". */
void policy_set_diag(void *file /* FILE * */);

/* Parse a policy file and every list it names. Returns 0, or -EINVAL after
 * printing every error found ("FILE:LINE: message"), or another -errno if
 * the file cannot be read (also printed). On error *out is left empty. */
int policy_parse_file(const char *path, struct policy *out);

/* Same from a buffer; `name` stands in for the file name in messages and
 * `base_dir` resolves relative list paths. */
int policy_parse_buffer(const char *name, const char *base_dir, const char *buf, size_t len,
			struct policy *out);

void policy_free(struct policy *p);

/* Add an entry to a rule outside the parser (a live edit applied again at
 * reload); file must outlive the policy ("runtime"). 0 or -ENOMEM. */
int policy_rule_add_host(struct rule *r, enum host_kind kind, const char *name, const char *file,
			 unsigned line);
int policy_rule_add_net(struct rule *r, const struct net_entry *e, const char *file, unsigned line);

/* Parsers shared with the CLI (`net add`, `explain`); 0 or -EINVAL.
 * parse_cidr accepts "a.b.c.d", "a.b.c.d/n", IPv6 and IPv6/n; a bare address
 * is a host route. *host_bits is set when bits beyond plen were non-zero
 * (they are cleared in e). */
int parse_cidr(const char *s, struct net_entry *e, bool *host_bits);
/* "02:00:00:00:00:10": six hex pairs, colons between, any case. */
bool parse_mac(const char *s, uint8_t mac[6]);
int parse_action(const char *s, enum tapis_action *a);
const char *action_name(enum tapis_action a);

#endif /* TAPIS_POLICY_H */
