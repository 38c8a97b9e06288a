/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attr leaves, the dabtree over them, and remote values (see attr.h).
 *
 * Every leaf is checked whole before use, as the kernel's verifier does:
 * the entry array below the name area, hashes in ascending order, each
 * name struct inside the block, names non-empty and free of NULs, flags
 * known, remote values at most 64 KiB.  Lookups then binary-search the
 * sorted entries of the one leaf the node tree leads to, and move right
 * along the leaf chain only while the hash still matches.
 */
#include "config.h"

#include <string.h>

#include "attr.h"
#include "dabtree.h"

#define LEAF_HDR_SIZE sizeof(struct xfs_attr3_leaf_hdr)
#define NAME_LOCAL_SIZE sizeof(struct xfs_attr_leaf_name_local)	/* 3: before the name */
#define NAME_REMOTE_SIZE sizeof(struct xfs_attr_leaf_name_remote)	/* 9 */
#define RMT_HDR_SIZE sizeof(struct xfs_attr3_rmt_hdr)

_Static_assert(NAME_LOCAL_SIZE == 3, "xfs_attr_leaf_name_local is 3 bytes before the name");
_Static_assert(NAME_REMOTE_SIZE == 9, "xfs_attr_leaf_name_remote is 9 bytes before the name");

static const struct xfs_attr_leaf_entry *leaf_entries(const struct xattr *a)
{
	return (const struct xfs_attr_leaf_entry *)(a->blk + LEAF_HDR_SIZE);
}

/* Decode entry @i of the checked leaf in a->blk. */
static void leaf_entry(const struct xattr *a, unsigned i, struct xattr_entry *e)
{
	const struct xfs_attr_leaf_entry *ent = &leaf_entries(a)[i];
	const uint8_t *p = a->blk + be16(ent->nameidx);

	e->flags = ent->flags;
	if (ent->flags & XFS_ATTR_LOCAL) {
		const struct xfs_attr_leaf_name_local *l = (const void *)p;

		e->namelen = l->namelen;
		e->name = l->nameval;
		e->valuelen = be16(l->valuelen);
		e->value = l->nameval + l->namelen;
		e->valueblk = 0;
	} else {
		const struct xfs_attr_leaf_name_remote *rm = (const void *)p;

		e->namelen = rm->namelen;
		e->name = rm->name;
		e->valuelen = be32(rm->valuelen);
		e->value = NULL;
		e->valueblk = be32(rm->valueblk);
	}
}

/* Check the attr leaf in a->blk, read from fork block @blk; *@count gets its entries. */
static int leaf_check(struct xattr *a, uint64_t blk, unsigned *count)
{
	const struct xfs_attr3_leaf_hdr *h = (const void *)a->blk;
	const struct xfs_attr_leaf_entry *ents = leaf_entries(a);
	unsigned long long b = blk;
	size_t bs = a->x->blocksize, firstused = be16(h->firstused);
	uint32_t last = 0;
	unsigned n = be16(h->count);

	/* 64 KiB blocks store a name area starting at the very end as 0. */
	if (firstused == 0 && bs > UINT16_MAX)
		firstused = bs;
	if (firstused > bs || firstused < LEAF_HDR_SIZE + (size_t)n * sizeof(*ents))
		return xfs_fs_corrupt(a->x, a->in.ino,
				      "attr leaf %llu: %u entries and names from byte %zu do not fit",
				      b, n, firstused);
	for (unsigned i = 0; i < n; i++) {
		size_t idx = be16(ents[i].nameidx), need;
		unsigned flags = ents[i].flags;
		struct xattr_entry e;
		int r;

		if (be32(ents[i].hashval) < last)
			return xfs_fs_corrupt(a->x, a->in.ino, "attr leaf %llu: entry %u out of hash order",
					      b, i);
		last = be32(ents[i].hashval);
		r = xattr_check_flags(a, flags, "leaf");
		if (r < 0)
			return r;
		need = flags & XFS_ATTR_LOCAL ? NAME_LOCAL_SIZE : NAME_REMOTE_SIZE;
		if (idx < firstused || idx > bs || bs - idx < need)
			return xfs_fs_corrupt(a->x, a->in.ino,
					      "attr leaf %llu: entry %u names byte %zu of %zu", b, i, idx, bs);
		leaf_entry(a, i, &e);
		need += e.namelen + (flags & XFS_ATTR_LOCAL ? e.valuelen : 0);
		if (need > bs - idx)
			return xfs_fs_corrupt(a->x, a->in.ino,
					      "attr leaf %llu: entry %u overruns the block", b, i);
		if (!xattr_name_ok(e.name, e.namelen))
			return xfs_fs_corrupt(a->x, a->in.ino,
					      "attr leaf %llu: entry %u has an empty name or one with a NUL",
					      b, i);
		if (!(flags & (XFS_ATTR_LOCAL | XFS_ATTR_INCOMPLETE)) &&
		    (e.valueblk == 0 || e.valuelen > XFS_XATTR_SIZE_MAX))
			return xfs_fs_corrupt(a->x, a->in.ino,
					      "attr leaf %llu: entry %u: remote value of %u bytes at block %u",
					      b, i, e.valuelen, e.valueblk);
	}
	*count = n;
	return 0;
}

