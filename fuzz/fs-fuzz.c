/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the filesystem readers.
 *
 * A whole image is too big to mutate usefully, but a small filesystem keeps
 * its metadata near the start: superblock, group or AG headers, the first
 * inodes, the root directory.  So each input replaces the first bytes of a
 * base image (IMGFS_FUZZ_BASE, made by the test), or the bytes from
 * IMGFS_FUZZ_OFFSET on (an XFS log, checked at open), and the result is opened
 * and walked as the FUSE server would walk it: lookups, getattr, readdir
 * (also resumed midway), readlink, every xattr, file data through iomap.
 * A walk is bounded in inodes, entries and bytes, so a corrupt image that
 * loops is a slow input, never a hang.  Errors are the expected outcome;
 * a crash, a sanitizer report or a leak is a finding.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "fs.h"
#include "attach.h"
#include "iomap.h"

#define MAX_INODES 512
#define MAX_ENTRIES 4096
#define MAX_READ (256u << 10)

static char *base;
static size_t base_size;
static size_t fuzz_offset;	/* where inputs go in the image */
static int image_fd = -1;
static char image_path[64];
static bool verbose;

struct walk {
	struct imgfs_fs *fs;
	uint64_t queue[MAX_INODES];
	size_t queued, done, entries;
	uint64_t dir, resume;	/* readdir: the directory, and a position met midway */
};

/* Walked once: a name that leads back (to the root, say) adds nothing new. */
static bool queued(const struct walk *w, uint64_t ino)
{
	for (size_t i = 0; i < w->queued; i++)
		if (w->queue[i] == ino)
			return true;
	return false;
}

static int fill(void *ctx, const struct imgfs_dirent *de)
{
	struct walk *w = ctx;
	uint64_t ino;

	if (++w->entries > MAX_ENTRIES)
		return 1;
	if (w->entries % 7 == 3)
		w->resume = de->next;
	if ((de->namelen == 1 && de->name[0] == '.') ||
	    (de->namelen == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	/* The name must look up to what readdir said; either may fail cleanly. */
	if (de->namelen < 256 && w->fs->ops->lookup(w->fs, w->dir, de->name, de->namelen, &ino) == 0 &&
	    w->queued < MAX_INODES && !queued(w, ino))
		w->queue[w->queued++] = ino;
	return 0;
}

static void visit_xattrs(struct imgfs_fs *fs, uint64_t ino)
{
	char names[4096], value[65536];
	size_t len, vlen;

	if (fs->ops->listxattr(fs, ino, names, sizeof(names), &len) < 0 || len > sizeof(names))
		return;
	for (size_t off = 0; off < len;) {
		size_t n = strnlen(names + off, len - off);

		if (n == len - off)
			break;	/* unterminated: the backend's bug, caught by ASan if it overran */
		fs->ops->getxattr(fs, ino, names + off, value, sizeof(value), &vlen);
		fs->ops->getxattr(fs, ino, names + off, NULL, 0, &vlen);
		off += n + 1;
	}
}

static void visit(struct walk *w, uint64_t ino)
{
	struct imgfs_fs *fs = w->fs;
	static char buf[MAX_READ];
	struct stat st;
	size_t len;

	if (fs->ops->getattr(fs, ino, &st) < 0)
		return;
	visit_xattrs(fs, ino);
	if (S_ISDIR(st.st_mode)) {
		w->dir = ino;
		w->resume = 0;
		if (fs->ops->readdir(fs, ino, 0, fill, w) == 0 && w->resume)
			fs->ops->readdir(fs, ino, w->resume, fill, w);
	} else if (S_ISLNK(st.st_mode)) {
		fs->ops->readlink(fs, ino, buf, 4096, &len);
	} else if (S_ISREG(st.st_mode)) {
		uint64_t size = (uint64_t)st.st_size;

		imgfs_iomap_read(fs, ino, size, buf, sizeof(buf), 0);
		if (size > sizeof(buf))
			imgfs_iomap_read(fs, ino, size, buf, 4096, size - 4096);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("IMGFS_FUZZ_BASE");
	struct stat st;
	int fd;

	(void)argc;
	(void)argv;
	/* IMGFS_FUZZ_VERBOSE: the readers' messages and each walk's size, to study an input. */
	verbose = getenv("IMGFS_FUZZ_VERBOSE") != NULL;
	imgfs_log_setup("fs-fuzz", verbose ? IMGFS_LOG_DEBUG : IMGFS_LOG_NONE, false);
	if (!path || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "fs-fuzz: set IMGFS_FUZZ_BASE to a small filesystem image\n");
		exit(2);
	}
	base_size = (size_t)st.st_size;
	if (getenv("IMGFS_FUZZ_OFFSET"))
		fuzz_offset = strtoull(getenv("IMGFS_FUZZ_OFFSET"), NULL, 0);
	if (fuzz_offset >= base_size) {
		fprintf(stderr, "fs-fuzz: IMGFS_FUZZ_OFFSET lies beyond the base image\n");
		exit(2);
	}
	base = malloc(base_size);
	if (!base || read_full(fd, base, base_size, 0) < 0) {
		fprintf(stderr, "fs-fuzz: cannot read %s\n", path);
		exit(2);
	}
	close(fd);
	image_fd = memfd_create("imgfs-fuzz-image", MFD_CLOEXEC);
	if (image_fd < 0 || write_all(image_fd, base, base_size) < 0) {
		fprintf(stderr, "fs-fuzz: memfd: %s\n", strerror(errno));
		exit(2);
	}
	snprintf(image_path, sizeof(image_path), "/proc/self/fd/%d", image_fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct imgfs_image_options opts = { 0 };
	struct imgfs_image *img = NULL;
	struct imgfs_fs *fs = NULL;
	struct imgfs_error err;
	size_t n = size < base_size - fuzz_offset ? size : base_size - fuzz_offset;
	struct walk w = { 0 };

	if (pwrite(image_fd, data, n, (off_t)fuzz_offset) != (ssize_t)n)
		abort();
	if (imgfs_image_open(image_path, &opts, &img, &err) == 0 &&
	    imgfs_fs_open(img, &fs, &err) == 0) {
		w.fs = fs;
		w.queue[w.queued++] = fs->root_ino;
		while (w.done < w.queued && w.entries <= MAX_ENTRIES)
			visit(&w, w.queue[w.done++]);
		imgfs_fs_close(fs);
		if (verbose)
			fprintf(stderr, "fs-fuzz: walked %zu inodes, %zu entries\n", w.done, w.entries);
	} else if (verbose) {
		fprintf(stderr, "fs-fuzz: %s\n", err.msg);
	}
	if (img)
		imgfs_image_close(img);
	/* Back to the base image for the next input. */
	if (pwrite(image_fd, base + fuzz_offset, n, (off_t)fuzz_offset) != (ssize_t)n)
		abort();
	return 0;
}
