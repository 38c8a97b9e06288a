/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backend interface, in three parts as the kernel splits a filesystem:
 *
 *   imgfs_fs_ops     metadata: names, attributes, directories, links and
 *                    xattrs (the kernel's super and inode_operations);
 *   imgfs_iomap_ops  mappings of file ranges to the device, and the bytes
 *                    of files kept inline (iomap_ops and address_space
 *                    operations).  Only the mapping engine (iomap.h)
 *                    calls them;
 *   imgfs_write_ops  every change, NULL for a read-only backend.
 *
 * Inode numbers are the filesystem's own.  Every operation returns 0 or a
 * negative errno; corrupt metadata is -EUCLEAN after one log line naming
 * the inode and what was wrong.  Backends do their own locking: every op
 * may be called from several threads at once.
 */
#ifndef IMGFS_FS_H
#define IMGFS_FS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

#include "atime.h"
#include "image.h"
#include "iomap-types.h"
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

/* Metadata. */
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
};

/* Mappings: called by the engine (iomap.c) only, which checks what they return. */
struct imgfs_iomap_ops {
	/*
	 * Map the file range at @pos (up to @len bytes) of regular file @ino:
	 * the extent around @pos, of any length that covers it.  With
	 * IMGFS_IOMAP_OP_WRITE the range is about to be written: allocate
	 * what is missing (UNWRITTEN until ioend, IMGFS_IOMAP_F_NEW).
	 */
	int (*iomap_begin)(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
			   unsigned opflags, struct imgfs_iomap *map);
	/*
	 * Optional, for mappings with IMGFS_IOMAP_F_WANT_END: the I/O on
	 * @map wrote @written of the @len bytes at @pos; release what
	 * iomap_begin reserved beyond them.
	 */
	int (*iomap_end)(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
			 uint64_t written, unsigned opflags, const struct imgfs_iomap *map);
	/*
	 * Write-side, NULL for a read-only backend: @len bytes written at
	 * @pos reached the device (or failed with @error < 0).  Convert
	 * unwritten extents (IMGFS_IOEND_UNWRITTEN) and raise i_size
	 * (IMGFS_IOEND_APPEND); *@newsize is the size after.
	 */
	int (*ioend)(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		     unsigned ioend_flags, int error, uint64_t *newsize);
	/*
	 * Whether regular file @ino keeps its data inline (in metadata, not
	 * on the device), even none of it.  Such a file's mappings are
	 * INLINE, and ->read_inline gives their bytes.
	 */
	int (*has_inline)(struct imgfs_fs *fs, uint64_t ino, bool *has_inline);
	/* Copy inline data of @ino at @pos; 0 with *@done bytes (short at its end). */
	int (*read_inline)(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, void *buf,
			   size_t len, size_t *done);
	/* Write-side: store @len bytes at @pos inline, or -E2BIG when they do not fit there. */
	int (*write_inline)(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, const void *buf,
			    size_t len);
};

/* Who creates an inode, and what it is (create, mknod, mkdir, symlink). */
struct imgfs_new_inode {
	mode_t mode;		/* type and permissions, the umask not applied */
	dev_t rdev;		/* character and block devices */
	uid_t uid;		/* the creator; the backend applies a setgid parent's group */
	gid_t gid;
	/*
	 * The creator's umask.  As the kernel's posix_acl_create, the
	 * backend clears these permission bits when the parent has no
	 * default ACL; with one, the new inode inherits it instead and the
	 * umask plays no part.  Symlinks ignore it.
	 */
	mode_t umask;
};

/* setattr: which fields of struct imgfs_setattr to apply. */
#define IMGFS_SET_MODE		(1U << 0)
#define IMGFS_SET_UID		(1U << 1)
#define IMGFS_SET_GID		(1U << 2)
#define IMGFS_SET_SIZE		(1U << 3)	/* truncate up or down */
#define IMGFS_SET_ATIME		(1U << 4)
#define IMGFS_SET_MTIME		(1U << 5)
#define IMGFS_SET_CTIME		(1U << 6)
#define IMGFS_SET_ATIME_NOW	(1U << 7)	/* utimensat's UTIME_NOW */
#define IMGFS_SET_MTIME_NOW	(1U << 8)

struct imgfs_setattr {
	unsigned valid;		/* IMGFS_SET_*; a field not named stays as it is */
	mode_t mode;		/* permission bits only */
	uid_t uid;
	gid_t gid;
	uint64_t size;
	struct timespec atime, mtime, ctime;
};

/* rename's @flags: the values of renameat2(2). */
#define IMGFS_RENAME_NOREPLACE	(1U << 0)
#define IMGFS_RENAME_EXCHANGE	(1U << 1)

