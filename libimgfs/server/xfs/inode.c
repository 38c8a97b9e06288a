/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inodes: finding, reading and verifying them as the kernel's
 * xfs_dinode_verify() and xfs_iformat_fork() would, and what stat(2) and
 * readlink(2) show of them on a kernel mount.
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "xfs.h"

/*
 * The most levels a bmbt of @fork can have, as the kernel computes it
 * (xfs_bmap_compute_maxlevels) and checks a fork's root against at inode
 * load: the most extents the fork may count, in leaves and nodes half
 * full, under a root of the fewest pointers a fork must have room for
 * (3 for data, 2 for attributes).
 */
static unsigned bm_maxlevels(const struct xfs_fs *x, enum xfs_fork fork)
{
	uint64_t minrecs = (x->blocksize - sizeof(struct xfs_btree_lblock)) /
			   sizeof(struct xfs_bmbt_rec) / 2;
	uint64_t rootrecs = fork == XFS_DATA_FORK ? 3 : 2;
	uint64_t blocks;
	unsigned level;

	if (fork == XFS_DATA_FORK)
		blocks = x->nrext64 ? XFS_MAX_EXTCNT_DATA_FORK_LARGE : XFS_MAX_EXTCNT_DATA_FORK_SMALL;
	else
		blocks = x->nrext64 ? XFS_MAX_EXTCNT_ATTR_FORK_LARGE : XFS_MAX_EXTCNT_ATTR_FORK_SMALL;
	if (minrecs == 0)
		return 1;
	blocks = (blocks + minrecs - 1) / minrecs;
	for (level = 1; blocks > 1; level++)
		blocks = blocks <= rootrecs ? 1 : (blocks + minrecs - 1) / minrecs;
	return level;
}

bool xfs_ino_valid(const struct xfs_fs *x, uint64_t ino)
{
	unsigned agino_bits = x->agblklog + x->inopblog;
	uint64_t agno = ino >> agino_bits;
	uint64_t agino = ino & ((1ULL << agino_bits) - 1);
	uint64_t agbno = agino >> x->inopblog;
	uint64_t aglen;

	if (agino_bits >= 64 || agno >= x->agcount)
		return false;
	aglen = agno == x->agcount - 1 ? x->dblocks - agno * x->agblocks : x->agblocks;
	/* Blocks 0-3 hold the AG headers; inode chunks come after. */
	return agbno >= 1 && agbno < aglen;
}

unsigned xfs_mode_to_dtype(uint16_t mode)
{
	return IFTODT(mode);
}

unsigned xfs_ftype_to_dtype(uint8_t ftype)
{
	static const unsigned char dt[XFS_DIR3_FT_MAX] = {
		[XFS_DIR3_FT_UNKNOWN] = DT_UNKNOWN, [XFS_DIR3_FT_REG_FILE] = DT_REG,
		[XFS_DIR3_FT_DIR] = DT_DIR, [XFS_DIR3_FT_CHRDEV] = DT_CHR,
		[XFS_DIR3_FT_BLKDEV] = DT_BLK, [XFS_DIR3_FT_FIFO] = DT_FIFO,
		[XFS_DIR3_FT_SOCK] = DT_SOCK, [XFS_DIR3_FT_SYMLINK] = DT_LNK,
		[XFS_DIR3_FT_WHT] = DT_WHT,
	};

	return ftype < XFS_DIR3_FT_MAX ? dt[ftype] : DT_UNKNOWN;
}

const uint8_t *xfs_inode_fork(const struct xfs_inode *in, enum xfs_fork fork, size_t *size)
{
	if (fork == XFS_DATA_FORK) {
		*size = in->data_size;
		return in->raw + in->data_off;
	}
	if (!in->has_attr_fork) {
		*size = 0;
		return NULL;
	}
	*size = in->attr_size;
	return in->raw + in->attr_off;
}

int xfs_inode_fork_format(const struct xfs_inode *in, enum xfs_fork fork)
{
	if (fork == XFS_DATA_FORK)
		return in->format;
	return in->has_attr_fork ? in->aformat : -1;
}

static struct timespec decode_time(const struct xfs_inode *in, const struct xfs_timestamp *t)
{
	struct timespec ts;

