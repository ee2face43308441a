/* SPDX-License-Identifier: MIT */
/*
 * One V4L2 capture device: capabilities, format negotiation (single- and
 * multi-planar API), and its buffers in the three modes. What becomes of the
 * frames is the rig's business (rig.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include <pixshare/allocator.h>
#include <pixshare/camera.h>

#include "capture/camera_priv.h"
#include "capture/v4l2_format.h"
#include "core/util.h"

PX_API uint32_t px_camera_format_from_v4l2(uint32_t v4l2_format)
{
	return px_v4l2_drm_format(v4l2_format, NULL);
}

static const char *fourcc_str(uint32_t f, char buf[8])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((f >> (8 * i)) & 0xff);
		buf[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	buf[4] = '\0';
	return buf;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret;
	do
		ret = ioctl(fd, req, arg);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

PX_API const char *px_camera_io_name(enum px_camera_io io)
{
	switch (io) {
	case PX_CAMERA_IO_AUTO:
		return "auto";
	case PX_CAMERA_IO_DMABUF:
		return "dmabuf";
	case PX_CAMERA_IO_EXPORT:
		return "export";
	case PX_CAMERA_IO_COPY:
		return "copy";
	}
	return NULL;
}

PX_API int px_camera_io_from_name(const char *name, enum px_camera_io *io)
{
	static const enum px_camera_io all[] = {PX_CAMERA_IO_AUTO, PX_CAMERA_IO_DMABUF,
						PX_CAMERA_IO_EXPORT, PX_CAMERA_IO_COPY};
	if (!name || !io)
		return -EINVAL;
	for (size_t i = 0; i < PX_ARRAY_SIZE(all); i++)
		if (!strcmp(name, px_camera_io_name(all[i]))) {
			*io = all[i];
			return 0;
		}
	return -EINVAL;
}

/* Logs what the device offers: formats, and the discrete sizes of each. */
static void log_supported(struct px_camera *cam)
{
	struct v4l2_fmtdesc fd = {.type = cam->buf_type};
	px_log_error("%s: the device supports:", cam->device);
	for (fd.index = 0; xioctl(cam->fd, VIDIOC_ENUM_FMT, &fd) == 0; fd.index++) {
		char v[8], drm[16], sizes[256] = "";
		uint32_t d = px_v4l2_drm_format(fd.pixelformat, NULL);
		size_t len = 0;
		struct v4l2_frmsizeenum fs = {.pixel_format = fd.pixelformat};
		for (fs.index = 0; xioctl(cam->fd, VIDIOC_ENUM_FRAMESIZES, &fs) == 0; fs.index++) {
			int n;
			if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE)
				n = snprintf(sizes + len, sizeof(sizes) - len, " %ux%u",
					     fs.discrete.width, fs.discrete.height);
			else
				n = snprintf(sizes + len, sizeof(sizes) - len, " %ux%u to %ux%u",
					     fs.stepwise.min_width, fs.stepwise.min_height,
					     fs.stepwise.max_width, fs.stepwise.max_height);
			if (n < 0 || (size_t)n >= sizeof(sizes) - len)
				break;
			len += (size_t)n;
			if (fs.type != V4L2_FRMSIZE_TYPE_DISCRETE)
				break;
		}
		px_log_error("  %s (%s, %s):%s", fourcc_str(fd.pixelformat, v),
			     (const char *)fd.description,
			     d ? px_format_name(d, drm, sizeof(drm)) : "no DRM format",
			     sizes[0] ? sizes : " (sizes not listed)");
	}
}

