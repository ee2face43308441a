/* SPDX-License-Identifier: MIT */
/* Private to gpu/vulkan*.c: the context, shared by the importer and the
 * transforms. Never included by a public header. */
#ifndef PX_GPU_VK_INTERNAL_H
#define PX_GPU_VK_INTERNAL_H

#include <pixshare/transform.h>
#include <pixshare/vulkan.h>

#include "core/util.h"

/* Device and instance extensions pixshare knows: true where enabled. */
struct vk_exts {
	bool KHR_external_memory_fd;
	bool EXT_external_memory_dma_buf;
	bool EXT_external_memory_host;
	bool KHR_external_semaphore_fd;
	bool EXT_physical_device_drm; /* supported (queried, never enabled) */
	bool KHR_image_format_list;   /* for the next, on a Vulkan 1.1 instance */
	bool EXT_image_drm_format_modifier;
	bool EXT_queue_family_foreign;
	bool EXT_debug_utils;	      /* instance */
};

/* Entry points of extensions: NULL where the extension is missing. */
struct vk_procs {
	PFN_vkGetMemoryFdPropertiesKHR vkGetMemoryFdPropertiesKHR;
	PFN_vkGetMemoryHostPointerPropertiesEXT vkGetMemoryHostPointerPropertiesEXT;
	PFN_vkGetMemoryFdKHR vkGetMemoryFdKHR;
	PFN_vkImportSemaphoreFdKHR vkImportSemaphoreFdKHR;
	PFN_vkGetSemaphoreFdKHR vkGetSemaphoreFdKHR;
	PFN_vkGetImageDrmFormatModifierPropertiesEXT vkGetImageDrmFormatModifierPropertiesEXT;
	PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT;
	PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT;
};

/* One buffer of a slot, imported (or an upload buffer). Its byte 0 is byte
 * px_vk_frame_base() of the frame's fd, whatever the path. */
struct vk_buf {
	VkBuffer buffer; /* VK_NULL_HANDLE: not imported yet */
	VkDeviceMemory memory;
	void *map; /* upload path: the mapping of `memory` */
	uint64_t size;
	enum px_import_path path;
};

/* Byte 0 of the VkBuffers of buffer b of the frame's set is this byte of its
 * fd, whatever the path: the Vulkan export's offset (px_frame.vulkan), else
 * 0. A plane at offset o of the layout lies at o − base in the VkBuffer. */
static inline uint64_t px_vk_frame_base(const struct px_frame *frame, uint32_t b)
{
	return frame->vulkan ? frame->vulkan->offset[b] : 0;
}

/* Where plane p of image `img` of the frame's layout lies in its VkBuffer. */
static inline uint64_t px_vk_plane_offset(const struct px_frame *frame,
					  const struct px_image_layout *img, uint32_t p)
{
	return img->planes[p].offset - px_vk_frame_base(frame, img->planes[p].buffer);
}

/* An image (or one plane of it) of a slot imported as a VkImage. */
struct vk_img {
	VkImage image; /* VK_NULL_HANDLE: not imported yet */
	VkDeviceMemory memory;
	VkFormat format;
	VkImageUsageFlags usage;
	VkImageView view; /* transforms' reads: a view of the whole image */
};

struct vk_slot {
	struct vk_buf bufs[PX_MAX_BUFFERS];
	uint32_t images; /* bit i: image i was imported */
	enum px_import_path paths[PX_MAX_IMAGES];
	struct vk_img vkimages[PX_MAX_IMAGES]; /* px_vk_import_vkimage() */
	/* px_vk_import_read_image(): a VkImage per plane (two for NV12). */
	struct vk_img reads[PX_MAX_IMAGES][2];
};

struct vk_pool {
	uint64_t id; /* 0: none */
	struct px_set_layout layout;
	bool logged[PX_MAX_BUFFERS];
	uint32_t vkimage_refused; /* bit i: image i's VkImage refusal was logged */
	uint32_t read_refused;	  /* the same, for transforms' reads */
	struct vk_slot *slots[PX_MAX_SLOTS];
};

/* What a transform writes: VK_OUT_BUFFER, or the application's image. */
enum { VK_OUT_BUFFER = 0, VK_OUT_IMAGE = 1, VK_OUT_KINDS = 2 };
/* Its shader: an output kind, reading buffers or (+ VK_IN_IMAGES) the
 * frames' VkImages. */
enum { VK_IN_IMAGES = 2, VK_TF_VARIANTS = 4 };

