#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/oci-runc.sh: imgfs-oci-hook as a createRuntime hook of runc and
# crun, in bundles the test makes (a busybox-static root filesystem and the
# runtime's own `spec`, edited), three ways:
#
#   rootful   the runtime and the hook as root, no user namespace
#   userns    the runtime as root, the container in a user namespace
#             mapping 0..65535 to host 200000.. (the hook joins it)
#   rootless  the runtime as an unprivileged uid (USER_ID), mapped to the
#             container's root and nothing else
#
# Each time the container runs a probe (from a bind-mounted /share) that
# lists two annotated mounts of one image, tries to write, reports, and
# waits while the test looks at the servers from outside.  The report must
# equal what the same probe lists on the kernel's own read-only mount of
# the image, owners mapped through the container's id map as the probe
# prints it (unmapped ids show as the overflow id); writes fail with EROFS;
# after the container is gone, so are the servers and every mount.
#
# Rootless runc also runs one container on an `rw` annotation: it writes
# into the image (oci-lib.sh's rw.sh) and exits; then the image must be
# complete, e2fsck -fn clean, and the kernel must read from it what it
# reads from its own run of the same writes (oci_rw_check).
#
# Then annotations the hook must refuse (the runtime must fail with the
# hook's message, and nothing is left): a relative or escaping target, a
# relative or missing source, an unknown key, rw, type=xfs; as root, an
# image outside the configuration's allowed directory (by path, by a
# directory name that only starts the same, by .., by a symlink); rootless,
# an image the user cannot read.
#
# crun reports no hook output of its own: the test has it write the
# hook's stderr to a file (the run.oci.hooks.stderr annotation).  crun
# 1.8 refuses to start at all on a hybrid cgroup v1/v2 host; there the test
# runs it (with --cgroup-manager=disabled, as always) in a mount namespace
# where the cgroup2 hierarchy is hidden, and says so.  Rootless crun keeps
# the container's process closed to its own user at createRuntime (it is
# undumpable until it starts), so there the hook must refuse, saying why.
#
# Environment: IMGFS_TEST_RUNTIMES (default "runc crun"),
# IMGFS_TEST_BUSYBOX (a static busybox).
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/oci-lib.sh"

oci_requirements

RUNTIMES=${IMGFS_TEST_RUNTIMES:-runc crun}
found=
for rt in $RUNTIMES; do
	command -v "$rt" >/dev/null 2>&1 && found="$found $rt"
done
[ -n "$found" ] || skip_all "needs runc or crun (not in PATH)"

USER_ID=4321		# rootless: no passwd entry, no subordinate ids
USERNS_BASE=200000	# userns: container 0..65535 = host 200000..
HOOK_CONF=$TEST_TMP/oci-hook.conf
printf '# written by %s\nallow = %s\n' "$TEST_NAME" "$OCI_IMAGES" >"$HOOK_CONF"

oci_make_image || bail_out "cannot make the test image or read it with the kernel's ext4"
chmod 0777 "$OCI_SHARE"

# ---- config.json ----

# ociconf.pl SPEC OUT [OPTION]...: a container's config.json from a
# runtime's `spec` output.  --arg (process.args, repeated), --env K=V,
# --bind HOSTDIR:DIR, --hook PATH and --hook-arg (createRuntime, with a
# 60 s timeout), --annotation K=V, --map INSIDE:HOST:COUNT (a user
# namespace with that one range for uids and gids).
cat >"$TEST_TMP/ociconf.pl" <<'PERL'
use strict;
use warnings;
use JSON::PP;
use Getopt::Long;
my (@args, @env, @hookargs, @ann, $bind, $hook, $map);
GetOptions('arg=s' => \@args, 'env=s' => \@env, 'bind=s' => \$bind, 'hook=s' => \$hook,
	'hook-arg=s' => \@hookargs, 'annotation=s' => \@ann, 'map=s' => \$map)
	or die "ociconf: bad options\n";
my ($in, $out) = @ARGV;
open(my $f, '<', $in) or die "ociconf: $in: $!\n";
my $c = decode_json(do { local $/; <$f> });
close $f;
$c->{process}{terminal} = JSON::PP::false;
$c->{process}{args} = \@args;
push @{$c->{process}{env}}, @env;
# As podman has it; the hook creates missing target directories in it.
$c->{root}{readonly} = JSON::PP::false;
if (defined $bind) {
	my ($src, $dst) = split /:/, $bind, 2;
	push @{$c->{mounts}}, { destination => $dst, type => 'bind', source => $src,
		options => ['rbind', 'rw'] };
}
$c->{hooks}{createRuntime} = [{ path => $hook, args => \@hookargs, timeout => 60 }]
	if defined $hook;
