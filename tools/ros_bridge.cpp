// SPDX-License-Identifier: MIT
//
// pixshare-ros-bridge: `pixshare ros-bridge`, a bridge between a pixshare
// topic and ROS 1 sensor_msgs/Image topics (tools/ros_bridge_help.h says what
// it does). C++ because roscpp is; built only where roscpp and sensor_msgs
// are found. It shares the tool's helpers (tools/tool_util.c): messages,
// option values, signals, subscribing.
//
// Clocks: pixshare's timestamps are CLOCK_MONOTONIC; ROS time is the wall
// clock (CLOCK_REALTIME, unless /use_sim_time). The bridge measures
// CLOCK_REALTIME − CLOCK_MONOTONIC once at start and adds it (or, from ROS,
// takes it off): a step of the wall clock after that (settimeofday, an NTP
// step) is not followed, a slew is (both clocks are slewed alike).

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <deque>
#include <string>
#include <vector>

#include <ros/callback_queue.h>
#include <ros/ros.h>
#include <sensor_msgs/Image.h>
#include <sensor_msgs/image_encodings.h>

#include <pixshare/pixshare.h>

extern "C" {
#include "tools/tool_util.h"
}
#include "tools/ros_bridge_help.h"

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
// Longest wait between two looks at the stop flag and ros::ok().
#define MAX_WAIT_MS 200
// A refused ROS message is described this often per topic, then counted.
#define MAX_REFUSAL_REPORTS 3

enum {
	OPT_END = -1,
	OPT_DIR = 256,
	OPT_ROS_PREFIX,
	OPT_FRAME_ID,
	OPT_ROS_QUEUE,
	OPT_QOS,
	OPT_FROM_ROS,
	OPT_SYNC_QUEUE,
	OPT_ALLOCATOR,
	OPT_POOL,
	OPT_COUNT,
	OPT_DURATION,
	OPT_WAIT,
	OPT_QUIET,
};

namespace
{

struct options {
	const char *topic = nullptr;
	std::string prefix, frame_id;
	uint32_t ros_queue = 5;
	enum px_qos qos = PX_QOS_LATEST;
	uint32_t queue_depth = 0;
	std::vector<std::string> from_ros;
	uint32_t sync_queue = 10;
	enum px_allocator_type allocator = PX_ALLOCATOR_AUTO;
	uint32_t pool = 0;
	uint64_t count = 0, duration_ns = 0, wait_ns = 0;
	bool quiet = false;
};

// Which ROS encoding names the bytes of each pixshare format. DRM formats
// list their fields from the top bit of a little-endian word, so the bytes in
// memory come the other way round (include/pixshare/layout.h): RGB888 is B,
// G, R in memory, which ROS calls bgr8. X is sent as alpha (pixshare's own
// writers set it to 255); coming from ROS, rgba8 and bgra8 become the formats
// with alpha. Found first, going from ROS to pixshare, is the first entry
// of a name.
struct encoding {
	uint32_t fourcc;
	const char *name;
};
const encoding encodings[] = {
    {PX_FORMAT_R8, "mono8"},
    {PX_FORMAT_R16, "mono16"}, // little endian: is_bigendian 0
    {PX_FORMAT_BGR888, "rgb8"},
    {PX_FORMAT_RGB888, "bgr8"},
    {PX_FORMAT_ABGR8888, "rgba8"},
    {PX_FORMAT_ARGB8888, "bgra8"},
    {PX_FORMAT_XBGR8888, "rgba8"},
    {PX_FORMAT_XRGB8888, "bgra8"},
    {PX_FORMAT_UYVY, "yuv422"}, // sensor_msgs: "the UYVY version of YUV422"
    // Named in later sensor_msgs (YUV422_YUY2) and in ROS 2; Debian 12's
    // 1.13.1 predates it, so the name is written out.
    {PX_FORMAT_YUYV, "yuv422_yuy2"},
#ifdef PX_ROS_HAVE_NV12
    {PX_FORMAT_NV12, "nv12"}, // the Y plane, then the UV plane, both of `step`
#endif
};

const char *encoding_of(uint32_t fourcc)
{
	for (const encoding &e : encodings)
		if (e.fourcc == fourcc)
			return e.name;
	return nullptr;
}

bool fourcc_of(const std::string &name, uint32_t *fourcc)
{
	for (const encoding &e : encodings)
		if (name == e.name) {
			*fourcc = e.fourcc;
			return true;
		}
	return false;
}

// "mono8, mono16, …": each name once.
std::string known_encodings()
{
	std::string s;
	for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(encodings[j].name, encodings[i].name);
		if (!seen)
			s += std::string(s.empty() ? "" : ", ") + encodings[i].name;
	}
	return s;
}

