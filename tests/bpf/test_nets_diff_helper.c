// SPDX-License-Identifier: GPL-2.0
/* The differential test of test_nets_diff.c with the program loaded with
 * room for 64 chunks in the inline chunk map, too few for the policy's:
 * its chunks take the map sized per generation (tapis_v4_chunk), read
 * with a helper call, where a reload that outgrows the size loaded lands.
 * TAPIS_DIFF_SCALE does not change it. */
#define DIFF_SIZES                                                                                 \
	{                                                                                          \
		20000, 4000, 200000, 20000, 2000                                                   \
	}
#define DIFF_CHUNK_SMALL   false
#define DIFF_CHUNKS_LOADED TAPIS_V4_CHUNKS_SMALL_MIN
#include "test_nets_diff.c"
