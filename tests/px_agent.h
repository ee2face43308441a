/* SPDX-License-Identifier: MIT */
/*
 * A subscriber in a child process, driven step by step over pipes, so that a
 * test can interleave publisher and subscriber actions deterministically.
 * Commands (one byte): 'r' receive one frame and hold it; 'R' release every
 * held frame; 'd' receive and release frames until none arrives for 200 ms;
 * 's' report stats; 'q' quit. Each command is answered with a struct
 * agent_reply.
 */
#ifndef PX_AGENT_H
#define PX_AGENT_H

#include <errno.h>

#include <pixshare/pixshare.h>

#include "px_testutil.h"

struct agent_params {
	enum px_qos qos;
	uint32_t queue_depth;
	uint32_t max_leases;
	const char *topic;
};

struct agent_reply {
	int ret;
	uint64_t seq;             /* 'r': the frame's number */
	uint32_t dropped_before;  /* 'r' */
	uint32_t count;           /* 'd': frames drained; 'R': frames released */
	uint64_t first, last;     /* 'd': first and last frame numbers */
	uint64_t gaps;            /* 'd': missing numbers between first and last */
	struct px_subscriber_stats stats;
};

struct agent {
	pid_t pid;
	int cmd, reply;
};

static int agent_main(const struct agent_params *ap, int cmd, int rep)
{
	struct px_subscriber *sub;
	struct px_subscriber_params p = {
		.topic = ap->topic, .qos = ap->qos, .queue_depth = ap->queue_depth,
		.max_leases = ap->max_leases, .connect_timeout_ms = 5000, .name = "agent",
	};
	struct px_frame *held[PX_MAX_LEASES];
	uint32_t n_held = 0;
	int ret = px_subscriber_create(&p, &sub);
	struct agent_reply r = {.ret = ret};
	if (write(rep, &r, sizeof(r)) != sizeof(r) || ret)
		return 1;
	for (;;) {
		char c;
		if (read(cmd, &c, 1) != 1)
			break;
		memset(&r, 0, sizeof(r));
		if (c == 'r') {
			struct px_frame *f;
			r.ret = px_subscriber_receive(sub, &f, 2000);
			if (!r.ret) {
				r.seq = f->seq;
				r.dropped_before = f->dropped_before;
				held[n_held++] = f;
			}
		} else if (c == 'R') {
			r.count = n_held;
			while (n_held)
				px_frame_release(held[--n_held]);
		} else if (c == 'd') {
			struct px_frame *f;
			while (px_subscriber_receive(sub, &f, 200) == 0) {
				if (!r.count)
					r.first = f->seq;
				else
					r.gaps += f->seq - r.last - 1;
				r.last = f->seq;
				r.count++;
				px_frame_release(f);
			}
		} else if (c == 'q') {
			break;
		}
		px_subscriber_get_stats(sub, &r.stats);
		if (write(rep, &r, sizeof(r)) != sizeof(r))
			break;
	}
	while (n_held)
		px_frame_release(held[--n_held]);
	px_subscriber_destroy(sub);
	return 0;
}

static struct agent agent_start(const struct agent_params *ap)
{
	int c[2], r[2];
	REQUIRE(pipe2(c, O_CLOEXEC) == 0 && pipe2(r, O_CLOEXEC) == 0);
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		px_test_dir_path[0] = '\0';
		close(c[1]);
		close(r[0]);
		exit(agent_main(ap, c[0], r[1]));
	}
	close(c[0]);
	close(r[1]);
	return (struct agent){.pid = pid, .cmd = c[1], .reply = r[0]};
}

/* Sends a command and waits for its reply, serving the publisher meanwhile. */
static struct agent_reply agent_do(struct agent *a, struct px_publisher *pub, char c)
{
	struct agent_reply r;
	if (c)
		REQUIRE(write(a->cmd, &c, 1) == 1);
	for (int t = 0; t < 1000; t++) {
		struct pollfd p = {.fd = a->reply, .events = POLLIN};
		if (pub)
			px_publisher_dispatch(pub, 0);
		if (poll(&p, 1, 10) == 1) {
			REQUIRE(read(a->reply, &r, sizeof(r)) == sizeof(r));
			return r;
		}
	}
	fprintf(stderr, "agent %d did not answer '%c'\n", (int)a->pid, c);
	exit(1);
}

static void agent_stop(struct agent *a)
{
	char c = 'q';
	REQUIRE(write(a->cmd, &c, 1) == 1);
	REQUIRE_EQ(px_test_wait(a->pid, 10000), 0);
	close(a->cmd);
	close(a->reply);
}

/* Serves the publisher until it streams to `n` subscribers. */
static void wait_subscribers(struct px_publisher *pub, uint32_t n)
{
	struct px_publisher_stats st;
	for (int t = 0; t < 500; t++) {
		px_publisher_dispatch(pub, 10);
		REQUIRE_OK(px_publisher_get_stats(pub, &st));
		if (st.n_subscribers == n)
			return;
	}
	fprintf(stderr, "publisher has %u subscribers, expected %u\n", st.n_subscribers, n);
	exit(1);
}

#endif
