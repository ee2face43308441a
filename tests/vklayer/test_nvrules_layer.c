/* SPDX-License-Identifier: MIT */
/*
 * test_nvrules_layer: proves, in plain Vulkan, that each rule of
 * VK_LAYER_PIXSHARE_nvidia_rules is in force, and fails where the layer is not
 * loaded (the device must call itself a discrete GPU "(nvidia rules)" with
 * NVIDIA's memory types). Run it with the environment CMake's PX_NVRULES_ENV
 * gives (VK_INSTANCE_LAYERS names the layer).
 *
 * Two passes: the layer from the environment above the validation layer
 * enabled through the API, as pixshare's tests have it; then, with the
 * environment's VK_INSTANCE_LAYERS unset, both through the API, validation
 * above the layer. Where the validation layer is installed, each pass
 * requires it to report no error but those the test provokes on purpose.
 * Exits 77 only where there is no Vulkan device at all.
 */
#include <stdint.h>
#include <sys/mman.h>

#include <vulkan/vulkan.h>

#include "px_test.h"

#define LAYER_NAME "VK_LAYER_PIXSHARE_nvidia_rules"
#define VALIDATION_NAME "VK_LAYER_KHRONOS_validation"
#define SUFFIX " (nvidia rules)"
#define PAGE 4096u
#define SIZE (16u * PAGE)

/* NVIDIA's layout as the layer presents it. */
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define HCACHED VK_MEMORY_PROPERTY_HOST_CACHED_BIT
#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
static const VkMemoryType want_types[] = {
    {0, 1}, {DL, 0}, {HV | HC, 1}, {HV | HC | HCACHED, 1}, {DL | HV | HC, 2},
};
#define RESOURCE_BITS 0x1fu
#define HOST_POINTER_BITS 0x0cu

#define REQUIRE_VK(expr, want)                                                                     \
	do {                                                                                       \
		VkResult req_r_ = (expr);                                                          \
		if (req_r_ != (want)) {                                                            \
			fprintf(stderr, "%s:%d: %s returned %d, expected %s (%d)\n", __FILE__,     \
				__LINE__, #expr, (int)req_r_, #want, (int)(want));                 \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static struct {
	VkInstance instance;
	VkPhysicalDevice phys;
	VkDevice device;
	VkDebugUtilsMessengerEXT messenger;
	uint32_t api;
	bool has_sem_fd, has_fence_fd;
	/* Validation errors outside and inside deliberate misuse. */
	unsigned errors, provoked, deliberate;
} t;

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
						 VkDebugUtilsMessageTypeFlagsEXT types,
						 const VkDebugUtilsMessengerCallbackDataEXT *data,
						 void *user)
{
	if (!(severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT))
		return VK_FALSE;
	if (t.deliberate) {
		t.provoked++;
		printf("  (provoked) %.150s\n", data->pMessage);
	} else {
		t.errors++;
		fprintf(stderr, "validation error: %s\n", data->pMessage);
	}
	return VK_FALSE;
}

static bool layer_installed(const char *name)
{
	uint32_t n = 0;
	REQUIRE_VK(vkEnumerateInstanceLayerProperties(&n, NULL), VK_SUCCESS);
	VkLayerProperties *l = calloc(n ? n : 1, sizeof(*l));
	REQUIRE(l);
	REQUIRE_VK(vkEnumerateInstanceLayerProperties(&n, l), VK_SUCCESS);
	bool found = false;
	for (uint32_t i = 0; i < n; i++)
		found = found || !strcmp(l[i].layerName, name);
	free(l);
	return found;
}

static bool instance_ext(const char *name)
{
	uint32_t n = 0;
	REQUIRE_VK(vkEnumerateInstanceExtensionProperties(NULL, &n, NULL), VK_SUCCESS);
	VkExtensionProperties *e = calloc(n ? n : 1, sizeof(*e));
	REQUIRE(e);
	REQUIRE_VK(vkEnumerateInstanceExtensionProperties(NULL, &n, e), VK_SUCCESS);
	bool found = false;
	for (uint32_t i = 0; i < n; i++)
		found = found || !strcmp(e[i].extensionName, name);
	free(e);
	return found;
}

static bool device_ext(const char *name)
{
	uint32_t n = 0;
	REQUIRE_VK(vkEnumerateDeviceExtensionProperties(t.phys, NULL, &n, NULL), VK_SUCCESS);
	VkExtensionProperties *e = calloc(n ? n : 1, sizeof(*e));
	REQUIRE(e);
	REQUIRE_VK(vkEnumerateDeviceExtensionProperties(t.phys, NULL, &n, e), VK_SUCCESS);
	bool found = false;
	for (uint32_t i = 0; i < n; i++)
		found = found || !strcmp(e[i].extensionName, name);
	free(e);
	return found;
}

static void instance_create(const char *const *layers, uint32_t n_layers, bool validation)
{
	const char *exts[2];
	uint32_t n_exts = 0;
	if (validation)
		exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
	if (instance_ext(VK_KHR_GET_PHYSICAL_DEVICE_PROPERTIES_2_EXTENSION_NAME))
		exts[n_exts++] = VK_KHR_GET_PHYSICAL_DEVICE_PROPERTIES_2_EXTENSION_NAME;
	VkDebugUtilsMessengerCreateInfoEXT mi = {
	    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
	    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT |
			       VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT,
	    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
			   VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT,
	    .pfnUserCallback = on_message};
	VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
				 .pApplicationName = "test_nvrules_layer",
				 .apiVersion = VK_API_VERSION_1_3};
	VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
				   .pNext = validation ? &mi : NULL,
				   .pApplicationInfo = &app,
				   .enabledLayerCount = n_layers,
				   .ppEnabledLayerNames = layers,
				   .enabledExtensionCount = n_exts,
				   .ppEnabledExtensionNames = exts};
	VkResult r = vkCreateInstance(&ci, NULL, &t.instance);
	if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
		SKIP("no Vulkan driver (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER)");
	REQUIRE_VK(r, VK_SUCCESS);
	if (validation) {
		PFN_vkCreateDebugUtilsMessengerEXT create =
		    (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
			t.instance, "vkCreateDebugUtilsMessengerEXT");
		REQUIRE(create);
		REQUIRE_VK(create(t.instance, &mi, NULL, &t.messenger), VK_SUCCESS);
	}
	uint32_t n = 1;
	r = vkEnumeratePhysicalDevices(t.instance, &n, &t.phys);
	REQUIRE(r == VK_SUCCESS || r == VK_INCOMPLETE);
	if (!n)
		SKIP("no Vulkan device");
}

