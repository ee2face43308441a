/* SPDX-License-Identifier: MIT */
/*
 * Frames into CUDA: subscribes to a topic, imports every buffer of the frames'
 * pool into CUDA once per (pool, slot, buffer), copies one image of each frame
 * back with cuMemcpyDtoH and checks it against the test pattern (a topic of
 * `pixshare pub-test`).
 *
 *     example_cuda_import TOPIC [--frames N] [--device N] [--library PATH] [--copy]
 *
 * The CUDA driver API is loaded at run time (dlopen("libcuda.so.1"),
 * cuda_loader.c): no CUDA toolkit to build it, no link to libcuda.
 *
 * Each buffer takes the first of these paths that works, printed with the
 * reason the others did not and the time its import took:
 *   opaque-fd      memory a Vulkan device exported as opaque fds
 *                  (px_frame.vulkan), on the CUDA device of the exporter's
 *                  UUID: cuImportExternalMemory(OPAQUE_FD) of a dup of the fd
 *                  (CUDA owns the fd once the import succeeds), then
 *                  cuExternalMemoryGetMappedBuffer. No copy.
 *   host-register  a buffer the subscriber maps (memfds; dma-bufs): its
 *                  read-only mapping registered with cuMemHostRegister
 *                  (DEVICEMAP | READ_ONLY); the GPU reads those pages. No copy.
 *   copy           where the driver refuses that registration (or with
 *                  --copy): a device buffer filled from the mapping with
 *                  cuMemcpyHtoD, again for every frame (the slot's pixels
 *                  change); counted and printed.
 * A dma-buf is first offered to cuImportExternalMemory as an opaque fd: CUDA
 * has no dma-buf import type, and NVIDIA's driver is expected to refuse the
 * dma-buf of another exporter; the refusal is printed and the next path taken.
 *
 * Fences: pixshare's are sync_files, and CUDA imports none (its external
 * semaphores are opaque fds, timeline-semaphore fds, NvSciSync objects and
 * Windows handles; CUexternalSemaphoreHandleType has no sync-file type). So the
 * subscriber waits for each frame's acquire fence on the CPU before handing it
 * out (counted in px_subscriber_stats.fence_waits), and the frame is released
 * once CUDA has finished reading it (cuMemcpyDtoH returns when done), without
 * a release fence.
 *
 * Exit status: 0 when every frame's image matched the pattern, 1 on a failure,
 * 2 on bad arguments, 3 where CUDA cannot run here (no libcuda.so.1, cuInit
 * failing, no device): stderr then starts with "CUDA: ".
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pixshare/pixshare.h>

#include "cuda_loader.h"

static const char usage[] =
    "usage: example_cuda_import TOPIC [--frames N] [--device N] [--library PATH] [--copy]\n"
    "  --frames N      frames to receive and check, 1 … 100000 (default 10)\n"
    "  --device N      the CUDA device's ordinal (default: the one whose UUID is\n"
    "                  the Vulkan exporter's, for a Vulkan-exported pool; else 0)\n"
    "  --library PATH  the CUDA driver library to dlopen (default libcuda.so.1)\n"
    "  --copy          copy mapped buffers (cuMemcpyHtoD each frame) instead of\n"
    "                  registering them: the fallback of a driver that refuses\n"
    "                  the registration, taken on purpose\n"
    "Exit status: 0 all frames matched the pattern, 1 failure, 2 bad arguments,\n"
    "3 CUDA cannot run here (no driver library, no device).\n";

enum path { PATH_OPAQUE_FD, PATH_HOST_REGISTER, PATH_COPY, N_PATHS };
static const char *const path_names[N_PATHS] = {"opaque-fd", "host-register", "copy"};

/* One buffer of one slot of one pool, as CUDA sees it. */
struct import {
	uint64_t pool_id;
	uint32_t slot, buffer;
	enum path path;
	CUdeviceptr base;	 /* the device address of byte fd_offset of the fd */
	uint64_t fd_offset;	 /* the fd's byte that `base` is */
	uint64_t size;		 /* bytes readable from `base` */
	CUexternalMemory memory; /* opaque-fd: the import */
	void *registered;	 /* host-register: the page-aligned address registered */
};

