// SPDX-License-Identifier: GPL-2.0
/* drive - the cold cost of proto.bpf.c against flat one-read floors, in one
 * run: 65,536 IPv4 SYNs with random source and destination, each frame its
 * own BPF_PROG_TEST_RUN call (the bench's cold regime), the programs in a
 * rotating order each round; prints each program's mean ns a frame less
 * XDP_PASS's, per round. Not built by make; from the repository root:
 *
 *   make build/xdp_pass.bpf.o build/bench_floor.skel.h
 *   clang -O2 -g -target bpf -D__BPF__ -I/usr/include/$(gcc -dumpmachine) -Ibpf \
 *       -c tests/bench/v4proto/proto.bpf.c -o build/v4proto.bpf.o
 *   gcc -O2 -Wall -o build/v4proto-drive tests/bench/v4proto/drive.c -lbpf
 *   build/v4proto-drive [ROUNDS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define NF	65536
#define MAXR	16
#define U64_MIB 131072u /* u64 entries in a MiB */
#define REC_MIB 16384u	/* 64-byte records in a MiB */
#define FRAME	60

struct prog {
	const char *name;
	int fd;
	double ns[MAXR];
};

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A record's bitmap has about 15 runs, as the bench policy's /16s have. */
static int fill_proto(struct bpf_object *o, uint32_t n_rec, uint64_t words)
{
	int l1 = bpf_object__find_map_fd_by_name(o, "l1"),
	    pool = bpf_object__find_map_fd_by_name(o, "pool");

	for (uint32_t i = 0; i < 65536; i++) {
		uint32_t v = rnd() % n_rec;

		if (bpf_map_update_elem(l1, &i, &v, 0))
			return -1;
	}
	for (uint32_t i = 0; i < words; i++) {
		uint64_t v = i % 8 < 4 ? (rnd() & rnd() & rnd()) | (i % 8 == 0) : 0;

		if (bpf_map_update_elem(pool, &i, &v, 0))
			return -1;
	}
	return 0;
}

/* file's program prog, its first two rodata words set to r0 and r1 and map
 * big sized to n entries (NULL: none); proto: fill the tables. */
static int load(struct prog *p, const char *name, const char *file, const char *prog, uint32_t r0,
		uint32_t r1, const char *big, uint64_t n, int proto)
{
	struct bpf_object *o = bpf_object__open_file(file, NULL);
	struct bpf_map *m;

	p->name = name;
	if (!o)
		return -1;
	m = bpf_object__find_map_by_name(o, ".rodata");
	if (m) {
		size_t sz;
		uint32_t *v = (uint32_t *)bpf_map__initial_value(m, &sz);

		v[0] = r0;
		v[1] = r1;
	}
	if (big && bpf_map__set_max_entries(bpf_object__find_map_by_name(o, big), (uint32_t)n))
		return -1;
	if (bpf_object__load(o))
		return -1;
	p->fd = bpf_program__fd(prog ? bpf_object__find_program_by_name(o, prog)
				     : bpf_object__next_program(o, NULL));
	return proto ? fill_proto(o, r0, n) : 0;
}

int main(int argc, char **argv)
{
	static uint8_t fr[NF][FRAME];
	static const double floor_mib[] = {1, 4, 8, 32, 72}, pool_mib[] = {2, 6, 12};
	const char *fl = "build/bench_floor.bpf.o", *pr = "build/v4proto.bpf.o";
	struct prog P[MAXR];
	char names[MAXR][32];
	int np = 0, rounds = argc > 1 ? atoi(argv[1]) : 5;

	if (rounds < 1 || rounds > MAXR)
		return 2;
	if (load(&P[np++], "xdp_pass", "build/xdp_pass.bpf.o", NULL, 0, 0, NULL, 0, 0))
		goto fail;
	for (size_t i = 0; i < sizeof(floor_mib) / sizeof(floor_mib[0]); i++, np++) {
		snprintf(names[np], sizeof(names[np]), "floor-%.0fMiB", floor_mib[i]);
		if (load(&P[np], names[np], fl, "bench_floor", (uint32_t)(floor_mib[i] * U64_MIB),
			 2 /* XDP_PASS */, "floor_tbl", (uint64_t)(floor_mib[i] * U64_MIB), 0))
			goto fail;
	}
	if (load(&P[np++], "proto-l1-only", pr, "proto", REC_MIB, 1, "pool", U64_MIB, 1))
		goto fail;
	for (size_t i = 0; i < sizeof(pool_mib) / sizeof(pool_mib[0]); i++, np++) {
		snprintf(names[np], sizeof(names[np]), "proto-l1+%.0fMiB", pool_mib[i]);
		if (load(&P[np], names[np], pr, "proto", (uint32_t)(pool_mib[i] * REC_MIB), 2,
			 "pool", (uint64_t)(pool_mib[i] * U64_MIB), 1))
			goto fail;
	}
	for (int i = 0; i < NF; i++) {
		uint8_t *f = fr[i], *ip = f + 14, *th = ip + 20;
		uint32_t s = (uint32_t)rnd(), d = (uint32_t)rnd();

		memset(f, 0, FRAME);
		memset(f, 0x02, 12);
		f[12] = 0x08; /* IPv4 */
		ip[0] = 0x45;
		ip[3] = 40;
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, &s, 4);
		memcpy(ip + 16, &d, 4);
		th[2] = 0;
		th[3] = 80;
		th[12] = 0x50;
		th[13] = 0x02; /* SYN */
	}
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < np; k++) {
			struct prog *p = &P[(k + r) % np];
			double sum = 0;

			for (int i = 0; i < NF; i++) {
				LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fr[i],
					    .data_size_in = FRAME, .repeat = 1);

				if (bpf_prog_test_run_opts(p->fd, &o))
					goto fail;
				sum += o.duration;
			}
			p->ns[r] = sum / NF;
		}
	printf("cold, ns a frame over XDP_PASS of the same round (%d rounds)\n", rounds);
	for (int k = 0; k < np; k++) {
		printf("%-16s", P[k].name);
		for (int r = 0; r < rounds; r++)
			printf(" %+6.1f", P[k].ns[r] - P[0].ns[r]);
		printf("\n");
	}
	return 0;
fail:
	perror("v4proto-drive");
	return 1;
}
