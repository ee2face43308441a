/* SPDX-License-Identifier: MIT */
/*
 * The GStreamer elements end to end, in one process (each pipeline as it
 * would run in its own): pixel-exact round trips through a topic, the
 * sink's zero-copy pool and its counted copies, read-only buffers, caps
 * renegotiation when a restarted publisher changes the layout, and a 60 Hz
 * pub-test topic played without drops.
 *
 * test_gst [--tool=PATH] [--quick] [--list] [SUITE…]; GST_PLUGIN_PATH must
 * name the plugin's directory (CTest sets it).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <gst/allocators/allocators.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <pixshare/pixshare.h>

#include "gst/tests/gst_testutil.h"
#include "tests/px_test.h"

static char dir[64];
static const char *tool;
static const char *dmabuf_allocator; /* --allocator=NAME: the dmabuf suite's */
static bool quick;

/* Frames per case. */
#define FRAMES 12

static void stop(GstElement *pipeline)
{
	check_bus(pipeline);
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE);
	gst_object_unref(pipeline);
}

static GstElement *by_name(GstElement *pipeline, const char *name)
{
	GstElement *e = gst_bin_get_by_name(GST_BIN(pipeline), name);
	REQUIRE(e);
	gst_object_unref(e); /* the pipeline keeps it */
	return e;
}

/* One frame's pixel rows, packed: what is compared. */
static GBytes *pack_frame(GstSample *sample)
{
	GstVideoInfo info;
	GstVideoFrame frame;
	REQUIRE(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
	REQUIRE(gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ));
	GByteArray *out = g_byte_array_new();
	for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&frame); p++) {
		const guint8 *data = GST_VIDEO_FRAME_PLANE_DATA(&frame, p);
		gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p);
		/* The plane's rows and row bytes (its pixel groups, no
		 * padding), from the first component it holds. */
		const GstVideoFormatInfo *fi = frame.info.finfo;
		guint comp = 0;
		for (guint c = 0; c < GST_VIDEO_FORMAT_INFO_N_COMPONENTS(fi); c++)
			if (GST_VIDEO_FORMAT_INFO_PLANE(fi, c) == p) {
				comp = c;
				break;
			}
		guint rows = GST_VIDEO_FRAME_COMP_HEIGHT(&frame, comp);
		guint row_bytes = (guint)GST_VIDEO_FORMAT_INFO_SCALE_WIDTH(fi, comp, info.width) *
				  (guint)GST_VIDEO_FORMAT_INFO_PSTRIDE(fi, comp);
		if (GST_VIDEO_FORMAT_INFO_FORMAT(fi) == GST_VIDEO_FORMAT_YUY2 ||
		    GST_VIDEO_FORMAT_INFO_FORMAT(fi) == GST_VIDEO_FORMAT_UYVY)
			row_bytes = ((guint)info.width + 1) / 2 * 4;
		for (guint r = 0; r < rows; r++) {
			g_byte_array_append(out, data + (gsize)r * stride, row_bytes);
			/* At an odd width, the last pixel pair's second Y is
			 * no pixel: nobody writes it. */
			if (info.width % 2 &&
			    GST_VIDEO_FORMAT_INFO_FORMAT(fi) == GST_VIDEO_FORMAT_YUY2)
				out->data[out->len - 2] = 0;
			if (info.width % 2 &&
			    GST_VIDEO_FORMAT_INFO_FORMAT(fi) == GST_VIDEO_FORMAT_UYVY)
				out->data[out->len - 1] = 0;
		}
	}
	gst_video_frame_unmap(&frame);
	return g_byte_array_free_to_bytes(out);
}

/* A field of an element's "stats" structure. */
static guint64 get_stat(GstElement *e, const char *field)
{
	GstStructure *st = NULL;
	guint64 v = 0;
	g_object_get(e, "stats", &st, NULL);
	REQUIRE(st && gst_structure_get_uint64(st, field, &v));
	gst_structure_free(st);
	return v;
}