struct state {
	struct cuda_driver cu;
	int ordinal;
	CUdevice dev;
	CUcontext ctx; /* the device's primary context, retained */
	CUuuid uuid;
	struct import *imports;
	size_t n_imports, cap;
	uint64_t imported[N_PATHS];
	uint64_t import_ns_sum, import_ns_max;
	uint64_t copies, copy_bytes; /* cuMemcpyHtoD of the copy path */
	bool force_copy;	     /* --copy */
};

static void print_uuid(const unsigned char *u, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[u[i] >> 4];
		*p++ = hex[u[i] & 15];
	}
	*p = '\0';
}

static double mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

/* Loads the driver, initialises it and counts its devices; prints why not
 * (exit status 3). */
static int cuda_open(struct state *s, const char *library, int *n_devices)
{
	char why[512];
	if (cuda_driver_load(&s->cu, library, why, sizeof(why))) {
		fprintf(stderr, "CUDA: %s\n", why);
		return -1;
	}
	const char *call = "cuInit";
	CUresult r = s->cu.cuInit(0);
	if (r == CUDA_SUCCESS) {
		call = "cuDeviceGetCount";
		r = s->cu.cuDeviceGetCount(n_devices);
	}
	if (r != CUDA_SUCCESS) {
		fprintf(stderr, "CUDA: %s loads, but %s: %s\n",
			library ? library : CUDA_DRIVER_LIBRARY, call, cuda_result_name(&s->cu, r));
		return -1;
	}
	if (*n_devices < 1) {
		fprintf(stderr, "CUDA: %s loads, but finds no device\n",
			library ? library : CUDA_DRIVER_LIBRARY);
		return -1;
	}
	return 0;
}

/* The device asked for, else the Vulkan exporter's (by UUID), else 0; its
 * primary context made current. */
static int cuda_pick_device(struct state *s, int wanted, int n_devices,
			    const struct px_topic_info *ti)
{
	char uuid[37], name[128];
	CUresult r;
	int ordinal = wanted >= 0 ? wanted : 0;
	if (wanted < 0 && ti->vulkan_export) {
		for (int i = 0; i < n_devices; i++) {
			CUdevice d;
			CUuuid u;
			if (s->cu.cuDeviceGet(&d, i) == CUDA_SUCCESS &&
			    s->cu.cuDeviceGetUuid(&u, d) == CUDA_SUCCESS &&
			    !memcmp(u.bytes, ti->vulkan_device_uuid, 16)) {
				ordinal = i;
				break;
			}
		}
	}
	if (ordinal >= n_devices) {
		fprintf(stderr, "--device %d: there are %d CUDA devices (0 … %d)\n", ordinal,
			n_devices, n_devices - 1);
		return -1;
	}
	if ((r = s->cu.cuDeviceGet(&s->dev, ordinal)) != CUDA_SUCCESS ||
	    (r = s->cu.cuDeviceGetName(name, sizeof(name), s->dev)) != CUDA_SUCCESS ||
	    (r = s->cu.cuDeviceGetUuid(&s->uuid, s->dev)) != CUDA_SUCCESS) {
		fprintf(stderr, "CUDA device %d: %s\n", ordinal, cuda_result_name(&s->cu, r));
		return -1;
	}
	s->ordinal = ordinal;
	int version = 0;
	s->cu.cuDriverGetVersion(&version);
	print_uuid((const unsigned char *)s->uuid.bytes, uuid);
	printf("CUDA device %d: %s, UUID %s, driver API %d.%d\n", ordinal, name, uuid,
	       version / 1000, version % 1000 / 10);
	if (ti->vulkan_export) {
		bool same = !memcmp(s->uuid.bytes, ti->vulkan_device_uuid, 16);
		print_uuid(ti->vulkan_device_uuid, uuid);
		printf("the pool is a Vulkan export of device %s: %s\n", uuid,
		       same ? "this CUDA device" : "another device (no opaque-fd import)");
	}
	if ((r = s->cu.cuDevicePrimaryCtxRetain(&s->ctx, s->dev)) != CUDA_SUCCESS) {
		fprintf(stderr, "cuDevicePrimaryCtxRetain: %s\n", cuda_result_name(&s->cu, r));
		s->ctx = NULL;
		return -1;
	}
	if ((r = s->cu.cuCtxSetCurrent(s->ctx)) != CUDA_SUCCESS) {
		fprintf(stderr, "cuCtxSetCurrent: %s\n", cuda_result_name(&s->cu, r));
		return -1;
	}
	return 0;
}

