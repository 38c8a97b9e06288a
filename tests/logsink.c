/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * logsink PATH: a stand-in system logger for tests.  Binds a datagram
 * socket at PATH (as syslogd binds /dev/log), prints every message it
 * receives on its own line, and exits on SIGTERM or SIGINT, removing PATH.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction act = { .sa_handler = on_signal };
	char msg[2048];
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: logsink PATH\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "logsink: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	chmod(argv[1], 0666);
	/* No SA_RESTART: a signal must end the recv below. */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (!stop) {
		ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		msg[n] = '\0';
		printf("%s\n", msg);
	}
	unlink(argv[1]);
	return 0;
}
