/* SPDX-License-Identifier: MIT */
/*
 * pixsharesrc: a topic's sets as live video streams.
 *
 * image-index=N (the default 0) outputs image N of every set on the always
 * pad "src", as a GstPushSrc does. image-index=-1 outputs every image, each
 * on its own sometimes pad "src_%u" (u: the image's index): the pads are
 * added, with no-more-pads, in the streaming thread once started in
 * PLAYING, from the layout the subscriber connected with. Each gets its own
 * stream-start (one group), caps negotiated with its own peer, a TIME
 * segment, and EOS at the end. basesrc's streaming thread then stays in
 * create() and pushes the sets itself, so "src" carries no caps and no data
 * in that mode (only basesrc's own stream-start and EOS; num-buffers counts
 * nothing there); flows combine as a demuxer's do (GstFlowCombiner:
 * not-linked only when every pad is). As after a demuxer, sinks on several
 * pads each want a queue before them: one thread feeds every pad, and a
 * sink waiting for preroll would hold it.
 * An image missing from a set (its valid_mask bit clear) is a GAP event on
 * its pad. A restarted publisher with other formats or sizes renegotiates
 * the pads; one whose sets have another number of images is an element
 * error: the pads are made once per start.
 *
 * Every GstBuffer wraps the frame's own memory — the subscriber's read-only
 * mapping, or a dup of the dma-buf fd where memory:DMABuf is negotiated —
 * and holds the frame's lease until GStreamer frees the buffer: with
 * image-index=-1 one lease serves all the set's buffers, and the frame goes
 * back when the last of them is freed. Nothing is copied here.
 *
 * Leases go back from whichever thread frees the last buffer, while the
 * subscriber is one thread's (subscriber.h): a freed buffer queues its frame
 * and wakes the streaming thread, which releases it. Once the element has
 * stopped, nothing else uses the subscriber, and the last lease to go
 * releases its frame itself and destroys the subscriber.
 *
 * Timestamps: a frame's capture time (px_image_info.timestamp_ns,
 * CLOCK_MONOTONIC) becomes running time by its age: the pipeline clock's now,
 * less the time since capture on CLOCK_MONOTONIC, less the base time. This
 * holds for any pipeline clock, and a sink that synchronises sees the real
 * capture instants (rendered one frame later, the latency reported).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gst/allocators/allocators.h>
#include <gst/base/gstflowcombiner.h>
#include <gst/base/gstpushsrc.h>

#include "gst/pixshare-gst.h"

/* The subscriber and what outlives the element's streaming: refcounted by
 * the element while started and by every lease. */
struct sub_ctx {
	gint refs;
	GMutex lock;
	struct px_subscriber *sub;
	int wake_fd;	       /* eventfd: a frame to release, or unlock() */
	GPtrArray *to_release; /* struct px_frame *, under lock */
	gboolean stopped;      /* under lock: no streaming thread any more */
};

/* One frame held by the memories of its GstBuffers (one, or one per
 * image with image-index=-1). */
struct lease {
	gint refs;
	struct sub_ctx *ctx;
	struct px_frame *frame;
};

enum {
	PROP_0,
	PROP_TOPIC,
	PROP_DIR,
	PROP_QOS,
	PROP_MAX_LEASES,
	PROP_TIMEOUT,
	PROP_IMAGE_INDEX,
	PROP_RECONNECT,
	PROP_FRAMES,
	PROP_DROPPED,
	PROP_RECONNECTS,
	PROP_STATS,
};

#define DEFAULT_TIMEOUT_MS 5000

/* A src_%u pad of image-index=-1: image `index` of every set. */
struct image_pad {
	GstPad *pad; /* the element's; NULL where not made */
	guint index;
	gboolean negotiated, use_dmabuf, need_segment, warned_meta;
};

typedef struct {
	GstPushSrc parent;

	/* Properties, under the object lock. */
	gchar *topic, *dir, *qos_text;
	enum px_qos qos;
	guint queue_depth, max_leases;
	gint image_index; /* -1: every image on its src_%u pad */
	gint timeout_ms;
	gboolean reconnect;

	/* Streaming state. */
	struct sub_ctx *ctx;
	gboolean all; /* image-index -1, as when started */
	struct px_set_layout layout;
	gboolean have_layout, pool_dmabuf, pool_unmapped;
	uint64_t pool_id, last_seq;
	uint64_t disconnects; /* the subscriber's count when pool_id was taken */
	GstVideoInfo info;		   /* image-index's image */
	GstVideoInfo infos[PX_MAX_IMAGES]; /* all: each image's */
	struct image_pad pads[PX_MAX_IMAGES];
	guint n_pads;
	GstFlowCombiner *combiner;
	gint fps_n, fps_d;
	gboolean use_dmabuf, warned_meta;
	GstAllocator *dmabuf_alloc;
	gint flushing;

	/* Counters, under the object lock. */
	guint64 frames, dropped, incomplete, reconnects;
} GstPixshareSrc;

typedef struct {
	GstPushSrcClass parent_class;
} GstPixshareSrcClass;

G_DEFINE_TYPE(GstPixshareSrc, gst_pixshare_src, GST_TYPE_PUSH_SRC)
#define PIXSHARE_SRC(obj) ((GstPixshareSrc *)(obj))

