#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/rw-atime.sh: imgfs -o rw updates access times as the kernel's
# ext4 does, under each of mount(8)'s atime policies.
#
# One image is made with files and directories whose times debugfs set
# in the past (an atime more than a day old, one an hour old and after
# mtime and ctime).  For each policy (default relatime, strictatime,
# noatime, nodiratime) two copies get the same steps, one under the
# kernel's ext4 on a loop device, one under imgfs: read files and list
# directories, create and write files and read them again, set times
# with touch -d, read again; after each step stat says whether atime,
# mtime and ctime changed.  Per policy, one test line each:
#   - the two logs of what changed are identical;
#   - the mount shows the policy in its options (imgfs);
#   - e2fsck -fn finds nothing wrong in either image;
#   - the atimes imgfs showed are those on disk (the kernel reads them).
# And: imgfs-mount takes every atime option on a read-only mount, and
# still answers an unknown option with one line.

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/rw-lib.sh"

need_root
need_loop
need_fuse
need_cmd mkfs.ext4 e2fsck debugfs stat
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"

policies="default strictatime noatime nodiratime"
plan $(($(echo $policies | wc -w) * 4 + 3))

# ---- the image ----
base=$TEST_TMP/base.img
now=$(date +%s)
day_ago=$((now - 2 * 86400)) older=$((now - 3 * 86400))
hour_ago=$((now - 3600)) two_hours=$((now - 7200))
echo "some data" >"$TEST_TMP/data"
mkfs.ext4 -q -F -b 4096 "$base" 32M >/dev/null || bail_out "mkfs.ext4 failed"
# old: atime two days old; recent: atime an hour old, after mtime and
# ctime (relatime leaves it); the same for two directories.
{
	for f in old recent; do
		echo "write $TEST_TMP/data $f"
		echo "mkdir ${f}dir"
		echo "write $TEST_TMP/data ${f}dir/inner"
	done
	for n in old olddir; do
		echo "sif $n atime @$day_ago"
		echo "sif $n mtime @$older"
		echo "sif $n ctime @$older"
	done
	for n in recent recentdir; do
		echo "sif $n atime @$hour_ago"
		echo "sif $n mtime @$two_hours"
		echo "sif $n ctime @$two_hours"
	done
} >"$TEST_TMP/debugfs.cmds"
debugfs -w -f "$TEST_TMP/debugfs.cmds" "$base" >"$TEST_TMP/debugfs.out" 2>&1 ||
	bail_out "debugfs failed"

# ---- the steps, the same for both drivers ----
# steps.sh MNT: one line per step: what changed of atime, mtime, ctime.
cat >"$TEST_TMP/steps.sh" <<'EOF'
set -u
m=$1
t() { stat -c '%.9X %.9Y %.9Z' "$m/$1"; }
# step NAME PATH CMD...: run CMD, then say which of PATH's times changed.
step() {
	_name=$1 _p=$2
	shift 2
	_before=$(t "$_p")
	"$@" >/dev/null
	_after=$(t "$_p")
	set -- $_before $_after
	printf '%s: atime %s, mtime %s, ctime %s\n' "$_name" \
		"$([ "$1" = "$4" ] && echo same || echo updated)" \
		"$([ "$2" = "$5" ] && echo same || echo updated)" \
		"$([ "$3" = "$6" ] && echo same || echo updated)"
}
nap() { sleep 1.1; }
step "read a file read two days ago" old cat "$m/old"
step "read it again" old cat "$m/old"
step "read a file read an hour ago" recent cat "$m/recent"
step "list a directory listed two days ago" olddir ls "$m/olddir"
step "list a directory listed an hour ago" recentdir ls "$m/recentdir"
step "stat a file in it" recentdir stat "$m/recentdir/inner"
mkdir "$m/new" && echo "new data" >"$m/new/file"
nap
step "read a new file" new/file cat "$m/new/file"
nap
step "read it again" new/file cat "$m/new/file"
step "list the new directory" new ls "$m/new"
nap
step "list it again" new ls "$m/new"
echo "more" >>"$m/new/file"
nap
step "read the file after a write" new/file cat "$m/new/file"
touch -a -d '1 hour ago' "$m/recent"
nap
step "read after touch -a to the past" recent cat "$m/recent"
touch -d '3 days ago' "$m/new/file"
nap
step "read after touch to the past" new/file cat "$m/new/file"
nap
step "read it again" new/file cat "$m/new/file"
step "read 1 byte at the end" new/file tail -c 1 "$m/new/file"
# What the mount showed last, to compare with what reached the image.
stat -c '%n %.9X' "$m/old" "$m/recent" "$m/olddir" "$m/recentdir" "$m/new" "$m/new/file" |
	sed "s|^$m/||" >"$m.atimes"
EOF

