/* SPDX-License-Identifier: MIT */
/*
 * pixsharesink: a pipeline's raw video published as a topic.
 *
 * Pads: the always pad "sink" is image 0 of every set; request pads
 * "sink_%u" (1 … PX_MAX_IMAGES - 1, requested in order, no gaps) add images
 * 1, 2, … of the set, each in a buffer of its own. Image 0 paces the sets:
 * each of its buffers (synchronised to the clock as any sink's, unless
 * sync=false) makes one set, and takes from every other pad the buffer of
 * the same running time (within `tolerance`, by default half a frame of
 * image 0), waiting for it until `deadline` after that running time on the
 * pipeline clock. A pad with no such buffer by then is left out of the set
 * (its valid_mask bit clear, counted in `incomplete`); its buffers older
 * than the set are dropped (counted in `late`). The other pads' caps are
 * waited for when image 0's arrive, so that the publisher is made once with
 * every image.
 *
 * Zero-copy where upstream of "sink" takes the pool the sink proposes: its
 * buffers are the topic's slots (acquired from the publisher when upstream
 * asks for a buffer), so upstream draws or receives straight into shared
 * memory and render() only publishes. Zero-copy too where upstream writes
 * into a pool of its own whose buffers are dma-bufs (v4l2src
 * io-mode=dmabuf, GPU elements; memory:DMABuf caps or GstFdMemory) or
 * sealed memfds: those buffers become the topic's pool (an external pool),
 * learned from the first ones upstream gives (see learn_buffer(): those
 * frames are not published, nor are buffers outside the pool learned; both
 * counted in `unpublished`). A published buffer is held until subscribers
 * let go of its slot, then given back to upstream; the sink asks upstream
 * (the ALLOCATION query's min) for as many buffers as the topic needs
 * slots. Other buffers are copied into a slot,
 * row by row with each side's strides, and counted (the `copies` property,
 * an INFO message at EOS, a log line at stop). The images of the request
 * pads are always copied (counted as such: `copies` counts images).
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
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <gst/allocators/allocators.h>

#include <gst/base/gstbasesink.h>

#include "gst/pixshare-gst.h"

/* Which buffer an fd is: its inode (dma-bufs and memfds have one each). */
struct buf_key {
	dev_t dev;
	ino_t ino;
};

struct pub_ctx {
	gint refs;
	GMutex lock;
	struct px_publisher *pub;	    /* under lock */
	GstVideoInfo info;		    /* the real layout, as GStreamer sees image 0 */
	gboolean default_strides;	    /* info's strides are GStreamer's own */
	struct px_slot *held[PX_MAX_SLOTS]; /* acquired by a pool, not published */
	GThread *thread;
	int stop_fd; /* eventfd: wakes the service thread, which ends if stopping */
	gint stopping;
	gchar *topic;

	/* Upstream mode: the pool is upstream's own buffers, slot s the one
	 * of key[s] (see render_upstream()). Each slot is either ready
	 * (acquired: upstream may write its buffer) or lent (published: its
	 * buffer held until subscribers let go of the slot). Under lock. */
	gboolean upstream;
	guint n_slots;
	struct buf_key key[PX_MAX_SLOTS];
	struct px_slot *ready[PX_MAX_SLOTS];
	GstBuffer *lent[PX_MAX_SLOTS];
	gint newest; /* slot of the last set published, or -1 */
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
		g_atomic_int_set(&ctx->stopping, 1);
		if (write(ctx->stop_fd, &one, sizeof(one)) < 0)
			GST_WARNING("eventfd write: %s", g_strerror(errno));
		g_thread_join(ctx->thread);
	}
	for (guint i = 0; i < PX_MAX_SLOTS; i++) {
		px_publisher_cancel(ctx->pub, ctx->held[i]);
		px_publisher_cancel(ctx->pub, ctx->ready[i]);
	}
	px_publisher_destroy(ctx->pub);
	/* Upstream gets its buffers back once no subscriber is served. */
	for (guint i = 0; i < PX_MAX_SLOTS; i++)
		if (ctx->lent[i])
			gst_buffer_unref(ctx->lent[i]);
	if (ctx->stop_fd >= 0)
		close(ctx->stop_fd);
	g_mutex_clear(&ctx->lock);
	g_free(ctx->topic);
	g_free(ctx);
}

/*
 * Upstream mode: acquires back the slots of lent buffers that no subscriber
 * holds any more, so that upstream may write those buffers again. Under the
 * lock; returns how many buffers it put into `back`, for the caller to
 * unref after unlocking (upstream's pool may take its own locks).
 */
static guint reclaim(struct pub_ctx *ctx, GstBuffer **back)
{
	guint n = 0;
	/* The releases that came (of latest and queue subscribers too, whose
	 * messages wake nobody), once for every slot. */
	if (px_publisher_dispatch(ctx->pub, 0) < 0)
		return 0;
	for (guint s = 0; s < ctx->n_slots; s++) {
		struct px_slot *slot;
		if (!ctx->lent[s] || (gint)s == ctx->newest ||
		    px_publisher_acquire_index(ctx->pub, s, &slot))
			continue;
		ctx->ready[s] = slot;
		back[n++] = ctx->lent[s];
		ctx->lent[s] = NULL;
	}
	return n;
}

/* Serves subscribers (handshakes, hang-ups, reliable releases) between
 * frames; in upstream mode also gives back buffers whose slots subscribers
 * released. Only reliable subscribers' releases wake the publisher's fd:
 * while a slot other than the newest is lent, the thread looks every 5 ms
 * (for release fences too, which signal without a message), and a publish
 * wakes it to look again (wake()). */
