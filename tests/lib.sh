# SPDX-License-Identifier: GPL-2.0-or-later
# tests/lib.sh: helpers every shell test sources.  POSIX sh (Debian's
# /bin/sh is dash; `make check` runs the tests with $(SHELL)).
#
#   . "$top_srcdir/tests/lib.sh"     (or relative to the script, by hand)
#
# What it gives a test:
#   TAP:      plan N, ok DESC, not_ok DESC, check DESC CMD..., skip DESC WHY,
#             skip_all WHY, diag TEXT..., diag_file FILE, bail_out WHY,
#             done_testing
#   needs:    need_root, need_fuse, need_loop, need_cmd CMD..., need_prog PATH...
#             (each skips the whole test, with the reason, when unmet)
#   running:  bounded SECS CMD... (a time limit, and interruptible),
#             track_pid PID / untrack_pid PID (processes cleanup must end)
#   scratch:  $TEST_TMP, a fresh directory removed at exit; everything the
#             test mounts, attaches or starts lives under it, which is how
#             the cleanup finds it again
#   mounts:   kernel_mount IMAGE DIR [OPTS], imgfs_mount IMAGE DIR [OPTS],
#             imgfs_unmount DIR, fuse2fs_mount IMAGE DIR [OPTS], unmount DIR,
#             fs_type DIR, private_mounts CMD... (for read-write mounts)
#   teardown: cleanup runs on exit and on HUP/INT/TERM: unmounts everything
#             under $TEST_TMP (lazily if it must), ends the FUSE servers
#             serving it, detaches its loop devices, removes the directory.
#             leftovers lists what would be left; assert_clean DESC makes
#             that a test line (tests assert it after their own teardown).
#   programs: $IMGFS_MOUNT $IMGFS_SERVER $IMGFS_INSPECT $TREECMP $MKCORPUS_EXT4
#             $MKCORPUS_XFS
#
# Set IMGFS_TEST_KEEP=1 to keep $TEST_TMP (after unmounting) for a look.

# ---- where things are ----

# automake exports both; by hand, the source tree is the script's parent
# and the build tree defaults to it (pass top_builddir for a VPATH build).
if [ -z "${top_srcdir:-}" ]; then
	top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
fi
: "${top_builddir:=$top_srcdir}"
IMGFS_MOUNT=$top_builddir/cmd/imgfs-mount
IMGFS_SERVER=$top_builddir/cmd/imgfs-server
IMGFS_INSPECT=$top_builddir/cmd/imgfs-inspect
TREECMP=$top_builddir/tests/treecmp
MKCORPUS_EXT4=$top_srcdir/tests/mkcorpus-ext4.sh
MKCORPUS_XFS=$top_srcdir/tests/mkcorpus-xfs.sh
TEST_NAME=$(basename "$0" .sh)
export top_srcdir top_builddir

# Byte order of names, dates, messages: the same for every run and for
# both sides of a comparison.
LC_ALL=C
export LC_ALL
PATH=$PATH:/usr/sbin:/sbin

# ---- TAP ----

tap_n=0
tap_failed=0
tap_planned=

plan() {
	tap_planned=$1
	echo "1..$1"
}

ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}

# skip DESC REASON
skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

# Only before any other TAP line: the whole script is skipped.
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

# diag_file FILE [MAXLINES]: the first lines of a command's output.
diag_file() {
	_max=${2:-60}
	[ -s "$1" ] || return 0
	sed -n "1,${_max}s/^/# /p" "$1"
	_lines=$(wc -l <"$1")
	[ "$_lines" -le "$_max" ] || echo "# ... ($((_lines - _max)) more lines)"
}

# Something the rest of the script cannot go on without.
bail_out() {
	echo "Bail out! $*"
	exit 99
}

# Lines the kernel logged (audit type 1326) for imgfs-server processes the
# seccomp filter killed.  Only root may read the kernel log; elsewhere
# this is empty and the check below says nothing.
seccomp_kills() {
	dmesg 2>/dev/null | grep 'type=1326' | grep 'comm="imgfs-server"'
}
seccomp_kills_before=$(seccomp_kills | wc -l)

