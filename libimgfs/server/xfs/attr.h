/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extended attributes, private to attr.c and attr-leaf.c.
 *
 * An inode's attrs live in its attr fork in one of three forms:
 *
 *   shortform  LOCAL fork: struct xfs_attr_sf_hdr, then packed entries
 *              { namelen, valuelen, flags, name, value }; no hash index.
 *   leaf       one attr leaf block (0x3bee) at fork block 0: entries
 *              { hashval, nameidx, flags } sorted by hash, and from the
 *              block's end down the name structs they point at: local
 *              { be16 valuelen, namelen, name, value } or remote
 *              { be32 valueblk, be32 valuelen, namelen, name }.
 *   node       a dabtree (dabtree.h) rooted at fork block 0 over leaves.
 *
 * Remote values fill fork blocks from valueblk on, each block headed by
 * struct xfs_attr3_rmt_hdr and holding blocksize - 56 bytes of the value.
 * Names are hashed without their namespace, which the flags carry.
 */
#ifndef IMGFS_XFS_ATTR_H
#define IMGFS_XFS_ATTR_H

#include <stdbool.h>
#include <stdint.h>

#include "xfs.h"

/* One attr, as the forms' walkers and lookups hand them out. */
struct xattr_entry {
	const uint8_t *name;
	unsigned namelen;
	unsigned flags;			/* XFS_ATTR_*: the namespace bits and LOCAL */
	uint32_t valuelen;
	const uint8_t *value;		/* the value when local */
	uint32_t valueblk;		/* first fork block of a remote value */
};

/* Called per complete attr; a non-zero return stops the walk and is returned. */
typedef int (*xattr_fn)(void *ctx, const struct xattr_entry *e);

/* One inode's attr fork being read. */
struct xattr {
	struct xfs_fs *x;
	struct xfs_inode in;
	uint8_t *blk;			/* one fs block: the leaf, then remote value blocks */
};

/* attr-leaf.c: the leaf and node forms, and remote values. */
int xattr_leaf_walk(struct xattr *a, xattr_fn fn, void *ctx);
/* 1 with *@e found (pointing into a->blk), 0 absent, negative errno. */
int xattr_leaf_find(struct xattr *a, unsigned ns, const uint8_t *name, unsigned len,
		    struct xattr_entry *e);
/* The remote value of @e into @buf (e->valuelen bytes). */
int xattr_remote_read(struct xattr *a, const struct xattr_entry *e, uint8_t *buf);

/* attr.c */
bool xattr_name_ok(const uint8_t *name, unsigned len);
int xattr_check_flags(struct xattr *a, unsigned flags, const char *where);

#endif
