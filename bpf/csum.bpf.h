/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only: Internet checksums (RFC 1071) for the packets the data path
 * writes: IPv4 headers, and UDP/TCP over IPv4 and IPv6 with their
 * pseudo-headers.
 *
 * Sums are taken over memory as it lies, in native byte order, 8 bytes at a
 * time with end-around carry, and folded at the end; by RFC 1071's byte-order
 * independence the folded value, stored back as it lies, is the checksum in
 * network order. Values added from registers must therefore be in network
 * order too (bpf_htons(len), addresses as read from the header). */
#ifndef TAPIS_CSUM_BPF_H
#define TAPIS_CSUM_BPF_H
#ifndef __BPF__
#error "BPF-only header"
#endif

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Longest region summed in one call: an IPv4 header with options (60), a
 * TCP header (20), or the largest UDP answer the DNS stage builds (8 UDP +
 * 12 header + 259 question + 28 AAAA record + 11 OPT = 318). */
#define CSUM_MAX_BYTES 320
#define CSUM_MAX_WORDS (CSUM_MAX_BYTES / 8)

static __always_inline __u64 csum_add(__u64 sum, __u64 v)
{
	sum += v;
	return sum + (sum < v); /* end-around carry */
}

/* Fold a 64-bit one's-complement sum to 16 bits and complement it. */
static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffffULL) + (sum >> 32);
	sum = (sum & 0xffffffffULL) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Add len bytes of packet memory at start (an even offset of the checksummed
 * region) to sum. Returns false if the region leaves the packet or is longer
 * than CSUM_MAX_BYTES; sum is then meaningless. */
static __always_inline bool csum_pkt(const void *start, __u32 len, const void *end, __u64 *sum)
{
	const __u8 *pos = start;
	__u64 s = *sum;
	__u32 i;

	if (len > CSUM_MAX_BYTES)
		return false;
	for (i = 0; i < CSUM_MAX_WORDS; i++) {
		/* Keep clang from merging pos, len and i into one induction
		 * variable: the verifier must see i bound the loop, and each
		 * read checked against the packet end. */
		barrier_var(pos);
		barrier_var(len);
		if (len < 8)
			break;
		if ((const void *)(pos + 8) > end)
			return false;
		s = csum_add(s, *(const __u64 *)pos);
		pos += 8;
		len -= 8;
	}
	if (len & 4) {
		if ((const void *)(pos + 4) > end)
			return false;
		s = csum_add(s, *(const __u32 *)pos);
		pos += 4;
	}
	if (len & 2) {
		if ((const void *)(pos + 2) > end)
			return false;
		s = csum_add(s, *(const __u16 *)pos);
		pos += 2;
	}
	if (len & 1) {
		if ((const void *)(pos + 1) > end)
			return false;
		/* The odd byte is the high-order byte of a word padded with
		 * zero: that word as it would lie in memory. */
		s = csum_add(s, bpf_htons((__u16)(*pos << 8)));
	}
	*sum = s;
	return true;
}

/* Pseudo-header sums, in network order as the sum above wants. */
static __always_inline __u64 csum_pseudo4(__be32 saddr, __be32 daddr, __u8 proto, __u32 len)
{
	__u64 s = 0;

	s = csum_add(s, saddr);
	s = csum_add(s, daddr);
	s = csum_add(s, bpf_htons((__u16)proto));
	return csum_add(s, bpf_htons((__u16)len));
}

static __always_inline __u64 csum_pseudo6(const __u32 *saddr, const __u32 *daddr, __u8 proto,
					  __u32 len)
{
	__u64 s = 0;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		s = csum_add(s, saddr[i]);
		s = csum_add(s, daddr[i]);
	}
	s = csum_add(s, bpf_htonl((__u32)proto));
	return csum_add(s, bpf_htonl(len));
}

#endif
