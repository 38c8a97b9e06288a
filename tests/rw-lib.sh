# SPDX-License-Identifier: GPL-2.0-or-later
# tests/rw-lib.sh: what the read-write tests share (rw-compare.sh,
# rw-fsx.sh, fstests-quick.sh, fstests/run.sh).  Sourced after lib.sh.
#
#   $RW_DRIVER   the driver under test: imgfs (default), fuse2fs (an
#                independent FUSE writer of ext4, to prove the harness on
#                before imgfs writes), or kernel (the harness against
#                itself: everything must be identical).  IMGFS_TEST_FS is
#                read when RW_DRIVER is unset.
#   rw_need_driver      skips the whole test, with the reason, when the
#                driver cannot write: /dev/fuse missing, fuse2fs missing,
#                or an imgfs that still serves images read-only (its
#                refusal of -o rw is detected from its message)
#   rw_mount IMAGE DIR  mounts IMAGE read-write with the driver
#   rw_unmount DIR      unmounts it; the driver must have flushed it all
#   fstests_tool NAME   prints the path of fsx or fsstress, built from the
#                fstests snapshot into the build tree once (a lock and a
#                stamp, as get_corpus does)
#   rootfs_tar SIZE FILE  a tar of a fixed part of the host's Debian tree:
#                small (/etc, /usr/share/perl: ~3,000 entries) or long
#                (/etc, /usr/share/man, /usr/share/doc: ~33,000)

RW_DRIVER=${RW_DRIVER:-${IMGFS_TEST_FS:-imgfs}}
RWOPS=$top_builddir/tests/rwops

rw_mount() {
	mkdir -p "$2" || return 1
	case $RW_DRIVER in
	imgfs)
		track_image "$1"
		bounded 60 "$IMGFS_MOUNT" -o "rw${3:+,$3}" "$1" "$2";;
	fuse2fs)
		track_image "$1"
		# fakeroot: root's permission checks for a user too.
		_fo=rw
		[ "$(id -u)" -eq 0 ] || _fo=rw,fakeroot
		bounded 60 fuse2fs -o "$_fo${3:+,$3}" "$1" "$2" >/dev/null;;
	kernel)
		mount -t ext4 -o "loop${3:+,$3}" "$1" "$2" && track_loop "$2";;
	esac
}

# rw_unmount DIR: a clean unmount; then wait for a FUSE server to finish
# writing and exit (its image is complete only then).
rw_unmount() {
	timeout 120 umount "$1" || { unmount "$1"; return 1; }
	_i=0
	while [ -n "$(our_servers)" ] && [ $_i -lt 300 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -z "$(our_servers)" ]
}

rw_need_driver() {
	case $RW_DRIVER in
	imgfs)
		need_fuse
		need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER";;
	fuse2fs) need_fuse; need_cmd fuse2fs;;
	kernel) need_loop;;
	*) bail_out "RW_DRIVER must be imgfs, fuse2fs or kernel, not '$RW_DRIVER'";;
	esac
	[ "$RW_DRIVER" = imgfs ] || return 0
	# Does this imgfs write?  One small image, mounted -o rw.
	_probe=$TEST_TMP/rw-probe
	mkdir -p "$_probe/mnt"
	mkfs.ext4 -q -F "$_probe/probe.img" 8M >/dev/null 2>&1 ||
		bail_out "mkfs.ext4 cannot make a probe image"
	if ! rw_mount "$_probe/probe.img" "$_probe/mnt" >"$_probe/err" 2>&1; then
		if grep -Eqi 'read-only|not supported yet|unknown mount option .rw' "$_probe/err"; then
			skip_all "imgfs does not write yet: $(head -n 1 "$_probe/err")"
		fi
		diag_file "$_probe/err"
		bail_out "imgfs-mount -o rw fails on a fresh image"
	fi
	rw_unmount "$_probe/mnt"
	rm -rf "$_probe"
}

# The fstests snapshot: $IMGFS_FSTESTS_TARBALL, or the newest
# fstests-*.tar.gz in shared/third_party beside the source tree (or one
# level further up, for a worktree).
fstests_tarball() {
	if [ -n "${IMGFS_FSTESTS_TARBALL:-}" ]; then
		echo "$IMGFS_FSTESTS_TARBALL"
		return
	fi
	for _d in "$top_srcdir/../shared/third_party" "$top_srcdir/../../shared/third_party"; do
		_t=$(ls "$_d"/fstests-*.tar.gz 2>/dev/null | tail -n 1)
		[ -n "$_t" ] && { echo "$_t"; return; }
	done
}

# fstests_tool fsx|fsstress: built from the snapshot's ltp/ with the C
# compiler alone (a config.h of our own says what Debian 12 has), into
# $top_builddir/tests/fstests-tools, once per build tree.
fstests_tool() {
	_tools=$top_builddir/tests/fstests-tools
	_tar=$(fstests_tarball)
	[ -n "$_tar" ] && [ -f "$_tar" ] || return 1
	mkdir -p "$_tools" || return 1
	(
		exec 8>"$_tools/.lock"
		flock 8 || exit 1
		[ -x "$_tools/$1" ] && [ "$_tools/$1" -nt "$_tar" ] && exit 0
		_src=$_tools/src
		rm -rf "$_src" && mkdir -p "$_src" &&
			tar -C "$_src" -xzf "$_tar" --wildcards '*/ltp/*' '*/src/global.h' \
				'*/src/statx.h' '*/include/*' || exit 1
		_top=$(ls -d "$_src"/*/ | head -n 1)
		{
			for _h in SYS_TYPES_H SYS_STAT_H SYS_STATVFS_H SYS_TIME_H SYS_IOCTL_H \
				SYS_WAIT_H MALLOC_H DIRENT_H STDLIB_H UNISTD_H ERRNO_H STRING_H \
				SYS_FCNTL_H TIME_H WAIT_H SYS_PARAM_H LIBGEN_H ASSERT_H STRINGS_H \
				ERR_H LINUX_FALLOC_H SYS_PRCTL_H COPY_FILE_RANGE RENAMEAT2; do
				echo "#define HAVE_$_h 1"
			done
			echo "#define STDC_HEADERS 1"
			# fsstress needs xfs/xfs.h (xfslibs-dev) for its XFS ops
			# even when it runs on ext4.
			[ -f /usr/include/xfs/xfs.h ] && echo "#define HAVE_XFS_XFS_H 1"
		} >"$_src/config.h"
		${CC:-cc} -O2 -w -D_GNU_SOURCE -I"$_src" -I"$_top/include" -I"$_top/src" \
			-o "$_tools/$1.new" "$_top/ltp/$1.c" >"$_tools/$1.log" 2>&1 &&
			mv "$_tools/$1.new" "$_tools/$1"
	) || return 1
	echo "$_tools/$1"
}

# rootfs_tar small|long FILE
rootfs_tar() {
	case $1 in
	small) set -- "$2" etc usr/share/perl;;
	long) set -- "$2" etc usr/share/man usr/share/doc;;
	esac
	_out=$1
	shift
	tar -C / --numeric-owner --xattrs --xattrs-include='*' --acls --sort=name \
		-cf "$_out" "$@" 2>/dev/null
	# tar says 1 when a file changed as it read it: the archive is still
	# whole.
	[ -s "$_out" ]
}
