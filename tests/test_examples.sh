#!/usr/bin/env bash
# Runs the examples as a user would: the publisher and the subscriber as two
# programs on one topic. The subscriber checks every image's pixels.
set -euo pipefail
pub=$1 sub=$2
export PIXSHARE_DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$PIXSHARE_DIR"' EXIT
"$pub" example 150 &
pubpid=$!
out=$("$sub" example 60)
echo "$out"
grep -q '^60 frames, 0 bad images' <<<"$out"
wait $pubpid
echo "examples: ok"
