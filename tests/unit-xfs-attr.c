/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XFS extended attributes against the kernel's own XFS driver.
 *
 * Images are made with mkfs.xfs (1k and 4k blocks) and filled through a
 * read-write loop mount with setxattr(2), setfattr and setfacl, so that
 * every attr fork format appears: shortform, a single leaf, node trees of
 * one and two levels (and a 64k-block image, whose leaves are that big), remote values up to 64 KiB over fragmented forks,
 * names whose hashes collide across leaf boundaries, all namespaces and
 * POSIX ACLs.  xfs_db confirms each file has the format it is meant to.
 * Then the image is mounted read-only and every name and value the kernel
 * returns must come out of the backend, and nothing else: the ACLs as
 * system.posix_acl_* and, raw, as trusted.SGI_ACL_*, as the kernel lists
 * them to root.  Finally blocks are corrupted with valid
 * CRCs (and without): the backend must answer EUCLEAN, not crash.
 *
 * Needs root (loop mounts) and xfsprogs; skips otherwise.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fs.h"
#include "image.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

static char tmpdir[] = "/tmp/unit-xfs-attr.XXXXXX";

#define VALUE_MAX 65536
#define LIST_MAX (1 << 20)

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	return xorshift64(&rng_state);
}

static int nfail;

/* setxattr a pseudo-random value of @len bytes. */
static void set_attr(const char *path, const char *name, size_t len)
{
	static char buf[VALUE_MAX];

	fill_random(&rng_state, buf, len);
	if (lsetxattr(path, name, buf, len, 0) < 0) {
		diag("setxattr %s %s (%zu bytes): %m", path, name, len);
		nfail++;
	}
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);

	if (fd < 0)
		abort();
	close(fd);
}

/* ---- the image ---- */

static const size_t sizes[] = { 0, 1, 2, 3, 4, 5, 64, 100, 200, 254, 255, 256, 257, 500,
				967, 968, 969, 1000, 1936, 1937, 2000, 3000, 4039, 4040,
				4041, 8080, 8081, 10000, 32768, 65535, 65536 };

/* The files and what xfs_db must find in each (NULL: not checked). */
struct expect {
	const char *name;
	const char *aformat;	/* "local", "extents", "btree" or NULL: any */
	unsigned magic;		/* of attr block 0, or 0 */
	unsigned min_level;	/* node level of block 0 */
};

static const struct expect expects[] = {
	{ "sf", "local", 0, 0 },
	{ "acl", "local", 0, 0 },
	{ "acldir", "local", 0, 0 },
	{ "leaf", NULL, 0x3bee, 0 },
	{ "node", NULL, 0x3ebe, 1 },
	{ "deep", NULL, 0x3ebe, 2 },
	{ "collide", NULL, 0x3ebe, 1 },
	{ "frag", "btree", 0, 0 },
	{ "bigacl", NULL, 0x3bee, 0 },
};

/* With 64 KiB blocks one leaf holds far more: only "deep" needs nodes. */
static const struct expect expects64[] = {
	{ "sf", "local", 0, 0 },
	{ "acl", "local", 0, 0 },
	{ "leaf", NULL, 0x3bee, 0 },
	{ "node", NULL, 0x3bee, 0 },
	{ "deep", NULL, 0x3ebe, 1 },
};