	if (in->flags2 & XFS_DIFLAG2_BIGTIME) {
		uint64_t ns = get_be64(t);

		ts.tv_sec = (time_t)((int64_t)(ns / XFS_NSEC_PER_SEC) - XFS_BIGTIME_EPOCH_OFFSET);
		ts.tv_nsec = (long)(ns % XFS_NSEC_PER_SEC);
	} else {
		ts.tv_sec = (int32_t)be32(t->t_sec);
		/* Corrupt values above 10^9 would upset every consumer of a timespec. */
		ts.tv_nsec = (long)MIN(be32(t->t_nsec), 999999999U);
	}
	return ts;
}

/* A fork's format and extent count agree with each other and with the fork's size. */
static int check_fork(struct xfs_fs *x, const struct xfs_inode *in, enum xfs_fork fork,
		      unsigned format, uint64_t nextents, size_t size)
{
	const char *name = fork == XFS_DATA_FORK ? "data" : "attr";
	unsigned long long ino = in->ino;
	const uint8_t *p = in->raw + (fork == XFS_DATA_FORK ? in->data_off : in->attr_off);

	switch (format) {
	case XFS_DINODE_FMT_LOCAL:
		if (nextents)
			return xfs_fs_corrupt(x, ino, "local %s fork with %llu extents", name,
					      (unsigned long long)nextents);
		if (fork == XFS_DATA_FORK && in->size > size)
			return xfs_fs_corrupt(x, ino, "local data fork of %llu bytes in %zu",
					      (unsigned long long)in->size, size);
		/*
		 * As xfs_symlink_shortform_verify() at iget: a target of
		 * di_size bytes, no NUL before its last, rather than a
		 * target cut short at the first NUL.
		 */
		if (fork == XFS_DATA_FORK && S_ISLNK(in->mode) &&
		    (in->size == 0 || memchr(p, 0, (size_t)in->size - 1)))
			return xfs_fs_corrupt(x, ino, "local symlink of %llu bytes holds a NUL",
					      (unsigned long long)in->size);
		return 0;
	case XFS_DINODE_FMT_EXTENTS:
		if (nextents > size / sizeof(struct xfs_bmbt_rec))
			return xfs_fs_corrupt(x, ino, "%llu extents do not fit the %s fork",
					      (unsigned long long)nextents, name);
		return 0;
	case XFS_DINODE_FMT_BTREE: {
		const struct xfs_bmdr_block *root = (const void *)p;
		unsigned level, numrecs, maxrecs;

		if (size < sizeof(*root) + 16)
			return xfs_fs_corrupt(x, ino, "%s fork too small for a btree root", name);
		level = be16(root->bb_level);
		numrecs = be16(root->bb_numrecs);
		maxrecs = (unsigned)((size - sizeof(*root)) / 16);
		/* A btree fork holds more extents than fit the fork as a list. */
		if (nextents <= size / sizeof(struct xfs_bmbt_rec) || nextents > in->nblocks)
			return xfs_fs_corrupt(x, ino, "btree %s fork with %llu extents", name,
					      (unsigned long long)nextents);
		if (level == 0 || level > bm_maxlevels(x, fork) || numrecs == 0 || numrecs > maxrecs)
			return xfs_fs_corrupt(x, ino, "%s fork btree root: level %u, %u records",
					      name, level, numrecs);
		return 0;
	}
	default:
		return xfs_fs_corrupt(x, ino, "bad %s fork format %u", name, format);
	}
}

