/* SPDX-License-Identifier: MIT */
/*
 * bench_transform: a set of 6 YUYV 1280×800 images → crop 1152×720 →
 * bilinear resize to 640×400 → RGBA8, on the Vulkan device px_vk_create()
 * picks (lavapipe without a GPU):
 *
 * - fused: the library's transform, one dispatch for the set;
 * - unfused: the same chain as one dispatch per op — convert (YUYV → RGBA
 *   at full size), crop (a copy of the rectangle), resize (bilinear) —
 *   through full-size intermediate buffers, each op a transform with the
 *   other two as identities;
 * - libswscale on the CPU (one thread), the crop as a pointer offset.
 *
 * Reports ms per set and sets per second, the ratios, the fused chain's GB/s
 * (the set's bytes in and out) against the device's copy bandwidth
 * (vkCmdCopyBuffer between device-local buffers) and against a copy of the
 * input from where the transform reads it; the fused chain again on the set
 * in device-local memory that the device wrote, exported as opaque fds and
 * imported as a GPU producer's pool is (where the device exports them), one
 * set at a time, 4 in flight, and with the output in device-local memory
 * too (the GPU target's case); and the allocations and imports
 * counted after warm-up (both must be 0). Exits 0 unless something
 * broke; a missed target is reported, not failed.
 *
 * Usage: bench_transform [--quick] (about 1 s per phase instead of 4).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

#include <pixshare/pixshare.h>
#include <pixshare/transform.h>
#include <pixshare/vulkan.h>

#define N 6
#define W 1280
#define H 800
#define CX 64
#define CY 40
#define CW 1152
#define CH 720
#define OW 640
#define OH 400

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		int ret_ = (expr);                                                                 \
		if (ret_) {                                                                        \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,              \
				px_strerror(ret_));                                                \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static double phase_s = 4.0;

/* The set: 6 YUYV sources, then the unfused chain's intermediates: image 6
 * holds the 6 converted images one above the other (RGBA, 1280 × 4800),
 * image 7 the 6 cropped ones (1152 × 4320). */
struct set {
	struct px_set_layout layout;
	struct px_frame_buffer bufs[PX_MAX_BUFFERS];
	size_t sizes[PX_MAX_BUFFERS];
	struct px_frame *frame;
};

static void set_init(struct set *s)
{
	struct px_image_desc d[N + 2];
	for (int i = 0; i < N; i++)
		d[i] = (struct px_image_desc){PX_FORMAT_YUYV, W, H};
	d[N] = (struct px_image_desc){PX_FORMAT_ABGR8888, W, H * N};
	d[N + 1] = (struct px_image_desc){PX_FORMAT_ABGR8888, CW, CH * N};
	CHECK(px_layout_init_packed(&s->layout, N + 2, d, 64, PX_PACK_PER_IMAGE));
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (uint32_t b = 0; b < s->layout.n_buffers; b++) {
		s->sizes[b] = s->layout.buffer_sizes[b];
		uint8_t *p = mmap(NULL, s->sizes[b], PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
		s->bufs[b] = (struct px_frame_buffer){-1, s->sizes[b], p};
	}
	/* The sources: smooth gradients with a little noise, as a camera
	 * gives (a comparison with libswscale's wider filter stays fair). */
	for (int i = 0; i < N; i++) {
		const struct px_image_layout *img = &s->layout.images[i];
		uint8_t *p = (uint8_t *)s->bufs[img->planes[0].buffer].data + img->planes[0].offset;
		for (uint32_t y = 0; y < H; y++) {
			uint8_t *row = p + (size_t)y * img->planes[0].stride;
			for (uint32_t px = 0; px < W; px += 2) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				row[2 * px] = (uint8_t)(16 + 200 * px / W + (x & 3));
				row[2 * px + 1] = (uint8_t)(64 + 128 * y / H + i * 4);
				row[2 * px + 2] = (uint8_t)(16 + 200 * px / W + ((x >> 8) & 3));
				row[2 * px + 3] = (uint8_t)(192 - 128 * px / W);
			}
		}
	}
	CHECK(px_frame_wrap(&(struct px_frame_desc){.layout = &s->layout, .buffers = s->bufs},
			    &s->frame));
}

