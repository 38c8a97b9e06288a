#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile XFS images.  First the ones imgfs must refuse with a reason:
# v4, a realtime volume, needsrepair, an unknown incompatible feature.
# Then a small XFS image with a directory of each form, a
# btree-format file, a remote symlink and xattrs of each form is damaged
# three ways:
#   - fuzzed fields (xfs_db fuzz -d: the field is garbled and the block's
#     CRC recomputed, so the damage gets past the checksum to the parser):
#     superblock geometry and features, AG headers, inode cores, each
#     directory and attribute form, bmbt nodes, extent records;
#   - bytes overwritten at random in metadata blocks (the checksums catch
#     these: the reader must notice and say so);
#   - truncated copies.
# Each either fails to mount with one clear line, or mounts and survives a
# full walk (every file read, every link and xattr listed): errors are
# allowed, a crashed or hung server is not.  Run the ASan/UBSan build to
# catch out-of-bounds reads that do not crash.  Skipped, with the reason,
# while imgfs does not serve XFS.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_loop
need_cmd mkfs.xfs xfs_db setfattr getfattr dd od awk perl
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"
need_kernel_fs xfs "to populate the image"

VARIANTS=${IMGFS_CORRUPT_VARIANTS:-24}
base=$TEST_TMP/base.img
mnt=$TEST_TMP/mnt
mkdir -p "$mnt"

# ---- the base image ----

# 40 MiB with two allocation groups: below the 300 MiB mkfs.xfs insists on
# for real use, which it allows for test suites (xfstests) that set these
# variables.  Copies stay cheap that way.  Otherwise, the real minimum.
truncate -s 40M "$base"
if ! TEST_DIR=$TEST_TMP TEST_DEV=$base QA_CHECK_FS=xfs \
	mkfs.xfs -q -f -b size=1024 -d agcount=2 -m rmapbt=1 "$base" >/dev/null 2>&1; then
	rm -f "$base" && truncate -s 300M "$base"
	mkfs.xfs -q -f -b size=1024 -m rmapbt=1 "$base" >"$TEST_TMP/mkfs.err" 2>&1 ||
		bail_out "mkfs.xfs failed: $(cat "$TEST_TMP/mkfs.err")"
fi

# Populated by the kernel, in a mount namespace of our own (lib.sh,
# private_mounts).
cat >"$TEST_TMP/populate.sh" <<'EOF'
set -e
mount -t xfs -o loop "$1" "$2"
cd "$2"
mkdir sf blk lf nd
: >sf/a && : >sf/b
(cd blk && seq -f "entry-%g" 1 60 | xargs touch)
(cd lf && seq -f "leaf-entry-%g" 1 250 | xargs touch)
(cd nd && seq -f "n%g" 1 700 | xargs touch)
# 100 one-block runs with holes between them: a btree-format data fork.
perl -e 'open(my $h, "+>", "frag") or die "$!"; truncate($h, 200 * 1024);
	for my $i (0 .. 99) { seek($h, 2 * $i * 1024, 0); print $h sprintf("%-1024d", $i) }
	close($h) or die "$!"'
ln -s "$(printf '%01023d' 0)" longlink
ln -s short shortlink
head -c 100000 /dev/urandom >data
ln data data-link
: >xs && setfattr -n user.a -v 1 xs
: >xl
for i in 1 2 3; do setfattr -n "user.l$i" -v "$(printf '%0200d' "$i")" xl; done
: >xn
for i in 1 2 3 4 5 6; do setfattr -n "user.n$i" -v "$(printf '%0200d' "$i")" xn; done
: >xr && setfattr -n user.r -v "$(printf '%05000d' 1)" xr
mknod dev c 1 3
mkfifo fifo
cd /
umount "$2"
EOF
private_mounts sh "$TEST_TMP/populate.sh" "$base" "$mnt" >"$TEST_TMP/populate.err" 2>&1 ||
	bail_out "cannot populate the base image: $(cat "$TEST_TMP/populate.err")"

# ---- does imgfs serve XFS yet? ----

if ! imgfs_mount "$base" "$mnt" >"$TEST_TMP/probe.err" 2>&1; then
	if grep -q -i -e 'xfs filesystem is not supported' -e 'unsupported filesystem type xfs' \
		"$TEST_TMP/probe.err"; then
		skip_all "imgfs does not serve XFS yet: $(head -n 1 "$TEST_TMP/probe.err")"
	fi
	not_ok "the undamaged image mounts"
	diag_file "$TEST_TMP/probe.err"
