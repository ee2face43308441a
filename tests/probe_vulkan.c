/* SPDX-License-Identifier: MIT */
/*
 * probe_vulkan: asks a Vulkan device directly what pixshare's import paths
 * depend on, one answer a line, so that one run on a new GPU settles them:
 *
 *   extensions  the external-memory and semaphore extensions, and which
 *               handle types import and export (dma-buf, opaque fd, host
 *               allocation, sync_file semaphores)
 *   memory      every heap and memory type, and whether a small allocation
 *               of each type succeeds (before and after failed imports)
 *   host        which CPU mappings import as host memory: anonymous or memfd,
 *               private or shared, read-only or writable, sealed as a
 *               publisher seals, at an offset; for each import that succeeds,
 *               whether the device sees a later write through another
 *               mapping (a private copy would be stale)
 *   opaque      what opaque fds of two exports share: inode, file system,
 *               file description (kcmp), seals, size
 *   adopt       what pixshare reports for an application's device made
 *               without extensions, and with every extension pixshare knows
 *
 *   probe_vulkan [--validation] [SECTION...]   (--help lists them; host:CASE
 *   runs one mapping's case alone, for a driver that one refusal spoils)
 *
 * Plain Vulkan, but for `adopt`. Exits 0 when it ran to the end, whatever
 * the answers; 77 where there is no Vulkan device.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vulkan/vulkan.h>

#include <pixshare/pixshare.h>
#include <pixshare/vulkan.h>

#include "px_test.h"
#include "px_vktestutil.h"

#define PAGE 4096u
#define HOST_SIZE (16u * PAGE)

static VkInstance instance;
static VkPhysicalDevice phys;
static VkDevice device;
static VkQueue queue;
static uint32_t family;
static VkPhysicalDeviceMemoryProperties mem;
static bool has_host, has_fd, has_dmabuf, has_sem_fd, has_modifier;
static PFN_vkGetMemoryHostPointerPropertiesEXT get_host_props;
static PFN_vkGetMemoryFdKHR get_memory_fd;
static VkCommandPool cmd_pool;
static const char *known_exts[] = {
    VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME,	     VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME,
    VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME,	     VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME,
    VK_EXT_IMAGE_DRM_FORMAT_MODIFIER_EXTENSION_NAME, VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME,
    VK_KHR_IMAGE_FORMAT_LIST_EXTENSION_NAME,
};
static const char *enabled[PX_ARRAY_LEN(known_exts)];
static uint32_t n_enabled;

static const char *res(VkResult r)
{
	switch (r) {
#define R(x)                                                                                       \
	case x:                                                                                    \
		return #x;
		R(VK_SUCCESS)
		R(VK_ERROR_OUT_OF_HOST_MEMORY)
		R(VK_ERROR_OUT_OF_DEVICE_MEMORY)
		R(VK_ERROR_INITIALIZATION_FAILED)
		R(VK_ERROR_MEMORY_MAP_FAILED)
		R(VK_ERROR_FEATURE_NOT_PRESENT)
		R(VK_ERROR_FORMAT_NOT_SUPPORTED)
		R(VK_ERROR_INVALID_EXTERNAL_HANDLE)
		R(VK_ERROR_EXTENSION_NOT_PRESENT)
		R(VK_ERROR_TOO_MANY_OBJECTS)
#undef R
	default:
		return "VkResult(other)";
	}
}

static void flags_str(VkMemoryPropertyFlags f, char *out, size_t n)
{
	snprintf(out, n, "%s%s%s%s%s", f ? "" : "none",
		 f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT ? " device-local" : "",
		 f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT ? " host-visible" : "",
		 f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT ? " coherent" : "",
		 f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT ? " cached" : "");
}

static bool dev_ext(const VkExtensionProperties *e, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(e[i].extensionName, name))
			return true;
	return false;
}

static int setup(bool validation)
{
	VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
				 .pApplicationName = "probe_vulkan",
				 .apiVersion = VK_API_VERSION_1_1};
	const char *layer = "VK_LAYER_KHRONOS_validation";
	VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
				    .pApplicationInfo = &app,
				    .enabledLayerCount = validation,
				    .ppEnabledLayerNames = &layer};
	VkResult r = vkCreateInstance(&ici, NULL, &instance);
	if (r != VK_SUCCESS) {
		printf("SKIP: vkCreateInstance: %s\n", res(r));
		return 77;
	}
	uint32_t n = 0;
	vkEnumeratePhysicalDevices(instance, &n, NULL);
	if (!n) {
		printf("SKIP: no Vulkan device\n");
		return 77;
	}
	VkPhysicalDevice devs[16];
	n = n > 16 ? 16 : n;
	vkEnumeratePhysicalDevices(instance, &n, devs);
	phys = devs[0];
	for (uint32_t i = 0; i < n; i++) {
		VkPhysicalDeviceProperties p;
		vkGetPhysicalDeviceProperties(devs[i], &p);
		printf("device %u: %s, type %d, api %u.%u.%u, driver version 0x%x\n", i,
		       p.deviceName, p.deviceType, VK_API_VERSION_MAJOR(p.apiVersion),
		       VK_API_VERSION_MINOR(p.apiVersion), VK_API_VERSION_PATCH(p.apiVersion),
		       p.driverVersion);
		if (p.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU &&
		    p.deviceType != VK_PHYSICAL_DEVICE_TYPE_OTHER) {
			phys = devs[i];
			break;
		}
	}
	vkGetPhysicalDeviceMemoryProperties(phys, &mem);
	uint32_t ne = 0;
	vkEnumerateDeviceExtensionProperties(phys, NULL, &ne, NULL);
	VkExtensionProperties *e = calloc(ne ? ne : 1, sizeof(*e));
	vkEnumerateDeviceExtensionProperties(phys, NULL, &ne, e);
	for (size_t k = 0; k < PX_ARRAY_LEN(known_exts); k++) {
		bool on = dev_ext(e, ne, known_exts[k]);
		printf("extension %s: %s\n", known_exts[k], on ? "yes" : "no");
		if (on)
			enabled[n_enabled++] = known_exts[k];
	}
	has_fd = dev_ext(e, ne, VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME);
	has_dmabuf = dev_ext(e, ne, VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME);
	has_host = dev_ext(e, ne, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
	has_sem_fd = dev_ext(e, ne, VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME);
	has_modifier = dev_ext(e, ne, VK_EXT_IMAGE_DRM_FORMAT_MODIFIER_EXTENSION_NAME);
	free(e);

	uint32_t nq = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(phys, &nq, NULL);
	VkQueueFamilyProperties q[16];
	nq = nq > 16 ? 16 : nq;
	vkGetPhysicalDeviceQueueFamilyProperties(phys, &nq, q);
	for (family = 0; family < nq; family++)
		if (q[family].queueFlags & VK_QUEUE_COMPUTE_BIT)
			break;
	float prio = 1;
	VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
				       .queueFamilyIndex = family,
				       .queueCount = 1,
				       .pQueuePriorities = &prio};
	VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
				  .queueCreateInfoCount = 1,
				  .pQueueCreateInfos = &qci,
				  .enabledExtensionCount = n_enabled,
				  .ppEnabledExtensionNames = enabled};
	if ((r = vkCreateDevice(phys, &dci, NULL, &device)) != VK_SUCCESS) {
		printf("vkCreateDevice with %u extensions: %s\n", n_enabled, res(r));
		return 1;
	}
	vkGetDeviceQueue(device, family, 0, &queue);
	get_host_props = (PFN_vkGetMemoryHostPointerPropertiesEXT)vkGetDeviceProcAddr(
	    device, "vkGetMemoryHostPointerPropertiesEXT");
	get_memory_fd = (PFN_vkGetMemoryFdKHR)vkGetDeviceProcAddr(device, "vkGetMemoryFdKHR");
	VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
				       .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
				       .queueFamilyIndex = family};
	vkCreateCommandPool(device, &pci, NULL, &cmd_pool);
	return 0;
}

static void section_extensions(void)
{
	static const struct {
		VkExternalMemoryHandleTypeFlagBits type;
		const char *name;
	} mt[] = {{VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT, "opaque fd"},
		  {VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT, "dma-buf"},
		  {VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, "host allocation"}};
	for (size_t i = 0; i < PX_ARRAY_LEN(mt); i++) {
		VkPhysicalDeviceExternalBufferInfo bi = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO,
		    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
			     VK_BUFFER_USAGE_TRANSFER_DST_BIT,
		    .handleType = mt[i].type};
		VkExternalBufferProperties ep = {.sType =
						     VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES};
		vkGetPhysicalDeviceExternalBufferProperties(phys, &bi, &ep);
		VkExternalMemoryFeatureFlags f = ep.externalMemoryProperties.externalMemoryFeatures;
		printf("storage buffers as %s: import %s, export %s, dedicated only %s\n",
		       mt[i].name, f & VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT ? "yes" : "no",
		       f & VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT ? "yes" : "no",
		       f & VK_EXTERNAL_MEMORY_FEATURE_DEDICATED_ONLY_BIT ? "yes" : "no");
	}
	static const struct {
		VkExternalSemaphoreHandleTypeFlagBits type;
		const char *name;
	} st[] = {{VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT, "sync_file"},
		  {VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_OPAQUE_FD_BIT, "opaque fd"}};
	for (size_t i = 0; i < PX_ARRAY_LEN(st); i++) {
		VkPhysicalDeviceExternalSemaphoreInfo si = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_SEMAPHORE_INFO,
		    .handleType = st[i].type};
		VkExternalSemaphoreProperties sp = {
		    .sType = VK_STRUCTURE_TYPE_EXTERNAL_SEMAPHORE_PROPERTIES};
		vkGetPhysicalDeviceExternalSemaphoreProperties(phys, &si, &sp);
		printf("semaphores as %s: import %s, export %s\n", st[i].name,
		       sp.externalSemaphoreFeatures & VK_EXTERNAL_SEMAPHORE_FEATURE_IMPORTABLE_BIT
			   ? "yes"
			   : "no",
		       sp.externalSemaphoreFeatures & VK_EXTERNAL_SEMAPHORE_FEATURE_EXPORTABLE_BIT
			   ? "yes"
			   : "no");
	}
	if (has_host) {
		VkPhysicalDeviceExternalMemoryHostPropertiesEXT hp = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
		VkPhysicalDeviceProperties2 p2 = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &hp};
		vkGetPhysicalDeviceProperties2(phys, &p2);
		printf("minImportedHostPointerAlignment: %llu\n",
		       (unsigned long long)hp.minImportedHostPointerAlignment);
	}
	printf("drm format modifiers: %s\n", has_modifier ? "yes" : "no");
}

/* One allocation of `size` bytes of memory type `t`: its result. */
static VkResult try_alloc(uint32_t t, VkDeviceSize size)
{
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .allocationSize = size,
				   .memoryTypeIndex = t};
	VkDeviceMemory m;
	VkResult r = vkAllocateMemory(device, &ai, NULL, &m);
	if (r == VK_SUCCESS)
		vkFreeMemory(device, m, NULL);
	return r;
}

