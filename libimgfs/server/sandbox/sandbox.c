/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/securebits.h>

#include "sandbox.h"
#include "status.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL	/* Linux 6.9: a pidfd that signals one thread's exit */
#endif

/*
 * Records on the server's channel to its supervisor: 'S' with a pidfd of
 * the server's sentinel thread (Linux 6.9, PIDFD_THREAD), then 'A' with
 * the connection's abort switch when the helper could open it.
 */
enum { CHANNEL_SENTINEL = 'S', CHANNEL_ABORT = 'A' };

/* In the server: its end of the channel to the supervisor, until used. */
static int supervisor_channel = -1;

/* The host id a rootful server runs as: nobody/nogroup. */
#define SANDBOX_UNPRIVILEGED_ID 65534

/* May we map and switch to any id: CAP_SETUID and CAP_SETGID, effective? */
static bool may_set_any_id(void)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t uid = CAP_CLEAR, gid = CAP_CLEAR;

	if (caps) {
		cap_get_flag(caps, CAP_SETUID, CAP_EFFECTIVE, &uid);
		cap_get_flag(caps, CAP_SETGID, CAP_EFFECTIVE, &gid);
		cap_free(caps);
	}
	return uid == CAP_SET && gid == CAP_SET;
}

/* Is @id mapped into our user namespace (per /proc/self/uid_map or gid_map)? */
static bool id_is_mapped(const char *map_file, unsigned id)
{
	_cleanup_fclose_ FILE *f = fopen(map_file, "re");
	unsigned long inside, outside, count;

	while (f && fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
		if (id >= inside && id - inside < count)
			return true;
	return false;
}

struct sandbox_ids {
	unsigned uid, gid;	/* in our current namespace: what the sandbox's 0 maps to */
	bool privileged;	/* may map any id (CAP_SETUID and CAP_SETGID) */
};

/*
 * A privileged server gives its privilege up: it becomes nobody where
 * nobody exists.  An unprivileged one (e.g. root of a user's own
 * namespace, which maps only the user) keeps its own ids, which are
 * already unprivileged on the host.
 */
static void choose_ids(struct sandbox_ids *ids)
{
	ids->privileged = may_set_any_id();
	ids->uid = geteuid();
	ids->gid = getegid();
	if (!ids->privileged)
		return;
	if (id_is_mapped("/proc/self/uid_map", SANDBOX_UNPRIVILEGED_ID))
		ids->uid = SANDBOX_UNPRIVILEGED_ID;
	if (id_is_mapped("/proc/self/gid_map", SANDBOX_UNPRIVILEGED_ID))
		ids->gid = SANDBOX_UNPRIVILEGED_ID;
}

/*
 * Runs in a child left outside the new user namespace: only a process in
 * the parent namespace may map ids other than its own.  Returns an errno.
 */
static int write_id_maps(pid_t target, const struct sandbox_ids *ids)
{
	char path[64], map[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)target);
	r = write_string_file(path, "deny");
	if (r < 0 && r != -ENOENT)
		return -r;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)target);
	snprintf(map, sizeof(map), "0 %u 1\n", ids->uid);
	r = write_string_file(path, map);
	if (r < 0)
		return -r;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)target);
	snprintf(map, sizeof(map), "0 %u 1\n", ids->gid);
	r = write_string_file(path, map);
	return r < 0 ? -r : 0;
}

/*
 * A new user namespace in which we are uid 0 mapped to an unprivileged
 * host id, then new network, IPC and (for our children) PID namespaces
 * owned by it.
 */
