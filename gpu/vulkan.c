/* SPDX-License-Identifier: MIT */
/*
 * The Vulkan context: instance, device, extensions and their entry points,
 * what the device can import, and memory for pixshare's own buffers. How
 * frames become VkBuffers is gpu/vulkan_import.c's.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <pixshare/layout.h>

#include "core/allocator.h"
#include "gpu/vk_internal.h"

/* ---- extensions and their entry points */

struct vk_proc_name {
	const char *name;
	size_t offset; /* in struct vk_procs */
};

struct vk_ext_entry {
	const char *name;
	size_t flag; /* in struct vk_exts */
	bool instance;
	bool enable;	   /* enabled on a device pixshare makes; else only queried */
	const char *needs; /* another extension it depends on, or NULL */
	struct vk_proc_name procs[3];
};

/* clang-format off */
#define FLAG(f) offsetof(struct vk_exts, f)
#define PROC(p) {#p, offsetof(struct vk_procs, p)}
static const struct vk_ext_entry ext_table[] = {
	{VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME, FLAG(KHR_external_memory_fd), false, true, NULL,
	 {PROC(vkGetMemoryFdPropertiesKHR), PROC(vkGetMemoryFdKHR)}},
	{VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME, FLAG(EXT_external_memory_dma_buf), false, true,
	 VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME, {{0}}},
	{VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME, FLAG(EXT_external_memory_host), false, true, NULL,
	 {PROC(vkGetMemoryHostPointerPropertiesEXT)}},
	{VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME, FLAG(KHR_external_semaphore_fd), false, true,
	 NULL, {PROC(vkImportSemaphoreFdKHR), PROC(vkGetSemaphoreFdKHR)}},
	{VK_EXT_PHYSICAL_DEVICE_DRM_EXTENSION_NAME, FLAG(EXT_physical_device_drm), false, false, NULL,
	 {{0}}},
	{VK_KHR_IMAGE_FORMAT_LIST_EXTENSION_NAME, FLAG(KHR_image_format_list), false, true, NULL,
	 {{0}}},
	{VK_EXT_IMAGE_DRM_FORMAT_MODIFIER_EXTENSION_NAME, FLAG(EXT_image_drm_format_modifier), false,
	 true, VK_KHR_IMAGE_FORMAT_LIST_EXTENSION_NAME,
	 {PROC(vkGetImageDrmFormatModifierPropertiesEXT)}},
	{VK_EXT_QUEUE_FAMILY_FOREIGN_EXTENSION_NAME, FLAG(EXT_queue_family_foreign), false, true,
	 NULL, {{0}}},
	{VK_EXT_DEBUG_UTILS_EXTENSION_NAME, FLAG(EXT_debug_utils), true, true, NULL,
	 {PROC(vkCreateDebugUtilsMessengerEXT), PROC(vkDestroyDebugUtilsMessengerEXT)}},
};
#undef FLAG
#undef PROC
/* clang-format on */

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static bool *ext_flag(struct vk_exts *e, const struct vk_ext_entry *x)
{
	return (bool *)((char *)e + x->flag);
}

PX_API const char *px_vk_result_name(VkResult r)
{
	switch (r) {
#define CASE(e)                                                                                    \
	case e:                                                                                    \
		return #e
		CASE(VK_SUCCESS);
		CASE(VK_NOT_READY);
		CASE(VK_TIMEOUT);
		CASE(VK_INCOMPLETE);
		CASE(VK_ERROR_OUT_OF_HOST_MEMORY);
		CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY);
		CASE(VK_ERROR_INITIALIZATION_FAILED);
		CASE(VK_ERROR_DEVICE_LOST);
		CASE(VK_ERROR_MEMORY_MAP_FAILED);
		CASE(VK_ERROR_LAYER_NOT_PRESENT);
		CASE(VK_ERROR_EXTENSION_NOT_PRESENT);
		CASE(VK_ERROR_FEATURE_NOT_PRESENT);
		CASE(VK_ERROR_INCOMPATIBLE_DRIVER);
		CASE(VK_ERROR_TOO_MANY_OBJECTS);
		CASE(VK_ERROR_FORMAT_NOT_SUPPORTED);
		CASE(VK_ERROR_FRAGMENTED_POOL);
		CASE(VK_ERROR_OUT_OF_POOL_MEMORY);
		CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE);
		CASE(VK_ERROR_UNKNOWN);
#undef CASE
	default:
		break;
	}
	static char buf[32];
	snprintf(buf, sizeof(buf), "VkResult(%d)", (int)r);
	return buf;
}

int px_vk_fail(const char *who, VkResult r, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	px_log_error("%s: %s: %s", who, what, px_vk_result_name(r));
	return px_vk_errno(r);
}

