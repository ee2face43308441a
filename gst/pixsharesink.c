/* SPDX-License-Identifier: MIT */
/*
 * pixsharesink: a pipeline's raw video published as a topic, one image per
 * set.
 *
 * Zero-copy where upstream takes the pool the sink proposes: its buffers
 * are the topic's slots (acquired from the publisher when upstream asks for
 * a buffer), so upstream draws or receives straight into shared memory and
 * render() only publishes. Other buffers are copied into a slot, row by row
 * with each side's strides, and counted (the `copies` property, an INFO
 * message at EOS, a log line at stop).
 *
 * The publisher is shared by the sink, its pools and a service thread that
 * answers subscribers between frames (a publisher has no thread of its
 * own), and used by one of them at a time under the context's lock. It
 * lives until the last of them lets go, so a pool's buffers upstream still
 * holds stay valid after the sink stopped.
 *
 * Timestamps: each buffer's running time becomes CLOCK_MONOTONIC (the
 * pipeline clock's base time added, then the pipeline clock's offset from
 * CLOCK_MONOTONIC, sampled now), else the time of publishing.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gst/base/gstbasesink.h>

#include "gst/pixshare-gst.h"

struct pub_ctx {
	gint refs;
	GMutex lock;
	struct px_publisher *pub;	    /* under lock */
	GstVideoInfo info;		    /* the real layout, as GStreamer sees image 0 */
	gboolean default_strides;	    /* info's strides are GStreamer's own */
	struct px_slot *held[PX_MAX_SLOTS]; /* acquired by a pool, not published */
	GThread *thread;
	int stop_fd; /* eventfd: ends the service thread */
	gchar *topic;
};

static struct pub_ctx *ctx_ref(struct pub_ctx *ctx)
{
	g_atomic_int_inc(&ctx->refs);
	return ctx;
}

static void ctx_unref(struct pub_ctx *ctx)
{
	if (!ctx || !g_atomic_int_dec_and_test(&ctx->refs))
		return;
	if (ctx->thread) {
		uint64_t one = 1;
		if (write(ctx->stop_fd, &one, sizeof(one)) < 0)
			GST_WARNING("eventfd write: %s", g_strerror(errno));
		g_thread_join(ctx->thread);
	}
	for (guint i = 0; i < PX_MAX_SLOTS; i++)
		px_publisher_cancel(ctx->pub, ctx->held[i]);
	px_publisher_destroy(ctx->pub);
	if (ctx->stop_fd >= 0)
		close(ctx->stop_fd);
	g_mutex_clear(&ctx->lock);
	g_free(ctx->topic);
	g_free(ctx);
}

/* Serves subscribers (handshakes, hang-ups, reliable releases) between
 * frames. */
static gpointer service_thread(gpointer data)
{
	struct pub_ctx *ctx = data;
	struct pollfd fds[2] = {
	    {.fd = px_publisher_get_fd(ctx->pub), .events = POLLIN},
	    {.fd = ctx->stop_fd, .events = POLLIN},
	};
	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR) {
			GST_ERROR("topic %s: poll: %s", ctx->topic, g_strerror(errno));
			break;
		}
		if (fds[1].revents)
			break;
		if (fds[0].revents) {
			g_mutex_lock(&ctx->lock);
			int ret = px_publisher_dispatch(ctx->pub, 0);
			g_mutex_unlock(&ctx->lock);
			if (ret < 0) {
				GST_ERROR("topic %s: px_publisher_dispatch: %s", ctx->topic,
					  px_strerror(ret));
				break;
			}
		}
	}
	return NULL;
}

/*
 * Acquires a slot, waiting while the pool has none free (reliable
 * subscribers behind, or upstream holding slots), until `*cancel` is set or
 * `timeout_ms` passed. Called without the lock.
 */
static int acquire_slot(struct pub_ctx *ctx, const gint *cancel, int timeout_ms,
			struct px_slot **slot)
{
	uint64_t deadline =
	    timeout_ms < 0 ? UINT64_MAX : px_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		g_mutex_lock(&ctx->lock);
		int ret = px_publisher_acquire(ctx->pub, 0, slot);
		if (ret == 0)
			ctx->held[(*slot)->index] = *slot;
		g_mutex_unlock(&ctx->lock);
		if (ret != -EAGAIN && ret != -EBUSY)
			return ret;
		if (g_atomic_int_get(cancel))
			return -ECANCELED;
		if (px_now_ns() >= deadline)
			return ret;
		/* Releases of latest and queue subscribers wake nobody: look
		 * again soon. */
		g_usleep(2000);
	}
}

