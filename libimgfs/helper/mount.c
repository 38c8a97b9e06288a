/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <libmount/libmount.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mount.h"

int imgfs_open_fuse_dev(int *fd, struct imgfs_error *err)
{
	*fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		int e = errno;

		if (e == EACCES || e == EPERM)
			return imgfs_error_set(err, e,
					       "cannot open /dev/fuse: %s (it must be readable and writable by you, usually mode 0666)",
					       strerror(e));
		return imgfs_error_set(err, e, "cannot open /dev/fuse: %s%s", strerror(e),
				       e == ENOENT ? " (is the fuse module loaded?)" : "");
	}
	return 0;
}

/* Not in <linux/magic.h>. */
#define FUSECTL_SUPER_MAGIC	0x65735543
#define CONFIGFS_MAGIC		0x62656570
#define MQUEUE_MAGIC		0x19800202

/*
 * The kernel's own pseudo filesystems, by their statfs type.  A mount over
 * one of them hides what the helper itself needs (/proc/self, fusectl) or
 * what the system does: nobody means to put an image there.
 */
static const struct {
	unsigned long magic;
	const char *name;
} pseudo_fs[] = {
	{ PROC_SUPER_MAGIC, "proc" },
	{ SYSFS_MAGIC, "sysfs" },
	{ CGROUP_SUPER_MAGIC, "cgroup" },
	{ CGROUP2_SUPER_MAGIC, "cgroup2" },
	{ DEBUGFS_MAGIC, "debugfs" },
	{ TRACEFS_MAGIC, "tracefs" },
	{ SECURITYFS_MAGIC, "securityfs" },
	{ DEVPTS_SUPER_MAGIC, "devpts" },
	{ BPF_FS_MAGIC, "bpf" },
	{ CONFIGFS_MAGIC, "configfs" },
	{ FUSECTL_SUPER_MAGIC, "fusectl" },
	{ PSTOREFS_MAGIC, "pstore" },
	{ EFIVARFS_MAGIC, "efivarfs" },
	{ BINFMTFS_MAGIC, "binfmt_misc" },
	{ SELINUX_MAGIC, "selinuxfs" },
	{ SMACK_MAGIC, "smackfs" },
	{ AAFS_MAGIC, "apparmorfs" },
	{ MQUEUE_MAGIC, "mqueue" },
	{ NSFS_MAGIC, "nsfs" },
	{ HUGETLBFS_MAGIC, "hugetlbfs" },
	{ RDTGROUP_SUPER_MAGIC, "resctrl" },
};

/*
 * Refuse a mount point (open on @fd) on one of the kernel's pseudo
 * filesystems.  Messages begin "@prefix@target: ".
 */
static int check_mount_fs(int fd, const char *prefix, const char *target, struct imgfs_error *err)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return imgfs_error_set(err, errno, "%s%s: %s", prefix, target, strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(pseudo_fs); i++)
		if ((unsigned long)sf.f_type == pseudo_fs[i].magic)
			return imgfs_error_set(err, EINVAL,
					       "%s%s: is on %s, a kernel pseudo filesystem: choose a directory of your own",
					       prefix, target, pseudo_fs[i].name);
	return 0;
}

