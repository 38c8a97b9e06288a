/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers the C tests share: formatted strings, shell commands, cleanup. */
#ifndef IMGFS_TESTUTIL_H
#define IMGFS_TESTUTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "tap.h"
#include "attach.h"
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

/* A small deterministic generator (xorshift64); each test seeds its own state. */
static inline uint64_t xorshift64(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static inline void fill_random(uint64_t *state, char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(xorshift64(state) >> 24);
}

/*
 * Open the image at @path as imgfs-mount would (probe, then the backend
 * for its type).  On failure nothing is left open and @err says why.
 */
static inline int test_open_fs(const char *path, struct imgfs_image **image,
			       struct imgfs_fs **fs, struct imgfs_error *err)
{
	struct imgfs_image_options opts = { 0 };
	int r = imgfs_image_open(path, &opts, image, err);

	if (r < 0)
		return r;
	r = imgfs_fs_open(*image, fs, err);
	if (r < 0) {
		imgfs_image_close(*image);
		*image = NULL;
	}
	return r;
}

/*
 * Open the ext4 image file at @path read-write straight through the
 * backend, as imgfs-server does with the descriptors it is given (no
 * probe, no exclusive-use claim).  On failure nothing is left open and
 * one diagnostic says why.
 */
static inline int test_open_ext4_rw(const char *path, struct imgfs_image **img,
				    struct imgfs_fs **fs)
{
	struct imgfs_error err = { 0 };
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat st;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0)
		abort();
	r = imgfs_image_from_fd(fd, -1, path, 0, (uint64_t)st.st_size, "ext4", true, img, &err);
	if (r < 0) {
		close(fd);
		diag("%s: %s", path, err.msg);
		return r;
	}
	r = imgfs_fs_open(*img, fs, &err);
	if (r < 0) {
		diag("%s: %s", path, err.msg);
		imgfs_image_close(*img);
		return r;
	}
	return 0;
}

/*
 * As root, go on in a mount namespace of our own: run this test again,
 * from the start, through tests/private-ns.sh, the one way the tests get
 * one (mounts made there reach no other namespace, and other tests' loop
 * and FUSE mounts copied into it are let go of).  Call it first in main(),
 * before any output or scratch file (the test takes no arguments).  True
 * once inside; false if not root or no namespace can be made (the
 * kernel's view is not to be had then).
 */
static inline bool private_mounts(void)
{
	static const char marker[] = "IMGFS_TEST_PRIVATE_NS";
	char self[PATH_MAX];
	ssize_t len;

	if (getenv(marker)) {
		unsetenv(marker);
		return true;
	}
	if (geteuid() != 0 || run("unshare -m --propagation private true") != 0)
		return false;
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return false;
	self[len] = '\0';
	setenv(marker, "1", 1);
	fflush(stdout);
	execl("/bin/sh", "sh", IMGFS_SRCDIR "/tests/private-ns.sh", self, (char *)NULL);
	unsetenv(marker);
	return false;
}

/*
 * Mount @img read-write at @mnt, run the shell script @script in it (with
 * set -e), unmount, whatever the script did; 0 if all of it worked.  For
 * a test in a namespace of its own (private_mounts).
 */
static inline int populate_mounted(const char *img, const char *mnt, const char *script)
{
	return run("mount -o loop '%s' '%s' || exit 1; (cd '%s' && sh -e '%s'); r=$?; "
		   "umount '%s' || r=1; exit $r", img, mnt, mnt, script, mnt);
}

#endif
