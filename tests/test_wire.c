/* SPDX-License-Identifier: MIT */
/*
 * The wire protocol: pinned struct sizes, validation of every message type
 * against hostile edits, random garbage, and the socket layer's handling of
 * truncation, excess fds and hang-ups.
 */
#include <errno.h>
#include <sys/socket.h>

#include <pixshare/pixshare.h>

#include "core/wire.h"
#include "px_test.h"

static void test_sizes(void)
{
	/* The wire ABI: a change here is a protocol version change. */
	REQUIRE_EQ(sizeof(struct px_wire_header), 16);
	REQUIRE_EQ(sizeof(struct px_wire_hello), 64);
	REQUIRE_EQ(sizeof(struct px_wire_plane), 16);
	REQUIRE_EQ(sizeof(struct px_wire_image), 88);
	REQUIRE_EQ(sizeof(struct px_wire_layout), 1928);
	REQUIRE_EQ(sizeof(struct px_wire_vulkan), 1584);
	REQUIRE_EQ(sizeof(struct px_wire_welcome), 3624);
	REQUIRE_EQ(sizeof(struct px_wire_buffers), 24);
	REQUIRE_EQ(sizeof(struct px_wire_buffers_ack), 24);
	REQUIRE_EQ(sizeof(struct px_wire_frame), 432);
	REQUIRE_EQ(sizeof(struct px_wire_release), 32);
	REQUIRE_EQ(sizeof(struct px_wire_end), 144);
	REQUIRE_EQ(sizeof(struct px_wire_stats), 88);
	REQUIRE_EQ(sizeof(struct px_wire_resize), 24);
	REQUIRE_EQ(offsetof(struct px_wire_frame, images), 48);
	REQUIRE_EQ(offsetof(struct px_wire_welcome, layout), 112);
	REQUIRE_EQ(offsetof(struct px_wire_welcome, vulkan), 2040);
	for (uint16_t t = 1; t <= PX_MSG_SHRINK; t++)
		REQUIRE(px_wire_size(t) > 0 && px_wire_size(t) <= PX_WIRE_MAX_SIZE);
	REQUIRE_EQ(px_wire_size(0), 0);
	REQUIRE_EQ(px_wire_size(PX_MSG_SHRINK + 1), 0);
}

static struct px_set_layout layout;

static void make_layout(void)
{
	struct px_image_desc d[2] = {{PX_FORMAT_NV12, 64, 48}, {PX_FORMAT_YUYV, 32, 16}};
	REQUIRE_OK(px_layout_init_packed(&layout, 2, d, 64, PX_PACK_PER_IMAGE));
}

#define VALID(msg, fds) REQUIRE_OK(px_wire_validate(&(msg), sizeof(msg), fds, why, sizeof(why)))
#define INVALID(msg, fds)                                                                          \
	do {                                                                                       \
		why[0] = '\0';                                                                     \
		REQUIRE_EQ(px_wire_validate(&(msg), sizeof(msg), fds, why, sizeof(why)), -EPROTO); \
		REQUIRE(why[0]);                                                                   \
	} while (0)

