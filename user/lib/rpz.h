/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rpz.h - Response Policy Zones (the blocklist format of BIND, Unbound and
 * Knot) read as tapis host entries.
 *
 * An RPZ zone carries a verdict per trigger name; tapis keeps one action per
 * rule, so a zone yields entries of several actions and the policy side puts
 * each into the rule for its action. Only QNAME triggers exist for tapis (it
 * sees the names clients ask for, not the answers, the name servers or
 * the client addresses a resolver would also match on).
 */
#ifndef TAPIS_RPZ_H
#define TAPIS_RPZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"

/* The verdicts of an RPZ zone, in the order their rules are made. */
enum rpz_verdict {
	RPZ_NXDOMAIN = 0, /* CNAME .      -> reject (NXDOMAIN) */
	RPZ_NODATA,	  /* CNAME *.     -> reject as well (tapis has no NODATA verdict) */
	RPZ_DROP,	  /* CNAME rpz-drop.      -> drop */
	RPZ_PASSTHRU,	  /* CNAME rpz-passthru.  -> allow */
	RPZ_LOCAL_DATA,	  /* A/AAAA (any local data) -> sinkhole */
	RPZ_VERDICTS,
};

struct rpz_names;

struct rpz_entry {
	enum host_kind kind; /* HOST_EXACT, or HOST_WILDCARD for "*.name" */
	enum rpz_verdict verdict;
	const char *name; /* normalised, as host_entry.name; stored in the zone */
	unsigned line;
	/* Local data: the first A and AAAA given for the trigger. */
	bool has_v4, has_v6;
	uint8_t v4[4], v6[16];
};

struct rpz_zone {
	struct rpz_entry *v;
	size_t n, cap;
	size_t per_verdict[RPZ_VERDICTS];
	unsigned skipped;	       /* records refused under skip (warned each) */
	struct rpz_names *names;       /* where the entries' names are stored */
	char apex[TAPIS_HOST_MAX + 2]; /* the SOA owner, as written by ldns */
};

/* Refused records printed per zone; the rest are counted in one line. */
#define RPZ_MAX_MSGS 100

/* The tapis action for a verdict. */
enum tapis_action rpz_action(enum rpz_verdict v);
const char *rpz_verdict_name(enum rpz_verdict v);

/* Read the zone at `path` (`display` names it in messages) into `z`.
 * Messages go to `diag` as "FILE:LINE: error: ..." (or "warning:" for a
 * record skipped because `skip` is set), RPZ_MAX_MSGS of them, then one
 * line counting the rest. Records of one trigger are merged;
 * a trigger given two verdicts is an error. Returns 0; -EINVAL when a
 * record was refused (without `skip`) or the file is no zone (no SOA first,
 * not a regular file, unreadable: the message says which); -ENOMEM.
 * Free `z` with rpz_free() in every case. */
int rpz_read(const char *path, const char *display, FILE *diag, bool skip, struct rpz_zone *z);
void rpz_free(struct rpz_zone *z);

#endif /* TAPIS_RPZ_H */
