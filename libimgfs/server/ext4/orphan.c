/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inodes with no name left that are still open, and freeing inodes.
 *
 * As the kernel's ext4: an inode that loses its last link is chained on
 * the superblock's orphan list (s_last_orphan, then each inode's i_dtime
 * names the next) until its last reference goes (->evict), so that a
 * mount after a crash frees it (ext4_orphan_cleanup).  Until then it
 * stays readable: the set open_orphans lets ext4_inode_read pass it,
 * while lookups still refuse entries naming an inode with no links.
 */
#include "config.h"

#include <string.h>

#include "ext4.h"

bool ext4_orphan_is_open(const struct ext4_fs *e, uint64_t ino)
{
	for (size_t i = 0; i < e->open_orphan_count; i++)
		if (e->open_orphans[i] == ino)
			return true;
	return false;
}

static int set_add(struct ext4_fs *e, uint64_t ino)
{
	if (ext4_orphan_is_open(e, ino))
		return 0;
	if (e->open_orphan_count == e->open_orphan_cap) {
		size_t cap = e->open_orphan_cap ? 2 * e->open_orphan_cap : 16;
		uint32_t *p = reallocarray(e->open_orphans, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		e->open_orphans = p;
		e->open_orphan_cap = cap;
	}
	e->open_orphans[e->open_orphan_count++] = (uint32_t)ino;
	return 0;
}

static void set_del(struct ext4_fs *e, uint64_t ino)
{
	for (size_t i = 0; i < e->open_orphan_count; i++) {
		if (e->open_orphans[i] == ino) {
			e->open_orphans[i] = e->open_orphans[--e->open_orphan_count];
			return;
		}
	}
}

void ext4_orphan_free_set(struct ext4_fs *e)
{
	free(e->open_orphans);
	e->open_orphans = NULL;
	e->open_orphan_count = e->open_orphan_cap = 0;
}

int ext4_orphan_add(struct ext4_fs *e, struct ext4_inode *in)
{
	struct ext2_super_block *sb = e->fs->super;
	int r = set_add(e, in->ino);

	if (r < 0)
		return r;
	in->raw.i_dtime = sb->s_last_orphan;
	sb->s_last_orphan = (uint32_t)in->ino;
	ext2fs_mark_super_dirty(e->fs);
	return 0;
}

static int read_raw(struct ext4_fs *e, uint64_t ino, struct ext2_inode_large *raw)
{
	memset(raw, 0, sizeof(*raw));
	return ext4_errno(ext2fs_read_inode2(e->fs, (ext2_ino_t)ino, EXT2_INODE(raw),
					     sizeof(*raw), 0),
			  ino, "reading the inode");
}

static int write_raw(struct ext4_fs *e, uint64_t ino, struct ext2_inode_large *raw)
{
	return ext4_errno(ext2fs_write_inode2(e->fs, (ext2_ino_t)ino, EXT2_INODE(raw),
					      (int)MIN(sizeof(*raw), (size_t)e->inode_size), 0),
			  ino, "writing the inode");
}

/* Unchain @ino, whose own link to the next orphan is @next. */
static int chain_remove(struct ext4_fs *e, uint64_t ino, uint32_t next)
{
	struct ext2_super_block *sb = e->fs->super;
	uint32_t cur = sb->s_last_orphan;

	if (cur == ino) {
		sb->s_last_orphan = next;
		ext2fs_mark_super_dirty(e->fs);
		return 0;
	}
	/* The list is short-lived and short: walk it on disk, at most once round. */
	for (uint32_t n = 0; cur && n < e->inodes_count; n++) {
		struct ext2_inode_large raw;
		int r;

		if (!ext4_ino_valid(e, cur))
			return fs_corrupt("orphan list: bad inode number %u", cur);
		r = read_raw(e, cur, &raw);
		if (r < 0)
			return r;
		if (raw.i_dtime == ino) {
			raw.i_dtime = next;
			return write_raw(e, cur, &raw);
		}
		cur = raw.i_dtime;
	}
	return 0;
}

int ext4_inode_free(struct ext4_fs *e, uint64_t ino)
{
	struct ext2_inode_large raw;
	struct ext4_inode in;
	struct timespec now;
	errcode_t err;
	bool isdir;
	int r;

	r = ext4_inode_read_unlinked(e, ino, &in);
	if (r < 0)
		return r;
	isdir = LINUX_S_ISDIR(in.raw.i_mode);
	/*
	 * Only what has blocks: a device's or fast symlink's i_block holds
	 * no block numbers.  ext4_free_blocks, as truncate: it knows what
	 * libext2fs's punch cannot free (the filesystem's last block).
	 */
	if ((in.raw.i_flags & EXT4_INLINE_DATA_FL) ||
	    ext2fs_inode_has_valid_blocks2(e->fs, EXT2_INODE(&in.raw))) {
		r = ext4_free_blocks(e, &in, 0, ~0ULL);
		if (r == 0)
			r = ext4_inode_write(e, &in);
		if (r < 0)
			return r;
	}
	/* Drops the xattr block's reference count, freeing it at zero. */
	err = ext2fs_free_ext_attr(e->fs, (ext2_ino_t)ino, &in.raw);
	if (err)
		return ext4_errno(err, ino, "freeing the xattr block");
	r = read_raw(e, ino, &raw);
	if (r < 0)
		return r;
	ext4_now(&now);
	raw.i_links_count = 0;
	raw.i_size = 0;
	raw.i_size_high = 0;
	raw.i_dtime = (uint32_t)now.tv_sec;
	r = write_raw(e, ino, &raw);
	if (r < 0)
		return r;
	ext2fs_inode_alloc_stats2(e->fs, (ext2_ino_t)ino, -1, isdir);
	if (isdir)
		ext4_dircache_forget(e, ino);
	return 0;
}

/* Free orphan @ino now that nothing refers to it. */
static int evict_orphan(struct ext4_fs *e, uint64_t ino)
{
	struct ext2_inode_large raw;
	int r;

	set_del(e, ino);
	r = read_raw(e, ino, &raw);
	if (r < 0)
		return r;
	/* Named again meanwhile, or already free: nothing to do. */
	if (raw.i_links_count || !ext2fs_test_inode_bitmap2(e->fs->inode_map, (ext2_ino_t)ino))
		return 0;
	r = chain_remove(e, ino, raw.i_dtime);
	if (r < 0)
		return r;
	return ext4_inode_free(e, ino);
}

int ext4_evict(struct imgfs_fs *fs, uint64_t ino)
{
	struct ext4_fs *e = EXT4(fs);
	EXT4_LOCK(e);
	int r;

	/* Only inodes this mount unlinked: never free what a lookup merely found broken. */
	if (!ext4_orphan_is_open(e, ino))
		return 0;
	r = ext4_may_write(e);
	if (r < 0)
		return r;
	return evict_orphan(e, ino);
}

int ext4_orphan_evict_all(struct ext4_fs *e)
{
	int ret = 0;

	while (e->open_orphan_count) {
		int r = evict_orphan(e, e->open_orphans[e->open_orphan_count - 1]);

		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

/*
 * What a mount that ended without evicting left on the orphan list: free
 * inodes without links, cut the others back to their size, as the
 * kernel's ext4_orphan_cleanup.
 */
int ext4_orphan_cleanup(struct ext4_fs *e)
{
	struct ext2_super_block *sb = e->fs->super;
	unsigned freed = 0, truncated = 0;

	for (uint32_t n = 0; sb->s_last_orphan; n++) {
		uint32_t ino = sb->s_last_orphan;
		struct ext2_inode_large raw;
		int r;

		if (!ext4_ino_valid(e, ino) || n >= e->inodes_count)
			return fs_corrupt("orphan list: bad inode number %u", ino);
		r = read_raw(e, ino, &raw);
		if (r < 0)
			return r;
		sb->s_last_orphan = raw.i_dtime;
		ext2fs_mark_super_dirty(e->fs);
		if (!ext2fs_test_inode_bitmap2(e->fs->inode_map, ino))
			return fs_corrupt("orphan list: inode %u is not in use", ino);
		if (raw.i_links_count == 0) {
			r = ext4_inode_free(e, ino);
			freed++;
		} else {
			struct ext4_inode in;

			raw.i_dtime = 0;
			r = write_raw(e, ino, &raw);
			if (r == 0)
				r = ext4_inode_read(e, ino, &in);
			if (r == 0 && LINUX_S_ISREG(in.raw.i_mode)) {
				r = ext4_truncate(e, &in, ext4_inode_size(e, &in));
				if (r == -EOPNOTSUPP)
					r = 0;
			}
			truncated++;
		}
		if (r < 0)
			return r;
	}
	if (freed || truncated)
		log_info("%s: orphan list: %u inodes freed, %u truncated", e->base.img->path,
			 freed, truncated);
	return 0;
}
