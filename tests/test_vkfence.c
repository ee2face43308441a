/* SPDX-License-Identifier: MIT */
/*
 * A transform waits for its frame's acquire fence (vm tier: vgem's fences are
 * real sync_files). A publisher in another process publishes each frame with a
 * pending fence while the slot still holds poison. The subscriber (with
 * PX_SUBSCRIBER_KEEP_FENCES) gets each frame at once, with its fence, tells
 * the publisher so on a pipe and submits the transform straight away; the
 * publisher writes the real pixels HOLD_MS after that word and only then
 * signals the fence. Every output must be the real pixels, exactly. Where the device imports sync_files as semaphores, the device
 * waits (fence_waits_cpu stays 0); else pixshare waits on the CPU.
 *
 * --require-semaphore: fail unless the device imports sync_files
 * (Mesa 26's lavapipe does). --allocator: the publisher's allocator
 * (memfd by default); --require-path=NAME: the import path every image
 * must take. Skips (77) where there is no vgem device.
 */
#include <errno.h>
#include <poll.h>

#include <pixshare/pixshare.h>
#include <pixshare/transform.h>
#include <pixshare/vulkan.h>

#include "px_testutil.h"
#include "px_vgem.h"
#include "px_vktestutil.h"

#define FRAMES 12
#define HOLD_MS 150
#define POISON 0xa5

static const char *topic = "vkfence";
static enum px_allocator_type allocator = PX_ALLOCATOR_MEMFD;
static struct px_set_layout layout;

static uint8_t pattern(uint32_t n, uint32_t image, uint32_t x, uint32_t y)
{
	return (uint8_t)(x * 7 + y * 13 + image * 29 + n * 31 + (x * y >> 3));
}

/* Writes frame n's pixels (n < 0: the poison) into the planes of a slot. */
static void fill(uint8_t *const planes[], const struct px_set_layout *l, int n)
{
	for (uint32_t i = 0; i < l->n_images; i++) {
		const struct px_image_layout *img = &l->images[i];
		uint64_t row = px_image_row_bytes(img, 0);
		for (uint32_t y = 0; y < img->height; y++)
			for (uint32_t x = 0; x < row; x++)
				planes[i][(size_t)y * img->planes[0].stride + x] =
				    n < 0 ? POISON : pattern((uint32_t)n, i, x, y);
	}
}

/* The subscriber writes a byte here once it holds a frame, its fence still
 * pending, and is about to submit the transform. */
static int go[2];

static int publisher_main(void *arg)
{
	(void)arg;
	close(go[1]);
	int drm = open(vgem, O_RDWR | O_CLOEXEC);
	REQUIRE(drm >= 0);
	struct px_publisher *pub;
	struct px_publisher_params pp = {.topic = topic,
					 .layout = &layout,
					 .allocator = allocator,
					 .writable_dmabufs = px_test_opt("writable-dmabufs") != NULL,
					 .pool_size = 4,
					 .max_subscribers = 1,
					 .max_leases = 1};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	const struct px_set_layout *l = px_publisher_get_layout(pub);
	px_test_wait_subscribers_tries(pub, 1, 60000);
	for (int n = 0; n < FRAMES; n++) {
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 60000, &slot));
		/* The slot's memory stays mapped after it is published. */
		uint8_t *planes[PX_MAX_IMAGES];
		for (uint32_t i = 0; i < l->n_images; i++)
			planes[i] = px_slot_plane(slot, i, 0);
		fill(planes, l, -1);
		uint32_t id;
		int fence = scratch_fence(drm, &id);
		REQUIRE_OK(px_publisher_publish_fenced(pub, slot, NULL, fence));
		/* The real pixels come once the subscriber has the frame, and
		 * HOLD_MS later, as a producer's device would write them. */
		char b;
		for (int t = 0;; t++) {
			REQUIRE(t < 6000);
			px_publisher_dispatch(pub, 0);
			struct pollfd p = {.fd = go[0], .events = POLLIN};
			if (poll(&p, 1, 10) == 1)
				break;
		}
		REQUIRE(read(go[0], &b, 1) == 1);
		uint64_t until = px_now_ns() + HOLD_MS * 1000000ull;
		while (px_now_ns() < until)
			px_publisher_dispatch(pub, 10);
		fill(planes, l, n);
		vgem_signal(drm, id);
	}
	px_test_serve_until_released(pub, 30000);
	px_publisher_destroy(pub);
	close(drm);
	close(go[0]);
	return 0;
}

