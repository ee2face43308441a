/* SPDX-License-Identifier: MIT */
/*
 * Pools exported by the device: VkBuffers with exportable memory, whose fds
 * make a publisher's external pool (px_publisher_params.external).
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <pixshare/layout.h>

#include "gpu/vk_internal.h"

#define USAGE                                                                                      \
	(VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |                   \
	 VK_BUFFER_USAGE_TRANSFER_DST_BIT)

struct pool_buffer {
	VkBuffer buffer;
	VkDeviceMemory memory;
	void *map; /* px_vk_pool_map(): vkMapMemory's, until the memory is freed */
};

struct px_vk_pool {
	char name[32]; /* "vulkan pool N": what its log messages start with */
	struct px_vk *vk;
	struct px_set_layout layout;	 /* as given: the VkBuffers' */
	struct px_set_layout pub_layout; /* the fds': shifted by data_offset */
	/* Where byte 0 of buffer b's memory lies in its fd; -1: not known yet. */
	int64_t data_offset[PX_MAX_BUFFERS];
	uint32_t n_slots;
	enum px_vk_export type;
	bool host_visible;
	bool unmapped; /* the fds are neither dma-bufs nor sealed memfds */
	bool dedicated;
	uint32_t memory_type;
	uint64_t alloc_size[PX_MAX_BUFFERS]; /* per buffer index: the same in every slot */
	uint64_t device;		     /* for px_external_pool.device */
	/* For px_external_pool.vulkan: opaque-fd pools only. */
	struct px_vulkan_export vulkan;
	int *fds; /* n_slots × layout.n_buffers, slot-major; -1: none */
	struct pool_buffer *bufs;
};

PX_API const char *px_vk_export_name(enum px_vk_export type)
{
	switch (type) {
	case PX_VK_EXPORT_DMABUF:
		return "dma-buf";
	case PX_VK_EXPORT_OPAQUE_FD:
		return "opaque fd";
	}
	return "unknown";
}

static VkExternalMemoryHandleTypeFlagBits handle_type(enum px_vk_export type)
{
	return type == PX_VK_EXPORT_DMABUF ? VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT
					   : VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
}

/* What the device says of exporting a buffer of USAGE as `type`. */
static VkExternalMemoryProperties export_props(const struct px_vk *vk,
					       VkExternalMemoryHandleTypeFlagBits type)
{
	VkPhysicalDeviceExternalBufferInfo bi = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO,
	    .usage = USAGE,
	    .handleType = type};
	VkExternalBufferProperties p = {.sType = VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES};
	vkGetPhysicalDeviceExternalBufferProperties(vk->phys, &bi, &p);
	return p.externalMemoryProperties;
}

/* Picks the handle type (dma-buf, else opaque fd) and logs why. */
static int choose_type(struct px_vk_pool *pool, VkExternalMemoryProperties *props)
{
	struct px_vk *vk = pool->vk;
	const char *no_dmabuf;
	if (!vk->procs.vkGetMemoryFdKHR) {
		px_log_error("%s: %s: VK_KHR_external_memory_fd is not enabled: no memory export",
			     pool->name, vk->props.deviceName);
		return -ENOTSUP;
	}
	if (vk->exts.EXT_external_memory_dma_buf) {
		*props = export_props(vk, VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT);
		if (props->externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT) {
			pool->type = PX_VK_EXPORT_DMABUF;
			px_log_info("%s: %s: exporting dma-bufs (VK_EXT_external_memory_dma_buf, "
				    "exportable for storage buffers)",
				    pool->name, vk->props.deviceName);
			return 0;
		}
		no_dmabuf = "VK_EXT_external_memory_dma_buf is there but a storage buffer's "
			    "memory is not exportable as a dma-buf";
	} else {
		no_dmabuf = "no VK_EXT_external_memory_dma_buf";
	}
	*props = export_props(vk, VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT);
	if (!(props->externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT)) {
		px_log_error("%s: %s: %s, and a storage buffer's memory is not exportable as an "
			     "opaque fd either (vkGetPhysicalDeviceExternalBufferProperties)",
			     pool->name, vk->props.deviceName, no_dmabuf);
		return -ENOTSUP;
	}
	pool->type = PX_VK_EXPORT_OPAQUE_FD;
	px_log_info("%s: %s: exporting opaque fds (VK_KHR_external_memory_fd): %s", pool->name,
		    vk->props.deviceName, no_dmabuf);
	return 0;
}

