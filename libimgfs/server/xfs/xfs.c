/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opening and closing an XFS v5 filesystem, and the ops table.
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "xfs.h"

static void xfs_close(struct imgfs_fs *fs)
{
	xfs_dircache_free(XFS(fs)->dircache);
	free(XFS(fs));
}

static void xfs_fs_freep(struct xfs_fs **x)
{
	if (*x)
		xfs_close(&(*x)->base);
}

static const struct imgfs_fs_ops xfs_ops = {
	.name = "xfs",
	.close = xfs_close,
	.info = xfs_info,
	.statfs = xfs_statfs,
	.getattr = xfs_getattr,
	.lookup = xfs_lookup,
	.readdir = xfs_readdir,
	.readlink = xfs_readlink,
	.listxattr = xfs_listxattr,
	.getxattr = xfs_getxattr,
};

static const struct imgfs_iomap_ops xfs_iomap_ops = {
	.iomap_begin = xfs_iomap_begin,
	.has_inline = xfs_has_inline,
	.read_inline = xfs_read_inline,
};

/* The root must be a directory, or the kernel refuses to mount. */
static int check_root(struct xfs_fs *x, const struct imgfs_image *img, struct imgfs_error *err)
{
	struct xfs_inode root;
	int r = xfs_read_inode(x, x->rootino, &root);

	if (r == -ENOENT || (r == 0 && !S_ISDIR(root.mode)))
		return imgfs_error_set(err, EUCLEAN, "%s: corrupt XFS root inode %llu, run xfs_repair",
				       img->path, (unsigned long long)x->rootino);
	if (r < 0)
		return imgfs_error_set(err, -r, "%s: cannot read the XFS root inode %llu: %s",
				       img->path, (unsigned long long)x->rootino, strerror(-r));
	return 0;
}

int imgfs_xfs_open(struct imgfs_image *img, struct imgfs_fs **fsp, struct imgfs_error *err)
{
	_cleanup_(xfs_fs_freep) struct xfs_fs *x = NULL;
	int r;

	if (img->writable)
		return imgfs_error_set(err, EROFS, "%s: the XFS backend serves images read-only",
				       img->path);
	x = calloc(1, sizeof(*x));
	if (!x)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	/* Messages name the image from here on. */
	x->base.img = img;
	r = xfs_check_super(x, img, err);
	if (r < 0)
		return r;
	r = xfs_read_ag_headers(x, err);
	if (r < 0)
		return r;
	r = check_root(x, img, err);
	if (r < 0)
		return r;

	x->base.ops = &xfs_ops;
	x->base.iomap_ops = &xfs_iomap_ops;
	x->base.root_ino = x->rootino;
	x->base.block_size = x->blocksize;
	/* Block offsets have 54 bits, so with any block size files end at 2^63 - 1 bytes. */
	x->base.max_file_size = INT64_MAX;
	*fsp = &steal_pointer(&x)->base;
	return 0;
}
