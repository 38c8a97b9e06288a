# SPDX-License-Identifier: GPL-2.0-or-later
# tests/oci-lib.sh: what the OCI hook tests (oci-runc.sh, oci-podman.sh)
# share.  Sourced after lib.sh.  POSIX sh.
#
#   oci_requirements          skip unless root, /dev/fuse, loop devices, a
#                             static busybox, perl's JSON::PP and the hook
#   oci_make_rootfs DIR       a busybox-static root filesystem
#   oci_make_image            the test image $OCI_IMG (a small tree with known
#                             owners, modes and contents) under $OCI_IMAGES,
#                             the refused copies of it, and its truth: what
#                             the probe lists on the kernel's own mount of it
#   $OCI_SHARE/probe.sh       what the container runs: lists the targets,
#                             tries to write, writes $OCI_SHARE/report and
#                             waits for $OCI_SHARE/report.go (the test looks at
#                             the running server meanwhile)
#   oci_await_probe DESC PID  live checks on a probe container started in
#                             the background, then its exit status ($oci_rc)
#   oci_probe_result DESC RC OUTPUT
#                             test lines for its run, report and leftovers
#   oci_check_report DESC     test lines for the report against the truth
#   oci_live_checks DESC N    test lines for the servers of $OCI_IMG while
#                             the container runs (N mounts of it)
#   oci_assert_clean DESC     nothing left: no server, no mount in any mount
#                             namespace, no hook, no container (the test's
#                             oci_containers lists its runtime's)
#   oci_bad_output DESC RC OUTPUT PATTERN...
#                             a refused container: RC is not 0, OUTPUT has
#                             the hook's message with every PATTERN in it
#   oci_bad_annotations MODE WHO, oci_outside_allowed MODE WHO CONFIG
#                             the annotations every hook, and a rootful
#                             one, must refuse, through the test's bad_run
#   userns_works UID          can UID make a user namespace?
#
# The target /mnt/data/img is missing two levels deep in the root
# filesystem, /srv/more entirely: the hook creates them.  The truth is
# the kernel's: owners the container must see are the image's, each shown
# as itself when the container's id map (printed by the probe from inside)
# has it, as the overflow id when not.
#
# A test defines oci_containers (its runtime's containers, one line each)
# and bad_run, and may define oci_teardown (run before lib.sh's cleanup,
# even when the test fails or is interrupted).

OCI_HOOK=$top_builddir/oci-hook/imgfs-oci-hook
# /mnt exists in the root filesystem, data/img below it do not: the hook
# must create them.
OCI_TARGET=/mnt/data/img
# A second mount of the same image with explicit options, where nothing of
# the path exists.
OCI_TARGET2=/srv/more
OCI_IMAGES=$TEST_TMP/images
OCI_IMG=$OCI_IMAGES/test.ext4
OCI_SHARE=$TEST_TMP/share

oci_teardown() { :; }

oci_containers() { :; }

# lib.sh's trap runs cleanup; the test's own teardown (containers, users,
# runtime state) must come first, with the exit status kept.
oci_cleanup() {
	_orc=$?
	[ -z "${oci_cleanup_done:-}" ] || return $_orc
	oci_cleanup_done=1
	oci_teardown
	(exit $_orc)
	cleanup
}
trap oci_cleanup EXIT
trap 'oci_cleanup; trap - EXIT; exit 129' HUP
trap 'oci_cleanup; trap - EXIT; exit 130' INT
trap 'oci_cleanup; trap - EXIT; exit 143' TERM

oci_requirements() {
	need_root
	need_fuse
	need_loop
	need_cmd mkfs.ext4 perl setpriv unshare timeout md5sum stat find seq ldd
	need_prog "$OCI_HOOK" "$IMGFS_SERVER"
	perl -MJSON::PP -e 1 2>/dev/null || skip_all "needs perl's JSON::PP (Debian: perl-modules)"
	OCI_BUSYBOX=
	for _b in "${IMGFS_TEST_BUSYBOX:-}" /bin/busybox /usr/bin/busybox; do
		[ -n "$_b" ] && [ -x "$_b" ] && { OCI_BUSYBOX=$_b; break; }
	done
	[ -n "$OCI_BUSYBOX" ] || skip_all "needs busybox (Debian: busybox-static)"
	# It runs alone in the container: no libraries there.
	ldd "$OCI_BUSYBOX" 2>&1 | grep -qE "not a dynamic executable|statically linked" ||
		skip_all "$OCI_BUSYBOX is linked dynamically (Debian: busybox-static)"
	# Distributions ship /dev/fuse 0666; this machine may not.
	[ "$(stat -c %a /dev/fuse)" = 666 ] || chmod 0666 /dev/fuse
	# Rootless runtimes and servers reach the images and the build tree.
	chmod 0755 "$TEST_TMP"
}

