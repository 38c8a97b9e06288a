#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# File contents are right whatever order a reader takes: imgfs pushes the
# data of the next small files into the kernel's cache when a directory's
# files are read in listing order (tar, cp -r), and the next megabytes of
# a large file read from start to end, so read trees in listing order, in
# reverse, partly, and in a shuffled order, and large files forwards, in
# jumps, backwards and two at once, and compare every checksum with the
# kernel's ext4 driver on the same image.  Mounted from the image file
# and from a loop device, -v must name the data path each takes.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_loop
need_cmd mkfs.ext4 md5sum shuf tar dd fincore
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"

src=$TEST_TMP/src
mkdir -p "$src"
# Small files of every size class around the push limit, sparse and
# empty ones, in several directories, plus a subdirectory in the middle.
awk -v dir="$src" 'BEGIN {
	srand(7)
	for (d = 0; d < 6; d++) {
		system("mkdir -p " dir "/d" d "/sub")
		for (f = 0; f < 120; f++) {
			n = int(rand() * 9000) + (f % 17 == 0 ? 140000 : 0)
			path = dir "/d" d "/f" f
			line = ""
			for (i = 0; i < 64; i++) line = line sprintf("%c", 97 + int(rand() * 26))
			for (w = 0; w < n; w += 65) print line > path
			close(path)
		}
	}
}'
: >"$src/d0/empty"
truncate -s 20000 "$src/d1/sparse"
# Large files: one dense, one with holes between runs of data, so that
# pushed ranges cross extents and holes.
mkdir -p "$src/big"
head -c $((24 << 20)) /dev/urandom >"$src/big/dense"
truncate -s $((19 << 20)) "$src/big/holey"
for mb in 0 3 4 9 15 18; do
	head -c $((700 << 10)) /dev/urandom |
		dd of="$src/big/holey" bs=64k seek=$((mb * 16 + 1)) conv=notrunc status=none
done
mkfs.ext4 -q -b 1024 -O inline_data -d "$src" "$TEST_TMP/img.ext4" 128M

kernel_mount "$TEST_TMP/img.ext4" "$TEST_TMP/kernel" || bail_out "kernel mount failed"

# sums MOUNT LISTFILE: checksum, path relative to MOUNT, of the files in
# LISTFILE, read in that order; sorted by path for comparison.
sums() {
	(cd "$1" && while IFS= read -r p; do md5sum "$p"; done <"$2") | sort -k2
}
(cd "$TEST_TMP/kernel" && find . -type f | sort) >"$TEST_TMP/all"
sums "$TEST_TMP/kernel" "$TEST_TMP/all" >"$TEST_TMP/want"

# check_order DESC READER: READER, run in the imgfs mount, prints the
# checksum lines of the files it reads, in its own order.
check_order() {
	desc=$1 reader=$2
	mkdir -p "$TEST_TMP/imgfs"
	"$IMGFS_MOUNT" "$TEST_TMP/img.ext4" "$TEST_TMP/imgfs" || { not_ok "$desc: mount"; return; }
	(cd "$TEST_TMP/imgfs" && eval "$reader") | sort -k2 >"$TEST_TMP/got"
	# A second pass reads what the first one left in the kernel's cache.
	(cd "$TEST_TMP/imgfs" && eval "$reader") | sort -k2 >"$TEST_TMP/got2"
	if [ -s "$TEST_TMP/got" ] &&
		grep -F -x -f "$TEST_TMP/got" "$TEST_TMP/want" | cmp -s - "$TEST_TMP/got" &&
		cmp -s "$TEST_TMP/got" "$TEST_TMP/got2"; then
		ok "$desc: $(wc -l <"$TEST_TMP/got") files match the kernel"
	else
		not_ok "$desc: contents differ from the kernel"
		diff "$TEST_TMP/want" "$TEST_TMP/got" | head -20 | sed 's/^/# /'
	fi
	unmount "$TEST_TMP/imgfs"
}

