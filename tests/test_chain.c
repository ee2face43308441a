/* SPDX-License-Identifier: MIT */
/*
 * A transform publisher in a chain of three processes, on whatever device
 * px_vk_create() picks (lavapipe here), with the validation layer on:
 *
 *   publisher (memfd, random pixels drawn from the frame number)
 *     → this process: px_transform_publisher, topic "chain-out"
 *       → a checking subscriber, which regenerates every input set from the
 *         sequence numbers the outputs carry and compares each output image
 *         with the CPU reference (tests/transform_ref.c).
 *
 * Both topics are memfd pools; --allocator=NAME takes that allocator
 * for both instead (the vm tier: "auto", dma-bufs on vgem or virtio-gpu), and
 * --require-dmabuf then requires both pools to be dma-bufs, and
 * --require-path=NAME requires the input's import and the output's
 * writes to take that path (the vm tier: "dmabuf", on lavapipe from
 * scripts/lavapipe-backports, which imports dma-bufs).
 *
 * Checked: every frame arrives transformed (reliable QoS on both legs), the
 * output topic's layout (one buffer, ABGR8888 images of the transform's
 * sizes), the outputs written in place (no copy), one output import per slot
 * used, no allocation after warm-up, zero validation errors; and the refusals
 * (a float output, a layout or output placement given).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>

#include <pixshare/pixshare.h>
#include <pixshare/transform.h>
#include <pixshare/vulkan.h>

#include "px_testutil.h"
#include "px_vktestutil.h"
#include "transform_ref.h"

#define N_IMAGES 2

static uint32_t frames_total;
static enum px_allocator_type allocator = PX_ALLOCATOR_MEMFD;
static bool require_dmabuf;
static struct px_set_layout in_layout;
static struct px_transform_image ims[N_IMAGES];

/* The bytes of a frame's buffer b: a function of the frame number alone. */
static void fill(uint64_t seq, uint32_t b, uint8_t *p, uint64_t size)
{
	uint64_t x = (seq * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)b << 32) ^ 0x2545f4914f6cdd1dull;
	for (uint64_t i = 0; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

static int publisher_main(void *arg)
{
	(void)arg;
	struct px_publisher *pub;
	struct px_publisher_params pp = {.topic = "chain-in",
					 .layout = &in_layout,
					 .allocator = allocator,
					 .writable_dmabufs = px_test_opt("writable-dmabufs") != NULL,
					 .pool_size = 4,
					 .max_subscribers = 1,
					 .max_leases = 1};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	REQUIRE(!require_dmabuf || px_publisher_is_dmabuf(pub));
	px_test_wait_subscribers_tries(pub, 1, 30000);
	for (uint32_t n = 1; n <= frames_total; n++) {
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 120000, &slot));
		for (uint32_t b = 0; b < slot->n_buffers; b++)
			fill(n, b, slot->buffers[b].data, slot->buffers[b].size);
		REQUIRE_OK(px_publisher_publish(pub, slot, NULL)); /* sequence = n */
	}
	px_test_serve_until_released(pub, 12000);
	px_publisher_destroy(pub);
	return 0;
}

/* Largest error allowed, in LSB, for RGBA8 output (as test_vulkan). */
static int tolerance(const struct px_transform_image *im, uint32_t fourcc)
{
	if (im->filter == PX_FILTER_BICUBIC || im->filter == PX_FILTER_AREA)
		return 2;
	return im->filter == PX_FILTER_BILINEAR || fourcc == PX_FORMAT_YUYV ? 1 : 0;
}