static void section_memory(const char *when)
{
	if (!strcmp(when, "first")) {
		for (uint32_t h = 0; h < mem.memoryHeapCount; h++)
			printf("heap %u: %llu MiB%s\n", h,
			       (unsigned long long)(mem.memoryHeaps[h].size >> 20),
			       mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT
				   ? " device-local"
				   : "");
	}
	/* What a storage buffer may use. */
	VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				 .size = 6144,
				 .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
					  VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
					  VK_BUFFER_USAGE_TRANSFER_DST_BIT};
	VkBuffer b;
	VkMemoryRequirements req = {0};
	if (vkCreateBuffer(device, &bi, NULL, &b) == VK_SUCCESS) {
		vkGetBufferMemoryRequirements(device, b, &req);
		vkDestroyBuffer(device, b, NULL);
	}
	for (uint32_t t = 0; t < mem.memoryTypeCount; t++) {
		char f[80];
		flags_str(mem.memoryTypes[t].propertyFlags, f, sizeof(f));
		VkResult small = try_alloc(t, 6144), big = try_alloc(t, 64u << 20);
		printf("memory type %u (%s): heap %u:%s; storage buffers %s; 6144 bytes %s, "
		       "64 MiB %s\n",
		       t, when, mem.memoryTypes[t].heapIndex, f,
		       req.memoryTypeBits & (1u << t) ? "yes" : "no", res(small), res(big));
	}
}

