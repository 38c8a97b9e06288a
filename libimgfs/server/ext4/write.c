/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The data write path, as the mapping engine drives it (fs.h): map a
 * range for writing (allocating unwritten extents over holes), then, once
 * the engine has written the data, mark it written and raise i_size.
 *
 * Unwritten until written: a crash between allocation and ioend leaves
 * blocks that read as zeros, never another file's old data.  Block-mapped
 * files have no such state: their new blocks are MAPPED and F_NEW, and the
 * engine zeroes what it does not write of them.
 */
#include "config.h"

#include <string.h>

#include "ext4.h"

/* Inline files: write in place while the bytes fit the inode, else move them to a block. */
static int map_inline_write(struct ext4_fs *e, struct ext4_inode *in, uint64_t pos,
			    uint64_t len, struct imgfs_iomap *map, bool *done)
{
	size_t cap;
	int r;

	*done = false;
	r = ext4_inline_capacity(e, in, &cap);
	if (r < 0)
		return r;
	if (pos < cap && len <= cap - pos) {
		*map = (struct imgfs_iomap){ .offset = 0, .length = cap,
					     .addr = IMGFS_IOMAP_NULL_ADDR,
					     .type = IMGFS_IOMAP_INLINE };
		*done = true;
		return 0;
	}
	return ext4_inline_convert(e, in);
}

/*
 * As the kernel's first write to a new file on an inline_data filesystem:
 * an empty file without blocks whose bytes will fit in the inode keeps
 * them there (extent root cleared, system.data made).
 */
static int start_inline(struct ext4_fs *e, struct ext4_inode *in, uint64_t end)
{
	size_t free_ea = 0;
	errcode_t err;
	int r;

	if (!e->inline_data || (in->raw.i_flags & EXT4_INLINE_DATA_FL) ||
	    ext4_inode_size(e, in) || in->raw.i_blocks || e->inode_size <= EXT2_GOOD_OLD_INODE_SIZE)
		return 0;
	err = ext2fs_xattr_inode_max_size(e->fs, (ext2_ino_t)in->ino, &free_ea);
	if (err == EXT2_ET_INLINE_DATA_NO_SPACE || err == EXT2_ET_EA_NO_SPACE)
		return 0;
	if (err)
		return ext4_errno(err, in->ino, "measuring the inode's xattr space");
	if (end > EXT4_MIN_INLINE_DATA_SIZE + free_ea)
		return 0;
	memset(in->raw.i_block, 0, sizeof(in->raw.i_block));
	in->raw.i_flags &= ~(uint32_t)EXT4_EXTENTS_FL;
	in->raw.i_flags |= EXT4_INLINE_DATA_FL;
	r = ext4_inode_write(e, in);
	if (r < 0)
		return r;
	err = ext2fs_inline_data_init(e->fs, (ext2_ino_t)in->ino);
	if (err)
		return ext4_errno(err, in->ino, "making the file inline");
	return ext4_inode_read(e, in->ino, in);
}

int ext4_iomap_write(struct ext4_fs *e, uint64_t ino, uint64_t pos, uint64_t len,
		     struct imgfs_iomap *map)
{
	struct ext4_inode in;
	struct ext4_map m;
	uint64_t first, last;
	bool fresh, done;
	int r;

	EXT4_LOCK(e);
	r = ext4_inode_for_change(e, ino, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISREG(in.raw.i_mode))
		return -EINVAL;
	if (pos >= e->base.max_file_size)
		return -EFBIG;
	len = MIN(MAX(len, 1), e->base.max_file_size - pos);

	r = start_inline(e, &in, pos + len);
	if (r < 0)
		return r;
	if (in.raw.i_flags & EXT4_INLINE_DATA_FL) {
		r = map_inline_write(e, &in, pos, len, map, &done);
		if (r < 0 || done)
			return r;
	}
	first = pos >> e->blockbits;
	last = (pos + len - 1) >> e->blockbits;
	r = ext4_alloc_blocks(e, &in, first, last - first + 1, &m, &fresh);
	if (r < 0)
		return r;
	map->offset = m.lblk << e->blockbits;
	map->length = m.len << e->blockbits;
	map->addr = m.pblk << e->blockbits;
	map->type = m.unwritten ? IMGFS_IOMAP_UNWRITTEN : IMGFS_IOMAP_MAPPED;
	map->flags = fresh ? IMGFS_IOMAP_F_NEW | IMGFS_IOMAP_F_DIRTY : 0;
	return 0;
}

int ext4_ioend(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
	       unsigned ioend_flags, int error, uint64_t *newsize)
{
	struct ext4_fs *e = EXT4(fs);
	struct ext4_inode in;
	int r;

	EXT4_LOCK(e);
	r = ext4_inode_for_change(e, ino, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISREG(in.raw.i_mode))
		return -EINVAL;
	*newsize = ext4_inode_size(e, &in);
	/* A failed write leaves its blocks unwritten (zeros) and the size as it was. */
	if (error < 0 || len == 0)
		return 0;
	if (pos > e->base.max_file_size || len > e->base.max_file_size - pos)
		return -EFBIG;
	if ((ioend_flags & IMGFS_IOEND_UNWRITTEN) && !(in.raw.i_flags & EXT4_INLINE_DATA_FL)) {
		uint64_t first = pos >> e->blockbits;
		uint64_t last = (pos + len - 1) >> e->blockbits;

		r = ext4_convert_written(e, &in, first, last - first + 1);
		if (r < 0)
			return r;
	}
	if ((ioend_flags & IMGFS_IOEND_APPEND) && pos + len > *newsize) {
		r = ext4_set_size(e, &in, pos + len);
		if (r < 0)
			return r;
		*newsize = pos + len;
	}
	ext4_inode_touch(&in, EXT4_TOUCH_MTIME | EXT4_TOUCH_CTIME);
	return ext4_inode_write(e, &in);
}
