#!/usr/bin/env bash
# symbols.sh list LIB: the dynamic symbols the shared library LIB defines,
#   one a line, sorted (with @VERSION where symbols are versioned).
# symbols.sh check LIB LIST BUILD: LIB's symbols against LIST, the committed
#   pixshare.symbols; BUILD is the build directory, named in the fix.
# A symbol gone from the list is an ABI break: programs linked against an
# earlier build no longer load. A new one is not, but must be committed, so
# that its removal later is caught.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

list() {
	[ -f "$1" ] || { echo "FAIL: no library at $1" >&2; exit 1; }
	nm -D --defined-only --format=posix "$1" | awk '{print $1}' | LC_ALL=C sort -u
}

case ${1:-} in
list)
	[ $# -eq 2 ] || { echo "usage: symbols.sh list LIB" >&2; exit 2; }
	list "$2"
	;;
check)
	[ $# -eq 4 ] || { echo "usage: symbols.sh check LIB LIST BUILD" >&2; exit 2; }
	lib=$2 committed=$3 build=$4
	[ -f "$committed" ] || { echo "FAIL: no committed symbol list at $committed"; exit 1; }
	actual=$(list "$lib")
	expected=$(LC_ALL=C sort -u "$committed")
	if [ "$expected" != "$(cat "$committed")" ] || grep -qv '^[A-Za-z_][A-Za-z0-9_@.]*$' "$committed"; then
		echo "FAIL: $committed is not one symbol a line, sorted (LC_ALL=C), without duplicates:"
		echo "  regenerate it with: $here/update-exports $build"
		exit 1
	fi
	removed=$(LC_ALL=C comm -23 <(echo "$expected") <(echo "$actual"))
	added=$(LC_ALL=C comm -13 <(echo "$expected") <(echo "$actual"))
	if [ -z "$removed" ] && [ -z "$added" ]; then
		echo "symbols: $(wc -l <<<"$actual") exported, as $(basename "$committed") lists"
		exit 0
	fi
	if [ -n "$removed" ]; then
		echo "FAIL: ABI BREAK: $(basename "$lib") no longer exports $(wc -l <<<"$removed")" \
			"symbol(s) that $committed lists; programs linked against an earlier" \
			"build fail to load:"
		sed 's/^/  - /' <<<"$removed"
		echo "  Keep them exported (a macro may now call a new symbol, but the old one" \
			"stays for programs already built), or, if the break is meant, change the" \
			"SOVERSION in the same commit (PX_SOVERSION: the minor version before 1.0," \
			"the major after)."
	fi
	if [ -n "$added" ]; then
		echo "FAIL: $(basename "$lib") exports $(wc -l <<<"$added") symbol(s) that $committed" \
			"does not list (new API, not a break; commit it so that its removal is caught):"
		sed 's/^/  + /' <<<"$added"
	fi
	echo "If the change is meant: $here/update-exports $build, and commit" \
		"pixshare.symbols and pixshare.abixml with it."
	exit 1
	;;
*)
	echo "usage: symbols.sh list LIB | symbols.sh check LIB LIST BUILD" >&2
	exit 2
	;;
esac
