/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ext4 backend against e2fsprogs' own view of the same images.
 *
 * Images are made at run time with mkfs.ext4 -d from a generated tree,
 * then adjusted with debugfs -w (devices, xattrs, ACLs, unwritten extents,
 * odd timestamps and owners) and e2fsck -fyD (hash-indexed directories).
 * Every answer of the backend is compared with what debugfs says about the
 * image ("ls -p", "stat", "bmap", "ea_list", "ea_get", "dump") or with the
 * image's raw bytes at blocks debugfs names, never with the backend itself.
 * Corrupted copies must give errors, not crashes.  Needs no root.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "fs.h"
#include "image.h"
#include "iomap.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

static char tmpdir[] = "/tmp/unit-ext4.XXXXXX";

/* ---- small helpers ---- */

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write_all(fd, data, len) < 0)
		abort();
	close(fd);
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
	return xorshift64(&rng_state);
}

/* Write @len pseudo-random bytes at @off of @path (creating it). */
static void write_at(const char *path, off_t off, size_t len)
{
	_cleanup_free_ char *buf = malloc(len);
	int fd = open(path, O_WRONLY | O_CREAT, 0644);

	if (!buf || fd < 0)
		abort();
	fill_random(&rng_state, buf, len);
	if (pwrite(fd, buf, len, off) != (ssize_t)len)
		abort();
	close(fd);
}

/* ---- the variants of images ---- */

enum {
	V_DEVICES = 1 << 0,	/* debugfs mknod, both dev_t encodings */
	V_XATTRS = 1 << 1,	/* in-inode, block and ACL xattrs */
	V_EA_INODE = 1 << 2,	/* an xattr larger than a block */
	V_UNWRITTEN = 1 << 3,	/* fallocate'd extents */
	V_TIMES = 1 << 4,	/* pre-1970, post-2038, nanoseconds, 32-bit ids */
	V_HTREE = 1 << 5,	/* e2fsck -D on a directory of many entries */
	V_DEEP = 1 << 6,	/* a file with an extent tree of depth >= 2 */
	V_HUGE = 1 << 7,	/* a sparse file past 4 GiB */
	V_UNSIGNED = 1 << 8,	/* unsigned directory hash */
	V_INDIRECT = 1 << 9,	/* data behind triple indirect blocks */
	V_CASEFOLD = 1 << 10,	/* case-insensitive directories */
};

struct variant {
	const char *name;
	const char *mkfs;	/* mkfs.ext4 options */
	const char *size;
	unsigned flags;
	unsigned htree_entries;
	unsigned htree_name_len;
};

static const struct variant variants[] = {
	{ "ext4-4k", "-t ext4 -b 4096 -O ea_inode", "96M",
	  V_DEVICES | V_XATTRS | V_EA_INODE | V_UNWRITTEN | V_TIMES | V_HTREE | V_DEEP | V_HUGE,
	  20000, 12 },
	{ "ext4-1k", "-t ext4 -b 1024", "48M", V_XATTRS | V_HTREE | V_DEEP | V_UNWRITTEN, 1500, 200 },
	{ "ext2", "-t ext2 -b 1024 -I 128 -O ^filetype", "32M",
	  V_DEVICES | V_XATTRS | V_HTREE | V_UNSIGNED | V_INDIRECT | V_TIMES, 3000, 30 },
	{ "ext3", "-t ext3 -b 4096", "32M", V_XATTRS | V_HTREE | V_TIMES, 3000, 8 },
	{ "inline", "-t ext4 -O inline_data,mmp -b 4096", "32M", V_XATTRS | V_DEVICES, 0, 0 },
	{ "casefold", "-t ext4 -O casefold -b 1024", "32M", V_CASEFOLD, 0, 0 },
};

/* Names for case-insensitive directories, and another spelling of each. */
static const struct { const char *name, *other; } ci_names[] = {
	{ "MixedCase.txt", "mIXEDcASE.TXT" },
	{ "stra\xc3\x9f" "e", "STRASSE" },			/* sharp s folds to ss */
	{ "\xc3\x9c" "n\xc3\xaf" "code", "u\xcc\x88" "NI\xcc\x88" "CODE" },	/* composed vs decomposed */
	{ "plain", "PLAIN" },
};
/* Not UTF-8: matches only byte for byte. */
static const char ci_invalid[] = "bad\xff" "name";

static const char long_target[] =
	"a/very/long/symlink/target/that/does/not/fit/in/the/sixty/bytes/of/i_block/"
	"so/it/needs/a/data/block/of/its/own/0123456789/0123456789/0123456789/end";

static void make_tree(const char *src, const struct variant *v)
{
	_cleanup_free_ char *p = NULL;
	char name[300];

	if (mkdir(src, 0755) < 0)
		abort();
#define PATH(...) (free(p), p = xasprintf(__VA_ARGS__))
	write_file(PATH("%s/empty", src), "", 0);
	write_file(PATH("%s/hello", src), "hello, world\n", 13);
	write_at(PATH("%s/tiny", src), 0, 100);
	write_at(PATH("%s/onek", src), 0, 1024);
	write_at(PATH("%s/medium", src), 0, 300 * 1024 + 17);
	/* Hole, data, hole, data, and a hole at the end. */
	write_at(PATH("%s/sparse", src), 200000, 5000);
	write_at(PATH("%s/sparse", src), 700000, 3000);
	if (truncate(p, 1500000) < 0)
		abort();
	/* No data at all (mke2fs keeps it as inline data when it can). */
	write_file(PATH("%s/allhole", src), "", 0);
	if (truncate(p, 3 << 20) < 0)
		abort();
	if (v->flags & V_DEEP) {
		/* Every other block: one extent each, far more than 4 leaves hold. */
		unsigned bs = strstr(v->mkfs, "1024") ? 1024 : 4096;
		unsigned extents = bs == 1024 ? 1200 : 1500;

		PATH("%s/fragmented", src);
		for (unsigned i = 0; i < extents; i++)
			write_at(p, (off_t)i * 2 * bs, bs);
		/* A hole after the last extent, found by climbing the tree. */
		if (truncate(p, (off_t)(extents * 2 + 300) * bs) < 0)
			abort();
	}
	if (v->flags & V_HUGE) {
		write_at(PATH("%s/huge", src), 4096, 10);
		write_at(p, 4ULL << 30, 8192);
		write_at(p, (5ULL << 30) + 123, 100);
		if (truncate(p, (5ULL << 30) + 4096 * 3 + 5) < 0)
			abort();
	}
	if (v->flags & V_INDIRECT) {
		/* 1 KiB blocks: block 12+256+65536 onwards sits under the triple indirect. */
		write_at(PATH("%s/indirect", src), 0, 20 * 1024);
		write_at(p, 300 * 1024, 2048);
		write_at(p, (12 + 256 + 65536 + 1000) * 1024ULL, 5000);
	}
	if (mkdir(PATH("%s/sub", src), 0750) < 0 || mkdir(PATH("%s/sub/deeper", src), 0700) < 0 ||
	    mkdir(PATH("%s/emptydir", src), 01777) < 0)
		abort();
	write_file(PATH("%s/sub/deeper/leaf", src), "leaf\n", 5);
	snprintf(name, sizeof(name), "%s/sub/hello-link", src);
	if (link(PATH("%s/hello", src), name) < 0)
		abort();
	if (symlink("hello", PATH("%s/fastlink", src)) < 0 ||
	    symlink(long_target, PATH("%s/slowlink", src)) < 0 ||
	    symlink("../hello", PATH("%s/sub/uplink", src)) < 0 ||
	    mkfifo(PATH("%s/fifo", src), 0640) < 0)
		abort();
	write_file(PATH("%s/setuid", src), "#!/bin/sh\n", 10);
	if (chmod(p, 04755) < 0)
		abort();
	if (v->flags & V_CASEFOLD) {
		/* "ci" gets indexed by e2fsck -D; "cismall" stays linear and holds a non-UTF-8 name. */
		if (mkdir(PATH("%s/ci", src), 0755) < 0 || mkdir(PATH("%s/cismall", src), 0755) < 0 ||
		    mkdir(PATH("%s/cs", src), 0755) < 0)
			abort();
		for (size_t i = 0; i < ARRAY_SIZE(ci_names); i++) {
			write_file(PATH("%s/ci/%s", src, ci_names[i].name), "", 0);
			write_file(PATH("%s/cismall/%s", src, ci_names[i].name), "", 0);
			write_file(PATH("%s/cs/%s", src, ci_names[i].name), "", 0);
		}
		write_file(PATH("%s/cismall/%s", src, ci_invalid), "", 0);
		for (unsigned i = 0; i < 600; i++)
			write_file(PATH("%s/ci/Entry-%u", src, i), "", 0);
	}
	if (v->htree_entries) {
		if (mkdir(PATH("%s/many", src), 0755) < 0)
			abort();
		for (unsigned i = 0; i < v->htree_entries; i++) {
			int n = snprintf(name, sizeof(name), "%s/many/%u-", src, i);
			unsigned want = v->htree_name_len;

			/* Some names with bytes >= 0x80, where signed and unsigned hashes differ. */
			for (unsigned j = (unsigned)strlen(name) - (unsigned)n; j < want; j++)
				name[n++] = (i % 3 == 0 && j % 5 == 0) ? (char)0xc3 : (char)('a' + (i + j) % 26);
			name[n] = '\0';
			write_file(name, "", 0);
		}
	}
#undef PATH
}