/* Fill the filesystem mounted at @m; @bs is its block size. */
static void populate(const char *m, unsigned bs)
{
	_cleanup_free_ char *p = NULL, *q = NULL;
	char name[300];

	p = xasprintf("%s/none", m);
	touch(p);
	free(steal_pointer(&p));

	p = xasprintf("%s/sf", m);
	touch(p);
	set_attr(p, "user.a", 5);
	set_attr(p, "user.empty", 0);
	set_attr(p, "trusted.t", 1);
	set_attr(p, "security.s", 17);
	free(steal_pointer(&p));

	p = xasprintf("%s/acl", m);
	touch(p);
	if (run("setfacl -m u:1000:rw,g:100:r,m::rwx '%s'", p))
		nfail++, diag("setfacl %s failed", p);
	free(steal_pointer(&p));

	p = xasprintf("%s/acldir", m);
	mkdir(p, 0755);
	if (run("setfacl -m u:1000:rwx '%s' && setfacl -d -m u:1001:rx,g:1002:w,o::- '%s' && "
		"setfattr -n user.dir -v hello '%s'", p, p, p))
		nfail++, diag("setfacl/setfattr %s failed", p);
	free(steal_pointer(&p));

	/* One value of each size, each in a file of its own. */
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		p = xasprintf("%s/one-%zu", m, sizes[i]);
		touch(p);
		set_attr(p, "user.v", sizes[i]);
		free(steal_pointer(&p));
	}

	/* Values of every size in one leaf (or node, at 1k), all namespaces. */
	p = xasprintf("%s/leaf", m);
	touch(p);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "%s.leaf%d", i % 3 == 0 ? "user" :
			 i % 3 == 1 ? "trusted" : "security", i);
		set_attr(p, name, 40 + (size_t)i * 7);
	}
	set_attr(p, "user.big", 65536);
	set_attr(p, "trusted.big", 5000);
	if (run("setfacl -m u:7:r '%s'", p))
		nfail++;
	free(steal_pointer(&p));

	p = xasprintf("%s/all-sizes", m);
	touch(p);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		snprintf(name, sizeof(name), "user.size-%zu", sizes[i]);
		set_attr(p, name, sizes[i]);
	}
	free(steal_pointer(&p));

	/* A node tree: many names, some remote values, an ACL. */
	p = xasprintf("%s/node", m);
	touch(p);
	for (int i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "%s.attribute_number_%d",
			 i % 5 == 1 ? "trusted" : i % 5 == 2 ? "security" : "user", i);
		set_attr(p, name, i % 37 == 0 ? 3000 + (size_t)i : (size_t)(rng() % 60));
	}
	if (run("setfacl -m u:1234:rwx,g:99:r '%s'", p))
		nfail++;
	free(steal_pointer(&p));

	/* Two levels of nodes: enough leaves that one node cannot hold them. */
	p = xasprintf("%s/deep", m);
	touch(p);
	for (int i = 0; i < (bs == 1024 ? 400 : 1200); i++) {
		snprintf(name, sizeof(name), "user.d%05d", i);
		set_attr(p, name, bs == 1024 ? 400 + rng() % 300 : 1500 + rng() % 900);
	}
	free(steal_pointer(&p));

	/*
	 * Names with one hash: within a group of four bytes, flipping bit 0
	 * of a byte and bit 7 of the next keeps the hash (7-bit shifts).
	 * 32 of them with 300-byte values span several leaves.
	 */
	p = xasprintf("%s/collide", m);
	touch(p);
	for (int i = 0; i < 128; i++) {
		snprintf(name, sizeof(name), "user.x%04d", i);
		set_attr(p, name, 150);
	}
	for (unsigned v = 0; v < 32; v++) {
		unsigned char n[13] = "user.hashgrp";	/* hashed: "hash" then the tail "grp" */

		if (v & 1)
			n[5] ^= 1, n[6] ^= 0x80;
		if (v & 2)
			n[6] ^= 1, n[7] ^= 0x80;
		if (v & 4)
			n[7] ^= 1, n[8] ^= 0x80;
		if (v & 8)
			n[9] ^= 1, n[10] ^= 0x80;
		if (v & 16)
			n[10] ^= 1, n[11] ^= 0x80;
		set_attr(p, (const char *)n, 300);
	}
	free(steal_pointer(&p));

	/* Remote values in a fragmented fork: two files allocate in turn. */
	p = xasprintf("%s/frag", m);
	q = xasprintf("%s/frag-other", m);
	touch(p);
	touch(q);
	for (int i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "user.frag%d", i);
		set_attr(p, name, 1000 + rng() % 9000);
		set_attr(q, name, 1000 + rng() % 9000);
	}
	free(steal_pointer(&p));
	free(steal_pointer(&q));

	/* An ACL too big for shortform, its value remote. */
	p = xasprintf("%s/bigacl", m);
	touch(p);
	{
		_cleanup_free_ char *spec = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&spec, &len);

		fprintf(f, "m::rwx");
		for (int i = 0; i < 500; i++)
			fprintf(f, ",u:%d:r", 2000 + i);
		fclose(f);
		if (run("setfacl -m '%s' '%s'", spec, p))
			nfail++, diag("setfacl bigacl failed");
	}
	free(steal_pointer(&p));

	/* Other kinds of inode with trusted attrs (user.* is for files and dirs). */
	p = xasprintf("%s/link", m);
	if (symlink("sf", p) < 0)
		abort();
	set_attr(p, "trusted.onlink", 10);
	set_attr(p, "security.onlink", 300);
	free(steal_pointer(&p));
}

