#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/rw-writeback.sh: while an imgfs -o rw mount is still up, the
# metadata it changed reaches the image within a second of the last
# change, whole: e2fsck -fn (which reads the image file, not the mount)
# finds it consistent, bitmaps and counts included, and debugfs sees the
# changes.  Then the same after more changes, and after the unmount.

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/rw-lib.sh"

need_root
need_cmd mkfs.ext4 e2fsck debugfs
RW_DRIVER=imgfs
rw_need_driver
plan 6

img=$TEST_TMP/wb.img
mnt=$TEST_TMP/mnt
mkfs.ext4 -q -F -b 4096 "$img" 64M >/dev/null || bail_out "mkfs.ext4 failed"
rw_mount "$img" "$mnt" || bail_out "imgfs-mount -o rw failed"

# settled TEST...: wait up to 3 s (the writeback's interval is a fraction
# of that) for the image to show the last change, as debugfs reads it;
# then a moment more, so that a writeback caught half-way ends.
settled() {
	_i=0
	until "$@"; do
		_i=$((_i + 1))
		[ $_i -lt 30 ] || return 1
		sleep 0.1
	done
	sleep 0.5
}
names_in_d() { debugfs -R 'ls -l /d' "$img" 2>/dev/null | grep -c ' f[0-9]'; }
f1_is_0600() { debugfs -R 'stat /d/f1' "$img" 2>/dev/null | grep -q 'Mode:  0600'; }
first_seen() { f1_is_0600 && [ "$(names_in_d)" -eq 59 ]; }
big_size() { debugfs -R 'stat /big' "$img" 2>/dev/null | sed -n 's/.*Size: \([0-9]*\).*/\1/p' | head -n 1; }
second_seen() { [ "$(big_size)" = 10000 ] && ! debugfs -R 'stat /d' "$img" 2>/dev/null | grep -q Inode; }

mkdir "$mnt/d" && for i in $(seq 1 60); do echo "file $i" >"$mnt/d/f$i"; done &&
	dd if=/dev/urandom of="$mnt/big" bs=64k count=40 status=none &&
	chmod 0600 "$mnt/d/f1" && rm "$mnt/d/f2" && ln -s f3 "$mnt/d/link" || bail_out "changes through the mount failed"
sync
check "while mounted, the image shows the new mode and the 59 names (debugfs)" settled first_seen
check "... and e2fsck -fn finds it whole: bitmaps, counts, directories" e2fsck -fn "$img"

rm -rf "$mnt/d" && truncate -s 10000 "$mnt/big" || bail_out "second changes failed"
sync
check "after rm -rf and a truncate, the image shows both (debugfs)" settled second_seen
check "... and e2fsck -fn finds it whole" e2fsck -fn "$img"

check "unmounted" rw_unmount "$mnt"
check "e2fsck -fn finds it clean after the unmount" e2fsck -fn "$img"

done_testing
