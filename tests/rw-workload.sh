#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/rw-workload.sh DIR [small|long]: one deterministic read-write
# workload on the filesystem mounted at DIR, every operation of issue 15.
# tests/rw-compare.sh runs it once under the kernel's ext4 and once under
# the driver under test, on two copies of one image, and compares the two
# trees it leaves (treecmp, on the kernel's read-only mounts) and the two
# logs it prints.
#
# The log (standard output) says what each step returned, "ok" or "fail",
# or a name from tests/rwops, and a few things only a running mount shows
# (link counts after each change, sizes and st_blocks after fallocate,
# where `..` points); never an error message, whose wording is the
# driver's own.  Two drivers that do the same give the same log.
#
# Environment (each part is left out, and says so, when unset):
#   RWOPS       the tests/rwops helper (renameat2, sockets, fsync)
#   FSSTRESS    fsstress from the fstests snapshot (-p 1, a fixed seed)
#   FSSTRESS_OPS  its number of operations (default 3000; long: 20000)
#   ROOTFS_TAR  a tar of a Debian tree to unpack (tests/rw-compare.sh
#               makes it from the host's own files)
#   RW_BLOCKSIZE  the filesystem's block size, which decides some sizes
#
# It never reads the clock: every time it sets is a fixed date, and every
# time the clock sets (a write, a create) is "now" for both drivers alike
# (treecmp --now).

set -u
dir=$1
size=${2:-small}
: "${RWOPS:=}" "${FSSTRESS:=}" "${ROOTFS_TAR:=}" "${RW_BLOCKSIZE:=4096}"
case $size in
small) nbig=3000 bigmb=8 : "${FSSTRESS_OPS:=3000}";;
long) nbig=20000 bigmb=64 : "${FSSTRESS_OPS:=20000}";;
*) echo "rw-workload.sh: size is small or long, not '$size'" >&2; exit 2;;
esac
cd "$dir" || exit 2
umask 022
LC_ALL=C
export LC_ALL

OLD='2001-02-03 04:05:06.123456789'

# run DESC CMD [ARG]...: the outcome of CMD, ok or fail.
run() {
	_d=$1
	shift
	if "$@" >/dev/null 2>&1; then echo "$_d: ok"; else echo "$_d: fail"; fi
}

# ops DESC RWOPS-ARGS...: the outcome, as rwops names it.
ops() {
	_d=$1
	shift
	if [ -n "$RWOPS" ]; then
		echo "$_d: $("$RWOPS" "$@" 2>/dev/null)"
	else
		echo "$_d: skipped (no RWOPS)"
	fi
}

# st PATH...: what a running mount says of each PATH.
st() {
	for _p; do
		stat -c '%n: %F size=%s nlink=%h mode=%a owner=%u:%g' "$_p" 2>/dev/null ||
			echo "$_p: missing"
	done
}

# pat WORD BYTES: BYTES bytes of a pattern made of WORD.
pat() {
	yes "$1" | head -c "$2"
}

# name N: a path-like string of N bytes.
name() {
	awk -v n="$1" 'BEGIN { while (length(s) < n) s = s "component/"; print substr(s, 1, n) }'
}

# ---- create, mknod, mkdir, symlink, link, unlink, rmdir ----
echo "== create"
mkdir ops && cd ops || exit 1
printf 'hello\n' >file1
: >empty
pat data 10000 >f10k
run "mkfifo" mkfifo fifo
ops "socket" mksock sock
run "mknod char 1:3" mknod cdev c 1 3
run "mknod block 7:200" mknod bdev b 7 200
run "mknod char 300:70000 (new encoding)" mknod cbig c 300 70000
run "mkdir -p a/b/c" mkdir -p a/b/c
run "mkdir emptydir" mkdir emptydir
run "mkdir existing" mkdir a
for n in 1 30 59 60 61 200 1000 "$((RW_BLOCKSIZE - 1))" "$RW_BLOCKSIZE" 4095; do
	run "symlink of $n bytes" ln -s "$(name "$n")" "sym$n"
