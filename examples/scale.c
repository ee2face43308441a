/* SPDX-License-Identifier: MIT */
/*
 * Scaling on the GPU: subscribes to a topic, scales every image of one
 * frame's set by the same factor in one Vulkan dispatch, and writes the
 * results, one below the other, to a PNG.
 *
 *     example_scale TOPIC OUT.png [FACTOR]     (default 0.5)
 *
 * px_transform_image_scale() gives each output the size of its source image
 * times the factor, rounded to the nearest pixel. Shrinking uses the area
 * filter (the mean of the pixels covered), enlarging the bicubic one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_common.h"

static const char usage[] = "usage: example_scale TOPIC OUT.png [FACTOR]\n";

int main(int argc, char **argv)
{
	const char *topic = NULL, *out = NULL;
	double factor = 0.5;
	for (int i = 1; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!topic) {
			topic = argv[i];
		} else if (!out) {
			out = argv[i];
		} else {
			factor = strtod(argv[i], &end);
			if (end == argv[i] || *end || !(factor > 0 && factor <= 64)) {
				fprintf(stderr, "bad factor '%s': a number in (0, 64]\n%s", argv[i],
					usage);
				return 2;
			}
		}
	}
	if (!topic || !out) {
		fputs(usage, stderr);
		return 2;
	}

	struct px_subscriber *sub;
	struct px_vk *vk;
	if (gpu_example_open(topic, &sub, &vk))
		return 1;

	/* Image i of the set, whole, times the factor. */
	const struct px_set_layout *layout = px_subscriber_get_layout(sub);
	struct px_transform_image ims[PX_MAX_IMAGES] = {0};
	struct px_transform *t = NULL;
	struct px_frame *frame = NULL;
	int ret;
	for (uint32_t i = 0; i < layout->n_images; i++) {
		ims[i].src_image = i;
		ims[i].filter = factor < 1 ? PX_FILTER_AREA : PX_FILTER_BICUBIC;
		ret = px_transform_image_scale(&ims[i], &layout->images[i], factor);
		if (ret) {
			fprintf(stderr, "image %u times %g is larger than 16384 pixels\n", i,
				factor);
			goto out;
		}
	}
	uint32_t width, height;
	gpu_example_stack(ims, layout->n_images, &width, &height);
	char fmt[16];
	printf("%u images of %ux%u %s, times %g -> %ux%u\n", layout->n_images,
	       layout->images[0].width, layout->images[0].height,
	       px_format_name(layout->images[0].fourcc, fmt, sizeof(fmt)), factor, ims[0].out_width,
	       ims[0].out_height);

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
