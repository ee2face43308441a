/* SPDX-License-Identifier: MIT */
/*
 * Offscreen processing as a topic: subscribes to IN, runs a fused GPU chain
 * (crop the middle, rotate 90°, resize to half) on every set and publishes the
 * results as the topic OUT, written by the GPU straight into OUT's shared
 * buffers. A second subscriber, on a thread of its own here but as well in
 * any other process, reads OUT back and writes its first set's image 0 to a
 * PNG.
 *
 *     example_offscreen IN OUT OUT.png [SETS]
 *
 * SETS: how many sets to process (default 30). Prints what the reader got,
 * how the GPU wrote the outputs ("host-memory" or "dmabuf": in place;
 * "upload": copied) and how many CPU copies that took.
 */
#include <errno.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pixshare/pixshare.h>
#include <pixshare/transform.h>
#include <pixshare/vulkan.h>

#include "tools/image_write.h"

struct reader {
	const char *topic, *png;
	unsigned sets;
	int ret;
};

/* The other subscriber: OUT's sets, read by the CPU in place. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = r->topic,
					  .connect_timeout_ms = 10000,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT};
	if ((r->ret = px_subscriber_create(&sp, &sub)))
		return NULL;
	struct px_frame *f;
	while ((r->ret = px_subscriber_receive(sub, &f, 10000)) == 0) {
		if (r->sets++ == 0) {
			const struct px_image_layout *img = &f->layout->images[0];
			const void *planes[PX_MAX_PLANES] = {px_frame_plane(f, 0, 0)};
			char err[256];
			if (px_write_png(r->png, img, planes, err, sizeof(err)))
				fprintf(stderr, "reader: %s\n", err);
			else
				printf("reader: wrote %s (%ux%u)\n", r->png, img->width,
				       img->height);
		}
		px_frame_release(f);
	}
	if (r->ret == -EPIPE) /* OUT ended: the normal end */
		r->ret = 0;
	px_subscriber_destroy(sub);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs("usage: example_offscreen IN OUT OUT.png [SETS]\n", argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	unsigned n_sets = argc == 5 ? (unsigned)strtoul(argv[4], NULL, 10) : 30;
	if (!n_sets) {
		fprintf(stderr, "SETS: a number from 1\n");
		return 2;
	}
	struct px_subscriber *sub = NULL;
	struct px_vk *vk = NULL;
	struct px_transform_publisher *tp = NULL;
	struct px_subscriber_params sp = {
	    .topic = argv[1], .flags = PX_SUBSCRIBER_KEEP_FENCES, .connect_timeout_ms = 5000};
	int ret = px_subscriber_create(&sp, &sub);
	if (ret) {
		fprintf(stderr, "subscribe to %s: %s\n", argv[1], px_strerror(ret));
		return 1;
	}
	if ((ret = px_vk_create(NULL, &vk))) {
		fprintf(stderr, "Vulkan: %s\n", px_strerror(ret));
		goto out;
	}

	/* The chain, per image: the middle half, a quarter turn, half size. */
	const struct px_set_layout *l = px_subscriber_get_layout(sub);
	struct px_transform_image ims[PX_MAX_IMAGES];
	for (uint32_t i = 0; i < l->n_images; i++) {
		uint32_t w = l->images[i].width, h = l->images[i].height;
		ims[i] = (struct px_transform_image){.src_image = i,
						     .crop_x = w / 4,
						     .crop_y = h / 4,
						     .crop_width = w - w / 2,
						     .crop_height = h - h / 2,
						     .rotation = PX_ROTATE_90,
						     .filter = PX_FILTER_AREA};
		px_transform_image_scale(&ims[i], &l->images[i], 0.5);
	}
	struct px_transform_params tparams = {
	    .n_images = l->n_images, .images = ims, .format = PX_OUT_RGBA8};
	struct px_publisher_params pparams = {.topic = argv[2], .description = "example_offscreen"};
	if ((ret = px_transform_publisher_create(vk, &tparams, &pparams, &tp))) {
		fprintf(stderr, "publish %s: %s\n", argv[2], px_strerror(ret));
		goto out;
	}
	struct px_publisher *pub = px_transform_publisher_get_publisher(tp);

	struct reader r = {.topic = argv[2], .png = argv[3]};
	pthread_t reader;
	if ((ret = -pthread_create(&reader, NULL, reader_main, &r)))
		goto out;
	/* Serve OUT's subscribers while waiting for IN's sets. */
	unsigned done = 0;
	while (done < n_sets) {
		struct px_frame *f;
		ret = px_subscriber_receive(sub, &f, 0);
		if (ret == -ETIMEDOUT) {
			struct pollfd p[2] = {{.fd = px_subscriber_get_fd(sub), .events = POLLIN},
					      {.fd = px_publisher_get_fd(pub), .events = POLLIN}};
			if (poll(p, 2, 5000) == 0) {
				fprintf(stderr, "no set from %s in 5 s\n", argv[1]);
				break;
			}
			if (p[1].revents)
				px_publisher_dispatch(pub, 0);
			if (p[0].revents)
				px_subscriber_dispatch(sub, 0);
			continue;
		}
		if (ret)
			break;
		/* The GPU writes the set into a slot of OUT, which is published. */
		ret = px_transform_publisher_process(tp, f, 1000);
		px_frame_release(f);
		if (ret && ret != -EAGAIN && ret != -ENODATA)
			break;
		done += ret == 0;
		ret = 0;
	}
	struct px_transform_publisher_stats st;
	px_transform_publisher_get_stats(tp, &st);
	/* Ending OUT ends the reader's stream. */
	px_transform_publisher_destroy(tp);
	tp = NULL;
	pthread_join(reader, NULL);
	printf("%s -> %s: %llu sets published, outputs written by %s, %llu CPU copies; "
	       "the reader received %u\n",
	       argv[1], argv[2], (unsigned long long)st.published,
	       px_import_path_name(st.output_path), (unsigned long long)st.copies, r.sets);
	if (ret)
		fprintf(stderr, "%s: %s\n", argv[1], px_strerror(ret));
	else if (r.ret || !r.sets)
		fprintf(stderr, "reader: %s\n", r.ret ? px_strerror(r.ret) : "no set");
	ret = ret ? ret : r.ret ? r.ret : !r.sets ? -ENODATA : 0;
out:
	px_transform_publisher_destroy(tp);
	px_vk_destroy(vk);
	px_subscriber_destroy(sub);
	return ret ? 1 : 0;
}
