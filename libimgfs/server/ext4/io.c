/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An io_manager for libext2fs that reads the image descriptor we were given.
 *
 * The server is sandboxed and never opens paths, so libext2fs must not
 * either: its "device name" is only a description of the descriptor,
 * "imgfs-fd:<fd>:<offset>:<size>", which open() parses back.  No global
 * state, so several filesystems can be open at once.  Reads are pread()s
 * (thread-safe, no shared file offset), bounds-checked against the
 * filesystem's byte range.  A descriptor opened read-only fails writes
 * with EBADF, and ext4.c opens read-write only when the image is writable.
 *
 * On a writable descriptor, single metadata blocks go through a write-back
 * cache (struct bcache): an untar rewrites the same inode-table and
 * directory blocks several times per file (one CREATE wrote the inode
 * table block three times and the directory block once, after a pread of
 * each), and every SETATTR wrote its inode table block again.  It is the
 * only copy of metadata in the server: everything that reads metadata
 * (map.c, dir.c, inode.c, xattr.c through ext4_read_block or libext2fs)
 * goes through this io_channel, so it sees cached blocks.  The rules that
 * keep it right:
 *  - dirty blocks reach the image from writeback.c (imgfs_io_write_dirty,
 *    a moment after an op dirtied them) and at flush (io_channel_flush:
 *    fsync, fdatasync, syncfs and unmount, from ext2fs_flush2), which
 *    writes every dirty block, then fdatasync()s;
 *  - file data never lives here: the engine pwrite()s it to the fd and the
 *    read path preads it, so data blocks written or read by the backend
 *    (partial-block zeroing, an inline file moving to a block, zeroout)
 *    use imgfs_io_write_through/imgfs_io_read_through, and a block freed
 *    (the block_alloc_stats callbacks, ext4.c) is dropped, dirty or not,
 *    before it can become a data block;
 *  - multi-block and byte-granular I/O (bitmaps, the superblock) writes out
 *    the cached blocks it overlaps first and then goes to the fd.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ext4.h"

#define IO_NAME_PREFIX "imgfs-fd:"

/*
 * Blocks the cache holds: 4096 (16 MiB of 4 KiB blocks: the inode tables
 * and directories of an untar of tens of thousands of files), at most
 * 16 MiB of larger ones.
 */
#define BCACHE_BLOCKS 4096
#define BCACHE_BYTES (16U << 20)
#define BCACHE_HASH (BCACHE_BLOCKS * 2)
/* Range operations probe block by block up to this many blocks, else scan the cache. */
#define BCACHE_PROBE_MAX 64

struct bentry {
	uint64_t blk;
	struct bentry *hnext;		/* hash chain */
	struct bentry *prev, *next;	/* LRU list, most recent first */
	bool dirty;
	char *data;
};

struct bcache {
	pthread_mutex_t lock;
	size_t blocksize;		/* 0 until the first cached I/O */
	size_t cap;			/* entries in use at this block size */
	size_t used;
	size_t ndirty;
	struct bentry *lru_head, *lru_tail;
	struct bentry *free;		/* unused entries, chained by next */
	struct bentry *hash[BCACHE_HASH];
	struct bentry entries[BCACHE_BLOCKS];
	char *mem;			/* BCACHE_BLOCKS * blocksize */
};

struct io_private {
	int fd;
	uint64_t offset;	/* where the filesystem starts in the fd */
	uint64_t size;		/* bytes of filesystem */
	struct bcache *cache;	/* NULL on a read-only descriptor */
};

