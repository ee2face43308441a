/* SPDX-License-Identifier: MIT */
/*
 * The import ladder: a frame's buffer becomes a VkBuffer by the first path
 * that works, tried in one place (import_buffer()):
 *
 *   1. opaque fd: a Vulkan export of a device with this one's UUIDs
 *      (px_frame.vulkan), imported as the exporter made it;
 *   2. dma-buf: VK_EXT_external_memory_dma_buf, where the buffers are
 *      dma-bufs of this device (or of none: a CPU device);
 *   3. host memory: the frame's CPU mapping (VK_EXT_external_memory_host),
 *      where the driver takes such a mapping (read-only ones not on
 *      NVIDIA's, see host_import_rule() in vulkan.c);
 *   4. upload: a host-visible buffer that each frame is copied into.
 *
 * The first three are the frame's memory itself; only the fourth copies.
 * Each rung's refusal is logged once per buffer index of a pool, with its
 * reason; the result is cached per (pool, slot, buffer) and counted in
 * px_vk_stats and the subscriber's import counts. A transform publisher's
 * output slots take rungs 2 and 3 (px_vk_import_memory()); VkImages with
 * modifiers are gpu/vulkan_image.c's.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <pixshare/layout.h>

#include "core/allocator.h"
#include "gpu/vk_internal.h"

void px_vk_drop_pool(struct px_vk *vk)
{
	struct vk_pool *pool = &vk->pool;
	if (!pool->id)
		return;
	vkDeviceWaitIdle(vk->device);
	for (uint32_t s = 0; s < PX_MAX_SLOTS; s++) {
		struct vk_slot *slot = pool->slots[s];
		if (!slot)
			continue;
		for (uint32_t b = 0; b < PX_MAX_BUFFERS; b++)
			px_vk_buffer_destroy(vk, &slot->bufs[b].buffer, &slot->bufs[b].memory);
		px_vk_slot_destroy_vkimages(vk, slot);
		for (uint32_t i = 0; i < PX_MAX_IMAGES; i++)
			if (slot->images & (1u << i))
				vk->stats.cached--;
		free(slot);
	}
	memset(pool, 0, sizeof(*pool));
	vk->stats.evictions++;
	vk->generation++;
}

PX_API void px_vk_forget_pool(struct px_vk *vk, uint64_t pool_id)
{
	if (vk && pool_id && vk->pool.id == pool_id)
		px_vk_drop_pool(vk);
}

VkResult px_vk_external_buffer(struct px_vk *vk, uint64_t size, VkBufferUsageFlags usage,
			       VkExternalMemoryHandleTypeFlagBits type, VkBuffer *out)
{
	VkExternalMemoryBufferCreateInfo ext = {
	    .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO, .handleTypes = type};
	VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				 .pNext = &ext,
				 .size = size,
				 .usage = usage,
				 .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
	VkResult r = vkCreateBuffer(vk->device, &bi, NULL, out);
	if (r == VK_SUCCESS)
		vk->stats.allocations++;
	return r;
}

/*
 * Imports a duplicate of `fd` (made CLOEXEC here) as the memory `ai`
 * describes, its pNext chain holding `imp`, whose fd this fills, and binds
 * `*buffer` to it at `offset`. Vulkan owns the duplicate once the import
 * succeeds (VK_KHR_external_memory_fd); on failure it is closed, the buffer
 * and memory are destroyed, and `why` says what failed.
 */