/* ---- host-memory imports */

struct host_case {
	const char *name;
	void *map; /* what is imported: map + offset */
	size_t offset;
	int fd;	      /* memfd, -1 for anonymous memory */
	void *writer; /* a writable view of the same pages, or NULL */
};

static int make_memfd(bool seal)
{
	int fd = memfd_create("probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, HOST_SIZE + PAGE) == 0);
	REQUIRE(!seal || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
	return fd;
}

/* Copies `size` bytes of `src` on the device into host-visible memory and
 * compares them with `want`: 1 equal, 0 differ, -1 could not run. */
static int device_reads(VkBuffer src, const uint8_t *want, size_t size)
{
	VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				 .size = size,
				 .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT};
	VkBuffer dst;
	if (vkCreateBuffer(device, &bi, NULL, &dst) != VK_SUCCESS)
		return -1;
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(device, dst, &req);
	int t = -1;
	for (uint32_t i = 0; i < mem.memoryTypeCount && t < 0; i++)
		if ((req.memoryTypeBits & (1u << i)) &&
		    (mem.memoryTypes[i].propertyFlags & (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
							 VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) ==
			(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
			 VK_MEMORY_PROPERTY_HOST_COHERENT_BIT))
			t = (int)i;
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .allocationSize = req.size,
				   .memoryTypeIndex = (uint32_t)t};
	VkDeviceMemory m;
	int ret = -1;
	if (t < 0 || vkAllocateMemory(device, &ai, NULL, &m) != VK_SUCCESS)
		goto out_buffer;
	void *p;
	vkBindBufferMemory(device, dst, m, 0);
	vkMapMemory(device, m, 0, VK_WHOLE_SIZE, 0, &p);
	memset(p, 0, size);
	VkCommandBuffer cb;
	VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
					   .commandPool = cmd_pool,
					   .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
					   .commandBufferCount = 1};
	vkAllocateCommandBuffers(device, &cai, &cb);
	VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	vkBeginCommandBuffer(cb, &begin);
	vkCmdCopyBuffer(cb, src, dst, 1, &(VkBufferCopy){0, 0, size});
	vkEndCommandBuffer(cb);
	VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
			   .commandBufferCount = 1,
			   .pCommandBuffers = &cb};
	if (vkQueueSubmit(queue, 1, &si, VK_NULL_HANDLE) == VK_SUCCESS &&
	    vkQueueWaitIdle(queue) == VK_SUCCESS)
		ret = memcmp(p, want, size) == 0;
	vkFreeCommandBuffers(device, cmd_pool, 1, &cb);
	vkFreeMemory(device, m, NULL);
