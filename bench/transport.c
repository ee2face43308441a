/* SPDX-License-Identifier: MIT */
/*
 * bench_transport: what it costs to move one camera set from a publisher
 * process to subscriber processes, with pixshare and with a copying baseline.
 *
 * One set is 6 images of 1280×800 YUYV (12,288,000 bytes). The pixels are
 * written once, before any phase, and never touched per frame: the transport
 * is measured, not the pixel work. The phases, each with its own processes:
 *
 *   1. pixshare, one latest subscriber, 60 Hz: latency publish → callback,
 *      drops, and the CPU time of both processes over the phase;
 *   2. pixshare, four latest subscribers, 60 Hz: frames and drops of each;
 *   3. pixshare, one reliable subscriber, as fast as acquire allows;
 *   4. copying baseline at 60 Hz: the set sent by value through a Unix
 *      SOCK_STREAM socketpair and read fully into the subscriber's buffer;
 *   5. copying baseline as fast as the socket goes;
 *   6. for reference, the machine's floor: a bare 16-byte message over a
 *      SOCK_SEQPACKET socketpair and a 16-byte reply, paced and polled as in 1.
 *
 * Children write their results into an anonymous shared mapping made before
 * fork(); the parent prints. A benchmark reports: a missed target is printed
 * as MISS, and the exit status is 0 unless something broke.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pixshare/publisher.h>
#include <pixshare/subscriber.h>

#define N_IMAGES 6
#define IMAGE_W 1280
#define IMAGE_H 800
/* Subscribers of the multi phase; of the largest memory phase. */
#define MULTI_SUBS 4
#define MAX_SUBS 8
#define PAGE 4096
#define TOPIC "bench"
#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
/* How long a subscriber waits for its first frame or the next one. */
#define SILENCE_MS 15000
/* How long the publisher waits for all subscribers to connect. */
#define CONNECT_WAIT_MS 10000
/* Children are killed this long after their phase should have ended. */
#define GRACE_S 60

/* The targets the project reports against. */
#define TARGET_P50_US 25.0
#define TARGET_P99_US 250.0
#define TARGET_LATENCY_RATIO 50.0
#define TARGET_SETS_PER_S 10000.0
#define TARGET_CPU_PCT 0.5

enum transport {
	PIXSHARE,
	COPYING, /* the set by value through a stream socket */
	MESSAGE, /* a bare message each way, no library: what the machine allows */
};

enum phase_id {
	PX_LATENCY,
	PX_MULTI,
	PX_MAX,
	COPY_LATENCY,
	COPY_MAX,
	MSG_LATENCY,
	MEM_1,
	MEM_2,
	MEM_4,
	MEM_8,
	N_PHASES,
};

enum pacing {
	PACED,    /* at the configured rate */
	FLAT_OUT, /* as fast as the transport allows */
};

struct phase {
	const char *title;
	enum transport transport;
	enum pacing pacing;
	enum px_qos qos;
	uint32_t n_subs;
	double seconds;
	/* pixshare: the publisher writes every page of each set it publishes
	 * (as a camera copying frames would), the pool is not written before,
	 * and is elastic (from 3 slots to what MAX_SUBS subscribers need): its
	 * size and what it has in memory at the end are reported. */
	bool memory;
};

struct options {
	double latency_s, multi_s, max_s, mem_s, rate;
	bool markdown;
};

/* Written by the publisher process. */
struct pub_result {
	uint64_t start_ns; /* CLOCK_MONOTONIC when the phase began */
	uint64_t wall_ns, cpu_ns;
	uint64_t syscalls; /* over the phase; NO_COUNT where not counted */
	uint64_t published;
	uint64_t missed; /* paced: frames never published (no free slot); else acquire timeouts */
	uint32_t pool_size;
	int allocator;
	int sndbuf, rcvbuf; /* copying: socket buffer sizes */
	/* Memory phases: slots ever acquired; bytes of the pool in memory at
	 * the end (memfds' allocated blocks; NO_COUNT for dma-bufs, whose
	 * memory is allocated at creation). */
	uint32_t slots_used;
	uint64_t resident;
	uint32_t max_pool_size; /* memory phases: the elastic pool's largest size */
};

/* Written by one subscriber process. */
struct sub_result {
	uint64_t frames;
	uint64_t dropped_publisher; /* sum of px_frame.dropped_before */
	uint64_t superseded;
	uint64_t missing;    /* sequence numbers skipped between frames seen */
	uint64_t seq_errors; /* a sequence number not above the previous one */
	uint64_t last_seq;
	uint64_t first_ns, last_ns; /* callback times of the first and last frame */
	uint64_t wall_ns, cpu_ns;   /* from the first frame to the end of the phase */
	uint64_t syscalls;	    /* the same span; NO_COUNT where not counted */
	uint64_t copies;
	uint64_t n_lat;
};

struct shared {
	struct pub_result pub;
	struct sub_result subs[MAX_SUBS];
	uint64_t lat_cap; /* latencies each subscriber may record */
	uint64_t lat[];   /* MAX_SUBS × lat_cap, in ns */
};

/* What one child process is asked to do. */
struct child {
	const struct phase *phase;
	const struct options *opt;
	const struct px_set_layout *layout;
	const char *dir;
	struct shared *sh;
	uint32_t index; /* subscriber number */
	int fd;         /* copying: this process's end of the socketpair */
	int peer_fd;    /* copying: the other end, closed in the child */
	int done_fd;    /* pixshare: a pipe the publisher writes to when the phase is over */
};

/* What the table shows of one phase. */
struct summary {
	bool have_latency;
	double p50, p90, p99, max; /* µs */
	uint32_t n_subs;
	uint64_t published;
	uint64_t frames[MAX_SUBS];
	uint64_t drops[MAX_SUBS]; /* every frame published and not seen, once */
	uint64_t gaps[MAX_SUBS];  /* the part of drops nobody accounted for */
	/* The parts the publisher (replaced before sending) and the
	 * subscriber (superseded by a newer frame) accounted for. */
	uint64_t replaced[MAX_SUBS], superseded[MAX_SUBS];
	double cpu_pub, cpu_sub[MAX_SUBS]; /* % of one core */
	/* System calls per set: the publisher's (all its subscribers), the
	 * first subscriber's; < 0 where not counted. */
	double sc_pub, sc_sub;
	double sets_per_s;
	double cpu_us_per_set; /* publisher + subscriber */
	uint64_t copies;
	uint32_t pool_size, max_pool_size;
	int allocator;
	int sndbuf, rcvbuf;
	uint32_t slots_used;
	uint64_t resident;
};

