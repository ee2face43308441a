/* SPDX-License-Identifier: MIT */
/*
 * pixshare decode and camera --decode (see decode.h): MJPEG frames of one
 * topic decoded into the slots of another.
 *
 * TurboJPEG writes into the slot itself: tjDecompressToYUVPlanes() takes a
 * pointer and a stride per plane, tjDecompress2() a pitch, so the pool's
 * own planes, padding and all, are the decoder's output. What it cannot
 * write (NV12's interleaved chroma, packed 4:2:2) would need a second pass
 * over every pixel, and is refused. The handle is made once per run; no
 * buffer of ours is allocated per frame. The compressed input is copied
 * out of the publisher's buffer before it is parsed (see struct decoder).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef PX_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

#include "tools/decode.h"
#include "tools/tool_util.h"

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
/* Longest wait between two looks at the stop flags. */
#define MAX_WAIT_MS 100
/* Longest wait for a free slot of the output pool: a frame is skipped then. */
#define ACQUIRE_MS 100
/* Rows of the output topic, as the transform publishers align theirs. */
#define ROW_ALIGN 256
/* Skipped frames described one by one, per reason; the rest are counted. */
#define MAX_REPORTS 10

bool decode_available(void)
{
#ifdef PX_HAVE_TURBOJPEG
	return true;
#else
	return false;
#endif
}

int decode_check_format(const char *opt, uint32_t fourcc)
{
	char name[16];

	switch (fourcc) {
	case PX_FORMAT_YUV420:
	case PX_FORMAT_YUV422:
	case PX_FORMAT_R8:
	case PX_FORMAT_BGR888:
	case PX_FORMAT_RGB888:
	case PX_FORMAT_XBGR8888:
	case PX_FORMAT_ABGR8888:
	case PX_FORMAT_XRGB8888:
	case PX_FORMAT_ARGB8888:
		return 0;
	}
	tool_error("%s: cannot decode into %s: TurboJPEG writes planar YUV420 or YUV422 (the "
		   "JPEG's own subsampling), R8, or RGB (BGR888, RGB888, XBGR8888, ABGR8888, "
		   "XRGB8888, ARGB8888) straight into the slot; %s would need a second pass",
		   opt, px_format_name(fourcc, name, sizeof(name)), name);
	return -1;
}

void decode_print_stats(const struct decode_stats *st)
{
	char name[16];
	printf("decoded: %llu frames (%llu images) of %llu received",
	       (unsigned long long)st->decoded, (unsigned long long)st->images,
	       (unsigned long long)st->received);
	if (st->fourcc)
		printf(", into %s %ux%u", px_format_name(st->fourcc, name, sizeof(name)), st->width,
		       st->height);
	printf("\nskipped: %llu corrupt, %llu of another size, %llu of another subsampling, %llu "
	       "without a free slot\n",
	       (unsigned long long)st->corrupt, (unsigned long long)st->wrong_size,
	       (unsigned long long)st->wrong_sampling, (unsigned long long)st->no_slot);
	if (st->decoded)
		printf("decode time: %.3f ms per frame, %.1f frames/s decoding alone\n",
		       (double)st->decode_ns / (double)st->decoded / 1e6,
		       (double)st->decoded * 1e9 / (double)st->decode_ns);
	printf("decodes: %llu\n", (unsigned long long)st->decoded);
}

#ifdef PX_HAVE_TURBOJPEG

enum skip { SKIP_CORRUPT, SKIP_SIZE, SKIP_SAMPLING, SKIP_SLOT, N_SKIPS };

struct decoder {
	const struct decode_options *o;
	const atomic_bool *stop;
	struct decode_stats *st;
	tjhandle tj;
	struct px_subscriber *sub;
	struct px_publisher *pub; /* made at the first frame */
	const struct px_set_layout *in, *out;
	uint32_t fourcc[PX_MAX_IMAGES]; /* of each output image */
	uint64_t reports[N_SKIPS];
	uint64_t next_progress, last_decoded;
	/* Each image's JPEG, copied out of the publisher's buffer before it is
	 * read: the publisher can still write there, and a header changed
	 * between its check and the decode (4:2:0 to 4:4:4, say) would make
	 * TurboJPEG write past the planes. Grown to the largest JPEG seen. */
	unsigned char *copy[PX_MAX_IMAGES];
	size_t copy_size[PX_MAX_IMAGES];
};