// Bytes of an image's pixel rows, every plane.
uint64_t image_bytes(const px_image_layout *im)
{
	uint64_t n = 0;
	for (uint32_t p = 0; p < im->n_planes; p++)
		n += px_image_row_bytes(im, p) * px_image_plane_rows(im, p);
	return n;
}

// CLOCK_REALTIME − CLOCK_MONOTONIC in ns: the wall clock read between the
// closest of five pairs of monotonic reads.
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

uint64_t thread_cpu_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

// User + system time of the whole process: roscpp's threads too.
uint64_t process_cpu_ns()
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * NS_PER_S +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000;
}

// What both directions count, for the summary.
struct totals {
	uint64_t sets = 0, images = 0, copies = 0, copy_bytes = 0;
	uint64_t copy_cpu_ns = 0;    // the copies into (or out of) messages
	uint64_t publish_cpu_ns = 0; // ros::Publisher::publish (serialising) or px publish
	uint64_t cpu_start_ns = 0;   // the process's CPU time at the first set
	uint64_t first_ns = 0, last_ns = 0;
};

void print_totals(const char *what, const totals &t)
{
	char bytes[64];
	printf("%s: %llu sets, %llu images", what, (unsigned long long)t.sets,
	       (unsigned long long)t.images);
	if (t.sets > 1 && t.last_ns > t.first_ns)
		printf(" in %.3f s (%.2f Hz)", ns_to_s(t.last_ns - t.first_ns),
		       (double)(t.sets - 1) * 1e9 / (double)(t.last_ns - t.first_ns));
	printf("\n");
	printf("copies: %llu (one per image), %s\n", (unsigned long long)t.copies,
	       bytes_name(t.copy_bytes, bytes, sizeof(bytes)));
	if (!t.sets)
		return;
	uint64_t cpu = process_cpu_ns() - t.cpu_start_ns;
	double n = (double)t.sets;
	printf("cpu per set: %.1f µs in all (the process, roscpp's threads included: %.3f s "
	       "over %llu sets), of which copying %.1f µs and publishing %.1f µs (the "
	       "bridge's thread)\n",
	       (double)cpu / n / 1e3, ns_to_s(cpu), (unsigned long long)t.sets,
	       (double)t.copy_cpu_ns / n / 1e3, (double)t.publish_cpu_ns / n / 1e3);
}

// The ROS topic name of image i: PREFIX/image<i>.
std::string image_topic(const options &o, uint32_t i)
{
	std::string p = o.prefix;
	while (p.size() > 1 && p.back() == '/')
		p.pop_back();
	return p + (p == "/" ? "" : "/") + "image" + std::to_string(i);
}

std::string frame_id_of(const options &o, uint32_t i)
{
	std::string id = o.frame_id;
	size_t at = id.find("{i}");
	if (at == std::string::npos)
		return id + std::to_string(i);
	return id.replace(at, 3, std::to_string(i));
}

bool stop_asked()
{
	return stop_signal || !ros::ok();
}

// --- pixshare → ROS -------------------------------------------------------

struct image_out {
	ros::Publisher pub;
	sensor_msgs::Image msg;
};

// Copies image i of `f` into `m.data` (`step` bytes a row: the stride of its
// first plane; the planes one after another, as ROS lays out NV12). One
// memcpy per plane where its rows lie in its buffer at `step`, else row by
// row.
void copy_image(const px_frame *f, uint32_t i, sensor_msgs::Image &m)
{
	const px_image_layout *im = &f->layout->images[i];
	uint64_t step = im->planes[0].stride, total = 0;
	for (uint32_t p = 0; p < im->n_planes; p++)
		total += step * px_image_plane_rows(im, p);
	m.data.resize(total);
	uint8_t *dst = m.data.data();
	for (uint32_t p = 0; p < im->n_planes; p++) {
		const px_plane *pl = &im->planes[p];
		const uint8_t *src = static_cast<const uint8_t *>(px_frame_plane(f, i, p));
		uint32_t rows = px_image_plane_rows(im, p);
		uint64_t row = px_image_row_bytes(im, p);
		if (pl->stride == step && pl->offset + step * rows <= f->buffers[pl->buffer].size) {
			memcpy(dst, src, step * rows);
		} else {
			for (uint32_t r = 0; r < rows; r++)
				memcpy(dst + r * step, src + r * (uint64_t)pl->stride, row);
		}
		dst += step * rows;
	}
}

