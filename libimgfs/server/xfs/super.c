/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The superblock: what we refuse to serve and why, the geometry every
 * other part trusts once it is checked here, the AG headers summed for
 * statfs, and feature names as xfs_info prints them.
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>
#include <sys/statvfs.h>

#include "xfs.h"

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* ceil(log2(v)) for v >= 1: what sb_agblklog holds for sb_agblocks. */
static unsigned log2_roundup(uint64_t v)
{
	unsigned l = 0;

	while ((1ULL << l) < v)
		l++;
	return l;
}

/* Names of incompat bits, for refusals and info. */
static const struct feature_name {
	uint32_t mask;
	const char *name;
} incompat_names[] = {
	{ XFS_SB_FEAT_INCOMPAT_FTYPE, "ftype" },
	{ XFS_SB_FEAT_INCOMPAT_SPINODES, "sparse" },
	{ XFS_SB_FEAT_INCOMPAT_META_UUID, "meta_uuid" },
	{ XFS_SB_FEAT_INCOMPAT_BIGTIME, "bigtime" },
	{ XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR, "needsrepair" },
	{ XFS_SB_FEAT_INCOMPAT_NREXT64, "nrext64" },
	{ XFS_SB_FEAT_INCOMPAT_EXCHRANGE, "exchange" },
	{ XFS_SB_FEAT_INCOMPAT_PARENT, "parent" },
	{ XFS_SB_FEAT_INCOMPAT_METADIR, "metadir" },
}, ro_compat_names[] = {
	{ XFS_SB_FEAT_RO_COMPAT_FINOBT, "finobt" },
	{ XFS_SB_FEAT_RO_COMPAT_RMAPBT, "rmapbt" },
	{ XFS_SB_FEAT_RO_COMPAT_REFLINK, "reflink" },
	{ XFS_SB_FEAT_RO_COMPAT_INOBTCNT, "inobtcount" },
};

/* "name name 0x40" for the bits of @mask: known names, then unknown bits in hex. */
static void bit_names(const struct feature_name *names, size_t n, uint32_t mask, char *buf,
		      size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!(mask & names[i].mask))
			continue;
		len += (size_t)snprintf(buf + len, size > len ? size - len : 0, "%s%s",
					len ? " " : "", names[i].name);
		mask &= ~names[i].mask;
	}
	for (unsigned b = 0; b < 32; b++)
		if (mask & (1u << b))
			len += (size_t)snprintf(buf + len, size > len ? size - len : 0, "%s0x%x",
						len ? " " : "", 1u << b);
}

#define REFUSE(code, ...) imgfs_error_set(err, code, __VA_ARGS__)
#define BAD_GEOMETRY(...) bad_super(img, err, __VA_ARGS__)

/* A superblock field out of range: one message naming the image and the field. */
__attribute__((format(printf, 3, 4)))
static int bad_super(const struct imgfs_image *img, struct imgfs_error *err, const char *fmt,
		     ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return imgfs_error_set(err, EUCLEAN, "%s: corrupt XFS superblock: %s, run xfs_repair",
			       img->path, what);
}

/* Sizes and their log2 fields agree, and lie in what XFS allows. */
static int check_sizes(const struct xfs_dsb *sb, const struct imgfs_image *img,
		       struct imgfs_error *err)
{
	uint32_t bs = be32(sb->sb_blocksize);
	uint16_t ss = be16(sb->sb_sectsize), is = be16(sb->sb_inodesize);
	uint16_t ipb = be16(sb->sb_inopblock);

