/* SPDX-License-Identifier: MIT */
/*
 * Transform publishers: a fused transform writing straight into the slots of
 * its own topic's pool, which it then publishes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pixshare/layout.h>

#include "gpu/vk_internal.h"

#define ROW_ALIGN 256

struct px_transform_publisher {
	char name[PX_TOPIC_MAX + 24]; /* "transform publisher TOPIC" */
	struct px_vk *vk;
	struct px_publisher *pub;
	struct px_transform *t;
	uint32_t n_images;
	uint32_t src_image[PX_MAX_IMAGES];
	/* Slot s of the pool, imported for the device to write; VK_NULL_HANDLE
	 * buffer: not yet. */
	struct vk_buf outs[PX_MAX_SLOTS];
	/* Neither import works: the transform's own buffer, copied. */
	bool copy;
	bool logged;
	VkSemaphore done; /* exported as a sync_file per set, where supported */
	struct px_transform_publisher_stats stats;
};

static uint32_t fourcc_of(enum px_out_format f)
{
	switch (f) {
	case PX_OUT_RGBA8:
		return PX_FORMAT_ABGR8888;
	case PX_OUT_BGRA8:
		return PX_FORMAT_ARGB8888;
	case PX_OUT_GRAY8:
		return PX_FORMAT_R8;
	case PX_OUT_FLOAT32_PLANAR:
		break;
	}
	return 0;
}

/* Slot `s`'s buffer imported for writing, made at its first use. */
static int output_of(struct px_transform_publisher *tp, const struct px_slot *slot,
		     struct vk_buf **out)
{
	struct vk_buf *vb = &tp->outs[slot->index];
	*out = vb;
	if (vb->buffer)
		return 0;
	const struct px_buffer *b = &slot->buffers[0];
	const struct vk_memory m = {.fd = b->fd,
				    .dmabuf = px_publisher_is_dmabuf(tp->pub),
				    .device = px_publisher_get_device(tp->pub),
				    .data = b->data,
				    .size = b->size};
	char why_dmabuf[200] = "", why_host[200] = "";
	int ret = px_vk_import_memory(tp->vk, &m, vb, why_dmabuf, why_host, sizeof(why_dmabuf));
	if (ret == 0) {
		tp->stats.output_imports++;
		if (!tp->logged)
			px_log_info("%s: output slots by %s import%s%s%s", tp->name,
				    px_import_path_name(vb->path),
				    vb->path == PX_IMPORT_DMABUF ? "" : " (no dma-buf import: ",
				    vb->path == PX_IMPORT_DMABUF ? "" : why_dmabuf,
				    vb->path == PX_IMPORT_DMABUF ? "" : ")");
		tp->logged = true;
		return 0;
	}
	if (!b->data) {
		px_log_error("%s: slot %u: no dma-buf import (%s) and no mapping to copy into",
			     tp->name, slot->index, why_dmabuf);
		return -ENOTSUP;
	}
	px_log_warn("%s: no dma-buf import (%s), no host-memory import (%s): copying every "
		    "output into its slot",
		    tp->name, why_dmabuf, why_host);
	return -ENOTSUP;
}

static int make_semaphore(struct px_transform_publisher *tp)
{
	struct px_vk *vk = tp->vk;
	if (!vk->semaphore_sync_fd_export || !vk->procs.vkGetSemaphoreFdKHR)
		return 0;
	VkExportSemaphoreCreateInfo ei = {.sType = VK_STRUCTURE_TYPE_EXPORT_SEMAPHORE_CREATE_INFO,
					  .handleTypes =
					      VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT};
	VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO,
				    .pNext = &ei};
	VkResult r = vkCreateSemaphore(vk->device, &si, NULL, &tp->done);
	if (r != VK_SUCCESS) {
		return px_vk_fail(tp->name, r, "vkCreateSemaphore (sync_file export)");
	}
	vk->stats.allocations++;
	return 0;
}

