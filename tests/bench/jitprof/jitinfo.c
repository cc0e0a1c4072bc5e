// SPDX-License-Identifier: GPL-2.0
/* jitinfo: a loaded BPF program's JIT image and line table, for profiling
 * where no bpftool with libbfd is at hand (Debian 12's cannot dump jited
 * code, and perf cannot annotate BPF without it).
 *
 *   jitinfo PROG_ID IMAGE_FILE > TABLE
 *
 * IMAGE_FILE gets the JIT image, every subprogram one after the other.
 * TABLE has one "F <kernel address> <length> <offset in image>" line per
 * subprogram and one "L <kernel address> <file>:<line> <source>" line per
 * line-info record, from the program's BTF: jitprof.py maps perf's sample
 * addresses to source lines and instructions with them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

static int die(const char *what)
{
	fprintf(stderr, "jitinfo: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct bpf_prog_info info = {}, want = {};
	__u32 len = sizeof(info), i;
	struct bpf_line_info *li;
	unsigned long long off = 0;
	unsigned char *img;
	struct btf *btf;
	__u32 *flen;
	__u64 *ks, *jli;
	FILE *o;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: jitinfo PROG_ID IMAGE_FILE > TABLE\n");
		return 2;
	}
	fd = bpf_prog_get_fd_by_id((__u32)strtoul(argv[1], NULL, 10));
	if (fd < 0)
		return die("program");
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return die("program info");
	if (!info.jited_prog_len || !info.nr_jited_ksyms) {
		fprintf(stderr, "jitinfo: program %s is not JIT-compiled\n", argv[1]);
		return 1;
	}
	ks = calloc(info.nr_jited_ksyms, sizeof(*ks));
	flen = calloc(info.nr_jited_func_lens, sizeof(*flen));
	img = malloc(info.jited_prog_len);
	li = calloc(info.nr_line_info ?: 1, info.line_info_rec_size ?: 1);
	jli = calloc(info.nr_jited_line_info ?: 1, info.jited_line_info_rec_size ?: 1);
	if (!ks || !flen || !img || !li || !jli)
		return die("memory");
	if (info.nr_jited_line_info && info.jited_line_info_rec_size != sizeof(*jli)) {
		fprintf(stderr, "jitinfo: unknown jited line info record size %u\n",
			info.jited_line_info_rec_size);
		return 1;
	}
	want.nr_jited_ksyms = info.nr_jited_ksyms;
	want.jited_ksyms = (__u64)(unsigned long)ks;
	want.nr_jited_func_lens = info.nr_jited_func_lens;
	want.jited_func_lens = (__u64)(unsigned long)flen;
	want.jited_prog_len = info.jited_prog_len;
	want.jited_prog_insns = (__u64)(unsigned long)img;
	want.nr_line_info = info.nr_line_info;
	want.line_info_rec_size = info.line_info_rec_size;
	want.line_info = (__u64)(unsigned long)li;
	want.nr_jited_line_info = info.nr_jited_line_info;
	want.jited_line_info_rec_size = info.jited_line_info_rec_size;
	want.jited_line_info = (__u64)(unsigned long)jli;
	len = sizeof(want);
	if (bpf_obj_get_info_by_fd(fd, &want, &len))
		return die("program info (second read)");
	o = fopen(argv[2], "w");
	if (!o || fwrite(img, 1, want.jited_prog_len, o) != want.jited_prog_len || fclose(o))
		return die(argv[2]);
	btf = btf__load_from_kernel_by_id(info.btf_id);
	for (i = 0; i < want.nr_jited_ksyms && i < want.nr_jited_func_lens; i++) {
		printf("F\t%llx\t%u\t%llu\n", (unsigned long long)ks[i], flen[i], off);
		off += flen[i];
	}
	for (i = 0; i < want.nr_line_info && i < want.nr_jited_line_info; i++) {
		const struct bpf_line_info *l =
			(const void *)((const char *)li + (size_t)i * want.line_info_rec_size);
		const char *file = btf ? btf__name_by_offset(btf, l->file_name_off) : NULL;
		const char *src = btf ? btf__name_by_offset(btf, l->line_off) : NULL;
		const char *base = file ? strrchr(file, '/') : NULL;

		printf("L\t%llx\t%s:%u\t%s\n", (unsigned long long)jli[i],
		       base   ? base + 1
		       : file ? file
			      : "?",
		       BPF_LINE_INFO_LINE_NUM(l->line_col), src ? src : "");
	}
	return 0;
}