# userns_works UID: can that uid make a user namespace?
userns_works() {
	setpriv --reuid="$1" --regid="$1" --clear-groups -- unshare -Ur true 2>/dev/null
}

# oci_make_rootfs DIR: busybox and its applets, the directories a runtime
# mounts on, /mnt, and a passwd file.
oci_make_rootfs() {
	mkdir -p "$1/bin" "$1/dev" "$1/proc" "$1/sys" "$1/tmp" "$1/etc" "$1/mnt" "$1/share" &&
		cp "$OCI_BUSYBOX" "$1/bin/busybox" || return 1
	for _a in $("$1/bin/busybox" --list); do
		[ "$_a" = busybox ] || ln -s busybox "$1/bin/$_a" || return 1
	done
	printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$1/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
}

# ---- the image and its truth ----

oci_make_image() {
	_src=$TEST_TMP/tree
	mkdir -p "$_src/sub/dir" "$OCI_IMAGES" "$OCI_SHARE" || return 1
	printf 'hello from the image\n' >"$_src/hello.txt"
	printf 'for root only\n' >"$_src/secret"
	: >"$_src/empty"
	seq 1 30000 >"$_src/sub/dir/numbers"
	head -c 300000 /dev/urandom >"$_src/sub/random.bin"
	printf 'owned past 65535\n' >"$_src/high.txt"
	ln -s hello.txt "$_src/link"
	ln -s ../nowhere "$_src/sub/dangling"
	chmod 0755 "$_src" "$_src/sub" "$_src/sub/dir"
	chmod 0644 "$_src/hello.txt" "$_src/empty" "$_src/sub/random.bin" "$_src/high.txt"
	chmod 0600 "$_src/secret"
	chmod 0444 "$_src/sub/dir/numbers"
	chown 1000:1000 "$_src/sub" "$_src/sub/dir/numbers"
	chown 1000:100 "$_src/sub/random.bin"
	chown 70000:70001 "$_src/high.txt"
	chown -h 1000:1000 "$_src/sub/dangling"
	mkfs.ext4 -q -d "$_src" "$OCI_IMG" 16M >/dev/null || return 1
	chmod 0644 "$OCI_IMG"

	# What a rootful hook must refuse: the same image outside the allowed
	# directory, in a directory whose name merely starts with its name,
	# reached through .. and through a symlink from inside it.
	mkdir -p "$TEST_TMP/outside" "$OCI_IMAGES-evil"
	cp "$OCI_IMG" "$TEST_TMP/outside/test.ext4"
	cp "$OCI_IMG" "$OCI_IMAGES-evil/test.ext4"
	ln -s ../outside/test.ext4 "$OCI_IMAGES/escape.ext4"
	# What any hook must fail to open as an unprivileged user.
	cp "$OCI_IMG" "$OCI_IMAGES/private.ext4"
	chmod 0600 "$OCI_IMAGES/private.ext4"

	oci_write_probe
	# The truth: the kernel's ext4, read-only as kernel_mount has it,
	# listed by the same probe.  In a mount namespace of its own: the
	# containers of tests running alongside copy the host's mounts, and a
	# copy would keep the loop device past our umount.
	mkdir -p "$TEST_TMP/kernel"
	private_mounts sh -c 'mount -t ext4 -o ro,loop,noload "$1" "$2" && sh "$3" "$2" "$4"' sh \
		"$OCI_IMG" "$TEST_TMP/kernel" "$OCI_SHARE/probe.sh" "$TEST_TMP/truth" &&
		[ -s "$TEST_TMP/truth" ]
}