static gpointer service_thread(gpointer data)
{
	struct pub_ctx *ctx = data;
	struct pollfd fds[2] = {
	    {.fd = px_publisher_get_fd(ctx->pub), .events = POLLIN},
	    {.fd = ctx->stop_fd, .events = POLLIN},
	};
	for (;;) {
		int timeout = -1;
		if (ctx->upstream) {
			g_mutex_lock(&ctx->lock);
			for (guint s = 0; s < ctx->n_slots; s++)
				if (ctx->lent[s] && (gint)s != ctx->newest)
					timeout = 5;
			g_mutex_unlock(&ctx->lock);
		}
		if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
			GST_ERROR("topic %s: poll: %s", ctx->topic, g_strerror(errno));
			break;
		}
		if (fds[1].revents) {
			uint64_t n;
			if (g_atomic_int_get(&ctx->stopping))
				break;
			if (read(ctx->stop_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
				GST_WARNING("eventfd read: %s", g_strerror(errno));
		}
		GstBuffer *back[PX_MAX_SLOTS];
		guint n_back = 0;
		g_mutex_lock(&ctx->lock);
		int ret = fds[0].revents ? px_publisher_dispatch(ctx->pub, 0) : 0;
		if (ret >= 0 && ctx->upstream)
			n_back = reclaim(ctx, back);
		g_mutex_unlock(&ctx->lock);
		for (guint i = 0; i < n_back; i++)
			gst_buffer_unref(back[i]);
		if (ret < 0) {
			GST_ERROR("topic %s: px_publisher_dispatch: %s", ctx->topic,
				  px_strerror(ret));
			break;
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
	PROP_INCOMPLETE,
	PROP_LATE,
	PROP_DEADLINE,
	PROP_TOLERANCE,
	PROP_STATS,
	PROP_UPSTREAM_POOL,
	PROP_UNPUBLISHED,
};

/* Buffers a request pad queues ahead of the set that takes them. */
#define IMAGE_QUEUE 2
/* How long image 0's caps wait for the other pads' caps. */
#define CAPS_WAIT_US (10 * G_USEC_PER_SEC)

/* A buffer of a request pad, and its running time. */
struct queued {
	GstBuffer *buf;
	GstClockTime rt;
};

/* A request pad "sink_%u": image `image` of the set. Its fields are under
 * the sink's pads_lock. */
struct image_pad {
	GstPad *pad;
	guint image;
	GstVideoInfo info;
	gboolean have_caps, eos, flushing;
	GstSegment segment;
	GQueue queue; /* struct queued * */
};

typedef struct {
	GstBaseSink parent;

	/* Properties, under the object lock. */
	gchar *topic, *dir, *allocator_name, *device;
	enum px_allocator_type allocator;
	guint pool_size, max_subscribers, max_leases, wait_subscribers;

	GstClockTime deadline, tolerance;

	/* Streaming state. */
	struct pub_ctx *ctx;
	GstCaps *caps;
	GstVideoInfo caps_info;
	/* The images of the request pads the publisher was made with. */
	GstVideoInfo shaped[PX_MAX_IMAGES];
	guint n_images;
	gboolean subscribers_came;
	gint unlocked;
	uint64_t sequence;

	/* The request pads, by image (0: none, "sink" is image 0). */
	GMutex pads_lock;
	GCond pads_cond;
	struct image_pad *images[PX_MAX_IMAGES];
	gboolean pads_flushing, master_eos; /* under pads_lock */
	/* A request pad's caps came or went since take_image_caps() (under
	 * pads_lock): render() looks at the pads only then. */
	gboolean pads_changed;

	/* Learning upstream's pool (render_upstream()): the buffers seen so
	 * far, their fds dup'd, and the layout they share. */
	gboolean upstream_pool; /* the property, under the object lock */
	gboolean learning;
	gboolean refused; /* upstream's buffers cannot be the pool: copied */
	guint n_learned;
	struct buf_key learned[PX_MAX_SLOTS];
	int learned_fds[PX_MAX_SLOTS * PX_MAX_BUFFERS];
	struct px_set_layout learned_layout;
	gboolean warned_foreign, warned_again;
	guint foreign; /* buffers outside the pool since the topic was made */

	/* Counters, under the object lock. */
	guint64 published, in_place, copies, incomplete, late, unpublished;
} GstPixshareSink;

typedef struct {
	GstBaseSinkClass parent_class;
} GstPixshareSinkClass;

G_DEFINE_TYPE(GstPixshareSink, gst_pixshare_sink, GST_TYPE_BASE_SINK)
#define PIXSHARE_SINK(obj) ((GstPixshareSink *)(obj))

static void forget_upstream(GstPixshareSink *self);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE_WITH_FEATURES(
	GST_CAPS_FEATURE_MEMORY_DMABUF,
	PIXSHARE_GST_FORMATS) ";" GST_VIDEO_CAPS_MAKE(PIXSHARE_GST_FORMATS)));
static GstStaticPadTemplate image_template =
    GST_STATIC_PAD_TEMPLATE("sink_%u", GST_PAD_SINK, GST_PAD_REQUEST,
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
	case PROP_DEADLINE:
		self->deadline = g_value_get_uint64(value);
		break;
	case PROP_TOLERANCE:
		self->tolerance = g_value_get_uint64(value);
		break;
	case PROP_UPSTREAM_POOL:
		self->upstream_pool = g_value_get_boolean(value);
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
	case PROP_INCOMPLETE:
		g_value_set_uint64(value, self->incomplete);
		break;
	case PROP_LATE:
		g_value_set_uint64(value, self->late);
		break;
	case PROP_DEADLINE:
		g_value_set_uint64(value, self->deadline);
		break;
	case PROP_TOLERANCE:
		g_value_set_uint64(value, self->tolerance);
		break;
	case PROP_UPSTREAM_POOL:
		g_value_set_boolean(value, self->upstream_pool);
		break;
	case PROP_UNPUBLISHED:
		g_value_set_uint64(value, self->unpublished);
		break;
	case PROP_STATS:
		g_value_take_boxed(
		    value, gst_structure_new("pixsharesink-stats", "published", G_TYPE_UINT64,
					     self->published, "in-place", G_TYPE_UINT64,
					     self->in_place, "copies", G_TYPE_UINT64, self->copies,
					     "incomplete", G_TYPE_UINT64, self->incomplete, "late",
					     G_TYPE_UINT64, self->late, "unpublished",
					     G_TYPE_UINT64, self->unpublished, NULL));
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
	forget_upstream(self);
	g_mutex_clear(&self->pads_lock);
	g_cond_clear(&self->pads_cond);
	G_OBJECT_CLASS(gst_pixshare_sink_parent_class)->finalize(object);
}

/* The set layout of `n` images as GStreamer lays each out by default:
 * image i in buffer i, its planes at GstVideoInfo's offsets and strides. */
static gboolean caps_layout(const GstVideoInfo *infos, guint n, struct px_set_layout *layout)
{
	memset(layout, 0, sizeof(*layout));
	layout->n_images = n;
	layout->n_buffers = n;
	for (guint i = 0; i < n; i++) {
		const GstVideoInfo *info = &infos[i];
		uint32_t fourcc = format_to_fourcc(GST_VIDEO_INFO_FORMAT(info));
		if (!fourcc)
			return FALSE;
		layout->buffer_sizes[i] = GST_VIDEO_INFO_SIZE(info);
		struct px_image_layout *im = &layout->images[i];
		im->fourcc = fourcc;
		im->width = GST_VIDEO_INFO_WIDTH(info);
		im->height = GST_VIDEO_INFO_HEIGHT(info);
		im->n_planes = GST_VIDEO_INFO_N_PLANES(info);
		im->modifier = PX_MODIFIER_LINEAR;
		for (uint32_t p = 0; p < im->n_planes; p++) {
			im->planes[p].buffer = i;
			im->planes[p].stride = (uint32_t)GST_VIDEO_INFO_PLANE_STRIDE(info, p);
			im->planes[p].offset = GST_VIDEO_INFO_PLANE_OFFSET(info, p);
		}
	}
	return TRUE;
}

/*
 * A publisher for image 0 of `info` and the images of the request pads
 * (self->shaped[1 … n_images - 1]), its pool made by the allocator; or, with
 * `ext`, of upstream's buffers `ext` laid out as self->learned_layout, where
 * a failure posts no error (the caller copies instead): the reason goes to
 * `why`.
 */
static struct pub_ctx *start_publisher(GstPixshareSink *self, const GstVideoInfo *info,
				       const struct px_external_pool *ext, char *why,
				       size_t why_size)
{
	struct px_set_layout layout;
	char reason[160] = "a format pixshare does not have";
	int ret;

	self->shaped[0] = *info;
	if (ext) {
		layout = self->learned_layout;
		if (px_layout_validate(&layout, why, why_size))
			return NULL;
	} else if (!caps_layout(self->shaped, self->n_images, &layout) ||
		   px_layout_validate(&layout, reason, sizeof(reason))) {
		GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("No pixshare layout for these caps"),
				  ("%s", reason));
		return NULL;
	}
	GST_OBJECT_LOCK(self);
	struct pub_ctx *ctx = g_new0(struct pub_ctx, 1);
	ctx->refs = 1;
	g_mutex_init(&ctx->lock);
	ctx->stop_fd = -1;
	ctx->newest = -1;
	ctx->topic = g_strdup(self->topic);
	gchar *dir = g_strdup(self->dir), *device = ext ? NULL : g_strdup(self->device);
	struct px_publisher_params params = {
	    .topic = ctx->topic,
	    .dir = dir,
	    .layout = &layout,
	    .allocator = ext ? PX_ALLOCATOR_AUTO : self->allocator,
	    .device = device,
	    .pool_size = ext ? 0 : self->pool_size,
	    .max_subscribers = self->max_subscribers,
	    .max_leases = self->max_leases,
	    .description = "GStreamer pixsharesink",
	    .external = ext,
	};
	GST_OBJECT_UNLOCK(self);
	if (!ctx->topic) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("No topic set"),
				  ("set the topic property"));
		goto err;
	}
	ret = px_publisher_create(&params, &ctx->pub);
	if (ret && ext && ret != -EADDRINUSE && ret != -EACCES && ret != -ELOOP) {
		g_snprintf(why, why_size, "px_publisher_create: %s (the reason is logged)",
			   px_strerror(ret));
		goto err;
	}
	if (ret) {
		GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
				  ("Could not publish topic %s", ctx->topic),
				  ("px_publisher_create: %s", px_strerror(ret)));
		goto err;
	}
	if (ext) {
		/* Every slot starts ready: upstream may write any buffer. */
		ctx->upstream = TRUE;
		ctx->n_slots = ext->n_slots;
		memcpy(ctx->key, self->learned, sizeof(ctx->key));
		for (guint i = 0; i < ctx->n_slots; i++) {
			ret = px_publisher_acquire_index(ctx->pub, i, &ctx->ready[i]);
			if (ret) {
				GST_ELEMENT_ERROR(
				    self, RESOURCE, FAILED,
				    ("Could not take slot %u of a new pool", i),
				    ("px_publisher_acquire_index: %s", px_strerror(ret)));
				goto err;
			}
		}
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
	ctx->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctx->stop_fd < 0) {
		GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("eventfd failed"),
				  ("%s", g_strerror(errno)));
		goto err;
	}
	ctx->thread = g_thread_new("pixsharesink", service_thread, ctx);
	if (ext)
		GST_INFO_OBJECT(self, "topic %s: %u slots, upstream's own buffers (%s)", ctx->topic,
				ctx->n_slots,
				px_publisher_is_dmabuf(ctx->pub) ? "dma-bufs" : "memfds");
	else
		GST_INFO_OBJECT(self, "topic %s: %u slots of %u image%s by %s%s", ctx->topic,
				px_publisher_get_pool_size(ctx->pub), self->n_images,
				self->n_images > 1 ? "s" : "",
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

/*
 * Takes the request pads' caps into self->shaped (waiting up to CAPS_WAIT_US
 * for those not there yet) and sets self->n_images. Returns TRUE if they
 * differ from what the publisher was made with; FALSE with *ok FALSE (the
 * error posted) where a pad has none, the pads have a gap, or the sink is
 * unlocked meanwhile.
 */
static gboolean take_image_caps(GstPixshareSink *self, gboolean *ok)
{
	gint64 until = g_get_monotonic_time() + CAPS_WAIT_US;
	gboolean changed = FALSE;
	*ok = FALSE;
	g_mutex_lock(&self->pads_lock);
	self->pads_changed = FALSE;
	guint n = 1;
	while (n < PX_MAX_IMAGES && self->images[n])
		n++;
	for (guint i = n; i < PX_MAX_IMAGES; i++)
		if (self->images[i]) {
			g_mutex_unlock(&self->pads_lock);
			GST_ELEMENT_ERROR(self, CORE, PAD, ("sink_%u without sink_%u", i, n),
					  ("request the image pads in order, from sink_1"));
			return FALSE;
		}
	for (guint i = 1; i < n; i++) {
		struct image_pad *ip = self->images[i];
		while (!ip->have_caps && !ip->eos && !self->pads_flushing &&
		       !g_atomic_int_get(&self->unlocked))
			if (!g_cond_wait_until(&self->pads_cond, &self->pads_lock, until))
				break;
		if (!ip->have_caps) {
			gboolean quiet = self->pads_flushing || g_atomic_int_get(&self->unlocked);
			g_mutex_unlock(&self->pads_lock);
			if (!quiet)
				GST_ELEMENT_ERROR(
				    self, CORE, NEGOTIATION, ("sink_%u has no caps", i),
				    ("%s", ip->eos ? "it ended before any caps"
						   : "none within 10 s of image 0's"));
			return FALSE;
		}
		if (i >= self->n_images || !gst_video_info_is_equal(&ip->info, &self->shaped[i]))
			changed = TRUE;
		self->shaped[i] = ip->info;
	}
	if (n != self->n_images)
		changed = TRUE;
	self->n_images = n;
	g_mutex_unlock(&self->pads_lock);
	*ok = TRUE;
	return changed;
}

/* Ends learning upstream's pool (closing the fds kept), and forgets that it
 * could not be used: new caps, a new try. */
static void forget_upstream(GstPixshareSink *self)
{
	for (guint i = 0; i < G_N_ELEMENTS(self->learned_fds); i++)
		if (self->learned_fds[i] >= 0) {
			close(self->learned_fds[i]);
			self->learned_fds[i] = -1;
		}
	self->learning = self->refused = FALSE;
	self->n_learned = 0;
	self->foreign = 0;
}

/* The slots a pool needs for the subscribers the topic admits, as
 * px_publisher_params.pool_size's default counts them. */
static guint pool_need(GstPixshareSink *self)
{
	GST_OBJECT_LOCK(self);
	guint subs = self->max_subscribers ? self->max_subscribers : 4;
	guint leases = self->max_leases ? self->max_leases : 2;
	guint need = self->pool_size ? self->pool_size : 2 + subs * (leases + 1);
	GST_OBJECT_UNLOCK(self);
	return MIN(need, PX_MAX_SLOTS);
}

/* Whether `caps` are of memory:DMABuf. */
static gboolean caps_dmabuf(GstCaps *caps)
{
	GstCapsFeatures *features = gst_caps_get_features(caps, 0);
	return features && gst_caps_features_contains(features, GST_CAPS_FEATURE_MEMORY_DMABUF);
}

static gboolean gst_pixshare_sink_set_caps(GstBaseSink *base, GstCaps *caps)
{
	GstPixshareSink *self = PIXSHARE_SINK(base);
	GstVideoInfo info;
	gboolean ok;
	if (!gst_video_info_from_caps(&info, caps)) {
		GST_ERROR_OBJECT(self, "invalid caps %" GST_PTR_FORMAT, caps);
		return FALSE;
	}
	gboolean images_changed = take_image_caps(self, &ok);
	if (!ok)
		return FALSE;
	gboolean dmabuf = caps_dmabuf(caps);
	if ((self->ctx || dmabuf) && self->caps && !images_changed &&
	    gst_caps_is_equal(caps, self->caps))
		return TRUE;
	/* A new layout: a new publisher, which subscribers reconnect to. */
	ctx_unref(self->ctx);
	self->ctx = NULL;
	forget_upstream(self);
	self->caps_info = info;
	gst_caps_replace(&self->caps, caps);
	/* Upstream's dma-bufs: the pool is made of them at the first buffers
	 * (render_upstream()), or by the allocator there if they cannot be. */
	if (dmabuf)
		return TRUE;
	self->ctx = start_publisher(self, &info, NULL, NULL, 0);
	return self->ctx != NULL;
}

static gboolean gst_pixshare_sink_propose_allocation(GstBaseSink *base, GstQuery *query)
{
	GstPixshareSink *self = PIXSHARE_SINK(base);
	GstCaps *caps;
	gboolean need_pool;
	gst_query_parse_allocation(query, &caps, &need_pool);
	gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL);
	if (!caps || !self->caps || !gst_caps_is_equal(caps, self->caps))
		return TRUE;
	/* An upstream that uses a pool of its own (v4l2src io-mode=dmabuf)
	 * sizes it by `min`: as many buffers as a pool of ours would have
	 * slots, so that subscribers fit when its buffers become the pool. */
	guint need = pool_need(self);
	gboolean dmabuf = caps_dmabuf(caps);
	if (!self->ctx || self->ctx->upstream || dmabuf) {
		gst_query_add_allocation_pool(query, NULL, GST_VIDEO_INFO_SIZE(&self->caps_info),
					      need, 0);
		return TRUE;
	}
	guint size = GST_VIDEO_INFO_SIZE(&self->ctx->info);
	GstBufferPool *pool = pixshare_pool_new(self->ctx);
	GstStructure *config = gst_buffer_pool_get_config(pool);
	gst_buffer_pool_config_set_params(config, caps, size, need, 0);
	gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
	if (!gst_buffer_pool_set_config(pool, config)) {
		gst_object_unref(pool);
		return TRUE;
	}
	gst_query_add_allocation_pool(query, pool, size, need, 0);
	gst_object_unref(pool);
	return TRUE;
}

