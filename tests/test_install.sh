#!/usr/bin/env bash
# Installs the build into a temporary prefix, then checks what a user gets:
# every public header (the source tree's include/pixshare/*.h, found, not
# listed here) and only those, usable from the prefix alone in C11 and
# C++17; the shared library exporting px_* symbols only; the tool; and a C
# and a C++17 program built against the prefix, each with pkg-config and
# with find_package(pixshare).
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || {
	echo "FAIL: cmake --install $build --prefix $prefix:"; cat "$tmp/install.log"; exit 1
}
lib=$(find "$prefix" -name 'libpixshare.so.*.*' -type f | head -1)
[ -n "$lib" ] || { echo "FAIL: no shared library (libpixshare.so.X.Y.Z) installed"; exit 1; }
libdir=$(dirname "$lib")
[ -x "$prefix/bin/pixshare" ] || { echo "FAIL: the pixshare tool is not installed"; exit 1; }

# The headers: the installed set is the source tree's, file for file.
incdir=$prefix/include/pixshare
[ -d "$incdir" ] || { echo "FAIL: no $incdir"; exit 1; }
(cd "$src/include/pixshare" && find . -type f -name '*.h' | sort) >"$tmp/src-headers"
(cd "$incdir" && find . -type f | sort) >"$tmp/installed-headers"
missing=$(comm -23 "$tmp/src-headers" "$tmp/installed-headers")
extra=$(comm -13 "$tmp/src-headers" "$tmp/installed-headers")
[ -z "$missing" ] || { echo "FAIL: public headers not installed:"; echo "$missing"; exit 1; }
[ -z "$extra" ] || { echo "FAIL: installed into $incdir but not a public header:"; echo "$extra"; exit 1; }
while read -r h; do
	cmp -s "$src/include/pixshare/$h" "$incdir/$h" ||
		{ echo "FAIL: installed $h differs from include/pixshare/$h"; exit 1; }
	echo "#include <pixshare/${h#./}>" >>"$tmp/all.c"
done <"$tmp/src-headers"
cp "$tmp/all.c" "$tmp/all.cpp"
# All of them in one program, with only the prefix's include directory (a
# header that includes one not installed fails here).
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" -c "$tmp/all.c" -o "$tmp/all.o" ||
	{ echo "FAIL: the installed headers do not compile together in C11 from $prefix/include"; exit 1; }
g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" -c "$tmp/all.cpp" -o "$tmp/all.o" ||
	{ echo "FAIL: the installed headers do not compile together in C++17 from $prefix/include"; exit 1; }
echo "headers: $(wc -l <"$tmp/src-headers") installed, as include/pixshare has them; C11 and C++17"

# Exported symbols: px_* only.
foreign=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^px_' | grep -v '^_\(init\|fini\)$' || true)
if [ -n "$foreign" ]; then
	echo "FAIL: symbols exported without the px_ prefix:"; echo "$foreign"; exit 1
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
	printf("C consumer: pixshare %s: %llu bytes\n", px_version(),
	       (unsigned long long)px_layout_slot_bytes(&l));
	return 0;
}
C
# C++17: the size-versioned macros (px_publisher_create, _get_stats) and
# extern "C" linkage, through a publisher on a topic in $PIXSHARE_DIR.
cat >"$tmp/consumer.cpp" <<'CXX'
#include <pixshare/pixshare.h>
#include <cstdio>
int main()
{
	px_image_desc d = {PX_FORMAT_NV12, 64, 48};
	px_set_layout layout;
	if (px_layout_init_packed(&layout, 1, &d, 64, PX_PACK_PER_IMAGE))
		return 1;
	px_publisher_params params{};
	params.topic = "install-cxx";
	params.layout = &layout;
	px_publisher *pub = nullptr;
	int ret = px_publisher_create(&params, &pub);
	if (ret) {
		std::fprintf(stderr, "px_publisher_create: %s\n", px_strerror(ret));
		return 1;
	}
	px_slot *slot = nullptr;
	px_publisher_stats stats{};
	if (px_publisher_acquire(pub, 1000, &slot) || px_publisher_publish(pub, slot, nullptr) ||
	    px_publisher_get_stats(pub, &stats) || stats.published != 1) {
		std::fprintf(stderr, "publishing one frame failed\n");
		px_publisher_destroy(pub);
		return 1;
	}
	px_publisher_destroy(pub);
	std::printf("C++ consumer: pixshare %s: published %llu frame\n", px_version(),
		    static_cast<unsigned long long>(stats.published));
	return 0;
}
CXX
export PIXSHARE_DIR=$tmp/topics
mkdir "$PIXSHARE_DIR"

pc=$(find "$prefix" -name pixshare.pc)
[ -n "$pc" ] || { echo "FAIL: no pixshare.pc installed"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
read -ra flags <<<"$(pkg-config --cflags --libs pixshare)"
version=$(pkg-config --modversion pixshare)
cc -std=c11 -Wall -Wextra -Werror "$tmp/consumer.c" -o "$tmp/consumer-pc" "${flags[@]}" ||
	{ echo "FAIL: the C consumer does not build with pkg-config's flags: ${flags[*]}"; exit 1; }
g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror "$tmp/consumer.cpp" -o "$tmp/consumer-pc-cxx" \
	"${flags[@]}" ||
	{ echo "FAIL: the C++17 consumer does not build with pkg-config's flags: ${flags[*]}"; exit 1; }
LD_LIBRARY_PATH=$libdir "$tmp/consumer-pc" || { echo "FAIL: the C consumer (pkg-config) failed"; exit 1; }
LD_LIBRARY_PATH=$libdir "$tmp/consumer-pc-cxx" || { echo "FAIL: the C++17 consumer (pkg-config) failed"; exit 1; }

# find_package with this version (major.minor): the version file must accept it.
mkdir "$tmp/cm"
cat >"$tmp/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(consumer C CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
find_package(pixshare ${version%.*} REQUIRED)
add_executable(consumer ../consumer.c)
target_link_libraries(consumer PRIVATE pixshare::pixshare)
add_executable(consumer_cxx ../consumer.cpp)
target_compile_options(consumer_cxx PRIVATE -Wall -Wextra -Wpedantic -Werror)
target_link_libraries(consumer_cxx PRIVATE pixshare::pixshare)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cm.log" 2>&1 || {
	echo "FAIL: find_package(pixshare ${version%.*}) with CMAKE_PREFIX_PATH=$prefix:"
	cat "$tmp/cm.log"
	exit 1
}
cmake --build "$tmp/cm/build" >"$tmp/cm-build.log" 2>&1 || {
	echo "FAIL: the consumers do not build against the installed CMake package:"
	cat "$tmp/cm-build.log"
	exit 1
}
"$tmp/cm/build/consumer" || { echo "FAIL: the C consumer (find_package) failed"; exit 1; }
"$tmp/cm/build/consumer_cxx" || { echo "FAIL: the C++17 consumer (find_package) failed"; exit 1; }
echo "install: ok"
