/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File-range to device-range mappings, modelled on the kernel's iomap:
 * the types a backend's mapping ops describe a file with (fs.h).  The
 * engine that checks and uses them is iomap.h, above the backends.
 *
 * The numbers are the fuse-iomap protocol's, so that a mapping crosses to
 * the kernel unchanged (fuse/kiomap.c translates all the same).
 */
#ifndef IMGFS_IOMAP_TYPES_H
#define IMGFS_IOMAP_TYPES_H

#include <stdint.h>

/* Mapping types. */
enum imgfs_iomap_type {
	IMGFS_IOMAP_HOLE = 0,		/* no blocks: reads as zeros */
	IMGFS_IOMAP_DELALLOC = 1,	/* reserved, not yet allocated (writes only) */
	IMGFS_IOMAP_MAPPED = 2,		/* blocks at addr on the device */
	IMGFS_IOMAP_UNWRITTEN = 3,	/* allocated, never written: reads as zeros */
	IMGFS_IOMAP_INLINE = 4,		/* data lives in metadata: ->read_inline names it */
};

#define IMGFS_IOMAP_NULL_ADDR UINT64_MAX

/* What a mapping is asked for (iomap_begin's @opflags), as the protocol numbers them. */
#define IMGFS_IOMAP_OP_WRITE	(1U << 0)	/* the range is about to be written: allocate */
#define IMGFS_IOMAP_OP_ZERO	(1U << 1)	/* ... zeroed (truncate, fallocate ZERO_RANGE) */
#define IMGFS_IOMAP_OP_REPORT	(1U << 2)	/* only described (FIEMAP, SEEK_DATA) */
#define IMGFS_IOMAP_OP_FAULT	(1U << 3)	/* a page fault on a shared mapping */
#define IMGFS_IOMAP_OP_DIRECT	(1U << 4)	/* O_DIRECT: no page cache in between */
#define IMGFS_IOMAP_OP_UNSHARE	(1U << 7)	/* copy shared blocks before writing */
#define IMGFS_IOMAP_OP_ANY_WRITE (IMGFS_IOMAP_OP_WRITE | IMGFS_IOMAP_OP_ZERO | \
				  IMGFS_IOMAP_OP_UNSHARE)

/* What a mapping says about itself (struct imgfs_iomap.flags). */
#define IMGFS_IOMAP_F_NEW	(1U << 0)	/* blocks allocated by this call: unwritten parts must be zeroed */
#define IMGFS_IOMAP_F_DIRTY	(1U << 1)	/* metadata changed that fsync must commit */
#define IMGFS_IOMAP_F_SHARED	(1U << 2)	/* blocks shared with another file (reflink) */
#define IMGFS_IOMAP_F_WANT_END	(1U << 7)	/* call iomap_end after the I/O */

/*
 * Write I/O finished (ioend's @flags): what the backend must do now that
 * the data is on the device.
 */
#define IMGFS_IOEND_SHARED	(1U << 0)	/* written to new blocks in place of shared ones */
#define IMGFS_IOEND_UNWRITTEN	(1U << 1)	/* convert the range's unwritten extents to written */
#define IMGFS_IOEND_DIRECT	(1U << 3)	/* the data bypassed the page cache */
#define IMGFS_IOEND_APPEND	(1U << 4)	/* the write may raise i_size */

struct imgfs_iomap {
	uint64_t offset;	/* file offset of the mapping, bytes */
	uint64_t length;	/* bytes, > 0 */
	uint64_t addr;		/* filesystem byte address, or IMGFS_IOMAP_NULL_ADDR */
	uint16_t type;		/* enum imgfs_iomap_type */
	uint16_t flags;		/* IMGFS_IOMAP_F_* */
};

#endif
