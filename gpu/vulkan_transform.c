/* SPDX-License-Identifier: MIT */
/*
 * Fused transforms: one compute dispatch per set over imported frames
 * (shaders/transform.comp), writing into one preallocated output buffer.
 */
#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pixshare/layout.h>

#include "core/sync.h"
#include "gpu/vk_internal.h"

static const uint32_t transform_spv[] =
#include "transform.comp.spv.h"
    ;
/* The same, writing a storage image (PX_OUT_IMAGE). */
static const uint32_t transform_image_spv[] =
#include "transform_image.comp.spv.h"
    ;
/* Both, reading VkImages (PX_IN_IMAGE). */
static const uint32_t transform_vkin_spv[] =
#include "transform_vkin.comp.spv.h"
    ;
static const uint32_t transform_vkin_image_spv[] =
#include "transform_vkin_image.comp.spv.h"
    ;

/* The SPIR-V of each variant (VK_OUT_* + VK_IN_IMAGES). */
static const struct {
	const uint32_t *code;
	size_t size;
} variant_spv[VK_TF_VARIANTS] = {
    [VK_OUT_BUFFER] = {transform_spv, sizeof(transform_spv)},
    [VK_OUT_IMAGE] = {transform_image_spv, sizeof(transform_image_spv)},
    [VK_IN_IMAGES + VK_OUT_BUFFER] = {transform_vkin_spv, sizeof(transform_vkin_spv)},
    [VK_IN_IMAGES + VK_OUT_IMAGE] = {transform_vkin_image_spv, sizeof(transform_vkin_image_spv)},
};

#define MAX_OUT_SIZE 16384u
#define FENCE_TIMEOUT_MS 10000
/* Input buffers bound at once (inb[] in the shader): the distinct buffers the
 * transform's images read. 16 + 2 storage buffers fit every device's
 * maxPerStageDescriptorStorageBuffers of 32 or more (lavapipe's is 32). */
#define N_INPUTS 16
/* Views bound at once where the images are read as VkImages (intex[] in the
 * shader): one per plane read (two for NV12) of each distinct source image. */
#define N_TEXTURES (2 * PX_MAX_IMAGES)
#define LOCAL_SIZE 16u

/* Source kinds: K_* in the shader. */
enum kind {
	KIND_XRGB = 0,
	KIND_XBGR = 1,
	KIND_RGB24 = 2,
	KIND_BGR24 = 3,
	KIND_R8 = 4,
	KIND_YUYV = 5,
	KIND_UYVY = 6,
	KIND_NV12 = 7,
};

/* struct Img of the shader, std430. */
struct shader_image {
	uint32_t in_buf0, in_off0, in_stride0, in_buf1;
	uint32_t in_off1, in_stride1, kind, pad0;
	uint32_t crop_x, crop_y, crop_w, crop_h;
	uint32_t rot, flip, filter, out_fmt;
	uint32_t out_w, out_h, out_off, out_stride;
	uint32_t out_plane, rot_w, rot_h, out_x;
	uint32_t out_y, pad1, pad2, pad3;
	float yuv[4];
	float range[4];
	float luma[4];
	float mean[4];
	float inv_std[4];
	float border[4];
	float rotm[4];
};
_Static_assert(sizeof(struct shader_image) == 224, "std430 layout of Img");

struct px_transform {
	char name[32]; /* "transform N": what its log messages start with */
	struct px_vk *vk;
	uint32_t n_images;
	struct px_transform_image images[PX_MAX_IMAGES];
	enum px_out_format format;
	uint32_t max_w, max_h;

	uint32_t flags;	      /* PX_TRANSFORM_* */
	uint32_t out_kind;    /* VK_OUT_* */
	VkImageView out_view; /* VK_OUT_IMAGE: the application's */
	VkBuffer out;	      /* VK_OUT_BUFFER */
	bool own_out;
	VkDeviceMemory out_memory;
	void *out_map;
	uint64_t out_size;
	VkBuffer params;
	VkDeviceMemory params_memory;
	struct shader_image *params_map;

	VkDescriptorPool descriptor_pool;
	VkDescriptorSet sets[PX_MAX_SLOTS];
	VkBuffer set_out[PX_MAX_SLOTS]; /* the output each set shows */
	VkCommandPool command_pool;
	VkCommandBuffer cmd;
	VkFence fence;
	VkSemaphore acquire; /* where sync_files are imported as semaphores */

	uint32_t n_inputs;
	uint32_t input_buffer[N_INPUTS]; /* descriptor d shows the set's buffer input_buffer[d] */
	/* Where the current pool's images are read as VkImages, one per plane
	 * (variant out_kind + VK_IN_IMAGES): descriptor d shows the VkImage of
	 * plane input_plane[d] % 2 of image input_plane[d] / 2. */
	uint32_t n_textures;
	uint32_t input_plane[N_TEXTURES];
	uint32_t variant;		 /* of the pipeline */
	VkPipeline pipeline;		 /* the px_vk's, for the current pool's kinds */
	uint64_t pool_id;		 /* of the descriptor sets and parameters */
	uint64_t generation;		 /* the px_vk's, when the sets were made */
	struct px_set_layout layout;
	bool pending;
};

PX_API uint32_t px_out_format_bpp(enum px_out_format format)
{
	switch (format) {
	case PX_OUT_RGBA8:
	case PX_OUT_BGRA8:
	case PX_OUT_FLOAT32_PLANAR:
		return 4;
	case PX_OUT_GRAY8:
		return 1;
	}
	return 0;
}

PX_API int px_transform_image_scale(struct px_transform_image *im,
				    const struct px_image_layout *src, double factor)
{
	if (!im || !src || !(factor > 0 && factor <= 64))
		return -EINVAL;
	uint64_t cw = im->crop_width ? im->crop_width : src->width;
	uint64_t ch = im->crop_height ? im->crop_height : src->height;
	uint64_t cx = im->crop_width ? im->crop_x : 0, cy = im->crop_height ? im->crop_y : 0;
	if (cx + cw > src->width || cy + ch > src->height)
		return -EINVAL;
	double w = (double)cw, h = (double)ch;
	if (im->rotation == PX_ROTATE_90 || im->rotation == PX_ROTATE_270) {
		w = (double)ch;
		h = (double)cw;
	} else if (im->rotation == PX_ROTATE_ANY) {
		double a = im->angle * M_PI / 180.0;
		w = ceil((double)cw * fabs(cos(a)) + (double)ch * fabs(sin(a)) - 1e-6);
		h = ceil((double)cw * fabs(sin(a)) + (double)ch * fabs(cos(a)) - 1e-6);
	}
	double ow = floor(w * factor + 0.5), oh = floor(h * factor + 0.5);
	ow = ow < 1 ? 1 : ow;
	oh = oh < 1 ? 1 : oh;
	if (ow > MAX_OUT_SIZE || oh > MAX_OUT_SIZE)
		return -EINVAL;
	im->out_width = (uint32_t)ow;
	im->out_height = (uint32_t)oh;
	return 0;
}

