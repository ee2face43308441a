/* SPDX-License-Identifier: MIT */
/*
 * Chaos: one publisher at full rate (this process), 8 subscriber processes
 * in mixed QoS (3 latest, 3 queue of 2, 2 reliable); every 50 ms a random
 * one is killed (SIGKILL, and a new one started in its place) or stopped
 * (SIGSTOP) and continued 10 … 200 ms later (SIGCONT). 30 s (--quick, the
 * valgrind tier: 8 s, every 250 ms).
 *
 * Afterwards the publisher is alive and serves a last round of subscribers;
 * when they have left, every slot is free but the newest frame's (no lease
 * leaked) and its fd count is what it was before the first subscriber.
 * Throughout, reliable subscribers saw every sequence number in order while
 * connected, latest and queue ones never one out of order (checked in each
 * subscriber, px_stress.h), and no subscriber ended by itself.
 */
#include <sys/mman.h>

#include "px_stress.h"

#define N_SUBS 8

static const struct {
	enum px_qos qos;
	uint32_t depth;
} mix[N_SUBS] = {
    {PX_QOS_LATEST, 0}, {PX_QOS_LATEST, 0}, {PX_QOS_LATEST, 0},	  {PX_QOS_QUEUE, 2},
    {PX_QOS_QUEUE, 2},	{PX_QOS_QUEUE, 2},  {PX_QOS_RELIABLE, 0}, {PX_QOS_RELIABLE, 0},
};

struct child {
	pid_t pid;
	bool stopped;
	uint64_t cont_ns;
	struct stress_sub sub;
};

static uint64_t rng;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int report_pipe[2], stop_pipe[2], next_id;
/* Frames every subscriber checked, by QoS: shared with them. */
static _Atomic uint64_t *checked;

static void start(struct child *c, int slot)
{
	c->sub = (struct stress_sub){
	    .id = next_id++,
	    .topic = "chaos",
	    .qos = mix[slot].qos,
	    .queue_depth = mix[slot].depth,
	    .report_fd = report_pipe[1],
	    .stop_fd = stop_pipe[0],
	    .counter = &checked[mix[slot].qos],
	};
	c->stopped = false;
	c->pid = px_test_fork(stress_subscriber_main, &c->sub);
}

