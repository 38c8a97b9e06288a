/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The operations that change the filesystem (write.c): EROFS on a read-only mount. */
#ifndef IMGFS_FUSE_WRITE_H
#define IMGFS_FUSE_WRITE_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

void imgfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		    dev_t rdev);
void imgfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void imgfs_op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name);
void imgfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi);
void imgfs_op_link(fuse_req_t req, fuse_ino_t node, fuse_ino_t newparent, const char *newname);
void imgfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void imgfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void imgfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags);
void imgfs_op_setattr(fuse_req_t req, fuse_ino_t node, struct stat *attr, int to_set,
		      struct fuse_file_info *fi);
void imgfs_op_write(fuse_req_t req, fuse_ino_t node, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi);
void imgfs_op_fallocate(fuse_req_t req, fuse_ino_t node, int mode, off_t off, off_t len,
			struct fuse_file_info *fi);
void imgfs_op_fsync(fuse_req_t req, fuse_ino_t node, int datasync, struct fuse_file_info *fi);
void imgfs_op_fsyncdir(fuse_req_t req, fuse_ino_t node, int datasync,
		       struct fuse_file_info *fi);
void imgfs_op_setxattr(fuse_req_t req, fuse_ino_t node, const char *name, const char *value,
		       size_t size, int flags);
void imgfs_op_removexattr(fuse_req_t req, fuse_ino_t node, const char *name);

#endif
