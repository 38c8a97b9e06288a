/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Turning a full one-block linear directory into a hash-indexed one, as
 * the kernel's ext4 does when an entry no longer fits (its
 * make_indexed_dir).  libext2fs's ext2fs_link keeps an index up to date
 * and grows it, but never makes one, so without this a directory that
 * imgfs grows stays linear: every create then scans every block.
 *
 * The result, as the kernel leaves it:
 *   block 0  the root: "." (12 bytes), ".." spanning the rest of the
 *            block, struct dx_root_info at 24 (hash version
 *            s_def_hash_version, info_length 8, no indirect levels), the
 *            entry array { limit, count 2, block 1 } { hash, block 2 },
 *            and with metadata_csum a dx_tail after limit entries;
 *   block 1  the entries of lower hash, in the order they had;
 *   block 2  those of higher hash, in hash order.
 * The entries split where the kernel splits them: the upper half by size
 * (do_split), and when an entry starts in the second block with the hash
 * of the last one in the first, the index entry's hash gets the
 * collision bit.  The block layout is in htree.c's comment.
 *
 * Writes go leaves first, then the root, then the inode's INDEX_FL: until
 * the flag is set, block 0 still reads as a linear block holding "." and
 * "..", so the directory is whole at every step.
 */
#include "config.h"

#include <string.h>

#include "ext4.h"

#define DX_ROOT_INFO_OFF 24
#define DX_ROOT_INFO_LEN 8
#define DX_ROOT_ENTRIES_OFF (DX_ROOT_INFO_OFF + DX_ROOT_INFO_LEN)
#define DX_ENTRY_SIZE 8
#define DX_TAIL_SIZE 8
#define DX_HASH_COLLISION 1U
/* A dirent: le32 inode, le16 rec_len, u8 name_len, u8 file_type, name. */
#define DIRENT_HEADER 8
#define DIRENT_TAIL_SIZE 12

struct dx_map {
	uint32_t hash;
	unsigned off;		/* in the old block */
	unsigned size;		/* the entry's smallest rec_len */
};

static unsigned dirent_min_size(unsigned name_len)
{
	return (DIRENT_HEADER + name_len + 3) & ~3U;
}

typedef int (*map_cmp_fn)(const struct dx_map *x, const struct dx_map *y);

