/* SPDX-License-Identifier: MIT */
/*
 * Hostile peers against a publisher (this process, 200 Hz) that serves three
 * honest subscriber processes (latest, queue of 4, reliable). Each attack
 * runs in a process of its own for 3 s (--quick: 2 s), stopped (SIGSTOP)
 * every other 100 ms, so that attacked and unattacked windows interleave and
 * see the same load of the machine (busy with other work, it varies by far
 * more than 10 % from one second to the next). The honest subscribers'
 * frames are counted in both, and the attacked rate must be at least 90 %
 * of the unattacked one, for each of them; an attack fails where five
 * attempts in a row fell short (under valgrind, --quick, the rates are
 * printed only). For the flood and the non-readers the unattacked windows
 * still hold the attacker's connections: what they compare is the
 * publisher with those connections being made and misbehaving against it
 * with them merely open. The attackers run at nice 10, so that what is
 * measured is what the attacks cost the publisher, not the CPU the
 * attacker's own loop takes on a machine of 2 cores. The attacks:
 *
 *   random      connections sending random bytes (some after a valid magic
 *               and version), of random lengths up to past the largest message
 *   lengths     valid headers whose length is absurd (0, 1, 2^31, 2^32 − 1,
 *               one off), in every state of the handshake
 *   fds         fds of the wrong kind (a pipe, a directory, a socket, another
 *               user's memfd, /dev/null) attached to HELLO, BUFFERS_ACK and
 *               RELEASE
 *   releases    RELEASEs of slots never held, and of one held and released
 *   cycles      10,000 connect/disconnect cycles (--quick: 1,000), every
 *               fourth with a HELLO
 *   flood       64 connections held open at once: beyond max_subscribers and
 *               the handshakes the publisher keeps
 *   no-reader   three subscribers that finish the handshake and never read
 *               their sockets again (nor release)
 *
 * Every misbehaving connection must be closed by the publisher within 3 s
 * (the attacker checks, stopped part of that time). Throughout, two silent peers (one says nothing
 * at all, one stops after HELLO) must be closed by the handshake timeout (5 s). At the end the
 * honest subscribers never lost their connection, the reliable one saw every frame in order
 * (px_stress.h), every slot is back and the publisher's fd count is what it was before the first
 * peer.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "core/wire.h"
#include "px_stress.h"

#define N_HONEST 3
#define RATE_HZ 200
/* Within the handshake timeout (5 s), and long enough for an attacker
 * stopped half the time (attack_phase()). */
#define CLOSE_MS 3000

static struct px_set_layout layout;
static uint32_t n_pool_fds; /* the pool's fds: slots × buffers */
static double phase_s;
static bool timing_free; /* --quick: rates not required */
static int nobody_memfd = -1;
static bool nobody_is_other; /* nobody_memfd belongs to uid 65534 */
static uint64_t rng;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- the attacker's side of the wire ---- */

static int raw_connect(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/hostile", getenv("PIXSHARE_DIR"));
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	REQUIRE(s >= 0);
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "attacker: connect: %s\n", strerror(errno));
		exit(1);
	}
	return s;
}

/* Sends a message, with `fd` attached where ≥ 0; a peer that has closed
 * the connection already is no error (EPIPE, ECONNRESET). */
static void send_raw(int s, const void *msg, size_t len, int fd)
{
	char ctrl[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		mh.msg_control = ctrl;
		mh.msg_controllen = sizeof(ctrl);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	}
	if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET) {
		fprintf(stderr, "attacker: sendmsg: %s\n", strerror(errno));
		exit(1);
	}
}

/* Receives one message within `timeout_ms`, closing any fds it carries:
 * its length (0 at the end of the stream), -ETIMEDOUT or -errno. */
