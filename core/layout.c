/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <pixshare/layout.h>

#include "core/util.h"

/* Largest width or height accepted: 32768 keeps every product below 2^63. */
#define MAX_DIM 32768u

static const struct px_format_info formats[] = {
	{PX_FORMAT_XRGB8888, "XRGB8888", 1, {4}, {1}, 1, 1, false, false},
	{PX_FORMAT_ARGB8888, "ARGB8888", 1, {4}, {1}, 1, 1, false, false},
	{PX_FORMAT_XBGR8888, "XBGR8888", 1, {4}, {1}, 1, 1, false, false},
	{PX_FORMAT_ABGR8888, "ABGR8888", 1, {4}, {1}, 1, 1, false, false},
	{PX_FORMAT_RGB888, "RGB888", 1, {3}, {1}, 1, 1, false, false},
	{PX_FORMAT_BGR888, "BGR888", 1, {3}, {1}, 1, 1, false, false},
	{PX_FORMAT_R8, "R8", 1, {1}, {1}, 1, 1, false, false},
	{PX_FORMAT_R16, "R16", 1, {2}, {1}, 1, 1, false, false},
	{PX_FORMAT_YUYV, "YUYV", 1, {4}, {2}, 2, 1, true, false},
	{PX_FORMAT_UYVY, "UYVY", 1, {4}, {2}, 2, 1, true, false},
	{PX_FORMAT_NV12, "NV12", 2, {1, 2}, {1, 1}, 2, 2, true, false},
	{PX_FORMAT_P010, "P010", 2, {2, 4}, {1, 1}, 2, 2, true, false},
	{PX_FORMAT_YUV420, "YUV420", 3, {1, 1, 1}, {1, 1, 1}, 2, 2, true, false},
	{PX_FORMAT_YUV422, "YUV422", 3, {1, 1, 1}, {1, 1, 1}, 2, 1, true, false},
	{PX_FORMAT_MJPEG, "MJPEG", 1, {0}, {1}, 1, 1, false, true},
};

static const struct {
	const char *alias;
	uint32_t fourcc;
} aliases[] = {
	{"GRAY8", PX_FORMAT_R8},     {"GREY", PX_FORMAT_R8},     {"GRAY", PX_FORMAT_R8},
	{"GRAY16", PX_FORMAT_R16},   {"Y16", PX_FORMAT_R16},     {"BGRX", PX_FORMAT_XRGB8888},
	{"BGRA", PX_FORMAT_ARGB8888}, {"RGBX", PX_FORMAT_XBGR8888}, {"RGBA", PX_FORMAT_ABGR8888},
	{"RGB", PX_FORMAT_BGR888},   {"BGR", PX_FORMAT_RGB888},   {"YUY2", PX_FORMAT_YUYV},
	{"I420", PX_FORMAT_YUV420},  {"I422", PX_FORMAT_YUV422},
};

PX_API const struct px_format_info *px_format_get_info(uint32_t fourcc)
{
	for (size_t i = 0; i < PX_ARRAY_SIZE(formats); i++)
		if (formats[i].fourcc == fourcc)
			return &formats[i];
	return NULL;
}

PX_API size_t px_format_list(uint32_t *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < PX_ARRAY_SIZE(formats); i++) {
		if (formats[i].compressed)
			continue;
		if (n < max)
			out[n] = formats[i].fourcc;
		n++;
	}
	return n;
}

PX_API const char *px_format_name(uint32_t fourcc, char *buf, size_t size)
{
	const struct px_format_info *info = px_format_get_info(fourcc);
	if (info)
		snprintf(buf, size, "%s", info->name);
	else
		snprintf(buf, size, "0x%08x", fourcc);
	return buf;
}

PX_API int px_format_from_name(const char *name, uint32_t *fourcc)
{
	if (!name || !fourcc)
		return -EINVAL;
	for (size_t i = 0; i < PX_ARRAY_SIZE(formats); i++) {
		if (!strcasecmp(name, formats[i].name)) {
			*fourcc = formats[i].fourcc;
			return 0;
		}
	}
	for (size_t i = 0; i < PX_ARRAY_SIZE(aliases); i++) {
		if (!strcasecmp(name, aliases[i].alias)) {
			*fourcc = aliases[i].fourcc;
			return 0;
		}
	}
	/* A raw code such as "XR24" or "R8" (padded with spaces). */
	size_t len = strlen(name);
	if (len >= 2 && len <= 4) {
		char c[4] = {' ', ' ', ' ', ' '};
		memcpy(c, name, len);
		uint32_t f = PX_FOURCC(c[0], c[1], c[2], c[3]);
		if (px_format_get_info(f)) {
			*fourcc = f;
			return 0;
		}
	}
	return -EINVAL;
}

static uint32_t div_up(uint32_t a, uint32_t b)
{
	return a / b + (a % b != 0);
}

static uint64_t plane_row_bytes(const struct px_format_info *f, uint32_t width, uint32_t plane)
{
	uint32_t w = plane == 0 ? width : div_up(width, f->hsub);
	return (uint64_t)div_up(w, f->block_w[plane]) * f->cpp[plane];
}