static void instance_destroy(void)
{
	if (t.messenger) {
		PFN_vkDestroyDebugUtilsMessengerEXT destroy =
		    (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
			t.instance, "vkDestroyDebugUtilsMessengerEXT");
		destroy(t.instance, t.messenger, NULL);
		t.messenger = VK_NULL_HANDLE;
	}
	vkDestroyInstance(t.instance, NULL);
	t.instance = VK_NULL_HANDLE;
}

/* Rule e, and the proof that the layer is there at all. */
static void check_identity(void)
{
	VkPhysicalDeviceProperties p;
	vkGetPhysicalDeviceProperties(t.phys, &p);
	size_t n = strlen(p.deviceName), s = strlen(SUFFIX);
	if (n < s || strcmp(p.deviceName + n - s, SUFFIX)) {
		fprintf(stderr,
			"%s: not under " LAYER_NAME " (run with CMake's PX_NVRULES_ENV: "
			"VK_ADD_LAYER_PATH=<build>/tests/vklayer VK_INSTANCE_LAYERS=" LAYER_NAME
			"; VK_LOADER_DEBUG=layer says why the loader did not take it)\n",
			p.deviceName);
		exit(1);
	}
	REQUIRE_EQ(p.deviceType, VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU);
	t.api = p.apiVersion;
	printf("device: %s, Vulkan %u.%u\n", p.deviceName, VK_API_VERSION_MAJOR(p.apiVersion),
	       VK_API_VERSION_MINOR(p.apiVersion));

	/* The driver NVIDIA's: the driver properties and Vulkan 1.2's. */
	VkPhysicalDeviceVulkan12Properties v12 = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES};
	VkPhysicalDeviceDriverProperties dp = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
	    .pNext = t.api >= VK_API_VERSION_1_2 ? &v12 : NULL};
	VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
					  .pNext = &dp};
	PFN_vkGetPhysicalDeviceProperties2 get[] = {
	    vkGetPhysicalDeviceProperties2,
	    (PFN_vkGetPhysicalDeviceProperties2)vkGetInstanceProcAddr(
		t.instance, "vkGetPhysicalDeviceProperties2KHR")};
	for (size_t i = 0; i < PX_ARRAY_LEN(get); i++) {
		if (!get[i])
			continue;
		memset(&p2.properties, 0, sizeof(p2.properties));
		dp.driverID = v12.driverID = 0;
		get[i](t.phys, &p2);
		REQUIRE(!strcmp(p2.properties.deviceName, p.deviceName));
		REQUIRE_EQ(p2.properties.deviceType, VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU);
		REQUIRE_EQ(dp.driverID, VK_DRIVER_ID_NVIDIA_PROPRIETARY);
		if (t.api >= VK_API_VERSION_1_2)
			REQUIRE_EQ(v12.driverID, VK_DRIVER_ID_NVIDIA_PROPRIETARY);
	}
	printf("driver: %s (%s), reported as NVIDIA's proprietary driver\n", dp.driverName,
	       dp.driverInfo);
}