static gboolean gst_pixshare_sink_start(GstBaseSink *base)
{
	GstPixshareSink *self = PIXSHARE_SINK(base);
	GST_OBJECT_LOCK(self);
	self->published = self->in_place = self->copies = self->incomplete = self->late = 0;
	self->unpublished = 0;
	GST_OBJECT_UNLOCK(self);
	forget_upstream(self);
	self->warned_foreign = self->warned_again = FALSE;
	self->subscribers_came = FALSE;
	self->sequence = 0;
	self->n_images = 1;
	return TRUE;
}

static void log_counts(GstPixshareSink *self, gboolean message)
{
	GST_OBJECT_LOCK(self);
	guint64 published = self->published, in_place = self->in_place, copies = self->copies;
	guint64 incomplete = self->incomplete, late = self->late, unpublished = self->unpublished;
	GST_OBJECT_UNLOCK(self);
	GST_INFO_OBJECT(self,
			"topic %s: %" G_GUINT64_FORMAT " sets published, %" G_GUINT64_FORMAT
			" images written in place by upstream, %" G_GUINT64_FORMAT
			" copied; %" G_GUINT64_FORMAT " sets incomplete, %" G_GUINT64_FORMAT
			" images late, %" G_GUINT64_FORMAT " buffers not published",
			self->topic, published, in_place, copies, incomplete, late, unpublished);
	if (message) {
		/* In the debug text too: gst-launch-1.0 prints that one. */
		gchar *text = g_strdup_printf(
		    "topic %s: %" G_GUINT64_FORMAT " sets published, %" G_GUINT64_FORMAT
		    " images in place, %" G_GUINT64_FORMAT " copied; %" G_GUINT64_FORMAT
		    " sets incomplete, %" G_GUINT64_FORMAT " images late, %" G_GUINT64_FORMAT
		    " buffers not published",
		    self->topic, published, in_place, copies, incomplete, late, unpublished);
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
	forget_upstream(self);
	gst_caps_replace(&self->caps, NULL);
	return TRUE;
}

static gboolean gst_pixshare_sink_event(GstBaseSink *base, GstEvent *event)
{
	GstPixshareSink *self = PIXSHARE_SINK(base);
	if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
		g_mutex_lock(&self->pads_lock);
		self->master_eos = TRUE; /* the request pads' buffers make no set now */
		g_cond_broadcast(&self->pads_cond);
		g_mutex_unlock(&self->pads_lock);
		log_counts(self, TRUE);
	} else if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
		g_mutex_lock(&self->pads_lock);
		self->master_eos = FALSE;
		g_mutex_unlock(&self->pads_lock);
	}
	return GST_BASE_SINK_CLASS(gst_pixshare_sink_parent_class)->event(base, event);
}

