// SPDX-License-Identifier: GPL-2.0
/*
 * livegen.c - the live-path helpers of tapis-bench, driven by
 * tests/bench/live.sh inside the namespace it creates:
 *
 *   tapis-bench live-attach --dev IF --prog drop|pass|floor|floor-verdict
 *                           [--bytes N]
 *       attach a one-instruction XDP_DROP (or XDP_PASS) program to IF in
 *       native mode, or the memory floor (bpf/bench_floor.bpf.c: one read
 *       per direction in an array of N bytes, default 64 MiB, then
 *       XDP_DROP; floor-verdict: XDP_DROP where the destination's entry is
 *       marked, which live-gen --mark does, else XDP_PASS); the attachment
 *       (and the floor's array) outlives this process.
 *   tapis-bench live-gen --policy-dir DIR --target NAME:NEAR:FAR ...
 *                        [--seconds S] [--rounds N] [--cpu C] [--addrs N]
 *                        [--gen auto|live|clone|packet] [--dst random|zipf]
 *                        [--population N] [--batch N] [--mark FAR]
 *       drive frames out of each NEAR veth end into its peer FAR, round
 *       robin over the targets for N rounds of S seconds each, and print
 *       one JSON object with the frames per second FAR handled. --mark
 *       FAR: mark in the table of the floor-verdict program on FAR the
 *       entries of the destinations inside the policy first.
 *   tapis-bench live-stats --dev IF
 *       print IF's ethtool counters (to see what a veth exposes).
 *
 * Generators, tried in this order by --gen auto (the first that the kernel
 * accepts is used, and named in the JSON):
 *
 *   live   BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on a small XDP
 *          program of our own (raw instructions, so nothing is compiled at
 *          bench time): for every frame it draws an index with
 *          bpf_get_prandom_u32, writes that (source, destination) pair into
 *          the IPv4 header and returns bpf_redirect(NEAR). The frame lands
 *          in FAR's XDP receive queue as an xdp_frame. Live-frame mode keeps
 *          the frame bytes between runs, so the rewrite is all the
 *          variation needed. Some sandboxes refuse it to root (EPERM).
 *   clone  BPF_PROG_TEST_RUN of a tc program with a repeat count: each run
 *          writes a drawn pair into the test skb and sends a clone of it
 *          out of NEAR (bpf_clone_redirect). No socket, no syscall per
 *          batch; FAR gets an skb, which veth copies before XDP runs.
 *   packet an AF_PACKET socket on NEAR with PACKET_QDISC_BYPASS, batches
 *          of --batch frames per sendmmsg, the pairs in table order.
 *
 * The IPv4 header checksum is left stale: none of the far ends checks it
 * before its verdict. The destination MAC is no far end's, so a frame a far
 * end passes is dropped by its stack at the first IP check.
 *
 * Addresses (--dst): random, destinations inside the policy's drop prefixes
 * (random prefix, random host bits), so the filters under test all drop
 * every frame and lookups miss the caches as the table's size makes them;
 * zipf, destinations drawn with P(rank k) ~ 1/k over --population
 * addresses (default 1,000,000), half inside the drop prefixes and half
 * outside every prefix. Sources are random outside every prefix.
 *
 * What is counted: FAR's ethtool counters rx_queue_*_xdp_packets, i.e. the
 * frames FAR's NAPI took off its ring and ran through XDP, per second of
 * generator time and per second of CPU time of FAR's threaded-NAPI kernel
 * thread (the capacity); frames sent and not run through XDP were refused
 * by veth (ring full). The generator's own CPU time per frame is reported
 * too.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "../../bpf/bench_floor.h"
#include "log.h"
#include "pkt.h"

/* ---- ethtool counters --------------------------------------------------- */
int64_t ethtool_stat_sum(const char *ifname, const char *pattern, int list)
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t data[1];
	} sset = {.hdr = {.cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_STATS}};
	struct ethtool_gstrings *str = NULL;
	struct ethtool_stats *st = NULL;
	struct ifreq ifr = {};
	int64_t sum = -1;
	uint32_t n;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&sset;
	if (ioctl(fd, SIOCETHTOOL, &ifr) || !sset.hdr.sset_mask)
		goto out;
	n = sset.hdr.data[0];
	str = calloc(1, sizeof(*str) + (size_t)n * ETH_GSTRING_LEN);
	st = calloc(1, sizeof(*st) + (size_t)n * sizeof(uint64_t));
	if (!str || !st)
		goto out;
	str->cmd = ETHTOOL_GSTRINGS;
	str->string_set = ETH_SS_STATS;
	str->len = n;
	ifr.ifr_data = (void *)str;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		goto out;
	st->cmd = ETHTOOL_GSTATS;
	st->n_stats = n;
	ifr.ifr_data = (void *)st;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		goto out;
	sum = 0;
	for (uint32_t i = 0; i < n; i++) {
		char name[ETH_GSTRING_LEN + 1];

		memcpy(name, str->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = 0;
		if (list)
			fprintf(stderr, "%s %s = %llu\n", ifname, name,
				(unsigned long long)st->data[i]);
		if (pattern && !fnmatch(pattern, name, 0))
			sum += (int64_t)st->data[i];
	}
out:
	free(str);
	free(st);
	close(fd);
	return sum;
}

