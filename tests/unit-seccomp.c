/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the server's seccomp policy and its parser.
 *
 * Each behaviour is shown in a freshly forked child that parses and
 * installs the real policy (seccomp/imgfs-server.seccomp): the work the
 * server does still works inside the filter, and each forbidden call kills
 * the child with SIGSYS before it runs another instruction.  The children
 * report through a pipe made before the filter went on; the test process
 * itself only ever parses.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "fuse/fuse_iomap.h"
#include "sandbox/seccomp-policy.h"
#include "tap.h"

/*
 * System calls some architectures do not have (or older headers do not
 * name): -1 here, and the case is skipped.
 */
#ifndef SYS_open
#define SYS_open -1
#endif
#ifndef SYS_creat
#define SYS_creat -1
#endif
#ifndef SYS_openat2
#define SYS_openat2 -1
#endif
#ifndef SYS_execveat
#define SYS_execveat -1
#endif
#ifndef SYS_pivot_root
#define SYS_pivot_root -1
#endif
#ifndef SYS_setns
#define SYS_setns -1
#endif
#ifndef SYS_bpf
#define SYS_bpf -1
#endif
#ifndef SYS_userfaultfd
#define SYS_userfaultfd -1
#endif
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup -1
#endif
#ifndef SYS_kexec_load
#define SYS_kexec_load -1
#endif
#ifndef SYS_fork
#define SYS_fork -1
#endif
#ifndef SYS_pkey_mprotect
#define SYS_pkey_mprotect -1
#endif
#ifndef SYS_memfd_create
#define SYS_memfd_create -1
#endif
#ifndef SYS_link
#define SYS_link -1
#endif
#ifndef SYS_unlink
#define SYS_unlink -1
#endif
#ifndef SYS_chmod
#define SYS_chmod -1
#endif
#ifndef SYS_symlink
#define SYS_symlink -1
#endif
#ifndef SYS_mknod
#define SYS_mknod -1
#endif
#ifndef SYS_clone3
#define SYS_clone3 -1
#endif

/* A path that resolves to nothing, so a call that got through changes nothing. */
#define NOWHERE "/nonexistent-imgfs-unit-seccomp/x"
#define PAGE 4096

/* Exit codes of a child that failed around the work under test. */
#define CHILD_NO_PARSE 100
#define CHILD_NO_INSTALL 101
#define CHILD_NO_SETUP 102
#define CHILD_NO_REPORT 103

static const char *policy;	/* the real policy file */
static char tmpdir[512];
static int data_fd = -1;	/* a temp file holding data_pattern(), opened by the parent */
#define DATA_SIZE (3 * PAGE)

static unsigned char data_pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

/* What a child may use inside its filter: all of it made before. */
struct child {
	int report;		/* write end of the pipe to the parent */
	int status_fd;		/* the child's own /proc/self/status */
	int pipe[2];
	int sock[2];
	void *page;		/* an anonymous read-write page */
};

/* One record a child sends the parent. */
struct result {
	long ret;
	int err;
};

static void report(struct child *c, long ret, int err)
{
	struct result res = { .ret = ret, .err = err };

	if (write(c->report, &res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(CHILD_NO_REPORT);
}

/* The filter is on: /proc/self/status, opened before, says so. */
static bool filter_is_on(struct child *c)
{
	char buf[4096];
	ssize_t n = pread(c->status_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "\nSeccomp:\t2\n") != NULL;
}

/*
 * In the new child: no core dumps (SIGSYS would leave one per case), a
 * deadline, the descriptors the body will use, then parse and install the
 * real policy.  Only the child ever runs this.
 */
static void child_enter_filter(struct child *c)
{
	struct rlimit no_core = { 0, 0 };
	struct imgfs_seccomp *filter = NULL;
	struct imgfs_error err = { 0 };

	alarm(30);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || setrlimit(RLIMIT_CORE, &no_core) < 0)
		_exit(CHILD_NO_SETUP);
	c->status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	c->page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->status_fd < 0 || c->page == MAP_FAILED ||
	    pipe2(c->pipe, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->sock) < 0)
		_exit(CHILD_NO_SETUP);
	if (imgfs_seccomp_parse(policy, &filter, &err) < 0) {
		fprintf(stderr, "child: %s\n", err.msg);
		_exit(CHILD_NO_PARSE);
	}
	if (imgfs_seccomp_install(filter, &err) < 0) {
		fprintf(stderr, "child: %s\n", err.msg);
		_exit(CHILD_NO_INSTALL);
	}
}