# The probe.  Runs under busybox in the container and under the host's
# tools for the truth: find, sort, stat -c, md5sum and readlink print
# the same with either.
oci_write_probe() {
	cat >"$OCI_SHARE/probe.sh" <<'PROBE'
# probe.sh DIR REPORT [container [DIR2]]
dir=$1 report=$2 where=${3:-} dir2=${4:-}
LC_ALL=C
export LC_ALL
# list DIR [PREFIX]: every entry, its contents and link targets
list() {
	(
	cd "$1" || exit 1
	echo "== ${2:-}stat"
	find . | sort | while IFS= read -r f; do stat -c '%u %g %f %h %s %Y %n' "$f"; done
	echo "== ${2:-}md5"
	find . -type f | sort | while IFS= read -r f; do md5sum "$f"; done
	echo "== ${2:-}readlink"
	find . -type l | sort | while IFS= read -r f; do echo "$f -> $(readlink "$f")"; done
	)
}
# try WHAT CMD...: a write that must fail
try() {
	_what=$1
	shift
	if (cd "$dir" && "$@") 2>"$report.err"; then
		echo "$_what: succeeded"
	else
		echo "$_what: failed: $(cat "$report.err")"
	fi
}
{
	list "$dir"
	if [ "$where" = container ]; then
		echo "== mountinfo"
		awk -v t="$dir" '$5 == t' /proc/self/mountinfo
		echo "== uid_map"
		cat /proc/self/uid_map
		echo "== gid_map"
		cat /proc/self/gid_map
		echo "== writes"
		try "create a file" touch new
		try "write into a file" sh -c 'echo x >hello.txt'
		try "make a directory" mkdir newdir
		try "remove a file" rm -f hello.txt
		try "change a mode" chmod 0777 hello.txt
		if [ -n "$dir2" ]; then
			echo "== second mountinfo"
			awk -v t="$dir2" '$5 == t' /proc/self/mountinfo
			list "$dir2" "second "
		fi
	fi
} >"$report.tmp" 2>&1
mv "$report.tmp" "$report"
[ "$where" = container ] || exit 0
# Held open until the test has looked at the servers (at most 60 s).
i=0
while [ ! -e "$report.go" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
PROBE
}

# section NAME FILE: the lines under "== NAME", up to the next header.
section() {
	awk -v s="$1" '/^== / { on = (substr($0, 4) == s); next } on' "$2"
}

# expected_listing REPORT: the truth's listing with owners as the
# container must see them: an id inside the container's id map shows as
# itself (the image's ids are the container's), any other as the
# overflow id.
expected_listing() {
	section uid_map "$1" >"$TEST_TMP/uid_map"
	section gid_map "$1" >"$TEST_TMP/gid_map"
	awk -v ou="$(cat /proc/sys/kernel/overflowuid)" -v og="$(cat /proc/sys/kernel/overflowgid)" \
		-v um="$TEST_TMP/uid_map" -v gm="$TEST_TMP/gid_map" '
		function load(file, first, count,   n) {
			n = 0
			while ((getline l < file) > 0) {
				split(l, f, " ")
				n++
				first[n] = f[1] + 0
				count[n] = f[3] + 0
			}
			return n
		}
		function map(id, first, count, n, over,   i) {
			for (i = 1; i <= n; i++)
				if (id >= first[i] && id < first[i] + count[i])
					return id
			return over
		}
		BEGIN { nu = load(um, uf, uc); ng = load(gm, gf, gc) }
		/^== / { sec = substr($0, 4); print; next }
		sec == "stat" { $1 = map($1 + 0, uf, uc, nu, ou); $2 = map($2 + 0, gf, gc, ng, og) }
		{ print }' "$TEST_TMP/truth"
}

# check_mountinfo DESC LINE: a read-only fuse.imgfs mount, nosuid and
# nodev, with the kernel checking permissions, open to every uid.
check_mountinfo() {
	_got=$(echo "$2" | awk 'NF { for (i = 7; $i != "-"; i++) ; print $(i + 1), $6, $(i + 3) }')
	_desc=$1
	set -- $_got
	_missing=
	for _o in ro nosuid nodev; do
		case ",${2:-}," in *",$_o,"*) ;; *) _missing="$_missing $_o";; esac
	done
	for _o in default_permissions allow_other; do
		case ",${3:-}," in *",$_o,"*) ;; *) _missing="$_missing $_o";; esac
	done
	if [ "${1:-}" = fuse.imgfs ] && [ -z "$_missing" ]; then
		ok "$_desc"
	else
		not_ok "$_desc"
		diag "mountinfo: type ${1:-none}, options ${2:-none}, super options ${3:-none}; missing:$_missing"
	fi
}

