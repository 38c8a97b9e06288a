/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directory blocks already read and verified, per filesystem.  A lookup
 * reads the same node blocks every time, and `ls -l` looks names up in
 * readdir order, data block after data block; without a cache each of
 * those is a block map walk, a read and a CRC over the whole block.
 *
 * The image is read-only, so a block verified once stays valid for the
 * life of the xfs_fs.  Tiny, LRU, under a mutex of its own; hits copy
 * the block out, so callers never share a buffer.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "dir.h"

#define DIRCACHE_SLOTS 16

struct xfs_dircache {
	pthread_mutex_t lock;
	uint64_t clock;
	struct {
		uint64_t ino, fblk, last_use;
		uint32_t magic;
		char *data;		/* NULL: slot unused */
	} slot[DIRCACHE_SLOTS];
};

void xfs_dircache_free(struct xfs_dircache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < DIRCACHE_SLOTS; i++)
		free(c->slot[i].data);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The cache of @x, made on first use (NULL if memory is short: no caching). */
static struct xfs_dircache *cache_of(struct xfs_fs *x)
{
	struct xfs_dircache *c = atomic_load(&x->dircache), *expected = NULL;

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	if (!atomic_compare_exchange_strong(&x->dircache, &expected, c)) {
		xfs_dircache_free(c);
		return expected;
	}
	return c;
}

bool xd_cache_get(struct xdir *d, uint64_t fblk, const struct xfs_blk_verify *v, void *buf,
		  uint32_t *magic)
{
	struct xfs_dircache *c = cache_of(d->x);
	bool hit = false;

	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < DIRCACHE_SLOTS && !hit; i++) {
		if (!c->slot[i].data || c->slot[i].ino != d->ino || c->slot[i].fblk != fblk)
			continue;
		/* Verified as one kind of block: a hit only for a reader expecting that kind. */
		for (unsigned k = 0; k < v->nmagic; k++)
			if (v->magics[k] == c->slot[i].magic)
				hit = true;
		if (hit) {
			memcpy(buf, c->slot[i].data, d->blksize);
			*magic = c->slot[i].magic;
			c->slot[i].last_use = ++c->clock;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void xd_cache_put(struct xdir *d, uint64_t fblk, const void *buf, uint32_t magic)
{
	struct xfs_dircache *c = cache_of(d->x);
	size_t victim = 0;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < DIRCACHE_SLOTS; i++) {
		if (!c->slot[i].data) {
			victim = i;
			break;
		}
		if (c->slot[i].last_use < c->slot[victim].last_use)
			victim = i;
	}
	if (!c->slot[victim].data)
		c->slot[victim].data = malloc(d->blksize);
	if (c->slot[victim].data) {
		memcpy(c->slot[victim].data, buf, d->blksize);
		c->slot[victim].ino = d->ino;
		c->slot[victim].fblk = fblk;
		c->slot[victim].magic = magic;
		c->slot[victim].last_use = ++c->clock;
	}
	pthread_mutex_unlock(&c->lock);
}
