/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directory listings through FUSE, with and without snapshots.
 *
 * An image with a hash-indexed directory of 20,000 entries (some deleted
 * again, names of many lengths) is served in-process with the FUSE
 * operations of libimgfs on a real mount, with the listing budget set so
 * that no directory fits, so that only some do, and at its default.  Each
 * time readdir(3) through the kernel must give exactly what debugfs ls
 * shows, in the same order and with the same inode numbers: debugfs reads
 * the image itself and is the independent truth.  telldir/seekdir must
 * resume where they left off, interleaved handles must not disturb each
 * other, and the budget must hold.
 *
 * Needs /dev/fuse and either root or unprivileged user namespaces; the
 * mounts live in a private mount namespace and vanish with the test.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fs.h"
#include "fuse/conn.h"
#include "fuse/ops.h"
#include "fuse/session.h"
#include "attach.h"
#include "mount.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

#define NENTRIES 20000
#define NDELETED 500

static char tmpdir[] = "/tmp/listing.XXXXXX";

/* ---- listings ---- */

struct listing {
	struct item { uint64_t ino; char *name; } *v;
	size_t n, cap;
};

static void listing_add(struct listing *l, uint64_t ino, const char *name)
{
	if (l->n == l->cap) {
		l->cap = l->cap * 2 + 256;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	l->v[l->n].ino = ino;
	l->v[l->n].name = strdup(name);
	l->n++;
}

static void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* What debugfs ls -p shows of @dir: "/ino/mode/uid/gid/name/size/"; ino 0 are index blocks. */
static int debugfs_listing(const char *img, const char *dir, struct listing *l)
{
	_cleanup_free_ char *cmd = xasprintf("debugfs -R 'ls -p %s' %s 2>/dev/null", dir, img);
	FILE *f = popen(cmd, "r");
	char line[1024];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long ino;
		char name[300];

		if (sscanf(line, "/%llu/%*o/%*[^/]/%*[^/]/%299[^/]/", &ino, name) == 2 && ino)
			listing_add(l, ino, name);
	}
	return pclose(f) == 0 ? 0 : -EIO;
}

/* The first difference between two listings, or -1. */
static ssize_t first_difference(const struct listing *a, size_t from_a, const struct listing *b,
				size_t from_b)
{
	size_t i;

	for (i = 0; from_a + i < a->n && from_b + i < b->n; i++)
		if (a->v[from_a + i].ino != b->v[from_b + i].ino ||
		    strcmp(a->v[from_a + i].name, b->v[from_b + i].name))
			return (ssize_t)i;
	return a->n - from_a == b->n - from_b ? -1 : (ssize_t)i;
}

static bool same(const char *what, const struct listing *got, size_t from_got,
		 const struct listing *want, size_t from_want)
{
	ssize_t d = first_difference(got, from_got, want, from_want);

	if (!ok(d < 0, "%s: %zu entries, as debugfs ls", what, got->n - from_got)) {
		size_t i = from_got + (size_t)d, j = from_want + (size_t)d;

		diag("  %zu entries, want %zu; at %zd: '%s' (%llu), want '%s' (%llu)",
		     got->n - from_got, want->n - from_want, d, i < got->n ? got->v[i].name : "(end)",
		     i < got->n ? (unsigned long long)got->v[i].ino : 0ULL,
		     j < want->n ? want->v[j].name : "(end)",
		     j < want->n ? (unsigned long long)want->v[j].ino : 0ULL);
		return false;
	}
	return true;
}

/* Read up to @max entries (0: all) of @d into @l. */
static void read_entries(DIR *d, struct listing *l, size_t max)
{
	struct dirent *de;

	for (size_t n = 0; (!max || n < max) && (de = readdir(d)); n++)
		listing_add(l, de->d_ino, de->d_name);
}

/* ---- an in-process server on a real FUSE mount ---- */

