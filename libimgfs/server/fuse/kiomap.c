/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuse-iomap, the server's side: negotiation at INIT, the backing device,
 * the per-inode opt-in, and answers to the IOMAP_* requests.  It only
 * translates between the protocol and the mapping engine (iomap.h), the
 * same engine the userspace read path goes through: the engine maps,
 * checks and places; this file rounds to whole blocks and names the
 * registered device.
 */
#include "config.h"

#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include "fuse/kiomap.h"
#include "fuse/node.h"
#include "iomap.h"

/* The engine's operation flags for the protocol's: the same bits, writeback as a write. */
static unsigned engine_opflags(uint32_t opflags)
{
	unsigned op = opflags & (FUSE_IOMAP_OP_WRITE | FUSE_IOMAP_OP_ZERO | FUSE_IOMAP_OP_REPORT |
				 FUSE_IOMAP_OP_FAULT | FUSE_IOMAP_OP_DIRECT | FUSE_IOMAP_OP_UNSHARE);

	if (opflags & FUSE_IOMAP_OP_WRITEBACK)
		op |= IMGFS_IOMAP_OP_WRITE;
	return op;
}

/* One message to the kernel: a reply (@unique), or a notification (0, @error = code). */
static int send_msg(struct imgfs_kiomap *k, uint64_t unique, int32_t error, const void *payload,
		    size_t len)
{
	struct fuse_out_header h = {
		.len = (uint32_t)(sizeof(h) + len), .error = error, .unique = unique,
	};
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	ssize_t n = writev(k->fuse_fd, iov, len ? 2 : 1);

	if (n < 0)
		return -errno;
	return n == (ssize_t)h.len ? 0 : -EIO;
}

static void reply_error(struct imgfs_kiomap *k, uint64_t unique, int r)
{
	send_msg(k, unique, -imgfs_reply_errno(r), NULL, 0);
}

/*
 * Register the image with the kernel as the device mappings point into.
 * Once, before any file is marked: INIT's end and IOMAP_CONFIG both call
 * it, whichever comes first does the work and the other waits for it.
 */
static void register_device(struct imgfs_kiomap *k)
{
	struct imgfs_iomap_device dev;

	if (atomic_load(&k->registered))
		return;
	pthread_mutex_lock(&k->lock);
	if (!atomic_load(&k->registered)) {
		imgfs_iomap_device(k->fs, &dev);
		if (k->test_backing_id) {
			k->backing_id = k->test_backing_id;
			snprintf(k->data_path, sizeof(k->data_path),
				 "kernel iomap (test: backing id %u stands in for a registered device)",
				 k->test_backing_id);
		} else {
			struct fuse_backing_map map = {
				.fd = dev.fd, .flags = FUSE_BACKING_TYPE_IOMAP,
			};
			int id = ioctl(k->fuse_fd, FUSE_DEV_IOC_BACKING_OPEN, &map);

			if (id > 0) {
				k->backing_id = (uint32_t)id;
				snprintf(k->data_path, sizeof(k->data_path),
					 "kernel iomap (the block device is backing device %d)", id);
			} else {
				log_warn("%s: the kernel refused the block device for iomap (%s); "
					 "file data goes through the server", dev.name,
					 strerror(errno));
				snprintf(k->data_path, sizeof(k->data_path),
					 "userspace iomap (the kernel refused the block device: %s)",
					 strerror(errno));
			}
		}
		atomic_store(&k->registered, true);
	}
	pthread_mutex_unlock(&k->lock);
}

/*
 * INIT on its way in: does the kernel offer iomap, and can this mount use
 * it?  Bit 43 is an offer only in a 7.99 INIT: mainline 7.46 (Linux 7.3)
 * gave it to FUSE_HAS_IO_URING_BUFPOOL, which is not ours to accept.
 */
