/* SPDX-License-Identifier: MIT */
/*
 * pixshare decode and camera --decode: MJPEG frames decoded with
 * libjpeg-turbo's TurboJPEG API straight into the slots of a raw topic, one
 * decode per frame and no copy (tjDecompressToYUVPlanes() into the slot's
 * planes with their strides, or tjDecompress2() with its pitch). One code
 * path for both commands: `decode` runs it in its own process, `camera
 * --decode` in a worker thread that subscribes to the camera's own MJPEG
 * topic with latest QoS, so that capture never waits for decoding.
 *
 * The output topic has the input's images (every one MJPEG), each of the
 * input image's size, packed one buffer per image with rows aligned to 256
 * bytes. Each frame keeps the input's validity mask and per-image
 * timestamps and sequences; the frame number is the output publisher's own.
 * A frame whose JPEG cannot be decoded (corrupt, another size than the
 * topic's, a subsampling the output format cannot take) is counted,
 * reported and skipped: nothing is published for it.
 *
 * Private to the tool. Built with decoding only where libturbojpeg was
 * found (PX_HAVE_TURBOJPEG); without it decode_available() is false and
 * decode_run() says so.
 */
#ifndef PX_TOOLS_DECODE_H
#define PX_TOOLS_DECODE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <pixshare/pixshare.h>

struct decode_options {
	const char *in_topic, *out_topic;
	/* The output format of every image; 0: each image's first JPEG's
	 * own (4:2:0 → YUV420, 4:2:2 → YUV422, grey → R8, else BGR888). */
	uint32_t fourcc;
	enum px_qos qos; /* of the subscription to in_topic */
	uint32_t queue_depth;
	enum px_allocator_type allocator;
	uint64_t count;	      /* frames to decode; 0: no limit */
	uint64_t duration_ns; /* 0: no limit */
	uint64_t wait_ns;     /* for in_topic to appear */
	bool quiet;	      /* no progress on stderr */
	/* Whose decoder: "decode", or "camera" in a camera's worker thread
	 * (then nothing waits for a frame that never comes). */
	const char *who;
	/* Set by decode_thread_start(): the tool's log capture, which is
	 * not thread-safe, is left alone. */
	bool in_thread;
};

/* What happened, for the summary; written by the decoding thread. */
struct decode_stats {
	uint64_t received;		/* frames received */
	uint64_t decoded;		/* frames decoded and published: one decode each */
	uint64_t images;		/* images decoded (a set has one per camera) */
	uint64_t corrupt;		/* skipped: TurboJPEG refused the bytes */
	uint64_t wrong_size;		/* skipped: the JPEG is not the topic's size */
	uint64_t wrong_sampling;	/* skipped: a subsampling the format cannot take */
	uint64_t no_slot;		/* skipped: no free slot of the output pool in time */
	uint64_t decode_ns;		/* time spent decoding the frames decoded */
	uint32_t width, height, fourcc; /* image 0 of the output topic, once known */
};

/* Whether this build decodes (libturbojpeg was found). */
bool decode_available(void);

/*
 * Whether `fourcc` is an output format the decoder writes without a
 * conversion pass: YUV420, YUV422, R8, and the 3- and 4-byte RGB formats.
 * Prints why not, naming `opt`, and returns -1; 0 if it is.
 */
int decode_check_format(const char *opt, uint32_t fourcc);

/*
 * Subscribes to o->in_topic, publishes o->out_topic and decodes until the
 * input stream ends, o->count frames, o->duration_ns, a stop signal or
 * `*stop` (may be NULL). Prints its errors (one line each) and, unless
 * o->quiet, progress once per second on stderr; fills `*stats`. Returns
 * EXIT_SUCCESS or EXIT_FAIL. Thread-safe as long as every caller has its
 * own options, topics and stats.
 */
int decode_run(const struct decode_options *o, const atomic_bool *stop, struct decode_stats *stats);

/* The summary lines of `stats` on stdout ("decoded: …"). */
void decode_print_stats(const struct decode_stats *stats);

/* camera --decode: decode_run() in a thread of its own. */
struct decode_thread;
/* Starts it; 0, or a negative errno (said). `o` is copied (its strings must
 * outlive the thread). */
int decode_thread_start(const struct decode_options *o, struct decode_thread **out);
/* Whether the thread has ended by itself (its input ended, an error). */
bool decode_thread_done(const struct decode_thread *t);
/* Stops and joins it, writes its stats and returns decode_run()'s status. */
int decode_thread_stop(struct decode_thread *t, struct decode_stats *stats);

#endif