for (@ann) {
	my ($k, $v) = split /=/, $_, 2;
	$c->{annotations}{$k} = $v;
}
if (defined $map) {
	my ($inside, $host, $count) = split /:/, $map;
	for my $m ('uidMappings', 'gidMappings') {
		$c->{linux}{$m} = [{ containerID => $inside + 0, hostID => $host + 0, size => $count + 0 }];
	}
	push @{$c->{linux}{namespaces}}, { type => 'user' }
		unless grep { $_->{type} eq 'user' } @{$c->{linux}{namespaces}};
}
open($f, '>', $out) or die "ociconf: $out: $!\n";
print $f JSON::PP->new->pretty->canonical->encode($c);
close $f or die "ociconf: $out: $!\n";
PERL

# ---- running a runtime ----

# rt.sh MODE RUNTIME ARG...: the runtime, with its state under $TEST_TMP,
# as MODE's user.
cat >"$TEST_TMP/rt.sh" <<SCRIPT
mode=\$1 rt=\$2
shift 2
state=$TEST_TMP/state/\$mode-\$rt
case \$rt in
crun) set -- crun --cgroup-manager=disabled --root "\$state" "\$@";;
*) set -- "\$rt" --root "\$state" "\$@";;
esac
if [ "\$mode" = rootless ]; then
	set -- setpriv --reuid=$USER_ID --regid=$USER_ID --clear-groups -- \\
		env HOME=$TEST_TMP/home XDG_RUNTIME_DIR=$TEST_TMP/xdg "\$@"
fi
# crun on a hybrid cgroup host: the cgroup2 mount hidden (see the top).
if [ "\$rt" = crun ] && [ -s $TEST_TMP/crun-hide ]; then
	set -- unshare -m sh -c 'mount -t tmpfs -o ro tmpfs "\$0" && exec "\$@"' \\
		"\$(cat $TEST_TMP/crun-hide)" "\$@"
fi
exec "\$@"
SCRIPT
mkdir -p "$TEST_TMP/state" "$TEST_TMP/home" "$TEST_TMP/xdg"
for rt in $RUNTIMES; do
	mkdir -p "$TEST_TMP/state/rootless-$rt"
	chown $USER_ID:$USER_ID "$TEST_TMP/state/rootless-$rt"
done
chown $USER_ID:$USER_ID "$TEST_TMP/home" "$TEST_TMP/xdg"
chmod 0700 "$TEST_TMP/xdg"

rt_cmd() {
	sh "$TEST_TMP/rt.sh" "$@"
}

# Containers left in any of the runtimes' state directories.
oci_containers() {
	for _s in "$TEST_TMP"/state/*-*; do
		[ -d "$_s" ] || continue
		_mode=${_s##*/}
		for _id in $(rt_cmd "${_mode%-*}" "${_mode#*-}" list -q 2>/dev/null); do
			echo "container: $_id (${_mode#*-}, ${_mode%-*})"
		done
	done
}

oci_teardown() {
	for _s in "$TEST_TMP"/state/*-*; do
		[ -d "$_s" ] || continue
		_mode=${_s##*/}
		for _id in $(rt_cmd "${_mode%-*}" "${_mode#*-}" list -q 2>/dev/null); do
			timeout 20 sh "$TEST_TMP/rt.sh" "${_mode%-*}" "${_mode#*-}" delete --force "$_id" >/dev/null 2>&1
		done
	done
}

# make_bundle MODE: the bundle directory with its root filesystem, owned
# by MODE's container root.
make_bundle() {
	_b=$TEST_TMP/bundle-$1
	mkdir -p "$_b" && oci_make_rootfs "$_b/rootfs" || return 1
	case $1 in
	rootless) chown -R $USER_ID:$USER_ID "$_b";;
	userns) chown -R $USERNS_BASE:$USERNS_BASE "$_b/rootfs";;
	esac
}

# make_spec RUNTIME MODE: the runtime's own spec (--rootless for rootless).
make_spec() {
	_d=$TEST_TMP/spec-$1-$2
	_rl=
	[ "$2" != rootless ] || _rl=--rootless
	mkdir -p "$_d" && "$1" spec $_rl --bundle "$_d" 2>&1 &&
		mv "$_d/config.json" "$TEST_TMP/spec-$1-$2.json" && rmdir "$_d"
}

