# SPDX-License-Identifier: GPL-2.0-or-later
# tests/xfs-compare.sh: every image of the XFS corpus, mounted by imgfs,
# must show exactly the tree the kernel's own XFS driver shows.
#
# For each image (tests/mkcorpus-xfs.sh): a read-only loop mount with the
# kernel (the ground truth; norecovery, so it shows the image as it is on
# disk, as imgfs does), a read-only imgfs mount, treecmp over both (names,
# types, modes, owners, sizes, link counts and hard-link identity,
# mtime/ctime/atime to the nanosecond, st_blocks, inode numbers, symlink
# targets, xattrs and ACLs, device numbers, file contents), then both
# unmounted and nothing may be left (no mount, no server, no loop device).
#
# Until imgfs serves XFS, the test is skipped with the reason imgfs-mount
# gives (an empty XFS image is tried first).  IMGFS_TEST_FS=kernel checks
# the test and the corpus without imgfs: the kernel against itself must be
# identical.  The disk image with a partition table is compared with
# partition=N and with offset=BYTES against the kernel's loop mount at the
# offset sfdisk reports.
#
# Environment:
#   IMGFS_TEST_FS=imgfs|kernel  what to compare with the kernel (default imgfs)
#   IMGFS_CORPUS_XFS=DIR        use the images in DIR instead of generating them
#   TREECMP_OPTS                extra treecmp options (e.g. --ignore=blocks)

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

MKCORPUS_XFS=$top_srcdir/tests/mkcorpus-xfs.sh

need_root
need_loop
need_cmd mkfs.xfs xfs_db xfs_repair xfs_admin setfacl setfattr perl findmnt timeout \
	fallocate sfdisk mke2fs
need_prog "$TREECMP"
case ${IMGFS_TEST_FS:-imgfs} in
fuse2fs) skip_all "fuse2fs does not read XFS";;
esac
need_impl
grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null
grep -qw xfs /proc/filesystems || skip_all "the kernel has no XFS driver (the ground truth)"

cmp_opts="--atime --blocks --ino ${TREECMP_OPTS:-}"

# xfs_mount IMAGE DIR [OPTS]: the kernel's read-only view.  norecovery:
# never replay the log (the images are clean, so this changes nothing);
# nouuid: the kernel refuses a second filesystem with the same UUID.
xfs_mount() {
	mkdir -p "$2" &&
		mount -t xfs -o "ro,loop,norecovery,nouuid${3:+,$3}" "$1" "$2" &&
		track_loop "$2"
}

# ---- does imgfs serve XFS yet? ----

if [ "$impl" = imgfs ]; then
	probe=$TEST_TMP/probe.img
	truncate -s 300M "$probe" && mkfs.xfs -q "$probe" >/dev/null 2>&1 ||
		bail_out "mkfs.xfs cannot make an empty image"
	if ! imgfs_mount "$probe" "$TEST_TMP/probe" >"$TEST_TMP/probe.err" 2>&1; then
		if grep -q -i -e 'xfs filesystem is not supported' -e 'unsupported filesystem type xfs' \
			"$TEST_TMP/probe.err"; then
			skip_all "imgfs does not serve XFS yet: $(head -n 1 "$TEST_TMP/probe.err")"
		fi
		# Anything else is a failure the comparisons below will show.
	else
		unmount "$TEST_TMP/probe"
	fi
	rm -f "$probe"
fi

# ---- the corpus ----

corpus=${IMGFS_CORPUS_XFS:-}
if [ -z "$corpus" ]; then
	corpus=$TEST_TMP/corpus
	if bounded 600 env TMPDIR="$TEST_TMP" sh "$MKCORPUS_XFS" "$corpus" \
		>"$TEST_TMP/corpus.log" 2>&1; then
		ok "corpus generated"
		diag_file "$TEST_TMP/corpus.log" 100
	else
		not_ok "corpus generated"
		diag_file "$TEST_TMP/corpus.log" 100
		bail_out "no corpus"
	fi
fi

cleanup_mounts() {
	for m in $(mounts_under "$TEST_TMP"); do
		unmount "$m"
	done
}