done
run "symlink to a directory" ln -s a/b symdir
run "hard link" ln file1 hl1
run "hard link across directories" ln file1 a/b/hl2
run "hard link to a directory" ln a hl-dir
st file1 a a/b
run "unlink a link" rm hl1
run "rmdir" rmdir emptydir
run "rmdir non-empty" rmdir a
run "unlink a directory" unlink a/b
st file1 a
# A file unlinked while open, written to, then closed: the orphan list.
exec 3>orphan
rm orphan
pat orphan 70000 >&3
exec 3>&-
echo "orphan: $(ls | grep -c orphan)"
cd ..

# ---- rename ----
echo "== rename"
mkdir ren && cd ren || exit 1
mkdir src dst src/sub src/sub/deep dst/other d1 d2 full
printf one >plain1
printf a >x
printf b >y
ln y ylink
printf f >src/f
printf z >full/z
printf e >src/efile
mkdir dst/edir dst/edir/inner
mkdir src/xd dst/xd dst/xd/k1 dst/xd/k2
printf h >h1
ln h1 h2
run "rename plain" mv plain1 plain2
run "rename replacing a file" mv x y
st y ylink
run "rename a file across directories" mv src/f dst/f
st src dst
run "rename a directory across directories" mv src/sub dst/sub
st src dst dst/sub
[ dst/sub/.. -ef dst ] && echo "..: dst/sub/.. is dst" || echo "..: dst/sub/.. is not dst"
run "rename a directory over an empty one" mv -T d1 d2
st . d2
ops "rename a directory over a non-empty one" rename plain d2 full
ops "rename a directory into itself" rename plain dst dst/sub/inside
ops "rename a file over a directory" rename plain y dst/other
ops "rename a directory over a file" rename plain d2 y
ops "rename between hard links of one file" rename plain h1 h2
st h1 h2
ops "RENAME_NOREPLACE onto an existing name" rename noreplace y plain2
ops "RENAME_NOREPLACE onto a new name" rename noreplace y ynew
ops "RENAME_EXCHANGE two files" rename exchange plain2 ynew
ops "RENAME_EXCHANGE a file and a directory across directories" \
	rename exchange src/efile dst/edir
st src dst src/efile dst/edir
[ src/efile/.. -ef src ] && echo "..: src/efile/.. is src" || echo "..: src/efile/.. is not src"
ops "RENAME_EXCHANGE two directories across directories" rename exchange src/xd dst/xd
st src dst src/xd dst/xd
ops "RENAME_EXCHANGE with a missing name" rename exchange src/xd dst/missing
cd ..

# ---- setattr: mode, owner, size, times ----
echo "== setattr"
mkdir attr && cd attr || exit 1
for m in 4755 2755 1777 0 0640 6711; do
	: >"m$m"
	run "chmod $m" chmod "$m" "m$m"
done
mkdir dsticky && run "chmod 1777 a directory" chmod 1777 dsticky
: >owned
run "chown 1234:5678" chown 1234:5678 owned
: >setid && chmod 6755 setid
run "chown clears setuid" chown 4321 setid
ln -s owned symowned
run "chown -h a symlink" chown -h 42:43 symowned
mkdir downed && run "chown a directory" chown 77:88 downed
st m4755 setid
pat trunc 50000 >t1
run "truncate up" truncate -s 100000 t1
run "truncate down" truncate -s 1234 t1
pat trunc 50000 >t2
run "truncate to zero" truncate -s 0 t2
run "truncate up to 5 GB" truncate -s 5000000000 t3
pat tail 9000 >>t3
run "truncate down inside a block" truncate -s 4097 t1
st t1 t2 t3
for f in tm1 tm2 tm3 tm4 tm5 tm6; do : >"$f"; done
run "touch -d with nanoseconds" touch -d "$OLD" tm1
run "touch -a -d" touch -a -d '2002-03-04 05:06:07.000000001' tm2
run "touch -m -d" touch -m -d '2003-04-05 06:07:08.999999999' tm2
touch -d "$OLD" tm3 tm4
run "touch -a (UTIME_NOW atime, UTIME_OMIT mtime)" touch -a tm3
run "touch -m (UTIME_NOW mtime, UTIME_OMIT atime)" touch -m tm4
run "touch -d before 1970" touch -d '1960-01-01 00:00:00.5' tm5
run "touch -d after 2038" touch -d '2100-06-07 08:09:10.25' tm6
run "touch -h a symlink" touch -h -d "$OLD" symowned
mkdir tdir
touch -d "$OLD" tdir
: >tdir/new
# tdir's mtime and ctime are now "now": treecmp sees whether they moved.
cd ..

