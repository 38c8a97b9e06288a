#!/bin/sh
# Run the whole test suite twice: a normal build, then one with
# AddressSanitizer and UndefinedBehaviorSanitizer (`make check-asan`: the
# tests of our parsers and server paths, see ASAN_SKIP_TESTS); between
# them, once,
# `make check-qemu` on the normal build.  Needs the packages
# from scripts/install-deps.sh; tests needing root, /dev/fuse or loop
# devices skip (with the reason) when those are missing.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

run_suite() {
	target=$1
	builddir=$2
	shift 2
	echo "== $(basename "$builddir"): build =="
	"$top/scripts/build.sh" "$builddir" "$@"
	echo "== $(basename "$builddir"): make $target =="
	if ! make -s -C "$builddir" -j"$jobs" "$target"; then
		cat "$builddir/test-suite.log" 2>/dev/null || true
		return 1
	fi
}

# One closing line over both runs, counted from automake's .trs files.
summary() {
	find "$top/build" "$top/build-asan" -name '*.trs' -exec cat {} + 2>/dev/null |
		awk '/^:test-result: PASS/ { p++ } /^:test-result: (FAIL|ERROR|XPASS)/ { f++ }
		     /^:test-result: SKIP/ { s++ }
		     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }'
}

# The fuse-iomap kernel under QEMU (tests/qemu/check-qemu.sh), once, on
# the normal build: it skips, saying why, without QEMU or that kernel.
check_qemu() {
	echo "== build: make check-qemu =="
	make -s -C "$top/build" check-qemu
}

status=0
run_suite check "$top/build" || status=1
check_qemu || status=1
# The fuzz target is the same program in both trees (always built with
# ASan and UBSan): its fixed-seed pass has run once already.  The test
# corpora do not depend on the build either: the first tree's serve both.
# rw-compare runs one variant there (1k blocks, inline data, no journal).
(IMGFS_FUZZ_RUNS=0 IMGFS_CORPUS_CACHE=$top/build/tests RW_VARIANTS=1k-nojournal-inline &&
	export IMGFS_FUZZ_RUNS IMGFS_CORPUS_CACHE RW_VARIANTS &&
	run_suite check-asan "$top/build-asan" --enable-sanitizers) || status=1
summary
exit $status
