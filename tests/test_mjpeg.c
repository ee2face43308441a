/* SPDX-License-Identifier: MIT */
/*
 * Compressed images (PX_FORMAT_MJPEG) pass through as bytes: a set of one
 * MJPEG image and one YUYV image goes to a subscriber in another process,
 * every frame with another size; the subscriber sees each frame's size and
 * bytes. The publisher refuses sizes that are 0 or past the buffer for a
 * compressed image and any size for a raw one; a frame published without
 * info covers the whole buffer. Layouts: stride 0 only, not made by
 * px_layout_init_packed(), not listed by px_format_list().
 */
#include <errno.h>

#include <pixshare/pixshare.h>

#include "px_testutil.h"

#define FRAMES 60
#define ROOM 100000

static struct px_set_layout layout;

static uint64_t size_of(uint64_t seq)
{
	return seq == FRAMES + 1 ? ROOM : 1 + (seq * 7919) % (ROOM - 1);
}

static uint8_t byte_of(uint64_t seq, uint64_t i)
{
	return (uint8_t)(seq * 31 + i * 7);
}

static int subscriber(void *arg)
{
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = "mjpeg",
					  .qos = PX_QOS_RELIABLE,
					  .connect_timeout_ms = 5000,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT};
	int fds = px_test_count_fds();
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	REQUIRE(px_layout_equal(px_subscriber_get_layout(sub), &layout));
	uint64_t n = 0;
	for (;;) {
		struct px_frame *f;
		int ret = px_subscriber_receive(sub, &f, 10000);
		if (ret == -EPIPE)
			break;
		REQUIRE_OK(ret);
		REQUIRE_EQ(f->images[0].bytes, size_of(f->seq));
		REQUIRE_EQ(f->images[1].bytes, 0);
		const uint8_t *p = px_frame_plane(f, 0, 0);
		REQUIRE(p);
		/* The frame's bytes; the whole-buffer frame was not written. */
		if (f->seq <= FRAMES)
			for (uint64_t i = 0; i < f->images[0].bytes; i++)
				if (p[i] != byte_of(f->seq, i)) {
					fprintf(stderr, "frame %llu byte %llu: %u\n",
						(unsigned long long)f->seq, (unsigned long long)i,
						p[i]);
					return 1;
				}
		n++;
		px_frame_release(f);
	}
	REQUIRE_EQ(n, FRAMES + 1);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}


static void layouts(void)
{
	char why[200];
	struct px_image_desc d = {PX_FORMAT_MJPEG, 640, 480};
	struct px_set_layout l;
	REQUIRE_EQ(px_layout_init_packed(&l, 1, &d, 0, PX_PACK_PER_IMAGE), -EINVAL);
	uint32_t fmts[64];
	size_t n = px_format_list(fmts, 64);
	for (size_t i = 0; i < n; i++)
		REQUIRE(fmts[i] != PX_FORMAT_MJPEG);
	const struct px_format_info *info = px_format_get_info(PX_FORMAT_MJPEG);
	REQUIRE(info && info->compressed && info->n_planes == 1);
	l = layout;
	REQUIRE_OK(px_layout_validate(&l, why, sizeof(why)));
	l.images[0].planes[0].stride = 640;
	REQUIRE_EQ(px_layout_validate(&l, why, sizeof(why)), -EINVAL);
	REQUIRE(strstr(why, "stride"));
	uint32_t fourcc;
	REQUIRE_OK(px_format_from_name("MJPEG", &fourcc));
	REQUIRE_EQ(fourcc, PX_FORMAT_MJPEG);
}

int main(void)
{
	px_test_dir();
	/* Image 0: MJPEG in buffer 0; image 1: YUYV 64x32 in buffer 1. */
	struct px_image_desc yuyv = {PX_FORMAT_YUYV, 64, 32};
	struct px_set_layout raw;
	REQUIRE_OK(px_layout_init_packed(&raw, 1, &yuyv, 0, PX_PACK_PER_IMAGE));
	memset(&layout, 0, sizeof(layout));
	layout.n_images = 2;
	layout.n_buffers = 2;
	layout.buffer_sizes[0] = ROOM;
	layout.buffer_sizes[1] = raw.buffer_sizes[0];
	layout.images[0] = (struct px_image_layout){.fourcc = PX_FORMAT_MJPEG,
						    .width = 640,
						    .height = 480,
						    .n_planes = 1,
						    .modifier = PX_MODIFIER_LINEAR};
	layout.images[1] = raw.images[0];
	layout.images[1].planes[0].buffer = 1;
	layouts();

	int fds = px_test_count_fds();
	struct px_publisher *pub;
	struct px_publisher_params pp = {
	    .topic = "mjpeg", .layout = &layout, .allocator = PX_ALLOCATOR_MEMFD};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	pid_t pid = px_test_fork(subscriber, NULL);
	px_test_wait_subscribers(pub, 1);

	struct px_slot *s;
	struct px_publish_info info = {0};
	/* Refusals, each leaving the slot with the application. */
	REQUIRE_OK(px_publisher_acquire(pub, 1000, &s));
	info.images[0].bytes = 0;
	REQUIRE_EQ(px_publisher_publish(pub, s, &info), -EINVAL);
	info.images[0].bytes = ROOM + 1;
	REQUIRE_EQ(px_publisher_publish(pub, s, &info), -EINVAL);
	info.images[0].bytes = 10;
	info.images[1].bytes = 10;
	REQUIRE_EQ(px_publisher_publish(pub, s, &info), -EINVAL);
	info.images[1].bytes = 0;
	info.valid_mask = 2; /* image 0 absent: no size either */
	REQUIRE_EQ(px_publisher_publish(pub, s, &info), -EINVAL);
	info.valid_mask = 0;
	px_publisher_cancel(pub, s);

	for (uint64_t seq = 1; seq <= FRAMES; seq++) {
		REQUIRE_OK(px_publisher_acquire(pub, 5000, &s));
		uint8_t *p = px_slot_plane(s, 0, 0);
		uint64_t size = size_of(seq);
		for (uint64_t i = 0; i < size; i++)
			p[i] = byte_of(seq, i);
		info.images[0].bytes = size;
		REQUIRE_OK(px_publisher_publish(pub, s, &info));
		px_publisher_dispatch(pub, 0);
	}
	/* Without info: the whole buffer. */
	REQUIRE_OK(px_publisher_acquire(pub, 5000, &s));
	REQUIRE_OK(px_publisher_publish(pub, s, NULL));
	for (int t = 0; t < 300; t++) {
		px_publisher_dispatch(pub, 10);
		struct px_subscriber_info si;
		if (px_publisher_get_subscriber(pub, 0, &si) || (!si.pending && !si.leases))
			break;
	}
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_wait(pid, 30000), 0);
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("mjpeg: %d frames of 1 to %d bytes passed through, sizes checked\n", FRAMES + 1,
	       ROOM);
	return 0;
}
