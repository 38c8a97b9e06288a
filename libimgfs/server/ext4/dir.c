/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directories: checking and walking directory entries (in blocks and in
 * inline data), readdir, and lookup by linear scan where there is no
 * hash index to use.
 */
#include "config.h"

#include <dirent.h>
#include <string.h>

#include "dirpos.h"
#include "ext4.h"

/* Header of struct ext2_dir_entry_2: inode, rec_len, name_len, file_type. */
#define DIRENT_HEADER 8
/* Space an entry with a name of @n bytes needs (ext4_dir_rec_len()). */
#define DIRENT_REC_LEN(n) (((n) + DIRENT_HEADER + 3) & ~3U)
#define DIRENT_MIN_LEN DIRENT_REC_LEN(1)
/* An inline directory keeps the parent's number in the first 4 bytes of i_block. */
#define INLINE_DOTDOT_SIZE 4

static unsigned dtype(const struct ext4_fs *e, unsigned ft)
{
	static const unsigned char types[] = {
		DT_UNKNOWN, DT_REG, DT_DIR, DT_CHR, DT_BLK, DT_FIFO, DT_SOCK, DT_LNK,
	};

	if (!e->filetype || ft >= ARRAY_SIZE(types))
		return DT_UNKNOWN;
	return types[ft];
}

/* 64 KiB blocks do not fit rec_len's 16 bits: the low bits move up. */
unsigned ext4_rec_len(const struct ext4_fs *e, uint16_t raw)
{
	if (e->blocksize < 65536)
		return raw;
	if (raw == 65535 || raw == 0)
		return 65536;
	return (raw & 65532U) | ((raw & 3U) << 16);
}

/* The checks of the kernel's ext4_check_dir_entry(), plus names FUSE accepts. */
static const char *bad_entry(const struct ext4_fs *e, const char *p, size_t off, size_t size,
			     unsigned *len_out)
{
	unsigned len, name_len;
	uint32_t ino;

	if (size - off < DIRENT_MIN_LEN)
		return "directory entry too close to block end";
	ino = get_le32(p);
	len = ext4_rec_len(e, get_le16(p + 4));
	name_len = (uint8_t)p[6];
	if (len < DIRENT_MIN_LEN)
		return "rec_len is smaller than minimal";
	if (len % 4)
		return "rec_len % 4 != 0";
	if (len < DIRENT_REC_LEN(name_len))
		return "rec_len is too small for name_len";
	if (len > size - off)
		return "directory entry overrun";
	if (len != size - off && size - off - len < DIRENT_MIN_LEN)
		return "directory entry too close to block end";
	if (ino > e->inodes_count)
		return "inode out of bounds";
	if (ino && name_len == 0)
		return "entry with an empty name";
	if (ino && (memchr(p + DIRENT_HEADER, '/', name_len) || memchr(p + DIRENT_HEADER, 0, name_len)))
		return "name contains '/' or NUL";
	*len_out = len;
	return NULL;
}

int ext4_dirblock_walk(struct ext4_fs *e, uint64_t dir, uint64_t lblk, const char *buf,
		       size_t size, uint64_t base, imgfs_filldir_t fn, void *ctx)
{
	for (size_t off = 0; off < size;) {
		const char *p = buf + off;
		const char *why;
		unsigned len = 0;

		why = bad_entry(e, p, off, size, &len);
		if (why)
			return fs_corrupt("inode %llu: directory block %llu, offset %zu: %s",
					  (unsigned long long)dir, (unsigned long long)lblk, off, why);
		if (get_le32(p)) {
			struct imgfs_dirent de = {
				.ino = get_le32(p),
				.type = dtype(e, (uint8_t)p[7]),
				.name = p + DIRENT_HEADER,
				.namelen = (uint8_t)p[6],
				.next = base + off + len,
			};
			int r = fn(ctx, &de);

			if (r)
				return r;
		}
		off += len;
	}
	return 0;
}

