/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * setattr: mode, owner, size and times, as the kernel's ext4_setattr
 * stores them.  Permission checks are the kernel's (FUSE's
 * default_permissions): what is asked is stored.  Every change sets ctime
 * to now unless the caller gives one.  And the atime a read sets
 * (touch_atime), which changes nothing else.
 */
#include "config.h"

#include "ext4.h"

int ext4_setattr(struct imgfs_fs *fs, uint64_t ino, const struct imgfs_setattr *sa)
{
	struct ext4_fs *e = EXT4(fs);
	struct ext2_inode_large *raw;
	struct ext4_inode in;
	struct timespec now;
	int r;

	EXT4_LOCK(e);
	r = ext4_inode_for_change(e, ino, &in);
	if (r < 0)
		return r;
	raw = &in.raw;
	if (sa->valid & IMGFS_SET_SIZE) {
		if (LINUX_S_ISDIR(raw->i_mode))
			return -EISDIR;
		if (!LINUX_S_ISREG(raw->i_mode))
			return -EINVAL;
		if (sa->size > e->base.max_file_size ||
		    (!(raw->i_flags & EXT4_EXTENTS_FL) && sa->size > e->max_bitmap_size))
			return -EFBIG;
		/* truncate(2) to the same size still sets mtime and ctime. */
		if (sa->size != ext4_inode_size(e, &in)) {
			r = ext4_truncate(e, &in, sa->size);
			if (r < 0)
				return r;
			/* It wrote the inode; the fields below go on top of what it left. */
			r = ext4_inode_read(e, ino, &in);
			if (r < 0)
				return r;
		}
		if (!(sa->valid & (IMGFS_SET_MTIME | IMGFS_SET_MTIME_NOW)))
			ext4_inode_touch(&in, EXT4_TOUCH_MTIME);
	}
	if (sa->valid & IMGFS_SET_MODE)
		raw->i_mode = (uint16_t)((raw->i_mode & LINUX_S_IFMT) | (sa->mode & 07777));
	if (sa->valid & IMGFS_SET_UID) {
		raw->i_uid = (uint16_t)sa->uid;
		raw->osd2.linux2.l_i_uid_high = (uint16_t)(sa->uid >> 16);
	}
	if (sa->valid & IMGFS_SET_GID) {
		raw->i_gid = (uint16_t)sa->gid;
		raw->osd2.linux2.l_i_gid_high = (uint16_t)(sa->gid >> 16);
	}
	/* An atime of now is on the coarse clock, as at create (namei.c). */
	imgfs_atime_now(&now);
	/* A *_NOW flag may come with or without its field's flag. */
	if (sa->valid & (IMGFS_SET_ATIME | IMGFS_SET_ATIME_NOW))
		ext4_inode_set_time(&in, EXT4_ATIME,
				    (sa->valid & IMGFS_SET_ATIME_NOW) ? &now : &sa->atime);
	ext4_now(&now);
	if (sa->valid & (IMGFS_SET_MTIME | IMGFS_SET_MTIME_NOW))
		ext4_inode_set_time(&in, EXT4_MTIME,
				    (sa->valid & IMGFS_SET_MTIME_NOW) ? &now : &sa->mtime);
	ext4_inode_set_time(&in, EXT4_CTIME, (sa->valid & IMGFS_SET_CTIME) ? &sa->ctime : &now);
	r = ext4_inode_write(e, &in);
	/* As ext4_setattr: a file's access ACL follows chmod (after the inode: it rewrites it). */
	if (r == 0 && (sa->valid & IMGFS_SET_MODE) && !LINUX_S_ISLNK(raw->i_mode))
		r = ext4_acl_chmod(e, ino, raw->i_mode);
	return r;
}

int ext4_touch_atime(struct imgfs_fs *fs, uint64_t ino, enum imgfs_atime policy)
{
	struct ext4_fs *e = EXT4(fs);
	struct ext4_inode in;
	struct timespec now, atime, mtime, ctime;
	int r;

	if (policy == IMGFS_ATIME_NONE)
		return 0;
	EXT4_LOCK(e);
	/* Writes stopped (corruption, MMP lost): reads go on, atimes stay. */
	if (ext4_may_write(e) < 0)
		return 0;
	r = ext4_inode_read(e, ino, &in);
	if (r < 0)
		return r;
	imgfs_atime_now(&now);
	atime = ext4_inode_get_time(&in, EXT4_ATIME);
	mtime = ext4_inode_get_time(&in, EXT4_MTIME);
	ctime = ext4_inode_get_time(&in, EXT4_CTIME);
	if (!imgfs_atime_due(policy, &atime, &mtime, &ctime, &now))
		return 0;
	ext4_inode_set_time(&in, EXT4_ATIME, &now);
	return ext4_inode_write(e, &in);
}
