#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The server's sandbox, seen from outside a real mount: what the kernel
# reports in /proc about the running server (seccomp, no_new_privs, every
# capability set, namespaces, an empty root, its descriptors, its limits),
# rootful and rootless; then killing it, or its supervisor, leaves a mount
# answering ENOTCONN that imgfs-mount -u removes, and nothing else changed.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_cmd setpriv unshare mkfs.ext4 dumpe2fs cmp readlink
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"

# Not 65534: a rootless server must show its user's uid, not nobody's.
USER_ID=4321
as_user() {
	setpriv --reuid=$USER_ID --regid=$USER_ID --clear-groups -- "$@"
}
[ "$(stat -c %a /dev/fuse)" = 666 ] || chmod 0666 /dev/fuse

chmod 0755 "$TEST_TMP"
src=$TEST_TMP/src
img=$TEST_TMP/img.ext4
mnt=$TEST_TMP/mnt
mkdir -p "$src/dir" "$mnt"
head -c 1000000 /dev/urandom >"$src/data.bin"
echo "inside the sandbox" >"$src/dir/hello.txt"
mkfs.ext4 -q -d "$src" "$img" 16M
chmod 0644 "$img"
chmod -R a+rX "$src"
track_image "$img"

server_pids() {
	imgfs_server_pids "$img"
}

status_field() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"
}

# check_sandboxed WHO PID UID NSFILE [pid]: the /proc view of one process.
# NSFILE holds "name id" lines of the helper's namespaces; "pid" asks that
# the PID namespace differ too (the supervisor stays in the helper's).
check_sandboxed() {
	_who=$1 _pid=$2 _uid=$3 _nsfile=$4 _pidns=${5:-}
	if [ -z "$_pid" ] || [ ! -d "/proc/$_pid" ]; then
		not_ok "$_who: process found"
		return
	fi
	_bad=
	[ "$(status_field "$_pid" Seccomp)" = 2 ] || _bad="$_bad Seccomp=$(status_field "$_pid" Seccomp)"
	[ "$(status_field "$_pid" NoNewPrivs)" = 1 ] || _bad="$_bad NoNewPrivs=$(status_field "$_pid" NoNewPrivs)"
	for _c in CapInh CapPrm CapEff CapBnd CapAmb; do
		_v=$(status_field "$_pid" $_c)
		[ "$_v" = 0000000000000000 ] || _bad="$_bad $_c=$_v"
	done
	[ -z "$_bad" ] && ok "$_who: seccomp filter, no_new_privs, no capabilities in any set" ||
		not_ok "$_who: seccomp filter, no_new_privs, no capabilities in any set:$_bad"

	_ids="$(status_field "$_pid" Uid) $(status_field "$_pid" Gid)"
	_want="$_uid $_uid $_uid $_uid $_uid $_uid $_uid $_uid"
	[ "$(echo $_ids)" = "$_want" ] && ok "$_who: runs as uid/gid $_uid on the host" ||
		not_ok "$_who: runs as uid/gid $_uid on the host (Uid/Gid: $_ids)"
	[ -z "$(status_field "$_pid" Groups)" ] && ok "$_who: no supplementary groups" ||
		not_ok "$_who: no supplementary groups ($(status_field "$_pid" Groups))"

	_same=
	for _ns in user mnt net ipc ${_pidns:+pid}; do
		_theirs=$(readlink "/proc/$_pid/ns/$_ns")
		_helper=$(awk -v n=$_ns '$1 == n { print $2 }' "$_nsfile")
		{ [ -n "$_theirs" ] && [ "$_theirs" != "$_helper" ]; } || _same="$_same $_ns"
	done
	[ -z "$_same" ] && ok "$_who: user, mount, net, ipc${_pidns:+, pid} namespaces differ from the helper's" ||
		not_ok "$_who: namespaces differ from the helper's (same:$_same)"
	if [ -n "$_pidns" ]; then
		[ "$(status_field "$_pid" NSpid | awk '{ print $NF }')" = 1 ] &&
			ok "$_who: PID 1 of its own PID namespace" ||
			not_ok "$_who: PID 1 of its own PID namespace (NSpid $(status_field "$_pid" NSpid))"
	fi

	# The root: an empty directory, on a read-only mount.
	_root=$(ls -A "/proc/$_pid/root/" 2>&1)
	_rootmnt=$(awk '$5 == "/" { print $6 }' "/proc/$_pid/mountinfo" 2>/dev/null)
	_nmounts=$(wc -l <"/proc/$_pid/mountinfo" 2>/dev/null)
	if [ -z "$_root" ] && [ "$_nmounts" = 1 ] && case ",$_rootmnt," in *,ro,*) true;; *) false;; esac; then
		ok "$_who: its root is an empty read-only directory, the only mount it sees"
	else
		not_ok "$_who: its root is an empty read-only directory, the only mount it sees"
		diag "root: ${_root:-(empty)}; mount options: $_rootmnt; mounts: $_nmounts"
	fi
	_lim=$(awk '/^Max open files/ { print $4 } /^Max core file size/ { print "core=" $5 }' "/proc/$_pid/limits" | tr '\n' ' ')
	[ "$_lim" = "core=0 32 " ] && ok "$_who: no core dumps, at most 32 descriptors" ||
		not_ok "$_who: no core dumps, at most 32 descriptors (limits: $_lim)"
}

