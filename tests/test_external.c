/* SPDX-License-Identifier: MIT */
/*
 * External pools: buffers the application made, published as they are.
 * Sealed memfds made here go to a subscriber in another process, which checks
 * every byte against what was written into that slot's own memfds; every rule
 * px_publisher_create() enforces is broken once and must be refused with
 * -EINVAL and one error line naming the reason; no fd is leaked. Where a DRM
 * card exists (the vm tier), the same with dumb-buffer dma-bufs.
 *
 * Pools without CPU mappings: memfds marked unmapped with a Vulkan
 * description (as a GPU's opaque fds would be), and dma-bufs marked so; the
 * publisher maps none of them, its subscriber is told so and maps none,
 * and checks every byte through mappings of its own. Unmapped fds that are
 * no dma-bufs and have no description are refused. A subscriber in which
 * every mmap of a dma-buf fails (a seccomp filter: an exporter without mmap)
 * still connects and receives every frame, without CPU views.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kcmp.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <pixshare/pixshare.h>

#include "px_testutil.h"

#ifdef PX_TEST_DRM
#include <drm_mode.h>
#include <glob.h>
#include <xf86drm.h>
#endif

#define SLOTS 4
#define FRAMES 40

static struct px_set_layout layout;

/* Two images in two buffers, at odd sizes. */
static void make_layout(void)
{
	struct px_image_desc d[] = {{PX_FORMAT_XRGB8888, 65, 9}, {PX_FORMAT_NV12, 99, 61}};
	REQUIRE_OK(px_layout_init_packed(&layout, PX_ARRAY_LEN(d), d, 64, PX_PACK_PER_IMAGE));
	REQUIRE_EQ(layout.n_buffers, 2);
}

static uint8_t pattern(uint64_t seq, uint32_t slot, uint32_t b, uint64_t k)
{
	return (uint8_t)(seq * 13 + slot * 5 + b * 3 + k * 7 + (k >> 8));
}

/* Error lines logged since the last reset, and the last one. */
static int n_errors;
static char last_error[512];

static void log_handler(void *userdata, enum px_log_level level, const char *msg)
{
	if (level != PX_LOG_ERROR)
		return;
	n_errors++;
	snprintf(last_error, sizeof(last_error), "%s", msg);
}

static int make_memfd(uint64_t size, unsigned int seals)
{
	int fd = memfd_create("test-external", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, (off_t)size) == 0);
	if (seals)
		REQUIRE(fcntl(fd, F_ADD_SEALS, seals) == 0);
	return fd;
}

struct pool {
	int fds[SLOTS * 2];
	void *maps[SLOTS * 2]; /* the test's own mappings, or NULL */
	bool dmabuf;
	uint64_t device;
	bool unmapped;			       /* px_external_pool.unmapped */
	const struct px_vulkan_export *vulkan; /* px_external_pool.vulkan */
	bool subscriber_cannot_map;	       /* the subscriber's mmap of dma-bufs fails */
};

/* Makes every read-only shared mmap of this process fail with EINVAL, as
 * the kernel answers for a dma-buf whose exporter has no mmap: the
 * subscriber maps its buffers so, and nothing else here does. */
static void forbid_shared_readonly_mmap(void)
{
	struct sock_filter filter[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_READ, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MAP_SHARED, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
	};
	struct sock_fprog prog = {.len = PX_ARRAY_LEN(filter), .filter = filter};
	REQUIRE(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	REQUIRE(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0);
	int fd = make_memfd(4096, 0);
	void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	REQUIRE(p == MAP_FAILED && errno == EINVAL);
	close(fd);
}

static void make_memfd_pool(struct pool *p)
{
	memset(p, 0, sizeof(*p));
	for (uint32_t i = 0; i < SLOTS * layout.n_buffers; i++) {
		uint64_t size = layout.buffer_sizes[i % layout.n_buffers];
		p->fds[i] = make_memfd(size, F_SEAL_SHRINK | F_SEAL_GROW);
		p->maps[i] = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fds[i], 0);
		REQUIRE(p->maps[i] != MAP_FAILED);
	}
}

