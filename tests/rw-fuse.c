/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE side of a read-write mount, on a real mount of an ext4 image
 * opened read-write and served in-process with libimgfs's operations:
 *
 * - statfs shows no read-only flag, reads still read what the image
 *   holds, fsync and fdatasync of files and directories reach the backend;
 * - lookup counts: every entry the kernel is given is counted, FORGET
 *   (the kernel dropping names the server invalidates) gives them back and asks the backend
 *   to evict, and unmount evicts what is left;
 * - a read-only backend answers every change with EROFS, even on a mount
 *   the kernel lets write to;
 * - corruption met on a read-write mount stops every change (EROFS)
 *   while fsync still works, and the image says it has errors after.
 *
 * Changes the backend does not make yet (its write ops arrive one by
 * one) are reported as TODO, not failures, until it does.  The kernel's
 * ext4 and e2fsck are the judges of what ends up in the image.
 *
 * Needs /dev/fuse, e2fsprogs and root or unprivileged user namespaces;
 * the mounts live in a private mount namespace and vanish with the test.
 */
#include "config.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "fs.h"
#include "fuse/conn.h"
#include "fuse/nodes.h"
#include "fuse/ops.h"
#include "fuse/session.h"
#include "attach.h"
#include "mount.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

#define NFILES 20
#define DATA_SIZE (300U << 10)

static char tmpdir[] = "/tmp/rw-fuse.XXXXXX";
static char *img, *mnt;

/* ---- the backend, with its evictions counted ---- */

static struct imgfs_write_ops counted_ops;
static const struct imgfs_write_ops *real_ops;
static atomic_uint evictions;

static int counted_evict(struct imgfs_fs *fs, uint64_t ino)
{
	atomic_fetch_add(&evictions, 1);
	return real_ops->evict ? real_ops->evict(fs, ino) : 0;
}

/* Open the image, read-write or not; a read-write one gets counted evictions. */
static int open_fs(bool rw, struct imgfs_image **image, struct imgfs_fs **fs)
{
	struct imgfs_image_options opts = { .writable = rw };
	struct imgfs_error err = { 0 };
	int r = imgfs_image_open(img, &opts, image, &err);

	if (r == 0)
		r = imgfs_fs_open(*image, fs, &err);
	if (r < 0) {
		diag("cannot open %s: %s", img, err.msg);
		return r;
	}
	if ((*fs)->write_ops) {
		real_ops = (*fs)->write_ops;
		counted_ops = *real_ops;
		counted_ops.evict = counted_evict;
		(*fs)->write_ops = &counted_ops;
	}
	atomic_store(&evictions, 0);
	return 0;
}

/* ---- an in-process server on a real FUSE mount ---- */

