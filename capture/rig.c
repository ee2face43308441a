/* SPDX-License-Identifier: MIT */
/*
 * Rigs: one or more cameras as one publisher, one image per camera in each
 * set, matched by capture time. The policy is described in camera.h.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include <pixshare/allocator.h>
#include <pixshare/camera.h>

#include "capture/camera_priv.h"
#include "core/util.h"

#define MS 1000000ull

/* Buffers queued to each camera of a multi-camera rig in zero-copy modes: a
 * camera's queue shifts by a frame (a drop, a realignment) only once it has
 * drained, so it is kept short. */
#define RIG_QUEUE_DEPTH 4

struct rig_slot {
	struct px_slot *slot; /* acquired by the rig: a set being filled */
	uint64_t acq;	      /* when acquired, counted in acquisitions */
	uint32_t holders;     /* cameras whose driver has it queued (zero-copy modes) */
	uint32_t expect;      /* cameras expected to fill it */
	uint32_t filled;      /* cameras that delivered into it */
	uint32_t bad;	      /* of those, frames the driver flagged as broken */
	int filler;	      /* the camera it was queued to alone (realignment), or -1 */
	uint64_t first_ns;    /* when its first image arrived */
	uint64_t ref_ns, hi_ns; /* copy mode: earliest and latest capture time in it */
	uint64_t ts[PX_MAX_IMAGES];
	uint32_t seq[PX_MAX_IMAGES];
	uint64_t bytes[PX_MAX_IMAGES]; /* compressed images: the frame's bytes */
};

struct rig_cam {
	struct px_camera *cam;
	uint32_t first_buffer; /* its image's first buffer in a slot */
	uint64_t stall_ns;
	uint64_t last_frame_ns;
	/* Realignment: n > 0 queues the next n slots to it alone, n < 0
	 * withholds the next -n slots from it; sets acquired up to settle_acq
	 * are not judged. */
	int shift;
	uint64_t seq_base; /* added to its sequence numbers: they rise across restarts */
	uint64_t last_seq; /* its newest published sequence number (with the base) */
	uint64_t settle_acq;
	int run_sign, run; /* consecutive unsynced frames of one sign */
	uint64_t last_ts;  /* capture time of its newest published image */
	bool restart;
	bool on; /* started and not gone */
};

struct px_rig {
	uint32_t n;
	struct rig_cam cams[PX_MAX_IMAGES];
	bool owns_cams;
	struct px_rig_params params;
	uint64_t tolerance_ns, wait_ns;
	struct px_set_layout layout;
	enum px_camera_io io;
	struct px_publisher *pub;
	bool owns_pub;
	struct rig_slot slots[PX_MAX_SLOTS];
	uint64_t acq_counter;
	uint64_t last_ref_ns; /* copy mode: earliest capture time of the newest set */
	int epfd;
	struct px_rig_stats stats;
	char reason[96]; /* why the better modes were not taken */
};

PX_API const char *px_rig_partial_name(enum px_rig_partial partial)
{
	switch (partial) {
	case PX_RIG_PARTIAL_DELIVER:
		return "deliver";
	case PX_RIG_PARTIAL_DROP:
		return "drop";
	}
	return NULL;
}

PX_API int px_rig_partial_from_name(const char *name, enum px_rig_partial *partial)
{
	if (!name || !partial)
		return -EINVAL;
	if (!strcmp(name, "deliver"))
		*partial = PX_RIG_PARTIAL_DELIVER;
	else if (!strcmp(name, "drop"))
		*partial = PX_RIG_PARTIAL_DROP;
	else
		return -EINVAL;
	return 0;
}

static bool zero_copy(const struct px_rig *rig)
{
	return rig->io == PX_CAMERA_IO_DMABUF || rig->io == PX_CAMERA_IO_EXPORT;
}

static bool active(const struct rig_cam *rc)
{
	return rc->on && !rc->cam->stats.gone;
}

/* Cameras a set waits for: not stalled, not gone. */
static uint32_t waiting_mask(const struct px_rig *rig)
{
	uint32_t m = 0;
	for (uint32_t i = 0; i < rig->n; i++)
		if (active(&rig->cams[i]) && !rig->cams[i].cam->stats.stalled)
			m |= 1u << i;
	return m;
}

static uint32_t all_mask(const struct px_rig *rig)
{
	return rig->n >= 32 ? ~0u : (1u << rig->n) - 1;
}

static int rig_new(struct px_camera *const *cams, uint32_t n, const struct px_rig_params *params,
		   bool owns, struct px_rig **out)
{
	if (!cams || !n || n > PX_MAX_IMAGES || !params || !out ||
	    !px_camera_io_name(params->io) || !px_rig_partial_name(params->partial))
		return -EINVAL;
	uint32_t n_buffers = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!cams[i] || cams[i]->rig)
			return -EINVAL;
		for (uint32_t k = 0; k < i; k++)
			if (cams[k] == cams[i])
				return -EINVAL;
		if (cams[i]->io_asked != PX_CAMERA_IO_AUTO && cams[i]->io_asked != params->io) {
			px_log_error("%s: opened for %s mode, the rig is asked for %s",
				     cams[i]->device, px_camera_io_name(cams[i]->io_asked),
				     px_camera_io_name(params->io));
			return -EINVAL;
		}
		n_buffers += cams[i]->layout.n_buffers;
	}
	if (n_buffers > PX_MAX_BUFFERS) {
		px_log_error("rig: %u cameras need %u buffers per set, more than %u", n, n_buffers,
			     PX_MAX_BUFFERS);
		return -EINVAL;
	}
	struct px_rig *rig = calloc(1, sizeof(*rig));
	if (!rig)
		return -ENOMEM;
	rig->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rig->epfd < 0) {
		int ret = errno ? -errno : -EMFILE;
		free(rig);
		return ret;
	}
	rig->n = n;
	rig->owns_cams = owns;
	rig->params = *params;
	rig->io = PX_CAMERA_IO_AUTO;
	uint64_t period_max = 0;
	for (uint32_t i = 0; i < n; i++)
		period_max = PX_MAX(period_max, cams[i]->period_ns);
	if (!period_max)
		period_max = 33 * MS; /* a driver that reports no rate: assume 30 fps */
	rig->tolerance_ns = params->tolerance_ns ? params->tolerance_ns : period_max / 2;
	rig->wait_ns = params->wait_ns ? params->wait_ns : rig->tolerance_ns + 2 * period_max;

	struct px_set_layout *l = &rig->layout;
	l->n_images = n;
	l->n_buffers = n_buffers;
	uint32_t b = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct rig_cam *rc = &rig->cams[i];
		const struct px_set_layout *cl = &cams[i]->layout;
		rc->cam = cams[i];
		rc->first_buffer = b;
		uint64_t period = cams[i]->period_ns ? cams[i]->period_ns : period_max;
		rc->stall_ns = params->stall_ns ? params->stall_ns : PX_MAX(10 * period, 250 * MS);
		l->images[i] = cl->images[0];
		for (uint32_t p = 0; p < l->images[i].n_planes; p++)
			l->images[i].planes[p].buffer += b;
		for (uint32_t m = 0; m < cl->n_buffers; m++)
			l->buffer_sizes[b + m] = cl->buffer_sizes[m];
		b += cl->n_buffers;
		cams[i]->rig = rig;
	}
	*out = rig;
	return 0;
}