#define SRC_CAPS                                                                                   \
	GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE_WITH_FEATURES(                                         \
	    GST_CAPS_FEATURE_MEMORY_DMABUF,                                                        \
	    PIXSHARE_GST_FORMATS) ";" GST_VIDEO_CAPS_MAKE(PIXSHARE_GST_FORMATS))
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, SRC_CAPS);
static GstStaticPadTemplate image_template =
    GST_STATIC_PAD_TEMPLATE("src_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, SRC_CAPS);

static struct sub_ctx *ctx_ref(struct sub_ctx *ctx)
{
	g_atomic_int_inc(&ctx->refs);
	return ctx;
}

static void ctx_unref(struct sub_ctx *ctx)
{
	if (!g_atomic_int_dec_and_test(&ctx->refs))
		return;
	/* Nobody else holds it: every frame has been released. */
	for (guint i = 0; i < ctx->to_release->len; i++)
		px_frame_release(g_ptr_array_index(ctx->to_release, i));
	g_ptr_array_free(ctx->to_release, TRUE);
	px_subscriber_destroy(ctx->sub);
	if (ctx->wake_fd >= 0)
		close(ctx->wake_fd);
	g_mutex_clear(&ctx->lock);
	g_free(ctx);
}

static void wake(struct sub_ctx *ctx)
{
	uint64_t one = 1;
	/* A full counter already wakes the poll: EAGAIN is fine. */
	if (write(ctx->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		GST_WARNING("eventfd write: %s", g_strerror(errno));
}

/* Releases the frames freed buffers queued. The streaming thread's. */
static void drain_releases(struct sub_ctx *ctx)
{
	g_mutex_lock(&ctx->lock);
	for (guint i = 0; i < ctx->to_release->len; i++)
		px_frame_release(g_ptr_array_index(ctx->to_release, i));
	g_ptr_array_set_size(ctx->to_release, 0);
	g_mutex_unlock(&ctx->lock);
}

static void lease_unref(gpointer data)
{
	struct lease *lease = data;
	if (!g_atomic_int_dec_and_test(&lease->refs))
		return;
	struct sub_ctx *ctx = lease->ctx;
	g_mutex_lock(&ctx->lock);
	if (ctx->stopped) {
		px_frame_release(lease->frame);
	} else {
		g_ptr_array_add(ctx->to_release, lease->frame);
		wake(ctx);
	}
	g_mutex_unlock(&ctx->lock);
	ctx_unref(ctx);
	g_free(lease);
}

/* "latest", "reliable" or "queue:N" (N 1 … PX_MAX_SLOTS). */
static gboolean parse_qos(const char *text, enum px_qos *qos, guint *depth)
{
	if (!text || !strcmp(text, "latest")) {
		*qos = PX_QOS_LATEST;
		*depth = 0;
		return TRUE;
	}
	if (!strcmp(text, "reliable")) {
		*qos = PX_QOS_RELIABLE;
		*depth = 0;
		return TRUE;
	}
	if (!strncmp(text, "queue:", 6)) {
		char *end;
		unsigned long n = strtoul(text + 6, &end, 10);
		if (text[6] && !*end && n >= 1 && n <= PX_MAX_SLOTS) {
			*qos = PX_QOS_QUEUE;
			*depth = (guint)n;
			return TRUE;
		}
	}
	return FALSE;
}

static void gst_pixshare_src_set_property(GObject *object, guint id, const GValue *value,
					  GParamSpec *pspec)
{
	GstPixshareSrc *self = PIXSHARE_SRC(object);
	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_TOPIC:
		g_free(self->topic);
		self->topic = g_value_dup_string(value);
		break;
	case PROP_DIR:
		g_free(self->dir);
		self->dir = g_value_dup_string(value);
		break;
	case PROP_QOS: {
		const char *text = g_value_get_string(value);
		if (parse_qos(text, &self->qos, &self->queue_depth)) {
			g_free(self->qos_text);
			self->qos_text = g_strdup(text ? text : "latest");
		} else {
			GST_ERROR_OBJECT(self,
					 "qos: '%s' is not latest, reliable or queue:N (N 1 to %d)",
					 text, PX_MAX_SLOTS);
		}
		break;
	}
	case PROP_MAX_LEASES:
		self->max_leases = g_value_get_uint(value);
		break;
	case PROP_TIMEOUT:
		self->timeout_ms = g_value_get_int(value);
		break;
	case PROP_IMAGE_INDEX:
		self->image_index = g_value_get_int(value);
		break;
	case PROP_RECONNECT:
		self->reconnect = g_value_get_boolean(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static GstStructure *make_stats(GstPixshareSrc *self)
{
	return gst_structure_new("pixsharesrc-stats", "frames", G_TYPE_UINT64, self->frames,
				 "dropped", G_TYPE_UINT64, self->dropped, "incomplete",
				 G_TYPE_UINT64, self->incomplete, "reconnects", G_TYPE_UINT64,
				 self->reconnects, NULL);
}

static void gst_pixshare_src_get_property(GObject *object, guint id, GValue *value,
					  GParamSpec *pspec)
{
	GstPixshareSrc *self = PIXSHARE_SRC(object);
	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_TOPIC:
		g_value_set_string(value, self->topic);
		break;
	case PROP_DIR:
		g_value_set_string(value, self->dir);
		break;
	case PROP_QOS:
		g_value_set_string(value, self->qos_text);
		break;
	case PROP_MAX_LEASES:
		g_value_set_uint(value, self->max_leases);
		break;
	case PROP_TIMEOUT:
		g_value_set_int(value, self->timeout_ms);
		break;
	case PROP_IMAGE_INDEX:
		g_value_set_int(value, self->image_index);
		break;
	case PROP_RECONNECT:
		g_value_set_boolean(value, self->reconnect);
		break;
	case PROP_FRAMES:
		g_value_set_uint64(value, self->frames);
		break;
	case PROP_DROPPED:
		g_value_set_uint64(value, self->dropped);
		break;
	case PROP_RECONNECTS:
		g_value_set_uint64(value, self->reconnects);
		break;
	case PROP_STATS:
		g_value_take_boxed(value, make_stats(self));
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_pixshare_src_finalize(GObject *object)
{
	GstPixshareSrc *self = PIXSHARE_SRC(object);
	g_free(self->topic);
	g_free(self->dir);
	g_free(self->qos_text);
	gst_flow_combiner_free(self->combiner);
	G_OBJECT_CLASS(gst_pixshare_src_parent_class)->finalize(object);
}

/*
 * Takes `layout` (and whether its pool is dma-bufs, unmapped) as the one
 * to output. FALSE, with the error posted, where image-index, a format or
 * the number of images (src_%u pads made already) cannot be.
 */
static gboolean take_layout(GstPixshareSrc *self, const struct px_set_layout *layout,
			    gboolean dmabuf, gboolean unmapped)
{
	char name[32];
	GstVideoInfo infos[PX_MAX_IMAGES];
	if (!self->all && (guint)self->image_index >= layout->n_images) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("image-index %d out of range", self->image_index),
				  ("topic %s has %u image%s per set", self->topic, layout->n_images,
				   layout->n_images == 1 ? "" : "s"));
		return FALSE;
	}
	if (self->n_pads && layout->n_images != self->n_pads) {
		GST_ELEMENT_ERROR(
		    self, STREAM, FORMAT,
		    ("Topic %s's sets changed shape: %u images, were %u", self->topic,
		     layout->n_images, self->n_pads),
		    ("a restarted publisher; with image-index=-1 the src_%%u pads are "
		     "made once per start, never added or removed while streaming"));
		return FALSE;
	}
	guint first = self->all ? 0 : (guint)self->image_index;
	guint end = self->all ? layout->n_images : first + 1;
	for (guint i = first; i < end; i++) {
		const struct px_image_layout *im = &layout->images[i];
		if (!image_video_info(im, self->fps_n, self->fps_d, &infos[i])) {
			GST_ELEMENT_ERROR(self, STREAM, FORMAT,
					  ("Format %s has no GStreamer raw format here",
					   px_format_name(im->fourcc, name, sizeof(name))),
					  ("topic %s, image %u", self->topic, i));
			return FALSE;
		}
	}
	if (unmapped && !dmabuf) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("Topic %s's buffers are device memory that only a GPU of the "
				   "publisher's can read",
				   self->topic),
				  ("no CPU mapping and no dma-buf: nothing GStreamer can wrap"));
		return FALSE;
	}
	/* Under the object lock: get_caps() and the pads' caps queries read
	 * them from any thread. */
	GST_OBJECT_LOCK(self);
	for (guint i = first; i < end; i++)
		self->infos[i] = infos[i];
	self->info = infos[first];
	self->layout = *layout;
	self->have_layout = TRUE;
	self->pool_dmabuf = dmabuf;
	self->pool_unmapped = unmapped;
	GST_OBJECT_UNLOCK(self);
	for (guint i = first; i < end; i++) {
		const struct px_image_layout *im = &layout->images[i];
		GST_INFO_OBJECT(self, "topic %s: image %u of %u, %s %ux%u, %s pool%s%s",
				self->topic, i, layout->n_images,
				px_format_name(im->fourcc, name, sizeof(name)), im->width,
				im->height, dmabuf ? "dma-buf" : "memfd",
				unmapped ? " (not mapped)" : "", self->all ? " (all images)" : "");
	}
	/* A new layout for pads made already: renegotiated at their next push. */
	for (guint i = 0; i < self->n_pads; i++)
		self->pads[i].negotiated = FALSE;
	return TRUE;
}

/* The publisher's rate as a frame rate, where it is steady enough to name:
 * within 1 % of a whole number of frames per second. Else 0/1 (unknown). */
static void guess_framerate(GstPixshareSrc *self)
{
	struct px_publisher_stats st = {0};
	self->fps_n = 0;
	self->fps_d = 1;
	if (px_topic_query(self->dir, self->topic, 1000, NULL, NULL, &st, NULL))
		return;
	double r = st.rate_hz, whole = (double)(gint64)(r + 0.5);
	if (whole >= 1 && r > whole * 0.99 && r < whole * 1.01)
		self->fps_n = (gint)whole;
	GST_INFO_OBJECT(self, "publisher's rate %.2f Hz: framerate %d/%d", r, self->fps_n,
			self->fps_d);
}

static gboolean gst_pixshare_src_start(GstBaseSrc *base)
{
	GstPixshareSrc *self = PIXSHARE_SRC(base);
	struct px_topic_info ti = {0};
	struct sub_ctx *ctx;
	int ret;

	GST_OBJECT_LOCK(self);
	gchar *topic = g_strdup(self->topic), *dir = g_strdup(self->dir);
	struct px_subscriber_params params = {
	    .topic = topic,
	    .dir = dir,
	    .qos = self->qos,
	    .queue_depth = self->queue_depth,
	    .max_leases = self->max_leases,
	    .flags = self->reconnect ? 0 : PX_SUBSCRIBER_NO_RECONNECT,
	    .connect_timeout_ms = self->timeout_ms,
	    .name = "pixsharesrc",
	};
	self->frames = self->dropped = self->incomplete = self->reconnects = 0;
	self->all = self->image_index < 0;
	GST_OBJECT_UNLOCK(self);

	if (!topic) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("No topic set"),
				  ("set the topic property"));
		goto err_free;
	}
	ctx = g_new0(struct sub_ctx, 1);
	ctx->refs = 1;
	g_mutex_init(&ctx->lock);
	ctx->to_release = g_ptr_array_new();
	ctx->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctx->wake_fd < 0) {
		GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("eventfd failed"),
				  ("%s", g_strerror(errno)));
		goto err_ctx;
	}
	ret = px_subscriber_create(&params, &ctx->sub);
	if (ret) {
		GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
				  ("Could not subscribe to topic %s", topic),
				  ("px_subscriber_create: %s", px_strerror(ret)));
		goto err_ctx;
	}
	ret = px_subscriber_get_topic_info(ctx->sub, &ti);
	if (ret) {
		GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Topic %s went away", topic),
				  ("px_subscriber_get_topic_info: %s", px_strerror(ret)));
		goto err_ctx;
	}
	self->ctx = ctx;
	guess_framerate(self);
	if (!take_layout(self, px_subscriber_get_layout(ctx->sub), ti.dmabuf, ti.unmapped))
		goto err_started;
	self->pool_id = 0;
	self->last_seq = 0;
	self->warned_meta = FALSE;
	g_atomic_int_set(&self->flushing, 0);
	if (!self->dmabuf_alloc)
		self->dmabuf_alloc = gst_dmabuf_allocator_new();
	g_free(topic);
	g_free(dir);
	return TRUE;

