#!/bin/sh
# Configure and build imgfs out of tree: scripts/build.sh [BUILDDIR [CONFIGURE-ARGS...]]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top/build}
[ $# -gt 0 ] && shift
[ -x "$top/configure" ] || "$top/autogen.sh" >/dev/null 2>&1
mkdir -p "$builddir"
cd "$builddir"
[ -f Makefile ] || "$top/configure" -q "$@"
make -s -j"$(nproc)"
