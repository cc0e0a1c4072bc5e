/* SPDX-License-Identifier: GPL-2.0 */
/* Frames for the differential test: sessions (a few frames of one flow,
 * run in order) seeded from the packet builder and the shared corpus,
 * then mutated; and the rules of "never a reflector", written from the
 * issue's text without the data path's code, as an independent check of
 * every frame the program answers. */
#ifndef TAPIS_DIFF_GEN_H
#define TAPIS_DIFF_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_MIN 14   /* a test run refuses less than an Ethernet header */
#define FRAME_MAX 1600 /* a test run splits more than a page into fragments */
#define SESS_MAX  8

struct rng {
	uint64_t s;
};
uint64_t rng_next(struct rng *r);
/* 0..n-1 (n > 0). */
uint32_t rng_below(struct rng *r, uint32_t n);

struct frame {
	uint32_t len;
	uint8_t b[FRAME_MAX];
};

struct session {
	unsigned n;
	struct frame f[SESS_MAX];
	const char *origin; /* "dns", "tls", "corpus:<file>", ... */
	bool mutated;
	/* Unmutated builder sessions that carry a name: the name one of the
	 * frames must hand the match when the port is its stage's (else ""). */
	char expect_name[256];
	int expect_kind;      /* enum tapis_kind */
	uint16_t expect_port; /* the server port it was sent to */
};

/* The shared corpus's pcaps under dir (NULL: none): the frames kept. */
int gen_load_corpus(const char *dir);
/* A new session from r: builder or corpus seed, mutated or not. */
void gen_session(struct rng *r, struct session *s);

/* Whether "never a reflector" allows an answer (XDP_TX) to this frame; when
 * not, *why says which rule forbids it. */
bool answer_allowed(const uint8_t *f, size_t len, const char **why);

#endif