static uint32_t out_channels(enum px_out_format f)
{
	return f == PX_OUT_FLOAT32_PLANAR ? 3 : 1;
}

/* Checks one image's output and fills in its defaults. Returns 0 and, for a
 * buffer output, the byte after its last in `end`; -ENOSPC where its
 * rectangle is not inside the output image `oi` (may be NULL); else -EINVAL.
 * Errors give their reason in `why`. */
static int check_image(struct px_transform_image *im, enum px_out_format format,
		       const struct px_transform_output_image *oi, uint64_t *end, char *why,
		       size_t why_size)
{
	uint32_t bpp = px_out_format_bpp(format);
	if (!im->out_width || !im->out_height || im->out_width > MAX_OUT_SIZE ||
	    im->out_height > MAX_OUT_SIZE) {
		snprintf(why, why_size, "output size %ux%u is not within 1…%u", im->out_width,
			 im->out_height, MAX_OUT_SIZE);
		return -EINVAL;
	}
	if (im->rotation == PX_ROTATE_ANY &&
	    (im->filter == PX_FILTER_AREA || !(fabsf(im->angle) <= 1e6f))) {
		snprintf(why, why_size,
			 "any-angle rotation takes nearest, bilinear and bicubic, "
			 "and a finite angle");
		return -EINVAL;
	}
	if (im->rotation > PX_ROTATE_ANY || im->flip > (PX_FLIP_H | PX_FLIP_V) ||
	    im->filter > PX_FILTER_AREA || im->matrix > PX_MATRIX_BT709 ||
	    im->src_image >= PX_MAX_IMAGES) {
		snprintf(why, why_size, "unknown rotation, flip, filter, matrix or image index");
		return -EINVAL;
	}
	for (int c = 0; c < 3; c++)
		if (!(im->std[c] != 0.0f))
			im->std[c] = 1.0f;
	if (oi) {
		if (im->out_offset || im->out_stride || im->out_plane_stride) {
			snprintf(why, why_size,
				 "an output image places outputs by out_x and out_y: "
				 "out_offset, out_stride and out_plane_stride must be 0");
			return -EINVAL;
		}
		if ((uint64_t)im->out_x + im->out_width > oi->width ||
		    (uint64_t)im->out_y + im->out_height > oi->height) {
			snprintf(why, why_size,
				 "its %ux%u output at (%u, %u) is not inside the %ux%u output "
				 "image",
				 im->out_width, im->out_height, im->out_x, im->out_y, oi->width,
				 oi->height);
			return -ENOSPC;
		}
		return 0;
	}
	if (im->out_x || im->out_y) {
		snprintf(why, why_size, "out_x and out_y place outputs in an output image only");
		return -EINVAL;
	}
	if (!im->out_stride)
		im->out_stride = im->out_width * bpp;
	if ((uint64_t)im->out_stride < (uint64_t)im->out_width * bpp) {
		snprintf(why, why_size, "row stride %u < %u pixels × %u bytes", im->out_stride,
			 im->out_width, bpp);
		return -EINVAL;
	}
	if (format == PX_OUT_FLOAT32_PLANAR && !im->out_plane_stride)
		im->out_plane_stride = (uint64_t)im->out_stride * im->out_height;
	uint64_t plane_bytes =
	    (uint64_t)im->out_stride * (im->out_height - 1) + (uint64_t)im->out_width * bpp;
	if (format == PX_OUT_FLOAT32_PLANAR && im->out_plane_stride < plane_bytes) {
		snprintf(why, why_size, "plane stride %llu < the %llu bytes of a plane",
			 (unsigned long long)im->out_plane_stride, (unsigned long long)plane_bytes);
		return -EINVAL;
	}
	if (bpp == 4 && (im->out_offset % 4 || im->out_stride % 4 || im->out_plane_stride % 4)) {
		snprintf(why, why_size,
			 "offset %llu, stride %u and plane stride %llu must be "
			 "multiples of 4",
			 (unsigned long long)im->out_offset, im->out_stride,
			 (unsigned long long)im->out_plane_stride);
		return -EINVAL;
	}
	*end = im->out_offset + (out_channels(format) - 1) * im->out_plane_stride + plane_bytes;
	return 0;
}

/* Why the device cannot run a variant's shader, or NULL. */
static const char *variant_refusal(const struct px_vk *vk, uint32_t kind, char *buf, size_t size)
{
	if (vk->props.limits.maxPerStageDescriptorStorageBuffers < N_INPUTS + 2) {
		snprintf(buf, size, "it binds %u storage buffers per stage: transforms need %d",
			 vk->props.limits.maxPerStageDescriptorStorageBuffers, N_INPUTS + 2);
		return buf;
	}
	if (!(kind & VK_IN_IMAGES))
		return NULL;
	/* Reading frames as VkImages. */
	if (!vk->exts.EXT_image_drm_format_modifier || !vk->exts.EXT_external_memory_dma_buf)
		return "VkImage reads need " VK_EXT_IMAGE_DRM_FORMAT_MODIFIER_EXTENSION_NAME
		       " and " VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME;
	if (!vk->sampled_image_indexing) {
		snprintf(buf, size,
			 "VkImage reads need the feature "
			 "shaderSampledImageArrayDynamicIndexing%s",
			 vk->adopted ? " (enabled, and named in px_vk_params.enabled_features)"
				     : "");
		return buf;
	}
	if (vk->props.limits.maxPerStageDescriptorSampledImages < N_TEXTURES) {
		snprintf(buf, size, "it binds %u sampled images per stage: transforms need %d",
			 vk->props.limits.maxPerStageDescriptorSampledImages, N_TEXTURES);
		return buf;
	}
	return NULL;
}

/* The transform shader of a device, made by its first transform and shared
 * by all. Per variant: the output kind (VK_OUT_*: a storage buffer, or a
 * storage image), + VK_IN_IMAGES where it reads VkImages instead of buffers.
 * Pipelines by variant and what their images use (the shader's
 * specialization constants), made at the first frame that needs each. */
struct vk_tf_cache {
	VkDescriptorSetLayout set_layout[VK_TF_VARIANTS];
	VkPipelineLayout pipeline_layout[VK_TF_VARIANTS];
	VkShaderModule module[VK_TF_VARIANTS];
	struct {
		uint32_t variant, kinds, filters, rots, format;
		VkPipeline pipeline;
	} pipelines[64];
	uint32_t n_pipelines;
};

