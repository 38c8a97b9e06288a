/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An image: an open file or block device and the byte range inside it that
 * holds one filesystem.  The helper opens it with the caller's credentials;
 * the server only ever receives the descriptor.
 */
#ifndef IMGFS_IMAGE_H
#define IMGFS_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define IMGFS_FSTYPE_MAX 16

struct imgfs_image {
	int fd;			/* image file or block device: metadata reads */
	/*
	 * A second open file description of the same image, for file data.
	 * The kernel keeps readahead state per description; sequential data
	 * reads interleaved with scattered metadata reads on one description
	 * look random to it and lose readahead.  Never -1 once open.
	 */
	int data_fd;
	uint64_t offset;	/* byte offset of the filesystem */
	uint64_t size;		/* bytes of filesystem from offset */
	bool block_device;
	bool writable;
	char fstype[IMGFS_FSTYPE_MAX];	/* as probed: ext2, ext3, ext4, xfs */
	char *path;		/* for messages only; never reopened */
};

struct imgfs_image_options {
	bool writable;
	bool has_offset;
	uint64_t offset;	/* byte offset, with has_offset */
	unsigned partition;	/* 1-based partition number, 0 = none */
	const char *fstype;	/* "auto" or NULL to probe, else required type */
};

/*
 * Apply one -o KEY[=VALUE] that locates the filesystem: offset=, partition=
 * or type=.  Returns 0 when applied, 1 when @key is none of these (the
 * caller's own option), or -EINVAL with the reason in @err.
 */
int imgfs_image_parse_option(const char *key, const char *val, struct imgfs_image_options *o,
			     struct imgfs_error *err);

/* After all options: reject combinations that exclude each other. */
int imgfs_image_check_options(const struct imgfs_image_options *o, struct imgfs_error *err);

/* Open @path, locate the filesystem and probe its type. */
int imgfs_image_open(const char *path, const struct imgfs_image_options *opts,
		     struct imgfs_image **out, struct imgfs_error *err);

/*
 * Wrap the descriptors received from the helper (the server's side):
 * @data_fd must be another open file description of @fd's image, or -1 to
 * share @fd; @name is the image's path, used in messages only.
 */
int imgfs_image_from_fd(int fd, int data_fd, const char *name, uint64_t offset,
			uint64_t size, const char *fstype, bool writable,
			struct imgfs_image **out, struct imgfs_error *err);

void imgfs_image_close(struct imgfs_image *img);

/* Read @len bytes at filesystem byte @pos, bounds-checked against the image. */
int imgfs_image_pread(const struct imgfs_image *img, void *buf, size_t len, uint64_t pos);

static inline void imgfs_image_closep(struct imgfs_image **img)
{
	if (*img)
		imgfs_image_close(*img);
}
#define _cleanup_image_ _cleanup_(imgfs_image_closep)

/* True for the filesystem types some backend serves. */
bool imgfs_fstype_supported(const char *fstype);

#endif
