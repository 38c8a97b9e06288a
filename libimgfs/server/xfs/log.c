/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The internal log: refuse a filesystem whose log needs recovery.
 *
 * Metadata on disk is stale until the log is replayed, and replaying is
 * a writer's job, so a dirty log is refused, as ext4 journals that need
 * recovery are.  Clean is decided as the kernel decides it at mount:
 * find the head of the log from the cycle numbers stamped in every
 * sector, find the last record before the head, and the log is clean iff
 * that record is an unmount record ending exactly at the head.
 *
 * The log is as hostile as the rest of the image: every read stays inside
 * the log, every scan is bounded by the log size, the largest record or
 * the most a crash can leave in flight, and anything that cannot be
 * right is refused as corrupt.  Each refusal is one line (imgfs_error).
 * An external log (sb_logstart 0) is on a device imgfs is not given: it
 * is not checked.
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "xfs.h"

/* The longest record: a 256 KiB buffer plus its extra header sectors. */
#define MAX_RECORD_BBS \
	(XLOG_MAX_RECORD_BSIZE / XFS_BBSIZE + XLOG_MAX_RECORD_BSIZE / XLOG_HEADER_CYCLE_SIZE)
/* How far below the head a crash can leave unwritten holes: 8 buffers in flight. */
#define MAX_INFLIGHT_BBS	(XLOG_MAX_ICLOGS * XLOG_MAX_RECORD_BSIZE / XFS_BBSIZE)
/* Sectors read at a time while scanning for a cycle number. */
#define SCAN_CHUNK_BBS		128
#define NO_BLOCK		UINT32_MAX

struct xlog {
	const struct xfs_fs *x;
	struct imgfs_error *err;
	uint64_t start;		/* image byte offset of log block 0 */
	uint32_t bbs;		/* log blocks (512-byte sectors) in the ring */
};

static const char *log_path(const struct xlog *l)
{
	return l->x->base.img->path;
}

__attribute__((format(printf, 2, 3)))
static int corrupt(const struct xlog *l, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return imgfs_error_set(l->err, EUCLEAN, "%s: corrupt XFS log: %s, run xfs_repair",
			       log_path(l), what);
}

/* Replaying is what the kernel does at mount; @why (or "") says more. */
static int needs_recovery(const struct xlog *l, const char *why)
{
	return imgfs_error_set(l->err, EROFS,
			       "%s: XFS log needs recovery%s: mount it once with the kernel, or run xfs_repair",
			       log_path(l), why);
}

/* @count log blocks from @blk (< bbs), continuing at block 0 past the end. */
static int read_log(const struct xlog *l, uint32_t blk, uint32_t count, uint8_t *buf)
{
	const struct imgfs_image *img = l->x->base.img;
	uint32_t first = MIN(count, l->bbs - blk);

	if (imgfs_image_pread(img, buf, (size_t)first << XFS_BBSHIFT,
			      l->start + ((uint64_t)blk << XFS_BBSHIFT)) < 0 ||
	    (count > first &&
	     imgfs_image_pread(img, buf + ((size_t)first << XFS_BBSHIFT),
			       (size_t)(count - first) << XFS_BBSHIFT, l->start) < 0))
		return imgfs_error_set(l->err, EIO, "%s: cannot read the XFS log", log_path(l));
	return 0;
}

/* A header sector keeps the cycle after its magic; any other sector, first. */
static uint32_t sector_cycle(const uint8_t *sector)
{
	if (get_be32(sector) == XLOG_HEADER_MAGIC)
		return get_be32(sector + 4);
	return get_be32(sector);
}

static int read_cycle(const struct xlog *l, uint32_t blk, uint32_t *cycle)
{
	uint8_t sector[XFS_BBSIZE];
	int r = read_log(l, blk, 1, sector);

	if (r == 0)
		*cycle = sector_cycle(sector);
	return r;
}

