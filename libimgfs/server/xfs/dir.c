/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directories: reading and verifying directory blocks (which may span
 * several extents), walking data entries, and the readdir and lookup
 * entry points for every directory form.  See dir.h for the formats.
 */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>
#include <string.h>

#include "dir.h"
#include "dirpos.h"

int xd_corrupt(const struct xdir *d, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return xfs_fs_corrupt(d->x, d->ino, "directory: %s", msg);
}

/* As xfs_dir2_namecheck(): what a name may not hold. */
bool xd_name_ok(const char *name, unsigned len)
{
	return len > 0 && len <= XD_NAME_MAX && !memchr(name, '/', len) && !memchr(name, 0, len);
}

/* ---- directory blocks ---- */

static const char *bad_bestfree(const struct xdir *d, const char *buf, uint32_t end)
{
	unsigned prev = ~0U;

	for (unsigned i = 0; i < XFS_DIR2_DATA_FD_COUNT; i++) {
		const char *bf = buf + XD_DATA_BESTFREE + 4 * i;
		unsigned off = get_be16(bf), len = get_be16(bf + 2);

		if (len > prev)
			return "best-free table out of order";
		prev = len;
		if (!len)
			continue;
		if (off < XD_DATA_HDR_SIZE || off % 8 || len > end || off > end - len)
			return "best-free entry outside the block";
		if (get_be16(buf + off) != XFS_DIR2_DATA_FREE_TAG || get_be16(buf + off + 2) != len)
			return "best-free entry names no free space of its size";
	}
	return NULL;
}

int xd_read(struct xdir *d, uint64_t fblk, const struct xfs_blk_verify *v, void *buf,
	    uint32_t *magic)
{
	int r;

	if (xd_cache_get(d, fblk, v, buf, magic))
		return 0;
	r = xfs_read_dirblock(d->x, &d->in, fblk, buf, v, magic);
	if (r < 0)
		return r;
	if (*magic == XFS_DIR3_DATA_MAGIC) {
		r = xd_data_check(d, fblk, buf, d->blksize);
		if (r < 0)
			return r;
	}
	xd_cache_put(d, fblk, buf, *magic);
	return 0;
}

int xd_data_check(struct xdir *d, uint64_t fblk, const char *buf, uint32_t end)
{
	const char *why = bad_bestfree(d, buf, end);

	if (why)
		return xd_corrupt(d, "block %llu: %s", (unsigned long long)fblk, why);
	return xd_data_walk(d, fblk, buf, end, NULL, NULL);
}

/* ---- data entries ---- */

/* Check the live entry at @off (its freetag is not XFS_DIR2_DATA_FREE_TAG); fill @e. */
static const char *bad_entry(const struct xdir *d, const char *buf, uint32_t off, uint32_t end,
			     struct imgfs_dirent *e, uint32_t *size)
{
	const char *p = buf + off;
	unsigned namelen, ft = 0;
	uint32_t len;

	if (end - off < 16)
		return "entry overruns the block";
	namelen = (uint8_t)p[8];
	len = xd_entsize(d, namelen);
	if (len > end - off)
		return "entry overruns the block";
	if (get_be16(p + len - 2) != off)
		return "entry tag does not match its offset";
	if (!xd_name_ok(p + 9, namelen))
		return "bad name (empty, or holds '/' or NUL)";
	if (d->ftype) {
		ft = (uint8_t)p[9 + namelen];
		if (ft >= XD_FT_MAX)
			return "bad file type";
	}
	e->ino = get_be64(p);
	e->namelen = namelen;
	e->name = p + 9;
	e->type = xfs_ftype_to_dtype(ft);
	*size = len;
	if (!xfs_ino_valid(d->x, e->ino))
		return "bad inode number";
	return NULL;
}

