/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Names: new inodes (create, mknod, mkdir, symlink) and the entries that
 * name them (link, unlink, rmdir), made as the kernel's ext4/namei.c
 * makes them.  Entries go through libext2fs: ext2fs_link keeps hash
 * indexed directories indexed and grows their tree, ext2fs_expand_dir
 * grows a linear directory, or moves an inline one out of the inode, and
 * a full directory of one block becomes indexed (htree-make.c).
 */
#include "config.h"

#include <string.h>
#include <sys/sysmacros.h>

#include "ext4.h"

/* Flags a new inode takes from its directory (the kernel's EXT4_FL_INHERITED)... */
#define EXT4_DAX_FL 0x02000000
#define FL_INHERITED (EXT2_SECRM_FL | EXT2_UNRM_FL | EXT2_COMPR_FL | EXT2_SYNC_FL | \
		      EXT2_NODUMP_FL | EXT2_NOATIME_FL | EXT2_NOCOMPR_FL | EXT3_JOURNAL_DATA_FL | \
		      EXT2_NOTAIL_FL | EXT2_DIRSYNC_FL | EXT4_PROJINHERIT_FL | EXT4_CASEFOLD_FL | \
		      EXT4_DAX_FL)
/* ... of which regular files keep these, and other non-directories only these. */
#define FL_REG_MASK (~(uint32_t)(EXT2_DIRSYNC_FL | EXT2_TOPDIR_FL | EXT4_CASEFOLD_FL | \
				 EXT4_PROJINHERIT_FL))
#define FL_OTHER_MASK (EXT2_NODUMP_FL | EXT2_NOATIME_FL)

/*
 * The extent root in i_block: a 12-byte header (le16 magic, entries, max,
 * depth; le32 generation) and room for four 12-byte extents (le32 first
 * logical block, le16 length, le16 start high, le32 start low).
 */
#define EXTENT_MAGIC 0xf30a
#define EXTENT_ROOT_MAX 4
#define EXTENT_HEADER 12

/* ---- link counts ---- */

/* A hash-indexed directory (the kernel's is_dx). */
static bool is_dx(const struct ext4_fs *e, const struct ext4_inode *in)
{
	return e->dir_index && (in->raw.i_flags & EXT2_INDEX_FL);
}

void ext4_nlink_inc(const struct ext4_fs *e, struct ext4_inode *in)
{
	unsigned n = in->raw.i_links_count + 1U;

	if (LINUX_S_ISDIR(in->raw.i_mode) && is_dx(e, in) && (n > EXT2_LINK_MAX || n == 2))
		n = 1;
	in->raw.i_links_count = (uint16_t)n;
}

void ext4_nlink_dec(struct ext4_inode *in)
{
	/* A directory counting 1 has too many links to count: it stays at 1. */
	if (!LINUX_S_ISDIR(in->raw.i_mode) || in->raw.i_links_count > 2)
		in->raw.i_links_count--;
}

bool ext4_dir_link_max(const struct ext4_fs *e, const struct ext4_inode *dir)
{
	return dir->raw.i_links_count >= EXT2_LINK_MAX &&
	       !(ext2fs_has_feature_dir_nlink(e->fs->super) && is_dx(e, dir));
}

/* ---- directories ---- */

int ext4_dir_for_change(struct ext4_fs *e, uint64_t dir, struct ext4_inode *in)
{
	int r = ext4_inode_read(e, dir, in);

	if (r < 0)
		return r;
	if (!LINUX_S_ISDIR(in->raw.i_mode))
		return -ENOTDIR;
	/* Removed while open: nothing may be created in it (the VFS's IS_DEADDIR). */
	if (in->raw.i_links_count == 0)
		return -ENOENT;
	return 0;
}