static void import_free(struct state *s, struct import *im)
{
	switch (im->path) {
	case PATH_OPAQUE_FD:
		/* A mapped buffer is freed with cuMemFree before its memory goes
		 * (cuExternalMemoryGetMappedBuffer). */
		s->cu.cuMemFree(im->base);
		s->cu.cuDestroyExternalMemory(im->memory);
		break;
	case PATH_HOST_REGISTER:
		s->cu.cuMemHostUnregister(im->registered);
		break;
	case PATH_COPY:
		s->cu.cuMemFree(im->base);
		break;
	case N_PATHS:
		break;
	}
}

/* Drops the imports of pools other than `pool_id` (all, with `all`): frames
 * are released before the next is received, so only the newest pool is in
 * use. */
static void imports_drop(struct state *s, uint64_t pool_id, bool all)
{
	size_t kept = 0;
	for (size_t i = 0; i < s->n_imports; i++) {
		if (!all && s->imports[i].pool_id == pool_id)
			s->imports[kept++] = s->imports[i];
		else
			import_free(s, &s->imports[i]);
	}
	s->n_imports = kept;
}

/* Room for `n` more imports, so that pointers to the imports stay valid
 * while a frame's buffers are imported. */
static int imports_reserve(struct state *s, size_t n)
{
	if (s->n_imports + n <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 64;
	while (cap < s->n_imports + n)
		cap *= 2;
	struct import *imports = realloc(s->imports, cap * sizeof(*imports));
	if (!imports) {
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	s->imports = imports;
	s->cap = cap;
	return 0;
}

/* opaque-fd: the buffer's fd as what it is (a Vulkan export) or, for a
 * dma-buf, as what CUDA might take. Returns 0, or -1 with the reason. */
static int import_opaque_fd(struct state *s, const struct px_frame *f, uint32_t b,
			    struct import *im, char *why, size_t why_size)
{
	const struct px_vulkan_export *vk = f->vulkan;
	uint64_t alloc_size = vk ? vk->allocation_size[b] : f->buffers[b].size;
	uint64_t map_size = vk ? vk->buffer_size[b] : f->layout->buffer_sizes[b];
	char uuid[37];
	if (vk && memcmp(vk->device_uuid, s->uuid.bytes, 16)) {
		print_uuid(vk->device_uuid, uuid);
		snprintf(why, why_size, "exported by device %s, not CUDA device %d", uuid,
			 s->ordinal);
		return -1;
	}
	/* "Ownership of the file descriptor is transferred to the CUDA driver
	 * when the handle is imported successfully" (cuImportExternalMemory):
	 * the subscriber keeps its own fd, CUDA gets a dup. */
	int fd = fcntl(f->buffers[b].fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, why_size, "dup: %s", strerror(errno));
		return -1;
	}
	CUDA_EXTERNAL_MEMORY_HANDLE_DESC desc = {
	    .type = CU_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD,
	    .handle.fd = fd,
	    .size = alloc_size,
	    .flags = vk && vk->dedicated ? CUDA_EXTERNAL_MEMORY_DEDICATED : 0,
	};
	CUresult r = s->cu.cuImportExternalMemory(&im->memory, &desc);
	if (r != CUDA_SUCCESS) {
		close(fd); /* not CUDA's: the import failed */
		snprintf(why, why_size, "cuImportExternalMemory(OPAQUE_FD%s): %s",
			 vk ? "" : " of a dma-buf", cuda_result_name(&s->cu, r));
		return -1;
	}
	/* The exporter's VkBuffer lies at byte 0 of the memory, which is byte
	 * vk->offset[b] of the fd (the layout's offsets are the fd's). */
	CUDA_EXTERNAL_MEMORY_BUFFER_DESC bd = {.offset = 0, .size = map_size};
	r = s->cu.cuExternalMemoryGetMappedBuffer(&im->base, im->memory, &bd);
	if (r != CUDA_SUCCESS) {
		s->cu.cuDestroyExternalMemory(im->memory);
		snprintf(why, why_size, "cuExternalMemoryGetMappedBuffer: %s",
			 cuda_result_name(&s->cu, r));
		return -1;
	}
	im->fd_offset = vk ? vk->offset[b] : 0;
	im->size = map_size;
	im->path = PATH_OPAQUE_FD;
	return 0;
}

/* host-register: the subscriber's read-only mapping, page-aligned. */
static int import_host_register(struct state *s, const struct px_frame *f, uint32_t b,
				struct import *im, char *why, size_t why_size)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t data = (uintptr_t)f->buffers[b].data;
	uint64_t size = f->layout->buffer_sizes[b];
	uintptr_t start = data & ~(page - 1);
	size_t len = (size_t)((data + size - start + page - 1) & ~(page - 1));
	CUresult r = s->cu.cuMemHostRegister(
	    (void *)start, len, CU_MEMHOSTREGISTER_DEVICEMAP | CU_MEMHOSTREGISTER_READ_ONLY);
	if (r != CUDA_SUCCESS) {
		int ro = -1;
		s->cu.cuDeviceGetAttribute(
		    &ro, CU_DEVICE_ATTRIBUTE_READ_ONLY_HOST_REGISTER_SUPPORTED, s->dev);
		snprintf(why, why_size,
			 "cuMemHostRegister(DEVICEMAP|READ_ONLY) of the read-only mapping: %s "
			 "(READ_ONLY_HOST_REGISTER_SUPPORTED: %d)",
			 cuda_result_name(&s->cu, r), ro);
		return -1;
	}
	CUdeviceptr dptr;
	r = s->cu.cuMemHostGetDevicePointer(&dptr, (void *)start, 0);
	if (r != CUDA_SUCCESS) {
		s->cu.cuMemHostUnregister((void *)start);
		snprintf(why, why_size, "cuMemHostGetDevicePointer: %s",
			 cuda_result_name(&s->cu, r));
		return -1;
	}
	im->registered = (void *)start;
	im->base = dptr + (data - start);
	im->fd_offset = 0;
	im->size = size;
	im->path = PATH_HOST_REGISTER;
	return 0;
}

