/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XFS directories against xfs_db's view of the same images.
 *
 * Images are made at run time with mkfs.xfs -p (a protofile: no root
 * needed) holding a directory of each form at 1k and 4k blocks: shortform,
 * block, leaf, node, and a node directory full of names that share one
 * hash.  As root, one more image is populated through a read-write loop
 * mount on fragmented free space, so that a directory's data fork is a
 * btree and its 4 KiB directory blocks are split over 1 KiB extents.
 * Each directory's form is checked with xfs_db first; then readdir must
 * give exactly what `xfs_db ls` lists (names, inode numbers, types, and
 * for block directories and up the same cookies), resumable from every
 * entry; every name must be found by lookup and near misses must not.
 * Corrupted copies (a flipped byte; fields rewritten by xfs_db with good
 * CRCs) must give EUCLEAN, never a crash.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"
#include "image.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

static char tmpdir[] = "/tmp/unit-xfs-dir.XXXXXX";
/* Root in a mount namespace of our own: the kernel's driver is a second truth. */
static bool kernel;
/* Check lookups and resumed walks at every stride-th entry only (huge directories). */
static size_t stride = 1;

/* ---- what xfs_db says ---- */

struct dbent {
	uint64_t cookie;
	uint64_t ino;
	unsigned type;
	unsigned namelen;
	char name[256];
};

struct listing {
	struct dbent *e;
	size_t n;
};

static unsigned type_of(const char *s)
{
	static const struct { const char *name; unsigned dt; } types[] = {
		{ "directory", DT_DIR }, { "regular", DT_REG }, { "symlink", DT_LNK },
		{ "chardev", DT_CHR }, { "blkdev", DT_BLK }, { "fifo", DT_FIFO },
		{ "socket", DT_SOCK },
	};

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcmp(s, types[i].name))
			return types[i].dt;
	return DT_UNKNOWN;
}

/* `xfs_db ls PATH`: "cookie ino type hash namelen name (good)" per entry. */
static struct listing db_ls(const char *img, const char *path)
{
	_cleanup_free_ char *out = capture("xfs_db -r -c 'ls %s' '%s' 2>/dev/null", path, img);
	struct listing l = { 0 };
	size_t cap = 0;
	char *p = strchr(out, '\n');

	while (p && *++p) {
		struct dbent e = { 0 };
		char *eol = strchr(p, '\n');
		char type[32];
		unsigned hash;
		int used = 0;

		/* (sscanf() measures its whole input: one line at a time.  No name here has a newline.) */
		if (eol)
			*eol = 0;
		if (sscanf(p, "%" SCNu64 " %" SCNu64 " %31s 0x%x %u %n", &e.cookie, &e.ino, type,
			   &hash, &e.namelen, &used) != 5 || !used || e.namelen > 255)
			break;
		memcpy(e.name, p + used, e.namelen);
		e.type = type_of(type);
		if (l.n == cap) {
			cap = cap ? 2 * cap : 64;
			l.e = realloc(l.e, cap * sizeof(*l.e));
			if (!l.e)
				abort();
		}
		l.e[l.n++] = e;
		p = eol;
	}
	return l;
}

/* One xfs_db field of the inode at @path ("core.format = 2 (extents)" -> 2). */
static long long db_field(const char *img, const char *path, const char *field)
{
	_cleanup_free_ char *out = capture("xfs_db -r -c 'path %s' -c 'print %s' '%s' 2>/dev/null",
					   path, field, img);
	const char *eq = strstr(out, " = ");

	return eq ? strtoll(eq + 3, NULL, 0) : -1;
}

/* A field of directory block (file block) @fblk of @path, -1 if none. */
static long long db_dblock_field(const char *img, const char *path, uint64_t fblk,
				 const char *field)
{
	_cleanup_free_ char *out = capture("xfs_db -r -c 'path %s' -c 'dblock %" PRIu64 "' -c 'print %s' '%s' 2>/dev/null",
					   path, fblk, field, img);
	const char *eq = strstr(out, " = ");

	return eq ? strtoll(eq + 3, NULL, 0) : -1;
}