int ext4_name_copy(char *buf, const char *name, size_t len)
{
	if (len == 0)
		return -ENOENT;
	if (len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return 0;
}

static int file_type(uint16_t mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG: return EXT2_FT_REG_FILE;
	case LINUX_S_IFDIR: return EXT2_FT_DIR;
	case LINUX_S_IFCHR: return EXT2_FT_CHRDEV;
	case LINUX_S_IFBLK: return EXT2_FT_BLKDEV;
	case LINUX_S_IFIFO: return EXT2_FT_FIFO;
	case LINUX_S_IFSOCK: return EXT2_FT_SOCK;
	case LINUX_S_IFLNK: return EXT2_FT_SYMLINK;
	default: return EXT2_FT_UNKNOWN;
	}
}

int ext4_dir_add(struct ext4_fs *e, uint64_t dir, const char *name, uint64_t ino, uint16_t mode)
{
	errcode_t err = ext2fs_link(e->fs, (ext2_ino_t)dir, name, (ext2_ino_t)ino, file_type(mode));

	/* A full inline directory grows into the inode's xattr space first. */
	if (err == EXT2_ET_DIR_NO_SPACE) {
		int r = ext4_inline_dir_grow(e, dir);

		if (r < 0 && r != -ENOSPC) {
			ext4_dircache_forget(e, dir);
			return r;
		}
		if (r == 0)
			err = ext2fs_link(e->fs, (ext2_ino_t)dir, name, (ext2_ino_t)ino,
					  file_type(mode));
	}
	if (err == EXT2_ET_DIR_NO_SPACE) {
		struct ext2_inode d;

		/* An indexed directory grows its tree inside ext2fs_link: full is full. */
		err = ext2fs_read_inode(e->fs, (ext2_ino_t)dir, &d);
		if (!err && !(d.i_flags & EXT2_INDEX_FL)) {
			/*
			 * As the kernel: a full directory of one block becomes
			 * indexed (with dir_index), a longer one grows a block.
			 */
			int r = ext4_dir_make_indexed(e, dir);

			if (r < 0 && r != -EAGAIN) {
				ext4_dircache_forget(e, dir);
				return r;
			}
			err = r == 0 ? 0 : ext2fs_expand_dir(e->fs, (ext2_ino_t)dir);
			if (!err)
				err = ext2fs_link(e->fs, (ext2_ino_t)dir, name, (ext2_ino_t)ino,
						  file_type(mode));
		}
	}
	ext4_dircache_forget(e, dir);
	if (err == EXT2_ET_DIR_NO_SPACE)
		return -ENOSPC;
	return ext4_errno(err, dir, "adding a directory entry");
}

struct set_entry {
	const char *name;
	size_t len;
	ext2_ino_t ino;
	int type;
	bool filetype;
	bool done;
};

static int set_entry_fn(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
			int blocksize, char *buf, void *data)
{
	struct set_entry *s = data;

	if (!de->inode || (size_t)ext2fs_dirent_name_len(de) != s->len ||
	    memcmp(de->name, s->name, s->len))
		return 0;
	de->inode = s->ino;
	if (s->filetype)
		ext2fs_dirent_set_file_type(de, s->type);
	s->done = true;
	return DIRENT_CHANGED | DIRENT_ABORT;
}

int ext4_dir_set(struct ext4_fs *e, uint64_t dir, const char *name, uint64_t ino, uint16_t mode)
{
	struct set_entry s = {
		.name = name, .len = strlen(name), .ino = (ext2_ino_t)ino,
		.type = file_type(mode), .filetype = e->filetype,
	};
	/* "." and ".." are reported too; inline directories keep ".." in i_block. */
	errcode_t err = ext2fs_dir_iterate2(e->fs, (ext2_ino_t)dir, 0, NULL, set_entry_fn, &s);

	ext4_dircache_forget(e, dir);
	if (err)
		return ext4_errno(err, dir, "changing a directory entry");
	if (!s.done)
		return fs_corrupt("inode %llu: entry '%s' vanished while being changed",
				  (unsigned long long)dir, name);
	return 0;
}

int ext4_dir_changed(struct ext4_fs *e, uint64_t dir, int subdirs)
{
	struct ext4_inode in;
	int r = ext4_inode_read(e, dir, &in);

	if (r < 0)
		return r;
	for (; subdirs > 0; subdirs--)
		ext4_nlink_inc(e, &in);
	for (; subdirs < 0; subdirs++)
		ext4_nlink_dec(&in);
	ext4_inode_touch(&in, EXT4_TOUCH_MTIME | EXT4_TOUCH_CTIME);
	return ext4_inode_write(e, &in);
}

