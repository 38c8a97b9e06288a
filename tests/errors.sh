#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every user error gets one line saying what and why, a non-zero exit, and
# leaves no mount and no process behind.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_cmd mkfs.ext4 debugfs mkswap setpriv unshare
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"

chmod 0755 "$TEST_TMP"
mnt=$TEST_TMP/mnt
mkdir -p "$mnt" "$TEST_TMP/src"
echo data >"$TEST_TMP/src/file"
good=$TEST_TMP/good.ext4
mkfs.ext4 -q -d "$TEST_TMP/src" "$good" 8M
chmod 0644 "$good"

# expect_error DESC PATTERN CMD...: non-zero exit, exactly one line on
# stderr matching PATTERN (grep -E), nothing on stdout, nothing left.
expect_error() {
	_desc=$1 _pattern=$2
	shift 2
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	_rc=$?
	_lines=$(wc -l <"$TEST_TMP/err")
	if [ $_rc -ne 0 ] && [ "$_lines" -eq 1 ] && [ ! -s "$TEST_TMP/out" ] &&
		grep -Eq "$_pattern" "$TEST_TMP/err"; then
		ok "$_desc: $(cat "$TEST_TMP/err")"
	else
		not_ok "$_desc (exit $_rc, $_lines stderr lines, want /$_pattern/)"
		diag_file "$TEST_TMP/err"
		diag_file "$TEST_TMP/out"
	fi
	assert_clean "$_desc: no mount or process left"
}

# Images that are not what imgfs serves.
head -c 4194304 /dev/urandom >"$TEST_TMP/random.img"
: >"$TEST_TMP/empty.img"
mkswap -q "$TEST_TMP/swap.img" 4M >/dev/null 2>&1 ||
	{ head -c 4194304 /dev/zero >"$TEST_TMP/swap.img"; mkswap -q "$TEST_TMP/swap.img" >/dev/null; }
mkfs.ext4 -q -O encrypt "$TEST_TMP/encrypt.ext4" 8M
cp "$good" "$TEST_TMP/recover.ext4"
debugfs -w -R "feature needs_recovery" "$TEST_TMP/recover.ext4" >/dev/null 2>&1
mkdir "$TEST_TMP/notadir.d"

expect_error "missing image" "nonexistent.img: No such file or directory" \
	"$IMGFS_MOUNT" "$TEST_TMP/nonexistent.img" "$mnt"
expect_error "directory as image" "not a regular file or block device" \
	"$IMGFS_MOUNT" "$TEST_TMP/notadir.d" "$mnt"
expect_error "random bytes" "no filesystem found" \
	"$IMGFS_MOUNT" "$TEST_TMP/random.img" "$mnt"
expect_error "empty file" "no filesystem found" \
	"$IMGFS_MOUNT" "$TEST_TMP/empty.img" "$mnt"
expect_error "wrong filesystem type" "swap filesystem is not supported" \
	"$IMGFS_MOUNT" "$TEST_TMP/swap.img" "$mnt"
expect_error "unsupported feature" "encrypt" \
	"$IMGFS_MOUNT" "$TEST_TMP/encrypt.ext4" "$mnt"
expect_error "journal needing recovery" "recovery" \
	"$IMGFS_MOUNT" "$TEST_TMP/recover.ext4" "$mnt"
expect_error "missing mount point" "nowhere: No such file or directory" \
	"$IMGFS_MOUNT" "$good" "$TEST_TMP/nowhere"
expect_error "mount point is a file" "not a directory" \
	"$IMGFS_MOUNT" "$good" "$good"

# Options.
expect_error "unknown option" "unknown mount option 'bogus'" \
	"$IMGFS_MOUNT" -o bogus "$good" "$mnt"
expect_error "bad offset" "offset=abc" \
	"$IMGFS_MOUNT" -o offset=abc "$good" "$mnt"
expect_error "bad listing_memory" "listing_memory=lots" \
	"$IMGFS_MOUNT" -o listing_memory=lots "$good" "$mnt"
expect_error "listing_memory=0" "listing_memory=0" \
	"$IMGFS_MOUNT" -o listing_memory=0 "$good" "$mnt"
expect_error "offset past the end" "past the end" \
	"$IMGFS_MOUNT" -o offset=1G "$good" "$mnt"
expect_error "offset with no filesystem there" "no filesystem found" \
	"$IMGFS_MOUNT" -o offset=4096 "$good" "$mnt"