int px_vk_errno(VkResult r)
{
	switch (r) {
	case VK_SUCCESS:
		return 0;
	case VK_ERROR_OUT_OF_HOST_MEMORY:
	case VK_ERROR_OUT_OF_DEVICE_MEMORY:
	case VK_ERROR_OUT_OF_POOL_MEMORY:
	case VK_ERROR_TOO_MANY_OBJECTS:
		return -ENOMEM;
	case VK_ERROR_EXTENSION_NOT_PRESENT:
	case VK_ERROR_FEATURE_NOT_PRESENT:
	case VK_ERROR_FORMAT_NOT_SUPPORTED:
	case VK_ERROR_LAYER_NOT_PRESENT:
	case VK_ERROR_INCOMPATIBLE_DRIVER:
	case VK_ERROR_INVALID_EXTERNAL_HANDLE:
		return -ENOTSUP;
	case VK_TIMEOUT:
		return -ETIMEDOUT;
	default:
		return -EIO;
	}
}

/* ---- validation messages */

static VKAPI_ATTR VkBool32 VKAPI_CALL debug_cb(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
					       VkDebugUtilsMessageTypeFlagsEXT types,
					       const VkDebugUtilsMessengerCallbackDataEXT *data,
					       void *user)
{
	struct px_vk *vk = user;
	const char *msg = data && data->pMessage ? data->pMessage : "?";
	if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
		atomic_fetch_add(&vk->validation_errors, 1);
		px_log_error("%s: validation: %s", vk->name, msg);
	} else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
		atomic_fetch_add(&vk->validation_warnings, 1);
		px_log_warn("%s: validation: %s", vk->name, msg);
	} else {
		px_log_debug("%s: validation: %s", vk->name, msg);
	}
	return VK_FALSE;
}

/* ---- instance and device */

static bool has_name(const char *const *list, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (list[i] && !strcmp(list[i], name))
			return true;
	return false;
}

static bool layer_present(const char *name)
{
	uint32_t n = 0;
	if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || !n)
		return false;
	VkLayerProperties *l = calloc(n, sizeof(*l));
	bool found = false;
	if (l && vkEnumerateInstanceLayerProperties(&n, l) == VK_SUCCESS)
		for (uint32_t i = 0; i < n && !found; i++)
			found = !strcmp(l[i].layerName, name);
	free(l);
	return found;
}

static bool instance_ext_present(const char *name)
{
	uint32_t n = 0;
	if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS || !n)
		return false;
	VkExtensionProperties *e = calloc(n, sizeof(*e));
	bool found = false;
	if (e && vkEnumerateInstanceExtensionProperties(NULL, &n, e) == VK_SUCCESS)
		for (uint32_t i = 0; i < n && !found; i++)
			found = !strcmp(e[i].extensionName, name);
	free(e);
	return found;
}

/* The device extensions `phys` supports, as flags (nothing enabled yet). */
static int device_exts(VkPhysicalDevice phys, struct vk_exts *out)
{
	uint32_t n = 0;
	VkResult r = vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL);
	if (r != VK_SUCCESS)
		return px_vk_errno(r);
	VkExtensionProperties *e = calloc(n ? n : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = vkEnumerateDeviceExtensionProperties(phys, NULL, &n, e);
	for (uint32_t i = 0; r == VK_SUCCESS && i < n; i++)
		for (size_t k = 0; k < PX_ARRAY_SIZE(ext_table); k++)
			if (!ext_table[k].instance &&
			    !strcmp(e[i].extensionName, ext_table[k].name))
				*ext_flag(out, &ext_table[k]) = true;
	free(e);
	/* An extension whose dependency is missing is unusable. */
	for (size_t k = 0; k < PX_ARRAY_SIZE(ext_table); k++) {
		const struct vk_ext_entry *x = &ext_table[k];
		if (x->instance || !x->needs || !*ext_flag(out, x))
			continue;
		for (size_t j = 0; j < PX_ARRAY_SIZE(ext_table); j++)
			if (!strcmp(ext_table[j].name, x->needs) && !*ext_flag(out, &ext_table[j]))
				*ext_flag(out, x) = false;
	}
	return px_vk_errno(r);
}

static bool is_gpu(VkPhysicalDeviceType t)
{
	return t == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU ||
	       t == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
	       t == VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU;
}

static int compute_family(VkPhysicalDevice phys)
{
	uint32_t n = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, NULL);
	VkQueueFamilyProperties q[16];
	n = PX_MIN(n, (uint32_t)PX_ARRAY_SIZE(q));
	vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, q);
	for (uint32_t i = 0; i < n; i++)
		if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
			return (int)i;
	return -1;
}

/* Primary and render node dev_t of a device with VK_EXT_physical_device_drm. */
static void drm_nodes(VkPhysicalDevice phys, uint64_t *primary, uint64_t *render)
{
	VkPhysicalDeviceDrmPropertiesEXT drm = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRM_PROPERTIES_EXT};
	VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
					  .pNext = &drm};
	vkGetPhysicalDeviceProperties2(phys, &p2);
	*primary = drm.hasPrimary
		       ? (uint64_t)makedev((unsigned)drm.primaryMajor, (unsigned)drm.primaryMinor)
		       : 0;
	*render = drm.hasRender
		      ? (uint64_t)makedev((unsigned)drm.renderMajor, (unsigned)drm.renderMinor)
		      : 0;
}

