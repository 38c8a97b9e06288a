/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ext4 backend's write ops against the kernel's ext4.
 *
 * One table of operations runs twice from two copies of a fresh mkfs
 * image: through the backend (imgfs_write_ops) and, as root, through
 * syscalls on a loop mount of the kernel's ext4.  Every operation must
 * answer what the kernel answers (and what the table expects); then
 * e2fsck -fn must find both images clean, and the two trees, both mounted
 * by the kernel, must compare equal with treecmp (names, types, modes,
 * owners, links, rdev, targets, xattrs and ACLs as the kernel decodes
 * them).  Times the table sets are read back through the kernel.
 *
 * Also: a large directory (linear, then hash-indexed by e2fsck -D and
 * grown through the index) with half its names removed; an inline
 * directory growing out of its inode; the orphan list, both evicted and
 * left behind by a "crash" (a copy of the image taken while a file is
 * unlinked but open) for the next read-write open to clean up.
 *
 * Without root only the backend half runs (with e2fsck).
 */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "fs.h"
#include "image.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

static char tmpdir[] = "/tmp/unit-ext4-write.XXXXXX";
static bool as_root;
static const char *treecmp_path;

/* ---- the operations ---- */

enum opk {
	MKDIR, CREATE, MKNOD, SYMLINK, LINK, UNLINK, RMDIR, RENAME, CHMOD, CHOWN, UTIMES,
	SETX, REMX,
};

struct op {
	enum opk k;
	const char *a, *b;	/* paths; SYMLINK: b is the target; SETX/REMX: b is the name */
	unsigned mode;		/* MKDIR/CREATE/MKNOD/CHMOD; RENAME/SETX: flags */
	dev_t dev;
	uint32_t uid, gid;
	struct timespec at, mt;
	const void *val;
	size_t vlen;
	unsigned umask;		/* MKDIR/CREATE/MKNOD: the creator's */
	int want;		/* 0 or the errno expected */
};

/* POSIX ACLs in the VFS's xattr format: version 2, then (tag, perm, id) entries. */
static const unsigned char acl_access[] = {
	2, 0, 0, 0,
	0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,		/* user::rw- */
	0x02, 0, 4, 0, 0xe8, 0x03, 0, 0,		/* user:1000:r-- */
	0x04, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,		/* group::r-- */
	0x08, 0, 6, 0, 0xd0, 0x07, 0, 0,		/* group:2000:rw- */
	0x10, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,		/* mask::rw- */
	0x20, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,		/* other::r-- */
};
static const unsigned char acl_default[] = {
	2, 0, 0, 0,
	0x01, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,
	0x04, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,
	0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
};
/* A default ACL with more than the mode can say: named entries and a mask. */
static const unsigned char acl_default_x[] = {
	2, 0, 0, 0,
	0x01, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,		/* user::rwx */
	0x02, 0, 5, 0, 0xe8, 0x03, 0, 0,		/* user:1000:r-x */
	0x04, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,		/* group::rwx */
	0x08, 0, 6, 0, 0xd0, 0x07, 0, 0,		/* group:2000:rw- */
	0x10, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,		/* mask::rwx */
	0x20, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,		/* other::r-x */
};
static char big_value[700];
static char name255[256], name256[257];
static char target59[60], target60[61], target300[301];

#define TS(s, ns) { .tv_sec = (s), .tv_nsec = (ns) }

