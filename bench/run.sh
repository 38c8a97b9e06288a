#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/run.sh: imgfs against the kernel's ext4 driver and fuse2fs, or the
# kernel's XFS driver (--type xfs), on one generated image, in one run.
# See bench/README.md.
#
# Needs root (loop mounts, drop_caches).  Reports; exits 0 even when a
# performance target is missed, non-zero only when something broke (a mount
# failed, a workload failed or returned different data on different mounts).

set -u -o pipefail

usage() {
	cat <<EOF
Usage: bench/run.sh [OPTIONS]

Generate one ext4 image (a large file plus a tree of small files) and time
the same workloads on three mounts of it: the kernel ext4 driver (loop),
fuse2fs and imgfs.  With --type xfs, an XFS image on two: the kernel's XFS
driver and imgfs (fuse2fs reads only ext2/3/4).  Every workload runs cold
(drop_caches, fresh mount) and warm (repeated at once on the same mount).

Options:
  --type ext4|xfs  the filesystem to generate and compare (default ext4)
  --size-mb N      size of the large file in MiB (default 1024)
  --files N        number of small (1-8 KiB) files (default 50000)
  --keep           keep the image (and its temp dir) after the run
  --image FILE     reuse an image kept by an earlier run (skips generation)
  --imgfs-only     time imgfs alone (quick iterations; no ratios/targets)
  --fs LIST        mounts to time, comma-separated (default kernel,fuse2fs,imgfs;
                   kernel,imgfs for xfs)
  --builddir DIR   imgfs build tree holding cmd/imgfs-mount (default:
                   \$IMGFS_BUILDDIR, else ., else the source tree)
  --runs N         cold+warm rounds per workload and mount, median reported
                   (default 1)
  --tmpdir DIR     where the temp dir goes (default \$TMPDIR, else /var/tmp);
                   must not be tmpfs, or "cold" would not be cold
  --timeout SEC    give up on one workload after SEC seconds (default 900)
  -h, --help       show this help

bench/run.sh --rw [--help]: the read-write section instead (bench/rw.sh).
EOF
}

die() { echo "bench: $*" >&2; exit 1; }

# --rw: the read-write section instead (bench/rw.sh: untar, cp -a, seq
# write, fio random writes, rm -rf on kernel, fuse2fs and imgfs -o rw).
if [ "${1:-}" = --rw ]; then
	shift
	exec bash "$(dirname "$0")/rw.sh" "$@"
fi
note() { echo "bench: $*" >&2; }

# ---- options ---------------------------------------------------------------

SIZE_MB=1024
FILES=50000
FSTYPE=ext4
KEEP=0
IMAGE_ARG=
FSLIST=
BUILDDIR=${IMGFS_BUILDDIR:-}
RUNS=1
TMPBASE=${TMPDIR:-/var/tmp}
TIMEOUT=900

# Targets (imgfs time / kernel time, or throughput fraction, or speedup).
TGT_DU_WARM=1.5		# warm du within 1.5x of the kernel
TGT_DU_COLD=3		# cold du within 3x of the kernel
TGT_SEQ_COLD=0.7	# cold sequential read >= 0.7x the kernel's throughput
TGT_VS_FUSE2FS=5	# imgfs >= 5x faster than fuse2fs on du and tar

need_arg() { [ $# -ge 2 ] || die "$1 needs an argument (see --help)"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

while [ $# -gt 0 ]; do
	case $1 in
	--type)		need_arg "$@"; FSTYPE=$2; shift ;;
	--type=*)	FSTYPE=${1#*=} ;;
	--size-mb)	need_arg "$@"; SIZE_MB=$2; shift ;;
	--size-mb=*)	SIZE_MB=${1#*=} ;;
	--files)	need_arg "$@"; FILES=$2; shift ;;
	--files=*)	FILES=${1#*=} ;;
	--keep)		KEEP=1 ;;
	--image)	need_arg "$@"; IMAGE_ARG=$2; shift ;;
	--image=*)	IMAGE_ARG=${1#*=} ;;
	--imgfs-only)	FSLIST=imgfs ;;
	--fs)		need_arg "$@"; FSLIST=$2; shift ;;
	--fs=*)		FSLIST=${1#*=} ;;
	--builddir)	need_arg "$@"; BUILDDIR=$2; shift ;;
	--builddir=*)	BUILDDIR=${1#*=} ;;
	--runs)		need_arg "$@"; RUNS=$2; shift ;;
	--runs=*)	RUNS=${1#*=} ;;
	--tmpdir)	need_arg "$@"; TMPBASE=$2; shift ;;
	--tmpdir=*)	TMPBASE=${1#*=} ;;
	--timeout)	need_arg "$@"; TIMEOUT=$2; shift ;;
	--timeout=*)	TIMEOUT=${1#*=} ;;
	-h|--help)	usage; exit 0 ;;
	*)		usage >&2; exit 2 ;;
	esac
	shift
