/* SPDX-License-Identifier: MIT */
/*
 * vm_drm_driver NODE…: prints "NODE DRIVER MAJOR.MINOR.PATCH" for each DRM
 * node, the driver's name as DRM_IOCTL_VERSION reports it (what libdrm's
 * drmGetVersion() returns). Tests pick devices by driver name, never by
 * number: sysfs cannot tell them apart here, since vgem's platform device has
 * no driver link and virtio-gpu's card points at the virtio-pci transport.
 * Exits 1 if any node cannot be opened or queried.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The kernel's struct drm_version (include/uapi/drm/drm.h), stable ABI; kept
 * here so that this helper needs no DRM headers. */
struct drm_version {
	int version_major;
	int version_minor;
	int version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};
#define DRM_IOCTL_VERSION _IOWR('d', 0x00, struct drm_version)

static int print_driver(const char *node)
{
	char name[64] = "";
	struct drm_version v = {.name_len = sizeof(name) - 1, .name = name};
	int fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: open: %s\n", node, strerror(errno));
		return -1;
	}
	int ret = ioctl(fd, DRM_IOCTL_VERSION, &v);
	int err = errno;
	close(fd);
	if (ret < 0) {
		fprintf(stderr, "%s: DRM_IOCTL_VERSION: %s\n", node, strerror(err));
		return -1;
	}
	name[v.name_len < sizeof(name) ? v.name_len : sizeof(name) - 1] = '\0';
	printf("%s %s %d.%d.%d\n", node, name, v.version_major, v.version_minor,
	       v.version_patchlevel);
	return 0;
}

int main(int argc, char **argv)
{
	int status = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s /dev/dri/NODE…\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (print_driver(argv[i]) < 0)
			status = 1;
	}
	return status;
}
