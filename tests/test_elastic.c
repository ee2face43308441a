/* SPDX-License-Identifier: MIT */
/*
 * Elastic pools (px_publisher_params.min_pool_size): the pool grows as
 * subscribers are admitted and shrinks as they leave, and every subscriber,
 * in its own process, reads every byte of every frame right across the
 * changes: slots sent to it while it streams (GROW + BUFFERS), slots retired
 * under it (SHRINK, then unmapped and closed there), and slot numbers that
 * come back with new buffers (a new pool_id, so that no importer takes its
 * old imports for them). The publisher's fds follow the pool's size; a
 * subscriber beyond the largest pool is refused as with a fixed pool; bad
 * parameters are refused. A subscriber still in its handshake when the pool
 * grows gets the rest once it streams (a raw peer that delays its ACK).
 *
 * --allocator=NAME runs it on that allocator's buffers (memfd by default; the
 * vm tier runs dumb and GBM on every card, each in a process of its own,
 * dma-heap and udmabuf on Debian 13's kernel); exits 77 where that allocator
 * cannot make the pool here.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <pixshare/pixshare.h>

#include "core/wire.h"
#include "px_test.h"
#include "px_testutil.h"

#define TOPIC "elastic"
#define W 64
#define H 16

static struct px_set_layout layout;
static enum px_allocator_type alloc_type = PX_ALLOCATOR_MEMFD;
static const char *alloc_device; /* a DRM card for dumb and GBM */

/* px_publisher_create() on the allocator of the run; skips the test where
 * that allocator is not available here. */
static void create_publisher(struct px_publisher_params *p, struct px_publisher **pub)
{
	p->allocator = alloc_type;
	p->device = alloc_device;
	int ret = px_publisher_create(p, pub);
	if (ret == -ENOTSUP || ret == -ENOENT)
		SKIP("allocator %s%s%s: %s", px_allocator_name(alloc_type),
		     alloc_device ? " on " : "", alloc_device ? alloc_device : "",
		     px_strerror(ret));
	REQUIRE_OK(ret);
}

static void make_layout(void)
{
	/* GBM makes XRGB8888 on every card (not YUYV on vgem). */
	struct px_image_desc d[2] = {
	    {PX_FORMAT_XRGB8888, W, H},
	    {alloc_type == PX_ALLOCATOR_GBM ? PX_FORMAT_XRGB8888 : PX_FORMAT_YUYV, W / 2, H}};
	REQUIRE_OK(px_layout_init_packed(&layout, 2, d, 0, PX_PACK_PER_IMAGE));
}

/* Every byte of frame `seq`, buffer b, offset i. */
static uint8_t pattern(uint64_t seq, uint32_t b, uint64_t i)
{
	return (uint8_t)(seq * 31 + b * 7 + i);
}

/* A subscriber in a child process: reads frames until its stop pipe closes,
 * checking every byte, and reports what it saw through its result pipe. */
struct child_result {
	uint64_t frames, bad, pool_ids;
	uint64_t slots_seen; /* bit per slot */
	uint64_t grows, shrinks;
	uint32_t last_pool_size;
	int ret;
};

struct child {
	pid_t pid;
	int stop;   /* write end: closed to stop it */
	int result; /* read end */
};

