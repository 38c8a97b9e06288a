/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Serving one filesystem on an already-mounted /dev/fuse descriptor. */
#ifndef IMGFS_FUSE_SESSION_H
#define IMGFS_FUSE_SESSION_H

#include <stdbool.h>

#include "fs.h"

struct imgfs_serve_options {
	int fuse_fd;			/* /dev/fuse, already mounted by the helper */
	bool debug;			/* libfuse's request trace on stderr */
	unsigned max_threads;		/* 0: libfuse's default */
	void (*on_init)(void *ctx);	/* INIT is being answered */
	void *on_init_ctx;
};

/*
 * Serve @fs until the mount goes away (0) or the session fails (-errno).
 * Takes ownership of opts->fuse_fd.  Never mounts or unmounts anything.
 */
int imgfs_fuse_serve(struct imgfs_fs *fs, const struct imgfs_serve_options *opts);

#endif
