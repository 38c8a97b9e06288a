/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File blocks to filesystem blocks: the extent list in the inode, the
 * bmbt of any depth behind a root in the inode, and iomap_begin on top.
 *
 * A lookup descends the tree once, root to leaf, carrying the key range
 * the subtree must hold; past the last record of a leaf, the hole ends
 * at the next key seen on the way down.  So a lookup reads at most one
 * block per level, never follows sibling pointers, and a cycle in the
 * tree cannot make it loop: the depth is bounded by the root's level,
 * and every child must be exactly one level below its parent.
 */
#include "config.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#include "xfs.h"

#define FILEOFF_END (XFS_MAX_FILEOFF + 1)	/* one past the last file block */

static void set_hole(struct xfs_bmap_ext *out, uint64_t start, uint64_t end)
{
	*out = (struct xfs_bmap_ext){ .fileoff = start, .len = end - start,
				      .fsbno = XFS_NULLFSBLOCK, .hole = true };
}

/* An extent record is sane: non-empty, inside the file offset space and the filesystem. */
static int check_rec(const struct xfs_fs *x, uint64_t ino, const char *where,
		     const struct xfs_bmbt_irec *r)
{
	if (r->blockcount == 0 || r->startoff + r->blockcount > FILEOFF_END ||
	    !xfs_fsb_valid(x, r->startblock, r->blockcount))
		return xfs_fs_corrupt(x, ino, "%s: bad extent [%llu, +%llu) at block %llu", where,
				      (unsigned long long)r->startoff,
				      (unsigned long long)r->blockcount,
				      (unsigned long long)r->startblock);
	return 0;
}

/*
 * Find @fileoff among @n records at @recs, which must lie in file blocks
 * [@lo, @hi) and in order; the hole after the last one ends at @hi.
 */
static int search_recs(const struct xfs_fs *x, uint64_t ino, const char *where,
		       const struct xfs_bmbt_rec *recs, unsigned n, uint64_t lo, uint64_t hi,
		       uint64_t fileoff, struct xfs_bmap_ext *out)
{
	uint64_t prev_end = lo;

	for (unsigned i = 0; i < n; i++) {
		struct xfs_bmbt_irec r;
		int ret;

		xfs_bmbt_decode(&recs[i], &r);
		ret = check_rec(x, ino, where, &r);
		if (ret < 0)
			return ret;
		if (r.startoff < prev_end || r.startoff + r.blockcount > hi)
			return xfs_fs_corrupt(x, ino, "%s: extent at file block %llu out of order",
					      where, (unsigned long long)r.startoff);
		prev_end = r.startoff + r.blockcount;
		if (fileoff < r.startoff) {
			set_hole(out, fileoff, r.startoff);
			return 0;
		}
		if (fileoff < prev_end) {
			*out = (struct xfs_bmap_ext){ .fileoff = r.startoff, .len = r.blockcount,
						      .fsbno = r.startblock,
						      .unwritten = r.unwritten };
			return 0;
		}
	}
	set_hole(out, fileoff, hi);
	return 0;
}

/*
 * In a node of @n keys (and pointers), the child to descend to for
 * @fileoff: the last key at or below it (or the first).  Keys must
 * increase and lie in [@lo, @hi); *@child_lo and *@child_hi get the key
 * range of the chosen child.
 */
static int pick_child(const struct xfs_fs *x, uint64_t ino, const char *where,
		      const uint8_t *keys, const uint8_t *ptrs, unsigned n, uint64_t lo,
		      uint64_t hi, uint64_t fileoff, uint64_t *child, uint64_t *child_lo,
		      uint64_t *child_hi)
{
	unsigned pick = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t key = get_be64(keys + 8 * i);

		if (key < lo || key >= hi || (i && key <= get_be64(keys + 8 * (i - 1))))
			return xfs_fs_corrupt(x, ino, "%s: key %u (%llu) out of order", where, i,
					      (unsigned long long)key);
		if (key <= fileoff)
			pick = i;
	}
	*child = get_be64(ptrs + 8 * pick);
	*child_lo = get_be64(keys + 8 * pick);
	*child_hi = pick + 1 < n ? get_be64(keys + 8 * (pick + 1)) : hi;
	if (!xfs_fsb_valid(x, *child, 1))
		return xfs_fs_corrupt(x, ino, "%s: child pointer %llu outside the filesystem",
				      where, (unsigned long long)*child);
	return 0;
}

/*
 * Read bmbt block @fsb, which must be at @level: checksum, owner and
 * magic (xfs_verify_bmbt), then level and record count.  @where names it.
 */
