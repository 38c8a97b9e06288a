# SPDX-License-Identifier: GPL-2.0-or-later
# tests/inspect-lib.sh: reading imgfs-inspect's output, for the tests that
# hold it against another tool's view of the same image (inspect.sh:
# e2fsprogs; inspect-xfs.sh: xfs_db).  Sourced after lib.sh; the test sets
# TRUTH, the other tool's name, for the diagnostics.
#
#   inspect ARGS...          imgfs-inspect, stdout in $OUT, stderr in $ERR
#   field KEY FILE           a "Key:  value" line about the filesystem
#   pfield KEY FILE          the same about the first PATH shown
#   imgfs_extents FILE       non-hole rows: "FIRST LAST PFIRST PLAST U|-"
#   imgfs_blockmap FILE      every block of every row: "LOGICAL PHYSICAL|0"
#   same DESC WANT GOT       a test line: two files are equal, else a diff
#   is DESC WANT GOT         a test line: two strings are equal
#   one_line_error DESC STATUS REGEX ARGS...
#                            imgfs-inspect ARGS fails with STATUS and one
#                            line "imgfs-inspect: REGEX" on stderr
#   missing_among_others IMAGE PATH1 N1 PATH2 N2
#                            a test line: imgfs-inspect IMAGE PATH1 /nope
#                            PATH2 shows N1 and N2 extents, exit 1

T=$TEST_TMP
OUT=$T/out
ERR=$T/err

# inspect ARGS...: run it with stdout in $OUT and stderr in $ERR.
inspect() {
	"$IMGFS_INSPECT" "$@" >"$OUT" 2>"$ERR"
}

# field KEY FILE: the value of a "Key:  value" line about the filesystem.
field() {
	sed -n "s/^$1: *//p" "$2" | head -n 1 | sed 's/ *$//'
}

# pfield KEY FILE: the same about the first PATH (those lines are indented).
pfield() {
	sed -n "s/^  $1: *//p" "$2" | head -n 1 | sed 's/ *$//'
}

# imgfs_extents FILE: non-hole mapping rows, "first-logical last-logical
# first-physical last-physical U|-" (U: unwritten).
imgfs_extents() {
	awk '$1 ~ /^[0-9]+$/ && $2 ~ /\.\./ {
		split($2, l, /\.\./); split($3, p, /\.\./)
		print l[1], l[2], p[1], p[2], ($5 ~ /(^|,)unwritten(,|$)/ ? "U" : "-")
	}' "$1"
}

# imgfs_blockmap FILE: every block of every row (holes too), "logical
# physical", 0 for a hole.
imgfs_blockmap() {
	awk '($1 ~ /^[0-9]+$/ || $1 == "-") && $2 ~ /\.\./ {
		split($2, l, /\.\./); split($3, p, /\.\./)
		for (b = l[1]; b <= l[2]; b++)
			print b, ($3 == "-" ? 0 : p[1] + b - l[1])
	}' "$1"
}

# same DESC WANT-FILE GOT-FILE: a test line; a diff when they differ.
same() {
	if [ -s "$2" ] && cmp -s "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1"
		diag "${TRUTH:-the truth} (-) vs imgfs-inspect (+):"
		diff -u "$2" "$3" | sed -n '3,40s/^/# /p'
	fi
}

# is DESC WANT GOT
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "want: '$2'" "got:  '$3'"
	fi
}

# one_line_error DESC STATUS WANT-REGEX ARGS...: fails with STATUS and
# exactly one line on stderr matching "^imgfs-inspect: WANT-REGEX$".
one_line_error() {
	_desc=$1 _want_rc=$2 _re=$3
	shift 3
	inspect "$@"
	_rc=$?
	if [ "$_rc" -eq "$_want_rc" ] && [ "$(wc -l <"$ERR")" -eq 1 ] &&
		grep -Eq "^imgfs-inspect: $_re\$" "$ERR"; then
		ok "$_desc"
	else
		not_ok "$_desc"
		diag "exit $_rc (want $_want_rc); stderr:"
		diag_file "$ERR"
	fi
}

# missing_among_others IMAGE PATH1 N1 PATH2 N2: a missing path between two
# others (of N1 and N2 extents, N1 being 1) is one error line, exit 1,
# and the others are shown all the same.
missing_among_others() {
	inspect "$1" "$2" /nope "$4"
	_rc=$?
	if [ $_rc -eq 1 ] && grep -qx "$2: $3 extent found" "$OUT" &&
		grep -qx "$4: $5 extents found" "$OUT" && [ "$(wc -l <"$ERR")" -eq 1 ]; then
		ok "a missing path among others: the others are shown, exit 1"
	else
		not_ok "a missing path among others: the others are shown, exit 1"
		diag "exit $_rc"
		diag_file "$ERR"
	fi
}
