/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * treecmp: compare two directory trees field by field.
 *
 *   treecmp [--ignore=FIELD,...] [--atime] [--blocks] [--ino] [--read-holes]
 *           [--now=SECONDS] [--max-diffs=N] DIR_A DIR_B
 *
 * The integration tests mount one image twice, once with the kernel's own
 * driver and once with imgfs, and run this on the two mount points: the
 * kernel is the ground truth, so every difference printed is a bug in
 * imgfs (or in the corpus, never in this tool, we hope).
 *
 * Both trees are walked in lockstep, one directory at a time: the names of
 * a directory are read from both sides, sorted bytewise and merged, so a
 * name missing on one side is found without holding either tree in memory.
 * Nothing is ever followed: entries are examined with fstatat(...,
 * AT_SYMLINK_NOFOLLOW) relative to an open directory descriptor, and
 * directories are entered with openat(O_NOFOLLOW), which also keeps very
 * deep trees within PATH_MAX.
 *
 * Hard links are compared as partitions, not by inode number (the two
 * sides number inodes differently): every path found on both sides pairs
 * inode A with inode B, and the pairing must be one-to-one.
 *
 * Two trees written by two drivers running one workload (tests/rw-compare.sh)
 * agree on every time the workload set (touch -d, tar) but not on those the
 * clock set while it ran.  --now=T compares a time exactly only where
 * either side has it before T; two times at or after T are equal (both
 * were set by the clock, as they should be), one of each is a difference
 * (one side did not update it, or updated what it should have left).
 *
 * Output: one line per difference, "PATH: FIELD: A vs B", the first
 * --max-diffs of them (default 50), then a summary line
 * "N entries compared, M differences".  Exit status 0 when identical,
 * 1 when different, 2 on a usage error or when an entry could not be
 * examined (the error is printed as a difference too).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ---- fields ---- */

enum field {
	F_TYPE, F_MODE, F_UID, F_GID, F_SIZE, F_NLINK, F_MTIME, F_CTIME,
	F_ATIME, F_BLOCKS, F_INO, F_RDEV, F_TARGET, F_XATTR, F_CONTENT,
	F_HARDLINK, F_DIRSIZE, F_NFIELDS
};

static const char *const field_names[F_NFIELDS] = {
	[F_TYPE] = "type", [F_MODE] = "mode", [F_UID] = "uid", [F_GID] = "gid",
	[F_SIZE] = "size", [F_NLINK] = "nlink", [F_MTIME] = "mtime",
	[F_CTIME] = "ctime", [F_ATIME] = "atime", [F_BLOCKS] = "blocks",
	[F_INO] = "ino",
	[F_RDEV] = "rdev", [F_TARGET] = "target", [F_XATTR] = "xattr",
	[F_CONTENT] = "content", [F_HARDLINK] = "hardlink", [F_DIRSIZE] = "dirsize",
};

/* atime changes as the trees are read, st_blocks legitimately differs
 * between implementations that count metadata blocks differently, and
 * inode numbers differ between copies of a tree (hard links are compared
 * as partitions either way): these are compared only when asked for. */
static bool enabled[F_NFIELDS] = {
	[F_TYPE] = true, [F_MODE] = true, [F_UID] = true, [F_GID] = true,
	[F_SIZE] = true, [F_NLINK] = true, [F_MTIME] = true, [F_CTIME] = true,
	[F_RDEV] = true, [F_TARGET] = true, [F_XATTR] = true,
	[F_CONTENT] = true, [F_HARDLINK] = true, [F_DIRSIZE] = true,
};
/* A directory's size is the blocks its entries took, which depends on how
 * a driver places them (linear or hashed, reusing freed slots); "dirsize"
 * lets it be ignored alone, and "size" still covers every other type. */

static unsigned long max_diffs = 50;	/* 0: print them all */
static bool read_holes;			/* read ranges both sides call holes */
static long long now_sec = -1;		/* --now: times from here on are "now" */

static unsigned long long n_entries, n_diffs, n_errors;

/* ---- the current path, for messages ---- */

static char *path_buf;
static size_t path_len, path_cap;

static void path_set(size_t len)
{
	path_len = len;
	path_buf[len] = '\0';
}

