/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writing inline-data files: bytes kept in i_block (60) and the
 * system.data xattr in the inode's spare space, while they fit; moving
 * them to a block when they no longer do, as the kernel's
 * ext4_convert_inline_data.  Reading is map.c's.
 */
#include "config.h"

#include <string.h>

#include "ext4.h"

/* Re-read @in from disk: libext2fs's inline calls write parts of the inode themselves. */
static int reread(struct ext4_fs *e, struct ext4_inode *in)
{
	errcode_t err = ext2fs_read_inode2(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&in->raw),
					   sizeof(in->raw), 0);

	return ext4_errno(err, in->ino, "reading the inode");
}

int ext4_inline_capacity(struct ext4_fs *e, struct ext4_inode *in, size_t *cap)
{
	size_t existing = 0, free_ea = 0;
	errcode_t err;

	err = ext2fs_inline_data_size(e->fs, (ext2_ino_t)in->ino, &existing);
	if (err)
		return ext4_errno(err, in->ino, "reading inline data");
	/* As ext2fs_inline_data_set decides: what is there plus the room left in the inode. */
	err = ext2fs_xattr_inode_max_size(e->fs, (ext2_ino_t)in->ino, &free_ea);
	if (err == EXT2_ET_INLINE_DATA_NO_SPACE)
		free_ea = 0;
	else if (err)
		return ext4_errno(err, in->ino, "measuring the inode's xattr space");
	*cap = existing + free_ea;
	if (existing < EXT4_MIN_INLINE_DATA_SIZE)
		*cap += EXT4_MIN_INLINE_DATA_SIZE - existing;
	return 0;
}

/* Store @n bytes as @in's whole inline data, then re-read @in. */
static int inline_store(struct ext4_fs *e, struct ext4_inode *in, char *buf, size_t n)
{
	errcode_t err = ext2fs_inline_data_set(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&in->raw),
					       buf, n);

	if (err == EXT2_ET_INLINE_DATA_NO_SPACE || err == EXT2_ET_EA_NO_SPACE)
		return -E2BIG;
	if (err)
		return ext4_errno(err, in->ino, "writing inline data");
	return reread(e, in);
}

int ext4_write_inline(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, const void *buf,
		      size_t len)
{
	struct ext4_fs *e = EXT4(fs);
	_cleanup_free_ char *data = NULL;
	struct ext4_inode in;
	size_t n, cap, want;
	char *grown;
	int r;

	EXT4_LOCK(e);
	r = ext4_inode_for_change(e, ino, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISREG(in.raw.i_mode) || !(in.raw.i_flags & EXT4_INLINE_DATA_FL))
		return -EINVAL;
	r = ext4_inline_capacity(e, &in, &cap);
	if (r < 0)
		return r;
	if (pos > cap || len > cap - pos)
		return -E2BIG;
	r = ext4_inline_read(e, &in, &data, &n);
	if (r < 0)
		return r;
	want = MAX(n, (size_t)pos + len);
	grown = realloc(data, want);
	if (!grown)
		return -ENOMEM;
	data = grown;
	/* Bytes between the old inline data (or i_size) and @pos read as zeros. */
	if (pos > n)
		memset(data + n, 0, pos - n);
	if (ext4_inode_size(e, &in) < pos)
		memset(data + ext4_inode_size(e, &in), 0, pos - ext4_inode_size(e, &in));
	memcpy(data + pos, buf, len);
	r = inline_store(e, &in, data, want);
	if (r < 0)
		return r;
	if (pos + len > ext4_inode_size(e, &in)) {
		r = ext4_set_size(e, &in, pos + len);
		if (r < 0)
			return r;
	}
	ext4_inode_touch(&in, EXT4_TOUCH_MTIME | EXT4_TOUCH_CTIME);
	return ext4_inode_write(e, &in);
}

/* Take system.data away, leaving the inode's other xattrs. */
static int remove_system_data(struct ext4_fs *e, uint64_t ino)
{
	struct ext2_xattr_handle *h = NULL;
	errcode_t err;

	err = ext2fs_xattrs_open(e->fs, (ext2_ino_t)ino, &h);
	if (!err)
		err = ext2fs_xattrs_read(h);
	if (!err)
		err = ext2fs_xattr_remove(h, "system.data");
	if (!err)
		err = ext2fs_xattrs_write(h);
	if (h)
		ext2fs_xattrs_close(&h);
	return ext4_errno(err, ino, "removing inline data");
}

int ext4_inline_convert(struct ext4_fs *e, struct ext4_inode *in)
{
	_cleanup_free_ char *data = NULL, *block = NULL;
	uint64_t size = ext4_inode_size(e, in);
	size_t n, keep;
	int r;

	r = ext4_inline_read(e, in, &data, &n);
	if (r < 0)
		return r;
	keep = (size_t)MIN((uint64_t)n, size);
	r = remove_system_data(e, in->ino);
	if (r < 0)
		return r;
	r = reread(e, in);
	if (r < 0)
		return r;
	in->raw.i_flags &= ~EXT4_INLINE_DATA_FL;
	memset(in->raw.i_block, 0, sizeof(in->raw.i_block));
	if (ext2fs_has_feature_extents(e->fs->super)) {
		ext2_extent_handle_t h;
		errcode_t err;

		/* Opening a tree on an empty i_block writes a fresh root header. */
		in->raw.i_flags &= ~EXT4_EXTENTS_FL;
		err = ext2fs_extent_open2(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&in->raw), &h);
		if (err)
			return ext4_errno(err, in->ino, "starting an extent tree");
		ext2fs_extent_free(h);
		in->raw.i_flags |= EXT4_EXTENTS_FL;
	}
	r = ext4_inode_write(e, in);
	if (r < 0 || keep == 0)
		return r;

	/* The bytes go to block 0, zero after them, written before the extent says so. */
	block = calloc(1, e->blocksize);
	if (!block)
		return -ENOMEM;
	memcpy(block, data, MIN(keep, (size_t)e->blocksize));
	{
		struct ext4_map m;
		bool fresh;

		r = ext4_alloc_blocks(e, in, 0, 1, &m, &fresh);
		if (r < 0)
			return r;
		/* File data: past io.c's metadata cache, where the engine reads it. */
		r = ext4_errno(imgfs_io_write_through(e->fs->io, m.pblk, 1, block), in->ino,
			       "writing the data of an inline file");
		if (r < 0)
			return r;
		if (m.unwritten)
			r = ext4_convert_written(e, in, 0, 1);
	}
	return r;
}

int ext4_inline_truncate(struct ext4_fs *e, struct ext4_inode *in, uint64_t size)
{
	_cleanup_free_ char *data = NULL;
	size_t n;
	int r;

	if (size >= ext4_inode_size(e, in))
		return 0;	/* growing: a hole after the inline bytes */
	r = ext4_inline_read(e, in, &data, &n);
	if (r < 0)
		return r;
	if (size >= n)
		return 0;
	/* Zero what is cut off, so that growing again shows zeros; the room is kept. */
	memset(data + size, 0, n - size);
	return inline_store(e, in, data, n);
}
