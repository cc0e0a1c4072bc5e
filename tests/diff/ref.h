/* SPDX-License-Identifier: GPL-2.0 */
/* The reference of the differential packet test: the XDP program's own
 * header-only stages (bpf/), compiled for user space with a shim for the
 * BPF helpers (shim/bpf/bpf_helpers.h), run on a frame in a buffer laid
 * out as BPF_PROG_TEST_RUN lays it out.
 *
 * The policy is the kernel's: ref_init() reads the fixture's maps (the
 * read-only tables of both generations, mmapped where the kernel allows,
 * else looked up through the syscall), so both sides decide on the same
 * entries. What the program writes (counters, flow table, L7 states,
 * scratch, events) is the reference's own: counters are per frame, the
 * flow tables persist like the kernel's until ref_flows_reset(). */
#ifndef TAPIS_DIFF_REF_H
#define TAPIS_DIFF_REF_H

#include <stdbool.h>
#include <stdint.h>

#include "../../bpf/tapis_abi.h"

#define REF_RULES   64	 /* rule ids whose counters are compared */
#define REF_EVENTS  4	 /* events one frame can write (one, really) */
#define REF_MAX_OUT 4096 /* a test-run frame is at most a page */

/* What one frame counted, in the program's own counter maps. */
struct ref_rule_count {
	uint64_t packets, bytes, expired;
	uint64_t kind_packets[TAPIS_KIND_MAX];
	uint64_t kind_bytes[TAPIS_KIND_MAX];
};

struct ref_counts {
	uint64_t reasons[TAPIS_R_MAX];
	uint64_t stats[TAPIS_S_MAX];
	uint64_t act_packets[TAPIS_ACT_MAX];
	uint64_t act_bytes[TAPIS_ACT_MAX];
	struct ref_rule_count rule[REF_RULES];
};

struct ref_result {
	int verdict; /* XDP_* */
	uint32_t out_len;
	uint8_t out[REF_MAX_OUT]; /* the frame as the program left it */
	struct ref_counts c;
	unsigned n_events;
	struct tapis_event ev[REF_EVENTS];
	/* The name an L7 stage handed the host match in this frame, dotted
	 * text without the leading dot (DNS: a dot inside a label is 0x01),
	 * and the stage (enum tapis_kind); name_len 0: none. */
	uint32_t name_len;
	uint32_t name_kind;
	char name[TAPIS_HOST_MAX + 2];
};

/* map_fd: the fixture's map fds, indexed like TAPIS_MAPS (M_* in
 * user/lib/tapis.h). 0 or -errno. Call again after a policy change. */
int ref_init(const int *map_fd);
void ref_fini(void);
/* Run one frame (14..REF_MAX_OUT - 576 bytes); 0, or -EINVAL when the
 * length is outside what a test run takes. */
int ref_run(const void *frame, uint32_t len, struct ref_result *r);

/* The flow-table slots the reference touched since the last reset, per
 * table (0 tapis_flows, 1 tapis_l7_states, 2 tapis_l7_names); false when
 * there were too many to list (clear the whole table). */
bool ref_dirty(unsigned table, const uint32_t **idx, unsigned *n);
/* Empty the reference's flow tables: the touched slots, or all of them. */
void ref_flows_reset(bool all);

#endif