static int enter_namespaces(struct imgfs_error *err)
{
	struct sandbox_ids ids;
	int sync[2], status;
	pid_t mapper;
	char go = 'g';

	choose_ids(&ids);
	/* Supplementary groups would survive into the sandbox: drop them. */
	if (ids.privileged && setgroups(0, NULL) < 0 && errno != EPERM)
		return imgfs_error_set(err, errno, "sandbox: setgroups: %s", strerror(errno));
	if (pipe2(sync, O_CLOEXEC) < 0)
		return imgfs_error_set(err, errno, "sandbox: pipe: %s", strerror(errno));
	mapper = fork();
	if (mapper < 0) {
		int e = errno;

		close(sync[0]);
		close(sync[1]);
		return imgfs_error_set(err, e, "sandbox: fork: %s", strerror(e));
	}
	if (mapper == 0) {
		close(sync[1]);
		if (read(sync[0], &go, 1) != 1)
			_exit(ECANCELED);
		_exit(write_id_maps(getppid(), &ids));
	}
	close(sync[0]);
	if (unshare(CLONE_NEWUSER) < 0) {
		int e = errno;

		close(sync[1]);
		waitpid(mapper, NULL, 0);
		return imgfs_error_set(err, e,
				       "sandbox: cannot create namespaces: %s (are user namespaces enabled? see imgfs-server(8))",
				       strerror(e));
	}
	if (write(sync[1], &go, 1) != 1) {
		close(sync[1]);
		waitpid(mapper, NULL, 0);
		return imgfs_error_set(err, EPIPE, "sandbox: the id mapper died");
	}
	close(sync[1]);
	while (waitpid(mapper, &status, 0) < 0)
		if (errno != EINTR)
			return imgfs_error_set(err, errno, "sandbox: waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		int e = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;

		return imgfs_error_set(err, e, "sandbox: cannot map ids %u:%u into the user namespace: %s",
				       ids.uid, ids.gid, strerror(e));
	}
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return imgfs_error_set(err, errno, "sandbox: cannot switch ids: %s", strerror(errno));
	if (unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID) < 0)
		return imgfs_error_set(err, errno, "sandbox: cannot create namespaces: %s",
				       strerror(errno));
	return 0;
}

/*
 * A new mount namespace whose root is an empty read-only tmpfs, the copy
 * of the host's mount tree dropped, so no host path resolves to anything
 * even before seccomp forbids open.  As fast as it goes: while the copy
 * exists it keeps every host filesystem mounted at that moment alive,
 * and one unmounted on the host meanwhile is only shut down (its journal
 * flushed) when the copy goes.
 */
