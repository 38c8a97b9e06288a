/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE low-level operations that change the filesystem, for read-write
 * mounts.  As in ops.c, each do_* returns 0 or -errno and its op_*
 * answers exactly once.
 *
 * On a read-only mount (no write ops) every one is EROFS, and so is it
 * once corruption stopped writes (conn.h).  A backend op that is not
 * written yet is EOPNOTSUPP, never ENOSYS: the kernel takes ENOSYS as
 * "never again" for the whole mount, and for FSYNC it would then report
 * success without asking.
 *
 * New inodes belong to the caller (fuse_req_ctx).  Their mode comes
 * without the umask applied (FUSE_CAP_DONT_MASK, ops.c), and the backend
 * applies the caller's umask or the parent's default ACL, as ext4 does.
 * Were the capability refused, the kernel would have masked the mode
 * already, and masking again changes nothing.  Names an
 * operation removes or replaces are handed to nodes.c, which frees an
 * inode left without links once the kernel holds no reference to it.
 * Size changes and fallocate hold the engine's lock of the inode, so they
 * never fall between a write's mapping and its ioend (iomap.h).
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>

#include "fuse/attr.h"
#include "fuse/conn.h"
#include "fuse/nodes.h"
#include "fuse/write.h"
#include "iomap.h"

/* The backend's write op @name, or NULL when it has none (or no write ops). */
#define WOP(fs, name) ((fs)->write_ops ? (fs)->write_ops->name : NULL)

/* May a change be made with backend op @op? */
static int may_change(const struct imgfs_fs *fs, const void *op)
{
	if (!fs->write_ops || atomic_load(&fs->writes_stopped))
		return -EROFS;
	return op ? 0 : -EOPNOTSUPP;
}

static int check_name(const char *name)
{
	return strlen(name) > NAME_MAX ? -ENAMETOOLONG : 0;
}

/* Make @name in @parent: a file, directory, symlink (to @target) or special file. */
static int do_make(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		   dev_t rdev, const char *target, struct fuse_entry_param *e)
{
	struct imgfs_fuse *f = imgfs_fuse_of(req);
	struct imgfs_fs *fs = f->fs;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct imgfs_new_inode ni = {
		.mode = mode, .rdev = rdev, .uid = ctx->uid, .gid = ctx->gid,
		.umask = ctx->umask,
	};
	uint64_t dir = node_to_ino(fs, parent), ino = 0;
	size_t len = strlen(name);
	int r = check_name(name);

	if (r < 0)
		return r;
	switch (mode & S_IFMT) {
	case S_IFREG:
		r = may_change(fs, WOP(fs, create));
		if (r == 0)
			r = fs->write_ops->create(fs, dir, name, len, &ni, &ino);
		break;
	case S_IFDIR:
		r = may_change(fs, WOP(fs, mkdir));
		if (r == 0)
			r = fs->write_ops->mkdir(fs, dir, name, len, &ni, &ino);
		break;
	case S_IFLNK:
		r = strlen(target) > PATH_MAX - 1 ? -ENAMETOOLONG : may_change(fs, WOP(fs, symlink));
		if (r == 0)
			r = fs->write_ops->symlink(fs, dir, name, len, target, strlen(target), &ni,
						   &ino);
		break;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		r = may_change(fs, WOP(fs, mknod));
		if (r == 0)
			r = fs->write_ops->mknod(fs, dir, name, len, &ni, &ino);
		break;
	default:
		return -EINVAL;
	}
	if (r < 0)
		return r;
	/* The name exists now; if its attributes cannot be read, a LOOKUP will say why. */
	return imgfs_fuse_entry(f, ino, e);
}

static void reply_made(fuse_req_t req, int r, const struct fuse_entry_param *e)
{
	if (r < 0)
		imgfs_reply_err(req, r);
	else
		imgfs_reply_entry(req, imgfs_fuse_of(req), e);
}

void imgfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		    dev_t rdev)
{
	struct fuse_entry_param e;

	reply_made(req, do_make(req, parent, name, mode, rdev, NULL, &e), &e);
}

void imgfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fuse_entry_param e;

	reply_made(req, do_make(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL, &e), &e);
}

void imgfs_op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	reply_made(req, do_make(req, parent, name, S_IFLNK | 0777, 0, target, &e), &e);
}

/*
 * CREATE opens what it made.  The kernel never sends OPEN (ops.c answers
 * ENOSYS), but a file it made through CREATE gets this handle: no state
 * behind it, the page cache kept as for every other open.
 */
void imgfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi)
{
	struct imgfs_fuse *f = imgfs_fuse_of(req);
	struct fuse_entry_param e;
	int r = do_make(req, parent, name, S_IFREG | (mode & 07777), 0, NULL, &e);

	if (r == 0)
		r = imgfs_nodes_ref(f, e.ino);
	if (r < 0) {
		imgfs_reply_err(req, r);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = 1;
	if (fuse_reply_create(req, &e, fi) != 0)
		imgfs_nodes_forget(f, e.ino, 1);
}

static int do_link(fuse_req_t req, fuse_ino_t node, fuse_ino_t newparent, const char *newname,
		   struct fuse_entry_param *e)
{
	struct imgfs_fuse *f = imgfs_fuse_of(req);
	struct imgfs_fs *fs = f->fs;
	uint64_t ino = node_to_ino(fs, node);
	int r = check_name(newname);

	if (r == 0)
		r = may_change(fs, WOP(fs, link));
	if (r == 0)
		r = fs->write_ops->link(fs, ino, node_to_ino(fs, newparent), newname,
					strlen(newname));
	return r < 0 ? r : imgfs_fuse_entry(f, ino, e);
}

void imgfs_op_link(fuse_req_t req, fuse_ino_t node, fuse_ino_t newparent, const char *newname)
{
	struct fuse_entry_param e;

	reply_made(req, do_link(req, node, newparent, newname, &e), &e);
}

/* unlink (@dir false) or rmdir. */
static int do_remove(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	struct imgfs_fuse *f = imgfs_fuse_of(req);
	struct imgfs_fs *fs = f->fs;
	uint64_t ino = 0;
	int r = check_name(name);

	if (r == 0)
		r = may_change(fs, dir ? (const void *)WOP(fs, rmdir) : (const void *)WOP(fs, unlink));
	if (r < 0)
		return r;
	if (dir)
		r = fs->write_ops->rmdir(fs, node_to_ino(fs, parent), name, strlen(name), &ino);
	else
		r = fs->write_ops->unlink(fs, node_to_ino(fs, parent), name, strlen(name), &ino);
	if (r == 0)
		imgfs_nodes_unlinked(f, ino);
	return r;
}

void imgfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int r = do_remove(req, parent, name, false);

	if (r < 0)
		imgfs_reply_err(req, r);
	else
		fuse_reply_err(req, 0);
}

void imgfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int r = do_remove(req, parent, name, true);

	if (r < 0)
		imgfs_reply_err(req, r);
	else
		fuse_reply_err(req, 0);
}

static int do_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned flags)
{
	struct imgfs_fuse *f = imgfs_fuse_of(req);
	struct imgfs_fs *fs = f->fs;
	unsigned bflags = 0;
	uint64_t replaced = 0;
	int r;

	/* A whiteout is overlayfs's, which does not stack on FUSE's upper layers. */
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	bflags |= flags & RENAME_NOREPLACE ? IMGFS_RENAME_NOREPLACE : 0;
	bflags |= flags & RENAME_EXCHANGE ? IMGFS_RENAME_EXCHANGE : 0;
	r = check_name(name);
	if (r == 0)
		r = check_name(newname);
	if (r == 0)
		r = may_change(fs, WOP(fs, rename));
	if (r < 0)
		return r;
	r = fs->write_ops->rename(fs, node_to_ino(fs, parent), name, strlen(name),
				  node_to_ino(fs, newparent), newname, strlen(newname), bflags,
				  &replaced);
	if (r == 0 && !(flags & RENAME_EXCHANGE))
		imgfs_nodes_unlinked(f, replaced);
	return r;
}

void imgfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags)
{
	int r = do_rename(req, parent, name, newparent, newname, flags);

	if (r < 0)
		imgfs_reply_err(req, r);
	else
		fuse_reply_err(req, 0);
}

/* SETATTR's fields in the backend's terms; -EINVAL for what it cannot be. */
static int to_setattr(const struct stat *attr, int to_set, const struct stat *now,
		      struct imgfs_setattr *sa)
{
	*sa = (struct imgfs_setattr){ 0 };
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa->valid |= IMGFS_SET_MODE;
		sa->mode = attr->st_mode & 07777;
	}
	/*
	 * Only with FUSE_CAP_HANDLE_KILLPRIV_V2, which ops.c does not take:
	 * the kernel then clears the bits itself with a MODE.  Kept so the
	 * flags mean what they say if it is ever taken.
	 */
	if ((to_set & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID)) &&
	    !(sa->valid & IMGFS_SET_MODE) && now) {
		mode_t mode = now->st_mode & 07777;

		if (to_set & FUSE_SET_ATTR_KILL_SUID)
			mode &= (mode_t)~S_ISUID;
		if ((to_set & FUSE_SET_ATTR_KILL_SGID) && (mode & S_IXGRP))
			mode &= (mode_t)~S_ISGID;
		if (mode != (now->st_mode & 07777)) {
			sa->valid |= IMGFS_SET_MODE;
			sa->mode = mode;
		}
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa->valid |= IMGFS_SET_UID;
		sa->uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa->valid |= IMGFS_SET_GID;
		sa->gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (attr->st_size < 0)
			return -EINVAL;
		sa->valid |= IMGFS_SET_SIZE;
		sa->size = (uint64_t)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		sa->valid |= IMGFS_SET_ATIME | IMGFS_SET_ATIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		sa->valid |= IMGFS_SET_ATIME;
		sa->atime = attr->st_atim;
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		sa->valid |= IMGFS_SET_MTIME | IMGFS_SET_MTIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		sa->valid |= IMGFS_SET_MTIME;
		sa->mtime = attr->st_mtim;
	}
	if (to_set & FUSE_SET_ATTR_CTIME) {
		sa->valid |= IMGFS_SET_CTIME;
		sa->ctime = attr->st_ctim;
	}
	return 0;
}

static int do_setattr(struct imgfs_fuse *f, fuse_ino_t node, const struct stat *attr,
		      int to_set, struct stat *st)
{
	struct imgfs_fs *fs = f->fs;
	uint64_t ino = node_to_ino(fs, node);
	struct imgfs_setattr sa;
	int r = may_change(fs, WOP(fs, setattr));

	if (r < 0)
		return r;
	if (to_set & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID)) {
		r = fs->ops->getattr(fs, ino, st);
		if (r < 0)
			return r;
	}
	r = to_setattr(attr, to_set, st, &sa);
	if (r < 0)
		return r;
	if (sa.valid) {
		/* A size change frees and zeroes blocks a write in flight may hold. */
		if (sa.valid & IMGFS_SET_SIZE)
			imgfs_iomap_lock_inode(ino);
		r = fs->write_ops->setattr(fs, ino, &sa);
		if (sa.valid & IMGFS_SET_SIZE)
			imgfs_iomap_unlock_inode(ino);
		if (r < 0)
			return r;
	}
	return fs->ops->getattr(fs, ino, st);
}

