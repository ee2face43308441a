/* SPDX-License-Identifier: MIT */
/*
 * DRM dumb buffers: linear dma-bufs of any size from any KMS device or vgem,
 * so any format and layout works, multi-planar ones and batches included.
 * Dumb buffers need a card node: render nodes refuse CREATE_DUMB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>
#include <drm_mode.h>

#include "core/allocator.h"
#include "core/drm_device.h"
#include "core/util.h"

/* Buffers are made as 32-bit images 1024 pixels wide: 4096-byte rows. */
#define DUMB_WIDTH 1024u
#define DUMB_ROW (DUMB_WIDTH * 4u)

struct dumb {
	int fd;
	char path[64], driver[64];
	bool said_rw;  /* logged that the dma-bufs are read-write */
	bool writable; /* PX_ALLOC_WRITABLE_DMABUFS */
};

/* DRM_CAP_DUMB_BUFFER is only answered by KMS drivers, and vgem, which has
 * no KMS, makes dumb buffers all the same: ask by making one. */
static bool has_dumb(int fd, void *data)
{
	struct drm_mode_create_dumb create = {.width = 1, .height = 1, .bpp = 32};
	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &create) < 0)
		return false;
	struct drm_mode_destroy_dumb destroy = {.handle = create.handle};
	drmIoctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
	return true;
}

static int dumb_open(const char *device, uint32_t flags, void **priv, char *why, size_t why_size)
{
	struct dumb *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fd = px_drm_open_card(device, has_dumb, NULL, d->path, d->driver, why, why_size);
	if (d->fd < 0) {
		int ret = d->fd;
		free(d);
		return ret;
	}
	px_log_info("dumb: %s (%s)", d->path, d->driver);
	d->writable = flags & PX_ALLOC_WRITABLE_DMABUFS;
	*priv = d;
	return 0;
}

static void dumb_close(void *priv)
{
	struct dumb *d = priv;
	if (!d)
		return;
	px_close(&d->fd);
	free(d);
}

static int dumb_make(void *priv, uint64_t size, struct px_buffer *out, char *why,
		     size_t why_size)
{
	struct dumb *d = priv;
	struct drm_mode_create_dumb create = {
		.width = DUMB_WIDTH,
		.height = (uint32_t)((size + DUMB_ROW - 1) / DUMB_ROW),
		.bpp = 32,
	};
	if (drmIoctl(d->fd, DRM_IOCTL_MODE_CREATE_DUMB, &create) < 0) {
		int ret = -errno;
		snprintf(why, why_size, "%s (%s): CREATE_DUMB of %llu bytes: %s", d->path, d->driver,
			 (unsigned long long)size, strerror(errno));
		return ret;
	}
	char reason[128], why_ro[96];
	bool ro;
	int ret = px_drm_export(d->fd, create.handle, size, d->writable, out, &ro, why_ro,
				sizeof(why_ro), reason, sizeof(reason));
	if (ret)
		snprintf(why, why_size, "%s (%s): %s", d->path, d->driver, reason);
	else if (!ro && !d->said_rw) {
		d->said_rw = true;
		px_log_info("dumb: %s (%s): %s: subscribers get read-write dma-bufs", d->path,
			    d->driver, why_ro);
	}
	/* The dma-buf (and the mapping) hold the object; the handle is no
	 * longer needed. */
	struct drm_mode_destroy_dumb destroy = {.handle = create.handle};
	drmIoctl(d->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
	return ret;
}

static int dumb_alloc_slot(void *priv, struct px_set_layout *layout, bool first,
			   struct px_buffer *bufs, char *why, size_t why_size)
{
	return px_alloc_plain_buffers(priv, layout, bufs, dumb_make, why, why_size);
}

static uint64_t dumb_device(void *priv)
{
	struct dumb *d = priv;
	return px_drm_device_id(d->fd);
}

const struct px_allocator_ops px_allocator_dumb = {
	.type = PX_ALLOCATOR_DUMB,
	.name = "dumb",
	.dmabuf = true,
	.open = dumb_open,
	.close = dumb_close,
	.alloc_slot = dumb_alloc_slot,
	.free_buffer = px_allocator_free_mapped,
	.device = dumb_device,
};
