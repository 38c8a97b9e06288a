/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exclusive use of an image (see exclusive.h): who else uses it, as the
 * kernel shows it to anyone in /proc/self/mountinfo and /sys, and an OFD
 * lock that other imgfs mounts see.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "exclusive.h"

#define SECTOR 512ULL

/* Does [a, b) overlap [c, d)? */
static bool overlaps(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return a < d && c < b;
}

/* The first line of a small sysfs file, without its newline; 0 or -errno. */
static int read_line(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int read_u64(const char *path, uint64_t *v)
{
	char buf[32];
	int r = read_line(path, buf, sizeof(buf));

	return r < 0 ? r : parse_u64(buf, v);
}

/* A "MAJOR:MINOR" as sysfs and mountinfo write it. */
static int parse_devno(const char *s, dev_t *dev)
{
	unsigned maj, min;

	if (sscanf(s, "%u:%u", &maj, &min) != 2)
		return -EINVAL;
	*dev = makedev(maj, min);
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* A kernel mount as mountinfo shows it. */
struct kmount {
	char where[PATH_MAX];
	bool rw;		/* the superblock's, not this mount's view */
};

/*
 * A mount of block device @dev in our mount namespace: 1 with *@m filled,
 * or 0.  (Mounts in other namespaces are invisible; the O_EXCL open and
 * the loop scan catch those that matter for a writer.)
 */
static int find_mount_of(dev_t dev, struct kmount *m)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		char devno[32], where[PATH_MAX], fstype[64], opts[64];
		const char *tail = strstr(line, " - ");
		dev_t d;

		if (sscanf(line, "%*u %*u %31s %*s %4095s", devno, where) != 2 ||
		    parse_devno(devno, &d) < 0 || d != dev || !tail ||
		    sscanf(tail, " - %63s %*s %63s", fstype, opts) != 2)
			continue;
		unescape(where);
		snprintf(m->where, sizeof(m->where), "%s", where);
		m->rw = strncmp(opts, "rw", 2) == 0 && (opts[2] == ',' || opts[2] == '\0');
		return 1;
	}
	return 0;
}

/*
 * A mount of block device @dev, or of one of its partitions that holds
 * any of its bytes [@start, @end): 1 with *@m filled, or 0.  With
 * @rw_only, only a read-write mount counts.
 */
static int find_mount_in(dev_t dev, uint64_t start, uint64_t end, bool rw_only,
			 struct kmount *m)
{
	char dir[64], path[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int found = 0;

	if (find_mount_of(dev, m) && (m->rw || !rw_only))
		return 1;
	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", major(dev), minor(dev));
	d = opendir(dir);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		char devno[32];
		uint64_t pstart, psize;
		dev_t pdev;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/partition", dir, de->d_name);
		if (access(path, F_OK) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/dev", dir, de->d_name);
		if (read_line(path, devno, sizeof(devno)) < 0 || parse_devno(devno, &pdev) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/start", dir, de->d_name);
		if (read_u64(path, &pstart) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/size", dir, de->d_name);
		if (read_u64(path, &psize) < 0)
			continue;
		if (overlaps(pstart * SECTOR, (pstart + psize) * SECTOR, start, end) &&
		    find_mount_of(pdev, m) && (m->rw || !rw_only))
			found = 1;
	}
	closedir(d);
	return found;
}

/* The first of the kernel's devices stacked on @dev (dm-0, md127), or 0. */
static int find_holder(dev_t dev, char *name, size_t size)
{
	char dir[80];
	DIR *d;
	struct dirent *de;
	int found = 0;

	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u/holders", major(dev), minor(dev));
	d = opendir(dir);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(name, size, "%s", de->d_name);
		found = 1;
	}
	closedir(d);
	return found;
}

int imgfs_exclusive_busy(const char *path, struct imgfs_error *err)
{
	struct kmount m;
	struct stat st;
	char holder[256];

	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
		if (find_mount_in(st.st_rdev, 0, UINT64_MAX, false, &m))
			return imgfs_error_set(err, EBUSY,
					       "%s: in use: mounted by the kernel at %s; unmount it first",
					       path, m.where);
		if (find_holder(st.st_rdev, holder, sizeof(holder)))
			return imgfs_error_set(err, EBUSY,
					       "%s: in use: held by the kernel's %s (an md/dm or other stacked device); remove that first",
					       path, holder);
	}
	return imgfs_error_set(err, EBUSY,
			       "%s: in use by another program (a mount, an md/dm device or an open with O_EXCL)",
			       path);
}

/* A block device read-only: refuse it if the kernel has it mounted read-write. */
static int check_block_readers(const struct imgfs_image *img, const struct stat *st,
			       struct imgfs_error *err)
{
	struct kmount m;