/* --- The pool: buffers that are the topic's slots. --- */

typedef struct {
	GstBufferPool parent;
	struct pub_ctx *ctx;
	GstBuffer *wrappers[PX_MAX_SLOTS]; /* one per slot, made on first use; ours while free */
	gint flushing;
} PixsharePool;

typedef struct {
	GstBufferPoolClass parent_class;
} PixsharePoolClass;

static GType pixshare_pool_get_type(void);
G_DEFINE_TYPE(PixsharePool, pixshare_pool, GST_TYPE_BUFFER_POOL)
#define PIXSHARE_POOL(obj) ((PixsharePool *)(obj))

static GQuark slot_quark(void)
{
	return g_quark_from_static_string("pixshare-slot");
}

static const gchar **pixshare_pool_get_options(GstBufferPool *pool)
{
	static const gchar *options[] = {GST_BUFFER_POOL_OPTION_VIDEO_META, NULL};
	return options;
}

static gboolean pixshare_pool_set_config(GstBufferPool *bpool, GstStructure *config)
{
	PixsharePool *pool = PIXSHARE_POOL(bpool);
	if (!pool->ctx->default_strides &&
	    !gst_buffer_pool_config_has_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META))
		GST_WARNING_OBJECT(pool,
				   "topic %s: the slots' strides are not GStreamer's defaults "
				   "and upstream did not enable GstVideoMeta",
				   pool->ctx->topic);
	return GST_BUFFER_POOL_CLASS(pixshare_pool_parent_class)->set_config(bpool, config);
}

/* Nothing to make ahead: a slot is taken from the publisher per buffer. */
static gboolean pixshare_pool_start(GstBufferPool *bpool)
{
	return TRUE;
}

static gboolean pixshare_pool_stop(GstBufferPool *bpool)
{
	PixsharePool *pool = PIXSHARE_POOL(bpool);
	for (guint i = 0; i < PX_MAX_SLOTS; i++)
		gst_clear_buffer(&pool->wrappers[i]);
	return TRUE;
}

static GstBuffer *wrap_slot(PixsharePool *pool, struct px_slot *slot)
{
	const GstVideoInfo *info = &pool->ctx->info;
	const struct px_image_layout *im = &slot->layout->images[0];
	uint64_t start = UINT64_MAX;
	for (uint32_t p = 0; p < im->n_planes; p++)
		start = MIN(start, im->planes[p].offset);
	guint8 *data = slot->buffers[im->planes[0].buffer].data;
	GstBuffer *buf = gst_buffer_new();
	/* The slot's buffer from the image's first byte: its planes lie in
	 * it at info's offsets (the sink lays out one buffer per set). */
	gst_buffer_append_memory(buf,
				 gst_memory_new_wrapped(0, data + start, GST_VIDEO_INFO_SIZE(info),
							0, GST_VIDEO_INFO_SIZE(info), NULL, NULL));
	GstVideoMeta *meta = gst_buffer_add_video_meta_full(
	    buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(info), GST_VIDEO_INFO_WIDTH(info),
	    GST_VIDEO_INFO_HEIGHT(info), GST_VIDEO_INFO_N_PLANES(info), (gsize *)info->offset,
	    (gint *)info->stride);
	GST_META_FLAG_SET(meta, GST_META_FLAG_POOLED);
	gst_mini_object_set_qdata(GST_MINI_OBJECT(buf), slot_quark(),
				  GUINT_TO_POINTER(slot->index + 1), NULL);
	GST_BUFFER_FLAG_UNSET(buf, GST_BUFFER_FLAG_TAG_MEMORY);
	return buf;
}

static GstFlowReturn pixshare_pool_acquire_buffer(GstBufferPool *bpool, GstBuffer **out,
						  GstBufferPoolAcquireParams *params)
{
	PixsharePool *pool = PIXSHARE_POOL(bpool);
	gboolean dontwait = params && (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT);
	struct px_slot *slot;
	int ret = acquire_slot(pool->ctx, &pool->flushing, dontwait ? 0 : -1, &slot);
	if (ret == -ECANCELED)
		return GST_FLOW_FLUSHING;
	if (ret == -EAGAIN || ret == -EBUSY)
		return GST_FLOW_EOS; /* DONTWAIT and none free: what the base pool says */
	if (ret) {
		GST_ERROR_OBJECT(pool, "topic %s: px_publisher_acquire: %s", pool->ctx->topic,
				 px_strerror(ret));
		return GST_FLOW_ERROR;
	}
	if (!pool->wrappers[slot->index])
		pool->wrappers[slot->index] = wrap_slot(pool, slot);
	*out = pool->wrappers[slot->index];
	return GST_FLOW_OK;
}