static int rig_create_impl(struct px_camera *const *cams, uint32_t n,
			   const struct px_rig_params *params, struct px_rig **out)
{
	return rig_new(cams, n, params, true, out);
}

PX_API int px_rig_create_sized(size_t size, struct px_camera *const *cams, uint32_t n,
			       const struct px_rig_params *params, struct px_rig **out)
{
	struct px_rig_params ours;
	if (out)
		*out = NULL;
	if (params) {
		int ret = px_abi_in(&ours, sizeof(ours), params, size,
				    PX_SIZE_THROUGH(struct px_rig_params, io),
				    "px_rig_create: struct px_rig_params");
		if (ret)
			return ret;
	}
	return rig_create_impl(cams, n, params ? &ours : NULL, out);
}

static int rig_create_borrowed(struct px_camera *cam, struct px_rig **out)
{
	struct px_rig_params params = {.io = cam->io_asked};
	return rig_new(&cam, 1, &params, false, out);
}

PX_API void px_rig_destroy(struct px_rig *rig)
{
	if (!rig)
		return;
	px_rig_stop(rig);
	for (uint32_t i = 0; i < rig->n; i++) {
		struct px_camera *cam = rig->cams[i].cam;
		cam->rig = NULL;
		if (rig->owns_cams)
			px_camera_close(cam);
	}
	px_close(&rig->epfd);
	free(rig);
}

PX_API const struct px_set_layout *px_rig_get_layout(const struct px_rig *rig)
{
	return rig ? &rig->layout : NULL;
}

PX_API struct px_camera *px_rig_get_camera(const struct px_rig *rig, uint32_t i)
{
	return rig && i < rig->n ? rig->cams[i].cam : NULL;
}

PX_API struct px_publisher *px_rig_get_publisher(const struct px_rig *rig)
{
	return rig ? rig->pub : NULL;
}

PX_API enum px_camera_io px_rig_io(const struct px_rig *rig)
{
	return rig ? rig->io : PX_CAMERA_IO_AUTO;
}

PX_API int px_rig_get_fd(const struct px_rig *rig)
{
	return rig ? rig->epfd : -EINVAL;
}

static int rig_get_stats_impl(const struct px_rig *rig, struct px_rig_stats *stats)
{
	if (!rig || !stats)
		return -EINVAL;
	*stats = rig->stats;
	return 0;
}

PX_API int px_rig_get_stats_sized(size_t size, const struct px_rig *rig, struct px_rig_stats *stats)
{
	struct px_rig_stats ours;
	if (!stats)
		return -EINVAL;
	int ret = rig_get_stats_impl(rig, &ours);
	if (ret)
		return ret;
	return px_abi_out(stats, size, PX_SIZE_THROUGH(struct px_rig_stats, sum_skew_ns), &ours,
			  sizeof(ours), "px_rig_get_stats: struct px_rig_stats");
}

/* Whether the publisher's pool can be queued to the drivers as dma-bufs. */
static bool dmabuf_possible(struct px_rig *rig, struct px_publisher *pub, char *why, size_t size)
{
	enum px_allocator_type a = px_publisher_get_allocator(pub);
	const struct px_set_layout *pl = px_publisher_get_layout(pub);
	if (!px_publisher_is_dmabuf(pub)) {
		snprintf(why, size, "%s buffers are not dma-bufs", px_allocator_name(a));
		return false;
	}
	for (uint32_t i = 0; i < rig->n; i++) {
		const struct px_image_layout *pi = &pl->images[i], *ci = &rig->layout.images[i];
		bool same = pi->modifier == PX_MODIFIER_LINEAR && pl->n_buffers == rig->layout.n_buffers;
		for (uint32_t p = 0; same && p < ci->n_planes; p++)
			same = pi->planes[p].buffer == ci->planes[p].buffer &&
			       pi->planes[p].offset == ci->planes[p].offset &&
			       pi->planes[p].stride == ci->planes[p].stride;
		if (!same) {
			snprintf(why, size, "%s laid image %u out unlike the driver (stride %u, not %u)",
				 px_allocator_name(a), i, pi->planes[0].stride,
				 ci->planes[0].stride);
			return false;
		}
	}
	for (uint32_t b = 0; b < rig->layout.n_buffers; b++)
		if (pl->buffer_sizes[b] < rig->layout.buffer_sizes[b]) {
			snprintf(why, size, "%s buffer %u has %llu bytes, the driver wants %llu",
				 px_allocator_name(a), b, (unsigned long long)pl->buffer_sizes[b],
				 (unsigned long long)rig->layout.buffer_sizes[b]);
			return false;
		}
	uint32_t pool = px_publisher_get_pool_size(pub);
	if (pool > VIDEO_MAX_FRAME) {
		snprintf(why, size, "a pool of %u slots is more than V4L2's %u buffers", pool,
			 VIDEO_MAX_FRAME);
		return false;
	}
	return true;
}

static void release_cameras(struct px_rig *rig)
{
	for (uint32_t i = 0; i < rig->n; i++)
		px_cam_release(rig->cams[i].cam);
}

/* REQBUFS(DMABUF, pool) on every camera; buffer i is always slot i, so that
 * a driver keeps each dma-buf attached rather than mapping it on every QBUF. */
