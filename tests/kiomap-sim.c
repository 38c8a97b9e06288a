/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kiomap-sim: plays the kernel's side of the FUSE protocol, fuse-iomap
 * included, over a socket, against a real imgfs-server.
 *
 * No kernel has fuse-iomap yet (DESIGN.md), so this program is the kernel:
 * it starts imgfs-server on one end of a SOCK_SEQPACKET socketpair (one
 * packet per FUSE message, as /dev/fuse has), sends INIT as a kernel
 * with the v7 iomap patches would (7.99), and then the requests such a kernel sends,
 * checking every reply the way the kernel checks it.  The truth it checks
 * against is independent of imgfs: the kernel's own mount of the same
 * image (@kdir) for contents, inline flags and sizes, and the block size
 * and UUID the filesystem tools report.
 *
 *   kiomap-sim check  OPTIONS            every file of one image
 *   kiomap-sim refused OPTIONS          a block device whose registration
 *                                        fails: every file through READ
 *   kiomap-sim mainline OPTIONS         a 7.46 kernel, whose INIT bit 43
 *                                        is not fuse-iomap: every file
 *                                        through READ
 *   kiomap-sim rounds OPTIONS PATH=DESC... requests to read files through
 *                                        each path (userspace, iomap, iomap
 *                                        with upserts), per GiB
 *
 * Options: --server=PATH --image=FILE --fstype=ext4|xfs [--offset=BYTES]
 * --size=BYTES --kernel-dir=DIR --block-size=N --uuid=UUID [--seed=N]
 * [--label=TEXT] [--no-sandbox].
 *
 * Output: "ok - TEXT", "not ok - TEXT" and "# TEXT" lines; the shell test
 * (tests/kiomap.sh) numbers them.  One line per family of checks, with the
 * first failures as diagnostics.  Exit 0 if all passed, 1 if not, 2 on a
 * usage error.
 *
 * The simulator never waits forever: every expected message is polled
 * for with a time limit, and the servers it started are killed and reaped
 * when it ends.
 *
 * This file holds the checks (per file, per directory) and the modes;
 * kiomap-sess.c is the kernel's side of the connection they go through
 * (sessions, notifications, the mapping cache, mapping validation), and
 * kiomap-sim.h what the two share.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "kiomap-sim.h"
#include "util.h"

#define MAX_COUNT (64ULL << 20)	/* longest BEGIN a random test asks for */
#define DATA_WINDOW (256U << 10)	/* bytes checked around a random BEGIN */
#define BIG_DIR 300		/* entries above which a directory is sampled */
#define BIG_DIR_EVERY 64	/* ... one file in this many checked in full */

/* ---- the checks for one regular file ---- */

struct prng {
	uint64_t x;
};

static uint64_t prng_next(struct prng *p)
{
	p->x ^= p->x << 13;
	p->x ^= p->x >> 7;
	p->x ^= p->x << 17;
	return p->x;
}

/* A number below @n (0 for @n 0). */
static uint64_t prng_below(struct prng *p, uint64_t n)
{
	return n ? prng_next(p) % n : 0;
}

static void prng_seed(struct prng *p, uint64_t seed, const char *path)
{
	p->x = seed * 0x9e3779b97f4a7c15ULL + 0x1234567;
	for (; *path; path++)
		p->x = (p->x ^ (unsigned char)*path) * 0x100000001b3ULL;
	if (!p->x)
		p->x = 1;
}

/*
 * Where the kernel finds a mapping: in its cache when the session uploads
 * mappings (no request, and the data was checked on upload), else from a
 * BEGIN.  0, 1 if it came from the cache, or -1 after a failure.
 */
static int kernel_map(struct sess *s, struct node *n, uint32_t opflags, uint64_t pos,
		      uint64_t count, struct fuse_iomap_io *m)
{
	const struct fuse_iomap_io *c = s->batch ? cache_find(&n->cache, pos) : NULL;
	bool retried;

	if (c) {
		*m = *c;
		return 1;
	}
	if (do_begin(s, n, opflags, pos, count, m, &retried) < 0)
		return -1;
	return retried;
}

/* BEGINs from 0 to EOF following the mapping ends; the mappings' data too. */
static size_t walk_file(struct sess *s, struct node *n)
{
	uint64_t pos = 0;
	size_t count = 0;

	cur = F_WALK;
	do {
		struct fuse_iomap_io m;
		int r = kernel_map(s, n, 0, pos, MAX(n->isize - MIN(pos, n->isize), 1), &m);

		if (r < 0 || (r == 0 && check_data(s->o, n, &m, pos, n->isize, "walk") < 0))
			break;
		pos = map_end(&m);
		count++;
	} while (pos < n->isize && count < 100000);
	return count;
}

