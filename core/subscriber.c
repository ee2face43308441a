/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include <pixshare/subscriber.h>

#include "core/allocator.h"
#include "core/sync.h"
#include "core/topic.h"
#include "core/util.h"
#include "core/wire.h"

#define RECONNECT_INTERVAL_MS 100
/* Intervals between frames that give the period for busy-polling. */
#define SPIN_INTERVALS 8
#define SPIN_MIN_INTERVALS 4

struct sub_pool;

struct sub_frame {
	struct px_frame pub;
	struct sub_pool *pool; /* NULL: a wrapped frame (struct wrapped_frame) */
	bool held; /* leased to us: in the ready queue or with the application */
	int fence; /* the acquire fence that came with the frame, or -1 */
	bool cpu_access; /* DMA_BUF_IOCTL_SYNC started at hand-out */
};

/* The application's buffers as a frame (px_frame_wrap()). */
struct wrapped_frame {
	struct sub_frame f;
	struct px_set_layout layout;
	struct px_frame_buffer bufs[PX_MAX_BUFFERS];
	struct px_vulkan_export vulkan;
};

/* Pool ids of subscribers' pools and wrapped frames, unique in the process
 * (subscribers on several threads share the counter). */
static uint64_t new_pool_id(void)
{
	static _Atomic uint64_t next_pool_id;
	return atomic_fetch_add(&next_pool_id, 1) + 1;
}

/* One publisher's pool as mapped here. Outlives its connection while the
 * application still holds frames of it. */
struct sub_pool {
	struct sub_pool *next;
	struct px_subscriber *owner;
	bool current; /* the pool of the live connection */
	uint32_t refs; /* the live connection + frames held */
	struct px_set_layout layout;
	/* Slots now (an elastic pool's change, wire GROW and SHRINK): the
	 * arrays have room for PX_MAX_SLOTS, so that frames never move. */
	uint32_t pool_size, n_buffers;
	struct px_frame_buffer *bufs; /* PX_MAX_SLOTS × n_buffers */
	struct sub_frame *frames;     /* PX_MAX_SLOTS */
	/* The most slots the pool had under this id: slots that come back
	 * after a SHRINK hold other buffers, so a GROW past a SHRINK gives the
	 * pool a new id (importers cache per pool_id and slot). */
	uint32_t id_slots;
	/* A GROW being received: the size it announced, 0 if none, and the
	 * fds received so far. */
	uint32_t grow_to, fds_got;
	bool unmapped, read_only; /* the WELCOME's flags */
	bool dmabuf;		  /* CPU reads are bracketed with DMA_BUF_IOCTL_SYNC */
	bool has_vulkan;	  /* the frames point at `vulkan` */
	struct px_vulkan_export vulkan;
	uint64_t id;
};

struct px_subscriber {
	char topic[PX_TOPIC_MAX + 1];
	char *dir;
	char name[32];
	enum px_qos qos;
	uint32_t queue_depth, max_leases, flags;
	uid_t publisher_uid; /* the topic's, checked at every connect */
	int handshake_timeout_ms;
	px_frame_fn on_frame;
	px_event_fn on_event;
	void *userdata;

	int epfd, sock, timerfd;
	struct px_wire_batch *rx; /* what one receive took from `sock` */
	int endfd; /* an eventfd left readable once the stream has ended for good */
	int watched_fence; /* the fence of the frame at the head of the queue, in epoll */
	bool ended;
	struct sub_pool *pool;  /* current, or NULL while disconnected */
	struct sub_pool *pools; /* every pool still alive */
	struct px_topic_info info;
	struct sub_frame *ready[PX_MAX_SLOTS]; /* received, not yet handed out */
	uint32_t ready_head, n_ready;
	struct px_subscriber_stats stats;
	/* Busy-poll (params.spin_us): the budget, the last frame's publish
	 * time, whether to spin for the next (not after a miss), and the last
	 * intervals between frames, each per period. */
	uint64_t spin_ns;
	uint64_t spin_last_publish_ns;
	bool spin_armed;
	uint64_t spin_intervals[SPIN_INTERVALS];
	uint32_t spin_n_intervals, spin_next_interval;
	/* Counted by GPU importers, which may run on any thread that reads a
	 * frame (px_frame_account_import()); copied into stats when read. */
	struct {
		_Atomic uint64_t by_path[PX_IMPORT_PATHS]; /* enum px_import_path */
		_Atomic uint64_t copies, copy_bytes;
		_Atomic int last_path;
	} imports;
};

static void pool_unref(struct sub_pool *pool)
{
	assert(pool->refs > 0);
	if (--pool->refs)
		return;
	struct px_subscriber *sub = pool->owner;
	for (struct sub_pool **p = &sub->pools; *p; p = &(*p)->next) {
		if (*p == pool) {
			*p = pool->next;
			break;
		}
	}
	for (uint32_t i = 0; pool->frames && i < PX_MAX_SLOTS; i++)
		px_close(&pool->frames[i].fence);
	if (pool->bufs) {
		for (uint32_t i = 0; i < PX_MAX_SLOTS * pool->n_buffers; i++) {
			struct px_frame_buffer *b = &pool->bufs[i];
			if (b->data)
				munmap((void *)b->data, b->size);
			px_close(&b->fd);
		}
	}
	free(pool->bufs);
	free(pool->frames);
	free(pool);
}

static struct sub_pool *pool_create(struct px_subscriber *sub, const struct px_set_layout *layout,
				    uint32_t pool_size)
{
	struct sub_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pool->owner = sub;
	pool->refs = 1;
	pool->layout = *layout;
	pool->pool_size = pool_size;
	pool->n_buffers = layout->n_buffers;
	pool->bufs = calloc((size_t)PX_MAX_SLOTS * layout->n_buffers, sizeof(*pool->bufs));
	pool->frames = calloc(PX_MAX_SLOTS, sizeof(*pool->frames));
	if (!pool->bufs || !pool->frames) {
		free(pool->bufs);
		free(pool->frames);
		free(pool);
		return NULL;
	}
	for (uint32_t i = 0; i < PX_MAX_SLOTS * layout->n_buffers; i++)
		pool->bufs[i].fd = -1;
	for (uint32_t i = 0; i < PX_MAX_SLOTS; i++) {
		struct sub_frame *f = &pool->frames[i];
		f->pool = pool;
		f->pub.layout = &pool->layout;
		f->pub.slot = i;
		f->pub.n_buffers = layout->n_buffers;
		f->pub.buffers = &pool->bufs[i * layout->n_buffers];
		f->pub.acquire_fence = -1;
		f->pub.priv = f;
		f->fence = -1;
	}
	pool->next = sub->pools;
	sub->pools = pool;
	return pool;
}

/* Checks a received buffer fd and maps it read-only, but where the publisher
 * said not to (`unmapped`: device memory) and for a dma-buf whose exporter
 * has no mmap: then b->data stays NULL (GPU importers read such buffers) and
 * *mapped is false. */
static int map_buffer(struct px_frame_buffer *b, uint64_t size, bool dmabuf, bool unmapped,
		      bool *mapped, char *why, size_t why_size)
{
	*mapped = false;
	b->size = size;
	/* An fd never mapped can do us no harm: whatever it is, it is the
	 * exporter's to describe (px_frame.vulkan), and GPU importers check it. */
	if (unmapped && !dmabuf)
		return 0;
	/* The publisher checked the same of its buffers (core/dmabuf.c): a
	 * memfd must be sealed against shrinking, or the publisher could
	 * truncate it under our mapping and fault us with SIGBUS; what the
	 * publisher calls a dma-buf must be one. */
	char what[96];
	if (px_pool_buffer_check(b->fd, dmabuf, size, what, sizeof(what))) {
		snprintf(why, why_size, "%s", what);
		return -EPROTO;
	}
	if (unmapped)
		return 0;
	void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, b->fd, 0);
	if (p == MAP_FAILED) {
		int ret = -errno;
		snprintf(why, why_size, "mmap of %llu bytes: %s", (unsigned long long)size,
			 strerror(errno));
		/* Not every exporter maps its dma-bufs (dma-buf.c: EINVAL
		 * without an mmap op; drivers' own errnos else): no CPU view. */
		return dmabuf ? 0 : ret;
	}
	b->data = p;
	*mapped = true;
	return 0;
}

