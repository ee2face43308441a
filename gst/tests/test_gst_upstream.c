/* SPDX-License-Identifier: MIT */
/*
 * pixsharesink with upstream's own buffers as the topic's pool.
 *
 * An appsrc stands in for an element with a pool of its own (as v4l2src
 * io-mode=dmabuf or a GPU element has): it cycles POOL sealed memfds,
 * writes frame n into a buffer only once GStreamer gave that buffer back,
 * and pushes it wrapped as GstDmaBufMemory with memory:DMABuf caps, or as
 * GstFdMemory with plain caps. A reliable subscriber in this process checks
 * that the topic's pool is exactly those memfds (by inode, slot by slot),
 * that every frame after the pool was learned arrives byte-exact and none
 * is lost, and the sink's counts: POOL frames not published while learning,
 * none copied. A buffer outside the pool and one given again while the
 * topic still holds it are not published (counted, warned). Unsealed
 * memfds cannot be the pool: every frame is copied instead, and counted.
 *
 * In the guest (--v4l2=auto): vivid through v4l2src io-mode=dmabuf, whose
 * buffers are videobuf2's own dma-bufs: the topic's pool is those dma-bufs
 * (their exporter named in the subscriber's fdinfo), nothing copied.
 *
 * test_gst_upstream [--v4l2=auto|/dev/videoN]; GST_PLUGIN_PATH must name
 * the plugin's directory (CTest sets it).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <gst/allocators/allocators.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <pixshare/pixshare.h>

#include "gst/tests/gst_testutil.h"
#include "tests/px_test.h"

#define POOL 5
#define MAXBUF 8 /* memfds an upstream has at most */
#define FRAMES 40
#define W 64
#define H 48
#define SIZE (W * H * 4)

static char dir[64];

static uint8_t pattern(uint64_t n, size_t k)
{
	return (uint8_t)(n * 7 + k * 3 + (k >> 8));
}

/* Frame n in a buffer: n in its first 8 bytes, then the pattern. */
static void write_frame(uint8_t *p, uint64_t n)
{
	memcpy(p, &n, sizeof(n));
	for (size_t k = sizeof(n); k < SIZE; k++)
		p[k] = pattern(n, k);
}

/* --- The upstream pool. --- */

struct upstream {
	GMutex lock;
	GCond cond;
	guint n;
	int fds[MAXBUF];
	uint8_t *maps[MAXBUF];
	ino_t inos[MAXBUF];
	gboolean free[MAXBUF]; /* GStreamer gave the buffer back */
	GstAllocator *allocator;
};

struct given {
	struct upstream *up;
	guint k;
};

static void given_back(gpointer data, GstMiniObject *obj)
{
	(void)obj;
	struct given *g = data;
	g_mutex_lock(&g->up->lock);
	g->up->free[g->k] = TRUE;
	g_cond_broadcast(&g->up->cond);
	g_mutex_unlock(&g->up->lock);
	g_free(g);
}