struct px_vk {
	/* "vulkan N (device name)": what its log messages start with */
	char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE + 16];
	VkInstance instance;
	VkPhysicalDevice phys;
	VkDevice device;
	VkQueue queue;
	uint32_t queue_family;
	bool adopted;
	VkDebugUtilsMessengerEXT messenger;
	struct vk_exts exts;
	struct vk_procs procs;
	VkPhysicalDeviceProperties props;
	VkPhysicalDeviceMemoryProperties mem_props;
	uint64_t host_alignment;
	uint8_t device_uuid[VK_UUID_SIZE], driver_uuid[VK_UUID_SIZE];
	/* Opaque fds import as storage buffers (VK_KHR_external_memory_fd,
	 * importable by vkGetPhysicalDeviceExternalBufferProperties). */
	bool opaque_import;
	bool semaphore_sync_fd;		 /* sync_files import as semaphores */
	bool semaphore_sync_fd_export;	 /* semaphores export as sync_files */
	bool image_write_without_format; /* the feature is enabled: image outputs */
	/* shaderSampledImageArrayDynamicIndexing is enabled: transforms read
	 * VkImages. */
	bool sampled_image_indexing;
	bool validation;
	/* CPU mappings import as host memory: VK_EXT_external_memory_host is
	 * enabled and no such import has failed on this device (host_why says
	 * why not); every mapping, read-only ones (a subscriber's frames)
	 * included, where host_import_readonly, else only the mappings the
	 * driver pins safely (host_why_readonly says which). */
	bool host_import, host_import_readonly;
	char host_why[200];
	const char *host_why_readonly;
	uint64_t primary_node, render_node;
	const char *why;

	struct vk_pool pool;
	/* Bumped whenever imports are dropped: users of their VkBuffers
	 * (descriptor sets) must make them again. */
	uint64_t generation;
	/* The transforms' shaders and pipelines on this device, shared by all
	 * its transforms: gpu/vulkan_transform.c's, made by the first transform
	 * and freed by px_vk_transform_finish(). */
	struct vk_tf_cache *tf_cache;
	VkBuffer dummy; /* bound where a descriptor has nothing to show */
	VkDeviceMemory dummy_memory;
	struct px_vk_stats stats;
	/* Written by the debug messenger, which may run on any thread. */
	_Atomic uint64_t validation_errors, validation_warnings;
};

/* What the VkBuffers of imported frames are for. */
#define IMPORT_USAGE (VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT)

/* Drops every import of the cached pool (gpu/vulkan_import.c). */
void px_vk_drop_pool(struct px_vk *vk);

/* VkResult to errno at the public boundary (STYLE.md). */
int px_vk_errno(VkResult r);

/* Logs "WHO: <what fmt says>: <r's name>" as an error and returns r's errno:
 * the one way a Vulkan failure is reported, tagged with the object that met
 * it (`who`: its name, e.g. vk->name, t->name). */
int px_vk_fail(const char *who, VkResult r, const char *fmt, ...) PX_PRINTF(3, 4);

/* A memory type index among `bits` with `flags`, or -1. */
int px_vk_memory_type(const struct px_vk *vk, uint32_t bits, VkMemoryPropertyFlags flags);

/* What a buffer of px_vk_buffer_create() is for, which orders the memory
 * types it tries (a discrete GPU has several heaps: device-local only,
 * system memory host-visible and coherent, with or without caching, and
 * device-local memory the CPU sees through the BAR). */
enum buffer_use {
	/* The CPU writes, the device reads once (uploads): system memory,
	 * uncached, else the BAR. */
	PX_BUFFER_UPLOAD,
	/* The device writes, the CPU reads (transform outputs): system
	 * memory, cached first. */
	PX_BUFFER_READBACK,
	/* The CPU writes a little, the device reads it often (parameters):
	 * the BAR first, else system memory. */
	PX_BUFFER_PARAMS,
};

/* A host-visible, coherent storage buffer of `size` bytes for `use`, mapped
 * at *map (map may be NULL: not mapped). Each memory type that suits the use
 * is tried in the use's order until one allocates; each refusal is logged.
 * Counted in stats.allocations. */
int px_vk_buffer_create(struct px_vk *vk, uint64_t size, VkBufferUsageFlags usage, enum buffer_use use,
			VkBuffer *buffer, VkDeviceMemory *memory, void **map);
void px_vk_buffer_destroy(struct px_vk *vk, VkBuffer *buffer, VkDeviceMemory *memory);

