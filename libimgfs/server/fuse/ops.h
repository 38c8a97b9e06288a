/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libfuse3 low-level operations on top of the backend interface (fs.h). */
#ifndef IMGFS_FUSE_OPS_H
#define IMGFS_FUSE_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdatomic.h>

#include "fs.h"
#include "fuse/kiomap.h"

/* A large file being read in order: how far it was read and stored (push.c). */
struct imgfs_push_stream {
	fuse_ino_t node;
	uint64_t next;		/* end of the furthest read so far */
	uint64_t stored;	/* bytes before this were read or are being stored */
	uint64_t used;		/* tick of the last read, to replace the oldest */
};

/*
 * The files of the directory read last, in the order it was listed, for
 * pushing their data ahead of a reader that goes through them, and the
 * large files being read in order (push.c).
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

struct imgfs_fuse {
	struct imgfs_fs *fs;
	struct fuse_session *se;
	double timeout;			/* entry/attr cache lifetime, seconds */
	/* Called once INIT is answered, with which path file data takes and why. */
	void (*on_init)(void *ctx, const char *data_path);
	void *on_init_ctx;
	struct imgfs_kiomap kiomap;
	struct imgfs_push push;
	/*
	 * Directory snapshots (dir.c) and push.c's node list are charged to
	 * one budget; a listing that does not fit is served without one.
	 */
	size_t listing_budget;		/* bytes */
	atomic_size_t listing_used;
	atomic_bool listing_warned;	/* said once that the budget ran out */
};

/* FUSE node id <-> filesystem inode number: the root is FUSE_ROOT_ID. */
static inline uint64_t node_to_ino(const struct imgfs_fs *fs, fuse_ino_t node)
{
	return node == FUSE_ROOT_ID ? fs->root_ino : node;
}

int ino_to_node(const struct imgfs_fs *fs, uint64_t ino, fuse_ino_t *node);

/* The errno a reply carries for @r < 0: corruption is EIO to users. */
static inline int imgfs_reply_errno(int r)
{
	return r == -EUCLEAN ? EIO : -r;
}

/* Fill @e for a LOOKUP or READDIRPLUS answer about @ino. */
int imgfs_fuse_entry(struct imgfs_fuse *f, uint64_t ino, struct fuse_entry_param *e);

/* Take @bytes from the listing budget; false (and nothing taken) if they do not fit. */
bool imgfs_listing_charge(struct imgfs_fuse *f, size_t bytes);
void imgfs_listing_uncharge(struct imgfs_fuse *f, size_t bytes);

/* Directory handles (dir.c). */
void imgfs_op_opendir(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi);
void imgfs_op_readdir(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
		      struct fuse_file_info *fi);
void imgfs_op_readdirplus(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
			  struct fuse_file_info *fi);
void imgfs_op_releasedir(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi);

/*
 * Plan the read of [@off, @off + @size) of regular file @ino into a
 * bufvec: mapped ranges as image descriptor ranges (libfuse can splice
 * them), zeros and inline data from memory.  *@bv and *@mem must be freed
 * by the caller.  Returns the file size in *@isize.
 */
int imgfs_fuse_plan_read(struct imgfs_fs *fs, uint64_t ino, uint64_t off, size_t size,
			 struct fuse_bufvec **bv, void **mem, uint64_t *isize);

/*
 * Directory listed (push.c): remember its regular files in listing order.
 * The @count nodes were charged to the listing budget; the list they
 * replace is uncharged.
 */
void imgfs_push_set_dir(struct imgfs_fuse *f, uint64_t *nodes, size_t count);
/* Whole file @node was just read: push the data of the files after it. */
void imgfs_push_after_read(struct imgfs_fuse *f, fuse_ino_t node);
/* [@off, @off + @size) of @node (of @isize bytes) was just read, not all of it. */
void imgfs_push_stream(struct imgfs_fuse *f, fuse_ino_t node, uint64_t off, size_t size,
		       uint64_t isize);
void imgfs_push_release(struct imgfs_push *p);

extern const struct fuse_lowlevel_ops imgfs_fuse_ops;

#endif