static void set_finish(struct set *s)
{
	px_frame_release(s->frame);
	for (uint32_t b = 0; b < s->layout.n_buffers; b++)
		munmap((void *)s->bufs[b].data, s->sizes[b]);
}

struct timing {
	double ms;   /* per set */
	double sets; /* per second */
	uint64_t n;
};

/* Runs `fn` for about phase_s seconds after 3 warm-up runs. */
static struct timing measure(void (*fn)(void *), void *arg)
{
	for (int i = 0; i < 3; i++)
		fn(arg);
	uint64_t t0 = px_now_ns(), n = 0;
	do {
		fn(arg);
		n++;
	} while (px_now_ns() - t0 < (uint64_t)(phase_s * 1e9));
	double s = (double)(px_now_ns() - t0) / 1e9;
	return (struct timing){s * 1e3 / (double)n, (double)n / s, n};
}

struct gpu {
	struct px_transform *t[3];
	int n;
	struct px_frame *frame;
};

static void run_gpu(void *arg)
{
	struct gpu *g = arg;
	for (int i = 0; i < g->n; i++)
		CHECK(px_transform_run(g->t[i], g->frame));
}

/* The same transform K times over, all submitted before any is waited for:
 * what the device does when the CPU does not wait between sets. */
#define K 4
struct inflight {
	struct px_transform *t[K];
	struct px_frame *frame;
};

static void run_inflight(void *arg)
{
	struct inflight *f = arg;
	for (int i = 0; i < K; i++)
		CHECK(px_transform_submit(f->t[i], f->frame));
	for (int i = 0; i < K; i++)
		CHECK(px_transform_wait(f->t[i], -1));
}

struct sws {
	struct SwsContext *ctx;
	struct set *set;
	uint8_t *out;
};

static void run_sws(void *arg)
{
	struct sws *s = arg;
	for (int i = 0; i < N; i++) {
		const struct px_image_layout *img = &s->set->layout.images[i];
		const uint8_t *src = (const uint8_t *)s->set->bufs[img->planes[0].buffer].data +
				     img->planes[0].offset + (size_t)CY * img->planes[0].stride +
				     CX * 2;
		const uint8_t *srcs[4] = {src};
		int src_stride[4] = {(int)img->planes[0].stride};
		uint8_t *dst[4] = {s->out + (size_t)i * OW * OH * 4};
		int dst_stride[4] = {OW * 4};
		sws_scale(s->ctx, srcs, src_stride, 0, CH, dst, dst_stride);
	}
}

/* Copies with vkCmdCopyBuffer, recorded once, each run submitted and waited
 * for as a transform is: the device's copy bandwidth, to put the fused
 * transform's GB/s against. */
struct copier {
	struct px_vk *vk;
	VkDevice dev;
	VkQueue queue;
	VkCommandPool pool;
	VkCommandBuffer cb;
	VkFence fence;
	VkBuffer bufs[2];
	VkDeviceMemory mems[2];
	uint64_t bytes; /* copied per run */
};

#define VKCHECK(expr)                                                                              \
	do {                                                                                       \
		VkResult r_ = (expr);                                                              \
		if (r_ != VK_SUCCESS) {                                                            \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,              \
				px_vk_result_name(r_));                                            \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* A device-local buffer of `size` bytes for copies. */
static void device_buffer(struct copier *c, int i, uint64_t size)
{
	VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				 .size = size,
				 .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
					  VK_BUFFER_USAGE_TRANSFER_DST_BIT,
				 .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
	VKCHECK(vkCreateBuffer(c->dev, &bi, NULL, &c->bufs[i]));
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(c->dev, c->bufs[i], &req);
	VkPhysicalDeviceMemoryProperties mp;
	vkGetPhysicalDeviceMemoryProperties(px_vk_get_physical_device(c->vk), &mp);
	uint32_t type = UINT32_MAX;
	for (uint32_t t = 0; t < mp.memoryTypeCount && type == UINT32_MAX; t++)
		if ((req.memoryTypeBits & (1u << t)) &&
		    (mp.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
			type = t;
	if (type == UINT32_MAX) {
		fprintf(stderr, "no device-local memory type for a transfer buffer\n");
		exit(1);
	}
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .allocationSize = req.size,
				   .memoryTypeIndex = type};
	VKCHECK(vkAllocateMemory(c->dev, &ai, NULL, &c->mems[i]));
	VKCHECK(vkBindBufferMemory(c->dev, c->bufs[i], c->mems[i], 0));
}

static void copier_init(struct copier *c, struct px_vk *vk)
{
	struct px_vk_info info;
	CHECK(px_vk_get_info(vk, &info));
	*c = (struct copier){.vk = vk, .dev = px_vk_get_device(vk)};
	vkGetDeviceQueue(c->dev, info.queue_family, 0, &c->queue);
	VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
				      .queueFamilyIndex = info.queue_family};
	VKCHECK(vkCreateCommandPool(c->dev, &pi, NULL, &c->pool));
	VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
					  .commandPool = c->pool,
					  .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
					  .commandBufferCount = 1};
	VKCHECK(vkAllocateCommandBuffers(c->dev, &ai, &c->cb));
	VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
	VKCHECK(vkCreateFence(c->dev, &fi, NULL, &c->fence));
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	VKCHECK(vkBeginCommandBuffer(c->cb, &bi));
}

