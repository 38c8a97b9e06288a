/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * imgfs-oci-hook: an OCI createRuntime hook that mounts the images a
 * container's annotations ask for, each served by a sandboxed imgfs-server.
 *
 * The hook stays in the runtime's namespaces: it opens the images with its
 * own credentials and starts the servers from there, exactly as
 * imgfs-mount does.  A forked "joiner" enters the container's user
 * namespace (so that the FUSE connections belong to it and the image's
 * owners read as the container's ids), opens /dev/fuse there, then enters
 * the mount namespace and mounts inside the container root.  Either both
 * sides succeed for every annotation, or nothing stays mounted and no
 * server stays running.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "annotation.h"
#include "container.h"
#include "hookconf.h"
#include "mount.h"
#include "ocistate.h"
#include "spawn.h"

/* Records between the hook and its joiner (same framing as the server's). */
enum {
	JOIN_FUSE_FD = 'F',	/* joiner -> hook: /dev/fuse opened in the container's userns */
	JOIN_MOUNT = 'G',	/* hook -> joiner: mount the next one (the last one serves) */
	JOIN_MOUNTED = 'D',	/* joiner -> hook: mounted; text: its device number */
	JOIN_ERROR = 'E',	/* joiner -> hook: text for the user; the joiner undoes its mounts */
	JOIN_KEEP = 'C',	/* hook -> joiner: every server serves, keep the mounts */
};

struct hook_args {
	const char *config_path;
	const char *stage;
};

struct hook_mount {
	struct oci_mount m;
	struct imgfs_image *img;
	char source[PATH_MAX];	/* the image's real path, shown in mountinfo */
	int fuse_fd;
	struct imgfs_server server;
	dev_t dev;
	struct container_place under;	/* the joiner's: the directory it mounted on */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: imgfs-oci-hook [--config FILE] [createRuntime]\n"
		"\n"
		"OCI runtime hook (stage createRuntime): reads the container state on stdin and\n"
		"mounts, read-only inside the container, every image its annotations ask for:\n"
		"\n"
		"  io.imgfs.mount.NAME=source=/host/image,target=/path/in/container\n"
		"                      [,ro][,type=auto|ext4|xfs][,offset=BYTES|partition=N]\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE  the directories a rootful hook may mount images from\n"
		"                     (default " HOOKCONF_DEFAULT_PATH ")\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"See imgfs-oci-hook(1).\n");
}

static int parse_args(int argc, char **argv, struct hook_args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	a->config_path = HOOKCONF_DEFAULT_PATH;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config_path = optarg; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("imgfs-oci-hook %s\n", PACKAGE_VERSION); exit(0);
		case ':':
			log_err("option %s needs a value (see imgfs-oci-hook --help)", argv[optind - 1]);
			return -EINVAL;
		default:
			log_err("unknown option %s (see imgfs-oci-hook --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (argc - optind > 1) {
		log_err("too many arguments (see imgfs-oci-hook --help)");
		return -EINVAL;
	}
	a->stage = optind < argc ? argv[optind] : NULL;
	/* prestart is createRuntime's deprecated twin: same moment, same namespaces. */
	if (a->stage && strcmp(a->stage, "createRuntime") != 0 && strcmp(a->stage, "prestart") != 0) {
		log_err("stage %s: imgfs-oci-hook runs at createRuntime only", a->stage);
		return -EINVAL;
	}
	return 0;
}

/*
 * podman 4 splits --annotation at commas, so "io.imgfs.mount.x=source=A,
 * target=B" arrives as two annotations, the second keyed "target".  Seeing
 * such a stray key is worth a hint on how to quote.
 */
static bool looks_split_by_podman(const struct oci_annotations *ann)
{
	static const char *const keys[] = { "target", "ro", "rw", "type", "offset", "partition" };

	for (size_t i = 0; i < ann->n; i++)
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			if (!strcmp(ann->v[i].key, keys[k]))
				return true;
	return false;
}

/* Every annotation of ours, parsed; the first bad one is the error. */
static int collect_mounts(const struct oci_annotations *ann, struct hook_mount **out, size_t *n)
{
	struct hook_mount *mounts = NULL;
	struct imgfs_error err;

	*n = 0;
	for (size_t i = 0; i < ann->n; i++) {
		struct hook_mount *hm;
		int r;

		if (!oci_mount_key_is_ours(ann->v[i].key))
			continue;
		hm = realloc(mounts, (*n + 1) * sizeof(*mounts));
		if (!hm) {
			log_err("out of memory");
			*out = mounts;
			return -ENOMEM;
		}
		mounts = hm;
		hm = &mounts[(*n)++];
		*hm = (struct hook_mount){ .fuse_fd = -1, .server = { -1, -1 } };
		r = oci_mount_parse(ann->v[i].key, ann->v[i].value, &hm->m, &err);
		if (r < 0) {
			log_err("%s%s", err.msg, looks_split_by_podman(ann) ?
				" (podman splits --annotation at commas: quote the whole annotation, "
				"--annotation '\"io.imgfs.mount.NAME=source=...,target=...\"')" : "");
			*out = mounts;
			return r;
		}
	}
	*out = mounts;
	return 0;
}

static int compare_targets(const void *a, const void *b)
{
	return strcmp(((const struct hook_mount *)a)->m.target,
		      ((const struct hook_mount *)b)->m.target);
}

/*
 * Mount in the order of the targets, so that one inside another image
 * comes after it (a path sorts before every path under it); two on the
 * same target would hide one another.
 */
static int order_mounts(struct hook_mount *mounts, size_t n)
{
	if (n < 2)
		return 0;	/* and qsort() must not see a NULL array */
	qsort(mounts, n, sizeof(*mounts), compare_targets);
	for (size_t i = 1; i < n; i++) {
		if (!strcmp(mounts[i - 1].m.target, mounts[i].m.target)) {
			const char *first = mounts[i - 1].m.key, *second = mounts[i].m.key;

			/* qsort() keeps no order among equals: name them in key order. */
			if (strcmp(first, second) > 0) {
				first = mounts[i].m.key;
				second = mounts[i - 1].m.key;
			}
			log_err("%s: target %s is also the target of %s", second, mounts[i].m.target,
				first);
			return -EINVAL;
		}
	}
	return 0;
}

static void free_mounts(struct hook_mount *mounts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		oci_mount_free(&mounts[i].m);
		if (mounts[i].img)
			imgfs_image_close(mounts[i].img);
		if (mounts[i].fuse_fd >= 0)
			close(mounts[i].fuse_fd);
		imgfs_server_cancel(&mounts[i].server);
	}
	free(mounts);
}