struct outcome {
	int status;			/* from waitpid */
	struct result res[16];		/* what the child reported */
	size_t nres;
};

/* Fork a child that enters the filter and runs @body; collect what it said. */
static void run_child(void (*body)(struct child *, const void *), const void *arg,
		      struct outcome *o)
{
	struct child c = { .status_fd = -1 };
	int p[2];
	pid_t pid;
	ssize_t n;

	memset(o, 0, sizeof(*o));
	o->status = -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		diag("pipe2: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		diag("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		c.report = p[1];
		child_enter_filter(&c);
		body(&c, arg);
		_exit(0);
	}
	close(p[1]);
	while (waitpid(pid, &o->status, 0) < 0 && errno == EINTR)
		;
	/* The child is gone: everything it wrote is in the pipe. */
	n = read(p[0], o->res, sizeof(o->res));
	if (n > 0)
		o->nres = (size_t)n / sizeof(struct result);
	close(p[0]);
}

static const char *describe(int status, char *buf, size_t size)
{
	if (status == -1)
		snprintf(buf, size, "never ran");
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status) == CHILD_NO_PARSE)
		snprintf(buf, size, "exited %d: could not parse the policy", CHILD_NO_PARSE);
	else if (WEXITSTATUS(status) == CHILD_NO_INSTALL)
		snprintf(buf, size, "exited %d: could not install the filter", CHILD_NO_INSTALL);
	else if (WEXITSTATUS(status) == CHILD_NO_SETUP)
		snprintf(buf, size, "exited %d: setup before the filter failed", CHILD_NO_SETUP);
	else
		snprintf(buf, size, "exited %d", WEXITSTATUS(status));
	return buf;
}

static bool exited_zero(const struct outcome *o, const char *what)
{
	char buf[128];

	if (ok(o->status != -1 && WIFEXITED(o->status) && WEXITSTATUS(o->status) == 0,
	       "%s: the child exits 0 (exit_group) inside the filter", what))
		return true;
	diag("  the child %s", describe(o->status, buf, sizeof(buf)));
	return false;
}

/* ---- 1. the server's own kind of work still works ---- */

static void *thread_main(void *arg)
{
	*(pid_t *)arg = gettid();
	return arg;
}

static bool try_pread(struct child *c)
{
	unsigned char buf[100];
	off_t off = PAGE + 13;

	if (pread(data_fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf))
		return false;
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != data_pattern(off + i))
			return false;
	return true;
}

static bool try_pipe(struct child *c)
{
	char out[] = "through the pipe", in[sizeof(out)] = "";

	return write(c->pipe[1], out, sizeof(out)) == (ssize_t)sizeof(out) &&
	       read(c->pipe[0], in, sizeof(in)) == (ssize_t)sizeof(in) && !memcmp(in, out, sizeof(out));
}

static bool try_socketpair(struct child *c)
{
	char out[] = "through the socket", in[sizeof(out)] = "", back[sizeof(out)] = "";

	return write(c->sock[0], out, sizeof(out)) == (ssize_t)sizeof(out) &&
	       read(c->sock[1], in, sizeof(in)) == (ssize_t)sizeof(in) &&
	       send(c->sock[1], in, sizeof(in), 0) == (ssize_t)sizeof(in) &&
	       recv(c->sock[0], back, sizeof(back), 0) == (ssize_t)sizeof(back) &&
	       !memcmp(back, out, sizeof(out));
}

static bool try_thread(struct child *c)
{
	pthread_t t;
	pid_t tid = 0;
	void *ret = NULL;

	if (pthread_create(&t, NULL, thread_main, &tid) != 0 || pthread_join(t, &ret) != 0)
		return false;
	return ret == &tid && tid > 0 && tid != gettid();
}

