#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A directory grown from empty on a read-write mount becomes hash-indexed,
# as the kernel's ext4 makes it (make_indexed_dir), and its index grows.
#
# The same workload on two copies of one image, through `imgfs-mount -o
# rw` (the sandboxed server) and through the kernel's ext4: 5000 names in
# a new directory, then every other one removed.  Then both images are
# e2fsck -fn clean, both directories carry the index flag (lsattr's I,
# as the kernel shows it; debugfs walks imgfs's index, as deep as the
# kernel's), and every
# remaining name, and none of the removed, looks up through the kernel on
# imgfs's image.  This also runs libext2fs's leaf splits inside the
# seccomp sandbox (glibc's qsort and sysinfo, sandbox.c).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_loop
need_cmd mkfs.ext4 e2fsck debugfs lsattr
need_prog "$IMGFS_MOUNT"

N=5000
for bs in 1024 4096; do
	img=$TEST_TMP/imgfs-$bs.ext4
	kimg=$TEST_TMP/kernel-$bs.ext4
	rm -f "$img" "$kimg"
	truncate -s 64M "$img" && mkfs.ext4 -q -F -b $bs "$img" &&
		cp --sparse=always "$img" "$kimg" || bail_out "mkfs.ext4 failed"

	cat >"$TEST_TMP/side.sh" <<'SIDE'
kind=$1 image=$2 dir=$3 n=$4 mount_prog=$5
mkdir -p "$dir" || exit 1
case $kind in
imgfs) "$mount_prog" -o rw "$image" "$dir" || exit 1;;
kernel) mount -t ext4 -o loop "$image" "$dir" || exit 1;;
esac
rc=0
mkdir "$dir/big" || rc=1
i=0
while [ $rc -eq 0 ] && [ $i -lt "$n" ]; do
	: >"$dir/big/name-$i" || rc=1
	i=$((i + 1))
done
[ "$kind" = imgfs ] || lsattr -d "$dir/big" | cut -d' ' -f1 >"$dir.attr-grown"
i=0
while [ $rc -eq 0 ] && [ $i -lt "$n" ]; do
	rm "$dir/big/name-$i" || rc=1
	i=$((i + 2))
done
umount "$dir" || rc=1
exit $rc
SIDE
	for kind in imgfs kernel; do
		[ $kind = imgfs ] && image=$img || image=$kimg
		if bounded 300 sh "$top_srcdir/tests/private-ns.sh" sh "$TEST_TMP/side.sh" $kind \
			"$image" "$TEST_TMP/m-$kind" $N "$IMGFS_MOUNT" >"$TEST_TMP/$kind.err" 2>&1; then
			ok "$bs: $N names made, every other one removed, on the $kind's mount"
		else
			not_ok "$bs: $N names made, every other one removed, on the $kind's mount"
			diag_file "$TEST_TMP/$kind.err"
		fi
	done
	check "$bs: e2fsck -fn: imgfs's image is clean" e2fsck -fn "$img"
	check "$bs: e2fsck -fn: the kernel's image is clean" e2fsck -fn "$kimg"

	kattr=$(cat "$TEST_TMP/m-kernel.attr-grown" 2>/dev/null)
	case $kattr in
	*I*) ok "$bs: the kernel indexed its directory ($kattr)";;
	*) not_ok "$bs: the kernel indexed its directory ($kattr)";;
	esac
	flags=$(debugfs -R 'stat big' "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	levels=$(debugfs -R 'htree big' "$img" 2>/dev/null | sed -n 's/.*Indirect levels: //p')
	klevels=$(debugfs -R 'htree big' "$kimg" 2>/dev/null | sed -n 's/.*Indirect levels: //p')
	# FUSE has no FS_IOC_GETFLAGS, so lsattr cannot ask imgfs: debugfs reads the inode.
	if [ $((flags & 0x1000)) -ne 0 ] && [ -n "$levels" ] && [ "$levels" = "$klevels" ]; then
		ok "$bs: so did imgfs, as deep as the kernel's (flags $flags, $levels indirect levels)"
	else
		not_ok "$bs: so did imgfs, as deep as the kernel's (flags $flags, $levels indirect levels, the kernel's $klevels)"
	fi

	if kernel_mount "$img" "$TEST_TMP/k"; then
		bad=0 i=0
		while [ $i -lt $N ]; do
			if [ $((i % 2)) -eq 1 ]; then
				[ -e "$TEST_TMP/k/big/name-$i" ] || bad=$((bad + 1))
			else
				[ ! -e "$TEST_TMP/k/big/name-$i" ] || bad=$((bad + 1))
			fi
			i=$((i + 1))
		done
		count=$(ls "$TEST_TMP/k/big" | wc -l)
		unmount "$TEST_TMP/k"
		if [ $bad -eq 0 ] && [ "$count" -eq $((N / 2)) ]; then
			ok "$bs: the kernel finds every name left on imgfs's image, and none removed"
		else
			not_ok "$bs: the kernel finds every name left on imgfs's image, and none removed"
			diag "$bad lookups wrong, $count names listed"
		fi
	else
		not_ok "$bs: the kernel mounts imgfs's image"
	fi
done

assert_clean "nothing left mounted or running"
done_testing
