/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Absurd sizes on disk are refused, not allocated.
 *
 * Each case takes a small image made by mkfs.ext4 -d, gives one field an
 * absurd value (debugfs -w set_inode_field/set_super_value, or bytes
 * written where debugfs says the structure is) and checks that the one
 * backend operation reading it fails with EUCLEAN (EIO to users) or a
 * refusal at open, with a log line naming what was wrong.  The operation
 * runs in a child whose address space is limited to a little more than
 * it already uses: an allocation sized by the bad field would fail there
 * with ENOMEM (or kill the child) instead.  AddressSanitizer reserves
 * terabytes of address space, so sanitizer builds count instead: the
 * allocator's hooks track the child's peak of live heap bytes, and a
 * peak above the same headroom fails the case as ENOMEM would.
 * Needs no root.
 */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fs.h"
#include "image.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* What a child may allocate on top of what it has mapped already. */
#define HEADROOM (96UL << 20)

#ifdef UNDER_ASAN
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);

static size_t heap_live, heap_peak;

static void count_malloc(const volatile void *p, size_t size)
{
	heap_live += size;
	if (heap_live > heap_peak)
		heap_peak = heap_live;
}

static void count_free(const volatile void *p)
{
	if (p)
		heap_live -= __sanitizer_get_allocated_size(p);
}
#endif

static char tmpdir[] = "/tmp/unit-bounds.XXXXXX";

static void write_bytes(const char *path, uint64_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || pwrite(fd, data, len, (off_t)off) != (ssize_t)len)
		abort();
	close(fd);
}

static uint32_t read_le32(const char *path, uint64_t off)
{
	uint8_t b[4];
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pread(fd, b, 4, (off_t)off) != 4)
		abort();
	close(fd);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Byte offset of @path's inode in @img ("located at block B, offset 0xO" from imap). */
static uint64_t inode_offset(const char *img, const char *path, unsigned bs)
{
	_cleanup_free_ char *out = capture("debugfs -R 'imap %s' %s 2>/dev/null", path, img);
	const char *p = strstr(out, "located at block ");
	unsigned long long blk = 0, off = 0;

	if (!p || sscanf(p, "located at block %llu, offset %llx", &blk, &off) != 2)
		abort();
	return blk * bs + off;
}

/* ---- running one operation in a limited child ---- */

#ifndef UNDER_ASAN
/* Bytes of address space this process has mapped (statm's first field). */
static unsigned long mapped_bytes(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%lu", &pages) != 1)
		abort();
	fclose(f);
	return pages * (unsigned long)sysconf(_SC_PAGESIZE);
}
#endif

struct outcome {
	int r;			/* the operation's result; INT_MIN: the child died */
	int sig;
	char log[1024];		/* what it logged */
};

/*
 * Open @img and run @op on it in a child limited to HEADROOM more address
 * space; its log lines are collected in @out->log.
 */
static void in_child(const char *img, int (*op)(struct imgfs_fs *fs, const char *img),
		     struct outcome *out)
{
	_cleanup_free_ char *logpath = xasprintf("%s/child.log", tmpdir);
	pid_t pid;
	int st, fd;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		struct imgfs_image *image = NULL;
		struct imgfs_fs *fs = NULL;
		struct imgfs_error err = { 0 };
		struct stat sb;
		int r, ifd;

		fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(250);
#ifndef UNDER_ASAN
		{
			struct rlimit rl;

			rl.rlim_cur = rl.rlim_max = mapped_bytes() + HEADROOM;
			if (setrlimit(RLIMIT_AS, &rl) < 0)
				_exit(251);
		}
#else
		__sanitizer_install_malloc_and_free_hooks(count_malloc, count_free);
#endif
		ifd = open(img, O_RDONLY | O_CLOEXEC);
		if (ifd < 0 || fstat(ifd, &sb) < 0)
			_exit(252);
		r = imgfs_image_from_fd(ifd, -1, img, 0, (uint64_t)sb.st_size, "ext4", false, &image,
					&err);
		if (r == 0) {
			r = imgfs_ext4_open(image, &fs, &err);
			if (r < 0)
				fprintf(stderr, "open: %s\n", err.msg);
			else
				r = op(fs, img);
		}
#ifdef UNDER_ASAN
		if (heap_peak > HEADROOM) {
			fprintf(stderr, "peak heap use %zu MiB, above the %lu MiB allowed\n",
				heap_peak >> 20, HEADROOM >> 20);
			r = -ENOMEM;
		}
#endif
		_exit(r < 0 ? -r : 0);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st)) {
		out->r = INT32_MIN;
		out->sig = WTERMSIG(st);
	} else {
		out->r = -WEXITSTATUS(st);
	}
	fd = open(logpath, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, out->log, sizeof(out->log) - 1);
		out->log[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	/* One line is the contract; keep it for the log. */
	if (out->log[0])
		diag("logged: %s", strtok(out->log, "\n"));
}