static sigset_t parent_sigmask;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("bench_transport: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void warn(const char *fmt, ...)
{
	va_list ap;
	fputs("bench_transport: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * NS_PER_S + (uint64_t)tv.tv_usec * 1000u;
}

/* CPU time of this process, user + system. */
static uint64_t cpu_ns(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
}

/*
 * System calls this process has made: a perf counter of the tracepoint
 * raw_syscalls:sys_enter on this process, opened on first use in each
 * process (a counter opened before fork() counts its opener only).
 * NO_COUNT where the kernel does not let it count (no tracefs,
 * perf_event_paranoid). Reading it is one system call, made at the ends of
 * a phase only.
 */
#define NO_COUNT UINT64_MAX

static uint64_t syscalls_now(void)
{
	static int fd = -1;
	static pid_t owner;
	if (owner != getpid()) {
		static const char *const paths[] = {
		    "/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
		    "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
		};
		owner = getpid();
		fd = -1;
		unsigned long long id = 0;
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && !id; i++) {
			FILE *f = fopen(paths[i], "re");
			if (f) {
				if (fscanf(f, "%llu", &id) != 1)
					id = 0;
				fclose(f);
			}
		}
		if (id) {
			struct perf_event_attr attr;
			memset(&attr, 0, sizeof(attr));
			attr.type = PERF_TYPE_TRACEPOINT;
			attr.size = sizeof(attr);
			attr.config = id;
			fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1,
					  PERF_FLAG_FD_CLOEXEC);
		}
	}
	uint64_t n;
	if (fd < 0 || read(fd, &n, sizeof(n)) != sizeof(n))
		return NO_COUNT;
	return n;
}

static uint64_t count_since(uint64_t since)
{
	uint64_t now = syscalls_now();
	return now == NO_COUNT || since == NO_COUNT ? NO_COUNT : now - since;
}

static uint64_t frames_of(const struct phase *ph, const struct options *opt)
{
	uint64_t n = (uint64_t)(ph->seconds * opt->rate + 0.5);
	return n ? n : 1;
}

/* A frame of the bare-message reference, and its reply. */
struct message {
	uint64_t seq;
	uint64_t publish_ns;
};

/* Waits up to `timeout_ms` for replies on `fd` and reads all there are. */
static int read_replies(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct message m;

	if (poll(&pfd, 1, timeout_ms) < 0)
		return errno == EINTR ? 0 : -errno;
	for (;;) {
		ssize_t n = recv(fd, &m, sizeof(m), MSG_DONTWAIT);
		if (n == (ssize_t)sizeof(m) || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return n < 0 ? -errno : n == 0 ? -EPIPE : -EPROTO;
	}
}

/* Waits until `deadline` (CLOCK_MONOTONIC, ns) while handling the publisher's
 * work (one px_publisher_dispatch_until() per wake-up, as in an application's
 * event loop) or the replies on `fd`; with neither, sleeps. */
static int wait_until(struct px_publisher *pub, int fd, uint64_t deadline)
{
	for (;;) {
		uint64_t now = px_now_ns();
		if (now >= deadline)
			return 0;
		uint64_t left = deadline - now;
		int ret = 0;
		if (pub) {
			ret = px_publisher_dispatch_until(pub, deadline);
		} else if (fd >= 0 && left > 2 * NS_PER_MS) {
			ret = read_replies(fd, (int)(left / NS_PER_MS) - 1);
		} else {
			struct timespec ts = {
				.tv_sec = (time_t)(deadline / NS_PER_S),
				.tv_nsec = (long)(deadline % NS_PER_S),
			};
			ret = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			ret = ret && ret != EINTR ? -ret : 0;
		}
		if (ret < 0)
			return ret;
	}
}

/* Counts a frame seen by a subscriber at `now`. */
static void count_frame(struct child *c, uint64_t seq, uint64_t publish_ns, uint64_t now)
{
	struct sub_result *r = &c->sh->subs[c->index];

	if (seq > r->last_seq + 1)
		r->missing += seq - r->last_seq - 1;
	else if (seq <= r->last_seq)
		r->seq_errors++;
	r->last_seq = seq;
	if (!r->frames)
		r->first_ns = now;
	r->last_ns = now;
	r->frames++;
	if (r->n_lat < c->sh->lat_cap)
		c->sh->lat[c->index * c->sh->lat_cap + r->n_lat++] =
			now > publish_ns ? now - publish_ns : 0;
}

/* ---- pixshare ---------------------------------------------------------------------------- */

struct sub_ctx {
	struct child *c;
	uint64_t cpu0, sc0;
	bool ended;
};

/* Closes the subscriber's measurement: CPU time and wall time since its first frame. */
static void sub_measure(struct sub_ctx *ctx)
{
	struct sub_result *r = &ctx->c->sh->subs[ctx->c->index];
	if (r->frames && !r->wall_ns) {
		r->cpu_ns = cpu_ns() - ctx->cpu0;
		r->syscalls = count_since(ctx->sc0);
		r->wall_ns = px_now_ns() - r->first_ns;
	}
}

static void on_frame(void *userdata, struct px_frame *frame)
{
	struct sub_ctx *ctx = userdata;
	uint64_t now = px_now_ns();
	struct sub_result *r = &ctx->c->sh->subs[ctx->c->index];

	if (!r->frames) {
		ctx->cpu0 = cpu_ns();
		ctx->sc0 = syscalls_now();
	}
	count_frame(ctx->c, frame->seq, frame->publish_ns, now);
	r->dropped_publisher += frame->dropped_before;
	px_frame_release(frame);
}

static void on_event(void *userdata, enum px_subscriber_event event)
{
	struct sub_ctx *ctx = userdata;
	if (event == PX_EVENT_DISCONNECTED)
		ctx->ended = true;
}

static int pixshare_subscriber(struct child *c)
{
	struct sub_result *r = &c->sh->subs[c->index];
	struct sub_ctx ctx = {.c = c};
	struct px_subscriber *sub;
	struct px_subscriber_params params = {
		.topic = TOPIC,
		.dir = c->dir,
		.qos = c->phase->qos,
		.flags = PX_SUBSCRIBER_NO_RECONNECT,
		.connect_timeout_ms = CONNECT_WAIT_MS,
		.name = "bench_transport",
		.on_frame = on_frame,
		.on_event = on_event,
		.userdata = &ctx,
	};
	int ret = px_subscriber_create(&params, &sub);
	if (ret) {
		warn("subscriber %u: px_subscriber_create: %s", c->index, px_strerror(ret));
		return 1;
	}

	/*
	 * The event loop of an application: poll, then dispatch. The end of
	 * the stream is learnt from the event, which may come in the same
	 * dispatch as the last frames. The measurement ends when the publisher
	 * says the phase is over, before the stream ends: whoever unmaps a pool
	 * last frees its memory (tens of ms), which is no cost per frame.
	 */
	struct pollfd pfd[2] = {
		{.fd = px_subscriber_get_fd(sub), .events = POLLIN},
		{.fd = c->done_fd, .events = POLLIN},
	};
	while (!ctx.ended) {
		int n = poll(pfd, 2, SILENCE_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn("subscriber %u: poll: %s", c->index, strerror(errno));
			goto err;
		}
		if (n == 0) {
			warn("subscriber %u: nothing from the publisher for %d s", c->index,
			     SILENCE_MS / 1000);
			goto err;
		}
		if (pfd[1].revents) {
			sub_measure(&ctx);
			pfd[1].fd = -1;
		}
		if (!pfd[0].revents)
			continue;
		ret = px_subscriber_dispatch(sub, 0);
		if (ret == -EPIPE)
			break;
		if (ret < 0) {
			warn("subscriber %u: px_subscriber_dispatch: %s", c->index,
			     px_strerror(ret));
			goto err;
		}
	}
	sub_measure(&ctx);
	if (!r->frames) {
		warn("subscriber %u: the stream ended without a frame", c->index);
		goto err;
	}

	struct px_subscriber_stats st;
	px_subscriber_get_stats(sub, &st);
	r->superseded = st.dropped_superseded;
	r->copies = st.copies;
	px_subscriber_destroy(sub);
	return 0;

err:
	px_subscriber_destroy(sub);
	return 1;
}

/* Writes a byte into every page of a slot's buffers: what a camera that
 * copies its frames into the pool does to its memory. */
static void write_pages(const struct px_slot *slot, uint8_t value)
{
	for (uint32_t b = 0; b < slot->n_buffers; b++) {
		volatile uint8_t *p = slot->buffers[b].data;
		for (uint64_t off = 0; p && off < slot->buffers[b].size; off += PAGE)
			p[off] = value;
	}
}

/* Writes every buffer of every slot once, so that its pages exist. */
static void touch_pool(struct px_publisher *pub)
{
	struct px_slot *slots[PX_MAX_SLOTS];
	uint32_t n = 0;

	while (n < PX_MAX_SLOTS && px_publisher_acquire(pub, 0, &slots[n]) == 0)
		n++;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t b = 0; b < slots[i]->n_buffers; b++)
			if (slots[i]->buffers[b].data)
				memset(slots[i]->buffers[b].data, 0x80, slots[i]->buffers[b].size);
	for (uint32_t i = 0; i < n; i++)
		px_publisher_cancel(pub, slots[i]);
}

