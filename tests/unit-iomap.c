/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the iomap engine, driven by a scripted backend over a
 * temporary image whose every byte is known: segments, zero fill, EOF
 * clipping, merging, and rejection of mappings a corrupt backend could
 * produce.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "fs.h"
#include "iomap.h"
#include "tap.h"

#define BS 1024U
#define IMAGE_BLOCKS 64U

/* A file of 16 blocks: mapped, mapped (adjacent), hole, unwritten, mapped elsewhere... */
struct script {
	struct imgfs_iomap maps[8];
	int count;
	const char *inline_data;
};

struct fake_fs {
	struct imgfs_fs fs;
	struct script *script;
	unsigned begins;		/* iomap_begin calls */
	struct imgfs_iomap ended;	/* what iomap_end was given, */
	uint64_t ended_written;		/* and the bytes it was told were written */
	unsigned ends;
	/* The write side: what ioend and write_inline were told. */
	unsigned ioends, ioend_flags;
	uint64_t ioend_pos, ioend_len, size;
	int ioend_error;
	unsigned inlines;
	int inline_result;
	useconds_t begin_delay;		/* widens the window two racing writes share */
	pthread_mutex_t lock;		/* the script changes under concurrent writes */
};

static int fake_iomap_begin(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
			    unsigned opflags, struct imgfs_iomap *map)
{
	struct fake_fs *f = container_of(fs, struct fake_fs, fs);
	struct script *s = f->script;

	pthread_mutex_lock(&f->lock);
	f->begins++;
	for (int i = 0; i < s->count; i++) {
		if (pos >= s->maps[i].offset && pos < s->maps[i].offset + s->maps[i].length) {
			*map = s->maps[i];
			pthread_mutex_unlock(&f->lock);
			/* The mapping is handed out; another write may come for it meanwhile. */
			if ((opflags & IMGFS_IOMAP_OP_WRITE) && f->begin_delay)
				usleep(f->begin_delay);
			return 0;
		}
	}
	pthread_mutex_unlock(&f->lock);
	/* Deliberately wrong: the engine must catch a mapping that misses pos. */
	*map = (struct imgfs_iomap){ .offset = pos + 1, .length = 1, .type = IMGFS_IOMAP_HOLE };
	return 0;
}

static int fake_read_inline(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, void *buf,
			    size_t len, size_t *done)
{
	struct script *s = container_of(fs, struct fake_fs, fs)->script;
	size_t have = strlen(s->inline_data);

	*done = pos < have ? MIN(len, have - pos) : 0;
	memcpy(buf, s->inline_data + pos, *done);
	return 0;
}

static int fake_iomap_end(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
			  uint64_t written, unsigned opflags, const struct imgfs_iomap *map)
{
	struct fake_fs *f = container_of(fs, struct fake_fs, fs);

	f->ended = *map;
	f->ended_written = written;
	f->ends++;
	return 0;
}