err_started:
	self->ctx = NULL;
err_ctx:
	ctx_unref(ctx);
err_free:
	g_free(topic);
	g_free(dir);
	return FALSE;
}

static gboolean gst_pixshare_src_stop(GstBaseSrc *base)
{
	GstPixshareSrc *self = PIXSHARE_SRC(base);
	struct sub_ctx *ctx = self->ctx;
	if (ctx) {
		g_mutex_lock(&ctx->lock);
		ctx->stopped = TRUE;
		g_mutex_unlock(&ctx->lock);
		drain_releases(ctx);
		self->ctx = NULL;
		ctx_unref(ctx);
	}
	GST_OBJECT_LOCK(self);
	self->have_layout = FALSE;
	GST_INFO_OBJECT(
	    self,
	    "topic %s: %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
	    " dropped, %" G_GUINT64_FORMAT " incomplete, %" G_GUINT64_FORMAT " reconnects",
	    self->topic, self->frames, self->dropped, self->incomplete, self->reconnects);
	GST_OBJECT_UNLOCK(self);
	g_clear_object(&self->dmabuf_alloc);
	return TRUE;
}

/* The caps of an image of `info`: memory:DMABuf first where the pool is
 * dma-bufs, system memory where it is mapped. Under the object lock. */
static GstCaps *layout_caps(GstPixshareSrc *self, const GstVideoInfo *info)
{
	GstCaps *sys = gst_video_info_to_caps(info);
	if (!self->pool_dmabuf)
		return sys;
	GstCaps *caps = gst_caps_copy(sys);
	gst_caps_set_features(caps, 0, gst_caps_features_new(GST_CAPS_FEATURE_MEMORY_DMABUF, NULL));
	if (!self->pool_unmapped)
		gst_caps_append(caps, sys);
	else
		gst_caps_unref(sys);
	return caps;
}

static GstCaps *gst_pixshare_src_get_caps(GstBaseSrc *base, GstCaps *filter)
{
	GstPixshareSrc *self = PIXSHARE_SRC(base);
	GST_OBJECT_LOCK(self);
	/* image-index=-1: "src" stays without caps, see negotiate(). */
	GstCaps *caps = self->have_layout && !self->all ? layout_caps(self, &self->info) : NULL;
	GST_OBJECT_UNLOCK(self);
	if (!caps)
		caps = gst_pad_get_pad_template_caps(GST_BASE_SRC_PAD(base));
	if (filter) {
		GstCaps *both = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
		gst_caps_unref(caps);
		caps = both;
	}
	return caps;
}