# Each directory listed to the end (ls -U: readdir order), then its files
# read in that order, then its subdirectories, as tar and cp -r do.  No
# directory is listed before: imgfs acts on the listing it serves.
walk_fn='walk() {
	ls -U "$1" | $2 | while IFS= read -r n; do [ -f "$1/$n" ] && md5sum "$1/$n"; done
	ls -U "$1" | while IFS= read -r n; do [ -d "$1/$n" ] && walk "$1/$n" "$2"; done
}'
in_listing_order="$walk_fn; walk . cat"
check_order "each directory in listing order" "$in_listing_order"
check_order "each directory in reverse listing order" "$walk_fn; walk . tac"
check_order "every other file in listing order" "$walk_fn; walk . 'awk NR%2'"
check_order "shuffled order" \
	"find . -type f | shuf --random-source=/dev/zero | while IFS= read -r p; do md5sum \"\$p\"; done"

# Large files: READs of 128 KiB, the rest pushed ahead.  chunks MOUNT FILE
# ORDER: md5 of each 1 MiB of FILE, read with dd in ORDER (a list of MiB
# numbers).
chunks() {
	for mb in $3; do
		printf '%s ' "$mb"
		dd if="$1/$2" bs=64k skip=$((mb * 16)) count=16 status=none | md5sum
	done
}
check_big() {
	desc=$1 file=$2 order=$3
	chunks "$TEST_TMP/kernel" "$file" "$order" >"$TEST_TMP/big-want"
	mkdir -p "$TEST_TMP/imgfs"
	"$IMGFS_MOUNT" "$TEST_TMP/img.ext4" "$TEST_TMP/imgfs" || { not_ok "$desc: mount"; return; }
	chunks "$TEST_TMP/imgfs" "$file" "$order" >"$TEST_TMP/big-got"
	if cmp -s "$TEST_TMP/big-want" "$TEST_TMP/big-got"; then
		ok "$desc: $(wc -l <"$TEST_TMP/big-got") MiB match the kernel"
	else
		not_ok "$desc: contents differ from the kernel"
		diff "$TEST_TMP/big-want" "$TEST_TMP/big-got" | head -10 | sed 's/^/# /'
	fi
	unmount "$TEST_TMP/imgfs"
}
check_big "dense file from start to end" big/dense "$(seq 0 23)"
check_big "file with holes from start to end" big/holey "$(seq 0 18)"
check_big "dense file in jumps forwards" big/dense "0 1 5 6 7 12 13 20 21 22"
check_big "dense file backwards" big/dense "$(seq 23 -1 0)"
check_big "file with holes in jumps back and forth" big/holey "3 4 5 1 2 9 10 8 16 17 18 0"

# Two large files read at once, each from start to end.
mkdir -p "$TEST_TMP/imgfs"
if "$IMGFS_MOUNT" "$TEST_TMP/img.ext4" "$TEST_TMP/imgfs"; then
	md5sum "$TEST_TMP/imgfs/big/dense" >"$TEST_TMP/two-dense" &
	md5sum "$TEST_TMP/imgfs/big/holey" >"$TEST_TMP/two-holey"
	wait
	if [ "$(cut -d' ' -f1 "$TEST_TMP/two-dense")" = "$(md5sum <"$TEST_TMP/kernel/big/dense" | cut -d' ' -f1)" ] &&
		[ "$(cut -d' ' -f1 "$TEST_TMP/two-holey")" = "$(md5sum <"$TEST_TMP/kernel/big/holey" | cut -d' ' -f1)" ]; then
		ok "two large files read at once match the kernel"
	else
		not_ok "two large files read at once match the kernel"
	fi
	unmount "$TEST_TMP/imgfs"
else
	not_ok "two large files at once: mount"
fi