/* ftruncate's @fi carries nothing of ours: no OPEN, no handle state. */
void imgfs_op_setattr(fuse_req_t req, fuse_ino_t node, struct stat *attr, int to_set,
		      struct fuse_file_info *fi)
{
	struct imgfs_fuse *f = imgfs_fuse_of(req);
	struct stat st = { 0 };
	int r = do_setattr(f, node, attr, to_set, &st);

	if (r < 0)
		imgfs_reply_err(req, r);
	else
		imgfs_reply_attr(req, f, &st);
}

/*
 * The data goes through the mapping engine.  Setuid and setgid bits are
 * cleared by the kernel with a SETATTR before the write, as it does for
 * any filesystem, because ops.c does not take FUSE_CAP_HANDLE_KILLPRIV
 * (libfuse 3.14 does not pass the write's KILL_SUIDGID flag on).
 */
void imgfs_op_write(fuse_req_t req, fuse_ino_t node, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct imgfs_fs *fs = imgfs_fuse_of(req)->fs;
	uint64_t newsize = 0;
	ssize_t n;

	n = off < 0 ? -EINVAL : imgfs_iomap_write(fs, node_to_ino(fs, node), (uint64_t)off, buf,
						 size, 0, &newsize);
	if (n < 0)
		imgfs_reply_err(req, (int)n);
	else
		fuse_reply_write(req, (size_t)n);
}

void imgfs_op_fallocate(fuse_req_t req, fuse_ino_t node, int mode, off_t off, off_t len,
			struct fuse_file_info *fi)
{
	struct imgfs_fs *fs = imgfs_fuse_of(req)->fs;
	uint64_t ino = node_to_ino(fs, node);
	int r = may_change(fs, WOP(fs, fallocate));

	/* What fs.h promises the backend: ext4's modes, less collapse/insert range. */
	if (r == 0 && mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		r = -EOPNOTSUPP;
	if (r == 0 && (off < 0 || len <= 0))
		r = -EINVAL;
	if (r == 0) {
		imgfs_iomap_lock_inode(ino);
		r = fs->write_ops->fallocate(fs, ino, mode, (uint64_t)off, (uint64_t)len);
		imgfs_iomap_unlock_inode(ino);
	}
	imgfs_reply_err(req, r);
}

/* fsync and fdatasync of files and directories: the backend makes them durable. */
static void do_fsync(fuse_req_t req, fuse_ino_t node, int datasync)
{
	struct imgfs_fs *fs = imgfs_fuse_of(req)->fs;
	int r = fs->write_ops ? 0 : -EROFS;

	/* Syncing what is there is allowed after writes stopped: it writes nothing new. */
	if (r == 0)
		r = fs->write_ops->fsync ? fs->write_ops->fsync(fs, node_to_ino(fs, node), datasync)
					 : -EOPNOTSUPP;
	imgfs_reply_err(req, r);
}

void imgfs_op_fsync(fuse_req_t req, fuse_ino_t node, int datasync, struct fuse_file_info *fi)
{
	do_fsync(req, node, datasync);
}

void imgfs_op_fsyncdir(fuse_req_t req, fuse_ino_t node, int datasync,
		       struct fuse_file_info *fi)
{
	do_fsync(req, node, datasync);
}

void imgfs_op_setxattr(fuse_req_t req, fuse_ino_t node, const char *name, const char *value,
		       size_t size, int flags)
{
	struct imgfs_fs *fs = imgfs_fuse_of(req)->fs;
	int r = may_change(fs, WOP(fs, setxattr));

	if (r == 0)
		r = fs->write_ops->setxattr(fs, node_to_ino(fs, node), name, value, size, flags);
	imgfs_reply_err(req, r);
}

void imgfs_op_removexattr(fuse_req_t req, fuse_ino_t node, const char *name)
{
	struct imgfs_fs *fs = imgfs_fuse_of(req)->fs;
	int r = may_change(fs, WOP(fs, removexattr));

	if (r == 0)
		r = fs->write_ops->removexattr(fs, node_to_ino(fs, node), name);
	imgfs_reply_err(req, r);
}
