/* SPDX-License-Identifier: MIT */
/*
 * A V4L2 camera (vivid) as a publisher, with a subscriber in another process:
 * for each format and each buffer mode (dmabuf into dumb buffers on a DRM
 * card; copy into memfds), frames arrive with the camera's layout, rising
 * V4L2 sequence numbers and monotonic timestamps, and every pixel of vivid's
 * solid "100% Red" pattern has the value vivid draws (checked exactly, the
 * same in both modes). Copies are 0 in dmabuf mode and one per frame in copy
 * mode. Misuse: an unsupported format, a missing device, a busy device,
 * dmabuf mode on memfds, too few free slots to keep two buffers with the
 * driver (-ENOBUFS, and the slot it took goes back). No fd is leaked.
 *
 * Export mode (the camera's own buffers as the pool, through a rig) and the
 * multi-planar API (vivid.multiplanar=2 on one instance: NV12M in two buffers,
 * NV12 and YUYV in one) are checked the same way.
 *
 * Runs in the vm tier (vivid.n_devs=7); skips where no vivid device exists.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/videodev2.h>
#include <xf86drm.h>

#include <pixshare/pixshare.h>

#include "px_testutil.h"
#include "px_vivid.h"

#define FRAMES 30
#define WIDTH 320
#define HEIGHT 180
#define FPS 30.0

/* Filled by the subscriber child, read by the parent. */
struct result {
	uint64_t frames;
	/* The first pixel group of each plane of the first frame. */
	uint8_t first[PX_MAX_PLANES][8];
	uint64_t first_seq, last_seq;
};

static struct result *result;
static struct px_set_layout pub_layout;
static char vivid[64];
static char vgem[64];

static bool offers(int fd, uint32_t v4l2_format)
{
	struct v4l2_fmtdesc d = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	for (d.index = 0; ioctl(fd, VIDIOC_ENUM_FMT, &d) == 0; d.index++)
		if (d.pixelformat == v4l2_format)
			return true;
	return false;
}

/* Bytes of the smallest repeating group of a solid colour in a plane: a
 * 4:2:2 pixel pair, an NV12 CbCr pair, one pixel otherwise. */
static uint32_t group_bytes(uint32_t fourcc, uint32_t plane)
{
	switch (fourcc) {
	case PX_FORMAT_YUYV:
	case PX_FORMAT_UYVY:
		return 4;
	case PX_FORMAT_NV12:
		return plane ? 2 : 1;
	default:
		return px_format_get_info(fourcc)->cpp[0];
	}
}

/* The format and mode run() streams, for the subscriber's messages. */
static char running[64];

