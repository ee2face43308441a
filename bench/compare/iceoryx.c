/* SPDX-License-Identifier: MIT */
/*
 * iceoryx 2.0 in bench_compare, on its C binding and its zero-copy API: the
 * publisher loans one chunk per set from RouDi's shared memory, the camera
 * writes into it, and the chunk itself is published; subscribers take the
 * chunk, read it in place and release it.
 *
 * Each run starts its own RouDi (iox-roudi) with a config of one mempool
 * whose chunks hold exactly one set (64-byte aligned user-payload) and whose
 * count covers the worst case of the run, so that a loan fails only where
 * the settings below would have the publisher wait: per subscriber its queue
 * (1) and the chunk it holds, for the publisher its loan and its history (1),
 * and 2 more.
 *
 * The settings are those of iceoryx's own latency benchmark (iceperf's C API
 * leg): publisher historyCapacity 1, subscriber queueCapacity 1 and
 * historyRequest 1; a queue of one drops the oldest set for the newest, the
 * latest-data behaviour (ConsumerTooSlowPolicy and QueueFullPolicy
 * DISCARD_OLDEST_DATA, the defaults). The flat-out reliable runs use
 * iceoryx's blocking mode instead (WAIT_FOR_CONSUMER with BLOCK_PRODUCER;
 * the publisher then busy-waits, yielding, until every queue has room).
 * Subscribers sleep in a WaitSet on their HAS_DATA state.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iceoryx_binding_c/log.h>
#include <iceoryx_binding_c/publisher.h>
/* runtime.h declares iox_runtime_shutdown() without a prototype. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <iceoryx_binding_c/runtime.h>
#pragma GCC diagnostic pop
#include <iceoryx_binding_c/subscriber.h>
#include <iceoryx_binding_c/wait_set.h>

#include "bench/compare/compare.h"

#define ROUDI "iox-roudi"
/* RouDi's lock (iceoryx_hoofs' FileLock "iox-unique-roudi" in /tmp/): held
 * while a RouDi runs, and only one may run on a machine. */
#define ROUDI_LOCK "/tmp/iox-unique-roudi.lock"
#define ROUDI_SOCKET "/tmp/roudi"
#define ROUDI_READY "RouDi is ready for clients"
#define ROUDI_MGMT_SHM "/iceoryx_mgmt"
#define WAIT_MS 10000

/* sizeof(iox::mepoo::ChunkHeader) in 2.0 (chunk_header.hpp): RouDi adds it
 * to the chunk-payload size of a mempool to make its chunk size. */
#define CHUNK_HEADER_SIZE 40u
#define CHUNK_HEADER_ALIGN 8u
#define PAYLOAD_ALIGN 64u
/* A payload aligned past the ChunkHeader's alignment needs, after the header,
 * room for the worst padding (chunk_settings.cpp, calculateRequiredChunkSize):
 * sizeof(ChunkHeader) - alignof(ChunkHeader) + alignment + payload. */
#define PAYLOAD_OVERHEAD (CHUNK_HEADER_SIZE - CHUNK_HEADER_ALIGN + PAYLOAD_ALIGN)

#define HISTORY 1
#define QUEUE 1
#define MARGIN 2

static const char instance[] = "bench_compare", event[] = "set";

/* The runtime of this process, registered at RouDi as `name`; its log
 * quiet but for warnings and errors. */
static void runtime_init(const char *name)
{
	iox_set_loglevel(Iceoryx_LogLevel_Warn);
	iox_runtime_init(name);
}

static bool reliable(const struct cmp_params *p)
{
	return p->reliable && p->rate == 0;
}

/* The mempool's chunk-payload size (what the config names `size`: RouDi adds
 * the ChunkHeader) for one set, a multiple of 8 as RouDi requires. */
static uint64_t mempool_size(const struct cmp_params *p)
{
	uint64_t need = (uint64_t)p->set_bytes + PAYLOAD_OVERHEAD - CHUNK_HEADER_SIZE;
	return (need + 7) & ~(uint64_t)7;
}