static int count_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
		       int blocksize, char *buf, void *data)
{
	unsigned n = ext2fs_dirent_name_len(de);

	if (!de->inode || (n == 1 && de->name[0] == '.') ||
	    (n == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	*(bool *)data = true;
	return DIRENT_ABORT;
}

int ext4_dir_is_empty(struct ext4_fs *e, uint64_t dir)
{
	bool found = false;
	errcode_t err = ext2fs_dir_iterate2(e->fs, (ext2_ino_t)dir, 0, NULL, count_entry, &found);

	if (err)
		return ext4_errno(err, dir, "reading a directory");
	return found ? 0 : 1;
}

/* ---- new inodes ---- */

/*
 * Where to look for a free inode: a directory made at the top spreads to
 * the group with the most free inodes among those with their share of
 * free blocks (the spirit of the kernel's Orlov allocator); everything
 * else starts in its parent's group.
 */
static ext2_ino_t inode_goal(struct ext4_fs *e, uint64_t dir, bool isdir)
{
	ext2_filsys fs = e->fs;
	dgrp_t best = ext2fs_group_of_ino(fs, (ext2_ino_t)dir);
	uint64_t avg_blocks = ext2fs_free_blocks_count(fs->super) / fs->group_desc_count;

	if (!isdir || dir != EXT2_ROOT_INO)
		return (ext2_ino_t)dir;
	for (dgrp_t g = 0; g < fs->group_desc_count; g++)
		if (ext2fs_bg_free_blocks_count(fs, g) >= avg_blocks &&
		    ext2fs_bg_free_inodes_count(fs, g) > ext2fs_bg_free_inodes_count(fs, best))
			best = g;
	return best * fs->super->s_inodes_per_group + 1;
}

static uint32_t inherited_flags(const struct ext4_inode *dir, uint16_t mode)
{
	uint32_t fl = dir->raw.i_flags & FL_INHERITED;

	if (LINUX_S_ISDIR(mode))
		return fl;
	if (LINUX_S_ISREG(mode))
		return fl & FL_REG_MASK;
	return fl & FL_OTHER_MASK;
}

/* Write a new inode whole: nothing of what the slot held before survives. */
static int write_new_inode(struct ext4_fs *e, struct ext4_inode *in)
{
	_cleanup_free_ char *buf = calloc(1, e->inode_size);
	errcode_t err;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, &in->raw, MIN(sizeof(in->raw), (size_t)e->inode_size));
	err = ext2fs_write_inode2(e->fs, (ext2_ino_t)in->ino, (struct ext2_inode *)buf,
				  (int)e->inode_size, 0);
	return ext4_errno(err, in->ino, "writing a new inode");
}

/*
 * Allocate, fill in and write inode @in for @ni in directory @dir: owner
 * (a setgid directory gives its group, and its setgid bit to directories),
 * inherited flags, times, extra isize.  Counted as used on return.
 */
static int new_inode(struct ext4_fs *e, const struct ext4_inode *dir,
		     const struct imgfs_new_inode *ni, struct ext4_inode *in)
{
	struct ext2_inode_large *raw = &in->raw;
	uint16_t mode = (uint16_t)ni->mode;
	bool isdir = LINUX_S_ISDIR(mode);
	uint32_t gid = ni->gid;
	struct timespec now;
	ext2_ino_t ino;
	errcode_t err;
	int r;

	err = ext2fs_new_inode(e->fs, inode_goal(e, dir->ino, isdir), mode, NULL, &ino);
	if (err == EXT2_ET_INODE_ALLOC_FAIL)
		return -ENOSPC;
	if (err)
		return ext4_errno(err, dir->ino, "allocating an inode");

	memset(in, 0, sizeof(*in));
	in->ino = ino;
	if (dir->raw.i_mode & LINUX_S_ISGID) {
		gid = inode_gid(dir->raw);
		if (isdir)
			mode |= LINUX_S_ISGID;
	}
	raw->i_mode = mode;
	raw->i_uid = (uint16_t)ni->uid;
	raw->osd2.linux2.l_i_uid_high = (uint16_t)(ni->uid >> 16);
	raw->i_gid = (uint16_t)gid;
	raw->osd2.linux2.l_i_gid_high = (uint16_t)(gid >> 16);
	raw->i_links_count = isdir ? 2 : 1;
	raw->i_flags = inherited_flags(dir, mode);
	raw->i_generation = e->generation++;
	if (e->inode_size > EXT2_GOOD_OLD_INODE_SIZE) {
		unsigned want = e->fs->super->s_want_extra_isize;

		want = MAX(want, (unsigned)(sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE));
		want = MIN(want, e->inode_size - EXT2_GOOD_OLD_INODE_SIZE);
		raw->i_extra_isize = (uint16_t)want;
		in->extra_isize = want;
	}
	/*
	 * atime on the coarse clock, as reads set it (fs.h): never after an
	 * mtime the kernel's writeback cache sets from that clock a moment
	 * later, so relatime updates it on the first read as ext4 would.
	 */
	imgfs_atime_now(&now);
	ext4_inode_set_time(in, EXT4_ATIME, &now);
	ext4_now(&now);
	ext4_inode_set_time(in, EXT4_MTIME, &now);
	ext4_inode_set_time(in, EXT4_CTIME, &now);
	ext4_inode_set_time(in, EXT4_CRTIME, &now);
	r = write_new_inode(e, in);
	if (r < 0)
		return r;
	ext2fs_inode_alloc_stats2(e->fs, ino, +1, isdir);
	return 0;
}

static void extent_root_init(struct ext4_inode *in)
{
	char *root = (char *)in->raw.i_block;

	in->raw.i_flags |= EXT4_EXTENTS_FL;
	memset(root, 0, sizeof(in->raw.i_block));
	put_le16(root, EXTENT_MAGIC);
	put_le16(root + 4, EXTENT_ROOT_MAX);
}

/* Give @in one block, its logical block 0, near the inode; *@blk is where. */
static int map_one_block(struct ext4_fs *e, struct ext4_inode *in, blk64_t *blk)
{
	blk64_t goal = ext2fs_find_inode_goal(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&in->raw), 0);
	errcode_t err = ext2fs_new_block2(e->fs, goal, NULL, blk);

	if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
		return -ENOSPC;
	if (err)
		return ext4_errno(err, in->ino, "allocating a block");
	ext2fs_block_alloc_stats2(e->fs, *blk, +1);
	if (in->raw.i_flags & EXT4_EXTENTS_FL) {
		char *root = (char *)in->raw.i_block;
		char *x = root + EXTENT_HEADER;

		put_le16(root + 2, 1);
		put_le32(x, 0);
		put_le16(x + 4, 1);
		put_le16(x + 6, (uint16_t)(*blk >> 32));
		put_le32(x + 8, (uint32_t)*blk);
	} else {
		in->raw.i_block[0] = (uint32_t)*blk;
	}
	/* Added: inherited ACLs may already hold an xattr block. */
	ext2fs_iblk_add_blocks(e->fs, EXT2_INODE(&in->raw), 1);
	return ext4_inode_write(e, in);
}