/* The shader of a variant, shared by the transforms of a px_vk. */
static int shared_pipeline(struct px_vk *vk, uint32_t kind)
{
	VkDevice dev = vk->device;
	VkResult r;
	const char *what;
	char buf[160];
	if (!vk->tf_cache && !(vk->tf_cache = calloc(1, sizeof(*vk->tf_cache))))
		return -ENOMEM;
	struct vk_tf_cache *c = vk->tf_cache;
	if (c->module[kind])
		return 0;
	const char *no = variant_refusal(vk, kind, buf, sizeof(buf));
	if (no) {
		px_log_error("%s: %s: %s", vk->name, vk->props.deviceName, no);
		return -ENOTSUP;
	}
	bool out_image = (kind & ~(uint32_t)VK_IN_IMAGES) == VK_OUT_IMAGE;
	VkDescriptorType out_type =
	    out_image ? VK_DESCRIPTOR_TYPE_STORAGE_IMAGE : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
	VkDescriptorSetLayoutBinding bindings[] = {
	    (kind & VK_IN_IMAGES)
		? (VkDescriptorSetLayoutBinding){0, VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE, N_TEXTURES,
						 VK_SHADER_STAGE_COMPUTE_BIT, NULL}
		: (VkDescriptorSetLayoutBinding){0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, N_INPUTS,
						 VK_SHADER_STAGE_COMPUTE_BIT, NULL},
	    {1, out_type, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
	    {2, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
	};
	VkDescriptorSetLayoutCreateInfo dl = {
	    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
	    .bindingCount = PX_ARRAY_SIZE(bindings),
	    .pBindings = bindings};
	what = "vkCreateDescriptorSetLayout";
	if ((r = vkCreateDescriptorSetLayout(dev, &dl, NULL, &c->set_layout[kind])) != VK_SUCCESS)
		goto err;
	vk->stats.allocations++;
	VkPipelineLayoutCreateInfo pl = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
					 .setLayoutCount = 1,
					 .pSetLayouts = &c->set_layout[kind]};
	what = "vkCreatePipelineLayout";
	if ((r = vkCreatePipelineLayout(dev, &pl, NULL, &c->pipeline_layout[kind])) != VK_SUCCESS)
		goto err;
	vk->stats.allocations++;
	VkShaderModuleCreateInfo sm = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
				       .codeSize = variant_spv[kind].size,
				       .pCode = variant_spv[kind].code};
	what = "vkCreateShaderModule";
	if ((r = vkCreateShaderModule(dev, &sm, NULL, &c->module[kind])) != VK_SUCCESS)
		goto err;
	vk->stats.allocations++;
	return 0;
err:
	px_log_error("%s: %s: %s", vk->name, what, px_vk_result_name(r));
	/* Nothing uses the kind's objects yet. */
	if (c->pipeline_layout[kind])
		vkDestroyPipelineLayout(dev, c->pipeline_layout[kind], NULL);
	if (c->set_layout[kind])
		vkDestroyDescriptorSetLayout(dev, c->set_layout[kind], NULL);
	c->pipeline_layout[kind] = VK_NULL_HANDLE;
	c->set_layout[kind] = VK_NULL_HANDLE;
	return px_vk_errno(r);
}

/* Entries of c->pipelines kept for the pipelines that take every kind
 * and filter, one per variant and output format. */
#define FALLBACK_PIPELINES (VK_TF_VARIANTS * 4)

/* The pipeline for the variant, and the kinds, filters and output format of
 * a transform. */
static int get_pipeline(struct px_vk *vk, uint32_t variant, uint32_t kinds, uint32_t filters,
			uint32_t rots, uint32_t format, VkPipeline *out)
{
	struct vk_tf_cache *c = vk->tf_cache;
	for (uint32_t i = 0; i < c->n_pipelines; i++) {
		if (c->pipelines[i].variant == variant && c->pipelines[i].kinds == kinds &&
		    c->pipelines[i].filters == filters && c->pipelines[i].rots == rots &&
		    c->pipelines[i].format == format) {
			*out = c->pipelines[i].pipeline;
			return 0;
		}
	}
	/* A full cache falls back to the pipelines that take every kind and
	 * filter, and never destroys a pipeline a transform may use. */
	if (c->n_pipelines >= PX_ARRAY_SIZE(c->pipelines) - FALLBACK_PIPELINES &&
	    (kinds != 0xff || filters != 0xf || rots != 0x1f))
		return get_pipeline(vk, variant, 0xff, 0xf, 0x1f, format, out);
	const uint32_t values[4] = {kinds, filters, format, rots};
	const VkSpecializationMapEntry map[4] = {{0, 0, 4}, {1, 4, 4}, {2, 8, 4}, {3, 12, 4}};
	VkSpecializationInfo spec = {4, map, sizeof(values), values};
	VkComputePipelineCreateInfo cp = {
	    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
	    .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
		      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
		      .module = c->module[variant],
		      .pName = "main",
		      .pSpecializationInfo = &spec},
	    .layout = c->pipeline_layout[variant]};
	VkPipeline p;
	VkResult r = vkCreateComputePipelines(vk->device, VK_NULL_HANDLE, 1, &cp, NULL, &p);
	if (r != VK_SUCCESS) {
		return px_vk_fail(vk->name, r, "vkCreateComputePipelines");
	}
	vk->stats.allocations++;
	c->pipelines[c->n_pipelines].variant = variant;
	c->pipelines[c->n_pipelines].kinds = kinds;
	c->pipelines[c->n_pipelines].filters = filters;
	c->pipelines[c->n_pipelines].rots = rots;
	c->pipelines[c->n_pipelines].format = format;
	c->pipelines[c->n_pipelines++].pipeline = p;
	*out = p;
	return 0;
}

void px_vk_transform_finish(struct px_vk *vk)
{
	VkDevice dev = vk->device;
	struct vk_tf_cache *c = vk->tf_cache;
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n_pipelines; i++)
		vkDestroyPipeline(dev, c->pipelines[i].pipeline, NULL);
	for (uint32_t k = 0; k < VK_TF_VARIANTS; k++) {
		if (c->module[k])
			vkDestroyShaderModule(dev, c->module[k], NULL);
		if (c->pipeline_layout[k])
			vkDestroyPipelineLayout(dev, c->pipeline_layout[k], NULL);
		if (c->set_layout[k])
			vkDestroyDescriptorSetLayout(dev, c->set_layout[k], NULL);
	}
	free(c);
	vk->tf_cache = NULL;
}

