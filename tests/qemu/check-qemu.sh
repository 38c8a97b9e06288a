# SPDX-License-Identifier: GPL-2.0-or-later
# tests/qemu/check-qemu.sh: imgfs on a real fuse-iomap kernel, under QEMU
# (`make check-qemu`).
#
# Boots the Linux 7.2 kernel with Darrick Wong's fuse-iomap v7 series
# (../shared/kernel/ next to the source tree, or $IMGFS_QEMU_KERNEL) with
# fuse.enable_iomap=1 and an initramfs built here: busybox-static as the
# shell, imgfs-mount, imgfs-server, treecmp and pagecache with the libraries ldd
# lists, and the seccomp policy where the installed server looks for it.
# Three images made here (ext4 with 4 KiB blocks, ext4 with 1 KiB blocks
# and inline data, XFS), each given to the VM twice as virtio disks: one
# for imgfs, one for the VM kernel's own read-only mount.  tests/qemu/init.sh
# runs the checks inside; their TAP lines come back on the second serial
# port and are numbered here.  Then two checks of the host's own: the VM
# finished its tests and powered off, and the kernel logged no oops, BUG
# or warning.
#
# Skips when qemu-system-x86_64, busybox (static) or the kernel is missing.
#
# Environment:
#   IMGFS_QEMU_KERNEL     the kernel image (default: shared/kernel/bzImage-7.2.13-fuse-iomap-v7
#                         beside the checkout or one of its parents)
#   IMGFS_QEMU_TIMEOUT    seconds the VM may run (default 600)
#   imgfs_bindir, imgfs_sbindir, imgfs_seccompdir   where the programs
#                         and the policy go in the VM (the configured
#                         install paths; `make check-qemu` sets them)
#   IMGFS_TEST_KEEP=1     keep the scratch directory (images, console log)

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

# The kernel lives in shared/kernel/ beside the checkout, or beside one of
# its parents (a CI clone may sit a level or two deeper).
find_kernel() {
	_d=$top_srcdir
	for _up in 1 2 3; do
		_d=$(dirname "$_d")
		_k=$_d/shared/kernel/bzImage-7.2.13-fuse-iomap-v7
		[ -r "$_k" ] && { echo "$_k"; return; }
	done
	echo "$top_srcdir/../shared/kernel/bzImage-7.2.13-fuse-iomap-v7"
}
kernel=${IMGFS_QEMU_KERNEL:-$(find_kernel)}
vm_timeout=${IMGFS_QEMU_TIMEOUT:-600}
bindir=${imgfs_bindir:-/usr/local/bin}
sbindir=${imgfs_sbindir:-/usr/local/sbin}
seccompdir=${imgfs_seccompdir:-/usr/local/share/imgfs/seccomp}
qemu=qemu-system-x86_64

command -v $qemu >/dev/null 2>&1 || skip_all "needs $qemu (Debian package qemu-system-x86)"
[ -r "$kernel" ] || skip_all "no fuse-iomap kernel at $kernel (set IMGFS_QEMU_KERNEL)"
busybox=$(command -v busybox 2>/dev/null || echo /bin/busybox)
[ -x "$busybox" ] || skip_all "needs busybox (Debian package busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then
	skip_all "$busybox is linked dynamically: needs busybox-static"
fi
need_cmd mke2fs mkfs.xfs debugfs cpio gzip ldd timeout
PAGECACHE=$top_builddir/tests/pagecache
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER" "$TREECMP" "$PAGECACHE"
policy=$top_srcdir/seccomp/imgfs-server.seccomp
[ -r "$policy" ] || bail_out "no seccomp policy at $policy"

# ---- the tree every image holds ----

