/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block allocation for file data: where a file's next blocks should go,
 * finding contiguous free runs there, and mapping them into an extent tree
 * (as unwritten extents) or an indirect block map.  Every run is claimed
 * in the bitmaps before it is mapped and released again if mapping fails,
 * so a failed allocation leaks nothing and leaves no half-made extent.
 */
#include "config.h"

#include <string.h>

#include "ext4.h"

/* Extents hold at most this many blocks (EXT_INIT_MAX_LEN, EXT_UNINIT_MAX_LEN). */
#define MAX_INIT_LEN	EXT_INIT_MAX_LEN
#define MAX_UNINIT_LEN	EXT_UNINIT_MAX_LEN
/* Block-mapped files set pointers one by one: map at most this many per call. */
#define MAX_INDIRECT_RUN 1024

void ext4_extent_freep(ext2_extent_handle_t *h)
{
	if (*h)
		ext2fs_extent_free(*h);
}

int ext4_alloc_errno(errcode_t err, uint64_t ino, const char *what)
{
	/* libext2fs says the bitmaps have no room: the disk is full, not corrupt. */
	if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
		return -ENOSPC;
	return ext4_errno(err, ino, what);
}

/* The first block of @ino's (flex) group: where a file without blocks starts. */
static uint64_t group_goal(struct ext4_fs *e, uint64_t ino)
{
	return ext2fs_find_inode_goal(e->fs, (ext2_ino_t)ino, NULL, 0);
}

static uint64_t clamp_goal(struct ext4_fs *e, uint64_t ino, uint64_t goal)
{
	if (goal < e->first_data_block || goal >= e->blocks_count)
		return group_goal(e, ino);
	return goal;
}

/*
 * As the kernel's ext4_ext_find_goal: right after the extent before
 * @lblk, as far on as @lblk is from it, so that a file written in order
 * lies in order; or before the first extent; or the inode's group.  @h
 * rests where goto2 left it after missing @lblk.
 */
static uint64_t extent_goal(struct ext4_fs *e, uint64_t ino, ext2_extent_handle_t h,
			    uint64_t lblk)
{
	struct ext2fs_extent x;

	if (ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &x) || !(x.e_flags & EXT2_EXTENT_FLAGS_LEAF))
		return group_goal(e, ino);
	if (x.e_lblk <= lblk)
		return clamp_goal(e, ino, x.e_pblk + (lblk - x.e_lblk));
	if (x.e_pblk > x.e_lblk - lblk)
		return clamp_goal(e, ino, x.e_pblk - (x.e_lblk - lblk));
	return group_goal(e, ino);
}

/*
 * The first free run of at least @n blocks at or after @goal, wrapping
 * once to the start of the filesystem: 0 with *@start and its length
 * (at most @max) in *@len, or -ENOSPC.  Our own, not ext2fs_new_range:
 * that one starts over for ever when the last block of the filesystem is
 * in use and no run is long enough (a fallocate larger than the free
 * space never returned).
 */
static int find_run(struct ext4_fs *e, uint64_t goal, uint64_t n, uint64_t max,
		    uint64_t *start, uint64_t *len)
{
	ext2fs_block_bitmap map = e->fs->block_map;
	uint64_t last = e->blocks_count - 1;

	for (int pass = 0; pass < 2; pass++) {
		uint64_t pos = pass ? e->first_data_block : goal;
		uint64_t stop = pass ? goal : last + 1;

		while (pos < stop) {
			blk64_t zero, set;
			uint64_t lim, end;

			if (ext2fs_find_first_zero_block_bitmap2(map, pos, last, &zero) != 0 ||
			    zero >= stop)
				break;
			lim = MIN(zero + max - 1, last);
			end = ext2fs_find_first_set_block_bitmap2(map, zero, lim, &set) == 0 ? set
											 : lim + 1;
			if (end - zero >= n) {
				*start = zero;
				*len = end - zero;
				return 0;
			}
			pos = end;
		}
	}
	return -ENOSPC;
}

/*
 * Find and claim a free run of up to @want blocks near @goal: the first
 * run at or after @goal that is long enough, asking for less each time
 * none is, so a full disk still yields its fragments.  A search that
 * fails has looked at the whole bitmap; e->alloc_no_run remembers it, so
 * that filling a fragmented disk does not repeat the failing searches
 * for every run it takes.
 */