static int create_instance(struct px_vk *vk, bool validation, bool validation_required)
{
	const char *layers[1], *exts[1];
	uint32_t n_layers = 0, n_exts = 0;
	if (validation) {
		if (!layer_present(VALIDATION_LAYER)) {
			px_log(validation_required ? PX_LOG_ERROR : PX_LOG_WARN,
			       "%s: %s is missing (Debian: vulkan-validationlayers)%s", vk->name,
			       VALIDATION_LAYER, validation_required ? "" : ": no validation");
			if (validation_required)
				return -ENOTSUP;
			validation = false;
		} else if (!instance_ext_present(VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
			px_log_error("%s: %s is missing: validation messages cannot be counted",
				     vk->name, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
			return -ENOTSUP;
		} else {
			layers[n_layers++] = VALIDATION_LAYER;
			exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
		}
	}
	VkApplicationInfo app = {
	    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
	    .pApplicationName = px_program_name(),
	    .pEngineName = "pixshare",
	    .engineVersion = VK_MAKE_VERSION(PX_VERSION_MAJOR, PX_VERSION_MINOR, PX_VERSION_MICRO),
	    .apiVersion = VK_API_VERSION_1_1};
	VkDebugUtilsMessengerCreateInfoEXT dbg = {
	    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
	    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT |
			       VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT,
	    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
			   VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
			   VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
	    .pfnUserCallback = debug_cb,
	    .pUserData = vk};
	VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
				   /* Messages of vkCreateInstance itself. */
				   .pNext = validation ? &dbg : NULL,
				   .pApplicationInfo = &app,
				   .enabledLayerCount = n_layers,
				   .ppEnabledLayerNames = layers,
				   .enabledExtensionCount = n_exts,
				   .ppEnabledExtensionNames = exts};
	VkResult r = vkCreateInstance(&ci, NULL, &vk->instance);
	if (r != VK_SUCCESS) {
		px_log_error("%s: vkCreateInstance: %s", vk->name, px_vk_result_name(r));
		return r == VK_ERROR_INCOMPATIBLE_DRIVER ? -ENODEV : px_vk_errno(r);
	}
	vk->stats.allocations++;
	if (!validation)
		return 0;
	vk->validation = true;
	vk->exts.EXT_debug_utils = true;
	vk->procs.vkCreateDebugUtilsMessengerEXT =
	    (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
		vk->instance, "vkCreateDebugUtilsMessengerEXT");
	vk->procs.vkDestroyDebugUtilsMessengerEXT =
	    (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
		vk->instance, "vkDestroyDebugUtilsMessengerEXT");
	if (!vk->procs.vkCreateDebugUtilsMessengerEXT ||
	    !vk->procs.vkDestroyDebugUtilsMessengerEXT) {
		px_log_error("%s: %s: no vkCreateDebugUtilsMessengerEXT", vk->name,
			     VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
		return -ENOTSUP;
	}
	r = vk->procs.vkCreateDebugUtilsMessengerEXT(vk->instance, &dbg, NULL, &vk->messenger);
	if (r != VK_SUCCESS) {
		return px_vk_fail(vk->name, r, "vkCreateDebugUtilsMessengerEXT");
	}
	vk->stats.allocations++;
	px_log_info("%s: validation layer on", vk->name);
	return 0;
}

/* Picks the physical device: by DRM node, else the first GPU, else the first
 * CPU device (or the reverse with PX_VK_PREFER_CPU). */
static int pick_device(struct px_vk *vk, const struct px_vk_params *p)
{
	uint32_t n = 0;
	VkResult r = vkEnumeratePhysicalDevices(vk->instance, &n, NULL);
	if (r != VK_SUCCESS || !n) {
		px_log_error("%s: vkEnumeratePhysicalDevices: %s", vk->name,
			     r != VK_SUCCESS ? px_vk_result_name(r) : "no device");
		return r != VK_SUCCESS ? px_vk_errno(r) : -ENODEV;
	}
	VkPhysicalDevice devs[16];
	n = PX_MIN(n, (uint32_t)PX_ARRAY_SIZE(devs));
	r = vkEnumeratePhysicalDevices(vk->instance, &n, devs);
	if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
		return px_vk_fail(vk->name, r, "vkEnumeratePhysicalDevices");
	}
	bool want = p->drm_device || p->device_uuid;
	int gpu = -1, cpu = -1, match = -1;
	for (uint32_t i = 0; i < n; i++) {
		VkPhysicalDeviceProperties pr;
		vkGetPhysicalDeviceProperties(devs[i], &pr);
		struct vk_exts e = {0};
		if (pr.apiVersion < VK_API_VERSION_1_1 || device_exts(devs[i], &e) ||
		    compute_family(devs[i]) < 0) {
			px_log_info("%s: device %u (%s): no Vulkan 1.1 or no compute queue",
				    vk->name, i, pr.deviceName);
			continue;
		}
		bool node_ok = !p->drm_device, uuid_ok = !p->device_uuid;
		if (p->drm_device && e.EXT_physical_device_drm) {
			uint64_t primary, render;
			drm_nodes(devs[i], &primary, &render);
			node_ok = p->drm_device == primary || p->drm_device == render;
		}
		if (p->device_uuid) {
			VkPhysicalDeviceIDProperties id = {
			    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
			VkPhysicalDeviceProperties2 p2 = {
			    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &id};
			vkGetPhysicalDeviceProperties2(devs[i], &p2);
			uuid_ok = !memcmp(id.deviceUUID, p->device_uuid, VK_UUID_SIZE);
		}
		if (want && node_ok && uuid_ok && match < 0)
			match = (int)i;
		if (is_gpu(pr.deviceType) && gpu < 0)
			gpu = (int)i;
		if (pr.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU && cpu < 0)
			cpu = (int)i;
	}
	int pick;
	bool missed = want && match < 0; /* no device is the pool's */
	if (missed) {
		char node[48] = "", uuid[2 * VK_UUID_SIZE + 16] = "";
		if (p->drm_device)
			snprintf(node, sizeof(node), " DRM node %u:%u%s", major((dev_t)p->drm_device),
				 minor((dev_t)p->drm_device), p->device_uuid ? " and" : "");
		if (p->device_uuid) {
			strcpy(uuid, " deviceUUID ");
			for (uint32_t k = 0; k < VK_UUID_SIZE; k++)
				snprintf(uuid + strlen(uuid), 3, "%02x", p->device_uuid[k]);
		}
		bool preferred = p->flags & PX_VK_POOL_DEVICE_PREFERRED;
		px_log(preferred ? PX_LOG_INFO : PX_LOG_ERROR, "%s: no Vulkan device has%s%s%s",
		       vk->name, node, uuid, preferred ? ": the default choice" : "");
		if (!preferred)
			return -ENODEV;
	}
	if (want && match >= 0) {
		pick = match;
		vk->why = p->drm_device && p->device_uuid
			      ? "its DRM node and deviceUUID are the ones asked for"
		          : p->drm_device
			      ? "its DRM node is the one asked for (VK_EXT_physical_device_drm)"
			      : "its deviceUUID is the one asked for";
	} else if (p->flags & PX_VK_PREFER_CPU && cpu >= 0) {
		pick = cpu;
		vk->why = missed ? "none is the pool's device; a CPU device was preferred"
				 : "a CPU device was preferred";
	} else if (gpu >= 0) {
		pick = gpu;
		vk->why = missed ? "none is the pool's device: the first hardware device"
				 : "the first hardware device";
	} else if (cpu >= 0) {
		pick = cpu;
		vk->why = missed ? "none is the pool's device, no hardware device: the CPU device"
				 : "no hardware device: the CPU device";
	} else {
		px_log_error("%s: no Vulkan 1.1 device with a compute queue", vk->name);
		return -ENODEV;
	}
	vk->phys = devs[pick];
	return 0;
}

static int create_device(struct px_vk *vk)
{
	const char *names[PX_ARRAY_SIZE(ext_table)];
	uint32_t n = 0;
	for (size_t k = 0; k < PX_ARRAY_SIZE(ext_table); k++)
		if (!ext_table[k].instance && ext_table[k].enable &&
		    *ext_flag(&vk->exts, &ext_table[k]))
			names[n++] = ext_table[k].name;
	float prio = 1.0f;
	VkDeviceQueueCreateInfo q = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
				     .queueFamilyIndex = vk->queue_family,
				     .queueCount = 1,
				     .pQueuePriorities = &prio};
	VkPhysicalDeviceFeatures features = {
	    .shaderStorageBufferArrayDynamicIndexing = VK_TRUE,
	    .shaderSampledImageArrayDynamicIndexing = vk->sampled_image_indexing,
	    .shaderStorageImageWriteWithoutFormat = vk->image_write_without_format};
	VkDeviceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
				 .queueCreateInfoCount = 1,
				 .pQueueCreateInfos = &q,
				 .enabledExtensionCount = n,
				 .ppEnabledExtensionNames = names,
				 .pEnabledFeatures = &features};
	VkResult r = vkCreateDevice(vk->phys, &ci, NULL, &vk->device);
	if (r != VK_SUCCESS) {
		return px_vk_fail(vk->name, r, "vkCreateDevice");
	}
	vk->stats.allocations++;
	return 0;
}

