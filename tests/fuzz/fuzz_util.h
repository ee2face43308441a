/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the libFuzzer targets: reading an input as a stream of fields,
 * the kinds of fd a hostile peer may send, counting this process's fds, and
 * CHECK(), which turns a broken invariant into a crash libFuzzer reports.
 */
#ifndef PX_TESTS_FUZZ_UTIL_H
#define PX_TESTS_FUZZ_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pixshare/common.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant: say which, then crash so that libFuzzer keeps the input. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			__builtin_trap();                                                          \
		}                                                                                  \
	} while (0)

static inline void fuzz_log_discard(void *userdata, enum px_log_level level, const char *msg)
{
}

/* The library's complaints about each bad input are the expected outcome:
 * discarded, unless PIXSHARE_LOG asks for them (to study one input). */
static inline void fuzz_quiet_logs(void)
{
	if (!getenv("PIXSHARE_LOG"))
		px_log_set_handler(fuzz_log_discard, NULL, PX_LOG_ERROR);
}

/* The input, read front to back; past its end every field reads as 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline bool fuzz_more(const struct fuzz_in *in)
{
	return in->n > 0;
}

static inline void fuzz_bytes(struct fuzz_in *in, void *out, size_t len)
{
	size_t take = len < in->n ? len : in->n;
	memcpy(out, in->p, take);
	memset((uint8_t *)out + take, 0, len - take);
	in->p += take;
	in->n -= take;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;
	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t v;
	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v;
	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

/*
 * The fds a peer may attach. Each is CLOEXEC and the caller's to close;
 * -1 if the system refused one (the input then simply carries fewer).
 */
enum fuzz_fd_kind {
	FUZZ_FD_DEVNULL,
	FUZZ_FD_PIPE,	      /* the read end */
	FUZZ_FD_DIR_PATH,     /* an O_PATH directory */
	FUZZ_FD_MEMFD,	      /* `size` bytes, no seals */
	FUZZ_FD_MEMFD_SEALED, /* `size` bytes, sealed as the memfd allocator seals */
	FUZZ_FD_SOCKET,
	FUZZ_FD_EVENTFD,
	FUZZ_FD_KINDS,
};

static inline int fuzz_make_fd(enum fuzz_fd_kind kind, uint64_t size)
{
	int fd = -1, p[2];

	switch (kind) {
	case FUZZ_FD_DEVNULL:
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	case FUZZ_FD_PIPE:
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		close(p[1]);
		return p[0];
	case FUZZ_FD_DIR_PATH:
		return open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	case FUZZ_FD_MEMFD:
	case FUZZ_FD_MEMFD_SEALED:
		fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0)
			return -1;
		if (size && ftruncate(fd, (off_t)size) < 0) {
			close(fd);
			return -1;
		}
		if (kind == FUZZ_FD_MEMFD_SEALED)
			fcntl(fd, F_ADD_SEALS,
			      F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL);
		return fd;
	case FUZZ_FD_SOCKET:
		return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	case FUZZ_FD_EVENTFD:
		return eventfd(0, EFD_CLOEXEC);
	case FUZZ_FD_KINDS:
		break;
	}
	return -1;
}

/* Open fds of this process, its own directory fd of /proc/self/fd (opened
 * at the first call and kept, so counted every time) included. getdents64
 * on a kept fd: run for every input, this is much of a target's time. */
static inline int fuzz_count_fds(void)
{
	static int dir_fd = -1;
	char buf[4096];
	int n = 0;
	long len;

	if (dir_fd < 0 && (dir_fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		abort();
	if (lseek(dir_fd, 0, SEEK_SET) < 0)
		abort();
	while ((len = syscall(SYS_getdents64, dir_fd, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < len;) {
			const struct dirent64 *e = (const void *)(buf + at);
			n += e->d_name[0] != '.';
			at += e->d_reclen;
		}
	}
	if (len < 0)
		abort();
	return n;
}

/* Checks that this process has `expect` fds open, else lists them (what
 * leaked is in the list) and crashes. */
#define CHECK_FDS(expect)                                                                          \
	do {                                                                                       \
		if (fuzz_count_fds() != (expect)) {                                                \
			fuzz_print_fds();                                                          \
			CHECK(fuzz_count_fds() == (expect));                                       \
		}                                                                                  \
	} while (0)

static inline void fuzz_print_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300], target[256];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "fd %s: %s\n", e->d_name, target);
	}
	closedir(d);
}

/* Whether `fd` is open and close-on-exec. */
static inline bool fuzz_fd_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);
	return flags >= 0 && (flags & FD_CLOEXEC);
}

/* Sends `len` bytes as one packet with `n_fds` fds in one SCM_RIGHTS message
 * (two where `split_rights`: the kernel joins them) and, where `creds`, an
 * SCM_CREDENTIALS message of this process: no cap applies, as for a hostile
 * peer. Returns sendmsg()'s result. */
static inline ssize_t fuzz_sendmsg(int sock, const void *buf, size_t len, const int *fds, int n_fds,
				   bool split_rights, bool creds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 256) * 2 + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	size_t used = 0;

	memset(&ctrl, 0, sizeof(ctrl));
	int first = split_rights ? n_fds / 2 : n_fds;
	int parts[2] = {first, n_fds - first};
	for (int k = 0, at = 0; k < 2; at += parts[k], k++) {
		if (!parts[k])
			continue;
		struct cmsghdr *c = (struct cmsghdr *)(void *)(ctrl.buf + used);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)parts[k]);
		memcpy(CMSG_DATA(c), fds + at, sizeof(int) * (size_t)parts[k]);
		used += CMSG_SPACE(sizeof(int) * (size_t)parts[k]);
	}
	if (creds) {
		struct cmsghdr *c = (struct cmsghdr *)(void *)(ctrl.buf + used);
		struct ucred uc = {.pid = getpid(), .uid = getuid(), .gid = getgid()};
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(c), &uc, sizeof(uc));
		used += CMSG_SPACE(sizeof(uc));
	}
	if (used) {
		mh.msg_control = ctrl.buf;
		mh.msg_controllen = used;
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

#endif
