/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The XFS core (superblock, inodes, getattr, readlink, block maps, iomap)
 * against independent views of the same images: xfs_db, and the kernel's
 * own XFS driver through a read-only loop mount (as root, in a mount
 * namespace of our own; skipped otherwise).  Images come from mkfs.xfs -p
 * protofiles (no root) and from loop mounts populated by the kernel.
 * Corrupted copies (xfs_db writes, which re-stamp CRCs, and raw byte
 * flips, which do not) must be refused or read as -EUCLEAN with one log
 * line saying what was wrong, never crash.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include "fs.h"
#include "image.h"
#include "iomap.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

static char tmpdir[] = "/tmp/unit-xfs.XXXXXX";
/* Root in a mount namespace of our own, with loop devices. */
static bool have_root;

/* A symlink target too long for the inode: stored in XSLM blocks. */
static char long_target[1001];

/*
 * ---- opening images straight with the XFS backend, past the probe: the
 * superblocks these tests damage must reach the backend's own checks ----
 */

static int open_xfs(const char *path, struct imgfs_image **imgp, struct imgfs_fs **fsp,
		    struct imgfs_error *err)
{
	struct imgfs_image *img = calloc(1, sizeof(*img));
	struct stat st;
	int r;

	if (!img)
		abort();
	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0 || fstat(img->fd, &st) < 0)
		abort();
	img->data_fd = img->fd;
	img->size = (uint64_t)st.st_size;
	snprintf(img->fstype, sizeof(img->fstype), "xfs");
	img->path = strdup(path);
	r = imgfs_xfs_open(img, fsp, err);
	if (r < 0) {
		imgfs_image_close(img);
		return r;
	}
	*imgp = img;
	return 0;
}

static void close_xfs(struct imgfs_fs *fs, struct imgfs_image *img)
{
	imgfs_fs_close(fs);
	imgfs_image_close(img);
}

/* Run @fn with stderr (where the log goes) captured; returns what was logged. */
static char *logged_during(int (*fn)(void *), void *arg, int *ret)
{
	_cleanup_free_ char *path = xasprintf("%s/stderr", tmpdir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), saved = dup(2);
	char *text;

	fflush(stderr);
	dup2(fd, 2);
	*ret = fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	text = capture("cat %s", path);
	return text;
}

/* ---- xfs_db: the first independent view ---- */

static char *db(const char *img, const char *cmds)
{
	return capture("xfs_db -r %s %s 2>&1", cmds, img);
}

/* The inode number of @path, as xfs_db resolves it. */
static uint64_t db_ino(const char *img, const char *path)
{
	_cleanup_free_ char *cmd = xasprintf("-c 'path %s' -c stack", path);
	_cleanup_free_ char *out = db(img, cmd);
	const char *p = strstr(out, "inode ");

	return p ? strtoull(p + 6, NULL, 10) : 0;
}

/* A numeric field ("core.size = 5") of the inode at @path. */
static long long db_field(const char *img, const char *path, const char *field)
{
	_cleanup_free_ char *cmd = xasprintf("-c 'path %s' -c 'p %s'", path, field);
	_cleanup_free_ char *out = db(img, cmd);
	const char *p = strstr(out, " = ");

	return p ? strtoll(p + 3, NULL, 0) : -1;
}

/* ---- the kernel: the second ---- */

struct kstat {
	char path[128];
	uint64_t ino;
	unsigned mode, uid, gid, nlink;
	uint64_t size, blocks;
	struct timespec atime, mtime, ctime;
	unsigned rmajor, rminor;
	char target[1100];
};

static struct kstat kstats[64];
static size_t nkstats;
/* statfs as the kernel reports it: blocks, free, available, files, free files. */
static unsigned long long kstatfs[5];

static struct timespec parse_ts(const char *s)
{
	struct timespec ts = { .tv_sec = strtoll(s, NULL, 10) };
	const char *dot = strchr(s, '.');

	if (dot) {
		char frac[10] = "000000000";

		memcpy(frac, dot + 1, MIN(strspn(dot + 1, "0123456789"), (size_t)9));
		ts.tv_nsec = strtol(frac, NULL, 10);
	}
	return ts;
}

/*
 * Mount @img read-only and record what the kernel says of every path in
 * it.
 */
