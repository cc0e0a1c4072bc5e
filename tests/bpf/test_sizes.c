// SPDX-License-Identifier: GPL-2.0
/* Maps sized when the program is loaded (README, "Memory"), beyond the
 * host tables (test_capacity.c): the rule tables to the policy's rules or
 * settings.capacity.rules, the IPv4 leaf map to its prefixes or
 * settings.capacity.ipv4, the small chunk map to its chunks, the events
 * ring, the edits map and the flow table to their settings. A reload that
 * fits is applied and counts on the right rules whatever generation it
 * lands in; one that needs more rule ids or IPv4 leaves than loaded is
 * refused whole, the running policy still matching. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "compile.h"
#include "fixture.h"
#include "gen.h"
#include "pkt.h"
#include "test.h"

static struct fixture fx;

/* A policy of n rules r<i>, each dropping r<i>.sizes.example and, with
 * plens, one IPv4 prefix of each length 20..32 in a /20 of its own:
 * prefixes of distinct rules and lengths, so distinct leaves. */
static char *policy_of(unsigned n, bool plens, const char *settings)
{
	size_t cap = (size_t)n * (plens ? 512 : 96) + 256, o;
	char *y = malloc(cap);

	if (!y)
		return NULL;
	o = snprintf(y, cap, "version: 1\n%srules:\n", settings);
	for (unsigned i = 0; i < n; i++) {
		o += snprintf(y + o, cap - o,
			      "  - name: r%u\n    action: drop\n    hosts: [r%u.sizes.example]\n",
			      i, i);
		if (!plens)
			continue;
		o += snprintf(y + o, cap - o, "    nets: [");
		for (unsigned l = 20; l <= 32; l++) {
			uint32_t a = 0x0a000000u + ((i * 13 + (l - 20)) << 12);

			o += snprintf(y + o, cap - o, "%s%u.%u.%u.%u/%u", l > 20 ? ", " : "",
				      a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, l);
		}
		o += snprintf(y + o, cap - o, "]\n");
	}
	return y;
}

/* The verdict on a DNS query for name. */
static int query(const char *name)
{
	return fx_dns_verdict(&fx, name);
}

/* Rule r<i>'s name is dropped and counted on r<i>. */
static bool rule_drops(unsigned i)
{
	char name[64], rule[16];
	uint64_t before;

	snprintf(name, sizeof(name), "r%u.sizes.example", i);
	snprintf(rule, sizeof(rule), "r%u", i);
	before = fx_rule_packets(&fx, rule);
	ASSERT_EQ(query(name), XDP_DROP);
	ASSERT_EQ(fx_rule_packets(&fx, rule), before + 1);
	return true;
}

static bool test_sizing_rules(void)
{
	/* twice the rules and id 0, a power of two, 64 to 4096 */
	ASSERT_EQ(tapis_rule_slots_for(0, 0), TAPIS_RULES_MIN);
	ASSERT_EQ(tapis_rule_slots_for(31, 0), 64u);
	ASSERT_EQ(tapis_rule_slots_for(32, 0), 128u);
	ASSERT_EQ(tapis_rule_slots_for(3, 100), 256u);
	ASSERT_EQ(tapis_rule_slots_for(100, 3), 256u);
	ASSERT_EQ(tapis_rule_slots_for(2047, 0), 4096u);
	ASSERT_EQ(tapis_rule_slots_for(POLICY_CAPACITY_RULES_MAX, 0), (uint32_t)TAPIS_MAX_RULES);
	/* 2 x prefixes + 1 and a quarter, 1024 to 32768 */
	ASSERT_EQ(tapis_v4_leaves_for(0, 0), TAPIS_V4_LEAVES_LOAD_MIN);
	ASSERT_EQ(tapis_v4_leaves_for(801, 0), 2003u);
	ASSERT_EQ(tapis_v4_leaves_for(10, 2000), 5001u);
	ASSERT_EQ(tapis_v4_leaves_for(500000, 0), TAPIS_V4_MAX_LEAVES);
	return true;
}

/* What `tapis load` of the fixture's policy (3 rules, no prefixes) made. */
static bool test_loaded_sizes(void)
{
	uint32_t leaves, small;

	ASSERT_EQ(tapis_rule_slots(&fx.t), 64u);
	ASSERT_EQ(fx_map_entries(fx.t.map_fd[M_COUNTERS]), 64u);
	ASSERT_EQ(fx_map_entries(fx.t.map_fd[M_RULE_META]), 64u);
	ASSERT_EQ(fx_map_entries(fx.t.map_fd[M_RULES]), 128u);
	ASSERT_EQ(fx_map_entries(fx.t.map_fd[M_EVENTS]), (uint32_t)TAPIS_EVENTS_RING);
	ASSERT_EQ(fx_map_entries(fx.t.map_fd[M_EDITS]), (uint32_t)TAPIS_EDITS_DEFAULT);
	ASSERT_EQ(fx_map_entries(fx.t.map_fd[M_FLOWS]), (uint32_t)TAPIS_FLOWS_DEFAULT);
	tapis_v4_sizes(&fx.t, &leaves, &small);
	ASSERT_EQ(leaves, TAPIS_V4_LEAVES_LOAD_MIN);
	ASSERT_EQ(small, TAPIS_V4_CHUNKS_SMALL_MIN);
	return rule_drops(0) && rule_drops(2);
}

/* Reloads flip the generation: each lands in the other half of
 * tapis_rules, and names keep their ids and counters. */