tree=$TEST_TMP/tree
mkdir -p "$tree/small" "$tree/inline" "$tree/dir/a/b/c" "$tree/many"
# A large file of random bytes: a mapping error shows as different data.
head -c 64M /dev/urandom >"$tree/big" || bail_out "cannot write $tree/big"
# Inline (on the inline_data image): 40 bytes fit the inode's block map,
# 120 need the in-inode xattr space too.  The mapped one is too large.
head -c 40 /dev/urandom | od -A n -t x1 | tr -d ' \n' | head -c 40 >"$tree/inline/i40"
head -c 120 /dev/urandom | od -A n -t x1 | tr -d ' \n' | head -c 120 >"$tree/inline/i120"
: >"$tree/inline/empty"
head -c 3000 /dev/urandom >"$tree/small/mapped3000"
printf 'hello\n' >"$tree/small/hello"
head -c 4097 /dev/urandom >"$tree/small/page-plus-one"
head -c 300000 /dev/urandom >"$tree/small/300k"
# Sparse: data at the start, in the middle and at the end of 32 MiB.
truncate -s 32M "$tree/sparse"
for off in 0 5000 20480; do
	printf 'data at %s KiB\n' "$off" | dd of="$tree/sparse" bs=1024 seek="$off" conv=notrunc 2>/dev/null
done
for i in $(seq 1 200); do
	printf 'file %s\n' "$i" >"$tree/many/f$i"
done
printf 'deep\n' >"$tree/dir/a/b/c/deep"
ln -s ../small/hello "$tree/dir/link"
ln -s "$(printf '%0100d' 0)" "$tree/dir/longlink"
chmod 700 "$tree/dir/a"
chmod 640 "$tree/small/hello"
chown 1000:1000 "$tree/small/300k" 2>/dev/null || true

# ---- the images ----

