/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers the C tests share: formatted strings, shell commands, cleanup. */
#ifndef IMGFS_TESTUTIL_H
#define IMGFS_TESTUTIL_H

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "util.h"

/* A malloc'ed formatted string; tests abort on allocation failure. */
__attribute__((format(printf, 1, 2)))
static inline char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

/* Run a shell command quietly; returns its exit status (128: killed). */
__attribute__((format(printf, 1, 2)))
static inline int run(const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL, *full = NULL;
	va_list ap;
	int st;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	full = xasprintf("(%s) >/dev/null 2>&1", cmd);
	st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The standard output of a shell command, malloc'ed and NUL-terminated. */
__attribute__((format(printf, 1, 2)))
static inline char *capture(const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	char *buf = NULL;
	size_t len = 0;
	va_list ap;
	FILE *f, *out;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	f = popen(cmd, "r");
	out = open_memstream(&buf, &len);
	if (!f || !out)
		abort();
	for (int c; (c = fgetc(f)) != EOF;)
		fputc(c, out);
	pclose(f);
	fclose(out);
	return buf;
}

static inline int testutil_rm_entry(const char *p, const struct stat *st, int flag,
				    struct FTW *ftw)
{
	return remove(p);
}

/* rm -rf @path, without following links. */
static inline void rm_tree(const char *path)
{
	nftw(path, testutil_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