/* debugfs -w commands that add what mkfs -d cannot. */
static void make_debugfs_script(const char *path, const char *dir, const struct variant *v)
{
	FILE *f = fopen(path, "w");
	char acl[4 + 6 * 8];
	_cleanup_free_ char *acl_path = xasprintf("%s/acl.bin", dir);
	_cleanup_free_ char *mid_path = xasprintf("%s/xattr-mid.bin", dir);
	_cleanup_free_ char *big_path = xasprintf("%s/xattr-big.bin", dir);
	char mid[2000], big[9000];

	if (!f)
		abort();
	if (v->flags & V_DEVICES) {
		fprintf(f, "mknod chr_old c 1 3\n");
		fprintf(f, "mknod blk_old b 8 17\n");
		fprintf(f, "mknod chr_new c 300 70000\n");
		fprintf(f, "mknod blk_new b 4095 1048575\n");
		fprintf(f, "mknod pipe p\n");
	}
	if (v->flags & V_XATTRS) {
		/* A POSIX ACL in the VFS's xattr format: user::rw- user:1000:r-- group::r-- mask::r-- other::--- */
		static const uint16_t tags[] = { 0x01, 0x02, 0x04, 0x10, 0x20 };
		static const uint16_t perms[] = { 6, 4, 4, 4, 0 };
		static const uint32_t ids[] = { UINT32_MAX, 1000, UINT32_MAX, UINT32_MAX, UINT32_MAX };
		uint32_t version = 2;

		memcpy(acl, &version, 4);
		for (int i = 0; i < 5; i++) {
			memcpy(acl + 4 + 8 * i, &tags[i], 2);
			memcpy(acl + 4 + 8 * i + 2, &perms[i], 2);
			memcpy(acl + 4 + 8 * i + 4, &ids[i], 4);
		}
		write_file(acl_path, acl, 4 + 5 * 8);
		fill_random(&rng_state, mid, sizeof(mid));
		write_file(mid_path, mid, sizeof(mid));
		fprintf(f, "ea_set /hello user.small hi\n");
		fprintf(f, "ea_set /hello trusted.t value-of-trusted\n");
		fprintf(f, "ea_set /hello security.s sec\n");
		fprintf(f, "ea_set -f %s /hello system.posix_acl_access\n", acl_path);
		fprintf(f, "ea_set -f %s /emptydir system.posix_acl_default\n", acl_path);
		fprintf(f, "ea_set /sub user.empty \"\"\n");
		fprintf(f, "ea_set -f %s /tiny user.mid\n", mid_path);
		fprintf(f, "ea_set /fastlink user.onlink yes\n");
	}
	if (v->flags & V_EA_INODE) {
		fill_random(&rng_state, big, sizeof(big));
		write_file(big_path, big, sizeof(big));
		fprintf(f, "ea_set -f %s /medium user.big\n", big_path);
	}
	if (v->flags & V_UNWRITTEN) {
		fprintf(f, "write /dev/null prealloc\n");
		fprintf(f, "fallocate /prealloc 0 39\n");
		fprintf(f, "sif /prealloc size %u\n", 40 * 1024);
		fprintf(f, "fallocate /sparse 20 29\n");
	}
	if (v->flags & V_TIMES) {
		fprintf(f, "sif /hello mtime @-100\n");	/* before 1970 */
		fprintf(f, "sif /hello atime @5000000000\n");	/* after 2038: epoch bits */
		fprintf(f, "sif /hello ctime_extra 0x12345678\n");	/* nanoseconds */
		fprintf(f, "sif /medium uid 100000\n");	/* needs the high 16 bits */
		fprintf(f, "sif /medium gid 70000\n");
	}
	if (v->flags & V_UNSIGNED)
		fprintf(f, "ssv flags 2\n");
	if (v->flags & V_CASEFOLD) {
		/* EXT4_CASEFOLD_FL | EXT4_EXTENTS_FL; e2fsck -D then hashes the folded names. */
		fprintf(f, "sif /ci flags 0x40080000\n");
		fprintf(f, "sif /cismall flags 0x40080000\n");
	}
	fclose(f);
}

static int build_image(const struct variant *v, const char *img)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s.d", tmpdir, v->name);
	_cleanup_free_ char *src = xasprintf("%s/src", dir);
	_cleanup_free_ char *script = xasprintf("%s/setup.cmds", dir);

	if (mkdir(dir, 0755) < 0)
		return -1;
	make_tree(src, v);
	if (run("mkfs.ext4 -q -F %s -L lbl-%s -d %s %s %s", v->mkfs, v->name, src, img, v->size))
		return -1;
	make_debugfs_script(script, dir, v);
	if (run("debugfs -w -f %s %s", script, img))
		return -1;
	/* -D indexes (and, after a hash flag change, re-indexes) every directory. */
	if (v->flags & (V_HTREE | V_UNSIGNED | V_CASEFOLD)) {
		int st = run("e2fsck -fyD %s", img);

		if (st > 2)
			return -1;
	}
	return run("e2fsck -fn %s", img) ? -1 : 0;
}

/* ---- debugfs output ---- */

/* Run debugfs commands in one process; returns each command's output. */
static char **debugfs_batch(const char *img, char *const *cmds, size_t n)
{
	_cleanup_free_ char *path = xasprintf("%s/batch.cmds", tmpdir);
	_cleanup_free_ char *cmd = NULL, *out = NULL;
	char **res = calloc(n + 1, sizeof(*res));
	FILE *f = fopen(path, "w");
	size_t i = 0;
	char *p;

	if (!f || !res)
		abort();
	for (size_t k = 0; k < n; k++)
		fprintf(f, "%s\n", cmds[k]);
	fclose(f);
	cmd = xasprintf("debugfs -f %s %s 2>/dev/null", path, img);
	out = capture("%s", cmd);
	/* Each command is echoed as "debugfs: <cmd>" before its output. */
	p = strstr(out, "debugfs: ");
	while (p && i < n) {
		char *body = strchr(p, '\n');
		char *next;

		body = body ? body + 1 : p + strlen(p);
		/* A command with no output is followed by the next echo at once. */
		next = !strncmp(body, "debugfs: ", 9) ? body - 1 : strstr(body, "\ndebugfs: ");
		res[i++] = next ? strndup(body, (size_t)(next + 1 - body)) : strdup(body);
		p = next ? next + 1 : NULL;
	}
	while (i < n)
		res[i++] = strdup("");
	return res;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct dstat {
	bool ok;
	char type[32];
	unsigned mode;
	unsigned long flags;
	unsigned long long uid, gid, size, links, blockcount;
	bool has_extra[3];
	uint32_t time_lo[3], time_extra[3];	/* atime, mtime, ctime */
	bool has_dev;
	unsigned major, minor;
	char fast_link[4200];
	bool has_fast_link;
};

static bool parse_time(const char *text, const char *key, uint32_t *lo, uint32_t *extra, bool *has)
{
	const char *p = strstr(text, key);
	unsigned a, b;

	if (!p)
		return false;
	p += strlen(key);
	if (sscanf(p, " 0x%x:%x", &a, &b) == 2) {
		*lo = a;
		*extra = b;
		*has = true;
		return true;
	}
	if (sscanf(p, " 0x%x", &a) == 1) {
		*lo = a;
		*extra = 0;
		*has = false;
		return true;
	}
	return false;
}

static struct dstat parse_stat(const char *t)
{
	struct dstat d = { 0 };
	const char *p, *q;

	/* "Type: character special    Mode:  0644" */
	p = strstr(t, "Type: ");
	q = p ? strstr(p, "Mode:") : NULL;
	if (!p || !q || (size_t)(q - p - 6) >= sizeof(d.type))
		return d;
	memcpy(d.type, p + 6, (size_t)(q - p - 6));
	for (char *e = d.type + strlen(d.type); e > d.type && e[-1] == ' ';)
		*--e = '\0';
	if (!(p = strstr(t, "Mode:")) || sscanf(p, "Mode: %o", &d.mode) != 1 ||
	    !(p = strstr(t, "Flags:")) || sscanf(p, "Flags: %lx", &d.flags) != 1 ||
	    !(p = strstr(t, "User:")) || sscanf(p, "User: %llu", &d.uid) != 1 ||
	    !(p = strstr(t, "Group:")) || sscanf(p, "Group: %llu", &d.gid) != 1 ||
	    !(p = strstr(t, "Size: ")) || sscanf(p, "Size: %llu", &d.size) != 1 ||
	    !(p = strstr(t, "Links:")) || sscanf(p, "Links: %llu", &d.links) != 1 ||
	    !(p = strstr(t, "Blockcount:")) || sscanf(p, "Blockcount: %llu", &d.blockcount) != 1)
		return d;
	if (!parse_time(t, "atime:", &d.time_lo[0], &d.time_extra[0], &d.has_extra[0]) ||
	    !parse_time(t, "mtime:", &d.time_lo[1], &d.time_extra[1], &d.has_extra[1]) ||
	    !parse_time(t, "ctime:", &d.time_lo[2], &d.time_extra[2], &d.has_extra[2]))
		return d;
	p = strstr(t, "Device major/minor number:");
	if (p && sscanf(p, "Device major/minor number: %u:%u", &d.major, &d.minor) == 2)
		d.has_dev = true;
	p = strstr(t, "Fast link dest: \"");
	if (p) {
		const char *s = p + strlen("Fast link dest: \"");
		const char *e = strrchr(s, '"');

		if (e && (size_t)(e - s) < sizeof(d.fast_link)) {
			memcpy(d.fast_link, s, (size_t)(e - s));
			d.has_fast_link = true;
		}
	}
	d.ok = true;
	return d;
}

static unsigned type_of(const char *t)
{
	static const struct { const char *name; unsigned fmt; } types[] = {
		{ "regular", S_IFREG }, { "directory", S_IFDIR }, { "symlink", S_IFLNK },
		{ "FIFO", S_IFIFO }, { "socket", S_IFSOCK }, { "character special", S_IFCHR },
		{ "block special", S_IFBLK },
	};

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcmp(t, types[i].name))
			return types[i].fmt;
	return 0;
}