/* Waits until `sock` has a message or `deadline` passes, then receives it. */
static int recv_wait(int sock, void *buf, int *fds, int max_fds, int *n_fds, uint64_t deadline)
{
	for (;;) {
		int len = px_wire_recv(sock, buf, fds, max_fds, n_fds);
		if (len == -EMSGSIZE || len == -ETOOMANYREFS || len == -EBADMSG) {
			px_log_error("publisher sent a malformed packet: %s", strerror(-len));
			return -EPROTO;
		}
		if (len != -EAGAIN)
			return len;
		uint64_t now = px_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = sock, .events = POLLIN};
		int ms = (int)((deadline - now + 999999) / 1000000);
		if (poll(&p, 1, ms) < 0 && errno != EINTR)
			return -errno;
	}
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		px_close(&fds[i]);
}

static int send_hello(struct px_subscriber *sub, int sock, uint32_t flags)
{
	struct px_wire_hello m;
	memset(&m, 0, sizeof(m));
	px_wire_header_init(&m.hdr, PX_MSG_HELLO, sizeof(m), flags);
	m.qos = sub ? (uint32_t)sub->qos : 0;
	m.queue_depth = sub && sub->qos == PX_QOS_QUEUE ? sub->queue_depth : 0;
	m.max_leases = sub ? sub->max_leases : 0;
	px_strlcpy(m.name, sub ? sub->name : px_program_name(), sizeof(m.name));
	return px_wire_send(sock, &m, sizeof(m), NULL, 0);
}

/* Receives WELCOME (or REFUSE) into `w` and checks it, and decodes its layout
 * and, under PX_WELCOME_VULKAN, its Vulkan export (else zeroed). */
static int recv_welcome(const char *topic, int sock, struct px_wire_welcome *w,
			struct px_set_layout *layout, struct px_vulkan_export *vulkan,
			uint64_t deadline)
{
	char buf[PX_WIRE_MAX_SIZE], why[192];
	int fds[PX_WIRE_FD_ROOM], n_fds;
	struct px_wire_header hdr;

	int len = recv_wait(sock, buf, fds, 0, &n_fds, deadline);
	if (len == 0) {
		px_log_error("%s: publisher hung up during the handshake", topic);
		return -ECONNRESET;
	}
	if (len < 0) {
		if (len == -ETIMEDOUT)
			px_log_error("%s: publisher did not answer within the timeout", topic);
		else
			px_log_error("%s: handshake: %s", topic, strerror(-len));
		return len;
	}
	if (px_wire_validate(buf, (size_t)len, n_fds, why, sizeof(why))) {
		px_log_error("%s: publisher sent a bad message: %s", topic, why);
		return -EPROTO;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.type == PX_MSG_REFUSE) {
		const struct px_wire_end *e = (const void *)buf;
		px_log_error("%s: publisher refused: %s", topic, e->text);
		return e->error ? e->error : -ECONNREFUSED;
	}
	if (hdr.type != PX_MSG_WELCOME) {
		px_log_error("%s: expected WELCOME, got message type %u", topic, hdr.type);
		return -EPROTO;
	}
	memcpy(w, buf, sizeof(*w));
	if (px_wire_decode_layout(&w->layout, layout, why, sizeof(why))) {
		px_log_error("%s: publisher sent a bad layout: %s", topic, why);
		return -EPROTO;
	}
	memset(vulkan, 0, sizeof(*vulkan));
	if ((w->hdr.flags & PX_WELCOME_VULKAN) &&
	    px_wire_decode_vulkan(&w->vulkan, layout, vulkan, why, sizeof(why))) {
		px_log_error("%s: publisher sent a bad Vulkan export: %s", topic, why);
		return -EPROTO;
	}
	return 0;
}

/* What a WELCOME and its Vulkan export say of the topic. */
static void topic_info_from_welcome(struct px_topic_info *info, const struct px_wire_welcome *w,
				    const struct px_vulkan_export *vulkan)
{
	memset(info, 0, sizeof(*info));
	info->publisher_pid = w->pid;
	info->allocator = (enum px_allocator_type)w->allocator;
	info->dmabuf = w->hdr.flags & PX_WELCOME_DMABUF;
	info->vulkan_export = w->hdr.flags & PX_WELCOME_VULKAN;
	info->unmapped = w->hdr.flags & PX_WELCOME_UNMAPPED;
	info->read_only = w->hdr.flags & PX_WELCOME_READ_ONLY;
	memcpy(info->vulkan_device_uuid, vulkan->device_uuid, sizeof(vulkan->device_uuid));
	memcpy(info->vulkan_driver_uuid, vulkan->driver_uuid, sizeof(vulkan->driver_uuid));
	info->device = w->device;
	info->pool_size = w->pool_size;
	info->max_leases = w->max_leases;
	px_strlcpy(info->description, w->description, sizeof(info->description));
}

/* Fds this process has open now, or -1 where /proc cannot tell. */
static long open_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/*
 * Whether a pool of `total` fds fits under this process's RLIMIT_NOFILE
 * beside the fds open now and a margin for the subscriber's own (its
 * socket, eventfd, timer, a frame's fence). A pool that does not fit would
 * fail halfway with MSG_CTRUNC, the kernel dropping the fds it could not
 * install: say why before, with what to change.
 */
static int check_fd_room(const char *topic, uint32_t total)
{
	struct rlimit rl;
	long open_now = open_fd_count();
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || open_now < 0)
		return 0;
	const unsigned long long margin = 16;
	if ((unsigned long long)open_now + total + margin <= rl.rlim_cur)
		return 0;
	px_log_error("%s: the pool is %u fds; this process has %ld open and may have %llu "
		     "(RLIMIT_NOFILE, hard limit %llu): raise it (ulimit -n, setrlimit) or "
		     "ask the publisher for fewer slots or buffers",
		     topic, total, open_now, (unsigned long long)rl.rlim_cur,
		     (unsigned long long)rl.rlim_max);
	return -EMFILE;
}

/*
 * Checks and maps the buffers of slots `from` … `to`-1 of a pool (their fds
 * received), counting those left unmapped and those writable. 0, or -EPROTO
 * (a buffer breaks the WELCOME's word or is no buffer of the kind), logged.
 */
static int map_slots(struct px_subscriber *sub, struct sub_pool *pool, uint32_t from, uint32_t to,
		     uint32_t *n_unmapped, uint32_t *n_writable)
{
	const struct px_set_layout *layout = &pool->layout;
	char why[192];
	for (uint32_t i = from * layout->n_buffers; i < to * layout->n_buffers; i++) {
		uint32_t b = i % layout->n_buffers;
		bool mapped;
		if (!px_fd_read_only(pool->bufs[i].fd)) {
			if (pool->read_only) {
				px_log_error(
				    "%s: slot %u buffer %u: writable, though the publisher "
				    "said every buffer is read-only",
				    sub->topic, i / layout->n_buffers, b);
				return -EPROTO;
			}
			(*n_writable)++;
		}
		int ret = map_buffer(&pool->bufs[i], layout->buffer_sizes[b], pool->dmabuf,
				     pool->unmapped, &mapped, why, sizeof(why));
		if (ret) {
			px_log_error("%s: slot %u buffer %u: %s", sub->topic, i / layout->n_buffers,
				     b, why);
			return ret;
		}
		if (!mapped && !pool->unmapped && !*n_unmapped)
			px_log_info("%s: slot %u buffer %u: %s: no CPU view of such dma-bufs here "
				    "(GPU importers read them)",
				    sub->topic, i / layout->n_buffers, b, why);
		*n_unmapped += !mapped;
	}
	return 0;
}

/* HELLO → WELCOME → BUFFERS… on a connected socket. On success the pool is
 * the subscriber's current one and `sock` is the connection. */