static int claim_run(struct ext4_fs *e, uint64_t ino, uint64_t goal, uint64_t want,
		     uint64_t *pblk, uint64_t *plen)
{
	uint64_t start = 0, len = 0;
	int r = -ENOSPC;

	for (uint64_t n = want; n > 0; n /= 2) {
		if (e->alloc_no_run && n >= e->alloc_no_run)
			continue;
		r = find_run(e, goal, n, want, &start, &len);
		if (r == 0)
			break;
		e->alloc_no_run = n;
	}
	if (r < 0)
		return r;
	if (!ext4_blocks_ok(e, ino, start, len))
		return fs_corrupt("inode %llu: the block bitmap offers blocks %llu-%llu, which hold metadata",
				  (unsigned long long)ino, (unsigned long long)start,
				  (unsigned long long)(start + len - 1));
	ext2fs_block_alloc_stats_range(e->fs, start, (blk_t)len, +1);
	*pblk = start;
	*plen = len;
	return 0;
}

static void release_run(struct ext4_fs *e, uint64_t pblk, uint64_t len)
{
	if (len)
		ext2fs_block_alloc_stats_range(e->fs, pblk, (blk_t)len, -1);
}

/*
 * Put the new unwritten extent @x into the tree at the position goto2
 * left @h (after missing x->e_lblk): lengthen the extent before it when
 * @x continues it on disk and both are unwritten, else insert @x.
 */
static errcode_t insert_unwritten(ext2_extent_handle_t h, struct ext2fs_extent *x)
{
	struct ext2fs_extent prev;
	errcode_t err;
	int op = 0;

	err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &prev);
	if (err == EXT2_ET_NO_CURRENT_NODE)
		return ext2fs_extent_insert(h, 0, x);	/* an empty tree */
	if (err)
		return err;
	if (prev.e_lblk < x->e_lblk) {
		if ((prev.e_flags & EXT2_EXTENT_FLAGS_UNINIT) &&
		    prev.e_lblk + prev.e_len == x->e_lblk && prev.e_pblk + prev.e_len == x->e_pblk &&
		    prev.e_len + x->e_len <= MAX_UNINIT_LEN) {
			prev.e_len += x->e_len;
			err = ext2fs_extent_replace(h, 0, &prev);
			return err ? err : ext2fs_extent_fix_parents(h);
		}
		op = EXT2_EXTENT_INSERT_AFTER;
	}
	/* Else @h rests on the leaf's first extent, which lies after @x. */
	err = ext2fs_extent_insert(h, op, x);
	return err ? err : ext2fs_extent_fix_parents(h);
}

/* Allocate blocks for the hole at [@lblk, +@count) of an extent file, as one unwritten extent. */
static int alloc_extent(struct ext4_fs *e, struct ext4_inode *in, uint64_t lblk,
			uint64_t count, struct ext4_map *map)
{
	_cleanup_(ext4_extent_freep) ext2_extent_handle_t h = NULL;
	struct ext2fs_extent x = { .e_lblk = lblk, .e_flags = EXT2_EXTENT_FLAGS_UNINIT };
	uint64_t pblk, plen;
	errcode_t err;
	int r;

	err = ext2fs_extent_open2(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&in->raw), &h);
	if (err)
		return ext4_errno(err, in->ino, "opening the extent tree");
	err = ext2fs_extent_goto2(h, 0, lblk);
	if (err != EXT2_ET_EXTENT_NOT_FOUND)
		return err ? ext4_errno(err, in->ino, "looking up an extent") :
			     fs_corrupt("inode %llu: block %llu is mapped after all",
					(unsigned long long)in->ino, (unsigned long long)lblk);
	r = claim_run(e, in->ino, extent_goal(e, in->ino, h, lblk), MIN(count, MAX_UNINIT_LEN),
		      &pblk, &plen);
	if (r < 0)
		return r;
	x.e_pblk = pblk;
	x.e_len = (uint32_t)plen;
	err = insert_unwritten(h, &x);
	if (!err)
		err = ext2fs_iblk_add_blocks(e->fs, EXT2_INODE(&in->raw), plen);
	if (err) {
		/* The tree took nothing (or only a split node, which it keeps). */
		release_run(e, pblk, plen);
		return ext4_alloc_errno(err, in->ino, "adding an extent");
	}
	r = ext4_inode_write(e, in);
	if (r < 0)
		return r;
	*map = (struct ext4_map){ .lblk = lblk, .len = plen, .pblk = pblk, .unwritten = true };
	return 0;
}

/* The block after the one mapped before @lblk, or the inode's group. */
static int indirect_goal(struct ext4_fs *e, struct ext4_inode *in, uint64_t lblk, uint64_t *goal)
{
	struct ext4_map prev;
	int r;

	*goal = group_goal(e, in->ino);
	if (lblk == 0)
		return 0;
	r = ext4_map_block(e, in, lblk - 1, &prev);
	if (r < 0)
		return r;
	if (prev.pblk)
		*goal = clamp_goal(e, in->ino, prev.pblk + (lblk - prev.lblk));
	return 0;
}

