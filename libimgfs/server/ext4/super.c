/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The superblock: what we refuse to serve before libext2fs sees the image,
 * feature names as e2fsprogs prints them, and statfs/info.
 */
#include "config.h"

#include <string.h>
#include <sys/statvfs.h>

#include "ext4.h"

enum { COMPAT, INCOMPAT, RO_COMPAT };

/* Names as lib/e2p prints them (dumpe2fs, tune2fs -l), in its order of kinds. */
static const struct feature_name {
	int kind;
	uint32_t mask;
	const char *name;
} feature_names[] = {
	{ COMPAT, EXT2_FEATURE_COMPAT_DIR_PREALLOC, "dir_prealloc" },
	{ COMPAT, EXT2_FEATURE_COMPAT_IMAGIC_INODES, "imagic_inodes" },
	{ COMPAT, EXT3_FEATURE_COMPAT_HAS_JOURNAL, "has_journal" },
	{ COMPAT, EXT2_FEATURE_COMPAT_EXT_ATTR, "ext_attr" },
	{ COMPAT, EXT2_FEATURE_COMPAT_RESIZE_INODE, "resize_inode" },
	{ COMPAT, EXT2_FEATURE_COMPAT_DIR_INDEX, "dir_index" },
	{ COMPAT, EXT2_FEATURE_COMPAT_LAZY_BG, "lazy_bg" },
	{ COMPAT, EXT2_FEATURE_COMPAT_EXCLUDE_BITMAP, "snapshot_bitmap" },
	{ COMPAT, EXT4_FEATURE_COMPAT_SPARSE_SUPER2, "sparse_super2" },
	{ COMPAT, EXT4_FEATURE_COMPAT_FAST_COMMIT, "fast_commit" },
	{ COMPAT, EXT4_FEATURE_COMPAT_STABLE_INODES, "stable_inodes" },
	{ COMPAT, EXT4_FEATURE_COMPAT_ORPHAN_FILE, "orphan_file" },

	{ INCOMPAT, EXT2_FEATURE_INCOMPAT_COMPRESSION, "compression" },
	{ INCOMPAT, EXT2_FEATURE_INCOMPAT_FILETYPE, "filetype" },
	{ INCOMPAT, EXT3_FEATURE_INCOMPAT_RECOVER, "needs_recovery" },
	{ INCOMPAT, EXT3_FEATURE_INCOMPAT_JOURNAL_DEV, "journal_dev" },
	{ INCOMPAT, EXT2_FEATURE_INCOMPAT_META_BG, "meta_bg" },
	{ INCOMPAT, EXT3_FEATURE_INCOMPAT_EXTENTS, "extent" },
	{ INCOMPAT, EXT4_FEATURE_INCOMPAT_64BIT, "64bit" },
	{ INCOMPAT, EXT4_FEATURE_INCOMPAT_MMP, "mmp" },
	{ INCOMPAT, EXT4_FEATURE_INCOMPAT_FLEX_BG, "flex_bg" },
	{ INCOMPAT, EXT4_FEATURE_INCOMPAT_EA_INODE, "ea_inode" },
	{ INCOMPAT, EXT4_FEATURE_INCOMPAT_DIRDATA, "dirdata" },
	{ INCOMPAT, EXT4_FEATURE_INCOMPAT_CSUM_SEED, "metadata_csum_seed" },
	{ INCOMPAT, EXT4_FEATURE_INCOMPAT_LARGEDIR, "large_dir" },
	{ INCOMPAT, EXT4_FEATURE_INCOMPAT_INLINE_DATA, "inline_data" },
	{ INCOMPAT, EXT4_FEATURE_INCOMPAT_ENCRYPT, "encrypt" },
	{ INCOMPAT, EXT4_FEATURE_INCOMPAT_CASEFOLD, "casefold" },

	{ RO_COMPAT, EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER, "sparse_super" },
	{ RO_COMPAT, EXT2_FEATURE_RO_COMPAT_LARGE_FILE, "large_file" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_HUGE_FILE, "huge_file" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_GDT_CSUM, "uninit_bg" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_DIR_NLINK, "dir_nlink" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE, "extra_isize" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_HAS_SNAPSHOT, "snapshot" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_QUOTA, "quota" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_BIGALLOC, "bigalloc" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_METADATA_CSUM, "metadata_csum" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_REPLICA, "replica" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_READONLY, "read-only" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_PROJECT, "project" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_SHARED_BLOCKS, "shared_blocks" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_VERITY, "verity" },
	{ RO_COMPAT, EXT4_FEATURE_RO_COMPAT_ORPHAN_PRESENT, "orphan_present" },
};