static void test_validate(void)
{
	char why[200];

	struct px_wire_hello h0, h;
	memset(&h0, 0, sizeof(h0));
	px_wire_header_init(&h0.hdr, PX_MSG_HELLO, sizeof(h0), 0);
	strcpy(h0.name, "test");
	h = h0;
	VALID(h, 0);
	h = h0, h.hdr.magic ^= 1;
	INVALID(h, 0);
	h = h0, h.hdr.version = PX_WIRE_VERSION + 1;
	INVALID(h, 0);
	h = h0, h.hdr.version = PX_WIRE_VERSION - 1; /* 3: no GROW nor SHRINK */
	INVALID(h, 0);
	h = h0, h.hdr.type = 77;
	INVALID(h, 0);
	h = h0, h.hdr.length = 63;
	INVALID(h, 0);
	h = h0, h.hdr.flags = 2;
	INVALID(h, 0);
	h = h0, h.qos = 3;
	INVALID(h, 0);
	h = h0, h.queue_depth = 3; /* latest with a queue */
	INVALID(h, 0);
	h = h0, h.qos = PX_QOS_QUEUE; /* queue without depth */
	INVALID(h, 0);
	h = h0, h.qos = PX_QOS_QUEUE, h.queue_depth = PX_MAX_SLOTS + 1;
	INVALID(h, 0);
	h = h0, h.qos = PX_QOS_QUEUE, h.queue_depth = 4;
	VALID(h, 0);
	h = h0, h.max_leases = PX_MAX_LEASES + 1;
	INVALID(h, 0);
	h = h0, h.reserved = 1;
	INVALID(h, 0);
	h = h0, memset(h.name, 'x', sizeof(h.name));
	INVALID(h, 0);
	h = h0;
	INVALID(h, 1); /* fds on a message that carries none */
	REQUIRE_EQ(px_wire_validate(&h0, sizeof(h0) - 1, 0, why, sizeof(why)), -EPROTO);
	REQUIRE_EQ(px_wire_validate(&h0, 8, 0, why, sizeof(why)), -EPROTO);
	REQUIRE_EQ(px_wire_validate(&h0, 0, 0, why, sizeof(why)), -EPROTO);

	struct px_wire_welcome w0, w;
	memset(&w0, 0, sizeof(w0));
	px_wire_header_init(&w0.hdr, PX_MSG_WELCOME, sizeof(w0), 0);
	w0.pool_size = 8;
	w0.max_leases = 2;
	w0.allocator = PX_ALLOCATOR_MEMFD;
	w0.pid = 1;
	px_wire_encode_layout(&w0.layout, &layout);
	w = w0;
	VALID(w, 0);
	w = w0, w.pool_size = 0;
	INVALID(w, 0);
	w = w0, w.pool_size = PX_MAX_SLOTS + 1;
	INVALID(w, 0);
	w = w0, w.max_leases = 0;
	INVALID(w, 0);
	w = w0, w.allocator = 0;
	INVALID(w, 0);
	w = w0, w.allocator = 99;
	INVALID(w, 0);
	w = w0, w.pid = 0;
	INVALID(w, 0);
	w = w0, memset(w.description, 'd', sizeof(w.description));
	INVALID(w, 0);
	w = w0, w.hdr.flags = 16;
	INVALID(w, 0);
	w = w0, w.hdr.flags = PX_WELCOME_READ_ONLY;
	VALID(w, 0);
	/* Unmapped buffers: dma-bufs or a Vulkan export, never plain memfds. */
	w = w0, w.hdr.flags = PX_WELCOME_UNMAPPED;
	INVALID(w, 0);
	w = w0, w.allocator = PX_ALLOCATOR_EXTERNAL, w.hdr.flags = PX_WELCOME_UNMAPPED;
	INVALID(w, 0);
	w = w0, w.allocator = PX_ALLOCATOR_EXTERNAL,
	w.hdr.flags = PX_WELCOME_UNMAPPED | PX_WELCOME_DMABUF;
	VALID(w, 0);
	w = w0, w.allocator = PX_ALLOCATOR_EXTERNAL,
	w.hdr.flags = PX_WELCOME_UNMAPPED | PX_WELCOME_VULKAN;
	VALID(w, 0);
	w = w0, w.allocator = PX_ALLOCATOR_UDMABUF,
	w.hdr.flags = PX_WELCOME_UNMAPPED | PX_WELCOME_DMABUF;
	VALID(w, 0);
	/* A Vulkan export: external pools only, and its fields only with its
	 * flag (the fields themselves: test_vulkan_codec). */
	w = w0, w.hdr.flags = PX_WELCOME_VULKAN;
	INVALID(w, 0);
	w = w0, w.allocator = PX_ALLOCATOR_EXTERNAL, w.hdr.flags = PX_WELCOME_VULKAN;
	VALID(w, 0);
	w = w0, w.allocator = PX_ALLOCATOR_EXTERNAL, w.vulkan.memory_type = 1;
	INVALID(w, 0);
	w = w0, w.vulkan.buffer_size[PX_MAX_BUFFERS - 1] = 1;
	INVALID(w, 0);

	struct px_wire_buffers b0, b;
	memset(&b0, 0, sizeof(b0));
	px_wire_header_init(&b0.hdr, PX_MSG_BUFFERS, sizeof(b0), 0);
	b0.count = 3;
	b = b0;
	VALID(b, 3);
	INVALID(b, 2);
	INVALID(b, 0);
	b = b0, b.count = 0;
	INVALID(b, 0);
	b = b0, b.count = PX_WIRE_MAX_FDS + 1;
	INVALID(b, PX_WIRE_MAX_FDS + 1);

	struct px_wire_frame f0, f;
	memset(&f0, 0, sizeof(f0));
	px_wire_header_init(&f0.hdr, PX_MSG_FRAME, sizeof(f0), 0);
	f0.n_images = 2;
	f0.valid_mask = 3;
	f0.seq = 1;
	f = f0;
	VALID(f, 0);
	f = f0, f.valid_mask = 4;
	INVALID(f, 0);
	f = f0, f.n_images = 0;
	INVALID(f, 0);
	f = f0, f.n_images = 17;
	INVALID(f, 0);
	f = f0, f.seq = 0;
	INVALID(f, 0);
	f = f0, f.hdr.flags = PX_FRAME_FENCE; /* a fence flag needs its fd */
	INVALID(f, 0);
	VALID(f, 1);
	INVALID(f, 2);
	f = f0;
	INVALID(f, 1); /* an fd without the flag */
	f = f0, f.hdr.flags = 4;
	INVALID(f, 0);
	f = f0, f.hdr.flags = PX_FRAME_REPLAY;
	VALID(f, 0);
	f = f0, f.n_images = 16, f.valid_mask = 0xffff;
	VALID(f, 0);

	struct px_wire_release r0, r;
	memset(&r0, 0, sizeof(r0));
	px_wire_header_init(&r0.hdr, PX_MSG_RELEASE, sizeof(r0), 0);
	r0.seq = 5;
	r = r0;
	VALID(r, 0);
	r = r0, r.seq = 0;
	INVALID(r, 0);
	r = r0, r.reserved = 1;
	INVALID(r, 0);
	INVALID(r0, 1);
	r = r0, r.hdr.flags = PX_RELEASE_FENCE;
	VALID(r, 1);
	INVALID(r, 0);
	r = r0, r.hdr.flags = 2;
	INVALID(r, 0);

	struct px_wire_end e0, e;
	memset(&e0, 0, sizeof(e0));
	px_wire_header_init(&e0.hdr, PX_MSG_END, sizeof(e0), 0);
	e = e0;
	VALID(e, 0);
	e = e0, e.error = 5;
	INVALID(e, 0);
	e = e0, e.error = -100000;
	INVALID(e, 0);
	e = e0, memset(e.text, 't', sizeof(e.text));
	INVALID(e, 0);

	for (uint16_t type = PX_MSG_GROW; type <= PX_MSG_SHRINK; type++) {
		struct px_wire_resize z0, z;
		memset(&z0, 0, sizeof(z0));
		px_wire_header_init(&z0.hdr, (enum px_wire_type)type, sizeof(z0), 0);
		z0.pool_size = 5;
		z = z0;
		VALID(z, 0);
		z = z0, z.pool_size = PX_MAX_SLOTS;
		VALID(z, 0);
		z = z0, z.pool_size = 0;
		INVALID(z, 0);
		z = z0, z.pool_size = PX_MAX_SLOTS + 1;
		INVALID(z, 0);
		z = z0, z.reserved = 1;
		INVALID(z, 0);
		z = z0, z.hdr.flags = 1;
		INVALID(z, 0);
		z = z0;
		INVALID(z, 1); /* no fds */
	}
}

