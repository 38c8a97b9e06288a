#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/rw-fsx.sh: fsx (fstests' ltp/fsx.c, built at test time) on
# several files of an imgfs -o rw mount.  fsx checks every read against
# the file it keeps in memory; zero miscompares is the pass condition.
#
# Mapped reads and writes off (-R -W) and no O_DIRECT; files with holes
# (up to 8 MiB with 128 KiB operations), fallocate, punch hole and zero
# range (fsx leaves out, and says so, what the mount refuses).  Four
# files, one after the other, each with its own seed and style: random,
# large and sparse, block-aligned, and one that drops the page cache
# after each operation (-f) so that reads come back from the server.
#
# Then against the kernel: fsx's recorded operations are replayed into a
# second file on the driver's mount and into one on a copy of the image
# under the kernel's ext4 (a replay's data differ from the first run's,
# so replays are compared with each other), both images are mounted
# read-only by the kernel, and each replayed file must be the same in
# both; e2fsck -fn must find the driver's image clean.
#
# Environment:
#   RW_DRIVER=imgfs|fuse2fs|kernel  the driver under test (tests/rw-lib.sh)
#   RW_FSX_OPS=N   operations per file (default 10000; RW_LONG=1: 100000)
#   RW_FSX_ARGS    more fsx options, e.g. -z for fuse2fs, whose zero range
#                  fails with EINVAL where fsx expects EOPNOTSUPP to leave
#                  it out

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/rw-lib.sh"

need_root
need_loop
need_cmd mkfs.ext4 e2fsck flock cmp
rw_need_driver

nops=${RW_FSX_OPS:-10000}
[ -z "${RW_LONG:-}" ] || nops=${RW_FSX_OPS:-100000}

fsx=$(fstests_tool fsx) || skip_all "fsx not built: no fstests snapshot (set IMGFS_FSTESTS_TARBALL)"
ok "fsx built from $(basename "$(fstests_tarball)")"

img=$TEST_TMP/fsx.img
mkfs.ext4 -q -F -L rw-fsx "$img" 512M >/dev/null || bail_out "mkfs.ext4 failed"
cp --sparse=always "$img" "$TEST_TMP/ref.img"

# NAME SEED OPTIONS
files="
random 1 -l 1048576
sparse 2 -l 8388608 -o 131072
aligned 3 -l 4194304 -w 4096 -r 4096 -t 4096
uncached 4 -l 2097152 -f -c 500
"

mnt=$TEST_TMP/mnt
rw_mount "$img" "$mnt" >"$TEST_TMP/mount.err" 2>&1 || {
	not_ok "$RW_DRIVER mounts the image -o rw"
	diag_file "$TEST_TMP/mount.err"
	done_testing
}
mkdir -p "$TEST_TMP/logs"
passed=
while read -r name seed opts; do
	[ -n "$name" ] || continue
	t0=$(date +%s)
	# shellcheck disable=SC2086
	bounded 3600 "$fsx" -q -R -W -N "$nops" -S "$seed" $opts ${RW_FSX_ARGS:-} \
		-P "$TEST_TMP/logs" \
		--record-ops="$TEST_TMP/logs/$name.ops" "$mnt/$name" \
		>"$TEST_TMP/logs/$name.out" 2>&1
	rc=$?
	t1=$(date +%s)
	skipped=$(grep -i 'not supported\|disabling\|not available' "$TEST_TMP/logs/$name.out" |
		tr '\n' ';' | sed 's/;$//')
	if [ $rc -eq 0 ] && ! grep -qi 'miscompare\|BAD DATA' "$TEST_TMP/logs/$name.out"; then
		ok "fsx $name: $nops operations, no miscompare ($((t1 - t0)) s)${skipped:+; $skipped}"
		passed="$passed $name"
	else
		not_ok "fsx $name: $nops operations, no miscompare (exit $rc)"
		diag_file "$TEST_TMP/logs/$name.out" 80
		diag_file "$TEST_TMP/logs/$name.fsxlog" 40
	fi
done <<EOF
$files
EOF
for name in $passed; do
	line=$(echo "$files" | grep "^$name ")
	seed=$(echo "$line" | cut -d' ' -f2)
	opts=$(echo "$line" | cut -d' ' -f3-)
	# shellcheck disable=SC2086
	bounded 3600 "$fsx" -q -R -W -S "$seed" $opts ${RW_FSX_ARGS:-} -P "$TEST_TMP/logs" \
		--replay-ops="$TEST_TMP/logs/$name.ops" "$mnt/$name.replay" \
		>"$TEST_TMP/logs/$name.dreplay" 2>&1 ||
		echo "$name: exit $?" >>"$TEST_TMP/dreplay.err"
done
if [ ! -s "$TEST_TMP/dreplay.err" ]; then
	ok "the operations replayed on $RW_DRIVER:${passed:- none}"
else
	not_ok "the operations replayed on $RW_DRIVER"
	diag_file "$TEST_TMP/dreplay.err"
fi
if rw_unmount "$mnt"; then
	ok "$RW_DRIVER unmounts"
else
	not_ok "$RW_DRIVER unmounts"
fi
check "e2fsck -fn finds the image $RW_DRIVER wrote clean" e2fsck -fn "$img"

# The same operations under the kernel.
kmnt=$TEST_TMP/kmnt
mkdir -p "$kmnt"
bounded 3600 sh "$top_srcdir/tests/private-ns.sh" sh -c '
	mount -t ext4 -o loop "$1" "$2" || exit 3
	echo "$4" | while read -r name seed opts; do
		[ -n "$name" ] || continue
		[ -s "$5/$name.ops" ] || continue
		case " $6 " in *" $name "*) ;; *) continue;; esac
		"$3" -q -R -W -S "$seed" $opts $7 -P "$5" --replay-ops="$5/$name.ops" \
			"$2/$name.replay" \
			>"$5/$name.kreplay" 2>&1 || echo "replay of $name failed" >&2
	done
	umount "$2"' sh "$TEST_TMP/ref.img" "$kmnt" "$fsx" "$files" "$TEST_TMP/logs" \
	"$passed" "${RW_FSX_ARGS:-}" \
	2>"$TEST_TMP/replay.err"
if [ $? -eq 0 ] && [ ! -s "$TEST_TMP/replay.err" ]; then
	ok "the operations replayed under the kernel"
else
	not_ok "the operations replayed under the kernel"
	diag_file "$TEST_TMP/replay.err"
fi
if kernel_mount "$TEST_TMP/ref.img" "$TEST_TMP/kro" 2>"$TEST_TMP/kro.err" &&
	kernel_mount "$img" "$TEST_TMP/dro" 2>"$TEST_TMP/dro.err"; then
	bad=
	for name in $passed; do
		cmp "$TEST_TMP/kro/$name.replay" "$TEST_TMP/dro/$name.replay" >>"$TEST_TMP/cmp.out" 2>&1 ||
			bad="$bad $name"
	done
	if [ -z "$bad" ]; then
		ok "the kernel reads each file as it wrote it itself:${passed:- none}"
	else
		not_ok "the kernel reads each file as it wrote it itself: differ:$bad"
		diag_file "$TEST_TMP/cmp.out"
	fi
	unmount "$TEST_TMP/kro"
	unmount "$TEST_TMP/dro"
else
	not_ok "the kernel mounts both images read-only"
	diag_file "$TEST_TMP/kro.err"
	diag_file "$TEST_TMP/dro.err"
fi

assert_clean "nothing left behind (mounts, servers, loop devices)"
done_testing
