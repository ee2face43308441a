/* SPDX-License-Identifier: MIT */
/*
 * The pixshare GStreamer plugin: what its files share. Private to gst/.
 */
#ifndef PIXSHARE_GST_H
#define PIXSHARE_GST_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include <pixshare/pixshare.h>

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN(pixshare_gst_debug);
#define GST_CAT_DEFAULT pixshare_gst_debug

/* The raw formats both elements take, as a caps string's format list. */
#define PIXSHARE_GST_FORMATS                                                                       \
	"{ YUY2, UYVY, NV12, P010_10LE, I420, Y42B, BGRx, BGRA, RGBx, RGBA, BGR, RGB, GRAY8, "      \
	"GRAY16_LE }"

/* DRM fourcc of a GStreamer format, or 0 where pixshare has none. */
uint32_t format_to_fourcc(GstVideoFormat format);
/* GStreamer format of a DRM fourcc, or GST_VIDEO_FORMAT_UNKNOWN. */
GstVideoFormat format_from_fourcc(uint32_t fourcc);

/*
 * Fills `info` for image `image` of a set layout: format, size, and the
 * layout's own strides, with plane offsets relative to where the image's
 * first byte lies (what image_region() gives). fps 0/1 gives 0/1.
 * Returns false for a format GStreamer does not have here.
 */
gboolean image_video_info(const struct px_image_layout *image, gint fps_n, gint fps_d,
			  GstVideoInfo *info);

GType gst_pixshare_src_get_type(void);
GType gst_pixshare_sink_get_type(void);

G_END_DECLS

#endif
