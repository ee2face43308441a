/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/allocator.h"
#include "core/util.h"

static int memfd_open(const char *device, uint32_t flags, void **priv, char *why, size_t why_size)
{
	/* memfd_create exists on every kernel pixshare supports (≥ 5.1). */
	*priv = NULL;
	return 0;
}

static void memfd_close(void *priv)
{
}

static int memfd_make(void *priv, uint64_t size, struct px_buffer *out, char *why, size_t why_size)
{
	int ret;
	struct px_buffer buf = {.fd = -1, .size = size, .data = NULL};

	if (size == 0 || size > (uint64_t)SIZE_MAX / 2) {
		snprintf(why, why_size, "invalid size %llu", (unsigned long long)size);
		return -EINVAL;
	}
	buf.fd = memfd_create("pixshare", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (buf.fd < 0) {
		ret = -errno;
		snprintf(why, why_size, "memfd_create: %s", strerror(errno));
		return ret;
	}
	if (ftruncate(buf.fd, (off_t)size) < 0) {
		ret = -errno;
		snprintf(why, why_size, "ftruncate(%llu): %s", (unsigned long long)size, strerror(errno));
		goto err_close;
	}
	buf.data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf.fd, 0);
	if (buf.data == MAP_FAILED) {
		ret = -errno;
		buf.data = NULL;
		snprintf(why, why_size, "mmap(%llu): %s", (unsigned long long)size, strerror(errno));
		goto err_close;
	}
	/*
	 * F_SEAL_FUTURE_WRITE: "the contents of the file can be modified only
	 * through shared writable mappings that were created prior to the seal
	 * being set" (memfd_create(2)). Ours is such a mapping; subscribers can
	 * only ever map the buffer read-only. SHRINK and GROW keep the size
	 * fixed, so a subscriber never faults on a truncated mapping.
	 */
	if (fcntl(buf.fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0) {
		ret = -errno;
		snprintf(why, why_size, "F_ADD_SEALS: %s", strerror(errno));
		goto err_unmap;
	}
	*out = buf;
	return 0;

err_unmap:
	munmap(buf.data, size);
err_close:
	px_close(&buf.fd);
	return ret;
}

static int memfd_alloc_slot(void *priv, struct px_set_layout *layout, bool first,
			    struct px_buffer *bufs, char *why, size_t why_size)
{
	return px_alloc_plain_buffers(priv, layout, bufs, memfd_make, why, why_size);
}

const struct px_allocator_ops px_allocator_memfd = {
	.type = PX_ALLOCATOR_MEMFD,
	.name = "memfd",
	.dmabuf = false,
	.open = memfd_open,
	.close = memfd_close,
	.alloc_slot = memfd_alloc_slot,
	.free_buffer = px_allocator_free_mapped,
};