/* The format of each fork fits the file type, as xfs_dinode_verify() insists. */
static int check_formats(struct xfs_fs *x, const struct xfs_inode *in)
{
	unsigned long long ino = in->ino;
	int r;

	switch (in->mode & S_IFMT) {
	case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		if (in->format != XFS_DINODE_FMT_DEV)
			return xfs_fs_corrupt(x, ino, "special file with data fork format %u",
					      in->format);
		if (in->data_size < 4)
			return xfs_fs_corrupt(x, ino, "no room for a device number");
		break;
	case S_IFREG:
		if (in->format != XFS_DINODE_FMT_EXTENTS && in->format != XFS_DINODE_FMT_BTREE)
			return xfs_fs_corrupt(x, ino, "regular file with data fork format %u",
					      in->format);
		goto fork;
	case S_IFDIR: case S_IFLNK:
		if (in->format == XFS_DINODE_FMT_DEV)
			return xfs_fs_corrupt(x, ino, "%s with a device fork",
					      S_ISDIR(in->mode) ? "directory" : "symlink");
	fork:
		r = check_fork(x, in, XFS_DATA_FORK, in->format, in->nextents, in->data_size);
		if (r < 0)
			return r;
		break;
	default:
		return xfs_fs_corrupt(x, ino, "bad mode 0%o", in->mode);
	}
	if (in->has_attr_fork) {
		if (in->aformat == XFS_DINODE_FMT_DEV)
			return xfs_fs_corrupt(x, ino, "attr fork in device format");
		r = check_fork(x, in, XFS_ATTR_FORK, in->aformat, in->anextents, in->attr_size);
		if (r < 0)
			return r;
	} else if (in->anextents) {
		return xfs_fs_corrupt(x, ino, "%u attr extents without an attr fork",
				      in->anextents);
	}
	return 0;
}

/* Decode what the checks and the rest of the reader use; check flags and sizes. */
static int decode_inode(struct xfs_fs *x, struct xfs_inode *in)
{
	const struct xfs_dinode *d = (const void *)in->raw;
	unsigned long long ino = in->ino;
	const uint32_t literal = x->inodesize - XFS_DINODE_V3_SIZE;

	in->mode = be16(d->di_mode);
	in->uid = be32(d->di_uid);
	in->gid = be32(d->di_gid);
	in->nlink = be32(d->di_nlink);
	in->projid = be16(d->di_projid_lo) | (uint32_t)be16(d->di_projid_hi) << 16;
	in->gen = be32(d->di_gen);
	in->size = be64(d->di_size);
	in->nblocks = be64(d->di_nblocks);
	in->flags = be16(d->di_flags);
	in->flags2 = be64(d->di_flags2);
	in->format = d->di_format;
	in->aformat = d->di_aformat;

	if (in->flags2 & ~XFS_DIFLAG2_KNOWN)
		return xfs_fs_corrupt(x, ino, "unknown flags2 0x%llx",
				      (unsigned long long)(in->flags2 & ~XFS_DIFLAG2_KNOWN));
	if ((in->flags2 & XFS_DIFLAG2_BIGTIME) && !x->bigtime)
		return xfs_fs_corrupt(x, ino, "bigtime timestamps without the bigtime feature");
	if ((in->flags2 & XFS_DIFLAG2_NREXT64) && !x->nrext64)
		return xfs_fs_corrupt(x, ino, "large extent counters without the nrext64 feature");
	if ((in->flags2 & XFS_DIFLAG2_REFLINK) && (!x->reflink || !S_ISREG(in->mode)))
		return xfs_fs_corrupt(x, ino, "reflink flag on a %s",
				      x->reflink ? "non-regular file" : "filesystem without reflink");
	if (in->flags & XFS_DIFLAG_REALTIME)
		return xfs_fs_corrupt(x, ino, "realtime file on a filesystem without a realtime volume");
	if (in->size > INT64_MAX)
		return xfs_fs_corrupt(x, ino, "bad size %llu", (unsigned long long)in->size);

	if (in->flags2 & XFS_DIFLAG2_NREXT64) {
		in->nextents = be64(d->di_big_nextents);
		in->anextents = be32(d->di_nextents);
		if (in->nextents > XFS_MAX_EXTCNT_DATA_FORK_LARGE)
			return xfs_fs_corrupt(x, ino, "%llu data extents",
					      (unsigned long long)in->nextents);
	} else {
		in->nextents = be32(d->di_nextents);
		in->anextents = be16(d->di_anextents);
		if (in->nextents > XFS_MAX_EXTCNT_DATA_FORK_SMALL ||
		    in->anextents > XFS_MAX_EXTCNT_ATTR_FORK_SMALL)
			return xfs_fs_corrupt(x, ino, "%llu data / %u attr extents",
					      (unsigned long long)in->nextents, in->anextents);
	}
	if (in->nextents + in->anextents > in->nblocks)
		return xfs_fs_corrupt(x, ino, "%llu extents in %llu blocks",
				      (unsigned long long)(in->nextents + in->anextents),
				      (unsigned long long)in->nblocks);

	/* The literal area after the core: data fork, then the attr fork at di_forkoff. */
	in->data_off = XFS_DINODE_V3_SIZE;
	in->has_attr_fork = d->di_forkoff != 0;
	if (in->has_attr_fork) {
		uint32_t off = (uint32_t)d->di_forkoff << 3;

		if (off >= literal)
			return xfs_fs_corrupt(x, ino, "attr fork offset %u beyond the inode", off);
		in->data_size = off;
		in->attr_off = XFS_DINODE_V3_SIZE + off;
		in->attr_size = literal - off;
	} else {
		in->data_size = literal;
		in->attr_off = 0;
		in->attr_size = 0;
	}
	if (in->format == XFS_DINODE_FMT_DEV && in->data_size >= 4)
		in->rdev = get_be32(in->raw + in->data_off);
	else
		in->rdev = 0;
	in->atime = decode_time(in, &d->di_atime);
	in->mtime = decode_time(in, &d->di_mtime);
	in->ctime = decode_time(in, &d->di_ctime);
	in->crtime = decode_time(in, &d->di_crtime);
	return check_formats(x, in);
}

