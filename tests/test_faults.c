/* SPDX-License-Identifier: MIT */
/*
 * Faults: subscribers killed mid-stream, a subscriber that never releases,
 * publishers killed and restarted, stale and live sockets, malformed
 * messages from either side, and subscribers trying to write into frames.
 * Open fd counts are checked after each.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/wire.h"
#include "px_agent.h"

static struct px_set_layout layout;

static struct px_publisher *make_publisher(const char *topic, uint32_t width)
{
	struct px_publisher *pub;
	struct px_image_desc d[2] = {{PX_FORMAT_R8, width, 8}, {PX_FORMAT_YUYV, 16, 4}};
	REQUIRE_OK(px_layout_init_packed(&layout, 2, d, 0, PX_PACK_PER_IMAGE));
	struct px_publisher_params p = {.topic = topic, .layout = &layout};
	REQUIRE_OK(px_publisher_create(&p, &pub));
	return pub;
}

static int publish(struct px_publisher *pub)
{
	struct px_slot *slot;
	int ret = px_publisher_acquire(pub, 1000, &slot);
	if (ret)
		return ret;
	return px_publisher_publish(pub, slot, NULL);
}

/* kill -9 of a subscriber holding frames frees its leases at once, and the
 * publisher goes on serving the others; one that never releases starves
 * nobody. */
static void test_subscriber_killed(void)
{
	int fds = px_test_count_fds();
	struct px_publisher *pub = make_publisher("faults", 64);
	/* The hog queues, so that it can hold two frames in a row; latest would
	 * skip to the newest. */
	struct agent_params hp = {.qos = PX_QOS_QUEUE, .queue_depth = 1, .topic = "faults"};
	struct agent_params ap = {.qos = PX_QOS_LATEST, .topic = "faults"};
	struct agent hog = agent_start(&hp), good = agent_start(&ap);
	REQUIRE_OK(agent_do(&hog, pub, 0).ret);
	REQUIRE_OK(agent_do(&good, pub, 0).ret);
	wait_subscribers(pub, 2);

	/* The hog takes two frames and never gives them back. */
	REQUIRE_OK(publish(pub));
	REQUIRE_OK(publish(pub));
	REQUIRE_OK(agent_do(&hog, pub, 'r').ret);
	REQUIRE_OK(agent_do(&hog, pub, 'r').ret);
	/* The publisher never waits, and the good one keeps receiving up to the
	 * newest frame (latest QoS may skip some while it is busy). */
	char c = 'd';
	REQUIRE(write(good.cmd, &c, 1) == 1);
	for (int i = 0; i < 300; i++) {
		REQUIRE_OK(publish(pub));
		px_publisher_dispatch(pub, 1);
	}
	struct agent_reply r = agent_do(&good, pub, 0);
	REQUIRE(r.count >= 30);
	REQUIRE_EQ(r.last, 302);
	struct px_publisher_stats st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.acquire_timeouts, 0);

	/* The hog dies holding two frames: they come back at once. */
	uint32_t pool = px_publisher_get_pool_size(pub);
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE(st.free_slots <= pool - 3); /* 2 leases + the newest frame (+ pending) */
	kill(hog.pid, SIGKILL);
	REQUIRE_EQ(px_test_wait(hog.pid, 5000), 128 + SIGKILL);
	close(hog.cmd);
	close(hog.reply);
	wait_subscribers(pub, 1);
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.free_slots, pool - 1); /* only the newest frame is held */
	REQUIRE_EQ(st.protocol_errors, 0);

	REQUIRE_OK(publish(pub));
	REQUIRE_EQ(agent_do(&good, pub, 'r').seq, 303);
	agent_do(&good, pub, 'R');
	agent_stop(&good);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

/* A publisher that stops while releases are in flight still ends every
 * stream cleanly, and frames already sent are not lost. */
