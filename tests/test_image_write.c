/* SPDX-License-Identifier: MIT */
/*
 * The tool's image writers. PNG files are read back by a small decoder here
 * (chunk CRCs, IHDR, stored deflate blocks, Adler-32) and their pixels compared
 * with the source; YUV sources are compared with the same pattern drawn as
 * XRGB8888, wherever chroma subsampling cannot blur colours. Y4M and raw output
 * are compared byte for byte.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

#include <pixshare/testpattern.h>

#include "px_test.h"
#include "tools/image_write.h"

struct decoded {
	uint32_t width, height;
	int colour_type; /* 0 grey, 2 RGB */
	uint8_t *pixels; /* width × height × channels */
};

static char dir[64];

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* CRC-32 of PNG (ISO 3309), bit by bit: independent of the writer's table. */
static uint32_t crc32_bitwise(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static uint32_t adler32_plain(const uint8_t *p, size_t len)
{
	uint32_t a = 1, b = 0;
	for (size_t i = 0; i < len; i++) {
		a = (a + p[i]) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	REQUIRE(f);
	REQUIRE(fseek(f, 0, SEEK_END) == 0);
	long n = ftell(f);
	REQUIRE(n >= 0);
	rewind(f);
	uint8_t *data = malloc((size_t)n + 1);
	REQUIRE(data);
	REQUIRE(fread(data, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return data;
}

/* Parses a PNG that this project's writer made: any chunk order the format allows, but
 * only stored (uncompressed) deflate blocks and filter type 0. */
static struct decoded decode_png(const char *path)
{
	static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	struct decoded d = {0};
	size_t len, zlen = 0, at = 8;
	uint8_t *file = read_file(path, &len);
	uint8_t *z = malloc(len);
	bool seen_ihdr = false, seen_iend = false;
	REQUIRE(z);
	REQUIRE(len >= 8 && !memcmp(file, signature, 8));

	while (at < len) {
		REQUIRE(len - at >= 12);
		uint32_t n = be32(file + at);
		const uint8_t *type = file + at + 4, *data = file + at + 8;
		REQUIRE(n <= len - at - 12);
		REQUIRE_EQ(be32(data + n), crc32_bitwise(type, 4 + (size_t)n));
		REQUIRE(!seen_iend);
		if (!memcmp(type, "IHDR", 4)) {
			REQUIRE(!seen_ihdr && at == 8);
			REQUIRE_EQ(n, 13);
			d.width = be32(data);
			d.height = be32(data + 4);
			REQUIRE_EQ(data[8], 8); /* bit depth */
			d.colour_type = data[9];
			REQUIRE(d.colour_type == 0 || d.colour_type == 2);
			REQUIRE_EQ(data[10], 0);
			REQUIRE_EQ(data[11], 0);
			REQUIRE_EQ(data[12], 0);
			seen_ihdr = true;
		} else if (!memcmp(type, "IDAT", 4)) {
			REQUIRE(seen_ihdr);
			memcpy(z + zlen, data, n);
			zlen += n;
		} else if (!memcmp(type, "IEND", 4)) {
			REQUIRE_EQ(n, 0);
			seen_iend = true;
		} else {
			REQUIRE(type[0] & 0x20); /* only ancillary chunks may be unknown */
		}
		at += 12 + (size_t)n;
	}
	REQUIRE(seen_ihdr && seen_iend);

	/* zlib: CMF, FLG, stored blocks, Adler-32 (RFC 1950, 1951) */
	REQUIRE(zlen >= 2 + 5 + 4);
	REQUIRE_EQ(z[0] & 0x0f, 8);
	REQUIRE_EQ((z[0] << 8 | z[1]) % 31, 0);
	REQUIRE_EQ(z[1] & 0x20, 0);
	size_t channels = d.colour_type == 2 ? 3 : 1;
	size_t row = 1 + d.width * channels, raw_len = row * d.height, got = 0, zat = 2;
	uint8_t *raw = malloc(raw_len);
	REQUIRE(raw);
	bool final = false;
	int blocks = 0;
	while (!final) {
		REQUIRE(zat + 5 <= zlen);
		final = z[zat] & 1;
		REQUIRE_EQ(z[zat] >> 1 & 3, 0); /* stored */
		uint32_t blen = z[zat + 1] | z[zat + 2] << 8;
		uint32_t nlen = z[zat + 3] | z[zat + 4] << 8;
		REQUIRE_EQ(blen ^ 0xffff, nlen);
		zat += 5;
		REQUIRE(zat + blen <= zlen && got + blen <= raw_len);
		memcpy(raw + got, z + zat, blen);
		got += blen;
		zat += blen;
		blocks++;
	}
	REQUIRE_EQ(got, raw_len);
	REQUIRE_EQ(zat + 4, zlen);
	REQUIRE_EQ(be32(z + zat), adler32_plain(raw, raw_len));
	REQUIRE_EQ(blocks, (int)((raw_len + 65534) / 65535));

	d.pixels = malloc(d.width * channels * d.height);
	REQUIRE(d.pixels);
	for (uint32_t y = 0; y < d.height; y++) {
		REQUIRE_EQ(raw[y * row], 0); /* filter type none */
		memcpy(d.pixels + y * (row - 1), raw + y * row + 1, row - 1);
	}
	free(raw);
	free(z);
	free(file);
	return d;
}

struct image {
	struct px_set_layout layout;
	uint8_t *buf;
	const void *planes[PX_MAX_PLANES];
};

static void image_init(struct image *im, uint32_t fourcc, uint32_t w, uint32_t h,
		       const struct px_pattern_params *params)
{
	struct px_image_desc d = {fourcc, w, h};
	REQUIRE_OK(px_layout_init_packed(&im->layout, 1, &d, 64, PX_PACK_PER_IMAGE));
	im->buf = malloc(im->layout.buffer_sizes[0]);
	REQUIRE(im->buf);
	memset(im->buf, 0x5a, im->layout.buffer_sizes[0]);
	void *planes[PX_MAX_PLANES] = {NULL};
	for (uint32_t p = 0; p < im->layout.images[0].n_planes; p++)
		planes[p] = im->buf + im->layout.images[0].planes[p].offset;
	for (uint32_t p = 0; p < PX_MAX_PLANES; p++)
		im->planes[p] = planes[p];
	REQUIRE_OK(px_pattern_draw(&im->layout.images[0], planes, params));
}

static const uint8_t *pixel(const struct image *im, uint32_t p, uint32_t x_bytes, uint32_t y)
{
	const struct px_image_layout *img = &im->layout.images[0];
	return (const uint8_t *)im->planes[p] + (size_t)y * img->planes[p].stride + x_bytes;
}

static void path_for(char *path, size_t size, const char *name)
{
	snprintf(path, size, "%s/%s", dir, name);
}

/* An RGB source is written exactly, at sizes that need one and several deflate blocks. */
static void test_png_rgb(uint32_t fourcc, uint32_t w, uint32_t h)
{
	struct px_pattern_params params = {.frame = 5, .image_index = 1, .timestamp_ns = 42};
	struct image im;
	char path[128], err[256] = "";
	image_init(&im, fourcc, w, h, &params);
	path_for(path, sizeof(path), "rgb.png");

	REQUIRE_OK(px_write_png(path, &im.layout.images[0], im.planes, err, sizeof(err)));
	struct decoded d = decode_png(path);
	REQUIRE_EQ(d.width, w);
	REQUIRE_EQ(d.height, h);
	REQUIRE_EQ(d.colour_type, 2);
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *s, *o = d.pixels + ((size_t)y * w + x) * 3;
			uint8_t e[3];
			switch (fourcc) {
			case PX_FORMAT_XRGB8888: /* B, G, R, X */
				s = pixel(&im, 0, 4 * x, y);
				memcpy(e, (uint8_t[]){s[2], s[1], s[0]}, 3);
				break;
			case PX_FORMAT_ABGR8888: /* R, G, B, A */
				memcpy(e, pixel(&im, 0, 4 * x, y), 3);
				break;
			case PX_FORMAT_RGB888: /* B, G, R */
				s = pixel(&im, 0, 3 * x, y);
				memcpy(e, (uint8_t[]){s[2], s[1], s[0]}, 3);
				break;
			default:
				REQUIRE(!"format in this test");
			}
			if (memcmp(e, o, 3)) {
				fprintf(stderr, "%ux%u pixel %u,%u differs\n", w, h, x, y);
				REQUIRE(!"PNG pixel equals the source");
			}
		}
	}
	free(d.pixels);
	free(im.buf);
}

/* YUV and grey sources against the pattern drawn as XRGB8888: within 2 levels wherever every
 * pixel sharing the chroma of (x, y) has one colour. */
static void test_png_converted(uint32_t fourcc, uint32_t w, uint32_t h)
{
	struct px_pattern_params params = {.frame = 9, .image_index = 2, .timestamp_ns = 7};
	struct image im, ref;
	char path[128], err[256] = "";
	bool grey = fourcc == PX_FORMAT_R8 || fourcc == PX_FORMAT_R16;
	bool planar = fourcc == PX_FORMAT_YUV420 || fourcc == PX_FORMAT_YUV422;
	uint32_t bw = fourcc == PX_FORMAT_NV12 || fourcc == PX_FORMAT_P010 ||
				      fourcc == PX_FORMAT_YUYV || fourcc == PX_FORMAT_UYVY || planar
			      ? 2
			      : 1;
	uint32_t bh = fourcc == PX_FORMAT_NV12 || fourcc == PX_FORMAT_P010 ||
				      fourcc == PX_FORMAT_YUV420
			      ? 2
			      : 1;
	size_t compared = 0;

	image_init(&im, fourcc, w, h, &params);
	image_init(&ref, PX_FORMAT_XRGB8888, w, h, &params);
	path_for(path, sizeof(path), "yuv.png");
	REQUIRE_OK(px_write_png(path, &im.layout.images[0], im.planes, err, sizeof(err)));
	struct decoded d = decode_png(path);
	REQUIRE_EQ(d.width, w);
	REQUIRE_EQ(d.height, h);
	REQUIRE_EQ(d.colour_type, grey ? 0 : 2);

	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *s = pixel(&ref, 0, 4 * x, y);
			bool uniform = true;
			uint32_t x0 = x / bw * bw, y0 = y / bh * bh;
			for (uint32_t yy = y0; yy < y0 + bh && yy < h; yy++)
				for (uint32_t xx = x0; xx < x0 + bw && xx < w; xx++)
					uniform &= !memcmp(pixel(&ref, 0, 4 * xx, yy), s, 3);
			if (!uniform)
				continue;
			compared++;
			if (grey) {
				int e = (77 * s[2] + 150 * s[1] + 29 * s[0] + 128) >> 8;
				REQUIRE_EQ(d.pixels[(size_t)y * w + x], e);
				continue;
			}
			const uint8_t *o = d.pixels + ((size_t)y * w + x) * 3;
			for (int c = 0; c < 3; c++) {
				int diff = o[c] - s[2 - c];
				if (diff < -2 || diff > 2) {
					fprintf(stderr,
						"%ux%u pixel %u,%u channel %d: %d, expected %d\n",
						w, h, x, y, c, o[c], s[2 - c]);
					REQUIRE(!"converted pixel close to the reference");
				}
			}
		}
	}
	REQUIRE(compared > (size_t)w * h / 2);
	free(d.pixels);
	free(im.buf);
	free(ref.buf);
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint8_t rng8(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint8_t)(rng_state >> 32);
}

