/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The OCI hook's configuration file, /etc/imgfs/oci-hook.conf:
 *
 *   # Images a rootful hook may mount: only files strictly inside these
 *   # directories (compared after resolving the source's symlinks).
 *   allow = /srv/images
 *   allow = /var/lib/imgfs
 *
 * One "key = value" per line, whitespace around either allowed; a line
 * whose first non-blank character is '#' is a comment (there are no
 * comments after a value: '#' is a valid path character).  The only key is
 * "allow", repeatable, with an absolute directory written without symlinks
 * (the check is lexical against the source's real path).  A missing file
 * allows nothing.  A rootless hook opens sources with the user's own
 * credentials and does not consult this file.
 */
#ifndef IMGFS_OCI_HOOKCONF_H
#define IMGFS_OCI_HOOKCONF_H

#include <stdbool.h>
#include <stdio.h>

#include "util.h"

#define HOOKCONF_DEFAULT_PATH "/etc/imgfs/oci-hook.conf"

struct hookconf {
	char **allow;		/* normalised absolute directories */
	size_t n_allow;
};

/*
 * Load @path into @conf (zeroed first; free with hookconf_free() in every
 * case).  A missing file is not an error: it yields no directories.
 * Errors name "path:line" and return -EINVAL (or the errno of a failed read,
 * or -EFBIG for a file larger than OCI_INPUT_MAX: it is read whole).
 */
int hookconf_load(const char *path, struct hookconf *conf, struct imgfs_error *err);

/* The same from an open stream; @name is used in messages. */
int hookconf_parse(FILE *f, const char *name, struct hookconf *conf, struct imgfs_error *err);

void hookconf_free(struct hookconf *conf);

/*
 * True if @source (the realpath(3) of an image) lies strictly inside one of
 * the allowed directories, compared component by component.
 */
bool hookconf_source_allowed(const struct hookconf *conf, const char *source);

/*
 * The rootful hook's verdict on one source, as one message for the user:
 * 0 when allowed, else -EPERM with @err saying why and how to allow it
 * (naming @annotation and @conf_path).
 */
int hookconf_check_source(const struct hookconf *conf, const char *conf_path,
			  const char *annotation, const char *source, struct imgfs_error *err);

#endif