/* Rule d: the heaps and types. */
static void check_layout(const VkPhysicalDeviceMemoryProperties *m)
{
	REQUIRE_EQ(m->memoryHeapCount, 3);
	REQUIRE_EQ(m->memoryHeaps[0].flags, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT);
	REQUIRE_EQ(m->memoryHeaps[1].flags, 0);
	REQUIRE_EQ(m->memoryHeaps[2].flags, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT);
	REQUIRE_EQ(m->memoryHeaps[1].size, m->memoryHeaps[0].size);
	REQUIRE(m->memoryHeaps[2].size > 0 && m->memoryHeaps[2].size <= (256u << 20));
	REQUIRE_EQ(m->memoryTypeCount, PX_ARRAY_LEN(want_types));
	for (uint32_t i = 0; i < m->memoryTypeCount; i++) {
		REQUIRE_EQ(m->memoryTypes[i].propertyFlags, want_types[i].propertyFlags);
		REQUIRE_EQ(m->memoryTypes[i].heapIndex, want_types[i].heapIndex);
	}
}

static void check_memory_properties(void)
{
	VkPhysicalDeviceMemoryProperties m;
	vkGetPhysicalDeviceMemoryProperties(t.phys, &m);
	check_layout(&m);
	VkPhysicalDeviceMemoryProperties2 m2 = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
	vkGetPhysicalDeviceMemoryProperties2(t.phys, &m2);
	check_layout(&m2.memoryProperties);
	PFN_vkGetPhysicalDeviceMemoryProperties2KHR khr =
	    (PFN_vkGetPhysicalDeviceMemoryProperties2KHR)vkGetInstanceProcAddr(
		t.instance, "vkGetPhysicalDeviceMemoryProperties2KHR");
	if (khr) {
		memset(&m2.memoryProperties, 0, sizeof(m2.memoryProperties));
		khr(t.phys, &m2);
		check_layout(&m2.memoryProperties);
	}
	printf("memory: heaps %llu, %llu, %llu MiB; types as NVIDIA's\n",
	       (unsigned long long)(m.memoryHeaps[0].size >> 20),
	       (unsigned long long)(m.memoryHeaps[1].size >> 20),
	       (unsigned long long)(m.memoryHeaps[2].size >> 20));
}

/* Rule a: no dma-buf anywhere. */
static void check_dma_buf(void)
{
	REQUIRE(!device_ext(VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME));
	/* Asking for it anyway (the loader may refuse first, where the
	 * driver lacks it too). */
	const char *ext[] = {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME,
			     VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME};
	float prio = 1;
	VkDeviceQueueCreateInfo q = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
				     .queueCount = 1,
				     .pQueuePriorities = &prio};
	VkDeviceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
				 .queueCreateInfoCount = 1,
				 .pQueueCreateInfos = &q,
				 .enabledExtensionCount = 2,
				 .ppEnabledExtensionNames = ext};
	VkDevice dev = VK_NULL_HANDLE;
	t.deliberate++;
	REQUIRE_VK(vkCreateDevice(t.phys, &ci, NULL, &dev), VK_ERROR_EXTENSION_NOT_PRESENT);
	t.deliberate--;

	PFN_vkGetPhysicalDeviceExternalBufferProperties get[] = {
	    vkGetPhysicalDeviceExternalBufferProperties,
	    (PFN_vkGetPhysicalDeviceExternalBufferProperties)vkGetInstanceProcAddr(
		t.instance, "vkGetPhysicalDeviceExternalBufferPropertiesKHR")};
	for (size_t i = 0; i < PX_ARRAY_LEN(get); i++) {
		if (!get[i])
			continue;
		VkPhysicalDeviceExternalBufferInfo bi = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO,
		    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
		    .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT};
		VkExternalBufferProperties bp = {.sType =
						     VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES};
		memset(&bp.externalMemoryProperties, 0xff, sizeof(bp.externalMemoryProperties));
		get[i](t.phys, &bi, &bp);
		REQUIRE_EQ(bp.externalMemoryProperties.externalMemoryFeatures, 0);
		REQUIRE_EQ(bp.externalMemoryProperties.compatibleHandleTypes, 0);
		REQUIRE_EQ(bp.externalMemoryProperties.exportFromImportedHandleTypes, 0);
		/* Nor among what opaque fds are compatible with. */
		bi.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
		get[i](t.phys, &bi, &bp);
		REQUIRE(!(bp.externalMemoryProperties.compatibleHandleTypes &
			  VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT));
		REQUIRE(!(bp.externalMemoryProperties.exportFromImportedHandleTypes &
			  VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT));
	}

	VkPhysicalDeviceExternalImageFormatInfo ei = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO,
	    .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT};
	VkPhysicalDeviceImageFormatInfo2 ii = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_IMAGE_FORMAT_INFO_2,
	    .pNext = &ei,
	    .format = VK_FORMAT_R8G8B8A8_UNORM,
	    .type = VK_IMAGE_TYPE_2D,
	    .tiling = VK_IMAGE_TILING_LINEAR,
	    .usage = VK_IMAGE_USAGE_SAMPLED_BIT};
	VkImageFormatProperties2 ip = {.sType = VK_STRUCTURE_TYPE_IMAGE_FORMAT_PROPERTIES_2};
	REQUIRE_VK(vkGetPhysicalDeviceImageFormatProperties2(t.phys, &ii, &ip),
		   VK_ERROR_FORMAT_NOT_SUPPORTED);
	PFN_vkGetPhysicalDeviceImageFormatProperties2KHR khr =
	    (PFN_vkGetPhysicalDeviceImageFormatProperties2KHR)vkGetInstanceProcAddr(
		t.instance, "vkGetPhysicalDeviceImageFormatProperties2KHR");
	if (khr)
		REQUIRE_VK(khr(t.phys, &ii, &ip), VK_ERROR_FORMAT_NOT_SUPPORTED);
	/* The same query without the handle type still answers. */
	ii.pNext = NULL;
	REQUIRE_VK(vkGetPhysicalDeviceImageFormatProperties2(t.phys, &ii, &ip), VK_SUCCESS);
	printf("dma-buf: hidden (" VK_EXT_IMAGE_DRM_FORMAT_MODIFIER_EXTENSION_NAME " %s)\n",
	       device_ext(VK_EXT_IMAGE_DRM_FORMAT_MODIFIER_EXTENSION_NAME) ? "kept" : "absent");
}

