# SPDX-License-Identifier: GPL-2.0-or-later
# tests/mkcorpus-ext4.sh OUTDIR: build the ext2/3/4 image corpus.
#
# Every on-disk variant the ext4 backend claims gets an image: block sizes
# 1k/2k/4k; ext2 and ext3 block maps; ext4 extents with 64bit and
# metadata_csum, and the older uninit_bg layout; 128-, 256- and 1024-byte
# inodes; inline_data files and directories; hashed directories (one with a
# two-level index); sparse files, a file with data past 4 GiB (triple
# indirect blocks on the block-mapped images), a file with a depth-2 extent
# tree, unwritten extents; xattrs in the inode, in an external block and in
# EA inodes, in the user, trusted and security namespaces, POSIX ACLs;
# fast, slow and 4095-byte symlinks; devices, FIFOs, sockets; hard links;
# nanosecond timestamps before 1970 and after 2038; ids above 65535; odd
# names.  Plus a GPT and an MBR disk image for partition= and offset=.
#
# How: a source tree is made on the host and copied in with `mke2fs -d`;
# what mke2fs cannot express is added with debugfs (timestamps with
# nanoseconds and epoch bits, preallocated blocks) and by the kernel itself
# through a read-write loop mount (fallocate'd unwritten extents, EA-inode
# xattrs, files the kernel's allocator lays out); then `e2fsck -fyD`
# indexes the directories.  Each claimed property is checked with debugfs
# afterwards, so the corpus cannot silently get weaker; the script fails
# if one is missing.
#
# OUTDIR gets NAME.img for each image and, for disk images, NAME.img.parts
# with one line per partition to test: "NUMBER BYTE_OFFSET BYTE_SIZE".
# Needs root (mknod, chown, loop mounts).  Images are sparse files of
# 64 MiB or less (a few MiB used); the whole corpus takes seconds.

set -u
# The read-write loop mounts below happen in a mount namespace of our own
# (tests/private-ns.sh).
if [ -z "${MKCORPUS_PRIVATE_NS:-}" ] && [ "$(id -u)" -eq 0 ]; then
	MKCORPUS_PRIVATE_NS=1 exec sh "$(dirname "$0")/private-ns.sh" sh "$0" "$@"
fi
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/corpus-lib.sh"

