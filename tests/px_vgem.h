/* SPDX-License-Identifier: MIT */
/* vgem (a real DRM driver, in the vm tier) as the tests' source of sync_files
 * that signal when the test says: a fence attached to a buffer of vgem's,
 * exported as a sync_file, signaled by an ioctl (or by vgem after 10 s). */
#ifndef PX_VGEM_H
#define PX_VGEM_H

#include <dirent.h>
#include <sys/ioctl.h>
#include <xf86drm.h>

#include "core/sync.h"
#include "px_test.h"

/* vgem's fence ioctls (include/uapi/drm/vgem_drm.h; Debian ships no header). */
struct drm_vgem_fence_attach {
	uint32_t handle;
	uint32_t flags;
	uint32_t out_fence;
	uint32_t pad;
};
struct drm_vgem_fence_signal {
	uint32_t fence;
	uint32_t flags;
};
#define VGEM_FENCE_WRITE 0x1
#define DRM_IOCTL_VGEM_FENCE_ATTACH DRM_IOWR(DRM_COMMAND_BASE + 0x1, struct drm_vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL DRM_IOW(DRM_COMMAND_BASE + 0x2, struct drm_vgem_fence_signal)

/* The vgem device's node, found by the DRM driver's name; "" if none. */
static char vgem[64];

static inline bool find_vgem(void)
{
	DIR *d = opendir("/sys/class/drm");
	struct dirent *e;
	while (d && (e = readdir(d)) && !vgem[0]) {
		char dev[64];
		if (strncmp(e->d_name, "card", 4) || strchr(e->d_name, '-'))
			continue;
		snprintf(dev, sizeof(dev), "/dev/dri/%.20s", e->d_name);
		/* By the DRM driver's own name, not the card's number. */
		int fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		drmVersionPtr v = drmGetVersion(fd);
		if (v && !strcmp(v->name, "vgem"))
			snprintf(vgem, sizeof(vgem), "%s", dev);
		drmFreeVersion(v);
		close(fd);
	}
	if (d)
		closedir(d);
	return vgem[0];
}

/* A pending vgem fence on a dma-buf (attached to its implicit fences as a
 * write): returns the fence id for vgem_signal(). */
static inline uint32_t vgem_attach(int drm, int dmabuf)
{
	uint32_t handle;
	REQUIRE_OK(drmPrimeFDToHandle(drm, dmabuf, &handle));
	struct drm_vgem_fence_attach a = {.handle = handle, .flags = VGEM_FENCE_WRITE};
	REQUIRE(drmIoctl(drm, DRM_IOCTL_VGEM_FENCE_ATTACH, &a) == 0);
	struct drm_gem_close c = {.handle = handle};
	drmIoctl(drm, DRM_IOCTL_GEM_CLOSE, &c);
	return a.out_fence;
}

static inline void vgem_signal(int drm, uint32_t fence)
{
	struct drm_vgem_fence_signal s = {.fence = fence};
	REQUIRE(drmIoctl(drm, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) == 0);
}

/* A sync_file that signals when `fence` (a vgem fence on a scratch buffer
 * of our own) is signaled: it is in no frame's implicit fences. */
static inline int scratch_fence(int drm, uint32_t *id)
{
	struct drm_mode_create_dumb c = {.width = 64, .height = 64, .bpp = 32};
	REQUIRE(drmIoctl(drm, DRM_IOCTL_MODE_CREATE_DUMB, &c) == 0);
	int buf;
	REQUIRE_OK(drmPrimeHandleToFD(drm, c.handle, DRM_CLOEXEC | DRM_RDWR, &buf));
	struct drm_mode_destroy_dumb dd = {.handle = c.handle};
	drmIoctl(drm, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
	*id = vgem_attach(drm, buf);
	int fence = px_dmabuf_export_fence(buf, false);
	REQUIRE(fence >= 0);
	close(buf);
	REQUIRE(!px_fence_signaled(fence));
	return fence;
}

#endif