static bool kernel_view(const char *img)
{
	_cleanup_free_ char *mnt = xasprintf("%s/mnt", tmpdir);
	_cleanup_free_ char *out = NULL;
	char *line, *save = NULL;

	nkstats = 0;
	if (!have_root)
		return false;
	mkdir(mnt, 0755);
	out = capture("sh -c '"
		      "mount -o ro,loop %s %s || exit 1; cd %s; "
		      "find . -printf \"F %%p|%%i|%%m|%%U|%%G|%%n|%%s|%%b|%%A@|%%T@|%%C@|%%y\\n\"; "
		      "find . \\( -type c -o -type b \\) -exec stat -c \"D %%n|%%t|%%T\" {} +; "
		      "find . -type l -printf \"L %%p|%%l\\n\"; stat -f -c \"S %%b %%f %%a %%c %%d\" .; "
		      "cd /; umount %s' 2>/dev/null",
		      img, mnt, mnt, mnt);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[12];
		size_t n = 0;
		char *s = line + 2, *tok;

		if (line[0] == 'S') {
			if (sscanf(s, "%llu %llu %llu %llu %llu", &kstatfs[0], &kstatfs[1],
				   &kstatfs[2], &kstatfs[3], &kstatfs[4]) != 5)
				abort();
		} else if (line[0] == 'F' && nkstats < ARRAY_SIZE(kstats)) {
			struct kstat *k = &kstats[nkstats++];

			while (n < 12 && (tok = strsep(&s, "|")))
				f[n++] = tok;
			if (n < 12)
				abort();
			snprintf(k->path, sizeof(k->path), "%s", f[0] + 1);
			if (!k->path[0])
				strcpy(k->path, "/");
			k->ino = strtoull(f[1], NULL, 10);
			k->mode = (unsigned)strtoul(f[2], NULL, 8);
			k->uid = (unsigned)strtoul(f[3], NULL, 10);
			k->gid = (unsigned)strtoul(f[4], NULL, 10);
			k->nlink = (unsigned)strtoul(f[5], NULL, 10);
			k->size = strtoull(f[6], NULL, 10);
			k->blocks = strtoull(f[7], NULL, 10);
			k->atime = parse_ts(f[8]);
			k->mtime = parse_ts(f[9]);
			k->ctime = parse_ts(f[10]);
			switch (f[11][0]) {
			case 'f': k->mode |= S_IFREG; break;
			case 'd': k->mode |= S_IFDIR; break;
			case 'l': k->mode |= S_IFLNK; break;
			case 'c': k->mode |= S_IFCHR; break;
			case 'b': k->mode |= S_IFBLK; break;
			case 'p': k->mode |= S_IFIFO; break;
			case 's': k->mode |= S_IFSOCK; break;
			}
		} else if (line[0] == 'D' || line[0] == 'L') {
			char *path = strsep(&s, "|");

			for (size_t i = 0; i < nkstats; i++) {
				if (strcmp(kstats[i].path, path + 1))
					continue;
				if (line[0] == 'L') {
					snprintf(kstats[i].target, sizeof(kstats[i].target), "%s", s);
				} else {
					kstats[i].rmajor = (unsigned)strtoul(strsep(&s, "|"), NULL, 16);
					kstats[i].rminor = (unsigned)strtoul(s, NULL, 16);
				}
			}
		}
	}
	return nkstats > 0;
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* getattr and readlink of every inode the kernel showed, field by field. */
static void check_against_kernel(struct imgfs_fs *fs, const char *name)
{
	for (size_t i = 0; i < nkstats; i++) {
		const struct kstat *k = &kstats[i];
		struct stat st;
		int r = fs->ops->getattr(fs, k->ino, &st);
		bool same;

		if (!ok(r == 0, "%s: getattr %s (inode %" PRIu64 ")", name, k->path, k->ino)) {
			diag("  error %d", r);
			continue;
		}
		same = st.st_mode == k->mode && st.st_uid == k->uid && st.st_gid == k->gid &&
		       st.st_nlink == k->nlink && (uint64_t)st.st_size == k->size &&
		       (uint64_t)st.st_blocks == k->blocks && ts_eq(st.st_atim, k->atime) &&
		       ts_eq(st.st_mtim, k->mtime) && ts_eq(st.st_ctim, k->ctime);
		if (S_ISCHR(k->mode) || S_ISBLK(k->mode))
			same = same && major(st.st_rdev) == k->rmajor &&
			       minor(st.st_rdev) == k->rminor;
		if (!ok(same, "%s: %s matches the kernel's stat", name, k->path))
			diag("  got mode %o uid %u gid %u nlink %lu size %lld blocks %lld mtime %lld.%09ld rdev %u:%u;"
			     " kernel mode %o uid %u gid %u nlink %u size %llu blocks %llu mtime %lld.%09ld rdev %u:%u",
			     st.st_mode, st.st_uid, st.st_gid, (unsigned long)st.st_nlink,
			     (long long)st.st_size, (long long)st.st_blocks,
			     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, major(st.st_rdev),
			     minor(st.st_rdev), k->mode, k->uid, k->gid, k->nlink,
			     (unsigned long long)k->size, (unsigned long long)k->blocks,
			     (long long)k->mtime.tv_sec, k->mtime.tv_nsec, k->rmajor, k->rminor);
		if (S_ISLNK(k->mode)) {
			char buf[2048];
			size_t len = 0;

			r = fs->ops->readlink(fs, k->ino, buf, sizeof(buf), &len);
			ok(r == 0 && len == strlen(k->target) && !memcmp(buf, k->target, len),
			   "%s: readlink %s matches the kernel (%zu bytes)", name, k->path,
			   strlen(k->target));
		}
	}
}