int xfs_read_inode(struct xfs_fs *x, uint64_t ino, struct xfs_inode *in)
{
	const struct xfs_dinode *d = (const void *)in->raw;
	unsigned agino_bits = x->agblklog + x->inopblog;
	uint64_t agno, agino, fsbno;
	int r;

	if (!xfs_ino_valid(x, ino))
		return -ENOENT;
	agno = ino >> agino_bits;
	agino = ino & ((1ULL << agino_bits) - 1);
	fsbno = agno << x->agblklog | agino >> x->inopblog;
	memset(in, 0, offsetof(struct xfs_inode, raw));
	in->ino = ino;
	r = imgfs_image_pread(x->base.img, in->raw, x->inodesize,
			      xfs_fsb_to_bytes(x, fsbno) +
			      ((agino & (x->inopblock - 1)) << x->inodelog));
	if (r == -EUCLEAN)
		return xfs_fs_corrupt(x, ino, "inode is beyond the end of the image");
	if (r < 0)
		return r;
	if (be16(d->di_magic) != XFS_DINODE_MAGIC)
		return xfs_fs_corrupt(x, ino, "bad inode magic 0x%x", be16(d->di_magic));
	if (d->di_version != 3)
		return xfs_fs_corrupt(x, ino, "inode version %u on a v5 filesystem",
				      d->di_version);
	if (le32(d->di_crc) != xfs_cksum(in->raw, x->inodesize, XFS_DINODE_CRC_OFF))
		return xfs_fs_corrupt(x, ino, "bad inode CRC");
	if (be64(d->di_ino) != ino)
		return xfs_fs_corrupt(x, ino, "inode claims to be inode %llu",
				      (unsigned long long)be64(d->di_ino));
	if (memcmp(d->di_uuid.b, x->meta_uuid, sizeof(x->meta_uuid)))
		return xfs_fs_corrupt(x, ino, "inode of another filesystem (uuid)");
	/* A free inode in an allocated chunk: nothing a directory should name. */
	if (be16(d->di_mode) == 0)
		return -ENOENT;
	return decode_inode(x, in);
}

int xfs_getattr(struct imgfs_fs *fs, uint64_t ino, struct stat *st)
{
	struct xfs_fs *x = XFS(fs);
	struct xfs_inode in;
	int r;

	r = xfs_read_inode(x, ino, &in);
	if (r < 0)
		return r;
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = in.mode;
	st->st_nlink = in.nlink;
	st->st_uid = in.uid;
	st->st_gid = in.gid;
	st->st_size = (off_t)in.size;
	/* Both forks' blocks, bmbt blocks included, in 512-byte units. */
	st->st_blocks = (blkcnt_t)(MIN(in.nblocks, x->dblocks) << (x->blocklog - 9));
	/* As xfs_stat_blksize() without stripe or allocsize hints. */
	st->st_blksize = MAX(x->blocksize, 4096U);
	if (S_ISCHR(in.mode) || S_ISBLK(in.mode))
		/* SysV 14:18 on disk; the kernel keeps 9 bits of the major. */
		st->st_rdev = makedev(XFS_SYSV_MAJOR(in.rdev) & 0x1ff, XFS_SYSV_MINOR(in.rdev));
	st->st_atim = in.atime;
	st->st_mtim = in.mtime;
	st->st_ctim = in.ctime;
	return 0;
}