static gboolean gst_pixshare_src_set_caps(GstBaseSrc *base, GstCaps *caps)
{
	GstPixshareSrc *self = PIXSHARE_SRC(base);
	GstCapsFeatures *features = gst_caps_get_features(caps, 0);
	self->use_dmabuf =
	    features && gst_caps_features_contains(features, GST_CAPS_FEATURE_MEMORY_DMABUF);
	GST_INFO_OBJECT(self, "caps %" GST_PTR_FORMAT ": %s", caps,
			self->use_dmabuf ? "dma-buf memory" : "the mapping as system memory");
	return TRUE;
}

/* Warns once (`*warned`) where downstream of an allocation query takes no
 * GstVideoMeta and image `image` of `info` is not laid out as GStreamer's
 * defaults: it would read the frames wrongly. */
static void warn_meta(GstPixshareSrc *self, GstQuery *query, guint image, const GstVideoInfo *info,
		      gboolean *warned)
{
	if (*warned || gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL))
		return;
	GstVideoInfo def;
	const struct px_image_layout *im = &self->layout.images[image];
	gst_video_info_set_format(&def, GST_VIDEO_INFO_FORMAT(info), im->width, im->height);
	for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&def); p++) {
		if (def.stride[p] == info->stride[p] && def.offset[p] == info->offset[p])
			continue;
		GST_ELEMENT_WARNING(self, STREAM, FORMAT,
				    ("Downstream ignores GstVideoMeta, and the topic's strides "
				     "are not GStreamer's defaults: images will read wrongly"),
				    ("image %u, plane %u: stride %d offset %zu; default stride %d "
				     "offset %zu",
				     image, p, info->stride[p], info->offset[p], def.stride[p],
				     def.offset[p]));
		*warned = TRUE;
		break;
	}
}

static gboolean gst_pixshare_src_decide_allocation(GstBaseSrc *base, GstQuery *query)
{
	GstPixshareSrc *self = PIXSHARE_SRC(base);
	/* Buffers are the frames' own memory: no pool, so that basesrc
	 * activates none. */
	while (gst_query_get_n_allocation_pools(query) > 0)
		gst_query_remove_nth_allocation_pool(query, 0);
	/* image-index=-1: basesrc asks for "src" too, without caps. */
	if (!self->all)
		warn_meta(self, query, (guint)self->image_index, &self->info, &self->warned_meta);
	return TRUE;
}

/* image-index=-1: the images go out on the src_%u pads, each negotiated
 * there (negotiate_image()); "src" gets no caps. */
static gboolean gst_pixshare_src_negotiate(GstBaseSrc *base)
{
	if (PIXSHARE_SRC(base)->all)
		return TRUE;
	return GST_BASE_SRC_CLASS(gst_pixshare_src_parent_class)->negotiate(base);
}

/* A frame period, or GST_CLOCK_TIME_NONE where the rate is unknown. */
static GstClockTime frame_duration(GstPixshareSrc *self)
{
	if (self->fps_n <= 0)
		return GST_CLOCK_TIME_NONE;
	return gst_util_uint64_scale_int(GST_SECOND, self->fps_d, self->fps_n);
}

/* Answers a latency query as a live source that outputs a frame as soon as
 * it arrives, stamped with its capture time: one frame period is what a
 * sink must allow. */
static void answer_latency(GstPixshareSrc *self, GstQuery *query)
{
	GstClockTime period = frame_duration(self);
	gst_query_set_latency(query, TRUE, GST_CLOCK_TIME_IS_VALID(period) ? period : 0,
			      GST_CLOCK_TIME_NONE);
}

static gboolean gst_pixshare_src_query(GstBaseSrc *base, GstQuery *query)
{
	GstPixshareSrc *self = PIXSHARE_SRC(base);
	if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
		answer_latency(self, query);
		return TRUE;
	}
	return GST_BASE_SRC_CLASS(gst_pixshare_src_parent_class)->query(base, query);
}

static gboolean gst_pixshare_src_unlock(GstBaseSrc *base)
{
	GstPixshareSrc *self = PIXSHARE_SRC(base);
	g_atomic_int_set(&self->flushing, 1);
	if (self->ctx)
		wake(self->ctx);
	return TRUE;
}

static gboolean gst_pixshare_src_unlock_stop(GstBaseSrc *base)
{
	g_atomic_int_set(&PIXSHARE_SRC(base)->flushing, 0);
	return TRUE;
}

/* Running time of a capture instant, by its age on CLOCK_MONOTONIC. */
static GstClockTime capture_running_time(GstPixshareSrc *self, uint64_t capture_ns)
{
	GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
	if (!clock)
		return GST_CLOCK_TIME_NONE;
	GstClockTime base_time = gst_element_get_base_time(GST_ELEMENT(self));
	GstClockTime now = gst_clock_get_time(clock);
	uint64_t mono = px_now_ns();
	gst_object_unref(clock);
	uint64_t age = mono > capture_ns ? mono - capture_ns : 0;
	/* Captured before the pipeline started (the frame kept for
	 * newcomers): the start. */
	if (now < base_time + age)
		return 0;
	return now - base_time - age;
}

/* Memory of buffer `b` of the lease's frame, bytes start … start + size,
 * holding a reference to `lease`: a dup of its dma-buf fd (`dmabuf`) or its
 * read-only mapping. */
static GstMemory *wrap_buffer(GstPixshareSrc *self, struct lease *lease, gboolean dmabuf,
			      uint32_t b, gsize start, gsize size)
{
	const struct px_frame_buffer *fb = &lease->frame->buffers[b];
	GstMemory *mem;
	if (dmabuf) {
		int fd = fcntl(fb->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			GST_ELEMENT_ERROR(self, RESOURCE, FAILED,
					  ("Could not duplicate a dma-buf fd"),
					  ("fcntl(F_DUPFD_CLOEXEC): %s", g_strerror(errno)));
			return NULL;
		}
		/* Takes the fd: the memory closes it when freed. */
		mem = gst_dmabuf_allocator_alloc(self->dmabuf_alloc, fd, fb->size);
		if (!mem) {
			close(fd);
			GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Could not wrap a dma-buf"),
					  (NULL));
			return NULL;
		}
		gst_memory_resize(mem, start, size);
		GST_MINI_OBJECT_FLAG_SET(mem, GST_MEMORY_FLAG_READONLY);
		g_atomic_int_inc(&lease->refs);
		gst_mini_object_set_qdata(GST_MINI_OBJECT(mem),
					  g_quark_from_static_string("pixshare-lease"), lease,
					  lease_unref);
		return mem;
	}
	if (!fb->data) {
		GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("The frame has no CPU mapping"),
				  ("buffer %u of topic %s", b, self->topic));
		return NULL;
	}
	g_atomic_int_inc(&lease->refs);
	/* The mapping is PROT_READ: READONLY keeps writers off it. */
	return gst_memory_new_wrapped(GST_MEMORY_FLAG_READONLY, (gpointer)fb->data, fb->size, start,
				      size, lease, lease_unref);
}

