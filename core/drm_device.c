/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xf86drm.h>
#include <drm_mode.h>

#include "core/dmabuf.h"
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

int px_drm_export(int card, uint32_t handle, uint64_t size, bool writable, struct px_buffer *out,
		  bool *read_only, char *why_ro, size_t why_ro_size, char *why, size_t why_size)
{
	/* The mapping holds its own reference to the object. */
	struct drm_mode_map_dumb map = {.handle = handle};
	void *data = MAP_FAILED;
	if (writable) {
		if (why_ro)
			snprintf(why_ro, why_ro_size, "read-write dma-bufs were asked for");
	} else if (drmIoctl(card, DRM_IOCTL_MODE_MAP_DUMB, &map) < 0) {
		if (why_ro)
			snprintf(why_ro, why_ro_size, "MODE_MAP_DUMB: %s", strerror(errno));
	} else if ((data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, card,
				(off_t)map.offset)) == MAP_FAILED) {
		if (why_ro)
			snprintf(why_ro, why_ro_size, "mmap of the card node: %s", strerror(errno));
	}
	*read_only = data != MAP_FAILED;
	int fd = -1;
	int ret = drmPrimeHandleToFD(card, handle, DRM_CLOEXEC | (*read_only ? 0 : DRM_RDWR), &fd);
	if (ret) {
		snprintf(why, why_size, "PRIME_HANDLE_TO_FD: %s", strerror(-ret));
		if (data != MAP_FAILED)
			munmap(data, size);
		return ret < 0 ? ret : -EIO;
	}
	out->fd = fd;
	out->size = size;
	if (!*read_only)
		return px_dmabuf_map(out);
	out->data = data;
	return 0;
}