/* Leaves and nodes are one fs block each, from fork block 0 on. */
static int read_dablk(void *ctx, uint64_t blk, void *buf, uint32_t *magic)
{
	struct xattr *a = ctx;

	return xfs_read_fork_blocks(a->x, &a->in, XFS_ATTR_FORK, blk, 1, buf,
				    &xfs_verify_attr3_dablk, magic);
}

/* The fork as a dabtree: rooted at block 0, which no node may point back at. */
static struct xfs_da_tree attr_tree(struct xattr *a)
{
	return (struct xfs_da_tree){
		.x = a->x, .in = &a->in, .read = read_dablk, .ctx = a,
		.blksize = a->x->blocksize, .fsbcount = 1,
		.first = 1, .end = 1ULL << 32, .what = "attr",
	};
}

int xattr_leaf_walk(struct xattr *a, xattr_fn fn, void *ctx)
{
	const struct xfs_da_tree t = attr_tree(a);
	_cleanup_free_ uint8_t *nodes = malloc(XFS_DA_CURSOR_NODES * (size_t)t.blksize);
	struct xfs_da_cursor c = { .t = &t, .leaf = a->blk, .nodes = nodes };
	int r = nodes ? xfs_da_descend(&c, 0, 0) : -ENOMEM;

	while (r >= 0) {
		unsigned count;

		r = leaf_check(a, c.blk, &count);
		if (r < 0)
			return r;
		for (unsigned i = 0; i < count; i++) {
			struct xattr_entry e;

			leaf_entry(a, i, &e);
			if (e.flags & XFS_ATTR_INCOMPLETE)
				continue;
			r = fn(ctx, &e);
			if (r)
				return r;
		}
		r = xfs_da_next_leaf(&c);
		if (r == 0)
			return 0;
	}
	return r;
}

int xattr_leaf_find(struct xattr *a, unsigned ns, const uint8_t *name, unsigned len,
		    struct xattr_entry *e)
{
	uint32_t hash = xfs_da_hashname(name, len);
	const struct xfs_da_tree t = attr_tree(a);
	_cleanup_free_ uint8_t *nodes = malloc(XFS_DA_CURSOR_NODES * (size_t)t.blksize);
	struct xfs_da_cursor c = { .t = &t, .leaf = a->blk, .nodes = nodes };
	int r = nodes ? xfs_da_descend(&c, 0, hash) : -ENOMEM;

	while (r >= 0) {
		const struct xfs_attr_leaf_entry *ents = leaf_entries(a);
		unsigned count, i;

		r = leaf_check(a, c.blk, &count);
		if (r < 0)
			return r;
		for (i = xfs_da_hash_search(ents, count, hash); i < count; i++) {
			if (be32(ents[i].hashval) != hash)
				return 0;
			leaf_entry(a, i, e);
			if (!(e->flags & XFS_ATTR_INCOMPLETE) &&
			    (e->flags & XFS_ATTR_NSP_MASK) == ns && e->namelen == len &&
			    !memcmp(e->name, name, len))
				return 1;
		}
		/* Names of one hash may go on in the next leaf. */
		r = xfs_da_next_leaf(&c);
		if (r == 0)
			return 0;
	}
	return r;
}

int xattr_remote_read(struct xattr *a, const struct xattr_entry *e, uint8_t *buf)
{
	uint32_t per = a->x->blocksize - (uint32_t)RMT_HDR_SIZE, len = e->valuelen;
	uint64_t first = e->valueblk;

	for (uint32_t off = 0, i = 0; off < len; off += per, i++) {
		const struct xfs_attr3_rmt_hdr *h = (const void *)a->blk;
		uint32_t n = MIN(per, len - off);
		int r = xfs_read_fork_blocks(a->x, &a->in, XFS_ATTR_FORK, first + i, 1, a->blk,
					     &xfs_verify_attr3_rmt, NULL);

		if (r == -ENOENT)
			return xfs_fs_corrupt(a->x, a->in.ino, "remote attr value block %llu is a hole",
					      (unsigned long long)(first + i));
		if (r < 0)
			return r;
		if (be32(h->rm_offset) != off || be32(h->rm_bytes) != n)
			return xfs_fs_corrupt(a->x, a->in.ino,
					      "remote attr value block %llu holds bytes %u+%u, not %u+%u",
					      (unsigned long long)(first + i), be32(h->rm_offset),
					      be32(h->rm_bytes), off, n);
		memcpy(buf + off, a->blk + RMT_HDR_SIZE, n);
	}
	return 0;
}
