#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# -o rw and exclusive use (helper/exclusive.c): an image the caller may not
# write, XFS, and an image or device some other mount uses are each refused
# with one line naming the holder, a non-zero exit and nothing left
# behind; what may share an image (readers with readers) still mounts.
#
# Tests that need a first read-write mount to succeed skip while the ext4
# backend serves images read-only, and start running once it does not.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_loop
need_cmd mkfs.ext4 losetup setpriv unshare
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"

chmod 0755 "$TEST_TMP"
[ "$(stat -c %a /dev/fuse)" = 666 ] || chmod 0666 /dev/fuse
mnt=$TEST_TMP/mnt
mnt2=$TEST_TMP/mnt2
mkdir -p "$mnt" "$mnt2" "$TEST_TMP/src"
echo data >"$TEST_TMP/src/file"
img=$TEST_TMP/a.ext4
mkfs.ext4 -q -d "$TEST_TMP/src" "$img" 8M
chmod 0666 "$img"
track_image "$img"

as_user() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}
unshare_ok=
as_user unshare -Urm true 2>/dev/null && unshare_ok=1

# expect_error DESC PATTERN CMD...: non-zero exit, exactly one line on
# stderr matching PATTERN (grep -E), nothing on stdout, nothing left
# (other than what the test set up itself: $keep, a grep -E pattern).
expect_error() {
	_desc=$1 _pattern=$2
	shift 2
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	_rc=$?
	_lines=$(wc -l <"$TEST_TMP/err")
	if [ $_rc -ne 0 ] && [ "$_lines" -eq 1 ] && [ ! -s "$TEST_TMP/out" ] &&
		grep -Eq -- "$_pattern" "$TEST_TMP/err"; then
		ok "$_desc: $(cat "$TEST_TMP/err")"
	else
		not_ok "$_desc (exit $_rc, $_lines stderr lines, want /$_pattern/)"
		diag_file "$TEST_TMP/err"
		diag_file "$TEST_TMP/out"
	fi
	expect_nothing_new "$_desc: no mount or process left"
}
keep='^$'
left_but_kept() {
	leftovers | grep -Ev -- "$keep"
}
expect_nothing_new() {
	settled_leftovers left_but_kept >"$TEST_TMP/.left"
	if [ -s "$TEST_TMP/.left" ]; then
		not_ok "$1"
		diag_file "$TEST_TMP/.left"
	else
		ok "$1"
	fi
}
# mounts_ro IMAGE DIR: mount read-only and unmount again; true if both worked.
mounts_ro() {
	bounded 60 "$IMGFS_MOUNT" "$1" "$2" && [ "$(cat "$2/file")" = data ] && umount "$2"
}
# rw_pending FILE: the ext4 backend refused rw as such, so a test needing a
# first rw mount cannot run yet.
rw_pending() {
	grep -q "serves images read-only" "$1"
}

# ---- images that cannot be served read-write ----

# Not writable by the caller: a mode, for a user; a read-only mount, for root.
chmod 0644 "$img"
if [ -n "$unshare_ok" ]; then
	expect_error "an image the user may not write, -o rw, --unshare" \
		"a\\.ext4: cannot open read-write: Permission denied; mount it with -o ro$" \
		as_user "$IMGFS_MOUNT" --unshare -o rw "$img" "$mnt" -- true
	check "...and with -o ro it mounts" as_user "$IMGFS_MOUNT" --unshare "$img" "$mnt" -- \
		cat "$mnt/file"
else
	skip "an image the user may not write, -o rw" "unprivileged user namespaces are disabled"
fi
chmod 0666 "$img"
mkdir -p "$TEST_TMP/rofs"
cp "$img" "$TEST_TMP/rofs/ro.ext4"
mount --bind -o ro "$TEST_TMP/rofs" "$TEST_TMP/rofs"
keep="^mount: $TEST_TMP/rofs\$"
expect_error "an image on a read-only filesystem, -o rw" \
	"ro\\.ext4: cannot open read-write: Read-only file system; mount it with -o ro$" \
	"$IMGFS_MOUNT" -o rw "$TEST_TMP/rofs/ro.ext4" "$mnt"
umount "$TEST_TMP/rofs"
keep='^$'

