/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/util.h"
#include "core/wire.h"

_Static_assert(sizeof(struct px_wire_header) == 16, "wire ABI");
_Static_assert(sizeof(struct px_wire_hello) == 64, "wire ABI");
_Static_assert(sizeof(struct px_wire_plane) == 16, "wire ABI");
_Static_assert(sizeof(struct px_wire_image) == 88, "wire ABI");
_Static_assert(sizeof(struct px_wire_layout) == 1928, "wire ABI");
_Static_assert(sizeof(struct px_wire_vulkan) == 1584, "wire ABI");
_Static_assert(sizeof(struct px_wire_welcome) == 3624, "wire ABI");
_Static_assert(sizeof(struct px_wire_buffers) == 24, "wire ABI");
_Static_assert(sizeof(struct px_wire_buffers_ack) == 24, "wire ABI");
_Static_assert(sizeof(struct px_wire_frame) == 432, "wire ABI");
_Static_assert(sizeof(struct px_wire_release) == 32, "wire ABI");
_Static_assert(sizeof(struct px_wire_end) == 144, "wire ABI");
_Static_assert(sizeof(struct px_wire_stats) == 88, "wire ABI");
_Static_assert(sizeof(struct px_wire_resize) == 24, "wire ABI");
_Static_assert(sizeof(struct px_wire_welcome) <= PX_WIRE_MAX_SIZE, "wire ABI");

size_t px_wire_size(uint16_t type)
{
	switch (type) {
	case PX_MSG_HELLO:
		return sizeof(struct px_wire_hello);
	case PX_MSG_WELCOME:
		return sizeof(struct px_wire_welcome);
	case PX_MSG_BUFFERS:
		return sizeof(struct px_wire_buffers);
	case PX_MSG_BUFFERS_ACK:
		return sizeof(struct px_wire_buffers_ack);
	case PX_MSG_FRAME:
		return sizeof(struct px_wire_frame);
	case PX_MSG_RELEASE:
		return sizeof(struct px_wire_release);
	case PX_MSG_END:
	case PX_MSG_REFUSE:
		return sizeof(struct px_wire_end);
	case PX_MSG_STATS:
		return sizeof(struct px_wire_stats);
	case PX_MSG_GROW:
	case PX_MSG_SHRINK:
		return sizeof(struct px_wire_resize);
	}
	return 0;
}

void px_wire_header_init(struct px_wire_header *hdr, enum px_wire_type type, uint32_t length,
			 uint32_t flags)
{
	hdr->magic = PX_WIRE_MAGIC;
	hdr->version = PX_WIRE_VERSION;
	hdr->type = (uint16_t)type;
	hdr->length = length;
	hdr->flags = flags;
}

int px_wire_send(int sock, const void *msg, size_t len, const int *fds, int n_fds)
{
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int) * PX_WIRE_MAX_FDS)];
		struct cmsghdr align;
	} ctrl;

	assert(n_fds >= 0 && n_fds <= PX_WIRE_MAX_FDS);
	if (n_fds > 0) {
		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n_fds);
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0)
			return (size_t)n == len ? 0 : -EIO;
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

static void close_fds(int *fds, int *n_fds)
{
	for (int i = 0; i < *n_fds; i++)
		px_close(&fds[i]);
	*n_fds = 0;
}

/*
 * Debugging: with PIXSHARE_WIRE_DUMP=DIR (read once per process) every packet
 * received is written to DIR as a file of its bytes, named
 * PID-COUNT-TYPE-NFDS.bin (tests/fuzz/make-corpus turns them into the fuzz
 * targets' seeds). Unset, the cost is one pthread_once per packet.
 */
static pthread_once_t dump_once = PTHREAD_ONCE_INIT;
static char dump_dir[PATH_MAX];

static void dump_init(void)
{
	const char *dir = getenv("PIXSHARE_WIRE_DUMP");
	if (dir && *dir && strlen(dir) < sizeof(dump_dir))
		px_strlcpy(dump_dir, dir, sizeof(dump_dir));
}

