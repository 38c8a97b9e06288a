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

/* ---- ACLs a new inode takes from its directory (the kernel's posix_acl_create) ---- */

void ext4_acl_inherit_done(struct ext4_acl_inherit *a)
{
	free(a->def);
	free(a->access);
	*a = (struct ext4_acl_inherit){ 0 };
}

/*
 * Mode and ACL limit each other, entry by entry: user:: by the owner
 * bits, other:: by the other bits, and the mask (or group:: without one)
 * by the group bits; each mode field keeps only what its entry allows.
 * Returns 1 when the ACL says more than the mode can (named users or
 * groups, or a mask), 0 when the mode says all of it.
 */
static int acl_create_masq(char *acl, size_t size, uint16_t *mode)
{
	unsigned m = *mode & 0777;
	char *group_obj = NULL, *mask_obj = NULL, *g;
	int extended = 0;

	for (size_t off = 4; off < size; off += 8) {
		char *ent = acl + off;
		unsigned perm = get_le16(ent + 2);

		switch (get_le16(ent)) {
		case ACL_USER_OBJ:
			perm &= (m >> 6) & 7;
			m &= (perm << 6) | ~0700U;
			break;
		case ACL_OTHER:
			perm &= m & 7;
			m &= perm | ~07U;
			break;
		case ACL_GROUP_OBJ:
			group_obj = ent;
			continue;
		case ACL_MASK:
			mask_obj = ent;
			extended = 1;
			continue;
		case ACL_USER:
		case ACL_GROUP:
			extended = 1;
			continue;
		default:
			return -EINVAL;
		}
		put_le16(ent + 2, (uint16_t)perm);
	}
	g = mask_obj ? mask_obj : group_obj;
	if (!g)
		return -EINVAL;
	put_le16(g + 2, (uint16_t)(get_le16(g + 2) & ((m >> 3) & 7)));
	m &= (get_le16(g + 2) << 3) | ~070U;
	*mode = (uint16_t)((*mode & ~0777U) | m);
	return extended;
}

int ext4_acl_inherit(struct ext4_fs *e, const struct ext4_inode *dir, uint16_t *mode,
		     unsigned umask, struct ext4_acl_inherit *out)
{
	_cleanup_(xattrs_closep) struct ext2_xattr_handle *h = NULL;
	_cleanup_ext2_free_ void *value = NULL;
	size_t len;
	errcode_t err;
	int r;

	*out = (struct ext4_acl_inherit){ 0 };
	/* A symlink's mode is always 0777: neither umask nor ACL. */
	if (LINUX_S_ISLNK(*mode))
		return 0;
	if (ext2fs_has_feature_xattr(e->fs->super)) {
		r = ext4_xattr_check(e, dir);
		if (r < 0)
			return r;
		err = ext2fs_xattrs_open(e->fs, (ext2_ino_t)dir->ino, &h);
		if (!err)
			err = ext2fs_xattrs_read(h);
		if (!err)
			err = ext2fs_xattr_get(h, ACL_DEFAULT, &value, &len);
		if (err == EINVAL)
			return fs_corrupt("inode %llu: malformed %s", (unsigned long long)dir->ino,
					  ACL_DEFAULT);
		if (err && err != EXT2_ET_EA_KEY_NOT_FOUND)
			return ext4_errno(err, dir->ino, "reading the default ACL");
	}
	/* No default ACL: the umask says which permission bits go. */
	if (!value) {
		*mode &= (uint16_t)~(umask & 0777);
		return 0;
	}
	if (len < 4 || (len - 4) % 8 || get_le32(value) != ACL_VERSION)
		return fs_corrupt("inode %llu: malformed %s", (unsigned long long)dir->ino,
				  ACL_DEFAULT);
	out->access = malloc(len);
	if (!out->access)
		return -ENOMEM;
	memcpy(out->access, value, len);
	r = acl_create_masq(out->access, len, mode);
	if (r < 0) {
		ext4_acl_inherit_done(out);
		return fs_corrupt("inode %llu: malformed %s", (unsigned long long)dir->ino,
				  ACL_DEFAULT);
	}
	/* An access ACL the mode says all of is not stored. */
	if (r == 0) {
		free(out->access);
		out->access = NULL;
	} else {
		out->access_len = len;
	}
	/* A directory also keeps the default, as it is. */
	if (LINUX_S_ISDIR(*mode)) {
		out->def = malloc(len);
		if (!out->def) {
			ext4_acl_inherit_done(out);
			return -ENOMEM;
		}
		memcpy(out->def, value, len);
		out->def_len = len;
	}
	return 0;
}

int ext4_acl_init(struct ext4_fs *e, uint64_t ino, const struct ext4_acl_inherit *a)
{
	_cleanup_(xattrs_closep) struct ext2_xattr_handle *h = NULL;
	errcode_t err;

	if (!a->def && !a->access)
		return 0;
	err = ext2fs_xattrs_open(e->fs, (ext2_ino_t)ino, &h);
	if (!err)
		err = ext2fs_xattrs_read(h);
	/* As ext4_init_acl: the default first, then the access ACL. */
	if (!err && a->def)
		err = ext2fs_xattr_set(h, ACL_DEFAULT, a->def, a->def_len);
	if (!err && a->access)
		err = ext2fs_xattr_set(h, ACL_ACCESS, a->access, a->access_len);
	return err ? set_error(err, ino) : 0;
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
