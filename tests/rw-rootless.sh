#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/rw-rootless.sh: `imgfs-mount --unshare -o rw` as an unprivileged
# user, against the kernel.
#
# The user (uid 65534, owning the image file) runs a small workload under
# `imgfs-mount --unshare -o rw IMAGE DIR -- sh workload DIR`: files with
# contents, a directory tree, fast and slow symlinks, a hard link, chmod,
# truncate down and up (a hole), user.* xattrs, a rename, an unlink, an
# rmdir, set times.  When imgfs-mount returns, its server must be gone and
# the image complete: as root, `e2fsck -fn` finds it clean and the
# kernel's ext4 (a read-only loop mount) reads it.
#
# The truth is the kernel's ext4 running the same workload in the same
# situation, on a second copy of the empty image: root loop-mounts it
# read-write (in a private mount namespace) and makes an id-mapped bind
# mount of it with the map --unshare gives the user (0 -> 65534, one id),
# and the same user, as root of its own `unshare -Ur` namespace, runs the
# workload there.  treecmp then compares what the kernel reads back from
# the two images (contents, types, modes, owners, sizes, link counts,
# hard-link identity, xattrs, symlink targets; the times the workload
# set, and --now for those the clock set).
#
# Owners: files the user creates land on disk as uid/gid 0, not as the
# user's host uid 65534.  The FUSE mount belongs to the user namespace
# --unshare makes, so the kernel hands the server the caller's ids as that
# namespace sees them (its root: 0), and that is what is stored; ext4
# under an id-mapped mount with the same map stores exactly the same (host
# uid 65534 maps back to on-disk 0).  The image's ids are the namespace's
# ids, as for a read-only mount (rootless.sh: on-disk root shows as the
# namespace's root).  The test asserts 0:0 as the kernel's stat shows it,
# on both images, and 0:0 as the user sees it inside.
#
# Then exclusive use: a second `--unshare -o rw` of the image while the
# first still runs is refused with one line, and the first is unharmed.
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/idmap-lib.sh"

need_root
need_fuse
need_loop
need_cmd mkfs.ext4 e2fsck setpriv unshare setfattr getfattr perl truncate seq stat
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER" "$TREECMP"

USER_ID=65534
as_user() {
	setpriv --reuid=$USER_ID --regid=$USER_ID --clear-groups -- "$@"
}

# Distributions ship /dev/fuse 0666; this machine may not.
[ "$(stat -c %a /dev/fuse)" = 666 ] || chmod 0666 /dev/fuse
as_user unshare -Urm true 2>/dev/null || skip_all "unprivileged user namespaces are disabled"

chmod 0755 "$TEST_TMP"
u=$TEST_TMP/u		# the user's scratch space
mkdir -p "$u/mnt" "$u/mnt2" && chown -R $USER_ID:$USER_ID "$u"
as_user sh -c 'test -w "$1" && test -x "$2"' sh "$u" "$IMGFS_MOUNT" ||
	skip_all "uid $USER_ID cannot reach $TEST_TMP or the build tree (set TMPDIR, or build elsewhere)"

# ---- the workload ----

# workload.sh DIR: what the user runs, under imgfs and under the kernel.
# Deterministic: no clock-dependent names or contents.
cat >"$TEST_TMP/workload.sh" <<'SCRIPT'
set -eu
cd "$1"
printf 'hello, rootless\n' >hello
seq 1 20000 >numbers
mkdir -p dir/sub
printf 'inner\n' >dir/sub/file
seq 1 300 | tr -d '\n' >dir/sub/long-line
ln -s hello link
ln -s "$(printf 'a-symlink-target-too-long-for-the-inode-%s/' 1 2 3)end" dir/slowlink
ln numbers dir/numbers.hard
chmod 0640 hello
chmod 0750 dir
chmod 4755 dir/sub/long-line
truncate -s 5000 numbers
printf 'start' >sparse
truncate -s 300000 sparse
printf 'end' >>sparse
setfattr -n user.color -v blue hello
setfattr -n user.note -v "$(seq 1 100 | tr '\n' ,)" dir
mv dir/sub/file dir/renamed
printf 'going\n' >victim
rm victim
mkdir gone
rmdir gone
touch -d @1500000000 hello dir/renamed
touch -h -d @1600000000 link
# what the user sees of its files: its own (ns) ids
stat -c '%u:%g %n' hello dir link dir/renamed
SCRIPT

# ---- the images ----

mkfs.ext4 -q -F -E root_owner=0:0 "$TEST_TMP/empty.img" 32M >/dev/null ||
	bail_out "mkfs.ext4 cannot make the image"
img=$u/imgfs.img
ref=$TEST_TMP/kernel.img
cp "$TEST_TMP/empty.img" "$img" && cp "$TEST_TMP/empty.img" "$ref" &&
	chown $USER_ID:$USER_ID "$img" && chmod 0600 "$img" || bail_out "cannot copy the image"
track_image "$img"

# ---- imgfs: --unshare -o rw as the user ----

