#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/xfs-log.sh: an XFS filesystem whose log needs recovery is refused
# with one line; a clean one is served.
#
# Images are made here: fresh from mkfs.xfs, written by the kernel and
# unmounted (with 32 KiB and 256 KiB log buffers, and after the log has
# wrapped), and the same left dirty by `xfs_io -x -c 'shutdown [-f]'`
# before the unmount.  xfs_logprint -t and xfs_repair -n are the
# independent truth about each: imgfs must serve what they call clean
# and refuse what they call dirty, and serve the dirty ones once the
# kernel has mounted them (replayed the log).  Then a clean log is
# damaged (record fields, cycle numbers, the whole log): each must be
# refused with one line, and no mount or process may be left.  Run the
# ASan/UBSan build for out-of-bounds reads that do not crash.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_loop
need_cmd mkfs.xfs xfs_db xfs_io xfs_logprint xfs_repair dd od sed
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"
need_kernel_fs xfs "to write the logs"

mnt=$TEST_TMP/mnt
kmnt=$TEST_TMP/kmnt
mkdir -p "$mnt" "$kmnt"

# small_mkfs IMAGE MKFS-OPTIONS...: an empty filesystem, 40 MiB where
# mkfs.xfs allows it (as for xfstests), else its real minimum.
small_mkfs() {
	_img=$1
	shift
	rm -f "$_img" && truncate -s 40M "$_img"
	TEST_DIR=$TEST_TMP TEST_DEV=$_img QA_CHECK_FS=xfs \
		mkfs.xfs -q -f -d agcount=2 "$@" "$_img" >"$TEST_TMP/mkfs.err" 2>&1 && return 0
	rm -f "$_img" && truncate -s 300M "$_img"
	mkfs.xfs -q -f "$@" "$_img" >"$TEST_TMP/mkfs.err" 2>&1 ||
		bail_out "mkfs.xfs $* failed: $(cat "$TEST_TMP/mkfs.err")"
}

# The kernel writes, in a mount namespace of our own (lib.sh,
# private_mounts): write.sh IMAGE DIR clean|dirty ROUNDS [MOUNT-OPTIONS].
# ROUNDS of creating and removing 400 files churn the log (enough of them
# wrap it); "dirty" writes more after a sync and shuts the filesystem
# down before the unmount, so the log holds changes not written back
# ("dirty-noflush": synced, then shut down without forcing the log).
cat >"$TEST_TMP/write.sh" <<'EOF'
set -e
mount -t xfs -o "loop${5:+,$5}" "$1" "$2"
mkdir "$2/d"
for i in 1 2 3 4 5 6 7 8; do echo "hello $i" >"$2/d/f$i"; done
r=0
while [ $r -lt "$4" ]; do
	mkdir "$2/c$r"
	(cd "$2/c$r" && seq 1 400 | xargs touch)
	rm -rf "$2/c$r"
	sync
	r=$((r + 1))
done
sync
case $3 in
dirty)
	mkdir "$2/late"
	seq 1 200 | while read -r i; do echo "late $i" >"$2/late/g$i"; done
	xfs_io -x -c 'shutdown -f' "$2";;
dirty-noflush)
	# Without -f: the log is not forced first, what was synced is in it.
	mkdir "$2/late"
	seq 1 200 | while read -r i; do echo "late $i" >"$2/late/g$i"; done
	sync
	xfs_io -x -c 'shutdown' "$2";;
esac
umount "$2"
EOF
cat >"$TEST_TMP/replay.sh" <<'EOF'
mount -t xfs -o loop "$1" "$2" && umount "$2"
EOF

kernel_write() {
	private_mounts sh "$TEST_TMP/write.sh" "$@" >"$TEST_TMP/write.err" 2>&1 ||
		bail_out "the kernel cannot write $1: $(tr '\n' ' ' <"$TEST_TMP/write.err")"
}

# truth IMAGE: "clean" or "dirty" as both xfs_logprint and xfs_repair -n
# see the log, or "unsure: ..." when they disagree or say neither.
truth() {
	_lp=$(xfs_logprint -t "$1" 2>&1 | sed -n 's/.*state: <\([A-Z]*\)>.*/\1/p')
	if xfs_repair -n "$1" >"$TEST_TMP/repair.out" 2>&1; then
		_rp=CLEAN
	elif grep -q 'valuable metadata changes in a log' "$TEST_TMP/repair.out"; then
		_rp=DIRTY
	else
		_rp="other ($(grep -i -m 1 log "$TEST_TMP/repair.out"))"
	fi
	case "$_lp $_rp" in
	"CLEAN CLEAN") echo clean;;
	"DIRTY DIRTY") echo dirty;;
	*) echo "unsure: xfs_logprint says '$_lp', xfs_repair -n '$_rp'";;
	esac
}

