/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "capture/v4l2_format.h"
#include "core/util.h"

/* V4L2 pixel formats and the DRM fourccs with the same bytes in memory;
 * n_mem: memory planes (separate buffers) the V4L2 format has. */
static const struct {
	uint32_t v4l2, drm, n_mem;
} formats[] = {
    {V4L2_PIX_FMT_YUYV, PX_FORMAT_YUYV, 1},
    {V4L2_PIX_FMT_UYVY, PX_FORMAT_UYVY, 1},
    {V4L2_PIX_FMT_GREY, PX_FORMAT_R8, 1},
    {V4L2_PIX_FMT_Y16, PX_FORMAT_R16, 1},
    /* V4L2 names RGB formats by byte order, DRM by a little-endian word. */
    {V4L2_PIX_FMT_RGB24, PX_FORMAT_BGR888, 1},	  /* bytes R, G, B */
    {V4L2_PIX_FMT_BGR24, PX_FORMAT_RGB888, 1},	  /* bytes B, G, R */
    {V4L2_PIX_FMT_XBGR32, PX_FORMAT_XRGB8888, 1}, /* bytes B, G, R, X */
    {V4L2_PIX_FMT_ABGR32, PX_FORMAT_ARGB8888, 1}, /* bytes B, G, R, A */
    {V4L2_PIX_FMT_RGBX32, PX_FORMAT_XBGR8888, 1}, /* bytes R, G, B, X */
    {V4L2_PIX_FMT_RGBA32, PX_FORMAT_ABGR8888, 1}, /* bytes R, G, B, A */
    {V4L2_PIX_FMT_NV12, PX_FORMAT_NV12, 1},
    /* Multi-planar API: luma and chroma in two buffers. */
    {V4L2_PIX_FMT_NV12M, PX_FORMAT_NV12, 2},
    /* Compressed, passed through with each frame's size. */
    {V4L2_PIX_FMT_MJPEG, PX_FORMAT_MJPEG, 1},
};

uint32_t px_v4l2_drm_format(uint32_t v4l2, uint32_t *n_mem)
{
	for (size_t i = 0; i < PX_ARRAY_SIZE(formats); i++)
		if (formats[i].v4l2 == v4l2) {
			if (n_mem)
				*n_mem = formats[i].n_mem;
			return formats[i].drm;
		}
	return 0;
}

uint32_t px_v4l2_of_drm(uint32_t drm)
{
	for (size_t i = 0; i < PX_ARRAY_SIZE(formats); i++)
		if (formats[i].drm == drm && formats[i].n_mem == 1)
			return formats[i].v4l2;
	return 0;
}

void px_v4l2_format_get(const struct v4l2_format *f, bool mplane, struct px_v4l2_format *out)
{
	memset(out, 0, sizeof(*out));
	if (mplane) {
		const struct v4l2_pix_format_mplane *mp = &f->fmt.pix_mp;
		out->pixelformat = mp->pixelformat;
		out->width = mp->width;
		out->height = mp->height;
		out->field = mp->field;
		out->n_mem = PX_MIN((uint32_t)mp->num_planes, (uint32_t)PX_MAX_PLANES);
		for (uint32_t m = 0; m < out->n_mem; m++) {
			out->bytesperline[m] = mp->plane_fmt[m].bytesperline;
			out->sizeimage[m] = mp->plane_fmt[m].sizeimage;
		}
	} else {
		const struct v4l2_pix_format *pix = &f->fmt.pix;
		out->pixelformat = pix->pixelformat;
		out->width = pix->width;
		out->height = pix->height;
		out->field = pix->field;
		out->n_mem = 1;
		out->bytesperline[0] = pix->bytesperline;
		out->sizeimage[0] = pix->sizeimage;
	}
}

int px_v4l2_layout(const struct px_v4l2_format *cf, uint32_t drm, uint32_t n_mem,
		   struct px_set_layout *layout, char *why, size_t why_size)
{
	const struct px_format_info *info = px_format_get_info(drm);
	char name[16], reason[160];

	if (!info) {
		snprintf(why, why_size, "%s: not a format pixshare knows",
			 px_format_name(drm, name, sizeof(name)));
		return -ENOTSUP;
	}
	if (cf->n_mem != n_mem || (n_mem != 1 && n_mem != info->n_planes)) {
		snprintf(why, why_size, "the driver reports %u memory planes for a format of %u",
			 cf->n_mem, n_mem);
		return -EIO;
	}
	struct px_set_layout l;
	memset(&l, 0, sizeof(l));
	l.n_images = 1;
	l.n_buffers = n_mem;
	for (uint32_t m = 0; m < n_mem; m++)
		l.buffer_sizes[m] = cf->sizeimage[m];
	struct px_image_layout *img = &l.images[0];
	img->fourcc = drm;
	img->width = cf->width;
	img->height = cf->height;
	img->n_planes = info->n_planes;
	img->modifier = PX_MODIFIER_LINEAR;
	uint64_t offset = 0;
	for (uint32_t p = 0; p < info->n_planes; p++) {
		if (info->compressed) {
			/* Bytes, not rows: sizeimage is the largest frame. */
			img->planes[p].buffer = 0;
			img->planes[p].offset = 0;
			img->planes[p].stride = 0;
		} else if (n_mem == 1) {
			/* One memory plane: the planes follow one another in
			 * one buffer; NV12's CbCr plane has the luma plane's
			 * bytesperline (the only such format mapped here). */
			img->planes[p].buffer = 0;
			img->planes[p].offset = offset;
			img->planes[p].stride = cf->bytesperline[0];
			offset += (uint64_t)cf->bytesperline[0] * px_image_plane_rows(img, p);
		} else {
			img->planes[p].buffer = p;
			img->planes[p].offset = 0;
			img->planes[p].stride = cf->bytesperline[p];
		}
	}
	if (px_layout_validate(&l, reason, sizeof(reason))) {
		snprintf(why, why_size, "the driver's layout is not valid: %s", reason);
		return -EIO;
	}
	*layout = l;
	return 0;
}