/* Rule b, the physical device's answers. */
static void check_sync_fd_properties(void)
{
	VkPhysicalDeviceExternalSemaphoreInfo si = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_SEMAPHORE_INFO,
	    .handleType = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT};
	VkExternalSemaphoreProperties sp = {.sType =
						VK_STRUCTURE_TYPE_EXTERNAL_SEMAPHORE_PROPERTIES};
	PFN_vkGetPhysicalDeviceExternalSemaphoreProperties sem[] = {
	    vkGetPhysicalDeviceExternalSemaphoreProperties,
	    (PFN_vkGetPhysicalDeviceExternalSemaphoreProperties)vkGetInstanceProcAddr(
		t.instance, "vkGetPhysicalDeviceExternalSemaphorePropertiesKHR")};
	for (size_t i = 0; i < PX_ARRAY_LEN(sem); i++) {
		if (!sem[i])
			continue;
		si.handleType = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT;
		sp.externalSemaphoreFeatures = sp.compatibleHandleTypes = ~0u;
		sp.exportFromImportedHandleTypes = ~0u;
		sem[i](t.phys, &si, &sp);
		REQUIRE_EQ(sp.externalSemaphoreFeatures, 0);
		REQUIRE_EQ(sp.compatibleHandleTypes, 0);
		REQUIRE_EQ(sp.exportFromImportedHandleTypes, 0);
		si.handleType = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_OPAQUE_FD_BIT;
		sem[i](t.phys, &si, &sp);
		REQUIRE(
		    !(sp.compatibleHandleTypes & VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT));
	}
	PFN_vkGetPhysicalDeviceExternalFenceProperties fence[] = {
	    vkGetPhysicalDeviceExternalFenceProperties,
	    (PFN_vkGetPhysicalDeviceExternalFenceProperties)vkGetInstanceProcAddr(
		t.instance, "vkGetPhysicalDeviceExternalFencePropertiesKHR")};
	for (size_t i = 0; i < PX_ARRAY_LEN(fence); i++) {
		if (!fence[i])
			continue;
		VkPhysicalDeviceExternalFenceInfo fi = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_FENCE_INFO,
		    .handleType = VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT};
		VkExternalFenceProperties fp = {.sType =
						    VK_STRUCTURE_TYPE_EXTERNAL_FENCE_PROPERTIES};
		fp.externalFenceFeatures = fp.compatibleHandleTypes = ~0u;
		fp.exportFromImportedHandleTypes = ~0u;
		fence[i](t.phys, &fi, &fp);
		REQUIRE_EQ(fp.externalFenceFeatures, 0);
		REQUIRE_EQ(fp.compatibleHandleTypes, 0);
		REQUIRE_EQ(fp.exportFromImportedHandleTypes, 0);
	}
	printf("sync_file: semaphore and fence features 0\n");
}

