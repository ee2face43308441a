/* SPDX-License-Identifier: MIT */
/*
 * Minimal test helpers: REQUIRE() prints the failing expression with
 * file:line and exits 1; SKIP() prints why and exits 77 (CTest's skip code).
 */
#ifndef PX_TEST_H
#define PX_TEST_H

#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#define PX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define REQUIRE(cond)                                                                    \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, \
				#cond);                                                  \
			exit(1);                                                         \
		}                                                                        \
	} while (0)

/* REQUIRE for functions returning 0 or -errno; prints the error text. */
#define REQUIRE_OK(expr)                                                                  \
	do {                                                                              \
		int req_ret_ = (expr);                                                    \
		if (req_ret_ != 0) {                                                      \
			fprintf(stderr, "%s:%d: %s returned %d (%s)\n", __FILE__, __LINE__, \
				#expr, req_ret_, strerror(req_ret_ < 0 ? -req_ret_ : req_ret_)); \
			exit(1);                                                          \
		}                                                                         \
	} while (0)

#define REQUIRE_EQ(a, b)                                                                     \
	do {                                                                                 \
		long long req_a_ = (long long)(a), req_b_ = (long long)(b);                  \
		if (req_a_ != req_b_) {                                                      \
			fprintf(stderr, "%s:%d: REQUIRE_EQ(%s, %s) failed: %lld != %lld\n",    \
				__FILE__, __LINE__, #a, #b, req_a_, req_b_);                 \
			exit(1);                                                             \
		}                                                                            \
	} while (0)

#define SKIP(...)                                     \
	do {                                          \
		fprintf(stderr, "SKIP: " __VA_ARGS__); \
		fprintf(stderr, "\n");                \
		exit(77);                             \
	} while (0)

/* Whether `name` is one of the comma-separated items of `list`. */
static inline bool px_test_in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* Number of open fds of this process (counted in /proc/self/fd) for which
 * `skip` (may be NULL) is false; `skip` sees each fd's target (readlink),
 * and `print` lists every fd with it. */
static inline int px_test_count_fds_but(bool (*skip)(const char *target), bool print)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		char target[256] = "";
		if (skip || print) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/self/fd/%.20s", e->d_name);
			ssize_t l = readlink(path, target, sizeof(target) - 1);
			if (l > 0)
				target[l] = 0;
		}
		bool skipped = skip && skip(target);
		if (print)
			printf("fd %s: %s%s\n", e->d_name, target, skipped ? " (not counted)" : "");
		n += !skipped;
	}
	closedir(d);
	return n;
}

/* Number of open fds of this process (counted in /proc/self/fd). */
static inline int px_test_count_fds(void)
{
	return px_test_count_fds_but(NULL, false);
}

/* Sends `len` bytes with `count` copies of `fd` attached, bypassing every
 * cap, as a hostile peer would. */
static inline void px_test_send_fds_raw(int sock, const void *msg, size_t len, int fd, int count)
{
	size_t bytes = sizeof(int) * (size_t)count;
	char *ctrl = calloc(1, CMSG_SPACE(bytes));
	REQUIRE(ctrl);
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl,
			    .msg_controllen = CMSG_SPACE(bytes)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(bytes);
	for (int i = 0; i < count; i++)
		memcpy(CMSG_DATA(c) + sizeof(int) * (size_t)i, &fd, sizeof(fd));
	REQUIRE(sendmsg(sock, &mh, 0) == (ssize_t)len);
	free(ctrl);
}

#endif