/* The cache slot holding @pblk as verified for @dir, or the one to reuse. */
static struct ext4_dirblock_cache *dircache_slot(struct ext4_fs *e, uint64_t dir, uint64_t pblk,
						 bool *hit)
{
	struct ext4_dirblock_cache *victim = &e->dircache[0];

	for (size_t i = 0; i < ARRAY_SIZE(e->dircache); i++) {
		struct ext4_dirblock_cache *s = &e->dircache[i];

		if (s->data && s->pblk == pblk && s->dir == dir) {
			*hit = true;
			return s;
		}
		if (!s->data || (victim->data && s->last_use < victim->last_use))
			victim = s;
	}
	*hit = false;
	return victim;
}

void ext4_dircache_forget(struct ext4_fs *e, uint64_t dir)
{
	for (size_t i = 0; i < ARRAY_SIZE(e->dircache); i++) {
		struct ext4_dirblock_cache *s = &e->dircache[i];

		if (s->data && s->dir == dir) {
			free(s->data);
			s->data = NULL;
		}
	}
}

void ext4_dircache_store(struct ext4_fs *e, uint64_t dir, uint64_t pblk, const void *buf)
{
	bool hit;
	struct ext4_dirblock_cache *slot = dircache_slot(e, dir, pblk, &hit);

	if (!slot->data)
		slot->data = malloc(e->blocksize);
	if (!slot->data)
		return;
	memcpy(slot->data, buf, e->blocksize);
	slot->dir = dir;
	slot->pblk = pblk;
	slot->last_use = ++e->dircache_clock;
}

int ext4_dirblock_read(struct ext4_fs *e, uint64_t dir, uint64_t lblk, uint64_t pblk, void *buf)
{
	struct ext4_dirblock_cache *slot;
	errcode_t err;
	bool hit;

	if (!ext4_blocks_ok(e, dir, pblk, 1))
		return fs_corrupt("inode %llu: directory block %llu is outside the filesystem or in its metadata",
				  (unsigned long long)dir, (unsigned long long)lblk);
	slot = dircache_slot(e, dir, pblk, &hit);
	if (hit) {
		slot->last_use = ++e->dircache_clock;
		memcpy(buf, slot->data, e->blocksize);
		return 0;
	}
	/* Verifies the leaf's dirent tail or the index block's dx tail checksum. */
	err = ext2fs_read_dir_block4(e->fs, pblk, buf, 0, (ext2_ino_t)dir);
	if (err == EXT2_ET_DIR_CSUM_INVALID)
		return fs_corrupt("inode %llu: directory block %llu: checksum mismatch",
				  (unsigned long long)dir, (unsigned long long)lblk);
	if (err)
		return ext4_errno(err, dir, "reading a directory block");
	ext4_dircache_store(e, dir, pblk, buf);
	return 0;
}

struct find_ctx {
	const struct ext4_fs *e;
	bool casefold;
	bool name_utf8;		/* with casefold: is the name looked up valid UTF-8? */
	const char *name;
	size_t len;
	uint32_t ino;
};

static bool valid_utf8(const struct ext4_fs *e, const char *s, size_t len)
{
	char *bad;

	return ext2fs_check_encoded_name(e->encoding, (char *)s, len, &bad) == 0;
}

/*
 * Names in a case-insensitive directory are equal when their NFD case
 * foldings are (UTF-8 12.1, as the kernel's utf8 tables).  A name that is
 * not valid UTF-8 is an opaque byte string: it matches only itself, and
 * nothing at all with strict encoding, as in the kernel's ext4_match().
 */
static bool casefold_match(const struct find_ctx *f, const char *name, size_t len)
{
	if (!f->name_utf8 || !valid_utf8(f->e, name, len))
		return !f->e->strict_encoding && len == f->len && !memcmp(name, f->name, len);
	return ext2fs_casefold_cmp(f->e->encoding, (const unsigned char *)f->name, f->len,
				   (const unsigned char *)name, len) == 0;
}

static void find_setup(struct find_ctx *f, const struct ext4_inode *dir)
{
	f->casefold = ext4_dir_casefold(f->e, dir);
	f->name_utf8 = f->casefold && valid_utf8(f->e, f->name, f->len);
}

