/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pushing file data into the kernel's page cache before it is asked for (push.c). */
#ifndef IMGFS_FUSE_PUSH_H
#define IMGFS_FUSE_PUSH_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct imgfs_fuse;

/* A large file being read in order: how far it was read and stored. */
struct imgfs_push_stream {
	fuse_ino_t node;
	uint64_t next;		/* end of the furthest read so far */
	uint64_t stored;	/* bytes before this were read or are being stored */
	uint64_t used;		/* tick of the last read, to replace the oldest */
};

/*
 * The files of the directory read last, in the order it was listed, for
 * pushing their data ahead of a reader that goes through them, and the
 * large files being read in order.  The session owns it (conn.h).
 */
struct imgfs_push {
	pthread_mutex_t lock;
	uint64_t *nodes;	/* regular files, in listing order */
	size_t count;
	size_t next;		/* where the next in-order read is expected */
	size_t stored;		/* nodes before this were pushed or passed */
	unsigned run;		/* in-order whole-file reads so far */
	struct imgfs_push_stream streams[4];
	uint64_t tick;
};

/*
 * Directory listed: remember its regular files in listing order.  The
 * @count nodes were charged to the listing budget; the list they replace
 * is uncharged.
 */
void imgfs_push_set_dir(struct imgfs_fuse *f, uint64_t *nodes, size_t count);
/* Whole file @node was just read: push the data of the files after it. */
void imgfs_push_after_read(struct imgfs_fuse *f, fuse_ino_t node);
/* [@off, @off + @size) of @node (of @isize bytes) was just read, not all of it. */
void imgfs_push_stream(struct imgfs_fuse *f, fuse_ino_t node, uint64_t off, size_t size,
		       uint64_t isize);
void imgfs_push_release(struct imgfs_push *p);

#endif
