# SPDX-License-Identifier: GPL-2.0-or-later
# tests/compare-lib.sh: a corpus compared with the kernel's own driver,
# image by image (ext4-compare.sh, xfs-compare.sh, and with a
# compare_mount of its own ext4-compare-rootless.sh).  Sourced after
# lib.sh.
#
# The test defines
#   ref_mount IMAGE DIR [OPTS]   the kernel's read-only mount: the truth
#   mount_b IMAGE DIR [partition=N|offset=BYTES]
#                                the side under test if $impl is neither
#                                imgfs nor kernel; 77: it cannot
# and sets $impl and $cmp_opts (treecmp's options).  REF_LOOP_GRACE gives
# loop devices that many tenths of a second to go before the leftover
# check (default 0).  Or it defines a compare_mount of its own, which
# compare_corpus then calls (ext4-compare-rootless.sh).
#
#   get_corpus DIR MKCORPUS  sets $corpus: DIR (images the caller made),
#                        or, DIR empty, the build tree's corpus MKCORPUS
#                        makes (once, for every test that wants it)
#   compare_mount DESC IMAGE KERNEL-OPTS B-OPTS   one test line
#   verdict DESC [LEFTOVERS]   the test line for the file $problems
#   compare_corpus DIR [WORD]   one line per image (per partition, both
#                        ways, for an image with an IMAGE.parts list);
#                        WORD goes before what each line compares

cleanup_mounts() {
	for m in $(mounts_under "$TEST_TMP"); do
		unmount "$m"
	done
}

# get_corpus DIR MKCORPUS: one test line for the build tree's corpus
# MKCORPUS makes (tests/corpus-xfs/ for mkcorpus-xfs.sh), with what it
# verified as diagnostics; none for a DIR given.  The corpus is made once
# per build tree (or in IMGFS_CORPUS_CACHE, a directory another tree's
# tests share): tests running side by side take turns at a lock, the
# first makes it, the others wait and use it.  A stamp marks it complete:
# one without (a killed run), or older than MKCORPUS or corpus-lib.sh, is
# made again.  $corpus is $TEST_TMP/corpus, a copy of it (sparse, or
# reflinked where the filesystem can; it takes a second): files of the
# test's own, for what lib.sh tracks as the test's (loop devices, servers:
# mount -o loop would share one loop device between tests mounting one
# file, even through a hard link), and that stay as they were should the
# corpus be made again meanwhile.  The images are inputs: a test that
# changes one changes a copy of it.
get_corpus() {
	corpus=$1
	[ -z "$corpus" ] || return 0
	corpus=$TEST_TMP/corpus
	_name=$(basename "$2" .sh)
	_shared=${IMGFS_CORPUS_CACHE:-$top_builddir/tests}/${_name#mk}
	_stamp=$_shared/.complete
	command -v flock >/dev/null 2>&1 || bail_out "needs flock (util-linux) to share the corpus"
	exec 9>"$_shared.lock" && bounded 1200 flock 9 ||
		bail_out "cannot lock $_shared.lock"
	if [ -e "$_stamp" ] && [ ! "$2" -nt "$_stamp" ] &&
		[ ! "$top_srcdir/tests/corpus-lib.sh" -nt "$_stamp" ]; then
		_desc="corpus generated (by an earlier test)"
	else
		_desc="corpus generated"
		rm -rf "$_shared" && mkdir -p "$_shared" || bail_out "cannot create $_shared"
		# (The lock is not the corpus script's to hold.)
		if bounded 600 env TMPDIR="$TEST_TMP" sh "$2" "$_shared" \
			>"$_shared/corpus.log" 2>&1 9>&-; then
			# Readable by the rootless tests' users.
			chmod -R a+rX "$_shared" && touch "$_stamp"
		fi
	fi
	[ -e "$_stamp" ] && cp -a --reflink=auto --sparse=always "$_shared" "$corpus"
	_rc=$?
	exec 9>&-
	if [ $_rc -eq 0 ]; then
		ok "$_desc"
		diag_file "$_shared/corpus.log" 100
	else
		not_ok "$_desc"
		diag_file "$_shared/corpus.log" 100
		bail_out "no corpus"
	fi
}

# b_mount IMAGE DIR [partition=N|offset=BYTES]: the side under test;
# the kernel against itself (as the reference mounts it: $kopts) knows no
# partition=, 77.
b_mount() {
	case $impl in
	imgfs) imgfs_mount "$@";;
	kernel)
		case ${3:-} in
		partition=*) return 77;;
		*) ref_mount "$1" "$2" "$kopts";;
		esac;;
	*) mount_b "$@";;
	esac
}

# The kernel mount is the reference; the B mount must be the right type,
# read-only, identical, and gone without a trace once unmounted.
compare_mount() {
	desc=$1 img=$2 kopts=$3 bopts=$4
	kdir=$TEST_TMP/kernel bdir=$TEST_TMP/b-$impl
	problems=$TEST_TMP/problems
	: >"$problems"
	if ! ref_mount "$img" "$kdir" "$kopts" 2>"$TEST_TMP/mount.err"; then
		not_ok "$desc"
		diag "the kernel cannot mount it (test bug):"
		diag_file "$TEST_TMP/mount.err"
		return
	fi
	b_mount "$img" "$bdir" $bopts >"$TEST_TMP/mount.err" 2>&1
	rc=$?
	if [ $rc -eq 77 ]; then
		unmount "$kdir"
		skip "$desc" "$impl cannot mount with $bopts"
		return
	elif [ $rc -ne 0 ]; then
		echo "$impl mount failed (exit $rc):" >>"$problems"
		sed 's/^/  /' "$TEST_TMP/mount.err" >>"$problems"
	else
		type=$(fs_type "$bdir")
		if [ "$impl" = imgfs ] && [ "$type" != fuse.imgfs ]; then
			echo "mountinfo type is '$type', not fuse.imgfs" >>"$problems"
		fi
		case ",$(findmnt -n -o OPTIONS --mountpoint "$bdir" | tail -n 1)," in
		*,ro,*) ;;
		*) echo "not mounted read-only: $(findmnt -n -o OPTIONS --mountpoint "$bdir")" >>"$problems";;
		esac
		# The superblock too: a read-only one has no atimes to refresh.
		case ",$(findmnt -n -o FS-OPTIONS --mountpoint "$bdir" | tail -n 1)," in
		*,ro,*) ;;
		*) echo "superblock not read-only: $(findmnt -n -o FS-OPTIONS --mountpoint "$bdir")" >>"$problems";;
		esac
		bounded 600 "$TREECMP" $cmp_opts "$kdir" "$bdir" >"$TEST_TMP/treecmp.out" 2>&1
		rc=$?
		if [ $rc -ne 0 ]; then
			echo "treecmp kernel vs $impl: exit $rc" >>"$problems"
			cat "$TEST_TMP/treecmp.out" >>"$problems"
		else
			diag "$desc: $(tail -n 1 "$TEST_TMP/treecmp.out")"
		fi
		# imgfs-mount -u here; lookup-scale.sh uses plain umount.
		if [ "$impl" = imgfs ]; then
			imgfs_unmount "$bdir" >"$TEST_TMP/umount.err" 2>&1 ||
				{ echo "imgfs-mount -u failed:"; cat "$TEST_TMP/umount.err"; } >>"$problems"
			[ -z "$(mounts_under "$bdir")" ] ||
				echo "still mounted after imgfs-mount -u" >>"$problems"
		fi
		if [ -n "$(mounts_under "$bdir")" ] && ! unmount "$bdir"; then
			echo "cannot unmount the $impl mount" >>"$problems"
		fi
	fi
	unmount "$kdir" || echo "cannot unmount the kernel mount" >>"$problems"
	i=0
	while [ -n "$(our_loops)" ] && [ $i -lt "${REF_LOOP_GRACE:-0}" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	# The server must go away by itself once unmounted.
	verdict "$desc"
}

# verdict DESC [LEFTOVERS]: ok if the file $problems is empty once what
# LEFTOVERS (default: leftovers) still reports after a while is added.
verdict() {
	settled_leftovers ${2:-} >>"$problems"
	if [ -s "$problems" ]; then
		not_ok "$1"
		diag_file "$problems" 70
		# Do not let one image's leftovers be blamed on the next.
		cleanup_mounts
	else
		ok "$1"
	fi
}

compare_corpus() {
	pre=${2:+$2 }
	for img in "$1"/*.img; do
		[ -e "$img" ] || bail_out "no images in $1"
		name=$(basename "$img")
		if [ ! -e "$img.parts" ]; then
			compare_mount "$name: $pre$impl equals the kernel" "$img" "" ""
			continue
		fi
		while read -r num off size; do
			compare_mount "$name: ${pre}partition=$num equals the kernel at offset $off" \
				"$img" "offset=$off,sizelimit=$size" "partition=$num"
			compare_mount "$name: ${pre}offset=$off equals the kernel" \
				"$img" "offset=$off,sizelimit=$size" "offset=$off"
		done <"$img.parts"
	done
}