int xd_data_walk(struct xdir *d, uint64_t fblk, const char *buf, uint32_t end,
		 imgfs_filldir_t fn, void *ctx)
{
	uint64_t base = fblk << d->blklog;

	for (uint32_t off = XD_DATA_HDR_SIZE; off < end;) {
		const char *p = buf + off;
		const char *why = NULL;
		struct imgfs_dirent e;
		uint32_t len;

		if (end - off < 8) {
			why = "entry overruns the block";
		} else if (get_be16(p) == XFS_DIR2_DATA_FREE_TAG) {
			len = get_be16(p + 2);
			if (len < 8 || len % 8 || len > end - off)
				why = "bad length of free space";
			else if (get_be16(p + len - 2) != off)
				why = "free space tag does not match its offset";
		} else {
			why = bad_entry(d, buf, off, end, &e, &len);
			if (!why && fn) {
				int r;

				e.next = (base + off + len) >> XD_ALIGN_LOG;
				r = fn(ctx, &e);
				if (r)
					return r;
			}
		}
		if (why)
			return xd_corrupt(d, "block %llu, offset %u: %s", (unsigned long long)fblk,
					  off, why);
		off += len;
	}
	return 0;
}

int xd_data_entry(struct xdir *d, uint64_t fblk, const char *buf, uint32_t off, uint32_t end,
		  struct imgfs_dirent *e)
{
	const char *why;
	uint32_t len;

	if (off < XD_DATA_HDR_SIZE || off % 8 || off >= end)
		why = "leaf address outside the data entries";
	else if (get_be16(buf + off) == XFS_DIR2_DATA_FREE_TAG)
		why = "leaf address names free space";
	else
		why = bad_entry(d, buf, off, end, e, &len);
	if (why)
		return xd_corrupt(d, "block %llu, offset %u: %s", (unsigned long long)fblk, off, why);
	e->next = ((fblk << d->blklog) + off + len) >> XD_ALIGN_LOG;
	return 0;
}

/* ---- the forms ---- */

enum xd_form { XD_SF, XD_BLOCK, XD_LEAFNODE };

/* Read directory @ino and tell its form. */
static int dir_open(struct xfs_fs *x, uint64_t ino, struct xdir *d, enum xd_form *form)
{
	struct xfs_bmap_ext ext;
	int r;

	d->x = x;
	d->ino = ino;
	d->ftype = x->ftype;
	d->blklog = x->blocklog;
	d->blksize = x->dirblksize;
	d->fsbcount = x->dirblkfsbs;
	d->leafblk = XFS_DIR2_LEAF_OFFSET >> x->blocklog;
	d->freeblk = XFS_DIR2_FREE_OFFSET >> x->blocklog;
	r = xfs_read_inode(x, ino, &d->in);
	if (r < 0)
		return r;
	if (!S_ISDIR(d->in.mode))
		return -ENOTDIR;
	switch (d->in.format) {
	case XFS_DINODE_FMT_LOCAL:
		*form = XD_SF;
		return 0;
	case XFS_DINODE_FMT_EXTENTS:
	case XFS_DINODE_FMT_BTREE:
		break;
	default:
		return xd_corrupt(d, "data fork format %u", d->in.format);
	}
	/*
	 * As xfs_dir2_isblock(): nothing is mapped at or past the leaf space.
	 * A block directory is one directory block long, so any other size
	 * is a leaf or node directory without looking (a bmbt read saved).
	 */
	if (d->in.size != d->blksize) {
		*form = XD_LEAFNODE;
		return 0;
	}
	r = xfs_bmap_lookup(x, &d->in, XFS_DATA_FORK, d->leafblk, &ext);
	if (r < 0)
		return r;
	*form = !ext.hole || ext.fileoff + ext.len <= XFS_MAX_FILEOFF ? XD_LEAFNODE : XD_BLOCK;
	return 0;
}

static int read_block_form(struct xdir *d, char *buf, uint32_t *leaf_start)
{
	uint32_t magic;
	int r;

	r = xd_read(d, 0, &xfs_verify_dir3_data, buf, &magic);
	if (r == -ENOENT)
		return xd_corrupt(d, "block form without a block at offset 0");
	if (r < 0)
		return r;
	if (magic != XFS_DIR3_BLOCK_MAGIC)
		return xd_corrupt(d, "block form, but block 0 is a data block");
	return xd_block_check(d, buf, leaf_start);
}

