/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libfuse3 low-level operations on top of the backend interface (fs.h). */
#ifndef IMGFS_FUSE_OPS_H
#define IMGFS_FUSE_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "fs.h"

struct imgfs_fuse {
	struct imgfs_fs *fs;
	double timeout;			/* entry/attr cache lifetime, seconds */
	void (*on_init)(void *ctx);	/* called once INIT is being answered */
	void *on_init_ctx;
};

extern const struct fuse_lowlevel_ops imgfs_fuse_ops;

#endif
