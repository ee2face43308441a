/* SPDX-License-Identifier: MIT */
/*
 * A publisher whose pool a Vulkan device allocated and exported
 * (px_vk_pool), on whatever device px_vk_create() picks (lavapipe here),
 * with the validation layer on:
 *
 *   this process: px_vk_pool → px_publisher (external pool); every frame's
 *     buffers filled on the device with vkCmdFillBuffer, a value per row
 *     drawn from the frame number, the buffer and the row, the fence waited
 *     for, then published
 *     → a subscriber process (forked before Vulkan starts its threads),
 *       which checks every byte of every buffer of every frame against the
 *       values its sequence number gives: in its CPU mapping, and through a
 *       Vulkan device of its own (validation on too) both as px_vk_import()
 *       shows it (copied to a host-visible buffer) and through a transform
 *       (every image to RGBA8 at its own size, nearest: each output row
 *       holds its source row's value).
 *
 * Where the pool is exported as opaque fds, the publisher sends the
 * export's description (px_external_pool.vulkan), and a subscriber device
 * of the same device and driver UUIDs must import the fds as opaque fds
 * (PX_IMPORT_OPAQUE_FD), once per slot and buffer, whose memory starts
 * after Mesa's header in the fd. A second round publishes the same pool
 * with a description naming another device: the subscriber must then take
 * another path (host memory on lavapipe) and read the same bytes. A third
 * publishes it marked unmapped (px_external_pool.unmapped), as a GPU's own
 * opaque fds would be: the publisher maps nothing, the subscriber is told so
 * and maps nothing, and its device reads every byte (as an opaque fd, or a
 * dma-buf where the pool is exported as dma-bufs).
 *
 * Checked as well: the publisher reports the external allocator; the
 * exported fds are CLOEXEC and distinct; the refusals (NULL arguments, 0
 * slots, more than PX_MAX_SLOTS, an invalid layout, indices out of range,
 * a description the layout contradicts); allocations counted; import and
 * subscriber counts by path; zero validation errors in both processes; no
 * fd left open at the end.
 *
 * --require-export=NAME: the pool must be exported as px_vk_export_name()
 * names it, e.g. "dma-buf" (Mesa 26's lavapipe exports dma-bufs where the
 * kernel has udmabuf).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/vfs.h>

#include <pixshare/pixshare.h>
#include <pixshare/transform.h>
#include <pixshare/vulkan.h>

#include "px_testutil.h"
#include "px_vktestutil.h"

#define N_IMAGES 2
#define N_SLOTS 4
/* The rounds: the pool's own description, then one naming another device,
 * then the pool's own description with the fds marked unmapped. */
#define N_ROUNDS 3
#define ROUND_UNMAPPED 2

static uint32_t frames_total;
static struct px_set_layout layout;
/* The subscriber's process. */
static pid_t child;

static const char *topic_of(uint32_t round)
{
	return round == 0 ? "vkpool" : round == 1 ? "vkpool-other" : "vkpool-unmapped";
}

/* The byte every byte of row `row` of buffer b of frame `seq` holds. Every
 * buffer is image b's one plane, from offset 0 (checked in main). */
static uint8_t pattern(uint64_t seq, uint32_t b, uint32_t row)
{
	return (uint8_t)(seq * 37 + b * 101 + row * 7 + 1);
}

/* The subscriber's own device, reading what it receives. */
struct reader {
	struct px_vk *vk;
	struct px_vk_info info;
	struct px_test_cmd cmd;
	struct px_transform *t;
	const uint8_t *out; /* the transform's output */
	VkBuffer readback;  /* host-visible, what px_vk_import() shows is copied to */
	VkDeviceMemory readback_memory;
	const uint8_t *readback_map;
	uint64_t out_offset[N_IMAGES];
};