/* ---- the backend's view ---- */

struct entry {
	uint64_t dir;
	uint64_t ino;
	unsigned type;
	char *name;
	char *path;
};

struct tree {
	struct entry *v;
	size_t n, cap;
};

static void tree_add(struct tree *t, uint64_t dir, uint64_t ino, unsigned type,
		     const char *name, size_t len, const char *parent_path)
{
	if (t->n == t->cap) {
		t->cap = t->cap * 2 + 64;
		t->v = realloc(t->v, t->cap * sizeof(*t->v));
		if (!t->v)
			abort();
	}
	t->v[t->n].dir = dir;
	t->v[t->n].ino = ino;
	t->v[t->n].type = type;
	t->v[t->n].name = strndup(name, len);
	t->v[t->n].path = xasprintf("%s/%.*s", parent_path, (int)len, name);
	t->n++;
}

static void tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].path);
	}
	free(t->v);
}

struct collect {
	struct tree *t;
	uint64_t dir;
	const char *path;
};

static int collect_entry(void *ctx, const struct imgfs_dirent *de)
{
	struct collect *c = ctx;

	tree_add(c->t, c->dir, de->ino, de->type, de->name, de->namelen, c->path);
	return 0;
}

/* Read every directory reachable from the root; returns the first error. */
static int walk_tree(struct imgfs_fs *fs, struct tree *t)
{
	struct collect c = { .t = t, .dir = fs->root_ino, .path = "" };
	int r = fs->ops->readdir(fs, fs->root_ino, 0, collect_entry, &c);

	for (size_t i = 0; r == 0 && i < t->n; i++) {
		struct entry *e = &t->v[i];
		struct stat st;

		if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
			continue;
		r = fs->ops->getattr(fs, e->ino, &st);
		if (r == 0 && S_ISDIR(st.st_mode)) {
			_cleanup_free_ char *path = strdup(e->path);

			c = (struct collect){ .t = t, .dir = e->ino, .path = path };
			r = fs->ops->readdir(fs, e->ino, 0, collect_entry, &c);
		}
	}
	return r;
}

static unsigned dt_of_mode(unsigned mode)
{
	return IFTODT(mode);
}

/* ---- checks ---- */

struct ctx {
	const struct variant *v;
	const char *img;
	struct imgfs_fs *fs;
	struct tree tree;
	bool filetype;
	unsigned bs;
};

