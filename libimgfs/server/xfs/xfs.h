/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The read-only XFS v5 backend: the project's own reader.
 *
 * The image is hostile, so every block is verified before use (magic,
 * CRC32C, daddr, uuid, owner), every count and offset is bounds-checked
 * against the buffer it indexes, and tree walks are bounded in depth and
 * in blocks visited.  Corrupt metadata is -EUCLEAN after one log line that
 * names the inode (or block) and what was wrong: xfs_fs_corrupt().
 *
 * Files: xfs.c (open/close, ops table), super.c (superblock checks,
 * features, statfs, info), log.c (is the log clean?), crc32c.c, io.c
 * (reading and verifying blocks), inode.c (inodes, getattr, readlink),
 * bmap.c (block maps, iomap), dir*.c (directories: lookup, readdir),
 * attr.c (xattrs).
 *
 * Locking: none needed.  The image is read-only and every read is a
 * pread() into the caller's buffer; struct xfs_fs is immutable after
 * open.  Any cache added later takes a lock of its own.  fill() callbacks
 * of readdir may call back into the backend.
 *
 * Conventions for the directory and attr code built on this:
 *  - on-disk bytes are read through the types in xfs_format.h and
 *    be16()/be32()/be64() (or get_be*() on a byte pointer) only;
 *  - a block is read with xfs_read_fork_blocks()/xfs_read_dirblock(),
 *    which verify the header layout named by an xfs_blk_verify; what the
 *    header does not cover (entry offsets, counts, name lengths) the
 *    caller checks against the buffer size before touching it;
 *  - functions return 0 or -errno; corruption is xfs_fs_corrupt().
 */
#ifndef IMGFS_XFS_H
#define IMGFS_XFS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "fs.h"
#include "xfs_format.h"

struct xfs_fs {
	struct imgfs_fs base;		/* first: what fs.h hands out */

	/* Geometry, decoded from the superblock once at open and checked. */
	uint32_t blocksize;		/* bytes */
	unsigned blocklog;
	uint32_t sectsize;		/* bytes */
	unsigned sectlog;
	uint32_t inodesize;		/* bytes */
	unsigned inodelog;
	uint32_t inopblock;		/* inodes per block */
	unsigned inopblog;
	uint32_t agblocks;		/* blocks per AG (the last AG may be shorter) */
	unsigned agblklog;		/* bits of agbno in fs block and inode numbers */
	uint32_t agcount;
	uint64_t dblocks;		/* blocks in the data device */
	uint32_t dirblksize;		/* directory block size: blocksize << dirblklog */
	unsigned dirblklog;		/* log2(dirblksize) */
	unsigned dirblkfsbs;		/* fs blocks per directory block */
	uint64_t rootino;
	uint64_t logstart;		/* internal log's first fs block (0: external) */
	uint32_t logblocks;
	uint64_t maxicount;		/* most inodes sb_imax_pct allows (0: no limit) */

	/* Identity. */
	uint8_t uuid[16];		/* sb_uuid: what blkid and xfs_info show */
	uint8_t meta_uuid[16];		/* stamped in every metadata block */
	char label[13];			/* sb_fname, NUL-terminated */

	/* Features (superblock v5 words and what the reader needs of them). */
	uint16_t versionnum;
	uint32_t features2;
	uint32_t compat, ro_compat, incompat, log_incompat;
	bool ftype;			/* directory entries carry file types */
	bool sparse_inodes;
	bool bigtime;
	bool nrext64;
	bool reflink;
	bool rmapbt;
	bool finobt;
	bool inobtcount;
	bool has_meta_uuid;
	bool projid32;

	/* For statfs and info: summed from the AG headers at open. */
	uint64_t icount;
	uint64_t ifree;
	uint64_t fdblocks;

	/* Inodes whose whole data-fork bmbt was found sound (bmap.c), by ino. */
#define XFS_BMBT_CHECKED 16
	_Atomic uint64_t bmbt_checked[XFS_BMBT_CHECKED];

	/* Verified directory blocks (dir-cache.c), made on first use. */
	struct xfs_dircache *_Atomic dircache;
};

static inline struct xfs_fs *XFS(struct imgfs_fs *fs)
{
	return container_of(fs, struct xfs_fs, base);
}

/* ---- errors ---- */