/* Run @cmd (an xfs_db -r command list) and return its output. */
static char *xfs_db(const char *img, const char *cmds)
{
	return capture("xfs_db -r %s '%s' 2>&1", cmds, img);
}

static bool check_format(const char *img, uint64_t ino, const struct expect *e)
{
	_cleanup_free_ char *cmd = NULL, *out = NULL;
	bool good = true;

	cmd = xasprintf("-c 'inode %llu' -c 'print core.aformat'", (unsigned long long)ino);
	out = xfs_db(img, cmd);
	if (e->aformat && !strstr(out, e->aformat)) {
		diag("%s: %s", e->name, out);
		good = false;
	}
	if (e->magic) {
		char want[32];

		free(out);
		free(cmd);
		cmd = xasprintf("-c 'inode %llu' -c 'ablock 0' -c 'print hdr.info.hdr.magic'",
				(unsigned long long)ino);
		out = xfs_db(img, cmd);
		snprintf(want, sizeof(want), "magic = %#x", e->magic);
		if (!strstr(out, want)) {
			diag("%s: %s", e->name, out);
			good = false;
		}
	}
	if (e->min_level) {
		const char *l;

		free(out);
		free(cmd);
		cmd = xasprintf("-c 'inode %llu' -c 'ablock 0' -c 'print hdr.level'",
				(unsigned long long)ino);
		out = xfs_db(img, cmd);
		l = strstr(out, "hdr.level = ");
		if (!l || (unsigned)atoi(l + 12) < e->min_level) {
			diag("%s: %s", e->name, out);
			good = false;
		}
	}
	return ok(good, "%s: xfs_db finds the attr format meant", e->name);
}

/* ---- comparing with the kernel ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Split a listxattr buffer into a sorted array of names. */
static size_t split_list(char *list, size_t len, char **names, size_t max)
{
	size_t n = 0;

	for (size_t off = 0; off < len && n < max; off += strlen(list + off) + 1)
		names[n++] = list + off;
	qsort(names, n, sizeof(*names), cmp_names);
	return n;
}

struct counts {
	size_t files, names, bytes;
};

/* One inode: the backend's names and values against the kernel's. */
static bool compare_inode(struct imgfs_fs *fs, const char *path, uint64_t ino,
			  struct counts *cnt)
{
	static char klist[LIST_MAX], olist[LIST_MAX], kval[VALUE_MAX], oval[VALUE_MAX];
	static char *knames[LIST_MAX / 2], *onames[LIST_MAX / 2];
	ssize_t klen = llistxattr(path, klist, sizeof(klist));
	size_t olen = 0, olen0 = 0, nk, no;
	int r;