static int set_rate(struct px_camera *cam, double fps)
{
	struct v4l2_streamparm parm = {.type = cam->buf_type};
	int ret = xioctl(cam->fd, VIDIOC_G_PARM, &parm);
	if (ret) {
		px_log_error("%s: VIDIOC_G_PARM: %s", cam->device, strerror(-ret));
		return ret;
	}
	if (fps > 0 && !(parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME)) {
		px_log_warn("%s: the driver cannot set a frame rate; %.3g fps not set", cam->device,
			    fps);
	} else if (fps > 0) {
		parm.parm.capture.timeperframe.numerator = 1000;
		parm.parm.capture.timeperframe.denominator = (uint32_t)(fps * 1000.0 + 0.5);
		ret = xioctl(cam->fd, VIDIOC_S_PARM, &parm);
		if (ret) {
			px_log_error("%s: VIDIOC_S_PARM: %s", cam->device, strerror(-ret));
			return ret;
		}
	}
	const struct v4l2_fract *t = &parm.parm.capture.timeperframe;
	double got = t->numerator && t->denominator ? (double)t->denominator / t->numerator : 0;
	cam->period_ns = got > 0 ? (uint64_t)(1e9 / got + 0.5) : 0;
	if (fps > 0 && (got < 0.99 * fps || got > 1.01 * fps))
		px_log_warn("%s: asked for %.3g fps, the driver set %.3g", cam->device, fps, got);
	else if (got > 0)
		px_log_info("%s: %.3g fps", cam->device, got);
	return 0;
}

static int negotiate(struct px_camera *cam, const struct px_camera_params *params)
{
	char a[8], b[8], name[16];
	struct v4l2_format fmt = {.type = cam->buf_type};
	int ret = xioctl(cam->fd, VIDIOC_G_FMT, &fmt);
	if (ret) {
		px_log_error("%s: VIDIOC_G_FMT: %s", cam->device, strerror(-ret));
		return ret;
	}
	struct px_v4l2_format cur;
	px_v4l2_format_get(&fmt, cam->mplane, &cur);
	uint32_t want = cur.pixelformat;
	if (params->v4l2_format) {
		want = params->v4l2_format;
	} else if (params->fourcc) {
		want = px_v4l2_of_drm(params->fourcc);
		if (!want) {
			px_log_error("%s: %s has no V4L2 equivalent here", cam->device,
				     px_format_name(params->fourcc, name, sizeof(name)));
			log_supported(cam);
			return -ENOTSUP;
		}
	}
	uint32_t n_mem = 0;
	if (!px_v4l2_drm_format(want, &n_mem)) {
		px_log_error("%s: the format %s has no DRM equivalent here; ask for another",
			     cam->device, fourcc_str(want, a));
		log_supported(cam);
		return -ENOTSUP;
	}
	if (n_mem > 1 && !cam->mplane) {
		px_log_error("%s: %s needs the multi-planar API, which the device has not",
			     cam->device, fourcc_str(want, a));
		log_supported(cam);
		return -ENOTSUP;
	}
	uint32_t w = params->width ? params->width : cur.width;
	uint32_t h = params->height ? params->height : cur.height;
	memset(&fmt.fmt, 0, sizeof(fmt.fmt));
	if (cam->mplane) {
		fmt.fmt.pix_mp.pixelformat = want;
		fmt.fmt.pix_mp.width = w;
		fmt.fmt.pix_mp.height = h;
		fmt.fmt.pix_mp.field = V4L2_FIELD_NONE;
		fmt.fmt.pix_mp.num_planes = (uint8_t)n_mem;
	} else {
		fmt.fmt.pix.pixelformat = want;
		fmt.fmt.pix.width = w;
		fmt.fmt.pix.height = h;
		fmt.fmt.pix.field = V4L2_FIELD_NONE;
	}
	ret = xioctl(cam->fd, VIDIOC_S_FMT, &fmt);
	if (ret == -EBUSY) {
		px_log_error("%s: VIDIOC_S_FMT: %s (another process streams from it)", cam->device,
			     strerror(-ret));
		return ret;
	}
	if (ret) {
		px_log_error("%s: VIDIOC_S_FMT: %s", cam->device, strerror(-ret));
		return ret;
	}
	struct px_v4l2_format cf;
	px_v4l2_format_get(&fmt, cam->mplane, &cf);
	/* "Drivers should not return an error code unless the type field is
	 * invalid": S_FMT adjusts what it cannot do, so check what it set. */
	if (cf.pixelformat != want || cf.width != w || cf.height != h) {
		px_log_error("%s: asked for %s %ux%u, the driver offers %s %ux%u instead",
			     cam->device, fourcc_str(want, a), w, h, fourcc_str(cf.pixelformat, b),
			     cf.width, cf.height);
		log_supported(cam);
		return -ENOTSUP;
	}
	if (cf.field != V4L2_FIELD_NONE) {
		px_log_error("%s: interlaced frames (field %u) are not supported", cam->device,
			     cf.field);
		return -ENOTSUP;
	}
	uint32_t drm = px_v4l2_drm_format(cf.pixelformat, &n_mem);
	cam->v4l2_format = cf.pixelformat;
	cam->n_mem = n_mem;
	char why[200];
	ret = px_v4l2_layout(&cf, drm, n_mem, &cam->layout, why, sizeof(why));
	if (ret) {
		px_log_error("%s: %s", cam->device, why);
		return ret;
	}
	ret = set_rate(cam, params->fps);
	if (ret)
		return ret;
	px_log_info("%s: %s (%s) %ux%u, %u memory plane%s, stride %u, %u bytes%s", cam->device,
		    fourcc_str(cf.pixelformat, a), px_format_name(drm, name, sizeof(name)),
		    cf.width, cf.height, n_mem, n_mem == 1 ? "" : "s", cf.bytesperline[0],
		    cf.sizeimage[0], cam->mplane ? " (multi-planar API)" : "");
	return 0;
}

