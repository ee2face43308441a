/* SPDX-License-Identifier: MIT */
/*
 * Publisher restarts: a publisher process (200 Hz) is killed with SIGKILL
 * and a successor started, 20 times (--quick: 5), under 8 subscriber
 * processes in mixed QoS. Every subscriber must be streaming from each
 * successor within 1 s of its start (3 s under valgrind, --quick); the
 * distribution is printed. The
 * subscribers check every frame as they go (px_stress.h: reliable ones see
 * every number in order within a connection), and at the end each has
 * connected exactly once per publisher, none crashed, and each has as many
 * fds open as before it subscribed (and no memory leaked: the sanitizer and
 * valgrind tiers). The last publisher ends cleanly with its fds back to
 * where they were.
 */
#include "px_stress.h"

#define N_SUBS 8

static const struct {
	enum px_qos qos;
	uint32_t depth;
} mix[N_SUBS] = {
    {PX_QOS_LATEST, 0}, {PX_QOS_LATEST, 0}, {PX_QOS_LATEST, 0},	  {PX_QOS_QUEUE, 2},
    {PX_QOS_QUEUE, 2},	{PX_QOS_QUEUE, 2},  {PX_QOS_RELIABLE, 0}, {PX_QOS_RELIABLE, 0},
};

static struct px_set_layout layout;
static volatile sig_atomic_t stop_publishing;

static void on_sigterm(int sig)
{
	(void)sig;
	stop_publishing = 1;
}

struct ready {
	int32_t pid;
	int32_t pad;	   /* 0: nothing uninitialised goes through the pipe */
	uint64_t start_ns; /* just before px_publisher_create() */
};

/* A publisher process: tells `*arg` (a pipe) that it listens, then
 * publishes at 200 Hz until SIGTERM. */
static int publisher_main(void *arg)
{
	int ready_fd = *(int *)arg;
	stress_child_fds(&ready_fd, 1);
	struct sigaction sa = {.sa_handler = on_sigterm};
	REQUIRE(sigaction(SIGTERM, &sa, NULL) == 0);
	int fds0 = px_test_count_fds();
	struct ready r = {.pid = getpid(), .start_ns = px_now_ns()};
	struct px_publisher_params pp = {.topic = "restarts",
					 .layout = &layout,
					 .allocator = PX_ALLOCATOR_MEMFD,
					 .max_subscribers = 12,
					 .pool_size = 48};
	struct px_publisher *pub;
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	REQUIRE(write(ready_fd, &r, sizeof(r)) == sizeof(r));
	uint64_t next = px_now_ns();
	while (!stop_publishing) {
		struct px_slot *slot;
		int ret = px_publisher_acquire(pub, 10, &slot);
		if (ret == 0)
			REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
		else if (ret != -EAGAIN)
			REQUIRE_OK(ret);
		next += 5000000;
		while (!stop_publishing && px_now_ns() < next)
			px_publisher_dispatch_until(pub, next);
	}
	px_publisher_destroy(pub);
	close(ready_fd);
	REQUIRE_EQ(px_test_count_fds(), fds0 - 1);
	return 0;
}

static int report_pipe[2], stop_pipe[2], ready_pipe[2];

static pid_t start_publisher(struct ready *r)
{
	pid_t pid = px_test_fork(publisher_main, &ready_pipe[1]);
	struct pollfd pfd = {.fd = ready_pipe[0], .events = POLLIN};
	REQUIRE(poll(&pfd, 1, 10000) == 1);
	REQUIRE(read(ready_pipe[0], r, sizeof(*r)) == sizeof(*r));
	REQUIRE_EQ(r->pid, pid);
	return pid;
}

static struct stress_report reports[4096];
static int n_reports;

/* Waits until every subscriber has reported a connection to publisher
 * `pid`, for `timeout_ms` at most; fills `when` with their times. */
static void wait_connected(pid_t pid, uint64_t *when, int timeout_ms)
{
	int seen = 0;
	for (int i = 0; i < N_SUBS; i++)
		when[i] = 0;
	uint64_t deadline = px_now_ns() + (uint64_t)timeout_ms * 1000000;
	while (seen < N_SUBS) {
		int first = n_reports;
		struct pollfd pfd = {.fd = report_pipe[0], .events = POLLIN};
		int64_t left = (int64_t)(deadline - px_now_ns());
		if (left <= 0 || poll(&pfd, 1, (int)(left / 1000000) + 1) == 0) {
			fprintf(stderr, "only %d of %d subscribers reconnected within %d ms\n",
				seen, N_SUBS, timeout_ms);
			for (int i = 0; i < N_SUBS; i++)
				if (!when[i])
					fprintf(stderr, "  subscriber %d (%s) did not\n", i,
						px_qos_name(mix[i].qos));
			exit(1);
		}
		n_reports += stress_read_reports(report_pipe[0], reports + n_reports,
						 (int)PX_ARRAY_LEN(reports) - n_reports);
		REQUIRE(n_reports < (int)PX_ARRAY_LEN(reports));
		for (int i = first; i < n_reports; i++) {
			const struct stress_report *r = &reports[i];
			REQUIRE(r->kind == STRESS_CONNECTED);
			REQUIRE(r->id >= 0 && r->id < N_SUBS);
			if (r->pub_pid != pid)
				continue;
			REQUIRE(!when[r->id]); /* once per publisher */
			when[r->id] = r->ns;
			seen++;
		}
	}
}

