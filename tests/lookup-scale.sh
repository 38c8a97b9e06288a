# SPDX-License-Identifier: GPL-2.0-or-later
# tests/lookup-scale.sh: a directory of 100,000 entries (hashed), served
# by imgfs, must list and look up like the kernel's: cold lookups of
# random names and of missing ones, a complete `ls -l` within a generous
# bound (120 s: speed itself is the benchmarks' business; this catches
# quadratic behaviour and hangs) whose output equals the kernel's byte for
# byte, and treecmp over the whole tree.
#
# The image is made by the kernel itself through a read-write loop mount
# (mke2fs -d inserts names linearly, which takes minutes for 100k), so
# the directory is an htree as the kernel builds it.
#
# Environment: IMGFS_TEST_FS=imgfs|fuse2fs|kernel as in ext4-compare.sh.

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

N=100000
need_root
need_loop
need_cmd mke2fs debugfs e2fsck findmnt timeout
need_prog "$TREECMP"
need_impl

mount_b() {
	case $impl in
	imgfs) imgfs_mount "$@";;
	fuse2fs) fuse2fs_mount "$@";;
	kernel) kernel_mount "$@";;
	esac
}

# ---- the image ----

img=$TEST_TMP/big-dir.img
rw=$TEST_TMP/rw
build() {
	truncate -s 512M "$img" &&
		mke2fs -q -F -t ext4 -N $((N + 10000)) -L big-dir "$img" &&
		mkdir -p "$rw" &&
		private_mounts sh -c '
			mount -t ext4 -o loop,noatime "$1" "$2" &&
			mkdir "$2/big" &&
			(cd "$2/big" && seq -f "entry-%06g" 1 "$3" | xargs touch) &&
			printf "not in big\n" >"$2/outside" &&
			umount "$2"' sh "$img" "$rw" "$N" &&
		e2fsck -fn "$img" &&
		debugfs -R "htree /big" "$img" 2>/dev/null | grep -q "Root node dump"
}
check "image with a $N-entry hashed directory built" build || bail_out "no image"

kdir=$TEST_TMP/kernel bdir=$TEST_TMP/b-$impl
kernel_mount "$img" "$kdir" || bail_out "the kernel cannot mount the image"
if ! mount_b "$img" "$bdir" >"$TEST_TMP/mount.err" 2>&1; then
	diag_file "$TEST_TMP/mount.err"
	bail_out "$impl cannot mount the image"
fi

# ---- cold lookups first, before anything is cached ----

# Twenty names spread over the directory, the first and the last, and
# names that are not there (near misses included).
names=$(awk -v n=$N 'BEGIN { srand(42); for (i = 0; i < 20; i++) printf "entry-%06d\n", 1 + int(rand() * n) }')
names="$names entry-000001 entry-$(printf %06d $N)"
attrs='%n %i %F %s %b %f %u %g %h %X.%x %Y.%y %Z.%z'
: >"$TEST_TMP/lookups.bad"
for n in $names; do
	k=$(cd "$kdir/big" && stat -c "$attrs" "$n" 2>&1)
	b=$(cd "$bdir/big" && bounded 30 stat -c "$attrs" "$n" 2>&1)
	[ "$k" = "$b" ] || printf 'kernel: %s\n%s: %s\n' "$k" "$impl" "$b" >>"$TEST_TMP/lookups.bad"
done
if [ ! -s "$TEST_TMP/lookups.bad" ]; then
	ok "lookups of $(echo $names | wc -w) random names equal the kernel's"
else
	not_ok "lookups of random names equal the kernel's"
	diag_file "$TEST_TMP/lookups.bad" 10
fi

bad=
for n in entry-000000 "entry-$(printf %06d $((N + 1)))" entry-0500 entry-050000x no-such-name; do
	if [ -e "$bdir/big/$n" ] || [ -e "$kdir/big/$n" ]; then
		bad="$bad $n"
	fi
done
if [ -z "$bad" ]; then ok "missing names are missing"; else not_ok "missing names are missing:$bad"; fi

# ---- ls -l ----

ls -l "$kdir/big" >"$TEST_TMP/ls.kernel" 2>&1
start=$(date +%s)
bounded 120 ls -l "$bdir/big" >"$TEST_TMP/ls.b" 2>"$TEST_TMP/ls.err"
rc=$?
secs=$(($(date +%s) - start))
if [ $rc -eq 0 ]; then
	ok "ls -l of $N entries completes within 120 s ($secs s)"
else
	not_ok "ls -l of $N entries completes within 120 s (exit $rc after $secs s)"
	diag_file "$TEST_TMP/ls.err"
fi
if cmp -s "$TEST_TMP/ls.kernel" "$TEST_TMP/ls.b"; then
	ok "ls -l output equals the kernel's ($(wc -l <"$TEST_TMP/ls.b") lines)"
else
	not_ok "ls -l output equals the kernel's"
	diag "kernel: $(wc -l <"$TEST_TMP/ls.kernel") lines, $impl: $(wc -l <"$TEST_TMP/ls.b") lines"
	diff "$TEST_TMP/ls.kernel" "$TEST_TMP/ls.b" >"$TEST_TMP/ls.diff"
	diag_file "$TEST_TMP/ls.diff" 40
fi

# ---- the whole tree ----

bounded 300 "$TREECMP" --atime --blocks --ino ${TREECMP_OPTS:-} "$kdir" "$bdir" \
	>"$TEST_TMP/treecmp.out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	ok "treecmp kernel vs $impl: $(tail -n 1 "$TEST_TMP/treecmp.out")"
else
	not_ok "treecmp kernel vs $impl (exit $rc$([ $rc -ne 124 ] || echo ': timed out after 300 s'))"
	diag_file "$TEST_TMP/treecmp.out"
fi

unmount "$bdir"
unmount "$kdir"
assert_clean "nothing left behind (mounts, servers, loop devices)"
done_testing