/* ---- raw BPF ------------------------------------------------------------ */
#define INSN(c, d, s, o, i)                                                                        \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define MOV64_REG(d, s)	    INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i)	    INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ALU64_IMM(op, d, i) INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define LDX_W(d, s, o)	    INSN(BPF_LDX | BPF_W | BPF_MEM, d, s, o, 0)
#define STX_W(d, s, o)	    INSN(BPF_STX | BPF_W | BPF_MEM, d, s, o, 0)
#define JEQ_IMM(d, i, o)    INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, i)
#define JGT_REG(d, s, o)    INSN(BPF_JMP | BPF_JGT | BPF_X, d, s, o, 0)
#define CALL(f)		    INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()		    INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LD_MAP_FD(d, fd)                                                                           \
	INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)

static int load_insns_type(enum bpf_prog_type type, const struct bpf_insn *insns, size_t n,
			   const char *name)
{
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, o, .log_buf = log, .log_size = sizeof(log), .log_level = 0);
	int fd = bpf_prog_load(type, name, "GPL", insns, n, &o);

	if (fd < 0) {
		int err = -errno;

		o.log_level = 1;
		bpf_prog_load(type, name, "GPL", insns, n, &o);
		fprintf(stderr, "tapis-bench: load %s: %s\n%s\n", name, strerror(-err), log);
		return err;
	}
	return fd;
}

static int load_insns(const struct bpf_insn *insns, size_t n, const char *name)
{
	return load_insns_type(BPF_PROG_TYPE_XDP, insns, n, name);
}

/* return XDP_DROP / XDP_PASS */
int bench_const_prog(int action)
{
	const struct bpf_insn p[] = {MOV64_IMM(BPF_REG_0, action), EXIT()};

	return load_insns(p, 2, action == XDP_DROP ? "bench_drop" : "bench_pass");
}

/* Both generators' start: r6 = ctx, r0 = &pairs[prandom & mask] or
 * NULL. */
#define PICK_PAIR(map_fd, mask)                                                                    \
	MOV64_REG(BPF_REG_6, BPF_REG_1), CALL(BPF_FUNC_get_prandom_u32),                           \
		ALU64_IMM(BPF_AND, BPF_REG_0, (int32_t)(mask)), STX_W(BPF_REG_10, BPF_REG_0, -4),  \
		MOV64_REG(BPF_REG_2, BPF_REG_10), ALU64_IMM(BPF_ADD, BPF_REG_2, -4),               \
		LD_MAP_FD(BPF_REG_1, map_fd), CALL(BPF_FUNC_map_lookup_elem)

/* The generator: pick pairs[prandom & mask], write it as IPv4 saddr/daddr
 * of an untagged frame (offsets 26 and 30), redirect out of ifindex. */
static int gen_prog(int map_fd, uint32_t mask, int ifindex)
{
	const struct bpf_insn p[] = {
		PICK_PAIR(map_fd, mask),
		JEQ_IMM(BPF_REG_0, 0, 14), /* -> drop */
		MOV64_REG(BPF_REG_7, BPF_REG_0),
		LDX_W(BPF_REG_2, BPF_REG_6, 0), /* data */
		LDX_W(BPF_REG_3, BPF_REG_6, 4), /* data_end */
		MOV64_REG(BPF_REG_4, BPF_REG_2),
		ALU64_IMM(BPF_ADD, BPF_REG_4, 34),
		JGT_REG(BPF_REG_4, BPF_REG_3, 8), /* -> drop */
		LDX_W(BPF_REG_5, BPF_REG_7, 0),
		STX_W(BPF_REG_2, BPF_REG_5, 26),
		LDX_W(BPF_REG_5, BPF_REG_7, 4),
		STX_W(BPF_REG_2, BPF_REG_5, 30),
		MOV64_IMM(BPF_REG_1, ifindex),
		MOV64_IMM(BPF_REG_2, 0),
		CALL(BPF_FUNC_redirect),
		EXIT(),
		/* drop: */
		MOV64_IMM(BPF_REG_0, XDP_DROP),
		EXIT(),
	};

	return load_insns(p, sizeof(p) / sizeof(p[0]), "bench_gen");
}

/* The generator where live frames are refused: a tc program run by
 * BPF_PROG_TEST_RUN with a repeat count. Each run writes pairs[prandom &
 * mask] as IPv4 saddr/daddr into the test skb (bpf_skb_store_bytes: the
 * skb's data is still shared with the previous clone, so the helper gives
 * it a private copy first) and sends a clone of it out of ifindex
 * (bpf_clone_redirect, egress): one frame per run, from one syscall per
 * repeat count, with no socket in between. */