/* Fails the test if a subscriber ended by itself (a violation, a crash). */
static void check_children(void)
{
	int status;
	pid_t pid = waitpid(-1, &status, WNOHANG);
	if (pid > 0) {
		fprintf(stderr, "subscriber pid %d ended by itself: %s %d\n", (int)pid,
			WIFEXITED(status) ? "status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	bool quick = px_test_opt("quick") != NULL;
	double seconds = quick ? 8.0 : 30.0;
	/* Under valgrind (--quick) forking a subscriber takes longer than 50 ms:
	 * one action every 250 ms lets them stream between. */
	uint64_t interval_ns = quick ? 250000000 : 50000000;
	rng = px_test_opt("seed") ? strtoull(px_test_opt("seed"), NULL, 0) : px_now_ns();
	rng |= 1;
	printf("chaos: seed %llu\n", (unsigned long long)rng);
	px_test_dir();
	px_log_set_handler(stress_log, NULL, PX_LOG_WARN);
	REQUIRE(pipe2(report_pipe, O_CLOEXEC) == 0 && pipe2(stop_pipe, O_CLOEXEC) == 0);
	REQUIRE(fcntl(report_pipe[0], F_SETFL, O_NONBLOCK) == 0);
	checked = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(checked != MAP_FAILED);

	struct px_set_layout layout;
	stress_layout(&layout);
	int fds0 = px_test_count_fds();
	struct px_publisher_params pp = {.topic = "chaos",
					 .layout = &layout,
					 .allocator = PX_ALLOCATOR_MEMFD,
					 .max_subscribers = 16,
					 .pool_size = PX_MAX_SLOTS};
	struct px_publisher *pub;
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	int fds_pub = px_test_count_fds();

	struct child children[N_SUBS];
	for (int i = 0; i < N_SUBS; i++)
		start(&children[i], i);
	px_test_wait_subscribers(pub, N_SUBS);

	static struct stress_report reports[8192];
	int n_reports = 0;
	unsigned kills = 0, stops = 0, timeouts = 0, max_subs = 0;
	uint64_t t0 = px_now_ns(), end = t0 + (uint64_t)(seconds * 1e9), next_action = t0;
	uint64_t next_check = t0;
	for (uint64_t now = t0; now < end; now = px_now_ns()) {
		struct px_slot *slot;
		int ret = px_publisher_acquire(pub, 5, &slot);
		if (ret == -EAGAIN)
			timeouts++;
		else if (ret == 0)
			REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
		else
			REQUIRE_OK(ret);
		px_publisher_dispatch(pub, 0);

		for (int i = 0; i < N_SUBS; i++) {
			struct child *c = &children[i];
			if (c->stopped && now >= c->cont_ns) {
				REQUIRE(kill(c->pid, SIGCONT) == 0);
				c->stopped = false;
			}
		}
		if (now >= next_action) {
			next_action += interval_ns;
			int i = (int)(next_random() % N_SUBS);
			struct child *c = &children[i];
			if (c->stopped || next_random() % 2) {
				REQUIRE(kill(c->pid, SIGKILL) == 0);
				REQUIRE_EQ(px_test_wait(c->pid, 5000), 128 + SIGKILL);
				start(c, i);
				kills++;
			} else {
				REQUIRE(kill(c->pid, SIGSTOP) == 0);
				c->stopped = true;
				c->cont_ns = now + 10000000 + next_random() % 190000000;
				stops++;
			}
		}
		if (now >= next_check) {
			/* No subscriber holds more than its lease limit. */
			next_check += 100000000;
			check_children();
			struct px_publisher_stats st;
			REQUIRE_OK(px_publisher_get_stats(pub, &st));
			max_subs = st.n_subscribers > max_subs ? st.n_subscribers : max_subs;
			for (uint32_t s = 0; s < st.n_subscribers; s++) {
				struct px_subscriber_info si;
				REQUIRE_OK(px_publisher_get_subscriber(pub, s, &si));
				REQUIRE(si.leases <= si.max_leases);
			}
			n_reports += stress_read_reports(report_pipe[0], reports + n_reports,
							 (int)PX_ARRAY_LEN(reports) - n_reports);
		}
	}
	double elapsed = (double)(px_now_ns() - t0) / 1e9;

	/* The publisher is alive: the last round ends cleanly, each subscriber
	 * reporting what it checked. */
	for (int i = 0; i < N_SUBS; i++)
		if (children[i].stopped)
			REQUIRE(kill(children[i].pid, SIGCONT) == 0);
	check_children();
	struct px_publisher_stats st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	uint64_t published = st.published;
	close(stop_pipe[1]);
	for (int i = 0; i < N_SUBS; i++) {
		for (int t = 0; t < 2000; t++) {
			px_publisher_dispatch(pub, 10);
			int status;
			pid_t r = waitpid(children[i].pid, &status, WNOHANG);
			REQUIRE(r >= 0);
			if (r == 0)
				continue;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				fprintf(stderr, "subscriber %d (%s) ended with %s %d\n",
					children[i].sub.id, px_qos_name(children[i].sub.qos),
					WIFEXITED(status) ? "status" : "signal",
					WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
				exit(1);
			}
			children[i].pid = 0;
			break;
		}
		REQUIRE(children[i].pid == 0);
	}
	n_reports += stress_read_reports(report_pipe[0], reports + n_reports,
					 (int)PX_ARRAY_LEN(reports) - n_reports);
	uint64_t done = 0, connected = 0, reconnects = 0;
	for (int i = 0; i < n_reports; i++) {
		if (reports[i].kind == STRESS_CONNECTED) {
			connected++;
			continue;
		}
		done++;
		reconnects += reports[i].connects - 1;
	}
	REQUIRE_EQ(done, N_SUBS);
	/* (A subscriber killed before it connected, or reported it, said nothing.) */
	REQUIRE(connected <= (uint64_t)next_id && connected >= N_SUBS);
	/* Nobody was disconnected but by its death. */
	REQUIRE_EQ(reconnects, 0);

	/* Every slot comes back but the newest frame's; every fd of the
	 * subscribers' connections is closed (and the stop pipe's end). */
	stress_settle(pub, fds_pub - 1);
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.free_slots, px_publisher_get_pool_size(pub) - 1);
	REQUIRE_EQ(st.protocol_errors, 0);
	uint64_t total = st.subscribers_total, refused = st.refused;
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_count_fds(), fds0 - 1);
	REQUIRE_EQ(px_test_pointer_logs, 0);
	close(report_pipe[0]);
	close(report_pipe[1]);
	close(stop_pipe[0]);

	printf("stress: chaos: %.1f s, %llu frames published (%.0f/s), %u kills, %u stops, "
	       "%d subscribers started (%llu streamed, %llu refused, at most %u at once), "
	       "%u acquire timeouts; subscribers checked %llu reliable, %llu queue, %llu latest "
	       "frames; %u warnings logged; 0 leases and 0 fds leaked\n",
	       elapsed, (unsigned long long)published, (double)published / elapsed, kills, stops,
	       next_id, (unsigned long long)total, (unsigned long long)refused, max_subs, timeouts,
	       (unsigned long long)checked[PX_QOS_RELIABLE],
	       (unsigned long long)checked[PX_QOS_QUEUE],
	       (unsigned long long)checked[PX_QOS_LATEST], stress_warnings);
	munmap((void *)checked, 4096);
	return 0;
}
