#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/rootless-xfs.sh: an unprivileged user mounts XFS images of the
# corpus (tests/mkcorpus-xfs.sh) with `imgfs-mount --unshare`, the type
# probed and given (type=xfs), and the tree it sees must be the one the
# kernel's XFS driver shows to that same process.
#
# The truth: root loop-mounts the image read-only with the kernel (K),
# then makes an id-mapped bind mount of it (K2) with the mapping
# --unshare gives the user's namespace: only the user's own uid and gid,
# as 0.  The command --unshare runs (as that namespace's root) then sees
# on K2 what it sees on the imgfs mount if imgfs is right: root-owned
# files as 0, every other owner as the overflow id.  It runs treecmp K2
# MOUNT (every field, to the nanosecond, contents, inode numbers, blocks)
# and compares the user.* xattrs of both trees with getfattr.  Other
# xattrs are left out: to a namespace's root the kernel lists no
# trusted.* names (FUSE passes on the server's list), and it refuses
# POSIX ACLs naming ids the namespace does not map on FUSE (EINVAL),
# while XFS on an id-mapped mount returns them (xfs-compare.sh compares
# all of them, as real root).  The mount must never be seen outside, and
# nothing may be left once --unshare has returned.  The same setup with
# a different image under K2 must report differences.

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/compare-lib.sh"
. "$top_srcdir/tests/corpus-lib.sh"
. "$top_srcdir/tests/idmap-lib.sh"

need_root
need_loop
need_fuse
need_cmd mkfs.xfs xfs_db xfs_repair xfs_admin setfacl setfattr getfattr perl fallocate sfdisk \
	mke2fs findmnt timeout unshare setpriv
need_prog "$TREECMP" "$IMGFS_MOUNT" "$IMGFS_SERVER"
need_kernel_fs xfs "the ground truth"
case $(uname -m) in
mips*|alpha) skip_all "the id-mapped bind mount helper knows no syscall numbers for $(uname -m)";;
esac

USER_ID=65534
cmp_opts="--atime --blocks --ino --ignore=xattr --max-diffs=0"
as_user() {
	setpriv --reuid=$USER_ID --regid=$USER_ID --clear-groups -- "$@"
}

# Distributions ship /dev/fuse 0666; this machine may not.
[ "$(stat -c %a /dev/fuse)" = 666 ] || chmod 0666 /dev/fuse
as_user unshare -Urm true 2>/dev/null || skip_all "unprivileged user namespaces are disabled"
chmod 0755 "$TEST_TMP"
as_user sh -c 'test -x "$1" && test -x "$2"' sh "$IMGFS_MOUNT" "$TREECMP" ||
	skip_all "uid $USER_ID cannot reach the build tree (build elsewhere)"

# ---- the corpus, as xfs-compare.sh makes it ----

get_corpus "${IMGFS_CORPUS_XFS:-}" "$MKCORPUS_XFS"

start_holder "0 $USER_ID 1"

# What --unshare runs, as the namespace's root: look at the mount, compare
# it with the kernel's (REF), write the results to OUT.
cat >"$TEST_TMP/inside.sh" <<'SCRIPT'
mnt=$1 ref=$2 out=$3 treecmp=$4
shift 4
awk -v m="$mnt" '$5 == m { for (i = 7; $i != "-"; i++) ; print $(i + 1), $6 }' \
	/proc/self/mountinfo >"$out/mountinfo"
"$treecmp" "$@" "$ref" "$mnt" >"$out/treecmp.out" 2>&1
echo $? >"$out/treecmp.rc"
# user.* xattrs, one "FILE<TAB>NAME=VALUE" line each, sorted (listing
# order is the filesystem's business).
for side in ref mnt; do
	eval "dir=\$$side"
	(cd "$dir" && getfattr -R -h -d -e hex -m '^user\.' . 2>&1) |
		awk '/^# file: / { f = substr($0, 9); next } NF { print f "\t" $0 }' |
		sort >"$out/xattrs.$side"
done
# The kernel's side, as the namespace sees it: root's, and another owner's.
for f in . owner/big; do
	[ ! -e "$ref/$f" ] || echo "$f $(stat -c %u:%g "$ref/$f")"
done >"$out/owners"
SCRIPT

