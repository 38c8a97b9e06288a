#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/oci-podman.sh: imgfs-oci-hook as podman runs it, from the build
# tree's hooks.d file (it fires on io.imgfs.mount.* annotations), rootful
# and rootless (as a user the test creates with `useradd -m`, so that it
# has subordinate ids, and removes at the end, however the test ends).
#
# Podman keeps everything under $TEST_TMP: its storage (vfs), run and tmp
# directories, network configuration, image temporary files, and for the
# rootless user its XDG directories; the image is `podman import`ed from
# a tar of a busybox-static root filesystem.  The containers run the probe
# of oci-lib.sh (from a /share volume): two annotated mounts of one image
# whose listing must equal what the same probe lists on the kernel's own
# read-only mount of it, owners mapped through the container's id map as
# the probe prints it (rootless: the user is 0, the subordinate range
# 1..; unmapped ids are the overflow id); writes fail with EROFS; the
# servers run while the container does and are gone with it; nothing is
# left: no server, no mount in any namespace, `podman ps -a` empty.
# Rootless, one more container writes into an `rw` mount of a second image
# and exits; the image is then complete (no server left), e2fsck -fn
# clean, and the kernel reads from it what it reads from its own run of
# the same writes, owners the container's ids (oci-lib.sh, oci_rw_check).  Bad
# annotations make `podman run` fail with the hook's message; rootful,
# images outside the allowed directory are refused naming the
# configuration file (the test writes $top_builddir/tests/oci-hook.conf,
# which the hooks.d file names, and removes it); rootless, an image the
# user cannot read is refused.
#
# Podman 4.3 splits an --annotation value at commas (a CSV list of
# annotations) unless the whole KEY=VALUE is in double quotes, and the
# hook's annotations have commas: the test quotes them when this podman
# splits.
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/oci-lib.sh"

oci_requirements
need_cmd podman conmon runc tar
HOOKS_DIR=$top_builddir/tests/hooks.d
[ -f "$HOOKS_DIR/imgfs-oci-hook.json" ] || skip_all "not built: $HOOKS_DIR/imgfs-oci-hook.json"
# The configuration the hooks.d file gives the hook.
HOOK_CONF=$(perl -MJSON::PP -e '
	local $/; my $h = decode_json(<STDIN>)->{hook};
	my @a = @{$h->{args} || []};
	for my $i (0 .. $#a - 1) { print $a[$i + 1] if $a[$i] eq "--config" }' \
	<"$HOOKS_DIR/imgfs-oci-hook.json")
[ -n "$HOOK_CONF" ] || skip_all "$HOOKS_DIR/imgfs-oci-hook.json gives the hook no --config"

IMAGE=localhost/imgfs-oci-busybox:test
USER_NAME=imgfs-oci-test$$
USER_ID= user_made=

# ---- teardown: containers, the user, files outside $TEST_TMP ----

var_lib_containers_existed=
[ ! -e /var/lib/containers ] || var_lib_containers_existed=1
hook_conf_written= hook_conf_saved=

oci_teardown() {
	for _mode in rootful rootless; do
		[ -d "$(pdir $_mode)" ] || continue
		timeout 60 sh "$TEST_TMP/pm.sh" $_mode rm --all --force --time 0 >/dev/null 2>&1
	done
	if [ -n "$user_made" ]; then
		# The rootless podman's pause process, and anything else of the user's.
		USER_ID=${USER_ID:-$(id -u "$USER_NAME")}
		for _sig in TERM KILL; do
			_pids=$(user_pids)
			[ -n "$_pids" ] || break
			kill -$_sig $_pids 2>/dev/null
			_i=0
			while [ -n "$(user_pids)" ] && [ $_i -lt 30 ]; do sleep 0.1; _i=$((_i + 1)); done
		done
		userdel -r "$USER_NAME" >/dev/null 2>&1
		for _f in /etc/subuid /etc/subgid; do
			! grep -q "^$USER_NAME:" $_f 2>/dev/null || sed -i "/^$USER_NAME:/d" $_f
		done
	fi
	if [ -n "$hook_conf_saved" ]; then
		mv "$TEST_TMP/oci-hook.conf.saved" "$HOOK_CONF"
	elif [ -n "$hook_conf_written" ]; then
		rm -f "$HOOK_CONF"
	fi
	# Rootful podman keeps a blob cache in /var/lib/containers/cache, made
	# on first use: gone again if it was not there before.
	if [ -z "$var_lib_containers_existed" ]; then
		rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb
		rmdir /var/lib/containers/cache /var/lib/containers 2>/dev/null
	fi
}

# Processes of the test's user (real uid), by pid.
user_pids() {
	for _d in /proc/[0-9]*; do
		[ "$(awk '$1 == "Uid:" { print $2 }' "$_d/status" 2>/dev/null)" = "$USER_ID" ] &&
			echo "${_d#/proc/}"
	done
}

# ---- running podman ----

# podman's directory for MODE: short names, podman refuses a run root
# path of more than 50 bytes.
pdir() {
	case $1 in
	rootful) echo "$TEST_TMP/pr";;
	*) echo "$TEST_TMP/pu";;
	esac
}