static int import_fd(struct px_vk *vk, int fd, const VkMemoryAllocateInfo *ai,
		     VkImportMemoryFdInfoKHR *imp, VkBuffer *buffer, VkDeviceSize offset,
		     VkDeviceMemory *memory, const char *what, char *why, size_t why_size)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0) {
		int ret = -errno;
		snprintf(why, why_size, "F_DUPFD_CLOEXEC: %s", strerror(-ret));
		px_vk_buffer_destroy(vk, buffer, memory);
		return ret;
	}
	imp->fd = dup;
	VkResult r = vkAllocateMemory(vk->device, ai, NULL, memory);
	if (r != VK_SUCCESS) {
		snprintf(why, why_size, "vkAllocateMemory (%s import): %s", what,
			 px_vk_result_name(r));
		px_close(&dup);
		px_vk_buffer_destroy(vk, buffer, memory);
		return -ENOTSUP;
	}
	vk->stats.allocations++; /* the duplicate is Vulkan's now */
	if ((r = vkBindBufferMemory(vk->device, *buffer, *memory, offset)) != VK_SUCCESS) {
		snprintf(why, why_size, "vkBindBufferMemory: %s", px_vk_result_name(r));
		px_vk_buffer_destroy(vk, buffer, memory);
		return -ENOTSUP;
	}
	return 0;
}

/* dma-buf → VkBuffer on its bytes offset … offset + size. The fd stays the
 * caller's. */
static int import_dmabuf(struct px_vk *vk, int dmabuf, uint64_t offset, uint64_t size,
			 struct vk_buf *out, char *why, size_t why_size)
{
	VkBuffer buffer = VK_NULL_HANDLE;
	VkDeviceMemory memory = VK_NULL_HANDLE;
	const VkExternalMemoryHandleTypeFlagBits type =
	    VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT;
	VkResult r = px_vk_external_buffer(vk, size, IMPORT_USAGE, type, &buffer);
	if (r != VK_SUCCESS) {
		snprintf(why, why_size, "vkCreateBuffer (dma-buf): %s", px_vk_result_name(r));
		return -ENOTSUP;
	}
	VkMemoryFdPropertiesKHR fdp = {.sType = VK_STRUCTURE_TYPE_MEMORY_FD_PROPERTIES_KHR};
	r = vk->procs.vkGetMemoryFdPropertiesKHR(vk->device, type, dmabuf, &fdp);
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(vk->device, buffer, &req);
	int mt = r == VK_SUCCESS ? px_vk_memory_type(vk, req.memoryTypeBits & fdp.memoryTypeBits, 0)
				 : -1;
	if (mt < 0) {
		snprintf(why, why_size, "vkGetMemoryFdPropertiesKHR: %s%s", px_vk_result_name(r),
			 r == VK_SUCCESS ? " but no memory type fits a buffer" : "");
		vkDestroyBuffer(vk->device, buffer, NULL);
		return -ENOTSUP;
	}
	if (offset % req.alignment) {
		snprintf(why, why_size, "the memory starts at byte %llu, off the alignment %llu",
			 (unsigned long long)offset, (unsigned long long)req.alignment);
		vkDestroyBuffer(vk->device, buffer, NULL);
		return -ENOTSUP;
	}
	VkImportMemoryFdInfoKHR imp = {.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR,
				       .handleType = type};
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .pNext = &imp,
				   .allocationSize = offset + PX_MAX(size, req.size),
				   .memoryTypeIndex = (uint32_t)mt};
	int ret =
	    import_fd(vk, dmabuf, &ai, &imp, &buffer, offset, &memory, "dma-buf", why, why_size);
	if (ret)
		return ret;
	*out = (struct vk_buf){buffer, memory, NULL, size, PX_IMPORT_DMABUF};
	vk->stats.dmabuf_imports++;
	return 0;
}

