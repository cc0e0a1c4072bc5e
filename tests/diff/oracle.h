/* SPDX-License-Identifier: GPL-2.0 */
/* The differential test's policies, each one table: the YAML the fixture
 * loads is written from it, and so is a matcher that follows DESIGN.md's
 * "Matching semantics" on plain strings and addresses, without the data
 * path's hash, tables or walk. It says which rule a frame with a name
 * must be counted on, and how (by the name, or by an address). */
#ifndef TAPIS_DIFF_ORACLE_H
#define TAPIS_DIFF_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The policies the run alternates between, and the one in force. */
unsigned oracle_policies(void);
void oracle_select(unsigned policy);

/* The policy in force as YAML, for fx_setup() and fx_policy(). */
const char *oracle_policy_yaml(void);
/* Whether port is one of the policy's ports of class cls (0 dns, 1 tls,
 * 2 http: enum tapis_port_class). */
bool oracle_port(int cls, unsigned port);
/* Rule names in table order (index + 1 is not the rule id: ask the
 * fixture), NULL past the last. */
const char *oracle_rule_name(unsigned i);

struct oracle_hit {
	int rule; /* table index of the winning rule, -1: none */
	bool by_host;
};

/* The rule a frame with name (len bytes as the stage found it: dotted,
 * any case, a trailing dot cut) between src and dst (family 4: the first
 * 4 bytes) is counted on. A name the data path refuses (an empty label, a
 * label over 63 bytes, more than 32 labels) matches no host pattern. */
struct oracle_hit oracle_match(const char *name, size_t len, int family, const uint8_t *src,
			       const uint8_t *dst);

#endif