# unshare_compare DESC IMAGE KERNEL-OPTS IMGFS-OPTS [KERNEL-TYPE different]:
# one test line.  The kernel mounts IMAGE with KERNEL-OPTS (offset=,
# sizelimit=) as KERNEL-TYPE (default xfs); the user mounts it with
# --unshare -o IMGFS-OPTS.  With "different", treecmp must find
# differences.
unshare_compare() {
	desc=$1 img=$2 kopts=$3 mopts=$4 reftype=${5:-xfs} expect=${6:-same}
	kdir=$TEST_TMP/kernel k2=$TEST_TMP/idmapped mnt=$TEST_TMP/mnt out=$TEST_TMP/out
	problems=$TEST_TMP/problems
	: >"$problems"
	rm -rf "$out" && mkdir -p "$out" "$mnt" "$kdir" && chown $USER_ID:$USER_ID "$out"
	case $reftype in
	xfs) kopts=norecovery,nouuid${kopts:+,$kopts};;
	*) kopts=noload${kopts:+,$kopts};;
	esac
	if ! mount -t "$reftype" -o "ro,loop,$kopts" "$img" "$kdir" 2>"$TEST_TMP/mount.err" ||
		! track_loop "$kdir"; then
		not_ok "$desc"
		diag "the kernel cannot mount it (test bug):"
		diag_file "$TEST_TMP/mount.err"
		cleanup_mounts
		return
	fi
	if ! idmap_bind "/proc/$holder/ns/user" "$kdir" "$k2" 2>"$TEST_TMP/mount.err"; then
		skip "$desc" "no id-mapped mounts of $reftype here: $(head -n 1 "$TEST_TMP/mount.err")"
		cleanup_mounts
		return
	fi
	track_image "$img"
	bounded 300 setpriv --reuid=$USER_ID --regid=$USER_ID --clear-groups -- \
		"$IMGFS_MOUNT" -v --unshare ${mopts:+-o "$mopts"} "$img" "$mnt" -- \
		sh "$TEST_TMP/inside.sh" "$mnt" "$k2" "$out" "$TREECMP" $cmp_opts \
		>"$TEST_TMP/unshare.out" 2>&1
	rc=$?
	[ -z "$(mounts_under "$mnt")" ] || echo "the mount is seen outside the namespace" >>"$problems"
	unmount "$k2" || echo "cannot unmount the id-mapped mount" >>"$problems"
	unmount "$kdir" || echo "cannot unmount the kernel mount" >>"$problems"
	if [ $rc -ne 0 ] || [ ! -e "$out/treecmp.rc" ]; then
		echo "imgfs-mount --unshare: exit $rc:" >>"$problems"
		sed 's/^/  /' "$TEST_TMP/unshare.out" >>"$problems"
	elif [ "$expect" = same ]; then
		grep -q ': xfs filesystem, ' "$TEST_TMP/unshare.out" ||
			{ echo "imgfs-mount -v does not say it found XFS:"; cat "$TEST_TMP/unshare.out"; } >>"$problems"
		case $(cat "$out/mountinfo") in
		"fuse.imgfs ro,"*) ;;
		*) echo "inside, not a read-only fuse.imgfs mount: $(cat "$out/mountinfo")" >>"$problems";;
		esac
		[ "$(cat "$out/treecmp.rc")" = 0 ] ||
			{ echo "treecmp kernel (id-mapped) vs imgfs --unshare: exit $(cat "$out/treecmp.rc")"
			  cat "$out/treecmp.out"; } >>"$problems"
		# The id-mapping is the one --unshare makes: root's files are
		# the namespace's root's, others' the overflow id's.
		case $(xargs <"$out/owners") in
		". 0:0"|". 0:0 owner/big 65534:65534") ;;
		*) echo "the kernel's id-mapped view is not the namespace's: $(xargs <"$out/owners")" >>"$problems";;
		esac
		[ -s "$out/xattrs.ref" ] && cmp -s "$out/xattrs.ref" "$out/xattrs.mnt" ||
			{ echo "user.* xattrs, kernel (-) vs imgfs (+):"
			  diff "$out/xattrs.ref" "$out/xattrs.mnt" | head -n 20; } >>"$problems"
		diag "$desc: $(tail -n 1 "$out/treecmp.out"), $(wc -l <"$out/xattrs.ref") user.* xattrs"
	elif [ "$(cat "$out/treecmp.rc")" != 1 ]; then
		echo "treecmp exit $(cat "$out/treecmp.rc"), expected 1 (different):" >>"$problems"
		cat "$out/treecmp.out" >>"$problems"
	fi
	verdict "$desc" our_leftovers
}

# ---- the probed type, and type=xfs ----

unshare_compare "xfs-1k.img: --unshare, type probed: the kernel's tree" \
	"$corpus/xfs-1k.img" "" ""
disk=$corpus/gpt-xfs.img
read -r num off size <"$disk.parts" || bail_out "no partition list for $disk"
unshare_compare "gpt-xfs.img: --unshare -o partition=$num, type probed: the kernel's tree at offset $off" \
	"$disk" "offset=$off,sizelimit=$size" "partition=$num"
unshare_compare "gpt-xfs.img: --unshare -o partition=$num,type=xfs: the kernel's tree at offset $off" \
	"$disk" "offset=$off,sizelimit=$size" "partition=$num,type=xfs"

# ---- the comparison can fail ----

# Partition 1 of the same disk is an ext4 decoy, with a tree of the same
# shape but other contents.
set -- $(part_range "$disk" 1)
if [ $# -eq 2 ]; then
	unshare_compare "the same setup reports the decoy partition's tree as different" \
		"$disk" "offset=$(($1 * 512)),sizelimit=$(($2 * 512))" "partition=$num,type=xfs" \
		ext4 different
else
	not_ok "the same setup reports the decoy partition's tree as different"
	diag "no partition 1 in $disk"
fi

stop_holder
assert_clean "nothing left behind (mounts, servers, loop devices, processes)"
done_testing
