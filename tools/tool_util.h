/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the pixshare command-line tool: messages, option values,
 * statistics over samples, printing of layouts, and the receive loop that the
 * subscribing commands share. Not part of the library.
 *
 * Every parse_* function prints its own one-line message on stderr, naming the
 * option, and returns -1 when the value is bad; it returns 0 and writes `*out`
 * otherwise. Nothing here is thread-safe: the tool has one thread.
 */
#ifndef PIXSHARE_TOOL_UTIL_H
#define PIXSHARE_TOOL_UTIL_H

#include <signal.h>
#include <stdio.h>

#include <pixshare/pixshare.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit statuses besides 0. */
#define EXIT_FAIL 1  /* the command ran and failed */
#define EXIT_USAGE 2 /* bad command line */

/* The subcommand being run, named in messages ("pixshare: hz: …"); NULL before. */
extern const char *tool_command;
/* The topics' directory from --dir, or NULL for the library's default. */
extern const char *topic_dir;
/* --publisher-uid: the uid of the topics subscribed to, or -1 for ours. */
extern int64_t publisher_uid;
/* px_subscriber_params.spin_us of subscribe()'s subscribers; wait_frame()
 * then waits in px_subscriber_receive(), where the library spins. */
extern uint32_t subscriber_spin_us;
/* The number of the signal that asked the tool to stop, or 0. */
extern volatile sig_atomic_t stop_signal;

/* Prints "pixshare: COMMAND: message" as one line on stderr. */
void tool_error(const char *fmt, ...) PX_PRINTF(1, 2);

/*
 * Library messages. The tool installs its own log handler: warnings and below
 * go to stderr at once; errors too, except between tool_capture_begin() and
 * tool_capture_end(), where they are kept so that the tool can put the cause
 * of a failure into its own one-line message.
 */
void tool_log_init(void);
void tool_capture_begin(void);
/*
 * Ends a capture. With `err` < 0, returns the errors logged meanwhile joined by
 * "; ", or px_strerror(err) if none were; the string is static, valid until the
 * next capture. With `err` == 0 the errors logged meanwhile are printed as usual
 * and "" is returned.
 */
const char *tool_capture_end(int err);

/* Unsigned integers in decimal, within [min, max]. */
int parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* A user (`user`) or group by name or number; 0, or -EINVAL (said). */
int parse_id(const char *opt, const char *s, bool user, uint32_t *out);
int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* A decimal number within [min, max]. */
int parse_double(const char *opt, const char *s, double min, double max, double *out);
/* A duration in seconds (> 0, at most a year), returned in nanoseconds. */
int parse_seconds(const char *opt, const char *s, uint64_t *out_ns);
/* "WIDTHxHEIGHT", each 1 … 16384. */
int parse_size(const char *opt, const char *s, uint32_t *w, uint32_t *h);
/* A format name or fourcc; an unknown one prints the supported formats. */
int parse_format(const char *opt, const char *s, uint32_t *fourcc);
/* "latest", "reliable" or "queue:N". */
int parse_qos(const char *opt, const char *s, enum px_qos *qos, uint32_t *queue_depth);
/* "auto" or an allocator name. */
int parse_allocator(const char *opt, const char *s, enum px_allocator_type *type);

/* A growing array of samples (latencies, intervals), in nanoseconds. */
struct samples {
	uint64_t *v;
	size_t n, cap;
};
/* Appends; -ENOMEM when the array cannot grow (the sample is lost). */
int samples_add(struct samples *s, uint64_t x);
/* Sorts in place, for samples_percentile(). */
void samples_sort(struct samples *s);
/* The p-th percentile (0 < p ≤ 100, nearest rank) of sorted samples; 0 if none. */
uint64_t samples_percentile(const struct samples *s, double p);
void samples_finish(struct samples *s);

