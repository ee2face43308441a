/* SPDX-License-Identifier: MIT */
/*
 * The calls the public headers document as thread-safe, from several
 * threads at once (the tier "tsan" of scripts/test runs this under
 * ThreadSanitizer; elsewhere it runs as any test):
 *
 * - four publishers and four subscribers, each in a thread of its own
 *   ("different publishers are independent"; a subscriber is used from one
 *   thread at a time), the publishers drawing the test pattern
 *   (px_pattern_draw(), thread-safe), the subscribers verifying every frame
 *   (px_pattern_verify()) in a reader thread of their own ("frames may be
 *   read from any thread"), released by the subscriber's thread;
 * - the log handler, called from every thread (publishers refusing bad
 *   parameters log them);
 * - px_strerror(), px_version(), px_now_ns(), px_log_get_level(),
 *   px_layout_init_packed() and px_frame_wrap() with px_frame_release() of
 *   the wrapped frame, from every thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "px_stress.h"

#define N_PAIRS 4

static int n_frames = 200;
static struct px_set_layout layout;
static atomic_uint logs;

static void log_handler(void *userdata, enum px_log_level level, const char *msg)
{
	(void)userdata;
	(void)level;
	atomic_fetch_add(&logs, 1);
	px_test_log_check(msg);
}

/* The thread-safe calls that need no object, and a wrapped frame. */
static void pure_calls(int i)
{
	REQUIRE(strlen(px_strerror(-(i % 130))) > 0);
	REQUIRE(strlen(px_version()) > 0);
	REQUIRE(px_now_ns() > 0);
	REQUIRE(px_log_get_level() >= PX_LOG_ERROR);
	struct px_set_layout l;
	struct px_image_desc d = {PX_FORMAT_R8, 16 + (uint32_t)(i % 8), 4};
	REQUIRE_OK(px_layout_init_packed(&l, 1, &d, 0, PX_PACK_PER_IMAGE));
	static const uint8_t bytes[4096];
	struct px_frame_buffer b = {.fd = -1, .size = sizeof(bytes), .data = bytes};
	struct px_frame_desc fd = {.layout = &l, .buffers = &b};
	struct px_frame *f;
	REQUIRE_OK(px_frame_wrap(&fd, &f));
	REQUIRE(px_frame_plane(f, 0, 0) == bytes);
	px_frame_release(f);
}

struct pair {
	int index;
	char topic[16];
	atomic_bool listening, done;
	/* The subscriber's reader thread: one frame at a time. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct px_frame *to_read; /* set by the subscriber, cleared by the reader */
	bool quit;
	int verified;
};

static void *publisher_thread(void *arg)
{
	struct pair *p = arg;
	struct px_publisher_params bad = {.topic = "no/such", .layout = &layout};
	struct px_publisher *pub;
	REQUIRE_EQ(px_publisher_create(&bad, &pub), -EINVAL); /* logged */
	struct px_publisher_params pp = {
	    .topic = p->topic, .layout = &layout, .allocator = PX_ALLOCATOR_MEMFD};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	atomic_store(&p->listening, true);
	for (uint64_t n = 1; !atomic_load(&p->done);) {
		struct px_slot *slot;
		int ret = px_publisher_acquire(pub, 10, &slot);
		if (ret == -EAGAIN)
			continue;
		REQUIRE_OK(ret);
		void *planes[PX_MAX_PLANES] = {px_slot_plane(slot, 0, 0)};
		struct px_pattern_params pat = {.frame = n++}; /* frames are numbered 1, 2, 3… */
		REQUIRE_OK(px_pattern_draw(&layout.images[0], planes, &pat));
		REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
		pure_calls((int)n);
		px_publisher_dispatch(pub, 1);
	}
	px_publisher_destroy(pub);
	return NULL;
}

static void *reader_thread(void *arg)
{
	struct pair *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->to_read && !p->quit)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->quit)
			break;
		struct px_frame *f = p->to_read;
		const void *planes[PX_MAX_PLANES] = {px_frame_plane(f, 0, 0)};
		struct px_pattern_params pat = {.frame = f->seq};
		char why[128];
		if (px_pattern_verify(&f->layout->images[0], planes, &pat, why, sizeof(why))) {
			fprintf(stderr, "%s: frame %llu: %s\n", p->topic,
				(unsigned long long)f->seq, why);
			exit(1);
		}
		p->verified++;
		p->to_read = NULL;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void *subscriber_thread(void *arg)
{
	struct pair *p = arg;
	while (!atomic_load(&p->listening))
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	struct px_subscriber_params sp = {
	    .topic = p->topic, .qos = PX_QOS_RELIABLE, .connect_timeout_ms = 10000};
	struct px_subscriber *sub;
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	pthread_t reader;
	REQUIRE(pthread_create(&reader, NULL, reader_thread, p) == 0);
	for (int i = 0; i < n_frames; i++) {
		struct px_frame *f;
		REQUIRE_OK(px_subscriber_receive(sub, &f, 10000));
		pthread_mutex_lock(&p->lock);
		p->to_read = f;
		pthread_cond_broadcast(&p->cond);
		while (p->to_read)
			pthread_cond_wait(&p->cond, &p->lock);
		pthread_mutex_unlock(&p->lock);
		px_frame_release(f);
		pure_calls(i);
	}
	pthread_mutex_lock(&p->lock);
	p->quit = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	REQUIRE(pthread_join(reader, NULL) == 0);
	px_subscriber_destroy(sub);
	atomic_store(&p->done, true);
	return NULL;
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	if (px_test_opt("quick"))
		n_frames = 50;
	px_test_dir();
	px_log_set_handler(log_handler, NULL, PX_LOG_WARN);
	struct px_image_desc d = {PX_FORMAT_R8, 64, 8};
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 0, PX_PACK_PER_IMAGE));
	int fds = px_test_count_fds();
	static struct pair pairs[N_PAIRS];
	pthread_t threads[2 * N_PAIRS];
	for (int i = 0; i < N_PAIRS; i++) {
		pairs[i].index = i;
		snprintf(pairs[i].topic, sizeof(pairs[i].topic), "threads%d", i);
		REQUIRE(pthread_mutex_init(&pairs[i].lock, NULL) == 0);
		REQUIRE(pthread_cond_init(&pairs[i].cond, NULL) == 0);
		REQUIRE(pthread_create(&threads[2 * i], NULL, publisher_thread, &pairs[i]) == 0);
		REQUIRE(pthread_create(&threads[2 * i + 1], NULL, subscriber_thread, &pairs[i]) ==
			0);
	}
	int verified = 0;
	for (int i = 0; i < 2 * N_PAIRS; i++)
		REQUIRE(pthread_join(threads[i], NULL) == 0);
	for (int i = 0; i < N_PAIRS; i++) {
		REQUIRE_EQ(pairs[i].verified, n_frames);
		verified += pairs[i].verified;
		pthread_mutex_destroy(&pairs[i].lock);
		pthread_cond_destroy(&pairs[i].cond);
	}
	REQUIRE(atomic_load(&logs) >= N_PAIRS);
	REQUIRE_EQ(px_test_pointer_logs, 0);
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("stress: threads: %d publishers and %d subscribers in threads of their own, %d "
	       "frames verified in reader threads, %u messages logged from them\n",
	       N_PAIRS, N_PAIRS, verified, atomic_load(&logs));
	return 0;
}