/*
 * Whether @in's body has room for an empty system.data, as
 * ext4_try_create_inline_dir needs; inherited ACLs may have taken it.
 */
static bool inline_room(struct ext4_fs *e, struct ext4_inode *in)
{
	size_t room = 0;

	return e->inode_size > EXT2_GOOD_OLD_INODE_SIZE &&
	       ext2fs_xattr_inode_max_size(e->fs, (ext2_ino_t)in->ino, &room) == 0;
}

static int init_dir(struct ext4_fs *e, uint64_t parent, struct ext4_inode *in)
{
	_cleanup_ext2_free_ char *block = NULL;
	errcode_t err;
	blk64_t blk;
	int r;

	if (e->inline_data && inline_room(e, in)) {
		/*
		 * As the kernel: ".." in i_block's first word, then one empty
		 * entry over the rest (inode 0, rec_len 56), and an empty
		 * system.data.
		 */
		char *p = (char *)in->raw.i_block;

		in->raw.i_flags |= EXT4_INLINE_DATA_FL;
		put_le32(p, (uint32_t)parent);
		put_le16(p + 8, EXT4_MIN_INLINE_DATA_SIZE - 4);
		in->raw.i_size = EXT4_MIN_INLINE_DATA_SIZE;
		r = ext4_inode_write(e, in);
		if (r < 0)
			return r;
		err = ext2fs_inline_data_init(e->fs, (ext2_ino_t)in->ino);
		if (err != EXT2_ET_EA_NO_SPACE && err != EXT2_ET_INLINE_DATA_NO_SPACE)
			return ext4_errno(err, in->ino, "making an inline directory");
		/* No room for system.data after all: a directory of one block. */
		r = ext4_inode_read(e, in->ino, in);
		if (r < 0)
			return r;
		in->raw.i_flags &= ~(uint32_t)EXT4_INLINE_DATA_FL;
		memset(in->raw.i_block, 0, sizeof(in->raw.i_block));
	}
	if (ext2fs_has_feature_extents(e->fs->super))
		extent_root_init(in);
	in->raw.i_size = e->blocksize;
	r = map_one_block(e, in, &blk);
	if (r < 0)
		return r;
	/* After the inode: the block's checksum is seeded with its generation. */
	err = ext2fs_new_dir_block(e->fs, (ext2_ino_t)in->ino, (ext2_ino_t)parent, &block);
	if (!err)
		err = ext2fs_write_dir_block4(e->fs, blk, block, 0, (ext2_ino_t)in->ino);
	return ext4_errno(err, in->ino, "writing a directory block");
}

