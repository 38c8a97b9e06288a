#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/ext4-compare-rootless.sh: the ext4 corpus, mounted by imgfs from
# inside a user namespace (as rootless podman runs: a subordinate id range,
# the process's host uid unprivileged), must show exactly the tree the
# kernel's own ext4 driver shows to that same process.
#
# The truth, seen from inside: root loop-mounts each image read-only with
# the kernel's ext4 (K), then makes an id-mapped bind mount of it (K2)
# that shifts every on-disk id by BASE (200000), the shift the user
# namespace applies.  A process in that namespace, as its root (host uid
# BASE: no privilege on the host), therefore sees on K2 the image's own
# ids, as imgfs reports them on its mount.  It runs `imgfs-mount IMAGE F`
# (the server sandboxed as always), treecmp K2 F with ext4-compare.sh's
# options, and `imgfs-mount -u F`; outside, the test checks that the
# sandboxed server runs as the namespace's nobody (host uid BASE+65534),
# then unmounts K2 and K and asserts nothing is left.
#
# The namespace maps every id from 0 up (inside) to BASE and up (host), not
# just 65536 of them: the corpus has owners and ACL entries with ids past
# 65535 (and past 2^31), and an unmapped id would show as nobody on both
# sides, hiding exactly what those files are there to check.  A 65536-id
# range, as /etc/subuid hands out, is compared too, on one image, below.
#
# One difference is the namespace's, not imgfs's, and is accepted only in
# exactly the expected form: ext4 lists trusted.* xattrs only to a caller
# with CAP_SYS_ADMIN in the initial user namespace, which ns-root lacks,
# while FUSE passes on the list the server gives (reading one of those
# values fails with ENODATA on both mounts: the VFS's own check).  So
# each trusted.* name must appear as "missing vs present", and the set of
# them must be exactly the trusted.* names the kernel lists to real root
# on K; every other field, and every other xattr with its value, is
# compared as in ext4-compare.sh (whose rootful run compares the trusted
# values too).
#
# The test must be able to fail: the same setup with K2 made from a
# different corpus image must report differences (exit 1).
#
# Environment: IMGFS_CORPUS_EXT4=DIR (images must be readable by uid
# 200000), TREECMP_OPTS, as for ext4-compare.sh.

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/compare-lib.sh"
. "$top_srcdir/tests/idmap-lib.sh"

need_root
need_loop
need_fuse
need_cmd mke2fs debugfs e2fsck sfdisk setfacl setfattr getfattr perl findmnt timeout \
	unshare nsenter setpriv
need_prog "$TREECMP" "$IMGFS_MOUNT" "$IMGFS_SERVER"

BASE=200000
WIDE=$((4294967295 - BASE))	# inside 0.. -> host BASE..2^32-2
SUBUID=65536
NOBODY_HOST=$((BASE + 65534))

cmp_opts="--atime --blocks --ino --max-diffs=0 ${TREECMP_OPTS:-}"
impl=imgfs

# Distributions ship /dev/fuse 0666; this machine may not.
[ "$(stat -c %a /dev/fuse)" = 666 ] || chmod 0666 /dev/fuse
# The server makes a user namespace of its own as host uid BASE.
setpriv --reuid=$BASE --regid=$BASE --clear-groups -- unshare -Urm true 2>/dev/null ||
	skip_all "unprivileged user namespaces are disabled"

case $(uname -m) in
mips*|alpha) skip_all "the id-mapped bind mount helper knows no syscall numbers for $(uname -m)";;
esac

# Everything the namespace's root uses must be reachable as host uid BASE.
chmod 0755 "$TEST_TMP"
ns=$TEST_TMP/ns		# its scratch space, owned by it
mkdir "$ns" && chown $BASE:$BASE "$ns"
setpriv --reuid=$BASE --regid=$BASE --clear-groups -- \
	sh -c 'test -w "$1" && test -x "$2" && test -x "$3"' sh "$ns" "$IMGFS_MOUNT" "$TREECMP" ||
	skip_all "uid $BASE cannot reach $TEST_TMP or the build tree (set TMPDIR, or build elsewhere)"

# ---- helpers ----

# What the namespace's root runs: mount, wait until the outside has looked
# at the server, compare, unmount.
cat >"$TEST_TMP/inside.sh" <<'SCRIPT'
mount=$1 treecmp=$2 img=$3 mnt=$4 ref=$5 dir=$6 mopts=$7
shift 7
echo $$ >"$dir/pid"
"$mount" -o "ro${mopts:+,$mopts}" "$img" "$mnt" >"$dir/mount.out" 2>&1 || exit 10
# type and options of the mount, as this namespace sees it
awk -v m="$mnt" '$5 == m { for (i = 7; $i != "-"; i++) ; print $(i + 1), $6 }' \
	/proc/self/mountinfo >"$dir/mountinfo"
