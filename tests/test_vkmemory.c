/* SPDX-License-Identifier: MIT */
/*
 * pixshare's own buffers on a device that refuses some of its memory types.
 *
 * On the H200 (driver 580), after a refused host-pointer import the process
 * allocated no more device-local memory (memory types 0, 1 and 4), while
 * system memory (2, 3) still allocated; the upload fallback then failed with
 * VK_ERROR_OUT_OF_DEVICE_MEMORY. pixshare no longer makes such imports
 * there, but an application may, and its buffers must then still allocate:
 * each buffer tries the memory types that suit its use, best first, until
 * one allocates.
 *
 * Here the device is spoiled the way the H200 was, by the application's
 * own read-only import on pixshare's device. On NVIDIA's driver, and under
 * the NVIDIA rules layer (tests/vklayer, the nvidia-rules tier), that import
 * is refused and the device-local types with it: a transform made
 * afterwards must log its parameters' first choice (the BAR) refused, take
 * system memory, and transform a frame right. On a device that takes the
 * import (lavapipe alone), the transform is checked all the same.
 *
 * Before that: which of the application's mappings are imported as host
 * memory, and that none is tried that such a driver would refuse.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pixshare/pixshare.h>
#include <pixshare/transform.h>
#include <pixshare/vulkan.h>

#include "px_test.h"

static char warnings[4096];

static void log_handler(void *userdata, enum px_log_level level, const char *msg)
{
	(void)userdata;
	if (level <= PX_LOG_WARN && strlen(warnings) + strlen(msg) + 2 < sizeof(warnings)) {
		strcat(warnings, msg);
		strcat(warnings, "\n");
	}
}

/* A frame of the application's own memory: the one buffer `buf` of
 * `layout`. Released by the caller. */
static struct px_frame *own_frame(const struct px_set_layout *layout, struct px_frame_buffer *buf)
{
	struct px_frame *f;
	REQUIRE_OK(px_frame_wrap(&(struct px_frame_desc){.layout = layout, .buffers = buf}, &f));
	return f;
}

/* One XRGB image of 64 × 16 in `data` (a mapping of 4096 bytes): imported,
 * its path returned. Each call is a pool of its own. */
static enum px_import_path import_path(struct px_vk *vk, void *data)
{
	struct px_set_layout layout;
	struct px_image_desc d = {PX_FORMAT_XRGB8888, 64, 16};
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 64, PX_PACK_PER_IMAGE));
	REQUIRE(layout.buffer_sizes[0] <= 4096);
	struct px_frame_buffer buf = {-1, layout.buffer_sizes[0], data};
	struct px_frame *frame = own_frame(&layout, &buf);
	struct px_vk_image vi;
	REQUIRE_OK(px_vk_import(vk, frame, 0, &vi));
	px_vk_forget_pool(vk, frame->pool_id);
	px_frame_release(frame);
	return vi.path;
}

/*
 * Which mappings pixshare imports as host memory: every one where the device
 * takes read-only memory; elsewhere (NVIDIA's driver, the layer) only
 * writable ones that are shared or anonymous, without a refusal that would
 * spoil the device (host_import stays on).
 */
static void mapping_paths(struct px_vk *vk, bool rules)
{
	const enum px_import_path host = PX_IMPORT_HOST_MEMORY, upload = PX_IMPORT_UPLOAD;
	int fd = memfd_create("test_vkmemory", MFD_CLOEXEC);
	REQUIRE(fd >= 0 && ftruncate(fd, 4096) == 0);
	const struct {
		const char *what;
		int prot, flags, fd;
		enum px_import_path want;
	} cases[] = {
	    {"anonymous, private, writable", PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	     -1, host},
	    {"memfd, shared, writable", PROT_READ | PROT_WRITE, MAP_SHARED, fd, host},
	    {"memfd, shared, read-only", PROT_READ, MAP_SHARED, fd, rules ? upload : host},
	    {"memfd, private, writable (copy on write)", PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
	     rules ? upload : host},
	};
	for (size_t i = 0; i < PX_ARRAY_LEN(cases); i++) {
		void *p = mmap(NULL, 4096, cases[i].prot, cases[i].flags, cases[i].fd, 0);
		REQUIRE(p != MAP_FAILED);
		enum px_import_path path = import_path(vk, p);
		printf("%s: %s\n", cases[i].what, px_import_path_name(path));
		REQUIRE_EQ(path, cases[i].want);
		munmap(p, 4096);
	}
	close(fd);
	struct px_vk_info info;
	REQUIRE_OK(px_vk_get_info(vk, &info));
	REQUIRE(info.host_import); /* nothing was refused */
}

/* The application's import of read-only memory on pixshare's device: its
 * VkResult (the memory freed where it was taken). */
