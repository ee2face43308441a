#!/usr/bin/env bash
# The EGL example as a user runs it: a test-pattern publisher (the pixshare
# tool) and egl_import, which imports one image into GL, draws it and writes
# a PNG. Pixel correctness of the import is test_egl's; this checks the
# program end to end. Skips (77) only where EGL cannot be initialised.
set -euo pipefail
tool=$1 example=$2
export PIXSHARE_DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$PIXSHARE_DIR"' EXIT
"$tool" pub-test --format XBGR8888 --size 333x171 --images 2 --rate 10 --duration 60 \
	--quiet egl &
set +e
out=$("$example" egl "$PIXSHARE_DIR/out.png" --image 1 2>&1)
rc=$?
set -e
echo "$out"
if [ $rc -ne 0 ] && grep -q '^EGL: ' <<<"$out"; then
	echo "SKIP: EGL cannot be initialised here"
	exit 77
fi
[ $rc -eq 0 ]
grep -Eq 'image 1, 333x171 XBGR8888, import path: (dmabuf|upload)$' <<<"$out"
# A PNG of 333×171: the signature, then IHDR with width 0x14d and height 0xab.
hdr=$(head -c 24 "$PIXSHARE_DIR/out.png" | od -An -tx1 | tr -d ' \n')
[ "$hdr" = 89504e470d0a1a0a0000000d494844520000014d000000ab ] ||
	{ echo "not a 333x171 PNG: $hdr"; exit 1; }
echo "egl_import: ok"
