/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuse-iomap: handing the kernel mappings instead of data, where the
 * kernel offers it (see fuse_iomap.h for the protocol).
 *
 * Debian's libfuse knows nothing of it, so the session runs over our own
 * read/writev (fuse_session_custom_io): INIT is watched on its way in and
 * its reply gets the FUSE_IOMAP flag and minor 99 on its way out; the
 * IOMAP_* requests are answered here and never reach libfuse.  Everything
 * else, and every session whose kernel does not offer iomap, is exactly as
 * libfuse does it.
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

struct imgfs_fuse;

struct imgfs_kiomap {
	int fuse_fd;
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

/* Run the session over @fuse_fd through the iomap-aware read/writev. */
int imgfs_kiomap_attach(struct imgfs_fuse *f, int fuse_fd);

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
void imgfs_kiomap_mark(struct imgfs_fuse *f, uint64_t ino, const struct stat *st,
		       struct fuse_attr *attr);

/*
 * LOOKUP and GETATTR replies: libfuse's own, or under kernel iomap ours,
 * which carry the flag fuse_reply_entry/attr cannot.
 */
void imgfs_kiomap_reply_entry(fuse_req_t req, struct imgfs_fuse *f,
			      const struct fuse_entry_param *e);
void imgfs_kiomap_reply_attr(fuse_req_t req, struct imgfs_fuse *f, const struct stat *st);

/* File @node is being opened: upload its first mappings. */
void imgfs_kiomap_open(struct imgfs_fuse *f, fuse_ino_t node);

#endif
