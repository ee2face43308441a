/* SPDX-License-Identifier: MIT */
/*
 * The copying baseline of bench_compare: each set sent by value through a
 * Unix SOCK_STREAM socket to each subscriber, which reads it whole into its
 * own buffer (the kernel's default socket buffer sizes). Blocking: a slow
 * subscriber holds the publisher, and a paced publisher that falls behind
 * misses ticks.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/compare/compare.h"

#define SOCKET_FILE "stream.sock"

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0, -EPIPE at the end of the stream, or -errno. */
static int read_all(int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EPIPE;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int publisher(struct cmp_ctx *c)
{
	int fds[CMP_MAX_SUBS], lfd = cmp_listen(c, SOCKET_FILE, SOCK_STREAM), ret = -1;
	uint8_t *set = malloc(c->p->set_bytes);
	if (lfd < 0 || !set) {
		if (lfd >= 0)
			close(lfd);
		free(set);
		return lfd < 0 ? -1 : cmp_fail(c, "out of memory");
	}
	if (cmp_accept(c, lfd, fds, c->p->n_subs)) {
		close(lfd);
		free(set);
		return -1;
	}
	close(lfd);
	int sndbuf = 0;
	socklen_t len = sizeof(sndbuf);
	getsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
	snprintf(c->sh->pub.detail, sizeof(c->sh->pub.detail), "SO_SNDBUF %d bytes", sndbuf);
	uint8_t *images[CMP_MAX_IMAGES];
	for (uint32_t i = 0; i < c->p->n_images; i++)
		images[i] = set + i * c->p->image_bytes;
	if (cmp_pub_wait_subscribers(c, 0))
		goto out;
	cmp_pub_begin(c);
	while (cmp_pub_next(c)) {
		cmp_camera_write(c, images, c->p->n_images);
		for (uint32_t s = 0; s < c->p->n_subs; s++) {
			int err = write_all(fds[s], set, c->p->set_bytes);
			if (err) {
				cmp_fail(c, "write to subscriber %u: %s", s, strerror(-err));
				goto out;
			}
		}
		cmp_pub_sent(c);
	}
	cmp_pub_end(c);
	ret = 0;
out:
	for (uint32_t s = 0; s < c->p->n_subs; s++)
		close(fds[s]);
	free(set);
	return ret;
}

static int subscriber(struct cmp_ctx *c)
{
	uint8_t *set = malloc(c->p->set_bytes);
	int fd = set ? cmp_connect(c, SOCKET_FILE, SOCK_STREAM) : -1;
	if (fd < 0) {
		free(set);
		return set ? -1 : cmp_fail(c, "out of memory");
	}
	const uint8_t *images[CMP_MAX_IMAGES];
	for (uint32_t i = 0; i < c->p->n_images; i++)
		images[i] = set + i * c->p->image_bytes;
	/* The receiving buffer exists before the first set, as an
	 * application's would. */
	memset(set, 0, c->p->set_bytes);
	cmp_sub_ready(c);
	int ret = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	while (!cmp_sub_done(c)) {
		int n = cmp_sub_wait(c, pfd.fd);
		if (n < 0) {
			ret = -1;
			break;
		}
		if (n == 0)
			continue;
		int err = read_all(fd, set, c->p->set_bytes);
		if (err == -EPIPE)
			break;
		if (err) {
			ret = cmp_fail(c, "read: %s", strerror(-err));
			break;
		}
		cmp_sub_set(c, images, c->p->n_images);
	}
	close(fd);
	free(set);
	return ret;
}

const struct cmp_transport cmp_stream = {
    .name = "stream",
    .settings = "the set by value through a Unix SOCK_STREAM socket per subscriber, read "
		"whole into the subscriber's buffer; default socket buffers; blocking",
    .multi = true,
    .spins = true,
    .publisher = publisher,
    .subscriber = subscriber,
};
