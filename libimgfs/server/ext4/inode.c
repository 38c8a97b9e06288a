/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inodes: reading and checking them as the kernel's ext4_iget() does, and
 * what stat(2) and readlink(2) show of them on a kernel mount.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "ext4.h"

bool ext4_ino_valid(const struct ext4_fs *e, uint64_t ino)
{
	return ino == EXT2_ROOT_INO || (ino >= e->first_ino && ino <= e->inodes_count);
}

/* Regular files (and everything on large_dir filesystems) have 64-bit sizes. */
uint64_t ext4_inode_size(const struct ext4_fs *e, const struct ext4_inode *in)
{
	uint64_t size = in->raw.i_size;

	if (e->largedir || LINUX_S_ISREG(in->raw.i_mode))
		size |= (uint64_t)in->raw.i_size_high << 32;
	return size;
}

int ext4_first_block(struct ext4_fs *e, struct ext4_inode *in, const char *missing,
		     uint64_t *pblk)
{
	struct ext4_map map;
	int r;

	r = ext4_map_block(e, in, 0, &map);
	if (r < 0)
		return r;
	if (!map.pblk || map.unwritten)
		return fs_corrupt("inode %llu: %s", (unsigned long long)in->ino, missing);
	/* The run holding block 0 starts there. */
	*pblk = map.pblk;
	return 0;
}

static bool is_fast_symlink(const struct ext4_fs *e, const struct ext4_inode *in);

static int check_inode(struct ext4_fs *e, struct ext4_inode *in)
{
	const struct ext2_inode_large *raw = &in->raw;
	unsigned long long ino = in->ino;
	uint64_t acl, limit;

	switch (raw->i_mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG: case LINUX_S_IFDIR: case LINUX_S_IFLNK:
	case LINUX_S_IFCHR: case LINUX_S_IFBLK: case LINUX_S_IFIFO: case LINUX_S_IFSOCK:
		break;
	default:
		return fs_corrupt("inode %llu: bogus i_mode (%o)", ino, raw->i_mode);
	}
	in->extra_isize = 0;
	if (e->inode_size > EXT2_GOOD_OLD_INODE_SIZE) {
		unsigned extra = raw->i_extra_isize;

		if (EXT2_GOOD_OLD_INODE_SIZE + extra > e->inode_size || (extra & 3))
			return fs_corrupt("inode %llu: bad extra_isize %u (inode size %u)", ino,
					  extra, e->inode_size);
		if (extra == 0) {
			if (raw->i_flags & EXT4_INLINE_DATA_FL)
				return fs_corrupt("inode %llu: inline data flag set but i_extra_isize is zero",
						  ino);
			/* The kernel reads the fields of a full-size inode anyway. */
			extra = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
		}
		in->extra_isize = extra;
	}
	/*
	 * The kernel's iget refuses a size beyond what the inode's mapping can
	 * reach (ext4_get_maxbytes()), not only a negative one.
	 */
	limit = (raw->i_flags & EXT4_EXTENTS_FL) ? e->base.max_file_size : e->max_bitmap_size;
	if (ext4_inode_size(e, in) > limit)
		return fs_corrupt("inode %llu: bad i_size %llu (at most %llu)", ino,
				  (unsigned long long)ext4_inode_size(e, in),
				  (unsigned long long)limit);
	if ((raw->i_flags & EXT4_INLINE_DATA_FL) && !e->inline_data)
		return fs_corrupt("inode %llu: inline data flag without the inline_data feature", ino);
	if (raw->i_flags & EXT4_ENCRYPT_FL)
		return fs_corrupt("inode %llu: encrypted inode without the encrypt feature", ino);
	if ((raw->i_flags & EXT4_CASEFOLD_FL) && !e->encoding)
		return fs_corrupt("inode %llu: casefold flag without the casefold feature", ino);
	/* As iget: the extent root of every inode that has blocks to map. */
	if ((raw->i_flags & EXT4_EXTENTS_FL) && !(raw->i_flags & EXT4_INLINE_DATA_FL) &&
	    (LINUX_S_ISREG(raw->i_mode) || LINUX_S_ISDIR(raw->i_mode) ||
	     (LINUX_S_ISLNK(raw->i_mode) && !is_fast_symlink(e, in)))) {
		int r = ext4_extent_root_check(e, in);

		if (r < 0)
			return r;
	}
	acl = ext2fs_file_acl_block(e->fs, (const struct ext2_inode *)raw);
	if (acl && !ext4_blocks_ok(e, ino, acl, 1))
		return fs_corrupt("inode %llu: bad extended attribute block %llu", ino,
				  (unsigned long long)acl);
	return 0;
}

