# SPDX-License-Identifier: MIT
#
# What the pixshare tool's end-to-end tests (test_tool.sh, test_record.sh)
# share: a private topic directory and work directory, removed at exit with
# every background command stopped; fail/ok; run, expect_ok and expect_fail
# (one line on stderr); start; wait_topic; fd_flags and the fds this shell
# inherited without O_CLOEXEC. Sourced after `tool` is set to the pixshare
# executable; `set -euo pipefail` is the caller's.
# (tool is the caller's; out, err, rc and started are read by the caller.)
# shellcheck shell=bash disable=SC2154,SC2034

if [[ ! -x $tool ]]; then
	echo "FAIL: $tool is not an executable" >&2
	exit 1
fi

PIXSHARE_DIR=$(mktemp -d)
export PIXSHARE_DIR
export PIXSHARE_LOG=warn
work=$(mktemp -d)
pids=()

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$PIXSHARE_DIR" "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	echo "ok - $*"
}

# run CMD…: runs a command, keeping its status in $rc, stdout in $out and
# stderr in $err.
run() {
	set +e
	"$@" >"$work/out" 2>"$work/err"
	rc=$?
	set -e
	out=$(<"$work/out")
	err=$(<"$work/err")
}

expect_ok() {
	run "$@"
	[[ $rc == 0 ]] || fail "'$*' exited with $rc: $err"
}

# expect_fail REGEX CMD…: the command fails with one line on stderr that
# matches REGEX.
expect_fail() {
	local re=$1
	shift
	run "$@"
	[[ $rc != 0 ]] || fail "'$*' succeeded; it should have failed"
	[[ $err =~ $re ]] || fail "'$*': stderr '$err' does not match '$re'"
	[[ $(wc -l <"$work/err") == 1 ]] || fail "'$*': stderr is not one line: $err"
	ok "'${*:2}' fails: $err"
}

# start NAME CMD…: runs a command in the background; its pid goes to
# ${started[NAME]}, its output to $work/NAME.out and .err.
declare -A started
start() {
	local name=$1
	shift
	"$@" >"$work/$name.out" 2>"$work/$name.err" &
	started[$name]=$!
	pids+=("$!")
}

wait_topic() {
	for _ in $(seq 200); do
		"$tool" info "$1" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "topic $1 did not appear"
}

fd_flags() {
	awk '/^flags:/ { print $2 }' "/proc/$1/fdinfo/$2" 2>/dev/null
}

# Fds this shell got from its parent without O_CLOEXEC: every child inherits
# them, and they are not the tool's.
inherited=" "
for fd in /proc/"$$"/fd/*; do
	fd=${fd##*/}
	flags=$(fd_flags $$ "$fd") || continue
	if ((fd > 2)) && [[ -n $flags ]] && ! ((8#$flags & 8#2000000)); then
		inherited+="$fd "
	fi
done
