/* SPDX-License-Identifier: MIT */
/* A V4L2 capture device as the source of a publisher: dmabuf and copy modes. */
#include <assert.h>
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

#include "core/util.h"

#define COPY_BUFFERS 4

struct copy_buffer {
	void *data;
	size_t length;
};

struct px_camera {
	int fd;
	char *device;
	enum px_camera_io io_asked, io;
	struct px_set_layout layout;
	uint32_t v4l2_format;
	struct px_publisher *pub; /* while started */
	uint32_t n_buffers;	  /* the driver's, after REQBUFS */
	/* dmabuf: the slot queued as buffer i, or NULL. */
	struct px_slot *queued_slots[PX_MAX_SLOTS];
	struct copy_buffer copy[COPY_BUFFERS];
	bool streaming, have_sequence, warned_timestamp, warned_underrun;
	uint32_t last_sequence;
	struct px_camera_stats stats;
};

/* V4L2 pixel formats and the DRM fourccs with the same bytes in memory. */
static const struct {
	uint32_t v4l2, drm;
} formats[] = {
    {V4L2_PIX_FMT_YUYV, PX_FORMAT_YUYV},
    {V4L2_PIX_FMT_UYVY, PX_FORMAT_UYVY},
    {V4L2_PIX_FMT_GREY, PX_FORMAT_R8},
    {V4L2_PIX_FMT_Y16, PX_FORMAT_R16},
    /* V4L2 names RGB formats by byte order, DRM by a little-endian word. */
    {V4L2_PIX_FMT_RGB24, PX_FORMAT_BGR888},    /* bytes R, G, B */
    {V4L2_PIX_FMT_BGR24, PX_FORMAT_RGB888},    /* bytes B, G, R */
    {V4L2_PIX_FMT_XBGR32, PX_FORMAT_XRGB8888}, /* bytes B, G, R, X */
    {V4L2_PIX_FMT_ABGR32, PX_FORMAT_ARGB8888}, /* bytes B, G, R, A */
    {V4L2_PIX_FMT_RGBX32, PX_FORMAT_XBGR8888}, /* bytes R, G, B, X */
    {V4L2_PIX_FMT_RGBA32, PX_FORMAT_ABGR8888}, /* bytes R, G, B, A */
    {V4L2_PIX_FMT_NV12, PX_FORMAT_NV12},
};

static uint32_t drm_of_v4l2(uint32_t v4l2)
{
	for (size_t i = 0; i < PX_ARRAY_SIZE(formats); i++)
		if (formats[i].v4l2 == v4l2)
			return formats[i].drm;
	return 0;
}

PX_API uint32_t px_camera_format_from_v4l2(uint32_t v4l2_format)
{
	return drm_of_v4l2(v4l2_format);
}

static uint32_t v4l2_of_drm(uint32_t drm)
{
	for (size_t i = 0; i < PX_ARRAY_SIZE(formats); i++)
		if (formats[i].drm == drm)
			return formats[i].v4l2;
	return 0;
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
	case PX_CAMERA_IO_COPY:
		return "copy";
	}
	return NULL;
}

