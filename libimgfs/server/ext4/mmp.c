/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Multi-mount protection (the mmp feature), for read-write mounts, as the
 * kernel's ext4_multi_mount_protect() and kmmpd do it.
 *
 * An MMP block holds a sequence number that whoever has the filesystem
 * open read-write rewrites every s_mmp_update_interval seconds.  A mounter
 * that finds it changing waits it out and refuses; one that finds it still
 * takes it over with a random number of its own, waits again and checks
 * that nobody else did the same.  At unmount the block says "clean".
 *
 * libext2fs's ext2fs_mmp_start() opens the device by its path with
 * O_DIRECT, which the sandbox cannot: the filesystem is opened with
 * EXT2_FLAG_SKIP_MMP and this file reads and writes the block through the
 * image descriptor instead.  The page cache is kept out of the way by hand
 * (fadvise before reading, sync_file_range after writing), so that another
 * host sharing a block device sees our writes and we see its.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>

#include "ext4.h"

/* The kernel's bounds on the interval a mounter waits (fs/ext4/ext4.h). */
#define MMP_MIN_CHECK_INTERVAL	5
#define MMP_MAX_CHECK_INTERVAL	300
#define MMP_CHECK_MULT		2
#define MMP_BDEVNAME		"imgfs"

struct ext4_mmp {
	struct ext4_fs *e;
	int fd;
	uint64_t pos;			/* the block's byte position in the image */
	size_t size;			/* one filesystem block */
	unsigned interval;		/* seconds between updates, >= 1 */
	struct mmp_struct *ours;	/* what we last wrote, on-disk byte order */
	struct mmp_struct *seen;	/* what a check read back */

	pthread_t thread;
	bool running;
	pthread_mutex_t lock;		/* guards stop, for the condition */
	pthread_cond_t wake;
	bool stop;
	atomic_bool lost;		/* somebody else wrote the block: we stopped */
};

static int mmp_read(struct ext4_mmp *m, struct mmp_struct *buf)
{
	/* Not from our page cache: another host may have written the device. */
	posix_fadvise(m->fd, (off_t)m->pos, (off_t)m->size, POSIX_FADV_DONTNEED);
	return read_full(m->fd, buf, m->size, (off_t)m->pos);
}