static int recv_raw(int s, void *buf, size_t size, int *n_fds, int timeout_ms)
{
	struct pollfd pfd = {.fd = s, .events = POLLIN};
	int p = poll(&pfd, 1, timeout_ms);
	if (p == 0)
		return -ETIMEDOUT;
	REQUIRE(p == 1);
	union {
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = {.iov_base = buf, .iov_len = size};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctrl.buf,
			    .msg_controllen = sizeof(ctrl.buf)};
	ssize_t n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	*n_fds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < count; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + sizeof(int) * (size_t)i, sizeof(fd));
			close(fd);
		}
		*n_fds += count;
	}
	return (int)n;
}

static unsigned misbehaved; /* connections that misbehaved and were closed */

/* The publisher must close a misbehaving connection within CLOSE_MS: what
 * it sends before (WELCOME, BUFFERS, FRAME, REFUSE) is read and dropped. */
static void expect_closed(int s, const char *what)
{
	char buf[PX_WIRE_MAX_SIZE];
	uint64_t deadline = px_now_ns() + CLOSE_MS * 1000000ull;
	for (;;) {
		int64_t left = (int64_t)(deadline - px_now_ns()) / 1000000;
		int n_fds, r = recv_raw(s, buf, sizeof(buf), &n_fds, left > 0 ? (int)left : 0);
		if (r == 0 || r == -ECONNRESET)
			break;
		if (r == -ETIMEDOUT) {
			fprintf(stderr, "attacker: the publisher kept a connection that %s\n",
				what);
			exit(1);
		}
		REQUIRE(r > 0);
	}
	close(s);
	misbehaved++;
}

static void hello_init(struct px_wire_hello *h, enum px_qos qos, uint32_t depth)
{
	memset(h, 0, sizeof(*h));
	px_wire_header_init(&h->hdr, PX_MSG_HELLO, sizeof(*h), 0);
	h->qos = qos;
	h->queue_depth = depth;
	snprintf(h->name, sizeof(h->name), "attacker");
}

/* Connects and subscribes by hand. Stops after WELCOME and the first
 * BUFFERS where `stop_in_buffers`; else acknowledges every BUFFERS and
 * returns streaming. -1 where refused (the pool or the subscriber limit). */
static int raw_subscribe(enum px_qos qos, bool stop_in_buffers)
{
	struct px_wire_hello h;
	hello_init(&h, qos, qos == PX_QOS_QUEUE ? 2 : 0);
	int s = raw_connect();
	send_raw(s, &h, sizeof(h), -1);
	uint32_t got = 0;
	while (got < n_pool_fds) {
		char buf[PX_WIRE_MAX_SIZE];
		int n_fds, r = recv_raw(s, buf, sizeof(buf), &n_fds, CLOSE_MS);
		if (r == -ETIMEDOUT) {
			fprintf(stderr, "attacker: no handshake from the publisher\n");
			exit(1);
		}
		if (r <= 0) {
			close(s);
			return -1;
		}
		struct px_wire_header hdr;
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr.type == PX_MSG_REFUSE) {
			expect_closed(s, "it refused");
			misbehaved--;
			return -1;
		}
		if (hdr.type != PX_MSG_BUFFERS)
			continue;
		if (stop_in_buffers)
			return s;
		got += (uint32_t)n_fds;
		struct px_wire_buffers_ack ack;
		memset(&ack, 0, sizeof(ack));
		px_wire_header_init(&ack.hdr, PX_MSG_BUFFERS_ACK, sizeof(ack), 0);
		ack.next = got;
		send_raw(s, &ack, sizeof(ack), -1);
	}
	return s;
}

/* Waits for a FRAME on a streaming raw connection. */
static bool wait_frame(int s, struct px_wire_frame *f)
{
	for (;;) {
		char buf[PX_WIRE_MAX_SIZE];
		int n_fds, r = recv_raw(s, buf, sizeof(buf), &n_fds, CLOSE_MS);
		if (r <= 0)
			return false;
		struct px_wire_header hdr;
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr.type == PX_MSG_FRAME && (size_t)r >= sizeof(*f)) {
			memcpy(f, buf, sizeof(*f));
			return true;
		}
	}
}