static int handshake(struct px_subscriber *sub, int sock, int timeout_ms)
{
	char buf[PX_WIRE_MAX_SIZE], why[192];
	int fds[PX_WIRE_FD_ROOM], n_fds, ret;
	uint64_t deadline = px_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct px_wire_welcome w;
	struct px_set_layout layout;
	struct px_vulkan_export vulkan;

	if ((ret = send_hello(sub, sock, 0))) {
		px_log_error("%s: sending HELLO: %s", sub->topic, strerror(-ret));
		return ret;
	}
	if ((ret = recv_welcome(sub->topic, sock, &w, &layout, &vulkan, deadline)))
		return ret;
	if (sub->max_leases && w.max_leases > sub->max_leases) {
		px_log_error("%s: publisher granted %u leases; %u were asked for", sub->topic,
			     w.max_leases, sub->max_leases);
		return -EPROTO;
	}

	uint32_t total = w.pool_size * layout.n_buffers, got = 0;
	if ((ret = check_fd_room(sub->topic, total)))
		return ret;
	struct sub_pool *pool = pool_create(sub, &layout, w.pool_size);
	if (!pool)
		return -ENOMEM;
	bool dmabuf = w.hdr.flags & PX_WELCOME_DMABUF;
	while (got < total) {
		int len = recv_wait(sock, buf, fds, PX_WIRE_MAX_FDS, &n_fds, deadline);
		if (len <= 0) {
			ret = len == 0 ? -ECONNRESET : len;
			/* ETOOMANYREFS: more fds than a BUFFERS carries, or
			 * fds the kernel could not install (RLIMIT_NOFILE: the
			 * process opened others since check_fd_room()). */
			px_log_error("%s: receiving buffers: %s%s", sub->topic, strerror(-ret),
				     ret == -ETOOMANYREFS ? " (too many fds for the message or "
							    "for RLIMIT_NOFILE)"
							  : "");
			goto err_pool;
		}
		if (px_wire_validate(buf, (size_t)len, n_fds, why, sizeof(why))) {
			close_fds(fds, n_fds);
			px_log_error("%s: publisher sent a bad message: %s", sub->topic, why);
			ret = -EPROTO;
			goto err_pool;
		}
		const struct px_wire_buffers *m = (const void *)buf;
		if (m->hdr.type != PX_MSG_BUFFERS || m->first != got || m->count > total - got) {
			close_fds(fds, n_fds);
			px_log_error("%s: expected BUFFERS from %u of %u", sub->topic, got, total);
			ret = -EPROTO;
			goto err_pool;
		}
		for (uint32_t i = 0; i < m->count; i++)
			pool->bufs[got + i].fd = fds[i];
		got += m->count;
		struct px_wire_buffers_ack ack;
		memset(&ack, 0, sizeof(ack));
		px_wire_header_init(&ack.hdr, PX_MSG_BUFFERS_ACK, sizeof(ack), 0);
		ack.next = got;
		if ((ret = px_wire_send(sock, &ack, sizeof(ack), NULL, 0))) {
			px_log_error("%s: sending BUFFERS_ACK: %s", sub->topic, strerror(-ret));
			goto err_pool;
		}
	}
	pool->dmabuf = dmabuf;
	pool->unmapped = w.hdr.flags & PX_WELCOME_UNMAPPED;
	pool->read_only = w.hdr.flags & PX_WELCOME_READ_ONLY;
	uint32_t n_unmapped = 0, n_writable = 0;
	if ((ret = map_slots(sub, pool, 0, w.pool_size, &n_unmapped, &n_writable)))
		goto err_pool;

	topic_info_from_welcome(&sub->info, &w, &vulkan);
	sub->info.unmapped = n_unmapped > 0;
	sub->info.read_only = n_writable == 0;
	pool->has_vulkan = w.hdr.flags & PX_WELCOME_VULKAN;
	pool->vulkan = vulkan;
	pool->id = new_pool_id();
	pool->id_slots = pool->pool_size;
	for (uint32_t i = 0; i < PX_MAX_SLOTS; i++) {
		pool->frames[i].pub.pool_id = pool->id;
		pool->frames[i].pub.device = w.device;
		pool->frames[i].pub.dmabuf = dmabuf;
		pool->frames[i].pub.vulkan = pool->has_vulkan ? &pool->vulkan : NULL;
	}
	pool->current = true;
	sub->pool = pool;
	return 0;

err_pool:
	pool_unref(pool);
	return ret;
}

static int try_connect(struct px_subscriber *sub)
{
	int sock = px_topic_connect(sub->dir, sub->topic, sub->publisher_uid);
	if (sock < 0)
		return sock;
	int ret = handshake(sub, sock, sub->handshake_timeout_ms);
	if (ret) {
		close(sock);
		return ret;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = sock};
	if (epoll_ctl(sub->epfd, EPOLL_CTL_ADD, sock, &ev) < 0) {
		ret = -errno;
		px_log_error("%s: epoll_ctl: %s", sub->topic, strerror(errno));
		sub->pool->current = false;
		pool_unref(sub->pool);
		sub->pool = NULL;
		close(sock);
		return ret;
	}
	sub->sock = sock;
	sub->stats.connects++;
	px_log_info("%s: connected to pid %d (%u slots, %s)", sub->topic,
		    (int)sub->info.publisher_pid, sub->info.pool_size,
		    px_allocator_name(sub->info.allocator));
	return 0;
}

static void set_timer(struct px_subscriber *sub, bool on)
{
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (on) {
		its.it_value.tv_nsec = RECONNECT_INTERVAL_MS * 1000000l;
		its.it_interval.tv_nsec = RECONNECT_INTERVAL_MS * 1000000l;
	}
	timerfd_settime(sub->timerfd, 0, &its, NULL);
}

/*
 * Brackets the application's CPU reads of a frame's dma-bufs, from hand-out
 * to release. Not at receipt: SYNC_START waits for the buffers' write fences,
 * which would block the library; by hand-out the acquire fence has signaled.
 * Not with PX_SUBSCRIBER_KEEP_FENCES either: those applications wait on the
 * GPU and read through it.
 */
static void frame_cpu_access(struct sub_frame *f, bool start)
{
	if (!f->pool->dmabuf || f->cpu_access == start)
		return;
	if (start && (f->pool->owner->flags & PX_SUBSCRIBER_KEEP_FENCES))
		return;
	f->cpu_access = start;
	for (uint32_t b = 0; b < f->pub.n_buffers; b++)
		if (f->pub.buffers[b].data)
			px_dmabuf_sync(f->pub.buffers[b].fd, start, false);
}

static struct sub_frame *ready_pop(struct px_subscriber *sub)
{
	if (!sub->n_ready)
		return NULL;
	struct sub_frame *f = sub->ready[sub->ready_head];
	sub->ready_head = (sub->ready_head + 1) % PX_MAX_SLOTS;
	sub->n_ready--;
	return f;
}

static void drop_fence(struct px_subscriber *sub, struct sub_frame *f)
{
	if (f->fence < 0)
		return;
	if (sub->watched_fence == f->fence) {
		epoll_ctl(sub->epfd, EPOLL_CTL_DEL, f->fence, NULL);
		sub->watched_fence = -1;
	}
	px_close(&f->fence);
	f->pub.acquire_fence = -1;
}

/* Gives a frame back; `release_fence` (taken; -1 for none) travels with the
 * RELEASE. */
static void release_frame(struct sub_frame *f, int release_fence)
{
	struct sub_pool *pool = f->pool;
	struct px_subscriber *sub = pool->owner;

	assert(f->held);
	f->held = false;
	drop_fence(sub, f);
	frame_cpu_access(f, false);
	sub->stats.released++;
	if (pool->current && sub->sock >= 0) {
		struct px_wire_release m;
		memset(&m, 0, sizeof(m));
		px_wire_header_init(&m.hdr, PX_MSG_RELEASE, sizeof(m),
				    release_fence >= 0 ? PX_RELEASE_FENCE : 0);
		m.slot = f->pub.slot;
		m.seq = f->pub.seq;
		/* A failure means the publisher is gone: the read side sees it. */
		px_wire_send(sub->sock, &m, sizeof(m), release_fence >= 0 ? &release_fence : NULL,
			     release_fence >= 0);
	}
	px_close(&release_fence);
	pool_unref(pool);
}

/* Takes a frame's publish time into the period's estimate and arms the
 * spin for the next. `dropped` frames published between are periods too. */