# XFS: refused by the helper, right after probing.
if command -v mkfs.xfs >/dev/null 2>&1; then
	xfs=$TEST_TMP/a.xfs
	truncate -s 40M "$xfs"
	TEST_DIR=$TEST_TMP TEST_DEV=$xfs QA_CHECK_FS=xfs mkfs.xfs -q -f "$xfs" >/dev/null 2>&1
	chmod 0666 "$xfs"
	expect_error "XFS, -o rw" "a\\.xfs: XFS is served read-only; mount it with -o ro$" \
		"$IMGFS_MOUNT" -o rw "$xfs" "$mnt"
	if [ -n "$unshare_ok" ]; then
		expect_error "XFS, -o rw, --unshare" "a\\.xfs: XFS is served read-only; mount it with -o ro$" \
			as_user "$IMGFS_MOUNT" --unshare -o rw "$xfs" "$mnt" -- true
	else
		skip "XFS, -o rw, --unshare" "unprivileged user namespaces are disabled"
	fi
	expect_error "XFS, -o ro,rw (the last wins)" "XFS is served read-only" \
		"$IMGFS_MOUNT" -o ro,rw "$xfs" "$mnt"
	check "XFS, -o rw,ro (the last wins) mounts" sh -c \
		'"$0" -o rw,ro "$1" "$2" && umount "$2"' "$IMGFS_MOUNT" "$xfs" "$mnt"
else
	skip "XFS, -o rw" "no mkfs.xfs"
fi

# ---- other imgfs mounts ----

# A read-only mount holds a read lock: another reader is welcome, a writer
# is not, until the mount (and so its server) is gone.
if bounded 60 "$IMGFS_MOUNT" "$img" "$mnt"; then
	keep="^(mount: $mnt|process: .*imgfs-server.*)"
	check "a second read-only mount of the image shares it" mounts_ro "$img" "$mnt2"
	expect_error "-o rw while a read-only imgfs mount exists" \
		"a\\.ext4: in use by another read-only imgfs mount \\(or a program holding a lock on it; see lslocks\\)$" \
		"$IMGFS_MOUNT" -o rw "$img" "$mnt2"
	if [ -n "$unshare_ok" ]; then
		expect_error "-o rw while a read-only imgfs mount exists, --unshare" \
			"a\\.ext4: in use by another read-only imgfs mount" \
			as_user "$IMGFS_MOUNT" --unshare -o rw "$img" "$mnt2" -- true
	fi
	keep='^$'
	umount "$mnt"
	# The lock went with the server: what stops rw now is only the backend.
	settled_leftovers >/dev/null
	bounded 60 "$IMGFS_MOUNT" -o rw "$img" "$mnt2" 2>"$TEST_TMP/err"
	rc=$?
	if [ $rc -eq 0 ] || ! grep -q "in use" "$TEST_TMP/err"; then
		ok "once that mount is gone, -o rw is not refused as in use"
	else
		not_ok "once that mount is gone, -o rw is not refused as in use"
		diag_file "$TEST_TMP/err"
	fi
	[ $rc -ne 0 ] || umount "$mnt2"
else
	not_ok "a read-only mount of the image"
fi
assert_clean "after the read-only mounts: nothing left"

# A read-write mount holds a write lock: nobody else may mount.
if bounded 60 "$IMGFS_MOUNT" -o rw "$img" "$mnt" 2>"$TEST_TMP/err"; then
	ok "a read-write mount"
	keep="^(mount: $mnt|process: .*imgfs-server.*)"
	check "it is mounted rw" sh -c \
		"awk '\$5 == \"$mnt\" { print \$6 }' /proc/self/mountinfo | grep -q '^rw,'"
	expect_error "a second -o rw mount of the same image" \
		"a\\.ext4: in use by another read-write imgfs mount" \
		"$IMGFS_MOUNT" -o rw "$img" "$mnt2"
	expect_error "a read-only mount while a read-write one exists" \
		"a\\.ext4: in use by another read-write imgfs mount" \
		"$IMGFS_MOUNT" "$img" "$mnt2"
	keep='^$'
	umount "$mnt"
	settled_leftovers >/dev/null
	check "once it is gone, the image mounts read-only" mounts_ro "$img" "$mnt"
elif rw_pending "$TEST_TMP/err"; then
	for t in "a read-write mount" "a second -o rw mount of the same image" \
		"a read-only mount while a read-write one exists"; do
		skip "$t" "the ext4 backend does not serve rw yet"
	done
else
	not_ok "a read-write mount"
	diag_file "$TEST_TMP/err"
fi
assert_clean "after the read-write mounts: nothing left"

# ---- the kernel's loop devices ----

