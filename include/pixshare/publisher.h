/* SPDX-License-Identifier: MIT */
/*
 * pixshare — the publisher: owns a pool of image sets and shares it.
 *
 * A publisher listens on a Unix socket named after its topic, in
 * $PIXSHARE_DIR, else $XDG_RUNTIME_DIR/pixshare, else /tmp/pixshare-<uid>.
 * Subscribers connect, receive the pool's fds once, and then one small
 * message per frame. The publisher alone counts who holds which slot.
 *
 * Typical loop:
 *
 *     struct px_slot *slot;
 *     px_publisher_acquire(pub, 100, &slot);
 *     ... write pixels through slot->buffers[b].data or px_slot_plane(), with the
 *         strides of px_publisher_get_layout() (px_image_write() copies an image) ...
 *     px_publisher_publish(pub, slot, NULL);
 *
 * The publisher has no thread of its own. It accepts subscribers and handles
 * their releases whenever the application calls px_publisher_dispatch(),
 * px_publisher_acquire() or px_publisher_publish(). A release does not by
 * itself wake a publisher waiting in px_publisher_dispatch() (a release is of
 * no use before the next acquire); connections, hang-ups, reliable
 * subscribers' messages and anything an acquire is waiting for do. An application that does
 * not publish often should poll px_publisher_get_fd() and call
 * px_publisher_dispatch() when it is readable, so that new subscribers are
 * served promptly.
 *
 * Thread safety: a publisher is not thread-safe. Use each one from one thread
 * at a time. Different publishers are independent.
 */
#ifndef PIXSHARE_PUBLISHER_H
#define PIXSHARE_PUBLISHER_H

#include <sys/types.h>

#include <pixshare/allocator.h>
#include <pixshare/common.h>
#include <pixshare/layout.h>

