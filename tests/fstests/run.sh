#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/fstests/run.sh [CHECK-ARGS...]: fstests against imgfs -o rw
# (`make fstests`; FSTESTS_ARGS=... passes CHECK-ARGS).
#
# Unpacks the fstests snapshot in ../shared/third_party into the build
# tree and builds it there once (tests/fstests-build/), makes a TEST_DEV
# and a SCRATCH_DEV image (mkfs.ext4, 4 GiB each, sparse), and runs its
# ./check with FSTYP=fuse as its README.fuse describes: `mount -t
# fuse.imgfs` finds tests/fstests/mount.fuse.imgfs, laid over /usr/sbin
# (where mount(8) looks for helpers) in a mount namespace of the run's
# own, so nothing on the host changes.  Default CHECK-ARGS: -g generic/auto
# (the tests of tests/generic in fstests' auto group).
# Tests in tests/fstests-expunge (one a line, with the reason after #)
# are left out.  With FSTYP=fuse fstests does not mkfs or fsck the
# images itself: e2fsck -fn checks both once the run is over.
#
# Output: TAP, one line for the run (its pass, fail and not-run counts,
# every failure named) and one per image for e2fsck; fstests' own
# results and logs in tests/fstests-results/DRIVER/.
#
# Environment:
#   RW_DRIVER=imgfs|fuse2fs   the driver (tests/rw-lib.sh); with fuse2fs,
#       tests/fstests-expunge.fuse2fs is the expunge list
#   FSTESTS_EXPUNGE=FILE      another expunge list
#   FSTESTS_TIMEOUT=SECONDS   for the whole run (default 43200)
#   FSTESTS_RESULTS=DIR       fstests' results (default
#       tests/fstests-results/DRIVER; emptied first)

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/rw-lib.sh"

need_root
need_cmd bash make cc autoconf libtoolize unshare mkfs.ext4 e2fsck xfs_io
[ "$RW_DRIVER" != kernel ] || skip_all "fstests here runs FUSE drivers (RW_DRIVER=imgfs or fuse2fs)"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems ||
	skip_all "no overlay filesystem: mount(8) could not find mount.fuse.$RW_DRIVER"
rw_need_driver

tarball=$(fstests_tarball)
[ -n "$tarball" ] && [ -f "$tarball" ] ||
	skip_all "no fstests snapshot (set IMGFS_FSTESTS_TARBALL)"

# ---- build, once per build tree and snapshot ----
build=$top_builddir/tests/fstests-build
mkdir -p "$build" || bail_out "cannot create $build"
exec 7>"$build.lock"
bounded 3600 flock 7 || bail_out "cannot lock $build.lock"
stamp=$build/.built-$(basename "$tarball" .tar.gz)
if [ ! -e "$stamp" ]; then
	rm -rf "$build"/* "$build"/.built-*
	t0=$(date +%s)
	if tar -C "$build" -xzf "$tarball" &&
		(cd "$build"/*/ && bounded 3600 make -j"$(nproc)") >"$build/build.log" 2>&1; then
		touch "$stamp"
		diag "fstests built in $(($(date +%s) - t0)) s"
	else
		exec 7>&-
		diag_file "$build/build.log" 40
		bail_out "fstests does not build (log in $build/build.log)"
	fi
