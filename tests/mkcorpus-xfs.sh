# SPDX-License-Identifier: GPL-2.0-or-later
# tests/mkcorpus-xfs.sh OUTDIR: build the XFS (v5) image corpus.
#
# Every on-disk format the XFS reader claims gets exercised: 1k and 4k
# blocks, directory blocks of one and of several filesystem blocks;
# directories in shortform, block, leaf and node form, node directories
# with a two-level hash index, and directories whose data fork is a bmbt
# btree; files with extents and btree data forks (bmbt of depth 2), sparse
# files, data past 4 GiB, unwritten extents (whole, split by a write in
# the middle, past EOF, from before EOF to past it), reflinked files; local and remote symlinks up to
# 1023 bytes (two remote blocks with 1k blocks); devices, FIFOs, sockets;
# hard links; xattrs in shortform, leaf and node attribute forks, remote
# values up to 64 KiB, user/trusted/security names and POSIX ACLs;
# nanosecond timestamps before 1970 and (bigtime) after 2038; ids above
# 65535; odd names.  Feature variants: bigtime on and off, nrext64,
# reflink, rmapbt, finobt and inobtcount on and off, sparse inodes on and
# off, meta_uuid.  (ftype cannot be turned off on v5: mkfs.xfs refuses.)
#
# How: mkfs.xfs makes an empty filesystem, the kernel populates it through
# a read-write loop mount (mkfs.xfs of xfsprogs 6.1 copies nothing but a
# protofile, and the kernel's allocator is what lays out real directories
# and fragmented files).  Then xfs_repair -n must find it clean, and every
# claimed property is checked with xfs_db, which reads the image
# independently of the kernel: the script prints what it verified and
# fails if something is missing, so the corpus cannot silently get weaker.
#
# Needs root (mknod, chown, loop mounts).  Images are sparse files of
# 300 MiB (the smallest mkfs.xfs makes), 80-120 MiB in use (most of it the
# log, which the populating writes through); the whole corpus takes
# seconds on an idle machine.

set -u
# The read-write loop mounts below happen in a mount namespace of our own
# (tests/private-ns.sh).
if [ -z "${MKCORPUS_PRIVATE_NS:-}" ] && [ "$(id -u)" -eq 0 ]; then
	MKCORPUS_PRIVATE_NS=1 exec sh "$(dirname "$0")/private-ns.sh" sh "$0" "$@"
fi
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/corpus-lib.sh"

