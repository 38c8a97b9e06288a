/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Entries and attributes: LOOKUP and GETATTR replies (and those of the
 * calls that make a name), and the entries of READDIRPLUS.  Under kernel iomap a reply carries per-inode flags
 * (fuse-iomap's opt-in) that fuse_reply_entry/attr cannot, so it is
 * written here; otherwise it is libfuse's own.
 */
#include "config.h"

#include <string.h>

#include "fuse/attr.h"

int imgfs_fuse_entry(struct imgfs_fuse *f, uint64_t ino, struct fuse_entry_param *e)
{
	int r;

	memset(e, 0, sizeof(*e));
	r = f->fs->ops->getattr(f->fs, ino, &e->attr);
	if (r < 0)
		return r;
	r = ino_to_node(f->fs, ino, &e->ino);
	if (r < 0)
		return r;
	e->attr_timeout = f->timeout;
	e->entry_timeout = f->timeout;
	return 0;
}

/* A cache lifetime in the protocol's seconds and nanoseconds, as libfuse converts it. */
static void split_timeout(double t, uint64_t *sec, uint32_t *nsec)
{
	if (t <= 0) {
		*sec = 0;
		*nsec = 0;
		return;
	}
	if (t >= (double)UINT64_MAX) {
		*sec = UINT64_MAX;
		*nsec = 0;
		return;
	}
	*sec = (uint64_t)t;
	*nsec = (uint32_t)MIN((t - (double)*sec) * 1e9, 999999999.0);
}

static void fill_attr(struct fuse_attr *a, const struct stat *st)
{
	*a = (struct fuse_attr){
		.ino = st->st_ino,
		.size = (uint64_t)st->st_size,
		.blocks = (uint64_t)st->st_blocks,
		.atime = (uint64_t)st->st_atim.tv_sec,
		.mtime = (uint64_t)st->st_mtim.tv_sec,
		.ctime = (uint64_t)st->st_ctim.tv_sec,
		.atimensec = (uint32_t)st->st_atim.tv_nsec,
		.mtimensec = (uint32_t)st->st_mtim.tv_nsec,
		.ctimensec = (uint32_t)st->st_ctim.tv_nsec,
		.mode = st->st_mode,
		.nlink = (uint32_t)st->st_nlink,
		.uid = st->st_uid,
		.gid = st->st_gid,
		.rdev = (uint32_t)st->st_rdev,
		.blksize = (uint32_t)st->st_blksize,
	};
}

static int send_entry(fuse_req_t req, struct imgfs_fuse *f, const struct fuse_entry_param *e)
{
	struct fuse_entry_out out = { .nodeid = e->ino, .generation = e->generation };

	if (!imgfs_kiomap_active(&f->kiomap))
		return fuse_reply_entry(req, e);
	split_timeout(e->entry_timeout, &out.entry_valid, &out.entry_valid_nsec);
	split_timeout(e->attr_timeout, &out.attr_valid, &out.attr_valid_nsec);
	if (e->ino) {
		fill_attr(&out.attr, &e->attr);
		imgfs_kiomap_mark(&f->kiomap, e->attr.st_ino, &e->attr, &out.attr);
	}
	return fuse_reply_buf(req, (const char *)&out, sizeof(out));
}

void imgfs_reply_entry(fuse_req_t req, struct imgfs_fuse *f, const struct fuse_entry_param *e)
{
	int r = imgfs_nodes_ref(f, e->ino);

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* A reply the kernel never saw (interrupted) gave it no reference. */
	if (send_entry(req, f, e) != 0)
		imgfs_nodes_forget(f, e->ino, 1);
}

void imgfs_reply_attr(fuse_req_t req, struct imgfs_fuse *f, const struct stat *st)
{
	struct fuse_attr_out out = { 0 };

	if (!imgfs_kiomap_active(&f->kiomap)) {
		fuse_reply_attr(req, st, f->timeout);
		return;
	}
	split_timeout(f->timeout, &out.attr_valid, &out.attr_valid_nsec);
	fill_attr(&out.attr, st);
	imgfs_kiomap_mark(&f->kiomap, st->st_ino, st, &out.attr);
	fuse_reply_buf(req, (const char *)&out, sizeof(out));
}
