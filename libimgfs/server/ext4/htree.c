/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lookup in hash-indexed (htree, dir_index) directories: hash the name,
 * binary-search the index from the root down to one leaf block and scan
 * only that leaf (and its successors while their starting hash continues
 * ours).  Every field of the index is checked before it is used; where
 * the kernel would give up on the index and search linearly (bad hash
 * version, limits, counts, depth), we do the same by returning -EAGAIN.
 *
 * Layout, all little-endian.  Block 0 (the root) holds a "." entry of 12
 * bytes, a ".." entry spanning the rest of the block, then at offset 24
 * struct dx_root_info { u32 reserved_zero; u8 hash_version;
 * u8 info_length (8); u8 indirect_levels; u8 unused_flags; } and after it
 * the entry array.  An interior node holds one empty dirent spanning the
 * block (inode 0, name_len 0) and its entry array at offset 8.  An entry
 * array starts with { u16 limit; u16 count; u32 block; }, followed by
 * count - 1 entries { u32 hash; u32 block; } in increasing hash order;
 * entry i covers hashes from its hash up to the next entry's.  With
 * metadata_csum a struct dx_tail (8 bytes) follows limit entries.
 */
#include "config.h"

#include <string.h>

#include "ext4.h"

#define DX_ROOT_INFO_OFF 24
#define DX_ROOT_INFO_LEN 8
#define DX_ROOT_ENTRIES_OFF (DX_ROOT_INFO_OFF + DX_ROOT_INFO_LEN)
#define DX_NODE_ENTRIES_OFF 8
#define DX_ENTRY_SIZE 8
#define DX_TAIL_SIZE 8
/* The top 4 bits of an entry's block number are reserved. */
#define DX_BLOCK_MASK 0x0fffffffU
/* Low hash bit: set on an entry whose block continues the previous one's hash. */
#define DX_HASH_COLLISION 1U
#define DX_MAX_LEVELS 3

struct dx_frame {
	const char *entries;
	unsigned count;
	unsigned at;		/* the entry we descended through */
};

struct dx_walk {
	struct ext4_fs *e;
	struct ext4_inode *dir;
	uint64_t nblocks;
	unsigned levels;	/* indirect_levels: index blocks below the root */
	char *bufs;		/* one block per level, then the leaf */
	struct dx_frame frames[DX_MAX_LEVELS];
	uint32_t hash;
};

static uint32_t dx_hash(const char *entries, unsigned i)
{
	return get_le32(entries + DX_ENTRY_SIZE * i);
}

static uint32_t dx_block(const char *entries, unsigned i)
{
	return get_le32(entries + DX_ENTRY_SIZE * i + 4) & DX_BLOCK_MASK;
}

static char *level_buf(struct dx_walk *w, unsigned level)
{
	return w->bufs + (size_t)level * w->e->blocksize;
}

/* The index is unusable but the directory may be fine: search linearly. */
static int dx_unusable(struct dx_walk *w, const char *why)
{
	if (!atomic_exchange(&w->e->htree_warned, true))
		log_warn("inode %llu: directory index unusable (%s); searching linearly (further cases not logged)",
			 (unsigned long long)w->dir->ino, why);
	return -EAGAIN;
}

static int read_dir_lblk(struct dx_walk *w, uint64_t lblk, char *buf)
{
	struct ext4_map map;
	int r;

	if (lblk >= w->nblocks)
		return fs_corrupt("inode %llu: directory index points to block %llu past the end",
				  (unsigned long long)w->dir->ino, (unsigned long long)lblk);
	r = ext4_map_block(w->e, w->dir, lblk, &map);
	if (r < 0)
		return r;
	if (!map.pblk || map.unwritten)
		return fs_corrupt("inode %llu: directory hole at indexed block %llu",
				  (unsigned long long)w->dir->ino, (unsigned long long)lblk);
	return ext4_dirblock_read(w->e, w->dir->ino, lblk, map.pblk + (lblk - map.lblk), buf);
}

/* Check an entry array against the limit its block must have (dx_probe()). */
static int set_frame(struct dx_walk *w, unsigned level, const char *entries, unsigned limit)
{
	unsigned count = get_le16(entries + 2);

	if (get_le16(entries) != limit)
		return dx_unusable(w, "index limit does not match the block size");
	if (count == 0 || count > limit)
		return dx_unusable(w, "index count is zero or above its limit");
	for (unsigned i = 2; i < count; i++)
		if (dx_hash(entries, i) < dx_hash(entries, i - 1))
			return dx_unusable(w, "index hashes out of order");
	w->frames[level] = (struct dx_frame){ .entries = entries, .count = count };
	return 0;
}

/* The last entry whose hash is <= @hash; entry 0 has no hash and covers the lowest. */
static unsigned dx_search(const struct dx_frame *f, uint32_t hash)
{
	unsigned lo = 1, hi = f->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (dx_hash(f->entries, mid) > hash)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo - 1;
}

/* Read the interior node below frame @level - 1 into frame @level. */
static int read_node(struct dx_walk *w, unsigned level)
{
	const struct dx_frame *up = &w->frames[level - 1];
	unsigned csum = w->e->metadata_csum ? DX_TAIL_SIZE : 0;
	uint32_t blk = dx_block(up->entries, up->at);
	char *buf = level_buf(w, level);
	int r;

	r = read_dir_lblk(w, blk, buf);
	if (r < 0)
		return r;
	/* An index node hides behind one nameless entry spanning the block. */
	if (ext4_rec_len(w->e, get_le16(buf + 4)) != w->e->blocksize || buf[6] != 0)
		return fs_corrupt("inode %llu: directory block %u is not an index block",
				  (unsigned long long)w->dir->ino, blk);
	return set_frame(w, level, buf + DX_NODE_ENTRIES_OFF,
			 (w->e->blocksize - DX_NODE_ENTRIES_OFF - csum) / DX_ENTRY_SIZE);
}

