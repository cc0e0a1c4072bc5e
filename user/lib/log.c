// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

static int g_verbosity;
static bool g_json;
static int g_muted; /* log_mute */

/* libbpf and libxdp are chatty about things tapis already handles (a
 * missing pin, the dispatcher fallback): their lines show only with -v. */
static int lib_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (g_verbosity < 2 && level != LIBBPF_WARN)
		return 0;
	if (g_verbosity < 1)
		return 0;
	fputs("tapis: lib: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return lib_print((enum libbpf_print_level)level, fmt, ap);
}

void log_setup(int verbosity, bool json)
{
	g_verbosity = verbosity;
	g_json = json;
	libbpf_set_print(lib_print);
	libxdp_set_print(xdp_print);
}

void log_mute(bool on)
{
	g_muted += on ? 1 : -1;
}

bool log_json(void)
{
	return g_json;
}

static void json_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char buf[2048];
	va_list ap;

	if (g_muted > 0)
		lvl = LOG_DEBUG;
	if ((int)lvl > LOG_WARN + g_verbosity)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (g_json && lvl == LOG_ERR) {
		/* Scripts parse stdout: errors come as one JSON object. */
		fputs("{\"error\": \"", stdout);
		json_escape(stdout, buf);
		fputs("\"}\n", stdout);
		fflush(stdout);
		return;
	}
	fprintf(stderr, "tapis: %s: %s\n", names[lvl], buf);
}