# oci_check_report DESC: the probe's report from the container, against
# the truth.
oci_check_report() {
	_r=$OCI_SHARE/report
	if [ ! -s "$_r" ]; then
		not_ok "$1: the container ran the probe"
		return 1
	fi
	expected_listing "$_r" >"$TEST_TMP/expected"
	check_mountinfo "$1: $OCI_TARGET is a read-only fuse.imgfs mount (nosuid, nodev, default_permissions, allow_other)" \
		"$(section mountinfo "$_r")"
	section stat "$TEST_TMP/expected" >"$TEST_TMP/want"
	section stat "$_r" >"$TEST_TMP/got"
	if diff "$TEST_TMP/want" "$TEST_TMP/got" >"$TEST_TMP/diff"; then
		ok "$1: names, types, modes, links, sizes, times as the kernel's; owners through the container's id map"
	else
		not_ok "$1: names, types, modes, links, sizes, times as the kernel's; owners through the container's id map"
		diag "container id maps (inside outside count): uid $(tr -s ' \n' '  ' <"$TEST_TMP/uid_map")/ gid $(tr -s ' \n' '  ' <"$TEST_TMP/gid_map")"
		diag "diff expected container:"
		diag_file "$TEST_TMP/diff"
	fi
	for _s in md5 readlink; do section $_s "$TEST_TMP/truth"; done >"$TEST_TMP/want"
	for _s in md5 readlink; do section $_s "$_r"; done >"$TEST_TMP/got"
	if diff "$TEST_TMP/want" "$TEST_TMP/got" >"$TEST_TMP/diff"; then
		ok "$1: file contents and symlink targets as the kernel reads them"
	else
		not_ok "$1: file contents and symlink targets as the kernel reads them"
		diag_file "$TEST_TMP/diff"
	fi
	section writes "$_r" >"$TEST_TMP/writes"
	if [ "$(wc -l <"$TEST_TMP/writes")" -eq 5 ] &&
		[ "$(grep -c ': failed: .*Read-only file system' "$TEST_TMP/writes")" -eq 5 ]; then
		ok "$1: creating, writing, removing, chmod fail with EROFS"
	else
		not_ok "$1: creating, writing, removing, chmod fail with EROFS"
		diag_file "$TEST_TMP/writes"
	fi
	# The second annotation: ro,type=ext4 spelled out, the same image.
	check_mountinfo "$1: $OCI_TARGET2 (ro,type=ext4) is a read-only fuse.imgfs mount too" \
		"$(section "second mountinfo" "$_r")"
	section stat "$TEST_TMP/expected" >"$TEST_TMP/want"
	section "second stat" "$_r" >"$TEST_TMP/got"
	if diff "$TEST_TMP/want" "$TEST_TMP/got" >"$TEST_TMP/diff"; then
		ok "$1: $OCI_TARGET2 lists the same tree"
	else
		not_ok "$1: $OCI_TARGET2 lists the same tree"
		diag_file "$TEST_TMP/diff"
	fi
}

# ---- the servers, and what is left ----

status_field() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status" 2>/dev/null
}

# oci_servers IMAGE: "supervisor PID" and "server PID" lines for the
# imgfs-server processes serving IMAGE (the server has a PID namespace of
# its own: two NSpid numbers).
oci_servers() {
	for _d in /proc/[0-9]*; do
		[ "$(cat "$_d/comm" 2>/dev/null)" = imgfs-server ] || continue
		tr '\0' '\n' <"$_d/cmdline" 2>/dev/null | grep -qx -- "--source=$1" || continue
		if [ "$(status_field "${_d#/proc/}" NSpid | wc -w)" = 2 ]; then
			echo "server ${_d#/proc/}"
		else
			echo "supervisor ${_d#/proc/}"
		fi
	done
}

# fuse.imgfs mounts of images under $TEST_TMP in any process's mount
# namespace (the container's is not the host's), one line per namespace
# and mount point.
oci_mounts_anywhere() {
	for _d in /proc/[0-9]*; do
		awk -v p="$TEST_TMP/" -v ns="$(readlink "$_d/ns/mnt" 2>/dev/null)" '{
			for (i = 7; $i != "-"; i++) ;
			if ($(i + 1) ~ /^fuse/ && index($(i + 2), p) == 1) print "mount in " ns ": " $5 " (" $(i + 2) ")"
		}' "$_d/mountinfo" 2>/dev/null
	done | sort -u
}

# Hook processes still there: any imgfs-oci-hook naming $TEST_TMP in its
# command line or holding a file under it.
oci_hooks_running() {
	for _d in /proc/[0-9]*; do
		case $(cat "$_d/comm" 2>/dev/null) in
		imgfs-oci-hook) ;;
		*) continue;;
		esac
		if tr '\0' ' ' <"$_d/cmdline" 2>/dev/null | grep -qF "$TEST_TMP" ||
			ls -l "$_d/fd/" 2>/dev/null | grep -qF "$TEST_TMP"; then
			echo "hook: ${_d#/proc/} $(tr '\0' ' ' <"$_d/cmdline" 2>/dev/null)"
		fi
	done
}

