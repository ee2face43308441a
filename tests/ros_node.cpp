// SPDX-License-Identifier: MIT
//
// The ROS side of tests/test_ros_bridge.sh: a roscpp node that checks the
// bridge's messages against the test pattern, publishes the test pattern for
// the way back, or publishes and receives plain messages as a baseline of
// ROS's own cost. Built only with ROS (PX_WITH_ROS).
//
//   ros_node check --format F --encoding E --count N [--step S] [--frame-id P]
//            [--tolerance-us U] [--timeout S] TOPIC…
//     Every message on the i-th TOPIC must be encoded E, carry image i of the
//     test pattern in pixshare format F (pixel for pixel, at the message's
//     step, which must be S where given), have frame_id P<i>, or P with {i}
//     replaced by i (where given),
//     and a header.stamp that is the pattern's capture time (CLOCK_MONOTONIC,
//     read from the pixels) on the wall clock, within U µs (default 1000).
//     Ends once every TOPIC has brought N messages.
//   ros_node publish --format F --encoding E --size WxH --count N [--rate HZ]
//            [--pad B] [--unmatched-every K] [--resize-at K] TOPIC…
//     Waits for a subscriber on every TOPIC, then publishes frames 1 … N of
//     the pattern, image i on the i-th TOPIC, all with the same stamp (the
//     capture time on the wall clock), rows padded by B bytes. Every K-th
//     frame goes to the first TOPIC only (a message no other matches); from
//     frame K of --resize-at on, the last TOPIC's images are half the size.
//   ros_node bench --encoding E --size WxH --images N --rate HZ --duration S PREFIX
//     A plain roscpp publisher: N topics PREFIX/image<i>, messages of that
//     size filled once, each published at the rate with a new stamp; prints
//     the process's CPU time per set (ROS's own cost of publishing one).
//   ros_node sink --duration S TOPIC…
//     Receives and counts.
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <string>
#include <vector>

#include <ros/callback_queue.h>
#include <ros/ros.h>
#include <sensor_msgs/Image.h>

#include <pixshare/pixshare.h>

namespace
{

#define NS_PER_S 1000000000ull

[[noreturn]] void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ros_node: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

struct args {
	std::string mode;
	uint32_t fourcc = 0;
	std::string encoding, frame_id;
	uint32_t width = 0, height = 0, images = 1, step = 0, pad = 0;
	uint64_t count = 0, unmatched_every = 0, resize_at = 0;
	double rate = 30, duration = 0, timeout = 20, tolerance_us = 1000;
	std::vector<std::string> topics;
};

uint64_t number(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		die("%s: '%s' is no number", opt, s);
	return v;
}

double real(const char *opt, const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v > 0))
		die("%s: '%s' is no positive number", opt, s);
	return v;
}

args parse(int argc, char **argv)
{
	args a;
	if (argc < 2)
		die("usage: ros_node check|publish|bench|sink [OPTIONS] TOPIC…");
	a.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		std::string o = argv[i];
		if (o.rfind("--", 0) != 0) {
			a.topics.push_back(o);
			continue;
		}
		if (i + 1 >= argc)
			die("%s needs a value", o.c_str());
		const char *v = argv[++i];
		if (o == "--format") {
			if (px_format_from_name(v, &a.fourcc))
				die("--format: unknown '%s'", v);
		} else if (o == "--encoding") {
			a.encoding = v;
		} else if (o == "--frame-id") {
			a.frame_id = v;
		} else if (o == "--size") {
			if (sscanf(v, "%ux%u", &a.width, &a.height) != 2 || !a.width || !a.height)
				die("--size: '%s' is not WxH", v);
		} else if (o == "--images") {
			a.images = (uint32_t)number("--images", v);
		} else if (o == "--step") {
			a.step = (uint32_t)number("--step", v);
		} else if (o == "--pad") {
			a.pad = (uint32_t)number("--pad", v);
		} else if (o == "--count") {
			a.count = number("--count", v);
		} else if (o == "--unmatched-every") {
			a.unmatched_every = number("--unmatched-every", v);
		} else if (o == "--resize-at") {
			a.resize_at = number("--resize-at", v);
		} else if (o == "--rate") {
			a.rate = real("--rate", v);
		} else if (o == "--duration") {
			a.duration = real("--duration", v);
		} else if (o == "--timeout") {
			a.timeout = real("--timeout", v);
		} else if (o == "--tolerance-us") {
			a.tolerance_us = real("--tolerance-us", v);
		} else {
			die("unknown option %s", o.c_str());
		}
	}
	return a;
}