	if (!is_pow2(ss) || ss < (1u << XFS_MIN_SECTORSIZE_LOG) ||
	    ss > (1u << XFS_MAX_SECTORSIZE_LOG) || (1u << sb->sb_sectlog) != ss)
		return BAD_GEOMETRY("sector size %u (log %u)", ss, sb->sb_sectlog);
	/* v5 needs room for the CRC headers: blocks of at least 1 KiB. */
	if (!is_pow2(bs) || bs < 1024 || bs > (1u << XFS_MAX_BLOCKSIZE_LOG) ||
	    sb->sb_blocklog >= 32 || (1u << sb->sb_blocklog) != bs)
		return BAD_GEOMETRY("block size %u (log %u)", bs, sb->sb_blocklog);
	if (ss > bs)
		return BAD_GEOMETRY("sector size %u above block size %u", ss, bs);
	if (!is_pow2(is) || is < (1u << XFS_V5_DINODE_MIN_LOG) || is > XFS_DINODE_MAX_SIZE ||
	    (1u << sb->sb_inodelog) != is || is > bs)
		return BAD_GEOMETRY("inode size %u (log %u, block size %u)", is, sb->sb_inodelog,
				    bs);
	if (ipb != bs / is || sb->sb_inopblog >= 16 || (1u << sb->sb_inopblog) != ipb ||
	    sb->sb_blocklog != sb->sb_inodelog + sb->sb_inopblog)
		return BAD_GEOMETRY("%u inodes per block (log %u)", ipb, sb->sb_inopblog);
	if (sb->sb_blocklog + sb->sb_dirblklog > XFS_MAX_DIRBLOCK_LOG)
		return BAD_GEOMETRY("directory block log %u", sb->sb_dirblklog);
	return 0;
}

/* AG count and size, the data device size, and the image holding it. */
static int check_ags(const struct xfs_dsb *sb, const struct imgfs_image *img,
		     struct imgfs_error *err)
{
	uint32_t agblocks = be32(sb->sb_agblocks), agcount = be32(sb->sb_agcount);
	uint64_t dblocks = be64(sb->sb_dblocks), logstart = be64(sb->sb_logstart);
	unsigned blocklog = sb->sb_blocklog;

	if (agcount == 0 || agblocks < XFS_MIN_AG_BLOCKS || agblocks > (1u << 31) ||
	    sb->sb_agblklog != log2_roundup(agblocks))
		return BAD_GEOMETRY("%u AGs of %u blocks (log %u)", agcount, agblocks,
				    sb->sb_agblklog);
	/* An inode number within an AG must fit 32 bits, and fs block numbers 52. */
	if (sb->sb_agblklog + sb->sb_inopblog > 32 ||
	    log2_roundup(agcount) + sb->sb_agblklog > XFS_BMBT_STARTBLOCK_BITS)
		return BAD_GEOMETRY("%u AGs of %u blocks do not fit block and inode numbers",
				    agcount, agblocks);
	/* Every AG but the last is full; the last holds at least the AG headers' worth. */
	if (dblocks > (uint64_t)agcount * agblocks ||
	    dblocks < (uint64_t)(agcount - 1) * agblocks + XFS_MIN_AG_BLOCKS)
		return BAD_GEOMETRY("%llu blocks do not make %u AGs of %u blocks",
				    (unsigned long long)dblocks, agcount, agblocks);
	if (dblocks > img->size >> blocklog)
		return REFUSE(EUCLEAN,
			      "%s: image is truncated: the filesystem needs %llu blocks of %u bytes, the image holds %llu bytes",
			      img->path, (unsigned long long)dblocks, 1u << blocklog,
			      (unsigned long long)img->size);
	if (sb->sb_imax_pct > 100)
		return BAD_GEOMETRY("inode space limit of %u%%", sb->sb_imax_pct);
	if (logstart) {
		uint64_t agno = logstart >> sb->sb_agblklog;
		uint64_t agbno = logstart & ((1ULL << sb->sb_agblklog) - 1);

		if (agno >= agcount || agbno >= agblocks ||
		    be32(sb->sb_logblocks) > agblocks - agbno)
			return BAD_GEOMETRY("internal log at block %llu (%u blocks) is outside its AG",
					    (unsigned long long)logstart, be32(sb->sb_logblocks));
	}
	return 0;
}