done

case $FSTYPE in
ext4) : "${FSLIST:=kernel,fuse2fs,imgfs}" ;;
xfs) : "${FSLIST:=kernel,imgfs}" ;;
*) die "--type: want ext4 or xfs, not '$FSTYPE'" ;;
esac
is_uint "$SIZE_MB" && [ "$SIZE_MB" -ge 1 ] || die "--size-mb: want a whole number of MiB >= 1"
is_uint "$FILES" && [ "$FILES" -ge 1 ] || die "--files: want a whole number >= 1"
is_uint "$RUNS" && [ "$RUNS" -ge 1 ] || die "--runs: want a whole number >= 1"
is_uint "$TIMEOUT" && [ "$TIMEOUT" -ge 1 ] || die "--timeout: want seconds >= 1"

FSES=()
for fs in ${FSLIST//,/ }; do
	case $fs in
	kernel|fuse2fs|imgfs) FSES+=("$fs") ;;
	*) die "--fs: unknown mount '$fs' (kernel, fuse2fs, imgfs)" ;;
	esac
done
[ ${#FSES[@]} -gt 0 ] || die "--fs: nothing to time"
has_fs() { [[ " ${FSES[*]} " == *" $1 "* ]]; }
[ "$FSTYPE" = ext4 ] || ! has_fs fuse2fs || die "--fs: fuse2fs reads only ext2/3/4, not $FSTYPE"

# ---- prerequisites -----------------------------------------------------------

[ "$(id -u)" = 0 ] || die "must run as root (loop mounts, /proc/sys/vm/drop_caches)"
for t in awk timeout findmnt losetup find sort dd du tar wc; do
	command -v $t >/dev/null || die "missing tool: $t"
done
[ -n "$IMAGE_ARG" ] || command -v mkfs.$FSTYPE >/dev/null ||
	die "missing tool: mkfs.$FSTYPE ($([ "$FSTYPE" = xfs ] && echo xfsprogs || echo e2fsprogs))"
has_fs fuse2fs && { command -v fuse2fs >/dev/null || die "fuse2fs not found (Debian package fuse2fs), or drop it with --fs"; }
[ -w /proc/sys/vm/drop_caches ] || die "/proc/sys/vm/drop_caches is not writable"

IMGFS_MOUNT=
if has_fs imgfs; then
	srcdir=$(cd "$(dirname "$0")/.." && pwd)
	if [ -z "$BUILDDIR" ]; then
		for d in . "$srcdir"; do
			[ -x "$d/cmd/imgfs-mount" ] && { BUILDDIR=$d; break; }
		done
	fi
	[ -n "$BUILDDIR" ] || die "cannot find cmd/imgfs-mount in . or $srcdir; build imgfs and pass --builddir DIR (or IMGFS_BUILDDIR), or leave imgfs out with --fs kernel,fuse2fs"
	BUILDDIR=$(cd "$BUILDDIR" && pwd) || die "--builddir: no such directory"
	IMGFS_MOUNT=$BUILDDIR/cmd/imgfs-mount
	[ -x "$IMGFS_MOUNT" ] || die "$IMGFS_MOUNT: not built"
	[ -x "$BUILDDIR/cmd/imgfs-server" ] || die "$BUILDDIR/cmd/imgfs-server: not built (imgfs-mount runs the server next to it)"
fi

# ---- temp dir, cleanup -------------------------------------------------------

WORK=
IMG=
MNT=
OWN_IMAGE=0

# mountinfo, not stat(2): a hung FUSE server must not hang the cleanup.
mnt_field() {	# $1: majmin | fstype
	awk -v m="$MNT" -v f="$1" '$5 == m { for (i = 7; i <= NF; i++) if ($i == "-") break
		print (f == "fstype" ? $(i + 1) : $3); exit }' /proc/self/mountinfo
}
is_mounted() { [ -n "$MNT" ] && [ -n "$(mnt_field majmin)" ]; }

# PIDs of processes holding our image open: the FUSE servers of this run.
image_holders() {
	[ -n "$IMG" ] || return 0
	find /proc/[0-9]*/fd -maxdepth 1 -lname "$IMG" 2>/dev/null | awk -F/ '{ print $3 }' | sort -u
}

# Wait for the servers of a finished mount to exit; kill them (by PID) if
# they linger.
reap_servers() {
	local i pids
	for i in $(seq 50); do
		pids=$(image_holders)
		[ -z "$pids" ] && return 0
		sleep 0.1
	done
	note "server(s) still running after unmount, killing: $pids"
	kill -TERM $pids 2>/dev/null
	sleep 1
	pids=$(image_holders)
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	return 0
}

unmount_all() {
	local majmin minor i
	is_mounted || return 0
	for i in 1 2 3; do
		umount "$MNT" 2>/dev/null && break
		sleep 0.3
	done
	if is_mounted; then
		majmin=$(mnt_field majmin)
		minor=${majmin#*:}
		if [[ $(mnt_field fstype) == fuse* ]] && [ -e "/sys/fs/fuse/connections/$minor/abort" ]; then
			note "umount $MNT failed; aborting FUSE connection $minor"
			echo 1 >"/sys/fs/fuse/connections/$minor/abort" 2>/dev/null
		fi
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || note "cannot unmount $MNT"
	fi
	return 0
}

cleanup() {
	local rc=$? dev
	trap - EXIT INT TERM HUP
	set +e
	# a workload still running (interrupted): its own process group
	[ -n "$CHILD" ] && kill -TERM -- "-$CHILD" 2>/dev/null
	unmount_all
	if [ -n "$IMG" ]; then
		for dev in $(losetup -n -O NAME -j "$IMG" 2>/dev/null); do
			losetup -d "$dev" 2>/dev/null
		done
		reap_servers
	fi
	if [ -n "$WORK" ]; then
		rm -rf "$WORK/src"
		[ -n "$MNT" ] && ! is_mounted && rmdir "$MNT" 2>/dev/null
		if [ "$KEEP" = 1 ] && [ "$OWN_IMAGE" = 1 ] && [ -f "$IMG" ]; then
			note "kept image: $IMG  (reuse with --image $IMG)"
		elif ! is_mounted; then
			rm -rf "$WORK"
		else
			note "left $WORK behind: $MNT is still mounted"
		fi
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

mkdir -p "$TMPBASE" || die "cannot create $TMPBASE"
case $(stat -f -c %T "$TMPBASE") in
tmpfs|ramfs) die "$TMPBASE is $(stat -f -c %T "$TMPBASE"): drop_caches cannot make an image there cold; use --tmpdir on a disk" ;;
esac
WORK=$(mktemp -d "$TMPBASE/imgfs-bench.XXXXXX") || die "mktemp failed"
WORK=$(cd "$WORK" && pwd -P)
MNT=$WORK/mnt
mkdir "$MNT"

# ---- helpers -------------------------------------------------------------------

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
# fdiv A B [DIGITS]: A / B as a decimal, "n/a" if either is missing
fdiv() {
	awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {
		if (a == "" || b == "" || a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) { print "n/a"; exit }
		printf "%.*f\n", d, a / b }'
}
# fcmp A OP B: numeric comparison, false if either is "n/a"
fcmp() { awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
	if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/) exit 2
	r = (op == "<=") ? (a + 0 <= b + 0) : (a + 0 >= b + 0); exit !r }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
	if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# ---- the image ---------------------------------------------------------------

# Writes the small-file tree under $1: $FILES files of 1-8 KiB (slices of a
# pool of printable bytes), round-robin over directories dNNN/sNNN, about
# 200 files per directory.  One awk process: ~2 s for 50,000 files.
make_tree() {
	local root=$1 ndirs=$(( (FILES + 199) / 200 ))
	awk -v ndirs="$ndirs" -v root="$root" 'BEGIN {
		for (d = 0; d < ndirs; d++) printf "%s/d%03d/s%03d\n", root, int(d / 16), d % 16 }' |
		xargs mkdir -p || return 1
	awk -v files="$FILES" -v ndirs="$ndirs" -v root="$root" 'BEGIN {
		srand(20250101)
		for (i = 0; i < 256; i++) {
			line = ""
			for (j = 0; j < 63; j++) line = line sprintf("%c", 33 + int(rand() * 94))
			pool = pool line "\n"
		}
		plen = length(pool)
		for (f = 0; f < files; f++) {
			d = f % ndirs
			path = sprintf("%s/d%03d/s%03d/f%06d", root, int(d / 16), d % 16, f)
			size = 1024 + int(rand() * 7169)
			printf "%s", substr(pool, 1 + int(rand() * (plen - size)), size) > path
			if (close(path)) exit 1
		}
	}'
}