// CLOCK_REALTIME − CLOCK_MONOTONIC, as the bridge measures it.
int64_t measure_offset()
{
	int64_t best = 0;
	uint64_t best_window = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		struct timespec rt;
		uint64_t m0 = px_now_ns();
		clock_gettime(CLOCK_REALTIME, &rt);
		uint64_t m1 = px_now_ns();
		if (m1 - m0 < best_window) {
			best_window = m1 - m0;
			best = (int64_t)((uint64_t)rt.tv_sec * NS_PER_S + (uint64_t)rt.tv_nsec) -
			       (int64_t)(m0 + (m1 - m0) / 2);
		}
	}
	return best;
}

uint64_t process_cpu_ns()
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * NS_PER_S +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000;
}

// A linear image of `fourcc` whose planes follow one another at `step`.
px_image_layout image_layout(uint32_t fourcc, uint32_t w, uint32_t h, uint32_t step,
			     uint64_t *bytes)
{
	const px_format_info *fi = px_format_get_info(fourcc);
	if (!fi)
		die("unknown format");
	px_image_layout im = {};
	im.fourcc = fourcc;
	im.width = w;
	im.height = h;
	im.n_planes = fi->n_planes;
	im.modifier = PX_MODIFIER_LINEAR;
	uint64_t off = 0;
	for (uint32_t p = 0; p < im.n_planes; p++) {
		im.planes[p].stride = step;
		im.planes[p].offset = off;
		off += (uint64_t)step * px_image_plane_rows(&im, p);
	}
	*bytes = off;
	return im;
}

// --- check ------------------------------------------------------------------

struct checker {
	const args &a;
	int64_t offset;
	std::vector<uint64_t> seen;
	uint64_t failures = 0;
	double max_error_us = 0;

	void fail(size_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)))
	{
		if (failures++ >= 5)
			return;
		va_list ap;
		va_start(ap, fmt);
		fprintf(stderr, "ros_node: %s: ", a.topics[i].c_str());
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}

	void on_message(size_t i, const sensor_msgs::ImageConstPtr &m)
	{
		seen[i]++;
		if (m->encoding != a.encoding)
			return fail(i, "encoding '%s', not '%s'", m->encoding.c_str(),
				    a.encoding.c_str());
		if (m->is_bigendian)
			return fail(i, "is_bigendian set");
		std::string want_id = a.frame_id;
		size_t at = want_id.find("{i}");
		if (at == std::string::npos)
			want_id += std::to_string(i);
		else
			want_id.replace(at, 3, std::to_string(i));
		if (!a.frame_id.empty() && m->header.frame_id != want_id)
			return fail(i, "frame_id '%s', not '%s'", m->header.frame_id.c_str(),
				    want_id.c_str());
		if (a.step && m->step != a.step)
			return fail(i, "step %u, not %u (the publisher's stride)", m->step, a.step);
		uint64_t bytes;
		px_image_layout im = image_layout(a.fourcc, m->width, m->height, m->step, &bytes);
		if (px_image_row_bytes(&im, 0) > m->step)
			return fail(i, "step %u below a row's %llu bytes", m->step,
				    (unsigned long long)px_image_row_bytes(&im, 0));
		if (m->data.size() != bytes)
			return fail(i, "%zu bytes of data, not %llu", m->data.size(),
				    (unsigned long long)bytes);
		const void *planes[PX_MAX_PLANES] = {};
		for (uint32_t p = 0; p < im.n_planes; p++)
			planes[p] = m->data.data() + im.planes[p].offset;
		px_pattern_params pp;
		if (px_pattern_decode(&im, planes, &pp))
			return fail(i, "no test pattern code in the pixels");
		if (pp.image_index != (i & 0xff))
			return fail(i, "carries image %u of the set, not %zu", pp.image_index, i);
		char why[192] = "";
		if (px_pattern_verify(&im, planes, &pp, why, sizeof(why)))
			return fail(i, "frame %llu differs from the pattern: %s",
				    (unsigned long long)pp.frame, why);
		double err = ((double)m->header.stamp.toNSec() -
			      ((double)pp.timestamp_ns + (double)offset)) /
			     1e3;
		if (err < 0)
			err = -err;
		if (err > max_error_us)
			max_error_us = err;
		if (err > a.tolerance_us)
			fail(i,
			     "frame %llu: stamp %.6f s is %.1f µs from its capture time on the "
			     "wall clock",
			     (unsigned long long)pp.frame, m->header.stamp.toSec(), err);
	}
};