static size_t path_push(const char *name)
{
	size_t old = path_len, n = strlen(name);

	if (path_len + n + 2 > path_cap) {
		path_cap = (path_len + n + 2) * 2;
		path_buf = realloc(path_buf, path_cap);
		if (!path_buf) {
			perror("treecmp");
			exit(2);
		}
	}
	if (path_len == 0 || path_buf[path_len - 1] != '/')
		path_buf[path_len++] = '/';
	memcpy(path_buf + path_len, name, n);
	path_set(path_len + n);
	return old;
}

/* Print @len bytes so that one difference is one line: control bytes,
 * backslash and DEL escaped, UTF-8 left alone.  At most @max bytes. */
static void put_escaped(const void *data, size_t len, size_t max)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len && i < max; i++) {
		if (p[i] == '\\')
			fputs("\\\\", stdout);
		else if (p[i] == '\n')
			fputs("\\n", stdout);
		else if (p[i] == '\t')
			fputs("\\t", stdout);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			printf("\\x%02x", p[i]);
		else
			putchar(p[i]);
	}
	if (len > max)
		fputs("...", stdout);
}

/* One difference: "PATH: FIELD: message". */
__attribute__((format(printf, 2, 3)))
static void report(const char *field, const char *fmt, ...)
{
	va_list ap;

	if (max_diffs && n_diffs >= max_diffs) {
		n_diffs++;
		return;
	}
	n_diffs++;
	put_escaped(path_buf, path_len, SIZE_MAX);
	printf(": %s: ", field);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* An entry that could not be examined: a difference, and exit status 2. */
static void report_error(const char *side, const char *op, int err)
{
	n_errors++;
	report("error", "%s: %s: %s", side, op, strerror(err));
}

/* ---- hard-link identity ---- */

struct link_ent {
	dev_t dev, pdev;	/* this side's inode, and its partner's */
	ino_t ino, pino;
	char *path;		/* first path seen; NULL: empty slot */
};

struct link_map {
	struct link_ent *v;
	size_t cap, n;
};

static struct link_map links_a, links_b;

static size_t link_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return (size_t)(h ^ (h >> 29));
}

static struct link_ent *link_slot(struct link_map *m, dev_t dev, ino_t ino)
{
	size_t i = link_hash(dev, ino) & (m->cap - 1);

	while (m->v[i].path && (m->v[i].dev != dev || m->v[i].ino != ino))
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

/* The entry for (@dev, @ino); *@found says whether it existed.  A new one
 * has path NULL until the caller fills it in. */
static struct link_ent *link_get(struct link_map *m, dev_t dev, ino_t ino, bool *found)
{
	struct link_ent *e;

	if ((m->n + 1) * 2 > m->cap) {
		struct link_map bigger = { .cap = m->cap ? m->cap * 2 : 1024, .n = m->n };
		size_t i;

		bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
		if (!bigger.v) {
			perror("treecmp");
			exit(2);
		}
		for (i = 0; i < m->cap; i++)
			if (m->v[i].path)
				*link_slot(&bigger, m->v[i].dev, m->v[i].ino) = m->v[i];
		free(m->v);
		*m = bigger;
	}
	e = link_slot(m, dev, ino);
	*found = e->path != NULL;
	if (!*found) {
		e->dev = dev;
		e->ino = ino;
		m->n++;
	}
	return e;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		perror("treecmp");
		exit(2);
	}
	return d;
}

/* Pair the two inodes of the current path.  Returns true when this pair
 * was already seen (another name of the same file on both sides), so the
 * contents need not be read again. */
static bool check_hardlink(const struct stat *a, const struct stat *b)
{
	bool fa, fb;
	struct link_ent *ea = link_get(&links_a, a->st_dev, a->st_ino, &fa);
	struct link_ent *eb = link_get(&links_b, b->st_dev, b->st_ino, &fb);

	if (!fa) {
		ea->pdev = b->st_dev;
		ea->pino = b->st_ino;
		ea->path = xstrdup(path_buf);
	}
	if (!fb) {
		eb->pdev = a->st_dev;
		eb->pino = a->st_ino;
		eb->path = xstrdup(path_buf);
	}
	if (fa && (ea->pdev != b->st_dev || ea->pino != b->st_ino)) {
		if (enabled[F_HARDLINK])
			report("hardlink", "same inode as %s vs a different inode", ea->path);
		return false;
	}
	if (fb && (eb->pdev != a->st_dev || eb->pino != a->st_ino)) {
		if (enabled[F_HARDLINK])
			report("hardlink", "a different inode vs same inode as %s", eb->path);
		return false;
	}
	return fa && fb;
}