oci_leftovers() {
	leftovers
	oci_mounts_anywhere
	oci_hooks_running
	oci_containers
}

oci_assert_clean() {
	settled_leftovers oci_leftovers >"$TEST_TMP/.leftovers"
	if [ -s "$TEST_TMP/.leftovers" ]; then
		not_ok "$1"
		diag_file "$TEST_TMP/.leftovers"
		return 1
	fi
	ok "$1"
}

# oci_live_checks DESC N: while the container holds N mounts of the image:
# a supervisor and a sandboxed server each, the hook gone, and nothing
# mounted in the host's mount namespace.
# oci_await_probe DESC PID: the probe container started in the background
# as PID: the live checks once its report is there, then let it finish.
# Its exit status is in $oci_rc.
oci_await_probe() {
	wait_for_file "$OCI_SHARE/report" "$2" 900 && oci_live_checks "$1" 2
	touch "$OCI_SHARE/report.go"
	wait "$2"
	oci_rc=$?
	untrack_pid "$2"
}

# oci_probe_result DESC RC OUTPUT: test lines for a finished probe
# container, then that nothing is left.
oci_probe_result() {
	if [ "$2" -eq 0 ] && [ -s "$OCI_SHARE/report" ]; then
		ok "$1: the container runs with both annotated mounts"
		oci_check_report "$1"
	else
		not_ok "$1: the container runs with both annotated mounts (exit $2)"
		diag_file "$3" 30
	fi
	oci_assert_clean "$1: once the container is gone, no server, mount, hook or container is left"
}

oci_live_checks() {
	oci_servers "$OCI_IMG" >"$TEST_TMP/servers"
	_nsup=$(grep -c '^supervisor ' "$TEST_TMP/servers")
	_nsrv=$(grep -c '^server ' "$TEST_TMP/servers")
	_bad=
	for _p in $(awk '$1 == "server" { print $2 }' "$TEST_TMP/servers"); do
		[ "$(status_field "$_p" Seccomp)" = 2 ] || _bad="$_bad $_p"
	done
	if [ "$_nsup" = "$2" ] && [ "$_nsrv" = "$2" ] && [ -z "$_bad" ]; then
		ok "$1: while the container runs, $2 supervisors and $2 seccomp-confined servers serve the image"
	else
		not_ok "$1: while the container runs, $2 supervisors and $2 seccomp-confined servers serve the image"
		diag "supervisors: $_nsup, servers: $_nsrv, not confined:${_bad:- none}"
	fi
	_hooks=$(oci_hooks_running)
	_host=$(awk -v p="$TEST_TMP/" '{ for (i = 7; $i != "-"; i++) ; if (index($(i + 2), p) == 1) print $5 }' \
		/proc/self/mountinfo)
	if [ -z "$_hooks" ] && [ -z "$_host" ]; then
		ok "$1: the hook has exited, and the host's mount namespace has no mount of it"
	else
		not_ok "$1: the hook has exited, and the host's mount namespace has no mount of it"
		diag "$_hooks" "${_host:+host mounts: $_host}"
	fi
}