/*
 * Incompatible features this backend reads correctly.  Everything else
 * that libext2fs accepts is refused below with a reason of its own.
 */
#define SERVED_INCOMPAT (EXT2_FEATURE_INCOMPAT_FILETYPE | EXT2_FEATURE_INCOMPAT_META_BG | \
			 EXT3_FEATURE_INCOMPAT_EXTENTS | EXT4_FEATURE_INCOMPAT_64BIT | \
			 EXT4_FEATURE_INCOMPAT_MMP | EXT4_FEATURE_INCOMPAT_FLEX_BG | \
			 EXT4_FEATURE_INCOMPAT_EA_INODE | EXT4_FEATURE_INCOMPAT_CSUM_SEED | \
			 EXT4_FEATURE_INCOMPAT_LARGEDIR | EXT4_FEATURE_INCOMPAT_INLINE_DATA | \
			 EXT4_FEATURE_INCOMPAT_CASEFOLD)

/* Append @word to the space-separated list in @buf. */
static void append_word(char *buf, size_t size, const char *word)
{
	size_t used = strlen(buf);

	snprintf(buf + used, size - used, "%s%s", used ? " " : "", word);
}

static void kind_names(int kind, uint32_t mask, char *buf, size_t size)
{
	static const char kind_char[] = { 'C', 'I', 'R' };

	for (unsigned bit = 0; bit < 32; bit++) {
		uint32_t m = 1U << bit;
		const char *name = NULL;
		char unknown[20];

		if (!(mask & m))
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(feature_names) && !name; i++)
			if (feature_names[i].kind == kind && feature_names[i].mask == m)
				name = feature_names[i].name;
		if (!name) {
			/* e2p's spelling of a bit it has no name for */
			snprintf(unknown, sizeof(unknown), "FEATURE_%c%u", kind_char[kind], bit);
			name = unknown;
		}
		append_word(buf, size, name);
	}
}

void ext4_feature_names(const struct ext2_super_block *sb, char *buf, size_t size)
{
	buf[0] = '\0';
	kind_names(COMPAT, ext2fs_le32_to_cpu(sb->s_feature_compat), buf, size);
	kind_names(INCOMPAT, ext2fs_le32_to_cpu(sb->s_feature_incompat), buf, size);
	kind_names(RO_COMPAT, ext2fs_le32_to_cpu(sb->s_feature_ro_compat), buf, size);
}

void ext4_unsupported_names(uint32_t incompat, char *buf, size_t size)
{
	buf[0] = '\0';
	kind_names(INCOMPAT, incompat, buf, size);
}

int ext4_check_features(const struct ext2_super_block *sb, const char *path,
			struct imgfs_error *err)
{
	uint32_t incompat = ext2fs_le32_to_cpu(sb->s_feature_incompat);
	char names[256];

	if (incompat & EXT3_FEATURE_INCOMPAT_JOURNAL_DEV)
		return imgfs_error_set(err, EMEDIUMTYPE,
				       "%s: is an external ext3/ext4 journal, not a filesystem",
				       path);
	/*
	 * A journal with unreplayed transactions: the metadata on disk is
	 * stale until recovery, and we cannot replay it read-only.
	 */
	if (incompat & EXT3_FEATURE_INCOMPAT_RECOVER)
		return imgfs_error_set(err, EROFS, "%s: journal needs recovery: run e2fsck", path);
	if (incompat & EXT4_FEATURE_INCOMPAT_ENCRYPT)
		return imgfs_error_set(err, EOPNOTSUPP,
				       "%s: unsupported feature encrypt: encrypted directories cannot be served",
				       path);
	/* Case-insensitive directories: the only encoding there is, UTF-8 12.1. */
	if ((incompat & EXT4_FEATURE_INCOMPAT_CASEFOLD) &&
	    ext2fs_le16_to_cpu(sb->s_encoding) != EXT4_ENC_UTF8_12_1)
		return imgfs_error_set(err, EOPNOTSUPP,
				       "%s: unsupported feature casefold with filename encoding %u",
				       path, ext2fs_le16_to_cpu(sb->s_encoding));
	if (incompat & ~SERVED_INCOMPAT) {
		ext4_unsupported_names(incompat & ~SERVED_INCOMPAT, names, sizeof(names));
		return imgfs_error_set(err, EOPNOTSUPP, "%s: unsupported filesystem feature(s): %s",
				       path, names);
	}
	return 0;
}

/*
 * libext2fs keeps every group descriptor in memory, so their number is
 * what opening costs: 2^18 groups is 32 TiB at 4 KiB blocks (128 MiB per
 * group) and 8 PiB at 64 KiB.  Only a hostile sparse image claims more.
 */