expect_error "partition 0" "partition=0" \
	"$IMGFS_MOUNT" -o partition=0 "$good" "$mnt"
expect_error "partition on an unpartitioned image" "no partition" \
	"$IMGFS_MOUNT" -o partition=2 "$good" "$mnt"
expect_error "offset and partition" "exclude each other" \
	"$IMGFS_MOUNT" -o offset=0,partition=1 "$good" "$mnt"
expect_error "type mismatch" "unknown filesystem type" \
	"$IMGFS_MOUNT" -o type=btrfs "$good" "$mnt"
expect_error "missing arguments" "missing IMAGE or DIR" \
	"$IMGFS_MOUNT" "$good"
expect_error "unmount of a non-mount" "not a mount point" \
	"$IMGFS_MOUNT" -u "$mnt"
expect_error "unmount of a foreign mount" "not an imgfs mount" \
	"$IMGFS_MOUNT" -u /proc

# Privilege: an unprivileged user outside any user namespace may not mount.
[ "$(stat -c %a /dev/fuse)" = 666 ] || chmod 0666 /dev/fuse
expect_error "not allowed to mount here" "not allowed to mount here" \
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$IMGFS_MOUNT" "$good" "$mnt"

# No access to /dev/fuse: a private copy of the node, mode 0600, over it.
mknod -m 0600 "$TEST_TMP/fuse-node" c 10 229
cat >"$TEST_TMP/nofuse.sh" <<'SCRIPT'
mount --bind "$1" /dev/fuse || exit 99
exec setpriv --reuid=65534 --regid=65534 --clear-groups -- unshare -Urm "$2" "$3" "$4"
SCRIPT
expect_error "no access to /dev/fuse" "cannot open /dev/fuse: Permission denied" \
	unshare -m sh "$TEST_TMP/nofuse.sh" "$TEST_TMP/fuse-node" "$IMGFS_MOUNT" "$good" "$mnt"

# XFS: the wrong type given, and features imgfs does not read (an
# incompatible feature bit it does not know, as xfs_db sets and reads it
# back; a v4 filesystem), refused as root and, for an unprivileged user,
# with --unshare; the same XFS image with the right type or none mounts.
# Empty images of 40 MiB: below the 300 MiB mkfs.xfs wants, as it allows
# for test suites.
as_user() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}
mkxfs() {
	_img=$1
	shift
	truncate -s 40M "$_img" && TEST_DIR=$TEST_TMP TEST_DEV=$_img QA_CHECK_FS=xfs \
		mkfs.xfs -q -f -d agcount=2 "$@" "$_img" >"$TEST_TMP/mkfs.err" 2>&1 &&
		chmod 0644 "$_img"
}
xfs=$TEST_TMP/good.xfs
if ! command -v mkfs.xfs >/dev/null 2>&1 || ! command -v xfs_db >/dev/null 2>&1; then
	skip "XFS errors" "no mkfs.xfs or xfs_db"
elif ! mkxfs "$xfs"; then
	not_ok "mkfs.xfs makes a 40 MiB image"
	diag_file "$TEST_TMP/mkfs.err"