/* copy: a device buffer of the buffer's size, filled for every frame. */
static int import_copy(struct state *s, const struct px_frame *f, uint32_t b, struct import *im,
		       char *why, size_t why_size)
{
	uint64_t size = f->layout->buffer_sizes[b];
	CUresult r = s->cu.cuMemAlloc(&im->base, size);
	if (r != CUDA_SUCCESS) {
		snprintf(why, why_size, "cuMemAlloc(%" PRIu64 "): %s", size,
			 cuda_result_name(&s->cu, r));
		return -1;
	}
	im->fd_offset = 0;
	im->size = size;
	im->path = PATH_COPY;
	return 0;
}

/* The import of buffer b of the frame's slot: cached, else made now (and
 * printed) in the room imports_reserve() made. NULL, with the reasons
 * printed, where CUDA cannot read it. */
static struct import *import_get(struct state *s, const struct px_frame *f, uint32_t b)
{
	for (size_t i = 0; i < s->n_imports; i++) {
		struct import *im = &s->imports[i];
		if (im->pool_id == f->pool_id && im->slot == f->slot && im->buffer == b)
			return im;
	}
	assert(s->n_imports < s->cap); /* imports_reserve() */
	struct import *im = &s->imports[s->n_imports];
	*im = (struct import){.pool_id = f->pool_id, .slot = f->slot, .buffer = b};
	char why[3][320] = {"", "", ""};
	uint64_t t0 = px_now_ns();
	bool done = false;
	/* Where each path applies; `why` keeps the refusals in order. */
	if ((f->vulkan || f->dmabuf) && !import_opaque_fd(s, f, b, im, why[0], sizeof(why[0])))
		done = true;
	if (!done && f->buffers[b].data && s->force_copy)
		snprintf(why[1], sizeof(why[1]), "host-register not tried: --copy");
	else if (!done && f->buffers[b].data &&
		 !import_host_register(s, f, b, im, why[1], sizeof(why[1])))
		done = true;
	if (!done && f->buffers[b].data && !import_copy(s, f, b, im, why[2], sizeof(why[2])))
		done = true;
	uint64_t ns = px_now_ns() - t0;

