/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File-range to device-range mappings, modelled on the kernel's iomap.
 *
 * A backend's iomap_begin() describes the extent of a file around one
 * position; the engine here turns mappings into data.  The same mappings
 * are what the fuse-iomap protocol hands the kernel, so this is the one
 * data path for both.
 */
#ifndef IMGFS_IOMAP_H
#define IMGFS_IOMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct imgfs_fs;

/* Mapping types; the values are the fuse-iomap protocol's. */
enum imgfs_iomap_type {
	IMGFS_IOMAP_HOLE = 0,		/* no blocks: reads as zeros */
	IMGFS_IOMAP_DELALLOC = 1,	/* not produced by read-only backends */
	IMGFS_IOMAP_MAPPED = 2,		/* blocks at addr on the device */
	IMGFS_IOMAP_UNWRITTEN = 3,	/* allocated but unwritten: zeros */
	IMGFS_IOMAP_INLINE = 4,		/* data lives in metadata: read_inline() */
};

#define IMGFS_IOMAP_NULL_ADDR UINT64_MAX

/* Operation flags for iomap_begin, as the protocol numbers them. */
#define IMGFS_IOMAP_OP_WRITE	(1U << 0)
#define IMGFS_IOMAP_OP_REPORT	(1U << 2)

struct imgfs_iomap {
	uint64_t offset;	/* file offset of the mapping, bytes */
	uint64_t length;	/* bytes, > 0 */
	uint64_t addr;		/* device byte address, or IMGFS_IOMAP_NULL_ADDR */
	uint16_t type;		/* enum imgfs_iomap_type */
	uint16_t flags;
};

/*
 * Check a mapping a backend returned for a request at @pos: it must cover
 * @pos, have a sane type, and for MAPPED lie inside the filesystem of
 * @fs_size bytes.  Returns 0 or -EUCLEAN (logged, naming @ino).
 */
int imgfs_iomap_check(const struct imgfs_iomap *map, uint64_t ino, uint64_t pos,
		      uint64_t fs_size);

/* One piece of a read: either @len bytes from the image at @dev_pos, or memory. */
struct imgfs_read_seg {
	uint64_t len;
	int64_t dev_pos;	/* absolute position in the image fd, or -1 */
	const void *mem;	/* zeros or inline data when dev_pos < 0 */
};

/*
 * Plan a read of [@pos, @pos + @len) of inode @ino, clipped to @isize,
 * into at most @max_segs segments.  Mapped ranges become image ranges
 * (so the caller can splice them); holes and unwritten ranges point at a
 * shared zero buffer; inline data is copied into @inline_buf (of
 * @inline_size bytes).  Adjacent mapped ranges are merged.
 * Returns the number of segments, or a negative errno.
 */
int imgfs_iomap_plan_read(struct imgfs_fs *fs, uint64_t ino, uint64_t isize,
			  uint64_t pos, uint64_t len, struct imgfs_read_seg *segs,
			  int max_segs, void *inline_buf, size_t inline_size);

/*
 * SEEK_DATA (@data) or SEEK_HOLE from @pos in a file of @isize bytes, as
 * lseek(2) defines them: mapped and inline ranges are data; holes and
 * unwritten extents (zeros on a read-only image) are holes; EOF is a hole.
 * Returns 0 with *@result, -ENXIO past the data or EOF, or -errno.
 */
int imgfs_iomap_seek(struct imgfs_fs *fs, uint64_t ino, uint64_t isize, uint64_t pos,
		     bool data, uint64_t *result);

/* Read [@pos, @pos + @len) of @ino into @buf; returns bytes read (short at EOF). */
ssize_t imgfs_iomap_read(struct imgfs_fs *fs, uint64_t ino, uint64_t isize,
			 void *buf, size_t len, uint64_t pos);

/* The shared zero buffer segments point into; IMGFS_ZERO_SIZE bytes. */
#define IMGFS_ZERO_SIZE (1U << 20)
extern const char imgfs_zero_buf[IMGFS_ZERO_SIZE];

#endif