struct server {
	struct imgfs_fuse f;
	struct fuse_session *se;
	struct fuse_args args;
	pthread_t thread;
	char *mnt;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();

	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_session_loop_mt(s->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return NULL;
}

static int server_start(struct server *s, struct imgfs_fs *fs, size_t budget, const char *mnt)
{
	static char *argv[] = { "listing", NULL };
	_cleanup_free_ char *opts = NULL, *dev = NULL;
	int fd;

	memset(s, 0, sizeof(*s));
	s->f = (struct imgfs_fuse){
		.fs = fs,
		.timeout = 3600,
		.push = { .lock = PTHREAD_MUTEX_INITIALIZER },
		.listing_budget = budget,
	};
	s->mnt = strdup(mnt);
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	opts = xasprintf("fd=%d,rootmode=40000,user_id=%u,group_id=%u", fd, getuid(), getgid());
	if (mount("listing", mnt, "fuse.imgfs", MS_NOSUID | MS_NODEV | MS_RDONLY, opts) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	s->args = (struct fuse_args)FUSE_ARGS_INIT(1, argv);
	s->se = fuse_session_new(&s->args, &imgfs_fuse_ops, sizeof(imgfs_fuse_ops), &s->f);
	dev = xasprintf("/dev/fd/%d", fd);
	if (!s->se || fuse_session_mount(s->se, dev) != 0)
		abort();
	s->f.se = s->se;
	if (pthread_create(&s->thread, NULL, serve, s))
		abort();
	return 0;
}

static void server_stop(struct server *s)
{
	/* closedir's RELEASEDIR comes in the background: let it arrive first. */
	for (int ms = 0; atomic_load(&s->f.dirs_open) && ms < 10000; ms += 10)
		usleep(10000);
	ok(atomic_load(&s->f.dirs_open) == 0, "every directory handle released before unmounting");
	if (umount2(s->mnt, 0) < 0)
		umount2(s->mnt, MNT_DETACH);
	pthread_join(s->thread, NULL);
	fuse_session_destroy(s->se);
	fuse_opt_free_args(&s->args);
	imgfs_push_release(&s->f.push);
	free(s->mnt);
}

/* Log lines of the server (fd 2), kept in a file to look for the budget's. */
static char *logpath;

static bool logged(const char *phrase)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(logpath, "r");
	bool found;

	if (!f)
		return false;
	if (getdelim(&text, &len, '\0', f) < 0) {
		fclose(f);
		return false;
	}
	fclose(f);
	found = strstr(text, phrase) != NULL;
	return found;
}

/* ---- the cases ---- */

struct world {
	struct imgfs_fs *fs;
	char *mnt, *big, *small;
	struct listing truth_big, truth_small;
};

/* Every directory read whole, once each, on a fresh mount. */
static void whole_listing(struct world *w, size_t budget, const char *what, bool want_fallback)
{
	struct server s;
	struct listing got = { 0 }, got_small = { 0 };
	DIR *d;
	int r;

	if (truncate(logpath, 0) < 0 && errno != ENOENT)
		abort();
	r = server_start(&s, w->fs, budget, w->mnt);
	if (!ok(r == 0, "%s: mounted (%s)", what, strerror(-r)))
		return;
	d = opendir(w->big);
	if (ok(d != NULL, "%s: opendir of %zu entries", what, w->truth_big.n)) {
		read_entries(d, &got, 0);
		closedir(d);
	}
	same(what, &got, 0, &w->truth_big, 0);
	d = opendir(w->small);
	if (d) {
		read_entries(d, &got_small, 0);
		closedir(d);
	}
	same("  and a small directory", &got_small, 0, &w->truth_small, 0);
	ok(logged("reached their budget") == want_fallback, "%s: listed %s a snapshot", what,
	   want_fallback ? "without" : "with");
	ok(atomic_load(&s.f.listing_used) <= budget,
	   "%s: %zu bytes held after closing, within the budget of %zu", what,
	   atomic_load(&s.f.listing_used), budget);
	server_stop(&s);
	listing_free(&got);
	listing_free(&got_small);
}

/* telldir in the middle, read on, seekdir back: the same tail again. */
static void seek_back(struct world *w, size_t budget, const char *what)
{
	struct server s;
	struct listing head = { 0 }, tail = { 0 }, again = { 0 };
	long pos;
	DIR *d;

	if (server_start(&s, w->fs, budget, w->mnt) < 0 || !(d = opendir(w->big))) {
		ok(0, "%s: mounted and opened", what);
		return;
	}
	read_entries(d, &head, w->truth_big.n / 3);
	pos = telldir(d);
	read_entries(d, &tail, 0);
	seekdir(d, pos);
	read_entries(d, &again, 0);
	closedir(d);
	same(what, &tail, 0, &w->truth_big, head.n);
	same("  after seekdir back", &again, 0, &w->truth_big, head.n);
	server_stop(&s);
	listing_free(&head);
	listing_free(&tail);
	listing_free(&again);
}

/*
 * Three handles open at once, read a chunk each in turn: with room for
 * about one snapshot, the first has one and the others walk the image.
 */
static void interleaved(struct world *w, size_t budget, const char *what)
{
	struct server s;
	struct listing got[3] = { 0 };
	DIR *d[3];
	size_t open_ok = 0;

	if (truncate(logpath, 0) < 0 && errno != ENOENT)
		abort();
	if (server_start(&s, w->fs, budget, w->mnt) < 0) {
		ok(0, "%s: mounted", what);
		return;
	}
	for (int i = 0; i < 3; i++)
		open_ok += (d[i] = opendir(w->big)) != NULL;
	if (ok(open_ok == 3, "%s: three handles open", what)) {
		for (bool more = true; more;) {
			more = false;
			for (int i = 0; i < 3; i++) {
				size_t before = got[i].n;

				read_entries(d[i], &got[i], 1000 + 700 * i);
				more |= got[i].n > before;
			}
		}
		for (int i = 0; i < 3; i++) {
			_cleanup_free_ char *name = xasprintf("%s: handle %d", what, i + 1);

			same(name, &got[i], 0, &w->truth_big, 0);
			closedir(d[i]);
			listing_free(&got[i]);
		}
	}
	ok(logged("reached their budget"), "%s: some handles listed without a snapshot", what);
	server_stop(&s);
}

/* ---- setup ---- */

static int build_image(const char *img)
{
	_cleanup_free_ char *src = xasprintf("%s/src", tmpdir);
	_cleanup_free_ char *script = xasprintf("%s/rm.cmds", tmpdir);
	FILE *f;

	/* Names of 6 to 70 bytes, so entries of many record lengths. */
	if (run("mkdir -p %s/big %s/small && cd %s/big && "
		"awk 'BEGIN { for (i = 1; i <= %d; i++) { s = sprintf(\"e%%05d\", i); "
		"for (j = 0; j < i %% 65; j++) s = s \"-\"; print s } }' | xargs touch && "
		"cd ../small && touch a b c && mkdir d",
		src, src, src, NENTRIES))
		return -1;
	if (run("mkfs.ext4 -q -F -b 4096 -N %d -d %s %s 96M", NENTRIES + 100, src, img))
		return -1;
	/* Deleted entries leave gaps and merged records behind. */
	f = fopen(script, "w");
	if (!f)
		return -1;
	for (int i = 1; i <= NDELETED; i++) {
		int k = i * (NENTRIES / NDELETED) - 7;

		fprintf(f, "rm /big/e%05d", k);
		for (int j = 0; j < k % 65; j++)
			fputc('-', f);
		fputc('\n', f);
	}
	fclose(f);
	if (run("debugfs -w -f %s %s", script, img))
		return -1;
	/* A hash-indexed directory, as big directories are. */
	run("e2fsck -fyD %s", img);
	return run("e2fsck -fn %s", img) ? -1 : 0;
}

/* A private mount namespace, as root or in a user namespace of our own. */
static int enter_namespace(void)
{
	struct imgfs_error err = { 0 };

	if (geteuid() == 0) {
		if (unshare(CLONE_NEWNS) < 0)
			return -errno;
		return imgfs_make_mounts_private(&err);
	}
	return imgfs_unshare_user_mount(&err);
}

int main(void)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *newpath = xasprintf("%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
	_cleanup_free_ char *img = NULL;
	struct imgfs_image_options iopts = { 0 };
	struct imgfs_image *image = NULL;
	struct imgfs_error err = { 0 };
	struct world w = { 0 };
	int fd, saved_err, r;

	setenv("PATH", newpath, 1);
	setenv("PAGER", "cat", 1);
	setenv("DEBUGFS_PAGER", "__none__", 1);
	if (run("command -v mkfs.ext4 && command -v debugfs && command -v e2fsck"))
		skip_all("mkfs.ext4, debugfs and e2fsck (e2fsprogs) are needed");
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		skip_all("cannot open /dev/fuse: %s", strerror(errno));
	close(fd);
	if (!mkdtemp(tmpdir))
		skip_all("cannot create a temporary directory: %s", strerror(errno));
	img = xasprintf("%s/listing.img", tmpdir);
	logpath = xasprintf("%s/server.log", tmpdir);
	w.mnt = xasprintf("%s/mnt", tmpdir);
	w.big = xasprintf("%s/big", w.mnt);
	w.small = xasprintf("%s/small", w.mnt);
	mkdir(w.mnt, 0755);

	if (!ok(build_image(img) == 0, "image with a hash-indexed directory of %d entries built",
		NENTRIES - NDELETED))
		goto out;
	r = debugfs_listing(img, "/big", &w.truth_big);
	if (r == 0)
		r = debugfs_listing(img, "/small", &w.truth_small);
	if (!ok(r == 0 && w.truth_big.n == NENTRIES - NDELETED + 2,
		"debugfs lists %zu entries (with . and ..)", w.truth_big.n))
		goto out;
	r = enter_namespace();
	if (r < 0) {
		printf("ok %d - FUSE mounts # SKIP no private mount namespace: %s\n", ++tap_count,
		       strerror(-r));
		goto out;
	}
	imgfs_log_setup("listing", IMGFS_LOG_INFO, false);
	r = imgfs_image_open(img, &iopts, &image, &err);
	if (r == 0)
		r = imgfs_ext4_open(image, &w.fs, &err);
	if (!ok(r == 0, "image opens (%s)", r ? err.msg : "ok"))
		goto out;

	/* The server's log lines go to a file the cases look into. */
	fflush(stderr);
	saved_err = dup(2);
	fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0 || dup2(fd, 2) < 0)
		abort();
	close(fd);

	whole_listing(&w, 1, "a budget of 1 byte", true);
	whole_listing(&w, IMGFS_LISTING_BUDGET_DEFAULT, "the default budget", false);
	seek_back(&w, 1, "without a snapshot, telldir/seekdir");
	seek_back(&w, IMGFS_LISTING_BUDGET_DEFAULT, "with a snapshot, telldir/seekdir");
	interleaved(&w, 2 << 20, "a budget of 2 MiB, three handles at once");

	dup2(saved_err, 2);
	close(saved_err);
	imgfs_fs_close(w.fs);
	imgfs_image_close(image);
out:
	listing_free(&w.truth_big);
	listing_free(&w.truth_small);
	free(w.mnt);
	free(w.big);
	free(w.small);
	rm_tree(tmpdir);
	free(logpath);
	return done_testing();
}