static bool try_malloc(struct child *c)
{
	size_t size = 8 << 20;
	unsigned char *m = malloc(size);
	bool good;

	if (!m)
		return false;
	/* Keep the compiler from eliding the allocation. */
	__asm__ volatile("" : : "r"(m) : "memory");
	memset(m, 0x5a, size);
	__asm__ volatile("" : : "r"(m) : "memory");
	good = m[0] == 0x5a && m[size / 2] == 0x5a && m[size - 1] == 0x5a;
	free(m);
	return good;
}

static bool try_clock(struct child *c)
{
	struct timespec mono = { 0 }, cpu = { 0 };

	/* CLOCK_MONOTONIC is answered by the vDSO; the CPU clock by the system call. */
	return clock_gettime(CLOCK_MONOTONIC, &mono) == 0 &&
	       syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0 &&
	       (mono.tv_sec || mono.tv_nsec) && (cpu.tv_sec || cpu.tv_nsec);
}

static bool try_getrlimit(struct child *c)
{
	struct rlimit nofile = { 0 };

	return getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur > 0;
}

/*
 * fuse-iomap's device registration on the /dev/fuse descriptor, always 3
 * in the server.  Here 3 is whatever it is: the kernel answers, not the
 * filter.
 */
static bool try_backing_open(struct child *c)
{
	struct fuse_backing_map map = { .fd = data_fd, .flags = FUSE_BACKING_TYPE_IOMAP };

	return ioctl(3, FUSE_DEV_IOC_BACKING_OPEN, &map) < 0 && errno != 0;
}

static const char *const allowed_steps[] = {
	"the filter is on in the child (Seccomp: 2 in its /proc/self/status)",
	"pread of a file opened before the filter returns its bytes",
	"write and read on a pipe made before the filter",
	"write, read, send and recv on a socketpair made before the filter",
	"pthread_create and pthread_join (clone3 answered ENOSYS, clone with CLONE_THREAD allowed)",
	"malloc of 8 MiB, written and read back",
	"clock_gettime, through the vDSO and through the system call",
	"getrlimit of our own limit",
	"ioctl FUSE_DEV_IOC_BACKING_OPEN on descriptor 3 reaches the kernel",
};

static void allowed_body(struct child *c, const void *arg)
{
	bool (*const steps[])(struct child *) = {
		filter_is_on,
		try_pread,
		try_pipe,
		try_socketpair,
		try_thread,
		try_malloc,
		try_clock,
		try_getrlimit,
		try_backing_open,
	};

	_Static_assert(ARRAY_SIZE(steps) == ARRAY_SIZE(allowed_steps), "one name per step");
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		bool pass;

		errno = 0;
		pass = steps[i](c);
		report(c, pass, errno);
	}
}

static void test_allowed(void)
{
	struct outcome o;

	run_child(allowed_body, NULL, &o);
	exited_zero(&o, "allowed work");
	for (size_t i = 0; i < ARRAY_SIZE(allowed_steps); i++) {
		if (i >= o.nres) {
			ok(0, "allowed work: %s", allowed_steps[i]);
			diag("  the child %s this step", i == o.nres ? "died in" : "was gone before");
		} else if (!ok(o.res[i].ret == 1, "allowed work: %s", allowed_steps[i])) {
			diag("  errno %d (%s)", o.res[i].err, strerror(o.res[i].err));
		}
	}
}

/* ---- 2. forbidden calls kill the child ---- */

struct forbidden {
	const char *name;
	long nr;
	long (*call)(long nr, struct child *c);
	bool forks;	/* returns 0 in a new process if it gets through */
};

static long call_open(long nr, struct child *c)
{
	return syscall(nr, "/dev/null", O_RDONLY | O_CLOEXEC);
}

static long call_openat(long nr, struct child *c)
{
	return syscall(nr, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC, 0);
}