fi
exec 7>&-
fst=$(ls -d "$build"/*/ | head -n 1)
fst=${fst%/}

# ---- images, mount points, the helper, the config ----
case $RW_DRIVER in
imgfs) sub=imgfs expunge=$top_srcdir/tests/fstests-expunge;;
fuse2fs) sub=fuse2fs expunge=$top_srcdir/tests/fstests-expunge.fuse2fs;;
esac
expunge=${FSTESTS_EXPUNGE:-$expunge}
results=${FSTESTS_RESULTS:-$top_builddir/tests/fstests-results/$RW_DRIVER}
rm -rf "$results" && mkdir -p "$results" || bail_out "cannot create $results"
# fstests runs some commands as other users (fsgqa, or an id-mapped root
# in a user namespace): they must reach TEST_DIR and SCRATCH_MNT.
chmod 755 "$TEST_TMP" || bail_out "cannot let other users into $TEST_TMP"
for d in test scratch; do
	mkdir -p "$TEST_TMP/$d"
	mkfs.ext4 -q -F -L "fstests-$d" "$TEST_TMP/$d.img" 4G >/dev/null ||
		bail_out "mkfs.ext4 failed"
	track_image "$TEST_TMP/$d.img"
done
mkdir -p "$TEST_TMP/sbin" "$TEST_TMP/bin"
cp "$top_srcdir/tests/fstests/mount.fuse.imgfs" "$TEST_TMP/sbin/mount.fuse.$sub"
chmod 755 "$TEST_TMP/sbin/mount.fuse.$sub"
# fstests checks that TEST_DEV is mounted as type $FSTYP, "fuse", in
# df -T; imgfs mounts are fuse.imgfs (fuse2fs's fuse.ext4).  A df that
# says fuse for the run's two images, and passes everything else on.
cat >"$TEST_TMP/bin/df" <<EOF
#!/bin/sh
$(command -v df) "\$@" | awk -v t="$TEST_TMP/test.img" -v s="$TEST_TMP/scratch.img" \\
	'(\$1 == t || \$1 == s) && \$2 ~ /^fuse\\./ { sub(/ fuse\\.[^ ]* /, " fuse ") } { print }'
EOF
chmod 755 "$TEST_TMP/bin/df"
cat >"$TEST_TMP/local.config" <<EOF
export FSTYP=fuse
export FUSE_SUBTYP=.$sub
export TEST_DEV=$TEST_TMP/test.img
export TEST_DIR=$TEST_TMP/test
export SCRATCH_DEV=$TEST_TMP/scratch.img
export SCRATCH_MNT=$TEST_TMP/scratch
export RESULT_BASE=$results
export TEST_FS_MOUNT_OPTS=
export MOUNT_OPTIONS=
EOF
[ $# -gt 0 ] || set -- -g generic/auto

# ---- the run ----
t0=$(date +%s)
# A PID namespace too: when the time is up, or the run is interrupted,
# every process of the run ends with it (--kill-child), fstests' own
# and the FUSE servers alike, and with them the namespace's mounts.
# Its own /proc (--mount-proc): the helper writes the sandbox's id maps
# under /proc/PID, and PIDs are the namespace's.
# Its own /tmp: fstests names its scratch files /tmp/$$.*, and with PIDs
# of a namespace of its own every concurrent run has the same ones (one
# run's generic/003 then reported another's output).  The run's images
# stay where they are, the run's directory bound at the same path.
IMGFS_MOUNT_BIN=$IMGFS_MOUNT bounded "${FSTESTS_TIMEOUT:-43200}" \
	unshare -m -p --fork --kill-child --mount-proc --propagation private sh -c '
	mount -t overlay imgfs-fstests -o "lowerdir=$1:/usr/sbin" /usr/sbin || exit 90
	dir=$2 bin=$3 config=$4 expunge=$5 tdir=$6 sdir=$7 tt=$8
	shift 8
	mkdir -p "$tt/tmp" && chmod 1777 "$tt/tmp" || exit 93
	case $tt in
	/tmp/*) mkdir -p "$tt/tmp/${tt#/tmp/}" &&
		mount --bind "$tt" "$tt/tmp/${tt#/tmp/}" || exit 93;;
	esac
	mount --rbind "$tt/tmp" /tmp || exit 93
	cd "$dir" || exit 91
	PATH=$bin:$PATH HOST_OPTIONS=$config ./check -E "$expunge" "$@"
	r=$?
	for m in "$tdir" "$sdir"; do
		if mountpoint -q "$m"; then umount "$m" || r=92; fi
	done
	exit $r' sh "$TEST_TMP/sbin" "$fst" "$TEST_TMP/bin" "$TEST_TMP/local.config" \
	"$expunge" "$TEST_TMP/test" "$TEST_TMP/scratch" "$TEST_TMP" "$@" 2>&1 | tee "$results/check.log" | sed -u 's/^/# /'
t1=$(date +%s)
# A FUSE server writes the last of its image as it exits.
i=0
while [ -n "$(our_servers)" ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done

# ---- the verdict ----
# check's last lines: "Ran: a b c", "Not run: d", "Failures: e f",
# "Failed N of M tests" or "Passed all M tests".
ran=$(sed -n 's/^Ran: //p' "$results/check.log" | tail -n 1 | wc -w)
notrun=$(sed -n 's/^Not run: //p' "$results/check.log" | tail -n 1 | wc -w)
failures=$(sed -n 's/^Failures: //p' "$results/check.log" | tail -n 1)
nfail=$(echo "$failures" | wc -w)
nexp=0
[ ! -f "$expunge" ] || nexp=$(sed 's/#.*//' "$expunge" | grep -c '[^[:space:]]')
summary="$ran run, $((ran - notrun - nfail)) passed, $nfail failed, $notrun not run, $nexp expunged ($((t1 - t0)) s)"
echo "$summary" >"$results/summary"
[ -z "$failures" ] || echo "failures: $failures" >>"$results/summary"
if [ "$ran" -gt 0 ] && [ "$nfail" -eq 0 ] && ! grep -q '^Bail out\|could not mount' "$results/check.log"; then
	ok "fstests $*: $summary"
else
	not_ok "fstests $*: $summary"
	[ -z "$failures" ] || diag "failed: $failures"
	diag "results in $results"
	grep -m 5 'could not mount\|not mounted\|mount:' "$results/check.log" | sed 's/^/# /'
fi
for d in test scratch; do
	if e2fsck -fn "$TEST_TMP/$d.img" >"$results/fsck-$d.out" 2>&1; then
		ok "e2fsck -fn finds the $d image clean after the run"
	else
		not_ok "e2fsck -fn finds the $d image clean after the run"
		diag_file "$results/fsck-$d.out" 30
	fi
done
assert_clean "nothing left behind (mounts, servers)"
done_testing