/* Read @ino's bytes into @in, unchecked. */
static int inode_read_raw(struct ext4_fs *e, uint64_t ino, struct ext4_inode *in)
{
	errcode_t err;

	if (!ext4_ino_valid(e, ino))
		return -ENOENT;
	memset(in, 0, sizeof(*in));
	in->ino = ino;
	/* Copies min(inode size, sizeof raw) bytes; the rest stays zero. */
	err = ext2fs_read_inode2(e->fs, (ext2_ino_t)ino, EXT2_INODE(&in->raw), sizeof(in->raw), 0);
	return ext4_errno(err, ino, "reading the inode");
}

int ext4_inode_read_unlinked(struct ext4_fs *e, uint64_t ino, struct ext4_inode *in)
{
	int r = inode_read_raw(e, ino, in);

	return r < 0 ? r : check_inode(e, in);
}

int ext4_inode_read(struct ext4_fs *e, uint64_t ino, struct ext4_inode *in)
{
	int r = inode_read_raw(e, ino, in);

	if (r < 0)
		return r;
	/*
	 * A deleted or never used inode, as the kernel's iget sees it (ESTALE
	 * there), whatever its bytes say; but one this mount unlinked while
	 * it was open lives on until evicted.
	 */
	if (in->raw.i_links_count == 0 && ino != EXT2_ROOT_INO && !ext4_orphan_is_open(e, ino))
		return -ENOENT;
	return check_inode(e, in);
}

/* True if the extra field at @off (4 bytes) lies inside what i_extra_isize covers. */
static bool extra_field_fits(const struct ext4_inode *in, size_t off)
{
	return off + 4 <= EXT2_GOOD_OLD_INODE_SIZE + in->extra_isize;
}

/*
 * Seconds are signed 32 bits; the extra word adds two epoch bits above them
 * (reaching 2446) and nanoseconds in its upper 30 bits.
 */
static struct timespec decode_time(const struct ext4_inode *in, uint32_t lo, size_t extra_off)
{
	struct timespec ts = { .tv_sec = (int32_t)lo };
	uint32_t extra;

	if (!extra_field_fits(in, extra_off))
		return ts;
	memcpy(&extra, (const char *)&in->raw + extra_off, sizeof(extra));
	extra = ext2fs_le32_to_cpu(extra);
	ts.tv_sec += (int64_t)(extra & EXT4_EPOCH_MASK) << 32;
	/* Corrupt values above 10^9 would upset every consumer of a timespec. */
	ts.tv_nsec = MIN(extra >> EXT4_EPOCH_BITS, 999999999U);
	return ts;
}

struct timespec ext4_inode_get_time(const struct ext4_inode *in, enum ext4_time which)
{
	const struct ext2_inode_large *raw = &in->raw;

	switch (which) {
	case EXT4_ATIME:
		return decode_time(in, raw->i_atime, offsetof(struct ext2_inode_large, i_atime_extra));
	case EXT4_MTIME:
		return decode_time(in, raw->i_mtime, offsetof(struct ext2_inode_large, i_mtime_extra));
	default:
		return decode_time(in, raw->i_ctime, offsetof(struct ext2_inode_large, i_ctime_extra));
	}
}

static uint64_t stat_blocks(const struct ext4_fs *e, const struct ext4_inode *in)
{
	const struct ext2_inode_large *raw = &in->raw;
	uint64_t blocks = raw->i_blocks;

	if (e->huge_file) {
		blocks |= (uint64_t)raw->osd2.linux2.l_i_blocks_hi << 32;
		/* With EXT4_HUGE_FILE_FL, i_blocks counts filesystem blocks, not sectors. */
		if (raw->i_flags & EXT4_HUGE_FILE_FL)
			blocks <<= e->blockbits - 9;
	}
	/* Like ext4_file_getattr(): inline data counts as the sectors it would fill. */
	if (LINUX_S_ISREG(raw->i_mode) && (raw->i_flags & EXT4_INLINE_DATA_FL))
		blocks += (ext4_inode_size(e, in) + 511) >> 9;
	return blocks;
}