touch "$dir/mounted"
i=0
while [ ! -e "$dir/checked" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
"$treecmp" "$@" "$ref" "$mnt" >"$dir/treecmp.out" 2>&1
echo $? >"$dir/treecmp.rc"
for f in owner/big owner/huge; do
	[ -e "$mnt/$f" ] && echo "$f $(stat -c %u:%g "$ref/$f") $(stat -c %u:%g "$mnt/$f")"
done >"$dir/owners"
"$mount" -u "$mnt" >"$dir/umount.out" 2>&1 || exit 11
! grep -q " $mnt " /proc/self/mountinfo || exit 12
SCRIPT

# host_ids PID: "UIDS / GIDS" of a process, as the host sees them.
host_ids() {
	awk '$1 == "Uid:" || $1 == "Gid:" { $1 = ""; printf "%s /", $0 }' "/proc/$1/status" 2>/dev/null |
		tr -s ' '
}

# trusted_names KDIR: the treecmp lines the trusted.* xattrs the kernel
# lists to real root on KDIR must give, sorted.
trusted_names() {
	getfattr -R -P -h --absolute-names -m '^trusted\.' "$1" 2>/dev/null | awk -v k="$1" '
		/^# file: / { p = substr($0, 9); p = substr(p, length(k) + 1); if (p == "") p = "/"; next }
		/^trusted\./ { print p ": xattr: " $0 ": missing vs present" }' | sort
}

# run_inside DESC IMAGE KDIR K2 MOPTS EXPECTED-TREECMP TREECMP-OPTS...:
# the namespace's root mounts IMAGE and compares K2 with it.  Problems go
# to $problems; the treecmp lines other than those in the file
# EXPECTED-TREECMP go to $unexplained, its exit status to $tc_rc.
run_inside() {
	_img=$1 _kdir=$2 _k2=$3 _mopts=$4 _expect=$5
	shift 5
	rm -rf "$ns/run"
	mkdir -p "$ns/run/mnt" && chown -R $BASE:$BASE "$ns/run"
	track_image "$_img"
	tc_rc=
	: >"$unexplained"
	timeout -k 10 900 nsenter --user --target "$holder" --setuid 0 --setgid 0 -- \
		unshare --mount -- sh "$TEST_TMP/inside.sh" "$IMGFS_MOUNT" "$TREECMP" "$_img" \
		"$ns/run/mnt" "$_k2" "$ns/run" "$_mopts" "$@" >"$ns/inside.out" 2>&1 &
	_bg=$!
	track_pid $_bg
	if wait_for_file "$ns/run/mounted" $_bg 600; then
		# From outside: who runs the server, and the namespace's root.
		_pids=$(imgfs_server_pids "$_img")
		_srv=${_pids#* } _sup=${_pids% *}
		_want="$NOBODY_HOST $NOBODY_HOST $NOBODY_HOST $NOBODY_HOST / $NOBODY_HOST $NOBODY_HOST $NOBODY_HOST $NOBODY_HOST /"
		for _who in server:$_srv supervisor:$_sup; do
			_ids=$(host_ids "${_who#*:}")
			[ "$(echo $_ids)" = "$(echo $_want)" ] ||
				echo "the sandboxed ${_who%:*} (pid ${_who#*:}) does not run as host uid/gid $NOBODY_HOST: ${_ids:-no such process}" >>"$problems"
		done
		_ids=$(host_ids "$(cat "$ns/run/pid")")
		[ "$(echo $_ids)" = "$(echo "$BASE $BASE $BASE $BASE / $BASE $BASE $BASE $BASE /")" ] ||
			echo "the namespace's root is not host uid/gid $BASE: $_ids" >>"$problems"
		case $(cat "$ns/run/mountinfo") in
		"fuse.imgfs ro,"*|"fuse.imgfs "*,ro|"fuse.imgfs "*,ro,*) ;;
		*) echo "inside, the mount is not a read-only fuse.imgfs: $(cat "$ns/run/mountinfo")" >>"$problems";;
		esac
	fi
	touch "$ns/run/checked"
	wait $_bg
	_rc=$?
	untrack_pid $_bg
	[ -e "$ns/run/mounted" ] || echo "imgfs-mount failed inside the namespace (exit $_rc):" >>"$problems"
	if [ $_rc -ne 0 ]; then
		[ -e "$ns/run/mounted" ] && echo "inside the namespace: exit $_rc (11: imgfs-mount -u failed, 12: still mounted)" >>"$problems"
		for _f in mount.out umount.out; do
			[ -s "$ns/run/$_f" ] && sed 's/^/  /' "$ns/run/$_f" >>"$problems"
		done
		sed 's/^/  /' "$ns/inside.out" >>"$problems"
	fi
	[ -e "$ns/run/treecmp.rc" ] || return 0
	tc_rc=$(cat "$ns/run/treecmp.rc")
	# Every line but the summary must be an expected one, and every
	# expected one must be there.
	sed '$d' "$ns/run/treecmp.out" | sort >"$TEST_TMP/got"
	comm -23 "$TEST_TMP/got" "$_expect" >"$unexplained"
	comm -13 "$TEST_TMP/got" "$_expect" | sed 's/^/(expected, not reported) /' >>"$unexplained"
	_n=$(wc -l <"$_expect")
	if ! tail -n 1 "$ns/run/treecmp.out" | grep -q "^[0-9]* entries compared, $_n differences\$"; then
		echo "unexpected treecmp summary: $(tail -n 1 "$ns/run/treecmp.out")" >>"$unexplained"
	fi
	cp "$ns/run/owners" "$TEST_TMP/owners"
}