static void close_pool(struct pool *p)
{
	for (uint32_t i = 0; i < SLOTS * layout.n_buffers; i++) {
		if (p->maps[i])
			munmap(p->maps[i], layout.buffer_sizes[i % layout.n_buffers]);
		p->maps[i] = NULL;
		if (p->fds[i] >= 0)
			close(p->fds[i]);
		p->fds[i] = -1;
	}
}

static int create(const struct px_external_pool *ext, enum px_allocator_type alloc,
		  uint32_t pool_size, const char *device, struct px_publisher **pub)
{
	struct px_publisher_params pp = {
		.topic = "external", .layout = &layout, .allocator = alloc,
		.pool_size = pool_size, .device = device, .max_subscribers = 1,
		.max_leases = 1, .external = ext,
	};
	*pub = NULL;
	n_errors = 0;
	last_error[0] = '\0';
	return px_publisher_create(&pp, pub);
}

/* Expects px_publisher_create() to refuse with -EINVAL, one error line that
 * contains `words`, and nothing left open. */
static void refused(const char *what, const struct px_external_pool *ext,
		    enum px_allocator_type alloc, uint32_t pool_size, const char *device,
		    const char *words)
{
	int fds = px_test_count_fds();
	struct px_publisher *pub;
	int ret = create(ext, alloc, pool_size, device, &pub);
	if (ret != -EINVAL || pub || n_errors != 1 || !strstr(last_error, words)) {
		fprintf(stderr, "%s: returned %d with %d error lines, last \"%s\"; expected "
				"-EINVAL and one line with \"%s\"\n",
			what, ret, n_errors, last_error, words);
		exit(1);
	}
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("refused %s: %s\n", what, last_error);
}

static int subscriber(void *arg)
{
	const struct pool *p = arg;
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {
		.topic = "external", .qos = PX_QOS_RELIABLE, .max_leases = 1,
		.connect_timeout_ms = 5000, .name = "checker", .flags = PX_SUBSCRIBER_NO_RECONNECT,
	};
	if (p->subscriber_cannot_map)
		forbid_shared_readonly_mmap();
	bool unmapped = p->unmapped || p->subscriber_cannot_map;
	int fds = px_test_count_fds();
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	REQUIRE(px_layout_equal(px_subscriber_get_layout(sub), &layout));
	struct px_topic_info info;
	REQUIRE_OK(px_subscriber_get_topic_info(sub, &info));
	REQUIRE_EQ(info.allocator, PX_ALLOCATOR_EXTERNAL);
	REQUIRE_EQ(info.dmabuf, p->dmabuf);
	REQUIRE_EQ(info.device, p->device);
	REQUIRE_EQ(info.pool_size, SLOTS);
	REQUIRE_EQ(info.unmapped, unmapped);
	REQUIRE_EQ(info.vulkan_export, p->vulkan != NULL);

	uint64_t frames = 0;
	uint32_t seen = 0;
	for (;;) {
		struct px_frame *f;
		int ret = px_subscriber_receive(sub, &f, 5000);
		if (ret == -EPIPE)
			break;
		REQUIRE_OK(ret);
		REQUIRE_EQ(f->dmabuf, p->dmabuf);
		REQUIRE_EQ(f->device, p->device);
		REQUIRE(f->slot < SLOTS);
		REQUIRE_EQ(f->n_buffers, layout.n_buffers);
		REQUIRE_EQ(f->vulkan != NULL, p->vulkan != NULL);
		for (uint32_t b = 0; b < f->n_buffers; b++) {
			const uint8_t *data = f->buffers[b].data;
			uint64_t size = layout.buffer_sizes[b];
			void *own = NULL;
			/* No CPU view from the library: a mapping of our own (read-
			 * write, which the seccomp filter lets through) proves that
			 * the fd is the right buffer. */
			if (unmapped) {
				REQUIRE(!data);
				REQUIRE(!px_frame_plane(f, b, 0));
				own = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
					   f->buffers[b].fd, 0);
				REQUIRE(own != MAP_FAILED);
				data = own;
			}
			REQUIRE(data);
			for (uint64_t k = 0; k < layout.buffer_sizes[b]; k++) {
				if (data[k] != pattern(f->seq, f->slot, b, k)) {
					fprintf(stderr, "frame %llu slot %u buffer %u byte %llu: "
							"%u, expected %u\n",
						(unsigned long long)f->seq, f->slot, b,
						(unsigned long long)k, data[k],
						pattern(f->seq, f->slot, b, k));
					return 1;
				}
			}
			if (own)
				munmap(own, size);
		}
		seen |= 1u << f->slot;
		frames++;
		px_frame_release(f);
	}
	REQUIRE_EQ(frames, FRAMES);
	REQUIRE_EQ(seen, (1u << SLOTS) - 1);
	px_subscriber_destroy(sub);
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}

