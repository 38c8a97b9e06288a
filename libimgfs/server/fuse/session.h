/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Serving one filesystem on an already-mounted /dev/fuse descriptor. */
#ifndef IMGFS_FUSE_SESSION_H
#define IMGFS_FUSE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs.h"

/*
 * Memory for directory listings held at once (all open directories'
 * snapshots together): 64 MiB is about a million names.  A directory
 * that does not fit is still listed, from the image as it is read.
 */
#define IMGFS_LISTING_BUDGET_DEFAULT ((size_t)64 << 20)

struct imgfs_serve_options {
	int fuse_fd;			/* /dev/fuse, already mounted by the helper */
	bool debug;			/* libfuse's request trace on stderr */
	unsigned max_threads;		/* 0: libfuse's default */
	size_t listing_budget;		/* bytes; 0: IMGFS_LISTING_BUDGET_DEFAULT */
	/* INIT is answered; @data_path says how file data is served, and why. */
	void (*on_init)(void *ctx, const char *data_path);
	void *on_init_ctx;
	int iomap_upsert_batch;		/* < 0: IMGFS_KIOMAP_UPSERT_BATCH; 0: none */
	uint32_t test_iomap_backing_id;	/* test only: see struct imgfs_kiomap */
	bool no_writeback_cache;	/* read-write mounts: no FUSE_CAP_WRITEBACK_CACHE */
	enum imgfs_atime atime;		/* read-write mounts: see struct imgfs_fuse */
	bool nodiratime;
};

struct imgfs_fuse_session;

/*
 * Set up libfuse on opts->fuse_fd (taking ownership of it).  Done before
 * the sandbox: libfuse opens /dev/null here to make sure fds 0-2 exist.
 */
int imgfs_fuse_session_new(const struct imgfs_serve_options *opts,
			   struct imgfs_fuse_session **session);

/*
 * Serve @fs until the mount goes away (0) or the session fails (-errno).
 * Never mounts or unmounts anything.
 */
int imgfs_fuse_session_serve(struct imgfs_fuse_session *s, struct imgfs_fs *fs);

void imgfs_fuse_session_free(struct imgfs_fuse_session *s);
static inline void imgfs_fuse_session_freep(struct imgfs_fuse_session **s)
{
	if (*s)
		imgfs_fuse_session_free(*s);
}
#define _cleanup_fuse_session_ _cleanup_(imgfs_fuse_session_freep)

#endif