[ $# -eq 1 ] || die "usage: mkcorpus-xfs.sh OUTDIR"
corpus_setup "$1" mkfs.xfs xfs_db xfs_repair xfs_admin setfacl setfattr perl losetup fallocate
grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null

# ---- populating (on the kernel's read-write mount) ----

# holes FILE COUNT BLOCKSIZE: COUNT one-block runs of data, each followed
# by a one-block hole, so COUNT extents.  The file is sized first: writes
# below EOF get no speculative preallocation, which would fill the holes.
# Every run names itself, so a block read from the wrong place shows.
holes() {
	perl -e 'my ($f, $n, $bs) = @ARGV;
		open(my $h, "+>", $f) or die "$f: $!";
		truncate($h, 2 * $n * $bs) or die "truncate: $!";
		for my $i (0 .. $n - 1) {
			seek($h, 2 * $i * $bs, 0) or die;
			print $h substr(sprintf("run %06d of %s ", $i, $f) x ($bs / 8), 0, $bs);
		}
		close($h) or die "close: $!"' "$1" "$2" "$3" || die "cannot write $1"
}

# interleave COUNT BLOCKSIZE FILE...: the files grow a block at a time in
# turn, each block flushed to disk before the next file's, so the
# allocator hands them alternate blocks: data without holes, but COUNT
# extents each.
interleave() {
	perl -MIO::Handle -e 'my ($n, $bs, @f) = @ARGV; my @h;
		for my $f (@f) { open(my $h, ">", $f) or die "$f: $!"; push @h, $h }
		for my $i (0 .. $n - 1) {
			for my $k (0 .. $#h) {
				print { $h[$k] } substr(sprintf("block %06d of %s ", $i, $f[$k]) x ($bs / 8), 0, $bs);
				$h[$k]->flush; $h[$k]->sync or die "fsync: $!";
			}
		}' "$@" || die "cannot write $3"
}

# mkentries DIR COUNT LENGTH [DIR2]: COUNT empty files with names of
# LENGTH bytes; with DIR2, the same names there too, created in turn so
# that the two directories' blocks interleave on disk.
mkentries() {
	perl -e 'my ($d, $n, $len, $d2) = @ARGV;
		for my $i (1 .. $n) {
			my $name = sprintf("%06d-", $i); $name .= "n" x ($len - length $name);
			for my $dir ($d, $d2) {
				next unless defined $dir;
				open(my $h, ">", "$dir/$name") or die "$dir/$name: $!"; close $h;
			}
		}' "$@" || die "cannot fill $1"
}

# xattrs FILE...: setfattr --restore of a dump written on stdin, with the
# path on the first line ("# file: PATH"); one process for many names and
# values too long for a command line.
xattrs() {
	setfattr -h --restore=- || die "setfattr --restore failed"
}

# b64value LENGTH: a value of LENGTH pseudo-random bytes as setfattr reads
# it from a dump (0s + base64).
b64value() {
	printf '0s%s' "$(head -c "$1" /dev/urandom | base64 -w0)"
}

# populate DIR BLOCKSIZE DIRBLOCKSIZE HUGE: the entries of
# tests/corpus-lib.sh and XFS's own.
populate() {
	d=$1 bs=$2 dbs=$3 huge=$4
	cd "$d" || die "cannot enter $d"

	common_files "$bs"
	randfile files/size-100 100
	# Few extents (fits the inode: extents format) and many (btree format).
	holes files/five-extents 5 "$bs"
	interleave 80 "$bs" files/interleaved-a files/interleaved-b
	# bmbt of depth 2: the inode's root holds ~20 pointers, a leaf
	# (bs - 72) / 16 records, split half full.
	holes files/depth-2 $((bs == 1024 ? 3000 : 6000)) "$bs"
	common_sparse yes

	# Preallocated: unwritten extents, one split by a write in its middle,
	# one past EOF, and ones from before EOF to past it: all the file's
	# blocks, or after written data.
	mkdir prealloc
	fallocate -l 1M prealloc/unwritten
	fallocate -l 1M prealloc/partly-written
	printf 'written in the middle of an unwritten extent\n' |
		dd of=prealloc/partly-written bs=4096 seek=100 conv=notrunc status=none
	printf 'eight bytes' >prealloc/beyond-eof
	fallocate -n -o 0 -l 256K prealloc/beyond-eof
	: >prealloc/across-eof && fallocate -n -l 1M prealloc/across-eof &&
		truncate -s 10000 prealloc/across-eof
	randfile prealloc/written-across-eof 20000 &&
		fallocate -n -l 1M prealloc/written-across-eof &&
		truncate -s 30000 prealloc/written-across-eof
	# A hole punched into written data.
	randfile prealloc/punched 65536
	fallocate -p -o 16384 -l 16384 prealloc/punched

	# Reflinked files share their blocks (reflink images only).
	mkdir reflink
	randfile reflink/original 262144
	if cp --reflink=always reflink/original reflink/clone 2>/dev/null; then
		cp --reflink=always reflink/original reflink/clone-rewritten
		printf 'copy on write\n' |
			dd of=reflink/clone-rewritten bs=4096 seek=10 conv=notrunc status=none
		cp --reflink=always files/depth-2 reflink/depth-2-clone
	fi

	# Directories in each form.  The thresholds depend on the directory
	# block size: a block directory holds one block of entries, a leaf
	# directory up to one leaf block of hashes, a node directory more.
	mkdir -p dirs/empty dirs/shortform dirs/block dirs/leaf dirs/node
	: >dirs/shortform/a
	mkdir dirs/shortform/b
	ln -s a dirs/shortform/c
	mkentries dirs/block $((dbs / 64)) 20
	mkentries dirs/leaf $((dbs / 16)) 40
	# (A node directory just past the leaf form keeps few enough
	# extents for the inode: kernels give new inodes room for an
	# attribute fork, leaving 12 extents to the data fork.)
	mkentries dirs/node $((dbs * 5 / 32)) 12
	# A directory whose data fork is a btree: its blocks interleave with
	# another directory's, one extent each.
	mkdir dirs/btree dirs/btree-partner
	mkentries dirs/btree $((dbs * 96 / 256)) 240 dirs/btree-partner
	# Many subdirectories (link counts), a deep chain.
	i=0
	while [ $i -lt 40 ]; do mkdir dirs/sub$i; i=$((i + 1)); done
	deep=dirs/deep
	i=0
	while [ $i -lt 100 ]; do deep=$deep/d; i=$((i + 1)); done
	mkdir -p "$deep" && echo bottom >"$deep/file"
	# 30000 long names: a node directory over many leaf blocks.  A hash
	# index of two levels takes more leaf blocks than a node block holds
	# (about 500 of 4 KiB): 200000 names, hard links to save inodes.
	case $huge in
	yes) mkdir dirs/huge && mkentries dirs/huge 30000 100;;
	2level)
		mkdir dirs/huge && : >dirs/huge-target &&
			perl -e 'for my $i (1 .. 200000) {
				link($ARGV[0], sprintf("%s/%07d", $ARGV[1], $i)) or die "link: $!" }' \
				dirs/huge-target dirs/huge || die "cannot fill dirs/huge";;
	esac

	# The entries both corpora have.  XFS keeps a 32-bit device number
	# with a 9-bit major (the kernel refuses more): major 511, minor
	# 262143 is the top.
	common_entries 511 262143

	# Symlinks: local (in the inode's literal area) and remote (in blocks
	# with a header: 1023 bytes take two blocks of 1k).
	for n in 1 50 100 300 336 337 600 1000 1023; do
		ln -s "$(printf "%0${n}d" 0 | tr 0 t)" "links/len-$n"
	done

	# Extended attributes.  Shortform: a few small ones in the inode.
	# Leaf: one attribute block.  Node: a dabtree over many leaves.
	# Remote values: anything bigger than about half a block, up to the
	# 64 KiB Linux allows.
	mkdir xattr
	: >xattr/shortform
	setfattr -n user.a -v 1 xattr/shortform
	setfattr -n user.b -v hello xattr/shortform
	# (Four 200-byte values with 1k blocks: more than a 1024-byte
	# inode's attribute fork holds, less than a 1k leaf block does.)
	: >xattr/leaf
	{
		echo "# file: xattr/leaf"
		i=0
		while [ $i -lt $((bs / 256)) ]; do
			echo "user.leaf-$i=\"$(printf '%0200d' $i)\""
			i=$((i + 1))
		done
	} | xattrs
	: >xattr/node
	# (1000 names: their list stays below the 64 KiB listxattr returns.)
	perl -e 'print "# file: xattr/node\n";
		printf "user.node-%05d-%s=\"value %d\"\n", $_, "x" x 9, $_ for 1 .. 1000' | xattrs
	: >xattr/remote
	{
		echo "# file: xattr/remote"
		for n in 1000 4000 20000 65536; do echo "user.remote-$n=$(b64value $n)"; done
		echo "user.small=\"small\""
	} | xattrs
	# Attribute forks in btree format: remote values set on two files in
	# turn, so each value's blocks are an extent of their own.
	: >xattr/btree-a && : >xattr/btree-b
	perl -e 'for my $i (1 .. 80) { for my $f ("a", "b") {
		printf "# file: xattr/btree-%s\nuser.remote-%03d=0s%s\n\n", $f, $i,
			substr("QUJDREVGR0g" x 300, 0, 2800) } }' | xattrs
	# Namespaces; names on a directory, a symlink, a device; POSIX ACLs.
	common_xattrs
	# A directory in btree form with a leaf attribute fork next to it.
	{
		echo "# file: dirs/btree"
		i=0
		while [ $i -lt 20 ]; do echo "trusted.dir-attr-$i=\"value $i\""; i=$((i + 1)); done
	} | xattrs

	# Timestamps (atime and mtime; ctime is the kernel's own): nanoseconds,
	# before 1970, the 32-bit edges, after 2038 (bigtime keeps them,
	# otherwise the kernel clamps them to 2038-01-19).
	mkdir time
	for spec in ns:1234567890.123456789 pre1970:-1000000000.000000001 \
		min32:-2147483648.5 y2038-before:2147483647.999999999 y2038-after:2147483648.000000001 \
		y2106:4294967296.5 y2200:7258118400.000000042 dir:1700000000.111111111 \
		link:1600000000.333333333; do
		f=${spec%%:*} t=${spec#*:}
		case $f in
		dir) mkdir time/dir;;
		link) ln -s ns time/link;;
		*) printf '%s\n' "$f" >"time/$f";;
		esac
		touch -h -d "@$t" "time/$f" || die "touch -d @$t failed"
	done

	printf 'blocksize %s dirblocksize %s\n' "$bs" "$dbs" >which
	setfattr -n user.root -v top .
	cd - >/dev/null
}