# The push is real: after a reader has taken the first 512 KiB, the
# kernel's cache holds megabytes beyond what the readahead window of a
# FUSE mount (128 KiB) would have asked for.
mkdir -p "$TEST_TMP/imgfs"
if "$IMGFS_MOUNT" "$TEST_TMP/img.ext4" "$TEST_TMP/imgfs"; then
	dd if="$TEST_TMP/imgfs/big/dense" of=/dev/null bs=128k count=4 status=none
	# The server stores after answering: give it a moment to finish.
	tries=0
	while resident=$(fincore --bytes --noheadings --output RES "$TEST_TMP/imgfs/big/dense") &&
		[ "$resident" -lt $((2 << 20)) ] && [ $tries -lt 50 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
	if [ "$resident" -ge $((2 << 20)) ]; then
		ok "a sequential reader finds the next megabytes cached ($resident bytes resident)"
	else
		not_ok "a sequential reader finds the next megabytes cached ($resident bytes resident)"
	fi
	unmount "$TEST_TMP/imgfs"
else
	not_ok "push check: mount"
fi

# tar reads in listing order: the archive must unpack to the kernel's tree.
mkdir -p "$TEST_TMP/imgfs" "$TEST_TMP/untar"
"$IMGFS_MOUNT" "$TEST_TMP/img.ext4" "$TEST_TMP/imgfs" && tar -C "$TEST_TMP/imgfs" -cf - . |
	tar -C "$TEST_TMP/untar" -xf -
sums "$TEST_TMP/untar" "$TEST_TMP/all" >"$TEST_TMP/got"
cmp -s "$TEST_TMP/want" "$TEST_TMP/got" && ok "tar of the mount unpacks to the kernel's contents" ||
	not_ok "tar of the mount unpacks to the kernel's contents"
unmount "$TEST_TMP/imgfs"

# imgfs-mount -v names the path file data takes, and why.  The truth is
# the fuse module's enable_iomap parameter, which only kernels with
# fuse-iomap have: without it the kernel offers no iomap, and with it an
# image file still cannot be a device the kernel maps.
if [ "$(cat /sys/module/fuse/parameters/enable_iomap 2>/dev/null)" = Y ]; then
	want_file="userspace iomap (the kernel maps only block devices; the image is a file)"
	want_dev="kernel iomap (the block device is backing device *)"
else
	want_file="userspace iomap (this kernel offers no fuse-iomap)"
	want_dev=$want_file
fi
# data_path DESC SOURCE WANT: mount SOURCE with -v, check what it says
# against the pattern WANT and the files against the kernel's.
data_path() {
	if ! "$IMGFS_MOUNT" -v "$2" "$TEST_TMP/imgfs" 2>"$TEST_TMP/verbose"; then
		not_ok "$1: mount"
		diag_file "$TEST_TMP/verbose"
		return
	fi
	said=$(sed -n 's/.*; data path: //p' "$TEST_TMP/verbose")
	# shellcheck disable=SC2254 # WANT is a pattern
	case $said in
	$3) ok "$1: -v says the data path is \"$said\"";;
	*) not_ok "$1: -v says the data path is \"$said\", expected \"$3\"";;
	esac
	sums "$TEST_TMP/imgfs" "$TEST_TMP/all" >"$TEST_TMP/got"
	cmp -s "$TEST_TMP/want" "$TEST_TMP/got" && ok "$1: every file matches the kernel" ||
		not_ok "$1: every file matches the kernel"
	unmount "$TEST_TMP/imgfs"
}
data_path "image file" "$TEST_TMP/img.ext4" "$want_file"
if loop=$(losetup -f --show -r "$TEST_TMP/img.ext4"); then
	echo "$loop $TEST_TMP/img.ext4" >>"$TEST_TMP/.loops"
	data_path "block device" "$loop" "$want_dev"
	losetup -d "$loop"
else
	not_ok "block device: losetup"
fi
unmount "$TEST_TMP/kernel"
assert_clean "nothing left behind"
done_testing
