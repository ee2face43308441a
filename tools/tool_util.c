/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/tool_util.h"

#define MAX_SIDE 16384

#define NS_PER_MS 1000000ull
#define NS_PER_US 1000.0
/* Longest wait between two looks at the stop flag. */
#define MAX_WAIT_MS 200
#define MIN(a, b) ((a) < (b) ? (a) : (b))

const char *tool_command;
const char *topic_dir;
int64_t publisher_uid = -1;
uint32_t subscriber_spin_us;
volatile sig_atomic_t stop_signal;

static bool capturing;
static char captured[512];

void tool_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (tool_command)
		fprintf(stderr, "pixshare: %s: ", tool_command);
	else
		fputs("pixshare: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void print_log(enum px_log_level level, const char *msg)
{
	static const char *const names[] = {"", "error", "warning", "info", "debug"};
	fflush(stdout);
	fprintf(stderr, "pixshare: %s: %s\n", level <= PX_LOG_DEBUG ? names[level] : "log", msg);
}

static void log_handler(void *userdata, enum px_log_level level, const char *msg)
{
	if (level != PX_LOG_ERROR || !capturing) {
		print_log(level, msg);
		return;
	}
	size_t len = strlen(captured);
	if (len + 3 >= sizeof(captured))
		return;
	snprintf(captured + len, sizeof(captured) - len, "%s%s", len ? "; " : "", msg);
}

void tool_log_init(void)
{
	/* Keep the level the library took from PIXSHARE_LOG. */
	px_log_set_handler(log_handler, NULL, px_log_get_level());
}

void tool_capture_begin(void)
{
	capturing = true;
	captured[0] = '\0';
}

const char *tool_capture_end(int err)
{
	capturing = false;
	if (err < 0)
		return captured[0] ? captured : px_strerror(err);
	if (captured[0])
		print_log(PX_LOG_ERROR, captured);
	captured[0] = '\0';
	return "";
}

/* strtoull accepts signs and leading blanks; option values must not have them. */
static int parse_unsigned(const char *opt, const char *s, uint64_t *out)
{
	char *end;

	if (!s[0] || s[0] < '0' || s[0] > '9') {
		tool_error("%s: '%s' is not a number", opt, s);
		return -1;
	}
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end) {
		tool_error("%s: '%s' is not a number", opt, s);
		return -1;
	}
	if (errno == ERANGE) {
		tool_error("%s: '%s' is too large", opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (parse_unsigned(opt, s, &v))
		return -1;
	if (v < min || v > max) {
		tool_error("%s: %s is out of range (%llu to %llu)", opt, s, (unsigned long long)min,
			   (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(opt, s, min, max, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int parse_double(const char *opt, const char *s, double min, double max, double *out)
{
	char *end;

	/* Plain decimals, signed: no spaces, '+', hex, inf or nan. */
	const char *d = s[0] == '-' ? s + 1 : s;
	if (!d[0] || !((d[0] >= '0' && d[0] <= '9') || d[0] == '.')) {
		tool_error("%s: '%s' is not a number", opt, s);
		return -1;
	}
	errno = 0;
	double v = strtod(s, &end);
	if (*end || errno == ERANGE || !isfinite(v)) {
		tool_error("%s: '%s' is not a number", opt, s);
		return -1;
	}
	if (v < min || v > max) {
		tool_error("%s: %s is out of range (%.10g to %.10g)", opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_seconds(const char *opt, const char *s, uint64_t *out_ns)
{
	double v;

	if (parse_double(opt, s, 0.001, 365.0 * 24 * 3600, &v))
		return -1;
	*out_ns = (uint64_t)(v * 1e9 + 0.5);
	return 0;
}

int parse_size(const char *opt, const char *s, uint32_t *w, uint32_t *h)
{
	const char *x = strpbrk(s, "xX");
	char width[24];

	if (!x || (size_t)(x - s) >= sizeof(width) || x == s || !x[1]) {
		tool_error("%s: '%s' is not a size WIDTHxHEIGHT, e.g. 1280x800", opt, s);
		return -1;
	}
	memcpy(width, s, (size_t)(x - s));
	width[x - s] = '\0';
	char what[64];
	snprintf(what, sizeof(what), "%s width", opt);
	if (parse_u32(what, width, 1, MAX_SIDE, w))
		return -1;
	snprintf(what, sizeof(what), "%s height", opt);
	if (parse_u32(what, x + 1, 1, MAX_SIDE, h))
		return -1;
	return 0;
}

int parse_format(const char *opt, const char *s, uint32_t *fourcc)
{
	uint32_t list[64];
	char all[64 * 18] = "", name[24];

	if (px_format_from_name(s, fourcc) == 0 && px_format_get_info(*fourcc))
		return 0;
	size_t n = px_format_list(list, ARRAY_SIZE(list));
	for (size_t i = 0; i < n && i < ARRAY_SIZE(list); i++) {
		size_t len = strlen(all);
		snprintf(all + len, sizeof(all) - len, "%s%s", i ? ", " : "",
			 px_format_name(list[i], name, sizeof(name)));
	}
	tool_error("%s: unknown format '%s'; supported: %s", opt, s, all);
	return -1;
}

int parse_qos(const char *opt, const char *s, enum px_qos *qos, uint32_t *queue_depth)
{
	*queue_depth = 0;
	if (!strcmp(s, "latest")) {
		*qos = PX_QOS_LATEST;
		return 0;
	}
	if (!strcmp(s, "reliable")) {
		*qos = PX_QOS_RELIABLE;
		return 0;
	}
	if (!strncmp(s, "queue:", 6)) {
		*qos = PX_QOS_QUEUE;
		return parse_u32(opt, s + 6, 1, PX_MAX_SLOTS, queue_depth);
	}
	tool_error("%s: unknown QoS '%s'; use latest, queue:N or reliable", opt, s);
	return -1;
}

int parse_allocator(const char *opt, const char *s, enum px_allocator_type *type)
{
	if (px_allocator_from_name(s, type) == 0)
		return 0;
	enum px_allocator_type all[16];
	size_t n = px_allocator_list(all, 16);
	char names[160] = "auto";
	for (size_t i = 0; i < n && i < 16; i++) {
		size_t len = strlen(names);
		snprintf(names + len, sizeof(names) - len, ", %s", px_allocator_name(all[i]));
	}
	tool_error("%s: unknown allocator '%s'; this build has %s", opt, s, names);
	return -1;
}

int samples_add(struct samples *s, uint64_t x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return 0;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void samples_sort(struct samples *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), compare_u64);
}

uint64_t samples_percentile(const struct samples *s, double p)
{
	if (!s->n)
		return 0;
	double rank = ceil(p / 100.0 * (double)s->n);
	size_t i = rank < 1 ? 0 : (size_t)rank - 1;
	return s->v[i < s->n ? i : s->n - 1];
}

void samples_finish(struct samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

const char *modifier_name(uint64_t modifier, char *buf, size_t size)
{
	if (modifier == PX_MODIFIER_LINEAR)
		snprintf(buf, size, "LINEAR");
	else if (modifier == PX_MODIFIER_INVALID)
		snprintf(buf, size, "INVALID (implicit)");
	else
		snprintf(buf, size, "0x%016llx", (unsigned long long)modifier);
	return buf;
}

const char *bytes_name(uint64_t bytes, char *buf, size_t size)
{
	if (bytes >= 1024 * 1024)
		snprintf(buf, size, "%.2f MiB (%llu bytes)", (double)bytes / (1024.0 * 1024.0),
			 (unsigned long long)bytes);
	else if (bytes >= 1024)
		snprintf(buf, size, "%.1f KiB (%llu bytes)", (double)bytes / 1024.0,
			 (unsigned long long)bytes);
	else
		snprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
	return buf;
}

static bool same_kind(const struct px_image_layout *a, const struct px_image_layout *b)
{
	return a->fourcc == b->fourcc && a->width == b->width && a->height == b->height;
}

const char *layout_summary(const struct px_set_layout *layout, char *buf, size_t size)
{
	char name[24];
	size_t len = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < layout->n_images && len < size;) {
		const struct px_image_layout *img = &layout->images[i];
		uint32_t n = 1;
		while (i + n < layout->n_images && same_kind(img, &layout->images[i + n]))
			n++;
		int w = snprintf(buf + len, size - len, "%s%u× %s %ux%u", i ? " + " : "", n,
				 px_format_name(img->fourcc, name, sizeof(name)), img->width,
				 img->height);
		if (w < 0)
			break;
		len += (size_t)w;
		i += n;
	}
	return buf;
}

void print_layout(FILE *f, const struct px_set_layout *layout, const char *indent)
{
	char name[24], mod[32], bytes[48];

	for (uint32_t i = 0; i < layout->n_images; i++) {
		const struct px_image_layout *img = &layout->images[i];
		fprintf(f, "%simage %u: %s %ux%u, modifier %s, %u plane%s\n", indent, i,
			px_format_name(img->fourcc, name, sizeof(name)), img->width, img->height,
			modifier_name(img->modifier, mod, sizeof(mod)), img->n_planes,
			img->n_planes == 1 ? "" : "s");
		for (uint32_t p = 0; p < img->n_planes && p < PX_MAX_PLANES; p++) {
			const struct px_plane *pl = &img->planes[p];
			fprintf(f,
				"%s  plane %u: buffer %u, offset %llu, stride %u (%llu bytes × %u "
				"rows)\n",
				indent, p, pl->buffer, (unsigned long long)pl->offset, pl->stride,
				(unsigned long long)px_image_row_bytes(img, p),
				px_image_plane_rows(img, p));
		}
	}
	for (uint32_t b = 0; b < layout->n_buffers && b < PX_MAX_BUFFERS; b++)
		fprintf(f, "%sbuffer %u: %s\n", indent, b,
			bytes_name(layout->buffer_sizes[b], bytes, sizeof(bytes)));
	fprintf(f, "%sslot: %s\n", indent,
		bytes_name(px_layout_slot_bytes(layout), bytes, sizeof(bytes)));
}

int text_width(const char *s)
{
	int w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void print_padded(FILE *f, const char *s, int width)
{
	fputs(s, f);
	for (int w = text_width(s); w < width; w++)
		fputc(' ', f);
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

const char *dir_name(char *buf, size_t size)
{
	if (topic_dir)
		return topic_dir;
	if (px_topic_default_dir(buf, size))
		return "(the default directory)";
	return buf;
}

void topic_not_found(const char *topic)
{
	char dir[256];
	tool_error("topic '%s' not found in %s", topic, dir_name(dir, sizeof(dir)));
}

double ns_to_s(uint64_t ns)
{
	return (double)ns / 1e9;
}

int subscribe(const char *topic, enum px_qos qos, uint32_t depth, uint32_t flags, uint64_t wait_ns,
	      struct px_subscriber **out)
{
	char name[32];
	snprintf(name, sizeof(name), "pixshare %s", tool_command);
	struct px_subscriber_params p = {
	    .topic = topic,
	    .dir = topic_dir,
	    .qos = qos,
	    .queue_depth = depth,
	    .flags = PX_SUBSCRIBER_NO_RECONNECT | flags,
	    .name = name,
	    .spin_us = subscriber_spin_us,
	};
	if (publisher_uid >= 0) {
		p.flags |= PX_SUBSCRIBER_PUBLISHER_UID;
		p.publisher_uid = (uint32_t)publisher_uid;
	}
	uint64_t deadline = px_now_ns() + wait_ns;
	int ret;

	for (;;) {
		/* The wait covers the handshake too: a publisher that answers
		 * slowly gets what is left of it (the library's own floor, 2 s,
		 * where less is left). Tries are short so that a signal stops
		 * the wait. */
		uint64_t now = px_now_ns(), left = deadline > now ? deadline - now : 0;
		p.connect_timeout_ms = (int)(left / NS_PER_MS > INT_MAX ? INT_MAX : left / NS_PER_MS);
		tool_capture_begin();
		ret = px_subscriber_create(&p, out);
		const char *why = tool_capture_end(ret);
		if (ret == 0)
			return 0;
		if (ret == -EINTR && stop_signal)
			return ret; /* interrupted while waiting: nothing to report */
		if (ret != -ENOENT) {
			tool_error("cannot subscribe to '%s': %s", topic, why);
			return ret;
		}
		if (stop_signal || px_now_ns() >= deadline)
			break;
		struct timespec ts = {0, 50 * NS_PER_MS};
		nanosleep(&ts, NULL);
	}
	topic_not_found(topic);
	return ret;
}

int wait_frame(struct px_subscriber *sub, uint64_t deadline, struct px_frame **frame)
{
	return wait_frame_serving(sub, NULL, deadline, frame);
}

int wait_frame_serving(struct px_subscriber *sub, struct px_publisher *pub, uint64_t deadline,
		       struct px_frame **frame)
{
	for (;;) {
		if (stop_signal)
			return -EINTR;
		/* The deadline first: frames that keep coming must not hold
		 * off the caller's timer. */
		uint64_t now = px_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		uint64_t left_ms = (deadline - now + NS_PER_MS - 1) / NS_PER_MS;
		/* Busy-polling happens where the library waits. */
		int wait =
		    !pub && subscriber_spin_us ? (int)MIN(left_ms, (uint64_t)MAX_WAIT_MS) : 0;
		int ret = px_subscriber_receive(sub, frame, wait);
		if (ret == -EINTR && !stop_signal)
			continue;
		if (ret != -ETIMEDOUT)
			return ret;
		if (wait)
			continue;
		struct pollfd p[2] = {{.fd = px_subscriber_get_fd(sub), .events = POLLIN},
				      {.fd = pub ? px_publisher_get_fd(pub) : -1, .events = POLLIN}};
		if (poll(p, pub ? 2 : 1, (int)MIN(left_ms, (uint64_t)MAX_WAIT_MS)) < 0 &&
		    errno != EINTR)
			return -errno;
		if (pub && p[1].revents && (ret = px_publisher_dispatch(pub, 0)) < 0)
			return ret;
		/* Without a frame callback, dispatch only reads; EPIPE comes
		 * back from the next receive. */
		if (p[0].revents && (ret = px_subscriber_dispatch(sub, 0)) < 0 && ret != -EPIPE)
			return ret;
	}
}

void publisher_drain(struct px_publisher *pub, uint64_t timeout_ns, struct drain *d)
{
	uint64_t start = px_now_ns(), end = start + timeout_ns;
	*d = (struct drain){0};
	for (;;) {
		struct px_subscriber_info si;
		d->left = 0;
		for (uint32_t k = 0; px_publisher_get_subscriber(pub, k, &si) == 0; k++)
			d->left += si.pending;
		uint64_t now = px_now_ns();
		d->waited_ns = now - start;
		if (!d->left)
			return;
		if (!timeout_ns) {
			d->stopped = "the command's failure";
			return;
		}
		if (stop_signal || now >= end) {
			d->stopped = stop_signal ? "a stop signal" : "the time limit";
			return;
		}
		int ret = px_publisher_dispatch_until(pub, MIN(end, now + MAX_WAIT_MS * NS_PER_MS));
		if (ret < 0 && ret != -EINTR) {
			tool_error("dispatch: %s", px_strerror(ret));
			d->stopped = "a dispatch error";
			return;
		}
	}
}

void print_undelivered(const struct drain *d)
{
	if (d->left)
		printf("undelivered: %u frame%s still queued for subscribers at their lease "
		       "limit, lost with the publisher (waited %.3f s for them; stopped by %s)\n",
		       d->left, d->left == 1 ? "" : "s", ns_to_s(d->waited_ns), d->stopped);
}

void drops_count(struct drops *d, const struct px_frame *f)
{
	if (d->last_seq && f->seq > d->last_seq + 1)
		d->gaps += f->seq - d->last_seq - 1;
	d->last_seq = f->seq;
}

void drops_print(const struct drops *d, const struct px_subscriber *sub)
{
	struct px_subscriber_stats st;
	px_subscriber_get_stats(sub, &st);
	printf("drops: publisher %llu, superseded %llu, sequence gaps %llu\n",
	       (unsigned long long)st.dropped_publisher, (unsigned long long)st.dropped_superseded,
	       (unsigned long long)d->gaps);
}

int receive_end(int ret)
{
	if (ret == -EPIPE) {
		tool_error("the publisher ended the stream");
		return 0;
	}
	if (ret == -EINTR || ret == -ETIMEDOUT)
		return 0;
	tool_error("receiving: %s", px_strerror(ret));
	return ret;
}

void print_latencies(const char *title, struct samples *s)
{
	samples_sort(s);
	printf("%s (%zu frames):\n", title, s->n);
	if (!s->n)
		return;
	printf("  p50: %.1f µs\n", (double)samples_percentile(s, 50) / NS_PER_US);
	printf("  p90: %.1f µs\n", (double)samples_percentile(s, 90) / NS_PER_US);
	printf("  p99: %.1f µs\n", (double)samples_percentile(s, 99) / NS_PER_US);
	printf("  max: %.1f µs\n", (double)s->v[s->n - 1] / NS_PER_US);
}

/* mkdir -p */
int make_dirs(const char *path)
{
	char buf[4096];
	struct stat st;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(buf, 0777) < 0 && errno != EEXIST)
			return -errno;
		*p = saved;
		if (!saved)
			break;
	}
	if (stat(buf, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int parse_id(const char *opt, const char *s, bool user, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (s[0] >= '0' && s[0] <= '9' && !*end && !errno && v < UINT32_MAX) {
		*out = (uint32_t)v;
		return 0;
	}
	if (user) {
		struct passwd *pw = getpwnam(s);
		if (pw) {
			*out = pw->pw_uid;
			return 0;
		}
	} else {
		struct group *gr = getgrnam(s);
		if (gr) {
			*out = gr->gr_gid;
			return 0;
		}
	}
	tool_error("%s: '%s' is no %s name nor number here", opt, s, user ? "user" : "group");
	return -EINVAL;
}
