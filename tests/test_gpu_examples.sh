#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The Vulkan transform examples as a user runs them: a test-pattern publisher
# (the pixshare tool, two 333x171 YUYV images per set) and each of resize,
# rotate, crop and scale, which transform one set and write a PNG with the
# images one below the other. Checks the exit codes, the PNG's size (from its
# IHDR) against the size each transform must give, that it is not blank, and
# the error cases. Pixel correctness is test_vulkan's. Skips (77) only where
# Vulkan has no device.
#
# usage: test_gpu_examples.sh PIXSHARE EXAMPLE_DIR
set -euo pipefail

tool=${1:?usage: test_gpu_examples.sh PIXSHARE EXAMPLE_DIR}
exdir=${2:?usage: test_gpu_examples.sh PIXSHARE EXAMPLE_DIR}
W=333 H=171 N=2

PIXSHARE_DIR=$(mktemp -d)
export PIXSHARE_DIR
work=$(mktemp -d)
pub=
cleanup() {
	[[ -n $pub ]] && kill -TERM "$pub" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$PIXSHARE_DIR" "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failed=0
ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	failed=1
}

# run EXAMPLE ARGS…: runs example_EXAMPLE; status in $rc, stdout in $out,
# stderr in $err.
run() {
	local ex=$1
	shift
	set +e
	"$exdir/example_$ex" "$@" >"$work/out" 2>"$work/err"
	rc=$?
	set -e
	out=$(<"$work/out")
	err=$(<"$work/err")
}

# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk (big-endian, bytes 16…23).
png_size() {
	local b
	read -ra b < <(od -An -tu1 -j16 -N8 "$1")
	echo "$(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]))x$(((b[4] << 24) |
		(b[5] << 16) | (b[6] << 8) | b[7]))"
}

