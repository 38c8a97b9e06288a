#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/private-ns.sh CMD [ARG]...: run CMD in a mount namespace of its
# own, for read-write kernel mounts, that holds no copy of anyone's loop
# or FUSE mounts.
#
# Mounts made there are never copied into namespaces other tests create
# (containers, sandboxes), where a copy would keep the filesystem alive
# past our umount, its journal or log unflushed.  And the new namespace's
# own copies of other tests' loop and FUSE mounts are let go at once:
# held for as long as CMD runs, they would keep those filesystems and
# loop devices alive past their owners' umount.
if [ "${IMGFS_PRIVATE_NS:-}" != "$$" ]; then
	IMGFS_PRIVATE_NS=$$ exec unshare -m --propagation private sh "$0" "$@"
fi
unset IMGFS_PRIVATE_NS
awk '{ for (i = 7; $i != "-"; i++) ;
	if ($(i + 2) ~ /^\/dev\/loop/ || $(i + 1) ~ /^fuse/) print $5 }' /proc/self/mountinfo |
	sort -r | while read -r m; do
		umount -l "$(printf '%b' "$m")" 2>/dev/null
	done
exec "$@"