# ---- checks (xfs_db, independent of the kernel) ----

# db IMAGE COMMAND...: xfs_db read-only, one -c per argument.
db() {
	_img=$1
	shift
	for _c in "$@"; do printf '%s\0' -c "$_c"; done |
		TZ=UTC xargs -0 xfs_db -r "$_img" 2>/dev/null
}

# field IMAGE PATH FIELD: one inode field's value ("2 (extents)" -> 2).
field() {
	db "$1" "path $2" "print $3" | sed -n "s/^$3 = \([^ ]*\).*/\1/p"
}

# magic IMAGE PATH [a]dblock N: the magic of a directory/attribute block.
magic() {
	db "$1" "path $2" "$3 $4" print | sed -n 's/^[a-z.]*magic = \(0x[0-9a-f]*\).*/\1/p' | head -n 1
}

# dirform IMAGE PATH BLOCKSIZE: shortform, block, leaf or node-LEVEL,
# then /extents or /btree (the data fork's format).
dirform() {
	_fmt=$(field "$1" "$2" core.format)
	case $_fmt in
	1) echo shortform; return;;
	2) _fork=extents;;
	3) _fork=btree;;
	*) echo "unknown-format-$_fmt"; return;;
	esac
	# The hash index lives at 32 GiB in the directory's address space.
	_leaf=$((34359738368 / $3))
	case $(magic "$1" "$2" dblock 0) in
	0x58444233) echo "block/$_fork"; return;;	# XDB3
	esac
	case $(magic "$1" "$2" dblock $_leaf) in
	0x3df1) echo "leaf/$_fork";;
	0x3ebe) echo "node-$(db "$1" "path $2" "dblock $_leaf" print |
		sed -n 's/^nhdr\.level = //p')/$_fork";;
	*) echo "unknown/$_fork";;
	esac
}