/*
 * Where byte 0 of `memory` lies in `fd`, its exported memfd. An opaque fd is
 * the driver's own business, and Mesa's os_malloc_aligned_fd() (lavapipe)
 * puts a header first and the memory at the next page: found by writing a
 * marker through vkMapMemory() and looking for it in a mapping of the fd,
 * then changing it and checking that offset again. Returns the offset, or a
 * negative errno (logged).
 */
static int64_t probe_offset(struct px_vk_pool *pool, VkDeviceMemory memory, int fd, off_t fd_size,
			    uint64_t size)
{
	struct px_vk *vk = pool->vk;
	enum { MARK = 32 };
	if (size < MARK || fd_size < MARK)
		return 0;
	uint8_t *vp;
	VkResult r = vkMapMemory(vk->device, memory, 0, VK_WHOLE_SIZE, 0, (void **)&vp);
	if (r != VK_SUCCESS) {
		return px_vk_fail(pool->name, r, "vkMapMemory (to find the memory in its fd)");
	}
	const uint8_t *fp = mmap(NULL, (size_t)fd_size, PROT_READ, MAP_SHARED, fd, 0);
	if (fp == MAP_FAILED) {
		int ret = -errno;
		px_log_error("%s: mmap of an exported memfd: %s", pool->name, strerror(errno));
		vkUnmapMemory(vk->device, memory);
		return ret;
	}
	uint8_t mark[MARK];
	uint64_t x = (uint64_t)(uintptr_t)vp ^ 0x9e3779b97f4a7c15ull;
	int64_t found = -1;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < MARK; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			mark[i] = (uint8_t)(x >> 24);
		}
		memcpy(vp, mark, MARK); /* host-coherent: no flush needed */
		if (round == 0) {
			for (off_t o = 0; o + MARK <= fd_size; o++)
				if (!memcmp(fp + o, mark, MARK)) {
					found = o;
					break;
				}
		} else if (found >= 0 && memcmp(fp + found, mark, MARK)) {
			found = -1;
		}
	}
	memset(vp, 0, MARK);
	munmap((void *)fp, (size_t)fd_size);
	vkUnmapMemory(vk->device, memory);
	if (found < 0) {
		px_log_error("%s: the device's memory is not found in its exported fd", pool->name);
		return -ENOTSUP;
	}
	return found;
}

/* Checks an exported fd: where the memory lies in it, its size, and whether a
 * publisher can take it. */
