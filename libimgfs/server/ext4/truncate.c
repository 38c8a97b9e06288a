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
			/* File data: read and written past io.c's metadata cache. */
			if (!ext4_blocks_ok(e, in->ino, pblk, 1))
				return fs_corrupt("inode %llu: block %llu is outside the filesystem or in its metadata",
						  (unsigned long long)in->ino, (unsigned long long)pblk);
			r = ext4_errno(imgfs_io_read_through(e->fs->io, pblk, 1, buf), in->ino,
				       "reading a block");
			if (r < 0)
				return r;
			memset(buf + off, 0, n);
			r = ext4_errno(imgfs_io_write_through(e->fs->io, pblk, 1, buf), in->ino,
				       "zeroing part of a block");
			if (r < 0)
				return r;
		}
		pos += n;
		len -= n;
	}
	return 0;
}

/*
 * The logical block of @in in [@first, @last] that maps the filesystem's
 * last block, if any.  Rare: only when that block is in use at all.
 */
static int find_last_block(struct ext4_fs *e, struct ext4_inode *in, uint64_t first,
			   uint64_t last, uint64_t *lblk)
{
	const uint64_t final = e->blocks_count - 1;
	uint64_t cur = first;

	*lblk = UINT64_MAX;
	if (!ext2fs_test_block_bitmap2(e->fs->block_map, final))
		return 0;
	while (cur <= last && cur < (1ULL << 32)) {
		struct ext4_map m;
		int r = ext4_map_block(e, in, cur, &m);

		if (r < 0)
			return r;
		if (m.pblk && final >= m.pblk + (cur - m.lblk) && final < m.pblk + m.len) {
			*lblk = m.lblk + (final - m.pblk);
			return 0;
		}
		cur = m.lblk + m.len;
	}
	return 0;
}

/*
 * Unmap logical block @lblk, the last of its extent (it maps the
 * filesystem's last block), and free it.
 */
static int free_final_block(struct ext4_fs *e, struct ext4_inode *in, uint64_t lblk)
{
	_cleanup_(ext4_extent_freep) ext2_extent_handle_t h = NULL;
	struct ext2fs_extent x;
	errcode_t err;

	err = ext2fs_extent_open2(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&in->raw), &h);
	if (!err)
		err = ext2fs_extent_goto(h, lblk);
	if (!err)
		err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &x);
	if (err)
		return ext4_errno(err, in->ino, "finding the extent of the last block");
	if (x.e_lblk + x.e_len - 1 != lblk || x.e_pblk + x.e_len != e->blocks_count)
		return fs_corrupt("inode %llu: extent at block %llu changed under a punch",
				  (unsigned long long)in->ino, (unsigned long long)lblk);
	if (x.e_len == 1) {
		err = ext4_extent_delete_fixed(h);
	} else {
		x.e_len--;
		err = ext2fs_extent_replace(h, 0, &x);
	}
	if (!err)
		err = ext2fs_iblk_sub_blocks(e->fs, EXT2_INODE(&in->raw), 1);
	if (err)
		return ext4_alloc_errno(err, in->ino, "freeing the last block");
	ext2fs_block_alloc_stats2(e->fs, e->blocks_count - 1, -1);
	return 0;
}

static int punch_range(struct ext4_fs *e, struct ext4_inode *in, uint64_t first, uint64_t last)
{
	errcode_t err;

	if (first > last)
		return 0;
	err = ext2fs_punch(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&in->raw), NULL, first, last);
	if (err)
		return ext4_alloc_errno(err, in->ino, "freeing blocks");
	return 0;
}

int ext4_free_blocks(struct ext4_fs *e, struct ext4_inode *in, uint64_t first, uint64_t last)
{
	uint64_t final;
	int r;

	if (first > last)
		return 0;
	if (!(in->raw.i_flags & EXT4_EXTENTS_FL))
		return punch_range(e, in, first, last);
	/* Extent logical blocks end at 2^32 - 1; libext2fs wants ~0 for "to the end". */
	if (last >= (1ULL << 32) - 1)
		last = ~0ULL;
	/*
	 * libext2fs 1.47.0 refuses to free a run that ends at the
	 * filesystem's last block, after it has unmapped it (fixed in
	 * 1.47.1): that block is unmapped and freed here, the rest by it.
	 */
	r = find_last_block(e, in, first, last, &final);
	if (r < 0)
		return r;
	if (final == UINT64_MAX)
		return punch_range(e, in, first, last);
	r = punch_range(e, in, final + 1, last);
	if (r == 0 && final > first)
		r = punch_range(e, in, first, final - 1);
	if (r == 0)
		r = free_final_block(e, in, final);
	return r;
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