static void reader_init(struct reader *r)
{
	REQUIRE_OK(px_vk_create(&(struct px_vk_params){.validation = true}, &r->vk));
	REQUIRE_OK(px_vk_get_info(r->vk, &r->info));
	px_test_cmd_init(&r->cmd, r->vk);
	uint64_t total = 0;
	for (uint32_t b = 0; b < layout.n_buffers; b++)
		total += layout.buffer_sizes[b];
	px_test_readback_init(r->vk, total, &r->readback, &r->readback_memory, &r->readback_map);

	/* Every image to RGBA8 at its own size, nearest: one after the other. */
	struct px_transform_image ti[N_IMAGES];
	uint64_t at = 0;
	for (uint32_t i = 0; i < N_IMAGES; i++) {
		ti[i] = (struct px_transform_image){.src_image = i,
						    .out_width = layout.images[i].width,
						    .out_height = layout.images[i].height,
						    .filter = PX_FILTER_NEAREST,
						    .out_offset = at};
		r->out_offset[i] = at;
		at += 4ull * layout.images[i].width * layout.images[i].height;
	}
	struct px_transform_params tp = {
	    .n_images = N_IMAGES, .images = ti, .format = PX_OUT_RGBA8};
	REQUIRE_OK(px_transform_create(r->vk, &tp, &r->t));
	void *out;
	REQUIRE_OK(px_transform_get_output(r->t, &out, NULL, NULL));
	r->out = out;
}

static void reader_finish(struct reader *r)
{
	VkDevice dev = px_vk_get_device(r->vk);
	px_transform_destroy(r->t);
	vkDestroyBuffer(dev, r->readback, NULL);
	vkFreeMemory(dev, r->readback_memory, NULL);
	px_test_cmd_finish(&r->cmd);
	struct px_vk_stats st;
	REQUIRE_OK(px_vk_get_stats(r->vk, &st));
	REQUIRE_EQ(st.validation_errors, 0);
	px_vk_destroy(r->vk);
}

/* Checks `got` (bytes of buffer b of frame seq, `stride` bytes per row): the
 * first `n` bytes (-1: all). */
static void check_bytes(const char *where, uint64_t seq, uint32_t b, const uint8_t *got, uint64_t n)
{
	const struct px_plane *pl = &layout.images[b].planes[0];
	uint64_t end = n < layout.buffer_sizes[b] ? n : layout.buffer_sizes[b];
	for (uint64_t i = 0; i < end; i++) {
		uint8_t want = pattern(seq, b, (uint32_t)(i / pl->stride));
		if (got[i] != want) {
			fprintf(stderr, "%s: frame %llu buffer %u byte %llu: %#x, expected %#x\n",
				where, (unsigned long long)seq, b, (unsigned long long)i, got[i],
				want);
			REQUIRE(got[i] == want);
		}
	}
}

static void check_rows(const char *where, uint64_t seq, uint32_t b, const uint8_t *got)
{
	check_bytes(where, seq, b, got, UINT64_MAX);
}

/* Reads frame f through the reader's device: px_vk_import() of every image,
 * copied to the readback buffer, and the transform. Returns the path. */
static enum px_import_path read_on_device(struct reader *r, const struct px_frame *f, uint64_t seq)
{
	struct px_vk_image img[N_IMAGES];
	px_test_cmd_begin(&r->cmd);
	uint64_t at = 0;
	for (uint32_t i = 0; i < N_IMAGES; i++) {
		REQUIRE_OK(px_vk_import(r->vk, f, i, &img[i]));
		REQUIRE_EQ(img[i].n_planes, 1);
		REQUIRE_EQ(img[i].path, img[0].path);
		/* Layout offset 0 of the caller's layout, wherever the memory
		 * lies in the fd. */
		REQUIRE_EQ(img[i].planes[0].offset, 0);
		VkBufferCopy c = {img[i].planes[0].offset, at, layout.buffer_sizes[i]};
		vkCmdCopyBuffer(r->cmd.cb, img[i].planes[0].buffer, r->readback, 1, &c);
		at += layout.buffer_sizes[i];
	}
	VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
			      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
			      .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
	vkCmdPipelineBarrier(r->cmd.cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT,
			     0, 1, &mb, 0, NULL, 0, NULL);
	px_test_cmd_submit(&r->cmd);
	at = 0;
	for (uint32_t b = 0; b < layout.n_buffers; b++) {
		/* The upload path copies the rows, not the last one's padding. */
		const struct px_image_layout *il = &layout.images[b];
		uint64_t n = img[b].path == PX_IMPORT_UPLOAD
				 ? (uint64_t)il->planes[0].stride * (il->height - 1) +
				       px_image_row_bytes(il, 0)
				 : UINT64_MAX;
		check_bytes("px_vk_import", seq, b, r->readback_map + at, n);
		at += layout.buffer_sizes[b];
	}