/* Serves nothing (the publisher is another process): lets frames flow. */
static void run_for(int ms, const pid_t *subs)
{
	uint64_t end = px_now_ns() + (uint64_t)ms * 1000000;
	while (px_now_ns() < end) {
		int status;
		pid_t r = waitpid(-1, &status, WNOHANG);
		if (r > 0) {
			fprintf(stderr, "pid %d ended by itself: %s %d\n", (int)r,
				WIFEXITED(status) ? "status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			exit(1);
		}
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	(void)subs;
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	int restarts = px_test_opt("quick") ? 5 : 20;
	/* Under valgrind (--quick) a successor takes longer to serve its
	 * first subscribers: 3 s. */
	uint64_t limit_ns = px_test_opt("quick") ? 3000000000ull : 1000000000ull;
	px_test_dir();
	px_log_set_handler(stress_log, NULL, PX_LOG_WARN);
	stress_layout(&layout);
	int fds0 = px_test_count_fds();
	REQUIRE(pipe2(report_pipe, O_CLOEXEC) == 0 && pipe2(stop_pipe, O_CLOEXEC) == 0 &&
		pipe2(ready_pipe, O_CLOEXEC) == 0);
	REQUIRE(fcntl(report_pipe[0], F_SETFL, O_NONBLOCK) == 0);

	struct ready ready;
	pid_t pub = start_publisher(&ready);
	static struct stress_sub subs[N_SUBS];
	pid_t sub_pids[N_SUBS];
	for (int i = 0; i < N_SUBS; i++) {
		subs[i] = (struct stress_sub){.id = i,
					      .topic = "restarts",
					      .qos = mix[i].qos,
					      .queue_depth = mix[i].depth,
					      .report_fd = report_pipe[1],
					      .stop_fd = stop_pipe[0]};
		sub_pids[i] = px_test_fork(stress_subscriber_main, &subs[i]);
	}
	uint64_t when[N_SUBS];
	wait_connected(pub, when, 10000);
	run_for(300, sub_pids);

	uint64_t *after_start = calloc((size_t)restarts * N_SUBS, sizeof(uint64_t));
	uint64_t *after_kill = calloc((size_t)restarts * N_SUBS, sizeof(uint64_t));
	REQUIRE(after_start && after_kill);
	size_t n = 0;
	for (int r = 0; r < restarts; r++) {
		uint64_t kill_ns = px_now_ns();
		REQUIRE(kill(pub, SIGKILL) == 0);
		REQUIRE_EQ(px_test_wait(pub, 5000), 128 + SIGKILL);
		pub = start_publisher(&ready);
		wait_connected(pub, when, 5000);
		for (int i = 0; i < N_SUBS; i++, n++) {
			after_start[n] = when[i] > ready.start_ns ? when[i] - ready.start_ns : 0;
			after_kill[n] = when[i] - kill_ns;
			if (after_start[n] > limit_ns) {
				fprintf(stderr,
					"restart %d: subscriber %d (%s) streamed %.0f ms after the "
					"successor started\n",
					r + 1, i, px_qos_name(mix[i].qos),
					(double)after_start[n] / 1e6);
				exit(1);
			}
		}
		run_for(300, sub_pids);
	}

	/* The subscribers end, each after as many connections as publishers,
	 * with its fds as before. */
	close(stop_pipe[1]);
	for (int i = 0; i < N_SUBS; i++)
		stress_require_exit(sub_pids[i], 20000, "a subscriber");
	int first = n_reports;
	n_reports += stress_read_reports(report_pipe[0], reports + n_reports,
					 (int)PX_ARRAY_LEN(reports) - n_reports);
	uint64_t frames[3] = {0};
	int done = 0;
	for (int i = first; i < n_reports; i++) {
		REQUIRE_EQ(reports[i].kind, STRESS_DONE);
		REQUIRE_EQ(reports[i].connects, (uint64_t)restarts + 1);
		REQUIRE_EQ(reports[i].disconnects, (uint64_t)restarts);
		REQUIRE(reports[i].frames > 0);
		frames[mix[reports[i].id].qos] += reports[i].frames;
		done++;
	}
	REQUIRE_EQ(done, N_SUBS);
	REQUIRE(kill(pub, SIGTERM) == 0);
	stress_require_exit(pub, 10000, "the last publisher");
	for (int i = 0; i < 2; i++) {
		close(report_pipe[i]);
		close(ready_pipe[i]);
	}
	close(stop_pipe[0]);
	REQUIRE_EQ(px_test_count_fds(), fds0);
	REQUIRE_EQ(px_test_pointer_logs, 0);

	uint64_t k50 = stress_percentile(after_kill, n, 50),
		 k90 = stress_percentile(after_kill, n, 90),
		 kmax = stress_percentile(after_kill, n, 100);
	printf("stress: restarts: %d SIGKILLs and restarts under %d subscribers (3 latest, 3 "
	       "queue, 2 reliable): all streaming from each successor after its start in p50 "
	       "%.0f ms, p90 %.0f ms, max %.0f ms (n=%zu; after the kill: p50 %.0f, p90 %.0f, max "
	       "%.0f ms); %llu reliable, %llu queue, %llu latest frames checked; 0 crashes, 0 fds "
	       "leaked\n",
	       restarts, N_SUBS, (double)stress_percentile(after_start, n, 50) / 1e6,
	       (double)stress_percentile(after_start, n, 90) / 1e6,
	       (double)stress_percentile(after_start, n, 100) / 1e6, n, (double)k50 / 1e6,
	       (double)k90 / 1e6, (double)kmax / 1e6, (unsigned long long)frames[PX_QOS_RELIABLE],
	       (unsigned long long)frames[PX_QOS_QUEUE], (unsigned long long)frames[PX_QOS_LATEST]);
	free(after_start);
	free(after_kill);
	return 0;
}