/*
 * Open one image with the hook's own credentials.  A rootful hook first
 * checks the source's real path against its configuration, then checks
 * that what it opened is still that file, so a symlink swapped in between
 * cannot point it elsewhere.
 */
static int open_image(struct hook_mount *hm, const struct hookconf *conf, const char *conf_path)
{
	const char *key = hm->m.key;
	struct imgfs_error err;
	char opened[PATH_MAX + 1], fdpath[64];
	ssize_t len;
	int r;

	if (!realpath(hm->m.source, hm->source)) {
		log_err("%s: source %s: %s", key, hm->m.source, strerror(errno));
		return -errno;
	}
	if (conf && (r = hookconf_check_source(conf, conf_path, key, hm->source, &err)) < 0) {
		log_err("%s", err.msg);
		return r;
	}
	r = imgfs_image_open(hm->source, &hm->m.img, &hm->img, &err);
	if (r < 0) {
		log_err("%s: %s", key, err.msg);
		return r;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", hm->img->fd);
	len = readlink(fdpath, opened, sizeof(opened) - 1);
	if (conf && (len < 0 || (size_t)len != strlen(hm->source) ||
		     memcmp(opened, hm->source, len) != 0)) {
		log_err("%s: source %s changed while it was being opened", key, hm->m.source);
		return -EAGAIN;
	}
	return 0;
}

/* The joiner's side of a failure: one message for the hook, which reports it. */
static _Noreturn void joiner_fail(int sock, const struct imgfs_error *err)
{
	imgfs_status_send(sock, JOIN_ERROR, err->msg);
	_exit(1);
}

/* Detach the mounts this joiner made, topmost first (best effort: see below). */
static void joiner_undo(int root_fd, struct hook_mount *mounts, size_t n)
{
	while (n-- > 0) {
		struct imgfs_error err;
		char path[64];
		int fd;

		if (container_open_target(root_fd, mounts[n].m.target, mounts[n].m.key, &fd, &err) < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		umount2(path, MNT_DETACH);
		close(fd);
	}
}

/*
 * Did an earlier annotation already take the directory @target_fd, for
 * @hm, resolves to?  Strings cannot tell ("/data", "/rootlink/data"):
 * either its lookup ends on that mount's root, or, where the directory is
 * reachable elsewhere than under the mount, on the directory itself.
 */
static int joiner_check_taken(const struct hook_mount *mounts, size_t mounted,
			      const struct hook_mount *hm, int target_fd,
			      struct container_place *at, struct imgfs_error *err)
{
	int r = container_place_of(target_fd, at);

	if (r < 0)
		return imgfs_error_set(err, -r, "%s: target %s: %s", hm->m.key, hm->m.target,
				       strerror(-r));
	for (size_t j = 0; j < mounted; j++) {
		const struct hook_mount *o = &mounts[j];

		if ((at->mount_root && o->dev && at->dev == o->dev) ||
		    (at->dev == o->under.dev && at->ino == o->under.ino))
			return imgfs_error_set(err, EINVAL,
					       "%s: target %s resolves to the target %s of %s; give each annotation a target of its own",
					       hm->m.key, hm->m.target, o->m.target, o->m.key);
	}
	return 0;
}

/*
 * The joiner: runs in a child, which alone enters the container.  Its
 * mounts go away with the container's mount namespace in any case; undoing
 * them on failure only spares a runtime that would go on regardless.
 */
static _Noreturn void joiner(int sock, struct hook_mount *mounts, size_t n,
			     const struct container_ns *ns, const char *root_path)
{
	struct imgfs_error err;
	size_t mounted = 0;
	int root_fd;

	if (container_join_user(ns, &err) < 0)
		joiner_fail(sock, &err);
	/* A FUSE connection belongs to the user namespace /dev/fuse was opened in. */
	for (size_t i = 0; i < n; i++) {
		if (imgfs_open_fuse_dev(&mounts[i].fuse_fd, &err) < 0)
			joiner_fail(sock, &err);
		if (imgfs_status_send_fd(sock, JOIN_FUSE_FD, NULL, mounts[i].fuse_fd) < 0)
			_exit(1);
	}
	if (imgfs_status_recv(sock, NULL, 0) != JOIN_MOUNT)
		_exit(1);
	if (container_join_mount(ns, &err) < 0)
		joiner_fail(sock, &err);
	root_fd = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		imgfs_error_set(&err, errno, "the container root %s: %s", root_path, strerror(errno));
		joiner_fail(sock, &err);
	}
	/*
	 * One at a time, each only once the one before serves: a target
	 * may lie inside an earlier mount, and looking it up there needs an
	 * answer from that mount's server.
	 */
	for (size_t i = 0; i < n; i++) {
		struct hook_mount *hm = &mounts[i];
		_cleanup_close_ int target_fd = -1;
		char where[PATH_MAX + 300], devno[32];
		dev_t dev = 0;

		if (i > 0 && imgfs_status_recv(sock, NULL, 0) != JOIN_MOUNT)
			goto undo;
		snprintf(where, sizeof(where), "%s: target %s", hm->m.key, hm->m.target);
		if (container_open_target(root_fd, hm->m.target, hm->m.key, &target_fd, &err) < 0 ||
		    joiner_check_taken(mounts, i, hm, target_fd, &hm->under, &err) < 0 ||
		    imgfs_mount_fuse_at(&(struct imgfs_mount_params){
			    .source = hm->source, .target = where, .fuse_fd = hm->fuse_fd,
			    /* The container's root owns it; allow_other lets its other users in. */
			    .uid = 0, .gid = 0, .allow_other = true, .read_only = !hm->m.writable,
		    }, target_fd, &dev, &err) < 0) {
			imgfs_status_send(sock, JOIN_ERROR, err.msg);
			goto undo;
		}
		mounted = i + 1;
		hm->dev = dev;	/* the joiner's copy, for joiner_check_taken() */
		snprintf(devno, sizeof(devno), "%llu", (unsigned long long)dev);
		if (imgfs_status_send(sock, JOIN_MOUNTED, devno) < 0)
			goto undo;
	}
	if (imgfs_status_recv(sock, NULL, 0) == JOIN_KEEP)
		_exit(0);
undo:
	joiner_undo(root_fd, mounts, mounted);
	_exit(1);
}

/* One record from the joiner: its fd or text, or its error reported. */
static int joiner_recv(int sock, int want, char *text, size_t size, int *fd)
{
	char msg[600];
	int kind = imgfs_status_recv_fd(sock, msg, sizeof(msg), fd);

	if (kind == want) {
		if (text) {
			size_t len = strnlen(msg, size - 1);

			memcpy(text, msg, len);
			text[len] = '\0';
		}
		return 0;
	}
	if (fd && *fd >= 0)
		close(steal_fd(fd));
	if (kind == JOIN_ERROR)
		log_err("%s", msg);
	else
		log_err("entering the container failed (the helper process exited)");
	return -EIO;
}

static int attach_all(struct hook_mount *mounts, size_t n, const struct container_ns *ns,
		      const char *root_path)
{
	_cleanup_close_ int sock = -1;
	struct imgfs_error err;
	int sv[2], r = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_err("socketpair: %s", strerror(errno));
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_err("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -EAGAIN;
	}
	if (pid == 0) {
		close(sv[0]);
		joiner(sv[1], mounts, n, ns, root_path);
	}
	close(sv[1]);
	sock = sv[0];

	for (size_t i = 0; i < n && r == 0; i++)
		r = joiner_recv(sock, JOIN_FUSE_FD, NULL, 0, &mounts[i].fuse_fd);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct hook_mount *hm = &mounts[i];

		r = imgfs_server_start(&(struct imgfs_spawn_params){
			.img = hm->img, .fuse_fd = hm->fuse_fd,
		}, &hm->server, &err);
		if (r < 0)
			log_err("%s: %s", hm->m.key, err.msg);
		/* The server and the joiner hold the connection; the hook must not. */
		close(steal_fd(&hm->fuse_fd));
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_close_ int abort_fd = -1;
		char devno[32];

		/* A joiner gone already still has its error queued, or EOF. */
		imgfs_status_send(sock, JOIN_MOUNT, NULL);
		r = joiner_recv(sock, JOIN_MOUNTED, devno, sizeof(devno), NULL);
		if (r < 0)
			break;
		mounts[i].dev = (dev_t)strtoull(devno, NULL, 10);
		/* The supervisor's abort switch, as imgfs-mount hands it over. */
		imgfs_open_fuse_abort(-1, mounts[i].dev, &abort_fd);
		r = imgfs_server_serve(&mounts[i].server, mounts[i].m.key, abort_fd, NULL, 0,
				       &err);
		if (r < 0)
			log_err("%s", err.msg);
		else
			mounts[i].server.pid = -1;	/* detached: it ends with its mount */
	}
	if (r == 0 && imgfs_status_send(sock, JOIN_KEEP, NULL) < 0)
		r = -EIO;
	/* On failure the joiner sees the socket close and undoes its mounts. */
	close(steal_fd(&sock));
	if (imgfs_wait_status(pid) != 0 && r == 0) {
		log_err("entering the container failed (the helper process exited)");
		r = -EIO;
	}
	return r;
}