static int subscriber(void *arg)
{
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {
	    .topic = "v4l2",
	    .qos = PX_QOS_RELIABLE,
	    .connect_timeout_ms = 5000,
	    .name = "checker",
	    .flags = PX_SUBSCRIBER_NO_RECONNECT,
	};
	int fds = px_test_count_fds();
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	REQUIRE(px_layout_equal(px_subscriber_get_layout(sub), &pub_layout));
	const struct px_image_layout *img = &pub_layout.images[0];
	uint64_t last_seq = 0, last_ts = 0, last_frame = 0, frames = 0;
	uint8_t *ref[PX_MAX_PLANES] = {NULL};
	for (;;) {
		struct px_frame *f;
		int ret = px_subscriber_receive(sub, &f, 10000);
		if (ret == -EPIPE)
			break;
		REQUIRE_OK(ret);
		uint64_t now = px_now_ns(), ts = f->images[0].timestamp_ns;
		if (frames && (f->images[0].sequence <= last_seq || ts <= last_ts)) {
			fprintf(
			    stderr,
			    "%s: frame %llu (slot %u%s): camera sequence %llu, timestamp %llu ns; "
			    "the frame before: sequence %llu, timestamp %llu ns, "
			    "publisher frame %llu\n",
			    running, (unsigned long long)f->seq, f->slot,
			    f->replayed ? ", replayed" : "",
			    (unsigned long long)f->images[0].sequence, (unsigned long long)ts,
			    (unsigned long long)last_seq, (unsigned long long)last_ts,
			    (unsigned long long)last_frame);
			return 1;
		}
		/* vivid stamps a frame with the ideal end of its exposure,
		 * stream start + (sequence + 1) × period, and may hand it out
		 * up to a period before that time: allow two. */
		if (ts > now + 2 * (uint64_t)(1e9 / FPS) || now > ts + 1000000000ull) {
			fprintf(stderr, "%s: frame %llu: timestamp %llu ns, now %llu ns\n", running,
				(unsigned long long)f->seq, (unsigned long long)ts,
				(unsigned long long)now);
			return 1;
		}
		if (!frames) {
			result->first_seq = f->images[0].sequence;
			/* Every mode's pool is read-only for subscribers: sealed
			 * memfds (copy), dumb buffers (dmabuf), the driver's
			 * buffers exported O_RDONLY (export). */
			struct px_topic_info info;
			REQUIRE_OK(px_subscriber_get_topic_info(sub, &info));
			REQUIRE(info.read_only);
			for (uint32_t b = 0; b < f->n_buffers; b++) {
				void *w = mmap(NULL, f->buffers[b].size, PROT_READ | PROT_WRITE,
					       MAP_SHARED, f->buffers[b].fd, 0);
				REQUIRE(w == MAP_FAILED && (errno == EACCES || errno == EPERM));
			}
		}
		/* A solid colour: every group of every plane as the first
		 * frame's first group (one memcmp per row against a row of
		 * that group, fast enough under emulation and sanitizers). */
		for (uint32_t pl = 0; pl < img->n_planes; pl++) {
			const uint8_t *p = px_frame_plane(f, 0, pl);
			uint32_t g = group_bytes(img->fourcc, pl);
			uint64_t row_bytes = px_image_row_bytes(img, pl) / g * g;
			REQUIRE(p);
			if (!frames) {
				memcpy(result->first[pl], p, g);
				REQUIRE((ref[pl] = malloc(row_bytes)));
				for (uint64_t x = 0; x < row_bytes; x += g)
					memcpy(ref[pl] + x, p, g);
			}
			for (uint32_t y = 0; y < px_image_plane_rows(img, pl); y++) {
				const uint8_t *row = p + (uint64_t)y * img->planes[pl].stride;
				if (!memcmp(row, ref[pl], row_bytes))
					continue;
				uint64_t x = 0;
				while (row[x] == ref[pl][x])
					x++;
				fprintf(stderr,
					"%s: frame %llu: plane %u: byte %llu of row %u differs "
					"(%u, want %u)\n",
					running, (unsigned long long)f->seq, pl,
					(unsigned long long)x, y, row[x], ref[pl][x]);
				return 1;
			}
		}
		last_seq = f->images[0].sequence;
		last_ts = ts;
		last_frame = f->seq;
		frames++;
		px_frame_release(f);
	}
	for (uint32_t pl = 0; pl < PX_MAX_PLANES; pl++)
		free(ref[pl]);
	result->frames = frames;
	result->last_seq = last_seq;
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}


/* Lets the reliable subscriber take and release every frame. */
static void drain(struct px_publisher *pub)
{
	for (int t = 0; t < 500; t++) {
		px_publisher_dispatch(pub, 10);
		struct px_subscriber_info si;
		bool done = true;
		for (uint32_t k = 0; px_publisher_get_subscriber(pub, k, &si) == 0; k++)
			if (si.pending || si.leases)
				done = false;
		if (done)
			return;
	}
}

/* Streams until `frames` are published; returns the frame rate seen. */
static double stream(struct px_camera *cam, uint64_t frames)
{
	struct px_camera_stats cs;
	uint64_t t0 = px_now_ns(), t_first = 0, deadline = t0 + 30000000000ull;
	uint64_t n_first = 0;
	do {
		struct pollfd pfd = {.fd = px_camera_get_fd(cam), .events = POLLIN};
		REQUIRE(poll(&pfd, 1, 10) >= 0);
		int ret = px_camera_dispatch(cam);
		REQUIRE(ret >= 0);
		REQUIRE_OK(px_camera_get_stats(cam, &cs));
		if (!t_first && cs.frames) {
			t_first = px_now_ns();
			n_first = cs.frames;
		}
		REQUIRE(px_now_ns() < deadline);
	} while (cs.frames < frames);
	uint64_t t1 = px_now_ns();
	return t1 > t_first ? (double)(cs.frames - n_first) * 1e9 / (double)(t1 - t_first) : 0;
}

struct mode_result {
	bool ran;
	uint8_t first[PX_MAX_PLANES][8];
};

