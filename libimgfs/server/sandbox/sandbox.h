/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The server's sandbox.  The image is hostile: once the sandbox is on, the
 * server holds only the descriptors it was given and can reach nothing else
 * on the host, even if a crafted image takes over its code.
 *
 *   user namespace   an unprivileged uid (a rootful server becomes nobody),
 *                    with no mapping back to root
 *   mount namespace  the root is an empty read-only tmpfs: no host path
 *   net, IPC, PID    new and empty; the server is PID 1 of its own
 *   capabilities     none, in every set (bounding and ambient too);
 *                    securebits locked, no_new_privs, not dumpable
 *   rlimits          no core dumps, a handful of descriptors
 *   seccomp          the allowlist in seccomp/, anything else kills
 *
 * The PID namespace needs a fork: the process that enters the sandbox
 * stays outside it as a supervisor (itself fully locked down) that waits
 * for the server and exits with its status, so whoever started it sees one
 * process come and go as before.  It forwards SIGTERM, SIGINT and SIGHUP;
 * the server gets SIGKILL if the supervisor dies.
 */
#ifndef IMGFS_SANDBOX_H
#define IMGFS_SANDBOX_H

#include "seccomp-policy.h"

/* Descriptors the sandboxed server may have open at once. */
#define IMGFS_SANDBOX_MAX_FDS 32

struct imgfs_sandbox_params {
	struct imgfs_seccomp *filter;	/* parsed before entering */
};

/*
 * Enter the sandbox.  Returns 0 in the sandboxed server.  The calling
 * process becomes the supervisor and never returns unless entering failed
 * (-errno, @err set, nothing forked).
 */
int imgfs_sandbox_enter(const struct imgfs_sandbox_params *p, struct imgfs_error *err);

/*
 * Hand the connection's fusectl abort file (from the helper; -1 if none)
 * to the supervisor, which uses it only if the server dies with a thread
 * stuck in the kernel.  Closes @fd here.  Outside a sandbox: just closes.
 */
void imgfs_sandbox_give_abort_fd(int fd);

#endif