# expect NAME WxH EXAMPLE ARGS…: the example succeeds, says which import path
# it took, and writes a PNG of WxH (the whole stack) that is not all black.
expect() {
	local name=$1 size=$2 ex=$3 png=$work/$1.png
	shift 3
	run "$ex" "$@"
	if [[ $rc != 0 ]]; then
		not_ok "$name: exited with $rc: $err"
	elif ! [[ $out =~ import\ path:\ (dmabuf|host-memory|upload) ]]; then
		not_ok "$name: no import path in: $out"
	elif [[ ! -s $png ]]; then
		not_ok "$name: no PNG written"
	elif [[ $(png_size "$png") != "$size" ]]; then
		not_ok "$name: PNG is $(png_size "$png"), expected $size"
	# The stored RGB rows: at least an eighth of their bytes are not 0.
	elif (($(tail -c +60 "$png" | tr -d '\0' | wc -c) < ${size%x*} * ${size#*x} * 3 / 8)); then
		not_ok "$name: the PNG is (nearly) all black"
	else
		ok "$name: $size"
	fi
}

# expect_fail NAME REGEX EXAMPLE ARGS…: the example fails and says why.
expect_fail() {
	local name=$1 re=$2
	shift 2
	run "$@"
	if [[ $rc == 0 ]]; then
		not_ok "$name: succeeded; it should have failed"
	elif ! [[ $err =~ $re ]]; then
		not_ok "$name: stderr '$err' does not match '$re'"
	else
		ok "$name: fails ($rc): ${err%%$'\n'*}"
	fi
}

"$tool" pub-test --dir "$PIXSHARE_DIR" --format YUYV --size ${W}x$H --images $N --rate 30 \
	--duration 170 --quiet cam >"$work/pub.log" 2>&1 &
pub=$!

# Every example waits up to 5 s for the publisher; the first also tells
# whether Vulkan works here.
run resize cam "$work/probe.png" 64x32
if [[ $rc != 0 ]] && grep -q '^Vulkan: ' <<<"$err"; then
	echo "SKIP: no Vulkan device: $err"
	exit 77
fi

# resize: WxH each, N images one below the other.
expect resize-default 640x$((360 * N)) resize cam "$work/resize-default.png"
for f in nearest bilinear bicubic area; do
	expect "resize-$f" 101x$((33 * N)) resize cam "$work/resize-$f.png" 101x33 --filter $f
done

# rotate: quarter turns swap the sides or not; any other angle makes a
# canvas of ceil(w|cos a| + h|sin a|) × ceil(w|sin a| + h|cos a|).
expect rotate-default ${H}x$((W * N)) rotate cam "$work/rotate-default.png"
expect rotate-0 ${W}x$((H * N)) rotate cam "$work/rotate-0.png" 0
expect rotate-180 ${W}x$((H * N)) rotate cam "$work/rotate-180.png" 180
expect rotate-270 ${H}x$((W * N)) rotate cam "$work/rotate-270.png" -90
read -r cw ch < <(awk -v w=$W -v h=$H -v d=30 'function ceil(v) { return v == int(v) ? v : int(v) + 1 }
	BEGIN { a = d * atan2(0, -1) / 180; c = cos(a); s = sin(a); c = c < 0 ? -c : c; s = s < 0 ? -s : s
		print ceil(w * c + h * s - 1e-6), ceil(w * s + h * c - 1e-6) }')
expect rotate-30 ${cw}x$((ch * N)) rotate cam "$work/rotate-30.png" 30

# crop: the rectangle's own size.
expect crop 101x$((51 * N)) crop cam "$work/crop.png" 10,20,101,51
expect crop-whole ${W}x$((H * N)) crop cam "$work/crop-whole.png" 0,0,$W,$H

# scale: each side times the factor, rounded to the nearest.
scaled() {
	awk -v w=$W -v h=$H -v f="$1" 'function r(v) { v = int(v + 0.5); return v < 1 ? 1 : v }
		BEGIN { print r(w * f) "x" r(h * f) * '$N' }'
}
expect scale-default "$(scaled 0.5)" scale cam "$work/scale-default.png"
for f in 1.7 0.01; do
	expect "scale-$f" "$(scaled $f)" scale cam "$work/scale-$f.png" $f
done

# Errors: each says what is wrong.
expect_fail crop-outside "outside image 0 \(${W}x$H\)" crop cam "$work/x.png" 300,0,40,10
expect_fail crop-too-tall "outside image 0" crop cam "$work/x.png" 0,100,10,72
expect_fail crop-malformed "bad rectangle" crop cam "$work/x.png" 1,2,3
expect_fail resize-bad-size "bad size" resize cam "$work/x.png" 0x10
expect_fail resize-bad-filter "unknown filter" resize cam "$work/x.png" --filter lanczos
expect_fail rotate-bad-angle "bad angle" rotate cam "$work/x.png" ninety
expect_fail scale-bad-factor "bad factor" scale cam "$work/x.png" 0
expect_fail scale-too-large "larger than 16384" scale cam "$work/x.png" 60
expect_fail no-args "usage:" scale
expect_fail missing-topic "subscribe to nope" rotate nope "$work/x.png"
[[ ! -e $work/x.png ]] && ok "no PNG after a failure" || not_ok "a failure left $work/x.png"

# offscreen: the chain republished as a topic and read back by a second
# subscriber. Image 0 (333x171): the middle 167x86, turned → 86x167, half →
# 43x84 (rounded).
run offscreen cam off "$work/offscreen.png" 20
if [[ $rc != 0 ]]; then
	not_ok "offscreen: exited with $rc: $err"
elif ! [[ $out =~ 20\ sets\ published,\ outputs\ written\ by\ (dmabuf|host-memory),\ 0\ CPU\ copies\;\ the\ reader\ received\ [1-9] ]]; then
	not_ok "offscreen: $out"
elif [[ $(png_size "$work/offscreen.png") != 43x84 ]]; then
	not_ok "offscreen: PNG is $(png_size "$work/offscreen.png"), expected 43x84"
else
	ok "offscreen: 20 sets republished in place, read back, a 43x84 PNG"
fi
expect_fail offscreen-missing-topic "subscribe to nope" offscreen nope off "$work/x.png"

for ex in resize rotate crop scale offscreen; do
	run "$ex" --help
	if [[ $rc == 0 && $out == usage:\ example_$ex\ * ]]; then
		ok "$ex --help"
	else
		not_ok "$ex --help: exit $rc, stdout '$out'"
	fi
done

exit $failed