/* ---- directory listings ---- */

struct names {
	char *buf;		/* NUL-separated names */
	size_t len, cap;
	char **v;		/* sorted pointers into buf */
	size_t n;
};

static int cmp_name(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Read every name of the directory @fd but "." and "..", sorted bytewise. */
static int read_names(int fd, struct names *nl)
{
	static char dbuf[256 * 1024];
	size_t off, i;
	ssize_t got;

	memset(nl, 0, sizeof(*nl));
	while ((got = getdents64(fd, dbuf, sizeof(dbuf))) > 0) {
		for (off = 0; off < (size_t)got;) {
			struct dirent64 *de = (struct dirent64 *)(dbuf + off);
			size_t n = strlen(de->d_name) + 1;

			off += de->d_reclen;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (nl->len + n > nl->cap) {
				nl->cap = (nl->len + n) * 2;
				nl->buf = realloc(nl->buf, nl->cap);
				if (!nl->buf)
					return -ENOMEM;
			}
			memcpy(nl->buf + nl->len, de->d_name, n);
			nl->len += n;
			nl->n++;
		}
	}
	if (got < 0)
		return -errno;
	nl->v = malloc((nl->n + 1) * sizeof(*nl->v));
	if (!nl->v)
		return -ENOMEM;
	for (off = 0, i = 0; i < nl->n; i++) {
		nl->v[i] = nl->buf + off;
		off += strlen(nl->v[i]) + 1;
	}
	qsort(nl->v, nl->n, sizeof(*nl->v), cmp_name);
	return 0;
}

static void free_names(struct names *nl)
{
	free(nl->buf);
	free(nl->v);
}

/* ---- single fields ---- */

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "regular file";
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "char device";
	case S_IFBLK: return "block device";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	default: return "unknown type";
	}
}

static void cmp_u64(enum field f, unsigned long long a, unsigned long long b)
{
	if (enabled[f] && a != b)
		report(field_names[f], "%llu vs %llu", a, b);
}

static void cmp_time(enum field f, const struct timespec *a, const struct timespec *b)
{
	if (!enabled[f])
		return;
	if (now_sec >= 0 && a->tv_sec >= now_sec && b->tv_sec >= now_sec)
		return;	/* both set by the clock during the run */
	if (a->tv_sec != b->tv_sec || a->tv_nsec != b->tv_nsec)
		report(field_names[f], "%lld.%09ld vs %lld.%09ld",
		       (long long)a->tv_sec, a->tv_nsec, (long long)b->tv_sec, b->tv_nsec);
}

/* The path of @name in directory @dfd for the l*xattr calls, which have
 * no *at() form: through /proc/self/fd, so it stays short however deep
 * the tree is.  The last component is not followed. */
static void at_path(char *out, size_t size, int dfd, const char *name)
{
	if (dfd == AT_FDCWD)
		snprintf(out, size, "%s", name);
	else
		snprintf(out, size, "/proc/self/fd/%d/%s", dfd, name);
}

/* noinline here and in cmp_xattrs: their PATH_MAX buffers must not join
 * the frame of compare_entry, which recurses once per directory level. */
__attribute__((noinline))
static void cmp_target(int dfa, int dfb, const char *name)
{
	char a[PATH_MAX + 1], b[PATH_MAX + 1];
	ssize_t la = readlinkat(dfa, name, a, sizeof(a));
	ssize_t lb = readlinkat(dfb, name, b, sizeof(b));

	if (la < 0 || lb < 0) {
		report_error(la < 0 ? "A" : "B", "readlink", errno);
		return;
	}
	if (la == lb && !memcmp(a, b, la))
		return;
	if (max_diffs && n_diffs >= max_diffs) {
		n_diffs++;
		return;
	}
	n_diffs++;
	put_escaped(path_buf, path_len, SIZE_MAX);
	printf(": target: \"");
	put_escaped(a, la, 60);
	printf("\" (%zd bytes) vs \"", la);
	put_escaped(b, lb, 60);
	printf("\" (%zd bytes)\n", lb);
}