static int find_entry(void *ctx, const struct imgfs_dirent *de)
{
	struct find_ctx *f = ctx;

	if (f->casefold ? !casefold_match(f, de->name, de->namelen)
			: de->namelen != f->len || memcmp(de->name, f->name, f->len))
		return 0;
	f->ino = (uint32_t)de->ino;
	return 1;
}

int ext4_dirblock_find(struct ext4_fs *e, const struct ext4_inode *dir, uint64_t lblk,
		       const char *buf, const char *name, size_t len, uint32_t *ino)
{
	struct find_ctx f = { .e = e, .name = name, .len = len };
	int r;

	find_setup(&f, dir);
	r = ext4_dirblock_walk(e, dir->ino, lblk, buf, e->blocksize, 0, find_entry, &f);

	if (r == 1)
		*ino = f.ino;
	return r;
}

/*
 * Walk the blocks of a block-based directory in logical order, from the
 * block holding position @from on.  Holes are skipped, as the kernel's
 * readdir does.  An entry's position is its byte offset in the directory.
 */
static int walk_blocks(struct ext4_fs *e, struct ext4_inode *dir, uint64_t from,
		       imgfs_filldir_t fn, void *ctx)
{
	uint64_t nblocks = DIV_ROUND_UP(ext4_inode_size(e, dir), (uint64_t)e->blocksize);
	_cleanup_free_ char *buf = malloc(e->blocksize);

	if (!buf)
		return -ENOMEM;
	for (uint64_t lblk = from >> e->blockbits; lblk < nblocks;) {
		struct ext4_map map;
		uint64_t end;
		int r;

		r = ext4_map_block(e, dir, lblk, &map);
		if (r < 0)
			return r;
		end = MIN(map.lblk + map.len, nblocks);
		if (map.pblk && map.unwritten)
			return fs_corrupt("inode %llu: unwritten extent in a directory",
					  (unsigned long long)dir->ino);
		for (; map.pblk && lblk < end; lblk++) {
			r = ext4_dirblock_read(e, dir->ino, lblk, map.pblk + (lblk - map.lblk), buf);
			if (r < 0)
				return r;
			r = ext4_dirblock_walk(e, dir->ino, lblk, buf, e->blocksize,
					       lblk << e->blockbits, fn, ctx);
			if (r)
				return r;
		}
		lblk = end;
	}
	return 0;
}

/*
 * An inline directory: the parent in i_block's first 4 bytes, entries in
 * the rest of i_block and in the system.data xattr.  "." and ".." are not
 * stored; the kernel makes them up, and so do we, at positions 0 and 1
 * (the bytes of the parent's number, which hold no entry).  Other entries'
 * positions are their offsets in the inline data.
 */
static int walk_inline(struct ext4_fs *e, struct ext4_inode *dir, imgfs_filldir_t fn, void *ctx)
{
	_cleanup_free_ char *data = NULL;
	struct imgfs_dirent dots[2] = {
		{ .ino = dir->ino, .type = DT_DIR, .name = ".", .namelen = 1, .next = 1 },
		{ .type = DT_DIR, .name = "..", .namelen = 2, .next = INLINE_DOTDOT_SIZE },
	};
	uint32_t parent;
	size_t n;
	int r;

	r = ext4_inline_read(e, dir, &data, &n);
	if (r < 0)
		return r;
	parent = get_le32(data);
	if (!parent || parent > e->inodes_count)
		return fs_corrupt("inode %llu: inline directory has a bad parent %u",
				  (unsigned long long)dir->ino, parent);
	dots[1].ino = parent;
	for (int i = 0; i < 2; i++) {
		r = fn(ctx, &dots[i]);
		if (r)
			return r;
	}
	r = ext4_dirblock_walk(e, dir->ino, 0, data + INLINE_DOTDOT_SIZE,
			       EXT4_MIN_INLINE_DATA_SIZE - INLINE_DOTDOT_SIZE, INLINE_DOTDOT_SIZE,
			       fn, ctx);
	if (r || n == EXT4_MIN_INLINE_DATA_SIZE)
		return r;
	return ext4_dirblock_walk(e, dir->ino, 1, data + EXT4_MIN_INLINE_DATA_SIZE,
				  n - EXT4_MIN_INLINE_DATA_SIZE, EXT4_MIN_INLINE_DATA_SIZE, fn, ctx);
}