# Writes $SIZE_MB MiB of non-zero pseudo-random data to $1 (AES-CTR keystream
# when openssl is there, /dev/urandom otherwise).
make_bigfile() {
	local bytes=$(( SIZE_MB * 1048576 ))
	if command -v openssl >/dev/null; then
		openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:imgfs-bench -in /dev/zero 2>/dev/null |
			head -c "$bytes" >"$1"
	else
		head -c "$bytes" /dev/urandom >"$1"
	fi
	[ "$(stat -c %s "$1")" = "$bytes" ]
}

make_image() {
	local src=$WORK/src t0 t1 ndirs img_mb inodes
	IMG=$WORK/bench.img
	OWN_IMAGE=1
	mkdir -p "$src/tree" || return 1
	t0=$(now_us)
	make_bigfile "$src/big.bin" || { note "cannot write the large file"; return 1; }
	make_tree "$src/tree" || { note "cannot write the small-file tree"; return 1; }
	ndirs=$(( (FILES + 199) / 200 ))
	# large file + at most 2 blocks per small file + directories, +15%, +128 MiB
	img_mb=$(( (SIZE_MB + FILES * 8 / 1024 + ndirs * 8 / 1024) * 115 / 100 + 128 ))
	inodes=$(( FILES + ndirs + 4096 ))
	local nopt=()
	# default is one inode per 16 KiB; ask for more only if that is short
	[ $(( img_mb * 64 )) -lt "$inodes" ] && nopt=(-N "$inodes")
	truncate -s "${img_mb}M" "$IMG" || return 1
	if [ "$FSTYPE" = xfs ]; then
		# mkfs.xfs cannot copy a directory in: the kernel fills the image,
		# in a mount namespace of its own so that no copy of the mount
		# outlives the umount.
		[ "$img_mb" -ge 300 ] || truncate -s 300M "$IMG"
		mkfs.xfs -q -f -L imgfs-bench "$IMG" || { note "mkfs.xfs failed"; return 1; }
		mkdir -p "$WORK/fill"
		unshare -m --propagation private sh -c '
			mount -t xfs -o loop "$1" "$2" && cp -a "$3/." "$2/" && umount "$2"' \
			sh "$IMG" "$WORK/fill" "$src" || { note "cannot fill the XFS image"; return 1; }
		rmdir "$WORK/fill"
	else
		mkfs.ext4 -q -F -t ext4 -L imgfs-bench "${nopt[@]}" -d "$src" "$IMG" || { note "mkfs.ext4 -d failed"; return 1; }
	fi
	rm -rf "$src"
	sync
	t1=$(now_us)
	note "image: $IMG, ${img_mb} MiB, made in $(fdiv $(( t1 - t0 )) 1000000 1) s"
}

