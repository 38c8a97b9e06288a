/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pagecache FILE: how many bytes of FILE, a regular file or a block
 * device, are in the page cache, by mmap and mincore.
 *
 * tests/qemu/init.sh uses it where the kernel keeps no per-process I/O
 * accounting (no /proc/PID/io): imgfs-server reads an image through its
 * block device's page cache, while the kernel's fuse-iomap reads go to
 * the file's own pages, so the device's cached bytes growing by a file's
 * size means the server read that file.  Root only for block devices:
 * mincore reports on a shared file mapping to whoever may write the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHUNK (64ULL << 20)

/* Cached bytes of [@off, @off + @len) of @fd, added to *@total. */
static int count_chunk(int fd, uint64_t off, uint64_t len, long page, uint64_t *total)
{
	size_t pages = (size_t)((len + (uint64_t)page - 1) / (uint64_t)page);
	unsigned char *vec = malloc(pages);
	void *p;
	int r = 0;

	if (!vec)
		return -ENOMEM;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
	if (p == MAP_FAILED) {
		free(vec);
		return -errno;
	}
	if (mincore(p, len, vec) < 0) {
		r = -errno;
	} else {
		for (size_t i = 0; i < pages; i++)
			if (vec[i] & 1)
				*total += (uint64_t)page;
	}
	munmap(p, len);
	free(vec);
	return r;
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t size, total = 0;
	off_t end;
	int fd, r = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: pagecache FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (end = lseek(fd, 0, SEEK_END)) < 0) {
		fprintf(stderr, "pagecache: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	size = (uint64_t)end;
	for (uint64_t off = 0; off < size && r == 0; off += CHUNK)
		r = count_chunk(fd, off, size - off < CHUNK ? size - off : CHUNK, page, &total);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "pagecache: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	printf("%" PRIu64 "\n", total);
	return 0;
}