static int wait_subscribers(struct px_publisher *pub, uint32_t n)
{
	uint64_t deadline = px_now_ns() + CONNECT_WAIT_MS * NS_PER_MS;
	struct px_publisher_stats st;

	for (;;) {
		px_publisher_get_stats(pub, &st);
		if (st.n_subscribers >= n)
			return 0;
		if (px_now_ns() >= deadline) {
			warn("publisher: %u of %u subscribers connected in %d s", st.n_subscribers,
			     n, CONNECT_WAIT_MS / 1000);
			return -ETIMEDOUT;
		}
		int ret = px_publisher_dispatch(pub, 100);
		if (ret < 0)
			return ret;
	}
}

/* Waits until every subscriber has released everything, so that the last
 * frames are seen before the stream ends. */
static int drain(struct px_publisher *pub)
{
	uint64_t deadline = px_now_ns() + 5 * NS_PER_S;
	struct px_subscriber_info si;

	for (;;) {
		bool busy = false;
		for (uint32_t i = 0; px_publisher_get_subscriber(pub, i, &si) == 0; i++)
			if (si.leases || si.pending)
				busy = true;
		if (!busy)
			return 0;
		if (px_now_ns() >= deadline) {
			warn("publisher: subscribers still hold frames after 5 s");
			return -ETIMEDOUT;
		}
		int ret = px_publisher_dispatch(pub, 10);
		if (ret < 0)
			return ret;
	}
}

static int pixshare_publisher(struct child *c)
{
	const struct phase *ph = c->phase;
	struct pub_result *r = &c->sh->pub;
	struct px_publisher *pub;
	struct px_slot *slot;
	struct px_publisher_params params = {
	    .topic = TOPIC,
	    .dir = c->dir,
	    .layout = c->layout,
	    .allocator = PX_ALLOCATOR_AUTO,
	    .max_subscribers = ph->memory ? MAX_SUBS : MULTI_SUBS,
	    .description = "bench_transport",
	    .min_pool_size = ph->memory ? 3 : 0,
	};
	int ret = px_publisher_create(&params, &pub);
	if (ret) {
		warn("publisher: px_publisher_create: %s", px_strerror(ret));
		return 1;
	}
	r->pool_size = px_publisher_get_pool_size(pub);
	/* The default pool: 2 + subscribers × (2 leases + 1). */
	r->max_pool_size = 2 + params.max_subscribers * 3;
	r->allocator = (int)px_publisher_get_allocator(pub);
	if (!ph->memory)
		touch_pool(pub);
	if ((ret = wait_subscribers(pub, ph->n_subs)))
		goto err;
	bool used[PX_MAX_SLOTS] = {false};
	int used_fds[PX_MAX_SLOTS][N_IMAGES];

	uint64_t cpu0 = cpu_ns(), sc0 = syscalls_now();
	r->start_ns = px_now_ns();
	if (ph->pacing == PACED) {
		uint64_t period = (uint64_t)(1e9 / c->opt->rate + 0.5);
		uint64_t n = frames_of(ph, c->opt), next = r->start_ns + period;
		for (uint64_t i = 0; i < n; i++, next += period) {
			if ((ret = wait_until(pub, -1, next)))
				goto err_call;
			ret = px_publisher_acquire(pub, 0, &slot);
			if (ret == -EAGAIN || ret == -EBUSY) {
				r->missed++;
				continue;
			}
			if (ret)
				goto err_call;
			if (ph->memory) {
				write_pages(slot, (uint8_t)i);
				used[slot->index] = true;
				for (uint32_t b = 0; b < slot->n_buffers && b < N_IMAGES; b++)
					used_fds[slot->index][b] = slot->buffers[b].fd;
			}
			if ((ret = px_publisher_publish(pub, slot, NULL)))
				goto err_call;
		}
	} else {
		uint64_t end = r->start_ns + (uint64_t)(ph->seconds * 1e9);
		while (px_now_ns() < end) {
			ret = px_publisher_acquire(pub, 1000, &slot);
			if (ret == -EAGAIN) {
				r->missed++;
				continue;
			}
			if (ret)
				goto err_call;
			if ((ret = px_publisher_publish(pub, slot, NULL)))
				goto err_call;
		}
	}
	r->wall_ns = px_now_ns() - r->start_ns;
	r->cpu_ns = cpu_ns() - cpu0;
	r->syscalls = count_since(sc0);
	if (ph->memory) {
		bool dmabuf = px_publisher_is_dmabuf(pub);
		r->pool_size = px_publisher_get_pool_size(pub); /* as the subscribers made it */
		r->resident = dmabuf ? NO_COUNT : 0;
		for (uint32_t i = 0; i < PX_MAX_SLOTS; i++) {
			r->slots_used += used[i];
			for (uint32_t b = 0; used[i] && !dmabuf && b < c->layout->n_buffers; b++) {
				struct stat st;
				if (fstat(used_fds[i][b], &st) == 0)
					r->resident += (uint64_t)st.st_blocks * 512;
			}
		}
	}
	if (r->missed)
		warn("publisher: %llu acquires found no free slot%s", (unsigned long long)r->missed,
		     ph->pacing == PACED ? "; those frames count as drops" : " within 1 s");

	if ((ret = drain(pub)))
		goto err;
	if (write(c->done_fd, "", 1) != 1) {
		warn("publisher: write: %s", strerror(errno));
		goto err;
	}
	struct px_publisher_stats st;
	px_publisher_get_stats(pub, &st);
	r->published = st.published;
	px_publisher_destroy(pub);
	return 0;

err_call:
	warn("publisher: %s", px_strerror(ret));
err:
	px_publisher_destroy(pub);
	return 1;
}