static const struct op ops[] = {
	{ MKDIR, "a", .mode = 0755 },
	{ MKDIR, "b", .mode = 0700 },
	{ MKDIR, "a/sub", .mode = 0755 },
	{ CREATE, "a/f", .mode = 0644 },
	{ CREATE, "a/f", .mode = 0644, .want = EEXIST },
	{ MKDIR, "a", .mode = 0755, .want = EEXIST },
	{ MKDIR, "nope/x", .mode = 0755, .want = ENOENT },
	{ CREATE, "a/f/x", .mode = 0644, .want = ENOTDIR },
	{ MKNOD, "p", .mode = S_IFIFO | 0600 },
	{ MKNOD, "s", .mode = S_IFSOCK | 0644 },
	{ MKNOD, "c", .mode = S_IFCHR | 0640, .dev = 0x0103 },	/* makedev(1, 3) */
	{ MKNOD, "bd", .mode = S_IFBLK | 0660 },		/* dev set at run time: 300:70000 */
	{ SYMLINK, "ls", "short/target" },
	{ SYMLINK, "l59", target59 },
	{ SYMLINK, "l60", target60 },
	{ SYMLINK, "l300", target300 },
	{ LINK, "a/f", "b/hl" },
	{ LINK, "a", "b/dirlink", .want = EPERM },
	{ LINK, "a/f", "ls", .want = EEXIST },
	{ CHOWN, "a/f", .uid = 1000, .gid = 1000 },
	{ CHMOD, "a/f", .mode = 04755 },
	{ CHOWN, "b", .uid = 1000, .gid = 2000 },
	{ CHMOD, "b", .mode = 02775 },
	{ CREATE, "b/g", .mode = 0644 },		/* group 2000, from b */
	{ MKDIR, "b/gd", .mode = 0755 },		/* group 2000 and setgid */
	{ UTIMES, "a/f", .at = TS(1234567890, 123456789), .mt = TS(2000000000, 999999999) },
	{ UTIMES, "c", .at = TS(-1000, 5), .mt = TS(5000000000LL, 1) },
	{ SETX, "a/f", "user.small", .val = "v1", .vlen = 2 },
	{ SETX, "a/f", "user.small", .val = "v2", .vlen = 2, .mode = XATTR_CREATE, .want = EEXIST },
	{ SETX, "a/f", "user.none", .val = "x", .vlen = 1, .mode = XATTR_REPLACE, .want = ENODATA },
	{ SETX, "a/f", "user.big", .val = big_value, .vlen = sizeof(big_value) },
	{ SETX, "a/f", "trusted.t", .val = "tt", .vlen = 2 },
	{ SETX, "a/f", "security.s", .val = "ss", .vlen = 2 },
	{ SETX, "a/f", "user.empty", .val = "", .vlen = 0 },
	{ SETX, "a/f", "system.posix_acl_access", .val = acl_access, .vlen = sizeof(acl_access) },
	{ SETX, "a", "system.posix_acl_default", .val = acl_default, .vlen = sizeof(acl_default) },
	{ SETX, "p", "user.big", .val = big_value, .vlen = sizeof(big_value), .want = EPERM },
	{ SETX, "p", "trusted.big", .val = big_value, .vlen = sizeof(big_value) },
	{ SETX, "s", "trusted.big", .val = big_value, .vlen = sizeof(big_value) },
	{ SETX, "p", "system.posix_acl_default", .val = acl_default, .vlen = sizeof(acl_default),
	  .want = EACCES },
	/* An ACL the mode says all of: stored as mode bits only. */
	{ SETX, "b/gd", "system.posix_acl_access", .val = acl_default, .vlen = sizeof(acl_default) },
	{ REMX, "a/f", "user.small" },
	{ REMX, "a/f", "user.small", .want = ENODATA },
	{ REMX, "s", "trusted.big" },
	{ RENAME, "a/f", "a/f2" },
	{ RENAME, "a/f2", "b/g" },			/* replaces a file */
	/* Directories across parents. */
	{ MKDIR, "x", .mode = 0755 },
	{ MKDIR, "y", .mode = 0755 },
	{ MKDIR, "x/a", .mode = 0755 },
	{ MKDIR, "y/b", .mode = 0711 },
	{ CREATE, "x/a/in-a", .mode = 0600 },
	{ MKDIR, "x/a/deeper", .mode = 0755 },
	{ CREATE, "y/b/in-b", .mode = 0600 },
	{ RENAME, "x/a", "y/b", .mode = RENAME_EXCHANGE },
	{ MKDIR, "x/m", .mode = 0755 },
	{ RENAME, "x/m", "y/m" },
	{ RENAME, "y", "y/m/z", .want = EINVAL },
	{ RENAME, "y", "y/b/deeper/z", .mode = RENAME_EXCHANGE, .want = ENOENT },
	{ RENAME, "y", "y/b/deeper", .mode = RENAME_EXCHANGE, .want = EINVAL },
	{ MKDIR, "y/e", .mode = 0755 },
	/* After the exchange, x/a is what y/b was and y/b what x/a was. */
	{ RENAME, "x/a", "y/e" },			/* replaces an empty directory */
	{ RENAME, "y/m", "y/e", .want = ENOTEMPTY },
	{ RENAME, "a/sub", "ls", .want = ENOTDIR },
	{ RENAME, "ls", "a/sub", .want = EISDIR },
	{ RENAME, "ls", "ls2", .mode = RENAME_NOREPLACE },
	{ RENAME, "ls2", "l59", .mode = RENAME_NOREPLACE, .want = EEXIST },
	{ RENAME, "c", "p", .mode = RENAME_EXCHANGE },
	{ RENAME, "y/m", "x/m2", .mode = RENAME_EXCHANGE, .want = ENOENT },
	{ RENAME, "nothere", "x/q", .want = ENOENT },
	{ RENAME, "y/e", "x/e" },			/* a directory with entries, across */
	{ RENAME, "x/e", "x/e" },
	{ MKDIR, name255, .mode = 0755 },
	{ MKDIR, name256, .mode = 0755, .want = ENAMETOOLONG },
	{ UNLINK, "a/sub", .want = EISDIR },
	{ RMDIR, "ls2", .want = ENOTDIR },
	{ RMDIR, "y", .want = ENOTEMPTY },
	{ RMDIR, "a/.", .want = EINVAL },
	{ RMDIR, "a/..", .want = ENOTEMPTY },
	{ UNLINK, "b/hl" },
	{ UNLINK, "b/hl", .want = ENOENT },
	{ RMDIR, "a/sub" },
	{ MKDIR, "y/b/deeper/d2", .mode = 0755 },
	{ RMDIR, "y/b/deeper/d2" },
	{ RMDIR, "y/b/deeper" },
	/*
	 * New inodes under a default ACL take it (posix_acl_create): the ACL,
	 * not the umask, masks their mode; directories keep the default too.
	 * Without one the umask applies.  Symlinks take neither.
	 */
	{ MKDIR, "acl", .mode = 0777, .umask = 022 },
	{ SETX, "acl", "system.posix_acl_default", .val = acl_default_x,
	  .vlen = sizeof(acl_default_x) },
	{ CREATE, "acl/f", .mode = 0666, .umask = 077 },
	{ CREATE, "acl/f2", .mode = 0640, .umask = 0 },
	{ CREATE, "acl/f3", .mode = 04755, .umask = 022 },
	{ MKDIR, "acl/d", .mode = 0777, .umask = 077 },
	{ MKDIR, "acl/d2", .mode = 01750, .umask = 0 },
	{ MKNOD, "acl/p", .mode = S_IFIFO | 0606, .umask = 027 },
	{ MKNOD, "acl/c", .mode = S_IFCHR | 0660, .dev = 0x0105, .umask = 022 },
	{ SYMLINK, "acl/l", "target" },
	{ CREATE, "acl/d/g", .mode = 0666, .umask = 077 },
	{ MKDIR, "acl/d/dd", .mode = 0700, .umask = 0 },
	/* A default ACL the mode could say (no mask): no access ACL is stored. */
	{ MKDIR, "acl/min", .mode = 0755, .umask = 0 },
	{ SETX, "acl/min", "system.posix_acl_default", .val = acl_default,
	  .vlen = sizeof(acl_default) },
	{ CREATE, "acl/min/f", .mode = 0666, .umask = 077 },
	{ MKDIR, "acl/min/d", .mode = 0777, .umask = 0777 },
	{ REMX, "acl/min", "system.posix_acl_default" },
	{ CREATE, "acl/min/g", .mode = 0666, .umask = 027 },
	/* chmod of an inode with an access ACL: the ACL follows (posix_acl_chmod). */
	{ CHMOD, "acl/f2", .mode = 0751 },
	{ CHMOD, "acl/d", .mode = 02705 },
	{ CREATE, "nacl", .mode = 0666, .umask = 027 },
	{ MKDIR, "nacl-d", .mode = 0777, .umask = 022 },
	{ MKNOD, "nacl-p", .mode = S_IFIFO | 0666, .umask = 0777 },
	/* An inline directory (where the feature is on) grows out of its inode. */
	{ MKDIR, "in", .mode = 0755 },
};

