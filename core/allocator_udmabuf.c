/* SPDX-License-Identifier: MIT */
/* udmabuf: dma-bufs made from sealed memfds through /dev/udmabuf. */
#include <errno.h>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/allocator.h"
#include "core/util.h"

struct udmabuf {
	int fd;
};

static int udmabuf_open(const char *device, uint32_t flags, void **priv, char *why, size_t why_size)
{
	const char *path = device ? device : "/dev/udmabuf";
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int ret = -errno;
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return ret == -EACCES ? ret : -ENOENT;
	}
	struct udmabuf *u = calloc(1, sizeof(*u));
	if (!u) {
		close(fd);
		return -ENOMEM;
	}
	u->fd = fd;
	*priv = u;
	return 0;
}

static void udmabuf_close(void *priv)
{
	struct udmabuf *u = priv;
	if (!u)
		return;
	px_close(&u->fd);
	free(u);
}

static int udmabuf_make(void *priv, uint64_t size, struct px_buffer *out, char *why,
			size_t why_size)
{
	struct udmabuf *u = priv;
	/* udmabuf wants whole pages and a memfd sealed against shrinking. */
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t len = (size + page - 1) / page * page;
	int ret, memfd = memfd_create("pixshare-udmabuf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0) {
		ret = -errno;
		snprintf(why, why_size, "memfd_create: %s", strerror(errno));
		return ret;
	}
	if (ftruncate(memfd, (off_t)len) < 0 || fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
		ret = -errno;
		snprintf(why, why_size, "memfd of %llu bytes: %s", (unsigned long long)len,
			 strerror(errno));
		close(memfd);
		return ret;
	}
	struct udmabuf_create create = {
		.memfd = (uint32_t)memfd,
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.offset = 0,
		.size = len,
	};
	int fd = ioctl(u->fd, UDMABUF_CREATE, &create);
	ret = -errno;
	/* The dma-buf holds the pages; the memfd is no longer needed. */
	close(memfd);
	if (fd < 0) {
		snprintf(why, why_size, "UDMABUF_CREATE of %llu bytes: %s", (unsigned long long)len,
			 strerror(-ret));
		return ret;
	}
	out->fd = fd;
	out->size = size;
	return px_dmabuf_map(out);
}

static int udmabuf_alloc_slot(void *priv, struct px_set_layout *layout, bool first,
			      struct px_buffer *bufs, char *why, size_t why_size)
{
	return px_alloc_plain_buffers(priv, layout, bufs, udmabuf_make, why, why_size);
}

const struct px_allocator_ops px_allocator_udmabuf = {
	.type = PX_ALLOCATOR_UDMABUF,
	.name = "udmabuf",
	.dmabuf = true,
	.open = udmabuf_open,
	.close = udmabuf_close,
	.alloc_slot = udmabuf_alloc_slot,
	.free_buffer = px_allocator_free_mapped,
};