/* `n` memfds. */
static void upstream_init(struct upstream *up, gboolean dmabuf, gboolean sealed, guint n)
{
	memset(up, 0, sizeof(*up));
	up->n = n;
	g_mutex_init(&up->lock);
	g_cond_init(&up->cond);
	up->allocator = dmabuf ? gst_dmabuf_allocator_new() : gst_fd_allocator_new();
	for (guint k = 0; k < n; k++) {
		up->fds[k] = memfd_create("upstream", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		REQUIRE(up->fds[k] >= 0);
		REQUIRE(ftruncate(up->fds[k], SIZE) == 0);
		if (sealed)
			REQUIRE(fcntl(up->fds[k], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
		up->maps[k] =
		    mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, up->fds[k], 0);
		REQUIRE(up->maps[k] != MAP_FAILED);
		struct stat st;
		REQUIRE(fstat(up->fds[k], &st) == 0);
		up->inos[k] = st.st_ino;
		up->free[k] = TRUE;
	}
}

static void upstream_clear(struct upstream *up)
{
	for (guint k = 0; k < up->n; k++) {
		munmap(up->maps[k], SIZE);
		close(up->fds[k]);
	}
	gst_object_unref(up->allocator);
	g_mutex_clear(&up->lock);
	g_cond_clear(&up->cond);
}

/* Buffer k of the pool, once GStreamer gave it back, with frame n in it. */
static GstBuffer *take(struct upstream *up, guint k, uint64_t n)
{
	gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	g_mutex_lock(&up->lock);
	while (!up->free[k])
		if (!g_cond_wait_until(&up->cond, &up->lock, until)) {
			fprintf(stderr, "buffer %u not given back within 10 s\n", k);
			exit(1);
		}
	up->free[k] = FALSE;
	g_mutex_unlock(&up->lock);
	write_frame(up->maps[k], n);
	GstMemory *mem = gst_fd_allocator_alloc(up->allocator, up->fds[k], SIZE,
						GST_FD_MEMORY_FLAG_DONT_CLOSE);
	REQUIRE(mem);
	GstBuffer *buf = gst_buffer_new();
	gst_buffer_append_memory(buf, mem);
	GST_BUFFER_PTS(buf) = n * 10 * GST_MSECOND;
	GST_BUFFER_DURATION(buf) = 10 * GST_MSECOND;
	struct given *g = g_new(struct given, 1);
	g->up = up;
	g->k = k;
	gst_mini_object_weak_ref(GST_MINI_OBJECT(buf), given_back, g);
	return buf;
}

/* --- The subscriber. --- */

struct checker {
	const char *topic;
	enum px_allocator_type allocator; /* the topic's, waited for */
	const ino_t *inos;		  /* the pool's, or NULL */
	guint pool;
	const uint64_t *expect; /* the frames it must get, in order */
	guint n_expect;
	gint frames; /* got so far (atomic) */
};

/* Subscribes with `sp`, retrying for 10 s until the topic is there and,
 * for an `allocator` other than -1, made by that allocator (the allocator's
 * publisher of the caps may come first and go); its info into `info`. */
static struct px_subscriber *subscribe_when(const struct px_subscriber_params *sp, int allocator,
					    struct px_topic_info *info)
{
	struct px_subscriber *sub = NULL;
	for (int t = 0; t < 1000; t++) {
		if (px_subscriber_create(sp, &sub) == 0) {
			REQUIRE_OK(px_subscriber_get_topic_info(sub, info));
			if (allocator < 0 || (int)info->allocator == allocator)
				return sub;
			px_subscriber_destroy(sub);
			sub = NULL;
		}
		g_usleep(10000);
	}
	fprintf(stderr, "topic %s: no subscription within 10 s\n", sp->topic);
	exit(1);
}

static gpointer check_frames(gpointer data)
{
	struct checker *c = data;
	struct px_subscriber_params sp = {
	    .topic = c->topic,
	    .dir = dir,
	    .qos = PX_QOS_RELIABLE,
	    .max_leases = 1,
	    .name = "checker",
	    .flags = PX_SUBSCRIBER_NO_RECONNECT,
	    .connect_timeout_ms = 2000,
	};
	/* The topic comes once the pool is learned. */
	struct px_topic_info info;
	struct px_subscriber *sub = subscribe_when(&sp, (int)c->allocator, &info);
	if (c->inos)
		REQUIRE_EQ(info.pool_size, c->pool);
	REQUIRE(!info.dmabuf);
	ino_t slot_ino[PX_MAX_SLOTS] = {0};
	for (;;) {
		struct px_frame *f;
		int ret = px_subscriber_receive(sub, &f, 10000);
		if (ret == -EPIPE)
			break;
		REQUIRE_OK(ret);
		const uint8_t *p = f->buffers[0].data;
		REQUIRE(p);
		uint64_t n;
		memcpy(&n, p, sizeof(n));
		guint got = (guint)g_atomic_int_get(&c->frames);
		if (got >= c->n_expect || n != c->expect[got]) {
			fprintf(stderr, "%s: frame %llu after %u frames, expected %llu\n", c->topic,
				(unsigned long long)n, got,
				got < c->n_expect ? (unsigned long long)c->expect[got] : 0ull);
			exit(1);
		}
		for (size_t k = sizeof(n); k < SIZE; k++)
			if (p[k] != pattern(n, k)) {
				fprintf(stderr, "%s: frame %llu byte %zu: %u, expected %u\n",
					c->topic, (unsigned long long)n, k, p[k], pattern(n, k));
				exit(1);
			}
		if (c->inos) {
			/* The slot is one of upstream's memfds, always the same. */
			struct stat st;
			REQUIRE(fstat(f->buffers[0].fd, &st) == 0);
			guint k = 0;
			while (k < c->pool && c->inos[k] != st.st_ino)
				k++;
			REQUIRE(k < c->pool);
			REQUIRE(f->slot < PX_MAX_SLOTS);
			if (!slot_ino[f->slot])
				slot_ino[f->slot] = st.st_ino;
			REQUIRE(slot_ino[f->slot] == st.st_ino);
		}
		g_atomic_int_inc(&c->frames);
		px_frame_release(f);
	}
	REQUIRE_EQ(g_atomic_int_get(&c->frames), c->n_expect);
	px_subscriber_destroy(sub);
	return NULL;
}

/* Waits for the end of stream as wait_eos() does, counting on the way the
 * warnings whose debug text contains `warning` and the INFO messages whose
 * debug text contains `info` (wait_eos() would discard them). */
static void wait_eos_counting(GstElement *pipeline, const char *warning, guint *warned,
			      const char *info, guint *told)
{
	GstBus *bus = gst_element_get_bus(pipeline);
	*warned = *told = 0;
	for (;;) {
		GstMessage *m = gst_bus_timed_pop_filtered(
		    bus, PIPELINE_TIMEOUT,
		    GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING | GST_MESSAGE_INFO);
		if (!m) {
			fprintf(stderr, "no end of stream within %d s\n",
				(int)(PIPELINE_TIMEOUT / GST_SECOND));
			exit(1);
		}
		GError *err = NULL;
		gchar *dbg = NULL;
		switch (GST_MESSAGE_TYPE(m)) {
		case GST_MESSAGE_ERROR:
			fail_on_error(m);
			break;
		case GST_MESSAGE_WARNING:
			gst_message_parse_warning(m, &err, &dbg);
			*warned += dbg && strstr(dbg, warning);
			break;
		case GST_MESSAGE_INFO:
			gst_message_parse_info(m, &err, &dbg);
			*told += dbg && strstr(dbg, info);
			break;
		default:
			break;
		}
		g_clear_error(&err);
		g_free(dbg);
		gboolean eos = GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
		gst_message_unref(m);
		if (eos)
			break;
	}
	gst_object_unref(bus);
}

/*
 * Upstream's memfds through the sink: `dmabuf` wraps them as GstDmaBufMemory
 * with memory:DMABuf caps, else as GstFdMemory with plain caps; `sealed`
 * memfds can be the pool, others are copied.
 */
static void run_pool(const char *topic, gboolean dmabuf, gboolean sealed)
{
	struct upstream up;
	upstream_init(&up, dmabuf, sealed, POOL + 1); /* the last: outside the pool */
	gchar *desc = g_strdup_printf(
	    "appsrc name=src format=time max-buffers=2 block=true "
	    "caps=\"video/x-raw%s,format=BGRx,width=%d,height=%d,framerate=100/1\" ! "
	    "pixsharesink name=sink topic=%s dir=%s wait-subscribers=1 sync=false",
	    dmabuf ? "(memory:DMABuf)" : "", W, H, topic, dir);
	GstElement *pipeline = launch(desc);
	g_free(desc);
	GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
	GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);

	/* Learning takes the first POOL frames, and the last two pushes are
	 * not published; copied, all are. */
	uint64_t expect[FRAMES + 2];
	guint n_expect = 0;
	for (uint64_t n = sealed ? POOL + 1 : 1; n <= FRAMES; n++)
		expect[n_expect++] = n;
	if (!sealed) {
		expect[n_expect++] = FRAMES;
		expect[n_expect++] = FRAMES + 1;
	}
	struct checker c = {.topic = topic,
			    .allocator = sealed ? PX_ALLOCATOR_EXTERNAL : PX_ALLOCATOR_MEMFD,
			    .inos = sealed ? up.inos : NULL,
			    .pool = POOL,
			    .expect = expect,
			    .n_expect = n_expect};
	GThread *checker = g_thread_new("checker", check_frames, &c);
	GstBuffer *last = NULL;
	for (uint64_t n = 1; n <= FRAMES; n++) {
		/* Round robin, as a pool that queues its buffers. */
		GstBuffer *buf = take(&up, (guint)((n - 1) % POOL), n);
		if (n == FRAMES)
			last = gst_buffer_ref(buf);
		REQUIRE(gst_app_src_push_buffer(GST_APP_SRC(src), buf) == GST_FLOW_OK);
	}
	/* The last frame again, while the topic keeps it as its newest; then
	 * a buffer that is not one of the pool. */
	REQUIRE(gst_app_src_push_buffer(GST_APP_SRC(src), last) == GST_FLOW_OK);
	REQUIRE(gst_app_src_push_buffer(GST_APP_SRC(src), take(&up, POOL, FRAMES + 1)) ==
		GST_FLOW_OK);
	REQUIRE(gst_app_src_end_of_stream(GST_APP_SRC(src)) == GST_FLOW_OK);
	guint warned, told;
	wait_eos_counting(pipeline, "unpublished", &warned, "cannot be the pool", &told);
	/* Reliable: every frame reaches the subscriber before the topic ends. */
	for (int t = 0; t < 1000 && (guint)g_atomic_int_get(&c.frames) < n_expect; t++)
		g_usleep(10000);
	guint64 published = get_u64(sink, "published"), in_place = get_u64(sink, "in-place");
	guint64 copies = get_u64(sink, "copies"), unpublished = get_u64(sink, "unpublished");
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE);
	g_thread_join(checker);
	printf("%s: %s memfds%s: %llu published, %llu in place, %llu copied, %llu not "
	       "published; subscriber got %llu frames byte-exact, none lost\n",
	       topic, sealed ? "sealed" : "unsealed",
	       dmabuf ? " as GstDmaBufMemory (memory:DMABuf)" : " as GstFdMemory",
	       (unsigned long long)published, (unsigned long long)in_place,
	       (unsigned long long)copies, (unsigned long long)unpublished,
	       (unsigned long long)g_atomic_int_get(&c.frames));
	if (sealed) {
		REQUIRE_EQ(published, FRAMES - POOL);
		REQUIRE_EQ(in_place, FRAMES - POOL);
		REQUIRE_EQ(copies, 0);
		REQUIRE_EQ(unpublished, POOL + 2);
		REQUIRE_EQ(warned, 2);
		REQUIRE_EQ(told, 0);
	} else {
		/* Copied: every frame, and the two extra ones too. */
		REQUIRE_EQ(published, FRAMES + 2);
		REQUIRE_EQ(copies, FRAMES + 2);
		REQUIRE_EQ(in_place, 0);
		REQUIRE_EQ(unpublished, 0);
		REQUIRE_EQ(told, 1);
	}
	gst_object_unref(src);
	gst_object_unref(sink);
	gst_object_unref(pipeline);
	/* Every buffer came back to upstream. */
	for (guint k = 0; k < up.n; k++)
		REQUIRE(up.free[k]);
	upstream_clear(&up);
}