/* ---- copying baseline -------------------------------------------------------------------- */

struct copy_header {
	uint64_t seq;
	uint64_t publish_ns;
};

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Returns the bytes read: `len`, or less at the end of the stream. */
static ssize_t read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int copy_publisher(struct child *c)
{
	const struct phase *ph = c->phase;
	struct pub_result *r = &c->sh->pub;
	size_t size = px_layout_slot_bytes(c->layout);
	uint8_t *set = malloc(size);
	socklen_t len = sizeof(int);
	char ready;
	int ret;

	if (!set) {
		warn("publisher: out of memory");
		return 1;
	}
	memset(set, 0x80, size);
	getsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &r->sndbuf, &len);
	len = sizeof(int);
	getsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &r->rcvbuf, &len);
	/* The subscriber says when its buffer is ready. */
	if (read_all(c->fd, &ready, 1) != 1) {
		warn("publisher: the subscriber did not start");
		goto err;
	}

	uint64_t cpu0 = cpu_ns(), sc0 = syscalls_now();
	r->start_ns = px_now_ns();
	uint64_t period = (uint64_t)(1e9 / c->opt->rate + 0.5);
	uint64_t n = ph->pacing == PACED ? frames_of(ph, c->opt) : UINT64_MAX;
	uint64_t end = r->start_ns + (uint64_t)(ph->seconds * 1e9);
	uint64_t next = r->start_ns + period;
	for (uint64_t seq = 1; seq <= n; seq++, next += period) {
		if (ph->pacing == PACED) {
			if ((ret = wait_until(NULL, -1, next)))
				goto err_call;
		} else if (px_now_ns() >= end) {
			break;
		}
		struct copy_header h = {.seq = seq, .publish_ns = px_now_ns()};
		if ((ret = write_all(c->fd, &h, sizeof(h))) || (ret = write_all(c->fd, set, size)))
			goto err_call;
		r->published++;
	}
	r->wall_ns = px_now_ns() - r->start_ns;
	r->cpu_ns = cpu_ns() - cpu0;
	r->syscalls = count_since(sc0);
	close(c->fd);
	free(set);
	return 0;

err_call:
	warn("publisher: %s", strerror(-ret));
err:
	free(set);
	return 1;
}

static int copy_subscriber(struct child *c)
{
	struct sub_result *r = &c->sh->subs[c->index];
	size_t size = px_layout_slot_bytes(c->layout);
	uint8_t *set = malloc(size);
	uint64_t cpu0 = 0, sc0 = NO_COUNT;
	ssize_t n;

	if (!set) {
		warn("subscriber: out of memory");
		return 1;
	}
	memset(set, 0, size);
	if (write_all(c->fd, "", 1)) {
		warn("subscriber: the publisher is gone");
		goto err;
	}
	for (;;) {
		struct copy_header h;
		n = read_all(c->fd, &h, sizeof(h));
		if (n == 0)
			break;
		if (n != (ssize_t)sizeof(h) || (n = read_all(c->fd, set, size)) != (ssize_t)size)
			goto err_read;
		/* The frame counts as received once its last byte is in. */
		uint64_t now = px_now_ns();
		if (!r->frames) {
			cpu0 = cpu_ns();
			sc0 = syscalls_now();
		}
		count_frame(c, h.seq, h.publish_ns, now);
	}
	uint64_t end = px_now_ns();
	if (!r->frames) {
		warn("subscriber: the stream ended without a frame");
		goto err;
	}
	r->cpu_ns = cpu_ns() - cpu0;
	r->syscalls = count_since(sc0);
	r->wall_ns = end - r->first_ns;
	close(c->fd);
	free(set);
	return 0;

err_read:
	warn("subscriber: %s", n < 0 ? strerror((int)-n) : "stream ended mid-frame");
err:
	free(set);
	return 1;
}

/* ---- the machine's floor: a bare message each way ----------------------------------------- */

static int message_publisher(struct child *c)
{
	const struct phase *ph = c->phase;
	struct pub_result *r = &c->sh->pub;
	struct message m;
	int ret;

	/* The subscriber says when it is ready. */
	if (recv(c->fd, &m, sizeof(m), 0) != (ssize_t)sizeof(m)) {
		warn("publisher: the subscriber did not start");
		return 1;
	}
	uint64_t cpu0 = cpu_ns(), sc0 = syscalls_now();
	r->start_ns = px_now_ns();
	uint64_t period = (uint64_t)(1e9 / c->opt->rate + 0.5);
	uint64_t n = frames_of(ph, c->opt), next = r->start_ns + period;
	for (uint64_t seq = 1; seq <= n; seq++, next += period) {
		if ((ret = wait_until(NULL, c->fd, next)))
			goto err_call;
		m = (struct message){.seq = seq, .publish_ns = px_now_ns()};
		if (send(c->fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m)) {
			ret = -errno;
			goto err_call;
		}
		r->published++;
	}
	r->wall_ns = px_now_ns() - r->start_ns;
	r->cpu_ns = cpu_ns() - cpu0;
	r->syscalls = count_since(sc0);
	/* Closing with replies unread would reset the subscriber's end before
	 * it has read the last frames: end writing, then read until it closes. */
	shutdown(c->fd, SHUT_WR);
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	while (poll(&pfd, 1, SILENCE_MS) == 1 && recv(c->fd, &m, sizeof(m), 0) > 0)
		;
	close(c->fd);
	return 0;

err_call:
	warn("publisher: %s", strerror(-ret));
	return 1;
}

static int message_subscriber(struct child *c)
{
	struct sub_result *r = &c->sh->subs[c->index];
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	struct message m = {0};
	uint64_t cpu0 = 0, sc0 = NO_COUNT;

	if (send(c->fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m)) {
		warn("subscriber: the publisher is gone");
		return 1;
	}
	for (;;) {
		int n = poll(&pfd, 1, SILENCE_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			warn("subscriber: %s", n ? strerror(errno) : "nothing from the publisher");
			return 1;
		}
		ssize_t len = recv(c->fd, &m, sizeof(m), 0);
		if (len == 0)
			break;
		if (len != (ssize_t)sizeof(m)) {
			warn("subscriber: recv: %s", len < 0 ? strerror(errno) : "short message");
			return 1;
		}
		uint64_t now = px_now_ns();
		if (!r->frames) {
			cpu0 = cpu_ns();
			sc0 = syscalls_now();
		}
		count_frame(c, m.seq, m.publish_ns, now);
		send(c->fd, &m, sizeof(m), MSG_NOSIGNAL);
	}
	uint64_t end = px_now_ns();
	if (!r->frames) {
		warn("subscriber: the stream ended without a message");
		return 1;
	}
	r->cpu_ns = cpu_ns() - cpu0;
	r->syscalls = count_since(sc0);
	r->wall_ns = end - r->first_ns;
	close(c->fd);
	return 0;
}

/* ---- the parent -------------------------------------------------------------------------- */

