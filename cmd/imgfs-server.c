/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * imgfs-server: serves one filesystem image over an already-mounted
 * /dev/fuse descriptor.  Started by imgfs-mount (or the OCI hook) with its
 * descriptors at fixed numbers; it never opens the image or mounts
 * anything itself.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "atime.h"
#include "fs.h"
#include "fuse/session.h"
#include "sandbox/sandbox.h"
#include "status.h"

#ifdef IMGFS_SANITIZERS
/*
 * Sanitizer builds: the sandbox forbids what LeakSanitizer (ptrace), the
 * symbolizer (open, fork) and colour detection (a tty ioctl) need.  Reports
 * still print, with module+offset frames for addr2line.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0:symbolize=0:color=never";
}
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "symbolize=0:color=never";
}
#endif

struct server_args {
	int fuse_fd, image_fd, status_fd, data_fd;
	uint64_t offset, size;
	uint64_t listing_memory;	/* 0: the default budget */
	int iomap_upsert_batch;		/* < 0: the default */
	uint32_t test_iomap_backing_id;
	const char *fstype;
	const char *source;	/* the image's path, for messages */
	const char *seccomp_policy;
	bool foreground, debug, verbose, no_sandbox;
	bool rw;		/* the image descriptor is open read-write: serve writes */
	bool no_writeback_cache;	/* rw: every write goes to the server as it is made */
	enum imgfs_atime atime;		/* rw: when READ and READDIR update atimes */
	bool nodiratime;		/* rw: READDIR never does */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: imgfs-server --fuse-fd=N --image-fd=N --fstype=TYPE --size=BYTES\n"
		"                    [--offset=BYTES] [--data-fd=N] [--status-fd=N] [--source=PATH] [--rw]\n"
		"                    [--atime=relatime|strictatime|noatime] [--nodiratime] [--no-writeback-cache]\n"
		"                    [--foreground] [--debug] [--verbose]\n"
		"                    [--seccomp-policy=FILE] [--no-sandbox] [--listing-memory=BYTES]\n"
		"                    [--iomap-upsert-batch=N] [--test-iomap-backing-id=ID]\n"
		"Serves a filesystem image over a mounted /dev/fuse descriptor.\n"
		"It is started by imgfs-mount; see imgfs-server(8).\n");
}

