/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One container annotation asking for a mount:
 *
 *   io.imgfs.mount.<name> = source=<host path>,target=<path in container>
 *                           [,ro|rw][,type=auto|ext4|xfs][,offset=<bytes>|partition=<n>]
 *
 * Parsing is purely lexical: nothing here touches the filesystem, so every
 * annotation can be validated before the hook does anything privileged.
 */
#ifndef IMGFS_OCI_ANNOTATION_H
#define IMGFS_OCI_ANNOTATION_H

#include <stdbool.h>

#include "attach.h"
#include "util.h"

#define OCI_MOUNT_PREFIX "io.imgfs.mount."

struct oci_mount {
	char *key;		/* the whole annotation key, for messages */
	const char *name;	/* points into @key, after the prefix */
	char *source;		/* absolute host path, as written (not resolved) */
	/*
	 * Absolute path inside the container root, normalised: no empty, "."
	 * or ".." components, no trailing slash, never "/" itself.
	 */
	char *target;
	bool writable;		/* rw: a read-write mount (ro, the default: false) */
	struct imgfs_image_options img;	/* type=, offset=, partition=; writable as above */
};

/*
 * True when @key carries our prefix.  Such a key is ours even if the rest
 * is malformed, so that a typo is reported instead of silently ignored.
 */
bool oci_mount_key_is_ours(const char *key);

/*
 * Parse the annotation @key = @value into @m (zeroed first; free it with
 * oci_mount_free() whether or not this succeeds).  Returns 0, or a negative
 * errno with @err holding one line that starts with @key: -EINVAL for a
 * malformed annotation.  Whether the image can be served as asked (rw on
 * XFS, an image in use) is only known once it is opened.
 */
int oci_mount_parse(const char *key, const char *value, struct oci_mount *m,
		    struct imgfs_error *err);

void oci_mount_free(struct oci_mount *m);

#endif
