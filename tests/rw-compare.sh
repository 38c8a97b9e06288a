#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/rw-compare.sh: imgfs -o rw writes ext4 as the kernel does.
#
# For each variant of the filesystem (block size, inline_data,
# metadata_csum, journal, 64bit): mkfs.ext4 makes one image, and two
# copies of it get the same workload (tests/rw-workload.sh: every
# operation of issue 15, a Debian tree unpacked, fsstress with a fixed
# seed), one under the kernel's ext4 on a loop device, the other under
# the driver under test.  Then, per variant, one test line each:
#   - the two workload logs are identical (what every step returned);
#   - e2fsck -fn finds nothing wrong in either image after the unmount;
#   - the kernel, mounting both images read-only, sees the same two trees
#     (treecmp: contents, types, modes, owners, sizes, link counts,
#     hard-link identity, symlink targets, device numbers, xattrs and
#     ACLs, and mtime/ctime/atime to the nanosecond wherever the workload
#     set them, --now for those the clock set);
#   - the inode flags the kernel would have set (htree index, inline
#     data, extents) are set on the same paths (debugfs).
# Nothing is compared with imgfs's own view: both trees are read by the
# kernel.
#
# Environment:
#   RW_DRIVER=imgfs|fuse2fs|kernel   the driver under test (tests/rw-lib.sh)
#   RW_LONG=1          every variant, the long workload, a ~33,000-entry
#                      tree, 20,000 fsstress operations (make check-rw-long)
#   RW_VARIANTS="NAME ..."  only these variants (names below)
#   TREECMP_OPTS       extra treecmp options (e.g. --ignore=dirsize)

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/rw-lib.sh"

need_root
need_loop
need_cmd mkfs.ext4 e2fsck debugfs setfacl setfattr getfattr fallocate truncate \
	tar flock awk md5sum
need_prog "$TREECMP" "$RWOPS"
rw_need_driver

# NAME:BLOCKSIZE:MKFS-OPTIONS (-O list, comma-separated, or "-")
all_variants="
4k:4096:-
1k:1024:-
inline:4096:inline_data
nojournal-nocsum:4096:^has_journal,^metadata_csum
1k-no64bit:1024:^64bit
1k-nojournal-inline:1024:^has_journal,inline_data
nocsum-no64bit:4096:^metadata_csum,^64bit
small-inodes:4096:-:-I128
largedir:4096:large_dir,inline_data
"
if [ -n "${RW_LONG:-}" ]; then
	size=long
	default_variants=$(echo "$all_variants" | cut -d: -f1)
	tarsize=long
else
	size=small
	# A few that between them cover 1k/4k, inline data, no journal and
	# no checksums.
	default_variants="4k 1k-nojournal-inline"
	tarsize=small
fi
variants=${RW_VARIANTS:-$default_variants}

# treecmp --now must still see a time one side set and the other did not.
a=$TEST_TMP/self/a b=$TEST_TMP/self/b
mkdir -p "$a" "$b"
for t in "$a" "$b"; do : >"$t/both-now" && : >"$t/one-old" && : >"$t/both-old"; done
touch -d "$(date -d @1000000000)" "$a/one-old" "$a/both-old" "$b/both-old"
"$TREECMP" --now="$(($(date +%s) - 60))" --ignore=ctime "$a" "$b" >"$TEST_TMP/self.out" 2>&1
if [ $? -eq 1 ] && grep -q '^/one-old: mtime:' "$TEST_TMP/self.out" &&
	! grep -q '^/both-' "$TEST_TMP/self.out"; then
	ok "treecmp --now: times the clock set match, an old one against a new one does not"
else
	not_ok "treecmp --now: times the clock set match, an old one against a new one does not"
	diag_file "$TEST_TMP/self.out"
fi

fsstress=$(fstests_tool fsstress) || fsstress=
if [ -n "$fsstress" ]; then
	ok "fsstress built from $(basename "$(fstests_tarball)")"
else
	skip "fsstress" "not built: no fstests snapshot (set IMGFS_FSTESTS_TARBALL) or no xfs/xfs.h (xfslibs-dev)"
fi
if rootfs_tar "$tarsize" "$TEST_TMP/rootfs.tar"; then
	ok "a $tarsize Debian tree from the host: $(tar -tf "$TEST_TMP/rootfs.tar" | wc -l) entries"
