/* SPDX-License-Identifier: MIT */
/*
 * Frames as VkImages: a dma-buf imported with the layout's explicit DRM
 * format modifier and plane layouts (px_vk_import_vkimage). Cached per
 * (pool, slot, image) beside px_vk_import()'s buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <pixshare/layout.h>

#include "gpu/vk_internal.h"

PX_API VkFormat px_vk_format_from_fourcc(uint32_t fourcc)
{
	switch (fourcc) {
	case PX_FORMAT_XRGB8888:
	case PX_FORMAT_ARGB8888:
		return VK_FORMAT_B8G8R8A8_UNORM;
	case PX_FORMAT_XBGR8888:
	case PX_FORMAT_ABGR8888:
		return VK_FORMAT_R8G8B8A8_UNORM;
	case PX_FORMAT_RGB888:
		return VK_FORMAT_B8G8R8_UNORM;
	case PX_FORMAT_BGR888:
		return VK_FORMAT_R8G8B8_UNORM;
	case PX_FORMAT_R8:
		return VK_FORMAT_R8_UNORM;
	case PX_FORMAT_R16:
		return VK_FORMAT_R16_UNORM;
	case PX_FORMAT_YUYV:
		return VK_FORMAT_G8B8G8R8_422_UNORM;
	case PX_FORMAT_UYVY:
		return VK_FORMAT_B8G8R8G8_422_UNORM;
	case PX_FORMAT_NV12:
		return VK_FORMAT_G8_B8R8_2PLANE_420_UNORM;
	case PX_FORMAT_P010:
		return VK_FORMAT_G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16;
	}
	return VK_FORMAT_UNDEFINED;
}

/* How a transform reads a DRM format through VkImages: one per plane, in a
 * format whose channels are the bytes of a pixel in memory order (the
 * shader's fetch() in shaders/transform.comp relies on it), `hmul` / `hdiv`
 * texels to a pixel. YUYV and UYVY are read as R8G8B8A8 of half the width
 * (Y0 U Y1 V, a texel per pair of pixels): Vulkan's own 4:2:2 formats need a
 * sampler Y'CbCr conversion, which texelFetch cannot use. RGB888 and BGR888
 * are read as R8 of three times the width: few drivers take 24-bit formats
 * as images (lavapipe lists no modifier for them; GPUs do not tile them).
 * NV12's planes are an R8 and an R8G8 image (its chroma subsampled 2 × 2),
 * not one 2-plane image: Vulkan's 4:2:0 formats need even sizes, and a
 * plane's tiling is that of its own bytes per texel. */
static const struct read_format {
	uint32_t fourcc;
	uint32_t n_planes;
	VkFormat formats[2];
	uint32_t hmul, hdiv;
} read_formats[] = {
    {PX_FORMAT_XRGB8888, 1, {VK_FORMAT_B8G8R8A8_UNORM}, 1, 1},
    {PX_FORMAT_ARGB8888, 1, {VK_FORMAT_B8G8R8A8_UNORM}, 1, 1},
    {PX_FORMAT_XBGR8888, 1, {VK_FORMAT_R8G8B8A8_UNORM}, 1, 1},
    {PX_FORMAT_ABGR8888, 1, {VK_FORMAT_R8G8B8A8_UNORM}, 1, 1},
    {PX_FORMAT_RGB888, 1, {VK_FORMAT_R8_UNORM}, 3, 1},
    {PX_FORMAT_BGR888, 1, {VK_FORMAT_R8_UNORM}, 3, 1},
    {PX_FORMAT_R8, 1, {VK_FORMAT_R8_UNORM}, 1, 1},
    {PX_FORMAT_YUYV, 1, {VK_FORMAT_R8G8B8A8_UNORM}, 1, 2},
    {PX_FORMAT_UYVY, 1, {VK_FORMAT_R8G8B8A8_UNORM}, 1, 2},
    {PX_FORMAT_NV12, 2, {VK_FORMAT_R8_UNORM, VK_FORMAT_R8G8_UNORM}, 1, 1},
};

static const struct read_format *read_format(uint32_t fourcc)
{
	for (size_t i = 0; i < PX_ARRAY_SIZE(read_formats); i++)
		if (read_formats[i].fourcc == fourcc)
			return &read_formats[i];
	return NULL;
}

/* What VkImage to make: of planes first … first + n_planes - 1 of a
 * layout's image, in `format`, `width` × `height` texels. */
struct img_spec {
	VkFormat format;
	uint32_t width, height;
	uint32_t first, n_planes;
};