/* Names for the growing directory. */
#define INLINE_ENTRIES 24
/* Names in "big", grown from empty: indexed once its first block is full. */
#define GROWN_ENTRIES 5000

static void init_values(void)
{
	for (size_t i = 0; i < sizeof(big_value); i++)
		big_value[i] = (char)('a' + i % 26);
	memset(name255, 'n', 255);
	memset(name256, 'n', 256);
	memset(target59, 't', 59);
	memset(target60, 'u', 60);
	for (size_t i = 0; i < 300; i++)
		target300[i] = i % 10 == 9 ? '/' : (char)('a' + i % 26);
}

/* ---- through the backend ---- */

static int b_resolve(struct imgfs_fs *fs, const char *path, uint64_t *ino)
{
	uint64_t cur = fs->root_ino;

	while (*path) {
		const char *end = strchrnul(path, '/');
		int r = fs->ops->lookup(fs, cur, path, (size_t)(end - path), &cur);

		if (r < 0)
			return r;
		path = *end ? end + 1 : end;
	}
	*ino = cur;
	return 0;
}

/* The directory holding @path, and its last name. */
static int b_parent(struct imgfs_fs *fs, const char *path, uint64_t *dir, const char **name)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *head = NULL;

	if (!slash) {
		*dir = fs->root_ino;
		*name = path;
		return 0;
	}
	head = strndup(path, (size_t)(slash - path));
	*name = slash + 1;
	return b_resolve(fs, head, dir);
}