# expect_truth DESC IMAGE clean|dirty: a test line for the tools' verdict.
expect_truth() {
	_t=$(truth "$2")
	if [ "$_t" = "$3" ]; then
		ok "$1: xfs_logprint and xfs_repair -n call the log $3"
	else
		not_ok "$1: xfs_logprint and xfs_repair -n call the log $3 (they say: $_t)"
	fi
}

# no_leftovers: true when no mount, loop device or server of ours is left.
no_leftovers() {
	settled_leftovers >"$TEST_TMP/left"
	[ ! -s "$TEST_TMP/left" ]
}

# served DESC IMAGE [FILE [CONTENT]]: imgfs mounts IMAGE, FILE (if given)
# exists and reads back CONTENT (if given), and the unmount leaves nothing.
served() {
	if ! imgfs_mount "$2" "$mnt" >"$TEST_TMP/err" 2>&1; then
		not_ok "$1: served (refused: $(head -c 300 "$TEST_TMP/err" | tr '\n' ' '))"
		return
	fi
	if [ $# -ge 3 ] && [ ! -f "$mnt/$3" ]; then
		not_ok "$1: served, with $3 in it (it is not there)"
	elif [ $# -ge 4 ] && [ "$(cat "$mnt/$3" 2>&1)" != "$4" ]; then
		not_ok "$1: served, $3 reads '$4' (it reads '$(head -c 100 "$mnt/$3" 2>&1)')"
	elif ! stat "$mnt" >/dev/null; then
		not_ok "$1: served (the root cannot be examined)"
	else
		ok "$1: served${3:+, with $3}${4:+ reading back}"
	fi
	unmount "$mnt"
}

# refused DESC IMAGE PATTERN: imgfs-mount fails, printing exactly one
# line that matches PATTERN (grep -i -E), and leaves nothing behind.
refused() {
	if imgfs_mount "$2" "$mnt" >"$TEST_TMP/err" 2>&1; then
		not_ok "$1: refused (it mounted)"
		unmount "$mnt"
	elif [ "$(wc -l <"$TEST_TMP/err")" -ne 1 ] ||
		! sed "s|$2||g" "$TEST_TMP/err" | grep -q -i -E "$3"; then
		not_ok "$1: refused with one line matching '$3'"
		diag_file "$TEST_TMP/err"
	elif ! no_leftovers; then
		not_ok "$1: refused, but left behind: $(tr '\n' ' ' <"$TEST_TMP/left")"
	else
		ok "$1: refused: $(cat "$TEST_TMP/err")"
	fi
}

db() {
	xfs_db -r "$@" 2>/dev/null
}

# Where the log of IMAGE is: sets logbyte (image offset of log block 0)
# and logbbs (512-byte log blocks).
log_geometry() {
	_start=$(db -c 'sb 0' -c 'print logstart' "$1" | sed 's/.* = //')
	_blocks=$(db -c 'sb 0' -c 'print logblocks' "$1" | sed 's/.* = //')
	_bs=$(db -c 'sb 0' -c 'print blocksize' "$1" | sed 's/.* = //')
	logbyte=$(db -c "convert fsb $_start byte" "$1" | sed 's/.*(\([0-9]*\)).*/\1/')
	logbbs=$((_blocks * _bs / 512))
}

# word IMAGE OFFSET: the 4 bytes at OFFSET, in hex.
word() {
	od -A n -t x1 -j "$2" -N 4 "$1" | tr -d ' \n'
}

# poke IMAGE OFFSET HEX: overwrite bytes at OFFSET ("ffffffff").
poke() {
	_esc=
	for _b in $(echo "$3" | sed 's/\(..\)/\1 /g'); do
		_esc=$_esc$(printf '\\%03o' $((0x$_b)))
	done
	printf "$_esc" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# The cycle stamped in log block 0 (after the magic in a record header).
first_cycle() {
	_w=$(word "$1" "$logbyte")
	[ "$_w" = feedbabe ] && _w=$(word "$1" $((logbyte + 4)))
	echo $((0x$_w))
}

# ---- clean logs are served ----

img=$TEST_TMP/fresh.img
small_mkfs "$img"
expect_truth "fresh mkfs.xfs" "$img" clean
served "fresh mkfs.xfs" "$img"

clean=$TEST_TMP/clean.img
small_mkfs "$clean"
kernel_write "$clean" "$kmnt" clean 2
expect_truth "written by the kernel, unmounted" "$clean" clean
served "written by the kernel, unmounted" "$clean" d/f3 "hello 3"

img=$TEST_TMP/clean-256k.img
small_mkfs "$img"
kernel_write "$img" "$kmnt" clean 2 logbsize=256k
expect_truth "256 KiB log buffers, unmounted" "$img" clean
served "256 KiB log buffers, unmounted" "$img" d/f5 "hello 5"

wrapped=$TEST_TMP/wrapped.img
small_mkfs "$wrapped"
kernel_write "$wrapped" "$kmnt" clean 60
log_geometry "$wrapped"
diag "log of $logbbs blocks at byte $logbyte; after 60 rounds, cycle $(first_cycle "$wrapped") at its start"
expect_truth "a log that wrapped, unmounted" "$wrapped" clean
served "a log that wrapped, unmounted" "$wrapped" d/f1 "hello 1"

img=$TEST_TMP/external.img
truncate -s 16M "$TEST_TMP/logdev.img"
small_mkfs "$img" -l logdev="$TEST_TMP/logdev.img"
served "an external log (not checked: imgfs has no log device)" "$img"
rm -f "$TEST_TMP/logdev.img"

# ---- dirty logs are refused, and served once the kernel replayed them ----

for kind in plain noflush 256k wrapped; do
	img=$TEST_TMP/dirty-$kind.img
	small_mkfs "$img"
	case $kind in
	plain) kernel_write "$img" "$kmnt" dirty 1;;
	noflush) kernel_write "$img" "$kmnt" dirty-noflush 1;;
	256k) kernel_write "$img" "$kmnt" dirty 1 logbsize=256k;;
	wrapped) kernel_write "$img" "$kmnt" dirty 60;;
	esac
	desc="shut down before the unmount ($kind log)"
	expect_truth "$desc" "$img" dirty
	# Not "torn": the last record's CRC checks out (over extra headers, for 256k).
	refused "$desc" "$img" 'log needs recovery: mount it once with the kernel'
	private_mounts sh "$TEST_TMP/replay.sh" "$img" "$kmnt" >"$TEST_TMP/replay.err" 2>&1 ||
		bail_out "the kernel cannot replay $img: $(cat "$TEST_TMP/replay.err")"
	expect_truth "$desc, then mounted by the kernel" "$img" clean
	# Files made after the last sync exist only through the replay
	# (their data was never written: the log holds metadata).
	served "$desc, then mounted by the kernel" "$img" late/g7
	rm -f "$img"
