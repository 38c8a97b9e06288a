/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Starting imgfs-server and talking to it until it serves.  The helper
 * passes the server exactly the descriptors status.h numbers and an
 * empty environment, then follows the status records it sends.
 */
#ifndef IMGFS_SPAWN_H
#define IMGFS_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "atime.h"
#include "image.h"
#include "status.h"
#include "util.h"

struct imgfs_spawn_params {
	const struct imgfs_image *img;
	int fuse_fd;
	bool foreground;	/* keep the helper's stdio and log to stderr */
	bool debug;
	bool verbose;
	bool no_sandbox;	/* debugging only: the server warns every time */
	uint64_t listing_memory;	/* --listing-memory; 0: the server's default */
	enum imgfs_atime atime;		/* --atime, for read-write images */
	bool nodiratime;		/* --nodiratime */
};

/* Start the server; on success *@pid and *@status_fd (helper's end) are set. */
int imgfs_spawn_server(const struct imgfs_spawn_params *p, pid_t *pid, int *status_fd,
		       struct imgfs_error *err);

/* A started server, from spawning until it serves. */
struct imgfs_server {
	pid_t pid;		/* -1 once reaped */
	int status_fd;		/* -1 once it serves or is given up */
};

/*
 * Spawn the server and wait until it has opened the filesystem.  On
 * failure @err holds the server's own message (or how it died) and the
 * server is gone.
 */
int imgfs_server_start(const struct imgfs_spawn_params *p, struct imgfs_server *s,
		       struct imgfs_error *err);

/*
 * Its connection is mounted: hand the server @abort_fd (-1 if none) and
 * wait until it has answered INIT; the server's account of the data path
 * lands in @data_path (of @size bytes) unless that is NULL.  On failure
 * the server is gone and the caller must undo the mount; @image names it
 * in the message.
 */
int imgfs_server_serve(struct imgfs_server *s, const char *image, int abort_fd,
		       char *data_path, size_t size, struct imgfs_error *err);

/* Give up on a server not serving yet: it exits when its socket closes. */
void imgfs_server_cancel(struct imgfs_server *s);

/* Wait for @pid; returns its exit status as a shell shows it, or -1. */
int imgfs_wait_status(pid_t pid);

#endif
