# SPDX-License-Identifier: GPL-2.0-or-later
# tests/ext4-compare.sh: every image of the ext4 corpus, mounted by imgfs,
# must show exactly the tree the kernel's own ext4 driver shows.
#
# For each image: a read-only loop mount with the kernel (the ground
# truth), a read-only imgfs mount, treecmp over both (names, types, modes,
# owners, sizes, link counts and hard-link identity, mtime/ctime/atime to
# the nanosecond, st_blocks, inode numbers, symlink targets, xattrs and ACLs, device
# numbers, file contents), then both unmounted and nothing may be left
# (no mount, no server, no loop device).  The partitioned disk images are
# compared with partition=N and with offset=BYTES against the kernel's
# loop mount at the offset sfdisk reports.
#
# Before trusting any of that, treecmp must prove it can fail: two trees
# that differ in every field must be reported as different, field by field.
#
# Environment:
#   IMGFS_TEST_FS=imgfs|fuse2fs|kernel  what to compare with the kernel
#       (default imgfs; the others check the test itself: the kernel against
#       itself must be identical, fuse2fs shows real differences)
#   IMGFS_CORPUS_EXT4=DIR   use the images in DIR instead of generating them
#   TREECMP_OPTS            extra treecmp options (e.g. --ignore=blocks)

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/compare-lib.sh"

need_root
need_loop
need_cmd mke2fs debugfs e2fsck sfdisk setfacl setfattr perl findmnt timeout
need_prog "$TREECMP"
need_impl

# atime too: both mounts are read-only, so nothing updates it.  Inode
# numbers too: imgfs serves the filesystem's own (DESIGN.md).
cmp_opts="--atime --blocks --ino ${TREECMP_OPTS:-}"

# ---- treecmp must be able to fail ----

# Two trees that differ in one field per entry, plus one identical entry.
a=$TEST_TMP/self/a b=$TEST_TMP/self/b
mkdir -p "$a" "$b"
for t in "$a" "$b"; do
	mkdir "$t/dir" "$t/hl"
	printf 'same\n' >"$t/same"
	printf 'content one\n' >"$t/content"
	: >"$t/mode" && chmod 644 "$t/mode"
	: >"$t/owner"
	: >"$t/mtime"
	: >"$t/xattr" && setfattr -n user.k -v value "$t/xattr"
	: >"$t/xattr-missing"
	ln -s target "$t/symlink"
	mknod "$t/rdev" c 1 3
	: >"$t/only-in-a"
	mkfifo "$t/type"
	: >"$t/hl/x" && : >"$t/hl/y"
	printf 'abc' >"$t/size"
done
printf 'content two\n' >"$b/content"
chmod 600 "$b/mode"
chown 70000 "$b/owner"
# Same mtimes everywhere but where the difference is meant.
find "$a" "$b" -exec touch -h -d @1000000000 {} +
touch -d '2001-01-01 00:00:00.5' "$a/mtime"
touch -d '2001-01-01 00:00:00.25' "$b/mtime"
setfattr -n user.k -v other "$b/xattr"
setfattr -n user.extra -v 1 "$b/xattr-missing"
rm "$b/symlink" && ln -s elsewhere "$b/symlink"
rm "$b/rdev" && mknod "$b/rdev" c 1 5
rm "$b/only-in-a"
rm "$b/type" && : >"$b/type"
rm "$b/hl/y" && ln "$b/hl/x" "$b/hl/y"
printf 'abcd' >"$b/size"
"$TREECMP" --ignore=ctime "$a" "$b" >"$TEST_TMP/self.out" 2>&1
rc=$?
missing=
for want in "/content: content:" "/mode: mode:" "/owner: uid:" "/mtime: mtime:" \
	"/xattr: xattr:" "/xattr-missing: xattr: user.extra: missing vs present" \
	"/symlink: target:" "/rdev: rdev:" "/only-in-a: presence: present vs missing" \
	"/type: type: fifo vs regular file" "/hl/y: hardlink:" "/size: size:" "/hl/x: nlink:"; do
	grep -qF "$want" "$TEST_TMP/self.out" || missing="$missing '$want'"
done
if [ $rc -eq 1 ] && [ -z "$missing" ] && ! grep -q '^/same:' "$TEST_TMP/self.out"; then
	ok "treecmp reports each kind of difference (exit 1)"
else
	not_ok "treecmp reports each kind of difference (exit 1)"
	diag "exit $rc; expected lines not found:$missing"
	diag_file "$TEST_TMP/self.out"
fi
check "treecmp finds a tree identical to itself (exit 0)" "$TREECMP" $cmp_opts "$a" "$a"
"$TREECMP" "$a" "$TEST_TMP/no-such-dir" >/dev/null 2>&1
rc=$?
if [ $rc -eq 2 ]; then ok "treecmp exits 2 on a missing tree"; else not_ok "treecmp exits 2 on a missing tree (got $rc)"; fi

# ---- the corpus ----

get_corpus "${IMGFS_CORPUS_EXT4:-}" "$MKCORPUS_EXT4"

# mount_b IMAGE DIR [partition=N|offset=BYTES]: fuse2fs, which knows no
# partition= (77).
mount_b() {
	case ${3:-} in partition=*) return 77;; esac
	fuse2fs_mount "$@"
}

# The kernel's mount, for compare-lib.sh.
ref_mount() {
	kernel_mount "$@"
}

compare_corpus "$corpus"

assert_clean "nothing left behind (mounts, servers, loop devices)"
done_testing
