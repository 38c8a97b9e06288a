/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * imgfs-inspect: show what imgfs sees in an image — the filesystem's
 * superblock facts and, for chosen files, the mappings the mapping
 * engine returns, one row per mapping.  It reads through the same
 * library as the server, so its output is what a mount would be served.
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "attach.h"
#include "fs.h"
#include "iomap.h"

struct inspect_args {
	const char *image;
	char **paths;		/* inside the filesystem, from its root */
	int npaths;
	bool holes;		/* list holes as rows of their own */
	struct imgfs_image_options img;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: imgfs-inspect [-o OPTIONS] [-a] IMAGE [PATH...]\n"
		"\n"
		"Show the filesystem in IMAGE (a file or block device) as imgfs reads it:\n"
		"type, label, UUID, sizes and features. For each PATH (from the root of the\n"
		"filesystem; symbolic links are not followed) show its inode, type and size\n"
		"and, for a regular file, how its data maps to filesystem blocks.\n"
		"\n"
		"Options:\n"
		"  -o OPTIONS     comma-separated, as for imgfs-mount:\n"
		"                   offset=BYTES   the filesystem starts at this byte offset\n"
		"                   partition=N    the filesystem is partition N (GPT or MBR)\n"
		"                   type=TYPE      auto (default), ext4, ext3, ext2 or xfs\n"
		"  -a, --holes    also list holes in the mapping table\n"
		"  -h, --help     show this help\n"
		"  -V, --version  show the version\n");
}

/* One -o item: the image-locating subset of imgfs-mount's options. */
static int parse_image_option(const char *key, const char *val, void *ctx)
{
	struct imgfs_error err;
	int r = imgfs_image_parse_option(key, val, ctx, &err);

	if (r < 0)
		log_err("%s", err.msg);
	if (r <= 0 || (!val && !strcmp(key, "ro")))
		return r < 0 ? r : 0;	/* ro: always; accepted for symmetry with mount */
	log_err("unknown option '%s%s%s'", key, val ? "=" : "", val ? val : "");
	return -EINVAL;
}

static int parse_image_options(char *opts, struct imgfs_image_options *o)
{
	struct imgfs_error err;
	int r = for_each_option(opts, parse_image_option, o);

	if (r < 0)
		return r;
	r = imgfs_image_check_options(o, &err);
	if (r < 0)
		log_err("%s", err.msg);
	return r;
}

