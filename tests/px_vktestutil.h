/* SPDX-License-Identifier: MIT */
/* Helpers for tests that do Vulkan work of their own beside pixshare's: a
 * command buffer on a px_vk's device, and an application's own instance and
 * device for pixshare to adopt. */
#ifndef PX_VKTESTUTIL_H
#define PX_VKTESTUTIL_H

#include <string.h>
#include <unistd.h>

#include <pixshare/import.h>
#include <pixshare/subscriber.h>
#include <pixshare/vulkan.h>

#include "px_test.h"

/* Where VK_ICD_FILENAMES names a driver that is not there (the tests that
 * CMake registers on lavapipe from scripts/lavapipe-backports, before it
 * ran), the test is skipped, and says why. */
static inline void px_test_vk_driver_present(void)
{
	const char *icd = getenv("VK_ICD_FILENAMES");
	if (icd && *icd && !strchr(icd, ':') && access(icd, R_OK))
		SKIP("the Vulkan driver VK_ICD_FILENAMES names is missing: %s (run "
		     "scripts/lavapipe-backports)",
		     icd);
}

/* --require-path=NAME (a px_import_path_name()): the import path a
 * test then requires; -1 where it is unset. An unknown name fails. */
static inline int px_test_required_path(void)
{
	const char *name = px_test_opt("require-path");
	if (!name)
		return -1;
	for (int p = 0; p < PX_IMPORT_PATHS; p++)
		if (!strcmp(name, px_import_path_name((enum px_import_path)p)))
			return p;
	fprintf(stderr, "--require-path=%s: no such import path\n", name);
	exit(1);
}

/* Requires a subscriber's import counts to be `n` images by `path` and none
 * by any other path. */
static inline void px_test_require_imported_by(const struct px_subscriber_stats *ss,
					       enum px_import_path path, uint64_t n)
{
	const uint64_t by_path[PX_IMPORT_PATHS] = {[PX_IMPORT_DMABUF] = ss->imported_dmabuf,
						   [PX_IMPORT_UPLOAD] = ss->imported_upload,
						   [PX_IMPORT_HOST_MEMORY] =
						       ss->imported_host_memory,
						   [PX_IMPORT_OPAQUE_FD] = ss->imported_opaque_fd};
	for (int p = 0; p < PX_IMPORT_PATHS; p++)
		if (by_path[p] != (p == (int)path ? n : 0)) {
			fprintf(stderr, "%llu images imported by %s, expected %llu\n",
				(unsigned long long)by_path[p],
				px_import_path_name((enum px_import_path)p),
				(unsigned long long)(p == (int)path ? n : 0));
			exit(1);
		}
}

/* One command buffer on the px_vk's device, submitted to queue 0 of its
 * family, where pixshare submits too: from the same thread, that needs no
 * more synchronisation. Record between px_test_cmd_begin() and
 * px_test_cmd_submit(), which waits for the work (60 s at most). */
struct px_test_cmd {
	VkDevice dev;
	VkQueue queue;
	VkCommandPool pool;
	VkCommandBuffer cb;
	VkFence fence;
};

static inline void px_test_cmd_init(struct px_test_cmd *c, struct px_vk *vk)
{
	struct px_vk_info info;
	REQUIRE_OK(px_vk_get_info(vk, &info));
	c->dev = px_vk_get_device(vk);
	vkGetDeviceQueue(c->dev, info.queue_family, 0, &c->queue);
	VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
				      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
				      .queueFamilyIndex = info.queue_family};
	REQUIRE_EQ(vkCreateCommandPool(c->dev, &pi, NULL, &c->pool), VK_SUCCESS);
	VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
					  .commandPool = c->pool,
					  .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
					  .commandBufferCount = 1};
	REQUIRE_EQ(vkAllocateCommandBuffers(c->dev, &ai, &c->cb), VK_SUCCESS);
	VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
	REQUIRE_EQ(vkCreateFence(c->dev, &fi, NULL, &c->fence), VK_SUCCESS);
}

static inline void px_test_cmd_begin(struct px_test_cmd *c)
{
	/* (The pool's command buffers reset themselves when begun.) */
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
				       .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
	REQUIRE_EQ(vkBeginCommandBuffer(c->cb, &bi), VK_SUCCESS);
}