/* ---- block maps: against xfs_db's bmap ---- */

struct dbext {
	uint64_t off, agno, agbno, count;
	bool unwritten;
};

static size_t db_bmap(const char *img, const char *path, struct dbext *out, size_t max)
{
	_cleanup_free_ char *cmd = xasprintf("-c 'path %s' -c 'bmap -d'", path);
	_cleanup_free_ char *text = db(img, cmd);
	char *line, *save = NULL;
	size_t n = 0;

	for (line = strtok_r(text, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long off, sb, ag, agb, cnt;
		int flag;

		if (sscanf(line, "data offset %llu startblock %llu (%llu/%llu) count %llu flag %d",
			   &off, &sb, &ag, &agb, &cnt, &flag) == 6)
			out[n++] = (struct dbext){ off, ag, agb, cnt, flag != 0 };
	}
	return n;
}

static void check_iomap(struct imgfs_fs *fs, const char *img, const char *path,
			const char *name, uint64_t agblocks)
{
	static struct dbext ext[8192];
	const uint64_t bs = fs->block_size;
	size_t n = db_bmap(img, path, ext, ARRAY_SIZE(ext)), bad = 0;
	uint64_t ino = db_ino(img, path), next = 0;

	ok(n > 0, "%s: xfs_db maps %s in %zu extents", name, path, n);
	for (size_t i = 0; i < n; i++) {
		struct imgfs_iomap m;
		int r;

		if (ext[i].off > next) {
			/* A hole before this extent, up to its start. */
			r = fs->iomap_ops->iomap_begin(fs, ino, next * bs, bs, 0, &m);
			if (r || m.type != IMGFS_IOMAP_HOLE || m.offset != next * bs ||
			    m.offset + m.length != ext[i].off * bs) {
				if (!bad++)
					diag("  hole at block %" PRIu64 ": r %d type %u [%" PRIu64 ", +%" PRIu64 ")",
					     next, r, m.type, m.offset, m.length);
			}
		}
		r = fs->iomap_ops->iomap_begin(fs, ino, ext[i].off * bs + bs / 2, bs, 0, &m);
		if (r || m.offset != ext[i].off * bs || m.length != ext[i].count * bs ||
		    m.type != (ext[i].unwritten ? IMGFS_IOMAP_UNWRITTEN : IMGFS_IOMAP_MAPPED) ||
		    m.addr != (ext[i].agno * agblocks + ext[i].agbno) * bs) {
			if (!bad++)
				diag("  extent %zu: r %d type %u [%" PRIu64 ", +%" PRIu64 ") at %" PRIu64,
				     i, r, m.type, m.offset, m.length, m.addr);
		}
		next = ext[i].off + ext[i].count;
	}
	ok(bad == 0, "%s: iomap of %s agrees with xfs_db on every extent and hole", name, path);
}

/* The file read through iomap equals the kernel's copy at @copy. */
static void check_content(struct imgfs_fs *fs, uint64_t ino, const char *copy,
			  const char *name, const char *path)
{
	_cleanup_free_ char *want = NULL, *got = NULL;
	struct stat st;
	ssize_t n;
	int fd = open(copy, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		ok(0, "%s: kernel copy of %s", name, path);
		return;
	}
	want = malloc((size_t)st.st_size + 1);
	got = malloc((size_t)st.st_size + 1);
	if (!want || !got || read_full(fd, want, (size_t)st.st_size, 0) < 0)
		abort();
	close(fd);
	n = imgfs_iomap_read(fs, ino, (uint64_t)st.st_size, got, (size_t)st.st_size, 0);
	ok(n == st.st_size && !memcmp(want, got, (size_t)st.st_size),
	   "%s: %s reads as the kernel reads it (%lld bytes)", name, path, (long long)st.st_size);
}

/* ---- images ---- */

static void write_proto(const char *proto, const char *small)
{
	FILE *f = fopen(proto, "w");

	if (!f)
		abort();
	fprintf(f, "boot\n0 0\nd--755 0 0\n"
		   "small ---640 1000 100 %s\n"
		   "empty ---600 7 8 /dev/null\n"
		   "short l--777 0 0 /short/target\n"
		   "long l--777 0 0 %s\n"
		   "cdev c--644 0 0 1 3\n"
		   "bdev b--600 0 6 259 70000\n"
		   "fifo p--644 0 0\n"
		   "sub d--750 3 4\n"
		   "inner ---644 0 0 %s\n"
		   "$\n$\n", small, long_target, small);
	fclose(f);
}

static bool mkfs(const char *img, const char *opts, const char *proto)
{
	return run("truncate -s 0 %s && truncate -s 300M %s && mkfs.xfs -q -f %s %s%s %s", img,
		   img, opts, proto ? "-p " : "", proto ? proto : "", img) == 0;
}

/* Populate @img through the kernel: the forms only a real writer makes. */
static bool populate(const char *img, unsigned bs, bool bigtime)
{
	_cleanup_free_ char *mnt = xasprintf("%s/mnt", tmpdir);
	_cleanup_free_ char *script = xasprintf("%s/populate.sh", tmpdir);
	unsigned nfrag = bs == 1024 ? 3000 : 600;
	FILE *f = fopen(script, "w");

	if (!f)
		abort();
	/* Every other block written: one extent per block, a bmbt fork (2 levels at 1k). */
	fprintf(f, "xfs_io -f");
	for (unsigned i = 0; i < nfrag; i++)
		fprintf(f, " -c 'pwrite -q -S %u %u %u'", i & 0xff, 2 * i * bs, bs);
	fprintf(f, " frag\n");
	fprintf(f, "truncate -s 1G sparse\nxfs_io -c 'pwrite -q 500m 64k' -c 'pwrite -q 1020m 4k' sparse\n");
	fprintf(f, "xfs_io -f -c 'falloc 0 1m' -c 'pwrite -q 256k 8k' prealloc\n");
	fprintf(f, "cp --reflink=%s frag frag.clone\n", bigtime ? "always" : "never");
	fprintf(f, "echo data > hard1 && ln hard1 hard2\n");
	fprintf(f, "mknod chr c 136 5 && mknod blk b 8 17 && mkfifo fifo\n");
	fprintf(f, "python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")'\n");
	fprintf(f, "ln -s %s longlink && ln -s x shortlink\n", long_target);
	fprintf(f, "mkdir -p d/e && chown 1234:5678 d && chmod 1777 d/e\n");
	fprintf(f, "touch -d '1901-12-14 00:00:00 UTC' old && touch -d '1969-07-20 20:17:40.5 UTC' moon\n");
	fprintf(f, "touch -d '2038-01-19 03:14:08 UTC' y2038\n");
	if (bigtime)
		fprintf(f, "touch -d '2300-01-01 12:00:00.123456789 UTC' future\n");
	fclose(f);
	mkdir(mnt, 0755);
	return populate_mounted(img, mnt, script) == 0;
}

/* ---- the checks per image ---- */

struct attr_args {
	struct imgfs_fs *fs;
	uint64_t ino;
	int op;
};

static int try_ops(void *arg)
{
	struct attr_args *a = arg;
	struct stat st;
	char buf[2048];
	size_t len;
	struct imgfs_iomap m;

	switch (a->op) {
	case 0:
		return a->fs->ops->getattr(a->fs, a->ino, &st);
	case 1:
		return a->fs->ops->readlink(a->fs, a->ino, buf, sizeof(buf), &len);
	default:
		return a->fs->iomap_ops->iomap_begin(a->fs, a->ino, 100 * 1024, 1, 0, &m);
	}
}


static uint64_t sb_field(const char *img, const char *field)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_free_ char *cmd = xasprintf("-c 'sb 0' -c 'p %s'", field);

	out = db(img, cmd);
	const char *p = strstr(out, " = ");

	return p ? strtoull(p + 3, NULL, 10) : 0;
}


