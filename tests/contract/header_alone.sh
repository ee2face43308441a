#!/usr/bin/env bash
# header_alone.sh INCLUDE-DIR HEADER [COMPILER...]: the public header
# INCLUDE-DIR/HEADER (e.g. pixshare/camera.h) compiles alone, included twice
# (its include guard), in C11 with each C compiler and in C++17 with each C++
# compiler, warnings as errors. A program may include any one header first.
# COMPILER is c:PATH or c++:PATH. A header that declares functions wraps them
# in extern "C", or a C++ program links to mangled names that do not exist.
# Skips (77) only where the machine lacks a third-party header that the
# header includes (Vulkan's, EGL's, GLES'): pixshare builds without them.
set -euo pipefail
incdir=$1 header=$2
shift 2
[ -f "$incdir/$header" ] || { echo "FAIL: $incdir/$header does not exist"; exit 1; }
[ $# -gt 0 ] || { echo "FAIL: no compiler given to check $header with"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '#include <%s>\n#include <%s>\n' "$header" "$header" >"$tmp/tu.c"
cp "$tmp/tu.c" "$tmp/tu.cpp"
warn=(-Wall -Wextra -Wpedantic -Werror -Wundef -Wshadow)
failed=0
for c in "$@"; do
	lang=${c%%:*} cc=${c#*:}
	case $lang in
	c) args=(-std=c11 "${warn[@]}" -Wstrict-prototypes -Wmissing-prototypes -x c "$tmp/tu.c")
	   what="C11" ;;
	c++) args=(-std=c++17 "${warn[@]}" -x c++ "$tmp/tu.cpp")
	     what="C++17" ;;
	*) echo "FAIL: compiler '$c' is neither c:PATH nor c++:PATH"; exit 1 ;;
	esac
	if out=$("$cc" -I"$incdir" "${args[@]}" -c -o "$tmp/tu.o" 2>&1); then
		echo "ok: $header alone as $what with $(basename "$cc")"
		continue
	fi
	# gcc: "fatal error: vulkan/vulkan.h: No such file or directory";
	# clang: "fatal error: 'vulkan/vulkan.h' file not found".
	missing=$(sed -nE -e "s/.*fatal error: ((vulkan|EGL|GLES[23]?|KHR)\/[^:]+): No such file.*/\1/p" \
		-e "s/.*fatal error: '((vulkan|EGL|GLES[23]?|KHR)\/[^']+)' file not found.*/\1/p" <<<"$out" |
		head -1)
	if [ -n "$missing" ]; then
		echo "SKIP: <$header> needs <$missing>, which this machine lacks"
		exit 77
	fi
	echo "FAIL: include/$header does not compile alone as $what with $(basename "$cc")" \
		"(a file that has only #include <$header>, twice):"
	echo "  $cc -I$incdir ${args[*]/#$tmp\//} -c"
	sed 's/^/  /' <<<"$out"
	failed=1
done

if grep -q '^PX_API' "$incdir/$header" && ! grep -q 'extern "C"' "$incdir/$header"; then
	echo "FAIL: include/$header declares functions (PX_API) without extern \"C\" for C++"
	failed=1
fi
exit $failed