static void random_begins(struct sess *s, struct node *n, struct prng *p, int times)
{
	uint64_t bs = node_bs(s, n), max = (uint64_t)s->maxbytes;

	cur = F_RANDOM;
	for (int i = 0; i < times; i++) {
		uint64_t pos, count, choice = prng_below(p, 100);
		uint32_t opflags = prng_below(p, 4) == 0 ? FUSE_IOMAP_OP_REPORT : 0;
		struct fuse_iomap_io m;

		if (choice < 40)
			pos = prng_below(p, n->isize);
		else if (choice < 55)
			pos = prng_below(p, n->isize / bs + 1) * bs;
		else if (choice < 70)
			pos = n->isize + prng_below(p, 4 * bs) - MIN(n->isize, 2 * bs);
		else if (choice < 85)
			pos = n->isize + prng_below(p, MAX_COUNT);
		else if (choice < 95)
			pos = prng_below(p, 1ULL << 42);
		else
			pos = 0;
		choice = prng_below(p, 4);
		count = choice == 0 ? 1 : choice == 1 ? 1 + prng_below(p, 4 * bs) :
			choice == 2 ? 1 + prng_below(p, MAX_COUNT) : MAX_COUNT;
		if (pos >= max)
			pos = max - 1;
		count = MIN(count, max - pos);
		if (kernel_map(s, n, opflags, pos, count, &m) == 0)
			check_data(s->o, n, &m, pos, pos + MIN(count, (uint64_t)DATA_WINDOW),
				   "random BEGIN");
	}
}

/* OPEN in an iomap session: mappings from 0 arrive before the reply. */
static void open_file(struct sess *s, struct node *n)
{
	struct fuse_open_in in = { .flags = O_RDONLY };
	struct fuse_open_out out;
	size_t batch = s->batch < 0 ? DEFAULT_BATCH : (size_t)s->batch;
	uint64_t expect = 0;
	struct reply r;

	cur = F_UPSERT;
	checked();
	n->cache.n = 0;
	if (sess_call(s, FUSE_OPEN, n->nodeid, &in, sizeof(in), &r) < 0)
		return;
	if (r.error == -ENOSYS) {
		/* fs/fuse/file.c: ENOSYS to OPEN sets fc->no_open for good. */
		fail("%s: OPEN %s answered ENOSYS: the kernel then never sends OPEN again, so no "
		     "later open uploads mappings", sess_label(s), n->path);
		return;
	}
	if (r.error || r.len < sizeof(out)) {
		fail("%s: OPEN %s: error %d, %zu bytes", sess_label(s), n->path, r.error, r.len);
		return;
	}
	memcpy(&out, r.data, sizeof(out));
	if (n->want_iomap && !(out.open_flags & FOPEN_KEEP_CACHE))
		fail("%s: OPEN %s: open_flags 0x%x without FOPEN_KEEP_CACHE", sess_label(s),
		     n->path, out.open_flags);
	if (!n->want_iomap || batch == 0) {
		if (s->nups)
			fail("%s: OPEN %s: %zu upserts (iomap %d, batch %zu)", sess_label(s),
			     n->path, s->nups, n->want_iomap, batch);
		return;
	}
	if (s->nups > batch)
		fail("%s: OPEN %s: %zu upserts, the batch is %zu", sess_label(s), n->path, s->nups,
		     batch);
	for (size_t i = 0; i < s->nups; i++) {
		const struct fuse_iomap_io *m = &s->ups[i].read;

		if (s->ups[i].nodeid != n->nodeid || m->offset != expect ||
		    (i > 0 && m->offset >= n->isize)) {
			fail("%s: OPEN %s: upsert %zu %s (node %" PRIu64 "), expected one from %" PRIu64
			     " of node %" PRIu64 " before EOF %" PRIu64, sess_label(s), n->path, i,
			     map_str(m), s->ups[i].nodeid, expect, n->nodeid, n->isize);
			return;
		}
		expect = map_end(m);
	}
	if (s->nups < batch && expect < n->isize)
		fail("%s: OPEN %s: %zu upserts end at %" PRIu64 ", before EOF %" PRIu64,
		     sess_label(s), n->path, s->nups, expect, n->isize);
}

/* END answered 0; the error paths of a read-only server. */
static void end_checks(struct sess *s, struct node *n)
{
	static const uint32_t writes[] = {
		FUSE_IOMAP_OP_WRITE, FUSE_IOMAP_OP_ZERO, FUSE_IOMAP_OP_UNSHARE,
		FUSE_IOMAP_OP_WRITE | FUSE_IOMAP_OP_DIRECT,
	};
	struct fuse_iomap_end_in end = { .attr_ino = n->attr_ino, .pos = 0, .count = 4096 };
	struct fuse_iomap_ioend_in ioend = { .attr_ino = n->attr_ino, .pos = 0, .written = 4096,
					     .new_addr = FUSE_IOMAP_NULL_ADDR };
	struct reply r;

	cur = F_END;
	if (do_begin(s, n, 0, 0, 4096, &end.map, NULL) < 0)
		return;
	end.count = MIN(end.map.length, (uint64_t)4096);
	checked();
	if (sess_call(s, FUSE_IOMAP_END, n->nodeid, &end, sizeof(end), &r) == 0 &&
	    (r.error || r.len))
		fail("%s: END %s: error %d, %zu bytes (want 0, none)", sess_label(s), n->path,
		     r.error, r.len);
	checked();
	if (sess_call(s, FUSE_IOMAP_IOEND, n->nodeid, &ioend, sizeof(ioend), &r) == 0 &&
	    r.error >= 0)
		fail("%s: IOEND %s answered success", sess_label(s), n->path);
	for (size_t i = 0; i < ARRAY_SIZE(writes); i++) {
		struct fuse_iomap_begin_in in = { .opflags = writes[i], .attr_ino = n->attr_ino,
						  .count = 4096 };

		checked();
		if (sess_call(s, FUSE_IOMAP_BEGIN, n->nodeid, &in, sizeof(in), &r) == 0 &&
		    r.error != -EROFS)
			fail("%s: BEGIN %s opflags 0x%x: error %d, want EROFS", sess_label(s),
			     n->path, writes[i], r.error);
	}
}