static void spin_learn(struct px_subscriber *sub, uint64_t publish_ns, uint32_t dropped)
{
	uint64_t last = sub->spin_last_publish_ns;
	if (last && publish_ns > last) {
		sub->spin_intervals[sub->spin_next_interval] =
		    (publish_ns - last) / (dropped + 1ull);
		sub->spin_next_interval = (sub->spin_next_interval + 1) % SPIN_INTERVALS;
		if (sub->spin_n_intervals < SPIN_INTERVALS)
			sub->spin_n_intervals++;
	}
	sub->spin_last_publish_ns = publish_ns;
	sub->spin_armed = true;
}

static void spin_forget(struct px_subscriber *sub)
{
	sub->spin_last_publish_ns = 0;
	sub->spin_armed = false;
	sub->spin_n_intervals = sub->spin_next_interval = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The publisher's period: the median of the last intervals, or 0 while
 * there are too few. */
static uint64_t spin_period(const struct px_subscriber *sub)
{
	if (sub->spin_n_intervals < SPIN_MIN_INTERVALS)
		return 0;
	uint64_t v[SPIN_INTERVALS];
	memcpy(v, sub->spin_intervals, sizeof(v));
	qsort(v, sub->spin_n_intervals, sizeof(v[0]), cmp_u64);
	return v[sub->spin_n_intervals / 2];
}

/* What is left of a wait until `limit`, in ms for epoll_wait (-1: no limit). */
static int ms_left(uint64_t limit, uint64_t now)
{
	if (limit == UINT64_MAX)
		return -1;
	return now >= limit ? 0 : (int)((limit - now + 999999) / 1000000);
}

/*
 * Busy-poll for the next frame when one is due (see px_subscriber_params
 * .spin_us): sleeps until the spin starts, then polls the epoll set without
 * sleeping. Returns the number of events filled in (> 0: something came),
 * 0 with `*timeout_ms` what is left of the caller's wait, or -1 with errno.
 */
static int spin(struct px_subscriber *sub, struct epoll_event *events, int max, int *timeout_ms)
{
	uint64_t period = sub->spin_armed && sub->sock >= 0 && !sub->n_ready ? spin_period(sub) : 0;
	if (!period)
		return 0;
	uint64_t now = px_now_ns();
	uint64_t limit = *timeout_ms < 0 ? UINT64_MAX : now + (uint64_t)*timeout_ms * 1000000ull;
	uint64_t due = sub->spin_last_publish_ns + period;
	uint64_t end = PX_MIN(due + sub->spin_ns, limit);
	if (now >= end)
		return 0;
	/* The sleep's timer fires up to the thread's slack late: start early
	 * by as much. */
	int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	uint64_t early = sub->spin_ns + (slack > 0 ? (uint64_t)slack : 0);
	uint64_t start = due > early ? due - early : 0;
	if (now < start) {
		uint64_t wake = PX_MIN(start, limit), left = wake - now;
		struct timespec ts = {.tv_sec = (time_t)(left / 1000000000ull),
				      .tv_nsec = (long)(left % 1000000000ull)};
		struct pollfd pfd = {.fd = sub->epfd, .events = POLLIN};
		int n = ppoll(&pfd, 1, &ts, NULL);
		if (n < 0)
			return -1;
		now = px_now_ns();
		if (n > 0 || now >= end) {
			/* Came early (or the caller's wait ended): no spin. */
			*timeout_ms = n > 0 ? 0 : ms_left(limit, now);
			return 0;
		}
	}
	/* Polled once more after the end has passed: a frame that came while
	 * this thread was preempted is caught too. */
	uint64_t t0 = now;
	int n;
	for (;;) {
		n = epoll_wait(sub->epfd, events, max, 0);
		if (n != 0 || now >= end)
			break;
		now = px_now_ns();
	}
	now = px_now_ns();
	sub->stats.spin_ns += now - t0;
	if (n > 0)
		return n; /* a catch if it brings a frame: see pump() */
	if (n < 0)
		return -1;
	sub->stats.spin_missed++;
	sub->spin_armed = false;
	*timeout_ms = ms_left(limit, now);
	return 0;
}

static void disconnect(struct px_subscriber *sub, const char *why)
{
	if (sub->sock < 0)
		return;
	if (why)
		px_log_warn("%s: %s", sub->topic, why);
	epoll_ctl(sub->epfd, EPOLL_CTL_DEL, sub->sock, NULL);
	px_close(&sub->sock);
	px_wire_batch_drop(sub->rx);
	/* Frames received and not yet handed out stay in the ready queue: their
	 * pool stays mapped, so they are delivered before the end is reported. */
	sub->pool->current = false;
	pool_unref(sub->pool);
	sub->pool = NULL;
	sub->stats.disconnects++;
	spin_forget(sub);
	if (sub->flags & PX_SUBSCRIBER_NO_RECONNECT) {
		/* Keep the fd readable, so that an event loop comes back and
		 * learns of the end (-EPIPE) once the frames are taken. */
		sub->ended = true;
		sub->endfd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = sub->endfd};
		if (sub->endfd < 0 || epoll_ctl(sub->epfd, EPOLL_CTL_ADD, sub->endfd, &ev) < 0)
			px_log_warn("%s: eventfd: %s; the subscriber's fd will not signal the end",
				    sub->topic, strerror(errno));
	} else {
		set_timer(sub, true);
	}
	if (sub->on_event)
		sub->on_event(sub->userdata, PX_EVENT_DISCONNECTED);
}

/* Checks a FRAME against the pool; false with the reason in `why`. */
static bool frame_checks(struct px_subscriber *sub, const struct px_wire_frame *m, char *why,
			 size_t why_size)
{
	struct sub_pool *pool = sub->pool;
	if (pool->grow_to) {
		snprintf(why, why_size, "protocol error: FRAME before the BUFFERS of a GROW");
		return false;
	}
	if (m->slot >= pool->pool_size) {
		snprintf(why, why_size, "protocol error: FRAME for slot %u of %u", m->slot,
			 pool->pool_size);
		return false;
	}
	if (m->n_images != pool->layout.n_images) {
		snprintf(why, why_size, "protocol error: FRAME of %u images; the set has %u",
			 m->n_images, pool->layout.n_images);
		return false;
	}
	if (pool->frames[m->slot].held) {
		snprintf(why, why_size, "protocol error: FRAME for slot %u, which we still hold",
			 m->slot);
		return false;
	}
	for (uint32_t i = 0; i < m->n_images; i++) {
		const struct px_format_info *f = px_format_get_info(pool->layout.images[i].fourcc);
		uint64_t room = px_image_compressed_room(&pool->layout, i);
		uint64_t bytes = m->images[i].bytes;
		bool present = m->valid_mask & (1u << i);
		if (!px_image_bytes_valid(&pool->layout, i, present, bytes)) {
			snprintf(
			    why, why_size,
			    "protocol error: FRAME says %llu bytes for image %u (%s, room %llu)",
			    (unsigned long long)bytes, i, f ? f->name : "?",
			    (unsigned long long)room);
			return false;
		}
	}
	return true;
}

static void handle_frame(struct px_subscriber *sub, const struct px_wire_frame *m, int fence)
{
	struct sub_pool *pool = sub->pool;
	char why[128];

	if (!frame_checks(sub, m, why, sizeof(why))) {
		px_close(&fence);
		disconnect(sub, why);
		return;
	}
	struct sub_frame *f = &pool->frames[m->slot];
	f->fence = fence;

	struct px_frame *fr = &f->pub;
	fr->pool_id = pool->id;
	fr->seq = m->seq;
	fr->publish_ns = m->publish_ns;
	fr->receive_ns = px_now_ns();
	fr->valid_mask = m->valid_mask;
	fr->dropped_before = m->dropped_before;
	fr->replayed = m->hdr.flags & PX_FRAME_REPLAY;
	memset(fr->images, 0, sizeof(fr->images));
	for (uint32_t i = 0; i < m->n_images; i++) {
		fr->images[i].timestamp_ns = m->images[i].timestamp_ns;
		fr->images[i].sequence = m->images[i].sequence;
		fr->images[i].bytes = m->images[i].bytes;
	}
	f->held = true;
	pool->refs++;
	sub->stats.received++;
	sub->stats.held++;
	sub->stats.dropped_publisher += m->dropped_before;
	if (fr->replayed) {
		sub->stats.replayed++;
	} else {
		uint64_t lat =
		    fr->receive_ns > fr->publish_ns ? fr->receive_ns - fr->publish_ns : 0;
		sub->stats.latency_last_ns = lat;
		sub->stats.latency_sum_ns += lat;
		if (lat > sub->stats.latency_max_ns)
			sub->stats.latency_max_ns = lat;
	}
	if (sub->spin_ns && !fr->replayed)
		spin_learn(sub, fr->publish_ns, m->dropped_before);
	if (sub->n_ready == PX_MAX_SLOTS) {
		/* Only reachable across several reconnections with nothing taken:
		 * make room by dropping the oldest, counted. */
		struct sub_frame *old = ready_pop(sub);
		sub->stats.dropped_superseded++;
		sub->stats.held--;
		release_frame(old, -1);
	}
	sub->ready[(sub->ready_head + sub->n_ready) % PX_MAX_SLOTS] = f;
	sub->n_ready++;
}

