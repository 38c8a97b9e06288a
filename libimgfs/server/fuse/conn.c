/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session's listing budget (shared by directory snapshots and push.c's
 * list), error replies, and the atimes reads set on read-write mounts.
 */
#include "config.h"

#include "fuse/conn.h"

bool imgfs_listing_charge(struct imgfs_fuse *f, size_t bytes)
{
	size_t used = atomic_load(&f->listing_used);

	do {
		if (bytes > f->listing_budget || used > f->listing_budget - bytes)
			return false;
	} while (!atomic_compare_exchange_weak(&f->listing_used, &used, used + bytes));
	return true;
}

void imgfs_listing_uncharge(struct imgfs_fuse *f, size_t bytes)
{
	atomic_fetch_sub(&f->listing_used, bytes);
}

int imgfs_fuse_errno(struct imgfs_fuse *f, int r)
{
	if (r == -EUCLEAN && f->fs)
		imgfs_fs_stop_writes(f->fs);	/* nothing for a read-only mount */
	return imgfs_reply_errno(r);
}

void imgfs_reply_err(fuse_req_t req, int r)
{
	fuse_reply_err(req, imgfs_fuse_errno(imgfs_fuse_of(req), r));
}

/* Whether reads of @dir (a directory or not) update atimes on this mount at all. */
static bool atime_applies(const struct imgfs_fuse *f, bool dir)
{
	return imgfs_fuse_rw(f) && f->atime != IMGFS_ATIME_NONE && !(dir && f->nodiratime) &&
	       !atomic_load(&f->fs->writes_stopped);
}

bool imgfs_fuse_atime_opens(const struct imgfs_fuse *f)
{
	return atime_applies(f, false);
}

bool imgfs_fuse_atime_pending(struct imgfs_fuse *f, fuse_ino_t node, bool dir)
{
	struct timespec now;
	struct stat st;

	if (!atime_applies(f, dir) ||
	    f->fs->ops->getattr(f->fs, node_to_ino(f->fs, node), &st) < 0)
		return false;
	imgfs_atime_now(&now);
	return imgfs_atime_due(f->atime, &st.st_atim, &st.st_mtim, &st.st_ctim, &now);
}

void imgfs_fuse_touch_atime(struct imgfs_fuse *f, fuse_ino_t node, bool dir)
{
	int r;

	if (!atime_applies(f, dir))
		return;
	/* The read itself succeeded: it is not failed for its atime. */
	r = f->fs->write_ops->touch_atime(f->fs, node_to_ino(f->fs, node), f->atime);
	if (r == -EUCLEAN)
		imgfs_fs_stop_writes(f->fs);
}