static void run_copy(void *arg);

/* Writes every byte of `buf` once, so that the copies read memory that
 * exists (untouched pages would read as the kernel's zero page). */
static void copier_prefill(struct copier *c, VkBuffer buf, uint64_t size)
{
	vkCmdFillBuffer(c->cb, buf, 0, size, 0x5a5a5a5a);
	VKCHECK(vkEndCommandBuffer(c->cb));
	run_copy(c);
	VKCHECK(vkResetCommandPool(c->dev, c->pool, 0));
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	VKCHECK(vkBeginCommandBuffer(c->cb, &bi));
}

static void copier_record(struct copier *c, VkBuffer src, uint64_t src_offset, VkBuffer dst,
			  uint64_t dst_offset, uint64_t size)
{
	VkBufferCopy r = {.srcOffset = src_offset, .dstOffset = dst_offset, .size = size};
	vkCmdCopyBuffer(c->cb, src, dst, 1, &r);
	c->bytes += size;
}

static void run_copy(void *arg)
{
	struct copier *c = arg;
	VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
			   .commandBufferCount = 1,
			   .pCommandBuffers = &c->cb};
	VKCHECK(vkQueueSubmit(c->queue, 1, &si, c->fence));
	VKCHECK(vkWaitForFences(c->dev, 1, &c->fence, VK_TRUE, UINT64_MAX));
	VKCHECK(vkResetFences(c->dev, 1, &c->fence));
}

static void copier_finish(struct copier *c)
{
	vkDestroyFence(c->dev, c->fence, NULL);
	vkDestroyCommandPool(c->dev, c->pool, NULL);
	for (int i = 0; i < 2; i++) {
		if (c->bufs[i])
			vkDestroyBuffer(c->dev, c->bufs[i], NULL);
		if (c->mems[i])
			vkFreeMemory(c->dev, c->mems[i], NULL);
	}
}

/* The sources in device-local memory, as a GPU producer's pool holds them:
 * one exportable buffer per image, exported as an opaque fd and described
 * as a Vulkan export (px_vulkan_export), filled by the device from the host
 * set. The transform imports the fds (PX_IMPORT_OPAQUE_FD) and reads the
 * device's own memory. */
struct devset {
	struct px_set_layout layout; /* the N sources, a buffer each */
	struct px_frame_buffer bufs[N];
	struct px_vulkan_export desc;
	struct px_frame *frame; /* NULL until made */
	VkBuffer buffers[N];
	VkDeviceMemory memory[N];
	int fds[N];
	bool device_local;
};

static void devset_finish(struct devset *d, struct px_vk *vk);

/* A device-local memory type among `bits`, not host-visible where the
 * device has such memory (a discrete GPU's own); UINT32_MAX: none. */
static uint32_t device_own_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits)
{
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t t = 0; t < mp->memoryTypeCount; t++) {
			VkMemoryPropertyFlags f = mp->memoryTypes[t].propertyFlags;
			if ((bits & (1u << t)) && (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) &&
			    (pass || !(f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)))
				return t;
		}
	return UINT32_MAX;
}