static pid_t spawn(int (*fn)(struct child *), struct child *c)
{
	pid_t parent = getpid();

	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	sigprocmask(SIG_SETMASK, &parent_sigmask, NULL);
	/* A child never outlives the parent that reports it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	/* Else the subscriber would never see the end of the stream. */
	if (c->peer_fd >= 0)
		close(c->peer_fd);
	int ret = fn(c);
	fflush(NULL);
	_exit(ret);
}

/* Reaps the children; kills all of them at the deadline or when one fails.
 * Returns how many failed. SIGCHLD is blocked, so sigtimedwait() waits for
 * the next exit without polling. */
static int reap(pid_t *pids, uint32_t n, uint64_t deadline)
{
	sigset_t chld;
	uint32_t left = n;
	int failed = 0;
	bool killed = false;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (left) {
		for (uint32_t i = 0; i < n; i++) {
			int status;
			if (pids[i] <= 0 || waitpid(pids[i], &status, killed ? 0 : WNOHANG) <= 0)
				continue;
			pids[i] = 0;
			left--;
			if (killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
				continue;
			failed++;
			if (WIFSIGNALED(status))
				warn("child %u died of signal %d", i, WTERMSIG(status));
		}
		if (!left)
			break;
		uint64_t now = px_now_ns();
		if (failed || now >= deadline) {
			if (!failed) {
				warn("children did not finish in time; killed");
				failed++;
			}
			for (uint32_t i = 0; i < n; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
			killed = true;
			continue;
		}
		uint64_t wait = deadline - now;
		struct timespec ts = {
			.tv_sec = (time_t)(wait / NS_PER_S),
			.tv_nsec = (long)(wait % NS_PER_S),
		};
		sigtimedwait(&chld, NULL, &ts);
	}
	return failed;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values, in µs. */
static double percentile(const uint64_t *v, uint64_t n, double p)
{
	uint64_t rank = (uint64_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1000.0;
}

static void summarize(const struct phase *ph, struct shared *sh, struct summary *s)
{
	const struct pub_result *p = &sh->pub;

	memset(s, 0, sizeof(*s));
	s->n_subs = ph->n_subs;
	s->published = p->published;
	s->pool_size = p->pool_size;
	s->max_pool_size = p->max_pool_size;
	s->allocator = p->allocator;
	s->sndbuf = p->sndbuf;
	s->rcvbuf = p->rcvbuf;
	s->slots_used = p->slots_used;
	s->resident = p->resident;
	s->cpu_pub = p->wall_ns ? 100.0 * (double)p->cpu_ns / (double)p->wall_ns : 0;
	s->sc_pub = p->syscalls == NO_COUNT || !p->published
			? -1
			: (double)p->syscalls / (double)p->published;
	s->sc_sub = sh->subs[0].syscalls == NO_COUNT || !sh->subs[0].frames
			? -1
			: (double)sh->subs[0].syscalls / (double)sh->subs[0].frames;

	uint64_t n_lat = 0;
	for (uint32_t i = 0; i < ph->n_subs; i++) {
		const struct sub_result *r = &sh->subs[i];
		uint64_t tail = p->published > r->last_seq ? p->published - r->last_seq : 0;
		uint64_t missing = r->missing + tail;
		uint64_t explained = r->dropped_publisher + r->superseded;
		s->gaps[i] = (missing > explained ? missing - explained : 0) + r->seq_errors;
		s->drops[i] = explained + s->gaps[i] + (ph->pacing == PACED ? p->missed : 0);
		s->replaced[i] = r->dropped_publisher;
		s->superseded[i] = r->superseded;
		s->frames[i] = r->frames;
		s->cpu_sub[i] = r->wall_ns ? 100.0 * (double)r->cpu_ns / (double)r->wall_ns : 0;
		s->copies += r->copies;
		/* Gather the latencies at the front of the array. */
		memmove(&sh->lat[n_lat], &sh->lat[i * sh->lat_cap], r->n_lat * sizeof(uint64_t));
		n_lat += r->n_lat;
	}
	if (n_lat) {
		qsort(sh->lat, n_lat, sizeof(uint64_t), cmp_u64);
		s->have_latency = true;
		s->p50 = percentile(sh->lat, n_lat, 50);
		s->p90 = percentile(sh->lat, n_lat, 90);
		s->p99 = percentile(sh->lat, n_lat, 99);
		s->max = (double)sh->lat[n_lat - 1] / 1000.0;
	}
	const struct sub_result *r = &sh->subs[0];
	if (ph->pacing == FLAT_OUT && r->frames && r->last_ns > p->start_ns) {
		s->sets_per_s = (double)r->frames * 1e9 / (double)(r->last_ns - p->start_ns);
		s->cpu_us_per_set = ((double)p->cpu_ns / (double)(p->published ? p->published : 1) +
				     (double)r->cpu_ns / (double)r->frames) /
				    1000.0;
	}
}

static void close_pair(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fds[0] = fds[1] = -1;
}

static int run_phase(const struct phase *ph, const struct options *opt,
		     const struct px_set_layout *layout, const char *dir, struct summary *s)
{
	uint64_t cap = ph->pacing == PACED ? frames_of(ph, opt) + 16 : 0;
	size_t size = sizeof(struct shared) + MAX_SUBS * cap * sizeof(uint64_t);
	pid_t pids[1 + MAX_SUBS] = {0};
	int sv[2] = {-1, -1}, done[2] = {-1, -1};
	int ret = -1;

	struct shared *sh =
	    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		warn("mmap of %zu bytes: %s", size, strerror(errno));
		return -1;
	}
	sh->lat_cap = cap;
	if (ph->transport != PIXSHARE &&
	    socketpair(AF_UNIX,
		       (ph->transport == COPYING ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0,
		       sv) < 0) {
		warn("socketpair: %s", strerror(errno));
		goto out;
	}
	if (ph->transport == PIXSHARE && pipe2(done, O_CLOEXEC) < 0) {
		warn("pipe2: %s", strerror(errno));
		goto out;
	}
	static int (*const publishers[])(struct child *) = {
		[PIXSHARE] = pixshare_publisher,
		[COPYING] = copy_publisher,
		[MESSAGE] = message_publisher,
	};
	static int (*const subscribers[])(struct child *) = {
		[PIXSHARE] = pixshare_subscriber,
		[COPYING] = copy_subscriber,
		[MESSAGE] = message_subscriber,
	};

	struct child pub = {
	    .phase = ph,
	    .opt = opt,
	    .layout = layout,
	    .dir = dir,
	    .sh = sh,
	    .fd = sv[0],
	    .peer_fd = sv[1],
	    .done_fd = done[1],
	};
	struct child subs[MAX_SUBS];
	uint32_t n = 0;
	pids[n] = spawn(publishers[ph->transport], &pub);
	if (pids[n] < 0)
		goto err_fork;
	n++;
	for (uint32_t i = 0; i < ph->n_subs; i++) {
		subs[i] = pub;
		subs[i].index = i;
		subs[i].fd = sv[1];
		subs[i].peer_fd = sv[0];
		subs[i].done_fd = done[0];
		pids[n] = spawn(subscribers[ph->transport], &subs[i]);
		if (pids[n] < 0)
			goto err_fork;
		n++;
	}
	close_pair(sv);
	close_pair(done);
	uint64_t deadline = px_now_ns() + (uint64_t)((ph->seconds + GRACE_S) * 1e9);
	if (reap(pids, n, deadline)) {
		warn("%s: failed", ph->title);
		goto out;
	}
	summarize(ph, sh, s);
	ret = 0;
	goto out;

err_fork:
	warn("fork: %s", strerror(errno));
	for (uint32_t i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	reap(pids, n, 0);
out:
	close_pair(sv);
	close_pair(done);
	munmap(sh, size);
	return ret;
}

/* ---- the report -------------------------------------------------------------------------- */

#define N_COLS 5
#define CELL 96

struct row {
	char cell[N_COLS][CELL];
};

static struct row rows[40];
static uint32_t n_rows;

static void add_row(const char *measure, const char *px, const char *copy, const char *ratio,
		    const char *target)
{
	const char *v[N_COLS] = {measure, px, copy, ratio, target};
	if (n_rows >= sizeof(rows) / sizeof(rows[0]))
		return;
	for (int i = 0; i < N_COLS; i++)
		snprintf(rows[n_rows].cell[i], CELL, "%s", v[i] ? v[i] : "");
	n_rows++;
}

static const char *fmt(char *buf, const char *f, ...) __attribute__((format(printf, 2, 3)));

static const char *fmt(char *buf, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, CELL, f, ap);
	va_end(ap);
	return buf;
}

static const char *fmt_us(char *buf, double us)
{
	return us < 1000 ? fmt(buf, "%.1f", us) : fmt(buf, "%.0f", us);
}

static const char *fmt_ratio(char *buf, double num, double den)
{
	if (den <= 0 || num <= 0)
		return "–";
	double r = num / den;
	return r >= 100 ? fmt(buf, "%.0f×", r) : fmt(buf, "%.1f×", r);
}

static const char *verdict(bool pass)
{
	return pass ? "PASS" : "MISS";
}

/* Columns are counted in characters, not bytes: the table has µ, × and –. */
static int width_of(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void print_text(void)
{
	int w[N_COLS] = {0};
	static const char *const head[N_COLS] = {"measure", "pixshare", "copying", "ratio",
						 "target"};

	for (int i = 0; i < N_COLS; i++)
		w[i] = width_of(head[i]);
	for (uint32_t r = 0; r < n_rows; r++)
		for (int i = 0; i < N_COLS; i++)
			if (width_of(rows[r].cell[i]) > w[i])
				w[i] = width_of(rows[r].cell[i]);
	for (int r = -1; r < (int)n_rows; r++) {
		char line[N_COLS * (2 * CELL + 2) + 1]; /* a cell and its padding */
		size_t len = 0;
		for (int i = 0; i < N_COLS; i++) {
			const char *s = r < 0 ? head[i] : rows[r].cell[i];
			int pad = w[i] - width_of(s);
			bool right = i >= 1 && i <= 3;
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%*s%s%*s",
						i ? "  " : "", right ? pad : 0, "", s,
						right ? 0 : pad, "");
		}
		while (len && line[len - 1] == ' ')
			len--;
		printf("%.*s\n", (int)len, line);
	}
}

static void print_markdown(void)
{
	printf("| Measure | pixshare | copying baseline | ratio | target |\n");
	printf("|---|--:|--:|--:|---|\n");
	for (uint32_t r = 0; r < n_rows; r++) {
		for (int i = 0; i < N_COLS; i++)
			printf("| %s ", rows[r].cell[i]);
		printf("|\n");
	}
}

static void cpu_model(char *buf, size_t size)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "re");

	snprintf(buf, size, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10))
			continue;
		char *p = strchr(line, ':');
		if (!p)
			break;
		p += 1 + strspn(p + 1, " \t");
		p[strcspn(p, "\n")] = '\0';
		snprintf(buf, size, "%s", p);
		break;
	}
	fclose(f);
}

