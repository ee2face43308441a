/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: px_layout_validate() on any struct px_set_layout, and
 * then everything that touches memory through a layout it accepted — a
 * peer's layout reaches these after validation alone. Each buffer is a heap
 * block of exactly the layout's size, so AddressSanitizer sees any byte
 * outside it: px_image_write() and px_image_read() (to and from the image's
 * own format or one of the conversion formats), the test pattern's draw,
 * verify and decode, the compressed-image bounds and the wire encoding.
 *
 * Input: the struct's bytes, then u8 options (bits 0-1: the CPU image's
 * format: the layout's own, RGB888, XRGB8888 or R8; bits 2-3: PX_IMAGE_*
 * flags), then bytes that fill the buffers. Layouts of more than 256 KiB of
 * buffers or images are skipped.
 */
#include <errno.h>

#include <pixshare/image.h>
#include <pixshare/testpattern.h>

#include "core/util.h"
#include "core/wire.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_BYTES (256u << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

/* Writes, reads back and pattern-checks image `i`, whose planes are in `bufs`. */
static void exercise_image(const struct px_set_layout *l, uint32_t i, uint8_t *const *bufs,
			   uint8_t opts)
{
	static const uint32_t cpu_formats[] = {0, PX_FORMAT_RGB888, PX_FORMAT_XRGB8888,
					       PX_FORMAT_R8};
	const struct px_image_layout *img = &l->images[i];
	const struct px_format_info *f = px_format_get_info(img->fourcc);
	void *planes[PX_MAX_PLANES] = {NULL};

	for (uint32_t p = 0; p < img->n_planes; p++)
		planes[p] = bufs[img->planes[p].buffer] + img->planes[p].offset;
	uint64_t room = px_image_compressed_room(l, i);
	if (f->compressed) {
		CHECK(room >= 1 && room <= l->buffer_sizes[img->planes[0].buffer]);
		CHECK(px_image_bytes_valid(l, i, true, room) &&
		      !px_image_bytes_valid(l, i, true, room + 1));
		return;
	}
	CHECK(room == 0 && px_image_bytes_valid(l, i, false, 0));

	struct px_cpu_image cpu = {
	    .fourcc = cpu_formats[opts & 3] ? cpu_formats[opts & 3] : img->fourcc,
	    .width = img->width,
	    .height = img->height,
	};
	uint64_t size = px_cpu_image_size(&cpu);
	if (size && size <= MAX_BYTES) {
		uint8_t *mem = malloc(size);
		CHECK(mem);
		memset(mem, 0x5a, size);
		cpu.planes[0] = mem;
		uint32_t flags = (opts >> 2) & 3;
		int ret = px_image_write(img, planes, &cpu, flags);
		/* A linear layout validate() accepted has strides to write
		 * with; the validator leaves other modifiers' to the driver. */
		CHECK(ret == 0 || ret == -ENOTSUP ||
		      (ret == -EINVAL && img->modifier != PX_MODIFIER_LINEAR));
		if (ret == 0)
			CHECK(px_image_read(img, (const void *const *)planes, &cpu, flags) == 0);
		free(mem);
	}
	struct px_pattern_params pp = {.frame = 7, .image_index = i, .timestamp_ns = 123456789};
	if (px_pattern_draw(img, planes, &pp) == 0) {
		/* Not checked equal: a valid layout may overlap planes (and
		 * images), and then the last one drawn wins. */
		char why[160];
		px_pattern_verify(img, (const void *const *)planes, &pp, why, sizeof(why));
		struct px_pattern_params got;
		px_pattern_decode(img, (const void *const *)planes, &got);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct px_set_layout l;
	char why[200];

	fuzz_bytes(&in, &l, sizeof(l));
	uint8_t opts = fuzz_u8(&in);
	if (px_layout_validate(&l, why, sizeof(why)))
		return 0;
	uint64_t total = px_layout_slot_bytes(&l);
	for (uint32_t b = 0; b < l.n_buffers; b++)
		CHECK(l.buffer_sizes[b] <= total);
	if (total > MAX_BYTES)
		return 0;

	/* The wire form says the same. */
	struct px_wire_layout w;
	struct px_set_layout back;
	px_wire_encode_layout(&w, &l);
	CHECK(px_wire_decode_layout(&w, &back, why, sizeof(why)) == 0);
	CHECK(px_layout_equal(&l, &back));

	uint8_t *bufs[PX_MAX_BUFFERS] = {NULL};
	for (uint32_t b = 0; b < l.n_buffers; b++) {
		bufs[b] = malloc(l.buffer_sizes[b]);
		CHECK(bufs[b]);
		fuzz_bytes(&in, bufs[b], l.buffer_sizes[b]);
	}
	for (uint32_t i = 0; i < l.n_images; i++)
		exercise_image(&l, i, bufs, opts);
	for (uint32_t b = 0; b < l.n_buffers; b++)
		free(bufs[b]);
	return 0;
}
