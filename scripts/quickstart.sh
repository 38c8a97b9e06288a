#!/bin/sh
# From a fresh Debian 12 machine, as root: install what imgfs needs, build it,
# make a small sample ext4 image, mount it as an unprivileged user inside a
# user namespace, show what is in it, unmount; then mount it read-write
# the same way, write to it, and check it with e2fsck and the kernel.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"

work=$(mktemp -d /tmp/imgfs-quickstart.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/docs" "$work/mnt"
echo "Hello from inside an ext4 image." >"$work/src/hello.txt"
seq 1 1000 >"$work/src/docs/numbers.txt"
ln -s hello.txt "$work/src/greeting"
mkfs.ext4 -q -L sample -d "$work/src" "$work/sample.img" 16M
chmod 0755 "$work" "$work/mnt"
chmod 0644 "$work/sample.img"
chown nobody:nogroup "$work/sample.img"	# its writer, below

# Distributions ship /dev/fuse as 0666; some minimal machines do not.
[ "$(stat -c %a /dev/fuse)" = 666 ] || chmod 0666 /dev/fuse

echo "== mounting $work/sample.img as user 'nobody', rootless =="
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	"$top/build/cmd/imgfs-mount" --unshare "$work/sample.img" "$work/mnt" -- \
	sh -c 'grep " fuse.imgfs " /proc/self/mountinfo; ls -lR "$1"; cat "$1/greeting"' sh "$work/mnt"
echo "== unmounted =="

echo "== the same image read-write, as 'nobody': a file, a directory, a rename =="
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	"$top/build/cmd/imgfs-mount" --unshare -o rw "$work/sample.img" "$work/mnt" -- \
	sh -c 'cd "$1" && date >written.txt && mkdir made && mv written.txt made/ && ls -l made' \
	sh "$work/mnt"
echo "== unmounted; e2fsck -fn says: =="
e2fsck -fn "$work/sample.img" 2>&1 | tail -n 1
echo "== and the kernel's ext4 reads what was written: =="
mount -o ro,loop "$work/sample.img" "$work/mnt"
cat "$work/mnt/made/written.txt"
umount "$work/mnt"
echo "== done =="