# attrform IMAGE PATH: shortform, leaf or node (of the attribute fork),
# then /extents or /btree.
attrform() {
	case $(field "$1" "$2" core.aformat) in
	1) echo shortform; return;;
	2) _fork=extents;;
	3) _fork=btree;;
	*) echo unknown; return;;
	esac
	case $(magic "$1" "$2" ablock 0) in
	0x3bee) echo "leaf/$_fork";;
	0x3ebe) echo "node/$_fork";;
	*) echo "unknown/$_fork";;
	esac
}

# need IMAGE WHAT ACTUAL PATTERN: ACTUAL must match the shell PATTERN.
need() {
	# shellcheck disable=SC2254
	case $3 in
	$4) checked="$checked $2";;
	*) die "$(basename "$1"): no $2 (xfs_db says '$3', wanted '$4')";;
	esac
}

# has_unwritten IMAGE PATH: the file has an unwritten extent ("flag 1").
has_unwritten() {
	db "$1" "path $2" bmap | grep -q 'flag 1$'
}

# across_eof IMAGE PATH: "yes" if the file's last extent is unwritten and
# runs from before its last block to past it.
across_eof() {
	db "$1" "sb 0" "print blocksize" "path $2" "print core.size" "bmap -d" | awk '
		/^blocksize = / { bs = $3 }
		/^core.size = / { n = int(($3 + bs - 1) / bs) }
		/^data offset / { off = $3; count = $8; flag = $10 }
		END { print (flag == 1 && off < n && off + count > n) ? "yes" : "no" }'
}