#ifdef __cplusplus
extern "C" {
#endif

struct px_publisher;

/*
 * Memory a Vulkan device allocated and exported as opaque fds
 * (VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT), described so that a
 * subscriber's Vulkan device can import those fds as what they are
 * (px_vk_import()'s PX_IMPORT_OPAQUE_FD). Vulkan allows that import only on
 * a device with the exporter's deviceUUID and driverUUID
 * (VkPhysicalDeviceIDProperties), with the allocation's size and memory type
 * index, and, for a dedicated allocation, into a buffer made with the same
 * size and usage: the importer needs all of it, and the fd carries none of
 * it. Plain numbers: the core does not depend on Vulkan. px_vk_pool fills
 * one in for its opaque-fd pools (px_vk_pool_get_external()).
 */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_vulkan_export {
	uint8_t device_uuid[16];
	uint8_t driver_uuid[16];
	uint32_t memory_type;  /* memoryTypeIndex of every buffer's memory: < 32 */
	uint32_t buffer_usage; /* VkBufferUsageFlags of the exporter's VkBuffers: not 0 */
	bool dedicated;	       /* each memory is dedicated to its VkBuffer */
	/* Per buffer b of the set, the same in every slot: */
	/* VkMemoryAllocateInfo.allocationSize: not 0. */
	uint64_t allocation_size[PX_MAX_BUFFERS];
	/* Where byte 0 of the memory lies in the fd (the layout's offsets are
	 * the fd's; an opaque fd may start with the driver's header). */
	uint64_t offset[PX_MAX_BUFFERS];
	/* The size of the exporter's VkBuffer, bound at byte 0 of the memory:
	 * 1 … allocation_size. Every plane of the layout that lies in buffer b
	 * lies within bytes offset … offset + buffer_size of the fd. */
	uint64_t buffer_size[PX_MAX_BUFFERS];
};

/* Buffers the application made, to be the pool as they are. */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_external_pool {
	uint32_t n_slots;  /* the pool's size; 3 … PX_MAX_SLOTS, as pool_size */
	/* n_slots × layout.n_buffers fds, slot-major: fds[s * n_buffers + b] is
	 * buffer b of slot s. Dup'd (CLOEXEC) by px_publisher_create(): the
	 * caller keeps its own and may close them. */
	const int *fds;
	/* dev_t of the DRM device the buffers live on, or 0. */
	uint64_t device;
	/* NULL, or what the Vulkan device that exported the fds as opaque fds
	 * made (see above): sent to every subscriber, checked against the
	 * layout by px_publisher_create() (-EINVAL, the reason logged). Read
	 * during the call only. */
	const struct px_vulkan_export *vulkan;
	/*
	 * The fds are memory no CPU maps: device memory, e.g. a Vulkan device's
	 * opaque fds that are neither dma-bufs nor memfds (which the publisher
	 * otherwise refuses). The publisher neither maps nor checks them
	 * beyond fstat() (px_slot_plane() gives NULL: the application writes
	 * the slots on its device), and tells its subscribers not to map them
	 * (their frames' buffers have no `data`; px_topic_info.unmapped). Fds
	 * that are not dma-bufs need `vulkan`: only a device of the exporter's
	 * UUIDs can read them then (PX_IMPORT_OPAQUE_FD); px_publisher_create()
	 * refuses them without it (-EINVAL).
	 */
	bool unmapped;
};

/* What a publisher does with a stalled subscriber: one that has held a frame
 * longer than px_publisher_params.release_timeout_ms (stopped, in a
 * debugger, hung). It is logged once (with its pid) and counted
 * (px_publisher_stats.stalled) whatever the policy. */
enum px_stall_policy {
	/* Logged only (the default): a stalled reliable subscriber holds the
	 * publisher up for as long as it stays stalled. */
	PX_STALL_LOG = 0,
	/* Reliable subscribers are disconnected (END with -ETIMEDOUT), so that
	 * the publisher, which waits for them, goes on; the others are left
	 * connected: they tie up only their own leases. For cameras. */
	PX_STALL_DISCONNECT_RELIABLE = 1,
	/* Every stalled subscriber is disconnected. */
	PX_STALL_DISCONNECT = 2,
};

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_publisher_params {
	/* Required. See PX_TOPIC_MAX for what a name may contain. Copied. */
	const char *topic;
	/* Directory of the topic's socket; NULL for the default (see above).
	 * Created (mode 0700) if missing. It must belong to this process's
	 * effective uid and be writable by nobody else, and not be a symbolic
	 * link: else -EACCES (-ELOOP), logged. Copied. */
	const char *dir;
	/* Required. Validated with px_layout_validate(). Copied. The
	 * allocator may change strides, offsets, modifiers and buffer sizes
	 * (GBM picks its own): px_publisher_get_layout() gives the real one. */
	const struct px_set_layout *layout;
	/* PX_ALLOCATOR_AUTO tries the allocators of px_allocator_list() in
	 * order and logs why each better one was not taken; an explicit one
	 * is used or fails, never replaced silently. */
	enum px_allocator_type allocator;
	/* The allocator's device: a DRM card node for GBM and dumb buffers,
	 * a heap name for dma-heap; NULL for the allocator's default. Copied. */
	const char *device;
	/* Slots in the pool; 0 for 2 + max_subscribers × (max_leases + 1).
	 * At least 3, at most PX_MAX_SLOTS. */
	uint32_t pool_size;
	/* Subscribers served at once; 0 for 4. A subscriber beyond this, or
	 * one whose lease limit and queue do not fit into the slots the pool
	 * has left, is refused with a reason. */
	uint32_t max_subscribers;
	/* Most frames one subscriber may hold; 0 for 2. Subscribers may ask for
	 * fewer, never more. At most PX_MAX_LEASES. */
	uint32_t max_leases;
	/* Permissions of the socket (0 … 0777): who may connect at all. 0 for
	 * 0600, or 0666 where allow_uids or allow_gids name anyone (who may
	 * subscribe is then decided by those lists). Set on the socket before
	 * it is bound: never looser, not even for a moment. */
	mode_t socket_mode;
	/* Name shown by `pixshare list`; NULL for the program's name. Copied. */
	const char *description;
	/*
	 * NULL: the allocator makes the pool. Otherwise the pool is exactly
	 * these buffers, which the application made (a V4L2 device's
	 * VIDIOC_EXPBUF dma-bufs, memory a Vulkan device exported, memfds), and
	 * px_publisher_get_allocator() says PX_ALLOCATOR_EXTERNAL. Then
	 * `allocator` must be PX_ALLOCATOR_AUTO or PX_ALLOCATOR_EXTERNAL,
	 * `pool_size` 0 or n_slots, `device` NULL; the layout is used as given
	 * (nothing adjusts it). The buffers must be all dma-bufs or all memfds
	 * sealed with at least F_SEAL_SHRINK (what subscribers require; a
	 * memfd must also still be mappable read-write, so not sealed against
	 * writes), each at least layout.buffer_sizes[b] bytes, and no buffer
	 * may appear twice. The publisher maps them read-write where it can
	 * (a dma-buf whose exporter refuses mmap gets data NULL). A pool that
	 * breaks a rule fails with -EINVAL, the slot, buffer and reason logged.
	 * Read during the call only; the fds are dup'd.
	 */
	const struct px_external_pool *external;
	/*
	 * Who may subscribe (or query the topic) besides processes of this
	 * process's effective uid, which always may. Every connection's peer
	 * is read with SO_PEERCRED (uid, primary gid, pid) and SO_PEERGROUPS
	 * (supplementary groups); one of no uid of allow_uids and no gid of
	 * allow_gids is refused with -EACCES (REFUSE), logged once per uid
	 * with its pid. At most PX_MAX_ALLOW of each; copied. With any, the
	 * socket's default mode is 0666 and a missing topic directory is
	 * made 0711 (others may pass through it, not list it); an existing
	 * one must let them pass through (its `x` bits). Subscribers of
	 * another uid name this one (px_subscriber_params.publisher_uid).
	 */
	const uint32_t *allow_uids;
	uint32_t n_allow_uids;
	const uint32_t *allow_gids;
	uint32_t n_allow_gids;
	/* The release deadline in ms; 0 for 5000. Checked whenever the
	 * publisher acquires or dispatches (a wait ends by it). */
	uint32_t release_timeout_ms;
	/* See enum px_stall_policy; 0 is PX_STALL_LOG. */
	enum px_stall_policy stall_policy;
	/* A connection (subscriber or query) that has not finished its
	 * handshake this long after it was accepted is closed without a
	 * message and logged with its pid; 0 for PX_HANDSHAKE_TIMEOUT_MS. */
	uint32_t handshake_timeout_ms;
	/*
	 * Subscribers receive read-only fds wherever the allocator can make
	 * them (dumb and GBM dma-bufs; memfds are sealed against writes, see
	 * docs/design.md), so they cannot write into frames from the CPU.
	 * true makes dumb and GBM (and a rig's cameras in export mode, see
	 * camera.h) export read-write dma-bufs instead, for
	 * importers that map dma-bufs writable to import them at all (Mesa's
	 * lavapipe and llvmpipe do; GPU drivers import without mapping).
	 */
	bool writable_dmabufs;
	/*
	 * 0: the pool has `pool_size` slots for the publisher's life. Else
	 * the pool is elastic: it starts with min_pool_size slots (3 …
	 * the pool's size) and grows when a subscriber is admitted that the
	 * slots there are do not hold (2 + every subscriber's leases and
	 * queue), up to `pool_size` (its default as above), sending the new
	 * slots to the subscribers streaming (wire GROW); it shrinks when
	 * subscribers leave, retiring the highest slots once no one holds
	 * them, never below min_pool_size (wire SHRINK). Memory is allocated
	 * and freed with the slots (a subscriber's GPU import keeps a retired
	 * slot's memory until the importer drops it). Not with `external`
	 * (-EINVAL). A slot index may come back with other buffers after a
	 * shrink: read px_slot.buffers at every acquire and keep nothing per
	 * index (px_publisher_get_pool_size() is the size now).
	 */
	uint32_t min_pool_size;
};

/* Most entries of px_publisher_params.allow_uids and .allow_gids. */
#define PX_MAX_ALLOW 32

/*
 * Creates the pool and starts listening.
 * Fails with -EINVAL (bad params; reason logged), -EADDRINUSE (the topic is
 * published by a live process; its pid is logged), -ENOMEM, -ENOTSUP (the
 * allocator is not available here), -EACCES or -ELOOP (the topic directory
 * is not this user's own, see `dir`), or the errno of a failing system call.
 * A socket left behind by a publisher that died is detected and replaced.
 * On success `*out` owns the pool, the socket and a lock file next to it.
 */
PX_API int px_publisher_create_sized(size_t params_size, const struct px_publisher_params *params,
				     struct px_publisher **out);
#define px_publisher_create(...)                                                                   \
	px_publisher_create_sized(sizeof(struct px_publisher_params), __VA_ARGS__)

/*
 * Ends every subscriber's stream (they see the stream end and may reconnect
 * to a successor), removes the socket, frees the pool. NULL is a no-op.
 * Slots acquired and not published become invalid.
 */
PX_API void px_publisher_destroy(struct px_publisher *pub);

/* The publisher's layout; owned by the publisher. */
PX_API const struct px_set_layout *px_publisher_get_layout(const struct px_publisher *pub);

/* Slots in the pool now (an elastic pool's changes: min_pool_size). */
PX_API uint32_t px_publisher_get_pool_size(const struct px_publisher *pub);

/* The allocator that was used (never PX_ALLOCATOR_AUTO). */
PX_API enum px_allocator_type px_publisher_get_allocator(const struct px_publisher *pub);

/* Whether the pool's buffers are dma-bufs, for every allocator (an external
 * pool's answer depends on the buffers it was given). False for NULL. */
PX_API bool px_publisher_is_dmabuf(const struct px_publisher *pub);

/* Whether the pool's buffers have CPU mappings (px_slot_plane() gives
 * addresses). False for device memory: an external pool's `unmapped` fds,
 * and dma-bufs whose exporter does not support mmap; such a pool is written
 * by a device, and its subscribers are told not to map it. False for NULL. */
PX_API bool px_publisher_is_mapped(const struct px_publisher *pub);

/* dev_t of the DRM card node the pool's buffers were allocated on (GBM,
 * dumb; an external pool's px_external_pool.device), as subscribers see it
 * in px_frame.device; 0 where there is none or pub is NULL. */
PX_API uint64_t px_publisher_get_device(const struct px_publisher *pub);

/*
 * A file descriptor that becomes readable when the publisher has work
 * (a subscriber connecting, releasing or leaving). Owned by the publisher;
 * do not close it. Stable for the publisher's life.
 */
PX_API int px_publisher_get_fd(const struct px_publisher *pub);

/*
 * Handles all pending work, waiting up to `timeout_ms` (0: do not wait;
 * -1: forever) for some to arrive. Returns the number of events handled (≥ 0),
 * or a negative errno on a failure of the publisher itself. A misbehaving
 * subscriber is disconnected with a logged reason and is not an error here.
 * EINTR is not an error either: the call returns 0.
 */
PX_API int px_publisher_dispatch(struct px_publisher *pub, int timeout_ms);

/*
 * As px_publisher_dispatch(), with an absolute deadline: waits until
 * `deadline_ns` (CLOCK_MONOTONIC, see px_now_ns()) at most, with nanosecond
 * precision, so that a paced publisher can serve subscribers and sleep until
 * its next frame in one call. Returns as soon as something was handled; loop
 * until the deadline if the wait itself matters.
 */
PX_API int px_publisher_dispatch_until(struct px_publisher *pub, uint64_t deadline_ns);

/* One buffer of a slot. */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_buffer {
	int fd;         /* owned by the publisher; -1 if none */
	uint64_t size;  /* bytes */
	void *data;     /* CPU mapping (read-write), or NULL where not mappable */
};

/* A slot handed to the application by px_publisher_acquire(). */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_slot {
	uint32_t index;
	uint32_t n_buffers;
	const struct px_buffer *buffers;       /* n_buffers entries */
	const struct px_set_layout *layout;
};

/*
 * Returns a slot that no subscriber holds, for the application to fill. A
 * slot that subscribers released with a fence is only handed out after the
 * fence has signaled; on dma-bufs the fence joins the buffers' implicit
 * fences, which GPU writers wait for, and a slot the CPU writes (mapped) is
 * only handed out once every implicit fence of its buffers has signaled
 * (those a subscriber imported itself included), so that the
 * DMA_BUF_IOCTL_SYNC bracketing the CPU's writes never waits past
 * `timeout_ms`.
 * Waits up to `timeout_ms` (0: do not wait; -1: forever) for one to free,
 * handling subscribers meanwhile. Fails with -EAGAIN when none freed in time:
 * only possible with reliable subscribers, or when a slot was acquired and
 * not yet published or cancelled; -EBUSY when no slot is free and the
 * application already holds all but one of the pool's slots.
 * The slot stays the application's until px_publisher_publish() or
 * px_publisher_cancel(); `*slot` is owned by the publisher.
 *
 * Nothing clears a slot: it holds what was last written into it, the pixels
 * of an earlier frame (never the newest one, which the publisher keeps for
 * subscribers that join) or what was written before a cancel, padding
 * included. A slot never used holds what its allocator made: zeroes from
 * memfd, udmabuf and dma-heap; from DRM dumb buffers and GBM what the driver
 * gives (zeroes, as a rule, but not promised); an external pool's buffers
 * what the application put there. Write every row of every image the frame
 * says is valid (px_publish_info.valid_mask), with the strides of
 * px_publisher_get_layout().
 */
PX_API int px_publisher_acquire(struct px_publisher *pub, int timeout_ms, struct px_slot **slot);

/*
 * Acquires slot `index` itself, for an application whose producer decides
 * which buffer it fills next: an external pool whose buffers another
 * component cycles (a GStreamer element's own buffer pool, a driver's
 * queue). The application lets its producer write into that buffer only
 * after this call succeeded, and publishes or cancels the slot as one from
 * px_publisher_acquire(). Never waits, and reads no subscriber message:
 * call px_publisher_dispatch() first for releases that came (once for any
 * number of slots). Returns 0; -EBUSY while subscribers hold the slot, it is
 * the newest frame (kept for subscribers that join) or the fence a
 * subscriber released it with (on dma-bufs the CPU writes: any of their
 * implicit fences) has not signaled; -EALREADY if the
 * application holds it already; -EINVAL for an index beyond the pool.
 */
PX_API int px_publisher_acquire_index(struct px_publisher *pub, uint32_t index,
				      struct px_slot **slot);

/* CPU address of plane `plane` of image `image` in a slot, or NULL if the
 * indices are out of range or the buffer is not mapped. */
PX_API void *px_slot_plane(const struct px_slot *slot, uint32_t image, uint32_t plane);

/* Per-image metadata of a frame. */
/* Frozen (see common.h): part of the ABI as it is. */
struct px_image_info {
	uint64_t timestamp_ns; /* capture time, CLOCK_MONOTONIC */
	uint64_t sequence;     /* the source's own frame counter */
	/* Compressed images (PX_FORMAT_MJPEG): the bytes of this frame, from
	 * the plane's offset, 1 … buffer size − offset. 0 for other formats. */
	uint64_t bytes;
};

/* Flags for px_publish_info.flags. */
/* The slot was written by a GPU (or another device) through its dma-bufs:
 * export their implicit fences (DMA_BUF_IOCTL_EXPORT_SYNC_FILE) and send them
 * with the frame, so that subscribers wait for the writes to finish. Needs a
 * dma-buf allocator and Linux 6.0. */
#define PX_PUBLISH_IMPLICIT_FENCE (1u << 0)

/* Frozen (see common.h): part of the ABI as it is. */
struct px_publish_info {
	/* Which images are present: bit i for image i. 0 means all. */
	uint32_t valid_mask;
	uint32_t flags;
	struct px_image_info images[PX_MAX_IMAGES];
};

/*
 * Publishes a filled slot to every subscriber according to its QoS, and gives
 * the slot back to the publisher. `info` may be NULL: every image present,
 * captured now, with the frame's sequence number. Frames are numbered
 * 1, 2, 3… in publish order. Returns 0, or -EINVAL if `slot` is not one the
 * application holds. Delivery problems of single subscribers are not errors:
 * they are counted in their stats.
 */
PX_API int px_publisher_publish(struct px_publisher *pub, struct px_slot *slot,
				const struct px_publish_info *info);

/*
 * As px_publisher_publish(), with an explicit acquire fence: a sync_file that
 * signals when the producer's writes to the slot are done (e.g. exported from
 * a Vulkan semaphore or an EGL fence). Takes ownership of `fence`, also on
 * failure. Subscribers receive the fence with the frame and do not read before
 * it signals (see PX_SUBSCRIBER_KEEP_FENCES). Returns as px_publisher_publish(),
 * and -EINVAL for a `fence` that is not a sync_file (logged). A subscriber
 * takes only sync_files as fences: any other fd ends its connection as a
 * protocol error, and so does a publisher for a subscriber's release fence.
 */
PX_API int px_publisher_publish_fenced(struct px_publisher *pub, struct px_slot *slot,
				       const struct px_publish_info *info, int fence);

/* Gives back an acquired slot without publishing it. NULL is a no-op. */
PX_API void px_publisher_cancel(struct px_publisher *pub, struct px_slot *slot);

enum px_qos {
	/* Hold at most the lease limit; when behind, undelivered frames are
	 * replaced by newer ones and counted as drops. Never blocks the
	 * publisher. The default. */
	PX_QOS_LATEST = 0,
	/* Up to `queue_depth` undelivered frames; the oldest is dropped first. */
	PX_QOS_QUEUE = 1,
	/* Never drops: the publisher's acquire waits for this subscriber. */
	PX_QOS_RELIABLE = 2,
};

/* Returns "latest", "queue" or "reliable" (static), or NULL. */
PX_API const char *px_qos_name(enum px_qos qos);

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_publisher_stats {
	uint64_t published;         /* frames published */
	uint64_t acquire_waits;     /* acquires that found no free slot at first */
	uint64_t acquire_timeouts;  /* acquires that failed with -EAGAIN */
	uint32_t n_subscribers;     /* streaming now */
	uint64_t subscribers_total; /* ever accepted */
	uint64_t refused;           /* connections refused (pool full, bad hello) */
	uint64_t protocol_errors;   /* connections closed for a malformed message */
	uint32_t free_slots;        /* slots no one holds right now */
	double rate_hz;             /* publish rate over the last frames (≤ 2 s) */
	/* Subscribers found past the release deadline (see enum
	 * px_stall_policy). Not sent to queries (px_topic_query(): 0). */
	uint64_t stalled;
	/* The pool's size now, and how often an elastic pool grew and shrank
	 * (px_publisher_params.min_pool_size). Not sent to queries. */
	uint32_t pool_size;
	uint64_t pool_grows, pool_shrinks;
};

/* Fills `stats`. Returns 0 or -EINVAL. */
PX_API int px_publisher_get_stats_sized(size_t stats_size, const struct px_publisher *pub,
					struct px_publisher_stats *stats);
#define px_publisher_get_stats(...)                                                                \
	px_publisher_get_stats_sized(sizeof(struct px_publisher_stats), __VA_ARGS__)

/* What the publisher knows of one subscriber. */
/* Extensible (see common.h): later versions may add fields at its end. */
struct px_subscriber_info {
	uint64_t id;               /* 1, 2, 3… in the order subscribers started streaming */
	pid_t pid;                 /* from SO_PEERCRED */
	char name[32];             /* as the subscriber said, NUL-terminated */
	enum px_qos qos;
	uint32_t queue_depth;
	uint32_t max_leases;
	uint32_t leases;           /* frames it holds now */
	uint32_t pending;          /* frames waiting for it to release one */
	uint64_t delivered;        /* FRAME messages sent */
	uint64_t released;
	uint64_t dropped_replaced; /* latest: a newer frame replaced it */
	uint64_t dropped_queue;    /* queue(n): queue full, oldest dropped */
};

/*
 * Fills `info` for the `index`-th streaming subscriber (0 ≤ index <
 * stats.n_subscribers). Returns 0, or -ENOENT past the end.
 */
PX_API int px_publisher_get_subscriber_sized(size_t info_size, const struct px_publisher *pub,
					     uint32_t index, struct px_subscriber_info *info);
#define px_publisher_get_subscriber(...)                                                           \
	px_publisher_get_subscriber_sized(sizeof(struct px_subscriber_info), __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif
