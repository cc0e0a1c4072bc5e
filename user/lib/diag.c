// SPDX-License-Identifier: GPL-2.0
/* The policy diagnostics stream (diag.h). */
#include "diag.h"
#include "policy.h"

static FILE *stream;

void policy_set_diag(void *file)
{
	stream = file;
}

FILE *diag_stream(void)
{
	return stream ? stream : stderr;
}

void vdiag(const char *file, unsigned line, const char *kind, const char *fmt, va_list ap)
{
	FILE *f = diag_stream();

	if (line)
		fprintf(f, "%s:%u: %s: ", file, line, kind);
	else
		fprintf(f, "%s: %s: ", file, kind);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
}

void diag(const char *file, unsigned line, const char *kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(file, line, kind, fmt, ap);
	va_end(ap);
}