	REQUIRE_OK(px_transform_run(r->t, f));
	for (uint32_t i = 0; i < N_IMAGES; i++) {
		const struct px_image_layout *il = &layout.images[i];
		for (uint32_t y = 0; y < il->height; y++) {
			const uint8_t *row = r->out + r->out_offset[i] + 4ull * il->width * y;
			uint8_t v = pattern(seq, i, y);
			for (uint32_t x = 0; x < il->width; x++) {
				const uint8_t want[4] = {v, v, v, 255};
				if (memcmp(row + 4 * x, want, 4)) {
					fprintf(stderr,
						"transform: frame %llu image %u (%u, %u): %u %u %u "
						"%u, expected %u %u %u 255\n",
						(unsigned long long)seq, i, x, y, row[4 * x],
						row[4 * x + 1], row[4 * x + 2], row[4 * x + 3], v,
						v, v);
					REQUIRE(!memcmp(row + 4 * x, want, 4));
				}
			}
		}
	}
	return img[0].path;
}

/* Round 0 came unmapped: the device's own opaque fds (NVIDIA's), which no
 * CPU maps and only the exporter's device reads. */
static bool own_fds_unmapped;

/* Whether a subscriber can map an fd it received: a memfd (sealed, as
 * lavapipe's opaque fds are) or a dma-buf. A GPU's own opaque fds (NVIDIA's:
 * opens of /dev/nvidiactl) are neither. */
static bool mappable_fd(int fd)
{
	struct statfs sfs;
	return fcntl(fd, F_GET_SEALS) >= 0 ||
	       (fstatfs(fd, &sfs) == 0 && (unsigned long)sfs.f_type == DMA_BUF_MAGIC);
}

/* Whether round `round` runs on a pool whose fds are unmapped of their
 * own: the description naming another device would leave nothing able to
 * read the frames, so that round is left out on both sides. */
static bool round_skipped(uint32_t round, bool unmapped)
{
	return round == 1 && unmapped;
}