/* Streams a rig until `frames` sets are published; returns the rate seen. */
static double stream_rig(struct px_rig *rig, uint64_t frames)
{
	struct px_camera_stats cs;
	uint64_t deadline = px_now_ns() + 30000000000ull, t_first = 0, n_first = 0;
	do {
		struct pollfd pfd = {.fd = px_rig_get_fd(rig), .events = POLLIN};
		REQUIRE(poll(&pfd, 1, 10) >= 0);
		REQUIRE(px_rig_dispatch(rig) >= 0);
		REQUIRE_OK(px_camera_get_stats(px_rig_get_camera(rig, 0), &cs));
		if (!t_first && cs.frames) {
			t_first = px_now_ns();
			n_first = cs.frames;
		}
		REQUIRE(px_now_ns() < deadline);
	} while (cs.frames < frames);
	uint64_t t1 = px_now_ns();
	return t1 > t_first ? (double)(cs.frames - n_first) * 1e9 / (double)(t1 - t_first) : 0;
}

/* One format in one mode on `dev`; `v4l2_format` asks for a V4L2 format
 * exactly (0: the one that matches `fourcc`). dmabuf and copy modes start
 * the camera on a publisher made here; export mode goes through a rig,
 * which makes the publisher out of the camera's buffers. */
static void run(const char *dev, uint32_t fourcc, uint32_t v4l2_format, enum px_camera_io io,
		struct mode_result *out)
{
	char name[16];
	px_format_name(fourcc, name, sizeof(name));
	snprintf(running, sizeof(running), "%s %s%s", name, px_camera_io_name(io),
		 v4l2_format == V4L2_PIX_FMT_NV12M ? " NM12" : "");
	int fds = px_test_count_fds();
	struct px_camera *cam;
	struct px_camera_params cp = {.device = dev,
				      .fourcc = fourcc,
				      .v4l2_format = v4l2_format,
				      .width = WIDTH,
				      .height = HEIGHT,
				      .fps = FPS,
				      .io = io};
	REQUIRE_OK(px_camera_open(&cp, &cam));
	const struct px_set_layout *cl = px_camera_get_layout(cam);
	char why[200];
	REQUIRE_OK(px_layout_validate(cl, why, sizeof(why)));
	REQUIRE_EQ(cl->n_images, 1);
	REQUIRE_EQ(cl->n_buffers, v4l2_format == V4L2_PIX_FMT_NV12M ? 2 : 1);
	REQUIRE_EQ(cl->images[0].fourcc, fourcc);
	REQUIRE_EQ(cl->images[0].width, WIDTH);
	REQUIRE_EQ(cl->images[0].height, HEIGHT);
	REQUIRE(px_camera_get_fd(cam) >= 0);

	struct px_publisher *pub;
	struct px_rig *rig = NULL;
	pid_t pid;
	memset(result, 0, sizeof(*result));
	if (io == PX_CAMERA_IO_EXPORT) {
		REQUIRE_OK(px_rig_create(&cam, 1, &(struct px_rig_params){.io = io}, &rig));
		pub_layout = *px_rig_get_layout(rig);
		REQUIRE_OK(px_rig_start(rig, &(struct px_publisher_params){.topic = "v4l2"}));
		pub = px_rig_get_publisher(rig);
		REQUIRE_EQ(px_publisher_get_allocator(pub), PX_ALLOCATOR_EXTERNAL);
		REQUIRE(px_publisher_is_dmabuf(pub));
		REQUIRE(px_layout_equal(px_publisher_get_layout(pub), &pub_layout));
		/* Nothing is published before px_rig_dispatch(). */
		pid = px_test_fork(subscriber, NULL);
		px_test_wait_subscribers(pub, 1);
		REQUIRE_EQ(px_rig_io(rig), io);
		REQUIRE_EQ(px_camera_io(cam), io);
	} else {
		struct px_publisher_params pp = {
		    .topic = "v4l2",
		    .layout = cl,
		    .allocator = io == PX_CAMERA_IO_DMABUF ? PX_ALLOCATOR_DUMB : PX_ALLOCATOR_MEMFD,
		    .device = io == PX_CAMERA_IO_DMABUF ? vgem : NULL,
		};
		REQUIRE_OK(px_publisher_create(&pp, &pub));
		pub_layout = *px_publisher_get_layout(pub);
		REQUIRE_EQ(pub_layout.images[0].planes[0].stride, cl->images[0].planes[0].stride);
		pid = px_test_fork(subscriber, NULL);
		px_test_wait_subscribers(pub, 1);
		REQUIRE_OK(px_camera_start(cam, pub));
		REQUIRE_EQ(px_camera_io(cam), io);
		REQUIRE_EQ(px_camera_start(cam, pub), -EINVAL);
	}
	double fps = rig ? stream_rig(rig, FRAMES) : stream(cam, FRAMES);
	struct px_camera_stats cs;
	REQUIRE_OK(px_camera_get_stats(cam, &cs));
	struct px_publisher_stats ps;
	REQUIRE_OK(px_publisher_get_stats(pub, &ps));
	if (io == PX_CAMERA_IO_COPY)
		REQUIRE_EQ(cs.copies, cs.frames);
	else
		REQUIRE_EQ(cs.copies, 0);
	REQUIRE(cs.frames >= FRAMES);
	REQUIRE_EQ(ps.published, cs.frames);
	/* Zero-copy modes acquire only free slots: no waits on the publisher. */
	if (io != PX_CAMERA_IO_COPY)
		REQUIRE_EQ(ps.acquire_timeouts, 0);
	drain(pub);
	if (rig) {
		px_rig_destroy(rig); /* and the camera, and the publisher */
	} else {
		px_camera_stop(cam);
		px_publisher_destroy(pub);
		px_camera_close(cam);
	}
	REQUIRE_EQ(px_test_wait(pid, 30000), 0);
	REQUIRE_EQ(result->frames, cs.frames);
	REQUIRE(result->last_seq > result->first_seq);
	REQUIRE_EQ(px_test_count_fds(), fds);