// Checks that every image of the layout can be a sensor_msgs/Image; says why
// not.
bool check_layout(const px_set_layout *l, const char *topic, bool unmapped)
{
	if (unmapped) {
		tool_error("'%s': its buffers have no CPU mapping here (device memory): they "
			   "cannot be copied into ROS messages",
			   topic);
		return false;
	}
	for (uint32_t i = 0; i < l->n_images; i++) {
		const px_image_layout *im = &l->images[i];
		char name[32];
		px_format_name(im->fourcc, name, sizeof(name));
		if (im->modifier != PX_MODIFIER_LINEAR && im->modifier != PX_MODIFIER_INVALID) {
			tool_error("'%s': image %u (%s) has a tiled layout (modifier 0x%llx): ROS "
				   "images are linear",
				   topic, i, name, (unsigned long long)im->modifier);
			return false;
		}
		if (!encoding_of(im->fourcc)) {
			const char *why =
			    im->fourcc == PX_FORMAT_NV12
				? "this build's sensor_msgs (" PX_ROS_SENSOR_MSGS_VERSION
				  ") has no NV12 encoding"
				: "sensor_msgs/Image has no encoding for it";
			tool_error("'%s': image %u is %s: %s; ROS images can be %s", topic, i, name,
				   why, known_encodings().c_str());
			return false;
		}
		for (uint32_t p = 1; p < im->n_planes; p++)
			if (im->planes[p].stride > im->planes[0].stride) {
				tool_error("'%s': image %u (%s): plane %u's stride %u is above "
					   "plane 0's %u, which ROS's one `step` must hold",
					   topic, i, name, p, im->planes[p].stride,
					   im->planes[0].stride);
				return false;
			}
	}
	return true;
}

int to_ros(const options &o, ros::NodeHandle &nh, int64_t offset)
{
	px_subscriber *sub;
	if (subscribe(o.topic, o.qos, o.queue_depth, 0, o.wait_ns, &sub))
		return EXIT_FAIL;
	px_topic_info info;
	px_subscriber_get_topic_info(sub, &info);
	const px_set_layout *l = px_subscriber_get_layout(sub);
	if (!l || !check_layout(l, o.topic, info.unmapped)) {
		if (!l)
			tool_error("'%s': the publisher went away", o.topic);
		px_subscriber_destroy(sub);
		return EXIT_FAIL;
	}
	px_set_layout layout = *l;
	std::vector<image_out> out(layout.n_images);
	for (uint32_t i = 0; i < layout.n_images; i++) {
		const px_image_layout *im = &layout.images[i];
		out[i].pub = nh.advertise<sensor_msgs::Image>(image_topic(o, i), o.ros_queue);
		sensor_msgs::Image &m = out[i].msg;
		m.header.frame_id = frame_id_of(o, i);
		m.width = im->width;
		m.height = im->height;
		m.encoding = encoding_of(im->fourcc);
		m.is_bigendian = 0;
		m.step = im->planes[0].stride;
	}
	if (!o.quiet) {
		char summary[256];
		fprintf(stderr, "ros-bridge %s: %s → %s … %s\n", o.topic,
			layout_summary(&layout, summary, sizeof(summary)),
			image_topic(o, 0).c_str(), image_topic(o, layout.n_images - 1).c_str());
	}

	totals t;
	drops d = {};
	uint64_t no_subscriber = 0, absent = 0;
	uint64_t start = px_now_ns(), end = o.duration_ns ? start + o.duration_ns : UINT64_MAX;
	uint64_t report = start + NS_PER_S;
	int ret = 0;
	while (!stop_asked() && (!o.count || t.sets < o.count)) {
		uint64_t now = px_now_ns();
		if (now >= end)
			break;
		if (now >= report && !o.quiet) {
			fprintf(stderr, "ros-bridge %s: %llu sets, %llu images to ROS\n", o.topic,
				(unsigned long long)t.sets, (unsigned long long)t.images);
			report += NS_PER_S;
		}
		px_frame *f;
		uint64_t deadline = now + MAX_WAIT_MS * NS_PER_MS;
		ret = wait_frame(sub, deadline < end ? deadline : end, &f);
		if (ret == -ETIMEDOUT)
			continue;
		if (ret)
			break;
		if (!t.sets++) {
			t.cpu_start_ns = process_cpu_ns();
			t.first_ns = f->receive_ns;
		}
		t.last_ns = f->receive_ns;
		drops_count(&d, f);
		for (uint32_t i = 0; i < layout.n_images; i++) {
			if (!(f->valid_mask & (1u << i))) {
				absent++;
				continue;
			}
			if (!out[i].pub.getNumSubscribers()) {
				no_subscriber++;
				continue;
			}
			sensor_msgs::Image &m = out[i].msg;
			uint64_t ts =
			    f->images[i].timestamp_ns ? f->images[i].timestamp_ns : f->publish_ns;
			// (header.seq is not ours to set: roscpp writes its own count
			// into every message with a header it publishes.)
			m.header.stamp.fromNSec((uint64_t)((int64_t)ts + offset));
			uint64_t c0 = thread_cpu_ns();
			copy_image(f, i, m);
			uint64_t c1 = thread_cpu_ns();
			out[i].pub.publish(m);
			uint64_t c2 = thread_cpu_ns();
			t.copy_cpu_ns += c1 - c0;
			t.publish_cpu_ns += c2 - c1;
			t.copies++;
			t.copy_bytes += m.data.size();
			t.images++;
		}
		px_frame_release(f);
	}
	ret = o.count && t.sets >= o.count ? 0 : receive_end(ret);
	print_totals("to ROS", t);
	printf("not copied: %llu images while their ROS topic had no subscriber, %llu absent "
	       "from their set\n",
	       (unsigned long long)no_subscriber, (unsigned long long)absent);
	drops_print(&d, sub);
	px_subscriber_destroy(sub);
	return ret ? EXIT_FAIL : EXIT_SUCCESS;
}

