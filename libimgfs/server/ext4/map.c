/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File blocks to disk blocks: extent trees (through libext2fs's extent
 * API), the ext2/ext3 indirect block map (walked here, so that a hole of
 * millions of blocks costs one call), inline data, and iomap_begin on top.
 */
#include "config.h"

#include <string.h>

#include "ext4.h"

/* ext4 allows at most 5 levels of extent tree (EXT4_MAX_EXTENT_DEPTH). */
#define MAX_EXTENT_DEPTH 5
/* Extent logical block numbers are 32 bits. */
#define EXTENT_LBLK_LIMIT (1ULL << 32)

int ext4_read_block(struct ext4_fs *e, uint64_t ino, uint64_t pblk, void *buf)
{
	if (!ext4_blocks_ok(e, ino, pblk, 1))
		return fs_corrupt("inode %llu: block %llu is outside the filesystem or in its metadata",
				  (unsigned long long)ino, (unsigned long long)pblk);
	return ext4_errno(io_channel_read_blk64(e->fs->io, pblk, 1, buf), ino, "reading a block");
}

static int check_extent(const struct ext4_fs *e, uint64_t ino, const struct ext2fs_extent *x)
{
	if (!(x->e_flags & EXT2_EXTENT_FLAGS_LEAF))
		return fs_corrupt("inode %llu: extent tree node where a leaf should be",
				  (unsigned long long)ino);
	if (x->e_len == 0 || x->e_lblk + x->e_len > EXTENT_LBLK_LIMIT)
		return fs_corrupt("inode %llu: bad extent [%llu, +%u)", (unsigned long long)ino,
				  (unsigned long long)x->e_lblk, x->e_len);
	if (!ext4_blocks_ok(e, ino, x->e_pblk, x->e_len))
		return fs_corrupt("inode %llu: extent at logical block %llu maps blocks %llu-%llu, outside the filesystem or over its metadata",
				  (unsigned long long)ino, (unsigned long long)x->e_lblk,
				  (unsigned long long)x->e_pblk,
				  (unsigned long long)(x->e_pblk + x->e_len - 1));
	return 0;
}

static void set_extent(struct ext4_map *map, const struct ext2fs_extent *x)
{
	map->lblk = x->e_lblk;
	map->len = x->e_len;
	map->pblk = x->e_pblk;
	map->unwritten = x->e_flags & EXT2_EXTENT_FLAGS_UNINIT;
}

static void set_hole(struct ext4_map *map, uint64_t lblk, uint64_t end)
{
	map->lblk = lblk;
	map->len = end - lblk;
	map->pblk = 0;
	map->unwritten = false;
}

static void extent_freep(ext2_extent_handle_t *h)
{
	if (*h)
		ext2fs_extent_free(*h);
}

/*
 * After goto2 found no extent containing @lblk, the handle rests on the
 * last extent of the leaf before @lblk, or on the first extent of the leaf
 * if all of them lie after it.  The hole ends at the next extent in the
 * leaf or, past the leaf's last one, at the key of the next subtree found
 * going up the tree (its first extent starts there or later).  That is at
 * most one step per level and no I/O; libext2fs's NEXT_LEAF would instead
 * revisit whole subtrees.
 */
static int find_hole_end(struct ext4_fs *e, uint64_t ino, ext2_extent_handle_t h,
			 uint64_t lblk, struct ext4_map *map)
{
	struct ext2fs_extent x;
	errcode_t err;
	int r;

	err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &x);
	if (err == EXT2_ET_NO_CURRENT_NODE) {
		set_hole(map, lblk, EXTENT_LBLK_LIMIT);	/* no extents at all */
		return 0;
	}
	if (err)
		return ext4_errno(err, ino, "reading an extent");
	r = check_extent(e, ino, &x);
	if (r < 0)
		return r;
	if (x.e_lblk <= lblk) {
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_SIB, &x);
		while (err == EXT2_ET_EXTENT_NO_NEXT) {
			err = ext2fs_extent_get(h, EXT2_EXTENT_UP, &x);
			if (err == EXT2_ET_EXTENT_NO_UP) {
				set_hole(map, lblk, EXTENT_LBLK_LIMIT);	/* past the last extent */
				return 0;
			}
			if (!err)
				err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_SIB, &x);
		}
		if (err)
			return ext4_errno(err, ino, "walking the extent tree");
		if ((x.e_flags & EXT2_EXTENT_FLAGS_LEAF) && (r = check_extent(e, ino, &x)) < 0)
			return r;
	}
	if (x.e_lblk <= lblk || x.e_lblk > EXTENT_LBLK_LIMIT)
		return fs_corrupt("inode %llu: extents out of order around block %llu",
				  (unsigned long long)ino, (unsigned long long)lblk);
	set_hole(map, lblk, x.e_lblk);
	return 0;
}