	printf("v4l2: %-8s %-6s %-5s %llu frames, %llu copies, %llu requeues, %llu drops, "
	       "%llu discarded, %llu underruns, %.1f fps, first pixel group",
	       name, px_camera_io_name(io), v4l2_format == V4L2_PIX_FMT_NV12M ? "NM12" : "",
	       (unsigned long long)cs.frames, (unsigned long long)cs.copies,
	       (unsigned long long)cs.requeues, (unsigned long long)cs.drops,
	       (unsigned long long)cs.discarded, (unsigned long long)cs.underruns, fps);
	for (uint32_t p = 0; p < pub_layout.images[0].n_planes; p++) {
		printf("%s", p ? " |" : "");
		for (uint32_t i = 0; i < group_bytes(fourcc, p); i++)
			printf(" %u", result->first[p][i]);
	}
	printf("\n");
	fflush(stdout);
	out->ran = true;
	memcpy(out->first, result->first, sizeof(out->first));
}

/* What vivid draws for "100% Red", measured in the guest (Linux 6.1) and the
 * same through both modes: YCbCr in limited-range BT.601 (Y 81, Cb 90, Cr 239
 * — vivid rounds Cr to 239, not the textbook 240); grey as full-range luma
 * with BT.709 weights (54 = 0.2126 × 255; Y16: 54 << 8); RGB in full range,
 * alpha 0 (vivid's "Alpha Component" default). The RGB bytes confirm the
 * V4L2 → DRM mapping: RGB24 is bytes R, G, B as DRM's BGR888 says, XBGR32
 * bytes B, G, R, X as DRM's XRGB8888. */
static const struct {
	uint32_t fourcc;
	uint8_t planes[2][4];
} red[] = {
    {PX_FORMAT_YUYV, {{81, 90, 81, 239}}},
    {PX_FORMAT_UYVY, {{90, 81, 239, 81}}},
    {PX_FORMAT_NV12, {{81}, {90, 239}}},
    {PX_FORMAT_R8, {{54}}},
    {PX_FORMAT_R16, {{0, 54}}},
    {PX_FORMAT_BGR888, {{255, 0, 0}}},
    {PX_FORMAT_RGB888, {{0, 0, 255}}},
    {PX_FORMAT_XRGB8888, {{0, 0, 255, 0}}},
    {PX_FORMAT_ARGB8888, {{0, 0, 255, 0}}},
    {PX_FORMAT_XBGR8888, {{255, 0, 0, 0}}},
    {PX_FORMAT_ABGR8888, {{255, 0, 0, 0}}},
};

static void check_red(uint32_t fourcc, const uint8_t px[][8])
{
	for (size_t i = 0; i < PX_ARRAY_LEN(red); i++) {
		if (red[i].fourcc != fourcc)
			continue;
		for (uint32_t p = 0; p < px_format_get_info(fourcc)->n_planes; p++) {
			uint32_t n = group_bytes(fourcc, p);
			if (!memcmp(px[p], red[i].planes[p], n))
				continue;
			fprintf(stderr, "red, plane %u:", p);
			for (uint32_t b = 0; b < n; b++)
				fprintf(stderr, " %u (want %u)", px[p][b], red[i].planes[p][b]);
			fprintf(stderr, "\n");
			exit(1);
		}
		return;
	}
	REQUIRE(!"a format without its expected red");
}

