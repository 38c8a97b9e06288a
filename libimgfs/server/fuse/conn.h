/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state of one FUSE session, which every request handler reaches
 * through fuse_req_userdata(): the filesystem, the cache lifetime, the
 * fuse-iomap side, the push state and the listing budget.  The session
 * (session.c) makes it and owns all of it.
 */
#ifndef IMGFS_FUSE_CONN_H
#define IMGFS_FUSE_CONN_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "fs.h"
#include "fuse/kiomap.h"
#include "fuse/node.h"
#include "fuse/nodes.h"
#include "fuse/push.h"

struct imgfs_fuse {
	/*
	 * First: libfuse hands the session's custom read/writev the session's
	 * userdata, this struct, and kiomap.c takes it as its own state.
	 */
	struct imgfs_kiomap kiomap;
	struct imgfs_fs *fs;
	struct fuse_session *se;
	double timeout;			/* entry/attr cache lifetime, seconds */
	struct imgfs_push push;
	/*
	 * Directory snapshots (dir.c) and push.c's node list are charged to
	 * one budget; a listing that does not fit is served without one.
	 */
	size_t listing_budget;		/* bytes */
	atomic_size_t listing_used;
	atomic_bool listing_warned;	/* said once that the budget ran out */
	/*
	 * Directory handles not yet released.  The kernel sends RELEASEDIR
	 * in the background, so it can still be on its way when an unmount
	 * ends the session; who stops a session of its own waits for zero.
	 */
	atomic_uint dirs_open;
	/* Read-write mounts: the kernel's references to nodes (nodes.c). */
	struct imgfs_nodes nodes;
	/* Read-write mounts: let the kernel cache writes (FUSE_CAP_WRITEBACK_CACHE). */
	bool writeback_cache;
	/*
	 * Read-write mounts: when READ and READDIR update the atime (FUSE
	 * inodes are S_NOATIME: the kernel leaves it to us), and whether an
	 * open drops the kernel's cache so that the read reaches us (ops.c).
	 */
	enum imgfs_atime atime;
	bool nodiratime;
};

static_assert(offsetof(struct imgfs_fuse, kiomap) == 0, "kiomap first");

static inline struct imgfs_fuse *imgfs_fuse_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Whether the mount serves writes (the backend has write ops). */
static inline bool imgfs_fuse_rw(const struct imgfs_fuse *f)
{
	return f->fs && f->fs->write_ops;
}

/*
 * The errno to answer for @r <= 0, the one place every error reply goes
 * through: corruption met on a read-write mount stops all writes (as
 * ext4's errors=remount-ro), and reaches the user as EIO.
 */
int imgfs_fuse_errno(struct imgfs_fuse *f, int r);

/* Answer @req with the error @r < 0 (see imgfs_fuse_errno), or success for 0. */
void imgfs_reply_err(fuse_req_t req, int r);

/*
 * Access times on read-write mounts.  FUSE inodes are S_NOATIME: the
 * kernel never updates an atime itself, and after a READ or READDIR it
 * asks for the attributes again (fuse_invalidate_atime).  So the READ or
 * READDIR updates it here, before its reply, as the mount's policy says
 * (imgfs_atime_due).  A read the kernel serves from its page cache (or a
 * listing from its readdir cache) never reaches us: an open of an inode
 * whose atime is due drops that cache (FOPEN_KEEP_CACHE off), so the
 * read that follows comes here.  With relatime that is the first open
 * after a change; with strictatime every open.
 *
 * Whether OPEN is answered at all (ops.c): only where atimes are kept.
 */
bool imgfs_fuse_atime_opens(const struct imgfs_fuse *f);
/* Whether a read of @node (a directory if @dir) now would update its atime. */
bool imgfs_fuse_atime_pending(struct imgfs_fuse *f, fuse_ino_t node, bool dir);
/* @node was read (READ, or READDIR if @dir): update its atime if due. */
void imgfs_fuse_touch_atime(struct imgfs_fuse *f, fuse_ino_t node, bool dir);

/* Take @bytes from the listing budget; false (and nothing taken) if they do not fit. */
bool imgfs_listing_charge(struct imgfs_fuse *f, size_t bytes);
void imgfs_listing_uncharge(struct imgfs_fuse *f, size_t bytes);

#endif