# compare_mount DESC IMAGE KERNEL-OPTS IMGFS-OPTS [REF-IMAGE]: one test
# line, in place of compare-lib.sh's.  The kernel mounts REF-IMAGE
# (default IMAGE); with a REF-IMAGE that differs, the comparison must
# fail.
compare_mount() {
	desc=$1 img=$2 kopts=$3 mopts=$4 ref=${5:-$2}
	kdir=$TEST_TMP/kernel k2=$TEST_TMP/idmapped
	problems=$TEST_TMP/problems unexplained=$TEST_TMP/unexplained
	: >"$problems"
	if ! kernel_mount "$ref" "$kdir" "$kopts" 2>"$TEST_TMP/mount.err" ||
		! idmap_bind "/proc/$holder/ns/user" "$kdir" "$k2" 2>>"$TEST_TMP/mount.err"; then
		not_ok "$desc"
		diag "the kernel cannot mount it, or not id-mapped (test bug):"
		diag_file "$TEST_TMP/mount.err"
		[ -z "$(mounts_under "$kdir")" ] || unmount "$kdir"
		return
	fi
	case ",$(findmnt -n -o OPTIONS --mountpoint "$k2" | tail -n 1)," in
	*,ro,*idmapped*|*idmapped*,ro,*) ;;
	*) echo "the kernel's bind mount is not read-only and id-mapped: $(findmnt -n -o OPTIONS --mountpoint "$k2")" >>"$problems";;
	esac
	trusted_names "$kdir" >"$TEST_TMP/expected"
	[ "$ref" = "$img" ] || : >"$TEST_TMP/expected"
	run_inside "$img" "$kdir" "$k2" "$mopts" "$TEST_TMP/expected" $cmp_opts
	if [ "$ref" = "$img" ]; then
		if [ -z "$tc_rc" ]; then
			echo "treecmp did not run" >>"$problems"
		elif [ "$tc_rc" -gt 1 ] || [ -s "$unexplained" ]; then
			echo "treecmp kernel (id-mapped) vs rootless imgfs: exit $tc_rc; beyond the expected trusted.* lines:" >>"$problems"
			cat "$unexplained" >>"$problems"
		fi
		# Ids past 65535 must be seen as themselves on both sides.
		if [ -s "$TEST_TMP/owners" ]; then
			grep -qx 'owner/big 70000:80000 70000:80000' "$TEST_TMP/owners" &&
				grep -qx 'owner/huge 4000000000:4000000001 4000000000:4000000001' "$TEST_TMP/owners" ||
				{ echo "owners past 65535 (path kernel imgfs):"; cat "$TEST_TMP/owners"; } >>"$problems"
		fi
	elif [ "$tc_rc" != 1 ] || ! [ -s "$unexplained" ]; then
		echo "treecmp exit ${tc_rc:-none}, expected 1 with differences:" >>"$problems"
		cat "$ns/run/treecmp.out" >>"$problems"
	fi
	[ -z "$(mounts_under "$k2")" ] || unmount "$k2" || echo "cannot unmount the id-mapped mount" >>"$problems"
	unmount "$kdir" || echo "cannot unmount the kernel mount" >>"$problems"
	verdict "$desc" our_leftovers
}