/* ---- the operations ---- */

static int lookup_path(struct imgfs_fs *fs, const char *name, uint64_t *ino)
{
	return fs->ops->lookup(fs, fs->root_ino, name, strlen(name), ino);
}

static int op_readlink(struct imgfs_fs *fs, const char *img)
{
	char buf[4096];
	uint64_t ino;
	size_t len;
	int r = lookup_path(fs, "slowlink", &ino);

	return r < 0 ? r : fs->ops->readlink(fs, ino, buf, sizeof(buf), &len);
}

static int count_entry(void *ctx, const struct imgfs_dirent *de)
{
	(*(size_t *)ctx)++;
	return 0;
}

static int op_readdir(struct imgfs_fs *fs, const char *img)
{
	uint64_t ino;
	size_t n = 0;
	int r = lookup_path(fs, "dir", &ino);

	return r < 0 ? r : fs->ops->readdir(fs, ino, 0, count_entry, &n);
}

static int op_lookup_in_dir(struct imgfs_fs *fs, const char *img)
{
	uint64_t dir, ino;
	int r = lookup_path(fs, "dir", &dir);

	return r < 0 ? r : fs->ops->lookup(fs, dir, "f1", 2, &ino);
}

static int op_iomap(struct imgfs_fs *fs, const char *img)
{
	struct imgfs_iomap map;
	uint64_t ino;
	int r = lookup_path(fs, "file", &ino);

	return r < 0 ? r : fs->iomap_ops->iomap_begin(fs, ino, 1 << 20, 4096, 0, &map);
}

static int op_listxattr(struct imgfs_fs *fs, const char *img)
{
	char buf[65536];
	uint64_t ino;
	size_t len;
	int r = lookup_path(fs, "xfile", &ino);

	return r < 0 ? r : fs->ops->listxattr(fs, ino, buf, sizeof(buf), &len);
}

static int op_getxattr(struct imgfs_fs *fs, const char *img)
{
	char buf[65536];
	uint64_t ino;
	size_t len;
	int r = lookup_path(fs, "xfile", &ino);

	return r < 0 ? r : fs->ops->getxattr(fs, ino, "user.big", buf, sizeof(buf), &len);
}

static int op_nothing(struct imgfs_fs *fs, const char *img)
{
	return 0;
}

/* ---- images ---- */

/* A small tree: a slow symlink, a directory, a file of several extents, a file with xattrs. */
static int make_tree(const char *src)
{
	_cleanup_free_ char *target = malloc(201);

	memset(target, 'x', 200);
	target[200] = '\0';
	return run("mkdir -p %s/dir && for i in 1 2 3 4 5; do echo $i >%s/dir/f$i; done && "
		   "head -c 4194304 /dev/urandom >%s/file && echo x >%s/xfile && "
		   "ln -s %s %s/slowlink", src, src, src, src, target, src);
}

static char *base_image(const char *name, const char *mkfs, const char *size)
{
	char *img = xasprintf("%s/%s.img", tmpdir, name);
	_cleanup_free_ char *src = xasprintf("%s/src", tmpdir);

	if (run("test -d %s", src) && make_tree(src))
		abort();
	if (run("mkfs.ext4 -q -F %s -d %s %s %s", mkfs, src, img, size)) {
		free(img);
		return NULL;
	}
	return img;
}

/* A copy of @base changed by the debugfs -w commands @cmds (may be NULL). */
static char *variant(const char *base, const char *name, const char *cmds)
{
	char *img = xasprintf("%s/%s.img", tmpdir, name);

	if (run("cp --sparse=always %s %s", base, img))
		abort();
	if (cmds) {
		_cleanup_free_ char *script = xasprintf("%s/cmds", tmpdir);
		FILE *f = fopen(script, "w");

		if (!f)
			abort();
		fputs(cmds, f);
		fclose(f);
		run("debugfs -w -f %s %s", script, img);
	}
	return img;
}

