/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reaching into a container being created: its namespaces, and paths
 * inside its root that cannot lead out of it.
 *
 * The hook runs in the runtime's namespaces while the container's init
 * waits (createRuntime: namespaces made, root not yet pivoted into).  Its
 * mount namespace is where the mounts go; its user namespace, where it
 * differs from ours, is the one the FUSE connection must belong to, so
 * that the image's owners read as the container's ids.
 */
#ifndef IMGFS_OCI_CONTAINER_H
#define IMGFS_OCI_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

struct container_ns {
	int user_fd;		/* the container's user namespace, or -1 if it is ours */
	int mnt_fd;		/* the container's mount namespace */
};

/*
 * Open the namespaces of the process @pid, making sure they are that
 * process's (a pidfd guards against the pid being reused meanwhile).
 * Fails with -EINVAL when the container shares our mount namespace: a
 * mount there would land on the host and outlive the container.
 */
int container_ns_open(pid_t pid, struct container_ns *ns, struct imgfs_error *err);
void container_ns_close(struct container_ns *ns);

/* setns() into the user namespace (when it differs), or the mount namespace. */
int container_join_user(const struct container_ns *ns, struct imgfs_error *err);
int container_join_mount(const struct container_ns *ns, struct imgfs_error *err);

/*
 * Open (O_PATH) the directory @target, a normalised absolute path inside
 * the container root @root_fd, creating missing components (mode 0755).
 * Every lookup is resolved as if @root_fd were "/" and no magic link
 * (/proc/.../fd/N and the like) is followed, so neither ".." nor a symlink
 * planted in the image of the container leads out of the root.  A target
 * that resolves to the root itself is refused (-EINVAL).  Messages start
 * with @key.
 */
int container_open_target(int root_fd, const char *target, const char *key, int *fd,
			  struct imgfs_error *err);

/*
 * Where an opened directory is: targets are compared by this, not as
 * strings, since two paths may lead to one directory through links.
 * @mount_root: a mount's root is there (so @dev is that mount's).
 */
struct container_place {
	dev_t dev;
	ino_t ino;
	bool mount_root;
};

int container_place_of(int fd, struct container_place *place);

/* True when we are root in the initial user namespace (a rootful hook). */
bool container_hook_is_rootful(void);

#endif
