#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Permission checks through imgfs match the kernel's ext4 driver on the
# same image: modes, owners and POSIX ACLs decide, for another user, what
# may be read, listed and traversed (mounted with allow_other).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_loop
need_cmd mkfs.ext4 setfacl setpriv
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"

chmod 0755 "$TEST_TMP"
src=$TEST_TMP/src
mkdir -p "$src/open" "$src/closed" "$src/acl-dir"
for f in private shared group-acl world acl-masked; do echo "$f" >"$src/$f"; done
chmod 0600 "$src/private" "$src/shared" "$src/group-acl" "$src/acl-masked"
chmod 0644 "$src/world"
setfacl -m u:65534:r "$src/shared"
setfacl -m g:65534:r "$src/group-acl"
setfacl -m u:65534:r,m::--- "$src/acl-masked"
echo inside >"$src/closed/file"
chmod 0700 "$src/closed"
echo inside >"$src/acl-dir/file"
chmod 0700 "$src/acl-dir"
setfacl -m u:65534:rx "$src/acl-dir"
mkfs.ext4 -q -d "$src" "$TEST_TMP/img.ext4" 16M

kernel_mount "$TEST_TMP/img.ext4" "$TEST_TMP/kernel" ||
	bail_out "kernel mount failed"
mkdir -p "$TEST_TMP/imgfs"
"$IMGFS_MOUNT" -o allow_other "$TEST_TMP/img.ext4" "$TEST_TMP/imgfs" ||
	bail_out "imgfs mount failed"

# What uid 65534 can do with PATH under DIR, as one word.
probe() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		sh -c 'if [ -d "$1" ]; then ls "$1" >/dev/null 2>&1 && echo list || echo denied;
		       else cat "$1" >/dev/null 2>&1 && echo read || echo denied; fi' sh "$1/$2"
}

for path in private shared group-acl world acl-masked closed closed/file acl-dir acl-dir/file; do
	want=$(probe "$TEST_TMP/kernel" "$path")
	got=$(probe "$TEST_TMP/imgfs" "$path")
	if [ "$want" = "$got" ]; then
		ok "uid 65534 on $path: $got, as with the kernel"
	else
		not_ok "uid 65534 on $path: imgfs says $got, the kernel $want"
	fi
done

unmount "$TEST_TMP/imgfs"
unmount "$TEST_TMP/kernel"
assert_clean "nothing left behind"
done_testing