static int clone_prog(int map_fd, uint32_t mask, int ifindex)
{
	const struct bpf_insn p[] = {
		PICK_PAIR(map_fd, mask),
		JEQ_IMM(BPF_REG_0, 0, 11), /* -> out */
		MOV64_REG(BPF_REG_3, BPF_REG_0),
		MOV64_REG(BPF_REG_1, BPF_REG_6),
		MOV64_IMM(BPF_REG_2, 26),
		MOV64_IMM(BPF_REG_4, 8),
		MOV64_IMM(BPF_REG_5, 0),
		CALL(BPF_FUNC_skb_store_bytes),
		MOV64_REG(BPF_REG_1, BPF_REG_6),
		MOV64_IMM(BPF_REG_2, ifindex),
		MOV64_IMM(BPF_REG_3, 0),
		CALL(BPF_FUNC_clone_redirect),
		EXIT(), /* r0: 0 sent, < 0 refused */
		/* out: */
		MOV64_IMM(BPF_REG_0, -1),
		EXIT(),
	};

	return load_insns_type(BPF_PROG_TYPE_SCHED_CLS, p, sizeof(p) / sizeof(p[0]), "bench_clone");
}

/* ---- live-attach -------------------------------------------------------- */
static int live_attach(int argc, char **argv)
{
	const char *dev = NULL, *prog = "drop";
	struct bench_floor_bpf *floor = NULL;
	uint64_t bytes = 64ull << 20;
	int c, fd, ifindex, err;
	static const struct option lo[] = {{"dev", required_argument, NULL, 'd'},
					   {"prog", required_argument, NULL, 'p'},
					   {"bytes", required_argument, NULL, 'b'},
					   {NULL, 0, NULL, 0}};

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'd')
			dev = optarg;
		else if (c == 'p')
			prog = optarg;
		else if (c == 'b')
			bytes = strtoull(optarg, NULL, 0);
		else
			return 2;
	}
	ifindex = dev ? (int)if_nametoindex(dev) : 0;
	if (!ifindex || (strcmp(prog, "drop") && strcmp(prog, "pass") && strcmp(prog, "floor") &&
			 strcmp(prog, "floor-verdict"))) {
		fprintf(stderr, "usage: tapis-bench live-attach --dev IF --prog "
				"drop|pass|floor|floor-verdict [--bytes N]\n");
		return 2;
	}
	if (!strncmp(prog, "floor", 5)) {
		err = floor_load(bytes, XDP_DROP, !strcmp(prog, "floor-verdict"), &floor);
		if (err) {
			fprintf(stderr, "tapis-bench: load the floor (%llu B): %s\n",
				(unsigned long long)bytes, strerror(-err));
			return 1;
		}
		fd = floor_fd(floor);
	} else {
		fd = bench_const_prog(strcmp(prog, "drop") ? XDP_PASS : XDP_DROP);
	}
	if (fd < 0)
		return 1;
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL) ? -errno : 0;
	if (err)
		fprintf(stderr, "tapis-bench: attach %s to %s (native): %s\n", prog, dev,
			strerror(-err));
	/* attached, the program and its array live on without this process */
	if (floor)
		floor_close(floor);
	return err ? 1 : 0;
}

/* ---- live-gen ----------------------------------------------------------- */
/* Per far end, one value per round of each figure. */
struct target {
	char name[32], near[IFNAMSIZ], far[IFNAMSIZ];
	int prog_fd; /* live frames, tc clone: the generator program for near */
	int sock;    /* AF_PACKET: a socket bound to near */
	double pps[64], sent_pps[64], refused[64], cap[64], busy[64];
	double dropped[64]; /* share of the frames run that XDP dropped */
	int64_t frames[64]; /* frames the far end ran through XDP, per round */
	double gen_ns[64];  /* generator CPU time per frame sent */
	unsigned n;
};

enum gen_kind { GEN_LIVE, GEN_CLONE, GEN_PACKET };
static const char *const gen_names[] = {"live-frames", "tc-clone", "af-packet"};

/* The frames of a run: the template and the (source, destination) pairs
 * written into it, in the order they are sent (AF_PACKET) or drawn from
 * at random (live frames). */
struct gen {
	enum gen_kind kind;
	struct pkt frame;
	uint8_t (*pairs)[8]; /* IPv4 source, destination; network order */
	uint8_t *inside;     /* per pair: the destination is inside the policy */
	uint32_t npairs;     /* a power of 2 */
	unsigned batch;	     /* AF_PACKET: frames per sendmmsg */
	int map_fd;	     /* live frames, tc clone: the pairs as an array map */
};

