/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The session's listing budget (shared by directory snapshots and push.c's list), and error replies. */
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