static int create_pipeline(struct px_transform *t)
{
	struct px_vk *vk = t->vk;
	VkDevice dev = vk->device;
	VkResult r;
	const char *what;
	/* The variant the transform's first pool is expected to use, made now
	 * so that a device that cannot run it fails creation; set_layout()
	 * makes the other where a pool needs it. */
	int ret = shared_pipeline(
	    vk, t->out_kind + (t->flags & PX_TRANSFORM_READ_VKIMAGES ? VK_IN_IMAGES : 0));
	if (ret)
		return ret;
	/* Enough for the sets of every slot, of either input kind. */
	bool image = t->out_kind == VK_OUT_IMAGE;
	VkDescriptorPoolSize ps[3] = {
	    {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, PX_MAX_SLOTS * (N_INPUTS + (image ? 1 : 2))},
	    {VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE, PX_MAX_SLOTS * N_TEXTURES},
	    {VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, PX_MAX_SLOTS}};
	VkDescriptorPoolCreateInfo dp = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
					 .maxSets = PX_MAX_SLOTS,
					 .poolSizeCount = image ? 3 : 2,
					 .pPoolSizes = ps};
	what = "vkCreateDescriptorPool";
	if ((r = vkCreateDescriptorPool(dev, &dp, NULL, &t->descriptor_pool)) != VK_SUCCESS)
		goto err;
	vk->stats.allocations++;
	VkCommandPoolCreateInfo cpi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
				       .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
				       .queueFamilyIndex = vk->queue_family};
	what = "vkCreateCommandPool";
	if ((r = vkCreateCommandPool(dev, &cpi, NULL, &t->command_pool)) != VK_SUCCESS)
		goto err;
	vk->stats.allocations++;
	VkCommandBufferAllocateInfo cba = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
					   .commandPool = t->command_pool,
					   .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
					   .commandBufferCount = 1};
	what = "vkAllocateCommandBuffers";
	if ((r = vkAllocateCommandBuffers(dev, &cba, &t->cmd)) != VK_SUCCESS)
		goto err;
	vk->stats.allocations++;
	VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
	what = "vkCreateFence";
	if ((r = vkCreateFence(dev, &fi, NULL, &t->fence)) != VK_SUCCESS)
		goto err;
	vk->stats.allocations++;
	if (vk->semaphore_sync_fd) {
		VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
		what = "vkCreateSemaphore";
		if ((r = vkCreateSemaphore(dev, &si, NULL, &t->acquire)) != VK_SUCCESS)
			goto err;
		vk->stats.allocations++;
	}
	return 0;
err:
	return px_vk_fail(t->name, r, "%s", what);
}

/* Checks an application's output image: its format, the device's support
 * and the params that go with buffers only. */
static int check_output_image(struct px_transform *t, const struct px_transform_params *params)
{
	struct px_vk *vk = t->vk;
	const struct px_transform_output_image *oi = params->output_image;
	static const VkFormat formats[] = {
	    [PX_OUT_RGBA8] = VK_FORMAT_R8G8B8A8_UNORM,
	    [PX_OUT_BGRA8] = VK_FORMAT_B8G8R8A8_UNORM,
	    [PX_OUT_GRAY8] = VK_FORMAT_R8_UNORM,
	    [PX_OUT_FLOAT32_PLANAR] = VK_FORMAT_UNDEFINED,
	};
	if (params->output_buffer || params->output_size) {
		px_log_error("%s: an output image and an output buffer (or size) were both given",
			     t->name);
		return -EINVAL;
	}
	if (!oi->view || !oi->width || !oi->height) {
		px_log_error("%s: the output image's view, width and height are needed", t->name);
		return -EINVAL;
	}
	VkFormat want = formats[params->format];
	if (want == VK_FORMAT_UNDEFINED) {
		px_log_error("%s: a float32 planar output has no image format: write a buffer",
			     t->name);
		return -ENOTSUP;
	}
	if (oi->format != want) {
		px_log_error("%s: output format %d writes an image of VkFormat %d, not %d", t->name,
			     (int)params->format, (int)want, (int)oi->format);
		return -EINVAL;
	}
	if (!vk->image_write_without_format) {
		px_log_error("%s: %s: writing images needs the feature "
			     "shaderStorageImageWriteWithoutFormat%s",
			     t->name, vk->props.deviceName,
			     vk->adopted ? " (enabled, and named in px_vk_params.enabled_features)"
					 : "");
		return -ENOTSUP;
	}
	VkFormatProperties fp;
	vkGetPhysicalDeviceFormatProperties(vk->phys, oi->format, &fp);
	if (!((fp.optimalTilingFeatures | fp.linearTilingFeatures) &
	      VK_FORMAT_FEATURE_STORAGE_IMAGE_BIT)) {
		px_log_error("%s: %s: VkFormat %d cannot be a storage image", t->name,
			     vk->props.deviceName, (int)oi->format);
		return -ENOTSUP;
	}
	return 0;
}

static int transform_create_impl(struct px_vk *vk, const struct px_transform_params *params,
				 struct px_transform **out)
{
	char why[200];
	int ret;
	if (!vk || !params || !out || !params->images || !params->n_images ||
	    params->n_images > PX_MAX_IMAGES || !px_out_format_bpp(params->format) ||
	    (params->flags & ~PX_TRANSFORM_READ_VKIMAGES)) {
		px_log_error("transform: vk, params, out and 1…%d images with a known output "
			     "format (and known flags) are needed",
			     PX_MAX_IMAGES);
		return -EINVAL;
	}
	*out = NULL;
	struct px_transform *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	static _Atomic uint32_t counter;
	snprintf(t->name, sizeof(t->name), "transform %u", atomic_fetch_add(&counter, 1) + 1);
	vk->stats.allocations++;
	t->vk = vk;
	t->n_images = params->n_images;
	t->format = params->format;
	t->flags = params->flags;
	memcpy(t->images, params->images, params->n_images * sizeof(*params->images));
	const struct px_transform_output_image *oi = params->output_image;
	if (oi) {
		if ((ret = check_output_image(t, params)))
			goto err;
		t->out_kind = VK_OUT_IMAGE;
		t->out_view = oi->view;
	}
	uint64_t need = 0, ends[PX_MAX_IMAGES] = {0};
	for (uint32_t i = 0; i < t->n_images; i++) {
		if ((ret = check_image(&t->images[i], t->format, oi, &ends[i], why, sizeof(why)))) {
			px_log_error("%s: image %u: %s", t->name, i, why);
			goto err;
		}
		need = PX_MAX(need, ends[i]);
		t->max_w = PX_MAX(t->max_w, t->images[i].out_width);
		t->max_h = PX_MAX(t->max_h, t->images[i].out_height);
	}
	if (oi)
		goto params;
	t->out_size = params->output_size ? params->output_size : (need + 3) / 4 * 4;
	for (uint32_t i = 0; i < t->n_images; i++) {
		if (ends[i] > t->out_size) {
			px_log_error("%s: image %u: its output (%ux%u at offset %llu, stride %u) "
				     "ends at byte %llu, beyond the %llu-byte output buffer",
				     t->name, i, t->images[i].out_width, t->images[i].out_height,
				     (unsigned long long)t->images[i].out_offset,
				     t->images[i].out_stride, (unsigned long long)ends[i],
				     (unsigned long long)t->out_size);
			ret = -ENOSPC;
			goto err;
		}
	}
	/* The shader addresses bytes with 32 bits. */
	if (t->out_size > UINT32_MAX || t->out_size > vk->props.limits.maxStorageBufferRange) {
		px_log_error("%s: an output buffer of %llu bytes is beyond the shader's reach",
			     t->name, (unsigned long long)t->out_size);
		ret = -ENOSPC;
		goto err;
	}
	if (params->output_buffer) {
		if (!params->output_size) {
			px_log_error("%s: an application's output buffer needs its output_size",
				     t->name);
			ret = -EINVAL;
			goto err;
		}
		t->out = params->output_buffer;
	} else if ((ret = px_vk_buffer_create(
			vk, t->out_size,
			VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
			    VK_BUFFER_USAGE_TRANSFER_DST_BIT,
			PX_BUFFER_READBACK, &t->out, &t->out_memory, &t->out_map))) {
		goto err;
	} else {
		t->own_out = true;
	}
params:
	if ((ret = px_vk_buffer_create(vk, sizeof(struct shader_image) * PX_MAX_IMAGES,
				       VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, PX_BUFFER_PARAMS,
				       &t->params, &t->params_memory, (void **)&t->params_map)))
		goto err;
	if ((ret = create_pipeline(t)))
		goto err;
	*out = t;
	return 0;
err:
	px_transform_destroy(t);
	return ret;
}

