/* SPDX-License-Identifier: GPL-2.0-or-later */
/* File data for READ replies and pushes, planned by the mapping engine. */
#ifndef IMGFS_FUSE_READ_H
#define IMGFS_FUSE_READ_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "fs.h"

/* The size of @ino, which must be a regular file (reads and seeks). */
int imgfs_regular_file_size(struct imgfs_fs *fs, uint64_t ino, uint64_t *isize);

/*
 * Plan the read of [@off, @off + @size) of regular file @ino into a
 * bufvec: mapped ranges as ranges of the descriptors the engine names,
 * zeros and inline data from memory.  *@bv and *@mem must be freed by the
 * caller.  Returns the file size in *@isize.
 */
int imgfs_fuse_plan_read(struct imgfs_fs *fs, uint64_t ino, uint64_t off, size_t size,
			 struct fuse_bufvec **bv, void **mem, uint64_t *isize);

#endif