else
	ok "the undamaged image mounts"
	unmount "$mnt"
fi

# ---- outcomes ----

# Walk everything: every entry listed and examined, every file read,
# every link read, every xattr listed and read.  Errors are expected, a
# dead connection or a hang is not: the final stat of the root must work.
# (A few processes for the whole tree, not a few per file.)
walk() {
	bounded 120 sh -c '
		ls -laR "$1" >/dev/null 2>&1
		find "$1" -xdev -type f -exec cat {} + >/dev/null 2>&1
		find "$1" -xdev -type l -exec readlink {} + >/dev/null 2>&1
		getfattr -R -h -d -m - "$1" >/dev/null 2>&1
		stat "$1" >/dev/null' sh "$1"
}

survived=0
refused=0
# left_behind: what is still there once the servers have had their 5 s
# (lib.sh), then gone: mounts unmounted, our servers ended, so that the
# next case starts clean.
left_behind() {
	settled_leftovers >"$TEST_TMP/left"
	[ -s "$TEST_TMP/left" ] || return 1
	for m in $(mounts_under "$TEST_TMP"); do unmount "$m"; done
	for p in $(our_servers); do kill -KILL "$p" 2>/dev/null; done
	return 0
}

# outcome DESC IMAGE: mount IMAGE, walk it, unmount: one test line.  The
# image is kept (and the scratch directory with it) when the case fails.
outcome() {
	if imgfs_mount "$2" "$mnt" 2>"$TEST_TMP/err" >/dev/null; then
		if walk "$mnt"; then
			res="mounted, walked, the server still answers"
			survived=$((survived + 1))
		else
			res="FAIL: the walk hung or the server died"
		fi
		unmount "$mnt"
	elif [ "$(wc -l <"$TEST_TMP/err")" -eq 1 ]; then
		res="refused: $(cat "$TEST_TMP/err")"
		refused=$((refused + 1))
	else
		res="FAIL: refused without exactly one line: $(head -c 300 "$TEST_TMP/err" | tr '\n' ' ')"
	fi
	if left_behind; then
		res="FAIL: $res, but left behind: $(tr '\n' ' ' <"$TEST_TMP/left")"
	fi
	case $res in
	FAIL:*)
		not_ok "$1: ${res#FAIL: } (image kept: $2)"
		IMGFS_TEST_KEEP=1;;
	*)
		ok "$1: $res"
		rm -f "$2";;
	esac
}

# ---- refused, with one line naming the reason ----

# refused DESC IMAGE PATTERN: the mount must fail with exactly one line,
# and that line must match PATTERN (grep -i -E): the reason.
refused() {
	if imgfs_mount "$2" "$mnt" 2>"$TEST_TMP/err" >/dev/null; then
		not_ok "$1: refused (it mounted)"
		unmount "$mnt"
	elif [ "$(wc -l <"$TEST_TMP/err")" -eq 1 ] &&
		sed "s|$2||g" "$TEST_TMP/err" | grep -q -i -E "$3"; then
		ok "$1: refused: $(cat "$TEST_TMP/err")"
	else
		not_ok "$1: refused with one line naming the reason ($3)"
		diag_file "$TEST_TMP/err"
	fi
	rm -f "$2"
}

# small_mkfs IMAGE MKFS-OPTIONS...: an empty filesystem as small as the
# base image.
small_mkfs() {
	_img=$1
	shift
	rm -f "$_img" && truncate -s 40M "$_img"
	TEST_DIR=$TEST_TMP TEST_DEV=$_img QA_CHECK_FS=xfs \
		mkfs.xfs -q -f "$@" "$_img" >"$TEST_TMP/mkfs.err" 2>&1 && return 0
	rm -f "$_img" && truncate -s 300M "$_img"
	mkfs.xfs -q -f "$@" "$_img" >"$TEST_TMP/mkfs.err" 2>&1
}