static int camera_open_impl(const struct px_camera_params *params, struct px_camera **out)
{
	if (!params || !out || !params->device || params->fps < 0 ||
	    (!params->width) != (!params->height) || !px_camera_io_name(params->io))
		return -EINVAL;
	*out = NULL;
	int ret;
	struct px_camera *cam = calloc(1, sizeof(*cam));
	if (!cam)
		return -ENOMEM;
	cam->fd = -1;
	cam->io_asked = params->io;
	cam->device = strdup(params->device);
	if (!cam->device) {
		ret = -ENOMEM;
		goto err_free;
	}
	cam->fd = open(params->device, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (cam->fd < 0) {
		ret = -errno;
		if (ret == -EBUSY)
			px_log_error("%s: open: %s (in use by another process)", cam->device,
				     strerror(-ret));
		else
			px_log_error("%s: open: %s", cam->device, strerror(-ret));
		goto err_free;
	}
	struct v4l2_capability cap = {0};
	ret = xioctl(cam->fd, VIDIOC_QUERYCAP, &cap);
	if (ret) {
		px_log_error("%s: VIDIOC_QUERYCAP: %s%s", cam->device, strerror(-ret),
			     ret == -ENOTTY ? " (not a V4L2 device)" : "");
		if (ret == -ENOTTY)
			ret = -ENOTSUP;
		goto err_close;
	}
	uint32_t caps =
	    cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
	if (caps & V4L2_CAP_VIDEO_CAPTURE) {
		cam->buf_type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	} else if (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE) {
		cam->buf_type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
		cam->mplane = true;
	} else {
		px_log_error("%s (%s): not a video capture device", cam->device,
			     (const char *)cap.driver);
		ret = -ENOTSUP;
		goto err_close;
	}
	if (!(caps & V4L2_CAP_STREAMING)) {
		px_log_error("%s (%s): no streaming I/O (only read())", cam->device,
			     (const char *)cap.driver);
		ret = -ENOTSUP;
		goto err_close;
	}
	ret = negotiate(cam, params);
	if (ret)
		goto err_close;
	*out = cam;
	return 0;

err_close:
	px_close(&cam->fd);
err_free:
	free(cam->device);
	free(cam);
	return ret;
}

PX_API int px_camera_open_sized(size_t size, const struct px_camera_params *params,
				struct px_camera **out)
{
	struct px_camera_params ours;
	if (out)
		*out = NULL;
	if (params) {
		int ret = px_abi_in(&ours, sizeof(ours), params, size,
				    PX_SIZE_THROUGH(struct px_camera_params, v4l2_format),
				    "px_camera_open: struct px_camera_params");
		if (ret)
			return ret;
	}
	return camera_open_impl(params ? &ours : NULL, out);
}

PX_API const struct px_set_layout *px_camera_get_layout(const struct px_camera *cam)
{
	return cam ? &cam->layout : NULL;
}

PX_API int px_camera_get_fd(const struct px_camera *cam)
{
	return cam ? cam->fd : -EINVAL;
}

PX_API const char *px_camera_get_device(const struct px_camera *cam)
{
	return cam ? cam->device : NULL;
}

static int camera_get_stats_impl(const struct px_camera *cam, struct px_camera_stats *stats)
{
	if (!cam || !stats)
		return -EINVAL;
	*stats = cam->stats;
	return 0;
}

PX_API int px_camera_get_stats_sized(size_t size, const struct px_camera *cam,
				     struct px_camera_stats *stats)
{
	struct px_camera_stats ours;
	if (!stats)
		return -EINVAL;
	int ret = camera_get_stats_impl(cam, &ours);
	if (ret)
		return ret;
	return px_abi_out(stats, size, PX_SIZE_THROUGH(struct px_camera_stats, gone), &ours,
			  sizeof(ours), "px_camera_get_stats: struct px_camera_stats");
}

static const char *memory_name(uint32_t memory)
{
	return memory == V4L2_MEMORY_DMABUF ? "DMABUF" : "MMAP";
}

int px_cam_request(struct px_camera *cam, uint32_t memory, uint32_t count, uint32_t *got)
{
	struct v4l2_requestbuffers req = {.count = count, .type = cam->buf_type, .memory = memory};
	int ret = xioctl(cam->fd, VIDIOC_REQBUFS, &req);
	if (ret == -EBUSY)
		px_log_error("%s: VIDIOC_REQBUFS: %s (another process streams from it)",
			     cam->device, strerror(-ret));
	else if (ret && count)
		/* Probing for DMABUF support fails with EINVAL where the
		 * driver lacks it: the caller says what that means. */
		px_log_info("%s: VIDIOC_REQBUFS(%s, %u): %s", cam->device, memory_name(memory),
			    count, strerror(-ret));
	else if (ret && ret != -ENODEV)
		px_log_warn("%s: VIDIOC_REQBUFS(0): %s", cam->device, strerror(-ret));
	if (ret == 0) {
		cam->memory = count ? memory : 0;
		cam->n_buffers = count ? req.count : 0;
	}
	if (got)
		*got = req.count;
	return ret;
}

/* A v4l2_buffer for buffer `index` with its planes array where multi-planar. */
static void buffer_init(const struct px_camera *cam, struct v4l2_buffer *buf,
			struct v4l2_plane *planes, uint32_t index, uint32_t memory)
{
	memset(buf, 0, sizeof(*buf));
	buf->index = index;
	buf->type = cam->buf_type;
	buf->memory = memory;
	buf->field = V4L2_FIELD_NONE;
	if (cam->mplane) {
		memset(planes, 0, sizeof(*planes) * PX_MAX_PLANES);
		buf->m.planes = planes;
		buf->length = cam->n_mem;
	}
}

int px_cam_map(struct px_camera *cam)
{
	if (cam->n_buffers > PX_CAMERA_COPY_BUFFERS)
		return -EINVAL;
	for (uint32_t i = 0; i < cam->n_buffers; i++) {
		struct v4l2_buffer buf;
		struct v4l2_plane planes[PX_MAX_PLANES];
		buffer_init(cam, &buf, planes, i, V4L2_MEMORY_MMAP);
		int ret = xioctl(cam->fd, VIDIOC_QUERYBUF, &buf);
		if (ret) {
			px_log_error("%s: VIDIOC_QUERYBUF(%u): %s", cam->device, i, strerror(-ret));
			return ret;
		}
		for (uint32_t m = 0; m < cam->n_mem; m++) {
			size_t length = cam->mplane ? planes[m].length : buf.length;
			off_t offset = cam->mplane ? (off_t)planes[m].m.mem_offset : buf.m.offset;
			void *p = mmap(NULL, length, PROT_READ, MAP_SHARED, cam->fd, offset);
			if (p == MAP_FAILED) {
				ret = -errno;
				px_log_error("%s: mmap of buffer %u: %s", cam->device, i,
					     strerror(-ret));
				return ret;
			}
			cam->map[i][m] = p;
			cam->map_length[i][m] = length;
		}
	}
	return 0;
}

static void unmap(struct px_camera *cam)
{
	for (uint32_t i = 0; i < PX_CAMERA_COPY_BUFFERS; i++)
		for (uint32_t m = 0; m < PX_MAX_PLANES; m++) {
			if (cam->map[i][m])
				munmap(cam->map[i][m], cam->map_length[i][m]);
			cam->map[i][m] = NULL;
		}
}

int px_cam_export(struct px_camera *cam, uint32_t index, int *fds, bool writable)
{
	for (uint32_t m = 0; m < cam->n_mem; m++) {
		struct v4l2_exportbuffer exp = {.type = cam->buf_type,
						.index = index,
						.plane = m,
						.flags =
						    (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC};
		int ret = xioctl(cam->fd, VIDIOC_EXPBUF, &exp);
		if (ret) {
			px_log_info("%s: VIDIOC_EXPBUF(%u, plane %u): %s", cam->device, index, m,
				    strerror(-ret));
			for (uint32_t k = 0; k < m; k++)
				px_close(&fds[k]);
			return ret == -ENOTTY || ret == -EINVAL ? -ENOTSUP : ret;
		}
		fds[m] = exp.fd;
	}
	return 0;
}

static int queue(struct px_camera *cam, struct v4l2_buffer *buf)
{
	int ret = xioctl(cam->fd, VIDIOC_QBUF, buf);
	if (ret) {
		px_log_error("%s: VIDIOC_QBUF(%u): %s", cam->device, buf->index, strerror(-ret));
		return ret;
	}
	cam->stats.queued++;
	if (cam->streaming)
		cam->stats.requeues++;
	return 0;
}

int px_cam_queue_mmap(struct px_camera *cam, uint32_t index)
{
	struct v4l2_buffer buf;
	struct v4l2_plane planes[PX_MAX_PLANES];
	buffer_init(cam, &buf, planes, index, V4L2_MEMORY_MMAP);
	return queue(cam, &buf);
}

int px_cam_queue_dmabuf(struct px_camera *cam, uint32_t index, const struct px_buffer *bufs)
{
	struct v4l2_buffer buf;
	struct v4l2_plane planes[PX_MAX_PLANES];
	buffer_init(cam, &buf, planes, index, V4L2_MEMORY_DMABUF);
	if (cam->mplane) {
		for (uint32_t m = 0; m < cam->n_mem; m++) {
			planes[m].m.fd = bufs[m].fd;
			planes[m].length = (uint32_t)bufs[m].size;
		}
	} else {
		buf.m.fd = bufs[0].fd;
		buf.length = (uint32_t)bufs[0].size;
	}
	return queue(cam, &buf);
}

/* The capture time of a dequeued buffer on CLOCK_MONOTONIC. */
static uint64_t buffer_time(struct px_camera *cam, const struct v4l2_buffer *buf)
{
	if ((buf->flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
		return (uint64_t)buf->timestamp.tv_sec * 1000000000ull +
		       (uint64_t)buf->timestamp.tv_usec * 1000ull;
	if (!cam->warned_timestamp) {
		px_log_warn("%s: the driver's timestamps are not monotonic (flags 0x%x): "
			    "frames are stamped when dequeued",
			    cam->device, buf->flags);
		cam->warned_timestamp = true;
	}
	return px_now_ns();
}

int px_cam_dequeue(struct px_camera *cam, struct px_cam_frame *f)
{
	struct v4l2_buffer buf;
	struct v4l2_plane planes[PX_MAX_PLANES];
	buffer_init(cam, &buf, planes, 0, cam->memory);
	int ret = xioctl(cam->fd, VIDIOC_DQBUF, &buf);
	if (ret == -EAGAIN)
		return ret;
	if (ret == -ENODEV) {
		px_log_error("%s: VIDIOC_DQBUF: %s (unplugged)", cam->device, strerror(-ret));
		return ret;
	}
	if (ret) {
		px_log_error("%s: VIDIOC_DQBUF: %s", cam->device, strerror(-ret));
		return ret;
	}
	if (buf.index >= cam->n_buffers) {
		px_log_error("%s: VIDIOC_DQBUF gave buffer %u of %u", cam->device, buf.index,
			     cam->n_buffers);
		return -EIO;
	}
	cam->stats.queued--;
	memset(f, 0, sizeof(*f));
	f->index = buf.index;
	f->sequence = buf.sequence;
	f->timestamp_ns = buffer_time(cam, &buf);
	f->error = buf.flags & V4L2_BUF_FLAG_ERROR;
	for (uint32_t m = 0; m < cam->n_mem; m++)
		f->bytesused[m] = cam->mplane ? planes[m].bytesused : buf.bytesused;
	return 0;
}

int px_cam_stream_on(struct px_camera *cam)
{
	int type = (int)cam->buf_type;
	int ret = xioctl(cam->fd, VIDIOC_STREAMON, &type);
	if (ret) {
		px_log_error("%s: VIDIOC_STREAMON: %s", cam->device, strerror(-ret));
		return ret;
	}
	cam->streaming = true;
	cam->have_sequence = false;
	return 0;
}

int px_cam_stream_off(struct px_camera *cam)
{
	int type = (int)cam->buf_type;
	int ret = xioctl(cam->fd, VIDIOC_STREAMOFF, &type);
	if (ret && ret != -ENODEV)
		px_log_warn("%s: VIDIOC_STREAMOFF: %s", cam->device, strerror(-ret));
	/* STREAMOFF returns every buffer; so does an unplug. */
	cam->streaming = false;
	cam->stats.queued = 0;
	return ret;
}

void px_cam_release(struct px_camera *cam)
{
	bool gone = cam->stats.gone;
	if (cam->streaming && px_cam_stream_off(cam) == -ENODEV)
		gone = true;
	cam->streaming = false;
	cam->stats.queued = 0;
	unmap(cam);
	if (cam->memory && !gone)
		px_cam_request(cam, cam->memory, 0, NULL);
	cam->memory = 0;
	cam->n_buffers = 0;
}

uint32_t px_cam_count_sequence(struct px_camera *cam, uint32_t sequence)
{
	uint32_t gap = 0;
	if (cam->have_sequence && sequence > cam->last_sequence + 1)
		gap = sequence - cam->last_sequence - 1;
	cam->stats.drops += gap;
	cam->have_sequence = true;
	cam->last_sequence = sequence;
	return gap;
}

void px_cam_copy(struct px_camera *cam, const struct px_cam_frame *f, const struct px_slot *slot,
		 uint32_t image)
{
	const struct px_image_layout *di = &slot->layout->images[image];
	const struct px_image_layout *si = &cam->layout.images[0];
	const struct px_format_info *info = px_format_get_info(si->fourcc);
	if (info && info->compressed) {
		/* The frame's bytes only: bytesused, bounded by both buffers. */
		const uint8_t *src = cam->map[f->index][0];
		uint8_t *dst = px_slot_plane(slot, image, 0);
		uint64_t room = slot->layout->buffer_sizes[di->planes[0].buffer] - di->planes[0].offset;
		uint64_t n = PX_MIN((uint64_t)f->bytesused[0], cam->map_length[f->index][0]);
		if (src && dst)
			memcpy(dst, src, PX_MIN(n, room));
		cam->stats.copies++;
		return;
	}
	for (uint32_t p = 0; p < si->n_planes; p++) {
		uint32_t m = si->planes[p].buffer;
		const uint8_t *src = (const uint8_t *)cam->map[f->index][m];
		uint8_t *dst = px_slot_plane(slot, image, p);
		uint64_t row = px_image_row_bytes(si, p), rows = px_image_plane_rows(si, p);
		uint64_t need = si->planes[p].offset + (rows ? (rows - 1) * si->planes[p].stride + row : 0);
		if (!src || !dst || need > cam->map_length[f->index][m])
			continue;
		src += si->planes[p].offset;
		if (di->planes[p].stride == si->planes[p].stride) {
			memcpy(dst, src, (rows - 1) * si->planes[p].stride + row);
			continue;
		}
		for (uint64_t y = 0; y < rows; y++)
			memcpy(dst + y * di->planes[p].stride, src + y * si->planes[p].stride, row);
	}
	cam->stats.copies++;
}

void px_cam_close(struct px_camera *cam)
{
	px_cam_release(cam);
	px_close(&cam->fd);
	free(cam->device);
	free(cam);
}
