/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shortform directories: the whole directory in the inode's data fork.
 *
 * struct xfs_dir2_sf_hdr { u8 count; u8 i8count; u8 parent[4 or 8]; }
 * then count entries { u8 namelen; be16 offset; name[namelen];
 * [u8 ftype;] u8 inumber[4 or 8]; }, inode numbers 8 bytes wide when
 * i8count (the number of them above 2^32 - 1, parent included) is not 0.
 * An entry's offset is where it would sit in a block directory, so
 * offsets grow along the list and positions follow them; "." and ".."
 * are not stored and take the offsets a block directory gives them.
 */
#include "config.h"

#include <dirent.h>
#include <string.h>

#include "dir.h"

#define SF_MAX_SHORT_INUM 0xffffffffULL

struct sf_entry {
	const char *name;
	unsigned namelen;
	unsigned offset;
	unsigned ftype;
	uint64_t ino;
};

static uint64_t get_ino(const uint8_t *p, unsigned width)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Check the whole fork once (as xfs_dir2_sf_verify()) and call @each per
 * entry in order; the parent goes to *@parent.
 */
static int sf_walk(struct xdir *d, uint64_t *parent,
		   int (*each)(void *ctx, const struct sf_entry *e), void *ctx)
{
	const uint8_t *p, *end;
	size_t size;
	unsigned count, i8count, width, i8seen = 0;
	uint32_t expect = XD_DATA_HDR_SIZE + xd_entsize(d, 1) + xd_entsize(d, 2);
	const char *why = NULL;

	p = xfs_inode_fork(&d->in, XFS_DATA_FORK, &size);
	if (!p || d->in.size > size)
		return xd_corrupt(d, "shortform: size %llu does not fit the fork",
				  (unsigned long long)d->in.size);
	size = (size_t)d->in.size;
	end = p + size;
	if (size < 6)
		return xd_corrupt(d, "shortform: header truncated");
	count = p[0];
	i8count = p[1];
	width = i8count ? 8 : 4;
	if (size < 2U + width)
		return xd_corrupt(d, "shortform: header truncated");
	*parent = get_ino(p + 2, width);
	if (!xfs_ino_valid(d->x, *parent))
		return xd_corrupt(d, "shortform: bad parent inode %llu", (unsigned long long)*parent);
	i8seen += *parent > SF_MAX_SHORT_INUM;
	p += 2 + width;
	for (unsigned n = 0; n < count; n++) {
		struct sf_entry e;
		size_t need;

		if (end - p < 3) {
			why = "entry header past the fork";
			break;
		}
		e.namelen = p[0];
		e.offset = (unsigned)p[1] << 8 | p[2];
		need = 3 + e.namelen + (d->ftype ? 1 : 0) + width;
		if ((size_t)(end - p) < need) {
			why = "entry past the fork";
			break;
		}
		e.name = (const char *)p + 3;
		if (!xd_name_ok(e.name, e.namelen)) {
			why = "bad name (empty, or holds '/' or NUL)";
			break;
		}
		/* The header holds the parent; "." and ".." are never stored. */
		if (e.name[0] == '.' && (e.namelen == 1 || (e.namelen == 2 && e.name[1] == '.'))) {
			why = "an entry named . or ..";
			break;
		}
		if (e.offset < expect) {
			why = "entry offsets out of order";
			break;
		}
		expect = e.offset + xd_entsize(d, e.namelen);
		if (expect > d->blksize) {
			why = "entry offset beyond a directory block";
			break;
		}
		e.ftype = d->ftype ? p[3 + e.namelen] : 0;
		if (e.ftype >= XD_FT_MAX) {
			why = "bad file type";
			break;
		}
		e.ino = get_ino(p + need - width, width);
		if (!xfs_ino_valid(d->x, e.ino)) {
			why = "bad inode number";
			break;
		}
		i8seen += e.ino > SF_MAX_SHORT_INUM;
		p += need;
		if (each) {
			int r = each(ctx, &e);

			if (r)
				return r;
		}
	}
	if (why)
		return xd_corrupt(d, "shortform: %s", why);
	if (p != end)
		return xd_corrupt(d, "shortform: size %zu does not match its %u entries", size,
				  count);
	if (i8seen != i8count)
		return xd_corrupt(d, "shortform: i8count %u, but %u wide inode numbers", i8count,
				  i8seen);
	return 0;
}

struct sf_ctx {
	struct xdir *d;
	imgfs_filldir_t fn;
	void *ctx;
	const char *name;	/* lookup */
	size_t len;
	uint64_t ino;
};

static int sf_emit(void *ctx, const struct sf_entry *se)
{
	struct sf_ctx *c = ctx;
	struct imgfs_dirent e = {
		.ino = se->ino,
		.type = xfs_ftype_to_dtype(se->ftype),
		.name = se->name,
		.namelen = se->namelen,
		.next = (se->offset + xd_entsize(c->d, se->namelen)) >> XD_ALIGN_LOG,
	};

	return c->fn(c->ctx, &e);
}

int xd_sf_readdir(struct xdir *d, imgfs_filldir_t fn, void *ctx)
{
	struct sf_ctx c = { .d = d, .fn = fn, .ctx = ctx };
	uint32_t dotdot = XD_DATA_HDR_SIZE + xd_entsize(d, 1);
	uint64_t parent;
	int r;

	/* Check everything before reporting anything. */
	r = sf_walk(d, &parent, NULL, NULL);
	if (r < 0)
		return r;
	const struct imgfs_dirent dots[2] = {
		{ .ino = d->ino, .type = DT_DIR, .name = ".", .namelen = 1,
		  .next = dotdot >> XD_ALIGN_LOG },
		{ .ino = parent, .type = DT_DIR, .name = "..", .namelen = 2,
		  .next = (dotdot + xd_entsize(d, 2)) >> XD_ALIGN_LOG },
	};
	for (int i = 0; i < 2; i++) {
		r = fn(ctx, &dots[i]);
		if (r)
			return r;
	}
	return sf_walk(d, &parent, sf_emit, &c);
}

static int sf_match(void *ctx, const struct sf_entry *se)
{
	struct sf_ctx *c = ctx;

	if (se->namelen != c->len || memcmp(se->name, c->name, c->len))
		return 0;
	c->ino = se->ino;
	return 1;
}

/* No index to use: the fork is at most an inode's size. */
int xd_sf_lookup(struct xdir *d, const char *name, size_t len, uint64_t *ino)
{
	struct sf_ctx c = { .d = d, .name = name, .len = len };
	uint64_t parent;
	int r;

	r = sf_walk(d, &parent, sf_match, &c);
	if (r < 0)
		return r;
	if (len == 1 && name[0] == '.') {
		*ino = d->ino;
		return 1;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*ino = parent;
		return 1;
	}
	if (r == 1)
		*ino = c.ino;
	return r;
}