#define EXT4_MAX_GROUPS (1U << 18)
#define EXT4_MAX_DESC_BYTES (16U << 20)

/* Refuse a group geometry whose descriptors would not fit in memory. */
static int check_groups(const struct ext2_super_block *sb, uint64_t blocks, const char *path,
			struct imgfs_error *err)
{
	uint32_t per_group = ext2fs_le32_to_cpu(sb->s_blocks_per_group);
	uint32_t first = ext2fs_le32_to_cpu(sb->s_first_data_block);
	unsigned desc_size = EXT2_MIN_DESC_SIZE;
	uint64_t groups;

	if (ext2fs_le32_to_cpu(sb->s_feature_incompat) & EXT4_FEATURE_INCOMPAT_64BIT)
		desc_size = MAX(ext2fs_le16_to_cpu(sb->s_desc_size), (unsigned)EXT2_MIN_DESC_SIZE);
	if (per_group == 0 || first >= blocks)
		return imgfs_error_set(err, EMEDIUMTYPE,
				       "%s: not an ext2/3/4 filesystem or corrupt superblock: bad block group geometry",
				       path);
	groups = DIV_ROUND_UP(blocks - first, (uint64_t)per_group);
	if (groups > EXT4_MAX_GROUPS || groups * desc_size > EXT4_MAX_DESC_BYTES)
		return imgfs_error_set(err, EFBIG,
				       "%s: %llu block groups of %u blocks are more than imgfs serves (at most %u, and %u MiB of group descriptors)",
				       path, (unsigned long long)groups, per_group, EXT4_MAX_GROUPS,
				       EXT4_MAX_DESC_BYTES >> 20);
	return 0;
}

/*
 * Look at the primary superblock ourselves first, so that the common
 * refusals get a precise message and a truncated image is refused before
 * any block of it is trusted.
 */
int ext4_check_super(const struct imgfs_image *img, struct imgfs_error *err)
{
	struct ext2_super_block sb;
	uint64_t blocks, need;
	uint32_t log_bs;
	int r;

	if (img->size < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE)
		return imgfs_error_set(err, EMEDIUMTYPE,
				       "%s: not an ext2/3/4 filesystem or corrupt superblock: image of %llu bytes is too small",
				       img->path, (unsigned long long)img->size);
	r = imgfs_image_pread(img, &sb, sizeof(sb), SUPERBLOCK_OFFSET);
	if (r < 0)
		return imgfs_error_set(err, -r, "%s: cannot read the superblock: %s", img->path,
				       strerror(-r));
	if (ext2fs_le16_to_cpu(sb.s_magic) != EXT2_SUPER_MAGIC)
		return imgfs_error_set(err, EMEDIUMTYPE,
				       "%s: not an ext2/3/4 filesystem or corrupt superblock: bad magic number",
				       img->path);
	r = ext4_check_features(&sb, img->path, err);
	if (r < 0)
		return r;
	log_bs = ext2fs_le32_to_cpu(sb.s_log_block_size);
	if (log_bs > EXT2_MAX_BLOCK_LOG_SIZE - EXT2_MIN_BLOCK_LOG_SIZE)
		return imgfs_error_set(err, EMEDIUMTYPE,
				       "%s: not an ext2/3/4 filesystem or corrupt superblock: block size 2^%u is invalid",
				       img->path, log_bs + EXT2_MIN_BLOCK_LOG_SIZE);
	blocks = ext2fs_le32_to_cpu(sb.s_blocks_count);
	if (ext2fs_le32_to_cpu(sb.s_feature_incompat) & EXT4_FEATURE_INCOMPAT_64BIT)
		blocks |= (uint64_t)ext2fs_le32_to_cpu(sb.s_blocks_count_hi) << 32;
	/* As the kernel does: every block the filesystem claims must be in the image. */
	need = blocks << (log_bs + EXT2_MIN_BLOCK_LOG_SIZE);
	if (need >> (log_bs + EXT2_MIN_BLOCK_LOG_SIZE) != blocks || need > img->size)
		return imgfs_error_set(err, EMEDIUMTYPE,
				       "%s: image is truncated: the filesystem needs %llu blocks of %u bytes, the image holds %llu bytes",
				       img->path, (unsigned long long)blocks,
				       1U << (log_bs + EXT2_MIN_BLOCK_LOG_SIZE),
				       (unsigned long long)img->size);
	return check_groups(&sb, blocks, img->path, err);
}

/*
 * Blocks that hold metadata rather than data, as the kernel's statfs
 * subtracts them: superblock and descriptor copies, bitmaps, inode tables
 * and the internal journal.
 */
