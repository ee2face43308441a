/* SPDX-License-Identifier: MIT */
/*
 * Images into slots and out of frames (include/pixshare/image.h). Both ways
 * are one engine between two linear images, each a px_image_layout and its
 * planes: the application's image is described as a layout of its own. Same
 * formats are copied row by row; conversions go through RGBA, a chunk of a
 * row at a time, so that nothing is allocated.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <pixshare/image.h>

#include "core/image.h"
#include "core/util.h"

/* Pixels converted at a time; even, so that a chunk holds whole 4:2:2 pairs. */
#define CHUNK 256

#define KNOWN_FLAGS (PX_IMAGE_BT709 | PX_IMAGE_FULL_RANGE)

/* Kr and Kb of the matrices (Kg = 1 − Kr − Kb). */
#define KR_601 0.299
#define KB_601 0.114
#define KR_709 0.2126
#define KB_709 0.0722
/* Limited range: Y 16…235 and C 16…240 for 0…255. */
#define Y_SCALE (219.0 / 255.0)
#define C_SCALE (224.0 / 255.0)

/* x × 2^16, rounded to the nearest. */
#define FIX16(x) ((int32_t)((x) * 65536.0 + ((x) < 0 ? -0.5 : 0.5)))

/* The middle weights are what the others leave of the exact sums, so that
 * grey stays grey: Y of (v, v, v) is v scaled, its chroma 128. */
#define RGB_TO_YUV(kr, kb, ys, cs, offset)                                                    \
	{                                                                                     \
		.y = {FIX16((kr) * (ys)), FIX16(ys) - FIX16((kr) * (ys)) - FIX16((kb) * (ys)), \
		      FIX16((kb) * (ys))},                                                    \
		.u = {FIX16(-(kr) * (cs) / (2 - 2 * (kb))),                                    \
		      FIX16((kr) * (cs) / (2 - 2 * (kb))) - FIX16((cs) / 2),                   \
		      FIX16((cs) / 2)},                                                       \
		.v = {FIX16((cs) / 2),                                                        \
		      FIX16((kb) * (cs) / (2 - 2 * (kr))) - FIX16((cs) / 2),                   \
		      FIX16(-(kb) * (cs) / (2 - 2 * (kr)))},                                   \
		.shift = 16, .y_offset = (offset),                                            \
	}

static const struct rgb_to_yuv rgb_to_yuv_tables[2][2] = {
	{RGB_TO_YUV(KR_601, KB_601, Y_SCALE, C_SCALE, 16), RGB_TO_YUV(KR_601, KB_601, 1.0, 1.0, 0)},
	{RGB_TO_YUV(KR_709, KB_709, Y_SCALE, C_SCALE, 16), RGB_TO_YUV(KR_709, KB_709, 1.0, 1.0, 0)},
};

/* The test pattern's: the usual 8-bit BT.601 weights. */
const struct rgb_to_yuv rgb_to_yuv_pattern_limited = {
	.y = {66, 129, 25}, .u = {-38, -74, 112}, .v = {112, -94, -18}, .shift = 8, .y_offset = 16};
const struct rgb_to_yuv rgb_to_yuv_pattern_full = {
	.y = {77, 150, 29}, .u = {-43, -85, 128}, .v = {128, -107, -21}, .shift = 8, .y_offset = 0};

/* Y'CbCr → RGB: R = y·(Y − y_offset) + rv·(V − 128), G = y·(…) − gu·(U − 128)
 * − gv·(V − 128), B = y·(…) + bu·(U − 128), all × 2^16. */
struct yuv_to_rgb {
	int32_t y, rv, gu, gv, bu;
	int32_t y_offset;
};

#define YUV_TO_RGB(kr, kb, ys, cs, offset)                                                  \
	{                                                                                   \
		.y = FIX16(1 / (ys)), .rv = FIX16((2 - 2 * (kr)) / (cs)),                   \
		.gu = FIX16((2 - 2 * (kb)) * (kb) / (1 - (kr) - (kb)) / (cs)),              \
		.gv = FIX16((2 - 2 * (kr)) * (kr) / (1 - (kr) - (kb)) / (cs)),              \
		.bu = FIX16((2 - 2 * (kb)) / (cs)), .y_offset = (offset),                   \
	}