# The comparison must be able to fail on this corpus: two different
# images, both through the kernel, are reported as different.
set -- "$corpus"/xfs-*.img
if [ $# -ge 2 ] && xfs_mount "$1" "$TEST_TMP/k1" && xfs_mount "$2" "$TEST_TMP/k2"; then
	bounded 600 "$TREECMP" $cmp_opts --max-diffs=1000000 "$TEST_TMP/k1" "$TEST_TMP/k2" \
		>"$TEST_TMP/treecmp.out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q '^/which: content:' "$TEST_TMP/treecmp.out"; then
		ok "treecmp tells $(basename "$1") and $(basename "$2") apart"
	else
		not_ok "treecmp tells $(basename "$1") and $(basename "$2") apart (exit $rc)"
		diag_file "$TEST_TMP/treecmp.out"
	fi
	diag "$(tail -n 1 "$TEST_TMP/treecmp.out")"
fi
cleanup_mounts

# mount_b IMAGE DIR [partition=N|offset=BYTES]: the side under test.
# Returns 77 when the implementation cannot do what is asked.
mount_b() {
	case $impl in
	imgfs) imgfs_mount "$@";;
	kernel)
		case ${3:-} in
		partition=*) return 77;;
		*) xfs_mount "$1" "$2" "$kopts";;
		esac;;
	esac
}

# compare DESC IMAGE KERNEL-OPTS B-OPTS: one test line.  The kernel mount
# is the reference; the B mount must be the right type, read-only,
# identical, and gone without a trace once unmounted.
compare() {
	desc=$1 img=$2 kopts=$3 bopts=$4
	kdir=$TEST_TMP/kernel bdir=$TEST_TMP/b-$impl
	problems=$TEST_TMP/problems
	: >"$problems"
	if ! xfs_mount "$img" "$kdir" "$kopts" 2>"$TEST_TMP/mount.err"; then
		not_ok "$desc"
		diag "the kernel cannot mount it (test bug):"
		diag_file "$TEST_TMP/mount.err"
		return
	fi
	mount_b "$img" "$bdir" $bopts >"$TEST_TMP/mount.err" 2>&1
	rc=$?
	if [ $rc -eq 77 ]; then
		unmount "$kdir"
		skip "$desc" "$impl cannot mount with $bopts"
		return
	elif [ $rc -ne 0 ]; then
		echo "$impl mount failed (exit $rc):" >>"$problems"
		sed 's/^/  /' "$TEST_TMP/mount.err" >>"$problems"
	else
		type=$(fs_type "$bdir")
		if [ "$impl" = imgfs ] && [ "$type" != fuse.imgfs ]; then
			echo "mountinfo type is '$type', not fuse.imgfs" >>"$problems"
		fi
		case ",$(findmnt -n -o OPTIONS --mountpoint "$bdir" | tail -n 1)," in
		*,ro,*) ;;
		*) echo "not mounted read-only: $(findmnt -n -o OPTIONS --mountpoint "$bdir")" >>"$problems";;
		esac
		bounded 600 "$TREECMP" $cmp_opts "$kdir" "$bdir" >"$TEST_TMP/treecmp.out" 2>&1
		rc=$?
		if [ $rc -ne 0 ]; then
			echo "treecmp kernel vs $impl: exit $rc" >>"$problems"
			cat "$TEST_TMP/treecmp.out" >>"$problems"
		else
			diag "$desc: $(tail -n 1 "$TEST_TMP/treecmp.out")"
		fi
		if [ "$impl" = imgfs ]; then
			imgfs_unmount "$bdir" >"$TEST_TMP/umount.err" 2>&1 ||
				{ echo "imgfs-mount -u failed:"; cat "$TEST_TMP/umount.err"; } >>"$problems"
			[ -z "$(mounts_under "$bdir")" ] ||
				echo "still mounted after imgfs-mount -u" >>"$problems"
		fi
		if [ -n "$(mounts_under "$bdir")" ] && ! unmount "$bdir"; then
			echo "cannot unmount the $impl mount" >>"$problems"
		fi
	fi
	unmount "$kdir" || echo "cannot unmount the kernel mount" >>"$problems"
	# A loop device goes once its last user has closed it; on a busy
	# machine that has been seen to take more than the 5 s
	# settled_leftovers allows.  Up to 30 s for those, then the check.
	i=0
	while [ -n "$(our_loops)" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	settled_leftovers >>"$problems"
	if [ -s "$problems" ]; then
		not_ok "$desc"
		diag_file "$problems" 70
		cleanup_mounts
	else
		ok "$desc"
	fi
}

for img in "$corpus"/*.img; do
	[ -e "$img" ] || bail_out "no images in $corpus"
	name=$(basename "$img")
	if [ ! -e "$img.parts" ]; then
		compare "$name: $impl equals the kernel" "$img" "" ""
		continue
	fi
	while read -r num off size; do
		compare "$name: partition=$num equals the kernel at offset $off" \
			"$img" "offset=$off,sizelimit=$size" "partition=$num"
		compare "$name: offset=$off equals the kernel" \
			"$img" "offset=$off,sizelimit=$size" "offset=$off"
	done <"$img.parts"
done

assert_clean "nothing left behind (mounts, servers, loop devices)"
done_testing
