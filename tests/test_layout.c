/* SPDX-License-Identifier: MIT */
/* Layout helpers and validation, with hostile sizes. */
#include <errno.h>
#include <stdint.h>

#include <pixshare/layout.h>

#include "px_test.h"

static void test_formats(void)
{
	uint32_t list[64];
	size_t n = px_format_list(list, 64);
	REQUIRE(n >= 12);
	for (size_t i = 0; i < n; i++) {
		const struct px_format_info *f = px_format_get_info(list[i]);
		char name[16];
		uint32_t back;
		REQUIRE(f);
		REQUIRE_OK(px_format_from_name(px_format_name(list[i], name, sizeof(name)), &back));
		REQUIRE_EQ(back, list[i]);
	}
	uint32_t f;
	REQUIRE_OK(px_format_from_name("yuyv", &f));
	REQUIRE_EQ(f, PX_FORMAT_YUYV);
	REQUIRE_OK(px_format_from_name("GRAY8", &f));
	REQUIRE_EQ(f, PX_FORMAT_R8);
	REQUIRE_OK(px_format_from_name("XR24", &f));
	REQUIRE_EQ(f, PX_FORMAT_XRGB8888);
	REQUIRE_OK(px_format_from_name("RGBA", &f));
	REQUIRE_EQ(f, PX_FORMAT_ABGR8888);
	REQUIRE_EQ(px_format_from_name("NOPE", &f), -EINVAL);
	REQUIRE_EQ(px_format_from_name("", &f), -EINVAL);
	char name[16];
	REQUIRE(!strcmp(px_format_name(0x12345678, name, sizeof(name)), "0x12345678"));
}

static void test_packed(void)
{
	struct px_set_layout l;
	struct px_image_desc d[6];
	char why[160];

	for (int i = 0; i < 6; i++)
		d[i] = (struct px_image_desc){PX_FORMAT_YUYV, 1280, 800};
	REQUIRE_OK(px_layout_init_packed(&l, 6, d, 64, PX_PACK_PER_IMAGE));
	REQUIRE_OK(px_layout_validate(&l, why, sizeof(why)));
	REQUIRE_EQ(l.n_buffers, 6);
	REQUIRE_EQ(px_layout_slot_bytes(&l), 12288000);
	REQUIRE_EQ(l.images[3].planes[0].stride, 2560);
	REQUIRE_EQ(l.images[3].planes[0].buffer, 3);

	/* NV12 at an odd size: chroma rounds up; strides aligned. */
	d[0] = (struct px_image_desc){PX_FORMAT_NV12, 333, 171};
	REQUIRE_OK(px_layout_init_packed(&l, 1, d, 64, PX_PACK_PER_IMAGE));
	REQUIRE_EQ(l.images[0].n_planes, 2);
	REQUIRE_EQ(l.images[0].planes[0].stride, 384);
	REQUIRE_EQ(l.images[0].planes[1].stride, 384); /* 167 × 2 = 334 → 384 */
	REQUIRE_EQ(l.images[0].planes[1].offset, 384 * 171);
	REQUIRE_EQ(px_image_plane_rows(&l.images[0], 1), 86);
	REQUIRE_EQ(l.buffer_sizes[0], 384 * 171 + 384 * 86);
	REQUIRE_OK(px_layout_validate(&l, why, sizeof(why)));

	/* A batch: one buffer, images one after another. */
	d[0] = (struct px_image_desc){PX_FORMAT_RGB888, 5, 3};
	d[1] = (struct px_image_desc){PX_FORMAT_R16, 7, 2};
	d[2] = (struct px_image_desc){PX_FORMAT_P010, 4, 4};
	REQUIRE_OK(px_layout_init_packed(&l, 3, d, 16, PX_PACK_BATCH));
	REQUIRE_EQ(l.n_buffers, 1);
	REQUIRE_EQ(l.images[0].planes[0].stride, 16);
	REQUIRE_EQ(l.images[1].planes[0].offset, 48);
	REQUIRE_EQ(l.images[2].planes[1].buffer, 0);
	REQUIRE_OK(px_layout_validate(&l, why, sizeof(why)));

	/* Every format at 1×1 and at odd sizes. */
	uint32_t fmts[64];
	size_t n = px_format_list(fmts, 64);
	for (size_t i = 0; i < n; i++) {
		d[0] = (struct px_image_desc){fmts[i], 1, 1};
		d[1] = (struct px_image_desc){fmts[i], 4097, 3};
		REQUIRE_OK(px_layout_init_packed(&l, 2, d, 0, PX_PACK_PER_IMAGE));
		REQUIRE_OK(px_layout_validate(&l, why, sizeof(why)));
	}

	/* Bad requests. */
	struct px_set_layout untouched;
	memset(&untouched, 0x5a, sizeof(untouched));
	l = untouched;
	d[0] = (struct px_image_desc){PX_FORMAT_YUYV, 0, 10};
	REQUIRE_EQ(px_layout_init_packed(&l, 1, d, 0, PX_PACK_PER_IMAGE), -EINVAL);
	REQUIRE(!memcmp(&l, &untouched, sizeof(l)));
	d[0] = (struct px_image_desc){PX_FORMAT_YUYV, 40000, 10};
	REQUIRE_EQ(px_layout_init_packed(&l, 1, d, 0, PX_PACK_PER_IMAGE), -EINVAL);
	d[0] = (struct px_image_desc){0x11111111, 10, 10};
	REQUIRE_EQ(px_layout_init_packed(&l, 1, d, 0, PX_PACK_PER_IMAGE), -EINVAL);
	d[0] = (struct px_image_desc){PX_FORMAT_R8, 10, 10};
	REQUIRE_EQ(px_layout_init_packed(&l, 0, d, 0, PX_PACK_PER_IMAGE), -EINVAL);
	REQUIRE_EQ(px_layout_init_packed(&l, 17, d, 0, PX_PACK_PER_IMAGE), -EINVAL);
	REQUIRE_EQ(px_layout_init_packed(&l, 1, d, 48, PX_PACK_PER_IMAGE), -EINVAL);
	/* The largest sizes do not overflow. */
	REQUIRE_OK(px_layout_init_packed(&l, 16, (struct px_image_desc[16]){
		{PX_FORMAT_P010, 32768, 32768}, {PX_FORMAT_P010, 32768, 32768},
		{PX_FORMAT_P010, 32768, 32768}, {PX_FORMAT_P010, 32768, 32768},
		{PX_FORMAT_P010, 32768, 32768}, {PX_FORMAT_P010, 32768, 32768},
		{PX_FORMAT_P010, 32768, 32768}, {PX_FORMAT_P010, 32768, 32768},
		{PX_FORMAT_P010, 32768, 32768}, {PX_FORMAT_P010, 32768, 32768},
		{PX_FORMAT_P010, 32768, 32768}, {PX_FORMAT_P010, 32768, 32768},
		{PX_FORMAT_P010, 32768, 32768}, {PX_FORMAT_P010, 32768, 32768},
		{PX_FORMAT_P010, 32768, 32768}, {PX_FORMAT_P010, 32768, 32768}},
		4096, PX_PACK_BATCH));
	REQUIRE_OK(px_layout_validate(&l, why, sizeof(why)));
	REQUIRE_EQ(l.buffer_sizes[0], 16ull * (65536ull * 32768 + 65536ull * 16384));
}