static void release_init(struct px_wire_release *m, uint32_t slot, uint64_t seq, uint32_t flags)
{
	memset(m, 0, sizeof(*m));
	px_wire_header_init(&m->hdr, PX_MSG_RELEASE, sizeof(*m), flags);
	m->slot = slot;
	m->seq = seq;
}

/* ---- the attacks, each in a process of its own ---- */

static bool attack_time_left(uint64_t end)
{
	return px_now_ns() < end;
}

static void attack_random(uint64_t end)
{
	static uint8_t buf[6000];
	while (attack_time_left(end)) {
		int s = raw_connect();
		size_t len = 1 + next_random() % sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)next_random();
		if (next_random() % 2 && len >= sizeof(struct px_wire_header)) {
			/* Past the magic and version checks. */
			struct px_wire_header hdr;
			px_wire_header_init(&hdr, (enum px_wire_type)(next_random() % 12),
					    (uint32_t)next_random(), (uint32_t)next_random() % 4);
			memcpy(buf, &hdr, sizeof(hdr));
		}
		send_raw(s, buf, len, -1);
		expect_closed(s, "sent random bytes");
	}
}

static void attack_lengths(uint64_t end)
{
	static const uint32_t lengths[] = {0,	 1,    15,   16,	 63,	      65,
					   4095, 4096, 4097, 0x7fffffff, 0x80000000u, 0xffffffffu};
	static const size_t sizes[] = {16, sizeof(struct px_wire_hello), 4096, 5000};
	static char buf[5000];
	for (unsigned i = 0; attack_time_left(end); i++) {
		struct px_wire_header hdr;
		uint32_t length = lengths[i % PX_ARRAY_LEN(lengths)];
		size_t size = sizes[(i / PX_ARRAY_LEN(lengths)) % PX_ARRAY_LEN(sizes)];
		int state = (int)(i % 3), s;
		/* In each state of the handshake: before HELLO, while the pool's
		 * fds are sent, streaming. */
		enum px_wire_type type = state == 0   ? PX_MSG_HELLO
					 : state == 1 ? PX_MSG_BUFFERS_ACK
						      : PX_MSG_RELEASE;
		if (state == 0)
			s = raw_connect();
		else if ((s = raw_subscribe(PX_QOS_LATEST, state == 1)) < 0)
			continue;
		memset(buf, 0, sizeof(buf));
		px_wire_header_init(&hdr, type, length, 0);
		memcpy(buf, &hdr, sizeof(hdr));
		send_raw(s, buf, size, -1);
		expect_closed(s, "sent an absurd length");
	}
}

static void attack_fds(uint64_t end)
{
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	REQUIRE(dir >= 0 && sock >= 0 && null >= 0 && nobody_memfd >= 0);
	const int wrong[] = {p[0], p[1], dir, sock, nobody_memfd, null};
	for (unsigned i = 0; attack_time_left(end); i++) {
		int fd = wrong[i % PX_ARRAY_LEN(wrong)];
		int state = (int)((i / PX_ARRAY_LEN(wrong)) % 3), s;
		if (state == 0) {
			struct px_wire_hello h;
			hello_init(&h, PX_QOS_LATEST, 0);
			s = raw_connect();
			send_raw(s, &h, sizeof(h), fd);
		} else if (state == 1) {
			if ((s = raw_subscribe(PX_QOS_LATEST, true)) < 0)
				continue;
			struct px_wire_buffers_ack ack;
			memset(&ack, 0, sizeof(ack));
			px_wire_header_init(&ack.hdr, PX_MSG_BUFFERS_ACK, sizeof(ack), 0);
			ack.next = n_pool_fds < PX_WIRE_MAX_FDS ? n_pool_fds : PX_WIRE_MAX_FDS;
			send_raw(s, &ack, sizeof(ack), fd);
		} else {
			/* The release of a frame it holds, with the fd as its fence. */
			struct px_wire_frame f;
			if ((s = raw_subscribe(PX_QOS_LATEST, false)) < 0)
				continue;
			REQUIRE(wait_frame(s, &f));
			struct px_wire_release m;
			release_init(&m, f.slot, f.seq, PX_RELEASE_FENCE);
			send_raw(s, &m, sizeof(m), fd);
		}
		expect_closed(s, "sent an fd of the wrong kind");
	}
	close(p[0]);
	close(p[1]);
	close(dir);
	close(sock);
	close(null);
}