else
	not_ok "a $tarsize Debian tree from the host"
fi

# run_side kernel|driver IMAGE DIR LOG: the workload on one copy.
run_side() {
	_env="RWOPS=$RWOPS FSSTRESS=$fsstress ROOTFS_TAR=$TEST_TMP/rootfs.tar RW_BLOCKSIZE=$bs"
	if [ "$1" = kernel ]; then
		mkdir -p "$3"
		# A mount namespace of its own: no copy of the rw mount
		# outlives the umount (tests/private-ns.sh).
		bounded 1800 sh "$top_srcdir/tests/private-ns.sh" sh -c '
			mount -t ext4 -o loop "$1" "$2" || exit 3
			env $5 sh "$3" "$2" "$6" >"$4" 2>"$4.err"
			r=$?
			umount "$2" || exit 4
			exit $r' sh "$2" "$3" "$top_srcdir/tests/rw-workload.sh" "$4" "$_env" "$size"
		return
	fi
	rw_mount "$2" "$3" >"$4.mount" 2>&1 || { cat "$4.mount" >"$4"; return 3; }
	bounded 3600 env $_env sh "$top_srcdir/tests/rw-workload.sh" "$3" "$size" >"$4" 2>"$4.err"
	_r=$?
	rw_unmount "$3" || return 4
	return $_r
}

# flags IMAGE: the inode flags of every directory and file of the
# workload's own parts that the kernel decides (not fsstress's or the
# tar's, whose sizes the host decides): htree, inline data, extents.
flags() {
	for _p in / ops ops/file1 ops/f10k ops/a ops/sym30 ops/sym200 ops/sym1000 ren \
		ren/dst attr attr/t1 attr/t3 data/holes data/big falloc/fa1 falloc/fa3 \
		xattr acl acl/dacl big; do
		_f=$(debugfs -R "stat \"/${_p#/}\"" "$1" 2>/dev/null |
			sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p' | head -n 1)
		[ -n "$_f" ] || { echo "$_p: missing"; continue; }
		# 0x1000 index, 0x10000000 inline data, 0x80000 extents
		_o="$_p:"
		[ $((_f & 0x1000)) -eq 0 ] || _o="$_o htree"
		[ $((_f & 0x10000000)) -eq 0 ] || _o="$_o inline"
		[ $((_f & 0x80000)) -eq 0 ] || _o="$_o extents"
		echo "$_o"
	done
}

# is_indexed IMG PATH: the directory carries an htree index (EXT2_INDEX_FL).
is_indexed() {
	_f=$(debugfs -R "stat \"/${2#/}\"" "$1" 2>/dev/null |
		sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p' | head -n 1)
	[ -n "$_f" ] && [ $((_f & 0x1000)) -ne 0 ]
}

# drop_indexed_dirsize OUT REF-IMG DRV-IMG: treecmp's output without the
# size differences of directories indexed in both images.  Where an
# indexed directory's leaves split is libext2fs's choice, not the
# kernel's (the count of leaf blocks can differ by one); the index
# itself is compared by the flags check, every entry by treecmp.
# Prints what it dropped on stderr; exits 0 when nothing else is left.
drop_indexed_dirsize() {
	_left=0
	while IFS= read -r _l; do
		case "$_l" in
		*": dirsize: "*)
			_p=${_l%%: dirsize: *}
			if is_indexed "$2" "$_p" && is_indexed "$3" "$_p"; then
				echo "indexed on both sides, size not compared: $_l" >&2
				continue
			fi
			_left=1 ;;
		*" entries compared, "*) continue ;;
		*) _left=1 ;;
		esac
		echo "$_l"
	done <"$1"
	return $_left
}

