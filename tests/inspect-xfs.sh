#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/inspect-xfs.sh: imgfs-inspect on XFS against xfs_db -r's reading
# of the same images, never against imgfs's own: superblock facts (sb 0,
# version), inodes (path, inode, core.*), and the mapping of regular
# files of every shape the XFS corpus has (tests/mkcorpus-xfs.sh): empty,
# contiguous, partial last block, holes, extents and btree data forks
# (bmbt depth 1 and 2), unwritten extents (whole, split, past EOF), a
# punched hole, reflinked clones, data past 4 GiB, unwritten extents that
# run from before EOF to past it; with 4 KiB and 1 KiB blocks, and 1 KiB
# inodes.  xfs_db's bmap records ("startblock" is an AG-encoded fsblock,
# shown with "(agno/agbno)") become rows as imgfs-inspect prints them: physical
# blocks counted straight through the AGs (agno * agblocks + agbno),
# clipped at the block that holds the last byte, holes between.
# Then finding the filesystem (type=, partition=, offset=) and errors on
# XFS: missing paths, damaged superblocks, a truncated image.
#
# Needs root, as the corpus does (it is populated by the kernel).
# Environment: IMGFS_CORPUS_XFS=DIR, images made by mkcorpus-xfs.sh.

set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/compare-lib.sh"
. "$top_srcdir/tests/inspect-lib.sh"

need_root
need_loop
need_cmd mkfs.xfs xfs_db xfs_repair xfs_admin setfacl setfattr perl fallocate sfdisk mke2fs \
	losetup timeout
need_prog "$IMGFS_INSPECT"
need_kernel_fs xfs "to make the corpus"

TRUTH=xfs_db

get_corpus "${IMGFS_CORPUS_XFS:-}" "$MKCORPUS_XFS"

# ---- xfs_db's view ----

# db IMAGE COMMAND...: xfs_db read-only, one -c per argument.
db() {
	_img=$1
	shift
	for _c in "$@"; do printf '%s\0' -c "$_c"; done | xargs -0 xfs_db -r "$_img" 2>/dev/null
}

# sb IMAGE FIELD: a field of the primary superblock.
sb() {
	db "$1" "sb 0" "print $2" | sed -n "s/^$2 = //p"
}

# db_features IMAGE: the features xfs_db's version command lists, named
# as imgfs-inspect (and xfs_info) name them, sorted, one line.  Those
# every v5 filesystem has and xfs_info does not name are left out; any
# other is kept, lower-cased, so that a feature imgfs does not name shows.
db_features() {
	db "$1" version | sed -n 's/^versionnum .* = //p' | tr ',' '\n' | awk '
		BEGIN { n["CRC"] = "crc"; n["FINOBT"] = "finobt"; n["SPARSE_INODES"] = "sparse"
			n["RMAPBT"] = "rmapbt"; n["REFLINK"] = "reflink"; n["BIGTIME"] = "bigtime"
			n["INOBTCNT"] = "inobtcount"; n["NREXT64"] = "nrext64"; n["FTYPE"] = "ftype"
			n["META_UUID"] = "meta_uuid"; n["ATTR2"] = "attr2"
			n["LAZYSBCOUNT"] = "lazy-count"; n["PROJID32BIT"] = "projid32bit"
			split("V5 NLINK DIRV2 ATTR ALIGN LOGV2 EXTFLG MOREBITS", d, " ")
			for (i in d) drop[d[i]] = 1 }
		$0 in drop { next }
		{ print ($0 in n ? n[$0] : tolower($0)) }' | sort | xargs
}

