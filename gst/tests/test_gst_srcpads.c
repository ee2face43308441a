/* SPDX-License-Identifier: MIT */
/*
 * pixsharesrc image-index=-1: every image of a set on its own src_%u pad.
 * A publisher of 3 images per set (YUYV, NV12, GRAY8 at odd sizes, rows
 * padded to 64 bytes) runs in a child process, forked before GStreamer
 * starts, and publishes SETS sets of random bytes, one of them without
 * image 1.
 *
 *   appsinks  the pads linked on pad-added to three queue ! appsink
 *             branches (one streaming thread feeds all pads: as after a
 *             demuxer, each sink prerolls in its own thread): every buffer
 *             pixel-exact against what was published for its image and set,
 *             the layout's strides in its GstVideoMeta, its memory a
 *             read-only memfd mapping (the publisher's, not a copy), each
 *             image stamped with its own capture time; a GAP event where
 *             the set lacked the image; EOS on every pad when the
 *             publisher ends
 *   parse     gst_parse_launch with delayed links of s.src_0 and s.src_2
 *             (src_1 left unlinked) runs to EOS
 *   reconnect a restarted publisher whose image 0 is another format: src_0
 *             renegotiates, the others go on; then one with 2 images per
 *             set: the element error that says the sets changed shape
 *
 * test_gst_srcpads [--seed=N] [--list] [SUITE…]; GST_PLUGIN_PATH must name
 * the plugin's directory (CTest sets it). No fd may be left open.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <pixshare/pixshare.h>

#include "gst/tests/gst_testutil.h"
#include "tests/px_test.h"

#define SETS 12
#define N_IMAGES 3
#define MISSING_SET 6 /* published without image MISSING_IMAGE */
#define MISSING_IMAGE 1
#define CAPTURE_STEP_NS 3000000 /* image i captured i × 3 ms before image 0 */

static const struct px_image_desc descs[N_IMAGES] = {
    {PX_FORMAT_YUYV, 70, 48},
    {PX_FORMAT_NV12, 34, 26},
    {PX_FORMAT_R8, 41, 31},
};

static char dir[64];
static uint64_t seed;

/* The byte at `x` of row `row` of plane `plane` of image `image` of set
 * `seq`: random, and the same in both processes. */
static uint8_t byte_at(uint64_t seq, uint32_t image, uint32_t plane, uint32_t row, uint32_t x)
{
	uint64_t z = seed ^ (seq << 48) ^ ((uint64_t)image << 44) ^ ((uint64_t)plane << 40) ^
		     ((uint64_t)row << 20) ^ x;
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint8_t)((z ^ (z >> 31)) >> 56);
}

/*
 * Publishes `sets` sets of the images `d` (`n` of them) to `topic` once a
 * subscriber streams (set `missing_set` without image MISSING_IMAGE; 0:
 * none), waits until all are sent to it, and ends the topic (its sinks keep
 * the last set until they stop). REQUIRE()s the rest.
 */
