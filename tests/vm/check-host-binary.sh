#!/usr/bin/env bash
# vm.host_binaries: a binary built on the host, in the build tree, runs
# unchanged in the guest (the host's root is the guest's) and passes.
# usage: check-host-binary.sh BINARY [ARG…]
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: check-host-binary.sh BINARY [ARG…]" >&2; exit 2; }
[ -x "$1" ] || { echo "FAIL: $1 is not an executable file in the guest"; exit 1; }
echo "running $* in the guest ($(uname -r))"
rc=0
"$@" || rc=$?
echo "$1 exited with status $rc"
if [ $rc -ne 0 ]; then
	echo "FAIL: want status 0"
	exit 1
fi
