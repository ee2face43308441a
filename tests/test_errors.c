/* SPDX-License-Identifier: MIT */
/*
 * The errors the headers document, returned as documented, for the calls
 * that need no device: bad arguments and names, a publisher with no free
 * slot (-EAGAIN with another holder, -EBUSY when the application holds
 * them), no such subscriber, no topic, a subscriber's timeouts and the end
 * of its stream, a directory too long. (The refusals of a handshake are
 * test_qos's, protocol errors test_faults', the GPU calls' the GPU tests'.)
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pixshare/camera.h>
#include <pixshare/egl.h>
#include <pixshare/pixshare.h>
#include <pixshare/transform.h>
#include <pixshare/vulkan.h>

#include "px_testutil.h"

static struct px_set_layout layout;

static void names(void)
{
	enum px_allocator_type a;
	enum px_camera_io io;
	enum px_rig_partial partial;
	uint32_t fourcc;
	REQUIRE_EQ(px_allocator_from_name("nope", &a), -EINVAL);
	REQUIRE_EQ(px_allocator_from_name(NULL, &a), -EINVAL);
	REQUIRE_EQ(px_camera_io_from_name("nope", &io), -EINVAL);
	REQUIRE_EQ(px_rig_partial_from_name("nope", &partial), -EINVAL);
	REQUIRE_EQ(px_format_from_name("nope", &fourcc), -EINVAL);
	REQUIRE_OK(px_allocator_from_name("memfd", &a));
	REQUIRE_EQ(a, PX_ALLOCATOR_MEMFD);
	printf("errors: unknown names -EINVAL\n");
}

/* Getters of every object type, given NULL. */
static void nulls(void)
{
	struct px_camera_stats cs;
	struct px_rig_stats rs;
	struct px_publisher_stats ps;
	struct px_subscriber_stats ss;
	struct px_topic_info ti;
	struct px_egl_info ei;
	struct px_egl_stats es;
	struct px_vk_info vi;
	struct px_vk_stats vs;
	struct px_transform_publisher_stats ts;
	REQUIRE_EQ(px_camera_get_fd(NULL), -EINVAL);
	REQUIRE_EQ(px_camera_get_stats(NULL, &cs), -EINVAL);
	REQUIRE_EQ(px_rig_get_fd(NULL), -EINVAL);
	REQUIRE_EQ(px_rig_get_stats(NULL, &rs), -EINVAL);
	REQUIRE_EQ(px_publisher_get_stats(NULL, &ps), -EINVAL);
	REQUIRE_EQ(px_subscriber_get_stats(NULL, &ss), -EINVAL);
	REQUIRE_EQ(px_subscriber_get_topic_info(NULL, &ti), -EINVAL);
	REQUIRE_EQ(px_egl_get_info(NULL, &ei), -EINVAL);
	REQUIRE_EQ(px_egl_get_stats(NULL, &es), -EINVAL);
	REQUIRE_EQ(px_vk_get_info(NULL, &vi), -EINVAL);
	REQUIRE_EQ(px_vk_get_stats(NULL, &vs), -EINVAL);
	REQUIRE_EQ(px_transform_get_output(NULL, NULL, NULL, NULL), -EINVAL);
	REQUIRE_EQ(px_transform_publisher_get_stats(NULL, &ts), -EINVAL);
	struct px_transform_image im = {0};
	REQUIRE_EQ(px_transform_image_scale(&im, &layout.images[0], 0), -EINVAL);
	REQUIRE_EQ(px_transform_image_scale(&im, &layout.images[0], 65), -EINVAL);
	REQUIRE_EQ(px_transform_image_scale(NULL, &layout.images[0], 1), -EINVAL);
	struct px_frame *f = (void *)1;
	REQUIRE_EQ(px_frame_wrap(NULL, &f), -EINVAL);
	REQUIRE_EQ(px_frame_wrap(&(struct px_frame_desc){.layout = &layout}, &f), -EINVAL);
	REQUIRE(f == NULL);
	printf("errors: NULL objects and arguments -EINVAL\n");
}

static void directories(void)
{
	char buf[8];
	REQUIRE_EQ(px_topic_default_dir(buf, sizeof(buf)), -ENAMETOOLONG);
	char dir[PATH_MAX];
	REQUIRE_OK(px_topic_default_dir(dir, sizeof(dir)));
	REQUIRE_EQ(px_topic_list("/nonexistent/pixshare", NULL, NULL), -ENOENT);
	struct px_subscriber *sub = (void *)1;
	REQUIRE_EQ(px_subscriber_create(&(struct px_subscriber_params){.topic = "absent"}, &sub),
		   -ENOENT);
	REQUIRE(sub == NULL);
	REQUIRE_EQ(px_topic_query(NULL, "absent", 100, NULL, NULL, NULL, NULL), -ENOENT);
	printf("errors: a short buffer -ENAMETOOLONG, no directory or topic -ENOENT\n");
}

/* Publishes and subscribes in `dir`: both return `expect`. */
static void try_dir(const char *dir, int expect)
{
	struct px_publisher *pub = (void *)1;
	REQUIRE_EQ(
	    px_publisher_create(&(struct px_publisher_params){.topic = "dirs",
							      .dir = dir,
							      .layout = &layout,
							      .allocator = PX_ALLOCATOR_MEMFD},
				&pub),
	    expect);
	if (!expect) {
		px_publisher_destroy(pub);
		return;
	}
	REQUIRE(!pub);
	struct px_subscriber *sub = (void *)1;
	REQUIRE_EQ(px_subscriber_create(&(struct px_subscriber_params){.topic = "dirs",
								       .dir = dir,
								       .connect_timeout_ms = 100},
					&sub),
		   expect);
	REQUIRE(!sub);
}