static int request_dmabuf(struct px_rig *rig, uint32_t pool, char *why, size_t size)
{
	for (uint32_t i = 0; i < rig->n; i++) {
		struct px_camera *cam = rig->cams[i].cam;
		uint32_t got;
		int ret = px_cam_request(cam, V4L2_MEMORY_DMABUF, pool, &got);
		if (ret == -EINVAL || (!ret && got < pool)) {
			snprintf(why, size, "%s %s", cam->device,
				 ret ? "does not import dma-bufs"
				     : "gives fewer DMABUF buffers than the pool has");
			ret = -ENOTSUP;
		}
		if (ret) {
			release_cameras(rig);
			return ret;
		}
	}
	return 0;
}

/* REQBUFS(MMAP) with the same count on every camera and VIDIOC_EXPBUF of
 * every buffer: fds[s * n_buffers + b] as px_external_pool wants them,
 * read-only unless `writable` (px_cam_export()). */
static int request_export(struct px_rig *rig, uint32_t pool, bool writable, int *fds, char *why,
			  size_t size)
{
	uint32_t count = pool;
	int ret = 0;
	for (int pass = 0; pass < 2; pass++) {
		uint32_t least = count;
		for (uint32_t i = 0; i < rig->n; i++) {
			uint32_t got;
			ret = px_cam_request(rig->cams[i].cam, V4L2_MEMORY_MMAP, count, &got);
			if (ret)
				goto err;
			least = PX_MIN(least, got);
		}
		if (least == count)
			break;
		count = least; /* a driver gave fewer: ask every camera for as many */
		ret = -ENOBUFS;
	}
	if (count < 3 || count > PX_MAX_SLOTS) {
		snprintf(why, size, "the drivers give %u MMAP buffers", count);
		ret = -ENOTSUP;
		goto err;
	}
	for (uint32_t s = 0; s < count; s++)
		for (uint32_t i = 0; i < rig->n; i++) {
			const struct rig_cam *rc = &rig->cams[i];
			ret = px_cam_export(rc->cam, s,
					    &fds[s * rig->layout.n_buffers + rc->first_buffer],
					    writable);
			if (ret) {
				snprintf(why, size, "%s: VIDIOC_EXPBUF: %s", rc->cam->device,
					 strerror(-ret));
				if (ret == -ENOTSUP)
					snprintf(why, size, "%s does not export its buffers",
						 rc->cam->device);
				goto err_close;
			}
		}
	return (int)count;

err_close:
	for (uint32_t k = 0; k < count * rig->layout.n_buffers; k++)
		if (fds[k] >= 0)
			px_close(&fds[k]);
err:
	if (!why[0])
		snprintf(why, size, "VIDIOC_REQBUFS(MMAP): %s", strerror(-ret));
	release_cameras(rig);
	return ret == -ENOBUFS ? -ENOTSUP : ret;
}

static int request_copy(struct px_rig *rig)
{
	for (uint32_t i = 0; i < rig->n; i++) {
		struct px_camera *cam = rig->cams[i].cam;
		uint32_t got;
		int ret = px_cam_request(cam, V4L2_MEMORY_MMAP, PX_CAMERA_COPY_BUFFERS, &got);
		if (!ret && (got < 2 || got > PX_CAMERA_COPY_BUFFERS)) {
			px_log_error("%s: VIDIOC_REQBUFS(MMAP) gave %u buffers", cam->device, got);
			ret = -EIO;
		}
		if (!ret)
			ret = px_cam_map(cam);
		if (ret) {
			if (ret != -EBUSY)
				px_log_error("%s: MMAP buffers: %s", cam->device, strerror(-ret));
			release_cameras(rig);
			return ret;
		}
	}
	return 0;
}

static void reset_slot(struct rig_slot *rs)
{
	uint32_t holders = rs->holders;
	memset(rs, 0, sizeof(*rs));
	rs->holders = holders;
	rs->filler = -1;
}

static int queue_slot_to(struct px_rig *rig, uint32_t i, struct rig_slot *rs)
{
	struct rig_cam *rc = &rig->cams[i];
	int ret = rig->io == PX_CAMERA_IO_DMABUF
		      ? px_cam_queue_dmabuf(rc->cam, rs->slot->index,
					    &rs->slot->buffers[rc->first_buffer])
		      : px_cam_queue_mmap(rc->cam, rs->slot->index);
	if (!ret)
		rs->holders |= 1u << i;
	return ret;
}

/* Zero-copy modes: reads the subscribers' releases and queues every free
 * slot to the cameras. */
static int refill(struct px_rig *rig)
{
	int ret = px_publisher_dispatch(rig->pub, 0);
	if (ret < 0) {
		px_log_error("rig: px_publisher_dispatch: %s", px_strerror(ret));
		return ret;
	}
	/* Acquire only as many slots as are free: an acquire that finds none
	 * would count as a wait and a timeout in the publisher's stats. */
	struct px_publisher_stats ps;
	px_publisher_get_stats(rig->pub, &ps);
	for (uint32_t k = 0; k < ps.free_slots; k++) {
		if (rig->n > 1) {
			uint32_t least = UINT32_MAX;
			for (uint32_t i = 0; i < rig->n; i++)
				if (active(&rig->cams[i]) && !rig->cams[i].cam->stats.stalled)
					least = PX_MIN(least, rig->cams[i].cam->stats.queued);
			if (least != UINT32_MAX && least >= RIG_QUEUE_DEPTH)
				break;
		}
		struct px_slot *s;
		ret = px_publisher_acquire(rig->pub, 0, &s);
		if (ret == -EAGAIN || ret == -EBUSY)
			break;
		if (ret) {
			px_log_error("rig: px_publisher_acquire: %s", px_strerror(ret));
			return ret;
		}
		assert(s->index < PX_MAX_SLOTS && !rig->slots[s->index].slot);
		struct rig_slot *rs = &rig->slots[s->index];
		reset_slot(rs);
		rs->slot = s;
		rs->acq = ++rig->acq_counter;
		/* A camera one frame early takes a slot alone. */
		for (uint32_t i = 0; i < rig->n && rs->filler < 0; i++) {
			struct rig_cam *rc = &rig->cams[i];
			if (rc->shift <= 0 || !active(rc) || (rs->holders & (1u << i)))
				continue;
			if ((ret = queue_slot_to(rig, i, rs)) != 0)
				return ret;
			rs->filler = (int)i;
			rc->shift--;
			rc->settle_acq = rs->acq;
		}
		if (rs->filler >= 0)
			continue;
		for (uint32_t i = 0; i < rig->n; i++) {
			struct rig_cam *rc = &rig->cams[i];
			uint32_t bit = 1u << i;
			if (!active(rc))
				continue;
			if (rs->holders & bit) {
				/* Still queued from an earlier round, ahead of the
				 * slots acquired since: what it writes there is
				 * older than their frames, so it is not waited for
				 * and not taken. */
				continue;
			}
			if (rc->shift < 0) { /* frames late: skip a slot */
				rc->shift++;
				rc->settle_acq = rs->acq;
				continue;
			}
			if ((ret = queue_slot_to(rig, i, rs)) != 0)
				return ret;
			rs->expect |= bit;
		}
		if (!rs->expect) {
			px_publisher_cancel(rig->pub, s);
			reset_slot(rs);
			break;
		}
	}
	return 0;
}