/* The RGBA8 output of image i of frame n, compared with the pattern. */
static void check(const uint8_t *out, uint64_t offset, uint32_t image, uint32_t n)
{
	const struct px_image_layout *img = &layout.images[image];
	for (uint32_t y = 0; y < img->height; y++)
		for (uint32_t x = 0; x < img->width; x++) {
			const uint8_t *o = out + offset + ((size_t)y * img->width + x) * 4;
			uint8_t want[4];
			if (img->fourcc == PX_FORMAT_XRGB8888) {
				/* B, G, R, X in memory. */
				want[0] = pattern(n, image, x * 4 + 2, y);
				want[1] = pattern(n, image, x * 4 + 1, y);
				want[2] = pattern(n, image, x * 4, y);
			} else {
				want[0] = want[1] = want[2] = pattern(n, image, x, y);
			}
			want[3] = 255;
			if (memcmp(o, want, 4)) {
				fprintf(stderr,
					"frame %u image %u (%u, %u): %02x %02x %02x %02x, want "
					"%02x %02x %02x %02x%s\n",
					n, image, x, y, o[0], o[1], o[2], o[3], want[0], want[1],
					want[2], want[3],
					o[0] == POISON ? " (the poison: read before the fence)"
						       : "");
				exit(1);
			}
		}
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	if (!find_vgem())
		SKIP("no vgem device here (its fences are the test's sync_files): the vm tier "
		     "runs this");
	px_test_vk_driver_present();
	const char *a = px_test_opt("allocator");
	if (a)
		REQUIRE_OK(px_allocator_from_name(a, &allocator));
	bool require_semaphore = px_test_opt("require-semaphore") != NULL;
	px_test_dir();
	int fds = px_test_count_fds();
	struct px_image_desc d[] = {{PX_FORMAT_XRGB8888, 64, 48}, {PX_FORMAT_R8, 33, 17}};
	REQUIRE_OK(px_layout_init_packed(&layout, 2, d, 64, PX_PACK_PER_IMAGE));

	/* Forked before Vulkan starts threads here. */
	REQUIRE(pipe2(go, O_CLOEXEC) == 0);
	pid_t pid = px_test_fork(publisher_main, NULL);
	close(go[0]);
	struct px_vk *vk;
	struct px_vk_params vp = {.validation = true};
	int ret = px_vk_create(&vp, &vk);
	if (ret == -ENODEV) {
		kill(pid, SIGKILL);
		px_test_wait(pid, 10000);
		SKIP("no Vulkan device (install mesa-vulkan-drivers for lavapipe)");
	}
	REQUIRE_OK(ret);
	struct px_vk_info info;
	REQUIRE_OK(px_vk_get_info(vk, &info));
	printf("Vulkan: %s; sync_file semaphores: import %s\n", info.device_name,
	       info.semaphore_sync_fd ? "yes" : "no");
	if (require_semaphore && !info.semaphore_sync_fd) {
		fprintf(stderr, "--require-semaphore: %s imports no sync_files\n",
			info.device_name);
		return 1;
	}
	struct px_transform_image ims[2] = {
	    {.src_image = 0, .out_width = 64, .out_height = 48},
	    {.src_image = 1, .out_width = 33, .out_height = 17, .out_offset = 64 * 48 * 4}};
	struct px_transform_params tp = {.n_images = 2, .images = ims, .format = PX_OUT_RGBA8};
	struct px_transform *t;
	REQUIRE_OK(px_transform_create(vk, &tp, &t));
	uint8_t *out;
	REQUIRE_OK(px_transform_get_output(t, (void **)&out, NULL, NULL));

	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = topic,
					  .qos = PX_QOS_RELIABLE,
					  .connect_timeout_ms = 60000,
					  .max_leases = 1,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT |
						   PX_SUBSCRIBER_KEEP_FENCES};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	struct px_vk_stats st0, st;
	REQUIRE_OK(px_vk_get_stats(vk, &st0));
	uint32_t n = 0, pending = 0;
	uint64_t last_seq = 0;
	struct px_topic_info ti;
	struct px_frame *f;
	while ((ret = px_subscriber_receive(sub, &f, 60000)) == 0) {
		REQUIRE(n < FRAMES);
		if (!n)
			REQUIRE_OK(px_subscriber_get_topic_info(sub, &ti));
		REQUIRE(f->acquire_fence >= 0);
		REQUIRE(!last_seq || f->seq == last_seq + 1);
		last_seq = f->seq;
		/* The publisher signals only after our byte. */
		REQUIRE(!px_fence_signaled(f->acquire_fence));
		memset(out, 0, (64 * 48 + 33 * 17) * 4);
		if (n == 0 && info.semaphore_sync_fd) {
			/* The device waits for the fence, which nothing can
			 * signal before our byte: the wait times out until
			 * then. */
			REQUIRE_OK(px_transform_submit(t, f));
			REQUIRE_EQ(px_transform_wait(t, 0), -ETIMEDOUT);
			REQUIRE_EQ(px_transform_wait(t, 100), -ETIMEDOUT);
			REQUIRE(!px_fence_signaled(f->acquire_fence));
			REQUIRE(write(go[1], "g", 1) == 1);
			pending++;
			printf("vkfence: px_transform_wait() -ETIMEDOUT while the device waits "
			       "for a fence not yet signalled, then 0\n");
		} else {
			REQUIRE(write(go[1], "g", 1) == 1);
			/* Most likely still pending: the publisher holds it
			 * HOLD_MS. */
			if (!px_fence_signaled(f->acquire_fence))
				pending++;
			REQUIRE_OK(px_transform_submit(t, f));
		}
		REQUIRE_OK(px_transform_wait(t, 60000));
		/* Signaled by now, whoever waited for it. */
		REQUIRE(px_fence_signaled(f->acquire_fence));
		check(out, 0, 0, n);
		check(out, ims[1].out_offset, 1, n);
		px_frame_release(f);
		n++;
	}
	REQUIRE_EQ(ret, -EPIPE);
	REQUIRE_EQ(n, FRAMES);
	REQUIRE_OK(px_vk_get_stats(vk, &st));
	uint64_t waits = st.fence_waits - st0.fence_waits;
	uint64_t cpu = st.fence_waits_cpu - st0.fence_waits_cpu;
	struct px_subscriber_stats ss;
	REQUIRE_OK(px_subscriber_get_stats(sub, &ss));
	printf("pool: %s; images read by %s\n", px_allocator_name(ti.allocator),
	       px_import_path_name(ss.last_import_path));
	px_test_require_imported_by(&ss, ss.last_import_path, FRAMES * 2);
	int require_path = px_test_required_path();
	REQUIRE(require_path < 0 || ss.last_import_path == (enum px_import_path)require_path);
	printf("vkfence: %u frames, each published with a pending fence and written %d ms "
	       "after the subscriber had it; %u still pending when submitted; waited for by the "
	       "device %llu, on the "
	       "CPU %llu; every output right\n",
	       n, HOLD_MS, pending, (unsigned long long)(waits - cpu), (unsigned long long)cpu);
	REQUIRE_EQ(waits, FRAMES);
	REQUIRE_EQ(cpu, info.semaphore_sync_fd ? 0 : FRAMES);
	/* Some submissions had a fence to wait for (all, unless this machine
	 * stalled for HOLD_MS between two lines above). */
	REQUIRE(pending > 0);
	REQUIRE_EQ(st.validation_errors, 0);
	px_transform_destroy(t);
	px_subscriber_destroy(sub);
	px_vk_destroy(vk);
	close(go[1]);
	REQUIRE_EQ(px_test_wait(pid, 60000), 0);
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}
