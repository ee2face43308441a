/* SPDX-License-Identifier: MIT */
/*
 * VK_LAYER_PIXSHARE_nvidia_rules: a test layer that imposes on lavapipe the
 * rules NVIDIA's driver (580, an H200, headless, no /dev/dri) showed, so that
 * CI takes the paths such a machine takes. A test fixture: never linked into
 * the library. Each rule is one small function below; what it does not
 * intercept passes through untouched.
 *
 *   a. no VK_EXT_external_memory_dma_buf
 *   b. no sync_file semaphores or fences
 *   c. host-pointer imports of read-only mappings fail
 *   d. a discrete GPU's memory types, all backed by lavapipe's one
 *   e. a discrete GPU, named "... (nvidia rules)", of NVIDIA's driver
 *      (driverID VK_DRIVER_ID_NVIDIA_PROPRIETARY, which applications key
 *      NVIDIA's quirks on)
 *   f. after a refused host-pointer import, the device allocates no more
 *      memory of the device-local types and of the type without flags: only
 *      system memory that the host sees (tests/probe_vulkan on the H200, one
 *      mapping per process: types 0, 1 and 4 failed afterwards, 2 and 3 did
 *      not; whether other devices of the process were spoiled too was not
 *      asked: here the device alone is)
 *
 * The application's structs are never modified: what changes is copied.
 * Dispatch tables are kept per instance and per device, keyed by the
 * loader's dispatch pointer (the first word of every dispatchable handle).
 */
#define VK_NO_PROTOTYPES
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vulkan/vulkan.h>
#include <vulkan/vk_layer.h>

#define LAYER_NAME "VK_LAYER_PIXSHARE_nvidia_rules"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- what is called down the chain */

/* clang-format off */
#define INSTANCE_PROCS(X)                                                                          \
	X(DestroyInstance)                                                                         \
	X(CreateDevice)                                                                            \
	X(EnumerateDeviceExtensionProperties)                                                      \
	X(GetPhysicalDeviceProperties)                                                             \
	X(GetPhysicalDeviceProperties2)                                                            \
	X(GetPhysicalDeviceProperties2KHR)                                                         \
	X(GetPhysicalDeviceMemoryProperties)                                                       \
	X(GetPhysicalDeviceMemoryProperties2)                                                      \
	X(GetPhysicalDeviceMemoryProperties2KHR)                                                   \
	X(GetPhysicalDeviceExternalBufferProperties)                                               \
	X(GetPhysicalDeviceExternalBufferPropertiesKHR)                                            \
	X(GetPhysicalDeviceImageFormatProperties2)                                                 \
	X(GetPhysicalDeviceImageFormatProperties2KHR)                                              \
	X(GetPhysicalDeviceExternalSemaphoreProperties)                                            \
	X(GetPhysicalDeviceExternalSemaphorePropertiesKHR)                                         \
	X(GetPhysicalDeviceExternalFenceProperties)                                                \
	X(GetPhysicalDeviceExternalFencePropertiesKHR)

#ifdef VK_KHR_map_memory2
#define MAP_MEMORY2_PROCS(X) X(MapMemory2KHR)
#else
#define MAP_MEMORY2_PROCS(X)
#endif

#define DEVICE_PROCS(X)                                                                            \
	X(DestroyDevice)                                                                           \
	X(AllocateMemory)                                                                          \
	X(FreeMemory)                                                                              \
	X(MapMemory)                                                                               \
	MAP_MEMORY2_PROCS(X)                                                                       \
	X(GetBufferMemoryRequirements)                                                             \
	X(GetBufferMemoryRequirements2)                                                            \
	X(GetBufferMemoryRequirements2KHR)                                                         \
	X(GetImageMemoryRequirements)                                                              \
	X(GetImageMemoryRequirements2)                                                             \
	X(GetImageMemoryRequirements2KHR)                                                          \
	X(GetDeviceBufferMemoryRequirements)                                                       \
	X(GetDeviceBufferMemoryRequirementsKHR)                                                    \
	X(GetDeviceImageMemoryRequirements)                                                        \
	X(GetDeviceImageMemoryRequirementsKHR)                                                     \
	X(GetMemoryFdPropertiesKHR)                                                                \
	X(GetMemoryHostPointerPropertiesEXT)                                                       \
	X(ImportSemaphoreFdKHR)                                                                    \
	X(GetSemaphoreFdKHR)                                                                       \
	X(ImportFenceFdKHR)                                                                        \
	X(GetFenceFdKHR)
/* clang-format on */

#define DECLARE_PROC(name) PFN_vk##name name;

/* Where the next layer lacks an extension's alias of a core entry point (its
 * extension not enabled, the core one there), the core one serves. */