static long call_openat2(long nr, struct child *c)
{
	/* struct open_how, spelt out for older headers */
	struct { uint64_t flags, mode, resolve; } how = { O_RDONLY | O_CLOEXEC, 0, 0 };

	return syscall(nr, AT_FDCWD, "/dev/null", &how, sizeof(how));
}

static long call_creat(long nr, struct child *c)
{
	return syscall(nr, NOWHERE, 0600);
}

static char *const no_argv[] = { (char *)NOWHERE, NULL };
static char *const no_envp[] = { NULL };

static long call_execve(long nr, struct child *c)
{
	return syscall(nr, NOWHERE, no_argv, no_envp);
}

static long call_execveat(long nr, struct child *c)
{
	return syscall(nr, AT_FDCWD, NOWHERE, no_argv, no_envp, 0);
}

static long call_socket(long nr, struct child *c)
{
	return syscall(nr, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static long call_bad_fd_ptr_len(long nr, struct child *c)	/* connect, bind */
{
	return syscall(nr, -1, NULL, 0);
}

static long call_accept4(long nr, struct child *c)
{
	return syscall(nr, -1, NULL, NULL, SOCK_CLOEXEC);
}

static long call_ptrace(long nr, struct child *c)
{
	/* We do not trace ourselves: ESRCH. */
	return syscall(nr, PTRACE_PEEKDATA, getpid(), c->page, NULL);
}

static long call_mount(long nr, struct child *c)
{
	return syscall(nr, "none", NOWHERE, "tmpfs", 0UL, NULL);
}

static long call_path_0(long nr, struct child *c)	/* umount2, chroot, truncate, unlink */
{
	return syscall(nr, NOWHERE, 0);
}

static long call_path_path(long nr, struct child *c)	/* pivot_root, link, symlink */
{
	return syscall(nr, NOWHERE, NOWHERE "2");
}

static long call_unshare(long nr, struct child *c)
{
	return syscall(nr, 0);
}

static long call_setns(long nr, struct child *c)
{
	return syscall(nr, -1, 0);
}

static long call_bpf(long nr, struct child *c)
{
	return syscall(nr, -1, NULL, 0);
}

static long call_keyctl(long nr, struct child *c)
{
	return syscall(nr, -1, 0, 0, 0, 0);
}

static long call_add_key(long nr, struct child *c)
{
	return syscall(nr, NULL, NULL, NULL, 0, 0);
}

/* Our own page, read or written through the other-process interface. */
static long call_process_vm(long nr, struct child *c)
{
	char buf[8] = "";
	struct iovec local = { buf, sizeof(buf) }, remote = { c->page, sizeof(buf) };

	return syscall(nr, getpid(), &local, 1, &remote, 1, 0);
}

static long call_perf_event_open(long nr, struct child *c)
{
	return syscall(nr, NULL, 0, -1, -1, 0);
}

static long call_userfaultfd(long nr, struct child *c)
{
	return syscall(nr, O_CLOEXEC);
}

static long call_io_uring_setup(long nr, struct child *c)
{
	return syscall(nr, 1, NULL);
}

static long call_init_module(long nr, struct child *c)
{
	return syscall(nr, NULL, 0UL, "");
}

static long call_kexec_load(long nr, struct child *c)
{
	/* Too many segments and an unknown flag: EINVAL even for root. */
	return syscall(nr, 0UL, 1000UL, NULL, 0x8000UL);
}

static long call_clone_fork(long nr, struct child *c)
{
	/* fork(2) as clone: no CLONE_THREAD */
	return syscall(nr, (unsigned long)SIGCHLD, 0UL, NULL, NULL, 0UL);
}

static long call_fork(long nr, struct child *c)
{
	return syscall(nr);
}

static long call_ioctl_tcgets(long nr, struct child *c)
{
	struct termios t;

	return syscall(nr, 0, TCGETS, &t);
}

static long call_ioctl_fuse_clone(long nr, struct child *c)
{
	uint32_t fuse_fd = (uint32_t)c->pipe[0];

	return syscall(nr, data_fd, FUSE_DEV_IOC_CLONE, &fuse_fd);
}

static long call_ioctl_backing_open_elsewhere(long nr, struct child *c)
{
	struct fuse_backing_map map = { .fd = data_fd, .flags = FUSE_BACKING_TYPE_IOMAP };

	return syscall(nr, c->pipe[0] == 3 ? c->pipe[1] : c->pipe[0], FUSE_DEV_IOC_BACKING_OPEN,
		       &map);
}

static long call_mmap_exec(long nr, struct child *c)
{
	return syscall(nr, NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static long call_mprotect_exec(long nr, struct child *c)
{
	return syscall(nr, c->page, PAGE, PROT_READ | PROT_EXEC);
}

static long call_pkey_mprotect_exec(long nr, struct child *c)
{
	return syscall(nr, c->page, PAGE, PROT_READ | PROT_EXEC, -1);
}

static long call_setuid(long nr, struct child *c)
{
	return syscall(nr, getuid());
}

static long call_prctl(long nr, struct child *c)
{
	return syscall(nr, PR_GET_DUMPABLE, 0UL, 0UL, 0UL, 0UL);
}

static long call_seccomp(long nr, struct child *c)
{
	uint32_t action = SECCOMP_RET_KILL_PROCESS;

	return syscall(nr, SECCOMP_GET_ACTION_AVAIL, 0, &action);
}

static long call_pipe2(long nr, struct child *c)
{
	int fds[2];

	return syscall(nr, fds, O_CLOEXEC);
}

static long call_memfd_create(long nr, struct child *c)
{
	return syscall(nr, "imgfs-unit-seccomp", MFD_CLOEXEC);
}

static long call_chmod(long nr, struct child *c)
{
	return syscall(nr, NOWHERE, 0600);
}

static long call_mknod(long nr, struct child *c)
{
	return syscall(nr, NOWHERE, S_IFIFO | 0600, 0);
}

static long call_socketpair(long nr, struct child *c)
{
	int sv[2];

	return syscall(nr, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
}

static long call_sendfile(long nr, struct child *c)
{
	return syscall(nr, -1, -1, NULL, 1UL);
}

static long call_splice(long nr, struct child *c)
{
	return syscall(nr, -1, NULL, -1, NULL, 1UL, 0U);
}

/* The conditional rules: prlimit64 may only read, and only our own limits. */
static long call_prlimit_set(long nr, struct child *c)
{
	struct rlimit cur;

	if (getrlimit(RLIMIT_NOFILE, &cur) < 0)
		return -2;
	return syscall(nr, 0, RLIMIT_NOFILE, &cur, NULL);	/* sets what is already set */
}

static long call_prlimit_other(long nr, struct child *c)
{
	struct rlimit cur;

	return syscall(nr, getppid(), RLIMIT_NOFILE, NULL, &cur);
}

#define CASE(name, call) { #name, SYS_##name, call, false }
static const struct forbidden forbidden[] = {
	CASE(open, call_open),
	CASE(openat, call_openat),
	CASE(openat2, call_openat2),
	CASE(creat, call_creat),
	CASE(execve, call_execve),
	CASE(execveat, call_execveat),
	CASE(socket, call_socket),
	CASE(connect, call_bad_fd_ptr_len),
	CASE(accept4, call_accept4),
	CASE(bind, call_bad_fd_ptr_len),
	CASE(ptrace, call_ptrace),
	CASE(mount, call_mount),
	CASE(umount2, call_path_0),
	CASE(pivot_root, call_path_path),
	CASE(chroot, call_path_0),
	CASE(unshare, call_unshare),
	CASE(setns, call_setns),
	CASE(bpf, call_bpf),
	CASE(keyctl, call_keyctl),
	CASE(add_key, call_add_key),
	CASE(process_vm_readv, call_process_vm),
	CASE(process_vm_writev, call_process_vm),
	CASE(perf_event_open, call_perf_event_open),
	CASE(userfaultfd, call_userfaultfd),
	CASE(io_uring_setup, call_io_uring_setup),
	CASE(init_module, call_init_module),
	CASE(kexec_load, call_kexec_load),
	{ "clone without CLONE_THREAD (fork)", SYS_clone, call_clone_fork, true },
	{ "fork", SYS_fork, call_fork, true },
	{ "ioctl TCGETS", SYS_ioctl, call_ioctl_tcgets, false },
	/* libfuse's clone_fd is off; the one ioctl is fuse-iomap's, on descriptor 3. */
	{ "ioctl FUSE_DEV_IOC_CLONE", SYS_ioctl, call_ioctl_fuse_clone, false },
	{ "ioctl FUSE_DEV_IOC_BACKING_OPEN on a descriptor other than 3", SYS_ioctl,
	  call_ioctl_backing_open_elsewhere, false },
	{ "mmap with PROT_EXEC", SYS_mmap, call_mmap_exec, false },
	{ "mprotect with PROT_EXEC", SYS_mprotect, call_mprotect_exec, false },
	{ "pkey_mprotect with PROT_EXEC", SYS_pkey_mprotect, call_pkey_mprotect_exec, false },
	CASE(setuid, call_setuid),
	CASE(prctl, call_prctl),
	CASE(seccomp, call_seccomp),
	CASE(pipe2, call_pipe2),
	CASE(memfd_create, call_memfd_create),
	CASE(truncate, call_path_0),
	CASE(link, call_path_path),
	CASE(unlink, call_path_0),
	CASE(chmod, call_chmod),
	CASE(symlink, call_path_path),
	CASE(mknod, call_mknod),
	CASE(socketpair, call_socketpair),
	CASE(sendfile, call_sendfile),
	CASE(splice, call_splice),
	{ "prlimit64 setting a limit", SYS_prlimit64, call_prlimit_set, false },
	{ "prlimit64 of another process", SYS_prlimit64, call_prlimit_other, false },
};
#undef CASE

static void forbidden_body(struct child *c, const void *arg)
{
	const struct forbidden *f = arg;
	long r;
	int e;

	report(c, 0, 0);		/* the filter is on and the call comes next */
	errno = 0;
	r = f->call(f->nr, c);
	e = errno;
	if (f->forks && r == 0)
		_exit(0);		/* the new process: gone at once */
	report(c, r, e);		/* must never happen */
}

static void test_forbidden(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(forbidden); i++) {
		const struct forbidden *f = &forbidden[i];
		struct outcome o;
		char buf[128];

		if (f->nr < 0) {
			for (int k = 0; k < 2; k++)
				ok(1, "forbidden %s # SKIP no such system call on this architecture",
				   f->name);
			continue;
		}
		run_child(forbidden_body, f, &o);
		if (!ok(o.status != -1 && WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGSYS,
			"forbidden %s: the child is killed by SIGSYS", f->name))
			diag("  the child %s", describe(o.status, buf, sizeof(buf)));
		if (!ok(o.nres == 1 && o.res[0].ret == 0,
			"forbidden %s: the child reached the call and ran nothing after it", f->name)) {
			if (o.nres == 0)
				diag("  the child never reached the call");
			else if (o.nres >= 2)
				diag("  the call returned %ld (errno %d: %s)", o.res[1].ret, o.res[1].err,
				     strerror(o.res[1].err));
		}
	}
}

/* ---- 3. calls the policy answers rather than kills ---- */

static void answered_body(struct child *c, const void *arg)
{
	/* struct clone_args v0 (64 bytes) as fork(2) would fill it: exit_signal SIGCHLD */
	uint64_t clone_args[8] = { [4] = SIGCHLD };
	long r;

	report(c, filter_is_on(c), 0);
	errno = 0;
	r = syscall(SYS_clone3, clone_args, sizeof(clone_args));
	if (r == 0)
		_exit(0);		/* a new process: the policy let it fork */
	report(c, r, errno);
	errno = 0;
	r = syscall(SYS_dup, c->pipe[0]);
	report(c, r, errno);
	/* glibc's perror() dups stderr first and writes directly when it cannot. */
	errno = EIO;
	perror("unit-seccomp: perror inside the filter (expected)");
	report(c, 1, 0);
}

static void test_answered(void)
{
	struct outcome o;

	if (SYS_clone3 < 0)
		diag("no clone3 on this architecture: its case is bound to fail");
	run_child(answered_body, NULL, &o);
	exited_zero(&o, "clone3");
	ok(o.nres > 0 && o.res[0].ret == 1, "clone3: the filter is on in the child");
	if (!ok(o.nres > 1 && o.res[1].ret == -1 && o.res[1].err == ENOSYS,
		"clone3 fails with ENOSYS, so glibc falls back to clone") && o.nres > 1)
		diag("  clone3 returned %ld (errno %d: %s)", o.res[1].ret, o.res[1].err,
		     strerror(o.res[1].err));
	if (!ok(o.nres > 2 && o.res[2].ret == -1 && o.res[2].err == EPERM,
		"dup fails with EPERM: no new descriptor") && o.nres > 2)
		diag("  dup returned %ld (errno %d: %s)", o.res[2].ret, o.res[2].err,
		     strerror(o.res[2].err));
	ok(o.nres > 3 && o.res[3].ret == 1,
	   "perror (which libfuse calls on device errors) returns instead of killing");
}

/* ---- 4. the parser ---- */

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	int r = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) == EOF)
		r = -EIO;
	if (fclose(f) == EOF && !r)
		r = -EIO;
	return r;
}

static int policy_count;

/* Write @text as a new policy file; its path goes to @path. */
static void make_policy(char *path, size_t size, const char *text)
{
	int r;

	snprintf(path, size, "%s/policy-%d.seccomp", tmpdir, ++policy_count);
	r = write_file(path, text);
	if (r < 0)
		diag("cannot write %s: %s", path, strerror(-r));
}

static void expect_parse_error(const char *what, const char *text, unsigned line,
			       const char *needle)
{
	struct imgfs_seccomp *filter = NULL;
	struct imgfs_error err = { 0 };
	char path[PATH_MAX], where[PATH_MAX + 32];
	int r;

	make_policy(path, sizeof(path), text);
	r = imgfs_seccomp_parse(path, &filter, &err);
	is_int(r, -EINVAL, "parse, %s: fails with -EINVAL", what);
	if (!ok(filter == NULL, "parse, %s: returns no filter", what))
		imgfs_seccomp_free(filter);
	snprintf(where, sizeof(where), "%s:%u:", path, line);
	if (!ok(strstr(err.msg, where) && (!needle || strstr(err.msg, needle)),
		"parse, %s: the message names %s%s%s", what, where, needle ? " and " : "",
		needle ? needle : ""))
		diag("  message: %s", err.msg);
}

static void test_parser(void)
{
	char overlong[4096], path[PATH_MAX];
	struct imgfs_seccomp *filter = NULL;
	struct imgfs_error err = { 0 };
	int r;

	expect_parse_error("unknown system call",
			   "# comment\n\nread\nnot_a_syscall\nwrite\n", 4, "not_a_syscall");
	expect_parse_error("unknown system call on a last line without newline",
			   "read\nwrite\nbogus_call", 3, "bogus_call");
	expect_parse_error("argument number out of range",
			   "read\nwrite arg9==1\n", 2, "arg9==1");
	expect_parse_error("unknown operator",
			   "read\n   # indented comment\nwrite arg0~~1\n", 3, "arg0~~1");
	expect_parse_error("unknown value name",
			   "read\nmmap arg2&PROT_BOGUS==0\n", 2, "arg2&PROT_BOGUS==0");
	expect_parse_error("unknown error name",
			   "read\nwrite\n\nclone3 errno=EWHATEVER\n", 4, "EWHATEVER");
	snprintf(overlong, sizeof(overlong), "read\n# fine\nwrite arg0==1 %*s\nclose\n", 2000, "#");
	expect_parse_error("overlong line", overlong, 3, NULL);

	snprintf(path, sizeof(path), "%s/does-not-exist.seccomp", tmpdir);
	r = imgfs_seccomp_parse(path, &filter, &err);
	is_int(r, -ENOENT, "parse, missing file: fails with -ENOENT");
	if (!ok(strstr(err.msg, path) != NULL, "parse, missing file: the message names the path"))
		diag("  message: %s", err.msg);
	if (filter)
		imgfs_seccomp_free(steal_pointer(&filter));

	make_policy(path, sizeof(path), "# nothing but comments\n\n   # indented\n\t\n");
	r = imgfs_seccomp_parse(path, &filter, &err);
	if (!ok(r == 0 && filter, "parse, comment-only policy: parses"))
		diag("  %d: %s", r, err.msg);
	if (filter)
		imgfs_seccomp_free(steal_pointer(&filter));

	make_policy(path, sizeof(path),
		    "clone arg0&CLONE_THREAD|CLONE_VM==CLONE_THREAD|CLONE_VM  # names joined\n"
		    "ioctl arg1==0x8004e500\n"
		    "write arg0!=1\n"
		    "prlimit64 arg0==0 arg2==0\n"
		    "\tclone3 errno=ENOSYS\n");
	r = imgfs_seccomp_parse(path, &filter, &err);
	if (!ok(r == 0 && filter, "parse, every rule form: parses"))
		diag("  %d: %s", r, err.msg);
	if (filter)
		imgfs_seccomp_free(steal_pointer(&filter));

	/* Parsing (never installing) the real policy here is harmless. */
	r = imgfs_seccomp_parse(policy, &filter, &err);
	if (!ok(r == 0 && filter, "parse, the real policy %s: parses", policy))
		diag("  %d: %s", r, err.msg);
	if (filter)
		imgfs_seccomp_free(steal_pointer(&filter));
}

/* ---- setup ---- */

/* The Seccomp: and Seccomp_filters: lines of our own status. */
static void seccomp_state(char *out, size_t size)
{
	char buf[8192];
	FILE *f = fopen("/proc/self/status", "re");
	size_t len = 0;

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "Seccomp", 7) && len < size)
			len += snprintf(out + len, size - len, "%s", buf);
	fclose(f);
}

