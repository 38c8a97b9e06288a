/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The status records between helper and server (status.h). */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "status.h"
#include "util.h"

int imgfs_status_send_fd(int fd, char kind, const char *text, int passfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control = { 0 };
	char msg[600];
	struct iovec iov = { msg, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	msg[0] = kind;
	if (text) {
		iov.iov_len += MIN(strlen(text), sizeof(msg) - 1);
		memcpy(msg + 1, text, iov.iov_len - 1);
	}
	if (passfd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int imgfs_status_send(int fd, char kind, const char *text)
{
	return imgfs_status_send_fd(fd, kind, text, -1);
}

int imgfs_status_recv_fd(int fd, char *text, size_t size, int *passfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	char msg[600];
	struct iovec iov = { msg, sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (passfd) {
		*passfd = -1;
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
	}
	do {
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (passfd && mh.msg_controllen) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(passfd, CMSG_DATA(c), sizeof(int));
	}
	if (n == 0)
		return 0;
	if (text && size) {
		size_t len = MIN((size_t)n - 1, size - 1);

		memcpy(text, msg + 1, len);
		text[len] = '\0';
	}
	return (unsigned char)msg[0];
}

int imgfs_status_recv(int fd, char *text, size_t size)
{
	return imgfs_status_recv_fd(fd, text, size, NULL);
}
