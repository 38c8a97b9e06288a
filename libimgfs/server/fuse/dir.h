/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Directory handles: OPENDIR, READDIR(PLUS) and RELEASEDIR (dir.c). */
#ifndef IMGFS_FUSE_DIR_H
#define IMGFS_FUSE_DIR_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

void imgfs_op_opendir(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi);
void imgfs_op_readdir(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
		      struct fuse_file_info *fi);
void imgfs_op_readdirplus(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
			  struct fuse_file_info *fi);
void imgfs_op_releasedir(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi);

#endif