/* What TurboJPEG said of one JPEG's header. */
struct jpeg {
	const unsigned char *data;
	unsigned long size;
	int width, height, sampling, colourspace;
};

static bool stopped(const atomic_bool *stop)
{
	return stop_signal || (stop && atomic_load(stop));
}

static const char *sampling_name(int s)
{
	switch (s) {
	case TJSAMP_444:
		return "4:4:4";
	case TJSAMP_422:
		return "4:2:2";
	case TJSAMP_420:
		return "4:2:0";
	case TJSAMP_GRAY:
		return "grey";
	case TJSAMP_440:
		return "4:4:0";
	case TJSAMP_411:
		return "4:1:1";
	}
	return "unknown";
}

/* The subsampling an output format needs, or -1 for any. */
static int needed_sampling(uint32_t fourcc)
{
	switch (fourcc) {
	case PX_FORMAT_YUV420:
		return TJSAMP_420;
	case PX_FORMAT_YUV422:
		return TJSAMP_422;
	}
	return -1;
}

static uint32_t default_format(int sampling)
{
	switch (sampling) {
	case TJSAMP_420:
		return PX_FORMAT_YUV420;
	case TJSAMP_422:
		return PX_FORMAT_YUV422;
	case TJSAMP_GRAY:
		return PX_FORMAT_R8;
	}
	return PX_FORMAT_BGR888;
}

/* TurboJPEG's pixel format for a packed output format (the byte orders of
 * layout.h: BGR888 is the bytes R, G, B, TurboJPEG's TJPF_RGB). */
static int pixel_format(uint32_t fourcc)
{
	switch (fourcc) {
	case PX_FORMAT_R8:
		return TJPF_GRAY;
	case PX_FORMAT_BGR888:
		return TJPF_RGB;
	case PX_FORMAT_RGB888:
		return TJPF_BGR;
	case PX_FORMAT_XBGR8888:
		return TJPF_RGBX;
	case PX_FORMAT_ABGR8888:
		return TJPF_RGBA;
	case PX_FORMAT_XRGB8888:
		return TJPF_BGRX;
	case PX_FORMAT_ARGB8888:
		return TJPF_BGRA;
	}
	return -1;
}

static void skip(struct decoder *d, enum skip why, const struct px_frame *f, const char *fmt, ...)
    PX_PRINTF(4, 5);