static void pixshare_pool_release_buffer(GstBufferPool *bpool, GstBuffer *buf)
{
	PixsharePool *pool = PIXSHARE_POOL(bpool);
	guint index =
	    GPOINTER_TO_UINT(gst_mini_object_get_qdata(GST_MINI_OBJECT(buf), slot_quark())) - 1;
	/* Not published (a flush, an error): the slot goes back unsent. */
	g_mutex_lock(&pool->ctx->lock);
	if (pool->ctx->held[index]) {
		px_publisher_cancel(pool->ctx->pub, pool->ctx->held[index]);
		pool->ctx->held[index] = NULL;
	}
	g_mutex_unlock(&pool->ctx->lock);
	/* Upstream replaced its memory: the wrapper no longer is the slot. */
	if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_TAG_MEMORY)) {
		pool->wrappers[index] = NULL;
		gst_buffer_unref(buf);
	}
}

static void pixshare_pool_flush_start(GstBufferPool *bpool)
{
	g_atomic_int_set(&PIXSHARE_POOL(bpool)->flushing, 1);
}

static void pixshare_pool_flush_stop(GstBufferPool *bpool)
{
	g_atomic_int_set(&PIXSHARE_POOL(bpool)->flushing, 0);
}

static void pixshare_pool_finalize(GObject *object)
{
	PixsharePool *pool = PIXSHARE_POOL(object);
	pixshare_pool_stop(GST_BUFFER_POOL(pool));
	ctx_unref(pool->ctx);
	G_OBJECT_CLASS(pixshare_pool_parent_class)->finalize(object);
}

static void pixshare_pool_class_init(PixsharePoolClass *klass)
{
	GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS(klass);
	G_OBJECT_CLASS(klass)->finalize = pixshare_pool_finalize;
	pool_class->get_options = pixshare_pool_get_options;
	pool_class->set_config = pixshare_pool_set_config;
	pool_class->start = pixshare_pool_start;
	pool_class->stop = pixshare_pool_stop;
	pool_class->acquire_buffer = pixshare_pool_acquire_buffer;
	pool_class->release_buffer = pixshare_pool_release_buffer;
	pool_class->flush_start = pixshare_pool_flush_start;
	pool_class->flush_stop = pixshare_pool_flush_stop;
}

static void pixshare_pool_init(PixsharePool *pool)
{
}

static GstBufferPool *pixshare_pool_new(struct pub_ctx *ctx)
{
	PixsharePool *pool = g_object_new(pixshare_pool_get_type(), NULL);
	gst_object_ref_sink(pool);
	pool->ctx = ctx_ref(ctx);
	return GST_BUFFER_POOL(pool);
}

/* --- The sink. --- */

enum {
	PROP_0,
	PROP_TOPIC,
	PROP_DIR,
	PROP_ALLOCATOR,
	PROP_DEVICE,
	PROP_POOL_SIZE,
	PROP_MAX_SUBSCRIBERS,
	PROP_MAX_LEASES,
	PROP_WAIT_SUBSCRIBERS,
	PROP_COPIES,
	PROP_IN_PLACE,
	PROP_PUBLISHED,
	PROP_STATS,
};

typedef struct {
	GstBaseSink parent;

	/* Properties, under the object lock. */
	gchar *topic, *dir, *allocator_name, *device;
	enum px_allocator_type allocator;
	guint pool_size, max_subscribers, max_leases, wait_subscribers;

	/* Streaming state. */
	struct pub_ctx *ctx;
	GstCaps *caps;
	GstVideoInfo caps_info;
	gboolean subscribers_came;
	gint unlocked;
	uint64_t sequence;

	/* Counters, under the object lock. */
	guint64 published, in_place, copies;
} GstPixshareSink;

typedef struct {
	GstBaseSinkClass parent_class;
} GstPixshareSinkClass;