static void destroy_img(struct px_vk *vk, struct vk_img *m)
{
	if (m->view)
		vkDestroyImageView(vk->device, m->view, NULL);
	if (m->image)
		vkDestroyImage(vk->device, m->image, NULL);
	if (m->memory)
		vkFreeMemory(vk->device, m->memory, NULL);
	*m = (struct vk_img){0};
}

void px_vk_slot_destroy_vkimages(struct px_vk *vk, struct vk_slot *slot)
{
	for (uint32_t i = 0; i < PX_MAX_IMAGES; i++) {
		destroy_img(vk, &slot->vkimages[i]);
		for (uint32_t p = 0; p < 2; p++)
			destroy_img(vk, &slot->reads[i][p]);
	}
}

/* The format features of `modifier` for `format`, and its plane count;
 * false where the driver does not list the modifier. */
static bool modifier_props(struct px_vk *vk, VkFormat format, uint64_t modifier,
			   VkDrmFormatModifierPropertiesEXT *out)
{
	VkDrmFormatModifierPropertiesListEXT list = {
	    .sType = VK_STRUCTURE_TYPE_DRM_FORMAT_MODIFIER_PROPERTIES_LIST_EXT};
	VkFormatProperties2 fp = {.sType = VK_STRUCTURE_TYPE_FORMAT_PROPERTIES_2, .pNext = &list};
	vkGetPhysicalDeviceFormatProperties2(vk->phys, format, &fp);
	if (!list.drmFormatModifierCount)
		return false;
	VkDrmFormatModifierPropertiesEXT *mods = calloc(list.drmFormatModifierCount, sizeof(*mods));
	if (!mods)
		return false;
	list.pDrmFormatModifierProperties = mods;
	vkGetPhysicalDeviceFormatProperties2(vk->phys, format, &fp);
	bool found = false;
	for (uint32_t i = 0; i < list.drmFormatModifierCount && !found; i++)
		if (mods[i].drmFormatModifier == modifier) {
			*out = mods[i];
			found = true;
		}
	free(mods);
	return found;
}

/* Whether the driver makes such an image, importable from a dma-buf; why
 * not in `why`. */
static bool image_possible(struct px_vk *vk, const struct img_spec *spec, uint64_t modifier,
			   VkImageUsageFlags usage, bool *dedicated, char *why, size_t why_size)
{
	VkFormat format = spec->format;
	uint32_t w = spec->width, h = spec->height;
	VkPhysicalDeviceImageDrmFormatModifierInfoEXT mi = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_DRM_FORMAT_MODIFIER_INFO_EXT,
	    .drmFormatModifier = modifier,
	    .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
	VkPhysicalDeviceExternalImageFormatInfo ei = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO,
	    .pNext = &mi,
	    .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT};
	VkPhysicalDeviceImageFormatInfo2 fi = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_FORMAT_INFO_2,
	    .pNext = &ei,
	    .format = format,
	    .type = VK_IMAGE_TYPE_2D,
	    .tiling = VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT,
	    .usage = usage};
	VkExternalImageFormatProperties ep = {
	    .sType = VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES};
	VkImageFormatProperties2 ip = {.sType = VK_STRUCTURE_TYPE_IMAGE_FORMAT_PROPERTIES_2,
				       .pNext = &ep};
	VkResult r = vkGetPhysicalDeviceImageFormatProperties2(vk->phys, &fi, &ip);
	if (r != VK_SUCCESS) {
		snprintf(why, why_size, "vkGetPhysicalDeviceImageFormatProperties2: %s",
			 px_vk_result_name(r));
		return false;
	}
	const VkExternalMemoryProperties *m = &ep.externalMemoryProperties;
	if (!(m->externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT)) {
		snprintf(why, why_size, "such an image cannot import a dma-buf");
		return false;
	}
	if (w > ip.imageFormatProperties.maxExtent.width ||
	    h > ip.imageFormatProperties.maxExtent.height) {
		snprintf(why, why_size, "%ux%u is above the driver's %ux%u", w, h,
			 ip.imageFormatProperties.maxExtent.width,
			 ip.imageFormatProperties.maxExtent.height);
		return false;
	}
	*dedicated =
	    (m->externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_DEDICATED_ONLY_BIT) != 0;
	return true;
}

/* Imports the planes of image `img` that `spec` names: the VkImage, its
 * memory (a duplicate of `fd`) bound, and with `view` a view of it. On
 * failure nothing is left and `why` says what failed. */