verify() {
	img=$1 bs=$2 dbs=$3 huge=$4
	checked=
	sb=$(db "$img" "sb 0" print)
	# "versionnum [...] = V5,NLINK,...,FTYPE,FINOBT,...": the features.
	vers=,$(db "$img" version | sed -n 's/^versionnum .* = //p'),
	need "$img" v5 "$vers" "*,V5,*"
	need "$img" ftype "$vers" "*,FTYPE,*"
	need "$img" "blocksize-$bs" "$(echo "$sb" | sed -n 's/^blocksize = //p')" "$bs"
	need "$img" "dirblock-$dbs" "$(( $(echo "$sb" | sed -n 's/^blocksize = //p') << \
		$(echo "$sb" | sed -n 's/^dirblklog = //p') ))" "$dbs"
	for f in BIGTIME NREXT64 REFLINK RMAPBT FINOBT INOBTCNT SPARSE_INODES META_UUID; do
		case $vers in
		*,$f,*) features="$features $f";;
		esac
	done
	# The features this image is for: FEATURE or -FEATURE (absent).
	for f in $want; do
		case $f in
		-*) case $vers in *,${f#-},*) die "$(basename "$img"): has ${f#-}";; esac
			checked="$checked no-${f#-}";;
		*) need "$img" "$f" "$vers" "*,$f,*";;
		esac
	done
	need "$img" shortform-dir "$(dirform "$img" /dirs/shortform "$bs")" shortform
	need "$img" block-dir "$(dirform "$img" /dirs/block "$bs")" "block/extents"
	need "$img" leaf-dir "$(dirform "$img" /dirs/leaf "$bs")" "leaf/*"
	need "$img" node-dir "$(dirform "$img" /dirs/node "$bs")" "node-1/extents"
	need "$img" btree-dir "$(dirform "$img" /dirs/btree "$bs")" "*/btree"
	if [ "$huge" != no ]; then
		form=$(dirform "$img" /dirs/huge "$bs")
		need "$img" huge-node-dir-btree "$form" "node-*/btree"
		[ "$huge" != 2level ] || need "$img" node-dir-2-levels "$form" "node-[2-9]*"
	fi
	need "$img" extents-file "$(field "$img" /files/five-extents core.format)" 2
	need "$img" five-extents "$(field "$img" /files/five-extents core.nextents)" 5
	need "$img" btree-file "$(field "$img" /files/interleaved-a core.format)" 3
	need "$img" bmbt-depth-2 "$(field "$img" /files/depth-2 u3.bmbt.level)" "[2-9]"
	has_unwritten "$img" /prealloc/unwritten && has_unwritten "$img" /prealloc/partly-written &&
		has_unwritten "$img" /prealloc/beyond-eof ||
		die "$(basename "$img"): no unwritten extents in prealloc/"
	checked="$checked unwritten-extents"
	need "$img" split-unwritten "$(db "$img" "path /prealloc/partly-written" bmap |
		sed -n 's/.*flag //p' | tr -d '\n')" 101
	need "$img" unwritten-across-eof "$(across_eof "$img" /prealloc/across-eof) $(across_eof \
		"$img" /prealloc/written-across-eof)" "yes yes"
	need "$img" beyond-4GiB "$(field "$img" /sparse/beyond-4g core.size)" 4303363904
	need "$img" local-symlink "$(field "$img" /links/len-300 core.format)" 1
	need "$img" remote-symlink "$(field "$img" /links/len-1023 core.format)" 2
	[ "$bs" -ne 1024 ] ||
		need "$img" two-block-symlink "$(field "$img" /links/len-1023 core.nblocks)" 2
	need "$img" shortform-xattrs "$(attrform "$img" /xattr/shortform)" shortform
	need "$img" leaf-xattrs "$(attrform "$img" /xattr/leaf)" "leaf/*"
	need "$img" node-xattrs "$(attrform "$img" /xattr/node)" "node/*"
	need "$img" btree-xattrs "$(attrform "$img" /xattr/btree-a)" "node/btree"
	need "$img" remote-xattr-values "$(magic "$img" /xattr/remote ablock 1)" 0x5841524d
	need "$img" acl "$(attrform "$img" /acl/file)" shortform
	need "$img" uid-70000 "$(field "$img" /owner/big core.uid)" 70000
	need "$img" ns-timestamps "$(field "$img" /time/ns core.mtime.nsec)" 123456789
	need "$img" pre-1970 "$(db "$img" "path /time/pre1970" "print core.mtime.sec")" "*1938*"
	case $features in
	*BIGTIME*)
		need "$img" post-2038 "$(db "$img" "path /time/y2200" "print core.mtime.sec")" "*2200*";;
	*)	# without bigtime the kernel clamps to the last 32-bit second
		need "$img" clamped-2038 "$(db "$img" "path /time/y2200" "print core.mtime.sec")" \
			"*Jan 19 03:14:07 2038";;
	esac
	# major 511, minor 262143: the sysv encoding, major << 18 | minor
	need "$img" device-511-262143 "$(field "$img" /special/big-numbers u3.dev)" 0x7ffffff
	need "$img" hard-links "$(field "$img" /hard/one/file core.nlinkv2)" 3
	case $features in
	*REFLINK*)
		a=$(db "$img" "path /reflink/original" bmap | sed -n '1s/.*startblock \([0-9]*\).*/\1/p')
		b=$(db "$img" "path /reflink/clone" bmap | sed -n '1s/.*startblock \([0-9]*\).*/\1/p')
		need "$img" reflinked-file "$b" "${a:-none}";;
	esac
}