/* The magic of directory block (file block) @fblk of @path, 0 if none. */
static unsigned db_magic(const char *img, const char *path, uint64_t fblk)
{
	_cleanup_free_ char *out = capture("xfs_db -r -c 'path %s' -c 'dblock %" PRIu64 "' -c print '%s' 2>/dev/null",
					   path, fblk, img);
	const char *m = strstr(out, "magic = ");

	return m ? (unsigned)strtoul(m + 8, NULL, 0) : 0;
}

/* shortform, block, leaf or node, by xfs_db (as mkcorpus-xfs.sh tells them). */
static const char *db_form(const char *img, const char *path, unsigned bs)
{
	long long fmt = db_field(img, path, "core.format");
	uint64_t leaf = (1ULL << 35) / bs;

	if (fmt == 1)
		return "shortform";
	if (db_magic(img, path, 0) == 0x58444233)
		return "block";
	switch (db_magic(img, path, leaf)) {
	case 0x3df1:
		return "leaf";
	case 0x3ebe:
	case 0x3dff:
		return "node";
	}
	return "unknown";
}

/* ---- the backend ---- */

/* The image through the probe and the backend, as imgfs-mount opens it. */
static int open_fs(const char *img, struct imgfs_image **image, struct imgfs_fs **fs)
{
	struct imgfs_error err = { 0 };
	int r = test_open_fs(img, image, fs, &err);

	if (r < 0)
		diag("%s: %s", img, err.msg);
	return r;
}

struct got {
	struct dbent *e;
	size_t n, cap;
	size_t stop_after;		/* 0: never stop */
};

static int collect(void *ctx, const struct imgfs_dirent *de)
{
	struct got *g = ctx;
	struct dbent *e;

	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 64;
		g->e = realloc(g->e, g->cap * sizeof(*g->e));
		if (!g->e)
			abort();
	}
	e = &g->e[g->n++];
	memset(e, 0, sizeof(*e));
	e->cookie = de->next;
	e->ino = de->ino;
	e->type = de->type;
	e->namelen = (unsigned)MIN(de->namelen, 255);
	memcpy(e->name, de->name, e->namelen);
	return g->stop_after && g->n >= g->stop_after;
}

static bool same_entry(const struct dbent *a, const struct dbent *b, bool cookies)
{
	return a->ino == b->ino && a->type == b->type && a->namelen == b->namelen &&
	       !memcmp(a->name, b->name, a->namelen) && (!cookies || a->cookie == b->cookie);
}

static int cmp_name(const void *a, const void *b)
{
	const struct dbent *x = a, *y = b;
	int c = memcmp(x->name, y->name, MIN(x->namelen, y->namelen));

	return c ? c : (int)x->namelen - (int)y->namelen;
}

static bool has_name(const struct dbent *sorted, size_t n, const char *name, unsigned len)
{
	struct dbent key = { .namelen = len };

	memcpy(key.name, name, len);
	return bsearch(&key, sorted, n, sizeof(key), cmp_name) != NULL;
}

/* ---- what the kernel says ---- */

static char *kernel_mount(const char *img)
{
	char *mnt = xasprintf("%s.mnt", img);

	if (!kernel)
		goto fail;
	mkdir(mnt, 0755);
	if (run("mount -t xfs -o ro,loop '%s' '%s'", img, mnt) == 0)
		return mnt;
	diag("%s: the kernel cannot mount it read-only", img);
	rmdir(mnt);
fail:
	free(mnt);
	return NULL;
}

static void kernel_umount(char *mnt)
{
	if (!mnt)
		return;
	run("umount '%s'", mnt);
	rmdir(mnt);
	free(mnt);
}

/* The kernel's readdir of @path under @mnt, sorted by name. */
static bool kernel_list(const char *mnt, const char *path, struct got *out)
{
	_cleanup_free_ char *dirpath = xasprintf("%s%s", mnt, path);
	DIR *d = opendir(dirpath);
	struct dirent *de;

	if (!d)
		return false;
	while ((de = readdir(d))) {
		struct imgfs_dirent e = {
			.ino = de->d_ino, .type = de->d_type, .name = de->d_name,
			.namelen = strlen(de->d_name), .next = 1,
		};

		collect(out, &e);
	}
	closedir(d);
	qsort(out->e, out->n, sizeof(*out->e), cmp_name);
	return true;
}