static dev_t decode_rdev(const struct ext2_inode_large *raw)
{
	uint32_t old = ext2fs_le32_to_cpu(raw->i_block[0]);
	uint32_t new = ext2fs_le32_to_cpu(raw->i_block[1]);

	/* 8:8 bits in i_block[0]; or 12:20 bits in i_block[1] when [0] is zero. */
	if (old)
		return makedev((old >> 8) & 0xff, old & 0xff);
	return makedev((new & 0xfff00) >> 8, (new & 0xff) | ((new >> 12) & 0xfff00));
}

int ext4_getattr(struct imgfs_fs *fs, uint64_t ino, struct stat *st)
{
	struct ext4_fs *e = EXT4(fs);
	const struct ext2_inode_large *raw;
	struct ext4_inode in;
	int r;

	EXT4_LOCK(e);
	r = ext4_inode_read(e, ino, &in);
	if (r < 0)
		return r;
	raw = &in.raw;
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = raw->i_mode;
	st->st_nlink = raw->i_links_count;
	st->st_uid = inode_uid(*raw);
	st->st_gid = inode_gid(*raw);
	st->st_size = (off_t)ext4_inode_size(e, &in);
	st->st_blocks = (blkcnt_t)stat_blocks(e, &in);
	st->st_blksize = e->blocksize;
	if (LINUX_S_ISCHR(raw->i_mode) || LINUX_S_ISBLK(raw->i_mode))
		st->st_rdev = decode_rdev(raw);
	st->st_atim = ext4_inode_get_time(&in, EXT4_ATIME);
	st->st_mtim = ext4_inode_get_time(&in, EXT4_MTIME);
	st->st_ctim = ext4_inode_get_time(&in, EXT4_CTIME);
	return 0;
}

/*
 * Which kind of symlink: the kernel calls it fast when no blocks are
 * allocated to it besides an xattr block (ext4_inode_is_fast_symlink()).
 */
static bool is_fast_symlink(const struct ext4_fs *e, const struct ext4_inode *in)
{
	const struct ext2_inode_large *raw = &in->raw;
	uint64_t ea_blocks, blocks;

	if (raw->i_flags & EXT4_EA_INODE_FL)
		return ext4_inode_size(e, in) < sizeof(raw->i_block);
	ea_blocks = ext2fs_file_acl_block(e->fs, (const struct ext2_inode *)raw) ?
		    EXT2_CLUSTER_SIZE(e->fs->super) >> 9 : 0;
	blocks = stat_blocks(e, in);
	return blocks == ea_blocks;
}

/* Copy the @size bytes of target at @src out, as readlink(2) would see them. */
static int copy_target(const char *src, size_t size, char *buf, size_t bufsize, size_t *len)
{
	/* The kernel NUL-terminates at i_size, and readlink stops at the first NUL. */
	size_t n = strnlen(src, size);

	if (n > bufsize)
		return -ERANGE;
	memcpy(buf, src, n);
	*len = n;
	return 0;
}

static int read_slow_symlink(struct ext4_fs *e, struct ext4_inode *in, uint64_t size,
			     char *buf, size_t bufsize, size_t *len)
{
	_cleanup_free_ char *block = malloc(e->blocksize);
	uint64_t pblk;
	int r;

	if (!block)
		return -ENOMEM;
	r = ext4_first_block(e, in, "symlink has no data block", &pblk);
	if (r < 0)
		return r;
	r = ext4_read_block(e, in->ino, pblk, block);
	if (r < 0)
		return r;
	return copy_target(block, size, buf, bufsize, len);
}