/* CPU time of this thread, ns: what the generator itself spends */
static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, unsigned n)
{
	double s[64];

	if (!n)
		return 0;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), dbl_cmp);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* CPU time (ns, from /proc/PID/schedstat) of the threaded-NAPI kernel
 * threads of dev ("napi/DEV-ID"); -1 when there are none. */
static int64_t napi_runtime_ns(const char *dev)
{
	char want[64], path[300], comm[64];
	struct dirent *de;
	int64_t sum = -1;
	DIR *d = opendir("/proc");

	if (!d)
		return -1;
	snprintf(want, sizeof(want), "napi/%s-", dev);
	while ((de = readdir(d))) {
		unsigned long long run;
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (strncmp(comm, want, strlen(want)))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/schedstat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &run) == 1)
			sum = (sum < 0 ? 0 : sum) + (int64_t)run;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/* Random destinations: each pair a random host of a random prefix of the
 * drop rule, so every far end drops every frame and every lookup is as
 * cold as the table's size makes it. */
static void pairs_random(struct gen *g, const struct space *sp, uint64_t *rng)
{
	for (uint32_t i = 0; i < g->npairs; i++) {
		v4_outside(sp, rng, g->pairs[i]);
		addr_in(sp->v4_drop[rng_next(rng) % sp->n_v4_drop], rng, g->pairs[i] + 4);
		g->inside[i] = 1;
	}
}

/* Realistic destinations (issue 11): a population of n addresses, half
 * inside the drop prefixes and half outside every prefix, in a random
 * order of rank; each pair's destination is drawn with P(rank k) ~ 1/k
 * (Zipf, s = 1), as ISP traffic concentrates on few destinations. Sources
 * stay random outside the policy. Returns the share of pairs whose
 * destination is inside the policy, or -errno. */
static double pairs_zipf(struct gen *g, const struct space *sp, uint64_t *rng, uint32_t n)
{
	uint32_t *addr = calloc(n, sizeof(*addr));
	uint8_t *inside = calloc(n, 1);
	double *cdf = calloc(n, sizeof(*cdf)), sum = 0;
	uint32_t in = 0;

	if (!addr || !inside || !cdf) {
		free(addr);
		free(inside);
		free(cdf);
		return -ENOMEM;
	}
	for (uint32_t k = 0; k < n; k++)
		inside[k] = k < n / 2;
	for (uint32_t k = n - 1; k > 0; k--) {
		uint32_t j = (uint32_t)(rng_next(rng) % (k + 1));
		uint8_t t = inside[k];

		inside[k] = inside[j];
		inside[j] = t;
	}
	for (uint32_t k = 0; k < n; k++) {
		if (inside[k])
			addr_in(sp->v4_drop[rng_next(rng) % sp->n_v4_drop], rng,
				(uint8_t *)&addr[k]);
		else
			v4_outside(sp, rng, (uint8_t *)&addr[k]);
		sum += 1.0 / (k + 1);
		cdf[k] = sum;
	}
	for (uint32_t i = 0; i < g->npairs; i++) {
		/* inverse CDF: the first rank whose cumulative weight
		 * reaches u */
		double u = (double)(rng_next(rng) >> 11) / 9007199254740992.0 * sum;
		uint32_t lo = 0, hi = n - 1;

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		v4_outside(sp, rng, g->pairs[i]);
		memcpy(g->pairs[i] + 4, &addr[lo], 4);
		g->inside[i] = inside[lo];
		in += inside[lo];
	}
	free(addr);
	free(inside);
	free(cdf);
	return (double)in / g->npairs;
}

/* Live frames: the pairs as an array map that the generator program reads. */
static int gen_live_setup(struct gen *g)
{
	g->map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench_pairs", 4, 8, g->npairs, NULL);
	if (g->map_fd < 0)
		return -errno;
	for (uint32_t i = 0; i < g->npairs; i++)
		if (bpf_map_update_elem(g->map_fd, &i, g->pairs[i], BPF_ANY))
			return -errno;
	return 0;
}

/* One short live-frames run: 0, -EPERM where the kernel refuses them (some
 * sandboxes deny them to root: no CAP_NET_ADMIN in the initial user
 * namespace), or another -errno. */
static int gen_live_run(const struct gen *g, int prog_fd, uint32_t repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = g->frame.buf,
		    .data_size_in = (uint32_t)g->frame.len, .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		    .repeat = repeat, .batch_size = 64);

	return bpf_prog_test_run_opts(prog_fd, &o) ? -errno : 0;
}

/* One tc-clone run of `repeat` frames: 0, or -errno (the test run refused;
 * a clone veth cannot take is dropped there and shows as refused). */
static int gen_clone_run(const struct gen *g, int prog_fd, uint32_t repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = g->frame.buf,
		    .data_size_in = (uint32_t)g->frame.len, .repeat = repeat);

	return bpf_prog_test_run_opts(prog_fd, &o) ? -errno : 0;
}