/* 0, or why not (printed) where the device cannot export device memory. */
static int devset_init(struct devset *d, struct px_vk *vk, struct set *host)
{
	struct px_vk_info info;
	CHECK(px_vk_get_info(vk, &info));
	VkDevice dev = px_vk_get_device(vk);
	PFN_vkGetMemoryFdKHR get_fd =
	    (PFN_vkGetMemoryFdKHR)vkGetDeviceProcAddr(dev, "vkGetMemoryFdKHR");
	memset(d, 0, sizeof(*d));
	for (int i = 0; i < N; i++)
		d->fds[i] = -1;
	if (!info.opaque_fd_import || !get_fd) {
		printf("device-local input: not measured (no opaque-fd export and import)\n");
		return -ENOTSUP;
	}
	struct px_image_desc id[N];
	for (int i = 0; i < N; i++)
		id[i] = (struct px_image_desc){PX_FORMAT_YUYV, W, H};
	CHECK(px_layout_init_packed(&d->layout, N, id, 64, PX_PACK_PER_IMAGE));
	VkPhysicalDeviceMemoryProperties mp;
	vkGetPhysicalDeviceMemoryProperties(px_vk_get_physical_device(vk), &mp);
	const VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
					 VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
					 VK_BUFFER_USAGE_TRANSFER_DST_BIT;
	struct copier fill;
	copier_init(&fill, vk);
	for (int i = 0; i < N; i++) {
		VkExternalMemoryBufferCreateInfo eb = {
		    .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
		    .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT};
		VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
					 .pNext = &eb,
					 .size = d->layout.buffer_sizes[i],
					 .usage = usage};
		VKCHECK(vkCreateBuffer(dev, &bi, NULL, &d->buffers[i]));
		VkMemoryRequirements req;
		vkGetBufferMemoryRequirements(dev, d->buffers[i], &req);
		uint32_t type = device_own_type(&mp, req.memoryTypeBits);
		if (type == UINT32_MAX) {
			printf("device-local input: not measured (no device-local memory type)\n");
			copier_finish(&fill);
			devset_finish(d, vk);
			return -ENOTSUP;
		}
		d->device_local =
		    !(mp.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
		VkExportMemoryAllocateInfo ex = {
		    .sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
		    .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT};
		VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
					   .pNext = &ex,
					   .allocationSize = req.size,
					   .memoryTypeIndex = type};
		VKCHECK(vkAllocateMemory(dev, &ai, NULL, &d->memory[i]));
		VKCHECK(vkBindBufferMemory(dev, d->buffers[i], d->memory[i], 0));
		VkMemoryGetFdInfoKHR gi = {.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR,
					   .memory = d->memory[i],
					   .handleType =
					       VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT};
		VKCHECK(get_fd(dev, &gi, &d->fds[i]));
		CHECK(fcntl(d->fds[i], F_SETFD, FD_CLOEXEC) == 0 ? 0 : -errno);
		d->bufs[i] = (struct px_frame_buffer){d->fds[i], d->layout.buffer_sizes[i], NULL};
		d->desc.memory_type = type;
		d->desc.allocation_size[i] = req.size;
		d->desc.buffer_size[i] = d->layout.buffer_sizes[i];
		/* The device writes the set: a copy from the host set's import. */
		struct px_vk_image vi;
		CHECK(px_vk_import(vk, host->frame, (uint32_t)i, &vi));
		const struct px_plane *hp = &host->layout.images[i].planes[0];
		const struct px_plane *dp = &d->layout.images[i].planes[0];
		CHECK(hp->stride == dp->stride ? 0 : -EINVAL);
		copier_record(&fill, vi.planes[0].buffer, vi.planes[0].offset, d->buffers[i],
			      dp->offset, (uint64_t)dp->stride * H);
	}
	VKCHECK(vkEndCommandBuffer(fill.cb));
	run_copy(&fill);
	copier_finish(&fill);
	memcpy(d->desc.device_uuid, info.device_uuid, sizeof(d->desc.device_uuid));
	memcpy(d->desc.driver_uuid, info.driver_uuid, sizeof(d->desc.driver_uuid));
	d->desc.buffer_usage = usage;
	CHECK(px_frame_wrap(
	    &(struct px_frame_desc){.layout = &d->layout, .buffers = d->bufs, .vulkan = &d->desc},
	    &d->frame));
	return 0;
}

/* A buffer of the device's own memory (device-local, not host-visible where
 * the device has such memory) for the transform's output: what a GPU
 * pipeline's next stage reads. */