static GstSample *pull(GstElement *appsink)
{
	GstSample *s = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), PIPELINE_TIMEOUT);
	if (!s) {
		fprintf(stderr, "no sample within %d s\n", (int)(PIPELINE_TIMEOUT / GST_SECOND));
		exit(1);
	}
	return s;
}

static const char *pattern = "videotestsrc pattern=smpte horizontal-speed=3 num-buffers=%d ! "
			     "video/x-raw,format=%s,width=%u,height=%u,framerate=30/1";

/* What videotestsrc makes: the reference. */
static GPtrArray *reference(const char *format, guint w, guint h, GPtrArray *samples)
{
	gchar *desc = g_strdup_printf(pattern, FRAMES, format, w, h);
	gchar *full = g_strdup_printf("%s ! appsink name=out sync=false", desc);
	GstElement *p = launch(full);
	REQUIRE(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
	GPtrArray *frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	for (int i = 0; i < FRAMES; i++) {
		GstSample *s = pull(by_name(p, "out"));
		g_ptr_array_add(frames, pack_frame(s));
		if (samples)
			g_ptr_array_add(samples, s);
		else
			gst_sample_unref(s);
	}
	stop(p);
	g_free(desc);
	g_free(full);
	return frames;
}

/* The subscriber's pipeline: N frames of `topic` to an appsink. */
static GstElement *subscriber(const char *topic, const char *extra)
{
	gchar *desc = g_strdup_printf("pixsharesrc name=src topic=%s dir=%s qos=reliable "
				      "timeout=10000 %s ! appsink name=out sync=false "
				      "caps=video/x-raw max-buffers=2",
				      topic, dir, extra);
	GstElement *p = launch(desc);
	g_free(desc);
	return p;
}

static void compare(GstElement *sub, GPtrArray *ref, const char *what)
{
	for (guint i = 0; i < ref->len; i++) {
		GstSample *s = pull(by_name(sub, "out"));
		GstBuffer *buf = gst_sample_get_buffer(s);
		/* Read-only: every memory refuses a writable map. */
		for (guint m = 0; m < gst_buffer_n_memory(buf); m++) {
			GstMemory *mem = gst_buffer_peek_memory(buf, m);
			GstMapInfo map;
			REQUIRE(GST_MEMORY_IS_READONLY(mem));
			REQUIRE(!gst_memory_map(mem, &map, GST_MAP_WRITE));
		}
		REQUIRE(gst_buffer_get_video_meta(buf));
		GBytes *got = pack_frame(s);
		if (!g_bytes_equal(got, g_ptr_array_index(ref, i))) {
			fprintf(stderr,
				"%s: frame %u differs from videotestsrc's (%zu bytes vs %zu)\n",
				what, i, g_bytes_get_size(got),
				g_bytes_get_size(g_ptr_array_index(ref, i)));
			exit(1);
		}
		g_bytes_unref(got);
		gst_sample_unref(s);
	}
}

static const char *const formats[] = {"YUY2", "NV12",	   "BGRx", "RGBx", "GRAY8",
				      "UYVY", "GRAY16_LE", "RGB",  "BGR",  "BGRA",
				      "RGBA", "P010_10LE", "I420", "Y42B"};
static const guint sizes[][2] = {{320, 240}, {161, 97}};

/* videotestsrc ! pixsharesink → pixsharesrc ! appsink, byte for byte, with
 * upstream writing into the sink's pool (no copy). */
static void test_exact(void)
{
	guint n_formats = quick ? 5 : PX_ARRAY_LEN(formats);
	for (guint f = 0; f < n_formats; f++) {
		for (guint z = 0; z < PX_ARRAY_LEN(sizes); z++) {
			guint w = sizes[z][0], h = sizes[z][1];
			gchar what[64], topic[64];
			snprintf(what, sizeof(what), "%s %ux%u", formats[f], w, h);
			snprintf(topic, sizeof(topic), "exact-%s-%u", formats[f], w);
			GPtrArray *ref = reference(formats[f], w, h, NULL);

			gchar *src = g_strdup_printf(pattern, FRAMES, formats[f], w, h);
			gchar *desc =
			    g_strdup_printf("%s ! pixsharesink name=sink topic=%s dir=%s "
					    "allocator=memfd wait-subscribers=1 sync=false",
					    src, topic, dir);
			GstElement *pub = launch(desc);
			REQUIRE(gst_element_set_state(pub, GST_STATE_PLAYING) !=
				GST_STATE_CHANGE_FAILURE);
			GstElement *sub = subscriber(topic, "");
			REQUIRE(gst_element_set_state(sub, GST_STATE_PLAYING) !=
				GST_STATE_CHANGE_FAILURE);
			compare(sub, ref, what);
			wait_eos(pub);
			GstElement *sink = by_name(pub, "sink"), *psrc = by_name(sub, "src");
			/* Every frame was written in place by videotestsrc. */
			REQUIRE_EQ(get_u64(sink, "copies"), 0);
			REQUIRE_EQ(get_u64(sink, "in-place"), FRAMES);
			REQUIRE_EQ(get_u64(psrc, "dropped"), 0);
			REQUIRE_EQ(get_u64(psrc, "frames"), FRAMES);
			stop(sub);
			stop(pub);
			g_ptr_array_unref(ref);
			g_free(src);
			g_free(desc);
			printf("exact %s: %d frames equal, 0 copies\n", what, FRAMES);
		}
	}
}

/* appsrc (its own buffers, rows padded) ! pixsharesink: each frame copied
 * once with each side's strides, counted. */
static void test_copy(void)
{
	static const char *const copy_formats[] = {"YUY2", "NV12", "BGRx", "GRAY8"};
	const guint w = 161, h = 97;
	for (guint f = 0; f < PX_ARRAY_LEN(copy_formats); f++) {
		gchar topic[64];
		snprintf(topic, sizeof(topic), "copy-%s", copy_formats[f]);
		GPtrArray *samples =
		    g_ptr_array_new_with_free_func((GDestroyNotify)gst_sample_unref);
		GPtrArray *ref = reference(copy_formats[f], w, h, samples);

		gchar *desc = g_strdup_printf("appsrc name=in format=time ! pixsharesink name=sink "
					      "topic=%s dir=%s wait-subscribers=1 sync=false",
					      topic, dir);
		GstElement *pub = launch(desc);
		GstElement *in = by_name(pub, "in");
		GstCaps *caps = gst_sample_get_caps(g_ptr_array_index(samples, 0));
		g_object_set(in, "caps", caps, NULL);
		REQUIRE(gst_element_set_state(pub, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
		GstElement *sub = subscriber(topic, "");
		REQUIRE(gst_element_set_state(sub, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);

		GstVideoInfo info;
		REQUIRE(gst_video_info_from_caps(&info, caps));
		for (guint i = 0; i < samples->len; i++) {
			/* The same pixels with 72 bytes of padding after every
			 * row, described by a GstVideoMeta. */
			GstVideoFrame vf;
			GstBuffer *orig = gst_sample_get_buffer(g_ptr_array_index(samples, i));
			REQUIRE(gst_video_frame_map(&vf, &info, orig, GST_MAP_READ));
			gsize offsets[GST_VIDEO_MAX_PLANES] = {0}, total = 0;
			gint strides[GST_VIDEO_MAX_PLANES] = {0};
			for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&info); p++) {
				strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, p) + 72;
				offsets[p] = total;
				total += (gsize)strides[p] *
					 GST_VIDEO_INFO_COMP_HEIGHT(&info, p ? 1 : 0);
			}
			guint8 *data = g_malloc0(total);
			for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&info); p++) {
				guint rows = GST_VIDEO_INFO_COMP_HEIGHT(&info, p ? 1 : 0);
				for (guint r = 0; r < rows; r++)
					memcpy(data + offsets[p] + (gsize)r * strides[p],
					       (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&vf, p) +
						   (gsize)r * GST_VIDEO_FRAME_PLANE_STRIDE(&vf, p),
					       GST_VIDEO_FRAME_PLANE_STRIDE(&vf, p));
			}
			gst_video_frame_unmap(&vf);
			GstBuffer *buf = gst_buffer_new_wrapped(data, total);
			gst_buffer_add_video_meta_full(
			    buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(&info), w, h,
			    GST_VIDEO_INFO_N_PLANES(&info), offsets, strides);
			GST_BUFFER_PTS(buf) = GST_BUFFER_PTS(orig);
			REQUIRE_EQ(gst_app_src_push_buffer(GST_APP_SRC(in), buf), GST_FLOW_OK);
		}
		REQUIRE_EQ(gst_app_src_end_of_stream(GST_APP_SRC(in)), GST_FLOW_OK);
		compare(sub, ref, copy_formats[f]);
		wait_eos(pub);
		GstElement *sink = by_name(pub, "sink");
		REQUIRE_EQ(get_u64(sink, "copies"), FRAMES);
		REQUIRE_EQ(get_u64(sink, "in-place"), 0);
		stop(sub);
		stop(pub);
		g_ptr_array_unref(ref);
		g_ptr_array_unref(samples);
		g_free(desc);
		printf("copy %s %ux%u: %d frames equal, %d copies counted\n", copy_formats[f], w, h,
		       FRAMES, FRAMES);
	}
}