static void publish(const char *topic, const struct px_image_desc *d, uint32_t n, uint64_t sets,
		    uint64_t missing_set)
{
	struct px_set_layout layout;
	struct px_publisher *pub;
	struct px_publisher_stats st;
	REQUIRE_OK(px_layout_init_packed(&layout, n, d, 64, PX_PACK_PER_IMAGE));
	/* A sink keeps its last buffer (appsink its last sample, fakesink
	 * its last-sample): after the set without image 1, src_1's sink
	 * holds the set before while the others hold that set. Two leases
	 * for good, and a third for the stream to go on. */
	struct px_publisher_params params = {.topic = topic,
					     .dir = dir,
					     .layout = &layout,
					     .allocator = PX_ALLOCATOR_MEMFD,
					     .max_leases = 4};
	REQUIRE_OK(px_publisher_create(&params, &pub));
	int waited = 0;
	do {
		px_publisher_dispatch(pub, 10);
		REQUIRE_OK(px_publisher_get_stats(pub, &st));
		REQUIRE(++waited < 3000); /* 30 s */
	} while (st.n_subscribers < 1);
	/* Served meanwhile: the source's rate query, and its pipeline goes
	 * to PLAYING, so that capture times come after its base time. */
	for (int i = 0; i < 30; i++)
		px_publisher_dispatch(pub, 10);

	const struct px_set_layout *real = px_publisher_get_layout(pub);
	for (uint64_t seq = 1; seq <= sets; seq++) {
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 10000, &slot));
		struct px_publish_info info = {0};
		uint64_t now = px_now_ns();
		for (uint32_t i = 0; i < n; i++) {
			info.images[i].timestamp_ns = now - (uint64_t)i * CAPTURE_STEP_NS;
			info.images[i].sequence = seq;
			if (seq == missing_set && i == MISSING_IMAGE)
				continue;
			info.valid_mask |= 1u << i;
			const struct px_image_layout *im = &real->images[i];
			for (uint32_t p = 0; p < im->n_planes; p++) {
				uint8_t *plane = px_slot_plane(slot, i, p);
				REQUIRE(plane);
				for (uint32_t r = 0; r < px_image_plane_rows(im, p); r++)
					for (uint32_t x = 0; x < px_image_row_bytes(im, p); x++)
						plane[(size_t)r * im->planes[p].stride + x] =
						    byte_at(seq, i, p, r, x);
			}
		}
		REQUIRE_OK(px_publisher_publish(pub, slot, &info));
		px_publisher_dispatch(pub, 20);
	}
	struct px_subscriber_info si = {0};
	waited = 0;
	do {
		px_publisher_dispatch(pub, 10);
		REQUIRE_OK(px_publisher_get_subscriber(pub, 0, &si));
		if (++waited == 1500) { /* 15 s */
			fprintf(stderr,
				"%s: %" PRIu64 " of %" PRIu64
				" sets sent to the subscriber in 15 s (%" PRIu64
				" released, %u held, %u pending)\n",
				topic, si.delivered, sets, si.released, si.leases, si.pending);
			exit(1);
		}
	} while (si.delivered < sets || si.pending);
	px_publisher_destroy(pub);
}

/* The publishers, by suite; 0 once reaped. */
static pid_t children[3];

/* Forks a publisher. Before GStreamer starts threads, and before the
 * parent's atexit(). The child exits 0, or 1 on a failure. */
static pid_t fork_publisher(const char *topic, uint64_t missing_set)
{
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		publish(topic, descs, N_IMAGES, SETS, missing_set);
		exit(0);
	}
	return pid;
}

#define RECONNECT_SETS 3

/* The reconnect suite's publishers, one after the other. */
static pid_t fork_restarting_publisher(const char *topic)
{
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct px_image_desc other[N_IMAGES];
		memcpy(other, descs, sizeof(other));
		other[0].fourcc = PX_FORMAT_XRGB8888;
		publish(topic, descs, N_IMAGES, RECONNECT_SETS, 0);
		publish(topic, other, N_IMAGES, RECONNECT_SETS, 0);
		publish(topic, descs, N_IMAGES - 1, 1, 0);
		exit(0);
	}
	return pid;
}

static void reap(pid_t *pid, const char *what)
{
	int status;
	REQUIRE(waitpid(*pid, &status, 0) == *pid);
	*pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "%s: the publisher failed (status 0x%x)\n", what, status);
		exit(1);
	}
}

/* The publisher's layout, once its topic answers. */
static void query_layout(const char *topic, struct px_set_layout *layout)
{
	for (int i = 0; i < 200; i++) {
		if (!px_topic_query(dir, topic, 1000, NULL, layout, NULL, NULL))
			return;
		g_usleep(50000);
	}
	fprintf(stderr, "topic %s did not appear in 10 s\n", topic);
	exit(1);
}

/* Whether [addr, addr + size) lies in one mapping of a memfd that this
 * process cannot write. */
static bool in_readonly_memfd(const void *addr, size_t size)
{
	FILE *f = fopen("/proc/self/maps", "re");
	REQUIRE(f);
	char line[512];
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		char perms[8];
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &lo, &hi, perms) != 3)
			continue;
		if ((uintptr_t)addr < lo || (uintptr_t)addr >= hi)
			continue;
		found = (uintptr_t)addr + size <= hi && perms[1] == '-' &&
			strstr(line, "/memfd:") != NULL;
		break;
	}
	fclose(f);
	return found;
}

/* What one pad's appsink saw. Written by the streaming thread, read after
 * the pipeline's EOS. */
struct pad_seen {
	guint image;
	struct px_set_layout *layout;
	guint buffers, gaps, eos;
	guint64 last_seq, gap_after;
	GstClockTime pts[SETS + 1];
};

static struct px_set_layout layout;
static struct pad_seen seen[N_IMAGES];

/* Checks one buffer of image `ps->image`: its set's bytes, row by row
 * through its GstVideoMeta, which has the layout's strides, in read-only
 * memfd memory. */