int ext4_extent_depth_check(const struct ext4_inode *in)
{
	const struct ext3_extent_header *eh = (const void *)in->raw.i_block;
	unsigned depth = ext2fs_le16_to_cpu(eh->eh_depth);

	/*
	 * libext2fs allocates a path entry per level, and a block per level
	 * it descends, trusting the root's depth and never the children's.
	 */
	if (depth > MAX_EXTENT_DEPTH)
		return fs_corrupt("inode %llu: extent tree depth %u is too deep",
				  (unsigned long long)in->ino, depth);
	return 0;
}

/*
 * One node of an extent tree, as the kernel checks each node it reads
 * (__ext4_ext_check()): header, then entries in strictly increasing
 * order, extents not overlapping, every block inside the filesystem.  A
 * child's first key must be its parent's key for it (@key; the root has
 * none).  libext2fs checks none of the order, and a lookup in unsorted or
 * overlapping entries serves whatever its binary search lands on.
 */
static int check_extent_node(const struct ext4_fs *e, uint64_t ino, const void *node,
			     size_t size, unsigned depth, const uint32_t *key)
{
	const struct ext3_extent_header *eh = node;
	unsigned entries = get_le16(&eh->eh_entries), max = get_le16(&eh->eh_max);
	unsigned long long u = ino;
	uint64_t cur = 0;
	unsigned i;

	if (get_le16(&eh->eh_magic) != EXT3_EXT_MAGIC)
		return fs_corrupt("inode %llu: extent node with bad magic", u);
	if (get_le16(&eh->eh_depth) != depth)
		return fs_corrupt("inode %llu: extent node of depth %u where %u was expected", u,
				  get_le16(&eh->eh_depth), depth);
	if (max == 0 || max > (size - sizeof(*eh)) / sizeof(struct ext3_extent) ||
	    entries > max || (entries == 0 && depth > 0))
		return fs_corrupt("inode %llu: extent node with %u entries of %u", u, entries, max);
	for (i = 0; i < entries; i++) {
		const char *p = (const char *)node + sizeof(*eh) + i * sizeof(struct ext3_extent);
		uint32_t lblk = get_le32(p);
		uint64_t pblk, len;

		if (depth == 0) {
			const struct ext3_extent *x = (const void *)p;

			/* Above EXT_INIT_MAX_LEN: unwritten, of ee_len minus that. */
			len = get_le16(&x->ee_len);
			if (len > EXT_INIT_MAX_LEN)
				len -= EXT_INIT_MAX_LEN;
			pblk = get_le32(&x->ee_start) | (uint64_t)get_le16(&x->ee_start_hi) << 32;
		} else {
			const struct ext3_extent_idx *ix = (const void *)p;

			len = 1;	/* for the order: index keys strictly increase */
			pblk = get_le32(&ix->ei_leaf) | (uint64_t)get_le16(&ix->ei_leaf_hi) << 32;
		}
		if (i == 0 && key && lblk != *key)
			return fs_corrupt("inode %llu: extent node starts at block %u, not at its key %u",
					  u, lblk, *key);
		if (lblk < cur)
			return fs_corrupt("inode %llu: extents overlap or are out of order at block %u",
					  u, lblk);
		if (len == 0 || lblk + len > EXTENT_LBLK_LIMIT)
			return fs_corrupt("inode %llu: bad extent [%u, +%llu)", u, lblk,
					  (unsigned long long)len);
		if (!ext4_blocks_ok(e, u, pblk, depth == 0 ? len : 1))
			return fs_corrupt("inode %llu: extent at logical block %u points outside the filesystem or into its metadata (block %llu)",
					  u, lblk, (unsigned long long)pblk);
		cur = lblk + len;
	}
	return 0;
}

