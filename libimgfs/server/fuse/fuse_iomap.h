/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fuse-iomap protocol, as Darrick Wong's patches (v7, February 2026)
 * extend the FUSE kernel interface to 7.99.  No mainline kernel or libfuse
 * has it, so every number and structure imgfs uses lives here, named as
 * the posted uapi names them; <linux/fuse.h> supplies the classic rest.
 *
 * All fields are in host byte order, as everything on /dev/fuse is.
 */
#ifndef IMGFS_FUSE_IOMAP_H
#define IMGFS_FUSE_IOMAP_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/fuse.h>
#include <linux/ioctl.h>

#include "fuse_dev.h"

/*
 * INIT: the protocol minor of the experimental interface, and its flag.
 * Bit 43 means FUSE_IOMAP only in a minor-99 INIT: mainline's 7.46
 * (Linux 7.3) gave the same bit to FUSE_HAS_IO_URING_BUFPOOL.  The kernel
 * keeps the minor of the server's reply as the connection's, and honours
 * FUSE_ATTR_EXCLUSIVE only when that is 99 or more.
 */
#define FUSE_IOMAP_KERNEL_MINOR_VERSION	99
#define FUSE_IOMAP			(1ULL << 43)	/* bit 11 of fuse_init_in/out.flags2 */

/*
 * fuse_attr.flags.  The kernel reads them when it first instantiates an
 * inode.  IOMAP takes effect only on a regular file that also carries
 * EXCLUSIVE ("only this mount modifies this file").  SYNC, IMMUTABLE and
 * APPEND become the inode's S_* flags, on exclusive inodes only.
 */
#define FUSE_ATTR_EXCLUSIVE		(1U << 2)
#define FUSE_ATTR_IOMAP			(1U << 3)
#define FUSE_ATTR_ATOMIC		(1U << 4)	/* untorn writes */
#define FUSE_ATTR_SYNC			(1U << 5)
#define FUSE_ATTR_IMMUTABLE		(1U << 6)
#define FUSE_ATTR_APPEND		(1U << 7)

/* Opcodes. */
#define FUSE_FREEZE_FS			4089
#define FUSE_UNFREEZE_FS		4090
#define FUSE_SHUTDOWN_FS		4091
#define FUSE_IOMAP_CONFIG		4092
#define FUSE_IOMAP_IOEND		4093
#define FUSE_IOMAP_BEGIN		4094
#define FUSE_IOMAP_END			4095

/* Notification codes (fuse_out_header.error of a message with unique 0). */
#define FUSE_NOTIFY_IOMAP_DEV_INVAL		99
#define FUSE_NOTIFY_IOMAP_UPSERT_MAPPINGS	100
#define FUSE_NOTIFY_IOMAP_INVAL_MAPPINGS	101

/* Mapping types (the kernel's IOMAP_* numbers) and FUSE-only ones. */
#define FUSE_IOMAP_TYPE_HOLE		0
#define FUSE_IOMAP_TYPE_DELALLOC	1
#define FUSE_IOMAP_TYPE_MAPPED		2
#define FUSE_IOMAP_TYPE_UNWRITTEN	3
#define FUSE_IOMAP_TYPE_INLINE		4
#define FUSE_IOMAP_TYPE_PURE_OVERWRITE	255	/* write mapping: writes go where reads do */
#define FUSE_IOMAP_TYPE_RETRY_CACHE	254	/* the server upserted: look again */
#define FUSE_IOMAP_TYPE_NOCACHE		253	/* upsert: leave this mapping out */

#define FUSE_IOMAP_DEV_NULL		0U	/* no device */
#define FUSE_IOMAP_NULL_ADDR		UINT64_MAX

/* Mapping flags. */
#define FUSE_IOMAP_F_NEW		(1U << 0)
#define FUSE_IOMAP_F_DIRTY		(1U << 1)
#define FUSE_IOMAP_F_SHARED		(1U << 2)
#define FUSE_IOMAP_F_MERGED		(1U << 3)
#define FUSE_IOMAP_F_BOUNDARY		(1U << 4)
#define FUSE_IOMAP_F_ANON_WRITE		(1U << 5)
#define FUSE_IOMAP_F_ATOMIC_BIO		(1U << 6)
#define FUSE_IOMAP_F_WANT_IOMAP_END	(1U << 7)
#define FUSE_IOMAP_F_SIZE_CHANGED	(1U << 8)	/* iomap_end only */
#define FUSE_IOMAP_F_STALE		(1U << 9)	/* iomap_end only */