/* Counts a skipped frame and describes it, the first MAX_REPORTS of each reason. */
static void skip(struct decoder *d, enum skip why, const struct px_frame *f, const char *fmt, ...)
{
	uint64_t *counts[N_SKIPS] = {&d->st->corrupt, &d->st->wrong_size, &d->st->wrong_sampling,
				     &d->st->no_slot};
	char msg[256];
	va_list ap;

	(*counts[why])++;
	if (d->reports[why]++ >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tool_error("'%s' frame %llu (sequence %llu) skipped: %s%s", d->o->in_topic,
		   (unsigned long long)f->seq, (unsigned long long)f->images[0].sequence, msg,
		   d->reports[why] == MAX_REPORTS ? " (more such frames are counted, not shown)"
						  : "");
}

/* Copies image i's JPEG out of the frame and reads its header. */
static int inspect(struct decoder *d, const struct px_frame *f, uint32_t i, struct jpeg *j)
{
	const unsigned char *src = px_frame_plane(f, i, 0);
	size_t size = (size_t)f->images[i].bytes; /* within the buffer: checked by the library */
	if (!src || !size || size > ULONG_MAX) {
		skip(d, SKIP_CORRUPT, f, "image %u: no bytes", i);
		return -EINVAL;
	}
	if (size > d->copy_size[i]) {
		unsigned char *p = realloc(d->copy[i], size);
		if (!p) {
			tool_error("image %u: no memory for a copy of its %zu-byte JPEG", i, size);
			return -ENOMEM;
		}
		d->copy[i] = p;
		d->copy_size[i] = size;
	}
	memcpy(d->copy[i], src, size);
	j->data = d->copy[i];
	j->size = (unsigned long)size;
	if (tjDecompressHeader3(d->tj, j->data, j->size, &j->width, &j->height, &j->sampling,
				&j->colourspace)) {
		skip(d, SKIP_CORRUPT, f, "image %u (%lu bytes): %s", i, j->size,
		     tjGetErrorStr2(d->tj));
		return -EINVAL;
	}
	return 0;
}

/* Whether image i's JPEG fits output image i: size and subsampling. */
static int fits(struct decoder *d, const struct px_frame *f, uint32_t i, const struct jpeg *j)
{
	const struct px_image_layout *l = &d->out->images[i];
	char name[16];
	if ((uint32_t)j->width != l->width || (uint32_t)j->height != l->height) {
		skip(d, SKIP_SIZE, f, "image %u: the JPEG is %dx%d, the topic's image %ux%u", i,
		     j->width, j->height, l->width, l->height);
		return -EINVAL;
	}
	int need = needed_sampling(l->fourcc);
	if (need >= 0 && j->sampling != need) {
		skip(d, SKIP_SAMPLING, f,
		     "image %u: the JPEG is %s, %s needs %s (decode into an RGB format "
		     "instead)",
		     i, sampling_name(j->sampling), px_format_name(l->fourcc, name, sizeof(name)),
		     sampling_name(need));
		return -EINVAL;
	}
	return 0;
}

/* Decodes image i straight into the slot's planes, with their strides. */
static int decode_image(struct decoder *d, const struct jpeg *j, const struct px_slot *s,
			uint32_t i)
{
	const struct px_image_layout *l = &d->out->images[i];
	/* A warning (a truncated frame, bad data) stops the decode: a torn
	 * image is not published. */
	int flags = TJFLAG_STOPONWARNING;

	if (needed_sampling(l->fourcc) >= 0) {
		unsigned char *planes[3];
		int strides[3];
		for (uint32_t p = 0; p < 3; p++) {
			planes[p] = px_slot_plane(s, i, p);
			strides[p] = (int)l->planes[p].stride;
		}
		return tjDecompressToYUVPlanes(d->tj, j->data, j->size, planes, j->width, strides,
					       j->height, flags);
	}
	return tjDecompress2(d->tj, j->data, j->size, px_slot_plane(s, i, 0), j->width,
			     (int)l->planes[0].stride, j->height, pixel_format(l->fourcc), flags);
}

static uint32_t all_images(uint32_t n)
{
	return n >= 32 ? UINT32_MAX : (1u << n) - 1;
}

static uint32_t present(const struct decoder *d, const struct px_frame *f)
{
	uint32_t all = all_images(d->in->n_images);
	return f->valid_mask ? f->valid_mask & all : all;
}

/* The rows TurboJPEG writes to plane p: its YUV planes round the luma plane
 * up to whole chroma blocks (tjPlaneWidth(), tjPlaneHeight()), so at an odd
 * height a 4:2:0 decode writes one luma row more than the image has, and
 * at an odd width one byte more per row. */
static void written(const struct px_image_layout *l, uint32_t p, uint64_t *row_bytes,
		    uint64_t *rows)
{
	int sampling = needed_sampling(l->fourcc);
	if (sampling < 0) {
		*row_bytes = px_image_row_bytes(l, p);
		*rows = px_image_plane_rows(l, p);
		return;
	}
	*row_bytes = (uint64_t)tjPlaneWidth((int)p, (int)l->width, sampling);
	*rows = (uint64_t)tjPlaneHeight((int)p, (int)l->height, sampling);
}

/* Room in the packed layout for what TurboJPEG writes beyond the luma rows. */
static void make_room(struct px_set_layout *layout)
{
	for (uint32_t i = 0; i < layout->n_images; i++) {
		struct px_image_layout *l = &layout->images[i];
		uint64_t row_bytes, rows;
		if (needed_sampling(l->fourcc) < 0)
			continue;
		written(l, 0, &row_bytes, &rows);
		uint64_t extra = (rows - px_image_plane_rows(l, 0)) * l->planes[0].stride;
		for (uint32_t p = 1; p < l->n_planes; p++)
			l->planes[p].offset += extra;
		layout->buffer_sizes[l->planes[0].buffer] += extra;
	}
}

/* Whether TurboJPEG's rows of each plane stay in their buffer, within the
 * stride and clear of every other plane (an allocator may lay planes out
 * as it likes). */
static bool fits_decoder(const struct px_set_layout *layout, uint32_t i, uint32_t *bad_plane)
{
	const struct px_image_layout *l = &layout->images[i];
	for (uint32_t p = 0; p < l->n_planes; p++) {
		const struct px_plane *a = &l->planes[p];
		uint64_t row_bytes, rows;
		written(l, p, &row_bytes, &rows);
		uint64_t start = a->offset, end = a->offset + a->stride * (rows - 1) + row_bytes;
		*bad_plane = p;
		if (row_bytes > a->stride || end > layout->buffer_sizes[a->buffer])
			return false;
		for (uint32_t j = 0; j < layout->n_images; j++)
			for (uint32_t q = 0; q < layout->images[j].n_planes; q++) {
				const struct px_plane *b = &layout->images[j].planes[q];
				if ((j == i && q == p) || b->buffer != a->buffer)
					continue;
				uint64_t b_end =
				    b->offset +
				    b->stride * (px_image_plane_rows(&layout->images[j], q) - 1) +
				    px_image_row_bytes(&layout->images[j], q);
				if (start < b_end && b->offset < end)
					return false;
			}
	}
	return true;
}

/* The output topic, from the first frame that says what its JPEGs are. */
static int start_output(struct decoder *d, const struct px_frame *f)
{
	const struct decode_options *o = d->o;
	struct px_image_desc desc[PX_MAX_IMAGES];
	struct px_set_layout layout;
	char summary[256], name[16];
	struct jpeg j[PX_MAX_IMAGES];
	int ret;

	for (uint32_t i = 0; i < d->in->n_images; i++) {
		desc[i] = (struct px_image_desc){o->fourcc, d->in->images[i].width,
						 d->in->images[i].height};
		if (o->fourcc)
			continue;
		if (!(present(d, f) & 1u << i)) {
			skip(d, SKIP_CORRUPT, f,
			     "image %u is absent: its JPEG's subsampling picks the format", i);
			return -EAGAIN;
		}
		if (inspect(d, f, i, &j[i]))
			return -EAGAIN;
		desc[i].fourcc = default_format(j[i].sampling);
		if (!o->quiet)
			fprintf(stderr, "%s %s: image %u: %s JPEGs, decoded into %s\n", o->who,
				o->out_topic, i, sampling_name(j[i].sampling),
				px_format_name(desc[i].fourcc, name, sizeof(name)));
	}
	ret = px_layout_init_packed(&layout, d->in->n_images, desc, ROW_ALIGN, PX_PACK_PER_IMAGE);
	if (ret) {
		tool_error("cannot lay out '%s': %s", o->out_topic, px_strerror(ret));
		return ret;
	}
	make_room(&layout);
	char description[PX_TOPIC_MAX + 32];
	snprintf(description, sizeof(description), "pixshare decode of %s", o->in_topic);
	struct px_publisher_params pp = {
	    .topic = o->out_topic,
	    .dir = topic_dir,
	    .layout = &layout,
	    .allocator = o->allocator,
	    .description = description,
	    /* The decoder cannot wait for a stopped subscriber any more
	     * than a camera can. */
	    .stall_policy = PX_STALL_DISCONNECT_RELIABLE,
	};
	ret = px_publisher_create(&pp, &d->pub);
	if (ret) {
		tool_error("cannot publish '%s': %s", o->out_topic, px_strerror(ret));
		return ret;
	}
	d->out = px_publisher_get_layout(d->pub);
	if (!px_publisher_is_mapped(d->pub)) {
		tool_error("'%s': the %s pool has no CPU mapping to decode into", o->out_topic,
			   px_allocator_name(px_publisher_get_allocator(d->pub)));
		return -ENOTSUP;
	}
	for (uint32_t i = 0; i < d->out->n_images; i++) {
		const struct px_image_layout *l = &d->out->images[i];
		if (l->modifier != PX_MODIFIER_LINEAR && l->modifier != PX_MODIFIER_INVALID) {
			tool_error("'%s': the %s allocator gave image %u modifier 0x%llx: only "
				   "linear images can be decoded into (try --allocator memfd)",
				   o->out_topic,
				   px_allocator_name(px_publisher_get_allocator(d->pub)), i,
				   (unsigned long long)l->modifier);
			return -ENOTSUP;
		}
		uint32_t p;
		if (!fits_decoder(d->out, i, &p)) {
			tool_error("'%s': the %s allocator laid image %u plane %u out with no "
				   "room for the rows TurboJPEG writes (try --allocator memfd)",
				   o->out_topic,
				   px_allocator_name(px_publisher_get_allocator(d->pub)), i, p);
			return -ENOTSUP;
		}
		for (p = 0; p < l->n_planes; p++)
			if (l->planes[p].stride > INT_MAX) {
				tool_error("'%s': image %u plane %u: stride %u too large for "
					   "TurboJPEG",
					   o->out_topic, i, p, l->planes[p].stride);
				return -ENOTSUP;
			}
		d->fourcc[i] = l->fourcc;
	}
	d->st->width = d->out->images[0].width;
	d->st->height = d->out->images[0].height;
	d->st->fourcc = d->out->images[0].fourcc;
	if (!o->quiet)
		fprintf(stderr, "%s %s: pid %d, %s decoded from '%s', %u slots (%s)\n", o->who,
			o->out_topic, (int)getpid(),
			layout_summary(d->out, summary, sizeof(summary)), o->in_topic,
			px_publisher_get_pool_size(d->pub),
			px_allocator_name(px_publisher_get_allocator(d->pub)));
	return 0;
}

/* One frame: checked, decoded into a slot and published, or skipped. */
static int decode_frame(struct decoder *d, const struct px_frame *f)
{
	struct jpeg j[PX_MAX_IMAGES];
	uint32_t mask = present(d, f);
	struct px_slot *s;
	int ret;

	for (uint32_t i = 0; i < d->in->n_images; i++) {
		if (!(mask & 1u << i))
			continue;
		if ((ret = inspect(d, f, i, &j[i])) == -ENOMEM)
			return ret;
		if (ret || fits(d, f, i, &j[i]))
			return 0;
	}
	ret = px_publisher_acquire(d->pub, ACQUIRE_MS, &s);
	if (ret == -EAGAIN || ret == -EBUSY) {
		skip(d, SKIP_SLOT, f, "no free slot of '%s' within %d ms", d->o->out_topic,
		     ACQUIRE_MS);
		return 0;
	}
	if (ret) {
		tool_error("'%s': acquiring a slot: %s", d->o->out_topic, px_strerror(ret));
		return ret;
	}
	uint64_t t0 = px_now_ns();
	uint32_t n = 0;
	for (uint32_t i = 0; i < d->in->n_images; i++) {
		if (!(mask & 1u << i))
			continue;
		if (decode_image(d, &j[i], s, i)) {
			px_publisher_cancel(d->pub, s);
			skip(d, SKIP_CORRUPT, f, "image %u (%lu bytes): %s", i, j[i].size,
			     tjGetErrorStr2(d->tj));
			return 0;
		}
		n++;
	}
	uint64_t dt = px_now_ns() - t0;
	struct px_publish_info info = {.valid_mask = mask};
	for (uint32_t i = 0; i < d->in->n_images; i++) {
		info.images[i].timestamp_ns = f->images[i].timestamp_ns;
		info.images[i].sequence = f->images[i].sequence;
	}
	ret = px_publisher_publish(d->pub, s, &info);
	if (ret) {
		tool_error("'%s': publishing: %s", d->o->out_topic, px_strerror(ret));
		return ret;
	}
	d->st->decoded++;
	d->st->images += n;
	d->st->decode_ns += dt;
	return 0;
}

static void progress(struct decoder *d)
{
	uint64_t now = px_now_ns();
	if (d->o->quiet || now < d->next_progress)
		return;
	const struct decode_stats *st = d->st;
	uint64_t skipped = st->corrupt + st->wrong_size + st->wrong_sampling + st->no_slot;
	fprintf(stderr, "%s %s: %llu decoded (%llu in the last second), %llu skipped\n", d->o->who,
		d->o->out_topic, (unsigned long long)st->decoded,
		(unsigned long long)(st->decoded - d->last_decoded), (unsigned long long)skipped);
	d->last_decoded = st->decoded;
	d->next_progress = now + NS_PER_S;
}

/* The next input frame, serving the output's subscribers meanwhile. */
static int next_frame(struct decoder *d, uint64_t end, struct px_frame **f)
{
	for (;;) {
		if (stopped(d->stop))
			return -EINTR;
		uint64_t now = px_now_ns();
		if (now >= end)
			return -ETIMEDOUT;
		progress(d);
		int ret = px_subscriber_receive(d->sub, f, 0);
		if (ret != -ETIMEDOUT)
			return ret;
		uint64_t left_ms = (end - now + NS_PER_MS - 1) / NS_PER_MS;
		struct pollfd p[2] = {
		    {.fd = px_subscriber_get_fd(d->sub), .events = POLLIN},
		    {.fd = d->pub ? px_publisher_get_fd(d->pub) : -1, .events = POLLIN}};
		if (poll(p, 2, (int)(left_ms < MAX_WAIT_MS ? left_ms : MAX_WAIT_MS)) < 0 &&
		    errno != EINTR)
			return -errno;
		if (p[1].revents && (ret = px_publisher_dispatch(d->pub, 0)) < 0)
			return ret;
		if (p[0].revents && (ret = px_subscriber_dispatch(d->sub, 0)) < 0 && ret != -EPIPE)
			return ret;
	}
}

/* Subscribes to the MJPEG topic, waiting up to o->wait_ns for it. */
static int subscribe_input(struct decoder *d)
{
	const struct decode_options *o = d->o;
	struct px_subscriber_params p = {
	    .topic = o->in_topic,
	    .dir = topic_dir,
	    .qos = o->qos,
	    .queue_depth = o->queue_depth,
	    .flags = PX_SUBSCRIBER_NO_RECONNECT,
	    .name = "pixshare decode",
	};
	if (publisher_uid >= 0) {
		p.flags |= PX_SUBSCRIBER_PUBLISHER_UID;
		p.publisher_uid = (uint32_t)publisher_uid;
	}
	uint64_t deadline = px_now_ns() + o->wait_ns;
	int ret;
	for (;;) {
		uint64_t now = px_now_ns(), left = deadline > now ? deadline - now : 0;
		p.connect_timeout_ms =
		    (int)(left / NS_PER_MS > INT_MAX ? INT_MAX : left / NS_PER_MS);
		if (!o->in_thread)
			tool_capture_begin();
		ret = px_subscriber_create(&p, &d->sub);
		const char *why = o->in_thread ? px_strerror(ret) : tool_capture_end(ret);
		if (ret == 0)
			return 0;
		if (ret == -EINTR && stopped(d->stop))
			return ret;
		if (ret != -ENOENT) {
			tool_error("cannot subscribe to '%s': %s", o->in_topic, why);
			return ret;
		}
		if (stopped(d->stop) || px_now_ns() >= deadline)
			break;
		struct timespec ts = {0, 50 * NS_PER_MS};
		nanosleep(&ts, NULL);
	}
	topic_not_found(o->in_topic);
	return ret;
}

/* The input must be MJPEG images this process can read. */
static int check_input(struct decoder *d)
{
	struct px_topic_info info;
	char name[16];

	d->in = px_subscriber_get_layout(d->sub);
	if (!d->in || px_subscriber_get_topic_info(d->sub, &info)) {
		tool_error("'%s': the publisher left before the first frame", d->o->in_topic);
		return -EPIPE;
	}
	if (info.unmapped) {
		tool_error("'%s': the pool's buffers have no CPU mapping here: nothing to decode",
			   d->o->in_topic);
		return -ENOTSUP;
	}
	for (uint32_t i = 0; i < d->in->n_images; i++)
		if (d->in->images[i].fourcc != PX_FORMAT_MJPEG) {
			tool_error("'%s': image %u is %s, not MJPEG: nothing to decode",
				   d->o->in_topic, i,
				   px_format_name(d->in->images[i].fourcc, name, sizeof(name)));
			return -EINVAL;
		}
	return 0;
}

int decode_run(const struct decode_options *o, const atomic_bool *stop, struct decode_stats *st)
{
	struct decoder d = {.o = o, .stop = stop, .st = st};
	struct px_frame *f;
	int ret;

	memset(st, 0, sizeof(*st));
	d.tj = tjInitDecompress();
	if (!d.tj) {
		tool_error("tjInitDecompress: %s", tjGetErrorStr2(NULL));
		return EXIT_FAIL;
	}
	if ((ret = subscribe_input(&d)) || (ret = check_input(&d)))
		goto out;

	uint64_t start = px_now_ns();
	uint64_t end = o->duration_ns ? start + o->duration_ns : UINT64_MAX;
	d.next_progress = start + NS_PER_S;
	while (!o->count || st->decoded < o->count) {
		ret = next_frame(&d, end, &f);
		if (ret == -EPIPE) {
			if (!o->quiet)
				fprintf(stderr, "%s %s: '%s' ended its stream\n", o->who,
					o->out_topic, o->in_topic);
			ret = 0;
			break;
		}
		if (ret == -EINTR || ret == -ETIMEDOUT) {
			ret = 0;
			break;
		}
		if (ret) {
			tool_error("receiving from '%s': %s", o->in_topic, px_strerror(ret));
			break;
		}
		st->received++;
		/* Both say what failed themselves. */
		if (!d.pub && (ret = start_output(&d, f)) == -EAGAIN)
			ret = 0;
		else if (!ret)
			ret = decode_frame(&d, f);
		px_frame_release(f);
		if (ret)
			break;
	}
out:
	px_publisher_destroy(d.pub);
	px_subscriber_destroy(d.sub);
	tjDestroy(d.tj);
	for (uint32_t i = 0; i < PX_MAX_IMAGES; i++)
		free(d.copy[i]);
	return ret ? EXIT_FAIL : EXIT_SUCCESS;
}

#else /* !PX_HAVE_TURBOJPEG */

int decode_run(const struct decode_options *o, const atomic_bool *stop, struct decode_stats *st)
{
	memset(st, 0, sizeof(*st));
	tool_error("this pixshare was built without libturbojpeg: it cannot decode MJPEG "
		   "(install libturbojpeg0-dev and rebuild)");
	return EXIT_FAIL;
}

#endif

struct decode_thread {
	pthread_t thread;
	struct decode_options o;
	struct decode_stats st;
	atomic_bool stop, done;
	int status;
};

static void *thread_main(void *arg)
{
	struct decode_thread *t = arg;
	t->status = decode_run(&t->o, &t->stop, &t->st);
	atomic_store(&t->done, true);
	return NULL;
}

int decode_thread_start(const struct decode_options *o, struct decode_thread **out)
{
	struct decode_thread *t = calloc(1, sizeof(*t));
	if (!t) {
		tool_error("decoder: out of memory");
		return -ENOMEM;
	}
	t->o = *o;
	t->o.in_thread = true;
	atomic_init(&t->stop, false);
	atomic_init(&t->done, false);
	/* SIGINT and SIGTERM are the main thread's: its poll() ends on them. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int ret = pthread_create(&t->thread, NULL, thread_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		tool_error("decoder: pthread_create: %s", strerror(ret));
		free(t);
		return -ret;
	}
	*out = t;
	return 0;
}

bool decode_thread_done(const struct decode_thread *t)
{
	return atomic_load(&t->done);
}

int decode_thread_stop(struct decode_thread *t, struct decode_stats *stats)
{
	atomic_store(&t->stop, true);
	pthread_join(t->thread, NULL);
	*stats = t->st;
	int status = t->status;
	free(t);
	return status;
}
