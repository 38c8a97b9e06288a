/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mapping engine: the only caller of the backends' mapping ops.  It
 * checks every mapping a backend hands it, places it on the device, and
 * turns mappings into read segments.  Backends only describe; this file
 * moves no metadata and trusts nothing it is given.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <sys/uio.h>

#include "iomap.h"

const char imgfs_zero_buf[IMGFS_ZERO_SIZE];

int imgfs_iomap_check(const struct imgfs_iomap *map, uint64_t ino, uint64_t pos,
		      uint64_t fs_size)
{
	if (map->length == 0 || map->offset > pos || pos - map->offset >= map->length)
		return fs_corrupt("inode %llu: mapping [%llu, +%llu) does not cover offset %llu",
				  (unsigned long long)ino, (unsigned long long)map->offset,
				  (unsigned long long)map->length, (unsigned long long)pos);
	if (map->offset + map->length < map->offset)
		return fs_corrupt("inode %llu: mapping at %llu overflows",
				  (unsigned long long)ino, (unsigned long long)map->offset);
	switch (map->type) {
	case IMGFS_IOMAP_HOLE:
	case IMGFS_IOMAP_INLINE:
		return 0;
	case IMGFS_IOMAP_MAPPED:
	case IMGFS_IOMAP_UNWRITTEN:
		if (map->addr > fs_size || map->length > fs_size - map->addr)
			return fs_corrupt("inode %llu: extent at file offset %llu points past the end of the filesystem",
					  (unsigned long long)ino,
					  (unsigned long long)map->offset);
		return 0;
	default:
		return fs_corrupt("inode %llu: mapping of unknown type %u",
				  (unsigned long long)ino, map->type);
	}
}

int imgfs_iomap_at(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		   unsigned opflags, struct imgfs_mapping *m)
{
	const struct imgfs_image *img = fs->img;
	int r;

	if ((opflags & IMGFS_IOMAP_OP_ANY_WRITE) && !fs->write_ops)
		return -EROFS;
	*m = (struct imgfs_mapping){ .fd = -1, .dev_addr = IMGFS_IOMAP_NULL_ADDR };
	r = fs->iomap_ops->iomap_begin(fs, ino, pos, len, opflags, &m->map);
	if (r < 0)
		return r;
	r = imgfs_iomap_check(&m->map, ino, pos, img->size);
	if (r < 0)
		return r;
	if (m->map.type == IMGFS_IOMAP_MAPPED || m->map.type == IMGFS_IOMAP_UNWRITTEN) {
		m->fd = img->data_fd;
		m->dev_addr = img->offset + m->map.addr;
	}
	return 0;
}

int imgfs_iomap_end(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		    uint64_t written, unsigned opflags, const struct imgfs_mapping *m)
{
	const struct imgfs_image *img = fs->img;
	struct imgfs_iomap map = m->map;

	if (!(map.flags & IMGFS_IOMAP_F_WANT_END) || !fs->iomap_ops->iomap_end)
		return 0;
	/* A mapping that came back from the kernel knows only its device address. */
	if (m->dev_addr != IMGFS_IOMAP_NULL_ADDR) {
		if (m->dev_addr < img->offset)
			return -EINVAL;
		map.addr = m->dev_addr - img->offset;
	}
	return fs->iomap_ops->iomap_end(fs, ino, pos, len, MIN(written, len), opflags, &map);
}

int imgfs_iomap_ioend(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		      unsigned ioend_flags, int error, uint64_t *newsize)
{
	if (!fs->write_ops || !fs->iomap_ops->ioend)
		return -EROFS;
	return fs->iomap_ops->ioend(fs, ino, pos, len, ioend_flags, error, newsize);
}

/*
 * Writes to one inode go one at a time: a write that zero-pads a new
 * block must not land over the bytes another write put there.  A small
 * table of locks striped by inode number, not one per inode: nothing to
 * allocate or free, and two inodes rarely share a stripe.
 */
