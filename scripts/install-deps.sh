#!/bin/sh
# Install the Debian 12 packages imgfs needs to build, test and benchmark
# (the container runtimes and busybox-static are for the OCI hook's tests,
# clang with its libFuzzer runtime for the fuzz pass, QEMU and cpio for
# booting the fuse-iomap kernel in make check-qemu; fio for bench/rw.sh;
# xfslibs-dev and the rest of the second and third lines to build the
# fstests snapshot, its fsx and fsstress, for the read-write tests).
set -eu
PACKAGES="
	build-essential autoconf automake pkg-config
	libfuse3-dev fuse3 libext2fs-dev e2fsprogs libblkid-dev libmount-dev
	libcap-dev libseccomp-dev libjson-c-dev
	fuse2fs xfsprogs attr acl util-linux fdisk kmod fio
	xfslibs-dev uuid-dev libtool-bin libacl1-dev libattr1-dev libaio-dev liburing-dev
	libgdbm-dev gawk uuid-runtime quota dbench python3 sqlite3
	runc crun podman conmon uidmap busybox-static perl
	clang libclang-rt-14-dev
	qemu-system-x86 cpio
"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (it uses apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
