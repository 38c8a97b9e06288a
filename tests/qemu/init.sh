#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/qemu/init.sh: /init of the initramfs tests/qemu/check-qemu.sh
# builds, run by the fuse-iomap kernel under QEMU.  busybox sh, as root.
#
# /etc/check-qemu.conf (written by check-qemu.sh) names the programs and
# the images; each image is two virtio disks, told apart by their serial:
# NAME-imgfs (mounted by imgfs-mount) and NAME-ref (mounted by the VM's
# own kernel driver: the truth).  For each image:
#   - imgfs-mount -v says the data path is kernel iomap;
#   - the server reads none of the large file's bytes while it is read;
#   - every file equals the kernel's own mount (treecmp);
# and on the image with inline data, read with the server's FUSE trace:
#   - an inline file is read through FUSE_READ;
#   - a file of the same image with mapped blocks is not.
#
# Results go to the second serial port (ttyS1) as TAP lines without
# numbers ("ok - ...", "not ok - ...", "# ..."), then "# vm-done"; the
# host numbers them.  The kernel's own messages stay on ttyS0.

/bin/busybox --install -s /bin
PATH=/bin:/sbin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null

if [ -c /dev/ttyS1 ]; then
	exec >/dev/ttyS1 2>&1
else
	exec >/dev/console 2>&1
fi
. /etc/check-qemu.conf
PATH=$PATH:$(dirname "$IMGFS_MOUNT"):$(dirname "$IMGFS_SERVER")

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
diag_file() { [ -s "$1" ] && sed -n "1,${2:-40}s/^/# /p" "$1"; }

finish() {
	echo "# vm-done"
	sync
	poweroff -f
}
trap finish EXIT

# The virtio disk whose serial is $1.
disk_by_serial() {
	for _s in /sys/block/vd*/serial; do
		[ "$(cat "$_s" 2>/dev/null)" = "$1" ] && { echo "/dev/$(basename "$(dirname "$_s")")"; return 0; }
	done
	return 1
}