/* GROW: the publisher's elastic pool grew; BUFFERS with the new slots' fds
 * follow. false with the reason in `why`. */
static bool handle_grow(struct px_subscriber *sub, const struct px_wire_resize *m, char *why,
			size_t why_size)
{
	struct sub_pool *pool = sub->pool;
	if (pool->grow_to || m->pool_size <= pool->pool_size) {
		snprintf(why, why_size, "protocol error: GROW to %u slots, with %u%s", m->pool_size,
			 pool->pool_size, pool->grow_to ? " and a GROW under way" : "");
		return false;
	}
	if ((uint64_t)m->pool_size * pool->n_buffers > PX_MAX_SLOTS * PX_MAX_BUFFERS) {
		snprintf(why, why_size, "protocol error: GROW to %u slots of %u buffers",
			 m->pool_size, pool->n_buffers);
		return false;
	}
	if (check_fd_room(sub->topic, (m->pool_size - pool->pool_size) * pool->n_buffers)) {
		snprintf(why, why_size, "no room for the fds of %u more slots",
			 m->pool_size - pool->pool_size);
		return false;
	}
	pool->grow_to = m->pool_size;
	pool->fds_got = pool->pool_size * pool->n_buffers;
	return true;
}

/* BUFFERS of a GROW; the fds are taken or closed. Once the last came, the new
 * slots are mapped and join the pool. false with the reason in `why`. */
static bool handle_buffers(struct px_subscriber *sub, const struct px_wire_buffers *m, int *fds,
			   int n_fds, char *why, size_t why_size)
{
	struct sub_pool *pool = sub->pool;
	uint32_t total = pool->grow_to * pool->n_buffers;
	if (!pool->grow_to || m->first != pool->fds_got || m->count > total - pool->fds_got) {
		close_fds(fds, n_fds);
		snprintf(why, why_size, "protocol error: BUFFERS from %u (%u fds)%s", m->first,
			 m->count,
			 pool->grow_to ? ", not those the GROW announced" : " without a GROW");
		return false;
	}
	for (uint32_t i = 0; i < m->count; i++)
		pool->bufs[pool->fds_got + i].fd = fds[i];
	pool->fds_got += m->count;
	if (pool->fds_got < total)
		return true;

	uint32_t from = pool->pool_size, n_unmapped = 0, n_writable = 0;
	if (map_slots(sub, pool, from, pool->grow_to, &n_unmapped, &n_writable)) {
		/* Logged; the pool's slots from `from` on are closed with it. */
		snprintf(why, why_size, "a buffer of the grown pool was refused");
		return false;
	}
	/* A slot index that held other buffers under this pool id: the pool
	 * gets a new id, so that no importer takes its old imports for them.
	 * Frames the application holds keep theirs. */
	if (from < pool->id_slots) {
		pool->id = new_pool_id();
		pool->id_slots = 0;
	}
	pool->pool_size = pool->grow_to;
	pool->id_slots = PX_MAX(pool->id_slots, pool->pool_size);
	pool->grow_to = 0;
	sub->info.pool_size = pool->pool_size;
	sub->info.unmapped |= n_unmapped > 0;
	sub->info.read_only &= n_writable == 0;
	sub->stats.pool_grows++;
	px_log_debug("%s: the pool grew from %u to %u slots", sub->topic, from, pool->pool_size);
	return true;
}

/* SHRINK: the slots from pool_size on are retired; none may be held. Their
 * buffers are unmapped and closed now. false with the reason in `why`. */
static bool handle_shrink(struct px_subscriber *sub, const struct px_wire_resize *m, char *why,
			  size_t why_size)
{
	struct sub_pool *pool = sub->pool;
	if (pool->grow_to || m->pool_size >= pool->pool_size) {
		snprintf(why, why_size, "protocol error: SHRINK to %u slots, with %u%s",
			 m->pool_size, pool->pool_size,
			 pool->grow_to ? " and a GROW under way" : "");
		return false;
	}
	for (uint32_t i = m->pool_size; i < pool->pool_size; i++) {
		if (pool->frames[i].held) {
			snprintf(why, why_size,
				 "protocol error: SHRINK to %u slots retires slot %u, "
				 "which we hold",
				 m->pool_size, i);
			return false;
		}
	}
	for (uint32_t i = m->pool_size * pool->n_buffers; i < pool->pool_size * pool->n_buffers;
	     i++) {
		struct px_frame_buffer *b = &pool->bufs[i];
		if (b->data)
			munmap((void *)b->data, b->size);
		b->data = NULL;
		px_close(&b->fd);
	}
	for (uint32_t i = m->pool_size; i < pool->pool_size; i++)
		px_close(&pool->frames[i].fence);
	px_log_debug("%s: the pool shrank from %u to %u slots", sub->topic, pool->pool_size,
		     m->pool_size);
	pool->pool_size = m->pool_size;
	sub->info.pool_size = pool->pool_size;
	sub->stats.pool_shrinks++;
	return true;
}

/* Reads everything pending on the connection. */
static void read_socket(struct px_subscriber *sub)
{
	char why[192];
	int fds[PX_WIRE_FD_ROOM], n_fds;
	const void *buf;

	while (sub->sock >= 0) {
		int len = px_wire_recv_next(sub->sock, sub->rx, &buf, fds, PX_WIRE_MAX_FDS, &n_fds);
		if (len == -EAGAIN)
			return;
		if (len == 0 || len == -ECONNRESET) {
			disconnect(sub, "publisher went away");
			return;
		}
		if (len < 0) {
			snprintf(why, sizeof(why), "receive: %s", strerror(-len));
			disconnect(sub, why);
			return;
		}
		char reason[160];
		if (px_wire_validate(buf, (size_t)len, n_fds, reason, sizeof(reason))) {
			close_fds(fds, n_fds);
			snprintf(why, sizeof(why), "protocol error: %s", reason);
			disconnect(sub, why);
			return;
		}
		struct px_wire_header hdr;
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr.type == PX_MSG_FRAME) {
			/* Validation allows an fd only with PX_FRAME_FENCE. */
			if (n_fds && !px_fence_is_sync_file(fds[0])) {
				close_fds(fds, n_fds);
				disconnect(sub, "protocol error: the fence attached to a FRAME is "
						"not a sync_file");
				return;
			}
			handle_frame(sub, (const void *)buf, n_fds ? fds[0] : -1);
		} else if (hdr.type == PX_MSG_GROW || hdr.type == PX_MSG_SHRINK ||
			   hdr.type == PX_MSG_BUFFERS) {
			bool ok = hdr.type == PX_MSG_GROW
				      ? handle_grow(sub, (const void *)buf, why, sizeof(why))
				  : hdr.type == PX_MSG_SHRINK
				      ? handle_shrink(sub, (const void *)buf, why, sizeof(why))
				      : handle_buffers(sub, (const void *)buf, fds, n_fds, why,
						       sizeof(why));
			if (!ok) {
				disconnect(sub, why);
				return;
			}
		} else if (hdr.type == PX_MSG_END) {
			const struct px_wire_end *e = (const void *)buf;
			px_log_info("%s: stream ended: %s", sub->topic, e->text);
			sub->stats.ended_cleanly++;
			disconnect(sub, NULL);
			return;
		} else {
			close_fds(fds, n_fds);
			snprintf(why, sizeof(why), "protocol error: unexpected message type %u",
				 hdr.type);
			disconnect(sub, why);
			return;
		}
	}
}