static void attack_releases(uint64_t end)
{
	for (unsigned i = 0; attack_time_left(end); i++) {
		int s = raw_subscribe(PX_QOS_LATEST, false);
		if (s < 0)
			continue;
		struct px_wire_frame f;
		REQUIRE(wait_frame(s, &f));
		struct px_wire_release m;
		switch (i % 3) {
		case 0: /* a slot it was never sent, or beyond the pool */
			release_init(&m, (f.slot + 1 + (uint32_t)(next_random() % 70)) % 80, f.seq,
				     0);
			break;
		case 1: /* the right slot, a frame it was never sent */
			release_init(&m, f.slot, f.seq + 1 + next_random() % 1000, 0);
			break;
		default: /* released twice */
			release_init(&m, f.slot, f.seq, 0);
			send_raw(s, &m, sizeof(m), -1);
			break;
		}
		send_raw(s, &m, sizeof(m), -1);
		expect_closed(s, "released a frame it did not hold");
	}
}

static unsigned cycles_done;

static void attack_cycles(uint64_t end, unsigned cycles)
{
	struct px_wire_hello h;
	hello_init(&h, PX_QOS_LATEST, 0);
	for (unsigned i = 0; i < cycles; i++) {
		int s = raw_connect();
		if (i % 4 == 1)
			send_raw(s, &h, sizeof(h), -1);
		close(s);
		cycles_done++;
	}
	while (attack_time_left(end))
		nanosleep(&(struct timespec){0, 10000000}, NULL);
}

static void attack_flood(uint64_t end)
{
	int s[64];
	struct px_wire_hello h;
	hello_init(&h, PX_QOS_LATEST, 0);
	for (int i = 0; i < 64; i++) {
		s[i] = raw_connect();
		if (i % 2)
			send_raw(s[i], &h, sizeof(h), -1);
	}
	while (attack_time_left(end))
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	/* max_subscribers (8) + the 16 extra handshakes: the rest were closed
	 * at once, or refused. */
	int closed = 0;
	for (int i = 0; i < 64; i++) {
		char buf[PX_WIRE_MAX_SIZE];
		int n_fds, r;
		while ((r = recv_raw(s[i], buf, sizeof(buf), &n_fds, 0)) > 0)
			;
		closed += r == 0 || r == -ECONNRESET;
		close(s[i]);
	}
	if (closed < 64 - 24) {
		fprintf(stderr, "attacker: only %d of 64 flooding connections were closed\n",
			closed);
		exit(1);
	}
	misbehaved = (unsigned)closed;
}

static void attack_no_reader(uint64_t end)
{
	int s[3];
	const enum px_qos qos[3] = {PX_QOS_LATEST, PX_QOS_QUEUE, PX_QOS_LATEST};
	for (int i = 0; i < 3; i++)
		if ((s[i] = raw_subscribe(qos[i], false)) < 0) {
			fprintf(stderr, "attacker: a non-reader was refused\n");
			exit(1);
		}
	while (attack_time_left(end))
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	/* Still connected: not reading is no crime; nothing was lost either. */
	for (int i = 0; i < 3; i++) {
		struct pollfd pfd = {.fd = s[i], .events = POLLRDHUP};
		REQUIRE_EQ(poll(&pfd, 1, 0), 0);
		close(s[i]);
	}
}