/* --- What can go wrong with upstream's pool. --- */

/* A latest subscriber that holds each frame 20 ms: its releases wake no one
 * in the publisher, and upstream, cycling its buffers, needs them back. */
struct holder {
	gint frames;
	gint done;
};

static gpointer hold_frames(gpointer data)
{
	struct holder *h = data;
	struct px_subscriber_params sp = {
	    .topic = "held",
	    .dir = dir,
	    .qos = PX_QOS_LATEST,
	    .max_leases = 1,
	    .name = "holder",
	    .flags = PX_SUBSCRIBER_NO_RECONNECT,
	    .connect_timeout_ms = 2000,
	};
	struct px_topic_info info;
	struct px_subscriber *sub = subscribe_when(&sp, -1, &info);
	uint64_t last = 0;
	for (;;) {
		struct px_frame *f;
		int ret = px_subscriber_receive(sub, &f, 10000);
		if (ret == -EPIPE)
			break;
		REQUIRE_OK(ret);
		uint64_t n;
		memcpy(&n, f->buffers[0].data, sizeof(n));
		REQUIRE(n > last);
		for (size_t k = sizeof(n); k < SIZE; k++)
			REQUIRE(((const uint8_t *)f->buffers[0].data)[k] == pattern(n, k));
		last = n;
		g_usleep(20000);
		px_frame_release(f);
		g_atomic_int_inc(&h->frames);
	}
	px_subscriber_destroy(sub);
	return NULL;
}