static int read_node(struct xfs_fs *x, uint64_t ino, uint64_t fsb, unsigned level,
		     uint8_t *buf, char *where, size_t where_size)
{
	const struct xfs_btree_lblock *b = (const void *)buf;
	const unsigned max = (x->blocksize - sizeof(*b)) / 16;	/* records or key+pointer pairs */
	unsigned numrecs;
	int r;

	snprintf(where, where_size, "bmbt block %llu", (unsigned long long)fsb);
	r = xfs_read_fsblocks(x, ino, fsb, 1, buf);
	if (r < 0)
		return r;
	r = xfs_verify_block(x, ino, fsb, buf, x->blocksize, xfs_fsb_to_daddr(x, fsb),
			     &xfs_verify_bmbt, NULL);
	if (r < 0)
		return r;
	numrecs = be16(b->bb_numrecs);
	if (be16(b->bb_level) != level)
		return xfs_fs_corrupt(x, ino, "%s: level %u, expected %u", where,
				      be16(b->bb_level), level);
	if (numrecs == 0 || numrecs > max)
		return xfs_fs_corrupt(x, ino, "%s: %u records", where, numrecs);
	return 0;
}

struct bmbt_walk {
	struct xfs_fs *x;
	const struct xfs_inode *in;
	uint64_t blocks, recs;		/* seen so far */
};

/*
 * Check every block of the subtree at @fsb (@level, keys in [@lo, @hi)).
 * The walk reads no more blocks than the inode owns and no more records
 * than it has extents, so a tree whose pointers meet or loop costs no
 * more than a sound one.
 */