static void test_clean_end(void)
{
	int fds = px_test_count_fds();
	struct px_publisher *pub = make_publisher("end", 64);
	struct agent_params ap = {.qos = PX_QOS_QUEUE, .queue_depth = 1, .topic = "end"};
	struct agent a = agent_start(&ap);
	REQUIRE_OK(agent_do(&a, pub, 0).ret);
	wait_subscribers(pub, 1);
	REQUIRE_OK(publish(pub));
	REQUIRE_OK(publish(pub));
	REQUIRE_EQ(agent_do(&a, pub, 'r').seq, 1);
	/* The release reaches the publisher's socket, and stays unread. */
	REQUIRE_EQ(agent_do(&a, NULL, 'R').count, 1);
	px_publisher_destroy(pub);
	struct agent_reply r = agent_do(&a, NULL, 'r');
	REQUIRE_OK(r.ret);
	REQUIRE_EQ(r.seq, 2);
	r = agent_do(&a, NULL, 'r');
	REQUIRE_EQ(r.ret, -ETIMEDOUT);
	REQUIRE_EQ(r.stats.disconnects, 1);
	REQUIRE_EQ(r.stats.ended_cleanly, 1);
	agent_do(&a, NULL, 'R');
	agent_stop(&a);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

static int publish_three_and_stop(void *arg)
{
	struct px_publisher *pub = make_publisher("loop", 64);
	/* Tell the parent that the topic exists, then wait for its subscriber. */
	REQUIRE(write(*(int *)arg, "", 1) == 1);
	wait_subscribers(pub, 1);
	for (int i = 0; i < 3; i++)
		REQUIRE_OK(publish(pub));
	px_publisher_destroy(pub);
	return 0;
}

static int loop_frames;
static void count_frame(void *data, struct px_frame *f)
{
	loop_frames++;
	px_frame_release(f);
}

/* An event loop learns of the end of a stream through the subscriber's fd:
 * it stays readable until dispatch has said -EPIPE. */
static void test_event_loop_end(void)
{
	int fds = px_test_count_fds(), p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid_t pid = px_test_fork(publish_three_and_stop, &p[1]);
	char c;
	REQUIRE(read(p[0], &c, 1) == 1);
	close(p[0]);
	close(p[1]);
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = "loop", .connect_timeout_ms = 5000,
					  .qos = PX_QOS_QUEUE, .queue_depth = 1,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT,
					  .on_frame = count_frame};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	/* Read nothing until the publisher is gone, so that the frames and END
	 * arrive in one read: two frames (its lease limit), the third was
	 * waiting for a release when the publisher stopped. */
	REQUIRE_EQ(px_test_wait(pid, 5000), 0);
	int ret = 0;
	for (int i = 0; i < 50 && ret != -EPIPE; i++) {
		struct pollfd pfd = {.fd = px_subscriber_get_fd(sub), .events = POLLIN};
		REQUIRE_EQ(poll(&pfd, 1, 5000), 1);
		ret = px_subscriber_dispatch(sub, 0);
		REQUIRE(ret >= 0 || ret == -EPIPE);
	}
	REQUIRE_EQ(ret, -EPIPE);
	REQUIRE_EQ(loop_frames, 2);
	/* And it stays that way. */
	REQUIRE_EQ(px_subscriber_dispatch(sub, 100), -EPIPE);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

static int publisher_forever(void *arg)
{
	struct px_publisher *pub = make_publisher("restart", (uint32_t)(intptr_t)arg);
	for (;;) {
		if (publish(pub))
			return 1;
		px_publisher_dispatch(pub, 5);
	}
}

static int events[3];
static void on_event(void *data, enum px_subscriber_event ev)
{
	events[ev]++;
}

/* A publisher killed with -9 leaves a stale socket; its successor replaces
 * it and subscribers resume, with the new layout if it changed. */
static void test_publisher_restart(void)
{
	int fds = px_test_count_fds();
	pid_t p1 = px_test_fork(publisher_forever, (void *)(intptr_t)64);
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = "restart", .connect_timeout_ms = 5000,
					  .on_event = on_event};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	REQUIRE_EQ(px_subscriber_get_layout(sub)->images[0].width, 64);
	struct px_frame *f;
	for (int i = 0; i < 5; i++) {
		REQUIRE_OK(px_subscriber_receive(sub, &f, 2000));
		if (i < 4)
			px_frame_release(f);
	}
	/* Keep one frame across the restart: it must stay readable. */
	const uint8_t *kept = px_frame_plane(f, 0, 0);

	kill(p1, SIGKILL);
	REQUIRE_EQ(px_test_wait(p1, 5000), 128 + SIGKILL);
	/* Frames it sent before dying are still delivered, then nothing. */
	struct px_frame *g;
	int ret, left = 0;
	while ((ret = px_subscriber_receive(sub, &g, 300)) == 0) {
		REQUIRE(g->seq > f->seq);
		px_frame_release(g);
		REQUIRE(++left < 100);
	}
	REQUIRE_EQ(ret, -ETIMEDOUT);
	REQUIRE(!px_subscriber_is_connected(sub));
	REQUIRE_EQ(events[PX_EVENT_DISCONNECTED], 1);

	/* The successor has another layout. */
	pid_t p2 = px_test_fork(publisher_forever, (void *)(intptr_t)96);
	REQUIRE_OK(px_subscriber_receive(sub, &g, 5000));
	REQUIRE(px_subscriber_is_connected(sub));
	REQUIRE_EQ(events[PX_EVENT_CONNECTED], 1);
	REQUIRE_EQ(g->layout->images[0].width, 96);
	REQUIRE_EQ(px_subscriber_get_layout(sub)->images[0].width, 96);
	REQUIRE(kept[0] == kept[0]); /* still mapped: reading it does not fault */
	REQUIRE_EQ(f->layout->images[0].width, 64);
	px_frame_release(f);
	px_frame_release(g);
	struct px_subscriber_stats st;
	REQUIRE_OK(px_subscriber_get_stats(sub, &st));
	REQUIRE_EQ(st.connects, 2);
	REQUIRE_EQ(st.disconnects, 1);
	REQUIRE_EQ(st.ended_cleanly, 0);
	REQUIRE_EQ(st.held, 0);

	/* A clean stop ends the stream; without reconnection that is -EPIPE. */
	px_subscriber_destroy(sub);
	sp.flags = PX_SUBSCRIBER_NO_RECONNECT;
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	kill(p2, SIGKILL);
	REQUIRE_EQ(px_test_wait(p2, 5000), 128 + SIGKILL);
	while ((ret = px_subscriber_receive(sub, &g, 2000)) == 0)
		px_frame_release(g);
	REQUIRE_EQ(ret, -EPIPE);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

static int query_owned(void *arg)
{
	struct px_topic_info info;
	struct px_set_layout l;
	struct px_publisher_stats st;
	uint64_t uptime = 0;
	REQUIRE_OK(px_topic_query(NULL, "owned", 2000, &info, &l, &st, &uptime));
	REQUIRE_EQ(info.publisher_pid, getppid());
	REQUIRE(px_layout_equal(&l, &layout));
	REQUIRE_EQ(info.pool_size, 14);
	REQUIRE_EQ(st.n_subscribers, 0);
	REQUIRE(uptime > 0);
	/* Each part is optional. */
	REQUIRE_OK(px_topic_query(NULL, "owned", 2000, NULL, NULL, &st, NULL));
	REQUIRE_EQ(st.n_subscribers, 0);
	/* An older caller's shorter stats: written up to its size, no further
	 * (the byte after it is the caller's); a size below the first version
	 * is refused. */
	_Alignas(struct px_publisher_stats) unsigned char room[sizeof(st) + 8];
	memset(room, 0xa5, sizeof(room));
	REQUIRE_OK(px_topic_query_sized(0, sizeof(st), NULL, "owned", 2000, NULL, NULL,
					(struct px_publisher_stats *)(void *)room, NULL));
	for (size_t i = sizeof(st); i < sizeof(room); i++)
		REQUIRE_EQ(room[i], 0xa5);
	REQUIRE_EQ(px_topic_query_sized(0, offsetof(struct px_publisher_stats, rate_hz), NULL,
					"owned", 2000, NULL, NULL, &st, NULL),
		   -EINVAL);
	return 0;
}

/* A live publisher's topic is not stolen; a dead one's is taken over (see
 * test_publisher_restart). */
static void test_topic_ownership(void)
{
	int fds = px_test_count_fds();
	struct px_publisher *a = make_publisher("owned", 64), *b = NULL;
	struct px_publisher_params p = {.topic = "owned", .layout = &layout};
	REQUIRE_EQ(px_publisher_create(&p, &b), -EADDRINUSE);
	REQUIRE(b == NULL);
	/* Still serving: another process can query it. */
	pid_t pid = px_test_fork(query_owned, NULL);
	int status = -1;
	for (int t = 0; t < 500 && waitpid(pid, &status, WNOHANG) != pid; t++)
		px_publisher_dispatch(a, 10);
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	px_publisher_destroy(a);
	REQUIRE_EQ(px_topic_query(NULL, "owned", 1000, NULL, NULL, NULL, NULL), -ENOENT);

	/* Bad names. */
	p.topic = "../escape";
	REQUIRE_EQ(px_publisher_create(&p, &b), -EINVAL);
	p.topic = ".hidden";
	REQUIRE_EQ(px_publisher_create(&p, &b), -EINVAL);
	p.topic = "x.lock";
	REQUIRE_EQ(px_publisher_create(&p, &b), -EINVAL);
	p.topic = "";
	REQUIRE_EQ(px_publisher_create(&p, &b), -EINVAL);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

/* Connects a raw client to a topic. */
static int raw_connect(const char *topic)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", px_test_dir(), topic);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	REQUIRE(s >= 0);
	REQUIRE(connect(s, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	return s;
}

/* Serves the publisher until the raw client's connection is closed by it. */
static void expect_closed(struct px_publisher *pub, int s)
{
	char buf[PX_WIRE_MAX_SIZE];
	for (int t = 0; t < 300; t++) {
		px_publisher_dispatch(pub, 10);
		ssize_t n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			close(s);
			return;
		}
	}
	fprintf(stderr, "publisher did not close a misbehaving connection\n");
	exit(1);
}

/* Connects and subscribes by hand (HELLO, then BUFFERS acknowledged until
 * every fd came; the fds are closed). Returns the socket, streaming. */
static int raw_subscribe(struct px_publisher *pub, const char *topic)
{
	struct px_wire_hello hello;
	memset(&hello, 0, sizeof(hello));
	px_wire_header_init(&hello.hdr, PX_MSG_HELLO, sizeof(hello), 0);
	char buf[PX_WIRE_MAX_SIZE];
	int rfds[PX_WIRE_FD_ROOM], n_fds;
	int s = raw_connect(topic);
	REQUIRE(send(s, &hello, sizeof(hello), 0) == sizeof(hello));
	uint32_t total = px_publisher_get_pool_size(pub) * layout.n_buffers, got = 0;
	for (int t = 0; t < 500 && got < total; t++) {
		px_publisher_dispatch(pub, 5);
		int len = px_wire_recv(s, buf, rfds, PX_WIRE_MAX_FDS, &n_fds);
		if (len == -EAGAIN)
			continue;
		REQUIRE(len > 0);
		for (int i = 0; i < n_fds; i++)
			close(rfds[i]);
		struct px_wire_header hdr;
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr.type != PX_MSG_BUFFERS)
			continue;
		got += (uint32_t)n_fds;
		struct px_wire_buffers_ack ack;
		memset(&ack, 0, sizeof(ack));
		px_wire_header_init(&ack.hdr, PX_MSG_BUFFERS_ACK, sizeof(ack), 0);
		ack.next = got;
		REQUIRE_OK(px_wire_send(s, &ack, sizeof(ack), NULL, 0));
	}
	REQUIRE_EQ(got, total);
	return s;
}

/* Malformed, truncated or out-of-place messages close that connection only. */
static void test_hostile_subscribers(void)
{
	int fds = px_test_count_fds();
	struct px_publisher *pub = make_publisher("hostile", 64);
	struct agent_params ap = {.qos = PX_QOS_LATEST, .topic = "hostile"};
	struct agent good = agent_start(&ap);
	REQUIRE_OK(agent_do(&good, pub, 0).ret);
	wait_subscribers(pub, 1);

	struct px_wire_hello hello;
	memset(&hello, 0, sizeof(hello));
	px_wire_header_init(&hello.hdr, PX_MSG_HELLO, sizeof(hello), 0);
	struct px_wire_hello h;
	int s, errors = 0;
	struct px_publisher_stats st;

	/* Garbage. */
	s = raw_connect("hostile");
	REQUIRE(send(s, "hello?", 6, 0) == 6);
	expect_closed(pub, s), errors++;
	/* Wrong version. */
	s = raw_connect("hostile");
	h = hello, h.hdr.version = 99;
	REQUIRE(send(s, &h, sizeof(h), 0) == sizeof(h));
	expect_closed(pub, s), errors++;
	/* Truncated HELLO. */
	s = raw_connect("hostile");
	REQUIRE(send(s, &hello, sizeof(hello) - 4, 0) == sizeof(hello) - 4);
	expect_closed(pub, s), errors++;
	/* Over-long packet. */
	s = raw_connect("hostile");
	static char big[PX_WIRE_MAX_SIZE * 2];
	memcpy(big, &hello, sizeof(hello));
	REQUIRE(send(s, big, sizeof(big), 0) == sizeof(big));
	expect_closed(pub, s), errors++;
	/* A HELLO carrying fds. */
	s = raw_connect("hostile");
	int some[3] = {0, 1, 2};
	REQUIRE_OK(px_wire_send(s, &hello, sizeof(hello), some, 3));
	expect_closed(pub, s), errors++;
	/* Too many fds for any message. */
	s = raw_connect("hostile");
	px_test_send_fds_raw(s, &hello, sizeof(hello), 0, PX_WIRE_FD_ROOM + 20);
	expect_closed(pub, s), errors++;
	/* RELEASE before HELLO. */
	s = raw_connect("hostile");
	struct px_wire_release rel;
	memset(&rel, 0, sizeof(rel));
	px_wire_header_init(&rel.hdr, PX_MSG_RELEASE, sizeof(rel), 0);
	rel.seq = 1;
	REQUIRE(send(s, &rel, sizeof(rel), 0) == sizeof(rel));
	expect_closed(pub, s), errors++;
	/* A proper handshake, then a RELEASE of a frame it does not hold. */
	{
		s = raw_subscribe(pub, "hostile");
		wait_subscribers(pub, 2);
		rel.slot = 0;
		rel.seq = 12345;
		REQUIRE(send(s, &rel, sizeof(rel), 0) == sizeof(rel));
		expect_closed(pub, s), errors++;
		wait_subscribers(pub, 1);
	}
	/* Connects and says nothing: closed after the handshake timeout. */
	s = raw_connect("hostile");
	for (int t = 0; t < 700; t++) {
		px_publisher_dispatch(pub, 10);
		char b;
		ssize_t n = recv(s, &b, 1, MSG_DONTWAIT);
		if (n == 0)
			break;
	}
	REQUIRE(recv(s, big, 1, MSG_DONTWAIT) == 0);
	close(s);

	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.protocol_errors, errors);
	/* The well-behaved subscriber never noticed. */
	REQUIRE_OK(publish(pub));
	struct agent_reply r = agent_do(&good, pub, 'r');
	REQUIRE_OK(r.ret);
	REQUIRE_EQ(r.seq, 1);
	REQUIRE_EQ(r.stats.disconnects, 0);
	agent_do(&good, pub, 'R');
	agent_stop(&good);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

/* What the log said about this process (the peer of every raw connection
 * here). */
static struct {
	char pid[32];
	int warnings, debug;
} said;

static void count_log(void *data, enum px_log_level level, const char *msg)
{
	(void)data;
	if (!strstr(msg, said.pid))
		return;
	if (level == PX_LOG_WARN)
		said.warnings++;
	else if (level == PX_LOG_DEBUG)
		said.debug++;
}

/* A peer that misbehaves in a loop is logged once, with its pid: 30 garbage
 * connections, then a flood past the connection limit, make one warning,
 * and the rest go to the debug level; every breach is counted. */
static void test_breaches_logged_once(void)
{
	int fds = px_test_count_fds();
	enum px_log_level level = px_log_get_level();
	snprintf(said.pid, sizeof(said.pid), "pid %d", (int)getpid());
	px_log_set_handler(count_log, NULL, PX_LOG_DEBUG);
	struct px_publisher *pub = make_publisher("breaches", 64);

	for (int i = 0; i < 30; i++) {
		int s = raw_connect("breaches");
		REQUIRE(send(s, "hello?", 6, 0) == 6);
		expect_closed(pub, s);
	}
	struct px_publisher_stats st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.protocol_errors, 30);
	REQUIRE_EQ(said.warnings, 1);
	REQUIRE(said.debug >= 29);

	/* 4 subscribers and 16 handshakes may be open at once (publisher.c,
	 * EXTRA_CONNECTIONS): 40 connections are 20 too many. */
	int flood[40];
	for (int i = 0; i < 40; i++) {
		flood[i] = raw_connect("breaches");
		px_publisher_dispatch(pub, 0);
	}
	px_publisher_dispatch(pub, 0);
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.refused, 20);
	REQUIRE_EQ(said.warnings, 1);
	REQUIRE(said.debug >= 49);
	for (int i = 0; i < 40; i++)
		close(flood[i]);
	px_publisher_destroy(pub);
	px_log_set_handler(NULL, NULL, level);
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("faults: 30 malformed connections and 20 past the limit from one pid: "
	       "%d warning, %d debug lines\n",
	       said.warnings, said.debug);
}