# Attached, not mounted: the kernel may write through it, so no rw; readers are fine.
loop=$(losetup -f --show "$img") || bail_out "losetup failed"
keep="^loop device: $loop\$"
expect_error "-o rw on an image attached to a loop device" \
	"a\\.ext4: in use: attached to $loop; detach it with losetup -d $loop$" \
	"$IMGFS_MOUNT" -o rw "$img" "$mnt"
if [ -n "$unshare_ok" ]; then
	expect_error "-o rw on an image attached to a loop device, --unshare" \
		"a\\.ext4: in use: attached to $loop; detach it with losetup -d $loop$" \
		as_user "$IMGFS_MOUNT" --unshare -o rw "$img" "$mnt" -- true
else
	skip "-o rw on an attached image, --unshare" "unprivileged user namespaces are disabled"
fi
check "...and read-only it mounts" mounts_ro "$img" "$mnt"

# Mounted by the kernel, read-write then read-only, through the image and
# through the loop device as a block device.  Kernel rw mounts are made in
# a private mount namespace (tests/private-ns.sh), and the helper runs
# there too, as it must see them in its mountinfo.
cat >"$TEST_TMP/kernel.sh" <<'SCRIPT'
mount_prog=$1 img=$2 loop=$3 k=$4 m=$5 out=$6
# run NAME CMD...: CMD's status and output, for the test to judge.
run() {
	_n=$1
	shift
	timeout 60 "$@" >"$out/$_n.out" 2>"$out/$_n.err"
	echo $? >"$out/$_n.rc"
	umount "$m" 2>/dev/null
}
mkdir -p "$k"
mount -t ext4 "$loop" "$k" || exit 1
run img-rw-krw "$mount_prog" -o rw "$img" "$m"
run img-ro-krw "$mount_prog" "$img" "$m"
run dev-rw-krw "$mount_prog" -o rw "$loop" "$m"
run dev-ro-krw "$mount_prog" "$loop" "$m"
umount "$k"
mount -t ext4 -o ro,noload "$loop" "$k" || exit 1
run img-rw-kro "$mount_prog" -o rw "$img" "$m"
run img-ro-kro "$mount_prog" "$img" "$m"
run dev-ro-kro "$mount_prog" "$loop" "$m"
umount "$k"
SCRIPT
mkdir -p "$TEST_TMP/k"
if private_mounts sh "$TEST_TMP/kernel.sh" "$IMGFS_MOUNT" "$img" "$loop" "$TEST_TMP/k" "$mnt" \
	"$TEST_TMP"; then
	# judge NAME DESC PATTERN: refused with one line matching PATTERN.
	judge() {
		if [ "$(cat "$TEST_TMP/$1.rc")" -ne 0 ] && [ "$(wc -l <"$TEST_TMP/$1.err")" -eq 1 ] &&
			grep -Eq -- "$3" "$TEST_TMP/$1.err"; then
			ok "$2: $(cat "$TEST_TMP/$1.err")"
		else
			not_ok "$2 (exit $(cat "$TEST_TMP/$1.rc"), want one line /$3/)"
			diag_file "$TEST_TMP/$1.err"
		fi
	}
	# served NAME DESC: mounted (and unmounted by the script).
	served() {
		if [ "$(cat "$TEST_TMP/$1.rc")" -eq 0 ]; then
			ok "$2"
		else
			not_ok "$2"
			diag_file "$TEST_TMP/$1.err"
		fi
	}
	k=$TEST_TMP/k
	judge img-rw-krw "-o rw on an image the kernel loop-mounted read-write" \
		"a\\.ext4: in use: loop-mounted by the kernel via $loop at $k; unmount it first$"
	judge img-ro-krw "read-only on an image the kernel loop-mounted read-write" \
		"a\\.ext4: in use: loop-mounted read-write by the kernel via $loop at $k; unmount it first$"
	judge dev-rw-krw "-o rw on a block device the kernel mounted" \
		"$loop: in use: mounted by the kernel at $k; unmount it first$"
	judge dev-ro-krw "read-only on a block device the kernel mounted read-write" \
		"$loop: in use: mounted read-write by the kernel at $k; unmount it or remount it read-only first$"
	judge img-rw-kro "-o rw on an image the kernel loop-mounted read-only" \
		"a\\.ext4: in use: loop-mounted by the kernel via $loop at $k; unmount it first$"
	served img-ro-kro "read-only on an image the kernel loop-mounted read-only: served"
	served dev-ro-kro "read-only on a block device the kernel mounted read-only: served"
else
	not_ok "the kernel mounts the loop device"
fi
losetup -d "$loop"
keep='^$'
assert_clean "after the loop devices: nothing left"
done_testing
