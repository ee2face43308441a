/* SPDX-License-Identifier: MIT */
/*
 * bench_compare: pixshare and its peers moving the same camera sets, one
 * transport at a time, each on its own public API.
 *
 * A run is one transport, one payload, one rate, n subscribers. The parent
 * forks one publisher process and n subscriber processes; they share a
 * `struct cmp_shared` mapped before fork(). Every transport is written to
 * the same pattern, with the helpers below doing the measuring. A run
 * starts with a warm-up (connections settle, the transport hands out its
 * memory for the first time: the warm-up lasts until it stops doing so)
 * that is not measured: the helpers reset the
 * publisher's counts when it ends and ignore the sets published before:
 *
 *   publisher:  set up; cmp_pub_wait_subscribers(); cmp_pub_begin();
 *               while (cmp_pub_next(c)) {
 *                       get writable memory for one set (the transport's own
 *                       zero-copy way where it has one);
 *                       cmp_camera_write(c, images, stride);   (header only)
 *                       hand it over, then cmp_pub_sent(c); or, when the
 *                       transport had no memory for it or refused it,
 *                       cmp_pub_missed(c) and on to the next set;
 *               }
 *               cmp_pub_end(c); tear down
 *   subscriber: set up; cmp_sub_ready(c);
 *               while (!cmp_sub_done(c)) {
 *                       wait at most CMP_POLL_MS for a set;
 *                       cmp_sub_set(c, images, stride);      (reads headers)
 *                       give the set back
 *               }
 *               tear down
 *
 * The simulated camera writes a header (sequence, publish time) at the start
 * of each image of a set and nothing else: the pixels are written once, when
 * memory is first handed out, as a camera's DMA would fill them, and are not
 * the cost measured. Delay is the subscriber's clock when it reads the
 * header minus the publish time in it (CLOCK_MONOTONIC, one machine).
 */
#ifndef PX_BENCH_COMPARE_H
#define PX_BENCH_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CMP_MAX_SUBS 8
#define CMP_MAX_IMAGES 6
/* How long a subscriber waits for a set before checking cmp_sub_done(). */
#define CMP_POLL_MS 50
/* The warm-up goes on while the transport hands out new memory, at most this
 * much longer than asked. */
#define CMP_WARMUP_MAX_S 30
#define CMP_NS_PER_S 1000000000ull
#define CMP_NS_PER_MS 1000000ull

/* The header the camera writes at the start of each image. */
struct cmp_header {
	uint64_t seq; /* 1, 2, 3, … per set; the same in every image of a set */
	uint64_t publish_ns;
};

struct cmp_params {
	uint32_t n_images;
	uint32_t width, height; /* YUYV: 2 bytes per pixel, rows packed */
	size_t image_bytes;	/* width × height × 2 */
	size_t set_bytes;	/* n_images × image_bytes */
	double rate;		/* sets per second; 0: as fast as the transport accepts */
	double seconds;		/* how long the publisher publishes, measured */
	double warmup;		/* seconds published before, not measured */
	uint32_t spin_us;	/* subscribers' busy-poll around each due set (cmp_sub_wait()) */
	uint32_t n_subs;	/* 1 … CMP_MAX_SUBS */
	bool reliable;		/* flat-out runs: the transport's blocking mode where it has one */
	const char *dir;	/* a private directory of this run: socket paths */
	const char *name;	/* unique per run: service and topic names */
};

/* Written by the publisher process. */
struct cmp_pub_result {
	uint64_t published;	  /* sets handed over */
	uint64_t missed;	  /* sets the transport refused, or paced ticks not kept */
	uint64_t wall_ns, cpu_ns; /* cpu_ns without the camera's filling of new memory */
	uint64_t fill_ns;	  /* CPU time the camera spent filling new memory, measured part */
	uint32_t buffers_filled;  /* distinct image buffers the transport handed out */
	bool done;		  /* cmp_pub_end() ran */
	char detail[160];	  /* what the transport found and used, e.g. its allocator */
	char error[160];
};

/* Written by one subscriber process. */
struct cmp_sub_result {
	uint64_t received;
	uint64_t gaps; /* sequence numbers skipped */
	uint64_t torn; /* sets whose images carried different sequences */
	uint64_t last_seq;
	uint64_t wall_ns, cpu_ns; /* from cmp_sub_ready() to the end */
	uint64_t n_delays;
	uint64_t spin_hits; /* sets cmp_sub_wait() caught spinning */
	uint64_t spin_ns;   /* time it spent spinning */
	char error[160];
};

struct cmp_shared {
	struct cmp_params params;
	volatile int subs_ready; /* incremented by cmp_sub_ready() */
	volatile int pub_done;	 /* set by cmp_pub_end() */
	volatile uint64_t pub_end_ns;
	volatile uint64_t last_published; /* the last sequence handed over */
	volatile uint64_t first_seq;	  /* the first set measured; 0 during the warm-up */
	struct cmp_pub_result pub;
	struct cmp_sub_result subs[CMP_MAX_SUBS];
	uint64_t delay_cap; /* delays each subscriber may record */
	uint64_t delays[];  /* CMP_MAX_SUBS × delay_cap, ns */
};

