/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ext4 data write path (write, ioend, truncate, fallocate) without
 * FUSE: this test plays the mapping engine (iomap_begin for writing,
 * pwrite at the mapping's address with unwritten parts of blocks zeroed,
 * ioend) and keeps a model of every file in memory.  The truth is never
 * imgfs: after the image is closed, e2fsck -fn must find it clean,
 * debugfs must dump every file as the model has it, with few extents
 * where it was written in order, and as root the kernel's ext4 mounts it
 * and reads the same bytes, sizes, holes and unwritten extents.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ext4/ext4.h"
#include "fs.h"
#include "image.h"
#include "iomap.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

static char tmpdir[] = "/tmp/unit-ext4-data.XXXXXX";
static bool have_root;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

struct variant {
	const char *name;
	const char *mkfs;
	const char *size;
	bool extents;		/* files are extent-mapped */
	bool inline_data;
};

static const struct variant variants[] = {
	{ "ext4-4k-csum", "-t ext4 -b 4096 -O metadata_csum", "64M", true, false },
	{ "ext4-1k-nocsum", "-t ext4 -b 1024 -O ^metadata_csum", "48M", true, false },
	{ "ext4-inline", "-t ext4 -b 4096 -I 256 -O inline_data,metadata_csum", "32M", true, true },
	{ "ext3-1k", "-t ext3 -b 1024", "32M", false, false },
	{ "ext2-4k", "-t ext2 -b 4096", "32M", false, false },
};

/* A file as it should read: the test's own account of every byte. */
struct model {
	const char *name;
	uint64_t ino;
	char *data;
	uint64_t size, cap;
};

enum { F_SEQ, F_HOLES, F_TRUNC, F_FALLOC, F_PUNCH, F_ZERO, F_SMALL, F_TINY, F_FRAG, NFILES };
static const char *const file_names[NFILES] = { "seq", "holes", "trunc", "falloc", "punch",
						"zero", "small", "tiny", "frag" };

static void model_reserve(struct model *m, uint64_t size)
{
	if (size <= m->cap)
		return;
	m->data = realloc(m->data, size);
	if (!m->data)
		abort();
	memset(m->data + m->cap, 0, size - m->cap);
	m->cap = size;
}

static void model_write(struct model *m, uint64_t pos, const char *buf, size_t len)
{
	model_reserve(m, pos + len);
	memcpy(m->data + pos, buf, len);
	m->size = MAX(m->size, pos + len);
}

static void model_zero(struct model *m, uint64_t pos, uint64_t len)
{
	if (pos >= m->cap)
		return;
	memset(m->data + pos, 0, MIN(len, m->cap - pos));
}

static void model_resize(struct model *m, uint64_t size)
{
	model_reserve(m, size);
	if (size < m->size)
		memset(m->data + size, 0, m->cap - size);
	m->size = size;
}

static void write_file_bytes(const char *path, size_t len, uint64_t *state)
{
	_cleanup_free_ char *buf = malloc(len + 1);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (!buf || fd < 0)
		abort();
	fill_random(state, buf, len);
	if (write_all(fd, buf, len) < 0)
		abort();
	close(fd);
}

/* ---- the engine, as fuse/ drives it ---- */

