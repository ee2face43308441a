/* SPDX-License-Identifier: MIT */
/*
 * Fences on a real driver (vgem, in the vm tier): a frame published with a
 * pending fence reaches the application only after the fence signals; with
 * PX_SUBSCRIBER_KEEP_FENCES it comes at once with the fence; a slot released
 * with a pending fence is not written by the publisher before it signals.
 * vgem's fence ioctls attach fences that the test signals when it wants.
 * Skips (77) where there is no vgem device.
 */
#include <errno.h>
#include <poll.h>

#include <pixshare/pixshare.h>

#include "px_testutil.h"
#include "px_vgem.h"

#define HOLD_NS 400000000ull /* how long a fence stays pending */

struct shared {
	uint64_t signal_ns; /* when the parent signaled */
};

static struct px_set_layout layout;

static struct px_publisher *make_publisher(uint32_t pool)
{
	struct px_publisher *pub;
	struct px_image_desc d = {PX_FORMAT_XRGB8888, 64, 32};
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 64, PX_PACK_PER_IMAGE));
	struct px_publisher_params p = {.topic = "fence", .layout = &layout, .pool_size = pool,
					.max_subscribers = 1, .allocator = PX_ALLOCATOR_DUMB,
					.device = vgem};
	REQUIRE_OK(px_publisher_create(&p, &pub));
	return pub;
}

static int wait_for_value(int fd, uint64_t *v)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	REQUIRE(poll(&p, 1, 10000) == 1);
	return read(fd, v, sizeof(*v)) == sizeof(*v) ? 0 : -1;
}

/* Child: receives one frame and reports when; `keep` takes fences itself;
 * `fenced`: the frame comes with an acquire fence. */
static int receiver(int pipe_rd, bool keep, bool fenced, int release_signal_pipe)
{
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = "fence", .connect_timeout_ms = 10000,
					  .qos = PX_QOS_RELIABLE, .max_leases = 1,
					  .flags = keep ? PX_SUBSCRIBER_KEEP_FENCES : 0};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	struct px_frame *f;
	REQUIRE_OK(px_subscriber_receive(sub, &f, 10000));
	uint64_t got = px_now_ns(), signal_ns = 0;
	if (!fenced) {
		REQUIRE_EQ(f->acquire_fence, -1);
	} else if (keep) {
		/* At once, with the fence still pending. */
		REQUIRE(f->acquire_fence >= 0);
		REQUIRE(!px_fence_signaled(f->acquire_fence));
		REQUIRE_OK(wait_for_value(pipe_rd, &signal_ns));
		struct pollfd p = {.fd = f->acquire_fence, .events = POLLIN};
		REQUIRE(poll(&p, 1, 5000) == 1);
	} else {
		/* Only after the fence signaled, which the parent reports. */
		REQUIRE_OK(wait_for_value(pipe_rd, &signal_ns));
		REQUIRE(got >= signal_ns);
		REQUIRE_EQ(f->acquire_fence, -1);
		struct px_subscriber_stats st;
		px_subscriber_get_stats(sub, &st);
		REQUIRE(st.fence_waits >= 1);
		/* And the pixels are the published ones. */
		const void *planes[PX_MAX_PLANES] = {px_frame_plane(f, 0, 0)};
		struct px_pattern_params pp = {.frame = f->seq, .timestamp_ns = f->images[0].timestamp_ns};
		REQUIRE_OK(px_pattern_verify(&f->layout->images[0], planes, &pp, NULL, 0));
	}
	if (fenced)
		printf("  frame %s %.1f ms after publish, the fence signaled after %.1f ms\n",
		       keep ? "handed out" : "delivered", (double)(got - f->publish_ns) / 1e6,
		       (double)(signal_ns - f->publish_ns) / 1e6);
	fflush(stdout);
	if (release_signal_pipe >= 0) {
		/* Release with a pending fence of our own; signal it later. */
		int drm = open(vgem, O_RDWR | O_CLOEXEC);
		REQUIRE(drm >= 0);
		uint32_t id;
		int fence = scratch_fence(drm, &id);
		px_frame_release_fenced(f, fence);
		struct timespec ts = {0, (long)HOLD_NS};
		nanosleep(&ts, NULL);
		uint64_t now = px_now_ns();
		vgem_signal(drm, id);
		REQUIRE(write(release_signal_pipe, &now, sizeof(now)) == sizeof(now));
		close(drm);
		/* Stay until the parent is done. */
		REQUIRE_OK(px_subscriber_receive(sub, &f, 10000));
		px_frame_release(f);
	} else {
		px_frame_release(f);
	}
	px_subscriber_destroy(sub);
	return 0;
}

struct rx_args {
	int pipe_rd;
	bool keep, fenced;
	int release_pipe;
};

static int receiver_main(void *arg)
{
	struct rx_args *a = arg;
	return receiver(a->pipe_rd, a->keep, a->fenced, a->release_pipe);
}

/* Serves the publisher until the child exits; returns its exit code. */
static int serve_until_exit(struct px_publisher *pub, pid_t pid)
{
	for (int t = 0; t < 2000; t++) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		px_publisher_dispatch(pub, 10);
	}
	kill(pid, SIGKILL);
	return px_test_wait(pid, 1000);
}

static void wait_streaming(struct px_publisher *pub)
{
	px_test_wait_subscribers(pub, 1);
}

