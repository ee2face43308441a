/* SPDX-License-Identifier: MIT */
/*
 * GStreamer's shared-memory elements in bench_compare (gst-plugins-bad
 * sys/shm): `appsrc ! shmsink` in the publisher, `shmsrc ! appsink` in each
 * subscriber, set up as fairly as GStreamer allows:
 *
 * - Zero copy: shmsink answers the ALLOCATION query with its own allocator,
 *   whose memory lies in the area it shares (gstshmsink.c,
 *   gst_shm_sink_propose_allocation()); a buffer of that memory is sent as it
 *   is, any other is copied in render(). The publisher asks for it once and
 *   allocates each set from it; shmsrc wraps the area without a copy.
 * - The area holds 2 + 3 × subscribers sets, pixshare's default pool rule
 *   (2 + subscribers × (2 leases + 1)) for the run's subscribers. A set
 *   stays in it until every subscriber has released it. shmsink never drops and
 *   never blocks the zero-copy path: when the area is full its allocator
 *   quietly falls back to heap memory, which render() would copy in, waiting
 *   for room. Latest-frame runs count such a set as missed; reliable runs
 *   wait until a sent set is released and allocate again, which is
 *   shmsink's own blocking without its copy.
 * - appsrc queues one set at most and blocks beyond (max-buffers=1,
 *   block=true); shmsink and appsink sync=false; appsink max-buffers=1,
 *   drop=true (drop=false in reliable runs); no element keeps a last sample
 *   (it would hold a set in the area). shmsink wait-for-connection=false:
 *   the publisher waits for the n clients (client-connected) itself.
 *
 * gst_init() runs in each process after fork(); `available` checks in a
 * child of its own, so the parent never initialises GStreamer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "bench/compare/compare.h"

#define SOCKET_FILE "gst-shm.sock"
/* Made once shmsink listens: a shmsrc that connects between shmsink's
 * bind() and listen() fails, and its error path trips a GStreamer-CRITICAL
 * (gstshmsrc.c, gst_shm_pipe_dec() before the poll fd is set). */
#define READY_FILE "gst-shm.ready"
#define WAIT_S 10	/* for the socket, the clients, a released set */
#define END_WAIT_S 5	/* for the subscribers to leave after the last set */
#define ALIGN 63	/* 64-byte aligned sets, as pixshare's */
#define SLOT_SLACK 4096 /* alignment room in each set's share of the area */

static const struct {
	const char *name, *package;
} elements[] = {
    {"appsrc", "gstreamer1.0-plugins-base"},
    {"appsink", "gstreamer1.0-plugins-base"},
    {"shmsink", "gstreamer1.0-plugins-bad"},
    {"shmsrc", "gstreamer1.0-plugins-bad"},
};

static void check_child(int fd)
{
	char msg[256] = "";
	GError *err = NULL;
	if (!gst_init_check(NULL, NULL, &err)) {
		snprintf(msg, sizeof(msg), "gst_init: %s", err ? err->message : "failed");
	} else {
		for (size_t i = 0; i < sizeof(elements) / sizeof(elements[0]); i++) {
			GstElementFactory *f = gst_element_factory_find(elements[i].name);
			if (!f) {
				snprintf(msg, sizeof(msg), "GStreamer element %s missing (%s)",
					 elements[i].name, elements[i].package);
				break;
			}
			gst_object_unref(f);
		}
	}
	ssize_t n = write(fd, msg, strlen(msg));
	_exit(n < 0 || msg[0] ? 1 : 0);
}

