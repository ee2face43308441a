/* SPDX-License-Identifier: MIT */
/*
 * Rotating on the GPU: subscribes to a topic, rotates every image of one
 * frame's set clockwise in one Vulkan dispatch, and writes the results, one
 * below the other, to a PNG.
 *
 *     example_rotate TOPIC OUT.png [DEGREES]     (default 90)
 *
 * Quarter turns are exact (PX_ROTATE_90…); any other angle turns the image
 * about its centre onto a canvas that holds all of it (PX_ROTATE_ANY), with
 * a black border and bilinear filtering.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_common.h"

static const char usage[] = "usage: example_rotate TOPIC OUT.png [DEGREES]\n";

int main(int argc, char **argv)
{
	const char *topic = NULL, *out = NULL;
	double degrees = 90;
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
			degrees = strtod(argv[i], &end);
			if (end == argv[i] || *end || !isfinite(degrees)) {
				fprintf(stderr, "bad angle '%s': degrees, e.g. 90 or -12.5\n%s",
					argv[i], usage);
				return 2;
			}
		}
	}
	if (!topic || !out) {
		fputs(usage, stderr);
		return 2;
	}
	degrees = fmod(fmod(degrees, 360) + 360, 360); /* 0 ≤ degrees < 360 */

	struct px_subscriber *sub;
	struct px_vk *vk;
	if (gpu_example_open(topic, &sub, &vk))
		return 1;

	/* Image i of the set, whole, turned; its output has the rotated size. */
	const struct px_set_layout *layout = px_subscriber_get_layout(sub);
	struct px_transform_image ims[PX_MAX_IMAGES] = {0};
	struct px_transform *t = NULL;
	struct px_frame *frame = NULL;
	int ret;
	for (uint32_t i = 0; i < layout->n_images; i++) {
		struct px_transform_image *im = &ims[i];
		im->src_image = i;
		im->filter = PX_FILTER_BILINEAR;
		if (fmod(degrees, 90) == 0) {
			im->rotation = (enum px_rotation)(degrees / 90); /* PX_ROTATE_0…270 */
		} else {
			im->rotation = PX_ROTATE_ANY;
			im->angle = (float)degrees; /* the border stays 0, 0, 0: black */
		}
		/* A factor of 1: the rotated image's own size. */
		ret = px_transform_image_scale(im, &layout->images[i], 1.0);
		if (ret) {
			fprintf(stderr, "image %u turned is larger than 16384 pixels\n", i);
			goto out;
		}
	}
	uint32_t width, height;
	gpu_example_stack(ims, layout->n_images, &width, &height);
	char fmt[16];
	printf("%u images of %ux%u %s, %g degrees -> %ux%u\n", layout->n_images,
	       layout->images[0].width, layout->images[0].height,
	       px_format_name(layout->images[0].fourcc, fmt, sizeof(fmt)), degrees,
	       ims[0].out_width, ims[0].out_height);

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
