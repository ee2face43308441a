/* SPDX-License-Identifier: MIT */
/*
 * Inside the capture code: one V4L2 device (v4l2.c, which knows no rig) and
 * the rig that turns one or more of them into image sets (rig.c, which also
 * starts a single camera as a rig of one: px_camera_start()).
 */
#ifndef PX_CAPTURE_CAMERA_PRIV_H
#define PX_CAPTURE_CAMERA_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <pixshare/camera.h>

/* Buffers per camera in copy mode. */
#define PX_CAMERA_COPY_BUFFERS 4

struct px_camera {
	int fd;
	char *device;
	enum px_camera_io io_asked;
	bool mplane;	   /* the multi-planar API */
	uint32_t buf_type; /* V4L2_BUF_TYPE_VIDEO_CAPTURE(_MPLANE) */
	uint32_t n_mem;	   /* memory planes: buffers per frame */
	uint32_t v4l2_format;
	uint64_t period_ns; /* frame period the driver reports, or 0 */
	/* One image, in n_mem buffers of its own; bytesperline and sizeimage
	 * as the driver set them. */
	struct px_set_layout layout;

	/* Buffers given by REQBUFS. */
	uint32_t memory; /* V4L2_MEMORY_*, 0 while none */
	uint32_t n_buffers;
	/* MMAP buffers mapped for copy mode: [buffer][memory plane]. */
	void *map[PX_CAMERA_COPY_BUFFERS][PX_MAX_PLANES];
	size_t map_length[PX_CAMERA_COPY_BUFFERS][PX_MAX_PLANES];
	bool streaming;

	bool have_sequence, warned_timestamp, warned_underrun;
	uint32_t last_sequence;
	struct px_camera_stats stats;

	struct px_rig *rig;  /* the rig it belongs to, or NULL */
	struct px_rig *solo; /* the rig px_camera_start() made */
};

/* A dequeued frame. */
struct px_cam_frame {
	uint32_t index;
	uint32_t sequence;
	uint64_t timestamp_ns; /* CLOCK_MONOTONIC */
	bool error;	       /* the driver flagged V4L2_BUF_FLAG_ERROR */
	uint32_t bytesused[PX_MAX_PLANES];
};

/* VIDIOC_REQBUFS: `count` buffers of `memory` (0 frees them). */
int px_cam_request(struct px_camera *cam, uint32_t memory, uint32_t count, uint32_t *got);
/* Maps the MMAP buffers read-only (copy mode; at most PX_CAMERA_COPY_BUFFERS). */
int px_cam_map(struct px_camera *cam);
/* Exports MMAP buffer `index`'s memory planes as dma-bufs (CLOEXEC) into
 * fds[0 … n_mem-1]; nothing is left open on failure. Read-only (O_RDONLY):
 * the driver writes the frames, and no one who holds an fd can write into
 * them from the CPU; `writable` for importers that map dma-bufs read-write
 * (px_publisher_params.writable_dmabufs). */
int px_cam_export(struct px_camera *cam, uint32_t index, int *fds, bool writable);
int px_cam_queue_mmap(struct px_camera *cam, uint32_t index);
/* Queues buffer `index` with the dma-bufs bufs[0 … n_mem-1]. */
int px_cam_queue_dmabuf(struct px_camera *cam, uint32_t index, const struct px_buffer *bufs);
/* 0, -EAGAIN when nothing is ready, -ENODEV when unplugged, or an errno. */
int px_cam_dequeue(struct px_camera *cam, struct px_cam_frame *f);
int px_cam_stream_on(struct px_camera *cam);
/* STREAMOFF: every queued buffer returns to the application. */
int px_cam_stream_off(struct px_camera *cam);
/* Stops streaming, unmaps and frees the driver's buffers. */
void px_cam_release(struct px_camera *cam);
/* Releases the buffers, closes the device and frees `cam`. */
void px_cam_close(struct px_camera *cam);
/* Copies frame `f` of a mapped MMAP buffer into image `image` of `slot`. */
void px_cam_copy(struct px_camera *cam, const struct px_cam_frame *f, const struct px_slot *slot,
		 uint32_t image);
/* Counts the driver's skipped frames from the sequence numbers; returns how
 * many it skipped just before this one. */
uint32_t px_cam_count_sequence(struct px_camera *cam, uint32_t sequence);

#endif
