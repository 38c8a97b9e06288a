/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse/conn.h"
#include "fuse/ops.h"
#include "fuse/session.h"

/*
 * Kernel caches (entries, attributes, negative entries) never expire: a
 * read-only image does not change under the mount.  FUSE takes the
 * timeout as a double of seconds; a year is "forever" for every purpose.
 */
#define IMGFS_CACHE_TIMEOUT (365.0 * 24 * 3600)

struct imgfs_fuse_session {
	struct imgfs_fuse f;
	struct fuse_args args;
	char *argv[3];
	unsigned max_threads;
	long ncpus;			/* online CPUs, counted before the sandbox */
};

int imgfs_fuse_session_new(const struct imgfs_serve_options *opts,
			   struct imgfs_fuse_session **session)
{
	struct imgfs_fuse_session *s = calloc(1, sizeof(*s));

	if (!s) {
		close(opts->fuse_fd);
		return -ENOMEM;
	}
	s->f = (struct imgfs_fuse){
		.timeout = IMGFS_CACHE_TIMEOUT,
		.push = { .lock = PTHREAD_MUTEX_INITIALIZER },
		.nodes = { .lock = PTHREAD_MUTEX_INITIALIZER },
		.writeback_cache = !opts->no_writeback_cache,
		.atime = opts->atime,
		.nodiratime = opts->nodiratime,
		.listing_budget = opts->listing_budget ? opts->listing_budget :
							 IMGFS_LISTING_BUDGET_DEFAULT,
		.kiomap = {
			.lock = PTHREAD_MUTEX_INITIALIZER,
			.on_init = opts->on_init,
			.on_init_ctx = opts->on_init_ctx,
			.upsert_batch = opts->iomap_upsert_batch < 0 ? IMGFS_KIOMAP_UPSERT_BATCH :
					(unsigned)opts->iomap_upsert_batch,
			.test_backing_id = opts->test_iomap_backing_id,
			.debug = opts->debug,
		},
	};
	s->max_threads = opts->max_threads;
	/* Counted now: the sandbox forbids the open of /sys that sysconf makes. */
	s->ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	s->argv[0] = (char *)imgfs_log_prog();
	s->argv[1] = opts->debug ? "-d" : NULL;
	s->args = (struct fuse_args)FUSE_ARGS_INIT(opts->debug ? 2 : 1, s->argv);
	s->f.se = fuse_session_new(&s->args, &imgfs_fuse_ops, sizeof(imgfs_fuse_ops), &s->f);
	if (!s->f.se) {
		close(opts->fuse_fd);
		imgfs_fuse_session_free(s);
		return -EINVAL;
	}
	/*
	 * The descriptor is already mounted; the session reads and writes it
	 * through kiomap.c.  We never call fuse_session_unmount(): unmounting
	 * is the helper's or the user's business, never the server's.
	 */
	if (imgfs_kiomap_attach(&s->f.kiomap, s->f.se, opts->fuse_fd) < 0) {
		close(opts->fuse_fd);
		imgfs_fuse_session_free(s);
		return -EINVAL;
	}
	*session = s;
	return 0;
}

/*
 * Workers for a read-write mount: as many as CPUs, 2 to 4, not libfuse's
 * 10.  The kernel hands each request to the worker that has waited
 * longest, so with ten idle workers every request of a single writer
 * (tar) wakes a cold thread, often on the other CPU.  Measured on 2
 * cores, busy, untar of 6.7k entries + sync: 10 workers 8.1-8.9 s and
 * 3.2-3.6 s of server CPU, 2 workers 3.8-6.7 s and 1.6-2.4 s; mknod
 * 120-160 us with one worker, 210-280 us with ten.  Two or more keep a
 * read from waiting behind another file's long write.  Read-only mounts
 * keep libfuse's default: push.c's stores may wait on pages that other
 * workers' READs hold.
 */
static unsigned rw_threads(long ncpus)
{
	return ncpus < 2 ? 2 : ncpus > 4 ? 4 : (unsigned)ncpus;
}

int imgfs_fuse_session_serve(struct imgfs_fuse_session *s, struct imgfs_fs *fs)
{
	struct fuse_loop_config *cfg;
	int r;

	s->f.fs = fs;
	s->f.kiomap.fs = fs;
	if (fuse_set_signal_handlers(s->f.se) != 0)
		return -EINVAL;
	cfg = fuse_loop_cfg_create();
	if (!cfg) {
		fuse_remove_signal_handlers(s->f.se);
		return -ENOMEM;
	}
	/* clone_fd would reopen /dev/fuse, which the sandbox forbids. */
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	if (s->max_threads)
		fuse_loop_cfg_set_max_threads(cfg, s->max_threads);
	else if (imgfs_fuse_rw(&s->f))
		fuse_loop_cfg_set_max_threads(cfg, rw_threads(s->ncpus));
	r = fuse_session_loop_mt(s->f.se, cfg);
	/* libfuse returns -errno, or a signal number when one ended the loop. */
	r = r > 0 ? 0 : r;
	/*
	 * Orphans are freed now: the caller closes the backend before the
	 * session, so nothing after this (op_destroy in particular, from
	 * fuse_session_destroy) may reach it.
	 */
	if (imgfs_fuse_rw(&s->f))
		imgfs_nodes_evict_all(&s->f);
	s->f.fs = NULL;
	s->f.kiomap.fs = NULL;
	fuse_loop_cfg_destroy(cfg);
	fuse_remove_signal_handlers(s->f.se);
	return r;
}

void imgfs_fuse_session_free(struct imgfs_fuse_session *s)
{
	if (s->f.se)
		fuse_session_destroy(s->f.se);
	fuse_opt_free_args(&s->args);
	imgfs_push_release(&s->f.push);
	imgfs_nodes_release(&s->f.nodes);
	free(s);
}