/* ---- checks of one directory ---- */

static void check_dir(struct imgfs_fs *fs, const char *img, const char *mnt, const char *tag,
		      const char *path, const char *want_form, unsigned bs)
{
	struct listing want = db_ls(img, path);
	const char *form = db_form(img, path, bs);
	/* xfs_db's cookie is the entry's own position in these forms; ours is the next one's. */
	bool cookies = strcmp(want_form, "shortform") && strcmp(want_form, "block");
	struct got g = { 0 };
	uint64_t dir = 0, ino, prev;
	size_t bad = 0, misses = 0, tried = 0;
	struct dbent *sorted;
	const char *slash;
	int r;

	if (!ok(!strcmp(form, want_form), "%s %s: xfs_db sees a %s directory", tag, path,
		want_form))
		diag("  xfs_db says %s", form);
	/* Find the directory by lookups from the root, as a walk would. */
	dir = fs->root_ino;
	r = 0;
	for (const char *p = path + 1; *p && r == 0; p = slash + (*slash == '/')) {
		slash = strchrnul(p, '/');
		r = fs->ops->lookup(fs, dir, p, (size_t)(slash - p), &dir);
	}
	if (!ok(r == 0, "%s %s: found by lookups from the root", tag, path)) {
		diag("  error %d", r);
		free(want.e);
		return;
	}

	r = fs->ops->readdir(fs, dir, 0, collect, &g);
	is_int(r, 0, "%s %s: readdir", tag, path);
	if (!ok(g.n == want.n && want.n > 0, "%s %s: readdir gives %zu entries, xfs_db lists %zu",
		tag, path, g.n, want.n))
		diag("  got %zu", g.n);
	for (size_t i = 0; i < MIN(g.n, want.n); i++)
		if (!same_entry(&g.e[i], &want.e[i], cookies)) {
			if (bad++ < 3)
				diag("  entry %zu: got '%.*s' ino %" PRIu64 " type %u next %" PRIu64
				     ", want '%.*s' ino %" PRIu64 " type %u cookie %" PRIu64, i,
				     (int)g.e[i].namelen, g.e[i].name, g.e[i].ino, g.e[i].type,
				     g.e[i].cookie, (int)want.e[i].namelen, want.e[i].name,
				     want.e[i].ino, want.e[i].type, want.e[i].cookie);
		}
	ok(bad == 0, "%s %s: names, inode numbers and types%s match xfs_db's", tag, path,
	   cookies ? ", cookies" : "");
	bad = 0;
	prev = 0;
	for (size_t i = 0; i < g.n; i++) {
		if (g.e[i].cookie <= prev || g.e[i].cookie >= 1ULL << 63)
			bad++;
		prev = g.e[i].cookie;
	}
	ok(bad == 0 && g.n >= 2 && !memcmp(g.e[0].name, ".", 2) && !memcmp(g.e[1].name, "..", 3),
	   "%s %s: . and .. first, positions strictly increasing", tag, path);

	/* One entry per call, each resuming from the one before's position. */
	bad = 0;
	for (size_t i = 0; i <= g.n; i = i < g.n && i + stride > g.n ? g.n : i + stride) {
		struct got one = { .stop_after = 1 };

		prev = i ? g.e[i - 1].cookie : 0;
		r = fs->ops->readdir(fs, dir, prev, collect, &one);
		if (r < 0 || one.n != (i < g.n ? 1U : 0U) ||
		    (one.n && !same_entry(&one.e[0], &g.e[i], true)))
			bad++;
		free(one.e);
		if (bad || i == g.n)
			break;
	}
	ok(bad == 0, "%s %s: a walk resumed after every %s entry gives the same entries", tag, path,
	   stride > 1 ? "16th" : "single");

	/* Every name found; near misses not. */
	sorted = malloc((g.n ? g.n : 1) * sizeof(*sorted));
	memcpy(sorted, g.e, g.n * sizeof(*sorted));
	qsort(sorted, g.n, sizeof(*sorted), cmp_name);
	bad = 0;
	for (size_t i = 0; i < g.n; i += stride) {
		const struct dbent *e = &g.e[i];
		char miss[260];
		unsigned len = e->namelen;

		r = fs->ops->lookup(fs, dir, e->name, e->namelen, &ino);
		if (r != 0 || ino != e->ino) {
			if (bad++ < 3)
				diag("  lookup '%.*s': %d, ino %" PRIu64 " (want %" PRIu64 ")",
				     (int)len, e->name, r, r ? 0 : ino, e->ino);
		}
		/* The last byte changed, one more byte, one byte fewer. */
		for (int k = 0; k < 3; k++) {
			unsigned mlen = len;

			memcpy(miss, e->name, len);
			if (k == 0)
				miss[len - 1] = miss[len - 1] == 'q' ? 'r' : 'q';
			else if (k == 1)
				miss[mlen++] = 'z';
			else if (len > 1)
				mlen--;
			else
				continue;
			if (mlen > 255 || has_name(sorted, g.n, miss, mlen))
				continue;
			tried++;
			r = fs->ops->lookup(fs, dir, miss, mlen, &ino);
			if (r != -ENOENT && misses++ < 3)
				diag("  lookup of near miss '%.*s': %d", (int)mlen, miss, r);
		}
	}
	ok(bad == 0, "%s %s: lookup finds %s %zu names with their inode numbers", tag, path,
	   stride > 1 ? "every 16th of the" : "all", g.n);
	ok(misses == 0 && tried > 0, "%s %s: %zu near misses are ENOENT", tag, path, tried);
	is_int(fs->ops->lookup(fs, dir, "a/b", 3, &ino) == -ENOENT ||
	       fs->ops->lookup(fs, dir, "a/b", 3, &ino) == -EINVAL, 1,
	       "%s %s: a name with a slash is not found", tag, path);
	if (mnt) {
		struct got k = { 0 };

		bad = 0;
		if (kernel_list(mnt, path, &k) && k.n == g.n) {
			for (size_t i = 0; i < g.n; i++)
				if (!same_entry(&k.e[i], &sorted[i], false) && bad++ < 3)
					diag("  kernel: '%.*s' ino %" PRIu64 " type %u; we: '%.*s' ino %"
					     PRIu64 " type %u", (int)k.e[i].namelen, k.e[i].name,
					     k.e[i].ino, k.e[i].type, (int)sorted[i].namelen,
					     sorted[i].name, sorted[i].ino, sorted[i].type);
		} else {
			bad++;
			diag("  the kernel lists %zu entries, we %zu", k.n, g.n);
		}
		ok(bad == 0, "%s %s: the kernel's read-only mount lists the same names, inodes, types",
		   tag, path);
		free(k.e);
	}
	free(sorted);
	free(g.e);
	free(want.e);
}