[ $# -eq 1 ] || die "usage: mkcorpus-ext4.sh OUTDIR"
corpus_setup "$1" mke2fs debugfs e2fsck sfdisk setfacl setfattr perl losetup

# ---- the source tree ----

# populate DIR BLOCKSIZE INODESIZE BIG: everything mke2fs -d can copy, the
# entries of tests/corpus-lib.sh and ext4's own; BIG=yes adds the file
# with data past 4 GiB: on block-mapped images the triple-indirect tree
# (from 64 MiB with 1k blocks, from 4 GiB + 4 MiB with 4k).  (Sparse
# files: mke2fs -d keeps holes, it skips zero blocks.)
populate() {
	d=$1 bs=$2 isz=$3 big=$4
	mkdir -p "$d" && cd "$d" || die "cannot enter $d"

	common_files "$bs"
	common_sparse "$big"
	# Tiny files: inline candidates (up to 60 bytes fit in i_block, more
	# in the system.data xattr).
	randfile files/size-59 59
	randfile files/size-60 60
	randfile files/size-61 61
	randfile files/size-150 150
	randfile files/size-700 700

	# Fragmented: 1500 runs of 4 KiB of data each followed by a 4 KiB hole
	# give 1500 extents, more than two levels of extent blocks hold below
	# the inode (4 x 340 at 4 KiB blocks), so the tree has depth 2.  Every
	# run's text names its run, so a misplaced block shows.
	perl -e 'for my $i (0 .. 1499) {
		print substr(sprintf("run %06d ", $i) x 373, 0, 4096), "\0" x 4096 }' >frag

	# Directories: empty ones, a deep chain, one with many subdirectories
	# (link counts), and hashed ones: "many" has 1200 names of ~190 bytes,
	# enough leaf blocks for a two-level htree with 1 KiB blocks.
	mkdir -p empty/a/b/c dirs
	i=0
	while [ $i -lt 40 ]; do mkdir dirs/sub$i; i=$((i + 1)); done
	deep=deep
	i=0
	while [ $i -lt 200 ]; do deep=$deep/d; i=$((i + 1)); done
	mkdir -p "$deep" && echo bottom >"$deep/file"
	mkdir many
	pad=$(printf '%0180d' 0)
	(cd many && seq -f "%05g-$pad" 1 1200 | xargs touch) || die "cannot fill many/"
	mkdir medium-dir
	(cd medium-dir && seq -f "entry%g" 1 300 | xargs touch)
	# Small directories: inline on inline_data images.
	mkdir -p inline/dir-empty inline/dir-small
	printf 'inline\n' >inline/dir-small/a
	printf 'data\n' >inline/dir-small/b
	printf 'short inline file\n' >inline/small
	randfile inline/in-xattr 120

	# The entries both corpora have (the largest device numbers need the
	# "new" encoding; ids past 16 bits are stored in two halves on disk),
	# plus a name of 85 three-byte characters, a directory among the odd
	# names, symlinks up to the block size, a terminal, a setgid directory.
	common_entries 4095 1048575 \
		"$(i=0; s=; while [ $i -lt 85 ]; do s="$s語"; i=$((i + 1)); done; echo "$s")"
	mkdir "names/dir with space"
	: >"names/dir with space/inner"

	# Symlinks: fast (< 60 bytes, in the inode), slow (in a block), the
	# longest the block size allows (a symlink lives in one block; Linux
	# allows 4095 bytes).
	for n in 1 59 60 61 500 1000; do
		ln -s "$(printf "%0${n}d" 0 | tr 0 t)" "links/len-$n"
	done
	if [ "$bs" -ge 2048 ]; then
		ln -s "$(printf '%02000d' 0 | tr 0 t)" links/len-2000
	fi
	if [ "$bs" -ge 4096 ]; then
		ln -s "$(printf '%04000d' 0 | tr 0 t)" links/len-4000
		ln -s "$(printf '%04095d' 0 | tr 0 t)" links/len-4095
	fi
	mknod special/tty c 4 64
	mkdir owner/setgid-dir && chmod 2775 owner/setgid-dir

	# Extended attributes.  In the inode: small values (256-byte inodes
	# and larger).  External block: more than the inode holds, but one
	# value must fit a block.  (POSIX ACLs are ext4's compact format on
	# disk, converted back to the xattr format by the reader.)
	mkdir xattr
	: >xattr/in-inode
	setfattr -n user.a -v 1 xattr/in-inode
	setfattr -n user.b -v hello xattr/in-inode
	# (900 bytes with 1 KiB blocks: more than a 1024-byte inode holds.)
	: >xattr/external
	xlen=$((bs / 2 + 300))
	[ "$bs" -gt 1024 ] || xlen=900
	setfattr -n user.big -v "$(printf "%0${xlen}d" 0 | tr 0 v)" xattr/external
	: >xattr/many
	i=10
	while [ $i -lt 40 ]; do
		setfattr -n "user.n$i" -v "value $i" xattr/many
		i=$((i + 1))
	done
	# Namespaces; xattrs on a directory, a symlink, a device; POSIX ACLs.
	common_xattrs

	# Timestamps with nanoseconds and the extra epoch bits are set after
	# mke2fs (which drops both) by set_times; the files just exist here.
	mkdir time
	for f in ns pre1970 min32 y2038-before y2038-after y2106 y2200 max dir link; do
		case $f in
		dir) mkdir time/dir;;
		link) ln -s ns time/link;;
		*) printf '%s\n' "$f" >"time/$f";;
		esac
	done

	# Extent-mapped images get files for the kernel and debugfs to
	# preallocate (see kernel_pass, set_times).
	# (Data at the start keeps it out of inline_data, where mke2fs would put
	# an all-hole file, whatever its size.)
	mkdir prealloc
	randfile prealloc/debugfs 8192 && truncate -s 1M prealloc/debugfs

	# A marker for which image this is.
	printf 'blocksize %s inodesize %s\n' "$bs" "$isz" >which
	setfattr -n user.root -v top .
	cd - >/dev/null
}

