/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opening an image for a mount, the helper's side: the caller's own
 * rights, the filesystem's place (whole image, partition, byte offset)
 * and its type, probed with libblkid.
 */
#ifndef IMGFS_ATTACH_H
#define IMGFS_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

#include "image.h"
#include "util.h"

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

#endif
