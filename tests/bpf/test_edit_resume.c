// SPDX-License-Identifier: GPL-2.0
/* Live edits a killed tapis left half made, through BPF_PROG_TEST_RUN: the
 * state such a process leaves is made here by hand (one direction of a
 * `both` rule made, a record written pending and nothing else), and the
 * next command must complete it: the verdicts of packets show whether the
 * edit is in force, the record whether tapis knows it. */
#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "edits.h"
#include "fixture.h"
#include "gen.h"
#include "pkt.h"
#include "test.h"

static const char *const POLICY = "version: 1\n"
				  "rules:\n"
				  "  - name: both-ways\n"
				  "    action: drop\n"
				  "    direction: both\n"
				  "    nets: [198.18.30.0/24]\n"
				  "  - name: live\n"
				  "    action: drop\n"
				  "    nets: []\n";

static struct fixture fx;

static int verdict(const char *src, const char *dst)
{
	struct pkt p;

	pkt_init(&p);
	pkt_eth(&p, "02:00:00:00:00:02", "02:00:00:00:00:01");
	if (strchr(dst, ':'))
		pkt_ipv6(&p, src, dst, IPPROTO_UDP);
	else
		pkt_ipv4(&p, src, dst, IPPROTO_UDP, NULL);
	pkt_udp(&p, 40000, 9);
	pkt_payload(&p, "x", 1);
	return fx_run(&fx, p.buf, p.len, NULL, NULL);
}

/* One direction of an entry of rule, removed behind the library's back:
 * what a process killed between the two directions of an add leaves. */
static bool drop_one_direction(const char *rule, const char *cidr, int dir)
{
	struct net_tables nt;
	struct net_entry e;
	uint32_t gen, id = fx_rule_id(&fx, rule);
	bool hb;

	ASSERT_TRUE(id != 0, "rule %s", rule);
	ASSERT_OK(parse_cidr(cidr, &e, &hb));
	ASSERT_OK(gen_active(&fx.t, &gen));
	ASSERT_OK(net_tables_open(&nt, &fx.t, gen));
	ASSERT_OK(net_delete(&nt, dir, &e, id));
	net_tables_close(&nt);
	return true;
}

static bool test_both_directions_half_made(void)
{
	struct net_entry e;
	bool hb;

	ASSERT_OK(parse_cidr("198.18.31.0/24", &e, &hb));
	ASSERT_OK(tapis_net_edit(&fx.t, "both-ways", &e, true));
	ASSERT_TRUE(drop_one_direction("both-ways", "198.18.31.0/24", TAPIS_DIR_SRC));
	ASSERT_EQ(verdict("198.18.31.5", "198.18.1.1"), XDP_PASS, "half made: from it passes");
	ASSERT_EQ(verdict("198.18.1.1", "198.18.31.5"), XDP_DROP, "half made: to it drops");
	/* The next add makes the missing direction, not "already there". */
	ASSERT_OK(tapis_net_edit(&fx.t, "both-ways", &e, true));
	ASSERT_EQ(verdict("198.18.31.5", "198.18.1.1"), XDP_DROP, "completed: from it drops");
	ASSERT_EQ(tapis_net_edit(&fx.t, "both-ways", &e, true), -EALREADY,
		  "made in both: already there");
	/* And a delete killed half way, the same. */
	ASSERT_OK(tapis_net_edit(&fx.t, "both-ways", &e, false));
	ASSERT_OK(tapis_net_edit(&fx.t, "both-ways", &e, true));
	ASSERT_TRUE(drop_one_direction("both-ways", "198.18.31.0/24", TAPIS_DIR_DST));
	ASSERT_OK(tapis_net_edit(&fx.t, "both-ways", &e, false));
	ASSERT_EQ(verdict("198.18.31.5", "198.18.1.1"), XDP_PASS, "deleted: from it passes");
	ASSERT_EQ(verdict("198.18.1.1", "198.18.31.5"), XDP_PASS, "deleted: to it passes");
	ASSERT_EQ(tapis_net_edit(&fx.t, "both-ways", &e, false), -ENOENT, "deleted: not there");
	return true;
}

static bool record(enum tapis_edit_type type, const char *rule, const char *entry,
		   struct tapis_edit_val *v)
{
	struct tapis_edit_key k;

	memset(&k, 0, sizeof(k));
	k.type = (uint8_t)type;
	snprintf(k.rule, sizeof(k.rule), "%s", rule);
	snprintf(k.entry, sizeof(k.entry), "%s", entry);
	return bpf_map_lookup_elem(fx.t.map_fd[M_EDITS], &k, v) == 0;
}