/*
 * Publishes the pool to a subscriber in another process. The test closes its
 * own fds right after create; frames are written through the test's own
 * mappings (p->maps, where there are some), so that the subscriber's check
 * also proves that fds[s * n_buffers + b] became buffer b of slot s.
 */
static void publish(struct pool *p)
{
	struct px_external_pool ext = {.n_slots = SLOTS,
				       .fds = p->fds,
				       .device = p->device,
				       .vulkan = p->vulkan,
				       .unmapped = p->unmapped};
	struct px_publisher *pub;
	REQUIRE_OK(create(&ext, PX_ALLOCATOR_AUTO, 0, NULL, &pub));
	REQUIRE_EQ(px_publisher_is_mapped(pub), !p->unmapped);
	REQUIRE_EQ(n_errors, 0);
	for (uint32_t i = 0; i < SLOTS * layout.n_buffers; i++) {
		REQUIRE(close(p->fds[i]) == 0);
		p->fds[i] = -1;
	}
	REQUIRE_EQ(px_publisher_get_allocator(pub), PX_ALLOCATOR_EXTERNAL);
	REQUIRE_EQ(px_publisher_is_dmabuf(pub), p->dmabuf);
	REQUIRE_EQ(px_publisher_get_device(pub), p->device);
	REQUIRE_EQ(px_publisher_get_device(NULL), 0);
	REQUIRE_EQ(px_publisher_get_pool_size(pub), SLOTS);
	REQUIRE(px_layout_equal(px_publisher_get_layout(pub), &layout));

	pid_t pid = px_test_fork(subscriber, p);
	px_test_wait_subscribers(pub, 1);

	/* The first SLOTS frames go out in every slot (all acquired before
	 * the first is published), whatever the subscriber's pace: the
	 * publisher reuses the lowest free slot, and a quick subscriber could
	 * otherwise leave one never used. */
	struct px_slot *first[SLOTS];
	for (uint32_t i = 0; i < SLOTS; i++)
		REQUIRE_OK(px_publisher_acquire(pub, 5000, &first[i]));
	for (uint64_t n = 1; n <= FRAMES; n++) {
		struct px_slot *slot;
		if (n <= SLOTS)
			slot = first[n - 1];
		else
			REQUIRE_OK(px_publisher_acquire(pub, 5000, &slot));
		REQUIRE(slot->index < SLOTS);
		REQUIRE_EQ(slot->n_buffers, layout.n_buffers);
		for (uint32_t b = 0; b < slot->n_buffers; b++) {
			uint8_t *mine = p->maps[slot->index * layout.n_buffers + b];
			uint8_t *theirs = slot->buffers[b].data;
			REQUIRE_EQ(slot->buffers[b].size, layout.buffer_sizes[b]);
			REQUIRE(slot->buffers[b].fd >= 0);
			if (p->unmapped) {
				REQUIRE(!theirs && mine);
				REQUIRE(!px_slot_plane(slot, b, 0));
			}
			REQUIRE(theirs || mine);
			for (uint64_t k = 0; k < layout.buffer_sizes[b]; k++)
				(mine ? mine : theirs)[k] = pattern(n, slot->index, b, k);
			/* The publisher's mapping is of the same buffer. */
			if (theirs)
				REQUIRE_EQ(theirs[layout.buffer_sizes[b] - 1],
					   pattern(n, slot->index, b, layout.buffer_sizes[b] - 1));
		}
		REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
	}
	for (int t = 0; t < 500; t++) {
		px_publisher_dispatch(pub, 10);
		struct px_subscriber_info si;
		if (px_publisher_get_subscriber(pub, 0, &si) || (!si.pending && !si.leases))
			break;
	}
	struct px_publisher_stats st;
	REQUIRE_OK(px_publisher_get_stats(pub, &st));
	REQUIRE_EQ(st.published, FRAMES);
	REQUIRE_EQ(st.protocol_errors, 0);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_wait(pid, 30000), 0);
}

