/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extended attributes through libext2fs's xattr API: in-inode, external
 * block and ea_inode values, with POSIX ACLs translated from ext4's disk
 * format into the system.posix_acl_* format the VFS uses.
 *
 * Only names a kernel mount would list are shown.  The kernel has no
 * handler for system.data (inline data lives there), richacl, lustre or
 * unknown name indexes, so listxattr(2) omits them; getxattr(2) on them
 * would be EOPNOTSUPP there, but we answer ENODATA, because FUSE takes an
 * EOPNOTSUPP from getxattr as "no xattrs on this mount at all".
 */
#include "config.h"

#include <string.h>

#include "ext4.h"

static bool visible_name(const char *name)
{
	static const char *const prefixes[] = { "user.", "trusted.", "security.", "gnu." };

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return !strcmp(name, "system.posix_acl_access") ||
	       !strcmp(name, "system.posix_acl_default");
}

static void xattrs_closep(struct ext2_xattr_handle **h)
{
	if (*h)
		ext2fs_xattrs_close(h);
}

/* Open and read @ino's xattrs; *h stays NULL when the filesystem has none. */
static int xattrs_load(struct ext4_fs *e, uint64_t ino, struct ext2_xattr_handle **h)
{
	struct ext4_inode in;
	errcode_t err;
	int r;

	r = ext4_inode_read(e, ino, &in);
	if (r < 0)
		return r;
	err = ext2fs_xattrs_open(e->fs, (ext2_ino_t)ino, h);
	if (err == EXT2_ET_MISSING_EA_FEATURE) {
		*h = NULL;
		return 0;
	}
	if (err)
		return ext4_errno(err, ino, "opening xattrs");
	err = ext2fs_xattrs_read(*h);
	if (err)
		return ext4_errno(err, ino, "reading xattrs");
	return 0;
}

struct list_ctx {
	char *buf;
	size_t size;
	size_t used;
	bool overflow;
};

static int list_one(char *name, char *value, size_t value_len, void *data)
{
	struct list_ctx *l = data;
	size_t n = strlen(name) + 1;

	if (!visible_name(name))
		return 0;
	if (l->size && !l->overflow) {
		if (n > l->size - l->used)
			l->overflow = true;
		else
			memcpy(l->buf + l->used, name, n);
	}
	l->used += n;
	return 0;
}

int ext4_listxattr(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t size, size_t *len)
{
	struct ext4_fs *e = EXT4(fs);
	_cleanup_(xattrs_closep) struct ext2_xattr_handle *h = NULL;
	struct list_ctx l = { .buf = buf, .size = size };
	errcode_t err;
	int r;

	EXT4_LOCK(e);
	r = xattrs_load(e, ino, &h);
	if (r < 0)
		return r;
	if (h) {
		err = ext2fs_xattrs_iterate(h, list_one, &l);
		if (err)
			return ext4_errno(err, ino, "listing xattrs");
	}
	if (size && l.overflow)
		return -ERANGE;
	*len = l.used;
	return 0;
}

int ext4_getxattr(struct imgfs_fs *fs, uint64_t ino, const char *name, void *buf,
		  size_t size, size_t *len)
{
	struct ext4_fs *e = EXT4(fs);
	_cleanup_(xattrs_closep) struct ext2_xattr_handle *h = NULL;
	_cleanup_ext2_free_ void *value = NULL;
	size_t vlen = 0;
	errcode_t err;
	int r;

	EXT4_LOCK(e);
	r = xattrs_load(e, ino, &h);
	if (r < 0)
		return r;
	if (!h || !visible_name(name))
		return -ENODATA;
	err = ext2fs_xattr_get(h, name, &value, &vlen);
	if (err == EXT2_ET_EA_KEY_NOT_FOUND)
		return -ENODATA;
	/* An ACL that does not convert to the VFS format is corrupt on disk. */
	if (err == EINVAL)
		return fs_corrupt("inode %llu: malformed %s", (unsigned long long)ino, name);
	if (err)
		return ext4_errno(err, ino, "reading an xattr");
	if (size) {
		if (vlen > size)
			return -ERANGE;
		memcpy(buf, value, vlen);
	}
	*len = vlen;
	return 0;
}
