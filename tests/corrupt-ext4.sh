#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile images: ext4 images with bytes flipped in their metadata, and
# truncated ones.  Each either fails to mount with one clear line, or
# mounts and survives a full walk (every file read, every link and xattr
# listed): errors are allowed, a crashed or hung server is not.  Run the
# ASan/UBSan build to catch out-of-bounds reads that do not crash.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

need_root
need_fuse
need_cmd mkfs.ext4 setfattr dd od
need_prog "$IMGFS_MOUNT" "$IMGFS_SERVER"

VARIANTS=${IMGFS_CORRUPT_VARIANTS:-24}
src=$TEST_TMP/src
mkdir -p "$src/dir/sub" "$TEST_TMP/mnt"
for i in $(seq 1 40); do echo "file $i" >"$src/dir/f$i"; done
head -c 300000 /dev/urandom >"$src/big"
seq 1 50000 >"$src/dir/sub/numbers"
ln -s dir/f1 "$src/fast-link"
ln -s "$(printf 'x%.0s' $(seq 1 200))" "$src/slow-link"
setfattr -n user.small -v hello "$src/dir/f2"
setfattr -n user.large -v "$(printf 'v%.0s' $(seq 1 600))" "$src/dir/f3"
for i in $(seq 1 300); do : >"$src/dir/sub/e$i"; done
mkfs.ext4 -q -b 1024 -O inline_data,metadata_csum -E lazy_itable_init=0 \
	-d "$src" "$TEST_TMP/base.img" 4M

# flip IMAGE SEED: overwrite 16 bytes of the first 512 KiB (where the
# superblock, group descriptors, bitmaps, inode table and directories of
# this small image live) with values from a seeded generator.
flip() {
	awk -v seed="$2" 'BEGIN { srand(seed); for (i = 0; i < 16; i++)
		printf "%d %d\n", 1024 + int(rand() * 523264), int(rand() * 256) }' |
	while read -r off val; do
		printf "$(printf '\\%03o' "$val")" |
			dd of="$1" bs=1 seek="$off" conv=notrunc status=none
	done
}

# Walk everything; errors are expected, a dead connection or a hang is not.
walk() {
	bounded 120 sh -c '
		find "$1" -xdev 2>/dev/null | while IFS= read -r p; do
			if [ -L "$p" ]; then readlink "$p"; elif [ -f "$p" ]; then cat "$p"; fi
			getfattr -d -m - "$p"
		done >/dev/null 2>&1
		stat "$1" >/dev/null' sh "$1"
}

survived=0
refused=0
for seed in $(seq 1 "$VARIANTS"); do
	img=$TEST_TMP/corrupt-$seed.img
	cp "$TEST_TMP/base.img" "$img"
	flip "$img" "$seed"
	if "$IMGFS_MOUNT" "$img" "$TEST_TMP/mnt" 2>"$TEST_TMP/err"; then
		if walk "$TEST_TMP/mnt"; then
			ok "seed $seed: mounted, walked, the server still answers"
			survived=$((survived + 1))
		else
			not_ok "seed $seed: the walk hung or the server died (image kept: $img)"
			IMGFS_TEST_KEEP=1
		fi
		unmount "$TEST_TMP/mnt"
	elif [ "$(wc -l <"$TEST_TMP/err")" -eq 1 ]; then
		ok "seed $seed: refused: $(cat "$TEST_TMP/err")"
		refused=$((refused + 1))
	else
		not_ok "seed $seed: refused without exactly one line"
		diag_file "$TEST_TMP/err"
	fi
	[ -n "${IMGFS_TEST_KEEP:-}" ] || rm -f "$img"
done
diag "$survived mounted and survived a walk, $refused refused at mount"

# Truncated images: cut at the middle of the inode table and at 1 MiB.
for cut in 200k 1M 3M; do
	img=$TEST_TMP/truncated-$cut.img
	cp "$TEST_TMP/base.img" "$img"
	truncate -s "$cut" "$img"
	if "$IMGFS_MOUNT" "$img" "$TEST_TMP/mnt" 2>"$TEST_TMP/err"; then
		walk "$TEST_TMP/mnt" && ok "truncated at $cut: mounted and survived a walk" ||
			not_ok "truncated at $cut: the walk hung or the server died"
		unmount "$TEST_TMP/mnt"
	else
		[ "$(wc -l <"$TEST_TMP/err")" -eq 1 ] &&
			ok "truncated at $cut: refused: $(cat "$TEST_TMP/err")" ||
			not_ok "truncated at $cut: refused without exactly one line"
	fi
done
assert_clean "nothing left behind"
done_testing