/* A CPU mapping → VkBuffer (VK_EXT_external_memory_host). */
/* `*refused`: the driver refused the memory itself (vkAllocateMemory). */
static int import_host(struct px_vk *vk, const void *data, uint64_t size, struct vk_buf *out,
		       bool *refused, char *why, size_t why_size)
{
	uint64_t align = vk->host_alignment ? vk->host_alignment : 1;
	long page = sysconf(_SC_PAGESIZE);
	/* The mapping covers whole pages: rounding the size up to the
	 * alignment stays inside it only if the alignment is at most a page. */
	if ((uintptr_t)data % align || align > (uint64_t)page) {
		snprintf(why, why_size,
			 "the mapping %p is not aligned to minImportedHostPointerAlignment %llu "
			 "within its pages",
			 data, (unsigned long long)align);
		return -ENOTSUP;
	}
	uint64_t alloc = (size + align - 1) / align * align;
	const VkExternalMemoryHandleTypeFlagBits type =
	    VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
	VkMemoryHostPointerPropertiesEXT hp = {
	    .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
	/* The spec wants a non-const pointer; the device only reads it. */
	VkResult r =
	    vk->procs.vkGetMemoryHostPointerPropertiesEXT(vk->device, type, (void *)data, &hp);
	if (r != VK_SUCCESS) {
		snprintf(why, why_size, "vkGetMemoryHostPointerPropertiesEXT: %s",
			 px_vk_result_name(r));
		return -ENOTSUP;
	}
	VkBuffer buffer = VK_NULL_HANDLE;
	VkDeviceMemory memory = VK_NULL_HANDLE;
	if ((r = px_vk_external_buffer(vk, alloc, IMPORT_USAGE, type, &buffer)) != VK_SUCCESS) {
		snprintf(why, why_size, "vkCreateBuffer (host memory): %s", px_vk_result_name(r));
		return -ENOTSUP;
	}
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(vk->device, buffer, &req);
	int mt = px_vk_memory_type(vk, req.memoryTypeBits & hp.memoryTypeBits, 0);
	if (mt < 0 || req.size > alloc) {
		snprintf(why, why_size, "no memory type for host memory (needs %llu bytes of %llu)",
			 (unsigned long long)req.size, (unsigned long long)alloc);
		goto err;
	}
	VkImportMemoryHostPointerInfoEXT imp = {
	    .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
	    .handleType = type,
	    .pHostPointer = (void *)data};
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .pNext = &imp,
				   .allocationSize = alloc,
				   .memoryTypeIndex = (uint32_t)mt};
	if ((r = vkAllocateMemory(vk->device, &ai, NULL, &memory)) != VK_SUCCESS) {
		snprintf(why, why_size, "vkAllocateMemory (host memory): %s", px_vk_result_name(r));
		*refused = true;
		goto err;
	}
	vk->stats.allocations++;
	if ((r = vkBindBufferMemory(vk->device, buffer, memory, 0)) != VK_SUCCESS) {
		snprintf(why, why_size, "vkBindBufferMemory: %s", px_vk_result_name(r));
		goto err;
	}
	*out = (struct vk_buf){buffer, memory, NULL, size, PX_IMPORT_HOST_MEMORY};
	vk->stats.host_imports++;
	return 0;
err:
	px_vk_buffer_destroy(vk, &buffer, &memory);
	return -ENOTSUP;
}

/*
 * Buffer b of a Vulkan export (an opaque fd) → a VkBuffer on its memory,
 * imported as the exporter made it: the allocation's size and memory type,
 * and for a dedicated allocation a buffer of the exporter's size and usage.
 * The fd stays the caller's.
 */