/* A VkBuffer (exclusive) whose memory is imported or exported as `type`,
 * not bound yet. Counted in stats.allocations. */
VkResult px_vk_external_buffer(struct px_vk *vk, uint64_t size, VkBufferUsageFlags usage,
			       VkExternalMemoryHandleTypeFlagBits type, VkBuffer *out);

/* Memory to import: a dma-buf (fd, when `dmabuf`) of DRM device `device`
 * (0: none or unknown), and/or a CPU mapping of `size` bytes, each from byte
 * `offset` on (the mapping's address is the fd's byte 0). */
struct vk_memory {
	int fd;
	bool dmabuf;
	uint64_t device;
	void *data;
	uint64_t offset;
	uint64_t size;
};

/* Imports memory as a storage buffer without copying: the dma-buf where the
 * device takes it, else the mapping as host memory. Returns 0 (out->path
 * says which), or -ENOTSUP with the reason each path failed in why_dmabuf
 * and why_host (why_size bytes each). The fd stays the caller's. Counted in
 * stats.dmabuf_imports / host_imports and allocations, not buffer_imports. */
int px_vk_import_memory(struct px_vk *vk, const struct vk_memory *m, struct vk_buf *out,
			char *why_dmabuf, char *why_host, size_t why_size);

/* The cache entry of the frame's slot, made where missing (the pool's
 * entries dropped first where the frame is of another pool). Returns 0,
 * -EINVAL (bad frame, image out of range, a layout unlike the pool's),
 * -ENODATA (image not in the frame), -ENOMEM. */
int px_vk_cache_slot(struct px_vk *vk, const struct px_frame *frame, uint32_t image,
		     struct vk_slot **out);

/* Destroys the VkImages imported into a slot (gpu/vulkan_image.c). */
void px_vk_slot_destroy_vkimages(struct px_vk *vk, struct vk_slot *slot);

/* The queue family that imported images are acquired from and released to. */
static inline uint32_t px_vk_foreign_family(const struct px_vk *vk)
{
	return vk->exts.EXT_queue_family_foreign ? VK_QUEUE_FAMILY_FOREIGN_EXT
						 : VK_QUEUE_FAMILY_EXTERNAL;
}

/* Image `image` of the frame as VkImages for a transform's reads (cached
 * like px_vk_import_vkimage()'s, and counted in vkimage_imports): one per
 * plane, each with a view, in a format whose channels are the bytes of a
 * pixel in memory order (see read_formats[] in gpu/vulkan_image.c), in the
 * slot's reads[image][plane]. Acquire and release them as px_vk_vkimage
 * says. Returns px_vk_import_vkimage()'s errors. */
int px_vk_import_read_image(struct px_vk *vk, const struct px_frame *frame, uint32_t image);

/* px_vk_import() in two steps, so that a transform can wait for the
 * frame's acquire fence between them: the import (cached; no copy), then
 * the upload path's copy of the image's planes (a no-op on other paths). */
int px_vk_import_image(struct px_vk *vk, const struct px_frame *frame, uint32_t image,
		       struct px_vk_image *out);
void px_vk_upload_image(struct px_vk *vk, const struct px_frame *frame, uint32_t image);

/* The worse of two import paths: upload, then host memory, then dma-buf and
 * opaque fd (both the exporter's memory itself); b on a tie, so that a fold
 * from PX_IMPORT_DMABUF ends on the opaque fd of an all-opaque set. */
enum px_import_path px_import_path_worse(enum px_import_path a, enum px_import_path b);

/* The imported buffers of the frame's slot (after px_vk_import() of its
 * images): entry b is buffer b of the set, VK_NULL_HANDLE where not imported. */
const struct vk_slot *px_vk_slot(const struct px_vk *vk, const struct px_frame *frame);

/* px_transform_submit() writing into `output` (VK_NULL_HANDLE: the
 * transform's own; else a buffer of at least the transform's output size)
 * and signalling `signal` (may be VK_NULL_HANDLE) when done. */
int px_transform_submit_to(struct px_transform *t, const struct px_frame *frame, VkBuffer output,
			   VkSemaphore signal);

/* Destroys the shared transform pipelines (px_vk_destroy). */
void px_vk_transform_finish(struct px_vk *vk);

/* Waits for a sync_file on the CPU, at most timeout_ms: 0, -ETIMEDOUT or
 * another negative errno. */
int px_vk_wait_fence_cpu(int fence, int timeout_ms);

#endif
