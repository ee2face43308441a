#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of `pixshare ros-bridge` against a real ROS 1 master
# (roscore on a free port of the loopback, its files in a directory of the
# test's own):
# - to ROS: the test pattern in every format the bridge takes, at an odd
#   width with padded rows, through the bridge to a roscpp subscriber
#   (ros_node check) that checks each message's encoding, step, frame_id,
#   pixels and stamp; `rostopic hz` measures the rate; formats ROS cannot
#   express and bad command lines are refused;
# - from ROS: the pattern published by ros_node on two ROS topics with
#   messages no other topic matches, through the bridge into a pixshare
#   topic whose sets ros_px_check checks (pixels, one frame per set,
#   timestamps); a change of size is refused.
# With `cost`, measures instead the bridge's CPU per set beside a plain
# roscpp publisher of the same messages (each with one subscriber).
#
# usage: test_ros_bridge.sh PIXSHARE ROS_NODE ROS_PX_CHECK [cost WxH IMAGES HZ SECONDS]
set -euo pipefail

tool=${1:?usage: test_ros_bridge.sh PIXSHARE ROS_NODE ROS_PX_CHECK [cost WxH IMAGES HZ SECONDS]}
node=${2:?}
pxcheck=${3:?}
mode=${4:-check}
# shellcheck source=tests/tool_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/tool_lib.sh"

for cmd in roscore rostopic python3; do
	if ! command -v "$cmd" >/dev/null; then
		echo "SKIP: $cmd is not installed (python3-roslaunch, python3-rostopic and" \
			"python3-sensor-msgs bring ROS's; scripts/setup installs them)" >&2
		exit 77
	fi
done
[[ -x $(dirname "$tool")/pixshare-ros-bridge ]] || fail "no pixshare-ros-bridge beside $tool"

# roscore is roslaunch, which starts rosmaster and rosout in process groups
# of their own and stops them at SIGINT; any of them still there after 10 s
# is killed.
roscore_pid=
stop_roscore() {
	[[ -n $roscore_pid ]] || return 0
	local children
	children=$(ps -o pid= --ppid "$roscore_pid" || true)
	kill -INT "$roscore_pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$roscore_pid" 2>/dev/null || break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL "$roscore_pid" $children 2>/dev/null || true
	roscore_pid=
}
trap 'stop_roscore; cleanup' EXIT

# A free port: the kernel's pick for a socket bound to port 0.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
export ROS_MASTER_URI=http://127.0.0.1:$port ROS_IP=127.0.0.1 ROS_HOME=$work/ros
export ROS_LOG_DIR=$work/ros/log
unset ROS_HOSTNAME ROS_NAMESPACE
mkdir -p "$ROS_LOG_DIR"
t0=$SECONDS
roscore -p "$port" >"$work/roscore.out" 2>&1 &
roscore_pid=$!
for _ in $(seq 150); do
	rostopic list >/dev/null 2>&1 && break
	kill -0 "$roscore_pid" 2>/dev/null || fail "roscore exited: $(tail -5 "$work/roscore.out")"
	sleep 0.2
done
rostopic list >/dev/null 2>&1 || fail "roscore did not answer on port $port within 30 s"
ok "roscore on 127.0.0.1:$port, answering after $((SECONDS - t0)) s"

# stop NAME: SIGINT to a background command, which must then exit with 0.
stop() {
	kill -INT "${started[$1]}" 2>/dev/null || true
	wait "${started[$1]}" || fail "$1 exited with $?: $(<"$work/$1.err")"
}

# stride TOPIC: the stride of image 0's first plane, as the publisher laid it out.
stride() {
	"$tool" info "$1" | sed -nE 's/^ +plane 0: .*stride ([0-9]+).*/\1/p' | head -1
}