/* A lease of `frame`, held by the caller until lease_unref(): the frame goes
 * back once the caller and every memory wrapping it have let go. */
static struct lease *lease_new(GstPixshareSrc *self, struct px_frame *frame)
{
	struct lease *lease = g_new0(struct lease, 1);
	lease->refs = 1;
	lease->ctx = ctx_ref(self->ctx);
	lease->frame = frame;
	return lease;
}

/* A GstBuffer of image `image` (of `format`) of the lease's frame: one
 * memory per buffer of the set its planes lie in (the bytes from its first
 * plane's start to its last plane's end), each holding the lease, and a
 * GstVideoMeta with the layout's strides and offsets. NULL, with the error
 * posted, on failure. */
static GstBuffer *wrap_image(GstPixshareSrc *self, struct lease *lease, guint image,
			     GstVideoFormat format, gboolean dmabuf)
{
	const struct px_image_layout *im = &lease->frame->layout->images[image];
	gsize offsets[GST_VIDEO_MAX_PLANES] = {0};
	gint strides[GST_VIDEO_MAX_PLANES] = {0};
	gboolean placed[PX_MAX_PLANES] = {FALSE};
	gsize total = 0;

	GstBuffer *buf = gst_buffer_new();
	for (uint32_t p = 0; p < im->n_planes; p++) {
		if (placed[p])
			continue;
		uint32_t b = im->planes[p].buffer;
		uint64_t start = UINT64_MAX, end = 0;
		for (uint32_t q = p; q < im->n_planes; q++) {
			const struct px_plane *pl = &im->planes[q];
			if (pl->buffer != b)
				continue;
			start = MIN(start, pl->offset);
			end = MAX(end, pl->offset +
					   (uint64_t)pl->stride * (px_image_plane_rows(im, q) - 1) +
					   px_image_row_bytes(im, q));
		}
		GstMemory *mem = wrap_buffer(self, lease, dmabuf, b, start, end - start);
		if (!mem) {
			gst_buffer_unref(buf);
			return NULL;
		}
		gst_buffer_append_memory(buf, mem);
		for (uint32_t q = p; q < im->n_planes; q++) {
			if (im->planes[q].buffer != b)
				continue;
			placed[q] = TRUE;
			offsets[q] = total + (im->planes[q].offset - start);
			strides[q] = (gint)im->planes[q].stride;
		}
		total += end - start;
	}
	gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE, format, im->width,
				       im->height, im->n_planes, offsets, strides);
	return buf;
}

/* A frame of a new pool: a new connection, which renegotiates where the
 * layout changed (the src_%u pads at their next push), or the same
 * connection's elastic pool, whose slots came back with new buffers (a new
 * pool_id; nothing else changes). */
static GstFlowReturn new_pool(GstPixshareSrc *self, struct px_frame *frame)
{
	gboolean changed = !self->have_layout || !px_layout_equal(frame->layout, &self->layout) ||
			   self->pool_dmabuf != frame->dmabuf;
	struct px_topic_info ti = {0};
	struct px_subscriber_stats st = {0};
	gboolean unmapped = FALSE;
	g_mutex_lock(&self->ctx->lock);
	if (!px_subscriber_get_topic_info(self->ctx->sub, &ti))
		unmapped = ti.unmapped;
	px_subscriber_get_stats(self->ctx->sub, &st);
	g_mutex_unlock(&self->ctx->lock);
	gboolean reconnected = !self->pool_id || st.disconnects != self->disconnects;
	self->disconnects = st.disconnects;
	if (self->pool_id && reconnected) {
		GST_OBJECT_LOCK(self);
		self->reconnects++;
		GST_OBJECT_UNLOCK(self);
		GST_INFO_OBJECT(self, "topic %s: a new publisher%s", self->topic,
				changed ? ", another layout" : "");
	} else if (self->pool_id) {
		GST_INFO_OBJECT(self, "topic %s: the publisher's pool changed (elastic)",
				self->topic);
	}
	self->pool_id = frame->pool_id;
	if (reconnected)
		self->last_seq = 0;
	if (!changed)
		return GST_FLOW_OK;
	guess_framerate(self);
	if (!take_layout(self, frame->layout, frame->dmabuf, unmapped))
		return GST_FLOW_ERROR;
	if (!self->all && !gst_base_src_negotiate(GST_BASE_SRC(self)))
		return GST_FLOW_NOT_NEGOTIATED;
	return GST_FLOW_OK;
}

/* Counts what went missing before `frame`, and says so on the bus. */
static void count_drops(GstPixshareSrc *self, struct px_frame *frame, GstClockTime pts)
{
	uint64_t gap =
	    self->last_seq && frame->seq > self->last_seq + 1 ? frame->seq - self->last_seq - 1 : 0;
	self->last_seq = frame->seq;
	GST_OBJECT_LOCK(self);
	self->dropped += gap;
	guint64 frames = self->frames, dropped = self->dropped;
	GST_OBJECT_UNLOCK(self);
	if (!gap)
		return;
	GST_DEBUG_OBJECT(self,
			 "%" G_GUINT64_FORMAT " frames missing before frame %" G_GUINT64_FORMAT
			 " (%u dropped by the publisher for this subscriber)",
			 gap, frame->seq, frame->dropped_before);
	GstMessage *msg = gst_message_new_qos(GST_OBJECT(self), TRUE, pts, GST_CLOCK_TIME_NONE, pts,
					      GST_CLOCK_TIME_NONE);
	gst_message_set_qos_stats(msg, GST_FORMAT_BUFFERS, frames, dropped);
	gst_element_post_message(GST_ELEMENT(self), msg);
}

static void release_frame(struct sub_ctx *ctx, struct px_frame *frame)
{
	g_mutex_lock(&ctx->lock);
	px_frame_release(frame);
	g_mutex_unlock(&ctx->lock);
}

/* Waits for the next frame to output: with image-index N one that has image
 * N (others are counted as incomplete and released), else any. GST_FLOW_OK
 * and `*out`, the caller's; FLUSHING after unlock(); EOS where the stream
 * ended without reconnection; ERROR, posted. */