# ---- data: holes, past EOF, overwrites, fsync ----
echo "== write"
mkdir data && cd data || exit 1
pat hole 8192 | dd of=holes bs=4096 seek=10 conv=notrunc 2>/dev/null
pat far 4096 | dd of=holes bs=4096 seek=1000 conv=notrunc 2>/dev/null
pat mid 100 | dd of=holes bs=1 seek=45000 conv=notrunc 2>/dev/null
pat base 100000 >over
pat OVER 3333 | dd of=over bs=1 seek=7777 conv=notrunc 2>/dev/null
pat past 10 | dd of=over bs=1 seek=200000 conv=notrunc 2>/dev/null
printf 'appended\n' >>over
pat big "$((bigmb * 1048576))" >big
pat unaligned 1 | dd of=unaligned bs=1 seek=1 2>/dev/null
for o in 511 4095 4097 65535 1048577; do
	pat "u$o" 700 | dd of=unaligned bs=1 seek="$o" conv=notrunc 2>/dev/null
done
ops "fsync" fsync big
ops "fdatasync" fdatasync over
ops "syncfs" syncfs .
st holes over big unaligned
cd ..

# ---- fallocate ----
echo "== fallocate"
mkdir falloc && cd falloc || exit 1
run "fallocate (default)" fallocate -l 1048576 fa1
pat inside 5000 | dd of=fa1 bs=1 seek=300000 conv=notrunc 2>/dev/null
: >fa2
run "fallocate -n (keep size)" fallocate -n -o 0 -l 2097152 fa2
pat punch 262144 >fa3
run "fallocate -p (punch hole)" fallocate -p -o 4096 -l 65536 fa3
run "fallocate -p (unaligned)" fallocate -p -o 70001 -l 10000 fa3
run "fallocate -z (zero range)" fallocate -z -o 131072 -l 8192 fa3
run "fallocate -z (unaligned, past EOF)" fallocate -z -o 250001 -l 100000 fa3
run "fallocate -n past EOF" fallocate -n -o 400000 -l 4096 fa3
pat p 100000 >fa4
run "fallocate -p the whole file" fallocate -p -o 0 -l 100000 fa4
# st_blocks too: what fallocate allocated, punched or kept.
for f in fa1 fa2 fa3 fa4; do
	stat -c '%n: size=%s blocks=%b' "$f"
done
cd ..

# ---- xattrs and ACLs ----
echo "== xattr"
mkdir xattr && cd xattr || exit 1
for f in x1 x2 x3 x4 x5 x6; do : >"$f"; done
big=$(pat B 3000)
mid=$(pat M 600)
run "setxattr small" setfattr -n user.small -v hello x1
run "setxattr 600 bytes" setfattr -n user.mid -v "$mid" x1
run "setxattr 3000 bytes" setfattr -n user.big -v "$big" x2
run "setxattr the same 3000 bytes (a shared block)" setfattr -n user.big -v "$big" x3
run "setxattr the same 3000 bytes again" setfattr -n user.big -v "$big" x4
run "removexattr from a shared block" setfattr -x user.big x3
run "replace a value in a shared block" setfattr -n user.big -v "${big}x" x4
i=0
while [ $i -lt 40 ]; do
	setfattr -n "user.many$i" -v "value number $i" x5 || echo "setxattr many $i: fail"
	i=$((i + 1))
