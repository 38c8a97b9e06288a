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
. "$top_srcdir/tests/compare-lib.sh"

need_root
need_loop
need_cmd mkfs.xfs xfs_db xfs_repair xfs_admin setfacl setfattr perl findmnt timeout \
	fallocate sfdisk mke2fs
need_prog "$TREECMP"
case ${IMGFS_TEST_FS:-imgfs} in
fuse2fs) skip_all "fuse2fs does not read XFS";;
esac
need_impl
need_kernel_fs xfs "the ground truth"

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

get_corpus "${IMGFS_CORPUS_XFS:-}" "$MKCORPUS_XFS"

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

# The kernel's mount, for compare-lib.sh; a loop device is seen to take
# more than settled_leftovers' 5 s to go on a busy machine: up to 30 s.
ref_mount() {
	xfs_mount "$@"
}
REF_LOOP_GRACE=300

compare_corpus "$corpus"

assert_clean "nothing left behind (mounts, servers, loop devices)"
done_testing
