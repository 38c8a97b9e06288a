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

/*
 * On-disk layout (struct ext2_ext_attr_entry), all little-endian: u8
 * name_len, u8 name_index, u16 value_offs, u32 value_inum, u32 value_size,
 * u32 hash, then the name padded to 4 bytes.  A zero u32 ends the list.
 * In an inode the list follows a u32 magic after i_extra_isize; in a
 * block, a 32-byte header.
 */
#define XATTR_ENTRY_SIZE 16
#define XATTR_BLOCK_HEADER_SIZE 32
/* The largest value the VFS reads or writes (XATTR_SIZE_MAX). */
#define XATTR_VALUE_MAX 65536
/*
 * Values kept in EA inodes, summed over one inode.  libext2fs loads them
 * all whichever one is asked for; at 64 KiB each, an xattr block of 4 KiB
 * (the usual) holds at most about this much, a 64 KiB one sixteen times more.
 */
#define XATTR_EA_INODE_TOTAL_MAX (16U << 20)

struct xattr_scan {
	struct ext4_fs *e;
	uint64_t ino;
	uint64_t ea_bytes;	/* values in EA inodes so far */
};

static int check_ea_inode(struct xattr_scan *s, uint32_t ea_ino, uint32_t size)
{
	struct ext4_inode ea;
	int r;

	s->ea_bytes += size;
	if (s->ea_bytes > XATTR_EA_INODE_TOTAL_MAX)
		return fs_corrupt("inode %llu: xattr values in EA inodes exceed %u bytes",
				  (unsigned long long)s->ino, XATTR_EA_INODE_TOTAL_MAX);
	r = ext4_inode_read(s->e, ea_ino, &ea);
	if (r == -ENOENT)
		return fs_corrupt("inode %llu: xattr value in unused inode %u",
				  (unsigned long long)s->ino, ea_ino);
	if (r < 0)
		return r;
	/* libext2fs reads the value through the EA inode's own block map. */
	if ((ea.raw.i_flags & EXT4_EXTENTS_FL) && !(ea.raw.i_flags & EXT4_INLINE_DATA_FL))
		return ext4_extent_depth_check(&ea);
	return 0;
}

/* The entries in the @size bytes at @p; @where names them in messages. */
static int scan_entries(struct xattr_scan *s, const char *p, size_t size, const char *where)
{
	size_t off = 0;

	while (size - off >= sizeof(uint32_t) && get_le32(p + off) != 0) {
		const char *ent = p + off;
		size_t len;
		uint32_t ea_ino, vsize;
		int r;

		if (size - off < XATTR_ENTRY_SIZE)
			return fs_corrupt("inode %llu: %s xattr entry overruns its space",
					  (unsigned long long)s->ino, where);
		len = (XATTR_ENTRY_SIZE + (uint8_t)ent[0] + 3) & ~(size_t)3;
		if (len > size - off)
			return fs_corrupt("inode %llu: %s xattr name overruns its space",
					  (unsigned long long)s->ino, where);
		ea_ino = get_le32(ent + 4);
		vsize = get_le32(ent + 8);
		if (vsize > XATTR_VALUE_MAX)
			return fs_corrupt("inode %llu: %s xattr value of %u bytes exceeds %u",
					  (unsigned long long)s->ino, where, vsize, XATTR_VALUE_MAX);
		if (ea_ino) {
			r = check_ea_inode(s, ea_ino, vsize);
			if (r < 0)
				return r;
		}
		off += len;
	}
	return 0;
}

int ext4_xattr_check(struct ext4_fs *e, const struct ext4_inode *in)
{
	struct xattr_scan s = { .e = e, .ino = in->ino };
	_cleanup_free_ char *buf = NULL;
	uint64_t blk;
	errcode_t err;
	int r;

	/* The inode's spare bytes, which struct ext4_inode does not keep. */
	if (e->inode_size > EXT2_GOOD_OLD_INODE_SIZE + sizeof(uint32_t)) {
		size_t start;

		buf = malloc(e->inode_size);
		if (!buf)
			return -ENOMEM;
		err = ext2fs_read_inode_full(e->fs, (ext2_ino_t)in->ino, (struct ext2_inode *)buf,
					     (int)e->inode_size);
		if (err)
			return ext4_errno(err, in->ino, "reading the inode");
		start = EXT2_GOOD_OLD_INODE_SIZE + get_le16(buf + EXT2_GOOD_OLD_INODE_SIZE);
		/* As libext2fs: an i_extra_isize too small to hold itself means none. */
		if (start >= EXT2_GOOD_OLD_INODE_SIZE + sizeof(uint16_t) &&
		    start + sizeof(uint32_t) < e->inode_size &&
		    get_le32(buf + start) == EXT2_EXT_ATTR_MAGIC) {
			start += sizeof(uint32_t);
			r = scan_entries(&s, buf + start, e->inode_size - start, "in-inode");
			if (r < 0)
				return r;
		}
		free(steal_pointer(&buf));
	}
	blk = ext2fs_file_acl_block(e->fs, (const struct ext2_inode *)&in->raw);
	if (!blk)
		return 0;
	buf = malloc(e->blocksize);
	if (!buf)
		return -ENOMEM;
	r = ext4_read_block(e, in->ino, blk, buf);
	if (r < 0)
		return r;
	/* Anything but a v2 block is libext2fs's to refuse. */
	if (get_le32(buf) != EXT2_EXT_ATTR_MAGIC)
		return 0;
	return scan_entries(&s, buf + XATTR_BLOCK_HEADER_SIZE,
			    e->blocksize - XATTR_BLOCK_HEADER_SIZE, "block");
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
	r = ext4_xattr_check(e, &in);
	if (r < 0)
		return r;
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