/* Each hostile edit of a good layout is refused with a reason. */
static void test_validate(void)
{
	struct px_set_layout good, l;
	struct px_image_desc d[2] = {{PX_FORMAT_NV12, 64, 32}, {PX_FORMAT_XRGB8888, 16, 16}};
	char why[160];
	REQUIRE_OK(px_layout_init_packed(&good, 2, d, 64, PX_PACK_PER_IMAGE));

#define BAD(edit)                                                              \
	do {                                                                   \
		l = good;                                                      \
		edit;                                                          \
		why[0] = '\0';                                                 \
		REQUIRE_EQ(px_layout_validate(&l, why, sizeof(why)), -EINVAL); \
		REQUIRE(why[0] != '\0');                                       \
	} while (0)

	BAD(l.n_images = 0);
	BAD(l.n_images = 17);
	BAD(l.n_images = UINT32_MAX);
	BAD(l.n_buffers = 0);
	BAD(l.n_buffers = PX_MAX_BUFFERS + 1);
	BAD(l.n_buffers = 3); /* buffer 2 of size 0 */
	BAD(l.buffer_sizes[1] = 0);
	BAD(l.buffer_sizes[0] -= 1);
	BAD(l.images[0].fourcc = 0);
	BAD(l.images[0].width = 0);
	BAD(l.images[0].height = 40000);
	BAD(l.images[0].n_planes = 1);
	BAD(l.images[0].n_planes = 5);
	BAD(l.images[0].planes[1].buffer = 9);
	BAD(l.images[0].planes[0].stride = 63);
	BAD(l.images[0].planes[0].stride = UINT32_MAX);
	BAD(l.images[0].planes[1].offset = UINT64_MAX - 10);
	BAD(l.images[0].planes[1].offset = l.buffer_sizes[0]);
	BAD(l.images[1].planes[0].buffer = 0; l.buffer_sizes[1] = 1); /* buffer 1 unused */
	BAD(l.images[1].width = 17);
	REQUIRE_EQ(px_layout_validate(NULL, why, sizeof(why)), -EINVAL);
	REQUIRE_OK(px_layout_validate(&good, NULL, 0));

	l = good;
	REQUIRE(px_layout_equal(&l, &good));
	l.images[1].planes[0].stride += 64;
	REQUIRE(!px_layout_equal(&l, &good));
}

int main(void)
{
	test_formats();
	test_packed();
	test_validate();
	printf("layout: ok\n");
	return 0;
}
