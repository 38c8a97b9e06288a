/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opening and closing an ext2/3/4 filesystem, the ops table, and the one
 * place libext2fs error codes become errno values.
 */
#include "config.h"

#include <com_err.h>
#include <string.h>

#include "ext4.h"

/* Inodes libext2fs keeps parsed (ext2fs_create_inode_cache); see ext4_open. */
#define EXT4_ICACHE_INODES 256

/*
 * The text of a libext2fs error code.  Read straight from libext2fs's own
 * table: error_message() would need libcom_err on the link line, and the
 * table needs no registration.
 */
const char *ext4_strerror(errcode_t code)
{
	const struct error_table *t = &et_ext2_error_table;

	if (code >= t->base && code < t->base + t->n_msgs)
		return t->msgs[code - t->base];
	if (code > 0 && code < 4096)
		return strerror((int)code);
	return "unknown libext2fs error";
}

int ext4_errno(errcode_t err, uint64_t ino, const char *what)
{
	if (!err)
		return 0;
	if (err > 0 && err < 4096) {
		/* Plain errno values: I/O errors from our io_manager, ENOMEM, ... */
		if (err == EIO)
			log_err("inode %llu: %s: I/O error reading the image",
				(unsigned long long)ino, what);
		return -(int)err;
	}
	switch (err) {
	case EXT2_ET_NO_MEMORY:
		return -ENOMEM;
	case EXT2_ET_RO_FILSYS:
		return -EROFS;
	case EXT2_ET_OP_NOT_SUPPORTED:
	case EXT2_ET_UNIMPLEMENTED:
		return -EOPNOTSUPP;
	case EXT2_ET_EA_KEY_NOT_FOUND:
		return -ENODATA;
	/* Out of room while writing: the kernel's ENOSPC, the image intact. */
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_EA_NO_SPACE:
	case EXT2_ET_INLINE_DATA_NO_SPACE:
		return -ENOSPC;
	case EXT2_ET_DIR_EXISTS:
		return -EEXIST;
	case EXT2_ET_MAGIC_EXT2FS_FILSYS:
	case EXT2_ET_MAGIC_IO_CHANNEL:
	case EXT2_ET_MAGIC_IO_MANAGER:
	case EXT2_ET_MAGIC_EXTENT_HANDLE:
	case EXT2_ET_MAGIC_EA_HANDLE:
	case EXT2_ET_MAGIC_EXT2_FILE:
		/* Our own misuse of the library, not the image's fault. */
		log_err("inode %llu: %s: internal error: %s", (unsigned long long)ino, what,
			ext4_strerror(err));
		return -EIO;
	default:
		/* Everything else libext2fs reports is something wrong on disk. */
		return fs_corrupt("inode %llu: %s: %s", (unsigned long long)ino, what,
				  ext4_strerror(err));
	}
}

