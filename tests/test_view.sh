#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of pixshare view under Xvfb (llvmpipe's EGL on X11): the
# test pattern's images tiled in the window, compared pixel by pixel with the
# set the viewer saves (and with what `pixshare save` writes of the same
# frame); keys typed through XTEST (one image alone, back to the tiles, save,
# pause, quit); the overlay's rate from --log against the publisher's; bad
# command lines and a missing display.
#
# usage: test_view.sh PATH/TO/pixshare
set -euo pipefail

tool=${1:?usage: test_view.sh PATH/TO/pixshare}
check="$(dirname "${BASH_SOURCE[0]}")/view_check.py"

skip() {
	echo "SKIP: $*"
	exit 77
}

for cmd in Xvfb xwd python3; do
	command -v "$cmd" >/dev/null || skip "$cmd is not installed (scripts/setup installs it)"
done
python3 -c 'import ctypes; ctypes.CDLL("libXtst.so.6")' 2>/dev/null ||
	skip "libXtst (XTEST, to type keys) is not installed (scripts/setup installs it)"
if [[ $(DISPLAY='' WAYLAND_DISPLAY='' "$tool" view nosuch 2>&1) == *"without SDL2"* ]]; then
	skip "pixshare was built without SDL2 (libsdl2-dev) or EGL: it has no viewer"
fi

# shellcheck source=tests/tool_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/tool_lib.sh"

# finish NAME: waits for a background command, which must succeed.
finish() {
	wait "${started[$1]}" || fail "$1 exited with $?: $(<"$work/$1.err")"
}

# wait_for WHAT SECONDS CMD…: until CMD succeeds.
wait_for() {
	local what=$1 n=$(($2 * 20))
	shift 2
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "$what: not within $((n / 20)) s"
}

# shot NAME TOPIC: a dump of the viewer's window.
shot() {
	xwd -silent -name "pixshare view $2" -out "$work/$1.xwd" ||
		fail "xwd of the window 'pixshare view $2' failed"
}

# looks NAME TOPIC CHECK…: the window passes view_check.py CHECK (retried
# for 5 s: a key's redraw comes a little later).
looks() {
	local name=$1 topic=$2 mode=$3 i
	shift 3
	for i in $(seq 25); do
		shot "$name" "$topic"
		if python3 "$check" "$mode" "$work/$name.xwd" "$@" >"$work/check.out" 2>&1; then
			ok "$name: $(tr '\n' ';' <"$work/check.out")"
			return 0
		fi
		sleep 0.2
	done
	fail "$name: $(<"$work/check.out")"
}

