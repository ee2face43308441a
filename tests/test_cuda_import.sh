#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# examples/cuda_import as a user runs it.
#
#   test_cuda_import.sh errors PIXSHARE EXAMPLE
#       Its command line and the CUDA loader's errors, on any machine:
#       --help, bad arguments (exit 2), a driver library that is not there
#       and one without the driver's entry points (exit 3, "CUDA: …" naming
#       the library and the missing symbol).
#   test_cuda_import.sh run PIXSHARE EXAMPLE
#       End to end against `pixshare pub-test`: a memfd pool (3 NV12 images
#       of 334x172) and, where Vulkan exports a pool here, a Vulkan-exported
#       one. 24 frames each: every image read back through CUDA matches the
#       pattern, every (pool, slot, buffer) is imported once and printed with
#       its path and time, a pool exported by the CUDA device itself takes
#       opaque-fd imports only, a memfd none; --copy copies every buffer of
#       every frame (the fallback path). Skips (77) where libcuda.so.1
#       does not load ("no libcuda.so.1") or CUDA finds no device, and only
#       there.
set -euo pipefail

mode=${1:?usage: test_cuda_import.sh errors|run PIXSHARE EXAMPLE}
tool=${2:?usage: test_cuda_import.sh errors|run PIXSHARE EXAMPLE}
example=${3:?usage: test_cuda_import.sh errors|run PIXSHARE EXAMPLE}
# shellcheck source=tests/tool_lib.sh
source "$(dirname "$0")/tool_lib.sh"
[[ -x $example ]] || fail "$example is not an executable"

first_line() { printf '%s\n' "${1%%$'\n'*}"; }

# fails_with NAME STATUS REGEX ARGS…: the example exits with STATUS, prints
# nothing on stdout, and the first line of its stderr matches REGEX.
fails_with() {
	local name=$1 status=$2 re=$3
	shift 3
	run "$example" "$@"
	[[ $rc == "$status" ]] || fail "$name: exit $rc, expected $status: $err"
	[[ -z $out ]] || fail "$name: printed on stdout: $out"
	[[ $(first_line "$err") =~ $re ]] ||
		fail "$name: stderr '$(first_line "$err")' does not match '$re'"
	ok "$name: exit $rc: $(first_line "$err")"
}

if [[ $mode == errors ]]; then
	run "$example" --help
	[[ $rc == 0 && $out == "usage: example_cuda_import TOPIC "* && -z $err ]] ||
		fail "--help: exit $rc, stdout '$out', stderr '$err'"
	ok "--help"
	fails_with no-topic 2 '^usage: example_cuda_import TOPIC'
	fails_with two-topics 2 '^usage: example_cuda_import TOPIC' a b
	fails_with frames-0 2 "^--frames: '0' is not a number from 1 to 100000$" --frames 0 t
	fails_with frames-junk 2 "^--frames: '3x' is not a number" --frames 3x t
	fails_with frames-missing 2 '^--frames needs a value$' t --frames
	fails_with device-negative 2 "^--device: '-1' is not a number from 0 to 1023$" \
		--device -1 t
	fails_with unknown-option 2 '^unknown option --bogus$' --bogus t
	fails_with no-library 3 \
		'^CUDA: cannot load /nonexistent/libcuda\.so\.1: .*(No such file|cannot open)' \
		--library /nonexistent/libcuda.so.1 t
	fails_with not-the-driver 3 '^CUDA: libc\.so\.6 has no cuInit: ' --library libc.so.6 t
	exit 0
fi
[[ $mode == run ]] || fail "unknown mode $mode (errors or run)"

frames=24