/* One round's topic, to the end of its stream. */
static void subscribe(struct reader *r, uint32_t round)
{
	if (round_skipped(round, own_fds_unmapped)) {
		printf("round 1 (a description naming another device) left out: the device's "
		       "own opaque fds are unmapped, so nothing could read them\n");
		return;
	}
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = topic_of(round),
					  .qos = PX_QOS_RELIABLE,
					  .connect_timeout_ms = 240000,
					  .max_leases = 1,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	const struct px_set_layout *l = px_subscriber_get_layout(sub);
	REQUIRE_EQ(l->n_images, N_IMAGES);
	REQUIRE_EQ(l->n_buffers, layout.n_buffers);
	struct px_topic_info ti;
	REQUIRE_OK(px_subscriber_get_topic_info(sub, &ti));
	if (round == 0)
		own_fds_unmapped = ti.unmapped;
	/* Unmapped where marked so, and the device's own opaque fds always. */
	REQUIRE_EQ(ti.unmapped, round == ROUND_UNMAPPED || own_fds_unmapped);
	REQUIRE(!own_fds_unmapped || ti.vulkan_export);
	/* The pool's layout: ours, moved by where the device's memory lies in
	 * each fd (px_vk_pool_info.data_offset; lavapipe: after a header). */
	uint64_t at[PX_MAX_BUFFERS];
	for (uint32_t b = 0; b < layout.n_buffers; b++) {
		REQUIRE(l->buffer_sizes[b] >= layout.buffer_sizes[b]);
		at[b] = l->buffer_sizes[b] - layout.buffer_sizes[b];
	}
	for (uint32_t i = 0; i < N_IMAGES; i++) {
		const struct px_plane *pl = &l->images[i].planes[0];
		REQUIRE_EQ(pl->buffer, layout.images[i].planes[0].buffer);
		REQUIRE_EQ(pl->stride, layout.images[i].planes[0].stride);
		REQUIRE_EQ(pl->offset, layout.images[i].planes[0].offset + at[pl->buffer]);
	}
	uint32_t checked = 0, by_path[PX_IMPORT_PATHS] = {0};
	uint64_t last = 0, bytes = 0;
	bool opaque_expected = false;
	struct px_vk_stats st0, st;
	REQUIRE_OK(px_vk_get_stats(r->vk, &st0));
	struct px_frame *f;
	int ret;
	while ((ret = px_subscriber_receive(sub, &f, 240000)) == 0) {
		/* Unmapped because of what the fds are, not by the publisher's
		 * whim: from the fds themselves. */
		if (round == 0 && !checked)
			REQUIRE_EQ(own_fds_unmapped, !mappable_fd(f->buffers[0].fd));
		uint64_t seq = f->images[0].sequence;
		REQUIRE_EQ(f->images[1].sequence, seq);
		REQUIRE(seq == last + 1); /* nothing lost, nothing reordered */
		last = seq;
		REQUIRE_EQ(f->n_buffers, layout.n_buffers);
		/* The description comes with opaque fds only, as sent. */
		REQUIRE_EQ(f->vulkan != NULL, ti.vulkan_export);
		if (f->vulkan)
			for (uint32_t b = 0; b < f->n_buffers; b++) {
				REQUIRE_EQ(f->vulkan->offset[b], at[b]);
				REQUIRE_EQ(f->vulkan->buffer_size[b], layout.buffer_sizes[b]);
			}
		opaque_expected =
		    f->vulkan && r->info.opaque_fd_import &&
		    !memcmp(f->vulkan->device_uuid, r->info.device_uuid, VK_UUID_SIZE) &&
		    !memcmp(f->vulkan->driver_uuid, r->info.driver_uuid, VK_UUID_SIZE);
		for (uint32_t b = 0; b < f->n_buffers; b++) {
			REQUIRE(f->buffers[b].size >= l->buffer_sizes[b]);
			bytes += layout.buffer_sizes[b];
			if (ti.unmapped) {
				REQUIRE(!f->buffers[b].data);
				continue;
			}
			REQUIRE(f->buffers[b].data);
			check_rows("mapping", seq, b, (const uint8_t *)f->buffers[b].data + at[b]);
		}
		enum px_import_path path = read_on_device(r, f, seq);
		REQUIRE(opaque_expected ? path == PX_IMPORT_OPAQUE_FD
					: path != PX_IMPORT_OPAQUE_FD);
		by_path[path]++;
		px_frame_release(f);
		checked++;
	}
	REQUIRE_EQ(ret, -EPIPE);
	REQUIRE_EQ(checked, frames_total);
	REQUIRE_OK(px_vk_get_stats(r->vk, &st));
	struct px_subscriber_stats ss;
	REQUIRE_OK(px_subscriber_get_stats(sub, &ss));
	/* Each frame: px_vk_import() of both images, and the transform's. */
	REQUIRE_EQ(ss.imported_opaque_fd, 4ull * by_path[PX_IMPORT_OPAQUE_FD]);
	REQUIRE_EQ(ss.imported_host_memory, 4ull * by_path[PX_IMPORT_HOST_MEMORY]);
	REQUIRE_EQ(ss.imported_dmabuf, 4ull * by_path[PX_IMPORT_DMABUF]);
	REQUIRE_EQ(ss.imported_upload, 4ull * by_path[PX_IMPORT_UPLOAD]);
	/* Imported once per slot and buffer: at most the pool's. */
	uint64_t imported = st.buffer_imports - st0.buffer_imports;
	REQUIRE(imported >= layout.n_buffers && imported <= N_SLOTS * layout.n_buffers);
	if (opaque_expected)
		REQUIRE_EQ(st.opaque_imports - st0.opaque_imports, imported);
	else
		REQUIRE_EQ(st.opaque_imports, st0.opaque_imports);
	static const char *const rounds[N_ROUNDS] = {
	    "the pool's own", "a description naming another device", "unmapped: no mapping"};
	printf("subscriber, round %u (%s): %u frames, every byte checked %sthrough "
	       "px_vk_import() and a transform on %s (%llu bytes); %llu buffers imported as %s\n",
	       round, rounds[round], checked, ti.unmapped ? "" : "in the mapping, ",
	       r->info.device_name, (unsigned long long)bytes, (unsigned long long)imported,
	       px_import_path_name(ss.last_import_path));
	px_subscriber_destroy(sub);
}