# check_cloexec PID WHAT WANT: every fd the process opened itself is
# close-on-exec (as test_record.sh checks); WANT (a regex) is among them.
check_cloexec() {
	local pid=$1 what=$2 want=$3 fd flags n=0 targets=""
	for fd in /proc/"$pid"/fd/*; do
		fd=${fd##*/}
		((fd > 2)) || continue
		if [[ $inherited == *" $fd "* &&
			$(readlink "/proc/$$/fd/$fd") == "$(readlink "/proc/$pid/fd/$fd")" ]]; then
			continue
		fi
		flags=$(fd_flags "$pid" "$fd") || continue
		[[ -n $flags ]] || continue
		((8#$flags & 8#2000000)) ||
			fail "$what: fd $fd ($(readlink "/proc/$pid/fd/$fd")) is not close-on-exec"
		targets+="$(readlink "/proc/$pid/fd/$fd") "
		n=$((n + 1))
	done
	[[ $targets =~ $want ]] || fail "$what: no fd open on $want among: $targets"
	ok "$what: all $n fds it opened are close-on-exec"
}

keys() {
	python3 "$check" keys "$work/$1.xwd" "${@:2}" || fail "typing ${*:2} failed"
}

# --- Command lines and errors, before any display.
expect_ok "$tool" view --help
for opt in --size --count --duration --log --save-after --save-dir --wait --dir; do
	[[ $out == *"$opt"* ]] || fail "view --help does not document $opt"
done
ok "view --help documents every option"
expect_fail "--size" "$tool" view t --size 0x10
expect_fail "--count" "$tool" view t --count 0
expect_fail "--save-after" "$tool" view t --save-after x
expect_fail "missing TOPIC" "$tool" view
expect_fail "no display" env -u DISPLAY -u WAYLAND_DISPLAY "$tool" view t

# --- Xvfb on a free display number (it picks one and tells it on a pipe);
# -noreset: a server that resets as its last client leaves refuses the next
# one meanwhile.
exec {dfd}>"$work/display"
Xvfb -displayfd "$dfd" -screen 0 1280x1024x24 -nolisten tcp -noreset >"$work/xvfb.log" 2>&1 &
pids+=("$!")
exec {dfd}>&-
wait_for "Xvfb's display number" 10 test -s "$work/display"
DISPLAY=:$(<"$work/display")
export DISPLAY
ok "Xvfb on $DISPLAY"
expect_fail "topic 'nosuch' not found" "$tool" view nosuch

# --- One frame of 2 YUYV images, 320x200, tiled 1:1 in a 640x400 window;
# the publisher ends the stream after it and the set stays on screen. A
# second subscriber saves the same frame with `pixshare save`.
start pub "$tool" pub-test pat --images 2 --size 320x200 --format YUYV --count 1 \
	--wait-subscribers 2 --quiet
wait_topic pat
start view "$tool" view pat --size 640x400 --duration 60 --save-after 1 --save-dir "$work/saved"
start save "$tool" save pat "$work/ref" --format png
finish pub
finish save
wait_for "the viewer's saved set" 10 test -s "$work/saved/pat-1-1.png"
for i in 0 1; do
	cmp "$work/saved/pat-1-$i.png" "$work/ref/pat-1-$i.png" ||
		fail "the viewer's saved image $i differs from pixshare save's"
done
expect_ok python3 "$check" png "$work/saved/pat-1-0.png" "$work/saved/pat-1-1.png"
ok "--save-after: the set shown saved as PNG, the same bytes as pixshare save: $out"
pngs=("$work/saved/pat-1-0.png" "$work/saved/pat-1-1.png")
looks tiles pat tiles "${pngs[@]}"
keys tiles 2
looks image2 pat single 2 "${pngs[@]}"
keys image2 Escape
looks tiles-again pat tiles "${pngs[@]}"
keys tiles-again 1
looks image1 pat single 1 "${pngs[@]}"
keys image1 0
looks tiles-after-0 pat tiles "${pngs[@]}"
rm "$work/saved/pat-1-0.png" "$work/saved/pat-1-1.png"
keys tiles-after-0 s
wait_for "key s: the set saved again" 10 test -s "$work/saved/pat-1-1.png"
cmp "$work/saved/pat-1-0.png" "$work/ref/pat-1-0.png" || fail "key s: image 0 differs"
ok "key s: the set saved again"
keys tiles-after-0 q
finish view
out=$(<"$work/view.out")
err=$(<"$work/view.err")
[[ $out == *"saved: 2 sets"* ]] || fail "the summary does not count 2 saves: $out"
[[ $out =~ shown:\ 1\ frames ]] || fail "the summary does not show 1 frame: $out"
[[ $out =~ import:\ 0\ images\ by\ dma-buf,\ 0\ by\ px_egl\ upload,\ 2\ by\ the\ viewer ]] ||
	fail "the summary's import path: $out"
[[ $err == *"the publisher ended the stream"* ]] || fail "the end of the stream unsaid: $err"
ok "key q quits; summary: $(grep -E '^(shown|import)' <<<"$out" | tr '\n' ';')"

# --- Other formats, one frame each: RGB and grey by px_egl's upload, YUV by
# the viewer's own (P010: neither, said).
for spec in XRGB8888:px_egl RGB888:px_egl R8:px_egl UYVY:viewer NV12:viewer YUV420:viewer \
	YUV422:viewer; do
	fmt=${spec%%:*}
	topic=f$fmt
	start "pub$fmt" "$tool" pub-test "$topic" --images 2 --size 320x200 --format "$fmt" \
		--count 1 --wait-subscribers 1 --quiet
	wait_topic "$topic"
	start "view$fmt" "$tool" view "$topic" --size 640x400 --duration 60 --save-after 1 \
		--save-dir "$work/$fmt"
	finish "pub$fmt"
	wait_for "$fmt: the viewer's saved set" 10 test -s "$work/$fmt/$topic-1-1.png"
	looks "$fmt" "$topic" tiles "$work/$fmt/$topic-1-0.png" "$work/$fmt/$topic-1-1.png"
	keys "$fmt" q
	finish "view$fmt"
	if [[ ${spec#*:} == px_egl ]]; then
		want="0 images by dma-buf, 2 by px_egl upload, 0 by the viewer's"
	else
		want="0 images by dma-buf, 0 by px_egl upload, 2 by the viewer's"
	fi
	grep -q "import: $want" "$work/view$fmt.out" ||
		fail "$fmt: the import path: $(grep import: "$work/view$fmt.out")"
	ok "$fmt: $want upload"
done
start pubP010 "$tool" pub-test fP010 --images 1 --size 64x64 --format P010 --count 1 \
	--wait-subscribers 1 --quiet
wait_topic fP010
run "$tool" view fP010 --size 64x64 --duration 10
((rc == 1)) || fail "view of P010 by upload exited with $rc: $err"
grep -q "^pixshare: view: importing image 0: .*not P010" <<<"$err" || fail "P010: $err"
finish pubP010
ok "P010 without dma-buf fails: $(grep importing <<<"$err")"

# --- 6 images of 160x100 in 3 columns and 2 rows, 1:1 in 480x200; the
# publisher goes on while the window is checked (the pattern moves: the
# window must show the set that --save-after wrote, so the viewer pauses
# first: key space, then s saves what is shown).
start pub6 "$tool" pub-test six --images 6 --size 160x100 --format YUYV --rate 30 \
	--duration 30 --quiet
wait_topic six
start view6 "$tool" view six --size 480x200 --duration 30 --log --save-dir "$work/six"
for i in $(seq 400); do
	xwd -silent -name "pixshare view six" -out /dev/null 2>/dev/null && break
	kill -0 "${started[view6]}" 2>/dev/null || fail "the viewer exited: $(<"$work/view6.err")"
	((i < 400)) || fail "no viewer's window in 20 s: $(<"$work/view6.err")"
	sleep 0.05
done
shot six six
check_cloexec "${started[view6]}" "the viewer" "memfd:pixshare"
keys six space
wait_for "key space: paused" 10 grep -q "paused" "$work/view6.err"
sleep 1.5 # frames arriving meanwhile are released unseen
keys six s
wait_for "key s while paused" 10 grep -q "saved .*six-.*-5.png" "$work/view6.out"
mapfile -t six < <(sed -n 's/^saved //p' "$work/view6.out")
((${#six[@]} == 6)) || fail "key s saved ${#six[@]} files, not 6"
looks six-tiles six tiles "${six[@]}"
keys six space q
finish view6
kill -TERM "${started[pub6]}"
wait "${started[pub6]}" || true
out=$(<"$work/view6.out")
[[ $out =~ released\ unseen\ while\ paused\ ([0-9]+) ]] || fail "no pause count: $out"
((BASH_REMATCH[1] >= 10)) || fail "only ${BASH_REMATCH[1]} frames released while paused"
ok "paused: ${BASH_REMATCH[1]} frames released unseen; resumed; quit"

# --- The overlay's rate from --log, against a 30 Hz publisher: at most
# what was published (a viewer counting redraws would show more), and most
# of it (llvmpipe draws 2 images of 320x200 in far less than a frame).
start pub30 "$tool" pub-test rate --images 2 --size 320x200 --rate 30 --duration 30 --quiet
wait_topic rate
expect_ok "$tool" view rate --size 640x400 --duration 5 --log
mapfile -t hz < <(sed -n 's/^view: \([0-9.]*\) Hz shown, latency p50 [0-9.-]* ms, drops [0-9]*$/\1/p' \
	<<<"$err")
((${#hz[@]} >= 4)) || fail "--log: ${#hz[@]} lines in 5 s: $err"
for r in "${hz[@]:1}"; do
	awk -v r="$r" 'BEGIN { exit !(r <= 31.5) }' || fail "--log: $r Hz shown of 30 published"
done
median=$(printf '%s\n' "${hz[@]:1}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
awk -v r="$median" 'BEGIN { exit !(r >= 20) }' || fail "--log: median $median Hz of 30 published"
[[ $out =~ shown:\ ([0-9]+)\ frames ]] || fail "no summary: $out"
((BASH_REMATCH[1] >= 100 && BASH_REMATCH[1] <= 155)) ||
	fail "${BASH_REMATCH[1]} frames shown in 5 s at 30 Hz"
ok "--log: ${hz[*]} Hz shown (median $median) of 30 Hz; $(head -2 <<<"$out" | tr '\n' ';')"

# --count ends it by itself.
expect_ok "$tool" view rate --size 320x200 --count 10
[[ $out == *"shown: 10 frames"* ]] || fail "--count 10: $out"
ok "--count 10: $(head -1 <<<"$out")"
kill -TERM "${started[pub30]}"
wait "${started[pub30]}" || true
echo "PASS"