int imgfs_check_mountpoint(const char *target, struct imgfs_error *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (stat(target, &st) < 0)
		return imgfs_error_set(err, errno, "mount point %s: %s", target, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return imgfs_error_set(err, ENOTDIR, "mount point %s: not a directory", target);
	fd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return imgfs_error_set(err, errno, "mount point %s: %s", target, strerror(errno));
	return check_mount_fs(fd, "mount point ", target, err);
}

static void mnt_tablep(struct libmnt_table **tb)
{
	mnt_free_table(*tb);
}

static int mount_error(const char *target, int e, struct imgfs_error *err)
{
	if (e == EPERM)
		return imgfs_error_set(err, e,
				       "%s: not allowed to mount here: run as root, inside a user and mount namespace you own (unshare -Urm, podman unshare), or use --unshare",
				       target);
	return imgfs_error_set(err, e, "%s: mount failed: %s", target, strerror(e));
}

/* Report a failed fsconfig() step, with the kernel's own message when it left one. */
static int fs_context_error(int fs_fd, int e, const char *step, const char *target,
			    struct imgfs_error *err)
{
	char why[256];
	/* The fs_context log holds lines such as "e fuse: Invalid user_id". */
	ssize_t n = read(fs_fd, why, sizeof(why) - 1);

	if (n > 2) {
		why[n] = '\0';
		why[strcspn(why, "\n")] = '\0';
		return imgfs_error_set(err, e, "%s: mount failed: %s: %s (%s)", target, step,
				       strerror(e), why + 2);
	}
	return imgfs_error_set(err, e, "%s: mount failed: %s: %s", target, step, strerror(e));
}

/* fsconfig() one string parameter, or a flag when @value is NULL. */
static int set_param(int fs_fd, const char *key, const char *value, const char *target,
		     struct imgfs_error *err)
{
	if (fsconfig(fs_fd, value ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, key, value, 0) == 0)
		return 0;
	return fs_context_error(fs_fd, errno, key, target, err);
}

/*
 * The mount ID of @mnt_fd, read before the mount is attached: once it is,
 * a path through /proc may lead through the new mount itself (a mount on
 * /, or on a /proc the check above did not see), and would wait for an
 * INIT the server only answers after we have told it the mount is made.
 */
static int mount_id(int mnt_fd, int *id)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], line[128];

	*id = -1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", mnt_fd);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %d", id) == 1)
			return 0;
	return -ENOENT;
}

/* The device number of mount @id, from @mountinfo, opened before the mount was made. */
static int mount_devno(FILE *mountinfo, int id, dev_t *dev)
{
	_cleanup_(mnt_tablep) struct libmnt_table *tb = mnt_new_table();
	struct libmnt_iter *it;
	struct libmnt_fs *fs;

	if (!mountinfo || id < 0 || !tb ||
	    mnt_table_parse_stream(tb, mountinfo, "/proc/self/mountinfo") != 0)
		return -EIO;
	it = mnt_new_iter(MNT_ITER_BACKWARD);
	if (!it)
		return -ENOMEM;
	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		if (mnt_fs_get_id(fs) == id) {
			*dev = mnt_fs_get_devno(fs);
			mnt_free_iter(it);
			return 0;
		}
	}
	mnt_free_iter(it);
	return -ENOENT;
}

/*
 * The mount's atime flags, as mount(8) would set them.  FUSE inodes are
 * S_NOATIME, so the kernel itself never updates an atime here: the flags
 * say what the server does (it gets the same policy), and show it in
 * mountinfo as the kernel's ext4 mounts show theirs.
 */
static unsigned atime_attrs(enum imgfs_atime atime, bool nodiratime)
{
	unsigned attrs = atime == IMGFS_ATIME_NONE ? MOUNT_ATTR_NOATIME :
			 atime == IMGFS_ATIME_STRICT ? MOUNT_ATTR_STRICTATIME : MOUNT_ATTR_RELATIME;

	return attrs | (nodiratime ? MOUNT_ATTR_NODIRATIME : 0);
}

int imgfs_mount_fuse_at(const struct imgfs_mount_params *p, int target_fd, dev_t *dev,
			struct imgfs_error *err)
{
	_cleanup_close_ int fs_fd = -1;
	_cleanup_close_ int mnt_fd = -1;
	_cleanup_fclose_ FILE *mountinfo = NULL;
	unsigned attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			 (p->read_only ? MOUNT_ATTR_RDONLY : 0) | (p->noexec ? MOUNT_ATTR_NOEXEC : 0) |
			 atime_attrs(p->atime, p->nodiratime);
	char fd[16], rootmode[16], uid[16], gid[16];
	int r, id = -1;

