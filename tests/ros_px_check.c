/* SPDX-License-Identifier: MIT */
/*
 * The pixshare side of tests/test_ros_bridge.sh, for the way from ROS: a
 * subscriber of the topic `pixshare ros-bridge --from-ros` publishes, whose
 * images tests/ros_node publish drew.
 *
 *   ros_px_check TOPIC FORMAT IMAGES COUNT [TOLERANCE-US]
 *
 * Takes COUNT sets (waiting up to 20 s for the topic and 20 s for each set)
 * and checks that the layout has IMAGES images of FORMAT, that image i of
 * every set is image i of the test pattern pixel for pixel, that every image
 * of a set is of the same frame (the bridge matched them by their stamps),
 * and that each image's timestamp is the capture time the pixels carry
 * (CLOCK_MONOTONIC; through ROS's wall clock and back) within TOLERANCE-US
 * µs (default 1000). Exits 0, or 1 with the first problems on stderr.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pixshare/pixshare.h>

#define WAIT_MS 20000

static uint64_t failures;

static void fail(const char *fmt, ...) PX_PRINTF(1, 2);
static void fail(const char *fmt, ...)
{
	va_list ap;

	if (failures++ >= 5)
		return;
	va_start(ap, fmt);
	fputs("ros_px_check: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void check_set(const struct px_frame *f, uint32_t images, double tolerance_us,
		      double *max_error_us)
{
	uint64_t frame = 0;

	if (f->valid_mask != (1u << images) - 1) {
		fail("set %llu: valid mask 0x%x", (unsigned long long)f->seq, f->valid_mask);
		return;
	}
	for (uint32_t i = 0; i < images; i++) {
		const struct px_image_layout *im = &f->layout->images[i];
		const void *planes[PX_MAX_PLANES] = {NULL};
		struct px_pattern_params pp;
		char why[192] = "";

		for (uint32_t p = 0; p < im->n_planes; p++)
			planes[p] = px_frame_plane(f, i, p);
		if (px_pattern_decode(im, planes, &pp)) {
			fail("set %llu image %u: no test pattern code", (unsigned long long)f->seq,
			     i);
			return;
		}
		if (pp.image_index != i)
			fail("set %llu image %u: carries image %u of its frame",
			     (unsigned long long)f->seq, i, pp.image_index);
		if (i == 0)
			frame = pp.frame;
		else if (pp.frame != frame)
			fail("set %llu: image 0 is of frame %llu, image %u of frame %llu",
			     (unsigned long long)f->seq, (unsigned long long)frame, i,
			     (unsigned long long)pp.frame);
		if (px_pattern_verify(im, planes, &pp, why, sizeof(why)))
			fail("set %llu image %u (frame %llu): %s", (unsigned long long)f->seq, i,
			     (unsigned long long)pp.frame, why);
		double err = ((double)f->images[i].timestamp_ns - (double)pp.timestamp_ns) / 1e3;
		if (err < 0)
			err = -err;
		if (err > *max_error_us)
			*max_error_us = err;
		if (err > tolerance_us)
			fail("set %llu image %u: timestamp %llu ns is %.1f µs from the capture "
			     "time %llu ns",
			     (unsigned long long)f->seq, i,
			     (unsigned long long)f->images[i].timestamp_ns, err,
			     (unsigned long long)pp.timestamp_ns);
	}
}

int main(int argc, char **argv)
{
	uint32_t fourcc;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: ros_px_check TOPIC FORMAT IMAGES COUNT [TOLERANCE-US]\n");
		return 2;
	}
	const char *topic = argv[1];
	if (px_format_from_name(argv[2], &fourcc)) {
		fprintf(stderr, "ros_px_check: unknown format '%s'\n", argv[2]);
		return 2;
	}
	uint32_t images = (uint32_t)strtoul(argv[3], NULL, 10);
	uint64_t count = strtoull(argv[4], NULL, 10);
	double tolerance_us = argc > 5 ? strtod(argv[5], NULL) : 1000;
	if (images < 1 || images > PX_MAX_IMAGES || !count || !(tolerance_us > 0)) {
		fprintf(stderr, "ros_px_check: bad IMAGES, COUNT or TOLERANCE-US\n");
		return 2;
	}

	struct px_subscriber_params p = {
	    .topic = topic,
	    .qos = PX_QOS_RELIABLE,
	    .flags = PX_SUBSCRIBER_NO_RECONNECT,
	    .connect_timeout_ms = WAIT_MS,
	    .name = "ros_px_check",
	};
	struct px_subscriber *sub;
	int ret = px_subscriber_create(&p, &sub);
	if (ret) {
		fprintf(stderr, "ros_px_check: cannot subscribe to '%s': %s\n", topic,
			px_strerror(ret));
		return 1;
	}
	const struct px_set_layout *l = px_subscriber_get_layout(sub);
	if (!l || l->n_images != images) {
		fprintf(stderr, "ros_px_check: '%s' has %u images, not %u\n", topic,
			l ? l->n_images : 0, images);
		px_subscriber_destroy(sub);
		return 1;
	}
	for (uint32_t i = 0; i < images; i++)
		if (l->images[i].fourcc != fourcc) {
			char name[32];
			fprintf(stderr, "ros_px_check: image %u is %s, not %s\n", i,
				px_format_name(l->images[i].fourcc, name, sizeof(name)), argv[2]);
			px_subscriber_destroy(sub);
			return 1;
		}

	double max_error_us = 0;
	uint64_t sets = 0;
	while (sets < count) {
		struct px_frame *f;
		ret = px_subscriber_receive(sub, &f, WAIT_MS);
		if (ret) {
			fprintf(stderr, "ros_px_check: after %llu sets: %s\n",
				(unsigned long long)sets, px_strerror(ret));
			px_subscriber_destroy(sub);
			return 1;
		}
		check_set(f, images, tolerance_us, &max_error_us);
		px_frame_release(f);
		sets++;
	}
	px_subscriber_destroy(sub);
	printf("checked: %llu sets of %u images, %llu bad; timestamps within %.1f µs of the "
	       "capture time\n",
	       (unsigned long long)sets, images, (unsigned long long)failures, max_error_us);
	return failures ? 1 : 0;
}
