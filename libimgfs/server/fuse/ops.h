/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libfuse3 low-level operations on top of the backend interface (fs.h).
 * The handlers reach the session's state (conn.h) through the request.
 */
#ifndef IMGFS_FUSE_OPS_H
#define IMGFS_FUSE_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops imgfs_fuse_ops;

#endif