/* A modifier by name ("LINEAR", "INVALID") or in hex. Returns `buf`. */
const char *modifier_name(uint64_t modifier, char *buf, size_t size);
/* A byte count for people: "1.95 MiB (2048000 bytes)". Returns `buf`. */
const char *bytes_name(uint64_t bytes, char *buf, size_t size);
/* "6× YUYV 1280x800", or groups joined by " + " for mixed sets. Returns `buf`. */
const char *layout_summary(const struct px_set_layout *layout, char *buf, size_t size);
/* Every image, plane and buffer of a layout, indented by `indent`. */
void print_layout(FILE *f, const struct px_set_layout *layout, const char *indent);
/* Prints `s` and pads it with spaces to `width` columns (UTF-8 aware). */
void print_padded(FILE *f, const char *s, int width);
/* Columns `s` takes on a terminal (code points; no wide characters expected). */
int text_width(const char *s);

/* SIGINT and SIGTERM set stop_signal and interrupt waits (no SA_RESTART). */
void catch_stop_signals(void);

/* The topics' directory, for messages: topic_dir or the default. */
const char *dir_name(char *buf, size_t size);
/* Prints "topic 'NAME' not found in DIR". */
void topic_not_found(const char *topic);
double ns_to_s(uint64_t ns);
/* mkdir -p; 0 or a negative errno. */
int make_dirs(const char *path);

/*
 * Subscribes to a topic in topic_dir without reconnection, retrying while it
 * does not exist until `wait_ns` has passed or a stop signal came, with
 * `flags` (PX_SUBSCRIBER_*) besides. Prints why on failure and returns a
 * negative errno.
 */
int subscribe(const char *topic, enum px_qos qos, uint32_t depth, uint32_t flags, uint64_t wait_ns,
	      struct px_subscriber **out);
/*
 * Takes the next frame, waiting until `deadline` (CLOCK_MONOTONIC; UINT64_MAX
 * for no limit). Returns 0, -ETIMEDOUT, -EPIPE (the stream ended), -EINTR (a
 * stop signal came) or another negative errno.
 */
int wait_frame(struct px_subscriber *sub, uint64_t deadline, struct px_frame **frame);

/* What publisher_drain() did. */
struct drain {
	uint32_t left;	    /* frames still queued at the end */
	uint64_t waited_ns; /* how long it waited for them */
	/* Why it stopped with frames left: "the time limit", "a stop signal",
	 * "a dispatch error", "the command's failure" (not waited for); NULL
	 * when none were left. */
	const char *stopped;
};
/*
 * Frames published but still queued for subscribers at their lease limit
 * (reliable and queue QoS) go out only as those release others, and are
 * lost with the publisher: serves `pub` until none is queued, a stop signal
 * comes or `timeout_ns` has passed (0: counts them without waiting, as
 * after a failure).
 */
void publisher_drain(struct px_publisher *pub, uint64_t timeout_ns, struct drain *d);
/* Prints what publisher_drain() left queued, if anything, and why. */
void print_undelivered(const struct drain *d);
/* How long pub-test, play and ros-bridge --from-ros wait so at their end. */
#define DRAIN_NS (2 * 1000000000ull)

/* As wait_frame(), serving `pub` (subscribers connecting and releasing)
 * meanwhile; pub may be NULL. A failure of the publisher itself is
 * returned. */
int wait_frame_serving(struct px_subscriber *sub, struct px_publisher *pub, uint64_t deadline,
		       struct px_frame **frame);
/* After a receive loop: prints why it ended unless that was normal (a timeout,
 * a signal); the end of the stream is reported but is no failure. Returns 0
 * or the error. */
int receive_end(int ret);

/* Frames lost on the way, as a subscriber sees them. */
struct drops {
	uint64_t last_seq;
	uint64_t gaps; /* frames missing between consecutive sequence numbers */
};
void drops_count(struct drops *d, const struct px_frame *f);
/* "drops: publisher N, superseded N, sequence gaps N" on stdout. */
void drops_print(const struct drops *d, const struct px_subscriber *sub);
/* Sorts the samples and prints their count, p50, p90, p99 and max in µs. */
void print_latencies(const char *title, struct samples *s);

#endif
