/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lookup counts, for read-write mounts only.
 *
 * Every entry reply (LOOKUP, CREATE, MKNOD, MKDIR, SYMLINK, LINK and each
 * READDIRPLUS entry with a node id) gives the kernel one reference to the
 * node; FORGET gives references back.  When none is left the backend's
 * ->evict runs, which frees the inode if it has no links either: a file
 * unlinked while open lives until its last user is gone, as in the
 * kernel's own filesystems.  At unmount the references left are given
 * back all at once, so orphans are freed before the backend closes.
 *
 * The root is never counted: it is never freed.  The table is an
 * open-addressing hash (linear probing, backward-shift deletion) under
 * one mutex; the backend is called outside it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuse/conn.h"
#include "fuse/nodes.h"

static bool counting(struct imgfs_fuse *f, fuse_ino_t node)
{
	return f->fs->write_ops && node != FUSE_ROOT_ID && node != 0;
}

static size_t slot_of(const struct imgfs_nodes *n, uint64_t node)
{
	return (size_t)((node * 0x9e3779b97f4a7c15ULL) >> 17) & (n->cap - 1);
}

static struct imgfs_node_count *find(struct imgfs_nodes *n, uint64_t node)
{
	if (!n->cap)
		return NULL;
	for (size_t i = slot_of(n, node);; i = (i + 1) & (n->cap - 1)) {
		if (n->slots[i].node == node)
			return &n->slots[i];
		if (n->slots[i].node == 0)
			return NULL;
	}
}

/* Put @node (not in the table) in a free slot; there is room. */
static struct imgfs_node_count *insert(struct imgfs_nodes *n, uint64_t node, uint64_t count)
{
	size_t i = slot_of(n, node);

	while (n->slots[i].node)
		i = (i + 1) & (n->cap - 1);
	n->slots[i] = (struct imgfs_node_count){ .node = node, .count = count };
	n->used++;
	return &n->slots[i];
}

/* Keep the table at most half full. */
static int grow(struct imgfs_nodes *n)
{
	struct imgfs_node_count *old = n->slots;
	size_t old_cap = n->cap, cap = n->cap ? n->cap * 2 : 1024;

	if (2 * (n->used + 1) <= n->cap)
		return 0;
	n->slots = calloc(cap, sizeof(*n->slots));
	if (!n->slots) {
		n->slots = old;
		return -ENOMEM;
	}
	n->cap = cap;
	n->used = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].node)
			insert(n, old[i].node, old[i].count);
	free(old);
	return 0;
}

/* Empty slot @s, moving later entries of its run back so lookups still find them. */
static void remove_slot(struct imgfs_nodes *n, struct imgfs_node_count *s)
{
	size_t hole = (size_t)(s - n->slots), mask = n->cap - 1;

	for (size_t i = (hole + 1) & mask; n->slots[i].node; i = (i + 1) & mask) {
		size_t home = slot_of(n, n->slots[i].node);

		/* Entry i may move into the hole if its home is not in (hole, i]. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			n->slots[hole] = n->slots[i];
			hole = i;
		}
	}
	n->slots[hole].node = 0;
	n->used--;
}

static void evict(struct imgfs_fuse *f, uint64_t ino)
{
	struct imgfs_fs *fs = f->fs;
	int r;

	if (!fs->write_ops->evict)
		return;
	r = fs->write_ops->evict(fs, ino);
	if (r == -EUCLEAN)
		imgfs_fs_stop_writes(fs);
	else if (r < 0)
		log_warn("inode %llu: cannot free it: %s", (unsigned long long)ino, strerror(-r));
}

int imgfs_nodes_ref(struct imgfs_fuse *f, fuse_ino_t node)
{
	struct imgfs_nodes *n = &f->nodes;
	struct imgfs_node_count *s;
	int r = 0;

	if (!counting(f, node))
		return 0;
	pthread_mutex_lock(&n->lock);
	s = find(n, node);
	if (s)
		s->count++;
	else if ((r = grow(n)) == 0)
		insert(n, node, 1);
	pthread_mutex_unlock(&n->lock);
	return r;
}

void imgfs_nodes_forget(struct imgfs_fuse *f, fuse_ino_t node, uint64_t count)
{
	struct imgfs_nodes *n = &f->nodes;
	struct imgfs_node_count *s;
	bool last = false;

	if (!counting(f, node))
		return;
	pthread_mutex_lock(&n->lock);
	s = find(n, node);
	if (!s) {
		/* The kernel forgets only what it was given: a bug, but not the image's. */
		log_debug("FORGET of node %llu, which has no references",
			  (unsigned long long)node);
	} else if (s->count > count) {
		s->count -= count;
	} else {
		remove_slot(n, s);
		last = true;
	}
	pthread_mutex_unlock(&n->lock);
	/*
	 * Outside the lock: the backend takes its own.  A LOOKUP racing with
	 * this can only find an inode that still has a name, which ->evict
	 * leaves alone.
	 */
	if (last)
		evict(f, node_to_ino(f->fs, node));
}

void imgfs_nodes_unlinked(struct imgfs_fuse *f, uint64_t ino)
{
	struct imgfs_nodes *n = &f->nodes;
	fuse_ino_t node;
	bool held;

	if (ino == 0 || ino_to_node(f->fs, ino, &node) < 0 || !counting(f, node))
		return;
	pthread_mutex_lock(&n->lock);
	held = find(n, node) != NULL;
	pthread_mutex_unlock(&n->lock);
	if (!held)
		evict(f, ino);
}

void imgfs_nodes_evict_all(struct imgfs_fuse *f)
{
	struct imgfs_nodes *n = &f->nodes;
	struct imgfs_node_count *slots;
	size_t cap;

	pthread_mutex_lock(&n->lock);
	slots = n->slots;
	cap = n->cap;
	n->slots = NULL;
	n->cap = n->used = 0;
	pthread_mutex_unlock(&n->lock);
	for (size_t i = 0; i < cap; i++)
		if (slots[i].node)
			evict(f, node_to_ino(f->fs, slots[i].node));
	free(slots);
}

size_t imgfs_nodes_count(struct imgfs_fuse *f)
{
	size_t used;

	pthread_mutex_lock(&f->nodes.lock);
	used = f->nodes.used;
	pthread_mutex_unlock(&f->nodes.lock);
	return used;
}

void imgfs_nodes_release(struct imgfs_nodes *n)
{
	free(n->slots);
	n->slots = NULL;
	n->cap = n->used = 0;
}
