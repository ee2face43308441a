/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xf86drm.h>

#include "core/drm_device.h"
#include "core/util.h"

static void driver_name(int fd, char *driver)
{
	drmVersionPtr v = drmGetVersion(fd);
	snprintf(driver, 64, "%s", v && v->name ? v->name : "?");
	drmFreeVersion(v);
}

int px_drm_open_card(const char *device, bool (*accept)(int fd, void *data), void *data,
		     char *path, char *driver, char *why, size_t why_size)
{
	char p[64], d[64];

	if (device) {
		int fd = open(device, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			int ret = -errno;
			snprintf(why, why_size, "%s: %s", device, strerror(errno));
			return ret;
		}
		driver_name(fd, d);
		if (accept && !accept(fd, data)) {
			snprintf(why, why_size, "%s (%s) cannot do this", device, d);
			close(fd);
			return -ENOTSUP;
		}
		if (path)
			px_strlcpy(path, device, 64);
		if (driver)
			px_strlcpy(driver, d, 64);
		return fd;
	}
	int tried = 0;
	for (int i = 0; i < 16; i++) {
		snprintf(p, sizeof(p), "/dev/dri/card%d", i);
		int fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		tried++;
		driver_name(fd, d);
		if (accept && !accept(fd, data)) {
			close(fd);
			continue;
		}
		if (path)
			px_strlcpy(path, p, 64);
		if (driver)
			px_strlcpy(driver, d, 64);
		return fd;
	}
	if (tried)
		snprintf(why, why_size, "none of the %d DRM card nodes can do this", tried);
	else
		snprintf(why, why_size, "no DRM card node (/dev/dri/card*)");
	return -ENOENT;
}

uint64_t px_drm_device_id(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) ? (uint64_t)st.st_rdev : 0;
}