# check NAME: the example's run in $out/$err/$rc read $frames frames of a
# 3-image set, each checked, each buffer imported once.
check() {
	local name=$1
	[[ $rc == 0 ]] || fail "$name: exit $rc: $err"$'\n'"$out"
	local re="^$frames frames, $frames images matched the pattern; "
	re+="imports: ([0-9]+) opaque-fd, ([0-9]+) host-register, ([0-9]+) copy "
	re+="\(mean [0-9.]+ us, max [0-9.]+ us\); ([0-9]+) copies by cuMemcpyHtoD"
	local summary
	summary=$(grep -E "$re" <<<"$out") || fail "$name: no summary line in: $out"
	[[ $summary =~ $re ]]
	local opaque=${BASH_REMATCH[1]} host=${BASH_REMATCH[2]} copy=${BASH_REMATCH[3]}
	local copies=${BASH_REMATCH[4]}
	local imports
	local import_re='^pool [0-9]+ slot [0-9]+ buffer [0-9]+ \([0-9.]+ MiB\): '
	import_re+='(opaque-fd|host-register|copy), [0-9.]+ us'
	imports=$(grep -cE "$import_re" <<<"$out" || true)
	((imports == opaque + host + copy && imports >= 3)) ||
		fail "$name: $imports import lines, the summary says $opaque + $host + $copy"
	local twice
	twice=$(grep -Eo '^pool [0-9]+ slot [0-9]+ buffer [0-9]+ ' <<<"$out" | sort | uniq -d)
	[[ -z $twice ]] || fail "$name: imported more than once: $twice"
	local matched
	local frame_re='^frame [0-9]+ slot [0-9]+ image [0-2]: [0-9.]+ MiB back by cuMemcpyDtoH '
	frame_re+='in [0-9.]+ us, matches the pattern \(code band: frame [0-9]+\)$'
	matched=$(grep -cE "$frame_re" <<<"$out" || true)
	((matched == frames)) || fail "$name: $matched frames matched, not $frames: $out"
	# The copy path copies every buffer of every frame it serves; the
	# others copy nothing.
	if ((copy == 0 && copies != 0)) || ((copy != 0 && copies < frames)); then
		fail "$name: $copy copy imports but $copies copies"
	fi
	echo "$out" | grep -E '^(topic|CUDA device|the pool)'
	ok "$name: $frames frames matched; imports: $opaque opaque-fd, $host host-register," \
		"$copy copy; $copies copies"
	# The paths taken, for the caller.
	paths=""
	if ((opaque)); then paths+=" opaque-fd"; fi
	if ((host)); then paths+=" host-register"; fi
	if ((copy)); then paths+=" copy"; fi
}

start memfd "$tool" pub-test cam --format NV12 --size 334x172 --images 3 --rate 60 \
	--duration 60 --quiet
wait_topic cam
run "$example" cam --frames $frames
if [[ $rc == 3 && $err =~ ^CUDA:\ cannot\ load\ libcuda\.so\.1 ]]; then
	echo "SKIP: no libcuda.so.1 (${err#CUDA: })"
	exit 77
elif [[ $rc == 3 && $err =~ ^CUDA: ]]; then
	echo "SKIP: no CUDA device: ${err#CUDA: }"
	exit 77
fi
check memfd
[[ $paths != *opaque-fd* ]] || fail "memfd: a memfd imported as an opaque fd"

# The copy path, as where the driver refuses the registration: every buffer
# of every frame copied.
run "$example" cam --frames $frames --copy
check memfd-copy
[[ $paths == " copy" ]] || fail "memfd-copy: imported by:$paths"
grep -q "; $((frames * 3)) copies by cuMemcpyHtoD" <<<"$out" ||
	fail "memfd-copy: not $((frames * 3)) copies: $(tail -n 1 <<<"$out")"
grep -q '(host-register not tried: --copy)$' <<<"$out" ||
	fail "memfd-copy: the import lines do not say why: $out"
ok "memfd-copy: $((frames * 3)) copies, each import saying why"

# A Vulkan-exported pool, where Vulkan exports one here.
start vulkan "$tool" pub-test vk --allocator vulkan --format NV12 --size 334x172 --images 3 \
	--rate 60 --duration 60 --quiet
for _ in $(seq 200); do
	"$tool" info vk >/dev/null 2>&1 && break
	kill -0 "${started[vulkan]}" 2>/dev/null || break
	sleep 0.05
done
if ! "$tool" info vk >/dev/null 2>&1; then
	echo "# no Vulkan-exported pool here: $(cat "$work/vulkan.err")"
	exit 0
fi
run "$example" vk --frames $frames
check vulkan
if grep -q '^the pool is a Vulkan export of device .*: this CUDA device$' <<<"$out"; then
	[[ $paths == " opaque-fd" ]] ||
		fail "vulkan: exported by this CUDA device, yet imported by:$paths"
	ok "vulkan: the CUDA device's own export, imported as opaque fds only"
fi
