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
 * Two ways of moving pixels (enum px_camera_io):
 * - dmabuf: the driver writes straight into the publisher's pool
 *   (V4L2_MEMORY_DMABUF); the pool must be made of dma-bufs (GBM, dumb,
 *   dma-heap, udmabuf allocators). No CPU copy.
 * - copy: the driver writes into its own buffers (V4L2_MEMORY_MMAP) and each
 *   frame is copied into a slot of the pool: one CPU copy per frame.
 *
 * Buffer life in dmabuf mode: each free slot of the pool (one that no
 * subscriber holds, as px_publisher_acquire() hands out) is queued to the
 * driver, as many as are free. A slot is queued again only once every
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
	/* (2 is kept for the export mode: V4L2_MEMORY_MMAP + VIDIOC_EXPBUF.) */
	/* The driver's own mmap buffers, copied into the pool. */
	PX_CAMERA_IO_COPY = 3,
};

/* "auto", "dmabuf" or "copy" (static), or NULL for another value. */
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
};

/*
 * Opens the device and negotiates the format, size and rate.
 * The format and size must be taken exactly: a driver that offers something
 * else fails the open with -ENOTSUP and the formats and sizes the device
 * supports are logged. A rate the driver adjusts is logged and taken.
 * Fails with -EINVAL (bad params), -ENOENT (no such device), -EBUSY (in use),
 * -ENOTSUP (not a single-planar streaming capture device, or the format or
 * size is not offered), or the errno of a failing ioctl (logged with its
 * name). On success `*out` owns the device's fd.
 */
PX_API int px_camera_open(const struct px_camera_params *params, struct px_camera **out);

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

struct px_camera_stats {
	uint64_t frames;    /* frames published */
	uint64_t copies;    /* CPU copies of a frame's pixels: 0 in dmabuf mode */
	uint64_t requeues;  /* buffers given back to the driver after a frame */
	uint64_t drops;	    /* frames the driver skipped (gaps in its sequence numbers) */
	uint64_t discarded; /* frames captured and not published: no free slot
			     * (copy mode) or the driver flagged an error */
	uint64_t underruns; /* dispatches that left fewer than 2 buffers queued */
	uint32_t queued;    /* buffers the driver holds now */
};

/* Fills `stats`. Returns 0 or -EINVAL. */
PX_API int px_camera_get_stats(const struct px_camera *cam, struct px_camera_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