static void epoll_watch(struct px_rig *rig, int fd, bool add)
{
	struct epoll_event ev = {.events = EPOLLIN};
	if (epoll_ctl(rig->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) && add)
		px_log_warn("rig: epoll_ctl: %s", strerror(errno));
}

static int start_streaming(struct px_rig *rig)
{
	int ret;
	rig->acq_counter = 0;
	rig->last_ref_ns = 0;
	for (uint32_t s = 0; s < PX_MAX_SLOTS; s++) {
		memset(&rig->slots[s], 0, sizeof(rig->slots[s]));
		rig->slots[s].filler = -1;
	}
	for (uint32_t i = 0; i < rig->n; i++) {
		struct rig_cam *rc = &rig->cams[i];
		rc->shift = rc->run = rc->run_sign = 0;
		rc->settle_acq = rc->last_ts = rc->seq_base = rc->last_seq = 0;
		rc->restart = false;
		rc->cam->stats.queued = 0;
		rc->cam->stats.stalled = rc->cam->stats.gone = false;
		rc->on = true;
	}
	if (zero_copy(rig)) {
		ret = refill(rig);
		for (uint32_t i = 0; !ret && i < rig->n; i++)
			if (rig->cams[i].cam->stats.queued < 2) {
				px_log_error("%s: only %u free slots to queue: the pool is too small",
					     rig->cams[i].cam->device,
					     rig->cams[i].cam->stats.queued);
				ret = -ENOBUFS;
			}
	} else {
		ret = 0;
		for (uint32_t i = 0; !ret && i < rig->n; i++) {
			struct px_camera *cam = rig->cams[i].cam;
			for (uint32_t b = 0; !ret && b < cam->n_buffers; b++)
				ret = px_cam_queue_mmap(cam, b);
		}
	}
	/* Back to back, so that the cameras start in step. */
	for (uint32_t i = 0; !ret && i < rig->n; i++)
		ret = px_cam_stream_on(rig->cams[i].cam);
	if (ret)
		return ret;
	uint64_t now = px_now_ns();
	for (uint32_t i = 0; i < rig->n; i++) {
		rig->cams[i].last_frame_ns = now;
		epoll_watch(rig, rig->cams[i].cam->fd, true);
	}
	epoll_watch(rig, px_publisher_get_fd(rig->pub), true);
	for (uint32_t i = 0; i < rig->n; i++)
		px_log_info("%s: streaming in %s mode, %u buffers", rig->cams[i].cam->device,
			    px_camera_io_name(rig->io), rig->cams[i].cam->n_buffers);
	return 0;
}

static bool layout_matches(const struct px_rig *rig, const struct px_set_layout *pl)
{
	if (pl->n_images != rig->n)
		return false;
	for (uint32_t i = 0; i < rig->n; i++) {
		const struct px_image_layout *a = &pl->images[i], *b = &rig->layout.images[i];
		if (a->fourcc != b->fourcc || a->width != b->width || a->height != b->height)
			return false;
	}
	return true;
}

static int rig_attach(struct px_rig *rig, struct px_publisher *pub)
{
	if (!rig || !pub || rig->pub)
		return -EINVAL;
	if (!layout_matches(rig, px_publisher_get_layout(pub))) {
		px_log_error("%s: the publisher's layout is not the camera's",
			     rig->cams[0].cam->device);
		return -EINVAL;
	}
	enum px_camera_io io = rig->params.io;
	char why[160] = "";
	if (io == PX_CAMERA_IO_EXPORT) {
		px_log_error("%s: export mode makes the camera's buffers the pool: start it with "
			     "px_rig_start(), which creates the publisher",
			     rig->cams[0].cam->device);
		return -ENOTSUP;
	}
	if (io == PX_CAMERA_IO_DMABUF && !dmabuf_possible(rig, pub, why, sizeof(why))) {
		px_log_error("%s: dmabuf mode: %s", rig->cams[0].cam->device, why);
		return -ENOTSUP;
	}
	int ret;
	if (io != PX_CAMERA_IO_COPY && (io == PX_CAMERA_IO_DMABUF ||
					dmabuf_possible(rig, pub, why, sizeof(why)))) {
		ret = request_dmabuf(rig, px_publisher_get_pool_size(pub), why, sizeof(why));
		if (!ret) {
			io = PX_CAMERA_IO_DMABUF;
		} else if (ret == -ENOTSUP && io == PX_CAMERA_IO_AUTO) {
			px_log_info("%s: copy mode: %s", rig->cams[0].cam->device, why);
			io = PX_CAMERA_IO_COPY;
		} else {
			if (ret == -ENOTSUP)
				px_log_error("%s: dmabuf mode: %s", rig->cams[0].cam->device, why);
			return ret;
		}
	} else if (io == PX_CAMERA_IO_AUTO) {
		px_log_info("%s: copy mode: %s", rig->cams[0].cam->device, why);
		io = PX_CAMERA_IO_COPY;
	}
	if (io == PX_CAMERA_IO_COPY && (ret = request_copy(rig)) != 0)
		return ret;
	rig->pub = pub;
	rig->owns_pub = false;
	rig->io = io;
	ret = start_streaming(rig);
	if (ret)
		px_rig_stop(rig); /* undoes what the start did */
	return ret;
}