/* ---- images ---- */

/*
 * Names that all share one xfs_da_hashname(): bytes go in as 7-bit
 * shifted groups, so flipping bit 0 of byte i and bit 7 of byte i + 1 of
 * a 4-byte group leaves the hash alone.  Four groups, three pairs each.
 */
static void collision_name(char *out, unsigned k)
{
	memcpy(out, "aaaaaaaaaaaaaaaa", 16);
	for (unsigned pair = 0; pair < 12; pair++) {
		unsigned i = pair / 3 * 4 + pair % 3;

		if (k & (1U << pair)) {
			out[i] ^= 1;
			out[i + 1] ^= (char)0x80;
		}
	}
	out[16] = 0;
}

/* A protofile: /sf, /block, /leaf, /node, /collide, each with @scale'd entries. */
#define NCOLLIDE 1200

static void write_proto(const char *path, unsigned dirblk)
{
	FILE *f = fopen(path, "w");
	unsigned nblock = dirblk / 64, nleaf = dirblk / 16, nnode = dirblk;

	if (!f)
		abort();
	fprintf(f, "/dev/null\n0 0\nd--755 0 0\n");
	fprintf(f, "sf d--755 0 0\nfile ---644 0 0 /dev/null\nsub d--755 0 0\n$\n"
		   "link l--777 0 0 target\nchr c--644 0 0 1 3\nblk b--644 0 0 8 0\n"
		   "fifo p--644 0 0\n$\n");
	fprintf(f, "empty d--755 0 0\n$\n");
	fprintf(f, "block d--755 0 0\n");
	for (unsigned i = 0; i < nblock; i++)
		fprintf(f, "block-entry-%04u ---644 0 0 /dev/null\n", i);
	fprintf(f, "$\nleaf d--755 0 0\n");
	for (unsigned i = 0; i < nleaf; i++)
		fprintf(f, "a-leaf-directory-entry-with-a-long-name-%05u ---644 0 0 /dev/null\n", i);
	fprintf(f, "$\nnode d--755 0 0\n");
	for (unsigned i = 0; i < nnode; i++)
		fprintf(f, "n%u %s--755 0 0%s\n", i * 7919, i % 97 ? "-" : "d",
			i % 97 ? " /dev/null" : "\n$");
	fprintf(f, "$\ncollide d--755 0 0\n");
	for (unsigned k = 0; k < NCOLLIDE; k++) {
		char name[20];

		collision_name(name, k);
		fprintf(f, "%s ---644 0 0 /dev/null\n", name);
	}
	fprintf(f, "$\n$\n");
	fclose(f);
}

