/* SPDX-License-Identifier: MIT */
/*
 * The semantics of each QoS mode, step by step across processes:
 * latest replaces undelivered frames (and the subscriber skips to the newest),
 * queue(n) keeps the newest n, reliable never drops and makes the publisher
 * wait.
 */
#include "px_agent.h"

static struct px_set_layout layout;

static struct px_publisher *make_publisher(uint32_t pool_size, uint32_t max_subs)
{
	struct px_publisher *pub;
	struct px_image_desc d = {PX_FORMAT_R8, 64, 16};
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 0, PX_PACK_PER_IMAGE));
	struct px_publisher_params p = {.topic = "qos", .layout = &layout, .pool_size = pool_size,
					.max_subscribers = max_subs, .max_leases = 4};
	REQUIRE_OK(px_publisher_create(&p, &pub));
	return pub;
}

static int publish(struct px_publisher *pub, int timeout_ms)
{
	struct px_slot *slot;
	int ret = px_publisher_acquire(pub, timeout_ms, &slot);
	if (ret)
		return ret;
	memset(slot->buffers[0].data, 0x42, slot->buffers[0].size);
	return px_publisher_publish(pub, slot, NULL);
}

static struct px_subscriber_info sub_info(struct px_publisher *pub)
{
	struct px_subscriber_info si;
	px_publisher_dispatch(pub, 0);
	REQUIRE_OK(px_publisher_get_subscriber(pub, 0, &si));
	return si;
}

/* Serves the publisher until the subscriber holds all it may or nothing
 * waits for it. */
static void flush(struct px_publisher *pub)
{
	for (int t = 0; t < 300; t++) {
		struct px_subscriber_info si = sub_info(pub);
		if (si.pending == 0 || si.leases == si.max_leases)
			return;
		px_publisher_dispatch(pub, 10);
	}
	fprintf(stderr, "pending frames were never delivered\n");
	exit(1);
}

static void test_latest(void)
{
	struct px_publisher *pub = make_publisher(0, 4);
	struct agent_params ap = {.qos = PX_QOS_LATEST, .max_leases = 1, .topic = "qos"};
	struct agent a = agent_start(&ap);
	REQUIRE_OK(agent_do(&a, pub, 0).ret);
	wait_subscribers(pub, 1);

	for (int i = 0; i < 10; i++)
		REQUIRE_OK(publish(pub, 0));
	struct px_subscriber_info si = sub_info(pub);
	REQUIRE_EQ(si.leases, 1);
	REQUIRE_EQ(si.pending, 1);
	REQUIRE_EQ(si.dropped_replaced, 8);

	struct agent_reply r = agent_do(&a, pub, 'r');
	REQUIRE_OK(r.ret);
	REQUIRE_EQ(r.seq, 1);
	REQUIRE_EQ(r.dropped_before, 0);
	REQUIRE_EQ(agent_do(&a, pub, 'R').count, 1);
	flush(pub);
	r = agent_do(&a, pub, 'r');
	REQUIRE_OK(r.ret);
	REQUIRE_EQ(r.seq, 10); /* the newest, not the oldest */
	REQUIRE_EQ(r.dropped_before, 8);
	REQUIRE_EQ(r.stats.dropped_publisher, 8);
	agent_do(&a, pub, 'R');

	/* Several leases: frames that arrive while the application is busy are
	 * skipped on the subscriber's side too (superseded). */
	agent_stop(&a);
	ap.max_leases = 3;
	a = agent_start(&ap);
	REQUIRE_OK(agent_do(&a, pub, 0).ret);
	wait_subscribers(pub, 1);
	/* It was handed the newest frame on joining; take it. */
	REQUIRE_EQ(agent_do(&a, pub, 'r').seq, 10);
	agent_do(&a, pub, 'R');
	for (int i = 0; i < 3; i++)
		REQUIRE_OK(publish(pub, 0));
	r = agent_do(&a, pub, 'r');
	REQUIRE_EQ(r.seq, 13);
	REQUIRE_EQ(r.stats.dropped_superseded, 2);
	agent_do(&a, pub, 'R');
	agent_stop(&a);
	px_publisher_destroy(pub);
}