	if (klen < 0) {
		diag("%s: llistxattr: %m", path);
		return false;
	}
	r = fs->ops->listxattr(fs, ino, olist, sizeof(olist), &olen);
	if (r < 0) {
		diag("%s: listxattr: %s", path, strerror(-r));
		return false;
	}
	r = fs->ops->listxattr(fs, ino, NULL, 0, &olen0);
	if (r < 0 || olen0 != olen) {
		diag("%s: listxattr size query: %d, %zu bytes, want %zu", path, r, olen0, olen);
		return false;
	}
	if (olen > 1) {
		size_t dummy;

		r = fs->ops->listxattr(fs, ino, olist + LIST_MAX / 2, olen - 1, &dummy);
		if (r != -ERANGE) {
			diag("%s: listxattr into a short buffer: %d", path, r);
			return false;
		}
	}
	nk = split_list(klist, (size_t)klen, knames, ARRAY_SIZE(knames));
	no = split_list(olist, olen, onames, ARRAY_SIZE(onames));
	if (nk != no) {
		diag("%s: %zu names, the kernel lists %zu", path, no, nk);
		return false;
	}
	for (size_t i = 0; i < nk; i++) {
		ssize_t kv;
		size_t ov = 0, ov0 = 0;

		if (strcmp(knames[i], onames[i])) {
			diag("%s: name %s, the kernel has %s", path, onames[i], knames[i]);
			return false;
		}
		kv = lgetxattr(path, knames[i], kval, sizeof(kval));
		if (kv < 0) {
			diag("%s: lgetxattr %s: %m", path, knames[i]);
			return false;
		}
		r = fs->ops->getxattr(fs, ino, knames[i], oval, sizeof(oval), &ov);
		if (r < 0 || ov != (size_t)kv || memcmp(kval, oval, ov)) {
			diag("%s: getxattr %s: %d, %zu bytes; the kernel gives %zd", path,
			     knames[i], r, ov, kv);
			return false;
		}
		r = fs->ops->getxattr(fs, ino, knames[i], NULL, 0, &ov0);
		if (r < 0 || ov0 != ov) {
			diag("%s: getxattr %s size query: %d, %zu", path, knames[i], r, ov0);
			return false;
		}
		/* (A 1-byte value into 0 bytes would be a size query.) */
		if (ov > 1) {
			r = fs->ops->getxattr(fs, ino, knames[i], oval, ov - 1, &ov0);
			if (r != -ERANGE) {
				diag("%s: getxattr %s into a short buffer: %d", path, knames[i], r);
				return false;
			}
		}
		cnt->names++;
		cnt->bytes += ov;
	}
	/* Names the kernel does not have. */
	static const char *const absent[] = {
		"user.absent", "trusted.SGI_ACL_FILE", "trusted.SGI_ACL_DEFAULT",
		"system.posix_acl_access", "system.posix_acl_default", "system.other",
		"bogus.x", "user.", "trusted", "user.hashgrq", "user.attribute_number_400",
	};
	for (size_t i = 0; i < ARRAY_SIZE(absent); i++) {
		size_t len;

		if (lgetxattr(path, absent[i], NULL, 0) >= 0)
			continue;
		r = fs->ops->getxattr(fs, ino, absent[i], oval, sizeof(oval), &len);
		if (r != -ENODATA) {
			diag("%s: getxattr %s: %d, want -ENODATA", path, absent[i], r);
			return false;
		}
	}
	cnt->files++;
	return true;
}

/* Every inode under the kernel mount @m. */
static int compare_tree(struct imgfs_fs *fs, const char *m, struct counts *cnt)
{
	DIR *d = opendir(m);
	struct dirent *de;
	int bad = 0;

	if (!d)
		return 1;
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL;
		struct stat st;

		if (!strcmp(de->d_name, ".."))
			continue;
		p = xasprintf("%s/%s", m, de->d_name);
		if (lstat(p, &st) < 0 || !compare_inode(fs, p, st.st_ino, cnt))
			bad++;
		if (S_ISDIR(st.st_mode) && strcmp(de->d_name, "."))
			bad += compare_tree(fs, p, cnt);
	}
	closedir(d);
	return bad;
}

/* The image through the probe and the backend, as imgfs-mount opens it. */
static int open_fs(const char *path, struct imgfs_image **img, struct imgfs_fs **fs)
{
	struct imgfs_error err = { 0 };
	int r = test_open_fs(path, img, fs, &err);

	if (r < 0)
		diag("%s: %s", path, err.msg);
	return r;
}

/* ---- corruption ---- */

static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = ~0u;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0x82F63B78u & -(crc & 1));
	}
	return ~crc;
}

/* Byte offset in the image of what xfs_db reaches with @cmds. */
static long long db_offset(const char *img, const char *cmds)
{
	_cleanup_free_ char *cmd = xasprintf("%s -c stack", cmds);
	_cleanup_free_ char *out = xfs_db(img, cmd);
	const char *s = strstr(out, "byte offset ");

	return s ? atoll(s + 12) : -1;
}

struct corruption {
	const char *what;
	const char *file;	/* the inode, by name in the root directory */
	const char *where;	/* xfs_db commands after "inode N" (NULL: the inode) */
	size_t off;		/* byte within that block or inode */
	int width;		/* 1, 2, 4 or 8: big-endian store of @value */
	uint64_t value;
	bool xor;		/* xor instead of store */
	bool nocrc;		/* leave the CRC stale */
	const char *get;	/* the name to get ("": only list) */
	bool list_ok;		/* listxattr still works */
};