out_buffer:
	vkDestroyBuffer(device, dst, NULL);
	return ret;
}

static void host_case_run(struct host_case *c)
{
	uint8_t *data = (uint8_t *)c->map + c->offset;
	VkMemoryHostPointerPropertiesEXT hp = {
	    .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
	const VkExternalMemoryHandleTypeFlagBits type =
	    VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
	VkResult r = get_host_props(device, type, data, &hp);
	printf("host %-28s properties %s, types 0x%x;", c->name, res(r), hp.memoryTypeBits);
	if (r != VK_SUCCESS) {
		printf("\n");
		return;
	}
	VkExternalMemoryBufferCreateInfo ext = {
	    .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO, .handleTypes = type};
	VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				 .pNext = &ext,
				 .size = HOST_SIZE,
				 .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
					  VK_BUFFER_USAGE_TRANSFER_SRC_BIT};
	for (uint32_t t = 0; t < mem.memoryTypeCount; t++) {
		if (!(hp.memoryTypeBits & (1u << t)))
			continue;
		VkImportMemoryHostPointerInfoEXT imp = {
		    .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
		    .handleType = type,
		    .pHostPointer = data};
		VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
					   .pNext = &imp,
					   .allocationSize = HOST_SIZE,
					   .memoryTypeIndex = t};
		VkDeviceMemory m;
		r = vkAllocateMemory(device, &ai, NULL, &m);
		printf(" type %u %s", t, res(r));
		if (r != VK_SUCCESS)
			continue;
		VkBuffer buf;
		if (vkCreateBuffer(device, &bi, NULL, &buf) == VK_SUCCESS) {
			vkBindBufferMemory(device, buf, m, 0);
			/* A write after the import, through the writer's view. */
			uint8_t *want = malloc(HOST_SIZE);
			for (size_t i = 0; i < HOST_SIZE; i++)
				want[i] = (uint8_t)(i * 7 + t + 1);
			int seen = -1;
			if (c->writer) {
				memcpy((uint8_t *)c->writer + c->offset, want, HOST_SIZE);
				seen = device_reads(buf, want, HOST_SIZE);
			}
			printf(" (device sees a later write: %s)", seen < 0 ? "not tried"
								   : seen   ? "yes"
									    : "NO, a stale copy");
			free(want);
			vkDestroyBuffer(device, buf, NULL);
		}
		vkFreeMemory(device, m, NULL);
	}
	printf("\n");
}