static GstFlowReturn receive_frame(GstPixshareSrc *self, struct px_frame **out)
{
	struct sub_ctx *ctx = self->ctx;
	struct px_frame *frame = NULL;
	int ret;

	for (;;) {
		drain_releases(ctx);
		if (g_atomic_int_get(&self->flushing))
			return GST_FLOW_FLUSHING;
		g_mutex_lock(&ctx->lock);
		/* dispatch() serves reconnections; receive() hands the frame. */
		ret = px_subscriber_dispatch(ctx->sub, 0);
		if (ret >= 0 || ret == -EPIPE)
			ret = px_subscriber_receive(ctx->sub, &frame, 0);
		g_mutex_unlock(&ctx->lock);
		if (ret == 0) {
			/* A set without our image: counted, not output. */
			if (self->all || frame->valid_mask & (1u << self->image_index)) {
				*out = frame;
				return GST_FLOW_OK;
			}
			GST_OBJECT_LOCK(self);
			self->incomplete++;
			GST_OBJECT_UNLOCK(self);
			release_frame(ctx, frame);
			continue;
		}
		if (ret == -EPIPE) {
			GST_INFO_OBJECT(self, "topic %s ended (reconnect=false): EOS", self->topic);
			return GST_FLOW_EOS;
		}
		if (ret != -ETIMEDOUT && ret != -EINTR && ret != -EAGAIN) {
			GST_ELEMENT_ERROR(self, RESOURCE, READ,
					  ("Receiving from topic %s failed", self->topic),
					  ("px_subscriber_receive: %s", px_strerror(ret)));
			return GST_FLOW_ERROR;
		}
		struct pollfd fds[2] = {
		    {.fd = px_subscriber_get_fd(ctx->sub), .events = POLLIN},
		    {.fd = ctx->wake_fd, .events = POLLIN},
		};
		if (poll(fds, 2, 100) < 0 && errno != EINTR) {
			GST_ELEMENT_ERROR(self, RESOURCE, READ, ("poll failed"),
					  ("%s", g_strerror(errno)));
			return GST_FLOW_ERROR;
		}
		uint64_t n;
		if (fds[1].revents & POLLIN && read(ctx->wake_fd, &n, sizeof(n)) < 0 &&
		    errno != EAGAIN)
			GST_WARNING_OBJECT(self, "eventfd read: %s", g_strerror(errno));
	}
}

/* Running time of image `image` of `frame`: its capture time, else the
 * publish time. */
static GstClockTime image_pts(GstPixshareSrc *self, struct px_frame *frame, guint image)
{
	uint64_t capture = frame->images[image].timestamp_ns;
	return capture_running_time(self, capture ? capture : frame->publish_ns);
}

static void stamp(GstPixshareSrc *self, GstBuffer *buf, GstClockTime pts, uint64_t seq)
{
	GST_BUFFER_PTS(buf) = pts;
	GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
	GST_BUFFER_DURATION(buf) = frame_duration(self);
	GST_BUFFER_OFFSET(buf) = seq;
	GST_BUFFER_OFFSET_END(buf) = seq + 1;
}

/* image-index=N: the next frame's image N as a buffer. */
static GstFlowReturn create_one(GstPixshareSrc *self, GstBuffer **out)
{
	struct px_frame *frame;
	GstFlowReturn flow = receive_frame(self, &frame);
	if (flow != GST_FLOW_OK)
		return flow;
	if (frame->pool_id != self->pool_id) {
		flow = new_pool(self, frame);
		if (flow != GST_FLOW_OK) {
			release_frame(self->ctx, frame);
			return flow;
		}
	}
	guint image = (guint)self->image_index;
	GstClockTime pts = image_pts(self, frame, image);
	GST_OBJECT_LOCK(self);
	self->frames++;
	GST_OBJECT_UNLOCK(self);
	count_drops(self, frame, pts);
	uint64_t seq = frame->seq;
	struct lease *lease = lease_new(self, frame); /* the frame's from here */
	GstBuffer *buf =
	    wrap_image(self, lease, image, GST_VIDEO_INFO_FORMAT(&self->info), self->use_dmabuf);
	lease_unref(lease);
	if (!buf)
		return GST_FLOW_ERROR;
	stamp(self, buf, pts, seq);
	*out = buf;
	return GST_FLOW_OK;
}

static gboolean image_pad_query(GstPad *pad, GstObject *parent, GstQuery *query)
{
	GstPixshareSrc *self = PIXSHARE_SRC(parent);
	struct image_pad *ip = gst_pad_get_element_private(pad);
	switch (GST_QUERY_TYPE(query)) {
	case GST_QUERY_CAPS: {
		GstCaps *filter, *caps = NULL;
		gst_query_parse_caps(query, &filter);
		GST_OBJECT_LOCK(self);
		if (self->have_layout && ip->index < self->layout.n_images)
			caps = layout_caps(self, &self->infos[ip->index]);
		GST_OBJECT_UNLOCK(self);
		if (!caps)
			caps = gst_pad_get_pad_template_caps(pad);
		if (filter) {
			GstCaps *both =
			    gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
			gst_caps_unref(caps);
			caps = both;
		}
		gst_query_set_caps_result(query, caps);
		gst_caps_unref(caps);
		return TRUE;
	}
	case GST_QUERY_LATENCY:
		answer_latency(self, query);
		return TRUE;
	case GST_QUERY_SCHEDULING:
		gst_query_set_scheduling(query, GST_SCHEDULING_FLAG_SEQUENTIAL, 1, -1, 0);
		gst_query_add_scheduling_mode(query, GST_PAD_MODE_PUSH);
		return TRUE;
	default:
		return gst_pad_query_default(pad, parent, query);
	}
}

/* Upstream events on a src_%u pad: a live stream cannot seek; the rest
 * (reconfigure, whose flag the core sets, QoS, latency, navigation) need
 * nothing here. */
static gboolean image_pad_event(GstPad *pad, GstObject *parent, GstEvent *event)
{
	gboolean ok = GST_EVENT_TYPE(event) != GST_EVENT_SEEK;
	gst_event_unref(event);
	return ok;
}

/* Adds a src_%u pad per image of the layout, each with its stream-start,
 * then no-more-pads. The streaming thread's. */
static void add_image_pads(GstPixshareSrc *self)
{
	GstPadTemplate *templ =
	    gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(self), "src_%u");
	guint group = gst_util_group_id_next();
	for (guint i = 0; i < self->layout.n_images; i++) {
		struct image_pad *ip = &self->pads[i];
		gchar *name = g_strdup_printf("src_%u", i);
		*ip = (struct image_pad){
		    .pad = gst_pad_new_from_template(templ, name),
		    .index = i,
		    .need_segment = TRUE,
		};
		g_free(name);
		gst_pad_set_element_private(ip->pad, ip);
		gst_pad_set_query_function(ip->pad, image_pad_query);
		gst_pad_set_event_function(ip->pad, image_pad_event);
		gst_pad_set_active(ip->pad, TRUE);
		/* After activating: a pad that needs a parent activates only
		 * in one. */
		GST_OBJECT_FLAG_SET(ip->pad, GST_PAD_FLAG_NEED_PARENT);
		gchar *id = gst_pad_create_stream_id_printf(ip->pad, GST_ELEMENT(self), "%u", i);
		GstEvent *start = gst_event_new_stream_start(id);
		gst_event_set_group_id(start, group);
		gst_pad_push_event(ip->pad, start);
		g_free(id);
		gst_flow_combiner_add_pad(self->combiner, ip->pad);
		self->n_pads = i + 1;
		gst_element_add_pad(GST_ELEMENT(self), ip->pad);
	}
	GST_INFO_OBJECT(self, "topic %s: %u src_%%u pads", self->topic, self->n_pads);
	gst_element_no_more_pads(GST_ELEMENT(self));
}

