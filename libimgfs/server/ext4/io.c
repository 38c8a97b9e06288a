/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An io_manager for libext2fs that reads the image descriptor we were given.
 *
 * The server is sandboxed and never opens paths, so libext2fs must not
 * either: its "device name" is only a description of the descriptor,
 * "imgfs-fd:<fd>:<offset>:<size>", which open() parses back.  No global
 * state, so several filesystems can be open at once.  Reads are pread()s
 * (thread-safe, no shared file offset), bounds-checked against the
 * filesystem's byte range.  Writes are pwrite()s straight through, with no
 * cache of ours, so the read path (which reads blocks itself) always sees
 * what libext2fs wrote; flush is fdatasync().  A descriptor opened
 * read-only fails writes with EBADF, and ext4.c opens read-write only when
 * the image is writable.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "ext4.h"

#define IO_NAME_PREFIX "imgfs-fd:"

struct io_private {
	int fd;
	uint64_t offset;	/* where the filesystem starts in the fd */
	uint64_t size;		/* bytes of filesystem */
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
	if (p)
		ext2fs_free_mem(&p);
	ext2fs_free_mem(&io);
	return err;
}

static errcode_t imgfs_io_close(io_channel io)
{
	if (--io->refcount > 0)
		return 0;
	/* The descriptor belongs to the image, not to us: do not close it. */
	ext2fs_free_mem(&io->private_data);
	ext2fs_free_mem(&io->name);
	ext2fs_free_mem(&io);
	return 0;
}

static errcode_t imgfs_io_set_blksize(io_channel io, int blksize)
{
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	io->block_size = blksize;
	return 0;
}

static errcode_t imgfs_io_read_blk64(io_channel io, unsigned long long block, int count,
				     void *data)
{
	const struct io_private *p = io->private_data;
	/* A negative count is a byte count, as in every io_manager. */
	uint64_t len = count < 0 ? (uint64_t)-(int64_t)count
				 : (uint64_t)count * (uint64_t)io->block_size;
	uint64_t pos;

	if (len == 0)
		return 0;
	if (__builtin_mul_overflow((uint64_t)block, (uint64_t)io->block_size, &pos) ||
	    pos > p->size || len > p->size - pos) {
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

static errcode_t imgfs_io_read_blk(io_channel io, unsigned long block, int count, void *data)
{
	return imgfs_io_read_blk64(io, block, count, data);
}

/* Bounds-check @len bytes at filesystem byte @pos; 0 or an errcode. */
static errcode_t check_range(const struct io_private *p, uint64_t pos, uint64_t len)
{
	return pos > p->size || len > p->size - pos ? EXT2_ET_LLSEEK_FAILED : 0;
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

static errcode_t imgfs_io_write_blk64(io_channel io, unsigned long long block, int count,
				      const void *data)
{
	const struct io_private *p = io->private_data;
	uint64_t len = count < 0 ? (uint64_t)-(int64_t)count
				 : (uint64_t)count * (uint64_t)io->block_size;
	uint64_t pos;

	if (len == 0)
		return 0;
	if (__builtin_mul_overflow((uint64_t)block, (uint64_t)io->block_size, &pos))
		return EXT2_ET_LLSEEK_FAILED;
	return pwrite_all(p, data, len, pos);
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
	if (count < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	return pwrite_all(io->private_data, data, (uint64_t)count, offset);
}

static errcode_t imgfs_io_flush(io_channel io)
{
	const struct io_private *p = io->private_data;

	/* Read-only descriptors have nothing to flush (and fdatasync would say EBADF). */
	if ((fcntl(p->fd, F_GETFL) & O_ACCMODE) == O_RDONLY)
		return 0;
	return fdatasync(p->fd) < 0 ? errno : 0;
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
	const struct io_private *p = io->private_data;
	uint64_t pos, len;

	if (__builtin_mul_overflow((uint64_t)block, (uint64_t)io->block_size, &pos) ||
	    __builtin_mul_overflow((uint64_t)count, (uint64_t)io->block_size, &len) ||
	    check_range(p, pos, len))
		return EXT2_ET_LLSEEK_FAILED;
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