static void check_buffer(struct pad_seen *ps, GstSample *sample)
{
	GstBuffer *buf = gst_sample_get_buffer(sample);
	const struct px_image_layout *im = &layout.images[ps->image];
	guint64 seq = GST_BUFFER_OFFSET(buf);
	guint64 want =
	    ps->last_seq + 1 + (ps->image == MISSING_IMAGE && ps->last_seq + 1 == MISSING_SET);
	if (seq != want) {
		fprintf(stderr, "src_%u: set %" G_GUINT64_FORMAT ", not %" G_GUINT64_FORMAT "\n",
			ps->image, seq, want);
		exit(1);
	}
	for (guint m = 0; m < gst_buffer_n_memory(buf); m++) {
		GstMemory *mem = gst_buffer_peek_memory(buf, m);
		GstMapInfo map;
		REQUIRE(GST_MEMORY_IS_READONLY(mem));
		REQUIRE(!gst_memory_map(mem, &map, GST_MAP_WRITE));
		REQUIRE(gst_memory_map(mem, &map, GST_MAP_READ));
		if (!in_readonly_memfd(map.data, map.size)) {
			fprintf(stderr,
				"src_%u: memory %u (%p, %zu bytes) is no read-only memfd "
				"mapping: copied?\n",
				ps->image, m, (void *)map.data, map.size);
			exit(1);
		}
		gst_memory_unmap(mem, &map);
	}
	GstVideoMeta *meta = gst_buffer_get_video_meta(buf);
	REQUIRE(meta);
	REQUIRE_EQ(meta->n_planes, im->n_planes);
	REQUIRE_EQ(meta->width, im->width);
	REQUIRE_EQ(meta->height, im->height);
	for (guint p = 0; p < im->n_planes; p++)
		REQUIRE_EQ(meta->stride[p], im->planes[p].stride);

	GstVideoInfo info;
	GstVideoFrame frame;
	REQUIRE(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
	REQUIRE(gst_video_frame_map(&frame, &info, buf, GST_MAP_READ));
	for (guint p = 0; p < im->n_planes; p++) {
		const guint8 *data = GST_VIDEO_FRAME_PLANE_DATA(&frame, p);
		gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p);
		for (uint32_t r = 0; r < px_image_plane_rows(im, p); r++)
			for (uint32_t x = 0; x < px_image_row_bytes(im, p); x++) {
				uint8_t got = data[(gsize)r * stride + x],
					exp = byte_at(seq, ps->image, p, r, x);
				if (got != exp) {
					fprintf(stderr,
						"src_%u, set %" G_GUINT64_FORMAT
						": plane %u row %u byte %u is 0x%02x, not 0x%02x\n",
						ps->image, seq, p, r, x, got, exp);
					exit(1);
				}
			}
	}
	gst_video_frame_unmap(&frame);
	ps->pts[seq] = GST_BUFFER_PTS(buf);
	ps->last_seq = seq;
	ps->buffers++;
}

static GstFlowReturn on_sample(GstAppSink *sink, gpointer data)
{
	GstSample *s = gst_app_sink_pull_sample(sink);
	REQUIRE(s);
	check_buffer(data, s);
	gst_sample_unref(s);
	return GST_FLOW_OK;
}

static GstPadProbeReturn on_event(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct pad_seen *ps = data;
	GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
	if (GST_EVENT_TYPE(ev) == GST_EVENT_GAP) {
		ps->gaps++;
		ps->gap_after = ps->last_seq;
	} else if (GST_EVENT_TYPE(ev) == GST_EVENT_EOS) {
		ps->eos++;
	}
	return GST_PAD_PROBE_OK;
}

static void on_pad_added(GstElement *src, GstPad *pad, gpointer data)
{
	GstElement **queues = data;
	guint i;
	REQUIRE(sscanf(GST_PAD_NAME(pad), "src_%u", &i) == 1 && i < N_IMAGES);
	GstPad *sinkpad = gst_element_get_static_pad(queues[i], "sink");
	REQUIRE_EQ(gst_pad_link(pad, sinkpad), GST_PAD_LINK_OK);
	gst_object_unref(sinkpad);
}