static GstPadProbeReturn keep_pool(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	(void)info;
	GstBufferPool **kept = data;
	GstCaps *caps = gst_pad_get_current_caps(pad);
	REQUIRE(caps);
	GstQuery *q = gst_query_new_allocation(caps, TRUE);
	REQUIRE(gst_pad_peer_query(pad, q));
	REQUIRE(gst_query_get_n_allocation_pools(q) >= 1);
	gst_query_parse_nth_allocation_pool(q, 0, kept, NULL, NULL, NULL);
	REQUIRE(*kept);
	GstStructure *config = gst_buffer_pool_get_config(*kept);
	gst_buffer_pool_config_set_params(config, caps, SIZE, 0, 0);
	REQUIRE(gst_buffer_pool_set_config(*kept, config));
	REQUIRE(gst_buffer_pool_set_active(*kept, TRUE));
	gst_query_unref(q);
	gst_caps_unref(caps);
	return GST_PAD_PROBE_REMOVE;
}

enum variant {
	HELD,	   /* a latest subscriber holding frames */
	TOO_FEW,   /* 4 buffers: no subscriber could join such a topic */
	KEPT_POOL, /* upstream keeps the pool the sink proposed */
	GROWN,	   /* upstream's pool grows from 5 to 7 buffers */
};