static int import_opaque(struct px_vk *vk, int opaque, const struct px_vulkan_export *v, uint32_t b,
			 struct vk_buf *out, char *why, size_t why_size)
{
	const VkExternalMemoryHandleTypeFlagBits type =
	    VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
	/* A dedicated import's buffer must be made as the exporter's was:
	 * usage bits of core Vulkan only, which need no feature. */
	const VkBufferUsageFlags core_usage = 0x1ff;
	VkBufferUsageFlags usage = v->dedicated ? v->buffer_usage : IMPORT_USAGE;
	if (v->dedicated &&
	    (!(usage & VK_BUFFER_USAGE_STORAGE_BUFFER_BIT) || (usage & ~core_usage))) {
		snprintf(why, why_size,
			 "the exporter's dedicated buffers have usage 0x%x, not a storage buffer's "
			 "of core Vulkan",
			 usage);
		return -ENOTSUP;
	}
	if (v->memory_type >= vk->mem_props.memoryTypeCount) {
		snprintf(why, why_size,
			 "memory type %u of the exporter's, where this device has %u",
			 v->memory_type, vk->mem_props.memoryTypeCount);
		return -ENOTSUP;
	}
	VkBuffer buffer = VK_NULL_HANDLE;
	VkDeviceMemory memory = VK_NULL_HANDLE;
	VkResult r = px_vk_external_buffer(vk, v->buffer_size[b], usage, type, &buffer);
	if (r != VK_SUCCESS) {
		snprintf(why, why_size, "vkCreateBuffer (opaque fd): %s", px_vk_result_name(r));
		return -ENOTSUP;
	}
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(vk->device, buffer, &req);
	if (!(req.memoryTypeBits & (1u << v->memory_type)) || req.size > v->allocation_size[b]) {
		snprintf(why, why_size,
			 "the buffer needs %llu bytes of memory types 0x%x; the export is %llu "
			 "bytes of type %u",
			 (unsigned long long)req.size, req.memoryTypeBits,
			 (unsigned long long)v->allocation_size[b], v->memory_type);
		vkDestroyBuffer(vk->device, buffer, NULL);
		return -ENOTSUP;
	}
	VkMemoryDedicatedAllocateInfo ded = {
	    .sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, .buffer = buffer};
	VkImportMemoryFdInfoKHR imp = {.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR,
				       .pNext = v->dedicated ? &ded : NULL,
				       .handleType = type};
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				   .pNext = &imp,
				   .allocationSize = v->allocation_size[b],
				   .memoryTypeIndex = v->memory_type};
	int ret = import_fd(vk, opaque, &ai, &imp, &buffer, 0, &memory, "opaque-fd", why, why_size);
	if (ret)
		return ret;
	*out = (struct vk_buf){buffer, memory, NULL, v->buffer_size[b], PX_IMPORT_OPAQUE_FD};
	vk->stats.opaque_imports++;
	return 0;
}

/* Whether buffer b of the frame may be imported as an opaque fd: why not
 * into `why` (false), or true. */
static bool opaque_possible(const struct px_vk *vk, const struct px_frame *frame, uint32_t b,
			    char *why, size_t why_size)
{
	if (!frame->vulkan)
		snprintf(why, why_size, "the buffers are no Vulkan export");
	else if (frame->buffers[b].fd < 0)
		snprintf(why, why_size, "the frame has no fd");
	else if (!vk->opaque_import)
		snprintf(why, why_size, "this device imports no opaque fds (%s)",
			 vk->exts.KHR_external_memory_fd
			     ? "not importable for storage buffers"
			     : "no " VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME);
	else if (memcmp(frame->vulkan->device_uuid, vk->device_uuid, VK_UUID_SIZE) ||
		 memcmp(frame->vulkan->driver_uuid, vk->driver_uuid, VK_UUID_SIZE))
		snprintf(why, why_size,
			 "the exporter's device or driver UUID is not this device's (%.60s)",
			 vk->props.deviceName);
	else
		return true;
	return false;
}

/*
 * Whether NVIDIA's driver can import `size` bytes at `p` and see later
 * writes, by what it did on the H200: every page in a writable mapping that
 * is shared, or private and anonymous (it refused read-only mappings, and a
 * private writable mapping of a file imported as a stale copy, as if pinned
 * for writing). Read from /proc/self/maps, once per imported buffer; why not
 * into `why`.
 */