/* A name's last reference went: as FUSE's FORGET would. */
static void b_forget(struct imgfs_fs *fs, uint64_t ino)
{
	if (ino)
		fs->write_ops->evict(fs, ino);
}

static dev_t op_dev(const struct op *op)
{
	return S_ISBLK(op->mode) ? makedev(300, 70000) : op->dev;
}

static int run_backend(struct imgfs_fs *fs, const struct op *op)
{
	const struct imgfs_write_ops *w = fs->write_ops;
	struct imgfs_new_inode ni = { .mode = op->mode, .rdev = op_dev(op), .umask = op->umask };
	struct imgfs_setattr sa = { 0 };
	uint64_t dir, dir2, ino;
	const char *name, *name2;
	int r;

	if (op->k == LINK) {
		r = b_resolve(fs, op->a, &ino);
		if (r == 0)
			r = b_parent(fs, op->b, &dir, &name);
		return r < 0 ? r : w->link(fs, ino, dir, name, strlen(name));
	}
	r = b_parent(fs, op->a, &dir, &name);
	if (r < 0)
		return r;
	switch (op->k) {
	case MKDIR:
		ni.mode |= S_IFDIR;
		return w->mkdir(fs, dir, name, strlen(name), &ni, &ino);
	case CREATE:
		ni.mode |= S_IFREG;
		return w->create(fs, dir, name, strlen(name), &ni, &ino);
	case MKNOD:
		return w->mknod(fs, dir, name, strlen(name), &ni, &ino);
	case SYMLINK:
		return w->symlink(fs, dir, name, strlen(name), op->b, strlen(op->b), &ni, &ino);
	case UNLINK:
	case RMDIR:
		r = (op->k == UNLINK ? w->unlink : w->rmdir)(fs, dir, name, strlen(name), &ino);
		if (r == 0)
			b_forget(fs, ino);
		return r;
	case RENAME:
		r = b_parent(fs, op->b, &dir2, &name2);
		if (r < 0)
			return r;
		r = w->rename(fs, dir, name, strlen(name), dir2, name2, strlen(name2),
			      (op->mode & RENAME_NOREPLACE ? IMGFS_RENAME_NOREPLACE : 0) |
			      (op->mode & RENAME_EXCHANGE ? IMGFS_RENAME_EXCHANGE : 0), &ino);
		if (r == 0)
			b_forget(fs, ino);
		return r;
	default:
		break;
	}
	r = b_resolve(fs, op->a, &ino);
	if (r < 0)
		return r;
	switch (op->k) {
	case CHMOD:
		sa.valid = IMGFS_SET_MODE;
		sa.mode = op->mode;
		return w->setattr(fs, ino, &sa);
	case CHOWN:
		sa.valid = IMGFS_SET_UID | IMGFS_SET_GID;
		sa.uid = op->uid;
		sa.gid = op->gid;
		return w->setattr(fs, ino, &sa);
	case UTIMES:
		sa.valid = IMGFS_SET_ATIME | IMGFS_SET_MTIME;
		sa.atime = op->at;
		sa.mtime = op->mt;
		return w->setattr(fs, ino, &sa);
	case SETX:
		return w->setxattr(fs, ino, op->b, op->val, op->vlen, (int)op->mode);
	case REMX:
		return w->removexattr(fs, ino, op->b);
	default:
		abort();
	}
}

/* ---- through the kernel ---- */

static int run_kernel(const char *root, const struct op *op)
{
	_cleanup_free_ char *a = xasprintf("%s/%s", root, op->a);
	_cleanup_free_ char *b = op->b ? xasprintf("%s/%s", root, op->b) : NULL;
	struct timespec ts[2] = { op->at, op->mt };
	int r;

	umask(op->umask);
	switch (op->k) {
	case MKDIR: r = mkdir(a, op->mode); break;
	case CREATE: r = mknod(a, S_IFREG | op->mode, 0); break;
	case MKNOD: r = mknod(a, op->mode, op_dev(op)); break;
	case SYMLINK: r = symlink(op->b, a); break;
	case LINK: r = link(a, b); break;
	case UNLINK: r = unlink(a); break;
	case RMDIR: r = rmdir(a); break;
	case RENAME: r = renameat2(AT_FDCWD, a, AT_FDCWD, b, op->mode); break;
	case CHMOD: r = chmod(a, op->mode); break;
	case CHOWN: r = lchown(a, op->uid, op->gid); break;
	case UTIMES: r = utimensat(AT_FDCWD, a, ts, AT_SYMLINK_NOFOLLOW); break;
	case SETX: r = lsetxattr(a, op->b, op->val, op->vlen, (int)op->mode); break;
	case REMX: r = lremovexattr(a, op->b); break;
	default: abort();
	}
	r = r < 0 ? errno : 0;
	umask(0);
	return r;
}

