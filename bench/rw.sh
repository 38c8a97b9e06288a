#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/rw.sh (also `bench/run.sh --rw`): the read-write section: imgfs
# -o rw against the kernel's ext4 and fuse2fs -o rw, in one run, each on
# a fresh image.  See bench/README.md.
#
# Needs root.  Exits 0 when everything was measured, whether or not the
# targets were met; 1 when something broke (a workload failed, or e2fsck
# found an image damaged).  A driver that does not write yet (imgfs
# refusing -o rw) is shown as n/a, with its message.

set -u -o pipefail

usage() {
	cat <<EOF
Usage: bench/run.sh --rw [OPTIONS]   (or bench/rw.sh [OPTIONS])

Times on each of kernel, fuse2fs and imgfs, on a fresh 6 GiB ext4 image:
  untar     tar -x of a Debian tree made from the host (/etc, /usr/share/man,
            /usr/share/doc: ~33,000 entries), then syncfs
  cp -a     cp -a /usr/share into the image, then syncfs
  seq write 1 GiB written with dd bs=1M conv=fsync (also MB/s)
  fio       4k random writes over a 256 MiB file, 64 MiB in all, an fsync
            every 32 writes (IOPS)
  rm -rf    of both trees, then syncfs
  umount    the unmount that follows (what the server still had to write)
Then e2fsck -fn must find each image clean.

Options:
  --fs LIST        mounts to time (default kernel,fuse2fs,imgfs)
  --builddir DIR   imgfs build tree (default \$IMGFS_BUILDDIR, ., the source tree)
  --tmpdir DIR     where the images go (default \$TMPDIR, else /var/tmp)
  --timeout SEC    limit per workload (default 1800)
  -h, --help       this help
EOF
}

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

# A mount namespace of its own: a copy of a read-write mount in a
# namespace someone else makes meanwhile (a container, a test's sandbox)
# would keep the filesystem alive after our umount, its server running
# and its image unfinished when e2fsck looks at it.
if [ "${IMGFS_BENCH_NS:-}" != "$$" ] && [ "$(id -u)" = 0 ] && [ -z "${IMGFS_BENCH_NO_NS:-}" ]; then
	IMGFS_BENCH_NS=$$ exec unshare -m --propagation private bash "$0" "$@"
fi

FSLIST=kernel,fuse2fs,imgfs
BUILDDIR=${IMGFS_BUILDDIR:-}
TMPBASE=${TMPDIR:-/var/tmp}
TIMEOUT=1800
TGT_TREE_VS_KERNEL=2	# untar and rm -rf within 2x the kernel
TGT_TREE_VS_FUSE2FS=5	# ... and at least 5x faster than fuse2fs
TGT_SEQW=0.8		# sequential write >= 0.8x the kernel's throughput

while [ $# -gt 0 ]; do
	case $1 in
	--fs) FSLIST=$2; shift ;;
	--fs=*) FSLIST=${1#*=} ;;
	--builddir) BUILDDIR=$2; shift ;;
	--builddir=*) BUILDDIR=${1#*=} ;;
	--tmpdir) TMPBASE=$2; shift ;;
	--tmpdir=*) TMPBASE=${1#*=} ;;
	--timeout) TIMEOUT=$2; shift ;;
	--timeout=*) TIMEOUT=${1#*=} ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
FSES=(${FSLIST//,/ })
has_fs() { [[ " ${FSES[*]} " == *" $1 "* ]]; }
for fs in "${FSES[@]}"; do
	case $fs in kernel|fuse2fs|imgfs) ;; *) die "--fs: unknown mount '$fs'" ;; esac
done
[ "$(id -u)" = 0 ] || die "must run as root (loop mounts)"
for t in mkfs.ext4 e2fsck tar dd fio python3 timeout findmnt; do
	command -v $t >/dev/null || die "missing tool: $t$([ $t = fio ] && echo ' (apt-get install fio)')"
done
has_fs fuse2fs && { command -v fuse2fs >/dev/null || die "fuse2fs not found"; }
IMGFS_MOUNT=
if has_fs imgfs; then
	srcdir=$(cd "$(dirname "$0")/.." && pwd)
	if [ -z "$BUILDDIR" ]; then
		for d in . "$srcdir" "$srcdir/build"; do
			[ -x "$d/cmd/imgfs-mount" ] && { BUILDDIR=$d; break; }
		done
	fi
	[ -n "$BUILDDIR" ] || die "cannot find cmd/imgfs-mount; pass --builddir or leave imgfs out with --fs"
	IMGFS_MOUNT=$(cd "$BUILDDIR" && pwd)/cmd/imgfs-mount
	[ -x "$IMGFS_MOUNT" ] || die "$IMGFS_MOUNT: not built"
fi

WORK=
MNT=
IMG=
CHILD=
mounted() { [ -n "$MNT" ] && findmnt -n --mountpoint "$MNT" >/dev/null 2>&1; }
holders() {
	[ -n "$IMG" ] || return 0
	find /proc/[0-9]*/fd -maxdepth 1 -lname "$IMG" 2>/dev/null | awk -F/ '{ print $3 }' | sort -u
}
wait_servers() {
	local i
	for i in $(seq 600); do
		[ -z "$(holders)" ] && return 0
		sleep 0.1
	done
	return 1
}
cleanup() {
	local rc=$? dev pids
	trap - EXIT INT TERM HUP
	set +e
	[ -n "$CHILD" ] && kill -TERM -- "-$CHILD" 2>/dev/null
	if mounted; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	if [ -n "$IMG" ]; then
		for dev in $(losetup -n -O NAME -j "$IMG" 2>/dev/null); do
			losetup -d "$dev"
		done
		wait_servers || { pids=$(holders); [ -n "$pids" ] && kill -KILL $pids; }
	fi
	[ -n "$WORK" ] && ! mounted && rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

mkdir -p "$TMPBASE" || die "cannot create $TMPBASE"
WORK=$(mktemp -d "$TMPBASE/imgfs-bench-rw.XXXXXX") || die "mktemp failed"
WORK=$(cd "$WORK" && pwd -P)
MNT=$WORK/mnt
mkdir "$MNT"

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
fdiv() {
	awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) { print "n/a"; exit }
		printf "%.*f\n", d, a / b }'
}
fcmp() { awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
	if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/) exit 2
	r = (op == "<=") ? (a + 0 <= b + 0) : (a + 0 >= b + 0); exit !r }'; }