# The imgfs-server processes: "SUPERVISOR SERVER"; the server is the one
# in a PID namespace of its own (two numbers on its NSpid line).  Only one
# mount is up at a time, so there is one pair.
server_pids() {
	_sup=- _srv=-
	for _d in /proc/[0-9]*; do
		[ "$(cat "$_d/comm" 2>/dev/null)" = imgfs-server ] || continue
		if [ "$(awk '$1 == "NSpid:" { print NF - 1 }' "$_d/status" 2>/dev/null)" = 2 ]; then
			_srv=${_d#/proc/}
		else
			_sup=${_d#/proc/}
		fi
	done
	echo "$_sup $_srv"
}

# Until no imgfs-server is left (they exit by themselves after umount).
wait_servers_gone() {
	_i=0
	while [ "$(server_pids)" != "- -" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

is_mounted() {
	awk -v p="$1" '$2 == p { f = 1 } END { exit !f }' /proc/mounts
}

# How many bytes the server read from the image device $2: its rchar
# where the kernel keeps per-process I/O accounting
# (CONFIG_TASK_IO_ACCOUNTING).  Without it, the bytes of the device in the
# page cache: the server reads the image through the device, buffered,
# while the kernel's iomap reads go straight into the file's own pages.
read_count() {
	if [ -r "/proc/$1/io" ]; then
		awk '$1 == "rchar:" { print $2 }' "/proc/$1/io"
	else
		"$PAGECACHE" "$2"
	fi
}

# What read_count measures for server $1 and device $2.
read_probe() {
	if [ -r "/proc/$1/io" ]; then
		echo "the server's rchar"
	else
		echo "$2's bytes in the page cache (no /proc/PID/io in this kernel)"
	fi
}

# That measure must see a server's reads, or it proves nothing: read
# 8 MiB of a reference disk (not mounted yet) and watch it grow, as it
# would for a server holding the device open.
probe_control() {
	_dev=$(disk_by_serial "$1-ref") || { not_ok "$2"; diag "no disk $1-ref"; return; }
	if [ -r /proc/self/io ]; then
		ok "$2 # SKIP the kernel has /proc/PID/io: rchar is measured"
		return
	fi
	# Held open: the last close of a block device drops its page cache.
	exec 3<"$_dev"
	_before=$("$PAGECACHE" "$_dev")
	dd if="$_dev" of=/dev/null bs=1M count=8 2>/dev/null
	_after=$("$PAGECACHE" "$_dev")
	exec 3<&-
	if [ -n "$_before" ] && [ -n "$_after" ] && [ $((_after - _before)) -ge 8388608 ]; then
		ok "$2"
	else
		not_ok "$2"
	fi
	diag "$_dev: $_before bytes cached before an 8 MiB read, $_after after"
}

# test_image NAME FSTYPE: the three checks of one image.
test_image() {
	_name=$1 _type=$2
	_img=$(disk_by_serial "$_name-imgfs") _ref=$(disk_by_serial "$_name-ref")
	_m=/mnt/$_name _r=/ref/$_name
	mkdir -p "$_m" "$_r"
	if [ -z "$_img" ] || [ -z "$_ref" ]; then
		for _t in "data path" "server reads" "treecmp"; do
			not_ok "$_name: $_t (no disks $_name-imgfs and $_name-ref)"
		done
		return
	fi

	# 1. The data path imgfs-mount -v names.
	timeout 60 "$IMGFS_MOUNT" -v "$_img" "$_m" >/tmp/mount.out 2>&1
	_rc=$?
	if [ $_rc -ne 0 ] || ! is_mounted "$_m"; then
		not_ok "$_name: imgfs-mount -v $_img names kernel iomap (imgfs-mount exit $_rc)"
		diag_file /tmp/mount.out
		not_ok "$_name: the server reads none of the 64 MiB file (not mounted)"
		not_ok "$_name: every file equals the kernel's own mount (not mounted)"
		return
	fi
	if grep -q 'data path: kernel iomap' /tmp/mount.out; then
		ok "$_name: imgfs-mount -v $_img names kernel iomap"
	else
		not_ok "$_name: imgfs-mount -v $_img names kernel iomap"
	fi
	diag_file /tmp/mount.out

	mount -t "$_type" -o ro "$_ref" "$_r" || diag "mount -t $_type $_ref failed"

	# 2. The big file's bytes come from the device, not from the server.
	set -- $(server_pids)
	_srv=$2
	if [ "$_srv" = - ]; then
		not_ok "$_name: the server reads none of the 64 MiB file (no server found)"
	else
		_before=$(read_count "$_srv" "$_img")
		_sum=$(timeout 120 md5sum <"$_m/big")
		_after=$(read_count "$_srv" "$_img")
		_grew=$((_after - _before))
		_want=$(md5sum <"$_r/big")
		if [ "$_sum" = "$_want" ] && [ $_grew -lt 4194304 ]; then
			ok "$_name: the server reads none of the 64 MiB file"
		else
			not_ok "$_name: the server reads none of the 64 MiB file"
		fi
		diag "measured by $(read_probe "$_srv" "$_img"): grew by $_grew bytes; md5 imgfs ${_sum%% *}, kernel ${_want%% *}"
	fi

	# 3. Everything, against the kernel.
	if timeout 300 "$TREECMP" $TREECMP_OPTS "$_r" "$_m" >/tmp/treecmp.out 2>&1; then
		ok "$_name: every file equals the kernel's own mount"
		diag "$(tail -n 1 /tmp/treecmp.out)"
	else
		not_ok "$_name: every file equals the kernel's own mount"
		diag_file /tmp/treecmp.out 60
	fi

	timeout 30 umount "$_m" || { diag "umount $_m failed"; umount -l "$_m"; }
	umount "$_r"
	wait_servers_gone
}

# Whether the trace in $1, from line $2 on, has a FUSE_READ for node $3
# (imgfs's node ids are the inode numbers, the root's aside).
traced_read() {
	tail -n +"$2" "$1" | grep -q "opcode: READ (15), nodeid: $3,"
}

# test_inline NAME INLINE-FILE MAPPED-FILE: on a fresh mount with the FUSE
# trace (-d), the inline file's first read reaches the server as a
# FUSE_READ and the mapped file's does not.
test_inline() {
	_name=$1
	_img=$(disk_by_serial "$_name-imgfs") _ref=$(disk_by_serial "$_name-ref")
	_m=/mnt/$_name _r=/ref/$_name
	mkdir -p "$_m" "$_r"
	"$IMGFS_MOUNT" -d "$_img" "$_m" >/tmp/trace 2>&1 &
	_mpid=$!
	_i=0
	while ! is_mounted "$_m" && [ $_i -lt 300 ] && kill -0 $_mpid 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if ! is_mounted "$_m"; then
		not_ok "$_name: an inline file is read through FUSE_READ (imgfs-mount -d did not mount)"
		not_ok "$_name: a mapped file is not read through FUSE_READ (not mounted)"
		diag_file /tmp/trace
		kill $_mpid 2>/dev/null
		return
	fi
	mount -t ext4 -o ro "$_ref" "$_r" || diag "mount -t ext4 $_ref failed"

	for _f in "$2" "$3"; do
		_ino=$(stat -c %i "$_m/$_f")
		_from=$(($(wc -l </tmp/trace) + 1))
		timeout 30 cat "$_m/$_f" >/tmp/content
		_same=no
		cmp -s /tmp/content "$_r/$_f" && _same=yes
		sleep 0.2
		if [ "$_f" = "$2" ]; then
			_desc="$_name: inline file $_f is read through FUSE_READ"
			traced_read /tmp/trace "$_from" "$_ino" && [ $_same = yes ]
		else
			_desc="$_name: mapped file $_f is not read through FUSE_READ"
			! traced_read /tmp/trace "$_from" "$_ino" && [ $_same = yes ]
		fi
		if [ $? -eq 0 ]; then ok "$_desc"; else not_ok "$_desc"; fi
		diag "node $_ino, content equal to the kernel's: $_same; trace from there on:"
		tail -n +"$_from" /tmp/trace | grep -E 'opcode|iomap' | head -n 12 | sed 's/^/#   /'
	done

	timeout 30 umount "$_m" || { diag "umount $_m failed"; umount -l "$_m"; }
	umount "$_r"
	wait $_mpid
	wait_servers_gone
}

diag "$(uname -r); $(cat /proc/cmdline)"
diag "fuse.enable_iomap: $(cat /sys/module/fuse/parameters/enable_iomap 2>/dev/null || echo '?')"
probe_control "${IMAGES%%:*}" "the measure of the server's reads sees a device read"
for _spec in $IMAGES; do
	test_image "${_spec%%:*}" "${_spec#*:}"
done
[ -z "$INLINE_IMAGE" ] || test_inline "$INLINE_IMAGE" "$INLINE_FILE" "$MAPPED_FILE"
