/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * setxattr and removexattr through libext2fs's xattr handle, which keeps
 * entries in the inode while they fit and in a block otherwise, copies a
 * block shared with other inodes before changing it, and translates
 * POSIX ACLs from the VFS's format into ext4's own (no RAW flag).
 *
 * Only the namespaces a kernel mount takes are written; system.data (the
 * inline data) stays the backend's own.
 */
#include "config.h"

#include <string.h>
#include <sys/xattr.h>

#include "ext4.h"

/* The largest value the VFS passes (XATTR_SIZE_MAX). */
#define XATTR_VALUE_MAX 65536

#define ACL_ACCESS "system.posix_acl_access"
#define ACL_DEFAULT "system.posix_acl_default"
/* The VFS's ACL format: le32 version 2, then entries of le16 tag, le16 perm, le32 id. */
#define ACL_VERSION 2
#define ACL_USER_OBJ 0x01
#define ACL_USER 0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP 0x08
#define ACL_MASK 0x10
#define ACL_OTHER 0x20

static int check_name(const char *name)
{
	static const char *const prefixes[] = { "user.", "trusted.", "security." };
	size_t n = strlen(name);

	if (!strcmp(name, ACL_ACCESS) || !strcmp(name, ACL_DEFAULT))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t p = strlen(prefixes[i]);

		if (!strncmp(name, prefixes[i], p)) {
			/* The name past its prefix is one byte on disk, and not empty. */
			if (n == p)
				return -EINVAL;
			return n - p > 255 ? -ERANGE : 0;
		}
	}
	return -EOPNOTSUPP;
}

static void xattrs_closep(struct ext2_xattr_handle **h)
{
	if (*h)
		ext2fs_xattrs_close(h);
}

/* Load @ino's xattrs into *@h; *@exists says whether @name is among them. */
static int load(struct ext4_fs *e, uint64_t ino, const char *name, struct ext2_xattr_handle **h,
		bool *exists)
{
	_cleanup_ext2_free_ void *value = NULL;
	struct ext4_inode in;
	size_t len;
	errcode_t err;
	int r;

	r = ext4_inode_read(e, ino, &in);
	if (r < 0)
		return r;
	/* As the VFS's xattr_permission: user.* only on files and directories. */
	if (!strncmp(name, "user.", 5) && !LINUX_S_ISREG(in.raw.i_mode) &&
	    !LINUX_S_ISDIR(in.raw.i_mode))
		return -EPERM;
	/* As ext4_set_acl: only a directory has a default ACL. */
	if (!strcmp(name, ACL_DEFAULT) && !LINUX_S_ISDIR(in.raw.i_mode))
		return -EACCES;
	r = ext4_xattr_check(e, &in);
	if (r < 0)
		return r;
	err = ext2fs_xattrs_open(e->fs, (ext2_ino_t)ino, h);
	if (err == EXT2_ET_MISSING_EA_FEATURE)
		return -EOPNOTSUPP;
	if (!err)
		err = ext2fs_xattrs_read(*h);
	if (err)
		return ext4_errno(err, ino, "reading xattrs");
	err = ext2fs_xattr_get(*h, name, &value, &len);
	*exists = err == 0;
	if (err && err != EXT2_ET_EA_KEY_NOT_FOUND && err != EINVAL)
		return ext4_errno(err, ino, "reading an xattr");
	return 0;
}

/*
 * The permission bits an access ACL implies (user::, mask:: or group::,
 * other::), and whether the ACL says no more than they do (the kernel's
 * posix_acl_equiv_mode).
 */
static int acl_mode(const void *value, size_t size, uint16_t *mode, bool *equiv)
{
	const char *p = value;
	unsigned user = 0, group = 0, other = 0, mask = 0;
	bool has_mask = false;

	if (size < 4 || (size - 4) % 8 || get_le32(p) != ACL_VERSION)
		return -EINVAL;
	*equiv = true;
	for (size_t off = 4; off < size; off += 8) {
		unsigned perm = get_le16(p + off + 2) & 7;

		switch (get_le16(p + off)) {
		case ACL_USER_OBJ: user = perm; break;
		case ACL_GROUP_OBJ: group = perm; break;
		case ACL_OTHER: other = perm; break;
		case ACL_MASK: mask = perm; has_mask = true; *equiv = false; break;
		case ACL_USER: case ACL_GROUP: *equiv = false; break;
		default: return -EINVAL;
		}
	}
	*mode = (uint16_t)((user << 6) | ((has_mask ? mask : group) << 3) | other);
	return 0;
}

/*
 * The xattrs of @ino changed: its ctime, as the kernel sets it, and with
 * an access ACL (@mode_bits >= 0) the permission bits it implies: FUSE
 * leaves that to the server (fuse_set_acl), as ext4_set_acl does it.
 */