/* Killed right after the intent: a pending record, the tables untouched. */
static bool test_pending_add_completed(void)
{
	struct edit_intent in;
	struct tapis_edit_val v;

	ASSERT_EQ(verdict("198.18.1.1", "198.18.32.7"), XDP_PASS);
	ASSERT_OK(edits_intend(&fx.t, TAPIS_EDIT_NET, "live", "198.18.32.0/24", true, 0, &in));
	ASSERT_OK(edits_intend(&fx.t, TAPIS_EDIT_NET, "live", "2001:db8:32::/64", true, 0, &in));
	ASSERT_EQ(verdict("198.18.1.1", "198.18.32.7"), XDP_PASS, "only the intent: passes");
	ASSERT_OK(tapis_complete_edits(&fx.t));
	ASSERT_EQ(verdict("198.18.1.1", "198.18.32.7"), XDP_DROP, "completed: dropped");
	ASSERT_EQ(verdict("2001:db8:1::2", "2001:db8:32::7"), XDP_DROP, "v6 completed: dropped");
	ASSERT_TRUE(record(TAPIS_EDIT_NET, "live", "198.18.32.0/24", &v), "record kept");
	ASSERT_EQ(v.pending, TAPIS_EDIT_SETTLED, "and settled");
	ASSERT_EQ(v.op, TAPIS_EDIT_ADD);
	/* Killed after the tables too: completing finds it made. */
	ASSERT_OK(edits_intend(&fx.t, TAPIS_EDIT_NET, "live", "198.18.33.0/24", true, 0, &in));
	ASSERT_OK(tapis_net_edit(
		&fx.t, "live",
		&(struct net_entry){.family = 4, .plen = 24, .addr = {198, 18, 33, 0}}, true));
	ASSERT_OK(tapis_complete_edits(&fx.t));
	ASSERT_TRUE(record(TAPIS_EDIT_NET, "live", "198.18.33.0/24", &v) &&
			    v.pending == TAPIS_EDIT_SETTLED,
		    "made already: settled");
	ASSERT_EQ(verdict("198.18.1.1", "198.18.33.7"), XDP_DROP);
	return true;
}

/* A delete undoing a live add, killed after its intent: the entry goes and
 * so does the record (the file's state is back). */
static bool test_pending_undo_completed(void)
{
	struct edit_intent in;
	struct tapis_edit_val v;

	ASSERT_TRUE(record(TAPIS_EDIT_NET, "live", "198.18.32.0/24", &v), "the add's record");
	ASSERT_OK(edits_intend(&fx.t, TAPIS_EDIT_NET, "live", "198.18.32.0/24", false, 0, &in));
	ASSERT_TRUE(record(TAPIS_EDIT_NET, "live", "198.18.32.0/24", &v) &&
			    v.pending == TAPIS_EDIT_UNDOING,
		    "marked as being undone");
	ASSERT_EQ(verdict("198.18.1.1", "198.18.32.7"), XDP_DROP, "only the intent: still dropped");
	ASSERT_OK(tapis_complete_edits(&fx.t));
	ASSERT_EQ(verdict("198.18.1.1", "198.18.32.7"), XDP_PASS, "completed: passes");
	ASSERT_TRUE(!record(TAPIS_EDIT_NET, "live", "198.18.32.0/24", &v), "record gone");
	return true;
}

/* An intent for a rule that is not in the policy cannot be made: its
 * record goes, nothing changes. */
static bool test_pending_rolled_back(void)
{
	struct edit_intent in;
	struct tapis_edit_val v;

	ASSERT_OK(edits_intend(&fx.t, TAPIS_EDIT_NET, "gone", "198.18.34.0/24", true, 0, &in));
	ASSERT_TRUE(record(TAPIS_EDIT_NET, "gone", "198.18.34.0/24", &v), "the intent");
	ASSERT_OK(tapis_complete_edits(&fx.t));
	ASSERT_TRUE(!record(TAPIS_EDIT_NET, "gone", "198.18.34.0/24", &v), "rolled back");
	ASSERT_EQ(verdict("198.18.1.1", "198.18.34.7"), XDP_PASS);
	return true;
}

static const struct test_case tests[] = {
	TEST(test_both_directions_half_made),
	TEST(test_pending_add_completed),
	TEST(test_pending_undo_completed),
	TEST(test_pending_rolled_back),
};

int main(int argc, char **argv)
{
	return fx_main(&fx, POLICY, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
