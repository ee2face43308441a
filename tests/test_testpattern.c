/* SPDX-License-Identifier: MIT */
/*
 * The test pattern in every format at odd and even sizes, one buffer per image
 * and batched: draw, verify, decode, damage detection, padding left alone, and
 * the pixels checked against a reference written here from the definition
 * (bars, BT.601 limited-range YUV, full-range grey, chroma of the first pixel).
 */
#include <errno.h>
#include <stdint.h>
#include <stdbool.h>
#include <time.h>

#include <pixshare/testpattern.h>

#include "px_test.h"

#define POISON 0xa5
/* The code band is at most 44 rows high (4×4 cells at width 64). */
#define BAND_MAX_ROWS 44

static const uint8_t bar_rgb[8][3] = {
	{255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
	{255, 0, 255},   {255, 0, 0},   {0, 0, 255},   {0, 0, 0},
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static bool has_band(uint32_t w, uint32_t h)
{
	return w >= 64 && h >= 8;
}

static const uint8_t *row_ptr(uint8_t *const *bufs, const struct px_image_layout *img, uint32_t p,
			      uint32_t r)
{
	return bufs[img->planes[p].buffer] + img->planes[p].offset +
	       (uint64_t)r * img->planes[p].stride;
}

static void image_planes(uint8_t *const *bufs, const struct px_image_layout *img,
			 void *planes[PX_MAX_PLANES], const void *cplanes[PX_MAX_PLANES])
{
	for (uint32_t p = 0; p < PX_MAX_PLANES; p++) {
		planes[p] = p < img->n_planes ? bufs[img->planes[p].buffer] + img->planes[p].offset
					      : NULL;
		cplanes[p] = planes[p];
	}
}

static int floor_div256(int v)
{
	return v >= 0 ? v / 256 : -((-v + 255) / 256);
}

static void expected_yuv(const uint8_t *rgb, uint8_t *y, uint8_t *u, uint8_t *v)
{
	int r = rgb[0], g = rgb[1], b = rgb[2];
	*y = (uint8_t)(floor_div256(66 * r + 129 * g + 25 * b + 128) + 16);
	*u = (uint8_t)(floor_div256(-38 * r - 74 * g + 112 * b + 128) + 128);
	*v = (uint8_t)(floor_div256(112 * r - 94 * g - 18 * b + 128) + 128);
}

static uint8_t expected_grey(const uint8_t *rgb)
{
	return (uint8_t)((77 * rgb[0] + 150 * rgb[1] + 29 * rgb[2] + 128) / 256);
}

/* The RGB of every pixel, from an XRGB8888 drawing checked against the definition of the
 * bars below the band. Returns w × h × 3 bytes. */
static uint8_t *reference_rgb(uint32_t w, uint32_t h, const struct px_pattern_params *params)
{
	struct px_set_layout l;
	struct px_image_desc d = {PX_FORMAT_XRGB8888, w, h};
	REQUIRE_OK(px_layout_init_packed(&l, 1, &d, 0, PX_PACK_PER_IMAGE));
	uint8_t *xrgb = malloc(l.buffer_sizes[0]);
	uint8_t *rgb = malloc((size_t)w * h * 3);
	REQUIRE(xrgb && rgb);
	REQUIRE_OK(px_pattern_draw(&l.images[0], (void *[PX_MAX_PLANES]){xrgb}, params));

	uint64_t shift = (params->frame % w * 4 + (uint64_t)params->image_index * w / 8) % w;
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *px = xrgb + ((size_t)y * w + x) * 4;
			uint8_t *out = rgb + ((size_t)y * w + x) * 3;
			out[0] = px[2];
			out[1] = px[1];
			out[2] = px[0];
			REQUIRE_EQ(px[3], 255);
			if (has_band(w, h) && y < BAND_MAX_ROWS)
				continue;
			uint64_t bar = (x + shift + y) % w * 8 / w;
			if (memcmp(out, bar_rgb[bar], 3)) {
				fprintf(stderr, "%ux%u pixel %u,%u: bar %u expected\n", w, h, x, y,
					(unsigned)bar);
				REQUIRE(!"bar colour");
			}
		}
	}
	/* In the band's rows every pixel is a bar colour or black or white. */
	for (size_t i = 0; i < (size_t)w * h; i++) {
		bool known = false;
		for (int c = 0; c < 8; c++)
			known |= !memcmp(rgb + 3 * i, bar_rgb[c], 3);
		REQUIRE(known);
	}
	free(xrgb);
	return rgb;
}

