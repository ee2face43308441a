/* SPDX-License-Identifier: MIT */
/*
 * The pixshare GStreamer plugin: pixsharesrc (a topic into a pipeline) and
 * pixsharesink (a pipeline's raw video as a topic).
 *
 * The library's log keeps its own handler (stderr, PIXSHARE_LOG): a plugin
 * must not take over the process-wide handler of an application that also
 * uses pixshare directly.
 */
#include "gst/pixshare-gst.h"

GST_DEBUG_CATEGORY(pixshare_gst_debug);

static gboolean plugin_init(GstPlugin *plugin)
{
	GST_DEBUG_CATEGORY_INIT(pixshare_gst_debug, "pixshare", 0, "pixshare elements");
	return gst_element_register(plugin, "pixsharesrc", GST_RANK_NONE,
				    gst_pixshare_src_get_type()) &&
	       gst_element_register(plugin, "pixsharesink", GST_RANK_NONE,
				    gst_pixshare_sink_get_type());
}

#define PACKAGE "pixshare"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, pixshare,
		  "Zero-copy camera frames between processes (pixshare topics)", plugin_init,
		  PIXSHARE_GST_VERSION, "MIT", "pixshare", "pixshare (README.md)")
