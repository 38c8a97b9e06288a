/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>

#include "util.h"

static const char *log_prog = "imgfs";
static enum imgfs_log_level log_max = IMGFS_LOG_INFO;
static int log_fd = -1;		/* connected to /dev/log, or -1: stderr */
static pid_t log_pid;

/*
 * Our own syslog client rather than syslog(3): glibc reconnects (socket,
 * connect) whenever a send fails, and the sandboxed server may make
 * neither call.  The socket is connected once, here, before the sandbox;
 * if the log daemon goes away later, messages are dropped.
 */
static int connect_syslog(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void imgfs_log_setup(const char *prog, enum imgfs_log_level max_level, bool use_syslog)
{
	log_prog = prog;
	log_max = max_level;
	log_pid = getpid();
	if (use_syslog && log_fd < 0)
		log_fd = connect_syslog();
	else if (!use_syslog && log_fd >= 0) {
		close(log_fd);
		log_fd = -1;
	}
}

int imgfs_log_fd(void)
{
	return log_fd;
}

const char *imgfs_log_prog(void)
{
	return log_prog;
}

void imgfs_log(enum imgfs_log_level level, const char *fmt, ...)
{
	static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	va_list ap;
	int saved_errno = errno;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fd >= 0) {
		char line[1100];
		int n = snprintf(line, sizeof(line), "<%d>%s[%d]: %s", LOG_DAEMON | syslog_prio[level],
				 log_prog, (int)log_pid, msg);

		send(log_fd, line, MIN((size_t)n, sizeof(line) - 1), MSG_DONTWAIT | MSG_NOSIGNAL);
	} else
		fprintf(stderr, "%s: %s%s\n", log_prog,
			level == IMGFS_LOG_WARN ? "warning: " : "", msg);
	errno = saved_errno;
}

void imgfs_uuid_format(const uint8_t u[16], char text[37])
{
	snprintf(text, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}

int parse_u64(const char *s, uint64_t *out)
{
	const char *digits = s;
	unsigned long long v;
	int base = 10, shift = 0;
	char *end;

	/* Decimal, or hex with 0x: a leading zero is not octal here. */
	if (s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		digits = s + 2;
		base = 16;
	}
	if (!s || !(base == 16 ? isxdigit((unsigned char)*digits) : isdigit((unsigned char)*digits)))
		return -EINVAL;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int for_each_option(char *opts, int (*each)(const char *key, const char *val, void *ctx),
		    void *ctx)
{
	char *save = NULL;

	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char *val = strchr(o, '=');
		int r;

		if (val)
			*val++ = '\0';
		r = each(o, val, ctx);
		if (r < 0)
			return r;
	}
	return 0;
}

int read_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* past the end of the image */
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int imgfs_error_set(struct imgfs_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

int write_string_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return write_all(fd, text, strlen(text));
}

int open_regular(const char *path, int flags, bool block_ok, int *fd)
{
	/*
	 * O_NONBLOCK: opening a FIFO would otherwise wait for a writer
	 * forever, and a tty or tape could wait for a carrier or a medium.
	 * Only once the type is known is the descriptor made blocking again.
	 */
	_cleanup_close_ int f = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (f < 0)
		return -errno;
	if (fstat(f, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode) && !(block_ok && S_ISBLK(st.st_mode)))
		return -EINVAL;
	if (!(flags & O_NONBLOCK) && fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK) < 0)
		return -errno;
	*fd = steal_fd(&f);
	return 0;
}

void cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

bool cond_wait_unless_stopped(pthread_cond_t *cond, pthread_mutex_t *lock, const bool *stop,
			      unsigned ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!*stop && pthread_cond_timedwait(cond, lock, &until) != ETIMEDOUT)
		;
	return *stop;
}
