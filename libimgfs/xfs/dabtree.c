/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Walking the interior nodes and the leaf chain of a dabtree (see dabtree.h). */
#include "config.h"

#include "dabtree.h"

static int read_block(const struct xfs_da_tree *t, uint64_t blk, void *buf, uint32_t *magic)
{
	int r = xfs_read_fork_blocks(t->x, t->in, t->fork, blk, t->fsbcount, buf, t->verify,
				     magic);

	if (r == -ENOENT)
		return xfs_fs_corrupt(t->x, t->in->ino, "%s dabtree block %llu is a hole",
				      t->what, (unsigned long long)blk);
	return r;
}

int xfs_da_descend(const struct xfs_da_tree *t, uint64_t root, uint32_t hash, void *buf,
		   uint64_t *blk, uint32_t *magic)
{
	size_t size = (size_t)t->fsbcount << t->x->blocklog;
	size_t maxcount = (size - sizeof(struct xfs_da3_node_hdr)) /
			  sizeof(struct xfs_da_node_entry);
	unsigned long long b = root;
	int want_level = -1;	/* of the block read next: -1 any (the root) */

	for (;;) {
		const struct xfs_da3_node_hdr *h = buf;
		const struct xfs_da_node_entry *e;
		unsigned count, level, lo, hi;
		int r = read_block(t, b, buf, magic);

		if (r < 0)
			return r;
		if (*magic != XFS_DA3_NODE_MAGIC) {
			if (want_level > 0)
				return xfs_fs_corrupt(t->x, t->in->ino,
						      "%s dabtree block %llu: a leaf where a node of level %d belongs",
						      t->what, b, want_level);
			*blk = b;
			return 0;
		}
		count = be16(h->count);
		level = be16(h->level);
		if (level == 0 || level >= XFS_DA_NODE_MAXDEPTH)
			return xfs_fs_corrupt(t->x, t->in->ino, "%s dabtree node %llu: level %u",
					      t->what, b, level);
		if (want_level >= 0 && level != (unsigned)want_level)
			return xfs_fs_corrupt(t->x, t->in->ino,
					      "%s dabtree node %llu: level %u below one of level %d",
					      t->what, b, level, want_level + 1);
		if (count == 0 || count > maxcount)
			return xfs_fs_corrupt(t->x, t->in->ino,
					      "%s dabtree node %llu: %u entries (room for %zu)",
					      t->what, b, count, maxcount);
		/* The first entry whose hashval >= hash; the last if none is. */
		e = (const struct xfs_da_node_entry *)(h + 1);
		lo = 0;
		hi = count - 1;
		while (lo < hi) {
			unsigned mid = lo + (hi - lo) / 2;

			if (be32(e[mid].hashval) < hash)
				lo = mid + 1;
			else
				hi = mid;
		}
		b = be32(e[lo].before);
		want_level = (int)level - 1;
	}
}

int xfs_da_next_leaf(const struct xfs_da_tree *t, uint64_t blk, uint64_t next, void *buf,
		     uint32_t *magic)
{
	const struct xfs_da3_blkinfo *info = buf;
	int r = read_block(t, next, buf, magic);

	if (r < 0)
		return r;
	if (*magic == XFS_DA3_NODE_MAGIC || be32(info->back) != blk)
		return xfs_fs_corrupt(t->x, t->in->ino,
				      "%s dabtree block %llu: not the leaf that follows %llu",
				      t->what, (unsigned long long)next, (unsigned long long)blk);
	return 0;
}