#define ALIAS_OR_CORE(procs, core)                                                                 \
	do {                                                                                       \
		if (!(procs)->core##KHR)                                                           \
			(procs)->core##KHR = (procs)->core;                                        \
	} while (0)

/* ---- the fake memory layout (rule d) */

enum { HEAP_VRAM, HEAP_SYSTEM, HEAP_BAR, HEAP_COUNT };

#define BAR_SIZE (256ull << 20)

static const VkMemoryType fake_types[] = {
    /* NVIDIA lists a type without flags first (buffers may use it). */
    {0, HEAP_SYSTEM},
    {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, HEAP_VRAM},
    {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, HEAP_SYSTEM},
    {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
	 VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
     HEAP_SYSTEM},
    {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
	 VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
     HEAP_BAR},
};

/* What buffers and images may use: every type (the H200's buffers did). */
#define FAKE_RESOURCE_BITS 0x1fu
/* What host pointers import as: the host-visible types of system memory. */
#define FAKE_HOST_POINTER_BITS 0x0cu

/* The real type that backs every fake one, and the fake heaps' sizes. */
struct layout {
	int backing; /* -1: the driver has no host-visible type; no translation */
	VkDeviceSize heap_size[HEAP_COUNT];
};

/* ---- per-instance, per-device and per-allocation state */

struct instance {
	struct instance *link;
	void *key;
	VkInstance handle;
	PFN_vkGetInstanceProcAddr gipa;
	struct {
		INSTANCE_PROCS(DECLARE_PROC)
	} next;
};

struct device {
	struct device *link;
	void *key;
	struct layout layout;
	_Atomic bool spoiled; /* rule f: a host-pointer import was refused */
	PFN_vkGetDeviceProcAddr gdpa;
	struct {
		DEVICE_PROCS(DECLARE_PROC)
	} next;
};

/* The fake type of each VkDeviceMemory, for vkMapMemory. */
struct memory {
	struct memory *link;
	void *device_key;
	VkDeviceMemory handle;
	uint32_t fake_type;
};

#define MEMORY_BUCKETS 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct instance *instances;
static struct device *devices;
static struct memory *memories[MEMORY_BUCKETS];

static void *dispatch_key(const void *handle)
{
	return *(void *const *)handle;
}

static struct instance *instance_get(const void *handle)
{
	void *key = dispatch_key(handle);
	pthread_mutex_lock(&lock);
	struct instance *i = instances;
	while (i && i->key != key)
		i = i->link;
	pthread_mutex_unlock(&lock);
	return i;
}

static struct device *device_get(VkDevice handle)
{
	void *key = dispatch_key(handle);
	pthread_mutex_lock(&lock);
	struct device *d = devices;
	while (d && d->key != key)
		d = d->link;
	pthread_mutex_unlock(&lock);
	return d;
}

static struct memory **memory_bucket(VkDeviceMemory handle)
{
	uint64_t h = (uint64_t)handle;
	h ^= h >> 29;
	h *= 0x9e3779b97f4a7c15ull;
	return &memories[h >> 56];
}

static bool memory_track(void *device_key, VkDeviceMemory handle, uint32_t fake_type)
{
	struct memory *m = malloc(sizeof(*m));
	if (!m)
		return false;
	*m = (struct memory){.device_key = device_key, .handle = handle, .fake_type = fake_type};
	pthread_mutex_lock(&lock);
	struct memory **b = memory_bucket(handle);
	m->link = *b;
	*b = m;
	pthread_mutex_unlock(&lock);
	return true;
}

static void memory_forget(void *device_key, VkDeviceMemory handle)
{
	pthread_mutex_lock(&lock);
	for (struct memory **p = memory_bucket(handle); *p; p = &(*p)->link) {
		struct memory *m = *p;
		if (m->handle == handle && m->device_key == device_key) {
			*p = m->link;
			free(m);
			break;
		}
	}
	pthread_mutex_unlock(&lock);
}

/* The fake type of `handle`, or -1 where it is not known. */
static int memory_fake_type(void *device_key, VkDeviceMemory handle)
{
	int t = -1;
	pthread_mutex_lock(&lock);
	for (struct memory *m = *memory_bucket(handle); m; m = m->link)
		if (m->handle == handle && m->device_key == device_key) {
			t = (int)m->fake_type;
			break;
		}
	pthread_mutex_unlock(&lock);
	return t;
}

/* Called with the lock held. */
static void memory_forget_device(void *device_key)
{
	for (size_t i = 0; i < MEMORY_BUCKETS; i++) {
		struct memory **p = &memories[i];
		while (*p) {
			struct memory *m = *p;
			if (m->device_key == device_key) {
				*p = m->link;
				free(m);
			} else {
				p = &m->link;
			}
		}
	}
}

static const void *chain_find(const void *chain, VkStructureType type)
{
	for (const VkBaseInStructure *s = chain; s; s = s->pNext)
		if (s->sType == type)
			return s;
	return NULL;
}

/* ---- rule a: no VK_EXT_external_memory_dma_buf */

static const char *const hidden_extensions[] = {
    VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME,
};

static bool rule_extension_hidden(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(hidden_extensions); i++)
		if (!strcmp(name, hidden_extensions[i]))
			return true;
	return false;
}

static VkResult rule_device_extensions(const VkDeviceCreateInfo *info)
{
	for (uint32_t i = 0; i < info->enabledExtensionCount; i++)
		if (rule_extension_hidden(info->ppEnabledExtensionNames[i]))
			return VK_ERROR_EXTENSION_NOT_PRESENT;
	return VK_SUCCESS;
}

/* Whether a query about `type` is answered "not supported" without asking. */
static bool rule_memory_handle_refused(VkExternalMemoryHandleTypeFlags type)
{
	return type & VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT;
}

static void rule_memory_handle_props(VkExternalMemoryProperties *p)
{
	p->exportFromImportedHandleTypes &= ~VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT;
	p->compatibleHandleTypes &= ~VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT;
}

/* Imports and exports of dma-bufs in vkAllocateMemory's chain. */
static VkResult rule_memory_handles(const VkMemoryAllocateInfo *info)
{
	const VkImportMemoryFdInfoKHR *imp =
	    chain_find(info->pNext, VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR);
	const VkExportMemoryAllocateInfo *exp =
	    chain_find(info->pNext, VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO);
	if ((imp && rule_memory_handle_refused(imp->handleType)) ||
	    (exp && rule_memory_handle_refused(exp->handleTypes)))
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	return VK_SUCCESS;
}

/* ---- rule b: no sync_file semaphores or fences */

static bool rule_semaphore_handle_refused(VkExternalSemaphoreHandleTypeFlags type)
{
	return type & VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT;
}

static bool rule_fence_handle_refused(VkExternalFenceHandleTypeFlags type)
{
	return type & VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT;
}

static void rule_semaphore_props(VkExternalSemaphoreHandleTypeFlagBits type,
				 VkExternalSemaphoreProperties *p)
{
	if (rule_semaphore_handle_refused(type)) {
		p->exportFromImportedHandleTypes = 0;
		p->compatibleHandleTypes = 0;
		p->externalSemaphoreFeatures = 0;
		return;
	}
	p->exportFromImportedHandleTypes &= ~VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT;
	p->compatibleHandleTypes &= ~VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT;
}