static gboolean gst_pixshare_sink_unlock(GstBaseSink *base)
{
	GstPixshareSink *self = PIXSHARE_SINK(base);
	g_atomic_int_set(&self->unlocked, 1);
	g_mutex_lock(&self->pads_lock);
	g_cond_broadcast(&self->pads_cond);
	g_mutex_unlock(&self->pads_lock);
	return TRUE;
}

static gboolean gst_pixshare_sink_unlock_stop(GstBaseSink *base)
{
	g_atomic_int_set(&PIXSHARE_SINK(base)->unlocked, 0);
	return TRUE;
}

/* Capture time of a buffer of a pad with `segment` on CLOCK_MONOTONIC; 0
 * where it has none. */
static uint64_t buffer_monotonic(GstPixshareSink *self, const GstSegment *segment, GstBuffer *buf)
{
	if (!GST_BUFFER_PTS_IS_VALID(buf))
		return 0;
	GstClockTime rt =
	    gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
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

/* Copies `buf` (of `info`) into image `image` of `slot`, each side's
 * strides. */
static gboolean copy_into(GstPixshareSink *self, const GstVideoInfo *info, GstBuffer *buf,
			  struct px_slot *slot, guint image)
{
	GstVideoFrame frame;
	if (!gst_video_frame_map(&frame, info, buf, GST_MAP_READ)) {
		GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map a buffer"), (NULL));
		return FALSE;
	}
	const struct px_image_layout *im = &slot->layout->images[image];
	struct px_cpu_image src = {.fourcc = im->fourcc, .width = im->width, .height = im->height};
	void *dst[PX_MAX_PLANES] = {NULL};
	for (guint p = 0; p < im->n_planes; p++) {
		src.planes[p] = GST_VIDEO_FRAME_PLANE_DATA(&frame, p);
		src.strides[p] = (uint32_t)GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p);
		dst[p] = px_slot_plane(slot, image, p);
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

/*
 * The buffer of request pad `ip` for the set of running time `rt`: its
 * queued buffers older than rt - tolerance are dropped (late); the next,
 * if not later than rt + tolerance, is taken, waited for until `until`
 * (g_get_monotonic_time()). NULL where the image is left out. The segment
 * it was queued under is copied to `segment`.
 */
static GstBuffer *take_image(GstPixshareSink *self, struct image_pad *ip, GstClockTime rt,
			     GstClockTime tolerance, gint64 until, GstSegment *segment)
{
	GstBuffer *buf = NULL;
	guint64 late = 0;
	gboolean timed_out = FALSE;
	g_mutex_lock(&self->pads_lock);
	for (;;) {
		struct queued *q;
		while ((q = g_queue_peek_head(&ip->queue)) && GST_CLOCK_TIME_IS_VALID(rt) &&
		       GST_CLOCK_TIME_IS_VALID(q->rt) && q->rt + tolerance < rt) {
			g_queue_pop_head(&ip->queue);
			gst_buffer_unref(q->buf);
			g_free(q);
			late++;
		}
		if (q) {
			if (!GST_CLOCK_TIME_IS_VALID(rt) || !GST_CLOCK_TIME_IS_VALID(q->rt) ||
			    q->rt <= rt + tolerance) {
				g_queue_pop_head(&ip->queue);
				buf = q->buf;
				g_free(q);
			}
			break; /* else: it belongs to a later set */
		}
		if (timed_out || ip->eos || ip->flushing || self->pads_flushing ||
		    g_atomic_int_get(&self->unlocked))
			break;
		if (!g_cond_wait_until(&self->pads_cond, &self->pads_lock, until))
			timed_out = TRUE; /* one last look */
	}
	*segment = ip->segment;
	g_cond_broadcast(&self->pads_cond); /* room in the queue */
	g_mutex_unlock(&self->pads_lock);
	if (late) {
		GST_OBJECT_LOCK(self);
		self->late += late;
		GST_OBJECT_UNLOCK(self);
		GST_DEBUG_OBJECT(self, "sink_%u: %" G_GUINT64_FORMAT " buffers older than the set",
				 ip->image, late);
	}
	return buf;
}

/* Fills image 1 … of `slot` from the request pads for the set of image 0's
 * `buf`, and sets their bits in info->valid_mask. */
static gboolean fill_images(GstPixshareSink *self, GstBuffer *buf, struct px_slot *slot,
			    struct px_publish_info *info, guint64 *copies)
{
	GstBaseSink *base = GST_BASE_SINK(self);
	GST_OBJECT_LOCK(self);
	GstClockTime deadline = self->deadline, tolerance = self->tolerance;
	GST_OBJECT_UNLOCK(self);
	if (!GST_CLOCK_TIME_IS_VALID(tolerance))
		tolerance =
		    GST_VIDEO_INFO_FPS_N(&self->caps_info) > 0
			? gst_util_uint64_scale(GST_SECOND, GST_VIDEO_INFO_FPS_D(&self->caps_info),
						2 * (guint64)GST_VIDEO_INFO_FPS_N(&self->caps_info))
			: 5 * GST_MSECOND;
	GstClockTime rt =
	    GST_BUFFER_PTS_IS_VALID(buf)
		? gst_segment_to_running_time(&base->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf))
		: GST_CLOCK_TIME_NONE;
	/* The deadline is on the pipeline clock, after the set's running
	 * time; without either, after now. */
	gint64 wait_us = (gint64)(deadline / 1000);
	GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
	if (clock && GST_CLOCK_TIME_IS_VALID(rt)) {
		GstClockTimeDiff left =
		    GST_CLOCK_DIFF(gst_clock_get_time(clock),
				   gst_element_get_base_time(GST_ELEMENT(self)) + rt + deadline);
		wait_us = left > 0 ? left / 1000 : 0;
	}
	if (clock)
		gst_object_unref(clock);
	gint64 until = g_get_monotonic_time() + wait_us;
	for (guint i = 1; i < self->n_images; i++) {
		g_mutex_lock(&self->pads_lock);
		struct image_pad *ip = self->images[i];
		g_mutex_unlock(&self->pads_lock);
		GstSegment segment;
		GstBuffer *b = ip ? take_image(self, ip, rt, tolerance, until, &segment) : NULL;
		if (!b)
			continue;
		gboolean ok = copy_into(self, &self->shaped[i], b, slot, i);
		if (ok) {
			info->valid_mask |= 1u << i;
			info->images[i].timestamp_ns = buffer_monotonic(self, &segment, b);
			(*copies)++;
		}
		gst_buffer_unref(b);
		if (!ok)
			return FALSE;
	}
	return TRUE;
}

/* --- Upstream's own buffers as the pool. --- */

/* Buffers outside the pool learned that make the sink learn it again. */
#define FOREIGN_RELEARN 3

#ifndef DMA_BUF_MAGIC
#define DMA_BUF_MAGIC 0x444d4142
#endif

/* The inode of memory 0 of `buf`, an fd memory: which buffer it is. */
static gboolean buffer_key(GstBuffer *buf, struct buf_key *key)
{
	struct stat st;
	if (gst_buffer_n_memory(buf) < 1 || !gst_is_fd_memory(gst_buffer_peek_memory(buf, 0)) ||
	    fstat(gst_fd_memory_get_fd(gst_buffer_peek_memory(buf, 0)), &st))
		return FALSE;
	key->dev = st.st_dev;
	key->ino = st.st_ino;
	return TRUE;
}

/*
 * Whether every memory of `buf` is an fd that can be part of a topic's pool
 * (what px_publisher_params.external takes): dma-bufs, or memfds sealed
 * against shrinking and not against writes. NULL `why` for memory that is
 * not fds at all.
 */
static gboolean poolable(GstBuffer *buf, char *why, size_t why_size)
{
	guint n = gst_buffer_n_memory(buf);
	gboolean first_dmabuf = FALSE;
	if (n < 1 || n > PX_MAX_BUFFERS) {
		g_snprintf(why, why_size, "a buffer of %u memories", n);
		return FALSE;
	}
	for (guint m = 0; m < n; m++) {
		GstMemory *mem = gst_buffer_peek_memory(buf, m);
		if (!gst_is_fd_memory(mem)) {
			g_snprintf(why, why_size, "memory %u is not an fd", m);
			return FALSE;
		}
		int fd = gst_fd_memory_get_fd(mem);
		struct statfs sfs;
		if (fstatfs(fd, &sfs)) {
			g_snprintf(why, why_size, "fstatfs: %s", g_strerror(errno));
			return FALSE;
		}
		gboolean dmabuf = sfs.f_type == DMA_BUF_MAGIC;
		if (m == 0)
			first_dmabuf = dmabuf;
		else if (dmabuf != first_dmabuf) {
			g_snprintf(why, why_size, "dma-bufs and other fds in one buffer");
			return FALSE;
		}
		if (dmabuf)
			continue;
		int seals = fcntl(fd, F_GET_SEALS);
		int no_write = F_SEAL_WRITE;
#ifdef F_SEAL_FUTURE_WRITE
		no_write |= F_SEAL_FUTURE_WRITE;
#endif
		if (seals < 0 || !(seals & F_SEAL_SHRINK) || (seals & no_write)) {
			g_snprintf(why, why_size,
				   "neither dma-bufs nor memfds sealed against shrinking (and "
				   "writable): subscribers could not map them safely");
			return FALSE;
		}
	}
	return TRUE;
}

/* The layout of image 0 as `buf` holds it: its planes where its video meta
 * (else the caps) puts them, in the fds of its memories. */
static gboolean buffer_layout(GstPixshareSink *self, GstBuffer *buf, struct px_set_layout *layout,
			      char *why, size_t why_size)
{
	const GstVideoInfo *info = &self->caps_info;
	if (!caps_layout(info, 1, layout)) {
		g_snprintf(why, why_size, "a format pixshare does not have");
		return FALSE;
	}
	GstVideoMeta *meta = gst_buffer_get_video_meta(buf);
	guint n_mem = gst_buffer_n_memory(buf);
	layout->n_buffers = n_mem;
	for (guint b = 0; b < n_mem; b++) {
		GstMemory *mem = gst_buffer_peek_memory(buf, b);
		layout->buffer_sizes[b] = mem->offset + mem->size;
	}
	struct px_image_layout *im = &layout->images[0];
	for (guint p = 0; p < im->n_planes; p++) {
		gsize offset = meta ? meta->offset[p] : GST_VIDEO_INFO_PLANE_OFFSET(info, p);
		gint stride = meta ? meta->stride[p] : GST_VIDEO_INFO_PLANE_STRIDE(info, p);
		guint idx, len;
		gsize skip;
		if (stride <= 0 || !gst_buffer_find_memory(buf, offset, 1, &idx, &len, &skip)) {
			g_snprintf(why, why_size, "plane %u lies in no memory of the buffer", p);
			return FALSE;
		}
		im->planes[p].buffer = idx;
		im->planes[p].offset = gst_buffer_peek_memory(buf, idx)->offset + skip;
		im->planes[p].stride = (uint32_t)stride;
	}
	return px_layout_validate(layout, why, why_size) == 0;
}

/* Gives up on upstream's buffers as the pool: its frames are copied into a
 * pool of the allocator's from now on (said once, with the reason). */
static void refuse_upstream(GstPixshareSink *self, const char *why)
{
	guint learned = self->n_learned;
	forget_upstream(self);
	self->refused = TRUE;
	GST_ELEMENT_INFO(self, RESOURCE, SETTINGS,
			 ("Copying upstream's buffers into the topic's own pool"),
			 ("upstream's buffers cannot be the pool: %s (%u learned)", why, learned));
}

enum learned { LEARN_MORE, LEARN_DONE, LEARN_REFUSED, LEARN_ERROR };

/*
 * Learning upstream's pool: each buffer not seen before (by inode) is one
 * more slot, its frame not published (counted in `unpublished`: there is no
 * pool to publish it in yet); the first one seen again closes the pool,
 * whose publisher is made then.
 */
static enum learned learn_buffer(GstPixshareSink *self, GstBuffer *buf)
{
	char why[256] = "";
	struct buf_key key;
	if (!buffer_key(buf, &key)) {
		refuse_upstream(self, "fstat of a buffer's fd failed");
		return LEARN_REFUSED;
	}
	for (guint i = 0; i < self->n_learned; i++) {
		if (self->learned[i].dev != key.dev || self->learned[i].ino != key.ino)
			continue;
		/* As many as one subscriber needs (2 + its leases + 1): a
		 * topic no one can join is no use. */
		GST_OBJECT_LOCK(self);
		guint leases = self->max_leases ? self->max_leases : 2;
		GST_OBJECT_UNLOCK(self);
		if (self->n_learned < 3 + leases) {
			g_snprintf(why, sizeof(why),
				   "upstream's pool has %u buffers; one subscriber of %u leases "
				   "needs %u",
				   self->n_learned, leases, 3 + leases);
			refuse_upstream(self, why);
			return LEARN_REFUSED;
		}
		if (self->n_learned < pool_need(self))
			GST_WARNING_OBJECT(
			    self,
			    "upstream's pool has %u buffers, fewer than the %u slots "
			    "max-subscribers and max-leases ask for: fewer subscribers "
			    "fit",
			    self->n_learned, pool_need(self));
		struct px_external_pool ext = {.n_slots = self->n_learned,
					       .fds = self->learned_fds};
		self->ctx = start_publisher(self, &self->caps_info, &ext, why, sizeof(why));
		if (!self->ctx) {
			if (!why[0])
				return LEARN_ERROR; /* posted */
			refuse_upstream(self, why);
			return LEARN_REFUSED;
		}
		forget_upstream(self); /* the publisher has its own fds */
		self->subscribers_came = FALSE; /* wait-subscribers: for this topic */
		return LEARN_DONE;
	}
	struct px_set_layout layout;
	if (!buffer_layout(self, buf, &layout, why, sizeof(why))) {
		refuse_upstream(self, why);
		return LEARN_REFUSED;
	}
	if (self->n_learned == 0)
		self->learned_layout = layout;
	else if (!px_layout_equal(&layout, &self->learned_layout)) {
		refuse_upstream(self, "its buffers are laid out differently");
		return LEARN_REFUSED;
	}
	if (self->n_learned == PX_MAX_SLOTS) {
		refuse_upstream(self, "more buffers than a topic's pool may have (PX_MAX_SLOTS)");
		return LEARN_REFUSED;
	}
	guint n_buf = layout.n_buffers;
	for (guint b = 0; b < n_buf; b++) {
		int fd = gst_fd_memory_get_fd(gst_buffer_peek_memory(buf, b));
		int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (dup < 0) {
			g_snprintf(why, sizeof(why), "dup of an fd failed: %s", g_strerror(errno));
			refuse_upstream(self, why);
			return LEARN_REFUSED;
		}
		self->learned_fds[self->n_learned * n_buf + b] = dup;
	}
	self->learned[self->n_learned++] = key;
	GST_OBJECT_LOCK(self);
	self->unpublished++;
	GST_OBJECT_UNLOCK(self);
	return LEARN_MORE;
}

/* Whether `buf` goes the way of upstream's buffers as the pool. */
static gboolean take_upstream(GstPixshareSink *self, GstBuffer *buf)
{
	/* Request pads came or went: render() looks at them first. */
	g_mutex_lock(&self->pads_lock);
	gboolean pads_changed = self->pads_changed;
	g_mutex_unlock(&self->pads_lock);
	if (pads_changed || self->n_images != 1) {
		if (self->learning)
			forget_upstream(self);
		return FALSE;
	}
	if (self->ctx && self->ctx->upstream)
		return TRUE;
	GST_OBJECT_LOCK(self);
	gboolean wanted = self->upstream_pool;
	GST_OBJECT_UNLOCK(self);
	if (!wanted || self->refused || gst_buffer_n_memory(buf) < 1 ||
	    !gst_is_fd_memory(gst_buffer_peek_memory(buf, 0)))
		return FALSE;
	if (buf->pool && G_TYPE_CHECK_INSTANCE_TYPE(buf->pool, pixshare_pool_get_type()))
		return FALSE; /* our own slots */
	if (self->learning)
		return TRUE;
	char why[256];
	if (!poolable(buf, why, sizeof(why))) {
		refuse_upstream(self, why);
		return FALSE;
	}
	/* Upstream kept the pool the sink proposed (which holds the topic)
	 * while it gives buffers of its own: the topic cannot be remade. */
	if (self->ctx && g_atomic_int_get(&self->ctx->refs) > 1) {
		refuse_upstream(self, "upstream holds the pool the sink proposed, and the topic "
				      "with it");
		return FALSE;
	}
	/* The allocator's publisher (made at the caps) gives way: subscribers
	 * that came meanwhile see its stream end and reconnect. */
	ctx_unref(self->ctx);
	self->ctx = NULL;
	self->learning = TRUE;
	GST_INFO_OBJECT(self, "topic %s: upstream gives %s; learning its pool", self->topic,
			gst_is_dmabuf_memory(gst_buffer_peek_memory(buf, 0)) ? "dma-bufs"
									     : "fd memory");
	return TRUE;
}

static void count_unpublished(GstPixshareSink *self, gboolean *warned, const char *what)
{
	GST_OBJECT_LOCK(self);
	self->unpublished++;
	GST_OBJECT_UNLOCK(self);
	if (*warned)
		return;
	*warned = TRUE;
	GST_ELEMENT_WARNING(self, STREAM, FAILED, ("A buffer was not published"),
			    ("%s (counted in `unpublished`; said once)", what));
}

/*
 * A buffer of upstream's pool: published as the slot that is its buffer.
 * The slot was acquired back (ready) before upstream got the buffer back to
 * write into; the buffer is held (lent) until subscribers let go of the
 * slot, and goes back to upstream then (reclaim()).
 */
static GstFlowReturn render_upstream(GstPixshareSink *self, GstBuffer *buf)
{
	if (!self->ctx) {
		switch (learn_buffer(self, buf)) {
		case LEARN_MORE:
			return GST_FLOW_OK;
		case LEARN_REFUSED:
			return GST_FLOW_CUSTOM_SUCCESS; /* the caller copies it */
		case LEARN_ERROR:
			return GST_FLOW_ERROR;
		case LEARN_DONE:
			break;
		}
	}
	struct pub_ctx *ctx = self->ctx;
	if (!wait_for_subscribers(self))
		return GST_FLOW_FLUSHING;
	struct buf_key key;
	guint s = ctx->n_slots;
	if (buffer_key(buf, &key))
		for (s = 0; s < ctx->n_slots; s++)
			if (ctx->key[s].dev == key.dev && ctx->key[s].ino == key.ino)
				break;
	if (s == ctx->n_slots) {
		count_unpublished(self, &self->warned_foreign,
				  "upstream gave a buffer that is not one of the pool it had when "
				  "the topic was made");
		/* Its pool grew or was replaced: a new topic of the pool it has
		 * now (subscribers reconnect), learned from this buffer on. */
		if (++self->foreign < FOREIGN_RELEARN)
			return GST_FLOW_OK;
		GST_ELEMENT_INFO(self, RESOURCE, SETTINGS, ("Learning upstream's pool again"),
				 ("%u buffers outside the pool of %u the topic was made with",
				  self->foreign, ctx->n_slots));
		ctx_unref(self->ctx);
		self->ctx = NULL;
		self->foreign = 0;
		self->learning = TRUE;
		GST_OBJECT_LOCK(self);
		self->unpublished--; /* counted again by learn_buffer() */
		GST_OBJECT_UNLOCK(self);
		return learn_buffer(self, buf) == LEARN_ERROR ? GST_FLOW_ERROR : GST_FLOW_OK;
	}
	g_mutex_lock(&ctx->lock);
	struct px_slot *slot = ctx->ready[s];
	ctx->ready[s] = NULL;
	g_mutex_unlock(&ctx->lock);
	if (!slot) {
		count_unpublished(self, &self->warned_again,
				  "upstream gave a buffer again while subscribers still held it "
				  "(e.g. a repeated frame)");
		return GST_FLOW_OK;
	}
	struct px_publish_info info = {.valid_mask = 1};
	info.images[0].timestamp_ns = buffer_monotonic(self, &GST_BASE_SINK(self)->segment, buf);
	if (!info.images[0].timestamp_ns)
		info.images[0].timestamp_ns = px_now_ns();
	info.images[0].sequence = ++self->sequence;
	GstBuffer *back[PX_MAX_SLOTS];
	g_mutex_lock(&ctx->lock);
	int ret = px_publisher_publish(ctx->pub, slot, &info);
	guint n_back = 0;
	if (ret == 0) {
		ctx->lent[s] = gst_buffer_ref(buf);
		ctx->newest = (gint)s;
		n_back = reclaim(ctx, back);
	} else {
		ctx->ready[s] = slot;
	}
	g_mutex_unlock(&ctx->lock);
	for (guint i = 0; i < n_back; i++)
		gst_buffer_unref(back[i]);
	if (ret) {
		GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
				  ("Could not publish to topic %s", ctx->topic),
				  ("px_publisher_publish: %s", px_strerror(ret)));
		return GST_FLOW_ERROR;
	}
	/* The slot published before is lent now, no longer the newest: the
	 * service thread looks after it from now on. */
	uint64_t one = 1;
	if (write(ctx->stop_fd, &one, sizeof(one)) < 0)
		GST_WARNING_OBJECT(self, "eventfd write: %s", g_strerror(errno));
	GST_OBJECT_LOCK(self);
	self->published++;
	self->in_place++;
	GST_OBJECT_UNLOCK(self);
	return GST_FLOW_OK;
}

