/* SPDX-License-Identifier: MIT */
/*
 * pixshare — how a frame's image reached a GPU API.
 *
 * Every GPU import (EGL, Vulkan, transforms) reports the path it took, so that
 * an application can prove its pipeline is zero-copy, or see where it is not.
 * The subscriber a frame came from counts its images by path, and the
 * copies made of them (px_subscriber_stats.imported_*, copies):
 *
 * - PX_IMPORT_DMABUF: the GPU reads the publisher's dma-buf itself. No copy.
 * - PX_IMPORT_UPLOAD: the CPU copied the pixels from the frame's read-only
 *   mapping into GPU memory. A copy on every import, counted in the
 *   importer's stats and the subscriber's.
 * - PX_IMPORT_HOST_MEMORY: the GPU reads the frame's CPU mapping in place
 *   (Vulkan VK_EXT_external_memory_host, for memfd pools and software
 *   drivers). No copy. Not produced by the EGL importer.
 * - PX_IMPORT_OPAQUE_FD: the publisher's buffers are memory a Vulkan device
 *   exported as opaque fds (px_frame.vulkan), imported as such into a
 *   Vulkan device of the same device and driver UUIDs: the GPU reads the
 *   exporter's memory itself. No copy. Vulkan only.
 *
 * Header only; thread-safe.
 */
#ifndef PIXSHARE_IMPORT_H
#define PIXSHARE_IMPORT_H

#include <pixshare/common.h>

#ifdef __cplusplus
extern "C" {
#endif

enum px_import_path {
	PX_IMPORT_DMABUF = 0,
	PX_IMPORT_UPLOAD = 1,
	PX_IMPORT_HOST_MEMORY = 2,
	PX_IMPORT_OPAQUE_FD = 3,
};

/* How many paths there are (for arrays indexed by path). */
#define PX_IMPORT_PATHS 4

/* "dmabuf", "upload", "host-memory", "opaque-fd", or "?" for another value.
 * Static. */
static inline const char *px_import_path_name(enum px_import_path path)
{
	switch (path) {
	case PX_IMPORT_DMABUF:
		return "dmabuf";
	case PX_IMPORT_UPLOAD:
		return "upload";
	case PX_IMPORT_HOST_MEMORY:
		return "host-memory";
	case PX_IMPORT_OPAQUE_FD:
		return "opaque-fd";
	}
	return "?";
}

#ifdef __cplusplus
}
#endif

#endif
