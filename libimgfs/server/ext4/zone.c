/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The blocks no file may map: the superblock and group descriptors, the
 * bitmaps and inode tables, and the journal (which only the journal inode
 * maps).  The kernel keeps the same "system zone" (block_validity, on by
 * default) and refuses an inode whose extents, index blocks, indirect
 * blocks or xattr block land in it; so does every check here.
 *
 * The zones are built once at open, sorted and merged into disjoint runs,
 * and searched by bisection: flex_bg packs a group's metadata together, so
 * even a large filesystem has few runs.
 */
#include "config.h"

#include <stdlib.h>

#include "ext4.h"

struct zones {
	struct ext4_zone *v;
	size_t n, cap;
	int error;
	uint64_t blocks, limit;	/* the journal's walk: blocks seen, and at most */
};

static int zone_add(struct zones *z, uint64_t start, uint64_t len)
{
	if (len == 0)
		return 0;
	if (z->n == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 64;
		struct ext4_zone *v = reallocarray(z->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		z->v = v;
		z->cap = cap;
	}
	z->v[z->n++] = (struct ext4_zone){ .start = start, .len = len };
	return 0;
}

/* Move v[i] down the max-heap of the first @n zones, by start. */
static void sift_down(struct ext4_zone *v, size_t i, size_t n)
{
	for (;;) {
		size_t big = i, l = 2 * i + 1, r = l + 1;
		struct ext4_zone t;

		if (l < n && v[l].start > v[big].start)
			big = l;
		if (r < n && v[r].start > v[big].start)
			big = r;
		if (big == i)
			return;
		t = v[i];
		v[i] = v[big];
		v[big] = t;
		i = big;
	}
}

/*
 * Heapsort, not qsort(3): glibc's qsort asks sysinfo(2) for the memory
 * size once an array passes 1 KiB, and the server's seccomp policy
 * rightly kills it for that.  O(n log n) whatever order an image gives.
 */
static void zones_sort(struct ext4_zone *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t end = n; end-- > 1;) {
		struct ext4_zone t = v[0];

		v[0] = v[end];
		v[end] = t;
		sift_down(v, 0, end);
	}
}

/* Sort, then merge runs that touch or overlap, so that ends increase too. */
static void zones_merge(struct zones *z)
{
	size_t out = 0;

	if (z->n == 0)
		return;
	zones_sort(z->v, z->n);
	for (size_t i = 1; i < z->n; i++) {
		struct ext4_zone *last = &z->v[out];
		uint64_t end = last->start + last->len;

		if (z->v[i].start <= end)
			last->len = MAX(end, z->v[i].start + z->v[i].len) - last->start;
		else
			z->v[++out] = z->v[i];
	}
	z->n = out + 1;
}

/* Does any zone of @v (sorted, disjoint) meet [pblk, pblk + len)? */
static bool zones_meet(const struct ext4_zone *v, size_t n, uint64_t pblk, uint64_t len)
{
	size_t lo = 0, hi = n;

	/* The first zone that ends after pblk. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].start + v[mid].len <= pblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].start < pblk + len;
}

/* The journal inode's blocks, extent by extent (or block by block without extents). */
static int journal_block(ext2_filsys fs, blk64_t *blk, e2_blkcnt_t bcount, blk64_t ref,
			 int ref_offset, void *priv)
{
	struct zones *z = priv;
	struct ext4_zone *last = z->n ? &z->v[z->n - 1] : NULL;

	(void)fs, (void)bcount, (void)ref, (void)ref_offset;
	/* More than the filesystem holds: extents that repeat, not a journal. */
	if (++z->blocks > z->limit) {
		z->error = -EUCLEAN;
		return BLOCK_ABORT;
	}
	if (last && last->start + last->len == *blk) {
		last->len++;
		return 0;
	}
	z->error = zone_add(z, *blk, 1);
	return z->error < 0 ? BLOCK_ABORT : 0;
}

int ext4_zones_build(struct ext4_fs *e)
{
	ext2_filsys fs = e->fs;
	struct zones meta = { 0 }, journal = { .limit = e->blocks_count };
	unsigned flex = ext2fs_has_feature_flex_bg(fs->super) ?
			1U << MIN(fs->super->s_log_groups_per_flex, 31U) : 1;
	errcode_t code;

	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		blk64_t super, old_desc, new_desc;
		blk_t used;

		/*
		 * As the kernel: the superblock and descriptors of the first
		 * five groups and of each flex group's first, not every backup.
		 */
		if (ext2fs_bg_has_super(fs, g) && (g < 5 || g % flex == 0)) {
			ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used);
			if (zone_add(&meta, ext2fs_group_first_block2(fs, g), used) < 0)
				goto nomem;
		}
		if (zone_add(&meta, ext2fs_block_bitmap_loc(fs, g), 1) < 0 ||
		    zone_add(&meta, ext2fs_inode_bitmap_loc(fs, g), 1) < 0 ||
		    zone_add(&meta, ext2fs_inode_table_loc(fs, g), fs->inode_blocks_per_group) < 0)
			goto nomem;
	}
	if (ext2fs_has_feature_journal(fs->super) && fs->super->s_journal_inum) {
		e->journal_ino = fs->super->s_journal_inum;
		code = ext2fs_block_iterate3(fs, e->journal_ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
					     NULL, journal_block, &journal);
		if (journal.error == -ENOMEM)
			goto nomem;
		if (code || journal.error) {
			free(meta.v);
			free(journal.v);
			if (!code)
				return fs_corrupt("inode %llu: the journal maps more blocks than the filesystem has",
						  (unsigned long long)e->journal_ino);
			return ext4_errno(code, e->journal_ino, "reading the journal's block map");
		}
	}
	zones_merge(&meta);
	zones_merge(&journal);
	e->meta_zones = meta.v;
	e->meta_zone_count = meta.n;
	e->journal_zones = journal.v;
	e->journal_zone_count = journal.n;
	return 0;
nomem:
	free(meta.v);
	free(journal.v);
	return -ENOMEM;
}

void ext4_zones_free(struct ext4_fs *e)
{
	free(e->meta_zones);
	free(e->journal_zones);
	e->meta_zones = e->journal_zones = NULL;
	e->meta_zone_count = e->journal_zone_count = 0;
}

bool ext4_blocks_ok(const struct ext4_fs *e, uint64_t ino, uint64_t pblk, uint64_t len)
{
	/* Block first_data_block holds the superblock, with 1 KiB blocks or 4. */
	if (len == 0 || pblk <= e->first_data_block || pblk >= e->blocks_count ||
	    len > e->blocks_count - pblk)
		return false;
	if (zones_meet(e->meta_zones, e->meta_zone_count, pblk, len))
		return false;
	return ino == e->journal_ino ||
	       !zones_meet(e->journal_zones, e->journal_zone_count, pblk, len);
}
