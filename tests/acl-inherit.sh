#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Default ACLs and the umask on a read-write mount, against the kernel.
#
# The same workload runs on two copies of one fresh image: through
# `imgfs-mount -o rw` and through the kernel's ext4 on a loop device.  It
# sets default ACLs on directories and makes files, directories, fifos,
# devices and symlinks under them (and under a directory without one)
# with various umasks.  As ext4's posix_acl_create: under a default ACL
# the ACL, not the umask, masks the new mode, the new inode gets an access
# ACL from the default, and a directory keeps the default too; without
# one the umask applies.  FUSE would apply the umask itself, so this
# checks FUSE_CAP_DONT_MASK and the backend together.
#
# Compared: getfacl and stat of every name, as each mount showed them
# and as the kernel shows imgfs's image afterwards; e2fsck -fn on both.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_loop
need_cmd mkfs.ext4 e2fsck setfacl getfacl
need_prog "$IMGFS_MOUNT"

img=$TEST_TMP/imgfs.ext4
kimg=$TEST_TMP/kernel.ext4
truncate -s 64M "$img" && mkfs.ext4 -q -F "$img" && cp --sparse=always "$img" "$kimg" ||
	bail_out "mkfs.ext4 failed"

cat >"$TEST_TMP/workload.sh" <<'WORKLOAD'
set -e
cd "$1"
umask 022
mkdir acl plain
setfacl -d -m u::rwx,u:1000:r-x,g::rwx,g:2000:rw-,m::rwx,o::r-x acl
(umask 077; touch acl/f; mkdir acl/d; mkfifo acl/p; mknod acl/c c 1 3; ln -s f acl/l)
(umask 0; touch acl/f0; mkdir -m 1777 acl/sticky; mkfifo -m 0640 acl/p0)
(umask 027; : >acl/redir; mkdir acl/d/sub; touch acl/d/sub/f; mkdir -m 2750 acl/d/sgid)
(umask 0777; touch acl/none; mkdir acl/dnone)
# A default the mode can say all of: no access ACL is stored.
mkdir acl/min
setfacl -k acl/min
setfacl -d -m u::rwx,g::r-x,o::--- acl/min
(umask 0; touch acl/min/f; mkdir acl/min/d; mkfifo acl/min/p)
(umask 077; touch acl/min/f77)
# No default ACL: the umask.
(umask 027; touch plain/f; mkdir plain/d; mkfifo plain/p; ln -s f plain/l)
(umask 0; touch plain/f0; mkdir plain/d0)
(umask 0777; touch plain/none; mkdir plain/dnone)
(umask 022; mkdir -m 0777 plain/dm; touch plain/dm/f)
# A default ACL removed: the umask again.
(umask 077; setfacl -k acl/d/sub; touch acl/d/sub/after)
WORKLOAD

# side.sh KIND IMAGE DIR OUT: mount IMAGE on DIR (imgfs -o rw, or the
# kernel on a loop device), run the workload, write what it shows to OUT,
# unmount.  Run in a private mount namespace (private_mounts).
cat >"$TEST_TMP/side.sh" <<'SIDE'
kind=$1 image=$2 dir=$3 out=$4 workload=$5 mount_prog=$6
mkdir -p "$dir" || exit 1
case $kind in
imgfs) "$mount_prog" -o rw "$image" "$dir" || exit 1;;
kernel) mount -t ext4 -o loop "$image" "$dir" || exit 1;;
esac
sh -e "$workload" "$dir"
rc=$?
if [ $rc -eq 0 ]; then
	(cd "$dir" && find . -path ./lost+found -prune -o -print | sort | while read -r p; do
		stat -c '%n %F %a %u %g %h' "$p"
		[ -L "$p" ] || getfacl -n -p "$p"
	done) >"$out" 2>&1 || rc=1
fi
umount "$dir" || rc=1
exit $rc
SIDE

for kind in imgfs kernel; do
	[ $kind = imgfs ] && image=$img || image=$kimg
	if bounded 120 sh "$top_srcdir/tests/private-ns.sh" sh "$TEST_TMP/side.sh" $kind "$image" "$TEST_TMP/m-$kind" \
		"$TEST_TMP/$kind.state" "$TEST_TMP/workload.sh" "$IMGFS_MOUNT" \
		>"$TEST_TMP/$kind.err" 2>&1; then
		ok "the workload ran on the $kind's read-write mount"
	else
		not_ok "the workload ran on the $kind's read-write mount"
		diag_file "$TEST_TMP/$kind.err"
	fi
done

# The names the workload made, so that an empty record cannot pass.
if grep -q '^./acl/d/sub/after ' "$TEST_TMP/kernel.state" &&
	grep -q '^default:user:1000:r-x' "$TEST_TMP/kernel.state"; then
	ok "the kernel's record has every name and the default ACLs"
else
	not_ok "the kernel's record has every name and the default ACLs"
	diag_file "$TEST_TMP/kernel.state"
fi
if diff -u "$TEST_TMP/kernel.state" "$TEST_TMP/imgfs.state" >"$TEST_TMP/diff" 2>&1; then
	ok "modes and ACLs through imgfs are the kernel's (stat, getfacl)"
else
	not_ok "modes and ACLs through imgfs are the kernel's (stat, getfacl)"
	diag_file "$TEST_TMP/diff" 80
fi

check "e2fsck -fn: imgfs's image is clean" e2fsck -fn "$img"
check "e2fsck -fn: the kernel's image is clean" e2fsck -fn "$kimg"

# What imgfs wrote, read back by the kernel.
if kernel_mount "$img" "$TEST_TMP/k"; then
	(cd "$TEST_TMP/k" && find . -path ./lost+found -prune -o -print | sort | while read -r p; do
		stat -c '%n %F %a %u %g %h' "$p"
		[ -L "$p" ] || getfacl -n -p "$p"
	done) >"$TEST_TMP/imgfs-by-kernel.state" 2>&1
	unmount "$TEST_TMP/k"
	if diff -u "$TEST_TMP/kernel.state" "$TEST_TMP/imgfs-by-kernel.state" \
		>"$TEST_TMP/diff" 2>&1; then
		ok "the kernel reads imgfs's image with the same modes and ACLs"
	else
		not_ok "the kernel reads imgfs's image with the same modes and ACLs"
		diag_file "$TEST_TMP/diff" 80
	fi
else
	not_ok "the kernel mounts imgfs's image"
fi

assert_clean "nothing left mounted or running"
done_testing