/* Operation flags of IOMAP_BEGIN and IOMAP_END. */
#define FUSE_IOMAP_OP_WRITE		(1U << 0)
#define FUSE_IOMAP_OP_ZERO		(1U << 1)
#define FUSE_IOMAP_OP_REPORT		(1U << 2)
#define FUSE_IOMAP_OP_FAULT		(1U << 3)
#define FUSE_IOMAP_OP_DIRECT		(1U << 4)
#define FUSE_IOMAP_OP_NOWAIT		(1U << 5)
#define FUSE_IOMAP_OP_OVERWRITE_ONLY	(1U << 6)
#define FUSE_IOMAP_OP_UNSHARE		(1U << 7)
#define FUSE_IOMAP_OP_DAX		(1U << 8)
#define FUSE_IOMAP_OP_ATOMIC		(1U << 9)
#define FUSE_IOMAP_OP_DONTCACHE		(1U << 10)
#define FUSE_IOMAP_OP_SWAPFILE		(1U << 30)	/* swapon's mapping walk */
#define FUSE_IOMAP_OP_WRITEBACK		(1U << 31)

struct fuse_iomap_io {
	uint64_t offset;	/* file offset, bytes */
	uint64_t length;	/* bytes */
	uint64_t addr;		/* device offset, bytes, or FUSE_IOMAP_NULL_ADDR */
	uint16_t type;		/* FUSE_IOMAP_TYPE_* */
	uint16_t flags;		/* FUSE_IOMAP_F_* */
	uint32_t dev;		/* backing id, or FUSE_IOMAP_DEV_NULL */
};

struct fuse_iomap_begin_in {
	uint32_t opflags;	/* FUSE_IOMAP_OP_* */
	uint32_t reserved;	/* zero */
	uint64_t attr_ino;	/* the fuse_attr.ino the kernel was given */
	uint64_t pos;
	uint64_t count;
};

struct fuse_iomap_begin_out {
	struct fuse_iomap_io read;
	struct fuse_iomap_io write;
};

struct fuse_iomap_end_in {
	uint32_t opflags;
	uint32_t reserved;
	uint64_t attr_ino;
	uint64_t pos;
	uint64_t count;
	int64_t written;
	struct fuse_iomap_io map;
};

/* IOMAP_IOEND flags. */
#define FUSE_IOMAP_IOEND_SHARED		(1U << 0)	/* written out of place */
#define FUSE_IOMAP_IOEND_UNWRITTEN	(1U << 1)	/* into an unwritten extent */
#define FUSE_IOMAP_IOEND_BOUNDARY	(1U << 2)	/* not merged with the one before */
#define FUSE_IOMAP_IOEND_DIRECT		(1U << 3)
#define FUSE_IOMAP_IOEND_APPEND		(1U << 4)
#define FUSE_IOMAP_IOEND_WRITEBACK	(1U << 5)	/* page cache writeback */
#define FUSE_IOMAP_IOEND_SWAPOFF	(1U << 6)	/* a swapfile deactivated */

struct fuse_iomap_ioend_in {
	uint32_t flags;		/* FUSE_IOMAP_IOEND_* */
	int32_t error;		/* 0 or a negative errno */
	uint64_t attr_ino;
	uint64_t pos;
	uint64_t new_addr;
	uint64_t written;
	uint32_t dev;
	uint32_t pad;		/* zero */
};

struct fuse_iomap_ioend_out {
	uint64_t newsize;
};

/* IOMAP_CONFIG: which fields of the reply are set. */
#define FUSE_IOMAP_CONFIG_SID		(1ULL << 0)
#define FUSE_IOMAP_CONFIG_UUID		(1ULL << 1)
#define FUSE_IOMAP_CONFIG_BLOCKSIZE	(1ULL << 2)
#define FUSE_IOMAP_CONFIG_MAX_LINKS	(1ULL << 3)
#define FUSE_IOMAP_CONFIG_TIME		(1ULL << 4)
#define FUSE_IOMAP_CONFIG_MAXBYTES	(1ULL << 5)
#define FUSE_IOMAP_CONFIG_CACHE_MAXBYTES (1ULL << 6)

struct fuse_iomap_config_in {
	uint64_t flags;		/* the FUSE_IOMAP_CONFIG_* the kernel understands */
	int64_t maxbytes;	/* the kernel's largest file size */
	uint32_t cache_maxbytes; /* its per-inode mapping cache limit (256 KiB) */
	uint32_t zero;
	uint64_t padding[5];
};

/*
 * 100 bytes of fields, 104 with the tail padding.  The kernel takes any
 * reply up to that size and zeroes the rest.  cache_maxbytes limits the
 * memory of each inode's mapping cache (clamped to 2 MiB; 0 keeps the
 * kernel's 256 KiB); an upsert that finds it exceeded drops the cache.
 */

struct fuse_iomap_config_out {
	uint64_t flags;		/* FUSE_IOMAP_CONFIG_* */
	char s_id[32];
	char s_uuid[16];
	uint8_t s_uuid_len;
	uint8_t s_pad[3];	/* zero */
	uint32_t s_blocksize;
	uint32_t s_max_links;
	uint32_t s_time_gran;	/* ns */
	int64_t s_time_min;
	int64_t s_time_max;
	int64_t s_maxbytes;
	uint32_t cache_maxbytes; /* bytes, with FUSE_IOMAP_CONFIG_CACHE_MAXBYTES */
};