# oci_bad_output DESC RC OUTPUT PATTERN...: one test line for a container
# the hook must refuse: the runtime failed, the hook's message (one line
# starting "imgfs-oci-hook: ") names every PATTERN, and the probe never ran.
oci_bad_output() {
	_desc=$1 _brc=$2 _out=$3
	shift 3
	_line=$(grep -o 'imgfs-oci-hook: .*' "$_out" | head -n 1)
	_missing=
	for _pat in "$@"; do
		case $_line in
		*"$_pat"*) ;;
		*) _missing="$_missing '$_pat'";;
		esac
	done
	if [ "$_brc" -ne 0 ] && [ -n "$_line" ] && [ -z "$_missing" ] && [ ! -e "$OCI_SHARE/report" ]; then
		ok "$_desc"
	else
		not_ok "$_desc"
		diag "exit $_brc; hook message ${_line:+found}${_line:-missing}${_missing:+, without$_missing}"
		[ ! -e "$OCI_SHARE/report" ] || diag "the container ran anyway"
		diag_file "$_out" 20
	fi
}

# ---- annotations a hook must refuse ----

# oci_bad_annotations MODE WHO: the refusals every hook makes, rootful or
# not, each through the test's bad_run MODE WHO DESC ANNOTATION PATTERN...
oci_bad_annotations() {
	_m=$1 _r=$2 _k=io.imgfs.mount.bad
	bad_run $_m $_r "relative target refused" "$_k=source=$OCI_IMG,target=../../etc" $_k
	bad_run $_m $_r "target escaping the root with .. refused" "$_k=source=$OCI_IMG,target=/mnt/../../etc" $_k
	bad_run $_m $_r "relative source refused" "$_k=source=images/test.ext4,target=/data" $_k
	bad_run $_m $_r "missing source refused" "$_k=source=$OCI_IMAGES/missing.ext4,target=/data" $_k
	bad_run $_m $_r "unknown key refused" "$_k=source=$OCI_IMG,target=/data,foo=bar" $_k foo
	bad_run $_m $_r "ro and rw together refused" "$_k=source=$OCI_IMG,target=/data,ro,rw" $_k rw
	bad_run $_m $_r "type=xfs on an ext4 image refused" "$_k=source=$OCI_IMG,target=/data,type=xfs" $_k xfs
}

# oci_outside_allowed MODE WHO CONFIG: a rootful hook opens only what its
# configuration allows, and says where that is configured.
oci_outside_allowed() {
	_m=$1 _r=$2 _conf=$3 _k=io.imgfs.mount.outside
	bad_run $_m $_r "source outside the allowed directory refused" \
		"$_k=source=$TEST_TMP/outside/test.ext4,target=/data" $_k "$_conf"
	bad_run $_m $_r "source in a directory named like the allowed one refused" \
		"$_k=source=$OCI_IMAGES-evil/test.ext4,target=/data" $_k "$_conf"
	bad_run $_m $_r "source leaving the allowed directory by .. refused" \
		"$_k=source=$OCI_IMAGES/../outside/test.ext4,target=/data" $_k "$_conf"
	bad_run $_m $_r "source symlinked out of the allowed directory refused" \
		"$_k=source=$OCI_IMAGES/escape.ext4,target=/data" $_k "$_conf"
}

# ---- read-write ----
#
#   oci_make_rw_image OWNER   $OCI_RW_IMG, a small seeded ext4 image owned
#                             by OWNER (the user the hook runs as: rw opens
#                             it with that user's rights), a pristine copy
#                             of it, and $OCI_SHARE/rw.sh
#   oci_rw_check DESC RC OUTPUT CHOWN
#                             after a container ran `sh /share/rw.sh DIR
#                             CHOWN /share/rw-report` on an rw mount of
#                             $OCI_RW_IMG (exit RC, runtime output OUTPUT):
#                             test lines against the truth
#
# The truth is the kernel's: the same rw.sh, run by root on a loop mount
# of the pristine copy.  Root on the host and the container's root write
# the same ids to the image: the hook mounts in the container's user
# namespace, so FUSE hands the server the caller's ids as the container
# sees them (its root is 0, whatever host uid it is), and the image's ids
# are the container's, as they are for reading (the probe above).  So
# with podman rootless, the container's root (host: the user) writes 0:0
# and its uid 1000 (host: a subordinate id) writes 1000:1000, never the
# host ids; a rootless runc container maps only its root, and neither
# chowns nor writes the seed file owned by 1000 (CHOWN=no).  The two
# images are then read by the kernel (read-only loop mounts) and
# compared with treecmp (contents, names,
# types, modes, owners, sizes, link counts, hard links, xattrs; --now for
# times the clock set), and e2fsck -fn must find the container's clean.

