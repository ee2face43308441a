/* SPDX-License-Identifier: MIT */
/*
 * pixshare — the subscriber: receives the frames of a topic.
 *
 * On connection the subscriber receives the publisher's pool once (its fds)
 * and maps it read-only. Each frame then arrives as one small message naming
 * a slot. The frame is the subscriber's (a lease) until px_frame_release();
 * the publisher will not refill that slot before then.
 *
 * Two ways to get frames:
 * - simple programs: px_subscriber_receive(sub, &frame, timeout_ms);
 * - event loops: poll px_subscriber_get_fd() for POLLIN, then call
 *   px_subscriber_dispatch(), which calls the frame callback of the params.
 *
 * When the publisher goes away the stream ends: frames already received are
 * still handed out, then the subscriber reports PX_EVENT_DISCONNECTED and, unless
 * PX_SUBSCRIBER_NO_RECONNECT is set, tries every 100 ms to connect to a new publisher of the topic
 * (possibly with another layout: PX_EVENT_CONNECTED tells). Frames still held from the old
 * publisher stay readable until released.
 *
 * Thread safety: a subscriber is not thread-safe; use it from one thread at a
 * time. px_frame_release() must be called from the thread that uses the
 * subscriber. Frames may be read from any thread, and imported there
 * (px_vk_import(), px_egl_import()): the import counts in the subscriber's
 * stats are atomic.
 */
#ifndef PIXSHARE_SUBSCRIBER_H
#define PIXSHARE_SUBSCRIBER_H

#include <pixshare/common.h>
#include <pixshare/import.h>
#include <pixshare/layout.h>
#include <pixshare/publisher.h>

