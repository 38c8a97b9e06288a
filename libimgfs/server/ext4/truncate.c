/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Freeing file blocks: truncate (setattr's size) and punching holes.
 * libext2fs's ext2fs_punch frees whole blocks from extent trees, indirect
 * maps and inline data, with the bitmaps and i_blocks; this file adds what
 * the kernel does around it: the bytes of partial blocks are zeroed on
 * disk, so that a later extension or a read of the hole shows zeros.
 */
#include "config.h"

#include <string.h>

#include "ext4.h"

int ext4_zero_bytes(struct ext4_fs *e, struct ext4_inode *in, uint64_t pos, uint64_t len)
{
	_cleanup_free_ char *buf = NULL;
	const uint64_t mask = e->blocksize - 1;

	while (len > 0) {
		uint64_t off = pos & mask, n = MIN(len, e->blocksize - off);
		struct ext4_map m;
		int r;

		r = ext4_map_block(e, in, pos >> e->blockbits, &m);
		if (r < 0)
			return r;
		/* Holes and unwritten blocks read as zeros already. */
		if (m.pblk && !m.unwritten) {
			uint64_t pblk = m.pblk + ((pos >> e->blockbits) - m.lblk);

			if (!buf && !(buf = malloc(e->blocksize)))
				return -ENOMEM;
			r = ext4_read_block(e, in->ino, pblk, buf);
			if (r < 0)
				return r;
			memset(buf + off, 0, n);
			r = ext4_errno(io_channel_write_blk64(e->fs->io, pblk, 1, buf), in->ino,
				       "zeroing part of a block");
			if (r < 0)
				return r;
		}
		pos += n;
		len -= n;
	}
	return 0;
}

int ext4_free_blocks(struct ext4_fs *e, struct ext4_inode *in, uint64_t first, uint64_t last)
{
	errcode_t err;

	if (first > last)
		return 0;
	/* Extent logical blocks end at 2^32 - 1; libext2fs wants ~0 for "to the end". */
	if ((in->raw.i_flags & EXT4_EXTENTS_FL) && last >= (1ULL << 32) - 1)
		last = ~0ULL;
	err = ext2fs_punch(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&in->raw), NULL, first, last);
	if (err)
		return ext4_alloc_errno(err, in->ino, "freeing blocks");
	return 0;
}

int ext4_set_size(struct ext4_fs *e, struct ext4_inode *in, uint64_t size)
{
	errcode_t err = ext2fs_inode_size_set(e->fs, EXT2_INODE(&in->raw), size);

	return ext4_errno(err, in->ino, "setting the size");
}

int ext4_truncate(struct ext4_fs *e, struct ext4_inode *in, uint64_t size)
{
	uint64_t old, limit;
	int r;

	EXT4_LOCK(e);
	r = ext4_may_write(e);
	if (r < 0)
		return r;
	if (!LINUX_S_ISREG(in->raw.i_mode))
		return -EINVAL;
	limit = (in->raw.i_flags & EXT4_EXTENTS_FL) || (in->raw.i_flags & EXT4_INLINE_DATA_FL) ?
		e->base.max_file_size : e->max_bitmap_size;
	if (size > limit)
		return -EFBIG;
	old = ext4_inode_size(e, in);

	if (in->raw.i_flags & EXT4_INLINE_DATA_FL) {
		r = ext4_inline_truncate(e, in, size);
	} else {
		/*
		 * The tail of the block holding the lower of the two sizes: cut
		 * off when shrinking, about to be exposed when growing.
		 */
		uint64_t from = MIN(old, size), tail = -from & (e->blocksize - 1);

		r = ext4_zero_bytes(e, in, from, tail);
		/* Shrinking (or the same size) frees every block past the end, preallocated ones too. */
		if (r == 0 && size <= old)
			r = ext4_free_blocks(e, in, (size + e->blocksize - 1) >> e->blockbits, ~0ULL);
	}
	if (r < 0)
		return r;
	r = ext4_set_size(e, in, size);
	if (r < 0)
		return r;
	/* As ext4_setattr: a size change is a change of the data. */
	if (size != old)
		ext4_inode_touch(in, EXT4_TOUCH_MTIME | EXT4_TOUCH_CTIME);
	return ext4_inode_write(e, in);
}