static void misuse(bool have_card)
{
	int fds = px_test_count_fds();
	struct px_camera *cam = (void *)1;
	struct px_camera_params cp = {
	    .device = vivid, .fourcc = PX_FORMAT_P010, .width = WIDTH, .height = HEIGHT};
	REQUIRE_EQ(px_camera_open(&cp, &cam), -ENOTSUP);
	REQUIRE(cam == NULL);
	cp.device = "/dev/video-pixshare-missing";
	cp.fourcc = PX_FORMAT_YUYV;
	REQUIRE_EQ(px_camera_open(&cp, &cam), -ENOENT);
	REQUIRE_EQ(px_camera_open(NULL, &cam), -EINVAL);
	cp.device = vivid;
	cp.width = 0;
	REQUIRE_EQ(px_camera_open(&cp, &cam), -EINVAL);
	cp.width = 321;
	cp.height = 179;
	/* vivid's webcam input has fixed sizes: an odd one is adjusted. */
	REQUIRE_EQ(px_camera_open(&cp, &cam), -ENOTSUP);
	cp.width = WIDTH;
	cp.height = HEIGHT;
	cp.fps = FPS;

	/* dmabuf mode on memfds; auto takes copy there. */
	cp.io = PX_CAMERA_IO_DMABUF;
	REQUIRE_OK(px_camera_open(&cp, &cam));
	struct px_publisher *pub;
	struct px_publisher_params pp = {.topic = "v4l2-misuse",
					 .layout = px_camera_get_layout(cam),
					 .allocator = PX_ALLOCATOR_MEMFD};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	REQUIRE_EQ(px_camera_start(cam, pub), -ENOTSUP);
	REQUIRE_EQ(px_camera_dispatch(cam), -EINVAL);
	px_camera_close(cam);
	cp.io = PX_CAMERA_IO_AUTO;
	REQUIRE_OK(px_camera_open(&cp, &cam));
	REQUIRE_OK(px_camera_start(cam, pub));
	REQUIRE_EQ(px_camera_io(cam), PX_CAMERA_IO_COPY);
	/* A second open of a streaming device: busy. */
	struct px_camera *busy = (void *)1;
	REQUIRE_EQ(px_camera_open(&cp, &busy), -EBUSY);
	REQUIRE(busy == NULL);
	stream(cam, 3);
	/* Not dispatching for 0.5 s leaves vivid without buffers (4 in copy
	 * mode, 15 frames at 30 fps): the frames it skips show as gaps in its
	 * sequence numbers, counted as drops. */
	struct timespec half = {0, 500000000};
	nanosleep(&half, NULL);
	stream(cam, 10);
	struct px_camera_stats cs;
	REQUIRE_OK(px_camera_get_stats(cam, &cs));
	printf("v4l2: after a 0.5 s stall in copy mode: %llu frames, %llu drops\n",
	       (unsigned long long)cs.frames, (unsigned long long)cs.drops);
	REQUIRE(cs.drops >= 5);
	/* Closing a started camera stops it; its publisher still exists. */
	px_camera_close(cam);
	px_publisher_destroy(pub);

	if (have_card) {
		REQUIRE_OK(px_camera_open(&cp, &cam));
		pp.layout = px_camera_get_layout(cam);
		pp.allocator = PX_ALLOCATOR_DUMB;
		pp.device = vgem;
		REQUIRE_OK(px_publisher_create(&pp, &pub));
		REQUIRE_OK(px_camera_start(cam, pub));
		REQUIRE_EQ(px_camera_io(cam), PX_CAMERA_IO_DMABUF);
		stream(cam, 3);
		/* Stop and start again on the same publisher. */
		px_camera_stop(cam);
		REQUIRE_EQ(px_camera_io(cam), PX_CAMERA_IO_AUTO);
		REQUIRE_OK(px_camera_start(cam, pub));
		stream(cam, 6);
		REQUIRE_OK(px_camera_get_stats(cam, &cs));
		REQUIRE_EQ(cs.copies, 0);
		px_camera_stop(cam);
		/* Too few free slots to leave two buffers with the driver: the
		 * application holds all but one. */
		struct px_slot *held[PX_MAX_SLOTS];
		uint32_t n_held = 0;
		struct px_publisher_stats ps;
		for (;;) {
			REQUIRE_OK(px_publisher_get_stats(pub, &ps));
			if (ps.free_slots <= 1)
				break;
			REQUIRE_OK(px_publisher_acquire(pub, 0, &held[n_held++]));
		}
		REQUIRE_EQ(ps.free_slots, 1);
		REQUIRE_EQ(px_camera_start(cam, pub), -ENOBUFS);
		REQUIRE_OK(px_publisher_get_stats(pub, &ps));
		REQUIRE_EQ(ps.free_slots, 1); /* the one it had taken went back */
		while (n_held)
			px_publisher_cancel(pub, held[--n_held]);
		REQUIRE_OK(px_camera_start(cam, pub));
		stream(cam, 3);
		px_camera_close(cam);
		px_publisher_destroy(pub);
	}
	px_camera_close(NULL);
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("v4l2: misuse ok\n");
}

