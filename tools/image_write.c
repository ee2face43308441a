/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "image_write.h"

/* Longest stored deflate block (RFC 1951, 3.2.4). */
#define STORED_MAX 65535u

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...) PX_PRINTF(4, 5);

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* The errno of a failed stdio call; stdio does not promise to set one. */
static int stdio_error(void)
{
	return errno ? -errno : -EIO;
}

static int check_image(const struct px_image_layout *img, const void *const planes[PX_MAX_PLANES],
		       char *err, size_t errlen)
{
	if (!img || !planes)
		return fail(err, errlen, -EINVAL, "NULL image or planes");
	const struct px_format_info *f = px_format_get_info(img->fourcc);
	if (!f) {
		char name[16];
		return fail(err, errlen, -EINVAL, "unsupported format %s",
			    px_format_name(img->fourcc, name, sizeof(name)));
	}
	if (f->compressed)
		return fail(err, errlen, -ENOTSUP, "%s is compressed: there are no pixels to write",
			    f->name);
	if (img->modifier != PX_MODIFIER_LINEAR && img->modifier != PX_MODIFIER_INVALID)
		return fail(err, errlen, -EINVAL, "%s with modifier 0x%llx is not linear", f->name,
			    (unsigned long long)img->modifier);
	if (img->width < 1 || img->height < 1 || img->n_planes < f->n_planes)
		return fail(err, errlen, -EINVAL, "%s image of %ux%u with %u planes", f->name,
			    img->width, img->height, img->n_planes);
	for (uint32_t p = 0; p < f->n_planes; p++) {
		if (!planes[p])
			return fail(err, errlen, -EINVAL, "plane %u is NULL", p);
		if (img->planes[p].stride < px_image_row_bytes(img, p))
			return fail(err, errlen, -EINVAL,
				    "plane %u: stride %u below the row size %llu", p,
				    img->planes[p].stride,
				    (unsigned long long)px_image_row_bytes(img, p));
	}
	return 0;
}

static const uint8_t *row_of(const struct px_image_layout *img,
			     const void *const planes[PX_MAX_PLANES], uint32_t p, uint32_t y)
{
	return (const uint8_t *)planes[p] + (uint64_t)y * img->planes[p].stride;
}

static uint8_t clamp_shift8(int v)
{
	v += 128;
	if (v < 0)
		return 0;
	v >>= 8;
	return v > 255 ? 255 : (uint8_t)v;
}

/* BT.601 limited range to full-range RGB. */
static void yuv_to_rgb(int y, int u, int v, uint8_t *rgb)
{
	int c = 298 * (y - 16), d = u - 128, e = v - 128;
	rgb[0] = clamp_shift8(c + 409 * e);
	rgb[1] = clamp_shift8(c - 100 * d - 208 * e);
	rgb[2] = clamp_shift8(c + 516 * d);
}

/* A P010 sample (10 bits in the high bits of 16, little endian) as 8 bits. */
static int p010_to_8(const uint8_t *s)
{
	int v = ((s[0] | s[1] << 8) >> 6) + 2;
	return v >> 2 > 255 ? 255 : v >> 2;
}

/* Row y of the image as 8-bit RGB (or grey for R8 and R16), `width` pixels to `out`. */
static void convert_row(const struct px_image_layout *img, const void *const planes[PX_MAX_PLANES],
			uint32_t y, uint8_t *out)
{
	const uint8_t *r0 = row_of(img, planes, 0, y);
	const struct px_format_info *f = px_format_get_info(img->fourcc);
	uint32_t cy = f && f->vsub > 1 ? y / f->vsub : y;
	const uint8_t *r1 = img->n_planes > 1 && planes[1] ? row_of(img, planes, 1, cy) : NULL;
	const uint8_t *r2 = img->n_planes > 2 && planes[2] ? row_of(img, planes, 2, cy) : NULL;

	for (uint32_t x = 0; x < img->width; x++) {
		const uint8_t *s;
		uint8_t *rgb = out + 3 * (size_t)x;
		switch (img->fourcc) {
		case PX_FORMAT_XRGB8888: /* bytes B, G, R, X */
		case PX_FORMAT_ARGB8888:
			s = r0 + 4 * (size_t)x;
			memcpy(rgb, (uint8_t[]){s[2], s[1], s[0]}, 3);
			break;
		case PX_FORMAT_XBGR8888: /* bytes R, G, B, X */
		case PX_FORMAT_ABGR8888:
			memcpy(rgb, r0 + 4 * (size_t)x, 3);
			break;
		case PX_FORMAT_RGB888: /* bytes B, G, R */
			s = r0 + 3 * (size_t)x;
			memcpy(rgb, (uint8_t[]){s[2], s[1], s[0]}, 3);
			break;
		case PX_FORMAT_BGR888: /* bytes R, G, B */
			memcpy(rgb, r0 + 3 * (size_t)x, 3);
			break;
		case PX_FORMAT_R8:
			out[x] = r0[x];
			break;
		case PX_FORMAT_R16:
			out[x] = (uint8_t)(((r0[2 * x] | r0[2 * x + 1] << 8) + 128) / 257);
			break;
		case PX_FORMAT_YUYV:
			s = r0 + x / 2 * 4;
			yuv_to_rgb(s[x % 2 * 2], s[1], s[3], rgb);
			break;
		case PX_FORMAT_UYVY:
			s = r0 + x / 2 * 4;
			yuv_to_rgb(s[x % 2 * 2 + 1], s[0], s[2], rgb);
			break;
		case PX_FORMAT_NV12:
			s = r1 + x / 2 * 2;
			yuv_to_rgb(r0[x], s[0], s[1], rgb);
			break;
		case PX_FORMAT_P010:
			s = r1 + x / 2 * 4;
			yuv_to_rgb(p010_to_8(r0 + 2 * x), p010_to_8(s), p010_to_8(s + 2), rgb);
			break;
		case PX_FORMAT_YUV420:
		case PX_FORMAT_YUV422:
			yuv_to_rgb(r0[x], r1[x / 2], r2[x / 2], rgb);
			break;
		}
	}
}