#define WRITE_STRIPES 64
static pthread_mutex_t write_locks[WRITE_STRIPES] = {
	[0 ... WRITE_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER,
};

static pthread_mutex_t *write_lock(uint64_t ino)
{
	return &write_locks[(ino * 0x9e3779b97f4a7c15ULL) >> 58];
}

void imgfs_iomap_lock_inode(uint64_t ino)
{
	pthread_mutex_lock(write_lock(ino));
}

void imgfs_iomap_unlock_inode(uint64_t ino)
{
	pthread_mutex_unlock(write_lock(ino));
}

/* pwritev(2) until all of @iov is written; 0 or -errno. */
static int pwritev_full(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	while (cnt > 0) {
		ssize_t n = pwritev(fd, iov, cnt, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		off += (uint64_t)n;
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/*
 * Write @len bytes at file offset @pos into @m.  With @pad (new or
 * unwritten blocks), zeros fill the rest of the first and last block,
 * within the mapping: once converted, those blocks read what was
 * written and zeros elsewhere, never what the device held before.
 */
static int write_mapped(const struct imgfs_mapping *m, uint32_t bs, uint64_t pos,
			const void *buf, uint64_t len, bool pad)
{
	uint64_t start = pos, end = pos + len, map_end = m->map.offset + m->map.length;
	struct iovec iov[3];
	int cnt = 0;

	if (pad) {
		start = MAX(pos - pos % bs, m->map.offset);
		end = MIN(DIV_ROUND_UP(end, bs) * bs, map_end);
	}
	/* A block is at most 64 KiB, far less than the shared zero buffer. */
	if (pos > start)
		iov[cnt++] = (struct iovec){ (void *)imgfs_zero_buf, pos - start };
	iov[cnt++] = (struct iovec){ (void *)buf, len };
	if (end > pos + len)
		iov[cnt++] = (struct iovec){ (void *)imgfs_zero_buf, end - pos - len };
	return pwritev_full(m->fd, iov, cnt, m->dev_addr + (start - m->map.offset));
}

/* Write one mapping's worth of [@pos, +@len); *@done is how much it took. */
static int write_one(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, const char *buf,
		     uint64_t len, unsigned opflags, uint64_t *newsize, uint64_t *done)
{
	unsigned op = IMGFS_IOMAP_OP_WRITE | opflags, ioend_flags = IMGFS_IOEND_APPEND;
	struct imgfs_mapping m;
	uint64_t chunk;
	int r, e;

	r = imgfs_iomap_at(fs, ino, pos, len, op, &m);
	if (r < 0)
		return r;
	chunk = MIN(m.map.offset + m.map.length - pos, len);
	switch (m.map.type) {
	case IMGFS_IOMAP_MAPPED:
		r = write_mapped(&m, fs->block_size, pos, buf, chunk,
				 m.map.flags & IMGFS_IOMAP_F_NEW);
		break;
	case IMGFS_IOMAP_UNWRITTEN:
		ioend_flags |= IMGFS_IOEND_UNWRITTEN;
		r = write_mapped(&m, fs->block_size, pos, buf, chunk, true);
		break;
	case IMGFS_IOMAP_INLINE:
		r = fs->iomap_ops->write_inline ?
		    fs->iomap_ops->write_inline(fs, ino, pos, buf, chunk) : -EOPNOTSUPP;
		/* The backend moves data out of the inode in iomap_begin when it grows. */
		if (r == -E2BIG) {
			log_err("inode %llu: %llu bytes at %llu do not fit inline, and the mapping said inline",
				(unsigned long long)ino, (unsigned long long)chunk,
				(unsigned long long)pos);
			r = -EIO;
		}
		break;
	default:
		/* A hole or a reservation cannot take bytes: the backend did not allocate. */
		log_err("inode %llu: a write at %llu was given a mapping of type %u",
			(unsigned long long)ino, (unsigned long long)pos, m.map.type);
		r = -EIO;
		break;
	}
	e = imgfs_iomap_end(fs, ino, pos, chunk, r < 0 ? 0 : chunk, op, &m);
	if (r == 0)
		r = e;
	/* Told of a failed write too: the backend then converts nothing. */
	e = fs->iomap_ops->ioend(fs, ino, pos, chunk, ioend_flags, r, newsize);
	if (r == 0)
		r = e;
	if (r == 0)
		*done = chunk;
	return r;
}

ssize_t imgfs_iomap_write(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, const void *buf,
			  size_t len, unsigned opflags, uint64_t *newsize)
{
	uint64_t written = 0;
	int r = 0;

	if (!fs->write_ops || atomic_load(&fs->writes_stopped))
		return -EROFS;
	if (!fs->iomap_ops->ioend)
		return -EOPNOTSUPP;	/* a backend whose write path is not there yet */
	/* As generic_write_checks: nothing starts at the largest size, a write is cut short there. */
	if (pos >= fs->max_file_size)
		return len ? -EFBIG : 0;
	len = (size_t)MIN((uint64_t)len, fs->max_file_size - pos);
	if (len == 0)
		return 0;

	imgfs_iomap_lock_inode(ino);
	while (written < len) {
		uint64_t done = 0;

		r = write_one(fs, ino, pos + written, (const char *)buf + written, len - written,
			      opflags, newsize, &done);
		if (r < 0)
			break;
		written += done;
	}
	imgfs_iomap_unlock_inode(ino);
	return written ? (ssize_t)written : r;
}

int imgfs_iomap_has_inline(struct imgfs_fs *fs, uint64_t ino, bool *has_inline)
{
	*has_inline = false;
	return fs->iomap_ops->has_inline ? fs->iomap_ops->has_inline(fs, ino, has_inline) : 0;
}

void imgfs_iomap_device(const struct imgfs_fs *fs, struct imgfs_iomap_device *dev)
{
	*dev = (struct imgfs_iomap_device){
		.fd = fs->img->fd,
		.block_device = fs->img->block_device,
		.name = fs->img->path,
	};
}

/* Append a segment, merging it with the previous one where they touch. */
static int add_seg(struct imgfs_read_seg *segs, int nsegs, int max_segs,
		   int fd, int64_t dev_pos, const void *mem, uint64_t len)
{
	struct imgfs_read_seg *last = nsegs ? &segs[nsegs - 1] : NULL;

	if (last && fd >= 0 && last->fd == fd &&
	    (uint64_t)last->dev_pos + last->len == (uint64_t)dev_pos) {
		last->len += len;
		return nsegs;
	}
	if (last && mem == imgfs_zero_buf && last->mem == imgfs_zero_buf &&
	    last->len + len <= IMGFS_ZERO_SIZE) {
		last->len += len;
		return nsegs;
	}
	if (nsegs >= max_segs)
		return -E2BIG;
	segs[nsegs].len = len;
	segs[nsegs].fd = fd;
	segs[nsegs].dev_pos = dev_pos;
	segs[nsegs].mem = mem;
	return nsegs + 1;
}

int imgfs_iomap_plan_read(struct imgfs_fs *fs, uint64_t ino, uint64_t isize,
			  uint64_t pos, uint64_t len, struct imgfs_read_seg *segs,
			  int max_segs, void *inline_buf, size_t inline_size)
{
	uint64_t end, inline_used = 0;
	int nsegs = 0;

	if (pos >= isize)
		return 0;
	end = isize - pos < len ? isize : pos + len;

	while (pos < end) {
		struct imgfs_mapping m;
		uint64_t chunk;
		int r;

		r = imgfs_iomap_at(fs, ino, pos, end - pos, 0, &m);
		if (r < 0)
			return r;
		chunk = MIN(m.map.offset + m.map.length - pos, end - pos);

		switch (m.map.type) {
		case IMGFS_IOMAP_MAPPED:
			nsegs = add_seg(segs, nsegs, max_segs, m.fd,
					(int64_t)(m.dev_addr + (pos - m.map.offset)), NULL, chunk);
			break;
		case IMGFS_IOMAP_INLINE: {
			size_t done = 0;

			if (chunk > inline_size - inline_used)
				return fs_corrupt("inode %llu: inline data larger than its inode allows",
						  (unsigned long long)ino);
			r = fs->iomap_ops->read_inline(fs, ino, pos, (char *)inline_buf + inline_used,
						 chunk, &done);
			if (r < 0)
				return r;
			/* Inline data shorter than i_size reads as zeros after it. */
			memset((char *)inline_buf + inline_used + done, 0, chunk - done);
			nsegs = add_seg(segs, nsegs, max_segs, -1, -1,
					(char *)inline_buf + inline_used, chunk);
			inline_used += chunk;
			break;
		}
		default:	/* holes and unwritten extents read as zeros */
			chunk = MIN(chunk, IMGFS_ZERO_SIZE);
			nsegs = add_seg(segs, nsegs, max_segs, -1, -1, imgfs_zero_buf, chunk);
			break;
		}
		if (nsegs < 0)
			return nsegs;
		pos += chunk;
	}
	return nsegs;
}

int imgfs_iomap_seek(struct imgfs_fs *fs, uint64_t ino, uint64_t isize, uint64_t pos,
		     bool data, uint64_t *result)
{
	if (pos >= isize)
		return -ENXIO;
	while (pos < isize) {
		struct imgfs_mapping m;
		bool is_data;
		int r;

		r = imgfs_iomap_at(fs, ino, pos, isize - pos, IMGFS_IOMAP_OP_REPORT, &m);
		if (r < 0)
			return r;
		is_data = m.map.type == IMGFS_IOMAP_MAPPED || m.map.type == IMGFS_IOMAP_INLINE;
		if (is_data == data) {
			*result = pos;
			return 0;
		}
		pos = m.map.offset + m.map.length;
	}
	if (data)
		return -ENXIO;
	*result = isize;	/* the virtual hole at EOF */
	return 0;
}

ssize_t imgfs_iomap_read(struct imgfs_fs *fs, uint64_t ino, uint64_t isize,
			 void *buf, size_t len, uint64_t pos)
{
	size_t max_segs = len / fs->block_size + 2;
	_cleanup_free_ struct imgfs_read_seg *segs = calloc(max_segs, sizeof(*segs));
	_cleanup_free_ void *inline_buf = NULL;
	size_t inline_size = MIN(len, (size_t)fs->block_size);
	char *p = buf;
	int nsegs;

	inline_buf = malloc(inline_size);
	if (!segs || !inline_buf)
		return -ENOMEM;
	nsegs = imgfs_iomap_plan_read(fs, ino, isize, pos, len, segs, (int)max_segs,
				      inline_buf, inline_size);
	if (nsegs < 0)
		return nsegs;
	for (int i = 0; i < nsegs; i++) {
		if (segs[i].fd >= 0) {
			int r = read_full(segs[i].fd, p, segs[i].len, segs[i].dev_pos);

			if (r < 0)
				return r;
		} else {
			memcpy(p, segs[i].mem, segs[i].len);
		}
		p += segs[i].len;
	}
	return p - (char *)buf;
}