/* vivid's "Disconnect" button unregisters the device mid-stream: dispatch
 * reports ENODEV, the camera stops, and closing it leaks nothing. Uses the
 * last vivid device, apart from the one the other cases set up. */
static void unplug(bool have_card)
{
	char dev[64];
	int n = 0;
	while (px_vivid_find(n, V4L2_CAP_VIDEO_CAPTURE, dev, sizeof(dev)))
		n++;
	if (n < 2 || !px_vivid_find(n - 1, V4L2_CAP_VIDEO_CAPTURE, dev, sizeof(dev))) {
		printf("v4l2: unplug: needs a second vivid device, skipped\n");
		return;
	}
	int fds = px_test_count_fds();
	struct px_camera *cam;
	struct px_camera_params cp = {
	    .device = dev, .fourcc = PX_FORMAT_YUYV, .width = WIDTH, .height = HEIGHT, .fps = FPS};
	REQUIRE_OK(px_camera_open(&cp, &cam));
	struct px_publisher *pub;
	struct px_publisher_params pp = {
	    .topic = "v4l2-unplug",
	    .layout = px_camera_get_layout(cam),
	    .allocator = have_card ? PX_ALLOCATOR_DUMB : PX_ALLOCATOR_MEMFD,
	    .device = have_card ? vgem : NULL,
	};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	REQUIRE_OK(px_camera_start(cam, pub));
	stream(cam, 3);
	int ctl = open(dev, O_RDWR | O_CLOEXEC);
	REQUIRE(ctl >= 0);
	REQUIRE_OK(px_vivid_press(ctl, "Disconnect"));
	close(ctl);
	int ret = 0;
	for (int t = 0; t < 200 && ret >= 0; t++) {
		struct pollfd pfd = {.fd = px_camera_get_fd(cam), .events = POLLIN};
		REQUIRE(poll(&pfd, 1, 10) >= 0);
		ret = px_camera_dispatch(cam);
	}
	REQUIRE_EQ(ret, -ENODEV);
	/* Stopped: the slots it had queued are the publisher's again. */
	REQUIRE_EQ(px_camera_dispatch(cam), -EINVAL);
	struct px_publisher_stats ps;
	REQUIRE_OK(px_publisher_get_stats(pub, &ps));
	REQUIRE(ps.free_slots + 1 >= px_publisher_get_pool_size(pub));
	px_camera_close(cam);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_count_fds(), fds);
	/* vivid comes back once its last user has closed it: reopen and
	 * stream again. */
	REQUIRE_OK(px_camera_open(&cp, &cam));
	pp.layout = px_camera_get_layout(cam);
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	REQUIRE_OK(px_camera_start(cam, pub));
	stream(cam, 3);
	px_camera_close(cam);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("v4l2: unplug of %s: ENODEV, stopped cleanly, reopened and streamed again\n", dev);
}