# ---- inputs, made once ----
note "making the inputs in $WORK"
tar -C / --numeric-owner --sort=name -cf "$WORK/rootfs.tar" etc usr/share/man usr/share/doc 2>/dev/null
[ -s "$WORK/rootfs.tar" ] || die "cannot tar the host's tree"
NTAR=$(tar -tf "$WORK/rootfs.tar" | wc -l)
NSHARE=$(find /usr/share | wc -l)
if command -v openssl >/dev/null; then
	openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:imgfs-bench -in /dev/zero 2>/dev/null |
		head -c 1073741824 >"$WORK/big.src"
else
	head -c 1073741824 /dev/urandom >"$WORK/big.src"
fi

# Sources read from the page cache, so that the time is the writing.
warm() { cat "$WORK/rootfs.tar" "$WORK/big.src" >/dev/null; tar -C / -cf - usr/share 2>/dev/null | cat >/dev/null; }

run_cmd() {
	local rc t0 t1
	t0=$(now_us)
	timeout -k 5 "$TIMEOUT" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null &
	CHILD=$!
	wait "$CHILD"
	rc=$?
	t1=$(now_us)
	CHILD=
	WL_S=$(fdiv $((t1 - t0)) 1000000 3)
	if [ "$rc" != 0 ]; then
		note "failed (exit $rc): $*"
		sed 's/^/  /' "$WORK/err" | head -n 20 >&2
	fi
	return "$rc"
}

do_mount() {
	case $1 in
	kernel) mount -t ext4 -o loop "$IMG" "$MNT" ;;
	fuse2fs) timeout 60 fuse2fs "$IMG" "$MNT" -o rw >/dev/null ;;
	imgfs) timeout 60 "$IMGFS_MOUNT" -o rw "$IMG" "$MNT" ;;
	esac
}

declare -A RES NOTE
BROKEN=0
WLS=(untar cpa seqw fio rmrf umount)
declare -A LABEL=([untar]="untar (s)" [cpa]="cp -a /usr/share (s)" [seqw]="seq write (MB/s)"
	[fio]="fio randwrite (IOPS)" [rmrf]="rm -rf (s)" [umount]="umount (s)")

