/* SPDX-License-Identifier: MIT */
/*
 * What a V4L2 driver's format means as a pixshare layout: the V4L2 ↔ DRM
 * format table and the layout of a negotiated format. Pure functions, no
 * device access, so that a driver's answers can be fuzzed (tests/fuzz) and
 * tested without a device. Private to the library.
 */
#ifndef PX_CAPTURE_V4L2_FORMAT_H
#define PX_CAPTURE_V4L2_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/videodev2.h>

#include <pixshare/layout.h>

/* The negotiated format, whichever API: per memory plane bytesperline and
 * sizeimage, as the driver set them. */
struct px_v4l2_format {
	uint32_t pixelformat, width, height, field;
	uint32_t n_mem; /* memory planes, at most PX_MAX_PLANES */
	uint32_t bytesperline[PX_MAX_PLANES], sizeimage[PX_MAX_PLANES];
};

/* The DRM fourcc with the same bytes in memory as V4L2 format `v4l2`, and
 * in `*n_mem` (if not NULL) the memory planes the V4L2 format has; 0 for a
 * format not mapped. */
uint32_t px_v4l2_drm_format(uint32_t v4l2, uint32_t *n_mem);

/* The V4L2 format of one memory plane for DRM format `drm`, or 0. */
uint32_t px_v4l2_of_drm(uint32_t drm);

/* Reads `f` (VIDIOC_G_FMT's or S_FMT's answer, `mplane`: of the
 * multi-planar API) into `out`; any bytes are safe. */
void px_v4l2_format_get(const struct v4l2_format *f, bool mplane, struct px_v4l2_format *out);

/*
 * The layout of one image of format `cf`, which is DRM format `drm` in
 * `n_mem` memory planes (px_v4l2_drm_format()): one buffer per memory plane,
 * sized by sizeimage, strides from bytesperline. Returns 0 with `*layout`
 * valid (px_layout_validate()), -ENOTSUP for a DRM format pixshare does not
 * know, or -EIO where the driver's numbers make no valid layout; the reason
 * in `why` for both. `*layout` is written only on success.
 */
int px_v4l2_layout(const struct px_v4l2_format *cf, uint32_t drm, uint32_t n_mem,
		   struct px_set_layout *layout, char *why, size_t why_size);

#endif