static int check_fd(struct px_vk_pool *pool, VkDeviceMemory memory, int fd, uint32_t s, uint32_t b)
{
	uint64_t size = pool->layout.buffer_sizes[b];
	struct statfs sfs;
	struct stat st;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0) {
		int ret = -errno;
		px_log_error("%s: slot %u buffer %u: fstat of the exported fd: %s", pool->name, s,
			     b, strerror(errno));
		return ret;
	}
	bool dmabuf = (unsigned long)sfs.f_type == DMA_BUF_MAGIC;
	int seals = dmabuf ? -1 : fcntl(fd, F_GET_SEALS);
	bool memfd = !dmabuf && S_ISREG(st.st_mode) && seals >= 0;
	/* A dma-buf's size is its end (what the publisher and subscribers
	 * check); a memfd's is st_size. */
	off_t end = dmabuf ? lseek(fd, 0, SEEK_END) : (S_ISREG(st.st_mode) ? st.st_size : -1);
	if (dmabuf)
		lseek(fd, 0, SEEK_SET);

	/* A dma-buf of a dedicated allocation starts with it. */
	int64_t offset = 0;
	if (memfd && pool->host_visible) {
		offset = probe_offset(pool, memory, fd, end, size);
		if (offset < 0)
			return (int)offset;
	}
	if (pool->data_offset[b] < 0) {
		pool->data_offset[b] = offset;
	} else if (pool->data_offset[b] != offset) {
		px_log_error("%s: slot %u buffer %u: the memory lies at %lld in its fd, at %lld "
			     "in slot 0's: a layout cannot describe both",
			     pool->name, s, b, (long long)offset, (long long)pool->data_offset[b]);
		return -ENOTSUP;
	}
	if (end >= 0 && (uint64_t)end < (uint64_t)offset + size) {
		px_log_error("%s: slot %u buffer %u: the exported %s has %lld bytes; the layout "
			     "needs %llu from %lld",
			     pool->name, s, b, px_vk_export_name(pool->type), (long long)end,
			     (unsigned long long)size, (long long)offset);
		return -ENOTSUP;
	}
	if (s || b)
		return 0;
	if (dmabuf) {
		if (pool->type == PX_VK_EXPORT_OPAQUE_FD)
			px_log_info("%s: the opaque fds are dma-bufs", pool->name);
		return 0;
	}
	pool->unmapped = !(memfd && (seals & F_SEAL_SHRINK));
	if (!pool->unmapped)
		px_log_info("%s: the opaque fds are memfds (seals %#x), the memory at offset "
			    "%lld: publishable as a memfd pool",
			    pool->name, (unsigned)seals, (long long)offset);
	else
		px_log_info("%s: the opaque fds are neither dma-bufs nor memfds sealed with "
			    "F_SEAL_SHRINK: published unmapped (px_external_pool.unmapped), for "
			    "devices of this one's UUIDs alone",
			    pool->name);
	return 0;
}

