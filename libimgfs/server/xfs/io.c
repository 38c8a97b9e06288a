/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading blocks from the image and verifying the self-describing header
 * every v5 metadata block carries: magic, CRC32C, the daddr it claims to
 * live at, the filesystem's uuid and the inode that owns it.  A block that
 * passes all five is the block we asked for, written whole.
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "xfs.h"

int xfs_fs_corrupt(const struct xfs_fs *x, uint64_t ino, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ino)
		return fs_corrupt("%s: inode %llu: %s", x->base.img->path,
				  (unsigned long long)ino, msg);
	return fs_corrupt("%s: %s", x->base.img->path, msg);
}

bool xfs_fsb_valid(const struct xfs_fs *x, uint64_t fsbno, uint64_t count)
{
	uint64_t agno = fsbno >> x->agblklog;
	uint64_t agbno = fsbno & ((1ULL << x->agblklog) - 1);
	uint64_t aglen = x->agblocks;
	/* The AG's headers (superblock, AGF, AGI, AGFL) end with the AGFL's block. */
	uint64_t agfl_block = (3ULL << (x->sectlog - 9)) >> (x->blocklog - 9);

	if (fsbno == XFS_NULLFSBLOCK || agno >= x->agcount)
		return false;
	/*
	 * No file data or tree block lives in the headers: the kernel's
	 * xfs_verify_agbno() refuses them, so an extent at block 0 is
	 * corruption, not the superblock's bytes served as data.
	 */
	if (agbno <= agfl_block)
		return false;
	if (agno == x->agcount - 1)
		aglen = x->dblocks - agno * x->agblocks;
	return agbno < aglen && count <= aglen - agbno;
}

/* Field offsets of each header layout: magic (and its width), crc, blkno, uuid, owner. */
static const struct hdr_offsets {
	unsigned magic, magic_len, crc, blkno, uuid, owner, min_len;
} layouts[] = {
	[XFS_HDR_DIR3] = { 0, 4, 4, 8, 24, 40, sizeof(struct xfs_dir3_blk_hdr) },
	[XFS_HDR_DA3] = { 8, 2, 12, 16, 32, 48, sizeof(struct xfs_da3_blkinfo) },
	[XFS_HDR_LBLOCK] = { 0, 4, 64, 24, 40, 56, sizeof(struct xfs_btree_lblock) },
	[XFS_HDR_REMOTE] = { 0, 4, 12, 40, 16, 32, sizeof(struct xfs_attr3_rmt_hdr) },
};

int xfs_verify_block(const struct xfs_fs *x, uint64_t owner, uint64_t blk, const void *buf,
		     size_t len, uint64_t daddr, const struct xfs_blk_verify *v, uint32_t *magic)
{
	const struct hdr_offsets *h;
	const uint8_t *b = buf;
	unsigned long long lblk = (unsigned long long)blk;
	uint32_t m;
	unsigned i;

	if (v->layout == XFS_HDR_NONE) {
		if (magic)
			*magic = 0;
		return 0;
	}
	h = &layouts[v->layout];
	if (len < h->min_len)
		return xfs_fs_corrupt(x, owner, "%s %llu: %zu bytes is too short", v->what, lblk,
				      len);
	m = h->magic_len == 2 ? get_be16(b + h->magic) : get_be32(b + h->magic);
	for (i = 0; i < v->nmagic && v->magics[i] != m; i++)
		;
	if (i == v->nmagic)
		return xfs_fs_corrupt(x, owner, "%s %llu: bad magic 0x%x", v->what, lblk, m);
	if (get_le32(b + h->crc) != xfs_cksum(buf, len, h->crc))
		return xfs_fs_corrupt(x, owner, "%s %llu: bad CRC", v->what, lblk);
	if (get_be64(b + h->blkno) != daddr)
		return xfs_fs_corrupt(x, owner, "%s %llu: claims to be at daddr %llu, read from %llu",
				      v->what, lblk, (unsigned long long)get_be64(b + h->blkno),
				      (unsigned long long)daddr);
	if (memcmp(b + h->uuid, x->meta_uuid, sizeof(x->meta_uuid)))
		return xfs_fs_corrupt(x, owner, "%s %llu: uuid of another filesystem", v->what, lblk);
	if (get_be64(b + h->owner) != owner)
		return xfs_fs_corrupt(x, owner, "%s %llu: owned by inode %llu", v->what, lblk,
				      (unsigned long long)get_be64(b + h->owner));
	if (magic)
		*magic = m;
	return 0;
}