int check(const args &a, ros::NodeHandle &nh)
{
	if (!a.fourcc || a.encoding.empty() || !a.count || a.topics.empty())
		die("check: --format, --encoding, --count and a TOPIC are needed");
	checker c{a, measure_offset(), std::vector<uint64_t>(a.topics.size()), 0, 0};
	std::vector<ros::Subscriber> subs;
	for (size_t i = 0; i < a.topics.size(); i++)
		subs.push_back(nh.subscribe<sensor_msgs::Image>(
		    a.topics[i], 100,
		    [&c, i](const sensor_msgs::ImageConstPtr &m) { c.on_message(i, m); }));
	uint64_t deadline = px_now_ns() + (uint64_t)(a.timeout * 1e9);
	for (;;) {
		ros::getGlobalCallbackQueue()->callAvailable(ros::WallDuration(0.01));
		bool done = true;
		for (uint64_t n : c.seen)
			done &= n >= a.count;
		if (done)
			break;
		if (px_now_ns() > deadline) {
			for (size_t i = 0; i < a.topics.size(); i++)
				fprintf(stderr, "ros_node: %s: %llu messages of %llu\n",
					a.topics[i].c_str(), (unsigned long long)c.seen[i],
					(unsigned long long)a.count);
			die("check: timed out after %.1f s", a.timeout);
		}
	}
	uint64_t total = 0;
	for (uint64_t n : c.seen)
		total += n;
	printf("checked: %llu messages on %zu topics, %llu bad; stamps within %.1f µs of the "
	       "capture time\n",
	       (unsigned long long)total, a.topics.size(), (unsigned long long)c.failures,
	       c.max_error_us);
	return c.failures ? 1 : 0;
}

// --- publish --------------------------------------------------------------

void wait_subscribers(std::vector<ros::Publisher> &pubs, double timeout)
{
	uint64_t deadline = px_now_ns() + (uint64_t)(timeout * 1e9);
	for (;;) {
		bool all = true;
		for (ros::Publisher &p : pubs)
			all &= p.getNumSubscribers() > 0;
		if (all)
			break;
		if (px_now_ns() > deadline)
			die("no subscriber on every topic within %.1f s", timeout);
		ros::WallDuration(0.01).sleep();
	}
}

void sleep_until(uint64_t t)
{
	struct timespec ts = {(time_t)(t / NS_PER_S), (long)(t % NS_PER_S)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR)
		;
}

int publish(const args &a, ros::NodeHandle &nh)
{
	if (!a.fourcc || a.encoding.empty() || !a.width || !a.count || a.topics.empty())
		die("publish: --format, --encoding, --size, --count and a TOPIC are needed");
	std::vector<ros::Publisher> pubs;
	for (const std::string &t : a.topics)
		pubs.push_back(nh.advertise<sensor_msgs::Image>(t, 100));
	wait_subscribers(pubs, a.timeout);
	int64_t offset = measure_offset();
	uint64_t period = (uint64_t)(1e9 / a.rate), next = px_now_ns();
	uint64_t sent = 0;
	for (uint64_t k = 1; k <= a.count && ros::ok(); k++, next += period) {
		sleep_until(next);
		uint64_t ts = px_now_ns();
		bool alone = a.unmatched_every && k % a.unmatched_every == 0;
		for (size_t i = 0; i < pubs.size(); i++) {
			if (alone && i > 0)
				continue;
			bool half = a.resize_at && k >= a.resize_at && i == pubs.size() - 1;
			uint32_t w = half ? (a.width + 1) / 2 : a.width;
			uint32_t h = half ? (a.height + 1) / 2 : a.height;
			px_image_layout probe = {};
			probe.fourcc = a.fourcc;
			probe.width = w;
			probe.height = h;
			probe.n_planes = px_format_get_info(a.fourcc)->n_planes;
			uint32_t step = (uint32_t)px_image_row_bytes(&probe, 0) + a.pad;
			uint64_t bytes;
			px_image_layout im = image_layout(a.fourcc, w, h, step, &bytes);
			sensor_msgs::Image m;
			m.header.stamp.fromNSec((uint64_t)((int64_t)ts + offset));
			m.header.frame_id = "ros_node" + std::to_string(i);
			m.width = w;
			m.height = h;
			m.encoding = a.encoding;
			m.step = step;
			m.data.assign(bytes, 0xa5); // the padding: never read
			void *planes[PX_MAX_PLANES] = {};
			for (uint32_t p = 0; p < im.n_planes; p++)
				planes[p] = m.data.data() + im.planes[p].offset;
			px_pattern_params pp = {k, (uint32_t)i, ts};
			if (px_pattern_draw(&im, planes, &pp))
				die("drawing frame %llu failed", (unsigned long long)k);
			pubs[i].publish(m);
			sent++;
		}
	}
	// Let roscpp's threads send what is queued.
	ros::WallDuration(0.5).sleep();
	printf("published: %llu messages, %llu frames\n", (unsigned long long)sent,
	       (unsigned long long)a.count);
	return 0;
}

