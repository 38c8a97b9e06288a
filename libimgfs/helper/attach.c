/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attaching an image, the helper's side: open it with the caller's own
 * rights, find the filesystem (whole image, partition or byte offset) and
 * name its type with libblkid.  The server never runs this code.
 */
#include "config.h"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "attach.h"
#include "exclusive.h"

static void blkid_probep(blkid_probe *pr)
{
	if (*pr)
		blkid_free_probe(*pr);
}
#define _cleanup_probe_ _cleanup_(blkid_probep)

/* What -o type= takes: "auto, ext4, ...". */
static void type_words(char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "auto");

	for (const struct imgfs_fstype *t = imgfs_fstypes; t->name && n < size; t++)
		n += (size_t)snprintf(buf + n, size - n, ", %s", t->name);
}

int imgfs_image_parse_option(const char *key, const char *val, struct imgfs_image_options *o,
			     struct imgfs_error *err)
{
	uint64_t n;

	if (!val)
		return 1;
	if (!strcmp(key, "offset")) {
		if (parse_u64(val, &o->offset) < 0)
			return imgfs_error_set(err, EINVAL, "offset=%s: not a byte count", val);
		o->has_offset = true;
		return 0;
	}
	if (!strcmp(key, "partition")) {
		if (parse_u64(val, &n) < 0 || n == 0 || n > 4096)
			return imgfs_error_set(err, EINVAL,
					       "partition=%s: not a partition number (1, 2, ...)", val);
		o->partition = (unsigned)n;
		return 0;
	}
	if (!strcmp(key, "type")) {
		char words[64];

		if (!strcmp(val, "auto")) {
			o->fstype = "auto";
			return 0;
		}
		for (const struct imgfs_fstype *t = imgfs_fstypes; t->name; t++) {
			if (!strcmp(val, t->name)) {
				o->fstype = t->name;
				return 0;
			}
		}
		type_words(words, sizeof(words));
		return imgfs_error_set(err, EINVAL, "type=%s: unknown filesystem type (%s)", val,
				       words);
	}
	return 1;
}

int imgfs_image_check_options(const struct imgfs_image_options *o, struct imgfs_error *err)
{
	if (o->has_offset && o->partition)
		return imgfs_error_set(err, EINVAL, "offset= and partition= exclude each other");
	return 0;
}

static bool fstype_matches(const char *want, const char *found)
{
	if (!want || !strcmp(want, "auto"))
		return true;
	/* "ext4" names the driver, which serves ext2 and ext3 as well. */
	if (!strcmp(want, "ext4"))
		return imgfs_fstype_kind(found) == IMGFS_FS_EXT4;
	return !strcmp(want, found);
}

/* Find partition @partno (1-based) in a GPT or MBR table. */
static int find_partition(struct imgfs_image *img, unsigned partno, struct imgfs_error *err)
{
	_cleanup_probe_ blkid_probe pr = blkid_new_probe();
	blkid_partlist parts;
	blkid_partition part;
	uint64_t start, len;

	if (!pr)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	if (blkid_probe_set_device(pr, img->fd, 0, (blkid_loff_t)img->size) < 0)
		return imgfs_error_set(err, EIO, "%s: cannot probe", img->path);
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	parts = blkid_probe_get_partitions(pr);
	if (!parts || blkid_partlist_numof_partitions(parts) <= 0)
		return imgfs_error_set(err, ENXIO, "%s: no partition table, so no partition %u",
				       img->path, partno);
	part = blkid_partlist_get_partition_by_partno(parts, (int)partno);
	if (!part)
		return imgfs_error_set(err, ENXIO, "%s: no partition %u in its %s table",
				       img->path, partno,
				       blkid_parttable_get_type(blkid_partlist_get_table(parts)));
	start = (uint64_t)blkid_partition_get_start(part) * 512;
	len = (uint64_t)blkid_partition_get_size(part) * 512;
	if (start >= img->size || len > img->size - start)
		return imgfs_error_set(err, ENXIO, "%s: partition %u lies outside the image",
				       img->path, partno);
	img->offset = start;
	img->size = len;
	return 0;
}

