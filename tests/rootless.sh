#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Rootless mounting: an unprivileged uid mounts an ext4 image inside a user
# namespace it owns (unshare -Urm), and with `imgfs-mount --unshare` from a
# plain shell; reads files (checked against the tree the image was made
# from), unmounts, and leaves nothing behind.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_cmd setpriv unshare mkfs.ext4 cmp
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"

USER_ID=65534
is_status() { [ "$1" -eq "$2" ] && ok "$3" || not_ok "$3 (got $1, want $2)"; }
as_user() {
	setpriv --reuid=$USER_ID --regid=$USER_ID --clear-groups -- "$@"
}

# Distributions ship /dev/fuse 0666; this machine may not.
[ "$(stat -c %a /dev/fuse)" = 666 ] || chmod 0666 /dev/fuse
as_user unshare -Urm true 2>/dev/null || skip_all "unprivileged user namespaces are disabled"

chmod 0755 "$TEST_TMP"
src=$TEST_TMP/src
mkdir -p "$src/dir/sub" "$TEST_TMP/mnt"
head -c 3000000 /dev/urandom >"$src/big.bin"
echo "hello rootless" >"$src/dir/hello.txt"
seq 1 20000 >"$src/dir/sub/numbers"
ln -s dir/hello.txt "$src/link"
mkfs.ext4 -q -d "$src" "$TEST_TMP/img.ext4" 32M
chmod 0644 "$TEST_TMP/img.ext4"
chmod -R a+rX "$src"

# 1. Inside `unshare -Urm`: mount, look, read, unmount, all as the user.
cat >"$TEST_TMP/inside.sh" <<'SCRIPT'
set -e
img=$1 mnt=$2 src=$3 mount=$4
"$mount" "$img" "$mnt"
grep -q " $mnt .* fuse.imgfs " /proc/self/mountinfo || { echo "no fuse.imgfs mount"; exit 10; }
cmp "$src/big.bin" "$mnt/big.bin" || exit 11
cmp "$src/dir/sub/numbers" "$mnt/dir/sub/numbers" || exit 12
[ "$(cat "$mnt/link")" = "hello rootless" ] || exit 13
[ "$(readlink "$mnt/link")" = dir/hello.txt ] || exit 14
if touch "$mnt/new" 2>/dev/null; then echo "write succeeded on a read-only mount"; exit 15; fi
"$mount" -u "$mnt"
! grep -q " $mnt " /proc/self/mountinfo || { echo "still mounted"; exit 16; }
SCRIPT
as_user unshare -Urm sh "$TEST_TMP/inside.sh" "$TEST_TMP/img.ext4" "$TEST_TMP/mnt" "$src" \
	"$IMGFS_MOUNT" >"$TEST_TMP/inside.out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok "unshare -Urm: mount, read, unmount as uid $USER_ID"; else
	not_ok "unshare -Urm: mount, read, unmount as uid $USER_ID (exit $rc)"
	diag_file "$TEST_TMP/inside.out"
fi
assert_clean "unshare -Urm: no server or mount left"

# 2. umount(8) instead of imgfs-mount -u, and the server exits by itself.
as_user unshare -Urm sh -c '"$1" "$2" "$3" && ls "$3/dir" >/dev/null && umount "$3"' sh \
	"$IMGFS_MOUNT" "$TEST_TMP/img.ext4" "$TEST_TMP/mnt" >"$TEST_TMP/umount.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "unshare -Urm: plain umount works" || {
	not_ok "unshare -Urm: plain umount works (exit $rc)"; diag_file "$TEST_TMP/umount.out"; }
assert_clean "plain umount: the server exited"

# 3. --unshare from a plain unprivileged shell.
as_user "$IMGFS_MOUNT" --unshare "$TEST_TMP/img.ext4" "$TEST_TMP/mnt" -- \
	sh -c 'cmp "$1/big.bin" "$2/big.bin" && grep -q " $2 .* fuse.imgfs " /proc/self/mountinfo' \
	sh "$src" "$TEST_TMP/mnt" >"$TEST_TMP/unshare.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "--unshare: COMMAND reads the mounted image" || {
	not_ok "--unshare: COMMAND reads the mounted image (exit $rc)"
	diag_file "$TEST_TMP/unshare.out"; }
[ -z "$(mounts_under "$TEST_TMP")" ] && ok "--unshare: the mount never appears outside" ||
	not_ok "--unshare: the mount never appears outside"
assert_clean "--unshare: no server left"

as_user "$IMGFS_MOUNT" --unshare "$TEST_TMP/img.ext4" "$TEST_TMP/mnt" -- sh -c 'exit 7' \
	>/dev/null 2>&1
is_status $? 7 "--unshare: exits with COMMAND's status"
as_user "$IMGFS_MOUNT" --unshare "$TEST_TMP/img.ext4" "$TEST_TMP/mnt" -- \
	/nonexistent/command >/dev/null 2>&1
is_status $? 127 "--unshare: a missing COMMAND exits 127"
assert_clean "--unshare: no server left after a failing COMMAND"

# 4. The mount belongs to the user: other uids inside cannot see into it.
as_user unshare -Urm sh -c '"$1" "$2" "$3" && stat -c %u:%g "$3/dir/hello.txt"; "$1" -u "$3"' sh \
	"$IMGFS_MOUNT" "$TEST_TMP/img.ext4" "$TEST_TMP/mnt" >"$TEST_TMP/owner.out" 2>&1
[ "$(cat "$TEST_TMP/owner.out")" = "0:0" ] &&
	ok "root-owned files in the image appear as the namespace's root" || {
	not_ok "root-owned files in the image appear as the namespace's root"
	diag_file "$TEST_TMP/owner.out"; }

# 5. A server killed with SIGKILL leaves a dead mount that -u still removes.
cat >"$TEST_TMP/kill.sh" <<'SCRIPT'
mount=$1 img=$2 mnt=$3
"$mount" "$img" "$mnt" || exit 10
pid=$(for d in /proc/[0-9]*; do
	[ "$(cat $d/comm 2>/dev/null)" = imgfs-server ] && ls -l $d/fd 2>/dev/null | grep -q "$img" && echo ${d#/proc/}
done | head -n 1)
[ -n "$pid" ] || exit 11
kill -KILL "$pid"
sleep 0.2
ls "$mnt" 2>&1 | grep -q "not connected" || exit 12
"$mount" -u "$mnt" || exit 13
! grep -q " $mnt " /proc/self/mountinfo || exit 14
SCRIPT
as_user unshare -Urm sh "$TEST_TMP/kill.sh" "$IMGFS_MOUNT" "$TEST_TMP/img.ext4" \
	"$TEST_TMP/mnt" >"$TEST_TMP/kill.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "killed server: ENOTCONN, then imgfs-mount -u cleans up" || {
	not_ok "killed server: ENOTCONN, then imgfs-mount -u cleans up (exit $rc)"
	diag_file "$TEST_TMP/kill.out"; }
assert_clean "killed server: nothing left"
done_testing