struct expect {
	int r;			/* wanted result */
	const char *log;	/* a phrase the log line must hold */
};

static void check(const char *what, const char *img, int (*op)(struct imgfs_fs *, const char *),
		  struct expect want)
{
	struct outcome o;

	in_child(img, op, &o);
	if (o.r == INT32_MIN) {
		ok(0, "%s: the child died of signal %d", what, o.sig);
		return;
	}
	if (!ok(o.r == want.r && (!want.log || strstr(o.log, want.log)),
		"%s: %s%s", what, strerror(-want.r),
#ifdef UNDER_ASAN
		", with a small peak of heap use"
#else
		", within a small address-space limit"
#endif
		))
		diag("  got %d (%s), want %d; log: %s", o.r, strerror(-o.r), want.r, o.log);
}

static void test_inodes(void)
{
	_cleanup_free_ char *base = base_image("base", "-b 4096 -I 256 -O large_dir,^metadata_csum",
					       "32M");
	char *img;

	if (!ok(base != NULL, "base image built"))
		return;
	check("the unchanged image opens, lists, reads", base, op_readdir, (struct expect){ 0 });

	/* A slow symlink claiming 2 GiB (and 1 TiB, with large_dir's i_size_high). */
	img = variant(base, "symlink", "sif /slowlink size 0x7fffffff\n");
	check("a symlink of i_size 2^31-1", img, op_readlink,
	      (struct expect){ -EUCLEAN, "symlink length" });
	free(img);
	img = variant(base, "symlink-hi", "sif /slowlink size_hi 256\n");
	check("a symlink of i_size 2^40+200", img, op_readlink,
	      (struct expect){ -EUCLEAN, "symlink length" });
	free(img);

	/* A directory of 1 TiB in a 32 MiB filesystem. */
	img = variant(base, "dirsize", "sif /dir size_hi 256\n");
	check("a directory of i_size 2^40 (readdir)", img, op_readdir,
	      (struct expect){ -EUCLEAN, "directory size" });
	check("a directory of i_size 2^40 (lookup)", img, op_lookup_in_dir,
	      (struct expect){ -EUCLEAN, "directory size" });
	free(img);

	/* Extent root: eh_max 4 and depth 65535; then 65535 entries with eh_max 4. */
	img = variant(base, "depth", "sif /file block[1] 0xffff0004\n");
	check("an extent tree of depth 65535", img, op_iomap,
	      (struct expect){ -EUCLEAN, "depth 65535" });
	free(img);
	img = variant(base, "entries", "sif /file block[0] 0xfffff30a\n");
	check("an extent root with 65535 entries", img, op_iomap,
	      (struct expect){ -EUCLEAN, "extent" });
	free(img);

	/* An in-inode xattr whose value claims 4 GiB. */
	img = variant(base, "xattr-size", "ea_set /xfile user.big value\n");
	{
		uint64_t entry = inode_offset(img, "/xfile", 4096) + 128 + 32 + 4;
		uint8_t v[4];

		/* The first entry after i_extra_isize (32) and the magic; e_value_size at +8. */
		put_le32(v, 0xffffffffU);
		if (read_le32(img, entry - 4) != 0xEA020000U)
			diag("no in-inode xattr magic where expected");
		write_bytes(img, entry + 8, v, 4);
	}
	check("an xattr value of 2^32-1 bytes (listxattr)", img, op_listxattr,
	      (struct expect){ -EUCLEAN, "xattr value of 4294967295 bytes" });
	check("an xattr value of 2^32-1 bytes (getxattr)", img, op_getxattr,
	      (struct expect){ -EUCLEAN, "xattr value" });
	free(img);
}

/*
 * 64 KiB blocks: one xattr block holds 3275 entries, each naming the same
 * EA inode of 64 KiB, so libext2fs would read 200 MiB of values to list
 * one file's names.
 */