struct fuse_range {
	uint64_t offset;
	uint64_t length;
};

#define FUSE_IOMAP_INVAL_TO_EOF		UINT64_MAX

struct fuse_iomap_dev_inval_out {
	uint32_t dev;
	uint32_t reserved;
	struct fuse_range range;
};

struct fuse_iomap_upsert_mappings_out {
	uint64_t nodeid;
	uint64_t attr_ino;
	struct fuse_iomap_io read;
	struct fuse_iomap_io write;
};

struct fuse_iomap_inval_mappings_out {
	uint64_t nodeid;
	uint64_t attr_ino;
	struct fuse_range read;
	struct fuse_range write;
};

/* Registering a block device: FUSE_DEV_IOC_BACKING_OPEN returns its id (1..1024). */
#define FUSE_BACKING_TYPE_MASK		0xFFU
#define FUSE_BACKING_TYPE_PASSTHROUGH	0U
#define FUSE_BACKING_TYPE_IOMAP		1U

/* FUSE_DEV_IOC_IOMAP_SUPPORT: what iomap the kernel has (0: none, or disabled). */
#define FUSE_IOMAP_SUPPORT_FILEIO	(1ULL << 0)	/* file I/O through iomap */
#define FUSE_IOMAP_SUPPORT_ATOMIC	(1ULL << 1)	/* untorn writes */

struct fuse_iomap_support {
	uint64_t flags;		/* FUSE_IOMAP_SUPPORT_* */
	uint64_t padding;
};

/* FUSE_DEV_IOC_IOMAP_SET_BLOCKSIZE: a registered device's block size. */
struct fuse_iomap_backing_info {
	uint32_t backing_id;
	uint32_t blocksize;
};

/*
 * The iomap ioctls on a /dev/fuse descriptor.  SET_NOFS takes a u32
 * (non-zero: the server's allocations avoid filesystem reclaim); ADD_IOMAP,
 * from a privileged helper before the mount, pre-approves iomap for the
 * connection the descriptor will carry.
 */
#define FUSE_DEV_IOC_IOMAP_SUPPORT	_IOR(FUSE_DEV_IOC_MAGIC, 99, struct fuse_iomap_support)
#define FUSE_DEV_IOC_SET_NOFS		_IOW(FUSE_DEV_IOC_MAGIC, 100, uint32_t)
#define FUSE_DEV_IOC_ADD_IOMAP		_IO(FUSE_DEV_IOC_MAGIC, 101)
#define FUSE_DEV_IOC_IOMAP_SET_BLOCKSIZE \
	_IOW(FUSE_DEV_IOC_MAGIC, 102, struct fuse_iomap_backing_info)

static_assert(sizeof(struct fuse_iomap_io) == 32, "fuse_iomap_io");
static_assert(sizeof(struct fuse_iomap_begin_in) == 32, "fuse_iomap_begin_in");
static_assert(sizeof(struct fuse_iomap_begin_out) == 64, "fuse_iomap_begin_out");
static_assert(sizeof(struct fuse_iomap_end_in) == 72, "fuse_iomap_end_in");
static_assert(sizeof(struct fuse_iomap_ioend_in) == 48, "fuse_iomap_ioend_in");
static_assert(sizeof(struct fuse_iomap_config_in) == 64, "fuse_iomap_config_in");
static_assert(sizeof(struct fuse_iomap_config_out) == 104, "fuse_iomap_config_out");
static_assert(offsetof(struct fuse_iomap_config_in, cache_maxbytes) == 16, "config_in");
static_assert(offsetof(struct fuse_iomap_config_out, s_maxbytes) == 88, "config_out");
static_assert(offsetof(struct fuse_iomap_config_out, cache_maxbytes) == 96, "config_out");
static_assert(sizeof(struct fuse_iomap_upsert_mappings_out) == 80, "upsert_mappings_out");
static_assert(sizeof(struct fuse_iomap_inval_mappings_out) == 48, "inval_mappings_out");
static_assert(sizeof(struct fuse_iomap_dev_inval_out) == 24, "dev_inval_out");
static_assert(sizeof(struct fuse_iomap_support) == 16, "fuse_iomap_support");
static_assert(sizeof(struct fuse_iomap_backing_info) == 8, "fuse_iomap_backing_info");
static_assert(FUSE_DEV_IOC_IOMAP_SUPPORT == _IOR(229, 99, char[16]), "IOMAP_SUPPORT");
static_assert(FUSE_DEV_IOC_SET_NOFS == _IOW(229, 100, uint32_t), "SET_NOFS");
static_assert(FUSE_DEV_IOC_ADD_IOMAP == _IO(229, 101), "ADD_IOMAP");
static_assert(FUSE_DEV_IOC_IOMAP_SET_BLOCKSIZE == _IOW(229, 102, uint64_t), "SET_BLOCKSIZE");

#endif
