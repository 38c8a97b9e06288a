/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kiomap-sim's kernel side of the connection: the result families, the
 * nodes and their mapping caches, a session with one imgfs-server (started,
 * sent to, received from, INIT and IOMAP_CONFIG as the kernel sends them),
 * the notifications the server pushes, and every mapping validated and its
 * data compared as the kernel with fuse-iomap would.  kiomap-sim.c holds
 * the checks that drive it.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kiomap-sim.h"
#include "util.h"

/* INIT flags above bit 31 a 6.18 kernel offers; older headers lack some. */
#ifndef FUSE_SECURITY_CTX
#define FUSE_SECURITY_CTX (1ULL << 32)
#endif
#define SIM_CREATE_SUPP_GROUP	(1ULL << 34)
#define SIM_HAS_EXPIRE_ONLY	(1ULL << 35)
#define SIM_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#define SIM_NO_EXPORT_SUPPORT	(1ULL << 38)
#define SIM_HAS_RESEND		(1ULL << 39)
#define SIM_ALLOW_IDMAP		(1ULL << 40)
#define SIM_REQUEST_TIMEOUT	(1ULL << 42)
#ifndef FUSE_HANDLE_KILLPRIV_V2
#define FUSE_HANDLE_KILLPRIV_V2 (1 << 28)
#endif
#ifndef FUSE_SETXATTR_EXT
#define FUSE_SETXATTR_EXT (1 << 29)
#endif
#ifndef FS_INLINE_DATA_FL
#define FS_INLINE_DATA_FL 0x10000000
#endif

#define REPLY_TIMEOUT_MS 10000	/* per message the simulator waits for */
#define RECV_BUF (8U << 20)	/* larger than any reply or store */
#define SERVER_SNDBUF (8 << 20)	/* a 1 MiB reply must fit in one packet */

/* ---- results: one line per family of checks ---- */

static const char *const family_desc[F_COUNT] = {
	[F_INIT] = "INIT: FUSE_IOMAP granted only when a 7.99 kernel offers it, with minor 99; replies otherwise byte-identical",
	[F_CONFIG] = "IOMAP_CONFIG reply: flags, block size, UUID, maxbytes",
	[F_ATTR] = "FUSE_ATTR_IOMAP, with FUSE_ATTR_EXCLUSIVE, exactly on regular non-inline files (LOOKUP, GETATTR, READDIRPLUS)",
	[F_WALK] = "IOMAP_BEGIN from 0 to EOF: valid mappings, data equals the kernel's",
	[F_RANDOM] = "IOMAP_BEGIN at random positions and lengths, REPORT too",
	[F_UPSERT] = "OPEN uploads mappings from 0; RETRY_CACHE answered from the cache",
	[F_END] = "IOMAP_END answered 0, IOMAP_IOEND and write operations refused",
	[F_MALFORMED] = "malformed iomap requests get errors, the server keeps serving",
	[F_PLAIN] = "without iomap: OPEN answered ENOSYS, IOMAP_BEGIN refused",
	[F_READ] = "userspace READ and NOTIFY_STORE data equal the kernel's",
	[F_PIPELINE] = "IOMAP_BEGIN and GETATTR all in flight at once: replies in any order, each valid",
	[F_ALIVE] = "every server alive to the end, exits at EOF, not killed",
	[F_ROUNDS] = "round trips counted, upserts never cost more than plain iomap",
};

#define MAX_NOTES 3

static struct {
	unsigned long checks, fails;
	bool used;
	char notes[MAX_NOTES][1024];
} fam[F_COUNT];
enum family cur = F_INIT;

void fail(const char *fmt, ...)
{
	va_list ap;

	fam[cur].used = true;
	if (fam[cur].fails++ < MAX_NOTES) {
		va_start(ap, fmt);
		vsnprintf(fam[cur].notes[fam[cur].fails - 1], sizeof(fam[cur].notes[0]), fmt, ap);
		va_end(ap);
	}
	/* KIOMAP_SIM_VERBOSE=1: every failure, on stderr. */
	if (getenv("KIOMAP_SIM_VERBOSE")) {
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
}

void checked(void)
{
	fam[cur].used = true;
	fam[cur].checks++;
}

int report(const char *label)
{
	int failed = 0;

	for (int f = 0; f < F_COUNT; f++) {
		if (!fam[f].used)
			continue;
		printf("%s - %s: %s (%lu checks)\n", fam[f].fails ? "not ok" : "ok", label,
		       family_desc[f], fam[f].checks);
		for (unsigned long i = 0; i < MIN(fam[f].fails, (unsigned long)MAX_NOTES); i++)
			printf("#   %s\n", fam[f].notes[i]);
		if (fam[f].fails > MAX_NOTES)
			printf("#   ... %lu failures in all\n", fam[f].fails);
		failed |= fam[f].fails != 0;
	}
	fflush(stdout);
	return failed;
}

/* ---- nodes: what LOOKUP told, what the kernel's mount says ---- */

static struct {
	struct node **v;	/* open addressing on nodeid */
	size_t cap, n;
} nodes;

struct node *node_find(uint64_t nodeid)
{
	if (!nodes.cap)
		return NULL;
	for (size_t i = nodeid * 0x9e3779b97f4a7c15ULL & (nodes.cap - 1);; i = (i + 1) & (nodes.cap - 1)) {
		if (!nodes.v[i])
			return NULL;
		if (nodes.v[i]->nodeid == nodeid)
			return nodes.v[i];
	}
}

static void node_insert(struct node *n)
{
	size_t i;

	if ((nodes.n + 1) * 2 > nodes.cap) {
		struct node **old = nodes.v;
		size_t oldcap = nodes.cap;

		nodes.cap = oldcap ? oldcap * 2 : 1024;
		nodes.v = calloc(nodes.cap, sizeof(*nodes.v));
		if (!nodes.v)
			abort();
		nodes.n = 0;
		for (i = 0; i < oldcap; i++)
			if (old[i])
				node_insert(old[i]);
		free(old);
	}
	for (i = n->nodeid * 0x9e3779b97f4a7c15ULL & (nodes.cap - 1); nodes.v[i];
	     i = (i + 1) & (nodes.cap - 1))
		;
	nodes.v[i] = n;
	nodes.n++;
}

/* The node @nodeid, made on first sight with @path. */
/* A new session takes @bit: no node is an iomap inode in its kernel yet. */
static void nodes_forget_bit(uint32_t bit)
{
	for (size_t i = 0; i < nodes.cap; i++)
		if (nodes.v[i])
			nodes.v[i]->kiomap &= ~bit;
}

struct node *node_get(uint64_t nodeid, const char *path)
{
	struct node *n = node_find(nodeid);

	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->path = strdup(path)))
		abort();
	n->nodeid = nodeid;
	node_insert(n);
	return n;
}

