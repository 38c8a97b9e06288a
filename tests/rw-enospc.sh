#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/rw-enospc.sh: filling a fragmented filesystem to its last block,
# under the kernel's ext4 and under imgfs -o rw, on two copies of one
# image.  The same steps on each:
#   - 600 small files, every other one removed (free space in holes);
#   - fallocate of twice the disk: ENOSPC, promptly (it once never
#     returned: libext2fs's run search loops when the last block is in
#     use), having taken the blocks up to the filesystem's last one;
#   - rm of that file (freeing an extent that ends at the last block
#     once stopped all writes: libext2fs 1.47.0's punch refuses it);
#   - a new file written afterwards.
# Each step's outcome must be the kernel's, and e2fsck -fn must find both
# images clean.

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/rw-lib.sh"

need_root
need_loop
need_cmd mkfs.ext4 e2fsck xfs_io
RW_DRIVER=imgfs
rw_need_driver
plan 5

base=$TEST_TMP/base.img
mkfs.ext4 -q -F -b 4096 "$base" 64M >/dev/null || bail_out "mkfs.ext4 failed"

# steps DIR: the workload; one line per step with its outcome.
cat >"$TEST_TMP/steps.sh" <<'EOF'
d=$1
mkdir "$d/f" || exit 1
i=0
while [ $i -lt 600 ]; do
	head -c $((8192 * (1 + i % 3))) /dev/zero >"$d/f/$i" || exit 1
	i=$((i + 1))
done
i=0
while [ $i -lt 600 ]; do rm "$d/f/$i"; i=$((i + 2)); done
sync
echo "falloc: $(timeout 60 xfs_io -f -c 'falloc 0 128m' "$d/big" 2>&1 | sed 's/.*: //'; echo " exit $?")"
echo "rm: $(rm "$d/big" 2>&1; echo "exit $?")"
echo "write: $(dd if=/dev/zero of="$d/after" bs=64k count=16 conv=fsync status=none 2>&1; echo "exit $?")"
echo "size: $(stat -c %s "$d/after")"
EOF

for drv in kernel imgfs; do
	cp "$base" "$TEST_TMP/$drv.img"
	RW_DRIVER=$drv rw_mount "$TEST_TMP/$drv.img" "$TEST_TMP/$drv" || bail_out "$drv: mount failed"
	sh "$TEST_TMP/steps.sh" "$TEST_TMP/$drv" >"$TEST_TMP/$drv.log" 2>&1
	RW_DRIVER=$drv rw_unmount "$TEST_TMP/$drv" || bail_out "$drv: unmount failed"
done

grep -q "No space left on device" "$TEST_TMP/imgfs.log"
check "imgfs: fallocate past the free space ends in ENOSPC" test $? -eq 0
if diff -u "$TEST_TMP/kernel.log" "$TEST_TMP/imgfs.log" >"$TEST_TMP/diff"; then
	ok "every step returned what it returned under the kernel"
else
	not_ok "every step returned what it returned under the kernel"
	diag_file "$TEST_TMP/diff"
fi
check "e2fsck -fn finds the kernel's image clean" e2fsck -fn "$TEST_TMP/kernel.img"
check "e2fsck -fn finds imgfs's image clean" e2fsck -fn "$TEST_TMP/imgfs.img"
check "the image has no errors recorded" sh -c "dumpe2fs -h '$TEST_TMP/imgfs.img' 2>/dev/null | grep -q 'Filesystem state: *clean\$'"

done_testing