else
	unshare_ok=
	as_user unshare -Urm true 2>/dev/null && unshare_ok=1
	# xfs_error DESC PATTERN IMAGE [OPTS]: as root, then with --unshare.
	xfs_error() {
		expect_error "$1" "$2" "$IMGFS_MOUNT" ${4:+-o "$4"} "$3" "$mnt"
		if [ -n "$unshare_ok" ]; then
			expect_error "$1, --unshare" "$2" \
				as_user "$IMGFS_MOUNT" --unshare ${4:+-o "$4"} "$3" "$mnt" -- true
		else
			skip "$1, --unshare" "unprivileged user namespaces are disabled"
		fi
	}
	xfs_error "XFS image, type=ext4" "good\\.xfs: is xfs, not ext4" "$xfs" type=ext4
	xfs_error "ext4 image, type=xfs" "good\\.ext4: is ext4, not xfs" "$good" type=xfs

	cp "$xfs" "$TEST_TMP/incompat.xfs"
	v=$(xfs_db -r -c 'sb 0' -c 'print features_incompat' "$xfs" | sed 's/.* = //')
	want=$(printf '%#x' $((v | (1 << 29))))
	xfs_db -x -c 'sb 0' -c "write -d features_incompat $want" "$TEST_TMP/incompat.xfs" >/dev/null 2>&1
	if [ "$(xfs_db -r -c 'sb 0' -c 'print features_incompat' "$TEST_TMP/incompat.xfs" 2>/dev/null |
		sed 's/.* = //')" = "$want" ]; then
		xfs_error "XFS with an unknown incompatible feature" \
			"incompat\\.xfs: .*unsupported.*feature.*0x20000000" "$TEST_TMP/incompat.xfs"
	else
		not_ok "xfs_db sets an unknown incompatible feature bit"
	fi
	if mkxfs "$TEST_TMP/v4.xfs" -m crc=0 &&
		xfs_db -r -c version "$TEST_TMP/v4.xfs" | grep -q '^versionnum .* = V4,'; then
		xfs_error "XFS v4" "v4\\.xfs: .*v4.*not supported" "$TEST_TMP/v4.xfs"
	else
		skip "XFS v4" "mkfs.xfs makes no v4 filesystem: $(head -n 1 "$TEST_TMP/mkfs.err")"
	fi

	# The same image mounts, probed and with type=xfs.
	if "$IMGFS_MOUNT" "$xfs" "$mnt" && [ "$(fs_type "$mnt")" = fuse.imgfs ] &&
		"$IMGFS_MOUNT" -u "$mnt"; then
		ok "the XFS image mounts, type probed"
	else
		not_ok "the XFS image mounts, type probed"
	fi
	if [ -z "$unshare_ok" ]; then
		skip "the XFS image mounts with --unshare -o type=xfs" "no unprivileged user namespaces"
	elif as_user "$IMGFS_MOUNT" --unshare -o type=xfs "$xfs" "$mnt" -- \
		sh -c 'grep -q " $1 .* fuse\.imgfs " /proc/self/mountinfo' sh "$mnt"; then
		ok "the XFS image mounts with --unshare -o type=xfs"
	else
		not_ok "the XFS image mounts with --unshare -o type=xfs"
	fi
	assert_clean "after the XFS mounts: nothing left"
fi

# Hangs.  A FIFO as the image: refused before any open could wait for a
# writer.  A mount point on proc or sysfs: refused; it used to deadlock,
# the helper reading /proc/self through the new mount before the server
# could answer INIT.  Each bounded: a hang is a failure, not a stuck run.
mkfifo "$TEST_TMP/fifo.img"
expect_error "a FIFO as the image" "fifo\.img: not a regular file or block device" \
	bounded 20 "$IMGFS_MOUNT" "$TEST_TMP/fifo.img" "$mnt"
expect_error "a FIFO as the image, --unshare" "fifo\.img: not a regular file or block device" \
	bounded 20 "$IMGFS_MOUNT" --unshare "$TEST_TMP/fifo.img" "$mnt" -- true
for pseudo in /proc /sys; do
	fs=$(stat -f -c %T "$pseudo")
	case $fs in
	proc|sysfs) ;;
	*) skip "mount point $pseudo" "it is $fs here, not proc or sysfs"; continue;;
	esac
	expect_error "mount point $pseudo" "mount point $pseudo: is on $fs, a kernel pseudo filesystem" \
		bounded 20 "$IMGFS_MOUNT" "$good" "$pseudo"
	expect_error "mount point $pseudo, --unshare" \
		"mount point $pseudo: is on $fs, a kernel pseudo filesystem" \
		bounded 20 "$IMGFS_MOUNT" --unshare "$good" "$pseudo" -- true
done

# Mounts whose server was killed, stacked on one point under a live one:
# one -u removes the top and the dead ones it uncovers, and says that the
# live one at the bottom remains; a second -u removes that.
mount_count() {
	awk -v p="$mnt" '$5 == p' /proc/self/mountinfo | wc -l
}
# Each dead mount from an image of its own, to find its server by it.
cp "$good" "$TEST_TMP/dead1.ext4"
cp "$good" "$TEST_TMP/dead2.ext4"
stack=ok
for img in "$good" "$TEST_TMP/dead1.ext4" "$TEST_TMP/dead2.ext4"; do
	bounded 60 "$IMGFS_MOUNT" "$img" "$mnt" || stack="mounting $img failed"
done
for img in "$TEST_TMP/dead1.ext4" "$TEST_TMP/dead2.ext4"; do
	# The supervisor: its server dies with it (PR_SET_PDEATHSIG).
	kill -KILL $(imgfs_server_pids "$img" | cut -d' ' -f1) 2>/dev/null