/* AF_PACKET: a raw socket bound to near for sending only (protocol 0:
 * nothing is received), past the qdisc layer so a frame goes from the
 * socket straight to veth_xmit. */
static int packet_socket(const char *near)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET};
	int fd, one = 1;

	sll.sll_ifindex = (int)if_nametoindex(near);
	if (!sll.sll_ifindex)
		return -ENODEV;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

#define GEN_MAX_BATCH 256

/* Send frames out of sock for `seconds`: batches of g->batch frames, each
 * with the next pairs of the table. Frames the far end cannot take are
 * dropped by veth (ring full) and show as sent but not handled; a send that
 * fails as a whole (ENOBUFS) counts its batch as not sent. Returns the
 * frames the kernel took, or -errno. */
static int64_t gen_packet_run(const struct gen *g, int sock, double seconds, uint64_t t0,
			      uint32_t *next)
{
	static uint8_t bufs[GEN_MAX_BATCH][128];
	static struct mmsghdr msgs[GEN_MAX_BATCH];
	static struct iovec iov[GEN_MAX_BATCH];
	uint64_t end = t0 + (uint64_t)(seconds * 1e9);
	size_t len = g->frame.len;
	int64_t sent = 0;
	uint32_t i = *next;

	for (unsigned b = 0; b < g->batch; b++) {
		memcpy(bufs[b], g->frame.buf, len);
		iov[b] = (struct iovec){.iov_base = bufs[b], .iov_len = len};
		msgs[b] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[b], .msg_iovlen = 1}};
	}
	do {
		int n;

		/* a clock read every 16 batches: a few ns a frame, not more */
		for (unsigned rep = 0; rep < 16; rep++) {
			for (unsigned b = 0; b < g->batch; b++, i++)
				memcpy(bufs[b] + 26, g->pairs[i & (g->npairs - 1)], 8);
			n = sendmmsg(sock, msgs, g->batch, 0);
			if (n < 0) {
				if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
					continue;
				return -errno;
			}
			sent += n;
		}
	} while (now_ns() < end);
	*next = i;
	return sent;
}

/* The table of the floor-verdict program attached to far: 1 at the entry
 * of each destination inside the policy, so that the program drops what a
 * filter of the policy would. A destination outside whose entry collides
 * with a marked one is dropped too (more often the smaller the table):
 * *marked gets the share of the pairs the program will drop, which the
 * run checks against what it dropped. */
static int mark_floor(const struct gen *g, const char *far, double *marked)
{
	int ifindex = (int)if_nametoindex(far), prog_fd = -1, map_fd = -1, err = 0;
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi = {};
	uint32_t ids[8], len = sizeof(pi), id = 0;
	const uint64_t one = 1;

	if (!ifindex || bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &id) || !id)
		return -ENOENT;
	prog_fd = bpf_prog_get_fd_by_id(id);
	if (prog_fd < 0)
		return -errno;
	pi.nr_map_ids = 8;
	pi.map_ids = (uint64_t)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &pi, &len)) {
		err = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < pi.nr_map_ids && i < 8 && map_fd < 0; i++) {
		int fd = bpf_map_get_fd_by_id(ids[i]);

		len = sizeof(mi);
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &len) &&
		    !strcmp(mi.name, "floor_tbl") && mi.value_size == sizeof(one))
			map_fd = fd;
		else if (fd >= 0)
			close(fd);
	}
	if (map_fd < 0) {
		err = -ENOENT;
		goto out;
	}
	for (uint32_t i = 0; i < g->npairs && !err; i++) {
		uint32_t k = bench_floor_index(g->pairs[i] + 4, 4, mi.max_entries);

		if (g->inside[i] && bpf_map_update_elem(map_fd, &k, &one, BPF_ANY))
			err = -errno;
	}
	*marked = 0;
	for (uint32_t i = 0; i < g->npairs && !err; i++) {
		uint32_t k = bench_floor_index(g->pairs[i] + 4, 4, mi.max_entries);
		uint64_t v = 0;

		if (bpf_map_lookup_elem(map_fd, &k, &v))
			err = -errno;
		*marked += v == one;
	}
	*marked /= g->npairs;
	close(map_fd);
out:
	close(prog_fd);
	return err;
}