# set_incompat IMAGE BITS: OR BITS into the superblock's incompatible
# features (checksum recomputed).
set_incompat() {
	_v=$(xfs_db -r -c 'sb 0' -c 'print features_incompat' "$1" | sed 's/.* = //')
	_want=$(printf '%#x' $((_v | $2)))
	xfs_db -x -c 'sb 0' -c "write -d features_incompat $_want" "$1" >/dev/null 2>&1
	[ "$(xfs_db -r -c 'sb 0' -c 'print features_incompat' "$1" 2>/dev/null |
		sed 's/.* = //')" = "$_want" ] || bail_out "xfs_db cannot set features_incompat $_want"
}

img=$TEST_TMP/refuse-1.img
if small_mkfs "$img" -m crc=0; then
	refused "a v4 filesystem" "$img" 'v4|version 4|crc'
else
	skip "a v4 filesystem" "mkfs.xfs -m crc=0 failed: $(head -n 1 "$TEST_TMP/mkfs.err")"
fi
img=$TEST_TMP/refuse-2.img
truncate -s 16M "$TEST_TMP/rtdev.img"
if small_mkfs "$img" -r rtdev="$TEST_TMP/rtdev.img"; then
	refused "a filesystem with a realtime volume" "$img" 'realtime|real-time|rtdev|rt dev|rt vol'
else
	skip "a filesystem with a realtime volume" "mkfs.xfs -r rtdev= failed: $(head -n 1 "$TEST_TMP/mkfs.err")"
fi
rm -f "$TEST_TMP/rtdev.img"
img=$TEST_TMP/refuse-3.img
cp --sparse=always "$base" "$img"
set_incompat "$img" 16	# XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR
refused "the needsrepair flag" "$img" 'repair'
img=$TEST_TMP/refuse-4.img
cp --sparse=always "$base" "$img"
set_incompat "$img" $((1 << 29))
refused "an unknown incompatible feature" "$img" 'incompat|feature|unknown|unsupported'

# ---- fuzzed fields, checksums recomputed ----

db() {
	xfs_db -r "$base" "$@" 2>/dev/null
}
root=$(db -c 'sb 0' -c 'print rootino' | sed 's/.* = //')
bs=$(db -c 'sb 0' -c 'print blocksize' | sed 's/.* = //')
leaf=$((34359738368 / bs))	# directory offset of the hash index

# One case a line: xfs_db commands to reach the structure (separated by
# ';'), the field, the fuzz action.
cat >"$TEST_TMP/cases" <<EOF
sb 0|magicnum|firstbit
sb 0|versionnum|zeroes
sb 0|blocklog|add
sb 0|blocksize|ones
sb 0|sectsize|zeroes
sb 0|inodesize|middlebit
sb 0|inopblog|add
sb 0|agblklog|sub
sb 0|agcount|zeroes
sb 0|agblocks|ones
sb 0|dblocks|firstbit
sb 0|rootino|add
sb 0|dirblklog|ones
sb 0|features_incompat|firstbit
sb 0|features_incompat|lastbit
sb 0|features_ro_compat|firstbit
agi 0|root|ones
agi 0|level|ones
agf 0|bnoroot|zeroes
inode $root|core.magic|lastbit
inode $root|core.format|add
inode $root|core.mode|firstbit
inode $root|core.size|ones
inode $root|core.forkoff|ones
inode $root|u3.sfdir3.hdr.count|ones
inode $root|u3.sfdir3.hdr.i8count|add
inode $root|u3.sfdir3.list[3].namelen|zeroes
inode $root|u3.sfdir3.list[3].inumber.i4|ones
inode $root|u3.sfdir3.list[4].filetype|ones
path /blk|core.size|ones
path /blk;dblock 0|bhdr.hdr.owner|add
path /blk;dblock 0|bhdr.bestfree[0].length|ones
path /blk;dblock 0|bu[3].namelen|zeroes
path /blk;dblock 0|bu[3].inumber|ones
path /blk;dblock 0|bleaf[5].address|ones
path /lf;dblock $leaf|lhdr.count|ones
path /lf;dblock $leaf|lents[3].address|ones
path /nd|core.nextents|ones
path /nd;dblock $leaf|nhdr.count|ones
path /nd;dblock $leaf|nhdr.level|ones
path /nd;dblock $leaf|nbtree[0].before|ones
path /frag|u3.bmbt.level|ones
path /frag|u3.bmbt.numrecs|ones
path /frag|u3.bmbt.ptrs[1]|ones
path /frag;addr u3.bmbt.ptrs[1]|level|ones
path /frag;addr u3.bmbt.ptrs[1]|numrecs|ones
path /frag;addr u3.bmbt.ptrs[1]|recs[2].startblock|ones
path /frag;addr u3.bmbt.ptrs[1]|recs[2].startoff|firstbit
path /data|v3.inumber|add
path /data|core.nlinkv2|zeroes
path /data|core.nextents|add
path /data|core.size|ones
path /data|u3.bmx[0].startblock|ones
path /data|u3.bmx[0].blockcount|ones
path /data|u3.bmx[0].startoff|firstbit
path /longlink|core.size|ones
path /longlink|u3.bmx[0].blockcount|zeroes
path /shortlink|core.size|ones
path /xs|a.sfattr.hdr.totsize|ones
path /xs|a.sfattr.hdr.count|ones
path /xs|a.sfattr.list[0].namelen|ones
path /xs|a.sfattr.list[0].valuelen|ones
path /xl;ablock 0|hdr.count|ones
path /xl;ablock 0|hdr.firstused|zeroes
path /xl;ablock 0|entries[0].nameidx|ones
path /xn;ablock 0|hdr.count|ones
path /xn;ablock 0|hdr.level|add
path /xn;ablock 0|btree[1].before|ones
path /xr|core.aformat|add
path /xr;ablock 0|nvlist[0].valueblk|ones
path /xr;ablock 0|nvlist[0].valuelen|ones
path /xr;ablock 1|hdr.bytes|ones
path /dev|u3.dev|ones
EOF