/* Connects and says nothing (`hello`: stops after HELLO): must be closed by
 * the handshake timeout (5 s), not much earlier nor later. */
static int silent_peer(void *arg)
{
	bool hello = arg != NULL;
	stress_child_fds(NULL, 0);
	uint64_t t0 = px_now_ns();
	int s = raw_connect();
	if (hello) {
		struct px_wire_hello h;
		hello_init(&h, PX_QOS_LATEST, 0);
		send_raw(s, &h, sizeof(h), -1);
	}
	char buf[PX_WIRE_MAX_SIZE];
	int r, n_fds;
	while ((r = recv_raw(s, buf, sizeof(buf), &n_fds, 10000)) > 0)
		;
	double waited = (double)(px_now_ns() - t0) / 1e9;
	close(s);
	if ((r != 0 && r != -ECONNRESET) || waited < 4.5 || waited > 8) {
		fprintf(stderr, "silent peer%s: %s after %.1f s\n", hello ? " (after HELLO)" : "",
			r == -ETIMEDOUT ? "still connected" : "closed", waited);
		return 1;
	}
	printf("silent peer%s closed after %.1f s\n", hello ? " (after HELLO)" : "", waited);
	return 0;
}

enum attack { RANDOM, LENGTHS, FDS, RELEASES, CYCLES, FLOOD, NO_READER, N_ATTACKS };
static const char *const attack_names[N_ATTACKS] = {
    "random", "lengths", "fds", "releases", "cycles", "flood", "no-reader",
};

static int attack_main(void *arg)
{
	enum attack a = (enum attack)(intptr_t)arg;
	stress_child_fds(&nobody_memfd, 1);
	/* What is measured is what the attacks cost the publisher, not the CPU
	 * the attacker's own loop takes from it on a machine of 2 cores. */
	errno = 0;
	REQUIRE(nice(10) != -1 || errno == 0);
	rng ^= (uint64_t)getpid() << 20;
	/* Stopped half the time: see attack_phase(). */
	uint64_t end = px_now_ns() + (uint64_t)(2 * phase_s * 1e9);
	switch (a) {
	case RANDOM:
		attack_random(end);
		break;
	case LENGTHS:
		attack_lengths(end);
		break;
	case FDS:
		attack_fds(end);
		break;
	case RELEASES:
		attack_releases(end);
		break;
	case CYCLES:
		attack_cycles(end, px_test_opt("quick") ? 1000 : 10000);
		printf("attacker: %u connect/disconnect cycles\n", cycles_done);
		break;
	case FLOOD:
		attack_flood(end);
		break;
	case NO_READER:
		attack_no_reader(end);
		break;
	default:
		return 2;
	}
	if (a != CYCLES && a != NO_READER && !misbehaved) {
		fprintf(stderr, "attacker %s: did nothing\n", attack_names[a]);
		return 1;
	}
	printf("attacker %s: %u connections misbehaved and were closed\n", attack_names[a],
	       misbehaved);
	return 0;
}

/* ---- the publisher's side ---- */

static struct px_publisher *pub;
static uint64_t next_frame_ns;
static _Atomic uint64_t *counters; /* frames each honest subscriber received */

/* Frames counted over some time. */
struct tally {
	double seconds;
	uint64_t frames[N_HONEST + 1]; /* each honest subscriber's; published */
};

/* Publishes at RATE_HZ for `seconds`, adding what was received (and
 * published) to `t`; notes the end of `*attacker` (then 0) on the way. */