/* What blkid sees at the image's offset: a filesystem type, or a partition table. */
static int probe_fstype(struct imgfs_image *img, const char *want, struct imgfs_error *err)
{
	_cleanup_probe_ blkid_probe pr = blkid_new_probe();
	const char *type = NULL, *pttype = NULL;
	int r;

	if (!pr)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	if (blkid_probe_set_device(pr, img->fd, (blkid_loff_t)img->offset,
				   (blkid_loff_t)img->size) < 0)
		return imgfs_error_set(err, EIO, "%s: cannot probe", img->path);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 1);
	r = blkid_do_safeprobe(pr);
	if (r == -2)
		return imgfs_error_set(err, EMEDIUMTYPE,
				       "%s: ambiguous: more than one filesystem signature found",
				       img->path);
	if (r < 0)
		return imgfs_error_set(err, EIO, "%s: cannot probe: %s", img->path, strerror(errno));
	if (r == 0) {
		blkid_probe_lookup_value(pr, "TYPE", &type, NULL);
		blkid_probe_lookup_value(pr, "PTTYPE", &pttype, NULL);
	}
	if (!type && pttype)
		return imgfs_error_set(err, EMEDIUMTYPE,
				       "%s: holds a %s partition table, not a filesystem: choose one with -o partition=N",
				       img->path, pttype);
	if (!type)
		return imgfs_error_set(err, EMEDIUMTYPE, "%s: no filesystem found", img->path);
	if (!imgfs_fstype_supported(type))
		return imgfs_error_set(err, EMEDIUMTYPE,
				       "%s: %s filesystem is not supported (imgfs serves ext2, ext3, ext4 and XFS)",
				       img->path, type);
	if (!fstype_matches(want, type))
		return imgfs_error_set(err, EMEDIUMTYPE, "%s: is %s, not %s", img->path, type, want);
	snprintf(img->fstype, sizeof(img->fstype), "%s", type);
	return 0;
}

/*
 * A second open file description of the image already open on @fd, made
 * through /proc/self/fd so that it is the same file whatever happened to
 * the path since; a shared duplicate where /proc is missing.
 */
static int reopen_for_data(int fd, bool writable)
{
	char proc_path[64];
	struct stat a, b;
	int data_fd;

	snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
	data_fd = open(proc_path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
	if (data_fd >= 0 && fstat(fd, &a) == 0 && fstat(data_fd, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_rdev == b.st_rdev)
		return data_fd;
	if (data_fd >= 0)
		close(data_fd);
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

int imgfs_image_open(const char *path, const struct imgfs_image_options *opts,
		     struct imgfs_image **out, struct imgfs_error *err)
{
	_cleanup_image_ struct imgfs_image *img = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (opts->has_offset && opts->partition)
		return imgfs_error_set(err, EINVAL, "offset= and partition= exclude each other");
	/*
	 * A FIFO or a character device would hang the open or the probe:
	 * refuse it first.  Read-write, a block device is claimed with
	 * O_EXCL, as the kernel's own mounts do (regular files ignore it).
	 */
	r = open_regular(path, opts->writable ? O_RDWR | O_EXCL : O_RDONLY, true, &fd);
	if (r == -EINVAL || r == -EISDIR)
		return imgfs_error_set(err, EINVAL,
				       "%s: not a regular file or block device: give an image file or a disk",
				       path);
	if (r == -EBUSY && opts->writable)
		return imgfs_exclusive_busy(path, err);
	if (opts->writable && (r == -EACCES || r == -EPERM || r == -EROFS))
		return imgfs_error_set(err, -r, "%s: cannot open read-write: %s; mount it with -o ro",
				       path, strerror(-r));
	if (r < 0)
		return imgfs_error_set(err, -r, "%s: %s", path, strerror(-r));
	if (fstat(fd, &st) < 0)
		return imgfs_error_set(err, errno, "%s: %s", path, strerror(errno));
	img = imgfs_image_new(fd, path);
	if (!img)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	fd = -1;
	img->block_device = S_ISBLK(st.st_mode);
	img->writable = opts->writable;
	r = imgfs_image_size(img->fd, &st, &img->size);
	if (r < 0)
		return imgfs_error_set(err, -r, "%s: cannot get size: %s", path, strerror(-r));
	if (opts->has_offset) {
		if (opts->offset >= img->size)
			return imgfs_error_set(err, EINVAL,
					       "%s: offset %llu is past the end of the image (%llu bytes)",
					       path, (unsigned long long)opts->offset,
					       (unsigned long long)img->size);
		img->offset = opts->offset;
		img->size -= opts->offset;
	} else if (opts->partition) {
		r = find_partition(img, opts->partition, err);
		if (r < 0)
			return r;
	}
	r = probe_fstype(img, opts->fstype, err);
	if (r < 0)
		return r;
	/* The server would refuse too, but only after the user waited for it. */
	if (img->writable && imgfs_fstype_kind(img->fstype) == IMGFS_FS_XFS)
		return imgfs_error_set(err, EROFS, "%s: XFS is served read-only; mount it with -o ro",
				       path);
	r = imgfs_exclusive_claim(img, err);
	if (r < 0)
		return r;
	img->data_fd = reopen_for_data(img->fd, img->writable);
	if (img->data_fd < 0)
		return imgfs_error_set(err, errno, "%s: %s", path, strerror(errno));
	*out = steal_pointer(&img);
	return 0;
}

