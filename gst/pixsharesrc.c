/* SPDX-License-Identifier: MIT */
/*
 * pixsharesrc: one image of a topic's sets as a live video stream.
 *
 * Every GstBuffer wraps the frame's own memory — the subscriber's read-only
 * mapping, or a dup of the dma-buf fd where memory:DMABuf is negotiated —
 * and holds the frame's lease until GStreamer frees the buffer. Nothing is
 * copied here.
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

/* One frame held by one GstBuffer's memories. */
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

typedef struct {
	GstPushSrc parent;

	/* Properties, under the object lock. */
	gchar *topic, *dir, *qos_text;
	enum px_qos qos;
	guint queue_depth, max_leases, image_index;
	gint timeout_ms;
	gboolean reconnect;

	/* Streaming state. */
	struct sub_ctx *ctx;
	struct px_set_layout layout;
	gboolean have_layout, pool_dmabuf, pool_unmapped;
	uint64_t pool_id, last_seq;
	GstVideoInfo info;
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

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE_WITH_FEATURES(
	GST_CAPS_FEATURE_MEMORY_DMABUF,
	PIXSHARE_GST_FORMATS) ";" GST_VIDEO_CAPS_MAKE(PIXSHARE_GST_FORMATS)));

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
		self->image_index = g_value_get_uint(value);
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
		g_value_set_uint(value, self->image_index);
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
	G_OBJECT_CLASS(gst_pixshare_src_parent_class)->finalize(object);
}

/*
 * Takes `layout` (and whether its pool is dma-bufs, unmapped) as the one
 * to output. FALSE, with the error posted, where image-index or the format
 * cannot be.
 */
static gboolean take_layout(GstPixshareSrc *self, const struct px_set_layout *layout,
			    gboolean dmabuf, gboolean unmapped)
{
	char name[32];
	if (self->image_index >= layout->n_images) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("image-index %u out of range", self->image_index),
				  ("topic %s has %u image%s per set", self->topic, layout->n_images,
				   layout->n_images == 1 ? "" : "s"));
		return FALSE;
	}
	const struct px_image_layout *im = &layout->images[self->image_index];
	GstVideoInfo info;
	if (!image_video_info(im, self->fps_n, self->fps_d, &info)) {
		GST_ELEMENT_ERROR(self, STREAM, FORMAT,
				  ("Format %s has no GStreamer raw format here",
				   px_format_name(im->fourcc, name, sizeof(name))),
				  ("topic %s, image %u", self->topic, self->image_index));
		return FALSE;
	}
	if (unmapped && !dmabuf) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("Topic %s's buffers are device memory that only a GPU of the "
				   "publisher's can read",
				   self->topic),
				  ("no CPU mapping and no dma-buf: nothing GStreamer can wrap"));
		return FALSE;
	}
	/* Under the object lock: get_caps() reads them from any thread. */
	GST_OBJECT_LOCK(self);
	self->info = info;
	self->layout = *layout;
	self->have_layout = TRUE;
	self->pool_dmabuf = dmabuf;
	self->pool_unmapped = unmapped;
	GST_OBJECT_UNLOCK(self);
	GST_INFO_OBJECT(self, "topic %s: image %u of %u, %s %ux%u, %s pool%s", self->topic,
			self->image_index, layout->n_images,
			px_format_name(im->fourcc, name, sizeof(name)), im->width, im->height,
			dmabuf ? "dma-buf" : "memfd", unmapped ? " (not mapped)" : "");
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

