// SPDX-License-Identifier: GPL-2.0
/* The policy diagnostics stream (diag.h). */
#include <limits.h>
#include <stdio.h>

#include "diag.h"
#include "output.h"
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
	char msg[1024], safe[4 * sizeof(msg)], where[PATH_MAX + 32], safe_where[4 * sizeof(where)];

	/* Messages quote what the files hold: escaped, so that a byte from a
	 * list cannot drive the terminal, and so that JSON output stays
	 * valid UTF-8. */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line)
		snprintf(where, sizeof(where), "%s:%u", file, line);
	else
		snprintf(where, sizeof(where), "%s", file);
	fprintf(f, "%s: %s: %s\n", safe_text(where, safe_where, sizeof(safe_where)), kind,
		safe_text(msg, safe, sizeof(safe)));
}

void diag(const char *file, unsigned line, const char *kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(file, line, kind, fmt, ap);
	va_end(ap);
}