/* Features: serve what we know, refuse the rest naming it. */
static int check_features(const struct xfs_dsb *sb, const struct imgfs_image *img,
			  struct imgfs_error *err)
{
	uint32_t incompat = be32(sb->sb_features_incompat);
	uint32_t ro_compat = be32(sb->sb_features_ro_compat);
	uint32_t unserved = incompat & ~XFS_SB_FEAT_INCOMPAT_SERVED;
	char names[256];

	if (incompat & XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR)
		return REFUSE(EUCLEAN, "%s: the XFS filesystem needs repair (needsrepair is set), run xfs_repair",
			      img->path);
	if (unserved) {
		bit_names(incompat_names, ARRAY_SIZE(incompat_names), unserved, names,
			  sizeof(names));
		return REFUSE(EOPNOTSUPP, "%s: unsupported XFS incompatible feature(s): %s",
			      img->path, names);
	}
	if (be16(sb->sb_versionnum) & XFS_SB_VERSION_BORGBIT)
		return REFUSE(EOPNOTSUPP,
			      "%s: unsupported XFS feature: ascii-ci (case-insensitive names)",
			      img->path);
	if (be64(sb->sb_rblocks) || be64(sb->sb_rextents))
		return REFUSE(EOPNOTSUPP, "%s: XFS realtime volumes are not supported", img->path);
	if (sb->sb_inprogress)
		return REFUSE(EUCLEAN, "%s: mkfs.xfs did not finish this filesystem", img->path);
	if (ro_compat & ~XFS_SB_FEAT_RO_COMPAT_KNOWN) {
		/* Unknown ro_compat features only matter to writers. */
		bit_names(ro_compat_names, ARRAY_SIZE(ro_compat_names),
			  ro_compat & ~XFS_SB_FEAT_RO_COMPAT_KNOWN, names, sizeof(names));
		log_info("%s: unknown XFS read-only-compatible feature(s) %s, serving read-only",
			 img->path, names);
	}
	/* log_incompat only matters to a log that needs recovery: xfs_check_log(). */
	return 0;
}

static void decode_super(struct xfs_fs *x, const struct xfs_dsb *sb)
{
	x->blocksize = be32(sb->sb_blocksize);
	x->blocklog = sb->sb_blocklog;
	x->sectsize = be16(sb->sb_sectsize);
	x->sectlog = sb->sb_sectlog;
	x->inodesize = be16(sb->sb_inodesize);
	x->inodelog = sb->sb_inodelog;
	x->inopblock = be16(sb->sb_inopblock);
	x->inopblog = sb->sb_inopblog;
	x->agblocks = be32(sb->sb_agblocks);
	x->agblklog = sb->sb_agblklog;
	x->agcount = be32(sb->sb_agcount);
	x->dblocks = be64(sb->sb_dblocks);
	x->dirblklog = sb->sb_blocklog + sb->sb_dirblklog;
	x->dirblksize = 1u << x->dirblklog;
	x->dirblkfsbs = 1u << sb->sb_dirblklog;
	x->rootino = be64(sb->sb_rootino);
	x->logstart = be64(sb->sb_logstart);
	x->logblocks = be32(sb->sb_logblocks);
	if (sb->sb_imax_pct) {
		/* Whole inode chunks in imax_pct percent of the blocks. */
		uint64_t chunk = MAX(1U, ((uint32_t)XFS_INODES_PER_CHUNK << x->inodelog) >> x->blocklog);
		uint64_t blocks = x->dblocks * sb->sb_imax_pct / 100 / chunk * chunk;

		x->maxicount = blocks << x->inopblog;
	}
	memcpy(x->uuid, sb->sb_uuid.b, sizeof(x->uuid));
	x->versionnum = be16(sb->sb_versionnum);
	x->features2 = be32(sb->sb_features2);
	x->compat = be32(sb->sb_features_compat);
	x->ro_compat = be32(sb->sb_features_ro_compat);
	x->incompat = be32(sb->sb_features_incompat);
	x->log_incompat = be32(sb->sb_features_log_incompat);
	x->ftype = x->incompat & XFS_SB_FEAT_INCOMPAT_FTYPE;
	x->sparse_inodes = x->incompat & XFS_SB_FEAT_INCOMPAT_SPINODES;
	x->bigtime = x->incompat & XFS_SB_FEAT_INCOMPAT_BIGTIME;
	x->nrext64 = x->incompat & XFS_SB_FEAT_INCOMPAT_NREXT64;
	x->has_meta_uuid = x->incompat & XFS_SB_FEAT_INCOMPAT_META_UUID;
	x->reflink = x->ro_compat & XFS_SB_FEAT_RO_COMPAT_REFLINK;
	x->rmapbt = x->ro_compat & XFS_SB_FEAT_RO_COMPAT_RMAPBT;
	x->finobt = x->ro_compat & XFS_SB_FEAT_RO_COMPAT_FINOBT;
	x->inobtcount = x->ro_compat & XFS_SB_FEAT_RO_COMPAT_INOBTCNT;
	x->projid32 = x->features2 & XFS_SB_VERSION2_PROJID32BIT;
	/* Metadata carries sb_meta_uuid when the visible uuid was changed later. */
	memcpy(x->meta_uuid, x->has_meta_uuid ? sb->sb_meta_uuid.b : sb->sb_uuid.b,
	       sizeof(x->meta_uuid));
	memcpy(x->label, sb->sb_fname, sizeof(sb->sb_fname));
	x->label[sizeof(sb->sb_fname)] = '\0';
}

