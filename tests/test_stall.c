/* SPDX-License-Identifier: MIT */
/*
 * Stalled subscribers: a subscriber in a child process stops itself
 * (SIGSTOP) while it holds a frame, as one in a debugger would, while the
 * publisher goes on at 100 Hz with a release deadline of 300 ms.
 *
 * - reliable, PX_STALL_DISCONNECT_RELIABLE: disconnected at the deadline (logged once,
 *   counted), and the publisher, held up until then, publishes again; the
 *   subscriber, continued, sees its stream end after the frames it had.
 * - latest, PX_STALL_DISCONNECT_RELIABLE: logged and counted, left connected; the
 *   publisher never waited.
 * - reliable, PX_STALL_LOG (the default): logged and counted, left connected, and the
 *   publisher stays held up (nothing published after the pool filled).
 * - latest, PX_STALL_DISCONNECT: disconnected.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include <pixshare/pixshare.h>

#include "px_testutil.h"

#define DEADLINE_MS 300

static struct px_set_layout layout;
static int n_stall_logs;

static void log_handler(void *userdata, enum px_log_level level, const char *msg)
{
	(void)userdata;
	(void)level;
	if (strstr(msg, "past the release deadline")) {
		n_stall_logs++;
		printf("  logged: %s\n", msg);
	}
}

/* Takes frames, releasing each, and stops itself holding the fifth; once
 * continued, expects its stream to end (disconnected) or go on (not). */
static int stopper(void *arg)
{
	const int *how = arg; /* [0]: qos, [1]: 1 if it will be disconnected */
	struct px_subscriber_params sp = {
	    .topic = "stall", .qos = (enum px_qos)how[0], .max_leases = 1,
	    .connect_timeout_ms = 5000, .name = "stopper", .flags = PX_SUBSCRIBER_NO_RECONNECT,
	};
	struct px_subscriber *sub;
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	struct px_frame *f;
	uint64_t last = 0;
	for (int i = 0; i < 5; i++) {
		REQUIRE_OK(px_subscriber_receive(sub, &f, 5000));
		REQUIRE(f->seq > last);
		last = f->seq;
		if (i < 4)
			px_frame_release(f);
	}
	raise(SIGSTOP);
	px_frame_release(f);
	int ret;
	uint64_t more = 0;
	while ((ret = px_subscriber_receive(sub, &f, 2000)) == 0) {
		REQUIRE(f->seq > last);
		last = f->seq;
		px_frame_release(f);
		more++;
		if (!how[1] && more == 5)
			break; /* still streaming */
	}
	px_subscriber_destroy(sub);
	if (how[1] ? ret != -EPIPE : more != 5) {
		fprintf(stderr, "stopper: after SIGCONT: %llu frames more, then %s\n",
			(unsigned long long)more, px_strerror(ret));
		return 1;
	}
	return 0;
}