static int available(char *why, size_t len)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC)) {
		int err = errno;
		snprintf(why, len, "pipe: %s", strerror(err));
		return -err;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		snprintf(why, len, "fork: %s", strerror(err));
		close(fds[0]);
		close(fds[1]);
		return -err;
	}
	if (pid == 0) {
		close(fds[0]);
		check_child(fds[1]);
	}
	close(fds[1]);
	char msg[256];
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(msg) - 1 && ((n = read(fds[0], msg + got, sizeof(msg) - 1 - got)) > 0 ||
					 (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	msg[got] = 0;
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (msg[0])
		snprintf(why, len, "%s", msg);
	else
		snprintf(why, len, "the GStreamer check failed (status %d)", status);
	return -ENOENT;
}

static int init(struct cmp_ctx *c)
{
	GError *err = NULL;
	if (gst_init_check(NULL, NULL, &err))
		return 0;
	cmp_fail(c, "gst_init: %s", err ? err->message : "failed");
	g_clear_error(&err);
	return -1;
}

/* The first error on the pipeline's bus, as cmp_fail() would word it; false
 * when there is none. */
static bool bus_error(GstElement *pipeline, char *msg, size_t len)
{
	GstBus *bus = gst_element_get_bus(pipeline);
	GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
	gst_object_unref(bus);
	if (!m)
		return false;
	GError *err = NULL;
	gchar *debug = NULL;
	gst_message_parse_error(m, &err, &debug);
	snprintf(msg, len, "%s: %s (%s)", GST_OBJECT_NAME(GST_MESSAGE_SRC(m)),
		 err ? err->message : "error", debug ? debug : "no details");
	g_clear_error(&err);
	g_free(debug);
	gst_message_unref(m);
	return true;
}

static GstElement *make(struct cmp_ctx *c, GstElement *bin, const char *factory)
{
	GstElement *e = gst_element_factory_make(factory, NULL);
	if (!e) {
		cmp_fail(c, "gst_element_factory_make(%s) failed", factory);
		return NULL;
	}
	gst_bin_add(GST_BIN(bin), e);
	return e;
}

struct pub {
	struct cmp_ctx *c;
	GstElement *pipeline, *appsrc, *shmsink;
	GstAllocator *allocator;
	GstAllocationParams params;
	GMutex lock;
	GCond cond;
	/* Under lock: client-connected and client-disconnected signals, and
	 * sets released by every subscriber (reliable runs). */
	uint32_t connected, disconnected;
	uint64_t released;
	uint64_t full; /* sets the area had no room for at first */
};

static void on_connected(GstElement *sink, gint fd, gpointer data)
{
	struct pub *s = data;
	(void)sink;
	(void)fd;
	g_mutex_lock(&s->lock);
	s->connected++;
	g_cond_broadcast(&s->cond);
	g_mutex_unlock(&s->lock);
}

static void on_disconnected(GstElement *sink, gint fd, gpointer data)
{
	struct pub *s = data;
	(void)sink;
	(void)fd;
	g_mutex_lock(&s->lock);
	s->disconnected++;
	g_cond_broadcast(&s->cond);
	g_mutex_unlock(&s->lock);
}

/* A sent set's GstBuffer is finalised once every subscriber acked it
 * (shmsink's poll thread drops the last reference); its area block is
 * freed right after. */
static void on_released(gpointer data, GstMiniObject *obj)
{
	struct pub *s = data;
	(void)obj;
	g_mutex_lock(&s->lock);
	s->released++;
	g_cond_broadcast(&s->cond);
	g_mutex_unlock(&s->lock);
}

/* Waits until *count reaches *n, at most `seconds`; returns *count. */
static uint32_t wait_count(struct pub *s, const uint32_t *count, const uint32_t *n, int seconds)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)seconds * G_TIME_SPAN_SECOND;
	g_mutex_lock(&s->lock);
	while (*count < *n && g_cond_wait_until(&s->cond, &s->lock, deadline))
		;
	uint32_t now = *count;
	g_mutex_unlock(&s->lock);
	return now;
}

static int build_publisher(struct pub *s, const char *path, guint shm_size)
{
	struct cmp_ctx *c = s->c;
	s->pipeline = gst_pipeline_new("publisher");
	if (!(s->appsrc = make(c, s->pipeline, "appsrc")) ||
	    !(s->shmsink = make(c, s->pipeline, "shmsink")))
		return -1;
	GstCaps *caps = gst_caps_new_simple(
	    "application/x-camera-set", "images", G_TYPE_INT, (int)c->p->n_images, "width",
	    G_TYPE_INT, (int)c->p->width, "height", G_TYPE_INT, (int)c->p->height, NULL);
	GstAppSrc *appsrc = GST_APP_SRC(s->appsrc);
	gst_app_src_set_caps(appsrc, caps);
	gst_caps_unref(caps);
	gst_app_src_set_stream_type(appsrc, GST_APP_STREAM_TYPE_STREAM);
	gst_app_src_set_max_buffers(appsrc, 1);
	gst_app_src_set_max_bytes(appsrc, 0);
	gst_app_src_set_max_time(appsrc, 0);
	g_object_set(s->appsrc, "is-live", TRUE, "block", TRUE, "format", GST_FORMAT_TIME,
		     "emit-signals", FALSE, NULL);
	g_object_set(s->shmsink, "socket-path", path, "shm-size", shm_size, "wait-for-connection",
		     FALSE, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, NULL);
	g_signal_connect(s->shmsink, "client-connected", G_CALLBACK(on_connected), s);
	g_signal_connect(s->shmsink, "client-disconnected", G_CALLBACK(on_disconnected), s);
	if (!gst_element_link(s->appsrc, s->shmsink))
		return cmp_fail(c, "cannot link appsrc to shmsink");

	/* shmsink creates the socket and the area in READY → PAUSED. */
	char msg[160];
	if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
		return cmp_fail(c, "shmsink at %s did not start: %s", path,
				bus_error(s->pipeline, msg, sizeof(msg)) ? msg : "no error posted");
	return 0;
}