int xfs_read_fsblocks(struct xfs_fs *x, uint64_t ino, uint64_t fsbno, unsigned count,
		      void *buf)
{
	int r;

	if (!count || !xfs_fsb_valid(x, fsbno, count))
		return xfs_fs_corrupt(x, ino, "block %llu (+%u) is outside the filesystem",
				      (unsigned long long)fsbno, count);
	r = imgfs_image_pread(x->base.img, buf, (size_t)count << x->blocklog,
			      xfs_fsb_to_bytes(x, fsbno));
	if (r == -EUCLEAN)
		return xfs_fs_corrupt(x, ino, "block %llu (+%u) is beyond the end of the image",
				      (unsigned long long)fsbno, count);
	if (r < 0)
		log_err("%s: inode %llu: reading block %llu: %s", x->base.img->path,
			(unsigned long long)ino, (unsigned long long)fsbno, strerror(-r));
	return r;
}

int xfs_read_fork_blocks(struct xfs_fs *x, const struct xfs_inode *in, enum xfs_fork fork,
			 uint64_t fileoff, unsigned count, void *buf,
			 const struct xfs_blk_verify *v, uint32_t *magic)
{
	uint64_t off = fileoff, end = fileoff + count, first_daddr = 0;
	char *p = buf;

	if (!count || fileoff > XFS_MAX_FILEOFF || count > XFS_MAX_FILEOFF + 1 - fileoff)
		return xfs_fs_corrupt(x, in->ino, "%s %llu: beyond the largest file offset",
				      v->what, (unsigned long long)fileoff);
	while (off < end) {
		struct xfs_bmap_ext ext;
		uint64_t skip, n;
		int r = xfs_bmap_lookup(x, in, fork, off, &ext);

		if (r < 0)
			return r;
		if (ext.hole) {
			/* All hole: absent (directories have holes); part hole: torn. */
			if (off == fileoff && ext.fileoff + ext.len >= end)
				return -ENOENT;
			return xfs_fs_corrupt(x, in->ino, "%s %llu: partly a hole", v->what,
					      (unsigned long long)fileoff);
		}
		if (ext.unwritten)
			return xfs_fs_corrupt(x, in->ino, "%s %llu: in an unwritten extent",
					      v->what, (unsigned long long)fileoff);
		skip = off - ext.fileoff;
		n = MIN(ext.len - skip, end - off);
		if (off == fileoff)
			first_daddr = xfs_fsb_to_daddr(x, ext.fsbno + skip);
		r = xfs_read_fsblocks(x, in->ino, ext.fsbno + skip, (unsigned)n,
				      p + ((off - fileoff) << x->blocklog));
		if (r < 0)
			return r;
		off += n;
	}
	return xfs_verify_block(x, in->ino, fileoff, buf, (size_t)count << x->blocklog,
				first_daddr, v, magic);
}

const struct xfs_blk_verify xfs_verify_dir3_data = {
	"directory data block", XFS_HDR_DIR3, 2,
	{ XFS_DIR3_BLOCK_MAGIC, XFS_DIR3_DATA_MAGIC },
};
const struct xfs_blk_verify xfs_verify_dir3_free = {
	"directory free block", XFS_HDR_DIR3, 1, { XFS_DIR3_FREE_MAGIC },
};
const struct xfs_blk_verify xfs_verify_dir3_leaf = {
	"directory leaf block", XFS_HDR_DA3, 3,
	{ XFS_DIR3_LEAF1_MAGIC, XFS_DIR3_LEAFN_MAGIC, XFS_DA3_NODE_MAGIC },
};
const struct xfs_blk_verify xfs_verify_attr3_dablk = {
	"attr block", XFS_HDR_DA3, 2, { XFS_ATTR3_LEAF_MAGIC, XFS_DA3_NODE_MAGIC },
};
const struct xfs_blk_verify xfs_verify_attr3_rmt = {
	"remote attr value block", XFS_HDR_REMOTE, 1, { XFS_ATTR3_RMT_MAGIC },
};
const struct xfs_blk_verify xfs_verify_symlink = {
	"symlink block", XFS_HDR_REMOTE, 1, { XFS_SYMLINK_MAGIC },
};
const struct xfs_blk_verify xfs_verify_bmbt = {
	"bmbt block", XFS_HDR_LBLOCK, 1, { XFS_BMAP_CRC_MAGIC },
};
