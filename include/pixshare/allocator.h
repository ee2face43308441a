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
};

/* The allocator's name ("memfd"), or NULL for an unknown value. Static. */
PX_API const char *px_allocator_name(enum px_allocator_type type);

/* Parses a name as printed by px_allocator_name(), or "auto". 0 or -EINVAL. */
PX_API int px_allocator_from_name(const char *name, enum px_allocator_type *type);

/* Whether buffers of this allocator are dma-bufs. */
PX_API bool px_allocator_is_dmabuf(enum px_allocator_type type);

#ifdef __cplusplus
}
#endif

#endif