static bool overflows(uint64_t a, uint64_t b)
{
	return a + b < a;
}

uint64_t map_end(const struct fuse_iomap_io *m)
{
	return overflows(m->offset, m->length) ? UINT64_MAX : m->offset + m->length;
}

static bool map_has(const struct fuse_iomap_io *m, uint64_t pos)
{
	return pos >= m->offset && pos < map_end(m);
}

/* The kernel's cache: an upsert replaces whatever it overlaps. */
static void cache_upsert(struct cache *c, const struct fuse_iomap_io *m)
{
	uint64_t lo = m->offset, hi = map_end(m);
	struct fuse_iomap_io keep[2];
	size_t out = 0, nkeep = 0, at = 0;

	if (c->n + 2 >= c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		if (!c->v)
			abort();
	}
	for (size_t i = 0; i < c->n; i++) {
		struct fuse_iomap_io e = c->v[i];
		uint64_t e_end = map_end(&e);

		if (e_end <= lo || e.offset >= hi) {
			c->v[out++] = e;
			continue;
		}
		/* The parts of @e outside [lo, hi) stay (addresses move with them). */
		if (e.offset < lo) {
			keep[nkeep] = e;
			keep[nkeep++].length = lo - e.offset;
		}
		if (e_end > hi) {
			keep[nkeep] = e;
			keep[nkeep].offset = hi;
			keep[nkeep].length = e_end - hi;
			if (e.addr != FUSE_IOMAP_NULL_ADDR)
				keep[nkeep].addr = e.addr + (hi - e.offset);
			nkeep++;
		}
	}
	c->n = out;
	for (size_t k = 0; k < nkeep; k++)
		c->v[c->n++] = keep[k];
	c->v[c->n++] = *m;
	/* Insertion sort: few entries move. */
	for (size_t i = 1; i < c->n; i++)
		for (at = i; at > 0 && c->v[at - 1].offset > c->v[at].offset; at--) {
			struct fuse_iomap_io t = c->v[at];

			c->v[at] = c->v[at - 1];
			c->v[at - 1] = t;
		}
}

const struct fuse_iomap_io *cache_find(const struct cache *c, uint64_t pos)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (map_end(&c->v[mid]) <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && map_has(&c->v[lo], pos) ? &c->v[lo] : NULL;
}

static void ranges_add(struct ranges *r, uint64_t off, uint64_t len)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		if (!r->v)
			abort();
	}
	r->v[r->n++] = (struct fuse_range){ off, len };
}

/* The end of the stored run that holds @pos, or @pos if none does. */
uint64_t ranges_end(const struct ranges *r, uint64_t pos)
{
	bool grew = true;

	while (grew) {
		grew = false;
		for (size_t i = 0; i < r->n; i++)
			if (pos >= r->v[i].offset && pos < r->v[i].offset + r->v[i].length) {
				pos = r->v[i].offset + r->v[i].length;
				grew = true;
			}
	}
	return pos;
}

/* ---- the kernel's view of a file: its own mount ---- */

static struct {
	const struct opts *o;
	uint64_t nodeid;
	int fd;
} kfile = { .fd = -1 };

