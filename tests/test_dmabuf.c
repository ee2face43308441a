/* SPDX-License-Identifier: MIT */
/*
 * The dma-buf allocators on real kernel drivers (the vm tier runs this in a
 * guest with vgem and virtio-gpu): for each allocator and each DRM card, a
 * pool is published, a subscriber in another process maps the dma-bufs and
 * checks every pixel against the test pattern. Layouts an allocator cannot
 * make must be refused with a reason, and AUTO must then fall back. The
 * allocators that give subscribers read-only dma-bufs (dumb, GBM) are held
 * to it: the subscriber's attempts to map them writable fail.
 * Skips (77) only when this machine has no dma-buf allocator at all.
 * --require-heaps: dma-heap and udmabuf must both work (a kernel
 * that has them: the vm13 tier's).
 */
#include <dirent.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <xf86drm.h>

#include <pixshare/pixshare.h>

#include "px_testutil.h"

#define FRAMES 20

struct run {
	const char *topic;
	struct px_set_layout layout;
	enum px_allocator_type type;
};

static int subscriber(void *arg)
{
	const struct run *r = arg;
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = r->topic, .qos = PX_QOS_RELIABLE,
					  .connect_timeout_ms = 10000,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT};
	int fds = px_test_count_fds();
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	struct px_topic_info info;
	REQUIRE_OK(px_subscriber_get_topic_info(sub, &info));
	REQUIRE_EQ(info.allocator, r->type);
	REQUIRE(info.dmabuf);
	/* DRM's allocators export read-only dma-bufs (docs/design.md); the
	 * others cannot. */
	bool ro = r->type == PX_ALLOCATOR_DUMB || r->type == PX_ALLOCATOR_GBM;
	REQUIRE_EQ(info.read_only, ro);
	REQUIRE(px_layout_equal(px_subscriber_get_layout(sub), &r->layout));
	uint64_t frames = 0;
	struct px_frame *f;
	int ret;
	while ((ret = px_subscriber_receive(sub, &f, 10000)) == 0) {
		for (uint32_t i = 0; i < f->layout->n_images; i++) {
			const void *planes[PX_MAX_PLANES] = {0};
			for (uint32_t p = 0; p < f->layout->images[i].n_planes; p++)
				REQUIRE((planes[p] = px_frame_plane(f, i, p)));
			struct px_pattern_params pp = {.frame = f->seq, .image_index = i,
						       .timestamp_ns = f->images[i].timestamp_ns};
			char why[200];
			if (px_pattern_verify(&f->layout->images[i], planes, &pp, why, sizeof(why))) {
				fprintf(stderr, "frame %llu image %u: %s\n",
					(unsigned long long)f->seq, i, why);
				return 1;
			}
		}
		/* A subscriber of read-only dma-bufs cannot write into them:
		 * no writable mapping, and its own mapping stays read-only. */
		for (uint32_t b = 0; ro && frames == 0 && b < f->layout->n_buffers; b++) {
			const struct px_frame_buffer *fb = &f->buffers[b];
			REQUIRE(mmap(NULL, fb->size, PROT_READ | PROT_WRITE, MAP_SHARED, fb->fd,
				     0) == MAP_FAILED);
			REQUIRE_EQ(errno, EACCES);
			REQUIRE(fb->data);
			REQUIRE(mprotect((void *)(uintptr_t)fb->data, 4096,
					 PROT_READ | PROT_WRITE) < 0);
			REQUIRE_EQ(errno, EACCES);
		}
		frames++;
		px_frame_release(f);
	}
	REQUIRE_EQ(ret, -EPIPE);
	REQUIRE_EQ(frames, FRAMES);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}

/* Publishes FRAMES pattern frames to one reliable subscriber in a child. */
static void publish_and_check(struct px_publisher *pub, struct run *r)
{
	r->layout = *px_publisher_get_layout(pub);
	pid_t pid = px_test_fork(subscriber, r);
	px_test_wait_subscribers(pub, 1);
	for (uint64_t n = 1; n <= FRAMES; n++) {
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 10000, &slot));
		struct px_publish_info info = {0};
		for (uint32_t i = 0; i < r->layout.n_images; i++) {
			void *planes[PX_MAX_PLANES] = {0};
			for (uint32_t p = 0; p < r->layout.images[i].n_planes; p++)
				REQUIRE((planes[p] = px_slot_plane(slot, i, p)));
			info.images[i].timestamp_ns = px_now_ns();
			struct px_pattern_params tp = {.frame = n, .image_index = i,
						       .timestamp_ns = info.images[i].timestamp_ns};
			REQUIRE_OK(px_pattern_draw(&r->layout.images[i], planes, &tp));
		}
		REQUIRE_OK(px_publisher_publish(pub, slot, &info));
	}
	px_test_serve_until_released(pub, 1000);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_wait(pid, 60000), 0);
}

static void layout_of(struct px_set_layout *l, const struct px_image_desc *d, uint32_t n,
		      enum px_packing packing)
{
	REQUIRE_OK(px_layout_init_packed(l, n, d, 64, packing));
}

static int ran, refused;

/* Runs one allocator on one device with one layout: 0 when it ran, else the
 * error px_publisher_create gave. */
static int try_run(enum px_allocator_type type, const char *device, const char *what,
		   const struct px_set_layout *layout)
{
	struct px_publisher *pub;
	struct px_publisher_params pp = {.topic = "dmabuf", .layout = layout,
					 .allocator = type, .device = device};
	int ret = px_publisher_create(&pp, &pub);
	printf("%-9s %-18s %-34s %s\n", px_allocator_name(type), device ? device : "(default)",
	       what, ret ? px_strerror(ret) : "published, verified in another process");
	fflush(stdout);
	if (ret)
		return ret;
	REQUIRE_EQ(px_publisher_get_allocator(pub), type);
	struct run r = {.topic = "dmabuf", .type = type};
	publish_and_check(pub, &r);
	ran++;
	return 0;
}