/*
 * fs_corrupt() with XFS's prefix: the image, then inode @ino (0: not about
 * one inode).  One log line, and -EUCLEAN:
 *	return xfs_fs_corrupt(x, ino, "directory block %llu: bad magic", blk);
 */
int xfs_fs_corrupt(const struct xfs_fs *x, uint64_t ino, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- crc32c.c ---- */

/* CRC32C (Castagnoli) of @len bytes, continuing from @crc (start with ~0). */
uint32_t xfs_crc32c(uint32_t crc, const void *buf, size_t len);
/*
 * The checksum XFS stores at @crc_off of a @len-byte buffer: CRC32C with
 * the 4 bytes at @crc_off taken as zero.  Compare with le32 of the field.
 */
uint32_t xfs_cksum(const void *buf, size_t len, size_t crc_off);

/* ---- geometry and addresses ---- */

/* The daddr (512-byte sector) of fs block @fsbno; valid only if checked. */
static inline uint64_t xfs_fsb_to_daddr(const struct xfs_fs *x, uint64_t fsbno)
{
	uint64_t agno = fsbno >> x->agblklog;
	uint64_t agbno = fsbno & ((1ULL << x->agblklog) - 1);

	return (agno * x->agblocks + agbno) << (x->blocklog - XFS_BBSHIFT);
}

/* The byte address of fs block @fsbno in the filesystem (image offset 0). */
static inline uint64_t xfs_fsb_to_bytes(const struct xfs_fs *x, uint64_t fsbno)
{
	return xfs_fsb_to_daddr(x, fsbno) << XFS_BBSHIFT;
}

/*
 * True if @count blocks from fs block @fsbno exist: a valid AG, and the
 * run inside that AG (the last AG ends at dblocks) and after its headers.
 * @count may be 0.
 */
bool xfs_fsb_valid(const struct xfs_fs *x, uint64_t fsbno, uint64_t count);

/* True if @ino names an inode slot that exists (in range; not whether in use). */
bool xfs_ino_valid(const struct xfs_fs *x, uint64_t ino);

/* ---- inode.c ---- */

enum xfs_fork { XFS_DATA_FORK = 0, XFS_ATTR_FORK = 1 };

/* An inode, decoded from its verified on-disk form. */
struct xfs_inode {
	uint64_t ino;
	uint16_t mode;			/* S_IFMT bits and permissions */
	uint32_t uid, gid;
	uint32_t nlink;
	uint32_t projid;
	uint32_t gen;
	struct timespec atime, mtime, ctime, crtime;
	uint64_t size;			/* di_size */
	uint64_t nblocks;		/* fs blocks in both forks (bmbt blocks included) */
	uint16_t flags;			/* XFS_DIFLAG_* */
	uint64_t flags2;		/* XFS_DIFLAG2_* */
	uint32_t rdev;			/* raw SysV device number (DEV format) */

	/* Forks: formats, extent counts, and where they sit in @raw. */
	uint8_t format;			/* data fork: enum xfs_dinode_fmt */
	uint8_t aformat;		/* attr fork: valid when has_attr_fork */
	bool has_attr_fork;		/* di_forkoff != 0 */
	uint64_t nextents;		/* data fork extents (EXTENTS/BTREE) */
	uint32_t anextents;		/* attr fork extents */
	uint32_t data_off, data_size;	/* data fork bytes in @raw */
	uint32_t attr_off, attr_size;	/* attr fork bytes in @raw (0 size: none) */

	/* The whole on-disk inode, verified (CRC, magic, di_ino, uuid). */
	uint8_t raw[XFS_DINODE_MAX_SIZE];
};

/*
 * Read and verify inode @ino: in range, CRC, magic, version 3, di_ino
 * equal to @ino, uuid, fork formats and sizes consistent with the mode.
 * A free inode (mode 0) is -ENOENT, as are numbers out of range.
 */
int xfs_read_inode(struct xfs_fs *x, uint64_t ino, struct xfs_inode *in);

/*
 * The literal area of fork @fork of @in and its size in bytes: the local
 * data (LOCAL format; di_size bytes of it are meaningful for the data
 * fork, the shortform header says how many for attrs), the extent records
 * (EXTENTS) or the bmdr root (BTREE).  NULL with *size 0 if there is no
 * such fork.
 */
const uint8_t *xfs_inode_fork(const struct xfs_inode *in, enum xfs_fork fork, size_t *size);
/* The format of fork @fork, or -1 when the inode has no attr fork. */
int xfs_inode_fork_format(const struct xfs_inode *in, enum xfs_fork fork);

/* DT_* of a mode, and of a directory entry's ftype byte (DT_UNKNOWN if invalid). */
unsigned xfs_mode_to_dtype(uint16_t mode);
unsigned xfs_ftype_to_dtype(uint8_t ftype);

int xfs_getattr(struct imgfs_fs *fs, uint64_t ino, struct stat *st);
int xfs_readlink(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t size, size_t *len);

/* ---- bmap.c ---- */

/*
 * A run of file blocks of one fork: mapped to fs blocks, or a hole.
 * Offsets and lengths are in fs blocks.
 */
struct xfs_bmap_ext {
	uint64_t fileoff;		/* first file block of the run */
	uint64_t len;			/* blocks, > 0 */
	uint64_t fsbno;			/* first fs block; XFS_NULLFSBLOCK for a hole */
	bool hole;
	bool unwritten;			/* allocated, reads as zeros */
};

/*
 * The run of fork @fork of @in that holds file block @fileoff: the extent
 * covering it (which may start before @fileoff), or the hole from @fileoff
 * up to the next extent (or to XFS_MAX_FILEOFF + 1 past the last one).
 * Extents are checked: inside the filesystem, in order, not overlapping
 * on the path the lookup takes.  LOCAL and DEV forks have no block map
 * (-EINVAL).  Walking a fork extent by extent is calling this again at
 * fileoff + len of the previous result.
 */
int xfs_bmap_lookup(struct xfs_fs *x, const struct xfs_inode *in, enum xfs_fork fork,
		    uint64_t fileoff, struct xfs_bmap_ext *out);

int xfs_iomap_begin(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		    unsigned opflags, struct imgfs_iomap *map);
int xfs_has_inline(struct imgfs_fs *fs, uint64_t ino, bool *has_inline);
int xfs_read_inline(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, void *buf,
		    size_t len, size_t *done);

/* ---- io.c: reading and verifying blocks ---- */

/* Where a block header keeps its self-describing fields. */
enum xfs_hdr_layout {
	XFS_HDR_NONE,		/* no header: only the read is done */
	XFS_HDR_DIR3,		/* struct xfs_dir3_blk_hdr: data, block and free blocks */
	XFS_HDR_DA3,		/* struct xfs_da3_blkinfo: dir leaf/node, attr leaf/node */
	XFS_HDR_LBLOCK,		/* struct xfs_btree_lblock: bmbt blocks */
	XFS_HDR_REMOTE,		/* xfs_attr3_rmt_hdr / xfs_dsymlink_hdr (same layout) */
};

/*
 * What to check of a block: the header at its start must have one of
 * @magics (the first @nmagic entries; 16-bit for DA3, 32-bit otherwise),
 * a CRC32C over the whole buffer, blkno equal to the daddr it was read
 * from, the filesystem's meta uuid, and owner equal to the inode.
 */
struct xfs_blk_verify {
	const char *what;		/* "directory data block", for messages */
	enum xfs_hdr_layout layout;
	unsigned nmagic;
	uint32_t magics[4];
};

/*
 * Check @len bytes at @buf, read from daddr @daddr for inode @owner, as
 * @v says; *@magic (if not NULL) gets the magic found.  @blk names the
 * block in messages (a file block, or the fs block for bmbt).
 */
int xfs_verify_block(const struct xfs_fs *x, uint64_t owner, uint64_t blk, const void *buf,
		     size_t len, uint64_t daddr, const struct xfs_blk_verify *v, uint32_t *magic);

/*
 * Read @count fs blocks from fs block @fsbno (checked: inside one AG)
 * into @buf (@count << blocklog bytes).  @ino names the reader in messages.
 */
int xfs_read_fsblocks(struct xfs_fs *x, uint64_t ino, uint64_t fsbno, unsigned count,
		      void *buf);

/*
 * Read file blocks [@fileoff, @fileoff + @count) of fork @fork of @in
 * into @buf (@count << blocklog bytes), wherever the block map puts them
 * (several extents are fine), then verify the whole buffer with @v (its
 * header's blkno must be the daddr of the first block).  A range that is
 * entirely a hole is -ENOENT, quietly: directories have holes.  A partly
 * mapped or unwritten range is corrupt.  *@magic as xfs_verify_block().
 */
int xfs_read_fork_blocks(struct xfs_fs *x, const struct xfs_inode *in, enum xfs_fork fork,
			 uint64_t fileoff, unsigned count, void *buf,
			 const struct xfs_blk_verify *v, uint32_t *magic);

/*
 * One directory block (x->dirblksize bytes, x->dirblkfsbs fs blocks) of
 * directory @dir at directory block number @dablk (in fs blocks, as
 * dabtree pointers and XFS_DIR2_*_OFFSET >> blocklog are).
 */
static inline int xfs_read_dirblock(struct xfs_fs *x, const struct xfs_inode *dir,
				    uint64_t dablk, void *buf, const struct xfs_blk_verify *v,
				    uint32_t *magic)
{
	return xfs_read_fork_blocks(x, dir, XFS_DATA_FORK, dablk, x->dirblkfsbs, buf, v, magic);
}

/* Ready-made checks (io.c). */
extern const struct xfs_blk_verify xfs_verify_dir3_data;	/* XDB3 or XDD3 */
extern const struct xfs_blk_verify xfs_verify_dir3_free;	/* XDF3 */
extern const struct xfs_blk_verify xfs_verify_dir3_leaf;	/* LEAF1, LEAFN or DA3 node */
extern const struct xfs_blk_verify xfs_verify_attr3_dablk;	/* attr leaf or DA3 node */
extern const struct xfs_blk_verify xfs_verify_attr3_rmt;	/* XARM, per fs block */
extern const struct xfs_blk_verify xfs_verify_symlink;		/* XSLM */
extern const struct xfs_blk_verify xfs_verify_bmbt;		/* BMA3 */

/* ---- super.c ---- */

int xfs_check_super(struct xfs_fs *x, const struct imgfs_image *img, struct imgfs_error *err);
int xfs_read_ag_headers(struct xfs_fs *x, struct imgfs_error *err);
void xfs_feature_names(const struct xfs_fs *x, char *buf, size_t size);
int xfs_info(struct imgfs_fs *fs, struct imgfs_fs_info *info);
int xfs_statfs(struct imgfs_fs *fs, struct statvfs *st);

/* ---- log.c ---- */

/*
 * 0 if the internal log is clean (its last record is an unmount record
 * right before the head) or the log is external; otherwise one line in
 * @err: -EROFS when it needs recovery, -EUCLEAN when it is corrupt.
 */
int xfs_check_log(const struct xfs_fs *x, struct imgfs_error *err);

/* dir-cache.c: drop the directory block cache at close. */
struct xfs_dircache;
void xfs_dircache_free(struct xfs_dircache *c);

/* ---- dir*.c: directories (the directory helper fills these in) ---- */

/*
 * Look @name (@len bytes, no '/', not NUL-terminated, 1..255 bytes) up in
 * directory @dir.  0 with *@ino, -ENOENT when absent, -ENOTDIR when @dir
 * is not a directory, -EUCLEAN for corruption.  "." and ".." work (".."
 * of the root is the root).  Through the hash index for leaf/node forms.
 */
int xfs_lookup(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
	       uint64_t *ino);
/*
 * Walk directory @dir from cookie @pos as fs.h's readdir contract says:
 * "." and ".." first, every @next > 0, < 2^63, strictly increasing, a
 * walk from @pos reports exactly the entries whose @next is above it.
 * (Shortform offsets and data-space dataptrs are natural cookies.)
 */
int xfs_readdir(struct imgfs_fs *fs, uint64_t dir, uint64_t pos, imgfs_filldir_t fill,
		void *ctx);

/* ---- attr.c: xattrs (the xattr helper fills these in) ---- */

/*
 * As fs.h: names with their namespace prefix (user., trusted., security.;
 * system.posix_acl_access/default from the trusted-namespace SGI_ACL_*
 * attrs, converted), each NUL-terminated; @size 0 asks for the length;
 * -ERANGE when it does not fit.  getxattr: -ENODATA when absent.
 */
int xfs_listxattr(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t size, size_t *len);
int xfs_getxattr(struct imgfs_fs *fs, uint64_t ino, const char *name, void *buf,
		 size_t size, size_t *len);

#endif
