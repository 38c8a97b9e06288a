/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extended attributes: listxattr and getxattr over the three forms of
 * attr fork (attr.h), with the names and values the kernel's XFS driver
 * gives.
 *
 * Names: on disk a name carries its namespace in flags, so "user.",
 * "trusted." (XFS_ATTR_ROOT) or "security." (XFS_ATTR_SECURE) is put in
 * front; parent pointers (XFS_ATTR_PARENT) and half-written entries
 * (XFS_ATTR_INCOMPLETE) are not shown.  POSIX ACLs are the trusted attrs
 * SGI_ACL_FILE and SGI_ACL_DEFAULT in XFS's own big-endian format; they
 * appear as system.posix_acl_access and system.posix_acl_default in the
 * VFS's format, and also, raw, as trusted.SGI_ACL_*: the kernel lists
 * both (the raw ones to CAP_SYS_ADMIN, as every trusted name), and the
 * tree must read as the kernel's does.
 * Other names are ENODATA, as in the ext4 backend: FUSE takes EOPNOTSUPP
 * from getxattr as "no xattrs on this mount at all".
 */
#include "config.h"

#include <string.h>

#include "attr.h"

/* ---- names ---- */

static const struct {
	unsigned ns;
	const char *prefix;
} namespaces[] = {
	{ 0, "user." },
	{ XFS_ATTR_ROOT, "trusted." },
	{ XFS_ATTR_SECURE, "security." },
};

/* POSIX ACLs: the VFS's name and the trusted attr XFS keeps them in. */
static const struct {
	const char *vfs;
	const char *xfs;
} acl_names[] = {
	{ "system.posix_acl_access", XFS_ACL_FILE_NAME },
	{ "system.posix_acl_default", XFS_ACL_DEFAULT_NAME },
};

#define XATTR_NAME_LEN_MAX 255	/* a u8 on disk */

bool xattr_name_ok(const uint8_t *name, unsigned len)
{
	return len > 0 && !memchr(name, 0, len);
}

int xattr_check_flags(struct xattr *a, unsigned flags, const char *where)
{
	unsigned ns = flags & XFS_ATTR_NSP_MASK;

	if ((flags & ~(XFS_ATTR_LOCAL | XFS_ATTR_NSP_MASK | XFS_ATTR_INCOMPLETE)) ||
	    (ns & (ns - 1)))
		return xfs_fs_corrupt(a->x, a->in.ino, "%s attr with flags 0x%x", where, flags);
	return 0;
}

/* The ACL stored as trusted attr @name, as an index into acl_names, or -1. */
static int acl_index(const uint8_t *name, unsigned len)
{
	for (unsigned i = 0; i < ARRAY_SIZE(acl_names); i++)
		if (len == strlen(acl_names[i].xfs) && !memcmp(name, acl_names[i].xfs, len))
			return (int)i;
	return -1;
}

/* ---- POSIX ACLs ---- */

/*
 * XFS's ACL is struct xfs_acl.  The VFS's (posix_acl_xattr_header) is
 * le32 version 2, then entries of le16 tag, le16 perm, le32 id.  The tag
 * values are the same in both; ids mean something only for ACL_USER and
 * ACL_GROUP, the others read as ACL_UNDEFINED_ID.
 */
#define POSIX_ACL_XATTR_VERSION 2
#define POSIX_ACL_HDR_SIZE 4
#define POSIX_ACL_ENTRY_SIZE 8
#define ACL_UNDEFINED_ID 0xffffffffU

enum { ACL_USER_OBJ = 0x01, ACL_USER = 0x02, ACL_GROUP_OBJ = 0x04, ACL_GROUP = 0x08,
       ACL_MASK = 0x10, ACL_OTHER = 0x20 };

/* Convert the XFS ACL @v (@len bytes) into @out; *@outlen gets its size. */
static int acl_to_vfs(struct xattr *a, const char *name, const uint8_t *v, size_t len,
		      uint8_t *out, size_t *outlen)
{
	const struct xfs_acl *acl = (const void *)v;
	uint32_t count;

	if (len < sizeof(*acl))
		return xfs_fs_corrupt(a->x, a->in.ino, "%s of %zu bytes", name, len);
	count = be32(acl->acl_cnt);
	if (count > XFS_ACL_MAX_ENTRIES ||
	    len != sizeof(*acl) + (size_t)count * sizeof(acl->acl_entry[0]))
		return xfs_fs_corrupt(a->x, a->in.ino, "%s of %zu bytes has %u entries", name, len,
				      count);
	put_le32(out, POSIX_ACL_XATTR_VERSION);
	for (uint32_t i = 0; i < count; i++) {
		const struct xfs_acl_entry *e = &acl->acl_entry[i];
		uint8_t *o = out + POSIX_ACL_HDR_SIZE + i * POSIX_ACL_ENTRY_SIZE;
		uint32_t tag = be32(e->ae_tag), id = be32(e->ae_id);

		switch (tag) {
		case ACL_USER:
		case ACL_GROUP:
			break;
		case ACL_USER_OBJ:
		case ACL_GROUP_OBJ:
		case ACL_MASK:
		case ACL_OTHER:
			id = ACL_UNDEFINED_ID;
			break;
		default:
			return xfs_fs_corrupt(a->x, a->in.ino, "%s entry %u has tag 0x%x", name, i,
					      tag);
		}
		put_le16(o, (uint16_t)tag);
		put_le16(o + 2, be16(e->ae_perm));
		put_le32(o + 4, id);
	}
	*outlen = POSIX_ACL_HDR_SIZE + (size_t)count * POSIX_ACL_ENTRY_SIZE;
	return 0;
}