static const char *type_name(uint16_t type)
{
	static const char *const names[] = {"?",	   "HELLO", "WELCOME", "BUFFERS",
					    "BUFFERS_ACK", "FRAME", "RELEASE", "END",
					    "REFUSE",	   "STATS", "GROW",    "SHRINK"};
	return type < PX_ARRAY_SIZE(names) ? names[type] : "unknown";
}

static void dump_packet(const void *buf, size_t len, int n_fds)
{
	static atomic_uint count;
	struct px_wire_header hdr = {0};
	char path[sizeof(dump_dir) + 64];

	memcpy(&hdr, buf, PX_MIN(len, sizeof(hdr)));
	if (snprintf(path, sizeof(path), "%s/%d-%06u-%.16s-%dfd.bin", dump_dir, (int)getpid(),
		     atomic_fetch_add(&count, 1),
		     len >= sizeof(hdr) ? type_name(hdr.type) : "short",
		     n_fds) >= (int)sizeof(path))
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		px_log_warn("PIXSHARE_WIRE_DUMP: %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* The fds and flags of one received packet of `n` bytes (recvmsg's return)
 * into `fds`, and the result as px_wire_recv() gives it. */
static int take_packet(struct msghdr *mh, ssize_t n, const void *buf, int *fds, int max_fds,
		       int *n_fds)
{
	int ret = (int)n;
	*n_fds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			ret = -EBADMSG;
			continue;
		}
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *data = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < count; i++) {
			int fd;
			memcpy(&fd, &data[i], sizeof(fd));
			if (*n_fds < PX_WIRE_FD_ROOM)
				fds[(*n_fds)++] = fd;
			else
				close(fd);
		}
	}
	pthread_once(&dump_once, dump_init);
	if (dump_dir[0] && n > 0)
		dump_packet(buf, PX_MIN((size_t)n, (size_t)PX_WIRE_MAX_SIZE), *n_fds);
	if (mh->msg_flags & MSG_TRUNC)
		ret = -EMSGSIZE;
	else if ((mh->msg_flags & MSG_CTRUNC) || *n_fds > max_fds)
		ret = -ETOOMANYREFS;
	/* A packet of 0 bytes reads as a hang-up (recvmsg() returns 0 for
	 * both), and no caller takes fds with a hang-up. */
	if (ret <= 0)
		close_fds(fds, n_fds);
	return ret;
}

int px_wire_recv(int sock, void *buf, int *fds, int max_fds, int *n_fds)
{
	struct iovec iov = {.iov_base = buf, .iov_len = PX_WIRE_MAX_SIZE};
	union {
		/* Room for more than we accept, so that an excess is seen as such
		 * and its fds closed rather than silently truncated. */
		char buf[CMSG_SPACE(sizeof(int) * PX_WIRE_FD_ROOM)];
		struct cmsghdr align;
	} ctrl;
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctrl.buf,
		.msg_controllen = sizeof(ctrl.buf),
	};
	ssize_t n;

	*n_fds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return take_packet(&mh, n, buf, fds, max_fds, n_fds);
}