int ext4_readlink(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t bufsize, size_t *len)
{
	struct ext4_fs *e = EXT4(fs);
	struct ext4_inode in;
	uint64_t size;
	int r;

	EXT4_LOCK(e);
	r = ext4_inode_read(e, ino, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISLNK(in.raw.i_mode))
		return -EINVAL;
	size = ext4_inode_size(e, &in);
	if (size == 0)
		return fs_corrupt("inode %llu: symlink of length 0", (unsigned long long)ino);
	/*
	 * symlink(2) stores at most PATH_MAX - 1 bytes, and ext4 at most a
	 * block's worth with its NUL: anything longer was never a target.
	 */
	if (size >= MIN((uint64_t)e->blocksize, (uint64_t)PATH_MAX))
		return fs_corrupt("inode %llu: symlink length %llu exceeds %u bytes",
				  (unsigned long long)ino, (unsigned long long)size,
				  (unsigned)MIN(e->blocksize, (uint32_t)PATH_MAX) - 1);

	if (in.raw.i_flags & EXT4_INLINE_DATA_FL) {
		_cleanup_free_ char *data = NULL;
		size_t n;

		r = ext4_inline_read(e, &in, &data, &n);
		if (r < 0)
			return r;
		return copy_target(data, MIN(size, (uint64_t)n), buf, bufsize, len);
	}
	if (is_fast_symlink(e, &in)) {
		const char *target = (const char *)in.raw.i_block;

		/* The target and its NUL must fit i_block, with no NUL inside. */
		if (size >= sizeof(in.raw.i_block) || strnlen(target, size + 1) != size)
			return fs_corrupt("inode %llu: invalid fast symlink length %llu",
					  (unsigned long long)ino, (unsigned long long)size);
		return copy_target(target, size, buf, bufsize, len);
	}
	return read_slow_symlink(e, &in, size, buf, bufsize, len);
}

void ext4_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/*
 * As the kernel encodes a time: the low 32 bits of the seconds in the
 * base field; in the extra field (if i_extra_isize covers it) two epoch
 * bits above them and the nanoseconds.
 */
void ext4_inode_set_time(struct ext4_inode *in, enum ext4_time which, const struct timespec *ts)
{
	static const struct { size_t lo, extra; } field[] = {
		[EXT4_ATIME] = { offsetof(struct ext2_inode_large, i_atime),
				 offsetof(struct ext2_inode_large, i_atime_extra) },
		[EXT4_MTIME] = { offsetof(struct ext2_inode_large, i_mtime),
				 offsetof(struct ext2_inode_large, i_mtime_extra) },
		[EXT4_CTIME] = { offsetof(struct ext2_inode_large, i_ctime),
				 offsetof(struct ext2_inode_large, i_ctime_extra) },
		[EXT4_CRTIME] = { offsetof(struct ext2_inode_large, i_crtime),
				  offsetof(struct ext2_inode_large, i_crtime_extra) },
	};
	char *raw = (char *)&in->raw;
	bool has_extra = extra_field_fits(in, field[which].extra);
	/*
	 * As the VFS clamps to the kernel's s_time_min/max: 32 signed bits,
	 * or with the extra field two epoch bits more (up to 2446).
	 */
	int64_t max = has_extra ? INT32_MIN + (1LL << 34) - 1 : INT32_MAX;
	int64_t sec = MAX(MIN((int64_t)ts->tv_sec, max), (int64_t)INT32_MIN);
	uint32_t lo = ext2fs_cpu_to_le32((uint32_t)sec);
	uint32_t extra;

	if (which == EXT4_CRTIME && !extra_field_fits(in, field[which].lo))
		return;
	memcpy(raw + field[which].lo, &lo, sizeof(lo));
	if (!has_extra)
		return;
	extra = (uint32_t)(((sec - (int32_t)sec) >> 32) & EXT4_EPOCH_MASK) |
		((uint32_t)ts->tv_nsec << EXT4_EPOCH_BITS);
	extra = ext2fs_cpu_to_le32(extra);
	memcpy(raw + field[which].extra, &extra, sizeof(extra));
}

void ext4_inode_touch(struct ext4_inode *in, unsigned which)
{
	struct timespec now;

	ext4_now(&now);
	if (which & EXT4_TOUCH_MTIME)
		ext4_inode_set_time(in, EXT4_MTIME, &now);
	if (which & EXT4_TOUCH_CTIME)
		ext4_inode_set_time(in, EXT4_CTIME, &now);
	if (which & EXT4_TOUCH_ATIME)
		ext4_inode_set_time(in, EXT4_ATIME, &now);
}

int ext4_inode_write(struct ext4_fs *e, struct ext4_inode *in)
{
	/* Bytes past sizeof(raw) (in-inode xattrs) are kept as they are on disk. */
	errcode_t err = ext2fs_write_inode2(e->fs, (ext2_ino_t)in->ino, EXT2_INODE(&in->raw),
					    MIN(sizeof(in->raw), (size_t)e->inode_size), 0);

	return ext4_errno(err, in->ino, "writing the inode");
}