/* Checks every byte of an image's rows against the reference RGB. */
static void check_against_reference(const struct px_image_layout *img, const void *const *planes,
				    const uint8_t *rgb)
{
	uint32_t w = img->width, h = img->height;
	const uint8_t *p0 = planes[0], *p1 = planes[1], *p2 = planes[2];
	uint32_t s0 = img->planes[0].stride, s1 = img->planes[1].stride;
	uint32_t s2 = img->planes[2].stride;

	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *c = rgb + ((size_t)y * w + x) * 3;
			const uint8_t *row = p0 + (size_t)y * s0;
			uint8_t e[4], yy, u, v, grey = expected_grey(c);
			size_t n = 0, at = 0;
			expected_yuv(c, &yy, &u, &v);
			switch (img->fourcc) {
			case PX_FORMAT_XRGB8888:
			case PX_FORMAT_ARGB8888:
				memcpy(e, (uint8_t[]){c[2], c[1], c[0], 255}, n = 4);
				at = 4 * x;
				break;
			case PX_FORMAT_XBGR8888:
			case PX_FORMAT_ABGR8888:
				memcpy(e, (uint8_t[]){c[0], c[1], c[2], 255}, n = 4);
				at = 4 * x;
				break;
			case PX_FORMAT_RGB888:
				memcpy(e, (uint8_t[]){c[2], c[1], c[0]}, n = 3);
				at = 3 * x;
				break;
			case PX_FORMAT_BGR888:
				memcpy(e, (uint8_t[]){c[0], c[1], c[2]}, n = 3);
				at = 3 * x;
				break;
			case PX_FORMAT_R8:
				e[0] = grey;
				n = 1;
				at = x;
				break;
			case PX_FORMAT_R16:
				e[0] = e[1] = grey; /* grey × 257 */
				n = 2;
				at = 2 * x;
				break;
			case PX_FORMAT_YUYV:
			case PX_FORMAT_UYVY:
				e[0] = yy;
				n = 1;
				at = x / 2 * 4 + x % 2 * 2 + (img->fourcc == PX_FORMAT_UYVY);
				break;
			case PX_FORMAT_NV12:
			case PX_FORMAT_YUV420:
			case PX_FORMAT_YUV422:
				e[0] = yy;
				n = 1;
				at = x;
				break;
			case PX_FORMAT_P010:
				e[0] = 0;
				e[1] = yy;
				n = 2;
				at = 2 * x;
				break;
			}
			if (memcmp(row + at, e, n)) {
				fprintf(stderr,
					"%ux%u pixel %u,%u: byte %zu: 0x%02x, expected 0x%02x\n",
					w, h, x, y, at, row[at], e[0]);
				REQUIRE(!"pixel matches the reference");
			}
			bool first = x % 2 == 0;
			bool packed422 =
				img->fourcc == PX_FORMAT_YUYV || img->fourcc == PX_FORMAT_UYVY;
			if (first && packed422) {
				/* chroma from the first pixel; odd widths repeat the last luma */
				bool uyvy = img->fourcc == PX_FORMAT_UYVY;
				const uint8_t *g = row + x / 2 * 4;
				REQUIRE_EQ(g[uyvy ? 0 : 1], u);
				REQUIRE_EQ(g[uyvy ? 2 : 3], v);
				if (x + 1 == w)
					REQUIRE_EQ(g[uyvy ? 3 : 2], yy);
			}
			if (first && y % 2 == 0 && img->fourcc == PX_FORMAT_NV12) {
				const uint8_t *uv = p1 + (size_t)(y / 2) * s1 + x;
				REQUIRE_EQ(uv[0], u);
				REQUIRE_EQ(uv[1], v);
			}
			bool planar = img->fourcc == PX_FORMAT_YUV420 ||
				      img->fourcc == PX_FORMAT_YUV422;
			uint32_t cy = img->fourcc == PX_FORMAT_YUV422 ? y : y / 2;
			if (first && planar && (img->fourcc == PX_FORMAT_YUV422 || y % 2 == 0)) {
				REQUIRE_EQ(p1[(size_t)cy * s1 + x / 2], u);
				REQUIRE_EQ(p2[(size_t)cy * s2 + x / 2], v);
			}
			if (first && y % 2 == 0 && img->fourcc == PX_FORMAT_P010) {
				const uint8_t *uv = p1 + (size_t)(y / 2) * s1 + x * 2;
				REQUIRE(!memcmp(uv, ((uint8_t[]){0, u, 0, v}), 4));
			}
		}
	}
}

