/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/kcmp.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/allocator.h"
#include "core/dmabuf.h"
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
	/* Not in allocators[]: AUTO must never pick it. */
	if (type == PX_ALLOCATOR_EXTERNAL)
		return &px_allocator_external;
	for (size_t i = 0; i < PX_ARRAY_SIZE(allocators); i++)
		if (allocators[i]->type == type)
			return allocators[i];
	return NULL;
}

size_t px_allocator_candidates(enum px_allocator_type type, const struct px_allocator_ops **out,
			       size_t max)
{
	size_t n = 0;
	if (type == PX_ALLOCATOR_EXTERNAL && max > 0)
		out[n++] = &px_allocator_external;
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
	if (!strcasecmp(name, px_allocator_external.name)) {
		*type = PX_ALLOCATOR_EXTERNAL;
		return 0;
	}
	return -EINVAL;
}

PX_API bool px_allocator_is_dmabuf(enum px_allocator_type type)
{
	const struct px_allocator_ops *ops = px_allocator_ops(type);
	return ops && ops->dmabuf;
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

/*
 * The external allocator: the application's own buffers (params.external),
 * checked, dup'd and mapped when it is opened, then handed out slot by slot.
 * (It lives here, not in a file of its own, because the build's source list
 * does not name one.)
 */
struct external_buffer {
	struct px_buffer buf; /* fd -1 once handed out to a slot */
	int app_fd;	      /* the application's fd, which buf.fd duplicates */
	bool own_inode;	      /* a dma-buf or memfd: its inode is the buffer's */
	dev_t dev;
	ino_t ino;
};

struct external {
	uint32_t n_slots, n_buffers;
	uint32_t next; /* the slot alloc_slot hands out next */
	bool dmabuf;
	uint64_t device;
	struct external_buffer bufs[]; /* n_slots × n_buffers, slot-major */
};

/*
 * Whether two fds are one open file description (kcmp(2)): 1, 0, or -1
 * where kcmp is not available (a kernel without CONFIG_KCMP, a seccomp
 * filter).
 */
static int same_description(int a, int b)
{
	pid_t pid = getpid();
	long r = syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b);
	return r < 0 ? -1 : r == 0;
}

/*
 * Whether buffers x and y are the same. Each dma-buf and each memfd has an
 * inode of its own, which dups and reopens share. Other fds (a GPU
 * driver's opaque fds) may all be opens of one device node, one inode for
 * every buffer: NVIDIA's are each an open file description of
 * /dev/nvidiactl. Those are the same buffer where they are the same open
 * file description (a dup), as far as the kernel tells, else where the
 * application passed the same fd twice. (Two exports of one VkDeviceMemory
 * are two open file descriptions: nothing here tells them apart.)
 */
static bool same_buffer(const struct external_buffer *x, const struct external_buffer *y)
{
	if (x->own_inode && y->own_inode)
		return x->dev == y->dev && x->ino == y->ino;
	if (x->own_inode != y->own_inode)
		return false;
	int same = same_description(x->buf.fd, y->buf.fd);
	return same < 0 ? x->app_fd == y->app_fd : same == 1;
}

static void external_close(void *priv)
{
	struct external *e = priv;
	if (!e)
		return;
	for (uint32_t i = 0; i < e->n_slots * e->n_buffers; i++)
		px_buffer_unmap_close(&e->bufs[i].buf);
	free(e);
}

