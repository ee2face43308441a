/* SPDX-License-Identifier: MIT */
/*
 * Frames as VkImages with explicit DRM format modifiers
 * (px_vk_import_vkimage), on a real dma-buf pool:
 *
 *   this process: a publisher whose pool is one batch dma-buf per slot
 *     (--allocator, default udmabuf) holding five images of
 *     different formats and odd sizes, each at its own offset, rows padded
 *     to 256 bytes; every frame drawn with the test pattern
 *     → a subscriber process (validation layer on), which imports every
 *       image of every frame as a VkImage with the layout's modifier and
 *       plane layouts, acquires it from the foreign queue family, copies
 *       each plane to a host-visible buffer (vkCmdCopyImageToBuffer), gives
 *       it back, and compares every byte with the frame's own CPU mapping
 *       of the dma-buf: the device must see through the plane layouts the
 *       bytes the publisher wrote.
 *
 * XRGB8888, XBGR8888 and R8 must import; NV12 and YUYV are imported and
 * checked where the driver takes them with that modifier, else their
 * refusal is printed. Imports are counted: one VkImage per (slot, image),
 * then only cache hits. Before that, a memfd pool's frame must be refused
 * (-ENOTSUP), as must an image index out of range (-EINVAL).
 *
 * Skips (77) where the publisher gets no dma-buf allocator, or the device
 * imports no VkImages (no VK_EXT_image_drm_format_modifier): Mesa 26's
 * lavapipe has it on a kernel with udmabuf (the vm13 tier).
 * --require-vkimage makes that skip a failure.
 */
#include <errno.h>
#include <string.h>

#include <pixshare/pixshare.h>
#include <pixshare/vulkan.h>

#include "px_testutil.h"
#include "px_vktestutil.h"

#define FRAMES 60
#define N_IMAGES 5

static const struct px_image_desc descs[N_IMAGES] = {
    {PX_FORMAT_XRGB8888, 333, 171}, {PX_FORMAT_XBGR8888, 64, 48}, {PX_FORMAT_R8, 97, 33},
    {PX_FORMAT_NV12, 66, 34},	    {PX_FORMAT_YUYV, 50, 20},
};
/* Must import; the others may be refused by the driver. */
static const bool required[N_IMAGES] = {true, true, true, false, false};

static struct px_set_layout layout;

static VkImageAspectFlags plane_aspect(uint32_t n_planes, uint32_t p)
{
	return n_planes == 1 ? VK_IMAGE_ASPECT_COLOR_BIT : VK_IMAGE_ASPECT_PLANE_0_BIT << p;
}

/* The size of plane p in texels (subsampled planes rounded up), and its
 * bytes per row when tightly packed. */
static void plane_size(const struct px_image_layout *img, uint32_t p, uint32_t *w, uint32_t *h,
		       uint32_t *row_bytes)
{
	const struct px_format_info *fi = px_format_get_info(img->fourcc);
	*w = p ? (img->width + fi->hsub - 1) / fi->hsub : img->width;
	*h = p ? (img->height + fi->vsub - 1) / fi->vsub : img->height;
	*row_bytes = (*w + fi->block_w[p] - 1) / fi->block_w[p] * fi->cpp[p];
}

struct reader {
	struct px_vk *vk;
	struct px_vk_info info;
	struct px_test_cmd cmd;
	VkBuffer readback;
	VkDeviceMemory readback_memory;
	const uint8_t *map;
	uint64_t plane_at[N_IMAGES][PX_MAX_PLANES];
};

static void reader_init(struct reader *r)
{
	REQUIRE_OK(px_vk_create(&(struct px_vk_params){.validation = true}, &r->vk));
	REQUIRE_OK(px_vk_get_info(r->vk, &r->info));
	px_test_cmd_init(&r->cmd, r->vk);
	uint64_t total = 0;
	for (uint32_t i = 0; i < N_IMAGES; i++)
		for (uint32_t p = 0; p < layout.images[i].n_planes; p++) {
			uint32_t w, h, rb;
			plane_size(&layout.images[i], p, &w, &h, &rb);
			r->plane_at[i][p] = total;
			total += ((uint64_t)rb * h + 15) & ~15ull;
		}
	px_test_readback_init(r->vk, total, &r->readback, &r->readback_memory, &r->map);
}