/* Many requests in flight at once, at random positions inside the file. */
static void pipelined(struct sess *s, struct node *n)
{
	uint64_t pos[64];
	struct prng p;

	prng_seed(&p, s->o->seed + 1, n->path);
	for (unsigned i = 0; i < ARRAY_SIZE(pos); i++)
		pos[i] = prng_below(&p, n->isize);
	pipelined_begins(s, n, pos, ARRAY_SIZE(pos));
	sess_alive(s);
}

/* Each must get an error reply (same unique) and change nothing. */
static void malformed(struct sess *s, struct node *file, struct node *dir)
{
	struct fuse_iomap_begin_in ok = { .attr_ino = file->attr_ino, .pos = 0, .count = 4096 };
	struct fuse_iomap_end_in end = { .attr_ino = file->attr_ino, .count = 4096 };
	struct fuse_iomap_config_in cfg = { .flags = ALL_CONFIG_FLAGS, .maxbytes = INT64_MAX };
	struct {
		const char *what;
		uint32_t opcode;
		uint64_t nodeid;
		struct fuse_iomap_begin_in in;
		const void *raw;
		size_t len;
	} cases[] = {
		{ "BEGIN with 16 bytes", FUSE_IOMAP_BEGIN, file->nodeid, ok, NULL, 16 },
		{ "BEGIN with no payload", FUSE_IOMAP_BEGIN, file->nodeid, ok, NULL, 0 },
		{ "END with 40 bytes", FUSE_IOMAP_END, file->nodeid, ok, &end, 40 },
		{ "CONFIG with 8 bytes", FUSE_IOMAP_CONFIG, 0, ok, &cfg, 8 },
		{ "BEGIN reserved 1", FUSE_IOMAP_BEGIN, file->nodeid, ok, NULL, 32 },
		{ "BEGIN count 0", FUSE_IOMAP_BEGIN, file->nodeid, ok, NULL, 32 },
		{ "BEGIN pos 2^63", FUSE_IOMAP_BEGIN, file->nodeid, ok, NULL, 32 },
		{ "BEGIN pos+count overflows", FUSE_IOMAP_BEGIN, file->nodeid, ok, NULL, 32 },
		{ "BEGIN ending past 2^63", FUSE_IOMAP_BEGIN, file->nodeid, ok, NULL, 32 },
		{ "BEGIN unknown node", FUSE_IOMAP_BEGIN, 0x7ffffff0ULL, ok, NULL, 32 },
		{ "BEGIN node 0", FUSE_IOMAP_BEGIN, 0, ok, NULL, 32 },
		{ "BEGIN attr_ino of another inode", FUSE_IOMAP_BEGIN, file->nodeid, ok, NULL, 32 },
		{ "BEGIN on a directory", FUSE_IOMAP_BEGIN, dir->nodeid, ok, NULL, 32 },
	};
	struct reply r;

	cases[4].in.reserved = 1;
	cases[5].in.count = 0;
	cases[6].in.pos = 1ULL << 63;
	cases[7].in.pos = 8192;
	cases[7].in.count = UINT64_MAX - 4096;
	cases[8].in.pos = (1ULL << 63) - 4096;
	cases[8].in.count = 8192;
	cases[11].in.attr_ino = file->attr_ino + 1;
	cases[12].in.attr_ino = dir->attr_ino;
	cur = F_MALFORMED;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		checked();
		if (sess_call(s, cases[i].opcode, cases[i].nodeid,
			      cases[i].raw ? cases[i].raw : &cases[i].in, cases[i].len, &r) < 0)
			return;
		if (r.error >= 0)
			fail("%s: %s answered success (%zu bytes)", sess_label(s), cases[i].what,
			     r.len);
	}
	sess_alive(s);
}

/* READ through the userspace path; stores may come at any time. */
static void read_file(struct sess *s, struct node *n, struct prng *p)
{
	uint64_t starts[8];
	int nstarts = 0, kfd;

	cur = F_READ;
	starts[nstarts++] = 0;
	if (n->isize > (8U << 20)) {
		/* Big sparse files: a sample of windows, the end too. */
		starts[nstarts++] = 1 << 20;
		starts[nstarts++] = n->isize - MIN(n->isize, (uint64_t)s->window / 2);
		for (int i = 0; i < 3; i++)
			starts[nstarts++] = prng_below(p, n->isize);
	}
	for (int i = 0; i < nstarts; i++) {
		uint64_t pos = starts[i], stop = n->isize > (8U << 20) ? pos + 2 * s->window : n->isize;

		while (pos < MIN(stop, n->isize)) {
			struct fuse_read_in in = { .offset = pos, .size = s->window };
			struct reply r;
			size_t want = (size_t)MIN((uint64_t)s->window, n->isize - pos);

			checked();
			if (sess_call(s, FUSE_READ, n->nodeid, &in, sizeof(in), &r) < 0)
				return;
			if (r.error || r.len != want) {
				fail("%s: READ %s at %" PRIu64 ": error %d, %zu bytes, want %zu",
				     sess_label(s), n->path, pos, r.error, r.len, want);
				return;
			}
			kfd = kernel_fd(n);
			if (kfd < 0 || read_full(kfd, data_buf[1], r.len, (off_t)pos) < 0 ||
			    memcmp(data_buf[1], r.data, r.len)) {
				fail("%s: READ %s at %" PRIu64 ": bytes differ from the kernel's",
				     sess_label(s), n->path, pos);
				return;
			}
			pos += r.len;
		}
	}
}