static int subscriber_main(void *arg)
{
	(void)arg;
	struct reader r;
	reader_init(&r);
	for (uint32_t round = 0; round < N_ROUNDS; round++)
		subscribe(&r, round);
	reader_finish(&r);
	return 0;
}

static void refusals(struct px_vk *vk)
{
	struct px_vk_pool *pool = NULL;
	REQUIRE_EQ(px_vk_pool_create(NULL, &layout, N_SLOTS, &pool), -EINVAL);
	REQUIRE_EQ(px_vk_pool_create(vk, NULL, N_SLOTS, &pool), -EINVAL);
	REQUIRE_EQ(px_vk_pool_create(vk, &layout, N_SLOTS, NULL), -EINVAL);
	REQUIRE_EQ(px_vk_pool_create(vk, &layout, 0, &pool), -EINVAL);
	REQUIRE_EQ(px_vk_pool_create(vk, &layout, PX_MAX_SLOTS + 1, &pool), -EINVAL);
	struct px_set_layout bad = layout;
	bad.buffer_sizes[1] = 1; /* smaller than its image */
	REQUIRE_EQ(px_vk_pool_create(vk, &bad, N_SLOTS, &pool), -EINVAL);
	REQUIRE(pool == NULL);
	struct px_external_pool ext;
	REQUIRE_EQ(px_vk_pool_get_external(NULL, &ext), -EINVAL);
	struct px_vk_pool_info info;
	REQUIRE_EQ(px_vk_pool_get_info(NULL, &info), -EINVAL);
	REQUIRE(px_vk_pool_get_buffer(NULL, 0, 0) == VK_NULL_HANDLE);
	void *map;
	REQUIRE_EQ(px_vk_pool_map(NULL, 0, 0, &map), -EINVAL);
	REQUIRE(px_vk_pool_get_layout(NULL) == NULL);
	px_vk_pool_destroy(NULL);
	REQUIRE(!strcmp(px_vk_export_name(PX_VK_EXPORT_DMABUF), "dma-buf"));
	REQUIRE(!strcmp(px_vk_export_name(PX_VK_EXPORT_OPAQUE_FD), "opaque fd"));
	printf("refusals: NULL arguments, 0 and %u slots, an invalid layout\n", PX_MAX_SLOTS + 1);
}

/* The device work of the test: fill every row of every buffer of a slot,
 * wait for it. */
static void fill_slot(struct px_test_cmd *cmd, const struct px_vk_pool *pool, uint32_t slot,
		      uint64_t seq)
{
	px_test_cmd_begin(cmd);
	for (uint32_t b = 0; b < layout.n_buffers; b++) {
		VkBuffer buf = px_vk_pool_get_buffer(pool, slot, b);
		REQUIRE(buf != VK_NULL_HANDLE);
		/* Strides are multiples of 4 (checked in main), as
		 * vkCmdFillBuffer's offsets and sizes must be. */
		uint32_t stride = layout.images[b].planes[0].stride;
		for (uint32_t row = 0; row * (uint64_t)stride < layout.buffer_sizes[b]; row++)
			vkCmdFillBuffer(cmd->cb, buf, (VkDeviceSize)row * stride, stride,
					pattern(seq, b, row) * 0x01010101u);
	}
	/* The device's writes made visible to the host (the publisher's
	 * mapping, and the subscriber's of the same memory). */
	VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
			      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
			      .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
	vkCmdPipelineBarrier(cmd->cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0,
			     1, &mb, 0, NULL, 0, NULL);
	px_test_cmd_submit(cmd);
}