static int touch_ctime(struct ext4_fs *e, uint64_t ino, int mode_bits)
{
	struct ext4_inode in;
	int r = ext4_inode_read(e, ino, &in);

	if (r < 0)
		return r;
	if (mode_bits >= 0)
		in.raw.i_mode = (uint16_t)((in.raw.i_mode & ~0777U) | (unsigned)mode_bits);
	ext4_inode_touch(&in, EXT4_TOUCH_CTIME);
	return ext4_inode_write(e, &in);
}

static int set_error(errcode_t err, uint64_t ino)
{
	switch (err) {
	case EXT2_ET_EA_NO_SPACE:
	case EXT2_ET_BLOCK_ALLOC_FAIL:
		return -ENOSPC;
	case EINVAL:
		/* A POSIX ACL that does not parse. */
		return -EINVAL;
	default:
		return ext4_errno(err, ino, "writing xattrs");
	}
}

int ext4_setxattr(struct imgfs_fs *fs, uint64_t ino, const char *name, const void *value,
		  size_t size, int flags)
{
	struct ext4_fs *e = EXT4(fs);
	_cleanup_(xattrs_closep) struct ext2_xattr_handle *h = NULL;
	int mode_bits = -1;
	bool exists;
	errcode_t err;
	int r;

	r = check_name(name);
	if (r < 0)
		return r;
	if (size > XATTR_VALUE_MAX)
		return -E2BIG;
	EXT4_LOCK(e);
	r = ext4_may_write(e);
	if (r < 0)
		return r;
	r = load(e, ino, name, &h, &exists);
	if (r < 0)
		return r;
	if ((flags & XATTR_CREATE) && exists)
		return -EEXIST;
	if ((flags & XATTR_REPLACE) && !exists)
		return -ENODATA;
	if (!strcmp(name, ACL_ACCESS)) {
		uint16_t mode;
		bool equiv;

		r = acl_mode(value, size, &mode, &equiv);
		if (r < 0)
			return r;
		mode_bits = mode;
		/* An ACL the mode says all of is not stored (posix_acl_update_mode). */
		if (equiv) {
			err = exists ? ext2fs_xattr_remove(h, name) : 0;
			if (err)
				return set_error(err, ino);
			return touch_ctime(e, ino, mode_bits);
		}
	}
	/* Written through to the inode and block by the handle. */
	err = ext2fs_xattr_set(h, name, value, size);
	if (err)
		return set_error(err, ino);
	return touch_ctime(e, ino, mode_bits);
}

int ext4_removexattr(struct imgfs_fs *fs, uint64_t ino, const char *name)
{
	struct ext4_fs *e = EXT4(fs);
	_cleanup_(xattrs_closep) struct ext2_xattr_handle *h = NULL;
	bool exists;
	errcode_t err;
	int r;

	r = check_name(name);
	if (r == -EOPNOTSUPP || r == -EINVAL)
		return r;
	if (r < 0)
		return -ENODATA;
	EXT4_LOCK(e);
	r = ext4_may_write(e);
	if (r < 0)
		return r;
	r = load(e, ino, name, &h, &exists);
	if (r < 0)
		return r;
	if (!exists)
		return -ENODATA;
	err = ext2fs_xattr_remove(h, name);
	if (err)
		return set_error(err, ino);
	return touch_ctime(e, ino, -1);
}

int ext4_acl_chmod(struct ext4_fs *e, uint64_t ino, uint16_t mode)
{
	_cleanup_(xattrs_closep) struct ext2_xattr_handle *h = NULL;
	_cleanup_ext2_free_ void *value = NULL;
	bool exists, has_mask = false;
	size_t len = 0;
	errcode_t err;
	uint8_t *p;
	int r;

	r = load(e, ino, ACL_ACCESS, &h, &exists);
	if (r == -EOPNOTSUPP)
		return 0;	/* no xattrs on this filesystem: no ACL to follow */
	if (r < 0 || !exists)
		return r;
	err = ext2fs_xattr_get(h, ACL_ACCESS, &value, &len);
	if (err)
		return ext4_errno(err, ino, "reading the access ACL");
	if (len < 4 || (len - 4) % 8)
		return fs_corrupt("inode %llu: malformed access ACL", (unsigned long long)ino);
	p = value;
	for (size_t off = 4; off < len; off += 8)
		if (get_le16(p + off) == ACL_MASK)
			has_mask = true;
	/* posix_acl_chmod: owner, mask (or group without one) and other follow the mode. */
	for (size_t off = 4; off < len; off += 8) {
		unsigned tag = get_le16(p + off), perm;

		if (tag == ACL_USER_OBJ)
			perm = (mode >> 6) & 7;
		else if (tag == ACL_MASK || (tag == ACL_GROUP_OBJ && !has_mask))
			perm = (mode >> 3) & 7;
		else if (tag == ACL_OTHER)
			perm = mode & 7;
		else
			continue;
		put_le16(p + off + 2, (uint16_t)perm);
	}
	err = ext2fs_xattr_set(h, ACL_ACCESS, value, len);
	return err ? set_error(err, ino) : 0;
}
