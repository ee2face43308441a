#!/usr/bin/env bash
# abi.sh dump LIB HEADERS OUT: the ABI of the shared library LIB, as abidw
#   (libabigail) reads it from LIB's debug information: its exported
#   functions and the types they reach that HEADERS (include/pixshare)
#   declares, written to OUT without source paths, so that a gcc build
#   anywhere, Debug or RelWithDebInfo, gives the same dump (clang's differs
#   in its units' language only, which abidiff does not compare).
# abi.sh check LIB HEADERS DUMP BUILD: LIB's ABI against DUMP, the committed
#   pixshare.abixml, by abidiff; BUILD is the build directory, named in the fix.
# abidiff sees what the symbol list cannot: a function's parameters or return
# type, a struct's members and size, an enumerator's value.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

dump() {
	local lib=$1 headers=$2 out=$3
	[ -f "$lib" ] || { echo "FAIL: no library at $lib" >&2; exit 1; }
	[ -d "$headers" ] || { echo "FAIL: no header directory at $headers" >&2; exit 1; }
	# Hash type ids: a type added or changed moves no other's id, so a
	# regenerated dump differs from the last only where the ABI does.
	abidw --headers-dir "$headers" --drop-private-types --exported-interfaces-only \
		--drop-undefined-syms --no-corpus-path --no-comp-dir-path --no-show-locs \
		--no-elf-needed --type-id-style hash --out-file "$out" "$lib"
	grep -q '<function-decl' "$out" || {
		echo "FAIL: abidw found no function in $lib's debug information (built without -g?)" >&2
		exit 1
	}
	# Each translation unit is named by its absolute path: keep it relative
	# to the source tree, which abidiff does not compare, but a diff would.
	local src
	src=$(cd "$headers/../.." && pwd)
	sed -i "s|path='$src/|path='|" "$out"
}

case ${1:-} in
dump)
	[ $# -eq 4 ] || { echo "usage: abi.sh dump LIB HEADERS OUT" >&2; exit 2; }
	command -v abidw >/dev/null || {
		echo "abi.sh: abidw not found: install abigail-tools (scripts/setup does)" >&2
		exit 1
	}
	dump "$2" "$3" "$4"
	;;
check)
	[ $# -eq 5 ] || { echo "usage: abi.sh check LIB HEADERS DUMP BUILD" >&2; exit 2; }
	lib=$2 headers=$3 committed=$4 build=$5
	if ! command -v abidw >/dev/null || ! command -v abidiff >/dev/null; then
		echo "SKIP: abidw and abidiff not installed (Debian: abigail-tools; scripts/setup installs it)"
		exit 77
	fi
	[ -f "$committed" ] || { echo "FAIL: no committed ABI dump at $committed"; exit 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	dump "$lib" "$headers" "$tmp/now.abixml"
	rc=0
	# abidiff's status is a bit set: 1 error, 2 usage, 4 ABI change,
	# 8 incompatible change (a symbol removed).
	abidiff "$committed" "$tmp/now.abixml" >"$tmp/diff" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then
		echo "abi: $(basename "$lib") has the ABI of $(basename "$committed")" \
			"($(grep -c '<elf-symbol' "$committed") symbols)"
		exit 0
	fi
	if [ $((rc & 3)) -ne 0 ]; then
		echo "FAIL: abidiff could not compare $committed with $(basename "$lib")'s ABI (status $rc):"
		sed 's/^/  /' "$tmp/diff"
		exit 1
	fi
	if [ $((rc & 8)) -ne 0 ]; then
		echo "FAIL: ABI BREAK: abidiff finds an incompatible change from $committed (a function" \
			"or variable removed, or the SONAME changed): programs built against an earlier" \
			"build fail to load with $(basename "$lib"):"
	else
		echo "FAIL: $(basename "$lib")'s ABI differs from $committed. A change to an existing" \
			"function's parameters or return type, or to the members of a struct that is not" \
			"size-versioned, breaks programs built against an earlier build (abidiff does not" \
			"tell these apart from compatible changes); a new function, or members appended to" \
			"a size-versioned struct, does not:"
	fi
	sed 's/^/  /' "$tmp/diff"
	echo "If the change is meant: $here/update-exports $build, and commit" \
		"pixshare.symbols and pixshare.abixml with it."
	exit 1
	;;
*)
	echo "usage: abi.sh dump LIB HEADERS OUT | abi.sh check LIB HEADERS DUMP BUILD" >&2
	exit 2
	;;
esac
