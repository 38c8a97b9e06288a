/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exclusive use of an image, the helper's side: refuse a mount that would
 * share the filesystem with a writer (or, read-write, with anyone), and
 * name the holder.  Everything runs with the caller's own rights, rootless
 * included: it reads /proc/self/mountinfo and /sys, and locks the image.
 *
 * What counts as a user of the filesystem's byte range in the image:
 *   - another imgfs mount: an OFD lock on the descriptor the server keeps,
 *     F_WRLCK read-write and F_RDLCK read-only, over the filesystem's range
 *     (two partitions of one disk image are two filesystems);
 *   - the kernel: a mount of the block device (or one of its partitions),
 *     a loop device backed by the image file, mounted or not;
 *   - md, dm or any program that opened the block device with O_EXCL
 *     (read-write mounts open it so themselves).
 */
#ifndef IMGFS_EXCLUSIVE_H
#define IMGFS_EXCLUSIVE_H

#include <sys/types.h>

#include "image.h"
#include "util.h"

/*
 * Claim @img (open, located, probed) for a mount of its writability:
 * check the kernel's users and take the OFD lock on img->fd, which lives
 * exactly as long as the last holder of that open file description (the
 * server).  0, or -EBUSY (or another -errno) with one line in @err.
 */
int imgfs_exclusive_claim(const struct imgfs_image *img, struct imgfs_error *err);

/*
 * An open of block device @path with O_EXCL failed with EBUSY: fill @err
 * naming the holder as well as can be told, and return -EBUSY.
 */
int imgfs_exclusive_busy(const char *path, struct imgfs_error *err);

#endif