static void publish_drawn(struct px_publisher *pub, struct px_slot *slot, uint32_t flags,
			  int fence)
{
	struct px_publish_info info = {.flags = flags};
	info.images[0].timestamp_ns = px_now_ns();
	void *planes[PX_MAX_PLANES] = {px_slot_plane(slot, 0, 0)};
	struct px_pattern_params tp = {.frame = 1, .timestamp_ns = info.images[0].timestamp_ns};
	REQUIRE_OK(px_pattern_draw(&layout.images[0], planes, &tp));
	if (fence >= 0)
		REQUIRE_OK(px_publisher_publish_fenced(pub, slot, &info, fence));
	else
		REQUIRE_OK(px_publisher_publish(pub, slot, &info));
}

/* Serves the publisher for `ns`. */
static void serve(struct px_publisher *pub, uint64_t ns)
{
	uint64_t end = px_now_ns() + ns;
	while (px_now_ns() < end)
		px_publisher_dispatch_until(pub, end);
}

/* Acquire fences, implicit (on the frame's own buffer) or explicit. */
static void test_acquire(bool keep, bool implicit)
{
	printf("acquire fence, %s, subscriber %s:\n", implicit ? "implicit" : "explicit",
	       keep ? "keeps fences" : "lets the library wait");
	int fds = px_test_count_fds(), p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	int drm = open(vgem, O_RDWR | O_CLOEXEC);
	REQUIRE(drm >= 0);
	struct px_publisher *pub = make_publisher(0);
	struct rx_args a = {.pipe_rd = p[0], .keep = keep, .fenced = true, .release_pipe = -1};
	pid_t pid = px_test_fork(receiver_main, &a);
	wait_streaming(pub);

	struct px_slot *slot;
	REQUIRE_OK(px_publisher_acquire(pub, 1000, &slot));
	uint32_t id;
	if (implicit) {
		/* As a GPU would: a pending write on the frame's own buffer. */
		id = vgem_attach(drm, slot->buffers[0].fd);
		publish_drawn(pub, slot, PX_PUBLISH_IMPLICIT_FENCE, -1);
	} else {
		publish_drawn(pub, slot, 0, scratch_fence(drm, &id));
	}
	serve(pub, HOLD_NS);
	uint64_t now = px_now_ns();
	vgem_signal(drm, id);
	REQUIRE(write(p[1], &now, sizeof(now)) == sizeof(now));
	REQUIRE_EQ(serve_until_exit(pub, pid), 0);
	px_publisher_destroy(pub);
	close(drm);
	close(p[0]);
	close(p[1]);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

/* A slot released with a pending fence is not written before it signals. */
static void test_release(void)
{
	printf("release fence:\n");
	int fds = px_test_count_fds(), p[2], r[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0 && pipe2(r, O_CLOEXEC) == 0);
	int drm = open(vgem, O_RDWR | O_CLOEXEC);
	REQUIRE(drm >= 0);
	/* Four slots (2 + one lease + one undelivered, the admission rule):
	 * acquire takes the lowest free slot, so slot 0 comes back below. */
	struct px_publisher *pub = make_publisher(4);
	struct rx_args a = {.pipe_rd = p[0], .keep = false, .fenced = false, .release_pipe = r[1]};
	pid_t pid = px_test_fork(receiver_main, &a);
	wait_streaming(pub);

	struct px_slot *slot;
	REQUIRE_OK(px_publisher_acquire(pub, 1000, &slot));
	REQUIRE_EQ(slot->index, 0);
	publish_drawn(pub, slot, 0, -1);
	/* The child releases slot 0 with a pending fence; wait for that. */
	for (int t = 0; t < 500; t++) {
		px_publisher_dispatch(pub, 10);
		struct px_subscriber_info si;
		if (px_publisher_get_subscriber(pub, 0, &si) == 0 && si.released == 1)
			break;
	}
	/* Move the newest-frame hold off slot 0. */
	REQUIRE_OK(px_publisher_acquire(pub, 1000, &slot));
	REQUIRE_EQ(slot->index, 1);
	publish_drawn(pub, slot, 0, -1);
	/* Slot 0 again: acquire skips it while the fence the child signals
	 * after HOLD_NS is pending (the CPU writes it), and hands out the free
	 * slots first; with those taken, it waits for the fence. */
	struct px_slot *others[2];
	for (int i = 0; i < 2; i++) {
		REQUIRE_OK(px_publisher_acquire(pub, 1000, &others[i]));
		REQUIRE(others[i]->index >= 2);
	}
	REQUIRE_OK(px_publisher_acquire(pub, 5000, &slot));
	uint64_t acquired = px_now_ns(), signaled;
	REQUIRE_EQ(slot->index, 0);
	REQUIRE_OK(wait_for_value(r[0], &signaled));
	printf("  slot 0 acquired %.1f ms after the release fence signaled\n",
	       ((double)acquired - (double)signaled) / 1e6);
	REQUIRE(acquired >= signaled);
	for (int i = 0; i < 2; i++)
		px_publisher_cancel(pub, others[i]);
	publish_drawn(pub, slot, 0, -1);
	REQUIRE_EQ(serve_until_exit(pub, pid), 0);
	px_publisher_destroy(pub);
	close(drm);
	close(p[0]);
	close(p[1]);
	close(r[0]);
	close(r[1]);
	REQUIRE_EQ(px_test_count_fds(), fds);
}

int main(void)
{
	px_test_dir();
	if (!find_vgem())
		SKIP("no vgem device here (its fences are the test's clock): the vm tier runs this");
	printf("vgem: %s\n", vgem);
	test_acquire(false, true);
	test_acquire(false, false);
	test_acquire(true, true);
	test_release();
	printf("fence: ok\n");
	return 0;
}
