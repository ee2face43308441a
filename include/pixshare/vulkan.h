/* SPDX-License-Identifier: MIT */
/*
 * pixshare — frames as Vulkan buffers.
 *
 * A px_vk is a Vulkan device that pixshare uses to read received frames
 * without copying them, and to run transforms on them (<pixshare/transform.h>):
 *
 *     struct px_vk *vk;
 *     px_vk_create(NULL, &vk);             // its own instance and device
 *     ...
 *     px_subscriber_receive(sub, &frame, -1);
 *     struct px_vk_image img;
 *     px_vk_import(vk, frame, 0, &img);    // image 0 of the frame, as VkBuffers
 *     ... the application's compute work reads img.planes[p] ...
 *     ... waits for that work, then ...
 *     px_frame_release(frame);
 *
 * Device choice (own instance): the device whose DRM node (primary or
 * render) is params.drm_device, through VK_EXT_physical_device_drm, and
 * whose deviceUUID is params.device_uuid, where those are set (the pool's
 * device); else the first discrete, integrated or virtual GPU; else the
 * first CPU device (lavapipe). The choice and its reason are logged at
 * PX_LOG_INFO. The device needs Vulkan 1.1, a queue family with compute, and
 * shaderStorageBufferArrayDynamicIndexing (transforms index their inputs).
 * pixshare calls Vulkan through the loader it links against (libvulkan.so.1),
 * adopted objects included.
 *
 * Import paths, per buffer of the frame, reported per image (see
 * <pixshare/import.h>); the first that works is taken:
 * - PX_IMPORT_OPAQUE_FD: the publisher's buffers are a Vulkan device's
 *   opaque-fd export (px_frame.vulkan, e.g. a px_vk_pool's on a device
 *   without dma-buf export), this device has VK_KHR_external_memory_fd and
 *   imports opaque fds for storage buffers, and its deviceUUID and
 *   driverUUID are the exporter's. The fd is duplicated (CLOEXEC) and
 *   imported with the exporter's allocation size and memory type, and for a
 *   dedicated allocation into a buffer of the exporter's size and usage
 *   (which must be storage, of core Vulkan). The device then reads and
 *   could write the exporter's memory itself: Vulkan maps no memory
 *   read-only, so a subscriber must treat the buffers as read-only.
 * - PX_IMPORT_DMABUF: the frame's buffers are dma-bufs, the device has
 *   VK_EXT_external_memory_dma_buf, and the buffer was allocated on this
 *   device or on no device (dma-heap, udmabuf: px_frame.device 0), or this
 *   is a CPU device (lavapipe from Mesa 24 on), which reads every dma-buf
 *   through its own mapping of it. The driver has the last word
 *   (vkGetMemoryFdPropertiesKHR, vkAllocateMemory). The fd is
 *   duplicated (CLOEXEC); Vulkan owns the duplicate after a successful
 *   import, pixshare closes it after a failed one. The frame's fd stays the
 *   subscriber's. Linear data only: the image is read as bytes.
 * - PX_IMPORT_HOST_MEMORY: the frame's read-only CPU mapping, imported in place
 *   with VK_EXT_external_memory_host (memfd pools; software drivers such
 *   as lavapipe). Taken when the mapping's address is aligned to
 *   minImportedHostPointerAlignment and the buffer's size, rounded up to it,
 *   stays inside the mapped pages.
 * - PX_IMPORT_UPLOAD: a host-visible buffer of the device, into which the CPU
 *   copies the frame's bytes on every px_vk_import(): one copy per
 *   import, counted in px_vk_stats.copies.
 * Why a better path was not taken is logged once per pool at PX_LOG_INFO.
 * The VkBuffers of a Vulkan export start where its memory starts in the fd
 * (px_vulkan_export.offset), whatever the path, so that every slot reads
 * alike: a plane's px_vk_plane.offset is then the layout's minus that
 * offset. Elsewhere it is the layout's.
 *
 * Imports are cached per (frame->pool_id, frame->slot, image): made on the
 * first import and reused for every frame after, with no Vulkan call on a
 * cache hit (but for the upload path's copy). The cache holds one pool: a
 * frame of another pool (the subscriber reconnected) drops the entries of
 * the old one first, after waiting for the device to be idle.
 *
 * Validation: params.validation, or the environment variable
 * PIXSHARE_VK_VALIDATION=1, enables VK_LAYER_KHRONOS_validation (Debian:
 * vulkan-validationlayers) on an instance pixshare makes, and a
 * VK_EXT_debug_utils messenger that logs every message through pixshare's
 * log (errors at PX_LOG_ERROR, warnings at PX_LOG_WARN) and counts them in
 * px_vk_stats. Asked for by params, a missing layer fails creation; asked
 * for by the environment, it is a warning.
 *
 * Thread safety: a px_vk is not thread-safe; use it (and the transforms made
 * on it) from one thread at a time. px_vk_get_stats() may be called from
 * any thread that owns the px_vk at that moment. Different px_vk objects are
 * independent.
 *
 * Link with pixshare and include this header explicitly: <pixshare/pixshare.h>
 * does not, so that programs without Vulkan need no Vulkan headers.
 */
