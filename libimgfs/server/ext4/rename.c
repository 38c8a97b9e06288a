/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rename(2) and renameat2's RENAME_NOREPLACE and RENAME_EXCHANGE, with the
 * kernel's ext4_rename rules: a replaced name keeps its entry (pointed at
 * the moved inode), a directory moved to another parent gets its ".."
 * and both parents their link counts, and a directory never moves into
 * its own subtree.
 */
#include "config.h"

#include <string.h>

#include "ext4.h"

struct end {
	uint64_t dir;
	const char *name;
	size_t len;
	char namez[EXT2_NAME_LEN + 1];
	struct ext4_inode din;
	struct ext4_inode in;	/* the inode named, when in.ino */
};

static bool is_dot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

/* Read one side: its directory, and the inode its name names (or none). */
static int end_read(struct ext4_fs *e, struct end *s)
{
	uint64_t ino;
	int r;

	r = ext4_name_copy(s->namez, s->name, s->len);
	if (r < 0)
		return r;
	r = ext4_dir_for_change(e, s->dir, &s->din);
	if (r < 0)
		return r;
	s->in.ino = 0;
	r = ext4_lookup(&e->base, s->dir, s->name, s->len, &ino);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return ext4_inode_read(e, ino, &s->in);
}

/* Is @dir @anc or below it?  Walks ".." up to the root. */
static int is_below(struct ext4_fs *e, uint64_t dir, uint64_t anc)
{
	for (uint32_t n = 0; n <= e->inodes_count; n++) {
		uint64_t up;
		int r;

		if (dir == anc)
			return 1;
		if (dir == EXT2_ROOT_INO)
			return 0;
		r = ext4_lookup(&e->base, dir, "..", 2, &up);
		if (r < 0)
			return r;
		dir = up;
	}
	return fs_corrupt("inode %llu: \"..\" entries form a loop", (unsigned long long)anc);
}

static bool is_dir(const struct ext4_inode *in)
{
	return LINUX_S_ISDIR(in->raw.i_mode);
}

/* Directory @in moved from @from to @to: its "..", and the parents' counts. */
static int reparent(struct ext4_fs *e, struct ext4_inode *in, uint64_t from, uint64_t to)
{
	int r;

	if (from == to)
		return 0;
	r = ext4_dir_set(e, in->ino, "..", to, LINUX_S_IFDIR);
	if (r < 0)
		return r;
	r = ext4_dir_changed(e, from, -1);
	if (r < 0)
		return r;
	return ext4_dir_changed(e, to, +1);
}

static int touch_ctime(struct ext4_fs *e, uint64_t ino)
{
	struct ext4_inode in;
	int r = ext4_inode_read(e, ino, &in);

	if (r < 0)
		return r;
	ext4_inode_touch(&in, EXT4_TOUCH_CTIME);
	return ext4_inode_write(e, &in);
}

static int exchange(struct ext4_fs *e, struct end *a, struct end *b)
{
	int r;

	if (!b->in.ino)
		return -ENOENT;
	if (a->dir != b->dir) {
		/* Each directory must not land below itself. */
		if (is_dir(&a->in) && (r = is_below(e, b->dir, a->in.ino)) != 0)
			return r < 0 ? r : -EINVAL;
		if (is_dir(&b->in) && (r = is_below(e, a->dir, b->in.ino)) != 0)
			return r < 0 ? r : -EINVAL;
		if (is_dir(&a->in) != is_dir(&b->in)) {
			const struct end *gain = is_dir(&a->in) ? b : a;

			if (ext4_dir_link_max(e, &gain->din))
				return -EMLINK;
		}
	}
	r = ext4_dir_set(e, a->dir, a->namez, b->in.ino, b->in.raw.i_mode);
	if (r < 0)
		return r;
	r = ext4_dir_set(e, b->dir, b->namez, a->in.ino, a->in.raw.i_mode);
	if (r < 0)
		return r;
	if (is_dir(&a->in)) {
		r = reparent(e, &a->in, a->dir, b->dir);
		if (r < 0)
			return r;
	}
	if (is_dir(&b->in)) {
		r = reparent(e, &b->in, b->dir, a->dir);
		if (r < 0)
			return r;
	}
	r = touch_ctime(e, a->in.ino);
	if (r == 0)
		r = touch_ctime(e, b->in.ino);
	if (r == 0)
		r = ext4_dir_changed(e, a->dir, 0);
	if (r == 0 && b->dir != a->dir)
		r = ext4_dir_changed(e, b->dir, 0);
	return r;
}

