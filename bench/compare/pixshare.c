/* SPDX-License-Identifier: MIT */
/*
 * pixshare in bench_compare: a publisher with the default allocator (a
 * dma-buf allocator where the machine has one, else sealed memfds) and pool
 * size, one image per buffer; subscribers in an event loop of poll() and
 * px_subscriber_dispatch(), latest-frame delivery, or reliable in the
 * flat-out reliable runs; with --spin-us, the library's busy-poll. The
 * publisher does not dispatch between sets: acquire and publish read the
 * releases they need.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include <pixshare/publisher.h>
#include <pixshare/subscriber.h>

#include "bench/compare/compare.h"

#define TOPIC_WAIT_MS 10000

static int make_layout(struct cmp_ctx *c, struct px_set_layout *layout)
{
	struct px_image_desc descs[CMP_MAX_IMAGES];
	for (uint32_t i = 0; i < c->p->n_images; i++)
		descs[i] = (struct px_image_desc){PX_FORMAT_YUYV, c->p->width, c->p->height};
	int ret = px_layout_init_packed(layout, c->p->n_images, descs, 64, PX_PACK_PER_IMAGE);
	return ret ? cmp_fail(c, "px_layout_init_packed: %s", px_strerror(ret)) : 0;
}

static int wait_subscribers(struct cmp_ctx *c, struct px_publisher *pub)
{
	uint64_t deadline = cmp_now_ns() + TOPIC_WAIT_MS * CMP_NS_PER_MS;
	struct px_publisher_stats st;
	for (;;) {
		px_publisher_get_stats(pub, &st);
		if (st.n_subscribers >= c->p->n_subs)
			return 0;
		if (cmp_now_ns() >= deadline)
			return cmp_fail(c, "%u of %u subscribers connected in %d s",
					st.n_subscribers, c->p->n_subs, TOPIC_WAIT_MS / 1000);
		int ret = px_publisher_dispatch(pub, 100);
		if (ret < 0)
			return cmp_fail(c, "px_publisher_dispatch: %s", px_strerror(ret));
	}
}

static int publisher(struct cmp_ctx *c)
{
	struct px_set_layout layout;
	struct px_publisher *pub;
	if (make_layout(c, &layout))
		return -1;
	struct px_publisher_params params = {
	    .topic = c->p->name,
	    .dir = c->p->dir,
	    .layout = &layout,
	    .allocator = PX_ALLOCATOR_AUTO,
	    /* The default (4), raised for runs with more. */
	    .max_subscribers = c->p->n_subs > 4 ? c->p->n_subs : 0,
	    .description = "bench_compare",
	};
	int ret = px_publisher_create(&params, &pub);
	if (ret)
		return cmp_fail(c, "px_publisher_create: %s", px_strerror(ret));
	snprintf(c->sh->pub.detail, sizeof(c->sh->pub.detail), "pool: %u slots, %s",
		 px_publisher_get_pool_size(pub),
		 px_allocator_name(px_publisher_get_allocator(pub)));
	if (wait_subscribers(c, pub) || cmp_pub_wait_subscribers(c, 0))
		goto err;

	bool block = c->p->rate == 0 && c->p->reliable;
	cmp_pub_begin(c);
	while (cmp_pub_next(c)) {
		struct px_slot *slot;
		ret = px_publisher_acquire(pub, block ? 1000 : 0, &slot);
		if (ret == -EAGAIN || ret == -EBUSY) {
			cmp_pub_missed(c);
			continue;
		}
		if (ret) {
			cmp_fail(c, "px_publisher_acquire: %s", px_strerror(ret));
			goto err;
		}
		uint8_t *images[CMP_MAX_IMAGES];
		for (uint32_t i = 0; i < c->p->n_images; i++)
			images[i] = px_slot_plane(slot, i, 0);
		if (!images[0]) {
			px_publisher_cancel(pub, slot);
			cmp_fail(c, "the pool has no CPU mapping to write the header into");
			goto err;
		}
		cmp_camera_write(c, images, c->p->n_images);
		if ((ret = px_publisher_publish(pub, slot, NULL))) {
			cmp_fail(c, "px_publisher_publish: %s", px_strerror(ret));
			goto err;
		}
		cmp_pub_sent(c);
	}
	cmp_pub_end(c);
	/* Serves the subscribers until they have seen the last set and left. */
	uint64_t deadline = cmp_now_ns() + 5 * CMP_NS_PER_S;
	struct px_publisher_stats st;
	while (px_publisher_get_stats(pub, &st) == 0 && st.n_subscribers && cmp_now_ns() < deadline)
		if ((ret = px_publisher_dispatch(pub, 10)) < 0)
			break;
	px_publisher_destroy(pub);
	return 0;