static int import_vkimage(struct px_vk *vk, const struct px_image_layout *img, int fd,
			  const struct img_spec *spec, VkImageUsageFlags usage, bool view,
			  struct vk_img *out, char *why, size_t why_size)
{
	VkFormat format = spec->format;
	VkSubresourceLayout planes[PX_MAX_PLANES] = {0};
	for (uint32_t p = 0; p < spec->n_planes; p++)
		planes[p] = (VkSubresourceLayout){.offset = img->planes[spec->first + p].offset,
						  .rowPitch = img->planes[spec->first + p].stride};
	VkImageDrmFormatModifierExplicitCreateInfoEXT explicit = {
	    .sType = VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_EXPLICIT_CREATE_INFO_EXT,
	    .drmFormatModifier = img->modifier,
	    .drmFormatModifierPlaneCount = spec->n_planes,
	    .pPlaneLayouts = planes};
	VkExternalMemoryImageCreateInfo ext = {
	    .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_IMAGE_CREATE_INFO,
	    .pNext = &explicit,
	    .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT};
	VkImageCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
				.pNext = &ext,
				.imageType = VK_IMAGE_TYPE_2D,
				.format = format,
				.extent = {spec->width, spec->height, 1},
				.mipLevels = 1,
				.arrayLayers = 1,
				.samples = VK_SAMPLE_COUNT_1_BIT,
				.tiling = VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT,
				.usage = usage,
				.sharingMode = VK_SHARING_MODE_EXCLUSIVE,
				.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED};
	VkImage image = VK_NULL_HANDLE;
	VkDeviceMemory memory = VK_NULL_HANDLE;
	VkResult r = vkCreateImage(vk->device, &ci, NULL, &image);
	if (r != VK_SUCCESS) {
		snprintf(why, why_size, "vkCreateImage: %s", px_vk_result_name(r));
		return -ENOTSUP;
	}
	vk->stats.allocations++;

	int ret = -ENOTSUP;
	VkMemoryFdPropertiesKHR fdp = {.sType = VK_STRUCTURE_TYPE_MEMORY_FD_PROPERTIES_KHR};
	r = vk->procs.vkGetMemoryFdPropertiesKHR(
	    vk->device, VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT, fd, &fdp);
	VkMemoryRequirements req;
	vkGetImageMemoryRequirements(vk->device, image, &req);
	int mt = r == VK_SUCCESS ? px_vk_memory_type(vk, req.memoryTypeBits & fdp.memoryTypeBits, 0)
				 : -1;
	off_t fd_size = lseek(fd, 0, SEEK_END);
	if (mt < 0) {
		snprintf(why, why_size, "vkGetMemoryFdPropertiesKHR: %s%s", px_vk_result_name(r),
			 r == VK_SUCCESS ? " but no memory type fits the image" : "");
		goto fail;
	}
	if (fd_size >= 0 && (uint64_t)fd_size < req.size) {
		snprintf(why, why_size, "the image needs %llu bytes; the dma-buf has %lld",
			 (unsigned long long)req.size, (long long)fd_size);
		goto fail;
	}
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0) {
		ret = -errno;
		snprintf(why, why_size, "F_DUPFD_CLOEXEC: %s", strerror(-ret));
		goto fail;
	}
	/* Dedicated always: the memory is this image's alone, and drivers
	 * that need it (DEDICATED_ONLY) get it. */
	VkMemoryDedicatedAllocateInfo ded = {
	    .sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, .image = image};
	VkImportMemoryFdInfoKHR imp = {.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR,
				       .pNext = &ded,
				       .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT,
				       .fd = dup};
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .pNext = &imp,
				   .allocationSize = req.size,
				   .memoryTypeIndex = (uint32_t)mt};
	if ((r = vkAllocateMemory(vk->device, &ai, NULL, &memory)) != VK_SUCCESS) {
		snprintf(why, why_size, "vkAllocateMemory (dma-buf import): %s",
			 px_vk_result_name(r));
		px_close(&dup);
		goto fail;
	}
	vk->stats.allocations++; /* the duplicate is Vulkan's now */
	if ((r = vkBindImageMemory(vk->device, image, memory, 0)) != VK_SUCCESS) {
		snprintf(why, why_size, "vkBindImageMemory: %s", px_vk_result_name(r));
		goto fail;
	}
	/* The driver's word on the modifier the image has. */
	VkImageDrmFormatModifierPropertiesEXT mp = {
	    .sType = VK_STRUCTURE_TYPE_IMAGE_DRM_FORMAT_MODIFIER_PROPERTIES_EXT};
	r = vk->procs.vkGetImageDrmFormatModifierPropertiesEXT(vk->device, image, &mp);
	if (r != VK_SUCCESS || mp.drmFormatModifier != img->modifier) {
		snprintf(why, why_size, "the image has modifier 0x%llx (%s), not 0x%llx",
			 (unsigned long long)mp.drmFormatModifier, px_vk_result_name(r),
			 (unsigned long long)img->modifier);
		goto fail;
	}
	VkImageView v = VK_NULL_HANDLE;
	VkImageViewCreateInfo vi = {.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
				    .image = image,
				    .viewType = VK_IMAGE_VIEW_TYPE_2D,
				    .format = format,
				    .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
	if (view && (r = vkCreateImageView(vk->device, &vi, NULL, &v)) != VK_SUCCESS) {
		snprintf(why, why_size, "vkCreateImageView: %s", px_vk_result_name(r));
		ret = px_vk_errno(r);
		goto fail;
	}
	if (view)
		vk->stats.allocations++;
	*out = (struct vk_img){image, memory, format, usage, v};
	return 0;
fail:
	vkDestroyImage(vk->device, image, NULL);
	if (memory)
		vkFreeMemory(vk->device, memory, NULL);
	return ret;
}

