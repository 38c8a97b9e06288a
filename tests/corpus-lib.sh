# SPDX-License-Identifier: GPL-2.0-or-later
# tests/corpus-lib.sh: what the ext4 and the XFS corpus have in common
# (mkcorpus-ext4.sh, mkcorpus-xfs.sh).  Sourced after lib.sh.
#
#   die MESSAGE               the script fails, saying why
#   corpus_setup OUTDIR TOOL...
#                             checks root and TOOL..., makes OUTDIR; $OUT
#   randfile FILE LENGTH      pseudo-random contents
#   common_files BLOCKSIZE
#   common_sparse BIG
#   common_entries MAJOR MINOR [NAME]...
#   common_xattrs             in the current directory, the part of the
#                             source tree both corpora carry; each script
#                             adds its format's own entries around them
#   small_tree DIR LABEL      the contents of a disk image's partition
#   part_range DISK NUMBER    where partition NUMBER of DISK is

die() {
	echo "$TEST_NAME: $*" >&2
	exit 1
}

# corpus_setup OUTDIR TOOL...: as root, with every TOOL, into OUTDIR (made
# if need be; $OUT is its absolute path).
corpus_setup() {
	OUT=$1
	shift
	[ "$(id -u)" -eq 0 ] || die "must run as root (mknod, chown, loop mounts)"
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "needs $c"
	done
	mkdir -p "$OUT" || die "cannot create $OUT"
	OUT=$(cd "$OUT" && pwd)
}

# A file of @2 pseudo-random bytes at @1 (contents that catch a block read
# from the wrong place, unlike zeros or repeated patterns).
randfile() {
	head -c "$2" /dev/urandom >"$1"
}

# common_files BLOCKSIZE: regular files in files/: empty, tiny, around
# block boundaries, bigger.
common_files() {
	_bs=$1
	mkdir files
	: >files/empty
	printf x >files/one-byte
	randfile files/block-minus-1 $((_bs - 1))
	randfile files/block "$_bs"
	randfile files/block-plus-1 $((_bs + 1))
	randfile files/medium 300000
	randfile files/two-mib 2097152
}

# common_sparse BIG: sparse files in sparse/.  BIG=yes adds beyond-4g,
# with data past 4 GiB: 64-bit sizes, and deep block maps.  Reading 4 GiB
# of hole costs seconds through FUSE, so only the images that need it get
# it.
common_sparse() {
	mkdir sparse
	truncate -s 10M sparse/all-hole
	randfile sparse/hole-at-end 5000 && truncate -s 3M sparse/hole-at-end
	randfile x 7000
	truncate -s 1M sparse/hole-at-start &&
		dd if=x of=sparse/hole-at-start bs=4096 seek=256 conv=notrunc status=none
	randfile sparse/hole-in-middle 8192 &&
		dd if=x of=sparse/hole-in-middle bs=1 seek=2000000 conv=notrunc status=none
	if [ "$1" = yes ]; then
		truncate -s 4G sparse/beyond-4g &&
			dd if=x of=sparse/beyond-4g bs=1 seek=$((4294967296 + 8388608 + 1000)) \
				conv=notrunc status=none
	fi
	rm -f x
}