n=0
while IFS='|' read -r where field action <&3; do
	desc="fuzz $where: $field $action"
	n=$((n + 1))
	img=$TEST_TMP/fuzz-$n.img
	cp --sparse=always "$base" "$img"
	set --
	old_ifs=$IFS
	IFS=';'
	for c in $where; do set -- "$@" -c "$c"; done
	IFS=$old_ifs
	xfs_db -x "$@" -c "fuzz -d $field $action" "$img" >"$TEST_TMP/fuzz.out" 2>&1
	if grep -q -i -e 'not found' -e 'invalid' -e 'bad command' -e 'unknown' "$TEST_TMP/fuzz.out" ||
		cmp -s "$base" "$img"; then
		not_ok "$desc: xfs_db did not apply it (test bug)"
		diag_file "$TEST_TMP/fuzz.out"
		rm -f "$img"
		continue
	fi
	outcome "$desc" "$img"
done 3<"$TEST_TMP/cases"

# ---- random bytes in metadata blocks ----

# Regions (byte offset, length) holding metadata: each AG's headers and
# btree roots, the inodes, directory, attribute, symlink and bmbt blocks.
# The bytes are chosen from these, so nearly every change hits metadata.
regions=$TEST_TMP/regions
: >"$regions"
agcount=$(db -c 'sb 0' -c 'print agcount' | sed 's/.* = //')
agblocks=$(db -c 'sb 0' -c 'print agblocks' | sed 's/.* = //')
a=0
while [ $a -lt "$agcount" ]; do
	start=$((a * agblocks * bs))
	echo "$start 2048" >>"$regions"
	for r in $(db -c "agf $a" -c 'print bnoroot cntroot rmaproot refcntroot' -c "agi $a" \
		-c 'print root free_root' | sed 's/.* = //'); do
		echo "$((start + r * bs)) $bs" >>"$regions"
	done
	a=$((a + 1))
done
isize=$(db -c 'sb 0' -c 'print inodesize' | sed 's/.* = //')
for p in / /sf /blk /lf /nd /frag /longlink /shortlink /data /xs /xl /xn /xr /dev /fifo; do
	ino=$(db -c "path $p" -c 'print v3.inumber' | sed 's/.* = //')
	off=$(db -c "convert ino $ino byte" | sed 's/.*(\([0-9]*\)).*/\1/')
	echo "$off $isize" >>"$regions"
	db -c "path $p" -c 'bmap -d' -c 'bmap -a' | sed -n 's/.*startblock \([0-9]*\) .* count \([0-9]*\) .*/\1 \2/p' |
		while read -r fsb count; do
			# Data blocks of regular files are not metadata.
			case $p in /frag|/data) break;; esac
			echo "$(db -c "convert fsb $fsb byte" | sed 's/.*(\([0-9]*\)).*/\1/') $((count * bs))"
		done >>"$regions"