static void device_create(void)
{
	REQUIRE(device_ext(VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME));
	REQUIRE(device_ext(VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME));
	const char *ext[4] = {VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME,
			      VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME};
	uint32_t n = 2;
	t.has_sem_fd = device_ext(VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME);
	t.has_fence_fd = device_ext(VK_KHR_EXTERNAL_FENCE_FD_EXTENSION_NAME);
	if (t.has_sem_fd)
		ext[n++] = VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME;
	if (t.has_fence_fd)
		ext[n++] = VK_KHR_EXTERNAL_FENCE_FD_EXTENSION_NAME;
	float prio = 1;
	VkDeviceQueueCreateInfo q = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
				     .queueCount = 1,
				     .pQueuePriorities = &prio};
	VkDeviceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
				 .queueCreateInfoCount = 1,
				 .pQueueCreateInfos = &q,
				 .enabledExtensionCount = n,
				 .ppEnabledExtensionNames = ext};
	REQUIRE_VK(vkCreateDevice(t.phys, &ci, NULL, &t.device), VK_SUCCESS);
}

static VkBuffer buffer_create(VkExternalMemoryHandleTypeFlags handles)
{
	VkExternalMemoryBufferCreateInfo ext = {
	    .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO, .handleTypes = handles};
	VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				 .pNext = handles ? &ext : NULL,
				 .size = SIZE,
				 .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
					  VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
				 .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
	VkBuffer b;
	REQUIRE_VK(vkCreateBuffer(t.device, &bi, NULL, &b), VK_SUCCESS);
	return b;
}

/* Rule d: memoryTypeBits in every call that returns them. */
static void check_requirements(void)
{
	VkBuffer b = buffer_create(0);
	VkMemoryRequirements r;
	vkGetBufferMemoryRequirements(t.device, b, &r);
	REQUIRE_EQ(r.memoryTypeBits, RESOURCE_BITS);
	VkBufferMemoryRequirementsInfo2 bi = {
	    .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2, .buffer = b};
	VkMemoryRequirements2 r2 = {.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2};
	vkGetBufferMemoryRequirements2(t.device, &bi, &r2);
	REQUIRE_EQ(r2.memoryRequirements.memoryTypeBits, RESOURCE_BITS);
	vkDestroyBuffer(t.device, b, NULL);

	VkImageCreateInfo ii = {.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
				.imageType = VK_IMAGE_TYPE_2D,
				.format = VK_FORMAT_R8G8B8A8_UNORM,
				.extent = {61, 37, 1},
				.mipLevels = 1,
				.arrayLayers = 1,
				.samples = VK_SAMPLE_COUNT_1_BIT,
				.tiling = VK_IMAGE_TILING_OPTIMAL,
				.usage = VK_IMAGE_USAGE_SAMPLED_BIT,
				.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED};
	VkImage img;
	REQUIRE_VK(vkCreateImage(t.device, &ii, NULL, &img), VK_SUCCESS);
	vkGetImageMemoryRequirements(t.device, img, &r);
	REQUIRE_EQ(r.memoryTypeBits, RESOURCE_BITS);
	VkImageMemoryRequirementsInfo2 imi = {
	    .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2, .image = img};
	r2.memoryRequirements.memoryTypeBits = 0;
	vkGetImageMemoryRequirements2(t.device, &imi, &r2);
	REQUIRE_EQ(r2.memoryRequirements.memoryTypeBits, RESOURCE_BITS);
	vkDestroyImage(t.device, img, NULL);

	PFN_vkGetDeviceBufferMemoryRequirements dbr =
	    (PFN_vkGetDeviceBufferMemoryRequirements)vkGetDeviceProcAddr(
		t.device, "vkGetDeviceBufferMemoryRequirements");
	PFN_vkGetDeviceImageMemoryRequirements dir =
	    (PFN_vkGetDeviceImageMemoryRequirements)vkGetDeviceProcAddr(
		t.device, "vkGetDeviceImageMemoryRequirements");
	if (t.api >= VK_API_VERSION_1_3 && dbr && dir) {
		VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
					  .size = SIZE,
					  .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
		VkDeviceBufferMemoryRequirements dbi = {
		    .sType = VK_STRUCTURE_TYPE_DEVICE_BUFFER_MEMORY_REQUIREMENTS,
		    .pCreateInfo = &bci};
		r2.memoryRequirements.memoryTypeBits = 0;
		dbr(t.device, &dbi, &r2);
		REQUIRE_EQ(r2.memoryRequirements.memoryTypeBits, RESOURCE_BITS);
		VkDeviceImageMemoryRequirements dii = {
		    .sType = VK_STRUCTURE_TYPE_DEVICE_IMAGE_MEMORY_REQUIREMENTS,
		    .pCreateInfo = &ii,
		    .planeAspect = VK_IMAGE_ASPECT_COLOR_BIT};
		r2.memoryRequirements.memoryTypeBits = 0;
		dir(t.device, &dii, &r2);
		REQUIRE_EQ(r2.memoryRequirements.memoryTypeBits, RESOURCE_BITS);
	}
	printf("requirements: memoryTypeBits %#x for buffers and images\n", RESOURCE_BITS);
}

