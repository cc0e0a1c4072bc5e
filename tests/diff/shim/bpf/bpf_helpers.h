/* SPDX-License-Identifier: GPL-2.0 */
/* The differential test's stand-in for libbpf's bpf_helpers.h: what the
 * header-only stages in bpf/ need to compile for user space as the
 * reference (tests/diff/ref.c). Found before the system header because
 * tests/diff/shim comes first on the include path of ref.c only.
 *
 * Map declarations keep libbpf's shape (a struct of typed pointers), so
 * the reference can tell the maps apart by their address. Helpers become
 * calls into ref.c, by macro: a function named bpf_map_lookup_elem would
 * take the place of libbpf's in the same program. */
#ifndef TAPIS_DIFF_SHIM_BPF_HELPERS_H
#define TAPIS_DIFF_SHIM_BPF_HELPERS_H

#include <linux/bpf.h>
#include <linux/types.h>

#define __uint(name, val)  int(*name)[val]
#define __type(name, val)  __typeof__(val) *name
#define __array(name, val) __typeof__(val) *name[]
#define SEC(name)
/* The reference's load-time constants are set by ref_init() from the
 * kernel's maps: writable here (bpf/maps.bpf.h). */
#define TAPIS_LOAD_CONST   volatile
#define LIBBPF_PIN_BY_NAME 1
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#define barrier_var(var) __asm__ volatile("" : "=r"(var) : "0"(var))

struct xdp_md;

void *ref_map_lookup(const void *map, const void *key);
long ref_xdp_load_bytes(struct xdp_md *ctx, __u32 off, void *buf, __u32 len);
long ref_xdp_store_bytes(struct xdp_md *ctx, __u32 off, const void *buf, __u32 len);
long ref_xdp_adjust_head(struct xdp_md *ctx, int delta);
long ref_xdp_adjust_tail(struct xdp_md *ctx, int delta);
long ref_redirect(__u32 ifindex, __u64 flags);
__u64 ref_ktime_tai_ns(void);
__u64 ref_ktime_ns(void);
__u64 ref_jiffies64(void);
long ref_loop(__u32 n, long (*fn)(__u32 idx, void *ctx), void *ctx, __u64 flags);
void *ref_ringbuf_reserve(const void *map, __u64 size, __u64 flags);
void ref_ringbuf_submit(void *data, __u64 flags);

#define bpf_map_lookup_elem(map, key)		ref_map_lookup((map), (key))
#define bpf_xdp_load_bytes(ctx, off, buf, len)	ref_xdp_load_bytes((ctx), (off), (buf), (len))
#define bpf_xdp_store_bytes(ctx, off, buf, len) ref_xdp_store_bytes((ctx), (off), (buf), (len))
#define bpf_xdp_adjust_head(ctx, delta)		ref_xdp_adjust_head((ctx), (delta))
#define bpf_xdp_adjust_tail(ctx, delta)		ref_xdp_adjust_tail((ctx), (delta))
#define bpf_redirect(ifindex, flags)		ref_redirect((ifindex), (flags))
#define bpf_ktime_get_tai_ns()			ref_ktime_tai_ns()
#define bpf_ktime_get_ns()			ref_ktime_ns()
#define bpf_ktime_get_coarse_ns()		ref_ktime_ns()
#define bpf_jiffies64()				ref_jiffies64()
#define bpf_loop(n, fn, ctx, flags)		ref_loop((n), (fn), (ctx), (flags))
#define bpf_ringbuf_reserve(map, size, flags)	ref_ringbuf_reserve((map), (size), (flags))
#define bpf_ringbuf_submit(data, flags)		ref_ringbuf_submit((data), (flags))

#endif
