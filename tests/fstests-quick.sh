#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/fstests-quick.sh: the fixed quick subset of fstests that must
# pass on imgfs -o rw (tests/fstests-quick.list, one test a line), run by
# tests/fstests/run.sh; `make fstests` runs the whole generic group.
# Skips, with the reason, while imgfs serves images read-only.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
export top_srcdir
# Results of their own: `make fstests` may run beside it.
FSTESTS_RESULTS=${top_builddir:-$top_srcdir}/tests/fstests-results/quick-${RW_DRIVER:-${IMGFS_TEST_FS:-imgfs}}
export FSTESTS_RESULTS
exec sh "$top_srcdir/tests/fstests/run.sh" \
	$(sed 's/#.*//' "$top_srcdir/tests/fstests-quick.list")