/*
 * Binary search for where the cycle becomes @want: block @lo has
 * another cycle, block @hi has @want.  The answer is exact when the
 * cycles ahead of the head were written in order; find_head() looks
 * behind it for the holes a crash can leave.
 */
static int cycle_start(const struct xlog *l, uint32_t lo, uint32_t hi, uint32_t want,
		       uint32_t *out)
{
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2, cycle;
		int r = read_cycle(l, mid, &cycle);

		if (r < 0)
			return r;
		if (cycle == want)
			hi = mid;
		else
			lo = mid;
	}
	*out = hi;
	return 0;
}

/* The first block of [@blk, @blk + @count) (inside the log) with cycle @want, or NO_BLOCK. */
static int find_cycle(const struct xlog *l, uint32_t blk, uint32_t count, uint32_t want,
		      uint32_t *found)
{
	_cleanup_free_ uint8_t *buf = malloc(SCAN_CHUNK_BBS << XFS_BBSHIFT);

	*found = NO_BLOCK;
	if (!buf)
		return imgfs_error_set(l->err, ENOMEM, "out of memory");
	while (count) {
		uint32_t n = MIN(count, SCAN_CHUNK_BBS);
		int r = read_log(l, blk, n, buf);

		if (r < 0)
			return r;
		for (uint32_t i = 0; i < n; i++) {
			if (sector_cycle(buf + ((size_t)i << XFS_BBSHIFT)) == want) {
				*found = blk + i;
				return 0;
			}
		}
		blk += n;
		count -= n;
	}
	return 0;
}

/*
 * The head: the block the next record would be written at, where the
 * cycle numbers drop.  *@zeroed when the log was never written at all.
 */
static int find_head(const struct xlog *l, uint32_t *headp, bool *zeroed)
{
	uint32_t first, last, head, older, window, found = NO_BLOCK;
	bool wrapped = true;
	int r;

	*zeroed = false;
	r = read_cycle(l, 0, &first);
	if (r < 0)
		return r;
	if (first == 0) {
		/* Nothing was ever written from the start: nothing to replay, as for the kernel. */
		*zeroed = true;
		return 0;
	}
	r = read_cycle(l, l->bbs - 1, &last);
	if (r < 0)
		return r;
	if (last == 0) {
		/* Never wrapped: the head is the first block never written. */
		wrapped = false;
		older = 0;
		r = cycle_start(l, 0, l->bbs - 1, 0, &head);
	} else if (last == first) {
		/* One cycle throughout: the head is at the end, which is the start. */
		older = first - 1;
		head = l->bbs;
	} else if (last == first - 1) {
		/* The current pass has come this far: the head is where the older cycle starts. */
		older = last;
		r = cycle_start(l, 0, l->bbs - 1, last, &head);
	} else {
		return corrupt(l, "cycle %u at its start but %u at its end", first, last);
	}
	if (r < 0)
		return r;

	/*
	 * Buffers written at once may land in any order, so a crash can
	 * leave blocks of the older cycle below the head the search found:
	 * the first of them, within what can be in flight, is the real head.
	 * Below block 0 that reach continues at the end of the log, one
	 * cycle older still.
	 */
	window = MIN(l->bbs, (uint32_t)MAX_INFLIGHT_BBS);
	if (head >= window) {
		r = find_cycle(l, head - window, window, older, &found);
	} else {
		if (wrapped)
			r = find_cycle(l, l->bbs - (window - head), window - head, older - 1,
				       &found);
		if (r == 0 && found == NO_BLOCK)
			r = find_cycle(l, 0, head, older, &found);
	}
	if (r < 0)
		return r;
	if (found != NO_BLOCK)
		head = found;
	*headp = head == l->bbs ? 0 : head;
	return 0;
}

/* A record header, decoded and checked. */
struct xlog_rec {
	uint32_t blk;		/* log block of the header */
	uint32_t cycle;
	uint32_t len;		/* h_len: data bytes */
	uint32_t hblks;		/* header sectors */
	uint32_t bbs;		/* header and data sectors */
	uint32_t num_logops;
};