static void rule_fence_props(VkExternalFenceHandleTypeFlagBits type, VkExternalFenceProperties *p)
{
	if (rule_fence_handle_refused(type)) {
		p->exportFromImportedHandleTypes = 0;
		p->compatibleHandleTypes = 0;
		p->externalFenceFeatures = 0;
		return;
	}
	p->exportFromImportedHandleTypes &= ~VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT;
	p->compatibleHandleTypes &= ~VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT;
}

/* ---- rule c: host-pointer imports of read-only mappings fail */

/* Whether every page of [start, end) is mapped writable, by /proc/self/maps,
 * whose lines are sorted by address; the range may span several. */
static bool range_writable(uintptr_t start, uintptr_t end)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f) {
		fprintf(stderr, LAYER_NAME ": /proc/self/maps: %s; host pointer let through\n",
			strerror(errno));
		return true;
	}
	char *line = NULL;
	size_t cap = 0;
	uintptr_t pos = start;
	bool writable = false;
	while (getline(&line, &cap, f) > 0) {
		unsigned long lo, hi;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3 || strlen(perms) != 4)
			break; /* cannot tell: refused */
		if (hi <= pos)
			continue;
		if (lo > pos || perms[1] != 'w')
			break; /* a hole, or not writable */
		pos = hi;
		if (pos >= end) {
			writable = true;
			break;
		}
	}
	free(line);
	fclose(f);
	return writable;
}

/*
 * Whether the driver takes `size` bytes at `pointer` as host memory. NVIDIA's
 * refused read-only mappings (VK_ERROR_OUT_OF_DEVICE_MEMORY from
 * vkAllocateMemory, though vkGetMemoryHostPointerPropertiesEXT succeeded), and
 * took writable ones: private anonymous memory and shared memfds alike.
 */
static bool host_pointer_rule(const void *pointer, VkDeviceSize size)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)pointer & ~(page - 1);
	uintptr_t last = (uintptr_t)pointer + (uintptr_t)size;
	if (!size || size > UINTPTR_MAX || last < (uintptr_t)pointer || last > UINTPTR_MAX - page)
		return false;
	uintptr_t end = (last + page - 1) & ~(page - 1);
	return range_writable(start, end);
}

static VkResult rule_host_pointer(struct device *d, const VkMemoryAllocateInfo *info)
{
	const VkImportMemoryHostPointerInfoEXT *imp =
	    chain_find(info->pNext, VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT);
	if (imp && !host_pointer_rule(imp->pHostPointer, info->allocationSize)) {
		d->spoiled = true;
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	}
	return VK_SUCCESS;
}

/* ---- rule f: after a refused host-pointer import, system memory only */

static VkResult rule_spoiled(const struct device *d, uint32_t fake_type)
{
	const VkMemoryType *t = &fake_types[fake_type];
	if (d->spoiled && (t->heapIndex != HEAP_SYSTEM ||
			   !(t->propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)))
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	return VK_SUCCESS;
}

/* ---- rule d: a discrete GPU's memory types */

static struct layout layout_of(const VkPhysicalDeviceMemoryProperties *real)
{
	struct layout l = {.backing = -1};
	const VkMemoryPropertyFlags want =
	    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	for (uint32_t i = 0; i < real->memoryTypeCount; i++)
		if ((real->memoryTypes[i].propertyFlags & want) == want) {
			l.backing = (int)i;
			break;
		}
	if (l.backing < 0)
		return l;
	VkDeviceSize size = real->memoryHeaps[real->memoryTypes[l.backing].heapIndex].size;
	l.heap_size[HEAP_VRAM] = size;
	l.heap_size[HEAP_SYSTEM] = size;
	l.heap_size[HEAP_BAR] = size < BAR_SIZE ? size : BAR_SIZE;
	return l;
}

static void rule_memory_properties(VkPhysicalDeviceMemoryProperties *p, void *chain)
{
	struct layout l = layout_of(p);
	if (l.backing < 0)
		return;
	uint32_t real_heap = p->memoryTypes[l.backing].heapIndex;
	VkPhysicalDeviceMemoryBudgetPropertiesEXT *budget = (void *)chain_find(
	    chain, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT);
	if (budget) {
		VkDeviceSize b = budget->heapBudget[real_heap], u = budget->heapUsage[real_heap];
		memset(budget->heapBudget, 0, sizeof(budget->heapBudget));
		memset(budget->heapUsage, 0, sizeof(budget->heapUsage));
		for (uint32_t h = 0; h < HEAP_COUNT; h++) {
			budget->heapBudget[h] = b < l.heap_size[h] ? b : l.heap_size[h];
			budget->heapUsage[h] = h == HEAP_VRAM ? u : 0;
		}
	}
	memset(p, 0, sizeof(*p));
	p->memoryHeapCount = HEAP_COUNT;
	for (uint32_t h = 0; h < HEAP_COUNT; h++) {
		p->memoryHeaps[h].size = l.heap_size[h];
		p->memoryHeaps[h].flags = h == HEAP_SYSTEM ? 0 : VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
	}
	p->memoryTypeCount = ARRAY_LEN(fake_types);
	memcpy(p->memoryTypes, fake_types, sizeof(fake_types));
}

/* memoryTypeBits: the backing type's bit becomes `fake`. */
static uint32_t rule_memory_bits(const struct device *d, uint32_t real, uint32_t fake)
{
	if (d->layout.backing < 0)
		return real;
	return real & (1u << d->layout.backing) ? fake : 0;
}

/* vkAllocateMemory's type index, fake to real, with the fake heaps' sizes. */
static VkResult rule_memory_type(const struct device *d, const VkMemoryAllocateInfo *info,
				 uint32_t *real)
{
	uint32_t t = info->memoryTypeIndex;
	if (t >= ARRAY_LEN(fake_types) ||
	    info->allocationSize > d->layout.heap_size[fake_types[t].heapIndex])
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	*real = (uint32_t)d->layout.backing;
	return VK_SUCCESS;
}