# make_config MODE RUNTIME KIND [ANNOTATION]...: the bundle's config.json.
# KIND: probe (the probe, with the hook), plain (a container that only
# says it ran, with the hook), bare (`true`, no hook).
make_config() {
	_mode=$1 _rt=$2 _kind=$3
	shift 3
	for _a do
		set -- "$@" --annotation "$_a"
		shift
	done
	case $_mode in
	rootless) set -- "$@" --map 0:$USER_ID:1;;
	userns) set -- "$@" --map 0:$USERNS_BASE:65536;;
	esac
	[ "$_rt" != crun ] || set -- "$@" --annotation "run.oci.hooks.stderr=$OCI_SHARE/hook.err"
	[ "$_kind" = bare ] || set -- "$@" --hook "$OCI_HOOK" --hook-arg imgfs-oci-hook \
		--hook-arg --config --hook-arg "$HOOK_CONF" --hook-arg createRuntime
	case $_kind in
	probe) set -- "$@" --arg sh --arg /share/probe.sh --arg "$OCI_TARGET" --arg /share/report \
		--arg container --arg "$OCI_TARGET2";;
	plain) set -- "$@" --arg sh --arg -c \
		--arg 'test -d /mnt && ! test -e /mnt/data && ! grep -q fuse /proc/self/mountinfo && echo nothing >/share/report';;
	bare) set -- "$@" --arg true;;
	rw) set -- "$@" --arg sh --arg /share/rw.sh --arg /data --arg no \
		--arg /share/rw-report;;
	esac
	perl "$TEST_TMP/ociconf.pl" "$TEST_TMP/spec-$_rt-$_mode.json" "$TEST_TMP/bundle-$_mode/config.json" \
		--env LC_ALL=C --bind "$OCI_SHARE:/share" "$@"
}

n=0
# fresh_run MODE: a new container id in $cid; what the hook and the probe
# made in the previous run removed.
fresh_run() {
	n=$((n + 1))
	cid=imgfs-oci-$$-$n
	rm -rf "$TEST_TMP/bundle-$1/rootfs/mnt/data" "$TEST_TMP/bundle-$1/rootfs/srv"
	rm -f "$OCI_SHARE"/report* "$OCI_SHARE/hook.err"
}

# The runtime's output, and for crun the hook's stderr (see the top).
collect_output() {
	[ ! -s "$OCI_SHARE/hook.err" ] || { echo "--- hook stderr:"; cat "$OCI_SHARE/hook.err"; } >>"$1"
}

# ---- the checks ----

# good_run MODE RUNTIME: the probe container, two mounts of the image.
good_run() {
	_mode=$1 _rt=$2
	desc="$_rt $_mode"
	_out=$TEST_TMP/run.out
	fresh_run "$_mode"
	make_config "$_mode" "$_rt" probe \
		"io.imgfs.mount.data=source=$OCI_IMG,target=$OCI_TARGET" \
		"io.imgfs.mount.more=source=$OCI_IMG,target=$OCI_TARGET2,ro,type=ext4" ||
		bail_out "cannot write config.json"
	timeout -k 10 120 sh "$TEST_TMP/rt.sh" "$_mode" "$_rt" run --bundle "$TEST_TMP/bundle-$_mode" "$cid" \
		</dev/null >"$_out" 2>&1 &
	_bg=$!
	track_pid $_bg
	oci_await_probe "$desc" $_bg
	collect_output "$_out"
	oci_probe_result "$desc" $oci_rc "$_out"
}

# rw_run MODE RUNTIME: one container writing into an rw mount of
# $OCI_RW_IMG, then what the kernel reads of it (oci_rw_check).  Rootless,
# the container has one id (its root): it does not chown.
rw_run() {
	_mode=$1 _rt=$2
	_out=$TEST_TMP/rw-run.out
	fresh_run "$_mode"
	rm -f "$OCI_SHARE/rw-report"
	make_config "$_mode" "$_rt" rw "io.imgfs.mount.rw=source=$OCI_RW_IMG,target=/data,rw" ||
		bail_out "cannot write config.json"
	_now=$(date +%s)
	bounded 120 sh "$TEST_TMP/rt.sh" "$_mode" "$_rt" run --bundle "$TEST_TMP/bundle-$_mode" "$cid" \
		</dev/null >"$_out" 2>&1
	_rc=$?
	collect_output "$_out"
	oci_rw_check "$_rt $_mode, rw" $_rc "$_out" no "$_now"
}

# bad_run MODE RUNTIME DESC ANNOTATION PATTERN...: a container the hook
# must refuse, its message naming every PATTERN.
bad_run() {
	_mode=$1 _rt=$2 _desc="$2 $1: $3" _ann=$4
	shift 4
	_out=$TEST_TMP/bad.out
	fresh_run "$_mode"
	make_config "$_mode" "$_rt" probe "$_ann" || bail_out "cannot write config.json"
	bounded 120 sh "$TEST_TMP/rt.sh" "$_mode" "$_rt" run --bundle "$TEST_TMP/bundle-$_mode" "$cid" \
		</dev/null >"$_out" 2>&1
	_rc=$?
	collect_output "$_out"
	oci_bad_output "$_desc" $_rc "$_out" "$@"
	oci_assert_clean "$_desc: nothing left"
}