int px_wire_recv_next(int sock, struct px_wire_batch *b, const void **buf, int *fds, int max_fds,
		      int *n_fds)
{
	*n_fds = 0;
	*buf = NULL;
	if (b->next == b->count) {
		if (b->drained) {
			/* The last refill emptied the queue: the caller waits for
			 * more rather than asking again. */
			b->drained = false;
			return -EAGAIN;
		}
		for (unsigned i = 0; i < PX_WIRE_BATCH; i++) {
			b->iov[i] = (struct iovec){b->data[i], PX_WIRE_MAX_SIZE};
			b->hdrs[i] = (struct mmsghdr){
			    .msg_hdr = {.msg_iov = &b->iov[i],
					.msg_iovlen = 1,
					.msg_control = b->ctrl[i].buf,
					.msg_controllen = sizeof(b->ctrl[i].buf)}};
		}
		int n;
		do
			n = recvmmsg(sock, b->hdrs, PX_WIRE_BATCH, MSG_CMSG_CLOEXEC | MSG_DONTWAIT,
				     NULL);
		while (n < 0 && errno == EINTR);
		b->next = b->count = 0;
		if (n < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		b->count = (unsigned)n;
		b->drained = n < PX_WIRE_BATCH;
	}
	unsigned i = b->next++;
	*buf = b->data[i];
	return take_packet(&b->hdrs[i].msg_hdr, b->hdrs[i].msg_len, b->data[i], fds, max_fds,
			   n_fds);
}

void px_wire_batch_drop(struct px_wire_batch *b)
{
	int fds[PX_WIRE_FD_ROOM], n_fds;
	while (b->next < b->count) {
		unsigned i = b->next++;
		/* Allowed no fds: any that came are closed. */
		take_packet(&b->hdrs[i].msg_hdr, b->hdrs[i].msg_len, b->data[i], fds, 0, &n_fds);
	}
	b->next = b->count = 0;
	b->drained = false;
}

/* The reason into `why`, and -EINVAL: the application's bad input. */
#define BAD(...)                                                                                   \
	do {                                                                                       \
		if (why && why_size)                                                               \
			snprintf(why, why_size, __VA_ARGS__);                                      \
		return -EINVAL;                                                                    \
	} while (0)

int px_vulkan_export_check(const struct px_vulkan_export *v, const struct px_set_layout *l,
			   char *why, size_t why_size)
{
	if (v->memory_type >= 32)
		BAD("Vulkan export: memory type %u; Vulkan has at most 32", v->memory_type);
	if (!v->buffer_usage)
		BAD("Vulkan export: buffer usage 0");
	for (uint32_t b = 0; b < l->n_buffers; b++) {
		uint64_t at = v->offset[b], size = v->buffer_size[b], end;
		if (!v->allocation_size[b])
			BAD("Vulkan export: buffer %u: allocation of 0 bytes", b);
		if (!size || size > v->allocation_size[b])
			BAD("Vulkan export: buffer %u: a VkBuffer of %llu bytes in an allocation "
			    "of %llu",
			    b, (unsigned long long)size, (unsigned long long)v->allocation_size[b]);
		if (__builtin_add_overflow(at, size, &end) || end < l->buffer_sizes[b])
			BAD("Vulkan export: buffer %u: the VkBuffer covers bytes %llu + %llu of "
			    "the fd, short of the layout's %llu",
			    b, (unsigned long long)at, (unsigned long long)size,
			    (unsigned long long)l->buffer_sizes[b]);
	}
	for (uint32_t i = 0; i < l->n_images; i++)
		for (uint32_t p = 0; p < l->images[i].n_planes; p++) {
			const struct px_plane *pl = &l->images[i].planes[p];
			if (pl->offset < v->offset[pl->buffer])
				BAD("Vulkan export: image %u plane %u starts at byte %llu of "
				    "buffer %u, before its memory (byte %llu)",
				    i, p, (unsigned long long)pl->offset, pl->buffer,
				    (unsigned long long)v->offset[pl->buffer]);
		}
	return 0;
}

#undef BAD

#define FAIL(...)                                           \
	do {                                                \
		if (why && why_size)                        \
			snprintf(why, why_size, __VA_ARGS__); \
		return -EPROTO;                             \
	} while (0)

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

int px_wire_validate(const void *buf, size_t len, int n_fds, char *why, size_t why_size)
{
	struct px_wire_header hdr;

	if (len < sizeof(hdr))
		FAIL("message of %zu bytes is shorter than a header", len);
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.magic != PX_WIRE_MAGIC)
		FAIL("bad magic 0x%08x", hdr.magic);
	if (hdr.version != PX_WIRE_VERSION)
		FAIL("protocol version %u, this side speaks %u", hdr.version, PX_WIRE_VERSION);
	size_t size = px_wire_size(hdr.type);
	if (!size)
		FAIL("unknown message type %u", hdr.type);
	if (hdr.length != len || len != size)
		FAIL("%s of %zu bytes (header says %u); it has %zu", type_name(hdr.type), len,
		     hdr.length, size);
	int fence_flag = hdr.type == PX_MSG_FRAME	  ? PX_FRAME_FENCE
			 : hdr.type == PX_MSG_RELEASE ? PX_RELEASE_FENCE
						      : 0;
	if (hdr.type != PX_MSG_BUFFERS) {
		int want = fence_flag && (hdr.flags & (uint32_t)fence_flag) ? 1 : 0;
		if (n_fds != want)
			FAIL("%s carries %d fds; it carries %d", type_name(hdr.type), n_fds, want);
	}

	uint32_t allowed_flags = 0;
	switch (hdr.type) {
	case PX_MSG_HELLO: {
		const struct px_wire_hello *m = buf;
		allowed_flags = PX_HELLO_QUERY;
		if (m->qos > PX_QOS_RELIABLE)
			FAIL("HELLO: unknown QoS %u", m->qos);
		if (m->qos == PX_QOS_QUEUE ? (m->queue_depth < 1 || m->queue_depth > PX_MAX_SLOTS)
					   : m->queue_depth != 0)
			FAIL("HELLO: queue depth %u for QoS %u", m->queue_depth, m->qos);
		if (m->max_leases > PX_MAX_LEASES)
			FAIL("HELLO: %u leases; at most %u", m->max_leases, PX_MAX_LEASES);
		if (m->reserved)
			FAIL("HELLO: reserved field set");
		if (!terminated(m->name, sizeof(m->name)))
			FAIL("HELLO: name not terminated");
		break;
	}
	case PX_MSG_WELCOME: {
		const struct px_wire_welcome *m = buf;
		allowed_flags = PX_WELCOME_DMABUF | PX_WELCOME_VULKAN | PX_WELCOME_UNMAPPED |
				PX_WELCOME_READ_ONLY;
		if (m->pool_size < 1 || m->pool_size > PX_MAX_SLOTS)
			FAIL("WELCOME: pool of %u slots", m->pool_size);
		if (m->max_leases < 1 || m->max_leases > PX_MAX_LEASES)
			FAIL("WELCOME: %u leases granted", m->max_leases);
		if (m->allocator < PX_ALLOCATOR_MEMFD || m->allocator > PX_ALLOCATOR_EXTERNAL)
			FAIL("WELCOME: unknown allocator %u", m->allocator);
		/* External buffers are dma-bufs or memfds, as the application made them. */
		if (m->allocator != PX_ALLOCATOR_EXTERNAL &&
		    !(m->hdr.flags & PX_WELCOME_DMABUF) != (m->allocator == PX_ALLOCATOR_MEMFD))
			FAIL("WELCOME: allocator %u with dma-buf flag %u", m->allocator,
			     m->hdr.flags & PX_WELCOME_DMABUF);
		/* Unmapped memfds: only a Vulkan export's are read without mapping. */
		if ((m->hdr.flags & PX_WELCOME_UNMAPPED) &&
		    !(m->hdr.flags & (PX_WELCOME_DMABUF | PX_WELCOME_VULKAN)))
			FAIL("WELCOME: unmapped buffers that are neither dma-bufs nor a Vulkan "
			     "export");
		if (m->pid <= 0)
			FAIL("WELCOME: pid %d", m->pid);
		if (m->device && m->allocator != PX_ALLOCATOR_GBM &&
		    m->allocator != PX_ALLOCATOR_DUMB && m->allocator != PX_ALLOCATOR_EXTERNAL)
			FAIL("WELCOME: a device for allocator %u, which has none", m->allocator);
		if (!terminated(m->description, sizeof(m->description)))
			FAIL("WELCOME: description not terminated");
		if ((uint64_t)m->pool_size * m->layout.n_buffers > PX_MAX_SLOTS * PX_MAX_BUFFERS)
			FAIL("WELCOME: too many buffers");
		if (m->hdr.flags & PX_WELCOME_VULKAN) {
			if (m->allocator != PX_ALLOCATOR_EXTERNAL)
				FAIL("WELCOME: a Vulkan export from allocator %u", m->allocator);
		} else {
			static const struct px_wire_vulkan zero;
			if (memcmp(&m->vulkan, &zero, sizeof(zero)))
				FAIL("WELCOME: Vulkan export fields set without its flag");
		}
		/* The layout and the Vulkan export are checked by
		 * px_wire_decode_layout() and px_wire_decode_vulkan(). */
		break;
	}
	case PX_MSG_BUFFERS: {
		const struct px_wire_buffers *m = buf;
		if (m->count < 1 || m->count > PX_WIRE_MAX_FDS)
			FAIL("BUFFERS: count %u", m->count);
		if ((int)m->count != n_fds)
			FAIL("BUFFERS: count %u but %d fds attached", m->count, n_fds);
		break;
	}
	case PX_MSG_BUFFERS_ACK: {
		const struct px_wire_buffers_ack *m = buf;
		if (m->reserved)
			FAIL("BUFFERS_ACK: reserved field set");
		break;
	}
	case PX_MSG_FRAME: {
		const struct px_wire_frame *m = buf;
		allowed_flags = PX_FRAME_FENCE | PX_FRAME_REPLAY;
		if (m->n_images < 1 || m->n_images > PX_MAX_IMAGES)
			FAIL("FRAME: %u images", m->n_images);
		if (m->n_images < 32 && (m->valid_mask >> m->n_images))
			FAIL("FRAME: mask 0x%x for %u images", m->valid_mask, m->n_images);
		if (m->seq == 0)
			FAIL("FRAME: sequence 0");
		break;
	}
	case PX_MSG_RELEASE: {
		const struct px_wire_release *m = buf;
		allowed_flags = PX_RELEASE_FENCE;
		if (m->reserved)
			FAIL("RELEASE: reserved field set");
		if (m->seq == 0)
			FAIL("RELEASE: sequence 0");
		break;
	}
	case PX_MSG_END:
	case PX_MSG_REFUSE: {
		const struct px_wire_end *m = buf;
		if (m->error > 0 || m->error < -4095)
			FAIL("%s: error %d", type_name(hdr.type), m->error);
		if (m->reserved)
			FAIL("%s: reserved field set", type_name(hdr.type));
		if (!terminated(m->text, sizeof(m->text)))
			FAIL("%s: text not terminated", type_name(hdr.type));
		break;
	}
	case PX_MSG_STATS:
		break;
	case PX_MSG_GROW:
	case PX_MSG_SHRINK: {
		const struct px_wire_resize *m = buf;
		if (m->pool_size < 1 || m->pool_size > PX_MAX_SLOTS)
			FAIL("%s: pool of %u slots", type_name(hdr.type), m->pool_size);
		if (m->reserved)
			FAIL("%s: reserved field set", type_name(hdr.type));
		break;
	}
	}
	if (hdr.flags & ~allowed_flags)
		FAIL("%s: unknown flags 0x%x", type_name(hdr.type), hdr.flags);
	return 0;
}