static int read_root(struct dx_walk *w, unsigned *hash_version)
{
	const unsigned max_levels = w->e->largedir ? 3 : 2;
	unsigned csum = w->e->metadata_csum ? DX_TAIL_SIZE : 0;
	char *buf = level_buf(w, 0);
	const char *info = buf + DX_ROOT_INFO_OFF;
	unsigned version, levels;
	int r;

	r = read_dir_lblk(w, 0, buf);
	if (r < 0)
		return r;
	if (get_le16(buf + 4) != 12 || ext4_rec_len(w->e, get_le16(buf + 12 + 4)) != w->e->blocksize - 12)
		return dx_unusable(w, "index root does not start with . and ..");
	version = (uint8_t)info[4];
	levels = (uint8_t)info[6];
	if (get_le32(info) != 0 || (uint8_t)info[5] != DX_ROOT_INFO_LEN)
		return dx_unusable(w, "bad index root header");
	if (version != EXT2_HASH_LEGACY && version != EXT2_HASH_HALF_MD4 &&
	    version != EXT2_HASH_TEA)
		return dx_unusable(w, "unrecognised hash version");
	if ((uint8_t)info[7] & EXT2_HASH_FLAG_INCOMPAT)
		return dx_unusable(w, "unimplemented hash flags");
	if (levels >= max_levels)
		return dx_unusable(w, "index deeper than supported");
	w->levels = levels;
	*hash_version = version + (unsigned)w->e->hash_unsigned;
	return set_frame(w, 0, buf + DX_ROOT_ENTRIES_OFF,
			 (w->e->blocksize - DX_ROOT_ENTRIES_OFF - csum) / DX_ENTRY_SIZE);
}

/*
 * Move to the next leaf if it may hold more names of our hash: advance the
 * lowest frame that has a next entry, and continue only if that entry's
 * hash (collision bit aside) is ours, as ext4_htree_next_block() does.
 * Returns 1 to go on, 0 when the search is over.
 */
static int next_leaf(struct dx_walk *w)
{
	int level = (int)w->levels;
	uint32_t next_hash;

	while (w->frames[level].at + 1 >= w->frames[level].count)
		if (--level < 0)
			return 0;
	w->frames[level].at++;
	next_hash = dx_hash(w->frames[level].entries, w->frames[level].at);
	if ((next_hash & ~DX_HASH_COLLISION) != w->hash)
		return 0;
	while ((unsigned)level < w->levels) {
		int r = read_node(w, (unsigned)++level);

		if (r < 0)
			return r;
		w->frames[level].at = 0;
	}
	return 1;
}

int ext4_htree_lookup(struct ext4_fs *e, struct ext4_inode *dir, const char *name,
		      size_t len, uint32_t *ino)
{
	uint64_t lblk;

	return ext4_htree_find(e, dir, name, len, ino, &lblk);
}

int ext4_htree_find(struct ext4_fs *e, struct ext4_inode *dir, const char *name,
		    size_t len, uint32_t *ino, uint64_t *lblk)
{
	struct dx_walk w = {
		.e = e,
		.dir = dir,
		.nblocks = DIV_ROUND_UP(ext4_inode_size(e, dir), (uint64_t)e->blocksize),
	};
	_cleanup_free_ char *bufs = malloc((size_t)(DX_MAX_LEVELS + 1) * e->blocksize);
	uint32_t path[DX_MAX_LEVELS + 1] = { 0 };	/* blocks descended through; root: 0 */
	ext2_dirhash_t hash, minor;
	unsigned version;
	errcode_t err;
	char *leaf;
	int r;

	if (!bufs)
		return -ENOMEM;
	w.bufs = bufs;
	r = read_root(&w, &version);
	if (r < 0)
		return r;
	/* In a case-insensitive directory the hash is of the case-folded name. */
	err = ext2fs_dirhash2((int)version, name, (int)len,
			      ext4_dir_casefold(e, dir) ? e->encoding : NULL,
			      ext4_dir_casefold(e, dir) ? EXT4_CASEFOLD_FL : 0,
			      e->fs->super->s_hash_seed, &hash, &minor);
	if (err)
		return ext4_errno(err, dir->ino, "hashing a name");
	w.hash = hash & ~DX_HASH_COLLISION;

	for (unsigned level = 0;; level++) {
		uint32_t blk;

		w.frames[level].at = dx_search(&w.frames[level], w.hash);
		blk = dx_block(w.frames[level].entries, w.frames[level].at);
		/*
		 * A pointer back to a block on the way down (the root is
		 * block 0) is a cycle: the kernel's dx_probe() then gives up
		 * on the index and searches the directory linearly.
		 */
		for (unsigned i = 0; i <= level; i++)
			if (path[i] == blk)
				return dx_unusable(&w, "index points back into its own path");
		if (level == w.levels)
			break;
		path[level + 1] = blk;
		r = read_node(&w, level + 1);
		if (r < 0)
			return r;
	}

	leaf = level_buf(&w, DX_MAX_LEVELS);
	for (uint64_t guard = 0;; guard++) {
		const struct dx_frame *f = &w.frames[w.levels];
		uint32_t blk = dx_block(f->entries, f->at);

		if (guard > w.nblocks)
			return fs_corrupt("inode %llu: directory index loops",
					  (unsigned long long)dir->ino);
		r = read_dir_lblk(&w, blk, leaf);
		if (r < 0)
			return r;
		r = ext4_dirblock_find(e, dir, blk, leaf, name, len, ino);
		*lblk = blk;
		if (r != 0)
			return r;
		r = next_leaf(&w);
		if (r <= 0)
			return r;
	}
}
