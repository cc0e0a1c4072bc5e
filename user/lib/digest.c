// SPDX-License-Identifier: GPL-2.0
/* The digest of a policy's content: what `load` compares with the running
 * filter's to tell an unchanged policy (nothing to do) from an edited one
 * (reload). It covers the bytes of the policy file and of every list file
 * it names, because an order usually changes a list, not the policy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <nettle/sha2.h>

#include "fileio.h"
#include "tapis.h"

/* One file into the hash: its bytes, then their length, so that bytes
 * moved from the end of one file to the start of the next change the
 * digest. A file that cannot be read now (gone since the parse) hashes as
 * a marker, never as an empty file. */
static void digest_file(struct sha256_ctx *ctx, const char *path)
{
	static const uint8_t unreadable[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t buf[65536], len[8];
	struct stat st;
	uint64_t n = 0;
	ssize_t r;
	int fd;

	fd = open_regular(path, &st);
	if (fd < 0) {
		sha256_update(ctx, sizeof(unreadable), unreadable);
		return;
	}
	/* The length is the size read, not st_size: a file that grows while
	 * it is read is hashed as read. */
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		sha256_update(ctx, (size_t)r, buf);
		n += (uint64_t)r;
	}
	close(fd);
	if (r < 0) {
		sha256_update(ctx, sizeof(unreadable), unreadable);
		return;
	}
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(n >> (8 * i));
	sha256_update(ctx, sizeof(len), len);
}

int content_digest(const struct policy *p, uint8_t out[TAPIS_DIGEST_LEN])
{
	struct sha256_ctx ctx;

	if (!p->n_strings)
		return -EINVAL;
	sha256_init(&ctx);
	/* strings[0] is the policy file, then the lists in the order the
	 * parser met them: the same content always gives the same order. */
	for (size_t i = 0; i < p->n_strings; i++)
		digest_file(&ctx, p->strings[i]);
	sha256_digest(&ctx, TAPIS_DIGEST_LEN, out);
	return 0;
}

bool content_digest_known(const uint8_t d[TAPIS_DIGEST_LEN])
{
	for (int i = 0; i < TAPIS_DIGEST_LEN; i++)
		if (d[i])
			return true;
	return false;
}

const char *content_digest_str(const uint8_t d[TAPIS_DIGEST_LEN], char out[TAPIS_DIGEST_STR])
{
	strcpy(out, "sha256:");
	for (int i = 0; i < TAPIS_DIGEST_LEN; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
	return out;
}

int tapis_set_content_digest(struct tapis *t, const uint8_t d[TAPIS_DIGEST_LEN])
{
	struct tapis_state st;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(t->map_fd[M_STATE], &zero, &st))
		return -errno;
	memcpy(st.content_digest, d, TAPIS_DIGEST_LEN);
	return bpf_map_update_elem(t->map_fd[M_STATE], &zero, &st, BPF_ANY) ? -errno : 0;
}
