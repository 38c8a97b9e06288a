/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kiomap-sim's shared types: the options, the nodes with the kernel's
 * mapping cache, a session with one server, the result families, and
 * what kiomap-sess.c (the kernel's side of the connection) offers
 * kiomap-sim.c (the checks and the modes).
 */
#ifndef IMGFS_KIOMAP_SIM_H
#define IMGFS_KIOMAP_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fuse/fuse_iomap.h"

#define DEFAULT_BATCH 32

#define ALL_CONFIG_FLAGS (FUSE_IOMAP_CONFIG_SID | FUSE_IOMAP_CONFIG_UUID | \
			  FUSE_IOMAP_CONFIG_BLOCKSIZE | FUSE_IOMAP_CONFIG_MAX_LINKS | \
			  FUSE_IOMAP_CONFIG_TIME | FUSE_IOMAP_CONFIG_MAXBYTES | \
			  FUSE_IOMAP_CONFIG_CACHE_MAXBYTES)

/* A mainline kernel whose INIT bit 43 is FUSE_HAS_IO_URING_BUFPOOL (Linux 7.3). */
#define MAINLINE_MINOR 46

/* What a v7 kernel offers as each inode's mapping cache limit, and its ceiling. */
#define KERNEL_CACHE_MAXBYTES (256U << 10)
#define KERNEL_CACHE_MAX_MAXBYTES (2U << 20)

/* ---- results: one line per family of checks ---- */

enum family {
	F_INIT, F_CONFIG, F_ATTR, F_WALK, F_RANDOM, F_UPSERT, F_END, F_MALFORMED,
	F_PLAIN, F_READ, F_PIPELINE, F_ALIVE, F_ROUNDS, F_COUNT
};

/* The family that checked() and fail() count in. */
extern enum family cur;

__attribute__((format(printf, 1, 2)))
void fail(const char *fmt, ...);
void checked(void);
int report(const char *label);

/* ---- options and the truth outside the server ---- */

struct opts {
	const char *server, *image, *fstype, *kdir, *label;
	uint64_t offset, size, seed;
	uint32_t blocksize;
	uint8_t uuid[16];
	bool no_sandbox;
	bool refused;		/* "refused" mode: no --test-iomap-backing-id */
	int image_fd, kdir_fd;
	uint64_t image_size;
};

/* ---- nodes: what LOOKUP told, what the kernel's mount says ---- */

struct cache {			/* the kernel's mapping cache of one node */
	struct fuse_iomap_io *v;	/* sorted, not overlapping */
	size_t n, cap;
};

struct ranges {			/* file ranges NOTIFY_STORE filled */
	struct fuse_range *v;
	size_t n, cap;
};

struct node {
	uint64_t nodeid, attr_ino, isize;
	uint32_t mode, blksize;
	bool want_iomap;	/* S_ISREG and not inline in the kernel's view */
	bool known;		/* LOOKUP or READDIRPLUS gave its attributes */
	uint32_t kiomap;	/* sessions (sess.bit) whose kernel made it an iomap inode */
	char *path;		/* relative to the kernel's mount */
	struct cache cache;
	struct ranges stored;
};

struct node *node_find(uint64_t nodeid);
struct node *node_get(uint64_t nodeid, const char *path);
uint64_t map_end(const struct fuse_iomap_io *m);
const struct fuse_iomap_io *cache_find(const struct cache *c, uint64_t pos);
uint64_t ranges_end(const struct ranges *r, uint64_t pos);

/* ---- the kernel's view of a file: its own mount ---- */

extern char *data_buf[2];

int kernel_fd(struct node *n);
const char *map_str(const struct fuse_iomap_io *m);
int check_data(const struct opts *o, struct node *n, const struct fuse_iomap_io *m,
	       uint64_t from, uint64_t to, const char *what);

/* ---- a session: one server, one connection ---- */

struct sess {
	const struct opts *o;
	const char *name;	/* for messages */
	pid_t pid;
	int fd;
	bool broken;		/* a reply went missing or the server died */
	bool offer, iomap;	/* iomap offered, granted */
	uint32_t minor;		/* the INIT minor sent */
	uint32_t bit;		/* this session in node.kiomap */
	int batch;		/* --iomap-upsert-batch, -1: the default */
	uint64_t unique;
	char init[sizeof(struct fuse_init_out) + 64];
	size_t init_len;
	struct fuse_init_out init_out;
	struct fuse_iomap_config_out cfg;
	uint32_t fs_bs;		/* CONFIG's block size */
	int64_t maxbytes;
	uint32_t window;	/* max_pages * 4096 */
	/* upserts that arrived during the last call, in order */
	struct fuse_iomap_upsert_mappings_out *ups;
	size_t nups, capups;
	bool check_store_data;
	uint64_t stores;
};

struct reply {
	int32_t error;
	const char *data;	/* in recv_buf: valid until the next call */
	size_t len;
};

void sess_init(const struct opts *o);
int sess_start(struct sess *s, const struct opts *o, const char *name, bool offer,
	       int batch);
/* The same, as a kernel whose INIT says 7.@minor. */
int sess_start_at(struct sess *s, const struct opts *o, const char *name, uint32_t minor,
		  bool offer, int batch);
void sess_stop(struct sess *s);
/* Close with @requests requests unanswered: the server must still exit cleanly. */
void sess_leave(struct sess *s, unsigned requests);
void sess_alive(struct sess *s);
int sess_call(struct sess *s, uint32_t opcode, uint64_t nodeid, const void *in,
	      size_t inlen, struct reply *r);
void sess_drain(struct sess *s);

/* ---- requests as the kernel sends them ---- */

const char *sess_label(const struct sess *s);
uint32_t node_bs(const struct sess *s, const struct node *n);
void learn_attr(struct sess *s, struct node *n, const struct fuse_attr *a, const char *via);
int learn_truth(struct node *n, const struct opts *o);
int do_lookup(struct sess *s, uint64_t parent, const char *name, const char *path,
	      struct node **out);
void do_getattr(struct sess *s, struct node *n);
int do_begin(struct sess *s, struct node *n, uint32_t opflags, uint64_t pos,
	     uint64_t count, struct fuse_iomap_io *map, bool *retried);
/* @count BEGINs at @pos[], each with a GETATTR, all in flight at once. */
void pipelined_begins(struct sess *s, struct node *n, const uint64_t *pos, unsigned count);

#endif