/* Descriptions the layout contradicts are refused by px_publisher_create(). */
static void refused_descriptions(const struct px_external_pool *ext,
				 const struct px_set_layout *pub_layout)
{
	struct px_vulkan_export bad = *ext->vulkan;
	struct px_external_pool e = *ext;
	struct px_publisher_params pp = {
	    .topic = "vkpool-bad", .layout = pub_layout, .external = &e};
	struct px_publisher *pub = NULL;
	e.vulkan = &bad;
	bad.offset[0] += 1; /* image 0 then starts before its memory */
	REQUIRE_EQ(px_publisher_create(&pp, &pub), -EINVAL);
	bad = *ext->vulkan;
	bad.buffer_size[1] = bad.allocation_size[1] + 1;
	REQUIRE_EQ(px_publisher_create(&pp, &pub), -EINVAL);
	bad = *ext->vulkan;
	bad.memory_type = 32;
	REQUIRE_EQ(px_publisher_create(&pp, &pub), -EINVAL);
	REQUIRE(pub == NULL);
	printf("refusals: descriptions of the export that the layout contradicts\n");
}

/* Publishes frames_total frames of the pool as round `round`'s topic, the
 * export described as `vulkan`. Returns the buffers checked in the
 * publisher's own mapping; marks the slots used. */