# db_inode IMAGE PATH: what imgfs-inspect says about the inode, from its
# core: "Inode: N", "Type: ...", "Size: ..." (and "Device: M:N" for a
# device, "Target: ..." for a local symlink), one per line.
db_inode() {
	_bs=$(sb "$1" blocksize)
	db "$1" "path $2" inode "print core.mode core.size" "print u3" | awk -v bs="$_bs" '
		/^current inode number is / { print "Inode: " $5 }
		/^core.mode = / {
			m = substr($3, 1, length($3) - 4); sub(/^0+/, "", m)
			t["10"] = "regular file"; t["4"] = "directory"; t["12"] = "symbolic link"
			t["2"] = "character device"; t["6"] = "block device"; t["1"] = "fifo"
			t["14"] = "socket"
			type = (m in t) ? t[m] : "unknown " m
			print "Type: " type
		}
		/^core.size = / {
			size = $3
			if (type != "regular file") { print "Size: " size " bytes"; next }
			n = int((size + bs - 1) / bs)
			printf "Size: %s bytes (%d block%s of %d bytes)\n", size, n, n == 1 ? "" : "s", bs
		}
		/^u3.dev = / && type ~ /device/ {
			# 0x...: major << 18 | minor (the sysv encoding)
			d = 0
			for (i = 3; i <= length($3); i++)
				d = d * 16 + index("0123456789abcdef", tolower(substr($3, i, 1))) - 1
			printf "Device: %d:%d\n", int(d / 262144), d % 262144
		}
		/^u3.symlink = "/ {
			s = $0; sub(/^u3.symlink = "/, "", s); sub(/"$/, "", s)
			print "Target: " s " (not followed)"
		}'
}

# db_rows IMAGE PATH: the file's data mapping from xfs_db's bmap, as rows
# "FIRST LAST PFIRST PLAST KIND": logical and physical blocks (physical
# counted from the start of the filesystem: agno * agblocks + agbno),
# KIND U (unwritten), - (written) or H (hole, physical "- -"), then E if
# the row holds the last block.  Clipped at the block that holds the
# last byte (size from core.size), as imgfs-inspect shows mappings.
db_rows() {
	db "$1" "sb 0" "print agblocks blocksize" "path $2" "print core.size" "bmap -d" | awk '
		function row(first, last, p, kind) {
			print first, last, (kind == "H" ? "- -" : p " " (p + last - first)), \
				kind (last == n - 1 ? "E" : "")
		}
		/^agblocks = / { agb = $3 }
		/^blocksize = / { bs = $3 }
		/^core.size = / { n = int(($3 + bs - 1) / bs); pos = 0 }
		/^data offset / {
			# data offset O startblock S (AGNO/AGBNO) count C flag F
			off = $3; split($6, ag, /[(\/)]/); count = $8
			if (off >= n)
				next
			if (off > pos)
				row(pos, off - 1, 0, "H")
			if (off + count > n)
				count = n - off
			row(off, off + count - 1, ag[2] * agb + ag[3], $10 == 1 ? "U" : "-")
			pos = off + count
		}
		END { if (pos < n) row(pos, n - 1, 0, "H") }'
}

# ---- imgfs-inspect's view ----

# imgfs_rows FILE: every row of the mapping table in db_rows's format;
# flags other than unwritten, hole and eof are appended as they are.
imgfs_rows() {
	awk '($1 ~ /^[0-9]+$/ || $1 == "-") && $2 ~ /\.\./ {
		split($2, l, /\.\./); split($3, p, /\.\./)
		nf = split(NF >= 5 ? $5 : "", f, ",")
		kind = "-"; e = ""; other = ""
		for (i = 1; i <= nf; i++) {
			if (f[i] == "unwritten") kind = "U"
			else if (f[i] == "hole") kind = "H"
			else if (f[i] == "eof") e = "E"
			else other = other "," f[i]
		}
		print l[1], l[2], ($3 == "-" ? "- -" : p[1] " " p[2]), kind e other
	}' "$1"
}

# imgfs_inode FILE: the lines db_inode gives, as imgfs-inspect printed them.
imgfs_inode() {
	sed -En 's/^  (Inode|Type|Size|Device|Target): */\1: /p' "$1"
}

# ---- checks ----

