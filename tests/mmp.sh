#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# ext4 multi-mount protection (server/ext4/mmp.c), checked with e2fsprogs'
# own reader (debugfs dump_mmp, which also verifies the block's checksum):
# taking a filesystem writes our sequence, node and "imgfs" and keeps
# updating it; letting go leaves it clean; e2fsck's mark, a corrupt block
# and a live holder are refused; a dead holder's sequence is taken over;
# a holder whose block is rewritten stops writing it.
#
# tests/mmp-tool drives ext4_mmp_start/stop on an image opened through the
# backend, under the server's seccomp policy.  Once imgfs-mount -o rw
# mounts ext4, the last tests do the same through a real mount (until
# then they skip, saying so).  The waits are the kernel's: 5 s to take a
# clean filesystem, 11 s to wait out a sequence, so this takes ~40 s.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

MMP_TOOL=$top_builddir/tests/mmp-tool
need_cmd mkfs.ext4 debugfs dumpe2fs dd
need_prog "$MMP_TOOL"

CLEAN=ff4d4d50
# mkimg IMAGE [MKFS-OPTS]: 8 MiB, MMP updated every second (the waits
# stay the kernel's minimum of 5 s).
mkimg() {
	_i=$1
	shift
	mkfs.ext4 -q -F -O mmp -E mmp_update_interval=1 "$@" "$_i" 8M >/dev/null 2>&1
}
# mmp IMAGE FIELD: one field of debugfs's dump_mmp ("sequence", "node_name", ...).
mmp() {
	debugfs -R dump_mmp "$1" 2>/dev/null | awk -F': ' -v f="$2" '$1 == f { print $2 }'
}
# poke_seq IMAGE HEX: write the sequence number as a crashed or foreign
# holder (or e2fsck) would leave it, bypassing every tool's MMP handling.
poke_seq() {
	_blk=$(mmp "$1" block_number)
	_bs=$(dumpe2fs -h "$1" 2>/dev/null | awk -F': *' '$1 == "Block size" { print $2 }')
	_v=$2
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((0x$_v & 255)) $((0x$_v >> 8 & 255)) \
		$((0x$_v >> 16 & 255)) $((0x$_v >> 24 & 255)))" |
		dd of="$1" bs=1 seek=$((_blk * _bs + 4)) conv=notrunc status=none
}
# hold NAME IMAGE SECONDS [--seccomp]: mmp-tool in the background, its
# output in $TEST_TMP/NAME.out; sets $pid.
hold() {
	"$MMP_TOOL" "$2" "$3" ${4:-} >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" &
	pid=$!
	track_pid $pid
}
# wait_line NAME WORD PID: until NAME.out has a line starting with WORD
# (or PID has ended, or 40 s have passed); true if it has.
wait_line() {
	_i=0
	while ! grep -q "^$2" "$TEST_TMP/$1.out" && kill -0 "$3" 2>/dev/null && [ $_i -lt 400 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	grep -q "^$2" "$TEST_TMP/$1.out"
}
reap() {
	wait "$1"
	_rc=$?
	untrack_pid "$1"
	return $_rc
}

# A stale sequence (a holder that died) on an image of its own: taken over
# after the wait.  Started first, in the background: it waits 22 s.
stale=$TEST_TMP/stale.ext4
mkimg "$stale" -O ^metadata_csum
poke_seq "$stale" 1234
hold stale "$stale" 0
stale_pid=$pid

# 1. A clean filesystem, taken under the seccomp policy.
img=$TEST_TMP/a.ext4
mkimg "$img"
hold a "$img" 20 --seccomp
a_pid=$pid
if wait_line a started $a_pid; then
	ok "a clean filesystem is taken (under the server's seccomp policy)"
else
	not_ok "a clean filesystem is taken"
	diag_file "$TEST_TMP/a.out"
	diag_file "$TEST_TMP/a.err"
fi
seq1=$(mmp "$img" sequence)
if [ -n "$seq1" ] && [ "$seq1" != $CLEAN ] && [ "$(mmp "$img" node_name)" = "$(uname -n)" ] &&
	[ "$(mmp "$img" device_name)" = imgfs ]; then
	ok "the MMP block has our sequence ($seq1), node $(uname -n) and device imgfs, checksum valid"
else
	not_ok "the MMP block names us"
	debugfs -R dump_mmp "$img" 2>&1 | sed 's/^/# /'
fi
sleep 2.5
seq2=$(mmp "$img" sequence)
check "the sequence is updated every interval ($seq1 -> $seq2)" \
	test -n "$seq2" -a "$seq2" != "$seq1" -a "$seq2" != $CLEAN

# 2. Meanwhile, a second taker sees the sequence move and is refused.
hold b "$img" 0
b_pid=$pid
reap $b_pid
if grep -q "^refused: .*a\.ext4: in use: mounted elsewhere (MMP: node $(uname -n), device imgfs)" \
	"$TEST_TMP/b.out"; then
	ok "a second taker is refused, naming the holder: $(sed 's/^refused: //' "$TEST_TMP/b.out")"
else
	not_ok "a second taker is refused, naming the holder"
	diag_file "$TEST_TMP/b.out"
	diag_file "$TEST_TMP/b.err"
fi

# 3. Letting go leaves the filesystem clean, as e2fsck wants it.
reap $a_pid
if grep -qx kept "$TEST_TMP/a.out" && grep -qx stopped "$TEST_TMP/a.out" &&
	[ "$(mmp "$img" sequence)" = $CLEAN ]; then
	ok "at the end the block says clean"
else
	not_ok "at the end the block says clean (sequence $(mmp "$img" sequence))"
	diag_file "$TEST_TMP/a.out"
	diag_file "$TEST_TMP/a.err"
fi
check "e2fsck finds the filesystem clean" e2fsck -fn "$img"

# 4. The stale sequence, taken over.
reap $stale_pid
if grep -qx started "$TEST_TMP/stale.out" && [ "$(mmp "$stale" sequence)" = $CLEAN ]; then
	ok "a dead holder's sequence is taken over after the wait"
else
	not_ok "a dead holder's sequence is taken over after the wait"
	diag_file "$TEST_TMP/stale.out"
	diag_file "$TEST_TMP/stale.err"
fi

# 5. e2fsck's mark: refused at once.
fsck=$TEST_TMP/fsck.ext4
mkimg "$fsck" -O ^metadata_csum
poke_seq "$fsck" e24d4d50
hold fsck "$fsck" 0
reap $pid
if grep -q "^refused: .*fsck\.ext4: in use: e2fsck is running on it" "$TEST_TMP/fsck.out"; then
	ok "e2fsck's mark is refused: $(sed 's/^refused: //' "$TEST_TMP/fsck.out")"
else
	not_ok "e2fsck's mark is refused"
	diag_file "$TEST_TMP/fsck.out"
	diag_file "$TEST_TMP/fsck.err"
fi

# 6. A block whose checksum does not match: refused as corrupt.
bad=$TEST_TMP/bad.ext4
mkimg "$bad"
poke_seq "$bad" 1234	# the checksum no longer covers it
hold bad "$bad" 0
reap $pid
if grep -q "^refused: .*bad\.ext4: corrupt MMP block (bad checksum)" "$TEST_TMP/bad.out"; then
	ok "a bad MMP checksum is refused: $(sed 's/^refused: //' "$TEST_TMP/bad.out")"
else
	not_ok "a bad MMP checksum is refused"
	diag_file "$TEST_TMP/bad.out"
	diag_file "$TEST_TMP/bad.err"
fi

# 7. Someone else rewrites the block while we hold it: we notice, say so,
# stop writing, and do not mark it clean.
lost=$TEST_TMP/lost.ext4
mkimg "$lost" -O ^metadata_csum
hold lost "$lost" 4
lost_pid=$pid
if wait_line lost started $lost_pid; then
	poke_seq "$lost" 4242
	reap $lost_pid
	if grep -qx lost "$TEST_TMP/lost.out" && [ "$(mmp "$lost" sequence)" = 00004242 ] &&
		grep -q "lost\.ext4: the MMP block was rewritten by" "$TEST_TMP/lost.err"; then
		ok "a holder whose block is rewritten stops and leaves it alone: $(cat "$TEST_TMP/lost.err")"
	else
		not_ok "a holder whose block is rewritten stops and leaves it alone (sequence $(mmp "$lost" sequence))"
		diag_file "$TEST_TMP/lost.out"
		diag_file "$TEST_TMP/lost.err"
	fi
else
	not_ok "the holder for the rewrite test starts"
	diag_file "$TEST_TMP/lost.err"
fi

# 8. Through a real read-write mount, once the ext4 backend serves one.
mnt=$TEST_TMP/mnt
mkdir -p "$mnt"
e2e=$TEST_TMP/e2e.ext4
mkimg "$e2e"
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] || [ ! -x "$IMGFS_MOUNT" ]; then
	skip "an rw mount takes MMP" "needs root, /dev/fuse and imgfs-mount"
	skip "its unmount leaves MMP clean" "needs root, /dev/fuse and imgfs-mount"
elif ! bounded 60 "$IMGFS_MOUNT" -o rw "$e2e" "$mnt" 2>"$TEST_TMP/e2e.err"; then
	if grep -q "serves images read-only" "$TEST_TMP/e2e.err"; then
		skip "an rw mount takes MMP" "the ext4 backend does not serve rw yet"
		skip "its unmount leaves MMP clean" "the ext4 backend does not serve rw yet"
	else
		not_ok "an rw mount of an mmp filesystem works"
		diag_file "$TEST_TMP/e2e.err"
	fi
else
	check "an rw mount takes MMP (device imgfs)" test "$(mmp "$e2e" device_name)" = imgfs
	umount "$mnt"
	i=0
	while [ "$(mmp "$e2e" sequence)" != $CLEAN ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	check "its unmount leaves MMP clean" test "$(mmp "$e2e" sequence)" = $CLEAN
fi
assert_clean "no mount or process left"
done_testing