// --- ROS → pixshare -------------------------------------------------------

struct ros_in {
	std::string name;
	ros::Subscriber sub;
	std::deque<sensor_msgs::ImageConstPtr> queue;
	uint64_t received = 0, unmatched = 0, refused = 0, changed = 0;
};

class from_ros_bridge
{
      public:
	from_ros_bridge(const options &o, int64_t offset)
	    : o_(o), offset_(offset), in_(o.from_ros.size())
	{
	}
	~from_ros_bridge()
	{
		px_publisher_destroy(pub_);
	}
	int run(ros::NodeHandle &nh);

      private:
	void on_message(size_t k, const sensor_msgs::ImageConstPtr &m);
	bool valid(size_t k, const sensor_msgs::Image &m, uint32_t *fourcc);
	void refuse(size_t k, uint64_t &counter, const char *fmt, ...) PX_PRINTF(4, 5);
	void publish_set(const std::vector<sensor_msgs::ImageConstPtr> &set);
	bool create_publisher(const std::vector<sensor_msgs::ImageConstPtr> &set);

	const options &o_;
	int64_t offset_;
	std::vector<ros_in> in_;
	px_publisher *pub_ = nullptr;
	px_set_layout layout_ = {};
	totals t_;
	uint64_t slot_timeouts_ = 0, early_stamps_ = 0;
	int failed_ = 0;
};

void from_ros_bridge::refuse(size_t k, uint64_t &counter, const char *fmt, ...)
{
	if (counter++ >= MAX_REFUSAL_REPORTS)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tool_error("%s: %s%s", in_[k].name.c_str(), msg,
		   counter == MAX_REFUSAL_REPORTS ? " (further ones only counted)" : "");
}

// A message from a ROS peer, checked before its bytes are read.
bool from_ros_bridge::valid(size_t k, const sensor_msgs::Image &m, uint32_t *fourcc)
{
	if (!fourcc_of(m.encoding, fourcc)) {
		refuse(k, in_[k].refused, "encoding '%.64s' refused: pixshare takes %s",
		       m.encoding.c_str(), known_encodings().c_str());
		return false;
	}
	if (*fourcc == PX_FORMAT_R16 && m.is_bigendian) {
		refuse(k, in_[k].refused,
		       "big-endian mono16 refused: pixshare's R16 is little "
		       "endian");
		return false;
	}
	if (m.width < 1 || m.width > 16384 || m.height < 1 || m.height > 16384) {
		refuse(k, in_[k].refused, "size %ux%u refused: 1 to 16384 a side", m.width,
		       m.height);
		return false;
	}
	px_cpu_image img = {};
	img.fourcc = *fourcc;
	img.width = m.width;
	img.height = m.height;
	const px_format_info *fi = px_format_get_info(*fourcc);
	for (uint32_t p = 0; p < fi->n_planes; p++)
		img.strides[p] = m.step;
	uint64_t need = px_cpu_image_size(&img);
	if (!need) {
		refuse(k, in_[k].refused, "step %u refused: below a row's bytes of %ux%u %s",
		       m.step, m.width, m.height, m.encoding.c_str());
		return false;
	}
	if (m.data.size() < need) {
		refuse(k, in_[k].refused,
		       "%zu bytes of data refused: %ux%u %s at step %u takes %llu", m.data.size(),
		       m.width, m.height, m.encoding.c_str(), m.step, (unsigned long long)need);
		return false;
	}
	return true;
}