static bool test_reloads_count_right(void)
{
	char *y = policy_of(30, false, "");
	uint64_t r2;

	ASSERT_TRUE(y != NULL);
	r2 = fx_rule_packets(&fx, "r2");
	for (int i = 0; i < 3; i++) {
		ASSERT_OK(fx_policy(&fx, y), "reload 30 rules into 64 slots");
		if (!rule_drops(29) || !rule_drops(2))
			return false;
		r2 += 1;
		ASSERT_EQ(fx_rule_packets(&fx, "r2"), r2);
	}
	free(y);
	return true;
}

/* 64 rules want ids 1..64: one more than 64 slots have. */
static bool test_reload_beyond_rules_refused(void)
{
	char *y = policy_of(64, false, "settings:\n  capacity: { rules: 500 }\n");
	int err;

	ASSERT_TRUE(y != NULL);
	err = fx_policy(&fx, y);
	free(y);
	ASSERT_EQ(err, -EINVAL);
	ASSERT_EQ(tapis_rule_slots(&fx.t), 64u);
	ASSERT_EQ(query("r63.sizes.example"), XDP_PASS);
	return rule_drops(29);
}

/* A load of 3 rules and no prefixes has 1024 leaves; 100 rules with 13
 * prefixes each want 1301. */
static bool test_reload_beyond_leaves(void)
{
	char *small = policy_of(3, false, "settings:\n  capacity: { rules: 100 }\n");
	char *big = policy_of(100, true, "");
	char *big_cap = policy_of(100, true, "settings:\n  capacity: { rules: 100, ipv4: 1300 }\n");
	int err;

	ASSERT_TRUE(small && big && big_cap);
	fx_teardown(&fx);
	ASSERT_OK(fx_setup(&fx, small), "load 3 rules, room for 100");
	ASSERT_EQ(tapis_rule_slots(&fx.t), 256u);
	err = fx_policy(&fx, big);
	ASSERT_EQ(err, -ENOSPC);
	ASSERT_EQ(query("r50.sizes.example"), XDP_PASS);
	if (!rule_drops(1))
		return false;

	/* Loaded with room for them, the same policy is applied. */
	fx_teardown(&fx);
	ASSERT_OK(fx_setup(&fx, big_cap), "load 100 rules, 1300 prefixes");
	ASSERT_EQ(fx_inner_entries(&fx, M_V4_LEAF), tapis_v4_leaves_for(1300, 1300));
	ASSERT_OK(fx_policy(&fx, big), "reload the same policy");
	free(small);
	free(big);
	free(big_cap);
	return rule_drops(50) && rule_drops(99);
}

/* The verdict on a TCP SYN to dst. */
static int syn_verdict(const char *dst)
{
	struct pkt p;

	if (pkt_simple_tcp(&p, "198.18.0.1", dst, 40000, 80) || pkt_finish(&p))
		return -1;
	return fx_run(&fx, p.buf, p.len, NULL, NULL);
}

/* 1,500 /28s in distinct /24s of 15 /16s: 1,515 chunks under a /16 first
 * level, more than the inline chunk map's default 1,024. The load sizes
 * the inline map to them and a quarter more, and the generation keeps
 * its chunks there (read inline, not through a helper call). */
static bool test_many_chunks_inline(void)
{
	size_t cap = 1500 * 24 + 256, o;
	char *y = malloc(cap), dst[32];
	uint32_t leaves, small, gen;
	struct tapis_settings set;

	ASSERT_TRUE(y != NULL);
	o = snprintf(y, cap, "version: 1\nrules:\n  - name: many\n    action: drop\n    nets: [");
	for (unsigned i = 0; i < 1500; i++)
		o += snprintf(y + o, cap - o, "%s10.%u.%u.16/28", i ? ", " : "", i / 100, i % 100);
	snprintf(y + o, cap - o, "]\n");
	fx_teardown(&fx);
	ASSERT_OK(fx_setup(&fx, y), "load 1,500 /28s");
	free(y);
	tapis_v4_sizes(&fx.t, &leaves, &small);
	ASSERT_EQ(small, 1515u + 1515u / 4);
	ASSERT_EQ(fx_inner_entries(&fx, M_V4_CHUNK_S),
		  small * (TAPIS_V4_CHUNK_SLOTS / TAPIS_V4_SLOTS_PER_VAL));
	ASSERT_OK(gen_active(&fx.t, &gen), "active generation");
	ASSERT_OK(bpf_map_lookup_elem(fx.t.map_fd[M_SETTINGS], &gen, &set) ? -errno : 0,
		  "settings");
	ASSERT_EQ(set.v4_bits, TAPIS_V4_BITS_SMALL);
	ASSERT_TRUE(set.flags & TAPIS_SF_V4_CHUNK_SMALL);
	for (unsigned i = 0; i < 1500; i += 97) {
		snprintf(dst, sizeof(dst), "10.%u.%u.20", i / 100, i % 100);
		ASSERT_EQ(syn_verdict(dst), XDP_DROP, "%s", dst);
		snprintf(dst, sizeof(dst), "10.%u.%u.40", i / 100, i % 100);
		ASSERT_EQ(syn_verdict(dst), XDP_PASS, "%s", dst);
	}
	return true;
}

static const struct test_case tests[] = {
	TEST(test_sizing_rules),	 TEST(test_loaded_sizes),
	TEST(test_reloads_count_right),	 TEST(test_reload_beyond_rules_refused),
	TEST(test_reload_beyond_leaves), TEST(test_many_chunks_inline),
};

int main(int argc, char **argv)
{
	char *y = policy_of(3, false, "");
	int rc;

	if (!y)
		return 1;
	rc = fx_main(&fx, y, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	free(y);
	return rc;
}