/* The specs of the VkImages of a layout's image: one of all its planes for
 * the application, one per plane for transforms' reads. Returns how many,
 * 0 where the format has none. */
static uint32_t specs_of(const struct px_image_layout *img, bool read, struct img_spec *out)
{
	if (!read) {
		out[0] = (struct img_spec){px_vk_format_from_fourcc(img->fourcc), img->width,
					   img->height, 0, img->n_planes};
		return out[0].format != VK_FORMAT_UNDEFINED;
	}
	const struct read_format *r = read_format(img->fourcc);
	if (!r || r->n_planes != img->n_planes)
		return 0;
	for (uint32_t p = 0; p < r->n_planes; p++) {
		uint32_t sub = p ? 2 : 1; /* NV12's chroma */
		uint64_t w = (img->width + sub - 1) / sub * (uint64_t)r->hmul;
		out[p] = (struct img_spec){r->formats[p], (uint32_t)((w + r->hdiv - 1) / r->hdiv),
					   (img->height + sub - 1) / sub, p, 1};
	}
	return r->n_planes;
}

/* Why the image cannot be a VkImage before any Vulkan call, or NULL. */
static const char *refusal(const struct px_vk *vk, const struct px_frame *frame,
			   const struct px_image_layout *img, bool read, char *buf, size_t size)
{
	char fmt[16];
	struct img_spec specs[2];
	if (!vk->exts.EXT_image_drm_format_modifier)
		return "no " VK_EXT_IMAGE_DRM_FORMAT_MODIFIER_EXTENSION_NAME;
	if (!vk->exts.EXT_external_memory_dma_buf)
		return "no " VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME;
	if (!frame->dmabuf)
		return "the buffers are memfds, not dma-bufs";
	if (frame->device && frame->device != vk->primary_node &&
	    frame->device != vk->render_node &&
	    vk->props.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU) {
		snprintf(buf, size, "the buffers belong to DRM device %u:%u, not to this one",
			 major((dev_t)frame->device), minor((dev_t)frame->device));
		return buf;
	}
	if (img->modifier == PX_MODIFIER_INVALID)
		return "the layout has no explicit modifier (PX_MODIFIER_INVALID)";
	if (!specs_of(img, read, specs)) {
		snprintf(buf, size, "%s has no Vulkan format %s",
			 px_format_name(img->fourcc, fmt, sizeof(fmt)),
			 read ? "that transforms read" : "here");
		return buf;
	}
	for (uint32_t p = 1; !read && p < img->n_planes; p++)
		if (img->planes[p].buffer != img->planes[0].buffer)
			return "its planes lie in different buffers (disjoint images are not made)";
	for (uint32_t p = 0; p < img->n_planes; p++)
		if (frame->buffers[img->planes[p].buffer].fd < 0)
			return "the frame has no fd";
	return NULL;
}

/* Imports the VkImages of image `image` of the frame for the application
 * (one: `out`) or for transforms' reads (one per plane: out[0 … n-1]),
 * where the slot's cache has none yet. Counts hits and imports, and the
 * frame's import by dma-buf. */