void from_ros_bridge::on_message(size_t k, const sensor_msgs::ImageConstPtr &m)
{
	ros_in &in = in_[k];
	uint32_t fourcc;
	in.received++;
	if (!valid(k, *m, &fourcc))
		return;
	in.queue.push_back(m);
	if (in.queue.size() > o_.sync_queue) {
		in.queue.pop_front();
		in.unmatched++;
	}
	// A set: a message of this stamp on every topic.
	const ros::Time stamp = m->header.stamp;
	std::vector<sensor_msgs::ImageConstPtr> set(in_.size());
	for (size_t j = 0; j < in_.size(); j++) {
		for (const auto &q : in_[j].queue)
			if (q->header.stamp == stamp) {
				set[j] = q;
				break;
			}
		if (!set[j])
			return;
	}
	// Whatever is older than the set on any topic will never be matched.
	for (ros_in &r : in_)
		while (!r.queue.empty() && r.queue.front()->header.stamp <= stamp) {
			if (r.queue.front()->header.stamp < stamp)
				r.unmatched++;
			r.queue.pop_front();
		}
	publish_set(set);
}

bool from_ros_bridge::create_publisher(const std::vector<sensor_msgs::ImageConstPtr> &set)
{
	px_image_desc descs[PX_MAX_IMAGES] = {};
	for (size_t i = 0; i < set.size(); i++) {
		fourcc_of(set[i]->encoding, &descs[i].fourcc);
		descs[i].width = set[i]->width;
		descs[i].height = set[i]->height;
	}
	tool_capture_begin();
	int ret =
	    px_layout_init_packed(&layout_, (uint32_t)set.size(), descs, 64, PX_PACK_PER_IMAGE);
	const char *why = tool_capture_end(ret);
	if (ret) {
		tool_error("the first set's layout: %s", why);
		return false;
	}
	px_publisher_params p = {};
	p.topic = o_.topic;
	p.dir = topic_dir;
	p.layout = &layout_;
	p.allocator = o_.allocator;
	p.pool_size = o_.pool;
	p.description = "pixshare ros-bridge";
	tool_capture_begin();
	ret = px_publisher_create(&p, &pub_);
	why = tool_capture_end(ret);
	if (ret) {
		tool_error("cannot publish '%s': %s", o_.topic, why);
		return false;
	}
	if (!o_.quiet) {
		char summary[256];
		fprintf(stderr, "ros-bridge %s: publishing %s from %zu ROS topic%s, %s\n", o_.topic,
			layout_summary(&layout_, summary, sizeof(summary)), set.size(),
			set.size() == 1 ? "" : "s",
			px_allocator_name(px_publisher_get_allocator(pub_)));
	}
	return true;
}

