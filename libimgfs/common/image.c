/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An image's descriptors and the filesystem's byte range in it: the part
 * both sides share.  Opening and probing an image is the helper's
 * (helper/attach.c); the server only wraps the descriptors it was given.
 */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "image.h"

const struct imgfs_fstype imgfs_fstypes[] = {
	{ "ext4", IMGFS_FS_EXT4 },
	{ "ext3", IMGFS_FS_EXT4 },
	{ "ext2", IMGFS_FS_EXT4 },
	{ "xfs", IMGFS_FS_XFS },
	{ NULL, IMGFS_FS_NONE },
};

enum imgfs_fs_kind imgfs_fstype_kind(const char *fstype)
{
	for (const struct imgfs_fstype *t = imgfs_fstypes; t->name; t++)
		if (!strcmp(fstype, t->name))
			return t->kind;
	return IMGFS_FS_NONE;
}

bool imgfs_fstype_supported(const char *fstype)
{
	return imgfs_fstype_kind(fstype) != IMGFS_FS_NONE;
}

int imgfs_image_size(int fd, const struct stat *st, uint64_t *size)
{
	off_t end;

	if (S_ISREG(st->st_mode)) {
		*size = (uint64_t)st->st_size;
		return 0;
	}
	/*
	 * A block device's size, without BLKGETSIZE64: the sandboxed server
	 * checks its range here too, and its seccomp policy has no such ioctl.
	 * Every read is a pread, so moving the offset is harmless.
	 */
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return -errno;
	*size = (uint64_t)end;
	return 0;
}

struct imgfs_image *imgfs_image_new(int fd, const char *path)
{
	struct imgfs_image *img = calloc(1, sizeof(*img));

	if (!img)
		return NULL;
	img->path = strdup(path);
	if (!img->path) {
		free(img);
		return NULL;
	}
	img->fd = fd;
	img->data_fd = -1;
	return img;
}

int imgfs_image_from_fd(int fd, int data_fd, const char *name, uint64_t offset,
			uint64_t size, const char *fstype, bool writable,
			struct imgfs_image **out, struct imgfs_error *err)
{
	struct imgfs_image *img;
	struct stat st;
	uint64_t total = 0;
	int r;

	if (fstat(fd, &st) < 0)
		return imgfs_error_set(err, errno, "image descriptor %d: %s", fd, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return imgfs_error_set(err, EINVAL, "image descriptor %d: not a file or block device", fd);
	r = imgfs_image_size(fd, &st, &total);
	if (r < 0)
		return imgfs_error_set(err, -r, "image descriptor %d: %s", fd, strerror(-r));
	if (offset > total || size > total - offset)
		return imgfs_error_set(err, EINVAL, "filesystem range lies outside the image");
	if (writable && ((r = fcntl(fd, F_GETFL)) < 0 || (r & O_ACCMODE) != O_RDWR ||
			 (data_fd >= 0 && ((r = fcntl(data_fd, F_GETFL)) < 0 ||
					   (r & O_ACCMODE) != O_RDWR))))
		return imgfs_error_set(err, EBADF, "image descriptor %d: not open read-write", fd);
	if (strlen(fstype) >= IMGFS_FSTYPE_MAX || !imgfs_fstype_supported(fstype))
		return imgfs_error_set(err, EMEDIUMTYPE, "unsupported filesystem type %s", fstype);
	img = imgfs_image_new(fd, name ? name : "image");
	if (!img)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	img->data_fd = data_fd >= 0 ? data_fd : fd;
	/* File data is mostly read in runs: let the kernel read further ahead. */
	if (data_fd >= 0)
		posix_fadvise(data_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	img->offset = offset;
	img->size = size;
	img->block_device = S_ISBLK(st.st_mode);
	img->writable = writable;
	snprintf(img->fstype, sizeof(img->fstype), "%s", fstype);
	*out = img;
	return 0;
}

void imgfs_image_close(struct imgfs_image *img)
{
	if (img->data_fd >= 0 && img->data_fd != img->fd)
		close(img->data_fd);
	if (img->fd >= 0)
		close(img->fd);
	free(img->path);
	free(img);
}

int imgfs_image_pread(const struct imgfs_image *img, void *buf, size_t len, uint64_t pos)
{
	if (pos > img->size || len > img->size - pos)
		return -EUCLEAN;
	return read_full(img->fd, buf, len, (off_t)(img->offset + pos));
}