if [ -n "$IMAGE_ARG" ]; then
	[ -f "$IMAGE_ARG" ] || [ -b "$IMAGE_ARG" ] || die "--image: $IMAGE_ARG: no such file"
	IMG=$(cd "$(dirname "$IMAGE_ARG")" && pwd -P)/$(basename "$IMAGE_ARG")
	note "using existing image $IMG (expects /big.bin and /tree)"
else
	note "generating: ${SIZE_MB} MiB file + $FILES small files in $WORK"
	make_image || die "cannot build the image"
fi

# ---- mounts ----------------------------------------------------------------------

do_mount() {	# $1: kernel | fuse2fs | imgfs
	local out want
	case $1 in
	kernel)
		out=$(mount -t "$FSTYPE" -o ro,loop "$IMG" "$MNT" 2>&1); want=$FSTYPE ;;
	fuse2fs)
		# libfuse 2 fuse_main(): mounts, then forks into the background and
		# the parent exits, so the mount is there when fuse2fs returns.
		# Its server is found again by the open image (image_holders).
		out=$(timeout 60 fuse2fs "$IMG" "$MNT" -o ro,fakeroot 2>&1); want=fuse.fuse2fs ;;
	imgfs)
		# exits once the server has answered FUSE_INIT
		out=$(timeout 60 "$IMGFS_MOUNT" "$IMG" "$MNT" 2>&1); want=fuse.imgfs ;;
	esac
	if ! is_mounted; then
		note "$1: mount failed: $out"
		return 1
	fi
	local got=$(mnt_field fstype)
	if [ "$got" != "$want" ] && ! { [ "$1" = fuse2fs ] && [[ $got == fuse* ]]; }; then
		note "$1: mounted as $got, expected $want"
		unmount_all
		return 1
	fi
	if [ ! -f "$MNT/big.bin" ] || [ ! -d "$MNT/tree" ]; then
		note "$1: image has no /big.bin or /tree"
		unmount_all
		return 1
	fi
}