done
ptr=$(db -c 'path /frag' -c 'print u3.bmbt.ptrs' | sed -n 's/.* 1:\([0-9]*\).*/\1/p')
[ -z "$ptr" ] || echo "$(db -c "convert fsb $ptr byte" | sed 's/.*(\([0-9]*\)).*/\1/') $bs" >>"$regions"

diag "$(wc -l <"$regions") metadata regions to flip bytes in"

# flip IMAGE SEED: 16 bytes at places drawn from the regions.
flip() {
	awk -v seed="$2" '{ off[NR] = $1; len[NR] = $2 }
		END { srand(seed); for (i = 0; i < 16; i++) { r = 1 + int(rand() * NR)
			printf "%d %d\n", off[r] + int(rand() * len[r]), int(rand() * 256) } }' "$regions" |
	while read -r off val; do
		printf "$(printf '\\%03o' "$val")" |
			dd of="$1" bs=1 seek="$off" conv=notrunc status=none
	done
}

for seed in $(seq 1 "$VARIANTS"); do
	img=$TEST_TMP/flip-$seed.img
	cp --sparse=always "$base" "$img"
	flip "$img" "$seed"
	outcome "bytes flipped, seed $seed" "$img"
done

# ---- truncated images ----

size=$(stat -c %s "$base")
for cut in 512 65536 1048576 $((size / 2)) $((size - bs)); do
	img=$TEST_TMP/truncated-$cut.img
	cp --sparse=always "$base" "$img"
	truncate -s "$cut" "$img"
	outcome "truncated at $cut bytes" "$img"
done

# ---- damage the kernel notices, on the same image ----

# xcase DESC EXPECT PATHS XFS_DB-ARG...: a copy of the base image changed
# by xfs_db -x XFS_DB-ARG... (checksums recomputed: write -d), or by $poke
# when the only argument is -; the kernel and imgfs must see the same of
# each of PATHS (as_kernel in lib.sh), and the kernel must see EXPECT.
xcase() {
	_d=$1 _e=$2 _p=$3
	shift 3
	_img=$TEST_TMP/xcase.img
	cp --sparse=always "$base" "$_img"
	if [ "$1" = - ]; then
		eval "$poke"
	else
		xfs_db -x "$@" "$_img" >"$TEST_TMP/xcase.out" 2>&1
		if cmp -s "$base" "$_img"; then
			not_ok "$_d: xfs_db did not apply it (test bug)"
			diag_file "$TEST_TMP/xcase.out"
			return
		fi
	fi
	# shellcheck disable=SC2086 # PATHS is a list
	as_kernel "$_d" xfs "$_img" "$_e" $_p
	rm -f "$_img"
}
corrupt='Input/output error'
xcase "a data extent at block 0 (the superblock)" "^data: .*$corrupt" "data frag" \
	-c 'path /data' -c 'write -d u3.bmx[0].startblock 0'
xcase "a data extent at the AGFL's block" "^data: .*$corrupt" "data frag" \
	-c 'path /data' -c "write -d u3.bmx[0].startblock $((3 * $(db -c 'sb 0' -c 'print sectsize' |
		sed 's/.* = //') / bs))"
xcase "a local symlink whose size runs past its target" "^shortlink: .*$corrupt" "shortlink longlink" \
	-c 'path /shortlink' -c 'write -d core.size 40'
# The last bmbt leaf of frag overwritten with random bytes: the kernel
# reads every leaf before any data (xfs_iread_extents), so frag fails
# from its first byte.
nleaves=$(db -c 'path /frag' -c 'print u3.bmbt.numrecs' | sed 's/.* = //')
lastleaf=$(db -c 'path /frag' -c "print u3.bmbt.ptrs[$nleaves]" | sed 's/.* = //')
leafoff=$(db -c "convert fsb $lastleaf byte" | sed 's/.*(\([0-9]*\)).*/\1/')
poke='head -c 512 /dev/urandom | dd of="$_img" bs=1 seek=$((leafoff + 100)) conv=notrunc status=none'
xcase "a bmbt leaf of random bytes" "^frag: 0 bytes, then $corrupt" "frag data" -

diag "$survived mounted and survived a walk, $refused refused at mount"
assert_clean "nothing left behind"
done_testing