static bool pinnable(const struct px_vk *vk, const void *p, uint64_t size, char *why,
		     size_t why_size)
{
	uintptr_t need = (uintptr_t)p, end = need + size;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		snprintf(why, why_size,
			 "/proc/self/maps: %s (a read-only mapping would be "
			 "refused, and spoil the device's later allocations)",
			 strerror(errno));
		return false;
	}
	char *line = NULL;
	size_t cap = 0;
	const char *bad = NULL;
	while (need < end && !bad && getline(&line, &cap, f) > 0) {
		unsigned long lo, hi, inode;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s %*x %*x:%*x %lu", &lo, &hi, perms, &inode) != 4 ||
		    hi <= need)
			continue;
		if (lo > need)
			break; /* a hole */
		if (perms[1] != 'w')
			bad = "mapped read-only";
		else if (perms[3] != 's' && inode)
			bad = "a private mapping of a file (a write pin would copy it)";
		need = hi;
	}
	free(line);
	fclose(f);
	if (!bad && need < end)
		bad = "not mapped whole";
	if (bad)
		snprintf(why, why_size, "%s: this one is %s", vk->host_why_readonly, bad);
	return !bad;
}

int px_vk_import_memory(struct px_vk *vk, const struct vk_memory *m, struct vk_buf *out,
			char *why_dmabuf, char *why_host, size_t why_size)
{
	int ret = -ENOTSUP;
	if (!m->dmabuf || m->fd < 0)
		snprintf(why_dmabuf, why_size, "the buffer is a memfd, not a dma-buf");
	else if (!vk->exts.EXT_external_memory_dma_buf)
		snprintf(why_dmabuf, why_size, "%s is missing",
			 VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME);
	else if (m->device && m->device != vk->primary_node && m->device != vk->render_node &&
		 vk->props.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU)
		snprintf(why_dmabuf, why_size,
			 "the buffers belong to DRM device %u:%u, not to this one",
			 major((dev_t)m->device), minor((dev_t)m->device));
	else
		ret = import_dmabuf(vk, m->fd, m->offset, m->size, out, why_dmabuf, why_size);
	if (ret == 0)
		return 0;
	if (!m->data)
		snprintf(why_host, why_size, "the buffer has no CPU mapping");
	else if (!vk->host_import)
		snprintf(why_host, why_size, "%s", vk->host_why);
	else if (!vk->host_import_readonly && m->dmabuf)
		/* Device pages, which it was never seen to pin. */
		snprintf(why_host, why_size,
			 "%s, and a dma-buf's mapping was never tried with it (a refusal would "
			 "spoil the device)",
			 vk->host_why_readonly);
	else if (!vk->host_import_readonly &&
		 !pinnable(vk, (const uint8_t *)m->data + m->offset, m->size, why_host, why_size))
		ret = -ENOTSUP; /* why_host says why */
	else {
		bool refused = false;
		ret = import_host(vk, (uint8_t *)m->data + m->offset, m->size, out, &refused,
				  why_host, why_size);
		if (refused && !vk->host_import_readonly) {
			/* NVIDIA's driver: a refusal leaves the device short of its
			 * device-local memory; no second one. */
			vk->host_import = false;
			snprintf(vk->host_why, sizeof(vk->host_why),
				 "an import failed on this device before (%s)", why_host);
			vk->host_why_readonly = vk->host_why;
		}
	}
	return ret;
}