static void describe(struct px_rig *rig, const struct px_publisher_params *asked,
		     struct px_publisher_params *pp, char *buf, size_t size, enum px_camera_io io)
{
	if (asked->description) {
		pp->description = asked->description;
		return;
	}
	/* Cut to the 63 characters a description has; the log has it whole. */
	if (snprintf(buf, size, "v4l2 %s x%u%s%s", px_camera_io_name(io), rig->n,
		     rig->reason[0] ? "; " : "", rig->reason) < 0)
		buf[0] = '\0';
	pp->description = buf;
}

static void note_reason(struct px_rig *rig, enum px_camera_io io, const char *why)
{
	px_log_info("rig: not %s mode: %s", px_camera_io_name(io), why);
	size_t len = strlen(rig->reason);
	/* Truncated where long: the log line above has it whole. */
	if (snprintf(rig->reason + len, sizeof(rig->reason) - len, "%sno %s: %s", len ? "; " : "",
		     px_camera_io_name(io), why) < 0)
		rig->reason[len] = '\0';
}

static int rig_start_impl(struct px_rig *rig, const struct px_publisher_params *params)
{
	if (!rig || !params || params->layout || params->external || rig->pub)
		return -EINVAL;
	if (params->min_pool_size) {
		px_log_error("rig: min_pool_size %u: a camera's pool is fixed, its driver "
			     "queues every slot (an elastic pool is for publishers that fill "
			     "their slots themselves)",
			     params->min_pool_size);
		return -EINVAL;
	}
	enum px_camera_io io = rig->params.io;
	struct px_publisher_params pp = *params;
	pp.layout = &rig->layout;
	char why[160], desc[64];
	struct px_publisher *pub = NULL;
	int ret;
	rig->reason[0] = '\0';

	if (io == PX_CAMERA_IO_AUTO || io == PX_CAMERA_IO_DMABUF) {
		describe(rig, params, &pp, desc, sizeof(desc), PX_CAMERA_IO_DMABUF);
		ret = px_publisher_create(&pp, &pub);
		if (ret)
			return ret;
		why[0] = '\0';
		if (dmabuf_possible(rig, pub, why, sizeof(why)))
			ret = request_dmabuf(rig, px_publisher_get_pool_size(pub), why, sizeof(why));
		else
			ret = -ENOTSUP;
		if (!ret) {
			rig->io = PX_CAMERA_IO_DMABUF;
			goto stream;
		}
		px_publisher_destroy(pub);
		pub = NULL;
		if (ret != -ENOTSUP || io == PX_CAMERA_IO_DMABUF) {
			if (ret == -ENOTSUP)
				px_log_error("rig: dmabuf mode: %s", why);
			return ret;
		}
		note_reason(rig, PX_CAMERA_IO_DMABUF, why);
	}
	if (io == PX_CAMERA_IO_AUTO || io == PX_CAMERA_IO_EXPORT) {
		uint32_t pool = PX_MIN(px_publisher_default_pool(params), (uint32_t)VIDEO_MAX_FRAME);
		int fds[PX_MAX_SLOTS * PX_MAX_BUFFERS];
		for (size_t k = 0; k < PX_ARRAY_SIZE(fds); k++)
			fds[k] = -1;
		why[0] = '\0';
		ret = request_export(rig, pool, pp.writable_dmabufs, fds, why, sizeof(why));
		if (ret > 0) {
			struct px_external_pool ext = {.n_slots = (uint32_t)ret, .fds = fds};
			pp.external = &ext;
			pp.allocator = PX_ALLOCATOR_AUTO;
			pp.device = NULL;
			pp.pool_size = (uint32_t)ret;
			describe(rig, params, &pp, desc, sizeof(desc), PX_CAMERA_IO_EXPORT);
			ret = px_publisher_create(&pp, &pub);
			/* The publisher has its own dups. */
			for (size_t k = 0; k < PX_ARRAY_SIZE(fds); k++)
				if (fds[k] >= 0)
					px_close(&fds[k]);
			pp.external = NULL;
			pp.allocator = params->allocator;
			pp.device = params->device;
			pp.pool_size = params->pool_size;
			if (!ret) {
				rig->io = PX_CAMERA_IO_EXPORT;
				goto stream;
			}
			release_cameras(rig);
			return ret;
		}
		if (ret != -ENOTSUP || io == PX_CAMERA_IO_EXPORT) {
			if (ret == -ENOTSUP)
				px_log_error("rig: export mode: %s", why);
			return ret;
		}
		note_reason(rig, PX_CAMERA_IO_EXPORT, why);
	}
	describe(rig, params, &pp, desc, sizeof(desc), PX_CAMERA_IO_COPY);
	ret = px_publisher_create(&pp, &pub);
	if (ret)
		return ret;
	ret = request_copy(rig);
	if (ret) {
		px_publisher_destroy(pub);
		return ret;
	}
	rig->io = PX_CAMERA_IO_COPY;

stream:
	rig->pub = pub;
	rig->owns_pub = true;
	px_log_info("rig: %u camera%s in %s mode%s%s%s", rig->n, rig->n == 1 ? "" : "s",
		    px_camera_io_name(rig->io), rig->reason[0] ? " (" : "", rig->reason,
		    rig->reason[0] ? ")" : "");
	ret = start_streaming(rig);
	if (ret)
		px_rig_stop(rig); /* undoes what the start did */
	return ret;
}

PX_API int px_rig_start_sized(size_t size, struct px_rig *rig,
			      const struct px_publisher_params *params)
{
	struct px_publisher_params ours;
	if (params) {
		int ret = px_abi_in(&ours, sizeof(ours), params, size,
				    PX_SIZE_THROUGH(struct px_publisher_params, external),
				    "px_rig_start: struct px_publisher_params");
		if (ret)
			return ret;
	}
	return rig_start_impl(rig, params ? &ours : NULL);
}