static void load_procs(struct px_vk *vk)
{
	for (size_t k = 0; k < PX_ARRAY_SIZE(ext_table); k++) {
		const struct vk_ext_entry *x = &ext_table[k];
		if (x->instance || !*ext_flag(&vk->exts, x))
			continue;
		for (size_t i = 0; i < PX_ARRAY_SIZE(x->procs) && x->procs[i].name; i++) {
			PFN_vkVoidFunction f = vkGetDeviceProcAddr(vk->device, x->procs[i].name);
			*(PFN_vkVoidFunction *)((char *)&vk->procs + x->procs[i].offset) = f;
			if (!f) {
				px_log_warn("%s: %s: no %s: not using the extension", vk->name,
					    x->name, x->procs[i].name);
				*ext_flag(&vk->exts, x) = false;
			}
		}
	}
}

/*
 * Whether CPU mappings may be imported as host memory. NVIDIA's driver (580,
 * on an H200; tests/probe_vulkan, one mapping per process) behaves as if it
 * pinned the pages for writing (an inference from what it did): it imports
 * writable mappings, memfds shared included, but refuses every read-only
 * one with VK_ERROR_OUT_OF_DEVICE_MEMORY, after which the process can no
 * longer allocate the device's device-local memory types; and a private
 * writable mapping of a file imports as a private copy, which the device
 * then reads stale. A subscriber's frames are read-only mappings (sealed
 * memfds, dma-bufs mapped PROT_READ): there they take the upload path
 * without trying; what it was seen to take (a publisher's own shared
 * memfd slots, an application's anonymous memory) is still imported, as
 * pinnable() in gpu/vulkan_import.c tells from /proc/self/maps.
 */
