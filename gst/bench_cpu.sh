#!/usr/bin/env bash
# gst/bench_cpu.sh BUILD [SECONDS]: CPU time of `pixsharesrc ! fakesink` against a
# bare C subscriber (`pixshare sub-test`), both on one topic of 6 × 1280x800 YUYV
# at 60 Hz from `pixshare pub-test`, measured at once over SECONDS (default 10)
# from /proc/PID/stat (utime + stime). Prints figures; checks nothing.
set -euo pipefail
build=$(realpath "${1:?usage: gst/bench_cpu.sh BUILD [SECONDS]}")
secs=${2:-10}
tool=$build/tools/pixshare
export GST_PLUGIN_PATH=$build/gst
export GST_REGISTRY=$build/gst/registry-bench.bin
dir=$(mktemp -d /tmp/px-gstbench-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$dir"' EXIT

# Clock ticks of a process so far: utime + stime (fields 14 and 15).
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

"$tool" pub-test cams --dir "$dir" --images 6 --size 1280x800 --format YUYV --rate 60 \
	--quiet >"$dir/pub.log" 2>&1 &
pub=$!
pids+=($pub)
sleep 1
gst-launch-1.0 -m pixsharesrc topic=cams dir="$dir" image-index=0 ! fakesink sync=false \
	>"$dir/gst.log" 2>&1 &
gst=$!
pids+=($gst)
"$tool" sub-test cams --dir "$dir" --duration $((secs + 4)) >"$dir/sub.log" 2>&1 &
sub=$!
pids+=($sub)
sleep 2 # start-up (plugin loading, handshakes) is not measured

p0=$(ticks $pub) g0=$(ticks $gst) s0=$(ticks $sub) t0=$(date +%s.%N)
sleep "$secs"
p1=$(ticks $pub) g1=$(ticks $gst) s1=$(ticks $sub) t1=$(date +%s.%N)
kill -INT $gst
wait $gst || true
wait $sub || true
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
pct() { awk -v t="$1" -v hz="$hz" -v e="$elapsed" 'BEGIN { printf "%.2f %% of one core (%.0f ms CPU/s)", 100 * t / hz / e, 1000 * t / hz / e }'; }

echo "topic: 6 x 1280x800 YUYV at 60 Hz (pixshare pub-test), measured ${elapsed%.*} s at once"
echo "pixsharesrc image-index=0 ! fakesink:  $(pct $((g1 - g0)))"
echo "pixshare sub-test (bare C subscriber): $(pct $((s1 - s0)))"
echo "publisher (drawing the pattern):       $(pct $((p1 - p0)))"
echo "sub-test:"
sed 's/^/  /' "$dir/sub.log"
drops=$(grep -c "GstMessageQOS" "$dir/gst.log" || true)
echo "pixsharesrc: $drops QoS (drop) messages"
