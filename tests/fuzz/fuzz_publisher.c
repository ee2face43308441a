/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a publisher serving a hostile subscriber. One publisher
 * (memfd pool of 20 slots × 2 buffers, so its fds go in two BUFFERS
 * messages) lives for the whole run; each input connects a raw
 * SOCK_SEQPACKET socket to its topic and plays a script of operations,
 * dispatching the publisher after each:
 *
 *   op % 8  0 RAW      u16 length, the bytes; u8 fd count, a u8 kind each;
 *                      u8 control flags (bit 0: SCM_CREDENTIALS; bit 1: two
 *                      SCM_RIGHTS messages)
 *           1 TYPED    u8 type, u8 flags: a valid header of that type and
 *                      size with the body from the input (so that every
 *                      type's checks and every state are reached); u8 fd
 *                      count % 3, a u8 kind each
 *           2 SERVE    reads what the publisher sent, as a subscriber would:
 *                      closes the fds, acknowledges BUFFERS with the right
 *                      count, remembers the frames it holds
 *           3 RELEASE  u8 frame, u8 fd kind + 1 (0: none): releases a
 *                      remembered frame, with an fd as its "fence"
 *           4 PUBLISH  the application acquires and publishes a frame
 *           5 RECONNECT  hangs up and connects again
 *           6, 7 DISPATCH  once more
 *
 * Invariants, once the connection is gone: the publisher still acquires
 * and publishes, serves no subscriber, has as many slots free as before
 * (no lease left held) and as many fds open as before the input.
 */
#include <errno.h>
#include <sys/un.h>

#include <pixshare/publisher.h>

#include "core/wire.h"
#include "tests/fuzz/fuzz_util.h"

#define TOPIC "fuzz"
#define MAX_HELD 64

static struct px_publisher *pub;
static char dir[] = "/tmp/pixshare-fuzz-XXXXXX";
static uint32_t free_slots; /* with no subscriber */
static int kind_fds[FUZZ_FD_KINDS];

/* The raw subscriber's side of one input. */
struct peer {
	int sock;
	uint32_t fds_received; /* BUFFERS fds so far: what BUFFERS_ACK says */
	struct {
		uint32_t slot;
		uint64_t seq;
	} held[MAX_HELD];
	uint32_t n_held;
};

static void cleanup(void)
{
	char path[sizeof(dir) + 32];
	px_publisher_destroy(pub);
	for (int k = 0; k < FUZZ_FD_KINDS; k++)
		close(kind_fds[k]);
	snprintf(path, sizeof(path), "%s/%s.lock", dir, TOPIC);
	unlink(path);
	rmdir(dir);
}

static uint32_t count_free_slots(void)
{
	struct px_publisher_stats st;
	CHECK(px_publisher_get_stats(pub, &st) == 0);
	CHECK(st.n_subscribers == 0 || st.n_subscribers == 1);
	return st.free_slots;
}

static int publish(void)
{
	struct px_slot *slot;
	int ret = px_publisher_acquire(pub, 0, &slot);
	if (ret)
		return ret;
	return px_publisher_publish(pub, slot, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct px_image_desc images[] = {
	    {PX_FORMAT_YUYV, 8, 4},
	    {PX_FORMAT_NV12, 6, 4},
	};
	struct px_set_layout layout;

	fuzz_quiet_logs();
	if (!mkdtemp(dir) || px_layout_init_packed(&layout, 2, images, 16, PX_PACK_PER_IMAGE))
		abort();
	struct px_publisher_params params = {
	    .topic = TOPIC,
	    .dir = dir,
	    .layout = &layout,
	    .allocator = PX_ALLOCATOR_MEMFD,
	    .pool_size = 20,
	};
	if (px_publisher_create(&params, &pub) || publish())
		abort();
	free_slots = count_free_slots();
	for (int k = 0; k < FUZZ_FD_KINDS; k++)
		if ((kind_fds[k] = fuzz_make_fd((enum fuzz_fd_kind)k, 4096)) < 0)
			abort();
	atexit(cleanup);
	return 0;
}

static int peer_connect(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", dir, TOPIC);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		abort();
	return s;
}

/* u8 count (modulo `max`), then a u8 kind per fd. */
static int read_fds(struct fuzz_in *in, int *fds, int max)
{
	int n = fuzz_u8(in) % (max + 1);
	for (int i = 0; i < n; i++)
		fds[i] = kind_fds[fuzz_u8(in) % FUZZ_FD_KINDS];
	return n;
}

static void op_raw(struct peer *p, struct fuzz_in *in)
{
	static uint8_t buf[PX_WIRE_MAX_SIZE + 64];
	int fds[PX_WIRE_FD_ROOM + 8];

	size_t len = fuzz_u16(in) % sizeof(buf);
	fuzz_bytes(in, buf, len);
	int n_fds = read_fds(in, fds, PX_WIRE_FD_ROOM + 7);
	uint8_t flags = fuzz_u8(in);
	fuzz_sendmsg(p->sock, buf, len, fds, n_fds, flags & 2, flags & 1);
}

static void op_typed(struct peer *p, struct fuzz_in *in)
{
	static _Alignas(8) uint8_t buf[PX_WIRE_MAX_SIZE];
	int fds[2];

	uint16_t type = fuzz_u8(in) % (PX_MSG_SHRINK + 1);
	uint32_t flags = fuzz_u8(in) & 7;
	size_t len = px_wire_size(type);
	if (!len)
		len = sizeof(struct px_wire_header);
	px_wire_header_init((struct px_wire_header *)(void *)buf, (enum px_wire_type)type,
			    (uint32_t)len, flags);
	fuzz_bytes(in, buf + sizeof(struct px_wire_header), len - sizeof(struct px_wire_header));
	int n_fds = read_fds(in, fds, 2);
	fuzz_sendmsg(p->sock, buf, len, fds, n_fds, false, false);
}

/* What a subscriber does with what the publisher sent. */
static void op_serve(struct peer *p)
{
	static _Alignas(8) uint8_t buf[PX_WIRE_MAX_SIZE];
	int fds[PX_WIRE_FD_ROOM], n_fds;
	int len;

	while ((len = px_wire_recv(p->sock, buf, fds, PX_WIRE_FD_ROOM, &n_fds)) > 0) {
		for (int i = 0; i < n_fds; i++)
			close(fds[i]);
		struct px_wire_header hdr;
		if ((size_t)len < sizeof(hdr))
			continue;
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr.type == PX_MSG_BUFFERS) {
			struct px_wire_buffers_ack ack;
			p->fds_received += (uint32_t)n_fds;
			memset(&ack, 0, sizeof(ack));
			px_wire_header_init(&ack.hdr, PX_MSG_BUFFERS_ACK, sizeof(ack), 0);
			ack.next = p->fds_received;
			px_wire_send(p->sock, &ack, sizeof(ack), NULL, 0);
		} else if (hdr.type == PX_MSG_FRAME &&
			   (size_t)len >= sizeof(struct px_wire_frame) && p->n_held < MAX_HELD) {
			const struct px_wire_frame *m = (const void *)buf;
			p->held[p->n_held].slot = m->slot;
			p->held[p->n_held].seq = m->seq;
			p->n_held++;
		}
	}
}

static void op_release(struct peer *p, struct fuzz_in *in)
{
	uint8_t which = fuzz_u8(in), fence = fuzz_u8(in);
	if (!p->n_held)
		return;
	which %= p->n_held;
	struct px_wire_release m;
	memset(&m, 0, sizeof(m));
	px_wire_header_init(&m.hdr, PX_MSG_RELEASE, sizeof(m), fence ? PX_RELEASE_FENCE : 0);
	m.slot = p->held[which].slot;
	m.seq = p->held[which].seq;
	p->held[which] = p->held[--p->n_held];
	int fd = fence ? kind_fds[(fence - 1) % FUZZ_FD_KINDS] : -1;
	fuzz_sendmsg(p->sock, &m, sizeof(m), &fd, fence ? 1 : 0, false, false);
}

static void peer_reset(struct peer *p)
{
	if (p->sock >= 0)
		close(p->sock);
	memset(p, 0, sizeof(*p));
	p->sock = peer_connect();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct peer p = {.sock = -1};

	int baseline = fuzz_count_fds();
	peer_reset(&p);
	for (int steps = 0; fuzz_more(&in) && steps < 256; steps++) {
		switch (fuzz_u8(&in) % 8) {
		case 0:
			op_raw(&p, &in);
			break;
		case 1:
			op_typed(&p, &in);
			break;
		case 2:
			op_serve(&p);
			break;
		case 3:
			op_release(&p, &in);
			break;
		case 4:
			publish();
			break;
		case 5:
			peer_reset(&p);
			break;
		default:
			break;
		}
		int ret = px_publisher_dispatch(pub, 0);
		CHECK(ret >= 0);
	}
	close(p.sock);
	/* The publisher sees the hang-up at its next dispatch; a connection
	 * it closed itself is gone already. */
	for (int i = 0; i < 8 && fuzz_count_fds() != baseline; i++)
		CHECK(px_publisher_dispatch(pub, 0) >= 0);
	CHECK_FDS(baseline);
	CHECK(count_free_slots() == free_slots);
	struct px_publisher_stats st;
	CHECK(px_publisher_get_stats(pub, &st) == 0 && st.n_subscribers == 0);
	CHECK(publish() == 0);
	/* A connection the peer closed before the publisher accepted it (a
	 * RECONNECT's) waits in the listen backlog, uncounted, until the
	 * publish's dispatch accepts it; it sees the hang-up at the next one.
	 * The next input starts from the same count. */
	for (int i = 0; i < 8 && fuzz_count_fds() != baseline; i++)
		CHECK(px_publisher_dispatch(pub, 0) >= 0);
	CHECK_FDS(baseline);
	return 0;
}