PX_API void px_rig_stop(struct px_rig *rig)
{
	if (!rig || !rig->pub)
		return;
	for (uint32_t i = 0; i < rig->n; i++) {
		struct px_camera *cam = rig->cams[i].cam;
		rig->cams[i].on = false;
		if (cam->streaming && px_cam_stream_off(cam) == -ENODEV)
			cam->stats.gone = true;
		epoll_ctl(rig->epfd, EPOLL_CTL_DEL, cam->fd, NULL);
	}
	epoll_ctl(rig->epfd, EPOLL_CTL_DEL, px_publisher_get_fd(rig->pub), NULL);
	/* The drivers hold nothing now: the slots being filled go back. */
	for (uint32_t s = 0; s < PX_MAX_SLOTS; s++) {
		if (rig->slots[s].slot)
			px_publisher_cancel(rig->pub, rig->slots[s].slot);
		memset(&rig->slots[s], 0, sizeof(rig->slots[s]));
	}
	if (rig->owns_pub)
		px_publisher_destroy(rig->pub);
	release_cameras(rig);
	rig->pub = NULL;
	rig->owns_pub = false;
	rig->io = PX_CAMERA_IO_AUTO;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* A camera's frame was `d` ns off its set's reference time. */
static void note_unsynced(struct px_rig *rig, uint32_t i, int64_t d, uint64_t acq)
{
	struct rig_cam *rc = &rig->cams[i];
	rc->cam->stats.unsynced++;
	if (acq <= rc->settle_acq)
		return; /* queued before the last realignment took effect */
	int sign = d > 0 ? 1 : -1;
	if (rc->run_sign == sign) {
		rc->run++;
	} else {
		rc->run_sign = sign;
		rc->run = 1;
	}
	if (rc->run < 2)
		return;
	rc->run = 0;
	uint64_t period = rc->cam->period_ns ? rc->cam->period_ns : 2 * rig->tolerance_ns;
	uint64_t off = (uint64_t)(d > 0 ? d : -d);
	rc->cam->stats.realigns++;
	int frames = (int)((off + period / 2) / period);
	if (frames >= 1 && frames <= RIG_QUEUE_DEPTH) {
		/* Late by n frames: withhold n slots; early: give it n alone. */
		rc->shift = sign > 0 ? -frames : frames;
		px_log_info("%s: %s by %.1f ms: realigning its queue by %d frame%s",
			    rc->cam->device, sign > 0 ? "late" : "early", (double)off / 1e6,
			    frames, frames == 1 ? "" : "s");
	} else {
		rc->restart = true;
		px_log_info("%s: %.1f ms off the other cameras: restarting it", rc->cam->device,
			    (double)off / 1e6);
	}
}

static int finalize(struct px_rig *rig, struct rig_slot *rs)
{
	uint32_t valid = rs->filled & ~rs->bad;
	for (uint32_t i = 0; i < rig->n; i++)
		if ((valid & (1u << i)) && rs->ts[i] <= rig->cams[i].last_ts) {
			/* Never an older frame after a newer one. */
			valid &= ~(1u << i);
			rig->cams[i].cam->stats.unsynced++;
		}
	/* The reference: the middle of the window of twice the tolerance
	 * that holds the most images (the earliest such window). */
	int best = -1;
	uint32_t best_count = 0;
	uint64_t width = 2 * rig->tolerance_ns;
	for (uint32_t i = 0; i < rig->n; i++) {
		if (!(valid & (1u << i)))
			continue;
		uint32_t count = 0;
		for (uint32_t k = 0; k < rig->n; k++)
			if ((valid & (1u << k)) && rs->ts[k] >= rs->ts[i] &&
			    rs->ts[k] - rs->ts[i] <= width)
				count++;
		if (count > best_count || (count == best_count && rs->ts[i] < rs->ts[best])) {
			best_count = count;
			best = (int)i;
		}
	}
	uint64_t ref = best >= 0 ? rs->ts[best] + rig->tolerance_ns : 0;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (uint32_t i = 0; best >= 0 && i < rig->n; i++) {
		if (!(valid & (1u << i)))
			continue;
		int64_t d = (int64_t)(rs->ts[i] - ref);
		if (absdiff(rs->ts[i], ref) > rig->tolerance_ns) {
			valid &= ~(1u << i);
			note_unsynced(rig, i, d, rs->acq);
			continue;
		}
		rig->cams[i].run = 0;
		lo = PX_MIN(lo, rs->ts[i]);
		hi = PX_MAX(hi, rs->ts[i]);
	}
	uint32_t all = all_mask(rig);
	for (uint32_t i = 0; i < rig->n; i++)
		if (!(valid & (1u << i)))
			rig->cams[i].cam->stats.missing++;
	struct px_publish_info info = {.valid_mask = valid};
	for (uint32_t i = 0; i < rig->n; i++)
		if (valid & (1u << i)) {
			info.images[i].timestamp_ns = rs->ts[i];
			info.images[i].sequence = rig->cams[i].seq_base + rs->seq[i];
			info.images[i].bytes = rs->bytes[i];
		}
	struct px_slot *s = rs->slot;
	reset_slot(rs);
	if (!valid || (valid != all && rig->params.partial == PX_RIG_PARTIAL_DROP)) {
		px_publisher_cancel(rig->pub, s);
		rig->stats.dropped++;
		return 0;
	}
	int ret = px_publisher_publish(rig->pub, s, &info);
	if (ret) {
		px_log_error("rig: px_publisher_publish: %s", px_strerror(ret));
		px_publisher_cancel(rig->pub, s);
		return ret;
	}
	rig->stats.sets++;
	if (valid == all)
		rig->stats.complete++;
	else
		rig->stats.partial++;
	rig->stats.max_skew_ns = PX_MAX(rig->stats.max_skew_ns, hi - lo);
	rig->stats.sum_skew_ns += hi - lo;
	for (uint32_t i = 0; i < rig->n; i++)
		if (valid & (1u << i)) {
			rig->cams[i].cam->stats.frames++;
			rig->cams[i].last_ts = info.images[i].timestamp_ns;
			rig->cams[i].last_seq = info.images[i].sequence;
		}
	return 1;
}

/* Publishes the sets that are final, oldest first; returns how many. */
static int finalize_ready(struct px_rig *rig, uint64_t now)
{
	int published = 0;
	uint32_t waiting = waiting_mask(rig);
	for (;;) {
		struct rig_slot *oldest = NULL;
		bool ready = false;
		for (uint32_t s = 0; s < PX_MAX_SLOTS; s++) {
			struct rig_slot *rs = &rig->slots[s];
			if (!rs->slot || !rs->filled || rs->filler >= 0)
				continue;
			uint32_t expect = zero_copy(rig) ? rs->expect : all_mask(rig);
			if (!(expect & waiting & ~rs->filled) || now >= rs->first_ns + rig->wait_ns)
				ready = true;
			if (!oldest || rs->acq < oldest->acq)
				oldest = rs;
		}
		if (!ready)
			return published;
		/* Sets go out in order: an older one is final once a newer one is. */
		int ret = finalize(rig, oldest);
		if (ret < 0)
			return ret;
		published += ret;
	}
}

static void camera_gone(struct px_rig *rig, uint32_t i)
{
	struct rig_cam *rc = &rig->cams[i];
	rc->cam->stats.gone = true;
	epoll_ctl(rig->epfd, EPOLL_CTL_DEL, rc->cam->fd, NULL);
	px_cam_release(rc->cam);
	for (uint32_t s = 0; s < PX_MAX_SLOTS; s++) {
		rig->slots[s].holders &= ~(1u << i);
		rig->slots[s].expect &= ~(1u << i);
	}
	px_log_error("%s: gone; the rig goes on without its image", rc->cam->device);
}

/* Restarts camera i and queues it the slots no camera has filled yet, in
 * the order the others have them. */
static int restart(struct px_rig *rig, uint32_t i)
{
	struct rig_cam *rc = &rig->cams[i];
	uint32_t bit = 1u << i;
	rc->restart = false;
	int ret = px_cam_stream_off(rc->cam);
	if (ret == -ENODEV) {
		camera_gone(rig, i);
		return 0;
	}
	for (uint32_t s = 0; s < PX_MAX_SLOTS; s++) {
		struct rig_slot *rs = &rig->slots[s];
		rs->holders &= ~bit;
		rs->expect &= ~bit;
		if (rs->filler == (int)i) { /* its lone slot goes back */
			px_publisher_cancel(rig->pub, rs->slot);
			rs->slot = NULL;
			reset_slot(rs);
		}
	}
	rc->shift = 0;
	rc->settle_acq = rig->acq_counter;
	/* The driver counts from 0 again. */
	rc->seq_base = rc->last_seq + 1;
	for (uint64_t acq = 1; acq <= rig->acq_counter; acq++)
		for (uint32_t s = 0; s < PX_MAX_SLOTS; s++) {
			struct rig_slot *rs = &rig->slots[s];
			if (rs->slot && rs->acq == acq && rs->filler < 0 && !rs->filled) {
				if ((ret = queue_slot_to(rig, i, rs)) != 0)
					return ret;
				rs->expect |= bit;
			}
		}
	ret = px_cam_stream_on(rc->cam);
	rc->last_frame_ns = px_now_ns();
	return ret;
}

/* What a compressed frame holds (0 for raw formats, whose size the layout
 * says); bounded by its buffer. */
static uint64_t frame_bytes(const struct px_rig *rig, uint32_t i, const struct px_cam_frame *f)
{
	return PX_MIN((uint64_t)f->bytesused[0], px_image_compressed_room(&rig->layout, i));
}

/* A frame the driver flagged, or a compressed one with no bytes. */
static bool frame_broken(const struct px_rig *rig, uint32_t i, const struct px_cam_frame *f)
{
	return f->error || (px_image_compressed_room(&rig->layout, i) && !f->bytesused[0]);
}

static void on_frame_zero_copy(struct px_rig *rig, uint32_t i, const struct px_cam_frame *f,
			       uint64_t now)
{
	struct rig_cam *rc = &rig->cams[i];
	struct rig_slot *rs = &rig->slots[f->index];
	uint32_t bit = 1u << i;
	rs->holders &= ~bit;
	if (rs->slot && rs->filler == (int)i) {
		/* A realignment's lone slot: nothing to publish. */
		px_publisher_cancel(rig->pub, rs->slot);
		reset_slot(rs);
		return;
	}
	if (!rs->slot || !(rs->expect & bit) || (rs->filled & bit)) {
		/* Its set went out without it: far behind the others. */
		rc->cam->stats.discarded++;
		note_unsynced(rig, i, (int64_t)(2 * rig->wait_ns), UINT64_MAX);
		return;
	}
	if (!rs->filled)
		rs->first_ns = now;
	rs->filled |= bit;
	if (frame_broken(rig, i, f)) {
		rs->bad |= bit;
		rc->cam->stats.discarded++;
	}
	rs->ts[i] = f->timestamp_ns;
	rs->seq[i] = f->sequence;
	rs->bytes[i] = frame_bytes(rig, i, f);
}

static int on_frame_copy(struct px_rig *rig, uint32_t i, const struct px_cam_frame *f,
			 uint64_t now)
{
	struct rig_cam *rc = &rig->cams[i];
	uint32_t bit = 1u << i;
	if (frame_broken(rig, i, f)) {
		rc->cam->stats.discarded++;
		return px_cam_queue_mmap(rc->cam, f->index);
	}
	struct rig_slot *match = NULL;
	for (uint32_t s = 0; s < PX_MAX_SLOTS; s++) {
		struct rig_slot *rs = &rig->slots[s];
		/* Its images and this one within twice the tolerance. */
		if (!rs->slot || (rs->filled & bit) ||
		    PX_MAX(rs->hi_ns, f->timestamp_ns) - PX_MIN(rs->ref_ns, f->timestamp_ns) >
			2 * rig->tolerance_ns)
			continue;
		if (!match || rs->acq < match->acq)
			match = rs;
	}
	if (!match && rig->last_ref_ns && f->timestamp_ns + 2 * rig->tolerance_ns < rig->last_ref_ns) {
		/* Older than the newest set and matching none. */
		rc->cam->stats.unsynced++;
		rc->cam->stats.discarded++;
	} else if (!match) {
		struct px_slot *s;
		int ret = px_publisher_acquire(rig->pub, 0, &s);
		if (ret && ret != -EAGAIN && ret != -EBUSY) {
			px_log_error("rig: px_publisher_acquire: %s", px_strerror(ret));
			return ret;
		}
		if (ret) {
			rc->cam->stats.discarded++;
		} else {
			match = &rig->slots[s->index];
			reset_slot(match);
			match->slot = s;
			match->acq = ++rig->acq_counter;
			match->ref_ns = match->hi_ns = f->timestamp_ns;
			rig->last_ref_ns = f->timestamp_ns;
		}
	}
	if (match) {
		match->ref_ns = PX_MIN(match->ref_ns, f->timestamp_ns);
		match->hi_ns = PX_MAX(match->hi_ns, f->timestamp_ns);
		px_cam_copy(rc->cam, f, match->slot, i);
		if (!match->filled)
			match->first_ns = now;
		match->filled |= bit;
		match->ts[i] = f->timestamp_ns;
		match->seq[i] = f->sequence;
		match->bytes[i] = frame_bytes(rig, i, f);
	}
	return px_cam_queue_mmap(rc->cam, f->index);
}

static void check_stalls(struct px_rig *rig, uint64_t now)
{
	for (uint32_t i = 0; i < rig->n; i++) {
		struct rig_cam *rc = &rig->cams[i];
		if (!active(rc) || rc->cam->stats.stalled || now < rc->last_frame_ns + rc->stall_ns)
			continue;
		rc->cam->stats.stalled = true;
		rc->cam->stats.stalls++;
		px_log_warn("%s: no frame for %.0f ms: stalled; sets no longer wait for it",
			    rc->cam->device, (double)(now - rc->last_frame_ns) / 1e6);
	}
}

PX_API int px_rig_timeout_ms(const struct px_rig *rig)
{
	if (!rig || !rig->pub)
		return -1;
	uint64_t now = px_now_ns(), next = UINT64_MAX;
	for (uint32_t s = 0; s < PX_MAX_SLOTS; s++) {
		const struct rig_slot *rs = &rig->slots[s];
		if (rs->slot && rs->filled && rs->filler < 0)
			next = PX_MIN(next, rs->first_ns + rig->wait_ns);
	}
	for (uint32_t i = 0; i < rig->n; i++) {
		const struct rig_cam *rc = &rig->cams[i];
		if (active(rc) && !rc->cam->stats.stalled)
			next = PX_MIN(next, rc->last_frame_ns + rc->stall_ns);
	}
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	uint64_t ms = (next - now + MS - 1) / MS;
	return ms > 60000 ? 60000 : (int)ms;
}

PX_API int px_rig_dispatch(struct px_rig *rig)
{
	if (!rig || !rig->pub)
		return -EINVAL;
	uint64_t now = px_now_ns();
	int ret;
	for (uint32_t i = 0; i < rig->n; i++) {
		struct rig_cam *rc = &rig->cams[i];
		if (!active(rc))
			continue;
		struct px_cam_frame f;
		while ((ret = px_cam_dequeue(rc->cam, &f)) == 0) {
			uint32_t gap = px_cam_count_sequence(rc->cam, f.sequence);
			if (gap && zero_copy(rig) && rig->n > 1) {
				/* The driver skipped frames without taking buffers:
				 * its queue now lags the others' by as many. */
				rc->shift -= (int)PX_MIN(gap, (uint32_t)RIG_QUEUE_DEPTH);
				if (rc->shift < -RIG_QUEUE_DEPTH)
					rc->shift = -RIG_QUEUE_DEPTH;
			}
			rc->last_frame_ns = now;
			if (rc->cam->stats.stalled) {
				rc->cam->stats.stalled = false;
				px_log_info("%s: delivers again", rc->cam->device);
			}
			if (zero_copy(rig)) {
				on_frame_zero_copy(rig, i, &f, now);
			} else if ((ret = on_frame_copy(rig, i, &f, now)) != 0) {
				if (ret == -ENODEV)
					break;
				return ret;
			}
		}
		if (ret == -ENODEV)
			camera_gone(rig, i);
		else if (ret != -EAGAIN)
			return ret;
	}
	bool any = false;
	for (uint32_t i = 0; i < rig->n; i++)
		any = any || !rig->cams[i].cam->stats.gone;
	if (!any) {
		px_log_error("rig: every camera is gone; stopping");
		px_rig_stop(rig);
		return -ENODEV;
	}
	check_stalls(rig, now);
	int published = finalize_ready(rig, now);
	if (published < 0)
		return published;
	for (uint32_t i = 0; i < rig->n; i++)
		if (rig->cams[i].restart && active(&rig->cams[i]) &&
		    (ret = restart(rig, i)) != 0)
			return ret;
	if (zero_copy(rig)) {
		ret = refill(rig);
	} else {
		ret = px_publisher_dispatch(rig->pub, 0);
		ret = ret > 0 ? 0 : ret;
	}
	if (ret < 0)
		return ret;
	for (uint32_t i = 0; i < rig->n; i++) {
		struct px_camera *cam = rig->cams[i].cam;
		if (!active(&rig->cams[i]) || cam->stats.queued >= 2)
			continue;
		cam->stats.underruns++;
		if (!cam->warned_underrun)
			px_log_warn("%s: only %u buffers queued to the driver: subscribers hold "
				    "the rest of the pool, frames will be dropped",
				    cam->device, cam->stats.queued);
		cam->warned_underrun = true;
	}
	return published;
}

/* The camera's public calls that involve a rig: closing one (which stops it
 * first), and starting one alone, as a rig of one that borrows the camera
 * and the application's publisher. (v4l2.c knows no rig.) */

PX_API void px_camera_close(struct px_camera *cam)
{
	if (!cam)
		return;
	px_camera_stop(cam);
	px_cam_close(cam);
}

PX_API enum px_camera_io px_camera_io(const struct px_camera *cam)
{
	if (!cam)
		return PX_CAMERA_IO_AUTO;
	if (cam->rig)
		return px_rig_io(cam->rig);
	return cam->io_asked;
}

PX_API int px_camera_start(struct px_camera *cam, struct px_publisher *pub)
{
	if (!cam || !pub || cam->rig)
		return -EINVAL;
	struct px_rig *rig = NULL;
	int ret = rig_create_borrowed(cam, &rig);
	if (ret)
		return ret;
	ret = rig_attach(rig, pub);
	if (ret) {
		px_rig_destroy(rig);
		return ret;
	}
	cam->solo = rig;
	return 0;
}

PX_API int px_camera_dispatch(struct px_camera *cam)
{
	if (!cam || !cam->solo || !px_rig_get_publisher(cam->solo))
		return -EINVAL;
	return px_rig_dispatch(cam->solo);
}

PX_API void px_camera_stop(struct px_camera *cam)
{
	if (!cam || !cam->solo)
		return;
	px_rig_destroy(cam->solo); /* borrowed: stops, does not close */
	cam->solo = NULL;
}
