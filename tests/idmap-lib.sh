# SPDX-License-Identifier: GPL-2.0-or-later
# tests/idmap-lib.sh: the kernel's own mount of an image as a process in a
# user namespace sees its ids, for holding a rootless imgfs mount against
# it (ext4-compare-rootless.sh, rootless-xfs.sh).  Sourced after lib.sh;
# needs root and perl.
#
#   start_holder "INSIDE HOST COUNT"
#                          a process in a new user namespace with that uid
#                          and gid map; sets $holder (tracked: cleanup
#                          ends it)
#   stop_holder
#   our_leftovers          leftovers, but for the holder: for verdict while
#                          it runs
#   idmap_bind USERNS-FILE SRC DST
#                          an id-mapped bind mount of SRC at DST with the
#                          mapping of the user namespace USERNS-FILE
#                          (/proc/$holder/ns/user): on-disk ids are seen
#                          through it as that namespace's processes see
#                          the ids of a FUSE mount they made
#
# util-linux 2.39 has mount -o X-mount.idmap; for older ones, the three
# system calls (their numbers are the same on every architecture but
# alpha and MIPS: a test using this skips there).

cat >"$TEST_TMP/idmap.pl" <<'PERL'
use strict;
use warnings;
my ($nsfile, $src, $dst) = @ARGV;
my ($SYS_open_tree, $SYS_move_mount, $SYS_mount_setattr) = (428, 429, 442);
my ($AT_FDCWD, $AT_EMPTY_PATH) = (-100, 0x1000);
my ($OPEN_TREE_CLONE, $OPEN_TREE_CLOEXEC) = (1, 0x80000);
my ($MOUNT_ATTR_IDMAP, $MOVE_MOUNT_F_EMPTY_PATH) = (0x100000, 4);
open(my $ns, '<', $nsfile) or die "idmap: $nsfile: $!\n";
my $fd = syscall($SYS_open_tree, $AT_FDCWD, $src, $OPEN_TREE_CLONE | $OPEN_TREE_CLOEXEC);
$fd >= 0 or die "idmap: open_tree $src: $!\n";
# struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; }
my $attr = pack('QQQQ', $MOUNT_ATTR_IDMAP, 0, 0, fileno($ns));
my ($e1, $e2) = ('', '');
syscall($SYS_mount_setattr, $fd, $e1, $AT_EMPTY_PATH, $attr, length($attr)) == 0
	or die "idmap: mount_setattr: $!\n";
syscall($SYS_move_mount, $fd, $e2, $AT_FDCWD, $dst, $MOVE_MOUNT_F_EMPTY_PATH) == 0
	or die "idmap: move_mount $dst: $!\n";
PERL

idmap_bind() {
	mkdir -p "$3" && perl "$TEST_TMP/idmap.pl" "$1" "$2" "$3"
}

start_holder() {
	unshare --user sleep 1200 >/dev/null 2>&1 &
	holder=$!
	track_pid $holder
	_i=0
	while [ "$(readlink /proc/$holder/ns/user 2>/dev/null)" = "$(readlink /proc/self/ns/user)" ] &&
		[ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	echo "$1" >/proc/$holder/uid_map && echo "$1" >/proc/$holder/gid_map
}

stop_holder() {
	kill $holder 2>/dev/null
	wait $holder 2>/dev/null
	untrack_pid $holder
}

our_leftovers() {
	leftovers | grep -v "^process: $holder "
}