int ext4_extent_root_check(const struct ext4_fs *e, const struct ext4_inode *in)
{
	const struct ext3_extent_header *eh = (const void *)in->raw.i_block;
	int r;

	r = ext4_extent_depth_check(in);
	if (r < 0)
		return r;
	return check_extent_node(e, in->ino, in->raw.i_block, sizeof(in->raw.i_block),
				 get_le16(&eh->eh_depth), NULL);
}

/*
 * The nodes below the root on the way to @lblk, each checked before
 * libext2fs walks it: the kernel checks every node it reads, and a tree
 * whose keys lie would otherwise map blocks twice or out of order.
 */
static int check_extent_path(struct ext4_fs *e, const struct ext4_inode *in, uint64_t lblk)
{
	const struct ext3_extent_header *eh = (const void *)in->raw.i_block;
	unsigned depth = get_le16(&eh->eh_depth);
	_cleanup_free_ char *buf = NULL;
	const char *node = (const char *)in->raw.i_block;

	while (depth > 0) {
		const struct ext3_extent_header *h = (const void *)node;
		const struct ext3_extent_idx *ix = (const void *)(node + sizeof(*h));
		unsigned n = get_le16(&h->eh_entries), i = 0;
		uint64_t pblk;
		uint32_t key;
		int r;

		/* The last index whose key is at or before @lblk, or the first. */
		while (i + 1 < n && get_le32(&ix[i + 1].ei_block) <= lblk)
			i++;
		key = get_le32(&ix[i].ei_block);
		pblk = get_le32(&ix[i].ei_leaf) | (uint64_t)get_le16(&ix[i].ei_leaf_hi) << 32;
		if (!buf && !(buf = malloc(e->blocksize)))
			return -ENOMEM;
		r = ext4_read_block(e, in->ino, pblk, buf);
		if (r < 0)
			return r;
		node = buf;
		depth--;
		r = check_extent_node(e, in->ino, node, e->blocksize, depth, &key);
		if (r < 0)
			return r;
	}
	return 0;
}

static int map_extents(struct ext4_fs *e, const struct ext4_inode *in, uint64_t lblk,
		       struct ext4_map *map)
{
	/* libext2fs writes into an all-zero i_block, so give it a copy. */
	struct ext2_inode_large raw = in->raw;
	_cleanup_(extent_freep) ext2_extent_handle_t h = NULL;
	struct ext2fs_extent x;
	errcode_t err;
	int r;

	if (lblk >= EXTENT_LBLK_LIMIT) {
		set_hole(map, lblk, lblk + EXTENT_LBLK_LIMIT);
		return 0;
	}
	/* The root was checked when the inode was read (check_inode in inode.c). */
	r = check_extent_path(e, in, lblk);
	if (r < 0)
		return r;
	err = ext2fs_extent_open2(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&raw), &h);
	if (err)
		return ext4_errno(err, in->ino, "opening the extent tree");
	err = ext2fs_extent_goto2(h, 0, lblk);
	if (err == EXT2_ET_EXTENT_NOT_FOUND)
		return find_hole_end(e, in->ino, h, lblk, map);
	if (err)
		return ext4_errno(err, in->ino, "looking up an extent");
	err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &x);
	if (err)
		return ext4_errno(err, in->ino, "reading an extent");
	r = check_extent(e, in->ino, &x);
	if (r < 0)
		return r;
	if (lblk < x.e_lblk || lblk >= x.e_lblk + x.e_len)
		return fs_corrupt("inode %llu: extent lookup of block %llu went astray",
				  (unsigned long long)in->ino, (unsigned long long)lblk);
	set_extent(map, &x);
	return 0;
}

/*
 * The run starting at @idx in an array of @n block pointers whose first
 * entry maps logical block @base: a hole up to the next pointer, or
 * physically contiguous blocks.
 */
