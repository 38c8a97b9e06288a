#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A detached, sandboxed server still logs: corrupt metadata gives EIO to
# the reader and exactly one line to the system logger, sent over the
# socket the server connected before its sandbox forbade connect().
# A stand-in logger is bound at /dev/log for the test, so it runs only
# where no real one owns that path.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_cmd mkfs.ext4 debugfs readlink
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER" "$top_builddir/tests/logsink"
[ -e /dev/log ] && skip_all "a system logger owns /dev/log (its messages are not ours to read)"

mkdir -p "$TEST_TMP/src" "$TEST_TMP/mnt"
target=$(printf 'x%.0s' $(seq 1 200))
ln -s "$target" "$TEST_TMP/src/slowlink"
echo fine >"$TEST_TMP/src/fine.txt"
mkfs.ext4 -q -b 4096 -O ^metadata_csum -d "$TEST_TMP/src" "$TEST_TMP/img.ext4" 16M
# A slow symlink that claims a 2 GiB target: corrupt, never allocated for.
debugfs -w -R "sif /slowlink size 0x7fffffff" "$TEST_TMP/img.ext4" >/dev/null 2>&1
ino=$(debugfs -R "stat /slowlink" "$TEST_TMP/img.ext4" 2>/dev/null | awk '/^Inode:/ { print $2; exit }')

"$top_builddir/tests/logsink" /dev/log >"$TEST_TMP/log" 2>&1 &
sink=$!
track_pid $sink
logsink_stop() {
	kill -TERM $sink 2>/dev/null
	wait $sink 2>/dev/null
	untrack_pid $sink
	rm -f /dev/log
}
i=0
while ! grep -qx ready "$TEST_TMP/log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -qx ready "$TEST_TMP/log" || { logsink_stop; bail_out "the stand-in logger did not start"; }

imgfs_mount "$TEST_TMP/img.ext4" "$TEST_TMP/mnt" || { logsink_stop; bail_out "cannot mount"; }
set -- $(imgfs_server_pids "$TEST_TMP/img.ext4")
sup=${1#-}
[ "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/${2#-}/status" 2>/dev/null)" = 2 ] &&
	ok "the server is sandboxed" || not_ok "the server is sandboxed"
[ "$(cat "$TEST_TMP/mnt/fine.txt")" = fine ] && ok "intact files read normally" ||
	not_ok "intact files read normally"
readlink -v "$TEST_TMP/mnt/slowlink" >"$TEST_TMP/readlink.out" 2>&1
grep -q "Input/output error" "$TEST_TMP/readlink.out" &&
	ok "the corrupt symlink reads as EIO" || {
	not_ok "the corrupt symlink reads as EIO"; diag_file "$TEST_TMP/readlink.out"; }
imgfs_unmount "$TEST_TMP/mnt"
sleep 0.3
logsink_stop

# Servers of tests running alongside may log here too: ours is tagged
# with the pid imgfs-mount started, its supervisor's.
grep "^<[0-9]*>imgfs-server\[$sup\]: " "$TEST_TMP/log" >"$TEST_TMP/messages"
lines=$(wc -l <"$TEST_TMP/messages")
if [ "$lines" = 1 ] && grep -q "^<27>imgfs-server\[$sup\]: .*inode $ino.*symlink length" "$TEST_TMP/messages"; then
	ok "exactly one error line (daemon.err) names the inode and what is wrong"
else
	not_ok "exactly one error line (daemon.err) names the inode and what is wrong ($lines lines)"
	diag "want: <27>imgfs-server[$sup]: ... inode $ino ... symlink length ..."
	diag_file "$TEST_TMP/log"
fi
[ ! -e /dev/log ] && ok "the stand-in logger is gone" || not_ok "the stand-in logger is gone"
assert_clean "nothing left"
done_testing
