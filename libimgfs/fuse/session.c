/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "fuse/ops.h"
#include "fuse/session.h"

/*
 * Kernel caches (entries, attributes, negative entries) never expire: a
 * read-only image does not change under the mount.  FUSE takes the
 * timeout as a double of seconds; a year is "forever" for every purpose.
 */
#define IMGFS_CACHE_TIMEOUT (365.0 * 24 * 3600)

int imgfs_fuse_serve(struct imgfs_fs *fs, const struct imgfs_serve_options *opts)
{
	struct imgfs_fuse f = {
		.fs = fs,
		.timeout = IMGFS_CACHE_TIMEOUT,
		.on_init = opts->on_init,
		.on_init_ctx = opts->on_init_ctx,
		.push = { .lock = PTHREAD_MUTEX_INITIALIZER },
	};
	char *argv[] = { (char *)imgfs_log_prog(), opts->debug ? "-d" : NULL, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(opts->debug ? 2 : 1, argv);
	struct fuse_loop_config *cfg = NULL;
	struct fuse_session *se;
	char devpath[32];
	int r;

	se = fuse_session_new(&args, &imgfs_fuse_ops, sizeof(imgfs_fuse_ops), &f);
	if (!se) {
		close(opts->fuse_fd);
		return -EINVAL;
	}
	/*
	 * "/dev/fd/N" tells libfuse the descriptor is already mounted.  We
	 * never call fuse_session_unmount(): unmounting is the helper's or
	 * the user's business, never the server's.
	 */
	snprintf(devpath, sizeof(devpath), "/dev/fd/%d", opts->fuse_fd);
	if (fuse_session_mount(se, devpath) != 0) {
		close(opts->fuse_fd);
		r = -EINVAL;
		goto out;
	}
	f.se = se;
	if (fuse_set_signal_handlers(se) != 0) {
		r = -EINVAL;
		goto out;
	}
	cfg = fuse_loop_cfg_create();
	if (!cfg) {
		r = -ENOMEM;
		goto out_signals;
	}
	/* clone_fd would reopen /dev/fuse, which the sandbox forbids. */
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	if (opts->max_threads)
		fuse_loop_cfg_set_max_threads(cfg, opts->max_threads);
	r = fuse_session_loop_mt(se, cfg);
	/* libfuse returns -errno, or a signal number when one ended the loop. */
	r = r > 0 ? 0 : r;
	fuse_loop_cfg_destroy(cfg);
out_signals:
	fuse_remove_signal_handlers(se);
out:
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	imgfs_push_release(&f.push);
	return r;
}