static int checker_main(void *arg)
{
	(void)arg;
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = "chain-out",
					  .qos = PX_QOS_RELIABLE,
					  .connect_timeout_ms = 240000,
					  .max_leases = 1,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	const struct px_set_layout *l = px_subscriber_get_layout(sub);
	REQUIRE_EQ(l->n_images, N_IMAGES);
	uint32_t stride[N_IMAGES];
	for (uint32_t i = 0; i < N_IMAGES; i++)
		stride[i] = l->images[i].planes[0].stride;
	REQUIRE_EQ(l->n_buffers, 1);
	for (uint32_t i = 0; i < N_IMAGES; i++) {
		REQUIRE_EQ(l->images[i].fourcc, PX_FORMAT_ABGR8888);
		REQUIRE_EQ(l->images[i].width, ims[i].out_width);
		REQUIRE_EQ(l->images[i].height, ims[i].out_height);
	}
	/* The input set, regenerated here. */
	uint8_t *in[PX_MAX_BUFFERS];
	for (uint32_t b = 0; b < in_layout.n_buffers; b++)
		REQUIRE((in[b] = malloc(in_layout.buffer_sizes[b])));
	uint32_t checked = 0, worst = 0;
	uint64_t last = 0;
	struct px_frame *f;
	int ret;
	while ((ret = px_subscriber_receive(sub, &f, 240000)) == 0) {
		uint64_t seq = f->images[0].sequence;
		REQUIRE(!require_dmabuf || f->dmabuf);
		REQUIRE_EQ(f->images[1].sequence, seq);
		REQUIRE(seq == last + 1); /* nothing lost, nothing reordered */
		last = seq;
		for (uint32_t b = 0; b < in_layout.n_buffers; b++)
			fill(seq, b, in[b], in_layout.buffer_sizes[b]);
		for (uint32_t i = 0; i < N_IMAGES; i++) {
			const struct px_image_layout *src = &in_layout.images[ims[i].src_image];
			struct ref_source rs = {.image = src};
			for (uint32_t p = 0; p < src->n_planes; p++)
				rs.planes[p] = in[src->planes[p].buffer] + src->planes[p].offset;
			double *rgb = malloc(sizeof(double) * 3 * ims[i].out_width *
					     ims[i].out_height);
			REQUIRE(rgb);
			ref_transform(&rs, &ims[i], rgb);
			const uint8_t *out = px_frame_plane(f, i, 0);
			int tol = tolerance(&ims[i], src->fourcc);
			for (uint32_t y = 0; y < ims[i].out_height; y++)
				for (uint32_t x = 0; x < ims[i].out_width; x++) {
					const double *c = rgb + 3 * ((size_t)y * ims[i].out_width + x);
					const uint8_t *px = out + (size_t)y * stride[i] + 4 * x;
					int exp[4] = {(int)ref_u8(c[0]), (int)ref_u8(c[1]),
						      (int)ref_u8(c[2]), 255};
					for (int k = 0; k < 4; k++) {
						int err = abs(px[k] - exp[k]);
						if (err > tol) {
							fprintf(stderr,
								"frame %llu image %u (%u, %u) channel "
								"%d: %d, expected %d\n",
								(unsigned long long)seq, i, x, y, k,
								px[k], exp[k]);
							REQUIRE(err <= tol);
						}
						worst = err > (int)worst ? (uint32_t)err : worst;
					}
				}
			free(rgb);
		}
		px_frame_release(f);
		checked++;
	}
	REQUIRE_EQ(ret, -EPIPE);
	printf("checker: %u output sets checked against the CPU reference, largest error %u "
	       "LSB\n",
	       checked, worst);
	REQUIRE_EQ(checked, frames_total);
	for (uint32_t b = 0; b < in_layout.n_buffers; b++)
		free(in[b]);
	px_subscriber_destroy(sub);
	return 0;
}