/* What one process of a run is given. */
struct cmp_ctx {
	const struct cmp_params *p;
	struct cmp_shared *sh;
	uint32_t index; /* subscriber number; 0 in the publisher */
	bool publisher;
	/* Private to the helpers. */
	uint64_t start_ns, start_cpu, next_ns, seq, end_ns, warm_end_ns, last_fill_ns;
	uint64_t last_publish_ns; /* subscriber: the last set's publish time */
	bool slack_set;
	bool measuring;
	bool ended;
};

struct cmp_transport {
	const char *name;     /* "pixshare", "iceoryx", … as in the report */
	const char *settings; /* one line: how it was set up, for the report */
	bool multi;	      /* serves more than one subscriber */
	bool in_process;      /* no subscriber processes: the publisher records the delays */
	bool spins;	      /* its subscribers wait with cmp_sub_wait(): --spin-us works */
	/* 0 where the transport can run here; else -errno and `why` says why. */
	int (*available)(char *why, size_t len);
	/* Optional: a daemon the transport needs for a run (iceoryx's RouDi),
	 * started before the processes and stopped after; its pid, whose CPU
	 * time the report adds to the transport's. */
	int (*daemon_start)(const struct cmp_params *p, pid_t *pid);
	void (*daemon_stop)(pid_t pid);
	int (*publisher)(struct cmp_ctx *c);
	int (*subscriber)(struct cmp_ctx *c);
};

extern const struct cmp_transport cmp_pixshare, cmp_iceoryx, cmp_gst_shm, cmp_stream, cmp_memcpy,
    cmp_floor;

/* Helpers (common.c). All times CLOCK_MONOTONIC in ns. */
uint64_t cmp_now_ns(void);
uint64_t cmp_cpu_ns(void);
/* Formats an error into the process's result (publisher or subscriber) and
 * returns -1: `return cmp_fail(c, "socket: %s", strerror(errno));`. */
int cmp_fail(struct cmp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sleeps `ms` milliseconds (CLOCK_MONOTONIC, through signals). */
void cmp_sleep_ms(unsigned ms);
/* p->dir/`file` into `path`; -1 after cmp_fail() when it does not fit. */
int cmp_run_path(struct cmp_ctx *c, const char *file, char *path, size_t len);

/* Publisher: waits until every subscriber called cmp_sub_ready() (and
 * `settle_ms` more, for transports whose subscription takes effect after
 * the call returns), at most 10 s; -1 on timeout. */
int cmp_pub_wait_subscribers(struct cmp_ctx *c, int settle_ms);
void cmp_pub_begin(struct cmp_ctx *c);
/* Sleeps until the next tick (paced) and says whether to publish one more
 * set; false once the run's time is up. The set's sequence is c->seq. */
bool cmp_pub_next(struct cmp_ctx *c);
/* Writes the header of set c->seq, stamped now, into each image. Memory the
 * transport hands out for the first time is first filled whole, as a
 * camera's DMA would fill it; that CPU time is left out of the publisher's
 * (a camera's DMA costs the CPU nothing) and reported as fill_ns. */
void cmp_camera_write(struct cmp_ctx *c, uint8_t *const images[], uint32_t n_images);
void cmp_pub_sent(struct cmp_ctx *c);
void cmp_pub_missed(struct cmp_ctx *c);
void cmp_pub_end(struct cmp_ctx *c);

/* Subscriber. */
void cmp_sub_ready(struct cmp_ctx *c);
/* True once the publisher ended and this subscriber saw its last set, or
 * 1 s after the publisher ended (whatever did not come by then is lost). */
bool cmp_sub_done(struct cmp_ctx *c);
/* Ends the subscriber's CPU and wall time (cmp_sub_done() does when it
 * says true; the runner calls it after the subscriber returns). */
void cmp_sub_end(struct cmp_ctx *c);
/*
 * Waits until `fd` is readable, at most CMP_POLL_MS: 1 readable, 0 not,
 * -1 after cmp_fail(). With p->spin_us in a paced run, a predictive
 * busy-poll: sleeps until spin_us before the next set is due (the last
 * set's publish time + the period), then polls without sleeping until the set comes or
 * spin_us past its time; then sleeps again. Nothing spins while no set
 * comes (it spins only after an arrival) — what the report weighs against
 * the floor: the wake-up saved against the CPU spent.
 */
int cmp_sub_wait(struct cmp_ctx *c, int fd);
/* Reads the headers of a received set and records its delay. */
void cmp_sub_set(struct cmp_ctx *c, const uint8_t *const images[], uint32_t n_images);
/* For in-process transports: record a delay as subscriber 0's. */
void cmp_record_delay(struct cmp_ctx *c, uint64_t seq, uint64_t publish_ns);

/* Socket transports (stream, floor): a listening Unix socket of `type` at
 * p->dir/`file`; n accepted connections (at most 10 s); a connection to it,
 * retried while the publisher has not made it yet (at most 10 s). Each
 * returns an fd (CLOEXEC) or -1 after cmp_fail(). */
int cmp_listen(struct cmp_ctx *c, const char *file, int type);
int cmp_accept(struct cmp_ctx *c, int listen_fd, int *fds, uint32_t n);
int cmp_connect(struct cmp_ctx *c, const char *file, int type);

#endif
