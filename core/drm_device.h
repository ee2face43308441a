/* SPDX-License-Identifier: MIT */
/* Opening DRM devices for the allocators that need one. */
#ifndef PX_CORE_DRM_DEVICE_H
#define PX_CORE_DRM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pixshare/publisher.h>

/*
 * Opens a DRM card node read-write and CLOEXEC: `device` if given, else the
 * first /dev/dri/card* for which `accept(fd, data)` returns true. Returns the
 * fd, or -ENOENT (none; the reason in `why`) or another negative errno. The
 * node's path and driver name are written to `path` and `driver` (each 64
 * bytes) where not NULL.
 */
int px_drm_open_card(const char *device, bool (*accept)(int fd, void *data), void *data,
		     char *path, char *driver, char *why, size_t why_size);

/* The dev_t of an open DRM node, or 0. */
uint64_t px_drm_device_id(int fd);

/*
 * Exports GEM object `handle` of `card` (`size` bytes) as a dma-buf for a
 * pool: read-only, with a read-write CPU mapping for the publisher made
 * through the card node (MODE_MAP_DUMB, which most drivers offer for any
 * object), so that subscribers, who receive the dma-buf, can never map it
 * writable. The mapping is made first: a dma-buf's mode is fixed by its
 * first export (the kernel keeps one dma-buf per object), so where the card
 * cannot map the object the export is read-write instead, mapped through
 * the dma-buf, and *read_only is false (`why_ro` says why; may be NULL).
 * On success the buffer owns fd and mapping (data NULL where neither way
 * maps); the handle stays the caller's. `writable` asks for a read-write
 * export at once (px_publisher_params.writable_dmabufs). Returns 0 or a negative errno, the
 * reason in `why`.
 */
int px_drm_export(int card, uint32_t handle, uint64_t size, bool writable, struct px_buffer *out,
		  bool *read_only, char *why_ro, size_t why_ro_size, char *why, size_t why_size);

#endif