/* Publishes one frame of `fourcc` w×h whose every byte is `value`. */
static void publish_filled(struct px_publisher *pub, uint8_t value)
{
	struct px_slot *slot;
	REQUIRE_OK(px_publisher_acquire(pub, 1000, &slot));
	for (uint32_t b = 0; b < slot->n_buffers; b++)
		memset(slot->buffers[b].data, value, slot->buffers[b].size);
	REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
}

static struct px_publisher *publisher(const char *topic, uint32_t fourcc, uint32_t w, uint32_t h)
{
	struct px_image_desc d = {fourcc, w, h};
	struct px_set_layout layout;
	struct px_publisher *pub;
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 64, PX_PACK_PER_IMAGE));
	struct px_publisher_params params = {
	    .topic = topic, .dir = dir, .layout = &layout, .allocator = PX_ALLOCATOR_MEMFD};
	REQUIRE_OK(px_publisher_create(&params, &pub));
	return pub;
}

/* Serves the publisher until `sub`'s appsink has a sample, publishing a
 * frame of `value` every 20 ms. */
static GstSample *serve_until_sample(struct px_publisher *pub, GstElement *sub, uint8_t value)
{
	for (int i = 0; i < 500; i++) {
		publish_filled(pub, value);
		px_publisher_dispatch(pub, 20);
		GstSample *s =
		    gst_app_sink_try_pull_sample(GST_APP_SINK(by_name(sub, "out")), GST_MSECOND);
		if (s)
			return s;
		check_bus(sub);
	}
	fprintf(stderr, "no sample in 10 s\n");
	exit(1);
}