int kernel_fd(struct node *n)
{
	if (kfile.fd >= 0 && kfile.nodeid == n->nodeid)
		return kfile.fd;
	if (kfile.fd >= 0)
		close(kfile.fd);
	kfile.nodeid = n->nodeid;
	kfile.fd = openat(kfile.o->kdir_fd, n->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return kfile.fd;
}

static const char *type_name(unsigned t)
{
	static char buf[16];

	switch (t) {
	case FUSE_IOMAP_TYPE_HOLE: return "HOLE";
	case FUSE_IOMAP_TYPE_DELALLOC: return "DELALLOC";
	case FUSE_IOMAP_TYPE_MAPPED: return "MAPPED";
	case FUSE_IOMAP_TYPE_UNWRITTEN: return "UNWRITTEN";
	case FUSE_IOMAP_TYPE_INLINE: return "INLINE";
	case FUSE_IOMAP_TYPE_PURE_OVERWRITE: return "PURE_OVERWRITE";
	case FUSE_IOMAP_TYPE_RETRY_CACHE: return "RETRY_CACHE";
	case FUSE_IOMAP_TYPE_NOCACHE: return "NOCACHE";
	}
	snprintf(buf, sizeof(buf), "type %u", t);
	return buf;
}

/* A mapping as the failure messages show it. */
const char *map_str(const struct fuse_iomap_io *m)
{
	static char buf[2][160];
	static int which;
	char *b = buf[which ^= 1];

	snprintf(b, sizeof(buf[0]), "{%s offset %" PRIu64 " length %" PRIu64 " addr %s%" PRIx64
		 " flags 0x%x dev %u}", type_name(m->type), m->offset, m->length,
		 m->addr == FUSE_IOMAP_NULL_ADDR ? "NULL " : "0x",
		 m->addr == FUSE_IOMAP_NULL_ADDR ? 0 : m->addr, m->flags, m->dev);
	return b;
}

static bool all_zero(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static size_t first_diff(const char *a, const char *b, size_t len)
{
	size_t i = 0;

	while (i < len && a[i] == b[i])
		i++;
	return i;
}

char *data_buf[2];
#define DATA_CHUNK (1U << 20)

/*
 * The data the kernel would read through mapping @m for [@from, @to) of
 * @n, clipped to the mapping and to i_size, must be what the kernel's own
 * mount shows: the image's bytes at the mapped address, zeros for holes
 * and unwritten extents.  Records a failure naming @what.
 */
int check_data(const struct opts *o, struct node *n, const struct fuse_iomap_io *m,
	       uint64_t from, uint64_t to, const char *what)
{
	uint64_t lo = MAX(from, m->offset), hi = MIN(MIN(to, map_end(m)), n->isize);
	int kfd;

	if (lo >= hi || (m->type != FUSE_IOMAP_TYPE_MAPPED && m->type != FUSE_IOMAP_TYPE_HOLE &&
			 m->type != FUSE_IOMAP_TYPE_UNWRITTEN))
		return 0;
	kfd = kernel_fd(n);
	if (kfd < 0) {
		fail("%s: cannot open it in the kernel's mount: %s", n->path, strerror(errno));
		return -1;
	}
	while (lo < hi) {
		size_t len = (size_t)MIN(hi - lo, (uint64_t)DATA_CHUNK);

		if (m->type != FUSE_IOMAP_TYPE_MAPPED) {
			/* Zeros: only the kernel's data regions need reading. */
			off_t d = lseek(kfd, (off_t)lo, SEEK_DATA);

			if (d < 0 || (uint64_t)d >= hi)
				return 0;
			if ((uint64_t)d > lo) {
				lo = (uint64_t)d;
				continue;
			}
			len = (size_t)MIN(hi - lo, (uint64_t)DATA_CHUNK);
			if (read_full(kfd, data_buf[1], len, (off_t)lo) < 0) {
				fail("%s: kernel read at %" PRIu64 " failed", n->path, lo);
				return -1;
			}
			if (!all_zero(data_buf[1], len)) {
				size_t at = 0;

				while (!data_buf[1][at])
					at++;
				fail("%s: %s: %s, but the kernel's file has data at %" PRIu64,
				     n->path, what, map_str(m), lo + at);
				return -1;
			}
		} else {
			uint64_t dev = m->addr + (lo - m->offset);

			if (read_full(o->image_fd, data_buf[0], len, (off_t)dev) < 0 ||
			    read_full(kfd, data_buf[1], len, (off_t)lo) < 0) {
				fail("%s: reading %zu bytes at %" PRIu64 " (image %" PRIu64 ") failed",
				     n->path, len, lo, dev);
				return -1;
			}
			if (memcmp(data_buf[0], data_buf[1], len)) {
				size_t at = first_diff(data_buf[0], data_buf[1], len);

				fail("%s: %s: %s: image byte at %" PRIu64 " differs from the kernel's "
				     "file at offset %" PRIu64, n->path, what, map_str(m), dev + at,
				     lo + at);
				return -1;
			}
		}
		lo += len;
	}
	return 0;
}

/* ---- a session: one server, one connection ---- */

static char *recv_buf;

/* Before any session: the buffers all share, and the kernel's mount of @o. */
void sess_init(const struct opts *o)
{
	kfile.o = o;
	recv_buf = malloc(RECV_BUF);
	data_buf[0] = malloc(DATA_CHUNK);
	data_buf[1] = malloc(DATA_CHUNK);
	if (!recv_buf || !data_buf[0] || !data_buf[1])
		abort();
}

static void sess_break(struct sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sess_break(struct sess *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!s->broken)
		fail("%s session: %s", s->name, msg);
	s->broken = true;
}

/* Put @fds at 3, 4, 6 in the child (as imgfs-mount does) and exec. */
static void exec_server(const struct sess *s, int sock)
{
	static char *const env[] = { NULL };
	char a_fuse[] = "--fuse-fd=3", a_img[] = "--image-fd=4", a_data[] = "--data-fd=6";
	char a_type[64], a_size[64], a_off[64], a_batch[64], a_id[] = "--test-iomap-backing-id=1";
	char *argv[16];
	int fds[3], argc = 0;
	int img = open(s->o->image, O_RDONLY | O_CLOEXEC);
	int data = open(s->o->image, O_RDONLY | O_CLOEXEC);

	if (img < 0 || data < 0)
		_exit(127);
	fds[0] = fcntl(sock, F_DUPFD_CLOEXEC, 10);
	fds[1] = fcntl(img, F_DUPFD_CLOEXEC, 10);
	fds[2] = fcntl(data, F_DUPFD_CLOEXEC, 10);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 || dup2(fds[0], 3) < 0 ||
	    dup2(fds[1], 4) < 0 || dup2(fds[2], 6) < 0)
		_exit(127);
	close(5);
	syscall(SYS_close_range, 7U, ~0U, 0);
	snprintf(a_type, sizeof(a_type), "--fstype=%s", s->o->fstype);
	snprintf(a_size, sizeof(a_size), "--size=%" PRIu64, s->o->size);
	snprintf(a_off, sizeof(a_off), "--offset=%" PRIu64, s->o->offset);
	snprintf(a_batch, sizeof(a_batch), "--iomap-upsert-batch=%d", s->batch);
	argv[argc++] = "imgfs-server";
	argv[argc++] = a_fuse;
	argv[argc++] = a_img;
	argv[argc++] = a_data;
	argv[argc++] = a_type;
	argv[argc++] = a_size;
	argv[argc++] = a_off;
	argv[argc++] = "--foreground";
	if (!s->o->refused)
		argv[argc++] = a_id;
	if (s->batch >= 0)
		argv[argc++] = a_batch;
	if (s->o->no_sandbox)
		argv[argc++] = "--no-sandbox";
	argv[argc] = NULL;
	signal(SIGPIPE, SIG_DFL);
	execve(s->o->server, argv, env);
	_exit(127);
}

static int sess_send(struct sess *s, uint32_t opcode, uint64_t nodeid, const void *in,
		     size_t inlen, uint64_t *unique)
{
	struct fuse_in_header h = {
		.len = (uint32_t)(sizeof(h) + inlen),
		.opcode = opcode,
		.unique = s->unique += 2,
		.nodeid = nodeid,
	};
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)in, inlen } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = inlen ? 2 : 1 };
	struct pollfd p = { .fd = s->fd, .events = POLLOUT };

	if (s->broken)
		return -EPIPE;
	*unique = h.unique;
	for (;;) {
		if (sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR) {
			sess_break(s, "sending opcode %u: %s", opcode, strerror(errno));
			return -EPIPE;
		}
		if (poll(&p, 1, REPLY_TIMEOUT_MS) == 0) {
			sess_break(s, "the server takes no request (opcode %u) for %d s", opcode,
				   REPLY_TIMEOUT_MS / 1000);
			return -ETIMEDOUT;
		}
	}
}

static void on_notify(struct sess *s, int32_t code, const char *p, size_t len);