static int init_symlink(struct ext4_fs *e, struct ext4_inode *in, const char *target, size_t len)
{
	_cleanup_free_ char *block = NULL;
	errcode_t err;
	blk64_t blk;
	int r;

	in->raw.i_size = (uint32_t)len;
	/* Fast when the target and its NUL fit i_block: no blocks, no extent flag. */
	if (len < sizeof(in->raw.i_block)) {
		memcpy(in->raw.i_block, target, len);
		return ext4_inode_write(e, in);
	}
	if (ext2fs_has_feature_extents(e->fs->super))
		extent_root_init(in);
	block = calloc(1, e->blocksize);
	if (!block)
		return -ENOMEM;
	memcpy(block, target, len);
	r = map_one_block(e, in, &blk);
	if (r < 0)
		return r;
	err = io_channel_write_blk64(e->fs->io, blk, 1, block);
	return ext4_errno(err, in->ino, "writing a symlink block");
}

/* The kernel's encoding: 8:8 in i_block[0] when it fits, else 12:20 in i_block[1]. */
static void init_device(struct ext4_inode *in, dev_t rdev)
{
	unsigned maj = major(rdev), min = minor(rdev);

	if (maj < 256 && min < 256) {
		in->raw.i_block[0] = ext2fs_cpu_to_le32((maj << 8) | min);
	} else {
		in->raw.i_block[1] = ext2fs_cpu_to_le32((min & 0xff) | (maj << 8) |
							((min & ~0xffU) << 12));
	}
}

/* Fill in what the type needs; @in was written once by new_inode. */
static int init_type(struct ext4_fs *e, uint64_t parent, struct ext4_inode *in,
		     const struct imgfs_new_inode *ni, const char *target, size_t target_len)
{
	switch (in->raw.i_mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG:
		/* Inline data only comes with the first write, as in the kernel. */
		if (ext2fs_has_feature_extents(e->fs->super))
			extent_root_init(in);
		return ext4_inode_write(e, in);
	case LINUX_S_IFDIR:
		return init_dir(e, parent, in);
	case LINUX_S_IFLNK:
		return init_symlink(e, in, target, target_len);
	case LINUX_S_IFCHR:
	case LINUX_S_IFBLK:
		init_device(in, ni->rdev);
		return ext4_inode_write(e, in);
	default:
		return ext4_inode_write(e, in);
	}
}