struct png {
	FILE *f;
	uint32_t crc_table[256];
	uint32_t adler_a, adler_b;
	uint64_t left; /* bytes of the zlib stream's data not yet written */
	bool started;  /* the zlib header is out */
	size_t fill;   /* bytes of the current block in data */
	uint8_t *buf;  /* zlib header + block header + data + Adler-32 */
	uint8_t *data;
};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t crc32_update(const uint32_t *table, uint32_t crc, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

static void adler32_update(struct png *png, const uint8_t *p, size_t len)
{
	/* 5552 bytes is the most that cannot overflow b before the modulo (zlib's NMAX). */
	while (len) {
		size_t n = len < 5552 ? len : 5552;
		for (size_t i = 0; i < n; i++) {
			png->adler_a += p[i];
			png->adler_b += png->adler_a;
		}
		png->adler_a %= 65521;
		png->adler_b %= 65521;
		p += n;
		len -= n;
	}
}

static int write_chunk(struct png *png, const char *type, const uint8_t *data, size_t len)
{
	uint8_t head[8], tail[4];

	put_be32(head, (uint32_t)len);
	memcpy(head + 4, type, 4);
	uint32_t crc = crc32_update(png->crc_table, 0xffffffffu, head + 4, 4);
	crc = crc32_update(png->crc_table, crc, data, len) ^ 0xffffffffu;
	put_be32(tail, crc);
	errno = 0;
	if (fwrite(head, 1, 8, png->f) != 8 || (len && fwrite(data, 1, len, png->f) != len) ||
	    fwrite(tail, 1, 4, png->f) != 4)
		return stdio_error();
	return 0;
}

/* Writes the buffered data as one stored block in one IDAT chunk. */
static int flush_block(struct png *png)
{
	uint8_t *p = png->buf;
	bool last = png->left == 0;

	if (!png->started) {
		/* CMF 0x78: deflate, 32 KiB window; FLG 0x01: no dictionary,
		 * (CMF × 256 + FLG) % 31 == 0 */
		*p++ = 0x78;
		*p++ = 0x01;
		png->started = true;
	}
	*p++ = last; /* BFINAL, BTYPE 00 (stored); the rest of the byte is padding */
	*p++ = (uint8_t)png->fill;
	*p++ = (uint8_t)(png->fill >> 8);
	*p++ = (uint8_t)~png->fill;
	*p++ = (uint8_t)(~png->fill >> 8);
	if (p != png->data)
		memmove(p, png->data, png->fill);
	p += png->fill;
	if (last) {
		put_be32(p, png->adler_b << 16 | png->adler_a);
		p += 4;
	}
	png->fill = 0;
	return write_chunk(png, "IDAT", png->buf, (size_t)(p - png->buf));
}

static int deflate_stored(struct png *png, const uint8_t *p, size_t len)
{
	adler32_update(png, p, len);
	while (len) {
		size_t n = STORED_MAX - png->fill;
		if (n > len)
			n = len;
		memcpy(png->data + png->fill, p, n);
		png->fill += n;
		png->left -= n;
		p += n;
		len -= n;
		if (png->fill == STORED_MAX || png->left == 0) {
			int ret = flush_block(png);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

static int png_write_image(struct png *png, const struct px_image_layout *img,
			   const void *const planes[PX_MAX_PLANES], bool grey)
{
	static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	size_t row_len = 1 + (size_t)img->width * (grey ? 1 : 3);
	uint8_t ihdr[13];
	int ret;

	errno = 0;
	if (fwrite(signature, 1, sizeof(signature), png->f) != sizeof(signature))
		return stdio_error();
	put_be32(ihdr, img->width);
	put_be32(ihdr + 4, img->height);
	ihdr[8] = 8;            /* bit depth */
	ihdr[9] = grey ? 0 : 2; /* colour type: grey or RGB */
	ihdr[10] = 0;           /* deflate */
	ihdr[11] = 0;           /* adaptive filtering, each row filter type 0 (none) */
	ihdr[12] = 0;           /* not interlaced */
	ret = write_chunk(png, "IHDR", ihdr, sizeof(ihdr));
	if (ret < 0)
		return ret;

	uint8_t *row = malloc(row_len);
	if (!row)
		return -ENOMEM;
	row[0] = 0;
	png->left = (uint64_t)row_len * img->height;
	for (uint32_t y = 0; y < img->height && ret == 0; y++) {
		convert_row(img, planes, y, row + 1);
		ret = deflate_stored(png, row, row_len);
	}
	free(row);
	if (ret < 0)
		return ret;
	return write_chunk(png, "IEND", NULL, 0);
}

int px_write_png(const char *path, const struct px_image_layout *img,
		 const void *const planes[PX_MAX_PLANES], char *err, size_t errlen)
{
	struct png png = {.adler_a = 1};
	int ret = check_image(img, planes, err, errlen);
	if (ret < 0)
		return ret;
	if (!path)
		return fail(err, errlen, -EINVAL, "NULL path");
	if (img->width > 0x7fffffff || img->height > 0x7fffffff)
		return fail(err, errlen, -EINVAL, "%ux%u is too large for PNG", img->width,
			    img->height);
	bool grey = img->fourcc == PX_FORMAT_R8 || img->fourcc == PX_FORMAT_R16;

	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		png.crc_table[n] = c;
	}
	png.buf = malloc(2 + 5 + STORED_MAX + 4);
	if (!png.buf)
		return fail(err, errlen, -ENOMEM, "out of memory");
	png.data = png.buf + 2 + 5;

	png.f = fopen(path, "wbe");
	if (!png.f) {
		ret = -errno;
		fail(err, errlen, ret, "%s: %s", path, strerror(-ret));
		goto free_buf;
	}
	ret = png_write_image(&png, img, planes, grey);
	if (ret < 0) {
		fail(err, errlen, ret, "%s: %s", path, strerror(-ret));
		fclose(png.f);
		goto free_buf;
	}
	errno = 0;
	if (fclose(png.f) != 0) {
		ret = stdio_error();
		fail(err, errlen, ret, "%s: %s", path, strerror(-ret));
	}
free_buf:
	free(png.buf);
	return ret;
}

static int write_all(FILE *f, const void *p, size_t len)
{
	errno = 0;
	if (len && fwrite(p, 1, len, f) != len)
		return stdio_error();
	return 0;
}

/* Writes chroma plane `c` (0: U, 1: V) of a YUV image as `rows` rows of ceil(width / 2)
 * samples, each of `size` bytes. */
static int write_chroma(FILE *f, const struct px_image_layout *img,
			const void *const planes[PX_MAX_PLANES], int c, uint8_t *buf)
{
	uint32_t cw = img->width / 2 + img->width % 2;
	int ret = 0;

	switch (img->fourcc) {
	case PX_FORMAT_YUYV:
	case PX_FORMAT_UYVY: {
		int at = (img->fourcc == PX_FORMAT_YUYV ? 1 : 0) + 2 * c;
		for (uint32_t y = 0; y < img->height && !ret; y++) {
			const uint8_t *r = row_of(img, planes, 0, y);
			for (uint32_t x = 0; x < cw; x++)
				buf[x] = r[4 * x + at];
			ret = write_all(f, buf, cw);
		}
		break;
	}
	case PX_FORMAT_NV12:
		for (uint32_t y = 0; y < px_image_plane_rows(img, 1) && !ret; y++) {
			const uint8_t *r = row_of(img, planes, 1, y);
			for (uint32_t x = 0; x < cw; x++)
				buf[x] = r[2 * x + c];
			ret = write_all(f, buf, cw);
		}
		break;
	case PX_FORMAT_YUV420:
	case PX_FORMAT_YUV422:
		for (uint32_t y = 0; y < px_image_plane_rows(img, 1 + c) && !ret; y++)
			ret = write_all(f, row_of(img, planes, 1 + c, y), cw);
		break;
	case PX_FORMAT_P010:
		/* 10-bit samples, little endian, in the low bits (Y4M's C420p10) */
		for (uint32_t y = 0; y < px_image_plane_rows(img, 1) && !ret; y++) {
			const uint8_t *r = row_of(img, planes, 1, y);
			for (uint32_t x = 0; x < cw; x++) {
				int v = (r[4 * x + 2 * c] | r[4 * x + 2 * c + 1] << 8) >> 6;
				buf[2 * x] = (uint8_t)v;
				buf[2 * x + 1] = (uint8_t)(v >> 8);
			}
			ret = write_all(f, buf, 2 * (size_t)cw);
		}
		break;
	}
	return ret;
}

int px_write_y4m_frame(FILE *f, bool header, const struct px_image_layout *img,
		       const void *const planes[PX_MAX_PLANES])
{
	const char *colourspace;
	int ret = check_image(img, planes, NULL, 0);
	if (ret < 0)
		return ret;
	if (!f)
		return -EINVAL;
	switch (img->fourcc) {
	case PX_FORMAT_NV12:
	case PX_FORMAT_YUV420:
		colourspace = "C420 XCOLORRANGE=LIMITED";
		break;
	case PX_FORMAT_P010:
		colourspace = "C420p10 XYSCSS=420P10 XCOLORRANGE=LIMITED";
		break;
	case PX_FORMAT_YUYV:
	case PX_FORMAT_UYVY:
	case PX_FORMAT_YUV422:
		colourspace = "C422 XCOLORRANGE=LIMITED";
		break;
	case PX_FORMAT_R8:
		colourspace = "Cmono XCOLORRANGE=FULL";
		break;
	default:
		return -ENOTSUP;
	}

	errno = 0;
	if (header && fprintf(f, "YUV4MPEG2 W%u H%u F30:1 Ip A1:1 %s\n", img->width, img->height,
			      colourspace) < 0)
		return stdio_error();
	if (fputs("FRAME\n", f) == EOF)
		return stdio_error();

	/* Luma rows are whole rows of plane 0 except for 4:2:2 and P010. */
	uint8_t *buf = malloc(2 * (size_t)img->width + 2);
	if (!buf)
		return -ENOMEM;
	for (uint32_t y = 0; y < img->height && !ret; y++) {
		const uint8_t *r = row_of(img, planes, 0, y);
		size_t len = img->width;
		if (img->fourcc == PX_FORMAT_YUYV || img->fourcc == PX_FORMAT_UYVY) {
			int at = img->fourcc == PX_FORMAT_YUYV ? 0 : 1;
			for (uint32_t x = 0; x < img->width; x++)
				buf[x] = r[x / 2 * 4 + x % 2 * 2 + at];
			r = buf;
		} else if (img->fourcc == PX_FORMAT_P010) {
			for (uint32_t x = 0; x < img->width; x++) {
				int v = (r[2 * x] | r[2 * x + 1] << 8) >> 6;
				buf[2 * x] = (uint8_t)v;
				buf[2 * x + 1] = (uint8_t)(v >> 8);
			}
			r = buf;
			len *= 2;
		}
		ret = write_all(f, r, len);
	}
	if (img->fourcc != PX_FORMAT_R8) {
		for (int c = 0; c < 2 && !ret; c++)
			ret = write_chroma(f, img, planes, c, buf);
	}
	free(buf);
	return ret;
}

int px_write_raw(const char *path, const struct px_image_layout *img,
		 const void *const planes[PX_MAX_PLANES], char *err, size_t errlen)
{
	int ret = check_image(img, planes, err, errlen);
	if (ret < 0)
		return ret;
	if (!path)
		return fail(err, errlen, -EINVAL, "NULL path");

	FILE *f = fopen(path, "wbe");
	if (!f) {
		ret = -errno;
		return fail(err, errlen, ret, "%s: %s", path, strerror(-ret));
	}
	const struct px_format_info *info = px_format_get_info(img->fourcc);
	for (uint32_t p = 0; p < info->n_planes && !ret; p++) {
		uint64_t len = px_image_row_bytes(img, p);
		for (uint32_t y = 0; y < px_image_plane_rows(img, p) && !ret; y++)
			ret = write_all(f, row_of(img, planes, p, y), len);
	}
	errno = 0;
	if (fclose(f) != 0 && !ret)
		ret = stdio_error();
	if (ret < 0)
		return fail(err, errlen, ret, "%s: %s", path, strerror(-ret));
	return 0;
}
