// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_listen.c - serve_parse_listen, `tapis serve --listen ADDR:PORT`
 * ("[IPv6]:PORT" for IPv6). Numeric only: nothing is resolved. What parses
 * is an address of the family its form says, on the port written.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "serve.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	struct sockaddr_storage ss;
	socklen_t len = 0;
	const char *colon;
	long port;

	if (serve_parse_listen(s, &ss, &len) == 0) {
		colon = strrchr(s, ':');
		FUZZ_CHECK(colon);
		port = strtol(colon + 1, NULL, 10);
		if (s[0] == '[') {
			FUZZ_CHECK(ss.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6));
			FUZZ_CHECK(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == port);
		} else {
			FUZZ_CHECK(ss.ss_family == AF_INET && len == sizeof(struct sockaddr_in));
			FUZZ_CHECK(ntohs(((struct sockaddr_in *)&ss)->sin_port) == port);
		}
		FUZZ_CHECK(port >= 1 && port <= 65535);
	}
	free(s);
	return 0;
}
