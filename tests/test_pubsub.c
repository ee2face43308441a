/* SPDX-License-Identifier: MIT */
/*
 * A publisher and subscribers in other processes: every frame's content is
 * verified pixel-exactly against the test pattern, sequence numbers have no
 * gaps, and no fd is leaked on either side.
 */
#include <errno.h>
#include <sys/mman.h>

#include <pixshare/pixshare.h>

#include "px_testutil.h"

#define FRAMES 120

static struct px_set_layout layout;

/* Every format in one set, at odd sizes, one buffer per image. */
static void make_layout(enum px_packing packing)
{
	struct px_image_desc d[] = {
		{PX_FORMAT_YUYV, 160, 100},    {PX_FORMAT_NV12, 99, 61},
		{PX_FORMAT_XRGB8888, 65, 9},   {PX_FORMAT_R8, 333, 171},
		{PX_FORMAT_RGB888, 17, 13},    {PX_FORMAT_P010, 66, 34},
		{PX_FORMAT_UYVY, 7, 5},        {PX_FORMAT_R16, 64, 8},
		{PX_FORMAT_ABGR8888, 1, 1},    {PX_FORMAT_BGR888, 128, 16},
		{PX_FORMAT_ARGB8888, 80, 60},  {PX_FORMAT_XBGR8888, 3, 1},
	};
	REQUIRE_OK(px_layout_init_packed(&layout, PX_ARRAY_LEN(d), d, 64, packing));
}

static int subscriber(void *arg)
{
	enum px_qos qos = (enum px_qos)(intptr_t)arg;
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {
		.topic = "pubsub", .qos = qos, .connect_timeout_ms = 5000, .name = "checker",
		.flags = PX_SUBSCRIBER_NO_RECONNECT,
	};
	int fds = px_test_count_fds();
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	REQUIRE(px_layout_equal(px_subscriber_get_layout(sub), &layout));
	struct px_topic_info info;
	REQUIRE_OK(px_subscriber_get_topic_info(sub, &info));
	REQUIRE_EQ(info.allocator, PX_ALLOCATOR_MEMFD);
	REQUIRE(!info.dmabuf);
	REQUIRE_EQ(info.publisher_pid, getppid());

	uint64_t last = 0, frames = 0;
	for (;;) {
		struct px_frame *f;
		int ret = px_subscriber_receive(sub, &f, 5000);
		if (ret == -EPIPE)
			break;
		REQUIRE_OK(ret);
		REQUIRE(f->seq > last);
		if (qos == PX_QOS_RELIABLE && last)
			REQUIRE_EQ(f->seq, last + 1);
		REQUIRE_EQ(f->valid_mask, (1u << layout.n_images) - 1);
		REQUIRE(f->receive_ns >= f->publish_ns);
		for (uint32_t i = 0; i < layout.n_images; i++) {
			const void *planes[PX_MAX_PLANES] = {0};
			for (uint32_t p = 0; p < layout.images[i].n_planes; p++)
				REQUIRE((planes[p] = px_frame_plane(f, i, p)));
			struct px_pattern_params pp = {
				.frame = f->seq, .image_index = i,
				.timestamp_ns = f->images[i].timestamp_ns,
			};
			char why[200];
			if (px_pattern_verify(&layout.images[i], planes, &pp, why, sizeof(why))) {
				fprintf(stderr, "frame %llu image %u: %s\n",
					(unsigned long long)f->seq, i, why);
				return 1;
			}
			REQUIRE_EQ(f->images[i].sequence, f->seq * 10 + i);
		}
		last = f->seq;
		frames++;
		px_frame_release(f);
	}
	struct px_subscriber_stats st;
	REQUIRE_OK(px_subscriber_get_stats(sub, &st));
	REQUIRE_EQ(st.copies, 0);
	REQUIRE_EQ(st.held, 0);
	if (qos == PX_QOS_RELIABLE) {
		REQUIRE_EQ(frames, FRAMES);
		REQUIRE_EQ(st.dropped_publisher + st.dropped_superseded, 0);
	}
	REQUIRE(frames > 0);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}

static void run(enum px_packing packing, int n_subs)
{
	make_layout(packing);
	int fds = px_test_count_fds();
	struct px_publisher *pub;
	struct px_publisher_params pp = {.topic = "pubsub", .layout = &layout,
					 .allocator = PX_ALLOCATOR_MEMFD};
	REQUIRE_OK(px_publisher_create(&pp, &pub));

	pid_t pids[4];
	for (int i = 0; i < n_subs; i++)
		pids[i] = px_test_fork(subscriber,
				       (void *)(intptr_t)(i == 0 ? PX_QOS_RELIABLE : PX_QOS_LATEST));
	/* Wait until everyone streams, so that the reliable one sees every frame. */
	struct px_publisher_stats st;
	for (int t = 0; t < 1000; t++) {
		px_publisher_dispatch(pub, 10);
		REQUIRE_OK(px_publisher_get_stats(pub, &st));
		if (st.n_subscribers == (uint32_t)n_subs)
			break;
	}
	REQUIRE_EQ(st.n_subscribers, n_subs);

	for (uint64_t n = 1; n <= FRAMES; n++) {
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 5000, &slot));
		struct px_publish_info info = {0};
		for (uint32_t i = 0; i < layout.n_images; i++) {
			void *planes[PX_MAX_PLANES] = {0};
			for (uint32_t p = 0; p < layout.images[i].n_planes; p++)
				planes[p] = px_slot_plane(slot, i, p);
			info.images[i].timestamp_ns = px_now_ns();
			info.images[i].sequence = n * 10 + i;
			struct px_pattern_params tp = {.frame = n, .image_index = i,
						       .timestamp_ns = info.images[i].timestamp_ns};
			REQUIRE_OK(px_pattern_draw(&layout.images[i], planes, &tp));
		}
		REQUIRE_OK(px_publisher_publish(pub, slot, &info));
	}
	/* Let the reliable subscriber take the last frames, then end the streams. */
	for (int t = 0; t < 500; t++) {
		px_publisher_dispatch(pub, 10);
		struct px_subscriber_info si;
		REQUIRE_OK(px_publisher_get_subscriber(pub, 0, &si));
		bool done = true;
		for (uint32_t k = 0; px_publisher_get_subscriber(pub, k, &si) == 0; k++)
			if (si.qos == PX_QOS_RELIABLE && (si.pending || si.leases))
				done = false;
		if (done)
			break;
	}
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.published, FRAMES);
	REQUIRE_EQ(st.protocol_errors, 0);
	px_publisher_destroy(pub);
	for (int i = 0; i < n_subs; i++)
		REQUIRE_EQ(px_test_wait(pids[i], 30000), 0);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

int main(void)
{
	px_test_dir();
	run(PX_PACK_PER_IMAGE, 1);
	run(PX_PACK_BATCH, 3);
	printf("pubsub: ok\n");
	return 0;
}
