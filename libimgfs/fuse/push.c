/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pushing file data into the kernel's page cache before it is asked for.
 *
 * A program that copies a tree (tar, cp -r, rsync) lists a directory and
 * then reads its files whole, one after another, in listing order.  Each
 * small file then costs one READ round trip, and the round trip, not the
 * reading, is what such a copy waits on.  Once two files of the directory
 * listed last have been read whole in listing order, the data of the next
 * few small files is stored into the kernel's cache with
 * FUSE_NOTIFY_STORE, so their reads need no round trip at all.  Nothing is
 * pushed for a directory that is only listed (ls, du, find) or for reads
 * in any other order.
 */
#include "config.h"

#include <stdatomic.h>
#include <string.h>

#include "fuse/ops.h"

#define PUSH_AHEAD 32			/* files pushed ahead of the reader */
#define PUSH_MAX_FILE (128U << 10)	/* larger files are read on demand */
#define PUSH_LOOKAHEAD 8		/* a read may skip this many listed files */
#define PUSH_RUN 2			/* in-order reads before pushing starts */

void imgfs_push_set_dir(struct imgfs_fuse *f, uint64_t *nodes, size_t count)
{
	struct imgfs_push *p = &f->push;
	uint64_t *old;

	size_t old_count;

	pthread_mutex_lock(&p->lock);
	old = p->nodes;
	old_count = p->count;
	p->nodes = nodes;
	p->count = count;
	p->next = p->stored = 0;
	p->run = 0;
	pthread_mutex_unlock(&p->lock);
	free(old);
	imgfs_listing_uncharge(f, old_count * sizeof(*old));
}

void imgfs_push_release(struct imgfs_push *p)
{
	free(p->nodes);
	p->nodes = NULL;
}

/* Store all of small file @node in the kernel's cache; errors only skip it. */
static void push_file(struct imgfs_fuse *f, fuse_ino_t node)
{
	_cleanup_free_ struct fuse_bufvec *bv = NULL;
	_cleanup_free_ void *mem = NULL;
	uint64_t isize;

	if (imgfs_fuse_plan_read(f->fs, node_to_ino(f->fs, node), 0, PUSH_MAX_FILE, &bv, &mem,
				 &isize, NULL) < 0)
		return;
	if (bv->count == 0 || isize > PUSH_MAX_FILE)
		return;
	/* The kernel drops a store for an inode it no longer has: harmless. */
	fuse_lowlevel_notify_store(f->se, node, 0, bv, FUSE_BUF_SPLICE_MOVE);
}

/*
 * A store waits, uninterruptibly, for page locks that a READ in flight
 * holds until some server thread answers it.  One pusher at a time keeps
 * every other thread free to answer those READs.
 */
static atomic_flag pushing = ATOMIC_FLAG_INIT;

void imgfs_push_after_read(struct imgfs_fuse *f, fuse_ino_t node)
{
	struct imgfs_push *p = &f->push;
	uint64_t batch[PUSH_AHEAD];
	size_t from, to, i, end, n = 0;

	if (!f->se || atomic_flag_test_and_set(&pushing))
		return;
	pthread_mutex_lock(&p->lock);
	/* Files pushed already are read without asking: look past them. */
	end = MIN(p->count, MAX(p->next, p->stored) + PUSH_LOOKAHEAD);
	for (i = p->next; i < end && p->nodes[i] != node; i++)
		;
	if (i == end) {
		p->run = 0;	/* not the next file listed: no pattern to follow */
		pthread_mutex_unlock(&p->lock);
		atomic_flag_clear(&pushing);
		return;
	}
	p->next = i + 1;
	if (++p->run >= PUSH_RUN) {
		from = MAX(p->next, p->stored);
		to = MIN(p->count, p->next + PUSH_AHEAD);
		for (i = from; i < to; i++)
			batch[n++] = p->nodes[i];
		p->stored = MAX(p->stored, to);
	}
	pthread_mutex_unlock(&p->lock);

	for (i = 0; i < n; i++)
		push_file(f, batch[i]);
	atomic_flag_clear(&pushing);
}