# check_file IMAGE PATH: inode facts, the mapping without and with holes,
# and the "N extents found" line.
check_file() {
	_name="$(basename "$1") $2"
	db_inode "$1" "$2" >"$T/want.inode"
	db_rows "$1" "$2" >"$T/want.all"
	grep -v ' HE*$' "$T/want.all" >"$T/want.rows"
	if ! inspect "$1" "$2"; then
		not_ok "$_name: imgfs-inspect succeeds"
		diag_file "$ERR"
		return
	fi
	imgfs_inode "$OUT" >"$T/got.inode"
	same "$_name: inode, type and size match xfs_db" "$T/want.inode" "$T/got.inode"
	imgfs_rows "$OUT" >"$T/got.rows"
	_n=$(wc -l <"$T/want.rows")
	if [ "$_n" -eq 0 ]; then
		# same() wants a non-empty truth: an empty file, or all hole.
		is "$_name: no mapping, as xfs_db has none" "" "$(cat "$T/got.rows")"
	else
		same "$_name: the mappings ($_n) match xfs_db bmap" "$T/want.rows" "$T/got.rows"
	fi
	_s=s
	[ "$_n" -ne 1 ] || _s=
	is "$_name: \"$_n extent$_s found\"" "$2: $_n extent$_s found" "$(grep ' found$' "$OUT")"
	if ! inspect -a "$1" "$2"; then
		not_ok "$_name: imgfs-inspect -a succeeds"
		diag_file "$ERR"
		return
	fi
	imgfs_rows "$OUT" >"$T/got.all"
	if [ -s "$T/want.all" ]; then
		same "$_name: with -a, mappings and holes match xfs_db bmap" "$T/want.all" "$T/got.all"
	else
		is "$_name: with -a, no rows for an empty file" "" "$(cat "$T/got.all")"
	fi
}

# fact DESC VALUE PATTERN: what xfs_db said (VALUE) matches the shell
# PATTERN: what an image must have for the checks on it to mean anything.
fact() {
	# shellcheck disable=SC2254
	case $2 in
	$3) ok "$1 (per xfs_db)";;
	*) not_ok "$1 (per xfs_db)"; diag "xfs_db says '$2', wanted '$3'";;
	esac
}

# ---- superblock facts vs xfs_db ----

for name in xfs-4k xfs-1k xfs-4k-old-i1k-meta_uuid; do
	img=$corpus/$name.img
	if ! inspect "$img"; then
		not_ok "$name: imgfs-inspect shows the filesystem"
		diag_file "$ERR"
		continue
	fi
	cp "$OUT" "$T/info"
	is "$name: type" xfs "$(field 'Filesystem type' "$T/info")"
	# fname is printed as "xfs-4k\000\000...": the label is what comes before the NULs.
	is "$name: label" "$(sb "$img" fname | sed 's/^"//; s/\(\\000\)*"$//')" "$(field Label "$T/info")"
	is "$name: UUID" "$(sb "$img" uuid)" "$(field UUID "$T/info")"
	is "$name: block size" "$(sb "$img" blocksize)" "$(field 'Block size' "$T/info")"
	is "$name: blocks (dblocks, fdblocks)" "$(sb "$img" dblocks) total, $(sb "$img" fdblocks) free" \
		"$(field Blocks "$T/info")"
	is "$name: inodes (icount, ifree)" "$(sb "$img" icount) total, $(sb "$img" ifree) free" \
		"$(field Inodes "$T/info")"
	is "$name: size" "$(($(sb "$img" dblocks) * $(sb "$img" blocksize))) bytes" "$(field Size "$T/info")"
	is "$name: offset" "0 bytes" "$(field Offset "$T/info")"
	is "$name: features" "$(db_features "$img")" \
		"$(field Features "$T/info" | tr ' ' '\n' | sort | xargs)"
done
# The meta_uuid image: the UUID shown is the user-visible one, not the one
# the metadata is stamped with.
img=$corpus/xfs-4k-old-i1k-meta_uuid.img
fact "xfs-4k-old-i1k-meta_uuid: meta_uuid differs from uuid" \
	"$(sb "$img" meta_uuid | grep -vx "$(sb "$img" uuid)")" "?*-*"