/* Move @src's name to @dst's, replacing what @dst names (if anything). */
static int move(struct ext4_fs *e, struct end *src, struct end *dst, uint64_t *replaced)
{
	struct ext4_inode *victim = dst->in.ino ? &dst->in : NULL;
	bool dir = is_dir(&src->in);
	int r;

	if (victim) {
		if (dir && !is_dir(victim))
			return -ENOTDIR;
		if (!dir && is_dir(victim))
			return -EISDIR;
		if (dir) {
			r = ext4_dir_is_empty(e, victim->ino);
			if (r < 0)
				return r;
			if (r == 0)
				return -ENOTEMPTY;
		}
	}
	if (dir && src->dir != dst->dir) {
		r = is_below(e, dst->dir, src->in.ino);
		if (r < 0)
			return r;
		if (r)
			return -EINVAL;
		if (!victim && ext4_dir_link_max(e, &dst->din))
			return -EMLINK;
	}

	if (victim)
		r = ext4_dir_set(e, dst->dir, dst->namez, src->in.ino, src->in.raw.i_mode);
	else
		r = ext4_dir_add(e, dst->dir, dst->namez, src->in.ino, src->in.raw.i_mode);
	if (r < 0)
		return r;
	r = ext4_dir_remove(e, src->dir, src->namez, src->in.ino);
	if (r < 0)
		return r;

	if (dir && src->dir != dst->dir) {
		r = ext4_dir_set(e, src->in.ino, "..", dst->dir, LINUX_S_IFDIR);
		if (r < 0)
			return r;
	}
	/*
	 * Parents' subdirectory counts: the moved directory leaves the old
	 * one and joins the new one, where a replaced directory leaves.
	 */
	if (src->dir == dst->dir) {
		r = ext4_dir_changed(e, src->dir, dir && victim ? -1 : 0);
	} else {
		r = ext4_dir_changed(e, src->dir, dir ? -1 : 0);
		if (r == 0)
			r = ext4_dir_changed(e, dst->dir, dir && !victim ? 1 : 0);
	}
	if (r < 0)
		return r;
	r = touch_ctime(e, src->in.ino);
	if (r < 0)
		return r;
	if (victim) {
		/* Re-read: it may be the directory whose ".." just changed. */
		r = ext4_inode_read(e, victim->ino, victim);
		if (r < 0)
			return r;
		if (is_dir(victim) || victim->raw.i_links_count <= 1) {
			if (is_dir(victim)) {
				victim->raw.i_size = 0;
				victim->raw.i_size_high = 0;
			}
			victim->raw.i_links_count = 0;
			r = ext4_orphan_add(e, victim);
			if (r < 0)
				return r;
		} else {
			victim->raw.i_links_count--;
		}
		ext4_inode_touch(victim, EXT4_TOUCH_CTIME);
		r = ext4_inode_write(e, victim);
		if (r < 0)
			return r;
		if (is_dir(victim))
			ext4_dircache_forget(e, victim->ino);
		*replaced = victim->ino;
	}
	return 0;
}

int ext4_rename(struct imgfs_fs *fs, uint64_t olddir, const char *oldname, size_t oldlen,
		uint64_t newdir, const char *newname, size_t newlen, unsigned flags,
		uint64_t *replaced)
{
	struct ext4_fs *e = EXT4(fs);
	struct end src = { .dir = olddir, .name = oldname, .len = oldlen };
	struct end dst = { .dir = newdir, .name = newname, .len = newlen };
	int r;

	*replaced = 0;
	if ((flags & ~(IMGFS_RENAME_NOREPLACE | IMGFS_RENAME_EXCHANGE)) ||
	    ((flags & IMGFS_RENAME_NOREPLACE) && (flags & IMGFS_RENAME_EXCHANGE)))
		return -EINVAL;
	EXT4_LOCK(e);
	r = ext4_may_write(e);
	if (r < 0)
		return r;
	r = end_read(e, &src);
	if (r == 0)
		r = end_read(e, &dst);
	if (r < 0)
		return r;
	if (!src.in.ino)
		return -ENOENT;
	if (is_dot(src.namez) || is_dot(dst.namez))
		return -EBUSY;
	if (flags & IMGFS_RENAME_EXCHANGE)
		return src.in.ino == dst.in.ino ? 0 : exchange(e, &src, &dst);
	if (dst.in.ino && (flags & IMGFS_RENAME_NOREPLACE))
		return -EEXIST;
	/* Two names of one inode: rename(2) does nothing. */
	if (src.in.ino == dst.in.ino)
		return 0;
	return move(e, &src, &dst, replaced);
}
