/* SPDX-License-Identifier: MIT */
/*
 * Busy-poll (px_subscriber_params.spin_us): a publisher in another process
 * publishes at a steady 50 Hz, stops for half a second, and goes on. The
 * subscriber gets every frame in order through px_subscriber_receive() and
 * px_subscriber_dispatch(); it catches frames while spinning once the period
 * is known; while the stream stops it spins at most once (one miss, about
 * 2 × spin_us), not for the whole pause; a caller's timeout shorter than the
 * time to the next frame is kept. spin_us past PX_MAX_SPIN_US is refused,
 * and a subscriber without it never spins.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <pixshare/pixshare.h>

#include "px_test.h"
#include "px_testutil.h"

#define TOPIC "spin"
#define PERIOD_MS 20
#define BEFORE 40 /* frames before the pause */
#define PAUSE_MS 500
#define AFTER 20 /* frames after it */
#define SPIN_US 2000

static struct px_set_layout layout;

static void sleep_until(uint64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull),
			      .tv_nsec = (long)(t % 1000000000ull)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Publishes BEFORE frames, pauses, publishes AFTER, at PERIOD_MS: each frame
 * on its tick, the releases read between ticks. */
static int publisher(void *arg)
{
	(void)arg;
	struct px_publisher_params pp = {.topic = TOPIC, .layout = &layout};
	struct px_publisher *pub;
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	px_test_wait_subscribers(pub, 1);
	uint64_t tick = now_ns();
	for (int i = 0; i < BEFORE + AFTER; i++) {
		tick += (uint64_t)(i == BEFORE ? PAUSE_MS : PERIOD_MS) * 1000000ull;
		for (uint64_t now; (now = now_ns()) + 2000000ull < tick;)
			px_publisher_dispatch(pub, (int)((tick - now) / 1000000ull) - 1);
		sleep_until(tick);
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 1000, &slot));
		*(uint32_t *)slot->buffers[0].data = (uint32_t)i;
		REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
	}
	px_test_serve_until_released(pub, 500);
	px_publisher_destroy(pub);
	return 0;
}

static void get_stats(struct px_subscriber *sub, struct px_subscriber_stats *s)
{
	REQUIRE_OK(px_subscriber_get_stats(sub, s));
}

static uint32_t next_index;

static void take(struct px_frame *f)
{
	REQUIRE_EQ(*(const uint32_t *)f->buffers[0].data, next_index);
	next_index++;
	px_frame_release(f);
}

static void on_frame(void *userdata, struct px_frame *f)
{
	(void)userdata;
	take(f);
}

int main(void)
{
	px_test_dir();
	px_log_set_handler(px_test_log, NULL, PX_LOG_INFO);
	int fds = px_test_count_fds();
	struct px_image_desc d = {PX_FORMAT_R8, 64, 8};
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 0, PX_PACK_PER_IMAGE));

	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = TOPIC,
					  .qos = PX_QOS_RELIABLE,
					  .connect_timeout_ms = 5000,
					  .spin_us = PX_MAX_SPIN_US + 1,
					  .on_frame = on_frame};
	REQUIRE_EQ(px_subscriber_create(&sp, &sub), -EINVAL);

	pid_t pid = px_test_fork(publisher, NULL);
	sp.spin_us = SPIN_US;
	REQUIRE_OK(px_subscriber_create(&sp, &sub));

	/* The steady part, by px_subscriber_receive(). */
	struct px_subscriber_stats s0, s1, s2;
	struct px_frame *f;
	while (next_index < BEFORE) {
		REQUIRE_OK(px_subscriber_receive(sub, &f, 2000));
		take(f);
	}
	get_stats(sub, &s0);
	printf("steady: %u frames, %llu caught spinning, %llu missed, %.1f µs spun a frame\n",
	       BEFORE, (unsigned long long)s0.spin_caught, (unsigned long long)s0.spin_missed,
	       (double)s0.spin_ns / 1000.0 / BEFORE);
	/* Every frame after the first few that give the period is waited for
	 * by a spin, caught or missed, unless it came before the spin began
	 * (the process ran late). */
	REQUIRE(s0.spin_caught >= 1);
	REQUIRE(s0.spin_caught + s0.spin_missed <= BEFORE - 1 - 4);

	/* A timeout shorter than the time to the next frame is kept. */
	uint64_t t = now_ns();
	REQUIRE_EQ(px_subscriber_receive(sub, &f, 1), -ETIMEDOUT);
	uint64_t took = now_ns() - t;
	printf("1 ms receive while a frame is due in < %d ms: %.2f ms\n", PERIOD_MS,
	       (double)took / 1e6);
	REQUIRE(took < 10000000ull);

	/* The pause: one spin at most, missed, then asleep until the frame. */
	get_stats(sub, &s1);
	REQUIRE_OK(px_subscriber_receive(sub, &f, PAUSE_MS + 1000));
	take(f);
	get_stats(sub, &s2);
	uint64_t spun = s2.spin_ns - s1.spin_ns;
	printf("pause of %d ms: %llu missed, %llu caught, %.2f ms spun\n", PAUSE_MS,
	       (unsigned long long)(s2.spin_missed - s1.spin_missed),
	       (unsigned long long)(s2.spin_caught - s1.spin_caught), (double)spun / 1e6);
	REQUIRE(s2.spin_missed - s1.spin_missed <= 1);
	REQUIRE(s2.spin_caught == s1.spin_caught);
	/* 2 × spin_us and the timer slack, and room for being preempted. */
	REQUIRE(spun < 20000000ull);

	/* The rest by px_subscriber_dispatch(). */
	while (next_index < BEFORE + AFTER)
		REQUIRE(px_subscriber_dispatch(sub, 2000) >= 0);
	get_stats(sub, &s2);
	REQUIRE_EQ(s2.received, (uint64_t)(BEFORE + AFTER));
	printf("after: %llu caught in all, %llu missed\n", (unsigned long long)s2.spin_caught,
	       (unsigned long long)s2.spin_missed);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_wait(pid, 10000), 0);

	/* Without spin_us: no spinning, nothing counted. */
	pid = px_test_fork(publisher, NULL);
	sp.spin_us = 0;
	next_index = 0;
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	while (next_index < BEFORE + AFTER)
		REQUIRE(px_subscriber_dispatch(sub, 2000) >= 0);
	get_stats(sub, &s2);
	REQUIRE(s2.spin_caught == 0 && s2.spin_missed == 0 && s2.spin_ns == 0);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_wait(pid, 10000), 0);

	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("spin: ok\n");
	return 0;
}
