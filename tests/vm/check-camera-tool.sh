#!/usr/bin/env bash
# In the guest: `pixshare list-cameras` finds vivid, and `pixshare camera`
# publishes the first vivid capture device in dmabuf mode (dumb buffers, zero
# copies) and in copy mode, while `pixshare sub-test` receives 30 frames each time.
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

for io in dmabuf copy; do
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
	kill -INT $pid
	wait $pid || true
	cat "$PIXSHARE_DIR/camera.out"
	grep -q '^frames: 30$' <<<"$out" || { echo "$io: the subscriber did not get 30 frames"; exit 1; }
	if [ $io = dmabuf ]; then
		grep -qiE 'copies:? +0\b|0 copies' "$PIXSHARE_DIR/camera.out" ||
			{ echo "dmabuf: the camera reports copies"; exit 1; }
	fi
done
echo "camera tool: ok"