static void host_import_rule(struct px_vk *vk)
{
	vk->host_import = vk->host_import_readonly = false;
	vk->host_why_readonly = vk->host_why;
	if (!vk->exts.EXT_external_memory_host) {
		snprintf(vk->host_why, sizeof(vk->host_why), "%s is %s",
			 VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME,
			 vk->adopted ? "not among the application's enabled extensions"
				     : "missing");
		return;
	}
	VkPhysicalDeviceDriverProperties dp = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
	if (vk->props.apiVersion >= VK_API_VERSION_1_2) {
		VkPhysicalDeviceProperties2 p2 = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &dp};
		vkGetPhysicalDeviceProperties2(vk->phys, &p2);
	}
	vk->host_import = true;
	/* (Its PCI vendor where the device predates driver properties.) */
	if (dp.driverID == VK_DRIVER_ID_NVIDIA_PROPRIETARY ||
	    (!dp.driverID && vk->props.vendorID == 0x10de)) {
		vk->host_why_readonly = "NVIDIA's driver pins only writable mappings, shared "
					"or anonymous";
		return;
	}
	vk->host_import_readonly = true;
}

static int vk_create_impl(const struct px_vk_params *params, struct px_vk **out)
{
	static const struct px_vk_params defaults = {0};
	const struct px_vk_params *p = params ? params : &defaults;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	bool adopt = p->instance || p->physical_device || p->device;
	if (adopt && (!p->instance || !p->physical_device || !p->device)) {
		px_log_error("vulkan: instance, physical_device and device are adopted together");
		return -EINVAL;
	}
	if (p->n_enabled_extensions && !p->enabled_extensions)
		return -EINVAL;
	struct px_vk *vk = calloc(1, sizeof(*vk));
	if (!vk)
		return -ENOMEM;
	static _Atomic uint32_t counter;
	uint32_t id = atomic_fetch_add(&counter, 1) + 1;
	snprintf(vk->name, sizeof(vk->name), "vulkan %u", id);
	vk->stats.allocations++;

	const char *env = getenv("PIXSHARE_VK_VALIDATION");
	bool env_validation = env && !strcmp(env, "1");
	if (adopt) {
		vk->adopted = true;
		vk->instance = p->instance;
		vk->phys = p->physical_device;
		vk->device = p->device;
		vk->queue_family = p->queue_family;
		vk->why = "adopted from the application";
		if (p->validation || env_validation)
			px_log_info("%s: validation is the application's to enable on an adopted "
				    "instance",
				    vk->name);
	} else {
		if ((ret = create_instance(vk, p->validation || env_validation, p->validation)))
			goto err;
		if ((ret = pick_device(vk, p)))
			goto err;
	}

	vkGetPhysicalDeviceProperties(vk->phys, &vk->props);
	snprintf(vk->name, sizeof(vk->name), "vulkan %u (%s)", id, vk->props.deviceName);
	vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->mem_props);
	if (vk->props.apiVersion < VK_API_VERSION_1_1) {
		px_log_error("%s: %s has Vulkan %u.%u: 1.1 is needed", vk->name,
			     vk->props.deviceName, VK_API_VERSION_MAJOR(vk->props.apiVersion),
			     VK_API_VERSION_MINOR(vk->props.apiVersion));
		ret = -ENOTSUP;
		goto err;
	}
	VkPhysicalDeviceFeatures feat;
	vkGetPhysicalDeviceFeatures(vk->phys, &feat);
	if (!feat.shaderStorageBufferArrayDynamicIndexing) {
		px_log_error("%s: %s lacks shaderStorageBufferArrayDynamicIndexing", vk->name,
			     vk->props.deviceName);
		ret = -ENOTSUP;
		goto err;
	}
	/* Transforms into the application's images write them without a
	 * format qualifier. */
	vk->image_write_without_format =
	    adopt ? p->enabled_features && p->enabled_features->shaderStorageImageWriteWithoutFormat
		  : feat.shaderStorageImageWriteWithoutFormat;
	/* Transforms that read VkImages index an array of them. */
	vk->sampled_image_indexing =
	    adopt
		? p->enabled_features && p->enabled_features->shaderSampledImageArrayDynamicIndexing
		: feat.shaderSampledImageArrayDynamicIndexing;
	struct vk_exts supported = {0};
	if ((ret = device_exts(vk->phys, &supported)))
		goto err;
	vk->exts.EXT_physical_device_drm = supported.EXT_physical_device_drm;
	char missing[512] = ""; /* what an adopted device could enable for pixshare */
	for (size_t k = 0; k < PX_ARRAY_SIZE(ext_table); k++) {
		const struct vk_ext_entry *x = &ext_table[k];
		if (x->instance || !x->enable)
			continue;
		bool on = *ext_flag(&supported, x);
		if (adopt && on &&
		    !has_name(p->enabled_extensions, p->n_enabled_extensions, x->name)) {
			on = false;
			size_t l = strlen(missing);
			snprintf(missing + l, sizeof(missing) - l, "%s%s", l ? ", " : "", x->name);
		}
		*ext_flag(&vk->exts, x) = on;
	}
	if (missing[0])
		px_log_warn("%s: %s supports what the application did not enable for pixshare: "
			    "%s (pass them in px_vk_params.enabled_extensions once enabled on the "
			    "device; without them imports take slower paths)",
			    vk->name, vk->props.deviceName, missing);
	if (vk->exts.EXT_physical_device_drm)
		drm_nodes(vk->phys, &vk->primary_node, &vk->render_node);

	if (!adopt) {
		int fam = compute_family(vk->phys);
		vk->queue_family = (uint32_t)fam;
		if ((ret = create_device(vk)))
			goto err;
	}
	load_procs(vk);
	if ((p->flags & PX_VK_REQUIRE_ZERO_COPY) && !vk->exts.EXT_external_memory_host &&
	    !vk->exts.EXT_external_memory_dma_buf) {
		px_log_error("%s: %s: %s is missing (and %s): every import would be a copy",
			     vk->name, vk->props.deviceName,
			     VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME,
			     VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME);
		ret = -ENOTSUP;
		goto err;
	}
	vkGetDeviceQueue(vk->device, vk->queue_family, adopt ? p->queue_index : 0, &vk->queue);
	if (!vk->queue) {
		px_log_error("%s: vkGetDeviceQueue(%u, %u): no queue", vk->name, vk->queue_family,
			     p->queue_index);
		ret = -EINVAL;
		goto err;
	}

	if (vk->exts.EXT_external_memory_host) {
		VkPhysicalDeviceExternalMemoryHostPropertiesEXT hp = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
		VkPhysicalDeviceProperties2 p2 = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &hp};
		vkGetPhysicalDeviceProperties2(vk->phys, &p2);
		vk->host_alignment = hp.minImportedHostPointerAlignment;
	}
	host_import_rule(vk);
	VkPhysicalDeviceIDProperties idp = {.sType =
						VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
	VkPhysicalDeviceProperties2 idp2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
					    .pNext = &idp};
	vkGetPhysicalDeviceProperties2(vk->phys, &idp2);
	memcpy(vk->device_uuid, idp.deviceUUID, VK_UUID_SIZE);
	memcpy(vk->driver_uuid, idp.driverUUID, VK_UUID_SIZE);
	if (vk->exts.KHR_external_memory_fd) {
		VkPhysicalDeviceExternalBufferInfo bi = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO,
		    .usage = IMPORT_USAGE,
		    .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT};
		VkExternalBufferProperties ep = {.sType =
						     VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES};
		vkGetPhysicalDeviceExternalBufferProperties(vk->phys, &bi, &ep);
		vk->opaque_import = (ep.externalMemoryProperties.externalMemoryFeatures &
				     VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT) != 0;
	}
	if (vk->exts.KHR_external_semaphore_fd) {
		VkPhysicalDeviceExternalSemaphoreInfo si = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_SEMAPHORE_INFO,
		    .handleType = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT};
		VkExternalSemaphoreProperties sp = {
		    .sType = VK_STRUCTURE_TYPE_EXTERNAL_SEMAPHORE_PROPERTIES};
		vkGetPhysicalDeviceExternalSemaphoreProperties(vk->phys, &si, &sp);
		vk->semaphore_sync_fd = (sp.externalSemaphoreFeatures &
					 VK_EXTERNAL_SEMAPHORE_FEATURE_IMPORTABLE_BIT) != 0;
		vk->semaphore_sync_fd_export = (sp.externalSemaphoreFeatures &
						VK_EXTERNAL_SEMAPHORE_FEATURE_EXPORTABLE_BIT) != 0;
	}
	/* Descriptors that show nothing still need a buffer. */
	if ((ret = px_vk_buffer_create(vk, 256, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, PX_BUFFER_PARAMS,
				       &vk->dummy, &vk->dummy_memory, NULL)))
		goto err;

	px_log_info(
	    "%s: %s (%s, Vulkan %u.%u, queue family %u): %s; dma-buf import %s (as "
	    "VkImages with modifiers %s), host-memory import %s (alignment %llu; of read-only "
	    "mappings %s%s%s), opaque-fd import %s, sync_file semaphores: import %s, export %s",
	    vk->name, vk->props.deviceName,
	    vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? "CPU" : "GPU",
	    VK_API_VERSION_MAJOR(vk->props.apiVersion), VK_API_VERSION_MINOR(vk->props.apiVersion),
	    vk->queue_family, vk->why, vk->exts.EXT_external_memory_dma_buf ? "yes" : "no",
	    vk->exts.EXT_image_drm_format_modifier ? "yes" : "no", vk->host_import ? "yes" : "no",
	    (unsigned long long)vk->host_alignment, vk->host_import_readonly ? "yes" : "no",
	    vk->host_import_readonly ? "" : ": ",
	    vk->host_import_readonly ? "" : vk->host_why_readonly, vk->opaque_import ? "yes" : "no",
	    vk->semaphore_sync_fd ? "yes" : "no", vk->semaphore_sync_fd_export ? "yes" : "no");
	*out = vk;
	return 0;