static void test_appsinks(void)
{
	const char *topic = "srcpads";
	query_layout(topic, &layout);
	GstElement *pipeline = gst_pipeline_new(NULL);
	GstElement *src = gst_element_factory_make("pixsharesrc", "src");
	REQUIRE(src);
	g_object_set(src, "topic", topic, "dir", dir, "image-index", -1, "qos", "reliable",
		     "reconnect", FALSE, "timeout", 10000, NULL);
	gst_bin_add(GST_BIN(pipeline), src);
	GstElement *sinks[N_IMAGES], *queues[N_IMAGES];
	GstAppSinkCallbacks callbacks = {.new_sample = on_sample};
	for (guint i = 0; i < N_IMAGES; i++) {
		seen[i] = (struct pad_seen){.image = i};
		sinks[i] = gst_element_factory_make("appsink", NULL);
		queues[i] = gst_element_factory_make("queue", NULL);
		REQUIRE(sinks[i] && queues[i]);
		g_object_set(sinks[i], "sync", FALSE, NULL);
		gst_app_sink_set_callbacks(GST_APP_SINK(sinks[i]), &callbacks, &seen[i], NULL);
		GstPad *pad = gst_element_get_static_pad(sinks[i], "sink");
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_event, &seen[i],
				  NULL);
		gst_object_unref(pad);
		gst_bin_add_many(GST_BIN(pipeline), queues[i], sinks[i], NULL);
		REQUIRE(gst_element_link(queues[i], sinks[i]));
	}
	g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), queues);
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
	wait_eos(pipeline);

	guint timed = 0;
	bool bad = false;
	for (guint i = 0; i < N_IMAGES; i++) {
		struct pad_seen *ps = &seen[i];
		guint want = i == MISSING_IMAGE ? SETS - 1 : SETS;
		if (ps->buffers != want || ps->eos != 1 || ps->gaps != (i == MISSING_IMAGE) ||
		    (i == MISSING_IMAGE && ps->gap_after != MISSING_SET - 1)) {
			fprintf(stderr,
				"src_%u: %u buffers (want %u), %u gaps after set %" G_GUINT64_FORMAT
				", %u EOS\n",
				i, ps->buffers, want, ps->gaps, ps->gap_after, ps->eos);
			bad = true;
		}
		REQUIRE(gst_app_sink_is_eos(GST_APP_SINK(sinks[i])));
	}
	if (bad)
		exit(1);
	/* Each image's own capture time: image i is i × 3 ms older than image
	 * 0 of its set (±1 ms), where neither precedes the pipeline's start. */
	for (guint64 seq = 1; seq <= SETS; seq++) {
		for (guint i = 1; i < N_IMAGES; i++) {
			GstClockTime a = seen[0].pts[seq], b = seen[i].pts[seq];
			if (!a || !b || !GST_CLOCK_TIME_IS_VALID(a) || !GST_CLOCK_TIME_IS_VALID(b))
				continue;
			gint64 diff = (gint64)a - (gint64)b - (gint64)i * CAPTURE_STEP_NS;
			if (diff < -1000000 || diff > 1000000) {
				fprintf(stderr,
					"set %" G_GUINT64_FORMAT ": src_%u's pts %" GST_TIME_FORMAT
					", src_0's %" GST_TIME_FORMAT "\n",
					seq, i, GST_TIME_ARGS(b), GST_TIME_ARGS(a));
				exit(1);
			}
			timed++;
		}
	}
	REQUIRE(timed >= SETS); /* of 2 × SETS − 1 pairs */
	REQUIRE_EQ(get_u64(src, "frames"), SETS);
	REQUIRE_EQ(get_u64(src, "dropped"), 0);
	GstStructure *stats;
	guint64 incomplete = 0;
	g_object_get(src, "stats", &stats, NULL);
	REQUIRE(gst_structure_get_uint64(stats, "incomplete", &incomplete));
	gst_structure_free(stats);
	REQUIRE_EQ(incomplete, 1);
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE);
	/* Stopped: the src_%u pads are gone. */
	REQUIRE_EQ(src->numsrcpads, 1);
	gst_object_unref(pipeline);
	reap(&children[0], "appsinks");
	printf("appsinks: %d sets of %ux%u YUYV / %ux%u NV12 / %ux%u GRAY8, strides %u/%u/%u: "
	       "src_0 %u, src_1 %u + %u gap (set %d), src_2 %u buffers pixel-exact, read-only "
	       "memfd memory; %u pts pairs 3 ms apart ±1 ms; EOS on %d pads\n",
	       SETS, descs[0].width, descs[0].height, descs[1].width, descs[1].height,
	       descs[2].width, descs[2].height, layout.images[0].planes[0].stride,
	       layout.images[1].planes[0].stride, layout.images[2].planes[0].stride,
	       seen[0].buffers, seen[1].buffers, seen[1].gaps, MISSING_SET, seen[2].buffers, timed,
	       N_IMAGES);
}