/* One message from the server within the time limit; its length or -errno. */
static ssize_t sess_recv(struct sess *s, int timeout_ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	struct fuse_out_header *h = (void *)recv_buf;
	ssize_t n;

	if (s->broken)
		return -EPIPE;
	for (;;) {
		int r = poll(&p, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -ETIMEDOUT;
		n = recv(s->fd, recv_buf, RECV_BUF, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		break;
	}
	if (n < 0) {
		sess_break(s, "receiving: %s", strerror(errno));
		return -EPIPE;
	}
	if (n == 0) {
		sess_break(s, "the server closed its end (exited?)");
		return -EPIPE;
	}
	if ((size_t)n > RECV_BUF || (size_t)n < sizeof(*h) || h->len != (uint32_t)n) {
		sess_break(s, "a message of %zd bytes, header says %u", n,
			   (size_t)n >= sizeof(*h) ? h->len : 0);
		return -EPROTO;
	}
	return n;
}

/* Take every notification already waiting, without blocking. */
void sess_drain(struct sess *s)
{
	ssize_t n;

	while ((n = sess_recv(s, 0)) > 0) {
		struct fuse_out_header *h = (void *)recv_buf;

		if (h->unique != 0) {
			sess_break(s, "a reply to unique %" PRIu64 " nobody waits for", h->unique);
			return;
		}
		on_notify(s, h->error, recv_buf + sizeof(*h), (size_t)n - sizeof(*h));
	}
}


/*
 * Send a request and wait for its reply, handling the notifications that
 * come first.  0 with @r filled (r->error may be negative), or -errno if
 * the session broke (recorded as a failure).
 */
int sess_call(struct sess *s, uint32_t opcode, uint64_t nodeid, const void *in,
	      size_t inlen, struct reply *r)
{
	uint64_t unique;
	int ret = sess_send(s, opcode, nodeid, in, inlen, &unique);

	s->nups = 0;
	if (ret < 0)
		return ret;
	for (;;) {
		ssize_t n = sess_recv(s, REPLY_TIMEOUT_MS);
		struct fuse_out_header *h = (void *)recv_buf;

		if (n == -ETIMEDOUT) {
			sess_break(s, "no reply to opcode %u (node %" PRIu64 ") within %d s",
				   opcode, nodeid, REPLY_TIMEOUT_MS / 1000);
			return -ETIMEDOUT;
		}
		if (n < 0)
			return (int)n;
		if (h->unique == 0) {
			on_notify(s, h->error, recv_buf + sizeof(*h), (size_t)n - sizeof(*h));
			continue;
		}
		if (h->unique != unique) {
			sess_break(s, "a reply to unique %" PRIu64 " while waiting for %" PRIu64,
				   h->unique, unique);
			return -EPROTO;
		}
		r->error = h->error;
		r->data = recv_buf + sizeof(*h);
		r->len = (size_t)n - sizeof(*h);
		if (r->error > 0 || r->error < -4095 || (r->error && r->len)) {
			sess_break(s, "opcode %u: reply error %d with %zu bytes", opcode, r->error,
				   r->len);
			return -EPROTO;
		}
		return 0;
	}
}

/* The flags a 6.18 kernel sends in INIT (fs/fuse/inode.c), iomap apart. */
static uint64_t kernel_init_flags(void)
{
	return FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT |
	       FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_SPLICE_WRITE | FUSE_SPLICE_MOVE |
	       FUSE_SPLICE_READ | FUSE_FLOCK_LOCKS | FUSE_HAS_IOCTL_DIR | FUSE_AUTO_INVAL_DATA |
	       FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO |
	       FUSE_WRITEBACK_CACHE | FUSE_NO_OPEN_SUPPORT | FUSE_PARALLEL_DIROPS |
	       FUSE_HANDLE_KILLPRIV | FUSE_POSIX_ACL | FUSE_ABORT_ERROR | FUSE_MAX_PAGES |
	       FUSE_CACHE_SYMLINKS | FUSE_NO_OPENDIR_SUPPORT | FUSE_EXPLICIT_INVAL_DATA |
	       FUSE_HANDLE_KILLPRIV_V2 | FUSE_SETXATTR_EXT | FUSE_INIT_EXT | FUSE_SECURITY_CTX |
	       SIM_CREATE_SUPP_GROUP | SIM_HAS_EXPIRE_ONLY | SIM_DIRECT_IO_ALLOW_MMAP |
	       SIM_NO_EXPORT_SUPPORT | SIM_HAS_RESEND | SIM_ALLOW_IDMAP | SIM_REQUEST_TIMEOUT;
}

/* IOMAP_CONFIG, as the kernel sends it right after the INIT reply. */
static void sess_config(struct sess *s)
{
	struct fuse_iomap_config_in in = {
		.flags = ALL_CONFIG_FLAGS,
		.maxbytes = INT64_MAX,
		.cache_maxbytes = KERNEL_CACHE_MAXBYTES,
	};
	struct fuse_iomap_config_out *c = &s->cfg;
	struct reply r;

	s->fs_bs = s->o->blocksize;
	s->maxbytes = INT64_MAX;
	cur = F_CONFIG;
	if (sess_call(s, FUSE_IOMAP_CONFIG, 0, &in, sizeof(in), &r) < 0)
		return;
	checked();
	if (r.error) {
		fail("%s: IOMAP_CONFIG answered error %d", s->name, r.error);
		return;
	}
	if (r.len > sizeof(*c) || r.len < sizeof(c->flags)) {
		fail("%s: IOMAP_CONFIG reply of %zu bytes (the kernel takes 8..%zu)", s->name,
		     r.len, sizeof(*c));
		return;
	}
	memcpy(c, r.data, r.len);
	if (r.len != sizeof(*c))
		fail("%s: IOMAP_CONFIG reply of %zu bytes, v7's fuse_iomap_config_out is %zu",
		     s->name, r.len, sizeof(*c));
	if (c->flags & ~(uint64_t)ALL_CONFIG_FLAGS)
		fail("%s: CONFIG flags 0x%" PRIx64 " beyond the offered 0x%llx", s->name, c->flags,
		     (unsigned long long)ALL_CONFIG_FLAGS);
	if (c->s_pad[0] || c->s_pad[1] || c->s_pad[2])
		fail("%s: CONFIG s_pad not zero", s->name);
	if (c->s_uuid_len > sizeof(c->s_uuid))
		fail("%s: CONFIG s_uuid_len %u", s->name, c->s_uuid_len);
	if (!(c->flags & FUSE_IOMAP_CONFIG_BLOCKSIZE))
		fail("%s: CONFIG without BLOCKSIZE", s->name);
	else if (c->s_blocksize != s->o->blocksize)
		fail("%s: CONFIG block size %u, the filesystem's is %u", s->name, c->s_blocksize,
		     s->o->blocksize);
	else
		s->fs_bs = c->s_blocksize;
	if (!(c->flags & FUSE_IOMAP_CONFIG_UUID) || c->s_uuid_len != 16 ||
	    memcmp(c->s_uuid, s->o->uuid, 16))
		fail("%s: CONFIG UUID (flag %d, length %u) is not blkid's", s->name,
		     !!(c->flags & FUSE_IOMAP_CONFIG_UUID), c->s_uuid_len);
	if (!(c->flags & FUSE_IOMAP_CONFIG_MAXBYTES) || c->s_maxbytes <= 0)
		fail("%s: CONFIG maxbytes %" PRId64 " (flag %d)", s->name, c->s_maxbytes,
		     !!(c->flags & FUSE_IOMAP_CONFIG_MAXBYTES));
	else
		s->maxbytes = c->s_maxbytes;
	if ((c->flags & FUSE_IOMAP_CONFIG_SID) && !memchr(c->s_id, 0, sizeof(c->s_id)))
		fail("%s: CONFIG s_id not NUL-terminated", s->name);
	/* Set, the kernel clamps it to at most 2 MiB; unset, the field is unused. */
	if ((c->flags & FUSE_IOMAP_CONFIG_CACHE_MAXBYTES) ?
		    !c->cache_maxbytes || c->cache_maxbytes > KERNEL_CACHE_MAX_MAXBYTES :
		    c->cache_maxbytes != 0)
		fail("%s: CONFIG cache_maxbytes %u (flag %d)", s->name, c->cache_maxbytes,
		     !!(c->flags & FUSE_IOMAP_CONFIG_CACHE_MAXBYTES));
}

/*
 * Start a server and INIT it as a 7.@minor kernel.  @offer: set INIT bit
 * 43, which is FUSE_IOMAP at 7.99 only (at 7.46 it is
 * FUSE_HAS_IO_URING_BUFPOOL); @batch: its --iomap-upsert-batch, -1 for the
 * default.
 */
int sess_start_at(struct sess *s, const struct opts *o, const char *name, uint32_t minor,
		  bool offer, int batch)
{
	static unsigned serial;
	uint64_t flags = kernel_init_flags() | (offer ? FUSE_IOMAP : 0);
	bool v7 = minor == FUSE_IOMAP_KERNEL_MINOR_VERSION;
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = minor,
		.max_readahead = 131072,
		.flags = (uint32_t)flags,
		.flags2 = (uint32_t)(flags >> 32),
	};
	int sv[2], sndbuf = SERVER_SNDBUF;
	struct reply r;

	memset(s, 0, sizeof(*s));
	s->o = o;
	s->name = name;
	s->offer = offer;
	s->minor = minor;
	s->bit = 1U << (serial++ % 32);
	nodes_forget_bit(s->bit);
	s->batch = batch;
	s->fd = -1;
	s->pid = -1;
	s->check_store_data = true;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		sess_break(s, "socketpair: %s", strerror(errno));
		return -1;
	}
	/* /dev/fuse takes a 1 MiB reply at once; a socket needs room for it. */
	if (setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	fflush(NULL);
	s->pid = fork();
	if (s->pid == 0)
		exec_server(s, sv[1]);
	close(sv[1]);
	s->fd = sv[0];
	if (s->pid < 0) {
		sess_break(s, "fork: %s", strerror(errno));
		return -1;
	}
	cur = F_INIT;
	if (sess_call(s, FUSE_INIT, 0, &in, sizeof(in), &r) < 0)
		return -1;
	checked();
	if (r.error || r.len < sizeof(struct fuse_init_out) || r.len > sizeof(s->init)) {
		fail("%s: INIT answered error %d, %zu bytes", name, r.error, r.len);
		s->broken = true;
		return -1;
	}
	memcpy(s->init, r.data, r.len);
	s->init_len = r.len;
	memcpy(&s->init_out, r.data, sizeof(s->init_out));
	s->iomap = s->init_out.flags2 & (FUSE_IOMAP >> 32);
	if (!(s->init_out.flags & FUSE_INIT_EXT))
		fail("%s: INIT reply without FUSE_INIT_EXT", name);
	if (offer && v7 && !s->iomap)
		fail("%s: FUSE_IOMAP offered, not granted (flags2 0x%x)", name,
		     s->init_out.flags2);
	if (!offer && s->iomap)
		fail("%s: FUSE_IOMAP granted though not offered", name);
	if (offer && !v7 && s->iomap)
		fail("%s: INIT bit 43 of a 7.%u kernel (not fuse-iomap) sent back", name, minor);
	checked();
	if (s->init_out.major != FUSE_KERNEL_VERSION || s->init_out.minor > minor)
		fail("%s: INIT reply %u.%u, above the kernel's 7.%u", name, s->init_out.major,
		     s->init_out.minor, minor);
	checked();
	if (s->iomap && s->init_out.minor != FUSE_IOMAP_KERNEL_MINOR_VERSION)
		fail("%s: FUSE_IOMAP granted in a 7.%u reply: below 7.99 the kernel ignores "
		     "FUSE_ATTR_EXCLUSIVE, and v7 FUSE_ATTR_IOMAP without it", name,
		     s->init_out.minor);
	s->window = s->init_out.flags & FUSE_MAX_PAGES && s->init_out.max_pages ?
			    s->init_out.max_pages * 4096U : 131072U;
	if (s->iomap)
		sess_config(s);
	return 0;
}

int sess_start(struct sess *s, const struct opts *o, const char *name, bool offer,
	       int batch)
{
	return sess_start_at(s, o, name, FUSE_IOMAP_KERNEL_MINOR_VERSION, offer, batch);
}

/* Close our end: the server must exit by itself, not killed by a signal. */
void sess_stop(struct sess *s)
{
	enum family saved = cur;
	int status = 0;
	pid_t r = 0;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->pid <= 0)
		return;
	cur = F_ALIVE;
	checked();
	for (int i = 0; i < REPLY_TIMEOUT_MS / 10 && (r = waitpid(s->pid, &status, WNOHANG)) == 0; i++)
		usleep(10000);
	if (r == 0) {
		fail("%s: the server did not exit within %d s of EOF on its socket", s->name,
		     REPLY_TIMEOUT_MS / 1000);
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
	} else if (WIFSIGNALED(status)) {
		fail("%s: the server was killed by signal %d%s", s->name, WTERMSIG(status),
		     WTERMSIG(status) == SIGSYS ? " (its seccomp filter)" : "");
	} else if (WEXITSTATUS(status) != 0) {
		/* The sandbox's supervisor exits 128 + N when the server died of signal N. */
		fail("%s: the server exited with status %d%s", s->name, WEXITSTATUS(status),
		     WEXITSTATUS(status) == 128 + SIGSYS ? " (killed by its seccomp filter)" : "");
	}
	s->pid = -1;
	free(s->ups);
	s->ups = NULL;
	cur = saved;
}