/* Make an inode of @ni's type and name it @name in @dir. */
static int make_node(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		     const struct imgfs_new_inode *ni, const char *target, size_t target_len,
		     uint64_t *ino)
{
	struct ext4_fs *e = EXT4(fs);
	_cleanup_(ext4_acl_inherit_done) struct ext4_acl_inherit acl = { 0 };
	struct imgfs_new_inode mi = *ni;
	char namez[EXT2_NAME_LEN + 1];
	struct ext4_inode din, in;
	bool isdir = LINUX_S_ISDIR(ni->mode);
	uint16_t mode = (uint16_t)ni->mode;
	uint64_t old;
	int r;

	r = ext4_name_copy(namez, name, len);
	if (r < 0)
		return r;
	EXT4_LOCK(e);
	r = ext4_may_write(e);
	if (r < 0)
		return r;
	r = ext4_dir_for_change(e, dir, &din);
	if (r < 0)
		return r;
	r = ext4_lookup(fs, dir, name, len, &old);
	if (r == 0)
		return -EEXIST;
	if (r != -ENOENT)
		return r;
	if (isdir && ext4_dir_link_max(e, &din))
		return -EMLINK;

	r = ext4_acl_inherit(e, &din, &mode, (unsigned)ni->umask, &acl);
	if (r < 0)
		return r;
	mi.mode = mode;
	r = new_inode(e, &din, &mi, &in);
	if (r < 0)
		return r;
	/*
	 * The inherited ACLs first, as __ext4_new_inode sets them before
	 * ext4_init_new_dir: they may take the inode's xattr room an inline
	 * directory would need.  They rewrite the inode: read it again.
	 */
	r = ext4_acl_init(e, in.ino, &acl);
	if (r == 0)
		r = ext4_inode_read(e, in.ino, &in);
	if (r == 0)
		r = init_type(e, dir, &in, &mi, target, target_len);
	if (r == 0)
		r = ext4_dir_add(e, dir, namez, in.ino, in.raw.i_mode);
	if (r < 0) {
		/* Give back the inode and what it holds; the first error is the answer. */
		ext4_inode_free(e, in.ino);
		return r;
	}
	r = ext4_dir_changed(e, dir, isdir ? 1 : 0);
	if (r < 0)
		return r;
	*ino = in.ino;
	return 0;
}

int ext4_create(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		const struct imgfs_new_inode *ni, uint64_t *ino)
{
	if (!S_ISREG(ni->mode))
		return -EINVAL;
	return make_node(fs, dir, name, len, ni, NULL, 0, ino);
}

int ext4_mknod(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
	       const struct imgfs_new_inode *ni, uint64_t *ino)
{
	/* mknod(2) of a regular file is a create. */
	if (!S_ISCHR(ni->mode) && !S_ISBLK(ni->mode) && !S_ISFIFO(ni->mode) &&
	    !S_ISSOCK(ni->mode) && !S_ISREG(ni->mode))
		return -EINVAL;
	return make_node(fs, dir, name, len, ni, NULL, 0, ino);
}

int ext4_mkdir(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
	       const struct imgfs_new_inode *ni, uint64_t *ino)
{
	struct imgfs_new_inode d = *ni;

	d.mode = S_IFDIR | (ni->mode & 07777);
	return make_node(fs, dir, name, len, &d, NULL, 0, ino);
}

int ext4_symlink(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		 const char *target, size_t target_len, const struct imgfs_new_inode *ni,
		 uint64_t *ino)
{
	struct imgfs_new_inode l = *ni;

	if (target_len == 0)
		return -ENOENT;
	/* The target and its NUL fit one block (the kernel's check). */
	if (target_len + 1 > EXT4(fs)->blocksize)
		return -ENAMETOOLONG;
	if (memchr(target, '\0', target_len))
		return -EINVAL;
	l.mode = S_IFLNK | 0777;
	return make_node(fs, dir, name, len, &l, target, target_len, ino);
}