err:
	px_vk_destroy(vk);
	return ret;
}

PX_API int px_vk_create_sized(size_t size, const struct px_vk_params *params, struct px_vk **out)
{
	struct px_vk_params ours;
	if (out)
		*out = NULL;
	if (params) {
		int ret = px_abi_in(&ours, sizeof(ours), params, size,
				    PX_SIZE_THROUGH(struct px_vk_params, validation),
				    "px_vk_create: struct px_vk_params");
		if (ret)
			return ret;
	}
	return vk_create_impl(params ? &ours : NULL, out);
}

/* ---- memory */

int px_vk_memory_type(const struct px_vk *vk, uint32_t bits, VkMemoryPropertyFlags flags)
{
	for (uint32_t i = 0; i < vk->mem_props.memoryTypeCount; i++)
		if ((bits & (1u << i)) &&
		    (vk->mem_props.memoryTypes[i].propertyFlags & flags) == flags)
			return (int)i;
	return -1;
}

/* The memory types to try for `use`, best first: each entry is a set of
 * flags a type must have and a set it must not have. */
static const struct {
	VkMemoryPropertyFlags want, avoid;
} use_order[][3] = {
    [PX_BUFFER_UPLOAD] = {{VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
			VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT},
		       {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
			VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT},
		       {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
			0}},
    [PX_BUFFER_READBACK] =
	{{VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
	      VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
	  0},
	 {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
	  VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT},
	 {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0}},
    [PX_BUFFER_PARAMS] = {{VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
			    VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
			0},
		       {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
			0},
		       {0, 0}},
};