static GstPadProbeReturn count_buffers(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	g_atomic_int_inc((gint *)data);
	return GST_PAD_PROBE_OK;
}

/* gst-launch's syntax: sometimes pads linked by name once they appear. */
static void test_parse(void)
{
	const char *topic = "srcpads-parse";
	gchar *desc = g_strdup_printf("pixsharesrc name=s topic=%s dir=%s image-index=-1 "
				      "qos=reliable reconnect=false timeout=10000 "
				      "s.src_0 ! queue ! fakesink name=f0 sync=false "
				      "s.src_2 ! queue ! fakesink name=f2 sync=false",
				      topic, dir);
	GstElement *pipeline = launch(desc);
	gint counts[2] = {0, 0};
	const char *names[2] = {"f0", "f2"};
	for (int i = 0; i < 2; i++) {
		GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), names[i]);
		REQUIRE(sink);
		GstPad *pad = gst_element_get_static_pad(sink, "sink");
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, &counts[i], NULL);
		gst_object_unref(pad);
		gst_object_unref(sink);
	}
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
	wait_eos(pipeline);
	GstElement *s = gst_bin_get_by_name(GST_BIN(pipeline), "s");
	REQUIRE(s);
	GstPad *unlinked = gst_element_get_static_pad(s, "src_1");
	REQUIRE(unlinked && !gst_pad_is_linked(unlinked));
	gst_object_unref(unlinked);
	guint64 frames = get_u64(s, "frames");
	gst_object_unref(s);
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE);
	gst_object_unref(pipeline);
	g_free(desc);
	reap(&children[1], "parse");
	if (counts[0] != SETS || counts[1] != SETS || frames != SETS) {
		fprintf(stderr, "parse: %d and %d buffers, %" G_GUINT64_FORMAT " sets; want %d\n",
			counts[0], counts[1], frames, SETS);
		exit(1);
	}
	printf("parse: s.src_0 %d and s.src_2 %d buffers of %" G_GUINT64_FORMAT
	       " sets through delayed links, src_1 unlinked, EOS\n",
	       counts[0], counts[1], frames);
}

/* The reconnect suite's counts per pad: buffers of each format. */
struct formats_seen {
	gint yuy2, bgrx, other;
};

static GstFlowReturn count_formats(GstAppSink *sink, gpointer data)
{
	struct formats_seen *fs = data;
	GstSample *s = gst_app_sink_pull_sample(sink);
	REQUIRE(s);
	GstVideoInfo info;
	REQUIRE(gst_video_info_from_caps(&info, gst_sample_get_caps(s)));
	switch (GST_VIDEO_INFO_FORMAT(&info)) {
	case GST_VIDEO_FORMAT_YUY2:
		fs->yuy2++;
		break;
	case GST_VIDEO_FORMAT_BGRx:
		fs->bgrx++;
		break;
	default:
		fs->other++;
		break;
	}
	gst_sample_unref(s);
	return GST_FLOW_OK;
}