static void test_queue(void)
{
	struct px_publisher *pub = make_publisher(0, 2);
	struct agent_params ap = {.qos = PX_QOS_QUEUE, .queue_depth = 3, .max_leases = 1,
				  .topic = "qos"};
	struct agent a = agent_start(&ap);
	REQUIRE_OK(agent_do(&a, pub, 0).ret);
	wait_subscribers(pub, 1);

	for (int i = 0; i < 10; i++)
		REQUIRE_OK(publish(pub, 0));
	struct px_subscriber_info si = sub_info(pub);
	REQUIRE_EQ(si.leases, 1);
	REQUIRE_EQ(si.pending, 3);
	REQUIRE_EQ(si.dropped_queue, 6);

	uint64_t expect[] = {1, 8, 9, 10};
	for (int i = 0; i < 4; i++) {
		flush(pub);
		struct agent_reply r = agent_do(&a, pub, 'r');
		REQUIRE_OK(r.ret);
		REQUIRE_EQ(r.seq, expect[i]);
		REQUIRE_EQ(r.dropped_before, i == 1 ? 6 : 0);
		agent_do(&a, pub, 'R');
	}
	REQUIRE_EQ(agent_do(&a, pub, 'r').ret, -ETIMEDOUT);
	agent_stop(&a);
	px_publisher_destroy(pub);
}

static void test_reliable(void)
{
	/* Six slots, one subscriber holding one lease. */
	struct px_publisher *pub = make_publisher(6, 1);
	struct agent_params ap = {.qos = PX_QOS_RELIABLE, .max_leases = 1, .topic = "qos"};
	struct agent a = agent_start(&ap);
	REQUIRE_OK(agent_do(&a, pub, 0).ret);
	wait_subscribers(pub, 1);
	/* It serves one subscriber: a second is refused as subscriber.h says. */
	struct agent b = agent_start(&ap);
	REQUIRE_EQ(agent_do(&b, pub, 0).ret, -ECONNREFUSED);
	REQUIRE_EQ(px_test_wait(b.pid, 5000), 1);
	close(b.cmd);
	close(b.reply);

	int published = 0;
	while (publish(pub, 0) == 0)
		published++;
	/* Every slot is held by the subscriber: one lease, the rest waiting. */
	REQUIRE_EQ(published, 6);
	struct px_publisher_stats st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.free_slots, 0);
	/* The publisher waits for it, then gives up with -EAGAIN. */
	uint64_t t0 = px_now_ns();
	REQUIRE_EQ(publish(pub, 150), -EAGAIN);
	REQUIRE(px_now_ns() - t0 >= 140000000ull);
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE(st.acquire_timeouts >= 2);

	/* The subscriber drains in the background; the publisher's acquire
	 * waits for each slot and nothing is ever dropped. */
	char c = 'd';
	REQUIRE(write(a.cmd, &c, 1) == 1);
	for (int i = 0; i < 200; i++)
		REQUIRE_OK(publish(pub, 2000));
	struct agent_reply r = agent_do(&a, pub, 0);
	REQUIRE_EQ(r.count, 206);
	REQUIRE_EQ(r.first, 1);
	REQUIRE_EQ(r.last, 206);
	REQUIRE_EQ(r.gaps, 0);
	REQUIRE_EQ(r.stats.dropped_publisher + r.stats.dropped_superseded, 0);
	struct px_subscriber_info si = sub_info(pub);
	REQUIRE_EQ(si.dropped_replaced + si.dropped_queue, 0);
	agent_stop(&a);
	px_publisher_destroy(pub);
}

/* A subscriber whose limits do not fit into the pool is refused, with the
 * reason, and the others are unaffected. */
static void test_admission(void)
{
	struct px_publisher *pub = make_publisher(8, 4);
	struct agent_params ap = {.qos = PX_QOS_QUEUE, .queue_depth = 3, .max_leases = 2,
				  .topic = "qos"};
	struct agent a = agent_start(&ap); /* needs 2 + 5 = 7 of 8 */
	REQUIRE_OK(agent_do(&a, pub, 0).ret);
	wait_subscribers(pub, 1);
	struct agent b = agent_start(&ap); /* would need 12 */
	REQUIRE_EQ(agent_do(&b, pub, 0).ret, -ENOSPC);
	REQUIRE_EQ(px_test_wait(b.pid, 5000), 1);
	close(b.cmd);
	close(b.reply);
	ap.max_leases = 5; /* more than the publisher grants */
	b = agent_start(&ap);
	REQUIRE_EQ(agent_do(&b, pub, 0).ret, -ECONNREFUSED);
	REQUIRE_EQ(px_test_wait(b.pid, 5000), 1);
	close(b.cmd);
	close(b.reply);
	struct px_publisher_stats st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.refused, 2);
	REQUIRE_EQ(st.n_subscribers, 1);
	REQUIRE_OK(publish(pub, 0));
	REQUIRE_EQ(agent_do(&a, pub, 'r').seq, 1);
	agent_do(&a, pub, 'R');
	agent_stop(&a);
	px_publisher_destroy(pub);
}

int main(void)
{
	px_test_dir();
	int fds = px_test_count_fds();
	test_latest();
	test_queue();
	test_reliable();
	test_admission();
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("qos: ok\n");
	return 0;
}