static VkResult spoil(struct px_vk *vk)
{
	VkDevice dev = px_vk_get_device(vk);
	PFN_vkGetMemoryHostPointerPropertiesEXT props =
	    (PFN_vkGetMemoryHostPointerPropertiesEXT)vkGetDeviceProcAddr(
		dev, "vkGetMemoryHostPointerPropertiesEXT");
	REQUIRE(props);
	const size_t size = 16 * 4096;
	void *ro = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(ro != MAP_FAILED);
	const VkExternalMemoryHandleTypeFlagBits type =
	    VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
	VkMemoryHostPointerPropertiesEXT hp = {
	    .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
	REQUIRE_EQ(props(dev, type, ro, &hp), VK_SUCCESS);
	REQUIRE(hp.memoryTypeBits);
	VkImportMemoryHostPointerInfoEXT imp = {
	    .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
	    .handleType = type,
	    .pHostPointer = ro};
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .pNext = &imp,
				   .allocationSize = size,
				   .memoryTypeIndex = (uint32_t)__builtin_ctz(hp.memoryTypeBits)};
	VkDeviceMemory m;
	VkResult r = vkAllocateMemory(dev, &ai, NULL, &m);
	if (r == VK_SUCCESS)
		vkFreeMemory(dev, m, NULL);
	munmap(ro, size);
	return r;
}

int main(void)
{
	px_log_set_handler(log_handler, NULL, PX_LOG_INFO);
	struct px_vk *vk;
	int ret = px_vk_create(&(struct px_vk_params){.validation = true}, &vk);
	if (ret == -ENODEV)
		SKIP("no Vulkan device (install mesa-vulkan-drivers for lavapipe)");
	REQUIRE_OK(ret);
	struct px_vk_info info;
	REQUIRE_OK(px_vk_get_info(vk, &info));
	if (!info.host_import)
		SKIP("%s imports no host memory: nothing spoils it here", info.device_name);
	/* NVIDIA's driver, or the layer with its rules: read-only host
	 * memory is refused, and spoils the device. */
	bool rules = !info.host_import_readonly;

	mapping_paths(vk, rules);

	VkResult spoiled = spoil(vk);
	printf("the application's read-only import on %s: %s\n", info.device_name,
	       px_vk_result_name(spoiled));
	REQUIRE_EQ(spoiled, rules ? VK_ERROR_OUT_OF_DEVICE_MEMORY : VK_SUCCESS);

	/* One XRGB image, 33 × 17, random bytes, in the application's own
	 * anonymous memory. */
	struct px_set_layout layout;
	struct px_image_desc d = {PX_FORMAT_XRGB8888, 33, 17};
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 64, PX_PACK_PER_IMAGE));
	uint8_t *px = mmap(NULL, layout.buffer_sizes[0], PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(px != MAP_FAILED);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (uint64_t i = 0; i < layout.buffer_sizes[0]; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		px[i] = (uint8_t)x;
	}
	struct px_frame_buffer buf = {-1, layout.buffer_sizes[0], px};
	struct px_frame *frame = own_frame(&layout, &buf);

	warnings[0] = '\0';
	struct px_transform_image im = {.out_width = 33, .out_height = 17};
	struct px_transform *t;
	REQUIRE_OK(px_transform_create(
	    vk, &(struct px_transform_params){.n_images = 1, .images = &im, .format = PX_OUT_RGBA8},
	    &t));
	if (rules) {
		/* The parameters' first choice (the BAR: device-local and
		 * host-visible) refused, the next one taken. */
		if (!strstr(warnings, "vkAllocateMemory(") ||
		    !strstr(warnings, "): VK_ERROR_OUT_OF_DEVICE_MEMORY")) {
			fprintf(stderr, "no refused memory type logged:\n%s", warnings);
			return 1;
		}
		printf("refused and passed over:\n%s", warnings);
	}
	REQUIRE_OK(px_transform_run(t, frame));
	const uint8_t *out;
	REQUIRE_OK(px_transform_get_output(t, (void **)&out, NULL, NULL));
	const struct px_plane *pl = &layout.images[0].planes[0];
	for (uint32_t y = 0; y < 17; y++)
		for (uint32_t i = 0; i < 33; i++) {
			const uint8_t *s = px + pl->offset + (size_t)y * pl->stride + 4 * i;
			const uint8_t *o = out + ((size_t)y * 33 + i) * 4;
			/* XRGB8888 is B, G, R, X in memory. */
			REQUIRE(o[0] == s[2] && o[1] == s[1] && o[2] == s[0] && o[3] == 255);
		}
	struct px_vk_stats st;
	REQUIRE_OK(px_vk_get_stats(vk, &st));
	printf("transform after it: every pixel right (import by %s), %llu validation errors\n",
	       px_import_path_name(st.last_path), (unsigned long long)st.validation_errors);
	REQUIRE_EQ(st.validation_errors, 0);
	px_transform_destroy(t);
	px_frame_release(frame);
	px_vk_destroy(vk);
	munmap(px, layout.buffer_sizes[0]);
	return 0;
}
