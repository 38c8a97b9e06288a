#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A fuzz pass over the filesystem readers (fuzz/fs-fuzz.c, libFuzzer with
# ASan and UBSan): for each base image made here, mutated copies of its
# first bytes (where a small filesystem keeps its metadata) are opened and
# walked.  Any crash, sanitizer report or leak fails the test and leaves
# the input that caused it in the log.  make check runs a short,
# reproducible pass (a fixed seed and run count); `make fuzz-long` runs
# IMGFS_FUZZ_SECONDS of it per image.  Besides each base, the fuzzer
# starts from damaged copies of it: the damage that corrupt-ext4.sh,
# corrupt-xfs.sh and bad-child.sh compare with the kernel.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

FUZZER=$top_builddir/fuzz/fs-fuzz
[ -x "$FUZZER" ] || skip_all "no fuzz target: configure found no clang with libFuzzer (FUZZ_CC)"
[ "${IMGFS_FUZZ_RUNS:-}" != 0 ] || skip_all "fuzz pass turned off (IMGFS_FUZZ_RUNS=0)"
need_cmd mkfs.ext4 debugfs e2fsck tune2fs perl

# Base images: small, so that their metadata lies in the first MAX_LEN
# bytes, and varied, so that the walk reaches every kind of metadata.
tree=$TEST_TMP/tree
mkdir -p "$tree/dir/sub" "$tree/many"
echo "small file" >"$tree/small"
head -c 70000 /dev/urandom >"$tree/dir/medium"
ln -s small "$tree/fast-link"
ln -s "$(printf '%0200d' 0)" "$tree/slow-link"
ln "$tree/small" "$tree/dir/hard"
mkfifo "$tree/fifo"
# Three runs of 1 KiB with holes between: three extents in the inode.
perl -e 'open(my $h, ">", "$ARGV[0]/frag3") or die "$!";
	for my $i (0 .. 2) { seek($h, 2 * $i * 1024, 0); print $h sprintf("%-1024d", $i) }' "$tree"
i=0
while [ $i -lt 120 ]; do
	: >"$tree/many/entry-with-a-longish-name-$i"
	i=$((i + 1))
done
command -v setfattr >/dev/null 2>&1 && {
	setfattr -n user.small -v 1 "$tree/small"
	setfattr -n user.big -v "0x$(head -c 600 /dev/zero | od -An -v -tx1 | tr -d ' \n')" "$tree/dir"
}

mkdir -p "$TEST_TMP/bases"
mkfs.ext4 -q -F -b 1024 -N 256 -O ^has_journal -d "$tree" "$TEST_TMP/bases/ext4-1k.img" 2M
mkfs.ext4 -q -F -b 1024 -N 256 -O ^has_journal,inline_data,metadata_csum -d "$tree" \
	"$TEST_TMP/bases/ext4-inline.img" 2M

# damage BASE NAME: a copy of base BASE as $TEST_TMP/damaged/BASE/NAME.img,
# for the caller to change; its first bytes become a seed of BASE's.
damage() {
	mkdir -p "$TEST_TMP/damaged/$1"
	cp --sparse=always "$TEST_TMP/bases/$1.img" "$TEST_TMP/damaged/$1/$2.img"
	echo "$TEST_TMP/damaged/$1/$2.img"
}
for b in ext4-1k ext4-inline; do
	# Extents that overlap or are unsorted, in the inode (ee_block of the
	# second is i_block[6], ee_start of the first i_block[5]); an i_size
	# of 2^62; an entry naming the root.
	debugfs -w -R "sif frag3 block[6] 0" "$(damage $b extents-overlap)" >/dev/null 2>&1
	debugfs -w -R "sif frag3 block[6] 100" "$(damage $b extents-unsorted)" >/dev/null 2>&1
	debugfs -w -R "sif small size 0x4000000000000000" "$(damage $b size-2e62)" >/dev/null 2>&1
	# frag3's first extent over the group descriptors (block 2 of 1 KiB).
	debugfs -w -R "sif frag3 block[5] 2" "$(damage $b extent-over-gdt)" >/dev/null 2>&1
	debugfs -w -R "ln <2> root-again" "$(damage $b names-root)" >/dev/null 2>&1
	# An htree (e2fsck -D indexes "many") whose every pointer is block 0;
	# without metadata checksums, so that the index is read past them.
	img=$(damage $b htree-zero)
	tune2fs -O ^metadata_csum "$img" >/dev/null 2>&1
	e2fsck -fyD "$img" >/dev/null 2>&1
	root=$(debugfs -R "bmap many 0" "$img" 2>/dev/null)
	perl -e 'open(my $f, "+<", $ARGV[0]) or die "$!"; my $o = $ARGV[1] * 1024 + 32;
		seek($f, $o, 0); read($f, my $lc, 4); my $count = unpack("v", substr($lc, 2, 2));
		for my $i (0 .. $count - 1) { seek($f, $o + 4 + 8 * $i, 0); print $f pack("V", 0) }' \
		"$img" "${root:-0}"
done

