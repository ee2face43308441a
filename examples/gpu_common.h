/* SPDX-License-Identifier: MIT */
/*
 * What the transform examples (resize, rotate, crop, scale) share, so that
 * each of them shows only its own transform: connecting to a topic and a
 * Vulkan device, placing the images' outputs one below the other in one RGBA8
 * buffer, and writing that buffer as a PNG with what was done.
 */
#ifndef PX_EXAMPLES_GPU_COMMON_H
#define PX_EXAMPLES_GPU_COMMON_H

#include <stdio.h>
#include <string.h>

#include <pixshare/pixshare.h>
#include <pixshare/transform.h>
#include <pixshare/vulkan.h>

#include "tools/image_write.h"

/* Subscribes to `topic` (waiting up to 5 s for its publisher) and makes a
 * Vulkan context. Returns 0, or 1 with a message, both left NULL. */
static inline int gpu_example_open(const char *topic, struct px_subscriber **sub, struct px_vk **vk)
{
	/* The transform waits for the frame's fence on the GPU itself. */
	struct px_subscriber_params sp = {
	    .topic = topic, .flags = PX_SUBSCRIBER_KEEP_FENCES, .connect_timeout_ms = 5000};
	*vk = NULL;
	int ret = px_subscriber_create(&sp, sub);
	if (ret) {
		*sub = NULL;
		fprintf(stderr, "subscribe to %s: %s\n", topic, px_strerror(ret));
		return 1;
	}
	ret = px_vk_create(NULL, vk);
	if (ret) {
		fprintf(stderr, "Vulkan: %s\n", px_strerror(ret));
		px_subscriber_destroy(*sub);
		*sub = NULL;
		*vk = NULL;
		return 1;
	}
	return 0;
}

/* Places image i's RGBA8 output below image i − 1's, all with the stride of
 * the widest. Writes the size of the whole to *width and *height. */
static inline void gpu_example_stack(struct px_transform_image *ims, uint32_t n, uint32_t *width,
				     uint32_t *height)
{
	uint32_t w = 0, h = 0;
	for (uint32_t i = 0; i < n; i++)
		w = ims[i].out_width > w ? ims[i].out_width : w;
	for (uint32_t i = 0; i < n; i++) {
		ims[i].out_stride = w * 4;
		ims[i].out_offset = (uint64_t)h * w * 4;
		h += ims[i].out_height;
	}
	*width = w;
	*height = h;
}

/* Zeroes the output, so that the margin right of images narrower than the
 * widest is black: the transform writes only its images' pixels. */
static inline void gpu_example_clear(struct px_transform *t)
{
	void *data;
	uint64_t size;
	if (!px_transform_get_output(t, &data, NULL, &size) && data)
		memset(data, 0, size);
}

/* Prints the device and import path the frame took, then writes the
 * transform's width × height RGBA8 output to `path`. Returns 0 or 1 with a
 * message. */
static inline int gpu_example_finish(struct px_vk *vk, struct px_transform *t, uint32_t width,
				     uint32_t height, const char *path)
{
	struct px_vk_info info;
	struct px_vk_stats st;
	px_vk_get_info(vk, &info);
	px_vk_get_stats(vk, &st);
	printf("device: %s%s, import path: %s, copies: %llu\n", info.device_name,
	       info.software ? " (software)" : "", px_import_path_name(st.last_path),
	       (unsigned long long)st.copies);

	void *data;
	px_transform_get_output(t, &data, NULL, NULL);
	/* Bytes R, G, B, A: DRM's ABGR8888. */
	struct px_image_layout png = {.fourcc = PX_FORMAT_ABGR8888,
				      .width = width,
				      .height = height,
				      .n_planes = 1,
				      .modifier = PX_MODIFIER_LINEAR,
				      .planes = {{.stride = width * 4}}};
	const void *planes[PX_MAX_PLANES] = {data};
	char err[256];
	if (px_write_png(path, &png, planes, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("wrote %s: %ux%u\n", path, width, height);
	return 0;
}

#endif