static const char *op_name(enum opk k)
{
	static const char *const names[] = {
		"mkdir", "create", "mknod", "symlink", "link", "unlink", "rmdir", "rename",
		"chmod", "chown", "utimes", "setxattr", "removexattr",
	};
	return names[k];
}

/* ---- images ---- */

struct variant {
	const char *name;
	const char *mkfs;
	bool inline_data;
};

static const struct variant variants[] = {
	{ "4k", "mkfs.ext4 -q -F -b 4096" },
	{ "1k", "mkfs.ext4 -q -F -b 1024" },
	{ "inline", "mkfs.ext4 -q -F -O inline_data", true },
	{ "inline-1k", "mkfs.ext4 -q -F -b 1024 -O inline_data,^metadata_csum", true },
	{ "nocsum", "mkfs.ext4 -q -F -O ^metadata_csum" },
	{ "nojournal-32bit", "mkfs.ext4 -q -F -O ^has_journal,^64bit" },
	{ "noextent", "mkfs.ext4 -q -F -O ^extent,^flex_bg,^64bit" },
	{ "ext2-128", "mkfs.ext2 -q -F -I 128" },
};

static void close_rw(struct imgfs_fs *fs, struct imgfs_image *img)
{
	imgfs_fs_close(fs);
	imgfs_image_close(img);
}

/* e2fsck -fn; prints what it found when it is not clean. */
static bool fsck_clean(const char *img)
{
	_cleanup_free_ char *out = capture("e2fsck -fn %s 2>&1; echo \"exit $?\"", img);
	bool clean = strstr(out, "\nexit 0\n") != NULL;

	if (!clean)
		diag("%s", out);
	return clean;
}

/* ---- the parts of a run ---- */

static void run_table(const struct variant *v, struct imgfs_fs *fs, const char *kroot)
{
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		const struct op *op = &ops[i];
		int rb = -run_backend(fs, op);
		int rk = kroot ? run_kernel(kroot, op) : op->want;

		if (!ok(rb == op->want && rk == op->want, "%s: %s %.40s%s%.40s: %s", v->name,
			op_name(op->k), op->a, op->b ? " " : "", op->b ? op->b : "",
			op->want ? strerror(op->want) : "ok"))
			diag("  imgfs: %s, kernel: %s", rb ? strerror(rb) : "ok",
			     rk ? strerror(rk) : "ok");
	}
}

/* Entries the same on both sides: files in "in" (inline growth) and "big". */
static int many(struct imgfs_fs *fs, const char *kroot, const char *dir, const char *prefix,
		int from, int to, bool remove, int step)
{
	uint64_t d, ino;
	int fails = 0;

	if (b_resolve(fs, dir, &d) < 0)
		return -1;
	for (int i = from; i < to; i += step) {
		char name[64];
		struct imgfs_new_inode ni = { .mode = S_IFREG | 0644 };
		int r;

		snprintf(name, sizeof(name), "%s-%05d", prefix, i);
		if (remove) {
			r = fs->write_ops->unlink(fs, d, name, strlen(name), &ino);
			if (r == 0)
				b_forget(fs, ino);
		} else {
			r = fs->write_ops->create(fs, d, name, strlen(name), &ni, &ino);
		}
		fails += r < 0;
		if (kroot) {
			_cleanup_free_ char *p = xasprintf("%s/%s/%s", kroot, dir, name);

			fails += remove ? unlink(p) < 0 : mknod(p, S_IFREG | 0644, 0) < 0;
		}
	}
	return fails;
}

/* Every name @prefix-N, N in [0, @n), is there exactly when (N % 2) or not @halved. */
static int check_names(struct imgfs_fs *fs, const char *dir, const char *prefix, int n,
		       bool halved)
{
	uint64_t d, ino;
	int bad = 0;

	if (b_resolve(fs, dir, &d) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char name[64];
		int r;

		snprintf(name, sizeof(name), "%s-%05d", prefix, i);
		r = fs->ops->lookup(fs, d, name, strlen(name), &ino);
		bad += (!halved || i % 2) ? r != 0 : r != -ENOENT;
	}
	return bad;
}