/* A subscriber whose RLIMIT_NOFILE leaves no room for the pool's fds says
 * so before it receives any (-EMFILE), instead of failing halfway when the
 * kernel drops the fds it cannot install; with room for them it
 * subscribes. The child counts its fds with the same /proc listing. */
static int subscribe_limited(void *arg)
{
	uint32_t pool_fds = *(const uint32_t *)arg;
	struct px_subscriber_params sp = {.topic = "nofile", .connect_timeout_ms = 5000};
	struct px_subscriber *sub;
	struct rlimit rl;
	REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rlim_t open_now = (rlim_t)px_test_count_fds();
	/* Room for half the pool. */
	rl.rlim_cur = open_now + pool_fds / 2;
	REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	REQUIRE_EQ(px_subscriber_create(&sp, &sub), -EMFILE);
	REQUIRE_EQ(px_test_count_fds(), (int)open_now);
	/* Room for the pool, the subscriber's own fds and its margin of 16. */
	rl.rlim_cur = open_now + pool_fds + 32;
	REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	px_subscriber_destroy(sub);
	return 0;
}

static void test_fd_limit(void)
{
	struct px_publisher *pub = make_publisher("nofile", 16);
	uint32_t pool_fds = px_publisher_get_pool_size(pub) * layout.n_buffers;
	pid_t pid = px_test_fork(subscribe_limited, &pool_fds);
	int status = -1;
	for (int t = 0; t < 1000 && waitpid(pid, &status, WNOHANG) == 0; t++)
		px_publisher_dispatch(pub, 10);
	if (status == -1)
		status = px_test_wait(pid, 0) << 8; /* timed out: killed */
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	px_publisher_destroy(pub);
	printf("faults: a pool of %u fds beyond RLIMIT_NOFILE: -EMFILE before any was received\n",
	       pool_fds);
}