static void check_proto_image(const char *img, const char *name, unsigned bs)
{
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	struct imgfs_error err = { 0 };
	struct imgfs_fs_info info;
	struct stat st;
	char buf[2048];
	size_t len;
	uint64_t ino;

	if (!ok(open_xfs(img, &image, &fs, &err) == 0, "%s: opens", name)) {
		diag("  %s", err.msg);
		return;
	}
	is_int(fs->root_ino, sb_field(img, "rootino"), "%s: root inode as xfs_db says", name);
	is_int(fs->block_size, bs, "%s: block size", name);
	ok(fs->ops->info(fs, &info) == 0 && !strcmp(info.type, "xfs") &&
	   strstr(info.features, "crc") && strstr(info.features, "ftype") &&
	   info.block_size == bs,
	   "%s: info says xfs, %u-byte blocks, features \"%s\"", name, bs, info.features);

	/* Every field against xfs_db. */
	static const char *const paths[] = { "/", "/small", "/empty", "/short", "/long", "/cdev",
					     "/bdev", "/fifo", "/sub", "/sub/inner" };
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		const char *p = paths[i];
		bool same;

		ino = db_ino(img, p);
		if (!ok(ino && fs->ops->getattr(fs, ino, &st) == 0, "%s: getattr %s", name, p))
			continue;
		same = st.st_mode == (unsigned)db_field(img, p, "core.mode") &&
		       st.st_uid == (unsigned)db_field(img, p, "core.uid") &&
		       st.st_gid == (unsigned)db_field(img, p, "core.gid") &&
		       st.st_nlink == (unsigned)db_field(img, p, "core.nlinkv2") &&
		       st.st_size == db_field(img, p, "core.size") &&
		       st.st_blocks == db_field(img, p, "core.nblocks") * (bs / 512);
		ok(same, "%s: %s matches xfs_db (mode, owner, nlink, size, blocks)", name, p);
	}
	ino = db_ino(img, "/bdev");
	ok(fs->ops->getattr(fs, ino, &st) == 0 && major(st.st_rdev) == 259 &&
	   minor(st.st_rdev) == 70000, "%s: block device 259:70000", name);
	ino = db_ino(img, "/cdev");
	ok(fs->ops->getattr(fs, ino, &st) == 0 && st.st_rdev == makedev(1, 3),
	   "%s: character device 1:3", name);

	ino = db_ino(img, "/short");
	ok(fs->ops->readlink(fs, ino, buf, sizeof(buf), &len) == 0 && len == 13 &&
	   !memcmp(buf, "/short/target", 13), "%s: local symlink", name);
	ok(fs->ops->readlink(fs, ino, buf, 5, &len) == -ERANGE, "%s: readlink into a small buffer is ERANGE",
	   name);
	/*
	 * mkfs.xfs 6.1 writes protofile symlinks too long for the inode
	 * without their XSLM header; the kernel refuses them too (EUCLEAN).
	 * Remote symlinks the kernel made are checked in the populated images.
	 */
	ino = db_ino(img, "/long");
	is_int(db_field(img, "/long", "core.format"), 2, "%s: the long symlink is remote", name);
	{
		struct attr_args a = { .fs = fs, .ino = ino, .op = 1 };
		_cleanup_free_ char *log = NULL;
		int r;

		log = logged_during(try_ops, &a, &r);
		ok(r == -EUCLEAN && strstr(log, "symlink block 0: bad magic"),
		   "%s: mkfs's header-less remote symlink is EUCLEAN, as for the kernel", name);
	}
	ok(fs->ops->readlink(fs, db_ino(img, "/small"), buf, sizeof(buf), &len) == -EINVAL,
	   "%s: readlink of a file is EINVAL", name);

	ino = db_ino(img, "/small");
	check_iomap(fs, img, "/small", name, sb_field(img, "agblocks"));
	{
		struct imgfs_iomap m;

		ok(fs->iomap_ops->iomap_begin(fs, ino, 0, 1, IMGFS_IOMAP_OP_WRITE, &m) == -EROFS,
		   "%s: iomap for writing is EROFS", name);
		ok(fs->iomap_ops->iomap_begin(fs, db_ino(img, "/sub"), 0, 1, 0, &m) == -EINVAL,
		   "%s: iomap of a directory is EINVAL", name);
		ok(fs->iomap_ops->iomap_begin(fs, ino, (uint64_t)INT64_MAX - 5, 1, 0, &m) == 0 &&
		   m.type == IMGFS_IOMAP_HOLE && m.offset + m.length == (uint64_t)INT64_MAX,
		   "%s: iomap near the largest offset is a hole that ends there", name);
	}
	{
		struct attr_args a = { .fs = fs, .ino = 5, .op = 0 };
		int r;

		free(logged_during(try_ops, &a, &r));
		ok(r == -ENOENT || r == -EUCLEAN, "%s: inode 5 (in the AG headers) is refused", name);
	}
	ok(fs->ops->getattr(fs, UINT64_MAX, &st) == -ENOENT, "%s: inode 2^64-1 is ENOENT", name);
	close_xfs(fs, image);
}