static GstCaps *layout_caps(GstPixshareSrc *self)
{
	GstCaps *sys = gst_video_info_to_caps(&self->info);
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
	GstCaps *caps = self->have_layout ? layout_caps(self) : NULL;
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

static gboolean gst_pixshare_src_decide_allocation(GstBaseSrc *base, GstQuery *query)
{
	GstPixshareSrc *self = PIXSHARE_SRC(base);
	/* Buffers are the frames' own memory: no pool, so that basesrc
	 * activates none. */
	while (gst_query_get_n_allocation_pools(query) > 0)
		gst_query_remove_nth_allocation_pool(query, 0);
	if (!gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL) &&
	    !self->warned_meta) {
		GstVideoInfo def;
		const struct px_image_layout *im = &self->layout.images[self->image_index];
		gst_video_info_set_format(&def, GST_VIDEO_INFO_FORMAT(&self->info), im->width,
					  im->height);
		for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&def); p++) {
			if (def.stride[p] == self->info.stride[p] &&
			    def.offset[p] == self->info.offset[p])
				continue;
			GST_ELEMENT_WARNING(
			    self, STREAM, FORMAT,
			    ("Downstream ignores GstVideoMeta, and the topic's strides "
			     "are not GStreamer's defaults: images will read wrongly"),
			    ("plane %u: stride %d offset %zu; default stride %d offset %zu", p,
			     self->info.stride[p], self->info.offset[p], def.stride[p],
			     def.offset[p]));
			self->warned_meta = TRUE;
			break;
		}
	}
	return TRUE;
}

