/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pcap.h - read and write classic pcap files, without libpcap.
 *
 * Reader: both byte orders, microsecond (a1b2c3d4) and nanosecond
 * (a1b23c4d) magic. Only linktype 1 (Ethernet) is accepted, because every
 * consumer hands frames to an XDP program; anything else, pcapng included,
 * is an error whose text is in r->err. Frames are returned one at a time in
 * a buffer owned by the reader, valid until the next pcap_next().
 *
 * Writer: microsecond pcap in host byte order, linktype 1, timestamps
 * 1700000000 s + frame index in microseconds, so that dumping the same
 * packets twice gives the same file.
 */
#ifndef TAPIS_TEST_PCAP_H
#define TAPIS_TEST_PCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_MAX_FRAME	       262144 /* libpcap's own ceiling on a record */

struct pcap_reader {
	FILE *f;
	bool swapped; /* file byte order differs from ours */
	bool nsec;    /* timestamps in nanoseconds */
	uint16_t version_major, version_minor;
	uint32_t snaplen;
	uint32_t linktype;
	uint64_t frames;	  /* records returned so far */
	uint32_t ts_sec, ts_nsec; /* of the last record returned */
	uint8_t *buf;
	uint32_t cap;
	char err[160]; /* why the last call failed */
};

/* 0, or -errno: -ENOENT etc. from fopen, -EBADMSG for a short or unknown
 * header (pcapng says so in r->err), -EPROTONOSUPPORT for a linktype other
 * than Ethernet. On failure nothing needs closing. */
int pcap_open(const char *path, struct pcap_reader *r);
/* 1 with a frame, 0 at end of file, -EBADMSG for a truncated record or a
 * record over PCAP_MAX_FRAME, -ENOMEM. origlen may be NULL. */
int pcap_next(struct pcap_reader *r, const uint8_t **data, uint32_t *caplen, uint32_t *origlen);
void pcap_close(struct pcap_reader *r);

struct pcap_writer {
	FILE *f;
	uint64_t frames;
};

int pcap_write_open(const char *path, struct pcap_writer *w);
int pcap_write_frame(struct pcap_writer *w, const uint8_t *data, uint32_t len);
/* 0, or -EIO if anything failed to reach the file. */
int pcap_write_close(struct pcap_writer *w);

#endif /* TAPIS_TEST_PCAP_H */