static void print_json(const struct gen *g, const struct target *tg, unsigned ntg, double seconds,
		       unsigned rounds, const char *dst, uint32_t population, double inside,
		       double marked)
{
	printf("{\"generator\": \"%s\", \"destinations\": \"%s\", \"population\": %u, "
	       "\"inside_fraction\": %.4f, \"floor_marked_fraction\": %.4f, \"seconds\": %.2f, "
	       "\"rounds\": %u, \"addresses\": %u, "
	       "\"batch\": %u, \"frame_bytes\": %zu, \"targets\": {",
	       gen_names[g->kind], dst, population, inside, marked, seconds, rounds, g->npairs,
	       g->batch, g->frame.len);
	for (unsigned i = 0; i < ntg; i++) {
		printf("%s\"%s\": {\"far\": \"%s\", \"median_pps\": %.0f, "
		       "\"median_generated_pps\": %.0f, \"median_refused_fraction\": %.4f, "
		       "\"median_capacity_pps\": %.0f, \"median_napi_busy\": %.3f, "
		       "\"median_generator_ns_per_frame\": %.0f, "
		       "\"median_dropped_fraction\": %.4f, \"pps\": [",
		       i ? ", " : "", tg[i].name, tg[i].far, median(tg[i].pps, tg[i].n),
		       median(tg[i].sent_pps, tg[i].n), median(tg[i].refused, tg[i].n),
		       median(tg[i].cap, tg[i].n), median(tg[i].busy, tg[i].n),
		       median(tg[i].gen_ns, tg[i].n), median(tg[i].dropped, tg[i].n));
		for (unsigned r = 0; r < tg[i].n; r++)
			printf("%s%.0f", r ? ", " : "", tg[i].pps[r]);
		printf("], \"frames\": [");
		for (unsigned r = 0; r < tg[i].n; r++)
			printf("%s%lld", r ? ", " : "", (long long)tg[i].frames[r]);
		printf("], \"capacity_pps\": [");
		for (unsigned r = 0; r < tg[i].n; r++)
			printf("%s%.0f", r ? ", " : "", tg[i].cap[r]);
		printf("]}");
	}
	printf("}}\n");
}

