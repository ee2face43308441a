/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the stress tier (tests/stress): subscriber processes that check
 * what they receive and report over a pipe, paced publishing, percentiles.
 *
 * A stress subscriber (stress_subscriber(), in a forked child) checks every
 * frame as it comes: a reliable one that it sees every sequence number in
 * order while connected (the first frame of a connection may start
 * anywhere), and no frame dropped before it; latest and queue ones that no
 * frame is older than the one before. A violation ends the child with exit
 * status 3 and a line on stderr. It reports its connections and, at the end
 * (when the stop pipe is closed), its totals, in struct stress_report
 * records: written atomically (< PIPE_BUF), so that children killed with
 * SIGKILL never leave half a record.
 */
#ifndef PX_STRESS_H
#define PX_STRESS_H

#include <errno.h>
#include <stdatomic.h>
#include <sys/resource.h>

#include <pixshare/pixshare.h>

#include "px_testutil.h"

/* Warnings and errors the library logged in this process. */
static unsigned stress_warnings;

/* A log handler: counts warnings (which the stress tests cause by the
 * hundred: subscribers killed, refused, misbehaving), prints every message
 * with --verbose only; checked by px_test_log_check(). */
static inline void stress_log(void *userdata, enum px_log_level level, const char *msg)
{
	(void)userdata;
	if (px_test_opt("verbose"))
		fprintf(stderr, "[%d] pixshare: %s\n", (int)getpid(), msg);
	stress_warnings += level <= PX_LOG_WARN;
	px_test_log_check(msg);
}

/* A small set: one R8 image of 64 × 8 in one buffer. */
static inline void stress_layout(struct px_set_layout *layout)
{
	struct px_image_desc d = {PX_FORMAT_R8, 64, 8};
	REQUIRE_OK(px_layout_init_packed(layout, 1, &d, 0, PX_PACK_PER_IMAGE));
}

/* Closes every fd a forked child inherited but stdin, stdout, stderr and
 * `keep` (-1 ends the list early; up to 4): the parent's publisher sockets,
 * its other children's pipes. Fds at or above the soft limit are left alone
 * (valgrind keeps its own there). */
static inline void stress_child_fds(const int *keep, int n_keep)
{
	struct rlimit rl;
	REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	int close_fds[1024], n = 0;
	DIR *d = opendir("/proc/self/fd");
	REQUIRE(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		bool kept = fd < 3 || fd == dirfd(d) || (rlim_t)fd >= rl.rlim_cur;
		for (int i = 0; i < n_keep; i++)
			kept = kept || keep[i] == fd;
		if (!kept && n < (int)PX_ARRAY_LEN(close_fds))
			close_fds[n++] = fd;
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		close(close_fds[i]);
}

enum stress_report_kind {
	STRESS_CONNECTED = 1, /* a connection began (`ns`, `pub_pid`) */
	STRESS_DONE = 2,      /* the totals, at the end */
};

struct stress_report {
	int32_t kind;
	int32_t id;	 /* the subscriber's number, as the parent gave it */
	int32_t pid;	 /* the subscriber's */
	int32_t pub_pid; /* STRESS_CONNECTED: the publisher's */
	uint64_t ns;	 /* STRESS_CONNECTED: when (CLOCK_MONOTONIC) */
	uint64_t frames; /* STRESS_DONE: frames received and checked */
	uint64_t connects, disconnects;
	uint64_t dropped; /* STRESS_DONE: dropped for it by the publisher (latest, queue) */
};

struct stress_sub {
	int id;
	const char *topic;
	enum px_qos qos;
	uint32_t queue_depth;
	int report_fd; /* where records go */
	int stop_fd;   /* readable or hung up: destroy, report, exit */
	/* Counts every frame received, where not NULL: memory shared with the
	 * parent (MAP_SHARED), read between phases. */
	_Atomic uint64_t *counter;
};

struct stress_sub_state {
	const struct stress_sub *s;
	struct px_subscriber *sub;
	bool connected_event;
};

static inline void stress_write_report(int fd, const struct stress_report *r)
{
	ssize_t n;
	do
		n = write(fd, r, sizeof(*r));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EPIPE)
		_exit(6); /* the parent is gone: it failed, and said why */
	REQUIRE(n == (ssize_t)sizeof(*r));
}

static inline void stress_report_connected(struct stress_sub_state *st)
{
	struct px_topic_info info;
	struct stress_report r = {
	    .kind = STRESS_CONNECTED, .id = st->s->id, .pid = getpid(), .ns = px_now_ns()};
	if (px_subscriber_get_topic_info(st->sub, &info) == 0)
		r.pub_pid = info.publisher_pid;
	stress_write_report(st->s->report_fd, &r);
}

static inline void stress_on_event(void *userdata, enum px_subscriber_event ev)
{
	struct stress_sub_state *st = userdata;
	if (ev == PX_EVENT_CONNECTED)
		st->connected_event = true;
}

static inline const char *stress_qos_name(const struct stress_sub *s)
{
	return px_qos_name(s->qos);
}