static void check_padding(const struct px_set_layout *l, uint8_t *const *bufs)
{
	for (uint32_t b = 0; b < l->n_buffers; b++) {
		uint8_t *mask = calloc(1, l->buffer_sizes[b]);
		REQUIRE(mask);
		for (uint32_t i = 0; i < l->n_images; i++) {
			const struct px_image_layout *img = &l->images[i];
			for (uint32_t p = 0; p < img->n_planes; p++) {
				if (img->planes[p].buffer != b)
					continue;
				uint64_t rb = px_image_row_bytes(img, p);
				for (uint32_t r = 0; r < px_image_plane_rows(img, p); r++)
					memset(mask + img->planes[p].offset +
						       (uint64_t)r * img->planes[p].stride,
					       1, rb);
			}
		}
		for (uint64_t k = 0; k < l->buffer_sizes[b]; k++) {
			if (!mask[k] && bufs[b][k] != POISON) {
				fprintf(stderr, "buffer %u byte %llu outside the rows written\n",
					b, (unsigned long long)k);
				REQUIRE(!"padding untouched");
			}
		}
		free(mask);
	}
}

/* Flips one byte, expects verify to name it, and restores it. */
static void check_flip(const struct px_image_layout *img, const void *const *cplanes,
		       const struct px_pattern_params *params, uint32_t p, uint32_t row,
		       uint64_t byte)
{
	uint8_t *at = (uint8_t *)cplanes[p] + (uint64_t)row * img->planes[p].stride + byte;
	char why[256], prefix[96];
	uint8_t old = *at;

	*at ^= (uint8_t)(1u << (rng() % 8));
	REQUIRE_EQ(px_pattern_verify(img, cplanes, params, why, sizeof(why)), -EILSEQ);
	snprintf(prefix, sizeof(prefix), "plane %u row %u byte %llu:", p, row,
		 (unsigned long long)byte);
	if (strncmp(why, prefix, strlen(prefix))) {
		fprintf(stderr, "why: \"%s\", expected \"%s...\"\n", why, prefix);
		REQUIRE(!"verify names the damaged byte");
	}
	*at = old;
}

