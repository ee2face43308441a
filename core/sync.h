/* SPDX-License-Identifier: MIT */
/* sync_file fences and the implicit fences of dma-bufs. */
#ifndef PX_CORE_SYNC_H
#define PX_CORE_SYNC_H

#include <stdbool.h>

/*
 * The fences a reader (write: false) or a writer (write: true) of a dma-buf
 * must wait for, as one sync_file (DMA_BUF_IOCTL_EXPORT_SYNC_FILE, Linux
 * 6.0). Returns the fd (CLOEXEC), or a negative errno (-ENOTTY: not a dma-buf
 * or an older kernel).
 */
int px_dmabuf_export_fence(int dmabuf, bool write);

/* Adds a sync_file to a dma-buf's implicit fences, as a reader's (write:
 * false) or a writer's. Does not take `fence`. 0 or a negative errno. */
int px_dmabuf_import_fence(int dmabuf, int fence, bool write);

/* Merges two sync_files into a new one (CLOEXEC); takes neither. Returns the
 * fd or a negative errno. */
int px_sync_merge(int a, int b);

/* Whether `fd` is a sync_file (SYNC_IOC_FILE_INFO answers): fences from
 * peers and from the application are checked with this before use. */
bool px_fence_is_sync_file(int fd);

/* Whether a sync_file has signaled (a poll with no wait). */
bool px_fence_signaled(int fence);

#endif