static VkResult allocate(uint32_t type, VkDeviceSize size, const void *chain, VkDeviceMemory *mem)
{
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .pNext = chain,
				   .allocationSize = size,
				   .memoryTypeIndex = type};
	*mem = VK_NULL_HANDLE;
	return vkAllocateMemory(t.device, &ai, NULL, mem);
}

/* Rule d: allocations by fake type, and which of them map. */
static void check_allocations(void)
{
	VkDeviceMemory mem;
	t.deliberate++;
	REQUIRE_VK(allocate(5, SIZE, NULL, &mem), VK_ERROR_OUT_OF_DEVICE_MEMORY);
	/* Larger than the BAR heap. */
	REQUIRE_VK(allocate(4, 512u << 20, NULL, &mem), VK_ERROR_OUT_OF_DEVICE_MEMORY);
	t.deliberate--;

	for (uint32_t type = 0; type < PX_ARRAY_LEN(want_types); type++) {
		REQUIRE_VK(allocate(type, SIZE, NULL, &mem), VK_SUCCESS);
		VkBuffer b = buffer_create(0);
		REQUIRE_VK(vkBindBufferMemory(t.device, b, mem, 0), VK_SUCCESS);
		void *map = NULL;
		if (!(want_types[type].propertyFlags & HV)) {
			t.deliberate++;
			REQUIRE_VK(vkMapMemory(t.device, mem, 0, VK_WHOLE_SIZE, 0, &map),
				   VK_ERROR_MEMORY_MAP_FAILED);
			t.deliberate--;
		} else {
			REQUIRE_VK(vkMapMemory(t.device, mem, 0, VK_WHOLE_SIZE, 0, &map),
				   VK_SUCCESS);
			memset(map, (int)type, SIZE);
			REQUIRE_EQ(((unsigned char *)map)[SIZE - 1], type);
			vkUnmapMemory(t.device, mem);
		}
		vkDestroyBuffer(t.device, b, NULL);
		vkFreeMemory(t.device, mem, NULL);
	}
	printf("allocations: type 5 refused, types 0 and 1 do not map, 2-4 map\n");
}

static void *map_anon(int prot)
{
	void *p = mmap(NULL, SIZE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(p != MAP_FAILED);
	return p;
}

static int memfd(void)
{
	int fd = memfd_create("nvrules", MFD_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, SIZE) == 0);
	return fd;
}

/* Imports `p` as host memory of fake type 2, bound to a buffer; the result
 * of vkAllocateMemory. */