do_unmount() {
	unmount_all
	reap_servers
	! is_mounted
}

# ---- workloads ---------------------------------------------------------------
# Each sets WL_US (wall time in microseconds) and WL_CHECK, a value that must
# be the same on every mount (bytes read, du's block count, tar's stream
# length).  Commands run as a background job under timeout(1), so a signal
# interrupts the wait at once and cleanup can end them by process group.

CHILD=
run_cmd() {
	local rc t0 t1
	t0=$(now_us)
	timeout -k 5 "$TIMEOUT" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null &
	CHILD=$!
	wait "$CHILD"
	rc=$?
	t1=$(now_us)
	CHILD=
	WL_US=$(( t1 - t0 ))
	if [ "$rc" != 0 ]; then
		[ "$rc" = 124 ] && note "timed out after $TIMEOUT s: $*"
		sed 's/^/  /' "$WORK/err" >&2
	fi
	return "$rc"
}

wl_seqread() {
	run_cmd env LC_ALL=C dd if="$MNT/big.bin" of=/dev/null bs=1M || return 1
	WL_CHECK=$(awk '/bytes/ { print $1 }' "$WORK/err")
}

wl_du() {
	run_cmd du -s "$MNT/tree" || return 1
	WL_CHECK=$(awk '{ print $1 }' "$WORK/out")
}

# GNU tar does not read file data when the archive is /dev/null, so the
# archive goes through a pipe and is counted.
wl_tar() {
	run_cmd sh -c 'tar -C "$1" -cf - tree | wc -c' sh "$MNT" || return 1
	WL_CHECK=$(cat "$WORK/out")
}

WORKLOADS=(seqread du tar)
declare -A LABEL=([seqread]="seq read" [du]="du -s" [tar]="tar | wc")
declare -A RES		# RES[fs.wl.phase] = median seconds, or FAIL
declare -A CHECK	# CHECK[wl] = "fs=value ..."
declare -A BYTES	# BYTES[fs] = bytes of the large file read
BROKEN=0
WARM_REPS=3		# warm: up to 3 repeats ...
WARM_BUDGET_US=5000000	# ... while they take less than 5 s in all

record_check() {	# fs wl value
	[[ " ${CHECK[$2]:-} " == *" $1=$3 "* ]] || CHECK[$2]+="$1=$3 "
	[ "$2" = seqread ] && BYTES[$1]=$3
	return 0
}

