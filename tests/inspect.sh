#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# imgfs-inspect against e2fsprogs' own view of the same images, never
# against imgfs's: superblock facts (dumpe2fs -h), inodes (debugfs stat)
# and block mappings (debugfs ex and bmap) of contiguous, sparse,
# fragmented, unwritten, inline and block-mapped files; then its errors.
# Images are made here with mkfs -d and debugfs -w: no root needed.

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/inspect-lib.sh"

need_cmd mkfs.ext4 mke2fs debugfs dumpe2fs
need_prog "$IMGFS_INSPECT"

TRUTH=e2fsprogs

# ---- e2fsprogs' view ----

# dumpe2fs_field IMAGE KEY: one "Key:  value" of the superblock.
dumpe2fs_field() {
	dumpe2fs -h "$1" 2>/dev/null | sed -n "s/^$2: *//p" | sed 's/ *$//'
}

# e2_extents IMAGE PATH: the leaf extents debugfs finds, one per line as
# "first-logical last-logical first-physical last-physical U|-".
e2_extents() {
	debugfs -R "ex $2" "$1" 2>/dev/null | sed 's#/# #g' | awk '
		NR > 1 && $1 == $2 && NF >= 11 {
			print $5, $7, $8, $10, ($12 == "Uninit" ? "U" : "-")
		}'
}

# e2_blockmap IMAGE PATH NBLOCKS: "logical physical" for every block, 0
# for a hole, from one debugfs bmap per block.
e2_blockmap() {
	_b=0
	while [ "$_b" -lt "$3" ]; do
		echo "bmap $2 $_b"
		_b=$((_b + 1))
	done >"$T/bmap.cmds"
	debugfs -f "$T/bmap.cmds" "$1" 2>/dev/null | awk '
		/^debugfs: bmap / { b = $4; next }
		/^[0-9]+( \(uninit\))?$/ { print b, $1 }'
}

# e2_stat IMAGE PATH: "inode size" as debugfs stat reports them.
e2_stat() {
	debugfs -R "stat $2" "$1" 2>/dev/null | awk '
		/^Inode:/ { ino = $2 }
		/^User:/ { for (i = 1; i < NF; i++) if ($i == "Size:") size = $(i + 1) }
		END { print ino, size }'
}

# check_extents IMAGE PATH DESC: debugfs's extents, row for row.
check_extents() {
	if ! inspect "$1" "$2"; then
		not_ok "$3"
		diag_file "$ERR"
		return
	fi
	e2_extents "$1" "$2" >"$T/want"
	imgfs_extents "$OUT" >"$T/got"
	same "$3" "$T/want" "$T/got"
	_n=$(wc -l <"$T/want")
	_s=s
	[ "$_n" -ne 1 ] || _s=
	is "$2: \"$_n extent$_s found\"" "$2: $_n extent$_s found" \
		"$(grep ' found$' "$OUT")"
}

# check_blockmap IMAGE PATH DESC: with holes listed, every block of the
# file maps where debugfs bmap says (0 for holes).
check_blockmap() {
	if ! inspect -a "$1" "$2"; then
		not_ok "$3"
		diag_file "$ERR"
		return
	fi
	_size=$(e2_stat "$1" "$2" | awk '{ print $2 }')
	_bs=$(dumpe2fs_field "$1" "Block size")
	e2_blockmap "$1" "$2" $(((_size + _bs - 1) / _bs)) >"$T/want"
	imgfs_blockmap "$OUT" >"$T/got"
	same "$3" "$T/want" "$T/got"
}

# ---- the images ----

# main.img: ext4, 4 KiB blocks, a label.
mkdir "$T/root" "$T/root/dir"
head -c 40960 /dev/urandom >"$T/root/contig"
# 1 MiB, data in blocks 10 and 100-101 only: holes before, between, after.
truncate -s 1M "$T/root/sparse"
head -c 4096 /dev/urandom | dd of="$T/root/sparse" bs=4096 seek=10 conv=notrunc 2>/dev/null
head -c 8192 /dev/urandom | dd of="$T/root/sparse" bs=4096 seek=100 conv=notrunc 2>/dev/null
# 512 KiB: blocks 0-1 written; 10-29 become unwritten below.
truncate -s 512k "$T/root/unwritten"
head -c 8192 /dev/urandom | dd of="$T/root/unwritten" conv=notrunc 2>/dev/null
ln -s contig "$T/root/link"
# Empty: an unwritten extent of 256 blocks is added below, then a size of 3.
: >"$T/root/eofext"
# 8 KiB, not block-aligned at the end.
head -c 10000 /dev/urandom >"$T/root/dir/partial"

