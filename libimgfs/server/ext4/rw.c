/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The life of a read-write mount: what may be written, the marks a mount
 * leaves in the superblock, syncing, and the clean state at unmount.
 *
 * Without a journal of ours yet, a mounted filesystem is marked not clean
 * (s_state without EXT2_VALID_FS), as the kernel marks an ext2 mount: a
 * crash then leaves an image e2fsck checks in full.  Unmount restores the
 * state found at mount.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "ext4.h"

/*
 * Features whose on-disk rules the write path does not keep.  A mount
 * that would break them is refused: never a silent corruption.
 */
static const struct {
	int kind;		/* 0 compat, 1 incompat, 2 ro_compat */
	uint32_t mask;
	const char *why;
} rw_refused[] = {
	{ 2, EXT4_FEATURE_RO_COMPAT_BIGALLOC, "bigalloc (cluster allocation)" },
	{ 2, EXT4_FEATURE_RO_COMPAT_QUOTA, "quota (quota files are not updated)" },
	{ 2, EXT4_FEATURE_RO_COMPAT_PROJECT, "project (project quotas are not updated)" },
	{ 2, EXT4_FEATURE_RO_COMPAT_VERITY, "verity (verity files are not written)" },
	{ 2, EXT4_FEATURE_RO_COMPAT_READONLY, "read-only (the filesystem is marked read-only)" },
	{ 2, EXT4_FEATURE_RO_COMPAT_REPLICA, "replica" },
	{ 1, EXT4_FEATURE_INCOMPAT_ENCRYPT, "encrypt (encrypted directories)" },
	{ 1, EXT4_FEATURE_INCOMPAT_CASEFOLD, "casefold (case-insensitive name hashing is not written)" },
	{ 1, EXT4_FEATURE_INCOMPAT_EA_INODE, "ea_inode (xattr values in inodes)" },
	{ 1, EXT4_FEATURE_INCOMPAT_DIRDATA, "dirdata" },
};

static int check_rw_features(struct ext4_fs *e, const char *path, struct imgfs_error *err)
{
	struct ext2_super_block *sb = e->fs->super;
	const uint32_t words[3] = { sb->s_feature_compat, sb->s_feature_incompat,
				    sb->s_feature_ro_compat };

	for (size_t i = 0; i < ARRAY_SIZE(rw_refused); i++)
		if (words[rw_refused[i].kind] & rw_refused[i].mask)
			return imgfs_error_set(err, EROFS,
					       "%s: feature %s cannot be written by imgfs; mount it with -o ro",
					       path, rw_refused[i].why);
	if (sb->s_feature_ro_compat & ~EXT2_LIB_FEATURE_RO_COMPAT_SUPP) {
		return imgfs_error_set(err, EROFS,
				       "%s: read-only compatible feature(s) 0x%x unknown to libext2fs; mount it with -o ro",
				       path, sb->s_feature_ro_compat & ~EXT2_LIB_FEATURE_RO_COMPAT_SUPP);
	}
	if (ext2fs_has_feature_journal_needs_recovery(sb))
		return imgfs_error_set(err, EROFS, "%s: journal needs recovery: run e2fsck", path);
	return 0;
}

int ext4_rw_start(struct ext4_fs *e, struct imgfs_error *err)
{
	const char *path = e->base.img->path;
	struct ext2_super_block *sb = e->fs->super;
	errcode_t code;
	int r;

	r = check_rw_features(e, path, err);
	if (r < 0)
		return r;
	/* Before the first write: another node may have the filesystem. */
	r = ext4_mmp_start(e, err);
	if (r < 0)
		return r;
	code = ext2fs_read_bitmaps(e->fs);
	if (code == EXT2_ET_NO_MEMORY)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	if (code)
		return imgfs_error_set(err, EUCLEAN, "%s: cannot read the allocation bitmaps: %s, run e2fsck",
				       path, ext4_strerror(code));
	if (sb->s_state & EXT2_ERROR_FS)
		log_warn("%s: filesystem has errors recorded; writing anyway, run e2fsck soon", path);
	else if (!(sb->s_state & EXT2_VALID_FS))
		log_warn("%s: mounting a filesystem that was not cleanly unmounted; run e2fsck", path);

	e->mount_state = sb->s_state;
	sb->s_state &= (uint16_t)~EXT2_VALID_FS;
	sb->s_mnt_count++;
	sb->s_mtime = (uint32_t)time(NULL);
	ext2fs_mark_super_dirty(e->fs);
	e->rw = true;
	e->generation = (uint32_t)time(NULL) * 2654435761U;
	r = ext4_orphan_cleanup(e);
	if (r < 0) {
		e->rw = false;
		return imgfs_error_set(err, -r, "%s: cannot process the orphan list: %s%s", path,
				       strerror(-r), r == -EUCLEAN ? ", run e2fsck" : "");
	}
	r = ext4_rw_sync(e);
	if (r < 0) {
		e->rw = false;
		return imgfs_error_set(err, -r, "%s: cannot write the superblock: %s", path,
				       strerror(-r));
	}
	e->base.write_ops = &ext4_write_ops;
	ext4_writeback_start(e);
	return 0;
}

int ext4_rw_sync(struct ext4_fs *e)
{
	errcode_t code;

	if (!e->rw)
		return 0;
	/*
	 * The primary superblock and descriptors, and the bitmaps that
	 * changed (the kernel also leaves backups alone outside resize);
	 * then fdatasync the image.
	 */
	e->fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	code = ext2fs_flush2(e->fs, 0);
	if (code)
		return ext4_errno(code, 0, "writing the superblock and bitmaps");
	return 0;
}

int ext4_rw_finish(struct ext4_fs *e)
{
	struct ext2_super_block *sb = e->fs->super;
	int r;

	if (!e->rw)
		return 0;
	/* As the kernel's umount evicts them: files still open but unlinked go now. */
	if (ext4_may_write(e) == 0 && ext4_orphan_evict_all(e) < 0)
		imgfs_fs_stop_writes(&e->base);
	if (atomic_load(&e->base.writes_stopped)) {
		/* As the kernel's ext4_error: the image says it needs a check. */
		sb->s_state = (uint16_t)(e->mount_state | EXT2_ERROR_FS) & (uint16_t)~EXT2_VALID_FS;
	} else {
		sb->s_state = e->mount_state;
	}
	ext2fs_mark_super_dirty(e->fs);
	r = ext4_rw_sync(e);
	if (r < 0)
		log_err("%s: cannot mark the filesystem clean: %s", e->base.img->path,
			strerror(-r));
	e->rw = false;
	return r;
}

int ext4_may_write(struct ext4_fs *e)
{
	if (!e->rw)
		return -EROFS;
	if (atomic_load(&e->base.writes_stopped))
		return -EROFS;
	if (ext4_mmp_lost(e)) {
		/* Another node wrote the MMP block: it may be writing too. */
		imgfs_fs_stop_writes(&e->base);
		return -EROFS;
	}
	return 0;
}

int ext4_inode_for_change(struct ext4_fs *e, uint64_t ino, struct ext4_inode *in)
{
	int r = ext4_may_write(e);

	return r < 0 ? r : ext4_inode_read(e, ino, in);
}
