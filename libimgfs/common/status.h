/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What helper and server say to each other while a mount starts: the
 * descriptor numbers the server is given, and the status records.
 *
 * The helper passes the server exactly four descriptors at fixed numbers
 * and an empty environment: /dev/fuse, the image (metadata reads), the
 * status socket, and a second open file description of the image for
 * file data (see struct imgfs_image).  Over the status socket (SOCK_SEQPACKET, one
 * message per record, first byte the kind):
 *
 *   server -> helper  'O'            filesystem opened, ready to be mounted
 *   server -> helper  'E' message    could not open; message is for the user
 *   helper -> server  'M' [fd]       the helper mounted the descriptor; with
 *                                    the connection's fusectl "abort" file
 *                                    when it could open it (see sandbox.h)
 *   server -> helper  'R' data-path  INIT answered: the mount serves, and
 *                                    this is how file data flows, and why
 *
 * A closed socket means "give up" in either direction.
 */
#ifndef IMGFS_STATUS_H
#define IMGFS_STATUS_H

#include <stddef.h>

#define IMGFS_SERVER_FUSE_FD 3
#define IMGFS_SERVER_IMAGE_FD 4
#define IMGFS_SERVER_STATUS_FD 5
#define IMGFS_SERVER_DATA_FD 6
#define IMGFS_SERVER_LAST_FD IMGFS_SERVER_DATA_FD

enum imgfs_status_kind {
	IMGFS_STATUS_OPENED = 'O',
	IMGFS_STATUS_ERROR = 'E',
	IMGFS_STATUS_MOUNTED = 'M',
	IMGFS_STATUS_READY = 'R',
};

/* Send one status record of @kind with an optional text. */
int imgfs_status_send(int fd, char kind, const char *text);
/* The same, passing descriptor @passfd along (SCM_RIGHTS) unless it is -1. */
int imgfs_status_send_fd(int fd, char kind, const char *text, int passfd);

/*
 * Receive one status record: returns its kind with the text in @text, or
 * 0 when the peer closed the socket, or -errno.
 */
int imgfs_status_recv(int fd, char *text, size_t size);
/* The same; a descriptor passed along lands in *@passfd (else -1). */
int imgfs_status_recv_fd(int fd, char *text, size_t size, int *passfd);

#endif
