/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Walking the interior nodes and the leaf chain of a dabtree (see dabtree.h). */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "dabtree.h"

/* xfs_da_hash_search() serves all three kinds of entry. */
_Static_assert(sizeof(struct xfs_da_node_entry) == 8 &&
		       offsetof(struct xfs_da_node_entry, hashval) == 0, "node entry");
_Static_assert(sizeof(struct xfs_dir2_leaf_entry) == 8 &&
		       offsetof(struct xfs_dir2_leaf_entry, hashval) == 0, "dir leaf entry");
_Static_assert(sizeof(struct xfs_attr_leaf_entry) == 8 &&
		       offsetof(struct xfs_attr_leaf_entry, hashval) == 0, "attr leaf entry");

static const struct xfs_da_node_entry *node_ents(const uint8_t *node)
{
	return (const struct xfs_da_node_entry *)(node + sizeof(struct xfs_da3_node_hdr));
}

static int read_block(const struct xfs_da_tree *t, uint64_t blk, void *buf, uint32_t *magic)
{
	int r = t->read(t->ctx, blk, buf, magic);

	if (r == -ENOENT)
		return xfs_fs_corrupt(t->x, t->in->ino, "%s dabtree block %llu is a hole",
				      t->what, (unsigned long long)blk);
	return r;
}

/* Check the node just read into @f; @want is the level it must have (-1: the root's, any). */
static int check_node(const struct xfs_da_tree *t, struct xfs_da_frame *f, int want)
{
	const struct xfs_da3_node_hdr *h = (const void *)f->buf;
	const struct xfs_da_node_entry *e = node_ents(f->buf);
	size_t maxcount = (t->blksize - sizeof(*h)) / sizeof(*e);
	unsigned count = be16(h->count), level = be16(h->level);
	unsigned long long b = f->blk;

	if (level == 0 || level >= XFS_DA_NODE_MAXDEPTH)
		return xfs_fs_corrupt(t->x, t->in->ino, "%s dabtree node %llu: level %u",
				      t->what, b, level);
	if (want >= 0 && level != (unsigned)want)
		return xfs_fs_corrupt(t->x, t->in->ino,
				      "%s dabtree node %llu: level %u below one of level %d",
				      t->what, b, level, want + 1);
	if (count == 0 || count > maxcount)
		return xfs_fs_corrupt(t->x, t->in->ino,
				      "%s dabtree node %llu: %u entries (room for %zu)",
				      t->what, b, count, maxcount);
	for (unsigned i = 1; i < count; i++)
		if (be32(e[i].hashval) < be32(e[i - 1].hashval))
			return xfs_fs_corrupt(t->x, t->in->ino,
					      "%s dabtree node %llu: hashes out of order at entry %u",
					      t->what, b, i);
	f->count = count;
	f->level = level;
	return 0;
}

/* The block the entry @f->at points at, which must be one of the tree's. */
static int child(const struct xfs_da_tree *t, const struct xfs_da_frame *f, uint64_t *blk)
{
	uint32_t b = be32(node_ents(f->buf)[f->at].before);

	if (b < t->first || b >= t->end || (b & (t->fsbcount - 1)))
		return xfs_fs_corrupt(t->x, t->in->ino,
				      "%s dabtree node %llu points at block %u, not a block of the tree",
				      t->what, (unsigned long long)f->blk, b);
	*blk = b;
	return 0;
}

/*
 * Read @blk, the child of the deepest node on the path (or the root when
 * the path is empty).  1: a node, checked and pushed on the path; 0: the
 * leaf, in c->leaf.
 */