# ---- the images ----

# mkimage NAME BLOCKSIZE HUGE FEATURES MKFS-OPTIONS...: HUGE is no, yes
# (30000 names) or 2level (200000 names); FEATURES the ones the image must
# have, and with a '-' must not have (as xfs_db's version command says).
mkimage() {
	name=$1 bs=$2 huge=$3 want=$4
	shift 4
	img=$OUT/$name.img
	rm -f "$img"
	truncate -s 300M "$img"
	mkfs.xfs -q -f -b size="$bs" -L "$(printf %.12s "$name")" "$@" "$img" >"$TEST_TMP/mkfs.log" 2>&1 ||
		die "mkfs.xfs $* failed for $name: $(cat "$TEST_TMP/mkfs.log")"
	dbs=$(( bs << $(db "$img" "sb 0" "print dirblklog" | sed 's/.*= //') ))
	mnt=$TEST_TMP/rw
	mkdir -p "$mnt"
	mount -t xfs -o loop "$img" "$mnt" || die "cannot loop-mount $name read-write"
	(populate "$mnt" "$bs" "$dbs" "$huge") || { umount "$mnt"; die "populating $name failed"; }
	umount "$mnt" || die "cannot unmount $mnt"
	xfs_repair -n "$img" >"$TEST_TMP/repair.log" 2>&1 ||
		die "$name is not clean: $(tail -n 20 "$TEST_TMP/repair.log")"
	case $name in
	*meta_uuid*)
		# A new UUID on a v5 filesystem sets the meta_uuid feature: the
		# metadata keeps stamping the old one.
		xfs_admin -U generate "$img" >/dev/null 2>&1 || die "xfs_admin -U failed on $name";;
	esac
	features=
	verify "$img" "$bs" "$dbs" "$huge"
	forms=
	for p in shortform block leaf node btree huge; do
		[ "$p" != huge ] || [ "$huge" != no ] || continue
		forms="$forms $p:$(dirform "$img" "/dirs/$p" "$bs")($(field "$img" "/dirs/$p" core.nextents))"
	done
	for p in leaf node remote btree-a; do
		forms="$forms xattr/$p:$(attrform "$img" "/xattr/$p")($(field "$img" "/xattr/$p" core.naextents))"
	done
	forms="$forms depth-2:$(field "$img" /files/depth-2 core.nextents)"
	printf '%s: %s-byte blocks, %s-byte directory blocks, %s KiB used; features:%s\n  verified:%s\n  forms (extents):%s\n' \
		"$name.img" "$bs" "$dbs" "$(du -k "$img" | cut -f1)" "$features" "$checked" "$forms"
}