static int import_cached(struct px_vk *vk, const struct px_frame *frame, uint32_t image, bool read,
			 struct vk_img **out, uint32_t *n)
{
	struct vk_slot *slot;
	int ret;
	if ((ret = px_vk_cache_slot(vk, frame, image, &slot)))
		return ret;
	const struct px_image_layout *img = &frame->layout->images[image];
	struct vk_img *m = read ? slot->reads[image] : &slot->vkimages[image];
	uint32_t *refused = read ? &vk->pool.read_refused : &vk->pool.vkimage_refused;
	struct img_spec specs[2];
	*n = specs_of(img, read, specs);
	if (m[0].image) {
		vk->stats.cache_hits++;
		goto done;
	}

	char buf[200], why[240] = "";
	const char *no = refusal(vk, frame, img, read, buf, sizeof(buf));
	uint32_t made = 0;
	bool dedicated = false;
	for (uint32_t k = 0; !no && k < *n; k++) {
		const struct img_spec *sp = &specs[k];
		VkDrmFormatModifierPropertiesEXT mp = {0};
		VkImageUsageFlags usage = VK_IMAGE_USAGE_SAMPLED_BIT;
		if (!modifier_props(vk, sp->format, img->modifier, &mp)) {
			snprintf(buf, sizeof(buf),
				 "the driver lists no modifier 0x%llx for VkFormat %d",
				 (unsigned long long)img->modifier, (int)sp->format);
			no = buf;
		} else if (mp.drmFormatModifierPlaneCount != sp->n_planes) {
			snprintf(buf, sizeof(buf),
				 "modifier 0x%llx has %u memory planes for VkFormat %d; the "
				 "layout %u",
				 (unsigned long long)img->modifier, mp.drmFormatModifierPlaneCount,
				 (int)sp->format, sp->n_planes);
			no = buf;
		} else if (!(mp.drmFormatModifierTilingFeatures &
			     VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT)) {
			snprintf(buf, sizeof(buf),
				 "VkFormat %d with modifier 0x%llx cannot be sampled",
				 (int)sp->format, (unsigned long long)img->modifier);
			no = buf;
		}
		if (!no && !read &&
		    (mp.drmFormatModifierTilingFeatures & VK_FORMAT_FEATURE_TRANSFER_SRC_BIT))
			usage |= VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
		if (!no &&
		    !image_possible(vk, sp, img->modifier, usage, &dedicated, why, sizeof(why)))
			no = why;
		if (!no &&
		    (ret = import_vkimage(vk, img, frame->buffers[img->planes[sp->first].buffer].fd,
					  sp, usage, read, &m[k], why, sizeof(why))))
			no = why;
		if (!no)
			made++;
	}
	if (no) {
		for (uint32_t k = 0; k < made; k++)
			destroy_img(vk, &m[k]);
		if (!(*refused & (1u << image)))
			px_log_warn("%s: pool %llu image %u: no VkImage import%s: %s", vk->name,
				    (unsigned long long)frame->pool_id, image,
				    read ? " for a transform" : "", no);
		*refused |= 1u << image;
		return ret ? ret : -ENOTSUP;
	}
	vk->stats.vkimage_imports += made;
	px_log_info("%s: pool %llu slot %u image %u: %u VkImage%s (VkFormat %d, modifier "
		    "0x%llx%s)%s, no copy",
		    vk->name, (unsigned long long)frame->pool_id, frame->slot, image, made,
		    made > 1 ? "s" : "", (int)m[0].format, (unsigned long long)img->modifier,
		    dedicated ? ", dedicated only" : "", read ? " for transforms" : "");
done:
	vk->stats.last_path = PX_IMPORT_DMABUF;
	px_frame_account_import(frame, PX_IMPORT_DMABUF);
	*out = m;
	return 0;
}

PX_API int px_vk_import_vkimage(struct px_vk *vk, const struct px_frame *frame, uint32_t image,
				struct px_vk_vkimage *out)
{
	struct vk_img *m;
	uint32_t n;
	int ret;
	if (!out)
		return -EINVAL;
	if ((ret = import_cached(vk, frame, image, false, &m, &n)))
		return ret;
	const struct px_image_layout *img = &frame->layout->images[image];
	*out = (struct px_vk_vkimage){.image = m->image,
				      .format = m->format,
				      .width = img->width,
				      .height = img->height,
				      .modifier = img->modifier,
				      .usage = m->usage,
				      .queue_family = px_vk_foreign_family(vk)};
	return 0;
}

int px_vk_import_read_image(struct px_vk *vk, const struct px_frame *frame, uint32_t image)
{
	struct vk_img *m;
	uint32_t n;
	return import_cached(vk, frame, image, true, &m, &n);
}