# pm.sh MODE ARG...: podman with everything under its directory, as root
# or as the test's user.
cat >"$TEST_TMP/pm.sh" <<SCRIPT
mode=\$1
shift
case \$mode in
rootful) p=$TEST_TMP/pr;;
*) p=$TEST_TMP/pu;;
esac
set -- podman --root "\$p/root" --runroot "\$p/rr" --tmpdir "\$p/tmp" \\
	--storage-driver vfs --events-backend file --cgroup-manager cgroupfs --runtime runc \\
	--network-config-dir "\$p/net" --hooks-dir "$HOOKS_DIR" "\$@"
set -- env TMPDIR="\$p/tmp-images" CONTAINERS_CONF="\$p/containers.conf" \\
	CONTAINERS_STORAGE_CONF="\$p/storage.conf" "\$@"
if [ "\$mode" = rootless ]; then
	set -- setpriv --reuid="\$(cat $TEST_TMP/user-id)" --regid="\$(cat $TEST_TMP/user-gid)" \\
		--init-groups -- env HOME="\$(cat $TEST_TMP/user-home)" USER=$USER_NAME \\
		LOGNAME=$USER_NAME XDG_RUNTIME_DIR="\$p/xdg" XDG_DATA_HOME="\$p/data" \\
		XDG_CONFIG_HOME="\$p/config" "\$@"
fi
exec "\$@"
SCRIPT

pm() {
	sh "$TEST_TMP/pm.sh" "$@"
}

# setup_podman MODE OWNER: its directories, owned by OWNER, and a
# containers.conf and storage.conf of its own (no host settings apply).
setup_podman() {
	_p=$(pdir $1)
	mkdir -p "$_p/tmp-images" "$_p/net" "$_p/xdg" "$_p/data" "$_p/config" || return 1
	printf '[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n' >"$_p/containers.conf"
	printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n' \
		"$_p/root" "$_p/rr" >"$_p/storage.conf"
	chown -R "$2" "$_p" && chmod 0700 "$_p/xdg"
}

oci_containers() {
	for _mode in rootful rootless; do
		[ -f "$(pdir $_mode)/ready" ] || continue
		pm $_mode ps --all --quiet 2>/dev/null | sed "s/^/container ($_mode): /"
	done
}

# ann KEY=VALUE: an --annotation argument podman passes on unchanged.
ann() {
	if [ -n "$podman_splits" ]; then
		printf '"%s"' "$1"
	else
		printf '%s' "$1"
	fi
}

RUN_OPTS="--rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -e LC_ALL=C"

n=0
fresh_run() {
	n=$((n + 1))
	cname=imgfs-oci-$$-$n
	rm -f "$OCI_SHARE"/report*
}

