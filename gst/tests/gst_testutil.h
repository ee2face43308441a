/* SPDX-License-Identifier: MIT */
/* What the GStreamer elements' tests share: pipelines made, watched and
 * stopped, element properties read, the topic directory removed, and which
 * fds are GStreamer's own. */
#ifndef PIXSHARE_GST_TESTUTIL_H
#define PIXSHARE_GST_TESTUTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gst/gst.h>

#include "tests/px_test.h"

/* How long a pipeline may take at most. */
#define PIPELINE_TIMEOUT (20 * GST_SECOND)

static inline GstElement *launch(const char *desc)
{
	GError *err = NULL;
	GstElement *p = gst_parse_launch(desc, &err);
	if (!p) {
		fprintf(stderr, "gst_parse_launch(%s): %s\n", desc, err ? err->message : "?");
		exit(1);
	}
	return p;
}

static inline void fail_on_error(GstMessage *m)
{
	GError *err;
	gchar *dbg;
	gst_message_parse_error(m, &err, &dbg);
	fprintf(stderr, "pipeline error from %s: %s (%s)\n", GST_OBJECT_NAME(m->src), err->message,
		dbg ? dbg : "");
	exit(1);
}

/* Fails the test on an error message of the pipeline so far. */
static inline void check_bus(GstElement *pipeline)
{
	GstBus *bus = gst_element_get_bus(pipeline);
	GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
	if (m)
		fail_on_error(m);
	gst_object_unref(bus);
}

/* Waits for the pipeline's end of stream; fails on an error or timeout. */
static inline void wait_eos(GstElement *pipeline)
{
	GstBus *bus = gst_element_get_bus(pipeline);
	GstMessage *m =
	    gst_bus_timed_pop_filtered(bus, PIPELINE_TIMEOUT, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	if (!m) {
		fprintf(stderr, "no end of stream within %d s\n",
			(int)(PIPELINE_TIMEOUT / GST_SECOND));
		exit(1);
	}
	if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR)
		fail_on_error(m);
	gst_message_unref(m);
	gst_object_unref(bus);
}

static inline guint64 get_u64(GstElement *e, const char *prop)
{
	guint64 v;
	g_object_get(e, prop, &v, NULL);
	return v;
}

/* Removes `dir` and the files in it. */
static inline void remove_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const gchar *name;
	while (d && (name = g_dir_read_name(d))) {
		gchar *path = g_build_filename(dir, name, NULL);
		unlink(path);
		g_free(path);
	}
	if (d)
		g_dir_close(d);
	rmdir(dir);
}

/* GStreamer's own long-lived fds (its registry, the plugins' libraries),
 * which fd counts leave out. */
static inline bool not_ours(const char *target)
{
	return strstr(target, ".so") || strstr(target, "registry");
}

#endif
