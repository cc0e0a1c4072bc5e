// SPDX-License-Identifier: GPL-2.0
/* The differential test of test_nets_diff.c on a policy of a few hundred
 * prefixes (the bench's small policy is of this size): its chunks take the
 * small chunk map, read inline by the program (tapis_v4_chunk_s), and the
 * live adds stay within it. TAPIS_DIFF_SCALE does not change it. */
#define DIFF_SIZES                                                                                 \
	{                                                                                          \
		600, 200, 100000, 20000, 300                                                       \
	}
#include "test_nets_diff.c"