static void test_layout_codec(void)
{
	struct px_wire_layout w, w0;
	struct px_set_layout back;
	char why[200];

	px_wire_encode_layout(&w0, &layout);
	REQUIRE_OK(px_wire_decode_layout(&w0, &back, why, sizeof(why)));
	REQUIRE(px_layout_equal(&back, &layout));

	w = w0, w.n_images = 0;
	REQUIRE_EQ(px_wire_decode_layout(&w, &back, why, sizeof(why)), -EPROTO);
	w = w0, w.n_buffers = 1000;
	REQUIRE_EQ(px_wire_decode_layout(&w, &back, why, sizeof(why)), -EPROTO);
	w = w0, w.images[0].n_planes = 9;
	REQUIRE_EQ(px_wire_decode_layout(&w, &back, why, sizeof(why)), -EPROTO);
	w = w0, w.images[0].planes[0].stride = 0xffffffffu;
	REQUIRE_EQ(px_wire_decode_layout(&w, &back, why, sizeof(why)), -EPROTO);
	w = w0, w.images[1].planes[0].offset = UINT64_MAX;
	REQUIRE_EQ(px_wire_decode_layout(&w, &back, why, sizeof(why)), -EPROTO);
	w = w0, w.buffer_sizes[0] = 1;
	REQUIRE_EQ(px_wire_decode_layout(&w, &back, why, sizeof(why)), -EPROTO);
	REQUIRE(strstr(why, "overrun"));
}

/* A Vulkan export of `layout` moved by a 4096-byte header, as lavapipe's opaque
 * fds are: its codec, and every rule px_vulkan_export_check() makes. */