static GstFlowReturn gst_pixshare_sink_render(GstBaseSink *base, GstBuffer *buf)
{
	GstPixshareSink *self = PIXSHARE_SINK(base);
	struct pub_ctx *ctx = self->ctx;
	struct px_slot *slot = NULL;
	gboolean in_place = FALSE;
	guint64 copies = 0;

	if (take_upstream(self, buf)) {
		GstFlowReturn flow = render_upstream(self, buf);
		if (flow != GST_FLOW_CUSTOM_SUCCESS)
			return flow;
	}
	/* Upstream's dma-bufs that cannot be the pool: copied into one of the
	 * allocator's. */
	if (!self->ctx) {
		self->ctx = start_publisher(self, &self->caps_info, NULL, NULL, 0);
		if (!self->ctx)
			return GST_FLOW_NOT_NEGOTIATED;
	}
	ctx = self->ctx;
	/* A request pad's caps changed: a new publisher, with the new shape. */
	g_mutex_lock(&self->pads_lock);
	gboolean pads_changed = self->pads_changed;
	g_mutex_unlock(&self->pads_lock);
	if (pads_changed) {
		gboolean ok;
		if (take_image_caps(self, &ok)) {
			ctx_unref(self->ctx);
			ctx = self->ctx = start_publisher(self, &self->caps_info, NULL, NULL, 0);
			if (!ctx)
				return GST_FLOW_NOT_NEGOTIATED;
		}
		if (!ok)
			return GST_FLOW_ERROR;
	}
	/* Request pads whose caps did not change: still upstream's pool. */
	if (ctx->upstream)
		return render_upstream(self, buf);
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
	struct px_publish_info info = {.valid_mask = 1};
	if ((!in_place && !copy_into(self, &self->caps_info, buf, slot, 0)) ||
	    !fill_images(self, buf, slot, &info, &copies)) {
		g_mutex_lock(&ctx->lock);
		px_publisher_cancel(ctx->pub, slot);
		g_mutex_unlock(&ctx->lock);
		return GST_FLOW_ERROR;
	}
	if (!in_place)
		copies++;
	uint64_t now = px_now_ns();
	++self->sequence;
	for (guint i = 0; i < self->n_images; i++) {
		if (!(info.valid_mask & (1u << i)))
			continue;
		if (i == 0)
			info.images[0].timestamp_ns = buffer_monotonic(self, &base->segment, buf);
		if (!info.images[i].timestamp_ns)
			info.images[i].timestamp_ns = now;
		info.images[i].sequence = self->sequence;
	}
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
	self->copies += copies;
	if (info.valid_mask != (1u << self->n_images) - 1)
		self->incomplete++;
	GST_OBJECT_UNLOCK(self);
	return GST_FLOW_OK;
}

