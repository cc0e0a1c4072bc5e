/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hostname.h - the user half of the hostname normalisation and hash.
 *
 * The XDP program lowercases names as it reads them off the wire and hashes
 * them with the label hash of bpf/tapis_abi.h; the policy side must turn
 * whatever an operator wrote (any case, a trailing dot, Unicode) into the same
 * bytes before hashing, or a rule silently never matches.
 */
#ifndef TAPIS_HOSTNAME_H
#define TAPIS_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Turn `in` (UTF-8) into its lowercase IDNA A-label form without a trailing
 * dot, in `out` (at least TAPIS_HOST_MAX + 1 bytes for any valid name).
 * Returns 0; -EINVAL with *why set to a short static message when the name
 * is not a valid hostname; -ENOSPC when `out` is too small. `why` may be
 * NULL. Labels are [a-z0-9_-], 1..63 bytes; the name is at most 253. */
int hostname_normalize(const char *in, char *out, size_t outsz, const char **why);

/* Whether the last label of a normalised name is all digits ("1.2.3",
 * "198.18.0.300"). No top-level domain is (RFC 3696, section 2): such a
 * name is a mistyped address, never a host anyone can block or look up. */
bool hostname_numeric_tld(const char *normalized);

/* The hash the host table is keyed by (see tapis_abi.h): the normalised
 * name hashed label by label, from its last label to its first. */
uint64_t hostname_hash(const char *normalized);

/* The hashes of `name` and of each parent suffix, longest first:
 * "www.example.com" gives hash("www.example.com"), hash("example.com"),
 * hash("com"). This is what the XDP side computes in its single pass.
 * Returns the number written, -EINVAL for an empty name, or -E2BIG when the
 * name has more than `max` labels. */
int hostname_suffix_hashes(const char *name, uint64_t *out, int max);

#endif /* TAPIS_HOSTNAME_H */
