// SPDX-License-Identifier: GPL-2.0
/* Host tables sized to the policy when the program is loaded (README,
 * "Memory"): a policy of 1,000 names gets the smallest tables, a reload
 * that fits them is applied, one that needs more is refused whole with the
 * running policy still matching, and live adds past the tables' room fail
 * with -ENOSPC while every name added before still matches. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "fixture.h"
#include "pkt.h"
#include "test.h"

#define FIRST 1000 /* names of the policy loaded */

static struct fixture fx;

/* A policy whose rule "block" drops n names: n<i>.cap.example. */
static char *policy_of(unsigned n, const char *settings)
{
	size_t cap = (size_t)n * 32 + 256, o;
	char *y = malloc(cap);

	if (!y)
		return NULL;
	o = snprintf(y, cap,
		     "version: 1\n%srules:\n  - name: block\n    action: drop\n    hosts: [",
		     settings);
	for (unsigned i = 0; i < n; i++)
		o += snprintf(y + o, cap - o, "%sn%u.cap.example", i ? ", " : "", i);
	snprintf(y + o, cap - o, "]\n");
	return y;
}

/* The verdict on a DNS query for name. */
static int query(const char *name)
{
	return fx_dns_verdict(&fx, name);
}

/* Names n<from>..n<to - 1> get verdict want. */
static bool range_is(unsigned from, unsigned to, int want)
{
	char n[64];

	for (unsigned i = from; i < to; i++) {
		snprintf(n, sizeof(n), "n%u.cap.example", i);
		ASSERT_EQ(query(n), want, "%s: %s, want %s", n, xdp_action_name(query(n)),
			  xdp_action_name(want));
	}
	return true;
}

static bool test_sized_to_policy(void)
{
	/* 1,000 names: twice that, rounded up, is under the 4096-slot floor */
	ASSERT_EQ(tapis_host_log2(&fx.t), TAPIS_HOST_IDX_LOG2_MIN);
	ASSERT_EQ(fx_inner_entries(&fx, M_HOST_INDEX), 4096u + TAPIS_HOST_IDX_PROBES - 1);
	ASSERT_EQ(fx_inner_entries(&fx, M_HOST_FILTER), 4096u * 32 / 64);
	ASSERT_EQ(tapis_host_capacity(TAPIS_HOST_IDX_LOG2_MIN), 3072u);
	return range_is(0, FIRST, XDP_DROP) && range_is(FIRST, FIRST + 50, XDP_PASS);
}

static bool test_sizing_rule(void)
{
	ASSERT_EQ(tapis_host_idx_log2_for(0, 0), TAPIS_HOST_IDX_LOG2_MIN);
	ASSERT_EQ(tapis_host_idx_log2_for(2048, 0), 12);
	ASSERT_EQ(tapis_host_idx_log2_for(2049, 0), 13);
	/* the bench policy: 2,000,000 names, the 2^22 slots of before */
	ASSERT_EQ(tapis_host_idx_log2_for(2000000, 0), 22);
	/* settings.capacity.names wins when it is more */
	ASSERT_EQ(tapis_host_idx_log2_for(1000, 100000), 18);
	ASSERT_EQ(tapis_host_idx_log2_for(100000, 1000), 18);
	ASSERT_EQ(tapis_host_idx_log2_for(POLICY_CAPACITY_NAMES_MAX, 0), TAPIS_HOST_IDX_LOG2_MAX);
	ASSERT_EQ(tapis_host_idx_log2_for(POLICY_CAPACITY_NAMES_MAX + 1, 0), -E2BIG);
	return true;
}

static bool test_reload_within(void)
{
	char *y = policy_of(3000, "");

	ASSERT_TRUE(y != NULL);
	ASSERT_OK(fx_policy(&fx, y), "reload 3000 names into tables for 3072");
	free(y);
	return range_is(0, 3000, XDP_DROP) && range_is(3000, 3020, XDP_PASS);
}

static bool test_reload_beyond_refused(void)
{
	/* the capacity setting of the new policy cannot grow loaded tables */
	char *y = policy_of(3100, "settings:\n  capacity: { names: 5000 }\n");
	int err;

	ASSERT_TRUE(y != NULL);
	err = fx_policy(&fx, y);
	free(y);
	ASSERT_EQ(err, -ENOSPC, "a reload of 3100 names: %s", strerror(-err));
	/* the running policy (3000 names) is untouched */
	return range_is(0, 3000, XDP_DROP) && range_is(3000, 3100, XDP_PASS);
}

static bool test_live_adds_until_full(void)
{
	struct host_entry h = {.kind = HOST_EXACT};
	unsigned added = 0;
	char n[64];
	int err = 0;

	for (unsigned i = 0; i < 4096 + 1024 + 1 && !err; i++) {
		snprintf(n, sizeof(n), "live%u.cap.example", i);
		h.name = n;
		err = tapis_host_edit(&fx.t, "block", &h, true);
		if (!err)
			added++;
	}
	ASSERT_EQ(err, -ENOSPC, "after %u adds: %s", added, strerror(-err));
	/* 3000 names in 4096 slots and a 1024-entry overflow table */
	ASSERT_GT(added, 1024u);
	for (unsigned i = 0; i < added; i++) {
		snprintf(n, sizeof(n), "live%u.cap.example", i);
		ASSERT_EQ(query(n), XDP_DROP, "%s", n);
	}
	snprintf(n, sizeof(n), "live%u.cap.example", added);
	ASSERT_EQ(query(n), XDP_PASS, "%s, refused, does not match", n);
	printf("# %u live adds took, the next was refused\n", added);
	return range_is(0, 3000, XDP_DROP);
}

static const struct test_case tests[] = {
	TEST(test_sized_to_policy),	  TEST(test_sizing_rule),	   TEST(test_reload_within),
	TEST(test_reload_beyond_refused), TEST(test_live_adds_until_full),
};

int main(int argc, char **argv)
{
	char *y = policy_of(FIRST, "");
	int rc;

	if (!y)
		return 1;
	rc = fx_main(&fx, y, tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	free(y);
	return rc;
}