/* The cases of section_host() whose name is `only` (NULL: all), then the
 * first case again: whether a refusal spoils later imports. */
static void section_host(const char *only)
{
	if (!has_host || !get_host_props) {
		printf("host: no VK_EXT_external_memory_host\n");
		return;
	}
	size_t len = HOST_SIZE + PAGE;
	struct host_case cases[10];
	int n = 0;
	int prot_rw = PROT_READ | PROT_WRITE;

	void *a = mmap(NULL, len, prot_rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(a != MAP_FAILED);
	memset(a, 1, len);
	cases[n++] = (struct host_case){"anon private rw", a, 0, -1, a};
	void *a_ro = mmap(NULL, len, prot_rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(a_ro != MAP_FAILED);
	memset(a_ro, 1, len);
	mprotect(a_ro, len, PROT_READ);
	cases[n++] = (struct host_case){"anon private ro", a_ro, 0, -1, NULL};
	void *s = mmap(NULL, len, prot_rw, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(s != MAP_FAILED);
	memset(s, 1, len);
	cases[n++] = (struct host_case){"anon shared rw", s, 0, -1, s};

	int fd = make_memfd(true);
	void *w = mmap(NULL, len, prot_rw, MAP_SHARED, fd, 0);
	REQUIRE(w != MAP_FAILED);
	memset(w, 1, len);
	void *m_rw = mmap(NULL, len, prot_rw, MAP_SHARED, fd, 0);
	cases[n++] = (struct host_case){"memfd shared rw", m_rw, 0, fd, w};
	void *m_rw_off = mmap(NULL, len, prot_rw, MAP_SHARED, fd, 0);
	cases[n++] = (struct host_case){"memfd shared rw +4096", m_rw_off, PAGE, fd, w};
	void *m_ro = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	cases[n++] = (struct host_case){"memfd shared ro", m_ro, 0, fd, w};
	void *m_pro = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	cases[n++] = (struct host_case){"memfd private ro", m_pro, 0, fd, w};
	void *m_prw = mmap(NULL, len, prot_rw, MAP_PRIVATE, fd, 0);
	cases[n++] = (struct host_case){"memfd private rw (COW)", m_prw, 0, fd, w};

	/* As a publisher seals and a subscriber maps: the writer's mapping
	 * is made before F_SEAL_FUTURE_WRITE. */
	int sfd = make_memfd(true);
	void *sw = mmap(NULL, len, prot_rw, MAP_SHARED, sfd, 0);
	REQUIRE(sw != MAP_FAILED);
	memset(sw, 1, len);
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
	int sealed = fcntl(sfd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE);
	void *sub = mmap(NULL, len, PROT_READ, MAP_SHARED, sfd, 0);
	cases[n++] = (struct host_case){sealed == 0 ? "memfd sealed shared ro"
						    : "memfd shared ro (no FUTURE_WRITE)",
					sub, 0, sfd, sw};
	int ran = 0;
	for (int i = 0; i < n; i++) {
		if (only && strcmp(only, cases[i].name))
			continue;
		ran++;
		if (cases[i].map == MAP_FAILED) {
			printf("host %-28s mmap failed\n", cases[i].name);
			continue;
		}
		host_case_run(&cases[i]);
	}
	if (!ran)
		printf("host: no case named '%s'\n", only);
	if (only) {
		section_memory("after it");
		cases[0].name = "anon private rw, after it";
		host_case_run(&cases[0]);
	}
	void *maps[] = {a, a_ro, s, w, m_rw, m_rw_off, m_ro, m_pro, m_prw, sw, sub};
	for (size_t i = 0; i < PX_ARRAY_LEN(maps); i++)
		if (maps[i] != MAP_FAILED)
			munmap(maps[i], len);
	close(fd);
	close(sfd);
}

/* ---- opaque fds */

static int kcmp_file(int a, int b)
{
	pid_t pid = getpid();
	return (int)syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b);
}

static void fd_describe(const char *name, int fd)
{
	struct stat st;
	struct statfs sfs;
	char link[256] = "";
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t l = readlink(path, link, sizeof(link) - 1);
	if (l > 0)
		link[l] = 0;
	bool ok_st = fstat(fd, &st) == 0, ok_fs = fstatfs(fd, &sfs) == 0;
	int seals = fcntl(fd, F_GET_SEALS);
	int seals_errno = errno;
	off_t end = lseek(fd, 0, SEEK_END);
	printf("opaque %s: fd %d -> %s; dev %llu ino %llu mode 0%o; fs magic 0x%llx; seals %s; "
	       "size by lseek %lld\n",
	       name, fd, link, ok_st ? (unsigned long long)st.st_dev : 0ull,
	       ok_st ? (unsigned long long)st.st_ino : 0ull, ok_st ? st.st_mode : 0,
	       ok_fs ? (unsigned long long)sfs.f_type : 0ull,
	       seals >= 0 ? "yes" : strerror(seals_errno), (long long)end);
}

static int export_opaque(uint32_t t, VkDeviceMemory *m)
{
	VkExportMemoryAllocateInfo ex = {.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
					 .handleTypes =
					     VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT};
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .pNext = &ex,
				   .allocationSize = 1 << 20,
				   .memoryTypeIndex = t};
	VkResult r = vkAllocateMemory(device, &ai, NULL, m);
	if (r != VK_SUCCESS) {
		printf("opaque: export of type %u: vkAllocateMemory: %s\n", t, res(r));
		return -1;
	}
	VkMemoryGetFdInfoKHR gi = {.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR,
				   .memory = *m,
				   .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT};
	int fd = -1;
	if ((r = get_memory_fd(device, &gi, &fd)) != VK_SUCCESS) {
		printf("opaque: vkGetMemoryFdKHR: %s\n", res(r));
		return -1;
	}
	return fd;
}

static void section_opaque(void)
{
	if (!has_fd || !get_memory_fd) {
		printf("opaque: no VK_KHR_external_memory_fd\n");
		return;
	}
	int host_t = -1, dev_t_ = -1;
	for (uint32_t t = 0; t < mem.memoryTypeCount; t++) {
		VkMemoryPropertyFlags f = mem.memoryTypes[t].propertyFlags;
		if (host_t < 0 && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
		    !(f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
			host_t = (int)t;
		if (dev_t_ < 0 && f == VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)
			dev_t_ = (int)t;
	}
	if (host_t < 0)
		host_t = 0;
	if (dev_t_ < 0)
		dev_t_ = host_t;
	VkDeviceMemory ma, mb;
	int a1 = export_opaque((uint32_t)host_t, &ma);
	int b = export_opaque((uint32_t)dev_t_, &mb);
	if (a1 < 0 || b < 0)
		return;
	VkMemoryGetFdInfoKHR gi = {.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR,
				   .memory = ma,
				   .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT};
	int a2 = -1;
	get_memory_fd(device, &gi, &a2);
	int a1dup = fcntl(a1, F_DUPFD_CLOEXEC, 3);
	printf("opaque: memory A of type %d (host-visible), B of type %d (device-local)\n", host_t,
	       dev_t_);
	fd_describe("A (first export)", a1);
	fd_describe("A (second export)", a2);
	fd_describe("B", b);
	printf("opaque kcmp(KCMP_FILE) (0: one file description; 1, 2: two; -1: %s):\n",
	       "kcmp failed");
	printf("  A first vs A second export: %d\n", kcmp_file(a1, a2));
	printf("  A first vs B: %d\n", kcmp_file(a1, b));
	printf("  A first vs its dup: %d%s\n", kcmp_file(a1, a1dup),
	       kcmp_file(a1, a1dup) < 0 ? " (kcmp unavailable)" : "");
	close(a1), close(a2), close(b), close(a1dup);
	vkFreeMemory(device, ma, NULL);
	vkFreeMemory(device, mb, NULL);
}

/* ---- adoption: what pixshare reports for an application's device */

static void adopt_one(const char *what, const char *const *exts, uint32_t n)
{
	struct px_test_app_device app;
	px_test_app_device_init(&app, exts, n);
	struct px_vk *vk;
	int ret = px_vk_create(&(struct px_vk_params){.instance = app.instance,
						      .physical_device = app.phys,
						      .device = app.device,
						      .queue_family = app.family,
						      .enabled_extensions = exts,
						      .n_enabled_extensions = n},
			       &vk);
	if (ret) {
		printf("adopt %s: px_vk_create: %s\n", what, px_strerror(ret));
	} else {
		struct px_vk_info i;
		px_vk_get_info(vk, &i);
		printf("adopt %s: dma-buf import %s, host-memory import %s, opaque-fd import "
		       "%s, sync_file semaphores %s/%s\n",
		       what, i.dmabuf_import ? "yes" : "no", i.host_import ? "yes" : "no",
		       i.opaque_fd_import ? "yes" : "no", i.semaphore_sync_fd ? "yes" : "no",
		       i.semaphore_sync_fd_export ? "yes" : "no");
		px_vk_destroy(vk);
	}
	px_test_app_device_finish(&app);
}

static void section_adopt(void)
{
	adopt_one("(no extensions)", NULL, 0);
	adopt_one("(every extension pixshare knows)", enabled, n_enabled);
}

int main(int argc, char **argv)
{
	bool validation = false;
	const char *sections[8];
	int n = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--validation"))
			validation = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: probe_vulkan [--validation] "
			       "[extensions|memory|host|host:CASE|opaque|adopt...]\n"
			       "host:CASE runs one case of host (as its line names it), "
			       "then the first case again\n");
			return 0;
		} else if (n < 8)
			sections[n++] = argv[i];
	}
	static const char *all[] = {"extensions", "memory", "opaque", "adopt", "host"};
	if (!n)
		for (size_t i = 0; i < PX_ARRAY_LEN(all); i++)
			sections[n++] = all[i];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("probe_vulkan%s\n", validation ? " (validation layer on)" : "");
	int ret = setup(validation);
	if (ret)
		return ret;
	for (int i = 0; i < n; i++) {
		if (!strcmp(sections[i], "extensions"))
			section_extensions();
		else if (!strcmp(sections[i], "memory"))
			section_memory("first");
		else if (!strncmp(sections[i], "host:", 5)) {
			section_host(sections[i] + 5);
		} else if (!strcmp(sections[i], "host")) {
			section_host(NULL);
			/* What failed imports left behind. */
			section_memory("after the host imports");
		} else if (!strcmp(sections[i], "opaque"))
			section_opaque();
		else if (!strcmp(sections[i], "adopt"))
			section_adopt();
		else {
			fprintf(stderr, "probe_vulkan: unknown section %s\n", sections[i]);
			return 2;
		}
	}
	vkDestroyCommandPool(device, cmd_pool, NULL);
	vkDestroyDevice(device, NULL);
	vkDestroyInstance(instance, NULL);
	printf("probe_vulkan: done\n");
	return 0;
}