/* By hash, then by place in the old block: a total order, the same every run. */
static int by_hash(const struct dx_map *x, const struct dx_map *y)
{
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int by_place(const struct dx_map *x, const struct dx_map *y)
{
	return x->off < y->off ? -1 : x->off > y->off;
}

static void map_sift_down(struct dx_map *v, size_t i, size_t n, map_cmp_fn cmp)
{
	for (;;) {
		size_t big = i, l = 2 * i + 1, r = l + 1;
		struct dx_map t;

		if (l < n && cmp(&v[l], &v[big]) > 0)
			big = l;
		if (r < n && cmp(&v[r], &v[big]) > 0)
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
 * size once an array passes 1 KiB, and the server's seccomp policy kills
 * it for that (zone.c says the same).
 */
static void map_sort(struct dx_map *v, size_t n, map_cmp_fn cmp)
{
	for (size_t i = n / 2; i-- > 0;)
		map_sift_down(v, i, n, cmp);
	for (size_t end = n; end-- > 1;) {
		struct dx_map t = v[0];

		v[0] = v[end];
		v[end] = t;
		map_sift_down(v, 0, end, cmp);
	}
}

/*
 * Lay @n entries of @old (in @map's order) one after another into the
 * leaf @leaf, the last spanning to the end (or to the checksum tail).
 */
static int fill_leaf(struct ext4_fs *e, char *leaf, const char *old, const struct dx_map *map,
		     size_t n)
{
	unsigned end = e->blocksize - (e->metadata_csum ? DIRENT_TAIL_SIZE : 0);
	unsigned pos = 0;

	memset(leaf, 0, e->blocksize);
	for (size_t i = 0; i < n; i++) {
		struct ext2_dir_entry *de = (struct ext2_dir_entry *)(leaf + pos);
		unsigned len = i + 1 < n ? map[i].size : end - pos;

		memcpy(de, old + map[i].off, map[i].size);
		if (ext2fs_set_rec_len(e->fs, len, de))
			return fs_corrupt("directory entry of %u bytes cannot be written", len);
		pos += map[i].size;
	}
	if (e->metadata_csum)
		ext2fs_initialize_dirent_tail(e->fs, EXT2_DIRENT_TAIL(leaf, e->blocksize));
	return 0;
}

/*
 * The live entries of block 0 after "." and "..", hashed: *@map, *@n.
 * -EAGAIN when the block does not start as the root's layout needs
 * ("." of 12 bytes, then ".."): the directory then grows linearly.
 */
static int map_entries(struct ext4_fs *e, const struct ext4_inode *dir, const char *buf,
		       struct dx_map **map, size_t *n)
{
	unsigned end = e->blocksize - (e->metadata_csum ? DIRENT_TAIL_SIZE : 0);
	int version = e->fs->super->s_def_hash_version;
	const struct ext2_dir_entry *dot = (const void *)buf;
	const struct ext2_dir_entry *dotdot = (const void *)(buf + 12);
	unsigned dotdot_len = ext4_rec_len(e, get_le16(buf + 12 + 4));
	struct dx_map *m;
	size_t count = 0;

	if (ext4_rec_len(e, get_le16(buf + 4)) != 12 || ext2fs_dirent_name_len(dot) != 1 ||
	    dot->name[0] != '.' || ext2fs_dirent_name_len(dotdot) != 2 ||
	    memcmp(dotdot->name, "..", 2) || dotdot_len < 12 || 12 + dotdot_len > end)
		return -EAGAIN;
	if (version <= EXT2_HASH_TEA)
		version += e->hash_unsigned;
	m = calloc(e->blocksize / 12, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (unsigned pos = 12 + dotdot_len; pos < end;) {
		const struct ext2_dir_entry *de = (const void *)(buf + pos);
		unsigned rec = ext4_rec_len(e, get_le16(buf + pos + 4));
		unsigned nl = ext2fs_dirent_name_len(de);
		ext2_dirhash_t hash, minor;
		errcode_t err;

		if (rec < DIRENT_HEADER || rec % 4 || pos + rec > end || dirent_min_size(nl) > rec) {
			free(m);
			return fs_corrupt("inode %llu: bad directory entry at %u of block 0",
					  (unsigned long long)dir->ino, pos);
		}
		if (de->inode && nl) {
			err = ext2fs_dirhash2(version, de->name, (int)nl,
					      ext4_dir_casefold(e, dir) ? e->encoding : NULL,
					      ext4_dir_casefold(e, dir) ? EXT4_CASEFOLD_FL : 0,
					      e->fs->super->s_hash_seed, &hash, &minor);
			if (err) {
				free(m);
				return ext4_errno(err, dir->ino, "hashing a name");
			}
			m[count++] = (struct dx_map){ .hash = hash & ~DX_HASH_COLLISION, .off = pos,
						      .size = dirent_min_size(nl) };
		}
		pos += rec;
	}
	*map = m;
	*n = count;
	return 0;
}

/*
 * Where the entries sorted by hash split: the kernel's do_split moves
 * the entries of highest hash whose sizes fill up to half a block (an
 * entry counting in full if at most half of it is past the middle), or
 * half of them by count when they all fit in half a block.
 */
static size_t split_point(const struct ext4_fs *e, const struct dx_map *map, size_t n)
{
	unsigned size = 0;
	size_t move = 0;
	ssize_t i;

	for (i = (ssize_t)n - 1; i >= 0; i--) {
		if (size + map[i].size / 2 > e->blocksize / 2)
			break;
		size += map[i].size;
		move++;
	}
	return i > 0 ? n - move : n / 2;
}

/* The root block: "." and ".." from @old, the info, two index entries. */
static void fill_root(struct ext4_fs *e, char *root, const char *old, uint32_t hash2)
{
	unsigned csum = e->metadata_csum ? DX_TAIL_SIZE : 0;
	unsigned limit = (e->blocksize - DX_ROOT_ENTRIES_OFF - csum) / DX_ENTRY_SIZE;
	char *info = root + DX_ROOT_INFO_OFF;
	char *entries = root + DX_ROOT_ENTRIES_OFF;

	memset(root, 0, e->blocksize);
	memcpy(root, old, 12 + DIRENT_HEADER + 2);	/* "." whole, ".." up to its name */
	ext2fs_set_rec_len(e->fs, e->blocksize - 12, (struct ext2_dir_entry *)(root + 12));
	info[4] = (char)e->fs->super->s_def_hash_version;
	info[5] = DX_ROOT_INFO_LEN;
	put_le16(entries, (uint16_t)limit);
	put_le16(entries + 2, 2);
	put_le32(entries + 4, 1);
	put_le32(entries + 8, hash2);
	put_le32(entries + 12, 2);
}

static int write_block(struct ext4_fs *e, uint64_t dir, blk64_t lblk, const char *buf)
{
	blk64_t pblk = 0;
	errcode_t err = ext2fs_bmap2(e->fs, (ext2_ino_t)dir, NULL, NULL, 0, lblk, NULL, &pblk);

	if (!err && !pblk)
		return fs_corrupt("inode %llu: directory block %llu unmapped after it was added",
				  (unsigned long long)dir, (unsigned long long)lblk);
	if (!err)
		err = ext2fs_write_dir_block4(e->fs, pblk, (void *)buf, 0, (ext2_ino_t)dir);
	return ext4_errno(err, dir, "writing a directory block");
}

int ext4_dir_make_indexed(struct ext4_fs *e, uint64_t dir)
{
	_cleanup_free_ char *bufs = malloc((size_t)3 * e->blocksize);
	_cleanup_free_ struct dx_map *map = NULL;
	struct ext4_inode in;
	char *old = bufs, *leaf = bufs + e->blocksize, *root = bufs + 2 * e->blocksize;
	blk64_t pblk = 0;
	uint32_t hash2;
	size_t n = 0, split;
	errcode_t err;
	int r;

	if (!bufs)
		return -ENOMEM;
	r = ext4_inode_read(e, dir, &in);
	if (r < 0)
		return r;
	if (!e->dir_index || (in.raw.i_flags & (EXT2_INDEX_FL | EXT4_INLINE_DATA_FL)) ||
	    ext4_inode_size(e, &in) != e->blocksize)
		return -EAGAIN;
	err = ext2fs_bmap2(e->fs, (ext2_ino_t)dir, NULL, NULL, 0, 0, NULL, &pblk);
	if (!err && pblk)
		err = ext2fs_read_dir_block4(e->fs, pblk, old, 0, (ext2_ino_t)dir);
	if (err || !pblk)
		return err ? ext4_errno(err, dir, "reading a directory block") : -EAGAIN;
	r = map_entries(e, &in, old, &map, &n);
	if (r < 0)
		return r;
	if (n < 2)
		return -EAGAIN;
	map_sort(map, n, by_hash);
	split = split_point(e, map, n);
	hash2 = map[split].hash;
	if (hash2 == map[split - 1].hash)
		hash2 |= DX_HASH_COLLISION;

	/* Blocks 1 and 2, mapped and counted; the entries go there before the root changes. */
	for (int i = 0; i < 2; i++) {
		err = ext2fs_expand_dir(e->fs, (ext2_ino_t)dir);
		if (err == EXT2_ET_BLOCK_ALLOC_FAIL || err == EXT2_ET_DIR_NO_SPACE)
			return -ENOSPC;
		if (err)
			return ext4_errno(err, dir, "growing a directory");
	}
	ext4_dircache_forget(e, dir);
	r = fill_leaf(e, leaf, old, map + split, n - split);
	if (r == 0)
		r = write_block(e, dir, 2, leaf);
	if (r < 0)
		return r;
	map_sort(map, split, by_place);
	r = fill_leaf(e, leaf, old, map, split);
	if (r == 0)
		r = write_block(e, dir, 1, leaf);
	if (r < 0)
		return r;
	fill_root(e, root, old, hash2);
	r = write_block(e, dir, 0, root);
	if (r < 0)
		return r;
	r = ext4_inode_read(e, dir, &in);
	if (r < 0)
		return r;
	in.raw.i_flags |= EXT2_INDEX_FL;
	r = ext4_inode_write(e, &in);
	ext4_dircache_forget(e, dir);
	return r;
}
