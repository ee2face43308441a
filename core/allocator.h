/* SPDX-License-Identifier: MIT */
/*
 * The allocator interface. Each allocator makes buffers of a given size,
 * exports them as fds, and maps them for the publisher's CPU where it can.
 * Later allocators (GBM, dma-heap, udmabuf, V4L2 and Vulkan export) plug in
 * here with an entry in allocators[] of allocator.c.
 */
#ifndef PX_CORE_ALLOCATOR_H
#define PX_CORE_ALLOCATOR_H

#include <pixshare/allocator.h>
#include <pixshare/publisher.h>

struct px_allocator_ops {
	enum px_allocator_type type;
	const char *name;
	bool dmabuf;
	/* Checks whether the allocator can work here: 0, or -ENOTSUP with the
	 * reason in `why`. */
	int (*probe)(char *why, size_t why_size);
	/* Makes one buffer of `size` bytes: fd (CLOEXEC, owned by `out`), size
	 * and CPU mapping (read-write, or NULL). 0 or a negative errno, logged. */
	int (*alloc)(uint64_t size, struct px_buffer *out);
	/* Frees what alloc made; a zeroed buffer with fd -1 is a no-op. */
	void (*free)(struct px_buffer *buf);
};

/* The ops for a type, or NULL if not built in. AUTO is resolved here: the
 * best allocator whose probe passes, with the reasons logged. */
const struct px_allocator_ops *px_allocator_resolve(enum px_allocator_type type);

extern const struct px_allocator_ops px_allocator_memfd;

#endif
