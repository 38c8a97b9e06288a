/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * When metadata a change left in memory reaches the image.
 *
 * An op changes blocks in io.c's cache, and libext2fs keeps the
 * superblock, the group descriptors and the bitmaps in memory.  On a
 * read-write mount a thread writes all of it to the image a short while
 * (EXT4_WRITEBACK_MS) after the first op that dirtied it, as the kernel's
 * writeback does for its buffers, so an untar writes each inode table and
 * directory block once per interval rather than once per op (it was 8
 * pwrites per file, a third of the server's time).  The writeback takes
 * the filesystem lock, so the image it leaves holds whole ops only.  It
 * does not fdatasync: durability is fsync's (ext4_rw_sync), and the
 * unmount writes what is left.  FUSE never sends the syncfs of sync(2)
 * (the kernel sends SYNCFS to virtiofs only), so after sync(2) the image
 * lags the mount by at most this interval.
 *
 * Without the thread (it could not start) every op writes the cached
 * blocks it dirtied as it ends.
 */
#include "config.h"

#include <stdlib.h>

#include "ext4.h"

#define EXT4_WRITEBACK_MS 200

struct ext4_writeback {
	struct ext4_fs *e;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	atomic_bool pending;	/* something is dirty and the thread knows it */
	bool stop;
};

/* libext2fs holds a changed superblock, descriptors or bitmaps. */
static bool super_dirty(const struct ext4_fs *e)
{
	return e->fs->flags & (EXT2_FLAG_DIRTY | EXT2_FLAG_BB_DIRTY | EXT2_FLAG_IB_DIRTY);
}

/*
 * Everything in memory to the image (only io.c's cache when
 * @cache_only), without fdatasync.  Under the lock.  After corruption or
 * a lost MMP block nothing more is written.
 */
static void write_dirty(struct ext4_fs *e, bool cache_only)
{
	errcode_t code = 0;

	if (ext4_may_write(e) < 0)
		return;
	if (!cache_only && super_dirty(e)) {
		e->fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
		code = ext2fs_flush2(e->fs, EXT2_FLAG_FLUSH_NO_SYNC);
	}
	if (!code)
		code = imgfs_io_write_dirty(e->fs->io);
	if (code)
		log_err("%s: cannot write metadata: %s", e->base.img->path, ext4_strerror(code));
}

void ext4_op_end(struct ext4_fs *e)
{
	struct ext4_writeback *w = e->writeback;

	if (!e->fs || !e->rw || !(super_dirty(e) || imgfs_io_has_dirty(e->fs->io)))
		return;
	if (!w) {
		/* The bitmaps and descriptors wait for fsync or the unmount then. */
		write_dirty(e, true);
		return;
	}
	if (atomic_exchange(&w->pending, true))
		return;
	pthread_mutex_lock(&w->lock);
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

static void *writeback_thread(void *arg)
{
	struct ext4_writeback *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		if (!atomic_load(&w->pending)) {
			pthread_cond_wait(&w->wake, &w->lock);
			continue;
		}
		/* Let the ops that follow dirty the same blocks first. */
		if (cond_wait_unless_stopped(&w->wake, &w->lock, &w->stop, EXT4_WRITEBACK_MS))
			break;
		/* Cleared first: an op ending during the write asks again. */
		atomic_store(&w->pending, false);
		pthread_mutex_unlock(&w->lock);
		pthread_mutex_lock(&w->e->lock);
		write_dirty(w->e, false);
		pthread_mutex_unlock(&w->e->lock);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void writeback_free(struct ext4_writeback *w)
{
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void ext4_writeback_start(struct ext4_fs *e)
{
	struct ext4_writeback *w = calloc(1, sizeof(*w));

	if (!w)
		return;		/* ops write as they end */
	w->e = e;
	pthread_mutex_init(&w->lock, NULL);
	cond_init_monotonic(&w->wake);
	atomic_init(&w->pending, false);
	if (pthread_create(&w->thread, NULL, writeback_thread, w) != 0) {
		writeback_free(w);
		return;
	}
	e->writeback = w;
}

void ext4_writeback_stop(struct ext4_fs *e)
{
	struct ext4_writeback *w = e->writeback;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	e->writeback = NULL;	/* from here on, ops write as they end */
	writeback_free(w);
}