/* Processors this process may run on, as nproc(1) counts them. */
static long processors(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set);
	return sysconf(_SC_NPROCESSORS_ONLN);
}

static double load_average(void)
{
	double load = -1;
	FILE *f = fopen("/proc/loadavg", "re");
	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = -1;
		fclose(f);
	}
	return load;
}

/* A count per set, or "n/a" where the kernel did not count (syscalls_now()). */
static const char *fmt_count(char *buf, double v)
{
	return v < 0 ? fmt(buf, "n/a") : fmt(buf, "%.2f", v);
}

/* The rows of the 60 Hz latency and CPU phases. */
static void add_latency_rows(const struct options *opt, const struct summary *px,
			     const struct summary *copy)
{
	char a[CELL], b[CELL], c[CELL], m[CELL], t[CELL];

	add_row(fmt(m, "latency p50, %g Hz, 1 subscriber (µs)", opt->rate), fmt_us(a, px->p50),
		fmt_us(b, copy->p50), fmt_ratio(c, copy->p50, px->p50),
		fmt(t, "≤ %.0f µs %s; ≥ %.0f× %s", TARGET_P50_US, verdict(px->p50 <= TARGET_P50_US),
		    TARGET_LATENCY_RATIO, verdict(copy->p50 >= TARGET_LATENCY_RATIO * px->p50)));
	add_row("latency p90 (µs)", fmt_us(a, px->p90), fmt_us(b, copy->p90),
		fmt_ratio(c, copy->p90, px->p90), NULL);
	add_row("latency p99 (µs)", fmt_us(a, px->p99), fmt_us(b, copy->p99),
		fmt_ratio(c, copy->p99, px->p99),
		fmt(t, "≤ %.0f µs %s; ≥ %.0f× %s", TARGET_P99_US, verdict(px->p99 <= TARGET_P99_US),
		    TARGET_LATENCY_RATIO, verdict(copy->p99 >= TARGET_LATENCY_RATIO * px->p99)));
	add_row("latency max (µs)", fmt_us(a, px->max), fmt_us(b, copy->max),
		fmt_ratio(c, copy->max, px->max), NULL);
	add_row("frames / drops",
		fmt(a, "%llu / %llu", (unsigned long long)px->frames[0],
		    (unsigned long long)px->drops[0]),
		fmt(b, "%llu / %llu", (unsigned long long)copy->frames[0],
		    (unsigned long long)copy->drops[0]),
		NULL, NULL);
	add_row("drops: replaced at the publisher / superseded at the subscriber / gaps",
		fmt(a, "%llu / %llu / %llu", (unsigned long long)px->replaced[0],
		    (unsigned long long)px->superseded[0], (unsigned long long)px->gaps[0]),
		"–", NULL, NULL);
	add_row("CPU, publisher (% of a core)", fmt(a, "%.3f", px->cpu_pub),
		fmt(b, "%.3f", copy->cpu_pub), fmt_ratio(c, copy->cpu_pub, px->cpu_pub),
		fmt(t, "≤ %.1f %% %s", TARGET_CPU_PCT, verdict(px->cpu_pub <= TARGET_CPU_PCT)));
	add_row("CPU, subscriber (% of a core)", fmt(a, "%.3f", px->cpu_sub[0]),
		fmt(b, "%.3f", copy->cpu_sub[0]), fmt_ratio(c, copy->cpu_sub[0], px->cpu_sub[0]),
		fmt(t, "≤ %.1f %% %s", TARGET_CPU_PCT, verdict(px->cpu_sub[0] <= TARGET_CPU_PCT)));
	add_row("system calls per set, publisher", fmt_count(a, px->sc_pub),
		fmt_count(b, copy->sc_pub), NULL, NULL);
	add_row("system calls per set, subscriber", fmt_count(a, px->sc_sub),
		fmt_count(b, copy->sc_sub), NULL, NULL);
}