err:
	px_publisher_destroy(pub);
	return -1;
}

struct sub_state {
	struct cmp_ctx *c;
	struct px_subscriber *sub;
	bool ended;
	/* The busy-poll counters as the warm-up's last set left them. */
	uint64_t spin_caught0, spin_ns0;
};

static void on_frame(void *userdata, struct px_frame *frame)
{
	struct sub_state *s = userdata;
	const uint8_t *images[CMP_MAX_IMAGES];
	for (uint32_t i = 0; i < s->c->p->n_images; i++)
		images[i] = px_frame_plane(frame, i, 0);
	if (images[0])
		cmp_sub_set(s->c, images, s->c->p->n_images);
	else
		cmp_fail(s->c, "frame %llu has no CPU mapping", (unsigned long long)frame->seq);
	px_frame_release(frame);
	struct px_subscriber_stats st;
	if (s->c->p->spin_us && !s->c->sh->subs[s->c->index].received &&
	    px_subscriber_get_stats(s->sub, &st) == 0) {
		s->spin_caught0 = st.spin_caught;
		s->spin_ns0 = st.spin_ns;
	}
}

static void on_event(void *userdata, enum px_subscriber_event event)
{
	struct sub_state *s = userdata;
	if (event == PX_EVENT_DISCONNECTED)
		s->ended = true;
}

static int subscriber(struct cmp_ctx *c)
{
	struct sub_state s = {.c = c};
	struct px_subscriber *sub;
	struct px_subscriber_params params = {
	    .topic = c->p->name,
	    .dir = c->p->dir,
	    .qos = c->p->rate == 0 && c->p->reliable ? PX_QOS_RELIABLE : PX_QOS_LATEST,
	    .flags = PX_SUBSCRIBER_NO_RECONNECT,
	    .connect_timeout_ms = TOPIC_WAIT_MS,
	    .name = "bench_compare",
	    .on_frame = on_frame,
	    .on_event = on_event,
	    .userdata = &s,
	};
	/* --spin-us: the library's own busy-poll (px_subscriber_params.spin_us),
	 * waiting in px_subscriber_dispatch(); the thread's timer slack set to
	 * 1 ns, as cmp_sub_wait() does for the other transports. */
	params.spin_us = c->p->spin_us;
	if (params.spin_us)
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	int ret = px_subscriber_create(&params, &sub);
	if (ret)
		return cmp_fail(c, "px_subscriber_create: %s", px_strerror(ret));
	s.sub = sub;
	cmp_sub_ready(c);
	struct pollfd pfd = {.fd = px_subscriber_get_fd(sub), .events = POLLIN};
	while (!cmp_sub_done(c) && !s.ended) {
		int timeout = CMP_POLL_MS;
		if (!params.spin_us) {
			int n = cmp_sub_wait(c, pfd.fd);
			if (n < 0)
				break;
			if (n == 0)
				continue;
			timeout = 0;
		}
		ret = px_subscriber_dispatch(sub, timeout);
		if (ret == -EPIPE)
			break;
		if (ret < 0) {
			cmp_fail(c, "px_subscriber_dispatch: %s", px_strerror(ret));
			break;
		}
	}
	struct px_subscriber_stats st;
	if (params.spin_us && px_subscriber_get_stats(sub, &st) == 0) {
		/* The measured sets' (those after the warm-up). */
		c->sh->subs[c->index].spin_hits = st.spin_caught - s.spin_caught0;
		c->sh->subs[c->index].spin_ns = st.spin_ns - s.spin_ns0;
	}
	px_subscriber_destroy(sub);
	return c->sh->subs[c->index].error[0] ? -1 : 0;
}

const struct cmp_transport cmp_pixshare = {
    .name = "pixshare",
    .settings = "default allocator and pool size (max_subscribers: the default 4, or the run's "
		"subscribers beyond), one buffer per image; subscribers: "
		"latest-frame (reliable in the flat-out reliable runs), poll() + dispatch; "
		"with --spin-us the library's busy-poll (px_subscriber_params.spin_us) in "
		"px_subscriber_dispatch()",
    .multi = true,
    .spins = true,
    .publisher = publisher,
    .subscriber = subscriber,
};