mkfs.ext4 -q -F -b 4096 -I 256 -L inspect-lbl -d "$T/root" "$T/main.img" 16M >/dev/null ||
	bail_out "mkfs.ext4 failed"

# A fragmented file: write 40 one-block files, delete every other one,
# then write a file that has to fill the gaps.
head -c 4096 /dev/urandom >"$T/block"
head -c 81920 /dev/urandom >"$T/big"
{
	_i=0
	while [ $_i -lt 40 ]; do echo "write $T/block /fill$_i"; _i=$((_i + 1)); done
	_i=0
	while [ $_i -lt 40 ]; do echo "rm /fill$_i"; _i=$((_i + 2)); done
	echo "write $T/big /frag"
	echo "fallocate /unwritten 10 29"
	echo "fallocate /eofext 0 255"
	echo "sif /eofext size 10000"
} >"$T/debugfs.cmds"
debugfs -w -f "$T/debugfs.cmds" "$T/main.img" >/dev/null 2>&1 ||
	bail_out "debugfs -w failed"

# inline.img: ext4 with inline_data, 1 KiB blocks.
mkdir "$T/iroot"
printf 'hello, inline\n' >"$T/iroot/tiny"
head -c 3000 /dev/urandom >"$T/iroot/small"
mkfs.ext4 -q -F -b 1024 -I 256 -O inline_data -d "$T/iroot" "$T/inline.img" 4M >/dev/null ||
	bail_out "mkfs.ext4 -O inline_data failed"

# ext2.img: block maps with indirect and double-indirect blocks.
mkdir "$T/broot"
head -c 307200 /dev/urandom >"$T/broot/blockmapped"
truncate -s 400k "$T/broot/bsparse"
head -c 2048 /dev/urandom | dd of="$T/broot/bsparse" bs=1024 seek=290 conv=notrunc 2>/dev/null
mke2fs -q -F -t ext2 -b 1024 -d "$T/broot" "$T/ext2.img" 4M >/dev/null ||
	bail_out "mke2fs -t ext2 failed"

# ---- superblock facts vs dumpe2fs -h ----

check "inspect main.img" "$IMGFS_INSPECT" "$T/main.img"
inspect "$T/main.img"
cp "$OUT" "$T/main.info"
is "type" ext4 "$(field 'Filesystem type' "$T/main.info")"
is "label" "$(dumpe2fs_field "$T/main.img" 'Filesystem volume name')" \
	"$(field Label "$T/main.info")"
is "UUID" "$(dumpe2fs_field "$T/main.img" 'Filesystem UUID')" "$(field UUID "$T/main.info")"
is "block size" "$(dumpe2fs_field "$T/main.img" 'Block size')" \
	"$(field 'Block size' "$T/main.info")"
is "blocks" "$(dumpe2fs_field "$T/main.img" 'Block count') total, $(dumpe2fs_field "$T/main.img" 'Free blocks') free" \
	"$(field Blocks "$T/main.info")"
is "inodes" "$(dumpe2fs_field "$T/main.img" 'Inode count') total, $(dumpe2fs_field "$T/main.img" 'Free inodes') free" \
	"$(field Inodes "$T/main.info")"
is "size" "$(($(dumpe2fs_field "$T/main.img" 'Block count') * 4096)) bytes" \
	"$(field Size "$T/main.info")"
is "offset" "0 bytes" "$(field Offset "$T/main.info")"
is "features" \
	"$(dumpe2fs_field "$T/main.img" 'Filesystem features' | tr ' ' '\n' | sort | xargs)" \
	"$(field Features "$T/main.info" | tr ' ' '\n' | sort | xargs)"