static const struct yuv_to_rgb yuv_to_rgb_tables[2][2] = {
	{YUV_TO_RGB(KR_601, KB_601, Y_SCALE, C_SCALE, 16), YUV_TO_RGB(KR_601, KB_601, 1.0, 1.0, 0)},
	{YUV_TO_RGB(KR_709, KB_709, Y_SCALE, C_SCALE, 16), YUV_TO_RGB(KR_709, KB_709, 1.0, 1.0, 0)},
};

static uint8_t clamp8(int32_t v)
{
	return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

const struct rgb_to_yuv *rgb_to_yuv_get(bool bt709, bool full_range)
{
	return &rgb_to_yuv_tables[bt709][full_range];
}

uint8_t rgb_to_luma(const struct rgb_to_yuv *m, uint32_t r, uint32_t g, uint32_t b)
{
	/* The weights are positive: so is the sum, and the shift a floor. */
	int32_t s = m->y[0] * (int32_t)r + m->y[1] * (int32_t)g + m->y[2] * (int32_t)b;
	return clamp8(((s + (1 << (m->shift - 1))) >> m->shift) + (int32_t)m->y_offset);
}

void rgb_to_chroma(const struct rgb_to_yuv *m, uint32_t r, uint32_t g, uint32_t b, uint32_t n,
		   uint8_t *u, uint8_t *v)
{
	/* + 128 · 2^shift before the shift: the sums stay positive (a weight
	 * is at most half the scale), so the shift is a floor. */
	uint32_t shift = m->shift + n;
	int32_t bias = (1 << (shift - 1)) + (128 << shift);
	int32_t su = m->u[0] * (int32_t)r + m->u[1] * (int32_t)g + m->u[2] * (int32_t)b;
	int32_t sv = m->v[0] * (int32_t)r + m->v[1] * (int32_t)g + m->v[2] * (int32_t)b;
	*u = clamp8((su + bias) >> shift);
	*v = clamp8((sv + bias) >> shift);
}

static uint8_t fix16_to_8(int32_t v)
{
	v += 1 << 15;
	return v < 0 ? 0 : clamp8(v >> 16);
}

static void yuv_to_rgba(const struct yuv_to_rgb *m, int32_t y, int32_t u, int32_t v,
			uint8_t *rgba)
{
	int32_t l = m->y * (y - m->y_offset);
	u -= 128;
	v -= 128;
	rgba[0] = fix16_to_8(l + m->rv * v);
	rgba[1] = fix16_to_8(l - m->gu * u - m->gv * v);
	rgba[2] = fix16_to_8(l + m->bu * u);
	rgba[3] = 255;
}

/* ---- Checking what the caller gave */

enum kind {
	KIND_RGB,  /* the RGB and grey formats: converted through RGBA */
	KIND_422,  /* YUYV, UYVY */
	KIND_NV12,
	KIND_OTHER, /* P010, YUV420, YUV422: copied only */
};

static enum kind kind_of(uint32_t fourcc)
{
	switch (fourcc) {
	case PX_FORMAT_XRGB8888:
	case PX_FORMAT_ARGB8888:
	case PX_FORMAT_XBGR8888:
	case PX_FORMAT_ABGR8888:
	case PX_FORMAT_RGB888:
	case PX_FORMAT_BGR888:
	case PX_FORMAT_R8:
	case PX_FORMAT_R16:
		return KIND_RGB;
	case PX_FORMAT_YUYV:
	case PX_FORMAT_UYVY:
		return KIND_422;
	case PX_FORMAT_NV12:
		return KIND_NV12;
	}
	return KIND_OTHER;
}

#define FAIL(ret, ...)                                        \
	do {                                                  \
		if (why && why_size)                          \
			snprintf(why, why_size, __VA_ARGS__); \
		return (ret);                                 \
	} while (0)

/* The slot's (or frame's) image: a linear layout with a plane for each of its format's. */
static int check_layout(const struct px_image_layout *l, const void *const planes[PX_MAX_PLANES],
			char *why, size_t why_size)
{
	char name[16];
	const struct px_format_info *f = px_format_get_info(l->fourcc);
	if (!f)
		FAIL(-EINVAL, "unknown format %s", px_format_name(l->fourcc, name, sizeof(name)));
	if (f->compressed)
		FAIL(-ENOTSUP, "%s is compressed: it has no pixels", f->name);
	if (l->modifier != PX_MODIFIER_LINEAR && l->modifier != PX_MODIFIER_INVALID)
		FAIL(-ENOTSUP, "%s with modifier 0x%llx: only linear layouts", f->name,
		     (unsigned long long)l->modifier);
	if (!l->width || !l->height || l->n_planes < f->n_planes || l->n_planes > PX_MAX_PLANES)
		FAIL(-EINVAL, "%s of %ux%u with %u planes", f->name, l->width, l->height,
		     l->n_planes);
	for (uint32_t p = 0; p < f->n_planes; p++) {
		if (!planes[p])
			FAIL(-EINVAL, "%s: plane %u is NULL", f->name, p);
		if (l->planes[p].stride < px_image_row_bytes(l, p))
			FAIL(-EINVAL, "%s %ux%u: plane %u: stride %u below its row's %llu bytes",
			     f->name, l->width, l->height, p, l->planes[p].stride,
			     (unsigned long long)px_image_row_bytes(l, p));
	}
	return 0;
}

/*
 * The application's image as a linear layout of its own (`*l`, strides
 * resolved) and, if `planes` is not NULL, the address of each of its planes.
 * `size` (if not NULL) gets the bytes of all planes one after another.
 */
static int cpu_layout(const struct px_cpu_image *img, struct px_image_layout *l,
		      uint8_t *planes[PX_MAX_PLANES], uint64_t *size, char *why, size_t why_size)
{
	char name[16];
	const struct px_format_info *f = px_format_get_info(img->fourcc);
	if (!f)
		FAIL(-EINVAL, "unknown format %s", px_format_name(img->fourcc, name, sizeof(name)));
	if (f->compressed)
		FAIL(-ENOTSUP, "%s is compressed: it has no pixels", f->name);
	if (!img->width || !img->height)
		FAIL(-EINVAL, "%s of %ux%u", f->name, img->width, img->height);
	if (planes && !img->planes[0])
		FAIL(-EINVAL, "%s: plane 0 is NULL", f->name);
	*l = (struct px_image_layout){.fourcc = img->fourcc,
				      .width = img->width,
				      .height = img->height,
				      .n_planes = f->n_planes,
				      .modifier = PX_MODIFIER_LINEAR};
	uint64_t total = 0;
	for (uint32_t p = 0; p < PX_MAX_PLANES; p++) {
		if (p >= f->n_planes) {
			if (img->planes[p] || img->strides[p])
				FAIL(-EINVAL, "%s has %u planes: plane %u is set", f->name,
				     f->n_planes, p);
			continue;
		}
		uint64_t row = px_image_row_bytes(l, p);
		if (row > UINT32_MAX || (img->strides[p] && img->strides[p] < row))
			FAIL(-EINVAL, "%s %ux%u: plane %u: stride %u below its row's %llu bytes",
			     f->name, img->width, img->height, p, img->strides[p],
			     (unsigned long long)row);
		l->planes[p].stride = img->strides[p] ? img->strides[p] : (uint32_t)row;
		uint64_t bytes = (uint64_t)l->planes[p].stride * px_image_plane_rows(l, p);
		if (total > UINT64_MAX - bytes)
			FAIL(-EINVAL, "%s %ux%u: more bytes than 64 bits count", f->name,
			     img->width, img->height);
		if (planes)
			/* Plane p follows plane p − 1 unless given. */
			planes[p] = p == 0 || img->planes[p] ? img->planes[p]
							     : planes[p - 1] + (uint64_t)l->planes[p - 1].stride *
									px_image_plane_rows(l, p - 1);
		total += bytes;
	}
	if (size)
		*size = total;
	return 0;
}

#undef FAIL

/* ---- Converting */

static uint8_t *row_of(uint8_t *const planes[PX_MAX_PLANES], const struct px_image_layout *l,
		       uint32_t p, uint32_t y)
{
	return planes[p] + (uint64_t)y * l->planes[p].stride;
}

static const uint8_t *crow_of(const uint8_t *const planes[PX_MAX_PLANES],
			      const struct px_image_layout *l, uint32_t p, uint32_t y)
{
	return planes[p] + (uint64_t)y * l->planes[p].stride;
}

static void copy_rows(const struct px_image_layout *sl, const uint8_t *const src[PX_MAX_PLANES],
		      const struct px_image_layout *dl, uint8_t *const dst[PX_MAX_PLANES])
{
	const struct px_format_info *f = px_format_get_info(dl->fourcc);
	for (uint32_t p = 0; p < f->n_planes; p++) {
		uint64_t bytes = px_image_row_bytes(dl, p);
		uint32_t rows = px_image_plane_rows(dl, p);
		for (uint32_t y = 0; y < rows; y++)
			memcpy(row_of(dst, dl, p, y), crow_of(src, sl, p, y), bytes);
	}
}

/* Pixels x0 … x0 + n − 1 of a row of an RGB-kind format, as RGBA. */
static void unpack_rgba(uint32_t fourcc, const uint8_t *row, uint32_t x0, uint32_t n,
			uint8_t *rgba)
{
	for (uint32_t i = 0; i < n; i++, rgba += 4) {
		uint32_t x = x0 + i;
		const uint8_t *s;
		switch (fourcc) {
		case PX_FORMAT_XRGB8888: /* bytes B, G, R, X */
		case PX_FORMAT_ARGB8888: /* bytes B, G, R, A */
			s = row + 4 * (size_t)x;
			memcpy(rgba, (uint8_t[]){s[2], s[1], s[0],
						 fourcc == PX_FORMAT_ARGB8888 ? s[3] : 255},
			       4);
			break;
		case PX_FORMAT_XBGR8888: /* bytes R, G, B, X */
		case PX_FORMAT_ABGR8888: /* bytes R, G, B, A */
			s = row + 4 * (size_t)x;
			memcpy(rgba, (uint8_t[]){s[0], s[1], s[2],
						 fourcc == PX_FORMAT_ABGR8888 ? s[3] : 255},
			       4);
			break;
		case PX_FORMAT_RGB888: /* bytes B, G, R */
			s = row + 3 * (size_t)x;
			memcpy(rgba, (uint8_t[]){s[2], s[1], s[0], 255}, 4);
			break;
		case PX_FORMAT_BGR888: /* bytes R, G, B */
			s = row + 3 * (size_t)x;
			memcpy(rgba, (uint8_t[]){s[0], s[1], s[2], 255}, 4);
			break;
		case PX_FORMAT_R8:
			memcpy(rgba, (uint8_t[]){row[x], row[x], row[x], 255}, 4);
			break;
		case PX_FORMAT_R16: {
			/* v / 257, rounded: 65535 is 255 */
			s = row + 2 * (size_t)x;
			uint8_t g = (uint8_t)(((uint32_t)(s[0] | s[1] << 8) + 128) / 257);
			memcpy(rgba, (uint8_t[]){g, g, g, 255}, 4);
			break;
		}
		}
	}
}

/* Writes n RGBA pixels as pixels x0 … of a row of an RGB-kind format; grey is
 * the luma of `grey` (a full-range table). X bytes are 255. */
static void pack_rgba(uint32_t fourcc, const uint8_t *rgba, uint32_t x0, uint32_t n, uint8_t *row,
		      const struct rgb_to_yuv *grey)
{
	bool x = fourcc == PX_FORMAT_XRGB8888 || fourcc == PX_FORMAT_XBGR8888;
	for (uint32_t i = 0; i < n; i++, rgba += 4) {
		size_t at = x0 + i;
		uint8_t r = rgba[0], g = rgba[1], b = rgba[2], a = x ? 255 : rgba[3], l;
		switch (fourcc) {
		case PX_FORMAT_XRGB8888:
		case PX_FORMAT_ARGB8888:
			memcpy(row + 4 * at, (uint8_t[]){b, g, r, a}, 4);
			break;
		case PX_FORMAT_XBGR8888:
		case PX_FORMAT_ABGR8888:
			memcpy(row + 4 * at, (uint8_t[]){r, g, b, a}, 4);
			break;
		case PX_FORMAT_RGB888:
			memcpy(row + 3 * at, (uint8_t[]){b, g, r}, 3);
			break;
		case PX_FORMAT_BGR888:
			memcpy(row + 3 * at, (uint8_t[]){r, g, b}, 3);
			break;
		case PX_FORMAT_R8:
			row[at] = rgb_to_luma(grey, r, g, b);
			break;
		case PX_FORMAT_R16:
			/* × 257: the byte twice */
			l = rgb_to_luma(grey, r, g, b);
			memcpy(row + 2 * at, (uint8_t[]){l, l}, 2);
			break;
		}
	}
}

static void rgb_to_rgb(const struct px_image_layout *sl, const uint8_t *const src[PX_MAX_PLANES],
		       const struct px_image_layout *dl, uint8_t *const dst[PX_MAX_PLANES],
		       const struct rgb_to_yuv *grey)
{
	uint8_t rgba[CHUNK * 4];
	for (uint32_t y = 0; y < dl->height; y++) {
		for (uint32_t x0 = 0; x0 < dl->width; x0 += CHUNK) {
			uint32_t n = PX_MIN((uint32_t)CHUNK, dl->width - x0);
			unpack_rgba(sl->fourcc, crow_of(src, sl, 0, y), x0, n, rgba);
			pack_rgba(dl->fourcc, rgba, x0, n, row_of(dst, dl, 0, y), grey);
		}
	}
}

/* Unpacks a chunk of n pixels and, at an odd width's end, repeats the last
 * one so that the chunk has whole pairs. Returns the pixels then in `rgba`. */
static uint32_t unpack_pairs(const struct px_image_layout *sl, const uint8_t *row, uint32_t x0,
			     uint32_t n, uint8_t *rgba)
{
	unpack_rgba(sl->fourcc, row, x0, n, rgba);
	if (n % 2) {
		memcpy(rgba + 4 * n, rgba + 4 * (n - 1), 4);
		n++;
	}
	return n;
}

static void rgb_to_422(const struct px_image_layout *sl, const uint8_t *const src[PX_MAX_PLANES],
		       const struct px_image_layout *dl, uint8_t *const dst[PX_MAX_PLANES],
		       const struct rgb_to_yuv *m)
{
	uint8_t rgba[(CHUNK + 1) * 4];
	bool yuyv = dl->fourcc == PX_FORMAT_YUYV;
	for (uint32_t y = 0; y < dl->height; y++) {
		uint8_t *out = row_of(dst, dl, 0, y);
		for (uint32_t x0 = 0; x0 < dl->width; x0 += CHUNK) {
			uint32_t n = PX_MIN((uint32_t)CHUNK, dl->width - x0);
			n = unpack_pairs(sl, crow_of(src, sl, 0, y), x0, n, rgba);
			for (uint32_t i = 0; i < n; i += 2, out += 4) {
				const uint8_t *p0 = rgba + 4 * i, *p1 = p0 + 4;
				uint8_t y0 = rgb_to_luma(m, p0[0], p0[1], p0[2]);
				uint8_t y1 = rgb_to_luma(m, p1[0], p1[1], p1[2]);
				uint8_t u, v;
				rgb_to_chroma(m, p0[0] + p1[0], p0[1] + p1[1], p0[2] + p1[2], 1, &u,
					      &v);
				if (yuyv)
					memcpy(out, (uint8_t[]){y0, u, y1, v}, 4);
				else
					memcpy(out, (uint8_t[]){u, y0, v, y1}, 4);
			}
		}
	}
}

static void rgb_to_nv12(const struct px_image_layout *sl, const uint8_t *const src[PX_MAX_PLANES],
			const struct px_image_layout *dl, uint8_t *const dst[PX_MAX_PLANES],
			const struct rgb_to_yuv *m)
{
	uint8_t rgba[2][(CHUNK + 1) * 4];
	uint32_t chroma_rows = px_image_plane_rows(dl, 1);
	for (uint32_t cy = 0; cy < chroma_rows; cy++) {
		/* The two rows a chroma row covers: the last one only, at an odd height. */
		uint32_t ys[2] = {2 * cy, PX_MIN(2 * cy + 1, dl->height - 1)};
		for (uint32_t x0 = 0; x0 < dl->width; x0 += CHUNK) {
			uint32_t w = PX_MIN((uint32_t)CHUNK, dl->width - x0), n = 0;
			for (int k = 0; k < 2; k++) {
				n = unpack_pairs(sl, crow_of(src, sl, 0, ys[k]), x0, w, rgba[k]);
				if (k && ys[1] == ys[0])
					break;
				uint8_t *out = row_of(dst, dl, 0, ys[k]) + x0;
				for (uint32_t i = 0; i < w; i++) {
					const uint8_t *p = rgba[k] + 4 * i;
					out[i] = rgb_to_luma(m, p[0], p[1], p[2]);
				}
			}
			uint8_t *out = row_of(dst, dl, 1, cy) + x0;
			for (uint32_t i = 0; i < n; i += 2) {
				const uint8_t *a = rgba[0] + 4 * i, *b = rgba[1] + 4 * i;
				uint32_t sum[3];
				for (int c = 0; c < 3; c++)
					sum[c] = a[c] + a[4 + c] + b[c] + b[4 + c];
				rgb_to_chroma(m, sum[0], sum[1], sum[2], 2, &out[i], &out[i + 1]);
			}
		}
	}
}

static void yuv_to_rgb(const struct px_image_layout *sl, const uint8_t *const src[PX_MAX_PLANES],
		       const struct px_image_layout *dl, uint8_t *const dst[PX_MAX_PLANES],
		       const struct yuv_to_rgb *m, const struct rgb_to_yuv *grey)
{
	/* Offsets of Y0, U, Y1, V in a 4:2:2 pair. */
	static const uint8_t yuyv[4] = {0, 1, 2, 3}, uyvy[4] = {1, 0, 3, 2};
	const uint8_t *at = sl->fourcc == PX_FORMAT_UYVY ? uyvy : yuyv;
	uint8_t rgba[CHUNK * 4];

	for (uint32_t y = 0; y < dl->height; y++) {
		const uint8_t *r0 = crow_of(src, sl, 0, y);
		const uint8_t *r1 = sl->fourcc == PX_FORMAT_NV12 ? crow_of(src, sl, 1, y / 2) : NULL;
		for (uint32_t x0 = 0; x0 < dl->width; x0 += CHUNK) {
			uint32_t n = PX_MIN((uint32_t)CHUNK, dl->width - x0);
			for (uint32_t i = 0; i < n; i++) {
				uint32_t x = x0 + i;
				if (r1) {
					const uint8_t *c = r1 + x / 2 * 2;
					yuv_to_rgba(m, r0[x], c[0], c[1], rgba + 4 * i);
				} else {
					const uint8_t *s = r0 + x / 2 * 4;
					yuv_to_rgba(m, s[at[x % 2 * 2]], s[at[1]], s[at[3]],
						    rgba + 4 * i);
				}
			}
			pack_rgba(dl->fourcc, rgba, x0, n, row_of(dst, dl, 0, y), grey);
		}
	}
}

/* Converts one checked image into another of the same size, or returns
 * -ENOTSUP (nothing written) for a pair of formats not converted. */
static int convert(const struct px_image_layout *sl, const uint8_t *const src[PX_MAX_PLANES],
		   const struct px_image_layout *dl, uint8_t *const dst[PX_MAX_PLANES],
		   uint32_t flags)
{
	bool bt709 = flags & PX_IMAGE_BT709, full = flags & PX_IMAGE_FULL_RANGE;
	const struct rgb_to_yuv *grey = rgb_to_yuv_get(bt709, true);
	enum kind from = kind_of(sl->fourcc), to = kind_of(dl->fourcc);

	if (sl->fourcc == dl->fourcc)
		copy_rows(sl, src, dl, dst);
	else if (from == KIND_RGB && to == KIND_RGB)
		rgb_to_rgb(sl, src, dl, dst, grey);
	else if (from == KIND_RGB && to == KIND_422)
		rgb_to_422(sl, src, dl, dst, rgb_to_yuv_get(bt709, full));
	else if (from == KIND_RGB && to == KIND_NV12)
		rgb_to_nv12(sl, src, dl, dst, rgb_to_yuv_get(bt709, full));
	else if ((from == KIND_422 || from == KIND_NV12) && to == KIND_RGB)
		yuv_to_rgb(sl, src, dl, dst, &yuv_to_rgb_tables[bt709][full], grey);
	else
		return -ENOTSUP;
	return 0;
}

/*
 * Checks the arguments of px_image_write() (`write`) or px_image_read():
 * `slot` is the slot's or frame's image, `cpu` the application's, which is
 * returned as a layout of its own in `cl` with its planes in `cpu_planes`.
 */
static int check_args(const char *fn, const struct px_image_layout *slot,
		      const void *const slot_planes[PX_MAX_PLANES], const struct px_cpu_image *cpu,
		      uint32_t flags, bool write, struct px_image_layout *cl,
		      uint8_t *cpu_planes[PX_MAX_PLANES])
{
	const char *side = write ? "destination" : "source";
	char why[160];
	int ret;

	if (!slot || !slot_planes || !cpu) {
		px_log_error("%s: NULL argument", fn);
		return -EINVAL;
	}
	if (flags & ~KNOWN_FLAGS) {
		px_log_error("%s: unknown flags 0x%x", fn, flags & ~KNOWN_FLAGS);
		return -EINVAL;
	}
	if ((ret = check_layout(slot, slot_planes, why, sizeof(why)))) {
		px_log_error("%s: the %s: %s", fn, side, why);
		return ret;
	}
	if ((ret = cpu_layout(cpu, cl, cpu_planes, NULL, why, sizeof(why)))) {
		px_log_error("%s: the application's image: %s", fn, why);
		return ret;
	}
	if (cl->width != slot->width || cl->height != slot->height) {
		px_log_error("%s: the application's image is %ux%u, the %s %ux%u", fn, cl->width,
			     cl->height, side, slot->width, slot->height);
		return -EINVAL;
	}
	return 0;
}

static int not_converted(const char *fn, uint32_t from, uint32_t to)
{
	char a[16], b[16];
	px_log_error("%s: %s to %s is not converted", fn, px_format_name(from, a, sizeof(a)),
		     px_format_name(to, b, sizeof(b)));
	return -ENOTSUP;
}

PX_API int px_image_write(const struct px_image_layout *dst, void *const dst_planes[PX_MAX_PLANES],
			  const struct px_cpu_image *src, uint32_t flags)
{
	struct px_image_layout sl;
	uint8_t *sp[PX_MAX_PLANES] = {NULL}, *dp[PX_MAX_PLANES] = {NULL};
	int ret = check_args("px_image_write", dst, (const void *const *)dst_planes, src, flags,
			     true, &sl, sp);
	if (ret)
		return ret;
	/* Only the planes the format has: the caller's array may be shorter. */
	for (uint32_t p = 0; p < px_format_get_info(dst->fourcc)->n_planes; p++)
		dp[p] = dst_planes[p];
	if (convert(&sl, (const uint8_t *const *)sp, dst, dp, flags))
		return not_converted("px_image_write", sl.fourcc, dst->fourcc);
	return 0;
}

PX_API int px_image_read(const struct px_image_layout *src,
			 const void *const src_planes[PX_MAX_PLANES], const struct px_cpu_image *dst,
			 uint32_t flags)
{
	struct px_image_layout dl;
	uint8_t *dp[PX_MAX_PLANES] = {NULL};
	const uint8_t *sp[PX_MAX_PLANES] = {NULL};
	int ret = check_args("px_image_read", src, src_planes, dst, flags, false, &dl, dp);
	if (ret)
		return ret;
	for (uint32_t p = 0; p < px_format_get_info(src->fourcc)->n_planes; p++)
		sp[p] = src_planes[p];
	if (convert(src, sp, &dl, dp, flags))
		return not_converted("px_image_read", src->fourcc, dl.fourcc);
	return 0;
}

PX_API uint64_t px_cpu_image_size(const struct px_cpu_image *img)
{
	struct px_image_layout l;
	uint64_t size;
	if (!img || cpu_layout(img, &l, NULL, &size, NULL, 0))
		return 0;
	return size;
}
