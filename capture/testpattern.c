/* SPDX-License-Identifier: MIT */
/*
 * The test pattern. Every pixel has one of eight colours: a diagonal bar
 * colour, or black or white in the code band. Formats differ only in how a
 * colour is packed, so each row is generated as runs of one colour (a bar is
 * width/8 pixels long, a code cell 2 or 4), which keeps a 1280×800 image well
 * under a millisecond. Chroma that covers several pixels takes the colour of
 * its first (top-left) pixel.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <pixshare/testpattern.h>

#include "core/image.h"
#include "core/util.h"

enum colour { WHITE, YELLOW, CYAN, GREEN, MAGENTA, RED, BLUE, BLACK, N_COLOURS };

static const uint8_t colour_rgb[N_COLOURS][3] = {
	{255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
	{255, 0, 255},   {255, 0, 0},   {0, 0, 255},   {0, 0, 0},
};

/* The code: magic, frame, image index (low 8 bits), timestamp, all big
 * endian, then a CRC-16 of those bytes. */
#define CODE_MAGIC 0x5058u
#define CODE_BYTES (2 + 8 + 1 + 8 + 2)
#define CODE_BITS (CODE_BYTES * 8)
#define CODE_MIN_WIDTH 64
#define CODE_MIN_HEIGHT 8

/* Bytes compared at a time by px_pattern_verify(): a multiple of every cpp. */
#define CHUNK_BYTES 4080

enum packing {
	PACK_PIXEL, /* one unit per pixel (or per chroma sample) */
	PACK_YUYV,  /* one unit per two pixels: Y0 U Y1 V */
	PACK_UYVY,  /* U Y0 V Y1 */
};

struct pattern {
	const struct px_format_info *info;
	enum packing packing;
	uint32_t width, height;
	uint64_t shift; /* horizontal phase of row 0, before adding the row */

	/* Code band: cells of cell_w × cell_h pixels, cells_per_row to a cell
	 * row, covering band_w × band_h pixels from the top-left corner. */
	bool has_band;
	uint32_t cell_w, cell_h, cells_per_row, band_w, band_h;
	uint8_t code[CODE_BYTES];

	uint8_t unit[PX_MAX_PLANES][N_COLOURS][4]; /* bytes of one unit of each colour */
	uint8_t y[N_COLOURS], u[N_COLOURS], v[N_COLOURS];
	uint8_t luma_msb[2]; /* offset in a unit of the top byte of each pixel's luma */
};

