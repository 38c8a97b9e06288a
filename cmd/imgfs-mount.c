/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * imgfs-mount: mount an ext4 image through a sandboxed userspace server,
 * without setuid helpers.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "attach.h"
#include "mount.h"
#include "spawn.h"

struct mount_args {
	const char *image;
	const char *target;
	char **command;		/* with --unshare: what to run inside */
	struct imgfs_image_options img;
	bool allow_other, noexec, foreground, debug, verbose, unshare, unmount, lazy;
	bool no_sandbox;
	enum imgfs_atime atime;		/* relatime unless an option says otherwise */
	bool nodiratime;
	uint64_t listing_memory;	/* 0: the server's default */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: imgfs-mount [-o OPTIONS] [-f] [-d] [-v] IMAGE DIR\n"
		"       imgfs-mount --unshare [-o OPTIONS] IMAGE DIR -- COMMAND [ARG...]\n"
		"       imgfs-mount -u [-l] DIR\n"
		"\n"
		"Mount the ext2/ext3/ext4 or XFS filesystem in IMAGE (a file or block device) on DIR,\n"
		"read-only unless -o rw, served by a userspace server. Works as root or inside a user\n"
		"namespace you own (unshare -Urm, podman unshare).\n"
		"\n"
		"Options:\n"
		"  -o OPTIONS       comma-separated mount options:\n"
		"                     ro             read-only (the default)\n"
		"                     rw             read-write (ext2/3/4 only; the image must be\n"
		"                                    writable by you and in use by nobody else)\n"
		"                     offset=BYTES   the filesystem starts at this byte offset\n"
		"                     partition=N    the filesystem is partition N (GPT or MBR)\n"
		"                     type=TYPE      auto (default), ext4, ext3, ext2 or xfs\n"
		"                     allow_other    let other users access the mount\n"
		"                     nosuid, nodev  always in effect\n"
		"                     noexec         do not allow executing files\n"
		"                     relatime       update access times as the kernel does by\n"
		"                                    default (read-write mounts; the default)\n"
		"                     strictatime    update access times on every access\n"
		"                     noatime        never update access times\n"
		"                     atime          the default (relatime) unless strictatime\n"
		"                     nodiratime, diratime  do not (do) update directories'\n"
		"                     lazytime, nolazytime  accepted, without effect\n"
		"                     listing_memory=SIZE  memory the server may hold for the\n"
		"                                    listings of open directories (default 64M)\n"
		"  -f, --foreground stay in the foreground until the filesystem is unmounted\n"
		"  -d, --debug      trace every FUSE request (implies -f)\n"
		"  -v, --verbose    say what was found and how it is served\n"
		"      --unshare    create a user and mount namespace, mount, run COMMAND\n"
		"                   there, unmount, and exit with COMMAND's status\n"
		"      --no-sandbox run the server without its sandbox (debugging only:\n"
		"                   a hostile image could then reach your files)\n"
		"  -u, --unmount    unmount DIR (plain umount works too)\n"
		"  -l, --lazy       with -u: detach now, clean up when no longer busy\n"
		"  -h, --help       show this help\n"
		"  -V, --version    show the version\n");
}

/*
 * The atime options of mount(8); true if @key is one.  As the kernel: the
 * last of noatime, relatime and strictatime wins, and atime only undoes
 * noatime.  lazytime, which only delays writing times in the kernel's
 * ext4, is taken and has no effect: the server writes an atime to the
 * image as it changes.
 */
static bool parse_atime_option(const char *key, struct mount_args *a)
{
	if (!strcmp(key, "atime")) {
		if (a->atime == IMGFS_ATIME_NONE)
			a->atime = IMGFS_ATIME_RELATIME;
	} else if (!strcmp(key, "noatime")) {
		a->atime = IMGFS_ATIME_NONE;
	} else if (!strcmp(key, "relatime")) {
		a->atime = IMGFS_ATIME_RELATIME;
	} else if (!strcmp(key, "strictatime")) {
		a->atime = IMGFS_ATIME_STRICT;
	} else if (!strcmp(key, "nodiratime") || !strcmp(key, "diratime")) {
		a->nodiratime = key[0] == 'n';
	} else if (strcmp(key, "lazytime") && strcmp(key, "nolazytime")) {
		return false;
	}
	return true;
}