static int child_main(int stop, int result)
{
	struct px_subscriber *sub;
	struct child_result r = {0};
	/* Reliable: every frame reaches every subscriber, so which slots
	 * each reads does not hang on timing. */
	struct px_subscriber_params p = {.topic = TOPIC,
					 .qos = PX_QOS_RELIABLE,
					 .max_leases = 2,
					 .connect_timeout_ms = 5000,
					 .name = "elastic-child"};
	r.ret = px_subscriber_create(&p, &sub);
	uint64_t last_pool = 0;
	while (!r.ret) {
		struct pollfd pf = {.fd = stop, .events = POLLIN};
		if (poll(&pf, 1, 0) == 1)
			break;
		struct px_frame *f;
		int ret = px_subscriber_receive(sub, &f, 20);
		if (ret == -EAGAIN || ret == -ETIMEDOUT)
			continue;
		if (ret) {
			r.ret = ret;
			break;
		}
		r.frames++;
		r.slots_seen |= 1ull << f->slot;
		if (f->pool_id != last_pool) {
			r.pool_ids++;
			last_pool = f->pool_id;
		}
		for (uint32_t b = 0; b < f->n_buffers; b++) {
			const uint8_t *d = f->buffers[b].data;
			if (!d) {
				if (!r.bad)
					fprintf(stderr, "frame %llu slot %u buffer %u: not mapped\n",
						(unsigned long long)f->seq, f->slot, b);
				r.bad++;
				continue;
			}
			for (uint64_t i = 0; i < layout.buffer_sizes[b]; i++) {
				if (d[i] != pattern(f->seq, b, i)) {
					if (!r.bad)
						fprintf(stderr,
							"frame %llu slot %u buffer %u byte %llu: "
							"%u, want %u\n",
							(unsigned long long)f->seq, f->slot, b,
							(unsigned long long)i, d[i],
							pattern(f->seq, b, i));
					r.bad++;
					break;
				}
			}
		}
		px_frame_release(f);
	}
	struct px_subscriber_stats st;
	struct px_topic_info info;
	if (sub && !px_subscriber_get_stats(sub, &st)) {
		r.grows = st.pool_grows;
		r.shrinks = st.pool_shrinks;
	}
	if (sub && !px_subscriber_get_topic_info(sub, &info))
		r.last_pool_size = info.pool_size;
	px_subscriber_destroy(sub);
	return write(result, &r, sizeof(r)) == sizeof(r) ? 0 : 1;
}

static struct child child_start(void)
{
	int s[2], r[2];
	REQUIRE(pipe2(s, O_CLOEXEC) == 0 && pipe2(r, O_CLOEXEC) == 0);
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		px_test_dir_path[0] = '\0';
		close(s[1]);
		close(r[0]);
		exit(child_main(s[0], r[1]));
	}
	close(s[0]);
	close(r[1]);
	return (struct child){.pid = pid, .stop = s[1], .result = r[0]};
}

/* Publishes `n` frames. `spread`: from as many slots acquired at once as the
 * pool allows, so that its highest slots carry frames too; else one at a
 * time, as a camera does, which leaves the highest slots free to retire. */
/* The publisher's number of the last frame published (its seq), as frames
 * are numbered from 1 by each publisher. */
static uint64_t seq;

static void publish_some(struct px_publisher *pub, int n, bool spread)
{
	for (int k = 0; k < n;) {
		struct px_slot *slots[PX_MAX_SLOTS];
		uint32_t held = 0;
		uint32_t want = spread ? px_publisher_get_pool_size(pub) - 1 : 1;
		/* The first waits for the subscribers to release a slot. */
		while (held < want &&
		       px_publisher_acquire(pub, held ? 0 : 2000, &slots[held]) == 0)
			held++;
		REQUIRE(held > 0);
		for (uint32_t h = 0; h < held; h++, k++) {
			seq++;
			for (uint32_t b = 0; b < slots[h]->n_buffers; b++) {
				uint8_t *d = slots[h]->buffers[b].data;
				for (uint64_t i = 0; i < layout.buffer_sizes[b]; i++)
					d[i] = pattern(seq, b, i);
			}
			REQUIRE_OK(px_publisher_publish(pub, slots[h], NULL));
		}
		px_publisher_dispatch(pub, 2);
	}
}

static struct child_result child_stop(struct px_publisher *pub, struct child *c)
{
	struct child_result r;
	close(c->stop);
	for (int t = 0; t < 500; t++) {
		struct pollfd pf = {.fd = c->result, .events = POLLIN};
		px_publisher_dispatch(pub, 0);
		if (poll(&pf, 1, 10) == 1)
			break;
	}
	REQUIRE(read(c->result, &r, sizeof(r)) == sizeof(r));
	REQUIRE_EQ(px_test_wait(c->pid, 5000), 0);
	close(c->result);
	return r;
}

/* Serves the publisher until its pool has `n` slots. While it is larger, a
 * frame every 10 ms: the newest frame, held for subscribers that join, may
 * be in a slot to retire, and the next goes to the lowest free one. */