G_DEFINE_TYPE(GstPixshareSink, gst_pixshare_sink, GST_TYPE_BASE_SINK)
#define PIXSHARE_SINK(obj) ((GstPixshareSink *)(obj))

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
			    GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(PIXSHARE_GST_FORMATS)));

static void gst_pixshare_sink_set_property(GObject *object, guint id, const GValue *value,
					   GParamSpec *pspec)
{
	GstPixshareSink *self = PIXSHARE_SINK(object);
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
	case PROP_ALLOCATOR: {
		const char *name = g_value_get_string(value);
		enum px_allocator_type type;
		if (name && !px_allocator_from_name(name, &type)) {
			self->allocator = type;
			g_free(self->allocator_name);
			self->allocator_name = g_strdup(name);
		} else {
			GST_ERROR_OBJECT(self,
					 "allocator: '%s' is not one of auto, memfd, gbm, dumb, "
					 "dma-heap, udmabuf",
					 name);
		}
		break;
	}
	case PROP_DEVICE:
		g_free(self->device);
		self->device = g_value_dup_string(value);
		break;
	case PROP_POOL_SIZE:
		self->pool_size = g_value_get_uint(value);
		break;
	case PROP_MAX_SUBSCRIBERS:
		self->max_subscribers = g_value_get_uint(value);
		break;
	case PROP_MAX_LEASES:
		self->max_leases = g_value_get_uint(value);
		break;
	case PROP_WAIT_SUBSCRIBERS:
		self->wait_subscribers = g_value_get_uint(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_pixshare_sink_get_property(GObject *object, guint id, GValue *value,
					   GParamSpec *pspec)
{
	GstPixshareSink *self = PIXSHARE_SINK(object);
	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_TOPIC:
		g_value_set_string(value, self->topic);
		break;
	case PROP_DIR:
		g_value_set_string(value, self->dir);
		break;
	case PROP_ALLOCATOR:
		g_value_set_string(value, self->allocator_name);
		break;
	case PROP_DEVICE:
		g_value_set_string(value, self->device);
		break;
	case PROP_POOL_SIZE:
		g_value_set_uint(value, self->pool_size);
		break;
	case PROP_MAX_SUBSCRIBERS:
		g_value_set_uint(value, self->max_subscribers);
		break;
	case PROP_MAX_LEASES:
		g_value_set_uint(value, self->max_leases);
		break;
	case PROP_WAIT_SUBSCRIBERS:
		g_value_set_uint(value, self->wait_subscribers);
		break;
	case PROP_COPIES:
		g_value_set_uint64(value, self->copies);
		break;
	case PROP_IN_PLACE:
		g_value_set_uint64(value, self->in_place);
		break;
	case PROP_PUBLISHED:
		g_value_set_uint64(value, self->published);
		break;
	case PROP_STATS:
		g_value_take_boxed(value,
				   gst_structure_new("pixsharesink-stats", "published",
						     G_TYPE_UINT64, self->published, "in-place",
						     G_TYPE_UINT64, self->in_place, "copies",
						     G_TYPE_UINT64, self->copies, NULL));
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_pixshare_sink_finalize(GObject *object)
{
	GstPixshareSink *self = PIXSHARE_SINK(object);
	g_free(self->topic);
	g_free(self->dir);
	g_free(self->allocator_name);
	g_free(self->device);
	G_OBJECT_CLASS(gst_pixshare_sink_parent_class)->finalize(object);
}

/* The set layout of one image as GStreamer lays it out by default: planes
 * at GstVideoInfo's offsets and strides in one buffer. */
static gboolean caps_layout(const GstVideoInfo *info, struct px_set_layout *layout)
{
	uint32_t fourcc = format_to_fourcc(GST_VIDEO_INFO_FORMAT(info));
	if (!fourcc)
		return FALSE;
	memset(layout, 0, sizeof(*layout));
	layout->n_images = 1;
	layout->n_buffers = 1;
	layout->buffer_sizes[0] = GST_VIDEO_INFO_SIZE(info);
	struct px_image_layout *im = &layout->images[0];
	im->fourcc = fourcc;
	im->width = GST_VIDEO_INFO_WIDTH(info);
	im->height = GST_VIDEO_INFO_HEIGHT(info);
	im->n_planes = GST_VIDEO_INFO_N_PLANES(info);
	im->modifier = PX_MODIFIER_LINEAR;
	for (uint32_t p = 0; p < im->n_planes; p++) {
		im->planes[p].buffer = 0;
		im->planes[p].stride = (uint32_t)GST_VIDEO_INFO_PLANE_STRIDE(info, p);
		im->planes[p].offset = GST_VIDEO_INFO_PLANE_OFFSET(info, p);
	}
	return TRUE;
}

static struct pub_ctx *start_publisher(GstPixshareSink *self, const GstVideoInfo *info)
{
	struct px_set_layout layout;
	char why[160];
	int ret;

	if (!caps_layout(info, &layout) || px_layout_validate(&layout, why, sizeof(why))) {
		GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("No pixshare layout for these caps"),
				  ("%s", why));
		return NULL;
	}
	GST_OBJECT_LOCK(self);
	struct pub_ctx *ctx = g_new0(struct pub_ctx, 1);
	ctx->refs = 1;
	g_mutex_init(&ctx->lock);
	ctx->stop_fd = -1;
	ctx->topic = g_strdup(self->topic);
	gchar *dir = g_strdup(self->dir), *device = g_strdup(self->device);
	struct px_publisher_params params = {
	    .topic = ctx->topic,
	    .dir = dir,
	    .layout = &layout,
	    .allocator = self->allocator,
	    .device = device,
	    .pool_size = self->pool_size,
	    .max_subscribers = self->max_subscribers,
	    .max_leases = self->max_leases,
	    .description = "GStreamer pixsharesink",
	};
	GST_OBJECT_UNLOCK(self);
	if (!ctx->topic) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("No topic set"),
				  ("set the topic property"));
		goto err;
	}
	ret = px_publisher_create(&params, &ctx->pub);
	if (ret) {
		GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
				  ("Could not publish topic %s", ctx->topic),
				  ("px_publisher_create: %s", px_strerror(ret)));
		goto err;
	}
	/* The allocator may have chosen its own strides (GBM). */
	const struct px_image_layout *im = &px_publisher_get_layout(ctx->pub)->images[0];
	if (!image_video_info(im, GST_VIDEO_INFO_FPS_N(info), GST_VIDEO_INFO_FPS_D(info),
			      &ctx->info)) {
		GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("The allocator changed the format"),
				  (NULL));
		goto err;
	}
	ctx->default_strides = TRUE;
	for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(info); p++)
		if (ctx->info.stride[p] != info->stride[p] ||
		    ctx->info.offset[p] != info->offset[p])
			ctx->default_strides = FALSE;
	ctx->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (ctx->stop_fd < 0) {
		GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("eventfd failed"),
				  ("%s", g_strerror(errno)));
		goto err;
	}
	ctx->thread = g_thread_new("pixsharesink", service_thread, ctx);
	GST_INFO_OBJECT(self, "topic %s: %u slots of %s%s", ctx->topic,
			px_publisher_get_pool_size(ctx->pub),
			px_allocator_name(px_publisher_get_allocator(ctx->pub)),
			ctx->default_strides ? "" : ", strides of the allocator's own");
	g_free(dir);
	g_free(device);
	return ctx;