/* The rows of the phase with several latest subscribers (pixshare only). */
static void add_multi_rows(const struct options *opt, const struct summary *px)
{
	char a[CELL], m[CELL], t[CELL];
	double cpu_max = 0;

	for (uint32_t i = 0; i < px->n_subs; i++) {
		add_row(fmt(m, "%u latest subscribers, %g Hz: #%u frames / drops", px->n_subs,
			    opt->rate, i + 1),
			fmt(a, "%llu / %llu", (unsigned long long)px->frames[i],
			    (unsigned long long)px->drops[i]),
			"–", NULL, fmt(t, "0 drops %s", verdict(!px->drops[i])));
		if (px->cpu_sub[i] > cpu_max)
			cpu_max = px->cpu_sub[i];
	}
	add_row(fmt(m, "%u subscribers: latency p50 / p99 (µs)", px->n_subs),
		fmt(a, "%.1f / %.1f", px->p50, px->p99), "–", NULL, NULL);
	add_row(fmt(m, "%u subscribers: CPU, publisher / busiest subscriber (%%)", px->n_subs),
		fmt(a, "%.3f / %.3f", px->cpu_pub, cpu_max), "–", NULL, NULL);
	char b[CELL];
	add_row(
	    fmt(m, "%u subscribers: system calls per set, publisher / subscriber #1", px->n_subs),
	    fmt(a, "%s / %s", fmt_count(b, px->sc_pub), fmt_count(t, px->sc_sub)), "–", NULL, NULL);
}

/* The rows of the memory phases. */
static void add_memory_rows(const struct summary *sum, uint64_t set_bytes)
{
	char a[CELL], m[CELL];
	for (int i = MEM_1; i <= MEM_8; i++) {
		const struct summary *s = &sum[i];
		if (s->resident == NO_COUNT)
			fmt(a,
			    "%.0f MB: dma-bufs, %u slots allocated (elastic, up to %u), %u "
			    "written",
			    (double)s->pool_size * set_bytes / 1e6, s->pool_size, s->max_pool_size,
			    s->slots_used);
		else
			fmt(a,
			    "%.0f MB: %u slots written of %u allocated (%.0f MB; elastic, up to "
			    "%u)",
			    (double)s->resident / 1e6, s->slots_used, s->pool_size,
			    (double)s->pool_size * set_bytes / 1e6, s->max_pool_size);
		add_row(
		    fmt(m, "memory, %u latest subscriber%s", s->n_subs, s->n_subs > 1 ? "s" : ""),
		    a, "–", NULL, NULL);
	}
}

/* The rows of the flat-out phases. */
static void add_max_rows(const struct summary *px, const struct summary *copy)
{
	char a[CELL], b[CELL], c[CELL], t[CELL];
	bool ok = px->sets_per_s >= TARGET_SETS_PER_S && !px->drops[0] && !px->gaps[0];

	add_row("max sets/s (pixshare: reliable QoS)", fmt(a, "%.0f", px->sets_per_s),
		fmt(b, "%.1f", copy->sets_per_s), fmt_ratio(c, px->sets_per_s, copy->sets_per_s),
		fmt(t, "≥ %.0f, 0 drops %s", TARGET_SETS_PER_S, verdict(ok)));
	add_row("max rate: drops / sequence gaps",
		fmt(a, "%llu / %llu", (unsigned long long)px->drops[0],
		    (unsigned long long)px->gaps[0]),
		fmt(b, "%llu / %llu", (unsigned long long)copy->drops[0],
		    (unsigned long long)copy->gaps[0]),
		NULL, NULL);
	add_row("max rate: CPU per set, publisher + subscriber (µs)",
		fmt(a, "%.1f", px->cpu_us_per_set), fmt(b, "%.0f", copy->cpu_us_per_set),
		fmt_ratio(c, copy->cpu_us_per_set, px->cpu_us_per_set), NULL);
}

static void report(const struct options *opt, const struct summary *sum, uint64_t set_bytes,
		   double load0, double load1)
{
	const struct summary *px = &sum[PX_LATENCY], *copy = &sum[COPY_LATENCY];
	const struct summary *msg = &sum[MSG_LATENCY];
	const char *alloc = px_allocator_name((enum px_allocator_type)px->allocator);
	const char *br = opt->markdown ? "  \n" : "\n  ";
	char model[160], date[64], a[CELL], b[CELL];
	struct utsname un;
	time_t now = time(NULL);
	struct tm tm;

	add_latency_rows(opt, px, copy);
	add_multi_rows(opt, &sum[PX_MULTI]);
	add_max_rows(&sum[PX_MAX], &sum[COPY_MAX]);
	add_memory_rows(sum, set_bytes);

	cpu_model(model, sizeof(model));
	if (uname(&un) < 0)
		snprintf(un.release, sizeof(un.release), "unknown");
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);

	printf("bench_transport: one set = %d × %d×%d YUYV (%llu bytes), one buffer per image%s",
	       N_IMAGES, IMAGE_W, IMAGE_H, (unsigned long long)set_bytes, br);
	printf("pixshare: %s pool of %u slots, pixels written once; latency = publish → on_frame "
	       "callback (poll, then px_subscriber_dispatch)%s",
	       alloc ? alloc : "?", px->pool_size, br);
	printf("copying: the set by value over an AF_UNIX SOCK_STREAM socketpair (buffers %d / %d "
	       "bytes), received when its last byte is in%s",
	       copy->sndbuf, copy->rcvbuf, br);
	printf("phases: %g s at %g Hz, %g s at %g Hz with %u subscribers, %g s flat out%s",
	       opt->latency_s, opt->rate, opt->multi_s, opt->rate, sum[PX_MULTI].n_subs, opt->max_s,
	       br);
	printf("machine: %ld × %s, Linux %s, load average %.2f before and %.2f after%s",
	       processors(), model, un.release, load0, load1, br);
	printf("date: %s\n\n", date);
	if (opt->markdown)
		print_markdown();
	else
		print_text();
	/* Where the machine itself stands: what no library can beat here. */
	const char *sp = opt->markdown ? " " : "\n";
	printf("\nFloor of this machine, for reference: a bare 16-byte message over a "
	       "SOCK_SEQPACKET socketpair%sand a 16-byte reply, paced and polled as in pixshare's "
	       "latency phase, no library:%slatency p50 %.1f µs, p90 %.1f µs, p99 %.1f µs, "
	       "max %.1f µs;%sCPU, publisher %.3f %%, subscriber %.3f %%; system calls per "
	       "frame, publisher %s, subscriber %s.\n",
	       sp, sp, msg->p50, msg->p90, msg->p99, msg->max, sp, msg->cpu_pub, msg->cpu_sub[0],
	       fmt_count(a, msg->sc_pub), fmt_count(b, msg->sc_sub));
	if (px->copies || sum[PX_MULTI].copies || sum[PX_MAX].copies)
		printf("\nNote: pixshare subscribers counted CPU copies of pixel data.\n");
}