struct server {
	struct imgfs_fuse f;
	struct fuse_session *se;
	struct fuse_args args;
	pthread_t thread;
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

/* Mount read-write at the kernel's level, whatever the backend serves. */
static int server_start(struct server *s, struct imgfs_fs *fs, bool writeback)
{
	static char *argv[] = { "rw-fuse", NULL };
	_cleanup_free_ char *opts = NULL, *dev = NULL;
	int fd;

	memset(s, 0, sizeof(*s));
	s->f = (struct imgfs_fuse){
		.fs = fs,
		.timeout = 3600,
		.push = { .lock = PTHREAD_MUTEX_INITIALIZER },
		.nodes = { .lock = PTHREAD_MUTEX_INITIALIZER },
		.listing_budget = IMGFS_LISTING_BUDGET_DEFAULT,
		.writeback_cache = writeback,
	};
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	opts = xasprintf("fd=%d,rootmode=40000,user_id=%u,group_id=%u,default_permissions", fd,
			 getuid(), getgid());
	if (mount("rw-fuse", mnt, "fuse.imgfs", MS_NOSUID | MS_NODEV, opts) < 0) {
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

/* Unmount and end the session as the server does: the backend is still open. */
static void server_stop(struct server *s)
{
	for (int ms = 0; atomic_load(&s->f.dirs_open) && ms < 10000; ms += 10)
		usleep(10000);
	if (umount2(mnt, 0) < 0)
		umount2(mnt, MNT_DETACH);
	pthread_join(s->thread, NULL);
	fuse_session_destroy(s->se);
	fuse_opt_free_args(&s->args);
	imgfs_push_release(&s->f.push);
	imgfs_nodes_release(&s->f.nodes);
}

static char *path_of(const char *name)
{
	return xasprintf("%s/%s", mnt, name);
}

/*
 * A change the backend may not make yet: EOPNOTSUPP (op missing) or
 * EROFS (its mapping refuses writes) is a TODO until it does.
 */
static void change_ok(int r, int err, const char *what)
{
	if (r == 0)
		ok(1, "%s", what);
	else if (err == EOPNOTSUPP || err == EROFS)
		printf("not ok %d - %s # TODO the backend does not make it yet (%s)\n", ++tap_count,
		       what, strerror(err));
	else
		ok(0, "%s: %s", what, strerror(err));
}

/* ---- the image ---- */

static unsigned char data_byte(size_t i)
{
	return (unsigned char)(i * 131 + i / 4099);
}

static int build_image(void)
{
	_cleanup_free_ char *src = xasprintf("%s/src", tmpdir);
	_cleanup_free_ char *data = xasprintf("%s/src/data", tmpdir);
	_cleanup_free_ unsigned char *buf = malloc(DATA_SIZE);
	int fd;

	if (!buf || run("mkdir -p %s/sub && cd %s && for i in $(seq -w 0 %d); do "
			"echo file $i > f$i; done && echo bad > bad", src, src, NFILES - 1))
		return -1;
	for (size_t i = 0; i < DATA_SIZE; i++)
		buf[i] = data_byte(i);
	fd = open(data, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write_all(fd, buf, DATA_SIZE) < 0)
		return -1;
	close(fd);
	return run("mkfs.ext4 -q -F -b 4096 -O metadata_csum -d %s %s 32M", src, img);
}

static int fsck_clean(void)
{
	return run("e2fsck -fn %s", img);
}

/* ---- the cases ---- */

/* statfs, reads, fsync, and lookup counts on a healthy read-write mount. */
static void healthy(void)
{
	_cleanup_free_ char *data = path_of("data"), *sub = path_of("sub");
	_cleanup_free_ unsigned char *buf = malloc(DATA_SIZE);
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	struct server s;
	struct statvfs sv;
	size_t counted;
	unsigned evicted;
	int fd, r, same = 1;

	if (!ok(open_fs(true, &image, &fs) == 0 && fs->write_ops, "the image opens read-write"))
		return;
	r = server_start(&s, fs, true);
	if (!ok(r == 0, "mounted (%s)", strerror(-r)))
		goto out;

	ok(statvfs(mnt, &sv) == 0 && !(sv.f_flag & ST_RDONLY),
	   "statfs of a read-write mount has no ST_RDONLY");
	fd = open(data, O_RDWR);
	ok(fd >= 0 && read_full(fd, buf, DATA_SIZE, 0) == 0, "a file reads whole through the mount");
	for (size_t i = 0; i < DATA_SIZE && same; i++)
		same = buf && buf[i] == data_byte(i);
	ok(same, "... and reads what the image holds");
	ok(fd >= 0 && fsync(fd) == 0, "fsync of a file");
	ok(fd >= 0 && fdatasync(fd) == 0, "fdatasync of a file");
	if (fd >= 0)
		close(fd);
	fd = open(sub, O_RDONLY | O_DIRECTORY);
	ok(fd >= 0 && fsync(fd) == 0, "fsync of a directory");
	if (fd >= 0)
		close(fd);

	/* Entries given, counted; the kernel's forgetting gives them back. */
	for (int i = 0; i < NFILES; i++) {
		_cleanup_free_ char *p = xasprintf("%s/f%02d", mnt, i);
		struct stat st;

		if (stat(p, &st) < 0)
			diag("stat %s: %s", p, strerror(errno));
	}
	counted = imgfs_nodes_count(&s.f);
	ok(counted >= NFILES, "%zu nodes counted after looking up %d files", counted, NFILES);
	/* Drop the names from the kernel's cache: unused, their inodes go, with a FORGET each. */
	for (int i = 0; i < NFILES; i++) {
		char name[8];

		snprintf(name, sizeof(name), "f%02d", i);
		fuse_lowlevel_notify_inval_entry(s.se, FUSE_ROOT_ID, name, strlen(name));
	}
	for (int ms = 0; imgfs_nodes_count(&s.f) > 2 && ms < 5000; ms += 10)
		usleep(10000);
	evicted = atomic_load(&evictions);
	ok(imgfs_nodes_count(&s.f) < counted && evicted >= NFILES,
	   "the kernel forgot them: %zu left counted, %u evictions asked", imgfs_nodes_count(&s.f),
	   evicted);
	/* READDIRPLUS entries count as lookups. */
	run("ls -l %s", mnt);
	ok(imgfs_nodes_count(&s.f) >= NFILES, "a listing with attributes counts its %zu entries",
	   imgfs_nodes_count(&s.f));

	/* What the backend may not do yet: TODO until it does. */
	{
		_cleanup_free_ char *newdir = path_of("newdir"), *f0 = path_of("f00");

		r = mkdir(newdir, 0755);
		change_ok(r, errno, "mkdir");
		/* Under the writeback cache a write's failure shows at fsync. */
		fd = open(f0, O_WRONLY);
		r = fd < 0 ? -1 : (pwrite(fd, "hello", 5, 0) == 5 && fsync(fd) == 0 ? 0 : -1);
		change_ok(r, errno, "write to a file, and fsync");
		if (fd >= 0)
			close(fd);
		r = chmod(f0, 0600);
		change_ok(r, errno, "chmod");
	}

	counted = imgfs_nodes_count(&s.f);
	evicted = atomic_load(&evictions);
	server_stop(&s);
	ok(imgfs_nodes_count(&s.f) == 0 && atomic_load(&evictions) >= evicted + counted,
	   "unmount evicts every node still counted (%zu)", counted);
out:
	imgfs_fs_close(fs);
	imgfs_image_close(image);
	ok(fsck_clean() == 0, "e2fsck -fn finds nothing wrong after the mount");
}

/* A read-only backend under a mount the kernel lets write to: EROFS throughout. */
static void read_only_backend(void)
{
	_cleanup_free_ char *newdir = path_of("newdir2"), *f0 = path_of("f00");
	_cleanup_free_ char *f1 = path_of("f01"), *moved = path_of("moved");
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	struct server s;
	struct stat st;
	int fd;

	if (!ok(open_fs(false, &image, &fs) == 0 && !fs->write_ops, "the image opens read-only"))
		return;
	if (!ok(server_start(&s, fs, true) == 0, "mounted"))
		goto out;
	ok(mkdir(newdir, 0755) < 0 && errno == EROFS, "mkdir is EROFS");
	ok(creat(moved, 0644) < 0 && errno == EROFS, "create is EROFS");
	ok(rename(f0, moved) < 0 && errno == EROFS, "rename is EROFS");
	ok(unlink(f1) < 0 && errno == EROFS, "unlink is EROFS");
	ok(chmod(f0, 0600) < 0 && errno == EROFS, "chmod is EROFS");
	ok(truncate(f0, 0) < 0 && errno == EROFS, "truncate is EROFS");
	fd = open(f0, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, "x", 1, 0) < 0 && errno == EROFS, "write is EROFS");
	if (fd >= 0) {
		/* No write reached the image, so there is nothing to write back either. */
		close(fd);
	}
	ok(stat(f0, &st) == 0 && st.st_size == 8, "the file is as it was");
	ok(imgfs_nodes_count(&s.f) == 0, "a read-only mount counts no lookups");
	server_stop(&s);
out:
	imgfs_fs_close(fs);
	imgfs_image_close(image);
}

/* Corruption met while mounted read-write stops writes, as errors=remount-ro. */
static void corruption(void)
{
	_cleanup_free_ char *bad = path_of("bad"), *f0 = path_of("f00"), *f1 = path_of("f01");
	_cleanup_free_ char *newdir = path_of("newdir3");
	_cleanup_free_ char *state = NULL;
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	struct server s;
	struct stat st;
	int fd;

	if (!ok(run("debugfs -w -R 'sif /bad mode 0170777' %s", img) == 0,
		"one inode given a mode of no type"))
		return;
	if (!ok(open_fs(true, &image, &fs) == 0 && fs->write_ops, "the image opens read-write"))
		return;
	if (!ok(server_start(&s, fs, true) == 0, "mounted"))
		goto out;
	ok(stat(bad, &st) < 0 && errno == EIO, "stat of the corrupt inode is EIO");
	ok(atomic_load(&fs->writes_stopped), "... and writes stopped");
	ok(mkdir(newdir, 0755) < 0 && errno == EROFS, "mkdir is EROFS after it");
	ok(chmod(f0, 0600) < 0 && errno == EROFS, "chmod is EROFS after it");
	fd = open(f1, O_RDONLY);
	ok(fd >= 0 && fsync(fd) == 0, "fsync still syncs what is there");
	if (fd >= 0)
		close(fd);
	/* The writeback cache takes the write; its failure shows at fsync. */
	fd = open(f0, O_WRONLY);
	ok(fd >= 0 && (pwrite(fd, "x", 1, 0) < 0 || fsync(fd) < 0) && errno == EROFS,
	   "write is EROFS after it (at fsync under the writeback cache)");
	if (fd >= 0)
		close(fd);
	server_stop(&s);
out:
	imgfs_fs_close(fs);
	imgfs_image_close(image);
	state = capture("dumpe2fs -h %s 2>/dev/null | grep '^Filesystem state:'", img);
	ok(state && strstr(state, "with errors"), "the image records the errors: %s",
	   state ? strtok(state, "\n") : "(no dumpe2fs)");
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
	int fd, r;

	setenv("PATH", newpath, 1);
	if (run("command -v mkfs.ext4 && command -v debugfs && command -v e2fsck"))
		skip_all("mkfs.ext4, debugfs and e2fsck (e2fsprogs) are needed");
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		skip_all("cannot open /dev/fuse: %s", strerror(errno));
	close(fd);
	if (!mkdtemp(tmpdir))
		skip_all("cannot create a temporary directory: %s", strerror(errno));
	img = xasprintf("%s/rw.img", tmpdir);
	mnt = xasprintf("%s/mnt", tmpdir);
	mkdir(mnt, 0755);
	imgfs_log_setup("rw-fuse", IMGFS_LOG_ERR, false);

	if (!ok(build_image() == 0, "image built"))
		goto out;
	r = enter_namespace();
	if (r < 0) {
		printf("ok %d - FUSE mounts # SKIP no private mount namespace: %s\n", ++tap_count,
		       strerror(-r));
		goto out;
	}
	healthy();
	read_only_backend();
	corruption();
out:
	rm_tree(tmpdir);
	free(img);
	free(mnt);
	return done_testing();
}