err:
	ctx_unref(ctx);
	g_free(dir);
	g_free(device);
	return NULL;
}

static gboolean gst_pixshare_sink_set_caps(GstBaseSink *base, GstCaps *caps)
{
	GstPixshareSink *self = PIXSHARE_SINK(base);
	GstVideoInfo info;
	if (!gst_video_info_from_caps(&info, caps)) {
		GST_ERROR_OBJECT(self, "invalid caps %" GST_PTR_FORMAT, caps);
		return FALSE;
	}
	if (self->ctx && gst_video_info_is_equal(&info, &self->caps_info))
		return TRUE;
	/* A new layout: a new publisher, which subscribers reconnect to. */
	ctx_unref(self->ctx);
	self->ctx = start_publisher(self, &info);
	if (!self->ctx)
		return FALSE;
	self->caps_info = info;
	gst_caps_replace(&self->caps, caps);
	return TRUE;
}

static gboolean gst_pixshare_sink_propose_allocation(GstBaseSink *base, GstQuery *query)
{
	GstPixshareSink *self = PIXSHARE_SINK(base);
	GstCaps *caps;
	gboolean need_pool;
	gst_query_parse_allocation(query, &caps, &need_pool);
	gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL);
	if (!caps || !self->ctx || !self->caps || !gst_caps_is_equal(caps, self->caps))
		return TRUE;
	guint size = GST_VIDEO_INFO_SIZE(&self->ctx->info);
	GstBufferPool *pool = pixshare_pool_new(self->ctx);
	GstStructure *config = gst_buffer_pool_get_config(pool);
	gst_buffer_pool_config_set_params(config, caps, size, 0, 0);
	gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
	if (!gst_buffer_pool_set_config(pool, config)) {
		gst_object_unref(pool);
		return TRUE;
	}
	gst_query_add_allocation_pool(query, pool, size, 0, 0);
	gst_object_unref(pool);
	return TRUE;
}