PX_API int px_transform_create_sized(size_t size, struct px_vk *vk,
				     const struct px_transform_params *params,
				     struct px_transform **out)
{
	struct px_transform_params ours;
	if (out)
		*out = NULL;
	if (params) {
		int ret = px_abi_in(&ours, sizeof(ours), params, size,
				    PX_SIZE_THROUGH(struct px_transform_params, flags),
				    "px_transform_create: struct px_transform_params");
		if (ret)
			return ret;
	}
	return transform_create_impl(vk, params ? &ours : NULL, out);
}

PX_API void px_transform_destroy(struct px_transform *t)
{
	if (!t)
		return;
	struct px_vk *vk = t->vk;
	VkDevice dev = vk->device;
	if (t->pending)
		px_transform_wait(t, -1);
	if (t->acquire)
		vkDestroySemaphore(dev, t->acquire, NULL);
	if (t->fence)
		vkDestroyFence(dev, t->fence, NULL);
	if (t->command_pool)
		vkDestroyCommandPool(dev, t->command_pool, NULL);
	if (t->descriptor_pool)
		vkDestroyDescriptorPool(dev, t->descriptor_pool, NULL);
	px_vk_buffer_destroy(vk, &t->params, &t->params_memory);
	if (t->own_out)
		px_vk_buffer_destroy(vk, &t->out, &t->out_memory);
	free(t);
}

/* Whether the current pool's images are read as VkImages. */
static bool reads_vkimages(const struct px_transform *t)
{
	return t->variant & VK_IN_IMAGES;
}

/* Whether the image's bytes are linear, so that the buffer variant reads
 * them: a linear modifier, or a memfd's (no modifier). */
static bool linear(const struct px_frame *frame, const struct px_image_layout *img)
{
	return img->modifier == PX_MODIFIER_LINEAR ||
	       (img->modifier == PX_MODIFIER_INVALID && !frame->dmabuf);
}

static int kind_of(const struct px_image_layout *img, enum kind *kind)
{
	switch (img->fourcc) {
	case PX_FORMAT_XRGB8888:
	case PX_FORMAT_ARGB8888:
		*kind = KIND_XRGB;
		return 0;
	case PX_FORMAT_XBGR8888:
	case PX_FORMAT_ABGR8888:
		*kind = KIND_XBGR;
		return 0;
	case PX_FORMAT_RGB888:
		*kind = KIND_RGB24;
		return 0;
	case PX_FORMAT_BGR888:
		*kind = KIND_BGR24;
		return 0;
	case PX_FORMAT_R8:
		*kind = KIND_R8;
		return 0;
	case PX_FORMAT_YUYV:
		*kind = KIND_YUYV;
		return 0;
	case PX_FORMAT_UYVY:
		*kind = KIND_UYVY;
		return 0;
	case PX_FORMAT_NV12:
		*kind = KIND_NV12;
		return 0;
	}
	return -ENOTSUP;
}

/* Which variant reads the frame's images: VkImages where asked or where an
 * image is not linear (a GPU allocator's tiling), else buffers. Returns 0,
 * -EINVAL (an image index beyond the set) or -ENOTSUP (logged). */
static int choose_input(struct px_transform *t, const struct px_frame *frame)
{
	const struct px_set_layout *l = frame->layout;
	char name[16];
	bool vkimages = t->flags & PX_TRANSFORM_READ_VKIMAGES;
	for (uint32_t i = 0; i < t->n_images; i++) {
		if (t->images[i].src_image >= l->n_images) {
			px_log_error("%s: image %u reads image %u of a set of %u", t->name, i,
				     t->images[i].src_image, l->n_images);
			return -EINVAL;
		}
		vkimages |= !linear(frame, &l->images[t->images[i].src_image]);
	}
	for (uint32_t i = 0; vkimages && i < t->n_images; i++) {
		const struct px_image_layout *img = &l->images[t->images[i].src_image];
		const char *no = NULL;
		if (!frame->dmabuf)
			no = "the frame's buffers are not dma-bufs, which VkImages are made of";
		else if (img->modifier == PX_MODIFIER_INVALID)
			no = "a dma-buf without an explicit modifier (PX_MODIFIER_INVALID) has no "
			     "known layout";
		if (no) {
			px_log_error("%s: image %u: %s with modifier 0x%llx cannot be read as a "
				     "VkImage: %s",
				     t->name, i, px_format_name(img->fourcc, name, sizeof(name)),
				     (unsigned long long)img->modifier, no);
			return -ENOTSUP;
		}
	}
	t->variant = t->out_kind + (vkimages ? VK_IN_IMAGES : 0);
	return shared_pipeline(t->vk, t->variant);
}

/* Descriptor d of the VkImage variant for plane p of image `src`, added
 * where missing. */
static uint32_t texture_of(struct px_transform *t, uint32_t src, uint32_t p)
{
	uint32_t key = src * 2 + p, d;
	for (d = 0; d < t->n_textures && t->input_plane[d] != key; d++)
		;
	if (d == t->n_textures)
		t->input_plane[t->n_textures++] = key;
	return d;
}