static void ext4_close(struct imgfs_fs *fs)
{
	struct ext4_fs *e = EXT4(fs);

	ext4_writeback_stop(e);	/* the last sync below writes what it left */
	if (e->fs)
		ext4_rw_finish(e);
	ext4_mmp_stop(e);	/* after the last write; a no-op unless started (mmp.c) */
	if (e->fs)
		ext2fs_free(e->fs);	/* flushed above, if it was read-write */
	ext4_orphan_free_set(e);
	for (size_t i = 0; i < ARRAY_SIZE(e->dircache); i++)
		free(e->dircache[i].data);
	ext4_zones_free(e);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

static void ext4_fs_freep(struct ext4_fs **e)
{
	if (*e)
		ext4_close(&(*e)->base);
}

static const struct imgfs_fs_ops ext4_ops = {
	.name = "ext4",
	.close = ext4_close,
	.info = ext4_info,
	.statfs = ext4_statfs,
	.getattr = ext4_getattr,
	.lookup = ext4_lookup,
	.readdir = ext4_readdir,
	.readlink = ext4_readlink,
	.listxattr = ext4_listxattr,
	.getxattr = ext4_getxattr,
};

/* Blocks came free: io.c drops its copies, and alloc.c's knowledge of runs is stale. */
static void blocks_freed(ext2_filsys fs, blk64_t blk, blk64_t num)
{
	struct ext4_fs *e = fs->priv_data;

	imgfs_io_forget(fs->io, blk, num);
	if (e)
		e->alloc_no_run = 0;
}

static void block_freed(ext2_filsys fs, blk64_t blk, int inuse)
{
	if (inuse < 0)
		blocks_freed(fs, blk, 1);
}

static void range_freed(ext2_filsys fs, blk64_t blk, blk_t num, int inuse)
{
	if (inuse < 0)
		blocks_freed(fs, blk, num);
}

static int ext4_syncfs(struct imgfs_fs *fs)
{
	struct ext4_fs *e = EXT4(fs);
	EXT4_LOCK(e);

	return ext4_rw_sync(e);
}

/*
 * File data went to the image with pwrite(); metadata waits in io.c's
 * cache, which ext2fs_flush2 writes before it fdatasyncs the image:
 * syncing one file is syncing the image.
 */
static int ext4_fsync(struct imgfs_fs *fs, uint64_t ino, bool datasync)
{
	return ext4_syncfs(fs);
}

const struct imgfs_write_ops ext4_write_ops = {
	.fallocate = ext4_fallocate,
	.create = ext4_create,
	.mknod = ext4_mknod,
	.mkdir = ext4_mkdir,
	.symlink = ext4_symlink,
	.link = ext4_link,
	.unlink = ext4_unlink,
	.rmdir = ext4_rmdir,
	.rename = ext4_rename,
	.setattr = ext4_setattr,
	.setxattr = ext4_setxattr,
	.removexattr = ext4_removexattr,
	.evict = ext4_evict,
	.fsync = ext4_fsync,
	.syncfs = ext4_syncfs,
	.touch_atime = ext4_touch_atime,
};

static const struct imgfs_iomap_ops ext4_iomap_ops = {
	.iomap_begin = ext4_iomap_begin,
	.ioend = ext4_ioend,
	.has_inline = ext4_has_inline,
	.read_inline = ext4_read_inline,
	.write_inline = ext4_write_inline,
};

/* Largest file size the kernel allows for extent-mapped files (ext4_max_size()). */
static uint64_t max_size_extents(unsigned bits, bool huge_file)
{
	uint64_t res = ((1ULL << 32) - 1) << bits;
	uint64_t upper = INT64_MAX;

	if (!huge_file) {
		/* i_blocks counts 512-byte sectors in 32 bits */
		upper = ((1ULL << 32) - 1) >> (bits - 9) << bits;
	}
	return MIN(res, upper);
}

/*
 * Largest file size the kernel allows for block-mapped files
 * (ext4_max_bitmap_size()): what the three indirect trees reach, unless
 * i_blocks, which counts the data and the indirect blocks, runs out first.
 */
static uint64_t max_size_bitmap(unsigned bits, bool huge_file)
{
	const uint64_t ppb = 1ULL << (bits - 2);
	uint64_t res = EXT2_NDIR_BLOCKS + ppb + ppb * ppb + ppb * ppb * ppb;
	uint64_t meta = 1 + (1 + ppb) + (1 + ppb + ppb * ppb);
	/* 32 bits of sectors; with huge_file, 48 bits of blocks */
	uint64_t upper = huge_file ? (1ULL << 48) - 1 : ((1ULL << 32) - 1) >> (bits - 9);

	if (res + meta > upper) {
		uint64_t left = upper - EXT2_NDIR_BLOCKS - ppb;

		/* The indirect blocks needed to reach @upper come out of it. */
		res = upper;
		meta = 1;
		if (left < ppb * ppb) {
			meta += 1 + (left + ppb - 1) / ppb;
		} else {
			meta += 1 + ppb;
			left -= ppb * ppb;
			meta += 1 + (left + ppb - 1) / ppb + (left + ppb * ppb - 1) / (ppb * ppb);
		}
		res -= meta;
	}
	return MIN(res << bits, (uint64_t)INT64_MAX);
}

static void decode_super(struct ext4_fs *e)
{
	struct ext2_super_block *sb = e->fs->super;
	const uint32_t sflags = sb->s_flags;

	e->blocksize = e->fs->blocksize;
	e->blockbits = EXT2_BLOCK_SIZE_BITS(sb);
	e->inode_size = EXT2_INODE_SIZE(sb);
	e->first_ino = EXT2_FIRST_INO(sb);
	e->inodes_count = sb->s_inodes_count;
	e->first_data_block = sb->s_first_data_block;
	e->blocks_count = ext2fs_blocks_count(e->fs->super);
	e->metadata_csum = ext2fs_has_feature_metadata_csum(sb);
	e->filetype = ext2fs_has_feature_filetype(sb);
	e->dir_index = ext2fs_has_feature_dir_index(sb);
	e->largedir = ext2fs_has_feature_largedir(sb);
	e->huge_file = ext2fs_has_feature_huge_file(sb);
	e->inline_data = ext2fs_has_feature_inline_data(sb);
	/* Before any inode is read: iget checks i_size against these. */
	e->base.max_file_size = max_size_extents(e->blockbits, e->huge_file);
	e->max_bitmap_size = max_size_bitmap(e->blockbits, e->huge_file);
	e->strict_encoding = sb->s_encoding_flags & EXT4_ENC_STRICT_MODE_FL;
	/*
	 * Which flavour of the legacy/half-MD4/TEA hashes the directory
	 * indexes were built with.  With neither flag set, the kernel uses
	 * the signedness of char on the host (signed on x86).
	 */
	if (sflags & EXT2_FLAGS_UNSIGNED_HASH)
		e->hash_unsigned = 3;
	else if (!(sflags & EXT2_FLAGS_SIGNED_HASH) && (char)-1 > 0)
		e->hash_unsigned = 3;
	else
		e->hash_unsigned = 0;
}

static int open_error(const struct imgfs_image *img, errcode_t code, struct imgfs_error *err)
{
	switch (code) {
	case EXT2_ET_NO_MEMORY:
	case ENOMEM:
		return imgfs_error_set(err, ENOMEM, "out of memory");
	default:
		if (code > 0 && code < 4096 && code != EIO)
			return imgfs_error_set(err, (int)code, "%s: %s", img->path,
					       strerror((int)code));
		return imgfs_error_set(err, EMEDIUMTYPE,
				       "%s: not an ext2/3/4 filesystem or corrupt superblock: %s",
				       img->path, ext4_strerror(code));
	}
}

/* The root must be a directory with blocks, or the kernel refuses to mount. */
static int check_root(struct ext4_fs *e, const struct imgfs_image *img,
		      struct imgfs_error *err)
{
	struct ext4_inode root;
	int r = ext4_inode_read(e, EXT2_ROOT_INO, &root);

	if (r == -ENOENT || (r == 0 && (!LINUX_S_ISDIR(root.raw.i_mode) || !root.raw.i_blocks ||
					 !ext4_inode_size(e, &root))))
		return imgfs_error_set(err, EUCLEAN, "%s: corrupt root inode, run e2fsck",
				       img->path);
	if (r < 0)
		return imgfs_error_set(err, -r, "%s: cannot read the root inode: %s", img->path,
				       strerror(-r));
	return 0;
}

int imgfs_ext4_open(struct imgfs_image *img, struct imgfs_fs **fsp, struct imgfs_error *err)
{
	_cleanup_(ext4_fs_freep) struct ext4_fs *e = NULL;
	pthread_mutexattr_t attr;
	char name[96];
	errcode_t code;
	int r;

	r = ext4_check_super(img, err);
	if (r < 0)
		return r;
	if (imgfs_io_name(name, sizeof(name), img) < 0)
		return imgfs_error_set(err, EINVAL, "%s: bad image descriptor", img->path);

	e = calloc(1, sizeof(*e));
	if (!e)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&e->lock, &attr);
	pthread_mutexattr_destroy(&attr);

	/*
	 * Checksums verified (no EXT2_FLAG_IGNORE_CSUM_ERRORS).  MMP is
	 * ours (mmp.c): libext2fs's would open the device by path.
	 */
	code = ext2fs_open2(name, NULL,
			    EXT2_FLAG_64BITS | (img->writable ? EXT2_FLAG_RW | EXT2_FLAG_SKIP_MMP : 0),
			    0, 0, imgfs_io_manager, &e->fs);
	if (code) {
		e->fs = NULL;
		if (code == EXT2_ET_UNSUPP_FEATURE) {
			char names[256];
			struct ext2_super_block sb;

			/* Name the bits this build of libext2fs does not know. */
			names[0] = '\0';
			if (imgfs_image_pread(img, &sb, sizeof(sb), SUPERBLOCK_OFFSET) == 0)
				ext4_unsupported_names(ext2fs_le32_to_cpu(sb.s_feature_incompat) &
						       ~EXT2_LIB_FEATURE_INCOMPAT_SUPP,
						       names, sizeof(names));
			return imgfs_error_set(err, EOPNOTSUPP,
					       "%s: unsupported filesystem feature(s): %s",
					       img->path, names[0] ? names : "unknown");
		}
		return open_error(img, code, err);
	}
	/*
	 * Descriptors pointing outside their group (or failing checksums) are
	 * refused.  The check marks metadata in a block bitmap: as a tree its
	 * size follows the (bounded) number of groups, where the default
	 * array would take a bit per block of however large an image claims.
	 */
	e->fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	code = ext2fs_check_desc(e->fs);
	if (code == EXT2_ET_NO_MEMORY)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	if (code)
		return imgfs_error_set(err, EUCLEAN, "%s: corrupt group descriptors: %s, run e2fsck",
				       img->path, ext4_strerror(code));
	decode_super(e);
	r = ext4_zones_build(e);
	if (r == -EUCLEAN)
		return imgfs_error_set(err, EUCLEAN, "%s: corrupt journal inode, run e2fsck", img->path);
	if (r < 0)
		return imgfs_error_set(err, -r, "%s: cannot list the filesystem's metadata blocks: %s",
				       img->path, strerror(-r));
	if (ext2fs_has_feature_casefold(e->fs->super)) {
		e->encoding = ext2fs_load_nls_table(e->fs->super->s_encoding);
		if (!e->encoding)
			return imgfs_error_set(err, EOPNOTSUPP,
					       "%s: unsupported filename encoding %u", img->path,
					       e->fs->super->s_encoding);
	}
	/* A freed block may become file data, which bypasses io.c's cache: drop its copy. */
	e->fs->priv_data = e;
	ext2fs_set_block_alloc_stats_callback(e->fs, block_freed, NULL);
	ext2fs_set_block_alloc_stats_range_callback(e->fs, range_freed, NULL);
	/*
	 * getattr after lookup reads the same inode twice, and an unlink
	 * reads its directory and child over and over: keep a few hundred.
	 * ext2fs_open2 has made the library's default of 4 by now (rm -rf
	 * missed it 5.6 times a file, a 4 KiB block copied and a checksum
	 * verified each), and creating one keeps an existing one: replace it.
	 */
	if (e->fs->icache) {
		ext2fs_free_inode_cache(e->fs->icache);
		e->fs->icache = NULL;
	}
	code = ext2fs_create_inode_cache(e->fs, EXT4_ICACHE_INODES);
	if (code)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	r = check_root(e, img, err);
	if (r < 0)
		return r;
	r = ext4_compute_counts(e);
	if (r < 0)
		return imgfs_error_set(err, -r, "%s: cannot read the group descriptors: %s",
				       img->path, strerror(-r));

	e->base.ops = &ext4_ops;
	e->base.iomap_ops = &ext4_iomap_ops;
	e->base.img = img;
	e->base.root_ino = EXT2_ROOT_INO;
	e->base.block_size = e->blocksize;
	if (img->writable) {
		r = ext4_rw_start(e, err);
		if (r < 0)
			return r;
	} else if (e->fs->super->s_state & EXT2_ERROR_FS) {
		log_warn("%s: filesystem has errors recorded, consider e2fsck", img->path);
	}
	*fsp = &steal_pointer(&e)->base;
	return 0;
}
