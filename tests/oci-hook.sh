#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# imgfs-oci-hook on its own, against stand-in containers: a process in a
# mount namespace of its own (and a user namespace, for the rootless case)
# with a bundle, fed the OCI state a runtime would send.  What runtimes
# cannot show is checked here: mounts land only in the container, every
# annotation or none is mounted, links cannot lead the target out of the
# root, and the servers end with the container.  (oci-runc.sh and
# oci-podman.sh run the real runtimes.)
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_cmd unshare setpriv mkfs.ext4 cmp
OCI_HOOK=$top_builddir/oci-hook/imgfs-oci-hook
need_prog "$OCI_HOOK" "$IMGFS_SERVER"

USER_ID=4321
[ "$(stat -c %a /dev/fuse)" = 666 ] || chmod 0666 /dev/fuse
chmod 0755 "$TEST_TMP"

# The image's tree: its files and owners are the truth the mounts must show.
src=$TEST_TMP/src
mkdir -p "$src/sub" "$TEST_TMP/images" "$TEST_TMP/other"
echo "hello from the image" >"$src/hello"
seq 1 5000 >"$src/sub/numbers"
chown 1000:1000 "$src/sub/numbers"
chmod 0600 "$src/sub/numbers"
mkfs.ext4 -q -d "$src" "$TEST_TMP/images/a.ext4" 8M
cp "$TEST_TMP/images/a.ext4" "$TEST_TMP/images/b.ext4"
cp "$TEST_TMP/images/a.ext4" "$TEST_TMP/other/c.ext4"
chmod 0644 "$TEST_TMP"/images/*.ext4 "$TEST_TMP"/other/*.ext4
echo "allow = $TEST_TMP/images" >"$TEST_TMP/hook.conf"

bundle=$TEST_TMP/bundle
rootfs=$bundle/rootfs
mkdir -p "$rootfs/etc"
touch "$rootfs/afile"
ln -s ../../../../../../../../.. "$rootfs/up"
ln -s / "$rootfs/rootlink"
echo '{"ociVersion": "1.0.2", "root": {"path": "rootfs"},
  "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]}}' >"$bundle/config.json"

# start_container [CMD...]: a stand-in container's init, waiting to be
# killed, in a mount namespace of its own (and those CMD creates: it is
# run with "sleep 600" appended, e.g. unshare -U -m).  Sets $cpid.  The
# namespace lets go of its copies of other tests' mounts first
# (tests/private-ns.sh), which would otherwise outlive their umount.
start_container() {
	sh "$top_srcdir/tests/private-ns.sh" "$@" sleep 600 &
	cpid=$!
	track_pid $cpid
	# Every command on the way execs the next, in the same process.
	_i=0
	while [ "$(cat /proc/$cpid/comm 2>/dev/null)" != sleep ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

stop_container() {
	kill $cpid 2>/dev/null
	wait $cpid 2>/dev/null
	untrack_pid $cpid
}

# hook ANNOTATIONS-JSON [HOOK ARGS]: run the hook as a runtime would, for
# the container $cpid; stderr in $TEST_TMP/hook.err, status in $hook_rc.
hook() {
	_ann=$1
	shift
	printf '{"ociVersion": "1.0.2", "id": "t", "status": "creating", "pid": %d,
		"bundle": "%s", "annotations": {%s}}' "$cpid" "$bundle" "$_ann" |
		${as_user:-} "$OCI_HOOK" "$@" >"$TEST_TMP/hook.out" 2>"$TEST_TMP/hook.err"
	hook_rc=$?
}

# The imgfs mounts in the container's root: "MOUNTPOINT SOURCE".  (Other
# tests' show up too where the container shares the host's mounts.)
container_mounts() {
	awk -v root="$rootfs/" '{
		for (i = 7; $i != "-"; i++) ;
		if ($(i + 1) == "fuse.imgfs" && index($5, root) == 1) print $5, $(i + 2)
	}' "/proc/$cpid/mountinfo" 2>/dev/null
}

# expect_mounted DESC: the hook succeeded.
expect_mounted() {
	if [ "$hook_rc" -eq 0 ]; then
		ok "$1"
	else
		not_ok "$1 (exit $hook_rc)"
		diag_file "$TEST_TMP/hook.err"
	fi
}

# expect_mounts DESC "MOUNTPOINT SOURCE"...: the container's imgfs mounts,
# in the order they were made.
expect_mounts() {
	_desc=$1
	shift
	container_mounts >"$TEST_TMP/mounts"
	printf '%s\n' "$@" >"$TEST_TMP/mounts.want"
	check "$_desc" cmp "$TEST_TMP/mounts.want" "$TEST_TMP/mounts"
}

# What leftovers reports, but for the stand-in container itself.
left_but_container() {
	leftovers | grep -v "^process: $cpid "
}

# expect_refusal DESC PATTERN: the hook failed with one line matching
# PATTERN, and left nothing mounted in the container nor running.
expect_refusal() {
	if [ "$hook_rc" -eq 1 ] && [ "$(wc -l <"$TEST_TMP/hook.err")" -eq 1 ] &&
		grep -q -- "^imgfs-oci-hook: $2" "$TEST_TMP/hook.err"; then
		ok "$1"
	else
		not_ok "$1 (exit $hook_rc, want 1 and one line /$2/)"
		diag_file "$TEST_TMP/hook.err"
	fi
	if [ -z "$(container_mounts)" ] && [ -z "$(settled_leftovers left_but_container)" ]; then
		ok "$1: nothing mounted, no server left"
	else
		not_ok "$1: nothing mounted, no server left"
		container_mounts | sed 's/^/# mounted: /'
		left_but_container | sed 's/^/# /'
	fi
}

# 1. Rootful, two images: both mounted in the container, not on the host.
start_container
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/a",
      "io.imgfs.mount.b": "source='"$TEST_TMP"'/images/b.ext4,target=/deep/new/b,ro",
      "org.example.other": "x"' --config "$TEST_TMP/hook.conf" createRuntime
expect_mounted "rootful: two images mounted"
expect_mounts "rootful: each at its target inside the root, the missing one created" \
	"$rootfs/a $TEST_TMP/images/a.ext4" "$rootfs/deep/new/b $TEST_TMP/images/b.ext4"
check "rootful: the host does not see them" test -z "$(mounts_under "$TEST_TMP")"
croot=/proc/$cpid/root$rootfs
check "rootful: contents as in the image's tree" \
	sh -c "cmp '$src/hello' '$croot/a/hello' && cmp '$src/sub/numbers' '$croot/deep/new/b/sub/numbers'"
check "rootful: owners and modes as in the image's tree (no user namespace)" \
	test "$(stat -c '%u %g %a' "$src/sub/numbers")" = "$(stat -c '%u %g %a' "$croot/a/sub/numbers")"
if touch "$croot/a/new" 2>"$TEST_TMP/touch.err"; then
	not_ok "rootful: writes fail with EROFS"
else
	check "rootful: writes fail with EROFS" grep -q "Read-only file system" "$TEST_TMP/touch.err"
fi
check "rootful: mounted ro,nosuid,nodev" \
	sh -c "awk '\$5 == \"$rootfs/a\" { print \$6 }' /proc/$cpid/mountinfo | grep -q '^ro,nosuid,nodev'"
set -- $(imgfs_server_pids "$TEST_TMP/images/a.ext4")
check "rootful: the server runs detached, in a session of its own" \
	test "$(ps -o sid= -p "$1" | tr -d ' ')" = "$1"
stop_container
check "rootful: the servers exit when the container is gone" test -z "$(settled_leftovers)"

# 2. All or nothing: the second annotation fails, the first is undone.
start_container
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/a",
      "io.imgfs.mount.b": "source='"$TEST_TMP"'/images/b.ext4,target=/afile/b"' \
	--config "$TEST_TMP/hook.conf"
expect_refusal "a target through a file fails the whole hook" \
	"io.imgfs.mount.b: target /afile/b: /afile: Not a directory$"

# 3. Targets inside another image's mount: mounted after it, whatever
#    the keys' order, on a directory the image has; one the image lacks
#    cannot be created in it.  Two on one target are refused.
hook '"io.imgfs.mount.a-inner": "source='"$TEST_TMP"'/images/b.ext4,target=/outer/sub",
      "io.imgfs.mount.z-outer": "source='"$TEST_TMP"'/images/a.ext4,target=/outer"' \
	--config "$TEST_TMP/hook.conf"
expect_mounted "targets one inside another"
expect_mounts "a target inside another image is mounted after it" \
	"$rootfs/outer $TEST_TMP/images/a.ext4" "$rootfs/outer/sub $TEST_TMP/images/b.ext4"
check "...and both serve" cmp "$src/sub/numbers" "/proc/$cpid/root$rootfs/outer/sub/sub/numbers"
stop_container
check "...and their servers exit with the container" test -z "$(settled_leftovers)"
start_container
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/outer",
      "io.imgfs.mount.b": "source='"$TEST_TMP"'/images/b.ext4,target=/outer/new"' \
	--config "$TEST_TMP/hook.conf"
expect_refusal "a target the outer image lacks" \
	"io.imgfs.mount.b: cannot create /outer/new in the container: Read-only file system$"
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/same",
      "io.imgfs.mount.b": "source='"$TEST_TMP"'/images/b.ext4,target=/./same/"' \
	--config "$TEST_TMP/hook.conf"
expect_refusal "two annotations on one target" \
	"io.imgfs.mount.b: target /same is also the target of io.imgfs.mount.a$"

# 4. A link climbing out of the root stays in it.
hook '"io.imgfs.mount.up": "source='"$TEST_TMP"'/images/a.ext4,target=/up/m"' \
	--config "$TEST_TMP/hook.conf"
expect_mounts "a target through ../../.. lands inside the root" "$rootfs/m $TEST_TMP/images/a.ext4"
stop_container
check "...and its server exits with the container" test -z "$(settled_leftovers)"

# Issue 14: targets were only checked as strings.  One that resolves to
# the root was mounted over root.path; two that resolve to one directory
# were stacked.
start_container
for t in /up /rootlink /rootlink/.; do
	hook '"io.imgfs.mount.r": "source='"$TEST_TMP"'/images/a.ext4,target='"$t"'"' \
		--config "$TEST_TMP/hook.conf"
	expect_refusal "target=$t, a link to the root, is refused as / is" \
		"io.imgfs.mount.r: target ${t%/.} resolves to the container's root, which cannot be mounted over; give a directory inside it$"
done
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/data",
      "io.imgfs.mount.b": "source='"$TEST_TMP"'/images/b.ext4,target=/rootlink/data"' \
	--config "$TEST_TMP/hook.conf"
expect_refusal "two targets that resolve to one directory are refused, naming both" \
	"io.imgfs.mount.b: target /rootlink/data resolves to the target /data of io.imgfs.mount.a; give each annotation a target of its own$"
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/rootlink/data/sub",
      "io.imgfs.mount.b": "source='"$TEST_TMP"'/images/b.ext4,target=/data"' \
	--config "$TEST_TMP/hook.conf"
expect_mounted "...but a target inside another through a link is no duplicate"
expect_mounts "...and both are mounted, the outer first" \
	"$rootfs/data $TEST_TMP/images/b.ext4" "$rootfs/data/sub $TEST_TMP/images/a.ext4"
stop_container
# A target on the container's /proc (or, through a link, its sysfs):
# refused, as imgfs-mount refuses one, before anything waits on it.
start_container
mkdir -p "$rootfs/proc" "$rootfs/sys"
ln -sfn sys/kernel "$rootfs/kernlink"
nsenter -t "$cpid" -m sh -c "mount -t proc proc '$rootfs/proc' && mount -t sysfs sysfs '$rootfs/sys'" ||
	bail_out "cannot mount proc and sysfs in the stand-in container"
hook '"io.imgfs.mount.p": "source='"$TEST_TMP"'/images/a.ext4,target=/proc"' --config "$TEST_TMP/hook.conf"
expect_refusal "target=/proc, the container's proc, is refused" \
	"io.imgfs.mount.p: target /proc: is on proc, a kernel pseudo filesystem: choose a directory of your own$"
hook '"io.imgfs.mount.s": "source='"$TEST_TMP"'/images/a.ext4,target=/kernlink"' --config "$TEST_TMP/hook.conf"
expect_refusal "target=/kernlink, a link into the container's sysfs, is refused" \
	"io.imgfs.mount.s: target /kernlink: is on sysfs, a kernel pseudo filesystem: choose a directory of your own$"
stop_container
rm -f "$rootfs/kernlink"
check "...and their servers exit with the container" test -z "$(settled_leftovers)"

# 5. What a rootful hook refuses.
start_container
hook '"io.imgfs.mount.c": "source='"$TEST_TMP"'/other/c.ext4,target=/c"' --config "$TEST_TMP/hook.conf"
expect_refusal "rootful: a source outside the allowed directories" \
	"io.imgfs.mount.c: source $TEST_TMP/other/c.ext4 is not inside a directory allowed in $TEST_TMP/hook.conf"
ln -s ../other/c.ext4 "$TEST_TMP/images/link.ext4"
hook '"io.imgfs.mount.c": "source='"$TEST_TMP"'/images/link.ext4,target=/c"' --config "$TEST_TMP/hook.conf"
expect_refusal "rootful: a symlink inside an allowed directory to an image outside" \
	"io.imgfs.mount.c: source $TEST_TMP/other/c.ext4 is not inside"
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/a"' --config "$TEST_TMP/none.conf"
expect_refusal "rootful: no configuration file allows nothing" \
	"io.imgfs.mount.a: rootful mounts are refused: $TEST_TMP/none.conf allows no directory"
# Issue 14: the configuration was read without limit (1.1 GB in 6 s).  In
# the background, bounded, stdin must come from a file: a shell gives an
# asynchronous command /dev/null.
printf '{"ociVersion": "1.0.2", "id": "t", "status": "creating", "pid": %d, "bundle": "%s",
	"annotations": {"io.imgfs.mount.a": "source=%s/images/a.ext4,target=/a"}}' \
	"$cpid" "$bundle" "$TEST_TMP" >"$TEST_TMP/state.json"
bounded 20 sh -c 'exec "$0" --config /dev/zero <"$1" 2>"$2"' \
	"$OCI_HOOK" "$TEST_TMP/state.json" "$TEST_TMP/hook.err"
hook_rc=$?
expect_refusal "rootful: --config /dev/zero is refused at once, not read without end" \
	"/dev/zero: not a regular file$"
# Issue 14: json-c cuts a string at its \u0000, and the hook mounted this
# at /da.  In the state, in config.json, in a key.
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/da\u0000ta"' \
	--config "$TEST_TMP/hook.conf"
expect_refusal "a NUL in an annotation's value in the state" \
	"OCI state: the string \"source=$TEST_TMP/images/a.ext4,target=/da\" is cut by a NUL character (\\\\u0000) at byte [0-9]*; remove it$"
check "...and nothing was made at /da" test ! -e "$rootfs/da"
hook '"io.imgfs.mount.a\u0000x": "source='"$TEST_TMP"'/images/a.ext4,target=/a"' \
	--config "$TEST_TMP/hook.conf"
expect_refusal "a NUL in an annotation's key in the state" \
	"OCI state: the string \"io.imgfs.mount.a\" is cut by a NUL character"
cp "$bundle/config.json" "$TEST_TMP/config.json.orig"
printf '%s\n' '{"ociVersion": "1.0.2", "root": {"path": "rootfs"},
  "annotations": {"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/da\u0000ta"},
  "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]}}' >"$bundle/config.json"
hook '' --config "$TEST_TMP/hook.conf"
expect_refusal "a NUL in an annotation's value in config.json" \
	"$bundle/config.json: the string \"source=$TEST_TMP/images/a.ext4,target=/da\" is cut by a NUL"
cp "$TEST_TMP/config.json.orig" "$bundle/config.json"
# rw: one writer or many readers.  The same image read-only and read-write
# in one container is refused before anything is mounted; read-only twice
# is fine.  XFS is refused read-write.
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/a",
      "io.imgfs.mount.b": "source='"$TEST_TMP"'/images/a.ext4,target=/b,rw"' --config "$TEST_TMP/hook.conf"
expect_refusal "one image read-only and read-write" \
	"io.imgfs.mount.b: $TEST_TMP/images/a.ext4: in use by another read-only imgfs mount"
if command -v mkfs.xfs >/dev/null 2>&1; then
	truncate -s 40M "$TEST_TMP/images/x.xfs"
	TEST_DIR=$TEST_TMP TEST_DEV=$TEST_TMP/images/x.xfs QA_CHECK_FS=xfs \
		mkfs.xfs -q -f "$TEST_TMP/images/x.xfs" >/dev/null 2>&1
	hook '"io.imgfs.mount.x": "source='"$TEST_TMP"'/images/x.xfs,target=/x,rw"' --config "$TEST_TMP/hook.conf"
	expect_refusal "rw on XFS" \
		"io.imgfs.mount.x: $TEST_TMP/images/x.xfs: XFS is served read-only; mount it with -o ro$"
else
	skip "rw on XFS" "no mkfs.xfs"
fi
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/a,rw"' --config "$TEST_TMP/hook.conf"
if [ "$hook_rc" -ne 0 ] && grep -q "serves images read-only" "$TEST_TMP/hook.err"; then
	skip "rw: mounted read-write" "the ext4 backend does not serve rw yet"
	expect_refusal "rw, until the backend serves it" "io.imgfs.mount.a: .*serves images read-only"
else
	expect_mounted "rw: mounted"
	check "rw: mounted rw,nosuid,nodev" \
		sh -c "awk '\$5 == \"$rootfs/a\" { print \$6 }' /proc/$cpid/mountinfo | grep -q '^rw,nosuid,nodev'"
	check "rw: a file can be written" sh -c "echo new >/proc/$cpid/root$rootfs/a/new"
	stop_container
	check "rw: the server exits with the container" test -z "$(settled_leftovers)"
	start_container
fi
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/nope.ext4,target=/a"' --config "$TEST_TMP/hook.conf"
expect_refusal "a missing source" "io.imgfs.mount.a: source $TEST_TMP/images/nope.ext4: No such file or directory$"
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4", "target": "/a"' --config "$TEST_TMP/hook.conf"
expect_refusal "podman's comma split gets a hint" "io.imgfs.mount.a: .*podman splits --annotation at commas"
# FIFOs where the hook expects files: each refused at once, where an open
# for reading used to wait for a writer forever, and the runtime with it.
# timeout, not bounded: the state comes down a pipe, which a command in
# the background would not read.
mkfifo "$TEST_TMP/images/fifo.ext4" "$TEST_TMP/fifo.conf"
mkdir -p "$TEST_TMP/fifobundle"
mkfifo "$TEST_TMP/fifobundle/config.json"
as_user="timeout -k 5 20"
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/fifo.ext4,target=/a"' --config "$TEST_TMP/hook.conf"
expect_refusal "a FIFO as the source" \
	"io.imgfs.mount.a: $TEST_TMP/images/fifo.ext4: not a regular file or block device"
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/a"' --config "$TEST_TMP/fifo.conf"
expect_refusal "a FIFO as the hook's configuration" "$TEST_TMP/fifo.conf: not a regular file"
bundle=$TEST_TMP/fifobundle
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/a"' --config "$TEST_TMP/hook.conf"
expect_refusal "a FIFO as the bundle's config.json" \
	"$TEST_TMP/fifobundle/config.json: not a regular file"
bundle=$TEST_TMP/bundle
as_user=

hook '"org.example.other": "x"' --config "$TEST_TMP/hook.conf"
check "no annotation of ours: nothing to do, exit 0" \
	test "$hook_rc $(wc -c <"$TEST_TMP/hook.err") $(container_mounts | wc -l)" = "0 0 0"
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/a"' --config "$TEST_TMP/hook.conf" poststop
check "a stage other than createRuntime is a usage error" \
	sh -c "[ $hook_rc -eq 2 ] && grep -q 'runs at createRuntime only' '$TEST_TMP/hook.err'"
stop_container

# 6. A "container" sharing the runtime's mount namespace is refused: the
#    mount would land on the host and outlive it.
sleep 600 &
cpid=$!
track_pid $cpid
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/a"' --config "$TEST_TMP/hook.conf"
expect_refusal "a container without its own mount namespace" \
	"the container shares the runtime's mount namespace"
stop_container

# 7. Rootful, the container in a user namespace of its own (ids 0-65535 on
#    host 100000-165535, as runtimes map them): the image's ids read as the
#    container's, uid 1000 as 1000.
start_container unshare -U -m --propagation private
echo "0 100000 65536" >/proc/$cpid/uid_map && echo "0 100000 65536" >/proc/$cpid/gid_map
hook '"io.imgfs.mount.a": "source='"$TEST_TMP"'/images/a.ext4,target=/a"' --config "$TEST_TMP/hook.conf"
expect_mounted "rootful, user namespace: mounted"
check "rootful, user namespace: owners as in the image's tree" \
	test "$(nsenter -t "$cpid" -U -m -- stat -c '%u %g %a' "$rootfs/a/sub/numbers")" = \
	"$(stat -c '%u %g %a' "$src/sub/numbers")"
check "rootful, user namespace: contents as in the image's tree" \
	sh -c "nsenter -t $cpid -U -m -- cat '$rootfs/a/sub/numbers' | cmp - '$src/sub/numbers'"
stop_container
check "rootful, user namespace: the server exits with the container" test -z "$(settled_leftovers)"

# 8. Rootless: the user's own container with a user namespace mapping only
#    that user to root.  The image's uid 0 reads as the container's root,
#    uid 1000 (unmapped there) as the overflow id; the hook reads no
#    configuration and mounts what the user can read.
as_user="setpriv --reuid=$USER_ID --regid=$USER_ID --clear-groups --"
if ! $as_user unshare -Urm true 2>/dev/null; then
	skip "rootless" "unprivileged user namespaces are disabled"
else
	chown -R $USER_ID:$USER_ID "$bundle"
	start_container setpriv --reuid=$USER_ID --regid=$USER_ID --clear-groups -- \
		unshare -Urm --propagation private
	hook '"io.imgfs.mount.o": "source='"$TEST_TMP"'/other/c.ext4,target=/o"' createRuntime
	expect_mounted "rootless: any image the user can read"
	expect_mounts "rootless: mounted in the container" "$rootfs/o $TEST_TMP/other/c.ext4"
	in_container() { nsenter -t "$cpid" -U -m -- "$@"; }
	check "rootless: contents as in the image's tree" \
		in_container cmp "$src/hello" "$rootfs/o/hello"
	check "rootless: image uid/gid 0 is the container's root" \
		test "$(in_container stat -c '%u %g' "$rootfs/o/hello")" = "0 0"
	check "rootless: image uid/gid 1000, unmapped in the container, reads as 65534" \
		test "$(in_container stat -c '%u %g %a' "$rootfs/o/sub/numbers")" = "65534 65534 600"
	set -- $(imgfs_server_pids "$TEST_TMP/other/c.ext4")
	check "rootless: the server runs as the user" test "$(stat -c %u /proc/"$1")" = $USER_ID
	stop_container
	check "rootless: the server exits when the container is gone" test -z "$(settled_leftovers)"
	as_user=
fi

assert_clean "nothing left behind"
done_testing
