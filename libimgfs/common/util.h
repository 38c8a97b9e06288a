/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small helpers shared by the whole tree: resource cleanup attributes,
 * logging, and checked arithmetic for sizes that come from untrusted images.
 */
#ifndef IMGFS_UTIL_H
#define IMGFS_UTIL_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Filesystem metadata is corrupt (the kernel's EFSCORRUPTED). */
#ifndef EUCLEAN
#define EUCLEAN 117
#endif
#define EFSCORRUPTED EUCLEAN

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Release resources when a variable goes out of scope, on every path. */
static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand ownership out of a cleanup variable. */
#define steal_pointer(pp) ({ typeof(*(pp)) _p = *(pp); *(pp) = NULL; _p; })
#define steal_fd(fdp) ({ int _fd = *(fdp); *(fdp) = -1; _fd; })

enum imgfs_log_level {
	IMGFS_LOG_NONE = -1,	/* as a maximum: log nothing (fuzzing) */
	IMGFS_LOG_ERR,
	IMGFS_LOG_WARN,
	IMGFS_LOG_INFO,
	IMGFS_LOG_DEBUG,
};

/*
 * Log sink for the whole process: "prog: message" on stderr, or syslog
 * when the program runs detached.  Messages above @max_level are dropped.
 */
void imgfs_log_setup(const char *prog, enum imgfs_log_level max_level, bool use_syslog);
void imgfs_log(enum imgfs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *imgfs_log_prog(void);
/* The syslog socket the log writes to, or -1 (then it writes to stderr). */
int imgfs_log_fd(void);

#define log_err(...) imgfs_log(IMGFS_LOG_ERR, __VA_ARGS__)
#define log_warn(...) imgfs_log(IMGFS_LOG_WARN, __VA_ARGS__)
#define log_info(...) imgfs_log(IMGFS_LOG_INFO, __VA_ARGS__)
#define log_debug(...) imgfs_log(IMGFS_LOG_DEBUG, __VA_ARGS__)

/*
 * Report corrupt metadata once and return -EUCLEAN, so a parser's error
 * site is one line:  return fs_corrupt("inode %llu: bad extent header", ino);
 * The one way to say it: a backend's own helper only adds its prefix
 * (xfs_fs_corrupt()) or its error codes' text (ext4_errno()).
 */
#define fs_corrupt(...) (log_err(__VA_ARGS__), -EUCLEAN)

/*
 * An error to show the user: a negative errno for the caller's logic and
 * one line of text saying what and why.  Library entry points that face
 * users fill one; parsers deep inside only log and return -errno.
 */
struct imgfs_error {
	int code;
	char msg[512];
};

/* Fill @err (if not NULL) and return -@code. */
int imgfs_error_set(struct imgfs_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Split a -o list ("a,b=c") in place and call @each(key, value or NULL,
 * @ctx) for every item; stops at and returns the first negative result.
 */
int for_each_option(char *opts, int (*each)(const char *key, const char *val, void *ctx),
		    void *ctx);

/* A 16-byte UUID as text, "01234567-89ab-cdef-0123-456789abcdef". */
void imgfs_uuid_format(const uint8_t uuid[16], char text[37]);

/* Parse an unsigned decimal (or 0x hex) number with an optional k/m/g/t suffix. */
int parse_u64(const char *s, uint64_t *out);

/* Read or write all of a buffer, retrying on EINTR and short transfers. */
int read_full(int fd, void *buf, size_t len, off_t off);
ssize_t read_all(int fd, void *buf, size_t len);
int write_all(int fd, const void *buf, size_t len);
/* Write @text to an existing file such as /proc/PID/uid_map; 0 or -errno. */
int write_string_file(const char *path, const char *text);
/*
 * Open @path with @flags (O_CLOEXEC and O_NOCTTY added) only if it is a
 * regular file, or a block device when @block_ok: a directory is
 * -EISDIR, anything else -EINVAL, and a FIFO or a device cannot block the open.  0 or -errno.
 */
int open_regular(const char *path, int flags, bool block_ok, int *fd);

/* A condition variable whose timed waits count CLOCK_MONOTONIC time. */
void cond_init_monotonic(pthread_cond_t *cond);
/*
 * For a thread that works every so often until told to stop: with @lock
 * held, wait on @cond for @ms milliseconds, or until *@stop is set (and
 * @cond signalled).  Returns *@stop.
 */
bool cond_wait_unless_stopped(pthread_cond_t *cond, pthread_mutex_t *lock, const bool *stop,
			      unsigned ms);

#endif
