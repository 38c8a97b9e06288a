#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/rw-micro.sh: a quick, reproducible read-write micro-benchmark of
# imgfs -o rw against the kernel's ext4 (loop) and fuse2fs, for iterating on
# the write path (bench/run.sh --rw gives the release figures).
#
#   bench/rw-micro.sh [-b BUILDDIR] [-s SRCDIR] [-n RUNS] [-w WORKLOADS] [FS...]
#
# FS: kernel, imgfs, fuse2fs (default: all three).  WORKLOADS, comma-separated:
# untar (tar -x of SRCDIR's tar + sync, then rm -rf + sync), seq (1 GiB dd
# bs=1M conv=fsync), fio (4k random writes, fsync every 32).  Each run starts
# from a fresh 2 GiB mkfs.ext4 image; after it the image must be clean
# (e2fsck -fn) and the kernel must see the extracted tree exactly as the
# source (diff -r).  Prints one "fs workload seconds" line per measurement.
# Needs root.

set -eu -o pipefail

BUILDDIR=$(cd "$(dirname "$0")/.." && pwd)/build
SRC=/usr/share/doc
RUNS=1
WORK=untar
TMP=${TMPDIR:-/var/tmp}/imgfs-rw-micro
while getopts b:s:n:w: opt; do
	case $opt in
	b) BUILDDIR=$OPTARG ;;
	s) SRC=$OPTARG ;;
	n) RUNS=$OPTARG ;;
	w) WORK=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- kernel imgfs fuse2fs

mkdir -p "$TMP"
IMG=$TMP/img
MNT=$TMP/mnt
REF=$TMP/ref
TAR=$TMP/src.tar
mkdir -p "$MNT"
if [ ! -f "$TAR" ] || [ "$(cat "$TMP/src.name" 2>/dev/null)" != "$SRC" ]; then
	tar -C "$(dirname "$SRC")" -cf "$TAR" "$(basename "$SRC")"
	rm -rf "$REF" && mkdir -p "$REF" && tar -C "$REF" -xf "$TAR"
	echo "$SRC" >"$TMP/src.name"
fi

now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{ printf "%.2f", $1 - $2 }'; }

fresh() {
	rm -f "$IMG"
	truncate -s 2G "$IMG"
	mkfs.ext4 -q -F "$IMG"
}

mnt() {
	case $1 in
	kernel) mount -o loop "$IMG" "$MNT" ;;
	imgfs) "$BUILDDIR/cmd/imgfs-mount" -o rw "$IMG" "$MNT" ;;
	fuse2fs) fuse2fs -o rw "$IMG" "$MNT" >/dev/null ;;
	esac
}

umnt() {
	umount "$MNT"
	# A FUSE server may still be writing its last blocks after umount
	# returns: wait for its lock on the image (imgfs holds an OFD lock,
	# which a POSIX lock waits for) and for fuse2fs to let go of it.
	timeout 60 python3 -c 'import fcntl, sys; fcntl.lockf(open(sys.argv[1], "r+"), fcntl.LOCK_EX)' "$IMG"
	for _ in $(seq 100); do
		[ -z "$(fuser "$IMG" 2>/dev/null)" ] && break
		sleep 0.1
	done
}

check() {
	e2fsck -fn "$IMG" >"$TMP/fsck.log" 2>&1 || { echo "$1: e2fsck -fn failed:"; cat "$TMP/fsck.log"; exit 1; }
}

untar() {
	local fs=$1 t
	fresh
	mnt "$fs"
	sync; echo 3 >/proc/sys/vm/drop_caches
	t=$(now); tar -C "$MNT" -xf "$TAR"; sync; echo "$fs untar $(since "$t")"
	umnt
	check "$fs untar"
	# The kernel's view, on its own loop device (detached before the next mount).
	local loop
	loop=$(losetup -f --show -r "$IMG")
	mount -o ro "$loop" "$MNT"
	diff -r --no-dereference "$REF/$(basename "$SRC")" "$MNT/$(basename "$SRC")" >/dev/null || { echo "$fs: tree differs"; umount "$MNT"; losetup -d "$loop"; exit 1; }
	umount "$MNT"
	losetup -d "$loop"
	mnt "$fs"
	t=$(now); rm -rf "$MNT/$(basename "$SRC")"; sync; echo "$fs rm-rf $(since "$t")"
	umnt
	check "$fs rm"
}

seq_write() {
	local fs=$1 t
	fresh
	mnt "$fs"
	t=$(now); dd if=/dev/zero of="$MNT/big" bs=1M count=1024 conv=fsync status=none
	echo "$fs seq-1G $(since "$t")"
	umnt
	check "$fs seq"
}

fio_rand() {
	local fs=$1
	fresh
	mnt "$fs"
	fio --name=rw --filename="$MNT/fio" --rw=randwrite --bs=4k --size=256M \
	    --fsync=32 --ioengine=psync --runtime=20 --time_based=0 --output-format=terse \
	    --terse-version=3 >"$TMP/fio.out"
	# terse v3: field 48 = write iops, 46 = write runtime (ms)
	echo "$fs fio-4k-iops $(cut -d';' -f49 "$TMP/fio.out")"
	umnt
	check "$fs fio"
}

for _ in $(seq "$RUNS"); do
	for fs in "$@"; do
		for w in ${WORK//,/ }; do
			case $w in
			untar) untar "$fs" ;;
			seq) seq_write "$fs" ;;
			fio) fio_rand "$fs" ;;
			esac
		done
	done
done