/* ---- shortform ---- */

/* Check the whole shortform fork, then hand out its entries. */
static int sf_walk(struct xattr *a, xattr_fn fn, void *ctx)
{
	size_t size, off = sizeof(struct xfs_attr_sf_hdr), total;
	const uint8_t *p = xfs_inode_fork(&a->in, XFS_ATTR_FORK, &size);
	const struct xfs_attr_sf_hdr *h = (const void *)p;
	unsigned count;
	int r;

	if (!p || size < sizeof(*h))
		return xfs_fs_corrupt(a->x, a->in.ino, "shortform attrs in a fork of %zu bytes", size);
	total = be16(h->totsize);
	count = h->count;
	if (total < sizeof(*h) || total > size)
		return xfs_fs_corrupt(a->x, a->in.ino, "shortform attrs of %zu bytes in a fork of %zu",
				      total, size);
	for (unsigned i = 0; i < count; i++) {
		const struct xfs_attr_sf_entry *e = (const void *)(p + off);

		if (total - off < sizeof(*e) ||
		    total - off - sizeof(*e) < (size_t)e->namelen + e->valuelen)
			return xfs_fs_corrupt(a->x, a->in.ino, "shortform attr %u overruns %zu bytes",
					      i, total);
		if (!xattr_name_ok(e->nameval, e->namelen))
			return xfs_fs_corrupt(a->x, a->in.ino,
					      "shortform attr %u has an empty name or one with a NUL", i);
		r = xattr_check_flags(a, e->flags, "shortform");
		if (r < 0)
			return r;
		off += sizeof(*e) + e->namelen + e->valuelen;
	}
	if (off != total)
		return xfs_fs_corrupt(a->x, a->in.ino, "%u shortform attrs end at byte %zu of %zu",
				      count, off, total);
	off = sizeof(*h);
	for (unsigned i = 0; i < count; i++) {
		const struct xfs_attr_sf_entry *s = (const void *)(p + off);
		struct xattr_entry e = {
			.name = s->nameval, .namelen = s->namelen, .flags = s->flags | XFS_ATTR_LOCAL,
			.valuelen = s->valuelen, .value = s->nameval + s->namelen,
		};

		off += sizeof(*s) + s->namelen + s->valuelen;
		if (e.flags & XFS_ATTR_INCOMPLETE)
			continue;
		r = fn(ctx, &e);
		if (r)
			return r;
	}
	return 0;
}

struct sf_find {
	unsigned ns;
	const uint8_t *name;
	unsigned len;
	struct xattr_entry *out;
};

static int sf_match(void *ctx, const struct xattr_entry *e)
{
	struct sf_find *f = ctx;

	if ((e->flags & XFS_ATTR_NSP_MASK) != f->ns || e->namelen != f->len ||
	    memcmp(e->name, f->name, f->len))
		return 0;
	*f->out = *e;
	return 1;
}

/* ---- the fork ---- */

static void xattr_release(struct xattr *a)
{
	free(a->blk);
}

/*
 * Read inode @ino for its attrs.  1 when it has some (in whichever form),
 * 0 when it has none.
 */
static int xattr_open(struct xfs_fs *x, uint64_t ino, struct xattr *a)
{
	int r = xfs_read_inode(x, ino, &a->in);

	a->x = x;
	a->blk = NULL;
	if (r < 0)
		return r;
	switch (xfs_inode_fork_format(&a->in, XFS_ATTR_FORK)) {
	case -1:
		return 0;
	case XFS_DINODE_FMT_LOCAL:
		return 1;
	case XFS_DINODE_FMT_EXTENTS:
		/* An emptied fork can be left in extents format with none. */
		if (a->in.anextents == 0)
			return 0;
		/* fallthrough */
	case XFS_DINODE_FMT_BTREE:
		a->blk = malloc(x->blocksize);
		return a->blk ? 1 : -ENOMEM;
	default:
		return xfs_fs_corrupt(x, ino, "attr fork in format %d",
				      xfs_inode_fork_format(&a->in, XFS_ATTR_FORK));
	}
}

static int xattr_walk(struct xattr *a, xattr_fn fn, void *ctx)
{
	return a->blk ? xattr_leaf_walk(a, fn, ctx) : sf_walk(a, fn, ctx);
}

/* 1 with *@e when the attr @name (@len bytes) of namespace @ns exists, else 0. */
static int xattr_find(struct xattr *a, unsigned ns, const char *name, size_t len,
		      struct xattr_entry *e)
{
	struct sf_find f = { ns, (const uint8_t *)name, (unsigned)len, e };

