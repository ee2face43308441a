/* SPDX-License-Identifier: MIT */
/*
 * GBM on a DRM card node: one buffer object per image, in the driver's own
 * layout (stride, modifier), exported as a dma-buf.
 *
 * Two habits of Mesa's GBM shape this file. gbm_bo_get_fd() may hand out a
 * read-only dma-buf (kms_swrast does) or a read-write one, so the export is
 * ours (px_drm_export(): read-only, mapped for the publisher through the
 * card). And a bo made without a modifier list
 * has an implicit layout: it is reported as PX_MODIFIER_INVALID, never as the
 * modifier gbm_bo_get_modifier() happens to return.
 */
#include <errno.h>
#include <fcntl.h>
#include <gbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>

#include "core/allocator.h"
#include "core/drm_device.h"
#include "core/util.h"

struct gbm {
	int fd;
	struct gbm_device *dev;
	char path[64], driver[64];
	bool said_rw;  /* logged that the dma-bufs are read-write */
	bool writable; /* PX_ALLOC_WRITABLE_DMABUFS */
};

static bool gbm_opens(int fd, void *data)
{
	struct gbm_device *dev = gbm_create_device(fd);
	if (!dev)
		return false;
	gbm_device_destroy(dev);
	return true;
}

static int gbm_open(const char *device, uint32_t flags, void **priv, char *why, size_t why_size)
{
	struct gbm *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->fd = px_drm_open_card(device, gbm_opens, NULL, g->path, g->driver, why, why_size);
	if (g->fd < 0) {
		int ret = g->fd;
		free(g);
		return ret;
	}
	g->dev = gbm_create_device(g->fd);
	if (!g->dev) {
		snprintf(why, why_size, "%s: gbm_create_device failed", g->path);
		close(g->fd);
		free(g);
		return -ENOTSUP;
	}
	px_log_info("gbm: %s (%s, backend %s)", g->path, g->driver,
		    gbm_device_get_backend_name(g->dev));
	g->writable = flags & PX_ALLOC_WRITABLE_DMABUFS;
	*priv = g;
	return 0;
}

static void gbm_close(void *priv)
{
	struct gbm *g = priv;
	if (!g)
		return;
	gbm_device_destroy(g->dev);
	px_close(&g->fd);
	free(g);
}

/* GBM makes whole images: each buffer must hold exactly one single-plane
 * image from its start. */
static int check_layout(struct gbm *g, const struct px_set_layout *l, char *why, size_t why_size)
{
	char name[16];
	if (l->n_buffers != l->n_images) {
		snprintf(why, why_size, "GBM makes one buffer per image; the layout has %u images "
			 "in %u buffers", l->n_images, l->n_buffers);
		return -ENOTSUP;
	}
	for (uint32_t i = 0; i < l->n_images; i++) {
		const struct px_image_layout *img = &l->images[i];
		px_format_name(img->fourcc, name, sizeof(name));
		if (img->n_planes != 1) {
			snprintf(why, why_size, "GBM here makes single-plane images; image %u is %s",
				 i, name);
			return -ENOTSUP;
		}
		if (img->planes[0].buffer != i || img->planes[0].offset != 0) {
			snprintf(why, why_size, "image %u does not start its own buffer", i);
			return -ENOTSUP;
		}
		if (!gbm_device_is_format_supported(g->dev, img->fourcc, GBM_BO_USE_RENDERING)) {
			snprintf(why, why_size, "%s (%s) cannot make %s", g->path, g->driver, name);
			return -ENOTSUP;
		}
	}
	return 0;
}