/* Checks, dups and maps buffer `i` of the pool into e->bufs[i]. */
static int external_take(struct external *e, const struct px_external_pool *pool, uint32_t i,
			 uint64_t size, char *why, size_t why_size)
{
	struct external_buffer *x = &e->bufs[i];
	uint32_t slot = i / e->n_buffers, b = i % e->n_buffers;
	int fd = pool->fds[i];
	struct stat st;
	int ret;

	if (fd < 0) {
		snprintf(why, why_size, "slot %u buffer %u: fd %d is not a file descriptor", slot,
			 b, fd);
		return -EINVAL;
	}
	x->buf.fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (x->buf.fd < 0) {
		ret = errno == EBADF ? -EINVAL : -errno;
		snprintf(why, why_size, "slot %u buffer %u: fd %d: %s", slot, b, fd,
			 strerror(errno));
		return ret;
	}
	if (fstat(x->buf.fd, &st) < 0) {
		ret = -errno;
		snprintf(why, why_size, "slot %u buffer %u: fd %d: fstat: %s", slot, b, fd,
			 strerror(errno));
		return ret;
	}
	bool dmabuf = px_fd_is_dmabuf(x->buf.fd);
	int seals = fcntl(x->buf.fd, F_GET_SEALS);
	x->app_fd = fd;
	x->own_inode = dmabuf || (S_ISREG(st.st_mode) && seals >= 0);
	x->dev = st.st_dev;
	x->ino = st.st_ino;
	for (uint32_t j = 0; j < i; j++) {
		if (same_buffer(x, &e->bufs[j])) {
			snprintf(why, why_size,
				 "slot %u buffer %u: fd %d is the same buffer as slot %u buffer %u",
				 slot, b, fd, j / e->n_buffers, j % e->n_buffers);
			return -EINVAL;
		}
	}

	if (i == 0)
		e->dmabuf = dmabuf;
	if (dmabuf != e->dmabuf) {
		snprintf(why, why_size,
			 "slot %u buffer %u: fd %d is %sa dma-buf, slot 0 buffer 0 is %s: "
			 "a pool is all dma-bufs or all memfds",
			 slot, b, fd, dmabuf ? "" : "not ", e->dmabuf ? "one" : "not");
		return -EINVAL;
	}
	x->buf.size = size;
	/* Device memory, which nothing here maps (subscribers are told so): an
	 * fd that is no dma-buf is whatever its exporter made it, and its size
	 * is its exporter's to know. */
	if (pool->unmapped && !dmabuf)
		return 0;
	/* What every subscriber checks too (map_buffer() in subscriber.c). */
	char what[96];
	if (px_pool_buffer_check(x->buf.fd, dmabuf, size, what, sizeof(what))) {
		snprintf(why, why_size, "slot %u buffer %u: fd %d: %s%s", slot, b, fd, what,
			 dmabuf ? "" : " (subscribers need a sealed memfd)");
		return -EINVAL;
	}
	if (dmabuf)
		return pool->unmapped ? 0 : px_dmabuf_map(&x->buf);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, x->buf.fd, 0);
	if (p == MAP_FAILED) {
		/* EPERM: sealed with F_SEAL_WRITE or F_SEAL_FUTURE_WRITE. */
		ret = errno == EPERM ? -EINVAL : -errno;
		snprintf(why, why_size, "slot %u buffer %u: fd %d: mmap read-write: %s%s", slot, b,
			 fd, strerror(errno),
			 errno == EPERM ? " (sealed against writes: seal after create)" : "");
		return ret;
	}
	x->buf.data = p;
	return 0;
}

int px_allocator_external_open(const struct px_external_pool *pool,
			       const struct px_set_layout *layout, void **priv, char *why,
			       size_t why_size)
{
	uint32_t total = pool->n_slots * layout->n_buffers;
	struct external *e = calloc(1, sizeof(*e) + total * sizeof(e->bufs[0]));
	if (!e) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	e->n_slots = pool->n_slots;
	e->n_buffers = layout->n_buffers;
	e->device = pool->device;
	for (uint32_t i = 0; i < total; i++)
		e->bufs[i].buf.fd = -1;
	for (uint32_t i = 0; i < total; i++) {
		int ret = external_take(e, pool, i, layout->buffer_sizes[i % e->n_buffers], why,
					why_size);
		if (ret) {
			external_close(e);
			return ret;
		}
	}
	if (pool->unmapped && !e->dmabuf && !pool->vulkan) {
		snprintf(why, why_size,
			 "unmapped fds that are not dma-bufs need their Vulkan description "
			 "(external->vulkan): nothing else could read them");
		external_close(e);
		return -EINVAL;
	}
	*priv = e;
	return 0;
}

static int external_open(const char *device, uint32_t flags, void **priv, char *why,
			 size_t why_size)
{
	snprintf(why, why_size, "needs the application's buffers (params.external)");
	return -EINVAL;
}

static int external_alloc_slot(void *priv, struct px_set_layout *layout, bool first,
			       struct px_buffer *bufs, char *why, size_t why_size)
{
	struct external *e = priv;
	if (first)
		e->next = 0;
	if (e->next >= e->n_slots || layout->n_buffers != e->n_buffers) {
		snprintf(why, why_size, "the pool has %u slots of %u buffers", e->n_slots,
			 e->n_buffers);
		return -EINVAL;
	}
	for (uint32_t b = 0; b < e->n_buffers; b++) {
		struct px_buffer *x = &e->bufs[e->next * e->n_buffers + b].buf;
		bufs[b] = *x;
		x->fd = -1;
		x->data = NULL;
	}
	e->next++;
	return 0;
}

static uint64_t external_device(void *priv)
{
	const struct external *e = priv;
	return e->device;
}

static bool external_pool_dmabuf(void *priv)
{
	const struct external *e = priv;
	return e->dmabuf;
}

const struct px_allocator_ops px_allocator_external = {
	.type = PX_ALLOCATOR_EXTERNAL,
	.name = "external",
	.dmabuf = false, /* either: see pool_dmabuf */
	.open = external_open,
	.close = external_close,
	.alloc_slot = external_alloc_slot,
	.free_buffer = px_allocator_free_mapped,
	.device = external_device,
	.pool_dmabuf = external_pool_dmabuf,
};