/* Removes the src_%u pads; after streaming has stopped. */
static void remove_image_pads(GstPixshareSrc *self)
{
	for (guint i = 0; i < self->n_pads; i++) {
		gst_flow_combiner_remove_pad(self->combiner, self->pads[i].pad);
		gst_element_remove_pad(GST_ELEMENT(self), self->pads[i].pad);
		self->pads[i].pad = NULL;
	}
	self->n_pads = 0;
	gst_flow_combiner_reset(self->combiner);
}

/* Caps for a src_%u pad from what its peer takes of the image's, and the
 * allocation query that says whether the peer reads GstVideoMeta. */
static gboolean negotiate_image(GstPixshareSrc *self, struct image_pad *ip)
{
	GST_OBJECT_LOCK(self);
	GstVideoInfo info = self->infos[ip->index];
	GstCaps *mine = layout_caps(self, &info);
	GST_OBJECT_UNLOCK(self);
	/* Unlinked: `mine` itself; a peer linked later reconfigures. */
	GstCaps *caps = gst_pad_peer_query_caps(ip->pad, mine);
	gst_caps_unref(mine);
	if (gst_caps_is_empty(caps)) {
		GST_WARNING_OBJECT(
		    self, "topic %s, image %u: the peer of %s takes none of %" GST_PTR_FORMAT,
		    self->topic, ip->index, GST_PAD_NAME(ip->pad), caps);
		gst_caps_unref(caps);
		return FALSE;
	}
	caps = gst_caps_fixate(caps);
	GstCapsFeatures *features = gst_caps_get_features(caps, 0);
	ip->use_dmabuf =
	    features && gst_caps_features_contains(features, GST_CAPS_FEATURE_MEMORY_DMABUF);
	GST_INFO_OBJECT(self, "%s: caps %" GST_PTR_FORMAT ": %s", GST_PAD_NAME(ip->pad), caps,
			ip->use_dmabuf ? "dma-buf memory" : "the mapping as system memory");
	if (!gst_pad_push_event(ip->pad, gst_event_new_caps(caps)) && gst_pad_is_linked(ip->pad)) {
		gst_caps_unref(caps);
		return FALSE;
	}
	GstQuery *query = gst_query_new_allocation(caps, FALSE);
	if (gst_pad_peer_query(ip->pad, query))
		warn_meta(self, query, ip->index, &info, &ip->warned_meta);
	gst_query_unref(query);
	gst_caps_unref(caps);
	ip->negotiated = TRUE;
	return TRUE;
}

/* Caps (where new or reconfigured) and the segment before a push on a
 * src_%u pad. */
static GstFlowReturn prepare_image_pad(GstPixshareSrc *self, struct image_pad *ip)
{
	gboolean reconfigure = gst_pad_check_reconfigure(ip->pad);
	if (!ip->negotiated || reconfigure) {
		if (!negotiate_image(self, ip)) {
			gst_pad_mark_reconfigure(ip->pad);
			return GST_PAD_IS_FLUSHING(ip->pad) ? GST_FLOW_FLUSHING
							    : GST_FLOW_NOT_NEGOTIATED;
		}
	}
	if (ip->need_segment) {
		GstSegment segment;
		gst_segment_init(&segment, GST_FORMAT_TIME);
		gst_pad_push_event(ip->pad, gst_event_new_segment(&segment));
		ip->need_segment = FALSE;
	}
	return GST_FLOW_OK;
}

/* image-index=-1: every image of `frame` on its pad (a GAP event for an
 * image the set lacks), all under one lease. */
static GstFlowReturn push_set(GstPixshareSrc *self, struct px_frame *frame)
{
	GstClockTime pts[PX_MAX_IMAGES], duration = frame_duration(self);
	GstFlowReturn combined = GST_FLOW_OK;
	gboolean incomplete = FALSE;
	for (guint i = 0; i < self->n_pads; i++)
		pts[i] = image_pts(self, frame, i);
	GST_OBJECT_LOCK(self);
	self->frames++;
	GST_OBJECT_UNLOCK(self);
	count_drops(self, frame, pts[0]);
	uint64_t seq = frame->seq;
	struct lease *lease = lease_new(self, frame); /* the frame's from here */
	for (guint i = 0; i < self->n_pads; i++) {
		struct image_pad *ip = &self->pads[i];
		GstFlowReturn flow = prepare_image_pad(self, ip);
		if (flow != GST_FLOW_OK) {
		} else if (!(frame->valid_mask & (1u << i))) {
			incomplete = TRUE;
			if (GST_CLOCK_TIME_IS_VALID(pts[i]))
				gst_pad_push_event(ip->pad, gst_event_new_gap(pts[i], duration));
		} else {
			GstBuffer *buf = wrap_image(
			    self, lease, i, GST_VIDEO_INFO_FORMAT(&self->infos[i]), ip->use_dmabuf);
			if (!buf) {
				flow = GST_FLOW_ERROR;
			} else {
				stamp(self, buf, pts[i], seq);
				flow = gst_pad_push(ip->pad, buf);
			}
		}
		combined = gst_flow_combiner_update_pad_flow(self->combiner, ip->pad, flow);
		if (flow == GST_FLOW_ERROR || flow == GST_FLOW_FLUSHING)
			break;
	}
	lease_unref(lease);
	if (incomplete) {
		GST_OBJECT_LOCK(self);
		self->incomplete++;
		GST_OBJECT_UNLOCK(self);
	}
	return combined;
}

/* image-index=-1: basesrc's streaming thread stays here, pushing every set
 * on the src_%u pads, until flushing, the end of the stream or an error,
 * after which (but flushing) every pad gets EOS. Never GST_FLOW_OK: "src"
 * outputs nothing. */
static GstFlowReturn stream_images(GstPixshareSrc *self)
{
	GstFlowReturn flow;
	if (!self->n_pads)
		add_image_pads(self);
	for (;;) {
		struct px_frame *frame;
		flow = receive_frame(self, &frame);
		if (flow != GST_FLOW_OK)
			break;
		if (frame->pool_id != self->pool_id) {
			flow = new_pool(self, frame);
			if (flow != GST_FLOW_OK) {
				release_frame(self->ctx, frame);
				break;
			}
		}
		flow = push_set(self, frame);
		if (flow != GST_FLOW_OK)
			break;
	}
	GST_DEBUG_OBJECT(self, "topic %s: streaming stops: %s", self->topic,
			 gst_flow_get_name(flow));
	if (flow != GST_FLOW_FLUSHING)
		for (guint i = 0; i < self->n_pads; i++)
			gst_pad_push_event(self->pads[i].pad, gst_event_new_eos());
	return flow;
}