PX_API int px_transform_publisher_create_sized(size_t transform_size, size_t publisher_size,
					       struct px_vk *vk,
					       const struct px_transform_params *transform,
					       const struct px_publisher_params *publisher,
					       struct px_transform_publisher **out)
{
	struct px_transform_params tp_ours;
	struct px_publisher_params pp_ours;
	int ret;
	if (out)
		*out = NULL;
	if (!vk || !transform || !publisher || !out) {
		px_log_error("transform publisher: vk, transform and publisher params and out are "
			     "needed");
		return -EINVAL;
	}
	if ((ret = px_abi_in(&tp_ours, sizeof(tp_ours), transform, transform_size,
			     PX_SIZE_THROUGH(struct px_transform_params, flags),
			     "px_transform_publisher_create: struct px_transform_params")) ||
	    (ret = px_abi_in(&pp_ours, sizeof(pp_ours), publisher, publisher_size,
			     PX_SIZE_THROUGH(struct px_publisher_params, external),
			     "px_transform_publisher_create: struct px_publisher_params")))
		return ret;
	const struct px_transform_params *tparams = &tp_ours;
	if (pp_ours.layout || pp_ours.external || tparams->output_size || tparams->output_buffer ||
	    tparams->output_image || !tparams->images || !tparams->n_images ||
	    tparams->n_images > PX_MAX_IMAGES) {
		px_log_error("transform publisher: the transform's output and the topic's layout "
			     "are made here; 1 … %d images",
			     PX_MAX_IMAGES);
		return -EINVAL;
	}
	uint32_t fourcc = fourcc_of(tparams->format);
	if (!fourcc) {
		px_log_error("transform publisher: a %s output has no pixel format to publish",
			     tparams->format == PX_OUT_FLOAT32_PLANAR ? "float32 planar"
								      : "unknown");
		return tparams->format == PX_OUT_FLOAT32_PLANAR ? -ENOTSUP : -EINVAL;
	}
	struct px_image_desc descs[PX_MAX_IMAGES];
	for (uint32_t i = 0; i < tparams->n_images; i++) {
		const struct px_transform_image *im = &tparams->images[i];
		if (im->out_offset || im->out_stride || im->out_plane_stride) {
			px_log_error("transform publisher: image %u: out_offset, out_stride and "
				     "out_plane_stride come from the output topic's layout",
				     i);
			return -EINVAL;
		}
		descs[i] = (struct px_image_desc){fourcc, im->out_width, im->out_height};
	}
	struct px_transform_publisher *tp = calloc(1, sizeof(*tp));
	if (!tp)
		return -ENOMEM;
	tp->vk = vk;
	snprintf(tp->name, sizeof(tp->name), "transform publisher %s",
		 pp_ours.topic ? pp_ours.topic : "?");
	tp->n_images = tparams->n_images;
	struct px_set_layout layout; /* copied by the publisher */
	ret = px_layout_init_packed(&layout, tparams->n_images, descs, ROW_ALIGN, PX_PACK_BATCH);
	if (ret)
		goto err;
	struct px_publisher_params pp = pp_ours;
	pp.layout = &layout;
	if ((ret = px_publisher_create(&pp, &tp->pub)))
		goto err;
	const struct px_set_layout *l = px_publisher_get_layout(tp->pub);
	if (l->n_buffers != 1) {
		px_log_error("%s: the %s allocator put the set into %u buffers; the transform "
			     "writes one",
			     tp->name, px_allocator_name(px_publisher_get_allocator(tp->pub)),
			     l->n_buffers);
		ret = -ENOTSUP;
		goto err;
	}
	struct px_transform_image images[PX_MAX_IMAGES];
	for (uint32_t i = 0; i < tp->n_images; i++) {
		images[i] = tparams->images[i];
		images[i].out_offset = l->images[i].planes[0].offset;
		images[i].out_stride = l->images[i].planes[0].stride;
		tp->src_image[i] = images[i].src_image;
	}
	struct px_transform_params tpp = *tparams;
	tpp.images = images;
	tpp.output_size = l->buffer_sizes[0];

	/* Every slot imported now, while no subscriber holds one: no
	 * allocation on later frames. The first tells whether the device can
	 * write the pool at all. */
	struct px_slot *slots[PX_MAX_SLOTS];
	uint32_t n_slots = 0;
	while (n_slots < PX_MAX_SLOTS &&
	       px_publisher_acquire(tp->pub, 0, &slots[n_slots]) == 0)
		n_slots++;
	struct vk_buf *vb = NULL;
	ret = n_slots ? 0 : -EIO;
	for (uint32_t i = 0; i < n_slots && ret == 0; i++) {
		struct vk_buf *b;
		ret = output_of(tp, slots[i], &b);
		vb = i ? vb : b;
	}
	/* The copy of last resort needs the CPU mapping. */
	bool mappable = n_slots && slots[0]->buffers[0].data;
	for (uint32_t i = 0; i < n_slots; i++)
		px_publisher_cancel(tp->pub, slots[i]);
	if (ret == -ENOTSUP && !vb->buffer && mappable)
		tp->copy = true;
	else if (ret)
		goto err;
	tpp.output_buffer = tp->copy ? VK_NULL_HANDLE : vb->buffer;
	if ((ret = px_transform_create(vk, &tpp, &tp->t)))
		goto err;
	if (!tp->copy && (ret = make_semaphore(tp)))
		goto err;
	*out = tp;
	return 0;
err:
	px_transform_publisher_destroy(tp);
	return ret;
}