	char refused[1024] = "";
	for (int i = 0; i < 3; i++) {
		if (why[i][0]) {
			size_t n = strlen(refused);
			snprintf(refused + n, sizeof(refused) - n, "%s%s", n ? "; " : "", why[i]);
		}
	}
	if (!done) {
		fprintf(stderr, "pool %" PRIu64 " slot %u buffer %u: CUDA cannot read it: %s%s\n",
			f->pool_id, f->slot, b, refused[0] ? refused : "no path applies",
			f->buffers[b].data ? "" : "; no CPU mapping to copy from");
		return NULL;
	}
	s->n_imports++;
	s->imported[im->path]++;
	s->import_ns_sum += ns;
	if (ns > s->import_ns_max)
		s->import_ns_max = ns;
	printf("pool %" PRIu64 " slot %u buffer %u (%.2f MiB): %s, %.1f us%s%s%s\n", f->pool_id,
	       f->slot, b, mib(im->size), path_names[im->path], (double)ns / 1000.0,
	       refused[0] ? " (" : "", refused, refused[0] ? ")" : "");
	return im;
}

/* Imports (or finds) every buffer of the frame, refills the copied ones,
 * copies image `index` back and checks it. Returns 0 when it matched. */
static int check_frame(struct state *s, const struct px_frame *f, uint32_t index)
{
	const struct px_image_layout *img = &f->layout->images[index];
	struct import *ims[PX_MAX_BUFFERS];
	if (imports_reserve(s, f->n_buffers))
		return -1;
	for (uint32_t b = 0; b < f->n_buffers; b++) {
		if (!(ims[b] = import_get(s, f, b)))
			return -1;
		if (ims[b]->path != PATH_COPY)
			continue;
		CUresult r = s->cu.cuMemcpyHtoD(ims[b]->base, f->buffers[b].data, ims[b]->size);
		if (r != CUDA_SUCCESS) {
			fprintf(stderr, "slot %u buffer %u: cuMemcpyHtoD: %s\n", f->slot, b,
				cuda_result_name(&s->cu, r));
			return -1;
		}
		s->copies++;
		s->copy_bytes += ims[b]->size;
	}

	void *host[PX_MAX_PLANES] = {NULL};
	const void *planes[PX_MAX_PLANES] = {NULL};
	uint64_t bytes = 0, t0 = px_now_ns();
	int ret = -1;
	for (uint32_t p = 0; p < img->n_planes; p++) {
		const struct px_plane *pl = &img->planes[p];
		const struct import *im = ims[pl->buffer];
		uint64_t len = (uint64_t)pl->stride * (px_image_plane_rows(img, p) - 1) +
			       px_image_row_bytes(img, p);
		if (pl->offset < im->fd_offset || pl->offset - im->fd_offset > im->size ||
		    len > im->size - (pl->offset - im->fd_offset)) {
			fprintf(stderr,
				"image %u plane %u: bytes %" PRIu64 " … %" PRIu64
				" of buffer %u lie outside what CUDA mapped of it\n",
				index, p, pl->offset, pl->offset + len, pl->buffer);
			goto out;
		}
		if (!(host[p] = malloc(len))) {
			fprintf(stderr, "out of memory\n");
			goto out;
		}
		CUresult r =
		    s->cu.cuMemcpyDtoH(host[p], im->base + (pl->offset - im->fd_offset), len);
		if (r != CUDA_SUCCESS) {
			fprintf(stderr, "image %u plane %u: cuMemcpyDtoH: %s\n", index, p,
				cuda_result_name(&s->cu, r));
			goto out;
		}
		planes[p] = host[p];
		bytes += len;
	}
	uint64_t copy_ns = px_now_ns() - t0;

	struct px_pattern_params want = {.frame = f->seq,
					 .image_index = index,
					 .timestamp_ns = f->images[index].timestamp_ns},
				 got;
	char why[256] = "";
	if (px_pattern_verify(img, planes, &want, why, sizeof(why))) {
		fprintf(stderr, "frame %" PRIu64 " image %u: read back through CUDA, differs: %s\n",
			f->seq, index, why[0] ? why : "not the test pattern");
		goto out;
	}
	char band[64] = "no code band (small image)";
	if (px_pattern_decode(img, planes, &got) == 0)
		snprintf(band, sizeof(band), "code band: frame %" PRIu64, got.frame);
	printf("frame %" PRIu64 " slot %u image %u: %.2f MiB back by cuMemcpyDtoH in %.1f us, "
	       "matches the pattern (%s)\n",
	       f->seq, f->slot, index, mib(bytes), (double)copy_ns / 1000.0, band);
	ret = 0;
out:
	for (uint32_t p = 0; p < PX_MAX_PLANES; p++)
		free(host[p]);
	return ret;
}