int main(int argc, char **argv)
{
	struct hook_args a = { 0 };
	struct oci_state state = { 0 };
	struct oci_config config = { 0 };
	struct oci_annotations ann = { 0 };
	struct hookconf conf = { 0 };
	struct container_ns ns = { -1, -1 };
	struct hook_mount *mounts = NULL;
	struct imgfs_error err;
	bool rootful;
	size_t n = 0;
	int r;

	imgfs_log_setup("imgfs-oci-hook", IMGFS_LOG_INFO, false);
	if (parse_args(argc, argv, &a) < 0)
		return 2;
	r = oci_state_read(stdin, &state, &err);
	if (r == 0)
		r = oci_config_load(state.bundle, &config, &err);
	if (r < 0) {
		log_err("%s", err.msg);
		goto out;
	}
	r = oci_annotations_merge(&state.annotations, &config.annotations, &ann);
	if (r < 0) {
		log_err("out of memory");
		goto out;
	}
	r = collect_mounts(&ann, &mounts, &n);
	if (r == 0)
		r = order_mounts(mounts, n);
	if (r < 0 || n == 0)
		goto out;

	rootful = container_hook_is_rootful();
	if (rootful && (r = hookconf_load(a.config_path, &conf, &err)) < 0) {
		log_err("%s", err.msg);
		goto out;
	}
	for (size_t i = 0; i < n && r == 0; i++)
		r = open_image(&mounts[i], rootful ? &conf : NULL, a.config_path);
	if (r < 0)
		goto out;
	r = container_ns_open(state.pid, &ns, &err);
	if (r < 0) {
		log_err("%s", err.msg);
		goto out;
	}
	r = attach_all(mounts, n, &ns, config.root_path);
out:
	container_ns_close(&ns);
	free_mounts(mounts, n);
	hookconf_free(&conf);
	oci_annotations_free(&ann);
	oci_config_free(&config);
	oci_state_free(&state);
	return r < 0 ? 1 : 0;
}