static void run_variant(enum variant v)
{
	static const char *const names[] = {"held", "too-few", "kept-pool", "grown"};
	const char *topic = names[v];
	guint first = v == TOO_FEW ? 4 : POOL, total = v == GROWN ? 7 : first;
	struct upstream up;
	upstream_init(&up, v != KEPT_POOL, TRUE, total);
	gchar *desc = g_strdup_printf(
	    "appsrc name=src format=time max-buffers=2 block=true "
	    "caps=\"video/x-raw%s,format=BGRx,width=%d,height=%d,framerate=100/1\" ! "
	    "pixsharesink name=sink topic=%s dir=%s sync=false%s",
	    v == KEPT_POOL ? "" : "(memory:DMABuf)", W, H, topic, dir,
	    v == HELD ? " wait-subscribers=1" : "");
	GstElement *pipeline = launch(desc);
	g_free(desc);
	GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
	GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
	GstBufferPool *kept = NULL;
	if (v == KEPT_POOL) {
		/* As GstBaseSrc does once its caps are set: ask downstream,
		 * keep and start its pool (from the first buffer's probe). */
		GstPad *pad = gst_element_get_static_pad(src, "src");
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, keep_pool, &kept, NULL);
		gst_object_unref(pad);
	}
	struct holder h = {0};
	GThread *holder = v == HELD ? g_thread_new("holder", hold_frames, &h) : NULL;
	uint64_t n = 0;
	for (guint round = 0; round < 8; round++)
		for (guint k = 0; k < (v == GROWN && round >= 3 ? total : first); k++) {
			n++;
			REQUIRE(gst_app_src_push_buffer(GST_APP_SRC(src), take(&up, k, n)) ==
				GST_FLOW_OK);
		}
	/* The topic as it is before the end. */
	for (int t = 0; t < 500 && get_u64(sink, "published") + get_u64(sink, "unpublished") +
					   get_u64(sink, "copies") <
				       n;
	     t++)
		g_usleep(10000);
	struct px_topic_info info = {0};
	if (v != HELD)
		REQUIRE_OK(px_topic_query(dir, topic, 2000, &info, NULL, NULL, NULL));
	REQUIRE(gst_app_src_end_of_stream(GST_APP_SRC(src)) == GST_FLOW_OK);
	guint warned, told, relearned;
	wait_eos_counting(pipeline, "unpublished", &warned, "cannot be the pool", &told);
	relearned = 0;
	guint64 published = get_u64(sink, "published"), copies = get_u64(sink, "copies");
	guint64 unpublished = get_u64(sink, "unpublished");
	if (v == KEPT_POOL)
		REQUIRE(kept);
	if (kept) {
		REQUIRE(gst_buffer_pool_set_active(kept, FALSE));
		gst_object_unref(kept);
	}
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE);
	if (holder)
		g_thread_join(holder);
	printf("%s: %llu pushed; %llu published, %llu copied, %llu not published; topic: %u "
	       "slots of %s%s\n",
	       topic, (unsigned long long)n, (unsigned long long)published,
	       (unsigned long long)copies, (unsigned long long)unpublished, info.pool_size,
	       info.allocator == PX_ALLOCATOR_EXTERNAL ? "upstream's buffers" : "its own",
	       v == HELD ? "" : " (queried)");
	switch (v) {
	case HELD:
		/* Every buffer came back in time: nothing waited 10 s in take(). */
		REQUIRE_EQ(published, n - POOL);
		REQUIRE_EQ(copies, 0);
		REQUIRE(g_atomic_int_get(&h.frames) > 0);
		printf("held: the holder got %d frames, each held 20 ms\n",
		       g_atomic_int_get(&h.frames));
		break;
	case TOO_FEW:
	case KEPT_POOL:
		/* Refused (said once), then copied; the frames seen while
		 * learning (none where the pool was refused at once) lost. */
		REQUIRE_EQ(told, 1);
		REQUIRE_EQ(info.allocator, PX_ALLOCATOR_MEMFD);
		REQUIRE_EQ(copies, published);
		REQUIRE_EQ(published + unpublished, n);
		REQUIRE_EQ(unpublished, v == TOO_FEW ? 4 : 0);
		break;
	case GROWN:
		/* 3 buffers outside the pool of 5, then learned again: 7. */
		REQUIRE_EQ(info.allocator, PX_ALLOCATOR_EXTERNAL);
		REQUIRE_EQ(info.pool_size, 7);
		REQUIRE_EQ(copies, 0);
		REQUIRE_EQ(published + unpublished, n);
		REQUIRE_EQ(warned, 1);
		break;
	}
	(void)relearned;
	gst_object_unref(src);
	gst_object_unref(sink);
	gst_object_unref(pipeline);
	for (guint k = 0; k < up.n; k++)
		REQUIRE(up.free[k]);
	upstream_clear(&up);
}