static void watch_init(struct imgfs_kiomap *k, const struct fuse_in_header *in, size_t len)
{
	const struct fuse_init_in *arg = (const void *)(in + 1);
	const struct imgfs_fs *fs = k->fs;
	long page = sysconf(_SC_PAGESIZE);
	struct imgfs_iomap_device dev;
	bool bit43;

	k->init_unique = in->unique;
	k->init_seen = true;
	k->maxbytes = MIN(fs->max_file_size, (uint64_t)INT64_MAX);
	bit43 = len >= sizeof(*in) + offsetof(struct fuse_init_in, flags2) + sizeof(arg->flags2) &&
		(arg->flags & FUSE_INIT_EXT) && (arg->flags2 & (uint32_t)(FUSE_IOMAP >> 32));
	k->accepted = false;
	imgfs_iomap_device(fs, &dev);
	if (bit43 && (arg->major != FUSE_KERNEL_VERSION ||
		      arg->minor != FUSE_IOMAP_KERNEL_MINOR_VERSION))
		snprintf(k->data_path, sizeof(k->data_path),
			 "userspace iomap (a %u.%u kernel: its INIT bit 43 is not fuse-iomap, "
			 "which is 7.%u's)", arg->major, arg->minor,
			 FUSE_IOMAP_KERNEL_MINOR_VERSION);
	else if (!bit43)
		snprintf(k->data_path, sizeof(k->data_path),
			 "userspace iomap (this kernel offers no fuse-iomap)");
	else if (fs->write_ops)
		snprintf(k->data_path, sizeof(k->data_path),
			 "userspace iomap (a read-write mount: the kernel's iomap serves reads only here)");
	else if (!dev.block_device && !k->test_backing_id)
		snprintf(k->data_path, sizeof(k->data_path),
			 "userspace iomap (the kernel maps only block devices; the image is a file)");
	else if (page > 0 && fs->block_size > (unsigned long)page)
		snprintf(k->data_path, sizeof(k->data_path),
			 "userspace iomap (%u-byte blocks are larger than a page)", fs->block_size);
	else
		k->accepted = true;
}

/*
 * The INIT reply on its way out: accept iomap by setting its flag and
 * answering minor 99, and nothing else.  The kernel takes the reply's
 * minor as the connection's (no lower of the two), and honours
 * FUSE_ATTR_EXCLUSIVE, without which it ignores FUSE_ATTR_IOMAP, only
 * from 99 on; libfuse writes its own.  The reply's length need not follow
 * the minor: the kernel takes any up to its fuse_init_out and zeroes the
 * rest.  Not accepting, bit 43 never goes back: it means something else
 * below 7.99.  libfuse's reply is one header and one fuse_init_out.
 */
