/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a subscriber (or a query, px_topic_query()) served by a
 * hostile publisher. A fake publisher, a thread listening on the topic's
 * socket, accepts the connection, reads HELLO, sends the packets the input
 * describes — WELCOME, REFUSE, BUFFERS with memfds of any size and seals or
 * fds of other kinds, FRAME, END, anything — and then shuts its side for
 * writing, so that the subscriber reads them all and then a hang-up, never
 * waiting for a timeout. The subscriber then takes every frame it is given
 * and reads its pixels, and is destroyed.
 *
 * Input: u8 mode (bit 0: a query; bit 1: PX_SUBSCRIBER_KEEP_FENCES; bits
 * 2-3: QoS; bit 4: read the frames' pixels), then packets, each:
 *   u8 form: bit 0: typed — u8 type, u8 flags, a valid header of that type
 *     and size with the body from the input; else raw — u16 length, the
 *     bytes;
 *   u8 fd count (up to past PX_WIRE_FD_ROOM), then per fd a u8: kind % 8,
 *     7 being the buffer the last WELCOME's layout wants next (a sealed
 *     memfd of its size, up to 1 MiB), and size (>> 3) × 4 KiB for memfds.
 *
 * Invariants: no crash, no access outside a mapping, the subscriber's
 * frames lie within its layout, and after destroy this process has the fds
 * it had before the input.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <pixshare/image.h>
#include <pixshare/subscriber.h>

#include "core/wire.h"
#include "tests/fuzz/fuzz_util.h"

#define TOPIC "fuzz"
#define MAX_PACKETS 64
#define MAX_FDS (PX_WIRE_FD_ROOM + 8)
#define MAX_BUFFER (1u << 20)

/* A packet for the fake publisher to send; its fds are closed once sent. */
struct packet {
	size_t len;
	int n_fds;
	int fds[MAX_FDS];
	_Alignas(8) uint8_t bytes[PX_WIRE_MAX_SIZE + 64];
};

static struct packet packets[MAX_PACKETS];
static int n_packets;
static char dir[] = "/tmp/pixshare-fuzz-XXXXXX";
static int listen_fd = -1;
static sem_t go, sent, finish, done;

/* The fake publisher: one connection per input. */
static void *serve(void *arg)
{
	for (;;) {
		sem_wait(&go);
		struct pollfd pf = {.fd = listen_fd, .events = POLLIN};
		int conn = -1;
		if (poll(&pf, 1, 2000) == 1)
			conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn >= 0) {
			/* HELLO, or whatever the subscriber says first. */
			char hello[PX_WIRE_MAX_SIZE];
			struct pollfd pc = {.fd = conn, .events = POLLIN};
			if (poll(&pc, 1, 2000) == 1)
				recv(conn, hello, sizeof(hello), MSG_DONTWAIT);
			for (int i = 0; i < n_packets; i++)
				fuzz_sendmsg(conn, packets[i].bytes, packets[i].len, packets[i].fds,
					     packets[i].n_fds, false, false);
			shutdown(conn, SHUT_WR);
		}
		for (int i = 0; i < n_packets; i++)
			for (int k = 0; k < packets[i].n_fds; k++)
				close(packets[i].fds[k]);
		sem_post(&sent);
		sem_wait(&finish);
		if (conn >= 0)
			close(conn);
		sem_post(&done);
	}
	return arg;
}

static void cleanup(void)
{
	char path[sizeof(dir) + 16];
	snprintf(path, sizeof(path), "%s/%s", dir, TOPIC);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	pthread_t thread;

	fuzz_quiet_logs();
	if (!mkdtemp(dir))
		abort();
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", dir, TOPIC);
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(listen_fd, 4) < 0)
		abort();
	sem_init(&go, 0, 0);
	sem_init(&sent, 0, 0);
	sem_init(&finish, 0, 0);
	sem_init(&done, 0, 0);
	if (pthread_create(&thread, NULL, serve, NULL))
		abort();
	pthread_detach(thread);
	atexit(cleanup);
	return 0;
}

/* The layout the packets so far have announced, for the "right buffer" fds. */
struct script {
	struct px_set_layout layout;
	bool have_layout;
	uint32_t next_buffer;
};

static int make_fd(struct script *s, uint8_t spec)
{
	enum fuzz_fd_kind kind = (enum fuzz_fd_kind)(spec % 8);
	uint64_t size = (uint64_t)(spec >> 3) * 4096;
	if (spec % 8 == 7) {
		/* What a publisher sends: a sealed memfd of the buffer's size. */
		kind = FUZZ_FD_MEMFD_SEALED;
		if (s->have_layout) {
			size = s->layout.buffer_sizes[s->next_buffer++ % s->layout.n_buffers];
			if (size > MAX_BUFFER)
				size = 4096;
		}
	}
	return fuzz_make_fd(kind, size);
}

