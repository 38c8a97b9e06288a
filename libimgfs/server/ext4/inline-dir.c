/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A full inline directory first grows into the inode's xattr space, as
 * the kernel's ext4_try_add_inline_entry does (ext4_update_inline_dir):
 * the system.data value takes all the room the inode has left, its last
 * entry (or a new empty one) spanning the new bytes.  Only when that is
 * full too does the directory move to a block.
 */
#include "config.h"

#include <string.h>

#include "ext4.h"

/* The smallest entry, one byte of name: growing by less is not worth it. */
#define DIR_REC_LEN_1 12

int ext4_inline_dir_grow(struct ext4_fs *e, uint64_t dir)
{
	_cleanup_free_ char *data = NULL;
	struct ext4_inode in;
	size_t size = 0, room = 0, old_ea, new_ea;
	errcode_t err;
	int r;

	r = ext4_inode_read(e, dir, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISDIR(in.raw.i_mode) || !(in.raw.i_flags & EXT4_INLINE_DATA_FL))
		return -ENOSPC;
	err = ext2fs_inline_data_size(e->fs, (ext2_ino_t)dir, &size);
	if (err)
		return ext4_errno(err, dir, "reading inline data");
	if (size < EXT4_MIN_INLINE_DATA_SIZE)
		return fs_corrupt("inode %llu: inline directory of %zu bytes",
				  (unsigned long long)dir, size);
	/* What the system.data value could hold, its present bytes included. */
	err = ext2fs_xattr_inode_max_size(e->fs, (ext2_ino_t)dir, &room);
	if (err == EXT2_ET_INLINE_DATA_NO_SPACE || err == EXT2_ET_EA_NO_SPACE)
		return -ENOSPC;
	if (err)
		return ext4_errno(err, dir, "measuring the inode's xattr space");
	old_ea = size - EXT4_MIN_INLINE_DATA_SIZE;
	new_ea = room & ~(size_t)3;	/* entries are 4-byte aligned */
	if (new_ea <= old_ea || new_ea - old_ea <= DIR_REC_LEN_1)
		return -ENOSPC;

	data = calloc(1, EXT4_MIN_INLINE_DATA_SIZE + new_ea);
	if (!data)
		return -ENOMEM;
	err = ext2fs_inline_data_get(e->fs, (ext2_ino_t)dir, EXT2_INODE(&in.raw), data, &size);
	if (err)
		return ext4_errno(err, dir, "reading inline data");
	if (old_ea == 0) {
		/* A first entry in the xattr part: empty, spanning all of it. */
		struct ext2_dir_entry *de = (void *)(data + EXT4_MIN_INLINE_DATA_SIZE);

		de->inode = 0;
		de->name_len = 0;
		err = ext2fs_set_rec_len(e->fs, (unsigned)new_ea, de);
	} else {
		/* The last entry of the xattr part takes the new bytes. */
		char *part = data + EXT4_MIN_INLINE_DATA_SIZE;
		size_t off = 0;
		unsigned rec_len = 0;

		for (;;) {
			struct ext2_dir_entry *de = (void *)(part + off);

			if (off + 8 > old_ea)
				return fs_corrupt("inode %llu: bad inline directory entry at %zu",
						  (unsigned long long)dir, off);
			err = ext2fs_get_rec_len(e->fs, de, &rec_len);
			if (err || rec_len < 8 || off + rec_len > old_ea)
				return fs_corrupt("inode %llu: bad inline directory entry at %zu",
						  (unsigned long long)dir, off);
			if (off + rec_len == old_ea) {
				err = ext2fs_set_rec_len(e->fs, rec_len + (unsigned)(new_ea - old_ea), de);
				break;
			}
			off += rec_len;
		}
	}
	if (err)
		return ext4_errno(err, dir, "growing an inline directory");
	err = ext2fs_inline_data_set(e->fs, (ext2_ino_t)dir, NULL, data,
				     EXT4_MIN_INLINE_DATA_SIZE + new_ea);
	if (err == EXT2_ET_INLINE_DATA_NO_SPACE || err == EXT2_ET_EA_NO_SPACE)
		return -ENOSPC;
	if (err)
		return ext4_errno(err, dir, "growing an inline directory");
	r = ext4_inode_read(e, dir, &in);
	if (r < 0)
		return r;
	in.raw.i_size = (uint32_t)(EXT4_MIN_INLINE_DATA_SIZE + new_ea);
	ext4_dircache_forget(e, dir);
	return ext4_inode_write(e, &in);
}