# Times for set_times: PATH MTIME_SEC MTIME_NS CTIME_SEC CTIME_NS.  ext4
# keeps 32 signed bits of seconds, plus two epoch bits and the
# nanoseconds in *_extra (256-byte inodes): from 1901-12-13 to 2446-05-10.
TIMES='
/time/ns 1234567890 123456789 1234567891 987654321
/time/pre1970 -1000000000 1 -999999999 999999999
/time/min32 -2147483648 0 -2147483648 500000000
/time/y2038-before 2147483647 999999999 2147483647 1
/time/y2038-after 2147483648 0 2147483649 2
/time/y2106 4294967296 500000000 4294967297 3
/time/y2200 7258118400 42 7258118401 4
/time/max 15032385535 999999999 15032385534 5
/time/dir 1700000000 111111111 1700000001 222222222
/time/link 1600000000 333333333 1600000001 444444444
'

# ext4's *_extra: nanoseconds << 2 | epoch, the epoch being what lifts the
# signed 32-bit seconds into range: floor((sec + 2^31) / 2^32).
time_extra() {
	echo $(( ($2 << 2) | ((($1 + 2147483648) >> 32) & 3) ))
}

# set_times IMAGE INODESIZE: set mtime/ctime/atime of the time/ files.
# 128-byte inodes have no *_extra: only the 32-bit seconds there.
set_times() {
	echo "$TIMES" | while read -r p ms mns cs cns; do
		[ -n "$p" ] || continue
		if [ "$2" -le 128 ]; then
			[ "$ms" -ge -2147483648 ] && [ "$ms" -le 2147483647 ] || continue
			[ "$cs" -ge -2147483648 ] && [ "$cs" -le 2147483647 ] || continue
			echo "sif $p mtime @$ms"
			echo "sif $p ctime @$cs"
			echo "sif $p atime @$ms"
		else
			echo "sif $p mtime @$ms"
			echo "sif $p mtime_extra $(time_extra "$ms" "$mns")"
			echo "sif $p ctime @$cs"
			echo "sif $p ctime_extra $(time_extra "$cs" "$cns")"
			echo "sif $p atime @$ms"
			echo "sif $p atime_extra $(time_extra "$ms" 7)"
		fi
	done >"$TEST_TMP/times.cmd"
	debugfs -w -f "$TEST_TMP/times.cmd" "$1" >"$TEST_TMP/debugfs.log" 2>&1 ||
		die "debugfs sif failed on $1: $(cat "$TEST_TMP/debugfs.log")"
	if grep -q -i -e 'error' -e 'invalid' -e 'not found' "$TEST_TMP/debugfs.log"; then
		die "debugfs complained on $1: $(grep -i -e error -e invalid -e 'not found' "$TEST_TMP/debugfs.log")"
	fi
}

# kernel_pass IMAGE FEATURES: changes only the kernel makes, through a
# read-write loop mount: unwritten extents (whole, and split by a write in
# the middle, and beyond EOF), xattr values too big for a block (EA
# inodes), and a file laid out by the kernel's own allocator.
kernel_pass() {
	mnt=$TEST_TMP/rw
	mkdir -p "$mnt"
	mount -t ext4 -o loop,noatime "$1" "$mnt" || die "cannot loop-mount $1 read-write"
	randfile "$mnt/kernel-written" 200000
	case $2 in
	*extent*)
		fallocate -l 1M "$mnt/prealloc/unwritten"
		fallocate -l 1M "$mnt/prealloc/partly-written"
		printf 'written in the middle of an unwritten extent\n' |
			dd of="$mnt/prealloc/partly-written" bs=4096 seek=100 conv=notrunc status=none
		printf 'eight bytes' >"$mnt/prealloc/beyond-eof"
		fallocate -n -o 0 -l 256K "$mnt/prealloc/beyond-eof";;
	esac
	case $2 in
	*ea_inode*)
		: >"$mnt/xattr/ea-inode"
		head -c 20000 /dev/urandom >"$TEST_TMP/bigvalue"
		setfattr -n user.ea-inode-value -v "0x$(od -An -v -tx1 "$TEST_TMP/bigvalue" | tr -d ' \n')" \
			"$mnt/xattr/ea-inode" || die "cannot set a 20000-byte xattr";;
	esac
	umount "$mnt" || die "cannot unmount $mnt"
}

# ---- checks: the corpus must have what it claims ----

dbg() {
	debugfs -R "$2" "$1" 2>/dev/null
}