static void try_reconnect(struct px_subscriber *sub)
{
	uint64_t expirations;
	if (read(sub->timerfd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
		return;
	if (sub->sock >= 0 || sub->ended)
		return;
	/* A missing publisher (-ENOENT) is the normal state while we wait and
	 * is not logged; other failures are, by try_connect. */
	int ret = try_connect(sub);
	if (ret)
		return;
	set_timer(sub, false);
	if (sub->on_event)
		sub->on_event(sub->userdata, PX_EVENT_CONNECTED);
}

/* Waits up to timeout_ms for activity and handles it. Returns 0, or a negative errno. */
static int pump(struct px_subscriber *sub, int timeout_ms)
{
	struct epoll_event events[4];
	int n = 0;
	if (sub->spin_ns && timeout_ms)
		n = spin(sub, events, (int)PX_ARRAY_SIZE(events), &timeout_ms);
	/* A spin that ended on a message counts as a catch if a frame came. */
	uint64_t spun_before = n > 0 ? sub->stats.received : UINT64_MAX;
	if (n == 0)
		n = epoll_wait(sub->epfd, events, (int)PX_ARRAY_SIZE(events), timeout_ms);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		if (events[i].data.fd == sub->timerfd)
			try_reconnect(sub);
		else if (events[i].data.fd == sub->sock)
			read_socket(sub);
	}
	if (spun_before != UINT64_MAX && sub->stats.received > spun_before)
		sub->stats.spin_caught++;
	return 0;
}

/*
 * A mapped dma-buf of the frame whose implicit write fences have not all
 * signaled (it does not poll readable), or -1. Anyone holding a frame's fds
 * can add such a fence (DMA_BUF_IOCTL_IMPORT_SYNC_FILE takes read-only
 * dma-bufs too), another subscriber included; the DMA_BUF_IOCTL_SYNC at
 * hand-out would wait for it, past the caller's timeout.
 */
static int implicit_write_pending(const struct sub_frame *f)
{
	if (!f->pool->dmabuf || (f->pool->owner->flags & PX_SUBSCRIBER_KEEP_FENCES))
		return -1;
	int fds[PX_MAX_BUFFERS];
	uint32_t n = 0;
	for (uint32_t b = 0; b < f->pub.n_buffers; b++)
		if (f->pub.buffers[b].data)
			fds[n++] = f->pub.buffers[b].fd;
	int busy = px_dmabuf_first_busy(fds, n, false);
	return busy < 0 ? -1 : fds[busy];
}

/* Waits for a pending implicit write fence as for an acquire fence: takes
 * it as the frame's fence (exported: DMA_BUF_IOCTL_EXPORT_SYNC_FILE). */
static void adopt_implicit_fence(struct sub_frame *f)
{
	int fd = f->fence < 0 ? implicit_write_pending(f) : -1;
	if (fd >= 0) {
		int fence = px_dmabuf_export_fence(fd, false);
		if (fence >= 0)
			f->fence = fence;
	}
}

/*
 * Takes the frame to hand out next: latest QoS skips to the newest frame. A
 * frame whose acquire fence, or a write fence in its dma-bufs, has not
 * signaled is not handed out (unless the application takes fences itself):
 * the fence joins the epoll set, so the subscriber's fd wakes the
 * application when it signals.
 */
static struct sub_frame *next_frame(struct px_subscriber *sub)
{
	if (!sub->n_ready)
		return NULL;
	if (sub->qos == PX_QOS_LATEST) {
		while (sub->n_ready > 1) {
			struct sub_frame *old = ready_pop(sub);
			sub->stats.dropped_superseded++;
			sub->stats.held--;
			release_frame(old, -1);
		}
	}
	struct sub_frame *f = sub->ready[sub->ready_head];
	for (;;) {
		adopt_implicit_fence(f);
		if (f->fence < 0)
			break;
		if (sub->flags & PX_SUBSCRIBER_KEEP_FENCES) {
			f->pub.acquire_fence = f->fence;
			break;
		}
		if (!px_fence_signaled(f->fence)) {
			if (sub->watched_fence != f->fence) {
				struct epoll_event ev = {.events = EPOLLIN, .data.fd = f->fence};
				if (epoll_ctl(sub->epfd, EPOLL_CTL_ADD, f->fence, &ev) == 0)
					sub->watched_fence = f->fence;
			}
			sub->stats.fence_waits++;
			return NULL;
		}
		drop_fence(sub, f);
	}
	ready_pop(sub);
	frame_cpu_access(f, true);
	sub->stats.delivered++;
	return f;
}

/* Whether next_frame() would hand out a frame now. */
static bool frame_deliverable(const struct px_subscriber *sub)
{
	if (!sub->n_ready)
		return false;
	const struct sub_frame *f = sub->ready[(sub->ready_head + sub->n_ready - 1) % PX_MAX_SLOTS];
	if (sub->qos != PX_QOS_LATEST)
		f = sub->ready[sub->ready_head];
	if (f->fence < 0)
		return implicit_write_pending(f) < 0;
	return (sub->flags & PX_SUBSCRIBER_KEEP_FENCES) || px_fence_signaled(f->fence);
}

PX_API int px_subscriber_dispatch(struct px_subscriber *sub, int timeout_ms)
{
	if (!sub)
		return -EINVAL;
	/* Read first: an event loop calls this when the fd is readable, so the
	 * frame is usually there and the wait is not needed. */
	if (sub->sock >= 0)
		read_socket(sub);
	if (!frame_deliverable(sub) && !sub->ended) {
		int ret = pump(sub, timeout_ms);
		if (ret == -EINTR)
			return 0;
		if (ret)
			return ret;
	}
	if (!sub->on_frame)
		return sub->ended && !sub->n_ready ? -EPIPE : 0;
	int delivered = 0;
	struct sub_frame *f;
	while ((f = next_frame(sub))) {
		delivered++;
		sub->on_frame(sub->userdata, &f->pub);
	}
	if (!delivered && sub->ended)
		return -EPIPE;
	return delivered;
}

PX_API int px_subscriber_receive(struct px_subscriber *sub, struct px_frame **frame, int timeout_ms)
{
	if (!sub || !frame)
		return -EINVAL;
	*frame = NULL;
	uint64_t deadline =
	    timeout_ms < 0 ? UINT64_MAX : px_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		if (sub->sock >= 0)
			read_socket(sub);
		struct sub_frame *f = next_frame(sub);
		if (f) {
			*frame = &f->pub;
			return 0;
		}
		if (sub->ended)
			return -EPIPE;
		uint64_t now = px_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		int wait = deadline == UINT64_MAX ? -1 : (int)((deadline - now + 999999) / 1000000);
		int ret = pump(sub, wait);
		if (ret)
			return ret;
	}
}

static int frame_wrap(const struct px_frame_desc *desc, struct px_frame **out)
{
	char why[160];
	if (!desc->layout || !desc->buffers) {
		px_log_error("px_frame_wrap: a layout and buffers are needed");
		return -EINVAL;
	}
	if (px_layout_validate(desc->layout, why, sizeof(why))) {
		px_log_error("px_frame_wrap: invalid layout: %s", why);
		return -EINVAL;
	}
	const struct px_set_layout *l = desc->layout;
	for (uint32_t b = 0; b < l->n_buffers; b++) {
		const struct px_frame_buffer *fb = &desc->buffers[b];
		if ((fb->fd < 0 && !fb->data) || fb->size < l->buffer_sizes[b]) {
			px_log_error("px_frame_wrap: buffer %u: %s", b,
				     fb->fd < 0 && !fb->data ? "neither an fd nor a mapping"
							     : "smaller than the layout's");
			return -EINVAL;
		}
	}
	struct wrapped_frame *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->layout = *l;
	for (uint32_t b = 0; b < l->n_buffers; b++) {
		w->bufs[b] = desc->buffers[b];
		if (desc->buffers[b].fd < 0)
			continue;
		w->bufs[b].fd = fcntl(desc->buffers[b].fd, F_DUPFD_CLOEXEC, 0);
		if (w->bufs[b].fd < 0) {
			int ret = -errno;
			px_log_error("px_frame_wrap: buffer %u: dup of fd %d: %s", b,
				     desc->buffers[b].fd, strerror(errno));
			while (b--)
				px_close(&w->bufs[b].fd);
			free(w);
			return ret;
		}
	}
	struct px_frame *f = &w->f.pub;
	f->layout = &w->layout;
	f->slot = desc->slot;
	f->n_buffers = l->n_buffers;
	f->buffers = w->bufs;
	f->seq = 1;
	f->valid_mask = l->n_images >= 32 ? UINT32_MAX : (1u << l->n_images) - 1;
	f->acquire_fence = -1;
	f->pool_id = new_pool_id();
	f->device = desc->device;
	f->dmabuf = desc->dmabuf;
	if (desc->vulkan) {
		w->vulkan = *desc->vulkan;
		f->vulkan = &w->vulkan;
	}
	f->priv = &w->f;
	w->f.fence = -1;
	w->f.held = true;
	*out = f;
	return 0;
}

