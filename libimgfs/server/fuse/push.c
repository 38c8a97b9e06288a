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
 *
 * A large file read from start to end (cp, dd, cat) is asked for 128 KiB
 * at a time, the readahead window the kernel gives a FUSE mount, and the
 * reader waits for each answer before the next is sent: one server thread
 * works while the others idle.  Once a read continues the one before it,
 * the thread that answered it stores the next STREAM_AHEAD bytes into the
 * kernel's cache, while other threads answer the reads that still come.
 */
#include "config.h"

#include <stdatomic.h>
#include <string.h>

#include "fuse/conn.h"
#include "fuse/push.h"
#include "fuse/read.h"

#define PUSH_AHEAD 32			/* files pushed ahead of the reader */
#define PUSH_MAX_FILE (128U << 10)	/* larger files are read on demand */
#define PUSH_LOOKAHEAD 8		/* a read may skip this many listed files */
#define PUSH_RUN 2			/* in-order reads before pushing starts */
#define STREAM_AHEAD (4U << 20)		/* bytes stored ahead of a sequential read */
#define STREAM_STORE (1U << 20)		/* bytes per FUSE_NOTIFY_STORE */
#define STREAM_SLACK (1U << 20)		/* reads this far out of order still continue */

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
				 &isize) < 0)
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

/* The stream of @node; NULL, with the least recently used one in *@oldest, if none. */
static struct imgfs_push_stream *find_stream(struct imgfs_push *p, fuse_ino_t node,
					     struct imgfs_push_stream **oldest)
{
	struct imgfs_push_stream *s;

	*oldest = &p->streams[0];
	for (s = p->streams; s < p->streams + ARRAY_SIZE(p->streams); s++) {
		if (s->node == node)
			return s;
		if (s->used < (*oldest)->used)
			*oldest = s;
	}
	return NULL;
}

void imgfs_push_stream(struct imgfs_fuse *f, fuse_ino_t node, uint64_t off, size_t size,
		       uint64_t isize)
{
	struct imgfs_push *p = &f->push;
	struct imgfs_push_stream *s, *oldest;
	uint64_t end = off + size, from = 0, to = 0;
	uint64_t ino = node_to_ino(f->fs, node);

	if (!f->se)
		return;
	pthread_mutex_lock(&p->lock);
	s = find_stream(p, node, &oldest);
	if (!s || off + STREAM_SLACK < s->next || off > s->stored + STREAM_SLACK) {
		/* A first read, or a jump: nothing to follow yet. */
		s = s ? s : oldest;
		*s = (struct imgfs_push_stream){ .node = node, .next = end, .stored = end };
	} else {
		s->next = MAX(s->next, end);
		from = MAX(s->stored, end);
		to = MIN(isize, end + STREAM_AHEAD);
		if (to > from && !atomic_flag_test_and_set(&pushing))
			s->stored = to;
		else
			to = from;
	}
	s->used = ++p->tick;
	pthread_mutex_unlock(&p->lock);
	if (to == from)
		return;

	/* Errors only stop the push: the reads themselves will say what is wrong. */
	while (from < to) {
		_cleanup_free_ struct fuse_bufvec *bv = NULL;
		_cleanup_free_ void *mem = NULL;
		uint64_t len = MIN(to - from, (uint64_t)STREAM_STORE), size_now;

		if (imgfs_fuse_plan_read(f->fs, ino, from, len, &bv, &mem, &size_now) < 0 ||
		    bv->count == 0 ||
		    fuse_lowlevel_notify_store(f->se, node, from, bv, 0) != 0)
			break;
		from += len;
	}
	atomic_flag_clear(&pushing);
}