for fs in "${FSES[@]}"; do
	IMG=$WORK/$fs.img
	rm -f "$IMG"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 -L bench-rw "$IMG" 6G >/dev/null ||
		die "mkfs.ext4 failed"
	if ! do_mount "$fs" 2>"$WORK/mount.err"; then
		NOTE[$fs]=$(head -n 1 "$WORK/mount.err")
		if grep -Eqi 'read-only|not supported yet' "$WORK/mount.err"; then
			note "$fs: does not write yet: ${NOTE[$fs]}"
		else
			note "$fs: mount -o rw failed: ${NOTE[$fs]}"
			BROKEN=1
		fi
		rm -f "$IMG"
		continue
	fi
	mkdir -p "$MNT/rootfs"
	warm
	sync
	run_cmd sh -c 'tar -C "$1/rootfs" --numeric-owner -xf "$2" && sync -f "$1"' sh "$MNT" "$WORK/rootfs.tar" &&
		RES[$fs.untar]=$WL_S || { RES[$fs.untar]=FAIL; BROKEN=1; }
	note "$fs: untar ${RES[$fs.untar]} s"
	warm
	sync
	run_cmd sh -c 'cp -a /usr/share "$1/share" && sync -f "$1"' sh "$MNT" &&
		RES[$fs.cpa]=$WL_S || { RES[$fs.cpa]=FAIL; BROKEN=1; }
	note "$fs: cp -a ${RES[$fs.cpa]} s"
	warm
	sync
	if run_cmd dd if="$WORK/big.src" of="$MNT/big" bs=1M conv=fsync; then
		RES[$fs.seqw]=$(fdiv 1073.741824 "$WL_S" 0)
	else
		RES[$fs.seqw]=FAIL; BROKEN=1
	fi
	note "$fs: seq write ${RES[$fs.seqw]} MB/s"
	sync
	if run_cmd fio --name=randw --filename="$MNT/fio.dat" --rw=randwrite --bs=4k \
		--size=256M --io_size=64M --fsync=32 --ioengine=psync --randrepeat=1 \
		--output-format=json; then
		RES[$fs.fio]=$(python3 -c 'import json, sys
print("%.0f" % json.load(open(sys.argv[1]))["jobs"][0]["write"]["iops"])' "$WORK/out") ||
			RES[$fs.fio]=FAIL
	else
		RES[$fs.fio]=FAIL; BROKEN=1
	fi
	note "$fs: fio ${RES[$fs.fio]} IOPS"
	sync
	run_cmd sh -c 'rm -rf "$1/rootfs" "$1/share" && sync -f "$1"' sh "$MNT" &&
		RES[$fs.rmrf]=$WL_S || { RES[$fs.rmrf]=FAIL; BROKEN=1; }
	note "$fs: rm -rf ${RES[$fs.rmrf]} s"
	t0=$(now_us)
	umount "$MNT" || { note "$fs: umount failed"; BROKEN=1; }
	wait_servers || { note "$fs: server still running after umount"; BROKEN=1; }
	RES[$fs.umount]=$(fdiv $(($(now_us) - t0)) 1000000 3)
	if e2fsck -fn "$IMG" >"$WORK/fsck.out" 2>&1; then
		NOTE[$fs]="e2fsck -fn clean"
	else
		NOTE[$fs]="e2fsck -fn FOUND PROBLEMS"
		sed 's/^/  /' "$WORK/fsck.out" | head -n 20 >&2
		BROKEN=1
	fi
	rm -f "$IMG"
done

get() { local v=${RES[$1]:-}; [ "$v" = FAIL ] && v=; echo "$v"; }
show() { local v=${RES[$1]:-}; echo "${v:--}"; }
echo
echo "imgfs rw benchmark: $(uname -sr), $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "fresh 6 GiB ext4 image per driver; untar of $NTAR entries, cp -a of $NSHARE entries of /usr/share"
for fs in "${FSES[@]}"; do echo "  $fs: ${NOTE[$fs]:-}"; done
echo "times in seconds include syncfs; ratios are imgfs/kernel and fuse2fs/imgfs (for times), imgfs/kernel (for rates)"
echo
fmt='%-22s %9s %9s %9s  %12s %13s\n'
printf "$fmt" workload kernel fuse2fs imgfs imgfs/kernel fuse2fs/imgfs
for wl in "${WLS[@]}"; do
	k=$(get kernel.$wl) f=$(get fuse2fs.$wl) i=$(get imgfs.$wl)
	case $wl in
	seqw|fio) r1=$(fdiv "$i" "$k"); r2=$(fdiv "$i" "$f") ;;
	*) r1=$(fdiv "$i" "$k"); r2=$(fdiv "$f" "$i") ;;
	esac
	printf "$fmt" "${LABEL[$wl]}" "$(show kernel.$wl)" "$(show fuse2fs.$wl)" "$(show imgfs.$wl)" "$r1" "$r2"
done
echo
echo "targets:"
target() {
	local v
	fcmp "$2" "$3" "$4"
	case $? in 0) v="MET   " ;; 1) v=MISSED ;; *) v="n/a   " ;; esac
	printf '  [%s] %-56s measured %s\n' "$v" "$1" "$2"
}
for wl in untar rmrf; do
	target "$wl: imgfs within ${TGT_TREE_VS_KERNEL}x of the kernel" \
		"$(fdiv "$(get imgfs.$wl)" "$(get kernel.$wl)")" "<=" "$TGT_TREE_VS_KERNEL"
	target "$wl: imgfs >= ${TGT_TREE_VS_FUSE2FS}x faster than fuse2fs" \
		"$(fdiv "$(get fuse2fs.$wl)" "$(get imgfs.$wl)" 1)" ">=" "$TGT_TREE_VS_FUSE2FS"
done
target "seq write: imgfs >= ${TGT_SEQW}x the kernel's throughput" \
	"$(fdiv "$(get imgfs.seqw)" "$(get kernel.seqw)")" ">=" "$TGT_SEQW"
if [ "$BROKEN" = 1 ]; then
	echo
	echo "bench: something failed (see messages above); exit status 1"
	exit 1
fi
exit 0
