/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "spawn.h"

/*
 * The server next to the running helper wins over the installed one, so a
 * build tree runs its own server without any environment variable (the
 * build tree's OCI hook lives in oci-hook/, its server in cmd/).
 */
static int find_server(char *path, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(path, size, "%s/imgfs-server", dirname(self));
		if (access(path, X_OK) == 0)
			return 0;
		if (strcmp(self, IMGFS_BUILDDIR "/oci-hook") == 0) {
			snprintf(path, size, "%s/cmd/imgfs-server", IMGFS_BUILDDIR);
			if (access(path, X_OK) == 0)
				return 0;
		}
	}
	snprintf(path, size, "%s/imgfs-server", IMGFS_SBINDIR);
	if (access(path, X_OK) == 0)
		return 0;
	return -ENOENT;
}

/* Put @fd at @target in the child, clearing close-on-exec. */
static int place_fd(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target) < 0 ? -1 : 0;
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void exec_server(const char *server, char *const argv[], const int sources[4],
			bool foreground)
{
	static char *const empty_env[] = { NULL };
	static const int targets[4] = {
		IMGFS_SERVER_FUSE_FD, IMGFS_SERVER_IMAGE_FD,
		IMGFS_SERVER_STATUS_FD, IMGFS_SERVER_DATA_FD,
	};
	int fds[4];

	/* Move the sources above the targets first, so dup2 cannot clobber one. */
	for (int i = 0; i < 4; i++) {
		fds[i] = fcntl(sources[i], F_DUPFD_CLOEXEC, 10);
		if (fds[i] < 0)
			_exit(127);
	}
	for (int i = 0; i < 4; i++)
		if (place_fd(fds[i], targets[i]) < 0)
			_exit(127);
	/*
	 * A detached server must not hold the caller's terminal or pipes
	 * open: `out=$(imgfs-mount ...)` would otherwise never see EOF.
	 */
	if (!foreground) {
		int null_fd = open("/dev/null", O_RDWR);

		if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 ||
		    dup2(null_fd, 2) < 0)
			_exit(127);
		/*
		 * Nor its session (a closing terminal must not hang up the
		 * mount), nor its working directory (which it would keep busy).
		 */
		setsid();
		if (chdir("/") < 0)
			_exit(127);
	}
	/* Nothing else is inherited: close everything above ours. */
	syscall(SYS_close_range, IMGFS_SERVER_LAST_FD + 1, ~0U, 0);
	signal(SIGPIPE, SIG_DFL);
	execve(server, argv, empty_env);
	_exit(127);
}

int imgfs_spawn_server(const struct imgfs_spawn_params *p, pid_t *pid, int *status_fd,
		       struct imgfs_error *err)
{
	char server[PATH_MAX], fuse_arg[32], image_arg[32], status_arg[32], data_arg[32];
	char fstype_arg[48], offset_arg[48], size_arg[48], source_arg[PATH_MAX + 16];
	char listing_arg[48], atime_arg[32];
	char *argv[20];
	int sv[2], argc = 0;
	pid_t child;

	if (find_server(server, sizeof(server)) < 0)
		return imgfs_error_set(err, ENOENT, "cannot find imgfs-server next to %s or in %s",
				       imgfs_log_prog(), IMGFS_SBINDIR);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return imgfs_error_set(err, errno, "socketpair: %s", strerror(errno));

	snprintf(fuse_arg, sizeof(fuse_arg), "--fuse-fd=%d", IMGFS_SERVER_FUSE_FD);
	snprintf(image_arg, sizeof(image_arg), "--image-fd=%d", IMGFS_SERVER_IMAGE_FD);
	snprintf(status_arg, sizeof(status_arg), "--status-fd=%d", IMGFS_SERVER_STATUS_FD);
	snprintf(data_arg, sizeof(data_arg), "--data-fd=%d", IMGFS_SERVER_DATA_FD);
	snprintf(fstype_arg, sizeof(fstype_arg), "--fstype=%s", p->img->fstype);
	snprintf(offset_arg, sizeof(offset_arg), "--offset=%llu",
		 (unsigned long long)p->img->offset);
	snprintf(size_arg, sizeof(size_arg), "--size=%llu", (unsigned long long)p->img->size);
	snprintf(source_arg, sizeof(source_arg), "--source=%s", p->img->path);
	argv[argc++] = "imgfs-server";
	argv[argc++] = fuse_arg;
	argv[argc++] = image_arg;
	argv[argc++] = status_arg;
	argv[argc++] = data_arg;
	argv[argc++] = fstype_arg;
	argv[argc++] = offset_arg;
	argv[argc++] = size_arg;
	argv[argc++] = source_arg;
	if (p->img->writable)
		argv[argc++] = "--rw";	/* the server checks that its descriptors are */
	if (p->foreground)
		argv[argc++] = "--foreground";
	if (p->debug)
		argv[argc++] = "--debug";
	if (p->verbose)
		argv[argc++] = "--verbose";
	if (p->no_sandbox)
		argv[argc++] = "--no-sandbox";
	if (p->listing_memory) {
		snprintf(listing_arg, sizeof(listing_arg), "--listing-memory=%llu",
			 (unsigned long long)p->listing_memory);
		argv[argc++] = listing_arg;
	}
	/* Only a read-write mount writes atimes: a read-only one needs no policy. */
	if (p->img->writable && p->atime != IMGFS_ATIME_RELATIME) {
		snprintf(atime_arg, sizeof(atime_arg), "--atime=%s", imgfs_atime_name(p->atime));
		argv[argc++] = atime_arg;
	}
	if (p->img->writable && p->nodiratime)
		argv[argc++] = "--nodiratime";
	argv[argc] = NULL;

