/* SPDX-License-Identifier: MIT */
/*
 * pixshare — buffer allocators.
 *
 * A publisher allocates its pool with one allocator. Each allocator says
 * whether its buffers are real dma-bufs (importable by GPUs and other devices)
 * or not. The allocators that exist in a build are listed by
 * px_allocator_list(); whether one works on this machine is only known when it
 * is tried.
 */
#ifndef PIXSHARE_ALLOCATOR_H
#define PIXSHARE_ALLOCATOR_H

#include <pixshare/common.h>

#ifdef __cplusplus
extern "C" {
#endif

enum px_allocator_type {
	/* The best allocator that works here; the choice and the reasons the
	 * better ones were not taken are logged at PX_LOG_INFO. */
	PX_ALLOCATOR_AUTO = 0,
	/* Sealed memfds: always available, not dma-bufs. The memfd is sealed
	 * against shrinking, growing and future writes after the publisher has
	 * mapped it, so subscribers can only map it read-only. */
	PX_ALLOCATOR_MEMFD = 1,
	/* GBM on a DRM device (params.device: a card node; NULL: the first
	 * one GBM opens). One buffer object per image, single-plane formats
	 * the driver supports; strides and modifiers are the driver's
	 * (read the real layout with px_publisher_get_layout()). Tries
	 * gbm_bo_create_with_modifiers() first; a layout asking for LINEAR
	 * falls back to GBM_BO_USE_LINEAR, one with PX_MODIFIER_INVALID to
	 * the driver's implicit layout, reported as such. */
	PX_ALLOCATOR_GBM = 2,
	/* DRM dumb buffers (params.device: a card node; NULL: the first that
	 * supports them): linear dma-bufs of any size, any format and layout,
	 * multi-planar and batches included. */
	PX_ALLOCATOR_DUMB = 3,
	/* A dma-heap (params.device: the heap's name or path; NULL: "system"). */
	PX_ALLOCATOR_DMA_HEAP = 4,
	/* udmabuf: dma-bufs made from sealed memfds (/dev/udmabuf). */
	PX_ALLOCATOR_UDMABUF = 5,
	/* The application's own buffers (px_publisher_params.external): a
	 * V4L2 device's exported buffers, memory a Vulkan device exported,
	 * memfds it made. Dma-bufs or sealed memfds, as the application gave
	 * them. Never picked by PX_ALLOCATOR_AUTO, not in px_allocator_list(). */
	PX_ALLOCATOR_EXTERNAL = 6,
};

/*
 * Lists the allocators built into this library, best first (the order
 * PX_ALLOCATOR_AUTO tries them in): writes up to `max` to `out` and returns
 * how many there are. Whether one works here is only known when it is tried.
 */
PX_API size_t px_allocator_list(enum px_allocator_type *out, size_t max);

/* The allocator's name ("memfd", "gbm", "dumb", "dma-heap", "udmabuf",
 * "external", "auto"), or NULL for a value not built in. Static. */
PX_API const char *px_allocator_name(enum px_allocator_type type);

/* Parses a name as printed by px_allocator_name(), or "auto". 0 or -EINVAL. */
PX_API int px_allocator_from_name(const char *name, enum px_allocator_type *type);

/* Whether buffers of this allocator are dma-bufs. False for
 * PX_ALLOCATOR_EXTERNAL, whose buffers may be dma-bufs or memfds: a
 * publisher's px_publisher_is_dmabuf() says what its pool really is. */
PX_API bool px_allocator_is_dmabuf(enum px_allocator_type type);

#ifdef __cplusplus
}
#endif

#endif