/* Fences must be sync_files, both ways. An eventfd is pollable like one, so
 * a publisher that took it would keep the slot busy until the peer wrote to
 * it (or never); a subscriber would wait for it, or import it into a GPU
 * API as a sync_file. */
static void test_hostile_fences(void)
{
	int fds = px_test_count_fds();
	struct px_publisher *pub = make_publisher("fences", 32);
	int s = raw_subscribe(pub, "fences");
	wait_subscribers(pub, 1);
	REQUIRE_OK(publish(pub));
	/* The FRAME, then its RELEASE with an eventfd as its fence. */
	char buf[PX_WIRE_MAX_SIZE];
	int rfds[PX_WIRE_FD_ROOM], n_fds = 0, len = -EAGAIN;
	for (int t = 0; t < 300 && len == -EAGAIN; t++) {
		px_publisher_dispatch(pub, 10);
		len = px_wire_recv(s, buf, rfds, PX_WIRE_MAX_FDS, &n_fds);
	}
	REQUIRE(len == (int)sizeof(struct px_wire_frame));
	REQUIRE_EQ(n_fds, 0);
	struct px_wire_frame fr;
	memcpy(&fr, buf, sizeof(fr));
	REQUIRE_EQ(fr.hdr.type, PX_MSG_FRAME);
	struct px_wire_release rel;
	memset(&rel, 0, sizeof(rel));
	px_wire_header_init(&rel.hdr, PX_MSG_RELEASE, sizeof(rel), PX_RELEASE_FENCE);
	rel.slot = fr.slot;
	rel.seq = fr.seq;
	int efd = eventfd(0, EFD_CLOEXEC);
	REQUIRE(efd >= 0);
	REQUIRE_OK(px_wire_send(s, &rel, sizeof(rel), &efd, 1));
	expect_closed(pub, s);
	struct px_publisher_stats st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.protocol_errors, 1);
	/* The application's own fence is checked too. */
	struct px_slot *slot;
	REQUIRE_OK(px_publisher_acquire(pub, 0, &slot));
	REQUIRE_EQ(px_publisher_publish_fenced(pub, slot, NULL, efd), -EINVAL);
	px_publisher_cancel(pub, slot);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

