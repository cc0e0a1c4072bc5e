// SPDX-License-Identifier: GPL-2.0
/*
 * hostname.c - normalise policy hostnames the way the XDP side sees them.
 *
 * Names on the wire are ASCII (DNS, SNI and Host carry A-labels), so a rule
 * written in Unicode must be stored as its A-label. Pure-ASCII names skip
 * libidn2: blocklists hold millions of them, and IDNA processing would also
 * refuse real-world names (underscores, "--" in the third position) that
 * resolvers and browsers happily use.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "hostname.h"
#include "../../bpf/tapis_abi.h"

/* Longest UTF-8 input considered: every A-label is at most 253 bytes and
 * no code point takes more than 4 bytes, plus room for mapped separators. */
#define HOST_INPUT_MAX (4 * (TAPIS_HOST_MAX + 1))

static _Thread_local char why_buf[64];

static bool host_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static const char *bad_char_why(unsigned char c)
{
	if (c >= 0x20 && c < 0x7f)
		snprintf(why_buf, sizeof(why_buf), "invalid character '%c'", c);
	else
		snprintf(why_buf, sizeof(why_buf), "invalid character 0x%02x", c);
	return why_buf;
}

int hostname_normalize(const char *in, char *out, size_t outsz, const char **why)
{
	const char *unused, *s;
	char *idna = NULL;
	size_t len, i, label = 0;
	bool ascii = true;
	int ret = -EINVAL;

	if (!why)
		why = &unused;
	*why = NULL;

	len = strnlen(in, HOST_INPUT_MAX + 1);
	if (len == 0) {
		*why = "empty name";
		return -EINVAL;
	}
	if (len > HOST_INPUT_MAX) {
		*why = "name longer than 253 characters";
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)in[i] >= 0x80) {
			ascii = false;
			break;
		}
	}

	s = in;
	if (!ascii) {
		/* IDNA2008 first; UTS#46 transitional processing accepts names
		 * (emoji domains, for one) that still resolve in the wild. */
		int rc = idn2_to_ascii_8z(in, &idna, IDN2_NONTRANSITIONAL);

		if (rc != IDN2_OK)
			rc = idn2_to_ascii_8z(in, &idna, IDN2_TRANSITIONAL);
		if (rc != IDN2_OK) {
			*why = idn2_strerror(rc);
			return -EINVAL;
		}
		s = idna;
		len = strlen(s);
	}

	/* After IDNA, so that an ideographic full stop at the end counts too. */
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0) {
		*why = "empty name";
		goto out;
	}
	if (len > TAPIS_HOST_MAX) {
		*why = "name longer than 253 characters";
		goto out;
	}
	if (len >= outsz) {
		*why = "output buffer too small";
		ret = -ENOSPC;
		goto out;
	}

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0) {
				*why = "empty label";
				goto out;
			}
			label = 0;
			out[i] = '.';
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		if (!host_char_ok(c)) {
			*why = bad_char_why(c);
			goto out;
		}
		if (++label > TAPIS_LABEL_MAX) {
			*why = "label longer than 63 characters";
			goto out;
		}
		out[i] = (char)c;
	}
	if (label == 0) {
		*why = "empty label";
		goto out;
	}
	out[len] = '\0';
	ret = 0;
out:
	if (ret && outsz > 0)
		out[0] = '\0';
	idn2_free(idna);
	return ret;
}

bool hostname_numeric_tld(const char *normalized)
{
	const char *dot = strrchr(normalized, '.'), *s = dot ? dot + 1 : normalized;

	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

uint64_t hostname_hash(const char *normalized)
{
	size_t end = strlen(normalized), i;
	uint64_t h = TAPIS_HASH_INIT;
	uint32_t pos = 0;

	/* Label by label from the right (tapis_abi.h); "" stays at INIT. */
	for (i = end; i > 0; i--)
		if (normalized[i - 1] == '.') {
			h = tapis_hash_label_bytes(h, normalized + i, (uint32_t)(end - i), ++pos);
			end = i - 1;
		}
	if (end > 0)
		h = tapis_hash_label_bytes(h, normalized, (uint32_t)end, ++pos);
	return h;
}

int hostname_suffix_hashes(const char *name, uint64_t *out, int max)
{
	size_t i = strlen(name), end = i;
	uint64_t h = TAPIS_HASH_INIT;
	int n = 0, a, b;

	if (i == 0 || max <= 0)
		return -EINVAL;

	/* One right-to-left pass, label by label, as in XDP: the running
	 * hash after a label is the key of the suffix that label starts. */
	for (;; i--) {
		if (i == 0 || name[i - 1] == '.') {
			if (n == max)
				return -E2BIG;
			h = tapis_hash_label_bytes(h, name + i, (uint32_t)(end - i), n + 1);
			out[n++] = h;
			if (i == 0)
				break;
			end = i - 1;
		}
	}

	/* Collected shortest first; callers want the full name first. */
	for (a = 0, b = n - 1; a < b; a++, b--) {
		uint64_t t = out[a];

		out[a] = out[b];
		out[b] = t;
	}
	return n;
}