static int read_below(struct xfs_da_cursor *c, uint64_t blk)
{
	const struct xfs_da_tree *t = c->t;
	/* Levels fall by one from the root's (below MAXDEPTH): the path cannot overflow. */
	int want = c->depth ? (int)c->path[c->depth - 1].level - 1 : -1;
	struct xfs_da_frame *f = NULL;
	uint8_t *buf = c->leaf;
	uint32_t magic;
	int r;

	/* Where only a leaf can be, straight into c->leaf; into the next node buffer otherwise. */
	if (want != 0) {
		f = &c->path[c->depth];
		buf = c->nodes + (size_t)c->depth * t->blksize;
		f->buf = buf;
	}
	r = read_block(t, blk, buf, &magic);
	if (r < 0)
		return r;
	if (magic == XFS_DA3_NODE_MAGIC) {
		if (!f)
			return xfs_fs_corrupt(t->x, t->in->ino,
					      "%s dabtree block %llu: a node where a leaf belongs",
					      t->what, (unsigned long long)blk);
		f->blk = blk;
		r = check_node(t, f, want);
		if (r < 0)
			return r;
		c->depth++;
		return 1;
	}
	if (want > 0)
		return xfs_fs_corrupt(t->x, t->in->ino,
				      "%s dabtree block %llu: a leaf where a node of level %d belongs",
				      t->what, (unsigned long long)blk, want);
	if (buf != c->leaf)
		memcpy(c->leaf, buf, t->blksize);
	c->blk = blk;
	c->magic = magic;
	return 0;
}

int xfs_da_descend(struct xfs_da_cursor *c, uint64_t root, uint32_t hash)
{
	const struct xfs_da3_blkinfo *info = (const void *)c->leaf;
	bool leftmost = true;
	uint64_t blk = root;
	int r;

	c->depth = 0;
	while ((r = read_below(c, blk)) > 0) {
		struct xfs_da_frame *f = &c->path[c->depth - 1];

		/* The first child whose highest hash reaches ours, else the last. */
		f->at = xfs_da_hash_search(node_ents(f->buf), f->count, hash);
		if (f->at == f->count)
			f->at--;
		leftmost &= f->at == 0;
		r = child(c->t, f, &blk);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	c->leaves = 1;
	/* The chain starts where the nodes' leftmost path ends (a lone root leaf has none). */
	if (c->depth && leftmost && be32(info->back) != 0)
		return xfs_fs_corrupt(c->t->x, c->t->in->ino,
				      "%s dabtree leaf %llu: leftmost, but has a left sibling",
				      c->t->what, (unsigned long long)c->blk);
	return 0;
}

int xfs_da_next_leaf(struct xfs_da_cursor *c)
{
	const struct xfs_da_tree *t = c->t;
	const struct xfs_da3_blkinfo *info = (const void *)c->leaf;
	uint64_t prev = c->blk, forw = be32(info->forw), blk = 0;
	int d = (int)c->depth - 1, r;

	/* Up to the lowest node with an entry right of the one we came through. */
	while (d >= 0 && c->path[d].at + 1 >= c->path[d].count)
		d--;
	if (d < 0) {
		if (c->depth && forw)
			return xfs_fs_corrupt(t->x, t->in->ino,
					      "%s dabtree leaf %llu: rightmost, but has a right sibling",
					      t->what, (unsigned long long)prev);
		return 0;
	}
	/* Leaves are blocks of their own: a longer walk goes round a corrupt tree. */
	if (++c->leaves > t->in->nblocks / t->fsbcount)
		return xfs_fs_corrupt(t->x, t->in->ino,
				      "%s dabtree: a walk visits more leaves than the inode has blocks",
				      t->what);
	c->path[d].at++;
	c->depth = (unsigned)d + 1;
	/* Then down the first entries. */
	do {
		r = child(t, &c->path[c->depth - 1], &blk);
		if (r < 0)
			return r;
		r = read_below(c, blk);
		if (r > 0)
			c->path[c->depth - 1].at = 0;
	} while (r > 0);
	if (r < 0)
		return r;
	if (blk != forw || be32(info->back) != prev)
		return xfs_fs_corrupt(t->x, t->in->ino,
				      "%s dabtree block %llu: not the leaf that follows %llu",
				      t->what, (unsigned long long)blk, (unsigned long long)prev);
	return 1;
}
