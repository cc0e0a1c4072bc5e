/* SPDX-License-Identifier: GPL-2.0 */
/* The memory floor's index (bpf/bench_floor.bpf.c), in both worlds: the
 * live bench marks the entries of the destinations inside the policy for
 * the floor whose verdict is read from its table (live-gen), and must find
 * the entry the program will read. Bench-only, not part of tapis. */
#ifndef TAPIS_BENCH_FLOOR_H
#define TAPIS_BENCH_FLOOR_H

#include <linux/types.h>

/* Multiplicative hashing of the address (4 or 16 bytes, network order):
 * every bit of it moves the index, as a hash table's or a trie's lookup
 * depends on every bit it reads; scaled into [0, entries). */
static inline __u32 bench_floor_index(const __u8 *addr, int family, __u32 entries)
{
	const __u64 k = 0x9E3779B97F4A7C15ULL;
	__u32 w[4];
	__u64 h;

	__builtin_memcpy(w, addr, 4);
	h = (__u64)w[0] * k;
	if (family != 4) {
		__builtin_memcpy(&w[1], addr + 4, 12);
		h = (h ^ w[1]) * k;
		h = (h ^ w[2]) * k;
		h = (h ^ w[3]) * k;
	}
	return (__u32)(((h >> 32) * (__u64)entries) >> 32);
}

#endif