static uint32_t plane_rows(const struct px_format_info *f, uint32_t height, uint32_t plane)
{
	return plane == 0 ? height : div_up(height, f->vsub);
}

PX_API uint64_t px_image_row_bytes(const struct px_image_layout *image, uint32_t plane)
{
	const struct px_format_info *f = px_format_get_info(image->fourcc);
	if (!f || plane >= f->n_planes)
		return 0;
	return plane_row_bytes(f, image->width, plane);
}

PX_API uint32_t px_image_plane_rows(const struct px_image_layout *image, uint32_t plane)
{
	const struct px_format_info *f = px_format_get_info(image->fourcc);
	if (!f || plane >= f->n_planes)
		return 0;
	return plane_rows(f, image->height, plane);
}

uint64_t px_image_compressed_room(const struct px_set_layout *layout, uint32_t image)
{
	const struct px_image_layout *img = &layout->images[image];
	const struct px_format_info *f = px_format_get_info(img->fourcc);
	if (!f || !f->compressed)
		return 0;
	return layout->buffer_sizes[img->planes[0].buffer] - img->planes[0].offset;
}

bool px_image_bytes_valid(const struct px_set_layout *layout, uint32_t image, bool present,
			  uint64_t bytes)
{
	uint64_t room = px_image_compressed_room(layout, image);
	return room && present ? bytes >= 1 && bytes <= room : bytes == 0;
}