/* Converts the written mapping as a backend would, and keeps a size. */
static int fake_ioend(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, uint64_t len,
		      unsigned flags, int error, uint64_t *newsize)
{
	struct fake_fs *f = container_of(fs, struct fake_fs, fs);
	struct script *s = f->script;

	pthread_mutex_lock(&f->lock);
	f->ioends++;
	f->ioend_flags = flags;
	f->ioend_pos = pos;
	f->ioend_len = len;
	f->ioend_error = error;
	if (error == 0) {
		for (int i = 0; i < s->count; i++) {
			if (s->maps[i].type != IMGFS_IOMAP_INLINE &&
			    pos >= s->maps[i].offset && pos < s->maps[i].offset + s->maps[i].length) {
				s->maps[i].type = IMGFS_IOMAP_MAPPED;
				s->maps[i].flags &= (uint16_t)~IMGFS_IOMAP_F_NEW;
			}
		}
		if ((flags & IMGFS_IOEND_APPEND) && pos + len > f->size)
			f->size = pos + len;
	}
	*newsize = f->size;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_write_inline(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, const void *buf,
			     size_t len)
{
	struct fake_fs *f = container_of(fs, struct fake_fs, fs);

	f->inlines++;
	return f->inline_result;
}

static int fake_has_inline(struct imgfs_fs *fs, uint64_t ino, bool *has_inline)
{
	*has_inline = ino == 13;
	return 0;
}

static const struct imgfs_fs_ops fake_ops = {
	.name = "fake",
};

static const struct imgfs_iomap_ops fake_iomap_ops = {
	.iomap_begin = fake_iomap_begin,
	.iomap_end = fake_iomap_end,
	.has_inline = fake_has_inline,
	.read_inline = fake_read_inline,
	.ioend = fake_ioend,
	.write_inline = fake_write_inline,
};

/* No op is called through it: the engine only asks whether there is a table. */
static const struct imgfs_write_ops fake_write_ops;

static unsigned char image_byte(uint64_t pos)
{
	return (unsigned char)(pos * 7 + pos / 251);
}

/* An image of IMAGE_BLOCKS blocks whose filesystem starts @offset bytes in. */
static int make_image(struct imgfs_image **img, uint64_t offset)
{
	char path[] = "/tmp/imgfs-unit-iomap-XXXXXX";
	unsigned char buf[IMAGE_BLOCKS * BS];
	struct imgfs_error err;
	int fd = mkstemp(path);

	if (fd < 0)
		return -errno;
	unlink(path);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = image_byte(i);
	if (write_all(fd, buf, sizeof(buf)) < 0)
		return -EIO;
	return imgfs_image_from_fd(fd, -1, "test", offset, sizeof(buf) - offset, "ext4", false,
				   img, &err);
}

static void test_plan_and_read(struct fake_fs *f)
{
	struct script s = {
		.maps = {
			{ 0, 2 * BS, 10 * BS, IMGFS_IOMAP_MAPPED, 0 },
			{ 2 * BS, 1 * BS, 12 * BS, IMGFS_IOMAP_MAPPED, 0 },	/* adjacent: merges */
			{ 3 * BS, 2 * BS, IMGFS_IOMAP_NULL_ADDR, IMGFS_IOMAP_HOLE, 0 },
			{ 5 * BS, 1 * BS, 40 * BS, IMGFS_IOMAP_UNWRITTEN, 0 },
			{ 6 * BS, 4 * BS, 20 * BS, IMGFS_IOMAP_MAPPED, 0 },
		},
		.count = 5,
	};
	uint64_t isize = 10 * BS - 100;
	struct imgfs_read_seg segs[16];
	unsigned char buf[12 * BS], want[12 * BS];
	ssize_t n;
	int nsegs;

	f->script = &s;
	nsegs = imgfs_iomap_plan_read(&f->fs, 12, isize, 0, sizeof(buf), segs, 16, NULL, 0);
	is_int(nsegs, 3, "plan: mapped+mapped merge, hole+unwritten merge, mapped");
	ok(nsegs == 3 && segs[0].dev_pos == 10 * BS && segs[0].len == 3 * BS,
	   "plan: first segment is device [10k, +3k)");
	ok(nsegs == 3 && segs[1].dev_pos < 0 && segs[1].mem == imgfs_zero_buf &&
	   segs[1].len == 3 * BS, "plan: hole and unwritten become one zero segment");
	ok(nsegs == 3 && segs[2].dev_pos == 20 * BS && segs[2].len == 4 * BS - 100,
	   "plan: last segment is clipped at EOF");

	memset(want, 0, sizeof(want));
	for (unsigned i = 0; i < 3 * BS; i++)
		want[i] = image_byte(10 * BS + i);
	for (unsigned i = 0; i < 4 * BS - 100; i++)
		want[6 * BS + i] = image_byte(20 * BS + i);
	n = imgfs_iomap_read(&f->fs, 12, isize, buf, sizeof(buf), 0);
	is_int(n, isize, "read: returns bytes up to EOF");
	ok(n == (ssize_t)isize && !memcmp(buf, want, isize), "read: bytes match the image");

	n = imgfs_iomap_read(&f->fs, 12, isize, buf, 1500, 2 * BS + 600);
	ok(n == 1500 && !memcmp(buf, want + 2 * BS + 600, 1500),
	   "read: unaligned range across mapped/hole boundary");
	n = imgfs_iomap_read(&f->fs, 12, isize, buf, 100, isize);
	is_int(n, 0, "read: at EOF returns 0");
}

static void test_seek(struct fake_fs *f)
{
	struct script s = {
		.maps = {
			{ 0, 2 * BS, IMGFS_IOMAP_NULL_ADDR, IMGFS_IOMAP_HOLE, 0 },
			{ 2 * BS, 1 * BS, 12 * BS, IMGFS_IOMAP_MAPPED, 0 },
			{ 3 * BS, 2 * BS, 40 * BS, IMGFS_IOMAP_UNWRITTEN, 0 },
			{ 5 * BS, 1 * BS, 20 * BS, IMGFS_IOMAP_MAPPED, 0 },
			{ 6 * BS, 4 * BS, IMGFS_IOMAP_NULL_ADDR, IMGFS_IOMAP_HOLE, 0 },
		},
		.count = 5,
	};
	uint64_t isize = 10 * BS, res = 0;

	f->script = &s;
	ok(imgfs_iomap_seek(&f->fs, 15, isize, 0, true, &res) == 0 && res == 2 * BS,
	   "SEEK_DATA from a leading hole finds the first mapped block");
	ok(imgfs_iomap_seek(&f->fs, 15, isize, 2 * BS + 10, true, &res) == 0 &&
	   res == 2 * BS + 10, "SEEK_DATA inside data returns the position itself");
	ok(imgfs_iomap_seek(&f->fs, 15, isize, 2 * BS, false, &res) == 0 && res == 3 * BS,
	   "SEEK_HOLE treats an unwritten extent as a hole");
	ok(imgfs_iomap_seek(&f->fs, 15, isize, 3 * BS, true, &res) == 0 && res == 5 * BS,
	   "SEEK_DATA skips unwritten extents");
	is_int(imgfs_iomap_seek(&f->fs, 15, isize, 6 * BS, true, &res), -ENXIO,
	       "SEEK_DATA in a trailing hole is ENXIO");
	ok(imgfs_iomap_seek(&f->fs, 15, 5 * BS + 100, 5 * BS, false, &res) == 0 &&
	   res == 5 * BS + 100, "SEEK_HOLE in the last data finds the hole at EOF");
	is_int(imgfs_iomap_seek(&f->fs, 15, isize, isize, false, &res), -ENXIO,
	       "SEEK_HOLE at EOF is ENXIO");
}

static void test_inline(struct fake_fs *f)
{
	struct script s = {
		.maps = { { 0, 60, IMGFS_IOMAP_NULL_ADDR, IMGFS_IOMAP_INLINE, 0 } },
		.count = 1,
		.inline_data = "hello, inline world",
	};
	char buf[64];
	ssize_t n;

	f->script = &s;
	n = imgfs_iomap_read(&f->fs, 13, 19, buf, sizeof(buf), 0);
	ok(n == 19 && !memcmp(buf, "hello, inline world", 19), "inline data is read");
	n = imgfs_iomap_read(&f->fs, 13, 30, buf, sizeof(buf), 0);
	ok(n == 30 && !memcmp(buf + 19, "\0\0\0\0\0\0\0\0\0\0\0", 11),
	   "inline data shorter than i_size reads zeros after it");
}

static void test_rejects(struct fake_fs *f)
{
	struct script past_end = {
		.maps = { { 0, 4 * BS, (IMAGE_BLOCKS - 2) * BS, IMGFS_IOMAP_MAPPED, 0 } },
		.count = 1,
	};
	struct script bad_type = {
		.maps = { { 0, 4 * BS, 0, 9, 0 } },
		.count = 1,
	};
	struct script gap = {
		.maps = { { 0, BS, 0, IMGFS_IOMAP_MAPPED, 0 } },
		.count = 1,
	};
	char buf[4 * BS];

	f->script = &past_end;
	is_int(imgfs_iomap_read(&f->fs, 14, sizeof(buf), buf, sizeof(buf), 0), -EUCLEAN,
	       "mapping past the end of the filesystem is corruption");
	f->script = &bad_type;
	is_int(imgfs_iomap_read(&f->fs, 14, sizeof(buf), buf, sizeof(buf), 0), -EUCLEAN,
	       "mapping of unknown type is corruption");
	f->script = &gap;
	is_int(imgfs_iomap_read(&f->fs, 14, sizeof(buf), buf, sizeof(buf), 0), -EUCLEAN,
	       "mapping that does not cover the position is corruption");

	struct imgfs_iomap wrap = { .offset = UINT64_MAX - 10, .length = 100,
				    .type = IMGFS_IOMAP_HOLE };
	is_int(imgfs_iomap_check(&wrap, 1, UINT64_MAX - 5, 1 << 20), -EUCLEAN,
	       "mapping whose end overflows is corruption");
}

/*
 * The engine's one door: it places mappings in the image (the filesystem's
 * offset added once), names the descriptor, refuses writes to a backend
 * without write ops before asking it, and passes END only where asked.
 */
static void test_engine(struct fake_fs *f)
{
	struct script s = {
		.maps = {
			{ 0, 2 * BS, 10 * BS, IMGFS_IOMAP_MAPPED, 0 },
			{ 2 * BS, 2 * BS, IMGFS_IOMAP_NULL_ADDR, IMGFS_IOMAP_HOLE, 0 },
			{ 4 * BS, 2 * BS, 30 * BS, IMGFS_IOMAP_MAPPED, IMGFS_IOMAP_F_WANT_END },
		},
		.count = 3,
	};
	const uint64_t offset = 4 * BS;
	struct imgfs_image *img = NULL, *saved = f->fs.img;
	struct imgfs_read_seg segs[4];
	struct imgfs_mapping m;
	unsigned char buf[2 * BS];
	uint64_t newsize = 0;
	bool has_inline = true;
	unsigned before;
	int r;

	if (make_image(&img, offset) < 0) {
		skip("engine placement", "cannot create a second image");
		return;
	}
	f->fs.img = img;
	f->script = &s;

	r = imgfs_iomap_at(&f->fs, 12, BS + 5, BS, 0, &m);
	ok(r == 0 && m.map.addr == 10 * BS && m.dev_addr == offset + 10 * BS &&
	   m.fd == img->data_fd, "a mapped extent lies at the filesystem's offset plus its address");
	r = imgfs_iomap_at(&f->fs, 12, 3 * BS, BS, 0, &m);
	ok(r == 0 && m.fd == -1 && m.dev_addr == IMGFS_IOMAP_NULL_ADDR,
	   "a hole names no descriptor and no address");
	r = imgfs_iomap_plan_read(&f->fs, 12, 6 * BS, 0, 2 * BS, segs, 4, NULL, 0);
	ok(r == 1 && segs[0].fd == img->data_fd && segs[0].dev_pos == (int64_t)(offset + 10 * BS),
	   "read segments name the data descriptor at the placed position");
	ok(imgfs_iomap_read(&f->fs, 12, 6 * BS, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) &&
	   buf[0] == image_byte(offset + 10 * BS) && buf[BS] == image_byte(offset + 11 * BS),
	   "reads come from the filesystem's offset in the image");

	before = f->begins;
	is_int(imgfs_iomap_at(&f->fs, 12, 0, BS, IMGFS_IOMAP_OP_WRITE, &m), -EROFS,
	       "a write mapping of a backend without write ops is EROFS");
	is_int(imgfs_iomap_at(&f->fs, 12, 0, BS, IMGFS_IOMAP_OP_ZERO, &m), -EROFS,
	       "so is a zeroing one");
	ok(f->begins == before, "... and the backend is not asked");
	is_int(imgfs_iomap_ioend(&f->fs, 12, 0, BS, IMGFS_IOEND_UNWRITTEN, 0, &newsize), -EROFS,
	       "IOEND on a backend without write ops is EROFS");

	f->ends = 0;
	r = imgfs_iomap_at(&f->fs, 12, 0, BS, 0, &m);
	ok(r == 0 && imgfs_iomap_end(&f->fs, 12, 0, BS, BS, 0, &m) == 0 && f->ends == 0,
	   "END of a mapping that did not ask for it reaches no backend");
	r = imgfs_iomap_at(&f->fs, 12, 4 * BS, BS, 0, &m);
	m.map.addr = IMGFS_IOMAP_NULL_ADDR;	/* as fuse-iomap's END brings it: device address only */
	ok(r == 0 && imgfs_iomap_end(&f->fs, 12, 4 * BS, BS, 3 * BS, 0, &m) == 0 &&
	   f->ends == 1 && f->ended.addr == 30 * BS && f->ended_written == BS,
	   "END of a WANT_END mapping reaches the backend, at its own address, written clipped");

	ok(imgfs_iomap_has_inline(&f->fs, 13, &has_inline) == 0 && has_inline,
	   "has_inline: the backend's answer, yes");
	ok(imgfs_iomap_has_inline(&f->fs, 12, &has_inline) == 0 && !has_inline,
	   "has_inline: the backend's answer, no");

	f->fs.img = saved;
	imgfs_image_close(img);
}


/* The image bytes at filesystem byte @addr, read back. */
static void image_read(struct fake_fs *f, uint64_t addr, void *buf, size_t len)
{
	if (read_full(f->fs.img->data_fd, buf, len, (off_t)addr) < 0)
		memset(buf, 0xee, len);
}

static bool all_bytes(const unsigned char *p, size_t len, unsigned char c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

static bool image_untouched(struct fake_fs *f, uint64_t addr, size_t len)
{
	unsigned char buf[4 * BS];

	image_read(f, addr, buf, len);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != image_byte(addr + i))
			return false;
	return true;
}

static void fake_reset(struct fake_fs *f, struct script *s, uint64_t size)
{
	f->script = s;
	f->size = size;
	f->ioends = f->inlines = 0;
	f->ioend_flags = 0;
	f->ioend_error = 0;
	f->inline_result = 0;
	f->begin_delay = 0;
}

/*
 * The write path: bytes land at the mapping's place, new and unwritten
 * blocks are zero-padded to their edges and nothing outside them is
 * touched, ioend hears of every mapping written, and what cannot take
 * bytes is refused.
 */
static void test_write(struct fake_fs *f)
{
	struct script s = {
		.maps = {
			{ 0, 2 * BS, 10 * BS, IMGFS_IOMAP_MAPPED, 0 },
			{ 2 * BS, 2 * BS, 20 * BS, IMGFS_IOMAP_UNWRITTEN, 0 },
			{ 4 * BS, 2 * BS, 30 * BS, IMGFS_IOMAP_MAPPED, IMGFS_IOMAP_F_NEW },
			{ 6 * BS, 2 * BS, IMGFS_IOMAP_NULL_ADDR, IMGFS_IOMAP_HOLE, 0 },
			{ 8 * BS, 60, IMGFS_IOMAP_NULL_ADDR, IMGFS_IOMAP_INLINE, 0 },
		},
		.count = 5,
	};
	unsigned char data[3 * BS], got[4 * BS];
	uint64_t newsize = 0;
	ssize_t n;

	memset(data, 0xab, sizeof(data));
	f->fs.write_ops = &fake_write_ops;
	fake_reset(f, &s, 2 * BS);

	/* An overwrite of written blocks: only the bytes. */
	n = imgfs_iomap_write(&f->fs, 12, 100, data, 300, 0, &newsize);
	image_read(f, 10 * BS, got, BS);
	ok(n == 300 && all_bytes(got + 100, 300, 0xab) && image_untouched(f, 10 * BS, 100) &&
	   image_untouched(f, 10 * BS + 400, BS - 400),
	   "write into a mapped block puts the bytes there and nothing else");
	ok(f->ioends == 1 && f->ioend_flags == IMGFS_IOEND_APPEND && f->ioend_pos == 100 &&
	   f->ioend_len == 300 && newsize == 2 * BS,
	   "... and ioend hears of it, to append, with nothing to convert");

	/* Into an unwritten extent, mid-block: zeros around, up to the block's edges. */
	n = imgfs_iomap_write(&f->fs, 12, 2 * BS + 200, data, 100, 0, &newsize);
	image_read(f, 20 * BS, got, 2 * BS);
	ok(n == 100 && all_bytes(got, 200, 0) && all_bytes(got + 200, 100, 0xab) &&
	   all_bytes(got + 300, BS - 300, 0) && image_untouched(f, 21 * BS, BS),
	   "write into an unwritten block zero-pads that block and leaves the next alone");
	ok(f->ioend_flags == (IMGFS_IOEND_UNWRITTEN | IMGFS_IOEND_APPEND) &&
	   f->ioend_pos == 2 * BS + 200 && f->ioend_len == 100 && newsize == 2 * BS + 300,
	   "... ioend converts it and raises the size");
	n = imgfs_iomap_write(&f->fs, 12, 2 * BS + 500, data, 10, 0, &newsize);
	image_read(f, 20 * BS, got, BS);
	ok(n == 10 && all_bytes(got + 200, 100, 0xab) && all_bytes(got + 300, 200, 0) &&
	   all_bytes(got + 500, 10, 0xab), "a second write into the converted block keeps the first");

	/* A new extent, across a block boundary, unaligned at both ends. */
	n = imgfs_iomap_write(&f->fs, 12, 4 * BS + 700, data, BS, 0, &newsize);
	image_read(f, 30 * BS, got, 2 * BS);
	ok(n == BS && all_bytes(got, 700, 0) && all_bytes(got + 700, BS, 0xab) &&
	   all_bytes(got + 700 + BS, BS - 700, 0),
	   "write into new blocks zero-pads the first and last block");
	ok(f->ioend_flags == IMGFS_IOEND_APPEND && newsize == 5 * BS + 700,
	   "... new written blocks need no conversion");

	/* Across two mappings: two ioends, one count. */
	s.maps[1].type = IMGFS_IOMAP_UNWRITTEN;
	f->ioends = 0;
	n = imgfs_iomap_write(&f->fs, 12, 2 * BS - 100, data, 300, 0, &newsize);
	image_read(f, 10 * BS + 2 * BS - 100, got, 100);
	ok(n == 300 && f->ioends == 2 && all_bytes(got, 100, 0xab),
	   "a write across two mappings writes both and ends each");

	/* Inline data goes to the backend; E2BIG there is a backend failure. */
	n = imgfs_iomap_write(&f->fs, 12, 8 * BS + 5, data, 20, 0, &newsize);
	ok(n == 20 && f->inlines == 1, "inline mappings are written through write_inline");
	f->inline_result = -E2BIG;
	is_int(imgfs_iomap_write(&f->fs, 12, 8 * BS + 5, data, 20, 0, &newsize), -EIO,
	       "inline data that does not fit is EIO (the backend should have moved it out)");
	f->inline_result = 0;

	/* A hole handed out for a write: nothing written, ioend told of the failure. */
	f->ioends = 0;
	is_int(imgfs_iomap_write(&f->fs, 12, 6 * BS, data, 10, 0, &newsize), -EIO,
	       "a hole given for a write is EIO");
	ok(f->ioends == 1 && f->ioend_error == -EIO, "... and ioend is told the write failed");
	n = imgfs_iomap_write(&f->fs, 12, 6 * BS - 10, data, 30, 0, &newsize);
	is_int(n, 10, "a write that fails after some bytes returns the bytes written");

	/* The limits. */
	f->fs.max_file_size = 7 * BS;
	is_int(imgfs_iomap_write(&f->fs, 12, 7 * BS, data, 1, 0, &newsize), -EFBIG,
	       "a write at the largest size is EFBIG");
	s.maps[3].type = IMGFS_IOMAP_UNWRITTEN;
	s.maps[3].addr = 40 * BS;
	is_int(imgfs_iomap_write(&f->fs, 12, 7 * BS - 10, data, 100, 0, &newsize), 10,
	       "a write across the largest size is cut there");
	f->fs.max_file_size = UINT64_MAX;

	atomic_store(&f->fs.writes_stopped, true);
	is_int(imgfs_iomap_write(&f->fs, 12, 0, data, 10, 0, &newsize), -EROFS,
	       "once writes stopped, a write is EROFS");
	atomic_store(&f->fs.writes_stopped, false);
	f->fs.write_ops = NULL;
	f->begins = 0;
	is_int(imgfs_iomap_write(&f->fs, 12, 0, data, 10, 0, &newsize), -EROFS,
	       "a write to a read-only backend is EROFS");
	ok(f->begins == 0, "... and the backend is not asked");
}

struct racer {
	struct fake_fs *f;
	uint64_t pos;
	unsigned char c;
};

static void *race_write(void *arg)
{
	struct racer *r = arg;
	unsigned char data[BS / 2];
	uint64_t newsize;

	memset(data, r->c, sizeof(data));
	imgfs_iomap_write(&r->f->fs, 12, r->pos, data, sizeof(data), 0, &newsize);
	return NULL;
}

/*
 * Two writes into halves of one unwritten block, with the mapping
 * handed out slowly: without the engine's per-inode lock both would see
 * the block unwritten and each would pad zeros over the other's half.
 */
static void test_write_race(struct fake_fs *f)
{
	struct script s = {
		.maps = { { 0, BS, 50 * BS, IMGFS_IOMAP_UNWRITTEN, 0 } },
		.count = 1,
	};
	struct racer a = { f, 0, 0x11 }, b = { f, BS / 2, 0x22 };
	unsigned char got[BS];
	pthread_t ta, tb;

	f->fs.write_ops = &fake_write_ops;
	fake_reset(f, &s, 0);
	f->begin_delay = 20000;
	pthread_create(&ta, NULL, race_write, &a);
	pthread_create(&tb, NULL, race_write, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	image_read(f, 50 * BS, got, BS);
	ok(all_bytes(got, BS / 2, 0x11) && all_bytes(got + BS / 2, BS / 2, 0x22),
	   "two writes into one unwritten block both survive");
	f->fs.write_ops = NULL;
	f->begin_delay = 0;
}

int main(void)
{
	struct imgfs_image *img = NULL;
	struct fake_fs f = {
		.fs = { .ops = &fake_ops, .iomap_ops = &fake_iomap_ops, .block_size = BS,
			.max_file_size = UINT64_MAX },
		.lock = PTHREAD_MUTEX_INITIALIZER,
	};

	imgfs_log_setup("unit-iomap", IMGFS_LOG_ERR, false);
	if (make_image(&img, 0) < 0)
		skip_all("cannot create a temporary image");
	f.fs.img = img;
	test_plan_and_read(&f);
	test_seek(&f);
	test_inline(&f);
	test_rejects(&f);
	test_engine(&f);
	test_write(&f);
	test_write_race(&f);
	imgfs_image_close(img);
	return done_testing();
}