# check_fds PID: the server holds exactly /dev/fuse, the image (metadata
# and data), stdio on /dev/null, and at most one socket: the log's.
check_fds() {
	_extra=
	_fuse=0 _image=0 _sockets=0
	for _fd in /proc/$1/fd/*; do
		_t=$(readlink "$_fd")
		case ${_fd##*/}:$_t in
		[012]:/dev/null) ;;
		*:/dev/fuse) _fuse=$((_fuse + 1));;
		*:"$img") _image=$((_image + 1));;
		*:socket:*) _sockets=$((_sockets + 1));;	# the log, if /dev/log was there
		*) _extra="$_extra ${_fd##*/}=$_t";;
		esac
	done
	[ $_sockets -le 1 ] || _extra="$_extra $_sockets sockets"
	[ -z "$_extra" ] && [ $_fuse = 1 ] && [ $_image = 2 ] &&
		ok "server: only /dev/fuse, the image and /dev/null are open" || {
		not_ok "server: only /dev/fuse, the image and /dev/null are open"
		diag "fuse: $_fuse, image: $_image, unexpected:$_extra"
		ls -l "/proc/$1/fd/" | diag_file /dev/stdin; }
}

ns_ids() {
	for _ns in user mnt net ipc pid; do
		echo "$_ns $(readlink "/proc/$1/ns/$_ns")"
	done
}

# The host's mount table, as what is mounted where (ids change nothing).
# Other tests' scratch directories are left out: make check runs tests
# side by side, and their mounts come and go meanwhile.
mountinfo_shape() {
	awk -v other="$(dirname "$TEST_TMP")/imgfs-" -v ours="$TEST_TMP" '
		index($5, other) == 1 && index($5, ours) != 1 { next }
		{ print $5, $9, $10 }' /proc/self/mountinfo | sort
}

# Is process $1 over: reaped, or a zombie with no thread left?  (A killed
# process's leader turns zombie while its other threads still exit and
# still hold its descriptors.)
process_over() {
	[ ! -d "/proc/$1" ] && return 0
	[ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = Z ] &&
		[ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" -le 1 ]
}

# wait_gone PID: wait up to 20 s (a sanitizer build's exit on a loaded
# machine is slow) for PID to end; say what it is doing if it does not.
wait_gone() {
	_i=0
	while ! process_over "$1" && [ $_i -lt 200 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	process_over "$1" && return 0
	diag "process '$1' still there: $(grep -h -e '^State:' -e '^Threads:' "/proc/$1/status" 2>/dev/null | tr '\n' ' ')wchan $(cat "/proc/$1/wchan" 2>/dev/null)"
	return 1
}

is_enotconn() {
	timeout 10 stat "$mnt/dir" >"$TEST_TMP/enotconn.out" 2>&1
	grep -q "not connected" "$TEST_TMP/enotconn.out" && return 0
	diag "stat $mnt/dir: $(cat "$TEST_TMP/enotconn.out")"
	return 1
}

before=$(mountinfo_shape)
ns_ids $$ >"$TEST_TMP/helper.ns"

# ---- 1. rootful ----
imgfs_mount "$img" "$mnt" || bail_out "cannot mount $img"
set -- $(server_pids)
sup=${1#-} srv=${2#-}
cmp -s "$mnt/data.bin" "$src/data.bin" && cmp -s "$mnt/dir/hello.txt" "$src/dir/hello.txt" &&
	ok "rootful: the sandboxed server serves the image's files" ||
	not_ok "rootful: the sandboxed server serves the image's files"
check_sandboxed "rootful server" "$srv" 65534 "$TEST_TMP/helper.ns" pid
check_sandboxed "rootful supervisor" "$sup" 65534 "$TEST_TMP/helper.ns"
check_fds "$srv"
# The supervisor: stdio, a pidfd on the server, the pipe the server
# watches, and the connection's fusectl abort switch; never the device or
# the image.
# The supervisor closes its channel from the server once the server has
# sent the abort switch, a moment after the mount: wait for that.  A
# socket may stay while a logger listens on /dev/log (syslog.sh's, when
# the two tests run at once): the log's, as the server may hold one.
conn=$(fuse_conn "$mnt")
_i=0
while :; do
	_bad= _abort=0 _sockets=0
	for _fd in /proc/$sup/fd/*; do
		_t=$(readlink "$_fd")
		case ${_fd##*/}:$_t in
		[012]:/dev/null|*:anon_inode:\[pidfd\]|*:pipe:*) ;;
		*:/sys/fs/fuse/connections/$conn/abort) _abort=1;;
		*:socket:*) _sockets=$((_sockets + 1)) _bad="$_bad ${_fd##*/}=$_t";;
		*) _bad="$_bad ${_fd##*/}=$_t";;
		esac
	done
	[ -S /dev/log ] && [ $_sockets -eq 1 ] && [ "$(echo $_bad | wc -w)" -eq 1 ] && _bad=
	[ -n "$_bad" ] && [ $_i -lt 50 ] || break
	sleep 0.1
	_i=$((_i + 1))