OCI_RW_IMG=$OCI_IMAGES/rw.ext4

oci_make_rw_image() {
	_src=$TEST_TMP/rw-tree
	mkdir -p "$_src/keep" || return 1
	printf 'seed\n' >"$_src/seed.txt"
	printf 'to be removed\n' >"$_src/old.txt"
	printf 'to be moved\n' >"$_src/movable"
	seq 1 3000 >"$_src/keep/numbers"
	chown 1000:1000 "$_src/keep/numbers"
	chmod 0755 "$_src" "$_src/keep"
	chmod 0644 "$_src/seed.txt" "$_src/old.txt" "$_src/movable" "$_src/keep/numbers"
	mkfs.ext4 -q -E root_owner=0:0 -d "$_src" "$TEST_TMP/rw-pristine.ext4" 16M >/dev/null ||
		return 1
	cp "$TEST_TMP/rw-pristine.ext4" "$OCI_RW_IMG" && chown "$1" "$OCI_RW_IMG" &&
		chmod 0600 "$OCI_RW_IMG" || return 1
	cat >"$OCI_SHARE/rw.sh" <<'SCRIPT'
# rw.sh DIR CHOWN REPORT: writes into DIR (busybox in the container, the
# host's tools for the truth: the same commands); what it sees of the
# owners and its id map go to REPORT.
dir=$1 chown=$2 report=$3
set -e
cd "$dir"
printf 'written by the container\n' >f
mkdir -p d/e
seq 1 5000 >d/numbers
ln -s f s
ln -s ../keep/numbers d/e/up
ln d/numbers d/hard
chmod 0600 f
chmod 0700 d/e
printf 'replaced\n' >seed.txt
rm old.txt
mv movable d/e/moved
truncate -s 100 d/numbers
truncate -s 200000 d/sparse
mkdir gone
rmdir gone
# Only where the container's id map has uid 1000 (CHOWN=yes): with its
# root alone, keep/numbers (1000:1000 on disk) is the overflow id's, and
# the container's root may not write it, as with the kernel's ext4.
if [ "$chown" != no ]; then
	printf 'appended\n' >>keep/numbers
	chown 1000:1000 d/e/moved
fi
{
	stat -c '%u:%g %n' f d d/e/moved
	echo "== uid_map"
	cat /proc/self/uid_map
} >"$report"
sync
SCRIPT
}

# rw_truth.sh PRISTINE COPY DIR RW.SH CHOWN REPORT, in a private mount
# namespace: the kernel runs rw.sh on COPY.
oci_rw_truth() {
	cat >"$TEST_TMP/rw-truth.sh" <<'SCRIPT'
pristine=$1 copy=$2 k=$3 rw=$4 chown=$5 report=$6
cp "$pristine" "$copy" && mkdir -p "$k" && mount -t ext4 -o loop "$copy" "$k" || exit 10
sh "$rw" "$k" "$chown" "$report"
rc=$?
umount "$k" || exit 11
exit $rc
SCRIPT
	private_mounts sh "$TEST_TMP/rw-truth.sh" "$TEST_TMP/rw-pristine.ext4" "$TEST_TMP/rw-truth.ext4" \
		"$TEST_TMP/rw-truth" "$OCI_SHARE/rw.sh" "$1" "$TEST_TMP/rw-truth.report"
}

# rw_compare.sh TRUTH IMAGE KDIR IDIR TREECMP NOW OUT, in a private mount
# namespace: both images read-only, compared.
oci_rw_compare() {
	cat >"$TEST_TMP/rw-compare.sh" <<'SCRIPT'
truth=$1 img=$2 k=$3 i=$4 treecmp=$5 now=$6 out=$7
mkdir -p "$k" "$i"
mount -t ext4 -o ro,loop,noload "$truth" "$k" || exit 10
mount -t ext4 -o ro,loop,noload "$img" "$i" || { umount "$k"; exit 11; }
timeout 120 "$treecmp" --now="$now" --max-diffs=60 "$k" "$i" >"$out" 2>&1
rc=$?
(cd "$i" && stat -c '%u:%g %n' f d d/e/moved) >"$out.owners" 2>&1
umount "$i"
umount "$k"
exit $rc
SCRIPT
	private_mounts sh "$TEST_TMP/rw-compare.sh" "$TEST_TMP/rw-truth.ext4" "$OCI_RW_IMG" \
		"$TEST_TMP/rw-kro" "$TEST_TMP/rw-iro" "$TREECMP" "$1" "$TEST_TMP/rw-treecmp.out"
}

