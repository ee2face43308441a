/* SPDX-License-Identifier: MIT */
/*
 * Pool buffers as both sides see them: dma-bufs (CPU access bracketed with
 * DMA_BUF_IOCTL_SYNC) and memfds, and the checks the publisher makes of an
 * application's buffers and the subscriber makes of the publisher's — the
 * same checks, so that a pool the publisher accepts is one its subscribers
 * accept. Private to the library.
 */
#ifndef PX_CORE_DMABUF_H
#define PX_CORE_DMABUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pixshare/publisher.h>

/* Whether `fd` is a dma-buf (its file system is the kernel's dmabuf one). */
bool px_fd_is_dmabuf(int fd);

/* Whether a pool buffer's fd lets no one who holds it write into the
 * buffer from the CPU: a dma-buf opened O_RDONLY (mmap refuses PROT_WRITE),
 * a memfd sealed with F_SEAL_WRITE or F_SEAL_FUTURE_WRITE. Anything else
 * (an opaque Vulkan fd, an error) is not. A GPU import of a dma-buf is not
 * bound by its mode: the kernel does not check it. */
bool px_fd_read_only(int fd);

/* Brackets CPU access to a mapped dma-buf (DMA_BUF_IOCTL_SYNC): `start`
 * true before, false after; `write` for write access. A no-op for fds that
 * are not dma-bufs. */
void px_dmabuf_sync(int fd, bool start, bool write);

/* Maps a dma-buf read-write for the publisher; data stays NULL (and 0 is
 * returned) where the exporter does not support mmap or the fd is
 * read-only. */
int px_dmabuf_map(struct px_buffer *buf);

/* The index of the first of `n` dma-bufs whose implicit fences have not all
 * signaled, or -1 (also where poll() fails: DMA_BUF_IOCTL_SYNC would not
 * wait then either). `write`: every fence (what a CPU writer waits for),
 * else the write fences (what a reader waits for). One poll() for all. */
int px_dmabuf_first_busy(const int *fds, uint32_t n, bool write);

/* Whether a read-only dma-buf (px_fd_read_only()) of `size` bytes can be
 * mapped for reading: its exporter supports mmap. The publisher of a pool
 * whose device writes the frames has no mapping of its own, yet its
 * subscribers may map it. */
bool px_dmabuf_maps_read_only(int fd, uint64_t size);

/*
 * Checks a pool buffer of `size` bytes before anyone maps it: where `dmabuf`,
 * a dma-buf at least `size` bytes long; else a memfd (a regular file that
 * takes seals) sealed with F_SEAL_SHRINK, so that no one can truncate it
 * under a mapping and fault the mapper with SIGBUS, at least `size` bytes
 * long. Returns 0, or -EINVAL with the reason in `why`; the fd's offset is
 * left at 0.
 */
int px_pool_buffer_check(int fd, bool dmabuf, uint64_t size, char *why, size_t why_size);

#endif