int ext4_link(struct imgfs_fs *fs, uint64_t ino, uint64_t dir, const char *name, size_t len)
{
	struct ext4_fs *e = EXT4(fs);
	char namez[EXT2_NAME_LEN + 1];
	struct ext4_inode din, in;
	uint64_t old;
	int r;

	r = ext4_name_copy(namez, name, len);
	if (r < 0)
		return r;
	EXT4_LOCK(e);
	r = ext4_may_write(e);
	if (r < 0)
		return r;
	r = ext4_dir_for_change(e, dir, &din);
	if (r < 0)
		return r;
	r = ext4_inode_read(e, ino, &in);
	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(in.raw.i_mode))
		return -EPERM;
	/* An unlinked file cannot be named again (no O_TMPFILE here). */
	if (in.raw.i_links_count == 0)
		return -ENOENT;
	if (in.raw.i_links_count >= EXT2_LINK_MAX)
		return -EMLINK;
	r = ext4_lookup(fs, dir, name, len, &old);
	if (r == 0)
		return -EEXIST;
	if (r != -ENOENT)
		return r;
	r = ext4_dir_add(e, dir, namez, ino, in.raw.i_mode);
	if (r < 0)
		return r;
	in.raw.i_links_count++;
	ext4_inode_touch(&in, EXT4_TOUCH_CTIME);
	r = ext4_inode_write(e, &in);
	if (r < 0)
		return r;
	return ext4_dir_changed(e, dir, 0);
}

/*
 * Take entry @name (@child) out of leaf block @lblk of @dir, as the
 * kernel's ext4_generic_delete_entry: the entry before it in the block
 * takes its space, or, first in the block, it keeps the space with inode
 * 0.  -EAGAIN when it is not there.
 */
static int leaf_remove(struct ext4_fs *e, uint64_t dir, uint64_t lblk, const char *name,
		       uint64_t child)
{
	_cleanup_free_ char *buf = malloc(e->blocksize);
	unsigned end = e->blocksize - (e->metadata_csum ? 12 : 0);
	size_t len = strlen(name);
	struct ext2_dir_entry *prev = NULL;
	blk64_t pblk = 0;
	errcode_t err;
	int r;

	if (!buf)
		return -ENOMEM;
	err = ext2fs_bmap2(e->fs, (ext2_ino_t)dir, NULL, NULL, 0, lblk, NULL, &pblk);
	if (err || !pblk)
		return err ? ext4_errno(err, dir, "mapping a directory block") : -EAGAIN;
	/* The lookup before us has just read it: usually a cache hit. */
	r = ext4_dirblock_read(e, dir, lblk, pblk, buf);
	if (r < 0)
		return r;
	for (unsigned pos = 0; pos < end;) {
		struct ext2_dir_entry *de = (struct ext2_dir_entry *)(buf + pos);
		unsigned rec = ext4_rec_len(e, get_le16(buf + pos + 4));

		if (rec < 12 || pos + rec > end)
			return -EAGAIN;
		if (de->inode == child && (size_t)ext2fs_dirent_name_len(de) == len &&
		    !memcmp(de->name, name, len)) {
			if (prev)
				ext2fs_set_rec_len(e->fs, ext4_rec_len(e, (uint16_t)prev->rec_len) + rec,
						   prev);
			else
				de->inode = 0;
			err = ext2fs_write_dir_block4(e->fs, pblk, buf, 0, (ext2_ino_t)dir);
			if (err) {
				ext4_dircache_forget(e, dir);
				return ext4_errno(err, dir, "writing a directory block");
			}
			/* The checksum was set in @buf; the other blocks did not change. */
			ext4_dircache_store(e, dir, pblk, buf);
			return 0;
		}
		prev = de;
		pos += rec;
	}
	return -EAGAIN;
}

/*
 * Take entry @name (@child) out of @dir.  In an indexed directory the
 * index finds its leaf (ext2fs_unlink would read every block before it);
 * otherwise, or if the leaf does not hold it, libext2fs searches.
 */