int imgfs_io_name(char *buf, size_t size, const struct imgfs_image *img)
{
	int n = snprintf(buf, size, IO_NAME_PREFIX "%d:%" PRIu64 ":%" PRIu64, img->fd,
			 img->offset, img->size);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int parse_name(const char *name, struct io_private *p)
{
	unsigned long long off, size;
	int fd, used = 0;

	if (!name || strncmp(name, IO_NAME_PREFIX, strlen(IO_NAME_PREFIX)))
		return -EINVAL;
	if (sscanf(name + strlen(IO_NAME_PREFIX), "%d:%llu:%llu%n", &fd, &off, &size,
		   &used) != 3 || name[strlen(IO_NAME_PREFIX) + used] != '\0' || fd < 0)
		return -EINVAL;
	p->fd = fd;
	p->offset = off;
	p->size = size;
	return 0;
}

static struct struct_io_manager imgfs_io_struct;

static errcode_t imgfs_io_open(const char *name, int flags, io_channel *channel)
{
	struct io_private *p = NULL;
	io_channel io = NULL;
	errcode_t err;

	err = ext2fs_get_memzero(sizeof(*io), &io);
	if (err)
		return err;
	err = ext2fs_get_memzero(sizeof(*p), &p);
	if (err)
		goto fail;
	if (parse_name(name, p) < 0) {
		err = EXT2_ET_BAD_DEVICE_NAME;
		goto fail;
	}
	if ((fcntl(p->fd, F_GETFL) & O_ACCMODE) != O_RDONLY) {
		p->cache = calloc(1, sizeof(*p->cache));
		if (!p->cache) {
			err = EXT2_ET_NO_MEMORY;
			goto fail;
		}
		pthread_mutex_init(&p->cache->lock, NULL);
	}
	err = ext2fs_get_mem(strlen(name) + 1, &io->name);
	if (err)
		goto fail;
	strcpy(io->name, name);
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = &imgfs_io_struct;
	io->block_size = 1024;
	io->refcount = 1;
	io->private_data = p;
	*channel = io;
	return 0;
fail:
	if (p) {
		free(p->cache);
		ext2fs_free_mem(&p);
	}
	ext2fs_free_mem(&io);
	return err;
}

/* ---- the image: bounds-checked pread/pwrite of filesystem byte ranges ---- */

/* Bounds-check @len bytes at filesystem byte @pos; 0 or an errcode. */
static errcode_t check_range(const struct io_private *p, uint64_t pos, uint64_t len)
{
	return pos > p->size || len > p->size - pos ? EXT2_ET_LLSEEK_FAILED : 0;
}

static errcode_t pread_all(const struct io_private *p, void *data, uint64_t len, uint64_t pos)
{
	if (pos > p->size || len > p->size - pos) {
		/* Past the end of the filesystem: a corrupt pointer or a truncated image. */
		memset(data, 0, len);
		return EXT2_ET_SHORT_READ;
	}
	pos += p->offset;
	for (char *buf = data; len;) {
		ssize_t n = pread(p->fd, buf, len, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;	/* a real I/O error, not corruption */
		if (n == 0) {
			memset(buf, 0, len);
			return EXT2_ET_SHORT_READ;	/* the image shrank under us */
		}
		buf += n;
		pos += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static errcode_t pwrite_all(const struct io_private *p, const void *data, uint64_t len,
			    uint64_t pos)
{
	errcode_t err = check_range(p, pos, len);

	if (err)
		return err;	/* libext2fs asked for a block outside the filesystem */
	pos += p->offset;
	for (const char *buf = data; len;) {
		ssize_t n = pwrite(p->fd, buf, len, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EXT2_ET_SHORT_WRITE;
		buf += n;
		pos += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* The byte length of @count (blocks, or bytes when negative). */
static uint64_t io_len(io_channel io, int count)
{
	return count < 0 ? (uint64_t)-(int64_t)count : (uint64_t)count * (uint64_t)io->block_size;
}

/* ---- the block cache (called with its lock held) ---- */

static struct bentry **bc_slot(struct bcache *c, uint64_t blk)
{
	return &c->hash[(blk * 0x9E3779B97F4A7C15ULL >> 40) % BCACHE_HASH];
}

static struct bentry *bc_find(struct bcache *c, uint64_t blk)
{
	for (struct bentry *e = *bc_slot(c, blk); e; e = e->hnext)
		if (e->blk == blk)
			return e;
	return NULL;
}

static void lru_unlink(struct bcache *c, struct bentry *e)
{
	*(e->prev ? &e->prev->next : &c->lru_head) = e->next;
	*(e->next ? &e->next->prev : &c->lru_tail) = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct bcache *c, struct bentry *e)
{
	e->prev = NULL;
	e->next = c->lru_head;
	*(c->lru_head ? &c->lru_head->prev : &c->lru_tail) = e;
	c->lru_head = e;
}

static void bc_remove(struct bcache *c, struct bentry *e)
{
	struct bentry **pp = bc_slot(c, e->blk);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	if (e->dirty)
		c->ndirty--;
	e->dirty = false;
	e->next = c->free;
	c->free = e;
	c->used--;
}

static errcode_t bc_writeout(struct io_private *p, struct bentry *e)
{
	struct bcache *c = p->cache;
	errcode_t err;

	if (!e->dirty)
		return 0;
	err = pwrite_all(p, e->data, c->blocksize, e->blk * c->blocksize);
	if (err)
		return err;	/* stays dirty: the next flush tries again */
	e->dirty = false;
	c->ndirty--;
	return 0;
}

/* Make the cache hold blocks of @bs bytes; everything cached before is written and dropped. */
static errcode_t bc_setup(struct io_private *p, size_t bs)
{
	struct bcache *c = p->cache;

	if (c->blocksize == bs)
		return 0;
	while (c->lru_head) {
		errcode_t err = bc_writeout(p, c->lru_head);

		if (err)
			return err;
		bc_remove(c, c->lru_head);
	}
	free(c->mem);
	c->cap = MAX(MIN((size_t)BCACHE_BLOCKS, BCACHE_BYTES / bs), (size_t)16);
	c->mem = malloc(c->cap * bs);
	if (!c->mem) {
		c->blocksize = 0;
		return EXT2_ET_NO_MEMORY;
	}
	c->blocksize = bs;
	c->free = NULL;
	for (size_t i = 0; i < c->cap; i++) {
		c->entries[i].data = c->mem + i * bs;
		c->entries[i].next = c->free;
		c->free = &c->entries[i];
	}
	return 0;
}

/* A free entry for @blk, evicting (and writing) the least recently used one if need be. */
static errcode_t bc_new(struct io_private *p, uint64_t blk, struct bentry **out)
{
	struct bcache *c = p->cache;
	struct bentry *e = c->free;

	if (!e) {
		errcode_t err = bc_writeout(p, c->lru_tail);

		if (err)
			return err;
		bc_remove(c, c->lru_tail);
		e = c->free;
	}
	c->free = e->next;
	e->blk = blk;
	e->dirty = false;
	e->hnext = *bc_slot(c, blk);
	*bc_slot(c, blk) = e;
	lru_push(c, e);
	c->used++;
	*out = e;
	return 0;
}

/*
 * The cached blocks in [@blk, @blk + @count): written out first unless
 * @forget, then dropped when @drop (or @forget).
 */
static errcode_t bc_range(struct io_private *p, uint64_t blk, uint64_t count, bool drop,
			  bool forget)
{
	struct bcache *c = p->cache;
	errcode_t err;

	if (!c->used)
		return 0;
	if (count <= BCACHE_PROBE_MAX) {
		for (uint64_t b = blk; b < blk + count; b++) {
			struct bentry *e = bc_find(c, b);

			if (!e)
				continue;
			if (!forget && (err = bc_writeout(p, e)))
				return err;
			if (drop || forget)
				bc_remove(c, e);
		}
		return 0;
	}
	for (struct bentry *e = c->lru_head, *next; e; e = next) {
		next = e->next;
		if (e->blk < blk || e->blk - blk >= count)
			continue;
		if (!forget && (err = bc_writeout(p, e)))
			return err;
		if (drop || forget)
			bc_remove(c, e);
	}
	return 0;
}

/* The cached blocks a byte range at filesystem byte @pos overlaps, as bc_range. */
static errcode_t bc_bytes(struct io_private *p, uint64_t pos, uint64_t len, bool drop)
{
	uint64_t bs = p->cache->blocksize;

	if (!bs || !len)
		return 0;
	return bc_range(p, pos / bs, (pos + len - 1) / bs - pos / bs + 1, drop, false);
}

static int cmp_blk(const void *a, const void *b)
{
	const struct bentry *x = *(struct bentry *const *)a, *y = *(struct bentry *const *)b;

	return x->blk < y->blk ? -1 : x->blk > y->blk;
}

/* Write every dirty block, in block order. */
static errcode_t bc_flush(struct io_private *p)
{
	struct bcache *c = p->cache;
	struct bentry **v;
	size_t n = 0;
	errcode_t err = 0;

	if (!c->ndirty)
		return 0;
	v = malloc(c->ndirty * sizeof(*v));
	if (!v) {
		/* Still correct, only unsorted. */
		for (struct bentry *e = c->lru_head; e && !err; e = e->next)
			err = bc_writeout(p, e);
		return err;
	}
	for (struct bentry *e = c->lru_head; e; e = e->next)
		if (e->dirty)
			v[n++] = e;
	qsort(v, n, sizeof(*v), cmp_blk);
	for (size_t i = 0; i < n && !err; i++)
		err = bc_writeout(p, v[i]);
	free(v);
	return err;
}

static void bc_free(struct bcache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->mem);
	free(c);
}

/* ---- the io_manager ---- */

static errcode_t imgfs_io_close(io_channel io)
{
	struct io_private *p = io->private_data;

	if (--io->refcount > 0)
		return 0;
	if (p->cache) {
		/* ext2fs_close flushed already; this only catches a close without it. */
		pthread_mutex_lock(&p->cache->lock);
		errcode_t err = bc_flush(p);
		pthread_mutex_unlock(&p->cache->lock);
		if (err)
			log_err("ext4: %s writing cached metadata at close", ext4_strerror(err));
		bc_free(p->cache);
	}
	/* The descriptor belongs to the image, not to us: do not close it. */
	ext2fs_free_mem(&io->private_data);
	ext2fs_free_mem(&io->name);
	ext2fs_free_mem(&io);
	return 0;
}

static errcode_t imgfs_io_set_blksize(io_channel io, int blksize)
{
	struct io_private *p = io->private_data;
	errcode_t err = 0;

	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	if (p->cache && blksize != io->block_size && p->cache->blocksize) {
		/* Cached blocks are of the old size: write them and start over. */
		pthread_mutex_lock(&p->cache->lock);
		err = bc_setup(p, (size_t)blksize);
		pthread_mutex_unlock(&p->cache->lock);
	}
	io->block_size = blksize;
	return err;
}

/*
 * Uncached I/O of @count (blocks or -bytes) at @block: the cached blocks it
 * overlaps are written first, and dropped when @drop (a write replaces them).
 */
static errcode_t io_direct(io_channel io, uint64_t block, int count, void *rbuf,
			   const void *wbuf, bool drop)
{
	struct io_private *p = io->private_data;
	uint64_t len = io_len(io, count), pos;
	errcode_t err = 0;

	if (len == 0)
		return 0;
	if (__builtin_mul_overflow(block, (uint64_t)io->block_size, &pos)) {
		if (rbuf)
			memset(rbuf, 0, len);
		return rbuf ? EXT2_ET_SHORT_READ : EXT2_ET_LLSEEK_FAILED;
	}
	if (p->cache)
		pthread_mutex_lock(&p->cache->lock);
	if (p->cache && check_range(p, pos, len) == 0)
		err = bc_bytes(p, pos, len, drop);
	if (!err)
		err = rbuf ? pread_all(p, rbuf, len, pos) : pwrite_all(p, wbuf, len, pos);
	if (p->cache)
		pthread_mutex_unlock(&p->cache->lock);
	return err;
}

/* @blk's entry, most recently used now; a new one (*@fresh, bytes unset) if it had none. */
static errcode_t bc_get(struct io_private *p, uint64_t blk, struct bentry **out, bool *fresh)
{
	struct bcache *c = p->cache;
	struct bentry *e = bc_find(c, blk);

	*fresh = !e;
	if (!e)
		return bc_new(p, blk, out);
	lru_unlink(c, e);
	lru_push(c, e);
	*out = e;
	return 0;
}

static errcode_t imgfs_io_read_blk64(io_channel io, unsigned long long block, int count,
				     void *data)
{
	struct io_private *p = io->private_data;
	struct bcache *c = p->cache;
	struct bentry *e;
	uint64_t pos;
	errcode_t err;
	bool fresh;

	if (!c || count != 1 ||
	    __builtin_mul_overflow((uint64_t)block, (uint64_t)io->block_size, &pos) ||
	    check_range(p, pos, (uint64_t)io->block_size))
		return io_direct(io, block, count, data, NULL, false);
	pthread_mutex_lock(&c->lock);
	err = bc_setup(p, (size_t)io->block_size);
	if (err)
		goto out;
	err = bc_get(p, block, &e, &fresh);
	if (err)
		goto out;
	if (fresh) {
		err = pread_all(p, e->data, c->blocksize, pos);
		if (err) {
			bc_remove(c, e);
			memset(data, 0, c->blocksize);
			goto out;
		}
	}
	memcpy(data, e->data, c->blocksize);
out:
	pthread_mutex_unlock(&c->lock);
	return err;
}

static errcode_t imgfs_io_read_blk(io_channel io, unsigned long block, int count, void *data)
{
	return imgfs_io_read_blk64(io, block, count, data);
}

static errcode_t imgfs_io_write_blk64(io_channel io, unsigned long long block, int count,
				      const void *data)
{
	struct io_private *p = io->private_data;
	struct bcache *c = p->cache;
	struct bentry *e;
	uint64_t pos;
	errcode_t err;
	bool fresh;

	if (!c || count != 1)
		return io_direct(io, block, count, NULL, data, true);
	if (__builtin_mul_overflow((uint64_t)block, (uint64_t)io->block_size, &pos) ||
	    check_range(p, pos, (uint64_t)io->block_size))
		return EXT2_ET_LLSEEK_FAILED;	/* a block outside the filesystem */
	pthread_mutex_lock(&c->lock);
	err = bc_setup(p, (size_t)io->block_size);
	if (err)
		goto out;
	err = bc_get(p, block, &e, &fresh);
	if (err)
		goto out;
	memcpy(e->data, data, c->blocksize);
	if (!e->dirty) {
		e->dirty = true;
		c->ndirty++;
	}
out:
	pthread_mutex_unlock(&c->lock);
	return err;
}

static errcode_t imgfs_io_write_blk(io_channel io, unsigned long block, int count,
				    const void *data)
{
	return imgfs_io_write_blk64(io, block, count, data);
}

/* Byte-granular writes: libext2fs writes the primary superblock this way. */
static errcode_t imgfs_io_write_byte(io_channel io, unsigned long offset, int count,
				     const void *data)
{
	struct io_private *p = io->private_data;
	errcode_t err = 0;

	if (count < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	if (p->cache) {
		pthread_mutex_lock(&p->cache->lock);
		if (check_range(p, offset, (uint64_t)count) == 0)
			err = bc_bytes(p, offset, (uint64_t)count, true);
	}
	if (!err)
		err = pwrite_all(p, data, (uint64_t)count, offset);
	if (p->cache)
		pthread_mutex_unlock(&p->cache->lock);
	return err;
}

static errcode_t imgfs_io_flush(io_channel io)
{
	struct io_private *p = io->private_data;
	errcode_t err;

	/* Read-only descriptors have nothing to flush (and fdatasync would say EBADF). */
	if (!p->cache)
		return 0;
	pthread_mutex_lock(&p->cache->lock);
	err = bc_flush(p);
	pthread_mutex_unlock(&p->cache->lock);
	if (err)
		return err;
	return fdatasync(p->fd) < 0 ? errno : 0;
}

errcode_t imgfs_io_write_through(io_channel io, unsigned long long block, int count,
				 const void *data)
{
	if (io->manager != &imgfs_io_struct)
		return io_channel_write_blk64(io, block, count, data);
	return io_direct(io, block, count, NULL, data, true);
}

errcode_t imgfs_io_read_through(io_channel io, unsigned long long block, int count, void *data)
{
	if (io->manager != &imgfs_io_struct)
		return io_channel_read_blk64(io, block, count, data);
	return io_direct(io, block, count, data, NULL, true);
}

bool imgfs_io_has_dirty(io_channel io)
{
	struct io_private *p = io->private_data;

	return io->manager == &imgfs_io_struct && p->cache && p->cache->ndirty;
}

errcode_t imgfs_io_write_dirty(io_channel io)
{
	struct io_private *p = io->private_data;
	errcode_t err;

	if (!imgfs_io_has_dirty(io))
		return 0;
	pthread_mutex_lock(&p->cache->lock);
	err = bc_flush(p);
	pthread_mutex_unlock(&p->cache->lock);
	return err;
}

void imgfs_io_forget(io_channel io, unsigned long long block, unsigned long long count)
{
	struct io_private *p = io->private_data;

	if (io->manager != &imgfs_io_struct || !p->cache)
		return;
	pthread_mutex_lock(&p->cache->lock);
	bc_range(p, block, count, true, true);
	pthread_mutex_unlock(&p->cache->lock);
}

static errcode_t imgfs_io_set_option(io_channel io, const char *option, const char *arg)
{
	return EXT2_ET_INVALID_ARGUMENT;
}

/* Discard is advice libext2fs may ignore: the blocks keep their bytes. */
static errcode_t imgfs_io_discard(io_channel io, unsigned long long block,
				  unsigned long long count)
{
	return EXT2_ET_UNIMPLEMENTED;
}

/* Zero @count blocks at @block (ext2fs_zero_blocks2, fallocate's zeroing). */
static errcode_t imgfs_io_zeroout(io_channel io, unsigned long long block,
				  unsigned long long count)
{
	static const char zeros[65536];
	struct io_private *p = io->private_data;
	uint64_t pos, len;

	if (__builtin_mul_overflow((uint64_t)block, (uint64_t)io->block_size, &pos) ||
	    __builtin_mul_overflow((uint64_t)count, (uint64_t)io->block_size, &len) ||
	    check_range(p, pos, len))
		return EXT2_ET_LLSEEK_FAILED;
	if (p->cache) {
		/* Zeroed blocks are file data (fallocate): no cached copy may outlive them. */
		pthread_mutex_lock(&p->cache->lock);
		bc_range(p, block, count, true, true);
		pthread_mutex_unlock(&p->cache->lock);
	}
	while (len) {
		uint64_t n = MIN(len, (uint64_t)sizeof(zeros));
		errcode_t err = pwrite_all(p, zeros, n, pos);

		if (err)
			return err;
		pos += n;
		len -= n;
	}
	return 0;
}

static errcode_t imgfs_io_cache_readahead(io_channel io, unsigned long long block,
					  unsigned long long count)
{
	return 0;	/* the kernel's page cache of the image does this for us */
}

static struct struct_io_manager imgfs_io_struct = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "imgfs fd I/O manager",
	.open = imgfs_io_open,
	.close = imgfs_io_close,
	.set_blksize = imgfs_io_set_blksize,
	.read_blk = imgfs_io_read_blk,
	.write_blk = imgfs_io_write_blk,
	.flush = imgfs_io_flush,
	.write_byte = imgfs_io_write_byte,
	.set_option = imgfs_io_set_option,
	.read_blk64 = imgfs_io_read_blk64,
	.write_blk64 = imgfs_io_write_blk64,
	.discard = imgfs_io_discard,
	.cache_readahead = imgfs_io_cache_readahead,
	.zeroout = imgfs_io_zeroout,
};

io_manager imgfs_io_manager = &imgfs_io_struct;
