#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The helper and the server are built apart: what each program links and
# carries, read from the binaries themselves with ldd and nm.  The server,
# which parses hostile images, links no libblkid or libmount and none of
# the helper's code; the helper links no libext2fs, no XFS reader and no
# FUSE server code.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_cmd ldd nm
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"

# libs PROG: the shared libraries PROG loads, one name a line (fails if ldd does).
libs() {
	_l=$(ldd "$1") || return 1
	printf '%s\n' "$_l" | awk '{ print $1 }' | sed 's,.*/,,'
}

# links PROG PATTERN: the libraries PROG loads whose names match PATTERN.
links() {
	libs "$1" | grep -E "$2"
}

# defines PROG PATTERN: the functions PROG defines that match PATTERN.
defines() {
	nm --defined-only "$1" | awk '$2 ~ /^[Tt]$/ { print $3 }' | grep -E "$2"
}

# calls PROG PATTERN: the undefined functions PROG calls that match PATTERN.
calls() {
	nm -u "$1" | awk '{ print $2 }' | grep -E "$2"
}

# none DESC CMD...: a test line that passes when CMD prints nothing.
none() {
	_desc=$1
	shift
	_out=$("$@")
	if [ -z "$_out" ]; then
		ok "$_desc"
	else
		not_ok "$_desc"
		diag "found:" $_out
	fi
}

# some DESC CMD...: the same checks' other side, so that an empty answer
# above cannot come from a tool that read nothing.
some() {
	_desc=$1
	shift
	if [ -n "$("$@")" ]; then ok "$_desc"; else not_ok "$_desc"; fi
}

plan 13
some "imgfs-server links libext2fs, libfuse3 and libseccomp" \
	sh -c "[ \$(ldd '$IMGFS_SERVER' | grep -cE 'lib(ext2fs|fuse3|seccomp)\.') -eq 3 ] && echo yes"
none "imgfs-server links no libblkid or libmount" links "$IMGFS_SERVER" '^lib(blkid|mount)\.'
some "imgfs-server defines the backends and the mapping engine" \
	defines "$IMGFS_SERVER" '^(imgfs_ext4_open|imgfs_xfs_open|imgfs_iomap_at)$'
none "imgfs-server carries no helper code (probe, mount, spawn)" \
	defines "$IMGFS_SERVER" '^(imgfs_image_open|imgfs_mount_fuse|imgfs_spawn_server|imgfs_server_start)$'
some "imgfs-server calls libext2fs" calls "$IMGFS_SERVER" '^ext2fs_'
none "imgfs-server calls no libblkid or libmount function" calls "$IMGFS_SERVER" '^(blkid|mnt)_'

some "imgfs-mount links libblkid and libmount" \
	sh -c "[ \$(ldd '$IMGFS_MOUNT' | grep -cE 'lib(blkid|mount)\.') -eq 2 ] && echo yes"
none "imgfs-mount links no libext2fs, libfuse3 or libseccomp" \
	links "$IMGFS_MOUNT" '^lib(ext2fs|fuse3|seccomp)\.'
some "imgfs-mount defines the probe and the spawner" \
	defines "$IMGFS_MOUNT" '^(imgfs_image_open|imgfs_spawn_server)$'
none "imgfs-mount carries no backend, engine, FUSE or XFS code" \
	defines "$IMGFS_MOUNT" '^(imgfs_ext4_open|imgfs_xfs_open|imgfs_iomap_at|imgfs_fs_open|xfs_.*|ext4_.*|imgfs_fuse_.*|imgfs_kiomap_.*)$'
some "imgfs-mount calls libblkid" calls "$IMGFS_MOUNT" '^blkid_'
none "imgfs-mount calls no libext2fs or libfuse function" calls "$IMGFS_MOUNT" '^(ext2fs|io_channel|fuse)_'
# Both sides speak the status records (common/status.c).
some "both define the status protocol" \
	sh -c "nm --defined-only '$IMGFS_MOUNT' | grep -q imgfs_status_send && nm --defined-only '$IMGFS_SERVER' | grep imgfs_status_send"
done_testing
