/* SPDX-License-Identifier: MIT */
/* The measuring helpers every transport of bench_compare uses (compare.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench/compare/compare.h"

/* Image memory the camera has filled: a set's pixels are written once,
 * the first time the transport hands out that memory. */
#define MAX_FILLED 1024
/* The warm-up ends once no new memory was filled for this long. */
#define FILL_QUIET_NS (250 * CMP_NS_PER_MS)

static const uint8_t *filled[MAX_FILLED];
static uint32_t n_filled;

uint64_t cmp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * CMP_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * CMP_NS_PER_S + (uint64_t)tv.tv_usec * 1000u;
}

uint64_t cmp_cpu_ns(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * CMP_NS_PER_S + (uint64_t)ts.tv_nsec;
}

int cmp_fail(struct cmp_ctx *c, const char *fmt, ...)
{
	char *error = c->publisher ? c->sh->pub.error : c->sh->subs[c->index].error;
	size_t size = sizeof(c->sh->pub.error);
	va_list ap;

	if (!error[0]) {
		va_start(ap, fmt);
		vsnprintf(error, size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {
	    .tv_sec = (time_t)(t / CMP_NS_PER_S),
	    .tv_nsec = (long)(t % CMP_NS_PER_S),
	};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

void cmp_sleep_ms(unsigned ms)
{
	sleep_until(cmp_now_ns() + (uint64_t)ms * CMP_NS_PER_MS);
}

int cmp_run_path(struct cmp_ctx *c, const char *file, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s/%s", c->p->dir, file) >= len)
		return cmp_fail(c, "path %s/%s too long", c->p->dir, file);
	return 0;
}

int cmp_pub_wait_subscribers(struct cmp_ctx *c, int settle_ms)
{
	uint64_t deadline = cmp_now_ns() + 10 * CMP_NS_PER_S;
	while (__atomic_load_n(&c->sh->subs_ready, __ATOMIC_ACQUIRE) < (int)c->p->n_subs) {
		if (cmp_now_ns() > deadline)
			return cmp_fail(c, "%d of %u subscribers ready after 10 s",
					__atomic_load_n(&c->sh->subs_ready, __ATOMIC_ACQUIRE),
					c->p->n_subs);
		cmp_sleep_ms(1);
	}
	if (settle_ms > 0)
		sleep_until(cmp_now_ns() + (uint64_t)settle_ms * CMP_NS_PER_MS);
	return 0;
}

void cmp_pub_begin(struct cmp_ctx *c)
{
	uint64_t now = cmp_now_ns();
	c->warm_end_ns = now + (uint64_t)(c->p->warmup * (double)CMP_NS_PER_S);
	c->end_ns = UINT64_MAX; /* set when the measurement starts */
	c->seq = 0;
	c->next_ns = now;
	c->measuring = false;
}

/* The warm-up is over: what the publisher counts from now on is measured. */
static void start_measuring(struct cmp_ctx *c)
{
	struct cmp_pub_result *r = &c->sh->pub;
	c->measuring = true;
	c->start_cpu = cmp_cpu_ns();
	c->start_ns = cmp_now_ns();
	c->end_ns = c->start_ns + (uint64_t)(c->p->seconds * (double)CMP_NS_PER_S);
	r->published = r->missed = r->fill_ns = 0;
	__atomic_store_n(&c->sh->first_seq, c->seq + 1, __ATOMIC_RELEASE);
}

bool cmp_pub_next(struct cmp_ctx *c)
{
	if (c->p->rate > 0) {
		uint64_t period = (uint64_t)((double)CMP_NS_PER_S / c->p->rate);
		uint64_t now = cmp_now_ns();
		/* Ticks that passed while the last set was handed over are
		 * not made up: they are missed. */
		while (c->seq && now >= c->next_ns + period) {
			c->next_ns += period;
			c->sh->pub.missed++;
		}
		if (c->next_ns >= c->end_ns)
			return false;
		sleep_until(c->next_ns);
		c->next_ns += period;
	} else if (cmp_now_ns() >= c->end_ns) {
		return false;
	}
	/* The warm-up lasts until the camera has filled no new memory for
	 * FILL_QUIET_NS, at most CMP_WARMUP_MAX_S longer. */
	uint64_t now = cmp_now_ns();
	if (!c->measuring && now >= c->warm_end_ns &&
	    (now >= c->last_fill_ns + FILL_QUIET_NS ||
	     now >= c->warm_end_ns + CMP_WARMUP_MAX_S * CMP_NS_PER_S))
		start_measuring(c);
	c->seq++;
	return true;
}

void cmp_camera_write(struct cmp_ctx *c, uint8_t *const images[], uint32_t n_images)
{
	for (uint32_t i = 0; i < n_images; i++) {
		uint32_t k = 0;
		while (k < n_filled && filled[k] != images[i])
			k++;
		if (k == n_filled) {
			/* New memory: the camera fills the whole image. */
			uint64_t t0 = thread_cpu_ns();
			memset(images[i], 0x80 + (int)i, c->p->image_bytes);
			c->sh->pub.fill_ns += thread_cpu_ns() - t0;
			c->sh->pub.buffers_filled++;
			c->last_fill_ns = cmp_now_ns();
			if (n_filled == MAX_FILLED)
				cmp_fail(c,
					 "more than %d distinct image buffers: new memory can no "
					 "longer be told from old",
					 MAX_FILLED);
			else
				filled[n_filled++] = images[i];
		}
	}
	struct cmp_header h = {.seq = c->seq, .publish_ns = cmp_now_ns()};
	for (uint32_t i = 0; i < n_images; i++)
		memcpy(images[i], &h, sizeof(h));
}

void cmp_pub_sent(struct cmp_ctx *c)
{
	c->sh->pub.published++;
	__atomic_store_n(&c->sh->last_published, c->seq, __ATOMIC_RELEASE);
}

void cmp_pub_missed(struct cmp_ctx *c)
{
	c->sh->pub.missed++;
}

void cmp_pub_end(struct cmp_ctx *c)
{
	if (!c->measuring)
		start_measuring(c);
	uint64_t now = cmp_now_ns(), cpu = cmp_cpu_ns() - c->start_cpu;
	c->sh->pub.wall_ns = now - c->start_ns;
	c->sh->pub.cpu_ns = cpu > c->sh->pub.fill_ns ? cpu - c->sh->pub.fill_ns : 0;
	c->sh->pub.done = true;
	c->sh->pub_end_ns = now;
	__atomic_store_n(&c->sh->pub_done, 1, __ATOMIC_RELEASE);
}

void cmp_sub_ready(struct cmp_ctx *c)
{
	c->start_cpu = cmp_cpu_ns();
	c->start_ns = cmp_now_ns();
	__atomic_add_fetch(&c->sh->subs_ready, 1, __ATOMIC_ACQ_REL);
}

bool cmp_sub_done(struct cmp_ctx *c)
{
	struct cmp_sub_result *r = &c->sh->subs[c->index];
	if (!__atomic_load_n(&c->sh->pub_done, __ATOMIC_ACQUIRE))
		return false;
	if (r->last_seq < __atomic_load_n(&c->sh->last_published, __ATOMIC_ACQUIRE) &&
	    cmp_now_ns() < c->sh->pub_end_ns + CMP_NS_PER_S)
		return false;
	cmp_sub_end(c);
	return true;
}

void cmp_sub_end(struct cmp_ctx *c)
{
	struct cmp_sub_result *r = &c->sh->subs[c->index];
	if (c->ended || !c->start_ns)
		return;
	c->ended = true;
	r->wall_ns = cmp_now_ns() - c->start_ns;
	r->cpu_ns = cmp_cpu_ns() - c->start_cpu;
}

static void record(struct cmp_ctx *c, uint32_t index, uint64_t seq, uint64_t publish_ns,
		   uint64_t now)
{
	struct cmp_sub_result *r = &c->sh->subs[index];
	uint64_t first = __atomic_load_n(&c->sh->first_seq, __ATOMIC_ACQUIRE);
	if (!first || seq < first) {
		/* The warm-up's. */
		r->last_seq = seq;
		return;
	}
	if (!r->received) {
		/* The measurement starts with the first set measured. */
		if (!c->publisher) {
			c->start_cpu = cmp_cpu_ns();
			c->start_ns = now;
		}
		if (r->last_seq < first - 1)
			r->last_seq = first - 1;
	}
	c->last_publish_ns = publish_ns;
	if (seq > r->last_seq + 1)
		r->gaps += seq - r->last_seq - 1;
	r->last_seq = seq;
	r->received++;
	if (r->n_delays < c->sh->delay_cap)
		c->sh->delays[index * c->sh->delay_cap + r->n_delays++] =
		    now > publish_ns ? now - publish_ns : 0;
}

void cmp_sub_set(struct cmp_ctx *c, const uint8_t *const images[], uint32_t n_images)
{
	uint64_t now = cmp_now_ns();
	struct cmp_header h, other;
	memcpy(&h, images[0], sizeof(h));
	for (uint32_t i = 1; i < n_images; i++) {
		memcpy(&other, images[i], sizeof(other));
		if (other.seq != h.seq) {
			c->sh->subs[c->index].torn++;
			break;
		}
	}
	record(c, c->index, h.seq, h.publish_ns, now);
}

void cmp_record_delay(struct cmp_ctx *c, uint64_t seq, uint64_t publish_ns)
{
	record(c, 0, seq, publish_ns, cmp_now_ns());
}

static int socket_path(struct cmp_ctx *c, const char *file, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	return cmp_run_path(c, file, addr->sun_path, sizeof(addr->sun_path));
}

int cmp_listen(struct cmp_ctx *c, const char *file, int type)
{
	struct sockaddr_un addr;
	if (socket_path(c, file, &addr))
		return -1;
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cmp_fail(c, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, CMP_MAX_SUBS)) {
		cmp_fail(c, "bind/listen %s: %s", addr.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int cmp_accept(struct cmp_ctx *c, int listen_fd, int *fds, uint32_t n)
{
	uint64_t deadline = cmp_now_ns() + 10 * CMP_NS_PER_S;
	for (uint32_t i = 0; i < n; i++) {
		struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
		int left = (int)((deadline - cmp_now_ns()) / CMP_NS_PER_MS);
		if (cmp_now_ns() >= deadline || poll(&pfd, 1, left) <= 0 ||
		    (fds[i] = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			cmp_fail(c, "%u of %u subscribers connected in 10 s", i, n);
			while (i--)
				close(fds[i]);
			return -1;
		}
	}
	return 0;
}

int cmp_connect(struct cmp_ctx *c, const char *file, int type)
{
	struct sockaddr_un addr;
	if (socket_path(c, file, &addr))
		return -1;
	uint64_t deadline = cmp_now_ns() + 10 * CMP_NS_PER_S;
	for (;;) {
		int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return cmp_fail(c, "socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		int err = errno;
		close(fd);
		if ((err != ENOENT && err != ECONNREFUSED) || cmp_now_ns() > deadline)
			return cmp_fail(c, "connect %s: %s", addr.sun_path, strerror(err));
		cmp_sleep_ms(1);
	}
}

int cmp_sub_wait(struct cmp_ctx *c, int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint64_t spin = (uint64_t)c->p->spin_us * 1000u;
	if (spin && !c->slack_set) {
		/* The sleep before the spin ends on time, not up to 50 µs late. */
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
		c->slack_set = true;
	}
	if (spin && c->p->rate > 0 && c->last_publish_ns) {
		/* The next set is due when the last was published + a period
		 * (publisher and subscribers share CLOCK_MONOTONIC, as a
		 * camera's timestamps would give it). */
		uint64_t period = (uint64_t)((double)CMP_NS_PER_S / c->p->rate);
		uint64_t due = c->last_publish_ns + period, now = cmp_now_ns();
		if (now + spin < due) {
			/* Asleep until the spin starts, unless the set comes early. */
			uint64_t left = due - spin - now;
			if (left > CMP_POLL_MS * CMP_NS_PER_MS)
				left = CMP_POLL_MS * CMP_NS_PER_MS;
			struct timespec ts = {.tv_sec = (time_t)(left / CMP_NS_PER_S),
					      .tv_nsec = (long)(left % CMP_NS_PER_S)};
			int n = ppoll(&pfd, 1, &ts, NULL);
			if (n != 0)
				return n > 0		? 1
				       : errno == EINTR ? 0
							: cmp_fail(c, "ppoll: %s", strerror(errno));
			now = cmp_now_ns();
		}
		if (now + spin >= due && now < due + spin) {
			uint64_t t0 = now;
			struct cmp_sub_result *r = &c->sh->subs[c->index];
			while (now < due + spin) {
				int n = poll(&pfd, 1, 0);
				if (n > 0) {
					r->spin_hits++;
					r->spin_ns += cmp_now_ns() - t0;
					return 1;
				}
				if (n < 0 && errno != EINTR)
					return cmp_fail(c, "poll: %s", strerror(errno));
				now = cmp_now_ns();
			}
			r->spin_ns += now - t0;
			/* Missed: no spinning until the next set comes. */
			c->last_publish_ns = 0;
		}
	}
	int n = poll(&pfd, 1, CMP_POLL_MS);
	if (n < 0)
		return errno == EINTR ? 0 : cmp_fail(c, "poll: %s", strerror(errno));
	return n > 0;
}