int xfs_check_super(struct xfs_fs *x, const struct imgfs_image *img, struct imgfs_error *err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct xfs_dsb sb;
	uint16_t version;
	uint32_t ss;
	int r;

	if (img->size < sizeof(sb) || imgfs_image_pread(img, &sb, sizeof(sb), 0) < 0)
		return REFUSE(EMEDIUMTYPE, "%s: cannot read an XFS superblock", img->path);
	if (be32(sb.sb_magicnum) != XFS_SB_MAGIC)
		return REFUSE(EMEDIUMTYPE, "%s: not an XFS filesystem (bad superblock magic)",
			      img->path);
	version = be16(sb.sb_versionnum) & XFS_SB_VERSION_NUMBITS;
	if (version == XFS_SB_VERSION_4)
		return REFUSE(EOPNOTSUPP,
			      "%s: XFS v4 filesystems (without metadata CRCs) are not supported; imgfs reads XFS v5",
			      img->path);
	if (version != XFS_SB_VERSION_5)
		return REFUSE(EOPNOTSUPP, "%s: unknown XFS superblock version %u", img->path,
			      version);
	r = check_sizes(&sb, img, err);
	if (r < 0)
		return r;
	/* The CRC covers the whole first sector. */
	ss = be16(sb.sb_sectsize);
	buf = malloc(ss);
	if (!buf)
		return REFUSE(ENOMEM, "out of memory");
	if (img->size < ss || imgfs_image_pread(img, buf, ss, 0) < 0)
		return REFUSE(EUCLEAN, "%s: cannot read the XFS superblock sector", img->path);
	if (get_le32(buf + XFS_SB_CRC_OFF) != xfs_cksum(buf, ss, XFS_SB_CRC_OFF))
		return REFUSE(EUCLEAN, "%s: XFS superblock CRC mismatch, run xfs_repair",
			      img->path);
	r = check_features(&sb, img, err);
	if (r < 0)
		return r;
	r = check_ags(&sb, img, err);
	if (r < 0)
		return r;
	decode_super(x, &sb);
	if (!xfs_ino_valid(x, x->rootino))
		return BAD_GEOMETRY("root inode %llu out of range", (unsigned long long)x->rootino);
	/*
	 * Sparse chunks need an alignment, unless a whole chunk of 64 inodes
	 * fits in one block (64k blocks): then mkfs writes none, and there
	 * is nothing to be sparse about.
	 */
	if (x->sparse_inodes && !be32(sb.sb_spino_align) &&
	    (uint64_t)XFS_INODES_PER_CHUNK * x->inodesize > x->blocksize)
		return BAD_GEOMETRY("sparse inodes without a sparse chunk alignment");
	/* Metadata is stale while the log holds changes not yet written back. */
	return xfs_check_log(x, err);
}