	r = check_mount_fs(target_fd, "", p->target, err);
	if (r < 0)
		return r;
	fs_fd = fsopen("fuse", FSOPEN_CLOEXEC);
	if (fs_fd < 0)
		return mount_error(p->target, errno, err);
	snprintf(fd, sizeof(fd), "%d", p->fuse_fd);
	snprintf(rootmode, sizeof(rootmode), "%o", S_IFDIR);
	snprintf(uid, sizeof(uid), "%u", (unsigned)p->uid);
	snprintf(gid, sizeof(gid), "%u", (unsigned)p->gid);
	/*
	 * default_permissions: the kernel checks modes and owners exactly as
	 * it would for the kernel's own driver; the server never decides.
	 */
	if ((r = set_param(fs_fd, "source", p->source, p->target, err)) < 0 ||
	    (r = set_param(fs_fd, "subtype", "imgfs", p->target, err)) < 0 ||
	    (r = set_param(fs_fd, "fd", fd, p->target, err)) < 0 ||
	    (r = set_param(fs_fd, "rootmode", rootmode, p->target, err)) < 0 ||
	    (r = set_param(fs_fd, "user_id", uid, p->target, err)) < 0 ||
	    (r = set_param(fs_fd, "group_id", gid, p->target, err)) < 0 ||
	    (r = set_param(fs_fd, "default_permissions", NULL, p->target, err)) < 0 ||
	    (p->allow_other && (r = set_param(fs_fd, "allow_other", NULL, p->target, err)) < 0) ||
	    /*
	     * A read-only superblock, not just a read-only mount: the kernel
	     * then keeps no atime to refresh, so it does not ask for the
	     * attributes of every directory listed or file read again.
	     */
	    (p->read_only && (r = set_param(fs_fd, "ro", NULL, p->target, err)) < 0))
		return r;
	if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fs_context_error(fs_fd, errno, "create", p->target, err);
	mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, attrs);
	if (mnt_fd < 0)
		return imgfs_error_set(err, errno, "%s: mount failed: fsmount: %s", p->target,
				       strerror(errno));
	/* Everything in /proc is opened before the mount can cover it (see mount_id). */
	if (dev) {
		mount_id(mnt_fd, &id);
		mountinfo = fopen("/proc/self/mountinfo", "re");
	}
	if (move_mount(mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return mount_error(p->target, errno, err);
	if (dev && mount_devno(mountinfo, id, dev) < 0)
		*dev = 0;
	return 0;
}

int imgfs_mount_fuse(const struct imgfs_mount_params *p, dev_t *dev, struct imgfs_error *err)
{
	_cleanup_close_ int target_fd = open(p->target, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (target_fd < 0)
		return imgfs_error_set(err, errno, "mount point %s: %s", p->target, strerror(errno));
	return imgfs_mount_fuse_at(p, target_fd, dev, err);
}

/*
 * The topmost mount on @real (a canonical path) if it is ours.  Only the
 * table is read: nothing on the mount itself is touched, so this works on
 * a mount whose server has not answered INIT yet, or never will.
 */
static int find_imgfs_mount(struct libmnt_table *tb, const char *target, const char *real,
			    struct libmnt_fs **out, struct imgfs_error *err)
{
	struct libmnt_fs *fs;
	const char *type;

	if (!tb || mnt_table_parse_file(tb, "/proc/self/mountinfo") != 0)
		return imgfs_error_set(err, EIO, "cannot read /proc/self/mountinfo");
	fs = mnt_table_find_target(tb, real, MNT_ITER_BACKWARD);
	if (!fs || strcmp(mnt_fs_get_target(fs), real) != 0)
		return imgfs_error_set(err, EINVAL, "%s: not a mount point", target);
	type = mnt_fs_get_fstype(fs);
	if (!type || strcmp(type, IMGFS_FSTYPE) != 0)
		return imgfs_error_set(err, EINVAL, "%s: not an imgfs mount (it is %s)", target,
				       type ? type : "unknown");
	*out = fs;
	return 0;
}

int imgfs_open_fuse_connections(int *dir_fd)
{
	*dir_fd = open("/sys/fs/fuse/connections", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return *dir_fd < 0 ? -errno : 0;
}

int imgfs_open_fuse_abort(int dir_fd, dev_t dev, int *fd)
{
	char path[64];

	/* The connection is named after the superblock's (anonymous) device. */
	if (dir_fd >= 0)
		snprintf(path, sizeof(path), "%u/abort", minor(dev));
	else
		snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort", minor(dev));
	*fd = dev ? openat(dir_fd >= 0 ? dir_fd : AT_FDCWD, path, O_WRONLY | O_CLOEXEC) : -1;
	return *fd < 0 ? (dev ? -errno : -ENOENT) : 0;
}

/* How many imgfs mounts are stacked on @real (a canonical path). */
static unsigned count_imgfs_mounts(const char *real)
{
	_cleanup_(mnt_tablep) struct libmnt_table *tb = mnt_new_table();
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs;
	unsigned n = 0;

	if (tb && it && mnt_table_parse_file(tb, "/proc/self/mountinfo") == 0)
		while (mnt_table_next_fs(tb, it, &fs) == 0)
			if (!strcmp(mnt_fs_get_target(fs), real) && mnt_fs_get_fstype(fs) &&
			    !strcmp(mnt_fs_get_fstype(fs), IMGFS_FSTYPE))
				n++;
	mnt_free_iter(it);
	return n;
}

/*
 * A live server answers STATFS in milliseconds; a hung one never does.
 * The question is asked in a child, killed after this long.  A request
 * the server has not read yet ends with the kill; one it read and never
 * answers holds the child until the server goes, so the child is then
 * left to finish on its own rather than waited for.
 */
#define STATFS_TIMEOUT_MS 2000

/* statfs(@path)'s errno (0 if it succeeded), or -ETIMEDOUT if it did not return in time. */
static int statfs_errno_bounded(const char *path)
{
	_cleanup_close_ int pidfd = -1;
	struct pollfd p;
	pid_t pid;
	int n, status;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct statfs sf;

		_exit(statfs(path, &sf) < 0 ? MIN(errno, 255) : 0);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	do {
		n = pidfd >= 0 ? poll(&p, 1, STATFS_TIMEOUT_MS) : 1;
	} while (n < 0 && errno == EINTR);
	if (n == 0) {
		kill(pid, SIGKILL);
		if (poll(&p, 1, 100) == 1)
			waitpid(pid, NULL, 0);
		return -ETIMEDOUT;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EINTR;
}

/*
 * Whether the mount now on top of @real is an imgfs mount whose server is
 * gone: the kernel answers for it at once, ENOTCONN (or ECONNABORTED once
 * aborted), without a server to ask.  One whose server is alive but hung
 * counts as live: it is left in place, and -u does not hang on it.
 */
static bool top_is_dead_imgfs(const char *target, const char *real)
{
	_cleanup_(mnt_tablep) struct libmnt_table *tb = mnt_new_table();
	struct libmnt_fs *fs;
	struct imgfs_error ignored;
	int e;

	if (find_imgfs_mount(tb, target, real, &fs, &ignored) < 0)
		return false;
	e = statfs_errno_bounded(real);
	return e == ENOTCONN || e == ECONNABORTED;
}

int imgfs_unmount(const char *target, bool lazy, unsigned *remaining, struct imgfs_error *err)
{
	_cleanup_(mnt_tablep) struct libmnt_table *tb = mnt_new_table();
	struct libmnt_fs *fs;
	char real[PATH_MAX];
	int r;

	if (remaining)
		*remaining = 0;
	if (!realpath(target, real))
		return imgfs_error_set(err, errno, "%s: %s", target, strerror(errno));
	r = find_imgfs_mount(tb, target, real, &fs, err);
	if (r < 0)
		return r;
	do {
		if (umount2(real, lazy ? MNT_DETACH : 0) < 0) {
			int e = errno;

			if (e == EBUSY)
				return imgfs_error_set(err, e, "%s: busy (files open or a process inside; -l detaches lazily)",
						       target);
			return imgfs_error_set(err, e, "%s: unmount failed: %s", target, strerror(e));
		}
		/*
		 * Mounts of servers killed since, stacked below, are of no use
		 * to anyone and would only surface one by one: they go too.
		 * A live one below stays, as umount(8) would leave it.
		 */
	} while (top_is_dead_imgfs(target, real));
	if (remaining)
		*remaining = count_imgfs_mounts(real);
	return 0;
}

int imgfs_make_mounts_private(struct imgfs_error *err)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return imgfs_error_set(err, errno, "cannot make mounts private: %s", strerror(errno));
	return 0;
}

int imgfs_unshare_user_mount(struct imgfs_error *err)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];
	int r;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return imgfs_error_set(err, errno,
				       "cannot create a user namespace: %s (are unprivileged user namespaces enabled?)",
				       strerror(errno));
	/* Without setgroups denied, an unprivileged user may not write gid_map. */
	r = write_string_file("/proc/self/setgroups", "deny");
	if (r < 0 && r != -ENOENT)
		return imgfs_error_set(err, -r, "setgroups: %s", strerror(-r));
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	r = write_string_file("/proc/self/uid_map", map);
	if (r < 0)
		return imgfs_error_set(err, -r, "uid_map: %s", strerror(-r));
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
	r = write_string_file("/proc/self/gid_map", map);
	if (r < 0)
		return imgfs_error_set(err, -r, "gid_map: %s", strerror(-r));
	return imgfs_make_mounts_private(err);
}