/* An unlinked file still open: readable until evicted, then gone. */
static void orphan_evicted(const struct variant *v, struct imgfs_fs *fs)
{
	const struct imgfs_write_ops *w = fs->write_ops;
	struct imgfs_new_inode ni = { .mode = S_IFREG | 0600 };
	uint64_t ino, gone, found;
	struct stat st;
	int r1, r2, r3, r4;

	r1 = w->create(fs, fs->root_ino, "orphan", 6, &ni, &ino);
	r2 = w->unlink(fs, fs->root_ino, "orphan", 6, &gone);
	r3 = fs->ops->getattr(fs, ino, &st);
	r4 = fs->ops->lookup(fs, fs->root_ino, "orphan", 6, &found);
	ok(r1 == 0 && r2 == 0 && gone == ino && r3 == 0 && st.st_nlink == 0 && r4 == -ENOENT,
	   "%s: an unlinked open file still reads (nlink 0), its name is gone (%d %d %d %d)",
	   v->name, r1, r2, r3, r4);
	r1 = w->evict(fs, ino);
	r2 = fs->ops->getattr(fs, ino, &st);
	ok(r1 == 0 && r2 == -ENOENT, "%s: evicted, it is freed (%d %d)", v->name, r1, r2);
}

/* Times the table set, read back through the kernel. */
static void check_times(const struct variant *v, const char *mnt)
{
	_cleanup_free_ char *f = xasprintf("%s/b/g", mnt);
	_cleanup_free_ char *c = xasprintf("%s/p", mnt);	/* "c", exchanged with "p" */
	bool extra = !strstr(v->mkfs, "-I 128");
	struct stat st1, st2;

	if (lstat(f, &st1) < 0 || lstat(c, &st2) < 0) {
		ok(0, "%s: stat for times", v->name);
		return;
	}
	ok(st1.st_atim.tv_sec == 1234567890 && st1.st_mtim.tv_sec == 2000000000 &&
	   st1.st_atim.tv_nsec == (extra ? 123456789 : 0) &&
	   st1.st_mtim.tv_nsec == (extra ? 999999999 : 0),
	   "%s: atime/mtime with nanoseconds as set (%lld.%09ld %lld.%09ld)", v->name,
	   (long long)st1.st_atim.tv_sec, st1.st_atim.tv_nsec, (long long)st1.st_mtim.tv_sec,
	   st1.st_mtim.tv_nsec);
	/* Without the extra fields, times stop at 2038 as the kernel clamps them. */
	ok(st2.st_atim.tv_sec == -1000 &&
	   st2.st_mtim.tv_sec == (extra ? 5000000000LL : INT32_MAX),
	   "%s: times before 1970 and after 2038 (%lld %lld)", v->name,
	   (long long)st2.st_atim.tv_sec, (long long)st2.st_mtim.tv_sec);
}

static bool mount_ro(const char *img, const char *mnt)
{
	return run("mkdir -p %s && mount -o ro,loop %s %s", mnt, img, mnt) == 0;
}

/* check_names through the kernel: the odd names of big under @mnt are there, the even not. */
static int kernel_names(const char *mnt, const char *prefix, int n)
{
	int bad = 0;

	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/big/%s-%05d", mnt, prefix, i);
		struct stat st;

		bad += (i % 2) ? lstat(p, &st) != 0 : !(lstat(p, &st) < 0 && errno == ENOENT);
	}
	return bad;
}

/* What the table made under default ACLs and without one. */
#define ACL_INHERITED "acl acl/f acl/f2 acl/f3 acl/d acl/d2 acl/p acl/c acl/d/g acl/d/dd " \
		      "acl/min acl/min/f acl/min/d acl/min/g nacl nacl-d nacl-p"

static void compare_with_kernel(const struct variant *v, const char *img, const char *kimg)
{
	_cleanup_free_ char *m1 = xasprintf("%s/m-imgfs", tmpdir);
	_cleanup_free_ char *m2 = xasprintf("%s/m-kernel", tmpdir);
	_cleanup_free_ char *out = NULL, *acl1 = NULL, *acl2 = NULL;

	if (!ok(mount_ro(img, m1) && mount_ro(kimg, m2), "%s: both images mount", v->name)) {
		run("umount %s; umount %s", m1, m2);
		return;
	}
	/*
	 * Sizes and blocks of directories follow each driver's layout (and e2fsck -D
	 * rebuilt big on our side only); times are checked apart.
	 */
	out = capture("%s --ignore=size,dirsize,mtime,ctime %s %s 2>&1; echo \"exit $?\"",
		      treecmp_path, m1, m2);
	if (!ok(strstr(out, "\nexit 0\n") != NULL, "%s: treecmp with the kernel's tree", v->name))
		diag("%s", out);
	/* treecmp compared every xattr; these name the entries in words. */
	acl1 = capture("cd %s && getfacl -n -p a b/g b/gd x y p %s 2>&1", m1, ACL_INHERITED);
	acl2 = capture("cd %s && getfacl -n -p a b/g b/gd x y p %s 2>&1", m2, ACL_INHERITED);
	if (!ok(!strcmp(acl1, acl2) && strstr(acl1, "user:1000:r--"), "%s: getfacl the same",
		v->name))
		diag("imgfs:\n%s\nkernel:\n%s", acl1, acl2);
	check_times(v, m1);
	ok(kernel_names(m1, "grown-name", GROWN_ENTRIES) == 0 &&
	   kernel_names(m1, "indexed-name", 3000) == 0 &&
	   kernel_names(m2, "grown-name", GROWN_ENTRIES) == 0,
	   "%s: every name in big looks up through the kernel, the removed ones do not", v->name);
	run("umount %s; umount %s", m1, m2);
}