static inline void px_test_cmd_submit(struct px_test_cmd *c)
{
	REQUIRE_EQ(vkEndCommandBuffer(c->cb), VK_SUCCESS);
	VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
			   .commandBufferCount = 1,
			   .pCommandBuffers = &c->cb};
	REQUIRE_EQ(vkResetFences(c->dev, 1, &c->fence), VK_SUCCESS);
	REQUIRE_EQ(vkQueueSubmit(c->queue, 1, &si, c->fence), VK_SUCCESS);
	REQUIRE_EQ(vkWaitForFences(c->dev, 1, &c->fence, VK_TRUE, 60ull * 1000000000), VK_SUCCESS);
}

static inline void px_test_cmd_finish(struct px_test_cmd *c)
{
	vkDestroyFence(c->dev, c->fence, NULL);
	vkFreeCommandBuffers(c->dev, c->pool, 1, &c->cb);
	vkDestroyCommandPool(c->dev, c->pool, NULL);
}

/* A host-visible, coherent buffer of `size` bytes on the px_vk's device,
 * for copies out of the device (usage TRANSFER_DST), mapped at *map. */
static inline void px_test_readback_init(struct px_vk *vk, uint64_t size, VkBuffer *buffer,
					 VkDeviceMemory *memory, const uint8_t **map)
{
	VkDevice dev = px_vk_get_device(vk);
	VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				 .size = size,
				 .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
				 .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
	REQUIRE_EQ(vkCreateBuffer(dev, &bi, NULL, buffer), VK_SUCCESS);
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(dev, *buffer, &req);
	VkPhysicalDeviceMemoryProperties mp;
	vkGetPhysicalDeviceMemoryProperties(px_vk_get_physical_device(vk), &mp);
	const VkMemoryPropertyFlags want =
	    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	uint32_t mt = 0;
	while (mt < mp.memoryTypeCount && (!(req.memoryTypeBits & (1u << mt)) ||
					   (mp.memoryTypes[mt].propertyFlags & want) != want))
		mt++;
	REQUIRE(mt < mp.memoryTypeCount);
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .allocationSize = req.size,
				   .memoryTypeIndex = mt};
	REQUIRE_EQ(vkAllocateMemory(dev, &ai, NULL, memory), VK_SUCCESS);
	REQUIRE_EQ(vkBindBufferMemory(dev, *buffer, *memory, 0), VK_SUCCESS);
	void *m;
	REQUIRE_EQ(vkMapMemory(dev, *memory, 0, VK_WHOLE_SIZE, 0, &m), VK_SUCCESS);
	*map = m;
}

/* The application's own Vulkan 1.1 instance and device on the first
 * physical device, with one queue of the first compute family, the feature
 * transforms need (shaderStorageBufferArrayDynamicIndexing) and the device
 * extensions `exts` (n_exts of them): what px_vk_params adopts. */
struct px_test_app_device {
	VkInstance instance;
	VkPhysicalDevice phys;
	VkDevice device;
	uint32_t family;
};

static inline void px_test_app_device_init(struct px_test_app_device *a, const char *const *exts,
					   uint32_t n_exts)
{
	VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
				 .apiVersion = VK_API_VERSION_1_1};
	VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
				    .pApplicationInfo = &app};
	REQUIRE(vkCreateInstance(&ici, NULL, &a->instance) == VK_SUCCESS);
	uint32_t n = 1;
	VkResult r = vkEnumeratePhysicalDevices(a->instance, &n, &a->phys);
	REQUIRE((r == VK_SUCCESS || r == VK_INCOMPLETE) && n == 1);
	uint32_t nq = 8;
	VkQueueFamilyProperties qf[8];
	vkGetPhysicalDeviceQueueFamilyProperties(a->phys, &nq, qf);
	a->family = 0;
	while (a->family < nq && !(qf[a->family].queueFlags & VK_QUEUE_COMPUTE_BIT))
		a->family++;
	REQUIRE(a->family < nq);
	float prio = 1;
	VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
				       .queueFamilyIndex = a->family,
				       .queueCount = 1,
				       .pQueuePriorities = &prio};
	VkPhysicalDeviceFeatures feat = {.shaderStorageBufferArrayDynamicIndexing = VK_TRUE};
	VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
				  .queueCreateInfoCount = 1,
				  .pQueueCreateInfos = &qci,
				  .enabledExtensionCount = n_exts,
				  .ppEnabledExtensionNames = exts,
				  .pEnabledFeatures = &feat};
	REQUIRE(vkCreateDevice(a->phys, &dci, NULL, &a->device) == VK_SUCCESS);
}

static inline void px_test_app_device_finish(struct px_test_app_device *a)
{
	vkDestroyDevice(a->device, NULL);
	vkDestroyInstance(a->instance, NULL);
}

#endif
