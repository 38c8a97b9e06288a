#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# One corrupt inode in a directory (issue 14, item 1).  The kernel's
# readdir never reads the inodes it lists: it lists every name and only a
# stat of the bad one fails.  imgfs must do the same, not fail the whole
# READDIRPLUS at that entry.  For ext4 (debugfs) and XFS (xfs_db) images
# with one file's inode damaged, the kernel and imgfs are compared on:
#   - the names `ls -f` lists,
#   - which names `stat` can and cannot stat,
#   - the members `tar c` archives (tar's status is ignored: the bad file
#     fails on both).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_loop
need_cmd mkfs.ext4 debugfs tar
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"

kmnt=$TEST_TMP/kernel
imnt=$TEST_TMP/imgfs
mkdir -p "$kmnt" "$imnt"

# view DIR OUT: what a user sees of DIR: its names (sorted: the order is
# not the point here), each name's stat outcome, tar's members.
view() {
	bounded 60 ls -f "$1" >"$2.ls" 2>"$2.ls.err"
	sort "$2.ls" >"$2.names"
	: >"$2.stat"
	while IFS= read -r n; do
		if bounded 30 stat "$1/$n" >/dev/null 2>&1; then
			echo "$n ok"
		else
			echo "$n fails"
		fi
	done <"$2.names" >"$2.stat"
	(cd "$1" && bounded 60 tar cf - . 2>/dev/null) | tar tf - 2>/dev/null | sort >"$2.tar"
}

# same WHAT DESC: one test line, the kernel's view against imgfs's.
same() {
	if cmp -s "$TEST_TMP/k.$1" "$TEST_TMP/i.$1"; then
		ok "$2"
	else
		not_ok "$2"
		diff "$TEST_TMP/k.$1" "$TEST_TMP/i.$1" | diag_stdin
		diag_file "$TEST_TMP/i.ls.err" 5
	fi
}

diag_stdin() {
	sed -n '1,20s/^/# /p'
}

# compare DESC IMAGE KOPTS [SUBDIR]: mount IMAGE both ways, compare SUBDIR.
compare() {
	_desc=$1 _img=$2 _kopts=$3 _sub=${4:-}
	rm -f "$TEST_TMP"/k.* "$TEST_TMP"/i.*
	if ! mount -o "$_kopts" "$_img" "$kmnt" 2>"$TEST_TMP/err"; then
		for w in listing stat tar; do
			skip "$_desc: $w" "the kernel does not mount it: $(head -n 1 "$TEST_TMP/err")"
		done
		return
	fi
	track_loop "$kmnt"
	view "$kmnt/$_sub" "$TEST_TMP/k"
	unmount "$kmnt"
	grep -qx 'b fails' "$TEST_TMP/k.stat" ||
		diag "$_desc: the kernel does not fail the stat of b (the comparison still holds)"
	if ! imgfs_mount "$_img" "$imnt" >/dev/null 2>"$TEST_TMP/err"; then
		for w in listing stat tar; do
			not_ok "$_desc: $w: imgfs does not mount it: $(head -n 1 "$TEST_TMP/err")"
		done
		return
	fi
	view "$imnt/$_sub" "$TEST_TMP/i"
	unmount "$imnt"
	same names "$_desc: ls -f lists what the kernel lists"
	same stat "$_desc: stat succeeds and fails where the kernel's does"
	same tar "$_desc: tar archives what it archives from the kernel"
}

# ---- ext4 ----

src=$TEST_TMP/src
mkdir -p "$src"
for n in a b c d; do echo "$n" >"$src/$n"; done
mkfs.ext4 -q -F -O ^has_journal -d "$src" "$TEST_TMP/ext4.img" 8M >/dev/null ||
	bail_out "mkfs.ext4 failed"

# ext4_case DESC DEBUGFS-COMMAND: b's inode changed by debugfs.
ext4_case() {
	cp "$TEST_TMP/ext4.img" "$TEST_TMP/bad.img"
	if ! debugfs -w -R "$2" "$TEST_TMP/bad.img" >"$TEST_TMP/debugfs.out" 2>&1 ||
		grep -q -i -e error -e 'not found' "$TEST_TMP/debugfs.out"; then
		not_ok "ext4 $1: debugfs did not apply '$2' (test bug)"
		diag_file "$TEST_TMP/debugfs.out"
		return
	fi
	compare "ext4 $1" "$TEST_TMP/bad.img" ro,loop,noload
}

# i_size above what a file can have: the kernel's "bad i_size".
ext4_case "i_size 2^64-1" "sif b size 0xffffffffffffffff"
# A mode of no file type: the kernel's "bogus i_mode".
ext4_case "mode 0170777" "sif b mode 0170777"

# An entry that names the root (issue 14, item 2): the kernel's VFS finds
# the root's dentry in use and refuses the loop with ELOOP.
mkdir -p "$TEST_TMP/src-root/a"
echo f >"$TEST_TMP/src-root/a/f"
mkfs.ext4 -q -F -O ^has_journal -d "$TEST_TMP/src-root" "$TEST_TMP/root.img" 8M >/dev/null ||
	bail_out "mkfs.ext4 failed"
if ! debugfs -w -R "ln <2> a/up" "$TEST_TMP/root.img" >"$TEST_TMP/debugfs.out" 2>&1 ||
	grep -q -i -e error -e 'not found' "$TEST_TMP/debugfs.out"; then
	not_ok "ext4 entry naming the root: debugfs did not link it (test bug)"