static gint playing_done;

static gpointer set_playing(gpointer pipeline)
{
	REQUIRE(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
	g_atomic_int_set(&playing_done, 1);
	return NULL;
}

/* Starts `sub`, whose start connects to `pub`, served meanwhile here. */
static void start_serving(struct px_publisher *pub, GstElement *sub)
{
	g_atomic_int_set(&playing_done, 0);
	GThread *t = g_thread_new("set-playing", set_playing, sub);
	while (!g_atomic_int_get(&playing_done))
		px_publisher_dispatch(pub, 10);
	g_thread_join(t);
}

/* A publisher restarted with another layout: the source follows, with new
 * caps. Strides padded to 64 bytes, through GstVideoMeta. */
static void test_renegotiate(void)
{
	struct px_publisher *pub = publisher("reneg", PX_FORMAT_YUYV, 70, 30);
	GstElement *sub = launch(
	    g_strdup_printf("pixsharesrc name=src topic=reneg dir=%s timeout=10000 ! "
			    "appsink name=out sync=false caps=video/x-raw max-buffers=1 drop=true",
			    dir));
	start_serving(pub, sub);
	GstSample *s = serve_until_sample(pub, sub, 0x42);
	GstVideoInfo info;
	REQUIRE(gst_video_info_from_caps(&info, gst_sample_get_caps(s)));
	REQUIRE_EQ(GST_VIDEO_INFO_FORMAT(&info), GST_VIDEO_FORMAT_YUY2);
	REQUIRE_EQ(GST_VIDEO_INFO_WIDTH(&info), 70);
	GstVideoMeta *meta = gst_buffer_get_video_meta(gst_sample_get_buffer(s));
	REQUIRE(meta && meta->stride[0] == 192);
	GBytes *bytes = pack_frame(s);
	gsize n;
	const guint8 *d = g_bytes_get_data(bytes, &n);
	REQUIRE_EQ(n, 140 * 30);
	for (gsize i = 0; i < n; i++)
		REQUIRE_EQ(d[i], 0x42);
	g_bytes_unref(bytes);
	gst_sample_unref(s);

	px_publisher_destroy(pub);
	pub = publisher("reneg", PX_FORMAT_NV12, 48, 20);
	/* Frames of the old layout may still be queued in the appsink. */
	for (;;) {
		s = serve_until_sample(pub, sub, 0x17);
		REQUIRE(gst_video_info_from_caps(&info, gst_sample_get_caps(s)));
		if (GST_VIDEO_INFO_FORMAT(&info) == GST_VIDEO_FORMAT_NV12)
			break;
		gst_sample_unref(s);
	}
	REQUIRE_EQ(GST_VIDEO_INFO_WIDTH(&info), 48);
	REQUIRE_EQ(GST_VIDEO_INFO_HEIGHT(&info), 20);
	bytes = pack_frame(s);
	d = g_bytes_get_data(bytes, &n);
	REQUIRE_EQ(n, 48 * 20 * 3 / 2);
	for (gsize i = 0; i < n; i++)
		REQUIRE_EQ(d[i], 0x17);
	g_bytes_unref(bytes);
	gst_sample_unref(s);
	REQUIRE_EQ(get_u64(by_name(sub, "src"), "reconnects"), 1);
	stop(sub);
	px_publisher_destroy(pub);
	printf("renegotiate: YUY2 70x30 then NV12 48x20 after a restart: caps followed\n");
}

/* `pixshare pub-test` at 60 Hz (6 × 1280x800 YUYV) through pixsharesrc !
 * fakesink: no frame missing. */
static void test_pubtest(void)
{
	if (!tool)
		SKIP("pubtest: no --tool=PATH to the pixshare tool");
	int seconds = quick ? 3 : 10;
	char duration[16];
	snprintf(duration, sizeof(duration), "%d", seconds + 4);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		execl(tool, tool, "pub-test", "pubtest", "--rate", "60", "--duration", duration,
		      "--quiet", "--dir", dir, (char *)NULL);
		_exit(127);
	}
	GstElement *p = launch(g_strdup_printf("pixsharesrc name=src topic=pubtest dir=%s "
					       "timeout=10000 ! fakesink sync=false",
					       dir));
	REQUIRE(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
	g_usleep((gulong)seconds * G_USEC_PER_SEC);
	check_bus(p);
	GstElement *src = by_name(p, "src");
	guint64 frames = get_u64(src, "frames"), dropped = get_u64(src, "dropped");
	stop(p);
	kill(pid, SIGTERM);
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	printf("pubtest: %" G_GUINT64_FORMAT " frames in %d s at 60 Hz, %" G_GUINT64_FORMAT
	       " dropped\n",
	       frames, seconds, dropped);
	REQUIRE(frames >= (guint64)(seconds * 60 * 8 / 10));
	REQUIRE_EQ(dropped, 0);
}

/*
 * Three pads of one pixsharesink make a three-image set: "sink" (YUY2, in
 * place), sink_1 (NV12) and sink_2 (GRAY8, copied), each image read back
 * byte for byte by a pixsharesrc of its image-index. Then sink_2's source
 * ends after half the frames: the sets after it leave image 2 out (its
 * valid_mask bit clear), counted as incomplete on both sides.
 */
static void test_pads(void)
{
	static const struct {
		const char *format;
		guint w, h;
	} im[3] = {{"YUY2", 64, 48}, {"NV12", 32, 24}, {"GRAY8", 40, 30}};
	for (int ended = 0; ended <= 1; ended++) {
		gchar topic[32];
		snprintf(topic, sizeof(topic), "pads-%d", ended);
		GPtrArray *ref[3];
		for (int i = 0; i < 3; i++)
			ref[i] = reference(im[i].format, im[i].w, im[i].h, NULL);
		int image2_frames = ended ? FRAMES / 2 : FRAMES;
		g_ptr_array_set_size(ref[2], (guint)image2_frames);
		gchar *src0 = g_strdup_printf(pattern, FRAMES, im[0].format, im[0].w, im[0].h);
		gchar *src1 = g_strdup_printf(pattern, FRAMES, im[1].format, im[1].w, im[1].h);
		gchar *src2 =
		    g_strdup_printf(pattern, image2_frames, im[2].format, im[2].w, im[2].h);
		gchar *desc = g_strdup_printf("%s ! pixsharesink name=sink topic=%s dir=%s "
					      "allocator=memfd wait-subscribers=3 sync=false deadline=1000000000 "
					      "%s ! sink.sink_1 %s ! sink.sink_2",
					      src0, topic, dir, src1, src2);
		GstElement *pub = launch(desc);
		REQUIRE(gst_element_set_state(pub, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
		GstElement *sub[3];
		for (int i = 0; i < 3; i++) {
			gchar extra[32];
			snprintf(extra, sizeof(extra), "image-index=%d", i);
			sub[i] = subscriber(topic, extra);
			REQUIRE(gst_element_set_state(sub[i], GST_STATE_PLAYING) !=
				GST_STATE_CHANGE_FAILURE);
		}
		for (int i = 0; i < 3; i++) {
			gchar what[64];
			snprintf(what, sizeof(what), "pads: image %d (%s %ux%u)", i, im[i].format,
				 im[i].w, im[i].h);
			compare(sub[i], ref[i], what);
		}
		wait_eos(pub);
		GstElement *sink = by_name(pub, "sink");
		guint64 incomplete = (guint64)(FRAMES - image2_frames);
		REQUIRE_EQ(get_u64(sink, "published"), FRAMES);
		REQUIRE_EQ(get_u64(sink, "in-place"), FRAMES);
		REQUIRE_EQ(get_u64(sink, "copies"), FRAMES + image2_frames);
		REQUIRE_EQ(get_u64(sink, "incomplete"), incomplete);
		REQUIRE_EQ(get_u64(sink, "late"), 0);
		for (int i = 0; i < 3; i++) {
			GstElement *psrc = by_name(sub[i], "src");
			REQUIRE_EQ(get_u64(psrc, "frames"),
				   i == 2 ? (guint64)image2_frames : FRAMES);
			/* The sets without image 2 come after its last frame: a
			 * loaded subscriber may still be reading them. */
			guint64 want = i == 2 ? incomplete : 0;
			for (int t = 0; t < 500 && get_stat(psrc, "incomplete") < want; t++)
				g_usleep(10000);
			REQUIRE_EQ(get_stat(psrc, "incomplete"), want);
			REQUIRE_EQ(get_u64(psrc, "dropped"), 0);
			stop(sub[i]);
		}
		stop(pub);
		for (int i = 0; i < 3; i++)
			g_ptr_array_unref(ref[i]);
		g_free(src0);
		g_free(src1);
		g_free(src2);
		g_free(desc);
		printf(
		    "pads: 3 pads, 1 set of YUY2 %ux%u + NV12 %ux%u + GRAY8 %ux%u per frame: "
		    "%d sets, each image equal to its source's; image 2 in %d (%" G_GUINT64_FORMAT
		    " incomplete); %d images in place, %d copied\n",
		    im[0].w, im[0].h, im[1].w, im[1].h, im[2].w, im[2].h, FRAMES, image2_frames,
		    incomplete, FRAMES, FRAMES + image2_frames);
	}
}

/*
 * A dma-buf pool (--allocator=NAME, e.g. dumb on vgem in the vm tier) seen
 * through video/x-raw(memory:DMABuf): every buffer is GstDmaBufMemory of the
 * slot's own dma-buf (a dup of the fd the publisher filled: the same
 * inode), whose bytes are the frame's. Not run without --allocator.
 */
static void test_dmabuf(void)
{
	if (!dmabuf_allocator) {
		printf("dmabuf: not run: it needs --allocator=NAME of a dma-buf allocator (the "
		       "vm tier runs it on vgem)\n");
		return;
	}
	enum px_allocator_type type;
	REQUIRE_OK(px_allocator_from_name(dmabuf_allocator, &type));
	struct px_image_desc d = {PX_FORMAT_XRGB8888, 64, 48};
	struct px_set_layout layout;
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 64, PX_PACK_PER_IMAGE));
	struct px_publisher *pub;
	REQUIRE_OK(px_publisher_create(
	    &(struct px_publisher_params){
		.topic = "dmabuf", .dir = dir, .layout = &layout, .allocator = type},
	    &pub));
	REQUIRE(px_publisher_is_dmabuf(pub));
	GstElement *sub = launch(g_strdup_printf(
	    "pixsharesrc name=src topic=dmabuf dir=%s timeout=10000 ! "
	    "appsink name=out sync=false caps=video/x-raw(memory:DMABuf) max-buffers=1 drop=true",
	    dir));
	start_serving(pub, sub);
	ino_t inodes[PX_MAX_SLOTS];
	uint32_t n_inodes = 0;
	const int values = 3;
	for (int v = 1; v <= values; v++) {
		GstSample *sample = NULL;
		for (int i = 0; i < 500 && !sample; i++) {
			struct px_slot *slot;
			REQUIRE_OK(px_publisher_acquire(pub, 1000, &slot));
			struct stat st;
			REQUIRE_OK(fstat(slot->buffers[0].fd, &st));
			bool known = false;
			for (uint32_t k = 0; k < n_inodes; k++)
				known = known || inodes[k] == st.st_ino;
			if (!known)
				inodes[n_inodes++] = st.st_ino;
			struct dma_buf_sync sync = {DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE};
			ioctl(slot->buffers[0].fd, DMA_BUF_IOCTL_SYNC, &sync);
			memset(slot->buffers[0].data, v * 0x11, slot->buffers[0].size);
			sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
			ioctl(slot->buffers[0].fd, DMA_BUF_IOCTL_SYNC, &sync);
			REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
			px_publisher_dispatch(pub, 20);
			sample = gst_app_sink_try_pull_sample(GST_APP_SINK(by_name(sub, "out")),
							      GST_MSECOND);
			check_bus(sub);
		}
		REQUIRE(sample);
		GstCapsFeatures *f = gst_caps_get_features(gst_sample_get_caps(sample), 0);
		REQUIRE(f && gst_caps_features_contains(f, GST_CAPS_FEATURE_MEMORY_DMABUF));
		GstBuffer *buf = gst_sample_get_buffer(sample);
		REQUIRE_EQ(gst_buffer_n_memory(buf), 1);
		GstMemory *mem = gst_buffer_peek_memory(buf, 0);
		REQUIRE(gst_is_dmabuf_memory(mem));
		struct stat st;
		REQUIRE_OK(fstat(gst_dmabuf_memory_get_fd(mem), &st));
		bool ours = false;
		for (uint32_t k = 0; k < n_inodes; k++)
			ours = ours || inodes[k] == st.st_ino;
		REQUIRE(ours);
		REQUIRE(fcntl(gst_dmabuf_memory_get_fd(mem), F_GETFD) & FD_CLOEXEC);
		GstMapInfo map;
		REQUIRE(gst_buffer_map(buf, &map, GST_MAP_READ));
		REQUIRE(map.size >= 64 * 4);
		for (gsize i = 0; i < 64 * 4; i++)
			REQUIRE_EQ(map.data[i], (guint8)(v * 0x11));
		gst_buffer_unmap(buf, &map);
		gst_sample_unref(sample);
		/* Frames of this value that were still on their way (it may have
		 * been published more than once) must not pass for the next. */
		for (int quiet = 0; quiet < 20;) {
			px_publisher_dispatch(pub, 10);
			sample = gst_app_sink_try_pull_sample(GST_APP_SINK(by_name(sub, "out")),
							      GST_MSECOND);
			quiet = sample ? 0 : quiet + 1;
			if (sample)
				gst_sample_unref(sample);
		}
	}
	stop(sub);
	px_publisher_destroy(pub);
	printf("dmabuf: %d frames of XRGB8888 64x48 by %s: memory:DMABuf caps, GstDmaBufMemory "
	       "of the slot's own dma-buf (the inode of one of %u slots' buffers), CLOEXEC, "
	       "bytes right\n",
	       values, dmabuf_allocator, n_inodes);
}

static const struct {
	const char *name;
	void (*fn)(void);
} suites[] = {
    {"exact", test_exact}, {"copy", test_copy},	    {"renegotiate", test_renegotiate},
    {"pads", test_pads},   {"dmabuf", test_dmabuf}, {"pubtest", test_pubtest},
};

static void remove_test_dir(void)
{
	remove_dir(dir);
}

int main(int argc, char **argv)
{
	const char *only[PX_ARRAY_LEN(suites)];
	size_t n_only = 0;
	for (int a = 1; a < argc; a++) {
		if (!strncmp(argv[a], "--tool=", 7)) {
			tool = argv[a] + 7;
		} else if (!strncmp(argv[a], "--allocator=", 12)) {
			dmabuf_allocator = argv[a] + 12;
		} else if (!strcmp(argv[a], "--quick")) {
			quick = true;
		} else if (!strcmp(argv[a], "--list")) {
			for (size_t i = 0; i < PX_ARRAY_LEN(suites); i++)
				printf("%s\n", suites[i].name);
			return 0;
		} else {
			size_t i = 0;
			while (i < PX_ARRAY_LEN(suites) && strcmp(suites[i].name, argv[a]))
				i++;
			if (i == PX_ARRAY_LEN(suites) || n_only == PX_ARRAY_LEN(only)) {
				fprintf(stderr, "%s: %s: no such suite or option (--list)\n",
					argv[0], argv[a]);
				return 2;
			}
			only[n_only++] = argv[a];
		}
	}
	gst_init(NULL, NULL);
	GstElementFactory *factory = gst_element_factory_find("pixsharesrc");
	if (!factory) {
		fprintf(stderr,
			"pixsharesrc not found: is GST_PLUGIN_PATH the plugin's directory?\n");
		return 1;
	}
	gst_object_unref(factory);
	snprintf(dir, sizeof(dir), "/tmp/px-gst-XXXXXX");
	REQUIRE(mkdtemp(dir));
	atexit(remove_test_dir); /* also when a REQUIRE fails */
	int fds = px_test_count_fds_but(not_ours, false);
	for (size_t i = 0; i < PX_ARRAY_LEN(suites); i++) {
		bool run = !n_only;
		for (size_t j = 0; j < n_only; j++)
			run = run || !strcmp(only[j], suites[i].name);
		if (run)
			suites[i].fn();
	}
	int fds_after = px_test_count_fds_but(not_ours, false);
	if (fds_after != fds) {
		px_test_count_fds_but(not_ours, true);
		fprintf(stderr, "fds: %d before, %d after\n", fds, fds_after);
		return 1;
	}
	gst_deinit();
	return 0;
}