static int parse_fd(const char *s, int *fd)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v > INT32_MAX)
		return -EINVAL;
	*fd = (int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct server_args *a)
{
	enum { OPT_FUSE_FD = 256, OPT_IMAGE_FD, OPT_STATUS_FD, OPT_DATA_FD, OPT_OFFSET, OPT_SIZE, OPT_FSTYPE,
	       OPT_SOURCE, OPT_SECCOMP_POLICY, OPT_NO_SANDBOX, OPT_LISTING_MEMORY,
	       OPT_IOMAP_UPSERT_BATCH, OPT_TEST_IOMAP_BACKING_ID, OPT_RW, OPT_NO_WRITEBACK_CACHE,
	       OPT_ATIME, OPT_NODIRATIME };
	static const struct option longopts[] = {
		{ "fuse-fd", required_argument, NULL, OPT_FUSE_FD },
		{ "image-fd", required_argument, NULL, OPT_IMAGE_FD },
		{ "status-fd", required_argument, NULL, OPT_STATUS_FD },
		{ "data-fd", required_argument, NULL, OPT_DATA_FD },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "fstype", required_argument, NULL, OPT_FSTYPE },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "seccomp-policy", required_argument, NULL, OPT_SECCOMP_POLICY },
		{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ "listing-memory", required_argument, NULL, OPT_LISTING_MEMORY },
		{ "iomap-upsert-batch", required_argument, NULL, OPT_IOMAP_UPSERT_BATCH },
		{ "test-iomap-backing-id", required_argument, NULL, OPT_TEST_IOMAP_BACKING_ID },
		{ "rw", no_argument, NULL, OPT_RW },
		{ "no-writeback-cache", no_argument, NULL, OPT_NO_WRITEBACK_CACHE },
		{ "atime", required_argument, NULL, OPT_ATIME },
		{ "nodiratime", no_argument, NULL, OPT_NODIRATIME },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat st;
	uint64_t v;
	int c, r = 0;

	*a = (struct server_args){ .fuse_fd = -1, .image_fd = -1, .status_fd = -1,
				   .data_fd = -1, .iomap_upsert_batch = -1 };
	while ((c = getopt_long(argc, argv, "fdvh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FUSE_FD: r = parse_fd(optarg, &a->fuse_fd); break;
		case OPT_IMAGE_FD: r = parse_fd(optarg, &a->image_fd); break;
		case OPT_STATUS_FD: r = parse_fd(optarg, &a->status_fd); break;
		case OPT_DATA_FD: r = parse_fd(optarg, &a->data_fd); break;
		case OPT_OFFSET: r = parse_u64(optarg, &a->offset); break;
		case OPT_SIZE: r = parse_u64(optarg, &a->size); break;
		case OPT_FSTYPE: a->fstype = optarg; break;
		case OPT_SOURCE: a->source = optarg; break;
		case OPT_SECCOMP_POLICY: a->seccomp_policy = optarg; break;
		case OPT_NO_SANDBOX: a->no_sandbox = true; break;
		case OPT_RW: a->rw = true; break;
		case OPT_NO_WRITEBACK_CACHE: a->no_writeback_cache = true; break;
		case OPT_ATIME: r = imgfs_atime_parse(optarg, &a->atime) < 0 ? -EINVAL : 0; break;
		case OPT_NODIRATIME: a->nodiratime = true; break;
		case OPT_LISTING_MEMORY: r = parse_u64(optarg, &a->listing_memory); break;
		case OPT_IOMAP_UPSERT_BATCH:
			r = parse_u64(optarg, &v) < 0 || v > 4096 ? -EINVAL : 0;
			a->iomap_upsert_batch = (int)v;
			break;
		case OPT_TEST_IOMAP_BACKING_ID:
			/* The kernel hands out ids 1..1024. */
			r = parse_u64(optarg, &v) < 0 || v < 1 || v > 1024 ? -EINVAL : 0;
			a->test_iomap_backing_id = (uint32_t)v;
			break;
		case 'f': a->foreground = true; break;
		case 'd': a->debug = a->foreground = true; break;
		case 'v': a->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
		if (r < 0) {
			log_err("bad value for --%s: %s", longopts[c - OPT_FUSE_FD].name, optarg);
			return r;
		}
	}
	if (optind != argc || a->fuse_fd < 0 || a->image_fd < 0 || !a->fstype || !a->size) {
		log_err("missing or extra arguments (this program is started by imgfs-mount)");
		return -EINVAL;
	}
	/*
	 * A made-up backing id on a real connection would have the kernel
	 * read whatever device holds that id: only a simulator's socket.
	 */
	if (a->test_iomap_backing_id &&
	    (fstat(a->fuse_fd, &st) < 0 || !S_ISSOCK(st.st_mode))) {
		log_err("--test-iomap-backing-id is for the kernel simulator: the FUSE descriptor "
			"must be a socket");
		return -EINVAL;
	}
	return 0;
}

static void report_ready(void *ctx, const char *data_path)
{
	int *status_fd = ctx;

	if (*status_fd < 0)
		return;
	imgfs_status_send(*status_fd, IMGFS_STATUS_READY, data_path);
	close(*status_fd);
	*status_fd = -1;
}

/* Tell the helper the filesystem is open, then wait until it has mounted. */
static int handshake(int status_fd)
{
	char text[64];
	int kind, abort_fd;

	if (status_fd < 0)
		return 0;
	if (imgfs_status_send(status_fd, IMGFS_STATUS_OPENED, NULL) < 0)
		return -EPIPE;
	kind = imgfs_status_recv_fd(status_fd, text, sizeof(text), &abort_fd);
	imgfs_sandbox_give_abort_fd(abort_fd);
	return kind == IMGFS_STATUS_MOUNTED ? 0 : -ECANCELED;
}

/* Report a failure before serving: to the helper if it listens, else to the log. */
static int fail(int status_fd, const char *msg)
{
	if (status_fd >= 0)
		imgfs_status_send(status_fd, IMGFS_STATUS_ERROR, msg);
	else
		log_err("%s", msg);
	return 1;
}

static int enter_sandbox(const struct server_args *a, struct imgfs_error *err)
{
	_cleanup_seccomp_ struct imgfs_seccomp *filter = NULL;
	char policy[PATH_MAX];
	int r;

	if (a->no_sandbox) {
		log_warn("running WITHOUT the sandbox (--no-sandbox): a hostile image can reach "
			 "everything this process can; use only for debugging");
		return 0;
	}
	if (a->seccomp_policy)
		snprintf(policy, sizeof(policy), "%s", a->seccomp_policy);
	else
		imgfs_seccomp_policy_path(policy, sizeof(policy));
	r = imgfs_seccomp_parse(policy, &filter, err);
	if (r < 0)
		return r;
	return imgfs_sandbox_enter(&(struct imgfs_sandbox_params){ .filter = filter }, err);
}

int main(int argc, char **argv)
{
	_cleanup_fuse_session_ struct imgfs_fuse_session *session = NULL;
	_cleanup_image_ struct imgfs_image *img = NULL;
	_cleanup_fs_ struct imgfs_fs *fs = NULL;
	struct imgfs_error err = { 0 };
	struct server_args a;
	int r;

	imgfs_log_setup("imgfs-server", IMGFS_LOG_INFO, false);
	if (parse_args(argc, argv, &a) < 0)
		return 2;
	/*
	 * Each READ reply is copied through a buffer of up to 1 MiB.  By
	 * default glibc maps such buffers fresh and gives freed memory back
	 * at once, so every reply paid for page faults: keep them in the heap.
	 */
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	/* Detached servers log to syslog: nobody reads their stderr. */
	imgfs_log_setup("imgfs-server", a.debug ? IMGFS_LOG_DEBUG :
			a.verbose ? IMGFS_LOG_INFO : IMGFS_LOG_WARN, !a.foreground);
	if (!a.foreground)
		setsid();	/* no terminal signals from the helper's session */
	signal(SIGPIPE, SIG_IGN);

	r = imgfs_fuse_session_new(&(struct imgfs_serve_options){
		.fuse_fd = a.fuse_fd,
		.debug = a.debug,
		.listing_budget = a.listing_memory,
		.on_init = report_ready,
		.on_init_ctx = &a.status_fd,
		.iomap_upsert_batch = a.iomap_upsert_batch,
		.test_iomap_backing_id = a.test_iomap_backing_id,
		.no_writeback_cache = a.no_writeback_cache,
		.atime = a.atime,
		.nodiratime = a.nodiratime,
	}, &session);
	if (r < 0)
		return fail(a.status_fd, "cannot set up the FUSE session");
	/* Everything below, the image parsers first, runs sandboxed. */
	if (enter_sandbox(&a, &err) < 0)
		return fail(a.status_fd, err.msg);

	r = imgfs_image_from_fd(a.image_fd, a.data_fd, a.source, a.offset, a.size, a.fstype, a.rw, &img, &err);
	if (r == 0)
		r = imgfs_fs_open(img, &fs, &err);
	if (r < 0)
		return fail(a.status_fd, err.msg);
	log_info("serving %s filesystem", img->fstype);
	if (handshake(a.status_fd) < 0)
		return 1;	/* the helper gave up: nothing was mounted */

	r = imgfs_fuse_session_serve(session, fs);
	if (r < 0) {
		log_err("FUSE session failed: %s", strerror(-r));
		return 1;
	}
	return 0;
}
