#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A fuzz pass over the filesystem readers (fuzz/fs-fuzz.c, libFuzzer with
# ASan and UBSan): for each base image made here, mutated copies of its
# first bytes (where a small filesystem keeps its metadata) are opened and
# walked.  Any crash, sanitizer report or leak fails the test and leaves
# the input that caused it in the log.  make check runs a short,
# reproducible pass (a fixed seed and run count); `make fuzz-long` runs
# IMGFS_FUZZ_SECONDS of it per image.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

FUZZER=$top_builddir/fuzz/fs-fuzz
[ -x "$FUZZER" ] || skip_all "no fuzz target: configure found no clang with libFuzzer (FUZZ_CC)"
[ "${IMGFS_FUZZ_RUNS:-}" != 0 ] || skip_all "fuzz pass turned off (IMGFS_FUZZ_RUNS=0)"
need_cmd mkfs.ext4

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
	# Where each base keeps what is fuzzed (XFS: directory blocks up to
	# ~260 KiB; the log base: 64 KiB from the log's first 1 KiB block).
	offset=0
	case $name in
	xfs-log) MAX_LEN=65536 offset=$((xfs_log_kib * 1024));;
	xfs-*) MAX_LEN=262144;;
	*) MAX_LEN=131072;;
	esac
	mkdir -p "$TEST_TMP/$name/seed" "$TEST_TMP/$name/corpus"
	dd if="$base" of="$TEST_TMP/$name/seed/base" bs=1024 skip=$((offset / 1024)) \
		count=$((MAX_LEN / 1024)) status=none
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