static uint32_t publish(struct px_vk_pool *pool, const struct px_vk_pool_info *info,
			struct px_test_cmd *cmd, uint32_t round,
			const struct px_vulkan_export *vulkan, bool *slots_seen)
{
	struct px_external_pool ext;
	REQUIRE_OK(px_vk_pool_get_external(pool, &ext));
	REQUIRE_EQ(ext.unmapped, info->unmapped);
	ext.vulkan = vulkan;
	ext.unmapped |= round == ROUND_UNMAPPED;
	struct px_publisher *pub;
	struct px_publisher_params pp = {.topic = topic_of(round),
					 .layout = px_vk_pool_get_layout(pool),
					 .external = &ext,
					 .max_subscribers = 1,
					 .max_leases = 1,
					 .description = "test_vkpool"};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	REQUIRE_EQ(px_publisher_get_allocator(pub), PX_ALLOCATOR_EXTERNAL);
	REQUIRE_EQ(px_publisher_get_pool_size(pub), N_SLOTS);
	REQUIRE_EQ(px_publisher_is_dmabuf(pub), info->export_type == PX_VK_EXPORT_DMABUF);
	if (ext.unmapped)
		REQUIRE(!px_publisher_is_mapped(pub));
	/* The subscriber first, so that it sees every frame. */
	px_test_wait_subscriber_of(pub, child, 24000);

	uint32_t cpu_checked = 0;
	for (uint32_t n = 1; n <= frames_total; n++) {
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 120000, &slot));
		REQUIRE(slot->index < N_SLOTS);
		slots_seen[slot->index] = true;
		fill_slot(cmd, pool, slot->index, n);
		/* The memory through Vulkan's own mapping, whether or not any
		 * fd mapping shows it (px_vk_pool_map()). */
		for (uint32_t b = 0; info->host_visible && b < slot->n_buffers; b++) {
			void *m;
			REQUIRE_OK(px_vk_pool_map(pool, slot->index, b, &m));
			check_rows("px_vk_pool_map", n, b, m);
			cpu_checked++;
		}
		/* The publisher's own mapping of the exported memory. */
		for (uint32_t b = 0; info->host_visible && !ext.unmapped && b < slot->n_buffers;
		     b++) {
			const uint8_t *p = slot->buffers[b].data;
			REQUIRE(p);
			check_rows("publisher", n, b, p + info->data_offset[b]);
			cpu_checked++;
		}
		REQUIRE_OK(px_publisher_publish(pub, slot, NULL)); /* sequence = n */
	}
	/* Serve the subscriber until it has released everything. */
	px_test_serve_until_released(pub, 24000);
	px_publisher_destroy(pub);
	return cpu_checked;
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	bool quick = px_test_opt("quick") != NULL;
	frames_total = quick ? 12 : 60;
	int fds = px_test_count_fds();
	px_test_dir();
	struct px_image_desc d[N_IMAGES] = {{PX_FORMAT_XRGB8888, 64, 48}, {PX_FORMAT_R8, 33, 17}};
	REQUIRE_OK(px_layout_init_packed(&layout, N_IMAGES, d, 64, PX_PACK_PER_IMAGE));
	REQUIRE_EQ(layout.n_buffers, N_IMAGES);
	for (uint32_t b = 0; b < layout.n_buffers; b++) {
		const struct px_plane *pl = &layout.images[b].planes[0];
		REQUIRE(pl->buffer == b && pl->offset == 0 && pl->stride % 4 == 0);
		REQUIRE(layout.buffer_sizes[b] % pl->stride == 0);
	}

	/* Before Vulkan starts its threads here. */
	child = px_test_fork(subscriber_main, NULL);

	struct px_vk *vk;
	int ret = px_vk_create(&(struct px_vk_params){.validation = true}, &vk);
	if (ret == -ENODEV) {
		kill(child, SIGKILL);
		px_test_wait(child, 10000);
		SKIP("no Vulkan device (install mesa-vulkan-drivers for lavapipe)");
	}
	REQUIRE_OK(ret);
	struct px_vk_info vinfo;
	REQUIRE_OK(px_vk_get_info(vk, &vinfo));
	refusals(vk);

	struct px_vk_stats st0, st;
	REQUIRE_OK(px_vk_get_stats(vk, &st0));
	struct px_vk_pool *pool;
	ret = px_vk_pool_create(vk, &layout, N_SLOTS, &pool);
	if (ret == -ENOTSUP) {
		px_vk_destroy(vk);
		kill(child, SIGKILL);
		px_test_wait(child, 10000);
		SKIP("%s exports no memory as dma-buf or opaque fd", vinfo.device_name);
	}
	REQUIRE_OK(ret);
	REQUIRE_OK(px_vk_get_stats(vk, &st));
	/* A buffer and a memory per buffer of each slot. */
	REQUIRE(st.allocations - st0.allocations >= 2 * N_SLOTS * layout.n_buffers);
	struct px_vk_pool_info info;
	REQUIRE_OK(px_vk_pool_get_info(pool, &info));
	REQUIRE(info.export_type == PX_VK_EXPORT_DMABUF ||
		info.export_type == PX_VK_EXPORT_OPAQUE_FD);
	const char *want = px_test_opt("require-export");
	if (want && strcmp(want, px_vk_export_name(info.export_type))) {
		fprintf(stderr,
			"FAIL: the pool is exported as %s, not %s (--require-export)\n",
			px_vk_export_name(info.export_type), want);
		exit(1);
	}
	REQUIRE_EQ(info.n_slots, N_SLOTS);
	REQUIRE_EQ(info.n_buffers, layout.n_buffers);
	REQUIRE(px_vk_pool_get_buffer(pool, N_SLOTS, 0) == VK_NULL_HANDLE);
	void *map;
	REQUIRE_EQ(px_vk_pool_map(pool, N_SLOTS, 0, &map), -EINVAL);
	REQUIRE_EQ(px_vk_pool_map(pool, 0, 0, NULL), -EINVAL);
	if (!info.host_visible)
		REQUIRE_EQ(px_vk_pool_map(pool, 0, 0, &map), -ENOTSUP);
	REQUIRE(px_vk_pool_get_buffer(pool, 0, layout.n_buffers) == VK_NULL_HANDLE);

	struct px_external_pool ext;
	REQUIRE_OK(px_vk_pool_get_external(pool, &ext));
	REQUIRE_EQ(ext.n_slots, N_SLOTS);
	for (uint32_t i = 0; i < N_SLOTS * layout.n_buffers; i++) {
		REQUIRE(ext.fds[i] >= 0);
		int fl = fcntl(ext.fds[i], F_GETFD);
		REQUIRE(fl >= 0 && (fl & FD_CLOEXEC));
		for (uint32_t j = 0; j < i; j++)
			REQUIRE(ext.fds[j] != ext.fds[i]);
		REQUIRE(px_vk_pool_get_buffer(pool, i / layout.n_buffers, i % layout.n_buffers) !=
			VK_NULL_HANDLE);
	}
	const struct px_set_layout *pub_layout = px_vk_pool_get_layout(pool);
	REQUIRE(pub_layout);
	for (uint32_t b = 0; b < layout.n_buffers; b++)
		REQUIRE_EQ(pub_layout->buffer_sizes[b],
			   layout.buffer_sizes[b] + info.data_offset[b]);
	/* Opaque fds come with their description, of this device. */
	REQUIRE_EQ(ext.vulkan != NULL, info.export_type == PX_VK_EXPORT_OPAQUE_FD);
	struct px_vulkan_export other;
	if (ext.vulkan) {
		const struct px_vulkan_export *v = ext.vulkan;
		REQUIRE(!memcmp(v->device_uuid, vinfo.device_uuid, VK_UUID_SIZE));
		REQUIRE(!memcmp(v->driver_uuid, vinfo.driver_uuid, VK_UUID_SIZE));
		REQUIRE_EQ(v->memory_type, info.memory_type);
		REQUIRE_EQ(v->dedicated, info.dedicated);
		for (uint32_t b = 0; b < layout.n_buffers; b++) {
			REQUIRE_EQ(v->offset[b], info.data_offset[b]);
			REQUIRE_EQ(v->buffer_size[b], layout.buffer_sizes[b]);
			REQUIRE(v->allocation_size[b] >= layout.buffer_sizes[b]);
		}
		refused_descriptions(&ext, pub_layout);
		other = *v;
		other.device_uuid[0] ^= 0xff;
	}

	struct px_test_cmd cmd;
	px_test_cmd_init(&cmd, vk);
	bool slots_seen[N_SLOTS] = {false};
	uint32_t cpu_checked = 0;
	for (uint32_t round = 0; round < N_ROUNDS; round++)
		if (!round_skipped(round, info.unmapped))
			cpu_checked +=
			    publish(pool, &info, &cmd, round,
				    round != 1 || !ext.vulkan ? ext.vulkan : &other, slots_seen);
	REQUIRE_EQ(px_test_wait(child, 240000), 0);
	uint32_t n_seen = 0;
	for (uint32_t s = 0; s < N_SLOTS; s++)
		n_seen += slots_seen[s];

	px_test_cmd_finish(&cmd);
	px_vk_pool_destroy(pool);
	REQUIRE_OK(px_vk_get_stats(vk, &st));
	printf("vkpool: %s (%s), %u rounds of %u frames filled on the device through %u of %u "
	       "slots of %u buffers exported as %ss, %s memory%s, at offset %llu of the fds; %u "
	       "buffers checked on the CPU (Vulkan's mapping, the publisher's); %llu validation "
	       "errors, %llu "
	       "warnings\n",
	       vinfo.device_name, vinfo.why, N_ROUNDS, frames_total, n_seen, N_SLOTS,
	       layout.n_buffers, px_vk_export_name(info.export_type),
	       info.host_visible ? "host-visible" : "device-local",
	       info.dedicated ? " (dedicated)" : "", (unsigned long long)info.data_offset[0],
	       cpu_checked, (unsigned long long)st.validation_errors,
	       (unsigned long long)st.validation_warnings);
	REQUIRE_EQ(st.validation_errors, 0);
	px_vk_destroy(vk);
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}