static void reader_finish(struct reader *r)
{
	VkDevice dev = px_vk_get_device(r->vk);
	vkDestroyBuffer(dev, r->readback, NULL);
	vkFreeMemory(dev, r->readback_memory, NULL);
	px_test_cmd_finish(&r->cmd);
	px_vk_destroy(r->vk);
}

static void barrier(struct reader *r, const struct px_vk_vkimage *m, bool acquire)
{
	VkImageMemoryBarrier b = {
	    .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
	    .srcAccessMask = acquire ? 0 : VK_ACCESS_TRANSFER_READ_BIT,
	    .dstAccessMask = acquire ? VK_ACCESS_TRANSFER_READ_BIT : 0,
	    .oldLayout = acquire ? VK_IMAGE_LAYOUT_GENERAL : VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
	    .newLayout = acquire ? VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL : VK_IMAGE_LAYOUT_GENERAL,
	    .srcQueueFamilyIndex = acquire ? m->queue_family : r->info.queue_family,
	    .dstQueueFamilyIndex = acquire ? r->info.queue_family : m->queue_family,
	    .image = m->image,
	    .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
	vkCmdPipelineBarrier(
	    r->cmd.cb, acquire ? VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT : VK_PIPELINE_STAGE_TRANSFER_BIT,
	    acquire ? VK_PIPELINE_STAGE_TRANSFER_BIT : VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0,
	    NULL, 0, NULL, 1, &b);
}

/* Copies image i of the frame (imported as `m`) to the readback buffer and
 * compares it with the frame's mapping. */
static void check_image(struct reader *r, const struct px_frame *f, uint32_t i,
			const struct px_vk_vkimage *m)
{
	const struct px_image_layout *img = &f->layout->images[i];
	px_test_cmd_begin(&r->cmd);
	barrier(r, m, true);
	for (uint32_t p = 0; p < img->n_planes; p++) {
		uint32_t w, h, rb;
		plane_size(img, p, &w, &h, &rb);
		VkBufferImageCopy c = {
		    .bufferOffset = r->plane_at[i][p],
		    .imageSubresource = {plane_aspect(img->n_planes, p), 0, 0, 1},
		    .imageExtent = {w, h, 1}};
		vkCmdCopyImageToBuffer(r->cmd.cb, m->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
				       r->readback, 1, &c);
	}
	barrier(r, m, false);
	px_test_cmd_submit(&r->cmd);
	for (uint32_t p = 0; p < img->n_planes; p++) {
		uint32_t w, h, rb;
		plane_size(img, p, &w, &h, &rb);
		const uint8_t *cpu = px_frame_plane(f, i, p);
		REQUIRE(cpu);
		for (uint32_t y = 0; y < h; y++) {
			const uint8_t *want = cpu + (uint64_t)y * img->planes[p].stride;
			const uint8_t *got = r->map + r->plane_at[i][p] + (uint64_t)y * rb;
			if (memcmp(want, got, rb)) {
				uint32_t x = 0;
				while (want[x] == got[x])
					x++;
				fprintf(stderr,
					"FAIL: frame %llu image %u plane %u row %u byte %u: the "
					"VkImage shows 0x%02x, the mapping 0x%02x\n",
					(unsigned long long)f->seq, i, p, y, x, got[x], want[x]);
				exit(1);
			}
		}
	}
}

static int subscriber_main(void *arg)
{
	(void)arg;
	int fds = px_test_count_fds();
	struct reader r = {0};
	reader_init(&r);
	bool require = px_test_opt("require-vkimage") != NULL;
	printf("device: %s; VkImage import %s\n", r.info.device_name,
	       r.info.vkimage_import ? "yes" : "no");

	/* A memfd pool's frame: refused, whatever the device. */
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = "vkimage-memfd",
					  .qos = PX_QOS_RELIABLE,
					  .connect_timeout_ms = 10000,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	struct px_frame *f;
	REQUIRE_OK(px_subscriber_receive(sub, &f, 10000));
	struct px_vk_vkimage m;
	REQUIRE_EQ(px_vk_import_vkimage(r.vk, f, 0, &m), -ENOTSUP);
	REQUIRE_EQ(px_vk_import_vkimage(r.vk, f, f->layout->n_images, &m), -EINVAL);
	REQUIRE_EQ(px_vk_import_vkimage(r.vk, f, 0, NULL), -EINVAL);
	REQUIRE_EQ(px_vk_import_vkimage(NULL, f, 0, &m), -EINVAL);
	px_frame_release(f);
	px_subscriber_destroy(sub);
	printf("memfd pool: refused (-ENOTSUP), as it must be\n");

	if (!r.info.vkimage_import) {
		reader_finish(&r);
		if (require) {
			fprintf(stderr, "FAIL: %s imports no VkImages (--require-vkimage)\n",
				r.info.device_name);
			return 1;
		}
		printf("SKIP: %s imports no VkImages with explicit modifiers (no "
		       "VK_EXT_image_drm_format_modifier or no dma-buf import)\n",
		       r.info.device_name);
		return 77;
	}

	sp.topic = "vkimage";
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	struct px_topic_info ti;
	REQUIRE_OK(px_subscriber_get_topic_info(sub, &ti));
	REQUIRE(ti.dmabuf);
	REQUIRE(px_layout_equal(px_subscriber_get_layout(sub), &layout));
	struct px_vk_stats st0, st;
	REQUIRE_OK(px_vk_get_stats(r.vk, &st0));
	int refused[N_IMAGES] = {0};
	uint32_t checked[N_IMAGES] = {0};
	uint64_t slots_seen = 0, frames = 0, calls = 0;
	int ret;
	while ((ret = px_subscriber_receive(sub, &f, 10000)) == 0) {
		slots_seen |= 1ull << f->slot;
		for (uint32_t i = 0; i < N_IMAGES; i++) {
			ret = px_vk_import_vkimage(r.vk, f, i, &m);
			if (ret == -ENOTSUP && !required[i]) {
				refused[i] = ret;
				continue;
			}
			REQUIRE_OK(ret);
			calls++;
			REQUIRE(m.image != VK_NULL_HANDLE);
			REQUIRE_EQ(m.format, px_vk_format_from_fourcc(descs[i].fourcc));
			REQUIRE_EQ(m.width, descs[i].width);
			REQUIRE_EQ(m.height, descs[i].height);
			REQUIRE_EQ(m.modifier, layout.images[i].modifier);
			REQUIRE(m.usage & VK_IMAGE_USAGE_SAMPLED_BIT);
			if (!(m.usage & VK_IMAGE_USAGE_TRANSFER_SRC_BIT)) {
				fprintf(stderr, "FAIL: image %u cannot be copied from here\n", i);
				return 1;
			}
			check_image(&r, f, i, &m);
			checked[i]++;
		}
		frames++;
		px_frame_release(f);
	}
	REQUIRE_EQ(ret, -EPIPE);
	REQUIRE_EQ(frames, FRAMES);
	REQUIRE_OK(px_vk_get_stats(r.vk, &st));
	uint32_t n_slots = (uint32_t)__builtin_popcountll(slots_seen), imported = 0;
	char fmt[16];
	for (uint32_t i = 0; i < N_IMAGES; i++) {
		px_format_name(descs[i].fourcc, fmt, sizeof(fmt));
		if (checked[i]) {
			REQUIRE_EQ(checked[i], FRAMES);
			imported++;
			printf("  %-8s %4ux%-4u stride %4u, offset %6llu: %u frames, every byte "
			       "the mapping's\n",
			       fmt, descs[i].width, descs[i].height,
			       layout.images[i].planes[0].stride,
			       (unsigned long long)layout.images[i].planes[0].offset, checked[i]);
		} else {
			REQUIRE_EQ(refused[i], -ENOTSUP);
			printf("  %-8s refused by the driver (logged)\n", fmt);
		}
	}
	/* One VkImage per (slot, image); every other call a cache hit. */
	REQUIRE_EQ(st.vkimage_imports - st0.vkimage_imports, (uint64_t)n_slots * imported);
	REQUIRE(st.cache_hits - st0.cache_hits >= calls - (uint64_t)n_slots * imported);
	REQUIRE_EQ(st.validation_errors, 0);
	printf("vkimage: %llu frames from %u slots (%s, one dma-buf per slot), %u of %u formats "
	       "imported as VkImages with modifier 0x%llx: %llu VkImage imports, %llu calls; 0 "
	       "validation errors, %llu warnings\n",
	       (unsigned long long)frames, n_slots, px_allocator_name(ti.allocator), imported,
	       N_IMAGES, (unsigned long long)layout.images[0].modifier,
	       (unsigned long long)(st.vkimage_imports - st0.vkimage_imports),
	       (unsigned long long)calls, (unsigned long long)st.validation_warnings);
	px_subscriber_destroy(sub);
	reader_finish(&r);
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}

static void publish(struct px_publisher *pub, uint64_t n_frames)
{
	const struct px_set_layout *l = px_publisher_get_layout(pub);
	for (uint64_t n = 1; n <= n_frames; n++) {
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 10000, &slot));
		struct px_publish_info info = {0};
		for (uint32_t i = 0; i < l->n_images; i++) {
			void *planes[PX_MAX_PLANES] = {0};
			for (uint32_t p = 0; p < l->images[i].n_planes; p++)
				REQUIRE((planes[p] = px_slot_plane(slot, i, p)));
			info.images[i].timestamp_ns = px_now_ns();
			struct px_pattern_params tp = {.frame = n,
						       .image_index = i,
						       .timestamp_ns = info.images[i].timestamp_ns};
			REQUIRE_OK(px_pattern_draw(&l->images[i], planes, &tp));
		}
		REQUIRE_OK(px_publisher_publish(pub, slot, &info));
	}
	px_test_serve_until_released(pub, 1000);
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	int fds = px_test_count_fds();
	px_test_dir();
	px_test_vk_driver_present();
	REQUIRE_OK(px_layout_init_packed(&layout, N_IMAGES, descs, 256, PX_PACK_BATCH));
	REQUIRE_EQ(layout.n_buffers, 1);

	enum px_allocator_type type = PX_ALLOCATOR_UDMABUF;
	const char *a = px_test_opt("allocator");
	if (a && px_allocator_from_name(a, &type)) {
		fprintf(stderr, "FAIL: --allocator=%s: no such allocator\n", a);
		return 1;
	}
	struct px_publisher *pub;
	struct px_publisher_params pp = {.topic = "vkimage", .layout = &layout, .allocator = type};
	int ret = px_publisher_create(&pp, &pub);
	if (ret == -ENOTSUP || ret == -ENODEV || ret == -ENOENT)
		SKIP("no %s on this machine (%s): the vm13 tier runs this", px_allocator_name(type),
		     px_strerror(ret));
	REQUIRE_OK(ret);
	REQUIRE(px_publisher_is_dmabuf(pub));
	/* The allocator keeps the layout (udmabuf, dma-heap do). */
	REQUIRE(px_layout_equal(px_publisher_get_layout(pub), &layout));
	struct px_publisher *memfd;
	struct px_publisher_params mp = {
	    .topic = "vkimage-memfd", .layout = &layout, .allocator = PX_ALLOCATOR_MEMFD};
	REQUIRE_OK(px_publisher_create(&mp, &memfd));

	/* Before Vulkan starts threads here (it never does in this process). */
	pid_t child = px_test_fork(subscriber_main, NULL);
	px_test_wait_subscriber_of(memfd, child, 1000);
	publish(memfd, 1);
	px_publisher_destroy(memfd);
	/* The subscriber goes on to the dma-buf topic, or ends (77: no VkImage
	 * import on its device). */
	int rc = -1, status;
	uint32_t n = 0;
	for (int tries = 0; tries < 2000 && !n && rc < 0; tries++) {
		px_publisher_dispatch(pub, 10);
		struct px_publisher_stats ps;
		REQUIRE_OK(px_publisher_get_stats(pub, &ps));
		n = ps.n_subscribers;
		if (!n && waitpid(child, &status, WNOHANG) == child)
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	if (n)
		publish(pub, FRAMES);
	px_publisher_destroy(pub);
	if (rc < 0)
		rc = px_test_wait(child, 120000);
	REQUIRE_EQ(px_test_count_fds(), fds);
	if (rc == 77)
		return 77;
	REQUIRE_EQ(rc, 0);
	REQUIRE(n);
	return 0;
}