/* Removes the private topic directory and what the publishers left in it. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	if (rmdir(dir) < 0)
		warn("could not remove %s: %s", dir, strerror(errno));
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bench_transport [options]\n"
		"Measures pixshare against a copying baseline (a set sent by value over a Unix\n"
		"socket) on one workload: sets of 6 × 1280×800 YUYV images. Prints a table, and\n"
		"the machine's floor: a bare 16-byte message each way, paced the same.\n"
		"\n"
		"  --latency-time=S  latency and CPU phases at the paced rate (pixshare, copying,\n"
		"                    bare message), seconds (30)\n"
		"  --multi-time=S    4 latest subscribers at the paced rate, seconds (30)\n"
		"  --max-time=S      maximum rate phases, seconds (10)\n"
		"  --memory-time=S   memory phases (1, 2, 4, 8 latest subscribers, the\n"
		"                    publisher writing every page of each set), seconds (5)\n"
		"  --rate=HZ         rate of the paced phases (60)\n"
		"  --quick           every phase about 2 s: a smoke test\n"
		"  --markdown        print the table as Markdown\n"
		"  -h, --help        show this help\n"
		"\n"
		"Run it on a quiet machine: other load shows up in the latencies.\n");
}

static double parse_seconds(const char *name, const char *arg, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= lo && v <= hi))
		die("--%s=%s: expected a number from %g to %g", name, arg, lo, hi);
	return v;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	enum { OPT_LATENCY = 256, OPT_MULTI, OPT_MAX, OPT_MEM, OPT_RATE, OPT_QUICK, OPT_MARKDOWN };
	static const struct option longopts[] = {
	    {"latency-time", required_argument, NULL, OPT_LATENCY},
	    {"multi-time", required_argument, NULL, OPT_MULTI},
	    {"max-time", required_argument, NULL, OPT_MAX},
	    {"memory-time", required_argument, NULL, OPT_MEM},
	    {"rate", required_argument, NULL, OPT_RATE},
	    {"quick", no_argument, NULL, OPT_QUICK},
	    {"markdown", no_argument, NULL, OPT_MARKDOWN},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	double latency = 0, multi = 0, max = 0, mem = 0;
	bool quick = false;
	int o;

	*opt =
	    (struct options){.latency_s = 30, .multi_s = 30, .max_s = 10, .mem_s = 5, .rate = 60};
	while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (o) {
		case OPT_LATENCY:
			latency = parse_seconds("latency-time", optarg, 0.1, 3600);
			break;
		case OPT_MULTI:
			multi = parse_seconds("multi-time", optarg, 0.1, 3600);
			break;
		case OPT_MAX:
			max = parse_seconds("max-time", optarg, 0.1, 3600);
			break;
		case OPT_MEM:
			mem = parse_seconds("memory-time", optarg, 0.1, 3600);
			break;
		case OPT_RATE:
			opt->rate = parse_seconds("rate", optarg, 1, 1000);
			break;
		case OPT_QUICK:
			quick = true;
			break;
		case OPT_MARKDOWN:
			opt->markdown = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		warn("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (quick)
		opt->latency_s = opt->multi_s = opt->max_s = opt->mem_s = 2;
	/* Durations given explicitly win over --quick. */
	opt->latency_s = latency ? latency : opt->latency_s;
	opt->multi_s = multi ? multi : opt->multi_s;
	opt->max_s = max ? max : opt->max_s;
	opt->mem_s = mem ? mem : opt->mem_s;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct px_set_layout layout;
	struct px_image_desc descs[N_IMAGES];
	struct summary sum[N_PHASES];
	char dir[] = "/tmp/pixshare-bench-XXXXXX";
	sigset_t chld;

	parse_options(argc, argv, &opt);
	for (int i = 0; i < N_IMAGES; i++)
		descs[i] = (struct px_image_desc){PX_FORMAT_YUYV, IMAGE_W, IMAGE_H};
	int ret = px_layout_init_packed(&layout, N_IMAGES, descs, 64, PX_PACK_PER_IMAGE);
	if (ret)
		die("px_layout_init_packed: %s", px_strerror(ret));

	const struct phase phases[N_PHASES] = {
	    [PX_LATENCY] = {"pixshare, 1 latest subscriber, paced", PIXSHARE, PACED, PX_QOS_LATEST,
			    1, opt.latency_s, false},
	    [PX_MULTI] = {"pixshare, 4 latest subscribers, paced", PIXSHARE, PACED, PX_QOS_LATEST,
			  MULTI_SUBS, opt.multi_s, false},
	    [PX_MAX] = {"pixshare, 1 reliable subscriber, flat out", PIXSHARE, FLAT_OUT,
			PX_QOS_RELIABLE, 1, opt.max_s, false},
	    [COPY_LATENCY] = {"copying, 1 subscriber, paced", COPYING, PACED, PX_QOS_LATEST, 1,
			      opt.latency_s, false},
	    [COPY_MAX] = {"copying, 1 subscriber, flat out", COPYING, FLAT_OUT, PX_QOS_LATEST, 1,
			  opt.max_s, false},
	    [MSG_LATENCY] = {"bare message, 1 subscriber, paced", MESSAGE, PACED, PX_QOS_LATEST, 1,
			     opt.latency_s, false},
	    [MEM_1] = {"pixshare memory, 1 latest subscriber, paced", PIXSHARE, PACED,
		       PX_QOS_LATEST, 1, opt.mem_s, true},
	    [MEM_2] = {"pixshare memory, 2 latest subscribers, paced", PIXSHARE, PACED,
		       PX_QOS_LATEST, 2, opt.mem_s, true},
	    [MEM_4] = {"pixshare memory, 4 latest subscribers, paced", PIXSHARE, PACED,
		       PX_QOS_LATEST, 4, opt.mem_s, true},
	    [MEM_8] = {"pixshare memory, 8 latest subscribers, paced", PIXSHARE, PACED,
		       PX_QOS_LATEST, 8, opt.mem_s, true},
	};

	/* Children are reaped with sigtimedwait(); they get the old mask back. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &parent_sigmask);
	if (!mkdtemp(dir))
		die("mkdtemp %s: %s", dir, strerror(errno));

	double load0 = load_average();
	bool failed = false;
	for (int i = 0; i < N_PHASES && !failed; i++) {
		fprintf(stderr, "bench_transport: phase %d/%d: %s, %g s…\n", i + 1, N_PHASES,
			phases[i].title, phases[i].seconds);
		failed = run_phase(&phases[i], &opt, &layout, dir, &sum[i]) != 0;
	}
	double load1 = load_average();
	remove_dir(dir);
	if (failed)
		die("stopped: a phase failed (see above)");
	report(&opt, sum, px_layout_slot_bytes(&layout), load0, load1);
	return 0;
}