/* Read and check the AG header at sector @sector of AG @agno. */
static int read_ag_header(struct xfs_fs *x, uint32_t agno, unsigned sector, uint32_t magic,
			  size_t crc_off, uint8_t *buf, struct imgfs_error *err)
{
	const char *what = sector == 1 ? "AGF" : "AGI";
	uint64_t pos = ((uint64_t)agno * x->agblocks << x->blocklog) + ((uint64_t)sector << x->sectlog);
	uint64_t aglen = agno == x->agcount - 1 ? x->dblocks - (uint64_t)agno * x->agblocks
						: x->agblocks;
	/* Both headers have magic, version, seqno and length first. */
	const struct xfs_agf *h = (const void *)buf;

	if (imgfs_image_pread(x->base.img, buf, x->sectsize, pos) < 0)
		return REFUSE(EIO, "%s: cannot read the %s of AG %u", x->base.img->path, what, agno);
	if (be32(h->agf_magicnum) != magic || be32(h->agf_versionnum) != 1)
		return REFUSE(EUCLEAN, "%s: corrupt %s of AG %u: bad magic or version",
			      x->base.img->path, what, agno);
	if (get_le32(buf + crc_off) != xfs_cksum(buf, x->sectsize, crc_off))
		return REFUSE(EUCLEAN, "%s: corrupt %s of AG %u: bad CRC", x->base.img->path, what,
			      agno);
	if (be32(h->agf_seqno) != agno || be32(h->agf_length) != aglen)
		return REFUSE(EUCLEAN, "%s: corrupt %s of AG %u: claims AG %u of %u blocks",
			      x->base.img->path, what, agno, be32(h->agf_seqno),
			      be32(h->agf_length));
	return 0;
}

/*
 * Beyond this many AGs, opening would spend too long reading two sectors
 * per AG (a hostile image can claim millions of tiny AGs): statfs then
 * takes the superblock's own counters, which are exact on a clean
 * filesystem, as the kernel does when it mounts one.
 */
#define XFS_AG_HEADERS_SUMMED 1024

int xfs_read_ag_headers(struct xfs_fs *x, struct imgfs_error *err)
{
	_cleanup_free_ uint8_t *buf = malloc(x->sectsize);
	uint64_t fdblocks = 0, icount = 0, ifree = 0;
	int r;

	if (!buf)
		return REFUSE(ENOMEM, "out of memory");
	if (x->agcount > XFS_AG_HEADERS_SUMMED) {
		const struct xfs_dsb *sb = (const void *)buf;

		if (imgfs_image_pread(x->base.img, buf, x->sectsize, 0) < 0)
			return REFUSE(EIO, "%s: cannot read the superblock", x->base.img->path);
		x->fdblocks = MIN(be64(sb->sb_fdblocks), x->dblocks);
		x->icount = be64(sb->sb_icount);
		x->ifree = MIN(be64(sb->sb_ifree), x->icount);
		return 0;
	}
	for (uint32_t agno = 0; agno < x->agcount; agno++) {
		const struct xfs_agf *agf = (const void *)buf;
		const struct xfs_agi *agi = (const void *)buf;

		r = read_ag_header(x, agno, 1, XFS_AGF_MAGIC, XFS_AGF_CRC_OFF, buf, err);
		if (r < 0)
			return r;
		if (memcmp(agf->agf_uuid.b, x->meta_uuid, 16))
			return REFUSE(EUCLEAN, "%s: corrupt AGF of AG %u: uuid of another filesystem",
				      x->base.img->path, agno);
		/* The kernel's free count: free extents, the free list and spare btree blocks. */
		fdblocks += (uint64_t)be32(agf->agf_freeblks) + be32(agf->agf_flcount) +
			    be32(agf->agf_btreeblks);
		r = read_ag_header(x, agno, 2, XFS_AGI_MAGIC, XFS_AGI_CRC_OFF, buf, err);
		if (r < 0)
			return r;
		if (memcmp(agi->agi_uuid.b, x->meta_uuid, 16))
			return REFUSE(EUCLEAN, "%s: corrupt AGI of AG %u: uuid of another filesystem",
				      x->base.img->path, agno);
		icount += be32(agi->agi_count);
		ifree += be32(agi->agi_freecount);
	}
	x->fdblocks = MIN(fdblocks, x->dblocks);
	x->icount = icount;
	x->ifree = MIN(ifree, icount);
	return 0;
}

