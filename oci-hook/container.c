/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "container.h"

static int open_ns(pid_t pid, const char *type, int *fd, struct stat *st, struct imgfs_error *err)
{
	char path[64];
	struct stat proc;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, type);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd >= 0 && fstat(*fd, st) == 0)
		return 0;
	/*
	 * Our own process, yet closed to us: the runtime made it undumpable,
	 * and the kernel then lets only CAP_SYS_PTRACE (in the namespace the
	 * runtime was started in) reach it.  crun does so for rootless
	 * containers until they exec.
	 */
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (errno == EACCES && stat(path, &proc) == 0 && proc.st_uid == geteuid())
		return imgfs_error_set(err, EACCES,
				       "container process %d: cannot open its %s namespace: the runtime keeps it closed to its own user until it starts (crun does for rootless containers); use runc, or rootless podman",
				       (int)pid, type);
	return imgfs_error_set(err, errno, "container process %d: cannot open its %s namespace: %s",
			       (int)pid, type, strerror(errno));
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int container_ns_open(pid_t pid, struct container_ns *ns, struct imgfs_error *err)
{
	_cleanup_close_ int pidfd = -1;
	struct stat user, mnt, own;
	int r;

	ns->user_fd = ns->mnt_fd = -1;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return imgfs_error_set(err, errno, "container process %d: %s", (int)pid,
				       strerror(errno));
	if ((r = open_ns(pid, "user", &ns->user_fd, &user, err)) < 0 ||
	    (r = open_ns(pid, "mnt", &ns->mnt_fd, &mnt, err)) < 0)
		goto fail;
	/* Still alive, so the pid was not reused: these are its namespaces. */
	if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0) {
		r = imgfs_error_set(err, ESRCH, "container process %d exited", (int)pid);
		goto fail;
	}
	if (stat("/proc/self/ns/mnt", &own) == 0 && same_file(&own, &mnt)) {
		r = imgfs_error_set(err, EINVAL,
				    "the container shares the runtime's mount namespace; imgfs mounts need a container with its own (linux.namespaces \"mount\")");
		goto fail;
	}
	if (stat("/proc/self/ns/user", &own) == 0 && same_file(&own, &user))
		close(steal_fd(&ns->user_fd));
	return 0;
fail:
	container_ns_close(ns);
	return r;
}

void container_ns_close(struct container_ns *ns)
{
	if (ns->user_fd >= 0)
		close(steal_fd(&ns->user_fd));
	if (ns->mnt_fd >= 0)
		close(steal_fd(&ns->mnt_fd));
}

int container_join_user(const struct container_ns *ns, struct imgfs_error *err)
{
	if (ns->user_fd >= 0 && setns(ns->user_fd, CLONE_NEWUSER) < 0)
		return imgfs_error_set(err, errno, "cannot enter the container's user namespace: %s",
				       strerror(errno));
	return 0;
}

int container_join_mount(const struct container_ns *ns, struct imgfs_error *err)
{
	if (setns(ns->mnt_fd, CLONE_NEWNS) < 0)
		return imgfs_error_set(err, errno, "cannot enter the container's mount namespace: %s",
				       strerror(errno));
	return 0;
}

static int open_in_root(int root_fd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;
	int tries = 0;

	/* EAGAIN: a rename or mount raced the lookup; retry, but not for ever. */
	do {
		fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	} while (fd < 0 && errno == EAGAIN && ++tries < 64);
	return fd < 0 ? -errno : (int)fd;
}

int container_open_target(int root_fd, const char *target, const char *key, int *out,
			  struct imgfs_error *err)
{
	_cleanup_close_ int dir_fd = -1;
	struct container_place root, at;
	char prefix[PATH_MAX];
	size_t len = 0;
	const char *p = target;
	int r;

	*out = -1;
	if (strlen(target) >= sizeof(prefix))
		return imgfs_error_set(err, ENAMETOOLONG, "%s: target %s: %s", key, target,
				       strerror(ENAMETOOLONG));
	dir_fd = open_in_root(root_fd, "/");
	if (dir_fd < 0)
		return imgfs_error_set(err, -dir_fd, "%s: the container root: %s", key,
				       strerror(-dir_fd));
	if ((r = container_place_of(dir_fd, &root)) < 0)
		return imgfs_error_set(err, -r, "%s: the container root: %s", key, strerror(-r));
	/*
	 * One component at a time, each looked up again from the root: the
	 * parent we create a component in is the one the lookup found, and
	 * a component that is a symlink is followed inside the root.
	 */
	while (*p == '/')
		p++;
	while (*p) {
		size_t n = strcspn(p, "/");
		char name[NAME_MAX + 1];
		int fd;

		if (n > NAME_MAX)
			return imgfs_error_set(err, ENAMETOOLONG, "%s: target %s: %s", key, target,
					       strerror(ENAMETOOLONG));
		memcpy(name, p, n);
		name[n] = '\0';
		prefix[len++] = '/';
		memcpy(prefix + len, name, n + 1);
		len += n;

		fd = open_in_root(root_fd, prefix);
		if (fd == -ENOENT) {
			if (mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST)
				return imgfs_error_set(err, errno, "%s: cannot create %s in the container: %s",
						       key, prefix, strerror(errno));
			fd = open_in_root(root_fd, prefix);
		}
		if (fd < 0)
			return imgfs_error_set(err, -fd, "%s: target %s: %s: %s", key, target, prefix,
					       fd == -ELOOP ? "a symlink loop or a /proc magic link"
							    : strerror(-fd));
		close(dir_fd);
		dir_fd = fd;
		p += n;
		while (*p == '/')
			p++;
	}
	/*
	 * "/" is refused as a string; a symlink to it ("up -> ../../..",
	 * "rootlink -> /") must be too, or the image would cover the
	 * container's whole filesystem.
	 */
	if ((r = container_place_of(dir_fd, &at)) < 0)
		return imgfs_error_set(err, -r, "%s: target %s: %s", key, target, strerror(-r));
	if (at.dev == root.dev && at.ino == root.ino)
		return imgfs_error_set(err, EINVAL,
				       "%s: target %s resolves to the container's root, which cannot be mounted over; give a directory inside it",
				       key, target);
	*out = steal_fd(&dir_fd);
	return 0;
}

int container_place_of(int fd, struct container_place *place)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_INO, &stx) < 0)
		return -errno;
	place->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	place->ino = stx.stx_ino;
	/* Reported since Linux 5.8; openat2 needs 5.6, so say "no" without it. */
	place->mount_root = (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
			    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
}

bool container_hook_is_rootful(void)
{
	_cleanup_fclose_ FILE *f = NULL;
	unsigned long inside, outside, count;

	if (geteuid() != 0)
		return false;
	/* The initial user namespace maps every id to itself. */
	f = fopen("/proc/self/uid_map", "re");
	return f && fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3 &&
	       inside == 0 && outside == 0 && count == 4294967295UL;
}