if [[ $mode == cost ]]; then
	size=${5:?} images=${6:?} rate=${7:?} seconds=${8:?}
	topics=()
	for ((i = 0; i < images; i++)); do topics+=("/cost/image$i"); done
	start pub "$tool" pub-test cost --format YUYV --size "$size" --images "$images" \
		--rate "$rate" --quiet
	wait_topic cost
	start sink "$node" sink --duration $((seconds + 4)) "${topics[@]}"
	sleep 1
	expect_ok "$tool" ros-bridge cost --ros-prefix /cost --duration "$seconds" --quiet
	bridge_out=$out
	wait "${started[sink]}" || fail "sink exited with $?: $(<"$work/sink.err")"
	received=$(sed -nE 's/^received: ([0-9]+) messages.*/\1/p' "$work/sink.out")
	stop pub
	echo "$bridge_out"
	sets=$(sed -nE 's/^to ROS: ([0-9]+) sets, ([0-9]+) images.*/\1/p' <<<"$bridge_out")
	copied=$(sed -nE 's/^to ROS: ([0-9]+) sets, ([0-9]+) images.*/\2/p' <<<"$bridge_out")
	copies=$(sed -nE 's/^copies: ([0-9]+) .*/\1/p' <<<"$bridge_out")
	min=$(awk -v r="$rate" -v s="$seconds" 'BEGIN { printf "%d", r * s * 0.8 }')
	((sets >= min)) || fail "the bridge took $sets sets in $seconds s at $rate Hz"
	[[ $copies == "$copied" ]] || fail "$copies copies for $copied images sent to ROS"
	# (Sets before the sink's connection was made are not copied.)
	((copied >= (sets - 10) * images)) || fail "$copied images sent of $sets sets × $images"
	# What roscpp's TCP queue did not drop reached the subscriber.
	((received > 0 && received <= copied)) || fail "the sink received $received of $copied"
	ok "bridge: $sets sets, $copies copies, the sink received $received messages"

	start sink "$node" sink --duration $((seconds + 4)) "${topics[@]/cost/base}"
	sleep 1
	expect_ok "$node" bench --format YUYV --encoding yuv422_yuy2 --size "$size" \
		--images "$images" --rate "$rate" --duration "$seconds" /base
	echo "$out"
	wait "${started[sink]}" || fail "sink exited with $?: $(<"$work/sink.err")"
	bridge_us=$(sed -nE 's/^cpu per set: ([0-9.]+) µs in all.*/\1/p' <<<"$bridge_out")
	base_us=$(sed -nE 's/.*cpu per set: ([0-9.]+) µs in all.*/\1/p' <<<"$out")
	[[ -n $bridge_us && -n $base_us ]] || fail "no CPU figures"
	echo "bridge / roscpp baseline, CPU per set: $bridge_us / $base_us µs" \
		"($(awk -v a="$bridge_us" -v b="$base_us" 'BEGIN { printf "%.2f", a / b }')×)"
	exit 0
fi

# --- to ROS ---------------------------------------------------------------
# pixshare format and the ROS encoding that names its bytes in memory (DRM
# RGB888 is B, G, R in memory: ROS's bgr8).
cases=("YUYV yuv422_yuy2" "UYVY yuv422" "RGB888 bgr8" "BGR888 rgb8" "R8 mono8" "R16 mono16"
	"ARGB8888 bgra8" "ABGR8888 rgba8" "XRGB8888 bgra8" "XBGR8888 rgba8")
for c in "${cases[@]}"; do
	read -r fmt enc <<<"$c"
	t=to_$fmt
	# 99 pixels: an odd width; pub-test pads rows to 64 bytes.
	start pub "$tool" pub-test "$t" --format "$fmt" --size 99x50 --images 3 --rate 30 --quiet
	wait_topic "$t"
	step=$(stride "$t")
	[[ -n $step ]] || fail "no stride for $t"
	frame_id=cam
	[[ $fmt == R8 ]] && frame_id='rig/{i}/optical'
	start bridge "$tool" ros-bridge "$t" --ros-prefix "/$t" --frame-id "$frame_id" --quiet
	expect_ok "$node" check --format "$fmt" --encoding "$enc" --count 15 --step "$step" \
		--frame-id "$frame_id" "/$t/image0" "/$t/image1" "/$t/image2"
	checked=$out
	stop bridge
	stop pub
	bridge_out=$(<"$work/bridge.out")
	images=$(sed -nE 's/^to ROS: [0-9]+ sets, ([0-9]+) images.*/\1/p' <<<"$bridge_out")
	copies=$(sed -nE 's/^copies: ([0-9]+) \(one per image\).*/\1/p' <<<"$bridge_out")
	((images >= 45)) || fail "$fmt: the bridge sent $images images: $bridge_out"
	[[ $copies == "$images" ]] || fail "$fmt: $copies copies for $images images"
	ok "$fmt as $enc, step $step: $checked; $copies copies for $images images"
done

# The rate, as ROS's own tool measures it.
start pub "$tool" pub-test hz --format YUYV --size 160x120 --images 1 --rate 25 --quiet
wait_topic hz
start bridge "$tool" ros-bridge hz --ros-prefix /hz --quiet
run timeout -s INT 10 rostopic hz -w 100 /hz/image0
hz=$(sed -nE 's/^average rate: ([0-9.]+)/\1/p' <<<"$out" | tail -1)
stop bridge
stop pub
pub_hz=$(sed -nE 's/^published: .*\(([0-9.]+) Hz\)/\1/p' "$work/pub.out")
[[ -n $hz && -n $pub_hz ]] || fail "no rate from rostopic hz ($out $err) or pub-test"
awk -v a="$hz" -v b="$pub_hz" 'BEGIN { d = (a - b) / b; exit !(d <= 0.1 && d >= -0.1) }' ||
	fail "rostopic hz measured $hz Hz, pub-test published at $pub_hz Hz"
