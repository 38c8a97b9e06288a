/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The userspace data path's last step: the engine's read segments
 * (iomap.h) as a libfuse bufvec, which a READ reply or a store sends.
 */
#include "config.h"

#include <string.h>

#include "fuse/read.h"
#include "iomap.h"

int imgfs_regular_file_size(struct imgfs_fs *fs, uint64_t ino, uint64_t *isize)
{
	struct stat st;
	int r = fs->ops->getattr(fs, ino, &st);

	if (r < 0)
		return r;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*isize = (uint64_t)st.st_size;
	return 0;
}

int imgfs_fuse_plan_read(struct imgfs_fs *fs, uint64_t ino, uint64_t off, size_t size,
			 struct fuse_bufvec **bvp, void **memp, uint64_t *isize)
{
	size_t max_segs = size / fs->block_size + 2;
	size_t inline_size = MIN(size, (size_t)fs->block_size);
	_cleanup_free_ struct imgfs_read_seg *segs = calloc(max_segs, sizeof(*segs));
	_cleanup_free_ struct fuse_bufvec *bv = calloc(1, sizeof(*bv) + max_segs * sizeof(bv->buf[0]));
	_cleanup_free_ char *inline_buf = malloc(inline_size);
	int nsegs, r;

	if (!segs || !bv || !inline_buf)
		return -ENOMEM;
	/* With no OPEN there is no handle to remember the size in. */
	r = imgfs_regular_file_size(fs, ino, isize);
	if (r < 0)
		return r;
	nsegs = imgfs_iomap_plan_read(fs, ino, *isize, off, size, segs,
				      (int)max_segs, inline_buf, inline_size);
	if (nsegs < 0)
		return nsegs;
	bv->count = (size_t)nsegs;
	for (int i = 0; i < nsegs; i++) {
		struct fuse_buf *b = &bv->buf[i];

		b->size = segs[i].len;
		if (segs[i].fd >= 0) {
			b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY;
			b->fd = segs[i].fd;
			b->pos = segs[i].dev_pos;
		} else {
			b->mem = (void *)segs[i].mem;
		}
	}
	*bvp = steal_pointer(&bv);
	*memp = steal_pointer(&inline_buf);
	return 0;
}