/* Copy @n bytes of target out, as readlink(2) would see them (up to a NUL). */
static int copy_target(const char *src, size_t n, char *buf, size_t bufsize, size_t *len)
{
	n = strnlen(src, n);
	if (n > bufsize)
		return -ERANGE;
	memcpy(buf, src, n);
	*len = n;
	return 0;
}

/*
 * A remote target: each extent of the data fork is one buffer with an
 * XSLM header followed by that buffer's share of the target.
 */
static int read_remote_symlink(struct xfs_fs *x, const struct xfs_inode *in, char *target)
{
	const uint32_t per_block = x->blocksize - sizeof(struct xfs_dsymlink_hdr);
	const uint64_t fsblocks = DIV_ROUND_UP(in->size, per_block);
	_cleanup_free_ uint8_t *buf = malloc((size_t)fsblocks << x->blocklog);
	uint64_t fileoff = 0, done = 0;
	unsigned maps = 0;

	if (!buf)
		return -ENOMEM;
	while (done < in->size) {
		const struct xfs_dsymlink_hdr *h = (const void *)buf;
		struct xfs_bmap_ext ext;
		uint64_t count, bytes;
		int r;

		if (fileoff >= fsblocks || ++maps > XFS_SYMLINK_MAPS)
			return xfs_fs_corrupt(x, in->ino, "symlink target spread over too many blocks");
		r = xfs_bmap_lookup(x, in, XFS_DATA_FORK, fileoff, &ext);
		if (r < 0)
			return r;
		if (ext.hole || ext.unwritten)
			return xfs_fs_corrupt(x, in->ino, "symlink block %llu is not written",
					      (unsigned long long)fileoff);
		count = MIN(ext.fileoff + ext.len, fsblocks) - fileoff;
		r = xfs_read_fork_blocks(x, in, XFS_DATA_FORK, fileoff, (unsigned)count, buf,
					 &xfs_verify_symlink, NULL);
		if (r == -ENOENT)
			return xfs_fs_corrupt(x, in->ino, "symlink block %llu is a hole",
					      (unsigned long long)fileoff);
		if (r < 0)
			return r;
		bytes = MIN((count << x->blocklog) - sizeof(*h), in->size - done);
		if (be32(h->sl_offset) != done || be32(h->sl_bytes) != bytes)
			return xfs_fs_corrupt(x, in->ino,
					      "symlink block %llu holds bytes %u+%u, expected %llu+%llu",
					      (unsigned long long)fileoff, be32(h->sl_offset),
					      be32(h->sl_bytes), (unsigned long long)done,
					      (unsigned long long)bytes);
		memcpy(target + done, buf + sizeof(*h), bytes);
		done += bytes;
		fileoff += count;
	}
	return 0;
}

int xfs_readlink(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t bufsize, size_t *len)
{
	struct xfs_fs *x = XFS(fs);
	char target[XFS_SYMLINK_MAXLEN];
	struct xfs_inode in;
	int r;

	r = xfs_read_inode(x, ino, &in);
	if (r < 0)
		return r;
	if (!S_ISLNK(in.mode))
		return -EINVAL;
	if (in.size == 0 || in.size > XFS_SYMLINK_MAXLEN)
		return xfs_fs_corrupt(x, ino, "symlink of length %llu",
				      (unsigned long long)in.size);
	if (in.format == XFS_DINODE_FMT_LOCAL) {
		size_t size;
		const uint8_t *data = xfs_inode_fork(&in, XFS_DATA_FORK, &size);

		/* check_fork() made sure di_size fits the fork. */
		return copy_target((const char *)data, (size_t)in.size, buf, bufsize, len);
	}
	r = read_remote_symlink(x, &in, target);
	if (r < 0)
		return r;
	return copy_target(target, (size_t)in.size, buf, bufsize, len);
}