static VkResult import_host(void *p)
{
	PFN_vkGetMemoryHostPointerPropertiesEXT props =
	    (PFN_vkGetMemoryHostPointerPropertiesEXT)vkGetDeviceProcAddr(
		t.device, "vkGetMemoryHostPointerPropertiesEXT");
	REQUIRE(props);
	VkMemoryHostPointerPropertiesEXT hp = {
	    .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
	/* NVIDIA's answered for read-only mappings too. */
	REQUIRE_VK(props(t.device, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, p, &hp),
		   VK_SUCCESS);
	REQUIRE_EQ(hp.memoryTypeBits, HOST_POINTER_BITS);
	VkImportMemoryHostPointerInfoEXT imp = {
	    .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
	    .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
	    .pHostPointer = p};
	VkDeviceMemory mem;
	VkResult r = allocate(2, SIZE, &imp, &mem);
	if (r == VK_SUCCESS) {
		VkBuffer b = buffer_create(VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT);
		REQUIRE_VK(vkBindBufferMemory(t.device, b, mem, 0), VK_SUCCESS);
		vkDestroyBuffer(t.device, b, NULL);
		vkFreeMemory(t.device, mem, NULL);
	}
	return r;
}

/* Rule c. */
static void check_host_pointers(void)
{
	void *rw = map_anon(PROT_READ | PROT_WRITE);
	REQUIRE_VK(import_host(rw), VK_SUCCESS);
	/* The last page read-only: refused. */
	REQUIRE(mprotect((char *)rw + SIZE - PAGE, PAGE, PROT_READ) == 0);
	REQUIRE_VK(import_host(rw), VK_ERROR_OUT_OF_DEVICE_MEMORY);
	/* Writable again, the middle a shared memfd: three map lines, taken. */
	REQUIRE(mprotect((char *)rw + SIZE - PAGE, PAGE, PROT_READ | PROT_WRITE) == 0);
	int fd = memfd();
	void *mid = mmap((char *)rw + 4 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, fd, 0);
	REQUIRE(mid == (char *)rw + 4 * PAGE);
	REQUIRE_VK(import_host(rw), VK_SUCCESS);
	REQUIRE(munmap(rw, SIZE) == 0);

	void *ro = map_anon(PROT_READ);
	REQUIRE_VK(import_host(ro), VK_ERROR_OUT_OF_DEVICE_MEMORY);
	REQUIRE(munmap(ro, SIZE) == 0);
	/* Rule f: since the first refusal, system memory only. */
	VkDeviceMemory mem;
	t.deliberate++;
	for (uint32_t type = 0; type < PX_ARRAY_LEN(want_types); type++) {
		bool system_hv = type == 2 || type == 3;
		VkResult r = allocate(type, SIZE, NULL, &mem);
		REQUIRE_VK(r, system_hv ? VK_SUCCESS : VK_ERROR_OUT_OF_DEVICE_MEMORY);
		if (r == VK_SUCCESS)
			vkFreeMemory(t.device, mem, NULL);
	}
	t.deliberate--;

	void *shared = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	REQUIRE(shared != MAP_FAILED);
	REQUIRE_VK(import_host(shared), VK_SUCCESS);
	REQUIRE(munmap(shared, SIZE) == 0);
	shared = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	REQUIRE(shared != MAP_FAILED);
	REQUIRE_VK(import_host(shared), VK_ERROR_OUT_OF_DEVICE_MEMORY);
	REQUIRE(munmap(shared, SIZE) == 0);
	close(fd);
	printf("host pointers: writable mappings import, read-only ones fail with "
	       "VK_ERROR_OUT_OF_DEVICE_MEMORY, after which types 0, 1 and 4 do not allocate\n");
}

/* Opaque fds through the fake types: exported from type 2, imported as
 * types 2 and 1, the bytes the same. */
static void check_opaque_fd(void)
{
	PFN_vkGetMemoryFdKHR get_fd =
	    (PFN_vkGetMemoryFdKHR)vkGetDeviceProcAddr(t.device, "vkGetMemoryFdKHR");
	REQUIRE(get_fd);
	VkExportMemoryAllocateInfo exp = {.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
					  .handleTypes =
					      VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT};
	VkDeviceMemory src;
	REQUIRE_VK(allocate(2, SIZE, &exp, &src), VK_SUCCESS);
	unsigned char *map;
	REQUIRE_VK(vkMapMemory(t.device, src, 0, VK_WHOLE_SIZE, 0, (void **)&map), VK_SUCCESS);
	for (uint32_t i = 0; i < SIZE; i++)
		map[i] = (unsigned char)(i * 7 + 3);
	vkUnmapMemory(t.device, src);

	for (uint32_t type = 2; type >= 1; type--) {
		VkMemoryGetFdInfoKHR gi = {.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR,
					   .memory = src,
					   .handleType =
					       VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT};
		int fd = -1;
		REQUIRE_VK(get_fd(t.device, &gi, &fd), VK_SUCCESS);
		REQUIRE(fd >= 0);
		VkImportMemoryFdInfoKHR imp = {.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR,
					       .handleType =
						   VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT,
					       .fd = fd};
		VkDeviceMemory dst;
		VkResult r = allocate(type, SIZE, &imp, &dst);
		if (r != VK_SUCCESS)
			close(fd); /* only a successful import owns it */
		REQUIRE_VK(r, VK_SUCCESS);
		if (type == 2) {
			REQUIRE_VK(vkMapMemory(t.device, dst, 0, VK_WHOLE_SIZE, 0, (void **)&map),
				   VK_SUCCESS);
			for (uint32_t i = 0; i < SIZE; i++)
				REQUIRE_EQ(map[i], (unsigned char)(i * 7 + 3));
			vkUnmapMemory(t.device, dst);
		}
		vkFreeMemory(t.device, dst, NULL);
	}
	vkFreeMemory(t.device, src, NULL);
	printf("opaque fds: exported and imported through the fake types\n");
}

/* Rule b, on the device: sync_file imports and exports refused. */
static void check_sync_fd_calls(void)
{
	if (t.has_sem_fd) {
		PFN_vkImportSemaphoreFdKHR imp = (PFN_vkImportSemaphoreFdKHR)vkGetDeviceProcAddr(
		    t.device, "vkImportSemaphoreFdKHR");
		PFN_vkGetSemaphoreFdKHR get =
		    (PFN_vkGetSemaphoreFdKHR)vkGetDeviceProcAddr(t.device, "vkGetSemaphoreFdKHR");
		REQUIRE(imp && get);
		VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
		VkSemaphore s;
		REQUIRE_VK(vkCreateSemaphore(t.device, &sci, NULL, &s), VK_SUCCESS);
		VkImportSemaphoreFdInfoKHR ii = {
		    .sType = VK_STRUCTURE_TYPE_IMPORT_SEMAPHORE_FD_INFO_KHR,
		    .semaphore = s,
		    .flags = VK_SEMAPHORE_IMPORT_TEMPORARY_BIT,
		    .handleType = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT,
		    .fd = -1};
		VkSemaphoreGetFdInfoKHR gi = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_GET_FD_INFO_KHR,
					      .semaphore = s,
					      .handleType =
						  VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT};
		int fd = -1;
		t.deliberate++;
		REQUIRE_VK(imp(t.device, &ii), VK_ERROR_INVALID_EXTERNAL_HANDLE);
		REQUIRE_VK(get(t.device, &gi, &fd), VK_ERROR_INVALID_EXTERNAL_HANDLE);
		t.deliberate--;
		REQUIRE_EQ(fd, -1);
		vkDestroySemaphore(t.device, s, NULL);
	}
	if (t.has_fence_fd) {
		PFN_vkImportFenceFdKHR imp =
		    (PFN_vkImportFenceFdKHR)vkGetDeviceProcAddr(t.device, "vkImportFenceFdKHR");
		PFN_vkGetFenceFdKHR get =
		    (PFN_vkGetFenceFdKHR)vkGetDeviceProcAddr(t.device, "vkGetFenceFdKHR");
		REQUIRE(imp && get);
		VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
		VkFence f;
		REQUIRE_VK(vkCreateFence(t.device, &fci, NULL, &f), VK_SUCCESS);
		VkImportFenceFdInfoKHR ii = {.sType = VK_STRUCTURE_TYPE_IMPORT_FENCE_FD_INFO_KHR,
					     .fence = f,
					     .flags = VK_FENCE_IMPORT_TEMPORARY_BIT,
					     .handleType =
						 VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT,
					     .fd = -1};
		VkFenceGetFdInfoKHR gi = {.sType = VK_STRUCTURE_TYPE_FENCE_GET_FD_INFO_KHR,
					  .fence = f,
					  .handleType = VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT};
		int fd = -1;
		t.deliberate++;
		REQUIRE_VK(imp(t.device, &ii), VK_ERROR_INVALID_EXTERNAL_HANDLE);
		REQUIRE_VK(get(t.device, &gi, &fd), VK_ERROR_INVALID_EXTERNAL_HANDLE);
		t.deliberate--;
		REQUIRE_EQ(fd, -1);
		vkDestroyFence(t.device, f, NULL);
	}
	printf("sync_file calls: %s, %s\n",
	       t.has_sem_fd ? "semaphore import and export refused"
			    : "no " VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME " to call",
	       t.has_fence_fd ? "fence import and export refused"
			      : "no " VK_KHR_EXTERNAL_FENCE_FD_EXTENSION_NAME " to call");
}