PX_API int px_frame_wrap_sized(size_t desc_size, const struct px_frame_desc *desc,
			       struct px_frame **out)
{
	struct px_frame_desc ours;
	if (!out || !desc)
		return -EINVAL;
	*out = NULL;
	int ret = px_abi_in(&ours, sizeof(ours), desc, desc_size,
			    PX_SIZE_THROUGH(struct px_frame_desc, slot),
			    "px_frame_wrap: struct px_frame_desc");
	return ret ? ret : frame_wrap(&ours, out);
}

static void wrapped_release(struct sub_frame *f)
{
	struct wrapped_frame *w = (struct wrapped_frame *)f;
	assert(f->held);
	f->held = false;
	for (uint32_t b = 0; b < w->layout.n_buffers; b++)
		px_close(&w->bufs[b].fd);
	free(w);
}

PX_API void px_frame_release(struct px_frame *frame)
{
	if (!frame)
		return;
	struct sub_frame *f = frame->priv;
	assert(f && &f->pub == frame);
	if (!f->pool) {
		wrapped_release(f);
		return;
	}
	f->pool->owner->stats.held--;
	release_frame(f, -1);
}

PX_API void px_frame_release_fenced(struct px_frame *frame, int fence)
{
	if (!frame) {
		if (fence >= 0)
			close(fence);
		return;
	}
	struct sub_frame *f = frame->priv;
	assert(f && &f->pub == frame);
	if (!f->pool) {
		px_close(&fence);
		wrapped_release(f);
		return;
	}
	f->pool->owner->stats.held--;
	if (fence >= 0 && !px_fence_is_sync_file(fence)) {
		px_log_error("%s: release of frame %llu: fd %d is not a sync_file; released "
			     "without a fence",
			     f->pool->owner->topic, (unsigned long long)frame->seq, fence);
		px_close(&fence);
	}
	release_frame(f, fence);
}

static struct px_subscriber *frame_owner(const struct px_frame *frame)
{
	if (!frame || !frame->priv)
		return NULL;
	const struct sub_frame *f = frame->priv;
	return f->pool ? f->pool->owner : NULL; /* wrapped frames count nowhere */
}

void px_frame_account_import(const struct px_frame *frame, enum px_import_path path)
{
	struct px_subscriber *sub = frame_owner(frame);
	if (!sub)
		return;
	assert((unsigned)path < PX_ARRAY_SIZE(sub->imports.by_path));
	atomic_fetch_add_explicit(&sub->imports.by_path[path], 1, memory_order_relaxed);
	atomic_store_explicit(&sub->imports.last_path, (int)path, memory_order_relaxed);
}

void px_frame_account_copy(const struct px_frame *frame, uint64_t bytes)
{
	struct px_subscriber *sub = frame_owner(frame);
	if (!sub)
		return;
	atomic_fetch_add_explicit(&sub->imports.copies, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sub->imports.copy_bytes, bytes, memory_order_relaxed);
}

PX_API const void *px_frame_plane(const struct px_frame *frame, uint32_t image, uint32_t plane)
{
	if (!frame || image >= frame->layout->n_images)
		return NULL;
	const struct px_image_layout *img = &frame->layout->images[image];
	if (plane >= img->n_planes)
		return NULL;
	const struct px_frame_buffer *b = &frame->buffers[img->planes[plane].buffer];
	return b->data ? (const uint8_t *)b->data + img->planes[plane].offset : NULL;
}

static int subscriber_create_impl(const struct px_subscriber_params *params,
				  struct px_subscriber **out)
{
	int ret;

	if (!params || !out) {
		px_log_error("subscriber: params and out are required");
		return -EINVAL;
	}
	*out = NULL;
	if ((ret = px_topic_check_name(params->topic)))
		return ret;
	if (params->qos > PX_QOS_RELIABLE) {
		px_log_error("subscriber %s: unknown QoS %d", params->topic, (int)params->qos);
		return -EINVAL;
	}
	if (params->qos == PX_QOS_QUEUE &&
	    (params->queue_depth < 1 || params->queue_depth > PX_MAX_SLOTS)) {
		px_log_error("subscriber %s: queue depth %u; 1 to %u allowed", params->topic,
			     params->queue_depth, PX_MAX_SLOTS);
		return -EINVAL;
	}
	if (params->max_leases > PX_MAX_LEASES) {
		px_log_error("subscriber %s: %u leases; at most %u", params->topic,
			     params->max_leases, PX_MAX_LEASES);
		return -EINVAL;
	}
	if (params->spin_us > PX_MAX_SPIN_US) {
		px_log_error("subscriber %s: spin_us %u; at most %u", params->topic,
			     params->spin_us, PX_MAX_SPIN_US);
		return -EINVAL;
	}
	if (params->flags & ~(PX_SUBSCRIBER_NO_RECONNECT | PX_SUBSCRIBER_KEEP_FENCES |
			      PX_SUBSCRIBER_PUBLISHER_UID)) {
		px_log_error("subscriber %s: unknown flags 0x%x", params->topic, params->flags);
		return -EINVAL;
	}

	struct px_subscriber *sub = calloc(1, sizeof(*sub));
	if (!sub)
		return -ENOMEM;
	sub->epfd = sub->sock = sub->timerfd = sub->endfd = sub->watched_fence = -1;
	px_strlcpy(sub->topic, params->topic, sizeof(sub->topic));
	if (params->dir && !(sub->dir = strdup(params->dir))) {
		ret = -ENOMEM;
		goto err_free;
	}
	px_strlcpy(sub->name, params->name ? params->name : px_program_name(), sizeof(sub->name));
	sub->qos = params->qos;
	sub->queue_depth = params->queue_depth;
	sub->max_leases = params->max_leases;
	sub->flags = params->flags;
	sub->spin_ns = (uint64_t)params->spin_us * 1000u;
	sub->handshake_timeout_ms = (int)PX_MIN(
	    params->handshake_timeout_ms ? params->handshake_timeout_ms : PX_HANDSHAKE_TIMEOUT_MS,
	    (uint32_t)INT_MAX);
	sub->publisher_uid =
	    (params->flags & PX_SUBSCRIBER_PUBLISHER_UID) ? params->publisher_uid : geteuid();
	sub->on_frame = params->on_frame;
	sub->on_event = params->on_event;
	sub->userdata = params->userdata;

	if (!(sub->rx = calloc(1, sizeof(*sub->rx)))) {
		ret = -ENOMEM;
		goto err_fds;
	}
	sub->epfd = epoll_create1(EPOLL_CLOEXEC);
	sub->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sub->epfd < 0 || sub->timerfd < 0) {
		ret = -errno;
		px_log_error("subscriber %s: epoll/timerfd: %s", sub->topic, strerror(errno));
		goto err_fds;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = sub->timerfd};
	if (epoll_ctl(sub->epfd, EPOLL_CTL_ADD, sub->timerfd, &ev) < 0) {
		ret = -errno;
		px_log_error("subscriber %s: epoll_ctl: %s", sub->topic, strerror(errno));
		goto err_fds;
	}

	uint64_t deadline = params->connect_timeout_ms < 0
				    ? UINT64_MAX
				    : px_now_ns() + (uint64_t)params->connect_timeout_ms * 1000000ull;
	for (;;) {
		ret = try_connect(sub);
		if (ret != -ENOENT)
			break;
		if (px_now_ns() >= deadline)
			break;
		struct timespec ts = {0, 20000000};
		if (nanosleep(&ts, NULL) < 0 && errno == EINTR) {
			ret = -EINTR;
			break;
		}
	}
	if (ret == -ENOENT) {
		struct sockaddr_un addr;
		px_topic_address(sub->dir, sub->topic, &addr);
		px_log_error("subscriber %s: no publisher at %s", sub->topic, addr.sun_path);
	}
	if (ret)
		goto err_fds;
	*out = sub;
	return 0;

