/* SPDX-License-Identifier: MIT */
/*
 * A publisher whose pool a Vulkan device allocated and exported
 * (px_vk_pool), on whatever device px_vk_create() picks (lavapipe here),
 * with the validation layer on:
 *
 *   this process: px_vk_pool → px_publisher (external pool); every frame's
 *     buffers filled on the device with vkCmdFillBuffer, a value per buffer
 *     drawn from the frame number, the fence waited for, then published
 *     → a subscriber process (forked before Vulkan starts its threads),
 *       which checks every byte of every buffer of every frame against the
 *       value its sequence number gives.
 *
 * Checked: every frame arrives (reliable QoS) with the device's bytes, in the
 * subscriber's mapping and in the publisher's own; the publisher reports the
 * external allocator; the exported fds are CLOEXEC and distinct; the
 * refusals (NULL arguments, 0 slots, more than PX_MAX_SLOTS, an invalid
 * layout, indices out of range); allocations counted; zero validation
 * errors; no fd left open at the end.
 */
#include <errno.h>

#include <pixshare/pixshare.h>
#include <pixshare/vulkan.h>

#include "px_testutil.h"
#include "px_vktestutil.h"

#define N_IMAGES 2
#define N_SLOTS 4

static uint32_t frames_total;
static struct px_set_layout layout;

/* The byte every byte of buffer b of frame `seq` holds. */
static uint8_t pattern(uint64_t seq, uint32_t b)
{
	return (uint8_t)(seq * 37 + b * 101 + 1);
}

static int subscriber_main(void *arg)
{
	(void)arg;
	struct px_subscriber *sub;
	struct px_subscriber_params sp = {.topic = "vkpool",
					  .qos = PX_QOS_RELIABLE,
					  .connect_timeout_ms = 240000,
					  .max_leases = 1,
					  .flags = PX_SUBSCRIBER_NO_RECONNECT};
	REQUIRE_OK(px_subscriber_create(&sp, &sub));
	const struct px_set_layout *l = px_subscriber_get_layout(sub);
	REQUIRE_EQ(l->n_images, N_IMAGES);
	REQUIRE_EQ(l->n_buffers, layout.n_buffers);
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
	uint32_t checked = 0;
	uint64_t last = 0, bytes = 0;
	struct px_frame *f;
	int ret;
	while ((ret = px_subscriber_receive(sub, &f, 240000)) == 0) {
		uint64_t seq = f->images[0].sequence;
		REQUIRE_EQ(f->images[1].sequence, seq);
		REQUIRE(seq == last + 1); /* nothing lost, nothing reordered */
		last = seq;
		REQUIRE_EQ(f->n_buffers, layout.n_buffers);
		for (uint32_t b = 0; b < f->n_buffers; b++) {
			REQUIRE(f->buffers[b].data);
			REQUIRE(f->buffers[b].size >= l->buffer_sizes[b]);
			const uint8_t *p = (const uint8_t *)f->buffers[b].data + at[b];
			uint8_t want = pattern(seq, b);
			for (uint64_t i = 0; i < layout.buffer_sizes[b]; i++) {
				if (p[i] != want) {
					fprintf(stderr,
						"frame %llu slot %u buffer %u byte %llu: %#x, "
						"expected %#x\n",
						(unsigned long long)seq, f->slot, b,
						(unsigned long long)i, p[i], want);
					REQUIRE(p[i] == want);
				}
			}
			bytes += layout.buffer_sizes[b];
		}
		px_frame_release(f);
		checked++;
	}
	REQUIRE_EQ(ret, -EPIPE);
	printf("subscriber: %u frames, every byte checked (%llu bytes)\n", checked,
	       (unsigned long long)bytes);
	REQUIRE_EQ(checked, frames_total);
	px_subscriber_destroy(sub);
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
	REQUIRE(px_vk_pool_get_layout(NULL) == NULL);
	px_vk_pool_destroy(NULL);
	REQUIRE(!strcmp(px_vk_export_name(PX_VK_EXPORT_DMABUF), "dma-buf"));
	REQUIRE(!strcmp(px_vk_export_name(PX_VK_EXPORT_OPAQUE_FD), "opaque fd"));
	printf("refusals: NULL arguments, 0 and %u slots, an invalid layout\n", PX_MAX_SLOTS + 1);
}

