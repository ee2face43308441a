/* SPDX-License-Identifier: MIT */
#include "gst/pixshare-gst.h"

/* DRM formats name bytes from the lowest bit up (XRGB8888 is B, G, R, X in
 * memory), GStreamer's from the first byte: the names read reversed. */
static const struct {
	GstVideoFormat gst;
	uint32_t fourcc;
} formats[] = {
    {GST_VIDEO_FORMAT_YUY2, PX_FORMAT_YUYV},	 {GST_VIDEO_FORMAT_UYVY, PX_FORMAT_UYVY},
    {GST_VIDEO_FORMAT_NV12, PX_FORMAT_NV12},	 {GST_VIDEO_FORMAT_P010_10LE, PX_FORMAT_P010},
    {GST_VIDEO_FORMAT_BGRx, PX_FORMAT_XRGB8888}, {GST_VIDEO_FORMAT_BGRA, PX_FORMAT_ARGB8888},
    {GST_VIDEO_FORMAT_RGBx, PX_FORMAT_XBGR8888}, {GST_VIDEO_FORMAT_RGBA, PX_FORMAT_ABGR8888},
    {GST_VIDEO_FORMAT_BGR, PX_FORMAT_RGB888},	 {GST_VIDEO_FORMAT_RGB, PX_FORMAT_BGR888},
    {GST_VIDEO_FORMAT_GRAY8, PX_FORMAT_R8},	 {GST_VIDEO_FORMAT_GRAY16_LE, PX_FORMAT_R16},
    {GST_VIDEO_FORMAT_I420, PX_FORMAT_YUV420},	 {GST_VIDEO_FORMAT_Y42B, PX_FORMAT_YUV422},
};

uint32_t format_to_fourcc(GstVideoFormat format)
{
	for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
		if (formats[i].gst == format)
			return formats[i].fourcc;
	return 0;
}

GstVideoFormat format_from_fourcc(uint32_t fourcc)
{
	for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
		if (formats[i].fourcc == fourcc)
			return formats[i].gst;
	return GST_VIDEO_FORMAT_UNKNOWN;
}

gboolean image_video_info(const struct px_image_layout *image, gint fps_n, gint fps_d,
			  GstVideoInfo *info)
{
	GstVideoFormat format = format_from_fourcc(image->fourcc);
	if (format == GST_VIDEO_FORMAT_UNKNOWN ||
	    !gst_video_info_set_format(info, format, image->width, image->height))
		return FALSE;
	if (GST_VIDEO_INFO_N_PLANES(info) != image->n_planes)
		return FALSE;
	GST_VIDEO_INFO_FPS_N(info) = fps_n;
	GST_VIDEO_INFO_FPS_D(info) = fps_d;
	uint64_t start = UINT64_MAX;
	for (uint32_t p = 0; p < image->n_planes; p++)
		start = MIN(start, image->planes[p].offset);
	gsize size = 0;
	for (uint32_t p = 0; p < image->n_planes; p++) {
		const struct px_plane *pl = &image->planes[p];
		info->stride[p] = (gint)pl->stride;
		info->offset[p] = pl->offset - start;
		gsize end = info->offset[p] +
			    (gsize)pl->stride * (px_image_plane_rows(image, p) - 1) +
			    px_image_row_bytes(image, p);
		size = MAX(size, end);
	}
	info->size = size;
	return TRUE;
}