/* --- The request pads. --- */

static void image_pad_clear(struct image_pad *ip)
{
	struct queued *q;
	while ((q = g_queue_pop_head(&ip->queue))) {
		gst_buffer_unref(q->buf);
		g_free(q);
	}
}

static GstFlowReturn image_pad_chain(GstPad *pad, GstObject *parent, GstBuffer *buf)
{
	GstPixshareSink *self = PIXSHARE_SINK(parent);
	struct image_pad *ip = gst_pad_get_element_private(pad);
	GstFlowReturn ret = GST_FLOW_OK;
	g_mutex_lock(&self->pads_lock);
	GstClockTime rt =
	    GST_BUFFER_PTS_IS_VALID(buf)
		? gst_segment_to_running_time(&ip->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf))
		: GST_CLOCK_TIME_NONE;
	while (g_queue_get_length(&ip->queue) >= IMAGE_QUEUE && !ip->flushing &&
	       !self->pads_flushing && !self->master_eos)
		g_cond_wait(&self->pads_cond, &self->pads_lock);
	if (ip->flushing || self->pads_flushing) {
		ret = GST_FLOW_FLUSHING;
	} else if (self->master_eos) {
		ret = GST_FLOW_EOS; /* image 0 ended: no set takes this */
	} else {
		struct queued *q = g_new(struct queued, 1);
		q->buf = buf;
		q->rt = rt;
		g_queue_push_tail(&ip->queue, q);
		buf = NULL;
		g_cond_broadcast(&self->pads_cond);
	}
	g_mutex_unlock(&self->pads_lock);
	if (buf)
		gst_buffer_unref(buf);
	return ret;
}