# good_run MODE: the probe container, two mounts of the image.
good_run() {
	_mode=$1
	desc="podman $_mode"
	_out=$TEST_TMP/run.out
	fresh_run
	timeout -k 10 120 sh "$TEST_TMP/pm.sh" $_mode run $RUN_OPTS --name "$cname" \
		-v "$OCI_SHARE:/share" \
		--annotation "$(ann "io.imgfs.mount.data=source=$OCI_IMG,target=$OCI_TARGET")" \
		--annotation "$(ann "io.imgfs.mount.more=source=$OCI_IMG,target=$OCI_TARGET2,ro,type=ext4")" \
		"$IMAGE" sh /share/probe.sh "$OCI_TARGET" /share/report container "$OCI_TARGET2" \
		</dev/null >"$_out" 2>&1 &
	_bg=$!
	track_pid $_bg
	oci_await_probe "$desc" $_bg
	oci_probe_result "$desc" $oci_rc "$_out"
}

# rw_run MODE: one container writing into an rw mount of $OCI_RW_IMG,
# then what the kernel reads of it (oci_rw_check).
rw_run() {
	_mode=$1
	_out=$TEST_TMP/rw-run.out
	fresh_run
	rm -f "$OCI_SHARE/rw-report"
	_now=$(date +%s)
	bounded 120 sh "$TEST_TMP/pm.sh" $_mode run $RUN_OPTS --name "$cname" -v "$OCI_SHARE:/share" \
		--annotation "$(ann "io.imgfs.mount.rw=source=$OCI_RW_IMG,target=/data,rw")" \
		"$IMAGE" sh /share/rw.sh /data yes /share/rw-report </dev/null >"$_out" 2>&1
	oci_rw_check "podman $_mode, rw" $? "$_out" yes "$_now"
}

# bad_run MODE WHO DESC ANNOTATION PATTERN...: a container the hook must
# refuse, its message (in podman's error) naming every PATTERN.
bad_run() {
	_mode=$1 _desc="podman $1: $3" _ann=$4
	shift 4
	_out=$TEST_TMP/bad.out
	fresh_run
	bounded 120 sh "$TEST_TMP/pm.sh" $_mode run $RUN_OPTS --name "$cname" -v "$OCI_SHARE:/share" \
		--annotation "$(ann "$_ann")" \
		"$IMAGE" sh /share/probe.sh "$OCI_TARGET" /share/report container \
		</dev/null >"$_out" 2>&1
	_rc=$?
	oci_bad_output "$_desc" $_rc "$_out" "$@"
	oci_assert_clean "$_desc: nothing left"
}

# ---- setting up ----

oci_make_image || bail_out "cannot make the test image or read it with the kernel's ext4"
chmod 0777 "$OCI_SHARE"
oci_make_rootfs "$TEST_TMP/rootfs" && tar -C "$TEST_TMP/rootfs" -cf "$TEST_TMP/busybox.tar" . ||
	bail_out "cannot make the busybox root filesystem"
chmod 0644 "$TEST_TMP/busybox.tar"

# Someone's own (by hand) is put back at the end.
if [ -e "$HOOK_CONF" ]; then
	cp -p "$HOOK_CONF" "$TEST_TMP/oci-hook.conf.saved" && hook_conf_saved=1
fi
hook_conf_written=1
printf '# written by %s, removed when it ends\nallow = %s\n' "$TEST_NAME" "$OCI_IMAGES" >"$HOOK_CONF" ||
	bail_out "cannot write $HOOK_CONF"

# ---- rootful ----

setup_podman rootful root:root || bail_out "cannot set up podman's directories"
if ! pm rootful import "$TEST_TMP/busybox.tar" "$IMAGE" >"$TEST_TMP/import.out" 2>&1; then
	diag_file "$TEST_TMP/import.out"
	skip_all "rootful podman cannot import an image here"
fi
touch "$(pdir rootful)/ready"

# Does this podman split --annotation values at commas?
pm rootful create --name imgfs-oci-$$-split --network none --annotation "imgfs.test=a,imgfs.test2=b" \
	"$IMAGE" true \
	>"$TEST_TMP/split.out" 2>&1
split_seen=$(pm rootful container inspect --format '{{index .Config.Annotations "imgfs.test"}}' \
	imgfs-oci-$$-split 2>>"$TEST_TMP/split.out")
pm rootful rm --force imgfs-oci-$$-split >/dev/null 2>&1
case $split_seen in
a) podman_splits=1; diag "podman splits --annotation at commas: the test quotes each KEY=VALUE";;
a,imgfs.test2=b) podman_splits=;;
*) diag_file "$TEST_TMP/split.out"; bail_out "cannot tell how podman takes --annotation (got '$split_seen')";;
esac