/*
 * "big", grown from empty by both drivers, is hash-indexed in both: the
 * kernel's through lsattr's I flag on its mount, ours by the inode's
 * INDEX_FL and an index debugfs can walk (synced first: debugfs reads the
 * image file).
 */
static void check_grown_index(const struct variant *v, struct imgfs_fs *fs, const char *img,
			      const char *kroot, const char *when)
{
	_cleanup_free_ char *flags = NULL, *htree = NULL, *kattr = NULL;
	unsigned long fl;

	if (fs->write_ops->syncfs(fs) < 0) {
		ok(0, "%s: syncfs", v->name);
		return;
	}
	flags = capture("debugfs -R 'stat big' %s 2>/dev/null | "
			"sed -n 's/.*Flags: \\(0x[0-9a-f]*\\).*/\\1/p'", img);
	htree = capture("debugfs -R 'htree big' %s 2>&1 | grep -E -c '^(Root node dump|Entry #)'",
			img);
	fl = strtoul(flags, NULL, 16);
	flags[strcspn(flags, "\n")] = '\0';
	if (kroot) {
		kattr = capture("lsattr -d %s/big 2>&1 | cut -d' ' -f1", kroot);
		kattr[strcspn(kattr, "\n")] = '\0';
	}
	ok((fl & 0x1000) && atoi(htree) > 2 && (!kattr || strchr(kattr, 'I')),
	   "%s: big is hash-indexed %s (imgfs flags %s, %d index lines; kernel lsattr %.30s)",
	   v->name, when, flags, atoi(htree), kattr ? kattr : "-");
	ok(fsck_clean(img), "%s: e2fsck -fn clean %s", v->name, when);
}