static int make_image(struct gbm *g, struct px_image_layout *img, struct px_buffer *out,
		      uint64_t *size, char *why, size_t why_size)
{
	struct gbm_bo *bo = NULL;
	uint64_t modifier = img->modifier;

	if (modifier != PX_MODIFIER_INVALID)
		bo = gbm_bo_create_with_modifiers(g->dev, img->width, img->height, img->fourcc,
						  &modifier, 1);
	if (!bo && modifier == PX_MODIFIER_LINEAR)
		bo = gbm_bo_create(g->dev, img->width, img->height, img->fourcc,
				   GBM_BO_USE_LINEAR | GBM_BO_USE_RENDERING);
	if (!bo && modifier == PX_MODIFIER_INVALID)
		bo = gbm_bo_create(g->dev, img->width, img->height, img->fourcc,
				   GBM_BO_USE_RENDERING);
	if (!bo) {
		char name[16];
		snprintf(why, why_size, "%s (%s): no %ux%u %s bo with modifier 0x%llx: %s", g->path,
			 g->driver, img->width, img->height,
			 px_format_name(img->fourcc, name, sizeof(name)),
			 (unsigned long long)img->modifier, strerror(errno));
		return -ENOTSUP;
	}
	img->planes[0].stride = gbm_bo_get_stride_for_plane(bo, 0);
	img->planes[0].offset = gbm_bo_get_offset(bo, 0);
	/* The bo's rows, in whole pages: no more than the object has. */
	long page = sysconf(_SC_PAGESIZE);
	uint64_t bytes = (uint64_t)img->planes[0].offset +
			 (uint64_t)img->planes[0].stride * gbm_bo_get_height(bo);
	bytes = (bytes + (uint64_t)page - 1) / (uint64_t)page * (uint64_t)page;
	char reason[128], why_ro[96];
	bool ro;
	int ret = px_drm_export(g->fd, gbm_bo_get_handle_for_plane(bo, 0).u32, bytes, g->writable,
				out, &ro, why_ro, sizeof(why_ro), reason, sizeof(reason));
	gbm_bo_destroy(bo); /* the dma-buf (and the mapping) keep the memory */
	if (ret) {
		snprintf(why, why_size, "%s: %s", g->path, reason);
		return ret;
	}
	if (!ro && !g->said_rw) {
		g->said_rw = true;
		px_log_info("gbm: %s (%s): %s: subscribers get read-write dma-bufs", g->path,
			    g->driver, why_ro);
	}
	/* A dma-buf's size is its end (dma_buf_llseek); the object may be
	 * larger than the rows, never smaller. */
	off_t end = lseek(out->fd, 0, SEEK_END);
	lseek(out->fd, 0, SEEK_SET);
	if (end < (off_t)bytes) {
		snprintf(why, why_size, "%s: dma-buf of %lld bytes for %llu", g->path,
			 (long long)end, (unsigned long long)bytes);
		px_buffer_unmap_close(out);
		return -EIO;
	}
	*size = bytes;
	return 0;
}

static int gbm_alloc_slot(void *priv, struct px_set_layout *layout, bool first,
			  struct px_buffer *bufs, char *why, size_t why_size)
{
	struct gbm *g = priv;
	int ret = check_layout(g, layout, why, why_size);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < layout->n_images; i++) {
		struct px_image_layout img = layout->images[i];
		uint64_t size;
		ret = make_image(g, &img, &bufs[i], &size, why, why_size);
		if (!ret && first) {
			layout->images[i] = img;
			layout->buffer_sizes[i] = size;
		} else if (!ret && (img.planes[0].stride != layout->images[i].planes[0].stride ||
				    img.planes[0].offset != layout->images[i].planes[0].offset ||
				    size != layout->buffer_sizes[i])) {
			snprintf(why, why_size, "%s: image %u came out with another layout than in "
				 "the first slot", g->path, i);
			px_buffer_unmap_close(&bufs[i]);
			ret = -EIO;
		}
		if (ret) {
			while (i--)
				px_buffer_unmap_close(&bufs[i]);
			return ret;
		}
	}
	return 0;
}

static uint64_t gbm_device(void *priv)
{
	struct gbm *g = priv;
	return px_drm_device_id(g->fd);
}

const struct px_allocator_ops px_allocator_gbm = {
	.type = PX_ALLOCATOR_GBM,
	.name = "gbm",
	.dmabuf = true,
	.open = gbm_open,
	.close = gbm_close,
	.alloc_slot = gbm_alloc_slot,
	.free_buffer = px_allocator_free_mapped,
	.device = gbm_device,
};
