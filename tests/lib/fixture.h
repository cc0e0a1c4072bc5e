/* SPDX-License-Identifier: GPL-2.0 */
/* Packet-test fixture: the real tapis object loaded unpinned, a policy
 * installed through the real compiler, frames run with BPF_PROG_TEST_RUN,
 * counters read back by rule name. */
#ifndef TAPIS_TEST_FIXTURE_H
#define TAPIS_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tapis.h"

struct fixture {
	struct tapis t;
	bool up;
};

/* Load the object and install the policy given as YAML text. */
/* Nonzero: fx_setup loads the program with this many chunks in the
 * inline IPv4 chunk map instead of the policy's own, so that a test can
 * put a policy's chunks in the map sized per generation (a helper call a
 * read), where a reload that outgrows the loaded size lands. */
extern uint32_t fx_v4_chunks_small;
int fx_setup(struct fixture *f, const char *yaml);
/* Replace the policy (a reload through the same code path). */
int fx_policy(struct fixture *f, const char *yaml);
void fx_teardown(struct fixture *f);

/* Run one frame; returns the XDP action, or a negative errno. When out is
 * given it receives the frame as the program left it. */
int fx_run(struct fixture *f, const void *frame, size_t len, void *out, size_t *out_len);
/* max_entries of a map, and of the running generation's inner map of the
 * outer map m (tapis.h's M_*); 0 when it cannot be read. */
uint32_t fx_map_entries(int fd);
uint32_t fx_inner_entries(struct fixture *f, int m);
/* The XDP action on an IPv4 DNS query (A, RD) for name from 198.18.1.2 to
 * 198.18.2.2:53, or a negative errno. */
int fx_dns_verdict(struct fixture *f, const char *name);

/* Rule ids by name (0: no such rule in use), and a walk over every rule
 * in use, for tests that name thousands of rules. */
uint32_t fx_rule_id(struct fixture *f, const char *rule);
int fx_each_rule(struct fixture *f, void (*fn)(const char *name, uint32_t id, void *ctx),
		 void *ctx);
/* Counters summed over CPUs. A counter that cannot be had (id 0, no rule
 * of that name, a reason, stat or kind past its map, a failed read) stops
 * the test file with a message on stderr (abort, counted failed): returned
 * as a value, a "did not change" check would compare it with itself and
 * pass. */
/* Packets counted on a rule id. */
uint64_t fx_id_packets(struct fixture *f, uint32_t id);
/* Packets counted on a rule id for one enum tapis_kind. */
uint64_t fx_id_kind_packets(struct fixture *f, uint32_t id, unsigned kind);
/* The same by rule name. */
uint64_t fx_rule_kind_packets(struct fixture *f, const char *rule, unsigned kind);
/* Empty the flow table and the L7 states (tapis_flows, tapis_l7_states,
 * tapis_l7_names), e.g. between captures that reuse one 5-tuple. 0 or
 * -errno. */
int fx_flows_clear(struct fixture *f);

uint64_t fx_rule_packets(struct fixture *f, const char *rule);
uint64_t fx_rule_bytes(struct fixture *f, const char *rule);
/* Matches ignored because the rule had expired (stats: expired_hits). */
uint64_t fx_rule_expired(struct fixture *f, const char *rule);
uint64_t fx_reason(struct fixture *f, unsigned reason);
uint64_t fx_stat(struct fixture *f, unsigned stat);

const char *xdp_action_name(int action);

struct test_case;
/* main() of a packet test: set the fixture up with the policy, run the
 * tests (argv selects by substring), tear down. A failed setup counts as
 * one failure in the summary line. */
int fx_main(struct fixture *f, const char *yaml, const struct test_case *tests, size_t n, int argc,
	    char **argv);

#endif