/*
 * Allocate blocks for the hole at [@lblk, +@count) of a block-mapped
 * file: one contiguous run, its pointers set one by one (libext2fs adds
 * the indirect blocks they need, and counts those).
 */
static int alloc_indirect(struct ext4_fs *e, struct ext4_inode *in, uint64_t lblk,
			  uint64_t count, struct ext4_map *map)
{
	uint64_t goal, pblk, plen, done;
	errcode_t err = 0;
	int r;

	r = indirect_goal(e, in, lblk, &goal);
	if (r < 0)
		return r;
	r = claim_run(e, in->ino, goal, MIN(count, MAX_INDIRECT_RUN), &pblk, &plen);
	if (r < 0)
		return r;
	for (done = 0; done < plen; done++) {
		blk64_t b = pblk + done;

		err = ext2fs_bmap2(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&in->raw), NULL,
				   BMAP_ALLOC | BMAP_SET, lblk + done, NULL, &b);
		if (err)
			break;
	}
	/* Blocks whose pointer could not be set go back; those set are the file's. */
	release_run(e, pblk + done, plen - done);
	if (done) {
		errcode_t e2 = ext2fs_iblk_add_blocks(e->fs, EXT2_INODE(&in->raw), done);

		if (e2)
			return ext4_errno(e2, in->ino, "counting blocks");
		r = ext4_inode_write(e, in);
		if (r < 0)
			return r;
	}
	if (!done)
		return ext4_alloc_errno(err, in->ino, "mapping a block");
	*map = (struct ext4_map){ .lblk = lblk, .len = done, .pblk = pblk, .unwritten = false };
	return 0;
}

int ext4_alloc_blocks(struct ext4_fs *e, struct ext4_inode *in, uint64_t lblk, uint64_t count,
		      struct ext4_map *map, bool *fresh)
{
	uint64_t limit = ((in->raw.i_flags & EXT4_EXTENTS_FL) ? e->base.max_file_size :
			  e->max_bitmap_size) >> e->blockbits;
	struct ext4_map hole;
	int r;

	*fresh = false;
	if (lblk >= limit)
		return -EFBIG;
	r = ext4_map_block(e, in, lblk, &hole);
	if (r < 0)
		return r;
	if (hole.pblk) {
		*map = hole;
		return 0;
	}
	/* The hole may start before @lblk; allocate from @lblk to its end at most. */
	count = MIN(count, hole.lblk + hole.len - lblk);
	count = MIN(count, limit - lblk);
	if (count == 0)
		return fs_corrupt("inode %llu: empty hole at block %llu", (unsigned long long)in->ino,
				  (unsigned long long)lblk);
	*fresh = true;
	if (in->raw.i_flags & EXT4_EXTENTS_FL)
		return alloc_extent(e, in, lblk, count, map);
	return alloc_indirect(e, in, lblk, count, map);
}

/* True when @b continues @a, logically and on disk, both written, and fits one extent. */
static bool mergeable(const struct ext2fs_extent *a, const struct ext2fs_extent *b)
{
	return !(a->e_flags & EXT2_EXTENT_FLAGS_UNINIT) && !(b->e_flags & EXT2_EXTENT_FLAGS_UNINIT) &&
	       a->e_lblk + a->e_len == b->e_lblk && a->e_pblk + a->e_len == b->e_pblk &&
	       (uint64_t)a->e_len + b->e_len <= MAX_INIT_LEN;
}

static errcode_t replace_fixed(ext2_extent_handle_t h, struct ext2fs_extent *x)
{
	errcode_t err = ext2fs_extent_replace(h, 0, x);

	return err ? err : ext2fs_extent_fix_parents(h);
}

errcode_t ext4_extent_delete_fixed(ext2_extent_handle_t h)
{
	errcode_t err = ext2fs_extent_delete(h, 0);

	if (!err)
		err = ext2fs_extent_fix_parents(h);
	/* The tree's last extent is gone: no parents to fix. */
	return err == EXT2_ET_NO_CURRENT_NODE ? 0 : err;
}

/*
 * Fold the written extent @x (current in @h) into a written neighbour it
 * continues: the previous extent grows over it, or it grows over the
 * next.  Merging keeps a file written in pieces to few extents, as the
 * kernel's ext4_ext_try_to_merge.  Only the extents' lengths and
 * positions change, never a block's owner.
 */