static int zero_dev(int fd, uint64_t off, uint64_t len)
{
	static const char zeros[65536];

	while (len) {
		size_t n = MIN(len, sizeof(zeros));

		if (pwrite(fd, zeros, n, (off_t)off) != (ssize_t)n)
			return -errno;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Write @len bytes at @pos of @ino through iomap_begin, pwrite and ioend;
 * *@done is how many of them ioend took, even when a later piece failed.
 */
static int eng_write(struct imgfs_fs *fs, uint64_t ino, uint64_t pos, const char *buf, size_t len,
		     size_t *done)
{
	const uint64_t bs = fs->block_size;

	*done = 0;
	while (len) {
		struct imgfs_mapping m;
		uint64_t newsize, n;
		unsigned ioflags = IMGFS_IOEND_APPEND;
		int r = imgfs_iomap_at(fs, ino, pos, len, IMGFS_IOMAP_OP_WRITE, &m);

		if (r < 0)
			return r;
		n = MIN((uint64_t)len, m.map.offset + m.map.length - pos);
		switch (m.map.type) {
		case IMGFS_IOMAP_INLINE:
			r = fs->iomap_ops->write_inline(fs, ino, pos, buf, n);
			break;
		case IMGFS_IOMAP_UNWRITTEN:
			ioflags |= IMGFS_IOEND_UNWRITTEN;
			/* fall through */
		case IMGFS_IOMAP_MAPPED: {
			uint64_t dev = m.dev_addr + (pos - m.map.offset);
			uint64_t head = pos % bs, tail = -(pos + n) % bs;

			if (m.map.type == IMGFS_IOMAP_UNWRITTEN || (m.map.flags & IMGFS_IOMAP_F_NEW)) {
				r = zero_dev(m.fd, dev - head, head);
				if (r == 0)
					r = zero_dev(m.fd, dev + n, tail);
			}
			if (r == 0 && pwrite(m.fd, buf, n, (off_t)dev) != (ssize_t)n)
				r = -EIO;
			break;
		}
		default:
			diag("write at %" PRIu64 " mapped as type %u", pos, m.map.type);
			return -EIO;
		}
		if (r < 0)
			return r;
		r = imgfs_iomap_ioend(fs, ino, pos, n, ioflags, 0, &newsize);
		if (r < 0)
			return r;
		pos += n;
		buf += n;
		len -= n;
		*done += n;
	}
	return 0;
}

/* Write @len random bytes at @pos to the file and its model. */
static int do_write(struct imgfs_fs *fs, struct model *m, uint64_t pos, size_t len)
{
	_cleanup_free_ char *buf = malloc(len);
	int r;

	if (!buf)
		abort();
	fill_random(&rng_state, buf, len);

	size_t done;

	r = eng_write(fs, m->ino, pos, buf, len, &done);
	model_write(m, pos, buf, done);
	return r;
}

static int do_truncate(struct imgfs_fs *fs, struct model *m, uint64_t size)
{
	struct ext4_fs *e = EXT4(fs);
	struct ext4_inode in;
	int r;

	EXT4_LOCK(e);
	r = ext4_inode_read(e, m->ino, &in);
	if (r == 0)
		r = ext4_truncate(e, &in, size);
	if (r == 0)
		model_resize(m, size);
	return r;
}

static int do_fallocate(struct imgfs_fs *fs, struct model *m, int mode, uint64_t pos,
			uint64_t len)
{
	int r = fs->write_ops->fallocate(fs, m->ino, mode, pos, len);

	if (r < 0)
		return r;
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		model_zero(m, pos, len);
	if (!(mode & FALLOC_FL_KEEP_SIZE) && pos + len > m->size)
		model_resize(m, pos + len);
	return 0;
}

/* ---- the truth: e2fsprogs and the kernel ---- */

static bool fsck_clean(const char *img, const char *what)
{
	_cleanup_free_ char *out = capture("e2fsck -fn %s 2>&1; echo rc=$?", img);
	bool clean = strstr(out, "\nrc=0") != NULL;

	if (!ok(clean, "%s: e2fsck -fn finds the image clean", what)) {
		diag("%s", out);
	} else {
		/* Its summary line: files and blocks in use. */
		char *sum = strstr(out, " files (");

		while (sum && sum > out && sum[-1] != '\n')
			sum--;
		if (sum)
			diag("e2fsck: %.*s", (int)strcspn(sum, "\n"), sum);
	}
	return clean;
}

static uint64_t free_blocks(const char *img)
{
	_cleanup_free_ char *out = capture("dumpe2fs -h %s 2>/dev/null | sed -n 's/^Free blocks: *//p'", img);

	return strtoull(out, NULL, 10);
}

/* The extents debugfs lists for @name: leaves, and how many are unwritten. */
static void count_extents(const char *img, const char *name, unsigned *all, unsigned *unwritten)
{
	_cleanup_free_ char *a = capture("debugfs -R 'stat /%s' %s 2>/dev/null | "
					 "grep -oE '\\([0-9]+(-[0-9]+)?(\\[u\\])?\\):' | wc -l", name, img);
	_cleanup_free_ char *u = capture("debugfs -R 'stat /%s' %s 2>/dev/null | "
					 "grep -oE '\\([0-9]+(-[0-9]+)?\\[u\\]\\):' | wc -l", name, img);

	*all = (unsigned)strtoul(a, NULL, 10);
	*unwritten = (unsigned)strtoul(u, NULL, 10);
}

static void save_model(const struct model *m, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write_all(fd, m->data, m->size) < 0)
		abort();
	close(fd);
}

static void check_debugfs(const char *img, const struct variant *v, struct model *files)
{
	for (int i = 0; i < NFILES; i++) {
		_cleanup_free_ char *want = xasprintf("%s/want-%s", tmpdir, files[i].name);
		_cleanup_free_ char *got = xasprintf("%s/got-%s", tmpdir, files[i].name);

		save_model(&files[i], want);
		unlink(got);
		run("debugfs -R 'dump /%s %s' %s >/dev/null 2>&1", files[i].name, got, img);
		/* debugfs dumps all of an inline file's bytes, even past i_size. */
		ok(run("cmp -s -n %" PRIu64 " %s %s", files[i].size, want, got) == 0,
		   "%s: debugfs dumps %s as written (%" PRIu64 " bytes)", v->name, files[i].name,
		   files[i].size);
	}
}

static void check_kernel(const char *img, const struct variant *v, struct model *files)
{
	_cleanup_free_ char *mnt = xasprintf("%s/mnt", tmpdir);
	_cleanup_free_ char *script = NULL;

	if (!have_root) {
		ok(1, "# SKIP %s: the kernel's view needs root and loop devices", v->name);
		return;
	}
	mkdir(mnt, 0755);
	if (!ok(run("mount -o ro,loop %s %s", img, mnt) == 0, "%s: the kernel mounts the image",
		v->name))
		return;
	for (int i = 0; i < NFILES; i++) {
		_cleanup_free_ char *want = xasprintf("%s/want-%s", tmpdir, files[i].name);
		_cleanup_free_ char *path = xasprintf("%s/%s", mnt, files[i].name);
		struct stat st;

		save_model(&files[i], want);
		ok(stat(path, &st) == 0 && (uint64_t)st.st_size == files[i].size,
		   "%s: kernel: %s is %" PRIu64 " bytes", v->name, files[i].name, files[i].size);
		ok(run("cmp -s %s %s", want, path) == 0, "%s: kernel reads %s as written", v->name,
		   files[i].name);
	}
	{
		/* holes: data at 0, a hole up to the block holding 1 MiB + 100. */
		_cleanup_free_ char *path = xasprintf("%s/holes", mnt);
		int fd = open(path, O_RDONLY);
		off_t hole = lseek(fd, 0, SEEK_HOLE), data = lseek(fd, hole, SEEK_DATA);

		ok(hole >= 5000 && hole <= 8192 && data == 1048576,
		   "%s: kernel: holes has a hole at %lld up to data at %lld", v->name,
		   (long long)hole, (long long)data);
		close(fd);
	}
	if (v->extents) {
		_cleanup_free_ char *out = capture("filefrag -v %s/falloc %s/zero 2>&1", mnt, mnt);

		ok(strstr(out, "unwritten") != NULL, "%s: kernel: filefrag shows unwritten extents",
		   v->name);
		diag("%s", out);
	}
	{
		_cleanup_free_ char *out = capture("filefrag %s/seq 2>&1", mnt);

		diag("kernel: %s", out);
	}
	run("umount %s", mnt);
}

/* ---- the workload ---- */

static void workload(struct imgfs_fs *fs, const struct variant *v, struct model *f)
{
	const uint64_t bs = fs->block_size, MiB = 1 << 20;
	int r;

	/* In order, in pieces as the page cache would flush them. */
	r = 0;
	for (uint64_t pos = 0; pos < 6 * MiB && r == 0; pos += 128 * 1024)
		r = do_write(fs, &f[F_SEQ], pos, 128 * 1024);
	is_int(r, 0, "%s: 6 MiB written in 128 KiB pieces", v->name);

	/* Holes, sub-block pieces, a write across blocks, past EOF, then overwrites. */
	is_int(do_write(fs, &f[F_HOLES], 0, 5000), 0, "%s: holes: 5000 bytes at 0", v->name);
	is_int(do_write(fs, &f[F_HOLES], MiB + 100, 3000), 0, "%s: holes: at 1 MiB + 100", v->name);
	is_int(do_write(fs, &f[F_HOLES], 3 * MiB - 5, 10), 0, "%s: holes: across a block", v->name);
	is_int(do_write(fs, &f[F_HOLES], 4 * MiB + 7, 1), 0, "%s: holes: one byte past EOF", v->name);
	is_int(do_write(fs, &f[F_HOLES], 1000, 2000), 0, "%s: holes: overwrite inside", v->name);
	is_int(do_write(fs, &f[F_HOLES], MiB + 2000, 4 * bs), 0, "%s: holes: overwrite and extend",
	       v->name);

	/* Truncate down to the middle of a block, up past it, write, down again. */
	is_int(do_write(fs, &f[F_TRUNC], 0, 100 * 1024), 0, "%s: trunc: 100 KiB", v->name);
	is_int(do_truncate(fs, &f[F_TRUNC], 50001), 0, "%s: trunc: down to 50001", v->name);
	is_int(do_truncate(fs, &f[F_TRUNC], 200000), 0, "%s: trunc: up to 200000", v->name);
	is_int(do_write(fs, &f[F_TRUNC], 150000, 10), 0, "%s: trunc: write in the new hole", v->name);
	is_int(do_truncate(fs, &f[F_TRUNC], 150003), 0, "%s: trunc: down into that write", v->name);
	is_int(do_truncate(fs, &f[F_TRUNC], 160000), 0, "%s: trunc: up again", v->name);

	/* fallocate: preallocation is extents only. */
	if (v->extents) {
		is_int(do_fallocate(fs, &f[F_FALLOC], FALLOC_FL_KEEP_SIZE, 0, MiB), 0,
		       "%s: falloc: KEEP_SIZE 1 MiB", v->name);
		is_int(do_write(fs, &f[F_FALLOC], bs + 10, 5000), 0,
		       "%s: falloc: write into the preallocation", v->name);
		is_int(do_fallocate(fs, &f[F_FALLOC], 0, 2 * MiB, MiB), 0,
		       "%s: falloc: mode 0 at 2 MiB", v->name);
		is_int(do_fallocate(fs, &f[F_FALLOC], 0, 100, 50), 0,
		       "%s: falloc: mode 0 over written data", v->name);
	} else {
		is_int(fs->write_ops->fallocate(fs, f[F_FALLOC].ino, 0, 0, MiB), -EOPNOTSUPP,
		       "%s: falloc: EOPNOTSUPP on a block-mapped file", v->name);
		is_int(do_write(fs, &f[F_FALLOC], bs + 10, 5000), 0, "%s: falloc: a write instead",
		       v->name);
	}
	is_int(fs->write_ops->fallocate(fs, f[F_FALLOC].ino, FALLOC_FL_PUNCH_HOLE, 0, 10),
	       -EOPNOTSUPP, "%s: PUNCH_HOLE needs KEEP_SIZE", v->name);

	/* Punch: partial blocks zeroed, whole ones freed; nothing past EOF. */
	is_int(do_write(fs, &f[F_PUNCH], 0, MiB), 0, "%s: punch: 1 MiB", v->name);
	is_int(do_fallocate(fs, &f[F_PUNCH], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10000,
			    300000), 0, "%s: punch: a hole", v->name);
	is_int(do_fallocate(fs, &f[F_PUNCH], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 500, 20),
	       0, "%s: punch: inside one block", v->name);
	is_int(do_fallocate(fs, &f[F_PUNCH], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    MiB - 100, 4 * MiB), 0, "%s: punch: past EOF", v->name);

	/* Zero range. */
	is_int(do_write(fs, &f[F_ZERO], 0, MiB), 0, "%s: zero: 1 MiB", v->name);
	if (v->extents) {
		is_int(do_fallocate(fs, &f[F_ZERO], FALLOC_FL_ZERO_RANGE, 5000, 500000), 0,
		       "%s: zero: inside", v->name);
		is_int(do_fallocate(fs, &f[F_ZERO], FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				    2 * MiB, MiB / 2), 0, "%s: zero: KEEP_SIZE past EOF", v->name);
		is_int(do_fallocate(fs, &f[F_ZERO], FALLOC_FL_ZERO_RANGE, MiB - 100, 50000), 0,
		       "%s: zero: across EOF", v->name);
	} else {
		is_int(fs->write_ops->fallocate(fs, f[F_ZERO].ino, FALLOC_FL_ZERO_RANGE, 0, 10),
		       -EOPNOTSUPP, "%s: zero: EOPNOTSUPP on a block-mapped file", v->name);
	}

	/*
	 * Every other block of a preallocated run: 1200 alternating written
	 * and unwritten extents, a tree below the inode with several leaves.
	 * Then the gaps: each write merges three extents into one, across
	 * leaves too, emptying leaves; truncating frees what is left.
	 */
	if (v->extents)
		is_int(do_fallocate(fs, &f[F_FRAG], FALLOC_FL_KEEP_SIZE, 0, 1200 * bs), 0,
		       "%s: frag: 1200 blocks preallocated", v->name);
	r = 0;
	for (uint64_t b = 0; b < 1200 && r == 0; b += 2)
		r = do_write(fs, &f[F_FRAG], b * bs + 1, bs - 2);
	is_int(r, 0, "%s: frag: every other block written", v->name);
	for (uint64_t b = 1; b < 1200 && r == 0; b += 2)
		r = do_write(fs, &f[F_FRAG], b * bs, bs);
	is_int(r, 0, "%s: frag: the gaps filled", v->name);
	is_int(do_truncate(fs, &f[F_FRAG], 1100 * bs + 5), 0, "%s: frag: truncated", v->name);

	/* Small files: inline while they fit, then out into a block. */
	is_int(do_write(fs, &f[F_TINY], 0, 10), 0, "%s: tiny: 10 bytes", v->name);
	is_int(do_write(fs, &f[F_TINY], 12, 30), 0, "%s: tiny: 30 more after a gap", v->name);
	is_int(do_truncate(fs, &f[F_TINY], 5), 0, "%s: tiny: down to 5", v->name);
	is_int(do_truncate(fs, &f[F_TINY], 50), 0, "%s: tiny: up to 50", v->name);
	is_int(do_write(fs, &f[F_SMALL], 30, 20), 0, "%s: small: 20 bytes at 30", v->name);
	is_int(do_write(fs, &f[F_SMALL], 70, 60), 0, "%s: small: up to 130", v->name);
	is_int(do_write(fs, &f[F_SMALL], 1000, 5000), 0, "%s: small: out of the inode", v->name);
}

static void create_files(const char *src, const struct variant *v)
{
	run("mkdir -p %s", src);
	for (int i = 0; i < NFILES; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", src, file_names[i]);

		write_file_bytes(p, i == F_SMALL ? 40 : 0, &rng_state);
	}
}

static void test_variant(const struct variant *v)
{
	_cleanup_free_ char *img = xasprintf("%s/%s.img", tmpdir, v->name);
	_cleanup_free_ char *src = xasprintf("%s/src-%s", tmpdir, v->name);
	struct model files[NFILES] = { 0 };
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	unsigned all, unwritten;

	create_files(src, v);
	if (run("mkfs.ext4 -q -F %s -d %s %s %s", v->mkfs, src, img, v->size) != 0) {
		ok(0, "%s: mkfs", v->name);
		return;
	}
	if (!ok(test_open_ext4_rw(img, &image, &fs) == 0 && fs->write_ops, "%s: opened read-write", v->name))
		return;
	for (int i = 0; i < NFILES; i++) {
		files[i].name = file_names[i];
		if (fs->ops->lookup(fs, fs->root_ino, file_names[i], strlen(file_names[i]),
				    &files[i].ino) < 0)
			abort();
	}
	{
		/* The 40 bytes mkfs put in "small". */
		_cleanup_free_ char *p = xasprintf("%s/small", src);
		_cleanup_free_ char *buf = malloc(40);
		int fd = open(p, O_RDONLY);

		if (!buf || fd < 0 || read(fd, buf, 40) != 40)
			abort();
		close(fd);
		model_write(&files[F_SMALL], 0, buf, 40);
	}
	workload(fs, v, files);
	imgfs_fs_close(fs);
	imgfs_image_close(image);

	fsck_clean(img, v->name);
	check_debugfs(img, v, files);
	count_extents(img, "seq", &all, &unwritten);
	diag("%s: debugfs: seq (6 MiB written in order) has %u extents, %u unwritten", v->name, all,
	     unwritten);
	if (v->extents) {
		ok(all >= 1 && all <= 3 && unwritten == 0, "%s: seq is %u extents, all written",
		   v->name, all);
		count_extents(img, "frag", &all, &unwritten);
		diag("%s: debugfs: frag (filled in two passes) has %u extents, %u unwritten", v->name,
		     all, unwritten);
		ok(all <= 4 && unwritten == 0, "%s: frag's pieces merged again", v->name);
		count_extents(img, "falloc", &all, &unwritten);
		diag("%s: debugfs: falloc has %u extents, %u unwritten", v->name, all, unwritten);
		ok(unwritten >= 2, "%s: falloc keeps unwritten extents", v->name);
	}
	if (v->inline_data) {
		_cleanup_free_ char *tiny = capture("debugfs -R 'stat /tiny' %s 2>/dev/null", img);
		_cleanup_free_ char *small = capture("debugfs -R 'stat /small' %s 2>/dev/null", img);

		ok(strstr(tiny, "Size of inline data") != NULL, "%s: tiny stayed inline", v->name);
		ok(strstr(small, "Size of inline data") == NULL && strstr(small, "EXTENTS"),
		   "%s: small moved out of the inode into an extent", v->name);
	}
	check_kernel(img, v, files);
	for (int i = 0; i < NFILES; i++)
		free(files[i].data);
}

/* Fill the disk: ENOSPC, a clean image, and every block back after truncating. */
static void test_enospc(const char *mkfs, const char *name)
{
	_cleanup_free_ char *img = xasprintf("%s/full-%s.img", tmpdir, name);
	_cleanup_free_ char *src = xasprintf("%s/src-full", tmpdir);
	struct model m = { .name = "fill" };
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	uint64_t before, after, pos = 0;
	int r = 0;

	run("mkdir -p %s && : > %s/fill", src, src);
	if (run("mkfs.ext4 -q -F %s -d %s %s 8M", mkfs, src, img) != 0 ||
	    test_open_ext4_rw(img, &image, &fs) < 0) {
		ok(0, "%s: full: image", name);
		return;
	}
	before = free_blocks(img);
	if (fs->ops->lookup(fs, fs->root_ino, "fill", 4, &m.ino) < 0)
		abort();
	while (r == 0) {
		r = do_write(fs, &m, pos, 300 * 1024 + 17);
		pos += 300 * 1024 + 17;
	}
	is_int(r, -ENOSPC, "%s: full: ENOSPC after %" PRIu64 " bytes", name, m.size);
	imgfs_fs_close(fs);
	imgfs_image_close(image);
	fsck_clean(img, "full disk");
	{
		_cleanup_free_ char *want = xasprintf("%s/want-fill", tmpdir);
		_cleanup_free_ char *got = xasprintf("%s/got-fill", tmpdir);

		/* i_size is what the completed writes reached. */
		save_model(&m, want);
		run("debugfs -R 'dump /fill %s' %s >/dev/null 2>&1", got, img);
		ok(run("cmp -s %s %s", want, got) == 0, "%s: full: what was written reads back", name);
	}
	if (getenv("KEEP"))
		run("cp %s %s.before", img, img);
	if (test_open_ext4_rw(img, &image, &fs) < 0)
		abort();
	r = do_truncate(fs, &m, 0);
	is_int(r, 0, "%s: full: truncate to 0", name);
	imgfs_fs_close(fs);
	imgfs_image_close(image);
	fsck_clean(img, "after freeing");
	after = free_blocks(img);
	is_int(after, before, "%s: full: every block is free again (%" PRIu64 ")", name, after);
	free(m.data);
}

int main(void)
{
	have_root = private_mounts() && run("test -e /dev/loop-control") == 0;
	if (!mkdtemp(tmpdir))
		abort();
	if (run("mkfs.ext4 -V >/dev/null 2>&1 && debugfs -V >/dev/null 2>&1") != 0)
		skip_all("e2fsprogs are not installed");
	for (size_t i = 0; i < ARRAY_SIZE(variants); i++)
		test_variant(&variants[i]);
	test_enospc("-t ext4 -b 1024", "ext4");
	test_enospc("-t ext3 -b 1024", "ext3");
	if (!getenv("KEEP"))
		rm_tree(tmpdir);
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}