static int import_buffer(struct px_vk *vk, const struct px_frame *frame, uint32_t b,
			 struct vk_buf *out)
{
	char why_opaque[200] = "", why_dmabuf[200] = "", why_host[200] = "";
	bool *logged = &vk->pool.logged[b];
	/* The layout keeps every plane at or after base, inside the buffer. */
	uint64_t base = px_vk_frame_base(frame, b);
	assert(base < frame->buffers[b].size);
	int ret = -ENOTSUP;
	if (opaque_possible(vk, frame, b, why_opaque, sizeof(why_opaque)))
		ret = import_opaque(vk, frame->buffers[b].fd, frame->vulkan, b, out, why_opaque,
				    sizeof(why_opaque));
	if (ret == 0) {
		if (!*logged)
			px_log_info("%s: pool %llu buffer %u: opaque-fd import of the exporter's "
				    "memory, no copy",
				    vk->name, (unsigned long long)frame->pool_id, b);
		goto done;
	}
	const struct vk_memory m = {.fd = frame->buffers[b].fd,
				    .dmabuf = frame->dmabuf,
				    .device = frame->device,
				    .data = (void *)frame->buffers[b].data,
				    .offset = base,
				    .size = frame->buffers[b].size - base};
	ret = px_vk_import_memory(vk, &m, out, why_dmabuf, why_host, sizeof(why_dmabuf));
	if (ret == 0 && !*logged && (frame->vulkan || out->path == PX_IMPORT_HOST_MEMORY)) {
		if (frame->vulkan)
			px_log_info("%s: pool %llu buffer %u: %s import, no copy (no opaque-fd "
				    "import: %s%s%s)",
				    vk->name, (unsigned long long)frame->pool_id, b,
				    px_import_path_name(out->path), why_opaque,
				    out->path == PX_IMPORT_HOST_MEMORY ? "; no dma-buf import: "
								       : "",
				    out->path == PX_IMPORT_HOST_MEMORY ? why_dmabuf : "");
		else
			px_log_info("%s: pool %llu buffer %u: host-memory import, no copy "
				    "(no dma-buf import: %s)",
				    vk->name, (unsigned long long)frame->pool_id, b, why_dmabuf);
	}
	if (ret == 0)
		goto done;
	if (!frame->buffers[b].data) {
		px_log_error("%s: pool %llu buffer %u: no opaque-fd import (%s), no dma-buf import "
			     "(%s), no mapping to copy",
			     vk->name, (unsigned long long)frame->pool_id, b, why_opaque,
			     why_dmabuf);
		return -ENOTSUP;
	}
	/* The copy of last resort. */
	*out = (struct vk_buf){.size = frame->buffers[b].size - base, .path = PX_IMPORT_UPLOAD};
	/* Usable as every other path's buffer is (an application copies from
	 * what px_vk_import() gives). */
	if ((ret = px_vk_buffer_create(vk, out->size, IMPORT_USAGE, PX_BUFFER_UPLOAD, &out->buffer,
				       &out->memory, &out->map)))
		return ret;
	vk->stats.upload_buffers++;
	if (!*logged)
		px_log_warn("%s: pool %llu buffer %u: no opaque-fd import (%s), no dma-buf import "
			    "(%s), no host-memory import (%s): copying every frame",
			    vk->name, (unsigned long long)frame->pool_id, b, why_opaque, why_dmabuf,
			    why_host);
done:
	*logged = true;
	vk->stats.buffer_imports++;
	return 0;
}

void px_vk_upload_image(struct px_vk *vk, const struct px_frame *frame, uint32_t image)
{
	const struct px_image_layout *img = &frame->layout->images[image];
	struct vk_slot *slot = vk->pool.slots[frame->slot];
	for (uint32_t p = 0; p < img->n_planes; p++) {
		struct vk_buf *vb = &slot->bufs[img->planes[p].buffer];
		if (vb->path != PX_IMPORT_UPLOAD)
			continue;
		int fd = frame->buffers[img->planes[p].buffer].fd;
		if (frame->dmabuf && fd >= 0)
			px_dmabuf_sync(fd, true, false); /* as the subscriber does */
		uint64_t rows = px_image_plane_rows(img, p);
		uint64_t bytes = img->planes[p].stride * (rows - 1) + px_image_row_bytes(img, p);
		memcpy((uint8_t *)vb->map + px_vk_plane_offset(frame, img, p),
		       (const uint8_t *)frame->buffers[img->planes[p].buffer].data +
			   img->planes[p].offset,
		       bytes);
		if (frame->dmabuf && fd >= 0)
			px_dmabuf_sync(fd, false, false);
		vk->stats.copies++;
		vk->stats.copy_bytes += bytes;
		px_frame_account_copy(frame, bytes);
	}
}

