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
need_cmd mkfs.ext4 debugfs e2fsck setfattr dd od perl
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
# ---- damage the kernel notices, on the same image ----

# Each case damages a copy of one small image; the kernel and imgfs must
# see the same of the files named (as_kernel in lib.sh).  1 KiB blocks,
# no metadata checksums, so that bytes written into an extent block get
# past the checksum to the parser, as they would with one recomputed.
k=$TEST_TMP/kernel-src
mkdir -p "$k"
for n in a b c d; do echo "$n" >"$k/$n"; done
# Runs of 4 KiB with holes between them: 3 extents fit the inode, 10 do not.
perl -e 'for my $f (["frag3", 3], ["frag", 10]) { open(my $h, ">", "$ARGV[0]/$f->[0]") or die "$!";
	for my $i (0 .. $f->[1] - 1) { seek($h, 2 * $i * 4096, 0); print $h sprintf("%-4096d", $i) } }' "$k"
kbase=$TEST_TMP/kernel-base.img
mkdir "$k/h" && (cd "$k/h" && seq -f "name-%g" 1 200 | xargs touch)
mkfs.ext4 -q -F -b 1024 -O ^has_journal,^metadata_csum -d "$k" "$kbase" 8M
# mkfs -d writes no directory index; e2fsck -D builds one for h.
e2fsck -fyD "$kbase" >/dev/null 2>&1
debugfs -R "htree h" "$kbase" 2>/dev/null | grep -q 'Root node' || bail_out "h has no htree"
debugfs -R "ex frag" "$kbase" 2>/dev/null >"$TEST_TMP/ex"
leaf=$(awk '$1 == "0/" && $2 == "1" { print $(NF - 1); exit }' "$TEST_TMP/ex")
[ -n "$leaf" ] || bail_out "no extent leaf block for frag: $(cat "$TEST_TMP/ex")"

# kcase DESC EXPECT DEBUGFS-REQUEST|- PATH...: a copy of the image changed
# by one debugfs request (or, with -, by $poke), compared with the kernel.
kcase() {
	_img=$TEST_TMP/kcase.img
	cp "$kbase" "$_img"
	if [ "$3" = - ]; then
		eval "$poke"
	else
		debugfs -w -R "$3" "$_img" >/dev/null 2>&1 || bail_out "debugfs $3 failed"
	fi
	_d=$1 _e=$2
	shift 3
	as_kernel "$_d" ext4 "$_img" "$_e" "$@"
	rm -f "$_img"
}
corrupt='Input/output error'
# Extents in the inode: the second starts inside the first (iget refuses
# the inode), or after the third.
kcase "overlapping extents in the inode" "^frag3: .*$corrupt" "sif frag3 block[6] 0" frag3 frag a
kcase "unsorted extents in the inode" "^frag3: .*$corrupt" "sif frag3 block[6] 100" frag3 frag a
# In a leaf block: the second extent starts at block 0 (reads fail).
poke='printf "\\0\\0\\0\\0" | dd of="$_img" bs=1 seek=$((leaf * 1024 + 24)) conv=notrunc status=none'
kcase "overlapping extents in a leaf block" "^frag: .*$corrupt" - frag frag3 a
# i_size beyond what the mapping reaches (ext4_get_maxbytes): 2^62, 2^44.
kcase "i_size 2^62" "^a: .*$corrupt" "sif a size 0x4000000000000000" a b frag
kcase "i_size 2^44 on an extent file of 1 KiB blocks" "^a: .*$corrupt" "sif a size 0x100000000000" a b
# One byte past the largest the kernel accepts, 2^32 - 1 blocks.
kcase "i_size one byte past the extent limit" "^a: .*$corrupt" "sif a size 4398046510081" a

# Blocks no file may map (the kernel's block_validity): the first extent
# of frag3 (4 blocks at i_block[5]) moved onto the superblock, the group
# descriptors, the reserved GDT blocks, a bitmap, the inode table; frag's
# index pointer (i_block[4]) and a's xattr block into the inode table.
dumpe2fs "$kbase" 2>/dev/null >"$TEST_TMP/groups"
at() { sed -n "s/^ *$1 at \([0-9]*\).*/\1/p" "$TEST_TMP/groups" | head -n 1; }
rgdt=$(at "Reserved GDT blocks") bbitmap=$(at "Block bitmap") itable=$(at "Inode table")
[ -n "$rgdt" ] && [ -n "$bbitmap" ] && [ -n "$itable" ] || bail_out "dumpe2fs shows no group 0 layout"
kcase "an extent over the superblock" "^frag3: .*$corrupt" "sif frag3 block[5] 1" frag3 a
kcase "an extent over the group descriptors" "^frag3: .*$corrupt" "sif frag3 block[5] 2" frag3 a
kcase "an extent over the reserved GDT blocks" "^frag3: .*$corrupt" "sif frag3 block[5] $((rgdt + 5))" frag3 a
kcase "an extent over the block bitmap" "^frag3: .*$corrupt" "sif frag3 block[5] $((bbitmap - 2))" frag3 a
kcase "an extent inside the inode table" "^frag3: .*$corrupt" "sif frag3 block[5] $((itable + 7))" frag3 a
kcase "an extent index pointing into the inode table" "^frag: .*$corrupt" "sif frag block[4] $((itable + 7))" frag a
kcase "an xattr block inside the inode table" "^a: .*$corrupt" "sif a file_acl $((itable + 7))" a b

# The journal is the journal inode's alone: an extent of frag3 over it.
jbase=$TEST_TMP/journal-base.img
mkfs.ext4 -q -F -b 1024 -O ^metadata_csum -d "$k" "$jbase" 8M
jblock=$(debugfs -R "bmap <8> 10" "$jbase" 2>/dev/null)
[ -n "$jblock" ] && [ "$jblock" -gt 0 ] || bail_out "no journal block 10 in $jbase"
cp "$jbase" "$TEST_TMP/kcase.img"
debugfs -w -R "sif frag3 block[5] $jblock" "$TEST_TMP/kcase.img" >/dev/null 2>&1 ||
	bail_out "debugfs sif frag3 failed"
as_kernel "an extent over the journal" ext4 "$TEST_TMP/kcase.img" "^frag3: .*$corrupt" frag3 a
rm -f "$TEST_TMP/kcase.img" "$jbase"

# Every pointer of h's index (in its block 0, the root) set to 0: a
# cycle, so the kernel searches h linearly and finds every name.
hroot=$(debugfs -R "bmap h 0" "$kbase" 2>/dev/null)
poke='perl -e '\''open(my $f, "+<", $ARGV[0]) or die "$!"; my $o = $ARGV[1] * 1024 + 32;
	seek($f, $o, 0); read($f, my $lc, 4); my $count = unpack("v", substr($lc, 2, 2));
	for my $i (0 .. $count - 1) { seek($f, $o + 4 + 8 * $i, 0); print $f pack("V", 0) }'\'' "$_img" "$hroot"'
kcase "an htree whose every pointer is block 0" "^h/name-150: 0 d41d8" - h/name-1 h/name-150 h/name-200 h

assert_clean "nothing left behind"
done_testing