/* The body of a subscriber process: see the top of the file. */
static inline int stress_subscriber(const struct stress_sub *s)
{
	int keep[2] = {s->report_fd, s->stop_fd};
	stress_child_fds(keep, 2);
	int fds0 = px_test_count_fds();
	struct stress_sub_state st = {.s = s};
	char name[32];
	snprintf(name, sizeof(name), "stress-%d-%s", s->id, px_qos_name(s->qos));
	struct px_subscriber_params p = {
	    .topic = s->topic,
	    .qos = s->qos,
	    .queue_depth = s->queue_depth,
	    .connect_timeout_ms = 10000,
	    .name = name,
	    .on_event = stress_on_event,
	    .userdata = &st,
	};
	/* A subscriber started while one that was killed is still counted may
	 * find the publisher full: it tries again. */
	uint64_t give_up = px_now_ns() + 20000000000ull;
	int ret;
	while ((ret = px_subscriber_create(&p, &st.sub)) == -ECONNREFUSED || ret == -ENOSPC) {
		if (px_now_ns() > give_up)
			break;
		nanosleep(&(struct timespec){0, 20000000}, NULL);
	}
	if (ret) {
		fprintf(stderr, "stress subscriber %d (%s): px_subscriber_create: %s\n", s->id,
			stress_qos_name(s), px_strerror(ret));
		return 2;
	}
	stress_report_connected(&st);

	uint64_t frames = 0, last = 0, pool = 0;
	struct px_frame *held = NULL;
	for (;;) {
		struct pollfd pfd = {.fd = s->stop_fd, .events = POLLIN};
		if (poll(&pfd, 1, 0) != 0)
			break;
		struct px_frame *f;
		ret = px_subscriber_receive(st.sub, &f, 20);
		if (st.connected_event) {
			st.connected_event = false;
			stress_report_connected(&st);
		}
		if (ret == -ETIMEDOUT || ret == -EINTR)
			continue;
		if (ret) {
			fprintf(stderr, "stress subscriber %d (%s): px_subscriber_receive: %s\n",
				s->id, stress_qos_name(s), px_strerror(ret));
			return 2;
		}
		/* A new pool is a new connection: its numbers start anywhere. */
		if (f->pool_id != pool) {
			pool = f->pool_id;
			last = 0;
		}
		bool bad =
		    last && (s->qos == PX_QOS_RELIABLE ? f->seq != last + 1 : f->seq <= last);
		if (bad || (s->qos == PX_QOS_RELIABLE && last && f->dropped_before)) {
			fprintf(stderr,
				"stress subscriber %d (%s, pid %d): frame %llu after frame %llu, "
				"%u dropped before it\n",
				s->id, stress_qos_name(s), (int)getpid(),
				(unsigned long long)f->seq, (unsigned long long)last,
				f->dropped_before);
			return 3;
		}
		last = f->seq;
		frames++;
		if (s->counter)
			atomic_fetch_add(s->counter, 1);
		/* Hold the newest frame until the next: a kill finds one held. */
		px_frame_release(held);
		held = f;
	}
	px_frame_release(held);
	struct px_subscriber_stats ss;
	REQUIRE_OK(px_subscriber_get_stats(st.sub, &ss));
	px_subscriber_destroy(st.sub);
	int fds = px_test_count_fds();
	if (fds != fds0) {
		fprintf(stderr, "stress subscriber %d (%s): %d fds open at the end, %d at start\n",
			s->id, stress_qos_name(s), fds, fds0);
		px_test_count_fds_but(NULL, true);
		return 4;
	}
	if (px_test_pointer_logs)
		return 5;
	struct stress_report r = {.kind = STRESS_DONE,
				  .id = s->id,
				  .pid = getpid(),
				  .frames = frames,
				  .connects = ss.connects,
				  .disconnects = ss.disconnects,
				  .dropped = ss.dropped_publisher};
	stress_write_report(s->report_fd, &r);
	return 0;
}

static inline int stress_subscriber_main(void *arg)
{
	return stress_subscriber(arg);
}

/* Reads every record waiting in `fd` (non-blocking) into `out` (up to
 * `max`), returns how many. */
static inline int stress_read_reports(int fd, struct stress_report *out, int max)
{
	int n = 0;
	while (n < max) {
		ssize_t r = read(fd, &out[n], sizeof(out[n]));
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		REQUIRE(r == (ssize_t)sizeof(out[n]));
		n++;
	}
	return n;
}

static inline int stress_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The p-th percentile (0 … 100) of `v` (sorted here). */
static inline uint64_t stress_percentile(uint64_t *v, size_t n, unsigned p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), stress_cmp_u64);
	size_t i = (n * p + 99) / 100;
	return v[i ? i - 1 : 0];
}

/* Waits for a child that must end by itself; fails the test with its status
 * otherwise. */
static inline void stress_require_exit(pid_t pid, int timeout_ms, const char *what)
{
	int ret = px_test_wait(pid, timeout_ms);
	if (ret != 0) {
		fprintf(stderr, "%s (pid %d) ended with %s %d\n", what, (int)pid,
			ret > 128 ? "signal" : "status", ret > 128 ? ret - 128 : ret);
		exit(1);
	}
}

/* Dispatches the publisher until the fds of this process number `fds` and
 * no subscriber is left, for 10 s at most; then requires both. */
static inline void stress_settle(struct px_publisher *pub, int fds)
{
	struct px_publisher_stats st;
	for (int t = 0; t < 1000; t++) {
		px_publisher_dispatch(pub, 10);
		REQUIRE_OK(px_publisher_get_stats(pub, &st));
		if (!st.n_subscribers && px_test_count_fds() == fds)
			break;
	}
	REQUIRE_EQ(st.n_subscribers, 0);
	if (px_test_count_fds() != fds)
		px_test_count_fds_but(NULL, true);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

#endif