static gboolean gst_pixshare_sink_start(GstBaseSink *base)
{
	GstPixshareSink *self = PIXSHARE_SINK(base);
	GST_OBJECT_LOCK(self);
	self->published = self->in_place = self->copies = 0;
	GST_OBJECT_UNLOCK(self);
	self->subscribers_came = FALSE;
	self->sequence = 0;
	return TRUE;
}

static void log_counts(GstPixshareSink *self, gboolean message)
{
	GST_OBJECT_LOCK(self);
	guint64 published = self->published, in_place = self->in_place, copies = self->copies;
	GST_OBJECT_UNLOCK(self);
	GST_INFO_OBJECT(self,
			"topic %s: %" G_GUINT64_FORMAT " frames published, %" G_GUINT64_FORMAT
			" written in place by upstream, %" G_GUINT64_FORMAT " copied",
			self->topic, published, in_place, copies);
	if (message) {
		/* In the debug text too: gst-launch-1.0 prints that one. */
		gchar *text = g_strdup_printf("topic %s: %" G_GUINT64_FORMAT
					      " frames published, %" G_GUINT64_FORMAT
					      " in place, %" G_GUINT64_FORMAT " copied",
					      self->topic, published, in_place, copies);
		GST_ELEMENT_INFO(self, RESOURCE, WRITE, ("%s", text), ("%s", text));
		g_free(text);
	}
}

static gboolean gst_pixshare_sink_stop(GstBaseSink *base)
{
	GstPixshareSink *self = PIXSHARE_SINK(base);
	log_counts(self, FALSE);
	ctx_unref(self->ctx);
	self->ctx = NULL;
	gst_caps_replace(&self->caps, NULL);
	return TRUE;
}

static gboolean gst_pixshare_sink_event(GstBaseSink *base, GstEvent *event)
{
	if (GST_EVENT_TYPE(event) == GST_EVENT_EOS)
		log_counts(PIXSHARE_SINK(base), TRUE);
	return GST_BASE_SINK_CLASS(gst_pixshare_sink_parent_class)->event(base, event);
}

static gboolean gst_pixshare_sink_unlock(GstBaseSink *base)
{
	g_atomic_int_set(&PIXSHARE_SINK(base)->unlocked, 1);
	return TRUE;
}

static gboolean gst_pixshare_sink_unlock_stop(GstBaseSink *base)
{
	g_atomic_int_set(&PIXSHARE_SINK(base)->unlocked, 0);
	return TRUE;
}

/* Capture time of a buffer on CLOCK_MONOTONIC; 0 where it has none. */
static uint64_t buffer_monotonic(GstPixshareSink *self, GstBuffer *buf)
{
	GstBaseSink *base = GST_BASE_SINK(self);
	if (!GST_BUFFER_PTS_IS_VALID(buf))
		return 0;
	GstClockTime rt =
	    gst_segment_to_running_time(&base->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
	GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
	if (!GST_CLOCK_TIME_IS_VALID(rt) || !clock) {
		if (clock)
			gst_object_unref(clock);
		return 0;
	}
	GstClockTime when = rt + gst_element_get_base_time(GST_ELEMENT(self));
	int64_t offset = (int64_t)px_now_ns() - (int64_t)gst_clock_get_time(clock);
	gst_object_unref(clock);
	int64_t mono = (int64_t)when + offset;
	return mono > 0 ? (uint64_t)mono : 0;
}

/* Holds the first frame until wait-subscribers subscribers stream. */
static gboolean wait_for_subscribers(GstPixshareSink *self)
{
	GST_OBJECT_LOCK(self);
	guint want = self->wait_subscribers;
	GST_OBJECT_UNLOCK(self);
	while (!self->subscribers_came) {
		struct px_publisher_stats st = {0};
		g_mutex_lock(&self->ctx->lock);
		px_publisher_get_stats(self->ctx->pub, &st);
		g_mutex_unlock(&self->ctx->lock);
		if (st.n_subscribers >= want) {
			self->subscribers_came = TRUE;
			break;
		}
		if (g_atomic_int_get(&self->unlocked))
			return FALSE;
		g_usleep(5000);
	}
	return TRUE;
}

/* Copies the image of `buf` into `slot`, each side's strides. */
static gboolean copy_into(GstPixshareSink *self, GstBuffer *buf, struct px_slot *slot)
{
	GstVideoFrame frame;
	if (!gst_video_frame_map(&frame, &self->caps_info, buf, GST_MAP_READ)) {
		GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map a buffer"), (NULL));
		return FALSE;
	}
	const struct px_image_layout *im = &slot->layout->images[0];
	struct px_cpu_image src = {.fourcc = im->fourcc, .width = im->width, .height = im->height};
	void *dst[PX_MAX_PLANES] = {NULL};
	for (guint p = 0; p < im->n_planes; p++) {
		src.planes[p] = GST_VIDEO_FRAME_PLANE_DATA(&frame, p);
		src.strides[p] = (uint32_t)GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p);
		dst[p] = px_slot_plane(slot, 0, p);
	}
	int ret = px_image_write(im, dst, &src, 0);
	gst_video_frame_unmap(&frame);
	if (ret) {
		GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not copy a frame into a slot"),
				  ("px_image_write: %s", px_strerror(ret)));
		return FALSE;
	}
	return TRUE;
}