/*
 * The kernel going away with replies unread, as an aborted connection
 * does: send @requests GETATTRs, close without reading and expect a clean
 * exit.  The server's reads then fail with ECONNRESET and its writes with
 * EPIPE, which libfuse reports with perror().
 */
void sess_leave(struct sess *s, unsigned requests)
{
	struct fuse_getattr_in in = { 0 };
	uint64_t unique;

	for (unsigned i = 0; i < requests && !s->broken; i++)
		if (sess_send(s, FUSE_GETATTR, FUSE_ROOT_ID, &in, sizeof(in), &unique) < 0)
			break;
	sess_stop(s);
}

/* The server is still there and still answers (GETATTR of the root). */
void sess_alive(struct sess *s)
{
	struct fuse_getattr_in in = { 0 };
	enum family saved = cur;
	struct reply r;

	cur = F_ALIVE;
	checked();
	if (s->pid > 0 && waitpid(s->pid, NULL, WNOHANG) != 0)
		fail("%s: the server has exited", s->name);
	else if (sess_call(s, FUSE_GETATTR, FUSE_ROOT_ID, &in, sizeof(in), &r) == 0 &&
		 (r.error || r.len < sizeof(struct fuse_attr_out)))
		fail("%s: GETATTR of the root answered %d", s->name, r.error);
	cur = saved;
}

