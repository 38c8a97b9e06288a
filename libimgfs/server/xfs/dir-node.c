/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lookup through the hash index: the leaf entries in a block directory's
 * tail, the LEAF1 block of a leaf directory, and the DA3 node tree over
 * LN1 leaves of a node directory.  Leaf entries { be32 hashval; be32
 * address; } are sorted by hash; the first with our hash is found by
 * binary search and the run of equal hashes is followed, into the next
 * leaves of the tree when it reaches a leaf's end.  The node tree is
 * walked by dabtree.c, reading through the directory block cache.
 */
#include "config.h"

#include <string.h>

#include "dabtree.h"
#include "dir.h"

static uint32_t ent_hash(const char *ents, unsigned i)
{
	return get_be32(ents + XD_DA_ENTRY_SIZE * i);
}

static uint32_t ent_val(const char *ents, unsigned i)
{
	return get_be32(ents + XD_DA_ENTRY_SIZE * i + 4);
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

static bool name_eq(const struct imgfs_dirent *e, const char *name, size_t len)
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
	for (unsigned i = xfs_da_hash_search(ents, count, hash);
	     i < count && ent_hash(ents, i) == hash; i++) {
		uint64_t byte = (uint64_t)ent_val(ents, i) << XD_ALIGN_LOG;
		struct imgfs_dirent e;

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

struct lookup {
	struct xdir *d;
	const char *name;
	size_t len;
	char *data;
	uint64_t data_fblk;		/* the data block in @data; ~0: none */
};

/* Through the verified-block cache: lookups read the same node blocks every time. */
static int read_leafspace(void *ctx, uint64_t blk, void *buf, uint32_t *magic)
{
	return xd_read(ctx, blk, &xfs_verify_dir3_leaf, buf, magic);
}

/* Check the leaf in @b (LEAF1 when @leaf1, else LN1) at @blk; its entry count. */
static int check_leaf(struct xdir *d, uint64_t blk, const char *b, bool leaf1, unsigned *count)
{
	unsigned stale = get_be16(b + XD_DA_STALE);
	unsigned long long ublk = blk;
	uint32_t end = d->blksize;
	const char *why;

	*count = get_be16(b + XD_DA_COUNT);
	if (leaf1) {
		uint32_t bests = get_be32(b + d->blksize - XD_LEAF_TAIL_SIZE);

		if (bests > (d->blksize - XD_DA_HDR_SIZE - XD_LEAF_TAIL_SIZE) / 2)
			return xd_corrupt(d, "leaf block %llu: bad best count %u", ublk, bests);
		end = d->blksize - XD_LEAF_TAIL_SIZE - 2 * bests;
	}
	if (*count > (end - XD_DA_HDR_SIZE) / XD_DA_ENTRY_SIZE || stale > *count)
		return xd_corrupt(d, "leaf block %llu: count %u, stale %u", ublk, *count, stale);
	why = bad_leaf_ents(b + XD_DA_HDR_SIZE, *count, stale);
	if (why)
		return xd_corrupt(d, "leaf block %llu: %s", ublk, why);
	return 0;
}

/* Does the entry the leaf address @addr names carry our name? */
static int try_addr(struct lookup *w, uint32_t addr, uint64_t *ino)
{
	struct xdir *d = w->d;
	uint64_t byte = (uint64_t)addr << XD_ALIGN_LOG;
	uint64_t fblk = (byte >> d->blklog) & ~(uint64_t)(d->fsbcount - 1);
	struct imgfs_dirent e;
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

int xd_leaf_lookup(struct xdir *d, const char *name, size_t len, uint64_t *ino)
{
	uint32_t hash = xfs_da_hashname((const uint8_t *)name, len);
	const struct xfs_da_tree t = {
		.x = d->x, .in = &d->in, .read = read_leafspace, .ctx = d,
		.blksize = d->blksize, .fsbcount = d->fsbcount,
		.first = d->leafblk, .end = d->freeblk, .what = "directory",
	};
	/* The leaf, a data block, and the nodes above the leaf. */
	_cleanup_free_ uint8_t *bufs = malloc((2 + XFS_DA_CURSOR_NODES) * (size_t)d->blksize);
	struct xfs_da_cursor c = { .t = &t, .leaf = bufs, .nodes = bufs + 2 * (size_t)d->blksize };
	struct lookup w = { .d = d, .name = name, .len = len, .data_fblk = ~0ULL };
	int r;

	if (!bufs)
		return -ENOMEM;
	w.data = (char *)bufs + d->blksize;
	/* Down from the root at the start of the leaf space. */
	r = xfs_da_descend(&c, d->leafblk, hash);
	while (r >= 0) {
		const char *ents = (const char *)c.leaf + XD_DA_HDR_SIZE;
		bool leaf1 = c.magic == XFS_DIR3_LEAF1_MAGIC;
		unsigned count, i;

		/* LEAF1 is the whole index of a leaf directory; under nodes, leaves are LN1. */
		if (leaf1 && c.depth)
			return xd_corrupt(d, "block %llu: a leaf-form leaf under a node",
					  (unsigned long long)c.blk);
		r = check_leaf(d, c.blk, (const char *)c.leaf, leaf1, &count);
		if (r < 0)
			return r;
		for (i = xfs_da_hash_search(ents, count, hash);
		     i < count && ent_hash(ents, i) == hash; i++) {
			if (ent_val(ents, i) == XFS_DIR2_NULL_DATAPTR)
				continue;
			r = try_addr(&w, ent_val(ents, i), ino);
			if (r)
				return r;
		}
		/* Names of our hash may go on in the next leaf only if this one ended in them. */
		if (leaf1 || i < count || count == 0 || ent_hash(ents, count - 1) != hash)
			return 0;
		r = xfs_da_next_leaf(&c);
		if (r == 0)
			return 0;
	}
	return r;
}