ok "rostopic hz: $hz Hz; pub-test published at $pub_hz Hz (within 10 %)"

# Formats ROS cannot express, bad names, no master.
for fmt in NV12 P010; do
	start pub "$tool" pub-test "no_$fmt" --format "$fmt" --size 64x16 --images 2 --quiet
	wait_topic "no_$fmt"
	expect_fail "image 0 is $fmt: .*(no encoding|no $fmt encoding).*ROS images can be mono8" \
		"$tool" ros-bridge "no_$fmt" --quiet
	stop pub
done
expect_fail "--ros-prefix: 'bad prefix' makes no ROS name" "$tool" ros-bridge t --ros-prefix \
	'bad prefix'
expect_fail "'cam-1' makes no ROS name \\(give --ros-prefix\\)" "$tool" ros-bridge cam-1
expect_fail "--from-ros: '9in' is no ROS name" "$tool" ros-bridge t --from-ros 9in
expect_fail "--ros-prefix and --frame-id are for the way to ROS" "$tool" ros-bridge t \
	--from-ros /a --frame-id x
expect_fail "--sync-queue, --allocator and --pool are for --from-ros only" "$tool" ros-bridge t \
	--pool 4
expect_fail "missing TOPIC" "$tool" ros-bridge --ros-prefix /x
expect_fail "no ROS master at http://127.0.0.1:9/" env ROS_MASTER_URI=http://127.0.0.1:9/ \
	"$tool" ros-bridge t
expect_ok "$tool" ros-bridge --help
[[ $out == *"--from-ros NAME"* && $out == *"--dir DIR"* ]] || fail "ros-bridge --help: $out"
ok "ros-bridge --help lists the options"

# --- from ROS -------------------------------------------------------------
# Two topics; every 7th frame goes to /in/a alone (8 of 60), which the
# bridge must not make a set of: 52 sets, each image of the same frame.
# (A deep queue: a bridge kept off the CPU for a while must not lose messages
# here, where the counts are checked.)
start bridge "$tool" ros-bridge rev --from-ros /in/a --from-ros in/b --ros-queue 100 --quiet
start check "$pxcheck" rev BGR888 2 30
expect_ok "$node" publish --format BGR888 --encoding rgb8 --size 99x50 --count 60 --rate 30 \
	--pad 3 --unmatched-every 7 /in/a /in/b
wait "${started[check]}" || fail "ros_px_check exited with $?: $(<"$work/check.err")"
checked=$(<"$work/check.out")
stop bridge
bridge_out=$(<"$work/bridge.out")
grep -q "^from ROS: 52 sets, 104 images" <<<"$bridge_out" || fail "bridge: $bridge_out"
grep -q "^/in/a: 60 messages, 8 without a partner of their stamp, 0 refused" <<<"$bridge_out" ||
	fail "bridge: $bridge_out"
grep -q "^/in/b: 52 messages, 0 without a partner of their stamp, 0 refused" <<<"$bridge_out" ||
	fail "bridge: $bridge_out"
grep -q "^copies: 104 (one per image)" <<<"$bridge_out" || fail "bridge: $bridge_out"
ok "rgb8 from ROS as BGR888: $checked; 52 sets of 60 frames, 8 unmatched"

# One topic, YUYV, changing size at frame 21: sets 21 … 30 refused.
start bridge "$tool" ros-bridge rev2 --from-ros /in2/a --ros-queue 100 --quiet
start check "$pxcheck" rev2 YUYV 1 10
expect_ok "$node" publish --format YUYV --encoding yuv422_yuy2 --size 99x50 --count 30 \
	--rate 30 --resize-at 21 /in2/a
wait "${started[check]}" || fail "ros_px_check exited with $?: $(<"$work/check.err")"
checked=$(<"$work/check.out")
stop bridge
grep -q "^/in2/a: 30 messages, 0 without a partner of their stamp, 0 refused, 10 of another" \
	"$work/bridge.out" || fail "bridge: $(<"$work/bridge.out")"
grep -q "/in2/a: 50x25 yuv422_yuy2 refused: the layout of 'rev2' (from its first set) has" \
	"$work/bridge.err" || fail "bridge: $(<"$work/bridge.err")"
grep -q "has 99x50 yuv422_yuy2 here" "$work/bridge.err" || fail "bridge: $(<"$work/bridge.err")"
ok "yuv422_yuy2 from ROS as YUYV: $checked; a new size refused: $(head -1 "$work/bridge.err")"
