/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/dmabuf.h"
#include "core/util.h"

/*
 * Since Linux 5.3 ("dma-buf: give each buffer a full-fledged inode") every
 * dma-buf has its own inode on the kernel's "dmabuf" pseudo-filesystem, whose
 * f_type is DMA_BUF_MAGIC; before, dma-bufs shared anon_inodefs with eventfds,
 * timerfds and the like, and nothing as cheap told them apart. fstatfs() is one
 * system call without side effects on any fd, where /proc/self/fdinfo's
 * exp_name line needs procfs and text parsing, and an ioctl probe could mean
 * something else to another driver's file.
 */
bool px_fd_is_dmabuf(int fd)
{
	struct statfs sfs;
	return fstatfs(fd, &sfs) == 0 && (unsigned long)sfs.f_type == DMA_BUF_MAGIC;
}

bool px_fd_read_only(int fd)
{
	if (px_fd_is_dmabuf(fd)) {
		int fl = fcntl(fd, F_GETFL);
		return fl >= 0 && (fl & O_ACCMODE) == O_RDONLY;
	}
	int seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE));
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
	if (px_fd_read_only(buf->fd)) {
		/* Given read-only (a camera's export): a device writes it. */
		buf->data = NULL;
		return 0;
	}
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

int px_dmabuf_first_busy(const int *fds, uint32_t n, bool write)
{
	struct pollfd p[PX_MAX_BUFFERS];
	n = PX_MIN(n, (uint32_t)PX_MAX_BUFFERS);
	for (uint32_t i = 0; i < n; i++)
		p[i] = (struct pollfd){.fd = fds[i], .events = write ? POLLOUT : POLLIN};
	int ready = n ? poll(p, n, 0) : 0;
	if (ready < 0 || (uint32_t)ready == n)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (!p[i].revents)
			return (int)i;
	return -1;
}

bool px_dmabuf_maps_read_only(int fd, uint64_t size)
{
	if (!size || !px_fd_is_dmabuf(fd) || !px_fd_read_only(fd))
		return false;
	void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return false;
	munmap(p, size);
	return true;
}

int px_pool_buffer_check(int fd, bool dmabuf, uint64_t size, char *why, size_t why_size)
{
	if (dmabuf) {
		if (!px_fd_is_dmabuf(fd)) {
			snprintf(why, why_size, "not a dma-buf");
			return -EINVAL;
		}
		/* A dma-buf's size is its end (dma_buf_llseek). */
		off_t end = lseek(fd, 0, SEEK_END);
		lseek(fd, 0, SEEK_SET);
		if (end < 0 || (uint64_t)end < size) {
			snprintf(why, why_size, "dma-buf of %lld bytes; the layout needs %llu",
				 (long long)end, (unsigned long long)size);
			return -EINVAL;
		}
		return 0;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(why, why_size, "fstat: %s", strerror(errno));
		return -EINVAL;
	}
	int seals = fcntl(fd, F_GET_SEALS);
	if (!S_ISREG(st.st_mode) || seals < 0) {
		snprintf(why, why_size, "neither a dma-buf nor a memfd");
		return -EINVAL;
	}
	if (!(seals & F_SEAL_SHRINK)) {
		snprintf(why, why_size, "memfd not sealed against shrinking (F_SEAL_SHRINK)");
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < size) {
		snprintf(why, why_size, "memfd of %lld bytes; the layout needs %llu",
			 (long long)st.st_size, (unsigned long long)size);
		return -EINVAL;
	}
	return 0;
}
