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

/*
 * The options of the test programs, given on the command line (ctest passes
 * them, see tests/CMakeLists.txt and tests/vm/CMakeLists.txt):
 *   --quick                  smaller images, fewer cases (the valgrind tier)
 *   --allocator=NAME         the publisher's pool from that allocator
 *   --source=NAME            hand-made frames' buffers from that allocator
 *   --require-path=PATH      frames must be imported by that path
 *   --require-dmabuf         the pool must be dma-bufs (no skipping)
 *   --require-vkimage        VkImage import must work (no skipping)
 *   --read-vkimages          transforms read their sources as VkImages
 *   --require-semaphore      sync_file semaphores must work (no skipping)
 *   --require-export=TYPE    Vulkan pools must export that type
 *   --require-heaps          the dma-heap and udmabuf allocators must work
 *   --seed=N                 the random generator's seed
 *   --verbose                every log message to stderr
 *   --list                   print the test's suites, one per line, and exit
 *   SUITE…                   run only these suites (tests that have suites)
 * A test reads those it uses with px_test_opt(); px_test_args() refuses an
 * option none has, a value given to a flag, and a suite the test lacks.
 */
static const char *const px_test_opt_names[] = {
    "quick",	     "allocator",     "source",		   "require-path",   "require-dmabuf",
    "require-vkimage", "read-vkimages", "require-semaphore", "require-export", "require-heaps",
    "seed",	     "verbose",	"writable-dmabufs",
};
/* Those that take a value (the others are flags). */
static const char *const px_test_opt_valued = ",allocator,source,require-path,require-export,seed,";
static const char *px_test_opt_values[PX_ARRAY_LEN(px_test_opt_names)];
static char px_test_only_list[1024]; /* the suites asked for, comma-separated */

/* The value of option `name` (a flag's is "1"), or NULL where not given. */
static inline const char *px_test_opt(const char *name)
{
	for (size_t i = 0; i < PX_ARRAY_LEN(px_test_opt_names); i++)
		if (!strcmp(px_test_opt_names[i], name))
			return px_test_opt_values[i];
	fprintf(stderr, "px_test_opt: no option '%s' (a bug of the test)\n", name);
	exit(1);
}

/* The suites named on the command line, comma-separated, or NULL for all. */
static inline const char *px_test_only(void)
{
	return px_test_only_list[0] ? px_test_only_list : NULL;
}

/* Reads the command line (see above). `suites`: the test's suite names, or
 * NULL for a test without suites. Exits 0 after --list, 2 on a bad
 * command line. */
static inline void px_test_args(int argc, char **argv, const char *const *suites, size_t n_suites)
{
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a];
		if (!strcmp(arg, "--list")) {
			for (size_t i = 0; i < n_suites; i++)
				printf("%s\n", suites[i]);
			exit(0);
		}
		if (!strncmp(arg, "--", 2)) {
			const char *eq = strchr(arg, '=');
			size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
			size_t i = 0;
			while (i < PX_ARRAY_LEN(px_test_opt_names) &&
			       (strlen(px_test_opt_names[i]) != len ||
				strncmp(px_test_opt_names[i], arg + 2, len)))
				i++;
			char key[40];
			snprintf(key, sizeof(key), ",%.*s,", (int)len, arg + 2);
			bool valued = strstr(px_test_opt_valued, key) != NULL;
			if (i == PX_ARRAY_LEN(px_test_opt_names) || valued != (eq != NULL) ||
			    (eq && !eq[1])) {
				fprintf(stderr, "%s: %s: %s\n", argv[0], arg,
					i == PX_ARRAY_LEN(px_test_opt_names) ? "no such option"
					: valued ? "wants a value (--name=value)"
						 : "takes no value");
				exit(2);
			}
			px_test_opt_values[i] = eq ? eq + 1 : "1";
			continue;
		}
		bool known = false;
		for (size_t i = 0; i < n_suites; i++)
			known = known || !strcmp(suites[i], arg);
		if (!known) {
			fprintf(stderr, "%s: no suite '%s'%s\n", argv[0], arg,
				n_suites ? " (--list lists them)" : ": this test has none");
			exit(2);
		}
		size_t used = strlen(px_test_only_list);
		if (used + strlen(arg) + 2 > sizeof(px_test_only_list)) {
			fprintf(stderr, "%s: too many suites named\n", argv[0]);
			exit(2);
		}
		snprintf(px_test_only_list + used, sizeof(px_test_only_list) - used, "%s%s",
			 used ? "," : "", arg);
	}
}

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