static int scan_pointers(const struct ext4_fs *e, uint64_t ino, const uint32_t *ptrs,
			 unsigned n, uint64_t base, unsigned idx, struct ext4_map *map)
{
	uint32_t first = ext2fs_le32_to_cpu(ptrs[idx]);
	unsigned j = idx + 1;

	if (!first) {
		while (j < n && !ptrs[j])
			j++;
		set_hole(map, base + idx, base + j);
		return 0;
	}
	while (j < n && ext2fs_le32_to_cpu(ptrs[j]) == first + (j - idx))
		j++;
	if (!ext4_blocks_ok(e, ino, first, j - idx))
		return fs_corrupt("inode %llu: logical block %llu maps to block %u, outside the filesystem or in its metadata",
				  (unsigned long long)ino, (unsigned long long)(base + idx), first);
	map->lblk = base + idx;
	map->len = j - idx;
	map->pblk = first;
	map->unwritten = false;
	return 0;
}

/*
 * Indirect block maps: 12 direct pointers, then single, double and triple
 * indirect trees.  Descend to the pointer block that holds @lblk, reading
 * at most three blocks; a missing pointer anywhere is a hole for its whole
 * subtree.
 */
static int map_indirect(struct ext4_fs *e, const struct ext4_inode *in, uint64_t lblk,
			struct ext4_map *map)
{
	const uint64_t ppb = e->blocksize / 4;
	_cleanup_free_ uint32_t *buf = NULL;
	uint64_t base = EXT2_NDIR_BLOCKS, span = ppb;
	uint32_t ptr;
	int level;

	if (lblk < EXT2_NDIR_BLOCKS)
		return scan_pointers(e, in->ino, in->raw.i_block, EXT2_NDIR_BLOCKS, 0,
				     (unsigned)lblk, map);
	for (level = 1; level <= 3 && lblk - base >= span; level++) {
		base += span;
		span *= ppb;
	}
	if (level > 3) {
		set_hole(map, lblk, lblk + EXTENT_LBLK_LIMIT);	/* beyond what a map reaches */
		return 0;
	}
	ptr = ext2fs_le32_to_cpu(in->raw.i_block[EXT2_NDIR_BLOCKS + level - 1]);
	buf = malloc(e->blocksize);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		uint64_t child_span = span / ppb;
		unsigned idx;
		int r;

		if (!ptr) {
			set_hole(map, lblk, base + span);
			return 0;
		}
		r = ext4_read_block(e, in->ino, ptr, buf);
		if (r < 0)
			return r;
		idx = (unsigned)((lblk - base) / child_span);
		if (child_span == 1)
			return scan_pointers(e, in->ino, buf, (unsigned)ppb, base, idx, map);
		ptr = ext2fs_le32_to_cpu(buf[idx]);
		base += idx * child_span;
		span = child_span;
	}
}

int ext4_map_block(struct ext4_fs *e, struct ext4_inode *in, uint64_t lblk,
		   struct ext4_map *map)
{
	if (in->raw.i_flags & EXT4_INLINE_DATA_FL)
		return fs_corrupt("inode %llu: block lookup in an inline-data inode",
				  (unsigned long long)in->ino);
	if (in->raw.i_flags & EXT4_EXTENTS_FL)
		return map_extents(e, in, lblk, map);
	return map_indirect(e, in, lblk, map);
}

/* How many bytes of inline data @in holds: i_block plus system.data. */
static int inline_size(struct ext4_fs *e, struct ext4_inode *in, size_t *n)
{
	errcode_t err;
	int r;

	/* libext2fs loads every xattr of the inode to find system.data. */
	r = ext4_xattr_check(e, in);
	if (r < 0)
		return r;
	*n = 0;
	err = ext2fs_inline_data_size(e->fs, (ext2_ino_t)in->ino, n);
	if (err)
		return ext4_errno(err, in->ino, "reading inline data");
	/* system.data lives in the inode's spare bytes. */
	if (*n < EXT4_MIN_INLINE_DATA_SIZE || *n > EXT4_MIN_INLINE_DATA_SIZE + e->inode_size)
		return fs_corrupt("inode %llu: %zu bytes of inline data do not fit an inode",
				  (unsigned long long)in->ino, *n);
	return 0;
}

int ext4_inline_read(struct ext4_fs *e, struct ext4_inode *in, char **data, size_t *size)
{
	struct ext2_inode_large raw = in->raw;
	_cleanup_free_ char *buf = NULL;
	size_t n, got;
	errcode_t err;
	int r;

	r = inline_size(e, in, &n);
	if (r < 0)
		return r;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	got = n;
	err = ext2fs_inline_data_get(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&raw), buf, &got);
	if (err)
		return ext4_errno(err, in->ino, "reading inline data");
	if (got != n)
		return fs_corrupt("inode %llu: inline data changed size while read",
				  (unsigned long long)in->ino);
	*data = steal_pointer(&buf);
	*size = n;
	return 0;
}

