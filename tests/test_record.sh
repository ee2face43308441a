#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of pixshare record, play and info FILE: test patterns
# recorded, played into other topics and recorded again, byte for byte and
# with their timing; recorders stopped by signals and killed; files cut short
# and damaged; an MJPEG recording played and recorded back; bad command lines.
#
# usage: test_record.sh PATH/TO/pixshare [MEDIAN-MS]
#   MEDIAN-MS (default 1): the bound on the median difference of the
#   publish-time intervals, played against recorded; larger for a tool built
#   with sanitizers, which wakes up later.
set -euo pipefail

tool=${1:?usage: test_record.sh PATH/TO/pixshare [MEDIAN-MS]}
median_ms=${2:-1}
# shellcheck source=tests/tool_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/tool_lib.sh"

# finish NAME: waits for a background command, which must succeed.
finish() {
	wait "${started[$1]}" || fail "$1 exited with $?: $(<"$work/$1.err")"
}

# check_cloexec PID WHAT: every fd the process opened itself is close-on-exec;
# `want` (a regex) must be among their targets.
check_cloexec() {
	local pid=$1 what=$2 want=$3 fd flags n=0 targets=""
	for fd in /proc/"$pid"/fd/*; do
		fd=${fd##*/}
		((fd > 2)) || continue
		# (bash's own listing of /proc/$$/fd may have taken an fd number
		# above: an inherited one is skipped only where it is the same.)
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

# frames FILE: `info FILE --frames` into FILE.frames.
frames() {
	"$tool" info "$1" --frames >"$1.frames" || fail "info $1 --frames exited with $?"
}