static int leave_host_filesystem(struct imgfs_error *err)
{
	_cleanup_close_ int fs_fd = -1;
	_cleanup_close_ int mnt_fd = -1;

	if (unshare(CLONE_NEWNS) < 0)
		return imgfs_error_set(err, errno, "sandbox: cannot create a mount namespace: %s",
				       strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return imgfs_error_set(err, errno, "sandbox: cannot make mounts private: %s",
				       strerror(errno));
	fs_fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs_fd < 0)
		return imgfs_error_set(err, errno, "sandbox: fsopen(tmpfs): %s", strerror(errno));
	if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "mode", "0555", 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_SET_STRING, "size", "4k", 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return imgfs_error_set(err, errno, "sandbox: cannot create the empty root: %s",
				       strerror(errno));
	mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC,
			 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt_fd < 0)
		return imgfs_error_set(err, errno, "sandbox: fsmount: %s", strerror(errno));
	/* Stack it on /, step into it, and pivot: the old root lands on top of
	 * the new one, where a lazy unmount drops it with everything under it. */
	if (move_mount(mnt_fd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0 ||
	    fchdir(mnt_fd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return imgfs_error_set(err, errno, "sandbox: cannot leave the host filesystem: %s",
				       strerror(errno));
	return 0;
}

/* Capabilities, securebits, no_new_privs, rlimits, then seccomp. */
static int lock_down(struct imgfs_seccomp *filter, struct imgfs_error *err)
{
	struct rlimit no_core = { 0, 0 };
	struct rlimit few_fds = { IMGFS_SANDBOX_MAX_FDS, IMGFS_SANDBOX_MAX_FDS };
	cap_t none;
	int r;

	if (prctl(PR_SET_DUMPABLE, 0) < 0 || setrlimit(RLIMIT_CORE, &no_core) < 0 ||
	    setrlimit(RLIMIT_NOFILE, &few_fds) < 0)
		return imgfs_error_set(err, errno, "sandbox: rlimits: %s", strerror(errno));
	/* uid 0 of our namespace must never regain capabilities. */
	if (cap_set_secbits(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			    SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
			    SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) < 0)
		return imgfs_error_set(err, errno, "sandbox: securebits: %s", strerror(errno));
	for (cap_value_t cap = 0; cap < (cap_value_t)cap_max_bits(); cap++)
		if (cap_drop_bound(cap) < 0 && errno != EINVAL)
			return imgfs_error_set(err, errno, "sandbox: cannot drop capability %d from the bounding set: %s",
					       cap, strerror(errno));
	if (cap_reset_ambient() < 0)
		return imgfs_error_set(err, errno, "sandbox: ambient capabilities: %s", strerror(errno));
	none = cap_init();
	if (!none)
		return imgfs_error_set(err, ENOMEM, "sandbox: out of memory");
	r = cap_set_proc(none);
	cap_free(none);
	if (r < 0)
		return imgfs_error_set(err, errno, "sandbox: cannot drop capabilities: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return imgfs_error_set(err, errno, "sandbox: no_new_privs: %s", strerror(errno));
	return imgfs_seccomp_install(filter, err);
}

static int cmp_int(const void *a, const void *b)
{
	return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/*
 * Libraries that load or probe things lazily would do it inside the
 * sandbox, where open() kills: do it now.
 */
static void preload_lazy_things(void)
{
	int v[512] = { 0 };

	/* glibc's pthread_cancel (libfuse uses it at unmount) dlopens the
	 * unwinder on first use. */
	dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE);
	/* glibc reads /proc/sys/vm/overcommit_memory the first time a thread
	 * arena shrinks; with one arena there are no thread arenas. */
	mallopt(M_ARENA_MAX, 1);
	/* glibc's qsort asks sysinfo(2) for the memory size the first time
	 * it sorts more than 1 KiB, and keeps the answer; the filter kills
	 * sysinfo.  libext2fs sorts a directory leaf by hash when it splits
	 * it (ext2fs_link growing an index). */
	qsort(v, ARRAY_SIZE(v), sizeof(v[0]), cmp_int);
}

static sem_t sentinel_started;
static pid_t sentinel_tid;

static void *sentinel_main(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);	/* signals are the other threads' */
	sentinel_tid = (pid_t)syscall(SYS_gettid);
	sem_post(&sentinel_started);
	for (;;)
		sleep(3600);
	return NULL;
}

/*
 * The supervisor must learn when the server is killed even if one of its
 * threads can never finish exiting (see abort_if_stuck).  A killed
 * process's leader lingers as a zombie while another thread lives, and a
 * thread pidfd does not report that; a thread that only ever sleeps does
 * report its end, which comes only with the whole process's.  Its pidfd
 * goes to the supervisor.  Without PIDFD_THREAD (before Linux 6.9) there
 * is none, and the supervisor just waits for the exit.
 */
static void start_sentinel(int channel)
{
	pthread_attr_t attr;
	pthread_t thread;
	int pidfd;

	if (sem_init(&sentinel_started, 0, 0) < 0 || pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&thread, &attr, sentinel_main, NULL) == 0) {
		while (sem_wait(&sentinel_started) < 0 && errno == EINTR)
			;
		pidfd = (int)syscall(SYS_pidfd_open, sentinel_tid, PIDFD_THREAD);
		if (pidfd >= 0) {
			imgfs_status_send_fd(channel, CHANNEL_SENTINEL, NULL, pidfd);
			close(pidfd);
		}
	}
	pthread_attr_destroy(&attr);
}

/* The supervisor's pidfd on the server: its only way to signal anyone. */
static int server_pidfd = -1;

static void forward_signal(int sig)
{
	if (server_pidfd >= 0)
		syscall(SYS_pidfd_send_signal, server_pidfd, sig, NULL, 0);
}

/* Close every descriptor from 3 up except these three (any may be -1). */
static void close_fds_except(int a, int b, int c)
{
	int keep[3] = { a, b, c }, from = 3;

	/* Three elements: sort them by hand. */
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2 - i; j++)
			if (keep[j] > keep[j + 1]) {
				int t = keep[j];

				keep[j] = keep[j + 1];
				keep[j + 1] = t;
			}
	for (int i = 0; i < 3; i++) {
		if (keep[i] < from)
			continue;
		if (keep[i] > from)
			syscall(SYS_close_range, from, keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

/*
 * Wait until the server's sentinel thread is gone, taking the records of
 * @channel on the way.  Returns true if the sentinel died (the server is
 * exiting, or was killed), with the abort switch, if any, in *@abort_fd.
 */
static bool wait_for_sentinel(int channel, int *abort_fd)
{
	int sentinel = -1;

	*abort_fd = -1;
	for (;;) {
		struct pollfd p[2] = { { channel, POLLIN, 0 }, { sentinel, POLLIN, 0 } };
		int fd, kind;

		if (channel < 0 && sentinel < 0)
			return false;	/* nothing to watch: just wait for the exit */
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (p[1].revents) {
			close(sentinel);
			return true;
		}
		if (!p[0].revents)
			continue;
		kind = imgfs_status_recv_fd(channel, NULL, 0, &fd);
		if (kind == CHANNEL_SENTINEL && sentinel < 0)
			sentinel = fd;
		else if (kind == CHANNEL_ABORT && *abort_fd < 0)
			*abort_fd = fd;
		else if (fd >= 0)
			close(fd);
		if (kind <= 0) {
			close(channel);
			channel = -1;	/* poll ignores negative descriptors */
		}
	}
}

/*
 * A server killed while one of its threads waits in the kernel for a page
 * lock that only the server's own reply would release (FUSE_NOTIFY_STORE
 * against an unanswered READ) never finishes exiting, and its mount hangs.
 * If the process is not gone @grace_ms after its sentinel thread, end the
 * connection: that releases the thread.  A mere exit needs no abort, and
 * gets none: the mount then answers ENOTCONN, not ECONNABORTED.
 */
static void abort_if_stuck(int abort_fd, int process_pidfd, int grace_ms)
{
	struct pollfd p = { process_pidfd, POLLIN, 0 };
	int r;

	if (abort_fd < 0 || process_pidfd < 0)
		return;
	do {
		r = poll(&p, 1, grace_ms);
	} while (r < 0 && errno == EINTR);
	/* A failed write means the connection ended first: nothing to do. */
	if (r == 0)
		(void)!write(abort_fd, "1", 1);
	close(abort_fd);
}

/*
 * The supervisor: outside the PID namespace, inside everything else.
 * @alive_fd stays open while it lives; the server watches for its end.
 */
static __attribute__((noreturn)) void supervise(pid_t server, int alive_fd, int channel,
						struct imgfs_seccomp *filter)
{
	struct sigaction sa = { .sa_handler = forward_signal };
	struct imgfs_error err;
	int abort_fd, status;

	/* The server's descriptors are the server's: none stay open here. */
	close_fds_except(imgfs_log_fd(), alive_fd, channel);
	server_pidfd = (int)syscall(SYS_pidfd_open, server, 0);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (lock_down(filter, &err) < 0) {
		log_err("%s", err.msg);
		kill(server, SIGKILL);
	}
	if (wait_for_sentinel(channel, &abort_fd))
		abort_if_stuck(abort_fd, server_pidfd, 2000);
	else if (abort_fd >= 0)
		close(abort_fd);
	while (waitpid(server, &status, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	if (WTERMSIG(status) == SIGSYS)
		log_err("the sandbox killed the server: it made a system call its seccomp policy forbids");
	else if (WTERMSIG(status) != SIGKILL)
		log_err("the server died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	_exit(128 + WTERMSIG(status));
}

void imgfs_sandbox_give_abort_fd(int fd)
{
	if (fd >= 0 && supervisor_channel >= 0)
		imgfs_status_send_fd(supervisor_channel, CHANNEL_ABORT, NULL, fd);
	if (supervisor_channel >= 0)
		close(supervisor_channel);
	supervisor_channel = -1;
	if (fd >= 0)
		close(fd);
}

int imgfs_sandbox_enter(const struct imgfs_sandbox_params *p, struct imgfs_error *err)
{
	int alive[2], channel[2], r;
	pid_t server;
	char c;

	preload_lazy_things();
	r = enter_namespaces(err);
	if (r == 0)
		r = leave_host_filesystem(err);
	if (r < 0)
		return r;
	if (pipe2(alive, O_CLOEXEC) < 0)
		return imgfs_error_set(err, errno, "sandbox: pipe: %s", strerror(errno));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) < 0) {
		close(alive[0]);
		close(alive[1]);
		return imgfs_error_set(err, errno, "sandbox: socketpair: %s", strerror(errno));
	}
	server = fork();
	if (server < 0) {
		int e = errno;

		close(alive[0]);
		close(alive[1]);
		close(channel[0]);
		close(channel[1]);
		return imgfs_error_set(err, e, "sandbox: fork: %s", strerror(e));
	}
	if (server > 0) {
		close(alive[0]);
		close(channel[1]);
		supervise(server, alive[1], channel[0], p->filter);
	}

	/* PID 1 of the new namespace: the server.  It dies with the supervisor. */
	close(alive[1]);
	close(channel[0]);
	supervisor_channel = channel[1];
	start_sentinel(supervisor_channel);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return imgfs_error_set(err, errno, "sandbox: PR_SET_PDEATHSIG: %s", strerror(errno));
	if (fcntl(alive[0], F_SETFL, O_NONBLOCK) < 0 || read(alive[0], &c, 1) == 0)
		_exit(1);	/* the supervisor died before we could notice */
	close(alive[0]);
	return lock_down(p->filter, err);
}
