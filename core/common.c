/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

static void log_stderr(void *userdata, enum px_log_level level, const char *msg)
{
	static const char *const names[] = {"", "error", "warning", "info", "debug"};
	(void)userdata;
	fprintf(stderr, "pixshare %s: %s\n", names[level], msg);
}

static px_log_fn log_fn = log_stderr;
static void *log_userdata;
static enum px_log_level log_level;
static int log_level_set;

static enum px_log_level level_from_env(void)
{
	const char *e = getenv("PIXSHARE_LOG");
	if (!e)
		return PX_LOG_WARN;
	if (!strcasecmp(e, "error"))
		return PX_LOG_ERROR;
	if (!strcasecmp(e, "info"))
		return PX_LOG_INFO;
	if (!strcasecmp(e, "debug"))
		return PX_LOG_DEBUG;
	return PX_LOG_WARN;
}

PX_API void px_log_set_handler(px_log_fn fn, void *userdata, enum px_log_level level)
{
	log_fn = fn ? fn : log_stderr;
	log_userdata = userdata;
	if (level < PX_LOG_ERROR)
		level = PX_LOG_ERROR;
	if (level > PX_LOG_DEBUG)
		level = PX_LOG_DEBUG;
	log_level = level;
	log_level_set = 1;
}

PX_API enum px_log_level px_log_get_level(void)
{
	if (!log_level_set) {
		log_level = level_from_env();
		log_level_set = 1;
	}
	return log_level;
}

void px_log(enum px_log_level level, const char *fmt, ...)
{
	if (level > px_log_get_level())
		return;
	int saved = errno;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(log_userdata, level, msg);
	errno = saved;
}

PX_API const char *px_version(void)
{
#define STR2(x) #x
#define STR(x) STR2(x)
	return STR(PX_VERSION_MAJOR) "." STR(PX_VERSION_MINOR) "." STR(PX_VERSION_MICRO);
}

PX_API const char *px_strerror(int err)
{
	static _Thread_local char buf[128];
	if (err < 0)
		err = -err;
	if (err == 0)
		return "success";
	/* strerror_r (GNU) may return a static string or fill buf. */
	const char *s = strerror_r(err, buf, sizeof(buf));
	return s;
}

PX_API uint64_t px_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void px_close(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
		*fd = -1;
	}
}

static char program_name[32];

static void read_program_name(void)
{
	char *name = program_name;
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, name, sizeof(program_name) - 1);
		close(fd);
		if (n > 0) {
			name[n] = '\0';
			char *nl = strchr(name, '\n');
			if (nl)
				*nl = '\0';
		}
	}
	if (!name[0])
		px_strlcpy(name, "unknown", sizeof(program_name));
}

/* Read once: publishers and subscribers are made from several threads at
 * once (different ones are independent), and none may see the name half
 * written. */
const char *px_program_name(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, read_program_name);
	return program_name;
}

size_t px_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);
	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

int px_abi_in(void *ours, size_t ours_size, const void *theirs, size_t size, size_t min,
	      const char *what)
{
	memset(ours, 0, ours_size);
	if (!theirs)
		return -EINVAL;
	if (size < min) {
		px_log_error("%s: %zu bytes, fewer than its first version's %zu: not a struct "
			     "this library knows",
			     what, size, min);
		return -EINVAL;
	}
	const unsigned char *extra = theirs;
	for (size_t i = ours_size; i < size; i++) {
		if (extra[i]) {
			px_log_error("%s: %zu bytes from a newer pixshare, with byte %zu set: "
				     "this library (%s, %zu bytes) does not have that option",
				     what, size, i, px_version(), ours_size);
			return -E2BIG;
		}
	}
	memcpy(ours, theirs, PX_MIN(size, ours_size));
	return 0;
}

int px_abi_out(void *theirs, size_t size, size_t min, const void *ours, size_t ours_size,
	       const char *what)
{
	if (!theirs)
		return -EINVAL;
	if (size < min) {
		px_log_error("%s: %zu bytes, fewer than its first version's %zu: not a struct "
			     "this library knows",
			     what, size, min);
		return -EINVAL;
	}
	memcpy(theirs, ours, PX_MIN(size, ours_size));
	if (size > ours_size)
		memset((unsigned char *)theirs + ours_size, 0, size - ours_size);
	return 0;
}
