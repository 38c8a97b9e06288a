/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lookup counts of a read-write mount (nodes.c): how many references the
 * kernel holds to each node, so that an inode unlinked while in use is
 * freed when the last one goes (FORGET), or at unmount.  A read-only
 * mount frees nothing and counts nothing.
 */
#ifndef IMGFS_FUSE_NODES_H
#define IMGFS_FUSE_NODES_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct imgfs_fuse;

struct imgfs_node_count {
	uint64_t node;		/* 0: a free slot */
	uint64_t count;
};

/* An open-addressing table keyed by node id; the session owns it (conn.h). */
struct imgfs_nodes {
	pthread_mutex_t lock;
	struct imgfs_node_count *slots;
	size_t cap;		/* a power of two, or 0 */
	size_t used;
};

/*
 * An entry reply about @node is going out: the kernel will hold one more
 * reference.  Call it before the reply, and imgfs_nodes_forget(f, node, 1)
 * if the reply did not reach the kernel.  -ENOMEM if it cannot be counted
 * (answer the request with that error instead).
 */
int imgfs_nodes_ref(struct imgfs_fuse *f, fuse_ino_t node);

/* FORGET: the kernel let go of @n references; at none, the backend may free it. */
void imgfs_nodes_forget(struct imgfs_fuse *f, fuse_ino_t node, uint64_t n);

/* Inode @ino lost a name: free it now if the kernel holds no reference to it. */
void imgfs_nodes_unlinked(struct imgfs_fuse *f, uint64_t ino);

/* The session ends: let go of every reference left, before the backend closes. */
void imgfs_nodes_evict_all(struct imgfs_fuse *f);

/* How many nodes are referenced (tests). */
size_t imgfs_nodes_count(struct imgfs_fuse *f);

void imgfs_nodes_release(struct imgfs_nodes *n);

#endif