static gboolean image_pad_event(GstPad *pad, GstObject *parent, GstEvent *event)
{
	GstPixshareSink *self = PIXSHARE_SINK(parent);
	struct image_pad *ip = gst_pad_get_element_private(pad);
	gboolean ret = TRUE;
	g_mutex_lock(&self->pads_lock);
	switch (GST_EVENT_TYPE(event)) {
	case GST_EVENT_CAPS: {
		GstCaps *caps;
		GstVideoInfo info;
		gst_event_parse_caps(event, &caps);
		if (gst_video_info_from_caps(&info, caps)) {
			ip->info = info;
			ip->have_caps = TRUE;
			self->pads_changed = TRUE;
		} else {
			ret = FALSE;
		}
		break;
	}
	case GST_EVENT_SEGMENT:
		gst_event_copy_segment(event, &ip->segment);
		break;
	case GST_EVENT_FLUSH_START:
		ip->flushing = TRUE;
		break;
	case GST_EVENT_FLUSH_STOP:
		image_pad_clear(ip);
		ip->flushing = ip->eos = FALSE;
		gst_segment_init(&ip->segment, GST_FORMAT_TIME);
		break;
	case GST_EVENT_EOS:
		ip->eos = TRUE;
		break;
	default:
		break;
	}
	g_cond_broadcast(&self->pads_cond);
	g_mutex_unlock(&self->pads_lock);
	gst_event_unref(event);
	return ret;
}

static gboolean image_pad_query(GstPad *pad, GstObject *parent, GstQuery *query)
{
	if (GST_QUERY_TYPE(query) == GST_QUERY_ALLOCATION) {
		/* No pool: these images are copied into the set's slot. */
		gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL);
		return TRUE;
	}
	return gst_pad_query_default(pad, parent, query);
}

