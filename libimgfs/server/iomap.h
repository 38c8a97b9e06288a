/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mapping engine: the one door between file data and the backends.
 *
 * It is the only caller of a backend's mapping ops (fs.h).  Every mapping
 * passes through imgfs_iomap_at(), which checks it against the image and
 * says where its bytes are: on which descriptor, at which position (the
 * filesystem's offset in the image added).  Its users: the userspace read
 * path (plan_read, read), SEEK_DATA/SEEK_HOLE, fuse-iomap's BEGIN and
 * uploads (fuse/kiomap.c), and imgfs-inspect's extent table.  Nobody else
 * reads struct imgfs_image for file data.
 */
#ifndef IMGFS_IOMAP_H
#define IMGFS_IOMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fs.h"
#include "iomap-types.h"

/* A checked mapping, and where its bytes are. */
struct imgfs_mapping {
	struct imgfs_iomap map;	/* as the backend gave it: addr is a filesystem byte */
	int fd;			/* MAPPED, UNWRITTEN: the descriptor holding the bytes, else -1 */
	uint64_t dev_addr;	/* ...at this byte of it, else IMGFS_IOMAP_NULL_ADDR */
};

/*
 * Map @pos (up to @len bytes) of regular file @ino: call the backend,
 * check the mapping (it covers @pos, has a known type, and MAPPED or
 * UNWRITTEN blocks lie inside the filesystem) and place it on the
 * device.  Writes (IMGFS_IOMAP_OP_ANY_WRITE) are -EROFS on a read-only
 * backend.  Returns 0, -EUCLEAN (logged, naming @ino) or another -errno.
 */
int imgfs_iomap_at(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		   unsigned opflags, struct imgfs_mapping *m);

/*
 * The check imgfs_iomap_at() makes: @map, returned for a request at @pos,
 * must cover @pos, have a known type, and for MAPPED or UNWRITTEN lie
 * inside the filesystem of @fs_size bytes.  Returns 0 or -EUCLEAN (logged).
 */
int imgfs_iomap_check(const struct imgfs_iomap *map, uint64_t ino, uint64_t pos,
		      uint64_t fs_size);

/*
 * The I/O on @m (from imgfs_iomap_at, asked with @opflags) wrote @written
 * of the @len bytes at @pos: let the backend finish it where it asked to
 * (IMGFS_IOMAP_F_WANT_END).  A mapping that went to the kernel and came
 * back may carry only its device address; the backend gets its own.
 */
int imgfs_iomap_end(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		    uint64_t written, unsigned opflags, const struct imgfs_mapping *m);

/*
 * Written data reached the device (fuse-iomap's IOEND): convert unwritten
 * extents and raise the size.  -EROFS on a read-only backend.
 */
int imgfs_iomap_ioend(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		      unsigned ioend_flags, int error, uint64_t *newsize);

/*
 * Write @len bytes of @buf at @pos of regular file @ino, as the kernel's
 * buffered write does with its mappings: each mapping is asked for with
 * IMGFS_IOMAP_OP_WRITE (plus @opflags, e.g. IMGFS_IOMAP_OP_DIRECT), its
 * bytes go to the image, and ->ioend converts what was unwritten and
 * raises the size.  Blocks that were new or unwritten get zeros around
 * the bytes written, up to their edges, so nothing stale shows.  Writes
 * to one inode are serialized here, and the data goes to the image
 * outside the backend's lock.  Returns the bytes written (short only
 * when an error stopped it after some), with the size after in
 * *@newsize; -EROFS on a read-only backend or once writes stopped,
 * -EFBIG at the backend's largest size, or another -errno.
 */
ssize_t imgfs_iomap_write(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, const void *buf,
			  size_t len, unsigned opflags, uint64_t *newsize);

/*
 * Hold off writes of the engine to @ino (other inodes may share the
 * lock): for a size change or fallocate, which must not run between a
 * write's mapping and its ioend.
 */
void imgfs_iomap_lock_inode(uint64_t ino);
void imgfs_iomap_unlock_inode(uint64_t ino);

/* Whether regular file @ino keeps its data inline, off the device. */
int imgfs_iomap_has_inline(struct imgfs_fs *fs, uint64_t ino, bool *has_inline);

/* The device mappings point into, for a kernel that reads it itself. */
struct imgfs_iomap_device {
	int fd;			/* to register (FUSE_DEV_IOC_BACKING_OPEN) */
	bool block_device;	/* the kernel maps only block devices */
	const char *name;	/* for messages */
};
void imgfs_iomap_device(const struct imgfs_fs *fs, struct imgfs_iomap_device *dev);

/* One piece of a read: @len bytes at @dev_pos of descriptor @fd, or memory. */
struct imgfs_read_seg {
	uint64_t len;
	int fd;			/* -1 for memory */
	int64_t dev_pos;	/* position in @fd, or -1 */
	const void *mem;	/* zeros or inline data when fd < 0 */
};

/*
 * Plan a read of [@pos, @pos + @len) of inode @ino, clipped to @isize,
 * into at most @max_segs segments.  Mapped ranges become descriptor
 * ranges; holes and unwritten ranges point at a shared zero buffer;
 * inline data is copied into @inline_buf (of @inline_size bytes).
 * Adjacent mapped ranges are merged.
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