/* FNV-1a over a frame's bytes. */
static uint64_t checksum(const struct px_frame *f)
{
	const uint8_t *p = f->buffers[0].data;
	uint64_t h = 1469598103934665603ull;
	for (uint64_t i = 0; i < pub_layout.buffer_sizes[0]; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* A slow subscriber that holds two frames at a time, each for 200 ms: a
 * frame's bytes must be the same at release as at delivery (the camera
 * never queues a held slot to the driver), and consecutive frames differ
 * (the pattern moves, so an overwrite would show). */
static int slow_subscriber(void *arg)
{
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {
	    .topic = "v4l2",
	    .qos = PX_QOS_LATEST,
	    .max_leases = 2,
	    .connect_timeout_ms = 5000,
	    .name = "slow",
	    .flags = PX_SUBSCRIBER_NO_RECONNECT,
	};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	struct px_frame *prev = NULL;
	uint64_t prev_sum = 0, frames = 0;
	struct timespec hold = {0, 100000000};
	for (;;) {
		struct px_frame *f;
		int ret = px_subscriber_receive(sub, &f, 10000);
		if (ret == -EPIPE)
			break;
		REQUIRE_OK(ret);
		uint64_t sum = checksum(f);
		REQUIRE(sum != prev_sum);
		/* Two frames held (the lease limit) for 100 ms. */
		nanosleep(&hold, NULL);
		if (prev) {
			REQUIRE_EQ(checksum(prev), prev_sum);
			px_frame_release(prev);
		}
		prev = f;
		prev_sum = sum;
		frames++;
	}
	if (prev) {
		REQUIRE_EQ(checksum(prev), prev_sum);
		px_frame_release(prev);
	}
	result->frames = frames;
	px_subscriber_destroy(sub);
	return 0;
}

static void slow(int ctl)
{
	if (px_vivid_set_menu(ctl, "Test Pattern", "75% Colorbar") ||
	    px_vivid_set_menu(ctl, "Horizontal Movement", "Move Right Fast")) {
		printf("v4l2: slow subscriber: vivid cannot move its pattern, skipped\n");
		return;
	}
	int fds = px_test_count_fds();
	struct px_camera *cam;
	struct px_camera_params cp = {.device = vivid,
				      .fourcc = PX_FORMAT_YUYV,
				      .width = WIDTH,
				      .height = HEIGHT,
				      .fps = FPS,
				      .io = PX_CAMERA_IO_DMABUF};
	REQUIRE_OK(px_camera_open(&cp, &cam));
	struct px_publisher *pub;
	/* 5 slots, the fewest the publisher allows for 2 leases (2 + leases):
	 * the newest frame (kept for subscribers that join) and the
	 * subscriber's 2 leases leave the driver exactly 2, never fewer. */
	struct px_publisher_params pp = {
	    .topic = "v4l2",
	    .layout = px_camera_get_layout(cam),
	    .pool_size = 5,
	    .max_subscribers = 1,
	    .allocator = PX_ALLOCATOR_DUMB,
	    .device = vgem,
	};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	pub_layout = *px_publisher_get_layout(pub);
	memset(result, 0, sizeof(*result));
	pid_t pid = px_test_fork(slow_subscriber, NULL);
	px_test_wait_subscribers(pub, 1);
	REQUIRE_OK(px_camera_start(cam, pub));
	stream(cam, FRAMES);
	struct px_camera_stats cs;
	REQUIRE_OK(px_camera_get_stats(cam, &cs));
	px_camera_stop(cam);
	drain(pub);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_wait(pid, 30000), 0);
	px_camera_close(cam);
	REQUIRE_EQ(px_test_count_fds(), fds);
	REQUIRE_EQ(cs.copies, 0);
	printf("v4l2: slow subscriber (dmabuf, 5 slots, 2 leases held 200 ms): %llu frames "
	       "published, %llu received, no held frame overwritten; %llu drops, "
	       "%llu underruns\n",
	       (unsigned long long)cs.frames, (unsigned long long)result->frames,
	       (unsigned long long)cs.drops, (unsigned long long)cs.underruns);
	REQUIRE(result->frames >= 5);
	REQUIRE_EQ(cs.underruns, 0);
	REQUIRE_OK(px_vivid_set_menu(ctl, "Horizontal Movement", "No Movement"));
}