static void check_populated_image(const char *img, const char *name, bool bigtime)
{
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	struct imgfs_error err = { 0 };
	uint64_t agblocks = sb_field(img, "agblocks");
	static const char *const files[] = { "/frag", "/frag.clone", "/sparse", "/prealloc",
					     "/hard1" };

	if (!ok(open_xfs(img, &image, &fs, &err) == 0, "%s: opens", name)) {
		diag("  %s", err.msg);
		return;
	}
	is_int(db_field(img, "/frag", "core.format"), 3, "%s: /frag has a btree fork", name);
	if (fs->block_size == 1024)
		is_int(db_field(img, "/frag", "u3.bmbt.level"), 2,
		       "%s: /frag's bmbt has 2 levels", name);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		check_iomap(fs, img, files[i], name, agblocks);

	if (kernel_view(img)) {
		_cleanup_free_ char *mnt = xasprintf("%s/mnt", tmpdir);

		ok(nkstats >= 18, "%s: the kernel shows %zu inodes", name, nkstats);
		check_against_kernel(fs, name);
		{
			struct statvfs sv;

			if (!ok(fs->ops->statfs(fs, &sv) == 0 && sv.f_blocks == kstatfs[0] &&
			   sv.f_bfree == kstatfs[1] && sv.f_bavail == kstatfs[2] &&
			   sv.f_files == kstatfs[3] && sv.f_ffree == kstatfs[4],
			   "%s: statfs matches the kernel's (%llu %llu %llu %llu %llu)", name,
			   kstatfs[0], kstatfs[1], kstatfs[2], kstatfs[3], kstatfs[4]))
				diag("  got %llu %llu %llu %llu %llu", (unsigned long long)sv.f_blocks,
			     (unsigned long long)sv.f_bfree, (unsigned long long)sv.f_bavail,
			     (unsigned long long)sv.f_files, (unsigned long long)sv.f_ffree);
		}
		for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
			_cleanup_free_ char *copy = xasprintf("%s/copy", tmpdir);

			if (run("mount -o ro,loop %s %s && cp %s%s %s; r=$?; umount %s; exit $r",
				img, mnt, mnt, files[i], copy, mnt)) {
				ok(0, "%s: kernel copy of %s", name, files[i]);
				continue;
			}
			check_content(fs, db_ino(img, files[i]), copy, name, files[i]);
		}
		(void)bigtime;
	}
	close_xfs(fs, image);
}