void px_wire_encode_layout(struct px_wire_layout *w, const struct px_set_layout *l)
{
	memset(w, 0, sizeof(*w));
	w->n_images = l->n_images;
	w->n_buffers = l->n_buffers;
	for (uint32_t b = 0; b < l->n_buffers; b++)
		w->buffer_sizes[b] = l->buffer_sizes[b];
	for (uint32_t i = 0; i < l->n_images; i++) {
		const struct px_image_layout *img = &l->images[i];
		struct px_wire_image *wi = &w->images[i];
		wi->fourcc = img->fourcc;
		wi->width = img->width;
		wi->height = img->height;
		wi->n_planes = img->n_planes;
		wi->modifier = img->modifier;
		for (uint32_t p = 0; p < img->n_planes; p++) {
			wi->planes[p].buffer = img->planes[p].buffer;
			wi->planes[p].stride = img->planes[p].stride;
			wi->planes[p].offset = img->planes[p].offset;
		}
	}
}

int px_wire_decode_layout(const struct px_wire_layout *w, struct px_set_layout *l, char *why,
			  size_t why_size)
{
	struct px_set_layout out;
	char reason[160];

	memset(&out, 0, sizeof(out));
	if (w->n_images < 1 || w->n_images > PX_MAX_IMAGES)
		FAIL("layout: %u images", w->n_images);
	if (w->n_buffers < 1 || w->n_buffers > PX_MAX_BUFFERS)
		FAIL("layout: %u buffers", w->n_buffers);
	out.n_images = w->n_images;
	out.n_buffers = w->n_buffers;
	for (uint32_t b = 0; b < w->n_buffers; b++)
		out.buffer_sizes[b] = w->buffer_sizes[b];
	for (uint32_t i = 0; i < w->n_images; i++) {
		const struct px_wire_image *wi = &w->images[i];
		struct px_image_layout *img = &out.images[i];
		if (wi->n_planes < 1 || wi->n_planes > PX_MAX_PLANES)
			FAIL("layout: image %u has %u planes", i, wi->n_planes);
		img->fourcc = wi->fourcc;
		img->width = wi->width;
		img->height = wi->height;
		img->n_planes = wi->n_planes;
		img->modifier = wi->modifier;
		for (uint32_t p = 0; p < wi->n_planes; p++) {
			img->planes[p].buffer = wi->planes[p].buffer;
			img->planes[p].stride = wi->planes[p].stride;
			img->planes[p].offset = wi->planes[p].offset;
		}
	}
	if (px_layout_validate(&out, reason, sizeof(reason)))
		FAIL("layout: %s", reason);
	*l = out;
	return 0;
}