void from_ros_bridge::publish_set(const std::vector<sensor_msgs::ImageConstPtr> &set)
{
	if (failed_)
		return;
	if (!t_.sets) {
		t_.cpu_start_ns = process_cpu_ns();
		t_.first_ns = px_now_ns();
	}
	if (!pub_ && !create_publisher(set)) {
		failed_ = EXIT_FAIL;
		return;
	}
	for (size_t i = 0; i < set.size(); i++) {
		const px_image_layout *im = &layout_.images[i];
		// (Every message of a set passed valid(): its encoding is known.)
		uint32_t fourcc = 0;
		fourcc_of(set[i]->encoding, &fourcc);
		if (fourcc != im->fourcc || set[i]->width != im->width ||
		    set[i]->height != im->height) {
			refuse(i, in_[i].changed,
			       "%ux%u %s refused: the layout of '%s' (from its first set) has "
			       "%ux%u %s here, and does not change; set dropped",
			       set[i]->width, set[i]->height, set[i]->encoding.c_str(), o_.topic,
			       im->width, im->height, encoding_of(im->fourcc));
			return;
		}
	}
	px_slot *slot;
	int ret = px_publisher_acquire(pub_, 100, &slot);
	if (ret == -EAGAIN) {
		slot_timeouts_++;
		return;
	}
	if (ret) {
		tool_error("acquire: %s", px_strerror(ret));
		failed_ = EXIT_FAIL;
		return;
	}
	px_publish_info info = {};
	uint64_t c0 = thread_cpu_ns();
	for (size_t i = 0; i < set.size(); i++) {
		const sensor_msgs::Image &m = *set[i];
		px_cpu_image img = {};
		img.fourcc = layout_.images[i].fourcc;
		img.width = m.width;
		img.height = m.height;
		void *planes[PX_MAX_PLANES] = {};
		for (uint32_t p = 0; p < layout_.images[i].n_planes; p++) {
			img.strides[p] = m.step;
			planes[p] = px_slot_plane(slot, (uint32_t)i, p);
		}
		// Not written through: px_image_write() only reads the source.
		img.planes[0] = const_cast<uint8_t *>(m.data.data());
		tool_capture_begin();
		ret = px_image_write(&layout_.images[i], planes, &img, 0);
		const char *why = tool_capture_end(ret);
		if (ret) {
			tool_error("%s: copying into the slot: %s", in_[i].name.c_str(), why);
			px_publisher_cancel(pub_, slot);
			failed_ = EXIT_FAIL;
			return;
		}
		int64_t ns = (int64_t)m.header.stamp.toNSec() - offset_;
		if (ns < 0) {
			// Before this machine booted: simulated time, or another
			// machine's clock.
			if (!early_stamps_++)
				tool_error("%s: header.stamp %.3f s is before this machine's "
					   "boot on the wall clock: its timestamp is set to 0",
					   in_[i].name.c_str(), m.header.stamp.toSec());
			ns = 0;
		}
		info.images[i].timestamp_ns = (uint64_t)ns;
		info.images[i].sequence = m.header.seq;
		t_.copies++;
		t_.copy_bytes += image_bytes(&layout_.images[i]);
	}
	uint64_t c1 = thread_cpu_ns();
	ret = px_publisher_publish(pub_, slot, &info);
	uint64_t c2 = thread_cpu_ns();
	if (ret) {
		tool_error("publish: %s", px_strerror(ret));
		failed_ = EXIT_FAIL;
		return;
	}
	t_.copy_cpu_ns += c1 - c0;
	t_.publish_cpu_ns += c2 - c1;
	t_.images += set.size();
	t_.last_ns = px_now_ns();
	t_.sets++;
}

int from_ros_bridge::run(ros::NodeHandle &nh)
{
	for (size_t k = 0; k < in_.size(); k++) {
		in_[k].name = ros::names::resolve(o_.from_ros[k]);
		in_[k].sub = nh.subscribe<sensor_msgs::Image>(
		    o_.from_ros[k], o_.ros_queue,
		    [this, k](const sensor_msgs::ImageConstPtr &m) { on_message(k, m); });
	}
	if (!o_.quiet)
		fprintf(stderr, "ros-bridge %s: waiting for sets from %s%s\n", o_.topic,
			in_[0].name.c_str(), in_.size() > 1 ? " …" : "");
	uint64_t start = px_now_ns(), end = o_.duration_ns ? start + o_.duration_ns : UINT64_MAX;
	uint64_t report = start + NS_PER_S;
	ros::CallbackQueue *queue = ros::getGlobalCallbackQueue();
	while (!stop_asked() && !failed_ && (!o_.count || t_.sets < o_.count)) {
		uint64_t now = px_now_ns();
		if (now >= end)
			break;
		if (now >= report && !o_.quiet) {
			fprintf(stderr, "ros-bridge %s: %llu sets from ROS\n", o_.topic,
				(unsigned long long)t_.sets);
			report += NS_PER_S;
		}
		// The callbacks run here, in this thread: the publisher is used
		// by this thread alone.
		queue->callAvailable(ros::WallDuration(0.01));
		if (pub_ && px_publisher_dispatch(pub_, 0) < 0) {
			tool_error("serving subscribers failed");
			failed_ = EXIT_FAIL;
		}
	}
	if (stop_signal && !o_.quiet)
		fprintf(stderr, "ros-bridge %s: stopped by signal %d\n", o_.topic,
			(int)stop_signal);
	// Sets still queued for subscribers at their lease limit go out before
	// the publisher does, as with pub-test and play.
	struct drain undelivered = {};
	if (pub_)
		publisher_drain(pub_, failed_ ? 0 : DRAIN_NS, &undelivered);
	if (pub_)
		px_publisher_dispatch(pub_, 0);
	print_totals("from ROS", t_);
	print_undelivered(&undelivered);
	for (const ros_in &r : in_)
		printf("%s: %llu messages, %llu without a partner of their stamp, %llu refused, "
		       "%llu of another size or encoding\n",
		       r.name.c_str(), (unsigned long long)r.received,
		       (unsigned long long)r.unmatched, (unsigned long long)r.refused,
		       (unsigned long long)r.changed);
	printf("sets dropped: %llu (no free slot within 100 ms)\n",
	       (unsigned long long)slot_timeouts_);
	return failed_;
}

