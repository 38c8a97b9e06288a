#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# File contents are right whatever order a reader takes: imgfs pushes the
# data of the next small files into the kernel's cache when a directory's
# files are read in listing order (tar, cp -r), so read trees in listing
# order, in reverse, partly, and in a shuffled order, and compare every
# file's checksum with the kernel's ext4 driver on the same image.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_loop
need_cmd mkfs.ext4 md5sum shuf tar
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
mkfs.ext4 -q -b 1024 -O inline_data -d "$src" "$TEST_TMP/img.ext4" 64M

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

# tar reads in listing order: the archive must unpack to the kernel's tree.
mkdir -p "$TEST_TMP/imgfs" "$TEST_TMP/untar"
"$IMGFS_MOUNT" "$TEST_TMP/img.ext4" "$TEST_TMP/imgfs" && tar -C "$TEST_TMP/imgfs" -cf - . |
	tar -C "$TEST_TMP/untar" -xf -
sums "$TEST_TMP/untar" "$TEST_TMP/all" >"$TEST_TMP/got"
cmp -s "$TEST_TMP/want" "$TEST_TMP/got" && ok "tar of the mount unpacks to the kernel's contents" ||
	not_ok "tar of the mount unpacks to the kernel's contents"
unmount "$TEST_TMP/imgfs"
unmount "$TEST_TMP/kernel"
assert_clean "nothing left behind"
done_testing