int ext4_dir_remove(struct ext4_fs *e, uint64_t dir, const char *name, uint64_t child)
{
	struct ext4_inode in;
	errcode_t err;
	uint64_t lblk;
	uint32_t found;
	int r = ext4_inode_read(e, dir, &in);

	if (r < 0)
		return r;
	if (is_dx(e, &in) && !(in.raw.i_flags & EXT4_INLINE_DATA_FL)) {
		r = ext4_htree_find(e, &in, name, strlen(name), &found, &lblk);
		if (r == 1 && found == child)
			r = leaf_remove(e, dir, lblk, name, child);
		else if (r >= 0)
			r = -EAGAIN;
		if (r != -EAGAIN)
			return r;
	}
	err = ext2fs_unlink(e->fs, (ext2_ino_t)dir, name, (ext2_ino_t)child, 0);
	ext4_dircache_forget(e, dir);
	return ext4_errno(err, dir, "removing a directory entry");
}

/* @in lost a name: its ctime, and the orphan list when it has no name left. */
static int drop_link(struct ext4_fs *e, struct ext4_inode *in, bool all)
{
	int r;

	if (all || in->raw.i_links_count <= 1) {
		in->raw.i_links_count = 0;
		r = ext4_orphan_add(e, in);
		if (r < 0)
			return r;
	} else {
		in->raw.i_links_count--;
	}
	ext4_inode_touch(in, EXT4_TOUCH_CTIME);
	return ext4_inode_write(e, in);
}

int ext4_unlink(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len, uint64_t *ino)
{
	struct ext4_fs *e = EXT4(fs);
	char namez[EXT2_NAME_LEN + 1];
	struct ext4_inode din, in;
	uint64_t child;
	int r;

	r = ext4_name_copy(namez, name, len);
	if (r < 0)
		return r;
	EXT4_LOCK(e);
	r = ext4_may_write(e);
	if (r < 0)
		return r;
	r = ext4_dir_for_change(e, dir, &din);
	if (r < 0)
		return r;
	r = ext4_lookup(fs, dir, name, len, &child);
	if (r < 0)
		return r;
	r = ext4_inode_read(e, child, &in);
	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(in.raw.i_mode))
		return -EISDIR;
	r = ext4_dir_remove(e, dir, namez, child);
	if (r < 0)
		return r;
	r = ext4_dir_changed(e, dir, 0);
	if (r < 0)
		return r;
	r = drop_link(e, &in, false);
	if (r < 0)
		return r;
	*ino = child;
	return 0;
}

int ext4_rmdir(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len, uint64_t *ino)
{
	struct ext4_fs *e = EXT4(fs);
	char namez[EXT2_NAME_LEN + 1];
	struct ext4_inode din, in;
	uint64_t child;
	int r;

	r = ext4_name_copy(namez, name, len);
	if (r < 0)
		return r;
	/* As rmdir(2): "." is EINVAL, ".." ENOTEMPTY. */
	if (!strcmp(namez, "."))
		return -EINVAL;
	if (!strcmp(namez, ".."))
		return -ENOTEMPTY;
	EXT4_LOCK(e);
	r = ext4_may_write(e);
	if (r < 0)
		return r;
	r = ext4_dir_for_change(e, dir, &din);
	if (r < 0)
		return r;
	r = ext4_lookup(fs, dir, name, len, &child);
	if (r < 0)
		return r;
	r = ext4_inode_read(e, child, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISDIR(in.raw.i_mode))
		return -ENOTDIR;
	r = ext4_dir_is_empty(e, child);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOTEMPTY;
	r = ext4_dir_remove(e, dir, namez, child);
	if (r < 0)
		return r;
	r = ext4_dir_changed(e, dir, -1);
	if (r < 0)
		return r;
	/* As ext4_rmdir: size 0, no links, freed at evict. */
	in.raw.i_size = 0;
	in.raw.i_size_high = 0;
	r = drop_link(e, &in, true);
	if (r < 0)
		return r;
	ext4_dircache_forget(e, child);
	*ino = child;
	return 0;
}
