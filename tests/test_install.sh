#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds a small program
# against it twice: with pkg-config and with find_package(pixshare). Checks
# that the shared library exports px_* symbols only.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
lib=$(find "$tmp/prefix" -name 'libpixshare.so.*.*' | head -1)
[ -n "$lib" ] || { echo "no shared library installed"; exit 1; }
for h in pixshare.h common.h layout.h publisher.h subscriber.h allocator.h testpattern.h; do
	[ -f "$tmp/prefix/include/pixshare/$h" ] || { echo "header $h not installed"; exit 1; }
done
[ -x "$tmp/prefix/bin/pixshare" ] || { echo "the pixshare tool is not installed"; exit 1; }

# Exported symbols: px_* only.
foreign=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^px_' | grep -v '^_\(init\|fini\)$' || true)
if [ -n "$foreign" ]; then
	echo "symbols exported without the px_ prefix:"; echo "$foreign"; exit 1
fi
echo "exports: $(nm -D --defined-only "$lib" | grep -c ' px_') px_* symbols, nothing else"

cat >"$tmp/consumer.c" <<'C'
#include <pixshare/pixshare.h>
#include <stdio.h>
int main(void)
{
	struct px_image_desc d = {PX_FORMAT_NV12, 64, 48};
	struct px_set_layout l;
	if (px_layout_init_packed(&l, 1, &d, 64, PX_PACK_PER_IMAGE))
		return 1;
	printf("pixshare %s: %llu bytes\n", px_version(), (unsigned long long)px_layout_slot_bytes(&l));
	return 0;
}
C
export PKG_CONFIG_PATH=$(dirname "$(find "$tmp/prefix" -name pixshare.pc)")
cc -std=c11 -Wall -Werror "$tmp/consumer.c" -o "$tmp/consumer-pc" $(pkg-config --cflags --libs pixshare)
LD_LIBRARY_PATH=$(dirname "$lib") "$tmp/consumer-pc"

mkdir "$tmp/cm"
cat >"$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(pixshare 0.1 REQUIRED)
add_executable(consumer ../consumer.c)
target_link_libraries(consumer PRIVATE pixshare::pixshare)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm/build" >/dev/null
"$tmp/cm/build/consumer"
echo "install: ok"