# xfs_proto DIR INDENT: a mkfs.xfs protofile's entries for DIR's contents
# (xfsprogs 6.1 has no -d; files are copied in whole, holes included).
xfs_proto() {
	for _e in "$1"/*; do
		[ -e "$_e" ] || [ -L "$_e" ] || continue
		_n=$(basename "$_e")
		_perm=$(stat -c %a "$_e")
		_owner="$(stat -c '%u %g' "$_e")"
		if [ -L "$_e" ]; then
			echo "$2$_n l--$_perm $_owner $(readlink "$_e")"
		elif [ -d "$_e" ]; then
			echo "$2$_n d--$_perm $_owner"
			xfs_proto "$_e" "$2 "
			echo "$2\$"
		else
			echo "$2$_n ---$_perm $_owner $_e"
		fi
	done
}

img=$TEST_TMP/img
mkdir -p "$img"
mkimage() {
	_name=$1
	shift
	if ! "$@" >"$img/$_name.log" 2>&1; then
		diag_file "$img/$_name.log"
		bail_out "cannot make the $_name image: $*"
	fi
	cp --sparse=always "$img/$_name" "$img/$_name.ref" || bail_out "cannot copy $_name"
}
mkimage ext4-4k mke2fs -q -F -t ext4 -b 4096 -d "$tree" "$img/ext4-4k" 192M
mkimage ext4-1k-inline mke2fs -q -F -t ext4 -b 1024 -I 256 -O inline_data -d "$tree" \
	"$img/ext4-1k-inline" 192M
{
	echo /dev/null
	echo 0 0
	echo "d--755 0 0"
	xfs_proto "$tree" " "
	echo "\$"
} >"$img/xfs.proto"
truncate -s 320M "$img/xfs" && mkimage xfs mkfs.xfs -q -f -p "$img/xfs.proto" "$img/xfs"

# The inline check means nothing unless those files are inline.
for f in inline/i40 inline/i120; do
	debugfs -R "stat /$f" "$img/ext4-1k-inline" 2>/dev/null | grep -q 'Size of inline data' ||
		bail_out "mke2fs -d did not store /$f inline"
done
debugfs -R "stat /small/mapped3000" "$img/ext4-1k-inline" 2>/dev/null |
	grep -q 'Size of inline data' && bail_out "mke2fs -d stored /small/mapped3000 inline"

# ---- the initramfs ----

root=$TEST_TMP/root
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" \
	"$root/mnt" "$root/ref" "$root/etc" "$root$bindir" "$root$sbindir" "$root$seccompdir" ||
	bail_out "cannot create $root"
cp "$busybox" "$root/bin/busybox" &&
	cp "$top_srcdir/tests/qemu/init.sh" "$root/init" && chmod 755 "$root/init" &&
	cp "$IMGFS_MOUNT" "$root$bindir/" && cp "$IMGFS_SERVER" "$root$sbindir/" &&
	cp "$TREECMP" "$PAGECACHE" "$root/bin/" &&
	cp "$policy" "$root$seccompdir/" || bail_out "cannot fill $root"
# The libraries and the loader, at the paths ldd names.
for lib in $(ldd "$IMGFS_MOUNT" "$IMGFS_SERVER" "$TREECMP" "$PAGECACHE" |
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u); do
	mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib" ||
		bail_out "cannot copy $lib"
done
cat >"$root/etc/check-qemu.conf" <<EOF
IMGFS_MOUNT=$bindir/imgfs-mount
IMGFS_SERVER=$sbindir/imgfs-server
TREECMP=/bin/treecmp
PAGECACHE=/bin/pagecache
TREECMP_OPTS="--atime --blocks --ino"
IMAGES="ext4-4k:ext4 ext4-1k-inline:ext4 xfs:xfs"
INLINE_IMAGE=ext4-1k-inline
INLINE_FILE=inline/i120
MAPPED_FILE=small/mapped3000
EOF
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$TEST_TMP/initramfs.cpio.gz" ||
	bail_out "cannot build the initramfs"

# ---- the VM ----

drives=
for name in ext4-4k ext4-1k-inline xfs; do
	for side in imgfs ref; do
		file=$img/$name
		[ $side = ref ] && file=$img/$name.ref
		drives="$drives -drive file=$file,if=none,id=$name-$side,format=raw,readonly=on"
		drives="$drives -device virtio-blk-pci,drive=$name-$side,serial=$name-$side"
	done
done
console=$TEST_TMP/console.log results=$TEST_TMP/results.tap
start=$(date +%s)
# shellcheck disable=SC2086
bounded "$vm_timeout" $qemu -nodefaults -display none -no-reboot -m 1G \
	-kernel "$kernel" -initrd "$TEST_TMP/initramfs.cpio.gz" \
	-append 'console=ttyS0 panic=-1 oops=panic fuse.enable_iomap=1' \
	-serial "file:$console" -serial "file:$results" $drives </dev/null \
	>"$TEST_TMP/qemu.out" 2>&1
qemu_rc=$?
diag "VM ran $(($(date +%s) - start)) s, QEMU exit $qemu_rc, kernel $(basename "$kernel")"

# ---- the results ----

tr -d '\r' <"$results" >"$results.txt"
while IFS= read -r line; do
	case $line in
	"not ok - "*) not_ok "${line#not ok - }";;
	"ok - "*) ok "${line#ok - }";;
	"# vm-done") ;;
	"#"*) echo "$line";;
	esac
done <"$results.txt"

if grep -qx '# vm-done' "$results.txt" && [ $qemu_rc -eq 0 ]; then
	ok "the VM ran its tests to the end and powered off"
else
	not_ok "the VM ran its tests to the end and powered off"
	[ $qemu_rc -ne 124 ] || diag "killed after $vm_timeout s"
	diag_file "$TEST_TMP/qemu.out" 20
	diag "the console's last lines:"
	tail -n 60 "$console" | tr -d '\r' | sed 's/^/# /'
fi
tr -d '\r' <"$console" >"$console.txt"
if grep -qE 'BUG:|Oops|WARNING:|Kernel panic|general protection' "$console.txt"; then
	not_ok "the kernel logged no oops, BUG or warning"
	grep -nE -A 40 'BUG:|Oops|WARNING:|Kernel panic|general protection' "$console.txt" |
		head -n 80 | sed 's/^/# /'
else
	ok "the kernel logged no oops, BUG or warning"
fi
done_testing