static ssize_t write_init_reply(struct imgfs_kiomap *k, int fd, const struct iovec *iov, int count)
{
	char msg[sizeof(struct fuse_out_header) + sizeof(struct fuse_init_out)] = { 0 };
	const struct fuse_out_header *h = (const void *)msg;
	struct fuse_init_out *out = (void *)(msg + sizeof(*h));
	size_t len = 0;

	for (int i = 0; i < count; i++) {
		if (iov[i].iov_len > sizeof(msg) - len) {
			k->accepted = false;	/* not the reply we know: leave it alone */
			return writev(fd, iov, count);
		}
		memcpy(msg + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	if (k->accepted) {
		if (h->error == 0 && len == sizeof(msg) && (out->flags & FUSE_INIT_EXT)) {
			out->flags2 |= (uint32_t)(FUSE_IOMAP >> 32);
			out->minor = FUSE_IOMAP_KERNEL_MINOR_VERSION;
		} else {
			k->accepted = false;
			snprintf(k->data_path, sizeof(k->data_path), "%s",
				 h->error ? "none (INIT failed)" :
				 "userspace iomap (libfuse's INIT reply has no room for the iomap flag)");
		}
	}
	if (!k->accepted && h->error == 0 && len == sizeof(msg))
		out->flags2 &= ~(uint32_t)(FUSE_IOMAP >> 32);
	return write(fd, msg, len);
}

/* After the INIT reply: the kernel has taken it, so the device can be registered now. */
static void finish_init(struct imgfs_kiomap *k)
{
	k->init_answered = true;
	if (k->accepted)
		register_device(k);
	else
		atomic_store(&k->registered, true);
	log_info("data path: %s", k->data_path);
	if (k->on_init)
		k->on_init(k->on_init_ctx, k->data_path);
}

/*
 * The protocol's mapping of @pos in @ino, from the engine's: whole blocks
 * (the kernel refuses anything else) on the registered device.
 */
static int map_at(struct imgfs_kiomap *k, uint64_t ino, uint64_t pos, uint64_t count,
		  unsigned opflags, struct fuse_iomap_io *io)
{
	const uint64_t bs = k->fs->block_size;
	struct imgfs_mapping m;
	uint64_t start, end;
	int r;

	r = imgfs_iomap_at(k->fs, ino, pos, count, opflags, &m);
	if (r < 0)
		return r;
	start = m.map.offset - m.map.offset % bs;
	end = m.map.offset + m.map.length;
	switch (m.map.type) {
	case IMGFS_IOMAP_MAPPED:
	case IMGFS_IOMAP_UNWRITTEN:
		/* Extents are whole blocks; a clip at the largest file size may not be. */
		end -= end % bs;
		if (start != m.map.offset || end <= pos)
			return fs_corrupt("inode %llu: extent at file offset %llu is not whole blocks",
					  (unsigned long long)ino, (unsigned long long)m.map.offset);
		io->addr = m.dev_addr;
		io->dev = atomic_load(&k->backing_id);
		break;
	case IMGFS_IOMAP_HOLE:
		if (end % bs && end <= UINT64_MAX - bs)
			end += bs - end % bs;
		else
			end -= end % bs;
		if (end <= pos)
			return -EINVAL;
		io->addr = FUSE_IOMAP_NULL_ADDR;
		io->dev = FUSE_IOMAP_DEV_NULL;
		break;
	default:
		/* Inline data never gets FUSE_ATTR_IOMAP, so the kernel never asks. */
		return -EINVAL;
	}
	io->offset = start;
	io->length = end - start;
	io->type = m.map.type;
	io->flags = m.map.flags;
	return 0;
}

/* A read-only image's write mapping: "writes go where reads do", never used. */
static struct fuse_iomap_io write_mapping(const struct fuse_iomap_io *read, uint16_t type)
{
	return (struct fuse_iomap_io){
		.offset = read->offset, .length = read->length,
		.addr = FUSE_IOMAP_NULL_ADDR, .type = type, .dev = FUSE_IOMAP_DEV_NULL,
	};
}

/*
 * Whether regular file @ino keeps its data on the device: whether it has
 * no inline data (ext4), even none at all.  Errors leave the file to the
 * classic path, which reports them when it is read.
 */
static bool data_on_device(struct imgfs_kiomap *k, uint64_t ino)
{
	bool has_inline;

	return imgfs_iomap_has_inline(k->fs, ino, &has_inline) == 0 && !has_inline;
}

/*
 * Whether the kernel treats @ino as an iomap inode: the one answer for
 * marking it (IOMAP with EXCLUSIVE, on a connection that accepted at
 * minor 99) and for uploading its mappings, which the kernel takes for
 * iomap inodes only.
 */
static bool iomap_file(struct imgfs_kiomap *k, uint64_t ino, const struct stat *st)
{
	if (!k->accepted || !S_ISREG(st->st_mode))
		return false;
	register_device(k);
	return imgfs_kiomap_active(k) && data_on_device(k, ino);
}

/*
 * Upload up to a batch of @ino's mappings from @pos on, stopping at EOF.
 * Returns how many the kernel took; the first is copied to *@first.
 */
static unsigned upsert_from(struct imgfs_kiomap *k, fuse_ino_t node, uint64_t ino, uint64_t isize,
			    uint64_t pos, struct fuse_iomap_io *first)
{
	unsigned sent = 0;

	while (sent < k->upsert_batch && pos < isize) {
		struct fuse_iomap_upsert_mappings_out u = { .nodeid = node, .attr_ino = ino };
		int r = map_at(k, ino, pos, isize - pos, 0, &u.read);

		if (r < 0)
			break;	/* a BEGIN there will carry the error */
		u.write = write_mapping(&u.read, FUSE_IOMAP_TYPE_NOCACHE);
		r = send_msg(k, 0, FUSE_NOTIFY_IOMAP_UPSERT_MAPPINGS, &u, sizeof(u));
		if (r < 0) {
			log_debug("iomap: upsert for node %llu refused: %s",
				  (unsigned long long)node, strerror(-r));
			break;
		}
		if (sent++ == 0 && first)
			*first = u.read;
		pos = u.read.offset + u.read.length;
	}
	return sent;
}

/* The inode a request names: its node's, which must be the one the kernel was told. */
static int request_ino(struct imgfs_kiomap *k, const struct fuse_in_header *in, uint64_t attr_ino,
		       uint64_t *ino)
{
	if (in->nodeid == 0)
		return -EINVAL;
	*ino = node_to_ino(k->fs, in->nodeid);
	return attr_ino == *ino ? 0 : -EINVAL;
}

static int do_begin(struct imgfs_kiomap *k, const struct fuse_in_header *in, size_t len,
		    struct fuse_iomap_begin_out *out)
{
	struct imgfs_fs *fs = k->fs;
	struct fuse_iomap_begin_in b;
	struct stat st;
	unsigned sent = 0;
	uint64_t ino;
	int r;

	if (len < sizeof(b))
		return -EINVAL;
	memcpy(&b, in + 1, sizeof(b));
	if (b.reserved || b.count == 0)
		return -EINVAL;
	/* File positions are the kernel's loff_t: below 2^63, range and all. */
	if (b.pos >= k->maxbytes || b.count > (uint64_t)INT64_MAX - b.pos)
		return -EINVAL;
	r = request_ino(k, in, b.attr_ino, &ino);
	if (r < 0)
		return r;
	r = fs->ops->getattr(fs, ino, &st);
	if (r < 0)
		return r;
	if (!iomap_file(k, ino, &st))
		return -EINVAL;

	/*
	 * A miss in the kernel's cache: upload the mappings from here on and
	 * let it look again, which saves one request per mapping uploaded.
	 * A single one uploaded is the answer itself.
	 */
	if (k->upsert_batch && !(b.opflags & ~FUSE_IOMAP_OP_REPORT) && b.pos < (uint64_t)st.st_size)
		sent = upsert_from(k, in->nodeid, ino, (uint64_t)st.st_size, b.pos, &out->read);
	if (sent >= 2) {
		out->read.type = FUSE_IOMAP_TYPE_RETRY_CACHE;
		out->read.addr = FUSE_IOMAP_NULL_ADDR;
		out->read.dev = FUSE_IOMAP_DEV_NULL;
	} else if (sent == 0) {
		r = map_at(k, ino, b.pos, b.count, engine_opflags(b.opflags), &out->read);
		if (r < 0)
			return r;
	}
	out->write = write_mapping(&out->read, FUSE_IOMAP_TYPE_PURE_OVERWRITE);
	if (k->debug)
		log_debug("iomap: BEGIN node %llu pos %llu count %llu -> type %u [%llu, +%llu)",
			  (unsigned long long)in->nodeid, (unsigned long long)b.pos,
			  (unsigned long long)b.count, out->read.type,
			  (unsigned long long)out->read.offset, (unsigned long long)out->read.length);
	return 0;
}

/* The I/O on a mapping BEGIN gave is done: the engine lets the backend finish it. */
static int do_end(struct imgfs_kiomap *k, const struct fuse_in_header *in, size_t len)
{
	struct fuse_iomap_end_in e;
	struct imgfs_mapping m;
	uint64_t ino;
	int r;

	if (len < sizeof(e))
		return -EINVAL;
	memcpy(&e, in + 1, sizeof(e));
	r = request_ino(k, in, e.attr_ino, &ino);
	if (r < 0 || e.reserved || e.written < 0)
		return r < 0 ? r : -EINVAL;
	m = (struct imgfs_mapping){
		.map = { .offset = e.map.offset, .length = e.map.length,
			 .addr = IMGFS_IOMAP_NULL_ADDR, .type = e.map.type, .flags = e.map.flags },
		.fd = -1,
		.dev_addr = e.map.addr,
	};
	return imgfs_iomap_end(k->fs, ino, e.pos, e.count, (uint64_t)e.written,
			       engine_opflags(e.opflags), &m);
}

/* Written data reached the device: the engine says what the backend makes of it. */
static int do_ioend(struct imgfs_kiomap *k, const struct fuse_in_header *in, size_t len,
		    struct fuse_iomap_ioend_out *out)
{
	struct fuse_iomap_ioend_in io;
	uint64_t ino;
	int r;

	if (len < sizeof(io))
		return -EINVAL;
	memcpy(&io, in + 1, sizeof(io));
	r = request_ino(k, in, io.attr_ino, &ino);
	if (r < 0)
		return r;
	/* The protocol's ioend flags are the engine's (iomap-types.h). */
	return imgfs_iomap_ioend(k->fs, ino, io.pos, io.written, io.flags, io.error,
				 &out->newsize);
}

static int do_config(struct imgfs_kiomap *k, size_t len, const void *arg,
		     struct fuse_iomap_config_out *out)
{
	struct imgfs_fs *fs = k->fs;
	struct fuse_iomap_config_in c = { 0 };
	struct imgfs_fs_info info = { 0 };
	uint64_t wanted = FUSE_IOMAP_CONFIG_BLOCKSIZE | FUSE_IOMAP_CONFIG_MAXBYTES;

	/* The first version had only flags and maxbytes. */
	if (len < offsetof(struct fuse_iomap_config_in, padding))
		return -EINVAL;
	memcpy(&c, arg, MIN(len, sizeof(c)));
	register_device(k);

	if (c.maxbytes > 0 && (uint64_t)c.maxbytes < k->maxbytes)
		k->maxbytes = (uint64_t)c.maxbytes;
	out->s_blocksize = fs->block_size;
	out->s_maxbytes = (int64_t)k->maxbytes;
	if (fs->ops->info(fs, &info) == 0) {
		memcpy(out->s_uuid, info.uuid, sizeof(info.uuid));
		out->s_uuid_len = sizeof(info.uuid);
		wanted |= FUSE_IOMAP_CONFIG_UUID;
	}
	/*
	 * No FUSE_IOMAP_CONFIG_CACHE_MAXBYTES: the kernel's default, 256 KiB
	 * per inode, is 8192 mappings (it counts 32 bytes each), far more
	 * than the batches uploaded ahead of a read; more would only hold
	 * unswappable kernel memory for a hostile image's most fragmented
	 * files.
	 */
	out->flags = wanted & c.flags;
	return 0;
}

static bool is_iomap_opcode(uint32_t opcode)
{
	return opcode >= FUSE_IOMAP_CONFIG && opcode <= FUSE_IOMAP_END;
}

/* Answer one IOMAP_* request; every one gets exactly one reply. */
static void handle_request(struct imgfs_kiomap *k, const struct fuse_in_header *in, size_t n)
{
	size_t len = n - sizeof(*in);
	int r;

	if (in->len != n) {
		reply_error(k, in->unique, -EINVAL);
		return;
	}
	switch (in->opcode) {
	case FUSE_IOMAP_BEGIN: {
		struct fuse_iomap_begin_out out = { 0 };

		r = do_begin(k, in, len, &out);
		if (r == 0)
			send_msg(k, in->unique, 0, &out, sizeof(out));
		break;
	}
	case FUSE_IOMAP_CONFIG: {
		struct fuse_iomap_config_out out = { 0 };

		r = do_config(k, len, in + 1, &out);
		if (r == 0)
			send_msg(k, in->unique, 0, &out, sizeof(out));
		break;
	}
	case FUSE_IOMAP_END:
		r = do_end(k, in, len);
		if (r == 0)
			send_msg(k, in->unique, 0, NULL, 0);
		break;
	default: {	/* IOEND */
		struct fuse_iomap_ioend_out out = { 0 };

		r = do_ioend(k, in, len, &out);
		if (r == 0)
			send_msg(k, in->unique, 0, &out, sizeof(out));
		break;
	}
	}
	if (r < 0) {
		if (k->debug)
			log_debug("iomap: opcode %u node %llu: %s", in->opcode,
				  (unsigned long long)in->nodeid, strerror(-r));
		reply_error(k, in->unique, r);
	}
}

static ssize_t kiomap_read(int fd, void *buf, size_t size, void *userdata)
{
	struct imgfs_kiomap *k = userdata;

	for (;;) {
		const struct fuse_in_header *in = buf;
		ssize_t n = read(fd, buf, size);

		/*
		 * A socket's peer that left, with or without our messages
		 * unread, is as an unmount: libfuse then ends the session
		 * quietly rather than failing it.
		 */
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			errno = ENODEV;
			return -1;
		}
		if (n < (ssize_t)sizeof(*in))
			return n;	/* errors, and libfuse's "short read" */
		if (in->opcode == FUSE_INIT && !k->init_answered)
			watch_init(k, in, (size_t)n);
		if (!k->accepted || !is_iomap_opcode(in->opcode))
			return n;
		handle_request(k, in, (size_t)n);
	}
}

static ssize_t kiomap_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct imgfs_kiomap *k = userdata;
	const struct fuse_out_header *h = iov[0].iov_base;
	ssize_t n;

	if (!k->init_seen || k->init_answered || iov[0].iov_len < sizeof(*h) ||
	    h->unique != k->init_unique) {
		n = writev(fd, iov, count);
		/*
		 * A socket's peer is gone: end the session now, which also
		 * spares a perror() from libfuse for every reply still due.
		 */
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			fuse_session_exit(k->se);
		return n;
	}
	n = write_init_reply(k, fd, iov, count);
	finish_init(k);
	return n;
}

