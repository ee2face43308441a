/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/sync.h"

static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret;
	do
		ret = ioctl(fd, req, arg);
	while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	return ret < 0 ? -errno : ret;
}

int px_dmabuf_export_fence(int dmabuf, bool write)
{
	struct dma_buf_export_sync_file args = {
		.flags = write ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ,
		.fd = -1,
	};
	int ret = xioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &args);
	return ret < 0 ? ret : args.fd;
}

int px_dmabuf_import_fence(int dmabuf, int fence, bool write)
{
	struct dma_buf_import_sync_file args = {
		.flags = write ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ,
		.fd = fence,
	};
	return xioctl(dmabuf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &args);
}

int px_sync_merge(int a, int b)
{
	struct sync_merge_data data;
	memset(&data, 0, sizeof(data));
	strcpy(data.name, "pixshare");
	data.fd2 = b;
	int ret = xioctl(a, SYNC_IOC_MERGE, &data);
	return ret < 0 ? ret : data.fence;
}

bool px_fence_is_sync_file(int fd)
{
	/* Only a sync_file answers SYNC_IOC_FILE_INFO; asking for no fence
	 * details makes it copy out the header alone. */
	struct sync_file_info info;
	memset(&info, 0, sizeof(info));
	return fd >= 0 && xioctl(fd, SYNC_IOC_FILE_INFO, &info) == 0;
}

bool px_fence_signaled(int fence)
{
	struct pollfd p = {.fd = fence, .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}
