#!/usr/bin/env bash
# vm.devices: the guest has the devices the tier promises, found by driver
# name: one vgem and one virtio_gpu DRM device (card and render node each),
# and vivid's capture devices (vivid.n_devs of them, at least 6).
# usage: check-devices.sh VM_DRM_DRIVER   (the helper built from drm_driver.c)
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: check-devices.sh VM_DRM_DRIVER" >&2; exit 2; }
helper=$1
status=0
fail() { echo "FAIL: $*"; status=1; }

shopt -s nullglob
nodes=(/dev/dri/card* /dev/dri/renderD*)
[ ${#nodes[@]} -gt 0 ] || { echo "FAIL: no /dev/dri nodes"; exit 1; }
echo "DRM nodes, by driver (DRM_IOCTL_VERSION):"
map=$("$helper" "${nodes[@]}") || fail "$helper could not query every node"
echo "  ${map//$'\n'/$'\n'  }"

count() { # count KIND DRIVER: nodes of KIND (card|renderD) driven by DRIVER
	local node driver _ n=0
	while read -r node driver _; do
		[[ $node == /dev/dri/$1* && $driver == "$2" ]] && n=$((n + 1))
	done <<<"$map"
	echo $n
}
for driver in vgem virtio_gpu; do
	for kind in card renderD; do
		n=$(count $kind $driver)
		[ "$n" -eq 1 ] || fail "$n $kind nodes of $driver, want 1"
	done
done

echo "V4L2 nodes (/sys/class/video4linux/*/name):"
captures=0
for d in /sys/class/video4linux/*; do
	name=$(cat "$d/name")
	dev=/dev/${d##*/}
	echo "  $dev $name"
	[ -c "$dev" ] || fail "$dev is missing or not a character device"
	[[ $name == vivid-*-vid-cap ]] && captures=$((captures + 1))
done
n_devs=$(cat /sys/module/vivid/parameters/n_devs 2>/dev/null || echo "?")
echo "vivid: n_devs=$n_devs, $captures video capture devices"
[ "$captures" -ge 6 ] || fail "$captures vivid video capture devices, want at least 6"
[ "$captures" = "$n_devs" ] || fail "vivid.n_devs is $n_devs but there are $captures capture devices"
exit $status