# One round of one workload on one mount: fresh mount, drop_caches, cold run,
# warm runs, unmount.  Appends seconds to COLD[fs.wl] and WARM[fs.wl]; a
# failure marks the pair FAIL and ends further rounds for it.
declare -A COLD WARM
fail_pair() { COLD[$1]=FAIL; WARM[$1]=FAIL; BROKEN=1; do_unmount; return 1; }
run_round() {	# fs wl
	local fs=$1 wl=$2 k=$1.$2 rep used=0 w=() c wm
	[ "${COLD[$k]:-}" = FAIL ] && return 1
	do_mount "$fs" || fail_pair "$k" || return 1
	drop_caches
	wl_$wl || { note "$fs: $wl (cold) failed"; fail_pair "$k"; return 1; }
	record_check "$fs" "$wl" "${WL_CHECK:-?}"
	c=$(fdiv "$WL_US" 1000000 6)
	for rep in $(seq $WARM_REPS); do
		wl_$wl || { note "$fs: $wl (warm) failed"; fail_pair "$k"; return 1; }
		record_check "$fs" "$wl" "${WL_CHECK:-?}"
		w+=("$(fdiv "$WL_US" 1000000 6)")
		used=$(( used + WL_US ))
		[ "$used" -ge $WARM_BUDGET_US ] && break
	done
	wm=$(median "${w[@]}")
	do_unmount || { note "$fs: cannot unmount"; fail_pair "$k"; return 1; }
	COLD[$k]+="$c "
	WARM[$k]+="$wm "
	note "$(printf '%-8s %-9s cold %9.3f s   warm %9.3f s' "$fs" "$wl" "$c" "$wm")"
}

drop_caches
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
T_START=$(now_us)
# Mounts take turns within each round, so that a change in the load on the
# machine hits all of them alike rather than one column.
for wl in "${WORKLOADS[@]}"; do
	for r in $(seq "$RUNS"); do
		for fs in "${FSES[@]}"; do
			run_round "$fs" "$wl"
		done
	done
done
for fs in "${FSES[@]}"; do
	for wl in "${WORKLOADS[@]}"; do
		k=$fs.$wl
		if [ "${COLD[$k]:-}" = FAIL ]; then
			RES[$k.cold]=FAIL; RES[$k.warm]=FAIL
		elif [ -n "${COLD[$k]:-}" ]; then
			RES[$k.cold]=$(median ${COLD[$k]})
			RES[$k.warm]=$(median ${WARM[$k]})
		fi
	done
done

LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
T_END=$(now_us)

# Every mount (and every run) must have delivered the same thing.
DATACHECK=
for wl in "${WORKLOADS[@]}"; do
	vals=$(printf '%s\n' ${CHECK[$wl]:-} | sed 's/^[^=]*=//' | sort -u)
	[ -z "$vals" ] && continue
	if [ "$(printf '%s\n' "$vals" | wc -l)" -gt 1 ]; then
		note "MISMATCH in $wl between mounts/runs: ${CHECK[$wl]}"
		DATACHECK+="$wl MISMATCH (${CHECK[$wl]% }); "
		BROKEN=1
	else
		case $wl in
		seqread) DATACHECK+="dd $vals bytes; " ;;
		du) DATACHECK+="du $vals blocks; " ;;
		tar) DATACHECK+="tar $vals bytes; " ;;
		esac
	fi
done

# ---- report --------------------------------------------------------------------

get() { local v=${RES[$1]:-}; [ "$v" = FAIL ] && v=; echo "$v"; }
show() {	# a time, "-" when not run, FAIL
	local v=${RES[$1]:-}
	case $v in
	"") echo "-" ;;
	FAIL) echo "FAIL" ;;
	*) printf '%.3f\n' "$v" ;;
	esac
}
mbps() {	# fs phase -> MB/s (10^6 bytes)
	local t b=${BYTES[$1]:-}
	t=$(get "$1.seqread.$2")
	[ -n "$t" ] && [ -n "$b" ] || { echo "n/a"; return; }
	awk -v b="$b" -v t="$t" 'BEGIN { if (t > 0) printf "%.0f\n", b / 1e6 / t; else print "n/a" }'
}