static int live_gen(int argc, char **argv)
{
	static const struct option lo[] = {
		{"policy-dir", required_argument, NULL, 'p'},
		{"target", required_argument, NULL, 't'},
		{"seconds", required_argument, NULL, 's'},
		{"rounds", required_argument, NULL, 'r'},
		{"cpu", required_argument, NULL, 'c'},
		{"addrs", required_argument, NULL, 'a'},
		{"gen", required_argument, NULL, 'g'},
		{"dst", required_argument, NULL, 'd'},
		{"population", required_argument, NULL, 'n'},
		{"batch", required_argument, NULL, 'b'},
		{"mark", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = "build/bench-policy", *gen_arg = "auto", *dst = "random", *mark = NULL;
	struct target tg[8];
	unsigned ntg = 0, rounds = 3;
	uint32_t naddr = 0, population = 1000000, next = 0;
	double seconds = 3, inside = 1, marked = -1;
	int cpu = 0, c, rc = 1;
	char path[4096];
	struct policy pol;
	struct space sp;
	uint64_t rng = 0x1234567;
	struct gen g = {.batch = 64, .map_fd = -1};

	memset(tg, 0, sizeof(tg));
	memset(&sp, 0, sizeof(sp));
	for (unsigned i = 0; i < 8; i++)
		tg[i].prog_fd = tg[i].sock = -1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			dir = optarg;
			break;
		case 't':
			if (ntg == 8 || sscanf(optarg, "%31[^:]:%15[^:]:%15s", tg[ntg].name,
					       tg[ntg].near, tg[ntg].far) != 3) {
				fprintf(stderr, "--target NAME:NEAR:FAR (at most 8)\n");
				return 2;
			}
			ntg++;
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'r':
			rounds = (unsigned)atoi(optarg);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'a':
			naddr = (uint32_t)atoi(optarg);
			break;
		case 'g':
			gen_arg = optarg;
			break;
		case 'd':
			dst = optarg;
			break;
		case 'n':
			population = (uint32_t)atoi(optarg);
			break;
		case 'b':
			g.batch = (unsigned)atoi(optarg);
			break;
		case 'm':
			mark = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!naddr)
		naddr = strcmp(dst, "zipf") ? 65536 : 1u << 20;
	if (!ntg || rounds < 1 || rounds > 64 || (naddr & (naddr - 1)) ||
	    (strcmp(dst, "random") && strcmp(dst, "zipf")) || population < 2 ||
	    (strcmp(gen_arg, "auto") && strcmp(gen_arg, "live") && strcmp(gen_arg, "clone") &&
	     strcmp(gen_arg, "packet")) ||
	    g.batch < 1 || g.batch > GEN_MAX_BATCH) {
		fprintf(stderr,
			"live-gen: need --target, rounds 1..64, --addrs a power of 2, "
			"--dst random|zipf, --gen auto|live|clone|packet, --batch 1..%d\n",
			GEN_MAX_BATCH);
		return 2;
	}
	{
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			fprintf(stderr, "live-gen: cannot pin to CPU %d: %s\n", cpu,
				strerror(errno));
	}

	snprintf(path, sizeof(path), "%s/policy.yaml", dir);
	log_setup(0, false);
	if (policy_parse_file(path, &pol))
		return 1;
	if (space_build(&sp, &pol) || !sp.n_v4_drop) {
		fprintf(stderr, "live-gen: %s: no IPv4 drop prefixes\n", path);
		goto out_sp;
	}
	g.npairs = naddr;
	g.pairs = calloc(naddr, sizeof(*g.pairs));
	g.inside = calloc(naddr, 1);
	if (!g.pairs || !g.inside) {
		fprintf(stderr, "live-gen: out of memory\n");
		goto out_sp;
	}
	if (!strcmp(dst, "zipf")) {
		inside = pairs_zipf(&g, &sp, &rng, population);
		if (inside < 0) {
			fprintf(stderr, "live-gen: out of memory for the Zipf population\n");
			goto out_sp;
		}
	} else {
		pairs_random(&g, &sp, &rng);
	}

	if (mark) {
		int err = mark_floor(&g, mark, &marked);

		if (err) {
			fprintf(stderr,
				"live-gen: --mark %s (a floor-verdict program's table): %s\n", mark,
				strerror(-err));
			goto out_sp;
		}
	}

	/* The frame: a TCP SYN to port 80, 60 bytes. Its destination MAC is
	 * no far end's: a frame that a far end passes is dropped by its
	 * namespace's stack as "other host" at the first IP check, the same
	 * small cost for every far end that passes frames. The IPv4 header
	 * checksum goes stale with each rewrite: none of the far ends checks
	 * it before its verdict. */
	pkt_init(&g.frame);
	pkt_eth(&g.frame, "02:00:00:00:00:02", "02:00:00:00:00:01");
	pkt_ipv4(&g.frame, "198.18.0.1", "198.19.0.1", IPPROTO_TCP, NULL);
	pkt_tcp(&g.frame, 40000, 80, PKT_TCP_SYN, 1, 0);
	pkt_pad(&g.frame, 60);
	if (pkt_finish(&g.frame)) {
		fprintf(stderr, "live-gen: frame: %s\n", g.frame.errmsg);
		goto out_sp;
	}

	for (unsigned i = 0; i < ntg; i++) {
		if (ethtool_stat_sum(tg[i].far, "rx_queue_*_xdp_packets", 0) < 0) {
			fprintf(stderr, "live-gen: no ethtool xdp counters on %s\n", tg[i].far);
			goto out_tg;
		}
	}

	/* Live frames where the kernel allows them (the far ends get
	 * xdp_frames, nothing to convert); otherwise tc clones from a test
	 * run, or AF_PACKET: there each frame is an skb that the far end's
	 * veth copies into a page of its own before XDP runs (see live.sh). */
	g.kind = !strcmp(gen_arg, "packet")  ? GEN_PACKET
		 : !strcmp(gen_arg, "clone") ? GEN_CLONE
					     : GEN_LIVE;
	if (g.kind != GEN_PACKET) {
		int err = gen_live_setup(&g);

		if (err) {
			fprintf(stderr, "live-gen: pairs map: %s\n", strerror(-err));
			goto out_tg;
		}
	}
	while (g.kind != GEN_PACKET) {
		int err = 0;

		for (unsigned i = 0; !err && i < ntg; i++) {
			int ifi = (int)if_nametoindex(tg[i].near);

			if (tg[i].prog_fd >= 0)
				close(tg[i].prog_fd);
			tg[i].prog_fd = !ifi ? -ENODEV
					: g.kind == GEN_LIVE
						? gen_prog(g.map_fd, g.npairs - 1, ifi)
						: clone_prog(g.map_fd, g.npairs - 1, ifi);
			if (tg[i].prog_fd < 0)
				err = tg[i].prog_fd;
		}
		if (!err)
			err = g.kind == GEN_LIVE ? gen_live_run(&g, tg[0].prog_fd, 1)
						 : gen_clone_run(&g, tg[0].prog_fd, 1);
		if (!err)
			break;
		fprintf(stderr, "live-gen: %s: %s\n", gen_names[g.kind], strerror(-err));
		if (strcmp(gen_arg, "auto")) {
			rc = err == -EPERM ? 77 : 1;
			goto out_tg;
		}
		/* Some sandboxes refuse live frames to root (no CAP_NET_ADMIN
		 * in the initial user namespace): fall back, and say so. */
		g.kind++;
		fprintf(stderr, "live-gen: generating with %s\n", gen_names[g.kind]);
	}
	if (g.kind == GEN_PACKET) {
		for (unsigned i = 0; i < ntg; i++) {
			tg[i].sock = packet_socket(tg[i].near);
			if (tg[i].sock < 0) {
				fprintf(stderr, "live-gen: AF_PACKET socket on %s: %s\n",
					tg[i].near, strerror(-tg[i].sock));
				goto out_tg;
			}
		}
	}

	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned k = 0; k < ntg; k++) {
			/* rotate the order each round so no target always goes first */
			struct target *t = &tg[(k + r) % ntg];
			int64_t rx0, rx1, cpu0, cpu1, g0, g1, d0, d1, sent = 0;
			uint64_t t0, t1;

			usleep(200000); /* let the previous target's ring drain */
			rx0 = ethtool_stat_sum(t->far, "rx_queue_*_xdp_packets", 0);
			d0 = ethtool_stat_sum(t->far, "rx_queue_*_xdp_drops", 0);
			cpu0 = napi_runtime_ns(t->far);
			g0 = thread_cpu_ns();
			t0 = now_ns();
			if (g.kind == GEN_PACKET) {
				sent = gen_packet_run(&g, t->sock, seconds, t0, &next);
				if (sent < 0) {
					fprintf(stderr, "live-gen: send on %s: %s\n", t->near,
						strerror((int)-sent));
					goto out_tg;
				}
				t1 = now_ns();
			} else {
				do {
					int err = g.kind == GEN_LIVE
							  ? gen_live_run(&g, t->prog_fd, 1 << 18)
							  : gen_clone_run(&g, t->prog_fd, 1 << 14);

					if (err) {
						fprintf(stderr, "live-gen: %s: %s\n",
							gen_names[g.kind], strerror(-err));
						goto out_tg;
					}
					sent += g.kind == GEN_LIVE ? 1 << 18 : 1 << 14;
					t1 = now_ns();
				} while ((t1 - t0) < (uint64_t)(seconds * 1e9));
			}
			g1 = thread_cpu_ns();
			rx1 = ethtool_stat_sum(t->far, "rx_queue_*_xdp_packets", 0);
			d1 = ethtool_stat_sum(t->far, "rx_queue_*_xdp_drops", 0);
			cpu1 = napi_runtime_ns(t->far);
			t->gen_ns[t->n] = g0 >= 0 && g1 > g0 && sent > 0
						  ? (double)(g1 - g0) / (double)sent
						  : -1;
			/* capacity: frames per second of the far end's NAPI CPU
			 * time, i.e. the rate it would handle with a core of its
			 * own even when the generator cannot saturate it */
			t->cap[t->n] = cpu0 >= 0 && cpu1 > cpu0
					       ? (double)(rx1 - rx0) * 1e9 / (double)(cpu1 - cpu0)
					       : -1;
			t->busy[t->n] = cpu0 >= 0 ? (double)(cpu1 - cpu0) / (double)(t1 - t0) : -1;
			t->frames[t->n] = rx1 - rx0;
			t->dropped[t->n] = rx1 > rx0 && d0 >= 0 && d1 >= d0
						   ? (double)(d1 - d0) / (double)(rx1 - rx0)
						   : -1;
			t->pps[t->n] = (double)(rx1 - rx0) * 1e9 / (double)(t1 - t0);
			t->sent_pps[t->n] = (double)sent * 1e9 / (double)(t1 - t0);
			/* refused: sent, never run through the far end's XDP
			 * (its ring was full) */
			t->refused[t->n] = sent > 0 ? 1.0 - (double)(rx1 - rx0) / (double)sent : -1;
			fprintf(stderr,
				"live-gen: round %u %-8s far %s: %.3f Mpps handled, NAPI busy "
				"%.0f %% -> capacity %.3f Mpps (%.0f ns/frame); generated %.3f "
				"Mpps (%.0f ns of generator CPU a frame), refused %.1f %%\n",
				r + 1, t->name, t->far, t->pps[t->n] / 1e6, t->busy[t->n] * 100,
				t->cap[t->n] / 1e6, t->cap[t->n] > 0 ? 1e9 / t->cap[t->n] : -1,
				t->sent_pps[t->n] / 1e6, t->gen_ns[t->n], t->refused[t->n] * 100);
			t->n++;
		}
	}
	print_json(&g, tg, ntg, seconds, rounds, dst, population, inside, marked);
	rc = 0;
out_tg:
	for (unsigned i = 0; i < ntg; i++) {
		if (tg[i].prog_fd >= 0)
			close(tg[i].prog_fd);
		if (tg[i].sock >= 0)
			close(tg[i].sock);
	}
	if (g.map_fd >= 0)
		close(g.map_fd);
out_sp:
	free(g.pairs);
	free(g.inside);
	space_free(&sp);
	policy_free(&pol);
	return rc;
}

static int live_stats(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "--dev")) {
		fprintf(stderr, "usage: tapis-bench live-stats --dev IF\n");
		return 2;
	}
	return ethtool_stat_sum(argv[2], NULL, 1) < 0 ? 1 : 0;
}

int live_main(int argc, char **argv)
{
	libbpf_set_print(NULL);
	if (!strcmp(argv[0], "live-attach"))
		return live_attach(argc, argv);
	if (!strcmp(argv[0], "live-gen"))
		return live_gen(argc, argv);
	if (!strcmp(argv[0], "live-stats"))
		return live_stats(argc, argv);
	fprintf(stderr, "tapis-bench: unknown command %s (live-attach, live-gen, live-stats)\n",
		argv[0]);
	return 2;
}
