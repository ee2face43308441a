/* SPDX-License-Identifier: MIT */
/* dma-heap: dma-bufs of system (or contiguous) memory from /dev/dma_heap/. */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/allocator.h"
#include "core/util.h"

struct heap {
	int fd;
};

static int heap_open(const char *device, uint32_t flags, void **priv, char *why, size_t why_size)
{
	char path[128];
	if (!device)
		device = "system";
	if (device[0] == '/')
		snprintf(path, sizeof(path), "%s", device);
	else
		snprintf(path, sizeof(path), "/dev/dma_heap/%s", device);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int ret = -errno;
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return ret == -EACCES ? ret : -ENOENT;
	}
	struct heap *h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	h->fd = fd;
	*priv = h;
	return 0;
}

static void heap_close(void *priv)
{
	struct heap *h = priv;
	if (!h)
		return;
	px_close(&h->fd);
	free(h);
}

static int heap_make(void *priv, uint64_t size, struct px_buffer *out, char *why,
		     size_t why_size)
{
	struct heap *h = priv;
	struct dma_heap_allocation_data data = {
		.len = size,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};
	if (ioctl(h->fd, DMA_HEAP_IOCTL_ALLOC, &data) < 0) {
		int ret = -errno;
		snprintf(why, why_size, "DMA_HEAP_IOCTL_ALLOC of %llu bytes: %s",
			 (unsigned long long)size, strerror(errno));
		return ret;
	}
	out->fd = (int)data.fd;
	out->size = size;
	return px_dmabuf_map(out);
}

static int heap_alloc_slot(void *priv, struct px_set_layout *layout, bool first,
			   struct px_buffer *bufs, char *why, size_t why_size)
{
	return px_alloc_plain_buffers(priv, layout, bufs, heap_make, why, why_size);
}

const struct px_allocator_ops px_allocator_dma_heap = {
	.type = PX_ALLOCATOR_DMA_HEAP,
	.name = "dma-heap",
	.dmabuf = true,
	.open = heap_open,
	.close = heap_close,
	.alloc_slot = heap_alloc_slot,
	.free_buffer = px_allocator_free_mapped,
};
