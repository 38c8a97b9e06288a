/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backend interface: one vtable every filesystem implements, in the
 * spirit of the kernel's inode operations plus iomap_ops.
 *
 * Inode numbers are the filesystem's own.  Every operation returns 0 or a
 * negative errno; corrupt metadata is -EUCLEAN after one log line naming
 * the inode and what was wrong.  Backends do their own locking: every op
 * may be called from several threads at once.
 */
#ifndef IMGFS_FS_H
#define IMGFS_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "image.h"
#include "iomap.h"
#include "util.h"

struct imgfs_fs;

struct imgfs_dirent {
	uint64_t ino;
	unsigned type;		/* DT_* */
	const char *name;	/* not NUL-terminated */
	size_t namelen;
	uint64_t next;		/* where a walk resumes after this entry; see readdir */
};

/* Called per entry ("." and ".." included); a non-zero return stops the walk. */
typedef int (*imgfs_filldir_t)(void *ctx, const struct imgfs_dirent *de);

/* What imgfs-inspect prints about a filesystem. */
struct imgfs_fs_info {
	char type[IMGFS_FSTYPE_MAX];
	char label[256];
	uint8_t uuid[16];	/* as on disk; imgfs_uuid_format() for text */
	uint32_t block_size;
	uint64_t blocks;
	uint64_t free_blocks;
	uint64_t inodes;
	uint64_t free_inodes;
	char features[512];	/* space-separated, as the native tools name them */
};

struct imgfs_fs_ops {
	const char *name;
	void (*close)(struct imgfs_fs *fs);
	int (*info)(struct imgfs_fs *fs, struct imgfs_fs_info *info);
	int (*statfs)(struct imgfs_fs *fs, struct statvfs *st);
	int (*getattr)(struct imgfs_fs *fs, uint64_t ino, struct stat *st);
	/* @name is @len bytes, no '/' and not NUL-terminated. */
	int (*lookup)(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		      uint64_t *ino);
	/*
	 * Walk directory @dir from position @pos (0: the start).  Positions
	 * are the backend's own cookies: each entry's @next is above 0 and
	 * below 2^63 (FUSE offsets are signed), and strictly increases along
	 * a walk; a walk from @pos reports exactly the entries whose @next is
	 * above @pos.  So a listing can stop anywhere and resume from the
	 * last reported entry's @next, with no state kept in between.
	 */
	int (*readdir)(struct imgfs_fs *fs, uint64_t dir, uint64_t pos, imgfs_filldir_t fill,
		       void *ctx);
	/* Writes the target (not NUL-terminated) and its length to *@len. */
	int (*readlink)(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t size, size_t *len);
	/* As listxattr(2)/getxattr(2): @size 0 asks only for the length. */
	int (*listxattr)(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t size, size_t *len);
	int (*getxattr)(struct imgfs_fs *fs, uint64_t ino, const char *name, void *buf,
			size_t size, size_t *len);
	/* Map the file range at @pos (up to @len bytes) of regular file @ino. */
	int (*iomap_begin)(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
			   unsigned opflags, struct imgfs_iomap *map);
	/*
	 * Copy INLINE data of @ino at @pos; returns 0 with *@done bytes, or
	 * -EINVAL when @ino is not a regular file with inline data (asking
	 * for 0 bytes tells which files have it, empty ones included).
	 */
	int (*read_inline)(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, void *buf,
			   size_t len, size_t *done);
};

struct imgfs_fs {
	const struct imgfs_fs_ops *ops;
	struct imgfs_image *img;	/* borrowed: the caller closes it */
	uint64_t root_ino;
	uint32_t block_size;
	uint64_t max_file_size;		/* largest offset a file can map */
};

/* Open the filesystem @img holds with the backend for its type. */
int imgfs_fs_open(struct imgfs_image *img, struct imgfs_fs **fsp, struct imgfs_error *err);
void imgfs_fs_close(struct imgfs_fs *fs);

static inline void imgfs_fs_closep(struct imgfs_fs **fs)
{
	if (*fs)
		imgfs_fs_close(*fs);
}
#define _cleanup_fs_ _cleanup_(imgfs_fs_closep)

/* Backends. */
int imgfs_ext4_open(struct imgfs_image *img, struct imgfs_fs **fsp, struct imgfs_error *err);
int imgfs_xfs_open(struct imgfs_image *img, struct imgfs_fs **fsp, struct imgfs_error *err);

#endif