	if (a->blk)
		return xattr_leaf_find(a, ns, (const uint8_t *)name, (unsigned)len, e);
	return sf_walk(a, sf_match, &f);
}

/* ---- listxattr ---- */

struct list_ctx {
	char *buf;
	size_t size;
	size_t used;
};

static int list_add(struct list_ctx *l, const char *prefix, const uint8_t *name, size_t len)
{
	size_t plen = strlen(prefix), n = plen + len + 1;

	if (l->size) {
		if (n > l->size - l->used)
			return -ERANGE;
		memcpy(l->buf + l->used, prefix, plen);
		memcpy(l->buf + l->used + plen, name, len);
		l->buf[l->used + n - 1] = '\0';
	}
	l->used += n;
	return 0;
}

static int list_one(void *ctx, const struct xattr_entry *e)
{
	unsigned ns = e->flags & XFS_ATTR_NSP_MASK;
	int acl;

	if (ns == XFS_ATTR_ROOT && (acl = acl_index(e->name, e->namelen)) >= 0) {
		int r = list_add(ctx, "", (const uint8_t *)acl_names[acl].vfs,
				 strlen(acl_names[acl].vfs));

		if (r < 0)
			return r;
		/* and the raw attr under its own name, below */
	}
	for (unsigned i = 0; i < ARRAY_SIZE(namespaces); i++)
		if (namespaces[i].ns == ns)
			return list_add(ctx, namespaces[i].prefix, e->name, e->namelen);
	return 0;	/* parent pointers */
}

int xfs_listxattr(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t size, size_t *len)
{
	_cleanup_(xattr_release) struct xattr a;
	struct list_ctx l = { .buf = buf, .size = size };
	int r = xattr_open(XFS(fs), ino, &a);

	if (r > 0)
		r = xattr_walk(&a, list_one, &l);
	if (r < 0)
		return r;
	*len = l.used;
	return 0;
}

/* ---- getxattr ---- */

/*
 * The namespace and on-disk name of the VFS name @name, and which ACL it
 * is (-1: none).  -ENODATA for names no attr can have.
 */
static int parse_name(const char *name, unsigned *ns, const char **dname, int *acl)
{
	*acl = -1;
	for (unsigned i = 0; i < ARRAY_SIZE(acl_names); i++)
		if (!strcmp(name, acl_names[i].vfs)) {
			*ns = XFS_ATTR_ROOT;
			*dname = acl_names[i].xfs;
			*acl = (int)i;
			return 0;
		}
	for (unsigned i = 0; i < ARRAY_SIZE(namespaces); i++) {
		size_t plen = strlen(namespaces[i].prefix), len;

		if (strncmp(name, namespaces[i].prefix, plen))
			continue;
		*ns = namespaces[i].ns;
		*dname = name + plen;
		len = strlen(*dname);
		if (len == 0 || len > XATTR_NAME_LEN_MAX)
			return -ENODATA;
		return 0;
	}
	return -ENODATA;
}

int xfs_getxattr(struct imgfs_fs *fs, uint64_t ino, const char *name, void *buf,
		 size_t size, size_t *len)
{
	_cleanup_(xattr_release) struct xattr a;
	_cleanup_free_ uint8_t *value = NULL, *acl_buf = NULL;
	struct xattr_entry e;
	const uint8_t *v;
	const char *dname;
	unsigned ns;
	size_t vlen;
	int acl, r;

	a.blk = NULL;
	r = parse_name(name, &ns, &dname, &acl);
	if (r < 0)
		return r;
	r = xattr_open(XFS(fs), ino, &a);
	if (r <= 0)
		return r < 0 ? r : -ENODATA;
	r = xattr_find(&a, ns, dname, strlen(dname), &e);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENODATA;
	vlen = e.valuelen;
	/* A plain value's size is known without reading it; an ACL's is not. */
	if (acl < 0 && !size) {
		*len = vlen;
		return 0;
	}
	if (acl < 0 && vlen > size)
		return -ERANGE;
	v = e.value;
	if (!(e.flags & XFS_ATTR_LOCAL)) {
		/* Remote blocks are read through a.blk, which @e points into. */
		value = malloc(MAX(vlen, 1));
		if (!value)
			return -ENOMEM;
		r = xattr_remote_read(&a, &e, value);
		if (r < 0)
			return r;
		v = value;
	}
	if (acl >= 0) {
		acl_buf = malloc(MAX(vlen, POSIX_ACL_HDR_SIZE));
		if (!acl_buf)
			return -ENOMEM;
		/* The VFS's form is never larger: 8 bytes an entry against 12. */
		r = acl_to_vfs(&a, acl_names[acl].vfs, v, vlen, acl_buf, &vlen);
		if (r < 0)
			return r;
		v = acl_buf;
		if (size && vlen > size)
			return -ERANGE;
	}
	if (size)
		memcpy(buf, v, vlen);
	*len = vlen;
	return 0;
}