enum px_import_path px_import_path_worse(enum px_import_path a, enum px_import_path b)
{
	/* upload is worst; dma-buf and opaque fd best */
	int ra = a == PX_IMPORT_UPLOAD ? 2 : a == PX_IMPORT_HOST_MEMORY ? 1 : 0;
	int rb = b == PX_IMPORT_UPLOAD ? 2 : b == PX_IMPORT_HOST_MEMORY ? 1 : 0;
	return ra > rb ? a : b;
}

PX_API int px_vk_import(struct px_vk *vk, const struct px_frame *frame, uint32_t image,
			struct px_vk_image *out)
{
	int ret = px_vk_import_image(vk, frame, image, out);
	if (ret == 0 && out->path == PX_IMPORT_UPLOAD)
		px_vk_upload_image(vk, frame, image);
	return ret;
}

int px_vk_cache_slot(struct px_vk *vk, const struct px_frame *frame, uint32_t image,
		     struct vk_slot **out)
{
	if (!vk || !frame || !frame->layout || !frame->pool_id || !frame->buffers ||
	    image >= frame->layout->n_images || frame->slot >= PX_MAX_SLOTS ||
	    frame->n_buffers != frame->layout->n_buffers)
		return -EINVAL;
	if (!(frame->valid_mask & (1u << image)))
		return -ENODATA;

	struct vk_pool *pool = &vk->pool;
	if (pool->id != frame->pool_id) {
		px_vk_drop_pool(vk);
		pool->id = frame->pool_id;
		pool->layout = *frame->layout;
	} else if (!px_layout_equal(&pool->layout, frame->layout)) {
		px_log_error("%s: pool %llu: a frame with another layout", vk->name,
			     (unsigned long long)frame->pool_id);
		return -EINVAL;
	}
	struct vk_slot *slot = pool->slots[frame->slot];
	if (!slot) {
		if (!(slot = pool->slots[frame->slot] = calloc(1, sizeof(*slot))))
			return -ENOMEM;
		vk->stats.allocations++;
	}
	*out = slot;
	return 0;
}

int px_vk_import_image(struct px_vk *vk, const struct px_frame *frame, uint32_t image,
		       struct px_vk_image *out)
{
	struct vk_slot *slot;
	int ret;
	if (!out)
		return -EINVAL;
	if ((ret = px_vk_cache_slot(vk, frame, image, &slot)))
		return ret;
	const struct px_image_layout *img = &frame->layout->images[image];
	if (slot->images & (1u << image)) {
		vk->stats.cache_hits++;
	} else {
		enum px_import_path path = PX_IMPORT_DMABUF;
		for (uint32_t p = 0; p < img->n_planes; p++) {
			uint32_t b = img->planes[p].buffer;
			if (!slot->bufs[b].buffer &&
			    (ret = import_buffer(vk, frame, b, &slot->bufs[b])))
				return ret;
			path = px_import_path_worse(path, slot->bufs[b].path);
		}
		slot->images |= 1u << image;
		slot->paths[image] = path;
		vk->stats.imports++;
		vk->stats.cached++;
	}
	out->n_planes = img->n_planes;
	for (uint32_t p = 0; p < PX_MAX_PLANES; p++)
		out->planes[p] =
		    p < img->n_planes
			? (struct px_vk_plane){slot->bufs[img->planes[p].buffer].buffer,
					       px_vk_plane_offset(frame, img, p),
					       img->planes[p].stride}
			: (struct px_vk_plane){0};
	out->path = slot->paths[image];
	vk->stats.last_path = out->path;
	px_frame_account_import(frame, out->path);
	return 0;
}

const struct vk_slot *px_vk_slot(const struct px_vk *vk, const struct px_frame *frame)
{
	if (vk->pool.id != frame->pool_id || frame->slot >= PX_MAX_SLOTS)
		return NULL;
	return vk->pool.slots[frame->slot];
}
