/* SPDX-License-Identifier: MIT */
/* Opening DRM devices for the allocators that need one. */
#ifndef PX_CORE_DRM_DEVICE_H
#define PX_CORE_DRM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