inspect "$T/ext2.img"
is "ext2: type" ext2 "$(field 'Filesystem type' "$OUT")"
is "ext2: label is empty" "" "$(field Label "$OUT")"
is "ext2: UUID" "$(dumpe2fs_field "$T/ext2.img" 'Filesystem UUID')" "$(field UUID "$OUT")"
is "ext2: block size" 1024 "$(field 'Block size' "$OUT")"

# ---- finding the filesystem: offset= and partition= ----

uuid=$(dumpe2fs_field "$T/main.img" 'Filesystem UUID')
{ head -c 1048576 /dev/zero; cat "$T/main.img"; } >"$T/offset.img"
inspect -o offset=1m "$T/offset.img"
is "offset=1m: UUID" "$uuid" "$(field UUID "$OUT")"
is "offset=1m: offset" "1048576 bytes" "$(field Offset "$OUT")"
one_line_error "no offset: no filesystem found, one line" 1 ".*offset\.img.*" "$T/offset.img"

if command -v sfdisk >/dev/null 2>&1; then
	# Partition 2 holds main.img; partition 1 is an empty 1 MiB.
	truncate -s 20M "$T/disk.img"
	printf 'label: gpt\nstart=2048, size=2048\nstart=4096, size=32768\n' |
		sfdisk -q "$T/disk.img" >/dev/null 2>&1
	dd if="$T/main.img" of="$T/disk.img" bs=512 seek=4096 conv=notrunc 2>/dev/null
	inspect -o partition=2 "$T/disk.img"
	is "partition=2: UUID" "$uuid" "$(field UUID "$OUT")"
	is "partition=2: offset" "2097152 bytes" "$(field Offset "$OUT")"
	one_line_error "partitioned image without partition=: one line" 1 \
		".*disk\.img.*partition.*" "$T/disk.img"
	one_line_error "partition=3 does not exist: one line" 1 ".*disk\.img.*3.*" \
		-o partition=3 "$T/disk.img"
else
	skip "partition=2" "no sfdisk"
fi

# ---- files: inode, type, size vs debugfs stat ----

for p in /contig /sparse /frag /unwritten /link /dir /dir/partial; do
	inspect "$T/main.img" "$p"
	is "$p: inode and size" "$(e2_stat "$T/main.img" "$p")" \
		"$(pfield Inode "$OUT") $(pfield Size "$OUT" | awk '{ print $1 }')"
done

inspect "$T/main.img" /link
is "/link: a symbolic link, not followed" "symbolic link" "$(pfield Type "$OUT")"
is "/link: its target" "contig (not followed)" "$(pfield Target "$OUT")"
if grep -q ' found$' "$OUT"; then
	not_ok "/link: no mapping table"
else
	ok "/link: no mapping table"
fi
inspect "$T/main.img" /dir
is "/dir: a directory" directory "$(pfield Type "$OUT")"
inspect "$T/main.img" contig
is "a relative path starts at the root" "$(e2_stat "$T/main.img" /contig | cut -d' ' -f1)" \
	"$(pfield Inode "$OUT")"
inspect "$T/main.img" //dir/../contig
is "// and .. are walked" "$(e2_stat "$T/main.img" /contig | cut -d' ' -f1)" \
	"$(pfield Inode "$OUT")"

# ---- mappings vs debugfs ex ----

n=$(e2_extents "$T/main.img" /frag | wc -l)
if [ "$n" -ge 8 ]; then
	ok "/frag is fragmented ($n extents, per debugfs)"
else
	not_ok "/frag is fragmented ($n extents, per debugfs)"
fi
if e2_extents "$T/main.img" /unwritten | grep -q ' U$'; then
	ok "/unwritten has unwritten extents (per debugfs)"
else
	not_ok "/unwritten has unwritten extents (per debugfs)"
fi