static void refusals(struct px_vk *vk)
{
	struct px_transform_publisher *tp;
	struct px_transform_params t = {
	    .n_images = N_IMAGES, .images = ims, .format = PX_OUT_FLOAT32_PLANAR};
	struct px_publisher_params p = {.topic = "chain-bad"};
	REQUIRE_EQ(px_transform_publisher_create(vk, &t, &p, &tp), -ENOTSUP);
	t.format = PX_OUT_RGBA8;
	p.layout = &in_layout;
	REQUIRE_EQ(px_transform_publisher_create(vk, &t, &p, &tp), -EINVAL);
	p.layout = NULL;
	REQUIRE_EQ(px_transform_publisher_create(vk, &t, NULL, &tp), -EINVAL);
	REQUIRE_EQ(px_transform_publisher_create(vk, NULL, &p, &tp), -EINVAL);
	struct px_transform_image placed[N_IMAGES] = {ims[0], ims[1]};
	placed[1].out_offset = 4096;
	t.images = placed;
	REQUIRE_EQ(px_transform_publisher_create(vk, &t, &p, &tp), -EINVAL);
	REQUIRE_EQ(px_transform_publisher_process(NULL, NULL, 0), -EINVAL);
	px_transform_publisher_destroy(NULL);
	printf("refusals: float output, a given layout, a given placement\n");
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	bool quick = px_test_opt("quick") != NULL;
	frames_total = quick ? 30 : 300;
	const char *a = px_test_opt("allocator");
	if (a)
		REQUIRE_OK(px_allocator_from_name(a, &allocator));
	require_dmabuf = px_test_opt("require-dmabuf") != NULL;
	int require_path = px_test_required_path();
	px_test_vk_driver_present();
	int fds = px_test_count_fds();
	px_test_dir();
	struct px_image_desc d[N_IMAGES] = {{PX_FORMAT_YUYV, 67, 45}, {PX_FORMAT_XRGB8888, 33, 17}};
	REQUIRE_OK(px_layout_init_packed(&in_layout, N_IMAGES, d, 64, PX_PACK_PER_IMAGE));
	/* Image 0: crop, bilinear downscale, BT.709 limited; image 1: 90° and a
	 * flip, nearest upscale (exact). */
	ims[0] = (struct px_transform_image){.src_image = 0,
					     .crop_x = 3,
					     .crop_y = 2,
					     .crop_width = 61,
					     .crop_height = 41,
					     .out_width = 31,
					     .out_height = 21,
					     .filter = PX_FILTER_BILINEAR,
					     .matrix = PX_MATRIX_BT709};
	ims[1] = (struct px_transform_image){.src_image = 1,
					     .rotation = PX_ROTATE_90,
					     .flip = PX_FLIP_H,
					     .out_width = 34,
					     .out_height = 66,
					     .filter = PX_FILTER_NEAREST};

	/* Both children before Vulkan starts its threads here. */
	pid_t publisher = px_test_fork(publisher_main, NULL);
	pid_t checker = px_test_fork(checker_main, NULL);

	struct px_vk *vk;
	int ret = px_vk_create(&(struct px_vk_params){.validation = true}, &vk);
	if (ret == -ENODEV) {
		kill(publisher, SIGKILL);
		kill(checker, SIGKILL);
		px_test_wait(publisher, 10000);
		px_test_wait(checker, 10000);
		SKIP("no Vulkan device (install mesa-vulkan-drivers for lavapipe)");
	}
	REQUIRE_OK(ret);
	struct px_vk_info info;
	REQUIRE_OK(px_vk_get_info(vk, &info));
	refusals(vk);

	struct px_transform_publisher *tp;
	struct px_transform_params t = {
	    .n_images = N_IMAGES, .images = ims, .format = PX_OUT_RGBA8};
	struct px_publisher_params p = {.topic = "chain-out",
					.allocator = allocator,
					.writable_dmabufs = px_test_opt("writable-dmabufs") != NULL,
					.max_subscribers = 1,
					.max_leases = 1,
					.description = "test_chain"};
	REQUIRE_OK(px_transform_publisher_create(vk, &t, &p, &tp));
	struct px_publisher *out = px_transform_publisher_get_publisher(tp);
	/* The checker first, so that it sees every set. */
	px_test_wait_subscribers_tries(out, 1, 24000);

	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = "chain-in",
					  .qos = PX_QOS_RELIABLE,
					  .connect_timeout_ms = 60000,
					  .max_leases = 1,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	REQUIRE(!require_dmabuf || px_publisher_is_dmabuf(out));
	struct px_vk_stats st, st_warm = {0};
	struct px_transform_publisher_stats ts, ts_warm = {0};
	uint32_t n = 0;
	bool in_dmabuf = false;
	struct px_frame *f;
	for (;;) {
		ret = px_subscriber_receive(sub, &f, 0);
		if (ret == -ETIMEDOUT) {
			struct pollfd pf[2] = {{.fd = px_subscriber_get_fd(sub), .events = POLLIN},
					       {.fd = px_publisher_get_fd(out), .events = POLLIN}};
			REQUIRE(poll(pf, 2, 1000) >= 0);
			if (pf[1].revents)
				REQUIRE(px_publisher_dispatch(out, 0) >= 0);
			if (pf[0].revents) {
				ret = px_subscriber_dispatch(sub, 0);
				REQUIRE(ret >= 0 || ret == -EPIPE);
			}
			continue;
		}
		if (ret)
			break;
		in_dmabuf = f->dmabuf;
		REQUIRE(!require_dmabuf || in_dmabuf);
		REQUIRE_OK(px_transform_publisher_process(tp, f, 120000));
		px_frame_release(f);
		if (++n == frames_total / 2) {
			REQUIRE_OK(px_vk_get_stats(vk, &st_warm));
			REQUIRE_OK(px_transform_publisher_get_stats(tp, &ts_warm));
		}
	}
	REQUIRE_EQ(ret, -EPIPE);
	REQUIRE_EQ(n, frames_total);
	/* Serve the checker until it has released everything. */
	px_test_serve_until_released(out, 24000);
	REQUIRE_OK(px_transform_publisher_get_stats(tp, &ts));
	REQUIRE_OK(px_vk_get_stats(vk, &st));
	printf("pools: %s (%s) in, %s (%s) out\n", in_dmabuf ? "dma-buf" : "memfd",
	       px_allocator_name(allocator), px_publisher_is_dmabuf(out) ? "dma-buf" : "memfd",
	       px_allocator_name(px_publisher_get_allocator(out)));
	printf("chain: %llu sets published (%llu with a fence), output written by %s, %llu "
	       "output imports, %llu copies, %llu dropped; %llu allocations after set %u "
	       "(%llu output imports); "
	       "input: %s, %llu imports, %llu copies\n",
	       (unsigned long long)ts.published, (unsigned long long)ts.fenced,
	       px_import_path_name(ts.output_path), (unsigned long long)ts.output_imports,
	       (unsigned long long)ts.copies, (unsigned long long)ts.dropped,
	       (unsigned long long)(st.allocations - st_warm.allocations), frames_total / 2,
	       (unsigned long long)(ts.output_imports - ts_warm.output_imports),
	       px_import_path_name(st.last_path), (unsigned long long)st.imports,
	       (unsigned long long)st.copies);
	REQUIRE_EQ(ts.published, frames_total);
	REQUIRE_EQ(ts.copies, 0);
	REQUIRE_EQ(ts.dropped, 0);
	REQUIRE(ts.output_path != PX_IMPORT_UPLOAD);
	REQUIRE(require_path < 0 || ts.output_path == (enum px_import_path)require_path);
	/* Every output slot was imported at creation; the inputs' slots all
	 * came in the first half. */
	REQUIRE_EQ(st.allocations, st_warm.allocations);
	REQUIRE_EQ(ts.output_imports, px_publisher_get_pool_size(out));
	/* The input subscriber's own count: each image of each set by one
	 * path, cache hits included: host memory on memfds where the device
	 * imports read-only mappings (lavapipe), else the upload path
	 * (NVIDIA), the importer's on dma-bufs. Copies only by upload. */
	struct px_subscriber_stats ss;
	REQUIRE_OK(px_subscriber_get_stats(sub, &ss));
	enum px_import_path in_path = in_dmabuf			  ? st.last_path
				      : info.host_import_readonly ? PX_IMPORT_HOST_MEMORY
								  : PX_IMPORT_UPLOAD;
	REQUIRE_EQ(st.copies != 0, in_path == PX_IMPORT_UPLOAD);
	printf("input subscriber: %llu images by dmabuf, %llu by host-memory, %llu by upload, "
	       "%llu by opaque-fd (last %s), %llu copies (%llu bytes)\n",
	       (unsigned long long)ss.imported_dmabuf, (unsigned long long)ss.imported_host_memory,
	       (unsigned long long)ss.imported_upload, (unsigned long long)ss.imported_opaque_fd,
	       px_import_path_name(ss.last_import_path), (unsigned long long)ss.copies,
	       (unsigned long long)ss.copy_bytes);
	px_test_require_imported_by(&ss, in_path, (uint64_t)frames_total * N_IMAGES);
	REQUIRE_EQ(ss.last_import_path, in_path);
	REQUIRE(require_path < 0 || in_path == (enum px_import_path)require_path);
	REQUIRE_EQ(ss.copies, st.copies);
	REQUIRE_EQ(ss.copy_bytes, st.copy_bytes);
	px_transform_publisher_destroy(tp);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_wait(publisher, 120000), 0);
	REQUIRE_EQ(px_test_wait(checker, 240000), 0);
	REQUIRE_OK(px_vk_get_stats(vk, &st));
	printf("validation: %llu errors, %llu warnings\n", (unsigned long long)st.validation_errors,
	       (unsigned long long)st.validation_warnings);
	REQUIRE_EQ(st.validation_errors, 0);
	px_vk_destroy(vk);
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}