static GstFlowReturn gst_pixshare_src_create(GstPushSrc *psrc, GstBuffer **out)
{
	GstPixshareSrc *self = PIXSHARE_SRC(psrc);
	if (self->all)
		return stream_images(self);
	return create_one(self, out);
}

/* The src_%u pads go when the element stops, as a demuxer's do. */
static GstStateChangeReturn gst_pixshare_src_change_state(GstElement *element,
							  GstStateChange transition)
{
	GstPixshareSrc *self = PIXSHARE_SRC(element);
	GstStateChangeReturn ret =
	    GST_ELEMENT_CLASS(gst_pixshare_src_parent_class)->change_state(element, transition);
	if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
		remove_image_pads(self);
	return ret;
}

static void gst_pixshare_src_class_init(GstPixshareSrcClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	GstBaseSrcClass *base_class = GST_BASE_SRC_CLASS(klass);
	GstPushSrcClass *push_class = GST_PUSH_SRC_CLASS(klass);
	const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
	const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

	gobject_class->set_property = gst_pixshare_src_set_property;
	gobject_class->get_property = gst_pixshare_src_get_property;
	gobject_class->finalize = gst_pixshare_src_finalize;

	g_object_class_install_property(
	    gobject_class, PROP_TOPIC,
	    g_param_spec_string("topic", "Topic", "The pixshare topic to subscribe to (required)",
				NULL, rw));
	g_object_class_install_property(
	    gobject_class, PROP_DIR,
	    g_param_spec_string("dir", "Directory",
				"Directory of the topics' sockets (NULL: $PIXSHARE_DIR, else "
				"$XDG_RUNTIME_DIR/pixshare, else /tmp/pixshare-UID)",
				NULL, rw));
	g_object_class_install_property(
	    gobject_class, PROP_QOS,
	    g_param_spec_string("qos", "QoS",
				"Delivery: latest (the newest frame; drops when behind), "
				"queue:N (up to N undelivered frames, the oldest dropped), "
				"reliable (never dropped; a slow pipeline holds the publisher up)",
				"latest", rw));
	g_object_class_install_property(
	    gobject_class, PROP_MAX_LEASES,
	    g_param_spec_uint("max-leases", "Max leases",
			      "Frames (buffers) the pipeline may hold at once; 0: the "
			      "publisher's limit. Elements that keep many buffers (encoders' "
			      "lookahead) need as many, or they stall the stream. With "
			      "image-index=-1 a set is held until the buffers of all its images "
			      "are freed: a sink that keeps its last buffer on a pad whose image "
			      "went missing from later sets keeps an older set",
			      0, PX_MAX_LEASES, 0, rw));
	g_object_class_install_property(
	    gobject_class, PROP_TIMEOUT,
	    g_param_spec_int("timeout", "Timeout",
			     "Milliseconds to wait for the topic's publisher when starting; "
			     "-1: forever, 0: fail at once if absent",
			     -1, G_MAXINT, DEFAULT_TIMEOUT_MS, rw));
	g_object_class_install_property(
	    gobject_class, PROP_IMAGE_INDEX,
	    g_param_spec_int("image-index", "Image index",
			     "Which image of each set to output on the src pad (0 … images − 1); "
			     "-1: every image, each on its own sometimes pad src_%u (u: the "
			     "image's index), added when streaming starts (src then outputs "
			     "nothing), with a GAP event where a set lacks the image. A restarted "
			     "publisher with another number of images per set is an error then",
			     -1, PX_MAX_IMAGES - 1, 0, rw));
	g_object_class_install_property(
	    gobject_class, PROP_RECONNECT,
	    g_param_spec_boolean("reconnect", "Reconnect",
				 "Follow a restarted publisher of the topic (caps are "
				 "renegotiated when its layout differs); false: EOS when the "
				 "publisher ends or dies",
				 TRUE, rw));
	g_object_class_install_property(gobject_class, PROP_FRAMES,
					g_param_spec_uint64("frames", "Frames",
							    "Frames (sets, with image-index=-1) "
							    "output since start",
							    0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(
	    gobject_class, PROP_DROPPED,
	    g_param_spec_uint64("dropped", "Dropped",
				"Frames missing from the stream since start (gaps in the "
				"publisher's frame numbers: dropped by QoS, or superseded); each "
				"gap is also posted as a QoS message",
				0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(
	    gobject_class, PROP_RECONNECTS,
	    g_param_spec_uint64("reconnects", "Reconnects",
				"Times a new publisher of the topic was joined", 0, G_MAXUINT64, 0,
				ro));
	g_object_class_install_property(
	    gobject_class, PROP_STATS,
	    g_param_spec_boxed("stats", "Statistics",
			       "frames, dropped, incomplete (sets without this image; with "
			       "image-index=-1, sets lacking any image, output with GAP events), "
			       "reconnects",
			       GST_TYPE_STRUCTURE, ro));

	gst_element_class_set_static_metadata(
	    element_class, "pixshare source", "Source/Video",
	    "Outputs one image of a pixshare topic's sets, or each image on its own src_%u pad "
	    "(image-index=-1), without copying: buffers wrap the publisher's shared memory "
	    "(dma-bufs or sealed memfds) and hold its frame until freed",
	    "pixshare");
	gst_element_class_add_static_pad_template(element_class, &src_template);
	gst_element_class_add_static_pad_template(element_class, &image_template);
	element_class->change_state = gst_pixshare_src_change_state;

	base_class->start = gst_pixshare_src_start;
	base_class->stop = gst_pixshare_src_stop;
	base_class->get_caps = gst_pixshare_src_get_caps;
	base_class->set_caps = gst_pixshare_src_set_caps;
	base_class->decide_allocation = gst_pixshare_src_decide_allocation;
	base_class->negotiate = gst_pixshare_src_negotiate;
	base_class->query = gst_pixshare_src_query;
	base_class->unlock = gst_pixshare_src_unlock;
	base_class->unlock_stop = gst_pixshare_src_unlock_stop;
	push_class->create = gst_pixshare_src_create;
}

static void gst_pixshare_src_init(GstPixshareSrc *self)
{
	self->qos_text = g_strdup("latest");
	self->timeout_ms = DEFAULT_TIMEOUT_MS;
	self->reconnect = TRUE;
	self->fps_d = 1;
	self->combiner = gst_flow_combiner_new();
	gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
	gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}