/* shmsink's allocator, from its answer to an ALLOCATION query. */
static int query_allocator(struct pub *s)
{
	struct cmp_ctx *c = s->c;
	GstPad *pad = gst_element_get_static_pad(s->appsrc, "src");
	GstCaps *caps = gst_app_src_get_caps(GST_APP_SRC(s->appsrc));
	GstQuery *q = gst_query_new_allocation(caps, FALSE);
	bool ok = gst_pad_peer_query(pad, q);
	for (guint i = 0; ok && !s->allocator && i < gst_query_get_n_allocation_params(q); i++)
		gst_query_parse_nth_allocation_param(q, i, &s->allocator, &s->params);
	gst_query_unref(q);
	gst_caps_unref(caps);
	gst_object_unref(pad);
	if (!ok)
		return cmp_fail(c, "shmsink did not answer the ALLOCATION query");
	if (!s->allocator)
		return cmp_fail(c, "shmsink proposed no allocator");
	s->params.align |= ALIGN;
	return 0;
}

/* One set's buffer in the shared area; NULL when the area is full (latest
 * runs), or after cmp_fail() (reliable runs that waited too long). */
static GstBuffer *alloc_set(struct pub *s, bool wait)
{
	struct cmp_ctx *c = s->c;
	gint64 deadline = g_get_monotonic_time() + WAIT_S * G_TIME_SPAN_SECOND;
	bool full = false;
	int quick = 0;
	for (;;) {
		g_mutex_lock(&s->lock);
		uint64_t seen = s->released;
		g_mutex_unlock(&s->lock);
		GstBuffer *buf = gst_buffer_new_allocate(s->allocator, c->p->set_bytes, &s->params);
		if (!buf) {
			cmp_fail(c, "gst_buffer_new_allocate(%zu) failed", c->p->set_bytes);
			return NULL;
		}
		if (gst_buffer_n_memory(buf) == 1 &&
		    gst_buffer_peek_memory(buf, 0)->allocator == s->allocator) {
			if (wait)
				gst_mini_object_weak_ref(GST_MINI_OBJECT_CAST(buf), on_released, s);
			return buf;
		}
		/* The allocator's heap fallback: the area is full. */
		gst_buffer_unref(buf);
		if (!full)
			s->full++;
		full = true;
		if (!wait)
			return NULL;
		gint64 now = g_get_monotonic_time();
		if (now > deadline) {
			cmp_fail(c, "no set released by the subscribers in %d s", WAIT_S);
			return NULL;
		}
		/* A release is signalled just before its block is freed, in
		 * the same thread: a few quick retries after one. */
		if (quick > 0) {
			quick--;
			g_usleep(10);
			continue;
		}
		g_mutex_lock(&s->lock);
		while (s->released == seen &&
		       g_cond_wait_until(&s->cond, &s->lock, now + 100 * G_TIME_SPAN_MILLISECOND))
			;
		quick = s->released != seen ? 20 : 0;
		g_mutex_unlock(&s->lock);
	}
}