/* All xattr names of @path, sorted; n < 0 is an error. */
struct xlist {
	char *buf;
	char **v;
	ssize_t n;
};

static void xlist_read(const char *path, struct xlist *x)
{
	ssize_t len, i, cnt = 0;

	memset(x, 0, sizeof(*x));
	for (;;) {
		len = llistxattr(path, NULL, 0);
		if (len < 0)
			break;
		free(x->buf);
		x->buf = malloc(len + 1);
		if (!x->buf) {
			errno = ENOMEM;
			len = -1;
			break;
		}
		len = llistxattr(path, x->buf, len);
		if (len >= 0 || errno != ERANGE)
			break;
	}
	if (len < 0) {
		/* No xattr support at all is an empty set, as far as the
		 * comparison goes: the other side's names show up. */
		x->n = (errno == ENOTSUP || errno == ENOSYS) ? 0 : -errno;
		return;
	}
	for (i = 0; i < len; i++)
		cnt += x->buf[i] == '\0';
	x->v = malloc((cnt + 1) * sizeof(*x->v));
	if (!x->v) {
		x->n = -ENOMEM;
		return;
	}
	for (i = 0; i < len; i += strlen(x->buf + i) + 1)
		x->v[x->n++] = x->buf + i;
	qsort(x->v, x->n, sizeof(*x->v), cmp_name);
}

/* The value of xattr @name: a malloc'ed buffer and its length, or -errno. */
static ssize_t xget(const char *path, const char *name, char **val)
{
	ssize_t len;

	*val = NULL;
	for (;;) {
		len = lgetxattr(path, name, NULL, 0);
		if (len < 0)
			return -errno;
		free(*val);
		*val = malloc(len + 1);
		if (!*val)
			return -ENOMEM;
		len = lgetxattr(path, name, *val, len);
		if (len >= 0)
			return len;
		if (errno != ERANGE)
			return -errno;
	}
}

static bool printable(const char *s, ssize_t len)
{
	ssize_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 && !(i == len - 1 && s[i] == '\0'))
			return false;
	return true;
}

static void cmp_xattr_value(const char *pa, const char *pb, const char *name)
{
	char *va, *vb;
	ssize_t la = xget(pa, name, &va), lb = xget(pb, name, &vb);
	ssize_t i;

	if (la < 0 || lb < 0) {
		char op[300];

		snprintf(op, sizeof(op), "getxattr %s", name);
		report_error(la < 0 ? "A" : "B", op, (int)-(la < 0 ? la : lb));
	} else if (la != lb || memcmp(va, vb, la)) {
		if (la <= 64 && lb <= 64 && printable(va, la) && printable(vb, lb)) {
			if (!(max_diffs && n_diffs >= max_diffs)) {
				put_escaped(path_buf, path_len, SIZE_MAX);
				printf(": xattr: %s: \"", name);
				put_escaped(va, la, 64);
				printf("\" vs \"");
				put_escaped(vb, lb, 64);
				printf("\"\n");
			}
			n_diffs++;
		} else {
			for (i = 0; i < la && i < lb && va[i] == vb[i]; i++)
				;
			report("xattr", "%s: %zd bytes vs %zd bytes, first difference at byte %zd",
			       name, la, lb, i);
		}
	}
	free(va);
	free(vb);
}