else
	# stat_error DIR: how stat of DIR/a/up and DIR/a/f end, one line each.
	stat_error() {
		for n in up f; do
			bounded 30 stat -c ok "$1/a/$n" 2>&1 | sed 's/.*: //'
		done
	}
	mount -o ro,loop,noload "$TEST_TMP/root.img" "$kmnt" && track_loop "$kmnt"
	stat_error "$kmnt" >"$TEST_TMP/k.root"
	unmount "$kmnt"
	if imgfs_mount "$TEST_TMP/root.img" "$imnt" >/dev/null 2>"$TEST_TMP/err"; then
		stat_error "$imnt" >"$TEST_TMP/i.root"
		unmount "$imnt"
	else
		echo "imgfs does not mount it: $(head -n 1 "$TEST_TMP/err")" >"$TEST_TMP/i.root"
	fi
	grep -qx 'Too many levels of symbolic links' "$TEST_TMP/k.root" ||
		diag "the kernel does not give ELOOP for the entry (the comparison still holds)"
	same root "ext4 entry naming the root: stat fails as the kernel's does (ELOOP), the sibling is served"
fi

# ---- XFS ----

xfs_skip() {
	for c in "mode 0170777" "data fork format 7" "forkoff 200" "nextents 5000" \
		"inode magic 0" "bmbt level 8"; do
		for w in listing stat tar; do
			skip "xfs $c: $w" "$1"
		done
	done
}

if ! command -v mkfs.xfs >/dev/null 2>&1 || ! command -v xfs_db >/dev/null 2>&1 ||
	! command -v perl >/dev/null 2>&1; then
	xfs_skip "needs mkfs.xfs, xfs_db and perl"
elif ! grep -qw xfs /proc/filesystems && ! modprobe xfs 2>/dev/null; then
	xfs_skip "the kernel has no xfs driver"
else
	# 40 MiB, 1 KiB blocks: small, as corrupt-xfs.sh makes it (mkfs.xfs
	# allows it to test suites that set these variables).  Without large
	# extent counters, so that a bmbt of 8 levels is beyond the kernel's
	# maximum for 1 KiB blocks (7).
	xfs=$TEST_TMP/xfs.img
	truncate -s 40M "$xfs"
	mkxfs() {
		TEST_DIR=$TEST_TMP TEST_DEV=$xfs QA_CHECK_FS=xfs \
			mkfs.xfs -q -f -b size=1024 -d agcount=2 "$@" "$xfs" >"$TEST_TMP/mkfs.err" 2>&1
	}
	mkxfs -i nrext64=0 || mkxfs || bail_out "mkfs.xfs failed: $(cat "$TEST_TMP/mkfs.err")"
	# Populated by the kernel.  b is written with holes between 100
	# one-block runs, so that its data fork is a btree.  64 other files
	# (in the root: new directories go to other AGs, files near their
	# parent) come between the root, t, a, c, d and b, so that b's inode
	# is in another inode cluster: the kernel checks every inode's magic in
	# a cluster it reads, and a bad magic fails all the cluster's inodes.
	cat >"$TEST_TMP/populate.sh" <<'EOF'
set -e
mount -t xfs -o loop "$1" "$2"
cd "$2"
mkdir t
for n in a c d; do echo "$n" >"t/$n"; done
seq -f "p%g" 1 64 | xargs touch
perl -e 'open(my $h, "+>", "t/b") or die "$!";
	for my $i (0 .. 99) { seek($h, 2 * $i * 1024, 0); print $h "b" x 1024 }
	close($h) or die "$!"'
cd /
umount "$2"
EOF
	private_mounts sh "$TEST_TMP/populate.sh" "$xfs" "$kmnt" >"$TEST_TMP/populate.err" 2>&1 ||
		bail_out "cannot populate the XFS image: $(cat "$TEST_TMP/populate.err")"
	[ "$(xfs_db -r -c 'path /t/b' -c 'print core.format' "$xfs" 2>/dev/null)" = \
		"core.format = 3 (btree)" ] || bail_out "t/b is not in btree format (test bug)"

	bino=$(xfs_db -r -c 'path /t/b' -c inode "$xfs" 2>/dev/null |
		sed -n 's/^current inode number is //p')
	[ -n "$bino" ] || bail_out "xfs_db cannot find t/b (test bug)"

	# xfs_case DESC FIELD VALUE: b's inode core or fork changed by xfs_db
	# (its CRC recomputed, so the damage reaches the parser).
	xfs_case() {
		cp "$xfs" "$TEST_TMP/bad.img"
		xfs_db -x -c "inode $bino" -c "write -d $2 $3" "$TEST_TMP/bad.img" >/dev/null 2>&1
		if ! xfs_db -r -c "inode $bino" -c "print $2" "$TEST_TMP/bad.img" 2>/dev/null |
			grep -q "^$2 = $3\( \|\$\)"; then
			not_ok "xfs $1: xfs_db did not write $2 = $3 (test bug)"
			return
		fi
		compare "xfs $1" "$TEST_TMP/bad.img" ro,loop,norecovery t
	}
	xfs_case "mode 0170777" core.mode 0170777
	xfs_case "data fork format 7" core.format 7
	xfs_case "forkoff 200" core.forkoff 200
	xfs_case "nextents 5000" core.nextents 5000
	xfs_case "inode magic 0" core.magic 0
	xfs_case "bmbt level 8" u3.bmbt.level 8
fi

assert_clean "nothing left behind"
done_testing