#ifdef __cplusplus
extern "C" {
#endif

struct px_subscriber;

/* One buffer of a received frame. */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_frame_buffer {
	int fd;            /* owned by the subscriber: dup() it to keep it */
	uint64_t size;     /* bytes */
	const void *data;  /* read-only CPU mapping, or NULL where not mapped
			      (see px_topic_info.unmapped) */
};

/*
 * A received frame (px_subscriber_receive()) or the application's own memory
 * wrapped as one (px_frame_wrap()). Made by the library only: later versions
 * may add fields at its end, so an application never declares, allocates or
 * copies one, and reads it through the pointer it was given. Every field is
 * read-only for the application and valid until px_frame_release().
 */
struct px_frame {
	const struct px_set_layout *layout;
	uint32_t slot;
	uint32_t n_buffers;
	const struct px_frame_buffer *buffers;
	uint64_t seq;            /* the publisher's frame number, from 1 */
	uint64_t publish_ns;     /* CLOCK_MONOTONIC at px_publisher_publish() */
	uint64_t receive_ns;     /* CLOCK_MONOTONIC when the subscriber read it */
	uint32_t valid_mask;     /* bit i: image i is present */
	/* With PX_SUBSCRIBER_KEEP_FENCES: a sync_file that signals when the
	 * producer's writes are done, or -1. Owned by the frame (dup() it to
	 * keep it): the application must wait for it before reading, e.g. by
	 * importing it as a Vulkan semaphore. Without that flag the library
	 * waits itself and this is always -1. */
	int acquire_fence;
	/* Frames the publisher dropped for this subscriber just before this one
	 * (latest: replaced; queue: queue full). */
	uint32_t dropped_before;
	/* Published before this subscriber connected: the newest frame, handed
	 * to every subscriber as it joins. Its latency is not counted in the
	 * stats. */
	bool replayed;
	struct px_image_info images[PX_MAX_IMAGES];
	/* Identifies the pool the frame's buffers belong to, unique within this
	 * process: importers cache per (pool_id, slot) and drop a cache entry
	 * when its pool_id is no longer seen. A new connection has a new one,
	 * and so does an elastic pool (px_publisher_params.min_pool_size)
	 * whose slot numbers come back with new buffers after it shrank;
	 * frames held keep theirs. */
	uint64_t pool_id;
	/* dev_t of the DRM card node the buffers were allocated on (GBM, dumb),
	 * or 0 where there is none (memfd, dma-heap, udmabuf). An importer on
	 * another device must not assume it can read them. */
	uint64_t device;
	/* Whether the buffers are dma-bufs (else sealed memfds). */
	bool dmabuf;
	/* The buffers are memory a Vulkan device exported as opaque fds, as
	 * the publisher described it (px_external_pool.vulkan), checked
	 * against the layout; NULL where they are not. The subscriber's,
	 * valid while the frame is held. */
	const struct px_vulkan_export *vulkan;
	/* The library's. */
	void *priv;
};

/* The application's own buffers, to import like a received frame
 * (px_vk_import(), px_egl_import(), transforms) through px_frame_wrap(). */
/* Extensible (see common.h): later versions may add fields at its end. */
struct px_frame_desc {
	/* Required, valid (px_layout_validate()). Copied. */
	const struct px_set_layout *layout;
	/* Required: layout->n_buffers entries, copied. `fd`: a dma-buf, a
	 * memfd or a Vulkan device's opaque fd, dup'd (CLOEXEC) by the call,
	 * or -1 for memory that has only a CPU mapping. `data`: a CPU mapping
	 * of at least `size` bytes (read by importers that upload or import
	 * host memory), or NULL; it must stay mapped until the frame is
	 * released. `size`: at least layout->buffer_sizes[b]. */
	const struct px_frame_buffer *buffers;
	/* The fds are dma-bufs: importers try their dma-buf paths. */
	bool dmabuf;
	/* As px_frame.device and px_frame.vulkan (the latter copied). */
	uint64_t device;
	const struct px_vulkan_export *vulkan;
	/* Reported as px_frame.slot: importers cache their imports per
	 * (px_frame.pool_id, slot, image). */
	uint32_t slot;
};

/*
 * Makes a frame of the application's own buffers, owned by the caller until
 * px_frame_release() (which closes the dup'd fds and frees it; the memory
 * stays the application's; px_frame_release_fenced() closes its fence: the
 * application knows when its own device is done). The frame has seq 1,
 * every image valid (px_frame.valid_mask), no fence, zero timestamps, and a
 * pool_id of its own, new for every call: wrap a buffer set once and import
 * it as often as needed, and drop the importers' caches with
 * px_vk_forget_pool() / px_egl_forget_pool() when it goes. Its imports are
 * counted in no subscriber's stats. Returns 0 and `*out`, -EINVAL (a bad
 * layout or buffer, logged), -ENOMEM, or dup()'s errno. Thread-safe.
 */
PX_API int px_frame_wrap_sized(size_t desc_size, const struct px_frame_desc *desc,
			       struct px_frame **out);
#define px_frame_wrap(...) px_frame_wrap_sized(sizeof(struct px_frame_desc), __VA_ARGS__)

/* CPU address (read-only) of plane `plane` of image `image`, or NULL if out of
 * range or not mapped. */
PX_API const void *px_frame_plane(const struct px_frame *frame, uint32_t image, uint32_t plane);

/*
 * Gives a frame back to its publisher (a wrapped one: frees it, see
 * px_frame_wrap()). NULL is a no-op. Releasing a frame twice is a bug
 * (caught by an assertion in debug builds).
 */
PX_API void px_frame_release(struct px_frame *frame);

/*
 * As px_frame_release(), for a consumer whose GPU may still read the frame:
 * `fence` is a sync_file that signals when it is done. Takes ownership of
 * `fence`. The publisher does not write into the slot before it signals.
 * An fd that is not a sync_file is an error of the caller's: it is logged
 * and closed, and the frame released without a fence.
 */
PX_API void px_frame_release_fenced(struct px_frame *frame, int fence);

enum px_subscriber_event {
	PX_EVENT_CONNECTED = 1,    /* connected; the layout may be new */
	PX_EVENT_DISCONNECTED = 2, /* the publisher ended the stream or died */
};

typedef void (*px_frame_fn)(void *userdata, struct px_frame *frame);
typedef void (*px_event_fn)(void *userdata, enum px_subscriber_event event);

/* Flags for px_subscriber_params.flags. */
#define PX_SUBSCRIBER_NO_RECONNECT (1u << 0)
/* Hand frames out at once with their acquire fence (px_frame.acquire_fence)
 * instead of waiting for it: for GPU consumers that wait on the GPU. CPU
 * reads of dma-bufs are then not bracketed with DMA_BUF_IOCTL_SYNC by the
 * library either. */
#define PX_SUBSCRIBER_KEEP_FENCES (1u << 1)
/* The topic belongs to px_subscriber_params.publisher_uid, not to this
 * process's effective uid. */
#define PX_SUBSCRIBER_PUBLISHER_UID (1u << 2)

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_subscriber_params {
	const char *topic;  /* required; copied */
	/* NULL: as the publisher's default; copied. Refused as the
	 * publisher refuses it (another owner, writable by others or the
	 * group: -EACCES; a symbolic link: -ELOOP), logged. */
	const char *dir;
	enum px_qos qos;
	uint32_t queue_depth; /* PX_QOS_QUEUE: 1 … PX_MAX_SLOTS; else ignored */
	/* Frames this subscriber may hold at once; 0 for the publisher's limit. */
	uint32_t max_leases;
	uint32_t flags;
	/* How long px_subscriber_create() waits for the topic to appear: 0
	 * fails at once if it is absent, -1 waits forever. A publisher found
	 * then has handshake_timeout_ms to answer. */
	int connect_timeout_ms;
	/* Shown in the publisher's stats; NULL for the program's name. */
	const char *name;
	/* For px_subscriber_dispatch(): called once per frame; the callback
	 * owns the frame and must release it, now or later. May be NULL if
	 * only px_subscriber_receive() is used. */
	px_frame_fn on_frame;
	/* Called on connection changes; may be NULL. */
	px_event_fn on_event;
	void *userdata;
	/*
	 * With PX_SUBSCRIBER_PUBLISHER_UID: the uid the topic's directory and
	 * its publisher must belong to, for a topic of another user who
	 * allowed this one (px_publisher_params.allow_uids). Without, this
	 * process's effective uid. Checked before anything is sent or mapped:
	 * the directory's owner, then the publisher's uid (SO_PEERCRED) at
	 * every connect; either of another uid fails with -EACCES, logged.
	 */
	uint32_t publisher_uid;
	/* How long one connection attempt waits for the publisher to finish
	 * the handshake (WELCOME and every BUFFERS), at creation and at each
	 * reconnection; 0 for PX_HANDSHAKE_TIMEOUT_MS. */
	uint32_t handshake_timeout_ms;
	/*
	 * Busy-poll budget in µs, 0 (the default) for none; at most
	 * PX_MAX_SPIN_US. For latency-critical subscribers of a steady stream:
	 * when px_subscriber_dispatch() or px_subscriber_receive() waits, and
	 * the next frame is expected (the last frame's publish_ns + the
	 * publisher's period, the median of the last 8 intervals between
	 * frames), the subscriber sleeps until spin_us before it is due, then
	 * polls without sleeping until it comes or spin_us after it was due.
	 * A frame caught so costs no wake-up from sleep. After a miss it does
	 * not spin again until a frame comes, so a stopped or irregular stream
	 * burns no CPU; nothing spins before 4 frames have given the period.
	 * The sleep before the spin ends this thread's timer slack early
	 * (prctl PR_GET_TIMERSLACK: 50 µs by default), which the spin then
	 * covers too; a thread that lowers its slack spins less. An event loop
	 * that waits on px_subscriber_get_fd() itself does not spin. Costs up
	 * to 2 × spin_us (and the slack) of CPU per frame, counted in
	 * px_subscriber_stats.
	 */
	uint32_t spin_us;
};

/*
 * Connects to the topic and receives its pool. Fails with -EINVAL (bad
 * params), -ENOENT (no publisher within connect_timeout_ms), -ECONNREFUSED
 * (the publisher refused: it serves its most subscribers already, or the
 * lease limit asked is above its own), -ENOSPC (the publisher refused: its
 * pool has no room left for this subscriber's leases and queue; see
 * px_publisher_params.pool_size), -EPROTO (the peer spoke wrongly),
 * -ETIMEDOUT (the publisher did not finish the handshake within
 * handshake_timeout_ms), -EACCES (the topic
 * directory or its publisher is not of the expected uid, see `dir` and
 * `publisher_uid`, or the publisher does not allow this uid), -ELOOP (the
 * topic directory is a symbolic link), -EMFILE (the pool has more fds than
 * RLIMIT_NOFILE leaves room for, beside those open: logged with both
 * counts), or the errno of a
 * failing system call. Refusals and
 * protocol errors are logged with the publisher's reason. (A publisher of
 * another implementation may refuse with another errno; it is returned as
 * sent, see docs/protocol.md.)
 */
PX_API int px_subscriber_create_sized(size_t params_size, const struct px_subscriber_params *params,
				      struct px_subscriber **out);
#define px_subscriber_create(...)                                                                  \
	px_subscriber_create_sized(sizeof(struct px_subscriber_params), __VA_ARGS__)

/*
 * Disconnects and frees the subscriber. Frames still held are released first
 * and become invalid. NULL is a no-op.
 */
PX_API void px_subscriber_destroy(struct px_subscriber *sub);

/* A stable fd that is readable when px_subscriber_dispatch() has work
 * (frames, a disconnection, a reconnection attempt due). Owned by the
 * subscriber; do not close it. */
PX_API int px_subscriber_get_fd(const struct px_subscriber *sub);

/*
 * Handles what is pending, waiting up to `timeout_ms` (0: do not wait; -1:
 * forever) for something: frames go to params.on_frame, connection changes
 * to params.on_event. Returns the number of frames delivered (≥ 0; 0 also
 * when a signal interrupted the wait), -EPIPE if the stream ended and
 * reconnection is off, or another negative errno.
 * Without an on_frame callback frames are kept for px_subscriber_receive().
 */
PX_API int px_subscriber_dispatch(struct px_subscriber *sub, int timeout_ms);

/*
 * Returns the next frame, waiting up to `timeout_ms` (0: do not wait; -1:
 * forever). Latest QoS: the newest frame available; older ones that arrived
 * meanwhile are released at once and counted as superseded. Fails with
 * -ETIMEDOUT, -EPIPE (stream ended, no reconnection), -EINTR (a signal
 * interrupted the wait), or another negative errno. The frame is the caller's until
 * px_frame_release().
 */
PX_API int px_subscriber_receive(struct px_subscriber *sub, struct px_frame **frame,
				 int timeout_ms);

/* Whether the subscriber is connected to a publisher now. */
PX_API bool px_subscriber_is_connected(const struct px_subscriber *sub);

/* The current publisher's layout, or NULL while disconnected. Owned by the
 * subscriber; valid until the next dispatch or receive. */
PX_API const struct px_set_layout *px_subscriber_get_layout(const struct px_subscriber *sub);

/* What the subscriber knows of its publisher. */
/* Extensible (see common.h): later versions may add fields at its end. */
struct px_topic_info {
	pid_t publisher_pid;
	enum px_allocator_type allocator;
	bool dmabuf;	     /* buffers are dma-bufs */
	uint64_t device;     /* see px_frame.device */
	uint32_t pool_size;  /* now: an elastic pool grows and shrinks */
	uint32_t max_leases; /* the lease limit granted to this subscriber */
	/* The buffers are a Vulkan device's opaque-fd export (px_frame.vulkan),
	 * made by the device and driver of these UUIDs (else 0). */
	bool vulkan_export;
	uint8_t vulkan_device_uuid[16];
	uint8_t vulkan_driver_uuid[16];
	/* The frames' buffers have no CPU mapping here (px_frame_buffer.data
	 * NULL, px_frame_plane() NULL): the publisher said they are device
	 * memory (px_external_pool.unmapped; px_topic_query() says only this),
	 * or mmap() of their dma-bufs failed here (exporters without mmap). GPU importers read
	 * them: dma-bufs by their dma-buf path, a Vulkan export on its device. */
	bool unmapped;
	char description[64];
	/* Subscribers cannot write into the frames through the fds they hold:
	 * each dma-buf is opened read-only (no writable mapping of it can be
	 * made), each memfd is sealed against writes. Checked by the subscriber
	 * of every fd it received; px_topic_query() reports the publisher's
	 * word. Which allocators give read-only fds: see docs/design.md. A GPU
	 * import of a dma-buf is not bound by this (the kernel does not check
	 * the mode of a dma-buf a GPU driver imports). */
	bool read_only;
};

/* Fills `info`; -ENOTCONN while disconnected. */
PX_API int px_subscriber_get_topic_info_sized(size_t info_size, const struct px_subscriber *sub,
					      struct px_topic_info *info);
#define px_subscriber_get_topic_info(...)                                                          \
	px_subscriber_get_topic_info_sized(sizeof(struct px_topic_info), __VA_ARGS__)

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_subscriber_stats {
	uint64_t received;          /* frames read from the publisher */
	uint64_t delivered;         /* frames handed to the application */
	uint64_t released;
	uint64_t dropped_publisher;  /* dropped for us by the publisher (QoS) */
	uint64_t dropped_superseded; /* latest: released unseen, a newer one came */
	uint64_t connects;	     /* successful connections, the first included */
	uint64_t disconnects;
	uint64_t ended_cleanly;     /* disconnects where the publisher ended the stream */
	uint32_t held;              /* frames the application holds now */
	/* CPU copies of pixel data that GPU importers made of this
	 * subscriber's frames (the upload path, below): one per plane copied
	 * (Vulkan), one per image (EGL). The subscriber itself copies none. */
	uint64_t copies;
	uint64_t copy_bytes;        /* pixel bytes copied by those */
	uint64_t fence_waits;       /* times a frame was held back for its fence */
	uint64_t replayed;          /* frames marked `replayed` (one per connection) */
	uint64_t latency_last_ns;   /* publish → receive of the last frame */
	uint64_t latency_max_ns;
	uint64_t latency_sum_ns;    /* over `received` − `replayed` frames */
	/* Images of this subscriber's frames that a GPU importer used
	 * (px_vk_import(), px_egl_import(), transforms, transform publishers),
	 * by the path each took (<pixshare/import.h>): one per image per
	 * import call, cache hits included, so a frame imported once with two
	 * images counts 2. A pipeline is zero-copy while imported_upload and
	 * `copies` stay 0. */
	uint64_t imported_dmabuf;
	uint64_t imported_host_memory;
	uint64_t imported_upload;
	uint64_t imported_opaque_fd;
	/* The path of the last image counted above; meaningless while they
	 * are all 0. */
	enum px_import_path last_import_path;
	/* Times the publisher's elastic pool grew and shrank on this
	 * subscriber's connections (px_publisher_params.min_pool_size). */
	uint64_t pool_grows;
	uint64_t pool_shrinks;
	/* Busy-poll (px_subscriber_params.spin_us): frames that came while
	 * spinning, spins that ended without one, and the time spent spinning
	 * (the timer slack covered included). */
	uint64_t spin_caught;
	uint64_t spin_missed;
	uint64_t spin_ns;
};

/* Fills `stats`. Returns 0 or -EINVAL. */
PX_API int px_subscriber_get_stats_sized(size_t stats_size, const struct px_subscriber *sub,
					 struct px_subscriber_stats *stats);
#define px_subscriber_get_stats(...)                                                               \
	px_subscriber_get_stats_sized(sizeof(struct px_subscriber_stats), __VA_ARGS__)

/*
 * Asks a topic's publisher for its state without subscribing (what
 * `pixshare list` shows): fills whichever of `info`, `layout`, `stats` and
 * `uptime_ns` (the publisher's age) are not NULL. `info` and `stats` are
 * extensible; `info->max_leases` is the publisher's lease limit. Waits
 * `timeout_ms` at most (< 0: PX_HANDSHAKE_TIMEOUT_MS). Returns 0, -EINVAL (no topic), -ENOENT
 * (no live publisher), -EPROTO, -ETIMEDOUT.
 */
PX_API int px_topic_query_sized(size_t info_size, size_t stats_size, const char *dir,
				const char *topic, int timeout_ms, struct px_topic_info *info,
				struct px_set_layout *layout, struct px_publisher_stats *stats,
				uint64_t *uptime_ns);
#define px_topic_query(...)                                                                        \
	px_topic_query_sized(sizeof(struct px_topic_info), sizeof(struct px_publisher_stats),      \
			     __VA_ARGS__)

/*
 * Lists the topics in `dir` (NULL: the default) that have a socket, live or
 * not: calls `fn` once per name, in no particular order. Returns the count, or
 * a negative errno (-ENOENT if the directory does not exist).
 */
PX_API int px_topic_list(const char *dir, void (*fn)(void *userdata, const char *topic),
			 void *userdata);

/* The directory topics live in when `dir` is NULL, written to `buf`.
 * Returns 0 or -ENAMETOOLONG. */
PX_API int px_topic_default_dir(char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
