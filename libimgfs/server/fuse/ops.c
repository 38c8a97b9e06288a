/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE low-level operations.  Each do_* function returns 0 or -errno and
 * the op_* wrappers turn that into the reply, so every request is
 * answered exactly once.
 *
 * Node ids are the filesystem's own inode numbers, with the root moved to
 * FUSE_ROOT_ID.  Nothing under a read-only mount changes, so there is no
 * per-node state there and FORGET has nothing to release; a read-write
 * mount counts lookups (nodes.c) to free inodes unlinked while in use.
 * Directory handles and READDIR live in dir.c, entry and attribute
 * replies in attr.c, the data of READ in read.c, changes in write.c.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "fuse/attr.h"
#include "fuse/conn.h"
#include "fuse/dir.h"
#include "fuse/ops.h"
#include "fuse/push.h"
#include "fuse/read.h"
#include "fuse/write.h"
#include "iomap.h"

static struct imgfs_fuse *fuse_of(fuse_req_t req)
{
	return imgfs_fuse_of(req);
}

/*
 * A read-write mount.  This server is the only writer, so the kernel's
 * caches stay valid as they do read-only: long timeouts, the page cache
 * kept across opens (no OPEN, below), AUTO_INVAL_DATA off.  Changes made
 * through the mount update or drop what the kernel cached of them.
 *
 * - No ATOMIC_O_TRUNC: with OPEN answered ENOSYS the kernel would take
 *   the truncation as done by an OPEN it never sent.  Without it, the
 *   kernel truncates with a SETATTR of the size.
 * - No HANDLE_KILLPRIV: the kernel clears setuid/setgid itself on write,
 *   truncate and chown, with a SETATTR of the mode (libfuse 3.14 does not
 *   tell a WRITE handler that it should).
 * - The writeback cache, unless --no-writeback-cache (conn.h): writes
 *   are gathered in the page cache and reach us at writeback; the kernel
 *   then keeps the size and mtime, and sends them in SETATTR.  Measured
 *   (2 cores, busy): 256 MiB in 4 KiB writes + fsync 2.8-4.9 s with it,
 *   7.0-9.3 s without; in 1 MiB writes and an untar of 9k files, the same
 *   within noise.  Sizes and mtimes came out right either way.
 */
static void init_rw(struct imgfs_fuse *f, struct fuse_conn_info *conn)
{
	conn->want &= ~(unsigned)(FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_HANDLE_KILLPRIV);
	/*
	 * The mode of a new inode comes unmasked, with the creator's umask
	 * beside it (fuse_ctx): as ext4, the backend applies the umask only
	 * when the parent has no default ACL, and otherwise the ACL masks
	 * the mode instead.  Without it FUSE would apply the umask itself
	 * even under a default ACL.
	 */
	conn->want |= conn->capable & FUSE_CAP_DONT_MASK;
	if (f->writeback_cache && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct imgfs_fuse *f = userdata;
	unsigned wanted = FUSE_CAP_ASYNC_READ | FUSE_CAP_READDIRPLUS |
			  FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_CACHE_SYMLINKS |
			  FUSE_CAP_EXPORT_SUPPORT | FUSE_CAP_POSIX_ACL;

	conn->want |= conn->capable & wanted;
	/*
	 * No splice: when a pipe cannot grow to a reply's size, libfuse opens
	 * /proc/sys/fs/pipe-max-size, and the sandbox kills any open.  An
	 * unprivileged server meets that case whenever its user's pipe
	 * quota runs low.  Replies are copied from a buffer instead.
	 */
	conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
				  FUSE_CAP_SPLICE_READ);
	/*
	 * Always READDIRPLUS: `ls -l` of a big directory then needs no
	 * LOOKUP per name.  Nothing changes under a read-only mount, so the
	 * kernel must not drop cached pages when it sees attributes again.
	 */
	conn->want &= ~(unsigned)(FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_AUTO_INVAL_DATA);
	/*
	 * OPEN is answered ENOSYS (op_open): the kernel then opens files
	 * without asking us, keeps their page cache (FOPEN_KEEP_CACHE is its
	 * no-open default) and sends no RELEASE, two round trips fewer per
	 * small file.  The kernel itself refuses writes on a read-only mount.
	 * A read-write mount keeps it so where it keeps no atimes (noatime):
	 * its writes need no handle either.  Where it does, OPEN is answered
	 * (conn.h: imgfs_fuse_atime_pending).
	 *
	 * POSIX_ACL: the kernel enforces the image's ACLs as ext4 would
	 * (with default_permissions) and caches them, including their
	 * absence, so `ls -l` asks once per inode rather than every time.
	 */
	conn->max_readahead = conn->capable ? UINT_MAX : 0;
	if (imgfs_fuse_rw(f))
		init_rw(f, conn);
	/* The session's on_init runs once the reply is out (kiomap.c): iomap is settled then. */
}