// --- bench and sink --------------------------------------------------------

int bench(const args &a, ros::NodeHandle &nh)
{
	if (a.encoding.empty() || !a.width || !a.fourcc || a.topics.size() != 1 ||
	    !(a.duration > 0))
		die("bench: --format, --encoding, --size, --duration and a PREFIX are needed");
	std::vector<ros::Publisher> pubs;
	std::vector<sensor_msgs::Image> msgs(a.images);
	for (uint32_t i = 0; i < a.images; i++) {
		pubs.push_back(nh.advertise<sensor_msgs::Image>(
		    a.topics[0] + "/image" + std::to_string(i), 5));
		px_image_layout probe = {};
		probe.fourcc = a.fourcc;
		probe.width = a.width;
		probe.height = a.height;
		probe.n_planes = px_format_get_info(a.fourcc)->n_planes;
		uint32_t step = a.step ? a.step : (uint32_t)px_image_row_bytes(&probe, 0);
		uint64_t bytes;
		image_layout(a.fourcc, a.width, a.height, step, &bytes);
		msgs[i].width = a.width;
		msgs[i].height = a.height;
		msgs[i].encoding = a.encoding;
		msgs[i].step = step;
		msgs[i].header.frame_id = "bench" + std::to_string(i);
		msgs[i].data.assign(bytes, (uint8_t)(i * 37));
	}
	wait_subscribers(pubs, a.timeout);
	uint64_t period = (uint64_t)(1e9 / a.rate), start = px_now_ns(), next = start;
	uint64_t end = start + (uint64_t)(a.duration * 1e9), sets = 0;
	uint64_t cpu0 = process_cpu_ns();
	while (ros::ok() && next < end) {
		sleep_until(next);
		for (size_t i = 0; i < pubs.size(); i++) {
			msgs[i].header.stamp = ros::Time::now();
			pubs[i].publish(msgs[i]);
		}
		sets++;
		next += period;
	}
	uint64_t cpu = process_cpu_ns() - cpu0;
	printf("roscpp baseline: %llu sets of %u × %ux%u %s (%zu bytes each) in %.1f s; cpu "
	       "per set: %.1f µs in all (the process, roscpp's threads included)\n",
	       (unsigned long long)sets, a.images, a.width, a.height, a.encoding.c_str(),
	       msgs[0].data.size(), a.duration, sets ? (double)cpu / (double)sets / 1e3 : 0.0);
	return sets ? 0 : 1;
}

int sink(const args &a, ros::NodeHandle &nh)
{
	if (a.topics.empty() || !(a.duration > 0))
		die("sink: --duration and a TOPIC are needed");
	uint64_t n = 0, bytes = 0;
	std::vector<ros::Subscriber> subs;
	for (const std::string &t : a.topics)
		subs.push_back(nh.subscribe<sensor_msgs::Image>(
		    t, 5, [&n, &bytes](const sensor_msgs::ImageConstPtr &m) {
			    n++;
			    bytes += m->data.size();
		    }));
	uint64_t end = px_now_ns() + (uint64_t)(a.duration * 1e9);
	while (ros::ok() && px_now_ns() < end)
		ros::getGlobalCallbackQueue()->callAvailable(ros::WallDuration(0.05));
	printf("received: %llu messages, %llu bytes\n", (unsigned long long)n,
	       (unsigned long long)bytes);
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	setvbuf(stdout, nullptr, _IOLBF, 0);
	ros::init(argc, argv, "pixshare_test_node", ros::init_options::AnonymousName);
	args a = parse(argc, argv);
	if (!ros::master::check())
		die("no ROS master at %s", ros::master::getURI().c_str());
	ros::NodeHandle nh;
	int ret;
	if (a.mode == "check")
		ret = check(a, nh);
	else if (a.mode == "publish")
		ret = publish(a, nh);
	else if (a.mode == "bench")
		ret = bench(a, nh);
	else if (a.mode == "sink")
		ret = sink(a, nh);
	else
		die("unknown mode '%s'", a.mode.c_str());
	ros::shutdown();
	return ret;
}