err_fds:
	px_close(&sub->endfd);
	px_close(&sub->timerfd);
	px_close(&sub->epfd);
	free(sub->rx);
	free(sub->dir);
err_free:
	free(sub);
	return ret;
}

PX_API int px_subscriber_create_sized(size_t size, const struct px_subscriber_params *params,
				      struct px_subscriber **out)
{
	struct px_subscriber_params ours;
	if (out)
		*out = NULL;
	if (params) {
		int ret = px_abi_in(&ours, sizeof(ours), params, size,
				    PX_SIZE_THROUGH(struct px_subscriber_params, userdata),
				    "px_subscriber_create: struct px_subscriber_params");
		if (ret)
			return ret;
	}
	return subscriber_create_impl(params ? &ours : NULL, out);
}

PX_API void px_subscriber_destroy(struct px_subscriber *sub)
{
	if (!sub)
		return;
	sub->on_event = NULL;
	disconnect(sub, NULL);
	/* Pools of frames the application still holds go too: documented. */
	while (sub->pools) {
		struct sub_pool *pool = sub->pools;
		pool->refs = 1;
		pool_unref(pool);
	}
	px_close(&sub->endfd);
	px_close(&sub->timerfd);
	px_close(&sub->epfd);
	free(sub->rx);
	free(sub->dir);
	free(sub);
}

PX_API int px_subscriber_get_fd(const struct px_subscriber *sub)
{
	return sub ? sub->epfd : -EINVAL;
}

PX_API bool px_subscriber_is_connected(const struct px_subscriber *sub)
{
	return sub && sub->sock >= 0;
}

PX_API const struct px_set_layout *px_subscriber_get_layout(const struct px_subscriber *sub)
{
	return sub && sub->pool ? &sub->pool->layout : NULL;
}

static int subscriber_get_topic_info_impl(const struct px_subscriber *sub,
					  struct px_topic_info *info)
{
	if (!sub || !info)
		return -EINVAL;
	if (sub->sock < 0)
		return -ENOTCONN;
	*info = sub->info;
	return 0;
}

PX_API int px_subscriber_get_topic_info_sized(size_t size, const struct px_subscriber *sub,
					      struct px_topic_info *info)
{
	struct px_topic_info ours;
	if (!info)
		return -EINVAL;
	int ret = subscriber_get_topic_info_impl(sub, &ours);
	if (ret)
		return ret;
	return px_abi_out(info, size, PX_SIZE_THROUGH(struct px_topic_info, description), &ours,
			  sizeof(ours), "px_subscriber_get_topic_info: struct px_topic_info");
}

static int subscriber_get_stats_impl(const struct px_subscriber *sub,
				     struct px_subscriber_stats *stats)
{
	if (!sub || !stats)
		return -EINVAL;
	*stats = sub->stats;
	stats->imported_dmabuf =
	    atomic_load_explicit(&sub->imports.by_path[PX_IMPORT_DMABUF], memory_order_relaxed);
	stats->imported_host_memory = atomic_load_explicit(
	    &sub->imports.by_path[PX_IMPORT_HOST_MEMORY], memory_order_relaxed);
	stats->imported_upload =
	    atomic_load_explicit(&sub->imports.by_path[PX_IMPORT_UPLOAD], memory_order_relaxed);
	stats->imported_opaque_fd =
	    atomic_load_explicit(&sub->imports.by_path[PX_IMPORT_OPAQUE_FD], memory_order_relaxed);
	stats->last_import_path = (enum px_import_path)atomic_load_explicit(&sub->imports.last_path,
									    memory_order_relaxed);
	stats->copies = atomic_load_explicit(&sub->imports.copies, memory_order_relaxed);
	stats->copy_bytes = atomic_load_explicit(&sub->imports.copy_bytes, memory_order_relaxed);
	return 0;
}

PX_API int px_subscriber_get_stats_sized(size_t size, const struct px_subscriber *sub,
					 struct px_subscriber_stats *stats)
{
	struct px_subscriber_stats ours;
	if (!stats)
		return -EINVAL;
	int ret = subscriber_get_stats_impl(sub, &ours);
	if (ret)
		return ret;
	return px_abi_out(stats, size,
			  PX_SIZE_THROUGH(struct px_subscriber_stats, last_import_path), &ours,
			  sizeof(ours), "px_subscriber_get_stats: struct px_subscriber_stats");
}

PX_API int px_topic_query_sized(size_t info_size, size_t stats_size, const char *dir,
				const char *topic, int timeout_ms, struct px_topic_info *info,
				struct px_set_layout *layout, struct px_publisher_stats *stats,
				uint64_t *uptime_ns)
{
	char buf[PX_WIRE_MAX_SIZE], why[192];
	int fds[PX_WIRE_FD_ROOM], n_fds, ret;
	struct px_wire_welcome w;
	struct px_set_layout our_layout;
	struct px_topic_info our_info;
	struct px_publisher_stats our_stats = {0};
	static const size_t info_min = PX_SIZE_THROUGH(struct px_topic_info, description);
	static const size_t stats_min = PX_SIZE_THROUGH(struct px_publisher_stats, rate_hz);

	if (!topic || (info && info_size < info_min) || (stats && stats_size < stats_min)) {
		px_log_error("px_topic_query: a topic is needed; info of %zu bytes (at least %zu), "
			     "stats of %zu (at least %zu)",
			     info ? info_size : 0, info_min, stats ? stats_size : 0, stats_min);
		return -EINVAL;
	}
	int sock = px_topic_connect(dir, topic, geteuid());
	if (sock < 0)
		return sock;
	uint64_t deadline =
	    px_now_ns() +
	    (uint64_t)(timeout_ms < 0 ? PX_HANDSHAKE_TIMEOUT_MS : timeout_ms) * 1000000ull;
	if ((ret = send_hello(NULL, sock, PX_HELLO_QUERY)))
		goto out;
	struct px_vulkan_export vulkan;
	if ((ret = recv_welcome(topic, sock, &w, &our_layout, &vulkan, deadline)))
		goto out;
	int len = recv_wait(sock, buf, fds, 0, &n_fds, deadline);
	if (len <= 0) {
		ret = len == 0 ? -ECONNRESET : len;
		goto out;
	}
	if (px_wire_validate(buf, (size_t)len, n_fds, why, sizeof(why)) ||
	    ((const struct px_wire_header *)(const void *)buf)->type != PX_MSG_STATS) {
		px_log_error("%s: bad answer to a query", topic);
		ret = -EPROTO;
		goto out;
	}
	const struct px_wire_stats *s = (const void *)buf;
	topic_info_from_welcome(&our_info, &w, &vulkan);
	our_stats.published = s->published;
	our_stats.acquire_waits = s->acquire_waits;
	our_stats.acquire_timeouts = s->acquire_timeouts;
	our_stats.subscribers_total = s->subscribers_total;
	our_stats.refused = s->refused;
	our_stats.protocol_errors = s->protocol_errors;
	our_stats.n_subscribers = s->n_subscribers;
	our_stats.free_slots = s->free_slots;
	our_stats.rate_hz = (double)s->rate_mhz / 1000.0;
	if (info)
		px_abi_out(info, info_size, info_min, &our_info, sizeof(our_info),
			   "px_topic_query");
	if (layout)
		*layout = our_layout;
	if (stats)
		px_abi_out(stats, stats_size, stats_min, &our_stats, sizeof(our_stats),
			   "px_topic_query");
	if (uptime_ns)
		*uptime_ns = s->uptime_ns;
	ret = 0;
out:
	close(sock);
	return ret;
}