# oci_rw_check DESC RC OUTPUT CHOWN NOW: the container ran rw.sh (exit
# RC) from time NOW on; the servers, the image and the truth.
oci_rw_check() {
	_desc=$1 _rc=$2 _out=$3 _chown=$4 _now=$5
	# At once, not settled: when the runtime returns, the image is complete.
	_left=$(oci_servers "$OCI_RW_IMG")
	if [ "$_rc" -eq 0 ] && [ -s "$OCI_SHARE/rw-report" ]; then
		ok "$_desc: the container writes into its rw mount and exits"
	else
		not_ok "$_desc: the container writes into its rw mount and exits (exit $_rc)"
		diag_file "$_out" 30
	fi
	if [ -z "$_left" ]; then
		ok "$_desc: when the runtime returns, no imgfs-server serves the image"
	else
		not_ok "$_desc: when the runtime returns, no imgfs-server serves the image"
		diag "$_left"
	fi
	oci_assert_clean "$_desc: no server, mount, hook or container left" || return 1
	if e2fsck -fn "$OCI_RW_IMG" >"$TEST_TMP/rw-fsck.out" 2>&1; then
		ok "$_desc: e2fsck -fn finds the image the container wrote clean"
	else
		not_ok "$_desc: e2fsck -fn finds the image the container wrote clean"
		diag_file "$TEST_TMP/rw-fsck.out" 40
	fi
	if ! oci_rw_truth "$_chown" >"$TEST_TMP/rw-truth.out" 2>&1; then
		not_ok "$_desc: the kernel runs the same writes (a test bug)"
		diag_file "$TEST_TMP/rw-truth.out"
		return 1
	fi
	# What the container saw of its owners is what root saw on the host.
	section uid_map "$OCI_SHARE/rw-report" >"$TEST_TMP/rw-uid_map" 2>/dev/null
	sed '/^== uid_map$/,$d' "$OCI_SHARE/rw-report" >"$TEST_TMP/rw-seen" 2>/dev/null
	sed '/^== uid_map$/,$d' "$TEST_TMP/rw-truth.report" >"$TEST_TMP/rw-want"
	if diff "$TEST_TMP/rw-want" "$TEST_TMP/rw-seen" >"$TEST_TMP/rw-diff"; then
		ok "$_desc: inside, the container's files are owned as root's on the kernel: $(echo $(awk '{ print $1 }' "$TEST_TMP/rw-seen"))"
	else
		not_ok "$_desc: inside, the container's files are owned as root's on the kernel"
		diag "container uid map: $(tr -s ' \n' '  ' <"$TEST_TMP/rw-uid_map")"
		diag_file "$TEST_TMP/rw-diff"
	fi
	oci_rw_compare "$_now"
	_crc=$?
	if [ $_crc -eq 0 ]; then
		ok "$_desc: the kernel reads what the container wrote as it reads its own run: $(tail -n 1 "$TEST_TMP/rw-treecmp.out")"
	else
		not_ok "$_desc: the kernel reads what the container wrote as it reads its own run (exit $_crc)"
		diag_file "$TEST_TMP/rw-treecmp.out" 70
	fi
	# On disk: the container's ids, not the host's (see above).
	_want="0:0 f
0:0 d
1000:1000 d/e/moved"
	[ "$_chown" != no ] || _want="0:0 f
0:0 d
0:0 d/e/moved"
	if [ "$(cat "$TEST_TMP/rw-treecmp.out.owners" 2>/dev/null)" = "$_want" ]; then
		ok "$_desc: on disk, owners are the container's ids, not host ids: $(echo $_want)"
	else
		not_ok "$_desc: on disk, owners are the container's ids, not host ids"
		diag "container uid map: $(tr -s ' \n' '  ' <"$TEST_TMP/rw-uid_map")"
		diag_file "$TEST_TMP/rw-treecmp.out.owners"
	fi
}
