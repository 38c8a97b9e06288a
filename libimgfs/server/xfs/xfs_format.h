/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The XFS v5 on-disk format, as far as a read-only reader needs it.
 *
 * Written from the public on-disk format reference ("XFS Algorithms & Data
 * Structures") and checked against images mkfs.xfs makes.  XFS stores
 * everything big-endian except CRCs, which are little-endian.  Every
 * multi-byte field here is a byte array of its own type (xfs_be16,
 * xfs_be32, xfs_be64, xfs_le32), so the compiler refuses arithmetic on a
 * raw field: values come out through be16()/be32()/be64()/le32() only,
 * and structures have no alignment, so they overlay any buffer offset.
 *
 * Offsets below are bytes from the start of each structure; the static
 * asserts pin them.
 */
#ifndef IMGFS_XFS_FORMAT_H
#define IMGFS_XFS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "byteorder.h"

/* ---- endian-explicit field types and accessors ---- */

typedef struct { uint8_t b[2]; } xfs_be16;
typedef struct { uint8_t b[4]; } xfs_be32;
typedef struct { uint8_t b[8]; } xfs_be64;
typedef struct { uint8_t b[4]; } xfs_le32;	/* CRCs only */
typedef struct { uint8_t b[16]; } xfs_uuid;

static inline uint16_t be16(xfs_be16 v) { return get_be16(v.b); }
static inline uint32_t be32(xfs_be32 v) { return get_be32(v.b); }
static inline uint64_t be64(xfs_be64 v) { return get_be64(v.b); }
static inline uint32_t le32(xfs_le32 v) { return get_le32(v.b); }

#define XFS_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), "sizeof(" #type ") != " #size)
#define XFS_ASSERT_OFF(type, field, off) \
	_Static_assert(offsetof(type, field) == (off), #type "." #field " not at " #off)

/* ---- basic units ---- */

#define XFS_BBSHIFT		9	/* "basic blocks": 512-byte sectors, the unit of daddrs */
#define XFS_BBSIZE		(1U << XFS_BBSHIFT)
#define XFS_NULLFSBLOCK		UINT64_MAX	/* no block (sibling pointers, ...) */
#define XFS_NULLAGINO		UINT32_MAX
#define XFS_NULLINO		UINT64_MAX
#define XFS_MIN_BLOCKSIZE_LOG	9
#define XFS_MAX_BLOCKSIZE_LOG	16	/* 64 KiB */
#define XFS_MIN_SECTORSIZE_LOG	9
#define XFS_MAX_SECTORSIZE_LOG	15	/* 32 KiB */
#define XFS_DINODE_MIN_LOG	8	/* 256-byte inodes ... */
#define XFS_DINODE_MAX_LOG	11	/* ... up to 2 KiB */
#define XFS_DINODE_MAX_SIZE	(1U << XFS_DINODE_MAX_LOG)
#define XFS_V5_DINODE_MIN_LOG	9	/* v5 filesystems have inodes of 512 bytes or more */
#define XFS_INODES_PER_CHUNK	64	/* inodes are allocated in chunks of 64 */
#define XFS_MAX_DBLOCKS_LOG	54	/* fs block numbers in extents have 52+ bits */
#define XFS_MAX_AGNUMBER	UINT32_MAX
#define XFS_MIN_AG_BLOCKS	64
#define XFS_MAX_DIRBLOCK_LOG	16	/* directory blocks are at most 64 KiB */
#define XFS_SYMLINK_MAXLEN	1024	/* longest target XFS stores */
#define XFS_SYMLINK_MAPS	3	/* a remote symlink spans at most 3 extents */

/* ---- the superblock: sector 0 of every AG; AG 0's is the primary ---- */

#define XFS_SB_MAGIC		0x58465342	/* "XFSB" */
#define XFS_SB_CRC_OFF		224		/* offsetof(struct xfs_dsb, sb_crc) */

struct xfs_dsb {
	xfs_be32 sb_magicnum;		/* 0: XFS_SB_MAGIC */
	xfs_be32 sb_blocksize;		/* 4: filesystem block size, bytes */
	xfs_be64 sb_dblocks;		/* 8: blocks in the data device */
	xfs_be64 sb_rblocks;		/* 16: blocks in the realtime device (0: none) */
	xfs_be64 sb_rextents;		/* 24: realtime extents */
	xfs_uuid sb_uuid;		/* 32: user-visible filesystem uuid */
	xfs_be64 sb_logstart;		/* 48: first block of an internal log (0: external) */
	xfs_be64 sb_rootino;		/* 56: root directory inode */
	xfs_be64 sb_rbmino;		/* 64: realtime bitmap inode */
	xfs_be64 sb_rsumino;		/* 72: realtime summary inode */
	xfs_be32 sb_rextsize;		/* 80: realtime extent size, blocks */
	xfs_be32 sb_agblocks;		/* 84: blocks per AG (the last may be shorter) */
	xfs_be32 sb_agcount;		/* 88: number of AGs */
	xfs_be32 sb_rbmblocks;		/* 92: realtime bitmap blocks */
	xfs_be32 sb_logblocks;		/* 96: log blocks */
	xfs_be16 sb_versionnum;		/* 100: version (low 4 bits) and XFS_SB_VERSION_* flags */
	xfs_be16 sb_sectsize;		/* 102: sector size, bytes */
	xfs_be16 sb_inodesize;		/* 104: inode size, bytes */
	xfs_be16 sb_inopblock;		/* 106: inodes per block */
	char sb_fname[12];		/* 108: label, NUL-padded (not terminated when 12 long) */
	uint8_t sb_blocklog;		/* 120: log2(sb_blocksize) */
	uint8_t sb_sectlog;		/* 121: log2(sb_sectsize) */
	uint8_t sb_inodelog;		/* 122: log2(sb_inodesize) */
	uint8_t sb_inopblog;		/* 123: log2(sb_inopblock) */
	uint8_t sb_agblklog;		/* 124: log2(sb_agblocks) rounded up: AG bits in block numbers */
	uint8_t sb_rextslog;		/* 125: log2(sb_rextents) */
	uint8_t sb_inprogress;		/* 126: mkfs did not finish */
	uint8_t sb_imax_pct;		/* 127: max % of space for inodes */
	xfs_be64 sb_icount;		/* 128: allocated inodes (lazy: exact only when clean) */
	xfs_be64 sb_ifree;		/* 136: free inodes (lazy) */
	xfs_be64 sb_fdblocks;		/* 144: free data blocks (lazy) */
	xfs_be64 sb_frextents;		/* 152: free realtime extents */
	xfs_be64 sb_uquotino;		/* 160: user quota inode */
	xfs_be64 sb_gquotino;		/* 168: group quota inode */
	xfs_be16 sb_qflags;		/* 176: quota flags */
	uint8_t sb_flags;		/* 178: misc flags */
	uint8_t sb_shared_vn;		/* 179: shared version number (0) */
	xfs_be32 sb_inoalignmt;		/* 180: inode chunk alignment, blocks */
	xfs_be32 sb_unit;		/* 184: stripe unit, blocks */
	xfs_be32 sb_width;		/* 188: stripe width, blocks */
	uint8_t sb_dirblklog;		/* 192: log2(directory block size / sb_blocksize) */
	uint8_t sb_logsectlog;		/* 193: log2 of the log's sector size */
	xfs_be16 sb_logsectsize;	/* 194: log sector size */
	xfs_be32 sb_logsunit;		/* 196: log stripe unit, bytes */
	xfs_be32 sb_features2;		/* 200: XFS_SB_VERSION2_* flags */
	xfs_be32 sb_bad_features2;	/* 204: copy of features2 (an old alignment bug) */
	/* version 5 superblocks only: */
	xfs_be32 sb_features_compat;	/* 208: XFS_SB_FEAT_COMPAT_* */
	xfs_be32 sb_features_ro_compat;	/* 212: XFS_SB_FEAT_RO_COMPAT_*: unknown = read-only */
	xfs_be32 sb_features_incompat;	/* 216: XFS_SB_FEAT_INCOMPAT_*: unknown = refuse */
	xfs_be32 sb_features_log_incompat; /* 220: set while the log may hold such items */
	xfs_le32 sb_crc;		/* 224: CRC32C of the sector, this field as zero */
	xfs_be32 sb_spino_align;	/* 228: sparse inode chunk alignment, blocks */
	xfs_be64 sb_pquotino;		/* 232: project quota inode */
	xfs_be64 sb_lsn;		/* 240: last write's log sequence number */
	xfs_uuid sb_meta_uuid;		/* 248: uuid stamped in metadata, with META_UUID */
};
XFS_ASSERT_SIZE(struct xfs_dsb, 264);
XFS_ASSERT_OFF(struct xfs_dsb, sb_uuid, 32);
XFS_ASSERT_OFF(struct xfs_dsb, sb_versionnum, 100);
XFS_ASSERT_OFF(struct xfs_dsb, sb_blocklog, 120);
XFS_ASSERT_OFF(struct xfs_dsb, sb_icount, 128);
XFS_ASSERT_OFF(struct xfs_dsb, sb_dirblklog, 192);
XFS_ASSERT_OFF(struct xfs_dsb, sb_features_compat, 208);
XFS_ASSERT_OFF(struct xfs_dsb, sb_crc, XFS_SB_CRC_OFF);
XFS_ASSERT_OFF(struct xfs_dsb, sb_meta_uuid, 248);

/* sb_versionnum */
#define XFS_SB_VERSION_NUMBITS		0x000f
#define XFS_SB_VERSION_4		4
#define XFS_SB_VERSION_5		5
#define XFS_SB_VERSION_ATTRBIT		0x0010
#define XFS_SB_VERSION_NLINKBIT		0x0020
#define XFS_SB_VERSION_QUOTABIT		0x0040
#define XFS_SB_VERSION_ALIGNBIT		0x0080
#define XFS_SB_VERSION_DALIGNBIT	0x0100
#define XFS_SB_VERSION_SHAREDBIT	0x0200
#define XFS_SB_VERSION_LOGV2BIT		0x0400
#define XFS_SB_VERSION_SECTORBIT	0x0800
#define XFS_SB_VERSION_EXTFLGBIT	0x1000
#define XFS_SB_VERSION_DIRV2BIT		0x2000
#define XFS_SB_VERSION_BORGBIT		0x4000	/* ASCII-only case-insensitive names */
#define XFS_SB_VERSION_MOREBITSBIT	0x8000	/* sb_features2 is valid */

/* sb_features2 */
#define XFS_SB_VERSION2_LAZYSBCOUNTBIT	0x00000002	/* superblock counters are lazy */
#define XFS_SB_VERSION2_ATTR2BIT	0x00000008	/* variable attr fork offset */
#define XFS_SB_VERSION2_PARENTBIT	0x00000010	/* (never used) */
#define XFS_SB_VERSION2_PROJID32BIT	0x00000080	/* 32-bit project ids */
#define XFS_SB_VERSION2_CRCBIT		0x00000100	/* metadata CRCs (= v5) */
#define XFS_SB_VERSION2_FTYPE		0x00000200	/* file type in dirents (v4 name) */

/* sb_features_compat: none are defined. */
#define XFS_SB_FEAT_COMPAT_KNOWN	0u

/* sb_features_ro_compat */
#define XFS_SB_FEAT_RO_COMPAT_FINOBT	(1u << 0)	/* free inode btree */
#define XFS_SB_FEAT_RO_COMPAT_RMAPBT	(1u << 1)	/* reverse mapping btree */
#define XFS_SB_FEAT_RO_COMPAT_REFLINK	(1u << 2)	/* shared extents, refcount btree */
#define XFS_SB_FEAT_RO_COMPAT_INOBTCNT	(1u << 3)	/* inode btree block counters in AGI */
#define XFS_SB_FEAT_RO_COMPAT_KNOWN \
	(XFS_SB_FEAT_RO_COMPAT_FINOBT | XFS_SB_FEAT_RO_COMPAT_RMAPBT | \
	 XFS_SB_FEAT_RO_COMPAT_REFLINK | XFS_SB_FEAT_RO_COMPAT_INOBTCNT)

/* sb_features_incompat */
#define XFS_SB_FEAT_INCOMPAT_FTYPE	(1u << 0)	/* file type in directory entries */
#define XFS_SB_FEAT_INCOMPAT_SPINODES	(1u << 1)	/* sparse inode chunks */
#define XFS_SB_FEAT_INCOMPAT_META_UUID	(1u << 2)	/* metadata carries sb_meta_uuid */
#define XFS_SB_FEAT_INCOMPAT_BIGTIME	(1u << 3)	/* 64-bit nanosecond timestamps */
#define XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR (1u << 4)	/* xfs_repair must run first */
#define XFS_SB_FEAT_INCOMPAT_NREXT64	(1u << 5)	/* 64-bit data fork extent counters */
#define XFS_SB_FEAT_INCOMPAT_EXCHRANGE	(1u << 6)	/* file content exchange (log items) */
#define XFS_SB_FEAT_INCOMPAT_PARENT	(1u << 7)	/* directory parent pointers (as xattrs) */
#define XFS_SB_FEAT_INCOMPAT_METADIR	(1u << 8)	/* metadata directory tree */
/* What this reader serves; everything else is refused by name or number. */
#define XFS_SB_FEAT_INCOMPAT_SERVED \
	(XFS_SB_FEAT_INCOMPAT_FTYPE | XFS_SB_FEAT_INCOMPAT_SPINODES | \
	 XFS_SB_FEAT_INCOMPAT_META_UUID | XFS_SB_FEAT_INCOMPAT_BIGTIME | \
	 XFS_SB_FEAT_INCOMPAT_NREXT64)

/* sb_features_log_incompat: the log holds items only newer code can replay. */
#define XFS_SB_FEAT_INCOMPAT_LOG_XATTRS	(1u << 0)

/* ---- AG headers: AGF at sector 1 and AGI at sector 2 of each AG ---- */

#define XFS_AGF_MAGIC		0x58414746	/* "XAGF" */
#define XFS_AGI_MAGIC		0x58414749	/* "XAGI" */
#define XFS_AGF_CRC_OFF		216
#define XFS_AGI_CRC_OFF		312

struct xfs_agf {
	xfs_be32 agf_magicnum;		/* 0: XFS_AGF_MAGIC */
	xfs_be32 agf_versionnum;	/* 4: 1 */
	xfs_be32 agf_seqno;		/* 8: AG number */
	xfs_be32 agf_length;		/* 12: blocks in this AG */
	xfs_be32 agf_bno_root;		/* 16: by-block free space btree root */
	xfs_be32 agf_cnt_root;		/* 20: by-size free space btree root */
	xfs_be32 agf_rmap_root;		/* 24: reverse mapping btree root */
	xfs_be32 agf_bno_level;		/* 28: levels of the bno btree */
	xfs_be32 agf_cnt_level;		/* 32: levels of the cnt btree */
	xfs_be32 agf_rmap_level;	/* 36: levels of the rmap btree */
	xfs_be32 agf_flfirst;		/* 40: first free list slot in use */
	xfs_be32 agf_fllast;		/* 44: last free list slot in use */
	xfs_be32 agf_flcount;		/* 48: blocks on the free list */
	xfs_be32 agf_freeblks;		/* 52: free blocks in the free space btrees */
	xfs_be32 agf_longest;		/* 56: longest free extent */
	xfs_be32 agf_btreeblks;		/* 60: blocks the free space btrees use beyond roots */
	xfs_uuid agf_uuid;		/* 64: filesystem (meta) uuid */
	xfs_be32 agf_rmap_blocks;	/* 80: rmap btree blocks */
	xfs_be32 agf_refcount_blocks;	/* 84: refcount btree blocks */
	xfs_be32 agf_refcount_root;	/* 88: refcount btree root */
	xfs_be32 agf_refcount_level;	/* 92: refcount btree levels */
	xfs_be64 agf_spare64[14];	/* 96: zero */
	xfs_be64 agf_lsn;		/* 208: last write's LSN */
	xfs_le32 agf_crc;		/* 216: CRC32C of the sector */
	xfs_be32 agf_spare2;		/* 220: zero */
};
XFS_ASSERT_SIZE(struct xfs_agf, 224);
XFS_ASSERT_OFF(struct xfs_agf, agf_uuid, 64);
XFS_ASSERT_OFF(struct xfs_agf, agf_crc, XFS_AGF_CRC_OFF);

struct xfs_agi {
	xfs_be32 agi_magicnum;		/* 0: XFS_AGI_MAGIC */
	xfs_be32 agi_versionnum;	/* 4: 1 */
	xfs_be32 agi_seqno;		/* 8: AG number */
	xfs_be32 agi_length;		/* 12: blocks in this AG */
	xfs_be32 agi_count;		/* 16: allocated inodes */
	xfs_be32 agi_root;		/* 20: inode btree root */
	xfs_be32 agi_level;		/* 24: inode btree levels */
	xfs_be32 agi_freecount;		/* 28: free allocated inodes */
	xfs_be32 agi_newino;		/* 32: most recently allocated chunk */
	xfs_be32 agi_dirino;		/* 36: unused */
	xfs_be32 agi_unlinked[64];	/* 40: hash of unlinked-but-open inode lists */
	xfs_uuid agi_uuid;		/* 296: filesystem (meta) uuid */
	xfs_le32 agi_crc;		/* 312: CRC32C of the sector */
	xfs_be32 agi_pad32;		/* 316: zero */
	xfs_be64 agi_lsn;		/* 320: last write's LSN */
	xfs_be32 agi_free_root;		/* 328: free inode btree root */
	xfs_be32 agi_free_level;	/* 332: free inode btree levels */
	xfs_be32 agi_iblocks;		/* 336: inobt blocks (INOBTCNT) */
	xfs_be32 agi_fblocks;		/* 340: finobt blocks (INOBTCNT) */
};
XFS_ASSERT_SIZE(struct xfs_agi, 344);
XFS_ASSERT_OFF(struct xfs_agi, agi_uuid, 296);
XFS_ASSERT_OFF(struct xfs_agi, agi_crc, XFS_AGI_CRC_OFF);

/* ---- inodes (version 3 only on v5 filesystems) ---- */

#define XFS_DINODE_MAGIC	0x494e		/* "IN" */
#define XFS_DINODE_CRC_OFF	100
#define XFS_DINODE_V3_SIZE	176		/* the literal area (forks) starts here */

/* di_format / di_aformat */
enum xfs_dinode_fmt {
	XFS_DINODE_FMT_DEV = 0,		/* device number in the data fork */
	XFS_DINODE_FMT_LOCAL = 1,	/* data inside the fork */
	XFS_DINODE_FMT_EXTENTS = 2,	/* array of bmbt records in the fork */
	XFS_DINODE_FMT_BTREE = 3,	/* bmbt root (xfs_bmdr_block) in the fork */
	XFS_DINODE_FMT_UUID = 4,	/* never used */
};

/* A timestamp: legacy (signed seconds, nanoseconds) or bigtime (one counter). */
struct xfs_timestamp {
	xfs_be32 t_sec;			/* legacy: seconds since 1970, signed */
	xfs_be32 t_nsec;		/* legacy: nanoseconds */
};
XFS_ASSERT_SIZE(struct xfs_timestamp, 8);
/*
 * With XFS_DIFLAG2_BIGTIME the 8 bytes are one unsigned big-endian count
 * of nanoseconds since the legacy format's smallest time, 1901-12-13
 * 20:45:52 UTC = -2^31 seconds; so Unix seconds are count / 10^9 - 2^31.
 */
#define XFS_BIGTIME_EPOCH_OFFSET	(-(int64_t)INT32_MIN)
#define XFS_NSEC_PER_SEC		1000000000ULL

struct xfs_dinode {
	xfs_be16 di_magic;		/* 0: XFS_DINODE_MAGIC */
	xfs_be16 di_mode;		/* 2: mode and type, as stat's st_mode */
	uint8_t di_version;		/* 4: 3 on v5 filesystems */
	uint8_t di_format;		/* 5: data fork format, enum xfs_dinode_fmt */
	xfs_be16 di_onlink;		/* 6: v1 link count; unused in v3 */
	xfs_be32 di_uid;		/* 8: owner */
	xfs_be32 di_gid;		/* 12: group */
	xfs_be32 di_nlink;		/* 16: link count */
	xfs_be16 di_projid_lo;		/* 20: project id, low 16 bits */
	xfs_be16 di_projid_hi;		/* 22: project id, high 16 bits */
	/* with XFS_DIFLAG2_NREXT64: di_big_nextents; else 6 pad bytes and di_flushiter */
	xfs_be64 di_big_nextents;	/* 24: data fork extents (NREXT64) */
	struct xfs_timestamp di_atime;	/* 32: access time */
	struct xfs_timestamp di_mtime;	/* 40: modification time */
	struct xfs_timestamp di_ctime;	/* 48: change time */
	xfs_be64 di_size;		/* 56: size in bytes */
	xfs_be64 di_nblocks;		/* 64: blocks used, data and attr forks, btree blocks too */
	xfs_be32 di_extsize;		/* 72: extent size hint */
	/*
	 * 76: without NREXT64: di_nextents (be32 data fork extents) then
	 * di_anextents (be16 attr fork extents) at 80; with NREXT64:
	 * di_big_anextents (be32 attr fork extents) then 2 pad bytes.
	 */
	xfs_be32 di_nextents;		/* 76: data fork extents / big attr fork extents */
	xfs_be16 di_anextents;		/* 80: attr fork extents (without NREXT64) */
	uint8_t di_forkoff;		/* 82: attr fork offset in 8-byte units (0: no attr fork) */
	uint8_t di_aformat;		/* 83: attr fork format, enum xfs_dinode_fmt */
	xfs_be32 di_dmevmask;		/* 84: DMAPI (unused) */
	xfs_be16 di_dmstate;		/* 88: DMAPI (unused) */
	xfs_be16 di_flags;		/* 90: XFS_DIFLAG_* */
	xfs_be32 di_gen;		/* 92: generation number */
	xfs_be32 di_next_unlinked;	/* 96: unlinked list chain (AGI) */
	/* version 3: */
	xfs_le32 di_crc;		/* 100: CRC32C of the inode, this field as zero */
	xfs_be64 di_changecount;	/* 104: change counter */
	xfs_be64 di_lsn;		/* 112: last write's LSN */
	xfs_be64 di_flags2;		/* 120: XFS_DIFLAG2_* */
	xfs_be32 di_cowextsize;		/* 128: CoW extent size hint */
	uint8_t di_pad2[12];		/* 132: zero */
	struct xfs_timestamp di_crtime;	/* 144: creation time */
	xfs_be64 di_ino;		/* 152: this inode's own number */
	xfs_uuid di_uuid;		/* 160: filesystem (meta) uuid */
};
XFS_ASSERT_SIZE(struct xfs_dinode, XFS_DINODE_V3_SIZE);
XFS_ASSERT_OFF(struct xfs_dinode, di_big_nextents, 24);
XFS_ASSERT_OFF(struct xfs_dinode, di_size, 56);
XFS_ASSERT_OFF(struct xfs_dinode, di_nextents, 76);
XFS_ASSERT_OFF(struct xfs_dinode, di_forkoff, 82);
XFS_ASSERT_OFF(struct xfs_dinode, di_crc, XFS_DINODE_CRC_OFF);
XFS_ASSERT_OFF(struct xfs_dinode, di_flags2, 120);
XFS_ASSERT_OFF(struct xfs_dinode, di_crtime, 144);
XFS_ASSERT_OFF(struct xfs_dinode, di_ino, 152);

/* di_flags */
#define XFS_DIFLAG_REALTIME	(1u << 0)	/* data on the realtime device */
#define XFS_DIFLAG_PREALLOC	(1u << 1)	/* preallocated space */
#define XFS_DIFLAG_NEWRTBM	(1u << 2)	/* rt bitmap uses new format */
#define XFS_DIFLAG_IMMUTABLE	(1u << 3)	/* chattr +i */
#define XFS_DIFLAG_APPEND	(1u << 4)	/* chattr +a */
#define XFS_DIFLAG_SYNC		(1u << 5)
#define XFS_DIFLAG_NOATIME	(1u << 6)
#define XFS_DIFLAG_NODUMP	(1u << 7)
#define XFS_DIFLAG_RTINHERIT	(1u << 8)
#define XFS_DIFLAG_PROJINHERIT	(1u << 9)
#define XFS_DIFLAG_NOSYMLINKS	(1u << 10)
#define XFS_DIFLAG_EXTSIZE	(1u << 11)
#define XFS_DIFLAG_EXTSZINHERIT	(1u << 12)
#define XFS_DIFLAG_NODEFRAG	(1u << 13)
#define XFS_DIFLAG_FILESTREAM	(1u << 14)

/* di_flags2 */
#define XFS_DIFLAG2_DAX		(1ull << 0)
#define XFS_DIFLAG2_REFLINK	(1ull << 1)	/* may share blocks */
#define XFS_DIFLAG2_COWEXTSIZE	(1ull << 2)
#define XFS_DIFLAG2_BIGTIME	(1ull << 3)	/* timestamps are bigtime counters */
#define XFS_DIFLAG2_NREXT64	(1ull << 4)	/* 64-bit extent counters */
#define XFS_DIFLAG2_KNOWN \
	(XFS_DIFLAG2_DAX | XFS_DIFLAG2_REFLINK | XFS_DIFLAG2_COWEXTSIZE | \
	 XFS_DIFLAG2_BIGTIME | XFS_DIFLAG2_NREXT64)

/* Extent counter limits (a fork with more is corrupt). */
#define XFS_MAX_EXTCNT_DATA_FORK_LARGE	((1ULL << 48) - 1)
#define XFS_MAX_EXTCNT_ATTR_FORK_LARGE	((1ULL << 32) - 1)
#define XFS_MAX_EXTCNT_DATA_FORK_SMALL	((1ULL << 31) - 1)
#define XFS_MAX_EXTCNT_ATTR_FORK_SMALL	((1ULL << 15) - 1)

/*
 * Device numbers of special files: the data fork (format DEV) holds one
 * be32 in the SysV encoding, 14 bits of major above 18 bits of minor.
 */
#define XFS_SYSV_MAJOR(d)	(((d) >> 18) & 0x3fff)
#define XFS_SYSV_MINOR(d)	((d) & 0x3ffff)

/* Inode numbers: AG number, then block in the AG, then inode in the block. */
/* ino = agno << (agblklog + inopblog) | agbno << inopblog | offset */

/* ---- bmbt: the block map (file offset -> filesystem block) ---- */

/*
 * A 128-bit extent record, two be64 words:
 *   l0 bit 63      unwritten (preallocated) flag
 *   l0 bits 62..9  startoff: first file block (54 bits)
 *   l0 bits 8..0   startblock, high 9 bits
 *   l1 bits 63..21 startblock, low 43 bits (52 bits in all)
 *   l1 bits 20..0  blockcount (21 bits)
 * startblock is an XFS fs block number: agno << agblklog | agbno.
 */
struct xfs_bmbt_rec {
	xfs_be64 l0;
	xfs_be64 l1;
};
XFS_ASSERT_SIZE(struct xfs_bmbt_rec, 16);

#define XFS_BMBT_STARTOFF_BITS	54
#define XFS_BMBT_STARTBLOCK_BITS 52
#define XFS_BMBT_BLOCKCOUNT_BITS 21
#define XFS_MAX_FILEOFF		((1ULL << XFS_BMBT_STARTOFF_BITS) - 1)	/* file blocks */
#define XFS_MAX_BMBT_EXTLEN	((1ULL << XFS_BMBT_BLOCKCOUNT_BITS) - 1)

/* A decoded extent record. */
struct xfs_bmbt_irec {
	uint64_t startoff;	/* first file block */
	uint64_t startblock;	/* first fs block (agno:agbno) */
	uint64_t blockcount;	/* blocks */
	int unwritten;		/* allocated, reads as zeros */
};

static inline void xfs_bmbt_decode(const struct xfs_bmbt_rec *r, struct xfs_bmbt_irec *out)
{
	uint64_t l0 = be64(r->l0), l1 = be64(r->l1);

	out->unwritten = (int)(l0 >> 63);
	out->startoff = (l0 >> 9) & XFS_MAX_FILEOFF;
	out->startblock = (l0 & 0x1ff) << 43 | l1 >> 21;
	out->blockcount = l1 & XFS_MAX_BMBT_EXTLEN;
}

/* Keys and pointers of bmbt interior nodes: be64 startoff, be64 fs block. */
typedef xfs_be64 xfs_bmbt_key;
typedef xfs_be64 xfs_bmbt_ptr;

/*
 * Long-form btree block header with CRC (bmbt blocks, magic BMA3);
 * keys or records follow at offset 72.
 */
#define XFS_BMAP_CRC_MAGIC	0x424d4133	/* "BMA3" */
#define XFS_BTREE_LBLOCK_CRC_OFF 64

struct xfs_btree_lblock {
	xfs_be32 bb_magic;		/* 0: XFS_BMAP_CRC_MAGIC */
	xfs_be16 bb_level;		/* 4: 0 for leaves */
	xfs_be16 bb_numrecs;		/* 6: records or keys in this block */
	xfs_be64 bb_leftsib;		/* 8: fs block of the left sibling, or NULLFSBLOCK */
	xfs_be64 bb_rightsib;		/* 16: fs block of the right sibling, or NULLFSBLOCK */
	xfs_be64 bb_blkno;		/* 24: this block's daddr (512-byte units) */
	xfs_be64 bb_lsn;		/* 32: last write's LSN */
	xfs_uuid bb_uuid;		/* 40: filesystem (meta) uuid */
	xfs_be64 bb_owner;		/* 56: owning inode */
	xfs_le32 bb_crc;		/* 64: CRC32C of the block, this field as zero */
	xfs_be32 bb_pad;		/* 68: zero */
};
XFS_ASSERT_SIZE(struct xfs_btree_lblock, 72);
XFS_ASSERT_OFF(struct xfs_btree_lblock, bb_blkno, 24);
XFS_ASSERT_OFF(struct xfs_btree_lblock, bb_owner, 56);
XFS_ASSERT_OFF(struct xfs_btree_lblock, bb_crc, XFS_BTREE_LBLOCK_CRC_OFF);

/*
 * The bmbt root inside an inode fork (format BTREE).  Keys start at
 * offset 4, pointers after room for maxrecs keys, where
 * maxrecs = (fork size - 4) / 16: the fork's size, not the used part.
 */
struct xfs_bmdr_block {
	xfs_be16 bb_level;		/* 0: levels below the root, >= 1 */
	xfs_be16 bb_numrecs;		/* 2: keys (and pointers) in the root */
};
XFS_ASSERT_SIZE(struct xfs_bmdr_block, 4);

/* ---- directories and xattrs: dabtree blocks ---- */

/* Header of v3 directory data, block and free blocks (not of leaf/node ones). */
#define XFS_DIR3_BLOCK_MAGIC	0x58444233	/* "XDB3": single-block directory */
#define XFS_DIR3_DATA_MAGIC	0x58444433	/* "XDD3": data block of a bigger one */
#define XFS_DIR3_FREE_MAGIC	0x58444633	/* "XDF3": free-space index block */
#define XFS_DIR3_DATA_CRC_OFF	4

struct xfs_dir3_blk_hdr {
	xfs_be32 magic;			/* 0: one of the above */
	xfs_le32 crc;			/* 4: CRC32C of the directory block */
	xfs_be64 blkno;			/* 8: daddr of the first fs block */
	xfs_be64 lsn;			/* 16: last write's LSN */
	xfs_uuid uuid;			/* 24: filesystem (meta) uuid */
	xfs_be64 owner;			/* 40: directory inode */
};
XFS_ASSERT_SIZE(struct xfs_dir3_blk_hdr, 48);

struct xfs_dir2_data_free {
	xfs_be16 offset;		/* start of a free region, bytes into the block */
	xfs_be16 length;		/* its length */
};
#define XFS_DIR2_DATA_FD_COUNT	3

struct xfs_dir3_data_hdr {
	struct xfs_dir3_blk_hdr hdr;	/* 0 */
	struct xfs_dir2_data_free best_free[XFS_DIR2_DATA_FD_COUNT];	/* 48: largest free regions */
	xfs_be32 pad;			/* 60: zero */
};
XFS_ASSERT_SIZE(struct xfs_dir3_data_hdr, 64);

/*
 * Data entries, 8-byte aligned, after the header:
 *   be64 inumber; u8 namelen; name[namelen]; u8 ftype (FTYPE only);
 *   padding; be16 tag (offset of the entry in the block) in the last 2 bytes.
 * A free region instead starts with be16 0xffff and be16 length, and ends
 * with a be16 tag.
 */
struct xfs_dir2_data_entry {
	xfs_be64 inumber;		/* 0: inode number */
	uint8_t namelen;		/* 8: name length, > 0 */
	uint8_t name[];			/* 9: name, then ftype, padding, tag */
};
struct xfs_dir2_data_unused {
	xfs_be16 freetag;		/* 0: XFS_DIR2_DATA_FREE_TAG */
	xfs_be16 length;		/* 2: bytes in the free region, multiple of 8 */
	/* be16 tag at offset length - 2 */
};
#define XFS_DIR2_DATA_FREE_TAG	0xffff
#define XFS_DIR2_DATA_ALIGN_LOG	3		/* entries are 8-byte aligned */
#define XFS_DIR2_DATA_ALIGN	(1U << XFS_DIR2_DATA_ALIGN_LOG)
/* Size of a data entry with a name of @n bytes (ftype: 1 with file types). */
#define XFS_DIR2_DATA_ENTSIZE(n, ftype) \
	((8 + 1 + (n) + (ftype) + 2 + XFS_DIR2_DATA_ALIGN - 1) & ~(XFS_DIR2_DATA_ALIGN - 1))

/* Single-block directories end with leaf entries and this tail. */
struct xfs_dir2_block_tail {
	xfs_be32 count;			/* leaf entries */
	xfs_be32 stale;			/* of which stale (address 0) */
};
XFS_ASSERT_SIZE(struct xfs_dir2_block_tail, 8);

/* Leaf entries (block, leaf1 and leafn): hash -> data address. */
struct xfs_dir2_leaf_entry {
	xfs_be32 hashval;		/* xfs_da_hashname() of the name */
	xfs_be32 address;		/* dataptr: byte offset in the data space >> 3; 0 = stale */
};
XFS_ASSERT_SIZE(struct xfs_dir2_leaf_entry, 8);
#define XFS_DIR2_NULL_DATAPTR	0

/*
 * The directory's address space (file offsets of its data fork): data
 * blocks from 0, the leaf/node blocks from 32 GiB, free-index blocks from
 * 64 GiB.  A "dataptr" is a data-space byte offset >> 3.
 */
#define XFS_DIR2_SPACE_SIZE	(1ULL << (32 + XFS_DIR2_DATA_ALIGN_LOG))
#define XFS_DIR2_DATA_OFFSET	(0 * XFS_DIR2_SPACE_SIZE)
#define XFS_DIR2_LEAF_OFFSET	(1 * XFS_DIR2_SPACE_SIZE)
#define XFS_DIR2_FREE_OFFSET	(2 * XFS_DIR2_SPACE_SIZE)

/* The header of leaf, node and attr leaf blocks (the dabtree "blkinfo"). */
#define XFS_DA3_NODE_MAGIC	0x3ebe		/* interior node of a dabtree (dirs and attrs) */
#define XFS_DIR3_LEAF1_MAGIC	0x3df1		/* single leaf block of a leaf directory */
#define XFS_DIR3_LEAFN_MAGIC	0x3dff		/* leaf block of a node directory */
#define XFS_ATTR3_LEAF_MAGIC	0x3bee		/* attr leaf block */
#define XFS_DA3_BLKINFO_CRC_OFF	12

struct xfs_da3_blkinfo {
	xfs_be32 forw;			/* 0: next block at this level (da block number), 0 = none */
	xfs_be32 back;			/* 4: previous block at this level */
	xfs_be16 magic;			/* 8: one of the 16-bit magics above */
	xfs_be16 pad;			/* 10: zero */
	xfs_le32 crc;			/* 12: CRC32C of the block */
	xfs_be64 blkno;			/* 16: daddr of the first fs block */
	xfs_be64 lsn;			/* 24: last write's LSN */
	xfs_uuid uuid;			/* 32: filesystem (meta) uuid */
	xfs_be64 owner;			/* 48: owning inode */
};
XFS_ASSERT_SIZE(struct xfs_da3_blkinfo, 56);
XFS_ASSERT_OFF(struct xfs_da3_blkinfo, crc, XFS_DA3_BLKINFO_CRC_OFF);

/* Interior dabtree node: header, then (hashval, before) pairs. */
struct xfs_da3_node_hdr {
	struct xfs_da3_blkinfo info;	/* 0: magic XFS_DA3_NODE_MAGIC */
	xfs_be16 count;			/* 56: entries */
	xfs_be16 level;			/* 58: levels above the leaves, >= 1 */
	xfs_be32 pad32;			/* 60: zero */
};
XFS_ASSERT_SIZE(struct xfs_da3_node_hdr, 64);

struct xfs_da_node_entry {
	xfs_be32 hashval;		/* highest hash in the subtree */
	xfs_be32 before;		/* da block number of the subtree */
};
XFS_ASSERT_SIZE(struct xfs_da_node_entry, 8);
#define XFS_DA_NODE_MAXDEPTH	5	/* dabtree levels, leaves included */

/* Directory leaf blocks: header, entries; leaf1 ends with bests[] and a tail. */
struct xfs_dir3_leaf_hdr {
	struct xfs_da3_blkinfo info;	/* 0: magic LEAF1 or LEAFN */
	xfs_be16 count;			/* 56: leaf entries */
	xfs_be16 stale;			/* 58: of which stale */
	xfs_be32 pad;			/* 60: zero */
};
XFS_ASSERT_SIZE(struct xfs_dir3_leaf_hdr, 64);

struct xfs_dir2_leaf_tail {
	xfs_be32 bestcount;		/* be16 best-free entries just before this tail */
};

/* Free-index blocks: header, then be16 bests[] (0xffff: no data block). */
struct xfs_dir3_free_hdr {
	struct xfs_dir3_blk_hdr hdr;	/* 0: magic XFS_DIR3_FREE_MAGIC */
	xfs_be32 firstdb;		/* 48: first data block this block covers */
	xfs_be32 nvalid;		/* 52: entries in bests[] */
	xfs_be32 nused;			/* 56: of which used */
	xfs_be32 pad;			/* 60: zero */
};
XFS_ASSERT_SIZE(struct xfs_dir3_free_hdr, 64);
#define XFS_DIR2_NULL_BEST	0xffff

/*
 * Shortform directories live in the data fork (format LOCAL):
 *   u8 count; u8 i8count; parent inode (8 bytes if i8count, else 4);
 * then count entries of
 *   u8 namelen; be16 offset (a data-space offset, for readdir order);
 *   name[namelen]; u8 ftype (FTYPE only); inode (8 or 4 bytes, big-endian).
 */
struct xfs_dir2_sf_hdr {
	uint8_t count;			/* 0: entries (when i8count == 0) */
	uint8_t i8count;		/* 1: entries needing 8-byte inode numbers */
	uint8_t parent[8];		/* 2: parent inode, 4 or 8 bytes */
};
#define XFS_DIR2_SF_HDR_SIZE(i8)	(2 + ((i8) ? 8 : 4))
struct xfs_dir2_sf_entry {
	uint8_t namelen;		/* 0: name length */
	xfs_be16 offset;		/* 1: readdir cookie (data-space offset) */
	uint8_t name[];			/* 3: name, [ftype], inode number */
};
#define XFS_DIR2_SF_ENTSIZE(n, ftype, i8) (3 + (n) + (ftype) + ((i8) ? 8 : 4))

/* File types in directory entries (with FTYPE). */
enum xfs_dir3_ft {
	XFS_DIR3_FT_UNKNOWN = 0,
	XFS_DIR3_FT_REG_FILE = 1,
	XFS_DIR3_FT_DIR = 2,
	XFS_DIR3_FT_CHRDEV = 3,
	XFS_DIR3_FT_BLKDEV = 4,
	XFS_DIR3_FT_FIFO = 5,
	XFS_DIR3_FT_SOCK = 6,
	XFS_DIR3_FT_SYMLINK = 7,
	XFS_DIR3_FT_WHT = 8,
	XFS_DIR3_FT_MAX,
};

/* ---- extended attributes ---- */

/*
 * Shortform attrs live in the attr fork (format LOCAL):
 *   be16 totsize (bytes, header included); u8 count; u8 pad;
 * then count entries of
 *   u8 namelen; u8 valuelen; u8 flags (XFS_ATTR_*); name; value.
 */
struct xfs_attr_sf_hdr {
	xfs_be16 totsize;		/* 0: bytes of shortform attrs, this header included */
	uint8_t count;			/* 2: entries */
	uint8_t padding;		/* 3 */
};
XFS_ASSERT_SIZE(struct xfs_attr_sf_hdr, 4);
struct xfs_attr_sf_entry {
	uint8_t namelen;		/* 0 */
	uint8_t valuelen;		/* 1 */
	uint8_t flags;			/* 2: XFS_ATTR_ROOT, XFS_ATTR_SECURE, ... */
	uint8_t nameval[];		/* 3: name then value */
};

/* Namespace and state flags of an attr (shortform and leaf entries). */
#define XFS_ATTR_LOCAL		(1u << 0)	/* leaf: value stored in the leaf */
#define XFS_ATTR_ROOT		(1u << 1)	/* trusted.* */
#define XFS_ATTR_SECURE		(1u << 2)	/* security.* */
#define XFS_ATTR_PARENT		(1u << 3)	/* parent pointer (feature PARENT) */
#define XFS_ATTR_INCOMPLETE	(1u << 7)	/* being created or removed: skip */
#define XFS_ATTR_NSP_MASK	(XFS_ATTR_ROOT | XFS_ATTR_SECURE | XFS_ATTR_PARENT)

/* Attr leaf blocks: header, entries, then names/values from the block end down. */
struct xfs_attr_leaf_map {
	xfs_be16 base;			/* start of a free region */
	xfs_be16 size;			/* its length */
};
#define XFS_ATTR_LEAF_MAPSIZE	3

struct xfs_attr3_leaf_hdr {
	struct xfs_da3_blkinfo info;	/* 0: magic XFS_ATTR3_LEAF_MAGIC */
	xfs_be16 count;			/* 56: entries */
	xfs_be16 usedbytes;		/* 58: bytes of names/values */
	xfs_be16 firstused;		/* 60: first used byte of the name area (0 = 64 KiB) */
	uint8_t holes;			/* 62: the name area has holes */
	uint8_t pad1;			/* 63 */
	struct xfs_attr_leaf_map freemap[XFS_ATTR_LEAF_MAPSIZE];	/* 64 */
	xfs_be32 pad2;			/* 76: 64-bit alignment */
};
XFS_ASSERT_SIZE(struct xfs_attr3_leaf_hdr, 80);

struct xfs_attr_leaf_entry {
	xfs_be32 hashval;		/* 0: xfs_da_hashname() of the name */
	xfs_be16 nameidx;		/* 4: offset of the name struct in the block */
	uint8_t flags;			/* 6: XFS_ATTR_* */
	uint8_t pad2;			/* 7 */
};
XFS_ASSERT_SIZE(struct xfs_attr_leaf_entry, 8);

/* The name struct of a value stored in the leaf (XFS_ATTR_LOCAL). */
struct xfs_attr_leaf_name_local {
	xfs_be16 valuelen;		/* 0: value bytes */
	uint8_t namelen;		/* 2: name bytes */
	uint8_t nameval[];		/* 3: name then value */
};
/* The name struct of a value stored in remote blocks. */
struct xfs_attr_leaf_name_remote {
	xfs_be32 valueblk;		/* 0: first attr-fork block of the value */
	xfs_be32 valuelen;		/* 4: value bytes */
	uint8_t namelen;		/* 8: name bytes */
	uint8_t name[];			/* 9: name */
};

/*
 * Remote attr values: every filesystem block of the value starts with
 * this header and carries blocksize - 56 bytes of the value.
 */
#define XFS_ATTR3_RMT_MAGIC	0x5841524d	/* "XARM" */
#define XFS_ATTR3_RMT_CRC_OFF	12

struct xfs_attr3_rmt_hdr {
	xfs_be32 rm_magic;		/* 0: XFS_ATTR3_RMT_MAGIC */
	xfs_be32 rm_offset;		/* 4: offset in the value of this block's bytes */
	xfs_be32 rm_bytes;		/* 8: value bytes in this block */
	xfs_le32 rm_crc;		/* 12: CRC32C of the block */
	xfs_uuid rm_uuid;		/* 16: filesystem (meta) uuid */
	xfs_be64 rm_owner;		/* 32: owning inode */
	xfs_be64 rm_blkno;		/* 40: daddr of this block */
	xfs_be64 rm_lsn;		/* 48: last write's LSN */
};
XFS_ASSERT_SIZE(struct xfs_attr3_rmt_hdr, 56);
#define XFS_XATTR_SIZE_MAX	65536	/* largest value */

/*
 * POSIX ACLs: the values of the trusted (XFS_ATTR_ROOT) attrs
 * XFS_ACL_FILE_NAME (access) and XFS_ACL_DEFAULT_NAME (default), a count
 * and that many entries.  Tags are the VFS's ACL_USER_OBJ (1), ACL_USER
 * (2), ACL_GROUP_OBJ (4), ACL_GROUP (8), ACL_MASK (0x10), ACL_OTHER
 * (0x20); ids matter only for ACL_USER and ACL_GROUP.
 */
#define XFS_ACL_FILE_NAME	"SGI_ACL_FILE"
#define XFS_ACL_DEFAULT_NAME	"SGI_ACL_DEFAULT"

struct xfs_acl_entry {
	xfs_be32 ae_tag;		/* 0: ACL_* tag */
	xfs_be32 ae_id;			/* 4: uid or gid */
	xfs_be16 ae_perm;		/* 8: rwx bits (4, 2, 1) */
	xfs_be16 ae_pad;		/* 10 */
};
XFS_ASSERT_SIZE(struct xfs_acl_entry, 12);

struct xfs_acl {
	xfs_be32 acl_cnt;		/* 0: entries */
	struct xfs_acl_entry acl_entry[];	/* 4 */
};
XFS_ASSERT_SIZE(struct xfs_acl, 4);
/* v5 filesystems allow as many entries as a value can hold. */
#define XFS_ACL_MAX_ENTRIES \
	((XFS_XATTR_SIZE_MAX - sizeof(struct xfs_acl)) / sizeof(struct xfs_acl_entry))

/* ---- symlinks ---- */

/*
 * Remote symlink targets: each mapping (extent) of the data fork is one
 * buffer that starts with this header; the target bytes follow it.
 */
#define XFS_SYMLINK_MAGIC	0x58534c4d	/* "XSLM" */
#define XFS_SYMLINK_CRC_OFF	12

struct xfs_dsymlink_hdr {
	xfs_be32 sl_magic;		/* 0: XFS_SYMLINK_MAGIC */
	xfs_be32 sl_offset;		/* 4: offset in the target of this buffer's bytes */
	xfs_be32 sl_bytes;		/* 8: target bytes in this buffer */
	xfs_le32 sl_crc;		/* 12: CRC32C of the buffer */
	xfs_uuid sl_uuid;		/* 16: filesystem (meta) uuid */
	xfs_be64 sl_owner;		/* 32: owning inode */
	xfs_be64 sl_blkno;		/* 40: daddr of the buffer */
	xfs_be64 sl_lsn;		/* 48: last write's LSN */
};
XFS_ASSERT_SIZE(struct xfs_dsymlink_hdr, 56);

/* ---- the log: records of 512-byte sectors, each stamped with a cycle ---- */

/*
 * The internal log is sb_logblocks fs blocks from sb_logstart, used as a
 * ring of 512-byte sectors ("log blocks" below).  Each pass over the ring
 * has a cycle number, starting at 1; every sector written begins with it:
 * a record header with XLOG_HEADER_MAGIC and then h_cycle, every other
 * sector with the cycle in place of its first word (saved in the header's
 * h_cycle_data).  The head is where the cycle drops; a filesystem
 * unmounted cleanly has an unmount record just before it.
 */
#define XLOG_HEADER_MAGIC	0xfeedbabe	/* never a cycle number */
#define XLOG_VERSION_1		1
#define XLOG_VERSION_2		2		/* records above 32 KiB, log stripe units */
#define XLOG_VERSION_OKBITS	(XLOG_VERSION_1 | XLOG_VERSION_2)
#define XLOG_HEADER_CYCLE_SIZE	(32 * 1024)	/* data bytes one header's h_cycle_data covers */
#define XLOG_CYCLE_DATA		(XLOG_HEADER_CYCLE_SIZE / XFS_BBSIZE)	/* 64 words */
#define XLOG_MAX_RECORD_BSIZE	(256 * 1024)	/* biggest in-core log buffer (h_size) */
#define XLOG_MAX_ICLOGS		8		/* buffers that may be in flight at once */
#define XLOG_REC_CRC_OFF	32		/* offsetof(struct xlog_rec_header, h_crc) */
#define XFS_MIN_LOG_BLOCKS	512
#define XFS_MAX_LOG_BLOCKS	(1024 * 1024)
#define XFS_MAX_LOG_BYTES	(2048ULL * 1024 * 1024 - 10 * 1024 * 1024)

/* The first sector of a record. */
struct xlog_rec_header {
	xfs_be32 h_magicno;		/* 0: XLOG_HEADER_MAGIC */
	xfs_be32 h_cycle;		/* 4: cycle the record was written in */
	xfs_be32 h_version;		/* 8: XLOG_VERSION_* bits */
	xfs_be32 h_len;			/* 12: data bytes after the header sectors */
	xfs_be64 h_lsn;			/* 16: this record: cycle << 32 | log block */
	xfs_be64 h_tail_lsn;		/* 24: oldest record recovery would need */
	xfs_le32 h_crc;			/* 32: CRC32C of headers and data (0: mkfs wrote none) */
	xfs_be32 h_prev_block;		/* 36: log block of the previous record */
	xfs_be32 h_num_logops;		/* 40: operations in the record */
	xfs_be32 h_cycle_data[XLOG_CYCLE_DATA]; /* 44: first words of data sectors 0-63 */
	xfs_be32 h_fmt;			/* 300: XLOG_FMT_* of the writer */
	xfs_uuid h_fs_uuid;		/* 304: sb_uuid */
	xfs_be32 h_size;		/* 320: v2: in-core log buffer bytes */
	uint8_t h_pad[4];		/* 324: the kernel's struct is padded to 8 bytes; the CRC covers this */
};
XFS_ASSERT_SIZE(struct xlog_rec_header, 328);
XFS_ASSERT_OFF(struct xlog_rec_header, h_crc, XLOG_REC_CRC_OFF);
XFS_ASSERT_OFF(struct xlog_rec_header, h_fmt, 300);
XFS_ASSERT_OFF(struct xlog_rec_header, h_size, 320);

/*
 * v2 records with h_size above 32 KiB: one more header sector per 32 KiB
 * (ceil(h_size / 32 KiB) in all), each carrying the next 64 first words.
 */
struct xlog_rec_ext_header {
	xfs_be32 xh_cycle;		/* 0: the record's cycle */
	xfs_be32 xh_cycle_data[XLOG_CYCLE_DATA]; /* 4 */
};
XFS_ASSERT_SIZE(struct xlog_rec_ext_header, 260);

/* Each operation in a record's data starts with this. */
struct xlog_op_header {
	xfs_be32 oh_tid;		/* 0: transaction id (the cycle, on disk, when first in a sector) */
	xfs_be32 oh_len;		/* 4: bytes of the operation's payload */
	uint8_t oh_clientid;		/* 8: XFS_TRANSACTION, XFS_LOG, ... */
	uint8_t oh_flags;		/* 9: XLOG_*_TRANS */
	uint8_t oh_res2[2];		/* 10: padding */
};
XFS_ASSERT_SIZE(struct xlog_op_header, 12);

/* oh_flags */
#define XLOG_UNMOUNT_TRANS	0x20	/* the unmount record: nothing to replay */

/* ---- the directory and attr name hash ---- */

/*
 * The dabtree hash of a name (directories, and attr leaves/nodes): seven
 * bits of rotation per byte, bytes taken four at a time as one 28-bit
 * group, and the remaining 1-3 bytes as a shorter group at the end.
 */
static inline uint32_t xfs_rotl32(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

static inline uint32_t xfs_da_hashname(const uint8_t *name, size_t len)
{
	uint32_t hash = 0;
	size_t i = 0;

	for (; len - i >= 4; i += 4) {
		/* XOR, not OR: the 8-bit bytes overlap by one bit. */
		uint32_t group = (uint32_t)name[i] << 21 ^ (uint32_t)name[i + 1] << 14 ^
				 (uint32_t)name[i + 2] << 7 ^ name[i + 3];

		hash = group ^ xfs_rotl32(hash, 28);
	}
	if (len > i) {
		unsigned rest = (unsigned)(len - i);
		uint32_t group = 0;

		for (unsigned k = 0; k < rest; k++)
			group ^= (uint32_t)name[i + k] << (7 * (rest - 1 - k));
		hash = group ^ xfs_rotl32(hash, 7 * rest);
	}
	return hash;
}

#endif