static uint16_t crc16(const uint8_t *data, size_t len)
{
	/* CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xffff. */
	uint16_t crc = 0xffff;
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)(data[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
	}
	return crc;
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Picks the band's cells: 4×4 pixels where the code fits in the image's
 * height that way, else 2×1, so that every image of at least 64×8 pixels
 * carries the code (2×1 cells need at most ceil(168 / 32) = 6 rows there).
 * Cells are an even number of pixels wide, so no 4:2:2 pair straddles two.
 */
static void band_geometry(struct pattern *p)
{
	static const uint8_t cells[][2] = {{4, 4}, {2, 1}};

	p->has_band = false;
	if (p->width < CODE_MIN_WIDTH || p->height < CODE_MIN_HEIGHT)
		return;
	for (size_t i = 0; i < PX_ARRAY_SIZE(cells); i++) {
		uint32_t per_row = p->width / cells[i][0];
		uint32_t rows = (CODE_BITS + per_row - 1) / per_row;
		if (rows * cells[i][1] > p->height)
			continue;
		p->has_band = true;
		p->cell_w = cells[i][0];
		p->cell_h = cells[i][1];
		p->cells_per_row = per_row;
		p->band_w = PX_MIN(per_row, (uint32_t)CODE_BITS) * p->cell_w;
		p->band_h = rows * p->cell_h;
		return;
	}
}

static void fill_palette(struct pattern *p)
{
	for (int c = 0; c < N_COLOURS; c++) {
		const uint8_t *rgb = colour_rgb[c];
		const struct rgb_to_yuv *m = &rgb_to_yuv_pattern_limited;
		uint8_t r = rgb[0], g = rgb[1], b = rgb[2], u, v;
		/* Grey formats are full range. */
		uint8_t grey = rgb_to_luma(&rgb_to_yuv_pattern_full, r, g, b);
		uint8_t y = rgb_to_luma(m, r, g, b);
		uint8_t *u0 = p->unit[0][c], *u1 = p->unit[1][c];
		rgb_to_chroma(m, r, g, b, 0, &u, &v);

		p->y[c] = y;
		p->u[c] = u;
		p->v[c] = v;
		switch (p->info->fourcc) {
		/* X is written as 255 too: whoever reads XRGB as ARGB sees opaque pixels. */
		case PX_FORMAT_XRGB8888:
		case PX_FORMAT_ARGB8888:
			memcpy(u0, (uint8_t[]){b, g, r, 255}, 4);
			break;
		case PX_FORMAT_XBGR8888:
		case PX_FORMAT_ABGR8888:
			memcpy(u0, (uint8_t[]){r, g, b, 255}, 4);
			break;
		case PX_FORMAT_RGB888:
			memcpy(u0, (uint8_t[]){b, g, r}, 3);
			break;
		case PX_FORMAT_BGR888:
			memcpy(u0, (uint8_t[]){r, g, b}, 3);
			break;
		case PX_FORMAT_R8:
			u0[0] = grey;
			break;
		case PX_FORMAT_R16:
			/* grey × 257, little endian */
			memcpy(u0, (uint8_t[]){grey, grey}, 2);
			break;
		case PX_FORMAT_YUYV:
			memcpy(u0, (uint8_t[]){y, u, y, v}, 4);
			break;
		case PX_FORMAT_UYVY:
			memcpy(u0, (uint8_t[]){u, y, v, y}, 4);
			break;
		case PX_FORMAT_NV12:
			u0[0] = y;
			memcpy(u1, (uint8_t[]){u, v}, 2);
			break;
		case PX_FORMAT_YUV420:
		case PX_FORMAT_YUV422:
			u0[0] = y;
			u1[0] = u;
			p->unit[2][c][0] = v;
			break;
		case PX_FORMAT_P010:
			/* 10 bits (value << 2) in the high bits of 16: value << 8 */
			memcpy(u0, (uint8_t[]){0, y}, 2);
			memcpy(u1, (uint8_t[]){0, u, 0, v}, 4);
			break;
		}
	}
}

static int pattern_init(struct pattern *p, const struct px_image_layout *image,
			const void *const planes[PX_MAX_PLANES],
			const struct px_pattern_params *params, char *why, size_t why_size)
{
	char name[16];

#define INVALID(...)                                          \
	do {                                                  \
		if (why && why_size)                          \
			snprintf(why, why_size, __VA_ARGS__); \
		return -EINVAL;                               \
	} while (0)

	if (!image || !planes)
		INVALID("NULL image or planes");
	const struct px_format_info *info = px_format_get_info(image->fourcc);
	if (!info)
		INVALID("unsupported format %s", px_format_name(image->fourcc, name, sizeof(name)));
	if (info->compressed)
		INVALID("%s is compressed: there are no pixels to draw", info->name);
	if (image->modifier != PX_MODIFIER_LINEAR && image->modifier != PX_MODIFIER_INVALID)
		INVALID("%s with modifier 0x%llx: only linear layouts can be drawn", info->name,
			(unsigned long long)image->modifier);
	if (image->width < 1 || image->height < 1)
		INVALID("size %ux%u", image->width, image->height);
	if (image->n_planes < info->n_planes)
		INVALID("%u planes for %s", image->n_planes, info->name);
	for (uint32_t i = 0; i < info->n_planes; i++) {
		if (!planes[i])
			INVALID("plane %u is NULL", i);
		if (image->planes[i].stride < px_image_row_bytes(image, i))
			INVALID("plane %u: stride %u below the row size %llu", i,
				image->planes[i].stride,
				(unsigned long long)px_image_row_bytes(image, i));
	}
#undef INVALID

	memset(p, 0, sizeof(*p));
	p->info = info;
	p->width = image->width;
	p->height = image->height;
	switch (info->fourcc) {
	case PX_FORMAT_YUYV:
		p->packing = PACK_YUYV;
		memcpy(p->luma_msb, (uint8_t[]){0, 2}, 2);
		break;
	case PX_FORMAT_UYVY:
		p->packing = PACK_UYVY;
		memcpy(p->luma_msb, (uint8_t[]){1, 3}, 2);
		break;
	case PX_FORMAT_R16:
	case PX_FORMAT_P010:
	case PX_FORMAT_XRGB8888: /* green: byte 1 in every RGB order of the table */
	case PX_FORMAT_ARGB8888:
	case PX_FORMAT_XBGR8888:
	case PX_FORMAT_ABGR8888:
	case PX_FORMAT_RGB888:
	case PX_FORMAT_BGR888:
		p->packing = PACK_PIXEL;
		p->luma_msb[0] = 1;
		break;
	default:
		p->packing = PACK_PIXEL;
		break;
	}
	fill_palette(p);
	band_geometry(p);
	if (params) {
		uint64_t w = p->width;
		p->shift = ((params->frame % w) * 4 + (uint64_t)params->image_index * w / 8) % w;
		put_be(p->code, CODE_MAGIC, 2);
		put_be(p->code + 2, params->frame, 8);
		p->code[10] = (uint8_t)params->image_index;
		put_be(p->code + 11, params->timestamp_ns, 8);
		put_be(p->code + 19, crc16(p->code, 19), 2);
	}
	return 0;
}

/* The colour of pixel (x, y), x < width; *end is the first x after it that may differ. */
static enum colour pixel_colour(const struct pattern *p, uint32_t y, uint64_t phase, uint64_t x,
				uint64_t *end)
{
	if (y < p->band_h && x < p->band_w) {
		uint64_t col = x / p->cell_w;
		uint64_t cell = (uint64_t)(y / p->cell_h) * p->cells_per_row + col;
		*end = (col + 1) * p->cell_w;
		if (cell >= CODE_BITS)
			return BLACK;
		return (p->code[cell / 8] >> (7 - cell % 8)) & 1 ? WHITE : BLACK;
	}
	uint64_t w = p->width;
	uint64_t pos = (x + phase) % w;
	uint64_t bar = pos * 8 / w;
	uint64_t bar_end = ((bar + 1) * w + 7) / 8;
	*end = PX_MIN(x + (bar_end - pos), w);
	return (enum colour)bar;
}

static uint8_t *fill(uint8_t *out, const uint8_t *unit, uint32_t size, uint64_t n)
{
	uint16_t v16;
	uint32_t v32;

	switch (size) {
	case 1:
		memset(out, unit[0], n);
		break;
	case 2:
		memcpy(&v16, unit, 2);
		for (uint64_t i = 0; i < n; i++)
			memcpy(out + 2 * i, &v16, 2);
		break;
	case 3:
		for (uint64_t i = 0; i < n; i++)
			memcpy(out + 3 * i, unit, 3);
		break;
	default:
		memcpy(&v32, unit, 4);
		for (uint64_t i = 0; i < n; i++)
			memcpy(out + 4 * i, &v32, 4);
		break;
	}
	return out + n * size;
}

/* Writes units [u0, u1) of a row of a plane (a unit is cpp bytes) to out. */
static void generate(const struct pattern *p, uint32_t plane, uint32_t row, uint64_t u0,
		     uint64_t u1, uint8_t *out)
{
	const struct px_format_info *f = p->info;
	uint32_t size = f->cpp[plane];
	uint64_t w = p->width, u = u0, end;

	if (p->packing == PACK_PIXEL) {
		uint32_t sx = plane ? f->hsub : 1, y = plane ? row * f->vsub : row;
		uint64_t phase = (p->shift + y) % w;
		while (u < u1) {
			enum colour c = pixel_colour(p, y, phase, u * sx, &end);
			uint64_t next = PX_MIN((end + sx - 1) / sx, u1);
			out = fill(out, p->unit[plane][c], size, next - u);
			u = next;
		}
		return;
	}

	/* 4:2:2: a pair of pixels per unit, the chroma of the first. The
	 * second pixel of the last pair of an odd width repeats the first. */
	uint64_t phase = (p->shift + row) % w;
	bool yuyv = p->packing == PACK_YUYV;
	while (u < u1) {
		uint64_t x = 2 * u;
		enum colour c = pixel_colour(p, row, phase, x, &end);
		if (end >= w)
			end = w + 1;
		uint64_t pairs = PX_MIN((end - x) / 2, u1 - u);
		if (pairs) {
			out = fill(out, p->unit[0][c], 4, pairs);
			u += pairs;
			continue;
		}
		enum colour c1 = pixel_colour(p, row, phase, x + 1, &end);
		if (yuyv)
			memcpy(out, (uint8_t[]){p->y[c], p->u[c], p->y[c1], p->v[c]}, 4);
		else
			memcpy(out, (uint8_t[]){p->u[c], p->y[c], p->v[c], p->y[c1]}, 4);
		out += 4;
		u++;
	}
}

static uint64_t row_units(const struct px_image_layout *image, uint32_t plane)
{
	const struct px_format_info *f = px_format_get_info(image->fourcc);
	return px_image_row_bytes(image, plane) / f->cpp[plane];
}

PX_API int px_pattern_draw(const struct px_image_layout *image, void *const planes[PX_MAX_PLANES],
			   const struct px_pattern_params *params)
{
	const void *cplanes[PX_MAX_PLANES] = {NULL};
	struct pattern p;
	char why[128];

	if (!image || !planes || !params) {
		px_log_error("testpattern: NULL argument");
		return -EINVAL;
	}
	for (int i = 0; i < PX_MAX_PLANES; i++)
		cplanes[i] = planes[i];
	int ret = pattern_init(&p, image, cplanes, params, why, sizeof(why));
	if (ret < 0) {
		px_log_error("testpattern: %s", why);
		return ret;
	}
	for (uint32_t pl = 0; pl < p.info->n_planes; pl++) {
		uint64_t units = row_units(image, pl);
		uint32_t rows = px_image_plane_rows(image, pl);
		for (uint32_t r = 0; r < rows; r++)
			generate(&p, pl, r, 0, units,
				 (uint8_t *)planes[pl] + (uint64_t)r * image->planes[pl].stride);
	}
	return 0;
}

/* Compares a row of a plane with the pattern; on a difference, returns false with the first
 * differing byte's offset and expected value. */
static bool row_matches(const struct pattern *p, uint32_t plane, uint32_t row, uint64_t units,
			const uint8_t *got, uint64_t *byte, uint8_t *expected)
{
	uint8_t buf[CHUNK_BYTES];
	uint32_t size = p->info->cpp[plane];
	uint64_t chunk = CHUNK_BYTES / size;

	for (uint64_t u = 0; u < units; u += chunk) {
		uint64_t n = PX_MIN(chunk, units - u);
		generate(p, plane, row, u, u + n, buf);
		if (!memcmp(buf, got + u * size, n * size))
			continue;
		uint64_t b = 0;
		while (buf[b] == got[u * size + b])
			b++;
		*byte = u * size + b;
		*expected = buf[b];
		return false;
	}
	return true;
}

static int mismatch(char *why, size_t why_size, uint32_t plane, uint32_t row, uint64_t byte,
		    uint8_t expected, uint8_t got)
{
	if (why && why_size)
		snprintf(why, why_size, "plane %u row %u byte %llu: expected 0x%02x, got 0x%02x",
			 plane, row, (unsigned long long)byte, expected, got);
	return -EILSEQ;
}

PX_API int px_pattern_verify(const struct px_image_layout *image,
			     const void *const planes[PX_MAX_PLANES],
			     const struct px_pattern_params *params, char *why, size_t why_size)
{
	struct pattern p;

	if (!params) {
		if (why && why_size)
			snprintf(why, why_size, "NULL params");
		return -EINVAL;
	}
	int ret = pattern_init(&p, image, planes, params, why, why_size);
	if (ret < 0)
		return ret;
	for (uint32_t pl = 0; pl < p.info->n_planes; pl++) {
		uint64_t units = row_units(image, pl), stride = image->planes[pl].stride;
		uint32_t rows = px_image_plane_rows(image, pl);
		for (uint32_t r = 0; r < rows; r++) {
			const uint8_t *got = (const uint8_t *)planes[pl] + r * stride;
			uint64_t byte;
			uint8_t expected;
			if (row_matches(&p, pl, r, units, got, &byte, &expected))
				continue;
			return mismatch(why, why_size, pl, r, byte, expected, got[byte]);
		}
	}
	if (why && why_size)
		why[0] = '\0';
	return 0;
}

PX_API int px_pattern_decode(const struct px_image_layout *image,
			     const void *const planes[PX_MAX_PLANES],
			     struct px_pattern_params *params)
{
	uint8_t code[CODE_BYTES] = {0};
	struct pattern p;
	char why[128];

	if (!params)
		return -EINVAL;
	int ret = pattern_init(&p, image, planes, NULL, why, sizeof(why));
	if (ret < 0) {
		px_log_error("testpattern: %s", why);
		return ret;
	}
	if (!p.has_band)
		return -ENOSPC;

	const uint8_t *base = planes[0];
	uint32_t stride = image->planes[0].stride, block = p.info->block_w[0];
	for (uint32_t k = 0; k < CODE_BITS; k++) {
		/* the centre of the cell */
		uint64_t x = k % p.cells_per_row * p.cell_w + p.cell_w / 2;
		uint64_t y = k / p.cells_per_row * p.cell_h + p.cell_h / 2;
		uint64_t at = y * stride + x / block * p.info->cpp[0] + p.luma_msb[x % block];
		if (base[at] >= 128)
			code[k / 8] |= (uint8_t)(0x80 >> (k % 8));
	}
	if (get_be(code, 2) != CODE_MAGIC || get_be(code + 19, 2) != crc16(code, 19))
		return -EILSEQ;
	params->frame = get_be(code + 2, 8);
	params->image_index = code[10];
	params->timestamp_ns = get_be(code + 11, 8);
	return 0;
}