static void local_output(struct px_vk *vk, uint64_t size, VkBuffer *buf, VkDeviceMemory *mem)
{
	VkDevice dev = px_vk_get_device(vk);
	VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				 .size = size,
				 .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
					  VK_BUFFER_USAGE_TRANSFER_SRC_BIT};
	VKCHECK(vkCreateBuffer(dev, &bi, NULL, buf));
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(dev, *buf, &req);
	VkPhysicalDeviceMemoryProperties mp;
	vkGetPhysicalDeviceMemoryProperties(px_vk_get_physical_device(vk), &mp);
	uint32_t type = device_own_type(&mp, req.memoryTypeBits);
	CHECK(type == UINT32_MAX ? -ENOTSUP : 0);
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .allocationSize = req.size,
				   .memoryTypeIndex = type};
	VKCHECK(vkAllocateMemory(dev, &ai, NULL, mem));
	VKCHECK(vkBindBufferMemory(dev, *buf, *mem, 0));
}

static void devset_finish(struct devset *d, struct px_vk *vk)
{
	VkDevice dev = px_vk_get_device(vk);
	if (d->frame)
		px_vk_forget_pool(vk, d->frame->pool_id);
	px_frame_release(d->frame);
	d->frame = NULL;
	for (int i = 0; i < N; i++) {
		if (d->buffers[i])
			vkDestroyBuffer(dev, d->buffers[i], NULL);
		if (d->memory[i])
			vkFreeMemory(dev, d->memory[i], NULL);
		if (d->fds[i] >= 0)
			close(d->fds[i]);
	}
}

