/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "fs.h"

int imgfs_fs_open(struct imgfs_image *img, struct imgfs_fs **fsp, struct imgfs_error *err)
{
	switch (imgfs_fstype_kind(img->fstype)) {
	case IMGFS_FS_EXT4:
		return imgfs_ext4_open(img, fsp, err);
	case IMGFS_FS_XFS:
		return imgfs_xfs_open(img, fsp, err);
	case IMGFS_FS_NONE:
		break;
	}
	return imgfs_error_set(err, EMEDIUMTYPE, "%s: no backend serves %s", img->path,
			       img->fstype);
}

void imgfs_fs_close(struct imgfs_fs *fs)
{
	fs->ops->close(fs);
}

void imgfs_fs_stop_writes(struct imgfs_fs *fs)
{
	if (!fs->write_ops || atomic_exchange(&fs->writes_stopped, true))
		return;
	log_err("%s: corruption found: no more writes to this image; unmount it and run fsck",
		fs->img ? fs->img->path : "image");
}

void imgfs_atime_now(struct timespec *now)
{
	clock_gettime(CLOCK_REALTIME_COARSE, now);
}

static int timespec_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	return a->tv_nsec < b->tv_nsec ? -1 : a->tv_nsec > b->tv_nsec;
}

bool imgfs_atime_due(enum imgfs_atime policy, const struct timespec *atime,
		     const struct timespec *mtime, const struct timespec *ctime,
		     const struct timespec *now)
{
	if (policy == IMGFS_ATIME_NONE || timespec_cmp(atime, now) == 0)
		return false;
	if (policy == IMGFS_ATIME_STRICT)
		return true;
	return timespec_cmp(mtime, atime) >= 0 || timespec_cmp(ctime, atime) >= 0 ||
	       now->tv_sec - atime->tv_sec >= 24 * 60 * 60;
}
