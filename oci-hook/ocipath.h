/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Lexical checks of absolute paths written in annotations and the config. */
#ifndef IMGFS_OCI_PATH_H
#define IMGFS_OCI_PATH_H

#include <stdbool.h>

enum oci_path_verdict {
	OCI_PATH_OK,
	OCI_PATH_RELATIVE,	/* does not start with '/' */
	OCI_PATH_DOTDOT,	/* has a ".." component: refused, never resolved */
};

/*
 * Normalise absolute path @in into @out (at least as long; may be @in):
 * repeated slashes collapse, "." components and a trailing slash go, and
 * "/" stays "/".  Nothing on disk is looked at.  *@had_dot (if not NULL)
 * tells whether a "." component was dropped.
 */
enum oci_path_verdict oci_path_normalise(const char *in, char *out, bool *had_dot);

#endif