static void test_set(uint32_t fourcc, uint32_t w, uint32_t h, enum px_packing packing)
{
	const uint32_t n_images = 2;
	struct px_image_desc descs[2] = {{fourcc, w, h}, {fourcc, w, h}};
	struct px_set_layout l;
	uint8_t *bufs[PX_MAX_BUFFERS] = {NULL};
	char why[256];

	REQUIRE_OK(px_layout_init_packed(&l, n_images, descs, 64, packing));
	REQUIRE_OK(px_layout_validate(&l, why, sizeof(why)));
	for (uint32_t b = 0; b < l.n_buffers; b++) {
		bufs[b] = malloc(l.buffer_sizes[b]);
		REQUIRE(bufs[b]);
		memset(bufs[b], POISON, l.buffer_sizes[b]);
	}

	struct px_pattern_params params[2];
	for (uint32_t i = 0; i < n_images; i++) {
		params[i] = (struct px_pattern_params){
			.frame = (rng() & 1) ? rng() : rng() % 1000,
			.image_index = i,
			.timestamp_ns = rng(),
		};
		void *planes[PX_MAX_PLANES];
		const void *cplanes[PX_MAX_PLANES];
		image_planes(bufs, &l.images[i], planes, cplanes);
		REQUIRE_OK(px_pattern_draw(&l.images[i], planes, &params[i]));
	}
	check_padding(&l, bufs);

	for (uint32_t i = 0; i < n_images; i++) {
		const struct px_image_layout *img = &l.images[i];
		void *planes[PX_MAX_PLANES];
		const void *cplanes[PX_MAX_PLANES];
		image_planes(bufs, img, planes, cplanes);

		why[0] = 'x';
		REQUIRE_OK(px_pattern_verify(img, cplanes, &params[i], why, sizeof(why)));
		REQUIRE_EQ(why[0], '\0');

		struct px_pattern_params got = {0};
		if (has_band(w, h)) {
			REQUIRE_OK(px_pattern_decode(img, cplanes, &got));
			REQUIRE(got.frame == params[i].frame);
			REQUIRE_EQ(got.image_index, params[i].image_index);
			REQUIRE(got.timestamp_ns == params[i].timestamp_ns);
		} else {
			REQUIRE_EQ(px_pattern_decode(img, cplanes, &got), -ENOSPC);
		}

		/* What changes the image: the next frame moves the bars by 4 pixels
		 * (nothing, at widths 1, 2 and 4), the next image by width / 8. */
		struct px_pattern_params q = params[i];
		q.frame++;
		REQUIRE_EQ(px_pattern_verify(img, cplanes, &q, NULL, 0),
			   has_band(w, h) || 4 % w ? -EILSEQ : 0);
		q = params[i];
		q.image_index ^= 1;
		REQUIRE_EQ(px_pattern_verify(img, cplanes, &q, NULL, 0),
			   has_band(w, h) || w >= 8 ? -EILSEQ : 0);
		q = params[i];
		q.timestamp_ns ^= 1ull << (rng() % 64);
		REQUIRE_EQ(px_pattern_verify(img, cplanes, &q, NULL, 0),
			   has_band(w, h) ? -EILSEQ : 0);

		/* Any damaged byte of a row is found; padding is ignored. */
		for (uint32_t p = 0; p < img->n_planes; p++) {
			uint64_t rb = px_image_row_bytes(img, p);
			uint32_t rows = px_image_plane_rows(img, p);
			check_flip(img, cplanes, &params[i], p, 0, 0);
			check_flip(img, cplanes, &params[i], p, rows - 1, rb - 1);
			uint32_t row = (uint32_t)(rng() % rows);
			check_flip(img, cplanes, &params[i], p, row, rng() % rb);
			if (img->planes[p].stride > rb) {
				uint8_t *pad = planes[p];
				pad[rb] ^= 0xff;
				REQUIRE_OK(px_pattern_verify(img, cplanes, &params[i], why,
							     sizeof(why)));
				pad[rb] ^= 0xff;
			}
		}
		REQUIRE_OK(px_pattern_verify(img, cplanes, &params[i], why, sizeof(why)));

		/* Neighbouring rows differ below the band, so stride errors show. */
		if (w >= 2) {
			uint64_t rb = px_image_row_bytes(img, 0);
			uint32_t y0 = has_band(w, h) ? BAND_MAX_ROWS : 0;
			for (uint32_t y = y0; y + 1 < h; y++)
				REQUIRE(memcmp(row_ptr(bufs, img, 0, y),
					       row_ptr(bufs, img, 0, y + 1), rb));
		}

		uint8_t *rgb = reference_rgb(w, h, &params[i]);
		check_against_reference(img, cplanes, rgb);
		free(rgb);
	}

	/* The two images differ where the bars can move (width ≥ 8) or the band
	 * carries the index. */
	if (w >= 8 || has_band(w, h)) {
		bool differ = false;
		const struct px_image_layout *a = &l.images[0], *b = &l.images[1];
		for (uint32_t p = 0; p < a->n_planes && !differ; p++)
			for (uint32_t r = 0; r < px_image_plane_rows(a, p) && !differ; r++)
				differ = memcmp(row_ptr(bufs, a, p, r), row_ptr(bufs, b, p, r),
						px_image_row_bytes(a, p));
		REQUIRE(differ);
	}

	/* Noise is not a code. */
	for (int k = 0; k < 4; k++) {
		for (uint32_t b = 0; b < l.n_buffers; b++)
			for (uint64_t j = 0; j < l.buffer_sizes[b]; j++)
				bufs[b][j] = (uint8_t)rng();
		void *planes[PX_MAX_PLANES];
		const void *cplanes[PX_MAX_PLANES];
		struct px_pattern_params got;
		image_planes(bufs, &l.images[0], planes, cplanes);
		REQUIRE_EQ(px_pattern_decode(&l.images[0], cplanes, &got),
			   has_band(w, h) ? -EILSEQ : -ENOSPC);
		REQUIRE_EQ(px_pattern_verify(&l.images[0], cplanes, &params[0], NULL, 0), -EILSEQ);
	}

	for (uint32_t b = 0; b < l.n_buffers; b++)
		free(bufs[b]);
}