# common_entries MAJOR MINOR [NAME]...: odd names (and NAME...) in names/,
# symlinks in links/ (to a file, to dirs/, absolute, dangling, loops, odd
# bytes), special files in special/ (a character device MAJOR:MINOR, the
# largest the format keeps), hard links in hard/, owners and modes in
# owner/.
common_entries() {
	_major=$1 _minor=$2
	shift 2

	# Odd names: spaces, control bytes, invalid UTF-8, UTF-8, 255 bytes.
	mkdir names
	for n in "with space" " leading-space" "trailing-space " "-dash" ".hidden" \
		"..." "back\\slash" "quote\"'" "*?[glob]" "ünïcødé-日本語-한국어" \
		"$(printf 'new\nline')" "$(printf 'tab\there')" "$(printf 'ctrl\001\037')" \
		"$(printf 'bad-utf8-\377\376\300')" \
		"$(printf '%0255d' 0 | tr 0 n)" "$@"; do
		printf '%s\n' "$n" >"names/$n" || die "cannot create name '$n'"
	done

	mkdir links
	ln -s ../files/medium links/to-file
	ln -s ../dirs links/to-dir
	ln -s /etc/passwd links/absolute
	ln -s does/not/exist links/dangling
	ln -s loop-b links/loop-a
	ln -s loop-a links/loop-b
	ln -s "$(printf 'odd target\nwith newline \377')" links/odd-target

	mkdir special
	mknod special/null c 1 3
	mknod special/sda b 8 0
	mknod special/nvme b 259 7
	mknod special/big-numbers c "$_major" "$_minor"
	mkfifo special/fifo
	perl -MSocket -e 'socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
		bind($s, pack_sockaddr_un($ARGV[0])) or die "bind: $!"' special/socket ||
		die "cannot create a socket file"

	# Hard links: several names across directories, of several types.
	mkdir -p hard/one hard/two
	randfile hard/one/file 3000
	ln hard/one/file hard/two/file-again
	ln hard/one/file hard/file-third
	: >hard/one/empty && ln hard/one/empty hard/two/empty-again
	ln special/fifo hard/fifo-link
	ln special/null hard/null-link
	ln -s target-of-linked-symlink hard/symlink && ln hard/symlink hard/two/symlink-again

	# Owners and modes: ids past 16 bits (past 31 too), setuid/setgid/
	# sticky, mode 0000.
	mkdir owner
	for spec in "big:70000:80000" "huge:4000000000:4000000001" "nobody:65534:65534" \
		"low:1:2"; do
		f=${spec%%:*} ids=${spec#*:}
		: >"owner/$f" && chown "$ids" "owner/$f"
	done
	mkdir owner/dir-70000 && chown 70000:70001 owner/dir-70000
	ln -s x owner/link-70000 && chown -h 70000:70002 owner/link-70000
	: >owner/setuid && chmod 4755 owner/setuid
	: >owner/setgid && chmod 2711 owner/setgid
	: >owner/all-bits && chmod 7777 owner/all-bits
	: >owner/no-bits && chmod 0000 owner/no-bits
	mkdir owner/sticky && chmod 1777 owner/sticky
}

# common_xattrs: in xattr/ (the script makes it), every namespace, empty
# values, binary ones, xattrs on a directory, a symlink and a device
# (user.* is only allowed on files and directories); POSIX ACLs in acl/:
# access ACLs, a default ACL, and files created under it (which inherit).
common_xattrs() {
	printf 'data\n' >xattr/namespaces
	setfattr -n user.u -v user-value xattr/namespaces
	setfattr -n trusted.t -v trusted-value xattr/namespaces
	setfattr -n security.s -v security-value xattr/namespaces
	setfattr -n user.empty xattr/namespaces
	setfattr -n user.binary -v 0x00ff10fe00 xattr/namespaces
	mkdir xattr/dir
	setfattr -n user.on-dir -v d xattr/dir
	setfattr -n security.on-dir -v sd xattr/dir
	ln -s namespaces xattr/symlink
	setfattr -h -n trusted.on-symlink -v l xattr/symlink
	mknod xattr/device c 1 5
	setfattr -n trusted.on-device -v c xattr/device

	mkdir -p acl/default-dir
	: >acl/file
	setfacl -m u:1000:rwx,g:2000:r,u:70000:w acl/file
	setfacl -m u:1001:rx acl/default-dir
	setfacl -d -m u:1002:rwx,g:3000:rx,o::- acl/default-dir
	: >acl/default-dir/inherits
	mkdir acl/default-dir/sub-inherits
}

# small_tree DIR LABEL: a tree that says which filesystem it is, so that
# serving the wrong partition shows up as a content difference.
small_tree() {
	mkdir -p "$1/dir" || die "cannot create $1"
	printf '%s\n' "$2" >"$1/which"
	randfile "$1/data" 300000
	setfattr -n user.which -v "$2" "$1/which"
	ln -s which "$1/dir/link"
	ln "$1/data" "$1/dir/data-link"
	mkfifo "$1/fifo"
}

# part_range DISK NUMBER: "START SIZE" in 512-byte sectors, from sfdisk's
# own dump of the table; nothing if there is no such partition.
part_range() {
	sfdisk -d "$1" | sed -n "s|^$1$2 : start= *\([0-9]*\), size= *\([0-9]*\).*|\1 \2|p"
}