# No annotation: the hook runs (runc and crun run every hook) and does
# nothing.
no_annotation() {
	_mode=$1 _rt=$2
	fresh_run "$_mode"
	make_config "$_mode" "$_rt" plain || bail_out "cannot write config.json"
	bounded 120 sh "$TEST_TMP/rt.sh" "$_mode" "$_rt" run --bundle "$TEST_TMP/bundle-$_mode" "$cid" \
		</dev/null >"$TEST_TMP/plain.out" 2>&1
	_rc=$?
	collect_output "$TEST_TMP/plain.out"
	if [ $_rc -eq 0 ] && [ "$(cat "$OCI_SHARE/report" 2>/dev/null)" = nothing ]; then
		ok "$_rt $_mode: without an io.imgfs.mount annotation the hook does nothing"
	else
		not_ok "$_rt $_mode: without an io.imgfs.mount annotation the hook does nothing (exit $_rc)"
		diag_file "$TEST_TMP/plain.out"
		diag_file "$OCI_SHARE/report"
	fi
}

# usable MODE RUNTIME: can the runtime run a plain container so (no hook)?
# The reason when not is in $why.
usable() {
	fresh_run "$1"
	make_config "$1" "$2" bare || bail_out "cannot write config.json"
	bounded 60 sh "$TEST_TMP/rt.sh" "$1" "$2" run --bundle "$TEST_TMP/bundle-$1" "$cid" \
		</dev/null >"$TEST_TMP/usable.out" 2>&1 && return 0
	why=$(grep -v '^$' "$TEST_TMP/usable.out" | tail -n 1)
	return 1
}

# ---- the runs ----

for mode in rootful userns rootless; do
	make_bundle $mode || bail_out "cannot make the $mode bundle"
done
rootless_ok=1
userns_works $USER_ID || rootless_ok=

for rt in $RUNTIMES; do
	if ! command -v "$rt" >/dev/null 2>&1; then
		skip "$rt" "$rt is not installed"
		continue
	fi
	for mode in rootful userns rootless; do
		make_spec "$rt" $mode >"$TEST_TMP/spec.out" ||
			bail_out "$rt spec failed: $(cat "$TEST_TMP/spec.out")"
	done
	if ! usable rootful "$rt"; then
		if [ "$rt" = crun ] && grep -q "hybrid mode" "$TEST_TMP/usable.out"; then
			awk '{ for (i = 7; $i != "-"; i++) ; }
				$(i + 1) == "cgroup2" && index($5, "/sys/fs/cgroup/") == 1 { print $5; exit }' \
				/proc/self/mountinfo >"$TEST_TMP/crun-hide"
			if [ -s "$TEST_TMP/crun-hide" ] && usable rootful "$rt"; then
				diag "crun refuses hybrid cgroups: it runs with $(cat "$TEST_TMP/crun-hide") hidden"
			else
				: >"$TEST_TMP/crun-hide"
				skip "$rt" "cannot run a container here: $why"
				continue
			fi
		else
			skip "$rt" "cannot run a container here: $why"
			continue
		fi
	fi

	# rootful
	good_run rootful "$rt"
	no_annotation rootful "$rt"
	oci_bad_annotations rootful "$rt"
	oci_outside_allowed rootful "$rt" "$HOOK_CONF"

	# userns: a rootful hook, a container in a user namespace
	if usable userns "$rt"; then
		good_run userns "$rt"
	else
		skip "$rt userns" "cannot run a container in a user namespace: $why"
	fi

	# rootless
	if [ -z "$rootless_ok" ]; then
		skip "$rt rootless" "unprivileged user namespaces are disabled"
	elif ! usable rootless "$rt"; then
		skip "$rt rootless" "cannot run a rootless container here: $why"
	else
		if [ "$rt" = crun ]; then
			# crun keeps a rootless container's process undumpable until it
			# starts, so its own user cannot open /proc/PID/ns: the hook
			# must say so, and why, instead of mounting.
			skip "$rt rootless: the container runs with the annotated mounts" \
				"crun keeps a rootless container's namespaces closed to its user at createRuntime"
			bad_run rootless "$rt" "the hook explains why it cannot enter" \
				"io.imgfs.mount.data=source=$OCI_IMG,target=$OCI_TARGET" \
				"closed to its own user" "crun does for rootless containers"
		else
			good_run rootless "$rt"
			if oci_make_rw_image $USER_ID:$USER_ID; then
				rw_run rootless "$rt"
			else
				bail_out "cannot make the read-write test image"
			fi
		fi
		oci_bad_annotations rootless "$rt"
		bad_run rootless "$rt" "an image the user cannot read is refused" \
			"io.imgfs.mount.private=source=$OCI_IMAGES/private.ext4,target=/data" \
			io.imgfs.mount.private
	fi
done

done_testing