static void wait_pool(struct px_publisher *pub, uint32_t n)
{
	for (int t = 0; t < 300 && px_publisher_get_pool_size(pub) != n; t++) {
		if (px_publisher_get_pool_size(pub) > n)
			publish_some(pub, 1, false);
		px_publisher_dispatch(pub, 10);
	}
	if (px_publisher_get_pool_size(pub) != n) {
		struct px_publisher_stats st;
		struct px_subscriber_info si;
		px_publisher_get_stats(pub, &st);
		fprintf(stderr, "pool of %u slots, %u free, %u subscribers\n", st.pool_size,
			st.free_slots, st.n_subscribers);
		for (uint32_t i = 0; px_publisher_get_subscriber(pub, i, &si) == 0; i++)
			fprintf(stderr, "  subscriber %u (pid %d): %u leases, %u pending\n", i,
				(int)si.pid, si.leases, si.pending);
	}
	REQUIRE_EQ(px_publisher_get_pool_size(pub), n);
}

static void test_grow_shrink(void)
{
	struct px_publisher *pub;
	/* 14 slots at most: 4 subscribers of 2 leases (and 1 frame queued);
	 * a fifth may connect, and finds no room. */
	struct px_publisher_params p = {.topic = TOPIC, .layout = &layout, .pool_size = 14,
					.max_subscribers = 5, .min_pool_size = 3};
	int fds0 = px_test_count_fds();
	create_publisher(&p, &pub);
	seq = 0;
	uint32_t n_buffers = px_publisher_get_layout(pub)->n_buffers;
	REQUIRE_EQ(px_publisher_get_pool_size(pub), 3);
	/* The publisher's fds but the pool's: its socket, lock and epoll, and
	 * the allocator's own (a DRM card's). */
	int fds_pub = px_test_count_fds() - fds0 - 3 * (int)n_buffers;

	/* Each subscriber needs 3 slots beside the producer's 2. */
	struct child c[4];
	uint32_t sizes[] = {5, 8, 11, 14};
	for (int i = 0; i < 4; i++) {
		c[i] = child_start();
		px_test_wait_subscribers_tries(pub, (uint32_t)i + 1, 500);
		wait_pool(pub, sizes[i]);
		publish_some(pub, 40, true);
	}
	struct px_publisher_stats st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.pool_size, 14);
	REQUIRE_EQ(st.pool_grows, 4);
	REQUIRE_EQ(st.pool_shrinks, 0);
	/* The pool's fds are the publisher's only growth. */
	REQUIRE_EQ(px_test_count_fds() - fds0 - 4 * 2 /* the children's pipes */,
		   fds_pub + 14 * (int)n_buffers + 4 /* connections */);

	/* A fifth subscriber would need 17 > 14: refused as by a fixed pool. */
	struct child extra = child_start();
	struct child_result r = child_stop(pub, &extra);
	REQUIRE_EQ(r.ret, -ENOSPC);

	/* Leaving: the pool shrinks back, slot by slot from the top, to what
	 * the subscribers left need. */
	uint32_t after[] = {11, 8, 5};
	uint64_t seen_high = 0;
	for (int i = 3; i >= 1; i--) {
		r = child_stop(pub, &c[i]);
		REQUIRE_OK(r.ret);
		REQUIRE(r.frames > 0);
		REQUIRE_EQ(r.bad, 0);
		seen_high |= r.slots_seen;
		publish_some(pub, 10, false);
		wait_pool(pub, after[3 - i]);
	}
	/* The highest slots carried frames that subscribers checked. */
	REQUIRE(seen_high >> 11);
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	/* A slot still held when a subscriber left goes later: a shrink may
	 * come in steps. */
	REQUIRE(st.pool_shrinks >= 3);
	REQUIRE_EQ(px_test_count_fds() - fds0 - 2, fds_pub + 5 * (int)n_buffers + 1);

	/* Back up: slots 5 … 7 return with new buffers; the subscriber that
	 * stayed sees a new pool_id for them, and reads them right. */
	c[1] = child_start();
	px_test_wait_subscribers_tries(pub, 2, 500);
	wait_pool(pub, 8);
	publish_some(pub, 60, true);
	r = child_stop(pub, &c[1]);
	REQUIRE_OK(r.ret);
	REQUIRE_EQ(r.bad, 0);
	REQUIRE(r.frames > 0);
	publish_some(pub, 20, false);
	wait_pool(pub, 5);

	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	r = child_stop(pub, &c[0]);
	REQUIRE_OK(r.ret);
	REQUIRE_EQ(r.bad, 0);
	/* It streamed through every change after its own join: all but the
	 * first growth, which its WELCOME brought. */
	REQUIRE_EQ(r.grows, st.pool_grows - 1);
	REQUIRE_EQ(r.grows, 4);
	REQUIRE_EQ(r.shrinks, st.pool_shrinks);
	REQUIRE(r.shrinks >= 4);
	REQUIRE(r.pool_ids >= 2);
	REQUIRE_EQ(r.last_pool_size, 5);
	REQUIRE(r.slots_seen >> 5); /* it read slots it was sent while streaming */
	publish_some(pub, 5, false);
	wait_pool(pub, 3);
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	printf("grow/shrink (%s): %llu grows, %llu shrinks; the first subscriber read %llu frames "
	       "in %llu pools, 0 bad\n",
	       px_allocator_name(alloc_type), (unsigned long long)st.pool_grows,
	       (unsigned long long)st.pool_shrinks,
	       (unsigned long long)r.frames, (unsigned long long)r.pool_ids);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_count_fds(), fds0);
}

