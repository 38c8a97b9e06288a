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