/* "." and ".." are only ever in a block directory's first block (and there even when indexed). */
static int find_dots(struct ext4_fs *e, struct ext4_inode *dir, struct find_ctx *f)
{
	_cleanup_free_ char *buf = malloc(e->blocksize);
	uint64_t pblk;
	int r;

	if (!buf)
		return -ENOMEM;
	r = ext4_first_block(e, dir, "directory without a first block", &pblk);
	if (r < 0)
		return r;
	r = ext4_dirblock_read(e, dir->ino, 0, pblk, buf);
	if (r < 0)
		return r;
	return ext4_dirblock_walk(e, dir->ino, 0, buf, e->blocksize, 0, find_entry, f);
}

/* Walk @dir's entries; block directories start at the block holding @from. */
static int walk_dir(struct ext4_fs *e, struct ext4_inode *dir, uint64_t from, imgfs_filldir_t fn,
		    void *ctx)
{
	if (dir->raw.i_flags & EXT4_INLINE_DATA_FL)
		return walk_inline(e, dir, fn, ctx);
	return walk_blocks(e, dir, from, fn, ctx);
}

/* Read inode @dir, which must be a directory no larger than the filesystem. */
static int dir_inode_read(struct ext4_fs *e, uint64_t dir, struct ext4_inode *in)
{
	int r = ext4_inode_read(e, dir, in);

	if (r < 0)
		return r;
	if (!LINUX_S_ISDIR(in->raw.i_mode))
		return -ENOTDIR;
	/* Walks go by i_size: a larger one could only name holes, for ever. */
	if (ext4_inode_size(e, in) > e->blocks_count << e->blockbits)
		return fs_corrupt("inode %llu: directory size %llu is larger than the filesystem",
				  (unsigned long long)dir,
				  (unsigned long long)ext4_inode_size(e, in));
	return 0;
}

int ext4_readdir(struct imgfs_fs *fs, uint64_t dir, uint64_t pos, imgfs_filldir_t fill,
		 void *ctx)
{
	struct ext4_fs *e = EXT4(fs);
	struct imgfs_dirpos f = { .fill = fill, .ctx = ctx, .from = pos };
	struct ext4_inode in;
	int r;

	EXT4_LOCK(e);
	r = dir_inode_read(e, dir, &in);
	if (r < 0)
		return r;
	r = walk_dir(e, &in, pos, imgfs_dirpos_fill, &f);
	return r < 0 ? r : 0;
}

int ext4_lookup(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len, uint64_t *ino)
{
	struct ext4_fs *e = EXT4(fs);
	struct find_ctx f = { .e = e, .name = name, .len = len };
	struct ext4_inode in, child;
	int r;

	if (len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	if (len == 0)
		return -ENOENT;
	EXT4_LOCK(e);
	r = dir_inode_read(e, dir, &in);
	if (r < 0)
		return r;
	find_setup(&f, &in);

	r = -EAGAIN;
	if (in.raw.i_flags & EXT4_INLINE_DATA_FL)
		;	/* a linear walk of the inline entries */
	else if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		r = find_dots(e, &in, &f);
	else if (e->dir_index && (in.raw.i_flags & EXT2_INDEX_FL))
		r = ext4_htree_lookup(e, &in, name, len, &f.ino);
	if (r == -EAGAIN)
		r = walk_dir(e, &in, 0, find_entry, &f);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;

	/* As ext4_lookup(): the entry must name a live inode. */
	if (!ext4_ino_valid(e, f.ino))
		return fs_corrupt("inode %llu: entry '%.*s' has bad inode number %u",
				  (unsigned long long)dir, (int)len, name, f.ino);
	r = ext4_inode_read(e, f.ino, &child);
	/* An unlinked inode still open reads, but no entry may name it. */
	if (r == -ENOENT || (r == 0 && child.raw.i_links_count == 0 && f.ino != EXT2_ROOT_INO))
		return fs_corrupt("inode %llu: entry '%.*s' references deleted inode %u",
				  (unsigned long long)dir, (int)len, name, f.ino);
	if (r < 0)
		return r;
	*ino = f.ino;
	return 0;
}