/* ---- the whole tree ---- */

struct image_run {
	const struct opts *o;
	struct sess plain, iomap, nobatch;
	bool refused;		/* plain serves no file through iomap: every one through READ */
	unsigned long files, full;
	struct node *some_file;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the kernel's directory @path, sorted; NULL-terminated. */
static char **kernel_names(const struct opts *o, const char *path, size_t *count)
{
	int fd = openat(o->kdir_fd, *path ? path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				abort();
		}
		if (!(v[n++] = strdup(e->d_name)))
			abort();
	}
	closedir(d);
	if (!v && !(v = calloc(1, sizeof(*v))))
		abort();
	qsort(v, n, sizeof(*v), cmp_names);
	v[n] = NULL;
	*count = n;
	return v;
}

static void free_names(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static char *join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
		abort();
	return p;
}

/*
 * READDIRPLUS of @dir: every entry's flag as LOOKUP would give it.  The
 * node of kernel name @names[i] goes to @ids[i] (if @ids).
 */
static void readdirplus(struct sess *s, struct node *dir, char **names, size_t expect,
			uint64_t *ids)
{
	struct fuse_open_in oin = { .flags = O_RDONLY | O_DIRECTORY };
	struct fuse_open_out oout;
	struct fuse_release_in rin = { 0 };
	uint64_t off = 0;
	size_t seen = 0;
	struct reply r;

	cur = F_ATTR;
	if (sess_call(s, FUSE_OPENDIR, dir->nodeid, &oin, sizeof(oin), &r) < 0)
		return;
	if (r.error || r.len < sizeof(oout)) {
		fail("%s: OPENDIR %s: error %d", sess_label(s), dir->path, r.error);
		return;
	}
	memcpy(&oout, r.data, sizeof(oout));
	for (;;) {
		struct fuse_read_in in = { .fh = oout.fh, .offset = off, .size = 65536 };
		size_t at = 0;

		if (sess_call(s, FUSE_READDIRPLUS, dir->nodeid, &in, sizeof(in), &r) < 0)
			return;
		if (r.error) {
			fail("%s: READDIRPLUS %s: error %d", sess_label(s), dir->path, r.error);
			break;
		}
		if (!r.len)
			break;
		while (at + FUSE_NAME_OFFSET_DIRENTPLUS <= r.len) {
			struct fuse_direntplus d;
			char name[256];
			struct node *n;
			char *path;

			memcpy(&d, r.data + at, sizeof(d));
			if (d.dirent.namelen > 255 ||
			    at + FUSE_DIRENTPLUS_SIZE(&d) > r.len) {
				fail("%s: READDIRPLUS %s: a broken entry", sess_label(s), dir->path);
				goto release;
			}
			memcpy(name, r.data + at + FUSE_NAME_OFFSET_DIRENTPLUS, d.dirent.namelen);
			name[d.dirent.namelen] = '\0';
			at += FUSE_DIRENTPLUS_SIZE(&d);
			off = d.dirent.off;
			if (!strcmp(name, ".") || !strcmp(name, "..") || !d.entry_out.nodeid)
				continue;
			seen++;
			if (ids) {
				const char *key = name;
				char **hit = bsearch(&key, names, expect, sizeof(*names), cmp_names);

				if (hit)
					ids[hit - names] = d.entry_out.nodeid;
			}
			path = join(dir->path, name);
			n = node_get(d.entry_out.nodeid, path);
			if (!n->known && learn_truth(n, s->o) < 0)
				fail("%s: READDIRPLUS %s: the kernel has no %s", sess_label(s),
				     dir->path, name);
			else
				learn_attr(s, n, &d.entry_out.attr, "READDIRPLUS");
			free(path);
		}
		if (at == 0)
			break;
	}
	if (seen != expect)
		fail("%s: READDIRPLUS %s: %zu entries, the kernel lists %zu", sess_label(s),
		     dir->path, seen, expect);
release:
	rin.fh = oout.fh;
	sess_call(s, FUSE_RELEASEDIR, dir->nodeid, &rin, sizeof(rin), &r);
}

/* Every check on one regular file; @full: all of them, else the cheap ones. */
static void check_file(struct image_run *ir, struct node *n, bool full)
{
	struct prng p;
	size_t maps;

	ir->files++;
	prng_seed(&p, ir->o->seed, n->path);
	if (ir->refused) {
		/* Every file through READ, as if iomap had never been offered. */
		if (!ir->some_file && n->isize >= 8192)
			ir->some_file = n;
		cur = F_READ;
		read_file(&ir->plain, n, &p);
		return;
	}
	if (!n->want_iomap) {
		/* An inline file: nothing to map; OPEN must not end OPENs. */
		if (full && ir->iomap.iomap)
			open_file(&ir->iomap, n);
		cur = F_READ;
		read_file(&ir->plain, n, &p);
		return;
	}
	if (!ir->iomap.iomap)
		return;
	maps = walk_file(&ir->nobatch, n);
	if (!full)
		return;
	random_begins(&ir->nobatch, n, &p, 4 + (int)MIN(maps * 2, (size_t)24));
	ir->full++;
	if (!ir->some_file && n->isize >= 8192)
		ir->some_file = n;
	cur = F_ATTR;
	do_getattr(&ir->iomap, n);
	open_file(&ir->iomap, n);
	walk_file(&ir->iomap, n);
	random_begins(&ir->iomap, n, &p, 4 + (int)MIN(maps, (size_t)12));
	read_file(&ir->plain, n, &p);
}