/* Buffer b of slot s: a VkBuffer, its exportable memory, the fd. */
static int make_buffer(struct px_vk_pool *pool, const VkExternalMemoryProperties *props, uint32_t s,
		       uint32_t b)
{
	struct px_vk *vk = pool->vk;
	struct pool_buffer *pb = &pool->bufs[s * pool->layout.n_buffers + b];
	int *fd = &pool->fds[s * pool->layout.n_buffers + b];
	const VkExternalMemoryHandleTypeFlagBits type = handle_type(pool->type);
	uint64_t size = pool->layout.buffer_sizes[b];
	int ret;

	VkResult r = px_vk_external_buffer(vk, size, USAGE, type, &pb->buffer);
	if (r != VK_SUCCESS) {
		return px_vk_fail(pool->name, r, "vkCreateBuffer (%s export, %llu bytes)",
				  px_vk_export_name(pool->type), (unsigned long long)size);
	}

	VkMemoryDedicatedRequirements dreq = {.sType =
						  VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS};
	VkMemoryRequirements2 req = {.sType = VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2,
				     .pNext = &dreq};
	VkBufferMemoryRequirementsInfo2 ri = {
	    .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2, .buffer = pb->buffer};
	vkGetBufferMemoryRequirements2(vk->device, &ri, &req);
	const uint32_t bits = req.memoryRequirements.memoryTypeBits;
	int mt = px_vk_memory_type(
	    vk, bits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
	bool host_visible = mt >= 0;
	if (mt < 0)
		mt = px_vk_memory_type(vk, bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
	if (mt < 0)
		mt = px_vk_memory_type(vk, bits, 0);
	if (mt < 0) {
		px_log_error("%s: no memory type for an exportable buffer (memoryTypeBits %#x)",
			     pool->name, bits);
		ret = -ENOTSUP;
		goto err;
	}
	/* One export describes every buffer with one memory type, and each
	 * buffer index with one allocation size. */
	if (s == 0 && b == 0) {
		pool->memory_type = (uint32_t)mt;
	} else if ((uint32_t)mt != pool->memory_type) {
		px_log_error("%s: slot %u buffer %u: memory type %d, where buffer 0 has %u: one "
			     "export cannot describe both",
			     pool->name, s, b, mt, pool->memory_type);
		ret = -ENOTSUP;
		goto err;
	}
	if (s == 0)
		pool->alloc_size[b] = req.memoryRequirements.size;
	else if (pool->alloc_size[b] != req.memoryRequirements.size) {
		px_log_error("%s: slot %u buffer %u: %llu bytes of memory, %llu in slot 0",
			     pool->name, s, b, (unsigned long long)req.memoryRequirements.size,
			     (unsigned long long)pool->alloc_size[b]);
		ret = -ENOTSUP;
		goto err;
	}
	if (!host_visible && pool->host_visible) {
		pool->host_visible = false;
		px_log_warn("%s: no host-visible, coherent memory type for exportable "
			    "buffers: device-local memory, which the publisher and CPU "
			    "subscribers may not be able to map",
			    pool->name);
	}

	/* "If the external handle type requires a dedicated allocation, as
	 * reported by vkGetPhysicalDeviceExternalBufferProperties in
	 * VkExternalBufferProperties::externalMemoryProperties.
	 * externalMemoryFeatures, the pNext chain must include a
	 * VkMemoryDedicatedAllocateInfo" (VUID-VkMemoryAllocateInfo-pNext-00639). */
	bool dedicated =
	    (props->externalMemoryFeatures & VK_EXTERNAL_MEMORY_FEATURE_DEDICATED_ONLY_BIT) ||
	    dreq.requiresDedicatedAllocation;
	/* All dedicated or none, as the export says for them all: buffer 0
	 * decides, and a dedicated allocation is always allowed. */
	if (s == 0 && b == 0) {
		pool->dedicated = dedicated;
	} else if (dedicated && !pool->dedicated) {
		px_log_error("%s: slot %u buffer %u needs a dedicated allocation, buffer 0 did "
			     "not: one export cannot describe both",
			     pool->name, s, b);
		ret = -ENOTSUP;
		goto err;
	}
	dedicated = pool->dedicated;
	VkMemoryDedicatedAllocateInfo dai = {
	    .sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, .buffer = pb->buffer};
	VkExportMemoryAllocateInfo ei = {.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
					 .pNext = dedicated ? &dai : NULL,
					 .handleTypes = type};
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .pNext = &ei,
				   .allocationSize = req.memoryRequirements.size,
				   .memoryTypeIndex = (uint32_t)mt};
	r = vkAllocateMemory(vk->device, &ai, NULL, &pb->memory);
	if (r != VK_SUCCESS) {
		px_log_error("%s: vkAllocateMemory (%s export, %llu bytes%s): %s", pool->name,
			     px_vk_export_name(pool->type),
			     (unsigned long long)req.memoryRequirements.size,
			     dedicated ? ", dedicated" : "", px_vk_result_name(r));
		ret = px_vk_errno(r);
		goto err;
	}
	vk->stats.allocations++;
	if ((r = vkBindBufferMemory(vk->device, pb->buffer, pb->memory, 0)) != VK_SUCCESS) {
		px_log_error("%s: vkBindBufferMemory: %s", pool->name, px_vk_result_name(r));
		ret = px_vk_errno(r);
		goto err;
	}

	VkMemoryGetFdInfoKHR gi = {.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR,
				   .memory = pb->memory,
				   .handleType = type};
	if ((r = vk->procs.vkGetMemoryFdKHR(vk->device, &gi, fd)) != VK_SUCCESS) {
		*fd = -1;
		px_log_error("%s: vkGetMemoryFdKHR (%s): %s", pool->name,
			     px_vk_export_name(pool->type), px_vk_result_name(r));
		ret = px_vk_errno(r);
		goto err;
	}
	/* Each call "creates a new reference to the payload" that the
	 * application owns; nothing says it is close-on-exec. */
	if (fcntl(*fd, F_SETFD, FD_CLOEXEC) < 0) {
		ret = -errno;
		px_log_error("%s: fcntl(F_SETFD, FD_CLOEXEC) of an exported fd: %s", pool->name,
			     strerror(errno));
		goto err;
	}
	if ((ret = check_fd(pool, pb->memory, *fd, s, b)))
		goto err;
	return 0;
err:
	px_close(fd);
	px_vk_buffer_destroy(vk, &pb->buffer, &pb->memory);
	return ret;
}

PX_API int px_vk_pool_create(struct px_vk *vk, const struct px_set_layout *layout, uint32_t n_slots,
			     struct px_vk_pool **out)
{
	char why[256];
	if (!vk || !layout || !out || n_slots == 0 || n_slots > PX_MAX_SLOTS) {
		px_log_error("vk pool: vk, layout and out are needed, and 1 to %u slots (%u)",
			     PX_MAX_SLOTS, n_slots);
		return -EINVAL;
	}
	*out = NULL;
	if (px_layout_validate(layout, why, sizeof(why))) {
		px_log_error("vk pool: invalid layout: %s", why);
		return -EINVAL;
	}
	struct px_vk_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	static _Atomic uint32_t counter;
	snprintf(pool->name, sizeof(pool->name), "vulkan pool %u",
		 atomic_fetch_add(&counter, 1) + 1);
	pool->vk = vk;
	pool->layout = *layout;
	pool->n_slots = n_slots;
	pool->host_visible = true; /* until a buffer gets no such memory */
	for (uint32_t b = 0; b < PX_MAX_BUFFERS; b++)
		pool->data_offset[b] = -1;
	const uint32_t total = n_slots * layout->n_buffers;
	pool->fds = malloc(total * sizeof(pool->fds[0]));
	pool->bufs = calloc(total, sizeof(pool->bufs[0]));
	int ret = -ENOMEM;
	if (!pool->fds || !pool->bufs)
		goto err;
	for (uint32_t i = 0; i < total; i++)
		pool->fds[i] = -1;

	VkExternalMemoryProperties props;
	if ((ret = choose_type(pool, &props)))
		goto err;
	if (pool->type == PX_VK_EXPORT_DMABUF)
		pool->device = vk->primary_node ? vk->primary_node : vk->render_node;
	for (uint32_t s = 0; s < n_slots; s++)
		for (uint32_t b = 0; b < layout->n_buffers; b++)
			if ((ret = make_buffer(pool, &props, s, b)))
				goto err;
	pool->pub_layout = *layout;
	for (uint32_t b = 0; b < layout->n_buffers; b++)
		pool->pub_layout.buffer_sizes[b] += (uint64_t)pool->data_offset[b];
	for (uint32_t i = 0; i < layout->n_images; i++)
		for (uint32_t p = 0; p < layout->images[i].n_planes; p++) {
			struct px_plane *pl = &pool->pub_layout.images[i].planes[p];
			pl->offset += (uint64_t)pool->data_offset[pl->buffer];
		}
	if (pool->type == PX_VK_EXPORT_OPAQUE_FD) {
		struct px_vulkan_export *v = &pool->vulkan;
		memcpy(v->device_uuid, vk->device_uuid, VK_UUID_SIZE);
		memcpy(v->driver_uuid, vk->driver_uuid, VK_UUID_SIZE);
		v->memory_type = pool->memory_type;
		v->buffer_usage = USAGE;
		v->dedicated = pool->dedicated;
		for (uint32_t b = 0; b < layout->n_buffers; b++) {
			v->allocation_size[b] = pool->alloc_size[b];
			v->offset[b] = (uint64_t)pool->data_offset[b];
			v->buffer_size[b] = layout->buffer_sizes[b];
		}
	}
	px_log_info("%s: %u slots of %u buffers exported as %ss, %s memory (type %u)%s", pool->name,
		    n_slots, layout->n_buffers, px_vk_export_name(pool->type),
		    pool->host_visible ? "host-visible" : "device-local", pool->memory_type,
		    pool->dedicated ? ", dedicated allocations" : "");
	*out = pool;
	return 0;
err:
	px_vk_pool_destroy(pool);
	return ret;
}

PX_API void px_vk_pool_destroy(struct px_vk_pool *pool)
{
	if (!pool)
		return;
	const uint32_t total = pool->n_slots * pool->layout.n_buffers;
	if (pool->bufs) {
		/* The application's device work may still use the buffers. */
		vkDeviceWaitIdle(pool->vk->device);
		for (uint32_t i = 0; i < total; i++)
			px_vk_buffer_destroy(pool->vk, &pool->bufs[i].buffer,
					     &pool->bufs[i].memory);
	}
	if (pool->fds)
		for (uint32_t i = 0; i < total; i++)
			px_close(&pool->fds[i]);
	free(pool->bufs);
	free(pool->fds);
	free(pool);
}

PX_API const struct px_set_layout *px_vk_pool_get_layout(const struct px_vk_pool *pool)
{
	return pool ? &pool->pub_layout : NULL;
}

PX_API int px_vk_pool_get_external(const struct px_vk_pool *pool, struct px_external_pool *out)
{
	if (!pool || !out)
		return -EINVAL;
	*out = (struct px_external_pool){
	    .n_slots = pool->n_slots,
	    .fds = pool->fds,
	    .device = pool->device,
	    .vulkan = pool->type == PX_VK_EXPORT_OPAQUE_FD ? &pool->vulkan : NULL,
	    .unmapped = pool->unmapped};
	return 0;
}

PX_API int px_vk_pool_map(struct px_vk_pool *pool, uint32_t slot, uint32_t buffer, void **data)
{
	if (!pool || !data || slot >= pool->n_slots || buffer >= pool->layout.n_buffers)
		return -EINVAL;
	*data = NULL;
	if (!pool->host_visible) {
		px_log_error("%s: slot %u buffer %u: device-local memory, which no CPU maps",
			     pool->name, slot, buffer);
		return -ENOTSUP;
	}
	struct pool_buffer *pb = &pool->bufs[slot * pool->layout.n_buffers + buffer];
	if (!pb->map) {
		VkResult r =
		    vkMapMemory(pool->vk->device, pb->memory, 0, VK_WHOLE_SIZE, 0, &pb->map);
		if (r != VK_SUCCESS) {
			pb->map = NULL;
			return px_vk_fail(pool->name, r, "slot %u buffer %u: vkMapMemory", slot,
					  buffer);
		}
	}
	*data = pb->map;
	return 0;
}

PX_API VkBuffer px_vk_pool_get_buffer(const struct px_vk_pool *pool, uint32_t slot, uint32_t buffer)
{
	if (!pool || slot >= pool->n_slots || buffer >= pool->layout.n_buffers)
		return VK_NULL_HANDLE;
	return pool->bufs[slot * pool->layout.n_buffers + buffer].buffer;
}

static int vk_pool_get_info_impl(const struct px_vk_pool *pool, struct px_vk_pool_info *info)
{
	if (!pool || !info)
		return -EINVAL;
	*info = (struct px_vk_pool_info){.export_type = pool->type,
					 .host_visible = pool->host_visible,
					 .unmapped = pool->unmapped,
					 .dedicated = pool->dedicated,
					 .n_slots = pool->n_slots,
					 .n_buffers = pool->layout.n_buffers,
					 .memory_type = pool->memory_type};
	for (uint32_t b = 0; b < pool->layout.n_buffers; b++)
		info->data_offset[b] = (uint64_t)pool->data_offset[b];
	return 0;
}

PX_API int px_vk_pool_get_info_sized(size_t size, const struct px_vk_pool *pool,
				     struct px_vk_pool_info *info)
{
	struct px_vk_pool_info ours;
	if (!info)
		return -EINVAL;
	int ret = vk_pool_get_info_impl(pool, &ours);
	if (ret)
		return ret;
	return px_abi_out(info, size, PX_SIZE_THROUGH(struct px_vk_pool_info, data_offset), &ours,
			  sizeof(ours), "px_vk_pool_get_info: struct px_vk_pool_info");
}