/* --- vivid through v4l2src io-mode=dmabuf (the guest). --- */

/* The first vivid capture device. */
static gchar *find_vivid(void)
{
	glob_t g;
	gchar *dev = NULL;
	if (glob("/sys/class/video4linux/video*/name", 0, NULL, &g))
		return NULL;
	for (size_t i = 0; i < g.gl_pathc && !dev; i++) {
		gchar *name = NULL;
		if (g_file_get_contents(g.gl_pathv[i], &name, NULL, NULL) &&
		    g_str_has_prefix(name, "vivid-") && strstr(name, "vid-cap")) {
			gchar *node = g_path_get_dirname(g.gl_pathv[i]);
			dev = g_strdup_printf("/dev/%s", strrchr(node, '/') + 1);
			g_free(node);
		}
		g_free(name);
	}
	globfree(&g);
	return dev;
}

/* The exporter of dma-buf `fd`, as /proc/self/fdinfo names it. */
static gchar *exporter(int fd)
{
	gchar *path = g_strdup_printf("/proc/self/fdinfo/%d", fd), *text = NULL, *name = NULL;
	if (g_file_get_contents(path, &text, NULL, NULL)) {
		const char *p = strstr(text, "exp_name:");
		if (p) {
			p += strlen("exp_name:");
			while (*p == ' ' || *p == '\t')
				p++;
			name = g_strndup(p, strcspn(p, "\n"));
		}
	}
	g_free(text);
	g_free(path);
	return name;
}

struct camera_check {
	guint pool, frames;
	gchar *exp_name;
	gint done;
};