done_testing() {
	# A server the filter killed shows up as a dead mount somewhere; say
	# which system call did it.  (Tests run side by side: the kill may be
	# another test's, but it is a failure either way.)
	if [ -z "$tap_planned" ] && [ "$(seccomp_kills | wc -l)" -gt "$seccomp_kills_before" ]; then
		not_ok "no imgfs-server was killed by its seccomp filter"
		seccomp_kills | tail -n +$((seccomp_kills_before + 1)) | sed 's/^/# /'
	fi
	[ -n "$tap_planned" ] || echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
	exit $?
}

# check DESC CMD [ARG]...: one test line for a command's exit status; its
# output goes to the log as diagnostics when it fails.
check() {
	_desc=$1
	shift
	if "$@" >"$TEST_TMP/.check.out" 2>&1; then
		ok "$_desc"
	else
		_rc=$?
		not_ok "$_desc"
		diag "command failed (exit $_rc): $*"
		diag_file "$TEST_TMP/.check.out"
		return 1
	fi
}

# ---- requirements ----

need_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root"
}

need_cmd() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || skip_all "needs $_c (not in PATH)"
	done
}

need_prog() {
	for _p in "$@"; do
		[ -x "$_p" ] || skip_all "not built: $_p"
	done
}

# /dev/fuse must exist *and* open: in containers it is often absent or
# denied by the device cgroup.
need_fuse() {
	[ -c /dev/fuse ] || skip_all "no /dev/fuse"
	(exec 3<>/dev/fuse) 2>/dev/null || skip_all "/dev/fuse cannot be opened"
}

need_loop() {
	[ -c /dev/loop-control ] || skip_all "no /dev/loop-control (loop devices)"
	losetup -f >/dev/null 2>&1 || skip_all "no free loop device"
}

# need_kernel_fs TYPE WHY: the kernel's own driver for TYPE (loaded if it
# is a module), which the test needs for WHY.
need_kernel_fs() {
	grep -qw "$1" /proc/filesystems || modprobe "$1" 2>/dev/null
	grep -qw "$1" /proc/filesystems || skip_all "the kernel has no $1 driver ($2)"
}

# The implementation a comparison test mounts: $IMGFS_TEST_FS, default
# imgfs; fuse2fs and kernel check the test itself.  Sets $impl.
need_impl() {
	impl=${IMGFS_TEST_FS:-imgfs}
	case $impl in
	imgfs) need_fuse;;
	fuse2fs) need_fuse; need_cmd fuse2fs;;
	kernel) ;;
	*) bail_out "IMGFS_TEST_FS must be imgfs, fuse2fs or kernel, not '$impl'";;
	esac
	if [ "$impl" = imgfs ] && [ ! -x "$IMGFS_MOUNT" ]; then
		bail_out "imgfs-mount is not built: $IMGFS_MOUNT"
	fi
}

# ---- scratch directory and teardown ----

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/imgfs-$TEST_NAME.XXXXXX") ||
	bail_out "cannot create a temporary directory"
case $TEST_TMP in
*[!A-Za-z0-9_./-]*)
	# mountinfo and losetup escape odd bytes; keep the matching simple.
	bail_out "temporary directory '$TEST_TMP' has unusual characters: set TMPDIR";;
esac

# Mount points at or under $1, deepest first (stacked ones once per mount).
mounts_under() {
	awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo |
		sort -r
}

# The FUSE connection of the mount at $1 (its device minor), if it is one.
fuse_conn() {
	awk -v p="$1" '$5 == p {
		for (i = 7; $i != "-"; i++) ;
		if ($(i + 1) ~ /^fuse/) { split($3, d, ":"); print d[2] }
	}' /proc/self/mountinfo | tail -n 1
}

# PIDs of FUSE servers (and mount helpers) working for us: the ones we
# recorded, and any imgfs/fuse2fs process whose command line or open
# files name $TEST_TMP (the image it serves usually lives there) or an
# image we mounted from elsewhere (listed in .images).
our_servers() {
	_tracked=" $(cat "$TEST_TMP/.pids" 2>/dev/null | tr '\n' ' ') "
	{ echo "$TEST_TMP"; cat "$TEST_TMP/.images" 2>/dev/null; } >"$TEST_TMP/.patterns"
	for _d in /proc/[0-9]*; do
		_pid=${_d#/proc/}
		# Builtins only in this loop: it runs over every process.
		_comm=
		{ read -r _comm <"$_d/comm"; } 2>/dev/null || continue
		case $_tracked in
		*" $_pid "*) echo "$_pid"; continue;;
		esac
		case $_comm in
		imgfs-server|imgfs-mount|fuse2fs) ;;
		*) continue;;
		esac
		if tr '\0' ' ' 2>/dev/null <"$_d/cmdline" | grep -qF -f "$TEST_TMP/.patterns" ||
			ls -l "$_d/fd/" 2>/dev/null | grep -qF -f "$TEST_TMP/.patterns"; then
			echo "$_pid"
		fi
	done
}

