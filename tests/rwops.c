/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rwops: the few system calls the read-write workload (tests/rw-workload.sh)
 * needs and coreutils has no command for.  Each prints one line, the
 * outcome as a name ("ok", "EEXIST", ...), so that the workload's log can
 * be compared between two drivers, and exits 0 either way (2 on a usage
 * error).
 *
 *   rwops rename noreplace|exchange|whiteout|plain OLD NEW
 *                                  renameat2(2) with that flag
 *   rwops mksock PATH              bind(2) an AF_UNIX socket there
 *   rwops fsync PATH               open and fsync(2)
 *   rwops fdatasync PATH           open and fdatasync(2)
 *   rwops syncfs PATH              open and syncfs(2)
 *   rwops holes PATH               the file's data ranges, as SEEK_DATA and
 *                                  SEEK_HOLE report them: "data A-B ..."
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EXDEV: return "EXDEV";
	case EBUSY: return "EBUSY";
	case ENOSPC: return "ENOSPC";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOSYS: return "ENOSYS";
	case EROFS: return "EROFS";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case EIO: return "EIO";
	default: return strerror(e);
	}
}

static int done(int r)
{
	puts(errname(r < 0 ? errno : 0));
	return 0;
}

static int do_holes(const char *path)
{
	int fd = open(path, O_RDONLY);
	off_t pos = 0, data, hole;

	if (fd < 0)
		return done(-1);
	for (;;) {
		data = lseek(fd, pos, SEEK_DATA);
		if (data < 0) {
			if (errno != ENXIO)
				printf("SEEK_DATA: %s", errname(errno));
			break;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			printf("SEEK_HOLE: %s", errname(errno));
			break;
		}
		printf("data %lld-%lld ", (long long)data, (long long)hole);
		pos = hole;
	}
	putchar('\n');
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "rename")) {
		unsigned int flags;

		if (!strcmp(argv[2], "noreplace"))
			flags = RENAME_NOREPLACE;
		else if (!strcmp(argv[2], "exchange"))
			flags = RENAME_EXCHANGE;
		else if (!strcmp(argv[2], "whiteout"))
			flags = RENAME_WHITEOUT;
		else if (!strcmp(argv[2], "plain"))
			flags = 0;
		else
			goto usage;
		return done((int)syscall(SYS_renameat2, AT_FDCWD, argv[3], AT_FDCWD, argv[4],
					 flags));
	}
	if (argc == 3 && !strcmp(argv[1], "mksock")) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0), r;

		if (fd < 0 || strlen(argv[2]) >= sizeof(sa.sun_path))
			return done(-1);
		strcpy(sa.sun_path, argv[2]);
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		return done(r);
	}
	if (argc == 3 && (!strcmp(argv[1], "fsync") || !strcmp(argv[1], "fdatasync") ||
			  !strcmp(argv[1], "syncfs"))) {
		int fd = open(argv[2], O_RDONLY), r;

		if (fd < 0)
			return done(-1);
		if (argv[1][1] == 's')
			r = fsync(fd);
		else if (argv[1][1] == 'd')
			r = fdatasync(fd);
		else
			r = syncfs(fd);
		if (r < 0) {
			done(r);
			close(fd);
			return 0;
		}
		close(fd);
		return done(0);
	}
	if (argc == 3 && !strcmp(argv[1], "holes"))
		return do_holes(argv[2]);
usage:
	fprintf(stderr, "usage: rwops rename noreplace|exchange|whiteout|plain OLD NEW\n"
		"       rwops mksock|fsync|fdatasync|syncfs|holes PATH\n");
	return 2;
}