static void serve(double seconds, pid_t *attacker, struct tally *t)
{
	uint64_t before[N_HONEST];
	struct px_publisher_stats st0, st1;
	REQUIRE_OK(px_publisher_get_stats(pub, &st0));
	for (int i = 0; i < N_HONEST; i++)
		before[i] = atomic_load(&counters[i]);
	uint64_t t0 = px_now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
	for (uint64_t now = t0; now < end; now = px_now_ns()) {
		if (now >= next_frame_ns) {
			struct px_slot *slot;
			int ret = px_publisher_acquire(pub, 0, &slot);
			if (ret == 0)
				REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
			else
				REQUIRE_EQ(ret, -EAGAIN); /* a reliable subscriber is behind */
			next_frame_ns += 1000000000ull / RATE_HZ;
			if (next_frame_ns < now)
				next_frame_ns = now; /* late: no burst to catch up */
		}
		px_publisher_dispatch_until(pub, next_frame_ns < end ? next_frame_ns : end);
		if (attacker && *attacker) {
			int status;
			pid_t r = waitpid(*attacker, &status, WNOHANG);
			REQUIRE(r >= 0);
			if (r == *attacker) {
				if (!WIFEXITED(status) || WEXITSTATUS(status)) {
					fprintf(stderr, "the attacker failed\n");
					exit(1);
				}
				*attacker = 0;
			}
		}
	}
	t->seconds += (double)(px_now_ns() - t0) / 1e9;
	for (int i = 0; i < N_HONEST; i++)
		t->frames[i] += atomic_load(&counters[i]) - before[i];
	REQUIRE_OK(px_publisher_get_stats(pub, &st1));
	t->frames[N_HONEST] += st1.published - st0.published;
}

/* Publishes at RATE_HZ for `seconds`; rates as attack_phase(). */
static void phase(double seconds, double *rates)
{
	struct tally t = {0};
	serve(seconds, NULL, &t);
	for (int i = 0; i <= N_HONEST; i++)
		rates[i] = (double)t.frames[i] / t.seconds;
}

/*
 * Runs `attacker` to its end in windows of 100 ms, stopped (SIGSTOP) every
 * other one, so that the attacked and unattacked windows interleave and see
 * the same load of the machine (which, busy with other work, varies by far
 * more than 10 % from one second to the next); then serves unattacked until
 * both have had the same time. Fills each honest subscriber's rate in
 * frames per second, attacked (`rates`) and not (`base`), and the
 * publisher's in [N_HONEST]; returns the attacked time.
 */
static double attack_phase(pid_t attacker, double *rates, double *base)
{
	struct tally on = {0}, off = {0};
	for (bool running = true; attacker; running = !running) {
		serve(0.1, &attacker, running ? &on : &off);
		if (attacker)
			REQUIRE(kill(attacker, running ? SIGSTOP : SIGCONT) == 0);
	}
	if (off.seconds < on.seconds)
		serve(on.seconds - off.seconds, NULL, &off);
	for (int i = 0; i <= N_HONEST; i++) {
		rates[i] = (double)on.frames[i] / on.seconds;
		base[i] = (double)off.frames[i] / off.seconds;
	}
	return on.seconds;
}

/* Another user's memfd: made by a child of uid 65534, passed back (as
 * root; else this uid's own). */