PX_API void px_transform_publisher_destroy(struct px_transform_publisher *tp)
{
	if (!tp)
		return;
	struct px_vk *vk = tp->vk;
	px_transform_destroy(tp->t);
	for (uint32_t s = 0; s < PX_MAX_SLOTS; s++)
		px_vk_buffer_destroy(vk, &tp->outs[s].buffer, &tp->outs[s].memory);
	if (tp->done)
		vkDestroySemaphore(vk->device, tp->done, NULL);
	px_publisher_destroy(tp->pub);
	free(tp);
}

PX_API struct px_publisher *px_transform_publisher_get_publisher(struct px_transform_publisher *tp)
{
	return tp ? tp->pub : NULL;
}

static void info_of(const struct px_transform_publisher *tp, const struct px_frame *frame,
		    struct px_publish_info *info)
{
	memset(info, 0, sizeof(*info));
	for (uint32_t i = 0; i < tp->n_images; i++) {
		info->images[i] = frame->images[tp->src_image[i]];
		info->images[i].bytes = 0;
	}
}

PX_API int px_transform_publisher_process(struct px_transform_publisher *tp,
					  const struct px_frame *frame, int timeout_ms)
{
	if (!tp || !frame)
		return -EINVAL;
	struct px_slot *slot;
	int ret = px_publisher_acquire(tp->pub, timeout_ms, &slot);
	if (ret == -EAGAIN || ret == -EBUSY) {
		tp->stats.dropped++;
		return -EAGAIN;
	}
	if (ret)
		return ret;
	struct vk_buf *vb = NULL;
	if (!tp->copy && (ret = output_of(tp, slot, &vb))) {
		/* Slot 0 could be imported, this one not. */
		px_publisher_cancel(tp->pub, slot);
		return ret;
	}
	struct px_publish_info info;
	info_of(tp, frame, &info);
	if ((ret = px_transform_submit_to(tp->t, frame, vb ? vb->buffer : VK_NULL_HANDLE,
					  tp->done))) {
		px_publisher_cancel(tp->pub, slot);
		return ret;
	}
	if (tp->done) {
		/* Published now; readers wait for the device through the fence. */
		struct px_vk *vk = tp->vk;
		int fence = -1;
		VkSemaphoreGetFdInfoKHR gi = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_GET_FD_INFO_KHR,
					      .semaphore = tp->done,
					      .handleType =
						  VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT};
		VkResult r = vk->procs.vkGetSemaphoreFdKHR(vk->device, &gi, &fence);
		if (r == VK_SUCCESS) {
			if (fence < 0) {
				/* Already signalled: -1 is a valid export. */
				ret = px_transform_wait(tp->t, -1);
				if (ret == 0)
					ret = px_publisher_publish(tp->pub, slot, &info);
			} else {
				ret = px_publisher_publish_fenced(tp->pub, slot, &info, fence);
				if (ret == 0)
					tp->stats.fenced++;
				int wret = px_transform_wait(tp->t, -1);
				ret = ret ? ret : wret;
			}
			if (ret == 0) {
				tp->stats.published++;
				tp->stats.output_path = vb->path;
			}
			return ret;
		}
		px_log_error("%s: vkGetSemaphoreFdKHR: %s: publishing after the device finishes, "
			     "from now on",
			     tp->name, px_vk_result_name(r));
	}
	ret = px_transform_wait(tp->t, -1);
	if (tp->done) {
		/* Its signal was not exported, so it stays signalled: no more. */
		vkDeviceWaitIdle(tp->vk->device);
		vkDestroySemaphore(tp->vk->device, tp->done, NULL);
		tp->done = VK_NULL_HANDLE;
	}
	if (ret) {
		px_publisher_cancel(tp->pub, slot);
		return ret;
	}
	if (tp->copy) {
		void *data;
		uint64_t size;
		px_transform_get_output(tp->t, &data, NULL, &size);
		memcpy(slot->buffers[0].data, data, size);
		tp->stats.copies++;
		tp->stats.copy_bytes += size;
	}
	if ((ret = px_publisher_publish(tp->pub, slot, &info)))
		return ret;
	tp->stats.published++;
	tp->stats.output_path = vb ? vb->path : PX_IMPORT_UPLOAD;
	return 0;
}

static int transform_publisher_get_stats_impl(const struct px_transform_publisher *tp,
					      struct px_transform_publisher_stats *stats)
{
	if (!tp || !stats)
		return -EINVAL;
	*stats = tp->stats;
	return 0;
}

PX_API int px_transform_publisher_get_stats_sized(size_t size,
						  const struct px_transform_publisher *tp,
						  struct px_transform_publisher_stats *stats)
{
	struct px_transform_publisher_stats ours;
	if (!stats)
		return -EINVAL;
	int ret = transform_publisher_get_stats_impl(tp, &ours);
	if (ret)
		return ret;
	return px_abi_out(
	    stats, size, PX_SIZE_THROUGH(struct px_transform_publisher_stats, output_path), &ours,
	    sizeof(ours), "px_transform_publisher_get_stats: struct px_transform_publisher_stats");
}