/* Whether the test pattern can be checked in this layout. */
static bool layout_checkable(const struct px_set_layout *layout)
{
	for (uint32_t i = 0; i < layout->n_images; i++) {
		const struct px_image_layout *img = &layout->images[i];
		const struct px_format_info *fi = px_format_get_info(img->fourcc);
		char name[32];
		if (!fi || fi->compressed ||
		    (img->modifier != PX_MODIFIER_LINEAR && img->modifier != PX_MODIFIER_INVALID)) {
			fprintf(stderr,
				"image %u (%s): compressed or tiled: the test pattern cannot be "
				"checked in it\n",
				i, px_format_name(img->fourcc, name, sizeof(name)));
			return false;
		}
	}
	return true;
}

static int parse_int(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "%s: '%s' is not a number from %ld to %ld\n%s", opt, s, min, max,
			usage);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"frames", required_argument, NULL, 'f'},  {"device", required_argument, NULL, 'd'},
	    {"library", required_argument, NULL, 'l'}, {"copy", no_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},	       {0},
	};
	const char *library = NULL;
	bool force_copy = false;
	long frames = 10, device = -1;
	int c;
	/* Line by line, in order with stderr, and kept where a timeout kills
	 * the program. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_int("--frames", optarg, 1, 100000, &frames))
				return 2;
			break;
		case 'd':
			if (parse_int("--device", optarg, 0, 1023, &device))
				return 2;
			break;
		case 'l':
			library = optarg;
			break;
		case 'c':
			force_copy = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "%s needs a value\n%s", argv[optind - 1], usage);
			return 2;
		default:
			fprintf(stderr, "unknown option %s\n%s", argv[optind - 1], usage);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	const char *topic = argv[optind];

	struct state s = {.force_copy = force_copy};
	int n_devices = 0, status = 1;
	if (cuda_open(&s, library, &n_devices)) {
		cuda_driver_unload(&s.cu);
		return 3;
	}

	struct px_subscriber *sub = NULL;
	struct px_subscriber_params params = {
	    .topic = topic,
	    .qos = PX_QOS_QUEUE,
	    .queue_depth = 2,
	    .flags = PX_SUBSCRIBER_NO_RECONNECT,
	    .connect_timeout_ms = 5000,
	};
	int ret = px_subscriber_create(&params, &sub);
	if (ret) {
		fprintf(stderr, "cannot subscribe to %s: %s\n", topic, px_strerror(ret));
		goto out;
	}
	struct px_topic_info ti;
	if ((ret = px_subscriber_get_topic_info(sub, &ti))) {
		fprintf(stderr, "%s: %s\n", topic, px_strerror(ret));
		goto out;
	}
	printf("topic %s: %s pool (%s%s%s)\n", topic, px_allocator_name(ti.allocator),
	       ti.dmabuf ? "dma-bufs" : "memfds", ti.vulkan_export ? ", a Vulkan export" : "",
	       ti.unmapped ? ", not mapped here" : "");
	if (cuda_pick_device(&s, (int)device, n_devices, &ti))
		goto out;

	uint32_t checked = 0;
	for (long n = 0; n < frames; n++) {
		struct px_frame *f;
		if ((ret = px_subscriber_receive(sub, &f, 5000))) {
			fprintf(stderr, "%s: after %ld frames: %s\n", topic, n, px_strerror(ret));
			goto out;
		}
		if (!layout_checkable(f->layout)) {
			px_frame_release(f);
			goto out;
		}
		imports_drop(&s, f->pool_id, false);
		/* Image n of the set (the next valid one), round the set. */
		uint32_t index = (uint32_t)(n % f->layout->n_images);
		for (uint32_t k = 0; k < f->layout->n_images && !(f->valid_mask & (1u << index));
		     k++)
			index = (index + 1) % f->layout->n_images;
		ret = f->valid_mask & (1u << index) ? check_frame(&s, f, index) : -1;
		if (!(f->valid_mask & (1u << index)))
			fprintf(stderr, "frame %" PRIu64 ": no image is valid\n", f->seq);
		/* CUDA is done with the frame: every copy above has returned. */
		px_frame_release(f);
		if (ret)
			goto out;
		checked++;
	}

	struct px_subscriber_stats st;
	px_subscriber_get_stats(sub, &st);
	uint64_t n_imports =
	    s.imported[PATH_OPAQUE_FD] + s.imported[PATH_HOST_REGISTER] + s.imported[PATH_COPY];
	printf("%u frames, %u images matched the pattern; imports: %" PRIu64 " opaque-fd, %" PRIu64
	       " host-register, %" PRIu64 " copy (mean %.1f us, max %.1f us); %" PRIu64
	       " copies by cuMemcpyHtoD (%.2f MiB); acquire fences waited for on the CPU: %" PRIu64
	       "\n",
	       checked, checked, s.imported[PATH_OPAQUE_FD], s.imported[PATH_HOST_REGISTER],
	       s.imported[PATH_COPY],
	       n_imports ? (double)s.import_ns_sum / (double)n_imports / 1000.0 : 0.0,
	       (double)s.import_ns_max / 1000.0, s.copies, mib(s.copy_bytes), st.fence_waits);
	status = 0;
out:
	imports_drop(&s, 0, true);
	free(s.imports);
	if (s.ctx) {
		s.cu.cuCtxSetCurrent(NULL);
		s.cu.cuDevicePrimaryCtxRelease(s.dev);
	}
	px_subscriber_destroy(sub);
	cuda_driver_unload(&s.cu);
	return status;
}