echo
echo "imgfs benchmark: $(uname -sr), $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
if [ "$OWN_IMAGE" = 1 ]; then
	echo "image: $FSTYPE, $(( $(stat -c %s "$IMG") / 1048576 )) MiB; /big.bin ${SIZE_MB} MiB; /tree $FILES files of 1-8 KiB in $(( (FILES + 199) / 200 )) directories"
else
	echo "image: $IMG (reused)"
fi
has_fs fuse2fs && echo "fuse2fs: $(fuse2fs -V 2>&1 | head -1)"
has_fs imgfs && echo "imgfs: $IMGFS_MOUNT"
echo "measured in $(fdiv $(( T_END - T_START )) 1000000 0) s; load average $LOAD_START before, $LOAD_END after (other work on the machine skews the numbers)"
echo "cold = sync + drop_caches on a fresh mount; warm = repeated at once on the same mount (median of up to $WARM_REPS)"
echo "times in seconds (median of $RUNS round(s)); ratios are time / time (lower is better for x/kernel)"
echo "data check (same on every mount and run): ${DATACHECK%; }"
echo

fmt='%-16s %9s %9s %9s  %14s %12s %14s\n'
printf "$fmt" workload kernel fuse2fs imgfs fuse2fs/kernel imgfs/kernel fuse2fs/imgfs
printf "$fmt" ---------------- --------- --------- --------- -------------- ------------ --------------
for wl in "${WORKLOADS[@]}"; do
	for ph in cold warm; do
		k=$(get kernel.$wl.$ph); f=$(get fuse2fs.$wl.$ph); i=$(get imgfs.$wl.$ph)
		printf "$fmt" "${LABEL[$wl]} $ph" "$(show kernel.$wl.$ph)" "$(show fuse2fs.$wl.$ph)" \
			"$(show imgfs.$wl.$ph)" "$(fdiv "$f" "$k")" "$(fdiv "$i" "$k")" "$(fdiv "$f" "$i")"
	done
done

echo
fmt='%-16s %9s %9s %9s  %14s %12s\n'
printf "$fmt" "seq read MB/s" kernel fuse2fs imgfs fuse2fs/kernel imgfs/kernel
printf "$fmt" ---------------- --------- --------- --------- -------------- ------------
for ph in cold warm; do
	k=$(mbps kernel $ph); f=$(mbps fuse2fs $ph); i=$(mbps imgfs $ph)
	printf "$fmt" "$ph" "$k" "$f" "$i" "$(fdiv "$f" "$k")" "$(fdiv "$i" "$k")"
done

echo
echo "targets:"
verdict() {	# value op limit
	fcmp "$1" "$2" "$3"
	case $? in
	0) echo "MET   " ;;
	1) echo "MISSED" ;;
	*) echo "n/a   " ;;
	esac
}
target() {	# text value op limit unit
	local unit=${5:-}
	[ "$2" = n/a ] && unit=
	printf '  [%s] %-52s measured %s%s\n' "$(verdict "$2" "$3" "$4")" "$1" "$2" "$unit"
}
r=$(fdiv "$(get imgfs.du.warm)" "$(get kernel.du.warm)")
target "warm du: imgfs within ${TGT_DU_WARM}x of kernel" "$r" "<=" "$TGT_DU_WARM" x
r=$(fdiv "$(get imgfs.du.cold)" "$(get kernel.du.cold)")
target "cold du: imgfs within ${TGT_DU_COLD}x of kernel" "$r" "<=" "$TGT_DU_COLD" x
r=$(fdiv "$(mbps imgfs cold)" "$(mbps kernel cold)")
target "cold seq read: imgfs >= ${TGT_SEQ_COLD}x kernel throughput" "$r" ">=" "$TGT_SEQ_COLD" x
has_fs fuse2fs && for wl in du tar; do
	for ph in cold warm; do
		r=$(fdiv "$(get fuse2fs.$wl.$ph)" "$(get imgfs.$wl.$ph)" 1)
		target "$ph ${LABEL[$wl]}: imgfs >= ${TGT_VS_FUSE2FS}x faster than fuse2fs" "$r" ">=" "$TGT_VS_FUSE2FS" x
	done
done

if [ "$BROKEN" = 1 ]; then
	echo
	echo "bench: something failed (see messages above); exit status 1"
	exit 1
fi
exit 0