int px_vk_buffer_create(struct px_vk *vk, uint64_t size, VkBufferUsageFlags usage, enum buffer_use use,
			VkBuffer *buffer, VkDeviceMemory *memory, void **map)
{
	VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				 .size = size,
				 .usage = usage,
				 .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
	VkResult r = vkCreateBuffer(vk->device, &bi, NULL, buffer);
	if (r != VK_SUCCESS) {
		return px_vk_fail(vk->name, r, "vkCreateBuffer(%llu bytes)",
				  (unsigned long long)size);
	}
	vk->stats.allocations++;
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(vk->device, *buffer, &req);
	uint32_t tried = 0; /* memory types tried */
	r = VK_ERROR_FEATURE_NOT_PRESENT;
	for (size_t k = 0; k < PX_ARRAY_SIZE(use_order[use]) && r != VK_SUCCESS; k++) {
		VkMemoryPropertyFlags want = use_order[use][k].want;
		if (!want)
			break;
		for (uint32_t t = 0; t < vk->mem_props.memoryTypeCount && r != VK_SUCCESS; t++) {
			VkMemoryPropertyFlags f = vk->mem_props.memoryTypes[t].propertyFlags;
			if (!(req.memoryTypeBits & (1u << t)) || (tried & (1u << t)) ||
			    (f & want) != want || (f & use_order[use][k].avoid))
				continue;
			tried |= 1u << t;
			VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
						   .allocationSize = req.size,
						   .memoryTypeIndex = t};
			r = vkAllocateMemory(vk->device, &ai, NULL, memory);
			if (r != VK_SUCCESS) {
				*memory = VK_NULL_HANDLE; /* undefined after a failure */
				px_log_warn("%s: vkAllocateMemory(%llu bytes, memory type %u): %s",
					    vk->name, (unsigned long long)req.size, t,
					    px_vk_result_name(r));
			}
		}
	}
	if (r != VK_SUCCESS) {
		if (!tried)
			px_log_error("%s: no host-visible, coherent memory for a buffer "
				     "(memoryTypeBits %#x)",
				     vk->name, req.memoryTypeBits);
		else
			px_log_error("%s: a buffer of %llu bytes: every host-visible memory type "
				     "refused (%#x tried)",
				     vk->name, (unsigned long long)req.size, tried);
		goto err_buffer;
	}
	vk->stats.allocations++;
	if ((r = vkBindBufferMemory(vk->device, *buffer, *memory, 0)) != VK_SUCCESS) {
		px_log_error("%s: vkBindBufferMemory: %s", vk->name, px_vk_result_name(r));
		goto err_memory;
	}
	if (map && (r = vkMapMemory(vk->device, *memory, 0, VK_WHOLE_SIZE, 0, map)) != VK_SUCCESS) {
		px_log_error("%s: vkMapMemory: %s", vk->name, px_vk_result_name(r));
		goto err_memory;
	}
	return 0;
err_memory:
	vkFreeMemory(vk->device, *memory, NULL);
	*memory = VK_NULL_HANDLE;
err_buffer:
	vkDestroyBuffer(vk->device, *buffer, NULL);
	*buffer = VK_NULL_HANDLE;
	return px_vk_errno(r);
}