/* Blocks the kernel keeps back from statfs: 4 per AG for the AGFL and 4 more for splits. */
static uint64_t set_aside(const struct xfs_fs *x)
{
	return (uint64_t)x->agcount * 8;
}

int xfs_statfs(struct imgfs_fs *fs, struct statvfs *st)
{
	struct xfs_fs *x = XFS(fs);
	uint64_t bfree = x->fdblocks > set_aside(x) ? x->fdblocks - set_aside(x) : 0;
	uint64_t files;

	memset(st, 0, sizeof(*st));
	st->f_bsize = x->blocksize;
	st->f_frsize = x->blocksize;
	/* An internal log is not space a file can have. */
	st->f_blocks = x->dblocks - (x->logstart ? x->logblocks : 0);
	st->f_bfree = bfree;
	st->f_bavail = bfree;
	/*
	 * Inodes are allocated on demand: as many as the free space could
	 * hold, within the imax_pct limit, and never fewer than exist.
	 */
	files = x->icount + MIN(bfree, UINT64_MAX >> 16 >> x->inopblog) * x->inopblock;
	if (x->maxicount)
		files = MIN(files, x->maxicount);
	files = MAX(files, x->icount);
	st->f_files = files;
	st->f_ffree = files - (x->icount - x->ifree);
	st->f_favail = st->f_ffree;
	st->f_fsid = get_be32(x->uuid) ^ get_be32(x->uuid + 4) ^ get_be32(x->uuid + 8) ^
		     get_be32(x->uuid + 12);
	st->f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	st->f_namemax = 255;
	return 0;
}

void xfs_feature_names(const struct xfs_fs *x, char *buf, size_t size)
{
	/* The names xfs_info prints as name=1, in its order. */
	const struct { bool on; const char *name; } f[] = {
		{ true, "crc" },
		{ x->finobt, "finobt" },
		{ x->sparse_inodes, "sparse" },
		{ x->rmapbt, "rmapbt" },
		{ x->reflink, "reflink" },
		{ x->bigtime, "bigtime" },
		{ x->inobtcount, "inobtcount" },
		{ x->nrext64, "nrext64" },
		{ x->ftype, "ftype" },
		{ x->has_meta_uuid, "meta_uuid" },
		{ x->features2 & XFS_SB_VERSION2_ATTR2BIT, "attr2" },
		{ x->features2 & XFS_SB_VERSION2_LAZYSBCOUNTBIT, "lazy-count" },
		{ x->projid32, "projid32bit" },
	};
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		if (f[i].on)
			len += (size_t)snprintf(buf + len, size > len ? size - len : 0, "%s%s",
						len ? " " : "", f[i].name);
}

int xfs_info(struct imgfs_fs *fs, struct imgfs_fs_info *info)
{
	struct xfs_fs *x = XFS(fs);

	memset(info, 0, sizeof(*info));
	snprintf(info->type, sizeof(info->type), "xfs");
	snprintf(info->label, sizeof(info->label), "%s", x->label);
	memcpy(info->uuid, x->uuid, sizeof(info->uuid));
	info->block_size = x->blocksize;
	info->blocks = x->dblocks;
	info->free_blocks = x->fdblocks;
	info->inodes = x->icount;
	info->free_inodes = x->ifree;
	xfs_feature_names(x, info->features, sizeof(info->features));
	return 0;
}