/* ---- corruption ---- */

struct open_args {
	const char *img;
	int r;
	struct imgfs_error err;
};

static int try_open(void *arg)
{
	struct open_args *a = arg;
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;

	a->r = open_xfs(a->img, &image, &fs, &a->err);
	if (a->r == 0)
		close_xfs(fs, image);
	return a->r;
}

/* A copy of @base changed by @cmd (with IMG for the copy's path) must be refused with @msg. */
static void expect_refusal(const char *base, const char *what, const char *cmd, int code,
			   const char *msg)
{
	_cleanup_free_ char *img = xasprintf("%s/bad.img", tmpdir);
	_cleanup_free_ char *full = NULL;
	struct open_args a = { .img = img };
	int r;

	if (run("cp --sparse=always %s %s", base, img)) {
		ok(0, "%s: copy", what);
		return;
	}
	full = xasprintf("IMG=%s; %s", img, cmd);
	if (run("%s", full)) {
		ok(0, "%s: corrupting the copy", what);
		return;
	}
	free(logged_during(try_open, &a, &r));
	if (!ok(r == -code && strstr(a.err.msg, msg), "%s: refused (%s)", what, strerror(code)))
		diag("  got %d: %s", r, a.err.msg);
}

/* After @cmd on a copy of @base, operation @op on @path is -EUCLEAN and logs @msg. */
static void expect_corrupt(const char *base, const char *what, const char *path, int op,
			   const char *cmd, const char *msg)
{
	_cleanup_free_ char *img = xasprintf("%s/bad.img", tmpdir);
	_cleanup_free_ char *full = NULL, *log = NULL;
	struct imgfs_image *image = NULL;
	struct imgfs_error err = { 0 };
	struct attr_args a = { .op = op };
	int r;

	a.ino = db_ino(base, path);
	full = xasprintf("cp --sparse=always %s %s && IMG=%s && %s", base, img, img, cmd);
	if (run("%s", full) || open_xfs(img, &image, &a.fs, &err) < 0) {
		ok(0, "%s: corrupted copy opens (%s)", what, err.msg);
		return;
	}
	log = logged_during(try_ops, &a, &r);
	if (!ok(r == -EUCLEAN && strstr(log, msg), "%s: -EUCLEAN, logged \"%s\"", what, msg))
		diag("  got %d, log: %s", r, log);
	ok(strchr(log, '\n') == log + strlen(log) - 1 || !*log, "%s: one log line", what);
	close_xfs(a.fs, image);
}