int main(void)
{
	px_test_dir();
	if (!px_vivid_find(0, V4L2_CAP_VIDEO_CAPTURE, vivid, sizeof(vivid)))
		SKIP("no vivid capture device (/dev/video*): the vm tier runs this");
	bool have_card = px_test_find_card(vgem, sizeof(vgem), false);
	if (!have_card)
		fprintf(stderr, "no DRM card: dmabuf mode not tested\n");
	printf("v4l2: %s, dumb buffers on %s\n", vivid, have_card ? vgem : "(none)");
	int fds = px_test_count_fds();
	result =
	    mmap(NULL, sizeof(*result), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(result != MAP_FAILED);

	int ctl = open(vivid, O_RDWR | O_CLOEXEC);
	REQUIRE(ctl >= 0);
	REQUIRE_OK(px_vivid_set_menu(ctl, "Test Pattern", "100% Red"));
	if (px_vivid_set_menu(ctl, "OSD Text Mode", "None"))
		fprintf(stderr, "vivid has no OSD Text Mode control\n");

	static const struct {
		uint32_t drm, v4l2;
	} formats[] = {
	    {PX_FORMAT_YUYV, V4L2_PIX_FMT_YUYV},       {PX_FORMAT_BGR888, V4L2_PIX_FMT_RGB24},
	    {PX_FORMAT_R8, V4L2_PIX_FMT_GREY},	       {PX_FORMAT_UYVY, V4L2_PIX_FMT_UYVY},
	    {PX_FORMAT_NV12, V4L2_PIX_FMT_NV12},       {PX_FORMAT_R16, V4L2_PIX_FMT_Y16},
	    {PX_FORMAT_RGB888, V4L2_PIX_FMT_BGR24},    {PX_FORMAT_XRGB8888, V4L2_PIX_FMT_XBGR32},
	    {PX_FORMAT_ARGB8888, V4L2_PIX_FMT_ABGR32}, {PX_FORMAT_XBGR8888, V4L2_PIX_FMT_RGBX32},
	    {PX_FORMAT_ABGR8888, V4L2_PIX_FMT_RGBA32},
	};
	for (size_t i = 0; i < PX_ARRAY_LEN(formats); i++) {
		char name[16];
		px_format_name(formats[i].drm, name, sizeof(name));
		if (!offers(ctl, formats[i].v4l2)) {
			REQUIRE(i > 2); /* YUYV, RGB24 and GREY are musts */
			printf("v4l2: %s: vivid does not offer it, skipped\n", name);
			continue;
		}
		struct mode_result copy = {0}, dmabuf = {0}, export = {0};
		run(vivid, formats[i].drm, 0, PX_CAMERA_IO_COPY, &copy);
		if (have_card) {
			run(vivid, formats[i].drm, 0, PX_CAMERA_IO_DMABUF, &dmabuf);
			REQUIRE(!memcmp(copy.first, dmabuf.first, sizeof(copy.first)));
		}
		run(vivid, formats[i].drm, 0, PX_CAMERA_IO_EXPORT, &export);
		REQUIRE(!memcmp(copy.first, export.first, sizeof(copy.first)));
		check_red(formats[i].drm, (const uint8_t(*)[8])copy.first);
	}
	/* The multi-planar API: NV12 in one buffer and in two (NV12M), and a
	 * packed format, in every mode. */
	char mplane[64];
	if (px_vivid_find(0, V4L2_CAP_VIDEO_CAPTURE_MPLANE, mplane, sizeof(mplane))) {
		int mctl = open(mplane, O_RDWR | O_CLOEXEC);
		REQUIRE(mctl >= 0);
		REQUIRE_OK(px_vivid_set_menu(mctl, "Test Pattern", "100% Red"));
		px_vivid_set_menu(mctl, "OSD Text Mode", "None");
		close(mctl);
		printf("v4l2: multi-planar API on %s\n", mplane);
		static const struct {
			uint32_t drm, v4l2;
		} mp[] = {{PX_FORMAT_NV12, V4L2_PIX_FMT_NV12M},
			  {PX_FORMAT_NV12, V4L2_PIX_FMT_NV12},
			  {PX_FORMAT_YUYV, V4L2_PIX_FMT_YUYV}};
		for (size_t i = 0; i < PX_ARRAY_LEN(mp); i++) {
			struct mode_result r[3] = {{0}};
			run(mplane, mp[i].drm, mp[i].v4l2, PX_CAMERA_IO_COPY, &r[0]);
			if (have_card) {
				run(mplane, mp[i].drm, mp[i].v4l2, PX_CAMERA_IO_DMABUF, &r[1]);
				REQUIRE(!memcmp(r[0].first, r[1].first, sizeof(r[0].first)));
			}
			run(mplane, mp[i].drm, mp[i].v4l2, PX_CAMERA_IO_EXPORT, &r[2]);
			REQUIRE(!memcmp(r[0].first, r[2].first, sizeof(r[0].first)));
			check_red(mp[i].drm, (const uint8_t(*)[8])r[0].first);
		}
	} else {
		printf("v4l2: no multi-planar vivid instance (vivid.multiplanar=2): "
		       "the multi-planar API is not tested\n");
	}
	if (have_card)
		slow(ctl);
	close(ctl);
	misuse(have_card);
	unplug(have_card);
	munmap(result, sizeof(*result));
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("v4l2: ok\n");
	return 0;
}