# run DRIVER POLICY: the steps on a fresh copy of the image; the log in
# $TEST_TMP/DRIVER-POLICY.log, the image in $TEST_TMP/DRIVER-POLICY.img.
run() {
	_img=$TEST_TMP/$1-$2.img _mnt=$TEST_TMP/$1-$2
	_opts=
	[ "$2" = default ] || _opts=$2
	cp --sparse=always "$base" "$_img" && mkdir -p "$_mnt" || return 1
	if [ "$1" = kernel ]; then
		private_mounts sh -c 'mount -t ext4 -o "loop${3:+,$3}" "$1" "$2" &&
			sh "$4" "$2"; _r=$?; umount "$2" && exit $_r' sh \
			"$_img" "$_mnt" "$_opts" "$TEST_TMP/steps.sh" >"$TEST_TMP/$1-$2.log" 2>&1
		return
	fi
	RW_DRIVER=imgfs rw_mount "$_img" "$_mnt" "$_opts" || return 1
	findmnt -n -o OPTIONS --mountpoint "$_mnt" >"$TEST_TMP/$1-$2.opts"
	sh "$TEST_TMP/steps.sh" "$_mnt" >"$TEST_TMP/$1-$2.log" 2>&1
	_r=$?
	rw_unmount "$_mnt" || return 1
	return $_r
}

for p in $policies; do
	if ! run kernel "$p"; then
		diag_file "$TEST_TMP/kernel-$p.log"
		bail_out "the steps fail under the kernel ($p)"
	fi
	if run imgfs "$p" && cmp -s "$TEST_TMP/kernel-$p.log" "$TEST_TMP/imgfs-$p.log"; then
		ok "$p: atime, mtime and ctime change as under the kernel"
	else
		not_ok "$p: atime, mtime and ctime change as under the kernel"
		diff "$TEST_TMP/kernel-$p.log" "$TEST_TMP/imgfs-$p.log" | sed 's/^/# /'
	fi
	# mountinfo names relatime and noatime; strictatime is neither.
	case $p in
	default) want=relatime;;
	nodiratime) want="relatime nodiratime";;
	*) want=$p;;
	esac
	have=$(tr , '\n' <"$TEST_TMP/imgfs-$p.opts" 2>/dev/null |
		grep -E '^(relatime|noatime|nodiratime)$' | sort -r | tr '\n' ' ')
	[ "$p" = strictatime ] && want=
	if [ -s "$TEST_TMP/imgfs-$p.opts" ] && [ "$have" = "${want:+$want }" ]; then
		ok "$p: mountinfo shows the policy"
	else
		not_ok "$p: mountinfo shows the policy"
		diag "options: $(cat "$TEST_TMP/imgfs-$p.opts" 2>/dev/null)"
	fi
	if e2fsck -fn "$TEST_TMP/kernel-$p.img" >"$TEST_TMP/fsck.out" 2>&1 &&
		e2fsck -fn "$TEST_TMP/imgfs-$p.img" >>"$TEST_TMP/fsck.out" 2>&1; then
		ok "$p: e2fsck -fn finds both images clean"
	else
		not_ok "$p: e2fsck -fn finds both images clean"
		diag_file "$TEST_TMP/fsck.out" 30
	fi
	# The atimes imgfs showed last are on disk: the kernel reads them back.
	mkdir -p "$TEST_TMP/k"
	if kernel_mount "$TEST_TMP/imgfs-$p.img" "$TEST_TMP/k"; then
		(cd "$TEST_TMP/k" && stat -c '%n %.9X' old recent olddir recentdir new new/file) \
			>"$TEST_TMP/disk.atimes" 2>&1
		unmount "$TEST_TMP/k"
	fi
	if cmp -s "$TEST_TMP/disk.atimes" "$TEST_TMP/imgfs-$p.atimes"; then
		ok "$p: the atimes imgfs showed are those on disk"
	else
		not_ok "$p: the atimes imgfs showed are those on disk"
		diff "$TEST_TMP/imgfs-$p.atimes" "$TEST_TMP/disk.atimes" | sed 's/^/# /'
	fi
done

# ---- options ----
opts=atime,noatime,diratime,nodiratime,lazytime,nolazytime,strictatime,relatime
mkdir -p "$TEST_TMP/ro"
if imgfs_mount "$base" "$TEST_TMP/ro" "$opts" && ls "$TEST_TMP/ro/olddir" >/dev/null &&
	imgfs_unmount "$TEST_TMP/ro"; then
	ok "a read-only mount takes every atime option"
else
	not_ok "a read-only mount takes every atime option"
fi
"$IMGFS_MOUNT" -o rw,relatime,bogus=1 "$base" "$TEST_TMP/ro" >"$TEST_TMP/bad.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <"$TEST_TMP/bad.out")" -eq 1 ] &&
	grep -q "unknown mount option 'bogus=1'" "$TEST_TMP/bad.out"; then
	ok "an unknown option is refused with one line"
else
	not_ok "an unknown option is refused with one line"
	diag "exit $rc"
	diag_file "$TEST_TMP/bad.out"
fi

assert_clean "nothing left mounted or running"
done_testing