static void run(enum px_qos qos, enum px_stall_policy policy, bool disconnected)
{
	struct px_publisher_params pp = {
	    .topic = "stall", .layout = &layout, .allocator = PX_ALLOCATOR_MEMFD,
	    .release_timeout_ms = DEADLINE_MS, .stall_policy = policy,
	};
	struct px_publisher *pub;
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	int how[2] = {(int)qos, disconnected};
	pid_t pid = px_test_fork(stopper, how);
	px_test_wait_subscribers(pub, 1);
	n_stall_logs = 0;

	/* 100 Hz until the subscriber stops itself, then 1.5 s more. */
	uint64_t stopped_ns = 0, end = UINT64_MAX, late = 0, held = 0;
	uint64_t after = 0; /* published from 100 ms past the deadline on */
	while (px_now_ns() < end) {
		struct px_slot *slot;
		int ret = px_publisher_acquire(pub, 10, &slot);
		if (ret == 0) {
			REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
			if (stopped_ns && px_now_ns() > stopped_ns + (DEADLINE_MS + 100) * 1000000ull)
				after++;
		} else {
			REQUIRE_EQ(ret, -EAGAIN);
			held++;
		}
		px_publisher_dispatch(pub, 10);
		if (!stopped_ns) {
			int status;
			pid_t r = waitpid(pid, &status, WUNTRACED | WNOHANG);
			REQUIRE(r == 0 || (r == pid && WIFSTOPPED(status)));
			if (r == pid) {
				stopped_ns = px_now_ns();
				end = stopped_ns + 1500 * 1000000ull;
			}
			if (++late > 1000)
				REQUIRE(!"the subscriber never stopped itself");
		}
	}
	struct px_publisher_stats st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	printf("%s, %s: stalled %llu, subscribers %u; %llu published from 100 ms past the "
	       "deadline to 1.5 s after the stop, %llu acquires timed out\n",
	       px_qos_name(qos),
	       policy == PX_STALL_LOG	       ? "PX_STALL_LOG"
	       : policy == PX_STALL_DISCONNECT ? "PX_STALL_DISCONNECT"
					       : "PX_STALL_DISCONNECT_RELIABLE",
	       (unsigned long long)st.stalled, st.n_subscribers, (unsigned long long)after,
	       (unsigned long long)held);
	REQUIRE_EQ(st.stalled, 1);
	REQUIRE_EQ(n_stall_logs, 1);
	REQUIRE_EQ(st.n_subscribers, disconnected ? 0 : 1);
	if (qos == PX_QOS_RELIABLE && !disconnected)
		REQUIRE_EQ(after, 0); /* held up */
	else
		REQUIRE(after >= 50); /* ~110 at 100 Hz */
	REQUIRE(kill(pid, SIGCONT) == 0);
	/* Continued, it wants 5 more frames where still connected. */
	for (int t = 0; t < 500; t++) {
		struct px_slot *slot;
		if (px_publisher_acquire(pub, 0, &slot) == 0)
			REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
		px_publisher_dispatch(pub, 10);
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			REQUIRE(WIFEXITED(status));
			REQUIRE_EQ(WEXITSTATUS(status), 0);
			pid = 0;
			break;
		}
	}
	REQUIRE_EQ(pid, 0);
	px_publisher_destroy(pub);
}

/* Takes `n` frames, releasing each at once. */
static int prompt_releaser(void *arg)
{
	int n = *(const int *)arg;
	struct px_subscriber_params sp = {
	    .topic = "prompt",
	    .qos = PX_QOS_LATEST,
	    .connect_timeout_ms = 5000,
	    .name = "prompt",
	    .flags = PX_SUBSCRIBER_NO_RECONNECT,
	};
	struct px_subscriber *sub;
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	for (int i = 0; i < n; i++) {
		struct px_frame *f;
		REQUIRE_OK(px_subscriber_receive(sub, &f, 5000));
		px_frame_release(f);
	}
	px_subscriber_destroy(sub);
	return 0;
}

/* A publisher that publishes a frame every 450 ms (past the 300 ms
 * deadline) and never dispatches between frames has releases waiting unread
 * in the socket (a latest subscriber with room gets the next frame without
 * them being read): none of that is a stall, and no one is disconnected. */
static void slow_publisher(void)
{
	struct px_publisher_params pp = {
	    .topic = "prompt",
	    .layout = &layout,
	    .allocator = PX_ALLOCATOR_MEMFD,
	    .release_timeout_ms = DEADLINE_MS,
	    .stall_policy = PX_STALL_DISCONNECT,
	};
	struct px_publisher *pub;
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	int n = 5;
	pid_t pid = px_test_fork(prompt_releaser, &n);
	px_test_wait_subscribers(pub, 1);
	n_stall_logs = 0;
	for (int i = 0; i < n; i++) {
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 1000, &slot));
		REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
		struct timespec ts = {0, (DEADLINE_MS + 150) * 1000000L};
		nanosleep(&ts, NULL);
	}
	struct px_publisher_stats st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.stalled, 0);
	REQUIRE_EQ(n_stall_logs, 0);
	REQUIRE_EQ(px_test_wait(pid, 5000), 0);
	px_publisher_destroy(pub);
	printf("a frame every %d ms without dispatch, prompt releases: stalled 0\n",
	       DEADLINE_MS + 150);
}

int main(void)
{
	px_test_dir();
	px_log_set_handler(log_handler, NULL, PX_LOG_WARN);
	struct px_image_desc d = {PX_FORMAT_R8, 64, 16};
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 64, PX_PACK_PER_IMAGE));
	int fds = px_test_count_fds();
	run(PX_QOS_RELIABLE, PX_STALL_DISCONNECT_RELIABLE, true);
	run(PX_QOS_LATEST, PX_STALL_DISCONNECT_RELIABLE, false);
	run(PX_QOS_RELIABLE, 0 /* the default */, false);
	run(PX_QOS_LATEST, PX_STALL_DISCONNECT, true);
	slow_publisher();
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("stall: ok\n");
	return 0;
}
