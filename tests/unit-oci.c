/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the OCI hook's parsers: io.imgfs.mount.* annotations,
 * /etc/imgfs/oci-hook.conf, the OCI state and config.json; and for how
 * it finds a target inside a container root.  Expectations
 * are literal values taken from the annotation format (DESIGN.md, issue 4)
 * and the OCI runtime spec, not from the code under test.
 */
#include "config.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "annotation.h"
#include "container.h"
#include "hookconf.h"
#include "ocistate.h"
#include "tap.h"
#include "testutil.h"

/* A test name must stay on one TAP line. */
static char *oneline(const char *s)
{
	char *o = xasprintf("%s", s);

	for (char *p = o; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return o;
}

static bool streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* An error result: code and the whole message, or only its start for "prefix*". */
static void expect_err(int r, const struct imgfs_error *e, int code, const char *msg,
		       const char *what)
{
	size_t len = strlen(msg);
	bool prefix = len && msg[len - 1] == '*';
	bool msg_ok = prefix ? !strncmp(e->msg, msg, len - 1) : !strcmp(e->msg, msg);

	if (!ok(r == -code && msg_ok, "%s: error %d", what, code))
		diag("  got %d \"%s\", want %d \"%s\"", r, r < 0 ? e->msg : "", -code, msg);
}

/*
 * JSON fixtures are written with ' for " so that they read like the
 * documents runtimes write; none of them needs a literal '.
 */
static char *json(const char *s)
{
	char *j = strdup(s);

	if (!j)
		abort();
	for (char *p = j; *p; p++)
		if (*p == '\'')
			*p = '"';
	return j;
}

/* ---- annotations ---- */

static void test_key_is_ours(void)
{
	static const struct {
		const char *key;
		bool ours;
	} cases[] = {
		{ "io.imgfs.mount.data", true },
		{ "io.imgfs.mount.", true },	/* ours, and then refused as nameless */
		{ "io.imgfs.mount.a/b", true },
		{ "io.imgfs.mountdata", false },
		{ "io.imgfs.other", false },
		{ "IO.IMGFS.MOUNT.data", false },
		{ "org.opencontainers.image.ref.name", false },
		{ "", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(oci_mount_key_is_ours(cases[i].key), cases[i].ours,
		       "oci_mount_key_is_ours(\"%s\")", cases[i].key);
}

static void test_mount_valid(void)
{
	static const struct {
		const char *key, *value;
		const char *name, *source, *target, *fstype;
		bool has_offset;
		uint64_t offset;
		unsigned partition;
	} cases[] = {
		{ "io.imgfs.mount.data", "source=/srv/img/a.ext4,target=/data",
		  "data", "/srv/img/a.ext4", "/data", NULL, false, 0, 0 },
		{ "io.imgfs.mount.data", "target=//mnt///images/./x/,source=/a,ro,type=ext4,offset=1M",
		  "data", "/a", "/mnt/images/x", "ext4", true, 1048576, 0 },
		{ "io.imgfs.mount.disk", "source=/a,target=/b,partition=2,type=auto",
		  "disk", "/a", "/b", "auto", false, 0, 2 },
		{ "io.imgfs.mount.xfs", "source=/srv/x.img,target=/x,type=xfs",
		  "xfs", "/srv/x.img", "/x", "xfs", false, 0, 0 },
		{ "io.imgfs.mount.x", "source=/a,target=/b,offset=0x100000",
		  "x", "/a", "/b", NULL, true, 1048576, 0 },
		{ "io.imgfs.mount.x", "source=/a,target=/b,offset=0",
		  "x", "/a", "/b", NULL, true, 0, 0 },
		{ "io.imgfs.mount.My_disk-1.v2", "ro,source=/a,target=/b",
		  "My_disk-1.v2", "/a", "/b", NULL, false, 0, 0 },
		/* Names that only start with dots are names, not "..". */
		{ "io.imgfs.mount.x", "source=/a,target=/b/..c/.../.d",
		  "x", "/a", "/b/..c/.../.d", NULL, false, 0, 0 },
		/* The source is resolved (realpath) later, then checked by the hook. */
		{ "io.imgfs.mount.x", "source=/srv/../etc/x.img,target=/b",
		  "x", "/srv/../etc/x.img", "/b", NULL, false, 0, 0 },
		/* '=' inside a value belongs to the value. */
		{ "io.imgfs.mount.x", "source=/srv/a=b.img,target=/c=d",
		  "x", "/srv/a=b.img", "/c=d", NULL, false, 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct imgfs_error err = { 0 };
		struct oci_mount m;
		int r = oci_mount_parse(cases[i].key, cases[i].value, &m, &err);

		if (!ok(r == 0 && streq(m.key, cases[i].key) && streq(m.name, cases[i].name) &&
			streq(m.source, cases[i].source) && streq(m.target, cases[i].target) &&
			!m.writable && streq(m.img.fstype, cases[i].fstype) &&
			m.img.has_offset == cases[i].has_offset &&
			m.img.offset == cases[i].offset && m.img.partition == cases[i].partition &&
			!m.img.writable,
			"%s=%s parses", cases[i].key, cases[i].value))
			diag("  r=%d err=\"%s\" source=%s target=%s", r, err.msg,
			     m.source ? m.source : "(null)", m.target ? m.target : "(null)");
		oci_mount_free(&m);
	}
}

static void test_mount_errors(void)
{
#define K "io.imgfs.mount.data"
	static const struct {
		const char *key, *value;
		int code;
		const char *msg;
	} cases[] = {
		/* the key */
		{ "org.example.data", "source=/a,target=/b", EINVAL,
		  "org.example.data: not an io.imgfs.mount.<name> annotation" },
		{ "io.imgfs.mount.", "source=/a,target=/b", EINVAL,
		  "io.imgfs.mount.: empty mount name after \"io.imgfs.mount.\"" },
		{ "io.imgfs.mount.a/b", "source=/a,target=/b", EINVAL,
		  "io.imgfs.mount.a/b: the mount name may only hold letters, digits, '_', '.' and '-'" },
		{ "io.imgfs.mount.a b", "source=/a,target=/b", EINVAL,
		  "io.imgfs.mount.a b: the mount name may only hold letters, digits, '_', '.' and '-'" },
		/* the items */
		{ K, "", EINVAL, K ": empty value; expected source=...,target=..." },
		{ K, "source=/a,target=/b,color=red", EINVAL, K ": unknown key \"color\"" },
		{ K, "source=/a,target=/b,bogus", EINVAL, K ": unknown key \"bogus\"" },
		{ K, "source=/a,target=/b,RO", EINVAL, K ": unknown key \"RO\"" },
		{ K, "source=/a, target=/b", EINVAL, K ": unknown key \" target\"" },
		{ K, "source=/a,,target=/b", EINVAL,
		  K ": empty item (two commas in a row, or a comma at either end)" },
		{ K, ",source=/a,target=/b", EINVAL,
		  K ": empty item (two commas in a row, or a comma at either end)" },
		{ K, "source=/a,target=/b,", EINVAL,
		  K ": empty item (two commas in a row, or a comma at either end)" },
		{ K, "source,target=/b", EINVAL, K ": \"source\" needs a value (source=...)" },
		{ K, "source=/a,target", EINVAL, K ": \"target\" needs a value (target=...)" },
		{ K, "source=/a,target=/b,type", EINVAL, K ": \"type\" needs a value (type=...)" },
		{ K, "source=/a,target=/b,offset", EINVAL, K ": \"offset\" needs a value (offset=...)" },
		{ K, "source=/a,target=/b,partition", EINVAL,
		  K ": \"partition\" needs a value (partition=...)" },
		{ K, "source=/a,target=/b,ro=yes", EINVAL, K ": \"ro\" takes no value" },
		{ K, "source=/a,target=/b,rw=", EINVAL, K ": \"rw\" takes no value" },
		{ K, "source=,target=/b", EINVAL, K ": source= has an empty value" },
		{ K, "source=/a,target=", EINVAL, K ": target= has an empty value" },
		{ K, "source=/a,target=/b,type=", EINVAL, K ": type= has an empty value" },
		{ K, "source=/a,source=/c,target=/b", EINVAL, K ": duplicate key \"source\"" },
		{ K, "source=/a,target=/b,target=/c", EINVAL, K ": duplicate key \"target\"" },
		{ K, "source=/a,target=/b,ro,ro", EINVAL, K ": duplicate key \"ro\"" },
		{ K, "source=/a,target=/b,type=ext4,type=auto", EINVAL, K ": duplicate key \"type\"" },
		{ K, "source=/a,target=/b,offset=1,offset=2", EINVAL, K ": duplicate key \"offset\"" },
		{ K, "source=/a,target=/b,ro,rw", EINVAL, K ": \"ro\" and \"rw\" exclude each other" },
		{ K, "source=/a,target=/b,rw,ro", EINVAL, K ": \"ro\" and \"rw\" exclude each other" },
		/* the first error is the one reported */
		{ K, "source=/a,color=red,target=", EINVAL, K ": unknown key \"color\"" },
		/* source */
		{ K, "source=a.img,target=/b", EINVAL, K ": source=a.img: not an absolute path" },
		{ K, "source=./a.img,target=/b", EINVAL, K ": source=./a.img: not an absolute path" },
		{ K, "target=/b", EINVAL, K ": missing source=<path of the image on the host>" },
		{ K, "ro", EINVAL, K ": missing source=<path of the image on the host>" },
		/* target */
		{ K, "source=/a", EINVAL, K ": missing target=<path in the container>" },
		{ K, "source=/a,target=b", EINVAL, K ": target=b: not an absolute path" },
		{ K, "source=/a,target=/../etc", EINVAL,
		  K ": target=/../etc: \"..\" would leave the container root" },
		{ K, "source=/a,target=/data/../../etc", EINVAL,
		  K ": target=/data/../../etc: \"..\" would leave the container root" },
		{ K, "source=/a,target=/data/..", EINVAL,
		  K ": target=/data/..: \"..\" would leave the container root" },
		{ K, "source=/a,target=/data/x/../y", EINVAL,
		  K ": target=/data/x/../y: \"..\" would leave the container root" },
		{ K, "source=/a,target=/", EINVAL, K ": target=/: cannot mount over the container root" },
		{ K, "source=/a,target=//./", EINVAL,
		  K ": target=//./: cannot mount over the container root" },
		/* type */
		{ K, "source=/a,target=/b,type=btrfs", EINVAL,
		  K ": type=btrfs: unknown filesystem type (auto, ext4, xfs)" },
		{ K, "source=/a,target=/b,type=ext3", EINVAL,
		  K ": type=ext3: unknown filesystem type (auto, ext4, xfs)" },
		{ K, "source=/a,target=/b,type=EXT4", EINVAL,
		  K ": type=EXT4: unknown filesystem type (auto, ext4, xfs)" },
		/* offset and partition */
		{ K, "source=/a,target=/b,offset=abc", EINVAL, K ": offset=abc: not a byte count" },
		{ K, "source=/a,target=/b,offset=-1", EINVAL, K ": offset=-1: not a byte count" },
		{ K, "source=/a,target=/b,offset=1x", EINVAL, K ": offset=1x: not a byte count" },
		{ K, "source=/a,target=/b,partition=0", EINVAL,
		  K ": partition=0: not a partition number (1, 2, ...)" },
		{ K, "source=/a,target=/b,partition=one", EINVAL,
		  K ": partition=one: not a partition number (1, 2, ...)" },
		{ K, "source=/a,target=/b,partition=5000", EINVAL,
		  K ": partition=5000: not a partition number (1, 2, ...)" },
		{ K, "source=/a,target=/b,offset=1M,partition=1", EINVAL,
		  K ": offset= and partition= exclude each other" },
		{ K, "source=/a,target=/b,partition=1,offset=0", EINVAL,
		  K ": offset= and partition= exclude each other" },
		/* a malformed annotation is refused whatever its mode */
		{ K, "target=/b,rw", EINVAL, K ": missing source=<path of the image on the host>" },
		{ K, "source=/a,rw", EINVAL, K ": missing target=<path in the container>" },
	};
#undef K

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct imgfs_error err = { 0 };
		struct oci_mount m;
		_cleanup_free_ char *what = xasprintf("%s=%s", cases[i].key, cases[i].value);

		expect_err(oci_mount_parse(cases[i].key, cases[i].value, &m, &err), &err,
			   cases[i].code, cases[i].msg, what);
		oci_mount_free(&m);
	}
}

/*
 * ro and rw: read-only unless rw is given, and rw opens the image
 * read-write too.  Whether the image can be served so (XFS cannot) is
 * found when it is opened, not here.
 */
static void test_mount_mode(void)
{
	static const struct {
		const char *value;
		bool writable;
		const char *fstype;
	} cases[] = {
		{ "source=/a,target=/b", false, NULL },
		{ "source=/a,target=/b,ro", false, NULL },
		{ "ro,source=/a,target=/b", false, NULL },
		{ "source=/a,target=/b,rw", true, NULL },
		{ "rw,source=/a,target=/b,type=ext4", true, "ext4" },
		{ "source=/a,target=/b,rw,partition=2", true, NULL },
		{ "source=/a,target=/b,rw,type=xfs", true, "xfs" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct imgfs_error err = { 0 };
		struct oci_mount m;
		int r = oci_mount_parse("io.imgfs.mount.m", cases[i].value, &m, &err);

		if (!ok(r == 0 && m.writable == cases[i].writable &&
			m.img.writable == cases[i].writable && streq(m.img.fstype, cases[i].fstype),
			"%s: %s", cases[i].value, cases[i].writable ? "read-write" : "read-only"))
			diag("  r=%d err=\"%s\" writable=%d img.writable=%d", r, err.msg, m.writable,
			     m.img.writable);
		oci_mount_free(&m);
	}
}

/* ---- hook configuration ---- */

static int parse_conf_text(const char *text, struct hookconf *conf, struct imgfs_error *err)
{
	_cleanup_fclose_ FILE *f = fmemopen((void *)text, strlen(text), "r");

	if (!f)
		abort();
	return hookconf_parse(f, "test.conf", conf, err);
}

static void test_hookconf_parse(void)
{
	static const struct {
		const char *text;
		int code;
		const char *msg;
	} errors[] = {
		{ "allow /srv\n", EINVAL, "test.conf:1: expected \"allow = /directory\", got \"allow /srv\"" },
		{ "# c\n\ndeny = /srv\n", EINVAL,
		  "test.conf:3: unknown key \"deny\" (the only key is \"allow\")" },
		{ "Allow = /srv\n", EINVAL, "test.conf:1: unknown key \"Allow\" (the only key is \"allow\")" },
		{ "= /srv\n", EINVAL, "test.conf:1: unknown key \"\" (the only key is \"allow\")" },
		{ "allow = srv/images\n", EINVAL, "test.conf:1: allow = srv/images: not an absolute path" },
		{ "allow = ~/images\n", EINVAL, "test.conf:1: allow = ~/images: not an absolute path" },
		{ "allow =\n", EINVAL, "test.conf:1: allow = needs a directory" },
		{ "allow = /srv/../etc\n", EINVAL,
		  "test.conf:1: allow = /srv/../etc: write the directory without \".\" or \"..\"" },
		{ "allow = /srv/./img", EINVAL,
		  "test.conf:1: allow = /srv/./img: write the directory without \".\" or \"..\"" },
	};
	struct imgfs_error err = { 0 };
	struct hookconf conf;
	int r;

	r = parse_conf_text("# images the rootful hook may mount\n"
			    "\n"
			    "  allow = /srv/images\n"
			    "allow=/var/lib/imgfs/\r\n"
			    "\t# indented comment\n"
			    "allow = //data//img//\n"
			    "allow = /srv/a # b", &conf, &err);
	if (!ok(r == 0 && conf.n_allow == 4 && streq(conf.allow[0], "/srv/images") &&
		streq(conf.allow[1], "/var/lib/imgfs") && streq(conf.allow[2], "/data/img") &&
		streq(conf.allow[3], "/srv/a # b"),
		"hookconf: comments, blank lines, spacing, CRLF; '#' after a value is part of it"))
		diag("  r=%d \"%s\" n=%zu", r, err.msg, conf.n_allow);
	hookconf_free(&conf);

	r = parse_conf_text("", &conf, &err);
	ok(r == 0 && conf.n_allow == 0, "hookconf: an empty file allows nothing");
	hookconf_free(&conf);

	r = parse_conf_text("allow = /\n", &conf, &err);
	ok(r == 0 && conf.n_allow == 1 && streq(conf.allow[0], "/"), "hookconf: allow = / is kept as /");
	hookconf_free(&conf);

	{
		static const char nul[] = "allow = /srv\n# x\nallow = /a\0/b\n";
		_cleanup_fclose_ FILE *f = fmemopen((void *)nul, sizeof(nul) - 1, "r");

		if (!f)
			abort();
		expect_err(hookconf_parse(f, "test.conf", &conf, &err), &err, EINVAL,
			   "test.conf:3: NUL byte in line", "hookconf: a NUL byte is refused, by line");
		hookconf_free(&conf);
	}

	for (size_t i = 0; i < ARRAY_SIZE(errors); i++) {
		_cleanup_free_ char *what = xasprintf("hookconf case %zu", i + 1);

		expect_err(parse_conf_text(errors[i].text, &conf, &err), &err, errors[i].code,
			   errors[i].msg, what);
		hookconf_free(&conf);
	}
}

static void test_hookconf_load(void)
{
	char dir[] = "/tmp/unit-oci.XXXXXX";
	_cleanup_free_ char *path = NULL, *missing = NULL;
	struct imgfs_error err = { 0 };
	struct hookconf conf;
	FILE *f;
	int r;

	if (!mkdtemp(dir))
		abort();
	path = xasprintf("%s/oci-hook.conf", dir);
	missing = xasprintf("%s/none.conf", dir);

	r = hookconf_load(missing, &conf, &err);
	ok(r == 0 && conf.n_allow == 0, "hookconf_load: a missing file allows nothing, no error");
	hookconf_free(&conf);

	f = fopen(path, "w");
	if (!f)
		abort();
	fputs("allow = /srv/images\nallow = /data\n", f);
	fclose(f);
	r = hookconf_load(path, &conf, &err);
	ok(r == 0 && conf.n_allow == 2 && streq(conf.allow[1], "/data"), "hookconf_load reads a file");
	hookconf_free(&conf);

	f = fopen(path, "w");
	if (!f)
		abort();
	fputs("allow = /srv\nallow = images\n", f);
	fclose(f);
	{
		_cleanup_free_ char *want = xasprintf("%s:2: allow = images: not an absolute path", path);

		expect_err(hookconf_load(path, &conf, &err), &err, EINVAL, want,
			   "hookconf_load names path:line");
		hookconf_free(&conf);
	}

	/* A directory opens but does not read: an error, not "nothing allowed". */
	r = hookconf_load(dir, &conf, &err);
	is_int(r, -EISDIR, "hookconf_load on a directory fails with EISDIR");
	hookconf_free(&conf);

	/* Issue 14: it read /dev/zero without end (1.1 GB in 6 s), as one line. */
	expect_err(hookconf_load("/dev/zero", &conf, &err), &err, EINVAL,
		   "/dev/zero: not a regular file",
		   "hookconf_load: /dev/zero is refused before it is read");
	hookconf_free(&conf);
	/* A regular file of endless size is capped as the state is. */
	{
		_cleanup_free_ char *big = xasprintf("%s/big.conf", dir);
		int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		_cleanup_free_ char *want = xasprintf("%s: larger than 16777216 bytes", big);

		ok(fd >= 0 && ftruncate(fd, (off_t)1 << 30) == 0, "a sparse 1 GiB configuration file");
		if (fd >= 0)
			close(fd);
		expect_err(hookconf_load(big, &conf, &err), &err, EFBIG, want,
			   "hookconf_load: a 1 GiB file is refused at the cap the OCI state has");
		hookconf_free(&conf);
		unlink(big);
	}

	rm_tree(dir);
}

static void test_hookconf_allowed(void)
{
	char *dirs[] = { "/srv/img", "/data" };
	char *root[] = { "/" };
	struct hookconf conf = { dirs, 2 }, all = { root, 1 }, none = { NULL, 0 };
	struct imgfs_error err = { 0 };
	static const struct {
		const char *source;
		bool allowed;
	} cases[] = {
		{ "/srv/img/a.ext4", true },
		{ "/srv/img/sub/b.img", true },
		{ "/data/x", true },
		{ "/srv/images2/x", false },
		{ "/srv/imgx", false },
		{ "/srv/img", false },	/* strictly inside: the directory itself is not */
		{ "/srv/img/", false },	/* not a real path */
		{ "/srv", false },
		{ "/", false },
		{ "/etc/shadow", false },
		{ "srv/img/a", false },
		{ "", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(hookconf_source_allowed(&conf, cases[i].source), cases[i].allowed,
		       "allow /srv/img,/data: \"%s\"", cases[i].source);
	is_int(hookconf_source_allowed(&all, "/x/y.img"), true, "allow /: \"/x/y.img\"");
	is_int(hookconf_source_allowed(&all, "/"), false, "allow /: \"/\" itself is not inside");
	is_int(hookconf_source_allowed(&none, "/srv/img/a"), false, "no directories: nothing allowed");

	is_int(hookconf_check_source(&conf, "/etc/imgfs/oci-hook.conf", "io.imgfs.mount.data",
				     "/srv/img/a.ext4", &err), 0, "hookconf_check_source: allowed");
	expect_err(hookconf_check_source(&none, "/etc/imgfs/oci-hook.conf", "io.imgfs.mount.data",
					 "/srv/img/a.ext4", &err), &err, EPERM,
		   "io.imgfs.mount.data: rootful mounts are refused: /etc/imgfs/oci-hook.conf allows "
		   "no directory; add a line \"allow = /directory/of/images\" to it to allow images there",
		   "hookconf_check_source: none configured says how to allow");
	expect_err(hookconf_check_source(&conf, "/etc/imgfs/oci-hook.conf", "io.imgfs.mount.data",
					 "/srv/images2/x", &err), &err, EPERM,
		   "io.imgfs.mount.data: source /srv/images2/x is not inside a directory allowed in "
		   "/etc/imgfs/oci-hook.conf (add \"allow = /its/directory\" there to allow it)",
		   "hookconf_check_source: outside the allowed directories");
}

/* ---- OCI state ---- */

static const char state_doc[] =
	"{'ociVersion': '1.0.2', 'id': 'web', 'status': 'creating', 'pid': 4242,\n"
	" 'bundle': '/run/containers/storage/overlay-containers/web/userdata',\n"
	" 'annotations': {'io.imgfs.mount.data': 'source=/srv/img/data.ext4,target=/data',\n"
	"                 'io.container.manager': 'libpod', 'z.last': 'state'}}\n";

static void test_state_valid(void)
{
	_cleanup_free_ char *doc = json(state_doc);
	struct imgfs_error err = { 0 };
	struct oci_state s;
	int r = oci_state_parse(doc, strlen(doc), &s, &err);

	if (!ok(r == 0 && streq(s.oci_version, "1.0.2") && streq(s.id, "web") &&
		streq(s.status, "creating") && s.pid == 4242 &&
		streq(s.bundle, "/run/containers/storage/overlay-containers/web/userdata") &&
		s.annotations.n == 3 &&
		streq(s.annotations.v[0].key, "io.imgfs.mount.data") &&
		streq(s.annotations.v[0].value, "source=/srv/img/data.ext4,target=/data") &&
		streq(s.annotations.v[1].key, "io.container.manager") &&
		streq(s.annotations.v[1].value, "libpod"),
		"OCI state: a podman-like state parses"))
		diag("  r=%d \"%s\"", r, err.msg);
	oci_state_free(&s);

	/* runc's state without annotations, and a null the spec allows to be absent */
	free(doc);
	doc = json("{'ociVersion':'1.0.2-dev','id':'c1','status':'created','pid':1,"
		   "'bundle':'/home/u/bundle','annotations':null,'rootfs':'/home/u/bundle/rootfs'}");
	r = oci_state_parse(doc, strlen(doc), &s, &err);
	ok(r == 0 && s.pid == 1 && s.annotations.n == 0 && streq(s.bundle, "/home/u/bundle"),
	   "OCI state: no annotations, unknown fields ignored");
	oci_state_free(&s);

	/* from a stream, as the hook reads stdin */
	free(doc);
	doc = json(state_doc);
	{
		_cleanup_fclose_ FILE *f = fmemopen(doc, strlen(doc), "r");

		r = oci_state_read(f, &s, &err);
		ok(r == 0 && streq(s.id, "web") && s.annotations.n == 3, "OCI state: read from a stream");
		oci_state_free(&s);
	}
}

static void test_state_errors(void)
{
#define BASE "'ociVersion':'1.0.2','id':'web','status':'creating'"
	static const struct {
		const char *doc;
		const char *msg;
	} cases[] = {
		{ "", "OCI state: invalid JSON: the document ends too early" },
		{ "  \n", "OCI state: invalid JSON: the document ends too early" },
		{ "{", "OCI state: invalid JSON: the document ends too early" },
		{ "{'id': }", "OCI state: invalid JSON at byte *" },
		{ "{'id': 'x',}", "OCI state: invalid JSON at byte *" },
		{ "{} x", "OCI state: invalid JSON at byte 3*" },
		{ "{}{}", "OCI state: invalid JSON at byte 2*" },
		{ "[]", "OCI state: the document is not a JSON object" },
		{ "'web'", "OCI state: the document is not a JSON object" },
		{ "{}", "OCI state: missing \"ociVersion\"" },
		{ "{'ociVersion':1,'id':'web'}", "OCI state: \"ociVersion\" must be a string" },
		{ "{'ociVersion':'1.0.2','status':'creating','pid':1,'bundle':'/b'}",
		  "OCI state: missing \"id\"" },
		{ "{'ociVersion':'1.0.2','id':'','status':'creating','pid':1,'bundle':'/b'}",
		  "OCI state: \"id\" is empty" },
		{ "{'ociVersion':'1.0.2','id':'web','pid':1,'bundle':'/b'}",
		  "OCI state: missing \"status\"" },
		{ "{" BASE ",'bundle':'/b'}", "OCI state: missing \"pid\"" },
		{ "{" BASE ",'pid':null,'bundle':'/b'}", "OCI state: missing \"pid\"" },
		{ "{" BASE ",'pid':'4242','bundle':'/b'}", "OCI state: \"pid\" must be an integer" },
		{ "{" BASE ",'pid':42.5,'bundle':'/b'}", "OCI state: \"pid\" must be an integer" },
		{ "{" BASE ",'pid':0,'bundle':'/b'}",
		  "OCI state: \"pid\" must be between 1 and 2147483647" },
		{ "{" BASE ",'pid':-5,'bundle':'/b'}",
		  "OCI state: \"pid\" must be between 1 and 2147483647" },
		{ "{" BASE ",'pid':4294967296,'bundle':'/b'}",
		  "OCI state: \"pid\" must be between 1 and 2147483647" },
		{ "{" BASE ",'pid':1}", "OCI state: missing \"bundle\"" },
		{ "{" BASE ",'pid':1,'bundle':['/b']}", "OCI state: \"bundle\" must be a string" },
		{ "{" BASE ",'pid':1,'bundle':'bundles/web'}",
		  "OCI state: \"bundle\" must be an absolute path, not \"bundles/web\"" },
		{ "{" BASE ",'pid':1,'bundle':'/b','annotations':['a']}",
		  "OCI state: \"annotations\" must be an object" },
		{ "{" BASE ",'pid':1,'bundle':'/b','annotations':{'a':'x','io.imgfs.mount.d':5}}",
		  "OCI state: annotation \"io.imgfs.mount.d\" must be a string" },
		{ "{" BASE ",'pid':1,'bundle':'/b','annotations':{'a':null}}",
		  "OCI state: annotation \"a\" must be a string" },
		/* Issue 14: json-c cut the value there, and the hook mounted at /da. */
		{ "{" BASE ",'pid':1,'bundle':'/b','annotations':{'io.imgfs.mount.d':'source=/i,target=/da\\u0000ta'}}",
		  "OCI state: the string \"source=/i,target=/da\" is cut by a NUL character (\\u0000) at byte 130; remove it" },
		/* ... and dropped the rest of a key. */
		{ "{" BASE ",'pid':1,'bundle':'/b','annotations':{'io.imgfs.mount.d\\u0000x':'source=/i,target=/d'}}",
		  "OCI state: the string \"io.imgfs.mount.d\" is cut by a NUL character (\\u0000) at byte *" },
		{ "{" BASE ",'pid':1,'bundle':'/b\\\"\\u0000'}",
		  "OCI state: the string \"/b\\\"\" is cut by a NUL character (\\u0000) at byte *" },
		{ "{" BASE ",'pid':1,'bundle':'/b','x':'\\u0000'}",
		  "OCI state: the string \"\" is cut by a NUL character (\\u0000) at byte *" },
	};
#undef BASE

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *doc = json(cases[i].doc), *what = oneline(cases[i].doc);
		struct imgfs_error err = { 0 };
		struct oci_state s;

		expect_err(oci_state_parse(doc, strlen(doc), &s, &err), &err, EINVAL, cases[i].msg,
			   what);
		oci_state_free(&s);
	}
}

/* In JSON text, \\u0000 is a backslash, then "u0000": no NUL. */
static void test_state_nul_escapes(void)
{
	_cleanup_free_ char *doc = json("{'ociVersion':'1.0.2','id':'web','status':'creating',"
					"'pid':1,'bundle':'/b','annotations':{'a':'x\\\\u0000'}}");
	struct imgfs_error err = { 0 };
	struct oci_state s;
	int r;

	r = oci_state_parse(doc, strlen(doc), &s, &err);
	if (!ok(r == 0 && s.annotations.n == 1 && streq(s.annotations.v[0].value, "x\\u0000"),
		"OCI state: an escaped backslash before u0000 is no NUL"))
		diag("  r=%d \"%s\"", r, r < 0 ? err.msg : "");
	oci_state_free(&s);
}

/* ---- config.json ---- */

/* What `runc spec --rootless` writes (abridged process and mounts). */
static const char runc_rootless_doc[] =
	"{\n"
	"\t'ociVersion': '1.0.2-dev',\n"
	"\t'process': {'terminal': true, 'user': {'uid': 0, 'gid': 0}, 'args': ['sh'],\n"
	"\t\t'env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],\n"
	"\t\t'cwd': '/', 'capabilities': {'bounding': ['CAP_AUDIT_WRITE', 'CAP_KILL']},\n"
	"\t\t'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 1024, 'soft': 1024}],\n"
	"\t\t'noNewPrivileges': true},\n"
	"\t'root': {'path': 'rootfs', 'readonly': true},\n"
	"\t'hostname': 'runc',\n"
	"\t'mounts': [{'destination': '/proc', 'type': 'proc', 'source': 'proc'},\n"
	"\t\t{'destination': '/sys', 'type': 'none', 'source': '/sys',\n"
	"\t\t 'options': ['rbind', 'nosuid', 'noexec', 'nodev', 'ro']}],\n"
	"\t'linux': {\n"
	"\t\t'uidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 1}],\n"
	"\t\t'gidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 1}],\n"
	"\t\t'namespaces': [{'type': 'pid'}, {'type': 'ipc'}, {'type': 'uts'},\n"
	"\t\t\t{'type': 'mount'}, {'type': 'cgroup'}, {'type': 'user'}],\n"
	"\t\t'maskedPaths': ['/proc/acpi', '/proc/kcore'],\n"
	"\t\t'readonlyPaths': ['/proc/bus', '/proc/sys']\n"
	"\t}\n"
	"}\n";

/* A podman-like config: absolute root, annotations, joined namespaces, ranges. */
static const char podman_doc[] =
	"{'ociVersion': '1.1.0',\n"
	" 'process': {'args': ['/bin/sh'], 'cwd': '/'},\n"
	" 'root': {'path': '/var/lib/containers/storage/overlay/3f2a/merged'},\n"
	" 'hostname': 'web',\n"
	" 'annotations': {'io.container.manager': 'libpod',\n"
	"   'io.imgfs.mount.data': 'source=/srv/img/config.ext4,target=/data',\n"
	"   'io.imgfs.mount.logs': 'source=/srv/img/logs.ext4,target=/var/log/app,partition=1',\n"
	"   'org.opencontainers.image.stopSignal': '15'},\n"
	" 'linux': {\n"
	"   'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 1000},\n"
	"                   {'containerID': 1000, 'hostID': 1000, 'size': 1},\n"
	"                   {'containerID': 1001, 'hostID': 101001, 'size': 64535}],\n"
	"   'gidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],\n"
	"   'namespaces': [{'type': 'pid'}, {'type': 'network', 'path': '/run/netns/netns-1234'},\n"
	"                  {'type': 'ipc'}, {'type': 'uts'}, {'type': 'mount'},\n"
	"                  {'type': 'user', 'path': '/proc/4242/ns/user'}, {'type': 'cgroup'}],\n"
	"   'cgroupsPath': 'machine.slice:libpod:3f2a'}}\n";

static void test_config_valid(void)
{
	_cleanup_free_ char *runc = json(runc_rootless_doc), *podman = json(podman_doc);
	struct imgfs_error err = { 0 };
	struct oci_config c;
	int r;

	r = oci_config_parse(runc, strlen(runc), "config.json", "/home/u/bundle", &c, &err);
	if (!ok(r == 0 && streq(c.root_path, "/home/u/bundle/rootfs") && c.annotations.n == 0 &&
		c.user_ns.requested && !c.user_ns.path && c.mount_ns.requested && !c.mount_ns.path &&
		c.n_uid_mappings == 1 && c.uid_mappings[0].container_id == 0 &&
		c.uid_mappings[0].host_id == 1000 && c.uid_mappings[0].size == 1 &&
		c.n_gid_mappings == 1 && c.gid_mappings[0].host_id == 1000,
		"config.json: runc spec --rootless"))
		diag("  r=%d \"%s\"", r, err.msg);
	oci_config_free(&c);

	r = oci_config_parse(podman, strlen(podman), "config.json", "/run/b", &c, &err);
	if (!ok(r == 0 && streq(c.root_path, "/var/lib/containers/storage/overlay/3f2a/merged") &&
		c.annotations.n == 4 &&
		streq(c.annotations.v[2].key, "io.imgfs.mount.logs") &&
		streq(c.annotations.v[2].value,
		      "source=/srv/img/logs.ext4,target=/var/log/app,partition=1") &&
		c.user_ns.requested && streq(c.user_ns.path, "/proc/4242/ns/user") &&
		c.mount_ns.requested && !c.mount_ns.path &&
		c.n_uid_mappings == 3 &&
		c.uid_mappings[0].container_id == 0 && c.uid_mappings[0].host_id == 100000 &&
		c.uid_mappings[0].size == 1000 &&
		c.uid_mappings[1].container_id == 1000 && c.uid_mappings[1].host_id == 1000 &&
		c.uid_mappings[1].size == 1 &&
		c.uid_mappings[2].container_id == 1001 && c.uid_mappings[2].host_id == 101001 &&
		c.uid_mappings[2].size == 64535 &&
		c.n_gid_mappings == 1 && c.gid_mappings[0].size == 65536,
		"config.json: podman-like, with annotations, joined user namespace, three uid ranges"))
		diag("  r=%d \"%s\"", r, err.msg);
	oci_config_free(&c);

	/* A rootful runtime config: no linux.uidMappings, no user namespace. */
	free(runc);
	runc = json("{'root':{'path':'.'},'linux':{'namespaces':[{'type':'mount','path':''}]}}");
	r = oci_config_parse(runc, strlen(runc), "config.json", "/b", &c, &err);
	ok(r == 0 && streq(c.root_path, "/b/.") && !c.user_ns.requested && c.mount_ns.requested &&
	   !c.mount_ns.path && c.n_uid_mappings == 0 && !c.uid_mappings,
	   "config.json: rootful, empty namespace path means a new one");
	oci_config_free(&c);

	free(runc);
	runc = json("{'root':{'path':'/r'},'linux':{'uidMappings':[],'gidMappings':null}}");
	r = oci_config_parse(runc, strlen(runc), "config.json", "/b", &c, &err);
	ok(r == 0 && c.n_uid_mappings == 0 && c.n_gid_mappings == 0 && !c.user_ns.requested,
	   "config.json: empty or null mappings are no mappings");
	oci_config_free(&c);
}

static void test_config_errors(void)
{
#define ROOT "'root':{'path':'rootfs'}"
	static const struct {
		const char *doc;
		const char *msg;
	} cases[] = {
		{ "{'root':", "cfg: invalid JSON: the document ends too early" },
		{ "{'root': {'path': 'rootfs'}} ,", "cfg: invalid JSON at byte 29*" },
		{ "[{'root':{}}]", "cfg: the document is not a JSON object" },
		{ "{}", "cfg: missing \"root\"" },
		{ "{'root':'rootfs'}", "cfg: \"root\" must be an object" },
		{ "{'root':{}}", "cfg: missing \"root.path\"" },
		{ "{'root':{'path':5}}", "cfg: \"root.path\" must be a string" },
		{ "{'root':{'path':''}}", "cfg: \"root.path\" is empty" },
		{ "{" ROOT ",'annotations':{'io.imgfs.mount.x':true}}",
		  "cfg: annotation \"io.imgfs.mount.x\" must be a string" },
		{ "{" ROOT ",'annotations':'a=b'}", "cfg: \"annotations\" must be an object" },
		{ "{" ROOT ",'annotations':{'io.imgfs.mount.x':'source=/i,target=/x\\u0000y'}}",
		  "cfg: the string \"source=/i,target=/x\" is cut by a NUL character (\\u0000) at byte *" },
		{ "{" ROOT ",'linux':[]}", "cfg: \"linux\" must be an object" },
		{ "{" ROOT ",'linux':{'namespaces':{'type':'user'}}}",
		  "cfg: \"linux.namespaces\" must be an array" },
		{ "{" ROOT ",'linux':{'namespaces':['user']}}",
		  "cfg: \"linux.namespaces[0]\" must be an object" },
		{ "{" ROOT ",'linux':{'namespaces':[{'type':'pid'},{'path':'/proc/1/ns/user'}]}}",
		  "cfg: missing \"linux.namespaces[1].type\"" },
		{ "{" ROOT ",'linux':{'namespaces':[{'type':7}]}}",
		  "cfg: \"linux.namespaces[0].type\" must be a string" },
		{ "{" ROOT ",'linux':{'namespaces':[{'type':'user','path':'proc/1/ns/user'}]}}",
		  "cfg: \"linux.namespaces[0].path\" must be an absolute path, not \"proc/1/ns/user\"" },
		{ "{" ROOT ",'linux':{'namespaces':[{'type':'user','path':1}]}}",
		  "cfg: \"linux.namespaces[0].path\" must be a string" },
		{ "{" ROOT ",'linux':{'namespaces':[{'type':'user'},{'type':'mount'},{'type':'user'}]}}",
		  "cfg: namespace \"user\" is listed twice" },
		{ "{" ROOT ",'linux':{'uidMappings':{'containerID':0}}}",
		  "cfg: \"linux.uidMappings\" must be an array" },
		{ "{" ROOT ",'linux':{'gidMappings':'0 1000 1'}}",
		  "cfg: \"linux.gidMappings\" must be an array" },
		{ "{" ROOT ",'linux':{'uidMappings':[[0,1000,1]]}}",
		  "cfg: \"linux.uidMappings[0]\" must be an object" },
		{ "{" ROOT ",'linux':{'uidMappings':[{'containerID':0,'size':1}]}}",
		  "cfg: missing \"linux.uidMappings[0].hostID\"" },
		{ "{" ROOT ",'linux':{'uidMappings':[{'hostID':0,'size':1}]}}",
		  "cfg: missing \"linux.uidMappings[0].containerID\"" },
		{ "{" ROOT ",'linux':{'gidMappings':[{'containerID':0,'hostID':1,'size':1},"
		  "{'containerID':1,'hostID':2}]}}",
		  "cfg: missing \"linux.gidMappings[1].size\"" },
		{ "{" ROOT ",'linux':{'uidMappings':[{'containerID':'0','hostID':1,'size':1}]}}",
		  "cfg: \"linux.uidMappings[0].containerID\" must be an integer" },
		{ "{" ROOT ",'linux':{'uidMappings':[{'containerID':0,'hostID':-1,'size':1}]}}",
		  "cfg: \"linux.uidMappings[0].hostID\" must be between 0 and 4294967295" },
		{ "{" ROOT ",'linux':{'uidMappings':[{'containerID':0,'hostID':4294967296,'size':1}]}}",
		  "cfg: \"linux.uidMappings[0].hostID\" must be between 0 and 4294967295" },
		{ "{" ROOT ",'linux':{'uidMappings':[{'containerID':0,'hostID':1000,'size':0}]}}",
		  "cfg: \"linux.uidMappings[0].size\" must be between 1 and 4294967295" },
		{ "{" ROOT ",'linux':{'uidMappings':[{'containerID':4294967295,'hostID':0,'size':2}]}}",
		  "cfg: \"linux.uidMappings[0]\" runs past ID 4294967295" },
		{ "{" ROOT ",'linux':{'gidMappings':[{'containerID':0,'hostID':4294967200,'size':65536}]}}",
		  "cfg: \"linux.gidMappings[0]\" runs past ID 4294967295" },
	};
#undef ROOT

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *doc = json(cases[i].doc);
		struct imgfs_error err = { 0 };
		struct oci_config c;

		expect_err(oci_config_parse(doc, strlen(doc), "cfg", "/b", &c, &err), &err, EINVAL,
			   cases[i].msg, cases[i].doc);
		oci_config_free(&c);
	}
}

static void test_config_load(void)
{
	char dir[] = "/tmp/unit-oci.XXXXXX";
	_cleanup_free_ char *path = NULL, *doc = json(podman_doc), *want = NULL;
	struct imgfs_error err = { 0 };
	struct oci_config c;
	FILE *f;
	int r;

	if (!mkdtemp(dir))
		abort();
	path = xasprintf("%s/config.json", dir);
	want = xasprintf("%s/config.json: No such file or directory", dir);
	expect_err(oci_config_load(dir, &c, &err), &err, ENOENT, want,
		   "oci_config_load: a bundle without config.json");
	oci_config_free(&c);

	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(doc, f);
	fclose(f);
	r = oci_config_load(dir, &c, &err);
	ok(r == 0 && c.annotations.n == 4 && c.n_uid_mappings == 3,
	   "oci_config_load reads <bundle>/config.json");
	oci_config_free(&c);

	f = fopen(path, "w");
	if (!f)
		abort();
	fputs("{\"root\": 1}", f);
	fclose(f);
	free(want);
	want = xasprintf("%s/config.json: \"root\" must be an object", dir);
	expect_err(oci_config_load(dir, &c, &err), &err, EINVAL, want,
		   "oci_config_load names the file in errors");
	oci_config_free(&c);
	rm_tree(dir);
}

/* ---- merging state and config annotations, then parsing ours ---- */

static void test_merge(void)
{
	_cleanup_free_ char *sdoc = json(state_doc), *cdoc = json(podman_doc);
	struct oci_annotations merged = { 0 }, empty = { 0 };
	struct imgfs_error err = { 0 };
	struct oci_state s;
	struct oci_config c;
	size_t ours = 0, good = 0;
	int r;

	if (oci_state_parse(sdoc, strlen(sdoc), &s, &err) < 0 ||
	    oci_config_parse(cdoc, strlen(cdoc), "config.json", s.bundle, &c, &err) < 0)
		abort();
	r = oci_annotations_merge(&s.annotations, &c.annotations, &merged);
	/* state: data, manager, z.last; config: manager, data, logs, stopSignal */
	if (!ok(r == 0 && merged.n == 5 &&
		streq(merged.v[0].key, "io.container.manager") &&
		streq(merged.v[1].key, "io.imgfs.mount.data") &&
		streq(merged.v[1].value, "source=/srv/img/data.ext4,target=/data") &&
		streq(merged.v[2].key, "io.imgfs.mount.logs") &&
		streq(merged.v[3].key, "org.opencontainers.image.stopSignal") &&
		streq(merged.v[4].key, "z.last") && streq(merged.v[4].value, "state"),
		"merge: union sorted by key, the state's value wins"))
		for (size_t i = 0; i < merged.n; i++)
			diag("  %s=%s", merged.v[i].key, merged.v[i].value);

	for (size_t i = 0; i < merged.n; i++) {
		struct oci_mount m;

		if (!oci_mount_key_is_ours(merged.v[i].key))
			continue;
		ours++;
		if (oci_mount_parse(merged.v[i].key, merged.v[i].value, &m, &err) == 0 &&
		    (streq(m.target, "/data") || (streq(m.target, "/var/log/app") && m.img.partition == 1)))
			good++;
		oci_mount_free(&m);
	}
	ok(ours == 2 && good == 2, "merge: both io.imgfs.mount.* annotations parse");
	oci_annotations_free(&merged);

	r = oci_annotations_merge(&empty, &empty, &merged);
	ok(r == 0 && merged.n == 0 && !merged.v, "merge: nothing and nothing");
	oci_annotations_free(&merged);
	oci_state_free(&s);
	oci_config_free(&c);
}

/* ---- targets inside a container root ---- */

/* Does @fd (from container_open_target) refer to the directory @path? */
static bool fd_is(int fd, const char *path)
{
	struct stat a, b;

	return fd >= 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 && S_ISDIR(b.st_mode) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void test_open_target(void)
{
	char root[] = "/tmp/unit-oci-root.XXXXXX";
	_cleanup_free_ char *p = NULL, *want = NULL, *escape = NULL;
	struct imgfs_error err = { 0 };
	_cleanup_close_ int root_fd = -1;
	struct stat st;
	int fd, r;

	if (!mkdtemp(root))
		abort();
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	umask(022);
	if (root_fd < 0 || run("cd %s && mkdir etc tmp && touch file && ln -s /etc abs && "
			       "ln -s ../../../../../tmp up && ln -s /nowhere/at/all dangling && "
			       "ln -s loop loop && ln -s / rootlink && ln -s ../../../../.. toroot",
			       root) != 0)
		abort();

	r = container_open_target(root_fd, "/a/b/c", "k", &fd, &err);
	p = xasprintf("%s/a/b/c", root);
	ok(r == 0 && fd_is(fd, p) && stat(p, &st) == 0 && (st.st_mode & 07777) == 0755,
	   "open_target: missing directories are created, mode 0755");
	close(fd);
	r = container_open_target(root_fd, "/a/b/c", "k", &fd, &err);
	ok(r == 0 && fd_is(fd, p), "open_target: an existing target is opened as it is");
	close(fd);

	/* An absolute symlink resolves inside the root, never on the host. */
	escape = xasprintf("unit-oci-escape-%d", (int)getpid());
	free(p);
	p = xasprintf("/abs/%s", escape);
	r = container_open_target(root_fd, p, "k", &fd, &err);
	free(p);
	p = xasprintf("%s/etc/%s", root, escape);
	want = xasprintf("/etc/%s", escape);
	ok(r == 0 && fd_is(fd, p) && stat(want, &st) < 0,
	   "open_target: /abs -> /etc is the container's /etc, not the host's");
	close(fd);

	/* "..": a relative link climbing above the root stops at the root. */
	r = container_open_target(root_fd, "/up/y", "k", &fd, &err);
	free(p);
	p = xasprintf("%s/tmp/y", root);
	ok(r == 0 && fd_is(fd, p), "open_target: up -> ../../../../../tmp stays inside the root");
	close(fd);

	r = container_open_target(root_fd, "/dangling/x", "io.imgfs.mount.d", &fd, &err);
	expect_err(r, &err, ENOENT,
		   "io.imgfs.mount.d: target /dangling/x: /dangling: No such file or directory",
		   "open_target: a dangling symlink is not created through");
	ok(fd == -1, "open_target: no descriptor on failure");
	r = container_open_target(root_fd, "/file/z", "io.imgfs.mount.f", &fd, &err);
	expect_err(r, &err, ENOTDIR, "io.imgfs.mount.f: target /file/z: /file: Not a directory",
		   "open_target: a file on the way");
	/* Issue 14: the root through a link was mounted over, as "/" is not. */
	r = container_open_target(root_fd, "/rootlink", "io.imgfs.mount.r", &fd, &err);
	expect_err(r, &err, EINVAL,
		   "io.imgfs.mount.r: target /rootlink resolves to the container's root, which cannot be mounted over; give a directory inside it",
		   "open_target: rootlink -> / is the root, refused");
	r = container_open_target(root_fd, "/toroot", "io.imgfs.mount.r", &fd, &err);
	expect_err(r, &err, EINVAL,
		   "io.imgfs.mount.r: target /toroot resolves to the container's root, which cannot be mounted over; give a directory inside it",
		   "open_target: toroot -> ../../../../.. is the root, refused");
	ok(fd == -1, "open_target: no descriptor for the root");
	r = container_open_target(root_fd, "/rootlink/etc", "k", &fd, &err);
	free(p);
	p = xasprintf("%s/etc", root);
	ok(r == 0 && fd_is(fd, p), "open_target: a directory under rootlink -> / is no root");
	close(fd);
	r = container_open_target(root_fd, "/loop", "io.imgfs.mount.l", &fd, &err);
	expect_err(r, &err, ELOOP,
		   "io.imgfs.mount.l: target /loop: /loop: a symlink loop or a /proc magic link",
		   "open_target: a symlink loop");

	/*
	 * A magic link would lead out: with the host's /proc inside the root,
	 * /proc/self/root is the host's root.  Needs a private mount namespace.
	 */
	if (geteuid() != 0) {
		skip("open_target: /proc magic links are refused", "needs root to mount /proc");
	} else {
		pid_t child = fork();
		int status = -1;

		if (child == 0) {
			_cleanup_free_ char *proc = xasprintf("%s/proc", root);
			struct imgfs_error e;
			int f;

			if (unshare(CLONE_NEWNS) < 0 ||
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			    mkdir(proc, 0755) < 0 || mount("/proc", proc, NULL, MS_BIND, NULL) < 0 ||
			    run("ln -s /proc/self/root %s/hostroot", root) != 0)
				_exit(2);
			/* A descriptor opened before the unshare would see the old mounts. */
			close(root_fd);
			root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
			r = container_open_target(root_fd, "/hostroot/etc", "k", &f, &e);
			if (r != -ELOOP || f != -1)
				printf("#   got %d: %s\n", r, r < 0 ? e.msg : "");
			fflush(stdout);
			_exit(r == -ELOOP && f == -1 ? 0 : 1);
		}
		waitpid(child, &status, 0);
		if (!ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "open_target: /hostroot -> /proc/self/root (a magic link) is refused"))
			diag("  child status %#x", status);
	}
	rm_tree(root);
}

int main(void)
{
	test_key_is_ours();
	test_mount_valid();
	test_mount_errors();
	test_mount_mode();
	test_hookconf_parse();
	test_hookconf_load();
	test_hookconf_allowed();
	test_state_valid();
	test_state_errors();
	test_state_nul_escapes();
	test_config_valid();
	test_config_errors();
	test_config_load();
	test_merge();
	test_open_target();
	return done_testing();
}
