/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directory handles: OPENDIR, READDIR(PLUS) and RELEASEDIR.
 *
 * The first READDIR of a handle takes a snapshot of the listing, so that
 * each READDIR costs one lookup of its offset and push.c learns the order
 * files were listed in.  Not OPENDIR: the kernel keeps listings it has
 * read (cache_readdir), and a directory listed again (du, find) is opened
 * but never read from us.
 * Snapshots grow with the directory, so all of them together (with
 * push.c's node list) are charged to the session's budget (conn.h).  A
 * listing that does not fit is served without a snapshot: each READDIR
 * walks the directory in the backend from its offset until the reply is
 * full.  That costs a walk of about one directory block per request and
 * no memory, and lists the same entries at the same offsets.
 *
 * Offsets are the backend's positions (fs.h): an entry's offset is the
 * position just after it, where a listing resumes.  Both kinds of handle
 * must give the same offsets, because the kernel caches a directory's
 * listing and resumes one handle at offsets another handle reported.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "fuse/attr.h"
#include "fuse/conn.h"
#include "fuse/dir.h"

struct dir_entry {
	uint64_t ino;
	uint64_t next;		/* backend position after the entry: its offset */
	size_t name_off;
	unsigned type;
};

struct dir_handle {
	bool taken;		/* the first READDIR has tried to take a snapshot */
	bool snapshot;		/* false: over the budget, every READDIR walks */
	bool listed;		/* handed to push.c once read to the end */
	bool over;		/* the budget ran out while collecting */
	int error;
	struct dir_entry *entries;
	size_t count, cap;
	char *names;
	size_t names_len, names_cap;
	size_t charged;		/* bytes of the budget the two arrays hold */
	struct imgfs_fuse *f;
};

static void drop_snapshot(struct dir_handle *d)
{
	free(d->entries);
	free(d->names);
	d->entries = NULL;
	d->names = NULL;
	d->count = d->cap = d->names_len = d->names_cap = 0;
	imgfs_listing_uncharge(d->f, d->charged);
	d->charged = 0;
	d->snapshot = false;
}

static void dir_handle_free(struct dir_handle *d)
{
	if (!d)
		return;
	drop_snapshot(d);
	free(d);
}

/*
 * Make room for @need elements of @elem bytes in *@p, charging the growth.
 * Returns 1 when the budget (or memory) runs out.  Near the end of the
 * budget, growth by an eighth may still fit where doubling does not.
 */
static int grow(struct dir_handle *d, void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	ncap = MAX(*cap ? *cap * 2 : 64, need);
	if (!imgfs_listing_charge(d->f, (ncap - *cap) * elem)) {
		ncap = MAX(*cap + *cap / 8, need);
		if (!imgfs_listing_charge(d->f, (ncap - *cap) * elem))
			return 1;
	}
	np = reallocarray(*p, ncap, elem);
	if (!np) {
		imgfs_listing_uncharge(d->f, (ncap - *cap) * elem);
		return 1;
	}
	d->charged += (ncap - *cap) * elem;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Give back what the arrays hold beyond the listing. */
static void trim(struct dir_handle *d, void **p, size_t *cap, size_t used, size_t elem)
{
	void *np;

	if (used == 0 || used == *cap)
		return;
	np = reallocarray(*p, used, elem);
	if (!np)
		return;
	imgfs_listing_uncharge(d->f, (*cap - used) * elem);
	d->charged -= (*cap - used) * elem;
	*p = np;
	*cap = used;
}

static int dir_collect(void *ctx, const struct imgfs_dirent *de)
{
	struct dir_handle *d = ctx;

	if (de->namelen > NAME_MAX || memchr(de->name, '\0', de->namelen)) {
		d->error = fs_corrupt("directory entry '%.*s' has a bad name",
				      (int)MIN(de->namelen, (size_t)NAME_MAX), de->name);
		return 1;
	}
	if (grow(d, (void **)&d->entries, &d->cap, d->count + 1, sizeof(*d->entries)) ||
	    grow(d, (void **)&d->names, &d->names_cap, d->names_len + de->namelen + 1, 1)) {
		d->over = true;
		return 1;
	}
	d->entries[d->count++] = (struct dir_entry){
		.ino = de->ino, .next = de->next, .name_off = d->names_len, .type = de->type,
	};
	memcpy(d->names + d->names_len, de->name, de->namelen);
	d->names_len += de->namelen;
	d->names[d->names_len++] = '\0';
	return 0;
}

void imgfs_op_opendir(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	struct dir_handle *d = calloc(1, sizeof(*d));

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	d->f = fuse_req_userdata(req);
	atomic_fetch_add(&d->f->dirs_open, 1);
	fi->fh = (uintptr_t)d;
	fi->cache_readdir = 1;
	/* A listing whose atime is due must reach do_readdir (conn.h). */
	fi->keep_cache = !imgfs_fuse_atime_pending(d->f, node, true);
	/* An open the kernel did not take (interrupted) is never released. */
	if (fuse_reply_open(req, fi) != 0) {
		atomic_fetch_sub(&d->f->dirs_open, 1);
		dir_handle_free(d);
	}
}

/* Snapshot directory @ino into @d, or leave it without one over the budget. */
static int take_snapshot(struct dir_handle *d, uint64_t ino)
{
	struct imgfs_fuse *f = d->f;
	int r;

	d->taken = true;
	d->snapshot = true;
	r = f->fs->ops->readdir(f->fs, ino, 0, dir_collect, d);
	if (r == 0)
		r = d->error;
	if (r < 0) {
		drop_snapshot(d);
		d->taken = false;	/* the next READDIR tries again, and fails the same way */
		d->error = 0;
		return r;
	}
	if (d->over) {
		drop_snapshot(d);
		if (!atomic_exchange(&f->listing_warned, true))
			log_info("directory listings reached their budget of %zu bytes: larger ones are read from the image as they are listed",
				 f->listing_budget);
	} else {
		trim(d, (void **)&d->entries, &d->cap, d->count, sizeof(*d->entries));
		trim(d, (void **)&d->names, &d->names_cap, d->names_len, 1);
	}
	return 0;
}

static bool is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* The listing's regular files (or of unknown type), in order, as node ids. */
static void push_listing(struct imgfs_fuse *f, const struct dir_handle *d)
{
	uint64_t *nodes;
	size_t want = 0, n = 0;

	for (size_t i = 0; i < d->count; i++)
		want += d->entries[i].type == DT_REG || d->entries[i].type == DT_UNKNOWN;
	if (!imgfs_listing_charge(f, want * sizeof(*nodes)))
		return;
	nodes = malloc(want * sizeof(*nodes) + 1);
	if (!nodes) {
		imgfs_listing_uncharge(f, want * sizeof(*nodes));
		return;
	}
	for (size_t i = 0; i < d->count; i++) {
		fuse_ino_t node;

		if ((d->entries[i].type == DT_REG || d->entries[i].type == DT_UNKNOWN) &&
		    ino_to_node(f->fs, d->entries[i].ino, &node) == 0)
			nodes[n++] = node;
	}
	/* push.c uncharges @n nodes when it lets go of the list. */
	imgfs_listing_uncharge(f, (want - n) * sizeof(*nodes));
	imgfs_push_set_dir(f, nodes, n);
}

/* One READDIR(PLUS) reply being filled. */
struct reply {
	struct imgfs_fuse *f;
	fuse_req_t req;
	bool plus;
	char *buf;
	size_t size, used;
	int error;		/* what stopped the reply, if not a full buffer */
	/* Read-write mounts: the nodes the reply gives a reference to (nodes.h). */
	fuse_ino_t *refs;
	size_t nrefs, refs_cap;
};

/* Count the reference READDIRPLUS entry @node gives; false if it cannot be. */
static bool reply_ref(struct reply *rp, fuse_ino_t node)
{
	if (!imgfs_fuse_rw(rp->f))
		return true;
	if (rp->nrefs == rp->refs_cap) {
		size_t cap = rp->refs_cap ? rp->refs_cap * 2 : 64;
		fuse_ino_t *refs = reallocarray(rp->refs, cap, sizeof(*refs));

		if (!refs)
			return false;
		rp->refs = refs;
		rp->refs_cap = cap;
	}
	if (imgfs_nodes_ref(rp->f, node) < 0)
		return false;
	rp->refs[rp->nrefs++] = node;
	return true;
}

/* The reply never reached the kernel: it holds none of the references. */
static void reply_unref(struct reply *rp)
{
	for (size_t i = 0; i < rp->nrefs; i++)
		imgfs_nodes_forget(rp->f, rp->refs[i], 1);
	rp->nrefs = 0;
}

/* Add one entry (@name NUL-terminated); non-zero when the reply is complete. */
static int reply_add(struct reply *rp, uint64_t ino, unsigned type, const char *name,
		     uint64_t next)
{
	size_t n;

	if (rp->plus) {
		struct fuse_entry_param e = { 0 };

		if (is_dot_or_dotdot(name)) {
			/* No lookup reference for these: ino 0 tells the kernel so. */
			e.attr.st_ino = ino;
			e.attr.st_mode = DTTOIF(type);
		} else {
			int r = imgfs_fuse_entry(rp->f, ino, &e);

			if (r == -EUCLEAN) {
				/*
				 * This one inode is corrupt.  The kernel's own
				 * readdir never reads the inode, so it lists the
				 * name and only a stat of it fails: give the name
				 * without attributes (node id 0, which the kernel
				 * skips) and let its LOOKUP fail.
				 */
				memset(&e, 0, sizeof(e));
				e.attr.st_ino = ino;
				e.attr.st_mode = DTTOIF(type);
			} else if (r < 0) {
				rp->error = r;
				return 1;	/* the entries so far; the error comes next call */
			}
		}
		n = fuse_add_direntry_plus(rp->req, rp->buf + rp->used, rp->size - rp->used, name,
					   &e, (off_t)next);
		if (e.ino && n <= rp->size - rp->used) {
			struct fuse_direntplus *dp = (void *)(rp->buf + rp->used);

			/* An entry we cannot count gives no node: the kernel skips it. */
			if (!reply_ref(rp, e.ino))
				dp->entry_out.nodeid = 0;
			imgfs_kiomap_mark(&rp->f->kiomap, ino, &e.attr, &dp->entry_out.attr);
		}
	} else {
		struct stat st = { .st_ino = ino, .st_mode = DTTOIF(type) };

		n = fuse_add_direntry(rp->req, rp->buf + rp->used, rp->size - rp->used, name, &st,
				      (off_t)next);
	}
	if (n > rp->size - rp->used)
		return 1;	/* did not fit, and counted only once it does: nothing to undo */
	rp->used += n;
	return 0;
}

/* The first snapshot entry a READDIR at @off reports: the first ending after it. */
static size_t snapshot_seek(const struct dir_handle *d, uint64_t off)
{
	size_t lo = 0, hi = d->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->entries[mid].next > off)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void reply_snapshot(struct reply *rp, struct dir_handle *d, uint64_t off)
{
	size_t i;

	for (i = snapshot_seek(d, off); i < d->count; i++) {
		const struct dir_entry *ent = &d->entries[i];

		if (reply_add(rp, ent->ino, ent->type, d->names + ent->name_off, ent->next))
			break;
	}
	/*
	 * Listed to the end: a reader may go through its files next.  Before
	 * the reply: once it is sent, RELEASEDIR may free @d on another thread.
	 */
	if (i == d->count && !d->listed) {
		d->listed = true;
		push_listing(rp->f, d);
	}
}

static int fill_reply(void *ctx, const struct imgfs_dirent *de)
{
	struct reply *rp = ctx;
	char name[NAME_MAX + 1];

	if (de->namelen > NAME_MAX || memchr(de->name, '\0', de->namelen)) {
		rp->error = fs_corrupt("directory entry '%.*s' has a bad name",
				       (int)MIN(de->namelen, (size_t)NAME_MAX), de->name);
		return 1;
	}
	memcpy(name, de->name, de->namelen);
	name[de->namelen] = '\0';
	return reply_add(rp, de->ino, de->type, name, de->next);
}

/* One routine for READDIR and READDIRPLUS, with or without a snapshot. */
static void do_readdir(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	_cleanup_free_ char *buf = malloc(size);
	struct reply rp = {
		.f = fuse_req_userdata(req), .req = req, .plus = plus, .buf = buf, .size = size,
	};
	uint64_t pos = off < 0 ? 0 : (uint64_t)off;
	int r = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/*
	 * A read-write mount lists from the directory as it is now: a
	 * snapshot could name an inode freed (and its number reused) since.
	 */
	if (!d->taken && imgfs_fuse_rw(rp.f)) {
		d->taken = true;
		d->snapshot = false;
	}
	if (!d->taken) {
		r = take_snapshot(d, node_to_ino(rp.f->fs, node));
		if (r < 0) {
			imgfs_reply_err(req, r);
			return;
		}
	}
	if (d->snapshot)
		reply_snapshot(&rp, d, pos);
	else
		r = rp.f->fs->ops->readdir(rp.f->fs, node_to_ino(rp.f->fs, node), pos, fill_reply,
					   &rp);
	if (r == 0)
		r = rp.error;
	/* Entries before an error go out now; the error comes with the next call. */
	if (r < 0 && rp.used == 0) {
		imgfs_reply_err(req, r);
		free(rp.refs);
		return;
	}
	/* Before the reply, as READ's (ops.c). */
	imgfs_fuse_touch_atime(rp.f, node, true);
	if (fuse_reply_buf(req, buf, rp.used) != 0)
		reply_unref(&rp);
	free(rp.refs);
}

void imgfs_op_readdir(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	do_readdir(req, node, size, off, fi, false);
}

void imgfs_op_readdirplus(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	do_readdir(req, node, size, off, fi, true);
}

void imgfs_op_releasedir(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;

	atomic_fetch_sub(&d->f->dirs_open, 1);
	dir_handle_free(d);
	fuse_reply_err(req, 0);
}