static GstFlowReturn gst_pixshare_sink_render(GstBaseSink *base, GstBuffer *buf)
{
	GstPixshareSink *self = PIXSHARE_SINK(base);
	struct pub_ctx *ctx = self->ctx;
	struct px_slot *slot = NULL;
	gboolean in_place = FALSE;

	if (!ctx)
		return GST_FLOW_NOT_NEGOTIATED;
	if (!wait_for_subscribers(self))
		return GST_FLOW_FLUSHING;
	/* One of our pool's buffers: upstream wrote into the slot itself. */
	if (buf->pool && G_TYPE_CHECK_INSTANCE_TYPE(buf->pool, pixshare_pool_get_type()) &&
	    PIXSHARE_POOL(buf->pool)->ctx == ctx) {
		guint index = GPOINTER_TO_UINT(
				  gst_mini_object_get_qdata(GST_MINI_OBJECT(buf), slot_quark())) -
			      1;
		g_mutex_lock(&ctx->lock);
		if (index < PX_MAX_SLOTS) {
			slot = ctx->held[index];
			ctx->held[index] = NULL;
		}
		g_mutex_unlock(&ctx->lock);
		in_place = slot && !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_TAG_MEMORY);
	}
	if (!slot) {
		int ret = acquire_slot(ctx, &self->unlocked, -1, &slot);
		if (ret == -ECANCELED)
			return GST_FLOW_FLUSHING;
		if (ret) {
			GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
					  ("No free slot in topic %s", ctx->topic),
					  ("px_publisher_acquire: %s", px_strerror(ret)));
			return GST_FLOW_ERROR;
		}
		g_mutex_lock(&ctx->lock);
		ctx->held[slot->index] = NULL;
		g_mutex_unlock(&ctx->lock);
	}
	if (!in_place && !copy_into(self, buf, slot)) {
		g_mutex_lock(&ctx->lock);
		px_publisher_cancel(ctx->pub, slot);
		g_mutex_unlock(&ctx->lock);
		return GST_FLOW_ERROR;
	}
	struct px_publish_info info = {0};
	info.images[0].timestamp_ns = buffer_monotonic(self, buf);
	info.images[0].sequence = ++self->sequence;
	if (!info.images[0].timestamp_ns)
		info.images[0].timestamp_ns = px_now_ns();
	g_mutex_lock(&ctx->lock);
	int ret = px_publisher_publish(ctx->pub, slot, &info);
	g_mutex_unlock(&ctx->lock);
	if (ret) {
		GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
				  ("Could not publish to topic %s", ctx->topic),
				  ("px_publisher_publish: %s", px_strerror(ret)));
		return GST_FLOW_ERROR;
	}
	GST_OBJECT_LOCK(self);
	self->published++;
	if (in_place)
		self->in_place++;
	else
		self->copies++;
	GST_OBJECT_UNLOCK(self);
	return GST_FLOW_OK;
}