static double clamp255(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

/* A 10-bit P010 sample rounded to 8 bits. */
static double p010_to_8(const uint8_t *s)
{
	int v = (s[0] | s[1] << 8) >> 6;
	return v >= 1022 ? 255 : (v + 2) / 4;
}

/* Random samples against the BT.601 limited-range inverse in floating point: within 1 level
 * (P010 samples are rounded to 8 bits first). */
static void test_png_random(uint32_t fourcc, uint32_t w, uint32_t h)
{
	struct px_pattern_params params = {0};
	struct image im;
	char path[128], err[256] = "";
	image_init(&im, fourcc, w, h, &params);
	for (uint64_t i = 0; i < im.layout.buffer_sizes[0]; i++)
		im.buf[i] = rng8();
	path_for(path, sizeof(path), "yuv.png");
	REQUIRE_OK(px_write_png(path, &im.layout.images[0], im.planes, err, sizeof(err)));
	struct decoded d = decode_png(path);

	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *s;
			double yy = 0, u = 0, v = 0;
			switch (fourcc) {
			case PX_FORMAT_R16: {
				s = pixel(&im, 0, 2 * x, y);
				double e = (s[0] | s[1] << 8) / 257.0;
				int got = d.pixels[(size_t)y * w + x];
				REQUIRE(got >= e - 0.5 && got <= e + 0.5);
				continue;
			}
			case PX_FORMAT_YUYV:
				s = pixel(&im, 0, x / 2 * 4, y);
				yy = s[x % 2 * 2], u = s[1], v = s[3];
				break;
			case PX_FORMAT_NV12:
				yy = *pixel(&im, 0, x, y);
				s = pixel(&im, 1, x / 2 * 2, y / 2);
				u = s[0], v = s[1];
				break;
			case PX_FORMAT_P010:
				s = pixel(&im, 0, 2 * x, y);
				yy = p010_to_8(s);
				s = pixel(&im, 1, x / 2 * 4, y / 2);
				u = p010_to_8(s);
				v = p010_to_8(s + 2);
				break;
			case PX_FORMAT_YUV420:
			case PX_FORMAT_YUV422:
				yy = *pixel(&im, 0, x, y);
				u = *pixel(&im, 1, x / 2, fourcc == PX_FORMAT_YUV420 ? y / 2 : y);
				v = *pixel(&im, 2, x / 2, fourcc == PX_FORMAT_YUV420 ? y / 2 : y);
				break;
			default:
				REQUIRE(!"format in this test");
			}
			double c = 255.0 / 219 * (yy - 16), db = 255.0 / 224 * (u - 128),
			       dr = 255.0 / 224 * (v - 128);
			double e[3] = {
				clamp255(c + 1.402 * dr),
				clamp255(c - 0.344136 * db - 0.714136 * dr),
				clamp255(c + 1.772 * db),
			};
			const uint8_t *o = d.pixels + ((size_t)y * w + x) * 3;
			for (int k = 0; k < 3; k++) {
				if (o[k] < e[k] - 1 || o[k] > e[k] + 1) {
					fprintf(stderr,
						"pixel %u,%u channel %d: %d, expected %.2f\n", x,
						y, k, o[k], e[k]);
					REQUIRE(!"conversion within tolerance");
				}
			}
		}
	}
	free(d.pixels);
	free(im.buf);
}