static int parse_mount_option(const char *key, const char *val, void *ctx)
{
	struct mount_args *a = ctx;
	struct imgfs_error err;
	int r = imgfs_image_parse_option(key, val, &a->img, &err);

	if (r < 0)
		log_err("%s", err.msg);
	if (r <= 0)
		return r;
	if (!val && (!strcmp(key, "nosuid") || !strcmp(key, "nodev") || !strcmp(key, "defaults")))
		return 0;
	/* As mount(8): the last of ro and rw wins. */
	if (!val && (!strcmp(key, "ro") || !strcmp(key, "rw"))) {
		a->img.writable = key[1] == 'w';
		return 0;
	}
	if (!val && !strcmp(key, "allow_other")) {
		a->allow_other = true;
		return 0;
	}
	if (val && !strcmp(key, "listing_memory")) {
		if (parse_u64(val, &a->listing_memory) < 0 || a->listing_memory == 0) {
			log_err("listing_memory=%s: expected a size such as 64M", val);
			return -EINVAL;
		}
		return 0;
	}
	if (!val && !strcmp(key, "noexec")) {
		a->noexec = true;
		return 0;
	}
	if (!val && parse_atime_option(key, a))
		return 0;
	log_err("unknown mount option '%s%s%s'", key, val ? "=" : "", val ? val : "");
	return -EINVAL;
}

static int parse_mount_options(char *opts, struct mount_args *a)
{
	struct imgfs_error err;
	int r = for_each_option(opts, parse_mount_option, a);

	if (r < 0)
		return r;
	r = imgfs_image_check_options(&a->img, &err);
	if (r < 0)
		log_err("%s", err.msg);
	return r;
}