/* A raw peer: HELLO, then reads WELCOME and the first BUFFERS, and holds its
 * ACK back while another subscriber makes the pool grow. After the ACK it
 * must get GROW and the BUFFERS of the slots it lacks, before any FRAME. */
static void test_grow_during_handshake(void)
{
	struct px_publisher *pub;
	struct px_publisher_params p = {.topic = TOPIC, .layout = &layout, .min_pool_size = 3};
	int fds0 = px_test_count_fds();
	create_publisher(&p, &pub);
	seq = 0;
	uint32_t n_buffers = px_publisher_get_layout(pub)->n_buffers;

	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	/* The directory px_test_dir() made (a forked run has no path of its own). */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", getenv("PIXSHARE_DIR"), TOPIC);
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	REQUIRE(sock >= 0);
	REQUIRE(connect(sock, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	struct px_wire_hello h;
	memset(&h, 0, sizeof(h));
	px_wire_header_init(&h.hdr, PX_MSG_HELLO, sizeof(h), 0);
	strcpy(h.name, "raw");
	REQUIRE_OK(px_wire_send(sock, &h, sizeof(h), NULL, 0));

	char buf[PX_WIRE_MAX_SIZE], why[160];
	int fds[PX_WIRE_FD_ROOM], n_fds, len;
	uint32_t got = 0;
	/* Receives one message, serving the publisher meanwhile. */
#define RECV()                                                                                     \
	do {                                                                                       \
		for (int t = 0; t < 500; t++) {                                                    \
			px_publisher_dispatch(pub, 0);                                             \
			struct pollfd pf = {.fd = sock, .events = POLLIN};                         \
			if (poll(&pf, 1, 10) == 1)                                                 \
				break;                                                             \
		}                                                                                  \
		len = px_wire_recv(sock, buf, fds, PX_WIRE_MAX_FDS, &n_fds);                       \
		REQUIRE(len > 0);                                                                  \
		REQUIRE_OK(px_wire_validate(buf, (size_t)len, n_fds, why, sizeof(why)));           \
		for (int i = 0; i < n_fds; i++)                                                    \
			close(fds[i]);                                                             \
	} while (0)
	RECV();
	const struct px_wire_welcome *w = (const void *)buf;
	REQUIRE_EQ(w->hdr.type, PX_MSG_WELCOME);
	REQUIRE_EQ(w->pool_size, 5); /* grown for it */
	RECV();
	const struct px_wire_buffers *b = (const void *)buf;
	REQUIRE_EQ(b->hdr.type, PX_MSG_BUFFERS);
	REQUIRE_EQ(b->count, 5 * n_buffers);
	got += b->count;

	/* Another subscriber joins: 8 slots, while the raw one still owes its
	 * ACK. */
	struct child c = child_start();
	px_test_wait_subscribers_tries(pub, 1, 500); /* the raw peer is not streaming */
	REQUIRE_EQ(px_publisher_get_pool_size(pub), 8);
	publish_some(pub, 5, true);

	struct px_wire_buffers_ack ack;
	memset(&ack, 0, sizeof(ack));
	px_wire_header_init(&ack.hdr, PX_MSG_BUFFERS_ACK, sizeof(ack), 0);
	ack.next = got;
	REQUIRE_OK(px_wire_send(sock, &ack, sizeof(ack), NULL, 0));
	RECV();
	const struct px_wire_resize *g = (const void *)buf;
	REQUIRE_EQ(g->hdr.type, PX_MSG_GROW);
	REQUIRE_EQ(g->pool_size, 8);
	while (got < 8 * n_buffers) {
		RECV();
		REQUIRE_EQ(b->hdr.type, PX_MSG_BUFFERS);
		REQUIRE_EQ(b->first, got);
		got += b->count;
	}
	REQUIRE_EQ(got, 8 * n_buffers);
	RECV(); /* the newest frame, replayed */
	REQUIRE_EQ(((const struct px_wire_header *)(const void *)buf)->type, PX_MSG_FRAME);
	close(sock);
	struct child_result r = child_stop(pub, &c);
	REQUIRE_OK(r.ret);
	REQUIRE_EQ(r.bad, 0);
	publish_some(pub, 5, false);
	wait_pool(pub, 3);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_count_fds(), fds0);
#undef RECV
}

static void test_params(void)
{
	struct px_publisher *pub;
	struct px_publisher_params p = {.topic = TOPIC, .layout = &layout, .pool_size = 6};
	p.min_pool_size = 2;
	REQUIRE_EQ(px_publisher_create(&p, &pub), -EINVAL);
	p.min_pool_size = 7;
	REQUIRE_EQ(px_publisher_create(&p, &pub), -EINVAL);
	p.min_pool_size = 6; /* min = max: elastic in name only, allowed */
	REQUIRE_OK(px_publisher_create(&p, &pub));
	REQUIRE_EQ(px_publisher_get_pool_size(pub), 6);
	px_publisher_destroy(pub);
	/* Fixed by default. */
	p.min_pool_size = 0;
	REQUIRE_OK(px_publisher_create(&p, &pub));
	REQUIRE_EQ(px_publisher_get_pool_size(pub), 6);
	px_publisher_destroy(pub);
}

/* Every suite asked for, on `device` (a DRM card, or NULL). */
static int run_suites(void *device)
{
	alloc_device = device;
	int fds = px_test_count_fds();
	if (!px_test_only() || px_test_in_list(px_test_only(), "params"))
		test_params();
	if (!px_test_only() || px_test_in_list(px_test_only(), "grow_shrink"))
		test_grow_shrink();
	if (!px_test_only() || px_test_in_list(px_test_only(), "handshake"))
		test_grow_during_handshake();
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("elastic: ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const suites[] = {"grow_shrink", "handshake", "params"};
	px_test_args(argc, argv, suites, PX_ARRAY_LEN(suites));
	if (px_test_opt("allocator"))
		REQUIRE_OK(px_allocator_from_name(px_test_opt("allocator"), &alloc_type));
	REQUIRE(alloc_type != PX_ALLOCATOR_AUTO && alloc_type != PX_ALLOCATOR_EXTERNAL);
	signal(SIGPIPE, SIG_IGN);
	px_log_set_handler(px_test_log, NULL, PX_LOG_INFO);
	px_test_dir();
	make_layout();
	if (alloc_type != PX_ALLOCATOR_DUMB && alloc_type != PX_ALLOCATOR_GBM)
		return run_suites(NULL);

	/* DRM's allocators: on every card (vgem and virtio-gpu in the vm
	 * tier), each in a process of its own. */
	int passed = 0, failed = 0;
	for (int i = 0; i < 16; i++) {
		char card[32];
		snprintf(card, sizeof(card), "/dev/dri/card%d", i);
		if (access(card, F_OK))
			continue;
		printf("---- %s on %s\n", px_allocator_name(alloc_type), card);
		int ret = px_test_wait(px_test_fork(run_suites, card), 120000);
		printf("---- %s on %s: %s\n", px_allocator_name(alloc_type), card,
		       ret == 0 ? "passed" : ret == 77 ? "skipped" : "FAILED");
		passed += ret == 0;
		failed += ret != 0 && ret != 77;
	}
	if (failed)
		return 1;
	if (!passed)
		SKIP("allocator %s: no DRM card here takes it", px_allocator_name(alloc_type));
	return 0;
}