/* Bytes read and written per second, in GB/s. */
static double copy_gbs(const struct copier *c, const struct timing *t)
{
	return 2.0 * (double)c->bytes * t->sets / 1e9;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			phase_s = 1.0;
		} else {
			fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
			return 2;
		}
	}
	struct px_vk *vk;
	int ret = px_vk_create(NULL, &vk);
	if (ret) {
		fprintf(stderr, "px_vk_create: %s\n", px_strerror(ret));
		return ret == -ENODEV ? 77 : 1;
	}
	struct px_vk_info info;
	CHECK(px_vk_get_info(vk, &info));
	struct set set;
	set_init(&set);

	/* Fused: crop + bilinear resize + YUYV→RGBA, one dispatch. */
	struct px_transform_image ims[N];
	for (int i = 0; i < N; i++)
		ims[i] = (struct px_transform_image){.src_image = (uint32_t)i,
						     .crop_x = CX,
						     .crop_y = CY,
						     .crop_width = CW,
						     .crop_height = CH,
						     .out_width = OW,
						     .out_height = OH,
						     .filter = PX_FILTER_BILINEAR,
						     .out_offset = (uint64_t)i * OW * OH * 4};
	struct px_transform_params tp = {.n_images = N, .images = ims, .format = PX_OUT_RGBA8};
	struct gpu fused = {.n = 1, .frame = set.frame};
	CHECK(px_transform_create(vk, &tp, &fused.t[0]));

	/* Unfused: convert, crop, resize, each its own dispatch over the set,
	 * through the intermediates of images 6 and 7. */
	struct px_vk_image inter[2];
	CHECK(px_vk_import(vk, set.frame, N, &inter[0]));
	CHECK(px_vk_import(vk, set.frame, N + 1, &inter[1]));
	struct gpu unfused = {.n = 3, .frame = set.frame};
	struct px_transform_image conv[N], crop[N], resize[N];
	for (int i = 0; i < N; i++) {
		conv[i] = (struct px_transform_image){
		    .src_image = (uint32_t)i,
		    .out_width = W,
		    .out_height = H,
		    .out_offset = set.layout.images[N].planes[0].offset +
				  (uint64_t)i * H * set.layout.images[N].planes[0].stride,
		    .out_stride = set.layout.images[N].planes[0].stride};
		crop[i] = (struct px_transform_image){
		    .src_image = N,
		    .crop_x = CX,
		    .crop_y = (uint32_t)(i * H + CY),
		    .crop_width = CW,
		    .crop_height = CH,
		    .out_width = CW,
		    .out_height = CH,
		    .out_offset = set.layout.images[N + 1].planes[0].offset +
				  (uint64_t)i * CH * set.layout.images[N + 1].planes[0].stride,
		    .out_stride = set.layout.images[N + 1].planes[0].stride};
		resize[i] = ims[i];
		resize[i].src_image = N + 1;
		resize[i].crop_x = 0;
		resize[i].crop_y = (uint32_t)(i * CH);
	}
	struct px_transform_params p1 = {.n_images = N,
					 .images = conv,
					 .format = PX_OUT_RGBA8,
					 .output_buffer = inter[0].planes[0].buffer,
					 .output_size = set.layout.buffer_sizes[N]};
	struct px_transform_params p2 = {.n_images = N,
					 .images = crop,
					 .format = PX_OUT_RGBA8,
					 .output_buffer = inter[1].planes[0].buffer,
					 .output_size = set.layout.buffer_sizes[N + 1]};
	struct px_transform_params p3 = {.n_images = N, .images = resize, .format = PX_OUT_RGBA8};
	CHECK(px_transform_create(vk, &p1, &unfused.t[0]));
	CHECK(px_transform_create(vk, &p2, &unfused.t[1]));
	CHECK(px_transform_create(vk, &p3, &unfused.t[2]));

	/* Both give the same pixels (the unfused one rounds to bytes twice). */
	run_gpu(&fused);
	run_gpu(&unfused);
	uint8_t *a, *b;
	CHECK(px_transform_get_output(fused.t[0], (void **)&a, NULL, NULL));
	CHECK(px_transform_get_output(unfused.t[2], (void **)&b, NULL, NULL));
	int maxdiff = 0;
	for (size_t i = 0; i < (size_t)N * OW * OH * 4; i++) {
		int d = abs(a[i] - b[i]);
		maxdiff = d > maxdiff ? d : maxdiff;
	}

	struct px_vk_stats st0, st1;
	CHECK(px_vk_get_stats(vk, &st0));
	struct timing tf = measure(run_gpu, &fused);
	struct timing tu = measure(run_gpu, &unfused);
	CHECK(px_vk_get_stats(vk, &st1));

	/* The device's copy bandwidth: 256 MiB between device-local buffers.
	 * And the same bytes as the fused transform's input, copied from where
	 * it reads them (the set's imported buffers) into device-local memory:
	 * what the input's placement allows. */
	const uint64_t big = 256ull << 20;
	struct copier dcopy, icopy;
	copier_init(&dcopy, vk);
	device_buffer(&dcopy, 0, big);
	device_buffer(&dcopy, 1, big);
	copier_prefill(&dcopy, dcopy.bufs[0], big);
	copier_record(&dcopy, dcopy.bufs[0], 0, dcopy.bufs[1], 0, big);
	VKCHECK(vkEndCommandBuffer(dcopy.cb));
	struct timing tdc = measure(run_copy, &dcopy);
	copier_init(&icopy, vk);
	device_buffer(&icopy, 0, (uint64_t)N * W * H * 2);
	enum px_import_path in_path = PX_IMPORT_UPLOAD;
	for (int i = 0; i < N; i++) {
		struct px_vk_image vi;
		CHECK(px_vk_import(vk, set.frame, (uint32_t)i, &vi));
		in_path = vi.path;
		copier_record(&icopy, vi.planes[0].buffer, vi.planes[0].offset, icopy.bufs[0],
			      (uint64_t)i * W * H * 2, (uint64_t)W * H * 2);
	}
	VKCHECK(vkEndCommandBuffer(icopy.cb));
	struct timing tic = measure(run_copy, &icopy);

	/* The fused chain on the set in the device's own memory. Its output
	 * must be the host set's, byte for byte. */
	struct devset ds;
	struct timing tdl = {0}, tdk = {0}, tdo = {0};
	int do_diff = -1;
	enum px_import_path dl_path = PX_IMPORT_UPLOAD;
	int dl_diff = -1;
	if (devset_init(&ds, vk, &set) == 0) {
		/* The host input's output, before the same transform
		 * overwrites it. */
		size_t out_bytes = (size_t)N * OW * OH * 4;
		uint8_t *ref = malloc(out_bytes);
		CHECK(ref ? 0 : -ENOMEM);
		run_gpu(&fused);
		memcpy(ref, a, out_bytes);
		struct gpu dl = {.n = 1, .frame = ds.frame};
		dl.t[0] = fused.t[0];
		memset(a, 0, out_bytes);
		run_gpu(&dl);
		dl_diff = 0;
		for (size_t i = 0; i < out_bytes; i++)
			dl_diff = abs(a[i] - ref[i]) > dl_diff ? abs(a[i] - ref[i]) : dl_diff;
		struct px_vk_stats sd;
		CHECK(px_vk_get_stats(vk, &sd));
		dl_path = sd.last_path;
		tdl = measure(run_gpu, &dl);
		struct inflight in = {.frame = ds.frame};
		for (int i = 0; i < K; i++)
			CHECK(px_transform_create(vk, &tp, &in.t[i]));
		tdk = measure(run_inflight, &in);
		tdk.ms /= K, tdk.sets *= K;
		for (int i = 0; i < K; i++)
			px_transform_destroy(in.t[i]);

		/* Input and output in the device's own memory: the output into
		 * the application's device-local buffer, as a GPU pipeline's
		 * next stage would read it; checked once through a copy into
		 * the host-visible output. */
		VkBuffer lbuf;
		VkDeviceMemory lmem;
		local_output(vk, out_bytes, &lbuf, &lmem);
		struct px_transform_params lp = tp;
		lp.output_buffer = lbuf;
		lp.output_size = out_bytes;
		struct gpu dlo = {.n = 1, .frame = ds.frame};
		CHECK(px_transform_create(vk, &lp, &dlo.t[0]));
		run_gpu(&dlo);
		VkBuffer host_out;
		CHECK(px_transform_get_output(fused.t[0], NULL, &host_out, NULL));
		struct copier back;
		copier_init(&back, vk);
		copier_record(&back, lbuf, 0, host_out, 0, out_bytes);
		VKCHECK(vkEndCommandBuffer(back.cb));
		memset(a, 0, out_bytes);
		run_copy(&back);
		copier_finish(&back);
		do_diff = 0;
		for (size_t i = 0; i < out_bytes; i++)
			do_diff = abs(a[i] - ref[i]) > do_diff ? abs(a[i] - ref[i]) : do_diff;
		tdo = measure(run_gpu, &dlo);
		px_transform_destroy(dlo.t[0]);
		vkDestroyBuffer(px_vk_get_device(vk), lbuf, NULL);
		vkFreeMemory(px_vk_get_device(vk), lmem, NULL);
		free(ref);
	}

	struct sws sws = {.set = &set, .out = malloc((size_t)N * OW * OH * 4)};
	sws.ctx = sws_getContext(CW, CH, AV_PIX_FMT_YUYV422, OW, OH, AV_PIX_FMT_RGBA, SWS_BILINEAR,
				 NULL, NULL, NULL);
	if (!sws.ctx || !sws.out) {
		fprintf(stderr, "sws_getContext failed\n");
		return 1;
	}
	struct timing ts = measure(run_sws, &sws);
	int swsdiff = 0;
	for (size_t i = 0; i < (size_t)N * OW * OH * 4; i++) {
		int d = abs(a[i] - sws.out[i]);
		swsdiff = d > swsdiff ? d : swsdiff;
	}

	double in_mb = (double)N * W * H * 2 / 1e6, out_mb = (double)N * OW * OH * 4 / 1e6;
	printf("bench_transform: %d x %dx%d YUYV -> crop %dx%d -> bilinear %dx%d -> RGBA8\n", N, W,
	       H, CW, CH, OW, OH);
	printf("device: %s (%s)\n", info.device_name, info.software ? "CPU, lavapipe" : "GPU");
	printf("%-28s %10s %10s %8s %10s\n", "", "ms/set", "sets/s", "runs", "GB/s");
	printf("%-28s %10.2f %10.1f %8llu %10.2f\n", "fused (1 dispatch)", tf.ms, tf.sets,
	       (unsigned long long)tf.n, (in_mb + out_mb) * tf.sets / 1e3);
	printf("%-28s %10.2f %10.1f %8llu\n", "unfused (3 dispatches)", tu.ms, tu.sets,
	       (unsigned long long)tu.n);
	printf("%-28s %10.2f %10.1f %8llu\n", "libswscale (CPU, 1 thread)", ts.ms, ts.sets,
	       (unsigned long long)ts.n);
	double fused_gbs = (in_mb + out_mb) * tf.sets / 1e3;
	printf("device copy bandwidth: %.2f GB/s (vkCmdCopyBuffer, 256 MiB between device-local "
	       "buffers, bytes read + written; %.2f ms per copy)\n",
	       copy_gbs(&dcopy, &tdc), tdc.ms);
	printf("input copy: %.2f GB/s (the set's %.1f MB from its %s import into device-local "
	       "memory)\n",
	       copy_gbs(&icopy, &tic), in_mb, px_import_path_name(in_path));
	printf("fused: %.2f GB/s = %.1f %% of the device's copy bandwidth (target on a GPU: 50 "
	       "%%), %.1f %% of the input copy's\n",
	       fused_gbs, 100 * fused_gbs / copy_gbs(&dcopy, &tdc),
	       100 * fused_gbs / copy_gbs(&icopy, &tic));
	printf("fused vs unfused: %.2fx faster (target 1.5x on lavapipe: %s); largest pixel "
	       "difference %d\n",
	       tu.ms / tf.ms, tu.ms / tf.ms >= 1.5 ? "met" : "MISSED", maxdiff);
	if (tdl.n) {
		double dl_gbs = (in_mb + out_mb) * tdl.sets / 1e3;
		printf(
		    "fused, device-local input: %.2f ms/set, %.2f GB/s = %.1f %% of the device's "
		    "copy bandwidth (the output in host memory); the set in %s memory the device "
		    "wrote, imported by %s; largest difference from the host input's output "
		    "%d\n",
		    tdl.ms, dl_gbs, 100 * dl_gbs / copy_gbs(&dcopy, &tdc),
		    ds.device_local ? "device-local" : "device-local, host-visible",
		    px_import_path_name(dl_path), dl_diff);
		double dk_gbs = (in_mb + out_mb) * tdk.sets / 1e3;
		printf(
		    "fused, device-local input, %d sets in flight: %.3f ms/set, %.2f GB/s = %.1f "
		    "%% of the device's copy bandwidth (each set submitted without waiting for "
		    "the one before)\n",
		    K, tdk.ms, dk_gbs, 100 * dk_gbs / copy_gbs(&dcopy, &tdc));
		double do_gbs = (in_mb + out_mb) * tdo.sets / 1e3;
		printf("fused, device-local input and output: %.3f ms/set, %.2f GB/s = %.1f %% of "
		       "the device's copy bandwidth (target on a GPU: 50 %%); largest difference "
		       "from the host input's output %d\n",
		       tdo.ms, do_gbs, 100 * do_gbs / copy_gbs(&dcopy, &tdc), do_diff);
	}
	printf("fused vs libswscale: %.2fx %s; largest pixel difference %d (swscale filters "
	       "wider when it downscales, and rounds its own way)\n",
	       ts.ms / tf.ms, ts.ms >= tf.ms ? "faster" : "(slower: swscale is faster)", swsdiff);
	printf("after warm-up: %llu allocations, %llu imports, %llu copies\n",
	       (unsigned long long)(st1.allocations - st0.allocations),
	       (unsigned long long)(st1.imports - st0.imports),
	       (unsigned long long)(st1.copies - st0.copies));
	if (info.validation)
		printf("validation (PIXSHARE_VK_VALIDATION=1): %llu errors, %llu warnings\n",
		       (unsigned long long)st1.validation_errors,
		       (unsigned long long)st1.validation_warnings);
	int rc = 0;
	if (st1.validation_errors) {
		fprintf(stderr, "validation errors\n");
		rc = 1;
	}
	if (st1.allocations != st0.allocations || st1.imports != st0.imports) {
		fprintf(stderr, "allocations or imports after warm-up\n");
		rc = 1;
	}
	if (tdl.n && (dl_diff != 0 || do_diff != 0 || dl_path != PX_IMPORT_OPAQUE_FD)) {
		fprintf(stderr, "device-local input: read by %s, output off by %d (%d into "
			"device-local memory)\n",
			px_import_path_name(dl_path), dl_diff, do_diff);
		rc = 1;
	}
	if (tdl.n)
		devset_finish(&ds, vk);
	copier_finish(&dcopy);
	copier_finish(&icopy);
	sws_freeContext(sws.ctx);
	free(sws.out);
	px_transform_destroy(fused.t[0]);
	for (int i = 0; i < 3; i++)
		px_transform_destroy(unfused.t[i]);
	px_vk_destroy(vk);
	set_finish(&set);
	return rc;
}
