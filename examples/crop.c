/* SPDX-License-Identifier: MIT */
/*
 * Cropping on the GPU: subscribes to a topic, cuts the same rectangle out of
 * every image of one frame's set in one Vulkan dispatch, and writes the
 * pieces, one below the other, to a PNG.
 *
 *     example_crop TOPIC OUT.png X,Y,W,H
 *
 * The rectangle is in source pixels, W × H from (X, Y), and must lie inside
 * every image. It is copied 1:1 (nearest filter: exact pixels, converted to
 * RGBA).
 */
#include <stdio.h>
#include <string.h>

#include "gpu_common.h"

static const char usage[] = "usage: example_crop TOPIC OUT.png X,Y,W,H\n";

int main(int argc, char **argv)
{
	const char *topic = NULL, *out = NULL, *rect = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!topic) {
			topic = argv[i];
		} else if (!out) {
			out = argv[i];
		} else if (!rect) {
			rect = argv[i];
		}
	}
	unsigned x, y, w, h;
	char end;
	if (!topic || !out || !rect) {
		fputs(usage, stderr);
		return 2;
	}
	if (sscanf(rect, "%u,%u,%u,%u%c", &x, &y, &w, &h, &end) != 4 || !w || !h) {
		fprintf(stderr, "bad rectangle '%s': X,Y,W,H with W and H above 0\n%s", rect,
			usage);
		return 2;
	}

	struct px_subscriber *sub;
	struct px_vk *vk;
	if (gpu_example_open(topic, &sub, &vk))
		return 1;

	/* Image i of the set, its rectangle at its own size. */
	const struct px_set_layout *layout = px_subscriber_get_layout(sub);
	struct px_transform_image ims[PX_MAX_IMAGES] = {0};
	struct px_transform *t = NULL;
	struct px_frame *frame = NULL;
	int ret;
	for (uint32_t i = 0; i < layout->n_images; i++) {
		const struct px_image_layout *src = &layout->images[i];
		/* px_transform_run() would refuse it too, but say why here. */
		if ((uint64_t)x + w > src->width || (uint64_t)y + h > src->height) {
			fprintf(stderr, "crop %u,%u,%u,%u lies outside image %u (%ux%u)\n", x, y, w,
				h, i, src->width, src->height);
			ret = 1;
			goto out;
		}
		ims[i] = (struct px_transform_image){.src_image = i,
						     .crop_x = x,
						     .crop_y = y,
						     .crop_width = w,
						     .crop_height = h,
						     .out_width = w,
						     .out_height = h,
						     .filter = PX_FILTER_NEAREST};
	}
	uint32_t width, height;
	gpu_example_stack(ims, layout->n_images, &width, &height);
	printf("%u images of %ux%u: %ux%u from (%u, %u)\n", layout->n_images,
	       layout->images[0].width, layout->images[0].height, w, h, x, y);

	struct px_transform_params tp = {
	    .n_images = layout->n_images, .images = ims, .format = PX_OUT_RGBA8};
	ret = px_transform_create(vk, &tp, &t);
	if (ret) {
		fprintf(stderr, "transform: %s\n", px_strerror(ret));
		goto out;
	}
	gpu_example_clear(t);
	ret = px_subscriber_receive(sub, &frame, 5000);
	if (ret) {
		fprintf(stderr, "no frame from %s: %s\n", topic, px_strerror(ret));
		goto out;
	}
	/* Submits, then waits: the GPU no longer reads the frame after this. */
	ret = px_transform_run(t, frame);
	if (ret) {
		fprintf(stderr, "transform: %s\n", px_strerror(ret));
		goto out;
	}
	px_frame_release(frame);
	frame = NULL;
	ret = gpu_example_finish(vk, t, width, height, out);
out:
	px_frame_release(frame);
	px_transform_destroy(t);
	px_vk_destroy(vk);
	px_subscriber_destroy(sub);
	return ret ? 1 : 0;
}