/* The topic directory must be this user's own and writable by nobody else
 * (another user who made /tmp/pixshare-UID first could replace its
 * sockets); nor is a symbolic link followed. */
static void squatted(void)
{
	char d[PATH_MAX], link[PATH_MAX];
	snprintf(d, sizeof(d), "%s/dir", px_test_dir());
	snprintf(link, sizeof(link), "%s/link", px_test_dir());
	try_dir(d, 0); /* made, 0700 */
	struct stat st;
	REQUIRE_OK(stat(d, &st));
	REQUIRE_EQ(st.st_mode & 07777, 0700);
	REQUIRE_OK(chmod(d, 0777));
	try_dir(d, -EACCES);
	REQUIRE_OK(chmod(d, 0770));
	try_dir(d, -EACCES);
	REQUIRE_OK(chmod(d, 0755));
	try_dir(d, 0);
	REQUIRE_OK(symlink(d, link));
	try_dir(link, -ELOOP);
	REQUIRE_OK(unlink(link));
	const char *other = "not run (not root: cannot give it away)";
	if (geteuid() == 0) {
		REQUIRE_OK(chown(d, 65534, 65534));
		try_dir(d, -EACCES);
		REQUIRE_OK(chown(d, 0, 0));
		try_dir(d, 0);
		other = "-EACCES";
	}
	char lock[PATH_MAX + 16];
	snprintf(lock, sizeof(lock), "%s/dirs.lock", d);
	unlink(lock); /* a stopped publisher's (kept: see topic.c) */
	if (rmdir(d) < 0) {
		fprintf(stderr, "rmdir %s: %s\n", d, strerror(errno));
		exit(1);
	}
	printf("errors: a topic directory writable by others or its group -EACCES, a symbolic "
	       "link -ELOOP, another user's %s (publisher and subscriber alike)\n",
	       other);
}

/* A subscriber in another process: it times out before the first frame,
 * gets one, and sees the end of the stream. */
static int subscriber(void *arg)
{
	struct px_subscriber *sub;
	REQUIRE_OK(px_subscriber_create(&(struct px_subscriber_params){
					    .topic = "errors",
					    .max_leases = 1,
					    .connect_timeout_ms = 5000,
					    .flags = PX_SUBSCRIBER_NO_RECONNECT},
					&sub));
	struct px_frame *f = (void *)1;
	REQUIRE_EQ(px_subscriber_receive(sub, &f, 50), -ETIMEDOUT);
	REQUIRE_OK(px_subscriber_receive(sub, &f, 5000));
	px_frame_release(f);
	REQUIRE_EQ(px_subscriber_receive(sub, &f, 5000), -EPIPE);
	struct px_topic_info ti;
	REQUIRE_EQ(px_subscriber_get_topic_info(sub, &ti), -ENOTCONN);
	REQUIRE_EQ(px_subscriber_receive(sub, &f, 0), -EPIPE);
	px_subscriber_destroy(sub);
	return 0;
}

static void publisher(void)
{
	struct px_publisher *pub;
	REQUIRE_OK(px_publisher_create(&(struct px_publisher_params){.topic = "errors",
								    .layout = &layout,
								    .pool_size = 4, /* 2 + 1 lease + 1 */
								    .allocator = PX_ALLOCATOR_MEMFD},
				       &pub));
	struct px_subscriber_info info;
	REQUIRE_EQ(px_publisher_get_subscriber(pub, 0, &info), -ENOENT);
	/* The application holds every slot: -EBUSY at once. */
	struct px_slot *held[4], *s;
	for (int i = 0; i < 4; i++)
		REQUIRE_OK(px_publisher_acquire(pub, 0, &held[i]));
	REQUIRE_EQ(px_publisher_acquire(pub, 0, &s), -EBUSY);
	for (int i = 0; i < 4; i++)
		px_publisher_cancel(pub, held[i]);

	pid_t pid = px_test_fork(subscriber, NULL);
	px_test_wait_subscribers(pub, 1);
	REQUIRE_OK(px_publisher_get_subscriber(pub, 0, &info));
	REQUIRE_EQ(px_publisher_get_subscriber(pub, 1, &info), -ENOENT);
	usleep(200000); /* the subscriber's 50 ms timeout passes */
	REQUIRE_OK(px_publisher_acquire(pub, 0, &s));
	REQUIRE_OK(px_publisher_publish(pub, s, NULL));
	/* The subscriber takes it, then sees the end. */
	for (int t = 0; t < 200; t++) {
		px_publisher_dispatch(pub, 10);
		REQUIRE_OK(px_publisher_get_subscriber(pub, 0, &info));
		if (info.released)
			break;
	}
	REQUIRE_EQ(info.released, 1);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_wait(pid, 10000), 0);
	printf("errors: no such subscriber -ENOENT, every slot the application's -EBUSY; the "
	       "subscriber's -ETIMEDOUT, -EPIPE, -ENOTCONN\n");
}

int main(void)
{
	px_test_dir();
	int fds = px_test_count_fds();
	struct px_image_desc d = {PX_FORMAT_XRGB8888, 32, 8};
	REQUIRE_OK(px_layout_init_packed(&layout, 1, &d, 64, PX_PACK_PER_IMAGE));
	names();
	nulls();
	directories();
	squatted();
	publisher();
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}
