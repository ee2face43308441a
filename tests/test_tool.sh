#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of the pixshare tool: a test-pattern publisher in the
# background, every subcommand against it, and bad command lines.
#
# usage: test_tool.sh PATH/TO/pixshare
set -euo pipefail

tool=${1:?usage: test_tool.sh PATH/TO/pixshare}
# shellcheck source=tests/tool_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/tool_lib.sh"

# gpu_tool ARG…: the tool for commands that load a Vulkan driver. In the
# sanitizer build, without LeakSanitizer's leak check: it cannot name the
# frames of lavapipe once the loader has unloaded it, so its leaks cannot be
# told from ours (on a fresh Debian 12 it reports 128 bytes realloc'd in an
# unknown module), as for test_vulkan (see tests/CMakeLists.txt).
gpu_tool() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$tool" "$@"
}

# wait_subscribers TOPIC N: until the topic's publisher serves N subscribers.
wait_subscribers() {
	for _ in $(seq 200); do
		"$tool" info "$1" 2>/dev/null | grep -q "subscribers:     $2 now" && return 0
		sleep 0.05
	done
	fail "topic $1 did not get $2 subscribers"
}

# Every fd a process opened itself is close-on-exec.
check_cloexec() {
	local pid=$1 what=$2 fd flags n=0
	for fd in /proc/"$pid"/fd/*; do
		fd=${fd##*/}
		((fd > 2)) || continue
		[[ $inherited != *" $fd "* ]] || continue
		flags=$(fd_flags "$pid" "$fd") || continue
		[[ -n $flags ]] || continue
		((8#$flags & 8#2000000)) ||
			fail "$what: fd $fd ($(readlink "/proc/$pid/fd/$fd")) is not close-on-exec"
		n=$((n + 1))
	done
	((n > 0)) || fail "$what: no fds found in /proc/$pid/fd"
	ok "$what: all $n fds it opened are close-on-exec"
}

# first_bytes FILE N: the first N bytes in hex, without spaces.
first_bytes() {
	od -An -tx1 -N"$2" "$1" | tr -d ' \n'
}

# --- help and version -------------------------------------------------------
expect_ok "$tool" --version
[[ $out =~ ^pixshare\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "--version printed '$out'"
expect_ok "$tool" help
[[ $out == *pub-test* && $out == *sub-test* ]] || fail "help lists no commands: $out"
expect_ok "$tool" --help
for cmd in list info hz delay pub-test save sub-test help; do
	expect_ok "$tool" "$cmd" --help
	[[ $out == "usage: pixshare $cmd"* ]] || fail "$cmd --help printed '$out'"
	expect_ok "$tool" help "$cmd"
done
ok "--version, help and every COMMAND --help"

expect_ok "$tool" list
[[ $out == "no topics"* ]] || fail "list of an empty directory printed '$out'"

# --- a publisher of 6 × 320x200 YUYV at 60 Hz --------------------------------
# Background publishers end by themselves should this script be killed.
start pub "$tool" pub-test cam --size 320x200 --format YUYV --images 6 --rate 60 --quiet \
	--duration 110
pub=${started[pub]}
wait_topic cam

expect_ok "$tool" list
line=$(grep '^cam ' <<<"$out") || fail "list does not show cam: $out"
[[ $line == *live* && $line == *"6× YUYV 320x200"* && $line == *memfd* ]] ||
	fail "list line for cam: '$line'"
[[ $line == *" $pub "* ]] || fail "list does not name the publisher's pid $pub: '$line'"
ok "list: $line"

expect_ok "$tool" info cam
for want in "publisher:   pid $pub" "allocator:   memfd" "access:      subscribers read only" "pool:" "6 images in 6 buffers" \
	"image 5: YUYV 320x200, modifier LINEAR" "plane 0: buffer 5, offset 0, stride 640" \
	"buffer 5: " "published:"; do
	[[ $out == *"$want"* ]] || fail "info cam lacks '$want': $out"
done
ok "info shows the layout, pool and stats"

expect_ok "$tool" hz cam --duration 2
rate=$(grep -o 'average rate: [0-9.]*' <<<"$out" | tail -n1 | awk '{ print $3 }')
[[ -n $rate ]] || fail "hz printed no rate: $out"
awk -v r="$rate" 'BEGIN { exit !(r >= 45 && r <= 75) }' || fail "hz: rate $rate Hz, not 45–75"
[[ $out == *"summary: "* && $out == *"drops: publisher"* ]] || fail "hz: no summary: $out"
ok "hz: $rate Hz"

expect_ok "$tool" delay cam --duration 2
for want in "p50: " "p90: " "p99: " "max: " "latency image timestamp → receive" \
	"pixel timestamp: available" "drops: "; do
	[[ $out == *"$want"* ]] || fail "delay lacks '$want': $out"
done
p50=$(grep -m1 -o 'p50: [0-9.]* µs' <<<"$out")
ok "delay: $p50"

expect_ok "$tool" delay cam --duration 1 --qos reliable
# Busy-poll: the library's counters, as they came (how many are caught
# depends on the machine's timing).
expect_ok "$tool" delay cam --duration 2 --spin-us 200
line=$(grep '^busy-poll' <<<"$out")
[[ $line =~ ^busy-poll\ \(200\ µs\):\ ([0-9]+)\ frames\ caught\ spinning,\ ([0-9]+)\ spins\ missed,\ [0-9.]+\ µs\ spun\ a\ frame$ ]] ||
	fail "delay --spin-us: no busy-poll line: $out"
# 2 s of a 60 Hz stream: it spun for most frames, caught or not.
((BASH_REMATCH[1] + BASH_REMATCH[2] > 0)) || fail "delay --spin-us: no spin at all: $line"
ok "delay --spin-us 200: $(grep -m1 -o 'p50: [0-9.]* µs' <<<"$out"), $(grep '^busy-poll' <<<"$out")"
expect_ok "$tool" delay cam --duration 1 --qos queue:3

# A subscriber in the background while the fds of both are checked.
start sub "$tool" sub-test cam --duration 30 --verify
wait_subscribers cam 1
check_cloexec "$pub" "pub-test"
check_cloexec "${started[sub]}" "sub-test"
kill -INT "${started[sub]}"
wait "${started[sub]}" || fail "sub-test stopped by SIGINT exited with $?: $(<"$work/sub.err")"
grep -q '^mismatches: 0 of ' "$work/sub.out" || fail "sub-test after SIGINT: $(<"$work/sub.out")"
ok "sub-test stops on SIGINT and prints its summary"

expect_ok "$tool" sub-test cam --count 60 --verify
[[ $out == *"frames: 60"* && $out == *"mismatches: 0 of 360 images"* ]] ||
	fail "sub-test --verify: $out"
[[ $out == *"latency: p50"* ]] || fail "sub-test prints no latency: $out"
ok "sub-test --count 60 --verify: 0 mismatches"

expect_ok "$tool" save cam "$work/saved/yuv" --count 2
n=$(find "$work/saved/yuv" -name 'cam-*-*.y4m' | wc -l)
[[ $n == 12 ]] || fail "save --count 2 wrote $n y4m files, not 12: $out"
[[ $(wc -l <<<"$out") == 12 ]] || fail "save printed $(wc -l <<<"$out") names, not 12"
f=$(head -n1 <<<"$out")
[[ -s $f && $(head -c 9 "$f") == "YUV4MPEG2" ]] || fail "$f is not a y4m file"
ok "save wrote 12 y4m files"

# --wait covers a slow publisher's answer, not only the topic's appearance:
# a publisher stopped for 3 s (longer than the library's 2 s handshake floor)
# holds the connection unanswered, then answers.
kill -STOP "$pub"
( sleep 3; kill -CONT "$pub" ) &
t0=$EPOCHREALTIME
expect_ok "$tool" save cam "$work/saved/slow" --count 1 --wait 10
kill -CONT "$pub"
wait $!
dt=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
awk -v t="$dt" 'BEGIN { exit !(t >= 2.9) }' || fail "save --wait 10 returned after $dt s, before the publisher answered"
ok "save --wait 10: a publisher that answers after 3 s is waited for ($dt s)"

expect_ok "$tool" save cam "$work/saved/raw" --count 1 --format raw
f=$(head -n1 <<<"$out")
[[ $f == *.raw && $(stat -c %s "$f") == 128000 ]] || fail "raw file $f: $(stat -c %s "$f") bytes"
ok "save --format raw writes 320 × 200 × 2 bytes per image"

# A second publisher of the same topic names the first one.
expect_fail "pid $pub" "$tool" pub-test cam --size 320x200 --count 1 --quiet

# --- grey and RGB publishers: PNG files ---------------------------------------
start grey "$tool" pub-test grey --size 96x64 --format R8 --images 2 --rate 50 --quiet \
	--duration 110
start rgb "$tool" pub-test rgb --size 100x30 --format XRGB8888 --images 1 --rate 50 --quiet \
	--duration 110
wait_topic grey
wait_topic rgb
for topic in grey rgb; do
	expect_ok "$tool" save "$topic" "$work/saved/png" --count 2
	for f in $out; do
		[[ $f == *.png ]] || fail "save $topic wrote $f"
		[[ $(first_bytes "$f" 8) == 89504e470d0a1a0a ]] || fail "$f has no PNG signature"
	done
done
n=$(find "$work/saved/png" -name '*.png' | wc -l)
[[ $n == 6 ]] || fail "PNG files: $n, not 6"
ok "save writes PNG files for R8 and XRGB8888"

expect_ok "$tool" sub-test grey --count 10 --verify --qos queue:4
expect_ok "$tool" sub-test rgb --count 10 --verify --qos reliable

# --- a publisher that stops: its subscribers see the stream end --------------
start sub2 "$tool" sub-test grey --verify --duration 110
wait_subscribers grey 1
kill -TERM "${started[grey]}"
wait "${started[grey]}" || fail "pub-test stopped by SIGTERM exited with $?"
grep -q '^published: ' "$work/grey.out" || fail "pub-test printed no summary: $(<"$work/grey.out")"
grep -q 'pixshare sub-test' "$work/grey.out" ||
	fail "pub-test summary names no subscriber: $(<"$work/grey.out")"
wait "${started[sub2]}" || fail "sub-test at the stream's end exited with $?"
grep -q 'ended the stream' "$work/sub2.err" || fail "sub-test: $(<"$work/sub2.err")"
ok "SIGTERM ends pub-test cleanly and its subscriber sees the stream end"

# --- pub-test --count: the frames still queued for a reliable subscriber ----
# A subscriber that checks 6 × 1280×800 images a frame falls behind a 2 kHz
# publisher: the last frames wait at its lease limit when pub-test reaches
# its count, and go out before it ends (188 of 200 came before this).
start drainpub "$tool" pub-test drain --images 6 --rate 2000 --count 200 --wait-subscribers 1 \
	--quiet
expect_ok "$tool" sub-test drain --qos reliable --verify --wait 5 --duration 30
wait "${started[drainpub]}" || fail "pub-test --count exited with $?: $(<"$work/drainpub.err")"
grep -q '^frames: 200$' <<<"$out" || fail "sub-test got other than 200 frames: $out"
! grep -q '^undelivered' "$work/drainpub.out" || fail "pub-test: $(<"$work/drainpub.out")"
ok "pub-test --count 200: all 200 reached a reliable subscriber that fell behind"

# --- a publisher that dies leaves a stale socket -----------------------------
kill -KILL "${started[rgb]}"
wait "${started[rgb]}" 2>/dev/null || true
expect_ok "$tool" list
grep -q '^rgb  *stale' <<<"$out" || fail "list does not show rgb as stale: $out"
grep -q '^cam  *live' <<<"$out" || fail "list lost cam: $out"
expect_fail "not found" "$tool" info rgb
ok "a dead publisher's socket is listed as stale"

# --- --dir --------------------------------------------------------------------
other=$work/other
start dirpub "$tool" --dir "$other" pub-test elsewhere --size 64x8 --duration 110 --quiet
# --wait covers a publisher that is still starting.
expect_ok "$tool" sub-test elsewhere --dir "$other" --count 5 --verify --wait 10
expect_ok "$tool" --dir "$other" list
[[ $out == *elsewhere* && $out != *cam* ]] || fail "--dir list: $out"
expect_fail "not found" "$tool" info elsewhere
ok "--dir before and after the command"

# --- bad command lines ---------------------------------------------------------
expect_fail "unknown command 'frobnicate'" "$tool" frobnicate
expect_fail "missing command" "$tool"
expect_fail "unknown option '--bogus'" "$tool" list --bogus
expect_fail "unknown option" "$tool" --bogus list
expect_fail "missing TOPIC" "$tool" info
expect_fail "missing DIR" "$tool" save cam
expect_fail "unexpected argument 'extra'" "$tool" info cam extra
expect_fail "--size width: 0 is out of range" "$tool" pub-test bad --size 0x5
expect_fail "not a size" "$tool" pub-test bad --size 640
expect_fail "unknown format 'NOPE'; supported: .*YUYV" "$tool" pub-test bad --format NOPE
expect_fail "--images.*out of range" "$tool" pub-test bad --images 17
expect_fail "--rate: -1 is out of range" "$tool" pub-test bad --rate -1
expect_fail "--count: '12x' is not a number" "$tool" pub-test bad --count 12x
expect_fail "--pool.*out of range" "$tool" pub-test bad --pool 2
expect_fail "unknown allocator" "$tool" pub-test bad --allocator nope
expect_fail "needs a value" "$tool" pub-test bad --size
expect_fail "topic 'no-such-topic' not found" "$tool" info no-such-topic
expect_fail "topic 'no-such-topic' not found" "$tool" hz no-such-topic --duration 1
expect_fail "not found" "$tool" sub-test no-such-topic --wait 0.2
expect_fail "unknown QoS 'sometimes'" "$tool" delay cam --qos sometimes
expect_fail "--spin-us.*out of range" "$tool" delay cam --spin-us 10001
expect_fail "--spin-us and --from" "$tool" delay cam --spin-us 100 --from cam
expect_fail "--qos.*out of range" "$tool" sub-test cam --qos queue:0
expect_fail "--window: 'abc' is not a number" "$tool" hz cam --window abc
expect_fail "--duration.*out of range" "$tool" hz cam --duration 0
expect_fail "unknown file format 'gif'" "$tool" save cam "$work/x" --format gif
expect_fail "not a letter" "$tool" info 'bad/name'

# --- transform: fused GPU transforms on the 6-image set (lavapipe here) -----
if "$tool" help 2>&1 | grep -q '^ *transform'; then
	# Leak checking off for this one command under ASan, as for test_vulkan:
	# LeakSanitizer cannot name the frames of lavapipe once it is unloaded.
	run env PIXSHARE_VK_VALIDATION=1 ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$tool" transform cam --crop 10,20,300,150 --rotate 90 \
		--flip h --resize 75x150 --count 5 --png "$work/t.png"
	[[ $rc == 0 ]] || fail "transform exited with $rc: $err"
	grep -q '^sets: 5 transformed' <<<"$out" || fail "transform: $out"
	grep -q '0 copies' <<<"$out" || fail "transform made copies: $out"
	# The subscriber's own count: 6 images a set, by one path, no copy.
	grep -Eq '^subscriber: 30 images imported \((dmabuf 30|.*host-memory 30).*\), 0 copies \(0 bytes\)$' <<<"$out" ||
		fail "transform: the subscriber's import counts: $out"
	grep -q '^validation errors: 0$' <<<"$out" || fail "transform validation: $out"
	grep -q 'in the .* sets after the last new slot' <<<"$out" || fail "transform: $out"
	[[ $(head -c 8 "$work/t.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
		fail "transform --png wrote no PNG"
	ok "transform: 5 sets of 6 images, 0 copies, the subscriber counted 30 images, 0 validation errors, a PNG"
	# Republished: the GPU writes each set into a slot of the topic tcam,
	# which another subscriber saves.
	start tf env PIXSHARE_VK_VALIDATION=1 \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$tool" transform cam tcam --rotate 270 --scale 0.25 --filter area --duration 60
	wait_topic tcam
	# The latency through the transform: from cam's publish of each set.
	expect_ok "$tool" delay tcam --from cam --duration 2
	grep -Eq '^latency cam publish → tcam receive \(the same sequence number\) \([1-9][0-9]* frames\)' \
		<<<"$out" || fail "delay tcam --from cam: $out"
	ok "delay tcam --from cam: $(grep -A1 '^latency cam publish' <<<"$out" | tail -n 1)"
	run "$tool" info tcam
	grep -q 'pixshare transform of cam' <<<"$out" || fail "info tcam: $out"
	grep -q 'image 5: ABGR8888 50x80' <<<"$out" || fail "info tcam: $out"
	expect_ok "$tool" save tcam "$work/saved" --count 2
	png=$(ls "$work/saved"/tcam-*-5.png | tail -n 1)
	# IHDR: width and height, big-endian, at byte 16.
	[[ $(od -An -tu1 -j16 -N8 "$png" | tr -s ' ') == " 0 0 0 50 0 0 0 80" ]] ||
		fail "tcam's image 5 is not 50x80: $(od -An -tu1 -j16 -N8 "$png")"
	kill -INT "${started[tf]}"
	wait "${started[tf]}" || fail "transform cam tcam exited with $?: $(<"$work/tf.err")"
	out=$(<"$work/tf.out")
	grep -q '^published: [1-9][0-9]* sets to tcam.* 0 output copies' <<<"$out" ||
		fail "transform cam tcam: $out"
	grep -q '^validation errors: 0$' <<<"$out" || fail "transform cam tcam: $out"
	ok "transform cam tcam: republished, saved as 50x80 PNGs, 0 copies, 0 validation errors"
	expect_fail "with OUT: no --png" gpu_tool transform cam tcam --png "$work/x.png"
	expect_fail "--allocator and --pool are for the OUT topic" gpu_tool transform cam --pool 4
	expect_fail "--filter: unknown 'cubic'" gpu_tool transform cam --filter cubic
	expect_fail "--matrix: unknown 'bt2020'" gpu_tool transform cam --matrix bt2020
	expect_fail "--range: unknown 'tv'" gpu_tool transform cam --range tv
	expect_ok gpu_tool transform cam --count 1 --matrix bt709 --range full --format gray
	grep -q '^each image: bilinear filter, YUV read as BT.709 full range, gray output$' <<<"$out" ||
		fail "transform --matrix bt709 --range full: $out"
	expect_ok gpu_tool transform cam --count 1
	grep -q '^each image: bilinear filter, YUV read as BT.601 limited range, rgba output$' <<<"$out" ||
		fail "transform's defaults: $out"
	ok "transform --matrix bt709 --range full reaches the transform; BT.601 limited by default"
	expect_fail "--crop: '1,2,3' is not X,Y,W,H" gpu_tool transform cam --crop 1,2,3
	expect_fail "--crop: '-1,0,10,10' is not X,Y,W,H" gpu_tool transform cam --crop -1,0,10,10
	expect_fail "--rotate: '-x' is not a number" gpu_tool transform cam --rotate -x
	# Negative angles are angles: counter-clockwise.
	for angle in -90 -17.5; do
		run env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
			"$tool" transform cam --rotate "$angle" --count 1
		[[ $rc == 0 ]] || fail "transform --rotate $angle exited with $rc: $err"
		grep -q '^sets: 1 transformed' <<<"$out" || fail "transform --rotate $angle: $out"
	done
	ok "transform --rotate -90 and -17.5: taken, one set each"
	expect_fail "--resize and --scale" gpu_tool transform cam --resize 10x10 --scale 2
	expect_fail "--crop 300,0,100,100: outside image 0 \(320x200\)" gpu_tool transform cam --crop 300,0,100,100 --count 1

	# A transform that fails at its first set (R16, which the shader cannot
	# read) prints its counts as measured: no path where nothing was imported
	# or published.
	start r16 "$tool" pub-test r16 --size 64x48 --format R16 --images 1 --rate 100 --quiet \
		--duration 60
	wait_topic r16
	run env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$tool" transform r16 r16out --count 1
	[[ $rc != 0 ]] || fail "transform of R16 succeeded: $out"
	grep -q 'R16 cannot be read' <<<"$err" || fail "transform of R16: $err"
	grep -q '^sets: 0 transformed' <<<"$out" || fail "transform of R16: $out"
	grep -q '^import: none, 0 imports' <<<"$out" || fail "transform of R16: $out"
	grep -q 'output written by none,' <<<"$out" || fail "transform of R16: $out"
	kill -INT "${started[r16]}"
	wait "${started[r16]}" || fail "pub-test r16 exited with $?"
	ok "transform failing at its first set: 'import: none', 'output written by none'"

	# A GPU producer's pool: memory a Vulkan device allocated and exported
	# (opaque fds on lavapipe, with their description), which the
	# transform's device imports as the exporter made it, without a copy.
	start vkp env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$tool" pub-test vk --allocator vulkan --images 2 --size 64x48 --format XRGB8888 \
		--rate 100 --duration 120
	wait_topic vk
	run "$tool" info vk
	grep -q '^allocator:   external' <<<"$out" || fail "info vk: $out"
	path='dmabuf'
	if grep -q "a Vulkan device's opaque-fd export" <<<"$out"; then
		path='opaque-fd'
	fi
	run env PIXSHARE_VK_VALIDATION=1 ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$tool" transform vk --resize 32x24 --count 5
	[[ $rc == 0 ]] || fail "transform vk exited with $rc: $err"
	grep -Eq "^subscriber: 10 images imported \(.*$path 10.*\), 0 copies \(0 bytes\)$" <<<"$out" ||
		fail "transform vk: the import counts ($path expected): $out"
	grep -q '^validation errors: 0$' <<<"$out" || fail "transform vk validation: $out"
	kill -INT "${started[vkp]}"
	wait "${started[vkp]}" || fail "pub-test --allocator vulkan exited with $?: $(<"$work/vkp.err")"
	grep -q 'exported by a Vulkan device as' "$work/vkp.err" || fail "pub-test vk: $(<"$work/vkp.err")"
	ok "pub-test --allocator vulkan: a Vulkan device's pool, transformed by $path import, 0 copies"
	expect_fail "--device: not with --allocator vulkan" "$tool" pub-test bad --allocator vulkan --device /dev/null
	# The last --allocator counts, either way round.
	run "$tool" pub-test last1 --allocator vulkan --allocator memfd --count 2 --rate 100 \
		--images 1 --size 64x48
	[[ $rc == 0 && $err == *", memfd (not dma-buf)"* && $err != *"Vulkan device"* ]] ||
		fail "--allocator vulkan --allocator memfd: rc $rc: $err"
	run env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$tool" pub-test last2 --allocator memfd --allocator vulkan --count 2 --rate 100 \
		--images 1 --size 64x48
	[[ $rc == 0 && $err == *"exported by a Vulkan device as"* ]] ||
		fail "--allocator memfd --allocator vulkan: rc $rc: $err"
	ok "pub-test: the last --allocator counts, vulkan or not"
else
	echo "skip - transform: built without Vulkan"
fi

# --- another user: refused by default, admitted by --allow-uid -------------
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
	shared=$(mktemp -d)
	chmod 0711 "$shared"
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	start shpub "$tool" pub-test shared --dir "$shared" --allow-uid nobody --size 64x48 \
		--images 1 --rate 100 --duration 60 --quiet
	for _ in $(seq 200); do [[ -S $shared/shared ]] && break; sleep 0.05; done
	[[ $(stat -c %a "$shared/shared") == 666 ]] || fail "--allow-uid: socket mode $(stat -c %a "$shared/shared")"
	run as_nobody "$tool" sub-test shared --dir "$shared" --publisher-uid root --count 5
	[[ $rc == 0 && $out == *"frames: 5"* ]] || fail "nobody with --publisher-uid: rc $rc: $err"
	expect_fail "belongs to uid 0, not to this process's uid 65534" \
		as_nobody "$tool" sub-test shared --dir "$shared" --count 5
	run setpriv --reuid=1000 --regid=1000 --clear-groups "$tool" sub-test shared \
		--dir "$shared" --publisher-uid 0 --count 5
	[[ $rc != 0 && $err == *"uid 1000 may not subscribe"* ]] || fail "uid 1000 admitted: rc $rc: $err"
	kill -INT "${started[shpub]}"
	wait "${started[shpub]}" || fail "pub-test --allow-uid exited with $?"
	grep -q "refused 'pixshare sub-test' (pid [0-9]*, uid 1000" "$work/shpub.err" ||
		fail "the refusal is not logged: $(<"$work/shpub.err")"
	rm -rf "$shared"
	ok "pub-test --allow-uid nobody: nobody subscribes with --publisher-uid; uid 1000 refused (-EACCES), logged"
else
	echo "skip - --allow-uid: needs root and setpriv, to be another user"
fi
expect_fail "--allow-uid: 'nosuchuser' is no user name nor number here" \
	"$tool" pub-test bad --allow-uid nosuchuser

# --- a stalled reliable subscriber is disconnected by --stall reliable ---------
start stpub "$tool" pub-test stall --size 64x48 --images 1 --rate 100 --duration 60 \
	--release-timeout 300 --stall reliable --quiet
wait_topic stall
start stsub "$tool" sub-test stall --qos reliable --duration 30
wait_subscribers stall 1
kill -STOP "${started[stsub]}"
for _ in $(seq 100); do grep -q "release deadline" "$work/stpub.err" && break; sleep 0.05; done
kill -CONT "${started[stsub]}"
grep -q "(pid ${started[stsub]}, reliable) has held frame [0-9]* for [0-9]* ms, past the release deadline of 300 ms: disconnected" \
	"$work/stpub.err" || fail "--stall reliable: $(<"$work/stpub.err")"
kill -INT "${started[stpub]}" "${started[stsub]}"
wait "${started[stpub]}" || fail "pub-test --stall reliable exited with $?"
wait "${started[stsub]}" || true
ok "pub-test --stall reliable --release-timeout 300: a stopped reliable subscriber is disconnected, logged with its pid"
expect_fail "--stall: unknown policy 'never'; use log, reliable or all" "$tool" pub-test bad --stall never
expect_fail "--handshake-timeout: 0 is out of range" "$tool" camera bad --handshake-timeout 0

# --- an elastic pool: it grows with its subscribers and shrinks back ---------
# pool_slots TOPIC: the pool's size now, from `info`.
pool_slots() {
	"$tool" info "$1" 2>/dev/null | awk '/^pool:/ { print $2 }'
}
# wait_pool TOPIC N: until the topic's pool has N slots.
wait_pool() {
	for _ in $(seq 200); do
		[[ $(pool_slots "$1") == "$2" ]] && return 0
		sleep 0.05
	done
	fail "the pool of $1 has $(pool_slots "$1") slots, not $2"
}
start elpub "$tool" pub-test elastic --size 320x200 --images 2 --rate 60 --min-slots 3 \
	--duration 60
wait_topic elastic
[[ $(pool_slots elastic) == 3 ]] || fail "pub-test --min-slots 3: $(pool_slots elastic) slots"
start elsub1 "$tool" sub-test elastic --duration 30 --verify
wait_subscribers elastic 1
wait_pool elastic 5
start elsub2 "$tool" sub-test elastic --duration 30 --verify
wait_subscribers elastic 2
wait_pool elastic 8
expect_ok "$tool" sub-test elastic --count 60 --verify
[[ $out == *"mismatches: 0 of 120 images"* ]] || fail "sub-test on the grown pool: $out"
for s in elsub1 elsub2; do
	kill -INT "${started[$s]}"
	wait "${started[$s]}" || fail "sub-test on the elastic pool exited with $?"
	grep -q '^mismatches: 0 of ' "$work/$s.out" ||
		fail "sub-test through the changes: $(<"$work/$s.out")"
done
wait_pool elastic 3
# A GPU subscriber through the changes: new slots imported as they come, and
# slots that come back after a shrink imported afresh (a new pool id).
if "$tool" help 2>&1 | grep -q '^ *transform'; then
	start eltf env PIXSHARE_VK_VALIDATION=1 \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$tool" transform elastic --rotate 90 --duration 60
	wait_subscribers elastic 1
	wait_pool elastic 5
	for s in elsub3 elsub4; do
		start $s "$tool" sub-test elastic --duration 30 --verify
		wait_subscribers elastic 2
		wait_pool elastic 8
		sleep 0.5
		kill -INT "${started[$s]}"
		wait "${started[$s]}" || fail "sub-test beside transform exited with $?"
		wait_pool elastic 5
	done
	sleep 0.5
	kill -INT "${started[eltf]}"
	wait "${started[eltf]}" || fail "transform of the elastic topic exited with $?: $(<"$work/eltf.err")"
	out=$(<"$work/eltf.out")
	grep -q '^sets: [1-9][0-9]* transformed' <<<"$out" || fail "transform elastic: $out"
	grep -q '^validation errors: 0$' <<<"$out" || fail "transform elastic: $out"
	ok "transform of an elastic topic: $(grep '^sets: ' <<<"$out") through 2 grows and 2 shrinks, 0 validation errors"
	wait_pool elastic 3
fi
expect_fail "--min-slots: 2 is out of range" "$tool" pub-test bad --min-slots 2
expect_fail "min_pool_size 9; 3 to the pool.s size .8. allowed" "$tool" pub-test bad \
	--pool 8 --min-slots 9
kill -INT "${started[elpub]}"
wait "${started[elpub]}" || fail "pub-test --min-slots exited with $?"
ok "pub-test --min-slots 3: 3 slots, 5 with a subscriber, 8 with two, 3 again; 0 mismatches"

# --- the end: SIGINT stops the publisher, which prints its summary -----------
kill -INT "$pub"
wait "$pub" || fail "pub-test stopped by SIGINT exited with $?"
grep -q '^published: ' "$work/pub.out" || fail "pub-test summary: $(<"$work/pub.out")"
grep -q '^subscribers: ' "$work/pub.out" || fail "pub-test summary: $(<"$work/pub.out")"
[[ ! -e $PIXSHARE_DIR/cam ]] || fail "pub-test left its socket behind"
ok "SIGINT ends pub-test and removes its socket"
echo "all tool tests passed"