static int mmp_write(struct ext4_mmp *m)
{
	size_t done = 0;

	m->ours->mmp_time = ext2fs_cpu_to_le64((uint64_t)time(NULL));
	ext2fs_mmp_csum_set(m->e->fs, m->ours);
	while (done < m->size) {
		ssize_t n = pwrite(m->fd, (char *)m->ours + done, m->size - done,
				   (off_t)(m->pos + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	/* Out to the device now, where another host reads it, not in an hour. */
	if (sync_file_range(m->fd, (off_t)m->pos, (off_t)m->size,
			    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			    SYNC_FILE_RANGE_WAIT_AFTER) < 0)
		return -errno;
	return 0;
}

static uint32_t seq_of(const struct mmp_struct *mmp)
{
	return ext2fs_le32_to_cpu(mmp->mmp_seq);
}

/* A fixed-size field of the block that need not end in a NUL, as text. */
static void field_text(char *out, size_t size, const __u8 *field, size_t len)
{
	size_t n = strnlen((const char *)field, len);

	snprintf(out, size, "%.*s", (int)n, (const char *)field);
}

/* "node N, device D": who the block says holds the filesystem. */
static void holder_text(const struct mmp_struct *mmp, char *out, size_t size)
{
	char node[sizeof(mmp->mmp_nodename) + 1], dev[sizeof(mmp->mmp_bdevname) + 1];

	field_text(node, sizeof(node), mmp->mmp_nodename, sizeof(mmp->mmp_nodename));
	field_text(dev, sizeof(dev), mmp->mmp_bdevname, sizeof(mmp->mmp_bdevname));
	snprintf(out, size, "node %s, device %s", node[0] ? node : "unknown",
		 dev[0] ? dev : "unknown");
}

/* Read the block and check it as the kernel's read_mmp_block() does. */
static int mmp_read_checked(struct ext4_mmp *m, struct mmp_struct *buf, struct imgfs_error *err)
{
	const char *path = m->e->base.img->path;
	int r = mmp_read(m, buf);

	if (r < 0)
		return imgfs_error_set(err, -r, "%s: cannot read the MMP block: %s", path,
				       strerror(-r));
	if (ext2fs_le32_to_cpu(buf->mmp_magic) != EXT4_MMP_MAGIC)
		return imgfs_error_set(err, EUCLEAN, "%s: corrupt MMP block (bad magic), run e2fsck",
				       path);
	if (!ext2fs_mmp_csum_verify(m->e->fs, buf))
		return imgfs_error_set(err, EUCLEAN,
				       "%s: corrupt MMP block (bad checksum), run e2fsck", path);
	return 0;
}

static void sleep_seconds(unsigned s)
{
	struct timespec ts = { .tv_sec = s };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* A new sequence number, never one of the special values above MAX. */
static uint32_t new_seq(void)
{
	uint32_t seq;

	do {
		if (getrandom(&seq, sizeof(seq), 0) != sizeof(seq)) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			seq = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ (uint32_t)getpid();
		}
	} while (seq == 0 || seq > EXT4_MMP_SEQ_MAX);
	return seq;
}

/* The block changed under us: log who wrote it, and stop writing for good. */
static void mmp_mark_lost(struct ext4_mmp *m)
{
	char who[160];

	holder_text(m->seen, who, sizeof(who));
	atomic_store(&m->lost, true);
	log_err("%s: the MMP block was rewritten by %s: the filesystem seems to be mounted "
		"elsewhere too; no more writes", m->e->base.img->path, who);
}

/* kmmpd: bump the sequence every interval, after checking it is still ours. */
static void *mmp_thread(void *arg)
{
	struct ext4_mmp *m = arg;
	bool stop = false;

	while (!stop) {
		struct imgfs_error err;
		uint32_t seq;
		int r;

		pthread_mutex_lock(&m->lock);
		stop = cond_wait_unless_stopped(&m->wake, &m->lock, &m->stop, m->interval * 1000U);
		pthread_mutex_unlock(&m->lock);
		if (stop)
			break;

		if (mmp_read_checked(m, m->seen, &err) < 0) {
			log_err("%s", err.msg);
			continue;	/* the kernel retries too */
		}
		if (m->seen->mmp_seq != m->ours->mmp_seq ||
		    memcmp(m->seen->mmp_nodename, m->ours->mmp_nodename,
			   sizeof(m->ours->mmp_nodename)) != 0) {
			mmp_mark_lost(m);
			break;
		}
		seq = seq_of(m->ours) + 1;
		if (seq > EXT4_MMP_SEQ_MAX)
			seq = 1;
		m->ours->mmp_seq = ext2fs_cpu_to_le32(seq);
		r = mmp_write(m);
		if (r < 0)
			log_err("%s: cannot update the MMP block: %s", m->e->base.img->path,
				strerror(-r));
	}
	return NULL;
}

static void mmp_free(struct ext4_mmp *m)
{
	if (!m)
		return;
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->lock);
	free(m->ours);
	free(m->seen);
	free(m);
}

static void mmp_freep(struct ext4_mmp **m)
{
	mmp_free(*m);
}

static struct ext4_mmp *mmp_new(struct ext4_fs *e, uint64_t block)
{
	struct ext4_mmp *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->e = e;
	m->fd = e->base.img->fd;
	m->size = e->fs->blocksize;
	m->pos = e->base.img->offset + block * m->size;
	m->interval = MAX(1u, e->fs->super->s_mmp_update_interval);
	pthread_mutex_init(&m->lock, NULL);
	cond_init_monotonic(&m->wake);
	atomic_init(&m->lost, false);
	/* Whole blocks: sizeof(struct mmp_struct) is 1 KiB, the smallest block. */
	m->ours = calloc(1, m->size);
	m->seen = calloc(1, m->size);
	if (!m->ours || !m->seen) {
		mmp_free(m);
		return NULL;
	}
	return m;
}

/* The block names us now: this node, "imgfs", and how long others should wait. */
static void mmp_claim(struct ext4_mmp *m, uint32_t seq)
{
	struct utsname uts;
	uint16_t check = (uint16_t)MIN(MAX(MMP_CHECK_MULT * m->interval, MMP_MIN_CHECK_INTERVAL),
				       MMP_MAX_CHECK_INTERVAL);

	m->ours->mmp_seq = ext2fs_cpu_to_le32(seq);
	m->ours->mmp_check_interval = ext2fs_cpu_to_le16(check);
	memset(m->ours->mmp_nodename, 0, sizeof(m->ours->mmp_nodename));
	if (uname(&uts) == 0)
		strncpy((char *)m->ours->mmp_nodename, uts.nodename,
			sizeof(m->ours->mmp_nodename));
	memset(m->ours->mmp_bdevname, 0, sizeof(m->ours->mmp_bdevname));
	memcpy(m->ours->mmp_bdevname, MMP_BDEVNAME, sizeof(MMP_BDEVNAME) - 1);
}

int ext4_mmp_start(struct ext4_fs *e, struct imgfs_error *err)
{
	struct ext2_super_block *sb = e->fs->super;
	const char *path = e->base.img->path;
	uint64_t block = sb->s_mmp_block;
	_cleanup_(mmp_freep) struct ext4_mmp *m = NULL;
	unsigned check, wait;
	char who[160];
	uint32_t seq;
	int r;

	if (!ext2fs_has_feature_mmp(sb) || !e->base.img->writable)
		return 0;
	if (block < sb->s_first_data_block || block >= ext2fs_blocks_count(sb))
		return imgfs_error_set(err, EUCLEAN,
				       "%s: MMP block %llu lies outside the filesystem, run e2fsck",
				       path, (unsigned long long)block);
	m = mmp_new(e, block);
	if (!m)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	r = mmp_read_checked(m, m->ours, err);
	if (r < 0)
		return r;
	check = MAX(ext2fs_le16_to_cpu(m->ours->mmp_check_interval), MMP_MIN_CHECK_INTERVAL);
	wait = check;
	seq = seq_of(m->ours);
	if (seq == EXT4_MMP_SEQ_FSCK) {
		holder_text(m->ours, who, sizeof(who));
		return imgfs_error_set(err, EBUSY, "%s: in use: e2fsck is running on it (MMP: %s)",
				       path, who);
	}
	if (seq != EXT4_MMP_SEQ_CLEAN) {
		/* Not cleanly unmounted: is someone still updating it? */
		wait = MIN(2 * check + 1, check + 60);
		if (wait > 4 * MMP_MIN_CHECK_INTERVAL)
			log_warn("%s: MMP interval is %u s: waiting %u s for the filesystem to be free",
				 path, check, 2 * wait);
		sleep_seconds(wait);
		r = mmp_read_checked(m, m->seen, err);
		if (r < 0)
			return r;
		if (m->seen->mmp_seq != m->ours->mmp_seq) {
			holder_text(m->seen, who, sizeof(who));
			return imgfs_error_set(err, EBUSY,
					       "%s: in use: mounted elsewhere (MMP: %s); unmount it there first",
					       path, who);
		}
	}
	/* Take it, wait, and check that nobody took it at the same time. */
	mmp_claim(m, new_seq());
	r = mmp_write(m);
	if (r < 0)
		return imgfs_error_set(err, -r, "%s: cannot write the MMP block: %s", path,
				       strerror(-r));
	sleep_seconds(wait);
	r = mmp_read_checked(m, m->seen, err);
	if (r < 0)
		return r;
	if (m->seen->mmp_seq != m->ours->mmp_seq) {
		holder_text(m->seen, who, sizeof(who));
		return imgfs_error_set(err, EBUSY,
				       "%s: in use: mounted elsewhere (MMP: %s); unmount it there first",
				       path, who);
	}
	r = pthread_create(&m->thread, NULL, mmp_thread, m);
	if (r)
		return imgfs_error_set(err, r, "cannot start the MMP thread: %s", strerror(r));
	m->running = true;
	e->mmp = steal_pointer(&m);
	return 0;
}

bool ext4_mmp_lost(struct ext4_fs *e)
{
	return e->mmp && atomic_load(&e->mmp->lost);
}

void ext4_mmp_stop(struct ext4_fs *e)
{
	struct ext4_mmp *m = e->mmp;
	int r;

	if (!m)
		return;
	e->mmp = NULL;
	if (m->running) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_signal(&m->wake);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
	}
	/* Lost: the block is someone else's now, and so is saying when it is clean. */
	if (!atomic_load(&m->lost)) {
		m->ours->mmp_seq = ext2fs_cpu_to_le32(EXT4_MMP_SEQ_CLEAN);
		r = mmp_write(m);
		if (r < 0)
			log_err("%s: cannot mark the MMP block clean: %s", e->base.img->path,
				strerror(-r));
	}
	mmp_free(m);
}
