/* SPDX-License-Identifier: MIT */
/* Helpers for multi-process tests: a private topic directory, forked children
 * with a deadline. */
#ifndef PX_TESTUTIL_H
#define PX_TESTUTIL_H

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <pixshare/pixshare.h>

#include "px_test.h"

static char px_test_dir_path[64];

static void px_test_dir_cleanup(void)
{
	char cmd[128];
	if (!px_test_dir_path[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", px_test_dir_path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", px_test_dir_path);
}

/* Creates a private topic directory and points PIXSHARE_DIR at it, so that
 * tests running side by side never see each other's topics. */
static inline const char *px_test_dir(void)
{
	if (px_test_dir_path[0])
		return px_test_dir_path;
	snprintf(px_test_dir_path, sizeof(px_test_dir_path), "/tmp/pixshare-test-XXXXXX");
	REQUIRE(mkdtemp(px_test_dir_path));
	setenv("PIXSHARE_DIR", px_test_dir_path, 1);
	atexit(px_test_dir_cleanup);
	return px_test_dir_path;
}

/* Log messages of the library that start with a bare pointer ("0x55…: ",
 * "(nil): ") instead of naming their object (a topic, "vulkan 1 (…)",
 * "transform 2"): counted by px_test_log_check(). */
static unsigned px_test_pointer_logs;

static inline void px_test_log_check(const char *msg)
{
	const char *p = msg;
	bool pointer = !strncmp(p, "(nil):", 6);
	if (p[0] == '0' && p[1] == 'x') {
		p += 2;
		while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
			p++;
		pointer = *p == ':';
	}
	if (!pointer)
		return;
	px_test_pointer_logs++;
	fprintf(stderr, "a log message names a pointer, not its object: %s\n", msg);
}

/* A log handler: the message to stderr (warnings and errors, or all with
 * --verbose), checked by px_test_log_check(). */
static inline void px_test_log(void *userdata, enum px_log_level level, const char *msg)
{
	(void)userdata;
	if (level <= PX_LOG_WARN || px_test_opt("verbose"))
		fprintf(stderr, "pixshare: %s\n", msg);
	px_test_log_check(msg);
}

/* Runs fn(arg) in a child process, which exits with its return value. */
static inline pid_t px_test_fork(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		/* The child must not remove the parent's directory at exit. */
		px_test_dir_path[0] = '\0';
		int ret = fn(arg);
		fflush(NULL);
		exit(ret);
	}
	return pid;
}

/* Waits for a child: its exit code, 128 + signal if killed, or -1 after the
 * timeout (the child is then killed). */
static inline int px_test_wait(pid_t pid, int timeout_ms)
{
	struct timespec ts = {0, 5 * 1000000};
	for (int waited = 0;; waited += 5) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		REQUIRE(r >= 0);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (waited >= timeout_ms) {
			fprintf(stderr, "child %d timed out after %d ms\n", (int)pid, timeout_ms);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
}

/* Serves the publisher until `n` subscribers are connected: at most `tries`
 * dispatches of up to 10 ms each (longer where a subscriber starts slowly,
 * e.g. compiling Vulkan pipelines under valgrind). */
static inline void px_test_wait_subscribers_tries(struct px_publisher *pub, uint32_t n, int tries)
{
	struct px_publisher_stats st;
	for (int t = 0; t < tries; t++) {
		px_publisher_dispatch(pub, 10);
		REQUIRE_OK(px_publisher_get_stats(pub, &st));
		if (st.n_subscribers == n)
			return;
	}
	REQUIRE_EQ(st.n_subscribers, n);
}

/* As px_test_wait_subscribers_tries(), for a subscriber in child process
 * `pid`: fails at once, with the child's status, where it has ended first. */
static inline void px_test_wait_subscriber_of(struct px_publisher *pub, pid_t pid, int tries)
{
	struct px_publisher_stats st;
	for (int t = 0; t < tries; t++) {
		px_publisher_dispatch(pub, 10);
		REQUIRE_OK(px_publisher_get_stats(pub, &st));
		if (st.n_subscribers >= 1)
			return;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr,
				"the subscriber (pid %d) ended before it subscribed: %s %d\n",
				(int)pid, WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			exit(1);
		}
	}
	REQUIRE_EQ(st.n_subscribers, 1);
}

/* Serves the publisher until its first subscriber holds no frame and has
 * none pending, or is gone: at most `tries` dispatches of 10 ms. */
static inline void px_test_serve_until_released(struct px_publisher *pub, int tries)
{
	for (int t = 0; t < tries; t++) {
		px_publisher_dispatch(pub, 10);
		struct px_subscriber_info si;
		if (px_publisher_get_subscriber(pub, 0, &si) || (!si.leases && !si.pending))
			return;
	}
}

/* Serves the publisher until `n` subscribers are connected (10 s at most). */
static inline void px_test_wait_subscribers(struct px_publisher *pub, uint32_t n)
{
	px_test_wait_subscribers_tries(pub, n, 1000);
}

#endif
