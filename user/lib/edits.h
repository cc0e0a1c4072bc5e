/* SPDX-License-Identifier: GPL-2.0 */
/*
 * edits.h - the live edits that differ from the policy file, kept in the
 * pinned map tapis_edits so that every tapis process sees them: `status`
 * lists them, `host|net list` shows them with their author, and a reload
 * applies them again on top of the file (the operator who deleted a name
 * live does not see it blocked again by the next reload), saying which no
 * longer apply. `reload --drop-edits` forgets them.
 */
#ifndef TAPIS_EDITS_H
#define TAPIS_EDITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "tapis.h"

struct edit_rec {
	struct tapis_edit_key k;
	struct tapis_edit_val v;
};

/* An edit under way: its record is written before the tables change
 * (edits_intend) and settled after (edits_settle), so that a process
 * killed in between leaves a pending record, which the next writer
 * completes (tapis_complete_edits in edit.c). */
struct edit_intent {
	struct tapis_edit_key k;
	struct tapis_edit_val v;   /* as written, pending */
	struct tapis_edit_val old; /* the record before, if had_old */
	bool had_old;
};
/* Record the intent of a live edit: an add where a delete is recorded (or
 * the other way round) marks that record as being undone; else the edit's
 * own record is written, pending. 0 or -errno (-ENOSPC: too many records):
 * then nothing may change. */
int edits_intend(struct tapis *t, enum tapis_edit_type type, const char *rule, const char *entry,
		 bool add, int64_t expires_unix, struct edit_intent *in);
/* The edit was made (done) or not: the record is settled or put back. 0 or
 * -errno; a record left pending is completed by the next writer. */
int edits_settle(struct tapis *t, const struct edit_intent *in, bool done);

/* Every record, sorted by rule then entry; *out malloc'ed. 0 or -errno. */
int edits_list(struct tapis *t, struct edit_rec **out, size_t *n);

/* What merging the records into a policy did, one line per record that no
 * longer applies ("dropped") and counts of those kept. */
struct edits_report {
	size_t kept_add, kept_del;
	size_t dropped;
	char **why;		/* dropped[i]: "host add =x.example to rule r: rule r is gone" */
	struct edit_rec *stale; /* the dropped records, to remove once applied */
};
void edits_report_free(struct edits_report *r);

/* Apply the records to a parsed policy: a recorded add becomes an entry of
 * its rule (source "runtime"), a recorded delete removes the entry from its
 * rule. A record whose rule is gone, an add the file now has, a delete of
 * what the file no longer has and an add whose --expires has passed no
 * longer apply: reported, and removed by edits_forget_stale once the policy
 * is in force. 0, -ENOMEM, or -errno reading the map. */
int edits_merge(struct tapis *t, struct policy *p, struct edits_report *r);
/* Remove the records r found stale. */
void edits_forget_stale(struct tapis *t, const struct edits_report *r);
/* Remove every record (reload --drop-edits); *n how many there were. */
int edits_clear(struct tapis *t, size_t *n);

const char *edit_type_name(enum tapis_edit_type t); /* "host", "net" */

/* The name of the rule that holds base's entries expiring at `expires`:
 * "<base>@2026-12-07T00:00:00Z". False when it does not fit n. */
bool edits_timed_name(const char *base, int64_t expires, char *out, size_t n);

#endif /* TAPIS_EDITS_H */
