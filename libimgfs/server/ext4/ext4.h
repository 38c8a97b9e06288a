/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The read-only ext2/ext3/ext4 backend, on libext2fs.
 *
 * libext2fs reads the superblock, group descriptors, inodes, extent trees
 * and xattrs, with its own checksum verification; this backend adds what
 * the kernel checks on top (ext4_iget, dx_probe, ext4_check_dir_entry),
 * the htree lookup libext2fs lacks, and the translation into struct stat,
 * readdir entries and iomap mappings.
 *
 * Files: ext4.c (open/close, ops table, errors), super.c (features,
 * statfs, info), io.c (io_manager over the image fd), inode.c (inodes,
 * getattr, readlink), map.c (block mapping, iomap), dir.c (directory
 * blocks, readdir, linear lookup), htree.c (indexed lookup), xattr.c.
 * Writing file data: alloc.c (allocation, unwritten to written),
 * write.c (the engine's write side), inline.c (inline files),
 * truncate.c (freeing blocks, truncate), falloc.c (fallocate).
 * writeback.c: when the metadata in memory reaches the image.
 *
 * Locking: libext2fs is not thread-safe, so every op takes the fs's one
 * mutex around everything it does (EXT4_LOCK).  The mutex is recursive so
 * that a readdir fill() callback may call back into the backend.
 */
#ifndef IMGFS_EXT4_H
#define IMGFS_EXT4_H

#include <ext2fs/ext2fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "byteorder.h"
#include "fs.h"

struct ext4_mmp;
struct imgfs_error;

struct ext4_fs {
	struct imgfs_fs base;		/* first: what fs.h hands out */
	ext2_filsys fs;
	pthread_mutex_t lock;

	/* Superblock facts, decoded once at open (the image is read-only). */
	uint32_t blocksize;
	unsigned blockbits;
	uint32_t inode_size;
	uint32_t first_ino;
	uint32_t inodes_count;
	uint64_t first_data_block;
	uint64_t blocks_count;
	bool metadata_csum;
	bool filetype;			/* dirents carry a file type */
	bool dir_index;
	bool largedir;
	bool huge_file;
	bool inline_data;
	uint64_t max_bitmap_size;	/* i_size limit without extents (ext4_max_bitmap_size) */
	int hash_unsigned;		/* 0, or 3 to turn hash versions 0-2 into 3-5 */
	/* With casefold: how names in EXT4_CASEFOLD_FL directories compare. */
	const struct ext2fs_nls_table *encoding;
	bool strict_encoding;		/* invalid UTF-8 never matches */

	/* For statfs, summed at open. */
	uint64_t overhead_blocks;
	uint64_t free_blocks;
	uint64_t free_inodes;
	uint64_t reserved_blocks;

	atomic_bool htree_warned;	/* log a bad-htree fallback once per fs */

	/* Blocks no file maps, sorted and disjoint (zone.c). */
	struct ext4_zone { uint64_t start, len; } *meta_zones, *journal_zones;
	size_t meta_zone_count, journal_zone_count;
	uint64_t journal_ino;		/* the one inode that maps the journal's */

	/*
	 * Directory blocks already read and verified: lookups in one
	 * directory read its index root every time, and `ls -l` looks names
	 * up in readdir order, leaf after leaf.  Tiny, LRU, under the lock.
	 */
	struct ext4_dirblock_cache {
		uint64_t dir, pblk, last_use;
		char *data;		/* NULL: slot unused */
	} dircache[16];
	uint64_t dircache_clock;

	/* Read-write mounts (rw.c). */
	bool rw;			/* writes are served: bitmaps loaded, marks made */
	uint16_t mount_state;		/* s_state as found at mount, restored at unmount */

	/*
	 * mmp.c: multi-mount protection of a read-write mount, NULL when the
	 * filesystem has no mmp feature, is read-only or ext4_mmp_start()
	 * was not called.  Kept last in the struct: added with read-write.
	 */
	struct ext4_mmp *mmp;
	uint32_t generation;		/* i_generation of the next new inode (namei.c) */
	/*
	 * Inodes unlinked while still referenced (orphan.c): on the
	 * superblock's orphan list, readable until ->evict frees them.
	 */
	uint32_t *open_orphans;
	size_t open_orphan_count, open_orphan_cap;
	unsigned lock_depth;		/* EXT4_LOCK nesting, under lock */
	struct ext4_writeback *writeback;	/* writeback.c; NULL: ops write as they end */
	/*
	 * alloc.c: no free run of this many blocks exists (0: not known).
	 * Learnt from a failed search, forgotten when blocks are freed.
	 */
	uint64_t alloc_no_run;
};

static inline struct ext4_fs *EXT4(struct imgfs_fs *fs)
{
	return container_of(fs, struct ext4_fs, base);
}

/* Lock @e for the rest of the enclosing scope. */
static inline struct ext4_fs *ext4_lock(struct ext4_fs *e)
{
	pthread_mutex_lock(&e->lock);
	e->lock_depth++;
	return e;
}

/*
 * writeback.c: as the outermost op ends, the metadata it left in memory is
 * handed to the writeback thread (or written now, without one).
 */
void ext4_op_end(struct ext4_fs *e);

static inline void ext4_unlockp(struct ext4_fs **ep)
{
	struct ext4_fs *e = *ep;

	if (!e)
		return;
	if (--e->lock_depth == 0)
		ext4_op_end(e);
	pthread_mutex_unlock(&e->lock);
}
#define EXT4_LOCK(e) \
	_cleanup_(ext4_unlockp) struct ext4_fs *_ext4_locked_ __attribute__((unused)) = ext4_lock(e)

/* Memory libext2fs hands out is released with ext2fs_free_mem(). */
static inline void ext2_freep(void *p)
{
	if (*(void **)p)
		ext2fs_free_mem(p);
}
#define _cleanup_ext2_free_ _cleanup_(ext2_freep)

/* rw.c: the life of a read-write mount. */
/*
 * After the filesystem is open and checked: refuse features the write
 * path does not keep, load the bitmaps, mark the superblock as mounted.
 */
int ext4_rw_start(struct ext4_fs *e, struct imgfs_error *err);
/* Write the superblock, descriptors and changed bitmaps, then fdatasync. */
int ext4_rw_sync(struct ext4_fs *e);
/* At unmount: the state found at mount (or an error mark), synced. */
int ext4_rw_finish(struct ext4_fs *e);
/* 0 when a change may be made now, else -EROFS.  Call under the lock. */
int ext4_may_write(struct ext4_fs *e);
struct ext4_inode;
/* The first step of a change to inode @ino: ext4_may_write, then read @ino into @in. */
int ext4_inode_for_change(struct ext4_fs *e, uint64_t ino, struct ext4_inode *in);
extern const struct imgfs_write_ops ext4_write_ops;

/*
 * The kernel's link count rules (ext4_inc_count/ext4_dec_count): an
 * indexed directory on a dir_nlink filesystem past EXT2_LINK_MAX links
 * counts 1, "too many to count", and stays there.
 */
void ext4_nlink_inc(const struct ext4_fs *e, struct ext4_inode *in);
void ext4_nlink_dec(struct ext4_inode *in);
/* May directory @dir take one more subdirectory?  (EXT4_DIR_LINK_MAX) */
bool ext4_dir_link_max(const struct ext4_fs *e, const struct ext4_inode *dir);

/*
 * inline-dir.c: grow full inline directory @dir into the inode's xattr
 * space (0: try the link again), or -ENOSPC when there is no more room.
 */
int ext4_inline_dir_grow(struct ext4_fs *e, uint64_t dir);

/* namei.c: names (under the lock). */
/* Read directory @dir for a change: -ENOTDIR, or -ENOENT once it was removed. */
int ext4_dir_for_change(struct ext4_fs *e, uint64_t dir, struct ext4_inode *in);
/* Copy a name of @len bytes into @buf (EXT2_NAME_LEN + 1), or -ENAMETOOLONG. */
int ext4_name_copy(char *buf, const char *name, size_t len);
/* Add entry @name -> @ino (of type @mode) to @dir, growing @dir as needed. */
int ext4_dir_add(struct ext4_fs *e, uint64_t dir, const char *name, uint64_t ino, uint16_t mode);
/* Point the existing entry @name of @dir at @ino (of type @mode). */
int ext4_dir_set(struct ext4_fs *e, uint64_t dir, const char *name, uint64_t ino, uint16_t mode);
/* Take entry @name (naming @child) out of @dir; through the index when it has one. */
int ext4_dir_remove(struct ext4_fs *e, uint64_t dir, const char *name, uint64_t child);
/* Directory @dir gained or lost an entry: mtime and ctime, and @subdirs links. */
int ext4_dir_changed(struct ext4_fs *e, uint64_t dir, int subdirs);
/* 1 if directory @dir holds nothing but "." and "..", 0 if it holds more. */
int ext4_dir_is_empty(struct ext4_fs *e, uint64_t dir);
int ext4_create(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		const struct imgfs_new_inode *ni, uint64_t *ino);
int ext4_mknod(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
	       const struct imgfs_new_inode *ni, uint64_t *ino);
int ext4_mkdir(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
	       const struct imgfs_new_inode *ni, uint64_t *ino);
int ext4_symlink(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		 const char *target, size_t target_len, const struct imgfs_new_inode *ni,
		 uint64_t *ino);
int ext4_link(struct imgfs_fs *fs, uint64_t ino, uint64_t dir, const char *name, size_t len);
int ext4_unlink(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len, uint64_t *ino);
int ext4_rmdir(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len, uint64_t *ino);

/* rename.c */
int ext4_rename(struct imgfs_fs *fs, uint64_t olddir, const char *oldname, size_t oldlen,
		uint64_t newdir, const char *newname, size_t newlen, unsigned flags,
		uint64_t *replaced);

/* attr.c */
int ext4_setattr(struct imgfs_fs *fs, uint64_t ino, const struct imgfs_setattr *sa);
int ext4_touch_atime(struct imgfs_fs *fs, uint64_t ino, enum imgfs_atime policy);
/*
 * The data path's truncate(2) (engineer H3's): frees or zeroes past
 * @size and writes @in.  Under the lock.  Until it is linked in, a weak
 * stub in attr.c answers -EOPNOTSUPP.
 */
int ext4_truncate(struct ext4_fs *e, struct ext4_inode *in, uint64_t size);

/* xattr-write.c */
/* chmod of @ino to @mode: its access ACL's owner, mask (or group) and other follow. */
int ext4_acl_chmod(struct ext4_fs *e, uint64_t ino, uint16_t mode);
int ext4_setxattr(struct imgfs_fs *fs, uint64_t ino, const char *name, const void *value,
		  size_t size, int flags);
int ext4_removexattr(struct imgfs_fs *fs, uint64_t ino, const char *name);
/*
 * What a new inode takes from its directory's default ACL, in the VFS's
 * ACL format (libext2fs writes ext4's): an access ACL unless its mode
 * says all of it, and for a directory the default itself.
 */
struct ext4_acl_inherit {
	void *access, *def;	/* NULL: none */
	size_t access_len, def_len;
};
/*
 * As the kernel's posix_acl_create for a new inode of *@mode in @dir:
 * without a default ACL the umask clears permission bits; with one the
 * ACL masks them instead and *@out says what the inode inherits.
 * Symlinks take neither.  Release *@out with ext4_acl_inherit_done().
 */
int ext4_acl_inherit(struct ext4_fs *e, const struct ext4_inode *dir, uint16_t *mode,
		     unsigned umask, struct ext4_acl_inherit *out);
void ext4_acl_inherit_done(struct ext4_acl_inherit *a);
/* Write what ext4_acl_inherit() found on new inode @ino. */
int ext4_acl_init(struct ext4_fs *e, uint64_t ino, const struct ext4_acl_inherit *a);

/* orphan.c: inodes with no links that are still referenced. */
/* Is @ino unlinked but still open (so readable until evicted)? */
bool ext4_orphan_is_open(const struct ext4_fs *e, uint64_t ino);
/* @in lost its last link: chain it on the orphan list (the caller writes @in). */
int ext4_orphan_add(struct ext4_fs *e, struct ext4_inode *in);
/* At a read-write mount: free what a previous mount left on the orphan list. */
int ext4_orphan_cleanup(struct ext4_fs *e);
/* At unmount: free every inode still open but unlinked, as the kernel's umount evicts. */
int ext4_orphan_evict_all(struct ext4_fs *e);
void ext4_orphan_free_set(struct ext4_fs *e);
/* Free inode @ino and all it holds (blocks, inline data, its xattr block reference). */
int ext4_inode_free(struct ext4_fs *e, uint64_t ino);
int ext4_evict(struct imgfs_fs *fs, uint64_t ino);

/* zone.c */
/* Collect the metadata and journal blocks, once, at open. */
int ext4_zones_build(struct ext4_fs *e);
void ext4_zones_free(struct ext4_fs *e);
/*
 * May inode @ino map blocks [@pblk, @pblk + @len)?  Not outside the
 * filesystem, not the superblock's, not its metadata's, and only the
 * journal inode the journal's: the kernel's block_validity.
 */
bool ext4_blocks_ok(const struct ext4_fs *e, uint64_t ino, uint64_t pblk, uint64_t len);

/* ext4.c */
/*
 * Turn a libext2fs error into a negative errno.  Corruption codes become
 * -EUCLEAN, reported with fs_corrupt() naming @ino, @what and the code.
 */
int ext4_errno(errcode_t err, uint64_t ino, const char *what);
const char *ext4_strerror(errcode_t code);

/*
 * mmp.c: multi-mount protection, as the kernel's ext4_multi_mount_protect.
 * The filesystem is opened with EXT2_FLAG_SKIP_MMP (libext2fs's own opens
 * the device by path with O_DIRECT, which the sandbox forbids); these read
 * and write the MMP block through the image descriptor instead.
 *
 * ext4_mmp_start: for a read-write image (e->base.img writable, e->fs and
 * e->base.img set) with the mmp feature, take the filesystem over: refuse
 * with -EBUSY and a message naming the holder if e2fsck or another node has
 * it, else write our sequence and start the thread that keeps updating
 * it.  Takes 5 s or more (the kernel's waits); 0 at once without mmp.
 * ext4_mmp_lost: someone else rewrote the block since; the thread stopped
 * writing it, and the backend must stop writing the filesystem (EROFS).
 * ext4_mmp_stop: at unmount, after the last write: stop the thread and
 * mark the block clean (unless lost).  Safe to call without a start.
 */
int ext4_mmp_start(struct ext4_fs *e, struct imgfs_error *err);
bool ext4_mmp_lost(struct ext4_fs *e);
void ext4_mmp_stop(struct ext4_fs *e);

/* io.c: an io_manager that preads the image fd; see io.c for the name format. */
extern io_manager imgfs_io_manager;
int imgfs_io_name(char *buf, size_t size, const struct imgfs_image *img);
/* File data blocks bypass io.c's metadata cache (the engine reads them from the fd). */
errcode_t imgfs_io_write_through(io_channel io, unsigned long long block, int count,
				 const void *data);
errcode_t imgfs_io_read_through(io_channel io, unsigned long long block, int count, void *data);
/* Freed blocks: any cached copy, written or not, is dropped. */
void imgfs_io_forget(io_channel io, unsigned long long block, unsigned long long count);
/* The metadata cache holds blocks not yet in the image; write them (no fdatasync). */
bool imgfs_io_has_dirty(io_channel io);
errcode_t imgfs_io_write_dirty(io_channel io);

/*
 * writeback.c: on a read-write mount, a thread writes the metadata ops
 * leave in memory a moment after they leave it.  Start after
 * ext4_rw_start; stop before the unmount's last sync.  Without a start
 * (or if the thread cannot run), each op writes its cached blocks itself.
 */
struct ext4_writeback;
void ext4_writeback_start(struct ext4_fs *e);
void ext4_writeback_stop(struct ext4_fs *e);

/* super.c */
struct imgfs_error;
int ext4_check_super(const struct imgfs_image *img, struct imgfs_error *err);
int ext4_check_features(const struct ext2_super_block *sb, const char *path,
			struct imgfs_error *err);
void ext4_feature_names(const struct ext2_super_block *sb, char *buf, size_t size);
void ext4_unsupported_names(uint32_t incompat, char *buf, size_t size);
int ext4_compute_counts(struct ext4_fs *e);
int ext4_info(struct imgfs_fs *fs, struct imgfs_fs_info *info);
int ext4_statfs(struct imgfs_fs *fs, struct statvfs *st);

/* inode.c */
struct ext4_inode {
	uint64_t ino;
	unsigned extra_isize;		/* bytes past 128 the kernel reads fields from */
	struct ext2_inode_large raw;
};

/* Read and check inode @ino as ext4_iget() would; unused inodes are -ENOENT. */
int ext4_inode_read(struct ext4_fs *e, uint64_t ino, struct ext4_inode *in);
/* The same, checked, but also when no name refers to it any more: for freeing it. */
int ext4_inode_read_unlinked(struct ext4_fs *e, uint64_t ino, struct ext4_inode *in);
bool ext4_ino_valid(const struct ext4_fs *e, uint64_t ino);
uint64_t ext4_inode_size(const struct ext4_fs *e, const struct ext4_inode *in);
/*
 * The physical block of @in's logical block 0, which must be mapped and
 * written; if it is not, corruption named "inode N: @missing".
 */
int ext4_first_block(struct ext4_fs *e, struct ext4_inode *in, const char *missing,
		     uint64_t *pblk);
int ext4_getattr(struct imgfs_fs *fs, uint64_t ino, struct stat *st);

/* Writing inodes (read-write mounts; under the lock). */
enum ext4_time { EXT4_ATIME, EXT4_MTIME, EXT4_CTIME, EXT4_CRTIME };
#define EXT4_TOUCH_ATIME	(1U << 0)
#define EXT4_TOUCH_MTIME	(1U << 1)
#define EXT4_TOUCH_CTIME	(1U << 2)
void ext4_now(struct timespec *ts);
/* Decode @in's time @which (not EXT4_CRTIME), as getattr reports it. */
struct timespec ext4_inode_get_time(const struct ext4_inode *in, enum ext4_time which);
/* Encode @ts into @in's field @which, with nanoseconds where extra_isize has room. */
void ext4_inode_set_time(struct ext4_inode *in, enum ext4_time which, const struct timespec *ts);
/* Set the EXT4_TOUCH_* times of @in to now. */
void ext4_inode_touch(struct ext4_inode *in, unsigned which);
/* Write @in back, with its checksum; in-inode xattrs past the fields are kept. */
int ext4_inode_write(struct ext4_fs *e, struct ext4_inode *in);
int ext4_readlink(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t size, size_t *len);

/* map.c */
struct ext4_map {
	uint64_t lblk;			/* first logical block of the run */
	uint64_t len;			/* blocks, > 0 */
	uint64_t pblk;			/* first physical block; 0 for a hole */
	bool unwritten;
};

/* The run of blocks around logical block @lblk of @in (which may start before it). */
int ext4_map_block(struct ext4_fs *e, struct ext4_inode *in, uint64_t lblk,
		   struct ext4_map *map);
/* The extent tree root of @in is no deeper than ext4 allows. */
int ext4_extent_depth_check(const struct ext4_inode *in);
/* The extent tree root in @in's i_block, as the kernel's iget checks it. */
int ext4_extent_root_check(const struct ext4_fs *e, const struct ext4_inode *in);
/* Read one filesystem block. */
int ext4_read_block(struct ext4_fs *e, uint64_t ino, uint64_t pblk, void *buf);
/* The inline data of @in (i_block then system.data), in memory the caller frees. */
int ext4_inline_read(struct ext4_fs *e, struct ext4_inode *in, char **data, size_t *size);
int ext4_iomap_begin(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		     unsigned opflags, struct imgfs_iomap *map);
int ext4_has_inline(struct imgfs_fs *fs, uint64_t ino, bool *has_inline);
int ext4_read_inline(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, void *buf,
		     size_t len, size_t *done);

/* alloc.c: allocating file blocks (read-write mounts; under the lock). */
void ext4_extent_freep(ext2_extent_handle_t *h);
/* Delete @h's current extent and fix the keys above it. */
errcode_t ext4_extent_delete_fixed(ext2_extent_handle_t h);
/* ext4_errno, except that a full bitmap is -ENOSPC. */
int ext4_alloc_errno(errcode_t err, uint64_t ino, const char *what);
/*
 * Make sure logical block @lblk of @in (extent or block-mapped) has a
 * block, allocating up to @count contiguous ones from @lblk if it is a
 * hole, near the blocks before it.  *@map is the run holding @lblk (it
 * may start before it when it existed); *@fresh says it was allocated now:
 * unwritten in extent files, mapped in block-mapped ones.  @in is written.
 */
int ext4_alloc_blocks(struct ext4_fs *e, struct ext4_inode *in, uint64_t lblk, uint64_t count,
		      struct ext4_map *map, bool *fresh);
/* Mark the unwritten extents in blocks [@lblk, +@count) of @in written; @in is written. */
int ext4_convert_written(struct ext4_fs *e, struct ext4_inode *in, uint64_t lblk, uint64_t count);

/* write.c: the engine's write side (fs.h). */
/* iomap_begin with IMGFS_IOMAP_OP_WRITE: allocate what is missing. */
int ext4_iomap_write(struct ext4_fs *e, uint64_t ino, uint64_t pos, uint64_t len,
		     struct imgfs_iomap *map);
int ext4_ioend(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
	       unsigned ioend_flags, int error, uint64_t *newsize);

/* inline.c: writing inline-data files (under the lock). */
/* How many bytes @in could keep inline: i_block plus the room for system.data. */
int ext4_inline_capacity(struct ext4_fs *e, struct ext4_inode *in, size_t *cap);
/* Move @in's inline bytes to a block of their own (extents if the filesystem has them). */
int ext4_inline_convert(struct ext4_fs *e, struct ext4_inode *in);
/* Zero @in's inline bytes from @size on (shrinking); i_size is the caller's. */
int ext4_inline_truncate(struct ext4_fs *e, struct ext4_inode *in, uint64_t size);
int ext4_write_inline(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, const void *buf,
		      size_t len);

/* truncate.c */
/*
 * Set the size of regular file @in to @size as truncate(2) does: blocks
 * past it are freed (preallocated ones too), the tail of its last block
 * is zeroed on disk; growing leaves a hole.  mtime and ctime become now
 * when the size changes (setattr may set them after).  Takes the lock;
 * @in is written.
 */
int ext4_truncate(struct ext4_fs *e, struct ext4_inode *in, uint64_t size);
/* Zero bytes [@pos, +@len) of @in on disk where they are written (not holes or unwritten). */
int ext4_zero_bytes(struct ext4_fs *e, struct ext4_inode *in, uint64_t pos, uint64_t len);
/* Free logical blocks [@first, @last] of @in (~0: to the end). */
int ext4_free_blocks(struct ext4_fs *e, struct ext4_inode *in, uint64_t first, uint64_t last);
/* Set i_size (and large_file if it needs it); the inode is the caller's to write. */
int ext4_set_size(struct ext4_fs *e, struct ext4_inode *in, uint64_t size);

/* falloc.c */
int ext4_fallocate(struct imgfs_fs *fs, uint64_t ino, int mode, uint64_t pos, uint64_t len);

/* dir.c */
/*
 * Check and walk the entries of @size bytes at @buf: one directory block,
 * or one part of an inline directory.  @lblk names the block in messages;
 * @base is the position of @buf's first byte.  @fn is called per live
 * entry (@next is the position of the byte after it: readdir positions
 * are byte offsets in the directory); a positive return stops the walk
 * and is returned.
 */
int ext4_dirblock_walk(struct ext4_fs *e, uint64_t dir, uint64_t lblk, const char *buf,
		       size_t size, uint64_t base, imgfs_filldir_t fn, void *ctx);
/*
 * Directory @dir changed (or is gone): drop its verified blocks from the
 * cache.  Every change to a directory's blocks calls it, under the lock.
 */
void ext4_dircache_forget(struct ext4_fs *e, uint64_t dir);
/* Block @pblk of @dir now holds @buf, as written (checksum set): cache it so. */
void ext4_dircache_store(struct ext4_fs *e, uint64_t dir, uint64_t pblk, const void *buf);
/* Decode a dirent's rec_len (64 KiB blocks need two more bits). */
unsigned ext4_rec_len(const struct ext4_fs *e, uint16_t raw);
/* Read directory block @pblk (logical @lblk of @dir), verifying its checksum. */
int ext4_dirblock_read(struct ext4_fs *e, uint64_t dir, uint64_t lblk, uint64_t pblk,
		       void *buf);
/* Search one block of directory @dir for @name; returns 1 and *@ino when found. */
int ext4_dirblock_find(struct ext4_fs *e, const struct ext4_inode *dir, uint64_t lblk,
		       const char *buf, const char *name, size_t len, uint32_t *ino);
/* Does directory @dir compare names case-insensitively? */
static inline bool ext4_dir_casefold(const struct ext4_fs *e, const struct ext4_inode *dir)
{
	return e->encoding && (dir->raw.i_flags & EXT4_CASEFOLD_FL);
}
int ext4_readdir(struct imgfs_fs *fs, uint64_t dir, uint64_t pos, imgfs_filldir_t fill,
		 void *ctx);
int ext4_lookup(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		uint64_t *ino);

/* htree.c: 1 found, 0 not there, -EAGAIN when the index is unusable (search linearly). */
int ext4_htree_lookup(struct ext4_fs *e, struct ext4_inode *dir, const char *name,
		      size_t len, uint32_t *ino);
/* The same, and *@lblk is the leaf block that holds the name when it is found. */
int ext4_htree_find(struct ext4_fs *e, struct ext4_inode *dir, const char *name,
		    size_t len, uint32_t *ino, uint64_t *lblk);

/*
 * htree-make.c: make full one-block linear directory @dir hash-indexed,
 * its entries split over two leaves, as the kernel does before adding an
 * entry that does not fit.  -EAGAIN when that does not apply (no
 * dir_index, indexed, inline, longer than a block, or block 0 not laid
 * out as a root needs): the directory then grows linearly.
 */
int ext4_dir_make_indexed(struct ext4_fs *e, uint64_t dir);

/* xattr.c */
/*
 * Check what libext2fs would allocate to load @in's xattrs (it reads them
 * all, values in EA inodes included), before it does.
 */
int ext4_xattr_check(struct ext4_fs *e, const struct ext4_inode *in);
int ext4_listxattr(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t size, size_t *len);
int ext4_getxattr(struct imgfs_fs *fs, uint64_t ino, const char *name, void *buf,
		  size_t size, size_t *len);

#endif
