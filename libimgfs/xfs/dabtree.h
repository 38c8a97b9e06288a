/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dabtree: the hash-keyed B+tree that both large directories (from
 * XFS_DIR2_LEAF_OFFSET of the data fork) and attr forks (from block 0 of
 * the attr fork) keep their leaves under.  Interior nodes (DA3 node,
 * 0x3ebe) hold { hashval, before } pairs sorted by hash, where hashval is
 * the highest hash below that child; leaves are chained left to right by
 * the forw/back pointers of their blkinfo headers.  Only the leaves differ
 * between directories and attrs; this walks the nodes for either.
 */
#ifndef IMGFS_XFS_DABTREE_H
#define IMGFS_XFS_DABTREE_H

#include <stdint.h>

#include "xfs.h"

/* One dabtree of one fork. */
struct xfs_da_tree {
	struct xfs_fs *x;
	const struct xfs_inode *in;
	enum xfs_fork fork;
	unsigned fsbcount;			/* fs blocks per dabtree block */
	const struct xfs_blk_verify *verify;	/* must accept XFS_DA3_NODE_MAGIC and the leaves */
	const char *what;			/* "attr", "directory": for messages */
};

/*
 * Descend from the block at @root (a node or, for a one-block tree, the
 * leaf itself) towards @hash: at each node, the first entry whose hashval
 * is at least @hash (the last entry if none is), down to the leaf.  On
 * return @buf (fsbcount blocks) holds that leaf, verified by @t->verify,
 * *@blk is its block number and *@magic its magic.  Node levels must
 * count down by one to the leaves; counts must fit the block; a child that
 * is a hole is corrupt.  Reads at most XFS_DA_NODE_MAXDEPTH blocks.
 */
int xfs_da_descend(const struct xfs_da_tree *t, uint64_t root, uint32_t hash, void *buf,
		   uint64_t *blk, uint32_t *magic);

/*
 * Read the right sibling @next of the leaf at @blk into @buf, verified,
 * its back pointer checked to be @blk (so a walk along the chain cannot
 * loop, given that the leftmost leaf has no back pointer).
 */
int xfs_da_next_leaf(const struct xfs_da_tree *t, uint64_t blk, uint64_t next, void *buf,
		     uint32_t *magic);

#endif