now=$(date +%s)
sleep 1
t0=$(date +%s)
as_user "$IMGFS_MOUNT" --unshare -o rw "$img" "$u/mnt" -- sh "$TEST_TMP/workload.sh" "$u/mnt" \
	>"$TEST_TMP/imgfs.out" 2>"$TEST_TMP/imgfs.err"
rc=$?
t1=$(date +%s)
# At once, not settled: the image must be complete when imgfs-mount returns.
left=$(imgfs_server_pids "$img")
if [ $rc -eq 0 ]; then
	ok "--unshare -o rw: the user's workload runs ($((t1 - t0)) s)"
else
	not_ok "--unshare -o rw: the user's workload runs (exit $rc)"
	diag_file "$TEST_TMP/imgfs.err"
fi
if [ "$left" = "- -" ]; then
	ok "--unshare -o rw: when imgfs-mount returns, its server has exited"
else
	not_ok "--unshare -o rw: when imgfs-mount returns, its server has exited"
	diag "still running (supervisor server): $left"
fi
[ -z "$(mounts_under "$TEST_TMP")" ] && ok "--unshare -o rw: the mount never appears outside" ||
	not_ok "--unshare -o rw: the mount never appears outside"
want_inside="0:0 hello
0:0 dir
0:0 link
0:0 dir/renamed"
if [ "$(cat "$TEST_TMP/imgfs.out")" = "$want_inside" ]; then
	ok "inside, the user's new files are owned by the namespace's root (0:0)"
else
	not_ok "inside, the user's new files are owned by the namespace's root (0:0)"
	diag_file "$TEST_TMP/imgfs.out"
fi
assert_clean "--unshare -o rw: no server or mount left"

# ---- the kernel: the same workload, the same user, an id-mapped mount ----

# kernel.sh: in a private mount namespace (tests/private-ns.sh), as root.
cat >"$TEST_TMP/kernel.sh" <<'SCRIPT'
img=$1 k=$2 k2=$3 ns=$4 idmap=$5 workload=$6 uid=$7 out=$8
mkdir -p "$k" "$k2"
mount -t ext4 -o loop "$img" "$k" || exit 10
perl "$idmap" "$ns" "$k" "$k2" || { umount "$k"; exit 11; }
setpriv --reuid="$uid" --regid="$uid" --clear-groups -- unshare -Ur sh "$workload" "$k2" \
	>"$out.out" 2>"$out.err"
rc=$?
umount "$k2" && umount "$k" || exit 12
exit $rc
SCRIPT
start_holder "0 $USER_ID 1"
kernel_ok=
if [ "$(tr -s ' ' <"/proc/$holder/uid_map" | sed 's/^ //')" != "0 $USER_ID 1" ]; then
	why="cannot make a user namespace with the map 0 $USER_ID 1"
else
	t2=$(date +%s)
	private_mounts sh "$TEST_TMP/kernel.sh" "$ref" "$TEST_TMP/k" "$TEST_TMP/k2" \
		"/proc/$holder/ns/user" "$TEST_TMP/idmap.pl" "$TEST_TMP/workload.sh" $USER_ID \
		"$TEST_TMP/kernel" >"$TEST_TMP/kernel.sh.out" 2>&1
	krc=$?
	t3=$(date +%s)
	case $krc in
	0) kernel_ok=1;;
	10) why="the kernel cannot loop-mount the image read-write";;
	11) why="no id-mapped mounts of ext4 here: $(cat "$TEST_TMP/kernel.sh.out")";;
	*)
		not_ok "the same workload runs under the kernel's ext4 (exit $krc; a test bug)"
		diag_file "$TEST_TMP/kernel.sh.out"
		diag_file "$TEST_TMP/kernel.err"
		why="the kernel's run failed";;
	esac
fi
stop_holder
if [ -n "$kernel_ok" ]; then
	diag "the workload took $((t3 - t2)) s under the kernel (id-mapped), $((t1 - t0)) s under imgfs --unshare"
	if [ "$(cat "$TEST_TMP/kernel.out")" = "$want_inside" ]; then
		ok "the kernel (id-mapped) shows the user the same owners (0:0)"
	else
		not_ok "the kernel (id-mapped) shows the user the same owners (0:0)"
		diag_file "$TEST_TMP/kernel.out"
	fi
fi

# ---- what is on disk ----

for side in imgfs kernel; do
	f=$img
	[ $side = imgfs ] || f=$ref
	if [ $side = kernel ] && [ -z "$kernel_ok" ]; then
		skip "e2fsck -fn: the image the kernel wrote is clean" "$why"
		continue
	fi
	if e2fsck -fn "$f" >"$TEST_TMP/fsck-$side.out" 2>&1; then
		ok "e2fsck -fn: the image $side wrote is clean"
	else
		not_ok "e2fsck -fn: the image $side wrote is clean"
		diag_file "$TEST_TMP/fsck-$side.out" 40
	fi
done