static void test_reconnect(void)
{
	const char *topic = "srcpads-restart";
	gchar *desc = g_strdup_printf(
	    "pixsharesrc name=s topic=%s dir=%s image-index=-1 qos=reliable timeout=10000 "
	    "s.src_0 ! queue ! appsink name=a0 sync=false "
	    "s.src_1 ! queue ! appsink name=a1 sync=false "
	    "s.src_2 ! queue ! appsink name=a2 sync=false",
	    topic, dir);
	GstElement *pipeline = launch(desc);
	struct formats_seen fs[N_IMAGES] = {{0}};
	GstAppSinkCallbacks callbacks = {.new_sample = count_formats};
	for (guint i = 0; i < N_IMAGES; i++) {
		gchar name[8];
		snprintf(name, sizeof(name), "a%u", i);
		GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), name);
		REQUIRE(sink);
		gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, &fs[i], NULL);
		gst_object_unref(sink);
	}
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
	GstBus *bus = gst_element_get_bus(pipeline);
	GstMessage *m =
	    gst_bus_timed_pop_filtered(bus, PIPELINE_TIMEOUT, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	if (!m || GST_MESSAGE_TYPE(m) != GST_MESSAGE_ERROR) {
		fprintf(stderr, "reconnect: %s, not the element error of a set of 2 images\n",
			m ? "EOS" : "nothing in 20 s");
		exit(1);
	}
	GError *error;
	gchar *dbg;
	gst_message_parse_error(m, &error, &dbg);
	if (!strstr(error->message, "changed shape")) {
		fprintf(stderr, "reconnect: error from %s: %s (%s)\n", GST_OBJECT_NAME(m->src),
			error->message, dbg ? dbg : "");
		exit(1);
	}
	/* The source pushed EOS on its pads after the error: the queues
	 * hand the appsinks every buffer, then EOS. */
	for (guint i = 0; i < N_IMAGES; i++) {
		gchar name[8];
		snprintf(name, sizeof(name), "a%u", i);
		GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), name);
		int waited = 0;
		while (!gst_app_sink_is_eos(GST_APP_SINK(sink))) {
			REQUIRE(++waited < 500); /* 5 s */
			g_usleep(10000);
		}
		gst_object_unref(sink);
	}
	GstElement *s = gst_bin_get_by_name(GST_BIN(pipeline), "s");
	guint64 reconnects = get_u64(s, "reconnects"), frames = get_u64(s, "frames");
	gst_object_unref(s);
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE);
	gst_object_unref(bus);
	gst_object_unref(pipeline);
	reap(&children[2], "reconnect");
	bool ok = fs[0].yuy2 == RECONNECT_SETS && fs[0].bgrx == RECONNECT_SETS && !fs[0].other &&
		  reconnects == 2 && frames == 2 * RECONNECT_SETS;
	for (guint i = 1; i < N_IMAGES; i++)
		ok = ok && fs[i].yuy2 + fs[i].bgrx + fs[i].other == 2 * RECONNECT_SETS;
	printf("reconnect: src_0 %d YUY2 then %d BGRx buffers, src_1 %d NV12, src_2 %d GRAY8; "
	       "%" G_GUINT64_FORMAT " reconnects; then \"%s\", EOS on 3 pads\n",
	       fs[0].yuy2, fs[0].bgrx, fs[1].other, fs[2].other, reconnects, error->message);
	REQUIRE(ok);
	g_error_free(error);
	g_free(dbg);
	gst_message_unref(m);
	g_free(desc);
}

static const char *const suite_names[] = {"appsinks", "parse", "reconnect"};

static void clean_up(void)
{
	for (size_t i = 0; i < PX_ARRAY_LEN(children); i++)
		if (children[i] > 0) {
			kill(children[i], SIGTERM);
			waitpid(children[i], NULL, 0);
		}
	remove_dir(dir);
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, suite_names, PX_ARRAY_LEN(suite_names));
	const char *only = px_test_only();
	bool run[PX_ARRAY_LEN(suite_names)];
	for (size_t i = 0; i < PX_ARRAY_LEN(suite_names); i++)
		run[i] = !only || px_test_in_list(only, suite_names[i]);
	const char *seed_text = px_test_opt("seed");
	seed = seed_text ? strtoull(seed_text, NULL, 0) : (uint64_t)time(NULL);
	snprintf(dir, sizeof(dir), "/tmp/px-srcpads-XXXXXX");
	REQUIRE(mkdtemp(dir));
	/* The publishers wait for their subscribers. */
	if (run[0])
		children[0] = fork_publisher("srcpads", MISSING_SET);
	if (run[1])
		children[1] = fork_publisher("srcpads-parse", 0);
	if (run[2])
		children[2] = fork_restarting_publisher("srcpads-restart");
	atexit(clean_up); /* also when a REQUIRE fails */
	gst_init(NULL, NULL);
	GstElementFactory *factory = gst_element_factory_find("pixsharesrc");
	if (!factory) {
		fprintf(stderr,
			"pixsharesrc not found: is GST_PLUGIN_PATH the plugin's directory?\n");
		return 1;
	}
	gst_object_unref(factory);
	printf("seed %" PRIu64 " (--seed=%" PRIu64 " repeats it)\n", seed, seed);
	int fds = px_test_count_fds_but(not_ours, false);
	if (run[0])
		test_appsinks();
	if (run[1])
		test_parse();
	if (run[2])
		test_reconnect();
	int fds_after = px_test_count_fds_but(not_ours, false);
	if (fds_after != fds) {
		px_test_count_fds_but(not_ours, true);
		fprintf(stderr, "fds: %d before, %d after\n", fds, fds_after);
		return 1;
	}
	printf("fds: %d before, %d after\n", fds, fds_after);
	gst_deinit();
	return 0;
}