static void test_vulkan_codec(void)
{
	struct px_set_layout l = layout;
	struct px_vulkan_export v0, v, back;
	struct px_wire_vulkan w0, w;
	char why[200];

	for (uint32_t b = 0; b < l.n_buffers; b++)
		l.buffer_sizes[b] += 4096;
	for (uint32_t i = 0; i < l.n_images; i++)
		for (uint32_t p = 0; p < l.images[i].n_planes; p++)
			l.images[i].planes[p].offset += 4096;
	REQUIRE_OK(px_layout_validate(&l, why, sizeof(why)));
	memset(&v0, 0, sizeof(v0));
	for (int k = 0; k < 16; k++) {
		v0.device_uuid[k] = (uint8_t)(k + 1);
		v0.driver_uuid[k] = (uint8_t)(0xf0 - k);
	}
	v0.memory_type = 3;
	v0.buffer_usage = 0x23;
	v0.dedicated = true;
	for (uint32_t b = 0; b < l.n_buffers; b++) {
		v0.offset[b] = 4096;
		v0.buffer_size[b] = layout.buffer_sizes[b];
		v0.allocation_size[b] = (layout.buffer_sizes[b] + 4095) / 4096 * 4096;
	}
	REQUIRE_OK(px_vulkan_export_check(&v0, &l, why, sizeof(why)));
	px_wire_encode_vulkan(&w0, &v0, l.n_buffers);
	memset(&back, 0xa5, sizeof(back));
	REQUIRE_OK(px_wire_decode_vulkan(&w0, &l, &back, why, sizeof(why)));
	REQUIRE(!memcmp(&back, &v0, sizeof(v0)));
	/* Entries past the layout's buffers are not sent. */
	v = v0, v.offset[l.n_buffers] = 7;
	px_wire_encode_vulkan(&w, &v, l.n_buffers);
	REQUIRE(!memcmp(&w, &w0, sizeof(w)));

#define REFUSED(mutate, word)                                                                      \
	do {                                                                                       \
		v = v0;                                                                            \
		mutate;                                                                            \
		why[0] = '\0';                                                                     \
		REQUIRE_EQ(px_vulkan_export_check(&v, &l, why, sizeof(why)), -EINVAL);             \
		REQUIRE(strstr(why, word));                                                        \
		px_wire_encode_vulkan(&w, &v, l.n_buffers);                                        \
		REQUIRE_EQ(px_wire_decode_vulkan(&w, &l, &back, why, sizeof(why)), -EPROTO);       \
		REQUIRE(strstr(why, word));                                                        \
	} while (0)
	REFUSED(v.memory_type = 32, "memory type 32");
	REFUSED(v.buffer_usage = 0, "usage 0");
	REFUSED(v.allocation_size[1] = 0, "allocation of 0 bytes");
	REFUSED(v.buffer_size[0] = 0, "VkBuffer of 0 bytes");
	REFUSED(v.buffer_size[0] = v.allocation_size[0] + 1, "in an allocation");
	REFUSED(v.buffer_size[1] -= 1, "short of the layout");
	REFUSED((v.offset[1] = UINT64_MAX, v.buffer_size[1] = 2, v.allocation_size[1] = 2),
		"short of the layout");
	/* A plane before the memory, though the VkBuffer reaches the end. */
	REFUSED((v.offset[0] += 1, v.allocation_size[0] += 1, v.buffer_size[0] += 1),
		"before its memory");
#undef REFUSED

	/* What only the wire form can get wrong. */
	w = w0, w.dedicated = 2;
	REQUIRE_EQ(px_wire_decode_vulkan(&w, &l, &back, why, sizeof(why)), -EPROTO);
	w = w0, w.reserved = 1;
	REQUIRE_EQ(px_wire_decode_vulkan(&w, &l, &back, why, sizeof(why)), -EPROTO);
	w = w0, w.allocation_size[l.n_buffers] = 1;
	REQUIRE_EQ(px_wire_decode_vulkan(&w, &l, &back, why, sizeof(why)), -EPROTO);
	REQUIRE(strstr(why, "of a layout of"));
	w = w0, w.offset[PX_MAX_BUFFERS - 1] = 1;
	REQUIRE_EQ(px_wire_decode_vulkan(&w, &l, &back, why, sizeof(why)), -EPROTO);
}