__attribute__((noinline))
static void cmp_xattrs(int dfa, int dfb, const char *name)
{
	char pa[PATH_MAX + 64], pb[PATH_MAX + 64];
	struct xlist a, b;
	ssize_t i = 0, j = 0;

	at_path(pa, sizeof(pa), dfa, name);
	at_path(pb, sizeof(pb), dfb, name);
	xlist_read(pa, &a);
	xlist_read(pb, &b);
	if (a.n < 0 || b.n < 0) {
		report_error(a.n < 0 ? "A" : "B", "listxattr", (int)-(a.n < 0 ? a.n : b.n));
		goto out;
	}
	while (i < a.n || j < b.n) {
		int c = i < a.n && j < b.n ? strcmp(a.v[i], b.v[j]) : i < a.n ? -1 : 1;

		if (c < 0)
			report("xattr", "%s: present vs missing", a.v[i++]);
		else if (c > 0)
			report("xattr", "%s: missing vs present", b.v[j++]);
		else {
			cmp_xattr_value(pa, pb, a.v[i]);
			i++;
			j++;
		}
	}
out:
	free(a.buf);
	free(a.v);
	free(b.buf);
	free(b.v);
}

/* ---- file contents ---- */

#define CHUNK (1024 * 1024)
static char *buf_a, *buf_b;

/* pread until @len bytes or end of file; -1 on error. */
static ssize_t pread_full(int fd, char *buf, size_t len, off_t pos)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, pos + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

#define OFF_INF ((off_t)INT64_MAX)

/* Where data starts at or after @pos (OFF_INF: none), as the file itself
 * says through SEEK_DATA; a file that cannot tell is all data. */
static off_t next_data(int fd, off_t pos)
{
	off_t d;

	if (read_holes)
		return pos;
	d = lseek(fd, pos, SEEK_DATA);
	if (d >= 0)
		return d;
	return errno == ENXIO ? OFF_INF : pos;
}

static off_t next_hole(int fd, off_t pos)
{
	off_t h;

	if (read_holes)
		return OFF_INF;
	h = lseek(fd, pos, SEEK_HOLE);
	return h >= 0 ? h : OFF_INF;
}

/*
 * Compare two regular files byte for byte.  Ranges that *both* sides
 * report as holes (SEEK_DATA/SEEK_HOLE) are skipped, so a sparse file of
 * several GiB costs little; wherever either side claims data, both are
 * read.  A side without SEEK_DATA support (a FUSE server without lseek)
 * is all data, so nothing is skipped there.  --read-holes reads it all.
 */