#ifndef PIXSHARE_VULKAN_H
#define PIXSHARE_VULKAN_H

#include <vulkan/vulkan.h>

#include <pixshare/common.h>
#include <pixshare/import.h>
#include <pixshare/publisher.h>
#include <pixshare/subscriber.h>

#ifdef __cplusplus
extern "C" {
#endif

struct px_vk;

/* Flags for px_vk_params.flags. */
/* Fail creation (-ENOTSUP, naming the extension) when the device can import
 * neither dma-bufs nor host memory: every import would be a copy. */
#define PX_VK_REQUIRE_ZERO_COPY (1u << 0)
/* Prefer a CPU device (lavapipe) to a GPU; with drm_device or device_uuid,
 * ignored but where no device matches them under PX_VK_POOL_DEVICE_PREFERRED. */
#define PX_VK_PREFER_CPU (1u << 1)
/* drm_device and device_uuid name the device of the pool to import: taken
 * where one matches, else the default choice, logged with the reason,
 * instead of failing with -ENODEV. */
#define PX_VK_POOL_DEVICE_PREFERRED (1u << 2)

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_vk_params {
	/*
	 * The application's Vulkan objects, to be adopted instead of making
	 * new ones: instance, physical_device and device all set (or all
	 * VK_NULL_HANDLE). The device must have been created with Vulkan 1.1
	 * or later, with a queue of `queue_family` (which must support
	 * compute), with the feature shaderStorageBufferArrayDynamicIndexing
	 * enabled (for transforms), and with the device extensions named in
	 * `enabled_extensions` (pixshare uses those of them it knows, and no
	 * other; it cannot ask Vulkan which were enabled). pixshare never
	 * destroys adopted objects; they must outlive the px_vk. pixshare
	 * submits to queue `queue_index` of `queue_family`: the application
	 * must not use that queue from another thread during px_vk and
	 * transform calls (Vulkan's external synchronisation of queues).
	 *
	 * The device extensions pixshare uses where enabled, by what each
	 * gives (an import path missing one falls back, logged; the
	 * adopted device's log names those not enabled):
	 *   VK_KHR_external_memory_fd        opaque-fd import of a Vulkan
	 *                                    pool (PX_IMPORT_OPAQUE_FD), and
	 *                                    every dma-buf path below
	 *   VK_EXT_external_memory_dma_buf   dma-buf import (PX_IMPORT_DMABUF)
	 *   VK_EXT_external_memory_host      CPU mappings imported in place
	 *                                    (PX_IMPORT_HOST_MEMORY), else
	 *                                    frames are uploaded, a copy each
	 *   VK_EXT_image_drm_format_modifier frames as VkImages (tiled
	 *   + VK_KHR_image_format_list       layouts, px_vk_import_vkimage())
	 *   VK_KHR_external_semaphore_fd     acquire fences waited for on the
	 *                                    device, else on the CPU
	 * A device pixshare makes also enables VK_EXT_queue_family_foreign
	 * where present, which no path uses yet. VK_EXT_physical_device_drm
	 * is only queried (which DRM node a device is), never needed enabled.
	 */
	VkInstance instance;
	VkPhysicalDevice physical_device;
	VkDevice device;
	uint32_t queue_family;
	uint32_t queue_index;
	const char *const *enabled_extensions; /* may be NULL; only read during the call */
	uint32_t n_enabled_extensions;
	/* The features the adopted device was created with (only read during
	 * the call). NULL: shaderStorageBufferArrayDynamicIndexing alone.
	 * Transforms into the application's images (px_transform_params.
	 * output_image) need shaderStorageImageWriteWithoutFormat, and
	 * transforms reading frames as VkImages (tiled layouts)
	 * shaderSampledImageArrayDynamicIndexing. A device pixshare makes has
	 * each of them that the device supports. */
	const VkPhysicalDeviceFeatures *enabled_features;
	/*
	 * Own instance only: the dev_t (st_rdev) of a DRM node (card or render
	 * node) whose device must be used, e.g. px_frame.device of the pool to
	 * import; 0 for the default choice. A device with that node is
	 * required: creation fails with -ENODEV otherwise (but see
	 * PX_VK_POOL_DEVICE_PREFERRED).
	 */
	uint64_t drm_device;
	/*
	 * Own instance only: the deviceUUID (VK_UUID_SIZE bytes,
	 * VkPhysicalDeviceIDProperties) of the device to use, e.g. that of a
	 * Vulkan export (px_frame.vulkan, px_topic_info.vulkan_device_uuid),
	 * whose opaque fds only that device imports as such; NULL for the
	 * default choice. Required as drm_device is; with both, one device
	 * must match both. Only read during the call.
	 */
	const uint8_t *device_uuid;
	/* PX_VK_* flags. */
	uint32_t flags;
	/* Own instance only: enable the validation layer (see above). */
	bool validation;
};

/*
 * Creates a context. `params` may be NULL: all defaults.
 * Returns 0 and the context in `*out` (the caller's, for px_vk_destroy()),
 * or -EINVAL (bad params), -ENODEV (no Vulkan device, none with compute,
 * or none on params.drm_device), -ENOTSUP (Vulkan 1.1, a required
 * extension or the validation layer asked for is missing; logged by name),
 * -ENOMEM, -EIO (another Vulkan failure, logged with the call and its
 * VkResult). Not thread-safe with respect to other calls on the adopted
 * objects.
 */
PX_API int px_vk_create_sized(size_t params_size, const struct px_vk_params *params,
			      struct px_vk **out);
#define px_vk_create(...) px_vk_create_sized(sizeof(struct px_vk_params), __VA_ARGS__)

/*
 * Waits for the device to be idle, frees every cached import, then destroys
 * what pixshare made (device, debug messenger, instance). Transforms made on
 * the context must have been destroyed first. NULL is a no-op.
 */
PX_API void px_vk_destroy(struct px_vk *vk);

/* The objects in use (the application's if adopted). Owned by the px_vk
 * unless adopted; valid until px_vk_destroy(). NULL vk: VK_NULL_HANDLE. */
PX_API VkInstance px_vk_get_instance(const struct px_vk *vk);
PX_API VkPhysicalDevice px_vk_get_physical_device(const struct px_vk *vk);
PX_API VkDevice px_vk_get_device(const struct px_vk *vk);

/* What the context runs on. */
/* Extensible (see common.h): later versions may add fields at its end. */
struct px_vk_info {
	char device_name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
	VkPhysicalDeviceType device_type;
	uint32_t api_version;
	uint32_t queue_family;
	bool adopted;
	bool software;	       /* a CPU device (lavapipe) */
	uint64_t primary_node; /* dev_t of its DRM nodes, 0 where unknown */
	uint64_t render_node;
	bool dmabuf_import;		 /* VK_EXT_external_memory_dma_buf */
	/* CPU mappings import as host memory (VK_EXT_external_memory_host),
	 * the writable mappings of a publisher's own slots (a transform
	 * publisher's outputs) at least; false once such an import failed. */
	bool host_import;
	/* Read-only mappings too, which a subscriber's frames are: false on
	 * NVIDIA's driver, which refuses them (README, "Real GPUs"). */
	bool host_import_readonly;
	uint64_t host_pointer_alignment; /* minImportedHostPointerAlignment, 0 without */
	/* Opaque fds import as buffers (VK_KHR_external_memory_fd): a Vulkan
	 * export of a device with these UUIDs (PX_IMPORT_OPAQUE_FD). */
	bool opaque_fd_import;
	uint8_t device_uuid[VK_UUID_SIZE]; /* VkPhysicalDeviceIDProperties */
	uint8_t driver_uuid[VK_UUID_SIZE];
	bool semaphore_sync_fd;		 /* sync_file fences can be imported as semaphores */
	bool semaphore_sync_fd_export;	 /* semaphores can be exported as sync_files */
	/* Frames import as VkImages with explicit modifiers
	 * (VK_EXT_image_drm_format_modifier and dma-buf import):
	 * px_vk_import_vkimage(). */
	bool vkimage_import;
	/* Transforms read frames as such VkImages, tiled layouts included
	 * (vkimage_import, and the feature shaderSampledImageArrayDynamicIndexing
	 * enabled): see PX_TRANSFORM_READ_VKIMAGES in <pixshare/transform.h>. */
	bool vkimage_transforms;
	/* Transforms can write the application's images (the feature
	 * shaderStorageImageWriteWithoutFormat is enabled). */
	bool image_output;
	bool validation;		 /* the validation layer is on */
	const char *why;		 /* why this device was chosen; static */
};

/* Fills `info`. Returns 0 or -EINVAL. No Vulkan call. */
PX_API int px_vk_get_info_sized(size_t info_size, const struct px_vk *vk, struct px_vk_info *info);
#define px_vk_get_info(...) px_vk_get_info_sized(sizeof(struct px_vk_info), __VA_ARGS__)

/* One plane of an imported image: the bytes of plane p of the image lie in
 * `buffer` from `offset`, rows `stride` bytes apart, as in the layout (but
 * for a Vulkan export's offset: see above). */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_vk_plane {
	VkBuffer buffer; /* the px_vk's: do not destroy it */
	VkDeviceSize offset;
	uint32_t stride;
};

/* An imported image. */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_vk_image {
	uint32_t n_planes;
	struct px_vk_plane planes[PX_MAX_PLANES];
	enum px_import_path path;
};

/*
 * Imports image `image` of `frame` (a frame the caller holds) and describes
 * its planes in `out`. The buffers show the frame's memory itself (dma-buf,
 * host memory), or a copy made now (upload): reads of them must be finished
 * on the device before px_frame_release(), since the publisher will then
 * refill the slot. The acquire fence of a frame kept with its fence
 * (PX_SUBSCRIBER_KEEP_FENCES) is not waited for here: the application waits
 * for it (as a semaphore) before its reads, and before this call where the
 * path may be the upload path, whose copy is made here; transforms do all
 * that themselves. Copies from dma-bufs are bracketed with DMA_BUF_IOCTL_SYNC.
 * Returns 0, or:
 * -EINVAL   NULL arguments, image out of range, a frame without a pool,
 *           a frame whose layout differs from its pool's first frame;
 * -ENODATA  the image is not present in this frame (valid_mask);
 * -ENOTSUP  no path can take the image (not mappable and no dma-buf
 *           import); logged;
 * -ENOMEM, -EIO (a Vulkan failure, logged).
 * `frame` is not kept. Not thread-safe (see above).
 */
PX_API int px_vk_import(struct px_vk *vk, const struct px_frame *frame, uint32_t image,
			struct px_vk_image *out);

/*
 * An image of a frame as a VkImage: the dma-buf itself, imported with the
 * layout's explicit DRM format modifier and plane layouts
 * (VK_EXT_image_drm_format_modifier, VK_EXT_external_memory_dma_buf), for
 * the application's own sampling or copies. Where the data is linear,
 * px_vk_import()'s VkBuffers show the same bytes; a tiled layout (a GPU
 * allocator's modifier) can only be read this way.
 *
 * The image is made with VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT, usage
 * SAMPLED and, where the format and modifier allow it, TRANSFER_SRC
 * (`usage` says which), exclusive sharing, one mip level and layer; its
 * memory is a dedicated import of a duplicate of the buffer's fd (CLOEXEC),
 * bound at byte 0, so that the layout's plane offsets are the image's.
 * Imported once per (pool, slot, image) and reused, like px_vk_import()'s
 * buffers, and dropped with them. The formats (DRM → Vulkan, bytes in
 * memory order): XRGB8888 and ARGB8888 → B8G8R8A8_UNORM, XBGR8888 and
 * ABGR8888 → R8G8B8A8_UNORM (an X format's alpha is whatever memory holds),
 * RGB888 → B8G8R8_UNORM, BGR888 → R8G8B8_UNORM, R8 → R8_UNORM, R16 →
 * R16_UNORM, YUYV → G8B8G8R8_422_UNORM, UYVY → B8G8R8G8_422_UNORM, NV12 →
 * G8_B8R8_2PLANE_420_UNORM, P010 → G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16
 * (the multi-planar ones with their planes in one buffer).
 *
 * The memory is the publisher's: before reading, acquire the image with a
 * barrier from `queue_family` (VK_QUEUE_FAMILY_FOREIGN_EXT where the device
 * has VK_EXT_queue_family_foreign, else VK_QUEUE_FAMILY_EXTERNAL) to the
 * px_vk's, oldLayout VK_IMAGE_LAYOUT_GENERAL (the contents are kept), and
 * release it back the same way once done; reads must be finished before
 * px_frame_release(). The acquire fence is the application's, as for
 * px_vk_import().
 */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_vk_vkimage {
	VkImage image; /* the px_vk's: do not destroy it */
	VkFormat format;
	uint32_t width, height;
	uint64_t modifier;
	VkImageUsageFlags usage;
	uint32_t queue_family; /* the family to acquire from and release to */
};

/*
 * Imports image `image` of `frame` (a frame the caller holds) as a VkImage.
 * Returns 0, or:
 * -EINVAL   NULL arguments, image out of range, a frame without a pool,
 *           a frame whose layout differs from its pool's first frame;
 * -ENODATA  the image is not present in this frame (valid_mask);
 * -ENOTSUP  (the reason logged once per pool and image) the device lacks
 *           an extension above; the buffers are no dma-bufs, or belong to
 *           another hardware device; the layout's modifier is
 *           PX_MODIFIER_INVALID (no explicit layout); a format without a
 *           Vulkan equivalent above; planes in different buffers; the
 *           driver does not take the format with that modifier for a
 *           sampled, dma-buf-importable image of that size, or refuses the
 *           import;
 * -ENOMEM, -EIO (a Vulkan failure, logged).
 * `frame` is not kept. Not thread-safe (see above).
 */
PX_API int px_vk_import_vkimage(struct px_vk *vk, const struct px_frame *frame, uint32_t image,
				struct px_vk_vkimage *out);

/* The VkFormat px_vk_import_vkimage() gives a DRM fourcc, or
 * VK_FORMAT_UNDEFINED. Thread-safe. */
PX_API VkFormat px_vk_format_from_fourcc(uint32_t fourcc);

/* Drops the cached imports of a pool, after waiting for the device to be
 * idle. An unknown pool_id or a NULL vk is a no-op. */
PX_API void px_vk_forget_pool(struct px_vk *vk, uint64_t pool_id);

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_vk_stats {
	uint64_t imports;	 /* cache misses: (pool, slot, image) entries made */
	uint64_t buffer_imports; /* VkDeviceMemory imports/allocations for frame buffers */
	uint64_t dmabuf_imports; /* of those, by path */
	uint64_t opaque_imports;
	uint64_t host_imports;
	uint64_t upload_buffers;
	uint64_t vkimage_imports; /* VkImages made by px_vk_import_vkimage() and for
				   * transforms' reads (one per plane) */
	uint64_t cache_hits;	  /* px_vk_import() (and _vkimage()) calls served from the cache */
	uint64_t copies;     /* CPU copies into an upload buffer, one per plane copied */
	uint64_t copy_bytes;
	uint64_t evictions;	    /* pools dropped */
	uint64_t allocations;	    /* every Vulkan object or memory made, transforms' included */
	uint64_t fence_waits;	    /* acquire fences waited for (by transforms) */
	uint64_t fence_waits_cpu;   /* of those, on the CPU */
	uint64_t validation_errors; /* messages of the debug messenger, by severity */
	uint64_t validation_warnings;
	enum px_import_path last_path; /* the worst path of the last import call */
	uint32_t cached;	       /* entries held now */
};

/* Fills `stats`. Returns 0 or -EINVAL. */
PX_API int px_vk_get_stats_sized(size_t stats_size, const struct px_vk *vk,
				 struct px_vk_stats *stats);
#define px_vk_get_stats(...) px_vk_get_stats_sized(sizeof(struct px_vk_stats), __VA_ARGS__)

/* A VkResult as text ("VK_ERROR_OUT_OF_HOST_MEMORY"), or "VkResult(n)" in a
 * static buffer for an unknown value. Thread-safe for known values. */
PX_API const char *px_vk_result_name(VkResult result);

/* ---- Pools exported by the device: a GPU producer's publisher ---- */

/*
 * A px_vk_pool is a publisher's pool allocated on the px_vk's device and
 * exported as fds, so that the application's device work (compute,
 * transfers) writes the frames that other processes receive:
 *
 *     struct px_vk_pool *pool;
 *     px_vk_pool_create(vk, &layout, 4, &pool);
 *     struct px_external_pool ext;
 *     px_vk_pool_get_external(pool, &ext);
 *     struct px_publisher_params pp = {.topic = "gpu",
 *                                      .layout = px_vk_pool_get_layout(pool),
 *                                      .external = &ext};
 *     px_publisher_create(&pp, &pub);      // allocator: PX_ALLOCATOR_EXTERNAL
 *     ...
 *     px_publisher_acquire(pub, -1, &slot);
 *     ... device work writes px_vk_pool_get_buffer(pool, slot->index, b),
 *         and the application waits for it (a fence) ...
 *     px_publisher_publish(pub, slot, NULL);
 *     ...
 *     px_publisher_destroy(pub);
 *     px_vk_pool_destroy(pool);
 *
 * Each buffer b of each slot is one VkBuffer of layout->buffer_sizes[b]
 * bytes (usage: storage, transfer source and destination) bound at offset 0
 * to a VkDeviceMemory of its own, allocated with VkExportMemoryAllocateInfo
 * (and VkMemoryDedicatedAllocateInfo where the driver requires a dedicated
 * allocation) and exported with vkGetMemoryFdKHR. A host-visible, coherent
 * memory type is preferred, so that the publisher's CPU mapping and CPU
 * subscribers see the device's writes; without one, device-local memory is
 * taken and logged.
 *
 * Handle type, chosen once per pool and logged at PX_LOG_INFO with the
 * reason:
 * - PX_VK_EXPORT_DMABUF where the device has VK_EXT_external_memory_dma_buf
 *   and vkGetPhysicalDeviceExternalBufferProperties says such a buffer is
 *   exportable as a dma-buf. The publisher then shares dma-bufs, which every
 *   import path of <pixshare/import.h> takes.
 * - else PX_VK_EXPORT_OPAQUE_FD (VK_KHR_external_memory_fd, exportable).
 *   An opaque fd is whatever the driver makes it: a dma-buf or a memfd
 *   sealed with F_SEAL_SHRINK is published as such (mapped); any other
 *   (a GPU's own handle to its memory) is marked unmapped in
 *   px_vk_pool_get_external() (px_external_pool.unmapped, and
 *   px_vk_pool_info.unmapped): the publisher and its subscribers map
 *   nothing, and only devices of the exporter's UUIDs read the frames.
 *   Such a pool
 *   comes with its description (px_external_pool.vulkan: the device's
 *   UUIDs, memory type, allocation sizes, where the memory lies in each fd,
 *   dedicated or not), which the publisher sends to its subscribers, so
 *   that a subscriber's px_vk on the same device and driver imports the
 *   fds as what they are (PX_IMPORT_OPAQUE_FD), and one on another device
 *   takes the paths it has. All buffers of a pool share one memory type and
 *   are all dedicated allocations or none; a device that would make them
 *   differ fails creation (-ENOTSUP, logged).
 * - else -ENOTSUP, naming what is missing.
 * On lavapipe (Mesa's llvmpipe Vulkan) there is no dma-buf export, and its
 * opaque fd is a sealed memfd ("/memfd:llvmpipe memory fd", seals
 * F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW), which the publisher takes as a
 * memfd pool: the whole path works there, subscribers mapping the memfds
 * (and importing them as host memory into their own px_vk). But the memory
 * does not start at byte 0 of such a memfd: Mesa puts a header first and the
 * memory at the next page. px_vk_pool_create() finds where it lies (a marker
 * written through vkMapMemory() and looked for in a mapping of the fd; host-
 * visible memfds only, others are taken to start at 0), and
 * px_vk_pool_get_layout() gives the layout of the fds: the caller's, each
 * plane's offset and each buffer's size moved by that offset. Publish with
 * that layout; the VkBuffers keep the caller's (offset 0 of the VkBuffer is
 * byte px_vk_pool_info.data_offset[b] of the fd). Subscribers can read the
 * bytes before it (Mesa's header: sizes and the driver's UUID).
 *
 * Every exported fd is made CLOEXEC right after vkGetMemoryFdKHR (Vulkan
 * does not promise it; another thread of the application that forks and
 * execs in between could leak it to the child). Allocations are counted in
 * px_vk_stats.allocations.
 *
 * Synchronisation is the application's: pixshare records no device work on
 * these buffers. Finish (wait for) the device's writes to a slot before
 * publishing it, and write a slot only between px_publisher_acquire() and
 * px_publisher_publish().
 *
 * Thread safety: as the px_vk it is made on (create and destroy use its
 * device); the getters make no Vulkan call and may be called from any
 * thread while the pool lives.
 */
struct px_vk_pool;

/* How a pool's memory was exported. */
enum px_vk_export {
	PX_VK_EXPORT_DMABUF = 1,    /* VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT */
	PX_VK_EXPORT_OPAQUE_FD = 2, /* VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT */
};

/*
 * Allocates n_slots × layout->n_buffers VkBuffers with exportable memory on
 * vk's device and exports each as an fd (see above). `layout` is validated
 * (px_layout_validate()) and copied; it describes the VkBuffers, and
 * px_vk_pool_get_layout() the fds, for px_publisher_create(). n_slots is
 * 1 … PX_MAX_SLOTS (a publisher needs at least 3).
 * Returns 0 and the pool in `*out` (the caller's, for px_vk_pool_destroy()),
 * or:
 * -EINVAL   NULL arguments, an invalid layout, n_slots out of range;
 * -ENOTSUP  the device exports neither dma-bufs nor opaque fds for such
 *           buffers (logged with what is missing), no memory type fits, an
 *           exported fd is smaller than the layout's buffer, or the memory
 *           is not found in its memfd or lies at different offsets in the
 *           fds of one buffer index, the buffers would need different
 *           memory types or only some of them dedicated allocations (one
 *           description of the export cannot say that);
 * -ENOMEM, -EIO (a Vulkan call failed; logged with its VkResult), or the
 *           errno of fcntl().
 * On failure nothing is left allocated or open. `vk` must outlive the pool.
 */
PX_API int px_vk_pool_create(struct px_vk *vk, const struct px_set_layout *layout,
			     uint32_t n_slots, struct px_vk_pool **out);

/*
 * Waits for the device to be idle, then frees the buffers and their memory
 * and closes the fds. Call it after px_publisher_destroy() of the publisher
 * using the pool (which holds duplicates of the fds, and mappings), and
 * before px_vk_destroy(). NULL is a no-op.
 */
PX_API void px_vk_pool_destroy(struct px_vk_pool *pool);

/* The layout to publish the pool's fds with (px_publisher_params.layout):
 * the one given to px_vk_pool_create(), moved by data_offset (see above).
 * Owned by the pool, valid until px_vk_pool_destroy(). NULL pool: NULL. */
PX_API const struct px_set_layout *px_vk_pool_get_layout(const struct px_vk_pool *pool);

/*
 * Fills `out` for px_publisher_params.external: n_slots, the fds (slot-major,
 * owned by the pool, valid until px_vk_pool_destroy(); do not close them)
 * and the device (the device's DRM primary node, else its render node, for
 * dma-bufs; 0 for opaque fds). Returns 0 or -EINVAL (NULL arguments).
 */
PX_API int px_vk_pool_get_external(const struct px_vk_pool *pool, struct px_external_pool *out);

/*
 * The VkBuffer of buffer `buffer` of slot `slot` (px_slot.index), for the
 * application's device work; the pool's: do not destroy it. It covers
 * layout->buffer_sizes[buffer] bytes from offset 0; the planes lie at the
 * offsets and strides of the layout given to px_vk_pool_create() (not
 * px_vk_pool_get_layout()'s). VK_NULL_HANDLE for a NULL pool or an index
 * out of range.
 */
PX_API VkBuffer px_vk_pool_get_buffer(const struct px_vk_pool *pool, uint32_t slot,
				      uint32_t buffer);

/*
 * The CPU address of byte 0 of buffer `buffer` of slot `slot` (the planes at
 * the offsets of the layout given to px_vk_pool_create()), for a producer
 * that writes frames on the CPU into host-visible memory that no fd mapping
 * shows (a GPU's own opaque fds, px_vk_pool_info.unmapped). Mapped with
 * vkMapMemory at the first call and kept until px_vk_pool_destroy(); the
 * memory is coherent, so the device sees the writes without a flush.
 * Returns 0 and `*data`, -EINVAL (NULL arguments, an index out of range),
 * -ENOTSUP (device-local memory: px_vk_pool_info.host_visible false) or
 * vkMapMemory's error as an errno. Not thread-safe against itself.
 */
PX_API int px_vk_pool_map(struct px_vk_pool *pool, uint32_t slot, uint32_t buffer, void **data);

/* What a pool is. */
/* Extensible (see common.h): later versions may add fields at its end. */
struct px_vk_pool_info {
	enum px_vk_export export_type;
	bool host_visible; /* HOST_VISIBLE|HOST_COHERENT memory: CPU mappings see the writes */
	/* The fds are neither dma-bufs nor sealed memfds (a GPU's own opaque
	 * fds): px_vk_pool_get_external() marks them unmapped, so that the
	 * publisher and its subscribers map nothing and only devices of this
	 * one's UUIDs read the frames (PX_IMPORT_OPAQUE_FD). */
	bool unmapped;
	bool dedicated;	   /* VkMemoryDedicatedAllocateInfo was used */
	uint32_t n_slots;
	uint32_t n_buffers;
	uint32_t memory_type; /* index in the device's memory types */
	/* Where byte 0 of buffer b's memory lies in its fd (0 but for memfds
	 * such as lavapipe's). */
	uint64_t data_offset[PX_MAX_BUFFERS];
};

/* Fills `info`. Returns 0 or -EINVAL. No Vulkan call. */
PX_API int px_vk_pool_get_info_sized(size_t info_size, const struct px_vk_pool *pool,
				     struct px_vk_pool_info *info);
#define px_vk_pool_get_info(...)                                                                   \
	px_vk_pool_get_info_sized(sizeof(struct px_vk_pool_info), __VA_ARGS__)

/* "dma-buf", "opaque fd", or "unknown". Static. */
PX_API const char *px_vk_export_name(enum px_vk_export type);

#ifdef __cplusplus
}
#endif

#endif