if kernel_mount "$img" "$TEST_TMP/iro" 2>"$TEST_TMP/iro.err"; then
	ok "the kernel mounts the image imgfs wrote"
	# Owners on disk: the namespace's root, i.e. 0 (see the top).
	(cd "$TEST_TMP/iro" && stat -c '%u:%g %n' hello dir link dir/renamed dir/slowlink sparse) \
		>"$TEST_TMP/owners" 2>&1
	if [ "$(awk '{ print $1 }' "$TEST_TMP/owners" | sort -u)" = 0:0 ] &&
		[ "$(wc -l <"$TEST_TMP/owners")" -eq 6 ]; then
		ok "on disk, the user's files are owned by 0:0 (its namespace's root), not $USER_ID"
	else
		not_ok "on disk, the user's files are owned by 0:0 (its namespace's root), not $USER_ID"
		diag_file "$TEST_TMP/owners"
	fi
	if [ -n "$kernel_ok" ] && kernel_mount "$ref" "$TEST_TMP/kro" 2>"$TEST_TMP/kro.err"; then
		bounded 120 "$TREECMP" --now="$now" --max-diffs=60 "$TEST_TMP/kro" "$TEST_TMP/iro" \
			>"$TEST_TMP/treecmp.out" 2>&1
		rc=$?
		if [ $rc -eq 0 ]; then
			ok "the kernel reads the same tree from both images: $(tail -n 1 "$TEST_TMP/treecmp.out")"
		else
			not_ok "the kernel reads the same tree from both images (treecmp exit $rc)"
			diag_file "$TEST_TMP/treecmp.out" 70
		fi
		unmount "$TEST_TMP/kro"
	elif [ -n "$kernel_ok" ]; then
		not_ok "the kernel mounts the image it wrote"
		diag_file "$TEST_TMP/kro.err"
	else
		skip "the kernel reads the same tree from both images" "$why"
	fi
	# Independent of the kernel's run: a few things the workload must have left.
	(
		cd "$TEST_TMP/iro" &&
			printf '%s|' "$(cat hello)" "$(stat -c %s numbers)" "$(stat -c %h numbers)" \
				"$(stat -c %a hello dir dir/sub/long-line | tr '\n' ' ')" \
				"$(readlink link)" "$(stat -c %s sparse)" "$(getfattr --only-values -n user.color hello)" \
				"$(ls -a dir | tr '\n' ' ')" "$(ls -a . | tr '\n' ' ')" "$(stat -c %Y hello)"
	) >"$TEST_TMP/spot" 2>&1
	want="hello, rootless|5000|2|640 750 4755 |hello|300003|blue|. .. numbers.hard renamed slowlink sub |. .. dir hello link lost+found numbers sparse |1500000000|"
	if [ "$(cat "$TEST_TMP/spot")" = "$want" ]; then
		ok "the kernel reads what the workload wrote (contents, sizes, links, modes, xattr, names, times)"
	else
		not_ok "the kernel reads what the workload wrote (contents, sizes, links, modes, xattr, names, times)"
		diag "want: $want" "got:  $(cat "$TEST_TMP/spot")"
	fi
	unmount "$TEST_TMP/iro"
else
	not_ok "the kernel mounts the image imgfs wrote"
	diag_file "$TEST_TMP/iro.err"
fi
assert_clean "after the kernel's mounts: nothing left"

# ---- exclusive use: a second --unshare -o rw while the first runs ----

rm -f "$u/held" "$u/release"
as_user "$IMGFS_MOUNT" --unshare -o rw "$img" "$u/mnt" -- sh -c '
	echo kept >"$1/kept" && touch "$2/held" || exit 1
	i=0
	while [ ! -e "$2/release" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	[ "$(cat "$1/kept")" = kept ]' sh "$u/mnt" "$u" >"$TEST_TMP/first.out" 2>&1 &
first=$!
track_pid $first
if wait_for_file "$u/held" $first 600; then
	as_user "$IMGFS_MOUNT" --unshare -o rw "$img" "$u/mnt2" -- touch "$u/mnt2/second" \
		>"$TEST_TMP/second.out" 2>"$TEST_TMP/second.err"
	rc=$?
	lines=$(wc -l <"$TEST_TMP/second.err")
	if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && [ ! -s "$TEST_TMP/second.out" ] &&
		grep -q 'imgfs\.img: in use by another read-write imgfs mount' "$TEST_TMP/second.err"; then
		ok "a second --unshare -o rw while the first runs is refused: $(cat "$TEST_TMP/second.err")"
	else
		not_ok "a second --unshare -o rw while the first runs is refused with one line (exit $rc, $lines lines)"
		diag_file "$TEST_TMP/second.err"
		diag_file "$TEST_TMP/second.out"
	fi
else
	not_ok "the first --unshare -o rw mounts (to hold the image)"
fi
touch "$u/release"
wait $first
rc=$?
untrack_pid $first
if [ $rc -eq 0 ]; then
	ok "the first --unshare -o rw runs on unharmed and exits 0"
else
	not_ok "the first --unshare -o rw runs on unharmed and exits 0 (exit $rc)"
	diag_file "$TEST_TMP/first.out"
fi
check "e2fsck -fn: still clean after both" e2fsck -fn "$img"
assert_clean "nothing left behind (mounts, servers, loop devices)"
done_testing
