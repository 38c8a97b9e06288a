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
need_cmd mkfs.ext4

# Base images: small, so that their metadata lies in the first MAX_LEN
# bytes, and varied, so that the walk reaches every kind of metadata.
MAX_LEN=131072
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

runs=${IMGFS_FUZZ_RUNS:-5000}
for base in "$TEST_TMP"/bases/*.img; do
	name=$(basename "$base" .img)
	mkdir -p "$TEST_TMP/$name/seed" "$TEST_TMP/$name/corpus"
	head -c $MAX_LEN "$base" >"$TEST_TMP/$name/seed/base"
	if [ -n "${IMGFS_FUZZ_SECONDS:-}" ]; then
		limit="-max_total_time=$IMGFS_FUZZ_SECONDS"
		budget=$((IMGFS_FUZZ_SECONDS + 120))
	else
		limit="-runs=$runs -seed=1"
		budget=600
	fi
	# shellcheck disable=SC2086
	if IMGFS_FUZZ_BASE=$base bounded $budget "$FUZZER" $limit -max_len=$MAX_LEN \
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
