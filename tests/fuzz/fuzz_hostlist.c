// SPDX-License-Identifier: GPL-2.0
/* fuzz_hostlist.c - a host list (names, or hosts-file lines "0.0.0.0 name"). */
#include "fuzz_list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_list("version: 1\n"
		  "rules:\n"
		  "  - name: strict\n"
		  "    action: drop\n"
		  "    host_lists: [l1]\n"
		  "  - name: lenient\n"
		  "    action: monitor\n"
		  "    host_lists: [{path: l1, on_error: skip}]\n",
		  data, size);
	return 0;
}