static uint32_t mempool_count(const struct cmp_params *p)
{
	return p->n_subs * (QUEUE + 1) + 1 + HISTORY + MARGIN;
}

static int find_roudi(char *path, size_t len)
{
	const char *env = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s:/usr/bin", env ? env : "");
	char *save, *dir = strtok_r(dirs, ":", &save);
	for (; dir; dir = strtok_r(NULL, ":", &save)) {
		if ((size_t)snprintf(path, len, "%s/%s", *dir ? dir : ".", ROUDI) < len &&
		    access(path, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static int available(char *why, size_t len)
{
	char path[4096];
	if (find_roudi(path, sizeof(path))) {
		snprintf(why, len, "%s (iceoryx's daemon) is not in PATH or /usr/bin", ROUDI);
		return -ENOENT;
	}
	return 0;
}

/* Whether a RouDi holds its lock now. */
static bool roudi_running(void)
{
	int fd = open(ROUDI_LOCK, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

static int write_config(const struct cmp_params *p, const char *file)
{
	FILE *f = fopen(file, "we");
	if (!f)
		return -errno;
	fprintf(f,
		"# bench_compare: one mempool, a chunk a set (%zu bytes of payload,\n"
		"# 64-byte aligned), %u subscriber(s) × (queue %u + 1 held) + 1 loan\n"
		"# + history %u + margin %u\n"
		"[general]\nversion = 1\n\n[[segment]]\n\n[[segment.mempool]]\n"
		"size = %llu\ncount = %u\n",
		p->set_bytes, p->n_subs, QUEUE, HISTORY, MARGIN,
		(unsigned long long)mempool_size(p), mempool_count(p));
	return fclose(f) ? -errno : 0;
}

/* Prints the end of RouDi's log to stderr, for its failures. */
static void print_log(const char *file)
{
	char buf[1024];
	FILE *f = fopen(file, "re");
	if (!f)
		return;
	fseek(f, -(long)sizeof(buf) + 1, SEEK_END);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	fprintf(stderr, "iceoryx: %s:\n%s\n", file, buf);
}

static bool log_says_ready(const char *file)
{
	char buf[4096];
	FILE *f = fopen(file, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, ROUDI_READY) != NULL;
}

/* Removes what RouDi leaves where it did not end on its own (killed, or it
 * aborted): its shared memory (the management segment and the payload
 * segment, named after its group) and its socket and locks in /tmp/. */
static void remove_leftovers(void)
{
	char name[256];
	struct group *gr = getgrgid(getegid());
	shm_unlink(ROUDI_MGMT_SHM);
	if (gr && (size_t)snprintf(name, sizeof(name), "/%s", gr->gr_name) < sizeof(name))
		shm_unlink(name);
	unlink(ROUDI_SOCKET);
	unlink(ROUDI_SOCKET ".lock");
	unlink(ROUDI_LOCK);
}

static void daemon_stop(pid_t pid)
{
	int status = 0;
	pid_t ret = -1;
	if (kill(pid, SIGTERM) == 0) {
		for (int ms = 0; ms < WAIT_MS && (ret = waitpid(pid, &status, WNOHANG)) == 0;
		     ms += 5)
			cmp_sleep_ms(5);
		if (ret == 0) {
			fprintf(stderr, "iceoryx: %s did not end in %d s after SIGTERM: killed\n",
				ROUDI, WAIT_MS / 1000);
			kill(pid, SIGKILL);
			while ((ret = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
				;
		}
	}
	if (ret == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (ret == pid && WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		fprintf(stderr, "iceoryx: %s died of signal %d at its shutdown\n", ROUDI,
			WTERMSIG(status));
	else if (ret == pid && WIFEXITED(status))
		fprintf(stderr, "iceoryx: %s exited with status %d\n", ROUDI, WEXITSTATUS(status));
	remove_leftovers();
}

static int daemon_start(const struct cmp_params *p, pid_t *pid_out)
{
	char roudi[4096], config[4096], log[4096];
	if (find_roudi(roudi, sizeof(roudi))) {
		fprintf(stderr, "iceoryx: %s not found\n", ROUDI);
		return -ENOENT;
	}
	if (roudi_running()) {
		fprintf(stderr,
			"iceoryx: a RouDi is already running (%s is locked); only one can run "
			"on a machine: stop it first\n",
			ROUDI_LOCK);
		return -EBUSY;
	}
	if (mempool_size(p) + CHUNK_HEADER_SIZE > UINT32_MAX) {
		fprintf(stderr,
			"iceoryx: a set of %zu bytes is over iceoryx's chunk limit (4 GiB)\n",
			p->set_bytes);
		return -EFBIG;
	}
	snprintf(config, sizeof(config), "%s/roudi.toml", p->dir);
	snprintf(log, sizeof(log), "%s/roudi.log", p->dir);
	int ret = write_config(p, config);
	if (ret) {
		fprintf(stderr, "iceoryx: %s: %s\n", config, strerror(-ret));
		return ret;
	}
	int log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (log_fd < 0 || null_fd < 0) {
		ret = -errno;
		fprintf(stderr, "iceoryx: %s: %s\n", log_fd < 0 ? log : "/dev/null",
			strerror(errno));
		if (log_fd >= 0)
			close(log_fd);
		return ret;
	}

	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		/* RouDi ends (and removes its shared memory) with this process. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		dup2(null_fd, STDIN_FILENO);
		dup2(log_fd, STDOUT_FILENO);
		dup2(log_fd, STDERR_FILENO);
		char *const argv[] = {roudi, "-c", config, "-l", "warning", NULL};
		execv(roudi, argv);
		fprintf(stderr, "exec %s: %s\n", roudi, strerror(errno));
		_exit(127);
	}
	ret = pid < 0 ? -errno : 0;
	close(log_fd);
	close(null_fd);
	if (ret) {
		fprintf(stderr, "iceoryx: fork: %s\n", strerror(-ret));
		return ret;
	}

	/* Ready once it says so: it prints the line after its shared memory
	 * and its socket are set up. */
	for (int ms = 0; ms < WAIT_MS; ms += 5) {
		if (log_says_ready(log)) {
			*pid_out = pid;
			return 0;
		}
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "iceoryx: %s exited (status 0x%x) before it was ready\n",
				ROUDI, status);
			print_log(log);
			return -ECHILD;
		}
		cmp_sleep_ms(5);
	}
	fprintf(stderr, "iceoryx: %s not ready in %d s\n", ROUDI, WAIT_MS / 1000);
	print_log(log);
	daemon_stop(pid);
	return -ETIMEDOUT;
}

static const char *allocation_result(enum iox_AllocationResult r)
{
	switch (r) {
	case AllocationResult_NO_MEMPOOLS_AVAILABLE:
		return "no mempools available";
	case AllocationResult_RUNNING_OUT_OF_CHUNKS:
		return "running out of chunks";
	case AllocationResult_TOO_MANY_CHUNKS_ALLOCATED_IN_PARALLEL:
		return "too many chunks allocated in parallel";
	case AllocationResult_INVALID_CHUNK:
		return "invalid chunk";
	case AllocationResult_INVALID_PARAMETER_FOR_USER_PAYLOAD_OR_USER_HEADER:
		return "invalid parameter for user-payload or user-header";
	case AllocationResult_INVALID_PARAMETER_FOR_CHUNK:
		return "invalid parameter for chunk";
	case AllocationResult_INVALID_PARAMETER_FOR_REQUEST_HEADER:
		return "invalid parameter for request header";
	case AllocationResult_SUCCESS:
		return "success";
	case AllocationResult_UNDEFINED_ERROR:
		break;
	}
	return "undefined error";
}

static int publisher(struct cmp_ctx *c)
{
	const struct cmp_params *p = c->p;
	char name[128];
	snprintf(name, sizeof(name), "%s-pub", p->name);
	runtime_init(name);

	iox_pub_options_t options;
	iox_pub_options_init(&options);
	options.historyCapacity = HISTORY;
	options.subscriberTooSlowPolicy = reliable(p) ? ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER
						      : ConsumerTooSlowPolicy_DISCARD_OLDEST_DATA;
	iox_pub_storage_t storage;
	iox_pub_t pub = iox_pub_init(&storage, p->name, instance, event, &options);
	snprintf(c->sh->pub.detail, sizeof(c->sh->pub.detail),
		 "mempool: %u chunks of %llu + %u bytes; %s", mempool_count(p),
		 (unsigned long long)mempool_size(p), CHUNK_HEADER_SIZE,
		 reliable(p) ? "WAIT_FOR_CONSUMER/BLOCK_PRODUCER" : "DISCARD_OLDEST_DATA");

	if (cmp_pub_wait_subscribers(c, 0))
		goto err;
	uint64_t deadline = cmp_now_ns() + WAIT_MS * CMP_NS_PER_MS;
	while (!iox_pub_has_subscribers(pub)) {
		if (cmp_now_ns() > deadline) {
			cmp_fail(c, "no subscriber connected to %s in %d s", p->name,
				 WAIT_MS / 1000);
			goto err;
		}
		cmp_sleep_ms(1);
	}

	cmp_pub_begin(c);
	while (cmp_pub_next(c)) {
		void *chunk;
		enum iox_AllocationResult r =
		    iox_pub_loan_aligned_chunk(pub, &chunk, (uint32_t)p->set_bytes, PAYLOAD_ALIGN);
		if (r == AllocationResult_RUNNING_OUT_OF_CHUNKS) {
			cmp_pub_missed(c);
			continue;
		}
		if (r != AllocationResult_SUCCESS) {
			cmp_fail(c, "iox_pub_loan_aligned_chunk of %zu bytes: %s", p->set_bytes,
				 allocation_result(r));
			goto err;
		}
		uint8_t *images[CMP_MAX_IMAGES];
		for (uint32_t i = 0; i < p->n_images; i++)
			images[i] = (uint8_t *)chunk + i * p->image_bytes;
		cmp_camera_write(c, images, p->n_images);
		iox_pub_publish_chunk(pub, chunk);
		cmp_pub_sent(c);
	}
	cmp_pub_end(c);
	/* Stays offered until the subscribers have seen the last set and left. */
	deadline = cmp_now_ns() + 5 * CMP_NS_PER_S;
	while (iox_pub_has_subscribers(pub) && cmp_now_ns() < deadline)
		cmp_sleep_ms(10);
	iox_pub_deinit(pub);
	return 0;
err:
	iox_pub_deinit(pub);
	return -1;
}

static const char *subscribe_state(enum iox_SubscribeState s)
{
	switch (s) {
	case SubscribeState_NOT_SUBSCRIBED:
		return "not subscribed";
	case SubscribeState_SUBSCRIBE_REQUESTED:
		return "subscribe requested";
	case SubscribeState_SUBSCRIBED:
		return "subscribed";
	case SubscribeState_UNSUBSCRIBE_REQUESTED:
		return "unsubscribe requested";
	case SubscribeState_WAIT_FOR_OFFER:
		return "waiting for an offer";
	case SubscribeState_UNDEFINED_ERROR:
		break;
	}
	return "undefined error";
}

static const char *receive_result(enum iox_ChunkReceiveResult r)
{
	switch (r) {
	case ChunkReceiveResult_TOO_MANY_CHUNKS_HELD_IN_PARALLEL:
		return "too many chunks held in parallel";
	case ChunkReceiveResult_NO_CHUNK_AVAILABLE:
		return "no chunk available";
	case ChunkReceiveResult_SUCCESS:
		return "success";
	case ChunkReceiveResult_UNDEFINED_ERROR:
		break;
	}
	return "undefined error";
}

/* Reads every set in the queue; -1 after cmp_fail(). */
static int take_sets(struct cmp_ctx *c, iox_sub_t sub)
{
	const struct cmp_params *p = c->p;
	for (;;) {
		const void *chunk;
		enum iox_ChunkReceiveResult r = iox_sub_take_chunk(sub, &chunk);
		if (r == ChunkReceiveResult_NO_CHUNK_AVAILABLE)
			return 0;
		if (r != ChunkReceiveResult_SUCCESS)
			return cmp_fail(c, "iox_sub_take_chunk: %s", receive_result(r));
		const uint8_t *images[CMP_MAX_IMAGES];
		for (uint32_t i = 0; i < p->n_images; i++)
			images[i] = (const uint8_t *)chunk + i * p->image_bytes;
		cmp_sub_set(c, images, p->n_images);
		iox_sub_release_chunk(sub, chunk);
	}
}

static int subscriber(struct cmp_ctx *c)
{
	const struct cmp_params *p = c->p;
	char name[128];
	snprintf(name, sizeof(name), "%s-sub%u", p->name, c->index);
	runtime_init(name);

	iox_sub_options_t options;
	iox_sub_options_init(&options);
	options.queueCapacity = QUEUE;
	options.historyRequest = HISTORY;
	options.queueFullPolicy =
	    reliable(p) ? QueueFullPolicy_BLOCK_PRODUCER : QueueFullPolicy_DISCARD_OLDEST_DATA;
	iox_sub_storage_t sub_storage;
	iox_sub_t sub = iox_sub_init(&sub_storage, p->name, instance, event, &options);
	iox_ws_storage_t ws_storage;
	iox_ws_t ws = iox_ws_init(&ws_storage);
	int ret = -1;

	enum iox_WaitSetResult wr =
	    iox_ws_attach_subscriber_state(ws, sub, SubscriberState_HAS_DATA, 0, NULL);
	if (wr != WaitSetResult_SUCCESS) {
		cmp_fail(c, "iox_ws_attach_subscriber_state: %s",
			 wr == WaitSetResult_WAIT_SET_FULL	? "the WaitSet is full"
			 : wr == WaitSetResult_ALREADY_ATTACHED ? "already attached"
								: "undefined error");
		goto out;
	}
	uint64_t deadline = cmp_now_ns() + WAIT_MS * CMP_NS_PER_MS;
	enum iox_SubscribeState state;
	while ((state = iox_sub_get_subscription_state(sub)) != SubscribeState_SUBSCRIBED) {
		if (cmp_now_ns() > deadline) {
			cmp_fail(c, "not subscribed to %s after %d s: %s", p->name, WAIT_MS / 1000,
				 subscribe_state(state));
			goto out;
		}
		cmp_sleep_ms(1);
	}
	cmp_sub_ready(c);

	const struct timespec timeout = {.tv_nsec = CMP_POLL_MS * 1000000L};
	while (!cmp_sub_done(c)) {
		iox_notification_info_t info[1];
		uint64_t missed;
		iox_ws_timed_wait(ws, timeout, info, 1, &missed);
		if (take_sets(c, sub))
			goto out;
	}
	ret = 0;
out:
	iox_ws_deinit(ws);
	iox_sub_deinit(sub);
	return ret;
}

const struct cmp_transport cmp_iceoryx = {
    .name = "iceoryx",
    .settings = "C binding, loan/publish of one 64-byte aligned chunk a set from a RouDi "
		"mempool of 2 × subs + 4 chunks; history 1, queue 1 (as iceoryx's iceperf), "
		"DISCARD_OLDEST_DATA (reliable runs: WAIT_FOR_CONSUMER/BLOCK_PRODUCER); "
		"subscribers wait in a WaitSet on HAS_DATA",
    .multi = true,
    .available = available,
    .daemon_start = daemon_start,
    .daemon_stop = daemon_stop,
    .publisher = publisher,
    .subscriber = subscriber,
};
