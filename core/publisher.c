/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <pixshare/publisher.h>

#include "core/allocator.h"
#include "core/sync.h"
#include "core/topic.h"
#include "core/util.h"
#include "core/wire.h"

/* Connections beyond max_subscribers that may be mid-handshake at once. */
#define EXTRA_CONNECTIONS 16
#define RATE_WINDOW 32
/* publish() looks for connections and hang-ups itself when no dispatch did
 * for this long. */
#define POLL_INTERVAL_NS 2000000ull

enum conn_state {
	CONN_HELLO,     /* waiting for HELLO */
	CONN_BUFFERS,   /* sending the pool's fds */
	CONN_STREAMING, /* receiving frames */
};

struct lease {
	uint32_t slot;
	uint64_t seq;
	uint64_t sent_ns; /* when the FRAME went out */
};

struct conn {
	struct px_publisher *pub;
	struct conn *next;
	int fd;
	bool dead;
	uint32_t watched; /* epoll events registered */
	enum conn_state state;
	uint64_t connect_ns;
	pid_t pid;
	uid_t uid; /* SO_PEERCRED at accept; (uid_t)-1 if unknown */
	bool stalled; /* past the release deadline, logged (until it releases) */
	gid_t gid;
	uint64_t id;
	char name[32];
	enum px_qos qos;
	uint32_t queue_depth;
	uint32_t max_leases;
	uint32_t budget;     /* slots it may hold: leases plus undelivered frames */
	uint32_t next_fd;    /* BUFFERS sent so far */
	uint32_t pool_known; /* slots whose fds it has been sent (or is being sent) */
	struct lease leases[PX_MAX_LEASES];
	uint32_t n_leases;
	/* Undelivered frames, oldest first: a ring of slot indices. */
	uint32_t pending[PX_MAX_SLOTS];
	uint32_t pend_head, n_pending;
	uint32_t drops_accum; /* dropped since the last FRAME sent */
	uint64_t delivered, released, dropped_replaced, dropped_queue;
};

struct slot {
	struct px_slot pub;
	struct px_buffer buffers[PX_MAX_BUFFERS];
	uint32_t refs; /* leases + undelivered frames + the latest-frame hold */
	bool acquired;
	uint64_t seq;
	uint64_t publish_ns;
	struct px_publish_info info;
	int fence;      /* sync_file sent with this frame, or -1 */
	int busy_fence; /* release fences not given to the dma-bufs: busy until signaled */
};

struct px_publisher {
	char topic[PX_TOPIC_MAX + 1];
	struct sockaddr_un addr;
	int listen_fd, lock_fd, epfd;
	struct px_set_layout layout;
	const struct px_allocator_ops *alloc;
	void *alloc_priv;
	bool dmabuf; /* the pool's buffers are dma-bufs */
	bool has_vulkan; /* an external pool described as a Vulkan export */
	/* Who may subscribe besides this process's effective uid. */
	uint32_t allow_uids[PX_MAX_ALLOW], n_allow_uids;
	uint32_t allow_gids[PX_MAX_ALLOW], n_allow_gids;
	/* Uids refused so far (logged once each); the count of others. */
	uint32_t refused_uids[16], n_refused_uids;
	/* The last pids warned about (a ring): later breaches of each are
	 * logged at debug level only (first_warning()). */
	pid_t warned_pids[64];
	uint32_t n_warned;
	uint64_t release_timeout_ns;
	uint64_t handshake_timeout_ns;
	enum px_stall_policy stall_policy;
	/* No buffer of the pool is mapped (device memory): subscribers are told
	 * not to map them (PX_WELCOME_UNMAPPED). */
	bool unmapped;
	/* Every buffer's fd is read-only for its holders (px_fd_read_only):
	 * PX_WELCOME_READ_ONLY. */
	bool read_only;
	bool writable_dmabufs;	/* px_publisher_params.writable_dmabufs */
	bool external_unmapped; /* px_external_pool.unmapped */
	struct px_vulkan_export vulkan;
	uint32_t pool_size, max_subscribers, max_leases;
	/* An elastic pool (min_pool_size > 0) has pool_size slots now, between
	 * min_pool_size and max_pool_size; a fixed one has max_pool_size. */
	uint32_t min_pool_size, max_pool_size;
	uint64_t pool_grows, pool_shrinks;
	struct slot *slots; /* max_pool_size entries */
	struct px_wire_batch *rx; /* handle_readable()'s, empty between calls */
	uint64_t polled_ns; /* when dispatch_events() last looked */
	int latest;	    /* slot held for subscribers that join, or -1 */
	uint64_t seq;
	struct conn *conns;
	uint32_t n_conns;
	uint64_t session;
	char description[64];
	uint64_t create_ns;
	struct px_publisher_stats stats;
	uint64_t publish_times[RATE_WINDOW];
	uint32_t n_publish_times;
};

static void slot_ref(struct px_publisher *pub, uint32_t index)
{
	pub->slots[index].refs++;
}

static void slot_unref(struct px_publisher *pub, uint32_t index)
{
	assert(pub->slots[index].refs > 0);
	pub->slots[index].refs--;
}

static uint32_t pending_pop(struct conn *c)
{
	assert(c->n_pending > 0);
	uint32_t slot = c->pending[c->pend_head];
	c->pend_head = (c->pend_head + 1) % PX_MAX_SLOTS;
	c->n_pending--;
	return slot;
}

static void pending_push(struct conn *c, uint32_t slot)
{
	assert(c->n_pending < PX_MAX_SLOTS);
	c->pending[(c->pend_head + c->n_pending) % PX_MAX_SLOTS] = slot;
	c->n_pending++;
}

/*
 * Whether a warning about peer `pid` is the first of the last 64 peers warned
 * about: a peer that misbehaves in a loop (reconnecting, flooding) is logged
 * once, and its later breaches go to the debug level. Each is counted in
 * px_publisher_stats whatever the level.
 */
static bool first_warning(struct px_publisher *pub, pid_t pid)
{
	uint32_t n = PX_MIN(pub->n_warned, (uint32_t)PX_ARRAY_SIZE(pub->warned_pids));
	for (uint32_t i = 0; i < n; i++)
		if (pub->warned_pids[i] == pid)
			return false;
	pub->warned_pids[pub->n_warned++ % PX_ARRAY_SIZE(pub->warned_pids)] = pid;
	return true;
}

/* A warning about a peer: the first about its pid at warning level, with a
 * note that later ones are not, the others at debug level. */
static void peer_warn(struct px_publisher *pub, pid_t pid, const char *fmt, ...) PX_PRINTF(3, 4);

static void peer_warn(struct px_publisher *pub, pid_t pid, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (first_warning(pub, pid))
		px_log_warn("%s (later breaches of pid %d are logged at debug level)", msg,
			    (int)pid);
	else
		px_log_debug("%s", msg);
}

static void conn_close(struct conn *c, const char *fmt, ...) PX_PRINTF(2, 3);

/* Drops everything a connection holds and closes it. The struct is freed by
 * reap_connections(), so callers iterating over connections stay safe. */
static void conn_close(struct conn *c, const char *fmt, ...)
{
	struct px_publisher *pub = c->pub;
	if (c->dead)
		return;
	if (fmt) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		peer_warn(pub, c->pid, "%s: subscriber '%s' (pid %d): %s; disconnected", pub->topic,
			  c->name, (int)c->pid, msg);
	}
	for (uint32_t i = 0; i < c->n_leases; i++)
		slot_unref(pub, c->leases[i].slot);
	c->n_leases = 0;
	while (c->n_pending)
		slot_unref(pub, pending_pop(c));
	if (c->state == CONN_STREAMING)
		pub->stats.n_subscribers--;
	epoll_ctl(pub->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	px_close(&c->fd);
	c->dead = true;
}

static void reap_connections(struct px_publisher *pub)
{
	struct conn **p = &pub->conns;
	while (*p) {
		struct conn *c = *p;
		if (c->dead) {
			*p = c->next;
			pub->n_conns--;
			free(c);
		} else {
			p = &c->next;
		}
	}
}

/*
 * What a connection is watched for. Handshakes and reliable subscribers: all
 * they send. Other streaming subscribers: hang-ups only; their releases are
 * read when the publisher next dispatches (read_releases), publishes a frame
 * they have no room for, finds no free slot at acquire, or sees a lease past
 * the release deadline, so that a RELEASE does not wake a publisher that has
 * no use for it yet, nor costs a receive per frame when there is room. While
 * an acquire waits for a slot, everyone is watched.
 */