static void test_names(void)
{
	enum px_allocator_type t, list[16];
	REQUIRE(!strcmp(px_allocator_name(PX_ALLOCATOR_EXTERNAL), "external"));
	REQUIRE_OK(px_allocator_from_name("external", &t));
	REQUIRE_EQ(t, PX_ALLOCATOR_EXTERNAL);
	REQUIRE(!px_allocator_is_dmabuf(PX_ALLOCATOR_EXTERNAL));
	size_t n = px_allocator_list(list, PX_ARRAY_LEN(list));
	REQUIRE(n <= PX_ARRAY_LEN(list));
	for (size_t i = 0; i < n; i++)
		REQUIRE(list[i] != PX_ALLOCATOR_EXTERNAL);
	REQUIRE(!px_publisher_is_dmabuf(NULL));
}

static void test_memfd_pool(void)
{
	struct pool p;
	make_memfd_pool(&p);
	publish(&p);
	close_pool(&p);
}

/* The holder of test_acquire_index(): takes frame 1, says so on `told`,
 * releases it when `tell` says so, says that too, and leaves at the end. */
struct holder {
	int told, tell;
};

static int holder(void *arg)
{
	const struct holder *h = arg;
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {
	    .topic = "external",
	    .qos = PX_QOS_LATEST,
	    .max_leases = 1,
	    .connect_timeout_ms = 5000,
	    .name = "holder",
	    .flags = PX_SUBSCRIBER_NO_RECONNECT,
	};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	struct px_frame *f;
	REQUIRE_OK(px_subscriber_receive(sub, &f, 5000));
	REQUIRE_EQ(f->seq, 1);
	REQUIRE_EQ(f->slot, 2);
	char c = 'h';
	REQUIRE(write(h->told, &c, 1) == 1);
	REQUIRE(read(h->tell, &c, 1) == 1);
	px_frame_release(f);
	REQUIRE_OK(px_subscriber_dispatch(sub, 0));
	REQUIRE(write(h->told, &c, 1) == 1);
	REQUIRE(read(h->tell, &c, 1) == 1);
	px_subscriber_destroy(sub);
	return 0;
}

/*
 * px_publisher_acquire_index(): the slot the application names, or why not:
 * -EINVAL beyond the pool, -EALREADY while the application holds it, -EBUSY
 * while it is the newest frame or a subscriber holds it; free again once
 * neither is true.
 */