static int count_overhead(struct ext4_fs *e, uint64_t *overhead)
{
	ext2_filsys fs = e->fs;
	uint64_t sum = e->first_data_block;

	if (fs->super->s_overhead_clusters) {
		*overhead = EXT2FS_C2B(fs, (uint64_t)fs->super->s_overhead_clusters);
		return 0;
	}
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		blk64_t super, old_desc, new_desc;
		blk_t used = 0;
		errcode_t err;

		err = ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used);
		if (err)
			return ext4_errno(err, 0, "group descriptors");
		sum += used + 2 + fs->inode_blocks_per_group;
	}
	if (ext2fs_has_feature_journal(fs->super) && fs->super->s_journal_inum) {
		struct ext2_inode j;

		/* An unreadable journal inode only makes the number rougher. */
		if (ext2fs_read_inode(fs, fs->super->s_journal_inum, &j) == 0)
			sum += EXT2_I_SIZE(&j) >> e->blockbits;
	}
	*overhead = MIN(sum, e->blocks_count);
	return 0;
}

int ext4_compute_counts(struct ext4_fs *e)
{
	ext2_filsys fs = e->fs;
	uint64_t free_clusters = 0, free_inodes = 0, resv = 0;

	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		free_clusters += ext2fs_bg_free_blocks_count(fs, g);
		free_inodes += ext2fs_bg_free_inodes_count(fs, g);
	}
	e->free_blocks = MIN(EXT2FS_C2B(fs, free_clusters), e->blocks_count);
	e->free_inodes = MIN(free_inodes, (uint64_t)e->inodes_count);
	/* The kernel holds back 2% (at most 4096 clusters) on extent filesystems. */
	if (ext2fs_has_feature_extents(fs->super))
		resv = MIN(EXT2FS_B2C(fs, e->blocks_count) / 50, (uint64_t)4096);
	e->reserved_blocks = ext2fs_r_blocks_count(fs->super) + EXT2FS_C2B(fs, resv);
	return count_overhead(e, &e->overhead_blocks);
}

int ext4_statfs(struct imgfs_fs *fs, struct statvfs *st)
{
	struct ext4_fs *e = EXT4(fs);
	const uint8_t *uuid = e->fs->super->s_uuid;

	memset(st, 0, sizeof(*st));
	st->f_bsize = e->blocksize;
	st->f_frsize = e->blocksize;
	st->f_blocks = e->blocks_count - e->overhead_blocks;
	uint64_t free_blocks = e->free_blocks, free_inodes = e->free_inodes;

	if (e->rw) {
		/* libext2fs keeps the superblock's counts as it allocates and frees. */
		EXT4_LOCK(e);
		free_blocks = MIN(ext2fs_free_blocks_count(e->fs->super), e->blocks_count);
		free_inodes = MIN(e->fs->super->s_free_inodes_count, e->inodes_count);
	}
	st->f_bfree = free_blocks;
	st->f_bavail = free_blocks > e->reserved_blocks ? free_blocks - e->reserved_blocks : 0;
	st->f_files = e->inodes_count;
	st->f_ffree = free_inodes;
	st->f_favail = free_inodes;
	st->f_fsid = get_le32(uuid) ^ get_le32(uuid + 4) ^ get_le32(uuid + 8) ^
		     get_le32(uuid + 12);
	st->f_flag = (e->rw ? 0 : ST_RDONLY) | ST_NOSUID | ST_NODEV;
	st->f_namemax = EXT2_NAME_LEN;
	return 0;
}

int ext4_info(struct imgfs_fs *fs, struct imgfs_fs_info *info)
{
	struct ext4_fs *e = EXT4(fs);
	struct ext2_super_block *sb = e->fs->super;
	size_t n;

	memset(info, 0, sizeof(*info));
	if (fs->img->fstype[0])
		snprintf(info->type, sizeof(info->type), "%s", fs->img->fstype);
	else
		snprintf(info->type, sizeof(info->type), "%s",
			 ext2fs_has_feature_journal(sb) ? "ext3" : "ext2");
	n = strnlen((const char *)sb->s_volume_name, sizeof(sb->s_volume_name));
	memcpy(info->label, sb->s_volume_name, n);
	memcpy(info->uuid, sb->s_uuid, sizeof(info->uuid));
	info->block_size = e->blocksize;
	info->blocks = e->blocks_count;
	info->free_blocks = e->free_blocks;
	info->inodes = e->inodes_count;
	info->free_inodes = e->free_inodes;
	ext4_feature_names(sb, info->features, sizeof(info->features));
	return 0;
}