# need_prop IMAGE WHAT DEBUGFS-REQUEST GREP-PATTERN
need_prop() {
	dbg "$1" "$3" | grep -q -e "$4" || die "$(basename "$1"): no $2 (debugfs '$3' lacks '$4')"
	checked="$checked $2"
}

verify() {
	img=$1 feats=$2 bs=$3 isz=$4 big=$5
	checked=
	need_prop "$img" htree "htree /many" "Root node dump"
	[ "$bs" -ne 1024 ] || need_prop "$img" htree-2-level "htree /many" "Indirect levels: 1"
	need_prop "$img" fast-symlink "stat /links/len-59" "Fast link dest"
	dbg "$img" "stat /links/len-1000" | grep -q "Fast link dest" &&
		die "$(basename "$img"): /links/len-1000 is not a slow symlink"
	checked="$checked slow-symlink"
	need_prop "$img" external-xattr-block "stat /xattr/external" "File ACL: [1-9]"
	if [ "$isz" -gt 128 ]; then
		need_prop "$img" in-inode-xattr "stat /xattr/in-inode" "File ACL: 0"
		need_prop "$img" in-inode-xattr-value "stat /xattr/in-inode" "user.b (5) = \"hello\""
	fi
	case $big:$feats in
	yes:*extent*) need_prop "$img" beyond-4GiB "stat /sparse/beyond-4g" "Size: 43033";;
	yes:*)
		need_prop "$img" beyond-4GiB "stat /sparse/beyond-4g" "Size: 43033"
		need_prop "$img" triple-indirect "stat /sparse/beyond-4g" "(TIND)";;
	esac
	case $feats in
	*extent*)
		need_prop "$img" extent-depth-2 "ex /frag" "^ *[0-9]/ *[2-9] "
		need_prop "$img" unwritten-extents "ex /prealloc/partly-written" "Uninit"
		need_prop "$img" debugfs-prealloc "ex /prealloc/debugfs" "Uninit";;
	*)
		need_prop "$img" double-indirect "stat /frag" "(DIND)";;
	esac
	case $feats in
	*inline_data*)
		need_prop "$img" inline-file "stat /inline/small" "Size of inline data"
		need_prop "$img" inline-dir "stat /inline/dir-small" "Size of inline data"
		need_prop "$img" inline-symlink "stat /links/len-61" "Flags: 0x10000000";;
	esac
	case $feats in
	*ea_inode*)
		need_prop "$img" ea-inode-xattr "stat /xattr/ea-inode" "user.ea-inode-value.*20000";;
	esac
	[ "$isz" -le 128 ] || need_prop "$img" ns-timestamps "stat /time/y2200" "mtime: 0x[0-9a-f]*:000000aa"
	need_prop "$img" acl "stat /acl/file" "system.posix_acl_access"
}

# ---- the images ----

# mkimage NAME BLOCKSIZE INODESIZE BIG MKE2FS-OPTIONS...
mkimage() {
	name=$1 bs=$2 isz=$3 big=$4
	shift 4
	img=$OUT/$name.img
	src=$TEST_TMP/src-$name
	rm -f "$img"
	populate "$src" "$bs" "$isz" "$big"
	truncate -s 64M "$img"
	mke2fs -q -F -b "$bs" -I "$isz" -L "$name" -d "$src" "$@" "$img" >"$TEST_TMP/mke2fs.log" 2>&1 ||
		die "mke2fs $* failed for $name: $(cat "$TEST_TMP/mke2fs.log")"
	rm -rf "$src"
	feats=$(dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Filesystem features: *//p')
	set_times "$img" "$isz"
	case $feats in
	*extent*)
		# Preallocated blocks, as libext2fs makes them: unwritten extents.
		debugfs -w -R "fallocate /prealloc/debugfs 16 47" "$img" >/dev/null 2>&1 ||
			die "debugfs fallocate failed on $name";;
	esac
	kernel_pass "$img" "$feats"
	# Index every directory of more than a block (mke2fs -d writes them
	# linear), then insist on a clean filesystem.
	e2fsck -fyD "$img" >"$TEST_TMP/fsck.log" 2>&1
	[ $? -le 1 ] || die "e2fsck -fyD failed on $name: $(cat "$TEST_TMP/fsck.log")"
	e2fsck -fn "$img" >"$TEST_TMP/fsck.log" 2>&1 ||
		die "$name is not clean after e2fsck -fyD: $(cat "$TEST_TMP/fsck.log")"
	verify "$img" "$feats" "$bs" "$isz" "$big"
	printf '%s: %s-byte blocks, %s-byte inodes, %s KiB used; features: %s\n  verified:%s\n' \
		"$name.img" "$bs" "$isz" "$(du -k "$img" | cut -f1)" "$feats" "$checked"
}

