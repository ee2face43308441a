#!/usr/bin/env bash
# vm.readonly_root: the guest's / is an overlay over the host's root, so a
# file written in the guest never reaches the host, while the results
# directory (the read-write 9p share) does.
# usage: check-readonly-root.sh OUTDIR   (the results directory, as in the guest)
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: check-readonly-root.sh OUTDIR" >&2; exit 2; }
out=$1
status=0
fail() { echo "FAIL: $*"; status=1; }

root_fs=$(stat -f -c %T /)
echo "/: $root_fs ($(findmnt -n -o OPTIONS /))"
[ "$root_fs" = overlayfs ] || fail "/ is $root_fs, want overlayfs"
out_fs=$(findmnt -n -o FSTYPE --target "$out")
echo "$out: $out_fs"
[ "$out_fs" = 9p ] || fail "$out is on $out_fs, want the 9p results share"

# The results share is writable, and what is written there is the host's.
probe=readonly-root-probe.$$
echo shared >"$out/$probe.share"
[ "$(cat "$out/$probe.share")" = shared ] || fail "cannot read back $out/$probe.share"
rm -f "$out/$probe.share"

# Host paths are writable in the guest: the overlay takes the writes.
echo guest >/etc/"$probe"
[ "$(cat /etc/"$probe")" = guest ] || fail "cannot write /etc/$probe in the guest"
rm -f /etc/"$probe"

# Beneath the share's mount point, $out is the host's directory as the overlay
# shows it. A file written there, in a mount namespace without the share,
# must stay in the overlay: the share (the host's real directory) must not
# get it.
# shellcheck disable=SC2016 # $1 and $@ are the inner shell's
under() { unshare -m --propagation private bash -c 'umount "$1" && shift && "$@"' _ "$out" "$@"; }
under_fs=$(under stat -f -c %T "$out")
if [ "$under_fs" != overlayfs ]; then
	echo "SKIP: beneath the share, $out is on $under_fs, not the overlay (a guest tmpfs?)"
	[ $status -eq 0 ] && exit 77
	exit $status
fi
# shellcheck disable=SC2016
under sh -c 'echo guest >"$1"' _ "$out/$probe"
[ "$(under cat "$out/$probe")" = guest ] || fail "the overlay lost $out/$probe"
if [ -e "$out/$probe" ]; then
	fail "$out/$probe, written to the overlay in the guest, reached the host"
	rm -f "$out/$probe"
else
	echo "written in the guest to $out/$probe on the overlay; the host's $out has no such file"
fi
exit $status