# same_frames A B FIRST N [RATE]: frames FIRST … FIRST+N−1 of recording A
# (wrapping around to FIRST after A's last: a loop) are frames 0 … N−1 of
# recording B: the same bytes (hash), valid mask, per-image timestamps,
# sequences and sizes, exactly. The publish-time intervals of B, times RATE
# (default 1), are A's: the median difference within MEDIAN-MS (1 ms), and
# every one within 250 ms (other processes share these CPUs: a player kept
# off them for a while publishes late; a wrong rate or order is off on every
# frame). The median and the count over 1 ms go to $timing.
same_frames() {
	local a=$1 b=$2 first=$3 n=$4 rate=${5:-1}
	frames "$a"
	frames "$b"
	[[ $(wc -l <"$b.frames") == "$n" ]] ||
		fail "$b has $(wc -l <"$b.frames") frames, not $n"
	timing=$(awk -v first="$first" -v n="$n" -v rate="$rate" -v bound="$median_ms" '
		# fields: frame I seq S publish_ns P valid M dropped D hash H ts T seqs Q bytes B
		FNR == NR { p[$2] = $6; key[$2] = $8 " " $12 " " $14 " " $16 " " $18; total = $2 + 1; next }
		{
			i = $2; j = first + (i % (total - first))
			if (key[j] != $8 " " $12 " " $14 " " $16 " " $18) {
				print "frame " i " differs from frame " j ": " key[j] " vs " $8 " " $12 " " $14 " " $16 " " $18 > "/dev/stderr"
				bad = 1
			}
			if (i > 0 && j > first) {
				d = (p[j] - p[j - 1]) - ($6 - prev) * rate
				if (d < 0) d = -d
				diff[k++] = d
				if (d > max) max = d
				if (d > 1e6) over++
			}
			prev = $6
		}
		END {
			if (bad) exit 1
			if (k == 0) { print "no intervals"; exit 0 }
			# the median: a selection sort is enough for these counts
			for (x = 0; x < k; x++)
				for (y = x + 1; y < k; y++)
					if (diff[y] < diff[x]) { t = diff[x]; diff[x] = diff[y]; diff[y] = t }
			med = diff[int(k / 2)]
			msg = sprintf("intervals: median off by %.3f ms, %d of %d off by more than 1 ms, max %.3f ms", med / 1e6, over, k, max / 1e6)
			if (med > bound * 1e6 || max > 250e6) { print msg > "/dev/stderr"; exit 1 }
			print msg
		}' "$a.frames" "$b.frames") || fail "$b is not frames $first… of $a"
}

# --- help ----------------------------------------------------------------------
for cmd in record play info; do
	expect_ok "$tool" "$cmd" --help
	[[ $out == "usage: pixshare $cmd"* ]] || fail "$cmd --help printed '$out'"
done
expect_ok "$tool" info --help
[[ $out == *"--frames"* && $out == *"TOPIC|FILE"* ]] || fail "info --help: $out"
expect_ok "$tool" help
[[ $out == *"record "* && $out == *"play "* ]] || fail "help lists no record, play: $out"
ok "record, play and info --help"

# --- (a) 6 × 320x200 YUYV at 60 Hz, recorded, played, recorded again ------------
# The recorder subscribes first, so that it has frame 1 on: the frames played
# are then numbered as recorded, and sub-test --verify checks their pixels
# (the pattern carries the frame number and the timestamp). The publisher
# goes on past the recorder's 60 frames: frames still queued for a
# subscriber are lost when their publisher ends.
start ra "$tool" record cam "$work/a.pxr" --count 60 --wait 10
start pa "$tool" pub-test cam --size 320x200 --format YUYV --images 6 --rate 60 --count 75 \
	--wait-subscribers 1 --quiet
finish ra
finish pa
out=$(<"$work/ra.out")
grep -q "^recorded: 60 frames, [0-9]* bytes (.* MB) in [0-9.]* s to $work/a.pxr$" <<<"$out" ||
	fail "record summary: $out"
grep -q '^sustained: [0-9.]* MB/s' <<<"$out" || fail "record summary: $out"
grep -q '^drops: publisher 0, superseded 0, sequence gaps 0$' <<<"$out" ||
	fail "record summary: $out"
grep -q '^record cam: 6× YUYV 320x200' "$work/ra.err" || fail "record: $(<"$work/ra.err")"
expect_ok "$tool" info "$work/a.pxr"
for want in "format:      pixshare recording, version 1" "topic:       cam, published by \"pixshare pub-test\"" \
	"6 images in 6 buffers" "image 5: YUYV 320x200, modifier LINEAR" \
	"plane 0: buffer 5, offset 0, stride 640" \
	"frames:      60 (sequence 1 to 60, 0 missing, 0 dropped by the publisher)" \
	"image bytes: 43.95 MiB (46080000 bytes)" "index:       yes (60 frames)"; do
	[[ $out == *"$want"* ]] || fail "info a.pxr lacks '$want': $out"
done
# 59 intervals of 1/60 s, unless the publisher was kept off the CPU a while
[[ $out =~ duration:\ +([0-9.]+)\ s\ \(first\ to\ last\ publish\),\ ([0-9.]+)\ Hz\ on\ average ]] ||
	fail "info a.pxr: $out"
awk -v d="${BASH_REMATCH[1]}" -v hz="${BASH_REMATCH[2]}" \
	'BEGIN { exit !(d >= 0.96 && d <= 1.5 && hz >= 39 && hz <= 62) }' ||
	fail "info a.pxr: duration ${BASH_REMATCH[1]} s, ${BASH_REMATCH[2]} Hz"
ok "record --count 60: 60 frames, 46080000 image bytes, an index; info describes it"

# Played into cam2 for a recorder and a checking subscriber.
start pb "$tool" play "$work/a.pxr" cam2 --wait-subscribers 2
start rb "$tool" record cam2 "$work/b.pxr" --wait 10 --quiet
start sb "$tool" sub-test cam2 --qos reliable --verify --wait 10
finish pb
finish rb
finish sb
grep -q '^played: 60 frames in [0-9.]* s' "$work/pb.out" || fail "play: $(<"$work/pb.out")"
grep -q '^frames: 60$' "$work/sb.out" || fail "sub-test of the played topic: $(<"$work/sb.out")"
grep -q '^mismatches: 0 of 360 images$' "$work/sb.out" ||
	fail "sub-test --verify of the played topic: $(<"$work/sb.out")"
same_frames "$work/a.pxr" "$work/b.pxr" 0 60
ok "play: the 60 frames again, byte for byte, pattern verified, timestamps kept, $timing"

# Two images of NV12 at an odd size: planes with padding, two per buffer.
start rn "$tool" record nv "$work/n.pxr" --count 60 --wait 10 --quiet
start pn "$tool" pub-test nv --size 321x201 --format NV12 --images 2 --rate 60 --count 75 \
	--wait-subscribers 1 --quiet
finish rn
finish pn
start pn2 "$tool" play "$work/n.pxr" nv2 --wait-subscribers 2 --quiet
start rn2 "$tool" record nv2 "$work/n2.pxr" --wait 10 --quiet
start sn2 "$tool" sub-test nv2 --qos reliable --verify --wait 10
finish pn2
finish rn2
finish sn2
grep -q '^mismatches: 0 of 120 images$' "$work/sn2.out" || fail "sub-test nv2: $(<"$work/sn2.out")"
same_frames "$work/n.pxr" "$work/n2.pxr" 0 60
expect_ok "$tool" info "$work/n2.pxr"
[[ $out == *"plane 1: buffer 1, offset 77184, stride 384"* ]] || fail "info n2.pxr: $out"
ok "2 × NV12 321x201: recorded, played, recorded: the same bytes, verified, $timing"

# Another layout (rows aligned to 256 bytes, not 64): each image copied row
# by row into the new strides, its pixels still the pattern's.
start pr "$tool" play "$work/n.pxr" nvr --row-align 256 --wait-subscribers 2 --quiet
start rr "$tool" record nvr "$work/nr.pxr" --wait 10 --quiet
start sr "$tool" sub-test nvr --qos reliable --verify --wait 10
finish pr
finish rr
finish sr
grep -q '^mismatches: 0 of 120 images$' "$work/sr.out" || fail "sub-test nvr: $(<"$work/sr.out")"
expect_ok "$tool" info "$work/nr.pxr"
[[ $out == *"plane 1: buffer 1, offset 102912, stride 512"* && $out == *"frames:      60 "* ]] ||
	fail "info nr.pxr: $out"
ok "play --row-align 256: 2 × NV12 321x201 republished at stride 512, every image verified"

# A reliable subscriber that falls behind at the end gets every frame: play
# waits for the frames still queued for it before it ends the stream.
start ps "$tool" play "$work/a.pxr" slow --wait-subscribers 1 --quiet
start ss "$tool" sub-test slow --qos reliable --verify --wait 10
sleep 0.8
kill -STOP "${started[ss]}"
sleep 0.6
kill -CONT "${started[ss]}"
finish ps
finish ss
grep -q '^frames: 60$' "$work/ss.out" || fail "a reliable subscriber stopped for 0.6 s: $(<"$work/ss.out")"
grep -q '^mismatches: 0 of 360 images$' "$work/ss.out" || fail "sub-test slow: $(<"$work/ss.out")"
ok "a reliable subscriber stopped for 0.6 s near the end still gets all 60 frames, verified"

# --start, --count, --loop and --rate.
start pl "$tool" play "$work/a.pxr" loop --start 40 --count 50 --loop --rate 2 \
	--wait-subscribers 1 --quiet
start rl "$tool" record loop "$work/l.pxr" --wait 10 --quiet
finish pl
finish rl
grep -q '^played: 50 frames .* from frame 40 of .*, 2 loops$' "$work/pl.out" ||
	fail "play --loop: $(<"$work/pl.out")"
same_frames "$work/a.pxr" "$work/l.pxr" 40 50 2
ok "play --start 40 --count 50 --loop --rate 2: frames 40–59 twice and 40–49, at twice the speed ($timing)"

# --- (b) recorders stopped by a signal, and killed ------------------------------
start live "$tool" pub-test live --size 320x200 --format YUYV --images 6 --rate 60 \
	--duration 60 --quiet
wait_topic live
start rs "$tool" record live "$work/s.pxr"
start rk "$tool" record live "$work/k.pxr" --qos latest
sleep 1.5
check_cloexec "${started[rs]}" "record" "s\.pxr"
kill -INT "${started[rs]}"
finish rs
grep -q '^recorded: [1-9][0-9]* frames' "$work/rs.out" || fail "record after SIGINT: $(<"$work/rs.out")"
grep -q '^record live: [0-9]* frames, [0-9.]* MB, [0-9.]* MB/s, drops: publisher 0, superseded 0, sequence gaps 0$' \
	"$work/rs.err" ||
	fail "record: no progress line: $(<"$work/rs.err")"
expect_ok "$tool" info "$work/s.pxr"
grep -q '^index:       yes' <<<"$out" || fail "info after SIGINT: $out"
ok "record stopped by SIGINT: $(head -n1 "$work/rs.out"), with its index"

# A player stopped by SIGINT, its fds checked first.
start lp "$tool" play "$work/a.pxr" looping --loop
wait_topic looping
check_cloexec "${started[lp]}" "play" "a\.pxr"
kill -INT "${started[lp]}"
finish lp
grep -q '^played: [1-9][0-9]* frames' "$work/lp.out" || fail "play after SIGINT: $(<"$work/lp.out")"
grep -q '^play looping: stopped by signal 2$' "$work/lp.err" || fail "play: $(<"$work/lp.err")"
[[ ! -e $PIXSHARE_DIR/looping ]] || fail "play left its socket behind"
ok "play --loop stopped by SIGINT: $(head -n1 "$work/lp.out")"

kill -KILL "${started[rk]}"
wait "${started[rk]}" 2>/dev/null || true
expect_ok "$tool" info "$work/k.pxr"
line=$(grep '^index:' <<<"$out")
[[ $line =~ ^index:\ +none:\ cut\ short\ after\ ([0-9]+)\ whole\ frames? ]] ||
	fail "info of a killed recording: $out"
nk=${BASH_REMATCH[1]}
((nk > 0)) || fail "a recording of 1.5 s has no whole frame: $out"
grep -q "^frames:      $nk " <<<"$out" || fail "info: $out"
start pk "$tool" play "$work/k.pxr" killed --wait-subscribers 1 --quiet
start rk2 "$tool" record killed "$work/k2.pxr" --wait 10 --quiet
finish pk
finish rk2
same_frames "$work/k.pxr" "$work/k2.pxr" 0 "$nk"
ok "record killed by SIGKILL: $line; play plays those $nk frames, the same bytes"

# Cut at known places: a frame record of 6 × 320x200 YUYV is 48 + 24 × 6 +
# 8 × 6 + 6 × 128000 bytes, after a header of 200 + 8 × 6 + 88 × 6.
header=776
record=$((48 + 24 * 6 + 8 * 6 + 6 * 128000))
head -c $((header + 10 * record + 5000)) "$work/a.pxr" >"$work/cut.pxr"
expect_ok "$tool" info "$work/cut.pxr"
grep -q '^index:       none: cut short after 10 whole frames (5000 bytes of an unfinished record follow)$' \
	<<<"$out" || fail "info cut.pxr: $out"
grep -q '^frames:      10 (sequence 1 to 10,' <<<"$out" || fail "info cut.pxr: $out"
head -c $((header + 60 * record + 20)) "$work/a.pxr" >"$work/cutindex.pxr"
expect_ok "$tool" info "$work/cutindex.pxr"
grep -q '^index:       none: cut short after 60 whole frames (20 bytes' <<<"$out" ||
	fail "info cutindex.pxr: $out"
size=$(stat -c %s "$work/a.pxr")
head -c $((size - 1)) "$work/a.pxr" >"$work/cuttrailer.pxr"
expect_ok "$tool" info "$work/cuttrailer.pxr"
grep -q '^index:       none: cut short after 60 whole frames' <<<"$out" ||
	fail "info cuttrailer.pxr: $out"
head -c $header "$work/a.pxr" >"$work/empty.pxr"
expect_ok "$tool" info "$work/empty.pxr"
grep -q '^frames:      0$' <<<"$out" || fail "info empty.pxr: $out"
expect_ok "$tool" play "$work/cut.pxr" cut --rate 10 --quiet
grep -q '^played: 10 frames' <<<"$out" || fail "play cut.pxr: $out"
ok "files cut in a record, in the index, in the trailer, after the header: the whole frames found"

# A record's bytes that are no record: the scan stops there.
cp "$work/cut.pxr" "$work/bad.pxr"
printf 'XXXX' | dd of="$work/bad.pxr" bs=1 seek=$((header + 3 * record)) conv=notrunc status=none
expect_ok "$tool" info "$work/bad.pxr"
grep -q '^index:       none: unreadable after 3 whole frames' <<<"$out" || fail "info bad.pxr: $out"
ok "a damaged record: readable up to the frame before it"

# --- (c) bad input --------------------------------------------------------------
expect_fail "cannot open $work/nope.pxr: No such file or directory" \
	"$tool" play "$work/nope.pxr" x
echo "hello, not a recording at all, but long enough" >"$work/text"
expect_fail "$work/text: not a pixshare recording \(no PXRECORD signature\)" \
	"$tool" info "$work/text"
expect_fail "not a pixshare recording" "$tool" play "$work/text" x
cp "$work/a.pxr" "$work/v99.pxr"
printf '\x63' | dd of="$work/v99.pxr" bs=1 seek=8 conv=notrunc status=none
expect_fail "v99.pxr: format version 99; this pixshare reads version 1" \
	"$tool" info "$work/v99.pxr"
head -c 100 "$work/a.pxr" >"$work/short.pxr"
expect_fail "short.pxr: cut short in its header \(100 of 200 bytes\)" "$tool" info "$work/short.pxr"
head -c 500 "$work/a.pxr" >"$work/short2.pxr"
expect_fail "short2.pxr: cut short in its header \(500 of 776 bytes\)" \
	"$tool" play "$work/short2.pxr" x
cp "$work/a.pxr" "$work/images.pxr"
printf '\x11' | dd of="$work/images.pxr" bs=1 seek=16 conv=notrunc status=none
expect_fail "bad header: 17 images in 6 buffers" "$tool" info "$work/images.pxr"
cp "$work/a.pxr" "$work/stride.pxr"
# image 0's plane 0 stride (at 200 + 8 × 6 + 28): 4, below the row's 640 bytes
printf '\x04\x00\x00\x00' | dd of="$work/stride.pxr" bs=1 seek=276 conv=notrunc status=none
expect_fail "bad layout in its header: .*stride" "$tool" info "$work/stride.pxr"
expect_fail "empty.pxr: no whole frame to play" "$tool" play "$work/empty.pxr" x
expect_fail "--start 60: .*a.pxr has 60 frames \(0 to 59\)" "$tool" play "$work/a.pxr" x --start 60
expect_fail "--rate: 0 is out of range" "$tool" play "$work/a.pxr" x --rate 0
expect_fail "unknown allocator" "$tool" play "$work/a.pxr" x --allocator nope
expect_fail "--row-align: layout: row alignment 3 is not a power of two" "$tool" play "$work/a.pxr" x --row-align 3
expect_fail "missing TOPIC" "$tool" play "$work/a.pxr"
expect_fail "missing FILE" "$tool" record live
expect_fail "a.pxr exists \(use --force to overwrite it\)" "$tool" record live "$work/a.pxr"
expect_fail "--frames: for a recording FILE only" "$tool" info live --frames
expect_fail "topic 'nothing' not found" "$tool" record nothing "$work/nothing.pxr"
[[ ! -e $work/nothing.pxr ]] || fail "record of a missing topic left a file"
expect_fail "cannot create $work/no/such/dir.pxr: No such file or directory" \
	"$tool" record live "$work/no/such/dir.pxr"
expect_fail "--qos.*out of range" "$tool" record live "$work/q.pxr" --qos queue:0
expect_ok "$tool" record live "$work/s.pxr" --force --count 5 --quiet
expect_ok "$tool" info "$work/s.pxr"
grep -q '^frames:      5 ' <<<"$out" || fail "record --force: $out"
expect_ok "$tool" record live "$work/d.pxr" --duration 0.5 --quiet
grep -q '^recorded: [1-9][0-9]* frames' <<<"$out" || fail "record --duration: $out"
ok "record --force overwrites; --duration stops"
# A topic named like a file in the working directory is still a topic there:
# only an existing regular file is a recording.
expect_ok "$tool" info live
grep -q '^topic:       live$' <<<"$out" || fail "info live (a topic): $out"
kill -INT "${started[live]}"
finish live

# --- (d) MJPEG -----------------------------------------------------------------
# pub-test draws no MJPEG, so a recording of an MJPEG topic is written here by
# the format's description (docs/recording.md): 30 frames of an MJPEG image
# (a 100000-byte buffer, each frame its own size of random bytes) and a YUYV
# 64x48 image, at 50 Hz. Played as an MJPEG topic and recorded back, it must
# keep each frame's size and only those bytes.
if command -v python3 >/dev/null; then
	python3 - "$work/mj.pxr" <<'EOF'
import os, struct, sys
ROOM, N = 100000, 30
out = open(sys.argv[1], "wb")
hdr = b"PXRECORD" + struct.pack("<IIIIII Q", 1, 392, 2, 2, 0, 0, 123 * 10**18 // 100)
hdr += b"memfd".ljust(16, b"\0") + b"mj".ljust(80, b"\0") + b"synthetic".ljust(64, b"\0")
hdr += struct.pack("<QQ", ROOM, 64 * 48 * 2)
hdr += struct.pack("<IIIIQ", 0x47504A4D, 640, 480, 1, 0) + struct.pack("<IIQ", 0, 0, 0) + bytes(48)
hdr += struct.pack("<IIIIQ", 0x56595559, 64, 48, 1, 0) + struct.pack("<IIQ", 1, 128, 0) + bytes(48)
assert len(hdr) == 392
out.write(hdr)
index, offset = [], len(hdr)
for k in range(N):
    size = 1000 + (k * 7919) % 90000
    pub = 10**9 + k * 20 * 10**6
    rec = struct.pack("<IIQQQQII", 0x52465850, 3, 48 + 48 + 16 + size + 6144, k + 1, pub, pub + 10**5, 0, 0)
    rec += struct.pack("<QQQ", pub - 10**6, k + 100, size) + struct.pack("<QQQ", pub - 10**6, k + 100, 0)
    rec += struct.pack("<QQ", size, 6144) + os.urandom(size) + os.urandom(6144)
    out.write(rec)
    index.append((offset, pub))
    offset += len(rec)
out.write(struct.pack("<IIQ", 0x58495850, 0, N))
for o, p in index:
    out.write(struct.pack("<QQ", o, p))
out.write(struct.pack("<IIQQ", 0x52545850, 0, offset, N) + b"PXRECEND")
EOF
	expect_fail "--row-align: image 0 is compressed \(MJPEG\): it has no rows" \
		"$tool" play "$work/mj.pxr" x --row-align 64
	expect_ok "$tool" info "$work/mj.pxr"
	[[ $out == *"image 0: MJPEG 640x480"* && $out == *"index:       yes (30 frames)"* ]] ||
		fail "info mj.pxr: $out"
	start pm "$tool" play "$work/mj.pxr" mj --wait-subscribers 1 --quiet
	start rm "$tool" record mj "$work/mj2.pxr" --wait 10 --quiet
	finish pm
	finish rm
	same_frames "$work/mj.pxr" "$work/mj2.pxr" 0 30
	expect_ok "$tool" info "$work/mj2.pxr"
	[[ $out == *"image 0: MJPEG 640x480"* ]] || fail "info mj2.pxr: $out"
	# Only each frame's bytes were kept: the sizes' sum, not 30 × 100000.
	want=$(awk '{ split($18, b, ","); s += b[1] + 6144 } END { print s }' "$work/mj.pxr.frames")
	grep -q "^image bytes: .*($want bytes)" <<<"$out" || fail "mj2.pxr keeps not $want bytes: $out"
	ok "MJPEG: played as an MJPEG topic and recorded back, each frame's size and bytes only ($want bytes), $timing"
else
	echo "skip - MJPEG: python3 is needed to write the MJPEG recording (pub-test draws no MJPEG)"
fi

echo "all record tests passed"