static void put_be(uint8_t *p, int width, uint64_t v)
{
	for (int i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, int width)
{
	uint64_t v = 0;

	for (int i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

static void corrupt_all(const char *img, const char *m, unsigned bs)
{
	static const struct corruption cases[] = {
		{ "leaf: a byte of a name, CRC stale", "leaf", "-c 'ablock 0'", 300, 1, 0x55, true, true, "user.leaf0", false },
		{ "leaf: count past the block", "leaf", "-c 'ablock 0'", 56, 2, 5000, false, false, "user.leaf0", false },
		{ "leaf: owner", "leaf", "-c 'ablock 0'", 48, 8, 12345, false, false, "user.leaf0", false },
		{ "leaf: blkno", "leaf", "-c 'ablock 0'", 16, 8, 1, false, false, "user.leaf0", false },
		{ "leaf: uuid", "leaf", "-c 'ablock 0'", 40, 1, 0x01, true, false, "user.leaf0", false },
		{ "leaf: magic", "leaf", "-c 'ablock 0'", 8, 2, 0x3ebf, false, false, "user.leaf0", false },
		{ "leaf: first nameidx past the block", "leaf", "-c 'ablock 0'", 80 + 4, 2, 0xfffe, false, false, "", false },
		{ "leaf: firstused below the entries", "leaf", "-c 'ablock 0'", 60, 2, 82, false, false, "", false },
		{ "leaf: first name length 0", "leaf", "-c 'ablock 0'", 0, 0, 0, false, false, "", false },
		{ "leaf: an unknown flag", "leaf", "-c 'ablock 0'", 80 + 6, 1, 0x10, true, false, "", false },
		{ "leaf: entry 0 half-written", "leaf", "-c 'ablock 0'", 80 + 6, 1, 0x80, true, false, "", true },
		{ "remote: 64 KiB value block magic", "leaf", "-c 'ablock 1'", 0, 4, 0x58415200, false, false, "user.big", true },
		{ "remote: rm_offset", "leaf", "-c 'ablock 1'", 4, 4, 8, false, false, "user.big", true },
		{ "remote: rm_bytes", "leaf", "-c 'ablock 1'", 8, 4, 7, false, false, "user.big", true },
		{ "remote: owner", "leaf", "-c 'ablock 1'", 32, 8, 1, false, false, "user.big", true },
		{ "remote: data byte, CRC stale", "leaf", "-c 'ablock 1'", 100, 1, 0xff, true, true, "user.big", true },
		{ "node: level 0", "node", "-c 'ablock 0'", 58, 2, 0, false, false, "user.attribute_number_3", false },
		{ "node: level 9", "node", "-c 'ablock 0'", 58, 2, 9, false, false, "user.attribute_number_3", false },
		{ "node: count 0", "node", "-c 'ablock 0'", 56, 2, 0, false, false, "user.attribute_number_3", false },
		{ "node: count past the block", "node", "-c 'ablock 0'", 56, 2, 9000, false, false, "user.attribute_number_3", false },
		{ "node: a child is the node itself", "node", "-c 'ablock 0'", 68, 4, 0, false, false, "", false },
		{ "node: a child past the fork", "node", "-c 'ablock 0'", 68, 4, 1000000, false, false, "", false },
		{ "deep: a lower node is a leaf's level", "deep", "-c 'ablock 0'", 58, 2, 1, false, false, "user.d00001", false },
		{ "sf: totsize past the fork", "sf", NULL, 0, 2, 2000, false, false, "user.a", false },
		{ "sf: count one too many", "sf", NULL, 2, 1, 9, false, false, "user.a", false },
		{ "sf: first name length 0", "sf", NULL, 4, 1, 0, false, false, "user.a", false },
		{ "sf: first value length past the end", "sf", NULL, 5, 1, 250, false, false, "user.a", false },
		{ "acl: count one too many", "acl", NULL, 0, 0, 0, false, false, "system.posix_acl_access", true },
		{ "acl: an unknown tag", "acl", NULL, 0, 0, 0, false, false, "system.posix_acl_access", true },
	};
	_cleanup_free_ char *copy = xasprintf("%s/corrupt.img", tmpdir);

	if (run("cp --sparse=always '%s' '%s'", img, copy)) {
		ok(0, "copy %s", img);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct corruption *c = &cases[i];
		_cleanup_free_ char *p = xasprintf("%s/%s", m, c->file), *cmds = NULL;
		_cleanup_free_ uint8_t *blk = NULL, *save = NULL;
		_cleanup_close_ int fd = -1;
		struct imgfs_image *image = NULL;
		struct imgfs_fs *fs = NULL;
		struct stat st;
		size_t size, crc_off, poke;
		long long base;
		char buf[VALUE_MAX], hidden_name[300] = "";
		size_t len;
		int rl, rg;

		if (lstat(p, &st) < 0)
			abort();
		cmds = xasprintf("-c 'inode %llu' %s", (unsigned long long)st.st_ino,
				 c->where ? c->where : "");
		base = db_offset(copy, cmds);
		size = c->where ? bs : 512;
		crc_off = c->where ? 12 : 100;
		if (c->where && strstr(c->what, "remote"))
			crc_off = 12;
		blk = malloc(size);
		save = malloc(size);
		fd = open(copy, O_RDWR);
		if (base < 0 || fd < 0 || pread(fd, blk, size, base) != (ssize_t)size) {
			ok(0, "%s: find the block", c->what);
			continue;
		}
		memcpy(save, blk, size);
		if (strstr(c->what, "half-written")) {
			/* The full name of entry 0, which must then be hidden. */
			size_t idx = get_be(blk + 80 + 4, 2);
			unsigned fl = blk[80 + 6];
			const uint8_t *n = blk + idx + (fl & 1 ? 3 : 9);

			snprintf(hidden_name, sizeof(hidden_name), "%s%.*s",
				 fl & 2 ? "trusted." : fl & 4 ? "security." : "user.",
				 (int)n[-1], (const char *)n);
		}
		poke = c->off;
		if (!c->where) {
			/* The attr fork: forkoff (byte 82) * 8 past the 176-byte core. */
			poke += 176 + (size_t)blk[82] * 8;
		}
		if (!strcmp(c->what, "leaf: first name length 0")) {
			size_t idx = get_be(blk + 80 + 4, 2);

			poke = idx + ((blk[80 + 6] & 1) ? 2 : 8);
			blk[poke] = 0;
		} else if (!strncmp(c->what, "acl:", 4)) {
			/* Shortform: the entry named SGI_ACL_FILE; its value is the ACL. */
			uint8_t *sf = blk + poke;
			size_t e = 4;

			while (e + 3 < size && (sf[e] != 12 || memcmp(sf + e + 3, "SGI_ACL_FILE", 12)))
				e += 3 + sf[e] + sf[e + 1];
			if (e + 3 >= size) {
				ok(0, "%s: find the ACL", c->what);
				continue;
			}
			if (strstr(c->what, "count"))
				put_be(sf + e + 3 + 12, 4, get_be(sf + e + 3 + 12, 4) + 1);
			else
				put_be(sf + e + 3 + 12 + 4, 4, 0x40);
		} else if (c->xor) {
			blk[poke] ^= (uint8_t)c->value;
		} else {
			put_be(blk + poke, c->width, c->value);
		}
		if (!c->nocrc) {
			uint32_t crc;

			memset(blk + crc_off, 0, 4);
			crc = crc32c(blk, size);
			memcpy(blk + crc_off, &crc, 4);	/* little-endian on x86, as on disk */
		}
		if (pwrite(fd, blk, size, base) != (ssize_t)size)
			abort();
		if (open_fs(copy, &image, &fs) < 0) {
			ok(0, "%s: open", c->what);
		} else {
			rl = fs->ops->listxattr(fs, st.st_ino, buf, sizeof(buf), &len);
			if (*hidden_name) {
				/* Skipped: neither listed nor found. */
				bool listed = false;

				for (size_t o = 0; rl == 0 && o < len; o += strlen(buf + o) + 1)
					listed |= !strcmp(buf + o, hidden_name);
				rg = fs->ops->getxattr(fs, st.st_ino, hidden_name, buf, sizeof(buf), &len);
				ok(rl == 0 && !listed && rg == -ENODATA,
				   "%uk: %s: %s not listed (%d, %d), getxattr %d", bs >> 10, c->what,
				   hidden_name, rl, listed, rg);
			} else {
				rg = *c->get ? fs->ops->getxattr(fs, st.st_ino, c->get, buf, sizeof(buf),
								 &len)
					     : -EUCLEAN;
				ok((c->list_ok ? rl == 0 : rl == -EUCLEAN) && rg == -EUCLEAN,
				   "%uk: %s: listxattr %d, getxattr %d", bs >> 10, c->what, rl, rg);
			}
			imgfs_fs_close(fs);
			imgfs_image_close(image);
		}
		if (pwrite(fd, save, size, base) != (ssize_t)size)
			abort();
	}
	unlink(copy);
}

/* ---- main ---- */

static void one_image(unsigned bs)
{
	_cleanup_free_ char *img = xasprintf("%s/xfs-%u.img", tmpdir, bs);
	_cleanup_free_ char *m = xasprintf("%s/mnt", tmpdir);
	struct imgfs_image *image = NULL;
	struct imgfs_fs *fs = NULL;
	struct counts cnt = { 0 };
	int bad;

	/*
	 * (64k blocks: without sparse inodes, whose chunk alignment mkfs
	 * leaves 0 there and the core refuses; not an attr matter.)
	 */
	if (run("truncate -s 320M '%s' && mkfs.xfs -q -f -b size=%u %s '%s'", img, bs,
		bs > 4096 ? "-i sparse=0" : "", img)) {
		ok(0, "mkfs.xfs -b size=%u", bs);
		return;
	}
	mkdir(m, 0755);
	if (run("mount -o loop '%s' '%s'", img, m)) {
		ok(0, "%uk: mount read-write", bs >> 10);
		return;
	}
	nfail = 0;
	populate(m, bs);
	ok(nfail == 0 && run("umount '%s'", m) == 0, "%uk: populated through the kernel", bs >> 10);

	if (run("mount -o loop,ro '%s' '%s'", img, m)) {
		ok(0, "%uk: mount read-only", bs >> 10);
		return;
	}
	for (size_t i = 0; i < (bs > 4096 ? ARRAY_SIZE(expects64) : ARRAY_SIZE(expects)); i++) {
		const struct expect *e = bs > 4096 ? &expects64[i] : &expects[i];
		_cleanup_free_ char *p = xasprintf("%s/%s", m, e->name);
		struct stat st;

		if (lstat(p, &st) == 0)
			check_format(img, st.st_ino, e);
	}
	if (open_fs(img, &image, &fs) < 0) {
		ok(0, "%uk: the backend opens the image", bs >> 10);
	} else {
		bad = compare_tree(fs, m, &cnt);
		ok(bad == 0 && cnt.files > 40,
		   "%uk: listxattr/getxattr match the kernel (%zu inodes, %zu names, %zu bytes)",
		   bs >> 10, cnt.files, cnt.names, cnt.bytes);
		imgfs_fs_close(fs);
		imgfs_image_close(image);
	}
	/* (The cases name blocks the 1k and 4k layouts have.) */
	if (bs <= 4096)
		corrupt_all(img, m, bs);
	run("umount '%s'", m);
	unlink(img);
}

int main(void)
{
	/* Mounts of our own, gone (with their loop devices) when we exit. */
	bool own_ns = private_mounts();

	imgfs_log_setup("unit-xfs-attr", IMGFS_LOG_ERR, false);
	if (geteuid() != 0)
		skip_all("needs root (loop mounts)");
	if (run("command -v mkfs.xfs && command -v xfs_db && command -v setfacl && command -v setfattr"))
		skip_all("needs mkfs.xfs, xfs_db, setfacl and setfattr");
	if (run("losetup -f"))
		skip_all("no free loop device");
	if (!own_ns)
		skip_all("cannot make a mount namespace");
	if (!mkdtemp(tmpdir))
		abort();
	one_image(1024);
	one_image(4096);
	one_image(65536);
	rm_tree(tmpdir);
	return done_testing();
}