void px_wire_encode_vulkan(struct px_wire_vulkan *w, const struct px_vulkan_export *v,
			   uint32_t n_buffers)
{
	memset(w, 0, sizeof(*w));
	memcpy(w->device_uuid, v->device_uuid, sizeof(w->device_uuid));
	memcpy(w->driver_uuid, v->driver_uuid, sizeof(w->driver_uuid));
	w->memory_type = v->memory_type;
	w->buffer_usage = v->buffer_usage;
	w->dedicated = v->dedicated;
	for (uint32_t b = 0; b < n_buffers && b < PX_MAX_BUFFERS; b++) {
		w->allocation_size[b] = v->allocation_size[b];
		w->offset[b] = v->offset[b];
		w->buffer_size[b] = v->buffer_size[b];
	}
}

int px_wire_decode_vulkan(const struct px_wire_vulkan *w, const struct px_set_layout *l,
			  struct px_vulkan_export *v, char *why, size_t why_size)
{
	struct px_vulkan_export out;
	char reason[200];

	memset(&out, 0, sizeof(out));
	if (w->dedicated > 1)
		FAIL("Vulkan export: dedicated %u", w->dedicated);
	if (w->reserved)
		FAIL("Vulkan export: reserved field set");
	for (uint32_t b = l->n_buffers; b < PX_MAX_BUFFERS; b++)
		if (w->allocation_size[b] || w->offset[b] || w->buffer_size[b])
			FAIL("Vulkan export: buffer %u of a layout of %u", b, l->n_buffers);
	memcpy(out.device_uuid, w->device_uuid, sizeof(out.device_uuid));
	memcpy(out.driver_uuid, w->driver_uuid, sizeof(out.driver_uuid));
	out.memory_type = w->memory_type;
	out.buffer_usage = w->buffer_usage;
	out.dedicated = w->dedicated;
	for (uint32_t b = 0; b < l->n_buffers; b++) {
		out.allocation_size[b] = w->allocation_size[b];
		out.offset[b] = w->offset[b];
		out.buffer_size[b] = w->buffer_size[b];
	}
	if (px_vulkan_export_check(&out, l, reason, sizeof(reason)))
		FAIL("%s", reason);
	*v = out;
	return 0;
}
