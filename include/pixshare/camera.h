/* SPDX-License-Identifier: MIT */
/*
 * pixshare — cameras: a V4L2 capture device as the source of a publisher.
 *
 * A camera negotiates a format, size and rate with a V4L2 capture device and
 * describes the frames it will produce as a set layout of one image. The
 * application creates a publisher with that layout, starts the camera on it,
 * and calls px_camera_dispatch() whenever the camera's fd is readable: every
 * frame the driver has finished is then published, with the driver's capture
 * timestamp and sequence number.
 *
 *     struct px_camera *cam;
 *     px_camera_open(&(struct px_camera_params){.device = "/dev/video0",
 *                    .width = 640, .height = 480, .fps = 30}, &cam);
 *     struct px_publisher_params pp = {.topic = "cam",
 *                    .layout = px_camera_get_layout(cam)};
 *     px_publisher_create(&pp, &pub);
 *     px_camera_start(cam, pub);
 *     for (;;) {
 *             poll px_camera_get_fd(cam) for POLLIN (and the publisher's fd);
 *             px_camera_dispatch(cam);
 *     }
 *
 * Three ways of moving pixels (enum px_camera_io):
 * - dmabuf: the driver writes straight into the publisher's pool
 *   (V4L2_MEMORY_DMABUF); the pool must be made of dma-bufs (GBM, dumb,
 *   dma-heap, udmabuf allocators). No CPU copy.
 * - export: the driver's own buffers (V4L2_MEMORY_MMAP, exported with
 *   VIDIOC_EXPBUF) are the pool; only for a rig that creates its publisher
 *   (see PX_CAMERA_IO_EXPORT below). No CPU copy. Exported read-only: no
 *   one who holds the fds, the publisher included, writes them from the
 *   CPU (px_slot_plane() gives NULL); see writable_dmabufs in publisher.h.
 * - copy: the driver writes into its own buffers (V4L2_MEMORY_MMAP) and each
 *   frame is copied into a slot of the pool: one CPU copy per frame.
 *
 * Buffer life in dmabuf mode: each free slot of the pool (one that no
 * subscriber holds, as px_publisher_acquire() hands out) is queued to the
 * driver, as many as are free (at most 4 per camera in a rig of several).
 * A slot is queued again only once every
 * subscriber has released it, so the driver never writes into a frame
 * someone reads. Subscribers holding many frames can leave fewer than two
 * buffers with the driver, which then drops frames; such moments are counted
 * (px_camera_stats.underruns) and the frames the driver skipped are counted
 * from its sequence numbers (drops). Releases do not wake the camera's fd:
 * while underruns grow, call px_camera_dispatch() at least once per frame
 * period (poll with a timeout) so that released slots are queued again.
 *
 * Thread safety: a camera is not thread-safe, and it uses its publisher from
 * px_camera_start(), px_camera_dispatch() and px_camera_stop(): use both from
 * one thread at a time. Different cameras are independent.
 */
#ifndef PIXSHARE_CAMERA_H
#define PIXSHARE_CAMERA_H

#include <pixshare/common.h>
#include <pixshare/layout.h>
#include <pixshare/publisher.h>

