#!/usr/bin/env bash
# build_tree.sh pkgconfig|cmake BUILD SRC: builds examples/publisher.c against
# the build tree BUILD, uninstalled, as a user of a checkout would, and runs
# it for a few frames:
#   pkgconfig  PKG_CONFIG_PATH=BUILD pkg-config --cflags --libs pixshare, which
#              must read BUILD/pixshare-uninstalled.pc; the program finds the
#              library by the rpath that file gives, without LD_LIBRARY_PATH
#   cmake      find_package(pixshare) with -Dpixshare_DIR=BUILD, linking
#              pixshare::pixshare and pixshare::pixshare_static; and with
#              CMAKE_PREFIX_PATH=BUILD, which must find the same package
set -euo pipefail
how=$1 build=$(cd "$2" && pwd) src=$(cd "$3" && pwd)
tmp=$(mktemp -d)
export PIXSHARE_DIR=$tmp/topics
mkdir "$PIXSHARE_DIR"
trap 'rm -rf "$tmp"' EXIT
unset LD_LIBRARY_PATH

# run NAME PROGRAM: runs the example publisher for 3 frames; it must exit 0
# and use the build tree's shared library (none, for a static link).
run() {
	local name=$1 prog=$2
	local lib
	lib=$(ldd "$prog" | awk '$1 ~ /^libpixshare\.so/ {print $3}')
	case $name in
	*static*)
		[ -z "$lib" ] || { echo "FAIL: $name links libpixshare.so ($lib), not the static library"; exit 1; } ;;
	*)
		[ -n "$lib" ] || { echo "FAIL: $name does not link libpixshare.so:"; ldd "$prog"; exit 1; }
		[ "$(readlink -f "$lib")" = "$(readlink -f "$build/libpixshare.so")" ] || {
			echo "FAIL: $name loads $lib, not the build tree's $(readlink -f "$build/libpixshare.so")"
			ldd "$prog"
			exit 1
		} ;;
	esac
	"$prog" "contract-$name" 3 || { echo "FAIL: $name (examples/publisher.c) exited with $?"; exit 1; }
	echo "ok: $name ran 3 frames${lib:+ on $lib}"
}

case $how in
pkgconfig)
	[ -f "$build/pixshare-uninstalled.pc" ] || { echo "FAIL: no $build/pixshare-uninstalled.pc"; exit 1; }
	export PKG_CONFIG_PATH=$build
	pkg-config --uninstalled pixshare || {
		echo "FAIL: PKG_CONFIG_PATH=$build pkg-config did not read pixshare-uninstalled.pc"
		exit 1
	}
	read -ra flags <<<"$(pkg-config --cflags --libs pixshare)"
	[[ " ${flags[*]} " == *" -I$src/include "* ]] || {
		echo "FAIL: pkg-config's flags do not name the source headers $src/include: ${flags[*]}"
		exit 1
	}
	echo "PKG_CONFIG_PATH=$build pkg-config --cflags --libs pixshare: ${flags[*]}"
	${CC:-cc} -std=c11 -Wall -Wextra -Werror "$src/examples/publisher.c" -o "$tmp/publisher" \
		"${flags[@]}" || { echo "FAIL: examples/publisher.c does not build with those flags"; exit 1; }
	run publisher-pkgconfig "$tmp/publisher"
	;;
cmake)
	[ -f "$build/pixshareConfig.cmake" ] || { echo "FAIL: no $build/pixshareConfig.cmake"; exit 1; }
	# The version this build is, as major.minor: the package must accept it.
	version=$(sed -nE 's/^set\(PACKAGE_VERSION "([0-9]+\.[0-9]+)\..*"\)$/\1/p' \
		"$build/pixshareConfigVersion.cmake")
	[ -n "$version" ] || { echo "FAIL: no PACKAGE_VERSION in $build/pixshareConfigVersion.cmake"; exit 1; }
	mkdir "$tmp/consumer"
	cat >"$tmp/consumer/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(pixshare $version REQUIRED)
message(STATUS "pixshare_DIR: \${pixshare_DIR}")
add_executable(publisher "$src/examples/publisher.c")
target_link_libraries(publisher PRIVATE pixshare::pixshare)
add_executable(publisher_static "$src/examples/publisher.c")
target_link_libraries(publisher_static PRIVATE pixshare::pixshare_static)
CM
	gen=()
	command -v ninja >/dev/null && gen=(-G Ninja)
	cmake -S "$tmp/consumer" -B "$tmp/b1" "${gen[@]}" -Dpixshare_DIR="$build" >"$tmp/b1.log" 2>&1 || {
		echo "FAIL: find_package(pixshare) with -Dpixshare_DIR=$build:"; cat "$tmp/b1.log"; exit 1
	}
	cmake --build "$tmp/b1" >"$tmp/b1-build.log" 2>&1 || {
		echo "FAIL: examples/publisher.c does not build against $build's CMake package:"
		cat "$tmp/b1-build.log"
		exit 1
	}
	run publisher-cmake "$tmp/b1/publisher"
	run publisher-cmake-static "$tmp/b1/publisher_static"
	cmake -S "$tmp/consumer" -B "$tmp/b2" "${gen[@]}" -DCMAKE_PREFIX_PATH="$build" >"$tmp/b2.log" 2>&1 || {
		echo "FAIL: find_package(pixshare) with CMAKE_PREFIX_PATH=$build:"; cat "$tmp/b2.log"; exit 1
	}
	found=$(sed -n 's/^-- pixshare_DIR: //p' "$tmp/b2.log")
	[ "$(readlink -f "$found")" = "$(readlink -f "$build")" ] || {
		echo "FAIL: with CMAKE_PREFIX_PATH=$build, find_package(pixshare) found '$found', not $build"
		exit 1
	}
	echo "ok: CMAKE_PREFIX_PATH=$build finds $found"
	;;
*)
	echo "usage: build_tree.sh pkgconfig|cmake BUILD SRC" >&2
	exit 2
	;;
esac