/* A fake publisher: listens on the topic and answers HELLO with `welcome`,
 * then one BUFFERS message carrying `fd` for every buffer. */
struct fake {
	struct px_wire_welcome welcome;
	int fd;
	int frame_fence; /* >= 0: then a FRAME of slot 0 with this as its fence */
};

static int fake_publisher(void *arg)
{
	struct fake *fk = arg;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/fake", getenv("PIXSHARE_DIR"));
	unlink(addr.sun_path);
	int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	REQUIRE(bind(l, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	REQUIRE(listen(l, 1) == 0);
	REQUIRE(write(1, "", 0) == 0);
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	REQUIRE(s >= 0);
	char buf[PX_WIRE_MAX_SIZE];
	REQUIRE(recv(s, buf, sizeof(buf), 0) > 0);
	px_wire_send(s, &fk->welcome, sizeof(fk->welcome), NULL, 0);
	struct px_wire_buffers b;
	memset(&b, 0, sizeof(b));
	px_wire_header_init(&b.hdr, PX_MSG_BUFFERS, sizeof(b), 0);
	b.count = fk->welcome.pool_size * fk->welcome.layout.n_buffers;
	int fds[PX_WIRE_MAX_FDS];
	for (uint32_t i = 0; i < b.count; i++)
		fds[i] = fk->fd;
	px_wire_send(s, &b, sizeof(b), fds, (int)b.count);
	if (fk->frame_fence >= 0 && recv(s, buf, sizeof(buf), 0) > 0) {
		/* (That was BUFFERS_ACK.) */
		struct px_wire_frame fr;
		memset(&fr, 0, sizeof(fr));
		px_wire_header_init(&fr.hdr, PX_MSG_FRAME, sizeof(fr), PX_FRAME_FENCE);
		fr.seq = 1;
		fr.valid_mask = 1;
		fr.n_images = fk->welcome.layout.n_images;
		px_wire_send(s, &fr, sizeof(fr), &fk->frame_fence, 1);
	}
	/* Wait for the subscriber to hang up. */
	while (recv(s, buf, sizeof(buf), 0) > 0)
		;
	unlink(addr.sun_path);
	return 0;
}

static int try_subscribe(struct fake *fk)
{
	pid_t pid = px_test_fork(fake_publisher, fk);
	struct px_subscriber *sub = NULL;
	struct px_subscriber_params sp = {.topic = "fake", .connect_timeout_ms = 5000,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT};
	int ret = px_subscriber_create(&sp, &sub);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_wait(pid, 5000), 0);
	return ret;
}

/* Subscribers check what a publisher sends them, too. */
static void test_hostile_publisher(void)
{
	int fds = px_test_count_fds();
	struct fake fk = {.frame_fence = -1};
	struct px_image_desc d = {PX_FORMAT_R8, 64, 64};
	struct px_set_layout l;
	REQUIRE_OK(px_layout_init_packed(&l, 1, &d, 0, PX_PACK_PER_IMAGE));
	memset(&fk.welcome, 0, sizeof(fk.welcome));
	px_wire_header_init(&fk.welcome.hdr, PX_MSG_WELCOME, sizeof(fk.welcome), 0);
	fk.welcome.pool_size = 3;
	fk.welcome.max_leases = 1;
	fk.welcome.allocator = PX_ALLOCATOR_MEMFD;
	fk.welcome.pid = 1;
	px_wire_encode_layout(&fk.welcome.layout, &l);

	/* A pipe is not a memfd. */
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	fk.fd = p[0];
	REQUIRE_EQ(try_subscribe(&fk), -EPROTO);
	close(p[0]);
	close(p[1]);
	/* An unsealed memfd could be truncated under our mapping. */
	fk.fd = memfd_create("unsealed", MFD_CLOEXEC);
	REQUIRE(ftruncate(fk.fd, 4096) == 0);
	REQUIRE_EQ(try_subscribe(&fk), -EPROTO);
	/* … also when the publisher calls it a dma-buf (which has no seals):
	 * what it calls a dma-buf must be one. */
	fk.welcome.hdr.flags |= PX_WELCOME_DMABUF;
	fk.welcome.allocator = PX_ALLOCATOR_DMA_HEAP;
	REQUIRE_EQ(try_subscribe(&fk), -EPROTO);
	fk.welcome.allocator = PX_ALLOCATOR_EXTERNAL;
	REQUIRE_EQ(try_subscribe(&fk), -EPROTO);
	fk.welcome.hdr.flags &= ~PX_WELCOME_DMABUF;
	fk.welcome.allocator = PX_ALLOCATOR_MEMFD;
	close(fk.fd);
	/* A sealed memfd smaller than the layout says. */
	fk.fd = memfd_create("small", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	REQUIRE(ftruncate(fk.fd, 100) == 0);
	REQUIRE(fcntl(fk.fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
	REQUIRE_EQ(try_subscribe(&fk), -EPROTO);
	close(fk.fd);
	/* A layout whose planes overrun their buffer. */
	fk.fd = memfd_create("ok", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	REQUIRE(ftruncate(fk.fd, 4096) == 0);
	REQUIRE(fcntl(fk.fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
	fk.welcome.layout.images[0].planes[0].stride = 1000;
	REQUIRE_EQ(try_subscribe(&fk), -EPROTO);
	fk.welcome.layout.images[0].planes[0].stride = 64;
	/* And the honest version of the same is accepted. */
	REQUIRE_OK(try_subscribe(&fk));
	/* A FRAME whose fence is an eventfd, not a sync_file: the frame is
	 * not handed out and the connection ends. */
	fk.frame_fence = eventfd(0, EFD_CLOEXEC);
	REQUIRE(fk.frame_fence >= 0);
	pid_t pid = px_test_fork(fake_publisher, &fk);
	struct px_subscriber *sub = NULL;
	struct px_subscriber_params sp = {
	    .topic = "fake", .connect_timeout_ms = 5000, .flags = PX_SUBSCRIBER_NO_RECONNECT};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	struct px_subscriber_stats ss = {0};
	struct px_frame *f = NULL;
	for (int t = 0; t < 300 && !ss.disconnects; t++) {
		int ret = px_subscriber_receive(sub, &f, 10);
		REQUIRE(ret != 0);
		REQUIRE_OK(px_subscriber_get_stats(sub, &ss));
	}
	REQUIRE_EQ(ss.disconnects, 1);
	REQUIRE_EQ(ss.delivered, 0);
	REQUIRE_EQ(ss.received, 0);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_wait(pid, 5000), 0);
	close(fk.frame_fence);
	fk.frame_fence = -1;
	close(fk.fd);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

static int try_write(void *arg)
{
	/* Sanitizers catch SIGSEGV themselves; the kernel's verdict is wanted. */
	signal(SIGSEGV, SIG_DFL);
	*(volatile uint8_t *)arg = 1;
	return 0;
}

/* Subscribers map frames read-only and cannot get a writable mapping. */
static void test_read_only(void)
{
	struct px_publisher *pub = make_publisher("ro", 64);
	struct agent_params ap = {.topic = "ro"};
	(void)ap;
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		px_test_dir_path[0] = '\0';
		struct px_subscriber *sub;
		struct px_subscriber_params sp = {.topic = "ro", .connect_timeout_ms = 5000};
		REQUIRE_OK(px_subscriber_create(&sp, &sub));
		struct px_frame *f;
		REQUIRE_OK(px_subscriber_receive(sub, &f, 5000));
		const struct px_frame_buffer *b = &f->buffers[0];
		/* Writing through the mapping faults. */
		pid_t w = px_test_fork(try_write, (void *)b->data);
		REQUIRE_EQ(px_test_wait(w, 5000), 128 + SIGSEGV);
		/* It cannot be made writable, nor mapped writable again. */
		REQUIRE(mprotect((void *)b->data, 4096, PROT_READ | PROT_WRITE) < 0);
		REQUIRE(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0) ==
			MAP_FAILED);
		REQUIRE(errno == EPERM);
		/* Nor written with write(2). */
		REQUIRE(pwrite(b->fd, "x", 1, 0) < 0);
		REQUIRE(errno == EPERM);
		/* Nor resized. */
		REQUIRE(ftruncate(b->fd, 1) < 0);
		REQUIRE(((const uint8_t *)b->data)[0] == 0x7e);
		px_frame_release(f);
		px_subscriber_destroy(sub);
		exit(0);
	}
	struct px_slot *slot;
	REQUIRE_OK(px_publisher_acquire(pub, 0, &slot));
	memset(slot->buffers[0].data, 0x7e, slot->buffers[0].size);
	REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
	for (int t = 0; t < 500; t++) {
		px_publisher_dispatch(pub, 10);
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			/* The publisher's own mapping still writes. */
			memset(slot->buffers[0].data, 0x11, 16);
			px_publisher_destroy(pub);
			return;
		}
	}
	fprintf(stderr, "read-only child did not finish\n");
	exit(1);
}

/* The handshake deadline, both sides: a publisher closes a connection that
 * says nothing, and a subscriber gives up on a publisher that never answers,
 * each after its handshake_timeout_ms and not much later. */
static void test_handshake_deadlines(void)
{
	int fds = px_test_count_fds();
	struct px_image_desc d = {PX_FORMAT_R8, 16, 16};
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 0, PX_PACK_PER_IMAGE));
	struct px_publisher_params p = {
	    .topic = "deadline", .layout = &layout, .handshake_timeout_ms = 300};
	struct px_publisher *pub;
	REQUIRE_OK(px_publisher_create(&p, &pub));
	int s = raw_connect("deadline");
	uint64_t t0 = px_now_ns();
	expect_closed(pub, s);
	double ms = (double)(px_now_ns() - t0) / 1e6;
	printf("faults: a silent subscriber was closed after %.0f ms (deadline 300)\n", ms);
	fflush(stdout);
	REQUIRE(ms >= 290 && ms < 3000);
	px_publisher_destroy(pub);

	/* A socket that accepts (the kernel's backlog) and never answers. */
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/mute", px_test_dir());
	int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	REQUIRE(l >= 0);
	REQUIRE(bind(l, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	REQUIRE(listen(l, 4) == 0);
	struct px_subscriber *sub = NULL;
	struct px_subscriber_params sp = {
	    .topic = "mute", .flags = PX_SUBSCRIBER_NO_RECONNECT, .handshake_timeout_ms = 300};
	t0 = px_now_ns();
	REQUIRE_EQ(px_subscriber_create(&sp, &sub), -ETIMEDOUT);
	ms = (double)(px_now_ns() - t0) / 1e6;
	printf("faults: a silent publisher was given up after %.0f ms (deadline 300)\n", ms);
	fflush(stdout);
	REQUIRE(ms >= 290 && ms < 3000);
	REQUIRE(sub == NULL);
	unlink(addr.sun_path);
	close(l);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

int main(void)
{
	px_test_dir();
	test_subscriber_killed();
	test_clean_end();
	test_event_loop_end();
	test_publisher_restart();
	test_topic_ownership();
	test_hostile_subscribers();
	test_breaches_logged_once();
	test_fd_limit();
	test_hostile_fences();
	test_hostile_publisher();
	test_handshake_deadlines();
	test_read_only();
	printf("faults: ok\n");
	return 0;
}