static void test_noise_decode(void)
{
	struct px_set_layout l;
	struct px_image_desc d = {PX_FORMAT_NV12, 640, 480};
	REQUIRE_OK(px_layout_init_packed(&l, 1, &d, 0, PX_PACK_PER_IMAGE));
	uint8_t *buf = malloc(l.buffer_sizes[0]);
	REQUIRE(buf);
	const void *planes[PX_MAX_PLANES] = {buf, buf + l.images[0].planes[1].offset};
	for (int k = 0; k < 200; k++) {
		struct px_pattern_params got;
		for (uint64_t j = 0; j < l.images[0].planes[1].offset; j += 8) {
			uint64_t r = rng();
			memcpy(buf + j, &r, 8);
		}
		REQUIRE_EQ(px_pattern_decode(&l.images[0], planes, &got), -EILSEQ);
	}
	/* A flipped band cell is found by the check, wherever it is. */
	struct px_pattern_params params = {.frame = 77, .image_index = 3, .timestamp_ns = 1234567};
	REQUIRE_OK(px_pattern_draw(&l.images[0], (void *[PX_MAX_PLANES]){buf, (void *)planes[1]},
				   &params));
	for (uint32_t cell = 0; cell < 168; cell++) {
		/* 4×4 cells, 160 to a row at width 640 */
		uint8_t *px = buf + cell % 160 * 4 + 2 +
			      (cell / 160 * 4 + 2) * l.images[0].planes[0].stride;
		struct px_pattern_params got;
		*px ^= 0x80;
		REQUIRE_EQ(px_pattern_decode(&l.images[0], planes, &got), -EILSEQ);
		*px ^= 0x80;
		REQUIRE_OK(px_pattern_decode(&l.images[0], planes, &got));
		REQUIRE(got.frame == 77 && got.image_index == 3 && got.timestamp_ns == 1234567);
	}
	free(buf);
}

static int errors_logged;

static void count_log(void *userdata, enum px_log_level level, const char *msg)
{
	errors_logged += level == PX_LOG_ERROR;
}