/*
 * An inline file is its inline bytes, up to i_size; a larger i_size (mke2fs
 * stores an all-hole file this way) is a hole after them, as the kernel
 * reads it: its inline mapping is min(inline size, i_size) long.
 */
static int map_inline(struct ext4_fs *e, struct ext4_inode *in, uint64_t pos,
		      struct imgfs_iomap *map)
{
	uint64_t size = ext4_inode_size(e, in), inline_len;
	size_t n;
	int r;

	r = inline_size(e, in, &n);
	if (r < 0)
		return r;
	inline_len = MIN((uint64_t)n, size);
	if (pos < inline_len)
		*map = (struct imgfs_iomap){ .offset = 0, .length = inline_len,
					     .addr = IMGFS_IOMAP_NULL_ADDR,
					     .type = IMGFS_IOMAP_INLINE };
	else if (pos < e->base.max_file_size)
		*map = (struct imgfs_iomap){ .offset = inline_len,
					     .length = e->base.max_file_size - inline_len,
					     .addr = IMGFS_IOMAP_NULL_ADDR,
					     .type = IMGFS_IOMAP_HOLE };
	else
		*map = (struct imgfs_iomap){ .offset = pos, .length = e->blocksize,
					     .addr = IMGFS_IOMAP_NULL_ADDR,
					     .type = IMGFS_IOMAP_HOLE };
	return 0;
}

int ext4_iomap_begin(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		     unsigned opflags, struct imgfs_iomap *map)
{
	struct ext4_fs *e = EXT4(fs);
	struct ext4_inode in;
	struct ext4_map m;
	int r;

	if (pos > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (opflags & IMGFS_IOMAP_OP_WRITE)
		return ext4_iomap_write(e, ino, pos, len, map);
	EXT4_LOCK(e);
	r = ext4_inode_read(e, ino, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISREG(in.raw.i_mode))
		return -EINVAL;

	if (in.raw.i_flags & EXT4_INLINE_DATA_FL)
		return map_inline(e, &in, pos, map);

	r = ext4_map_block(e, &in, pos >> e->blockbits, &m);
	if (r < 0)
		return r;
	map->offset = m.lblk << e->blockbits;
	map->length = m.len << e->blockbits;
	map->flags = 0;
	if (m.pblk) {
		map->addr = m.pblk << e->blockbits;
		map->type = m.unwritten ? IMGFS_IOMAP_UNWRITTEN : IMGFS_IOMAP_MAPPED;
	} else {
		map->addr = IMGFS_IOMAP_NULL_ADDR;
		map->type = IMGFS_IOMAP_HOLE;
	}
	return 0;
}

int ext4_has_inline(struct imgfs_fs *fs, uint64_t ino, bool *has_inline)
{
	struct ext4_fs *e = EXT4(fs);
	struct ext4_inode in;
	int r;

	EXT4_LOCK(e);
	r = ext4_inode_read(e, ino, &in);
	if (r < 0)
		return r;
	*has_inline = LINUX_S_ISREG(in.raw.i_mode) && (in.raw.i_flags & EXT4_INLINE_DATA_FL);
	return 0;
}

int ext4_read_inline(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, void *buf, size_t len,
		     size_t *done)
{
	struct ext4_fs *e = EXT4(fs);
	_cleanup_free_ char *data = NULL;
	struct ext4_inode in;
	size_t n, avail;
	int r;

	EXT4_LOCK(e);
	r = ext4_inode_read(e, ino, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISREG(in.raw.i_mode) || !(in.raw.i_flags & EXT4_INLINE_DATA_FL))
		return -EINVAL;
	r = ext4_inline_read(e, &in, &data, &n);
	if (r < 0)
		return r;
	avail = (size_t)MIN((uint64_t)n, ext4_inode_size(e, &in));
	*done = 0;
	if (pos < avail) {
		*done = MIN(len, avail - (size_t)pos);
		memcpy(buf, data + pos, *done);
	}
	return 0;
}
