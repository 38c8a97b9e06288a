/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fallocate(2), as the kernel's ext4_fallocate: preallocation (unwritten
 * extents, with or without raising i_size), punching holes, and zeroing
 * ranges.  Inline files leave the inode first; block-mapped files can
 * only punch (EOPNOTSUPP otherwise, as the kernel says for them).
 */
#include "config.h"

#include <linux/falloc.h>

#include "ext4.h"

/* The kernel rounds a punch past EOF to the page holding i_size. */
#define KERNEL_PAGE_SIZE 4096ULL

/* Allocate unwritten extents over every hole in blocks [@first, @end). */
static int prealloc(struct ext4_fs *e, struct ext4_inode *in, uint64_t first, uint64_t end)
{
	uint64_t cur = first;

	while (cur < end) {
		struct ext4_map m;
		bool fresh;
		int r = ext4_alloc_blocks(e, in, cur, end - cur, &m, &fresh);

		if (r < 0)
			return r;
		cur = m.lblk + m.len;
	}
	return 0;
}

/* Zero the bytes of [@pos, @end) in partial blocks; free the whole blocks between. */
static int punch(struct ext4_fs *e, struct ext4_inode *in, uint64_t pos, uint64_t end)
{
	const uint64_t mask = e->blocksize - 1;
	uint64_t first = (pos + mask) >> e->blockbits, stop = end >> e->blockbits;
	int r;

	if (first > stop) 	/* inside one block */
		return ext4_zero_bytes(e, in, pos, end - pos);
	r = ext4_zero_bytes(e, in, pos, (first << e->blockbits) - pos);
	if (r == 0)
		r = ext4_zero_bytes(e, in, stop << e->blockbits, end & mask);
	if (r == 0 && first < stop)
		r = ext4_free_blocks(e, in, first, stop - 1);
	return r;
}

static int punch_hole(struct ext4_fs *e, struct ext4_inode *in, uint64_t pos, uint64_t end)
{
	uint64_t size = ext4_inode_size(e, in);
	int r;

	if (pos >= size)
		return 0;	/* nothing to punch, and nothing changes */
	if (end > size)
		end = MIN(end, (size | (KERNEL_PAGE_SIZE - 1)) + 1);
	r = punch(e, in, pos, end);
	if (r < 0)
		return r;
	ext4_inode_touch(in, EXT4_TOUCH_MTIME | EXT4_TOUCH_CTIME);
	return ext4_inode_write(e, in);
}

static int zero_range(struct ext4_fs *e, struct ext4_inode *in, uint64_t pos, uint64_t end,
		      bool keep_size)
{
	const uint64_t mask = e->blocksize - 1;
	int r;

	/* Written blocks inside become unwritten ones; partial blocks keep their other bytes. */
	r = punch(e, in, pos, end);
	if (r == 0)
		r = prealloc(e, in, pos >> e->blockbits, (end + mask) >> e->blockbits);
	if (r < 0)
		return r;
	if (!keep_size && end > ext4_inode_size(e, in)) {
		r = ext4_set_size(e, in, end);
		if (r < 0)
			return r;
	}
	ext4_inode_touch(in, EXT4_TOUCH_MTIME | EXT4_TOUCH_CTIME);
	return ext4_inode_write(e, in);
}

static int allocate(struct ext4_fs *e, struct ext4_inode *in, uint64_t pos, uint64_t end,
		    bool keep_size)
{
	const uint64_t mask = e->blocksize - 1;
	unsigned touch = EXT4_TOUCH_CTIME;
	int r;

	r = prealloc(e, in, pos >> e->blockbits, (end + mask) >> e->blockbits);
	if (r < 0)
		return r;
	/* As ext4_alloc_file_blocks: ctime always, mtime when the size grows. */
	if (!keep_size && end > ext4_inode_size(e, in)) {
		r = ext4_set_size(e, in, end);
		if (r < 0)
			return r;
		touch |= EXT4_TOUCH_MTIME;
	}
	ext4_inode_touch(in, touch);
	return ext4_inode_write(e, in);
}

int ext4_fallocate(struct imgfs_fs *fs, uint64_t ino, int mode, uint64_t pos, uint64_t len)
{
	struct ext4_fs *e = EXT4(fs);
	const bool keep = mode & FALLOC_FL_KEEP_SIZE;
	struct ext4_inode in;
	uint64_t end;
	int r;

	switch (mode & ~FALLOC_FL_KEEP_SIZE) {
	case 0:
	case FALLOC_FL_ZERO_RANGE:
		break;
	case FALLOC_FL_PUNCH_HOLE:
		if (keep)
			break;
		return -EOPNOTSUPP;	/* the VFS wants KEEP_SIZE with it */
	default:
		return -EOPNOTSUPP;
	}
	if (len == 0 || pos > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - pos)
		return -EINVAL;
	end = pos + len;

	EXT4_LOCK(e);
	r = ext4_inode_for_change(e, ino, &in);
	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(in.raw.i_mode))
		return -EISDIR;
	if (!LINUX_S_ISREG(in.raw.i_mode))
		return -ENODEV;
	if (in.raw.i_flags & EXT4_INLINE_DATA_FL) {
		r = ext4_inline_convert(e, &in);
		if (r < 0)
			return r;
	}
	if (mode & FALLOC_FL_PUNCH_HOLE)
		return punch_hole(e, &in, pos, end);
	if (!(in.raw.i_flags & EXT4_EXTENTS_FL))
		return -EOPNOTSUPP;
	if (end > e->base.max_file_size)
		return -EFBIG;
	if (mode & FALLOC_FL_ZERO_RANGE)
		return zero_range(e, &in, pos, end, keep);
	return allocate(e, &in, pos, end, keep);
}
