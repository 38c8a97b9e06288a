/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * upsert-oops: the smallest FUSE server we know that oopses a kernel with
 * the fuse-iomap v7 series (docs/kernel-notes.md).  Not part of any test:
 * it crashes the machine it runs on.  Run it as root (CAP_SYS_RAWIO, for
 * iomap) inside a throwaway VM booted with fuse.enable_iomap=1:
 *
 *   cc -O2 -static -o upsert-oops tests/qemu/upsert-oops.c
 *   ./upsert-oops /mnt        # an empty directory to mount on
 *
 * What it sends, all well formed:
 *   1. INIT reply: minor 99, FUSE_INIT_EXT, FUSE_IOMAP (flags2 bit 11);
 *   2. IOMAP_CONFIG reply: 4 KiB blocks;
 *   3. LOOKUP "f" reply: a regular file, node 2, WITHOUT FUSE_ATTR_IOMAP,
 *      so the kernel sets its inode up for the classic I/O paths;
 *   4. on OPEN of node 2: FUSE_NOTIFY_IOMAP_UPSERT_MAPPINGS for node 2, one
 *      hole mapping (no device needed), then the OPEN reply.
 * Step 4 is where the kernel dereferences an iomap cache that inode never
 * had.  A fixed kernel answers the notification with an error instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* From the v7 uapi (include/uapi/linux/fuse.h of the series). */
#define REPRO_IOMAP_MINOR		99
#define REPRO_FUSE_IOMAP_FLAGS2		(1U << 11)	/* FUSE_IOMAP, bit 43 */
#define REPRO_IOMAP_CONFIG		4092
#define REPRO_NOTIFY_UPSERT		100
#define REPRO_TYPE_HOLE			0
#define REPRO_TYPE_NOCACHE		253
#define REPRO_NULL_ADDR			UINT64_MAX
#define REPRO_CONFIG_BLOCKSIZE		(1ULL << 2)
#define REPRO_CONFIG_MAXBYTES		(1ULL << 5)

struct repro_iomap_io {
	uint64_t offset, length, addr;
	uint16_t type, flags;
	uint32_t dev;
};

struct repro_upsert_out {
	uint64_t nodeid, attr_ino;
	struct repro_iomap_io read, write;
};

struct repro_config_out {
	uint64_t flags;
	char s_id[32];
	char s_uuid[16];
	uint8_t s_uuid_len, s_pad[3];
	uint32_t s_blocksize, s_max_links, s_time_gran;
	int64_t s_time_min, s_time_max, s_maxbytes;
	uint32_t cache_maxbytes, pad;
};

static int fuse_fd;

static int send_msg(uint64_t unique, int32_t error, const void *arg, size_t len)
{
	struct fuse_out_header h = { .len = sizeof(h) + len, .error = error, .unique = unique };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)arg, len } };

	if (writev(fuse_fd, iov, len ? 2 : 1) < 0) {
		fprintf(stderr, "upsert-oops: write (code/error %d): %s\n", error, strerror(errno));
		return -errno;
	}
	return 0;
}

static void fill_attr(struct fuse_attr *a, uint64_t ino, uint32_t mode)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = mode;
	a->nlink = 1;
	a->size = S_ISREG(mode) ? 4096 : 0;
	a->blksize = 4096;
}

/* The child: mount, then look the file up and open it. */
static int client(const char *dir)
{
	char opts[128];
	int fd;

	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fuse_fd);
	if (mount("repro", dir, "fuse.repro", MS_RDONLY | MS_NOSUID | MS_NODEV, opts) < 0) {
		perror("upsert-oops: mount");
		return 1;
	}
	fd = open(strcat(strcpy(opts, dir), "/f"), O_RDONLY);
	printf("upsert-oops: open: %s; the kernel survived\n", fd < 0 ? strerror(errno) : "ok");
	umount2(dir, MNT_DETACH);
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[1 << 17];
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: upsert-oops DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	fuse_fd = open("/dev/fuse", O_RDWR);
	if (fuse_fd < 0) {
		perror("upsert-oops: /dev/fuse");
		return 1;
	}
	pid = fork();
	if (pid == 0)
		_exit(client(argv[1]));

	for (;;) {
		struct fuse_in_header *in = (void *)buf;
		void *arg = in + 1;
		ssize_t n = read(fuse_fd, buf, sizeof(buf));

		if (n < 0 && errno == EPERM) {
			usleep(10000);	/* not mounted yet */
			continue;
		}
		if (n < (ssize_t)sizeof(*in))
			break;
		if (getenv("REPRO_TRACE"))
			printf("upsert-oops: opcode %u node %llu\n", in->opcode, (unsigned long long)in->nodeid);
		switch (in->opcode) {
		case FUSE_INIT: {
			struct fuse_init_out out = {
				.major = FUSE_KERNEL_VERSION, .minor = REPRO_IOMAP_MINOR,
				.max_readahead = 65536, .flags = FUSE_INIT_EXT, .max_write = 65536,
				.flags2 = REPRO_FUSE_IOMAP_FLAGS2, .max_pages = 16,
			};
			struct fuse_init_in *init = arg;

			printf("upsert-oops: INIT %u.%u flags2 %#x\n", init->major, init->minor,
			       init->flags2);
			send_msg(in->unique, 0, &out, sizeof(out));
			break;
		}
		case REPRO_IOMAP_CONFIG: {
			struct repro_config_out out = {
				.flags = REPRO_CONFIG_BLOCKSIZE | REPRO_CONFIG_MAXBYTES,
				.s_blocksize = 4096, .s_maxbytes = 1LL << 40,
			};

			send_msg(in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out out = { 0 };

			fill_attr(&out.attr, in->nodeid, in->nodeid == FUSE_ROOT_ID ?
				  S_IFDIR | 0755 : S_IFREG | 0644);
			send_msg(in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out out = { .nodeid = 2, .generation = 1 };

			if (strcmp(arg, "f") != 0) {
				send_msg(in->unique, -ENOENT, NULL, 0);
				break;
			}
			fill_attr(&out.attr, 2, S_IFREG | 0644);	/* no FUSE_ATTR_IOMAP */
			send_msg(in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_OPEN: {
			struct repro_upsert_out up = {
				.nodeid = in->nodeid, .attr_ino = in->nodeid,
				.read = { .offset = 0, .length = 4096, .addr = REPRO_NULL_ADDR,
					  .type = REPRO_TYPE_HOLE },
				.write = { .addr = REPRO_NULL_ADDR, .type = REPRO_TYPE_NOCACHE },
			};
			struct fuse_open_out out = { 0 };

			printf("upsert-oops: upserting a mapping for node %llu\n",
			       (unsigned long long)in->nodeid);
			fflush(stdout);
			send_msg(0, REPRO_NOTIFY_UPSERT, &up, sizeof(up));
			send_msg(in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
			break;
		default:
			send_msg(in->unique, -ENOSYS, NULL, 0);
			break;
		}
	}
	waitpid(pid, NULL, 0);
	return 0;
}