# ---- files: the corpus's shapes, with 4 KiB and 1 KiB blocks ----

for name in xfs-4k xfs-1k; do
	img=$corpus/$name.img
	fact "$name: /files/empty has no extents" \
		"$(db "$img" "path /files/empty" "print core.format core.nextents" | xargs)" \
		"core.format = 2 (extents) core.nextents = 0"
	fact "$name: /files/five-extents is in extents format" \
		"$(db "$img" "path /files/five-extents" "print core.format" | xargs)" "*(extents)"
	fact "$name: /files/interleaved-a is a bmbt btree" \
		"$(db "$img" "path /files/interleaved-a" "print core.format u3.bmbt.level" | xargs)" \
		"core.format = 3 (btree) u3.bmbt.level = [1-9]"
	fact "$name: /files/depth-2 is a bmbt of depth 2 or more" \
		"$(db "$img" "path /files/depth-2" "print core.format u3.bmbt.level" | xargs)" \
		"core.format = 3 (btree) u3.bmbt.level = [2-9]"
	fact "$name: /prealloc/partly-written: unwritten, written, unwritten" \
		"$(db "$img" "path /prealloc/partly-written" "bmap -d" | sed -n 's/.*flag //p' | xargs)" \
		"1 0 1"
	fact "$name: /prealloc/beyond-eof has unwritten blocks past EOF" \
		"$(db "$img" "path /prealloc/beyond-eof" "bmap -d" | sed -n 's/.*flag //p' | xargs)" \
		"0 1"
	bs=$(sb "$img" blocksize)
	for p in /prealloc/across-eof /prealloc/written-across-eof; do
		# SIZE, then the last extent's OFFSET COUNT FLAG: it holds EOF's
		# block, and at least one more
		set -- $(db "$img" "path $p" "print core.size" "bmap -d" | sed -n 's/^core.size = //p
			$s/^data offset \([0-9]*\) .* count \([0-9]*\) flag \(.\)$/\1 \2 \3/p')
		fact "$name: $p: its last extent is unwritten, from before EOF to past it" \
			"${4:-} $(( ${2:-0} * bs < ${1:-0} && ${1:-0} <= (${2:-0} + ${3:-0} - 1) * bs ))" "1 1"
	done
	last=$(db "$img" "path /sparse/beyond-4g" "bmap -d" | sed -n '$s/^data offset \([0-9]*\) .*/\1/p')
	fact "$name: /sparse/beyond-4g has data past 4 GiB" \
		"$([ $((${last:-0} * $(sb "$img" blocksize))) -ge 4294967296 ] && echo "block $last")" "block *"
	orig=$(db "$img" "path /reflink/original" "bmap -d" | sed -n '1s/.* startblock \([0-9]*\) .*/\1/p')
	fact "$name: /reflink/clone shares its first block with /reflink/original" \
		"$(db "$img" "path /reflink/clone" "bmap -d" | sed -n '1s/.* startblock \([0-9]*\) .*/\1/p')" \
		"${orig:-none}"
	for p in /files/empty /files/one-byte /files/block-minus-1 /files/block-plus-1 \
		/files/medium /files/two-mib /files/five-extents /files/interleaved-a \
		/files/depth-2 /sparse/all-hole /sparse/hole-at-end /sparse/hole-at-start \
		/sparse/hole-in-middle /sparse/beyond-4g /prealloc/unwritten \
		/prealloc/partly-written /prealloc/beyond-eof /prealloc/across-eof \
		/prealloc/written-across-eof /prealloc/punched \
		/reflink/original /reflink/clone /reflink/clone-rewritten /reflink/depth-2-clone; do
		check_file "$img" "$p"
	done
	# Not regular files: a local directory, a btree one, a local symlink,
	# a device, a FIFO.
	for p in /dirs/shortform /dirs/btree /links/len-300 /special/big-numbers /special/fifo; do
		db_inode "$img" "$p" >"$T/want.inode"
		inspect "$img" "$p"
		imgfs_inode "$OUT" >"$T/got.inode"
		same "$name $p: inode, type, size (device, target) match xfs_db" \
			"$T/want.inode" "$T/got.inode"
	done
done

# 1 KiB inodes (fewer per block: other inode numbers), no reflink, no
# sparse inodes.
img=$corpus/xfs-4k-old-i1k-meta_uuid.img
for p in /files/five-extents /files/interleaved-a /files/depth-2 /sparse/beyond-4g \
	/prealloc/partly-written; do
	check_file "$img" "$p"
done

# ---- finding the filesystem ----

img=$corpus/xfs-1k.img
inspect -o type=xfs "$img"
is "type=xfs: the UUID" "$(sb "$img" uuid)" "$(field UUID "$OUT")"
one_line_error "type=ext4 on XFS: one line" 1 ".*xfs-1k\\.img.*xfs.*ext4.*" -o type=ext4 "$img"

disk=$corpus/gpt-xfs.img
if read -r num off size <"$disk.parts"; then
	# xfs_db reads the partition through a read-only loop device.
	loop=$(losetup -r -f --show -o "$off" --sizelimit "$size" "$disk")
	puuid=$(sb "$loop" uuid)
	losetup -d "$loop"
	inspect -o partition="$num" "$disk"
	is "gpt-xfs partition=$num: UUID" "$puuid" "$(field UUID "$OUT")"
	is "gpt-xfs partition=$num: offset" "$off bytes" "$(field Offset "$OUT")"
	is "gpt-xfs partition=$num: type" xfs "$(field 'Filesystem type' "$OUT")"
	inspect -o offset="$off" "$disk"
	is "gpt-xfs offset=$off: UUID" "$puuid" "$(field UUID "$OUT")"
	one_line_error "gpt-xfs without partition=: one line" 1 ".*gpt-xfs\\.img.*partition.*" "$disk"
else
	bail_out "no partition list for $disk"
fi

# ---- errors ----

img=$corpus/xfs-4k.img
one_line_error "missing path" 1 "/nope: No such file or directory" "$img" /nope
one_line_error "component not a directory" 1 "/files/one-byte/x: Not a directory" \
	"$img" /files/one-byte/x
one_line_error "trailing slash on a file" 1 "/files/one-byte/: Not a directory" \
	"$img" /files/one-byte/
one_line_error "symlink to a directory is not followed" 1 "/links/to-dir/x: Not a directory" \
	"$img" /links/to-dir/x
missing_among_others "$img" /files/one-byte 1 /files/five-extents 5

# Damaged copies of xfs-1k.img: xfs_db -x writes a superblock field with
# its CRC left stale (write -c) or recomputed (write -d).
damaged() {
	cp --sparse=always "$corpus/xfs-1k.img" "$T/bad.img" &&
		xfs_db -x -c "sb 0" -c "$1" "$T/bad.img" >/dev/null 2>&1 ||
		bail_out "xfs_db cannot $1"
}
damaged "write -c uuid 11111111-2222-3333-4444-555555555555"
fact "stale superblock CRC" "$(xfs_db -r -c "sb 0" -c "print crc" "$T/bad.img" 2>/dev/null)" \
	"*(bad)"
one_line_error "stale superblock CRC: one line" 1 ".*bad\\.img.*CRC.*" "$T/bad.img"
damaged "write -d rootino 0"
one_line_error "root inode 0: one line" 1 ".*bad\\.img.*root inode.*" "$T/bad.img"
damaged "write -d features_incompat $(printf '%#x' $(($(sb "$corpus/xfs-1k.img" features_incompat) | (1 << 29))))"
one_line_error "unknown incompatible feature: one line" 1 ".*bad\\.img.*feature.*" "$T/bad.img"
rm -f "$T/bad.img"
head -c 1048576 "$corpus/xfs-1k.img" >"$T/truncated.img"
one_line_error "truncated image: one line" 1 ".*truncated\\.img.*truncated.*" "$T/truncated.img"
rm -f "$T/truncated.img"

assert_clean "nothing left behind (loop devices)"
done_testing
