/* SPDX-License-Identifier: GPL-2.0-or-later */
/* FUSE node ids and filesystem inode numbers, and the errno a reply carries. */
#ifndef IMGFS_FUSE_NODE_H
#define IMGFS_FUSE_NODE_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "fs.h"

/* Node ids are the filesystem's inode numbers, with the root moved to FUSE_ROOT_ID. */
static inline uint64_t node_to_ino(const struct imgfs_fs *fs, fuse_ino_t node)
{
	return node == FUSE_ROOT_ID ? fs->root_ino : node;
}

static inline int ino_to_node(const struct imgfs_fs *fs, uint64_t ino, fuse_ino_t *node)
{
	if (ino == fs->root_ino) {
		*node = FUSE_ROOT_ID;
		return 0;
	}
	/* A directory entry naming FUSE_ROOT_ID would alias the root. */
	if (ino == FUSE_ROOT_ID || ino == 0)
		return fs_corrupt("directory entry names reserved inode %llu",
				  (unsigned long long)ino);
	*node = ino;
	return 0;
}

/* The errno a reply carries for @r < 0: corruption is EIO to users. */
static inline int imgfs_reply_errno(int r)
{
	return r == -EUCLEAN ? EIO : -r;
}

#endif