/* Checks the transform against a new pool's layout and writes the shader's
 * parameters. Nothing is in flight. */
static int set_layout(struct px_transform *t, const struct px_frame *frame)
{
	const struct px_set_layout *l = frame->layout;
	char name[16];
	uint32_t kinds = 0, filters = 0, rots = 0;
	int ret;
	if ((ret = choose_input(t, frame)))
		return ret;
	t->n_inputs = 0;
	t->n_textures = 0;
	for (uint32_t i = 0; i < t->n_images; i++) {
		const struct px_transform_image *im = &t->images[i];
		const struct px_image_layout *img = &l->images[im->src_image];
		enum kind kind;
		if (kind_of(img, &kind)) {
			px_log_error("%s: image %u: %s cannot be read (RGB, grey, YUYV, UYVY and "
				     "NV12 only)",
				     t->name, i, px_format_name(img->fourcc, name, sizeof(name)));
			return -ENOTSUP;
		}
		uint32_t cw = im->crop_width ? im->crop_width : img->width;
		uint32_t ch = im->crop_height ? im->crop_height : img->height;
		uint32_t cx = im->crop_width ? im->crop_x : 0;
		uint32_t cy = im->crop_height ? im->crop_y : 0;
		if ((uint64_t)cx + cw > img->width || (uint64_t)cy + ch > img->height) {
			px_log_error("%s: image %u: crop %ux%u at (%u, %u) is outside the %ux%u "
				     "source",
				     t->name, i, cw, ch, cx, cy, img->width, img->height);
			return -EINVAL;
		}
		/* Where the planes lie in the imported VkBuffers. */
		uint64_t off[PX_MAX_PLANES] = {0};
		for (uint32_t p = 0; !reads_vkimages(t) && p < img->n_planes; p++) {
			off[p] = px_vk_plane_offset(frame, img, p);
			uint64_t end =
			    off[p] + (uint64_t)img->planes[p].stride * px_image_plane_rows(img, p);
			if (end > UINT32_MAX) {
				px_log_error("%s: image %u: plane %u ends beyond 4 GiB in its "
					     "buffer",
					     t->name, i, p);
				return -ENOTSUP;
			}
		}
		kinds |= 1u << kind;
		filters |= 1u << im->filter;
		rots |= 1u << im->rotation;
		uint32_t desc[2] = {0, 0};
		for (uint32_t p = 0; reads_vkimages(t) && p < img->n_planes && p < 2; p++)
			desc[p] = texture_of(t, im->src_image, p);
		for (uint32_t p = 0; !reads_vkimages(t) && p < img->n_planes && p < 2; p++) {
			uint32_t b = img->planes[p].buffer, d;
			for (d = 0; d < t->n_inputs && t->input_buffer[d] != b; d++)
				;
			if (d == t->n_inputs) {
				if (d == N_INPUTS) {
					px_log_error("%s: the images read more than %d buffers of "
						     "the set",
						     t->name, N_INPUTS);
					return -ENOTSUP;
				}
				t->input_buffer[t->n_inputs++] = b;
			}
			desc[p] = d;
		}
		double a = im->angle * M_PI / 180.0;
		uint32_t rot_w = 0, rot_h = 0;
		if (im->rotation == PX_ROTATE_ANY) {
			rot_w = (uint32_t)ceil(cw * fabs(cos(a)) + ch * fabs(sin(a)) - 1e-6);
			rot_h = (uint32_t)ceil(cw * fabs(sin(a)) + ch * fabs(cos(a)) - 1e-6);
		}
		double kr = im->matrix == PX_MATRIX_BT709 ? 0.2126 : 0.299;
		double kb = im->matrix == PX_MATRIX_BT709 ? 0.0722 : 0.114;
		double kg = 1.0 - kr - kb;
		struct shader_image s = {
		    .in_buf0 = desc[0],
		    .in_off0 = (uint32_t)off[0],
		    .in_stride0 = reads_vkimages(t) ? 0 : img->planes[0].stride,
		    .in_buf1 = desc[1],
		    .in_off1 = (uint32_t)off[1],
		    .in_stride1 =
			!reads_vkimages(t) && img->n_planes > 1 ? img->planes[1].stride : 0,
		    .kind = kind,
		    .crop_x = cx,
		    .crop_y = cy,
		    .crop_w = cw,
		    .crop_h = ch,
		    .rot = im->rotation,
		    .flip = im->flip,
		    .filter = im->filter,
		    .out_fmt = t->format,
		    .out_w = im->out_width,
		    .out_h = im->out_height,
		    .out_off = (uint32_t)im->out_offset,
		    .out_stride = im->out_stride,
		    .out_plane = (uint32_t)im->out_plane_stride,
		    .rot_w = rot_w,
		    .rot_h = rot_h,
		    .out_x = im->out_x,
		    .out_y = im->out_y,
		    .border = {im->border[0], im->border[1], im->border[2], 0},
		    .rotm = {(float)cos(a), (float)sin(a), 0, 0},
		    .yuv = {(float)(2 * (1 - kr)), (float)(kb * 2 * (1 - kb) / kg),
			    (float)(kr * 2 * (1 - kr) / kg), (float)(2 * (1 - kb))},
		    .range = {im->full_range ? 0.0f : 16.0f,
			      im->full_range ? 1.0f : (float)(255.0 / 219.0), 128.0f,
			      im->full_range ? 1.0f : (float)(255.0 / 224.0)},
		    .luma = {(float)kr, (float)kg, (float)kb, 0},
		    .mean = {im->mean[0], im->mean[1], im->mean[2], 0},
		    .inv_std = {1.0f / im->std[0], 1.0f / im->std[1], 1.0f / im->std[2], 0},
		};
		t->params_map[i] = s;
	}
	if ((ret = get_pipeline(t->vk, t->variant, kinds, filters, rots, t->format, &t->pipeline)))
		return ret;
	VkResult r = vkResetDescriptorPool(t->vk->device, t->descriptor_pool, 0);
	if (r != VK_SUCCESS) {
		return px_vk_fail(t->name, r, "vkResetDescriptorPool");
	}
	memset(t->sets, 0, sizeof(t->sets));
	t->layout = *l;
	t->pool_id = frame->pool_id;
	return 0;
}