/*
 * The session ends (unmount): the references the kernel still held are
 * let go, so inodes unlinked while open are freed before the backend
 * closes.  imgfs_fuse_session_serve() does it too, as the server closes
 * the backend before it destroys the session (and forgets it first, so
 * this finds no backend then).
 */
static void op_destroy(void *userdata)
{
	struct imgfs_fuse *f = userdata;

	if (imgfs_fuse_rw(f))
		imgfs_nodes_evict_all(f);
}

static int do_lookup(struct imgfs_fuse *f, fuse_ino_t parent, const char *name,
		     struct fuse_entry_param *e)
{
	size_t len = strlen(name);
	uint64_t ino;
	int r;

	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	r = f->fs->ops->lookup(f->fs, node_to_ino(f->fs, parent), name, len, &ino);
	if (r < 0)
		return r;
	/*
	 * A name that leads back to the root (a corrupt entry; ".." of a
	 * child of the root is asked only through export operations) would
	 * close a loop.  The kernel's own ext4 and XFS give ELOOP there, as
	 * the VFS finds the root's dentry in use; FUSE would turn the root's
	 * node id into EIO, so the answer is given here.
	 */
	if (ino == f->fs->root_ino && strcmp(name, ".."))
		return -ELOOP;
	return imgfs_fuse_entry(f, ino, e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct imgfs_fuse *f = fuse_of(req);
	struct fuse_entry_param e;
	int r = do_lookup(f, parent, name, &e);

	if (r == -ENOENT) {
		/* A negative entry, cached as long as positive ones. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = f->timeout;
		imgfs_reply_entry(req, f, &e);
	} else if (r < 0) {
		imgfs_reply_err(req, r);
	} else {
		imgfs_reply_entry(req, f, &e);
	}
}

static void op_forget(fuse_req_t req, fuse_ino_t node, uint64_t nlookup)
{
	imgfs_nodes_forget(fuse_of(req), node, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct imgfs_fuse *f = fuse_of(req);

	for (size_t i = 0; i < count; i++)
		imgfs_nodes_forget(f, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	struct imgfs_fuse *f = fuse_of(req);
	struct stat st;
	int r = f->fs->ops->getattr(f->fs, node_to_ino(f->fs, node), &st);

	if (r < 0) {
		imgfs_reply_err(req, r);
		return;
	}
	imgfs_reply_attr(req, f, &st);
}

static void op_readlink(fuse_req_t req, fuse_ino_t node)
{
	struct imgfs_fuse *f = fuse_of(req);
	char target[PATH_MAX + 1];
	size_t len = 0;
	int r = f->fs->ops->readlink(f->fs, node_to_ino(f->fs, node), target, PATH_MAX, &len);

	if (r < 0) {
		imgfs_reply_err(req, r);
		return;
	}
	target[MIN(len, (size_t)PATH_MAX)] = '\0';
	fuse_reply_readlink(req, target);
}

/*
 * ENOSYS makes the kernel stop sending OPEN (and RELEASE) for good and
 * open files itself with FOPEN_KEEP_CACHE.  libfuse would answer a
 * missing handler with a successful open that drops the page cache.
 * Under fuse-iomap an open is when a file's mappings go up to the
 * kernel, so there OPEN is answered, keeping the cache all the same
 * (the kernel then reads the device itself: no READ, no atime).
 * A read-write mount that keeps atimes answers it too, and drops the
 * cache when the file's atime is due, so that its next read reaches
 * op_read (conn.h).
 */
static void op_open(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	struct imgfs_fuse *f = fuse_of(req);

	if (imgfs_kiomap_active(&f->kiomap)) {
		imgfs_kiomap_open(&f->kiomap, node);
		fi->keep_cache = 1;
	} else if (imgfs_fuse_atime_opens(f)) {
		fi->fh = 0;
		fi->keep_cache = (fi->flags & O_ACCMODE) == O_WRONLY ||
				 !imgfs_fuse_atime_pending(f, node, false);
	} else {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct imgfs_fuse *f = fuse_of(req);
	struct imgfs_fs *fs = f->fs;
	_cleanup_free_ struct fuse_bufvec *bv = NULL;
	_cleanup_free_ void *mem = NULL;
	uint64_t isize;
	int r;

	r = off < 0 ? -EINVAL : imgfs_fuse_plan_read(fs, node_to_ino(fs, node), (uint64_t)off,
						     size, &bv, &mem, &isize);
	if (r < 0) {
		imgfs_reply_err(req, r);
		return;
	}
	/* Before the reply: the kernel asks for the attributes again once it has it. */
	imgfs_fuse_touch_atime(f, node, false);
	if (bv->count == 0) {
		fuse_reply_buf(req, NULL, 0);	/* at or past EOF */
		return;
	}
	fuse_reply_data(req, bv, FUSE_BUF_SPLICE_MOVE);
	/*
	 * Under kernel iomap the kernel reads ahead from the device itself.
	 * On a read-write mount a store could land over pages the kernel
	 * holds dirty (writeback cache) or race a write: nothing is pushed.
	 */
	if (imgfs_kiomap_active(&f->kiomap) || imgfs_fuse_rw(f))
		return;
	if (off == 0 && isize <= size)
		imgfs_push_after_read(f, node);
	else
		imgfs_push_stream(f, node, (uint64_t)off, size, isize);
}

static void op_lseek(fuse_req_t req, fuse_ino_t node, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct imgfs_fs *fs = fuse_of(req)->fs;
	uint64_t ino = node_to_ino(fs, node), isize, result;
	int r;

	if (off < 0 || (whence != SEEK_DATA && whence != SEEK_HOLE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = imgfs_regular_file_size(fs, ino, &isize);
	if (r == 0)
		r = imgfs_iomap_seek(fs, ino, isize, (uint64_t)off, whence == SEEK_DATA, &result);
	if (r < 0)
		imgfs_reply_err(req, r);
	else
		fuse_reply_lseek(req, (off_t)result);
}

static void op_statfs(fuse_req_t req, fuse_ino_t node)
{
	struct imgfs_fuse *f = fuse_of(req);
	struct statvfs st = { 0 };
	int r = f->fs->ops->statfs(f->fs, &st);

	if (r < 0)
		imgfs_reply_err(req, r);
	else
		fuse_reply_statfs(req, &st);
}

/*
 * getxattr (@name) and listxattr (@name NULL) share the size-probe
 * protocol of the syscalls: @size 0 asks only for the length.
 */
static void reply_xattr(fuse_req_t req, fuse_ino_t node, const char *name, size_t size)
{
	struct imgfs_fs *fs = fuse_of(req)->fs;
	_cleanup_free_ char *buf = size ? malloc(size) : NULL;
	uint64_t ino = node_to_ino(fs, node);
	size_t len = 0;
	int r;

	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = name ? fs->ops->getxattr(fs, ino, name, buf, size, &len) :
		   fs->ops->listxattr(fs, ino, buf, size, &len);
	if (r < 0)
		imgfs_reply_err(req, r);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, buf, len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t node, const char *name, size_t size)
{
	reply_xattr(req, node, name, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t node, size_t size)
{
	reply_xattr(req, node, NULL, size);
}

/*
 * One table for both kinds of mount: the session is made before the
 * backend is opened (the sandbox comes in between), so the ops that
 * change anything answer EROFS themselves on a read-only one (write.c).
 * FLUSH and RELEASE are left to libfuse: ENOSYS to FLUSH makes the kernel
 * stop sending it (a close has nothing to wait for here: the data is in
 * the image, and durability is fsync's), and RELEASE of a handle with no
 * state is answered 0.
 */
const struct fuse_lowlevel_ops imgfs_fuse_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.open = op_open,
	.read = op_read,
	.lseek = op_lseek,
	.opendir = imgfs_op_opendir,
	.readdir = imgfs_op_readdir,
	.readdirplus = imgfs_op_readdirplus,
	.releasedir = imgfs_op_releasedir,
	.statfs = op_statfs,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.create = imgfs_op_create,
	.mknod = imgfs_op_mknod,
	.mkdir = imgfs_op_mkdir,
	.symlink = imgfs_op_symlink,
	.link = imgfs_op_link,
	.unlink = imgfs_op_unlink,
	.rmdir = imgfs_op_rmdir,
	.rename = imgfs_op_rename,
	.setattr = imgfs_op_setattr,
	.write = imgfs_op_write,
	.fallocate = imgfs_op_fallocate,
	.fsync = imgfs_op_fsync,
	.fsyncdir = imgfs_op_fsyncdir,
	.setxattr = imgfs_op_setxattr,
	.removexattr = imgfs_op_removexattr,
};