static void run_pass(const char *what, const char *const *layers, uint32_t n_layers,
		     bool validation)
{
	printf("-- %s\n", what);
	t.errors = t.provoked = 0;
	instance_create(layers, n_layers, validation);
	check_identity();
	check_memory_properties();
	check_dma_buf();
	check_sync_fd_properties();
	device_create();
	check_requirements();
	check_allocations();
	check_opaque_fd();
	check_host_pointers(); /* last: a refusal spoils the device (rule f) */
	check_sync_fd_calls();
	vkDestroyDevice(t.device, NULL);
	t.device = VK_NULL_HANDLE;
	instance_destroy();
	if (validation) {
		printf("validation: %u errors, %u provoked on purpose\n", t.errors, t.provoked);
		REQUIRE_EQ(t.errors, 0);
	}
}

int main(void)
{
	int fds = px_test_count_fds();
	bool validation = layer_installed(VALIDATION_NAME);
	if (!validation)
		printf("(" VALIDATION_NAME " is not installed: passes without it)\n");
	const char *const above[] = {VALIDATION_NAME};
	run_pass("the layer from the environment, above validation", above, validation ? 1 : 0,
		 validation);

	const char *env = getenv("VK_INSTANCE_LAYERS");
	if (validation && env && strstr(env, LAYER_NAME)) {
		char *saved = strdup(env);
		REQUIRE(saved);
		REQUIRE(unsetenv("VK_INSTANCE_LAYERS") == 0);
		const char *const below[] = {VALIDATION_NAME, LAYER_NAME};
		run_pass("validation above the layer, both from the API", below, 2, true);
		REQUIRE(setenv("VK_INSTANCE_LAYERS", saved, 1) == 0);
		free(saved);
	}
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("ok\n");
	return 0;
}