static errcode_t merge_written(ext2_extent_handle_t h, struct ext2fs_extent x)
{
	struct ext2fs_extent n;
	errcode_t err;

	err = ext2fs_extent_get(h, EXT2_EXTENT_PREV_LEAF, &n);
	if (!err && mergeable(&n, &x)) {
		/* Drop @x, then let the previous extent cover it. */
		err = ext2fs_extent_goto(h, x.e_lblk);
		if (!err)
			err = ext4_extent_delete_fixed(h);
		if (!err)
			err = ext2fs_extent_goto(h, n.e_lblk);
		if (err)
			return err;
		n.e_len += x.e_len;
		err = replace_fixed(h, &n);
		if (err)
			return err;
		x = n;
	} else if (err && err != EXT2_ET_EXTENT_NO_PREV) {
		return err;
	}
	err = ext2fs_extent_goto(h, x.e_lblk);
	if (err)
		return err;
	err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &n);
	if (err == EXT2_ET_EXTENT_NO_NEXT)
		return 0;
	if (err || !mergeable(&x, &n))
		return err;
	err = ext4_extent_delete_fixed(h);
	if (!err)
		err = ext2fs_extent_goto(h, x.e_lblk);
	if (err)
		return err;
	x.e_len += n.e_len;
	return replace_fixed(h, &x);
}

/*
 * Blocks [@s, @t) of the unwritten extent @x (current in @h, holding @s)
 * are now written: split off what stays unwritten on either side, mark
 * the middle written, and merge it with written neighbours.
 */
static errcode_t convert_extent(ext2_extent_handle_t h, struct ext2fs_extent x, uint64_t s,
				uint64_t t)
{
	const uint64_t a = x.e_lblk, b = x.e_lblk + x.e_len;
	struct ext2fs_extent mid = { .e_lblk = s, .e_pblk = x.e_pblk + (s - a),
				     .e_len = (uint32_t)(t - s) };
	errcode_t err;

	if (t < b) {
		struct ext2fs_extent right = { .e_lblk = t, .e_pblk = x.e_pblk + (t - a),
					       .e_len = (uint32_t)(b - t),
					       .e_flags = EXT2_EXTENT_FLAGS_UNINIT };

		x.e_len = (uint32_t)(t - a);
		err = replace_fixed(h, &x);
		if (!err)
			err = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER, &right);
		if (!err)
			err = ext2fs_extent_fix_parents(h);
		if (!err)
			err = ext2fs_extent_goto(h, a);
		if (err)
			return err;
	}
	if (s > a) {
		x.e_len = (uint32_t)(s - a);
		err = replace_fixed(h, &x);
		if (!err)
			err = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER, &mid);
		if (!err)
			err = ext2fs_extent_fix_parents(h);
		return err;	/* an unwritten extent before it: nothing to merge with */
	}
	err = replace_fixed(h, &mid);
	return err ? err : merge_written(h, mid);
}

int ext4_convert_written(struct ext4_fs *e, struct ext4_inode *in, uint64_t lblk, uint64_t count)
{
	_cleanup_(ext4_extent_freep) ext2_extent_handle_t h = NULL;
	const uint64_t end = lblk + count;
	uint64_t cur = lblk;
	errcode_t err;
	int r;

	if (!(in->raw.i_flags & EXT4_EXTENTS_FL) || count == 0)
		return 0;
	err = ext2fs_extent_open2(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&in->raw), &h);
	if (err)
		return ext4_errno(err, in->ino, "opening the extent tree");
	while (cur < end) {
		struct ext2fs_extent x;
		uint64_t stop;

		/* The read side's checks first: the nodes on the way must be sound. */
		r = ext4_map_block(e, in, cur, &(struct ext4_map){ 0 });
		if (r < 0)
			return r;
		err = ext2fs_extent_goto2(h, 0, cur);
		if (err == EXT2_ET_EXTENT_NOT_FOUND) {
			/* A hole (punched meanwhile): go on at the next extent. */
			err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &x);
			if (err == EXT2_ET_NO_CURRENT_NODE)
				break;
			if (!err && x.e_lblk <= cur)
				err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &x);
			if (err == EXT2_ET_EXTENT_NO_NEXT)
				break;
			if (err)
				return ext4_alloc_errno(err, in->ino, "walking the extent tree");
			if (x.e_lblk <= cur)
				return fs_corrupt("inode %llu: extents out of order at block %llu",
						  (unsigned long long)in->ino, (unsigned long long)cur);
			cur = x.e_lblk;
			continue;
		}
		if (!err)
			err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &x);
		if (err)
			return ext4_alloc_errno(err, in->ino, "looking up an extent");
		stop = MIN((uint64_t)x.e_lblk + x.e_len, end);
		if (x.e_flags & EXT2_EXTENT_FLAGS_UNINIT) {
			err = convert_extent(h, x, cur, stop);
			if (err)
				return ext4_alloc_errno(err, in->ino, "marking an extent written");
		}
		cur = stop;
	}
	return ext4_inode_write(e, in);
}