static void gst_pixshare_sink_class_init(GstPixshareSinkClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	GstBaseSinkClass *base_class = GST_BASE_SINK_CLASS(klass);
	const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
	const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

	gobject_class->set_property = gst_pixshare_sink_set_property;
	gobject_class->get_property = gst_pixshare_sink_get_property;
	gobject_class->finalize = gst_pixshare_sink_finalize;

	g_object_class_install_property(
	    gobject_class, PROP_TOPIC,
	    g_param_spec_string("topic", "Topic", "The pixshare topic to publish (required)", NULL,
				rw));
	g_object_class_install_property(
	    gobject_class, PROP_DIR,
	    g_param_spec_string("dir", "Directory",
				"Directory of the topic's socket (NULL: $PIXSHARE_DIR, else "
				"$XDG_RUNTIME_DIR/pixshare, else /tmp/pixshare-UID)",
				NULL, rw));
	g_object_class_install_property(
	    gobject_class, PROP_ALLOCATOR,
	    g_param_spec_string("allocator", "Allocator",
				"Where the slots come from: auto (the best that works here, "
				"logged), memfd, gbm, dumb, dma-heap or udmabuf",
				"auto", rw));
	g_object_class_install_property(
	    gobject_class, PROP_DEVICE,
	    g_param_spec_string("device", "Device",
				"The allocator's device: a DRM card node (gbm, dumb) or a heap "
				"name (dma-heap); NULL: its default",
				NULL, rw));
	g_object_class_install_property(
	    gobject_class, PROP_POOL_SIZE,
	    g_param_spec_uint("pool-size", "Pool size",
			      "Slots in the topic's pool; 0: 2 + max-subscribers × "
			      "(max-leases + 1)",
			      0, PX_MAX_SLOTS, 0, rw));
	g_object_class_install_property(gobject_class, PROP_MAX_SUBSCRIBERS,
					g_param_spec_uint("max-subscribers", "Max subscribers",
							  "Subscribers served at once; 0: 4", 0,
							  PX_MAX_SUBSCRIBERS, 0, rw));
	g_object_class_install_property(
	    gobject_class, PROP_MAX_LEASES,
	    g_param_spec_uint("max-leases", "Max leases",
			      "Frames one subscriber may hold at once; 0: 2", 0, PX_MAX_LEASES, 0,
			      rw));
	g_object_class_install_property(
	    gobject_class, PROP_WAIT_SUBSCRIBERS,
	    g_param_spec_uint("wait-subscribers", "Wait for subscribers",
			      "Hold the first frame until this many subscribers stream "
			      "(0: publish at once)",
			      0, PX_MAX_SUBSCRIBERS, 0, rw));
	g_object_class_install_property(
	    gobject_class, PROP_COPIES,
	    g_param_spec_uint64("copies", "Copies",
				"Frames copied into a slot since start, because upstream wrote "
				"them elsewhere than the proposed pool",
				0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(
	    gobject_class, PROP_IN_PLACE,
	    g_param_spec_uint64("in-place", "In place",
				"Frames upstream wrote straight into a slot (no copy) since start",
				0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(gobject_class, PROP_PUBLISHED,
					g_param_spec_uint64("published", "Published",
							    "Frames published since start", 0,
							    G_MAXUINT64, 0, ro));
	g_object_class_install_property(gobject_class, PROP_STATS,
					g_param_spec_boxed("stats", "Statistics",
							   "published, in-place, copies",
							   GST_TYPE_STRUCTURE, ro));

	gst_element_class_set_static_metadata(
	    element_class, "pixshare sink", "Sink/Video",
	    "Publishes raw video as a pixshare topic; upstream writes straight into the "
	    "topic's shared slots where it takes the proposed pool, else each frame is "
	    "copied once (counted)",
	    "pixshare");
	gst_element_class_add_static_pad_template(element_class, &sink_template);

	base_class->set_caps = gst_pixshare_sink_set_caps;
	base_class->propose_allocation = gst_pixshare_sink_propose_allocation;
	base_class->start = gst_pixshare_sink_start;
	base_class->stop = gst_pixshare_sink_stop;
	base_class->event = gst_pixshare_sink_event;
	base_class->unlock = gst_pixshare_sink_unlock;
	base_class->unlock_stop = gst_pixshare_sink_unlock_stop;
	base_class->render = gst_pixshare_sink_render;
}

static void gst_pixshare_sink_init(GstPixshareSink *self)
{
	self->allocator_name = g_strdup("auto");
	self->allocator = PX_ALLOCATOR_AUTO;
}