for v in $variants; do
	line=$(echo "$all_variants" | grep "^$v:") || bail_out "unknown variant '$v'"
	bs=$(echo "$line" | cut -d: -f2)
	feats=$(echo "$line" | cut -d: -f3)
	extra=$(echo "$line" | cut -d: -f4)
	vdir=$TEST_TMP/$v
	mkdir -p "$vdir"
	fo=
	[ "$feats" = - ] || fo="-O $feats"
	imgmb=512
	[ "$size" = long ] && imgmb=2048
	# shellcheck disable=SC2086
	if ! mkfs.ext4 -q -F -b "$bs" $fo $extra -L rw-$v "$vdir/base.img" "${imgmb}M" \
		>"$vdir/mkfs.out" 2>&1; then
		not_ok "$v: mkfs.ext4 -b $bs $fo $extra"
		diag_file "$vdir/mkfs.out"
		continue
	fi
	cp --sparse=always "$vdir/base.img" "$vdir/ref.img"
	cp --sparse=always "$vdir/base.img" "$vdir/drv.img"
	rm -f "$vdir/base.img"
	# Every time the clock sets from here on is "now" on both sides.
	sleep 1
	now=$(date +%s)
	t0=$(date +%s)
	run_side kernel "$vdir/ref.img" "$vdir/kmnt" "$vdir/ref.log"
	krc=$?
	t1=$(date +%s)
	run_side driver "$vdir/drv.img" "$vdir/dmnt" "$vdir/drv.log"
	drc=$?
	t2=$(date +%s)
	diag "$v: workload $((t1 - t0)) s under the kernel, $((t2 - t1)) s under $RW_DRIVER"
	if [ $krc -ne 0 ]; then
		not_ok "$v: the workload runs under the kernel (exit $krc; a test bug)"
		diag_file "$vdir/ref.log.err"
		continue
	fi
	if [ $drc -ne 0 ]; then
		not_ok "$v: the workload runs under $RW_DRIVER -o rw (exit $drc)"
		diag_file "$vdir/drv.log"
		diag_file "$vdir/drv.log.err"
	else
		ok "$v: the workload runs under $RW_DRIVER -o rw"
	fi
	if diff -u "$vdir/ref.log" "$vdir/drv.log" >"$vdir/log.diff"; then
		ok "$v: every step returned what it returned under the kernel ($(wc -l <"$vdir/ref.log") lines)"
	else
		not_ok "$v: every step returned what it returned under the kernel"
		diag_file "$vdir/log.diff" 80
	fi
	for side in ref drv; do
		who=kernel
		[ $side = ref ] || who=$RW_DRIVER
		if e2fsck -fn "$vdir/$side.img" >"$vdir/fsck-$side.out" 2>&1; then
			ok "$v: e2fsck -fn finds the image $who wrote clean"
		else
			not_ok "$v: e2fsck -fn finds the image $who wrote clean"
			diag_file "$vdir/fsck-$side.out" 40
		fi
	done
	flags "$vdir/ref.img" >"$vdir/flags.ref"
	flags "$vdir/drv.img" >"$vdir/flags.drv"
	if diff -u "$vdir/flags.ref" "$vdir/flags.drv" >"$vdir/flags.diff"; then
		ok "$v: inode flags (htree, inline data, extents) as the kernel set them"
	else
		not_ok "$v: inode flags (htree, inline data, extents) as the kernel set them"
		diag_file "$vdir/flags.diff"
	fi
	if kernel_mount "$vdir/ref.img" "$vdir/kro" 2>"$vdir/kro.err" &&
		kernel_mount "$vdir/drv.img" "$vdir/dro" 2>"$vdir/dro.err"; then
		# shellcheck disable=SC2086
		bounded 600 "$TREECMP" --now="$now" --atime --max-diffs=60 ${TREECMP_OPTS:-} \
			"$vdir/kro" "$vdir/dro" >"$vdir/treecmp.out" 2>&1
		rc=$?
		if [ $rc -eq 1 ] && drop_indexed_dirsize "$vdir/treecmp.out" "$vdir/ref.img" \
			"$vdir/drv.img" >/dev/null 2>"$vdir/dropped"; then
			diag_file "$vdir/dropped"
			rc=0
		fi
		if [ $rc -eq 0 ]; then
			ok "$v: the kernel sees the same tree in both images: $(tail -n 1 "$vdir/treecmp.out")"
		else
			not_ok "$v: the kernel sees the same tree in both images (treecmp exit $rc)"
			diag_file "$vdir/treecmp.out" 70
		fi
	else
		not_ok "$v: the kernel mounts both images read-only"
		diag_file "$vdir/kro.err"
		diag_file "$vdir/dro.err"
	fi
	for m in "$vdir/kro" "$vdir/dro"; do
		[ -z "$(mounts_under "$m")" ] || unmount "$m"
	done
	# Each variant's images go once compared (they are large).
	[ -n "${IMGFS_TEST_KEEP:-}" ] || rm -f "$vdir"/*.img
done

assert_clean "nothing left behind (mounts, servers, loop devices)"
done_testing
