/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE device's ioctls that the seccomp policy names, as kernel uapi:
 * for fuse/, which makes them, and for sandbox/, which allows them by
 * name.  Here rather than in fuse/ so that the sandbox does not depend on
 * the FUSE code.  <linux/fuse.h> supplies what it has; the experimental
 * iomap ioctls stay in fuse/fuse_iomap.h until the policy allows one.
 */
#ifndef IMGFS_FUSE_DEV_H
#define IMGFS_FUSE_DEV_H

#include <assert.h>
#include <stdint.h>
#include <linux/fuse.h>
#include <linux/ioctl.h>

/* Kernel headers from 6.9 on have these two (passthrough came first). */
#ifndef FUSE_DEV_IOC_BACKING_OPEN
struct fuse_backing_map {
	int32_t fd;
	uint32_t flags;		/* FUSE_BACKING_TYPE_* */
	uint64_t padding;
};
#define FUSE_DEV_IOC_BACKING_OPEN	_IOW(FUSE_DEV_IOC_MAGIC, 1, struct fuse_backing_map)
#endif

static_assert(sizeof(struct fuse_backing_map) == 16, "fuse_backing_map");

#endif