static int publish(struct pub *s, bool wait)
{
	struct cmp_ctx *c = s->c;
	char msg[160];
	while (cmp_pub_next(c)) {
		if (bus_error(s->pipeline, msg, sizeof(msg)))
			return cmp_fail(c, "%s", msg);
		GstBuffer *buf = alloc_set(s, wait);
		if (!buf) {
			if (wait)
				return -1;
			cmp_pub_missed(c);
			continue;
		}
		GstMapInfo map;
		if (!gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
			gst_buffer_unref(buf);
			return cmp_fail(c,
					"cannot map a buffer of shmsink's allocator for writing");
		}
		uint8_t *images[CMP_MAX_IMAGES];
		for (uint32_t i = 0; i < c->p->n_images; i++)
			images[i] = map.data + i * c->p->image_bytes;
		cmp_camera_write(c, images, c->p->n_images);
		gst_buffer_unmap(buf, &map);
		GstFlowReturn ret = gst_app_src_push_buffer(GST_APP_SRC(s->appsrc), buf);
		if (ret != GST_FLOW_OK)
			return cmp_fail(c, "gst_app_src_push_buffer: %s", gst_flow_get_name(ret));
		cmp_pub_sent(c);
	}
	return 0;
}

static void describe(struct pub *s, guint shm_size, uint32_t sets)
{
	snprintf(s->c->sh->pub.detail, sizeof(s->c->sh->pub.detail),
		 "allocator %s from shmsink's ALLOCATION answer; shm-size %.1f MB (%u sets), "
		 "found full by %llu sets",
		 G_OBJECT_TYPE_NAME(s->allocator), shm_size / 1e6, sets,
		 (unsigned long long)s->full);
}

