/* SPDX-License-Identifier: MIT */
/*
 * The machine's floor in bench_compare: no library and no payload, a bare
 * 16-byte message (the header) over a Unix SOCK_SEQPACKET socket to each
 * subscriber, answered by a 16-byte reply as a release would be; paced and
 * polled as the transports are. What any transport that wakes another
 * process costs on this machine.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/compare/compare.h"

#define SOCKET_FILE "floor.sock"

static int publisher(struct cmp_ctx *c)
{
	int fds[CMP_MAX_SUBS], lfd = cmp_listen(c, SOCKET_FILE, SOCK_SEQPACKET), ret = -1;
	if (lfd < 0)
		return -1;
	if (cmp_accept(c, lfd, fds, c->p->n_subs)) {
		close(lfd);
		return -1;
	}
	close(lfd);
	struct cmp_header h;
	if (cmp_pub_wait_subscribers(c, 0))
		goto out;
	cmp_pub_begin(c);
	while (cmp_pub_next(c)) {
		h = (struct cmp_header){.seq = c->seq, .publish_ns = cmp_now_ns()};
		for (uint32_t s = 0; s < c->p->n_subs; s++) {
			struct cmp_header reply;
			/* The replies that came since the last set. */
			while (recv(fds[s], &reply, sizeof(reply), MSG_DONTWAIT) > 0)
				;
			if (send(fds[s], &h, sizeof(h), MSG_NOSIGNAL) != (ssize_t)sizeof(h)) {
				cmp_fail(c, "send to subscriber %u: %s", s, strerror(errno));
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
	return ret;
}

static int subscriber(struct cmp_ctx *c)
{
	int fd = cmp_connect(c, SOCKET_FILE, SOCK_SEQPACKET), ret = 0;
	if (fd < 0)
		return -1;
	cmp_sub_ready(c);
	struct cmp_header h;
	const uint8_t *images[1] = {(const uint8_t *)&h};
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	while (!cmp_sub_done(c)) {
		int n = cmp_sub_wait(c, pfd.fd);
		if (n < 0) {
			ret = -1;
			break;
		}
		if (n == 0)
			continue;
		ssize_t len = recv(fd, &h, sizeof(h), 0);
		if (len == 0 || (len < 0 && (errno == ECONNRESET || errno == EPIPE)))
			break; /* the publisher is gone */
		if (len != (ssize_t)sizeof(h)) {
			ret = cmp_fail(c, "recv: %s", len < 0 ? strerror(errno) : "short message");
			break;
		}
		cmp_sub_set(c, images, 1);
		send(fd, &h, sizeof(h), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	close(fd);
	return ret;
}

const struct cmp_transport cmp_floor = {
    .name = "floor",
    .settings = "a bare 16-byte message over a Unix SOCK_SEQPACKET socket and a 16-byte "
		"reply; no payload, no library",
    .multi = true,
    .spins = true,
    .publisher = publisher,
    .subscriber = subscriber,
};
