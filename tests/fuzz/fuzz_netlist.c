// SPDX-License-Identifier: GPL-2.0
/* fuzz_netlist.c - a net list (one IPv4 or IPv6 CIDR a line). */
#include "fuzz_list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_list("version: 1\n"
		  "rules:\n"
		  "  - name: strict\n"
		  "    action: drop\n"
		  "    net_lists: [l1]\n"
		  "  - name: lenient\n"
		  "    action: allow\n"
		  "    direction: both\n"
		  "    net_lists: [{path: l1, on_error: skip}]\n",
		  data, size);
	return 0;
}