/* Walk the kernel's tree: LOOKUP each name from its parent, as path walks do. */
static void check_dir(struct image_run *ir, struct node *dir)
{
	uint64_t *ids;
	size_t count = 0;
	char **names = kernel_names(ir->o, dir->path, &count);

	if (!names) {
		cur = F_ATTR;
		fail("%s: cannot list it in the kernel's mount", dir->path);
		return;
	}
	ids = calloc(count + 1, sizeof(*ids));
	if (!ids)
		abort();
	readdirplus(&ir->plain, dir, names, count, NULL);
	if (ir->iomap.iomap)
		readdirplus(&ir->iomap, dir, names, count, ids);
	for (size_t i = 0; names[i]; i++) {
		char *path = join(dir->path, names[i]);
		bool full = count <= BIG_DIR || i % BIG_DIR_EVERY == 0;
		struct stat st;
		struct node *n = NULL;

		if (fstatat(ir->o->kdir_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			free(path);
			continue;
		}
		cur = F_ATTR;
		/*
		 * Names in a huge directory: READDIRPLUS gave their attributes
		 * (as `ls -l` would); a sample is looked up as well.
		 */
		if (!full && !S_ISDIR(st.st_mode) && ids[i])
			n = node_find(ids[i]);
		if (!n && do_lookup(ir->iomap.iomap ? &ir->iomap : &ir->plain, dir->nodeid,
				    names[i], path, &n) < 0) {
			free(path);
			continue;
		}
		if (S_ISDIR(st.st_mode))
			check_dir(ir, n);
		else if (S_ISREG(st.st_mode))
			check_file(ir, n, full);
		free(path);
		if (ir->iomap.broken || ir->plain.broken || ir->nobatch.broken)
			break;
	}
	free(ids);
	free_names(names);
}

/* Without iomap: no flags (READDIRPLUS did those), OPEN ENOSYS, BEGIN refused. */
static void plain_checks(struct sess *s, struct node *file)
{
	struct fuse_open_in oin = { .flags = O_RDONLY };
	struct fuse_iomap_begin_in bin = { .attr_ino = file->attr_ino, .count = 4096 };
	struct reply r;

	cur = F_PLAIN;
	checked();
	if (sess_call(s, FUSE_OPEN, file->nodeid, &oin, sizeof(oin), &r) == 0 &&
	    r.error != -ENOSYS)
		fail("%s: OPEN %s: error %d, want ENOSYS", sess_label(s), file->path, r.error);
	checked();
	if (sess_call(s, FUSE_IOMAP_BEGIN, file->nodeid, &bin, sizeof(bin), &r) == 0 &&
	    r.error >= 0)
		fail("%s: IOMAP_BEGIN answered without iomap negotiated", sess_label(s));
	sess_alive(s);
}

static int run_check(const struct opts *o)
{
	struct image_run ir = { .o = o };
	struct node *root;

	sess_start(&ir.plain, o, "plain", false, -1);
	sess_start(&ir.iomap, o, "iomap", true, -1);
	sess_start(&ir.nobatch, o, "iomap batch 0", true, 0);
	cur = F_INIT;
	checked();
	if (ir.plain.init_len && ir.iomap.init_len) {
		struct fuse_init_out a = ir.plain.init_out, b = ir.iomap.init_out;

		/* The iomap session's minor is checked to be 99 (sess_start). */
		b.flags2 &= ~(uint32_t)(FUSE_IOMAP >> 32);
		b.minor = a.minor;
		if (ir.plain.init_len != ir.iomap.init_len || memcmp(&a, &b, sizeof(a)) ||
		    memcmp(ir.plain.init + sizeof(a), ir.iomap.init + sizeof(a),
			   ir.plain.init_len - sizeof(a)))
			fail("INIT replies differ beyond the iomap bit and minor: %zu bytes flags "
			     "0x%x/0x%x vs %zu bytes flags 0x%x/0x%x", ir.plain.init_len, a.flags,
			     a.flags2, ir.iomap.init_len, ir.iomap.init_out.flags,
			     ir.iomap.init_out.flags2);
		if (ir.nobatch.init_len != ir.iomap.init_len ||
		    memcmp(ir.nobatch.init, ir.iomap.init, ir.iomap.init_len))
			fail("INIT replies of two iomap sessions differ");
		printf("# %s: INIT reply: minor %u, flags 0x%x, flags2 0x%x, max_pages %u, "
		       "max_write %u\n", o->label, ir.iomap.init_out.minor, ir.iomap.init_out.flags,
		       ir.iomap.init_out.flags2, ir.iomap.init_out.max_pages,
		       ir.iomap.init_out.max_write);
	}
	if (ir.iomap.iomap)
		printf("# %s: CONFIG: flags 0x%" PRIx64 ", block size %u, maxbytes %" PRId64
		       ", max_links %u, time_gran %u\n", o->label, ir.iomap.cfg.flags,
		       ir.iomap.cfg.s_blocksize, ir.iomap.cfg.s_maxbytes, ir.iomap.cfg.s_max_links,
		       ir.iomap.cfg.s_time_gran);
	root = node_get(FUSE_ROOT_ID, "");
	if (learn_truth(root, o) == 0) {
		cur = F_ATTR;
		do_getattr(ir.iomap.iomap ? &ir.iomap : &ir.plain, root);
		check_dir(&ir, root);
	}
	if (ir.some_file) {
		plain_checks(&ir.plain, ir.some_file);
		if (ir.iomap.iomap) {
			end_checks(&ir.iomap, ir.some_file);
			malformed(&ir.iomap, ir.some_file, root);
			pipelined(&ir.nobatch, ir.some_file);
			sess_alive(&ir.nobatch);
		}
	} else {
		cur = F_WALK;
		fail("no regular file of 8 KiB or more was checked in full");
	}
	printf("# %s: %lu regular files, %lu checked in full; %" PRIu64 " NOTIFY_STORE seen\n",
	       o->label, ir.files, ir.full, ir.plain.stores);
	sess_stop(&ir.plain);
	sess_stop(&ir.iomap);
	sess_stop(&ir.nobatch);
	if (sess_start(&ir.plain, o, "peer leaves", true, -1) == 0)
		sess_leave(&ir.plain, 200);
	else
		sess_stop(&ir.plain);
	return report(o->label);
}

/* Every file of the tree through ir->plain's READ, none marked. */
static void walk_userspace(struct image_run *ir)
{
	struct node *root = node_get(FUSE_ROOT_ID, "");

	if (learn_truth(root, ir->o) == 0) {
		cur = F_ATTR;
		do_getattr(&ir->plain, root);
		check_dir(ir, root);
	}
	if (ir->some_file) {
		plain_checks(&ir->plain, ir->some_file);
	} else {
		cur = F_READ;
		fail("no regular file of 8 KiB or more was read");
	}
	printf("# %s: %lu regular files read through READ\n", ir->o->label, ir->files);
}

/*
 * The kernel offers iomap and the image is a block device, but the
 * device registration fails (a socket takes no ioctl, as a kernel that
 * refuses the device would): INIT still grants iomap, CONFIG is answered,
 * and then no file is marked, OPEN stays ENOSYS, BEGIN is refused and
 * every file reads through READ.
 */
static int run_refused(const struct opts *o)
{
	struct image_run ir = { .o = o, .refused = true };

	sess_start(&ir.plain, o, "refused device", true, -1);
	cur = F_INIT;
	checked();
	if (!ir.plain.iomap)
		fail("refused device: a block device image is not offered iomap in INIT");
	/* The connection speaks iomap, but no file may use it. */
	ir.plain.iomap = false;
	walk_userspace(&ir);
	sess_stop(&ir.plain);
	return report(o->label);
}

/*
 * A mainline 7.46 kernel (Linux 7.3) sets INIT bit 43 for
 * FUSE_HAS_IO_URING_BUFPOOL.  With a device the server could map, it must
 * still not take that for fuse-iomap: its reply must be the one a 7.99
 * kernel not offering iomap gets, bit 43 clear, and then no attribute is
 * marked, OPEN stays ENOSYS, BEGIN is refused and every file reads
 * through READ.
 */
static int run_mainline(const struct opts *o)
{
	struct image_run ir = { .o = o, .refused = true };
	struct sess v7;

	sess_start_at(&ir.plain, o, "7.46 kernel, bit 43 set", MAINLINE_MINOR, true, -1);
	sess_start(&v7, o, "7.99 kernel, bit 43 clear", false, -1);
	cur = F_INIT;
	checked();
	if (!ir.plain.init_len || !v7.init_len)
		fail("no INIT reply to compare");
	else if (ir.plain.init_len != v7.init_len || memcmp(ir.plain.init, v7.init, v7.init_len))
		fail("the 7.46 INIT with bit 43 gets another reply (%zu bytes, minor %u, flags "
		     "0x%x/0x%x) than a 7.99 INIT without it (%zu bytes, minor %u, flags 0x%x/0x%x)",
		     ir.plain.init_len, ir.plain.init_out.minor, ir.plain.init_out.flags,
		     ir.plain.init_out.flags2, v7.init_len, v7.init_out.minor, v7.init_out.flags,
		     v7.init_out.flags2);
	sess_stop(&v7);
	printf("# %s: 7.46 INIT reply: minor %u, flags 0x%x, flags2 0x%x\n", o->label,
	       ir.plain.init_out.minor, ir.plain.init_out.flags, ir.plain.init_out.flags2);
	/* Whatever the reply said, a 7.46 kernel has no iomap inodes. */
	ir.plain.iomap = false;
	walk_userspace(&ir);
	sess_stop(&ir.plain);
	return report(o->label);
}

/* ---- round trips ---- */

struct rounds {
	uint64_t reads, begins_nobatch, begins, opens, bytes;
};

/* (a) the userspace path: READ per window, stored ranges are cache hits. */
static uint64_t rounds_plain(struct sess *s, struct node *n)
{
	uint64_t pos = 0, reads = 0;
	int kfd = kernel_fd(n);

	n->stored.n = 0;
	while (pos < n->isize && !s->broken) {
		struct fuse_read_in in = { .offset = pos, .size = s->window };
		size_t want = (size_t)MIN((uint64_t)s->window, n->isize - pos);
		struct reply r;
		uint64_t end;

		sess_drain(s);
		end = ranges_end(&n->stored, pos);
		if (end > pos) {
			pos = MIN(end, n->isize);
			continue;
		}
		reads++;
		checked();
		if (sess_call(s, FUSE_READ, n->nodeid, &in, sizeof(in), &r) < 0)
			break;
		if (r.error || r.len != want) {
			fail("%s: READ %s at %" PRIu64 ": error %d, %zu bytes, want %zu", s->name,
			     n->path, pos, r.error, r.len, want);
			break;
		}
		if (kfd < 0 || read_full(kfd, data_buf[1], r.len, (off_t)pos) < 0 ||
		    memcmp(data_buf[1], r.data, r.len)) {
			fail("%s: READ %s at %" PRIu64 ": bytes differ from the kernel's", s->name,
			     n->path, pos);
			break;
		}
		pos += r.len;
	}
	return reads;
}

/*
 * (b), (c): the kernel's iomap_iter over windows of max_pages: a BEGIN at
 * each window and at each mapping end inside one, unless the mapping
 * cache (@cached) has the position.
 */
static uint64_t rounds_iomap(struct sess *s, struct node *n, bool cached)
{
	uint64_t w, begins = 0;

	for (w = 0; w < n->isize && !s->broken; w += s->window) {
		uint64_t wend = MIN(w + s->window, n->isize), pos = w;

		while (pos < wend) {
			const struct fuse_iomap_io *c = cached ? cache_find(&n->cache, pos) : NULL;
			struct fuse_iomap_io m;
			bool retried;

			if (c) {
				pos = MIN(map_end(c), wend);
				continue;
			}
			begins++;
			if (do_begin(s, n, 0, pos, wend - pos, &m, &retried) < 0)
				return begins;
			if (!retried && check_data(s->o, n, &m, pos, wend, "round trip") < 0)
				return begins;
			pos = MIN(map_end(&m), wend);
		}
	}
	return begins;
}

static double per_gib(uint64_t count, uint64_t bytes)
{
	return bytes ? (double)count * (double)(1ULL << 30) / (double)bytes : 0;
}

static int run_rounds(const struct opts *o, int argc, char **argv)
{
	struct sess plain, nobatch, iomap;
	struct rounds total = { 0 };

	sess_start(&plain, o, "plain", false, -1);
	sess_start(&nobatch, o, "iomap batch 0", true, 0);
	sess_start(&iomap, o, "iomap", true, -1);
	plain.check_store_data = true;
	cur = F_ROUNDS;
	for (int i = 0; i < argc && iomap.iomap && nobatch.iomap; i++) {
		char *path = strdup(argv[i]), *desc = strchr(path, '=');
		struct rounds r = { 0 };
		struct node *n = NULL;

		if (!path)
			abort();
		if (desc)
			*desc++ = '\0';
		/* Each session looks the file up, as each mount would. */
		if (do_lookup(&plain, FUSE_ROOT_ID, path, path, &n) < 0 ||
		    do_lookup(&nobatch, FUSE_ROOT_ID, path, path, &n) < 0 ||
		    do_lookup(&iomap, FUSE_ROOT_ID, path, path, &n) < 0) {
			free(path);
			continue;
		}
		/* Attributes were checked against the iomap session last. */
		cur = F_ROUNDS;
		r.bytes = n->isize;
		r.reads = rounds_plain(&plain, n);
		r.begins_nobatch = rounds_iomap(&nobatch, n, false);
		open_file(&iomap, n);
		cur = F_ROUNDS;
		r.opens = 1;
		r.begins = rounds_iomap(&iomap, n, true);
		checked();
		if (!r.reads || !r.begins_nobatch || r.opens + r.begins > r.begins_nobatch)
			fail("%s: READ %" PRIu64 ", BEGIN %" PRIu64 ", OPEN+BEGIN %" PRIu64
			     " with upserts: want all > 0 and upserts <= plain iomap", path, r.reads,
			     r.begins_nobatch, r.opens + r.begins);
		printf("# round trips per GiB, %s %s: userspace %.0f READ, iomap %.0f BEGIN, "
		       "iomap+upsert %.0f (1 OPEN + %" PRIu64 " BEGIN for %" PRIu64 " MiB)\n",
		       o->label, desc ? desc : path, per_gib(r.reads, r.bytes),
		       per_gib(r.begins_nobatch, r.bytes), per_gib(r.opens + r.begins, r.bytes),
		       r.begins, r.bytes >> 20);
		total.reads += r.reads;
		total.begins_nobatch += r.begins_nobatch;
		total.begins += r.begins;
		total.opens += r.opens;
		total.bytes += r.bytes;
		free(path);
	}
	if (!iomap.iomap || !nobatch.iomap)
		fail("iomap was not granted: no round trips to count");
	printf("# round trips per GiB, %s all files: userspace %.0f READ, iomap %.0f BEGIN, "
	       "iomap+upsert %.0f (OPEN + BEGIN)\n", o->label, per_gib(total.reads, total.bytes),
	       per_gib(total.begins_nobatch, total.bytes),
	       per_gib(total.opens + total.begins, total.bytes));
	sess_alive(&plain);
	sess_alive(&nobatch);
	sess_alive(&iomap);
	sess_stop(&plain);
	sess_stop(&nobatch);
	sess_stop(&iomap);
	return report(o->label);
}

/* ---- test files ---- */

static void usage(FILE *f);

/*
 * interleave CHUNK BYTES FILE...: write BYTES of pseudo-random data to each
 * FILE, a CHUNK to each in turn, with O_DIRECT so that the filesystem
 * allocates at each write: files written together get interleaved extents,
 * a file written alone a contiguous run.
 */
static int run_interleave(int argc, char **argv)
{
	uint64_t chunk, bytes, done;
	struct prng p = { 0x243f6a8885a308d3ULL };
	char *buf;
	int *fds;

	if (argc < 3 || parse_u64(argv[0], &chunk) < 0 || parse_u64(argv[1], &bytes) < 0 ||
	    !chunk || chunk % 4096 || chunk > (64U << 20)) {
		usage(stderr);
		return 2;
	}
	argc -= 2;
	argv += 2;
	fds = calloc((size_t)argc, sizeof(*fds));
	if (!fds || posix_memalign((void **)&buf, 4096, (size_t)chunk))
		abort();
	for (int i = 0; i < argc; i++) {
		fds[i] = open(argv[i], O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
		if (fds[i] < 0) {
			fprintf(stderr, "kiomap-sim: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
	}
	for (done = 0; done < bytes; done += chunk)
		for (int i = 0; i < argc; i++) {
			for (size_t k = 0; k < chunk / 8; k++)
				((uint64_t *)buf)[k] = prng_next(&p);
			if (write_all(fds[i], buf, (size_t)chunk) < 0) {
				fprintf(stderr, "kiomap-sim: writing %s: %s\n", argv[i],
					strerror(errno));
				return 1;
			}
		}
	for (int i = 0; i < argc; i++)
		if (fsync(fds[i]) < 0 || close(fds[i]) < 0)
			return 1;
	free(buf);
	free(fds);
	return 0;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f, "usage: kiomap-sim check|refused|mainline|rounds --server=PATH --image=FILE\n"
		"         --fstype=ext4|xfs [--offset=BYTES] --size=BYTES --kernel-dir=DIR\n"
		"         --block-size=N --uuid=UUID [--seed=N] [--label=TEXT] [--no-sandbox]\n"
		"         [PATH=DESC...]\n"
		"       kiomap-sim interleave CHUNK BYTES FILE...\n");
}

static int parse_uuid(const char *s, uint8_t out[16])
{
	int n = 0;

	for (; *s && n < 32; s++) {
		int v;

		if (*s == '-')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			v = (*s | 0x20) - 'a' + 10;
		else
			return -EINVAL;
		out[n / 2] = (uint8_t)(n % 2 ? out[n / 2] | v : v << 4);
		n++;
	}
	return n == 32 && !*s ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "image", required_argument, NULL, 'i' },
		{ "fstype", required_argument, NULL, 't' },
		{ "offset", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 'z' },
		{ "kernel-dir", required_argument, NULL, 'k' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "seed", required_argument, NULL, 'r' },
		{ "label", required_argument, NULL, 'l' },
		{ "no-sandbox", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .seed = 1, .image_fd = -1, .kdir_fd = -1 };
	bool have_uuid = false;
	uint64_t bs = 0;
	const char *mode;
	struct stat st;
	int c, r = 0;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "interleave"))
		return run_interleave(argc - 2, argv + 2);
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o.server = optarg; break;
		case 'i': o.image = optarg; break;
		case 't': o.fstype = optarg; break;
		case 'o': r = parse_u64(optarg, &o.offset); break;
		case 'z': r = parse_u64(optarg, &o.size); break;
		case 'k': o.kdir = optarg; break;
		case 'b': r = parse_u64(optarg, &bs); break;
		case 'u': r = parse_uuid(optarg, o.uuid); have_uuid = r == 0; break;
		case 'r': r = parse_u64(optarg, &o.seed); break;
		case 'l': o.label = optarg; break;
		case 'n': o.no_sandbox = true; break;
		default: usage(stderr); return 2;
		}
		if (r < 0) {
			fprintf(stderr, "kiomap-sim: bad value: %s\n", optarg);
			return 2;
		}
	}
	if (!o.server || !o.image || !o.fstype || !o.size || !o.kdir || !bs || bs > 65536 ||
	    !have_uuid || (strcmp(mode, "check") && strcmp(mode, "rounds") &&
			   strcmp(mode, "refused") && strcmp(mode, "mainline"))) {
		usage(stderr);
		return 2;
	}
	o.blocksize = (uint32_t)bs;
	if (!o.label)
		o.label = o.image;
	o.image_fd = open(o.image, O_RDONLY | O_CLOEXEC);
	o.kdir_fd = open(o.kdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o.image_fd < 0 || o.kdir_fd < 0 || fstat(o.image_fd, &st) < 0) {
		fprintf(stderr, "kiomap-sim: cannot open %s or %s: %s\n", o.image, o.kdir,
			strerror(errno));
		return 2;
	}
	/* A block device's size is not in st_size. */
	o.image_size = S_ISBLK(st.st_mode) ? (uint64_t)lseek(o.image_fd, 0, SEEK_END) :
					     (uint64_t)st.st_size;
	signal(SIGPIPE, SIG_IGN);
	sess_init(&o);
	o.refused = !strcmp(mode, "refused");
	if (!strcmp(mode, "check"))
		r = run_check(&o);
	else if (o.refused)
		r = run_refused(&o);
	else if (!strcmp(mode, "mainline"))
		r = run_mainline(&o);
	else
		r = run_rounds(&o, argc - optind, argv + optind);
	return r ? 1 : 0;
}
