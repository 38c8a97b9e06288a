/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lookup through the hash index: the leaf entries in a block directory's
 * tail, the LEAF1 block of a leaf directory, and the DA3 node tree over
 * LN1 leaves of a node directory.  Leaf entries { be32 hashval; be32
 * address; } are sorted by hash; the first with our hash is found by
 * binary search and the run of equal hashes is followed, into the next
 * leaves of the tree when it reaches a leaf's end.  Node entries { be32
 * hashval; be32 before; } name the highest hash below each child.
 */
#include "config.h"

#include <string.h>

#include "dir.h"

static uint32_t ent_hash(const char *ents, unsigned i)
{
	return get_be32(ents + XD_DA_ENTRY_SIZE * i);
}

static uint32_t ent_val(const char *ents, unsigned i)
{
	return get_be32(ents + XD_DA_ENTRY_SIZE * i + 4);
}

/* The first entry whose hash is >= @hash (@count if none). */
static unsigned first_ge(const char *ents, unsigned count, uint32_t hash)
{
	unsigned lo = 0, hi = count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (ent_hash(ents, mid) < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Hashes in order, and the number of stale (null-address) entries. */
static const char *bad_leaf_ents(const char *ents, unsigned count, unsigned stale)
{
	unsigned nstale = 0;

	for (unsigned i = 0; i < count; i++) {
		if (i && ent_hash(ents, i) < ent_hash(ents, i - 1))
			return "leaf hashes out of order";
		nstale += ent_val(ents, i) == XFS_DIR2_NULL_DATAPTR;
	}
	if (nstale != stale)
		return "leaf stale count does not match its entries";
	return NULL;
}

/* ---- block directories ---- */

int xd_block_check(struct xdir *d, const char *buf, uint32_t *leaf_start)
{
	const char *tail = buf + d->blksize - XD_BLOCK_TAIL_SIZE;
	uint32_t count = get_be32(tail), stale = get_be32(tail + 4);
	uint32_t max = (d->blksize - XD_DATA_HDR_SIZE - XD_BLOCK_TAIL_SIZE) / XD_DA_ENTRY_SIZE;
	const char *why = NULL;
	uint32_t start;
	int r;

	if (count > max || stale > count)
		return xd_corrupt(d, "block form: leaf count %u, stale %u", count, stale);
	start = d->blksize - XD_BLOCK_TAIL_SIZE - count * XD_DA_ENTRY_SIZE;
	why = bad_leaf_ents(buf + start, count, stale);
	if (why)
		return xd_corrupt(d, "block form: %s", why);
	r = xd_data_check(d, 0, buf, start);
	if (r < 0)
		return r;
	*leaf_start = start;
	return 0;
}

static bool name_eq(const struct xd_entry *e, const char *name, size_t len)
{
	return e->namelen == len && !memcmp(e->name, name, len);
}

int xd_block_lookup(struct xdir *d, const char *buf, uint32_t start, const char *name,
		    size_t len, uint64_t *ino)
{
	uint32_t hash = xfs_da_hashname((const uint8_t *)name, len);
	uint32_t count;
	const char *ents;
	int r;

	ents = buf + start;
	count = (d->blksize - XD_BLOCK_TAIL_SIZE - start) / XD_DA_ENTRY_SIZE;
	for (unsigned i = first_ge(ents, count, hash); i < count && ent_hash(ents, i) == hash;
	     i++) {
		uint64_t byte = (uint64_t)ent_val(ents, i) << XD_ALIGN_LOG;
		struct xd_entry e;

		if (ent_val(ents, i) == XFS_DIR2_NULL_DATAPTR)
			continue;
		if (byte >= start)
			return xd_corrupt(d, "block form: leaf address %u past the entries",
					  ent_val(ents, i));
		r = xd_data_entry(d, 0, buf, (uint32_t)byte, start, &e);
		if (r < 0)
			return r;
		if (name_eq(&e, name, len)) {
			*ino = e.ino;
			return 1;
		}
	}
	return 0;
}

/* ---- leaf and node directories ---- */

struct frame {
	char *buf;			/* a node block */
	unsigned count;
	unsigned at;			/* the entry we went down through */
	unsigned level;
};

struct walk {
	struct xdir *d;
	const char *name;
	size_t len;
	uint32_t hash;
	struct frame frames[XFS_DA_NODE_MAXDEPTH];
	unsigned depth;			/* node frames in use */
	char *leaf;
	char *data;
	uint64_t data_fblk;		/* the data block in @data; ~0: none */
};

/* A child pointer: a directory block of the leaf space. */
static int check_dablk(struct walk *w, uint32_t blk)
{
	struct xdir *d = w->d;

	if (blk < d->leafblk || blk >= d->freeblk || blk & (d->fsbcount - 1))
		return xd_corrupt(d, "node points at block %u outside the leaf space", blk);
	return 0;
}

/* Read the node or leaf at @blk; returns its magic. */
static int read_da(struct walk *w, uint32_t blk, char *buf, uint32_t *magic)
{
	int r = check_dablk(w, blk);

	if (r < 0)
		return r;
	r = xd_read(w->d, blk, &xfs_verify_dir3_leaf, buf, magic);
	if (r == -ENOENT)
		return xd_corrupt(w->d, "hole at leaf-space block %u", blk);
	return r;
}

static int check_node(struct walk *w, uint32_t blk, const char *buf, unsigned *count,
		      unsigned *level)
{
	unsigned max = (w->d->blksize - XD_DA_HDR_SIZE) / XD_DA_ENTRY_SIZE;
	const char *ents = buf + XD_DA_HDR_SIZE;

	*count = get_be16(buf + XD_DA_COUNT);
	*level = get_be16(buf + XD_DA_LEVEL);
	if (*count == 0 || *count > max)
		return xd_corrupt(w->d, "node block %u: bad count %u", blk, *count);
	if (*level == 0 || *level >= XFS_DA_NODE_MAXDEPTH)
		return xd_corrupt(w->d, "node block %u: bad level %u", blk, *level);
	for (unsigned i = 1; i < *count; i++)
		if (ent_hash(ents, i) < ent_hash(ents, i - 1))
			return xd_corrupt(w->d, "node block %u: hashes out of order", blk);
	return 0;
}

/* Check the leaf in w->leaf (LEAF1 when @leaf1, else LN1); its entry count. */
static int check_leaf(struct walk *w, uint32_t blk, bool leaf1, unsigned *count)
{
	struct xdir *d = w->d;
	const char *b = w->leaf;
	unsigned stale = get_be16(b + XD_DA_STALE);
	uint32_t end = d->blksize;
	const char *why;

	*count = get_be16(b + XD_DA_COUNT);
	if (leaf1) {
		uint32_t bests = get_be32(b + d->blksize - XD_LEAF_TAIL_SIZE);

		if (bests > (d->blksize - XD_DA_HDR_SIZE - XD_LEAF_TAIL_SIZE) / 2)
			return xd_corrupt(d, "leaf block %u: bad best count %u", blk, bests);
		end = d->blksize - XD_LEAF_TAIL_SIZE - 2 * bests;
	}
	if (*count > (end - XD_DA_HDR_SIZE) / XD_DA_ENTRY_SIZE || stale > *count)
		return xd_corrupt(d, "leaf block %u: count %u, stale %u", blk, *count, stale);
	why = bad_leaf_ents(b + XD_DA_HDR_SIZE, *count, stale);
	if (why)
		return xd_corrupt(d, "leaf block %u: %s", blk, why);
	return 0;
}

/* Does the entry the leaf address @addr names carry our name? */
static int try_addr(struct walk *w, uint32_t addr, uint64_t *ino)
{
	struct xdir *d = w->d;
	uint64_t byte = (uint64_t)addr << XD_ALIGN_LOG;
	uint64_t fblk = (byte >> d->blklog) & ~(uint64_t)(d->fsbcount - 1);
	struct xd_entry e;
	int r;

	if (byte >= XD_LEAF_OFFSET)
		return xd_corrupt(d, "leaf address %u outside the data space", addr);
	if (fblk != w->data_fblk) {
		uint32_t magic;

		w->data_fblk = ~0ULL;
		r = xd_read(d, fblk, &xfs_verify_dir3_data, w->data, &magic);
		if (r == -ENOENT)
			return xd_corrupt(d, "leaf address %u names a hole", addr);
		if (r < 0)
			return r;
		if (magic != XFS_DIR3_DATA_MAGIC)
			return xd_corrupt(d, "block %llu: a block-form block in a leaf directory",
					  (unsigned long long)fblk);
		w->data_fblk = fblk;
	}
	r = xd_data_entry(d, fblk, w->data, (uint32_t)(byte & (d->blksize - 1)), d->blksize, &e);
	if (r < 0)
		return r;
	if (!name_eq(&e, w->name, w->len))
		return 0;
	*ino = e.ino;
	return 1;
}

/*
 * Go to the leaf after the current one: advance the lowest node with a
 * next entry and go down its first entries.  1 when there is one, 0 at
 * the end of the tree.
 */
static int next_leaf(struct walk *w, uint32_t *blk)
{
	int level = (int)w->depth - 1;
	uint32_t magic;
	int r;

	while (level >= 0 && w->frames[level].at + 1 >= w->frames[level].count)
		level--;
	if (level < 0)
		return 0;
	w->frames[level].at++;
	for (;;) {
		struct frame *f = &w->frames[level];
		uint32_t child = ent_val(f->buf + XD_DA_HDR_SIZE, f->at);

		if ((unsigned)level + 1 == w->depth) {
			*blk = child;
			return 1;
		}
		level++;
		r = read_da(w, child, w->frames[level].buf, &magic);
		if (r < 0)
			return r;
		if (magic != XFS_DA3_NODE_MAGIC)
			return xd_corrupt(w->d, "block %u: a leaf where a node belongs", child);
		r = check_node(w, child, w->frames[level].buf, &w->frames[level].count,
			       &w->frames[level].level);
		if (r < 0)
			return r;
		if (w->frames[level].level != w->frames[level - 1].level - 1)
			return xd_corrupt(w->d, "node block %u: level %u under level %u", child,
					  w->frames[level].level, w->frames[level - 1].level);
		w->frames[level].at = 0;
	}
}

static int walk_lookup(struct walk *w, uint64_t *ino)
{
	struct xdir *d = w->d;
	uint32_t blk = (uint32_t)d->leafblk;
	bool leaf1 = false;
	uint32_t magic;
	int r;

	/* Down the node tree from the root at the start of the leaf space. */
	for (;;) {
		char *buf = w->depth < XFS_DA_NODE_MAXDEPTH - 1 ? w->frames[w->depth].buf : w->leaf;
		struct frame *f = &w->frames[w->depth];

		r = read_da(w, blk, buf, &magic);
		if (r < 0)
			return r;
		if (magic != XFS_DA3_NODE_MAGIC) {
			if (buf != w->leaf)
				memcpy(w->leaf, buf, d->blksize);
			break;
		}
		if (w->depth >= XFS_DA_NODE_MAXDEPTH - 1)
			return xd_corrupt(d, "node tree deeper than %d", XFS_DA_NODE_MAXDEPTH);
		r = check_node(w, blk, buf, &f->count, &f->level);
		if (r < 0)
			return r;
		if (w->depth && f->level != w->frames[w->depth - 1].level - 1)
			return xd_corrupt(d, "node block %u: level %u under level %u", blk,
					  f->level, w->frames[w->depth - 1].level);
		/* The first child whose highest hash reaches ours, else the last. */
		f->at = first_ge(buf + XD_DA_HDR_SIZE, f->count, w->hash);
		if (f->at == f->count)
			f->at--;
		blk = ent_val(buf + XD_DA_HDR_SIZE, f->at);
		w->depth++;
	}
	if (magic == XFS_DIR3_LEAF1_MAGIC) {
		if (w->depth)
			return xd_corrupt(d, "block %u: a leaf-form leaf under a node", blk);
		leaf1 = true;
	} else if (w->depth && w->frames[w->depth - 1].level != 1) {
		return xd_corrupt(d, "leaf block %u under a node of level %u", blk,
				  w->frames[w->depth - 1].level);
	}

	for (uint64_t guard = 0;; guard++) {
		const char *ents = w->leaf + XD_DA_HDR_SIZE;
		unsigned count, i;

		/* Each leaf is visited once at most: no more than the blocks the inode has. */
		if (guard > d->in.nblocks / d->fsbcount)
			return xd_corrupt(d, "node tree visits more leaves than the directory has");
		r = check_leaf(w, blk, leaf1, &count);
		if (r < 0)
			return r;
		for (i = first_ge(ents, count, w->hash); i < count && ent_hash(ents, i) == w->hash;
		     i++) {
			if (ent_val(ents, i) == XFS_DIR2_NULL_DATAPTR)
				continue;
			r = try_addr(w, ent_val(ents, i), ino);
			if (r)
				return r;
		}
		/* Names of our hash may go on in the next leaf only if this one ended in them. */
		if (leaf1 || i < count || count == 0 || ent_hash(ents, count - 1) != w->hash)
			return 0;
		r = next_leaf(w, &blk);
		if (r <= 0)
			return r;
		r = read_da(w, blk, w->leaf, &magic);
		if (r < 0)
			return r;
		if (magic != XFS_DIR3_LEAFN_MAGIC)
			return xd_corrupt(d, "block %u: not a leaf where one belongs", blk);
	}
}

int xd_leaf_lookup(struct xdir *d, const char *name, size_t len, uint64_t *ino)
{
	struct walk w = {
		.d = d,
		.name = name,
		.len = len,
		.hash = xfs_da_hashname((const uint8_t *)name, len),
		.data_fblk = ~0ULL,
	};
	_cleanup_free_ char *bufs = malloc((size_t)(XFS_DA_NODE_MAXDEPTH + 1) * d->blksize);

	if (!bufs)
		return -ENOMEM;
	for (unsigned i = 0; i < XFS_DA_NODE_MAXDEPTH - 1; i++)
		w.frames[i].buf = bufs + (size_t)i * d->blksize;
	w.leaf = bufs + (size_t)(XFS_DA_NODE_MAXDEPTH - 1) * d->blksize;
	w.data = bufs + (size_t)XFS_DA_NODE_MAXDEPTH * d->blksize;
	return walk_lookup(&w, ino);
}