# XFS: 1k blocks, one AG, the log on a device of its own, so that the
# superblock, AG headers, inode chunk and directory blocks come first; a
# protofile (mkfs.xfs cannot read a directory) with the same kinds of file.
# The fstests variables let mkfs make a filesystem under 300 MB.
if command -v mkfs.xfs >/dev/null 2>&1; then
	{
		echo /dev/null
		echo "0 0"
		echo "d--755 0 0"
		echo "small ---644 0 0 $tree/small"
		echo "medium ---600 1000 1000 $tree/dir/medium"
		echo "fast-link l--777 0 0 small"
		echo "slow-link l--777 0 0 $(printf '%0300d' 0)"
		echo "fifo p--644 0 0"
		echo "many d--755 0 0"
		i=0
		while [ $i -lt 120 ]; do
			echo "entry-with-a-longish-name-$i ---644 0 0 $tree/small"
			i=$((i + 1))
		done
		echo '$'
		echo "dir d--700 0 0"
		echo "sub d--755 0 0"
		echo '$'
		echo '$'
		echo '$'
	} >"$TEST_TMP/xfs.proto"
	truncate -s 16M "$TEST_TMP/bases/xfs-1k.img"
	truncate -s 8M "$TEST_TMP/xfs-1k.log"
	TEST_DIR=$TEST_TMP TEST_DEV=/dev/null QA_CHECK_FS=1 mkfs.xfs -q -f -b size=1024 \
		-l logdev="$TEST_TMP/xfs-1k.log" -p "$TEST_TMP/xfs.proto" "$TEST_TMP/bases/xfs-1k.img" ||
		bail_out "mkfs.xfs cannot make the XFS base image"
	# A data extent at block 0 (the superblock), a local symlink whose
	# size runs past its fork, a bad mode, an entry naming the root.
	xdamage() {
		xfs_db -x -l "$TEST_TMP/xfs-1k.log" -c "path $2" -c "write -d $3" \
			"$(damage xfs-1k "$1")" >/dev/null 2>&1
	}
	xdamage extent-at-sb /medium 'u3.bmx[0].startblock 0'
	xdamage symlink-size /fast-link 'core.size 40'
	xdamage mode-bad /small 'core.mode 0170777'
	# (The root's own entry for fifo: the root's inode lies within MAX_LEN.)
	xdb() { xfs_db -r -l "$TEST_TMP/xfs-1k.log" "$@" "$TEST_TMP/bases/xfs-1k.img" 2>/dev/null; }
	fifo_entry=$(xdb -c 'path /' -c print | sed -n 's/^u3.sfdir3.list\[\([0-9]*\)\].name = "fifo"$/\1/p')
	xdamage names-root / "u3.sfdir3.list[${fifo_entry:-0}].inumber.i4 $(xdb -c 'sb 0' -c 'print rootino' |
		sed 's/.* = //')"
	# The same files with the log inside, which imgfs checks at open:
	# inputs replace the start of the log (log.c's head and record search).
	truncate -s 16M "$TEST_TMP/bases/xfs-log.img"
	TEST_DIR=$TEST_TMP TEST_DEV=/dev/null QA_CHECK_FS=1 mkfs.xfs -q -f -b size=1024 \
		-p "$TEST_TMP/xfs.proto" "$TEST_TMP/bases/xfs-log.img" ||
		bail_out "mkfs.xfs cannot make the XFS log base image"
	xfs_log_kib=$(xfs_db -r -c "sb 0" -c "print logstart" "$TEST_TMP/bases/xfs-log.img" |
		sed -n 's/^logstart = //p')
	[ -n "$xfs_log_kib" ] || bail_out "xfs_db cannot say where the log starts"
fi

runs=${IMGFS_FUZZ_RUNS:-5000}
for base in "$TEST_TMP"/bases/*.img; do
	name=$(basename "$base" .img)
	# Where each base keeps what is fuzzed (directory blocks up to ~260
	# KiB; the log base: 64 KiB from the log's first 1 KiB block).
	offset=0 MAX_LEN=262144
	[ "$name" = xfs-log ] && MAX_LEN=65536 offset=$((xfs_log_kib * 1024))
	mkdir -p "$TEST_TMP/$name/seed" "$TEST_TMP/$name/corpus"
	dd if="$base" of="$TEST_TMP/$name/seed/base" bs=1024 skip=$((offset / 1024)) \
		count=$((MAX_LEN / 1024)) status=none
	# A damaged copy whose damage lies past MAX_LEN, or that its tool
	# did not change, would seed nothing new: a test bug.
	for img in "$TEST_TMP/damaged/$name"/*.img; do
		[ -e "$img" ] || continue
		seed=$TEST_TMP/$name/seed/$(basename "$img" .img)
		dd if="$img" of="$seed" bs=1024 skip=$((offset / 1024)) count=$((MAX_LEN / 1024)) status=none
		cmp -s "$seed" "$TEST_TMP/$name/seed/base" &&
			not_ok "$name: the damaged seed $(basename "$seed") is the base's first bytes (test bug)"
	done
	diag "$name: seeds: $(cd "$TEST_TMP/$name/seed" && echo *)"
	if [ -n "${IMGFS_FUZZ_SECONDS:-}" ]; then
		limit="-max_total_time=$IMGFS_FUZZ_SECONDS"
		budget=$((IMGFS_FUZZ_SECONDS + 120))
	else
		limit="-runs=$runs -seed=1"
		budget=600
	fi
	# shellcheck disable=SC2086
	if IMGFS_FUZZ_BASE=$base IMGFS_FUZZ_OFFSET=$offset bounded $budget "$FUZZER" $limit -max_len=$MAX_LEN \
		-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$TEST_TMP/$name/" \
		"$TEST_TMP/$name/corpus" "$TEST_TMP/$name/seed" >"$TEST_TMP/$name.log" 2>&1; then
		ok "$name: $(grep -o 'Done [0-9]* runs' "$TEST_TMP/$name.log" | tail -n 1), no finding"
	else
		not_ok "$name: the fuzzer found a problem"
		grep -v '^#[0-9]' "$TEST_TMP/$name.log" | tail -n 40 | sed 's/^/# /'
		for crash in "$TEST_TMP/$name"/crash-* "$TEST_TMP/$name"/leak-* "$TEST_TMP/$name"/timeout-*; do
			[ -e "$crash" ] && diag "input $(basename "$crash") (base64): $(base64 -w0 "$crash" | head -c 2000)"
		done
	fi
done
done_testing
