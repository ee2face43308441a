/* SPDX-License-Identifier: MIT */
/*
 * A subscriber's import stats (px_subscriber_stats.imported_*,
 * last_import_path, copies, copy_bytes) as the Vulkan importers count them,
 * on whatever device px_vk_create() picks (lavapipe here):
 *
 *   publisher (memfd, a child process)
 *     → this process: every image of every frame imported by
 *       - a px_vk of its own: host memory where the device imports it
 *         (lavapipe), no copy;
 *       - an adopted device made without VK_EXT_external_memory_host: the
 *         upload path, one copy per plane;
 *       - a transform on that adopted device: the upload path again, by
 *         px_transform_run().
 *
 * Checked: the counts by path equal the images imported (cache hits
 * included), the copies equal the planes copied and their bytes as the layout
 * gives them, the last path, the px_vk stats agree, and a frame the
 * application made itself (priv NULL) is not counted. No fd is leaked.
 */
#include <errno.h>

#include <pixshare/pixshare.h>
#include <pixshare/transform.h>
#include <pixshare/vulkan.h>

#include "px_testutil.h"
#include "px_vktestutil.h"

static uint32_t frames_total;
static struct px_set_layout layout;
static char logged[4096]; /* warnings and errors, as they were printed */

static void log_handler(void *userdata, enum px_log_level level, const char *msg)
{
	(void)userdata;
	fprintf(stderr, "pixshare %s: %s\n", level == PX_LOG_ERROR ? "error" : "warning", msg);
	if (level <= PX_LOG_WARN && strlen(logged) + strlen(msg) + 2 < sizeof(logged)) {
		strcat(logged, msg);
		strcat(logged, "\n");
	}
}

static int publisher_main(void *arg)
{
	(void)arg;
	struct px_publisher *pub;
	struct px_publisher_params pp = {.topic = "import-stats",
					 .layout = &layout,
					 .allocator = PX_ALLOCATOR_MEMFD,
					 .pool_size = 4,
					 .max_subscribers = 1,
					 .max_leases = 1};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	px_test_wait_subscribers_tries(pub, 1, 30000);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (uint32_t n = 1; n <= frames_total; n++) {
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 120000, &slot));
		for (uint32_t b = 0; b < slot->n_buffers; b++) {
			uint8_t *p = slot->buffers[b].data;
			for (uint64_t i = 0; i < slot->buffers[b].size; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				p[i] = (uint8_t)x;
			}
		}
		REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
	}
	px_test_serve_until_released(pub, 12000);
	px_publisher_destroy(pub);
	return 0;
}

/* What the upload path copies of image i: each plane's rows, the last one
 * without its padding (px_vk_stats.copy_bytes counts the same). */