static void check_corruption(const char *base, const char *fragged)
{
	/* Superblock: byte flips without a new CRC, and xfs_db writes with one. */
	expect_refusal(base, "superblock CRC",
		       "printf 'X' | dd of=$IMG bs=1 seek=108 conv=notrunc status=none", EUCLEAN,
		       "CRC");
	expect_refusal(base, "not XFS", "printf 'ABCD' | dd of=$IMG conv=notrunc status=none",
		       EMEDIUMTYPE, "not an XFS");
	expect_refusal(base, "needsrepair",
		       "xfs_db -x -c 'sb 0' -c \"write -d features_incompat $(( $(xfs_db -r -c 'sb 0' -c 'p features_incompat' $IMG | sed 's/.*= //') | 16 ))\" $IMG",
		       EUCLEAN, "needsrepair");
	expect_refusal(base, "unknown incompat feature",
		       "xfs_db -x -c 'sb 0' -c \"write -d features_incompat $(( $(xfs_db -r -c 'sb 0' -c 'p features_incompat' $IMG | sed 's/.*= //') | 1048576 ))\" $IMG",
		       EOPNOTSUPP, "0x100000");
	expect_refusal(base, "realtime volume", "xfs_db -x -c 'sb 0' -c 'write -d rblocks 1000' $IMG",
		       EOPNOTSUPP, "realtime");
	expect_refusal(base, "absurd AG count", "xfs_db -x -c 'sb 0' -c 'write -d agcount 1000' $IMG",
		       EUCLEAN, "AGs");
	expect_refusal(base, "block size and its log disagree",
		       "xfs_db -x -c 'sb 0' -c 'write -d blocklog 13' $IMG", EUCLEAN, "block size");
	expect_refusal(base, "inode size", "xfs_db -x -c 'sb 0' -c 'write -d inodesize 300' $IMG",
		       EUCLEAN, "inode size");
	expect_refusal(base, "truncated image", "truncate -s 100M $IMG", EUCLEAN, "truncated");
	expect_refusal(base, "AGF of AG 2", "xfs_db -x -c 'agf 2' -c 'write -d seqno 7' $IMG", EUCLEAN,
		       "AGF of AG 2");

	/* Inodes. */
	expect_corrupt(base, "wrong di_ino", "/small", 0,
		       "xfs_db -x -c 'path /small' -c 'write -d v3.inumber 12345' $IMG",
		       "claims to be inode 12345");
	expect_corrupt(base, "inode CRC", "/small", 0,
		       "off=$(xfs_db -r -c 'path /small' -c stack $IMG | sed -n 's/.*byte offset \\([0-9]*\\).*/\\1/p'); "
		       "printf 'Z' | dd of=$IMG bs=1 seek=$((off + 60)) conv=notrunc status=none",
		       "bad inode CRC");
	expect_corrupt(base, "bad fork format", "/small", 0,
		       "xfs_db -x -c 'path /small' -c 'write -d core.format 1' $IMG",
		       "regular file with data fork format 1");
	expect_corrupt(base, "too many extents", "/small", 0,
		       "xfs_db -x -c 'path /small' -c 'write -d core.nextents 200' $IMG", "extents");
	expect_corrupt(base, "symlink length", "/long", 1,
		       "xfs_db -x -c 'path /long' -c 'write -d core.size 5000' $IMG",
		       "symlink of length 5000");
	if (fragged) {
		expect_corrupt(fragged, "remote symlink block", "/longlink", 1,
			       "b=$(xfs_db -r -c 'path /longlink' -c 'bmap' $IMG | sed -n 's/.*startblock \\([0-9]*\\).*/\\1/p' | head -1); "
			       "o=$(xfs_db -r -c \"convert fsblock $b byte\" $IMG | sed 's/ .*//'); "
			       "printf 'Q' | dd of=$IMG bs=1 seek=$((o + 100)) conv=notrunc status=none",
			       "symlink block 0: bad CRC");
		expect_corrupt(fragged, "bmbt block CRC", "/frag", 2,
			       "b=$(xfs_db -r -c 'path /frag' -c 'p u3.bmbt.ptrs[1]' $IMG | sed 's/.*= //'); "
			       "o=$(xfs_db -r -c \"convert fsblock $b byte\" $IMG | sed 's/ .*//'); "
			       "printf 'Q' | dd of=$IMG bs=1 seek=$((o + 200)) conv=notrunc status=none",
			       "bad CRC");
		expect_corrupt(fragged, "bmbt owner", "/frag", 2,
			       "b=$(xfs_db -r -c 'path /frag' -c 'p u3.bmbt.ptrs[1]' $IMG | sed 's/.*= //'); "
			       "xfs_db -x -c \"fsblock $b\" -c 'type bmapbtd' -c 'write -d owner 77' $IMG",
			       "owned by inode 77");
		expect_corrupt(fragged, "bmbt level", "/frag", 2,
			       "b=$(xfs_db -r -c 'path /frag' -c 'p u3.bmbt.ptrs[1]' $IMG | sed 's/.*= //'); "
			       "xfs_db -x -c \"fsblock $b\" -c 'type bmapbtd' -c 'write -d level 5' $IMG",
			       "level 5");
	}
}

