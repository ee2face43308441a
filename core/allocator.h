/* SPDX-License-Identifier: MIT */
/*
 * The allocator interface. An allocator is opened once per publisher (on a
 * device where it needs one), allocates the buffers of each slot, exports them
 * as fds and maps them for the publisher's CPU where it can. New allocators
 * plug in with an entry in allocators[] of allocator.c.
 */
#ifndef PX_CORE_ALLOCATOR_H
#define PX_CORE_ALLOCATOR_H

#include <pixshare/allocator.h>
#include <pixshare/publisher.h>

#include "core/dmabuf.h"

/* px_allocator_ops.open flags. */
#define PX_ALLOC_WRITABLE_DMABUFS (1u << 0) /* no read-only dma-bufs */

struct px_allocator_ops {
	enum px_allocator_type type;
	const char *name;
	bool dmabuf;
	/*
	 * Opens the allocator on `device` (NULL: its default). Returns 0, or
	 * -ENOENT (no such device here) / -ENOTSUP (not usable) / another
	 * negative errno, with the reason in `why`.
	 */
	int (*open)(const char *device, uint32_t flags, void **priv, char *why, size_t why_size);
	void (*close)(void *priv);
	/*
	 * Allocates the buffers of one slot into bufs[0 … layout->n_buffers-1]
	 * (fd -1 on entry). The first slot may adjust `layout` to what was
	 * really made (strides, offsets, modifiers, buffer sizes); later slots
	 * must come out the same. Returns 0, or -ENOTSUP when the layout is
	 * one this allocator cannot make, or another negative errno, with the
	 * reason in `why`. On failure nothing is left allocated.
	 */
	int (*alloc_slot)(void *priv, struct px_set_layout *layout, bool first,
			  struct px_buffer *bufs, char *why, size_t why_size);
	/* Frees one buffer; a buffer with fd -1 and no mapping is a no-op. */
	void (*free_buffer)(void *priv, struct px_buffer *buf);
	/* The dev_t of the DRM device the buffers live on, or 0; may be NULL. */
	uint64_t (*device)(void *priv);
	/* Whether this pool's buffers are dma-bufs, for an allocator whose
	 * `dmabuf` depends on the buffers (external); NULL: `dmabuf`. */
	bool (*pool_dmabuf)(void *priv);
};

/* The ops of a type, or NULL if it is not built into this library. */
const struct px_allocator_ops *px_allocator_ops(enum px_allocator_type type);

/* The candidates for `type`, best first: one for an explicit type, every
 * built-in allocator for AUTO (never external). Returns the count written
 * to `out`. */
size_t px_allocator_candidates(enum px_allocator_type type, const struct px_allocator_ops **out,
			       size_t max);

/* Frees a buffer made by the generic helpers below: unmaps, closes. */
void px_buffer_unmap_close(struct px_buffer *buf);

/* free_buffer for allocators whose buffers are an fd and a mapping. */
void px_allocator_free_mapped(void *priv, struct px_buffer *buf);

/* An allocator's way to make one buffer of `size` bytes: 0, or a negative
 * errno with the reason in `why`. */
typedef int (*px_make_buffer_fn)(void *priv, uint64_t size, struct px_buffer *out, char *why,
				 size_t why_size);

/* alloc_slot for allocators of plain buffers of any size (the layout stays as
 * asked): makes buffer b of layout->buffer_sizes[b] bytes with `make`, and
 * frees those made if one fails. */
int px_alloc_plain_buffers(void *priv, const struct px_set_layout *layout, struct px_buffer *bufs,
			   px_make_buffer_fn make, char *why, size_t why_size);

/*
 * Opens the external allocator on the application's buffers (its `open` only
 * refuses): checks each fd of `pool` against `layout`, dups and maps it (but
 * for pool->unmapped, whose fds are only dup'd and told apart). 0,
 * or -EINVAL / another negative errno with the slot, buffer and reason in
 * `why`; nothing is left open on failure. alloc_slot then hands out the
 * slots in order, and free_buffer frees what it handed out.
 */
int px_allocator_external_open(const struct px_external_pool *pool,
			       const struct px_set_layout *layout, void **priv, char *why,
			       size_t why_size);

extern const struct px_allocator_ops px_allocator_memfd;
extern const struct px_allocator_ops px_allocator_external;
extern const struct px_allocator_ops px_allocator_udmabuf;
extern const struct px_allocator_ops px_allocator_dma_heap;
#ifdef PX_HAVE_LIBDRM
extern const struct px_allocator_ops px_allocator_dumb;
#endif
#ifdef PX_HAVE_GBM
extern const struct px_allocator_ops px_allocator_gbm;
#endif

#endif