done

# ---- damaged logs: one line, nothing left behind ----

log_geometry "$clean"
head=$(xfs_logprint -t "$clean" 2>/dev/null | sed -n 's/.*head: \([0-9]*\).*/\1/p')
# The unmount record: a header sector and one of data, right before the head.
rec=$((logbyte + (head - 2) * 512))
[ "$(word "$clean" "$rec")" = feedbabe ] ||
	bail_out "no unmount record at log block $((head - 2)) (head $head): $(word "$clean" "$rec")"

# damaged DESC PATTERN OFFSET HEX [OFFSET HEX]...: a copy of the clean image
# with those bytes overwritten must be refused.
n=0
damaged() {
	_desc=$1
	_pat=$2
	shift 2
	n=$((n + 1))
	_img=$TEST_TMP/damaged-$n.img
	cp --sparse=always "$clean" "$_img"
	while [ $# -ge 2 ]; do
		poke "$_img" "$1" "$2"
		shift 2
	done
	refused "$_desc" "$_img" "$_pat"
	rm -f "$_img"
}

damaged "unmount record: h_len 4 GiB" 'corrupt XFS log' $((rec + 12)) ffffffff
damaged "unmount record: h_size 2 GiB" 'corrupt XFS log' $((rec + 320)) 7fffffff
damaged "unmount record: version 0x80" 'corrupt XFS log' $((rec + 8)) 00000080
damaged "unmount record: no operations" 'corrupt XFS log' $((rec + 40)) 00000000
damaged "unmount record: lsn of another block" 'corrupt XFS log' $((rec + 16)) 0000000100000007
damaged "unmount record: a data byte changed (bad CRC)" 'needs recovery.*torn' \
	$((rec + 512 + 100)) 5a
damaged "unmount record: magic gone" 'XFS log' $rec 00000000
damaged "cycle 0x7fffffff in the unmount record" 'XFS log' $((rec + 4)) 7fffffff
damaged "cycle 0x7fffffff in log block 0" 'XFS log' $((logbyte + 4)) 7fffffff
damaged "cycle 5 in the last log block" 'corrupt XFS log.*cycle' \
	$((logbyte + (logbbs - 1) * 512)) 00000005

# The whole log overwritten: all ones, then bytes from a fixed seed.
img=$TEST_TMP/ones.img
cp --sparse=always "$clean" "$img"
head -c $((logbbs * 512)) /dev/zero | tr '\0' '\377' |
	dd of="$img" bs=512 seek=$((logbyte / 512)) conv=notrunc status=none
refused "the log all ones" "$img" 'corrupt XFS log'
rm -f "$img"
img=$TEST_TMP/noise.img
cp --sparse=always "$clean" "$img"
awk -v n=$((logbbs * 512)) 'BEGIN { srand(7); for (i = 0; i < n; i++) printf "%c", int(rand() * 255) + 1 }' |
	dd of="$img" bs=512 seek=$((logbyte / 512)) conv=notrunc status=none
refused "the log overwritten with noise" "$img" 'XFS log'
rm -f "$img"

assert_clean "nothing left behind"
done_testing
