/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An image: an open file or block device and the byte range inside it that
 * holds one filesystem.  The helper opens it with the caller's credentials
 * (helper/attach.h); the server only ever receives the descriptors.
 */
#ifndef IMGFS_IMAGE_H
#define IMGFS_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util.h"

#define IMGFS_FSTYPE_MAX 16

struct imgfs_image {
	int fd;			/* image file or block device: metadata reads */
	/*
	 * A second open file description of the same image, for file data.
	 * The kernel keeps readahead state per description; sequential data
	 * reads interleaved with scattered metadata reads on one description
	 * look random to it and lose readahead.  Never -1 once open.
	 */
	int data_fd;
	uint64_t offset;	/* byte offset of the filesystem */
	uint64_t size;		/* bytes of filesystem from offset */
	bool block_device;
	bool writable;
	char fstype[IMGFS_FSTYPE_MAX];	/* as probed: ext2, ext3, ext4, xfs */
	char *path;		/* for messages only; never reopened */
};

/*
 * Wrap the descriptors received from the helper (the server's side):
 * @data_fd must be another open file description of @fd's image, or -1 to
 * share @fd; @name is the image's path, used in messages only.
 */
int imgfs_image_from_fd(int fd, int data_fd, const char *name, uint64_t offset,
			uint64_t size, const char *fstype, bool writable,
			struct imgfs_image **out, struct imgfs_error *err);

void imgfs_image_close(struct imgfs_image *img);

/* A new image on open descriptor @fd (owned from now on); NULL if out of memory. */
struct imgfs_image *imgfs_image_new(int fd, const char *path);

/* The size of the regular file or block device on @fd, described by @st. */
int imgfs_image_size(int fd, const struct stat *st, uint64_t *size);

/* Read @len bytes at filesystem byte @pos, bounds-checked against the image. */
int imgfs_image_pread(const struct imgfs_image *img, void *buf, size_t len, uint64_t pos);

static inline void imgfs_image_closep(struct imgfs_image **img)
{
	if (*img)
		imgfs_image_close(*img);
}
#define _cleanup_image_ _cleanup_(imgfs_image_closep)

/* The server's backends. */
enum imgfs_fs_kind {
	IMGFS_FS_NONE,		/* no backend serves the type */
	IMGFS_FS_EXT4,		/* ext2, ext3 and ext4, with libext2fs */
	IMGFS_FS_XFS,
};

/* A filesystem type as libblkid names it, and the backend that serves it. */
struct imgfs_fstype {
	const char *name;
	enum imgfs_fs_kind kind;
};

/*
 * The one list of the types imgfs serves, in the order -o type= names
 * them; a NULL name ends it.
 */
extern const struct imgfs_fstype imgfs_fstypes[];

/* The backend that serves @fstype, or IMGFS_FS_NONE. */
enum imgfs_fs_kind imgfs_fstype_kind(const char *fstype);

/* True for the filesystem types some backend serves. */
bool imgfs_fstype_supported(const char *fstype);

#endif