int imgfs_kiomap_attach(struct imgfs_kiomap *k, struct fuse_session *se, int fuse_fd)
{
	/* The custom read/writev get the session's userdata (kiomap.h). */
	static const struct fuse_custom_io io = {
		.read = kiomap_read,
		.writev = kiomap_writev,
	};

	k->fuse_fd = fuse_fd;
	k->se = se;
	return fuse_session_custom_io(se, &io, fuse_fd) == 0 ? 0 : -EINVAL;
}

void imgfs_kiomap_mark(struct imgfs_kiomap *k, uint64_t ino, const struct stat *st,
		       struct fuse_attr *attr)
{
	if (!iomap_file(k, ino, st))
		return;
	/* v7 ignores IOMAP on an inode that is not EXCLUSIVE too. */
	attr->flags |= FUSE_ATTR_IOMAP | FUSE_ATTR_EXCLUSIVE;
	/* The kernel aligns mappings to the inode's block size: it must be ours. */
	attr->blksize = k->fs->block_size;
}

void imgfs_kiomap_open(struct imgfs_kiomap *k, fuse_ino_t node)
{
	uint64_t ino = node_to_ino(k->fs, node);
	struct stat st;

	if (!k->upsert_batch || k->fs->ops->getattr(k->fs, ino, &st) < 0 ||
	    !iomap_file(k, ino, &st))
		return;
	upsert_from(k, node, ino, (uint64_t)st.st_size, 0, NULL);
}