static int publisher(struct cmp_ctx *c)
{
	struct pub s = {.c = c};
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], ready[PATH_MAX];
	if (init(c) || cmp_run_path(c, SOCKET_FILE, path, sizeof(path)) ||
	    cmp_run_path(c, READY_FILE, ready, sizeof(ready)))
		return -1;
	g_mutex_init(&s.lock);
	g_cond_init(&s.cond);

	size_t slot = c->p->set_bytes + SLOT_SLACK;
	uint32_t sets = 2 + 3 * c->p->n_subs;
	if ((size_t)sets * slot > UINT_MAX)
		sets = (uint32_t)(UINT_MAX / slot);
	guint shm_size = (guint)(sets * slot);
	bool wait = c->p->rate == 0 && c->p->reliable, made_ready = false;
	int ret = -1, fd;

	if (sets < 2) {
		cmp_fail(c, "a set of %zu bytes does not fit twice into shmsink's area (4 GiB)",
			 c->p->set_bytes);
		goto out;
	}
	if (build_publisher(&s, path, shm_size) || query_allocator(&s))
		goto out;
	if ((fd = open(ready, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		cmp_fail(c, "%s: %s", ready, strerror(errno));
		goto out;
	}
	close(fd);
	made_ready = true;
	describe(&s, shm_size, sets);
	if (cmp_pub_wait_subscribers(c, 0))
		goto out;
	uint32_t clients = wait_count(&s, &s.connected, &c->p->n_subs, WAIT_S);
	if (clients < c->p->n_subs) {
		cmp_fail(c, "shmsink reported %u of %u clients in %d s", clients, c->p->n_subs,
			 WAIT_S);
		goto out;
	}

	cmp_pub_begin(c);
	if (publish(&s, wait))
		goto out;
	cmp_pub_end(c);
	ret = 0;
	describe(&s, shm_size, sets);
	/* The subscribers read the last sets, then leave; shmsink closing
	 * the socket under them would be an error on their side. */
	gst_app_src_end_of_stream(GST_APP_SRC(s.appsrc));
	wait_count(&s, &s.disconnected, &s.connected, END_WAIT_S);
out:
	if (made_ready)
		unlink(ready);
	if (s.pipeline) {
		gst_element_set_state(s.pipeline, GST_STATE_NULL);
		gst_object_unref(s.pipeline);
	}
	if (s.allocator)
		gst_object_unref(s.allocator);
	g_cond_clear(&s.cond);
	g_mutex_clear(&s.lock);
	return ret;
}

static GstElement *build_subscriber(struct cmp_ctx *c, const char *path, GstElement **appsink)
{
	GstElement *pipeline = gst_pipeline_new("subscriber"), *src;
	if (!(src = make(c, pipeline, "shmsrc")) || !(*appsink = make(c, pipeline, "appsink"))) {
		gst_object_unref(pipeline);
		return NULL;
	}
	bool reliable = c->p->rate == 0 && c->p->reliable;
	g_object_set(src, "socket-path", path, "is-live", TRUE, NULL);
	g_object_set(*appsink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE,
		     "max-buffers", 1u, "drop", !reliable, "emit-signals", FALSE, "wait-on-eos",
		     FALSE, NULL);
	if (!gst_element_link(src, *appsink)) {
		gst_object_unref(pipeline);
		cmp_fail(c, "cannot link shmsrc to appsink");
		return NULL;
	}
	return pipeline;
}

/* A subscriber pipeline connected to the publisher's socket, which may not
 * be there yet: shmsrc connects in PAUSED → PLAYING. Tried once shmsink
 * listens (READY_FILE), and again while it fails. */
static GstElement *connect_subscriber(struct cmp_ctx *c, const char *path, const char *ready,
				      GstElement **appsink)
{
	uint64_t deadline = cmp_now_ns() + WAIT_S * CMP_NS_PER_S;
	char msg[160] = "shmsink did not start listening";
	for (;;) {
		bool listening = access(ready, F_OK) == 0;
		if (listening) {
			GstElement *pipeline = build_subscriber(c, path, appsink);
			if (!pipeline)
				return NULL;
			if (gst_element_set_state(pipeline, GST_STATE_PLAYING) !=
			    GST_STATE_CHANGE_FAILURE)
				return pipeline;
			if (!bus_error(pipeline, msg, sizeof(msg)))
				snprintf(msg, sizeof(msg), "no error posted");
			gst_element_set_state(pipeline, GST_STATE_NULL);
			gst_object_unref(pipeline);
		}
		if (cmp_now_ns() > deadline) {
			cmp_fail(c, "shmsrc did not connect to %s in %d s: %s", path, WAIT_S, msg);
			return NULL;
		}
		g_usleep(listening ? 10000 : 1000);
	}
}

static int subscriber(struct cmp_ctx *c)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], ready[PATH_MAX], msg[160];
	GstElement *appsink;
	if (init(c) || cmp_run_path(c, SOCKET_FILE, path, sizeof(path)) ||
	    cmp_run_path(c, READY_FILE, ready, sizeof(ready)))
		return -1;
	GstElement *pipeline = connect_subscriber(c, path, ready, &appsink);
	if (!pipeline)
		return -1;
	cmp_sub_ready(c);
	int ret = 0;
	while (!cmp_sub_done(c)) {
		GstSample *sample =
		    gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), CMP_POLL_MS * GST_MSECOND);
		if (sample) {
			GstBuffer *buf = gst_sample_get_buffer(sample);
			GstMapInfo map;
			if (!buf || !gst_buffer_map(buf, &map, GST_MAP_READ)) {
				gst_sample_unref(sample);
				ret = cmp_fail(c, "cannot map a received buffer");
				break;
			}
			if (map.size < c->p->set_bytes) {
				ret = cmp_fail(c, "a buffer of %zu bytes; a set has %zu", map.size,
					       c->p->set_bytes);
			} else {
				const uint8_t *images[CMP_MAX_IMAGES];
				for (uint32_t i = 0; i < c->p->n_images; i++)
					images[i] = map.data + i * c->p->image_bytes;
				cmp_sub_set(c, images, c->p->n_images);
			}
			gst_buffer_unmap(buf, &map);
			gst_sample_unref(sample);
			if (ret)
				break;
			continue;
		}
		/* Once the publisher has ended, its going away is no error:
		 * what did not come by then is counted as lost. */
		bool ended = __atomic_load_n(&c->sh->pub_done, __ATOMIC_ACQUIRE);
		if (bus_error(pipeline, msg, sizeof(msg))) {
			if (!ended)
				ret = cmp_fail(c, "%s", msg);
			break;
		}
		if (gst_app_sink_is_eos(GST_APP_SINK(appsink))) {
			if (!ended)
				ret = cmp_fail(c, "the stream ended before the publisher did");
			break;
		}
	}
	gst_element_set_state(pipeline, GST_STATE_NULL);
	gst_object_unref(pipeline);
	return ret;
}

const struct cmp_transport cmp_gst_shm = {
    .name = "gst-shm",
    .settings = "GStreamer appsrc ! shmsink, shmsrc is-live=true ! appsink; sets allocated "
		"from shmsink's own allocator (zero copy), shm-size 2 + 3 × subscribers sets, "
		"area full: set missed (reliable: waits for a release); appsrc max-buffers=1 "
		"block=true; shmsink wait-for-connection=false; appsink max-buffers=1 drop=true "
		"(drop=false reliable); sync=false; no last-sample",
    .multi = true,
    .available = available,
    .publisher = publisher,
    .subscriber = subscriber,
};