	child = fork();
	if (child < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		return imgfs_error_set(err, e, "fork: %s", strerror(e));
	}
	if (child == 0)
		exec_server(server, argv,
			    (const int[4]){ p->fuse_fd, p->img->fd, sv[1], p->img->data_fd },
			    p->foreground);
	close(sv[1]);
	*pid = child;
	*status_fd = sv[0];
	return 0;
}

int imgfs_wait_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/*
 * How long the server may take to open the image, or to answer the
 * kernel's INIT, before the helper gives up on it.  Both take
 * milliseconds; this only bounds a server that is stuck.
 */
#define STATUS_TIMEOUT_MS 30000

/*
 * The server's next status record, or -ETIMEDOUT if it sent none in time,
 * or 0 (as at EOF) if it exited: the socket alone would not say so while
 * a process of its own still held the other end.
 */
static int recv_status(const struct imgfs_server *s, char *text, size_t size)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	struct pollfd pfd[2] = {
		{ .fd = s->status_fd, .events = POLLIN },
		{ .fd = pidfd, .events = POLLIN },
	};
	int n;

	do {
		n = poll(pfd, pidfd >= 0 ? 2 : 1, STATUS_TIMEOUT_MS);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (pfd[0].revents)
		return imgfs_status_recv(s->status_fd, text, size);
	return 0;
}

/* A server that broke off: end it, and say how it ended. */
static int end_server(struct imgfs_server *s, int kind)
{
	close(steal_fd(&s->status_fd));
	int r;

	if (kind == -ETIMEDOUT)
		kill(s->pid, SIGKILL);
	r = imgfs_wait_status(s->pid);
	s->pid = -1;
	return r;
}

int imgfs_server_start(const struct imgfs_spawn_params *p, struct imgfs_server *s,
		       struct imgfs_error *err)
{
	char text[600];
	int kind, r;

	s->pid = -1;
	s->status_fd = -1;
	r = imgfs_spawn_server(p, &s->pid, &s->status_fd, err);
	if (r < 0)
		return r;
	kind = recv_status(s, text, sizeof(text));
	if (kind == IMGFS_STATUS_OPENED)
		return 0;
	r = end_server(s, kind);
	if (kind == -ETIMEDOUT)
		return imgfs_error_set(err, ETIMEDOUT,
				       "%s: imgfs-server did not open the image within %d s; it was stopped",
				       p->img->path, STATUS_TIMEOUT_MS / 1000);
	if (kind == IMGFS_STATUS_ERROR)
		return imgfs_error_set(err, EIO, "%s", text);
	return imgfs_error_set(err, EIO, "%s: imgfs-server exited before serving (status %d)",
			       p->img->path, r);
}

int imgfs_server_serve(struct imgfs_server *s, const char *image, int abort_fd,
		       char *data_path, size_t size, struct imgfs_error *err)
{
	int kind = -EIO, r;

	if (imgfs_status_send_fd(s->status_fd, IMGFS_STATUS_MOUNTED, NULL, abort_fd) == 0)
		kind = recv_status(s, data_path, data_path ? size : 0);
	if (kind == IMGFS_STATUS_READY) {
		close(steal_fd(&s->status_fd));
		return 0;
	}
	r = end_server(s, kind);
	if (kind == -ETIMEDOUT)
		return imgfs_error_set(err, ETIMEDOUT,
				       "%s: imgfs-server did not answer the kernel within %d s; it was stopped",
				       image, STATUS_TIMEOUT_MS / 1000);
	return imgfs_error_set(err, EIO,
			       "%s: imgfs-server exited before answering the kernel (status %d)",
			       image, r);
}

void imgfs_server_cancel(struct imgfs_server *s)
{
	if (s->status_fd >= 0)
		close(steal_fd(&s->status_fd));
	if (s->pid > 0)
		imgfs_wait_status(s->pid);
	s->pid = -1;
}
