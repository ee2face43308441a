/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/dma-buf.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/allocator.h"
#include "core/util.h"

/* Best first: AUTO tries them in this order. GPU-friendly layouts first, then
 * dma-bufs of plain memory, then memfd, which always works. */
static const struct px_allocator_ops *const allocators[] = {
#ifdef PX_HAVE_GBM
	&px_allocator_gbm,
#endif
	&px_allocator_dma_heap,
	&px_allocator_udmabuf,
#ifdef PX_HAVE_LIBDRM
	&px_allocator_dumb,
#endif
	&px_allocator_memfd,
};

const struct px_allocator_ops *px_allocator_ops(enum px_allocator_type type)
{
	for (size_t i = 0; i < PX_ARRAY_SIZE(allocators); i++)
		if (allocators[i]->type == type)
			return allocators[i];
	return NULL;
}

size_t px_allocator_candidates(enum px_allocator_type type, const struct px_allocator_ops **out,
			       size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < PX_ARRAY_SIZE(allocators) && n < max; i++)
		if (type == PX_ALLOCATOR_AUTO || allocators[i]->type == type)
			out[n++] = allocators[i];
	return n;
}

PX_API size_t px_allocator_list(enum px_allocator_type *out, size_t max)
{
	for (size_t i = 0; i < PX_ARRAY_SIZE(allocators) && i < max; i++)
		out[i] = allocators[i]->type;
	return PX_ARRAY_SIZE(allocators);
}

PX_API const char *px_allocator_name(enum px_allocator_type type)
{
	if (type == PX_ALLOCATOR_AUTO)
		return "auto";
	const struct px_allocator_ops *ops = px_allocator_ops(type);
	return ops ? ops->name : NULL;
}

PX_API int px_allocator_from_name(const char *name, enum px_allocator_type *type)
{
	if (!name || !type)
		return -EINVAL;
	if (!strcasecmp(name, "auto")) {
		*type = PX_ALLOCATOR_AUTO;
		return 0;
	}
	for (size_t i = 0; i < PX_ARRAY_SIZE(allocators); i++) {
		if (!strcasecmp(name, allocators[i]->name)) {
			*type = allocators[i]->type;
			return 0;
		}
	}
	return -EINVAL;
}

PX_API bool px_allocator_is_dmabuf(enum px_allocator_type type)
{
	const struct px_allocator_ops *ops = px_allocator_ops(type);
	return ops && ops->dmabuf;
}

void px_dmabuf_sync(int fd, bool start, bool write)
{
	struct dma_buf_sync sync = {
		.flags = (start ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) |
			 (write ? DMA_BUF_SYNC_RW : DMA_BUF_SYNC_READ),
	};
	/* ENOTTY: not a dma-buf (a memfd); nothing to bracket. */
	while (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync) < 0 && (errno == EINTR || errno == EAGAIN))
		;
}

int px_dmabuf_map(struct px_buffer *buf)
{
	void *p = mmap(NULL, buf->size, PROT_READ | PROT_WRITE, MAP_SHARED, buf->fd, 0);
	if (p == MAP_FAILED) {
		px_log_info("dma-buf of %llu bytes cannot be mapped (%s): no CPU access",
			    (unsigned long long)buf->size, strerror(errno));
		buf->data = NULL;
		return 0;
	}
	buf->data = p;
	return 0;
}

void px_buffer_unmap_close(struct px_buffer *buf)
{
	if (buf->data)
		munmap(buf->data, buf->size);
	buf->data = NULL;
	px_close(&buf->fd);
}

void px_allocator_free_mapped(void *priv, struct px_buffer *buf)
{
	px_buffer_unmap_close(buf);
}

int px_alloc_plain_buffers(void *priv, const struct px_set_layout *layout, struct px_buffer *bufs,
			   px_make_buffer_fn make, char *why, size_t why_size)
{
	for (uint32_t b = 0; b < layout->n_buffers; b++) {
		int ret = make(priv, layout->buffer_sizes[b], &bufs[b], why, why_size);
		if (ret) {
			while (b--)
				px_buffer_unmap_close(&bufs[b]);
			return ret;
		}
	}
	return 0;
}