# imgfs_server_pids IMAGE: the imgfs-server processes serving IMAGE, as
# "SUPERVISOR SERVER" ("-" for one not found).  The server is the one in
# a PID namespace of its own (two NSpid numbers).
imgfs_server_pids() {
	_sup= _srv=
	for _d in /proc/[0-9]*; do
		[ "$(cat "$_d/comm" 2>/dev/null)" = imgfs-server ] || continue
		tr '\0' '\n' <"$_d/cmdline" 2>/dev/null | grep -qx -- "--source=$1" || continue
		if [ "$(awk '$1 == "NSpid:" { print NF - 1 }' "$_d/status")" = 2 ]; then
			_srv=${_d#/proc/}
		else
			_sup=${_d#/proc/}
		fi
	done
	echo "${_sup:--} ${_srv:--}"
}

# Record a process the cleanup must end (e.g. a server run with -f), and
# forget it once it is gone (its number may be reused).
track_pid() {
	echo "$1" >>"$TEST_TMP/.pids"
}

untrack_pid() {
	[ -f "$TEST_TMP/.pids" ] || return 0
	grep -vx "$1" "$TEST_TMP/.pids" >"$TEST_TMP/.pids.new"
	mv "$TEST_TMP/.pids.new" "$TEST_TMP/.pids"
}

# bounded SECS CMD [ARG]...: run CMD with a time limit.  In the background
# and waited for, because a shell runs a signal's trap only once the
# foreground command is over: so an interrupted test (Ctrl-C, a CI
# timeout) cleans up at once, ending CMD, instead of after SECS.
bounded() {
	_secs=$1
	shift
	timeout -k 10 "$_secs" "$@" &
	_bpid=$!
	track_pid $_bpid
	wait $_bpid
	_brc=$?
	untrack_pid $_bpid
	return $_brc
}

# Loop devices whose backing file lives under $TEST_TMP, or that a mount
# of ours set up (recorded as "DEVICE BACKING-FILE" in .loops: images may
# live elsewhere, and a device number is reused once freed).
our_loops() {
	losetup -l -n -O NAME,BACK-FILE 2>/dev/null |
		awk -v p="$TEST_TMP/" -v t="$TEST_TMP/.loops" '
			BEGIN { while ((getline l < t) > 0) { split(l, f, " "); mine[f[1] " " f[2]] = 1 } }
			index($2, p) == 1 || ($1 " " $2) in mine { print $1 }'
}

# Remember the loop device under mount point $1.
track_loop() {
	_dev=$(findmnt -n -o SOURCE --mountpoint "$1" | tail -n 1)
	case $_dev in
	/dev/loop*)
		echo "$_dev $(losetup -l -n -O BACK-FILE "$_dev" 2>/dev/null)" >>"$TEST_TMP/.loops";;
	esac
}

# What a test would leave behind, one line each; nothing when clean.
leftovers() {
	for _m in $(mounts_under "$TEST_TMP"); do
		echo "mount: $_m"
	done
	for _l in $(our_loops); do
		echo "loop device: $_l"
	done
	for _p in $(our_servers); do
		echo "process: $_p $(tr '\0' ' ' 2>/dev/null <"/proc/$_p/cmdline")"
	done
}

# assert_clean DESC: a test line saying nothing is left behind.  Servers
# exit by themselves after the unmount, so give them a moment.
# wait_for_file FILE PID TENTHS: until FILE exists, process PID has ended
# or TENTHS tenths of a second have passed; true if FILE exists.
wait_for_file() {
	_i=0
	while [ ! -e "$1" ] && [ $_i -lt "$3" ] && kill -0 "$2" 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -e "$1" ]
}