PX_API uint64_t px_layout_slot_bytes(const struct px_set_layout *layout)
{
	uint64_t total = 0;
	/* A peer's layout may give any sizes: never a total that wrapped. */
	for (uint32_t b = 0; b < layout->n_buffers && b < PX_MAX_BUFFERS; b++)
		if (__builtin_add_overflow(total, layout->buffer_sizes[b], &total))
			return UINT64_MAX;
	return total;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

PX_API int px_layout_init_packed(struct px_set_layout *layout, uint32_t n_images,
				 const struct px_image_desc *descs, uint32_t row_align,
				 enum px_packing packing)
{
	if (!layout || !descs) {
		px_log_error("layout: NULL argument");
		return -EINVAL;
	}
	if (n_images < 1 || n_images > PX_MAX_IMAGES) {
		px_log_error("layout: %u images; 1 to %u allowed", n_images, PX_MAX_IMAGES);
		return -EINVAL;
	}
	if (row_align == 0)
		row_align = 1;
	if ((row_align & (row_align - 1)) || row_align > 4096) {
		px_log_error("layout: row alignment %u is not a power of two up to 4096", row_align);
		return -EINVAL;
	}
	if (packing != PX_PACK_PER_IMAGE && packing != PX_PACK_BATCH) {
		px_log_error("layout: unknown packing %d", (int)packing);
		return -EINVAL;
	}

	struct px_set_layout l;
	memset(&l, 0, sizeof(l));
	l.n_images = n_images;
	l.n_buffers = packing == PX_PACK_BATCH ? 1 : n_images;
	uint64_t offset = 0;
	for (uint32_t i = 0; i < n_images; i++) {
		char name[16];
		const struct px_format_info *f = px_format_get_info(descs[i].fourcc);
		if (!f) {
			px_log_error("layout: image %u: unsupported format %s", i,
				     px_format_name(descs[i].fourcc, name, sizeof(name)));
			return -EINVAL;
		}
		if (f->compressed) {
			px_log_error("layout: image %u: %s is compressed: its buffer size is the "
				     "source's to say; describe the layout yourself",
				     i, f->name);
			return -EINVAL;
		}
		if (descs[i].width < 1 || descs[i].height < 1 || descs[i].width > MAX_DIM ||
		    descs[i].height > MAX_DIM) {
			px_log_error("layout: image %u: size %ux%u; 1 to %u allowed", i,
				     descs[i].width, descs[i].height, MAX_DIM);
			return -EINVAL;
		}
		struct px_image_layout *img = &l.images[i];
		img->fourcc = f->fourcc;
		img->width = descs[i].width;
		img->height = descs[i].height;
		img->n_planes = f->n_planes;
		img->modifier = PX_MODIFIER_LINEAR;
		if (packing == PX_PACK_PER_IMAGE)
			offset = 0;
		for (uint32_t p = 0; p < f->n_planes; p++) {
			uint64_t stride = align_up(plane_row_bytes(f, img->width, p), row_align);
			offset = align_up(offset, row_align);
			img->planes[p].buffer = packing == PX_PACK_BATCH ? 0 : i;
			img->planes[p].offset = offset;
			img->planes[p].stride = (uint32_t)stride;
			offset += stride * plane_rows(f, img->height, p);
		}
		if (packing == PX_PACK_PER_IMAGE)
			l.buffer_sizes[i] = offset;
	}
	if (packing == PX_PACK_BATCH)
		l.buffer_sizes[0] = offset;
	*layout = l;
	return 0;
}

#define FAIL(...)                                           \
	do {                                                \
		if (why && why_size)                        \
			snprintf(why, why_size, __VA_ARGS__); \
		return -EINVAL;                             \
	} while (0)

PX_API int px_layout_validate(const struct px_set_layout *l, char *why, size_t why_size)
{
	if (!l)
		FAIL("layout is NULL");
	if (l->n_images < 1 || l->n_images > PX_MAX_IMAGES)
		FAIL("%u images; 1 to %u allowed", l->n_images, PX_MAX_IMAGES);
	if (l->n_buffers < 1 || l->n_buffers > PX_MAX_BUFFERS)
		FAIL("%u buffers; 1 to %u allowed", l->n_buffers, PX_MAX_BUFFERS);
	bool used[PX_MAX_BUFFERS] = {false};
	for (uint32_t b = 0; b < l->n_buffers; b++)
		if (l->buffer_sizes[b] == 0)
			FAIL("buffer %u has size 0", b);
	for (uint32_t i = 0; i < l->n_images; i++) {
		const struct px_image_layout *img = &l->images[i];
		char name[16];
		const struct px_format_info *f = px_format_get_info(img->fourcc);
		if (!f)
			FAIL("image %u: unsupported format %s", i,
			     px_format_name(img->fourcc, name, sizeof(name)));
		if (img->width < 1 || img->height < 1 || img->width > MAX_DIM ||
		    img->height > MAX_DIM)
			FAIL("image %u: size %ux%u; 1 to %u allowed", i, img->width, img->height,
			     MAX_DIM);
		bool linear = img->modifier == PX_MODIFIER_LINEAR;
		if (linear ? img->n_planes != f->n_planes
			   : (img->n_planes < f->n_planes || img->n_planes > PX_MAX_PLANES))
			FAIL("image %u: %u planes for %s with modifier 0x%llx", i, img->n_planes,
			     f->name, (unsigned long long)img->modifier);
		for (uint32_t p = 0; p < img->n_planes; p++) {
			const struct px_plane *pl = &img->planes[p];
			if (pl->buffer >= l->n_buffers)
				FAIL("image %u plane %u: buffer %u of %u", i, p, pl->buffer,
				     l->n_buffers);
			used[pl->buffer] = true;
			uint64_t size = l->buffer_sizes[pl->buffer];
			if (pl->offset >= size)
				FAIL("image %u plane %u: offset %llu past buffer %u (%llu bytes)", i,
				     p, (unsigned long long)pl->offset, pl->buffer,
				     (unsigned long long)size);
			/* A tiled layout's extent is the driver's business; an
			 * implicit one's (PX_MODIFIER_INVALID) is ours too: the
			 * CPU paths (px_image_write(), px_image_read(), the test
			 * pattern) read it as linear rows. */
			if ((!linear && img->modifier != PX_MODIFIER_INVALID) || p >= f->n_planes)
				continue;
			if (f->compressed) {
				if (pl->stride)
					FAIL("image %u: %s has no rows: stride %u, not 0", i, f->name,
					     pl->stride);
				continue;
			}
			uint64_t row = plane_row_bytes(f, img->width, p);
			uint32_t rows = plane_rows(f, img->height, p);
			if (pl->stride < row)
				FAIL("image %u plane %u: stride %u below the row size %llu", i, p,
				     pl->stride, (unsigned long long)row);
			uint64_t end;
			if (__builtin_mul_overflow((uint64_t)pl->stride, (uint64_t)(rows - 1), &end) ||
			    __builtin_add_overflow(end, row, &end) ||
			    __builtin_add_overflow(end, pl->offset, &end) || end > size)
				FAIL("image %u plane %u: %u rows of stride %u from offset %llu overrun "
				     "buffer %u (%llu bytes)",
				     i, p, rows, pl->stride, (unsigned long long)pl->offset, pl->buffer,
				     (unsigned long long)size);
		}
	}
	for (uint32_t b = 0; b < l->n_buffers; b++)
		if (!used[b])
			FAIL("buffer %u is used by no plane", b);
	if (why && why_size)
		why[0] = '\0';
	return 0;
}

PX_API bool px_layout_equal(const struct px_set_layout *a, const struct px_set_layout *b)
{
	if (a->n_images != b->n_images || a->n_buffers != b->n_buffers)
		return false;
	if (a->n_buffers > PX_MAX_BUFFERS || a->n_images > PX_MAX_IMAGES)
		return false;
	for (uint32_t i = 0; i < a->n_buffers; i++)
		if (a->buffer_sizes[i] != b->buffer_sizes[i])
			return false;
	for (uint32_t i = 0; i < a->n_images; i++) {
		const struct px_image_layout *x = &a->images[i], *y = &b->images[i];
		if (x->fourcc != y->fourcc || x->width != y->width || x->height != y->height ||
		    x->n_planes != y->n_planes || x->modifier != y->modifier)
			return false;
		for (uint32_t p = 0; p < x->n_planes && p < PX_MAX_PLANES; p++)
			if (x->planes[p].buffer != y->planes[p].buffer ||
			    x->planes[p].offset != y->planes[p].offset ||
			    x->planes[p].stride != y->planes[p].stride)
				return false;
	}
	return true;
}
