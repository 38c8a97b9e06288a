/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Placeholders until libimgfs/xfs/dir*.c lands: whoever adds the real
 * directory code deletes this file and its line in Makefile.am.
 */
#include "config.h"

#include "xfs.h"

int xfs_lookup(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
	       uint64_t *ino)
{
	return -EOPNOTSUPP;
}

int xfs_readdir(struct imgfs_fs *fs, uint64_t dir, uint64_t pos, imgfs_filldir_t fill,
		void *ctx)
{
	return -EOPNOTSUPP;
}
