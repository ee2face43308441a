/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the V4L2 format mapping (capture/v4l2_format.c), which
 * turns a driver's answer to VIDIOC_S_FMT — any numbers a buggy driver or a
 * hostile device may give — into the layout a camera publishes.
 *
 * Input: u8 options (bit 0: the multi-planar API), then the bytes of a
 * struct v4l2_format.
 *
 * Invariants: a layout made is one px_layout_validate() accepts, of one
 * image of the format the table maps, in the V4L2 format's memory planes,
 * every plane's rows inside its buffer; the table maps both ways.
 */
#include <errno.h>

#include "capture/v4l2_format.h"
#include "core/util.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct v4l2_format fmt;
	struct px_v4l2_format cf;
	struct px_set_layout l;
	char why[200];

	bool mplane = fuzz_u8(&in) & 1;
	fuzz_bytes(&in, &fmt, sizeof(fmt));
	px_v4l2_format_get(&fmt, mplane, &cf);
	CHECK(cf.n_mem <= PX_MAX_PLANES);
	uint32_t n_mem = 0;
	uint32_t drm = px_v4l2_drm_format(cf.pixelformat, &n_mem);
	if (!drm)
		return 0;
	CHECK(n_mem >= 1 && n_mem <= PX_MAX_PLANES);
	if (n_mem == 1)
		CHECK(px_v4l2_drm_format(px_v4l2_of_drm(drm), NULL) == drm);
	int ret = px_v4l2_layout(&cf, drm, n_mem, &l, why, sizeof(why));
	CHECK(ret == 0 || ret == -EIO);
	if (ret)
		return 0;
	CHECK(px_layout_validate(&l, why, sizeof(why)) == 0);
	CHECK(l.n_images == 1 && l.n_buffers == n_mem && l.images[0].fourcc == drm);
	CHECK(l.images[0].width == cf.width && l.images[0].height == cf.height);
	const struct px_image_layout *img = &l.images[0];
	const struct px_format_info *f = px_format_get_info(drm);
	for (uint32_t p = 0; p < img->n_planes; p++) {
		const struct px_plane *pl = &img->planes[p];
		uint64_t bytes = l.buffer_sizes[pl->buffer];
		CHECK(pl->buffer < n_mem && bytes <= cf.sizeimage[pl->buffer]);
		if (f->compressed) {
			CHECK(pl->offset == 0 && pl->stride == 0);
			continue;
		}
		uint64_t end = pl->offset +
			       (uint64_t)pl->stride * (px_image_plane_rows(img, p) - 1) +
			       px_image_row_bytes(img, p);
		CHECK(pl->stride >= px_image_row_bytes(img, p) && end <= bytes);
	}
	return 0;
}