static int decode_record(const struct xlog *l, const struct xlog_rec_header *h, uint32_t blk,
			 struct xlog_rec *rec)
{
	uint32_t version = be32(h->h_version), size = be32(h->h_size);
	uint64_t lsn = be64(h->h_lsn);

	rec->blk = blk;
	rec->cycle = be32(h->h_cycle);
	rec->len = be32(h->h_len);
	rec->num_logops = be32(h->h_num_logops);
	if (!version || (version & ~XLOG_VERSION_OKBITS))
		return corrupt(l, "record at log block %u has version 0x%x", blk, version);
	/* v2 records above 32 KiB keep the rest of their cycle data in extra header sectors. */
	rec->hblks = 1;
	if (version & XLOG_VERSION_2) {
		if (size > XLOG_MAX_RECORD_BSIZE)
			return corrupt(l, "record at log block %u has a buffer size of %u bytes",
				       blk, size);
		if (size > XLOG_HEADER_CYCLE_SIZE)
			rec->hblks = (size + XLOG_HEADER_CYCLE_SIZE - 1) / XLOG_HEADER_CYCLE_SIZE;
	}
	if (rec->len < sizeof(struct xlog_op_header) ||
	    rec->len > rec->hblks * XLOG_HEADER_CYCLE_SIZE)
		return corrupt(l, "record at log block %u has a length of %u bytes", blk, rec->len);
	if (rec->num_logops == 0)
		return corrupt(l, "record at log block %u has no operations", blk);
	if (lsn != ((uint64_t)rec->cycle << 32 | blk))
		return corrupt(l, "record at log block %u claims to be at cycle %u block %u", blk,
			       (unsigned)(lsn >> 32), (unsigned)lsn);
	rec->bbs = rec->hblks + (rec->len + XFS_BBSIZE - 1) / XFS_BBSIZE;
	return 0;
}

/*
 * The last record header before the head: read the @n blocks that end
 * at @head into @buf (a record is never longer) and look back for the
 * magic, which no other sector starts with.  *@off is its sector in @buf.
 */
static int last_record(const struct xlog *l, uint32_t head, uint32_t n, uint8_t *buf,
		       struct xlog_rec *rec, uint32_t *off)
{
	uint32_t from = (uint32_t)(((uint64_t)head + l->bbs - n) % l->bbs);
	int r = read_log(l, from, n, buf);

	if (r < 0)
		return r;
	for (uint32_t i = n; i-- > 0;) {
		const uint8_t *sector = buf + ((size_t)i << XFS_BBSHIFT);

		if (get_be32(sector) != XLOG_HEADER_MAGIC)
			continue;
		*off = i;
		return decode_record(l, (const void *)sector,
				     (uint32_t)(((uint64_t)from + i) % l->bbs), rec);
	}
	return corrupt(l, "no record header in the %u blocks before its head at log block %u", n,
		       head);
}

/*
 * The sectors of a record whole: each stamped with its cycle (one more
 * past the end of the log, skipping the magic), and its CRC right.
 * Either wrong means a torn write or damage.  mkfs writes no CRC (0);
 * the kernel accepts that, and so do we.
 */
static bool record_intact(const struct xlog *l, const struct xlog_rec *rec, const uint8_t *sectors)
{
	const struct xlog_rec_header *h = (const void *)sectors;
	static const uint8_t zero[4];
	uint32_t crc, xheads;

	for (uint32_t i = 0; i < rec->bbs; i++) {
		uint32_t want = rec->cycle;

		if ((uint64_t)rec->blk + i >= l->bbs && ++want == XLOG_HEADER_MAGIC)
			want++;
		if (sector_cycle(sectors + ((size_t)i << XFS_BBSHIFT)) != want)
			return false;
	}
	if (!le32(h->h_crc))
		return true;
	/* The header (CRC as zero), the extra headers' cycle data the data needs, the data. */
	crc = xfs_crc32c(~0u, sectors, XLOG_REC_CRC_OFF);
	crc = xfs_crc32c(crc, zero, sizeof(zero));
	crc = xfs_crc32c(crc, sectors + XLOG_REC_CRC_OFF + 4,
			 sizeof(*h) - XLOG_REC_CRC_OFF - 4);
	xheads = (rec->len + XLOG_HEADER_CYCLE_SIZE - 1) / XLOG_HEADER_CYCLE_SIZE;
	for (uint32_t i = 1; i < xheads; i++)
		crc = xfs_crc32c(crc, sectors + ((size_t)i << XFS_BBSHIFT),
				 sizeof(struct xlog_rec_ext_header));
	crc = xfs_crc32c(crc, sectors + ((size_t)rec->hblks << XFS_BBSHIFT), rec->len);
	return ~crc == le32(h->h_crc);
}

