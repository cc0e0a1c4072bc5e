/* SPDX-License-Identifier: GPL-2.0 */
/*
 * diag.h - the one stream a policy's diagnostics go to, whichever stage
 * finds them: the parser, the compiler, the redirect-interface check. Each
 * is one line, "FILE:LINE: error: ..." or "FILE: warning: ..." (line 0),
 * on stderr unless policy_set_diag (policy.h) chose another stream (the
 * CLI's --json capture, the unit tests). Internal to the library.
 */
#ifndef TAPIS_DIAG_H
#define TAPIS_DIAG_H

#include <stdarg.h>
#include <stdio.h>

/* The stream in use. */
FILE *diag_stream(void);

void vdiag(const char *file, unsigned line, const char *kind, const char *fmt, va_list ap);
void diag(const char *file, unsigned line, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