static VkResult rule_map(const struct device *d, VkDeviceMemory memory)
{
	int t = memory_fake_type(d->key, memory);
	if (t >= 0 && !(fake_types[t].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
		return VK_ERROR_MEMORY_MAP_FAILED;
	return VK_SUCCESS;
}

/* ---- rule e: a discrete GPU, named so that logs show the layer */

static void rule_device_identity(VkPhysicalDeviceProperties *p)
{
	static const char suffix[] = " (nvidia rules)";
	p->deviceType = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
	size_t n = strnlen(p->deviceName, VK_MAX_PHYSICAL_DEVICE_NAME_SIZE - 1);
	if (n > VK_MAX_PHYSICAL_DEVICE_NAME_SIZE - sizeof(suffix))
		n = VK_MAX_PHYSICAL_DEVICE_NAME_SIZE - sizeof(suffix);
	memcpy(p->deviceName + n, suffix, sizeof(suffix));
}

/* The driver's identity in Properties2's chain: NVIDIA's proprietary driver,
 * which is what applications (pixshare among them) key NVIDIA's quirks on. */
static void rule_driver_id(void *chain)
{
	VkPhysicalDeviceDriverProperties *dp =
	    (void *)chain_find(chain, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES);
	VkPhysicalDeviceVulkan12Properties *v12 =
	    (void *)chain_find(chain, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES);
	if (dp)
		dp->driverID = VK_DRIVER_ID_NVIDIA_PROPRIETARY;
	if (v12)
		v12->driverID = VK_DRIVER_ID_NVIDIA_PROPRIETARY;
}

/* ---- instance entry points */

static VKAPI_ATTR VkResult VKAPI_CALL layer_CreateInstance(const VkInstanceCreateInfo *info,
							   const VkAllocationCallbacks *alloc,
							   VkInstance *out)
{
	VkLayerInstanceCreateInfo *link = (void *)info->pNext;
	while (link && !(link->sType == VK_STRUCTURE_TYPE_LOADER_INSTANCE_CREATE_INFO &&
			 link->function == VK_LAYER_LINK_INFO))
		link = (void *)link->pNext;
	if (!link || !link->u.pLayerInfo)
		return VK_ERROR_INITIALIZATION_FAILED;
	PFN_vkGetInstanceProcAddr gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
	PFN_vkCreateInstance create = (PFN_vkCreateInstance)gipa(NULL, "vkCreateInstance");
	if (!create)
		return VK_ERROR_INITIALIZATION_FAILED;
	struct instance *inst = calloc(1, sizeof(*inst));
	if (!inst)
		return VK_ERROR_OUT_OF_HOST_MEMORY;

	/* The loader's own struct, which each layer advances for the next. */
	link->u.pLayerInfo = link->u.pLayerInfo->pNext;
	VkResult r = create(info, alloc, out);
	if (r != VK_SUCCESS) {
		free(inst);
		return r;
	}
	inst->key = dispatch_key(*out);
	inst->handle = *out;
	inst->gipa = gipa;
#define LOAD_PROC(name) inst->next.name = (PFN_vk##name)gipa(*out, "vk" #name);
	INSTANCE_PROCS(LOAD_PROC)
#undef LOAD_PROC
	ALIAS_OR_CORE(&inst->next, GetPhysicalDeviceProperties2);
	ALIAS_OR_CORE(&inst->next, GetPhysicalDeviceMemoryProperties2);
	ALIAS_OR_CORE(&inst->next, GetPhysicalDeviceExternalBufferProperties);
	ALIAS_OR_CORE(&inst->next, GetPhysicalDeviceImageFormatProperties2);
	ALIAS_OR_CORE(&inst->next, GetPhysicalDeviceExternalSemaphoreProperties);
	ALIAS_OR_CORE(&inst->next, GetPhysicalDeviceExternalFenceProperties);
	pthread_mutex_lock(&lock);
	inst->link = instances;
	instances = inst;
	pthread_mutex_unlock(&lock);
	return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL layer_DestroyInstance(VkInstance instance,
							const VkAllocationCallbacks *alloc)
{
	if (!instance)
		return;
	void *key = dispatch_key(instance);
	pthread_mutex_lock(&lock);
	struct instance *inst = NULL;
	for (struct instance **p = &instances; *p; p = &(*p)->link)
		if ((*p)->key == key) {
			inst = *p;
			*p = inst->link;
			break;
		}
	pthread_mutex_unlock(&lock);
	if (!inst)
		return;
	inst->next.DestroyInstance(instance, alloc);
	free(inst);
}

static VKAPI_ATTR VkResult VKAPI_CALL layer_EnumerateDeviceExtensionProperties(
    VkPhysicalDevice phys, const char *layer, uint32_t *count, VkExtensionProperties *props)
{
	if (layer && !strcmp(layer, LAYER_NAME)) {
		*count = 0;
		return VK_SUCCESS;
	}
	struct instance *inst = instance_get(phys);
	if (layer)
		return inst->next.EnumerateDeviceExtensionProperties(phys, layer, count, props);

	uint32_t n = 0;
	VkResult r = inst->next.EnumerateDeviceExtensionProperties(phys, NULL, &n, NULL);
	if (r != VK_SUCCESS)
		return r;
	VkExtensionProperties *all = calloc(n ? n : 1, sizeof(*all));
	if (!all)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	r = inst->next.EnumerateDeviceExtensionProperties(phys, NULL, &n, all);
	if (r < 0) {
		free(all);
		return r;
	}
	uint32_t kept = 0;
	for (uint32_t i = 0; i < n; i++)
		if (!rule_extension_hidden(all[i].extensionName))
			all[kept++] = all[i];
	if (!props) {
		*count = kept;
		free(all);
		return VK_SUCCESS;
	}
	uint32_t copied = *count < kept ? *count : kept;
	memcpy(props, all, copied * sizeof(*all));
	*count = copied;
	free(all);
	return copied < kept ? VK_INCOMPLETE : VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL layer_CreateDevice(VkPhysicalDevice phys,
							 const VkDeviceCreateInfo *info,
							 const VkAllocationCallbacks *alloc,
							 VkDevice *out)
{
	struct instance *inst = instance_get(phys);
	VkLayerDeviceCreateInfo *link = (void *)info->pNext;
	while (link && !(link->sType == VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO &&
			 link->function == VK_LAYER_LINK_INFO))
		link = (void *)link->pNext;
	if (!inst || !link || !link->u.pLayerInfo)
		return VK_ERROR_INITIALIZATION_FAILED;
	VkResult r = rule_device_extensions(info);
	if (r != VK_SUCCESS)
		return r;
	PFN_vkGetInstanceProcAddr gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
	PFN_vkGetDeviceProcAddr gdpa = link->u.pLayerInfo->pfnNextGetDeviceProcAddr;
	PFN_vkCreateDevice create = (PFN_vkCreateDevice)gipa(inst->handle, "vkCreateDevice");
	if (!create)
		return VK_ERROR_INITIALIZATION_FAILED;
	struct device *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return VK_ERROR_OUT_OF_HOST_MEMORY;

	link->u.pLayerInfo = link->u.pLayerInfo->pNext;
	r = create(phys, info, alloc, out);
	if (r != VK_SUCCESS) {
		free(dev);
		return r;
	}
	dev->key = dispatch_key(*out);
	dev->gdpa = gdpa;
#define LOAD_PROC(name) dev->next.name = (PFN_vk##name)gdpa(*out, "vk" #name);
	DEVICE_PROCS(LOAD_PROC)
#undef LOAD_PROC
	ALIAS_OR_CORE(&dev->next, GetBufferMemoryRequirements2);
	ALIAS_OR_CORE(&dev->next, GetImageMemoryRequirements2);
	ALIAS_OR_CORE(&dev->next, GetDeviceBufferMemoryRequirements);
	ALIAS_OR_CORE(&dev->next, GetDeviceImageMemoryRequirements);
	VkPhysicalDeviceMemoryProperties mp;
	inst->next.GetPhysicalDeviceMemoryProperties(phys, &mp);
	dev->layout = layout_of(&mp);
	pthread_mutex_lock(&lock);
	dev->link = devices;
	devices = dev;
	pthread_mutex_unlock(&lock);
	return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL layer_GetPhysicalDeviceProperties(VkPhysicalDevice phys,
								    VkPhysicalDeviceProperties *p)
{
	instance_get(phys)->next.GetPhysicalDeviceProperties(phys, p);
	rule_device_identity(p);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetPhysicalDeviceProperties2(VkPhysicalDevice phys,
								     VkPhysicalDeviceProperties2 *p)
{
	instance_get(phys)->next.GetPhysicalDeviceProperties2(phys, p);
	rule_device_identity(&p->properties);
	rule_driver_id(p->pNext);
}

static VKAPI_ATTR void VKAPI_CALL
layer_GetPhysicalDeviceProperties2KHR(VkPhysicalDevice phys, VkPhysicalDeviceProperties2 *p)
{
	struct instance *inst = instance_get(phys);
	inst->next.GetPhysicalDeviceProperties2KHR(phys, p);
	rule_device_identity(&p->properties);
	rule_driver_id(p->pNext);
}

static VKAPI_ATTR void VKAPI_CALL
layer_GetPhysicalDeviceMemoryProperties(VkPhysicalDevice phys, VkPhysicalDeviceMemoryProperties *p)
{
	instance_get(phys)->next.GetPhysicalDeviceMemoryProperties(phys, p);
	rule_memory_properties(p, NULL);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetPhysicalDeviceMemoryProperties2(
    VkPhysicalDevice phys, VkPhysicalDeviceMemoryProperties2 *p)
{
	instance_get(phys)->next.GetPhysicalDeviceMemoryProperties2(phys, p);
	rule_memory_properties(&p->memoryProperties, p->pNext);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetPhysicalDeviceMemoryProperties2KHR(
    VkPhysicalDevice phys, VkPhysicalDeviceMemoryProperties2 *p)
{
	struct instance *inst = instance_get(phys);
	inst->next.GetPhysicalDeviceMemoryProperties2KHR(phys, p);
	rule_memory_properties(&p->memoryProperties, p->pNext);
}

static void external_buffer_properties(PFN_vkGetPhysicalDeviceExternalBufferProperties next,
				       VkPhysicalDevice phys,
				       const VkPhysicalDeviceExternalBufferInfo *info,
				       VkExternalBufferProperties *p)
{
	if (rule_memory_handle_refused(info->handleType)) {
		memset(&p->externalMemoryProperties, 0, sizeof(p->externalMemoryProperties));
		return;
	}
	next(phys, info, p);
	rule_memory_handle_props(&p->externalMemoryProperties);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetPhysicalDeviceExternalBufferProperties(
    VkPhysicalDevice phys, const VkPhysicalDeviceExternalBufferInfo *info,
    VkExternalBufferProperties *p)
{
	struct instance *inst = instance_get(phys);
	external_buffer_properties(inst->next.GetPhysicalDeviceExternalBufferProperties, phys, info,
				   p);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetPhysicalDeviceExternalBufferPropertiesKHR(
    VkPhysicalDevice phys, const VkPhysicalDeviceExternalBufferInfo *info,
    VkExternalBufferProperties *p)
{
	struct instance *inst = instance_get(phys);
	external_buffer_properties(inst->next.GetPhysicalDeviceExternalBufferPropertiesKHR, phys,
				   info, p);
}

static VkResult image_format_properties(PFN_vkGetPhysicalDeviceImageFormatProperties2 next,
					VkPhysicalDevice phys,
					const VkPhysicalDeviceImageFormatInfo2 *info,
					VkImageFormatProperties2 *p)
{
	const VkPhysicalDeviceExternalImageFormatInfo *ext =
	    chain_find(info->pNext, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO);
	if (ext && rule_memory_handle_refused(ext->handleType)) {
		memset(&p->imageFormatProperties, 0, sizeof(p->imageFormatProperties));
		return VK_ERROR_FORMAT_NOT_SUPPORTED;
	}
	VkResult r = next(phys, info, p);
	VkExternalImageFormatProperties *ep =
	    (void *)chain_find(p->pNext, VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES);
	if (r == VK_SUCCESS && ep)
		rule_memory_handle_props(&ep->externalMemoryProperties);
	return r;
}

static VKAPI_ATTR VkResult VKAPI_CALL layer_GetPhysicalDeviceImageFormatProperties2(
    VkPhysicalDevice phys, const VkPhysicalDeviceImageFormatInfo2 *info,
    VkImageFormatProperties2 *p)
{
	struct instance *inst = instance_get(phys);
	return image_format_properties(inst->next.GetPhysicalDeviceImageFormatProperties2, phys,
				       info, p);
}

static VKAPI_ATTR VkResult VKAPI_CALL layer_GetPhysicalDeviceImageFormatProperties2KHR(
    VkPhysicalDevice phys, const VkPhysicalDeviceImageFormatInfo2 *info,
    VkImageFormatProperties2 *p)
{
	struct instance *inst = instance_get(phys);
	return image_format_properties(inst->next.GetPhysicalDeviceImageFormatProperties2KHR, phys,
				       info, p);
}

static void external_semaphore_properties(PFN_vkGetPhysicalDeviceExternalSemaphoreProperties next,
					  VkPhysicalDevice phys,
					  const VkPhysicalDeviceExternalSemaphoreInfo *info,
					  VkExternalSemaphoreProperties *p)
{
	if (!rule_semaphore_handle_refused(info->handleType))
		next(phys, info, p);
	rule_semaphore_props(info->handleType, p);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetPhysicalDeviceExternalSemaphoreProperties(
    VkPhysicalDevice phys, const VkPhysicalDeviceExternalSemaphoreInfo *info,
    VkExternalSemaphoreProperties *p)
{
	struct instance *inst = instance_get(phys);
	external_semaphore_properties(inst->next.GetPhysicalDeviceExternalSemaphoreProperties, phys,
				      info, p);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetPhysicalDeviceExternalSemaphorePropertiesKHR(
    VkPhysicalDevice phys, const VkPhysicalDeviceExternalSemaphoreInfo *info,
    VkExternalSemaphoreProperties *p)
{
	struct instance *inst = instance_get(phys);
	external_semaphore_properties(inst->next.GetPhysicalDeviceExternalSemaphorePropertiesKHR,
				      phys, info, p);
}

static void external_fence_properties(PFN_vkGetPhysicalDeviceExternalFenceProperties next,
				      VkPhysicalDevice phys,
				      const VkPhysicalDeviceExternalFenceInfo *info,
				      VkExternalFenceProperties *p)
{
	if (!rule_fence_handle_refused(info->handleType))
		next(phys, info, p);
	rule_fence_props(info->handleType, p);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetPhysicalDeviceExternalFenceProperties(
    VkPhysicalDevice phys, const VkPhysicalDeviceExternalFenceInfo *info,
    VkExternalFenceProperties *p)
{
	struct instance *inst = instance_get(phys);
	external_fence_properties(inst->next.GetPhysicalDeviceExternalFenceProperties, phys, info,
				  p);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetPhysicalDeviceExternalFencePropertiesKHR(
    VkPhysicalDevice phys, const VkPhysicalDeviceExternalFenceInfo *info,
    VkExternalFenceProperties *p)
{
	struct instance *inst = instance_get(phys);
	external_fence_properties(inst->next.GetPhysicalDeviceExternalFencePropertiesKHR, phys,
				  info, p);
}

/* ---- device entry points */

static VKAPI_ATTR void VKAPI_CALL layer_DestroyDevice(VkDevice device,
						      const VkAllocationCallbacks *alloc)
{
	if (!device)
		return;
	void *key = dispatch_key(device);
	pthread_mutex_lock(&lock);
	struct device *dev = NULL;
	for (struct device **p = &devices; *p; p = &(*p)->link)
		if ((*p)->key == key) {
			dev = *p;
			*p = dev->link;
			break;
		}
	memory_forget_device(key);
	pthread_mutex_unlock(&lock);
	if (!dev)
		return;
	dev->next.DestroyDevice(device, alloc);
	free(dev);
}

static VKAPI_ATTR VkResult VKAPI_CALL layer_AllocateMemory(VkDevice device,
							   const VkMemoryAllocateInfo *info,
							   const VkAllocationCallbacks *alloc,
							   VkDeviceMemory *out)
{
	struct device *d = device_get(device);
	VkResult r;
	if ((r = rule_memory_handles(info)) != VK_SUCCESS ||
	    (r = rule_host_pointer(d, info)) != VK_SUCCESS)
		return r;
	if (d->layout.backing < 0)
		return d->next.AllocateMemory(device, info, alloc, out);
	VkMemoryAllocateInfo real = *info;
	if ((r = rule_memory_type(d, info, &real.memoryTypeIndex)) != VK_SUCCESS ||
	    (r = rule_spoiled(d, info->memoryTypeIndex)) != VK_SUCCESS)
		return r;
	r = d->next.AllocateMemory(device, &real, alloc, out);
	if (r == VK_SUCCESS && !memory_track(d->key, *out, info->memoryTypeIndex)) {
		d->next.FreeMemory(device, *out, alloc);
		*out = VK_NULL_HANDLE;
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	}
	return r;
}

static VKAPI_ATTR void VKAPI_CALL layer_FreeMemory(VkDevice device, VkDeviceMemory memory,
						   const VkAllocationCallbacks *alloc)
{
	struct device *d = device_get(device);
	if (memory)
		memory_forget(d->key, memory);
	d->next.FreeMemory(device, memory, alloc);
}

static VKAPI_ATTR VkResult VKAPI_CALL layer_MapMemory(VkDevice device, VkDeviceMemory memory,
						      VkDeviceSize offset, VkDeviceSize size,
						      VkMemoryMapFlags flags, void **data)
{
	struct device *d = device_get(device);
	VkResult r = rule_map(d, memory);
	if (r != VK_SUCCESS)
		return r;
	return d->next.MapMemory(device, memory, offset, size, flags, data);
}

#ifdef VK_KHR_map_memory2
static VKAPI_ATTR VkResult VKAPI_CALL layer_MapMemory2KHR(VkDevice device,
							  const VkMemoryMapInfoKHR *info,
							  void **data)
{
	struct device *d = device_get(device);
	VkResult r = rule_map(d, info->memory);
	if (r != VK_SUCCESS)
		return r;
	return d->next.MapMemory2KHR(device, info, data);
}
#endif

static VKAPI_ATTR void VKAPI_CALL layer_GetBufferMemoryRequirements(VkDevice device,
								    VkBuffer buffer,
								    VkMemoryRequirements *req)
{
	struct device *d = device_get(device);
	d->next.GetBufferMemoryRequirements(device, buffer, req);
	req->memoryTypeBits = rule_memory_bits(d, req->memoryTypeBits, FAKE_RESOURCE_BITS);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetBufferMemoryRequirements2(
    VkDevice device, const VkBufferMemoryRequirementsInfo2 *info, VkMemoryRequirements2 *req)
{
	struct device *d = device_get(device);
	d->next.GetBufferMemoryRequirements2(device, info, req);
	req->memoryRequirements.memoryTypeBits =
	    rule_memory_bits(d, req->memoryRequirements.memoryTypeBits, FAKE_RESOURCE_BITS);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetBufferMemoryRequirements2KHR(
    VkDevice device, const VkBufferMemoryRequirementsInfo2 *info, VkMemoryRequirements2 *req)
{
	struct device *d = device_get(device);
	d->next.GetBufferMemoryRequirements2KHR(device, info, req);
	req->memoryRequirements.memoryTypeBits =
	    rule_memory_bits(d, req->memoryRequirements.memoryTypeBits, FAKE_RESOURCE_BITS);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetImageMemoryRequirements(VkDevice device, VkImage image,
								   VkMemoryRequirements *req)
{
	struct device *d = device_get(device);
	d->next.GetImageMemoryRequirements(device, image, req);
	req->memoryTypeBits = rule_memory_bits(d, req->memoryTypeBits, FAKE_RESOURCE_BITS);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetImageMemoryRequirements2(
    VkDevice device, const VkImageMemoryRequirementsInfo2 *info, VkMemoryRequirements2 *req)
{
	struct device *d = device_get(device);
	d->next.GetImageMemoryRequirements2(device, info, req);
	req->memoryRequirements.memoryTypeBits =
	    rule_memory_bits(d, req->memoryRequirements.memoryTypeBits, FAKE_RESOURCE_BITS);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetImageMemoryRequirements2KHR(
    VkDevice device, const VkImageMemoryRequirementsInfo2 *info, VkMemoryRequirements2 *req)
{
	struct device *d = device_get(device);
	d->next.GetImageMemoryRequirements2KHR(device, info, req);
	req->memoryRequirements.memoryTypeBits =
	    rule_memory_bits(d, req->memoryRequirements.memoryTypeBits, FAKE_RESOURCE_BITS);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetDeviceBufferMemoryRequirements(
    VkDevice device, const VkDeviceBufferMemoryRequirements *info, VkMemoryRequirements2 *req)
{
	struct device *d = device_get(device);
	d->next.GetDeviceBufferMemoryRequirements(device, info, req);
	req->memoryRequirements.memoryTypeBits =
	    rule_memory_bits(d, req->memoryRequirements.memoryTypeBits, FAKE_RESOURCE_BITS);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetDeviceBufferMemoryRequirementsKHR(
    VkDevice device, const VkDeviceBufferMemoryRequirements *info, VkMemoryRequirements2 *req)
{
	struct device *d = device_get(device);
	d->next.GetDeviceBufferMemoryRequirementsKHR(device, info, req);
	req->memoryRequirements.memoryTypeBits =
	    rule_memory_bits(d, req->memoryRequirements.memoryTypeBits, FAKE_RESOURCE_BITS);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetDeviceImageMemoryRequirements(
    VkDevice device, const VkDeviceImageMemoryRequirements *info, VkMemoryRequirements2 *req)
{
	struct device *d = device_get(device);
	d->next.GetDeviceImageMemoryRequirements(device, info, req);
	req->memoryRequirements.memoryTypeBits =
	    rule_memory_bits(d, req->memoryRequirements.memoryTypeBits, FAKE_RESOURCE_BITS);
}

static VKAPI_ATTR void VKAPI_CALL layer_GetDeviceImageMemoryRequirementsKHR(
    VkDevice device, const VkDeviceImageMemoryRequirements *info, VkMemoryRequirements2 *req)
{
	struct device *d = device_get(device);
	d->next.GetDeviceImageMemoryRequirementsKHR(device, info, req);
	req->memoryRequirements.memoryTypeBits =
	    rule_memory_bits(d, req->memoryRequirements.memoryTypeBits, FAKE_RESOURCE_BITS);
}

static VKAPI_ATTR VkResult VKAPI_CALL layer_GetMemoryFdPropertiesKHR(
    VkDevice device, VkExternalMemoryHandleTypeFlagBits type, int fd, VkMemoryFdPropertiesKHR *p)
{
	struct device *d = device_get(device);
	if (rule_memory_handle_refused(type))
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	VkResult r = d->next.GetMemoryFdPropertiesKHR(device, type, fd, p);
	if (r == VK_SUCCESS)
		p->memoryTypeBits = rule_memory_bits(d, p->memoryTypeBits, FAKE_RESOURCE_BITS);
	return r;
}

static VKAPI_ATTR VkResult VKAPI_CALL
layer_GetMemoryHostPointerPropertiesEXT(VkDevice device, VkExternalMemoryHandleTypeFlagBits type,
					const void *pointer, VkMemoryHostPointerPropertiesEXT *p)
{
	struct device *d = device_get(device);
	VkResult r = d->next.GetMemoryHostPointerPropertiesEXT(device, type, pointer, p);
	if (r == VK_SUCCESS)
		p->memoryTypeBits = rule_memory_bits(d, p->memoryTypeBits, FAKE_HOST_POINTER_BITS);
	return r;
}

static VKAPI_ATTR VkResult VKAPI_CALL
layer_ImportSemaphoreFdKHR(VkDevice device, const VkImportSemaphoreFdInfoKHR *info)
{
	if (rule_semaphore_handle_refused(info->handleType))
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	return device_get(device)->next.ImportSemaphoreFdKHR(device, info);
}

static VKAPI_ATTR VkResult VKAPI_CALL layer_GetSemaphoreFdKHR(VkDevice device,
							      const VkSemaphoreGetFdInfoKHR *info,
							      int *fd)
{
	if (rule_semaphore_handle_refused(info->handleType))
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	return device_get(device)->next.GetSemaphoreFdKHR(device, info, fd);
}

static VKAPI_ATTR VkResult VKAPI_CALL layer_ImportFenceFdKHR(VkDevice device,
							     const VkImportFenceFdInfoKHR *info)
{
	if (rule_fence_handle_refused(info->handleType))
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	return device_get(device)->next.ImportFenceFdKHR(device, info);
}

static VKAPI_ATTR VkResult VKAPI_CALL layer_GetFenceFdKHR(VkDevice device,
							  const VkFenceGetFdInfoKHR *info, int *fd)
{
	if (rule_fence_handle_refused(info->handleType))
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	return device_get(device)->next.GetFenceFdKHR(device, info, fd);
}

/* ---- the loader's interface */

/*
 * The exported vkGet*ProcAddr only call these: within this module, their
 * own names would bind to the loader's functions of the same names, which
 * the application's libvulkan puts first in the global scope.
 */
static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL layer_GetInstanceProcAddr(VkInstance instance,
									  const char *name);
static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL layer_GetDeviceProcAddr(VkDevice device,
									const char *name);

enum intercept_kind {
	INTERCEPT_ALWAYS,   /* returned whatever the next layer has */
	INTERCEPT_INSTANCE, /* where the next layer has it */
	INTERCEPT_DEVICE,   /* where the next layer has it, from either ProcAddr */
};

struct intercept {
	const char *name;
	PFN_vkVoidFunction fn;
	enum intercept_kind kind;
};

/* clang-format off */
#define INTERCEPT(name, kind) {"vk" #name, (PFN_vkVoidFunction)layer_##name, kind}
#define INSTANCE_INTERCEPT(name) INTERCEPT(name, INTERCEPT_INSTANCE),
#define DEVICE_INTERCEPT(name) INTERCEPT(name, INTERCEPT_DEVICE),
static const struct intercept intercepts[] = {
	INTERCEPT(GetInstanceProcAddr, INTERCEPT_ALWAYS),
	INTERCEPT(GetDeviceProcAddr, INTERCEPT_ALWAYS),
	INTERCEPT(CreateInstance, INTERCEPT_ALWAYS),
	INSTANCE_PROCS(INSTANCE_INTERCEPT)
	DEVICE_PROCS(DEVICE_INTERCEPT)
};
#undef INTERCEPT
#undef INSTANCE_INTERCEPT
#undef DEVICE_INTERCEPT
/* clang-format on */

static const struct intercept *intercept_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(intercepts); i++)
		if (!strcmp(intercepts[i].name, name))
			return &intercepts[i];
	return NULL;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL layer_GetInstanceProcAddr(VkInstance instance,
									  const char *name)
{
	const struct intercept *i = intercept_find(name);
	if (i && i->kind == INTERCEPT_ALWAYS)
		return i->fn;
	if (!instance)
		return NULL;
	struct instance *inst = instance_get(instance);
	if (!inst)
		return NULL;
	PFN_vkVoidFunction next = inst->gipa(instance, name);
	return i && next ? i->fn : next;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL layer_GetDeviceProcAddr(VkDevice device,
									const char *name)
{
	const struct intercept *i = intercept_find(name);
	if (i && i->kind == INTERCEPT_ALWAYS && !strcmp(name, "vkGetDeviceProcAddr"))
		return i->fn;
	if (!device)
		return NULL;
	struct device *d = device_get(device);
	if (!d)
		return NULL;
	PFN_vkVoidFunction next = d->gdpa(device, name);
	return i && i->kind == INTERCEPT_DEVICE && next ? i->fn : next;
}

VK_LAYER_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vkGetInstanceProcAddr(VkInstance instance,
									       const char *name);
VK_LAYER_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vkGetInstanceProcAddr(VkInstance instance,
									       const char *name)
{
	return layer_GetInstanceProcAddr(instance, name);
}

VK_LAYER_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vkGetDeviceProcAddr(VkDevice device,
									     const char *name);
VK_LAYER_EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vkGetDeviceProcAddr(VkDevice device,
									     const char *name)
{
	return layer_GetDeviceProcAddr(device, name);
}

VK_LAYER_EXPORT VKAPI_ATTR VkResult VKAPI_CALL
vkNegotiateLoaderLayerInterfaceVersion(VkNegotiateLayerInterface *v)
{
	if (!v || v->sType != LAYER_NEGOTIATE_INTERFACE_STRUCT)
		return VK_ERROR_INITIALIZATION_FAILED;
	if (v->loaderLayerInterfaceVersion > CURRENT_LOADER_LAYER_INTERFACE_VERSION)
		v->loaderLayerInterfaceVersion = CURRENT_LOADER_LAYER_INTERFACE_VERSION;
	if (v->loaderLayerInterfaceVersion >= 2) {
		v->pfnGetInstanceProcAddr = layer_GetInstanceProcAddr;
		v->pfnGetDeviceProcAddr = layer_GetDeviceProcAddr;
		v->pfnGetPhysicalDeviceProcAddr = NULL;
	}
	return VK_SUCCESS;
}