static uint64_t image_bytes(const struct px_image_layout *img)
{
	uint64_t bytes = 0;
	for (uint32_t p = 0; p < img->n_planes; p++)
		bytes += (uint64_t)img->planes[p].stride * (px_image_plane_rows(img, p) - 1) +
			 px_image_row_bytes(img, p);
	return bytes;
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	frames_total = px_test_opt("quick") ? 6 : 24;
	int fds = px_test_count_fds();
	px_test_dir();
	/* Odd sizes; NV12's two planes share a buffer: two copies, one image. */
	struct px_image_desc d[] = {{PX_FORMAT_NV12, 46, 30}, {PX_FORMAT_XRGB8888, 33, 17}};
	REQUIRE_OK(px_layout_init_packed(&layout, 2, d, 64, PX_PACK_PER_IMAGE));

	/* The publisher before Vulkan starts its threads here. */
	pid_t publisher = px_test_fork(publisher_main, NULL);

	struct px_vk *own;
	int ret = px_vk_create(&(struct px_vk_params){.validation = true}, &own);
	if (ret == -ENODEV) {
		kill(publisher, SIGKILL);
		px_test_wait(publisher, 10000);
		SKIP("no Vulkan device (install mesa-vulkan-drivers for lavapipe)");
	}
	REQUIRE_OK(ret);
	struct px_vk_info info;
	REQUIRE_OK(px_vk_get_info(own, &info));
	/* A memfd is no dma-buf: host memory where the device imports the
	 * subscriber's read-only mapping of it (not NVIDIA's). */
	enum px_import_path own_path =
	    info.host_import_readonly ? PX_IMPORT_HOST_MEMORY : PX_IMPORT_UPLOAD;

	/* The application's own device, made without VK_EXT_external_memory_host:
	 * pixshare may then only copy. */
	struct px_test_app_device app;
	px_test_app_device_init(&app, NULL, 0);
	struct px_vk *adopted;
	px_log_set_handler(log_handler, NULL, PX_LOG_WARN);
	logged[0] = '\0';
	REQUIRE_OK(px_vk_create(&(struct px_vk_params){.instance = app.instance,
						       .physical_device = app.phys,
						       .device = app.device,
						       .queue_family = app.family},
				&adopted));
	/* The application is told what to enable (the device has it: the own
	 * px_vk enabled it). */
	if (info.host_import &&
	    (!strstr(logged, "did not enable for pixshare") ||
	     !strstr(logged, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME))) {
		fprintf(stderr, "the adopted device's missing extensions were not named:\n%s",
			logged);
		return 1;
	}
	struct px_transform_image im = {.src_image = 1, .out_width = 33, .out_height = 17};
	struct px_transform *t;
	REQUIRE_OK(px_transform_create(
	    adopted, &(struct px_transform_params){.n_images = 1, .images = &im}, &t));

	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = "import-stats",
					  .qos = PX_QOS_RELIABLE,
					  .connect_timeout_ms = 60000,
					  .max_leases = 1,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	const struct px_set_layout *l = px_subscriber_get_layout(sub);
	REQUIRE(l);
	uint64_t bytes_0 = image_bytes(&l->images[0]), bytes_1 = image_bytes(&l->images[1]);

	struct px_subscriber_stats ss, before;
	uint64_t by_path[PX_IMPORT_PATHS] = {0}; /* what this test imported, by path */
	uint32_t n = 0;
	struct px_frame *f;
	while ((ret = px_subscriber_receive(sub, &f, 60000)) == 0) {
		REQUIRE_OK(px_subscriber_get_stats(sub, &before));
		for (uint32_t i = 0; i < 2; i++) {
			struct px_vk_image vi;
			REQUIRE_OK(px_vk_import(own, f, i, &vi));
			REQUIRE_EQ(vi.path, own_path);
			by_path[vi.path]++;
			REQUIRE_OK(px_vk_import(adopted, f, i, &vi));
			REQUIRE_EQ(vi.path, PX_IMPORT_UPLOAD);
			by_path[vi.path]++;
		}
		REQUIRE_OK(px_subscriber_get_stats(sub, &ss));
		REQUIRE_EQ(ss.last_import_path, PX_IMPORT_UPLOAD);
		/* The same buffers wrapped as the application's own frame:
		 * imported, counted in no subscriber's stats. */
		struct px_frame *own_frame;
		REQUIRE_OK(px_frame_wrap(&(struct px_frame_desc){.layout = f->layout,
								 .buffers = f->buffers,
								 .dmabuf = f->dmabuf,
								 .device = f->device,
								 .vulkan = f->vulkan,
								 .slot = f->slot},
					 &own_frame));
		struct px_vk_image vi;
		REQUIRE_OK(px_vk_import(own, own_frame, 1, &vi));
		REQUIRE_OK(px_vk_import(adopted, own_frame, 1, &vi));
		px_vk_forget_pool(own, own_frame->pool_id);
		px_vk_forget_pool(adopted, own_frame->pool_id);
		px_frame_release(own_frame);
		REQUIRE_OK(px_subscriber_get_stats(sub, &ss));
		/* Both images on the adopted device (NV12's two planes, XRGB's
		 * one), and on the own one where it uploads too (NVIDIA). */
		bool own_uploads = own_path == PX_IMPORT_UPLOAD;
		REQUIRE_EQ(ss.imported_upload, before.imported_upload + (own_uploads ? 4 : 2));
		REQUIRE_EQ(ss.copies, before.copies + (own_uploads ? 6 : 3));
		/* The transform: one image by the upload path, one copy. */
		REQUIRE_OK(px_transform_run(t, f));
		by_path[PX_IMPORT_UPLOAD]++;
		if (own_path != PX_IMPORT_UPLOAD) {
			/* … and last: the path of the last image counted. */
			struct px_vk_image last;
			REQUIRE_OK(px_vk_import(own, f, 0, &last));
			by_path[last.path]++;
			REQUIRE_OK(px_subscriber_get_stats(sub, &ss));
			REQUIRE_EQ(ss.last_import_path, own_path);
		}
		px_frame_release(f);
		n++;
	}
	REQUIRE_EQ(ret, -EPIPE);
	REQUIRE_EQ(n, frames_total);

	REQUIRE_OK(px_subscriber_get_stats(sub, &ss));
	struct px_vk_stats os, as;
	REQUIRE_OK(px_vk_get_stats(own, &os));
	REQUIRE_OK(px_vk_get_stats(adopted, &as));
	printf("device: %s; own px_vk by %s, adopted one (no host-memory import) by upload\n",
	       info.device_name, px_import_path_name(own_path));
	printf("subscriber: %u frames: %llu images by dmabuf, %llu by host-memory, %llu by "
	       "upload (last %s), %llu copies (%llu bytes)\n",
	       n, (unsigned long long)ss.imported_dmabuf,
	       (unsigned long long)ss.imported_host_memory, (unsigned long long)ss.imported_upload,
	       px_import_path_name(ss.last_import_path), (unsigned long long)ss.copies,
	       (unsigned long long)ss.copy_bytes);
	REQUIRE_EQ(ss.imported_dmabuf, by_path[PX_IMPORT_DMABUF]);
	REQUIRE_EQ(ss.imported_host_memory, by_path[PX_IMPORT_HOST_MEMORY]);
	REQUIRE_EQ(ss.imported_upload, by_path[PX_IMPORT_UPLOAD]);
	REQUIRE_EQ(ss.imported_opaque_fd, by_path[PX_IMPORT_OPAQUE_FD]);
	if (own_path == PX_IMPORT_HOST_MEMORY) {
		/* Each frame: 2 images by host memory, then 1 more last. */
		REQUIRE_EQ(ss.imported_host_memory, 3ull * n);
		REQUIRE_EQ(ss.imported_upload, 3ull * n);
	}
	REQUIRE_EQ(ss.last_import_path, own_path);
	/* Per frame on the adopted device: NV12's two planes and XRGB's one,
	 * then the transform's XRGB. */
	uint64_t copies = 4ull * n, copy_bytes = (bytes_0 + 2 * bytes_1) * n;
	if (own_path == PX_IMPORT_UPLOAD) {
		copies += 3ull * n; /* the own px_vk's two images */
		copy_bytes += (bytes_0 + bytes_1) * n;
	}
	REQUIRE_EQ(ss.copies, copies);
	REQUIRE_EQ(ss.copy_bytes, copy_bytes);
	/* The importers' own counts include the hand-made frame's copies. */
	REQUIRE_EQ(os.copies + as.copies, copies + (own_path == PX_IMPORT_UPLOAD ? 2ull * n : n));
	REQUIRE_EQ(os.copy_bytes + as.copy_bytes,
		   copy_bytes + bytes_1 * n * (own_path == PX_IMPORT_UPLOAD ? 2 : 1));
	printf("copies: %llu planes, %llu bytes, as the layout gives them; a hand-made frame "
	       "not counted\n",
	       (unsigned long long)copies, (unsigned long long)copy_bytes);
	printf("validation: %llu errors\n", (unsigned long long)(os.validation_errors));
	REQUIRE_EQ(os.validation_errors, 0);

	px_subscriber_destroy(sub);
	px_transform_destroy(t);
	px_vk_destroy(adopted);
	px_test_app_device_finish(&app);
	px_vk_destroy(own);
	REQUIRE_EQ(px_test_wait(publisher, 120000), 0);
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}