# ---- can this machine do it at all? ----

start_holder "0 $BASE $WIDE"
[ "$(cat /proc/$holder/uid_map 2>/dev/null | tr -s ' ' | sed 's/^ //')" = "0 $BASE $WIDE" ] ||
	skip_all "cannot create a user namespace with a mapped id range"
mke2fs -q -t ext4 "$TEST_TMP/probe.img" 1M >/dev/null 2>&1 ||
	skip_all "mke2fs cannot make a probe image"
kernel_mount "$TEST_TMP/probe.img" "$TEST_TMP/probe" 2>/dev/null ||
	skip_all "the kernel cannot loop-mount ext4"
if ! idmap_bind "/proc/$holder/ns/user" "$TEST_TMP/probe" "$TEST_TMP/probe-idmapped" \
	>"$TEST_TMP/probe.err" 2>&1; then
	unmount "$TEST_TMP/probe"
	skip_all "no id-mapped mounts of ext4 here: $(cat "$TEST_TMP/probe.err")"
fi
[ "$(stat -c %u "$TEST_TMP/probe-idmapped")" = $BASE ] || {
	unmount "$TEST_TMP/probe-idmapped"; unmount "$TEST_TMP/probe"
	skip_all "the id-mapped mount does not map ids"; }
unmount "$TEST_TMP/probe-idmapped"
unmount "$TEST_TMP/probe"

# ---- the corpus, as ext4-compare.sh makes it ----

get_corpus "${IMGFS_CORPUS_EXT4:-}" "$MKCORPUS_EXT4"

# ---- every image, rootless, against the kernel (id-mapped) ----

compare_corpus "$corpus" rootless

# ---- the comparison can fail ----

# Two images made from the same recipe with different block sizes and
# random contents: sizes, contents, times, inode numbers differ.
a=$corpus/ext4-4k.img b=$corpus/ext4-1k.img
if [ -e "$a" ] && [ -e "$b" ]; then
	compare_mount "the same setup reports a different image's tree as different (exit 1)" \
		"$b" "" "" "$a"
else
	skip "the same setup reports a different image's tree as different" "no ext4-4k/ext4-1k images"
fi

# ---- a 65536-id range, as /etc/subuid gives ----

# Ids past 65535 are unmapped now: both sides must show them as nobody
# (65534) and otherwise agree.  xattrs are not compared here (they are
# above, with every id mapped): an ACL naming an unmapped id is refused
# by the kernel's FUSE code (EINVAL: it cannot express the id in the
# mount's namespace), while ext4 on an id-mapped mount returns the ACL
# with -1 (4294967295) for that entry.
stop_holder
start_holder "0 $BASE $SUBUID"
if [ -e "$a" ]; then
	cmp_opts="$cmp_opts --ignore=xattr"
	problems=$TEST_TMP/problems unexplained=$TEST_TMP/unexplained
	: >"$problems"
	kdir=$TEST_TMP/kernel k2=$TEST_TMP/idmapped
	if kernel_mount "$a" "$kdir" 2>"$problems" &&
		idmap_bind "/proc/$holder/ns/user" "$kdir" "$k2" 2>>"$problems"; then
		: >"$TEST_TMP/expected"
		run_inside "$a" "$kdir" "$k2" "" "$TEST_TMP/expected" $cmp_opts
		if [ "$tc_rc" != 0 ]; then
			echo "treecmp exit ${tc_rc:-none}:" >>"$problems"
			cat "$ns/run/treecmp.out" >>"$problems"
		fi
		grep -qx 'owner/big 65534:65534 65534:65534' "$TEST_TMP/owners" &&
			grep -qx 'owner/huge 65534:65534 65534:65534' "$TEST_TMP/owners" ||
			{ echo "unmapped owners (path kernel imgfs):"; cat "$TEST_TMP/owners"; } >>"$problems"
	fi
	for m in "$k2" "$kdir"; do
		[ -z "$(mounts_under "$m")" ] || unmount "$m"
	done
	verdict "ext4-4k.img: rootless with 65536 ids: unmapped owners are nobody on both sides, all else equal" \
		our_leftovers
else
	skip "65536-id range" "no ext4-4k image"
fi
stop_holder

assert_clean "nothing left behind (mounts, servers, loop devices)"
done_testing