static void cmp_content(int dfa, int dfb, const char *name)
{
	int fa = openat(dfa, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	int fb = openat(dfb, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	off_t pos = 0;

	if (fa < 0 || fb < 0) {
		report_error(fa < 0 ? "A" : "B", "open", errno);
		goto out;
	}
	posix_fadvise(fa, 0, 0, POSIX_FADV_SEQUENTIAL);
	posix_fadvise(fb, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		off_t da = next_data(fa, pos), db = next_data(fb, pos);
		off_t start = da < db ? da : db, end, ha, hb;

		if (start == OFF_INF)
			break;	/* only holes are left on both sides */
		ha = da == start ? next_hole(fa, start) : start;
		hb = db == start ? next_hole(fb, start) : start;
		end = ha > hb ? ha : hb;
		for (pos = start; pos < end;) {
			size_t want = end - pos < CHUNK ? (size_t)(end - pos) : CHUNK;
			ssize_t ra = pread_full(fa, buf_a, want, pos);
			ssize_t rb = pread_full(fb, buf_b, want, pos);
			ssize_t n, i;

			if (ra < 0 || rb < 0) {
				char op[64];

				snprintf(op, sizeof(op), "read at offset %lld", (long long)pos);
				report_error(ra < 0 ? "A" : "B", op, errno);
				goto out;
			}
			n = ra < rb ? ra : rb;
			if (memcmp(buf_a, buf_b, n)) {
				for (i = 0; buf_a[i] == buf_b[i]; i++)
					;
				report("content", "differ at offset %lld (0x%02x vs 0x%02x)",
				       (long long)(pos + i), (unsigned char)buf_a[i],
				       (unsigned char)buf_b[i]);
				goto out;
			}
			if (ra != rb) {
				report("content", "reads end at offset %lld vs %s %lld",
				       (long long)(pos + ra), rb > ra ? "data past" : "end at",
				       (long long)(pos + rb));
				goto out;
			}
			if (ra == 0)
				goto out;	/* end of file on both sides */
			pos += ra;
		}
		if (end == OFF_INF)
			break;
	}
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
}

/* ---- the walk ---- */

static void compare_dir(int dfa, int dfb);

/* Everything about the entry @name of directories @dfa/@dfb, and below it. */
static void compare_entry(int dfa, int dfb, const char *name_a, const char *name_b)
{
	struct stat a, b;
	bool seen = false;

	n_entries++;
	if (fstatat(dfa, name_a, &a, AT_SYMLINK_NOFOLLOW) < 0) {
		report_error("A", "lstat", errno);
		return;
	}
	if (fstatat(dfb, name_b, &b, AT_SYMLINK_NOFOLLOW) < 0) {
		report_error("B", "lstat", errno);
		return;
	}
	if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT)) {
		/* Nothing else is comparable; not even the type is optional. */
		report("type", "%s vs %s", type_name(a.st_mode), type_name(b.st_mode));
		return;
	}
	if (enabled[F_MODE] && (a.st_mode & 07777) != (b.st_mode & 07777))
		report("mode", "%04o vs %04o", a.st_mode & 07777, b.st_mode & 07777);
	cmp_u64(F_UID, a.st_uid, b.st_uid);
	cmp_u64(F_GID, a.st_gid, b.st_gid);
	cmp_u64(S_ISDIR(a.st_mode) ? F_DIRSIZE : F_SIZE, a.st_size, b.st_size);
	cmp_u64(F_NLINK, a.st_nlink, b.st_nlink);
	cmp_time(F_MTIME, &a.st_mtim, &b.st_mtim);
	cmp_time(F_CTIME, &a.st_ctim, &b.st_ctim);
	cmp_time(F_ATIME, &a.st_atim, &b.st_atim);
	cmp_u64(F_BLOCKS, a.st_blocks, b.st_blocks);
	cmp_u64(F_INO, a.st_ino, b.st_ino);
	if (enabled[F_RDEV] && (S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode)) &&
	    a.st_rdev != b.st_rdev)
		report("rdev", "%u:%u vs %u:%u", major(a.st_rdev), minor(a.st_rdev),
		       major(b.st_rdev), minor(b.st_rdev));
	if (enabled[F_TARGET] && S_ISLNK(a.st_mode))
		cmp_target(dfa, dfb, name_a);
	if (enabled[F_XATTR])
		cmp_xattrs(dfa, dfb, name_a);
	/* Directories cannot be hard-linked; their inodes are unique anyway. */
	if (!S_ISDIR(a.st_mode))
		seen = check_hardlink(&a, &b);
	if (enabled[F_CONTENT] && S_ISREG(a.st_mode) && !seen)
		cmp_content(dfa, dfb, name_a);
	if (S_ISDIR(a.st_mode)) {
		int fa = openat(dfa, name_a, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int fb = openat(dfb, name_b, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fa < 0 || fb < 0)
			report_error(fa < 0 ? "A" : "B", "open directory", errno);
		else
			compare_dir(fa, fb);
		if (fa >= 0)
			close(fa);
		if (fb >= 0)
			close(fb);
	}
}

static void compare_dir(int dfa, int dfb)
{
	struct names a, b;
	size_t i = 0, j = 0;
	int ra = read_names(dfa, &a), rb = read_names(dfb, &b);

	if (ra < 0 || rb < 0) {
		report_error(ra < 0 ? "A" : "B", "readdir", -(ra < 0 ? ra : rb));
		goto out;
	}
	while (i < a.n || j < b.n) {
		int c = i < a.n && j < b.n ? strcmp(a.v[i], b.v[j]) : i < a.n ? -1 : 1;
		size_t saved = path_push(c <= 0 ? a.v[i] : b.v[j]);

		if (c < 0) {
			n_entries++;
			report("presence", "present vs missing");
			i++;
		} else if (c > 0) {
			n_entries++;
			report("presence", "missing vs present");
			j++;
		} else {
			compare_entry(dfa, dfb, a.v[i], b.v[j]);
			i++;
			j++;
		}
		path_set(saved);
	}
out:
	free_names(&a);
	free_names(&b);
}

/* ---- options ---- */