/* The device work of the test: fill every buffer of a slot, wait for it. */
static void fill_slot(struct px_test_cmd *cmd, const struct px_vk_pool *pool, uint32_t slot,
		      uint64_t seq)
{
	px_test_cmd_begin(cmd);
	for (uint32_t b = 0; b < layout.n_buffers; b++) {
		VkBuffer buf = px_vk_pool_get_buffer(pool, slot, b);
		REQUIRE(buf != VK_NULL_HANDLE);
		/* The layout's buffer sizes are multiples of 4 (checked in
		 * main), so VK_WHOLE_SIZE covers every byte. */
		vkCmdFillBuffer(cmd->cb, buf, 0, VK_WHOLE_SIZE, pattern(seq, b) * 0x01010101u);
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

int main(void)
{
	bool quick = getenv("PX_TEST_QUICK") != NULL;
	frames_total = quick ? 12 : 120;
	int fds = px_test_count_fds();
	px_test_dir();
	struct px_image_desc d[N_IMAGES] = {{PX_FORMAT_XRGB8888, 64, 48}, {PX_FORMAT_R8, 33, 17}};
	REQUIRE_OK(px_layout_init_packed(&layout, N_IMAGES, d, 64, PX_PACK_PER_IMAGE));
	REQUIRE_EQ(layout.n_buffers, N_IMAGES);
	for (uint32_t b = 0; b < layout.n_buffers; b++)
		REQUIRE(layout.buffer_sizes[b] % 4 == 0);

	/* Before Vulkan starts its threads here. */
	pid_t child = px_test_fork(subscriber_main, NULL);

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
	REQUIRE_EQ(info.n_slots, N_SLOTS);
	REQUIRE_EQ(info.n_buffers, layout.n_buffers);
	REQUIRE(px_vk_pool_get_buffer(pool, N_SLOTS, 0) == VK_NULL_HANDLE);
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

	struct px_publisher *pub;
	const struct px_set_layout *pub_layout = px_vk_pool_get_layout(pool);
	REQUIRE(pub_layout);
	for (uint32_t b = 0; b < layout.n_buffers; b++)
		REQUIRE_EQ(pub_layout->buffer_sizes[b],
			   layout.buffer_sizes[b] + info.data_offset[b]);
	struct px_publisher_params pp = {.topic = "vkpool",
					 .layout = pub_layout,
					 .external = &ext,
					 .max_subscribers = 1,
					 .max_leases = 1,
					 .description = "test_vkpool"};
	REQUIRE_OK(px_publisher_create(&pp, &pub));
	REQUIRE_EQ(px_publisher_get_allocator(pub), PX_ALLOCATOR_EXTERNAL);
	REQUIRE_EQ(px_publisher_get_pool_size(pub), N_SLOTS);
	REQUIRE_EQ(px_publisher_is_dmabuf(pub), info.export_type == PX_VK_EXPORT_DMABUF);

	struct px_test_cmd cmd;
	px_test_cmd_init(&cmd, vk);
	/* The subscriber first, so that it sees every frame. */
	px_test_wait_subscribers_tries(pub, 1, 24000);

	bool slots_seen[N_SLOTS] = {false};
	uint32_t cpu_checked = 0;
	for (uint32_t n = 1; n <= frames_total; n++) {
		struct px_slot *slot;
		REQUIRE_OK(px_publisher_acquire(pub, 120000, &slot));
		REQUIRE(slot->index < N_SLOTS);
		slots_seen[slot->index] = true;
		fill_slot(&cmd, pool, slot->index, n);
		/* The publisher's own mapping of the exported memory. */
		for (uint32_t b = 0; info.host_visible && b < slot->n_buffers; b++) {
			const uint8_t *p = slot->buffers[b].data;
			REQUIRE(p);
			p += info.data_offset[b];
			for (uint64_t i = 0; i < layout.buffer_sizes[b]; i++)
				REQUIRE_EQ(p[i], pattern(n, b));
			cpu_checked++;
		}
		REQUIRE_OK(px_publisher_publish(pub, slot, NULL)); /* sequence = n */
	}
	/* Serve the subscriber until it has released everything. */
	px_test_serve_until_released(pub, 24000);
	px_publisher_destroy(pub);
	REQUIRE_EQ(px_test_wait(child, 240000), 0);
	uint32_t n_seen = 0;
	for (uint32_t s = 0; s < N_SLOTS; s++)
		n_seen += slots_seen[s];

	px_test_cmd_finish(&cmd);
	px_vk_pool_destroy(pool);
	REQUIRE_OK(px_vk_get_stats(vk, &st));
	printf("vkpool: %s (%s), %u frames filled on the device through %u of %u slots of %u "
	       "buffers exported as %ss, %s memory%s, at offset %llu of the fds; %u buffers "
	       "checked in the publisher's "
	       "mapping; %llu validation errors, %llu warnings\n",
	       vinfo.device_name, vinfo.why, frames_total, n_seen, N_SLOTS, layout.n_buffers,
	       px_vk_export_name(info.export_type),
	       info.host_visible ? "host-visible" : "device-local",
	       info.dedicated ? " (dedicated)" : "", (unsigned long long)info.data_offset[0],
	       cpu_checked, (unsigned long long)st.validation_errors,
	       (unsigned long long)st.validation_warnings);
	REQUIRE_EQ(st.validation_errors, 0);
	px_vk_destroy(vk);
	REQUIRE_EQ(px_test_count_fds(), fds);
	return 0;
}