/* ---- mapping validation, as the kernel's fuse-iomap does it ---- */

uint32_t node_bs(const struct sess *s, const struct node *n)
{
	return n->blksize ? n->blksize : s->fs_bs;
}

/*
 * A read mapping from a BEGIN reply (@pos: the position asked for) or an
 * upsert (@pos UINT64_MAX).  0 if the kernel takes it, else -1 with @why.
 */
static int check_map(const struct sess *s, const struct node *n, const struct fuse_iomap_io *m,
		     uint64_t pos, char *why, size_t size)
{
	uint32_t bs = node_bs(s, n);

	switch (m->type) {
	case FUSE_IOMAP_TYPE_HOLE:
	case FUSE_IOMAP_TYPE_DELALLOC:
	case FUSE_IOMAP_TYPE_INLINE:
		if (m->dev != FUSE_IOMAP_DEV_NULL || m->addr != FUSE_IOMAP_NULL_ADDR) {
			snprintf(why, size, "%s has a device or an address", type_name(m->type));
			return -1;
		}
		break;
	case FUSE_IOMAP_TYPE_MAPPED:
	case FUSE_IOMAP_TYPE_UNWRITTEN:
		if (m->dev != 1) {
			snprintf(why, size, "dev %u, the backing id is 1", m->dev);
			return -1;
		}
		if (m->addr == FUSE_IOMAP_NULL_ADDR || overflows(m->addr, m->length) ||
		    m->addr + m->length > s->o->image_size) {
			snprintf(why, size, "device range outside the device (%" PRIu64 " bytes)",
				 s->o->image_size);
			return -1;
		}
		break;
	default:
		snprintf(why, size, "type %s not allowed here", type_name(m->type));
		return -1;
	}
	if (m->flags & ~(uint32_t)(FUSE_IOMAP_F_NEW | FUSE_IOMAP_F_DIRTY | FUSE_IOMAP_F_SHARED |
				   FUSE_IOMAP_F_MERGED | FUSE_IOMAP_F_BOUNDARY |
				   FUSE_IOMAP_F_ANON_WRITE | FUSE_IOMAP_F_ATOMIC_BIO |
				   FUSE_IOMAP_F_WANT_IOMAP_END)) {
		snprintf(why, size, "unknown flags");
		return -1;
	}
	if (!m->length || m->offset % bs || m->length % bs) {
		snprintf(why, size, "empty or not aligned to the block size %u", bs);
		return -1;
	}
	if (overflows(m->offset, m->length) || m->offset >= (uint64_t)s->maxbytes) {
		snprintf(why, size, "past maxbytes or overflowing");
		return -1;
	}
	if (pos != UINT64_MAX && !map_has(m, pos)) {
		snprintf(why, size, "does not contain the position %" PRIu64, pos);
		return -1;
	}
	return 0;
}

/* The write mapping of a BEGIN reply on a read-only filesystem. */
static int check_write_map(const struct fuse_iomap_io *w, const struct fuse_iomap_io *rd,
			   char *why, size_t size)
{
	if (w->type != FUSE_IOMAP_TYPE_PURE_OVERWRITE || w->offset != rd->offset ||
	    w->length != rd->length || w->addr != FUSE_IOMAP_NULL_ADDR || w->dev) {
		snprintf(why, size, "write mapping %s is not PURE_OVERWRITE of the read mapping",
			 map_str(w));
		return -1;
	}
	return 0;
}

/* Upserts: validated as the kernel does, then cached. */
static void on_upsert(struct sess *s, const char *p, size_t len)
{
	const struct fuse_iomap_upsert_mappings_out *u = (const void *)p;
	enum family saved = cur;
	struct node *n;
	char why[256];

	cur = F_UPSERT;
	checked();
	if (len != sizeof(*u)) {
		fail("%s: upsert notification of %zu bytes, not %zu", s->name, len, sizeof(*u));
		goto out;
	}
	if (s->nups == s->capups) {
		s->capups = s->capups ? 2 * s->capups : 64;
		s->ups = realloc(s->ups, s->capups * sizeof(*s->ups));
		if (!s->ups)
			abort();
	}
	s->ups[s->nups++] = *u;
	if (!s->iomap || s->batch == 0) {
		fail("%s: an upsert in a session %s", s->name,
		     s->iomap ? "with upserts off" : "without iomap");
		goto out;
	}
	n = node_find(u->nodeid);
	if (!n || !n->known) {
		fail("%s: upsert for node %" PRIu64 " never looked up", s->name, u->nodeid);
		goto out;
	}
	/* A v7 kernel took an upsert for any other inode as an iomap one, and oopsed. */
	if (!(n->kiomap & s->bit)) {
		fail("%s: upsert for %s, which this session's kernel holds as no iomap inode "
		     "(no reply gave it FUSE_ATTR_IOMAP with FUSE_ATTR_EXCLUSIVE at 7.99)",
		     s->name, n->path);
		goto out;
	}
	if (u->attr_ino != n->attr_ino || !n->want_iomap) {
		fail("%s: upsert for %s: attr_ino %" PRIu64 " (LOOKUP said %" PRIu64 "), iomap %d",
		     s->name, n->path, u->attr_ino, n->attr_ino, n->want_iomap);
		goto out;
	}
	if (check_map(s, n, &u->read, UINT64_MAX, why, sizeof(why)) < 0) {
		fail("%s: upsert for %s: read mapping %s: %s", s->name, n->path,
		     map_str(&u->read), why);
		goto out;
	}
	if (u->write.type != FUSE_IOMAP_TYPE_NOCACHE) {
		fail("%s: upsert for %s: write mapping %s, not NOCACHE", s->name, n->path,
		     map_str(&u->write));
		goto out;
	}
	if (check_data(s->o, n, &u->read, 0, UINT64_MAX, "upserted mapping") == 0)
		cache_upsert(&n->cache, &u->read);
out:
	cur = saved;
}