static void test_acquire_index(void)
{
	struct pool p;
	make_memfd_pool(&p);
	struct px_external_pool ext = {.n_slots = SLOTS, .fds = p.fds};
	struct px_publisher *pub;
	REQUIRE_OK(create(&ext, PX_ALLOCATOR_AUTO, 0, NULL, &pub));
	struct px_slot *slot, *other;
	REQUIRE_EQ(px_publisher_acquire_index(pub, SLOTS, &slot), -EINVAL);
	REQUIRE(!slot);
	slot = (struct px_slot *)&layout;
	REQUIRE_EQ(px_publisher_acquire_index(NULL, 0, &slot), -EINVAL);
	REQUIRE(!slot);
	REQUIRE_OK(px_publisher_acquire_index(pub, 2, &slot));
	REQUIRE_EQ(slot->index, 2);
	REQUIRE_EQ(px_publisher_acquire_index(pub, 2, &other), -EALREADY);
	/* Slot 2 is the application's: px_publisher_acquire() gives another. */
	REQUIRE_OK(px_publisher_acquire(pub, 0, &other));
	REQUIRE(other->index != 2);
	px_publisher_cancel(pub, other);

	int told[2], tell[2];
	REQUIRE(pipe2(told, O_CLOEXEC) == 0 && pipe2(tell, O_CLOEXEC) == 0);
	struct holder h = {.told = told[1], .tell = tell[0]};
	pid_t pid = px_test_fork(holder, &h);
	px_test_wait_subscribers(pub, 1);
	REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
	/* The newest frame: kept for subscribers that join. */
	REQUIRE_EQ(px_publisher_acquire_index(pub, 2, &slot), -EBUSY);
	char c;
	REQUIRE(read(told[0], &c, 1) == 1);
	REQUIRE_OK(px_publisher_acquire_index(pub, 0, &slot));
	REQUIRE_OK(px_publisher_publish(pub, slot, NULL));
	/* No longer the newest, but the subscriber holds it. */
	px_publisher_dispatch(pub, 0);
	REQUIRE_EQ(px_publisher_acquire_index(pub, 2, &slot), -EBUSY);
	REQUIRE(write(tell[1], &c, 1) == 1);
	REQUIRE(read(told[0], &c, 1) == 1);
	int ret = -EBUSY;
	for (int t = 0; t < 500 && ret == -EBUSY; t++) {
		px_publisher_dispatch(pub, 10);
		ret = px_publisher_acquire_index(pub, 2, &slot);
	}
	REQUIRE_OK(ret);
	REQUIRE_EQ(slot->index, 2);
	px_publisher_cancel(pub, slot);
	REQUIRE(write(tell[1], &c, 1) == 1);
	REQUIRE_EQ(px_test_wait(pid, 30000), 0);
	px_publisher_destroy(pub);
	for (int i = 0; i < 2; i++) {
		close(told[i]);
		close(tell[i]);
	}
	close_pool(&p);
	printf("acquire_index: -EINVAL, -EALREADY, -EBUSY (newest frame, then a lease), free "
	       "after the release\n");
}

/* A description of memfds as a Vulkan export: the core checks only that it
 * fits the layout. */
static struct px_vulkan_export fake_export(void)
{
	struct px_vulkan_export v = {.memory_type = 1, .buffer_usage = 0x20 /* storage */};
	memset(v.device_uuid, 0xd7, sizeof(v.device_uuid));
	memset(v.driver_uuid, 0x3c, sizeof(v.driver_uuid));
	for (uint32_t b = 0; b < layout.n_buffers; b++)
		v.allocation_size[b] = v.buffer_size[b] = layout.buffer_sizes[b];
	return v;
}

/* Device memory's stand-in: memfds the publisher is told not to map. */
static void test_unmapped_pool(void)
{
	struct pool p;
	make_memfd_pool(&p);
	struct px_external_pool ext = {.n_slots = SLOTS, .fds = p.fds, .unmapped = true};
	refused("unmapped memfds without a Vulkan description", &ext, PX_ALLOCATOR_AUTO, 0, NULL,
		"need their Vulkan description");
	struct px_vulkan_export v = fake_export();
	ext.vulkan = &v;
	/* What the publisher cannot tell apart, it takes unmapped: a pipe. */
	const uint32_t bad = 1;
	int saved = p.fds[bad], pipefd[2];
	REQUIRE(pipe2(pipefd, O_CLOEXEC) == 0);
	p.fds[bad] = pipefd[0];
	struct px_publisher *pub;
	REQUIRE_OK(create(&ext, PX_ALLOCATOR_AUTO, 0, NULL, &pub));
	REQUIRE(!px_publisher_is_mapped(pub));
	px_publisher_destroy(pub);
	close(pipefd[0]);
	close(pipefd[1]);
	p.fds[bad] = saved;

	p.unmapped = true;
	p.vulkan = &v;
	publish(&p);
	close_pool(&p);
	printf("unmapped memfds (a Vulkan export's stand-in): nothing mapped on either side, "
	       "every byte right\n");
}