/* xorshift: reproducible garbage. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_garbage(void)
{
	static uint8_t buf[PX_WIRE_MAX_SIZE];
	char why[200];
	struct px_wire_frame good;
	memset(&good, 0, sizeof(good));
	px_wire_header_init(&good.hdr, PX_MSG_FRAME, sizeof(good), 0);
	good.n_images = 1;
	good.seq = 1;

	for (int i = 0; i < 50000; i++) {
		size_t len = next_random() % (sizeof(buf) + 1);
		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)next_random();
		/* Random bytes almost never carry the magic; mutations of a
		 * valid frame do, and must still be judged field by field. */
		if (i & 1) {
			memcpy(buf, &good, sizeof(good));
			len = sizeof(good);
			buf[next_random() % len] ^= (uint8_t)(1u << (next_random() % 8));
		}
		int ret = px_wire_validate(buf, len, (int)(next_random() % 3), why, sizeof(why));
		REQUIRE(ret == 0 || ret == -EPROTO);
		if (!(i & 1))
			REQUIRE_EQ(ret, -EPROTO);
	}
}

static void test_socket(void)
{
	int sv[2], fds[PX_WIRE_FD_ROOM], n_fds;
	static char buf[PX_WIRE_MAX_SIZE + 64];
	int before = px_test_count_fds();

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);

	/* Nothing pending. */
	REQUIRE_EQ(px_wire_recv(sv[1], buf, fds, 0, &n_fds), -EAGAIN);

	/* An over-long packet is truncated: refused. */
	memset(buf, 0, sizeof(buf));
	REQUIRE(send(sv[0], buf, PX_WIRE_MAX_SIZE + 64, 0) == PX_WIRE_MAX_SIZE + 64);
	REQUIRE_EQ(px_wire_recv(sv[1], buf, fds, 0, &n_fds), -EMSGSIZE);

	/* fds where none are accepted: refused and closed. */
	int pass[PX_WIRE_MAX_FDS];
	for (int i = 0; i < PX_WIRE_MAX_FDS; i++)
		pass[i] = sv[0];
	struct px_wire_release r;
	memset(&r, 0, sizeof(r));
	px_wire_header_init(&r.hdr, PX_MSG_RELEASE, sizeof(r), 0);
	r.seq = 1;
	REQUIRE_OK(px_wire_send(sv[0], &r, sizeof(r), pass, 3));
	REQUIRE_EQ(px_wire_recv(sv[1], buf, fds, 0, &n_fds), -ETOOMANYREFS);
	REQUIRE_EQ(n_fds, 0);
	REQUIRE_EQ(px_test_count_fds(), before + 2);

	/* Up to the cap: accepted, CLOEXEC. */
	REQUIRE_OK(px_wire_send(sv[0], &r, sizeof(r), pass, PX_WIRE_MAX_FDS));
	REQUIRE_EQ(px_wire_recv(sv[1], buf, fds, PX_WIRE_MAX_FDS, &n_fds), (int)sizeof(r));
	REQUIRE_EQ(n_fds, PX_WIRE_MAX_FDS);
	for (int i = 0; i < n_fds; i++) {
		REQUIRE(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
		close(fds[i]);
	}

	/* Over the cap (sent raw, as a hostile peer would): all closed. */
	px_test_send_fds_raw(sv[0], &r, sizeof(r), sv[0], PX_WIRE_MAX_FDS + 4);
	REQUIRE_EQ(px_wire_recv(sv[1], buf, fds, PX_WIRE_MAX_FDS, &n_fds), -ETOOMANYREFS);
	REQUIRE_EQ(px_test_count_fds(), before + 2);

	/* Hang-up reads as 0. */
	close(sv[0]);
	REQUIRE_EQ(px_wire_recv(sv[1], buf, fds, 0, &n_fds), 0);
	REQUIRE_EQ(px_wire_send(sv[1], &r, sizeof(r), NULL, 0), -EPIPE);
	close(sv[1]);
	REQUIRE_EQ(px_test_count_fds(), before);
}

/* px_wire_recv_next(): batches of up to PX_WIRE_BATCH, in order, with their
 * fds; a batch that did not fill ends with -EAGAIN before the next receive;
 * the same refusals as px_wire_recv(); px_wire_batch_drop() closes what was
 * not taken. */