static void on_store(struct sess *s, const char *p, size_t len)
{
	const struct fuse_notify_store_out *st = (const void *)p;
	enum family saved = cur;
	struct node *n;
	int kfd;

	cur = F_READ;
	checked();
	s->stores++;
	if (len < sizeof(*st) || len - sizeof(*st) != st->size) {
		fail("%s: NOTIFY_STORE of %zu bytes", s->name, len);
		goto out;
	}
	n = node_find(st->nodeid);
	if (!n || !n->known || !S_ISREG(n->mode)) {
		fail("%s: NOTIFY_STORE for node %" PRIu64 ", no regular file looked up", s->name,
		     st->nodeid);
		goto out;
	}
	if (overflows(st->offset, st->size) || st->offset + st->size > n->isize) {
		fail("%s: NOTIFY_STORE for %s past EOF: %" PRIu64 "+%u > %" PRIu64, s->name,
		     n->path, st->offset, st->size, n->isize);
		goto out;
	}
	ranges_add(&n->stored, st->offset, st->size);
	if (!s->check_store_data)
		goto out;
	kfd = kernel_fd(n);
	for (uint64_t done = 0; kfd >= 0 && done < st->size;) {
		size_t chunk = (size_t)MIN((uint64_t)DATA_CHUNK, st->size - done);

		if (read_full(kfd, data_buf[1], chunk, (off_t)(st->offset + done)) < 0 ||
		    memcmp(data_buf[1], p + sizeof(*st) + done, chunk)) {
			fail("%s: NOTIFY_STORE for %s at %" PRIu64 "+%u: data differs from the "
			     "kernel's", s->name, n->path, st->offset, st->size);
			break;
		}
		done += chunk;
	}
out:
	cur = saved;
}

static void on_notify(struct sess *s, int32_t code, const char *p, size_t len)
{
	if (code == FUSE_NOTIFY_IOMAP_UPSERT_MAPPINGS)
		on_upsert(s, p, len);
	else if (code == FUSE_NOTIFY_STORE)
		on_store(s, p, len);
	else
		fail("%s: unexpected notification %d (%zu bytes)", s->name, code, len);
}

/* ---- requests as the kernel sends them ---- */

const char *sess_label(const struct sess *s)
{
	return s->name;
}

/* Take a fuse_attr in: what the kernel would believe about the node. */
void learn_attr(struct sess *s, struct node *n, const struct fuse_attr *a, const char *via)
{
	bool has = a->flags & FUSE_ATTR_IOMAP;
	bool excl = a->flags & FUSE_ATTR_EXCLUSIVE;

	checked();
	if (n->known && (n->attr_ino != a->ino || n->mode != a->mode))
		fail("%s: %s: %s gives ino %" PRIu64 " mode 0%o, before %" PRIu64 " 0%o",
		     sess_label(s), n->path, via, a->ino, a->mode, n->attr_ino, n->mode);
	n->attr_ino = a->ino;
	n->mode = a->mode;
	n->isize = a->size;
	n->blksize = a->blksize;
	n->known = true;
	if (has != (s->iomap && n->want_iomap))
		fail("%s: %s: %s attr.flags 0x%x: FUSE_ATTR_IOMAP %s (mode 0%o, size %" PRIu64
		     ", %s)", sess_label(s), n->path, via, a->flags, has ? "set" : "missing", a->mode,
		     (uint64_t)a->size,
		     !S_ISREG(a->mode) ? "not a regular file" :
		     n->want_iomap ? "data on the device" : "inline data");
	/* v7 skips iomap on an inode without EXCLUSIVE; EXCLUSIVE comes only with it here. */
	if (has != excl)
		fail("%s: %s: %s attr.flags 0x%x: FUSE_ATTR_IOMAP and FUSE_ATTR_EXCLUSIVE not "
		     "together", sess_label(s), n->path, via, a->flags);
	/* What a v7 kernel makes of it (fuse_iomap_init_inode). */
	if (has && excl && S_ISREG(a->mode) && s->iomap && s->init_out.minor >= 99)
		n->kiomap |= s->bit;
	if (has && a->blksize != s->o->blocksize)
		fail("%s: %s: %s attr.blksize %u, the block size is %u", sess_label(s), n->path,
		     via, a->blksize, s->o->blocksize);
}