int xfs_check_log(const struct xfs_fs *x, struct imgfs_error *err)
{
	struct xlog log = { .x = x, .err = err }, *l = &log;
	_cleanup_free_ uint8_t *buf = NULL;
	const struct xlog_op_header *op;
	struct xlog_rec rec;
	uint32_t head = 0, n, off, first = 0;
	bool zeroed;
	char why[96];
	int r;

	if (!x->logstart) {
		if (x->log_incompat)
			log_warn("%s: the XFS log is external and may need recovery (log_incompat 0x%x); serving the metadata as it is on disk",
				 x->base.img->path, x->log_incompat);
		return 0;
	}
	if (x->logblocks < XFS_MIN_LOG_BLOCKS || x->logblocks > XFS_MAX_LOG_BLOCKS ||
	    ((uint64_t)x->logblocks << x->blocklog) > XFS_MAX_LOG_BYTES ||
	    !xfs_fsb_valid(x, x->logstart, x->logblocks))
		return imgfs_error_set(err, EUCLEAN,
				       "%s: corrupt XFS superblock: internal log of %u blocks at block %llu, run xfs_repair",
				       x->base.img->path, x->logblocks,
				       (unsigned long long)x->logstart);
	l->start = xfs_fsb_to_bytes(x, x->logstart);
	l->bbs = x->logblocks << (x->blocklog - XFS_BBSHIFT);

	r = find_head(l, &head, &zeroed);
	if (r < 0 || zeroed)
		return r;
	n = MIN(l->bbs, (uint32_t)MAX_RECORD_BBS);
	buf = malloc((size_t)n << XFS_BBSHIFT);
	if (!buf)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	r = last_record(l, head, n, buf, &rec, &off);
	if (r < 0)
		return r;
	if (rec.bbs != n - off) {
		/*
		 * The record does not end at the head: the crash cut it short.
		 * As for the kernel, the head is really where it starts, and
		 * what counts is the record before it.
		 */
		head = rec.blk;
		r = last_record(l, head, n, buf, &rec, &off);
		if (r < 0)
			return r;
		if (rec.bbs != n - off)
			return needs_recovery(l, "");
	}
	if (!record_intact(l, &rec, buf + ((size_t)off << XFS_BBSHIFT))) {
		snprintf(why, sizeof(why), " (its last record, at log block %u, is torn)", rec.blk);
		return needs_recovery(l, why);
	}
	/* The unmount record: one operation, flagged so; its first word is the stamped cycle. */
	op = (const void *)(buf + ((size_t)(off + rec.hblks) << XFS_BBSHIFT));
	if (rec.num_logops != 1 || !(op->oh_flags & XLOG_UNMOUNT_TRANS))
		return needs_recovery(l, "");
	/*
	 * Block 0 was written in the record's pass (or is part of the
	 * record, checked above, if it wraps): another cycle there means
	 * the head was found from numbers that cannot be trusted.
	 */
	r = read_cycle(l, 0, &first);
	if (r < 0)
		return r;
	if (rec.blk < head && first != rec.cycle)
		return corrupt(l, "cycle %u at its start, but %u in its last record", first,
			       rec.cycle);
	return 0;
}