static GstPad *gst_pixshare_sink_request_new_pad(GstElement *element, GstPadTemplate *templ,
						 const gchar *name, const GstCaps *caps)
{
	GstPixshareSink *self = PIXSHARE_SINK(element);
	guint index = 0;
	g_mutex_lock(&self->pads_lock);
	if (name) {
		if (sscanf(name, "sink_%u", &index) != 1)
			index = 0;
	} else {
		for (index = 1; index < PX_MAX_IMAGES && self->images[index]; index++)
			;
	}
	if (index == 0 || index >= PX_MAX_IMAGES || self->images[index] || self->ctx) {
		gboolean started = self->ctx != NULL;
		g_mutex_unlock(&self->pads_lock);
		GST_WARNING_OBJECT(self, "no pad %s: %s", name ? name : "sink_%u",
				   started ? "the set's images are fixed once publishing started"
					   : "image pads are sink_1 … sink_15, each once "
					     "(\"sink\" is image 0)");
		return NULL;
	}
	struct image_pad *ip = g_new0(struct image_pad, 1);
	gchar *pad_name = g_strdup_printf("sink_%u", index);
	ip->pad = gst_pad_new_from_template(templ, pad_name);
	g_free(pad_name);
	ip->image = index;
	gst_segment_init(&ip->segment, GST_FORMAT_TIME);
	g_queue_init(&ip->queue);
	gst_pad_set_element_private(ip->pad, ip);
	gst_pad_set_chain_function(ip->pad, image_pad_chain);
	gst_pad_set_event_function(ip->pad, image_pad_event);
	gst_pad_set_query_function(ip->pad, image_pad_query);
	self->images[index] = ip;
	g_mutex_unlock(&self->pads_lock);
	gst_element_add_pad(element, ip->pad);
	return ip->pad;
}

static void gst_pixshare_sink_release_pad(GstElement *element, GstPad *pad)
{
	GstPixshareSink *self = PIXSHARE_SINK(element);
	struct image_pad *ip = gst_pad_get_element_private(pad);
	g_mutex_lock(&self->pads_lock);
	self->images[ip->image] = NULL;
	ip->flushing = TRUE;
	self->pads_changed = TRUE;
	g_cond_broadcast(&self->pads_cond);
	g_mutex_unlock(&self->pads_lock);
	gst_pad_set_active(pad, FALSE); /* waits for its chain to return */
	gst_element_remove_pad(element, pad);
	image_pad_clear(ip);
	g_free(ip);
}

/* The request pads' chains wait on pads_cond: wake them before the pads
 * are deactivated (which waits for them), and let them queue again once
 * the sink is going to stream. */
static GstStateChangeReturn gst_pixshare_sink_change_state(GstElement *element,
							   GstStateChange transition)
{
	GstPixshareSink *self = PIXSHARE_SINK(element);
	if (transition == GST_STATE_CHANGE_READY_TO_PAUSED ||
	    transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
		gboolean going = transition == GST_STATE_CHANGE_READY_TO_PAUSED;
		g_mutex_lock(&self->pads_lock);
		self->pads_flushing = !going;
		self->master_eos = FALSE;
		for (guint i = 1; i < PX_MAX_IMAGES; i++) {
			struct image_pad *ip = self->images[i];
			if (!ip)
				continue;
			ip->eos = ip->flushing = FALSE;
			if (going) {
				ip->have_caps = FALSE;
				gst_segment_init(&ip->segment, GST_FORMAT_TIME);
			}
		}
		g_cond_broadcast(&self->pads_cond);
		g_mutex_unlock(&self->pads_lock);
	}
	GstStateChangeReturn ret =
	    GST_ELEMENT_CLASS(gst_pixshare_sink_parent_class)->change_state(element, transition);
	if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
		g_mutex_lock(&self->pads_lock);
		for (guint i = 1; i < PX_MAX_IMAGES; i++)
			if (self->images[i])
				image_pad_clear(self->images[i]);
		g_mutex_unlock(&self->pads_lock);
	}
	return ret;
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
				"Frames upstream wrote straight into a slot (no copy): into the "
				"proposed pool's, or upstream's own buffers that are the pool",
				0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(gobject_class, PROP_PUBLISHED,
					g_param_spec_uint64("published", "Published",
							    "Frames published since start", 0,
							    G_MAXUINT64, 0, ro));
	g_object_class_install_property(
	    gobject_class, PROP_INCOMPLETE,
	    g_param_spec_uint64("incomplete", "Incomplete",
				"Sets published with an image left out (its request pad had no "
				"buffer for the set by its deadline) since start",
				0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(
	    gobject_class, PROP_LATE,
	    g_param_spec_uint64("late", "Late",
				"Buffers of request pads dropped since start, older than the set "
				"being made",
				0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(
	    gobject_class, PROP_DEADLINE,
	    g_param_spec_uint64("deadline", "Deadline",
				"How long (ns) after a set's running time (image 0's buffer's) on "
				"the pipeline clock the other images may arrive; later ones are "
				"left out of the set",
				0, G_MAXUINT64, 20 * GST_MSECOND, rw));
	g_object_class_install_property(
	    gobject_class, PROP_TOLERANCE,
	    g_param_spec_uint64("tolerance", "Tolerance",
				"How far (ns) a request pad's buffer's running time may be from "
				"image 0's to join its set; -1 (the default): half a frame of "
				"image 0's framerate, 5 ms where it has none",
				0, G_MAXUINT64, GST_CLOCK_TIME_NONE, rw));
	g_object_class_install_property(
	    gobject_class, PROP_UPSTREAM_POOL,
	    g_param_spec_boolean(
		"upstream-pool", "Upstream's pool",
		"Where upstream of \"sink\" gives buffers of its own pool that are dma-bufs (or "
		"sealed memfds), with no request pads: make the topic's pool of those buffers "
		"themselves, learned from the first ones (published from when one comes again), "
		"instead of copying each frame",
		TRUE, rw));
	g_object_class_install_property(
	    gobject_class, PROP_UNPUBLISHED,
	    g_param_spec_uint64("unpublished", "Unpublished",
				"Buffers of \"sink\" not published since start: seen while "
				"learning upstream's pool, outside that pool, or given again "
				"while subscribers held them",
				0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(
	    gobject_class, PROP_STATS,
	    g_param_spec_boxed("stats", "Statistics",
			       "published, in-place, copies, incomplete, late, unpublished",
			       GST_TYPE_STRUCTURE, ro));

	gst_element_class_set_static_metadata(
	    element_class, "pixshare sink", "Sink/Video",
	    "Publishes raw video as a pixshare topic, one image per pad (\"sink\" is image 0, "
	    "request pads sink_1, sink_2, … add images to each set, synced by running "
	    "time); upstream of \"sink\" writes straight into the topic's shared slots "
	    "where it takes the proposed pool, or its own dma-bufs become the topic's pool, "
	    "else each image is copied once (counted)",
	    "pixshare");
	gst_element_class_add_static_pad_template(element_class, &sink_template);
	gst_element_class_add_static_pad_template(element_class, &image_template);
	element_class->request_new_pad = gst_pixshare_sink_request_new_pad;
	element_class->release_pad = gst_pixshare_sink_release_pad;
	element_class->change_state = gst_pixshare_sink_change_state;

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
	self->deadline = 20 * GST_MSECOND;
	self->tolerance = GST_CLOCK_TIME_NONE;
	self->n_images = 1;
	self->upstream_pool = TRUE;
	for (guint i = 0; i < G_N_ELEMENTS(self->learned_fds); i++)
		self->learned_fds[i] = -1;
	g_mutex_init(&self->pads_lock);
	g_cond_init(&self->pads_cond);
}