static void test_y4m(uint32_t fourcc, uint32_t w, uint32_t h)
{
	struct px_pattern_params params = {.frame = 3, .image_index = 0, .timestamp_ns = 99};
	struct image im;
	char *out = NULL;
	size_t out_len = 0;
	image_init(&im, fourcc, w, h, &params);
	const struct px_image_layout *img = &im.layout.images[0];

	FILE *f = open_memstream(&out, &out_len);
	REQUIRE(f);
	REQUIRE_OK(px_write_y4m_frame(f, true, img, im.planes));
	REQUIRE_OK(px_write_y4m_frame(f, false, img, im.planes));
	REQUIRE_EQ(fclose(f), 0);

	char header[128];
	bool c420 = fourcc == PX_FORMAT_NV12 || fourcc == PX_FORMAT_YUV420;
	const char *cs = c420 ? "C420" : fourcc == PX_FORMAT_P010 ? "C420p10"
							   : fourcc == PX_FORMAT_R8     ? "Cmono"
											: "C422";
	snprintf(header, sizeof(header), "YUV4MPEG2 W%u H%u F30:1 Ip A1:1 %s ", w, h, cs);
	REQUIRE(!strncmp(out, header, strlen(header)));
	const char *frame = strchr(out, '\n');
	REQUIRE(frame);
	frame++;

	uint32_t cw = (w + 1) / 2, ch = c420 || fourcc == PX_FORMAT_P010
						? (h + 1) / 2
						: h;
	size_t size = fourcc == PX_FORMAT_P010 ? 2 : 1;
	size_t frame_len = 6 + size * ((size_t)w * h +
				       (fourcc == PX_FORMAT_R8 ? 0 : 2 * (size_t)cw * ch));
	REQUIRE_EQ(out_len, (size_t)(frame - out) + 2 * frame_len);
	REQUIRE(!memcmp(frame, "FRAME\n", 6));
	REQUIRE(!memcmp(frame, frame + frame_len, frame_len));

	const uint8_t *yp = (const uint8_t *)frame + 6;
	const uint8_t *up = yp + size * w * h, *vp = up + size * cw * ch;
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			uint32_t e = 0, u = 0, v = 0;
			const uint8_t *s;
			switch (fourcc) {
			case PX_FORMAT_YUYV:
				s = pixel(&im, 0, x / 2 * 4, y);
				e = s[x % 2 * 2], u = s[1], v = s[3];
				break;
			case PX_FORMAT_UYVY:
				s = pixel(&im, 0, x / 2 * 4, y);
				e = s[x % 2 * 2 + 1], u = s[0], v = s[2];
				break;
			case PX_FORMAT_NV12:
				e = *pixel(&im, 0, x, y);
				s = pixel(&im, 1, x / 2 * 2, y / 2);
				u = s[0], v = s[1];
				break;
			case PX_FORMAT_P010:
				s = pixel(&im, 0, 2 * x, y);
				e = (uint32_t)(s[0] | s[1] << 8) >> 6;
				s = pixel(&im, 1, x / 2 * 4, y / 2);
				u = (uint32_t)(s[0] | s[1] << 8) >> 6;
				v = (uint32_t)(s[2] | s[3] << 8) >> 6;
				break;
			case PX_FORMAT_R8:
				e = *pixel(&im, 0, x, y);
				break;
			case PX_FORMAT_YUV420:
			case PX_FORMAT_YUV422:
				e = *pixel(&im, 0, x, y);
				u = *pixel(&im, 1, x / 2, c420 ? y / 2 : y);
				v = *pixel(&im, 2, x / 2, c420 ? y / 2 : y);
				break;
			}
			size_t yi = (size_t)y * w + x, ci = (size_t)(y * ch / h) * cw + x / 2;
			if (size == 2) {
				REQUIRE_EQ(yp[2 * yi] | yp[2 * yi + 1] << 8, e);
				REQUIRE_EQ(up[2 * ci] | up[2 * ci + 1] << 8, u);
				REQUIRE_EQ(vp[2 * ci] | vp[2 * ci + 1] << 8, v);
			} else {
				REQUIRE_EQ(yp[yi], e);
				if (fourcc != PX_FORMAT_R8) {
					REQUIRE_EQ(up[ci], u);
					REQUIRE_EQ(vp[ci], v);
				}
			}
		}
	}
	free(out);
	free(im.buf);
}