#ifdef __cplusplus
extern "C" {
#endif

struct px_camera;

enum px_camera_io {
	/* dmabuf if the publisher's allocator makes dma-bufs and the driver
	 * accepts V4L2_MEMORY_DMABUF, else copy; the choice and the reason
	 * are logged at PX_LOG_INFO. */
	PX_CAMERA_IO_AUTO = 0,
	/* The driver writes into the publisher's dma-bufs. Zero copies. */
	PX_CAMERA_IO_DMABUF = 1,
	/* The driver's own buffers (V4L2_MEMORY_MMAP), exported with
	 * VIDIOC_EXPBUF, are the pool. Zero copies. Only a rig that creates
	 * its publisher (px_rig_start()) can take it. */
	PX_CAMERA_IO_EXPORT = 2,
	/* The driver's own mmap buffers, copied into the pool. */
	PX_CAMERA_IO_COPY = 3,
};

/* "auto", "dmabuf", "export" or "copy" (static), or NULL for another value. */
PX_API const char *px_camera_io_name(enum px_camera_io io);

/* Parses a name printed by px_camera_io_name(). Returns 0 or -EINVAL. */
PX_API int px_camera_io_from_name(const char *name, enum px_camera_io *io);

/*
 * The DRM fourcc (PX_FORMAT_*) whose memory layout is that of V4L2 pixel
 * format `v4l2_format` (V4L2_PIX_FMT_*), or 0 if the camera code has none:
 * V4L2 names RGB formats by byte order, DRM by a little-endian word, so
 * V4L2's RGB24 (bytes R, G, B) is DRM's BGR888. Thread-safe.
 */
PX_API uint32_t px_camera_format_from_v4l2(uint32_t v4l2_format);

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_camera_params {
	/* Required: the V4L2 device node, e.g. "/dev/video0". Copied. */
	const char *device;
	/* DRM fourcc of the frames (PX_FORMAT_*), mapped to the V4L2 pixel
	 * format that has the same memory layout; 0 keeps the driver's
	 * current format. */
	uint32_t fourcc;
	/* Frame size in pixels; 0 and 0 keep the driver's current size. */
	uint32_t width, height;
	/* Frames per second; 0 keeps the driver's current rate. */
	double fps;
	/* How frames reach the pool; see enum px_camera_io. */
	enum px_camera_io io;
	/* A V4L2 pixel format to take exactly (V4L2_PIX_FMT_*, e.g. NV12M for
	 * NV12 in two buffers on a multi-planar device); overrides `fourcc`.
	 * 0 for none. */
	uint32_t v4l2_format;
};

/*
 * Opens the device and negotiates the format, size and rate.
 * The format and size must be taken exactly: a driver that offers something
 * else fails the open with -ENOTSUP and the formats and sizes the device
 * supports are logged. A rate the driver adjusts is logged and taken.
 * Fails with -EINVAL (bad params), -ENOENT (no such device), -EBUSY (in use),
 * -ENOTSUP (not a streaming capture device, or the format or size is not
 * offered), or the errno of a failing ioctl (logged with its
 * name). On success `*out` owns the device's fd.
 */
PX_API int px_camera_open_sized(size_t params_size, const struct px_camera_params *params,
				struct px_camera **out);
#define px_camera_open(...) px_camera_open_sized(sizeof(struct px_camera_params), __VA_ARGS__)

/*
 * Stops the camera if it is started (see px_camera_stop(); its publisher
 * must still exist then), closes the device and frees the camera. NULL is a
 * no-op.
 */
PX_API void px_camera_close(struct px_camera *cam);

/*
 * The layout of the camera's frames: one image with the driver's
 * bytesperline as its stride and sizeimage as its buffer size. Owned by the
 * camera; valid until px_camera_close(). Pass it to px_publisher_create().
 */
PX_API const struct px_set_layout *px_camera_get_layout(const struct px_camera *cam);

/*
 * The device's fd: readable (POLLIN) when a frame is ready for
 * px_camera_dispatch(); POLLERR after an unplug. Owned by the
 * camera; do not close it. -EINVAL for NULL.
 */
PX_API int px_camera_get_fd(const struct px_camera *cam);

/* The buffer mode in use: the one asked for, or the one AUTO took at
 * px_camera_start() (AUTO before it). */
PX_API enum px_camera_io px_camera_io(const struct px_camera *cam);

/*
 * Allocates the driver's buffers and starts streaming into `pub`, whose
 * layout must be the camera's (strides may differ in copy mode only) and
 * which must outlive the streaming (until px_camera_stop() or
 * px_camera_close()). `pub` is not owned. In dmabuf mode the pool must be
 * dma-bufs and have at most as many slots as the driver gives buffers.
 * Fails with -EINVAL (bad arguments, already started, another layout),
 * -ENOTSUP (dmabuf mode asked for and impossible; why is logged), -EBUSY
 * (another process streams from the device), or an ioctl's errno.
 */
PX_API int px_camera_start(struct px_camera *cam, struct px_publisher *pub);

/*
 * Publishes every frame the driver has finished, then gives the driver
 * every slot that has become free (dmabuf) or its buffers back (copy).
 * Never waits. Returns the number of frames published (≥ 0), -ENODEV when
 * the device was unplugged (the camera is then stopped: close it), -EINVAL
 * if not started, or another ioctl's errno.
 */
PX_API int px_camera_dispatch(struct px_camera *cam);

/*
 * Stops streaming, gives every slot queued to the driver back to the
 * publisher (unpublished) and frees the driver's buffers. The camera may be
 * started again. A camera that is not started is left alone.
 */
PX_API void px_camera_stop(struct px_camera *cam);

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_camera_stats {
	uint64_t frames;    /* frames published (in a rig: images delivered valid) */
	uint64_t copies;    /* CPU copies of a frame's pixels: 0 in dmabuf and export modes */
	uint64_t requeues;  /* buffers given back to the driver after a frame */
	uint64_t drops;	    /* frames the driver skipped (gaps in its sequence numbers) */
	uint64_t discarded; /* frames captured and not published: no free slot
			     * (copy mode), the driver flagged an error, or (rig)
			     * a frame that matched no set */
	uint64_t underruns; /* dispatches that left fewer than 2 buffers queued */
	/* Rigs only (0 for a camera started alone): */
	uint64_t missing;   /* sets finalized without this camera's image */
	uint64_t unsynced;  /* frames outside the tolerance of their set */
	uint64_t realigns;  /* times its buffer queue was shifted to match the others */
	uint64_t stalls;    /* times it was declared stalled (no frame for stall_ns) */
	uint32_t queued;    /* buffers the driver holds now */
	bool stalled;	    /* stalled now: sets are not waiting for it */
	bool gone;	    /* unplugged: its image is missing from every set */
};

/* Fills `stats`. Returns 0 or -EINVAL. */
PX_API int px_camera_get_stats_sized(size_t stats_size, const struct px_camera *cam,
				     struct px_camera_stats *stats);
#define px_camera_get_stats(...)                                                                   \
	px_camera_get_stats_sized(sizeof(struct px_camera_stats), __VA_ARGS__)

/* The device node the camera was opened on (owned by the camera). */
PX_API const char *px_camera_get_device(const struct px_camera *cam);

/*
 * Rigs: several cameras as one publisher whose image set has one image per
 * camera (formats and sizes may differ), matched by capture time.
 *
 *     struct px_camera *cams[2];   (opened with px_camera_open())
 *     struct px_rig *rig;
 *     px_rig_create(cams, 2, &(struct px_rig_params){0}, &rig);
 *     px_rig_start(rig, &(struct px_publisher_params){.topic = "stereo"});
 *     for (;;) {
 *             poll px_rig_get_fd(rig) for POLLIN (timeout: px_rig_timeout_ms());
 *             px_rig_dispatch(rig);
 *     }
 *     px_rig_destroy(rig);         (closes the cameras)
 *
 * Matching. Every camera's capture timestamps are CLOCK_MONOTONIC. A set's
 * reference time is the timestamp shared (within the tolerance) by the most
 * of its images, the lowest camera index breaking ties; an image further than
 * the tolerance from it is not valid in the set (unsynced). A set is final
 * when every camera expected in it has delivered, or `wait_ns` after its
 * first image arrived; a final set missing images is published with its
 * validity mask (PX_RIG_PARTIAL_DELIVER) or dropped (PX_RIG_PARTIAL_DROP),
 * and each camera missing from it counts it (missing). Sets are published in
 * the order of their reference times.
 *
 * Buffers in dmabuf and export modes. Each free slot of the pool is queued to
 * every camera at once (image i's buffers to camera i), so a slot collects
 * one frame from each camera; drivers fill their queues in order, which keeps
 * the cameras in step. A camera found one frame early or late in two sets in
 * a row is realigned: one slot is queued to it alone (early) or withheld
 * from it (late), which shifts its queue by one frame; further off, it is
 * restarted (STREAMOFF, STREAMON) and rejoins with the slots the others have
 * queued and not yet filled. A camera that delivers nothing for `stall_ns`
 * is stalled: sets stop waiting for it (its image is missing), the slots it
 * holds go on being filled by the others, and it rejoins when it delivers
 * again. A slot is queued again only once every subscriber has released it;
 * a stalled camera may meanwhile write into its own image of a slot that is
 * published without that image (its bit is clear in the validity mask): the
 * valid images of a published set are never written. An unplugged camera
 * (ENODEV) is gone: its image is missing from every later set while the
 * others go on; when every camera is gone the rig stops.
 *
 * In copy mode every camera has its own buffers; each frame is copied into
 * the set whose reference time it matches, or starts a new set.
 *
 * Thread safety: a rig is not thread-safe; its cameras belong to it.
 */
struct px_rig;

enum px_rig_partial {
	PX_RIG_PARTIAL_DELIVER = 0, /* publish incomplete sets with their validity mask */
	PX_RIG_PARTIAL_DROP = 1,    /* drop incomplete sets */
};

/* "deliver" or "drop" (static), or NULL for another value. */
PX_API const char *px_rig_partial_name(enum px_rig_partial partial);

/* Parses a name printed by px_rig_partial_name(). Returns 0 or -EINVAL. */
PX_API int px_rig_partial_from_name(const char *name, enum px_rig_partial *partial);

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_rig_params {
	/* Largest difference between a set's images' capture times; 0: half
	 * the frame period of the slowest camera. */
	uint64_t tolerance_ns;
	/* How long after a set's first image the set is final even if
	 * incomplete; 0: the tolerance plus two periods of the slowest
	 * camera. */
	uint64_t wait_ns;
	/* No frame for this long: the camera is stalled; 0: 10 periods of
	 * the camera, at least 250 ms. */
	uint64_t stall_ns;
	enum px_rig_partial partial;
	/* Buffer mode for every camera. AUTO takes dmabuf, else export, else
	 * copy, and logs why each better one was not taken. A camera opened
	 * with another io than AUTO must agree with this one. */
	enum px_camera_io io;
};

/*
 * Makes a rig of `n` cameras (1 … PX_MAX_IMAGES) that are open and not
 * started. On success the rig owns the cameras (px_rig_destroy() closes
 * them); on failure the caller keeps them. Fails with -EINVAL.
 */
PX_API int px_rig_create_sized(size_t params_size, struct px_camera *const *cams, uint32_t n,
			       const struct px_rig_params *params, struct px_rig **out);
#define px_rig_create(...) px_rig_create_sized(sizeof(struct px_rig_params), __VA_ARGS__)

/* Stops the rig if started and closes its cameras. NULL is a no-op. */
PX_API void px_rig_destroy(struct px_rig *rig);

/* The set layout: image i is camera i's, in buffers of its own. Owned by the
 * rig. */
PX_API const struct px_set_layout *px_rig_get_layout(const struct px_rig *rig);

/* Camera i of the rig, or NULL. */
PX_API struct px_camera *px_rig_get_camera(const struct px_rig *rig, uint32_t i);

/*
 * Creates the rig's publisher from `params` (its layout must be NULL: the
 * rig's is used; its allocator is used in dmabuf and copy modes; pool_size 0
 * picks one; min_pool_size must be 0: a camera's pool is fixed, its driver
 * queues every slot) and starts every camera in the rig's buffer mode. Fails with
 * -EINVAL, -ENOTSUP (the mode asked for is impossible; why is logged), or
 * the error of px_publisher_create() or of the driver.
 */
PX_API int px_rig_start_sized(size_t params_size, struct px_rig *rig,
			      const struct px_publisher_params *params);
#define px_rig_start(...) px_rig_start_sized(sizeof(struct px_publisher_params), __VA_ARGS__)

/* Stops every camera and destroys the publisher (subscribers see the stream
 * end). The rig may be started again. */
PX_API void px_rig_stop(struct px_rig *rig);

/* The publisher while started, or NULL. Owned by the rig. */
PX_API struct px_publisher *px_rig_get_publisher(const struct px_rig *rig);

/* The buffer mode the rig runs in (AUTO before px_rig_start()). */
PX_API enum px_camera_io px_rig_io(const struct px_rig *rig);

/*
 * One fd for an event loop: readable when a camera has a frame or the
 * publisher has work. -EINVAL for NULL. Owned by the rig.
 */
PX_API int px_rig_get_fd(const struct px_rig *rig);

/* The longest a caller may wait before calling px_rig_dispatch() again (the
 * next set deadline or stall check), in ms; -1 for no limit. */
PX_API int px_rig_timeout_ms(const struct px_rig *rig);

/*
 * Dequeues every camera's finished frames, publishes the sets that are
 * final, gives buffers back to the drivers and serves the publisher's
 * connections. Never waits. Returns the number of sets published (≥ 0),
 * -ENODEV once every camera is gone (the rig is then stopped), -EINVAL if
 * not started, or another error.
 */
PX_API int px_rig_dispatch(struct px_rig *rig);

/* Extensible (see common.h): later versions may add fields at its end. */
struct px_rig_stats {
	uint64_t sets;	       /* sets published */
	uint64_t complete;     /* of which every image valid */
	uint64_t partial;      /* of which some image missing (deliver policy) */
	uint64_t dropped;      /* incomplete sets dropped (drop policy) */
	uint64_t max_skew_ns;  /* largest spread of valid capture times in a published set */
	uint64_t sum_skew_ns;  /* sum of the spreads over published sets */
};

/* Fills `stats`. Returns 0 or -EINVAL. */
PX_API int px_rig_get_stats_sized(size_t stats_size, const struct px_rig *rig,
				  struct px_rig_stats *stats);
#define px_rig_get_stats(...) px_rig_get_stats_sized(sizeof(struct px_rig_stats), __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif
