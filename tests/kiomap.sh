# SPDX-License-Identifier: GPL-2.0-or-later
# tests/kiomap.sh: fuse-iomap without a kernel that has it.  tests/kiomap-sim
# plays the kernel's side of the FUSE protocol over a socket against a real
# imgfs-server (sandboxed, as mounts run it) and checks every reply the way
# the kernel with Darrick Wong's fuse-iomap patches would, against truths
# imgfs has no part in: the kernel's own read-only loop mount of the same
# image (contents, inline-data flags, sizes), dumpe2fs/xfs_db (block size)
# and blkid (UUID).
#
# For every image of the ext4 and XFS corpora (each partition of the disk
# images too), over all of its regular files: INIT as a 7.99 kernel with
# and without FUSE_IOMAP offered (replies identical but for the flag and
# minor 99), IOMAP_CONFIG (v7's 104 bytes), FUSE_ATTR_IOMAP with
# FUSE_ATTR_EXCLUSIVE in LOOKUP/GETATTR/READDIRPLUS, IOMAP_BEGIN walks from 0
# to EOF and at pseudo-random positions and lengths (REPORT too), every
# mapping validated as the kernel validates it and its data compared with
# the kernel's file, OPEN and its uploaded mappings, RETRY_CACHE,
# IOMAP_END, refused writes, malformed requests, and the userspace READ
# path with its NOTIFY_STORE pushes; upserts only for inodes the kernel
# made iomap inodes.  On the first image of each corpus also a mainline
# 7.46 kernel, whose INIT bit 43 is FUSE_HAS_IO_URING_BUFPOOL: the reply
# must not grant it, and every file must read through READ.  One test line
# per image and family of checks, the first failures as diagnostics.
#
# Then round trips: a 256 MiB contiguous file and a 64 MiB fragmented one,
# made here on ext4 and XFS, read as the kernel would in 1 MiB windows
# through the userspace path (READ), iomap without uploads (BEGIN per
# window and mapping) and iomap with uploads (OPEN, then BEGIN on cache
# misses).  The counts per GiB are reported; only that they are not zero
# and that uploads never cost more requests than plain iomap is asserted.
#
# Environment:
#   IMGFS_KIOMAP_SEED=N        the positions and lengths (default fixed)
#   IMGFS_CORPUS_EXT4=DIR, IMGFS_CORPUS_XFS=DIR   images made elsewhere
#   IMGFS_KIOMAP_SANDBOX=no    run the servers with --no-sandbox

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/compare-lib.sh"

KIOMAP_SIM=$top_builddir/tests/kiomap-sim
seed=${IMGFS_KIOMAP_SEED:-20260222}
nosandbox=
[ "${IMGFS_KIOMAP_SANDBOX:-yes}" != no ] || nosandbox=--no-sandbox

need_root
need_loop
need_cmd mkfs.ext4 dumpe2fs blkid findmnt timeout losetup sfdisk setfacl setfattr perl \
	fallocate mke2fs debugfs e2fsck
need_prog "$IMGFS_SERVER" "$KIOMAP_SIM"
have_xfs=yes
grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null
grep -qw xfs /proc/filesystems && command -v mkfs.xfs >/dev/null 2>&1 &&
	command -v xfs_db >/dev/null 2>&1 || have_xfs=no

diag "seed $seed (IMGFS_KIOMAP_SEED)"

# run_sim MODE ARG...: the simulator's result lines as this test's.
run_sim() {
	bounded 600 "$KIOMAP_SIM" "$@" --server="$IMGFS_SERVER" --seed="$seed" $nosandbox \
		>"$TEST_TMP/sim.out" 2>"$TEST_TMP/sim.err"
	_rc=$?
	while IFS= read -r _line; do
		case $_line in
		"ok - "*) ok "${_line#ok - }";;
		"not ok - "*) not_ok "${_line#not ok - }";;
		*) echo "$_line";;
		esac
	done <"$TEST_TMP/sim.out"
	case $_rc in
	0) ;;
	1) [ ! -s "$TEST_TMP/sim.err" ] || diag "the servers' log:"
		diag_file "$TEST_TMP/sim.err" 30;;
	*) not_ok "kiomap-sim $1 ran to the end (exit $_rc)"; diag_file "$TEST_TMP/sim.err" 30;;
	esac
}

# kmount TYPE IMAGE DIR [OFFSET SIZE]: the kernel's read-only view, as the
# compare tests take it (noload/norecovery: the image as it is on disk).
kmount() {
	_o=ro,loop
	[ "$1" = ext4 ] && _o=$_o,noload || _o=$_o,norecovery,nouuid
	[ -z "${4:-}" ] || _o=$_o,offset=$4,sizelimit=$5
	mkdir -p "$3" && mount -t "$1" -o "$_o" "$2" "$3" && track_loop "$3"
}

# block_size TYPE DEVICE, uuid DEVICE: what the filesystem's own tools say.
block_size() {
	if [ "$1" = ext4 ]; then
		dumpe2fs -h "$2" 2>/dev/null | sed -n 's/^Block size: *//p'
	else
		xfs_db -r -c "sb 0" -c "p blocksize" "$2" 2>/dev/null | sed -n 's/^blocksize = //p'
	fi
}

# sim_image TYPE IMAGE LABEL [OFFSET SIZE]: check mode, and mainline mode
# too when $sim_mainline is yes.
sim_image() {
	_type=$1 _img=$2 _label=$3 _off=${4:-0} _size=${5:-$(stat -c %s "$2")}
	_k=$TEST_TMP/kernel
	if ! kmount "$_type" "$_img" "$_k" ${4:+"$4" "$5"} 2>"$TEST_TMP/mount.err"; then
		not_ok "$_label: the kernel mounts it (test bug)"
		diag_file "$TEST_TMP/mount.err"
		return
	fi
	_dev=$(findmnt -n -o SOURCE --mountpoint "$_k" | tail -n 1)
	_bs=$(block_size "$_type" "$_dev")
	_uuid=$(blkid -p -o value -s UUID "$_dev")
	if [ -z "$_bs" ] || [ -z "$_uuid" ]; then
		not_ok "$_label: block size ('$_bs') and UUID ('$_uuid') from the tools"
	else
		run_sim check --image="$_img" --fstype="$_type" --offset="$_off" --size="$_size" \
			--kernel-dir="$_k" --block-size="$_bs" --uuid="$_uuid" --label="$_label"
		[ "$sim_mainline" != yes ] ||
			run_sim mainline --image="$_img" --fstype="$_type" --offset="$_off" \
				--size="$_size" --kernel-dir="$_k" --block-size="$_bs" \
				--uuid="$_uuid" --label="$_label (7.46 INIT)"
	fi
	unmount "$_k"
}

# sim_corpus TYPE DIR: every image, every listed partition.
sim_corpus() {
	sim_mainline=yes
	for img in "$2"/*.img; do
		[ -e "$img" ] || bail_out "no images in $2"
		name=$(basename "$img" .img)
		if [ ! -e "$img.parts" ]; then
			sim_image "$1" "$img" "$name"
			sim_mainline=no
			continue
		fi
		while read -r num off size; do
			sim_image "$1" "$img" "$name partition $num" "$off" "$size"
			sim_mainline=no
		done <"$img.parts"
	done
}

start=$(date +%s)
get_corpus "${IMGFS_CORPUS_EXT4:-}" "$MKCORPUS_EXT4"
# (get_corpus copies every corpus to $TEST_TMP/corpus.)
[ -n "${IMGFS_CORPUS_EXT4:-}" ] || { mv "$corpus" "$TEST_TMP/corpus-ext4" && corpus=$TEST_TMP/corpus-ext4; }
sim_corpus ext4 "$corpus"
rm -rf "$TEST_TMP/corpus-ext4"
if [ $have_xfs = yes ]; then
	get_corpus "${IMGFS_CORPUS_XFS:-}" "$MKCORPUS_XFS"
	sim_corpus xfs "$corpus"
else
	skip "XFS corpus" "no XFS driver or xfsprogs"
fi
diag "corpora checked in $(($(date +%s) - start)) s"

# ---- a block device the kernel refuses ----

# The image on a read-only loop device, without the test-only backing id:
# the server accepts iomap at INIT (a block device) and then asks the
# kernel to register the device, which a socket refuses (as a kernel
# without iomap device support would).  Every file must then read
# through READ, no file may be marked, and the server must say so in
# exactly one log line.
refused() {
	_src=$TEST_TMP/refused.src _img=$TEST_TMP/refused.ext4 _k=$TEST_TMP/kernel
	mkdir -p "$_src/dir"
	head -c $((3 << 20)) /dev/urandom >"$_src/dir/big"
	echo small >"$_src/small"
	truncate -s $((1 << 20)) "$_src/sparse"
	if ! mkfs.ext4 -q -d "$_src" "$_img" 32M || ! kmount ext4 "$_img" "$_k"; then
		not_ok "refused device: image and kernel mount (test bug)"
		return
	fi
	if ! _loop=$(losetup -f --show -r "$_img"); then
		not_ok "refused device: losetup"
		unmount "$_k"
		return
	fi
	echo "$_loop $_img" >>"$TEST_TMP/.loops"
	run_sim refused --image="$_loop" --fstype=ext4 --size="$(stat -c %s "$_img")" \
		--kernel-dir="$_k" --block-size="$(block_size ext4 "$_loop")" \
		--uuid="$(blkid -p -o value -s UUID "$_loop")" --label="refused device"
	_warned=$(grep -c "the kernel refused the block device for iomap" "$TEST_TMP/sim.err")
	check "refused device: the server logs the refusal once ($_warned lines)" \
		[ "$_warned" -eq 1 ]
	losetup -d "$_loop"
	unmount "$_k"
	rm -rf "$_src" "$_img"
}
refused

# The test-only backing id would make a real kernel read whatever device
# holds it: the server takes it on a socket only.
"$IMGFS_SERVER" --fuse-fd=0 --image-fd=0 --fstype=ext4 --size=1 --test-iomap-backing-id=1 \
	</dev/null >/dev/null 2>"$TEST_TMP/guard.err"
_rc=$?
check "--test-iomap-backing-id on a FUSE descriptor that is not a socket: exit 2, one line" \
	[ $_rc -eq 2 ] && [ "$(wc -l <"$TEST_TMP/guard.err")" -eq 1 ]

# ---- round trips ----

# rounds_image TYPE: a 256 MiB file written alone, and a 64 MiB one written
# in 256 KiB pieces in turn with another (O_DIRECT: allocated as written)
# with a 64 KiB hole punched in each MiB (ext4's preallocation keeps
# interleaved writes in few extents), in a fresh filesystem written
# through the kernel's driver.
rounds_image() {
	_img=$TEST_TMP/rounds.$1
	rm -f "$_img"
	truncate -s 1G "$_img" || return 1
	if [ "$1" = ext4 ]; then
		mkfs.ext4 -q -F -b 4096 "$_img"
	else
		mkfs.xfs -q -f -b size=4096 "$_img"
	fi >"$TEST_TMP/mkfs.log" 2>&1 || { cat "$TEST_TMP/mkfs.log"; return 1; }
	mkdir -p "$TEST_TMP/rw"
	private_mounts sh -c '
		mount -t "$1" -o loop "$2" "$3" || exit 1
		"$4" interleave 4M 256M "$3/contiguous" &&
			"$4" interleave 256K 64M "$3/fragmented" "$3/other"
		r=$?
		i=0
		while [ $r -eq 0 ] && [ $i -lt 64 ]; do
			fallocate -p -o $((i * 1048576 + 327680)) -l 65536 "$3/fragmented" || r=1
			i=$((i + 1))
		done
		umount "$3" || r=1
		exit $r' sh "$1" "$_img" "$TEST_TMP/rw" "$KIOMAP_SIM"
}

rounds() {
	_type=$1
	if ! rounds_image "$_type" >"$TEST_TMP/rounds.err" 2>&1; then
		not_ok "$_type: an image for the round trips"
		diag_file "$TEST_TMP/rounds.err"
		return
	fi
	_img=$TEST_TMP/rounds.$_type _k=$TEST_TMP/kernel
	if ! kmount "$_type" "$_img" "$_k" 2>"$TEST_TMP/mount.err"; then
		not_ok "$_type: the kernel mounts the round-trip image"
		diag_file "$TEST_TMP/mount.err"
		return
	fi
	_dev=$(findmnt -n -o SOURCE --mountpoint "$_k" | tail -n 1)
	run_sim rounds --image="$_img" --fstype="$_type" --size="$(stat -c %s "$_img")" \
		--kernel-dir="$_k" --block-size="$(block_size "$_type" "$_dev")" \
		--uuid="$(blkid -p -o value -s UUID "$_dev")" --label="$_type" \
		"contiguous=contiguous 256 MiB" "fragmented=fragmented 64 MiB"
	unmount "$_k"
	rm -f "$_img"
}

start=$(date +%s)
rounds ext4
if [ $have_xfs = yes ]; then
	rounds xfs
else
	skip "XFS round trips" "no XFS driver or xfsprogs"
fi
diag "round trips in $(($(date +%s) - start)) s"

cleanup_mounts
assert_clean "nothing left behind (mounts, servers, loop devices)"
done_testing