static void test_raw(uint32_t fourcc, uint32_t w, uint32_t h)
{
	struct px_pattern_params params = {.frame = 1};
	struct image im;
	char path[128], err[256];
	size_t len, at = 0;
	image_init(&im, fourcc, w, h, &params);
	const struct px_image_layout *img = &im.layout.images[0];
	path_for(path, sizeof(path), "image.raw");

	REQUIRE_OK(px_write_raw(path, img, im.planes, err, sizeof(err)));
	uint8_t *data = read_file(path, &len);
	for (uint32_t p = 0; p < img->n_planes; p++) {
		uint64_t rb = px_image_row_bytes(img, p);
		for (uint32_t y = 0; y < px_image_plane_rows(img, p); y++) {
			REQUIRE(at + rb <= len);
			REQUIRE(!memcmp(data + at, pixel(&im, p, 0, y), rb));
			at += rb;
		}
	}
	REQUIRE_EQ(at, len);
	free(data);
	free(im.buf);
}

static void test_errors(void)
{
	struct px_pattern_params params = {0};
	struct image im;
	char path[128], err[256];
	image_init(&im, PX_FORMAT_XRGB8888, 8, 8, &params);
	const struct px_image_layout *img = &im.layout.images[0];

	path_for(path, sizeof(path), "missing/x.png");
	err[0] = '\0';
	REQUIRE_EQ(px_write_png(path, img, im.planes, err, sizeof(err)), -ENOENT);
	REQUIRE(strstr(err, "missing/x.png"));
	err[0] = '\0';
	REQUIRE_EQ(px_write_raw(path, img, im.planes, err, sizeof(err)), -ENOENT);
	REQUIRE(err[0]);

	struct px_image_layout bad = *img;
	bad.fourcc = PX_FOURCC('Q', 'Q', 'Q', 'Q');
	REQUIRE_EQ(px_write_png(path, &bad, im.planes, err, sizeof(err)), -EINVAL);
	REQUIRE(strstr(err, "format"));
	bad = *img;
	bad.planes[0].stride = 4;
	REQUIRE_EQ(px_write_png(path, &bad, im.planes, NULL, 0), -EINVAL);
	const void *none[PX_MAX_PLANES] = {NULL};
	REQUIRE_EQ(px_write_raw(path, img, none, err, sizeof(err)), -EINVAL);

	FILE *f = fopen("/dev/null", "we");
	REQUIRE(f);
	REQUIRE_EQ(px_write_y4m_frame(f, true, img, im.planes), -ENOTSUP);
	fclose(f);

	/* A full disk is reported, not ignored. */
	f = fopen("/dev/full", "we");
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		struct image nv;
		image_init(&nv, PX_FORMAT_NV12, 16, 16, &params);
		REQUIRE_EQ(px_write_y4m_frame(f, true, &nv.layout.images[0], nv.planes), -ENOSPC);
		fclose(f);
		free(nv.buf);
		REQUIRE_EQ(px_write_png("/dev/full", img, im.planes, err, sizeof(err)), -ENOSPC);
	}
	free(im.buf);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/px-image-write-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	REQUIRE(mkdtemp(dir));
	int fds = px_test_count_fds();

	test_png_rgb(PX_FORMAT_XRGB8888, 1, 1);
	test_png_rgb(PX_FORMAT_XRGB8888, 97, 61);
	test_png_rgb(PX_FORMAT_XRGB8888, 300, 200); /* 180,200 bytes: three deflate blocks */
	test_png_rgb(PX_FORMAT_XRGB8888, 21845, 1); /* exactly one full block */
	test_png_rgb(PX_FORMAT_ABGR8888, 67, 33);
	test_png_rgb(PX_FORMAT_RGB888, 67, 33);

	static const uint32_t converted[] = {PX_FORMAT_YUYV,   PX_FORMAT_UYVY,	 PX_FORMAT_NV12,
					     PX_FORMAT_P010,   PX_FORMAT_R8,	 PX_FORMAT_R16,
					     PX_FORMAT_YUV420, PX_FORMAT_YUV422};
	for (size_t i = 0; i < sizeof(converted) / sizeof(converted[0]); i++) {
		test_png_converted(converted[i], 131, 77);
		test_png_converted(converted[i], 64, 64);
	}

	test_png_random(PX_FORMAT_NV12, 257, 33);
	test_png_random(PX_FORMAT_YUYV, 257, 33);
	test_png_random(PX_FORMAT_P010, 257, 33);
	test_png_random(PX_FORMAT_R16, 257, 33);
	test_png_random(PX_FORMAT_YUV420, 257, 33);
	test_png_random(PX_FORMAT_YUV422, 257, 33);

	static const uint32_t y4m[] = {PX_FORMAT_YUYV, PX_FORMAT_UYVY,	 PX_FORMAT_NV12,
				       PX_FORMAT_P010, PX_FORMAT_R8,	 PX_FORMAT_YUV420,
				       PX_FORMAT_YUV422};
	for (size_t i = 0; i < sizeof(y4m) / sizeof(y4m[0]); i++) {
		test_y4m(y4m[i], 65, 9);
		test_y4m(y4m[i], 64, 48);
	}

	test_raw(PX_FORMAT_NV12, 65, 9);
	test_raw(PX_FORMAT_RGB888, 33, 17);
	test_errors();

	REQUIRE_EQ(px_test_count_fds(), fds);
	char path[128];
	static const char *const names[] = {"rgb.png", "yuv.png", "image.raw"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_for(path, sizeof(path), names[i]);
		REQUIRE_OK(remove(path));
	}
	REQUIRE_OK(rmdir(dir));
	return 0;
}