static void usage(FILE *f)
{
	int i;

	fprintf(f,
		"usage: treecmp [OPTION]... DIR_A DIR_B\n"
		"Compare two directory trees: presence, type, mode, owner, size, link\n"
		"count, mtime/ctime (ns), hard-link identity, symlink targets, xattrs,\n"
		"device numbers and file contents.  Exit 0 identical, 1 different, 2 error.\n"
		"  --ignore=FIELD,...  skip these fields\n"
		"  --atime             compare atime too\n"
		"  --blocks            compare st_blocks too\n"
		"  --ino               compare inode numbers too\n"
		"  --read-holes        read ranges both sides report as holes\n"
		"  --now=SECONDS       times at or after SECONDS (since the epoch) on both\n"
		"                      sides are equal: the clock set them\n"
		"  --max-diffs=N       print at most N differences (0: all; default 50)\n"
		"fields:");
	for (i = 0; i < F_NFIELDS; i++)
		if (i != F_TYPE)
			fprintf(f, " %s", field_names[i]);
	fprintf(f, "\n");
}

static int parse_ignore(char *list)
{
	char *tok, *save = NULL;
	int i;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < F_NFIELDS; i++)
			if (i != F_TYPE && !strcmp(tok, field_names[i]))
				break;
		if (i == F_NFIELDS) {
			fprintf(stderr, "treecmp: unknown field '%s'\n", tok);
			return -1;
		}
		enabled[i] = false;
	}
	return 0;
}

/* One descriptor per directory level on each side: let deep trees have
 * as many as the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	enum { O_IGNORE = 256, O_ATIME, O_BLOCKS, O_INO, O_HOLES, O_MAX, O_NOW };
	static const struct option opts[] = {
		{ "ignore", required_argument, NULL, O_IGNORE },
		{ "atime", no_argument, NULL, O_ATIME },
		{ "blocks", no_argument, NULL, O_BLOCKS },
		{ "ino", no_argument, NULL, O_INO },
		{ "read-holes", no_argument, NULL, O_HOLES },
		{ "max-diffs", required_argument, NULL, O_MAX },
		{ "now", required_argument, NULL, O_NOW },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct stat sa, sb;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_IGNORE:
			if (parse_ignore(optarg) < 0)
				return 2;
			break;
		case O_ATIME:
			enabled[F_ATIME] = true;
			break;
		case O_BLOCKS:
			enabled[F_BLOCKS] = true;
			break;
		case O_INO:
			enabled[F_INO] = true;
			break;
		case O_HOLES:
			read_holes = true;
			break;
		case O_MAX:
			errno = 0;
			max_diffs = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg) {
				fprintf(stderr, "treecmp: bad --max-diffs '%s'\n", optarg);
				return 2;
			}
			break;
		case O_NOW:
			errno = 0;
			now_sec = strtoll(optarg, &end, 10);
			if (errno || *end || !*optarg || now_sec < 0) {
				fprintf(stderr, "treecmp: bad --now '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	/* Both roots must be directories we can read: anything else is a
	 * usage error, not a difference. */
	if (stat(argv[optind], &sa) < 0 || stat(argv[optind + 1], &sb) < 0) {
		fprintf(stderr, "treecmp: %s: %s\n",
			argv[optind + (access(argv[optind], F_OK) == 0)], strerror(errno));
		return 2;
	}
	if (!S_ISDIR(sa.st_mode) || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "treecmp: both arguments must be directories\n");
		return 2;
	}
	raise_nofile();
	buf_a = malloc(CHUNK);
	buf_b = malloc(CHUNK);
	if (!buf_a || !buf_b) {
		perror("treecmp");
		return 2;
	}
	/* The roots themselves are compared too (mode, owner, times, xattrs)
	 * and reported as "/". */
	path_push("");
	compare_entry(AT_FDCWD, AT_FDCWD, argv[optind], argv[optind + 1]);
	if (max_diffs && n_diffs > max_diffs)
		printf("... %llu more differences not shown\n", n_diffs - max_diffs);
	printf("%llu entries compared, %llu differences", n_entries, n_diffs);
	if (n_errors)
		printf(" (%llu errors)", n_errors);
	printf("\n");
	fflush(stdout);
	return n_errors ? 2 : n_diffs ? 1 : 0;
}
