// SPDX-License-Identifier: GPL-2.0
/* The baseline for `make bench` and the peer program the lab puts on veth
 * ends (frames sent with XDP_TX/XDP_REDIRECT reach a veth peer only when the
 * peer runs XDP). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx __attribute__((unused)))
{
	return XDP_PASS;
}