static gboolean gst_pixshare_src_query(GstBaseSrc *base, GstQuery *query)
{
	GstPixshareSrc *self = PIXSHARE_SRC(base);
	if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
		/* A frame is output as soon as it arrives, stamped with its
		 * capture time: one frame period is what a sink must allow. */
		GstClockTime min = 0;
		if (self->fps_n > 0)
			min = gst_util_uint64_scale_int(GST_SECOND, self->fps_d, self->fps_n);
		gst_query_set_latency(query, TRUE, min, GST_CLOCK_TIME_NONE);
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

/* Memory of buffer `b` of the frame, bytes start … start + size, holding a
 * reference to `lease`. */
static GstMemory *wrap_buffer(GstPixshareSrc *self, struct lease *lease, uint32_t b, gsize start,
			      gsize size)
{
	const struct px_frame_buffer *fb = &lease->frame->buffers[b];
	GstMemory *mem;
	if (self->use_dmabuf) {
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

/* A GstBuffer of the image: one memory per buffer of the set its planes lie
 * in (the bytes from its first plane's start to its last plane's end), and a
 * GstVideoMeta with the layout's strides and offsets. */
static GstBuffer *wrap_frame(GstPixshareSrc *self, struct px_frame *frame)
{
	const struct px_image_layout *im = &frame->layout->images[self->image_index];
	gsize offsets[GST_VIDEO_MAX_PLANES] = {0};
	gint strides[GST_VIDEO_MAX_PLANES] = {0};
	gboolean placed[PX_MAX_PLANES] = {FALSE};
	gsize total = 0;

	struct lease *lease = g_new0(struct lease, 1);
	lease->refs = 1; /* this function's, until the memories hold theirs */
	lease->ctx = ctx_ref(self->ctx);
	lease->frame = frame;
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
		GstMemory *mem = wrap_buffer(self, lease, b, start, end - start);
		if (!mem) {
			gst_buffer_unref(buf);
			lease_unref(lease);
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
	gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE,
				       GST_VIDEO_INFO_FORMAT(&self->info), im->width, im->height,
				       im->n_planes, offsets, strides);
	lease_unref(lease);
	return buf;
}

/* A frame of a new connection: renegotiates where the layout changed. */
static GstFlowReturn new_pool(GstPixshareSrc *self, struct px_frame *frame)
{
	gboolean changed = !self->have_layout || !px_layout_equal(frame->layout, &self->layout) ||
			   self->pool_dmabuf != frame->dmabuf;
	if (self->pool_id) {
		GST_OBJECT_LOCK(self);
		self->reconnects++;
		GST_OBJECT_UNLOCK(self);
		GST_INFO_OBJECT(self, "topic %s: a new publisher%s", self->topic,
				changed ? ", another layout" : "");
	}
	self->pool_id = frame->pool_id;
	self->last_seq = 0;
	if (!changed)
		return GST_FLOW_OK;
	struct px_topic_info ti = {0};
	gboolean unmapped = FALSE;
	g_mutex_lock(&self->ctx->lock);
	if (!px_subscriber_get_topic_info(self->ctx->sub, &ti))
		unmapped = ti.unmapped;
	g_mutex_unlock(&self->ctx->lock);
	guess_framerate(self);
	if (!take_layout(self, frame->layout, frame->dmabuf, unmapped))
		return GST_FLOW_ERROR;
	if (!gst_base_src_negotiate(GST_BASE_SRC(self)))
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

static GstFlowReturn gst_pixshare_src_create(GstPushSrc *psrc, GstBuffer **out)
{
	GstPixshareSrc *self = PIXSHARE_SRC(psrc);
	struct sub_ctx *ctx = self->ctx;
	struct px_frame *frame = NULL;
	GstFlowReturn flow;
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
			if (frame->valid_mask & (1u << self->image_index))
				break;
			GST_OBJECT_LOCK(self);
			self->incomplete++;
			GST_OBJECT_UNLOCK(self);
			g_mutex_lock(&ctx->lock);
			px_frame_release(frame);
			g_mutex_unlock(&ctx->lock);
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

	if (frame->pool_id != self->pool_id) {
		flow = new_pool(self, frame);
		if (flow != GST_FLOW_OK) {
			g_mutex_lock(&ctx->lock);
			px_frame_release(frame);
			g_mutex_unlock(&ctx->lock);
			return flow;
		}
	}
	uint64_t capture = frame->images[self->image_index].timestamp_ns;
	GstClockTime pts = capture_running_time(self, capture ? capture : frame->publish_ns);
	GST_OBJECT_LOCK(self);
	self->frames++;
	GST_OBJECT_UNLOCK(self);
	count_drops(self, frame, pts);
	uint64_t seq = frame->seq;
	GstBuffer *buf = wrap_frame(self, frame); /* the buffer's from here, on success */
	if (!buf) {
		g_mutex_lock(&ctx->lock);
		px_frame_release(frame);
		g_mutex_unlock(&ctx->lock);
		return GST_FLOW_ERROR;
	}
	GST_BUFFER_PTS(buf) = pts;
	GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
	if (self->fps_n > 0)
		GST_BUFFER_DURATION(buf) =
		    gst_util_uint64_scale_int(GST_SECOND, self->fps_d, self->fps_n);
	GST_BUFFER_OFFSET(buf) = seq;
	GST_BUFFER_OFFSET_END(buf) = seq + 1;
	*out = buf;
	return GST_FLOW_OK;
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
			      "lookahead) need as many, or they stall the stream",
			      0, PX_MAX_LEASES, 0, rw));
	g_object_class_install_property(
	    gobject_class, PROP_TIMEOUT,
	    g_param_spec_int("timeout", "Timeout",
			     "Milliseconds to wait for the topic's publisher when starting; "
			     "-1: forever, 0: fail at once if absent",
			     -1, G_MAXINT, DEFAULT_TIMEOUT_MS, rw));
	g_object_class_install_property(
	    gobject_class, PROP_IMAGE_INDEX,
	    g_param_spec_uint("image-index", "Image index",
			      "Which image of each set to output (0 … images − 1)", 0,
			      PX_MAX_IMAGES - 1, 0, rw));
	g_object_class_install_property(
	    gobject_class, PROP_RECONNECT,
	    g_param_spec_boolean("reconnect", "Reconnect",
				 "Follow a restarted publisher of the topic (caps are "
				 "renegotiated when its layout differs); false: EOS when the "
				 "publisher ends or dies",
				 TRUE, rw));
	g_object_class_install_property(gobject_class, PROP_FRAMES,
					g_param_spec_uint64("frames", "Frames",
							    "Frames output since start", 0,
							    G_MAXUINT64, 0, ro));
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
			       "frames, dropped, incomplete (sets without this image), reconnects",
			       GST_TYPE_STRUCTURE, ro));

	gst_element_class_set_static_metadata(
	    element_class, "pixshare source", "Source/Video",
	    "Outputs one image of a pixshare topic's sets, without copying: buffers wrap the "
	    "publisher's shared memory (dma-bufs or sealed memfds) and hold its frame until "
	    "freed",
	    "pixshare");
	gst_element_class_add_static_pad_template(element_class, &src_template);

	base_class->start = gst_pixshare_src_start;
	base_class->stop = gst_pixshare_src_stop;
	base_class->get_caps = gst_pixshare_src_get_caps;
	base_class->set_caps = gst_pixshare_src_set_caps;
	base_class->decide_allocation = gst_pixshare_src_decide_allocation;
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
	gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
	gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}
