/* SPDX-License-Identifier: MIT */
/*
 * The smallest complete publisher: a set of two test-pattern images,
 * published 30 times a second.
 *
 * It draws with the layout the publisher made, px_publisher_get_layout(),
 * not with the one it asked for: an allocator may change strides, offsets
 * and modifiers (GBM pads rows as its driver wants), and the real layout is
 * the only one that says where the pixels go. An image of your own (say,
 * packed RGB from a decoder) goes in with px_image_write(), which honours
 * those strides and converts RGB to YUV.
 *
 *     publisher [TOPIC [FRAMES]]      (defaults: "example", 300)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <pixshare/pixshare.h>

int main(int argc, char **argv)
{
	const char *topic = argc > 1 ? argv[1] : "example";
	unsigned long frames = argc > 2 ? strtoul(argv[2], NULL, 10) : 300;

	/* Two cameras' worth of images, packed linearly, rows aligned to 64 bytes. */
	struct px_image_desc images[2] = {
		{PX_FORMAT_YUYV, 640, 480},
		{PX_FORMAT_NV12, 640, 480},
	};
	struct px_set_layout layout;
	if (px_layout_init_packed(&layout, 2, images, 64, PX_PACK_PER_IMAGE))
		return 1;

	struct px_publisher *pub;
	struct px_publisher_params params = {.topic = topic, .layout = &layout};
	int ret = px_publisher_create(&params, &pub);
	if (ret) {
		fprintf(stderr, "publisher: %s\n", px_strerror(ret));
		return 1;
	}
	/* Where the pixels really go: the allocator's strides, not ours. */
	const struct px_set_layout *real = px_publisher_get_layout(pub);

	for (unsigned long n = 1; n <= frames; n++) {
		struct px_slot *slot;
		ret = px_publisher_acquire(pub, 1000, &slot);
		if (ret) {
			fprintf(stderr, "acquire: %s\n", px_strerror(ret));
			break;
		}
		/* Draw into the shared buffers directly: nothing is copied later.
		 * Each image's capture time and sequence travel with the frame. */
		struct px_publish_info info = {0};
		for (uint32_t i = 0; i < real->n_images; i++) {
			void *planes[PX_MAX_PLANES] = {px_slot_plane(slot, i, 0),
						       px_slot_plane(slot, i, 1)};
			info.images[i].timestamp_ns = px_now_ns();
			info.images[i].sequence = n;
			struct px_pattern_params p = {.frame = n, .image_index = i,
						      .timestamp_ns = info.images[i].timestamp_ns};
			px_pattern_draw(&real->images[i], planes, &p);
		}
		px_publisher_publish(pub, slot, &info);
		/* Serve subscribers while waiting for the next frame. */
		px_publisher_dispatch(pub, 33);
	}
	px_publisher_destroy(pub);
	return ret ? 1 : 0;
}
