/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Mounting and unmounting FUSE without setuid helpers. */
#ifndef IMGFS_MOUNT_H
#define IMGFS_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>

#include "atime.h"
#include "util.h"

#define IMGFS_FSTYPE "fuse.imgfs"

struct imgfs_mount_params {
	const char *source;	/* shown in mountinfo: the image path */
	const char *target;
	int fuse_fd;
	uid_t uid;		/* the mount's owner, as the kernel checks access */
	gid_t gid;
	bool allow_other;
	bool noexec;
	bool read_only;
	/* The mount's own atime flags (MOUNT_ATTR_*ATIME), shown in mountinfo. */
	enum imgfs_atime atime;
	bool nodiratime;
};

/* Open /dev/fuse for a new connection (close-on-exec). */
int imgfs_open_fuse_dev(int *fd, struct imgfs_error *err);

/*
 * Check that @target is an existing directory we may mount on, and not on
 * one of the kernel's pseudo filesystems (proc, sysfs, cgroup, ...).
 */
int imgfs_check_mountpoint(const char *target, struct imgfs_error *err);

/*
 * Mount FUSE (type fuse.imgfs, always nosuid,nodev, default_permissions)
 * on the directory @target_fd refers to (any kind of descriptor, O_PATH
 * included); p->target names it in messages.  *@dev (when not NULL) gets
 * the new superblock's device number, or 0 if it could not be read.  The
 * mount itself is never touched: the server need not have answered yet.
 */
int imgfs_mount_fuse_at(const struct imgfs_mount_params *p, int target_fd, dev_t *dev,
			struct imgfs_error *err);

/* The same on the path p->target. */
int imgfs_mount_fuse(const struct imgfs_mount_params *p, dev_t *dev, struct imgfs_error *err);

/*
 * Open fusectl's directory of connections, before a mount that could
 * cover /sys (a mount on /) is made: 0 or -errno.
 */
int imgfs_open_fuse_connections(int *dir_fd);

/*
 * Open the fusectl "abort" file of the FUSE connection whose superblock is
 * @dev, for whoever must be able to end the connection later, in @dir_fd
 * from imgfs_open_fuse_connections() or, when it is -1, by its path.
 * -errno when fusectl is not mounted or not ours to write.
 */
int imgfs_open_fuse_abort(int dir_fd, dev_t dev, int *fd);

/*
 * Unmount @target after checking (libmount) that it is an imgfs mount,
 * and the dead imgfs mounts (their server gone) that this uncovers on the
 * same point.  *@remaining (when not NULL) gets the number of imgfs mounts
 * still stacked there, live ones.
 */
int imgfs_unmount(const char *target, bool lazy, unsigned *remaining, struct imgfs_error *err);

/* Make every mount in our (new) mount namespace private. */
int imgfs_make_mounts_private(struct imgfs_error *err);

/* Enter new user and mount namespaces, mapping our uid/gid to root. */
int imgfs_unshare_user_mount(struct imgfs_error *err);

#endif