	if (img->writable)
		return 0;	/* the O_EXCL open said all there is to say */
	if (find_mount_in(st->st_rdev, img->offset, img->offset + img->size, true, &m))
		return imgfs_error_set(err, EBUSY,
				       "%s: in use: mounted read-write by the kernel at %s; unmount it or remount it read-only first",
				       img->path, m.where);
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) || S_ISBLK(b->st_mode))
		return S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode) && a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Loop device @name (loop0, ...): does it show the image's filesystem, and
 * is that a conflict?  0, or -EBUSY with the message.
 */
static int check_loop(const struct imgfs_image *img, const struct stat *st, const char *name,
		      struct imgfs_error *err)
{
	char path[PATH_MAX], backing[PATH_MAX], devno[32];
	uint64_t lo_off = 0, lo_limit = 0, lo_end, start, end;
	struct stat bst;
	struct kmount m;
	dev_t dev;

	/* Only attached loop devices have a backing file. */
	snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", name);
	if (read_line(path, backing, sizeof(backing)) < 0 || stat(backing, &bst) < 0 ||
	    !same_file(st, &bst))
		return 0;
	snprintf(path, sizeof(path), "/sys/block/%s/loop/offset", name);
	read_u64(path, &lo_off);
	snprintf(path, sizeof(path), "/sys/block/%s/loop/sizelimit", name);
	read_u64(path, &lo_limit);
	lo_end = lo_limit ? lo_off + lo_limit : UINT64_MAX;
	if (!overlaps(lo_off, lo_end, img->offset, img->offset + img->size))
		return 0;
	snprintf(path, sizeof(path), "/sys/block/%s/dev", name);
	if (read_line(path, devno, sizeof(devno)) < 0 || parse_devno(devno, &dev) < 0)
		return 0;
	/* The filesystem's bytes as the loop device numbers them. */
	start = img->offset > lo_off ? img->offset - lo_off : 0;
	end = img->offset + img->size - lo_off;
	if (find_mount_in(dev, start, end, !img->writable, &m))
		return imgfs_error_set(err, EBUSY,
				       "%s: in use: loop-mounted %sby the kernel via /dev/%s at %s; unmount it first",
				       img->path, img->writable ? "" : "read-write ", name, m.where);
	/* Attached but not mounted here: the kernel may still write through it. */
	if (img->writable)
		return imgfs_error_set(err, EBUSY,
				       "%s: in use: attached to /dev/%s; detach it with losetup -d /dev/%s",
				       img->path, name, name);
	return 0;
}

static int check_loops(const struct imgfs_image *img, const struct stat *st,
		       struct imgfs_error *err)
{
	DIR *d = opendir("/sys/block");
	struct dirent *de;
	int r = 0;

	if (!d)
		return 0;	/* no sysfs: nothing to tell */
	while (r == 0 && (de = readdir(d)))
		if (!strncmp(de->d_name, "loop", 4))
			r = check_loop(img, st, de->d_name, err);
	closedir(d);
	return r;
}

/*
 * The OFD lock over the filesystem's bytes.  It belongs to the open file
 * description, so it is held for as long as the server (which gets this
 * descriptor) lives, and other imgfs mounts' locks conflict with it as
 * readers and writers should.
 */
static int lock_image(const struct imgfs_image *img, struct imgfs_error *err)
{
	struct flock fl = {
		.l_type = img->writable ? F_WRLCK : F_RDLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)img->offset,
		.l_len = (off_t)img->size,
	};

	/*
	 * umount returns before the server of the mount exits (FUSE does not
	 * wait for it), so `umount DIR && imgfs-mount IMG DIR` would find its
	 * lock still held for a moment: give a holder 2 s to go away.
	 */
	for (int tries = 0;; tries++) {
		struct timespec pause = { .tv_nsec = 50 * 1000 * 1000 };

		if (fcntl(img->fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES)
			return 0;	/* locks unsupported where the image lives (ENOLCK): go on */
		if (tries == 40)
			break;
		nanosleep(&pause, NULL);
	}
	fl.l_type = img->writable ? F_WRLCK : F_RDLCK;
	if (fcntl(img->fd, F_OFD_GETLK, &fl) < 0)
		fl.l_type = F_UNLCK;
	return imgfs_error_set(err, EBUSY,
			       "%s: in use by another%s imgfs mount (or a program holding a lock on it; see lslocks)",
			       img->path, fl.l_type == F_WRLCK ? " read-write" :
			       fl.l_type == F_RDLCK ? " read-only" : "");
}

int imgfs_exclusive_claim(const struct imgfs_image *img, struct imgfs_error *err)
{
	struct stat st;
	int r;

	if (fstat(img->fd, &st) < 0)
		return imgfs_error_set(err, errno, "%s: %s", img->path, strerror(errno));
	r = S_ISBLK(st.st_mode) ? check_block_readers(img, &st, err) : 0;
	if (r == 0)
		r = check_loops(img, &st, err);
	if (r == 0)
		r = lock_image(img, err);
	return r;
}
