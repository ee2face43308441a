#!/usr/bin/env bash
# In the guest: `pixshare list-cameras` finds vivid (and its multi-planar
# instance), and `pixshare camera` publishes the first vivid capture device in
# dmabuf mode (dumb buffers, zero copies), export mode (the camera's buffers,
# zero copies) and copy mode, while `pixshare sub-test` receives 30 frames
# each time and `pixshare info` shows the mode; then three cameras as one set.
set -euo pipefail
tool=$1
PIXSHARE_DIR=$(mktemp -d)
export PIXSHARE_DIR
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$PIXSHARE_DIR"' EXIT

cams=$("$tool" list-cameras)
grep '^/dev/video' <<<"$cams"
grep -q vivid <<<"$cams" || { echo "list-cameras shows no vivid device"; exit 1; }
dev=$(awk '/vivid/ && $1 ~ /^\/dev\/video/ {sub(":", "", $1); print $1; exit}' <<<"$cams")
[ -n "$dev" ] || { echo "no vivid device node in list-cameras' output"; exit 1; }

grep -q 'multi-planar API' <<<"$cams" || { echo "list-cameras shows no multi-planar device"; exit 1; }

for io in dmabuf export copy; do
	alloc=dumb
	[ $io = copy ] && alloc=memfd
	"$tool" camera cam --device "$dev" --size 320x180 --format YUYV --fps 30 --io $io \
		--allocator $alloc --duration 20 >"$PIXSHARE_DIR/camera.out" 2>&1 &
	pid=$!
	out=$("$tool" sub-test cam --wait 10 --count 30) || {
		echo "$io: sub-test failed; the camera said:"
		cat "$PIXSHARE_DIR/camera.out"
		exit 1
	}
	echo "$out"
	info=$("$tool" info cam)
	echo "$info"
	grep -q "v4l2 $io x1" <<<"$info" || { echo "$io: pixshare info does not show the mode"; exit 1; }
	# Every mode's fds are read-only for subscribers (docs/design.md).
	grep -qE '^access: +subscribers read only' <<<"$info" ||
		{ echo "$io: pixshare info does not say the frames are read-only"; exit 1; }
	kill -INT $pid
	wait $pid || true
	cat "$PIXSHARE_DIR/camera.out"
	grep -q '^frames: 30$' <<<"$out" || { echo "$io: the subscriber did not get 30 frames"; exit 1; }
	if [ $io != copy ]; then
		grep -qiE 'copies:? +0\b|0 copies' "$PIXSHARE_DIR/camera.out" ||
			{ echo "dmabuf: the camera reports copies"; exit 1; }
	fi
done
# NV12 in two buffers through the multi-planar API, export mode.
mdev=$(awk '/multi-planar API/ && $1 ~ /^\/dev\/video/ {sub(":", "", $1); print $1; exit}' <<<"$cams")
"$tool" camera mp --device "$mdev" --size 320x180 --v4l2-format NM12 --fps 30 --io export \
	--duration 20 >"$PIXSHARE_DIR/mp.out" 2>&1 &
pid=$!
out=$("$tool" sub-test mp --wait 10 --count 30) || {
	echo "NM12: sub-test failed; the camera said:"
	cat "$PIXSHARE_DIR/mp.out"
	exit 1
}
"$tool" info mp | tee "$PIXSHARE_DIR/info.out"
grep -q "1 image in 2 buffers" "$PIXSHARE_DIR/info.out" || { echo "NM12: not two buffers"; exit 1; }
kill -INT $pid
wait $pid || true
grep -q '^frames: 30$' <<<"$out" || { echo "NM12: the subscriber did not get 30 frames"; exit 1; }

# Three cameras as one set, incomplete sets dropped.
devs=$(awk '/vivid/ && $1 ~ /^\/dev\/video/ && !/multi-planar/ {sub(":", "", $1); printf "--device %s ", $1}' <<<"$cams" |
	cut -d' ' -f1-6)
# shellcheck disable=SC2086 # one word per option
"$tool" camera rig $devs --size 320x180 --format YUYV --fps 30 --sync-tolerance 20 \
	--partial drop --duration 20 >"$PIXSHARE_DIR/rig.out" 2>&1 &
pid=$!
out=$("$tool" sub-test rig --wait 10 --count 30) || {
	echo "rig: sub-test failed; the camera said:"
	cat "$PIXSHARE_DIR/rig.out"
	exit 1
}
echo "$out"
"$tool" info rig | tee "$PIXSHARE_DIR/info.out"
grep -q 'x3' "$PIXSHARE_DIR/info.out" || { echo "rig: pixshare info does not show 3 cameras"; exit 1; }
kill -INT $pid
wait $pid || true
cat "$PIXSHARE_DIR/rig.out"
grep -q '^frames: 30$' <<<"$out" || { echo "rig: the subscriber did not get 30 sets"; exit 1; }
[ "$(grep -c '^/dev/video.*frames' "$PIXSHARE_DIR/rig.out")" = 3 ] ||
	{ echo "rig: the camera did not report 3 cameras"; exit 1; }
rc=0
out=$("$tool" camera x --device /dev/video0 --partial sometimes 2>&1) || rc=$?
[ $rc = 2 ] && grep -q "deliver or drop" <<<"$out" || { echo "--partial accepts a bad policy"; exit 1; }
echo "camera tool: ok"
