/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mmp-tool IMAGE HOLD [--seccomp]: take an ext4 image's multi-mount
 * protection as a read-write imgfs server would (ext4_mmp_start), hold it
 * HOLD seconds, then let go (ext4_mmp_stop).  For tests/mmp.sh, which
 * checks the MMP block with debugfs meanwhile, until end-to-end rw mounts
 * exist.  With --seccomp the server's policy is on, as in the sandbox.
 *
 * Prints "started" once it holds the filesystem (or "refused: MESSAGE",
 * exit 1), then "kept" or "lost" after HOLD seconds, then "stopped".
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ext4/ext4.h"
#include "fs.h"
#include "image.h"
#include "sandbox/seccomp-policy.h"
#include "util.h"

/* One line on stdout: write(2), in the seccomp policy, and unbuffered. */
static void say(const char *what, const char *text)
{
	char line[700];
	int n = snprintf(line, sizeof(line), "%s%s\n", what, text ? text : "");

	if (n > 0 && write_all(1, line, MIN((size_t)n, sizeof(line) - 1)) < 0)
		exit(3);
}

int main(int argc, char **argv)
{
	struct imgfs_image *img = NULL;
	struct imgfs_fs *fs = NULL;
	struct imgfs_error err = { 0 };
	struct timespec hold = { 0 };
	struct stat st;
	int fd;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--seccomp"))) {
		fprintf(stderr, "usage: mmp-tool IMAGE HOLD-SECONDS [--seccomp]\n");
		return 2;
	}
	imgfs_log_setup("mmp-tool", IMGFS_LOG_INFO, false);
	hold.tv_sec = atoi(argv[2]);
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(argv[1]);
		return 2;
	}
	/*
	 * Opened read-only, as the backend still insists, then marked
	 * writable: the descriptor is, and that is all mmp.c looks at.
	 */
	if (imgfs_image_from_fd(fd, -1, argv[1], 0, (uint64_t)st.st_size, "ext4", false, &img,
				&err) < 0 ||
	    imgfs_fs_open(img, &fs, &err) < 0) {
		fprintf(stderr, "mmp-tool: %s\n", err.msg);
		return 2;
	}
	img->writable = true;
	if (argc == 4) {
		char policy[PATH_MAX];
		struct imgfs_seccomp *filter = NULL;

		snprintf(policy, sizeof(policy), "%s/seccomp/%s", IMGFS_SRCDIR,
			 IMGFS_SECCOMP_POLICY);
		if (imgfs_seccomp_parse(policy, &filter, &err) < 0 ||
		    imgfs_seccomp_install(filter, &err) < 0) {
			fprintf(stderr, "mmp-tool: %s\n", err.msg);
			return 2;
		}
		imgfs_seccomp_free(filter);
	}
	if (ext4_mmp_start(EXT4(fs), &err) < 0) {
		say("refused: ", err.msg);
		return 1;
	}
	say("started", NULL);
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &hold, &hold) == EINTR)
		;
	say(ext4_mmp_lost(EXT4(fs)) ? "lost" : "kept", NULL);
	ext4_mmp_stop(EXT4(fs));
	say("stopped", NULL);
	imgfs_fs_close(fs);
	imgfs_image_close(img);
	return 0;
}