/* The slot's descriptor set, made on its first frame. */
static int slot_set(struct px_transform *t, const struct px_frame *frame, VkDescriptorSet *out)
{
	struct px_vk *vk = t->vk;
	if (t->sets[frame->slot]) {
		*out = t->sets[frame->slot];
		return 0;
	}
	const struct vk_slot *slot = px_vk_slot(vk, frame);
	if (!slot)
		return -EIO;
	VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
					  .descriptorPool = t->descriptor_pool,
					  .descriptorSetCount = 1,
					  .pSetLayouts = &vk->tf_cache->set_layout[t->variant]};
	VkDescriptorSet set;
	VkResult r = vkAllocateDescriptorSets(vk->device, &ai, &set);
	if (r != VK_SUCCESS) {
		return px_vk_fail(t->name, r, "vkAllocateDescriptorSets");
	}
	vk->stats.allocations++;
	VkDescriptorBufferInfo in[N_INPUTS], o = {t->out, 0, VK_WHOLE_SIZE},
					     p = {t->params, 0, VK_WHOLE_SIZE};
	VkDescriptorImageInfo oi = {VK_NULL_HANDLE, t->out_view, VK_IMAGE_LAYOUT_GENERAL};
	VkDescriptorImageInfo tex[N_TEXTURES];
	for (uint32_t d = 0; d < N_INPUTS; d++) {
		VkBuffer b =
		    d < t->n_inputs ? slot->bufs[t->input_buffer[d]].buffer : VK_NULL_HANDLE;
		in[d] = (VkDescriptorBufferInfo){b ? b : vk->dummy, 0, VK_WHOLE_SIZE};
	}
	/* Every descriptor of the array must be valid: those the images do not
	 * read show the first view again. */
	for (uint32_t d = 0; reads_vkimages(t) && d < N_TEXTURES; d++) {
		uint32_t key = t->input_plane[d < t->n_textures ? d : 0];
		const struct vk_img *m = &slot->reads[key / 2][key % 2];
		assert(m->view);
		tex[d] = (VkDescriptorImageInfo){VK_NULL_HANDLE, m->view,
						 VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
	}
	VkWriteDescriptorSet w[] = {
	    {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
	     .dstSet = set,
	     .dstBinding = 0,
	     .descriptorCount = reads_vkimages(t) ? N_TEXTURES : N_INPUTS,
	     .descriptorType = reads_vkimages(t) ? VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE
						 : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
	     .pBufferInfo = reads_vkimages(t) ? NULL : in,
	     .pImageInfo = reads_vkimages(t) ? tex : NULL},
	    {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
	     .dstSet = set,
	     .dstBinding = 1,
	     .descriptorCount = 1,
	     .descriptorType = t->out_kind == VK_OUT_IMAGE ? VK_DESCRIPTOR_TYPE_STORAGE_IMAGE
							   : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
	     .pBufferInfo = t->out_kind == VK_OUT_IMAGE ? NULL : &o,
	     .pImageInfo = t->out_kind == VK_OUT_IMAGE ? &oi : NULL},
	    {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
	     .dstSet = set,
	     .dstBinding = 2,
	     .descriptorCount = 1,
	     .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
	     .pBufferInfo = &p},
	};
	vkUpdateDescriptorSets(vk->device, PX_ARRAY_SIZE(w), w, 0, NULL);
	t->sets[frame->slot] = *out = set;
	t->set_out[frame->slot] = t->out;
	return 0;
}

/* Points the set's output at `out` (not in use: nothing is pending). */
static void set_output(struct px_transform *t, uint32_t slot, VkBuffer out)
{
	if (t->set_out[slot] == out)
		return;
	VkDescriptorBufferInfo o = {out, 0, VK_WHOLE_SIZE};
	VkWriteDescriptorSet w = {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
				  .dstSet = t->sets[slot],
				  .dstBinding = 1,
				  .descriptorCount = 1,
				  .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
				  .pBufferInfo = &o};
	vkUpdateDescriptorSets(t->vk->device, 1, &w, 0, NULL);
	t->set_out[slot] = out;
}

/* Waits for the frame's acquire fence: imports it into t->acquire (the
 * submission then waits on the device) where possible, else waits here. */
static int acquire(struct px_transform *t, const struct px_frame *frame, bool on_device,
		   bool *semaphore)
{
	struct px_vk *vk = t->vk;
	*semaphore = false;
	if (frame->acquire_fence < 0)
		return 0;
	vk->stats.fence_waits++;
	/* Only a sync_file: some drivers take any pollable fd, then wait for
	 * what it is not. */
	if (t->acquire && on_device && px_fence_is_sync_file(frame->acquire_fence)) {
		/* Vulkan owns the fd after a successful import: give it a copy. */
		int fd = fcntl(frame->acquire_fence, F_DUPFD_CLOEXEC, 3);
		VkImportSemaphoreFdInfoKHR ii = {
		    .sType = VK_STRUCTURE_TYPE_IMPORT_SEMAPHORE_FD_INFO_KHR,
		    .semaphore = t->acquire,
		    .flags = VK_SEMAPHORE_IMPORT_TEMPORARY_BIT,
		    .handleType = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT,
		    .fd = fd};
		VkResult r = fd < 0 ? VK_ERROR_INVALID_EXTERNAL_HANDLE
				    : vk->procs.vkImportSemaphoreFdKHR(vk->device, &ii);
		if (r == VK_SUCCESS) {
			*semaphore = true;
			return 0;
		}
		px_close(&fd);
		px_log_info("%s: vkImportSemaphoreFdKHR: %s: waiting for the fence here", t->name,
			    px_vk_result_name(r));
	}
	vk->stats.fence_waits_cpu++;
	int ret = px_vk_wait_fence_cpu(frame->acquire_fence, FENCE_TIMEOUT_MS);
	if (ret)
		px_log_error("%s: frame %llu: acquire fence: %s", t->name,
			     (unsigned long long)frame->seq,
			     ret == -ETIMEDOUT ? "did not signal in 10 s" : strerror(-ret));
	return ret;
}

/* Records the acquisition of the frame's VkImages from their producer (the
 * foreign queue family, in the GENERAL layout that keeps their contents)
 * before the dispatch reads them, or their release back after it. */