static void test_invalid(void)
{
	struct px_set_layout l;
	struct px_image_desc d = {PX_FORMAT_NV12, 64, 64};
	REQUIRE_OK(px_layout_init_packed(&l, 1, &d, 0, PX_PACK_PER_IMAGE));
	uint8_t *buf = malloc(l.buffer_sizes[0]);
	REQUIRE(buf);
	struct px_pattern_params params = {0};
	void *planes[PX_MAX_PLANES] = {buf, buf + l.images[0].planes[1].offset};
	const void *cplanes[PX_MAX_PLANES] = {planes[0], planes[1]};
	char why[128];

	px_log_set_handler(count_log, NULL, PX_LOG_DEBUG);
	REQUIRE_EQ(px_pattern_draw(NULL, planes, &params), -EINVAL);
	REQUIRE_EQ(px_pattern_draw(&l.images[0], NULL, &params), -EINVAL);
	REQUIRE_EQ(px_pattern_draw(&l.images[0], planes, NULL), -EINVAL);
	REQUIRE_EQ(px_pattern_verify(&l.images[0], cplanes, NULL, NULL, 0), -EINVAL);
	REQUIRE_EQ(px_pattern_decode(&l.images[0], cplanes, NULL), -EINVAL);

	struct px_image_layout bad = l.images[0];
	bad.fourcc = PX_FOURCC('X', 'X', 'X', 'X');
	REQUIRE_EQ(px_pattern_verify(&bad, cplanes, &params, why, sizeof(why)), -EINVAL);
	REQUIRE(strstr(why, "format"));
	bad = l.images[0];
	bad.planes[1].stride = 63;
	REQUIRE_EQ(px_pattern_verify(&bad, cplanes, &params, why, sizeof(why)), -EINVAL);
	bad = l.images[0];
	bad.modifier = 0x0100000000000001ull; /* a tiled layout */
	REQUIRE_EQ(px_pattern_verify(&bad, cplanes, &params, why, sizeof(why)), -EINVAL);
	bad = l.images[0];
	bad.width = 0;
	REQUIRE_EQ(px_pattern_verify(&bad, cplanes, &params, why, sizeof(why)), -EINVAL);
	bad = l.images[0];
	bad.n_planes = 1;
	REQUIRE_EQ(px_pattern_verify(&bad, cplanes, &params, why, sizeof(why)), -EINVAL);
	const void *one[PX_MAX_PLANES] = {buf};
	REQUIRE_EQ(px_pattern_verify(&l.images[0], one, &params, why, sizeof(why)), -EINVAL);
	REQUIRE_EQ(px_pattern_decode(&l.images[0], one, &params), -EINVAL);
	REQUIRE(errors_logged >= 4);
	px_log_set_handler(NULL, NULL, PX_LOG_WARN);
	free(buf);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void time_draw(void)
{
	struct px_set_layout l;
	struct px_image_desc d = {PX_FORMAT_YUYV, 1280, 800};
	REQUIRE_OK(px_layout_init_packed(&l, 1, &d, 64, PX_PACK_PER_IMAGE));
	uint8_t *buf = malloc(l.buffer_sizes[0]);
	REQUIRE(buf);
	void *planes[PX_MAX_PLANES] = {buf};
	const void *cplanes[PX_MAX_PLANES] = {buf};
	double best_draw = 1e9, best_verify = 1e9, total = 0;
	const int n = 60;

	for (int k = 0; k < n; k++) {
		struct px_pattern_params params = {.frame = (uint64_t)k, .timestamp_ns = 1000u * k};
		double t0 = now_ms();
		REQUIRE_OK(px_pattern_draw(&l.images[0], planes, &params));
		double t1 = now_ms();
		REQUIRE_OK(px_pattern_verify(&l.images[0], cplanes, &params, NULL, 0));
		double t2 = now_ms();
		best_draw = t1 - t0 < best_draw ? t1 - t0 : best_draw;
		best_verify = t2 - t1 < best_verify ? t2 - t1 : best_verify;
		total += t1 - t0;
	}
	printf("1280x800 YUYV: draw %.3f ms (best of %d; mean %.3f ms), verify %.3f ms (best)\n",
	       best_draw, n, total / n, best_verify);
	free(buf);
}

int main(int argc, char **argv)
{
	px_test_args(argc, argv, NULL, 0);
	static const uint32_t sizes[][2] = {
		{1, 1}, {3, 5}, {63, 7}, {64, 8}, {65, 9}, {70, 8}, {64, 44},
		{64, 43}, {333, 171}, {1280, 800},
	};
	uint32_t formats[32];
	size_t n_formats = px_format_list(formats, 32);
	REQUIRE(n_formats >= 12 && n_formats <= 32);

	/* Under valgrind (--quick) the largest size and the timing are
	 * left to the native and sanitizer runs: they take minutes there. */
	bool quick = px_test_opt("quick") != NULL;
	size_t n_sizes = sizeof(sizes) / sizeof(sizes[0]) - (quick ? 1 : 0);
	if (quick)
		printf("--quick: 1280x800 and the draw timing are not run here\n");
	for (size_t f = 0; f < n_formats; f++)
		for (size_t s = 0; s < n_sizes; s++)
			for (int packing = 0; packing < 2; packing++)
				test_set(formats[f], sizes[s][0], sizes[s][1],
					 (enum px_packing)packing);
	test_noise_decode();
	test_invalid();
	if (!quick)
		time_draw();
	return 0;
}