static int parse_args(int argc, char **argv, struct mount_args *a)
{
	enum { OPT_UNSHARE = 256, OPT_NO_SANDBOX };
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "unmount", no_argument, NULL, 'u' },
		{ "lazy", no_argument, NULL, 'l' },
		{ "unshare", no_argument, NULL, OPT_UNSHARE },
		{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, nargs;

	opterr = 0;	/* one line of our own per error, not getopt's */
	while ((c = getopt_long(argc, argv, "+:o:fdvulhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (parse_mount_options(optarg, a) < 0)
				return -EINVAL;
			break;
		case 'f': a->foreground = true; break;
		case 'd': a->debug = a->foreground = true; break;
		case 'v': a->verbose = true; break;
		case 'u': a->unmount = true; break;
		case 'l': a->lazy = true; break;
		case OPT_UNSHARE: a->unshare = true; break;
		case OPT_NO_SANDBOX: a->no_sandbox = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("imgfs-mount %s\n", PACKAGE_VERSION); exit(0);
		case ':':
			log_err("option %s needs a value (see imgfs-mount --help)", argv[optind - 1]);
			return -EINVAL;
		default:
			log_err("unknown option %s (see imgfs-mount --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	nargs = argc - optind;
	if (a->unmount) {
		if (nargs != 1) {
			log_err("-u takes exactly one mount point");
			return -EINVAL;
		}
		a->target = argv[optind];
		return 0;
	}
	if (a->unshare) {
		if (nargs < 4 || strcmp(argv[optind + 2], "--") != 0) {
			log_err("--unshare needs IMAGE DIR -- COMMAND [ARG...]");
			return -EINVAL;
		}
		if (a->foreground) {
			log_err("--unshare runs COMMAND itself; -f and -d do not apply");
			return -EINVAL;
		}
		a->command = &argv[optind + 3];
	} else if (nargs != 2) {
		log_err("%s (see imgfs-mount --help)",
			nargs < 2 ? "missing IMAGE or DIR" : "too many arguments");
		return -EINVAL;
	}
	a->image = argv[optind];
	a->target = argv[optind + 1];
	return 0;
}

/* Wait up to @ms for the server to exit after its mount is gone. */
static void reap_with_timeout(pid_t pid, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * Start the server, mount its descriptor on the target and wait until it
 * has answered INIT.  On failure nothing is mounted and the server is gone.
 */
static int mount_image(const struct mount_args *a, pid_t *server_pid)
{
	_cleanup_image_ struct imgfs_image *img = NULL;
	_cleanup_close_ int fuse_fd = -1;
	_cleanup_close_ int abort_fd = -1;
	_cleanup_close_ int conn_dir = -1;
	struct imgfs_server server = { -1, -1 };
	struct imgfs_error err = { 0 };
	char source[PATH_MAX], data_path[256] = "";
	dev_t dev = 0;
	int r;

	if (a->no_sandbox)
		log_warn("--no-sandbox: the server runs unconfined; a hostile image can reach "
			 "everything you can. Use this only to debug imgfs.");
	r = imgfs_check_mountpoint(a->target, &err);
	if (r == 0)
		r = imgfs_image_open(a->image, &a->img, &img, &err);
	if (r == 0)
		r = imgfs_open_fuse_dev(&fuse_fd, &err);
	if (r == 0)
		r = imgfs_server_start(&(struct imgfs_spawn_params){
			.img = img, .fuse_fd = fuse_fd, .foreground = a->foreground,
			.debug = a->debug, .verbose = a->verbose, .no_sandbox = a->no_sandbox,
			.listing_memory = a->listing_memory,
			.atime = a->atime, .nodiratime = a->nodiratime,
		}, &server, &err);
	if (r < 0) {
		log_err("%s", err.msg);
		return r;
	}
	if (a->verbose)
		log_info("%s: %s filesystem, %llu bytes at offset %llu, %s", a->image, img->fstype,
			 (unsigned long long)img->size, (unsigned long long)img->offset,
			 img->writable ? "read-write" : "read-only");

	if (!realpath(a->image, source))
		snprintf(source, sizeof(source), "%s", a->image);
	/* Before the mount, which could cover /sys (see imgfs_open_fuse_connections). */
	imgfs_open_fuse_connections(&conn_dir);
	r = imgfs_mount_fuse(&(struct imgfs_mount_params){
		.source = source, .target = a->target, .fuse_fd = fuse_fd,
		.uid = getuid(), .gid = getgid(), .allow_other = a->allow_other,
		.noexec = a->noexec, .read_only = !a->img.writable,
		.atime = a->atime, .nodiratime = a->nodiratime,
	}, &dev, &err);
	if (r < 0) {
		log_err("%s", err.msg);
		imgfs_server_cancel(&server);
		return r;
	}
	/* The server holds its own copy; ours must not keep the connection alive. */
	close(steal_fd(&fuse_fd));

	/*
	 * The server's supervisor keeps the connection's abort switch, to
	 * end the connection if the server dies with a thread stuck in the
	 * kernel (see sandbox.h).  Without fusectl it does without.
	 */
	if (conn_dir >= 0)
		imgfs_open_fuse_abort(conn_dir, dev, &abort_fd);
	r = imgfs_server_serve(&server, a->image, abort_fd, data_path, sizeof(data_path), &err);
	if (r < 0) {
		log_err("%s", err.msg);
		umount2(a->target, MNT_DETACH);
		return r;
	}
	if (a->verbose)
		log_info("%s mounted on %s; data path: %s", a->image, a->target,
			 data_path[0] ? data_path : "unknown (the server did not say)");
	*server_pid = server.pid;
	return 0;
}

/* Unmount quietly if the target is still our mount (used after the server died). */
static void unmount_if_mounted(const char *target)
{
	struct imgfs_error err;

	if (imgfs_unmount(target, true, NULL, &err) < 0 && err.code != EINVAL)
		log_warn("%s", err.msg);
}

static int run_foreground(const struct mount_args *a, pid_t server)
{
	int status;

	/* Ctrl-C reaches the server, which stops; then we clean up the mount. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	status = imgfs_wait_status(server);
	unmount_if_mounted(a->target);
	return status == 0 ? 0 : 1;
}

static int run_command(const struct mount_args *a, pid_t server)
{
	struct imgfs_error err;
	pid_t child = fork();
	int status;

	if (child < 0) {
		log_err("fork: %s", strerror(errno));
		status = 1;
	} else if (child == 0) {
		execvp(a->command[0], a->command);
		log_err("%s: %s", a->command[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	} else {
		status = imgfs_wait_status(child);
	}
	if (imgfs_unmount(a->target, false, NULL, &err) < 0) {
		log_warn("%s; detaching it", err.msg);
		umount2(a->target, MNT_DETACH);
	}
	reap_with_timeout(server, 5000);
	return status;
}

int main(int argc, char **argv)
{
	struct mount_args a = { 0 };
	struct imgfs_error err = { 0 };
	pid_t server = -1;

	imgfs_log_setup("imgfs-mount", IMGFS_LOG_INFO, false);
	if (parse_args(argc, argv, &a) < 0)
		return 2;
	if (a.unmount) {
		unsigned remaining;

		if (imgfs_unmount(a.target, a.lazy, &remaining, &err) < 0) {
			log_err("%s", err.msg);
			return 1;
		}
		if (remaining)
			log_info("%s: %u more imgfs mount%s stacked here, still served: -u again to remove %s",
				 a.target, remaining, remaining == 1 ? "" : "s",
				 remaining == 1 ? "it" : "them");
		return 0;
	}
	if (a.unshare && imgfs_unshare_user_mount(&err) < 0) {
		log_err("%s", err.msg);
		return 1;
	}
	if (mount_image(&a, &server) < 0)
		return 1;
	if (a.unshare)
		return run_command(&a, server);
	if (a.foreground)
		return run_foreground(&a, server);
	return 0;
}