static void ownership(struct px_transform *t, const struct px_frame *frame, bool acquire)
{
	struct px_vk *vk = t->vk;
	const struct vk_slot *slot = px_vk_slot(vk, frame);
	VkImageMemoryBarrier b[N_TEXTURES];
	uint32_t ours = vk->queue_family, theirs = px_vk_foreign_family(vk);
	for (uint32_t k = 0; k < t->n_textures; k++)
		b[k] = (VkImageMemoryBarrier){
		    .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
		    .srcAccessMask = 0,
		    .dstAccessMask = acquire ? VK_ACCESS_SHADER_READ_BIT : 0,
		    .oldLayout = acquire ? VK_IMAGE_LAYOUT_GENERAL
					 : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
		    .newLayout = acquire ? VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL
					 : VK_IMAGE_LAYOUT_GENERAL,
		    .srcQueueFamilyIndex = acquire ? theirs : ours,
		    .dstQueueFamilyIndex = acquire ? ours : theirs,
		    .image = slot->reads[t->input_plane[k] / 2][t->input_plane[k] % 2].image,
		    .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
	/* The acquisition (and its layout transition) starts at the stage that
	 * the acquire semaphore's wait blocks, so that it follows the wait. */
	vkCmdPipelineBarrier(t->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
			     acquire ? VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
				     : VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT,
			     0, 0, NULL, 0, NULL, t->n_textures, b);
}

PX_API int px_transform_submit(struct px_transform *t, const struct px_frame *frame)
{
	return px_transform_submit_to(t, frame, VK_NULL_HANDLE, VK_NULL_HANDLE);
}

int px_transform_submit_to(struct px_transform *t, const struct px_frame *frame, VkBuffer output,
			   VkSemaphore signal)
{
	if (!t || !frame || !frame->layout || !frame->pool_id || frame->slot >= PX_MAX_SLOTS)
		return -EINVAL;
	if (t->pending)
		return -EBUSY;
	if (output && t->out_kind != VK_OUT_BUFFER)
		return -EINVAL;
	struct px_vk *vk = t->vk;
	int ret;
	for (uint32_t i = 0; i < t->n_images; i++) {
		uint32_t s = t->images[i].src_image;
		if (s < frame->layout->n_images && !(frame->valid_mask & (1u << s)))
			return -ENODATA;
	}
	if (t->pool_id != frame->pool_id || !px_layout_equal(&t->layout, frame->layout)) {
		if ((ret = set_layout(t, frame)))
			return ret;
	}
	enum px_import_path path = PX_IMPORT_DMABUF;
	for (uint32_t i = 0; i < t->n_images; i++) {
		struct px_vk_image vi;
		if (reads_vkimages(t)) {
			if ((ret = px_vk_import_read_image(vk, frame, t->images[i].src_image)))
				return ret;
			continue;
		}
		if ((ret = px_vk_import_image(vk, frame, t->images[i].src_image, &vi)))
			return ret;
		path = px_import_path_worse(path, vi.path);
	}
	vk->stats.last_path = path;
	/* The producer's writes must be done before the upload path's copy:
	 * then the fence is waited for here, not on the device. */
	bool wait_semaphore;
	if ((ret = acquire(t, frame, path != PX_IMPORT_UPLOAD, &wait_semaphore)))
		return ret;
	if (path == PX_IMPORT_UPLOAD)
		for (uint32_t i = 0; i < t->n_images; i++)
			px_vk_upload_image(vk, frame, t->images[i].src_image);
	if (t->generation != vk->generation) {
		/* Imports were dropped and made again: so are the sets. */
		VkResult rr = vkResetDescriptorPool(vk->device, t->descriptor_pool, 0);
		if (rr != VK_SUCCESS)
			return px_vk_errno(rr);
		memset(t->sets, 0, sizeof(t->sets));
		t->generation = vk->generation;
	}
	VkDescriptorSet set;
	if ((ret = slot_set(t, frame, &set)))
		return ret;
	if (t->out_kind == VK_OUT_BUFFER)
		set_output(t, frame->slot, output ? output : t->out);

	VkResult r;
	const char *what = "vkResetCommandBuffer";
	if ((r = vkResetCommandBuffer(t->cmd, 0)) != VK_SUCCESS)
		goto err;
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
				       .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
	what = "vkBeginCommandBuffer";
	if ((r = vkBeginCommandBuffer(t->cmd, &bi)) != VK_SUCCESS)
		goto err;
	if (reads_vkimages(t))
		ownership(t, frame, true);
	vkCmdBindPipeline(t->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, t->pipeline);
	vkCmdBindDescriptorSets(t->cmd, VK_PIPELINE_BIND_POINT_COMPUTE,
				vk->tf_cache->pipeline_layout[t->variant], 0, 1, &set, 0, NULL);
	vkCmdDispatch(t->cmd, (t->max_w + LOCAL_SIZE - 1) / LOCAL_SIZE,
		      (t->max_h + LOCAL_SIZE - 1) / LOCAL_SIZE, t->n_images);
	if (reads_vkimages(t))
		ownership(t, frame, false);
	/* The output is read by the host after the fence, or by the
	 * application's later device work on the queue. (Other processes'
	 * readers of a published output wait for the fence or the semaphore
	 * signalled at the end of the submission.) */
	VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
			      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
			      .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_MEMORY_READ_BIT |
					       VK_ACCESS_MEMORY_WRITE_BIT};
	vkCmdPipelineBarrier(t->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
			     VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1,
			     &mb, 0, NULL, 0, NULL);
	what = "vkEndCommandBuffer";
	if ((r = vkEndCommandBuffer(t->cmd)) != VK_SUCCESS)
		goto err;
	VkPipelineStageFlags stage = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
	VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
			   .waitSemaphoreCount = wait_semaphore ? 1 : 0,
			   .pWaitSemaphores = &t->acquire,
			   .pWaitDstStageMask = &stage,
			   .commandBufferCount = 1,
			   .pCommandBuffers = &t->cmd,
			   .signalSemaphoreCount = signal ? 1 : 0,
			   .pSignalSemaphores = &signal};
	what = "vkResetFences";
	if ((r = vkResetFences(vk->device, 1, &t->fence)) != VK_SUCCESS)
		goto err;
	what = "vkQueueSubmit";
	if ((r = vkQueueSubmit(vk->queue, 1, &si, t->fence)) != VK_SUCCESS)
		goto err;
	t->pending = true;
	return 0;
err:
	return px_vk_fail(t->name, r, "%s", what);
}

PX_API int px_transform_wait(struct px_transform *t, int timeout_ms)
{
	if (!t)
		return -EINVAL;
	if (!t->pending)
		return 0;
	uint64_t timeout = timeout_ms < 0 ? UINT64_MAX : (uint64_t)timeout_ms * 1000000ull;
	VkResult r = vkWaitForFences(t->vk->device, 1, &t->fence, VK_TRUE, timeout);
	if (r == VK_TIMEOUT)
		return -ETIMEDOUT;
	t->pending = false;
	if (r != VK_SUCCESS) {
		px_log_error("%s: vkWaitForFences: %s", t->name, px_vk_result_name(r));
		return -EIO;
	}
	return 0;
}

PX_API int px_transform_run(struct px_transform *t, const struct px_frame *frame)
{
	int ret = px_transform_submit(t, frame);
	return ret ? ret : px_transform_wait(t, -1);
}

PX_API int px_transform_get_output(const struct px_transform *t, void **data, VkBuffer *buffer,
				   uint64_t *size)
{
	if (!t)
		return -EINVAL;
	/* (An output image: no buffer, NULL and 0.) */
	if (data)
		*data = t->out_map;
	if (buffer)
		*buffer = t->out;
	if (size)
		*size = t->out_size;
	return 0;
}