static int walk_subtree(struct bmbt_walk *w, uint64_t fsb, unsigned level, uint64_t lo,
			uint64_t hi)
{
	struct xfs_fs *x = w->x;
	const unsigned node_max = (x->blocksize - sizeof(struct xfs_btree_lblock)) / 16;
	_cleanup_free_ uint8_t *buf = malloc(x->blocksize);
	const uint8_t *body = buf + sizeof(struct xfs_btree_lblock);
	struct xfs_bmap_ext dummy;
	unsigned numrecs;
	char where[48];
	int r;

	if (!buf)
		return -ENOMEM;
	if (++w->blocks > w->in->nblocks)
		return xfs_fs_corrupt(x, w->in->ino, "bmbt has more blocks than the inode owns");
	r = read_node(x, w->in->ino, fsb, level, buf, where, sizeof(where));
	if (r < 0)
		return r;
	numrecs = be16(((const struct xfs_btree_lblock *)buf)->bb_numrecs);
	if (level == 0) {
		w->recs += numrecs;
		if (w->recs > w->in->nextents)
			return xfs_fs_corrupt(x, w->in->ino, "bmbt holds more than its %llu extents",
					      (unsigned long long)w->in->nextents);
		/* Looking past every record checks them all. */
		return search_recs(x, w->in->ino, where, (const void *)body, numrecs, lo, hi, hi,
				   &dummy);
	}
	for (unsigned i = 0; i < numrecs; i++) {
		uint64_t child, clo, chi;

		r = pick_child(x, w->in->ino, where, body, body + 8 * node_max, numrecs, lo, hi,
			       get_be64(body + 8 * i), &child, &clo, &chi);
		if (r < 0)
			return r;
		r = walk_subtree(w, child, level - 1, clo, chi);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The kernel reads a btree fork's every record before it maps any block
 * (xfs_iread_extents()), so one bad leaf fails the file from byte 0.  Do
 * the same, once per inode: the image is read-only, so a tree found sound
 * stays sound, and a few recent inodes are remembered.
 */
static int check_whole_btree(struct xfs_fs *x, const struct xfs_inode *in, const uint8_t *fork,
			     size_t fork_size)
{
	const struct xfs_bmdr_block *root = (const void *)fork;
	const unsigned root_max = (unsigned)((fork_size - sizeof(*root)) / 16);
	_Atomic uint64_t *seen = &x->bmbt_checked[in->ino % XFS_BMBT_CHECKED];
	struct bmbt_walk w = { .x = x, .in = in };
	const uint8_t *keys = fork + sizeof(*root), *ptrs = keys + 8 * root_max;
	unsigned n = be16(root->bb_numrecs), level = be16(root->bb_level);
	int r;

	if (atomic_load(seen) == in->ino)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t child, lo, hi;

		r = pick_child(x, in->ino, "bmbt root", keys, ptrs, n, 0, FILEOFF_END,
			       get_be64(keys + 8 * i), &child, &lo, &hi);
		if (r < 0)
			return r;
		r = walk_subtree(&w, child, level - 1, lo, hi);
		if (r < 0)
			return r;
	}
	if (w.recs != in->nextents)
		return xfs_fs_corrupt(x, in->ino, "bmbt holds %llu extents, the inode says %llu",
				      (unsigned long long)w.recs, (unsigned long long)in->nextents);
	atomic_store(seen, in->ino);
	return 0;
}

static int lookup_btree(struct xfs_fs *x, const struct xfs_inode *in, const uint8_t *fork,
			size_t fork_size, uint64_t fileoff, struct xfs_bmap_ext *out)
{
	const struct xfs_bmdr_block *root = (const void *)fork;
	const unsigned root_max = (unsigned)((fork_size - sizeof(*root)) / 16);
	const unsigned node_max = (x->blocksize - sizeof(struct xfs_btree_lblock)) / 16;
	_cleanup_free_ uint8_t *buf = malloc(x->blocksize);
	unsigned level = be16(root->bb_level);
	uint64_t lo = 0, hi = FILEOFF_END, child;
	int r;

	if (!buf)
		return -ENOMEM;
	/* check_fork() vetted the root's level and count against the fork size. */
	r = pick_child(x, in->ino, "bmbt root", fork + sizeof(*root),
		       fork + sizeof(*root) + 8 * root_max, be16(root->bb_numrecs), lo, hi,
		       fileoff, &child, &lo, &hi);
	if (r < 0)
		return r;
	for (;;) {
		const struct xfs_btree_lblock *b = (const void *)buf;
		const uint8_t *body = buf + sizeof(*b);
		unsigned numrecs;
		char where[48];

		level--;
		r = read_node(x, in->ino, child, level, buf, where, sizeof(where));
		if (r < 0)
			return r;
		numrecs = be16(b->bb_numrecs);
		if (level == 0)
			return search_recs(x, in->ino, where, (const void *)body, numrecs, lo, hi,
					   fileoff, out);
		r = pick_child(x, in->ino, where, body, body + 8 * node_max, numrecs, lo, hi,
			       fileoff, &child, &lo, &hi);
		if (r < 0)
			return r;
	}
}

int xfs_bmap_lookup(struct xfs_fs *x, const struct xfs_inode *in, enum xfs_fork fork,
		    uint64_t fileoff, struct xfs_bmap_ext *out)
{
	const char *where = fork == XFS_DATA_FORK ? "data fork" : "attr fork";
	int format = xfs_inode_fork_format(in, fork);
	size_t size;
	const uint8_t *p = xfs_inode_fork(in, fork, &size);

	if (fileoff >= FILEOFF_END) {
		set_hole(out, fileoff, fileoff + 1);
		return 0;
	}
	switch (format) {
	case -1:		/* no attr fork: nothing mapped */
		set_hole(out, fileoff, FILEOFF_END);
		return 0;
	case XFS_DINODE_FMT_EXTENTS:
		/* check_fork() made sure the records fit the fork. */
		return search_recs(x, in->ino, where, (const void *)p,
				   (unsigned)(fork == XFS_DATA_FORK ? in->nextents : in->anextents),
				   0, FILEOFF_END, fileoff, out);
	case XFS_DINODE_FMT_BTREE:
		if (fork == XFS_DATA_FORK) {
			int r = check_whole_btree(x, in, p, size);

			if (r < 0)
				return r;
		}
		return lookup_btree(x, in, p, size, fileoff, out);
	default:
		return -EINVAL;	/* local and device forks have no block map */
	}
}

int xfs_iomap_begin(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		    unsigned opflags, struct imgfs_iomap *map)
{
	struct xfs_fs *x = XFS(fs);
	const uint64_t max = fs->max_file_size;
	struct xfs_bmap_ext ext;
	struct xfs_inode in;
	uint64_t start, end;
	int r;

	if (opflags & IMGFS_IOMAP_OP_WRITE)
		return -EROFS;
	if (pos >= max)
		return -EINVAL;
	r = xfs_read_inode(x, ino, &in);
	if (r < 0)
		return r;
	if (!S_ISREG(in.mode))
		return -EINVAL;
	r = xfs_bmap_lookup(x, &in, XFS_DATA_FORK, pos >> x->blocklog, &ext);
	if (r < 0)
		return r;
	/* File offsets reach 2^54 blocks, more bytes than a file may have: clip to max. */
	start = ext.fileoff << x->blocklog;
	end = ext.fileoff + ext.len > (max >> x->blocklog) ? max
							   : (ext.fileoff + ext.len) << x->blocklog;
	map->offset = start;
	map->length = end - start;
	map->flags = 0;
	if (ext.hole) {
		map->addr = IMGFS_IOMAP_NULL_ADDR;
		map->type = IMGFS_IOMAP_HOLE;
	} else {
		map->addr = xfs_fsb_to_bytes(x, ext.fsbno);
		map->type = ext.unwritten ? IMGFS_IOMAP_UNWRITTEN : IMGFS_IOMAP_MAPPED;
	}
	return 0;
}

/* Regular files on XFS are never local (xfs_dinode_verify refuses them). */
int xfs_has_inline(struct imgfs_fs *fs, uint64_t ino, bool *has_inline)
{
	*has_inline = false;
	return 0;
}

int xfs_read_inline(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, void *buf, size_t len,
		    size_t *done)
{
	return -EINVAL;
}
