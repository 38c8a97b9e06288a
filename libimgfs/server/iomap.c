/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mapping engine: the only caller of the backends' mapping ops.  It
 * checks every mapping a backend hands it, places it on the device, and
 * turns mappings into read segments.  Backends only describe; this file
 * moves no metadata and trusts nothing it is given.
 */
#include "config.h"

#include <string.h>

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