# settled_leftovers [CMD]: what CMD (default: leftovers) still reports
# once servers have had 5 s to exit by themselves after their unmount.
settled_leftovers() {
	_cmd=${1:-leftovers}
	_i=0
	while [ -n "$($_cmd)" ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	$_cmd
}

assert_clean() {
	settled_leftovers >"$TEST_TMP/.leftovers"
	if [ -s "$TEST_TMP/.leftovers" ]; then
		not_ok "$1"
		diag_file "$TEST_TMP/.leftovers"
		return 1
	fi
	ok "$1"
}

# Unmount one mount point; a stuck FUSE server gets its connection
# aborted and the mount is detached lazily rather than left behind.
unmount() {
	timeout 20 umount "$1" 2>/dev/null && return 0
	_conn=$(fuse_conn "$1")
	if [ -n "$_conn" ] && [ -w "/sys/fs/fuse/connections/$_conn/abort" ]; then
		echo 1 >"/sys/fs/fuse/connections/$_conn/abort"
	fi
	timeout 20 umount "$1" 2>/dev/null || timeout 20 umount -l "$1"
}

cleanup() {
	_rc=$?
	[ -z "${cleanup_done:-}" ] || return 0
	cleanup_done=1
	[ -n "${TEST_TMP:-}" ] && [ -d "$TEST_TMP" ] || return 0
	# Commands still running (interrupted in bounded) first: they keep
	# mounts busy.  Then mounts (a server cannot exit while its mount is
	# up), a few rounds for mounts stacked on one point.
	if [ -s "$TEST_TMP/.pids" ]; then
		kill -TERM $(cat "$TEST_TMP/.pids") 2>/dev/null
		sleep 0.2
	fi
	for _round in 1 2 3; do
		_ms=$(mounts_under "$TEST_TMP")
		[ -n "$_ms" ] || break
		for _m in $_ms; do
			unmount "$_m" || true
		done
	done
	_pids=$(our_servers)
	if [ -n "$_pids" ]; then
		kill -TERM $_pids 2>/dev/null
		_i=0
		while [ $_i -lt 30 ] && [ -n "$(our_servers)" ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		_pids=$(our_servers)
		[ -z "$_pids" ] || kill -KILL $_pids 2>/dev/null
	fi
	# Mounts made with -o loop detach their loop device at unmount; this
	# catches explicit losetup and lazily unmounted ones.
	for _l in $(our_loops); do
		losetup -d "$_l" 2>/dev/null
	done
	if [ -n "$(mounts_under "$TEST_TMP")" ]; then
		echo "# cleanup: still mounted under $TEST_TMP, not removing it" >&2
	elif [ -n "${IMGFS_TEST_KEEP:-}" ]; then
		echo "# cleanup: kept $TEST_TMP" >&2
	else
		rm -rf --one-file-system "$TEST_TMP"
	fi
	return $_rc
}

trap cleanup EXIT
trap 'cleanup; trap - EXIT; exit 129' HUP
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM

# ---- mounting ----

# private_mounts CMD [ARG]...: run CMD in a mount namespace of its own,
# for read-write kernel mounts (tests/private-ns.sh says why).
private_mounts() {
	sh "$top_srcdir/tests/private-ns.sh" "$@"
}

# The type mountinfo shows for a mount point ("ext4", "fuse.imgfs", ...).
fs_type() {
	findmnt -n -o FSTYPE --mountpoint "$1" 2>/dev/null | tail -n 1
}

# kernel_mount IMAGE DIR [OPTS]: the ground truth.  Read-only through a
# read-only loop device (mount sets it up and frees it at unmount).
# noload: never replay a journal, so the kernel shows the image as it is
# on disk, which is also all a read-only imgfs can show; the corpus
# images are clean, so this changes nothing for them.  -t ext4 because
# that driver serves ext2 and ext3 as well.
kernel_mount() {
	mkdir -p "$2" &&
		mount -t ext4 -o "ro,loop,noload${3:+,$3}" "$1" "$2" &&
		track_loop "$2"
}

# Remember an image served by FUSE, to find its server again.
track_image() {
	case $1 in
	/*) echo "$1";;
	*) echo "$(pwd)/$1";;
	esac >>"$TEST_TMP/.images"
}

# imgfs_mount IMAGE DIR [OPTS]: the implementation under test.
imgfs_mount() {
	track_image "$1"
	mkdir -p "$2" &&
		bounded 60 "$IMGFS_MOUNT" -o "ro${3:+,$3}" "$1" "$2"
}

# imgfs_unmount DIR: imgfs-mount's own way out (umount works as well).
imgfs_unmount() {
	bounded 30 "$IMGFS_MOUNT" -u "$1"
}

# fuse2fs_mount IMAGE DIR [OPTS]: an independent FUSE implementation, to
# check the tests themselves before (or besides) imgfs.
fuse2fs_mount() {
	track_image "$1"
	mkdir -p "$2" &&
		bounded 60 fuse2fs -o "ro,fakeroot${3:+,$3}" "$1" "$2" >/dev/null
}

# ---- the kernel as the truth on a damaged image ----

# look DIR PATH...: what a reader sees of each PATH under DIR, one line
# each: a directory's sorted names, a file's size and the checksum of its
# first 16 MiB (a damaged size may claim exabytes), a link's target, or
# the error and how many bytes were read before it.  The kernel's EUCLEAN and imgfs's EIO (what
# EUCLEAN becomes on its way out of FUSE) read the same.
look() {
	_ld=$1
	shift
	for _lp; do
		rm -f "$TEST_TMP/look.data"
		if [ -L "$_ld/$_lp" ]; then
			readlink "$_ld/$_lp"
		elif [ -d "$_ld/$_lp" ]; then
			ls -a "$_ld/$_lp"
		else
			stat -c %s "$_ld/$_lp" &&
				head -c 16777216 "$_ld/$_lp" >"$TEST_TMP/look.data" &&
				md5sum <"$TEST_TMP/look.data"
		fi >"$TEST_TMP/look.out" 2>"$TEST_TMP/look.err"
		if [ -s "$TEST_TMP/look.err" ]; then
			# how far a read got: from byte 0, or after some data
			echo "$_lp: $(cat "$TEST_TMP/look.data" 2>/dev/null | wc -c) bytes, then" \
				"$(tail -n 1 "$TEST_TMP/look.err" | sed -e 's/.*: //' \
					-e 's/Structure needs cleaning/Input\/output error/')"
		else
			echo "$_lp: $(sort "$TEST_TMP/look.out" | tr '\n' ' ')"
		fi
	done
}

# as_kernel DESC FSTYPE IMAGE EXPECT PATH...: the kernel (read-only loop
# mount) and imgfs see the same of each PATH of IMAGE, and what the kernel
# sees matches EXPECT (grep -E: that the damage took).  One test line.
as_kernel() {
	_desc=$1 _type=$2 _img=$3 _expect=$4
	shift 4
	_opts=ro,loop,noload
	[ "$_type" = xfs ] && _opts=ro,loop,norecovery
	mkdir -p "$TEST_TMP/kmnt" "$TEST_TMP/imnt"
	if ! mount -t "$_type" -o "$_opts" "$_img" "$TEST_TMP/kmnt" 2>"$TEST_TMP/as.err"; then
		not_ok "$_desc: the kernel mounts the image"
		diag_file "$TEST_TMP/as.err"
		return 1
	fi
	track_loop "$TEST_TMP/kmnt"
	look "$TEST_TMP/kmnt" "$@" >"$TEST_TMP/as.kernel"
	umount "$TEST_TMP/kmnt"
	if ! grep -q -E -e "$_expect" "$TEST_TMP/as.kernel"; then
		not_ok "$_desc: the kernel sees $_expect (test bug: the damage did not take)"
		diag_file "$TEST_TMP/as.kernel"
		return 1
	fi
	if ! imgfs_mount "$_img" "$TEST_TMP/imnt" 2>"$TEST_TMP/as.err" >/dev/null; then
		not_ok "$_desc: imgfs mounts the image"
		diag_file "$TEST_TMP/as.err"
		return 1
	fi
	look "$TEST_TMP/imnt" "$@" >"$TEST_TMP/as.imgfs"
	unmount "$TEST_TMP/imnt"
	if cmp -s "$TEST_TMP/as.kernel" "$TEST_TMP/as.imgfs"; then
		ok "$_desc: as the kernel: $(grep -E -e "$_expect" "$TEST_TMP/as.kernel" | head -n 1)"
	else
		not_ok "$_desc: as the kernel"
		diff "$TEST_TMP/as.kernel" "$TEST_TMP/as.imgfs" | sed 's/^/# /'
	fi
}
