// SPDX-License-Identifier: GPL-2.0
/*
 * pcap.c - classic pcap reader and writer for tests (see pcap.h).
 */
#include "pcap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC_USEC   0xa1b2c3d4u
#define MAGIC_NSEC   0xa1b23c4du
#define MAGIC_PCAPNG 0x0a0d0d0au /* section header block type */

static uint32_t swap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

static uint16_t swap16(uint16_t v)
{
	return (uint16_t)(v >> 8 | v << 8);
}

static uint32_t rd32(const struct pcap_reader *r, const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return r->swapped ? swap32(v) : v;
}

static uint16_t rd16(const struct pcap_reader *r, const uint8_t *b)
{
	uint16_t v;

	memcpy(&v, b, 2);
	return r->swapped ? swap16(v) : v;
}

static int open_fail(struct pcap_reader *r, int err)
{
	if (r->f)
		fclose(r->f);
	r->f = NULL;
	return err;
}

int pcap_open(const char *path, struct pcap_reader *r)
{
	uint8_t h[24];
	uint32_t magic;

	memset(r, 0, sizeof(*r));
	r->f = fopen(path, "rb");
	if (!r->f) {
		int err = errno;

		snprintf(r->err, sizeof(r->err), "%s: %s", path, strerror(err));
		return -err;
	}
	if (fread(h, 1, sizeof(h), r->f) != sizeof(h)) {
		snprintf(r->err, sizeof(r->err), "%s: shorter than a pcap header", path);
		return open_fail(r, -EBADMSG);
	}
	memcpy(&magic, h, 4);
	if (magic == MAGIC_USEC || magic == MAGIC_NSEC) {
		r->swapped = false;
	} else if (swap32(magic) == MAGIC_USEC || swap32(magic) == MAGIC_NSEC) {
		r->swapped = true;
		magic = swap32(magic);
	} else if (magic == MAGIC_PCAPNG) {
		snprintf(r->err, sizeof(r->err),
			 "%s: pcapng, not classic pcap (convert with editcap -F pcap)", path);
		return open_fail(r, -EBADMSG);
	} else {
		snprintf(r->err, sizeof(r->err), "%s: not a pcap file (magic %08x)", path, magic);
		return open_fail(r, -EBADMSG);
	}
	r->nsec = magic == MAGIC_NSEC;
	r->version_major = rd16(r, h + 4);
	r->version_minor = rd16(r, h + 6);
	r->snaplen = rd32(r, h + 16);
	/* the top bits may carry FCS information (pcap-savefile(5)) */
	r->linktype = rd32(r, h + 20) & 0x03ffffff;
	if (r->linktype != PCAP_LINKTYPE_ETHERNET) {
		snprintf(r->err, sizeof(r->err), "%s: linktype %u, only 1 (Ethernet) is supported",
			 path, r->linktype);
		return open_fail(r, -EPROTONOSUPPORT);
	}
	return 0;
}

int pcap_next(struct pcap_reader *r, const uint8_t **data, uint32_t *caplen, uint32_t *origlen)
{
	uint8_t h[16];
	size_t got;
	uint32_t incl;

	got = fread(h, 1, sizeof(h), r->f);
	if (got == 0 && feof(r->f))
		return 0;
	if (got != sizeof(h)) {
		snprintf(r->err, sizeof(r->err), "record %llu: truncated record header",
			 (unsigned long long)r->frames + 1);
		return -EBADMSG;
	}
	incl = rd32(r, h + 8);
	if (incl > PCAP_MAX_FRAME) {
		snprintf(r->err, sizeof(r->err), "record %llu: %u bytes, over %u",
			 (unsigned long long)r->frames + 1, incl, PCAP_MAX_FRAME);
		return -EBADMSG;
	}
	if (incl > r->cap) {
		uint8_t *nb = realloc(r->buf, incl);

		if (!nb) {
			snprintf(r->err, sizeof(r->err), "out of memory");
			return -ENOMEM;
		}
		r->buf = nb;
		r->cap = incl;
	}
	if (incl && fread(r->buf, 1, incl, r->f) != incl) {
		snprintf(r->err, sizeof(r->err),
			 "record %llu: truncated frame (%u bytes announced)",
			 (unsigned long long)r->frames + 1, incl);
		return -EBADMSG;
	}
	r->ts_sec = rd32(r, h);
	r->ts_nsec = rd32(r, h + 4) * (r->nsec ? 1 : 1000);
	r->frames++;
	*data = r->buf;
	*caplen = incl;
	if (origlen)
		*origlen = rd32(r, h + 12);
	return 1;
}

void pcap_close(struct pcap_reader *r)
{
	if (r->f)
		fclose(r->f);
	free(r->buf);
	r->f = NULL;
	r->buf = NULL;
	r->cap = 0;
}

int pcap_write_open(const char *path, struct pcap_writer *w)
{
	/* struct pcap_file_header, written in host order */
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t thiszone;
		uint32_t sigfigs, snaplen, linktype;
	} h = {MAGIC_USEC, 2, 4, 0, 0, PCAP_MAX_FRAME, PCAP_LINKTYPE_ETHERNET};

	memset(w, 0, sizeof(*w));
	w->f = fopen(path, "wb");
	if (!w->f)
		return -errno;
	if (fwrite(&h, sizeof(h), 1, w->f) != 1) {
		fclose(w->f);
		w->f = NULL;
		return -EIO;
	}
	return 0;
}

int pcap_write_frame(struct pcap_writer *w, const uint8_t *data, uint32_t len)
{
	uint32_t rec[4];

	if (len > PCAP_MAX_FRAME)
		return -EMSGSIZE;
	rec[0] = 1700000000u + (uint32_t)(w->frames / 1000000);
	rec[1] = (uint32_t)(w->frames % 1000000);
	rec[2] = len;
	rec[3] = len;
	if (fwrite(rec, sizeof(rec), 1, w->f) != 1 || (len && fwrite(data, len, 1, w->f) != 1))
		return -EIO;
	w->frames++;
	return 0;
}

int pcap_write_close(struct pcap_writer *w)
{
	int err = 0;

	if (!w->f)
		return 0;
	if (ferror(w->f))
		err = -EIO;
	if (fclose(w->f))
		err = -EIO;
	w->f = NULL;
	return err;
}