done
run "removexattr (one of many)" setfattr -x user.many7 x5
run "removexattr (missing)" setfattr -x user.none x6
run "setxattr trusted." setfattr -n trusted.t -v 1 x6
run "setxattr security." setfattr -n security.s -v 2 x6
run "setxattr empty value" setfattr -n user.empty x6
mkdir xd && run "setxattr on a directory" setfattr -n user.d -v dir xd
ln -s x1 xs && run "setxattr user. on a symlink" setfattr -h -n user.s -v 1 xs
mkfifo xf && run "setxattr user. on a fifo" setfattr -n user.f -v 1 xf
getfattr -d -m - x1 x5 2>/dev/null | grep -c = | sed 's/^/xattrs listed: /'
cd ..
echo "== acl"
mkdir acl && cd acl || exit 1
: >a1
: >a2
run "setfacl" setfacl -m u:1234:rwx,g:55:r-x a1
run "setfacl mask" setfacl -m m::r a1
run "chmod a file with an ACL" chmod 640 a1
run "setfacl then remove it" sh -c 'setfacl -m u:7:r a2 && setfacl -b a2'
mkdir dacl
run "setfacl default" setfacl -d -m u:1234:rwx,g::r-x,o::- dacl
run "setfacl default mask" setfacl -d -m m::rx dacl
: >dacl/inherited
mkdir dacl/subdir
: >dacl/subdir/deeper
run "mknod under a default ACL" mkfifo dacl/fifo
st a1 dacl/inherited dacl/subdir dacl/fifo
cd ..

# ---- a large directory (htree), half of it deleted ----
echo "== htree"
mkdir big
i=0
while [ $i -lt $nbig ]; do
	: >"big/entry-$i-with-a-name-long-enough-to-fill-blocks-quickly"
	i=$((i + 1))
done
i=0
while [ $i -lt $nbig ]; do
	rm "big/entry-$i-with-a-name-long-enough-to-fill-blocks-quickly"
	i=$((i + 2))
done
i=0
while [ $i -lt $((nbig / 4)) ]; do
	mkdir "big/newdir-$i"
	i=$((i + 1))
done
echo "big: $(ls big | wc -l) entries, $(ls big | md5sum | cut -c1-32)"
# Not its size: where an indexed directory's leaves split varies (between
# two kernel runs too); rw-compare checks the index flag itself.
stat -c '%n: %F nlink=%h mode=%a owner=%u:%g' big

# ---- a Debian tree unpacked ----
echo "== untar"
if [ -n "$ROOTFS_TAR" ]; then
	mkdir rootfs
	run "untar" tar -C rootfs --numeric-owner --xattrs --xattrs-include='*' --acls \
		-xpf "$ROOTFS_TAR"
	echo "rootfs: $(find rootfs | wc -l) entries"
	# Half the tree's top directories removed again.
	for d in $(ls rootfs/* -d | awk 'NR % 2'); do
		run "rm -rf $d" rm -rf "$d"
	done
else
	echo "untar: skipped (no ROOTFS_TAR)"
fi

# ---- fsstress, one process, a fixed seed ----
echo "== fsstress"
if [ -n "$FSSTRESS" ]; then
	mkdir stress
	# Only what every driver of ext4 does alike: no O_DIRECT, no XFS or
	# btrfs ioctls, no inode flags, no collapse/insert range, no
	# whiteouts, no io_uring or AIO.
	"$FSSTRESS" -d "$PWD/stress" -s 20250101 -p 1 -n "$FSSTRESS_OPS" -z \
		-f creat=8 -f mkdir=4 -f mknod=2 -f symlink=2 -f link=2 -f unlink=4 \
		-f rmdir=2 -f rename=4 -f rnoreplace=2 -f rexchange=2 \
		-f write=10 -f writev=4 -f read=4 -f readv=2 -f mwrite=2 -f mread=2 \
		-f truncate=4 -f fsync=2 -f fdatasync=2 -f chown=2 \
		-f setfattr=3 -f removefattr=2 -f getfattr=1 -f listfattr=1 \
		-f punch=2 -f zero=2 -f fallocate=2 -f getdents=2 -f stat=2 \
		-f readlink=1 -f splice=1 -f copyrange=1 -f sync=1 \
		>/dev/null 2>&1
	echo "fsstress: exit $?"
	echo "stress: $(find stress | wc -l) entries"
else
	echo "fsstress: skipped (no FSSTRESS)"
fi
echo "== end"