/* The DRM driver's own name: sysfs names the bus's driver (virtio-pci), and
 * vgem has none there. */
static const char *card_driver(const char *dev, char *buf, size_t size)
{
	snprintf(buf, size, "?");
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return buf;
	drmVersionPtr v = drmGetVersion(fd);
	if (v)
		snprintf(buf, size, "%s", v->name);
	drmFreeVersion(v);
	close(fd);
	return buf;
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	px_test_dir();
	int fds = px_test_count_fds();
	struct px_set_layout all, gbm_ok, nv12, batch;
	struct px_image_desc every[] = {
		{PX_FORMAT_YUYV, 160, 100}, {PX_FORMAT_NV12, 99, 61}, {PX_FORMAT_XRGB8888, 65, 9},
		{PX_FORMAT_R8, 333, 171},   {PX_FORMAT_RGB888, 17, 13}, {PX_FORMAT_P010, 66, 34},
		{PX_FORMAT_UYVY, 7, 5},     {PX_FORMAT_R16, 64, 8},    {PX_FORMAT_ABGR8888, 1, 1},
		{PX_FORMAT_BGR888, 128, 16}, {PX_FORMAT_ARGB8888, 80, 60}, {PX_FORMAT_XBGR8888, 3, 1},
	};
	struct px_image_desc rgb[] = {{PX_FORMAT_XRGB8888, 333, 171}, {PX_FORMAT_ARGB8888, 64, 48}};
	struct px_image_desc yuv[] = {{PX_FORMAT_NV12, 64, 48}};
	layout_of(&all, every, PX_ARRAY_LEN(every), PX_PACK_PER_IMAGE);
	layout_of(&batch, every, PX_ARRAY_LEN(every), PX_PACK_BATCH);
	layout_of(&gbm_ok, rgb, PX_ARRAY_LEN(rgb), PX_PACK_PER_IMAGE);
	layout_of(&nv12, yuv, 1, PX_PACK_PER_IMAGE);

	/* DRM cards, by driver. */
	DIR *d = opendir("/sys/class/drm");
	struct dirent *e;
	int cards = 0;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "card", 4) || strchr(e->d_name, '-'))
			continue;
		char dev[300], drv[64];
		snprintf(dev, sizeof(dev), "/dev/dri/%s", e->d_name);
		card_driver(dev, drv, sizeof(drv));
		printf("== %s: driver %s\n", dev, drv);
		cards++;
		/* Dumb buffers: any format, any layout. */
		REQUIRE_OK(try_run(PX_ALLOCATOR_DUMB, dev, "12 formats, one buffer each", &all));
		REQUIRE_OK(try_run(PX_ALLOCATOR_DUMB, dev, "12 formats, one batch buffer", &batch));
		/* GBM: the RGB formats it has; NV12 and batches are refused. */
		REQUIRE_OK(try_run(PX_ALLOCATOR_GBM, dev, "XRGB8888 + ARGB8888, odd sizes", &gbm_ok));
		REQUIRE_EQ(try_run(PX_ALLOCATOR_GBM, dev, "NV12 (refused)", &nv12), -ENOTSUP);
		REQUIRE_EQ(try_run(PX_ALLOCATOR_GBM, dev, "batch (refused)", &batch), -ENOTSUP);
		refused += 2;
	}
	if (d)
		closedir(d);

	/* AUTO: GBM where it can, something else where it cannot, reasons logged. */
	if (cards) {
		struct px_publisher *pub;
		struct px_publisher_params pp = {.topic = "auto", .layout = &nv12};
		REQUIRE_OK(px_publisher_create(&pp, &pub));
		enum px_allocator_type got = px_publisher_get_allocator(pub);
		printf("auto for NV12: %s\n", px_allocator_name(got));
		REQUIRE(got != PX_ALLOCATOR_GBM);
		REQUIRE(px_allocator_is_dmabuf(got));
		px_publisher_destroy(pub);
		pp.layout = &gbm_ok;
		REQUIRE_OK(px_publisher_create(&pp, &pub));
		printf("auto for XRGB8888: %s\n", px_allocator_name(px_publisher_get_allocator(pub)));
		REQUIRE_EQ(px_publisher_get_allocator(pub), PX_ALLOCATOR_GBM);
		px_publisher_destroy(pub);
	}

	/* dma-heap and udmabuf, where this kernel has them. */
	int heap = try_run(PX_ALLOCATOR_DMA_HEAP, NULL, "12 formats, one buffer each", &all);
	REQUIRE(heap == 0 || heap == -ENOTSUP);
	int udma = try_run(PX_ALLOCATOR_UDMABUF, NULL, "12 formats, one buffer each", &all);
	REQUIRE(udma == 0 || udma == -ENOTSUP);
	if (px_test_opt("require-heaps")) {
		REQUIRE_OK(heap);
		REQUIRE_OK(udma);
		/* A batch buffer too: one dma-buf for every image. */
		REQUIRE_OK(
		    try_run(PX_ALLOCATOR_DMA_HEAP, NULL, "12 formats, one batch buffer", &batch));
		REQUIRE_OK(
		    try_run(PX_ALLOCATOR_UDMABUF, NULL, "12 formats, one batch buffer", &batch));
	}

	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("dmabuf: %d runs verified, %d layouts refused as expected%s%s\n", ran, refused,
	       heap ? "; no dma-heap here" : "", udma ? "; no udmabuf here" : "");
	if (!ran)
		SKIP("no DRM card, dma-heap or udmabuf on this machine: the vm tier runs this");
	return 0;
}