void px_vk_buffer_destroy(struct px_vk *vk, VkBuffer *buffer, VkDeviceMemory *memory)
{
	if (*buffer)
		vkDestroyBuffer(vk->device, *buffer, NULL);
	if (*memory)
		vkFreeMemory(vk->device, *memory, NULL);
	*buffer = VK_NULL_HANDLE;
	*memory = VK_NULL_HANDLE;
}

int px_vk_wait_fence_cpu(int fence, int timeout_ms)
{
	uint64_t deadline = px_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		struct pollfd p = {.fd = fence, .events = POLLIN};
		uint64_t now = px_now_ns();
		int ret = now < deadline ? poll(&p, 1, (int)((deadline - now) / 1000000 + 1)) : 0;
		if (ret > 0)
			return (p.revents & POLLNVAL) ? -EBADF : 0;
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		return -ETIMEDOUT;
	}
}

/* ---- the rest of the API */

PX_API void px_vk_destroy(struct px_vk *vk)
{
	if (!vk)
		return;
	if (vk->device) {
		px_vk_drop_pool(vk);
		px_vk_transform_finish(vk);
		px_vk_buffer_destroy(vk, &vk->dummy, &vk->dummy_memory);
		if (!vk->adopted)
			vkDestroyDevice(vk->device, NULL);
	}
	if (vk->messenger)
		vk->procs.vkDestroyDebugUtilsMessengerEXT(vk->instance, vk->messenger, NULL);
	if (vk->instance && !vk->adopted)
		vkDestroyInstance(vk->instance, NULL);
	free(vk);
}

PX_API VkInstance px_vk_get_instance(const struct px_vk *vk)
{
	return vk ? vk->instance : VK_NULL_HANDLE;
}

PX_API VkPhysicalDevice px_vk_get_physical_device(const struct px_vk *vk)
{
	return vk ? vk->phys : VK_NULL_HANDLE;
}

PX_API VkDevice px_vk_get_device(const struct px_vk *vk)
{
	return vk ? vk->device : VK_NULL_HANDLE;
}

static int vk_get_info_impl(const struct px_vk *vk, struct px_vk_info *info)
{
	if (!vk || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	px_strlcpy(info->device_name, vk->props.deviceName, sizeof(info->device_name));
	info->device_type = vk->props.deviceType;
	info->api_version = vk->props.apiVersion;
	info->queue_family = vk->queue_family;
	info->adopted = vk->adopted;
	info->software = vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
	info->primary_node = vk->primary_node;
	info->render_node = vk->render_node;
	info->dmabuf_import = vk->exts.EXT_external_memory_dma_buf;
	info->vkimage_import =
	    vk->exts.EXT_image_drm_format_modifier && vk->exts.EXT_external_memory_dma_buf;
	/* As variant_refusal() in vulkan_transform.c: views of two planes of
	 * every image bound at once. */
	info->vkimage_transforms =
	    info->vkimage_import && vk->sampled_image_indexing &&
	    vk->props.limits.maxPerStageDescriptorSampledImages >= 2 * PX_MAX_IMAGES;
	info->host_import = vk->host_import;
	info->host_import_readonly = vk->host_import_readonly;
	info->host_pointer_alignment = vk->host_alignment;
	info->opaque_fd_import = vk->opaque_import;
	memcpy(info->device_uuid, vk->device_uuid, VK_UUID_SIZE);
	memcpy(info->driver_uuid, vk->driver_uuid, VK_UUID_SIZE);
	info->semaphore_sync_fd = vk->semaphore_sync_fd;
	info->semaphore_sync_fd_export = vk->semaphore_sync_fd_export;
	info->image_output = vk->image_write_without_format;
	info->validation = vk->validation;
	info->why = vk->why;
	return 0;
}

PX_API int px_vk_get_info_sized(size_t size, const struct px_vk *vk, struct px_vk_info *info)
{
	struct px_vk_info ours;
	if (!info)
		return -EINVAL;
	int ret = vk_get_info_impl(vk, &ours);
	if (ret)
		return ret;
	return px_abi_out(info, size, PX_SIZE_THROUGH(struct px_vk_info, why), &ours, sizeof(ours),
			  "px_vk_get_info: struct px_vk_info");
}

static int vk_get_stats_impl(const struct px_vk *vk, struct px_vk_stats *stats)
{
	if (!vk || !stats)
		return -EINVAL;
	*stats = vk->stats;
	struct px_vk *v = (struct px_vk *)vk; /* C11's atomic_load takes no const */
	stats->validation_errors = atomic_load(&v->validation_errors);
	stats->validation_warnings = atomic_load(&v->validation_warnings);
	return 0;
}

PX_API int px_vk_get_stats_sized(size_t size, const struct px_vk *vk, struct px_vk_stats *stats)
{
	struct px_vk_stats ours;
	if (!stats)
		return -EINVAL;
	int ret = vk_get_stats_impl(vk, &ours);
	if (ret)
		return ret;
	return px_abi_out(stats, size, PX_SIZE_THROUGH(struct px_vk_stats, cached), &ours,
			  sizeof(ours), "px_vk_get_stats: struct px_vk_stats");
}