static void run_variant(const struct variant *v)
{
	_cleanup_free_ char *img = xasprintf("%s/%s.img", tmpdir, v->name);
	_cleanup_free_ char *kimg = xasprintf("%s/%s-kernel.img", tmpdir, v->name);
	_cleanup_free_ char *crash = xasprintf("%s/%s-crash.img", tmpdir, v->name);
	_cleanup_free_ char *kmnt = xasprintf("%s/k", tmpdir);
	_cleanup_free_ char *kbig = xasprintf("%s/big", kmnt);
	struct imgfs_image *image;
	struct imgfs_fs *fs;
	const char *kroot = NULL;
	uint64_t ino;
	int r;

	if (run("truncate -s 64M %s && %s %s", img, v->mkfs, img) ||
	    run("cp --sparse=always %s %s", img, kimg)) {
		ok(0, "%s: mkfs", v->name);
		return;
	}
	if (as_root && run("mkdir -p %s && mount -o loop %s %s", kmnt, kimg, kmnt) == 0)
		kroot = kmnt;
	if (test_open_ext4_rw(img, &image, &fs) < 0 || !fs->write_ops) {
		ok(0, "%s: read-write open", v->name);
		return;
	}

	run_table(v, fs, kroot);
	ok(many(fs, kroot, "in", "inline-grows", 0, INLINE_ENTRIES, false, 1) == 0 &&
	   check_names(fs, "in", "inline-grows", INLINE_ENTRIES, false) == 0,
	   "%s: a directory grows out of its inode", v->name);
	ok(fs->write_ops->mkdir(fs, fs->root_ino, "big", 3,
				&(struct imgfs_new_inode){ .mode = S_IFDIR | 0755 }, &ino) == 0 &&
	   (!kroot || mkdir(kbig, 0755) == 0), "%s: mkdir big", v->name);
	ok(many(fs, kroot, "big", "grown-name", 0, GROWN_ENTRIES, false, 1) == 0 &&
	   check_names(fs, "big", "grown-name", GROWN_ENTRIES, false) == 0,
	   "%s: %d names in a directory grown from empty, all found", v->name, GROWN_ENTRIES);
	check_grown_index(v, fs, img, kroot, "after the names were added");
	ok(many(fs, kroot, "big", "grown-name", 0, GROWN_ENTRIES, true, 2) == 0 &&
	   check_names(fs, "big", "grown-name", GROWN_ENTRIES, true) == 0,
	   "%s: every other one removed, the rest found", v->name);
	orphan_evicted(v, fs);

	/* A crash with an unlinked file open: a copy of the image as it is now. */
	{
		struct imgfs_new_inode ni = { .mode = S_IFREG | 0600 };
		uint64_t o, gone;

		r = fs->write_ops->create(fs, fs->root_ino, "left-open", 9, &ni, &o);
		if (r == 0)
			r = fs->write_ops->unlink(fs, fs->root_ino, "left-open", 9, &gone);
		if (r == 0)
			r = fs->write_ops->syncfs(fs);
		ok(r == 0 && run("cp --sparse=always %s %s", img, crash) == 0,
		   "%s: image copied with an unlinked file open", v->name);
	}
	close_rw(fs, image);	/* frees the open orphan, as umount would */
	ok(fsck_clean(img), "%s: e2fsck -fn clean after the workload", v->name);

	/* Hash-indexed: e2fsck -D indexes "big", then it grows through the index. */
	ok(run("e2fsck -fyD %s", img) <= 1, "%s: e2fsck -D indexes big", v->name);
	if (test_open_ext4_rw(img, &image, &fs) == 0) {
		ok(many(fs, kroot, "big", "indexed-name", 0, 3000, false, 1) == 0 &&
		   many(fs, kroot, "big", "indexed-name", 0, 3000, true, 2) == 0 &&
		   check_names(fs, "big", "indexed-name", 3000, true) == 0 &&
		   check_names(fs, "big", "grown-name", GROWN_ENTRIES, true) == 0,
		   "%s: 3000 names added to the indexed directory, half removed, all found",
		   v->name);
		close_rw(fs, image);
	}
	{
		_cleanup_free_ char *flags = capture("debugfs -R 'stat big' %s 2>/dev/null | "
						     "sed -n 's/.*Flags: \\(0x[0-9a-f]*\\).*/\\1/p'",
						     img);
		unsigned long fl = strtoul(flags, NULL, 16);

		flags[strcspn(flags, "\n")] = '\0';
		ok(strstr(v->mkfs, "mkfs.ext2") || (fl & 0x1000), "%s: big is still indexed (%s)",
		   v->name, flags);
	}
	ok(fsck_clean(img), "%s: e2fsck -fn clean after the indexed directory grew", v->name);

	/* The crash image: the next read-write open frees what the orphan list holds. */
	{
		_cleanup_free_ char *sb = capture("dumpe2fs -h %s 2>/dev/null | grep -c 'orphan inode'",
						  crash);

		ok(atoi(sb) == 1, "%s: the crash image has an orphan list", v->name);
	}
	if (test_open_ext4_rw(crash, &image, &fs) == 0)
		close_rw(fs, image);
	{
		_cleanup_free_ char *sb = capture("dumpe2fs -h %s 2>/dev/null | grep -c 'orphan inode'",
						  crash);

		ok(atoi(sb) == 0 && fsck_clean(crash),
		   "%s: the next rw open emptied the orphan list, e2fsck -fn clean", v->name);
	}

	if (kroot) {
		ok(run("umount %s", kroot) == 0, "%s: kernel image unmounted", v->name);
		ok(fsck_clean(kimg), "%s: the kernel's image is clean too", v->name);
		compare_with_kernel(v, img, kimg);
	}
	unlink(img);
	unlink(kimg);
	unlink(crash);
}

/* At any exit, failed checks included: nothing mounted or left in /tmp. */
static void cleanup_tmpdir(void)
{
	run("umount %s/k %s/m-imgfs %s/m-kernel 2>/dev/null", tmpdir, tmpdir, tmpdir);
	nftw(tmpdir, testutil_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv)
{
	const char *only = getenv("UNIT_EXT4_WRITE_VARIANT");

	if (run("command -v mkfs.ext4 && command -v e2fsck && command -v debugfs"))
		skip_all("e2fsprogs not installed");
	if (!mkdtemp(tmpdir))
		abort();
	atexit(cleanup_tmpdir);
	umask(0);
	init_values();
	as_root = geteuid() == 0 && run("test -e /dev/loop-control") == 0;
	treecmp_path = getenv("top_builddir") ? xasprintf("%s/tests/treecmp", getenv("top_builddir"))
					       : "tests/treecmp";
	if (!as_root)
		diag("not root: the kernel comparisons are skipped");
	for (size_t i = 0; i < ARRAY_SIZE(variants); i++)
		if (!only || !strcmp(only, variants[i].name))
			run_variant(&variants[i]);
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}
