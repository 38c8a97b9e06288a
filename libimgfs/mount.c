/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <libmount/libmount.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

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

int imgfs_check_mountpoint(const char *target, struct imgfs_error *err)
{
	struct stat st;

	if (stat(target, &st) < 0)
		return imgfs_error_set(err, errno, "mount point %s: %s", target, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return imgfs_error_set(err, ENOTDIR, "mount point %s: not a directory", target);
	return 0;
}

static int do_mount(const struct imgfs_mount_params *p, const char *type, const char *extra)
{
	unsigned long flags = MS_NOSUID | MS_NODEV | (p->read_only ? MS_RDONLY : 0) |
			      (p->noexec ? MS_NOEXEC : 0);
	char data[256];

	/*
	 * default_permissions: the kernel checks modes and owners exactly as
	 * it would for the kernel's own driver; the server never decides.
	 */
	snprintf(data, sizeof(data),
		 "fd=%d,rootmode=%o,user_id=%u,group_id=%u,default_permissions%s%s",
		 p->fuse_fd, S_IFDIR, (unsigned)p->uid, (unsigned)p->gid,
		 p->allow_other ? ",allow_other" : "", extra);
	return mount(p->source, p->target, type, flags, data) < 0 ? -errno : 0;
}

int imgfs_mount_fuse(const struct imgfs_mount_params *p, struct imgfs_error *err)
{
	int r = do_mount(p, IMGFS_FSTYPE, "");

	/* Kernels that do not parse "fuse.SUBTYPE" take subtype= instead. */
	if (r == -ENODEV)
		r = do_mount(p, "fuse", ",subtype=imgfs");
	if (r == -EPERM)
		return imgfs_error_set(err, EPERM,
				       "%s: not allowed to mount here: run as root, inside a user and mount namespace you own (unshare -Urm, podman unshare), or use --unshare",
				       p->target);
	if (r < 0)
		return imgfs_error_set(err, -r, "%s: mount failed: %s", p->target, strerror(-r));
	return 0;
}

static void mnt_tablep(struct libmnt_table **tb)
{
	mnt_free_table(*tb);
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

int imgfs_open_fuse_abort(const char *real_target, int *fd)
{
	_cleanup_(mnt_tablep) struct libmnt_table *tb = mnt_new_table();
	struct imgfs_error err;
	struct libmnt_fs *fs;
	char path[64];
	int r;

	*fd = -1;
	r = find_imgfs_mount(tb, real_target, real_target, &fs, &err);
	if (r < 0)
		return r;
	/* The connection is named after the superblock's (anonymous) device. */
	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort",
		 minor(mnt_fs_get_devno(fs)));
	*fd = open(path, O_WRONLY | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

int imgfs_unmount(const char *target, bool lazy, struct imgfs_error *err)
{
	_cleanup_(mnt_tablep) struct libmnt_table *tb = mnt_new_table();
	struct libmnt_fs *fs;
	char real[PATH_MAX];
	int r;

	if (!realpath(target, real))
		return imgfs_error_set(err, errno, "%s: %s", target, strerror(errno));
	r = find_imgfs_mount(tb, target, real, &fs, err);
	if (r < 0)
		return r;
	if (umount2(real, lazy ? MNT_DETACH : 0) < 0) {
		int e = errno;

		if (e == EBUSY)
			return imgfs_error_set(err, e, "%s: busy (files open or a process inside; -l detaches lazily)",
					       target);
		return imgfs_error_set(err, e, "%s: unmount failed: %s", target, strerror(e));
	}
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