done
i=0
while [ "$(imgfs_server_pids "$TEST_TMP/dead1.ext4") $(imgfs_server_pids "$TEST_TMP/dead2.ext4")" != "- - - -" ] &&
	[ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ "$stack" = ok ] && [ "$(mount_count)" -eq 3 ] && ! stat "$mnt/file" >/dev/null 2>&1; then
	bounded 30 "$IMGFS_MOUNT" -u "$mnt" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(mount_count)" -eq 1 ] && [ "$(cat "$mnt/file")" = data ] &&
		grep -q "1 more imgfs mount stacked here" "$TEST_TMP/err"; then
		ok "-u removes a stack's dead mounts and says one live one remains"
	else
		not_ok "-u removes a stack's dead mounts (exit $rc, $(mount_count) mounts left)"
		diag_file "$TEST_TMP/err"
	fi
	bounded 30 "$IMGFS_MOUNT" -u "$mnt" 2>"$TEST_TMP/err"
	check "a second -u removes the live one, saying nothing" \
		test "$(mount_count) $(wc -c <"$TEST_TMP/err")" = "0 0"
else
	not_ok "a stack of two dead mounts on a live one ($stack, $(mount_count) mounts)"
fi
assert_clean "after the stack: nothing left"

# A live mount on one whose server is alive but hung (stopped): -u removes
# the top, leaves the hung one in place as live, and does not hang on it.
cp "$good" "$TEST_TMP/hung.ext4"
if bounded 60 "$IMGFS_MOUNT" "$TEST_TMP/hung.ext4" "$mnt" && bounded 60 "$IMGFS_MOUNT" "$good" "$mnt" &&
	hung=$(imgfs_server_pids "$TEST_TMP/hung.ext4" | cut -d' ' -f2) && [ "$hung" != - ] &&
	kill -STOP "$hung"; then
	bounded 30 "$IMGFS_MOUNT" -u "$mnt" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(mount_count)" -eq 1 ] &&
		grep -q "1 more imgfs mount stacked here" "$TEST_TMP/err"; then
		ok "-u over a hung server's mount returns, leaving that mount"
	else
		not_ok "-u over a hung server's mount returns, leaving that mount (exit $rc, $(mount_count) mounts left)"
		diag_file "$TEST_TMP/err"
	fi
else
	not_ok "a live mount on a hung one (the mounts or the stop failed)"
fi
[ -n "${hung:-}" ] && [ "$hung" != - ] && kill -CONT "$hung" 2>/dev/null
bounded 30 "$IMGFS_MOUNT" -u "$mnt" 2>/dev/null
check "...and, resumed, the hung server's mount is removed by -u" test "$(mount_count)" -eq 0
assert_clean "after the hung server: nothing left"

# The server and its supervisor exit promptly after -u: within 2 s here,
# generous; the time is in the test line, for the record.
if bounded 60 "$IMGFS_MOUNT" "$good" "$mnt" && [ "$(cat "$mnt/file")" = data ]; then
	pids=$(imgfs_server_pids "$good")
	start=$(date +%s%N)
	bounded 30 "$IMGFS_MOUNT" -u "$mnt"
	gone=
	while [ -z "$gone" ]; do
		gone=1
		for pid in $pids; do
			[ "$pid" != - ] && [ -d "/proc/$pid" ] &&
				[ "$(awk '$1 == "State:" { print $2 }' "/proc/$pid/status" 2>/dev/null)" != Z ] &&
				gone=
		done
		[ -n "$gone" ] || [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ] || break
		[ -n "$gone" ] || sleep 0.01
	done
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	if [ -n "$gone" ] && [ $ms -lt 2000 ] && [ "$pids" != "- -" ]; then
		ok "server and supervisor gone ${ms} ms after -u"
	else
		not_ok "server and supervisor ($pids) still there ${ms} ms after -u"
	fi
else
	not_ok "mount for the exit latency"
fi
assert_clean "after the exit latency: nothing left"

# The good image does mount: the failures above were about their inputs.
if "$IMGFS_MOUNT" "$good" "$mnt" && [ "$(cat "$mnt/file")" = data ]; then
	ok "the same image and mount point work"
else
	not_ok "the same image and mount point work"
fi
"$IMGFS_MOUNT" -u "$mnt"
assert_clean "after the good mount: nothing left"
done_testing