PX_API int px_camera_io_from_name(const char *name, enum px_camera_io *io)
{
	static const enum px_camera_io all[] = {PX_CAMERA_IO_AUTO, PX_CAMERA_IO_DMABUF,
						PX_CAMERA_IO_COPY};
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
	struct v4l2_fmtdesc fd = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	px_log_error("%s: the device supports:", cam->device);
	for (fd.index = 0; xioctl(cam->fd, VIDIOC_ENUM_FMT, &fd) == 0; fd.index++) {
		char v[8], drm[16], sizes[256] = "";
		uint32_t d = drm_of_v4l2(fd.pixelformat);
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

static int build_layout(struct px_camera *cam, const struct v4l2_pix_format *pix, uint32_t drm)
{
	const struct px_format_info *info = px_format_get_info(drm);
	if (!info)
		return -ENOTSUP;
	struct px_set_layout *l = &cam->layout;
	memset(l, 0, sizeof(*l));
	l->n_images = 1;
	l->n_buffers = 1;
	l->buffer_sizes[0] = pix->sizeimage;
	struct px_image_layout *img = &l->images[0];
	img->fourcc = drm;
	img->width = pix->width;
	img->height = pix->height;
	img->n_planes = info->n_planes;
	img->modifier = PX_MODIFIER_LINEAR;
	uint64_t offset = 0;
	for (uint32_t p = 0; p < info->n_planes; p++) {
		/* Single-planar V4L2 formats: the planes follow one another
		 * in one buffer; NV12's CbCr plane has the luma plane's
		 * bytesperline (the only multi-plane format mapped here). */
		img->planes[p].buffer = 0;
		img->planes[p].offset = offset;
		img->planes[p].stride = pix->bytesperline;
		offset += (uint64_t)pix->bytesperline * px_image_plane_rows(img, p);
	}
	char why[200];
	if (px_layout_validate(l, why, sizeof(why))) {
		px_log_error("%s: the driver's layout is not valid: %s", cam->device, why);
		return -EIO;
	}
	return 0;
}

static int set_rate(struct px_camera *cam, double fps)
{
	struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	int ret = xioctl(cam->fd, VIDIOC_G_PARM, &parm);
	if (ret) {
		px_log_error("%s: VIDIOC_G_PARM: %s", cam->device, strerror(-ret));
		return ret;
	}
	if (!(parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME)) {
		px_log_warn("%s: the driver cannot set a frame rate; %.3g fps not set", cam->device,
			    fps);
		return 0;
	}
	parm.parm.capture.timeperframe.numerator = 1000;
	parm.parm.capture.timeperframe.denominator = (uint32_t)(fps * 1000.0 + 0.5);
	ret = xioctl(cam->fd, VIDIOC_S_PARM, &parm);
	if (ret) {
		px_log_error("%s: VIDIOC_S_PARM: %s", cam->device, strerror(-ret));
		return ret;
	}
	const struct v4l2_fract *t = &parm.parm.capture.timeperframe;
	double got = t->numerator ? (double)t->denominator / t->numerator : 0;
	if (got < 0.99 * fps || got > 1.01 * fps)
		px_log_warn("%s: asked for %.3g fps, the driver set %.3g", cam->device, fps, got);
	else
		px_log_info("%s: %.3g fps", cam->device, got);
	return 0;
}

static int negotiate(struct px_camera *cam, const struct px_camera_params *params)
{
	char a[8], b[8], name[16];
	struct v4l2_format fmt = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	int ret = xioctl(cam->fd, VIDIOC_G_FMT, &fmt);
	if (ret) {
		px_log_error("%s: VIDIOC_G_FMT: %s", cam->device, strerror(-ret));
		return ret;
	}
	uint32_t want = fmt.fmt.pix.pixelformat;
	if (params->fourcc) {
		want = v4l2_of_drm(params->fourcc);
		if (!want) {
			px_log_error("%s: %s has no V4L2 equivalent here", cam->device,
				     px_format_name(params->fourcc, name, sizeof(name)));
			log_supported(cam);
			return -ENOTSUP;
		}
	}
	uint32_t w = params->width ? params->width : fmt.fmt.pix.width;
	uint32_t h = params->height ? params->height : fmt.fmt.pix.height;
	fmt.fmt.pix.pixelformat = want;
	fmt.fmt.pix.width = w;
	fmt.fmt.pix.height = h;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	fmt.fmt.pix.bytesperline = 0; /* the driver's choice */
	fmt.fmt.pix.sizeimage = 0;
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
	const struct v4l2_pix_format *pix = &fmt.fmt.pix;
	/* "Drivers should not return an error code unless the type field is
	 * invalid": S_FMT adjusts what it cannot do, so check what it set. */
	if (pix->pixelformat != want || pix->width != w || pix->height != h) {
		px_log_error("%s: asked for %s %ux%u, the driver offers %s %ux%u instead",
			     cam->device, fourcc_str(want, a), w, h,
			     fourcc_str(pix->pixelformat, b), pix->width, pix->height);
		log_supported(cam);
		return -ENOTSUP;
	}
	if (pix->field != V4L2_FIELD_NONE) {
		px_log_error("%s: interlaced frames (field %u) are not supported", cam->device,
			     pix->field);
		return -ENOTSUP;
	}
	uint32_t drm = drm_of_v4l2(pix->pixelformat);
	if (!drm) {
		px_log_error("%s: the device's format %s has no DRM equivalent here; ask for "
			     "another",
			     cam->device, fourcc_str(pix->pixelformat, a));
		log_supported(cam);
		return -ENOTSUP;
	}
	cam->v4l2_format = pix->pixelformat;
	ret = build_layout(cam, pix, drm);
	if (ret)
		return ret;
	if (params->fps > 0) {
		ret = set_rate(cam, params->fps);
		if (ret)
			return ret;
	}
	px_log_info("%s: %s (%s) %ux%u, stride %u, %u bytes", cam->device,
		    fourcc_str(pix->pixelformat, a), px_format_name(drm, name, sizeof(name)),
		    pix->width, pix->height, pix->bytesperline, pix->sizeimage);
	return 0;
}

PX_API int px_camera_open(const struct px_camera_params *params, struct px_camera **out)
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
	cam->io_asked = cam->io = params->io;
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
	if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
		px_log_error("%s (%s): %s", cam->device, (const char *)cap.driver,
			     caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE
				 ? "a multi-planar capture device: the multi-planar API is "
				   "not supported yet"
				 : "not a video capture device");
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

PX_API const struct px_set_layout *px_camera_get_layout(const struct px_camera *cam)
{
	return cam ? &cam->layout : NULL;
}

PX_API int px_camera_get_fd(const struct px_camera *cam)
{
	return cam ? cam->fd : -EINVAL;
}

PX_API enum px_camera_io px_camera_io(const struct px_camera *cam)
{
	return cam ? cam->io : PX_CAMERA_IO_AUTO;
}

PX_API int px_camera_get_stats(const struct px_camera *cam, struct px_camera_stats *stats)
{
	if (!cam || !stats)
		return -EINVAL;
	*stats = cam->stats;
	return 0;
}

static int reqbufs(struct px_camera *cam, uint32_t memory, uint32_t count, uint32_t *got)
{
	struct v4l2_requestbuffers req = {
	    .count = count, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = memory};
	int ret = xioctl(cam->fd, VIDIOC_REQBUFS, &req);
	if (ret == -EBUSY)
		px_log_error("%s: VIDIOC_REQBUFS: %s (another process streams from it)",
			     cam->device, strerror(-ret));
	else if (ret && count)
		/* Probing for DMABUF support fails with EINVAL where the
		 * driver lacks it: the caller says what that means. */
		px_log_info("%s: VIDIOC_REQBUFS(%s, %u): %s", cam->device,
			    memory == V4L2_MEMORY_DMABUF ? "DMABUF" : "MMAP", count,
			    strerror(-ret));
	else if (ret)
		px_log_warn("%s: VIDIOC_REQBUFS(0): %s", cam->device, strerror(-ret));
	if (got)
		*got = req.count;
	return ret;
}

/* Queues slot `s` as buffer s->index (dmabuf mode). */
static int queue_slot(struct px_camera *cam, struct px_slot *s)
{
	struct v4l2_buffer buf = {
	    .index = s->index,
	    .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
	    .memory = V4L2_MEMORY_DMABUF,
	    .field = V4L2_FIELD_NONE,
	    .length = (uint32_t)s->buffers[0].size,
	    .bytesused = (uint32_t)cam->layout.buffer_sizes[0],
	};
	buf.m.fd = s->buffers[0].fd;
	int ret = xioctl(cam->fd, VIDIOC_QBUF, &buf);
	if (ret) {
		px_log_error("%s: VIDIOC_QBUF(%u, dma-buf %d): %s", cam->device, s->index,
			     s->buffers[0].fd, strerror(-ret));
		return ret;
	}
	cam->queued_slots[s->index] = s;
	cam->stats.queued++;
	if (cam->streaming)
		cam->stats.requeues++;
	return 0;
}

/* Queues every slot the publisher has free (dmabuf mode). */
static int fill_queue(struct px_camera *cam)
{
	/* Read the subscribers' releases, then acquire only as many slots as
	 * are free: an acquire that finds none would count as a wait and a
	 * timeout in the publisher's stats on every frame. */
	int ret = px_publisher_dispatch(cam->pub, 0);
	if (ret < 0) {
		px_log_error("%s: px_publisher_dispatch: %s", cam->device, px_strerror(ret));
		return ret;
	}
	struct px_publisher_stats ps;
	px_publisher_get_stats(cam->pub, &ps);
	for (uint32_t n = 0; n < ps.free_slots && cam->stats.queued < cam->n_buffers; n++) {
		struct px_slot *s;
		ret = px_publisher_acquire(cam->pub, 0, &s);
		if (ret == -EAGAIN || ret == -EBUSY)
			break;
		if (ret) {
			px_log_error("%s: px_publisher_acquire: %s", cam->device, px_strerror(ret));
			return ret;
		}
		/* n_buffers is the pool's size, and a queued slot is acquired. */
		assert(s->index < cam->n_buffers && !cam->queued_slots[s->index]);
		ret = queue_slot(cam, s);
		if (ret) {
			px_publisher_cancel(cam->pub, s);
			return ret;
		}
	}
	return 0;
}

static int queue_mmap(struct px_camera *cam, uint32_t index)
{
	struct v4l2_buffer buf = {
	    .index = index, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
	int ret = xioctl(cam->fd, VIDIOC_QBUF, &buf);
	if (ret) {
		px_log_error("%s: VIDIOC_QBUF(%u): %s", cam->device, index, strerror(-ret));
		return ret;
	}
	cam->stats.queued++;
	return 0;
}

static void unmap_copy_buffers(struct px_camera *cam)
{
	for (uint32_t i = 0; i < COPY_BUFFERS; i++) {
		if (cam->copy[i].data)
			munmap(cam->copy[i].data, cam->copy[i].length);
		cam->copy[i].data = NULL;
	}
}

static int start_copy(struct px_camera *cam)
{
	uint32_t got;
	int ret = reqbufs(cam, V4L2_MEMORY_MMAP, COPY_BUFFERS, &got);
	if (ret) {
		if (ret != -EBUSY)
			px_log_error("%s: VIDIOC_REQBUFS(MMAP): %s", cam->device, strerror(-ret));
		return ret;
	}
	if (got < 2 || got > COPY_BUFFERS) {
		px_log_error("%s: VIDIOC_REQBUFS(MMAP) gave %u buffers", cam->device, got);
		ret = -EIO;
		goto err_free;
	}
	cam->n_buffers = got;
	for (uint32_t i = 0; i < got; i++) {
		struct v4l2_buffer buf = {
		    .index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
		ret = xioctl(cam->fd, VIDIOC_QUERYBUF, &buf);
		if (ret) {
			px_log_error("%s: VIDIOC_QUERYBUF(%u): %s", cam->device, i, strerror(-ret));
			goto err_unmap;
		}
		void *p = mmap(NULL, buf.length, PROT_READ, MAP_SHARED, cam->fd, buf.m.offset);
		if (p == MAP_FAILED) {
			ret = -errno;
			px_log_error("%s: mmap of buffer %u: %s", cam->device, i, strerror(-ret));
			goto err_unmap;
		}
		cam->copy[i].data = p;
		cam->copy[i].length = buf.length;
	}
	for (uint32_t i = 0; i < got; i++) {
		ret = queue_mmap(cam, i);
		if (ret)
			goto err_unmap;
	}
	return 0;

err_unmap:
	unmap_copy_buffers(cam);
err_free:
	reqbufs(cam, V4L2_MEMORY_MMAP, 0, NULL);
	cam->n_buffers = 0;
	cam->stats.queued = 0;
	return ret;
}

/* Whether dmabuf mode can work with `pub`; if not, why, in `why`. */
static bool dmabuf_possible(struct px_camera *cam, struct px_publisher *pub, char *why, size_t size)
{
	enum px_allocator_type a = px_publisher_get_allocator(pub);
	const struct px_set_layout *pl = px_publisher_get_layout(pub);
	if (!px_allocator_is_dmabuf(a)) {
		snprintf(why, size, "the publisher's %s buffers are not dma-bufs",
			 px_allocator_name(a));
		return false;
	}
	if (pl->images[0].planes[0].stride != cam->layout.images[0].planes[0].stride ||
	    pl->images[0].planes[0].offset != 0 ||
	    (pl->images[0].n_planes > 1 &&
	     pl->images[0].planes[1].offset != cam->layout.images[0].planes[1].offset) ||
	    pl->images[0].modifier != PX_MODIFIER_LINEAR) {
		snprintf(why, size,
			 "the %s allocator laid the buffers out unlike the driver "
			 "(stride %u, the driver's %u)",
			 px_allocator_name(a), pl->images[0].planes[0].stride,
			 cam->layout.images[0].planes[0].stride);
		return false;
	}
	if (pl->n_buffers != 1 || pl->buffer_sizes[0] < cam->layout.buffer_sizes[0]) {
		snprintf(why, size,
			 "the %s allocator made %u buffers of %llu bytes per slot; "
			 "the driver wants one of %llu",
			 px_allocator_name(a), pl->n_buffers,
			 (unsigned long long)pl->buffer_sizes[0],
			 (unsigned long long)cam->layout.buffer_sizes[0]);
		return false;
	}
	uint32_t pool = px_publisher_get_pool_size(pub);
	if (pool > PX_MAX_SLOTS || pool > VIDEO_MAX_FRAME) {
		snprintf(why, size, "a pool of %u slots is more than V4L2's %u buffers", pool,
			 VIDEO_MAX_FRAME);
		return false;
	}
	return true;
}

static int start_dmabuf(struct px_camera *cam, struct px_publisher *pub)
{
	uint32_t pool = px_publisher_get_pool_size(pub), got;
	int ret = reqbufs(cam, V4L2_MEMORY_DMABUF, pool, &got);
	if (ret) {
		if (ret != -EBUSY)
			px_log(cam->io_asked == PX_CAMERA_IO_AUTO ? PX_LOG_INFO : PX_LOG_ERROR,
			       "%s: VIDIOC_REQBUFS(DMABUF, %u): %s%s", cam->device, pool,
			       strerror(-ret),
			       ret == -EINVAL ? " (the driver does not import dma-bufs)" : "");
		return ret == -EINVAL ? -ENOTSUP : ret;
	}
	/* Buffer i is always slot i, so that the driver keeps each dma-buf
	 * attached rather than mapping it anew on every QBUF. */
	if (got < pool) {
		px_log(cam->io_asked == PX_CAMERA_IO_AUTO ? PX_LOG_INFO : PX_LOG_ERROR,
		       "%s: VIDIOC_REQBUFS(DMABUF, %u) gave %u buffers: make the pool smaller",
		       cam->device, pool, got);
		reqbufs(cam, V4L2_MEMORY_DMABUF, 0, NULL);
		return -ENOTSUP;
	}
	cam->n_buffers = pool;
	return 0;
}

PX_API int px_camera_start(struct px_camera *cam, struct px_publisher *pub)
{
	if (!cam || !pub || cam->pub)
		return -EINVAL;
	const struct px_set_layout *pl = px_publisher_get_layout(pub);
	const struct px_image_layout *a = &pl->images[0], *b = &cam->layout.images[0];
	if (pl->n_images != 1 || a->fourcc != b->fourcc || a->width != b->width ||
	    a->height != b->height) {
		px_log_error("%s: the publisher's layout is not the camera's", cam->device);
		return -EINVAL;
	}
	char why[200];
	enum px_camera_io io = cam->io_asked;
	int ret;
	if (io == PX_CAMERA_IO_DMABUF && !dmabuf_possible(cam, pub, why, sizeof(why))) {
		px_log_error("%s: dmabuf mode: %s", cam->device, why);
		return -ENOTSUP;
	}
	if (io == PX_CAMERA_IO_AUTO) {
		if (dmabuf_possible(cam, pub, why, sizeof(why))) {
			io = PX_CAMERA_IO_DMABUF;
		} else {
			px_log_info("%s: copy mode: %s", cam->device, why);
			io = PX_CAMERA_IO_COPY;
		}
	}
	cam->pub = pub;
	cam->stats.queued = 0;
	cam->have_sequence = false;
	memset(cam->queued_slots, 0, sizeof(cam->queued_slots));
	if (io == PX_CAMERA_IO_DMABUF) {
		ret = start_dmabuf(cam, pub);
		if (ret == -ENOTSUP && cam->io_asked == PX_CAMERA_IO_AUTO) {
			px_log_info("%s: copy mode: the driver refused dma-bufs", cam->device);
			io = PX_CAMERA_IO_COPY;
		} else if (ret) {
			goto err;
		} else {
			ret = fill_queue(cam);
			if (ret)
				goto err_release;
			if (cam->stats.queued < 2) {
				px_log_error(
				    "%s: only %u free slots to queue: the pool is too small",
				    cam->device, cam->stats.queued);
				ret = -ENOBUFS;
				goto err_release;
			}
		}
	}
	if (io == PX_CAMERA_IO_COPY) {
		ret = start_copy(cam);
		if (ret)
			goto err;
	}
	cam->io = io;
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	ret = xioctl(cam->fd, VIDIOC_STREAMON, &type);
	if (ret) {
		px_log_error("%s: VIDIOC_STREAMON: %s", cam->device, strerror(-ret));
		goto err_release;
	}
	cam->streaming = true;
	px_log_info("%s: streaming in %s mode, %u buffers", cam->device, px_camera_io_name(io),
		    cam->n_buffers);
	return 0;

err_release:
	if (io == PX_CAMERA_IO_COPY) {
		unmap_copy_buffers(cam);
		reqbufs(cam, V4L2_MEMORY_MMAP, 0, NULL);
	} else {
		for (uint32_t i = 0; i < PX_MAX_SLOTS; i++)
			if (cam->queued_slots[i])
				px_publisher_cancel(pub, cam->queued_slots[i]);
		memset(cam->queued_slots, 0, sizeof(cam->queued_slots));
		/* Buffers still queued are returned by REQBUFS(0) without
		 * STREAMON; a failure here leaves nothing else to undo. */
		reqbufs(cam, V4L2_MEMORY_DMABUF, 0, NULL);
	}
err:
	cam->pub = NULL;
	cam->n_buffers = 0;
	cam->stats.queued = 0;
	cam->io = cam->io_asked;
	return ret;
}

PX_API void px_camera_stop(struct px_camera *cam)
{
	if (!cam || !cam->pub)
		return;
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	/* STREAMOFF returns every buffer to the application, dequeued. */
	int ret = xioctl(cam->fd, VIDIOC_STREAMOFF, &type);
	bool gone = ret == -ENODEV; /* nothing to free in the driver then */
	if (ret && !gone)
		px_log_warn("%s: VIDIOC_STREAMOFF: %s", cam->device, strerror(-ret));
	if (cam->io == PX_CAMERA_IO_COPY) {
		unmap_copy_buffers(cam);
		if (!gone)
			reqbufs(cam, V4L2_MEMORY_MMAP, 0, NULL);
	} else {
		for (uint32_t i = 0; i < PX_MAX_SLOTS; i++)
			if (cam->queued_slots[i])
				px_publisher_cancel(cam->pub, cam->queued_slots[i]);
		memset(cam->queued_slots, 0, sizeof(cam->queued_slots));
		if (!gone)
			reqbufs(cam, V4L2_MEMORY_DMABUF, 0, NULL);
	}
	cam->pub = NULL;
	cam->streaming = false;
	cam->n_buffers = 0;
	cam->stats.queued = 0;
	cam->io = cam->io_asked;
}

PX_API void px_camera_close(struct px_camera *cam)
{
	if (!cam)
		return;
	px_camera_stop(cam);
	px_close(&cam->fd);
	free(cam->device);
	free(cam);
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

static void count_sequence(struct px_camera *cam, uint32_t sequence)
{
	if (cam->have_sequence && sequence > cam->last_sequence + 1)
		cam->stats.drops += sequence - cam->last_sequence - 1;
	cam->have_sequence = true;
	cam->last_sequence = sequence;
}

/* Copies the driver's frame into the slot, row by row where the strides differ. */
static void copy_frame(struct px_camera *cam, struct px_slot *s, const void *src, size_t used)
{
	const struct px_set_layout *dl = s->layout;
	const struct px_image_layout *di = &dl->images[0], *si = &cam->layout.images[0];
	bool same = dl->n_buffers == 1;
	for (uint32_t p = 0; p < si->n_planes; p++)
		same = same && di->planes[p].stride == si->planes[p].stride &&
		       di->planes[p].offset == si->planes[p].offset;
	if (same) {
		memcpy(s->buffers[0].data, src, PX_MIN(used, (size_t)s->buffers[0].size));
		return;
	}
	for (uint32_t p = 0; p < si->n_planes; p++) {
		uint64_t row = px_image_row_bytes(si, p);
		uint8_t *d = px_slot_plane(s, 0, p);
		const uint8_t *from = (const uint8_t *)src + si->planes[p].offset;
		for (uint32_t y = 0; y < px_image_plane_rows(si, p); y++)
			memcpy(d + (uint64_t)y * di->planes[p].stride,
			       from + (uint64_t)y * si->planes[p].stride, row);
	}
}

static int dequeue(struct px_camera *cam, struct v4l2_buffer *buf)
{
	memset(buf, 0, sizeof(*buf));
	buf->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	buf->memory = cam->io == PX_CAMERA_IO_COPY ? V4L2_MEMORY_MMAP : V4L2_MEMORY_DMABUF;
	int ret = xioctl(cam->fd, VIDIOC_DQBUF, buf);
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
	if (buf->index >= cam->n_buffers) {
		px_log_error("%s: VIDIOC_DQBUF gave buffer %u of %u", cam->device, buf->index,
			     cam->n_buffers);
		return -EIO;
	}
	cam->stats.queued--;
	return 0;
}

static int dispatch_dmabuf(struct px_camera *cam)
{
	int frames = 0, ret;
	struct v4l2_buffer buf;
	while ((ret = dequeue(cam, &buf)) == 0) {
		struct px_slot *s = cam->queued_slots[buf.index];
		cam->queued_slots[buf.index] = NULL;
		if (!s)
			return -EIO;
		count_sequence(cam, buf.sequence);
		if (buf.flags & V4L2_BUF_FLAG_ERROR) {
			cam->stats.discarded++;
			px_publisher_cancel(cam->pub, s);
			continue;
		}
		struct px_publish_info info = {.valid_mask = 1};
		info.images[0].timestamp_ns = buffer_time(cam, &buf);
		info.images[0].sequence = buf.sequence;
		ret = px_publisher_publish(cam->pub, s, &info);
		if (ret) {
			px_log_error("%s: px_publisher_publish: %s", cam->device, px_strerror(ret));
			px_publisher_cancel(cam->pub, s);
			return ret;
		}
		cam->stats.frames++;
		frames++;
	}
	if (ret != -EAGAIN)
		return ret;
	ret = fill_queue(cam);
	return ret ? ret : frames;
}

static int dispatch_copy(struct px_camera *cam)
{
	int frames = 0, ret;
	struct v4l2_buffer buf;
	while ((ret = dequeue(cam, &buf)) == 0) {
		count_sequence(cam, buf.sequence);
		struct px_slot *s = NULL;
		if (buf.flags & V4L2_BUF_FLAG_ERROR) {
			cam->stats.discarded++;
		} else if ((ret = px_publisher_acquire(cam->pub, 0, &s)) != 0) {
			if (ret != -EAGAIN && ret != -EBUSY) {
				px_log_error("%s: px_publisher_acquire: %s", cam->device,
					     px_strerror(ret));
				return ret;
			}
			cam->stats.discarded++;
		} else {
			copy_frame(cam, s, cam->copy[buf.index].data,
				   PX_MIN((size_t)buf.bytesused, cam->copy[buf.index].length));
			cam->stats.copies++;
			struct px_publish_info info = {.valid_mask = 1};
			info.images[0].timestamp_ns = buffer_time(cam, &buf);
			info.images[0].sequence = buf.sequence;
			ret = px_publisher_publish(cam->pub, s, &info);
			if (ret) {
				px_log_error("%s: px_publisher_publish: %s", cam->device,
					     px_strerror(ret));
				px_publisher_cancel(cam->pub, s);
				return ret;
			}
			cam->stats.frames++;
			frames++;
		}
		ret = queue_mmap(cam, buf.index);
		if (ret)
			return ret;
		cam->stats.requeues++;
	}
	return ret == -EAGAIN ? frames : ret;
}

PX_API int px_camera_dispatch(struct px_camera *cam)
{
	if (!cam || !cam->pub)
		return -EINVAL;
	int ret = cam->io == PX_CAMERA_IO_COPY ? dispatch_copy(cam) : dispatch_dmabuf(cam);
	if (ret == -ENODEV) {
		px_camera_stop(cam);
		return ret;
	}
	if (ret >= 0 && cam->stats.queued < 2) {
		cam->stats.underruns++;
		if (!cam->warned_underrun)
			px_log_warn("%s: only %u buffers queued to the driver: subscribers hold "
				    "the rest of the pool, frames will be dropped",
				    cam->device, cam->stats.queued);
		cam->warned_underrun = true;
	}
	return ret;
}
