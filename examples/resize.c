/* SPDX-License-Identifier: MIT */
/*
 * Resizing on the GPU: subscribes to a topic, resizes every image of one
 * frame's set to the same size in one Vulkan dispatch, and writes the results,
 * one below the other, to a PNG.
 *
 *     example_resize TOPIC OUT.png [WxH] [--filter nearest|bilinear|bicubic|area]
 *
 * Defaults: 640x360, bilinear. Prints the device, the import path ("dmabuf"
 * or "host-memory": no copy; "upload": a copy) and the sizes.
 */
#include <stdio.h>
#include <string.h>

#include "gpu_common.h"

static const char usage[] =
    "usage: example_resize TOPIC OUT.png [WxH] [--filter nearest|bilinear|bicubic|area]\n";
static const char *const filters[] = {"nearest", "bilinear", "bicubic", "area"};

int main(int argc, char **argv)
{
	const char *topic = NULL, *out = NULL;
	unsigned w = 640, h = 360, filter = PX_FILTER_BILINEAR;
	for (int i = 1; i < argc; i++) {
		char end;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--filter") && i + 1 < argc) {
			for (filter = 0; filter < 4 && strcmp(argv[i + 1], filters[filter]);
			     filter++)
				;
			if (filter == 4) {
				fprintf(stderr, "unknown filter '%s'\n%s", argv[i + 1], usage);
				return 2;
			}
			i++;
		} else if (!topic) {
			topic = argv[i];
		} else if (!out) {
			out = argv[i];
		} else if (sscanf(argv[i], "%ux%u%c", &w, &h, &end) != 2 || !w || !h) {
			fprintf(stderr, "bad size '%s': WxH, e.g. 640x360\n%s", argv[i], usage);
			return 2;
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

	/* Image i of the set, whole, to w × h. */
	const struct px_set_layout *layout = px_subscriber_get_layout(sub);
	struct px_transform_image ims[PX_MAX_IMAGES] = {0};
	for (uint32_t i = 0; i < layout->n_images; i++)
		ims[i] = (struct px_transform_image){.src_image = i,
						     .out_width = w,
						     .out_height = h,
						     .filter = (enum px_filter)filter};
	uint32_t width, height;
	gpu_example_stack(ims, layout->n_images, &width, &height);
	char fmt[16];
	printf("%u images of %ux%u %s -> %ux%u, %s\n", layout->n_images, layout->images[0].width,
	       layout->images[0].height, px_format_name(layout->images[0].fourcc, fmt, sizeof(fmt)),
	       w, h, filters[filter]);

	struct px_transform *t = NULL;
	struct px_frame *frame = NULL;
	struct px_transform_params tp = {
	    .n_images = layout->n_images, .images = ims, .format = PX_OUT_RGBA8};
	int ret = px_transform_create(vk, &tp, &t);
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
