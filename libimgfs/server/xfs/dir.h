/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directories, private to dir.c, dir-sf.c and dir-node.c.
 *
 * XFS v5 directories come in five forms, told apart by the data fork:
 *
 *   shortform  local fork: a header (count, i8count, parent) and packed
 *              entries { namelen, be16 offset, name, ftype, inumber }.
 *   block      one directory block at offset 0 ("XDB3"): a data header,
 *              data entries, then leaf entries { be32 hashval,
 *              be32 address } sorted by hash and a tail { count, stale }.
 *   leaf       data blocks ("XDD3") in the data space, one leaf block
 *              (LEAF1, 0x3df1) at XFS_DIR2_LEAF_OFFSET holding the hash
 *              index and the best-free table.
 *   node       data blocks, a tree of DA3 node blocks (0x3ebe) and LN1
 *              leaves (0x3dff) from XFS_DIR2_LEAF_OFFSET, free-index blocks
 *              ("XDF3") from XFS_DIR2_FREE_OFFSET (for writers: a reader
 *              never needs them).
 *   btree      any of the last three with a bmbt data fork: the same
 *              blocks, only mapped differently (the core's bmap does that).
 *
 * A directory block is dirblksize bytes (the fs block size << dirblklog)
 * and may be mapped by more than one extent.  Addresses in leaves are
 * "dataptrs": the byte offset in the data space divided by 8.  readdir
 * positions are dataptrs too: an entry's @next is the dataptr of the byte
 * just after it, so positions grow with the on-disk location; "." and ".."
 * of a shortform directory sit where a block directory would keep them.
 */
#ifndef IMGFS_XFS_DIR_H
#define IMGFS_XFS_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfs.h"

/* Short names for the format header's constants, and field offsets. */
#define XD_LEAF_OFFSET XFS_DIR2_LEAF_OFFSET
#define XD_ALIGN_LOG XFS_DIR2_DATA_ALIGN_LOG
#define XD_DATA_HDR_SIZE ((uint32_t)sizeof(struct xfs_dir3_data_hdr))	/* first entry */
#define XD_DATA_BESTFREE offsetof(struct xfs_dir3_data_hdr, best_free)
#define XD_DA_HDR_SIZE ((uint32_t)sizeof(struct xfs_dir3_leaf_hdr))	/* = node hdr */
#define XD_DA_COUNT offsetof(struct xfs_dir3_leaf_hdr, count)		/* = node count */
#define XD_DA_STALE offsetof(struct xfs_dir3_leaf_hdr, stale)
#define XD_DA_LEVEL offsetof(struct xfs_da3_node_hdr, level)
#define XD_DA_ENTRY_SIZE 8		/* leaf and node entries alike */
#define XD_BLOCK_TAIL_SIZE ((uint32_t)sizeof(struct xfs_dir2_block_tail))
#define XD_LEAF_TAIL_SIZE ((uint32_t)sizeof(struct xfs_dir2_leaf_tail))
#define XD_FT_MAX 9			/* XFS_DIR3_FT_MAX: file types 0..8 */
#define XD_NAME_MAX 255

/* One directory being read. */
struct xdir {
	struct xfs_fs *x;
	uint64_t ino;
	bool ftype;			/* entries carry a file type byte */
	unsigned blklog;		/* fs block size log2 */
	uint32_t blksize;		/* directory block size in bytes */
	uint32_t fsbcount;		/* fs blocks per directory block */
	uint64_t leafblk;		/* file block of XFS_DIR2_LEAF_OFFSET */
	uint64_t freeblk;		/* file block of XFS_DIR2_FREE_OFFSET */
	struct xfs_inode in;
};

static inline uint32_t xd_entsize(const struct xdir *d, unsigned namelen)
{
	return XFS_DIR2_DATA_ENTSIZE(namelen, d->ftype ? 1U : 0U);
}

/* dir.c */
int xd_corrupt(const struct xdir *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool xd_name_ok(const char *name, unsigned len);
/*
 * Read directory block @fblk (a file block, multiple of fsbcount) into
 * @buf, verified as @v says; its magic to *@magic.  Data blocks (XDD3)
 * have every entry checked too.  -ENOENT for a hole, quietly.
 */
int xd_read(struct xdir *d, uint64_t fblk, const struct xfs_blk_verify *v, void *buf,
	    uint32_t *magic);
/* Check a data block's best-free table and entries up to @end. */
int xd_data_check(struct xdir *d, uint64_t fblk, const char *buf, uint32_t end);
/*
 * Check the entries of data block @fblk between its header and @end (the
 * block size, or where a block directory's leaf entries start) and call
 * @fn (if not NULL) per live entry, whose @next is the dataptr just past
 * it; a non-zero return stops the walk and is returned.
 */
int xd_data_walk(struct xdir *d, uint64_t fblk, const char *buf, uint32_t end,
		 imgfs_filldir_t fn, void *ctx);
/* Decode the live data entry a leaf address names at byte @off of block @fblk. */
int xd_data_entry(struct xdir *d, uint64_t fblk, const char *buf, uint32_t off, uint32_t end,
		  struct imgfs_dirent *e);

/* dir-cache.c: verified directory blocks of this filesystem, by (inode, file block). */
bool xd_cache_get(struct xdir *d, uint64_t fblk, const struct xfs_blk_verify *v, void *buf,
		  uint32_t *magic);
void xd_cache_put(struct xdir *d, uint64_t fblk, const void *buf, uint32_t magic);

/* dir-sf.c */
int xd_sf_readdir(struct xdir *d, imgfs_filldir_t fn, void *ctx);
int xd_sf_lookup(struct xdir *d, const char *name, size_t len, uint64_t *ino);

/* dir-node.c: lookups return 1 found (*@ino set), 0 not there, or a negative errno. */
int xd_block_lookup(struct xdir *d, const char *buf, uint32_t leaf_start, const char *name,
		    size_t len, uint64_t *ino);
/* Check a block directory's tail, leaf entries and data entries; where the leaf entries start. */
int xd_block_check(struct xdir *d, const char *buf, uint32_t *leaf_start);
int xd_leaf_lookup(struct xdir *d, const char *name, size_t len, uint64_t *ino);

#endif