#       name   block huge   features / mkfs.xfs options
mkimage xfs-4k 4096  yes    "BIGTIME REFLINK RMAPBT FINOBT INOBTCNT SPARSE_INODES -NREXT64" \
	-m rmapbt=1
mkimage xfs-1k 1024  no     "BIGTIME REFLINK RMAPBT FINOBT INOBTCNT SPARSE_INODES NREXT64" \
	-m rmapbt=1 -i nrext64=1
mkimage xfs-4k-old-i1k-meta_uuid 4096 2level \
	"META_UUID -BIGTIME -REFLINK -RMAPBT -FINOBT -INOBTCNT -SPARSE_INODES -NREXT64" \
	-m bigtime=0,inobtcount=0,finobt=0,reflink=0,rmapbt=0 -i sparse=0,size=1024

# ---- a disk image with a partition table ----

# GPT: partition 1 is an ext4 decoy, 2 the XFS to find (300 MiB, the
# least mkfs.xfs makes; the disk is sparse).
disk=$OUT/gpt-xfs.img
rm -f "$disk" "$disk.parts"
truncate -s 320M "$disk"
printf 'label: gpt\n%s\n%s\n' "start=2048, size=8192, type=linux, name=decoy" \
	"start=10240, size=622592, type=linux, name=target" |
	sfdisk -q "$disk" >/dev/null || die "sfdisk (gpt) failed"
part=$TEST_TMP/part.img
set -- $(part_range "$disk" 1)
[ $# -eq 2 ] || die "no partition 1 in $disk"
rm -rf "$TEST_TMP/decoy" && small_tree "$TEST_TMP/decoy" "gpt partition 1 (decoy)"
rm -f "$part" && truncate -s $(($2 * 512)) "$part"
mke2fs -q -F -t ext4 -d "$TEST_TMP/decoy" "$part" >"$TEST_TMP/mke2fs.log" 2>&1 ||
	die "mke2fs for the decoy failed: $(cat "$TEST_TMP/mke2fs.log")"
dd if="$part" of="$disk" bs=512 seek="$1" conv=notrunc,sparse status=none ||
	die "cannot copy the decoy"
set -- $(part_range "$disk" 2)
[ $# -eq 2 ] || die "no partition 2 in $disk"
rm -f "$part" && truncate -s $(($2 * 512)) "$part"
mkfs.xfs -q -f -L gpt-xfs "$part" >"$TEST_TMP/mkfs.log" 2>&1 ||
	die "mkfs.xfs for partition 2 failed: $(cat "$TEST_TMP/mkfs.log")"
mnt=$TEST_TMP/rw
mount -t xfs -o loop "$part" "$mnt" || die "cannot loop-mount partition 2 read-write"
(small_tree "$mnt" "gpt partition 2") || { umount "$mnt"; die "populating partition 2 failed"; }
umount "$mnt" || die "cannot unmount $mnt"
xfs_repair -n "$part" >"$TEST_TMP/repair.log" 2>&1 ||
	die "partition 2 is not clean: $(tail -n 20 "$TEST_TMP/repair.log")"
dd if="$part" of="$disk" bs=512 seek="$1" conv=notrunc,sparse status=none ||
	die "cannot copy partition 2"
rm -f "$part"
echo "2 $(($1 * 512)) $(($2 * 512))" >>"$disk.parts"
printf '%s: GPT disk; partitions (number offset size): %s\n' "$(basename "$disk")" \
	"$(tr '\n' ';' <"$disk.parts")"
