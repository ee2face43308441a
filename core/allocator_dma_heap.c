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

static int heap_open(const char *device, void **priv, char *why, size_t why_size)
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

static void heap_free(void *priv, struct px_buffer *buf)
{
	px_buffer_unmap_close(buf);
}

static int heap_alloc_slot(void *priv, struct px_set_layout *layout, bool first,
			   struct px_buffer *bufs, char *why, size_t why_size)
{
	struct heap *h = priv;
	for (uint32_t b = 0; b < layout->n_buffers; b++) {
		struct dma_heap_allocation_data data = {
			.len = layout->buffer_sizes[b],
			.fd_flags = O_RDWR | O_CLOEXEC,
		};
		if (ioctl(h->fd, DMA_HEAP_IOCTL_ALLOC, &data) < 0) {
			int ret = -errno;
			snprintf(why, why_size, "DMA_HEAP_IOCTL_ALLOC of %llu bytes: %s",
				 (unsigned long long)data.len, strerror(errno));
			while (b--)
				heap_free(priv, &bufs[b]);
			return ret;
		}
		bufs[b].fd = (int)data.fd;
		bufs[b].size = layout->buffer_sizes[b];
		px_dmabuf_map(&bufs[b]);
	}
	return 0;
}

const struct px_allocator_ops px_allocator_dma_heap = {
	.type = PX_ALLOCATOR_DMA_HEAP,
	.name = "dma-heap",
	.dmabuf = true,
	.open = heap_open,
	.close = heap_close,
	.alloc_slot = heap_alloc_slot,
	.free_buffer = heap_free,
};