# A plain container first: if podman cannot run one here, say why.
if ! bounded 60 sh "$TEST_TMP/pm.sh" rootful run $RUN_OPTS "$IMAGE" true >"$TEST_TMP/usable.out" 2>&1; then
	skip "podman rootful" "cannot run a container here: $(grep -v '^$' "$TEST_TMP/usable.out" | tail -n 1)"
else
	good_run rootful
	oci_bad_annotations rootful podman
	oci_outside_allowed rootful podman "$HOOK_CONF"
fi

# ---- rootless ----

# rootless: set up the user and its podman; the reason in $why when not.
rootless() {
	for _c in useradd userdel newuidmap newgidmap; do
		command -v "$_c" >/dev/null 2>&1 || { why="needs $_c (not in PATH)"; return 1; }
	done
	if id "$USER_NAME" >/dev/null 2>&1; then
		why="a user $USER_NAME exists already"
		return 1
	fi
	if ! useradd -m "$USER_NAME" >"$TEST_TMP/useradd.out" 2>&1; then
		why="useradd failed: $(head -n 1 "$TEST_TMP/useradd.out")"
		return 1
	fi
	user_made=1
	USER_ID=$(id -u "$USER_NAME")
	echo "$USER_ID" >"$TEST_TMP/user-id"
	id -g "$USER_NAME" >"$TEST_TMP/user-gid"
	getent passwd "$USER_NAME" | cut -d: -f6 >"$TEST_TMP/user-home"
	grep -q "^$USER_NAME:" /etc/subuid && grep -q "^$USER_NAME:" /etc/subgid ||
		{ why="useradd gave $USER_NAME no subordinate ids (/etc/subuid, /etc/subgid)"; return 1; }
	userns_works "$USER_ID" || { why="unprivileged user namespaces are disabled"; return 1; }
	setup_podman rootless "$USER_ID:$(cat "$TEST_TMP/user-gid")" || { why="cannot set up podman's directories"; return 1; }
	if ! pm rootless import "$TEST_TMP/busybox.tar" "$IMAGE" >"$TEST_TMP/import.out" 2>&1; then
		why="rootless podman cannot import an image: $(grep -v '^$' "$TEST_TMP/import.out" | tail -n 1)"
		return 1
	fi
	touch "$(pdir rootless)/ready"
	if ! bounded 60 sh "$TEST_TMP/pm.sh" rootless run $RUN_OPTS "$IMAGE" true >"$TEST_TMP/usable.out" 2>&1; then
		why="cannot run a rootless container here: $(grep -v '^$' "$TEST_TMP/usable.out" | tail -n 1)"
		return 1
	fi
}

if rootless; then
	good_run rootless
	oci_make_rw_image "$USER_ID:$(cat "$TEST_TMP/user-gid")" ||
		bail_out "cannot make the read-write test image"
	rw_run rootless
	# The map the owners were computed with is podman's own.
	pm rootless unshare cat /proc/self/uid_map >"$TEST_TMP/podman-uid_map" 2>/dev/null
	if [ -s "$TEST_TMP/uid_map" ] && [ "$(awk '{ print $1, $2, $3 }' "$TEST_TMP/podman-uid_map")" = \
		"$(awk '{ print $1, $2, $3 }' "$TEST_TMP/uid_map")" ]; then
		ok "podman rootless: the container's uid map is podman's (the user, then its subordinate ids)"
	else
		not_ok "podman rootless: the container's uid map is podman's (the user, then its subordinate ids)"
		diag "podman unshare: $(cat "$TEST_TMP/podman-uid_map")" "container: $(cat "$TEST_TMP/uid_map" 2>/dev/null)"
	fi
	oci_bad_annotations rootless podman
	bad_run rootless podman "an image the user cannot read is refused" \
		"io.imgfs.mount.private=source=$OCI_IMAGES/private.ext4,target=/data" io.imgfs.mount.private
else
	skip "podman rootless" "$why"
fi

done_testing