int main(void)
{
	_cleanup_free_ char *proto = NULL, *small = NULL, *img4 = NULL, *img1 = NULL;
	_cleanup_free_ char *pop4 = NULL, *pop1 = NULL, *legacy = NULL, *v4 = NULL;
	const char *fragged = NULL;

	have_root = private_mounts() && run("test -e /dev/loop-control") == 0;
	imgfs_log_setup("unit-xfs", IMGFS_LOG_ERR, false);
	if (run("command -v mkfs.xfs && command -v xfs_db"))
		skip_all("mkfs.xfs and xfs_db are needed");
	if (!mkdtemp(tmpdir))
		abort();
	for (size_t i = 0; i < sizeof(long_target) - 1; i++)
		long_target[i] = i % 20 == 19 ? '/' : 'a' + (char)(i % 26);

	proto = xasprintf("%s/proto", tmpdir);
	small = xasprintf("%s/small", tmpdir);
	if (run("printf 'hello, xfs\\n' > %s", small))
		abort();
	write_proto(proto, small);

	img4 = xasprintf("%s/proto4k.img", tmpdir);
	if (ok(mkfs(img4, "-b size=4096 -m crc=1", proto), "mkfs.xfs 4k with a protofile"))
		check_proto_image(img4, "proto4k", 4096);
	img1 = xasprintf("%s/proto1k.img", tmpdir);
	if (ok(mkfs(img1, "-b size=1024 -m crc=1,bigtime=0 -i nrext64=1", proto),
	       "mkfs.xfs 1k, legacy timestamps, nrext64, with a protofile"))
		check_proto_image(img1, "proto1k", 1024);

	v4 = xasprintf("%s/v4.img", tmpdir);
	if (mkfs(v4, "-m crc=0", NULL)) {
		struct open_args a = { .img = v4 };
		int r;

		free(logged_during(try_open, &a, &r));
		ok(r == -EOPNOTSUPP && strstr(a.err.msg, "v4"), "v4 filesystem refused: %s", a.err.msg);
	}

	if (have_root) {
		pop4 = xasprintf("%s/pop4k.img", tmpdir);
		if (ok(mkfs(pop4, "-b size=4096 -m crc=1,reflink=1,rmapbt=1", NULL) &&
		       populate(pop4, 4096, true), "4k image populated through the kernel"))
			check_populated_image(pop4, "pop4k", true);
		pop1 = xasprintf("%s/pop1k.img", tmpdir);
		if (ok(mkfs(pop1, "-b size=1024 -m crc=1,reflink=1", NULL) &&
		       populate(pop1, 1024, true), "1k image populated through the kernel")) {
			check_populated_image(pop1, "pop1k", true);
			fragged = pop1;
		}
		legacy = xasprintf("%s/legacy.img", tmpdir);
		if (ok(mkfs(legacy, "-b size=4096 -m crc=1,bigtime=0,reflink=0 -i sparse=0", NULL) &&
		       populate(legacy, 4096, false), "legacy-timestamp image populated"))
			check_populated_image(legacy, "legacy", false);
	} else {
		diag("not root, no mount namespace or no loop devices: kernel comparisons skipped");
	}

	check_corruption(img4, fragged);

	rm_tree(tmpdir);
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}