done
[ -z "$_bad" ] && ok "supervisor: holds none of the server's descriptors" ||
	not_ok "supervisor: holds none of the server's descriptors:$_bad"
if [ -w "/sys/fs/fuse/connections/$conn/abort" ]; then
	[ $_abort = 1 ] && ok "supervisor: holds the connection's abort switch" ||
		not_ok "supervisor: holds the connection's abort switch"
else
	skip "supervisor: holds the connection's abort switch" "no fusectl here"
fi

# listing_memory= reaches the server: with no room for any listing, a
# directory is still listed in full (read from the image per READDIR).
imgfs_unmount "$mnt"
imgfs_mount "$img" "$mnt" listing_memory=1 || bail_out "cannot mount $img with listing_memory=1"
[ "$(ls -A "$mnt/dir")" = "$(ls -A "$src/dir")" ] &&
	[ "$(ls -A "$mnt" | grep -vx lost+found)" = "$(ls -A "$src")" ] &&
	ok "listing_memory=1: directories still list in full" ||
	not_ok "listing_memory=1: directories still list in full ($(ls -A "$mnt" | tr '\n' ' '))"
set -- $(server_pids)
sup=${1#-} srv=${2#-}

# ---- 2. SIGKILL to the server ----
kill -KILL "$srv"
wait_gone "$sup" && ok "SIGKILL to the server: its supervisor exits too" ||
	not_ok "SIGKILL to the server: its supervisor exits too"
is_enotconn && ok "SIGKILL to the server: the mount answers ENOTCONN" ||
	not_ok "SIGKILL to the server: the mount answers ENOTCONN ($(stat "$mnt/dir" 2>&1))"
imgfs_unmount "$mnt" && ok "SIGKILL to the server: imgfs-mount -u removes the dead mount" ||
	not_ok "SIGKILL to the server: imgfs-mount -u removes the dead mount"
[ "$(mountinfo_shape)" = "$before" ] && ok "SIGKILL to the server: the host's mounts are as before" ||
	not_ok "SIGKILL to the server: the host's mounts are as before"
assert_clean "SIGKILL to the server: no process left"

# ---- 2b. SIGKILL while the server is busy pushing file data ----
# An in-order reader of many small files makes the server store pages
# ahead of it (FUSE_NOTIFY_STORE) while READs are in flight: a kill that
# lands then must still end the connection instead of hanging the mount.
many=$TEST_TMP/many
mkdir -p "$many/src/files"
i=0
while [ $i -lt 1500 ]; do
	head -c $(( (i % 16 + 1) * 4096 )) /dev/urandom >"$many/src/files/f$i"
	i=$((i + 1))
done
mkfs.ext4 -q -d "$many/src" "$many/img.ext4" 64M
track_image "$many/img.ext4"
hung=0
for round in 1 2 3 4 5 6 7 8; do
	imgfs_mount "$many/img.ext4" "$mnt" || bail_out "cannot mount $many/img.ext4"
	srv=$(imgfs_server_pids "$many/img.ext4")
	srv=${srv#* }
	tar -C "$mnt" -cf - files 2>/dev/null | cat >/dev/null &
	reader=$!
	sleep 0.$((round * 11))
	kill -KILL "$srv"
	# A request still in flight when the connection ends fails with
	# ECONNABORTED; the mount's answer is what comes after.  The server
	# must be gone in time: stuck, it would hang the mount for good.
	wait_gone "$srv" || diag "round $round: the killed server is still there after 20 s"
	# Bounded: a hung mount must fail this test, not the whole run.
	timeout 10 stat "$mnt/files/f1499" >"$TEST_TMP/stat.out" 2>&1
	rc=$?
	if [ $rc -eq 124 ] || ! grep -q "not connected" "$TEST_TMP/stat.out"; then
		hung=$((hung + 1))
		diag "round $round: stat after the kill: exit $rc, $(cat "$TEST_TMP/stat.out")"
		# Release the reader ourselves (fusectl abort), or wait for ever.
		unmount "$mnt"
	fi
	wait $reader
	imgfs_unmount "$mnt" || unmount "$mnt"
done
[ $hung -eq 0 ] && ok "SIGKILL during pushed reads (8 rounds): the mount answers ENOTCONN every time" ||
	not_ok "SIGKILL during pushed reads: the mount hung or answered wrongly in $hung of 8 rounds"
assert_clean "SIGKILL during pushed reads: nothing left"

# ---- 3. SIGKILL to the supervisor: the server dies with it ----
imgfs_mount "$img" "$mnt" || bail_out "cannot mount $img"
set -- $(server_pids)
sup=${1#-} srv=${2#-}
kill -KILL "$sup"
wait_gone "$srv" && ok "SIGKILL to the supervisor: the server dies with it" ||
	not_ok "SIGKILL to the supervisor: the server dies with it"
is_enotconn && ok "SIGKILL to the supervisor: the mount answers ENOTCONN" ||
	not_ok "SIGKILL to the supervisor: the mount answers ENOTCONN"
imgfs_unmount "$mnt" && [ "$(mountinfo_shape)" = "$before" ] &&
	ok "SIGKILL to the supervisor: -u cleans up, host mounts as before" ||
	not_ok "SIGKILL to the supervisor: -u cleans up, host mounts as before"
assert_clean "SIGKILL to the supervisor: no process left"

# ---- 4. SIGTERM to the supervisor is passed on: the server stops cleanly ----
imgfs_mount "$img" "$mnt" || bail_out "cannot mount $img"
set -- $(server_pids)
sup=${1#-} srv=${2#-}
kill -TERM "$sup"
wait_gone "$srv" && wait_gone "$sup" && ok "SIGTERM to the supervisor: server and supervisor exit" ||
	not_ok "SIGTERM to the supervisor: server and supervisor exit"
imgfs_unmount "$mnt" && [ "$(mountinfo_shape)" = "$before" ] &&
	ok "SIGTERM: -u cleans up, host mounts as before" ||
	not_ok "SIGTERM: -u cleans up, host mounts as before"
assert_clean "SIGTERM: no process left"

# ---- 5. --no-sandbox: works, and says so every time ----
for run in 1 2; do
	bounded 60 "$IMGFS_MOUNT" --no-sandbox "$img" "$mnt" 2>"$TEST_TMP/nosandbox.err"
	rc=$?
	set -- $(server_pids)
	unconfined=$(status_field "${1#-}" Seccomp 2>/dev/null)
	if [ $rc -eq 0 ] && grep -q "no-sandbox" "$TEST_TMP/nosandbox.err" && [ "$unconfined" = 0 ]; then
		ok "--no-sandbox (run $run): mounts, warns on stderr, server unconfined"
	else
		not_ok "--no-sandbox (run $run): mounts, warns on stderr, server unconfined (exit $rc, Seccomp $unconfined)"
		diag_file "$TEST_TMP/nosandbox.err"
	fi
	imgfs_unmount "$mnt"
done
# The server itself warns too (seen on stderr in the foreground).
"$IMGFS_MOUNT" -f --no-sandbox "$img" "$mnt" 2>"$TEST_TMP/nosandbox-f.err" &
fgpid=$!
track_pid $fgpid
i=0
while ! grep -q " $mnt " /proc/self/mountinfo && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
imgfs_unmount "$mnt"
wait $fgpid
untrack_pid $fgpid
grep -q "imgfs-server: warning: running WITHOUT the sandbox" "$TEST_TMP/nosandbox-f.err" &&
	ok "--no-sandbox: the server warns as well" || {
	not_ok "--no-sandbox: the server warns as well"; diag_file "$TEST_TMP/nosandbox-f.err"; }
assert_clean "--no-sandbox: nothing left"

# ---- 6. rootless: unshare -Urm and --unshare as an unprivileged uid ----
if ! as_user unshare -Urm true 2>/dev/null; then
	skip "rootless mounts" "unprivileged user namespaces are disabled"
else
	# The helper's side: mount, record the helper's namespaces, hold the
	# mount until the outside has looked, unmount.
	cat >"$TEST_TMP/inside.sh" <<'SCRIPT'
mount=$1 img=$2 mnt=$3 dir=$4
if [ "$5" = mount ]; then "$mount" "$img" "$mnt" || exit 10; fi
for ns in user mnt net ipc pid; do echo "$ns $(readlink /proc/self/ns/$ns)"; done >"$dir/rootless.ns"
cat "$mnt/dir/hello.txt" >"$dir/rootless.read" || exit 11
touch "$dir/rootless.mounted"
i=0
while [ ! -e "$dir/rootless.checked" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if [ "$5" = mount ]; then "$mount" -u "$mnt" || exit 12; fi
SCRIPT
	chmod 0777 "$TEST_TMP"
	for how in unshare-Urm --unshare; do
		rm -f "$TEST_TMP/rootless.mounted" "$TEST_TMP/rootless.checked" "$TEST_TMP/rootless.ns"
		if [ $how = unshare-Urm ]; then
			as_user unshare -Urm sh "$TEST_TMP/inside.sh" "$IMGFS_MOUNT" "$img" "$mnt" "$TEST_TMP" mount \
				>"$TEST_TMP/rootless.out" 2>&1 &
		else
			as_user "$IMGFS_MOUNT" --unshare "$img" "$mnt" -- \
				sh "$TEST_TMP/inside.sh" "$IMGFS_MOUNT" "$img" "$mnt" "$TEST_TMP" no \
				>"$TEST_TMP/rootless.out" 2>&1 &
		fi
		bg=$!
		track_pid $bg
		wait_for_file "$TEST_TMP/rootless.mounted" $bg 300
		set -- $(server_pids)
		sup=${1#-} srv=${2#-}
		if [ -e "$TEST_TMP/rootless.mounted" ]; then
			cmp -s "$TEST_TMP/rootless.read" "$src/dir/hello.txt" &&
				ok "$how: the sandboxed server serves the image" ||
				not_ok "$how: the sandboxed server serves the image"
			check_sandboxed "$how server" "$srv" $USER_ID "$TEST_TMP/rootless.ns" pid
			check_sandboxed "$how supervisor" "$sup" $USER_ID "$TEST_TMP/rootless.ns"
			check_fds "$srv"
		else
			not_ok "$how: mounted"
			diag_file "$TEST_TMP/rootless.out"
		fi
		touch "$TEST_TMP/rootless.checked"
		wait $bg
		rc=$?
		untrack_pid $bg
		[ $rc -eq 0 ] && ok "$how: unmounted cleanly" || {
			not_ok "$how: unmounted cleanly (exit $rc)"; diag_file "$TEST_TMP/rootless.out"; }
		assert_clean "$how: nothing left"
	done
	chmod 0755 "$TEST_TMP"
fi

# Open-time work that grows with the image runs under the filter too: an
# ext4 image of 1 KiB blocks and 48 groups with a journal (its metadata
# blocks are listed and sorted at open; glibc's qsort would have asked
# sysinfo(2) for that, which the policy kills) serves its files.
many=$TEST_TMP/many-groups.ext4
mkfs.ext4 -q -b 1024 -d "$src" "$many" 384M
if bounded 60 "$IMGFS_MOUNT" "$many" "$mnt" 2>"$TEST_TMP/many.err"; then
	check "an image of $(dumpe2fs -h "$many" 2>/dev/null | sed -n 's/^Block count: *//p') blocks of 1 KiB serves under the sandbox" \
		cmp "$src/data.bin" "$mnt/data.bin"
	"$IMGFS_MOUNT" -u "$mnt"
else
	not_ok "an image of many groups mounts under the sandbox"
	diag_file "$TEST_TMP/many.err"
fi
rm -f "$many"
assert_clean "after the image of many groups: nothing left"

[ "$(mountinfo_shape)" = "$before" ] && ok "the host's mount table is as it was" ||
	not_ok "the host's mount table is as it was"
done_testing
