/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The server's system call allowlist.  The policy is data (seccomp/ in the
 * source tree, installed under the package data directory); this file
 * parses it and loads it through libseccomp.  Anything the policy does not
 * name kills the whole process.
 *
 * Policy format, one rule per line ('#' starts a comment):
 *
 *   SYSCALL [argN==VALUE | argN!=VALUE | argN&MASK==VALUE]... [errno=NAME]
 *
 * Several conditions on one line must all hold; several lines for the same
 * call are alternatives.  VALUE and MASK are numbers or names from a small
 * table (CLONE_*, PROT_*, FUSE ioctls ...) joined with '|'.  `errno=NAME`
 * makes the call fail with that error instead of allowing it.
 */
#ifndef IMGFS_SECCOMP_POLICY_H
#define IMGFS_SECCOMP_POLICY_H

#include "util.h"

#define IMGFS_SECCOMP_POLICY "imgfs-server.seccomp"

/*
 * The policy file the server loads: the source tree's when the running
 * program is the build tree's, else the installed one.
 */
void imgfs_seccomp_policy_path(char *path, size_t size);

struct imgfs_seccomp;

/*
 * Parse @path into a filter.  Done before the sandbox leaves the host
 * filesystem, since the policy file is on it.
 */
int imgfs_seccomp_parse(const char *path, struct imgfs_seccomp **filter, struct imgfs_error *err);
/* Install @filter as this process's filter, for every thread. */
int imgfs_seccomp_install(struct imgfs_seccomp *filter, struct imgfs_error *err);
void imgfs_seccomp_free(struct imgfs_seccomp *filter);
static inline void imgfs_seccomp_freep(struct imgfs_seccomp **f)
{
	if (*f)
		imgfs_seccomp_free(*f);
}
#define _cleanup_seccomp_ _cleanup_(imgfs_seccomp_freep)

#endif