/*
 * Opaque fds as NVIDIA's driver exports them: each an open file description
 * of /dev/nvidiactl, so that every buffer has the same inode. Here each fd
 * is an open of /dev/null of its own: separate buffers, taken unmapped with
 * their Vulkan description; a dup of one, or the same fd twice, is refused.
 */
/* Whether kcmp(2) compares files here (a seccomp filter or a kernel without
 * CONFIG_KCMP can refuse it; pixshare then compares fd numbers alone). */
static bool kcmp_works(void)
{
	int a = open("/dev/null", O_RDONLY | O_CLOEXEC), b = fcntl(a, F_DUPFD_CLOEXEC, 0);
	pid_t pid = getpid();
	bool works = a >= 0 && b >= 0 && syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b) == 0;
	close(a);
	close(b);
	return works;
}

static void test_opaque_fds_one_inode(void)
{
	const uint32_t n = SLOTS * layout.n_buffers;
	int fds[SLOTS * 2];
	for (uint32_t i = 0; i < n; i++)
		REQUIRE((fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0);
	struct stat a, b;
	REQUIRE(fstat(fds[0], &a) == 0 && fstat(fds[1], &b) == 0);
	REQUIRE(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	struct px_vulkan_export v = fake_export();
	struct px_external_pool ext = {
	    .n_slots = SLOTS, .fds = fds, .unmapped = true, .vulkan = &v};
	int before = px_test_count_fds();
	struct px_publisher *pub;
	REQUIRE_OK(create(&ext, PX_ALLOCATOR_AUTO, 0, NULL, &pub));
	REQUIRE(!px_publisher_is_mapped(pub));
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_count_fds(), before);

	const uint32_t bad = n - 1;
	int saved = fds[bad];
	fds[bad] = fds[1];
	refused("an opaque fd twice", &ext, PX_ALLOCATOR_AUTO, 0, NULL,
		"is the same buffer as slot 0 buffer 1");
	bool kcmp = kcmp_works();
	REQUIRE((fds[bad] = fcntl(fds[1], F_DUPFD_CLOEXEC, 0)) >= 0);
	if (kcmp)
		refused("a dup of another opaque fd", &ext, PX_ALLOCATOR_AUTO, 0, NULL,
			"is the same buffer as slot 0 buffer 1");
	else
		printf("kcmp(2) is refused here: a dup of an opaque fd cannot be told from "
		       "another buffer (not checked)\n");
	close(fds[bad]);
	fds[bad] = saved;
	for (uint32_t i = 0; i < n; i++)
		close(fds[i]);
	printf("opaque fds of one inode (opens of one device node, as NVIDIA's): taken as "
	       "separate buffers; the same fd twice%s refused\n",
	       kcmp ? " and a dup" : "");
}

/* Every rule broken once, on an otherwise good pool of memfds. */
static void test_refusals(void)
{
	struct pool p;
	make_memfd_pool(&p);
	struct px_external_pool ext = {.n_slots = SLOTS, .fds = p.fds};
	const uint32_t nb = layout.n_buffers;
	int saved;

	refused("allocator gbm", &ext, PX_ALLOCATOR_GBM, 0, NULL, "only auto or external");
	refused("allocator memfd", &ext, PX_ALLOCATOR_MEMFD, 0, NULL,
		"external buffers with allocator memfd");
	refused("a device", &ext, PX_ALLOCATOR_AUTO, 0, "/dev/dri/card0", "device");
	refused("pool_size mismatch", &ext, PX_ALLOCATOR_EXTERNAL, SLOTS + 1, NULL,
		"pool_size 5 with 4 external slots");
	ext.n_slots = 0;
	refused("no slots", &ext, PX_ALLOCATOR_AUTO, 0, NULL, "pool of 0 slots");
	ext.n_slots = PX_MAX_SLOTS + 1;
	refused("too many slots", &ext, PX_ALLOCATOR_AUTO, 0, NULL, "slots");
	ext.n_slots = SLOTS;
	ext.fds = NULL;
	refused("fds NULL", &ext, PX_ALLOCATOR_AUTO, 0, NULL, "without fds");
	ext.fds = p.fds;
	refused("allocator external without buffers", NULL, PX_ALLOCATOR_EXTERNAL, 0, NULL,
		"needs params.external");

	/* Slot 2 buffer 1 replaced by one bad fd at a time. */
	const uint32_t bad = 2 * nb + 1;
	saved = p.fds[bad];
	p.fds[bad] = make_memfd(layout.buffer_sizes[1] - 1, F_SEAL_SHRINK);
	refused("too small", &ext, PX_ALLOCATOR_AUTO, 0, NULL, "slot 2 buffer 1");
	REQUIRE(strstr(last_error, "the layout needs"));
	close(p.fds[bad]);

	p.fds[bad] = -1;
	refused("fd -1", &ext, PX_ALLOCATOR_AUTO, 0, NULL,
		"slot 2 buffer 1: fd -1 is not a file descriptor");

	p.fds[bad] = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	REQUIRE(p.fds[bad] >= 0);
	refused("a regular file", &ext, PX_ALLOCATOR_AUTO, 0, NULL, "slot 2 buffer 1");
	close(p.fds[bad]);

	int pipefd[2];
	REQUIRE(pipe2(pipefd, O_CLOEXEC) == 0);
	p.fds[bad] = pipefd[0];
	refused("a pipe", &ext, PX_ALLOCATOR_AUTO, 0, NULL, "neither a dma-buf nor a memfd");
	close(pipefd[0]);
	close(pipefd[1]);

	p.fds[bad] = make_memfd(layout.buffer_sizes[1], 0);
	refused("an unsealed memfd", &ext, PX_ALLOCATOR_AUTO, 0, NULL,
		"memfd not sealed against shrinking (F_SEAL_SHRINK)");
	close(p.fds[bad]);

	/* Not mappable read-write by the publisher. */
	p.fds[bad] = make_memfd(layout.buffer_sizes[1], F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE);
	refused("a memfd sealed against writes", &ext, PX_ALLOCATOR_AUTO, 0, NULL,
		"mmap read-write");
	close(p.fds[bad]);

	/* The same buffer twice: the same fd, and a dup of it. */
	p.fds[bad] = p.fds[1];
	refused("the same fd twice", &ext, PX_ALLOCATOR_AUTO, 0, NULL,
		"is the same buffer as slot 0 buffer 1");
	p.fds[bad] = fcntl(p.fds[1], F_DUPFD_CLOEXEC, 0);
	REQUIRE(p.fds[bad] >= 0);
	refused("a dup of another buffer", &ext, PX_ALLOCATOR_AUTO, 0, NULL,
		"is the same buffer as slot 0 buffer 1");
	close(p.fds[bad]);

	p.fds[bad] = saved;
	/* The refusals left the topic free and the pool good. */
	publish(&p);
	close_pool(&p);
}

#ifdef PX_TEST_DRM
/* A dma-buf of at least `size` bytes: a dumb buffer on `card`. */
static int make_dumb(int card, uint64_t size)
{
	struct drm_mode_create_dumb create = {
		.width = 1024, .height = (uint32_t)((size + 4095) / 4096), .bpp = 32,
	};
	REQUIRE(drmIoctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &create) == 0);
	int fd = -1;
	REQUIRE_OK(drmPrimeHandleToFD(card, create.handle, DRM_CLOEXEC | DRM_RDWR, &fd));
	struct drm_mode_destroy_dumb destroy = {.handle = create.handle};
	drmIoctl(card, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
	return fd;
}

static void test_dmabuf_pool(void)
{
	glob_t g;
	if (glob("/dev/dri/card*", 0, NULL, &g) != 0) {
		printf("SKIP dma-buf pool: no /dev/dri/card* here (the vm tier has one)\n");
		return;
	}
	int card = open(g.gl_pathv[0], O_RDWR | O_CLOEXEC);
	REQUIRE(card >= 0);
	struct drm_mode_create_dumb probe = {.width = 1, .height = 1, .bpp = 32};
	if (drmIoctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &probe) < 0) {
		printf("SKIP dma-buf pool: %s makes no dumb buffers (%s)\n", g.gl_pathv[0],
		       strerror(errno));
		close(card);
		globfree(&g);
		return;
	}
	struct drm_mode_destroy_dumb destroy = {.handle = probe.handle};
	drmIoctl(card, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
	struct stat st;
	REQUIRE(fstat(card, &st) == 0);

	struct pool p;
	memset(&p, 0, sizeof(p));
	p.dmabuf = true;
	p.device = st.st_rdev;
	for (uint32_t i = 0; i < SLOTS * layout.n_buffers; i++)
		p.fds[i] = make_dumb(card, layout.buffer_sizes[i % layout.n_buffers]);

	/* Refusals that only dma-bufs can show. */
	struct px_external_pool ext = {.n_slots = SLOTS, .fds = p.fds, .device = p.device};
	const uint32_t bad = 3 * layout.n_buffers + 1;
	int saved = p.fds[bad];
	p.fds[bad] = make_memfd(layout.buffer_sizes[1], F_SEAL_SHRINK);
	refused("a memfd among dma-bufs", &ext, PX_ALLOCATOR_AUTO, 0, NULL,
		"slot 3 buffer 1: fd");
	REQUIRE(strstr(last_error, "all dma-bufs or all memfds"));
	close(p.fds[bad]);
	/* Dumb buffers come in 4096-byte rows: make one a row short. */
	p.fds[bad] = make_dumb(card, 4096);
	REQUIRE(layout.buffer_sizes[1] > 4096);
	refused("too small a dma-buf", &ext, PX_ALLOCATOR_AUTO, 0, NULL, "slot 3 buffer 1");
	REQUIRE(strstr(last_error, "dma-buf of 4096 bytes"));
	close(p.fds[bad]);
	p.fds[bad] = saved;

	publish(&p);
	/* A subscriber whose every mmap of them fails. */
	for (uint32_t i = 0; i < SLOTS * layout.n_buffers; i++)
		p.fds[i] = make_dumb(card, layout.buffer_sizes[i % layout.n_buffers]);
	p.subscriber_cannot_map = true;
	publish(&p);
	/* Marked unmapped: written through the test's own mappings. */
	p.subscriber_cannot_map = false;
	p.unmapped = true;
	for (uint32_t i = 0; i < SLOTS * layout.n_buffers; i++) {
		uint64_t size = layout.buffer_sizes[i % layout.n_buffers];
		p.fds[i] = make_dumb(card, size);
		p.maps[i] = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, p.fds[i], 0);
		REQUIRE(p.maps[i] != MAP_FAILED);
	}
	publish(&p);
	close_pool(&p);
	close(card);
	printf("dma-buf pool on %s: ok; a subscriber that cannot map them gets every frame "
	       "without CPU views; marked unmapped, neither side maps them\n",
	       g.gl_pathv[0]);
	globfree(&g);
}
#endif

int main(void)
{
	px_test_dir();
	make_layout();
	px_log_set_handler(log_handler, NULL, PX_LOG_WARN);
	int fds = px_test_count_fds();
	test_names();
	test_memfd_pool();
	test_acquire_index();
	test_refusals();
	test_unmapped_pool();
	test_opaque_fds_one_inode();
#ifdef PX_TEST_DRM
	test_dmabuf_pool();
#else
	printf("SKIP dma-buf pool: built without libdrm (PX_WITH_DRM=OFF)\n");
#endif
	REQUIRE_EQ(px_test_count_fds(), fds);
	printf("external: ok\n");
	return 0;
}
