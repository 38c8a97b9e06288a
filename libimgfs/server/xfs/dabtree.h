/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dabtree: the hash-keyed B+tree that both large directories (from
 * XFS_DIR2_LEAF_OFFSET of the data fork) and attr forks (from block 0 of
 * the attr fork) keep their leaves under.  Interior nodes (DA3 node,
 * 0x3ebe) hold { hashval, before } pairs sorted by hash, where hashval is
 * the highest hash below that child; leaves are chained left to right by
 * the forw/back pointers of their blkinfo headers.  Only the leaves differ
 * between directories and attrs; this walks the nodes for either, and
 * checks what both share:
 *
 *  - node levels count down by one to the leaves (so a walk reads at most
 *    XFS_DA_NODE_MAXDEPTH blocks down), counts fit the block, node hashes
 *    are in order;
 *  - children lie in the tree's block range, on its block granularity,
 *    and are not holes;
 *  - below a node, the leaves the nodes lead to agree with the sibling
 *    chain: the leftmost has no left sibling, the rightmost no right one,
 *    each next leaf is its predecessor's forw and has it as back;
 *  - a walk visits no more leaves than the inode has blocks.
 */
#ifndef IMGFS_XFS_DABTREE_H
#define IMGFS_XFS_DABTREE_H

#include <stdint.h>

#include "xfs.h"

/* One dabtree of one fork. */
struct xfs_da_tree {
	struct xfs_fs *x;
	const struct xfs_inode *in;
	/*
	 * Read block @blk into @buf (blksize bytes), verified as a DA3 node
	 * or one of the tree's leaves, its magic to *@magic; -ENOENT,
	 * quietly, for a hole.  @ctx is the one below.
	 */
	int (*read)(void *ctx, uint64_t blk, void *buf, uint32_t *magic);
	void *ctx;
	uint32_t blksize;		/* bytes per dabtree block */
	unsigned fsbcount;		/* fs blocks per dabtree block: a power of two */
	uint64_t first, end;		/* children are blocks in [first, end), fsbcount-aligned */
	const char *what;		/* "attr", "directory": for messages */
};

/* A node on the way down: the entry we went through. */
struct xfs_da_frame {
	const uint8_t *buf;		/* the node, in the cursor's @nodes */
	uint64_t blk;
	unsigned count, level;
	unsigned at;
};

/* Node levels above the leaves: the most nodes a path holds. */
#define XFS_DA_CURSOR_NODES (XFS_DA_NODE_MAXDEPTH - 1)

/*
 * A position in a tree: the nodes from the root down and the leaf they
 * lead to.  The caller sets .t and the buffers, which it owns: .leaf of
 * blksize bytes, .nodes of XFS_DA_CURSOR_NODES blocks; the rest zero.
 */
struct xfs_da_cursor {
	const struct xfs_da_tree *t;
	uint8_t *leaf;
	uint8_t *nodes;
	struct xfs_da_frame path[XFS_DA_CURSOR_NODES];
	unsigned depth;			/* nodes in @path; 0: the root is the leaf */
	uint64_t blk;			/* the leaf's block */
	uint32_t magic;			/* and its magic */
	uint64_t leaves;		/* leaves visited */
};

/*
 * Descend from the block at @root (a node or, for a one-block tree, the
 * leaf itself) towards @hash: at each node, the first entry whose hashval
 * is at least @hash (the last entry if none is), down to the leaf, which
 * ends up in c->leaf, verified by the read hook, with c->blk and c->magic.
 */
int xfs_da_descend(struct xfs_da_cursor *c, uint64_t root, uint32_t hash);

/*
 * Move to the leaf after the current one: 1 with it in c->leaf, 0 at the
 * end of the tree.
 */
int xfs_da_next_leaf(struct xfs_da_cursor *c);

/*
 * In @count entries of 8 bytes that start with a be32 hashval sorted
 * ascending (node entries, directory and attr leaf entries alike), the
 * first whose hashval is at least @hash; @count if none is.
 */
static inline unsigned xfs_da_hash_search(const void *ents, unsigned count, uint32_t hash)
{
	const uint8_t *p = ents;
	unsigned lo = 0, hi = count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (get_be32(p + 8 * (size_t)mid) < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#endif