static int parse_args(int argc, char **argv, struct inspect_args *a)
{
	static const struct option longopts[] = {
		{ "holes", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;	/* one line of our own per error, not getopt's */
	while ((c = getopt_long(argc, argv, ":o:ahV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (parse_image_options(optarg, &a->img) < 0)
				return -EINVAL;
			break;
		case 'a': a->holes = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("imgfs-inspect %s\n", PACKAGE_VERSION); exit(0);
		case ':':
			log_err("option %s needs a value (see imgfs-inspect --help)",
				argv[optind - 1]);
			return -EINVAL;
		default:
			log_err("unknown option %s (see imgfs-inspect --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		log_err("missing IMAGE (see imgfs-inspect --help)");
		return -EINVAL;
	}
	a->image = argv[optind];
	a->paths = &argv[optind + 1];
	a->npaths = argc - optind - 1;
	return 0;
}

/* Text from the image is untrusted: show control and non-ASCII bytes as \ooo. */
static void print_escaped(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\\')
			fputs("\\\\", stdout);
		else if (isprint(ch))
			putchar(ch);
		else
			printf("\\%03o", ch);
	}
}

static void print_field_escaped(const char *key, const char *value)
{
	printf("%-18s", key);
	print_escaped(value, strnlen(value, 512));
	putchar('\n');
}

static int print_fs_info(struct imgfs_fs *fs, const struct imgfs_image *img)
{
	struct imgfs_fs_info info = { 0 };
	char uuid[37];
	int r = fs->ops->info(fs, &info);

	if (r < 0)
		return r;
	info.label[sizeof(info.label) - 1] = '\0';
	imgfs_uuid_format(info.uuid, uuid);
	info.features[sizeof(info.features) - 1] = '\0';
	print_field_escaped("Filesystem type:", info.type[0] ? info.type : img->fstype);
	print_field_escaped("Label:", info.label);
	print_field_escaped("UUID:", uuid);
	printf("%-18s%u\n", "Block size:", info.block_size);
	printf("%-18s%llu total, %llu free\n", "Blocks:", (unsigned long long)info.blocks,
	       (unsigned long long)info.free_blocks);
	printf("%-18s%llu total, %llu free\n", "Inodes:", (unsigned long long)info.inodes,
	       (unsigned long long)info.free_inodes);
	printf("%-18s%llu bytes\n", "Size:",
	       (unsigned long long)info.blocks * info.block_size);
	printf("%-18s%llu bytes\n", "Offset:", (unsigned long long)img->offset);
	print_field_escaped("Features:", info.features);
	return 0;
}

/*
 * Walk @path component by component from the root with lookup(); every
 * component but the last must be a directory (symbolic links are not
 * followed).  "." and ".." are looked up like any other name; a path
 * without a leading '/' is still taken from the root.
 */
static int resolve_path(struct imgfs_fs *fs, const char *path, uint64_t *ino)
{
	uint64_t cur = fs->root_ino;
	const char *p = path;

	for (;;) {
		struct stat st;
		size_t len;
		int r;

		p += strspn(p, "/");
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (len > NAME_MAX)
			return -ENAMETOOLONG;
		r = fs->ops->getattr(fs, cur, &st);
		if (r < 0)
			return r;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		r = fs->ops->lookup(fs, cur, p, len, &cur);
		if (r < 0)
			return r;
		p += len;
	}
	/* "file/" names a directory, as it does to the kernel. */
	if (p > path && p[-1] == '/') {
		struct stat st;
		int r = fs->ops->getattr(fs, cur, &st);

		if (r < 0)
			return r;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	*ino = cur;
	return 0;
}

static const char *type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "regular file";
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symbolic link";
	case S_IFCHR: return "character device";
	case S_IFBLK: return "block device";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	default: return "unknown";
	}
}

static int print_symlink(struct imgfs_fs *fs, uint64_t ino)
{
	char target[PATH_MAX];
	size_t len = 0;
	int r = fs->ops->readlink(fs, ino, target, sizeof(target), &len);

	if (r < 0)
		return r;
	printf("  %-16s", "Target:");
	print_escaped(target, MIN(len, sizeof(target)));
	printf(" (not followed)\n");
	return 0;
}

/* The comma-separated flags column of one mapping row. */
static void mapping_flags(const struct imgfs_iomap *map, uint64_t isize, char *buf,
			  size_t size)
{
	static const char *const type_flag[] = {
		[IMGFS_IOMAP_HOLE] = "hole", [IMGFS_IOMAP_DELALLOC] = "delalloc",
		[IMGFS_IOMAP_UNWRITTEN] = "unwritten", [IMGFS_IOMAP_INLINE] = "inline",
	};
	const char *sep = "";
	size_t n = 0;

	buf[0] = '\0';
	if (map->type < ARRAY_SIZE(type_flag) && type_flag[map->type]) {
		n += (size_t)snprintf(buf + n, size - n, "%s", type_flag[map->type]);
		sep = ",";
	}
	if (map->flags && n < size) {
		n += (size_t)snprintf(buf + n, size - n, "%s0x%x", sep, map->flags);
		sep = ",";
	}
	if (map->offset + map->length >= isize && n < size)
		snprintf(buf + n, size - n, "%seof", sep);
}

/* One row: ext index, logical and physical block ranges, length, flags. */
static void print_mapping(const struct imgfs_iomap *map, uint64_t end, uint32_t bs,
			  int index, uint64_t isize)
{
	uint64_t first = map->offset / bs;
	uint64_t blocks = MAX(DIV_ROUND_UP(MIN(map->offset + map->length, end), bs), first + 1) -
			  first;
	char ext[16] = "-", logical[48], physical[48] = "-", flags[64];

	if (index >= 0)
		snprintf(ext, sizeof(ext), "%d", index);
	snprintf(logical, sizeof(logical), "%llu..%llu", (unsigned long long)first,
		 (unsigned long long)(first + blocks - 1));
	if (map->type == IMGFS_IOMAP_MAPPED || map->type == IMGFS_IOMAP_UNWRITTEN)
		snprintf(physical, sizeof(physical), "%llu..%llu",
			 (unsigned long long)(map->addr / bs),
			 (unsigned long long)(map->addr / bs + blocks - 1));
	mapping_flags(map, isize, flags, sizeof(flags));
	printf("%6s  %21s  %21s  %10llu%s%s\n", ext, logical, physical,
	       (unsigned long long)blocks, flags[0] ? "  " : "", flags);
}

/*
 * Walk the mappings from offset 0 to i_size, as a read would, and print
 * every mapping it returns, unmerged: a row is what one call answered.
 * A mapping or hole running past EOF is shown up to the block holding the
 * last byte (an XFS extent preallocated past EOF can start before it).
 */
static int print_mappings(struct imgfs_fs *fs, const char *path, uint64_t ino, uint64_t isize,
			  bool holes)
{
	uint32_t bs = fs->block_size;
	uint64_t pos = 0, end_blocks = DIV_ROUND_UP(isize, bs) * bs;
	int count = 0;

	printf("%6s  %21s  %21s  %10s  %s\n", "ext", "logical", "physical", "length", "flags");
	while (pos < isize) {
		struct imgfs_mapping m;
		uint64_t end;
		int r;

		r = imgfs_iomap_at(fs, ino, pos, isize - pos, IMGFS_IOMAP_OP_REPORT, &m);
		if (r < 0)
			return r;
		end = m.map.offset + m.map.length;
		if (m.map.type != IMGFS_IOMAP_HOLE)
			print_mapping(&m.map, MIN(end, end_blocks), bs, count++, isize);
		else if (holes)
			print_mapping(&m.map, MIN(end, end_blocks), bs, -1, isize);
		pos = end;
	}
	printf("%s: %d extent%s found\n", path, count, count == 1 ? "" : "s");
	return 0;
}

static int print_inode(struct imgfs_fs *fs, const char *path, uint64_t ino, bool holes)
{
	struct stat st;
	int r = fs->ops->getattr(fs, ino, &st);

	if (r < 0)
		return r;
	printf("\n%s:\n", path);
	printf("  %-16s%llu\n", "Inode:", (unsigned long long)ino);
	printf("  %-16s%s\n", "Type:", type_name(st.st_mode));
	printf("  %-16s%llu bytes", "Size:", (unsigned long long)st.st_size);
	if (S_ISREG(st.st_mode)) {
		uint64_t blocks = DIV_ROUND_UP((uint64_t)st.st_size, fs->block_size);

		printf(" (%llu block%s of %u bytes)", (unsigned long long)blocks,
		       blocks == 1 ? "" : "s", fs->block_size);
	}
	putchar('\n');
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		printf("  %-16s%u:%u\n", "Device:", major(st.st_rdev), minor(st.st_rdev));
	if (S_ISLNK(st.st_mode))
		return print_symlink(fs, ino);
	if (S_ISREG(st.st_mode))
		return print_mappings(fs, path, ino, (uint64_t)st.st_size, holes);
	return 0;
}

static int inspect_path(struct imgfs_fs *fs, const char *path, bool holes)
{
	uint64_t ino;
	int r = resolve_path(fs, path, &ino);

	if (r == 0)
		r = print_inode(fs, path, ino, holes);
	if (r < 0) {
		fflush(stdout);
		log_err("%s: %s", path, strerror(r == -EUCLEAN ? EIO : -r));
	}
	return r;
}

int main(int argc, char **argv)
{
	_cleanup_image_ struct imgfs_image *img = NULL;
	_cleanup_fs_ struct imgfs_fs *fs = NULL;
	struct imgfs_error err = { 0 };
	struct inspect_args a = { 0 };
	int r, status = 0;

	imgfs_log_setup("imgfs-inspect", IMGFS_LOG_WARN, false);
	if (parse_args(argc, argv, &a) < 0)
		return 2;
	r = imgfs_image_open(a.image, &a.img, &img, &err);
	if (r == 0)
		r = imgfs_fs_open(img, &fs, &err);
	if (r < 0) {
		log_err("%s", err.msg);
		return 1;
	}
	r = print_fs_info(fs, img);
	if (r < 0) {
		log_err("%s: cannot read filesystem information: %s", a.image, strerror(-r));
		return 1;
	}
	for (int i = 0; i < a.npaths; i++)
		if (inspect_path(fs, a.paths[i], a.holes) < 0)
			status = 1;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_err("write error: %s", strerror(errno));
		return 1;
	}
	return status;
}