// --- the command line -----------------------------------------------------

void print_help()
{
	printf("usage: pixshare ros-bridge [OPTIONS] " ROS_BRIDGE_ARGS "\n\n" ROS_BRIDGE_SUMMARY
	       "\n\noptions:\n" ROS_BRIDGE_HELP
	       "  --dir DIR            directory of the topics (default: $PIXSHARE_DIR, else\n"
	       "                       $XDG_RUNTIME_DIR/pixshare, else /tmp/pixshare-UID)\n"
	       "  -h, --help           show this help\n");
}

// 0 and `o`, 1 after --help, or -1 (said).
int parse(int argc, char **argv, options &o)
{
	static const struct option opts[] = {
	    {"ros-prefix", required_argument, nullptr, OPT_ROS_PREFIX},
	    {"frame-id", required_argument, nullptr, OPT_FRAME_ID},
	    {"ros-queue", required_argument, nullptr, OPT_ROS_QUEUE},
	    {"qos", required_argument, nullptr, OPT_QOS},
	    {"from-ros", required_argument, nullptr, OPT_FROM_ROS},
	    {"sync-queue", required_argument, nullptr, OPT_SYNC_QUEUE},
	    {"allocator", required_argument, nullptr, OPT_ALLOCATOR},
	    {"pool", required_argument, nullptr, OPT_POOL},
	    {"count", required_argument, nullptr, OPT_COUNT},
	    {"duration", required_argument, nullptr, OPT_DURATION},
	    {"wait", required_argument, nullptr, OPT_WAIT},
	    {"quiet", no_argument, nullptr, OPT_QUIET},
	    {"dir", required_argument, nullptr, OPT_DIR},
	    {"help", no_argument, nullptr, 'h'},
	    {nullptr, 0, nullptr, 0},
	};
	bool prefix = false, frame_id = false, from_only = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, nullptr)) != -1) {
		switch (c) {
		case 'h':
			print_help();
			return 1;
		case ':':
			tool_error("option '%s' needs a value", argv[optind - 1]);
			return -1;
		case '?':
			if (optopt)
				tool_error(
				    "unknown option '-%c' (see 'pixshare ros-bridge --help')",
				    optopt);
			else
				tool_error("unknown option '%s' (see 'pixshare ros-bridge --help')",
					   argv[optind - 1]);
			return -1;
		case OPT_DIR:
			if (!optarg[0]) {
				tool_error("--dir: empty directory name");
				return -1;
			}
			topic_dir = optarg;
			break;
		case OPT_ROS_PREFIX:
			o.prefix = optarg;
			prefix = true;
			break;
		case OPT_FRAME_ID:
			o.frame_id = optarg;
			frame_id = true;
			break;
		case OPT_FROM_ROS:
			if (o.from_ros.size() == PX_MAX_IMAGES) {
				tool_error("--from-ros: at most %d topics", PX_MAX_IMAGES);
				return -1;
			}
			o.from_ros.push_back(optarg);
			break;
		case OPT_QUIET:
			o.quiet = true;
			break;
		case OPT_ROS_QUEUE:
			if (parse_u32("--ros-queue", optarg, 1, 10000, &o.ros_queue))
				return -1;
			break;
		case OPT_QOS:
			if (parse_qos("--qos", optarg, &o.qos, &o.queue_depth))
				return -1;
			break;
		case OPT_SYNC_QUEUE:
			from_only = true;
			if (parse_u32("--sync-queue", optarg, 1, 1000, &o.sync_queue))
				return -1;
			break;
		case OPT_ALLOCATOR:
			from_only = true;
			if (parse_allocator("--allocator", optarg, &o.allocator))
				return -1;
			break;
		case OPT_POOL:
			from_only = true;
			if (parse_u32("--pool", optarg, 3, PX_MAX_SLOTS, &o.pool))
				return -1;
			break;
		case OPT_COUNT:
			if (parse_u64("--count", optarg, 1, UINT64_MAX, &o.count))
				return -1;
			break;
		case OPT_DURATION:
			if (parse_seconds("--duration", optarg, &o.duration_ns))
				return -1;
			break;
		case OPT_WAIT:
			if (parse_seconds("--wait", optarg, &o.wait_ns))
				return -1;
			break;
		}
	}
	if (optind >= argc) {
		tool_error("missing TOPIC (see 'pixshare ros-bridge --help')");
		return -1;
	}
	if (argc - optind > 1) {
		tool_error("unexpected argument '%s' (see 'pixshare ros-bridge --help')",
			   argv[optind + 1]);
		return -1;
	}
	o.topic = argv[optind];
	if (o.from_ros.empty() && from_only) {
		tool_error("--sync-queue, --allocator and --pool are for --from-ros only");
		return -1;
	}
	if (!o.from_ros.empty() && (prefix || frame_id)) {
		tool_error("--ros-prefix and --frame-id are for the way to ROS, not --from-ros");
		return -1;
	}
	if (!prefix)
		o.prefix = std::string("/") + o.topic;
	if (!frame_id)
		o.frame_id = o.topic;
	// ROS names: letters, digits, '_' and '/', starting with a letter, '/'
	// or '~' (ros::names::validate, which ros::init makes usable).
	std::string why;
	for (const std::string &n : o.from_ros)
		if (!ros::names::validate(n, why)) {
			tool_error("--from-ros: '%s' is no ROS name: %s", n.c_str(), why.c_str());
			return -1;
		}
	if (o.from_ros.empty() && !ros::names::validate(image_topic(o, 0), why)) {
		if (prefix)
			tool_error("--ros-prefix: '%s' makes no ROS name: %s", o.prefix.c_str(),
				   why.c_str());
		else
			tool_error("'%s' makes no ROS name (give --ros-prefix): %s", o.topic,
				   why.c_str());
		return -1;
	}
	return 0;
}