/*
 * Changes, for a read-write backend; a read-only one has none (NULL).
 * Names are @len bytes, no '/' and not NUL-terminated.  Each op updates
 * ctime and mtime where the kernel's own filesystems do, and a change is
 * durable only after fsync or syncfs.
 */
struct imgfs_write_ops {
	int (*create)(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		      const struct imgfs_new_inode *ni, uint64_t *ino);
	/* FIFOs, sockets, character and block devices. */
	int (*mknod)(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		     const struct imgfs_new_inode *ni, uint64_t *ino);
	int (*mkdir)(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		     const struct imgfs_new_inode *ni, uint64_t *ino);
	/* @target is @target_len bytes. */
	int (*symlink)(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		       const char *target, size_t target_len, const struct imgfs_new_inode *ni,
		       uint64_t *ino);
	int (*link)(struct imgfs_fs *fs, uint64_t ino, uint64_t dir, const char *name,
		    size_t len);
	/*
	 * Remove a name; *@ino is the inode it named.  An inode left with no
	 * links stays (on the orphan list) until ->evict.
	 */
	int (*unlink)(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		      uint64_t *ino);
	int (*rmdir)(struct imgfs_fs *fs, uint64_t dir, const char *name, size_t len,
		     uint64_t *ino);
	/*
	 * Move a name, or swap two (IMGFS_RENAME_EXCHANGE); directories
	 * across parents get their ".." and link counts.  *@replaced is the
	 * inode a replaced name named, or 0.
	 */
	int (*rename)(struct imgfs_fs *fs, uint64_t olddir, const char *oldname, size_t oldlen,
		      uint64_t newdir, const char *newname, size_t newlen, unsigned flags,
		      uint64_t *replaced);
	/* Apply @sa; a size change maps, frees and zeroes as truncate(2) does. */
	int (*setattr)(struct imgfs_fs *fs, uint64_t ino, const struct imgfs_setattr *sa);
	/* @flags: XATTR_CREATE, XATTR_REPLACE or 0. */
	int (*setxattr)(struct imgfs_fs *fs, uint64_t ino, const char *name, const void *value,
			size_t size, int flags);
	int (*removexattr)(struct imgfs_fs *fs, uint64_t ino, const char *name);
	/* @mode: 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE. */
	int (*fallocate)(struct imgfs_fs *fs, uint64_t ino, int mode, uint64_t pos,
			 uint64_t len);
	int (*fsync)(struct imgfs_fs *fs, uint64_t ino, bool datasync);
	int (*syncfs)(struct imgfs_fs *fs);
	/* No reference to @ino is left: free it if it has no links either. */
	int (*evict)(struct imgfs_fs *fs, uint64_t ino);
	/*
	 * @ino was read (READ of a file, READDIR of a directory): set its
	 * atime to now if imgfs_atime_due() says so under @policy, as the
	 * kernel's touch_atime.  One inode read, and a write only when the
	 * atime changes.  Nothing is written, and 0 returned, once writes
	 * are stopped: as the kernel, a read never fails for its atime.
	 */
	int (*touch_atime)(struct imgfs_fs *fs, uint64_t ino, enum imgfs_atime policy);
};

/*
 * The time an access sets atime to: the coarse clock (one tick of the
 * kernel's timer), as the kernel's, so that a run of reads within one
 * tick writes the atime once.
 */
void imgfs_atime_now(struct timespec *now);

/*
 * Whether an access at @now (imgfs_atime_now) updates an atime under
 * @policy, as the kernel's atime_needs_update() and
 * relatime_need_update(): never with noatime, nor when the atime is @now
 * already; with strictatime always; with relatime only when atime is not
 * after mtime or ctime, or is more than a day old.
 */
bool imgfs_atime_due(enum imgfs_atime policy, const struct timespec *atime,
		     const struct timespec *mtime, const struct timespec *ctime,
		     const struct timespec *now);

struct imgfs_fs {
	const struct imgfs_fs_ops *ops;
	const struct imgfs_iomap_ops *iomap_ops;
	const struct imgfs_write_ops *write_ops;	/* NULL: read-only */
	struct imgfs_image *img;	/* borrowed: the caller closes it */
	uint64_t root_ino;
	uint32_t block_size;
	uint64_t max_file_size;		/* largest offset a file can map */
	/*
	 * Set once a read-write mount meets corruption: from then on every
	 * change is refused with EROFS, as the kernel's errors=remount-ro,
	 * and the backend marks the image as needing a check at unmount.
	 */
	atomic_bool writes_stopped;
};

/*
 * A read-write mount met corruption (an op returned -EUCLEAN): stop
 * writing, with one log line the first time.
 */
void imgfs_fs_stop_writes(struct imgfs_fs *fs);

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