static void test_ea_inodes(void)
{
	_cleanup_free_ char *base = base_image("base64k",
					       "-b 65536 -O ea_inode,^metadata_csum,^has_journal",
					       "64M");
	_cleanup_free_ char *img = NULL, *val = xasprintf("%s/val", tmpdir), *cmds = NULL;
	_cleanup_free_ uint8_t *blk = calloc(1, 65536);
	unsigned long long free_blk = 0;
	uint32_t ea_ino;
	size_t n = 0;

	if (!ok(base != NULL, "64 KiB-block image with ea_inode built"))
		return;
	run("head -c 65536 /dev/urandom >%s", val);
	cmds = xasprintf("ea_set -f %s /xfile user.big\n", val);
	img = variant(base, "ea-inode", cmds);
	check("one 64 KiB value in an EA inode reads", img, op_getxattr, (struct expect){ 0 });

	/* The entry debugfs made in the inode names the EA inode. */
	ea_ino = read_le32(img, inode_offset(img, "/xfile", 65536) + 128 + 32 + 4 + 4);
	{
		_cleanup_free_ char *out = capture("debugfs -R 'ffb 1 100' %s 2>/dev/null", img);

		if (sscanf(out, "Free blocks found: %llu", &free_blk) != 1)
			free_blk = 0;
	}
	if (!ok(ea_ino != 0 && free_blk != 0, "EA inode %u and a free block %llu found", ea_ino,
		free_blk))
		return;
	put_le32(blk, 0xEA020000U);	/* h_magic */
	put_le32(blk + 4, 1);		/* h_refcount */
	put_le32(blk + 8, 1);		/* h_blocks */
	for (size_t off = 32; off + 20 + 4 <= 65536; off += 20, n++) {
		uint8_t *e = blk + off;

		e[0] = 1;			/* e_name_len */
		e[1] = 1;			/* e_name_index: user. */
		put_le32(e + 4, ea_ino);	/* e_value_inum */
		put_le32(e + 8, 65536);		/* e_value_size */
		e[16] = 'a';
	}
	write_bytes(img, free_blk * 65536, blk, 65536);
	free(cmds);
	cmds = xasprintf("sif /xfile file_acl %llu\n", free_blk);
	run("echo '%s' | debugfs -w -f - %s", cmds, img);
	diag("%zu entries of 64 KiB in one xattr block", n);
	check("an xattr block naming 200 MiB of EA inode values (listxattr)", img, op_listxattr,
	      (struct expect){ -EUCLEAN, "EA inodes exceed" });
	check("an xattr block naming 200 MiB of EA inode values (getxattr)", img, op_getxattr,
	      (struct expect){ -EUCLEAN, "EA inodes exceed" });
}

/*
 * A superblock claiming 2^24 block groups of 256 blocks in a sparse image
 * of 4 TiB: libext2fs would allocate 512 MiB of group descriptors.
 */
static void test_groups(void)
{
	_cleanup_free_ char *base = base_image("base1k", "-b 1024 -O ^metadata_csum,^resize_inode",
					       "16M");
	_cleanup_free_ char *img = NULL;
	const unsigned long long groups = (1ULL << 24) - 1, per_group = 256, ipg = 8;

	if (!ok(base != NULL, "1 KiB-block image built"))
		return;
	{
		_cleanup_free_ char *cmds = xasprintf(
			"ssv blocks_count %llu\nssv blocks_per_group %llu\n"
			"ssv clusters_per_group %llu\nssv inodes_per_group %llu\n"
			"ssv inodes_count %llu\n",
			groups * per_group + 1, per_group, per_group, ipg, groups * ipg);

		img = variant(base, "groups", cmds);
	}
	if (truncate(img, (off_t)((groups * per_group + 1) * 1024)) < 0) {
		ok(0, "cannot make a sparse 4 TiB image here: %s", strerror(errno));
		return;
	}
	check("2^24 block groups in a sparse 4 TiB image", img, op_nothing,
	      (struct expect){ -EFBIG, "block groups" });
}

int main(void)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *newpath = xasprintf("%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");

	setenv("PATH", newpath, 1);
	setenv("PAGER", "cat", 1);
	setenv("DEBUGFS_PAGER", "__none__", 1);
	imgfs_log_setup("unit-bounds", IMGFS_LOG_ERR, false);
	if (run("command -v mkfs.ext4 && command -v debugfs"))
		skip_all("mkfs.ext4 and debugfs (e2fsprogs) are needed");
	if (!mkdtemp(tmpdir))
		skip_all("cannot create a temporary directory: %s", strerror(errno));
	test_inodes();
	test_ea_inodes();
	test_groups();
	rm_tree(tmpdir);
	return done_testing();
}