bool wait_master(const options &o)
{
	uint64_t deadline = px_now_ns() + o.wait_ns;
	while (!ros::master::check()) {
		if (stop_signal || px_now_ns() >= deadline) {
			tool_error("no ROS master at %s (start roscore, or set ROS_MASTER_URI)",
				   ros::master::getURI().c_str());
			return false;
		}
		struct timespec ts = {0, 100 * (long)NS_PER_MS};
		nanosleep(&ts, nullptr);
	}
	return true;
}

} // namespace

int main(int argc, char **argv)
{
	setvbuf(stdout, nullptr, _IOLBF, 0);
	tool_command = "ros-bridge";
	tool_log_init();
	options o;
	int status;
	try {
		// Takes ROS's own arguments (remappings) out of argv. The stop
		// signals are the tool's: no SIGINT handler of roscpp's.
		ros::init(argc, argv, "pixshare_ros_bridge",
			  ros::init_options::AnonymousName | ros::init_options::NoSigintHandler);
		int ret = parse(argc, argv, o);
		if (ret)
			return ret > 0 ? EXIT_SUCCESS : EXIT_USAGE;
		ros::console::set_logger_level(ROSCONSOLE_DEFAULT_NAME, ros::console::levels::Warn);
		catch_stop_signals();
		if (!wait_master(o))
			return EXIT_FAIL;
		// roscpp's threads start with the node handle: they inherit a
		// mask without the stop signals, which then wake this thread.
		sigset_t stop, old;
		sigemptyset(&stop);
		sigaddset(&stop, SIGINT);
		sigaddset(&stop, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &stop, &old);
		ros::NodeHandle nh;
		pthread_sigmask(SIG_SETMASK, &old, nullptr);
		bool sim = false;
		if (ros::param::get("/use_sim_time", sim) && sim)
			tool_error("warning: /use_sim_time is set, but the stamps are the wall "
				   "clock's");
		int64_t offset = measure_offset();
		if (o.from_ros.empty()) {
			status = to_ros(o, nh, offset);
		} else {
			from_ros_bridge b(o, offset);
			status = b.run(nh);
		}
		ros::shutdown();
	} catch (const ros::Exception &e) {
		tool_error("ROS: %s", e.what());
		return EXIT_FAIL;
	} catch (const std::exception &e) {
		tool_error("%s", e.what());
		return EXIT_FAIL;
	}
	if (fflush(stdout) || ferror(stdout)) {
		tool_error("writing the output: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return status;
}