#       name                         block inode >4GiB  mke2fs options
mkimage ext2-1k                      1024  256   yes    -t ext2
mkimage ext2-4k-i128                 4096  128   yes    -t ext2
mkimage ext3-2k                      2048  256   no     -t ext3
mkimage ext4-1k                      1024  256   no     -t ext4 \
	-O extent,64bit,metadata_csum,huge_file,flex_bg,dir_nlink,extra_isize
mkimage ext4-2k-uninit_bg            2048  256   no     -t ext4 \
	-O extent,^64bit,^metadata_csum,uninit_bg,flex_bg
mkimage ext4-4k                      4096  256   yes    -t ext4 \
	-O extent,64bit,metadata_csum,huge_file,flex_bg,dir_nlink,extra_isize
mkimage ext4-4k-inline               4096  256   no     -t ext4 \
	-O extent,64bit,metadata_csum,inline_data
mkimage ext4-1k-i1024-inline-eainode 1024  1024  no     -t ext4 \
	-O extent,64bit,metadata_csum,inline_data,ea_inode

# ---- disk images with partition tables ----

# part_fs DISK NUMBER LABEL MKE2FS-OPTIONS...: put a filesystem with a
# small_tree into partition NUMBER of DISK and record it in DISK.parts.
part_fs() {
	disk=$1 num=$2 label=$3
	shift 3
	range=$(part_range "$disk" "$num")
	[ -n "$range" ] || die "no partition $num in $disk"
	start=${range% *} size=${range#* }
	rm -rf "$TEST_TMP/part-src" && small_tree "$TEST_TMP/part-src" "$label"
	part=$TEST_TMP/part.img
	rm -f "$part" && truncate -s $((size * 512)) "$part"
	mke2fs -q -F -L "$label" -d "$TEST_TMP/part-src" "$@" "$part" >"$TEST_TMP/mke2fs.log" 2>&1 ||
		die "mke2fs for $label failed: $(cat "$TEST_TMP/mke2fs.log")"
	dd if="$part" of="$disk" bs=512 seek="$start" conv=notrunc,sparse status=none ||
		die "cannot copy $label into $disk"
	rm -f "$part"
	echo "$num $((start * 512)) $((size * 512))" >>"$disk.parts"
}

# GPT: partition 1 is a decoy, 2 the one to find.
disk=$OUT/gpt-ext4.img
rm -f "$disk" "$disk.parts"
truncate -s 40M "$disk"
sfdisk -q "$disk" >/dev/null <<EOF || die "sfdisk (gpt) failed"
label: gpt
start=2048, size=4096, type=linux, name=decoy
start=8192, size=61440, type=linux, name=target
EOF
part_fs "$disk" 1 "gpt partition 1 (decoy)" -t ext2 -b 1024
part_fs "$disk" 2 "gpt partition 2" -t ext4
printf '%s: GPT disk; partitions (number offset size): %s\n' "$(basename "$disk")" \
	"$(tr '\n' ';' <"$disk.parts")"

# MBR: a primary decoy, and the target as logical partition 5 inside an
# extended partition (its offset is only found through the EBR chain).
disk=$OUT/mbr-ext4.img
rm -f "$disk" "$disk.parts"
truncate -s 40M "$disk"
sfdisk -q "$disk" >/dev/null <<EOF || die "sfdisk (dos) failed"
label: dos
start=2048, size=4096, type=83
start=8192, size=71680, type=5
start=10240, size=61440, type=83
EOF
part_fs "$disk" 1 "mbr partition 1 (decoy)" -t ext3 -b 2048
part_fs "$disk" 5 "mbr partition 5" -t ext4 -b 4096
printf '%s: MBR disk; partitions (number offset size): %s\n' "$(basename "$disk")" \
	"$(tr '\n' ';' <"$disk.parts")"