static int make_data_file(void)
{
	unsigned char buf[DATA_SIZE];
	char path[PATH_MAX];
	int fd;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = data_pattern(i);
	snprintf(path, sizeof(path), "%s/data", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static void remove_tmpdir(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/data", tmpdir);
	unlink(path);
	for (int i = 1; i <= policy_count; i++) {
		snprintf(path, sizeof(path), "%s/policy-%d.seccomp", tmpdir, i);
		unlink(path);
	}
	rmdir(tmpdir);
}

int main(void)
{
	static char policy_path[PATH_MAX];
	const char *srcdir = getenv("top_srcdir");
	char before[256], after[256];
	int ret;

#ifdef IMGFS_SRCDIR
	if (!srcdir || !*srcdir)
		srcdir = IMGFS_SRCDIR;
#endif
	if (!srcdir || !*srcdir)
		skip_all("top_srcdir is not set: cannot find the seccomp policy");
	snprintf(policy_path, sizeof(policy_path), "%s/seccomp/%s", srcdir, IMGFS_SECCOMP_POLICY);
	policy = policy_path;
	if (access(policy, R_OK) < 0)
		skip_all("cannot read the policy %s: %s", policy, strerror(errno));
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL)
		skip_all("the kernel has no seccomp");

	if ((size_t)snprintf(tmpdir, sizeof(tmpdir), "%s/imgfs-unit-seccomp.XXXXXX",
			     getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") >= sizeof(tmpdir))
		skip_all("TMPDIR is too long");
	if (!mkdtemp(tmpdir))
		skip_all("mkdtemp %s: %s", tmpdir, strerror(errno));
	data_fd = make_data_file();
	if (data_fd < 0) {
		remove_tmpdir();
		skip_all("cannot write the data file: %s", strerror(-data_fd));
	}

	seccomp_state(before, sizeof(before));
	test_allowed();
	test_forbidden();
	test_answered();
	test_parser();
	seccomp_state(after, sizeof(after));
	if (!ok(before[0] && !strcmp(before, after), "the test process itself installed no filter"))
		diag("  before:\n%s  after:\n%s", before, after);

	close(data_fd);
	remove_tmpdir();
	ret = done_testing();
	return ret;
}