static char *make_image(const char *name, unsigned bs)
{
	char *img = xasprintf("%s/%s.img", tmpdir, name);
	_cleanup_free_ char *proto = xasprintf("%s/%s.proto", tmpdir, name);

	write_proto(proto, 4096);
	/* Small images: mkfs.xfs refuses under 300 MB unless run by a test suite. */
	if (run("truncate -s 96M '%s' && TEST_DEV=1 TEST_DIR=1 QA_CHECK_FS=1 "
		"mkfs.xfs -q -f -b size=%u -p '%s' '%s'", img, bs, proto, img) != 0 &&
	    run("truncate -s 300M '%s' && mkfs.xfs -q -f -b size=%u -p '%s' '%s'", img, bs, proto,
		img) != 0) {
		free(img);
		return NULL;
	}
	return img;
}

/* The byte offset in @img of file block @fblk of @path. */
static long long db_byte(const char *img, const char *path, uint64_t fblk)
{
	_cleanup_free_ char *bmap = capture("xfs_db -r -c 'path %s' -c bmap '%s' 2>/dev/null",
					    path, img);
	uint64_t off, start, count;
	char *p = bmap;

	while (p && *p) {
		if (sscanf(p, "data offset %" SCNu64 " startblock %" SCNu64 " %*s count %" SCNu64,
			   &off, &start, &count) == 3 && fblk >= off && fblk < off + count) {
			_cleanup_free_ char *c = capture("xfs_db -r -c 'convert fsb %" PRIu64 " byte' '%s'",
							 start + (fblk - off), img);
			const char *paren = strchr(c, '(');

			return paren ? strtoll(paren + 1, NULL, 0) : -1;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static void flip_byte(const char *img, long long at)
{
	int fd = open(img, O_RDWR);
	unsigned char b;

	if (fd < 0 || pread(fd, &b, 1, at) != 1)
		abort();
	b ^= 0x5a;
	if (pwrite(fd, &b, 1, at) != 1)
		abort();
	close(fd);
}

/* lookup and readdir of @path in a copy of @img changed by @how; both must be EUCLEAN or fine. */
static void expect_corrupt(const char *img, const char *tag, const char *what, const char *path,
			   const char *name, bool readdir_too)
{
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	uint64_t dir = 0, ino;
	struct got g = { 0 };
	int r;

	if (open_fs(img, &image, &fs) < 0) {
		ok(0, "%s: %s: the image opens", tag, what);
		return;
	}
	r = fs->ops->lookup(fs, fs->root_ino, path + 1, strlen(path + 1), &dir);
	if (r == 0)
		r = fs->ops->lookup(fs, dir, name, strlen(name), &ino);
	if (!ok(r == -EUCLEAN, "%s: %s: lookup is EUCLEAN", tag, what))
		diag("  got %d", r);
	if (readdir_too) {
		r = fs->ops->lookup(fs, fs->root_ino, path + 1, strlen(path + 1), &dir);
		if (r == 0)
			r = fs->ops->readdir(fs, dir, 0, collect, &g);
		if (!ok(r == -EUCLEAN, "%s: %s: readdir is EUCLEAN", tag, what))
			diag("  got %d", r);
	}
	free(g.e);
	imgfs_fs_close(fs);
	imgfs_image_close(image);
}

/* A copy of @img with xfs_db -x commands applied (CRCs recomputed), or a byte flipped. */
static char *corrupt_copy(const char *img, const char *name, const char *dbcmds, long long flip)
{
	char *copy = xasprintf("%s/%s.img", tmpdir, name);

	if (run("cp --sparse=always '%s' '%s'", img, copy) != 0)
		abort();
	if (dbcmds) {
		_cleanup_free_ char *out = capture("xfs_db -x %s '%s' 2>&1", dbcmds, copy);

		if (strstr(out, "not found") || strstr(out, "unmapped") || strstr(out, "error"))
			diag("xfs_db -x %s: %s", dbcmds, out);
	}
	if (flip >= 0)
		flip_byte(copy, flip);
	return copy;
}

/* @tmpl with every "LEAF" replaced by @leafblk. */
static char *subst_leaf(const char *tmpl, uint64_t leafblk)
{
	char *out = strdup(tmpl);
	char *at;

	while (out && (at = strstr(out, "LEAF"))) {
		char *next = xasprintf("%.*s%" PRIu64 "%s", (int)(at - out), out, leafblk, at + 4);

		free(out);
		out = next;
	}
	return out;
}

static void test_corruptions(const char *img, const char *tag, unsigned bs)
{
	uint64_t leafblk = (1ULL << 35) / bs;
	long long at;

	/* A flipped byte in the hash index: the CRC catches it. */
	at = db_byte(img, "/leaf", leafblk);
	if (ok(at > 0, "%s: the leaf block of /leaf is found", tag)) {
		_cleanup_free_ char *c = corrupt_copy(img, "c-leafflip", NULL, at + 200);

		expect_corrupt(c, tag, "flipped byte in a leaf block", "/leaf",
			       "a-leaf-directory-entry-with-a-long-name-00007", false);
		unlink(c);
	}
	at = db_byte(img, "/block", 0);
	if (ok(at > 0, "%s: the block of /block is found", tag)) {
		_cleanup_free_ char *c = corrupt_copy(img, "c-blockflip", NULL, at + 300);

		expect_corrupt(c, tag, "flipped byte in a block directory", "/block",
			       "block-entry-0003", true);
		unlink(c);
	}

	/* Well-checksummed but wrong structure, written by xfs_db. */
	static const struct {
		const char *what, *path, *name;
		const char *cmds;	/* LEAF: the leaf block number */
		bool readdir;
	} cases[] = {
		{ "leaf count past the block", "/leaf", "a-leaf-directory-entry-with-a-long-name-00001",
		  "-c 'path /leaf' -c 'dblock LEAF' -c 'write -d lhdr.count 60000'", false },
		{ "leaf hashes out of order", "/leaf", "a-leaf-directory-entry-with-a-long-name-00001",
		  "-c 'path /leaf' -c 'dblock LEAF' -c 'write -d lents[5].hashval 0xffffffff'", false },
		{ "stale count wrong", "/leaf", "a-leaf-directory-entry-with-a-long-name-00001",
		  "-c 'path /leaf' -c 'dblock LEAF' -c 'write -d lhdr.stale 3'", false },
		{ "node level too high", "/node", "n7919",
		  "-c 'path /node' -c 'dblock LEAF' -c 'write -d nhdr.level 9'", false },
		{ "node count zero", "/node", "n7919",
		  "-c 'path /node' -c 'dblock LEAF' -c 'write -d nhdr.count 0'", false },
		{ "node child outside the leaf space", "/node", ".",
		  "-c 'path /node' -c 'dblock LEAF' -c 'write -d nbtree[0].before 5' "
		  "-c 'write -d nbtree[1].before 5' -c 'write -d nbtree[2].before 5'", false },
		{ "data entry with a bad tag", "/leaf", "a-leaf-directory-entry-with-a-long-name-00000",
		  "-c 'path /leaf' -c 'dblock 0' -c 'write -d du[2].tag 8'", true },
		{ "data entry with a bad inode number", "/leaf", "a-leaf-directory-entry-with-a-long-name-00000",
		  "-c 'path /leaf' -c 'dblock 0' -c 'write -d du[2].inumber 0xffffffffffff'", true },
		{ "block tail count past the block", "/block", "block-entry-0001",
		  "-c 'path /block' -c 'dblock 0' -c 'write -d btail.count 99999'", true },
		{ "shortform count too high", "/sf", "zzz",
		  "-c 'path /sf' -c 'write -d u3.sfdir3.hdr.count 40'", true },
		{ "shortform entry offset backwards", "/sf", "zzz",
		  "-c 'path /sf' -c 'write -d u3.sfdir3.list[1].offset 0x10'", true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *cmds = subst_leaf(cases[i].cmds, leafblk);
		_cleanup_free_ char *cname = xasprintf("c-%zu", i);
		_cleanup_free_ char *c = corrupt_copy(img, cname, cmds, -1);

		expect_corrupt(c, tag, cases[i].what, cases[i].path, cases[i].name,
			       cases[i].readdir);
		unlink(c);
	}
}

static void test_protofile_image(const char *tag, unsigned bs)
{
	_cleanup_free_ char *img = make_image(tag, bs);
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	char *mnt;

	if (!img) {
		ok(0, "%s: mkfs.xfs -p makes the image", tag);
		return;
	}
	mnt = kernel_mount(img);
	if (!ok(open_fs(img, &image, &fs) == 0, "%s: the image opens", tag)) {
		kernel_umount(mnt);
		return;
	}
	check_dir(fs, img, mnt, tag, "/", "shortform", bs);
	check_dir(fs, img, mnt, tag, "/sf", "shortform", bs);
	check_dir(fs, img, mnt, tag, "/empty", "shortform", bs);
	check_dir(fs, img, mnt, tag, "/block", "block", bs);
	check_dir(fs, img, mnt, tag, "/leaf", "leaf", bs);
	check_dir(fs, img, mnt, tag, "/node", "node", bs);
	check_dir(fs, img, mnt, tag, "/collide", "node", bs);
	imgfs_fs_close(fs);
	imgfs_image_close(image);
	kernel_umount(mnt);
	test_corruptions(img, tag, bs);
}

/*
 * As root: 1k blocks, 4k directory blocks, free space cut into single
 * blocks before a directory grows, so its blocks are split over extents
 * and its data fork becomes a btree.
 */
static void test_fragmented(void)
{
	_cleanup_free_ char *img = xasprintf("%s/frag.img", tmpdir);
	_cleanup_free_ char *mnt = xasprintf("%s/mnt", tmpdir);
	_cleanup_free_ char *bmap = NULL, *script = NULL;
	char *kmnt;
	struct imgfs_image *image = NULL;
	FILE *f;
	struct imgfs_fs *fs = NULL;
	uint64_t off, start, count, split = 0;
	char *p;

	if (!kernel) {
		skip("fragmented directory blocks", "needs root for a read-write loop mount");
		return;
	}
	mkdir(mnt, 0755);
	if (run("truncate -s 64M '%s' && TEST_DEV=1 TEST_DIR=1 QA_CHECK_FS=1 "
		"mkfs.xfs -q -f -b size=1024 -d agcount=1 -m reflink=0,rmapbt=0,finobt=0 '%s'",
		img, img) != 0) {
		skip("fragmented directory blocks", "mkfs.xfs of a small image failed");
		return;
	}
	/*
	 * Inodes first (their chunks need contiguous space), then a file over
	 * all free space (the reserve pool emptied) punched every other block,
	 * then the directory grows by hard links.
	 */
	script = xasprintf("%s/fragment.sh", tmpdir);
	f = fopen(script, "w");
	if (!f)
		abort();
	fprintf(f, "xfs_io -x -c 'resblks 0' . >/dev/null\nmkdir frag pool\n"
		"perl -e 'for my $i (1 .. 1500) { open(my $h, \">\", \"pool/$i\") or die \"$!\" }'\n"
		"perl -e 'for my $i (0 .. 1023) { printf \"falloc %%d 64k\\n\", $i * 65536 }"
		" for my $k (0 .. 65535) { printf \"fpunch %%d 1k\\n\", $k * 2048 }' |"
		" { xfs_io -f fill >/dev/null 2>&1 || true; }\n"
		"perl -e 'for my $i (1 .. 1500) { link(\"pool/$i\","
		" sprintf(\"frag/fragmented-directory-entry-%%05d\", $i)) or die \"$!\" }'\n");
	fclose(f);
	if (populate_mounted(img, mnt, script) != 0) {
		skip("fragmented directory blocks", "cannot loop-mount and fill the image");
		return;
	}
	bmap = capture("xfs_db -r -c 'path /frag' -c bmap '%s' 2>/dev/null", img);
	for (p = bmap; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (sscanf(p, "data offset %" SCNu64 " startblock %" SCNu64 " %*s count %" SCNu64,
			   &off, &start, &count) == 3 && (off % 4 || count % 4))
			split++;
	ok(db_field(img, "/frag", "core.format") == 3,
	   "fragmented: the directory's data fork is a btree");
	ok(split > 0, "fragmented: %" PRIu64 " extents end inside a 4 KiB directory block", split);
	if (!ok(open_fs(img, &image, &fs) == 0, "fragmented: the image opens"))
		return;
	kmnt = kernel_mount(img);
	check_dir(fs, img, kmnt, "fragmented", "/frag", "node", 1024);
	kernel_umount(kmnt);
	imgfs_fs_close(fs);
	imgfs_image_close(image);
}

/*
 * As root: a node directory whose hash index has two node levels, more
 * leaves than one 4 KiB node block holds.  200000 hard links of one file.
 */
static void test_two_levels(void)
{
	_cleanup_free_ char *img = xasprintf("%s/huge.img", tmpdir);
	_cleanup_free_ char *mnt = xasprintf("%s/mnt-huge", tmpdir);
	_cleanup_free_ char *script = xasprintf("%s/huge.sh", tmpdir);
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	long long level;
	char *kmnt;
	FILE *f;

	if (!kernel) {
		skip("a two-level hash index", "needs root for a read-write loop mount");
		return;
	}
	mkdir(mnt, 0755);
	f = fopen(script, "w");
	if (!f)
		abort();
	fprintf(f, "mkdir huge\n: >target\n"
		"perl -e 'for my $i (1 .. 200000) { link(\"target\", sprintf(\"huge/%%07d\", $i)) or die }'\n");
	fclose(f);
	if (run("truncate -s 200M '%s' && TEST_DEV=1 TEST_DIR=1 QA_CHECK_FS=1 "
		"mkfs.xfs -q -f -b size=4096 '%s'", img, img) != 0 ||
	    populate_mounted(img, mnt, script) != 0) {
		skip("a two-level hash index", "cannot make and fill the image");
		return;
	}
	level = db_dblock_field(img, "/huge", (1ULL << 35) / 4096, "nhdr.level");
	ok(level == 2, "huge: the hash index has two node levels");
	if (!ok(open_fs(img, &image, &fs) == 0, "huge: the image opens"))
		return;
	kmnt = kernel_mount(img);
	stride = 16;
	check_dir(fs, img, kmnt, "huge", "/huge", "node", 4096);
	stride = 1;
	kernel_umount(kmnt);
	imgfs_fs_close(fs);
	imgfs_image_close(image);
}

static bool have(const char *prog)
{
	return run("command -v %s", prog) == 0;
}

int main(void)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *newpath = xasprintf("%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");

	kernel = private_mounts();
	setenv("PATH", newpath, 1);
	imgfs_log_setup("unit-xfs-dir", IMGFS_LOG_ERR, false);
	if (!have("mkfs.xfs") || !have("xfs_db"))
		skip_all("mkfs.xfs and xfs_db (xfsprogs) are needed");
	if (!mkdtemp(tmpdir))
		skip_all("cannot create a temporary directory: %s", strerror(errno));
	if (!kernel)
		diag("not root, or no mount namespace: xfs_db is the only truth");
	test_protofile_image("xfs-1k", 1024);
	test_protofile_image("xfs-4k", 4096);
	test_fragmented();
	test_two_levels();
	rm_tree(tmpdir);
	return done_testing();
}
