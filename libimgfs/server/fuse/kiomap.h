/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuse-iomap: handing the kernel mappings instead of data, where the
 * kernel offers it (see fuse_iomap.h for the protocol).
 *
 * Debian's libfuse knows nothing of it, so the session runs over our own
 * read/writev (fuse_session_custom_io): INIT is watched on its way in and
 * its reply gets the FUSE_IOMAP flag and minor 99 on its way out; the
 * IOMAP_* requests are answered here, from the mapping engine, and never
 * reach libfuse.  Everything else, and every session whose kernel does not
 * offer iomap, is exactly as libfuse does it.
 */
#ifndef IMGFS_FUSE_KIOMAP_H
#define IMGFS_FUSE_KIOMAP_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fuse/fuse_iomap.h"

/* Mappings uploaded per OPEN and per cache miss, unless told otherwise. */
#define IMGFS_KIOMAP_UPSERT_BATCH 32

#include "fs.h"

struct imgfs_kiomap {
	struct imgfs_fs *fs;		/* set before the session serves */
	struct fuse_session *se;
	int fuse_fd;
	/* Called once INIT is answered, with which path file data takes and why. */
	void (*on_init)(void *ctx, const char *data_path);
	void *on_init_ctx;
	unsigned upsert_batch;		/* 0: no upserts, no RETRY_CACHE */
	/*
	 * Test only: act as if FUSE_DEV_IOC_BACKING_OPEN had registered the
	 * image as this backing id, for a kernel simulator on a socket.
	 */
	uint32_t test_backing_id;
	bool debug;

	uint64_t init_unique;		/* the INIT request, once seen */
	bool init_seen, init_answered;
	bool accepted;			/* FUSE_IOMAP set in our INIT reply */
	uint64_t maxbytes;		/* largest file offset a mapping may start at */
	/*
	 * The registered device, or 0: then no file is served through
	 * iomap, though the connection speaks it.  Set once, under @lock,
	 * before any file can be looked up.
	 */
	pthread_mutex_t lock;
	atomic_bool registered;
	_Atomic uint32_t backing_id;
	char data_path[192];		/* which path file data takes, and why */
};

/*
 * Run session @se over @fuse_fd through the iomap-aware read/writev.  The
 * session's userdata must begin with @k: libfuse hands it to them.
 */
int imgfs_kiomap_attach(struct imgfs_kiomap *k, struct fuse_session *se, int fuse_fd);

/* True when file data goes through the kernel's iomap for this session. */
static inline bool imgfs_kiomap_active(const struct imgfs_kiomap *k)
{
	return atomic_load(&k->backing_id) != 0;
}

/*
 * Set FUSE_ATTR_IOMAP with FUSE_ATTR_EXCLUSIVE (and the block size its
 * mappings are aligned to) in @attr when inode @ino, described by @st, is
 * served through iomap.
 */
void imgfs_kiomap_mark(struct imgfs_kiomap *k, uint64_t ino, const struct stat *st,
		       struct fuse_attr *attr);

/* File @node is being opened: upload its first mappings. */
void imgfs_kiomap_open(struct imgfs_kiomap *k, fuse_ino_t node);

#endif