static int by_ino(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int by_dir_name(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Unique inodes other than "." and "..", with one path each. */
static size_t unique_inodes(struct ctx *c, struct entry ***out)
{
	struct entry **u = calloc(c->tree.n + 1, sizeof(*u));
	size_t n = 0, m = 0;

	for (size_t i = 0; i < c->tree.n; i++) {
		struct entry *e = &c->tree.v[i];

		if (strcmp(e->name, ".") && strcmp(e->name, ".."))
			u[n++] = e;
	}
	qsort(u, n, sizeof(*u), by_ino);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || u[m - 1]->ino != u[i]->ino)
			u[m++] = u[i];
	*out = u;
	return m;
}

/* The readdir entry @name of directory @dir, from the sorted index. */
static const struct entry *find_in(struct entry **sorted, size_t n, uint64_t dir, const char *name)
{
	struct entry key = { .dir = dir, .name = (char *)name }, *kp = &key;
	struct entry **hit = bsearch(&kp, sorted, n, sizeof(*sorted), by_dir_name);

	return hit ? *hit : NULL;
}

static void check_readdir_and_lookup(struct ctx *c)
{
	uint64_t dirs[4096];
	size_t ndirs = 0, bad = 0, lookups = 0, bad_lookups = 0, entries = 0;
	struct entry **sorted = calloc(c->tree.n + 1, sizeof(*sorted));
	char **cmds, **out;

	for (size_t i = 0; i < c->tree.n; i++)
		sorted[i] = &c->tree.v[i];
	qsort(sorted, c->tree.n, sizeof(*sorted), by_dir_name);
	for (size_t i = 0; i < c->tree.n; i++) {
		uint64_t d = sorted[i]->dir;

		if ((i == 0 || sorted[i - 1]->dir != d) && ndirs < ARRAY_SIZE(dirs))
			dirs[ndirs++] = d;
	}
	cmds = calloc(ndirs, sizeof(*cmds));
	for (size_t k = 0; k < ndirs; k++)
		cmds[k] = xasprintf("ls -p <%" PRIu64 ">", dirs[k]);
	out = debugfs_batch(c->img, cmds, ndirs);

	for (size_t k = 0; k < ndirs; k++) {
		size_t ours = 0, theirs = 0;
		char *save = NULL;

		for (size_t i = 0; i < c->tree.n; i++)
			ours += sorted[i]->dir == dirs[k];
		for (char *line = strtok_r(out[k], "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			unsigned long long ino;
			unsigned mode;
			char name[300];
			const struct entry *e;
			unsigned want;

			/* "/ino/mode/uid/gid/name/size/" */
			if (sscanf(line, "/%llu/%o/%*[^/]/%*[^/]/%299[^/]/", &ino, &mode, name) != 3)
				continue;
			theirs++;
			e = find_in(sorted, c->tree.n, dirs[k], name);
			want = c->filetype ? dt_of_mode(mode) : DT_UNKNOWN;
			if (!e) {
				if (bad++ < 5)
					diag("dir %llu: '%s' missing from readdir",
					     (unsigned long long)dirs[k], name);
			} else if (e->ino != ino || e->type != want) {
				if (bad++ < 5)
					diag("dir %llu: '%s' ino %llu type %u, debugfs ino %llu type %u",
					     (unsigned long long)dirs[k], name,
					     (unsigned long long)e->ino, e->type, ino, want);
			}
			/* "." and ".." too: NFS exports look ".." up, indexed or not. */
			{
				uint64_t got = 0;
				int r = c->fs->ops->lookup(c->fs, dirs[k], name, strlen(name), &got);

				lookups++;
				if (r < 0 || got != ino) {
					if (bad_lookups++ < 5)
						diag("lookup(%llu, '%s') = %d, ino %llu, want %llu",
						     (unsigned long long)dirs[k], name, r,
						     (unsigned long long)got, ino);
				}
			}
		}
		entries += theirs;
		if (theirs != ours && bad++ < 5)
			diag("dir %llu: readdir gave %zu entries, debugfs %zu",
			     (unsigned long long)dirs[k], ours, theirs);
	}
	ok(bad == 0, "%s: readdir of %zu directories matches debugfs ls (%zu entries)",
	   c->v->name, ndirs, entries);
	ok(bad_lookups == 0 && lookups > 0, "%s: %zu lookups find debugfs's inode numbers",
	   c->v->name, lookups);
	free_strv(out, ndirs);
	free_strv(cmds, ndirs);
	free(sorted);
}

/* A directory's walk, with positions, as readdir reports it. */
struct walk {
	struct { uint64_t ino, next; char name[256]; } *v;
	size_t n, cap;
	size_t limit;		/* stop after this many entries (0: none) */
};

static int walk_entry(void *ctx, const struct imgfs_dirent *de)
{
	struct walk *w = ctx;

	if (w->n == w->cap) {
		w->cap = w->cap * 2 + 64;
		w->v = realloc(w->v, w->cap * sizeof(*w->v));
		if (!w->v)
			abort();
	}
	w->v[w->n].ino = de->ino;
	w->v[w->n].next = de->next;
	snprintf(w->v[w->n].name, sizeof(w->v[w->n].name), "%.*s", (int)de->namelen, de->name);
	w->n++;
	return w->limit && w->n >= w->limit;
}

/*
 * Readdir resumes from any entry's position (what a FUSE READDIR without a
 * snapshot does): walking one entry at a time from the previous one's
 * @next gives the whole listing again, positions only increase, and a
 * position inside an entry resumes at that entry.
 */
static void check_readdir_resume(struct ctx *c)
{
	size_t dirs = 0, entries = 0, bad = 0;

	for (size_t i = 0; i < c->tree.n; i++) {
		const struct entry *d = &c->tree.v[i];
		struct walk all = { 0 };
		uint64_t pos = 0;
		size_t k = 0;

		/* Every directory lists itself as "." exactly once. */
		if (strcmp(d->name, "."))
			continue;
		if (c->fs->ops->readdir(c->fs, d->ino, 0, walk_entry, &all) < 0) {
			if (bad++ < 5)
				diag("dir %llu: readdir failed", (unsigned long long)d->ino);
			continue;
		}
		dirs++;
		for (;; k++) {
			struct walk one = { .limit = 1 }, mid = { .limit = 1 };
			int r = c->fs->ops->readdir(c->fs, d->ino, pos, walk_entry, &one);

			if (r < 0 || one.n == 0 || k >= all.n) {
				if ((r < 0 || one.n != 0 || k != all.n) && bad++ < 5)
					diag("dir %llu: resuming at %llu gave %d/%zu after %zu of %zu",
					     (unsigned long long)d->ino, (unsigned long long)pos, r,
					     one.n, k, all.n);
				free(one.v);
				break;
			}
			if (one.v[0].ino != all.v[k].ino || one.v[0].next != all.v[k].next ||
			    strcmp(one.v[0].name, all.v[k].name) || one.v[0].next <= pos) {
				if (bad++ < 5)
					diag("dir %llu: entry %zu resumed at %llu is '%s', want '%s'",
					     (unsigned long long)d->ino, k, (unsigned long long)pos,
					     one.v[0].name, all.v[k].name);
			}
			/* One byte before the entry's end: still that entry. */
			if (c->fs->ops->readdir(c->fs, d->ino, one.v[0].next - 1, walk_entry, &mid) < 0 ||
			    mid.n != 1 || strcmp(mid.v[0].name, one.v[0].name)) {
				if (bad++ < 5)
					diag("dir %llu: resuming inside '%s' lost it",
					     (unsigned long long)d->ino, one.v[0].name);
			}
			pos = one.v[0].next;
			free(one.v);
			free(mid.v);
		}
		entries += all.n;
		free(all.v);
	}
	ok(bad == 0 && dirs > 0, "%s: readdir resumes at every position of %zu directories (%zu entries)",
	   c->v->name, dirs, entries);
}

static void check_negative_lookups(struct ctx *c)
{
	uint64_t ino = 0;
	int r1 = c->fs->ops->lookup(c->fs, c->fs->root_ino, "no-such-name", 12, &ino);
	int r2 = -1, r3;
	char longname[300];

	memset(longname, 'x', sizeof(longname));
	r3 = c->fs->ops->lookup(c->fs, c->fs->root_ino, longname, 256, &ino);
	for (size_t i = 0; i < c->tree.n; i++)
		if (!strcmp(c->tree.v[i].name, "hello"))
			r2 = c->fs->ops->lookup(c->fs, c->tree.v[i].ino, "x", 1, &ino);
	ok(r1 == -ENOENT && r2 == -ENOTDIR && r3 == -ENAMETOOLONG,
	   "%s: missing name ENOENT, file as dir ENOTDIR, long name ENAMETOOLONG (%d %d %d)",
	   c->v->name, r1, r2, r3);
	if (c->v->htree_entries) {
		/* Names near every index boundary that are not there. */
		size_t misses = 0;
		char name[64];

		for (unsigned i = 0; i < 2000; i++) {
			uint64_t many = 0;

			if (c->fs->ops->lookup(c->fs, c->fs->root_ino, "many", 4, &many) < 0)
				break;
			snprintf(name, sizeof(name), "absent-%u", i);
			misses += c->fs->ops->lookup(c->fs, many, name, strlen(name), &ino) == -ENOENT;
		}
		is_int(misses, 2000, "%s: absent names in the indexed directory are ENOENT",
		       c->v->name);
	}
}

static void check_getattr(struct ctx *c, struct entry **u, size_t n)
{
	char **cmds = calloc(n, sizeof(*cmds)), **out;
	size_t bad = 0, links = 0, devs = 0;

	for (size_t i = 0; i < n; i++)
		cmds[i] = xasprintf("stat <%" PRIu64 ">", u[i]->ino);
	out = debugfs_batch(c->img, cmds, n);
	for (size_t i = 0; i < n; i++) {
		struct dstat d = parse_stat(out[i]);
		unsigned fmt = type_of(d.type);
		uint64_t blocks;
		struct stat st;
		char why[200] = "";
		int r = c->fs->ops->getattr(c->fs, u[i]->ino, &st);

		if (!d.ok || !fmt) {
			snprintf(why, sizeof(why), "cannot parse debugfs stat");
		} else if (r < 0) {
			snprintf(why, sizeof(why), "getattr failed: %s", strerror(-r));
		} else {
			blocks = d.blockcount;
			if (d.flags & 0x40000)	/* EXT4_HUGE_FILE_FL: counted in fs blocks */
				blocks *= c->bs / 512;
			if (fmt == S_IFREG && (d.flags & 0x10000000))	/* inline data */
				blocks += (d.size + 511) / 512;
			if (st.st_mode != (fmt | d.mode))
				snprintf(why, sizeof(why), "mode %o, want %o", st.st_mode, fmt | d.mode);
			else if (st.st_nlink != d.links || st.st_uid != d.uid || st.st_gid != d.gid)
				snprintf(why, sizeof(why), "links/uid/gid %lu/%u/%u, want %llu/%llu/%llu",
					 (unsigned long)st.st_nlink, st.st_uid, st.st_gid, d.links,
					 d.uid, d.gid);
			else if ((unsigned long long)st.st_size != d.size)
				snprintf(why, sizeof(why), "size %lld, want %llu",
					 (long long)st.st_size, d.size);
			else if ((uint64_t)st.st_blocks != blocks)
				snprintf(why, sizeof(why), "blocks %lld, want %llu",
					 (long long)st.st_blocks, (unsigned long long)blocks);
			else if (st.st_ino != u[i]->ino || st.st_blksize != (blksize_t)c->bs)
				snprintf(why, sizeof(why), "st_ino/st_blksize wrong");
			for (int k = 0; k < 3 && !why[0]; k++) {
				const struct timespec *ts[] = { &st.st_atim, &st.st_mtim, &st.st_ctim };
				int64_t sec = (int32_t)d.time_lo[k];
				long nsec = 0;

				if (d.has_extra[k]) {
					sec += (int64_t)(d.time_extra[k] & 3) << 32;
					nsec = (long)(d.time_extra[k] >> 2);
				}
				if (ts[k]->tv_sec != sec || ts[k]->tv_nsec != nsec)
					snprintf(why, sizeof(why), "time %d is %lld.%09ld, want %lld.%09ld",
						 k, (long long)ts[k]->tv_sec, ts[k]->tv_nsec,
						 (long long)sec, nsec);
			}
			if (!why[0] && (fmt == S_IFCHR || fmt == S_IFBLK)) {
				devs++;
				if (!d.has_dev || st.st_rdev != makedev(d.major, d.minor))
					snprintf(why, sizeof(why), "rdev %u:%u, want %u:%u",
						 major(st.st_rdev), minor(st.st_rdev), d.major, d.minor);
			}
			if (!why[0] && fmt == S_IFLNK) {
				char target[4200];
				size_t len = 0;

				links++;
				r = c->fs->ops->readlink(c->fs, u[i]->ino, target, sizeof(target), &len);
				if (r < 0)
					snprintf(why, sizeof(why), "readlink: %s", strerror(-r));
				else if (d.has_fast_link &&
					 (len != strlen(d.fast_link) || memcmp(target, d.fast_link, len)))
					snprintf(why, sizeof(why), "readlink '%.*s', want '%.60s'",
						 (int)MIN(len, (size_t)60), target, d.fast_link);
				else if (!d.has_fast_link &&
					 (len != strlen(long_target) || memcmp(target, long_target, len)))
					snprintf(why, sizeof(why), "slow readlink '%.*s'", (int)len, target);
			}
		}
		if (why[0] && bad++ < 8)
			diag("%s (ino %llu): %s", u[i]->path, (unsigned long long)u[i]->ino, why);
	}
	ok(bad == 0, "%s: getattr of %zu inodes (%zu devices, %zu symlinks) matches debugfs stat",
	   c->v->name, n, devs, links);
	free_strv(out, n);
	free_strv(cmds, n);
}

/* Physical block and unwritten flag of @lblk as the backend maps it (0 = hole). */
static int our_bmap(struct ctx *c, uint64_t ino, uint64_t lblk, uint64_t *pblk, bool *uninit)
{
	struct imgfs_iomap m = { 0 };
	uint64_t pos = lblk * c->bs;
	int r = c->fs->iomap_ops->iomap_begin(c->fs, ino, pos, c->bs, 0, &m);

	if (r < 0)
		return r;
	r = imgfs_iomap_check(&m, ino, pos, c->fs->img->size);
	if (r < 0)
		return r;
	*uninit = m.type == IMGFS_IOMAP_UNWRITTEN;
	*pblk = m.type == IMGFS_IOMAP_HOLE ? 0 : (m.addr + (pos - m.offset)) / c->bs;
	return m.type == IMGFS_IOMAP_INLINE ? -EINVAL : 0;
}

/* Logical blocks worth comparing: all of small files, and every edge of big ones. */
static size_t sample_blocks(struct ctx *c, uint64_t ino, uint64_t nblocks, uint64_t *out,
			    size_t max)
{
	size_t n = 0;

	if (nblocks <= max) {
		for (uint64_t b = 0; b < nblocks; b++)
			out[n++] = b;
		return n;
	}
	for (uint64_t pos = 0; pos < nblocks * c->bs && n + 3 < max;) {
		struct imgfs_iomap m = { 0 };

		if (c->fs->iomap_ops->iomap_begin(c->fs, ino, pos, c->bs, 0, &m) < 0 || !m.length)
			break;
		out[n++] = pos / c->bs;
		if (m.offset + m.length - c->bs > pos)
			out[n++] = (m.offset + m.length) / c->bs - 1;
		pos = m.offset + m.length;
		if (pos / c->bs < nblocks)
			out[n++] = pos / c->bs;
	}
	return n;
}

static bool is_inline(struct ctx *c, uint64_t ino)
{
	struct imgfs_iomap m = { 0 };

	return c->fs->iomap_ops->iomap_begin(c->fs, ino, 0, 1, 0, &m) == 0 &&
	       m.type == IMGFS_IOMAP_INLINE;
}

static void check_mappings(struct ctx *c, struct entry **u, size_t n)
{
	size_t cap = 1 << 16, ncmds = 0, bad = 0, unwritten = 0;
	char **cmds = calloc(cap, sizeof(*cmds)), **out;
	uint64_t *who = calloc(cap, sizeof(*who)), *lb = calloc(cap, sizeof(*lb));
	uint64_t samples[4096];

	for (size_t i = 0; i < n; i++) {
		struct stat st;
		size_t ns;

		if (c->fs->ops->getattr(c->fs, u[i]->ino, &st) < 0 || !S_ISREG(st.st_mode) ||
		    is_inline(c, u[i]->ino))
			continue;
		ns = sample_blocks(c, u[i]->ino, DIV_ROUND_UP((uint64_t)st.st_size, c->bs), samples,
				   ARRAY_SIZE(samples));
		for (size_t k = 0; k < ns && ncmds < cap; k++) {
			who[ncmds] = u[i]->ino;
			lb[ncmds] = samples[k];
			cmds[ncmds++] = xasprintf("bmap <%" PRIu64 "> %" PRIu64, u[i]->ino, samples[k]);
		}
	}
	out = debugfs_batch(c->img, cmds, ncmds);
	for (size_t k = 0; k < ncmds; k++) {
		unsigned long long want = 0;
		bool want_uninit = strstr(out[k], "(uninit)") != NULL;
		uint64_t got = 0;
		bool uninit = false;
		int r = our_bmap(c, who[k], lb[k], &got, &uninit);

		sscanf(out[k], "%llu", &want);
		unwritten += want_uninit;
		if (r < 0 || got != want || uninit != want_uninit) {
			if (bad++ < 8)
				diag("ino %llu block %llu: ours %llu%s (%d), debugfs %llu%s",
				     (unsigned long long)who[k], (unsigned long long)lb[k],
				     (unsigned long long)got, uninit ? " uninit" : "", r, want,
				     want_uninit ? " uninit" : "");
		}
	}
	ok(bad == 0 && ncmds > 0, "%s: %zu block mappings (%zu unwritten) match debugfs bmap",
	   c->v->name, ncmds, unwritten);
	if (c->v->flags & V_UNWRITTEN)
		ok(unwritten > 0, "%s: unwritten extents were exercised", c->v->name);
	free_strv(out, ncmds);
	free_strv(cmds, ncmds);
	free(who);
	free(lb);
}

/*
 * Does @path hold exactly @data?  With @inline, debugfs's dump of an
 * inline-data file holds all of i_block whatever i_size says, so compare
 * what both have and require zeros beyond (the kernel's reading of it).
 */
static bool file_matches(const char *path, const char *data, size_t len, bool inline_data)
{
	_cleanup_free_ char *buf = malloc(len + 1);
	_cleanup_close_ int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || !buf)
		return false;
	n = read_all(fd, buf, len + 1);
	if (n < 0)
		return false;
	if (!inline_data)
		return n == (ssize_t)len && !memcmp(buf, data, len);
	n = MIN(n, (ssize_t)len);
	for (size_t i = (size_t)n; i < len; i++)
		if (data[i])
			return false;
	return !memcmp(buf, data, (size_t)n);
}

static bool file_equals(const char *path, const char *data, size_t len)
{
	return file_matches(path, data, len, false);
}

static void check_contents(struct ctx *c, struct entry **u, size_t n)
{
	const uint64_t limit = 100 << 20;
	char **cmds = calloc(n, sizeof(*cmds)), **out;
	uint64_t *inos = calloc(n, sizeof(*inos)), *sizes = calloc(n, sizeof(*sizes));
	size_t nfiles = 0, bad = 0;
	uint64_t bytes = 0;

	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (c->fs->ops->getattr(c->fs, u[i]->ino, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size > limit)
			continue;
		inos[nfiles] = u[i]->ino;
		sizes[nfiles] = (uint64_t)st.st_size;
		cmds[nfiles++] = xasprintf("dump <%" PRIu64 "> %s/dump.%" PRIu64, u[i]->ino, tmpdir,
					   u[i]->ino);
	}
	out = debugfs_batch(c->img, cmds, nfiles);
	for (size_t k = 0; k < nfiles; k++) {
		_cleanup_free_ char *path = xasprintf("%s/dump.%" PRIu64, tmpdir, inos[k]);
		_cleanup_free_ char *buf = malloc(sizes[k] + 1), *part = malloc(2222);
		ssize_t got = imgfs_iomap_read(c->fs, inos[k], sizes[k], buf, sizes[k] + 1, 0);
		bool same = got == (ssize_t)sizes[k] &&
			    file_matches(path, buf, sizes[k],
					 is_inline(c, inos[k]) ||
					 (sizes[k] == 0 && strstr(c->v->mkfs, "inline_data")));

		/* An odd position and length too, so reads start and end mid-block. */
		if (same && sizes[k] > 3000)
			same = imgfs_iomap_read(c->fs, inos[k], sizes[k], part, 2222, 777) == 2222 &&
			       !memcmp(part, buf + 777, 2222);
		if (!same && bad++ < 5)
			diag("ino %llu: contents differ from debugfs dump (read %zd of %llu)",
			     (unsigned long long)inos[k], got, (unsigned long long)sizes[k]);
		bytes += sizes[k];
		unlink(path);
	}
	ok(bad == 0, "%s: contents of %zu files (%llu bytes) match debugfs dump", c->v->name,
	   nfiles, (unsigned long long)bytes);
	free_strv(out, nfiles);
	free_strv(cmds, nfiles);
	free(inos);
	free(sizes);
}

/* The >4 GiB file is too big to dump: compare data blocks with the raw image at debugfs's blocks. */
static void check_huge(struct ctx *c)
{
	const uint64_t offs[] = { 4096, 4ULL << 30, (4ULL << 30) + 4096, (5ULL << 30) };
	_cleanup_free_ char *img_buf = malloc(c->bs), *buf = malloc(c->bs);
	uint64_t ino = 0;
	char *cmds[ARRAY_SIZE(offs)], **out;
	size_t bad = 0;
	struct stat st;
	_cleanup_close_ int fd = open(c->img, O_RDONLY);

	if (c->fs->ops->lookup(c->fs, c->fs->root_ino, "huge", 4, &ino) < 0 ||
	    c->fs->ops->getattr(c->fs, ino, &st) < 0) {
		ok(0, "%s: huge file found", c->v->name);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(offs); i++)
		cmds[i] = xasprintf("bmap <%" PRIu64 "> %" PRIu64, ino, offs[i] / c->bs);
	out = debugfs_batch(c->img, cmds, ARRAY_SIZE(offs));
	for (size_t i = 0; i < ARRAY_SIZE(offs); i++) {
		unsigned long long pblk = 0;
		ssize_t n = imgfs_iomap_read(c->fs, ino, (uint64_t)st.st_size, buf, c->bs, offs[i]);

		if (sscanf(out[i], "%llu", &pblk) != 1 || !pblk ||
		    read_full(fd, img_buf, c->bs, (off_t)(pblk * c->bs)) < 0 ||
		    n != (ssize_t)c->bs || memcmp(buf, img_buf, c->bs)) {
			if (bad++ < 3)
				diag("huge file at %llu: read %zd, debugfs block %llu",
				     (unsigned long long)offs[i], n, pblk);
		}
	}
	/* And holes between read as zeros. */
	for (uint64_t pos = 1ULL << 30; pos < (4ULL << 30); pos += 1ULL << 30) {
		ssize_t n = imgfs_iomap_read(c->fs, ino, (uint64_t)st.st_size, buf, c->bs, pos);

		if (n != (ssize_t)c->bs || memcmp(buf, imgfs_zero_buf, c->bs))
			bad++;
	}
	ok(bad == 0 && st.st_size > (off_t)(5ULL << 30),
	   "%s: data past 4 GiB reads as the blocks debugfs maps, holes as zeros", c->v->name);
	free_strv(out, ARRAY_SIZE(offs));
	for (size_t i = 0; i < ARRAY_SIZE(offs); i++)
		free(cmds[i]);
}

static void check_xattrs(struct ctx *c, struct entry **u, size_t n)
{
	char **cmds = calloc(n, sizeof(*cmds)), **out;
	size_t bad = 0, values = 0, gets = 0, ngets = 0;
	char **getcmds = calloc(4096, sizeof(*getcmds));
	uint64_t getino[4096];
	char *getname[4096];

	for (size_t i = 0; i < n; i++)
		cmds[i] = xasprintf("ea_list <%" PRIu64 ">", u[i]->ino);
	out = debugfs_batch(c->img, cmds, n);
	for (size_t i = 0; i < n; i++) {
		char list[65536];
		size_t len = 0, want_len = 0, count = 0;
		char *save = NULL;
		int r = c->fs->ops->listxattr(c->fs, u[i]->ino, list, sizeof(list), &len);

		if (r < 0) {
			if (bad++ < 5)
				diag("%s: listxattr: %s", u[i]->path, strerror(-r));
			continue;
		}
		for (char *line = strtok_r(out[i], "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char name[256];
			bool found = false;

			if (strncmp(line, "  ", 2) || sscanf(line + 2, "%255[^ ]", name) != 1)
				continue;
			if (!strcmp(name, "system.data"))
				continue;	/* inline data: hidden as on a kernel mount */
			count++;
			want_len += strlen(name) + 1;
			for (size_t off = 0; off < len && !found; off += strlen(list + off) + 1)
				found = !strcmp(list + off, name);
			if (!found && bad++ < 5)
				diag("%s: xattr %s not listed", u[i]->path, name);
			if (ngets < ARRAY_SIZE(getino)) {
				getino[ngets] = u[i]->ino;
				getname[ngets] = strdup(name);
				getcmds[ngets] = xasprintf("ea_get -f %s/ea.%zu <%" PRIu64 "> %s", tmpdir,
							   ngets, u[i]->ino, name);
				ngets++;
			}
		}
		if (len != want_len && bad++ < 5)
			diag("%s: listxattr gives %zu bytes for %zu names, want %zu", u[i]->path,
			     len, count, want_len);
	}
	free_strv(out, n);
	out = debugfs_batch(c->img, getcmds, ngets);
	for (size_t k = 0; k < ngets; k++) {
		_cleanup_free_ char *path = xasprintf("%s/ea.%zu", tmpdir, k);
		char value[70000];
		size_t len = 0, len0 = 0;
		int r = c->fs->ops->getxattr(c->fs, getino[k], getname[k], value, sizeof(value), &len);
		int r0 = c->fs->ops->getxattr(c->fs, getino[k], getname[k], NULL, 0, &len0);

		gets++;
		if (r < 0 || r0 < 0 || len0 != len || !file_equals(path, value, len)) {
			if (bad++ < 5)
				diag("ino %llu: getxattr %s = %d (%zu bytes) differs from debugfs ea_get",
				     (unsigned long long)getino[k], getname[k], r, len);
		} else if (len > 1) {
			values++;
			r = c->fs->ops->getxattr(c->fs, getino[k], getname[k], value, len - 1, &len0);
			if (r != -ERANGE && bad++ < 5)
				diag("getxattr into a short buffer: %d, want -ERANGE", r);
		}
		unlink(path);
		free(getname[k]);
	}
	ok(bad == 0, "%s: listxattr/getxattr of %zu inodes match debugfs (%zu values, %zu non-trivial)",
	   c->v->name, n, gets, values);
	if (c->v->flags & V_XATTRS) {
		ok(gets >= 7, "%s: xattrs were exercised (%zu)", c->v->name, gets);
	}
	free_strv(out, ngets);
	free_strv(cmds, n);
	free_strv(getcmds, ngets);
}

static void check_missing_xattr(struct ctx *c)
{
	uint64_t ino = 0;
	size_t len = 0;
	char buf[64];
	int r1 = -1, r2 = -1, r3 = -1;

	if (c->fs->ops->lookup(c->fs, c->fs->root_ino, "hello", 5, &ino) == 0) {
		r1 = c->fs->ops->getxattr(c->fs, ino, "user.nope", buf, sizeof(buf), &len);
		r2 = c->fs->ops->getxattr(c->fs, ino, "system.data", buf, sizeof(buf), &len);
		r3 = c->fs->ops->listxattr(c->fs, ino, buf, 1, &len);
	}
	ok(r1 == -ENODATA && r2 == -ENODATA && (r3 == -ERANGE || (r3 == 0 && len <= 1)),
	   "%s: missing xattr ENODATA, system.data hidden, short list ERANGE (%d %d %d)",
	   c->v->name, r1, r2, r3);
}

static void check_deep_and_htree(struct ctx *c)
{
	uint64_t frag = 0, many = 0;
	char *cmds[2], **out;
	unsigned depth = 0, levels = 0;
	const char *p;

	if (c->v->flags & V_DEEP)
		c->fs->ops->lookup(c->fs, c->fs->root_ino, "fragmented", 10, &frag);
	if (c->v->htree_entries)
		c->fs->ops->lookup(c->fs, c->fs->root_ino, "many", 4, &many);
	cmds[0] = xasprintf("ex <%" PRIu64 ">", frag);
	cmds[1] = xasprintf("htree_dump <%" PRIu64 ">", many);
	out = debugfs_batch(c->img, cmds, 2);
	/* First column of "ex": "level/max depth". */
	p = strstr(out[0], "\n");
	if (p)
		sscanf(p + 1, " %*u/%u", &depth);
	p = strstr(out[1], "Indirect levels:");
	if (p)
		sscanf(p, "Indirect levels: %u", &levels);
	if (c->v->flags & V_DEEP)
		ok(depth >= 2, "%s: the fragmented file has an extent tree of depth %u", c->v->name,
		   depth);
	if (c->v->htree_entries)
		ok(strstr(out[1], "Root node dump") != NULL,
		   "%s: 'many' is hash-indexed (%u indirect levels)", c->v->name, levels);
	if (c->v->htree_name_len >= 200)
		ok(levels >= 1, "%s: the index has interior nodes", c->v->name);
	free_strv(out, 2);
	free(cmds[0]);
	free(cmds[1]);
}

/* Other spellings find the same inode in case-insensitive directories only. */
static void check_casefold(struct ctx *c)
{
	const struct imgfs_fs_ops *ops = c->fs->ops;
	uint64_t ci = 0, cismall = 0, cs = 0, a, b;
	char *cmd[1], **out;
	size_t bad = 0;

	ops->lookup(c->fs, c->fs->root_ino, "ci", 2, &ci);
	ops->lookup(c->fs, c->fs->root_ino, "cismall", 7, &cismall);
	ops->lookup(c->fs, c->fs->root_ino, "cs", 2, &cs);
	cmd[0] = xasprintf("htree_dump <%" PRIu64 ">", ci);
	out = debugfs_batch(c->img, cmd, 1);
	ok(strstr(out[0], "Root node dump") != NULL, "%s: the case-insensitive directory is indexed",
	   c->v->name);
	free_strv(out, 1);
	free(cmd[0]);
	for (size_t i = 0; i < ARRAY_SIZE(ci_names); i++) {
		const char *n = ci_names[i].name, *o = ci_names[i].other;

		for (int k = 0; k < 2; k++) {
			uint64_t dir = k ? cismall : ci;

			if (ops->lookup(c->fs, dir, n, strlen(n), &a) < 0 ||
			    ops->lookup(c->fs, dir, o, strlen(o), &b) < 0 || a != b) {
				if (bad++ < 5)
					diag("dir %llu: '%s' and '%s' differ", (unsigned long long)dir, n, o);
			}
		}
		if (ops->lookup(c->fs, cs, o, strlen(o), &b) != -ENOENT && bad++ < 5)
			diag("case-sensitive dir found '%s'", o);
	}
	ok(bad == 0, "%s: case-insensitive lookups through the index and linearly", c->v->name);
	ok(ops->lookup(c->fs, cismall, ci_invalid, strlen(ci_invalid), &a) == 0 &&
	   ops->lookup(c->fs, cismall, "BAD\xff" "NAME", 8, &b) == -ENOENT,
	   "%s: a name that is not UTF-8 matches only itself", c->v->name);
}

static void check_lookup_speed(struct ctx *c)
{
	uint64_t many = 0, ino;
	struct timespec a, b;
	size_t found = 0, tried = 0;
	double secs;

	if (c->fs->ops->lookup(c->fs, c->fs->root_ino, "many", 4, &many) < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (size_t i = 0; i < c->tree.n; i++) {
		const struct entry *e = &c->tree.v[i];

		if (e->dir != many || !strcmp(e->name, ".") || !strcmp(e->name, ".."))
			continue;
		tried++;
		found += c->fs->ops->lookup(c->fs, many, e->name, strlen(e->name), &ino) == 0 &&
			 ino == e->ino;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	diag("%s: %zu lookups in an indexed directory of %zu entries took %.3f s", c->v->name,
	     tried, tried, secs);
	/* A linear scan would touch every block per lookup: thousands of times slower. */
	ok(found == tried && secs < 10.0, "%s: indexed lookups are fast (%.0f/s)", c->v->name,
	   tried / (secs > 0 ? secs : 1e-9));
}

static void check_info(struct ctx *c)
{
	struct imgfs_fs_info info;
	struct statvfs sv;
	_cleanup_free_ char *cmd = xasprintf("dumpe2fs -h %s 2>/dev/null", c->img);
	_cleanup_free_ char *out = capture("%s", cmd);
	char features[512] = "", uuid[64] = "", info_uuid[37];
	unsigned long long blocks = 0, inodes = 0, free_inodes = 0;
	const char *p;
	int r1 = c->fs->ops->info(c->fs, &info), r2 = c->fs->ops->statfs(c->fs, &sv);

	imgfs_uuid_format(info.uuid, info_uuid);

	if ((p = strstr(out, "Filesystem features:")))
		sscanf(p, "Filesystem features: %511[^\n]", features);
	if ((p = strstr(out, "Filesystem UUID:")))
		sscanf(p, "Filesystem UUID: %63s", uuid);
	if ((p = strstr(out, "Block count:")))
		sscanf(p, "Block count: %llu", &blocks);
	if ((p = strstr(out, "Inode count:")))
		sscanf(p, "Inode count: %llu", &inodes);
	if ((p = strstr(out, "Free inodes:")))
		sscanf(p, "Free inodes: %llu", &free_inodes);
	for (char *e = features + strlen(features); e > features && e[-1] == ' ';)
		*--e = '\0';
	ok(r1 == 0 && !strcmp(info.features, features) && !strcmp(info_uuid, uuid) &&
	   info.blocks == blocks && info.inodes == inodes && info.free_inodes == free_inodes &&
	   info.block_size == c->bs && !strncmp(info.label, "lbl-", 4) &&
	   !strcmp(info.type, c->fs->img->fstype),
	   "%s: info matches dumpe2fs (%s: %s)", c->v->name, info.type, info.features);
	if (strcmp(info.features, features))
		diag("features '%s', dumpe2fs '%s'", info.features, features);
	ok(r2 == 0 && sv.f_bsize == c->bs && sv.f_files == inodes && sv.f_ffree == free_inodes &&
	   sv.f_blocks > 0 && sv.f_blocks < blocks && sv.f_bfree <= sv.f_blocks &&
	   sv.f_bavail <= sv.f_bfree && (sv.f_flag & ST_RDONLY) && sv.f_namemax == 255,
	   "%s: statfs is consistent (%llu blocks, %llu free)", c->v->name,
	   (unsigned long long)sv.f_blocks, (unsigned long long)sv.f_bfree);
}

static void check_bad_requests(struct ctx *c)
{
	struct imgfs_iomap m;
	struct stat st;
	uint64_t dirino = c->fs->root_ino, ino = 0;
	char buf[16];
	size_t len;
	int r1 = c->fs->ops->getattr(c->fs, 0, &st);
	int r2 = c->fs->ops->getattr(c->fs, 1ULL << 40, &st);
	int r3 = c->fs->iomap_ops->iomap_begin(c->fs, dirino, 0, 4096, 0, &m);
	int r4 = c->fs->ops->readlink(c->fs, dirino, buf, sizeof(buf), &len);
	int r5 = -1, r6 = c->fs->ops->getattr(c->fs, 7, &st);

	if (c->fs->ops->lookup(c->fs, c->fs->root_ino, "hello", 5, &ino) == 0)
		r5 = c->fs->iomap_ops->iomap_begin(c->fs, ino, 0, 4096, IMGFS_IOMAP_OP_WRITE, &m);
	ok(r1 == -ENOENT && r2 == -ENOENT && r3 == -EINVAL && r4 == -EINVAL && r5 == -EROFS &&
	   r6 == -ENOENT,
	   "%s: inode 0/out of range/reserved ENOENT, iomap of a dir EINVAL, write EROFS",
	   c->v->name);
}

/* ---- many threads at once, as FUSE calls the backend ---- */

struct thread_job {
	struct ctx *c;
	const struct entry **files;
	const uint64_t *want_hash;
	size_t nfiles;
	unsigned seed;
	size_t bad;
};

static uint64_t fnv(const char *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 0x100000001b3ULL;
	return h;
}

/* Look a file up, stat it and hash its contents. */
static uint64_t file_hash(struct ctx *c, const struct entry *e, char *buf, size_t bufsize)
{
	struct stat st;
	uint64_t ino = 0, h = 0xcbf29ce484222325ULL;
	ssize_t n;

	if (c->fs->ops->lookup(c->fs, e->dir, e->name, strlen(e->name), &ino) < 0 ||
	    ino != e->ino || c->fs->ops->getattr(c->fs, ino, &st) < 0)
		return 0;
	for (uint64_t pos = 0; pos < (uint64_t)st.st_size && pos < (8 << 20); pos += (uint64_t)n) {
		n = imgfs_iomap_read(c->fs, ino, (uint64_t)st.st_size, buf, bufsize, pos);
		if (n <= 0)
			return 0;
		h = fnv(buf, (size_t)n, h);
	}
	return h ^ (uint64_t)st.st_size;
}

static void *thread_main(void *arg)
{
	struct thread_job *j = arg;
	char *buf = malloc(1 << 20);

	for (int round = 0; round < 3 && buf; round++)
		for (size_t k = 0; k < j->nfiles; k++) {
			size_t i = (k * 7919 + j->seed) % j->nfiles;

			j->bad += file_hash(j->c, j->files[i], buf, 1 << 20) != j->want_hash[i];
		}
	free(buf);
	return NULL;
}

static void check_threads(struct ctx *c, struct entry **u, size_t n)
{
	const struct entry **files = calloc(n, sizeof(*files));
	uint64_t *want = calloc(n, sizeof(*want));
	_cleanup_free_ char *buf = malloc(1 << 20);
	struct thread_job jobs[4];
	pthread_t tids[4];
	size_t nfiles = 0, bad = 0;

	for (size_t i = 0; i < n && nfiles < 400; i++) {
		struct stat st;

		if (c->fs->ops->getattr(c->fs, u[i]->ino, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_size > 0 || i % 50 == 0)) {
			files[nfiles] = u[i];
			want[nfiles++] = file_hash(c, u[i], buf, 1 << 20);
		}
	}
	for (int t = 0; t < 4; t++) {
		jobs[t] = (struct thread_job){ .c = c, .files = files, .want_hash = want,
					       .nfiles = nfiles, .seed = (unsigned)t * 101 };
		if (pthread_create(&tids[t], NULL, thread_main, &jobs[t]))
			abort();
	}
	for (int t = 0; t < 4; t++) {
		pthread_join(tids[t], NULL);
		bad += jobs[t].bad;
	}
	ok(bad == 0 && nfiles > 10, "%s: 4 threads looking up and reading %zu files agree (%zu differ)",
	   c->v->name, nfiles, bad);
	free(files);
	free(want);
}

static void test_variant(const struct variant *v)
{
	_cleanup_free_ char *img = xasprintf("%s/%s.img", tmpdir, v->name);
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	struct imgfs_error err = { 0 };
	struct entry **u = NULL;
	struct ctx c = { .v = v, .img = img };
	size_t n;
	int r;

	if (!ok(build_image(v, img) == 0, "%s: image built (mkfs.ext4 %s)", v->name, v->mkfs))
		return;
	r = test_open_fs(img, &image, &fs, &err);
	if (!ok(r == 0, "%s: opens (%s)", v->name, r ? err.msg : "ok"))
		return;
	c.fs = fs;
	c.bs = fs->block_size;
	c.filetype = !strstr(v->mkfs, "^filetype");
	r = walk_tree(fs, &c.tree);
	ok(r == 0 && c.tree.n > 10, "%s: whole tree walked (%zu entries, %d)", v->name, c.tree.n, r);

	check_readdir_and_lookup(&c);
	check_readdir_resume(&c);
	check_negative_lookups(&c);
	n = unique_inodes(&c, &u);
	check_getattr(&c, u, n);
	check_mappings(&c, u, n);
	check_contents(&c, u, n);
	if (v->flags & V_HUGE)
		check_huge(&c);
	check_xattrs(&c, u, n);
	check_missing_xattr(&c);
	check_deep_and_htree(&c);
	if (v->htree_entries >= 10000)
		check_lookup_speed(&c);
	if (v->flags & V_CASEFOLD)
		check_casefold(&c);
	check_info(&c);
	check_bad_requests(&c);
	if (v->flags & V_HUGE)
		check_threads(&c, u, n);

	free(u);
	tree_free(&c.tree);
	imgfs_fs_close(fs);
	imgfs_image_close(image);
}

/* ---- corrupted images ---- */

static int copy_file(const char *from, const char *to)
{
	return run("cp --sparse=always %s %s", from, to);
}

/* Flip bits at byte @off of @path. */
static void poke(const char *path, uint64_t off, uint8_t xor_mask)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	if (fd < 0 || pread(fd, &b, 1, (off_t)off) != 1)
		abort();
	b ^= xor_mask;
	if (pwrite(fd, &b, 1, (off_t)off) != 1)
		abort();
	close(fd);
}

/* Byte offset of inode @ino's on-disk copy, from debugfs imap. */
static uint64_t inode_offset(const char *img, const char *spec, unsigned bs)
{
	_cleanup_free_ char *cmd = xasprintf("debugfs -R 'imap %s' %s 2>/dev/null", spec, img);
	_cleanup_free_ char *out = capture("%s", cmd);
	unsigned long long blk = 0;
	unsigned off = 0;
	const char *p = strstr(out, "located at block");

	if (!p || sscanf(p, "located at block %llu, offset 0x%x", &blk, &off) != 2)
		return 0;
	return blk * bs + off;
}

/* Walk everything the backend can reach; returns how many operations failed. */
static size_t exercise(struct imgfs_fs *fs)
{
	struct tree t = { 0 };
	size_t errors = walk_tree(fs, &t) < 0;
	_cleanup_free_ char *buf = malloc(1 << 20);

	for (size_t i = 0; i < t.n; i++) {
		struct entry *e = &t.v[i];
		struct stat st;
		uint64_t ino;
		char list[4096], target[4096];
		size_t len;

		errors += fs->ops->lookup(fs, e->dir, e->name, strlen(e->name), &ino) < 0;
		if (fs->ops->getattr(fs, e->ino, &st) < 0) {
			errors++;
			continue;
		}
		errors += fs->ops->listxattr(fs, e->ino, list, sizeof(list), &len) < 0;
		if (S_ISLNK(st.st_mode))
			errors += fs->ops->readlink(fs, e->ino, target, sizeof(target), &len) < 0;
		if (S_ISREG(st.st_mode)) {
			uint64_t size = MIN((uint64_t)st.st_size, (uint64_t)64 << 20);

			for (uint64_t pos = 0; pos < size; pos += 1 << 20)
				if (imgfs_iomap_read(fs, e->ino, (uint64_t)st.st_size, buf, 1 << 20,
						     pos) < 0) {
					errors++;
					break;
				}
		}
	}
	tree_free(&t);
	return errors;
}

/* The first number debugfs prints for @cmd on @img. */
static unsigned long long debugfs_num(const char *img, const char *cmd)
{
	_cleanup_free_ char *full = xasprintf("debugfs -R '%s' %s 2>/dev/null", cmd, img);
	_cleanup_free_ char *out = capture("%s", full);
	unsigned long long n = 0;

	sscanf(out, "%llu", &n);
	return n;
}

/* Open @path as ext4 without probing it, so that a broken superblock reaches the backend. */
static int open_raw(const char *path, struct imgfs_image **image, struct imgfs_fs **fs,
		    struct imgfs_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0)
		abort();
	r = imgfs_image_from_fd(fd, -1, path, 0, (uint64_t)st.st_size, "ext4", false, image, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = imgfs_ext4_open(*image, fs, err);
	if (r < 0)
		imgfs_image_close(*image);
	return r;
}

static void close_fs(struct imgfs_fs *fs, struct imgfs_image *image)
{
	imgfs_fs_close(fs);
	imgfs_image_close(image);
}

/* A copy of @base with the bits of @mask flipped at byte @off, opened. */
static struct imgfs_fs *open_damaged(const char *base, const char *work, uint64_t off,
				     uint8_t mask, struct imgfs_image **image)
{
	struct imgfs_error err = { 0 };
	struct imgfs_fs *fs = NULL;

	copy_file(base, work);
	poke(work, off, mask);
	if (!ok(open_raw(work, image, &fs, &err) == 0, "corruption: image damaged at byte %llu opens",
		(unsigned long long)off)) {
		diag("%s", err.msg);
		return NULL;
	}
	return fs;
}

/* The block an index node of the deep file points to: an extent tree leaf. */
static unsigned long long extent_leaf(const char *img)
{
	_cleanup_free_ char *cmd = xasprintf("debugfs -R 'ex -n /fragmented' %s 2>/dev/null", img);
	_cleanup_free_ char *out = capture("%s", cmd);
	unsigned long long blk = 0;
	char *line, *save = NULL;

	/* "level/max entry/count start - end child length" */
	for (char *s = out; (line = strtok_r(s, "\n", &save)); s = NULL) {
		unsigned l1, l2;
		unsigned long long a, b, child;

		if (sscanf(line, " %u/ %u %*u/ %*u %llu - %llu %llu", &l1, &l2, &a, &b, &child) == 5 &&
		    l1 + 1 == l2)
			blk = child;
	}
	return blk;
}

static void test_damage(const char *img, const char *imgc, const char *work)
{
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs;
	struct imgfs_iomap m;
	struct stat st;
	uint64_t ino = 0, many = 0, sub = 0;
	size_t found = 0;

	/* Extent header magic in an inode: libext2fs's header check, or the inode checksum. */
	if ((fs = open_damaged(img, work, inode_offset(img, "/medium", 1024) + 0x28, 0xff, &image))) {
		/* Checked as the kernel's iget does: the lookup itself may fail. */
		int r = fs->ops->lookup(fs, fs->root_ino, "medium", 6, &ino);

		is_int(r ? r : fs->iomap_ops->iomap_begin(fs, ino, 0, 1024, 0, &m), -EUCLEAN,
		       "corruption: a bad extent header is EUCLEAN");
		close_fs(fs, image);
	}
	if ((fs = open_damaged(imgc, work, inode_offset(imgc, "/medium", 1024) + 0x28, 0xff, &image))) {
		int r = fs->ops->lookup(fs, fs->root_ino, "medium", 6, &ino);

		is_int(r ? r : fs->ops->getattr(fs, ino, &st), -EUCLEAN,
		       "corruption: an inode checksum mismatch is EUCLEAN");
		close_fs(fs, image);
	}
	/* The magic of a leaf of the depth-2 extent tree. */
	if ((fs = open_damaged(img, work, extent_leaf(img) * 1024, 0xff, &image))) {
		size_t errs = exercise(fs);

		ok(errs > 0, "corruption: a bad extent leaf gives errors (%zu), no crash", errs);
		close_fs(fs, image);
	}
	/* The htree root's limit: the kernel (and we) search linearly instead. */
	if ((fs = open_damaged(img, work, debugfs_num(img, "bmap /many 0") * 1024 + 32, 1, &image))) {
		struct tree t = { 0 };

		fs->ops->lookup(fs, fs->root_ino, "many", 4, &many);
		walk_tree(fs, &t);
		for (size_t i = 0; i < t.n; i++)
			found += t.v[i].dir == many &&
				 fs->ops->lookup(fs, many, t.v[i].name, strlen(t.v[i].name), &ino) == 0 &&
				 ino == t.v[i].ino;
		ok(found >= 1500, "corruption: an unusable index falls back to a linear search (%zu found)",
		   found);
		tree_free(&t);
		close_fs(fs, image);
	}
	/* The same byte under metadata_csum is a checksum mismatch. */
	if ((fs = open_damaged(imgc, work, debugfs_num(imgc, "bmap /many 0") * 1024 + 32, 1, &image))) {
		fs->ops->lookup(fs, fs->root_ino, "many", 4, &many);
		is_int(fs->ops->lookup(fs, many, "0-x", 3, &ino), -EUCLEAN,
		       "corruption: an index block checksum mismatch is EUCLEAN");
		close_fs(fs, image);
	}
	/* The ".." entry's rec_len, 12 -> 14. */
	if ((fs = open_damaged(img, work, debugfs_num(img, "bmap /sub 0") * 1024 + 16, 2, &image))) {
		struct tree t = { 0 };
		struct collect col = { .t = &t, .path = "" };

		fs->ops->lookup(fs, fs->root_ino, "sub", 3, &sub);
		col.dir = sub;
		is_int(fs->ops->readdir(fs, sub, 0, collect_entry, &col), -EUCLEAN,
		       "corruption: a bad rec_len makes readdir EUCLEAN");
		tree_free(&t);
		close_fs(fs, image);
	}
}

/* Images the backend must refuse, each with a message saying why. */
static void test_refusals(const char *img, const char *work)
{
	static const struct { const char *cmds; const char *want; } cases[] = {
		{ "feature needs_recovery", "journal needs recovery: run e2fsck" },
		{ "feature encrypt", "unsupported feature encrypt" },
		{ "feature casefold\nssv encoding 7", "encoding 7" },
		{ "feature FEATURE_I18", "unsupported filesystem feature(s): FEATURE_I18" },
	};
	_cleanup_free_ char *cmds = xasprintf("%s/refuse.cmds", tmpdir);
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	struct imgfs_error err;
	int r;

	copy_file(img, work);
	if (truncate(work, 10 << 20) < 0)
		abort();
	memset(&err, 0, sizeof(err));
	r = open_raw(work, &image, &fs, &err);
	ok(r < 0 && strstr(err.msg, "image is truncated"), "refused: %s", err.msg);
	if (r == 0)
		close_fs(fs, image);

	copy_file(img, work);
	poke(work, 1024 + 0x38, 0xff);	/* s_magic */
	memset(&err, 0, sizeof(err));
	r = open_raw(work, &image, &fs, &err);
	ok(r < 0 && strstr(err.msg, "not an ext2/3/4 filesystem or corrupt superblock: bad magic"),
	   "refused: %s", err.msg);
	if (r == 0)
		close_fs(fs, image);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		copy_file(img, work);
		write_file(cmds, cases[i].cmds, strlen(cases[i].cmds));
		run("debugfs -w -f %s %s", cmds, work);
		memset(&err, 0, sizeof(err));
		r = open_raw(work, &image, &fs, &err);
		ok(r < 0 && strstr(err.msg, cases[i].want), "refused: %s", err.msg);
		if (r == 0)
			close_fs(fs, image);
	}
}

/* Random bit flips in inode tables and the metadata at the start: errors, never crashes. */
static void test_random_damage(const char *img, const char *imgc, const char *work)
{
	_cleanup_free_ char *cmd = xasprintf("dumpe2fs %s 2>/dev/null | grep -m1 'Inode table at'", img);
	_cleanup_free_ char *out = capture("%s", cmd);
	const char *p = strstr(out, "Inode table at ");
	unsigned long long itable = 0;
	size_t opened = 0, errors = 0;
	int saved = dup(2), null = open("/dev/null", O_WRONLY);

	if (p)
		sscanf(p, "Inode table at %llu", &itable);
	/* Every corrupt structure logs a line: keep them off the test's output. */
	dup2(null, 2);
	for (int round = 0; round < 24; round++) {
		struct imgfs_image *image = NULL;
		struct imgfs_fs *fs = NULL;
		struct imgfs_error err;

		copy_file(round % 2 ? imgc : img, work);
		for (int k = 0; k < 40; k++)
			poke(work, k % 2 ? itable * 1024 + rng() % (256 * 128) : rng() % (4 << 20),
			     (uint8_t)(1u << (rng() % 8)));
		if (open_raw(work, &image, &fs, &err) == 0) {
			opened++;
			errors += exercise(fs);
			close_fs(fs, image);
		}
	}
	dup2(saved, 2);
	close(saved);
	close(null);
	ok(1, "corruption: 24 randomly damaged images: %zu opened, %zu errors, no crash", opened,
	   errors);
}

static void test_corruption(void)
{
	const struct variant v = { "corrupt", "-t ext4 -b 1024 -O ^metadata_csum", "24M",
				   V_DEEP | V_HTREE, 1500, 200 };
	const struct variant vc = { "corrupt-csum", "-t ext4 -b 1024", "24M", V_DEEP | V_HTREE,
				    1500, 200 };
	_cleanup_free_ char *img = xasprintf("%s/corrupt.img", tmpdir);
	_cleanup_free_ char *imgc = xasprintf("%s/corrupt-csum.img", tmpdir);
	_cleanup_free_ char *work = xasprintf("%s/work.img", tmpdir);

	if (!ok(build_image(&v, img) == 0 && build_image(&vc, imgc) == 0,
		"corruption: base images built (with and without metadata_csum)"))
		return;
	test_damage(img, imgc, work);
	test_refusals(img, work);
	test_random_damage(img, imgc, work);
	unlink(work);
}

/* ---- main: the tests run in a child, so the parent cleans up whatever happens ---- */

static volatile pid_t child_pid;

/* A signal to the parent ends the tests; the parent still cleans up. */
static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static bool have(const char *tool)
{
	return run("command -v %s", tool) == 0;
}

int main(void)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *newpath = xasprintf("%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
	pid_t pid;
	int st;

	setenv("PATH", newpath, 1);
	/* debugfs and e2fsck must not ask questions or use a pager. */
	setenv("PAGER", "cat", 1);
	setenv("DEBUGFS_PAGER", "__none__", 1);
	imgfs_log_setup("unit-ext4", IMGFS_LOG_ERR, false);
	if (!have("mkfs.ext4") || !have("debugfs") || !have("e2fsck") || !have("dumpe2fs"))
		skip_all("mkfs.ext4, debugfs, e2fsck and dumpe2fs (e2fsprogs) are needed");
	if (!mkdtemp(tmpdir))
		skip_all("cannot create a temporary directory: %s", strerror(errno));

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		rm_tree(tmpdir);
		skip_all("cannot fork: %s", strerror(errno));
	}
	if (pid > 0) {
		struct sigaction sa = { .sa_handler = forward_signal };

		child_pid = pid;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	if (pid == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(variants); i++)
			test_variant(&variants[i]);
		test_corruption();
		exit(done_testing());
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	rm_tree(tmpdir);
	if (WIFSIGNALED(st)) {
		printf("Bail out! the tests died of signal %d\n", WTERMSIG(st));
		return 1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