static void make_nobody_memfd(void)
{
	if (geteuid() != 0) {
		nobody_memfd = memfd_create("own", MFD_CLOEXEC);
		REQUIRE(nobody_memfd >= 0);
		return;
	}
	int sp[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		REQUIRE(setresgid(65534, 65534, 65534) == 0);
		REQUIRE(setresuid(65534, 65534, 65534) == 0);
		int fd = memfd_create("nobody's", MFD_CLOEXEC);
		REQUIRE(fd >= 0 && ftruncate(fd, 4096) == 0);
		px_test_send_fds_raw(sp[1], "m", 1, fd, 1);
		_exit(0);
	}
	REQUIRE_EQ(px_test_wait(pid, 5000), 0);
	int fds[PX_WIRE_FD_ROOM], n_fds;
	char buf[PX_WIRE_MAX_SIZE];
	REQUIRE_EQ(px_wire_recv(sp[0], buf, fds, 1, &n_fds), 1);
	REQUIRE_EQ(n_fds, 1);
	nobody_memfd = fds[0];
	struct stat st;
	REQUIRE(fstat(nobody_memfd, &st) == 0);
	REQUIRE_EQ(st.st_uid, 65534);
	nobody_is_other = true;
	close(sp[0]);
	close(sp[1]);
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	bool quick = px_test_opt("quick") != NULL;
	phase_s = quick ? 1.0 : 1.5;
	/* Under valgrind (--quick) the publisher runs 20 to 50 times slower
	 * than its attackers: the rates are printed, not required. */
	timing_free = quick;
	rng = px_test_opt("seed") ? strtoull(px_test_opt("seed"), NULL, 0) : px_now_ns();
	rng |= 1;
	printf("hostile: seed %llu\n", (unsigned long long)rng);
	px_test_dir();
	px_log_set_handler(stress_log, NULL, PX_LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	stress_layout(&layout);
	int report_pipe[2], stop_pipe[2];
	REQUIRE(pipe2(report_pipe, O_CLOEXEC) == 0 && pipe2(stop_pipe, O_CLOEXEC) == 0);
	REQUIRE(fcntl(report_pipe[0], F_SETFL, O_NONBLOCK) == 0);
	counters = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(counters != MAP_FAILED);
	make_nobody_memfd();

	int fds0 = px_test_count_fds();
	struct px_publisher_params pp = {.topic = "hostile",
					 .layout = &layout,
					 .allocator = PX_ALLOCATOR_MEMFD,
					 .max_subscribers = 8,
					 .pool_size = 40};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	n_pool_fds = px_publisher_get_pool_size(pub) * layout.n_buffers;
	int fds_pub = px_test_count_fds();

	static const struct {
		enum px_qos qos;
		uint32_t depth;
	} honest_qos[N_HONEST] = {{PX_QOS_LATEST, 0}, {PX_QOS_QUEUE, 4}, {PX_QOS_RELIABLE, 0}};
	struct stress_sub honest[N_HONEST];
	pid_t honest_pid[N_HONEST];
	for (int i = 0; i < N_HONEST; i++) {
		honest[i] = (struct stress_sub){.id = i,
						.topic = "hostile",
						.qos = honest_qos[i].qos,
						.queue_depth = honest_qos[i].depth,
						.report_fd = report_pipe[1],
						.stop_fd = stop_pipe[0],
						.counter = &counters[i]};
		honest_pid[i] = px_test_fork(stress_subscriber_main, &honest[i]);
	}
	for (int i = 0; i < N_HONEST; i++)
		px_test_wait_subscriber_of(pub, honest_pid[i], 1000);
	px_test_wait_subscribers(pub, N_HONEST);
	next_frame_ns = px_now_ns();
	double rates[N_HONEST + 1], base[N_HONEST + 1];
	/* Warm up: every subscriber at full pace. */
	phase(0.5, rates);

	pid_t silent[2] = {px_test_fork(silent_peer, NULL), px_test_fork(silent_peer, "")};
	struct px_publisher_stats st0, st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st0));
	char figures[N_ATTACKS][200];
	double worst = 1e9;
	int retries = 0;
	for (int a = 0, attempt = 1; a < N_ATTACKS; attempt++) {
		pid_t attacker = px_test_fork(attack_main, (void *)(intptr_t)a);
		double ta = attack_phase(attacker, rates, base);
		int len = snprintf(figures[a], sizeof(figures[a]),
				   "%-9s (%.1f s): published %.0f/%.0f Hz;", attack_names[a], ta,
				   rates[N_HONEST], base[N_HONEST]);
		bool failed = false;
		double least = 1e9;
		for (int i = 0; i < N_HONEST; i++) {
			double ratio = base[i] > 0 ? rates[i] / base[i] : 0;
			least = ratio < least ? ratio : least;
			len += snprintf(figures[a] + len, sizeof(figures[a]) - (size_t)len,
					" %s %.0f/%.0f Hz = %.2f", px_qos_name(honest_qos[i].qos),
					rates[i], base[i], ratio);
			if (ratio < 0.9 && !timing_free) {
				fprintf(stderr,
					"attack %s, attempt %d: the %s subscriber received %.1f "
					"frames/s, %.1f unattacked (%.1f s each): %.2f < 0.9\n",
					attack_names[a], attempt, px_qos_name(honest_qos[i].qos),
					rates[i], base[i], ta, ratio);
				failed = true;
			}
		}
		printf("hostile: %s\n", figures[a]);
		/* A machine busy with other work slows both phases unevenly: an
		 * attack fails only where five attempts in a row fell short. */
		REQUIRE(!failed || attempt < 5 || timing_free);
		if (failed && !timing_free) {
			retries++;
			continue;
		}
		worst = least < worst ? least : worst;
		a++;
		attempt = 0;
	}
	/* The silent peers were closed by the handshake timeout (they check). */
	for (int i = 0; i < 2; i++) {
		for (int t = 0; t < 1000; t++) {
			int status;
			pid_t r = waitpid(silent[i], &status, WNOHANG);
			REQUIRE(r >= 0);
			if (r == silent[i]) {
				REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
				break;
			}
			phase(0.01, rates);
			REQUIRE(t < 999);
		}
	}

	/* The honest ones never noticed a thing: one connection each, the
	 * reliable one every frame in order. */
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.n_subscribers, N_HONEST);
	close(stop_pipe[1]);
	for (int i = 0; i < N_HONEST; i++) {
		for (int t = 0; t < 2000; t++) {
			px_publisher_dispatch(pub, 10);
			int status;
			pid_t r = waitpid(honest_pid[i], &status, WNOHANG);
			REQUIRE(r >= 0);
			if (r == honest_pid[i]) {
				if (!WIFEXITED(status) || WEXITSTATUS(status)) {
					fprintf(stderr, "honest subscriber %s ended with %d\n",
						px_qos_name(honest_qos[i].qos), status);
					exit(1);
				}
				honest_pid[i] = 0;
				break;
			}
		}
		REQUIRE(honest_pid[i] == 0);
	}
	struct stress_report reports[16];
	int n = stress_read_reports(report_pipe[0], reports, 16), done = 0;
	for (int i = 0; i < n; i++) {
		if (reports[i].kind != STRESS_DONE)
			continue;
		REQUIRE_EQ(reports[i].connects, 1);
		REQUIRE_EQ(reports[i].disconnects, 0);
		done++;
	}
	REQUIRE_EQ(done, N_HONEST);

	stress_settle(pub, fds_pub - 1);
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.free_slots, px_publisher_get_pool_size(pub) - 1);
	uint64_t errors = st.protocol_errors - st0.protocol_errors;
	uint64_t refused = st.refused - st0.refused;
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_count_fds(), fds0 - 1);
	REQUIRE_EQ(px_test_pointer_logs, 0);
	close(report_pipe[0]);
	close(report_pipe[1]);
	close(stop_pipe[0]);
	if (nobody_memfd >= 0)
		close(nobody_memfd);
	munmap((void *)counters, 4096);
	printf("stress: hostile: %d attacks of %.1f s against a %d Hz publisher: honest "
	       "subscribers kept at least %.2f of their unattacked rate%s (latest, queue, "
	       "reliable; %d attacks repeated); %llu protocol errors, %llu refusals, %u "
	       "warnings logged; another user's memfd: %s; 0 leases and 0 fds leaked\n",
	       N_ATTACKS, phase_s, RATE_HZ, worst, timing_free ? " (--quick: not required)" : "",
	       retries, (unsigned long long)errors, (unsigned long long)refused, stress_warnings,
	       nobody_is_other ? "uid 65534's" : "(not root: this uid's own)");
	return 0;
}