/* What the kernel's mount says @n should be: type, size, inline or not. */
int learn_truth(struct node *n, const struct opts *o)
{
	struct stat st;

	if (fstatat(o->kdir_fd, *n->path ? n->path : ".", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	n->want_iomap = false;
	if (S_ISREG(st.st_mode)) {
		unsigned int flags = 0;
		int fd = kernel_fd(n);

		if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
			return -errno;
		n->want_iomap = !(flags & FS_INLINE_DATA_FL);
	}
	if (n->known && (uint64_t)st.st_size != n->isize && S_ISREG(st.st_mode))
		fail("%s: size %" PRIu64 ", the kernel's is %lld", n->path, n->isize,
		     (long long)st.st_size);
	return 0;
}

int do_lookup(struct sess *s, uint64_t parent, const char *name, const char *path,
	      struct node **out)
{
	struct fuse_entry_out e;
	struct reply r;
	struct node *n;

	if (sess_call(s, FUSE_LOOKUP, parent, name, strlen(name) + 1, &r) < 0)
		return -EPIPE;
	if (r.error || r.len < sizeof(e)) {
		fail("%s: LOOKUP %s: error %d, %zu bytes", sess_label(s), path, r.error, r.len);
		return -ENOENT;
	}
	memcpy(&e, r.data, sizeof(e));
	if (!e.nodeid) {
		fail("%s: LOOKUP %s: a negative entry", sess_label(s), path);
		return -ENOENT;
	}
	n = node_get(e.nodeid, path);
	if (strcmp(n->path, path) && !n->known)
		fail("%s: LOOKUP %s: node %" PRIu64 " is already %s", sess_label(s), path,
		     e.nodeid, n->path);
	*out = n;
	if (learn_truth(n, s->o) < 0)
		fail("%s: %s: the kernel's mount cannot say what it is", sess_label(s), path);
	learn_attr(s, n, &e.attr, "LOOKUP");
	return 0;
}

void do_getattr(struct sess *s, struct node *n)
{
	struct fuse_getattr_in in = { 0 };
	struct fuse_attr_out a;
	struct reply r;

	if (sess_call(s, FUSE_GETATTR, n->nodeid, &in, sizeof(in), &r) < 0)
		return;
	if (r.error || r.len < sizeof(a)) {
		fail("%s: GETATTR %s: error %d", sess_label(s), n->path, r.error);
		return;
	}
	memcpy(&a, r.data, sizeof(a));
	learn_attr(s, n, &a.attr, "GETATTR");
}

/*
 * One IOMAP_BEGIN; *@map gets the read mapping the kernel would use, from
 * the reply or, after RETRY_CACHE, from its cache.  0, or -1 after a
 * failure was recorded.
 */
int do_begin(struct sess *s, struct node *n, uint32_t opflags, uint64_t pos,
	     uint64_t count, struct fuse_iomap_io *map, bool *retried)
{
	struct fuse_iomap_begin_in in = {
		.opflags = opflags, .attr_ino = n->attr_ino, .pos = pos, .count = count,
	};
	struct fuse_iomap_begin_out out;
	const struct fuse_iomap_io *c;
	char why[256];
	struct reply r;

	if (retried)
		*retried = false;
	checked();
	if (sess_call(s, FUSE_IOMAP_BEGIN, n->nodeid, &in, sizeof(in), &r) < 0)
		return -1;
	if (r.error || r.len != sizeof(out)) {
		fail("%s: BEGIN %s pos %" PRIu64 " count %" PRIu64 " opflags 0x%x: error %d, "
		     "%zu bytes", sess_label(s), n->path, pos, count, opflags, r.error, r.len);
		return -1;
	}
	memcpy(&out, r.data, sizeof(out));
	if (out.read.type == FUSE_IOMAP_TYPE_RETRY_CACHE) {
		enum family saved = cur;

		cur = F_UPSERT;
		checked();
		if (retried)
			*retried = true;
		if (s->batch == 0 || !s->nups || !map_has(&s->ups[0].read, pos) ||
		    (s->batch > 0 && s->nups > (size_t)s->batch) ||
		    (s->batch < 0 && s->nups > DEFAULT_BATCH)) {
			fail("%s: BEGIN %s pos %" PRIu64 ": RETRY_CACHE after %zu upserts (batch %d)"
			     ", the first %s", sess_label(s), n->path, pos, s->nups, s->batch,
			     s->nups ? map_str(&s->ups[0].read) : "-");
			cur = saved;
			return -1;
		}
		c = cache_find(&n->cache, pos);
		if (!c) {
			fail("%s: BEGIN %s pos %" PRIu64 ": RETRY_CACHE, but the cache has no "
			     "mapping there", sess_label(s), n->path, pos);
			cur = saved;
			return -1;
		}
		cur = saved;
		*map = *c;
		return 0;
	}
	if (check_map(s, n, &out.read, pos, why, sizeof(why)) < 0 ||
	    check_write_map(&out.write, &out.read, why, sizeof(why)) < 0) {
		fail("%s: BEGIN %s pos %" PRIu64 " count %" PRIu64 " opflags 0x%x: read %s: %s",
		     sess_label(s), n->path, pos, count, opflags, map_str(&out.read), why);
		return -1;
	}
	*map = out.read;
	return 0;
}

/*
 * The kernel has many requests in flight at once (readahead of several
 * files, lookups besides), and the server answers them on several
 * threads: send every BEGIN and GETATTR before reading any reply, then
 * match the replies, in whatever order they come, by unique.  On a
 * session without uploads, so every BEGIN is answered with a mapping.
 */
void pipelined_begins(struct sess *s, struct node *n, const uint64_t *pos, unsigned count)
{
	struct fuse_getattr_in gin = { 0 };
	uint64_t uniques[2 * 64];
	bool answered[2 * 64] = { false };
	unsigned sent = 0;
	char why[256];

	cur = F_PIPELINE;
	count = MIN(count, 64U);
	for (unsigned i = 0; i < count; i++) {
		struct fuse_iomap_begin_in in = {
			.attr_ino = n->attr_ino, .pos = pos[i], .count = 1 << 20,
		};

		if (sess_send(s, FUSE_IOMAP_BEGIN, n->nodeid, &in, sizeof(in), &uniques[sent]) < 0)
			return;
		sent++;
		if (sess_send(s, FUSE_GETATTR, n->nodeid, &gin, sizeof(gin), &uniques[sent]) < 0)
			return;
		sent++;
	}
	for (unsigned got = 0; got < sent;) {
		ssize_t len = sess_recv(s, REPLY_TIMEOUT_MS);
		const struct fuse_out_header *h = (void *)recv_buf;
		const char *data = recv_buf + sizeof(*h);
		unsigned i;

		if (len == -ETIMEDOUT)
			sess_break(s, "%u of %u pipelined replies within %d s", got, sent,
				   REPLY_TIMEOUT_MS / 1000);
		if (len < 0)
			return;
		if (h->unique == 0) {
			on_notify(s, h->error, data, (size_t)len - sizeof(*h));
			continue;
		}
		got++;
		for (i = 0; i < sent && (uniques[i] != h->unique || answered[i]); i++)
			;
		checked();
		if (i == sent) {
			sess_break(s, "a reply to unique %" PRIu64 ", not one in flight", h->unique);
			return;
		}
		answered[i] = true;
		len -= (ssize_t)sizeof(*h);
		if (i % 2) {	/* GETATTR */
			const struct fuse_attr_out *a = (const void *)data;

			if (h->error || len < (ssize_t)sizeof(*a) || a->attr.ino != n->attr_ino)
				fail("%s: pipelined GETATTR %s: error %d, %zd bytes", sess_label(s),
				     n->path, h->error, len);
		} else {
			struct fuse_iomap_begin_out out;

			if (h->error || len != (ssize_t)sizeof(out)) {
				fail("%s: pipelined BEGIN %s pos %" PRIu64 ": error %d, %zd bytes",
				     sess_label(s), n->path, pos[i / 2], h->error, len);
				continue;
			}
			memcpy(&out, data, sizeof(out));
			if (check_map(s, n, &out.read, pos[i / 2], why, sizeof(why)) < 0 ||
			    check_write_map(&out.write, &out.read, why, sizeof(why)) < 0)
				fail("%s: pipelined BEGIN %s pos %" PRIu64 ": read %s: %s",
				     sess_label(s), n->path, pos[i / 2], map_str(&out.read), why);
			else
				check_data(s->o, n, &out.read, pos[i / 2], n->isize, "pipelined BEGIN");
		}
	}
}