# An extent that runs past EOF is shown up to the block holding the last byte.
set -- $(e2_extents "$T/main.img" /eofext)
if [ $# -eq 5 ] && [ "$1" -eq 0 ] && [ "$2" -gt 2 ]; then
	ok "/eofext: one extent, past EOF (per debugfs)"
else
	not_ok "/eofext: one extent, past EOF (per debugfs)"
	diag "debugfs: $*"
fi
inspect "$T/main.img" /eofext
is "/eofext: the extent is clipped at the last block" "0 2 ${3:-} $((${3:-0} + 2)) U" \
	"$(imgfs_extents "$OUT")"

check_extents "$T/main.img" /contig "contiguous file: extents match debugfs"
check_extents "$T/main.img" /sparse "sparse file: extents match debugfs"
check_extents "$T/main.img" /frag "fragmented file: extents match debugfs"
check_extents "$T/main.img" /unwritten "unwritten extents: extents and flags match debugfs"
check_extents "$T/main.img" /dir/partial "partial last block: extents match debugfs"
check_extents "$T/inline.img" /small "1 KiB blocks: extents match debugfs"

# ---- every block vs debugfs bmap (holes listed with -a) ----

check_blockmap "$T/main.img" /sparse "sparse file: every block, holes too, matches bmap"
check_blockmap "$T/main.img" /unwritten "unwritten file: every block matches bmap"
check_blockmap "$T/ext2.img" /blockmapped "ext2 block map (indirect blocks): every block matches bmap"
check_blockmap "$T/ext2.img" /bsparse "ext2 sparse block map: every block matches bmap"

inspect "$T/main.img" /sparse
if grep -q '^ *- ' "$OUT"; then
	not_ok "holes are not listed without -a"
else
	ok "holes are not listed without -a"
fi
inspect -a "$T/main.img" /sparse
is "-a lists the hole up to EOF, clipped to the last block" "- 102..255 - 154 hole,eof" \
	"$(awk '$1 == "-"' "$OUT" | tail -n 1 | xargs)"

# ---- inline data ----

if debugfs -R "stat /tiny" "$T/inline.img" 2>/dev/null |
	grep -q '^Size of inline data:'; then
	ok "/tiny is stored inline (per debugfs)"
else
	not_ok "/tiny is stored inline (per debugfs)"
fi
inspect "$T/inline.img" /tiny
is "/tiny: one row, flagged inline, no physical block" "0 0..0 - 1 inline,eof" \
	"$(awk '$1 ~ /^[0-9]+$/ && $2 ~ /\.\./' "$OUT" | xargs)"
is "/tiny: \"1 extent found\"" "/tiny: 1 extent found" "$(grep ' found$' "$OUT")"

# ---- errors: exit status and one line on stderr ----

one_line_error "missing image" 1 "$T/nonexistent\\.img: No such file or directory" \
	"$T/nonexistent.img"
one_line_error "missing path" 1 "/nope: No such file or directory" "$T/main.img" /nope
one_line_error "component not a directory" 1 "/contig/x: Not a directory" \
	"$T/main.img" /contig/x
one_line_error "trailing slash on a file" 1 "/contig/: Not a directory" "$T/main.img" /contig/
one_line_error "symlink as a directory is not followed" 1 "/link/x: Not a directory" \
	"$T/main.img" /link/x
yes 'not a filesystem' | head -c 1048576 >"$T/text.img"
one_line_error "not a filesystem" 1 ".*text\\.img.*" "$T/text.img"
: >"$T/empty.img"
one_line_error "empty file" 1 ".*empty\\.img.*" "$T/empty.img"
one_line_error "type=ext2 on ext4" 1 ".*main\\.img.*" -o type=ext2 "$T/main.img"
one_line_error "offset past the end" 1 ".*main\\.img.*" -o offset=1g "$T/main.img"

missing_among_others "$T/main.img" /contig 1 /sparse 2

# ---- command line ----

one_line_error "unknown -o option: exit 2" 2 "unknown option 'bogus'" -o bogus "$T/main.img"
one_line_error "offset= with partition=: exit 2" 2 ".*exclude.*" \
	-o offset=1m,partition=1 "$T/main.img"
one_line_error "unknown option: exit 2" 2 ".*--frobnicate.*" --frobnicate "$T/main.img"
one_line_error "-o without a value: exit 2" 2 ".*-o.*" -o
one_line_error "no IMAGE: exit 2" 2 "missing IMAGE.*"
check "--help" "$IMGFS_INSPECT" --help
inspect --help
if grep -q '^Usage: imgfs-inspect' "$OUT"; then ok "--help shows usage"; else not_ok "--help shows usage"; fi
inspect -V
if grep -Eq '^imgfs-inspect [0-9]' "$OUT"; then ok "-V shows the version"; else not_ok "-V shows the version"; fi

done_testing