static void watch(struct conn *c, bool all)
{
	uint32_t want = EPOLLRDHUP;
	if (all || c->state != CONN_STREAMING || c->qos == PX_QOS_RELIABLE)
		want |= EPOLLIN;
	if (c->dead || c->watched == want)
		return;
	struct epoll_event ev = {.events = want, .data.ptr = c};
	if (epoll_ctl(c->pub->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->watched = want;
	else
		px_log_warn("%s: epoll_ctl: %s", c->pub->topic, strerror(errno));
}

static void watch_all(struct px_publisher *pub, bool all)
{
	for (struct conn *c = pub->conns; c; c = c->next)
		watch(c, all);
}

static void protocol_error(struct conn *c, const char *why)
{
	c->pub->stats.protocol_errors++;
	conn_close(c, "protocol error: %s", why);
}

static int send_msg(struct conn *c, const void *msg, size_t len, const int *fds, int n_fds)
{
	int ret = px_wire_send(c->fd, msg, len, fds, n_fds);
	if (ret == -EAGAIN)
		/* Leases bound the messages in flight far below the socket's
		 * buffer, so a full socket means a peer that stopped reading
		 * while its frames were counted: nothing to wait for. */
		conn_close(c, "socket full");
	else if (ret == -EPIPE || ret == -ECONNRESET)
		conn_close(c, NULL);
	else if (ret)
		conn_close(c, "send: %s", strerror(-ret));
	return ret;
}

static void send_end(struct conn *c, enum px_wire_type type, int error, const char *text)
{
	struct px_wire_end m;
	memset(&m, 0, sizeof(m));
	px_wire_header_init(&m.hdr, type, sizeof(m), 0);
	m.error = error;
	px_strlcpy(m.text, text, sizeof(m.text));
	/* Best effort: the connection is closed right after. */
	px_wire_send(c->fd, &m, sizeof(m), NULL, 0);
}

static void refuse(struct conn *c, int error, const char *fmt, ...) PX_PRINTF(3, 4);

static void refuse(struct conn *c, int error, const char *fmt, ...)
{
	char text[120];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (error != -EACCES)
		peer_warn(c->pub, c->pid, "%s: refused subscriber '%s' (pid %d): %s", c->pub->topic,
			  c->name, (int)c->pid, text);
	c->pub->stats.refused++;
	send_end(c, PX_MSG_REFUSE, error, text);
	conn_close(c, NULL);
}

static int send_frame(struct conn *c, uint32_t index, bool replay)
{
	struct px_publisher *pub = c->pub;
	struct slot *s = &pub->slots[index];
	struct px_wire_frame m;

	assert(c->n_leases < c->max_leases);
	memset(&m, 0, sizeof(m));
	px_wire_header_init(&m.hdr, PX_MSG_FRAME, sizeof(m),
			    (replay ? PX_FRAME_REPLAY : 0) | (s->fence >= 0 ? PX_FRAME_FENCE : 0));
	m.slot = index;
	m.valid_mask = s->info.valid_mask;
	m.seq = s->seq;
	m.publish_ns = s->publish_ns;
	m.dropped_before = c->drops_accum;
	m.n_images = pub->layout.n_images;
	for (uint32_t i = 0; i < pub->layout.n_images; i++) {
		m.images[i].timestamp_ns = s->info.images[i].timestamp_ns;
		m.images[i].sequence = s->info.images[i].sequence;
		m.images[i].bytes = s->info.images[i].bytes;
	}
	int ret = send_msg(c, &m, sizeof(m), s->fence >= 0 ? &s->fence : NULL, s->fence >= 0);
	if (ret)
		return ret;
	c->drops_accum = 0;
	c->leases[c->n_leases++] =
	    (struct lease){.slot = index, .seq = s->seq, .sent_ns = px_now_ns()};
	slot_ref(pub, index);
	c->delivered++;
	return 0;
}

/* Hands a published slot to one subscriber according to its QoS. */
static void deliver(struct conn *c, uint32_t index)
{
	struct px_publisher *pub = c->pub;

	if (c->n_leases < c->max_leases && c->n_pending == 0) {
		send_frame(c, index, false);
		return;
	}
	switch (c->qos) {
	case PX_QOS_LATEST:
		if (c->n_pending) {
			slot_unref(pub, pending_pop(c));
			c->dropped_replaced++;
			c->drops_accum++;
		}
		break;
	case PX_QOS_QUEUE:
		if (c->n_pending >= c->queue_depth) {
			slot_unref(pub, pending_pop(c));
			c->dropped_queue++;
			c->drops_accum++;
		}
		break;
	case PX_QOS_RELIABLE:
		break;
	}
	pending_push(c, index);
	slot_ref(pub, index);
}

static void flush_pending(struct conn *c)
{
	while (!c->dead && c->n_pending && c->n_leases < c->max_leases) {
		uint32_t index = pending_pop(c);
		send_frame(c, index, false);
		slot_unref(c->pub, index); /* the pending reference; send took a lease */
	}
}

static uint32_t budget_in_use(const struct px_publisher *pub)
{
	uint32_t sum = 0;
	for (const struct conn *c = pub->conns; c; c = c->next)
		if (!c->dead && c->state != CONN_HELLO)
			sum += c->budget;
	return sum;
}

static void fill_welcome(const struct px_publisher *pub, struct px_wire_welcome *m,
			 uint32_t max_leases)
{
	memset(m, 0, sizeof(*m));
	px_wire_header_init(&m->hdr, PX_MSG_WELCOME, sizeof(*m),
			    (pub->dmabuf ? PX_WELCOME_DMABUF : 0) |
				(pub->has_vulkan ? PX_WELCOME_VULKAN : 0) |
				(pub->unmapped ? PX_WELCOME_UNMAPPED : 0) |
				(pub->read_only ? PX_WELCOME_READ_ONLY : 0));
	m->pool_size = pub->pool_size;
	m->max_leases = max_leases;
	m->allocator = pub->alloc->type;
	m->pid = (int32_t)getpid();
	m->session = pub->session;
	m->device = px_publisher_get_device(pub);
	px_strlcpy(m->description, pub->description, sizeof(m->description));
	px_wire_encode_layout(&m->layout, &pub->layout);
	if (pub->has_vulkan)
		px_wire_encode_vulkan(&m->vulkan, &pub->vulkan, pub->layout.n_buffers);
}

static void fill_stats(const struct px_publisher *pub, struct px_publisher_stats *st)
{
	*st = pub->stats;
	st->pool_size = pub->pool_size;
	st->pool_grows = pub->pool_grows;
	st->pool_shrinks = pub->pool_shrinks;
	st->free_slots = 0;
	for (uint32_t i = 0; i < pub->pool_size; i++)
		if (!pub->slots[i].refs && !pub->slots[i].acquired)
			st->free_slots++;
	st->rate_hz = 0;
	uint32_t n = pub->n_publish_times < RATE_WINDOW ? pub->n_publish_times : RATE_WINDOW;
	if (n >= 2) {
		uint64_t last = pub->publish_times[(pub->n_publish_times - 1) % RATE_WINDOW];
		uint64_t first = pub->publish_times[(pub->n_publish_times - n) % RATE_WINDOW];
		if (px_now_ns() - last < 2000000000ull && last > first)
			st->rate_hz = (double)(n - 1) * 1e9 / (double)(last - first);
	}
}

static void answer_query(struct conn *c)
{
	struct px_publisher *pub = c->pub;
	struct px_wire_welcome w;
	struct px_wire_stats m;
	struct px_publisher_stats st;

	fill_welcome(pub, &w, pub->max_leases);
	fill_stats(pub, &st);
	memset(&m, 0, sizeof(m));
	px_wire_header_init(&m.hdr, PX_MSG_STATS, sizeof(m), 0);
	m.published = st.published;
	m.acquire_waits = st.acquire_waits;
	m.acquire_timeouts = st.acquire_timeouts;
	m.subscribers_total = st.subscribers_total;
	m.refused = st.refused;
	m.protocol_errors = st.protocol_errors;
	m.uptime_ns = px_now_ns() - pub->create_ns;
	m.rate_mhz = (uint64_t)(st.rate_hz * 1000.0 + 0.5);
	m.n_subscribers = st.n_subscribers;
	m.free_slots = st.free_slots;
	if (send_msg(c, &w, sizeof(w), NULL, 0) == 0 && send_msg(c, &m, sizeof(m), NULL, 0) == 0)
		conn_close(c, NULL);
}

/* The next BUFFERS of the fds of the slots below c->pool_known. */
static void send_buffers(struct conn *c)
{
	struct px_publisher *pub = c->pub;
	uint32_t total = c->pool_known * pub->layout.n_buffers;
	uint32_t count = PX_MIN(total - c->next_fd, (uint32_t)PX_WIRE_MAX_FDS);
	int fds[PX_WIRE_MAX_FDS];
	struct px_wire_buffers m;

	for (uint32_t i = 0; i < count; i++) {
		uint32_t k = c->next_fd + i;
		fds[i] =
		    pub->slots[k / pub->layout.n_buffers].buffers[k % pub->layout.n_buffers].fd;
	}
	memset(&m, 0, sizeof(m));
	px_wire_header_init(&m.hdr, PX_MSG_BUFFERS, sizeof(m), 0);
	m.first = c->next_fd;
	m.count = count;
	if (send_msg(c, &m, sizeof(m), fds, (int)count) == 0)
		c->next_fd += count;
}

static void send_resize(struct conn *c, enum px_wire_type type, uint32_t pool_size)
{
	struct px_wire_resize m;
	memset(&m, 0, sizeof(m));
	px_wire_header_init(&m.hdr, type, sizeof(m), 0);
	m.pool_size = pool_size;
	send_msg(c, &m, sizeof(m), NULL, 0);
}

/* Tells a streaming subscriber of the slots it lacks: GROW, then BUFFERS with
 * their fds, without waiting for acknowledgements (the handshake's pacing is
 * for a peer that has not proved itself yet). */
static void send_growth(struct conn *c)
{
	struct px_publisher *pub = c->pub;
	if (c->dead || c->pool_known >= pub->pool_size)
		return;
	send_resize(c, PX_MSG_GROW, pub->pool_size);
	c->pool_known = pub->pool_size;
	while (!c->dead && c->next_fd < c->pool_known * pub->layout.n_buffers)
		send_buffers(c);
}

static bool in_list(const uint32_t *list, uint32_t n, uint32_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (list[i] == id)
			return true;
	return false;
}

/* Whether the peer may subscribe (or query): this process's effective uid,
 * or one of the allowed uids, or in one of the allowed groups (its primary
 * gid, or one of its supplementary groups by SO_PEERGROUPS). */
static bool peer_allowed(struct conn *c)
{
	struct px_publisher *pub = c->pub;
	if (c->uid == (uid_t)-1)
		return false;
	if (c->uid == geteuid() || in_list(pub->allow_uids, pub->n_allow_uids, c->uid))
		return true;
	if (!pub->n_allow_gids)
		return false;
	if (in_list(pub->allow_gids, pub->n_allow_gids, c->gid))
		return true;
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false; /* more than 256 groups, or an old kernel: primary only */
	for (socklen_t i = 0; i < len / sizeof(gid_t); i++)
		if (in_list(pub->allow_gids, pub->n_allow_gids, groups[i]))
			return true;
	return false;
}

static void free_slot(struct px_publisher *pub, uint32_t i)
{
	struct slot *s = &pub->slots[i];
	for (uint32_t b = 0; b < pub->layout.n_buffers; b++) {
		pub->alloc->free_buffer(pub->alloc_priv, &s->buffers[b]);
		s->buffers[b] = (struct px_buffer){.fd = -1};
	}
	px_close(&s->fence);
	px_close(&s->busy_fence);
}

/* Whether no buffer of a slot has a mapping here (device memory) and whether
 * every one's fd is read-only for its holders. */
static void slot_access(const struct px_publisher *pub, const struct slot *s, bool *unmapped,
			bool *read_only)
{
	*unmapped = *read_only = true;
	for (uint32_t b = 0; b < pub->layout.n_buffers; b++) {
		const struct px_buffer *x = &s->buffers[b];
		/* A read-only dma-buf (a camera's export) has no mapping here, a
		 * device writes it; its subscribers may map it. */
		*unmapped = *unmapped && !x->data &&
			    (pub->external_unmapped || !px_dmabuf_maps_read_only(x->fd, x->size));
		*read_only &= px_fd_read_only(x->fd);
	}
}

/*
 * Makes slots pool_size … n-1 with the pool's allocator, as the first ones
 * were made, and sends them to the streaming subscribers. 0, or a negative
 * errno (logged with the reason), with the pool as it was.
 */
static int grow_pool(struct px_publisher *pub, uint32_t n)
{
	uint32_t from = pub->pool_size;
	char why[256];
	for (uint32_t i = from; i < n; i++) {
		struct px_set_layout layout = pub->layout;
		struct slot *s = &pub->slots[i];
		bool unmapped, read_only;
		int ret = pub->alloc->alloc_slot(pub->alloc_priv, &layout, false, s->buffers, why,
						 sizeof(why));
		if (!ret) {
			slot_access(pub, s, &unmapped, &read_only);
			if (!px_layout_equal(&layout, &pub->layout)) {
				snprintf(why, sizeof(why), "the allocator made another layout");
				ret = -EIO;
			} else if (unmapped != pub->unmapped || (pub->read_only && !read_only)) {
				snprintf(why, sizeof(why),
					 "its buffers are %s and %s, the pool's %s and %s",
					 unmapped ? "unmapped" : "mapped",
					 read_only ? "read-only" : "writable",
					 pub->unmapped ? "unmapped" : "mapped",
					 pub->read_only ? "read-only" : "writable");
				ret = -EIO;
			}
			if (ret)
				free_slot(pub, i);
		}
		if (ret) {
			px_log_error("%s: growing the pool from %u to %u slots: slot %u: %s",
				     pub->topic, from, n, i, why);
			for (uint32_t j = from; j < i; j++)
				free_slot(pub, j);
			return ret;
		}
	}
	pub->pool_size = n;
	pub->pool_grows++;
	px_log_info("%s: pool grew from %u to %u slots (%llu bytes)", pub->topic, from, n,
		    (unsigned long long)(n * px_layout_slot_bytes(&pub->layout)));
	for (struct conn *c = pub->conns; c; c = c->next)
		if (!c->dead && c->state == CONN_STREAMING)
			send_growth(c);
	return 0;
}

/*
 * An elastic pool gives back the slots that its subscribers no longer need:
 * from the top, each slot that no one holds (no lease, no queued frame, not
 * the newest frame, not the application's), down to what the admission rule
 * needs for the subscribers there are (at least min_pool_size). Not while a
 * handshake is under way: its WELCOME promised the slots it is being sent.
 * The streaming subscribers are told with SHRINK. A subscriber's GPU may still
 * read a retired slot: its import holds the memory, not the publisher.
 */
static void shrink_pool(struct px_publisher *pub)
{
	if (!pub->min_pool_size || pub->pool_size <= pub->min_pool_size)
		return;
	uint32_t need = 2 + budget_in_use(pub);
	if (need >= pub->pool_size)
		return;
	for (const struct conn *c = pub->conns; c; c = c->next)
		if (!c->dead && c->state == CONN_BUFFERS)
			return;
	uint32_t from = pub->pool_size, n = from;
	while (n > pub->min_pool_size && n > need && !pub->slots[n - 1].refs &&
	       !pub->slots[n - 1].acquired)
		free_slot(pub, --n);
	if (n == from)
		return;
	pub->pool_size = n;
	pub->pool_shrinks++;
	px_log_info("%s: pool shrank from %u to %u slots (%llu bytes)", pub->topic, from, n,
		    (unsigned long long)(n * px_layout_slot_bytes(&pub->layout)));
	for (struct conn *c = pub->conns; c; c = c->next) {
		if (!c->dead && c->state == CONN_STREAMING) {
			send_resize(c, PX_MSG_SHRINK, n);
			c->pool_known = n;
			c->next_fd = n * pub->layout.n_buffers;
		}
	}
}

static void handle_hello(struct conn *c, const struct px_wire_hello *m)
{
	struct px_publisher *pub = c->pub;

	px_strlcpy(c->name, m->name, sizeof(c->name));
	if (!peer_allowed(c)) {
		/* Logged once per uid: a peer retrying cannot fill the log. */
		if (!in_list(pub->refused_uids, pub->n_refused_uids, c->uid)) {
			px_log_warn("%s: refused '%s' (pid %d, uid %u, gid %u): not this "
				    "publisher's uid %u nor allowed (said once per uid)",
				    pub->topic, c->name, (int)c->pid, (unsigned)c->uid,
				    (unsigned)c->gid, (unsigned)geteuid());
			if (pub->n_refused_uids < PX_ARRAY_SIZE(pub->refused_uids))
				pub->refused_uids[pub->n_refused_uids++] = c->uid;
		}
		refuse(c, -EACCES, "uid %u may not subscribe to this topic", (unsigned)c->uid);
		return;
	}
	if (m->hdr.flags & PX_HELLO_QUERY) {
		answer_query(c);
		return;
	}
	c->qos = (enum px_qos)m->qos;
	c->queue_depth = m->queue_depth;
	c->max_leases = m->max_leases ? m->max_leases : pub->max_leases;
	if (c->max_leases > pub->max_leases) {
		refuse(c, -ECONNREFUSED, "asks for %u leases; this publisher grants at most %u",
		       c->max_leases, pub->max_leases);
		return;
	}
	if (pub->stats.n_subscribers >= pub->max_subscribers) {
		refuse(c, -ECONNREFUSED, "publisher serves at most %u subscribers",
		       pub->max_subscribers);
		return;
	}
	/* Slots this subscriber may tie up: its leases, plus undelivered frames
	 * (one for latest and reliable, the queue for queue(n)). Reliable ones
	 * may hold more, by making the publisher wait: that is their contract. */
	c->budget = c->max_leases + (c->qos == PX_QOS_QUEUE ? c->queue_depth : 1);
	uint32_t need = 2 + budget_in_use(pub) + c->budget;
	if (need > pub->max_pool_size) {
		refuse(c, -ENOSPC,
		       "pool of %u slots is too small: subscribers would need %u (2 + leases + "
		       "queues)",
		       pub->max_pool_size, need);
		return;
	}
	if (need > pub->pool_size) {
		int ret = grow_pool(pub, need);
		if (ret) {
			refuse(c, ret,
			       "the pool could not grow from %u to the %u slots "
			       "subscribers would need: %s",
			       pub->pool_size, need, px_strerror(ret));
			return;
		}
	}

	struct px_wire_welcome w;
	fill_welcome(pub, &w, c->max_leases);
	if (send_msg(c, &w, sizeof(w), NULL, 0))
		return;
	c->state = CONN_BUFFERS;
	c->pool_known = pub->pool_size;
	send_buffers(c);
}

static void start_streaming(struct conn *c)
{
	struct px_publisher *pub = c->pub;
	c->state = CONN_STREAMING;
	pub->stats.n_subscribers++;
	c->id = ++pub->stats.subscribers_total;
	px_log_info("%s: subscriber '%s' (pid %d) streaming, %s, %u leases", pub->topic, c->name,
		    (int)c->pid, px_qos_name(c->qos), c->max_leases);
	watch(c, false);
	/* The pool grew while it was receiving the slots of its WELCOME. */
	send_growth(c);
	/* A subscriber that joins gets the newest frame at once, marked as
	 * published before it joined. */
	if (pub->latest >= 0)
		send_frame(c, (uint32_t)pub->latest, true);
}

/*
 * A subscriber's GPU may still read the slot: the slot stays busy until the
 * fence signals. On dma-bufs the fence joins their implicit fences, so the
 * next writer (a GPU, or the CPU through DMA_BUF_IOCTL_SYNC) waits for it;
 * elsewhere the slot is not handed out until the fence has signaled.
 */
static void add_release_fence(struct px_publisher *pub, struct slot *s, int fence)
{
	bool imported = pub->dmabuf;
	for (uint32_t b = 0; imported && b < pub->layout.n_buffers; b++)
		if (px_dmabuf_import_fence(s->buffers[b].fd, fence, false))
			imported = false;
	if (imported)
		return;
	if (s->busy_fence < 0) {
		s->busy_fence = fcntl(fence, F_DUPFD_CLOEXEC, 0);
		return;
	}
	int merged = px_sync_merge(s->busy_fence, fence);
	if (merged >= 0) {
		px_close(&s->busy_fence);
		s->busy_fence = merged;
	}
}

static void handle_release(struct conn *c, const struct px_wire_release *m, int fence)
{
	for (uint32_t i = 0; i < c->n_leases; i++) {
		if (c->leases[i].slot == m->slot && c->leases[i].seq == m->seq) {
			if (fence >= 0)
				add_release_fence(c->pub, &c->pub->slots[m->slot], fence);
			c->leases[i] = c->leases[--c->n_leases];
			slot_unref(c->pub, m->slot);
			c->released++;
			flush_pending(c);
			return;
		}
	}
	char why[96];
	snprintf(why, sizeof(why), "RELEASE of slot %u frame %llu, which it does not hold", m->slot,
		 (unsigned long long)m->seq);
	protocol_error(c, why);
}

static void handle_valid_message(struct conn *c, const void *buf, int fence)
{
	char why[160];
	struct px_wire_header hdr;

	memcpy(&hdr, buf, sizeof(hdr));
	switch (c->state) {
	case CONN_HELLO:
		if (hdr.type == PX_MSG_HELLO) {
			handle_hello(c, buf);
			return;
		}
		break;
	case CONN_BUFFERS:
		if (hdr.type == PX_MSG_BUFFERS_ACK) {
			const struct px_wire_buffers_ack *m = buf;
			if (m->next != c->next_fd) {
				snprintf(why, sizeof(why), "BUFFERS_ACK of %u fds; %u were sent",
					 m->next, c->next_fd);
				protocol_error(c, why);
			} else if (c->next_fd == c->pool_known * c->pub->layout.n_buffers) {
				start_streaming(c);
			} else {
				send_buffers(c);
			}
			return;
		}
		break;
	case CONN_STREAMING:
		if (hdr.type == PX_MSG_RELEASE) {
			handle_release(c, buf, fence);
			return;
		}
		break;
	}
	snprintf(why, sizeof(why), "unexpected message type %u in state %d", hdr.type,
		 (int)c->state);
	protocol_error(c, why);
}

/* Handles one message; `fds` are closed here whatever happens. */
static void handle_message(struct conn *c, const void *buf, size_t len, int *fds, int n_fds)
{
	char why[160];

	if (px_wire_validate(buf, len, n_fds, why, sizeof(why))) {
		for (int i = 0; i < n_fds; i++)
			px_close(&fds[i]);
		protocol_error(c, why);
		return;
	}
	int fence = n_fds ? fds[0] : -1;
	if (fence >= 0 && !px_fence_is_sync_file(fence)) {
		/* A fence that never signals, or signals at once, would pin or
		 * free the slot at the peer's whim. */
		px_close(&fence);
		protocol_error(c, "the fence attached to a RELEASE is not a sync_file");
		return;
	}
	handle_valid_message(c, buf, fence);
	px_close(&fence);
}
/* Reads what a connection sent: one recvmmsg() takes up to PX_WIRE_BATCH
 * messages, and a batch that did not fill ends the reading without another
 * receive. The batch is the publisher's, empty between calls. */
static void handle_readable(struct conn *c)
{
	struct px_wire_batch *rx = c->pub->rx;
	const void *buf;
	int fds[PX_WIRE_FD_ROOM];
	int n_fds;

	/* A bounded number per wake-up so that one chatty peer cannot starve the
	 * others; the rest waits for the next dispatch (epoll is level-triggered).
	 * A batch is read to its end: its messages are out of the socket. */
	for (int i = 0; !c->dead && (i < 64 || rx->next < rx->count); i++) {
		int len = px_wire_recv_next(c->fd, rx, &buf, fds, 1, &n_fds);
		if (len == -EAGAIN)
			break;
		if (len == 0 || len == -ECONNRESET) {
			if (c->state == CONN_STREAMING)
				px_log_info("%s: subscriber '%s' (pid %d) left", c->pub->topic,
					    c->name, (int)c->pid);
			conn_close(c, NULL);
			break;
		}
		if (len < 0) {
			protocol_error(c, len == -EMSGSIZE       ? "message longer than any message"
					  : len == -ETOOMANYREFS ? "message carries fds"
					  : len == -EBADMSG      ? "foreign control data"
								 : strerror(-len));
			break;
		}
		handle_message(c, buf, (size_t)len, fds, n_fds);
	}
	/* What a closed connection left, and the batch's state, not for the
	 * next connection read. */
	px_wire_batch_drop(rx);
}

static void accept_connections(struct px_publisher *pub)
{
	for (;;) {
		int fd = accept4(pub->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				px_log_warn("%s: accept: %s", pub->topic, strerror(errno));
			return;
		}
		if (pub->n_conns >= pub->max_subscribers + EXTRA_CONNECTIONS) {
			struct ucred cred = {.pid = 0};
			socklen_t len = sizeof(cred);
			getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
			peer_warn(pub, cred.pid,
				  "%s: %u connections open; refused another, from pid %d",
				  pub->topic, pub->n_conns, (int)cred.pid);
			pub->stats.refused++;
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->pub = pub;
		c->fd = fd;
		c->state = CONN_HELLO;
		c->connect_ns = px_now_ns();
		px_strlcpy(c->name, "?", sizeof(c->name));
		struct ucred cred;
		socklen_t len = sizeof(cred);
		c->uid = (uid_t)-1;
		c->gid = (gid_t)-1;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
			c->pid = cred.pid;
			c->uid = cred.uid;
			c->gid = cred.gid;
		}
		c->watched = EPOLLIN | EPOLLRDHUP;
		struct epoll_event ev = {.events = c->watched, .data.ptr = c};
		if (epoll_ctl(pub->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			px_log_warn("%s: epoll_ctl: %s", pub->topic, strerror(errno));
			close(fd);
			free(c);
			continue;
		}
		c->next = pub->conns;
		pub->conns = c;
		pub->n_conns++;
	}
}

static void expire_handshakes(struct px_publisher *pub)
{
	uint64_t now = px_now_ns();
	for (struct conn *c = pub->conns; c; c = c->next)
		if (!c->dead && c->state != CONN_STREAMING &&
		    now - c->connect_ns > pub->handshake_timeout_ns)
			conn_close(c, "handshake not finished within %llu ms",
				   (unsigned long long)(pub->handshake_timeout_ns / 1000000));
}

/* Reads what subscribers that are not watched for input have sent. */
static void read_releases(struct px_publisher *pub)
{
	for (struct conn *c = pub->conns; c; c = c->next)
		if (!c->dead && !(c->watched & EPOLLIN))
			handle_readable(c);
}

/* Waits up to `timeout_ns` (-1: forever) for work, then handles it: the
 * common part of the dispatch functions. A signal gives -EINTR. */
/* The oldest lease of a streaming connection, or NULL. */
static const struct lease *oldest_lease(const struct conn *c)
{
	const struct lease *oldest = NULL;
	for (uint32_t i = 0; i < c->n_leases; i++)
		if (!oldest || c->leases[i].sent_ns < oldest->sent_ns)
			oldest = &c->leases[i];
	return oldest;
}

static bool stall_disconnects(const struct px_publisher *pub, const struct conn *c)
{
	return pub->stall_policy == PX_STALL_DISCONNECT ||
	       (pub->stall_policy == PX_STALL_DISCONNECT_RELIABLE && c->qos == PX_QOS_RELIABLE);
}

/*
 * The release deadline: a subscriber holding a frame longer than
 * release_timeout_ns is stalled (stopped, in a debugger, hung): logged once
 * with its pid, counted, and disconnected where the policy says so. A
 * reliable one is by default: the publisher waits for it, and would wait
 * for ever.
 */
static void expire_leases(struct px_publisher *pub)
{
	uint64_t now = px_now_ns();
	for (struct conn *c = pub->conns; c; c = c->next) {
		if (c->dead || c->state != CONN_STREAMING)
			continue;
		const struct lease *l = oldest_lease(c);
		if (l && now - l->sent_ns >= pub->release_timeout_ns && !(c->watched & EPOLLIN)) {
			/* Its release may be waiting unread (publish() reads
			 * only where it needs them). */
			handle_readable(c);
			if (c->dead)
				continue;
			l = oldest_lease(c);
		}
		if (!l || now - l->sent_ns < pub->release_timeout_ns) {
			c->stalled = false;
			continue;
		}
		bool disconnect = stall_disconnects(pub, c);
		if (!c->stalled) {
			c->stalled = true;
			pub->stats.stalled++;
			peer_warn(
			    pub, c->pid,
			    "%s: subscriber '%s' (pid %d, %s) has held frame %llu for %llu ms, "
			    "past the release deadline of %llu ms: %s",
			    pub->topic, c->name, (int)c->pid, px_qos_name(c->qos),
			    (unsigned long long)l->seq,
			    (unsigned long long)((now - l->sent_ns) / 1000000),
			    (unsigned long long)(pub->release_timeout_ns / 1000000),
			    disconnect ? "disconnected" : "left connected");
		}
		if (disconnect) {
			char text[120];
			snprintf(text, sizeof(text), "held frame %llu longer than %llu ms",
				 (unsigned long long)l->seq,
				 (unsigned long long)(pub->release_timeout_ns / 1000000));
			send_end(c, PX_MSG_END, -ETIMEDOUT, text);
			conn_close(c, NULL);
		}
	}
}

/* Nanoseconds until the next handshake or release deadline, or -1. */
static int64_t next_deadline(const struct px_publisher *pub)
{
	uint64_t now = px_now_ns(), first = UINT64_MAX;
	for (const struct conn *c = pub->conns; c; c = c->next) {
		if (c->dead)
			continue;
		uint64_t when = UINT64_MAX;
		if (c->state != CONN_STREAMING) {
			when = c->connect_ns + pub->handshake_timeout_ns;
		} else if (!c->stalled || stall_disconnects(pub, c)) {
			const struct lease *l = oldest_lease(c);
			if (l)
				when = l->sent_ns + pub->release_timeout_ns;
		}
		/* A millisecond late: a wait never ends just short of it. */
		if (when != UINT64_MAX)
			first = PX_MIN(first, when + 1000000);
	}
	if (first == UINT64_MAX)
		return -1;
	return first > now ? (int64_t)(first - now) : 0;
}

/* `releases`: also read the unwatched subscribers' releases (one receive
 * each), which publish() reads itself where it needs them. */
static int dispatch_events(struct px_publisher *pub, int64_t timeout_ns, bool releases)
{
	struct epoll_event events[16];
	struct timespec ts, *tsp = NULL;

	/* Deadlines are kept while waiting: a wait ends by the next one. */
	int64_t deadline = next_deadline(pub);
	if (deadline >= 0 && (timeout_ns < 0 || timeout_ns > deadline))
		timeout_ns = deadline;

	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	/* epoll_pwait2 (Linux 5.11) waits with nanosecond precision; without it
	 * (older kernels, valgrind 3.19), milliseconds rounded up. */
	static _Atomic bool no_pwait2;
	int n = -1;
	errno = ENOSYS;
	if (!no_pwait2)
		n = epoll_pwait2(pub->epfd, events, (int)PX_ARRAY_SIZE(events), tsp, NULL);
	if (n < 0 && errno == ENOSYS) {
		no_pwait2 = true;
		n = epoll_wait(pub->epfd, events, (int)PX_ARRAY_SIZE(events),
			       timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000));
	}
	if (n < 0) {
		if (errno == EINTR)
			return -EINTR;
		int ret = -errno;
		px_log_error("%s: epoll_wait: %s", pub->topic, strerror(errno));
		return ret;
	}
	for (int i = 0; i < n; i++) {
		if (events[i].data.ptr == pub) {
			accept_connections(pub);
			continue;
		}
		struct conn *c = events[i].data.ptr;
		if (!c->dead)
			handle_readable(c);
	}
	if (releases)
		read_releases(pub);
	expire_handshakes(pub);
	expire_leases(pub);
	reap_connections(pub);
	shrink_pool(pub);
	pub->polled_ns = px_now_ns();
	return n;
}

static int dispatch(struct px_publisher *pub, int64_t timeout_ns)
{
	return dispatch_events(pub, timeout_ns, true);
}

PX_API int px_publisher_dispatch(struct px_publisher *pub, int timeout_ms)
{
	if (!pub)
		return -EINVAL;
	int ret = dispatch(pub, timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000);
	return ret == -EINTR ? 0 : ret;
}

PX_API int px_publisher_dispatch_until(struct px_publisher *pub, uint64_t deadline_ns)
{
	if (!pub)
		return -EINVAL;
	uint64_t now = px_now_ns();
	int ret = dispatch(pub, deadline_ns > now ? (int64_t)(deadline_ns - now) : 0);
	return ret == -EINTR ? 0 : ret;
}

PX_API const char *px_qos_name(enum px_qos qos)
{
	switch (qos) {
	case PX_QOS_LATEST:
		return "latest";
	case PX_QOS_QUEUE:
		return "queue";
	case PX_QOS_RELIABLE:
		return "reliable";
	}
	return NULL;
}

static void free_slots(struct px_publisher *pub, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free_slot(pub, i);
}

static void free_pool(struct px_publisher *pub)
{
	if (!pub->slots)
		return;
	free_slots(pub, pub->pool_size);
	pub->alloc->close(pub->alloc_priv);
	free(pub->slots);
	pub->slots = NULL;
}

/*
 * Tries one allocator: opens it (the external one on the application's
 * buffers), makes the first slot (which may adjust the layout), checks the
 * result, makes the others. 0, or a negative errno with the reason in `why`;
 * nothing is left allocated on failure.
 */
static int try_allocator(struct px_publisher *pub, const struct px_allocator_ops *ops,
			 const char *device, const struct px_external_pool *external, char *why,
			 size_t why_size)
{
	struct px_set_layout layout = pub->layout;
	char reason[160];
	void *priv = NULL;

	int ret = external
		      ? px_allocator_external_open(external, &pub->layout, &priv, why, why_size)
		      : ops->open(device, pub->writable_dmabufs ? PX_ALLOC_WRITABLE_DMABUFS : 0,
				  &priv, why, why_size);
	if (ret)
		return ret;
	pub->alloc = ops;
	pub->alloc_priv = priv;
	pub->dmabuf = ops->pool_dmabuf ? ops->pool_dmabuf(priv) : ops->dmabuf;
	for (uint32_t i = 0; i < pub->pool_size; i++) {
		struct slot *s = &pub->slots[i];
		ret = ops->alloc_slot(priv, &layout, i == 0, s->buffers, why, why_size);
		if (!ret && i == 0 && px_layout_validate(&layout, reason, sizeof(reason))) {
			snprintf(why, why_size, "its layout is invalid: %s", reason);
			free_slots(pub, 1);
			ret = -EIO;
		}
		if (ret) {
			free_slots(pub, i);
			ops->close(priv);
			return ret;
		}
		if (i == 0)
			pub->layout = layout;
	}
	return 0;
}

static int alloc_pool(struct px_publisher *pub, enum px_allocator_type type, const char *device,
		      const struct px_external_pool *external)
{
	const struct px_allocator_ops *candidates[8];
	char why[256];
	size_t n = px_allocator_candidates(type, candidates, PX_ARRAY_SIZE(candidates));
	int ret = -ENOTSUP;

	if (!n) {
		px_log_error("%s: allocator %d is not built into this library", pub->topic,
			     (int)type);
		return -ENOTSUP;
	}
	pub->slots = calloc(pub->max_pool_size, sizeof(*pub->slots));
	if (!pub->slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < pub->max_pool_size; i++) {
		pub->slots[i].fence = pub->slots[i].busy_fence = -1;
		for (uint32_t b = 0; b < PX_MAX_BUFFERS; b++)
			pub->slots[i].buffers[b].fd = -1;
	}

	const struct px_set_layout asked = pub->layout;
	for (size_t c = 0; c < n; c++) {
		why[0] = '\0';
		pub->layout = asked;
		ret = try_allocator(pub, candidates[c], device, external, why, sizeof(why));
		if (!ret)
			break;
		if (type == PX_ALLOCATOR_AUTO) {
			px_log_info("%s: allocator auto: not %s: %s", pub->topic,
				    candidates[c]->name, why);
			continue;
		}
		px_log_error("%s: allocator %s: %s", pub->topic, candidates[c]->name, why);
		/* An allocator that is absent or cannot make this layout is
		 * "not available here" for the caller. */
		if (ret == -ENOENT)
			ret = -ENOTSUP;
	}
	if (ret) {
		free(pub->slots);
		pub->slots = NULL;
		pub->layout = asked;
		return ret;
	}
	if (type == PX_ALLOCATOR_AUTO)
		px_log_info("%s: allocator auto: chose %s", pub->topic, pub->alloc->name);
	pub->external_unmapped = external && external->unmapped;
	pub->unmapped = pub->read_only = true;
	for (uint32_t i = 0; i < pub->max_pool_size; i++) {
		struct slot *s = &pub->slots[i];
		s->pub.index = i;
		s->pub.n_buffers = pub->layout.n_buffers;
		s->pub.buffers = s->buffers;
		s->pub.layout = &pub->layout;
	}
	for (uint32_t i = 0; i < pub->pool_size; i++) {
		bool unmapped, read_only;
		slot_access(pub, &pub->slots[i], &unmapped, &read_only);
		pub->unmapped &= unmapped;
		pub->read_only &= read_only;
	}
	/* Memfds are always mapped; dma-bufs whose exporter has no mmap, and
	 * an application's device memory, are not. */
	if (pub->unmapped)
		px_log_info("%s: the pool's buffers have no CPU mapping: subscribers are told "
			    "not to map them",
			    pub->topic);
	return 0;
}

static int publisher_create_impl(const struct px_publisher_params *params,
				 struct px_publisher **out)
{
	char why[160];
	int ret;

	if (!params || !out || !params->layout) {
		px_log_error("publisher: params, layout and out are required");
		return -EINVAL;
	}
	*out = NULL;
	if ((ret = px_topic_check_name(params->topic)))
		return ret;
	if (px_layout_validate(params->layout, why, sizeof(why))) {
		px_log_error("publisher %s: invalid layout: %s", params->topic, why);
		return -EINVAL;
	}
	uint32_t max_subs = params->max_subscribers ? params->max_subscribers : 4;
	uint32_t max_leases = params->max_leases ? params->max_leases : 2;
	if (max_subs > PX_MAX_SUBSCRIBERS || max_leases > PX_MAX_LEASES) {
		px_log_error("publisher %s: %u subscribers × %u leases; at most %u × %u",
			     params->topic, max_subs, max_leases, PX_MAX_SUBSCRIBERS,
			     PX_MAX_LEASES);
		return -EINVAL;
	}
	const struct px_external_pool *ext = params->external;
	if (ext) {
		if (params->allocator != PX_ALLOCATOR_AUTO &&
		    params->allocator != PX_ALLOCATOR_EXTERNAL) {
			px_log_error("publisher %s: external buffers with allocator %s; only "
				     "auto or external",
				     params->topic,
				     px_allocator_name(params->allocator)
					 ? px_allocator_name(params->allocator)
					 : "(unknown)");
			return -EINVAL;
		}
		if (params->device) {
			px_log_error("publisher %s: external buffers with device %s; they "
				     "have theirs (external->device)",
				     params->topic, params->device);
			return -EINVAL;
		}
		if (params->pool_size && params->pool_size != ext->n_slots) {
			px_log_error("publisher %s: pool_size %u with %u external slots",
				     params->topic, params->pool_size, ext->n_slots);
			return -EINVAL;
		}
		if (!ext->n_slots) {
			px_log_error("publisher %s: external pool of 0 slots", params->topic);
			return -EINVAL;
		}
		if (!ext->fds) {
			px_log_error("publisher %s: external buffers without fds", params->topic);
			return -EINVAL;
		}
		if (ext->vulkan &&
		    px_vulkan_export_check(ext->vulkan, params->layout, why, sizeof(why))) {
			px_log_error("publisher %s: %s", params->topic, why);
			return -EINVAL;
		}
	} else if (params->allocator == PX_ALLOCATOR_EXTERNAL) {
		px_log_error("publisher %s: allocator external needs params.external",
			     params->topic);
		return -EINVAL;
	}
	uint32_t pool_size = ext ? ext->n_slots : px_publisher_default_pool(params);
	if (pool_size < 3 || pool_size > PX_MAX_SLOTS) {
		px_log_error("publisher %s: pool of %u slots; 3 to %u allowed", params->topic,
			     pool_size, PX_MAX_SLOTS);
		return -EINVAL;
	}
	if (pool_size * params->layout->n_buffers > PX_MAX_SLOTS * PX_MAX_BUFFERS) {
		px_log_error("publisher %s: too many buffers", params->topic);
		return -EINVAL;
	}
	if (params->min_pool_size && ext) {
		px_log_error("publisher %s: min_pool_size %u with external buffers, which are "
			     "the pool they are",
			     params->topic, params->min_pool_size);
		return -EINVAL;
	}
	if (params->min_pool_size &&
	    (params->min_pool_size < 3 || params->min_pool_size > pool_size)) {
		px_log_error("publisher %s: min_pool_size %u; 3 to the pool's size (%u) allowed",
			     params->topic, params->min_pool_size, pool_size);
		return -EINVAL;
	}
	if (params->n_allow_uids > PX_MAX_ALLOW || params->n_allow_gids > PX_MAX_ALLOW ||
	    (params->n_allow_uids && !params->allow_uids) ||
	    (params->n_allow_gids && !params->allow_gids)) {
		px_log_error("publisher %s: %u allowed uids and %u gids; at most %u each, and "
			     "the arrays with them",
			     params->topic, params->n_allow_uids, params->n_allow_gids,
			     PX_MAX_ALLOW);
		return -EINVAL;
	}
	if ((unsigned)params->stall_policy > PX_STALL_DISCONNECT) {
		px_log_error("publisher %s: stall policy %d is none of enum px_stall_policy",
			     params->topic, (int)params->stall_policy);
		return -EINVAL;
	}
	bool shared = params->n_allow_uids || params->n_allow_gids;
	mode_t socket_mode = params->socket_mode ? params->socket_mode : shared ? 0666 : 0600;
	if (socket_mode & ~(mode_t)0777) {
		px_log_error("publisher %s: socket mode %04o: only permission bits (0777)",
			     params->topic, (unsigned)socket_mode);
		return -EINVAL;
	}

	struct px_publisher *pub = calloc(1, sizeof(*pub));
	if (!pub || !(pub->rx = calloc(1, sizeof(*pub->rx)))) {
		free(pub);
		return -ENOMEM;
	}
	pub->listen_fd = pub->lock_fd = pub->epfd = -1;
	pub->latest = -1;
	px_strlcpy(pub->topic, params->topic, sizeof(pub->topic));
	pub->layout = *params->layout;
	if (params->external && params->external->vulkan) {
		pub->has_vulkan = true;
		pub->vulkan = *params->external->vulkan;
	}
	pub->n_allow_uids = params->n_allow_uids;
	if (pub->n_allow_uids)
		memcpy(pub->allow_uids, params->allow_uids, pub->n_allow_uids * sizeof(uint32_t));
	pub->n_allow_gids = params->n_allow_gids;
	if (pub->n_allow_gids)
		memcpy(pub->allow_gids, params->allow_gids, pub->n_allow_gids * sizeof(uint32_t));
	pub->release_timeout_ns =
	    (uint64_t)(params->release_timeout_ms ? params->release_timeout_ms : 5000) * 1000000;
	pub->writable_dmabufs = params->writable_dmabufs;
	pub->handshake_timeout_ns =
	    (uint64_t)(params->handshake_timeout_ms ? params->handshake_timeout_ms
						    : PX_HANDSHAKE_TIMEOUT_MS) *
	    1000000;
	pub->stall_policy = params->stall_policy;
	pub->max_pool_size = pool_size;
	pub->min_pool_size = params->min_pool_size;
	pub->pool_size = params->min_pool_size ? params->min_pool_size : pool_size;
	pub->max_subscribers = max_subs;
	pub->max_leases = max_leases;
	pub->create_ns = px_now_ns();
	pub->session = pub->create_ns ^ ((uint64_t)getpid() << 32);
	px_strlcpy(pub->description, params->description ? params->description : px_program_name(),
		   sizeof(pub->description));

	if ((ret = px_topic_address(params->dir, params->topic, &pub->addr)))
		goto err_free;
	/* Take the topic before allocating, so that a duplicate fails fast, and
	 * listen only once the pool exists, so that nobody connects to a
	 * publisher that cannot answer yet. */
	if ((ret = px_topic_lock(params->dir, params->topic, shared ? 0711 : 0700, &pub->lock_fd)))
		goto err_free;
	if ((ret = alloc_pool(pub, params->external ? PX_ALLOCATOR_EXTERNAL : params->allocator,
			      params->device, params->external)))
		goto err_unlock;
	ret = px_topic_listen(params->dir, params->topic, socket_mode, &pub->listen_fd);
	if (ret)
		goto err_pool;
	pub->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (pub->epfd < 0) {
		ret = -errno;
		px_log_error("publisher %s: epoll_create1: %s", pub->topic, strerror(errno));
		goto err_listen;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = pub};
	if (epoll_ctl(pub->epfd, EPOLL_CTL_ADD, pub->listen_fd, &ev) < 0) {
		ret = -errno;
		px_log_error("publisher %s: epoll_ctl: %s", pub->topic, strerror(errno));
		goto err_epoll;
	}
	if (pub->min_pool_size)
		px_log_info("publisher %s: %u slots (elastic: %u to %u) × %llu bytes (%s), %u "
			    "subscribers × %u leases",
			    pub->topic, pub->pool_size, pub->min_pool_size, pub->max_pool_size,
			    (unsigned long long)px_layout_slot_bytes(&pub->layout),
			    pub->alloc->name, max_subs, max_leases);
	else
		px_log_info("publisher %s: %u slots × %llu bytes (%s), %u subscribers × %u leases",
			    pub->topic, pub->pool_size,
			    (unsigned long long)px_layout_slot_bytes(&pub->layout),
			    pub->alloc->name, max_subs, max_leases);
	*out = pub;
	return 0;

err_epoll:
	px_close(&pub->epfd);
err_listen:
	unlink(pub->addr.sun_path);
	px_close(&pub->listen_fd);
err_pool:
	free_pool(pub);
err_unlock:
	px_close(&pub->lock_fd);
err_free:
	free(pub->rx);
	free(pub);
	return ret;
}

PX_API int px_publisher_create_sized(size_t size, const struct px_publisher_params *params,
				     struct px_publisher **out)
{
	struct px_publisher_params ours;
	if (out)
		*out = NULL;
	if (params) {
		int ret = px_abi_in(&ours, sizeof(ours), params, size,
				    PX_SIZE_THROUGH(struct px_publisher_params, external),
				    "px_publisher_create: struct px_publisher_params");
		if (ret)
			return ret;
	}
	return publisher_create_impl(params ? &ours : NULL, out);
}

PX_API void px_publisher_destroy(struct px_publisher *pub)
{
	if (!pub)
		return;
	/* Remove the name first, so that nobody new connects to a dying publisher. */
	unlink(pub->addr.sun_path);
	for (struct conn *c = pub->conns; c; c = c->next) {
		if (c->dead)
			continue;
		if (c->state != CONN_HELLO)
			send_end(c, PX_MSG_END, 0, "publisher stopped");
		/* Closing a socket with unread messages (releases in flight)
		 * resets the peer, which would then lose END and the frames
		 * still queued for it: read what is pending first. */
		shutdown(c->fd, SHUT_WR);
		char buf[PX_WIRE_MAX_SIZE];
		int fds[PX_WIRE_FD_ROOM], n_fds;
		while (px_wire_recv(c->fd, buf, fds, 0, &n_fds) > 0)
			;
		conn_close(c, NULL);
	}
	reap_connections(pub);
	px_close(&pub->epfd);
	px_close(&pub->listen_fd);
	free_pool(pub);
	px_close(&pub->lock_fd); /* releases the topic's lock */
	free(pub->rx);
	free(pub);
}

PX_API const struct px_set_layout *px_publisher_get_layout(const struct px_publisher *pub)
{
	return pub ? &pub->layout : NULL;
}

PX_API uint32_t px_publisher_get_pool_size(const struct px_publisher *pub)
{
	return pub ? pub->pool_size : 0;
}

PX_API enum px_allocator_type px_publisher_get_allocator(const struct px_publisher *pub)
{
	return pub && pub->alloc ? pub->alloc->type : PX_ALLOCATOR_AUTO;
}

PX_API bool px_publisher_is_dmabuf(const struct px_publisher *pub)
{
	return pub && pub->dmabuf;
}

PX_API bool px_publisher_is_mapped(const struct px_publisher *pub)
{
	return pub && !pub->unmapped;
}

PX_API uint64_t px_publisher_get_device(const struct px_publisher *pub)
{
	return pub && pub->alloc && pub->alloc->device ? pub->alloc->device(pub->alloc_priv) : 0;
}

PX_API int px_publisher_get_fd(const struct px_publisher *pub)
{
	return pub ? pub->epfd : -EINVAL;
}

/* Brackets the application's CPU writes to a slot's dma-bufs. */
static void slot_cpu_access(struct px_publisher *pub, struct slot *s, bool start)
{
	if (!pub->dmabuf)
		return;
	for (uint32_t b = 0; b < pub->layout.n_buffers; b++)
		if (s->buffers[b].data)
			px_dmabuf_sync(s->buffers[b].fd, start, true);
}

/*
 * Whether the CPU may write the slot's mapped dma-bufs without waiting: a
 * dma-buf polls writable (EPOLLOUT) once every fence in it has signaled.
 * The fences are those of release fences (add_release_fence()), of readers'
 * GPUs, and any a subscriber imported itself (DMA_BUF_IOCTL_IMPORT_SYNC_FILE
 * takes read-only dma-bufs too): DMA_BUF_IOCTL_SYNC at acquire would wait
 * for them all, past the acquire's timeout and for as long as a subscriber
 * keeps its fence pending.
 */
static bool slot_cpu_idle(const struct px_publisher *pub, const struct slot *s)
{
	if (!pub->dmabuf)
		return true;
	int fds[PX_MAX_BUFFERS];
	uint32_t n = 0;
	for (uint32_t b = 0; b < pub->layout.n_buffers; b++)
		if (s->buffers[b].data)
			fds[n++] = s->buffers[b].fd;
	return px_dmabuf_first_busy(fds, n, true) < 0;
}

/* Whether slot `s` may be handed out now; sets *fenced if only fences (its
 * release fence, those in its dma-bufs) keep it. */
static bool slot_free(const struct px_publisher *pub, struct slot *s, bool *fenced)
{
	if (s->refs || s->acquired)
		return false;
	if (s->busy_fence >= 0) {
		if (!px_fence_signaled(s->busy_fence)) {
			*fenced = true;
			return false;
		}
		px_close(&s->busy_fence);
	}
	if (!slot_cpu_idle(pub, s)) {
		*fenced = true;
		return false;
	}
	px_close(&s->fence); /* the previous frame's */
	return true;
}

static struct slot *find_free_slot(struct px_publisher *pub, bool *fenced)
{
	*fenced = false;
	for (uint32_t i = 0; i < pub->pool_size; i++)
		if (slot_free(pub, &pub->slots[i], fenced))
			return &pub->slots[i];
	return NULL;
}

PX_API int px_publisher_acquire(struct px_publisher *pub, int timeout_ms, struct px_slot **out)
{
	if (!pub || !out)
		return -EINVAL;
	*out = NULL;
	/* A free slot needs no system call: publish() handles connections and
	 * hang-ups, and reads the releases it needs, every frame. Where none is
	 * free, what is pending first: releases free slots, and subscribers
	 * that left free theirs. */
	bool fenced;
	struct slot *s = find_free_slot(pub, &fenced);
	int ret = 0;
	if (!s) {
		ret = px_publisher_dispatch(pub, 0);
		if (ret < 0)
			return ret;
		s = find_free_slot(pub, &fenced);
	}
	if (!s) {
		uint32_t acquired = 0;
		for (uint32_t i = 0; i < pub->pool_size; i++)
			acquired += pub->slots[i].acquired;
		if (acquired + 1 >= pub->pool_size)
			return -EBUSY;
		pub->stats.acquire_waits++;
		uint64_t deadline =
		    timeout_ms < 0 ? UINT64_MAX : px_now_ns() + (uint64_t)timeout_ms * 1000000ull;
		watch_all(pub, true);
		while (!s) {
			uint64_t now = px_now_ns();
			if (now >= deadline) {
				pub->stats.acquire_timeouts++;
				ret = -EAGAIN;
				break;
			}
			int64_t wait = deadline == UINT64_MAX ? -1 : (int64_t)(deadline - now);
			/* Slots held by release fences free without a message:
			 * look again every millisecond. */
			if (fenced && (wait < 0 || wait > 1000000))
				wait = 1000000;
			ret = dispatch(pub, wait);
			if (ret < 0)
				break;
			s = find_free_slot(pub, &fenced);
		}
		watch_all(pub, false);
		if (!s)
			return ret;
	}
	s->acquired = true;
	slot_cpu_access(pub, s, true);
	*out = &s->pub;
	return 0;
}

PX_API int px_publisher_acquire_index(struct px_publisher *pub, uint32_t index,
				      struct px_slot **out)
{
	if (out)
		*out = NULL;
	if (!pub || !out || index >= pub->pool_size)
		return -EINVAL;
	struct slot *s = &pub->slots[index];
	if (s->acquired)
		return -EALREADY;
	bool fenced = false;
	if (!slot_free(pub, s, &fenced))
		return -EBUSY;
	s->acquired = true;
	slot_cpu_access(pub, s, true);
	*out = &s->pub;
	return 0;
}

PX_API void *px_slot_plane(const struct px_slot *slot, uint32_t image, uint32_t plane)
{
	if (!slot || image >= slot->layout->n_images)
		return NULL;
	const struct px_image_layout *img = &slot->layout->images[image];
	if (plane >= img->n_planes)
		return NULL;
	const struct px_buffer *b = &slot->buffers[img->planes[plane].buffer];
	return b->data ? (uint8_t *)b->data + img->planes[plane].offset : NULL;
}

static struct slot *slot_of(struct px_publisher *pub, struct px_slot *slot)
{
	if (!slot || slot->index >= pub->pool_size || &pub->slots[slot->index].pub != slot ||
	    !pub->slots[slot->index].acquired)
		return NULL;
	return &pub->slots[slot->index];
}

/* The fences a reader of the slot's dma-bufs must wait for, as one sync_file,
 * or a negative errno. */
static int export_fence(struct px_publisher *pub, struct slot *s)
{
	int fence = -1;
	if (!pub->dmabuf) {
		px_log_error("%s: implicit fences need dma-bufs; %s buffers have none", pub->topic,
			     pub->alloc->name);
		return -EINVAL;
	}
	for (uint32_t b = 0; b < pub->layout.n_buffers; b++) {
		int f = px_dmabuf_export_fence(s->buffers[b].fd, false);
		if (f < 0) {
			px_log_error("%s: DMA_BUF_IOCTL_EXPORT_SYNC_FILE: %s", pub->topic,
				     strerror(-f));
			px_close(&fence);
			return f == -ENOTTY ? -ENOTSUP : f;
		}
		if (fence < 0) {
			fence = f;
			continue;
		}
		int merged = px_sync_merge(fence, f);
		close(f);
		px_close(&fence);
		if (merged < 0) {
			px_log_error("%s: SYNC_IOC_MERGE: %s", pub->topic, strerror(-merged));
			return merged;
		}
		fence = merged;
	}
	return fence;
}

uint32_t px_publisher_default_pool(const struct px_publisher_params *params)
{
	uint32_t max_subs = params->max_subscribers ? params->max_subscribers : 4;
	uint32_t max_leases = params->max_leases ? params->max_leases : 2;
	if (params->pool_size)
		return params->pool_size;
	return PX_MIN(2 + max_subs * (max_leases + 1), (uint32_t)PX_MAX_SLOTS);
}

static int publish(struct px_publisher *pub, struct px_slot *slot,
		   const struct px_publish_info *info, int fence)
{
	struct slot *s = slot_of(pub, slot);
	if (!s) {
		px_log_error("%s: publish of a slot the application does not hold", pub->topic);
		px_close(&fence);
		return -EINVAL;
	}
	uint32_t all = pub->layout.n_images == 32 ? UINT32_MAX : (1u << pub->layout.n_images) - 1;
	if (info && (info->valid_mask & ~all)) {
		px_log_error("%s: valid mask 0x%x names images the set does not have", pub->topic,
			     info->valid_mask);
		px_close(&fence);
		return -EINVAL;
	}
	for (uint32_t i = 0; info && i < pub->layout.n_images; i++) {
		const struct px_format_info *f = px_format_get_info(pub->layout.images[i].fourcc);
		bool present = !info->valid_mask || (info->valid_mask & (1u << i));
		uint64_t room = px_image_compressed_room(&pub->layout, i);
		uint64_t bytes = info->images[i].bytes;
		if (!px_image_bytes_valid(&pub->layout, i, present, bytes)) {
			px_log_error("%s: image %u: %llu bytes for a%s %s image (%s)", pub->topic,
				     i, (unsigned long long)bytes, present ? "" : "n absent",
				     f ? f->name : "?",
				     room && present ? "it holds 1 to its buffer's size"
						     : "only compressed images have one");
			px_close(&fence);
			return -EINVAL;
		}
	}
	if (info && (info->flags & ~PX_PUBLISH_IMPLICIT_FENCE)) {
		px_log_error("%s: unknown publish flags 0x%x", pub->topic, info->flags);
		px_close(&fence);
		return -EINVAL;
	}
	if (info && (info->flags & PX_PUBLISH_IMPLICIT_FENCE)) {
		if (fence >= 0) {
			px_log_error("%s: a fence and PX_PUBLISH_IMPLICIT_FENCE", pub->topic);
			px_close(&fence);
			return -EINVAL;
		}
		fence = export_fence(pub, s);
		if (fence < 0)
			return fence;
	}

	px_close(&s->fence);
	s->fence = fence;
	slot_cpu_access(pub, s, false);
	s->acquired = false;
	s->seq = ++pub->seq;
	s->publish_ns = px_now_ns();
	if (info) {
		s->info = *info;
		if (!s->info.valid_mask)
			s->info.valid_mask = all;
	} else {
		memset(&s->info, 0, sizeof(s->info));
		s->info.valid_mask = all;
		for (uint32_t i = 0; i < pub->layout.n_images; i++) {
			s->info.images[i].timestamp_ns = s->publish_ns;
			s->info.images[i].sequence = s->seq;
			/* Compressed and no size given: the whole buffer. */
			s->info.images[i].bytes = px_image_compressed_room(&pub->layout, i);
		}
	}
	pub->stats.published++;
	pub->publish_times[pub->n_publish_times++ % RATE_WINDOW] = s->publish_ns;
	/* Releases that arrived since the last look from subscribers that have
	 * no room for this frame, so that they get it now rather than queued
	 * (or dropped), reliable ones (watched) included: no dispatch may come
	 * before the application waits for them. One with room gets it anyway:
	 * its releases wait for the next dispatch, or for a frame it has no
	 * room for. */
	for (struct conn *c = pub->conns; c; c = c->next)
		if (!c->dead && c->state == CONN_STREAMING &&
		    (c->n_leases >= c->max_leases || c->n_pending))
			handle_readable(c);
	reap_connections(pub);

	/* Hold the newest frame for subscribers that join later. */
	if (pub->latest >= 0)
		slot_unref(pub, (uint32_t)pub->latest);
	pub->latest = (int)s->pub.index;
	slot_ref(pub, s->pub.index);

	for (struct conn *c = pub->conns; c; c = c->next)
		if (!c->dead && c->state == CONN_STREAMING)
			deliver(c, s->pub.index);
	/* Connections and hang-ups that arrived meanwhile, so that the
	 * publisher stays responsive even if the application never dispatches
	 * by itself (one epoll_wait; the releases were read above), unless a
	 * dispatch looked less than POLL_INTERVAL_NS ago (an application that
	 * waits for its next frame in px_publisher_dispatch_until() just did)
	 * and no handshake is under way (its next message starts a stream). */
	bool handshakes = false;
	for (const struct conn *c = pub->conns; c && !handshakes; c = c->next)
		handshakes = !c->dead && c->state != CONN_STREAMING;
	if (handshakes || s->publish_ns - pub->polled_ns >= POLL_INTERVAL_NS)
		dispatch_events(pub, 0, false);
	return 0;
}

PX_API int px_publisher_publish(struct px_publisher *pub, struct px_slot *slot,
				const struct px_publish_info *info)
{
	if (!pub)
		return -EINVAL;
	return publish(pub, slot, info, -1);
}

PX_API int px_publisher_publish_fenced(struct px_publisher *pub, struct px_slot *slot,
				       const struct px_publish_info *info, int fence)
{
	if (!pub || fence < 0) {
		if (fence >= 0)
			close(fence);
		return -EINVAL;
	}
	if (!px_fence_is_sync_file(fence)) {
		px_log_error("%s: publish: fd %d is not a sync_file", pub->topic, fence);
		close(fence);
		return -EINVAL;
	}
	return publish(pub, slot, info, fence);
}

PX_API void px_publisher_cancel(struct px_publisher *pub, struct px_slot *slot)
{
	if (!pub || !slot)
		return;
	struct slot *s = slot_of(pub, slot);
	if (s) {
		slot_cpu_access(pub, s, false);
		s->acquired = false;
	} else
		px_log_error("%s: cancel of a slot the application does not hold", pub->topic);
}

static int publisher_get_stats_impl(const struct px_publisher *pub,
				    struct px_publisher_stats *stats)
{
	if (!pub || !stats)
		return -EINVAL;
	fill_stats(pub, stats);
	return 0;
}

PX_API int px_publisher_get_stats_sized(size_t size, const struct px_publisher *pub,
					struct px_publisher_stats *stats)
{
	struct px_publisher_stats ours;
	if (!stats)
		return -EINVAL;
	int ret = publisher_get_stats_impl(pub, &ours);
	if (ret)
		return ret;
	return px_abi_out(stats, size, PX_SIZE_THROUGH(struct px_publisher_stats, rate_hz), &ours,
			  sizeof(ours), "px_publisher_get_stats: struct px_publisher_stats");
}

static int publisher_get_subscriber_impl(const struct px_publisher *pub, uint32_t index,
					 struct px_subscriber_info *info)
{
	if (!pub || !info)
		return -EINVAL;
	for (const struct conn *c = pub->conns; c; c = c->next) {
		if (c->dead || c->state != CONN_STREAMING)
			continue;
		if (index-- > 0)
			continue;
		memset(info, 0, sizeof(*info));
		info->pid = c->pid;
		info->id = c->id;
		px_strlcpy(info->name, c->name, sizeof(info->name));
		info->qos = c->qos;
		info->queue_depth = c->queue_depth;
		info->max_leases = c->max_leases;
		info->leases = c->n_leases;
		info->pending = c->n_pending;
		info->delivered = c->delivered;
		info->released = c->released;
		info->dropped_replaced = c->dropped_replaced;
		info->dropped_queue = c->dropped_queue;
		return 0;
	}
	return -ENOENT;
}

PX_API int px_publisher_get_subscriber_sized(size_t size, const struct px_publisher *pub,
					     uint32_t index, struct px_subscriber_info *info)
{
	struct px_subscriber_info ours;
	if (!info)
		return -EINVAL;
	int ret = publisher_get_subscriber_impl(pub, index, &ours);
	if (ret)
		return ret;
	return px_abi_out(info, size, PX_SIZE_THROUGH(struct px_subscriber_info, dropped_queue),
			  &ours, sizeof(ours),
			  "px_publisher_get_subscriber: struct px_subscriber_info");
}