static int block_readdir(struct xdir *d, uint64_t pos, imgfs_filldir_t fn, void *ctx)
{
	_cleanup_free_ char *buf = NULL;
	uint32_t leaf_start;
	int r;

	if (pos >= d->blksize >> XD_ALIGN_LOG)
		return 0;
	buf = malloc(d->blksize);
	if (!buf)
		return -ENOMEM;
	r = read_block_form(d, buf, &leaf_start);
	if (r < 0)
		return r;
	return xd_data_walk(d, 0, buf, leaf_start, fn, ctx);
}

/*
 * The data blocks of a leaf or node directory, in order, from the one
 * holding position @pos; holes are skipped.  They end at di_size.
 */
static int data_readdir(struct xdir *d, uint64_t pos, imgfs_filldir_t fn, void *ctx)
{
	uint64_t end = MIN(XD_LEAF_OFFSET, d->in.size) >> d->blklog;
	uint64_t mask = ~(uint64_t)(d->fsbcount - 1);
	_cleanup_free_ char *buf = NULL;

	if (pos >= XD_LEAF_OFFSET >> XD_ALIGN_LOG)
		return 0;
	buf = malloc(d->blksize);
	if (!buf)
		return -ENOMEM;
	for (uint64_t fblk = ((pos << XD_ALIGN_LOG) >> d->blklog) & mask; fblk < end;) {
		struct xfs_bmap_ext ext;
		uint32_t magic;
		int r;

		r = xfs_bmap_lookup(d->x, &d->in, XFS_DATA_FORK, fblk, &ext);
		if (r < 0)
			return r;
		if (ext.hole) {
			/* On to the first directory block the hole does not cover whole. */
			fblk = (ext.fileoff + ext.len) & mask;
			if (fblk <= ext.fileoff)
				fblk += d->fsbcount;
			continue;
		}
		r = xd_read(d, fblk, &xfs_verify_dir3_data, buf, &magic);
		if (r < 0)
			return r;
		if (magic != XFS_DIR3_DATA_MAGIC)
			return xd_corrupt(d, "block %llu: a block-form block in a leaf directory",
					  (unsigned long long)fblk);
		r = xd_data_walk(d, fblk, buf, d->blksize, fn, ctx);
		if (r)
			return r;
		fblk += d->fsbcount;
	}
	return 0;
}

/* ---- entry points ---- */

int xfs_readdir(struct imgfs_fs *fs, uint64_t dir, uint64_t pos, imgfs_filldir_t fill,
		void *ctx)
{
	struct imgfs_dirpos f = { .fill = fill, .ctx = ctx, .from = pos };
	_cleanup_free_ struct xdir *d = calloc(1, sizeof(*d));
	enum xd_form form;
	int r;

	if (!d)
		return -ENOMEM;
	r = dir_open(XFS(fs), dir, d, &form);
	if (r < 0)
		return r;
	if (form == XD_SF)
		r = xd_sf_readdir(d, imgfs_dirpos_fill, &f);
	else if (form == XD_BLOCK)
		r = block_readdir(d, pos, imgfs_dirpos_fill, &f);
	else
		r = data_readdir(d, pos, imgfs_dirpos_fill, &f);
	return r < 0 ? r : 0;
}

static int block_lookup(struct xdir *d, const char *name, size_t len, uint64_t *ino)
{
	_cleanup_free_ char *buf = malloc(d->blksize);
	uint32_t leaf_start;
	int r;

	if (!buf)
		return -ENOMEM;
	r = read_block_form(d, buf, &leaf_start);
	if (r < 0)
		return r;
	return xd_block_lookup(d, buf, leaf_start, name, len, ino);
}

int xfs_lookup(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len, uint64_t *ino)
{
	_cleanup_free_ struct xdir *d = NULL;
	enum xd_form form;
	uint64_t found = 0;
	int r;

	if (len > XD_NAME_MAX)
		return -ENAMETOOLONG;
	if (len == 0)
		return -ENOENT;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = dir_open(XFS(fs), dir, d, &form);
	if (r < 0)
		return r;
	if (form == XD_SF)
		r = xd_sf_lookup(d, name, len, &found);
	else if (form == XD_BLOCK)
		r = block_lookup(d, name, len, &found);
	else
		r = xd_leaf_lookup(d, name, len, &found);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	*ino = found;
	return 0;
}