static void read_packet(struct script *s, struct fuzz_in *in, struct packet *pk)
{
	uint8_t form = fuzz_u8(in);
	if (form & 1) {
		uint16_t type = fuzz_u8(in) % (PX_MSG_SHRINK + 1);
		uint32_t flags = fuzz_u8(in) & 7;
		pk->len = px_wire_size(type);
		if (!pk->len)
			pk->len = sizeof(struct px_wire_header);
		px_wire_header_init((struct px_wire_header *)(void *)pk->bytes,
				    (enum px_wire_type)type, (uint32_t)pk->len, flags);
		fuzz_bytes(in, pk->bytes + sizeof(struct px_wire_header),
			   pk->len - sizeof(struct px_wire_header));
	} else {
		pk->len = fuzz_u16(in) % sizeof(pk->bytes);
		fuzz_bytes(in, pk->bytes, pk->len);
	}
	/* A WELCOME's layout sizes the buffers that follow. */
	const struct px_wire_welcome *w = (const void *)pk->bytes;
	if (pk->len == sizeof(*w) && w->hdr.type == PX_MSG_WELCOME &&
	    px_wire_decode_layout(&w->layout, &s->layout, NULL, 0) == 0) {
		s->have_layout = true;
		s->next_buffer = 0;
	}
	int n = fuzz_u8(in) % (MAX_FDS + 1);
	pk->n_fds = 0;
	for (int i = 0; i < n; i++) {
		int fd = make_fd(s, fuzz_u8(in));
		if (fd >= 0)
			pk->fds[pk->n_fds++] = fd;
	}
}

/* Reads a frame as an application would: its pixels, converted, and its
 * test pattern. */
static void read_frame(const struct px_frame *f)
{
	static uint8_t rgb[3 * 256 * 256];
	const struct px_set_layout *l = f->layout;

	CHECK(l && f->slot < 64 && f->n_buffers == l->n_buffers);
	for (uint32_t i = 0; i < l->n_images; i++) {
		const struct px_image_layout *img = &l->images[i];
		const void *planes[PX_MAX_PLANES] = {NULL};
		for (uint32_t p = 0; p < img->n_planes; p++)
			planes[p] = px_frame_plane(f, i, p);
		if (!planes[0] || (uint64_t)img->width * img->height > 256 * 256)
			continue;
		struct px_cpu_image dst = {.fourcc = PX_FORMAT_BGR888,
					   .width = img->width,
					   .height = img->height,
					   .planes = {rgb}};
		px_image_read(img, planes, &dst, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct script s = {0};

	int baseline = fuzz_count_fds();
	uint8_t mode = fuzz_u8(&in);
	n_packets = 0;
	while (fuzz_more(&in) && n_packets < MAX_PACKETS)
		read_packet(&s, &in, &packets[n_packets++]);
	sem_post(&go);

	if (mode & 1) {
		struct px_topic_info info;
		struct px_set_layout layout;
		struct px_publisher_stats stats;
		if (px_topic_query(dir, TOPIC, 2000, &info, &layout, &stats, NULL) == 0)
			CHECK(px_layout_validate(&layout, NULL, 0) == 0);
	} else {
		static const enum px_qos qos[] = {PX_QOS_LATEST, PX_QOS_QUEUE, PX_QOS_RELIABLE,
						  PX_QOS_LATEST};
		struct px_subscriber_params params = {
		    .topic = TOPIC,
		    .dir = dir,
		    .qos = qos[(mode >> 2) & 3],
		    .queue_depth = 2,
		    .flags =
			PX_SUBSCRIBER_NO_RECONNECT | ((mode & 2) ? PX_SUBSCRIBER_KEEP_FENCES : 0),
		    .connect_timeout_ms = 0,
		};
		struct px_subscriber *sub;
		if (px_subscriber_create(&params, &sub) == 0) {
			CHECK(px_layout_validate(px_subscriber_get_layout(sub), NULL, 0) == 0);
			struct px_frame *f;
			int ret;
			/* Frames until the hang-up, which the fake publisher
			 * sends after its last packet (a long timeout, never
			 * reached but on a machine stalled for seconds). */
			while ((ret = px_subscriber_receive(sub, &f, 10000)) == 0) {
				if (mode & 16)
					read_frame(f);
				px_frame_release(f);
			}
			CHECK(ret == -EPIPE);
			px_subscriber_destroy(sub);
		}
	}
	sem_wait(&sent);
	sem_post(&finish);
	sem_wait(&done);
	CHECK_FDS(baseline);
	return 0;
}