static gpointer check_camera(gpointer data)
{
	struct camera_check *c = data;
	struct px_subscriber_params sp = {
	    .topic = "camera",
	    .dir = dir,
	    .qos = PX_QOS_LATEST,
	    .max_leases = 1,
	    .name = "checker",
	    .flags = PX_SUBSCRIBER_NO_RECONNECT,
	    .connect_timeout_ms = 2000,
	};
	struct px_topic_info info;
	struct px_subscriber *sub = subscribe_when(&sp, PX_ALLOCATOR_EXTERNAL, &info);
	REQUIRE(info.dmabuf);
	c->pool = info.pool_size;
	for (;;) {
		struct px_frame *f;
		int ret = px_subscriber_receive(sub, &f, 10000);
		if (ret == -EPIPE)
			break;
		REQUIRE_OK(ret);
		REQUIRE(f->dmabuf);
		gchar *name = exporter(f->buffers[0].fd);
		REQUIRE(name);
		if (!c->exp_name)
			c->exp_name = g_strdup(name);
		REQUIRE(strcmp(name, c->exp_name) == 0);
		g_free(name);
		/* vivid's test pattern: not a blank buffer. */
		const uint8_t *p = f->buffers[0].data;
		REQUIRE(p);
		gboolean varied = FALSE;
		for (size_t k = 1; k < 640 * 2 && !varied; k++)
			varied = p[k] != p[0];
		REQUIRE(varied);
		c->frames++;
		px_frame_release(f);
	}
	px_subscriber_destroy(sub);
	return NULL;
}

static void run_camera(const char *device)
{
	gchar *dev = g_strcmp0(device, "auto") ? g_strdup(device) : find_vivid();
	if (!dev) {
		printf("SKIP v4l2: no vivid capture device here (the vm tier has one)\n");
		exit(77);
	}
	gchar *desc = g_strdup_printf(
	    "v4l2src device=%s io-mode=dmabuf num-buffers=90 ! "
	    "video/x-raw,format=YUY2,width=640,height=360 ! "
	    "pixsharesink name=sink topic=camera dir=%s wait-subscribers=1",
	    dev, dir);
	GstElement *pipeline = launch(desc);
	g_free(desc);
	GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
	struct camera_check c = {0};
	GThread *checker = g_thread_new("checker", check_camera, &c);
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
	wait_eos(pipeline);
	guint64 published = get_u64(sink, "published"), in_place = get_u64(sink, "in-place");
	guint64 copies = get_u64(sink, "copies"), unpublished = get_u64(sink, "unpublished");
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE);
	g_thread_join(checker);
	printf("v4l2: %s through v4l2src io-mode=dmabuf: a pool of %u of its dma-bufs "
	       "(exporter %s); %llu published, %llu in place, %llu copied, %llu not published "
	       "(learning); subscriber got %u frames\n",
	       dev, c.pool, c.exp_name ? c.exp_name : "?", (unsigned long long)published,
	       (unsigned long long)in_place, (unsigned long long)copies,
	       (unsigned long long)unpublished, c.frames);
	REQUIRE_EQ(copies, 0);
	REQUIRE_EQ(in_place, published);
	REQUIRE_EQ(published + unpublished, 90);
	REQUIRE_EQ(unpublished, c.pool);
	REQUIRE(c.pool >= 3);
	REQUIRE(c.frames > 0);
	/* videobuf2's own dma-bufs, not a copy's. */
	REQUIRE(c.exp_name && strstr(c.exp_name, "videobuf2"));
	g_free(c.exp_name);
	gst_object_unref(sink);
	gst_object_unref(pipeline);
	g_free(dev);
}

int main(int argc, char **argv)
{
	const char *v4l2 = NULL;
	gst_init(&argc, &argv);
	for (int a = 1; a < argc; a++) {
		if (g_str_has_prefix(argv[a], "--v4l2="))
			v4l2 = argv[a] + 7;
		else {
			fprintf(stderr, "usage: test_gst_upstream [--v4l2=auto|/dev/videoN]\n");
			return 2;
		}
	}
	snprintf(dir, sizeof(dir), "/tmp/px-gst-upstream-%d", (int)getpid());
	if (v4l2) {
		run_camera(v4l2);
	} else {
		run_pool("dmabuf-caps", TRUE, TRUE);
		run_pool("fd-memory", FALSE, TRUE);
		run_pool("unsealed", TRUE, FALSE);
		run_variant(HELD);
		run_variant(TOO_FEW);
		run_variant(KEPT_POOL);
		run_variant(GROWN);
	}
	remove_dir(dir);
	printf("upstream: ok\n");
	return 0;
}