static void test_batch(void)
{
	int sv[2], fds[PX_WIRE_FD_ROOM], n_fds;
	const void *buf;
	struct px_wire_batch *b = calloc(1, sizeof(*b));
	int before = px_test_count_fds();
	REQUIRE(b);
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	struct px_wire_release r;
	memset(&r, 0, sizeof(r));
	px_wire_header_init(&r.hdr, PX_MSG_RELEASE, sizeof(r), 0);

	/* Nothing pending: the receive says so. */
	REQUIRE_EQ(px_wire_recv_next(sv[1], b, &buf, fds, 1, &n_fds), -EAGAIN);

	/* 11 messages: a full batch of 8, then 3 (the queue emptied), then
	 * -EAGAIN without a receive, though a 12th has come meanwhile; the call
	 * after that receives it. */
	for (uint64_t i = 1; i <= 11; i++) {
		r.seq = i;
		r.hdr.flags = i == 9 ? PX_RELEASE_FENCE : 0;
		REQUIRE_OK(px_wire_send(sv[0], &r, sizeof(r), i == 9 ? &sv[0] : NULL, i == 9));
	}
	for (uint64_t i = 1; i <= 11; i++) {
		REQUIRE_EQ(px_wire_recv_next(sv[1], b, &buf, fds, 1, &n_fds), (int)sizeof(r));
		const struct px_wire_release *m = buf;
		REQUIRE_EQ(m->seq, i);
		REQUIRE_EQ(n_fds, i == 9 ? 1 : 0);
		if (n_fds) {
			REQUIRE(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
			close(fds[0]);
		}
		REQUIRE_EQ(b->count, i <= 8 ? 8u : 3u);
	}
	r.seq = 12;
	r.hdr.flags = 0;
	REQUIRE_OK(px_wire_send(sv[0], &r, sizeof(r), NULL, 0));
	REQUIRE_EQ(px_wire_recv_next(sv[1], b, &buf, fds, 1, &n_fds), -EAGAIN);
	REQUIRE_EQ(px_wire_recv_next(sv[1], b, &buf, fds, 1, &n_fds), (int)sizeof(r));
	REQUIRE_EQ(((const struct px_wire_release *)buf)->seq, 12);
	REQUIRE_EQ(px_wire_recv_next(sv[1], b, &buf, fds, 1, &n_fds), -EAGAIN);

	/* fds beyond what the caller takes: refused and closed, the next
	 * message still comes. */
	r.hdr.flags = PX_RELEASE_FENCE;
	int pass[3] = {sv[0], sv[0], sv[0]};
	REQUIRE_OK(px_wire_send(sv[0], &r, sizeof(r), pass, 3));
	r.hdr.flags = 0;
	REQUIRE_OK(px_wire_send(sv[0], &r, sizeof(r), NULL, 0));
	REQUIRE_EQ(px_wire_recv_next(sv[1], b, &buf, fds, 1, &n_fds), -ETOOMANYREFS);
	REQUIRE_EQ(n_fds, 0);
	REQUIRE_EQ(px_wire_recv_next(sv[1], b, &buf, fds, 1, &n_fds), (int)sizeof(r));
	REQUIRE_EQ(px_wire_recv_next(sv[1], b, &buf, fds, 1, &n_fds), -EAGAIN);
	REQUIRE_EQ(px_test_count_fds(), before + 2);

	/* Messages not taken: their fds closed by the drop, the batch empty. */
	r.hdr.flags = PX_RELEASE_FENCE;
	for (int i = 0; i < 3; i++)
		REQUIRE_OK(px_wire_send(sv[0], &r, sizeof(r), pass, 1));
	REQUIRE_EQ(px_wire_recv_next(sv[1], b, &buf, fds, 1, &n_fds), (int)sizeof(r));
	close(fds[0]);
	REQUIRE_EQ(px_test_count_fds(), before + 4); /* two fds wait in the batch */
	px_wire_batch_drop(b);
	REQUIRE_EQ(px_test_count_fds(), before + 2);
	REQUIRE_EQ(b->count, 0u);

	/* A hang-up reads as 0, after what was sent before it. */
	r.hdr.flags = 0;
	REQUIRE_OK(px_wire_send(sv[0], &r, sizeof(r), NULL, 0));
	close(sv[0]);
	REQUIRE_EQ(px_wire_recv_next(sv[1], b, &buf, fds, 1, &n_fds), (int)sizeof(r));
	REQUIRE_EQ(px_wire_recv_next(sv[1], b, &buf, fds, 1, &n_fds), 0);
	px_wire_batch_drop(b);
	close(sv[1]);
	free(b);
	REQUIRE_EQ(px_test_count_fds(), before);
}

int main(void)
{
	test_sizes();
	make_layout();
	test_validate();
	test_layout_codec();
	test_vulkan_codec();
	test_garbage();
	test_socket();
	test_batch();
	printf("wire: ok\n");
	return 0;
}
